/* q8_s8_pool__scalar.c - MAXPOOL and AVGPOOL over NHWC int8 (ARITHMETIC.md).
 * The op guarantees every window holds at least one input tap. */
#include "q8_kernels.h"

void
q8_s8_maxpool__scalar (const q8_pool_params *p, const int8_t *in,
                       int8_t *out, int32_t y0, int32_t y1)
{
  const size_t c = (size_t) p->c, row = (size_t) p->in_w * c;
  for (int32_t oy = y0; oy < y1; oy++) {
    int32_t iy0, iy1, ph;
    q8_pool_window (oy, p->stride_h, p->pad_top, p->pad_bottom, p->kh,
                    p->in_h, &iy0, &iy1, &ph);
    for (int32_t ox = 0; ox < p->out_w; ox++) {
      int32_t ix0, ix1, pw;
      q8_pool_window (ox, p->stride_w, p->pad_left, p->pad_right, p->kw,
                      p->in_w, &ix0, &ix1, &pw);
      int8_t *o = out + ((size_t) oy * p->out_w + ox) * c;
      for (size_t k = 0; k < c; k++)
        o[k] = -128;
      for (int32_t iy = iy0; iy < iy1; iy++)
        for (int32_t ix = ix0; ix < ix1; ix++) {
          const int8_t *x = in + (size_t) iy * row + (size_t) ix * c;
          for (size_t k = 0; k < c; k++)
            o[k] = x[k] > o[k] ? x[k] : o[k];
        }
    }
  }
}

void
q8_s8_avgpool__scalar (const q8_pool_params *p, const int8_t *in,
                       int8_t *out, int32_t y0, int32_t y1)
{
  const size_t c = (size_t) p->c, row = (size_t) p->in_w * c;
  for (int32_t oy = y0; oy < y1; oy++) {
    int32_t iy0, iy1, ph;
    q8_pool_window (oy, p->stride_h, p->pad_top, p->pad_bottom, p->kh,
                    p->in_h, &iy0, &iy1, &ph);
    for (int32_t ox = 0; ox < p->out_w; ox++) {
      int32_t ix0, ix1, pw;
      q8_pool_window (ox, p->stride_w, p->pad_left, p->pad_right, p->kw,
                      p->in_w, &ix0, &ix1, &pw);
      int32_t n = p->count_include_pad ? ph * pw : (iy1 - iy0) * (ix1 - ix0);
      int32_t mult = p->mult[n - p->n_min], shift = p->shift[n - p->n_min];
      int8_t *o = out + ((size_t) oy * p->out_w + ox) * c;
      for (size_t k = 0; k < c; k++) {
        int32_t acc = 0;
        for (int32_t iy = iy0; iy < iy1; iy++)
          for (int32_t ix = ix0; ix < ix1; ix++)
            acc += in[(size_t) iy * row + (size_t) ix * c + k] - p->in_zp;
        o[k] = (int8_t) q8_requant_r (acc, mult, shift, p->out_zp, -128, 127);
      }
    }
  }
}
