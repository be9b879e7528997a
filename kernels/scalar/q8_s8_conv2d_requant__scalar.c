/* q8_s8_conv2d_requant__scalar.c - the reference int8 convolution: any
 * kernel size, stride, dilation, padding and group count (depthwise
 * included), Rule R requantization per output channel, the fused
 * activation clamp and an optional fused lookup table.
 *
 * It is written as the formula of ARITHMETIC.md ("CONV2D"), plain nested
 * loops in the style of the TFLite reference kernels, and is the kernel
 * every SIMD variant is tested against byte for byte.
 *
 * Packed layout (64-byte aligned sections):
 *   int32 bias[out_c], padded to a multiple of 64 bytes;
 *   int8  w[out_c][kh][kw][in_c / groups] (OHWI, as in the model),
 *         padded to a multiple of 64 bytes.
 * Only kh, kw, in_c, out_c and groups of the parameters enter the layout,
 * so it can be packed at load time, before any spatial size is known.
 */
#include <string.h>

#include "q8_kernels.h"

static size_t
align64 (size_t n)
{
  return (n + 63) & ~(size_t) 63;
}

static size_t
bias_bytes (const q8_conv_params *p)
{
  return align64 ((size_t) p->out_c * sizeof (int32_t));
}

static size_t
weight_count (const q8_conv_params *p)
{
  return (size_t) p->out_c * p->kh * p->kw * (p->in_c / p->groups);
}

size_t
q8_s8_conv2d_packed_size__scalar (const q8_conv_params *p)
{
  return bias_bytes (p) + align64 (weight_count (p));
}

void
q8_s8_conv2d_pack__scalar (const q8_conv_params *p, const int8_t *w,
                           const int32_t *bias, void *packed)
{
  uint8_t *dst = packed;
  memset (dst, 0, q8_s8_conv2d_packed_size__scalar (p));
  if (bias != NULL)
    memcpy (dst, bias, (size_t) p->out_c * sizeof (int32_t));
  memcpy (dst + bias_bytes (p), w, weight_count (p));
}

/* Accumulator bound.  Each term (x - zp_x) * w has |x - zp_x| <= 255
 * (x and zp_x are both in [-128, 127]) and |w| <= 127 (the loader rejects
 * -128), so after any number of taps of output channel oc
 *
 *   |acc| <= |bias[oc]| + 255 * sum |w[oc]| < |bias[oc]| + 512 * sum |w[oc]|
 *         <= 2^31 - 1,
 *
 * the last step being the bound the loader checks for every channel
 * (ARITHMETIC.md, "Accumulator bound").  Every partial sum obeys the same
 * bound, so the int32 accumulator below never overflows, whatever the
 * order of the taps. */
void
q8_s8_conv2d_requant__scalar (const q8_conv_params *p, const void *packed,
                              const int8_t *in, int8_t *out, int32_t y0,
                              int32_t y1)
{
  const int32_t *bias = packed;
  const int8_t *weights = (const int8_t *) packed + bias_bytes (p);
  const int32_t icg = p->in_c / p->groups;
  const int32_t ocg = p->out_c / p->groups;

  for (int32_t oy = y0; oy < y1; oy++) {
    for (int32_t ox = 0; ox < p->out_w; ox++) {
      int8_t *dst = out + ((size_t) oy * p->out_w + ox) * p->out_c;
      for (int32_t oc = 0; oc < p->out_c; oc++) {
        const int32_t g = oc / ocg;
        const int8_t *w = weights + (size_t) oc * p->kh * p->kw * icg;
        int32_t acc = bias[oc];
        for (int32_t ky = 0; ky < p->kh; ky++) {
          const int32_t iy = oy * p->stride_h - p->pad_top
                             + ky * p->dilation_h;
          if (iy < 0 || iy >= p->in_h)
            continue; /* padding contributes 0 */
          for (int32_t kx = 0; kx < p->kw; kx++) {
            const int32_t ix = ox * p->stride_w - p->pad_left
                               + kx * p->dilation_w;
            if (ix < 0 || ix >= p->in_w)
              continue;
            const int8_t *src = in + ((size_t) iy * p->in_w + ix) * p->in_c
                                + (size_t) g * icg;
            const int8_t *wk = w + ((size_t) ky * p->kw + kx) * icg;
            for (int32_t i = 0; i < icg; i++)
              acc += ((int32_t) src[i] - p->in_zp) * (int32_t) wk[i];
          }
        }
        int32_t v = q8_requant_r (acc, p->mult[oc], p->shift[oc], p->out_zp,
                                  p->act_min, p->act_max);
        if (p->lut != NULL)
          v = p->lut[v + 128];
        dst[oc] = (int8_t) v;
      }
    }
  }
}
