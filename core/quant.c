/* quant.c - real multipliers to integer (M, r) pairs: rules R and S of
 * ARITHMETIC.md.  Runs at load and plan time only, in double precision,
 * so the pairs are the same on every IEEE-754 machine. */
#include <math.h>

#include "q8_internal.h"

bool
q8__quantize_multiplier_r (double m, int32_t *mult, int32_t *shift)
{
  if (!isfinite (m) || m < 0x1p-40 || m >= 0x1p30)
    return false;
  int e;
  double f = frexp (m, &e); /* m = f * 2^e, f in [0.5, 1) */
  int64_t M = llround (f * 0x1p31);
  if (M == ((int64_t) 1 << 31))
    M = ((int64_t) 1 << 31) - 1;
  int r = 31 - e;
  if (r > 62) {
    M = llround ((double) M / ldexp (1.0, r - 62));
    r = 62;
  }
  *mult = (int32_t) M;
  *shift = r;
  return true;
}

bool
q8__quantize_multiplier_s (double m, int32_t *mult, int32_t *shift)
{
  /* r >= 1 keeps the rounding term 2^(r-1) an integer, so m < 2^20. */
  if (!isfinite (m) || m < 0 || m >= 0x1p20)
    return false;
  int r = 30;
  while (r > 1 && llround (m * ldexp (1.0, r)) >= (1 << 21))
    r--;
  int64_t M = llround (m * ldexp (1.0, r));
  if (M >= (1 << 21))
    return false;
  *mult = (int32_t) M;
  *shift = r;
  return true;
}
