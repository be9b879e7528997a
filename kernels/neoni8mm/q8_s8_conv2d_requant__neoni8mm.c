/* q8_s8_conv2d_requant__neoni8mm.c - int8 convolution with the ARMv8.6
 * int8 matrix multiply (smmla), for Cortex-A78/X1 and later, Neoverse
 * V1/N2 (Graviton 3) and Armv9 phones.
 *
 * smmla v.4s, a.16b, b.16b multiplies the 2x8 int8 matrix a (rows: its
 * two 8-byte halves) by the transpose of the 2x8 matrix b and adds the
 * 2x2 int32 result to v, row-major: 32 multiply-accumulates, twice sdot's
 * 16.  Here a's rows are 8 span bytes of two output pixels and b's rows
 * the same 8 bytes of two output channels' weights, so v holds
 *
 *   [ pixel 0 · channel 0, pixel 0 · channel 1,
 *     pixel 1 · channel 0, pixel 1 · channel 1 ].
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 8 fits Q8_SPAN_MAX.  A tile is 6 output
 * pixels (3 pairs) x 16 output channels (8 pairs): 24 accumulators.  Per
 * 8 span bytes, each pair is loaded by ldr d + ld1 {.d}[1] (the two
 * pixels' spans lie anywhere), the 8 channel pairs' weights by two ld1 of
 * 4 registers:
 *
 *   6 loads of x + 2 loads of w + 24 smmla for 768 multiply-accumulates
 *
 * (66 instructions with the loop's own, unrolled twice: 23.3 per
 * instruction; 32 is smmla's own).  Registers: 24 accumulators, 3 pixel
 * pairs, 4 weights.  Six pixels rather than eight: a fourth pair would
 * need 8 more accumulators.  A tile's spans are gathered once and serve
 * every 16-channel chunk; the last chunk of a layer whose out_c is not a
 * multiple of 16 runs 2, 4 or 6 channel pairs (4-channel steps).
 *
 * smmla is signed x signed, so the input is used as it is, exactly as in
 * the neondot kernel: the packed bias is bias - in_zp * sum(w), padding
 * read as in_zp contributes 0, and every partial sum is bounded by
 * |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).  The span's step padding
 * (up to 7 bytes) multiplies zero weights.
 *
 * Epilogue: zip1/zip2 of the 64-bit halves of two channel pairs give one
 * pixel's 4 consecutive channels, then vector rule R, clamp and table
 * (q8_requant_neon.h), one store of 16 bytes per pixel.
 *
 * Packed layout, chunk after chunk of 16 channels (the last one with cp
 * = 2, 4, 6 or 8 channel pairs, in a full chunk's room):
 *   int8  w[kh][G][cp][2 channels][8]    G = span rounded up to 8, / 8
 *   requant: int32 bias'[3][8][4]  the accumulators' start, per pixel
 *                                  pair and channel pair [b0 b1 b0 b1]
 *            int32 mult[16], int64 -shift[16]
 * (the multipliers and shifts are in p at packing time, q8_kernels.h).
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"
#include "q8_requant_neon.h"

#define PAIRS 3              /* pixel pairs per tile */
#define TILE (2 * PAIRS)     /* pixels per tile */
#define CPAIRS 8             /* channel pairs per chunk */
#define CHUNK (2 * CPAIRS)   /* channels per chunk */

typedef struct {
  int32_t bias[PAIRS][CPAIRS][4];
  int32_t mult[CHUNK];
  int64_t nshift[CHUNK];
} requant;

typedef struct {
  int32_t groups;      /* G */
  size_t w_bytes;      /* weight bytes of a full chunk (a multiple of 128) */
  size_t chunk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.groups = q8_span_padded (p, 8) / 8;
  l.w_bytes = (size_t) p->kh * (size_t) l.groups * CPAIRS * 16;
  l.chunk_bytes = l.w_bytes + sizeof (requant);
  return l;
}

/* Channel pairs of the chunk that starts at channel oc0: 8, or the
 * remaining channels rounded up to 4, halved. */
static int32_t
chunk_pairs (const q8_conv_params *p, int32_t oc0)
{
  int32_t n = p->out_c - oc0;
  return n >= CHUNK ? CPAIRS : (n + 3) / 4 * 2;
}

int
q8_s8_conv2d_accepts__neoni8mm (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 8) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__neoni8mm (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) (p->out_c + CHUNK - 1) / CHUNK * l.chunk_bytes;
}

void
q8_s8_conv2d_pack__neoni8mm (const q8_conv_params *p, const int8_t *w,
                             const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__neoni8mm (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int32_t c = oc / CHUNK, k = oc % CHUNK, cp = k / 2, half = k % 2;
    int32_t cpn = chunk_pairs (p, c * CHUNK);
    int8_t *base = (int8_t *) packed + (size_t) c * l.chunk_bytes;
    const int8_t *wo = w + (size_t) oc * per_oc;
    for (int32_t ky = 0; ky < p->kh; ky++, wo += span) {
      int8_t *d = base + ((size_t) ky * l.groups * cpn + cp) * 16 + half * 8;
      int32_t s = 0;
      for (; s + 8 <= span; s += 8, d += cpn * 16)
        memcpy (d, wo + s, 8);
      for (int32_t i = 0; s + i < span; i++)
        d[i] = wo[s + i];
    }
    int32_t sum = q8_span_weight_sum (p, w, oc);
    int32_t b = (int32_t) ((bias != NULL ? bias[oc] : 0)
                           - (int64_t) p->in_zp * sum);
    requant *rq = (requant *) (base + l.w_bytes);
    for (int pp = 0; pp < PAIRS; pp++) {
      rq->bias[pp][cp][half] = b;
      rq->bias[pp][cp][2 + half] = b;
    }
    rq->mult[k] = p->mult[oc];
    rq->nshift[k] = -p->shift[oc];
  }
}

/* The inner loop, written out because GCC keeps neither 24 accumulators
 * nor the pair loads in registers in the same loop in intrinsics (see the
 * neondot kernel).  Registers: v0-v23 acc[pp][cp] = v(8 pp + cp), v24-v26
 * the 8 bytes of pixel pairs 0-2, v28-v31 four channel pairs' weights. */
#define I8MM_X                                                             \
    "ldr d24, [%[x0]], #8\n"                                             \
    "ld1 {v24.d}[1], [%[x1]], #8\n"                                      \
    "ldr d25, [%[x2]], #8\n"                                             \
    "ld1 {v25.d}[1], [%[x3]], #8\n"                                      \
    "ldr d26, [%[x4]], #8\n"                                             \
    "ld1 {v26.d}[1], [%[x5]], #8\n"

/* Channel pair of acc a0 (pixel pair 0), a1, a2, weights in v<wr>. */
#define I8MM_MM(a0, a1, a2, wr)                                            \
    "smmla v" #a0 ".4s, v24.16b, v" #wr ".16b\n"                         \
    "smmla v" #a1 ".4s, v25.16b, v" #wr ".16b\n"                         \
    "smmla v" #a2 ".4s, v26.16b, v" #wr ".16b\n"

#define I8MM_W4_0                                                          \
    "ld1 {v28.16b-v31.16b}, [%[w]], #64\n"                               \
    I8MM_MM (0, 8, 16, 28) I8MM_MM (1, 9, 17, 29)                          \
    I8MM_MM (2, 10, 18, 30) I8MM_MM (3, 11, 19, 31)
#define I8MM_W4_4                                                          \
    "ld1 {v28.16b-v31.16b}, [%[w]], #64\n"                               \
    I8MM_MM (4, 12, 20, 28) I8MM_MM (5, 13, 21, 29)                        \
    I8MM_MM (6, 14, 22, 30) I8MM_MM (7, 15, 23, 31)
#define I8MM_W2_0                                                          \
    "ld1 {v28.16b-v29.16b}, [%[w]], #32\n"                               \
    I8MM_MM (0, 8, 16, 28) I8MM_MM (1, 9, 17, 29)
#define I8MM_W2_4                                                          \
    "ld1 {v28.16b-v29.16b}, [%[w]], #32\n"                               \
    I8MM_MM (4, 12, 20, 28) I8MM_MM (5, 13, 21, 29)

/* acc = init, then for each of rows kernel rows (the 6 spans at ptr,
 * Q8_SPAN_TILE slots per row) n >= 1 steps of 8 bytes, two per
 * iteration; acc stored to a.  STEP is one step for the chunk's channel
 * pairs. */
#define I8MM_ROWS(STEP)                                                    \
  __asm__ volatile (                                                       \
    "ld1 {v0.4s-v3.4s}, [%[init]], #64\n"                                \
    "ld1 {v4.4s-v7.4s}, [%[init]], #64\n"                                \
    "ld1 {v8.4s-v11.4s}, [%[init]], #64\n"                               \
    "ld1 {v12.4s-v15.4s}, [%[init]], #64\n"                              \
    "ld1 {v16.4s-v19.4s}, [%[init]], #64\n"                              \
    "ld1 {v20.4s-v23.4s}, [%[init]]\n"                                   \
    "2:\n"                                                                \
    "ldp %[x0], %[x1], [%[ptr]]\n"                                       \
    "ldp %[x2], %[x3], [%[ptr], #16]\n"                                  \
    "ldp %[x4], %[x5], [%[ptr], #32]\n"                                  \
    "add %[ptr], %[ptr], #%[row]\n"                                      \
    "mov %w[n], %w[steps]\n"                                             \
    "tbz %w[n], #0, 8f\n"                                                \
    STEP                                                                   \
    "sub %w[n], %w[n], #1\n"                                             \
    "8:\n"                                                                \
    "cbz %w[n], 9f\n"                                                     \
    "1:\n"                                                                \
    STEP                                                                   \
    STEP                                                                   \
    "subs %w[n], %w[n], #2\n"                                            \
    "b.ne 1b\n"                                                           \
    "9:\n"                                                                \
    "subs %w[rows], %w[rows], #1\n"                                      \
    "b.ne 2b\n"                                                           \
    "st1 {v0.4s-v3.4s}, [%[a]], #64\n"                                   \
    "st1 {v4.4s-v7.4s}, [%[a]], #64\n"                                   \
    "st1 {v8.4s-v11.4s}, [%[a]], #64\n"                                  \
    "st1 {v12.4s-v15.4s}, [%[a]], #64\n"                                 \
    "st1 {v16.4s-v19.4s}, [%[a]], #64\n"                                 \
    "st1 {v20.4s-v23.4s}, [%[a]]\n"                                      \
    : [a] "+r" (a), [init] "+r" (init), [x0] "=&r" (x0), [x1] "=&r" (x1), \
      [x2] "=&r" (x2), [x3] "=&r" (x3), [x4] "=&r" (x4),                 \
      [x5] "=&r" (x5), [w] "+r" (w), [n] "=&r" (left), [ptr] "+r" (ptr),  \
      [rows] "+r" (rows)                                                  \
    : [steps] "r" (n),                                                    \
      [row] "i" (Q8_SPAN_TILE * sizeof (const int8_t *))                  \
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",     \
      "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", \
      "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26",      \
      "v28", "v29", "v30", "v31")

/* acc = init + the products of rows >= 1 kernel rows of n >= 1 steps of
 * the 6 pixels' spans ptr[r * Q8_SPAN_TILE + j] with the weights at w, for
 * CP channel pairs; returns w advanced past those rows.  init and acc may
 * be the same array. */
static inline __attribute__ ((always_inline)) const int8_t *
mm_rows (int32x4_t acc[PAIRS][CPAIRS], const int32_t *init,
         const int8_t *const *ptr, int32_t rows, const int8_t *w, int32_t n,
         const int CP)
{
  const int8_t *x0, *x1, *x2, *x3, *x4, *x5;
  int32_t *a = (int32_t *) acc;
  int32_t left;
  switch (CP) {
  case 2: I8MM_ROWS (I8MM_X I8MM_W2_0); break;
  case 4: I8MM_ROWS (I8MM_X I8MM_W4_0); break;
  case 6: I8MM_ROWS (I8MM_X I8MM_W4_0 I8MM_W2_4); break;
  default: I8MM_ROWS (I8MM_X I8MM_W4_0 I8MM_W4_4); break;
  }
  return w;
}

/* One chunk of CP channel pairs for the TILE pixels from q whose spans
 * are ptr[ky * Q8_SPAN_TILE + j] (all kh rows when all_rows, else
 * gathered here sc->rows at a time). */
static inline __attribute__ ((always_inline)) void
tile (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,
      int32_t groups, int32_t oc0, int64_t q, int nvalid, int8_t *out,
      const int8_t **ptr, int all_rows, const int CP)
{
  const q8_conv_params *p = sc->p;
  const requant *rq = (const requant *) (chunk + w_bytes);
  int32x4_t acc[PAIRS][CPAIRS] __attribute__ ((aligned (16)));

  if (all_rows) {
    mm_rows (acc, &rq->bias[0][0][0], ptr, p->kh, chunk, groups, CP);
  } else {
    const int8_t *wk = chunk;
    const int32_t *init = &rq->bias[0][0][0];
    for (int32_t ky0 = 0; ky0 < p->kh; ky0 += sc->rows) {
      int nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
      q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
      wk = mm_rows (acc, init, ptr, nky, wk, groups, CP);
      init = (const int32_t *) acc;
    }
  }

  /* Epilogue: each pixel's 4-channel blocks from two channel pairs, rule
   * R with the chunk's parameters held in registers, then the table in a
   * second pass (its 16 registers would not fit beside them). */
  int32_t n_oc = p->out_c - oc0 < CHUNK ? p->out_c - oc0 : CHUNK;
  int8_t *o = out + (size_t) q * (size_t) p->out_c + oc0;
  int8x16_t v[TILE];
  {
    int32x4x4_t m = vld1q_s32_x4 (rq->mult);
    int64x2x4_t s0 = vld1q_s64_x4 (rq->nshift);
    int64x2x4_t s1 = vld1q_s64_x4 (rq->nshift + 8);
    int16x8_t zp = vdupq_n_s16 ((int16_t) p->out_zp);
    int8x16_t qmin = vdupq_n_s8 ((int8_t) p->act_min);
    int8x16_t qmax = vdupq_n_s8 ((int8_t) p->act_max);
    for (int pp = 0; pp < PAIRS; pp++) {
      int32x4_t t[2][4];
      for (int b = 0; b < CP / 2; b++) {
        int64x2_t lo = vreinterpretq_s64_s32 (acc[pp][2 * b]);
        int64x2_t hi = vreinterpretq_s64_s32 (acc[pp][2 * b + 1]);
        t[0][b] = vreinterpretq_s32_s64 (vzip1q_s64 (lo, hi));
        t[1][b] = vreinterpretq_s32_s64 (vzip2q_s64 (lo, hi));
      }
      for (int j = 0; j < 2; j++) {
        for (int b = CP / 2; b < 4; b++)
          t[j][b] = vdupq_n_s32 (0);
        int32x4_t r0 = q8_requant_r_s32x4 (t[j][0], m.val[0], s0.val[0],
                                           s0.val[1]);
        int32x4_t r1 = CP > 2 ? q8_requant_r_s32x4 (t[j][1], m.val[1],
                                                    s0.val[2], s0.val[3])
                              : t[j][1];
        int32x4_t r2 = CP > 4 ? q8_requant_r_s32x4 (t[j][2], m.val[2],
                                                    s1.val[0], s1.val[1])
                              : t[j][2];
        int32x4_t r3 = CP > 6 ? q8_requant_r_s32x4 (t[j][3], m.val[3],
                                                    s1.val[2], s1.val[3])
                              : t[j][3];
        v[2 * pp + j] = q8_requant_finish_s8x16 (r0, r1, r2, r3, zp, qmin,
                                                 qmax);
      }
    }
  }
  if (p->lut != NULL) {
    int8x16x4_t lut[4];
    for (int i = 0; i < 4; i++)
      lut[i] = vld1q_s8_x4 (p->lut + 64 * i);
    for (int j = 0; j < TILE; j++)
      v[j] = q8_lut_s8x16 (lut, v[j]);
  }
  if (n_oc == CHUNK) {
    for (int j = 0; j < nvalid; j++)
      vst1q_s8 (o + (size_t) j * (size_t) p->out_c, v[j]);
  } else {
    for (int j = 0; j < nvalid; j++) {
      int8_t tmp[CHUNK];
      vst1q_s8 (tmp, v[j]);
      for (int32_t k = 0; k < n_oc; k++)
        o[(size_t) j * (size_t) p->out_c + k] = tmp[k];
    }
  }
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *chunk,
                         size_t w_bytes, int32_t groups, int32_t oc0,
                         int64_t q, int nvalid, int8_t *out,
                         const int8_t **ptr, int all_rows);

#define DEFINE_TILE(CP)                                                     \
  static void                                                               \
  tile_##CP (const q8_span_ctx *sc, const int8_t *chunk, size_t w_bytes,    \
             int32_t groups, int32_t oc0, int64_t q, int nvalid,           \
             int8_t *out, const int8_t **ptr, int all_rows)                \
  {                                                                         \
    tile (sc, chunk, w_bytes, groups, oc0, q, nvalid, out, ptr, all_rows,   \
          CP);                                                              \
  }

DEFINE_TILE (2)
DEFINE_TILE (4)
DEFINE_TILE (6)
DEFINE_TILE (8)

static const tile_fn tiles[CPAIRS + 1] = { NULL, NULL, tile_2, NULL, tile_4,
                                           NULL, tile_6, NULL, tile_8 };

void
q8_s8_conv2d_requant__neoni8mm (const q8_conv_params *p, const void *packed,
                                const int8_t *in, int8_t *out, int32_t y0,
                                int32_t y1)
{
  layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX + 16] __attribute__ ((aligned (16)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (16)));
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 8, Q8_SPAN_TILE, zp_buf, edge_buf);

  /* When every kernel row's spans fit the gather buffers at once (all
   * layers but the widest), they are gathered once for 2 tiles (12 of the
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
      for (int32_t oc0 = 0; oc0 < p->out_c; oc0 += CHUNK) {
        const int8_t *chunk = (const int8_t *) packed
                              + (size_t) (oc0 / CHUNK) * l.chunk_bytes;
        tiles[chunk_pairs (p, oc0)] (&sc, chunk, l.w_bytes, l.groups, oc0,
                                     q, nvalid, out,
                                     all_rows ? ptr + t * TILE : ptr,
                                     all_rows);
      }
    }
  }
}
