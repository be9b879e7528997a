/* q8_s8_conv2d_requant__neon.c - int8 convolution for baseline aarch64
 * NEON (Cortex-A72 of the Raspberry Pi 4: no dot product instructions).
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 16 fits Q8_SPAN_MAX.  A tile is 3 output
 * pixels x 8 output channels; each of its 24 accumulators is an int32x4
 * of partial sums along the span, reduced at the end.  Per 16 span bytes,
 * the 3 pixels' bytes are loaded once, the 8 channels' weights by two ld1
 * of 4 registers, and for each (pixel, channel) pair:
 *
 *   smull  (8 x int8 * int8 -> 8 x int16), smlal2 (the other 8 added),
 *   sadalp (pairs of int16 added into the 4 int32 lanes)
 *
 *   3 + 2 loads + 72 multiply-accumulate instructions + 1 for the loop
 *
 * (unrolled twice) for 384 multiply-accumulates (78 instructions: 4.92 per
 * instruction;
 * the widening path's own is 16 per 3 = 5.33).  Registers: 24
 * accumulators, 3 inputs, 4 weights and one product (the A72 renames it,
 * so reusing it costs no parallelism).  The int16 step is exact: the input
 * is used as it is, |x * w| <= 128 * 127 = 16256 (weights are never -128),
 * so two products stay below 32767.  The packed bias is
 * bias - in_zp * sum(w), and padding read as in_zp contributes 0; every
 * partial sum is bounded by |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).
 *
 * Epilogue: vector rule R, clamp and table (q8_requant_neon.h).
 *
 * Packed layout, per block of 8 output channels (channels past out_c have
 * zero weights; their results are dropped):
 *   int8  w[kh][span16 / 16][8][16]      span16 = span rounded up to 16
 *   requant: int32 bias'[8], int32 mult[8], int64 -shift[8]
 * (the multipliers and shifts are in p at packing time, q8_kernels.h).
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"
#include "q8_requant_neon.h"

#define TILE 3
#define BLOCK 8

typedef struct {
  int32_t bias[BLOCK];
  int32_t mult[BLOCK];
  int64_t nshift[BLOCK];
} requant;

typedef struct {
  int32_t nb;        /* blocks of 8 output channels */
  int32_t span16;
  size_t w_bytes;    /* weight bytes per block */
  size_t blk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.nb = (p->out_c + BLOCK - 1) / BLOCK;
  l.span16 = q8_span_padded (p, 16);
  l.w_bytes = (size_t) p->kh * BLOCK * (size_t) l.span16;
  l.blk_bytes = l.w_bytes + sizeof (requant);
  return l;
}

int
q8_s8_conv2d_accepts__neon (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 16) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__neon (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

void
q8_s8_conv2d_pack__neon (const q8_conv_params *p, const int8_t *w,
                         const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;

  memset (packed, 0, q8_s8_conv2d_packed_size__neon (p));
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int8_t *base = (int8_t *) packed + (size_t) (oc / BLOCK) * l.blk_bytes;
    int32_t k = oc % BLOCK;
    const int8_t *wo = w + (size_t) oc * per_oc;
    for (int32_t ky = 0; ky < p->kh; ky++, wo += span) {
      int8_t *d = base + (size_t) ky * BLOCK * (size_t) l.span16 + k * 16;
      for (int32_t s = 0; s < span; s += 16, d += BLOCK * 16)
        memcpy (d, wo + s, (size_t) (span - s < 16 ? span - s : 16));
    }
    requant *rq = (requant *) (base + l.w_bytes);
    rq->bias[k] = (int32_t) ((bias != NULL ? bias[oc] : 0)
                             - (int64_t) p->in_zp
                               * q8_span_weight_sum (p, w, oc));
    rq->mult[k] = p->mult[oc];
    rq->nshift[k] = -p->shift[oc];
  }
}

/* One 16-byte step of the 3 pixels x 8 channels; ACC is "sadalp", or
 * "saddlp" for the first step (no accumulator to read yet). */
#define MLAL_3X8_STEP(ACC)                                             \
    "ldr q24, [%[x0]], #16\n"                                          \
    "ldr q25, [%[x1]], #16\n"                                          \
    "ldr q26, [%[x2]], #16\n"                                          \
    "ld1 {v27.16b-v30.16b}, [%[w]], #64\n"                             \
    "smull v31.8h, v24.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v27.16b\n"                                \
    ACC " v0.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v27.16b\n"                                \
    ACC " v8.4s, v31.8h\n"                                             \
    "smull v31.8h, v26.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v27.16b\n"                                \
    ACC " v16.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v28.16b\n"                                \
    ACC " v1.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v28.16b\n"                                \
    ACC " v9.4s, v31.8h\n"                                             \
    "smull v31.8h, v26.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v28.16b\n"                                \
    ACC " v17.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v29.16b\n"                                \
    ACC " v2.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v29.16b\n"                                \
    ACC " v10.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v29.16b\n"                                \
    ACC " v18.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v30.16b\n"                                \
    ACC " v3.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v30.16b\n"                                \
    ACC " v11.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v30.16b\n"                                \
    ACC " v19.4s, v31.8h\n"                                            \
    "ld1 {v27.16b-v30.16b}, [%[w]], #64\n"                             \
    "smull v31.8h, v24.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v27.16b\n"                                \
    ACC " v4.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v27.16b\n"                                \
    ACC " v12.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v27.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v27.16b\n"                                \
    ACC " v20.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v28.16b\n"                                \
    ACC " v5.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v28.16b\n"                                \
    ACC " v13.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v28.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v28.16b\n"                                \
    ACC " v21.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v29.16b\n"                                \
    ACC " v6.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v29.16b\n"                                \
    ACC " v14.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v29.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v29.16b\n"                                \
    ACC " v22.4s, v31.8h\n"                                            \
    "smull v31.8h, v24.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v24.16b, v30.16b\n"                                \
    ACC " v7.4s, v31.8h\n"                                             \
    "smull v31.8h, v25.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v25.16b, v30.16b\n"                                \
    ACC " v15.4s, v31.8h\n"                                            \
    "smull v31.8h, v26.8b, v30.8b\n"                                   \
    "smlal2 v31.8h, v26.16b, v30.16b\n"                                \
    ACC " v23.4s, v31.8h\n"

/* acc[j][k] (= v(8j + k)) += the products of rows kernel rows of n >= 1
 * steps of 16 span bytes of the 3 pixels ptr[r * Q8_SPAN_TILE + j] with
 * the weights from w; acc starts at 0 if first, else is loaded from acc.
 * If last, each pixel's 8 accumulators are reduced to 2 vectors of 4
 * channel sums, stored as acc[j][0] and acc[j][1]; else all are stored.
 * Written out because GCC's register allocation of the same loop in
 * intrinsics spills accumulators. */
static inline __attribute__ ((always_inline)) void
mlal_3x8 (int32x4_t acc[TILE][BLOCK], int first, int last,
          const int8_t *const *ptr, int32_t rows, const int8_t *w, int32_t n)
{
  const int8_t *x0, *x1, *x2;
  int32_t *a = (int32_t *) acc;
  int32_t left;
  __asm__ volatile (
    "cbz %w[first], 3f\n"
    "ldp %[x0], %[x1], [%[ptr]]\n"
    "ldr %[x2], [%[ptr], #16]\n"
    "add %[ptr], %[ptr], #%[row]\n"
    MLAL_3X8_STEP ("saddlp")
    "sub %w[n], %w[steps], #1\n"
    "b 9f\n"
    "3:\n"
    "ld1 {v0.4s-v3.4s}, [%[a]], #64\n"
    "ld1 {v4.4s-v7.4s}, [%[a]], #64\n"
    "ld1 {v8.4s-v11.4s}, [%[a]], #64\n"
    "ld1 {v12.4s-v15.4s}, [%[a]], #64\n"
    "ld1 {v16.4s-v19.4s}, [%[a]], #64\n"
    "ld1 {v20.4s-v23.4s}, [%[a]], #64\n"
    "sub %[a], %[a], #384\n"
    "2:\n"
    "ldp %[x0], %[x1], [%[ptr]]\n"
    "ldr %[x2], [%[ptr], #16]\n"
    "add %[ptr], %[ptr], #%[row]\n"
    "mov %w[n], %w[steps]\n"
    "9:\n"
    "tbz %w[n], #0, 8f\n"
    MLAL_3X8_STEP ("sadalp")
    "sub %w[n], %w[n], #1\n"
    "8:\n"
    "cbz %w[n], 5f\n"
    "1:\n"
    MLAL_3X8_STEP ("sadalp")
    MLAL_3X8_STEP ("sadalp")
    "subs %w[n], %w[n], #2\n"
    "b.ne 1b\n"
    "5:\n"
    "subs %w[rows], %w[rows], #1\n"
    "b.ne 2b\n"
    "cbz %w[last], 6f\n"
    "addp v0.4s, v0.4s, v1.4s\n"
    "addp v2.4s, v2.4s, v3.4s\n"
    "addp v0.4s, v0.4s, v2.4s\n"
    "addp v4.4s, v4.4s, v5.4s\n"
    "addp v6.4s, v6.4s, v7.4s\n"
    "addp v4.4s, v4.4s, v6.4s\n"
    "addp v8.4s, v8.4s, v9.4s\n"
    "addp v10.4s, v10.4s, v11.4s\n"
    "addp v8.4s, v8.4s, v10.4s\n"
    "addp v12.4s, v12.4s, v13.4s\n"
    "addp v14.4s, v14.4s, v15.4s\n"
    "addp v12.4s, v12.4s, v14.4s\n"
    "addp v16.4s, v16.4s, v17.4s\n"
    "addp v18.4s, v18.4s, v19.4s\n"
    "addp v16.4s, v16.4s, v18.4s\n"
    "addp v20.4s, v20.4s, v21.4s\n"
    "addp v22.4s, v22.4s, v23.4s\n"
    "addp v20.4s, v20.4s, v22.4s\n"
    "stp q0, q4, [%[a]]\n"
    "stp q8, q12, [%[a], #128]\n"
    "stp q16, q20, [%[a], #256]\n"
    "b 7f\n"
    "6:\n"
    "st1 {v0.4s-v3.4s}, [%[a]], #64\n"
    "st1 {v4.4s-v7.4s}, [%[a]], #64\n"
    "st1 {v8.4s-v11.4s}, [%[a]], #64\n"
    "st1 {v12.4s-v15.4s}, [%[a]], #64\n"
    "st1 {v16.4s-v19.4s}, [%[a]], #64\n"
    "st1 {v20.4s-v23.4s}, [%[a]], #64\n"
    "7:\n"
    : [a] "+r" (a), [x0] "=&r" (x0), [x1] "=&r" (x1), [x2] "=&r" (x2),
      [w] "+r" (w), [n] "=&r" (left), [ptr] "+r" (ptr), [rows] "+r" (rows)
    : [first] "r" (first), [last] "r" (last), [steps] "r" (n),
      [row] "i" (Q8_SPAN_TILE * sizeof (const int8_t *))
    : "cc", "memory", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23", "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31");
}

/* The 8 outputs of pixel j from its channel sums a[0], a[1]: bias added,
 * rule R. */
static inline __attribute__ ((always_inline)) int8x8_t
finish (const int32x4_t *a, const int32x4_t *bias, const int32x4_t *m,
        const int64x2_t *sh, int16x8_t zp, int8x8_t qmin, int8x8_t qmax)
{
  int32x4_t s0 = vaddq_s32 (a[0], bias[0]);
  int32x4_t s1 = vaddq_s32 (a[1], bias[1]);
  int32x4_t t0 = q8_requant_r_s32x4 (s0, m[0], sh[0], sh[1]);
  int32x4_t t1 = q8_requant_r_s32x4 (s1, m[1], sh[2], sh[3]);
  return q8_requant_finish_s8x8 (t0, t1, zp, qmin, qmax);
}

static void
tile (const q8_span_ctx *sc, const int8_t *blk, size_t w_bytes,
      int32_t span16, int32_t oc0, int64_t q, int nvalid, int8_t *out,
      const int8_t **ptr, int all_rows)
{
  const q8_conv_params *p = sc->p;
  const requant *rq = (const requant *) (blk + w_bytes);
  int32x4_t acc[TILE][BLOCK] __attribute__ ((aligned (16)));

  if (all_rows) {
    mlal_3x8 (acc, 1, 1, ptr, p->kh, blk, span16 / 16);
  } else {
    for (int32_t ky0 = 0; ky0 < p->kh; ky0 += sc->rows) {
      int nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
      q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
      mlal_3x8 (acc, ky0 == 0, ky0 + nky >= p->kh, ptr, nky,
                blk + (size_t) ky0 * BLOCK * (size_t) span16, span16 / 16);
    }
  }

  int32x4x2_t m = vld1q_s32_x2 (rq->mult);
  int32x4x2_t bias = vld1q_s32_x2 (rq->bias);
  int64x2x4_t sh = vld1q_s64_x4 (rq->nshift);
  int16x8_t zp = vdupq_n_s16 ((int16_t) p->out_zp);
  int8x8_t qmin = vdup_n_s8 ((int8_t) p->act_min);
  int8x8_t qmax = vdup_n_s8 ((int8_t) p->act_max);
  int8x16_t v[2];
  v[0] = vcombine_s8 (finish (acc[0], bias.val, m.val, sh.val, zp, qmin, qmax),
                      finish (acc[1], bias.val, m.val, sh.val, zp, qmin, qmax));
  int8x8_t v2 = finish (acc[2], bias.val, m.val, sh.val, zp, qmin, qmax);
  v[1] = vcombine_s8 (v2, v2);
  if (p->lut != NULL) {
    int8x16x4_t lut[4];
    for (int i = 0; i < 4; i++)
      lut[i] = vld1q_s8_x4 (p->lut + 64 * i);
    v[0] = q8_lut_s8x16 (lut, v[0]);
    v[1] = q8_lut_s8x16 (lut, v[1]);
  }
  int8_t res[2 * 16] __attribute__ ((aligned (16)));
  vst1q_s8 (res, v[0]);
  vst1q_s8 (res + 16, v[1]);
  int32_t n_oc = p->out_c - oc0 < BLOCK ? p->out_c - oc0 : BLOCK;
  int8_t *o = out + (size_t) q * (size_t) p->out_c + oc0;
  for (int j = 0; j < nvalid; j++, o += p->out_c) {
    if (n_oc == BLOCK)
      memcpy (o, res + 8 * j, BLOCK);
    else
      for (int32_t k = 0; k < n_oc; k++)
        o[k] = res[8 * j + k];
  }
}

void
q8_s8_conv2d_requant__neon (const q8_conv_params *p, const void *packed,
                            const int8_t *in, int8_t *out, int32_t y0,
                            int32_t y1)
{
  layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX] __attribute__ ((aligned (16)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (16)));
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 16, Q8_SPAN_TILE, zp_buf, edge_buf);

  /* When every kernel row's spans fit the gather buffers at once (all
   * layers but the widest), they are gathered once for 5 tiles (15 of the
   * Q8_SPAN_TILE slots) and serve every block. */
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
      for (int32_t bi = 0; bi < l.nb; bi++)
        tile (&sc, (const int8_t *) packed + (size_t) bi * l.blk_bytes,
              l.w_bytes, l.span16, bi * BLOCK, q, nvalid, out,
              all_rows ? ptr + t * TILE : ptr, all_rows);
    }
  }
}
