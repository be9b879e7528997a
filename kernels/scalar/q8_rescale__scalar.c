/* q8_rescale__scalar.c - rule S rescale of a strided block between U8 and
 * S8 (ARITHMETIC.md, QUANTIZE / DEQUANTIZE / CONCAT).  d = x - zp_x is in
 * [-255, 255] and M < 2^21, so d * M + 2^(r-1) < 2^30: int32 throughout. */
#include "q8_kernels.h"

void
q8_rescale__scalar (size_t pixels, size_t c, const void *x, size_t x_stride,
                    void *y, size_t y_stride, const q8_rescale_params *p)
{
  const uint8_t *xu = x;
  const int8_t *xs = x;
  uint8_t *yu = y;
  int8_t *ys = y;
  int32_t lo = p->y_u8 ? 0 : -128, hi = p->y_u8 ? 255 : 127;
  for (size_t i = 0; i < pixels; i++)
    for (size_t k = 0; k < c; k++) {
      size_t xi = i * x_stride + k, yi = i * y_stride + k;
      int32_t d = (p->x_u8 ? (int32_t) xu[xi] : (int32_t) xs[xi]) - p->x_zp;
      int32_t v = p->y_zp + q8_rescale_s (d, p->mult, p->shift);
      v = v < lo ? lo : v > hi ? hi : v;
      if (p->y_u8)
        yu[yi] = (uint8_t) v;
      else
        ys[yi] = (int8_t) v;
    }
}
