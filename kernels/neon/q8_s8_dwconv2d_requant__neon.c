/* q8_s8_dwconv2d_requant__neon.c - depthwise int8 convolution for
 * baseline aarch64 NEON, 16 channels per vector.
 *
 * Depthwise layers with multiplier 1 (groups = in_c = out_c; limits and
 * tap addressing in q8_dwconv_taps.h), any kernel size up to 64 taps,
 * stride, dilation and padding.  Channels are the lanes.  Taps go in
 * pairs: for 16 channels of a pixel,
 *
 *   smull/smull2  x[t] * w[t]            8 x int16 each half
 *   smlal/smlal2  + x[t+1] * w[t+1]
 *   saddw/saddw2  the int16 sums widened into 4 int32x4 accumulators
 *
 * 8 instructions for 32 multiply-accumulates.  The int16 step is exact:
 * |x * w| <= 128 * 127 = 16256 (weights are never -128), and two such
 * products stay within 32767.  An odd last tap goes alone.  A tile is 4
 * pixels x 16 channels (16 accumulators); the 2 weight vectors of a tap
 * pair serve the 4 pixels, and the taps of 4 pixels (q8_dwconv_taps.h)
 * serve all channel blocks.
 *
 * Accumulator bound: the packed bias is bias - in_zp * sum(w) (padding
 * taps read in_zp and contribute 0); with |x| <= 128 and |w| <= 127 every
 * partial sum stays below |bias| + 256 * sum|w| < |bias| + 512 * sum|w|
 * <= 2^31 - 1 (ARITHMETIC.md, checked by the loader): no int32 overflow.
 *
 * Epilogue: vector rule R, clamp and table (q8_requant_neon.h).
 *
 * Packed layout:
 *   int8  w[nb][kh * kw][16]     nb = ceil(c / 16); lanes past c hold 0
 *   requant[nb]: int32 bias'[16], int32 mult[16], int64 -shift[16]
 */
#include <arm_neon.h>

#include "q8_dwconv_taps.h"
#include "q8_kernels_simd.h"
#include "q8_requant_neon.h"

#define TILE 4

typedef struct {
  int32_t bias[16];
  int32_t mult[16];
  int64_t nshift[16];
} requant;

static q8_dw_layout
get_layout (const q8_conv_params *p)
{
  return q8_dw_layout_get (p, 16, 16);
}

int
q8_s8_dwconv2d_accepts__neon (const q8_conv_params *p)
{
  return q8_dw_accepts (p);
}

size_t
q8_s8_dwconv2d_packed_size__neon (const q8_conv_params *p)
{
  q8_dw_layout l = get_layout (p);
  return l.w_bytes + (size_t) l.nb * sizeof (requant);
}

void
q8_s8_dwconv2d_pack__neon (const q8_conv_params *p, const int8_t *w,
                           const int32_t *bias, void *packed)
{
  q8_dw_layout l = get_layout (p);
  int8_t *wp = packed;
  requant *rq = (requant *) (wp + l.w_bytes);
  memset (packed, 0, q8_s8_dwconv2d_packed_size__neon (p));
  for (int32_t c = 0; c < p->out_c; c++) {
    int32_t b = c / 16, lane = c % 16;
    for (int32_t t = 0; t < l.taps; t++)
      wp[((size_t) b * l.taps + t) * 16 + lane] = w[(size_t) c * l.taps + t];
    /* In int32 by the accumulator bound (|in_zp| <= 128 < 512). */
    rq[b].bias[lane] = (int32_t) ((bias != NULL ? bias[c] : 0)
                                  - (int64_t) p->in_zp
                                    * q8_dw_weight_sum (p, w, c));
    rq[b].mult[lane] = p->mult[c];
    rq[b].nshift[lane] = -p->shift[c];
  }
}

/* Adds the int16 sums lo (channels 0-7) and hi (8-15) to a[0..3]. */
static inline __attribute__ ((always_inline)) void
widen_add (int32x4_t *a, int16x8_t lo, int16x8_t hi)
{
  a[0] = vaddw_s16 (a[0], vget_low_s16 (lo));
  a[1] = vaddw_high_s16 (a[1], lo);
  a[2] = vaddw_s16 (a[2], vget_low_s16 (hi));
  a[3] = vaddw_high_s16 (a[3], hi);
}

/* TILE pixels (taps from s, q8_dwconv_taps.h) x the 16 channels of
 * block b; pixels j >= nvalid are computed and dropped. */
static inline __attribute__ ((always_inline)) void
tile (const q8_conv_params *p, const int8_t *wb, const requant *rq,
      int32_t taps, int32_t b, const q8_dw_src *s, int nvalid, int8_t *out,
      const int INSIDE)
{
  const size_t off = (size_t) b * 16;
  const int8_t *bj[TILE];
  for (int j = 0; j < TILE; j++)
    bj[j] = INSIDE ? s->base + (size_t) j * s->step + off : NULL;
  int32x4_t acc[TILE][4];
  int32x4x4_t bias = vld1q_s32_x4 (rq->bias);
#pragma GCC unroll 4
  for (int j = 0; j < TILE; j++)
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
      acc[j][i] = bias.val[i];

  int32_t t = 0;
  for (; t + 1 < taps; t += 2) {
    int8x16_t w0 = vld1q_s8 (wb + (size_t) t * 16);
    int8x16_t w1 = vld1q_s8 (wb + (size_t) (t + 1) * 16);
#pragma GCC unroll 4
    for (int j = 0; j < TILE; j++) {
      int8x16_t x0 = vld1q_s8 (q8_dw_tap (s, bj[j], j, t, off, INSIDE));
      int8x16_t x1 = vld1q_s8 (q8_dw_tap (s, bj[j], j, t + 1, off,
                                          INSIDE));
      int16x8_t lo = vmull_s8 (vget_low_s8 (x0), vget_low_s8 (w0));
      int16x8_t hi = vmull_high_s8 (x0, w0);
      lo = vmlal_s8 (lo, vget_low_s8 (x1), vget_low_s8 (w1));
      hi = vmlal_high_s8 (hi, x1, w1);
      widen_add (acc[j], lo, hi);
    }
  }
  if (t < taps) {
    int8x16_t w0 = vld1q_s8 (wb + (size_t) t * 16);
#pragma GCC unroll 4
    for (int j = 0; j < TILE; j++) {
      int8x16_t x0 = vld1q_s8 (q8_dw_tap (s, bj[j], j, t, off, INSIDE));
      widen_add (acc[j], vmull_s8 (vget_low_s8 (x0), vget_low_s8 (w0)),
                 vmull_high_s8 (x0, w0));
    }
  }

  int32x4x4_t m = vld1q_s32_x4 (rq->mult);
  int64x2x4_t sh0 = vld1q_s64_x4 (rq->nshift);
  int64x2x4_t sh1 = vld1q_s64_x4 (rq->nshift + 8);
  int16x8_t zp = vdupq_n_s16 ((int16_t) p->out_zp);
  int8x16_t qmin = vdupq_n_s8 ((int8_t) p->act_min);
  int8x16_t qmax = vdupq_n_s8 ((int8_t) p->act_max);
  int8x16x4_t lut[4];
  if (p->lut != NULL)
    for (int i = 0; i < 4; i++)
      lut[i] = vld1q_s8_x4 (p->lut + 64 * i);
  int32_t n_c = p->out_c - (int32_t) off < 16 ? p->out_c - (int32_t) off : 16;
#pragma GCC unroll 4
  for (int j = 0; j < TILE; j++) {
    if (j >= nvalid)
      break;
    int8x16_t v = q8_requant_s8x16 (acc[j], m, sh0, sh1, zp, qmin, qmax);
    if (p->lut != NULL)
      v = q8_lut_s8x16 (lut, v);
    int8_t *o = out + j * (size_t) p->out_c + off;
    if (n_c == 16) {
      vst1q_s8 (o, v);
    } else {
      int8_t res[16] __attribute__ ((aligned (16)));
      vst1q_s8 (res, v);
      memcpy (o, res, (size_t) n_c);
    }
  }
}

static void
tile_general (const q8_conv_params *p, const int8_t *wb, const requant *rq,
              int32_t taps, int32_t b, const q8_dw_src *s, int nvalid,
              int8_t *out)
{
  tile (p, wb, rq, taps, b, s, nvalid, out, 0);
}

static void
tile_inside (const q8_conv_params *p, const int8_t *wb, const requant *rq,
             int32_t taps, int32_t b, const q8_dw_src *s, int nvalid,
             int8_t *out)
{
  tile (p, wb, rq, taps, b, s, nvalid, out, 1);
}

void
q8_s8_dwconv2d_requant__neon (const q8_conv_params *p, const void *packed,
                              const int8_t *in, int8_t *out, int32_t y0,
                              int32_t y1)
{
  q8_dw_layout l = get_layout (p);
  const int8_t *wp = packed;
  const requant *rq = (const requant *) (wp + l.w_bytes);
  int8_t zp_buf[Q8_DW_ZP_BYTES] __attribute__ ((aligned (16)));
  const int8_t *ptr[TILE * Q8_DW_MAX_TAPS];
  q8_dw_rows rows;
  q8_dw_rows_init (&rows, p, zp_buf);

  for (int32_t oy = y0; oy < y1; oy++) {
    q8_dw_rows_set (&rows, in, oy);
    int8_t *orow = out + (size_t) oy * p->out_w * p->out_c;
    for (int32_t ox = 0; ox < p->out_w; ox += TILE) {
      int nvalid = p->out_w - ox < TILE ? p->out_w - ox : TILE;
      q8_dw_src src;
      q8_dw_strip (&rows, ox, TILE, nvalid, ptr, &src);
      for (int32_t b = 0; b < l.nb; b++)
        (src.base != NULL ? tile_inside : tile_general) (
          p, wp + (size_t) b * l.taps * 16, rq + b, l.taps, b, &src, nvalid,
          orow + (size_t) ox * p->out_c);
    }
  }
}
