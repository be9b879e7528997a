/* q8_s8_resize__scalar.c - RESIZE by integer factors over NHWC int8
 * (ARITHMETIC.md, RESIZE): nearest is a copy; bilinear weights are
 * integers out of D = 2 * f per axis, so the four-tap sum is exact and one
 * rule R requantization divides by Dh * Dw. */
#include <string.h>

#include "q8_kernels.h"

void
q8_s8_resize__scalar (const q8_resize_params *p, const int8_t *in,
                      int8_t *out, int32_t y0, int32_t y1)
{
  const size_t c = (size_t) p->c, in_row = (size_t) p->in_w * c;
  const int32_t out_w = p->in_w * p->fw, dh = 2 * p->fh, dw = 2 * p->fw;
  for (int32_t oy = y0; oy < y1; oy++) {
    int8_t *o = out + (size_t) oy * out_w * c;
    if (p->mode == Q8_RESIZE_NEAREST) {
      const int8_t *x = in + (size_t) (oy / p->fh) * in_row;
      for (int32_t ix = 0; ix < p->in_w; ix++)
        for (int32_t j = 0; j < p->fw; j++, o += c)
          memcpy (o, x + (size_t) ix * c, c);
      continue;
    }
    int32_t ya, yb, wy1;
    q8_resize_taps (oy, p->fh, p->in_h, p->coord, &ya, &yb, &wy1);
    const int32_t wy0 = dh - wy1;
    const int8_t *ra = in + (size_t) ya * in_row, *rb = in + (size_t) yb * in_row;
    for (int32_t ox = 0; ox < out_w; ox++, o += c) {
      const int32_t wx1 = p->colw[ox], wx0 = dw - wx1;
      const size_t xa = (size_t) p->col0[ox] * c, xb = (size_t) p->col1[ox] * c;
      const int8_t *a0 = ra + xa, *a1 = ra + xb;
      const int8_t *b0 = rb + xa, *b1 = rb + xb;
      for (size_t k = 0; k < c; k++) {
        int32_t top = wx0 * (a0[k] - p->in_zp) + wx1 * (a1[k] - p->in_zp);
        int32_t bot = wx0 * (b0[k] - p->in_zp) + wx1 * (b1[k] - p->in_zp);
        int32_t acc = wy0 * top + wy1 * bot;
        o[k] = (int8_t) q8_requant_r (acc, p->mult, p->shift, p->out_zp, -128,
                                      127);
      }
    }
  }
}
