/* q8_s8_add_requant__scalar.c - ADD of two int8 tensors with requantization
 * (ARITHMETIC.md, ADD).  With |d| <= 255 and M < 2^21 each product is below
 * 2^29, so the sum of both and the rounding term 2^(r-1) <= 2^29 fits in
 * int32. */
#include "q8_kernels.h"

void
q8_s8_add_requant__scalar (size_t n, const int8_t *a, const int8_t *b,
                           int8_t *y, const q8_add_params *p)
{
  const int32_t round = 1 << (p->shift - 1);
  for (size_t i = 0; i < n; i++) {
    int32_t acc = (a[i] - p->a_zp) * p->a_mult + (b[i] - p->b_zp) * p->b_mult
                  + round;
    int32_t v = p->y_zp + (acc >> p->shift); /* arithmetic shift: floor */
    y[i] = (int8_t) (v < p->act_min ? p->act_min
                     : v > p->act_max ? p->act_max : v);
  }
}
