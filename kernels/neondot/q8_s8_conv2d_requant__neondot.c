/* q8_s8_conv2d_requant__neondot.c - int8 convolution with the ARMv8.2
 * dot product (sdot), for Cortex-A76/A55 (Raspberry Pi 5, most phones).
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 4 fits Q8_SPAN_MAX.  A tile is 5 output
 * pixels x 16 output channels (4 blocks of 4): 20 int32x4 accumulators.
 * Per 16 span bytes, each pixel's 16 bytes are loaded once, and for each of
 * their four 4-byte groups one ld1 of 4 registers brings the 4 x 4 weights
 * of every block, multiplied by element (sdot v.4s, w.16b, x.4b[lane]):
 *
 *   5 loads of x + 4 loads of w + 80 sdot for 1280 multiply-accumulates
 *
 * (90 instructions with the loop's own, unrolled twice: 14.2 per
 * instruction; 16 is sdot's own).  Registers: 20 accumulators, 5
 * inputs, 4 weights.  A tile's spans are gathered once and serve every
 * 16-channel chunk.  sdot is signed x signed, so the input is used as
 * it is: the packed bias is
 * bias - in_zp * sum(w), padding read as in_zp contributes 0, and every
 * partial sum is bounded by |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).
 *
 * Epilogue: vector rule R, clamp and table (q8_requant_neon.h), one store
 * of 16 bytes per pixel.
 *
 * Packed layout, chunk after chunk of up to 4 blocks (cb):
 *   int8  w[kh][G][cb][4 lanes][4]    G = span rounded up to 4, / 4
 *   requant: int32 bias'[16], int32 mult[16], int64 -shift[16]
 * (the multipliers and shifts are in p at packing time, q8_kernels.h).
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"
#include "q8_requant_neon.h"

#define TILE 5
#define CHUNK 4

typedef struct {
  int32_t bias[CHUNK * 4];
  int32_t mult[CHUNK * 4];
  int64_t nshift[CHUNK * 4];
} requant;

typedef struct {
  int32_t nb;          /* blocks of 4 output channels */
  int32_t groups;      /* G */
  size_t w_bytes;      /* weight bytes of a full chunk (a multiple of 64) */
  size_t chunk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.nb = (p->out_c + 3) / 4;
  l.groups = q8_span_padded (p, 4) / 4;
  l.w_bytes = (size_t) p->kh * l.groups * CHUNK * 16;
  l.chunk_bytes = l.w_bytes + sizeof (requant);
  return l;
}

int
q8_s8_conv2d_accepts__neondot (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 4) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__neondot (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) (l.nb + CHUNK - 1) / CHUNK * l.chunk_bytes;
}

void
q8_s8_conv2d_pack__neondot (const q8_conv_params *p, const int8_t *w,
                            const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__neondot (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int32_t bi = oc / 4, c = bi / CHUNK, b = bi % CHUNK, lane = oc % 4;
    int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
    int8_t *base = (int8_t *) packed + (size_t) c * l.chunk_bytes;
    const int8_t *wo = w + (size_t) oc * per_oc;
    for (int32_t ky = 0; ky < p->kh; ky++, wo += span) {
      int8_t *d = base + ((size_t) ky * l.groups * cb + b) * 16 + lane * 4;
      int32_t s = 0;
      for (; s + 4 <= span; s += 4, d += cb * 16)
        memcpy (d, wo + s, 4);
      for (int32_t i = 0; s + i < span; i++)
        d[i] = wo[s + i];
    }
    int32_t sum = q8_span_weight_sum (p, w, oc);
    requant *rq = (requant *) (base + l.w_bytes);
    int32_t k = oc % (CHUNK * 4);
    rq->bias[k] = (int32_t) ((bias != NULL ? bias[oc] : 0)
                             - (int64_t) p->in_zp * sum);
    rq->mult[k] = p->mult[oc];
    rq->nshift[k] = -p->shift[oc];
  }
}

/* The inner step, 16 span bytes of 5 pixels x 16 channels, written out
 * because GCC, given the same loop in intrinsics, hoists all 16 weight
 * loads and spills 8 accumulators.  Registers: v0-v19 acc[j][b] =
 * v(4j + b), v20-v24 the 16 bytes of each pixel, v25-v28 the 4 blocks'
 * weights of one 4-byte group. */
#define SDOT_5X16_STEP                                                     \
    "ldr q20, [%[x0]], #16\n"                                          \
    "ldr q21, [%[x1]], #16\n"                                          \
    "ldr q22, [%[x2]], #16\n"                                          \
    "ldr q23, [%[x3]], #16\n"                                          \
    "ldr q24, [%[x4]], #16\n"                                          \
    "ld1 {v25.16b-v28.16b}, [%[w]], #64\n"                             \
    "sdot v0.4s, v25.16b, v20.4b[0]\n"                                 \
    "sdot v1.4s, v26.16b, v20.4b[0]\n"                                 \
    "sdot v2.4s, v27.16b, v20.4b[0]\n"                                 \
    "sdot v3.4s, v28.16b, v20.4b[0]\n"                                 \
    "sdot v4.4s, v25.16b, v21.4b[0]\n"                                 \
    "sdot v5.4s, v26.16b, v21.4b[0]\n"                                 \
    "sdot v6.4s, v27.16b, v21.4b[0]\n"                                 \
    "sdot v7.4s, v28.16b, v21.4b[0]\n"                                 \
    "sdot v8.4s, v25.16b, v22.4b[0]\n"                                 \
    "sdot v9.4s, v26.16b, v22.4b[0]\n"                                 \
    "sdot v10.4s, v27.16b, v22.4b[0]\n"                                \
    "sdot v11.4s, v28.16b, v22.4b[0]\n"                                \
    "sdot v12.4s, v25.16b, v23.4b[0]\n"                                \
    "sdot v13.4s, v26.16b, v23.4b[0]\n"                                \
    "sdot v14.4s, v27.16b, v23.4b[0]\n"                                \
    "sdot v15.4s, v28.16b, v23.4b[0]\n"                                \
    "sdot v16.4s, v25.16b, v24.4b[0]\n"                                \
    "sdot v17.4s, v26.16b, v24.4b[0]\n"                                \
    "sdot v18.4s, v27.16b, v24.4b[0]\n"                                \
    "sdot v19.4s, v28.16b, v24.4b[0]\n"                                \
    "ld1 {v25.16b-v28.16b}, [%[w]], #64\n"                             \
    "sdot v0.4s, v25.16b, v20.4b[1]\n"                                 \
    "sdot v1.4s, v26.16b, v20.4b[1]\n"                                 \
    "sdot v2.4s, v27.16b, v20.4b[1]\n"                                 \
    "sdot v3.4s, v28.16b, v20.4b[1]\n"                                 \
    "sdot v4.4s, v25.16b, v21.4b[1]\n"                                 \
    "sdot v5.4s, v26.16b, v21.4b[1]\n"                                 \
    "sdot v6.4s, v27.16b, v21.4b[1]\n"                                 \
    "sdot v7.4s, v28.16b, v21.4b[1]\n"                                 \
    "sdot v8.4s, v25.16b, v22.4b[1]\n"                                 \
    "sdot v9.4s, v26.16b, v22.4b[1]\n"                                 \
    "sdot v10.4s, v27.16b, v22.4b[1]\n"                                \
    "sdot v11.4s, v28.16b, v22.4b[1]\n"                                \
    "sdot v12.4s, v25.16b, v23.4b[1]\n"                                \
    "sdot v13.4s, v26.16b, v23.4b[1]\n"                                \
    "sdot v14.4s, v27.16b, v23.4b[1]\n"                                \
    "sdot v15.4s, v28.16b, v23.4b[1]\n"                                \
    "sdot v16.4s, v25.16b, v24.4b[1]\n"                                \
    "sdot v17.4s, v26.16b, v24.4b[1]\n"                                \
    "sdot v18.4s, v27.16b, v24.4b[1]\n"                                \
    "sdot v19.4s, v28.16b, v24.4b[1]\n"                                \
    "ld1 {v25.16b-v28.16b}, [%[w]], #64\n"                             \
    "sdot v0.4s, v25.16b, v20.4b[2]\n"                                 \
    "sdot v1.4s, v26.16b, v20.4b[2]\n"                                 \
    "sdot v2.4s, v27.16b, v20.4b[2]\n"                                 \
    "sdot v3.4s, v28.16b, v20.4b[2]\n"                                 \
    "sdot v4.4s, v25.16b, v21.4b[2]\n"                                 \
    "sdot v5.4s, v26.16b, v21.4b[2]\n"                                 \
    "sdot v6.4s, v27.16b, v21.4b[2]\n"                                 \
    "sdot v7.4s, v28.16b, v21.4b[2]\n"                                 \
    "sdot v8.4s, v25.16b, v22.4b[2]\n"                                 \
    "sdot v9.4s, v26.16b, v22.4b[2]\n"                                 \
    "sdot v10.4s, v27.16b, v22.4b[2]\n"                                \
    "sdot v11.4s, v28.16b, v22.4b[2]\n"                                \
    "sdot v12.4s, v25.16b, v23.4b[2]\n"                                \
    "sdot v13.4s, v26.16b, v23.4b[2]\n"                                \
    "sdot v14.4s, v27.16b, v23.4b[2]\n"                                \
    "sdot v15.4s, v28.16b, v23.4b[2]\n"                                \
    "sdot v16.4s, v25.16b, v24.4b[2]\n"                                \
    "sdot v17.4s, v26.16b, v24.4b[2]\n"                                \
    "sdot v18.4s, v27.16b, v24.4b[2]\n"                                \
    "sdot v19.4s, v28.16b, v24.4b[2]\n"                                \
    "ld1 {v25.16b-v28.16b}, [%[w]], #64\n"                             \
    "sdot v0.4s, v25.16b, v20.4b[3]\n"                                 \
    "sdot v1.4s, v26.16b, v20.4b[3]\n"                                 \
    "sdot v2.4s, v27.16b, v20.4b[3]\n"                                 \
    "sdot v3.4s, v28.16b, v20.4b[3]\n"                                 \
    "sdot v4.4s, v25.16b, v21.4b[3]\n"                                 \
    "sdot v5.4s, v26.16b, v21.4b[3]\n"                                 \
    "sdot v6.4s, v27.16b, v21.4b[3]\n"                                 \
    "sdot v7.4s, v28.16b, v21.4b[3]\n"                                 \
    "sdot v8.4s, v25.16b, v22.4b[3]\n"                                 \
    "sdot v9.4s, v26.16b, v22.4b[3]\n"                                 \
    "sdot v10.4s, v27.16b, v22.4b[3]\n"                                \
    "sdot v11.4s, v28.16b, v22.4b[3]\n"                                \
    "sdot v12.4s, v25.16b, v23.4b[3]\n"                                \
    "sdot v13.4s, v26.16b, v23.4b[3]\n"                                \
    "sdot v14.4s, v27.16b, v23.4b[3]\n"                                \
    "sdot v15.4s, v28.16b, v23.4b[3]\n"                                \
    "sdot v16.4s, v25.16b, v24.4b[3]\n"                                \
    "sdot v17.4s, v26.16b, v24.4b[3]\n"                                \
    "sdot v18.4s, v27.16b, v24.4b[3]\n"                                \
    "sdot v19.4s, v28.16b, v24.4b[3]\n"

/* n >= 1 steps, two per iteration. */
#define SDOT_5X16_LOOP                                                     \
    "tbz %w[n], #0, 8f\n"                                               \
    SDOT_5X16_STEP                                                         \
    "sub %w[n], %w[n], #1\n"                                            \
    "8:\n"                                                               \
    "cbz %w[n], 9f\n"                                                    \
    "1:\n"                                                               \
    SDOT_5X16_STEP                                                         \
    SDOT_5X16_STEP                                                         \
    "subs %w[n], %w[n], #2\n"                                           \
    "b.ne 1b\n"                                                          \
    "9:\n"

#define SDOT_5X16_CLOBBERS                                                 \
  "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8",    \
  "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18",     \
  "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28"

/* acc[j][b] += the dot products of n >= 1 steps of span bytes of the 5
 * pixels at x[j] with the weights at *w; advances *w. */
static inline __attribute__ ((always_inline)) void
dot_5x16 (int32x4_t acc[TILE][CHUNK], const int8_t *const *x,
          const int8_t **w, int32_t n)
{
  const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3], *x4 = x[4];
  const int8_t *wp = *w;
  int32_t *a = (int32_t *) acc;
  __asm__ volatile (
    "ld1 {v0.4s-v3.4s}, [%[a]], #64\n"
    "ld1 {v4.4s-v7.4s}, [%[a]], #64\n"
    "ld1 {v8.4s-v11.4s}, [%[a]], #64\n"
    "ld1 {v12.4s-v15.4s}, [%[a]], #64\n"
    "ld1 {v16.4s-v19.4s}, [%[a]]\n"
    "sub %[a], %[a], #256\n"
    SDOT_5X16_LOOP
    "st1 {v0.4s-v3.4s}, [%[a]], #64\n"
    "st1 {v4.4s-v7.4s}, [%[a]], #64\n"
    "st1 {v8.4s-v11.4s}, [%[a]], #64\n"
    "st1 {v12.4s-v15.4s}, [%[a]], #64\n"
    "st1 {v16.4s-v19.4s}, [%[a]]\n"
    : [a] "+r" (a), [x0] "+r" (x0), [x1] "+r" (x1), [x2] "+r" (x2),
      [x3] "+r" (x3), [x4] "+r" (x4), [w] "+r" (wp), [n] "+r" (n)
    :
    : SDOT_5X16_CLOBBERS);
  *w = wp;
}

/* The whole tile when every span is a multiple of 16 bytes (n >= 1 steps)
 * and all rows' spans are in ptr: acc = bias + the dot products of the
 * rows kernel rows, without storing the accumulators between rows. */
static inline __attribute__ ((always_inline)) void
dot_5x16_rows (int32x4_t acc[TILE][CHUNK], const int32_t *bias,
               const int8_t *const *ptr, int32_t rows, const int8_t *w,
               int32_t n)
{
  const int8_t *x0, *x1, *x2, *x3, *x4;
  int32_t *a = (int32_t *) acc;
  int32_t left;
  __asm__ volatile (
    "ld1 {v0.4s-v3.4s}, [%[bias]]\n"
    "mov v4.16b, v0.16b\n"
    "mov v5.16b, v1.16b\n"
    "mov v6.16b, v2.16b\n"
    "mov v7.16b, v3.16b\n"
    "mov v8.16b, v0.16b\n"
    "mov v9.16b, v1.16b\n"
    "mov v10.16b, v2.16b\n"
    "mov v11.16b, v3.16b\n"
    "mov v12.16b, v0.16b\n"
    "mov v13.16b, v1.16b\n"
    "mov v14.16b, v2.16b\n"
    "mov v15.16b, v3.16b\n"
    "mov v16.16b, v0.16b\n"
    "mov v17.16b, v1.16b\n"
    "mov v18.16b, v2.16b\n"
    "mov v19.16b, v3.16b\n"
    "2:\n"
    "ldp %[x0], %[x1], [%[ptr]]\n"
    "ldp %[x2], %[x3], [%[ptr], #16]\n"
    "ldr %[x4], [%[ptr], #32]\n"
    "add %[ptr], %[ptr], #%[row]\n"
    "mov %w[n], %w[steps]\n"
    SDOT_5X16_LOOP
    "subs %w[rows], %w[rows], #1\n"
    "b.ne 2b\n"
    "st1 {v0.4s-v3.4s}, [%[a]], #64\n"
    "st1 {v4.4s-v7.4s}, [%[a]], #64\n"
    "st1 {v8.4s-v11.4s}, [%[a]], #64\n"
    "st1 {v12.4s-v15.4s}, [%[a]], #64\n"
    "st1 {v16.4s-v19.4s}, [%[a]]\n"
    : [a] "+r" (a), [x0] "=&r" (x0), [x1] "=&r" (x1), [x2] "=&r" (x2),
      [x3] "=&r" (x3), [x4] "=&r" (x4), [w] "+r" (w), [n] "=&r" (left),
      [ptr] "+r" (ptr), [rows] "+r" (rows)
    : [bias] "r" (bias), [steps] "r" (n),
      [row] "i" (Q8_SPAN_TILE * sizeof (const int8_t *))
    : SDOT_5X16_CLOBBERS);
}

/* One chunk of cb = CB blocks for the TILE pixels from q whose spans are
 * ptr[ky * Q8_SPAN_TILE + j] (all kh rows when all_rows, else gathered
 * here sc->rows at a time). */
static inline __attribute__ ((always_inline)) void
tile (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,
      int32_t groups, int32_t oc0, int64_t q, int nvalid, int8_t *out,
      const int8_t **ptr, int all_rows, const int CB)
{
  const q8_conv_params *p = sc->p;
  const requant *rq = (const requant *) (chunk + w_bytes);
  int32x4_t acc[TILE][CHUNK] __attribute__ ((aligned (16)));

  int32_t ky0 = 0;
  int nky = p->kh;
  if (!all_rows) {
    nky = p->kh < sc->rows ? p->kh : sc->rows;
    q8_span_rows (sc, q, TILE, nvalid, 0, nky, ptr);
  }
  if (CB == CHUNK && all_rows && groups % 4 == 0) {
    dot_5x16_rows (acc, rq->bias, ptr, p->kh, chunk, groups / 4);
    goto epilogue;
  }
  for (int b = 0; b < CHUNK; b++) {
    int32x4_t bv = vld1q_s32 (rq->bias + b * 4);
    for (int j = 0; j < TILE; j++)
      acc[j][b] = bv;
  }

  const int8_t *wk = chunk;
  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int8_t *const *pr = ptr + (all_rows ? ky0 + r : r) * Q8_SPAN_TILE;
      int32_t g = 0;
      if (CB == CHUNK && groups >= 4) {
        dot_5x16 (acc, pr, &wk, groups / 4);
        g = groups / 4 * 4;
      }
      for (; g + 4 <= groups; g += 4) {
        int8x16_t x[TILE];
        for (int j = 0; j < TILE; j++)
          x[j] = vld1q_s8 (pr[j] + 4 * g);
        for (int L = 0; L < 4; L++) {
          for (int b = 0; b < CB; b++) {
            int8x16_t wv = vld1q_s8 (wk + b * 16);
            for (int j = 0; j < TILE; j++)
              acc[j][b] = vdotq_laneq_s32 (acc[j][b], wv, x[j], 0);
          }
          for (int j = 0; j < TILE; j++)
            x[j] = vextq_s8 (x[j], x[j], 4);
          wk += CB * 16;
        }
      }
      for (; g < groups; g++) {
        int8x16_t x[TILE];
        for (int j = 0; j < TILE; j++) {
          int32_t x4;
          memcpy (&x4, pr[j] + 4 * g, 4);
          x[j] = vreinterpretq_s8_s32 (vdupq_n_s32 (x4));
        }
        for (int b = 0; b < CB; b++) {
          int8x16_t wv = vld1q_s8 (wk + b * 16);
          for (int j = 0; j < TILE; j++)
            acc[j][b] = vdotq_laneq_s32 (acc[j][b], wv, x[j], 0);
        }
        wk += CB * 16;
      }
    }
    ky0 += nky;
    if (ky0 >= p->kh)
      break;
    nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
    q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
  }

epilogue:;
  /* Epilogue: rule R with the chunk's parameters held in registers, then
   * the table in a second pass (its 16 registers would not fit beside
   * them). */
  int32_t n_oc = p->out_c - oc0 < CB * 4 ? p->out_c - oc0 : CB * 4;
  int8_t *o = out + (size_t) q * (size_t) p->out_c + oc0;
  int8x16_t v[TILE];
  {
    int32x4x4_t m = vld1q_s32_x4 (rq->mult);
    int64x2x4_t s0 = vld1q_s64_x4 (rq->nshift);
    int64x2x4_t s1 = vld1q_s64_x4 (rq->nshift + 8);
    int16x8_t zp = vdupq_n_s16 ((int16_t) p->out_zp);
    int8x16_t qmin = vdupq_n_s8 ((int8_t) p->act_min);
    int8x16_t qmax = vdupq_n_s8 ((int8_t) p->act_max);
    for (int j = 0; j < TILE; j++)
      v[j] = q8_requant_s8x16 (acc[j], m, s0, s1, zp, qmin, qmax);
  }
  q8_lut_store_s8x16 (v, TILE, nvalid, p->lut, o, (size_t) p->out_c, n_oc);
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *chunk,
                         size_t w_bytes, int32_t groups, int32_t oc0,
                         int64_t q, int nvalid, int8_t *out,
                         const int8_t **ptr, int all_rows);

#define DEFINE_TILE(CB)                                                     \
  static void                                                               \
  tile_##CB (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,    \
             int32_t groups, int32_t oc0, int64_t q, int nvalid,           \
             int8_t *out, const int8_t **ptr, int all_rows)                \
  {                                                                         \
    tile (sc, chunk, w_bytes, groups, oc0, q, nvalid, out, ptr, all_rows,   \
          CB);                                                              \
  }

DEFINE_TILE (1)
DEFINE_TILE (2)
DEFINE_TILE (3)
DEFINE_TILE (4)

static const tile_fn tiles[CHUNK + 1] = { NULL, tile_1, tile_2, tile_3,
                                          tile_4 };

void
q8_s8_conv2d_requant__neondot (const q8_conv_params *p, const void *packed,
                               const int8_t *in, int8_t *out, int32_t y0,
                               int32_t y1)
{
  layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX + 16] __attribute__ ((aligned (16)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (16)));
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 4, Q8_SPAN_TILE, zp_buf, edge_buf);

  /* When every kernel row's spans fit the gather buffers at once (all
   * layers but the widest), they are gathered once for 3 tiles (15 of the
   * Q8_SPAN_TILE slots) and serve every 16-channel chunk. */
  int all_rows = sc.rows >= p->kh;
  const int span_px = all_rows ? Q8_SPAN_TILE / TILE * TILE : TILE;
  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int64_t q0 = q_begin; q0 < q_end; q0 += span_px) {
    int n0 = q_end - q0 < span_px ? (int) (q_end - q0) : span_px;
    if (all_rows)
      q8_span_rows (&sc, q0, span_px, n0, 0, p->kh, ptr);
    for (int t = 0; t * TILE < n0; t++) {
      int64_t q = q0 + t * TILE;
      int nvalid = n0 - t * TILE < TILE ? n0 - t * TILE : TILE;
      for (int32_t c = 0; c * CHUNK < l.nb; c++) {
        int32_t cb = l.nb - c * CHUNK < CHUNK ? l.nb - c * CHUNK : CHUNK;
        const int8_t *chunk = (const int8_t *) packed
                              + (size_t) c * l.chunk_bytes;
        tiles[cb] (&sc, chunk, l.w_bytes, l.groups, c * CHUNK * 4, q,
                   nvalid, out, all_rows ? ptr + t * TILE : ptr, all_rows);
      }
    }
  }
}
