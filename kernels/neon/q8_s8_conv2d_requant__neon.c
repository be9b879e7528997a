/* q8_s8_conv2d_requant__neon.c - int8 convolution for baseline aarch64
 * NEON (Cortex-A72 of the Raspberry Pi 4: no dot product instructions).
 *
 * Any convolution with groups = 1 whose span (kw * in_c, see
 * q8_conv_spans.h) rounded up to 16 fits Q8_SPAN_MAX.  A tile is 4 output
 * pixels x 4 output channels; each of its 16 accumulators is an int32x4
 * of partial sums along the span, reduced at the end.  Per 16 span bytes
 * and (pixel, channel) pair:
 *
 *   smull  (8 x int8 * int8 -> 8 x int16), smlal2 (the other 8 added),
 *   sadalp (pairs of int16 added into the 4 int32 lanes)
 *
 * 16 multiply-accumulates in 3 instructions.  The int16 step is exact:
 * the input is used as it is, |x * w| <= 128 * 127 = 16256 (weights are
 * never -128), so two products stay below 32767.  The packed bias is
 * bias - in_zp * sum(w), and padding read as in_zp contributes 0; every
 * partial sum is bounded by |bias| + 256 * sum|w| < 2^31 (ARITHMETIC.md).
 *
 * Epilogue: scalar rule R (q8_requant_r), clamp, table.
 *
 * Packed layout, per block of 4 output channels:
 *   int8  w[kh][4 lanes][span16]      span16 = span rounded up to 16
 *   int32 bias'[4], padded to 64 bytes
 */
#include <arm_neon.h>

#include "q8_conv_spans.h"
#include "q8_kernels_simd.h"

#define TILE 4

typedef struct {
  int32_t nb;        /* blocks of 4 output channels */
  int32_t span16;
  size_t w_bytes;    /* weight bytes per block */
  size_t blk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  l.nb = (p->out_c + 3) / 4;
  l.span16 = q8_span_padded (p, 16);
  l.w_bytes = (size_t) p->kh * 4 * (size_t) l.span16;
  l.blk_bytes = l.w_bytes + 64;
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
    uint8_t *base = (uint8_t *) packed + (size_t) (oc / 4) * l.blk_bytes;
    int32_t lane = oc % 4;
    for (int32_t ky = 0; ky < p->kh; ky++)
      memcpy (base + ((size_t) ky * 4 + lane) * l.span16,
              w + (size_t) oc * per_oc + (size_t) ky * span, (size_t) span);
    int32_t *kb = (int32_t *) (base + l.w_bytes);
    kb[lane] = (int32_t) ((bias != NULL ? bias[oc] : 0)
                          - (int64_t) p->in_zp * q8_span_weight_sum (p, w, oc));
  }
}

static void
tile (const q8_span_ctx *sc, const uint8_t *blk, size_t w_bytes,
      int32_t span16, int32_t oc0, int64_t q, int nvalid, int8_t *out)
{
  const q8_conv_params *p = sc->p;
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];
  int32x4_t acc[TILE][4];

  /* Accumulators start after the first call: nothing to save across it. */
  int32_t ky0 = 0;
  int nky = p->kh < sc->rows ? p->kh : sc->rows;
  q8_span_rows (sc, q, TILE, nvalid, 0, nky, ptr);
  for (int j = 0; j < TILE; j++)
    for (int k = 0; k < 4; k++)
      acc[j][k] = vdupq_n_s32 (0);

  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int8_t *const *pr = ptr + r * Q8_SPAN_TILE;
      const int8_t *wk = (const int8_t *) blk
                         + (size_t) (ky0 + r) * 4 * (size_t) span16;
      for (int32_t s = 0; s < span16; s += 16) {
        int8x16_t x[TILE];
#pragma GCC unroll 4
        for (int j = 0; j < TILE; j++)
          x[j] = vld1q_s8 (pr[j] + s);
        /* One weight vector live at a time keeps the 16 accumulators, 4
         * inputs and the products within the 32 registers (no spills). */
#pragma GCC unroll 4
        for (int k = 0; k < 4; k++) {
          int8x16_t wv = vld1q_s8 (wk + (size_t) k * span16 + s);
#pragma GCC unroll 4
          for (int j = 0; j < TILE; j++) {
            int16x8_t prod = vmull_s8 (vget_low_s8 (x[j]), vget_low_s8 (wv));
            prod = vmlal_high_s8 (prod, x[j], wv);
            acc[j][k] = vpadalq_s16 (acc[j][k], prod);
          }
        }
      }
    }
    ky0 += nky;
    if (ky0 >= p->kh)
      break;
    nky = p->kh - ky0 < sc->rows ? p->kh - ky0 : sc->rows;
    q8_span_rows (sc, q, TILE, nvalid, ky0, nky, ptr);
  }

  const int32_t *bias = (const int32_t *) (blk + w_bytes);
  int32x4_t b = vld1q_s32 (bias);
  int32_t n_oc = p->out_c - oc0 < 4 ? p->out_c - oc0 : 4;
  for (int j = 0; j < nvalid; j++) {
    int32x4_t sum = vaddq_s32 (b, vpaddq_s32 (vpaddq_s32 (acc[j][0],
                                                           acc[j][1]),
                                               vpaddq_s32 (acc[j][2],
                                                           acc[j][3])));
    int32_t a[4];
    vst1q_s32 (a, sum);
    int8_t *o = out + (size_t) (q + j) * (size_t) p->out_c + oc0;
    for (int32_t k = 0; k < n_oc; k++) {
      int32_t v = q8_requant_r (a[k], p->mult[oc0 + k], p->shift[oc0 + k],
                                p->out_zp, p->act_min, p->act_max);
      o[k] = (int8_t) (p->lut != NULL ? p->lut[v + 128] : v);
    }
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
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 16, TILE, zp_buf, edge_buf);

  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int32_t bi = 0; bi < l.nb; bi++) {
    const uint8_t *blk = (const uint8_t *) packed + (size_t) bi * l.blk_bytes;
    for (int64_t q = q_begin; q < q_end; q += TILE) {
      int nvalid = q_end - q < TILE ? (int) (q_end - q) : TILE;
      tile (&sc, blk, l.w_bytes, l.span16, bi * 4, q, nvalid, out);
    }
  }
}
