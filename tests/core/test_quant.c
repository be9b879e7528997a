/* test_quant.c - rules R and S (ARITHMETIC.md): the (M, r) pairs against
 * the real multiplier, and the requantization helpers against exact
 * rational arithmetic done in long double / 128-bit integers. */
#include <math.h>
#include <stdlib.h>

#include "q8_internal.h"
#include "q8_test.h"

START_TEST (test_rule_r_pairs)
{
  /* Hand-computed: 0.5 = 2^30 * 2^-31; 0.75 = 3 * 2^29 * 2^-31. */
  int32_t M, r;
  ck_assert (q8__quantize_multiplier_r (0.5, &M, &r));
  ck_assert_int_eq (M, 1 << 30);
  ck_assert_int_eq (r, 31);
  ck_assert (q8__quantize_multiplier_r (0.75, &M, &r));
  ck_assert_int_eq (M, 3 << 29);
  ck_assert_int_eq (r, 31);
  ck_assert (q8__quantize_multiplier_r (1.0, &M, &r));
  ck_assert_int_eq (M, 1 << 30);
  ck_assert_int_eq (r, 30);
  /* Just below 1: f rounds up to 1.0 and is kept inside int32. */
  ck_assert (q8__quantize_multiplier_r (1.0 - 0x1p-40, &M, &r));
  ck_assert_int_eq (M, 0x7fffffff);
  ck_assert_int_eq (r, 31);
  /* Out of range. */
  ck_assert (!q8__quantize_multiplier_r (0.0, &M, &r));
  ck_assert (!q8__quantize_multiplier_r (-1.0, &M, &r));
  ck_assert (!q8__quantize_multiplier_r (NAN, &M, &r));
  ck_assert (!q8__quantize_multiplier_r (INFINITY, &M, &r));
  ck_assert (!q8__quantize_multiplier_r (0x1p30, &M, &r));
  ck_assert (!q8__quantize_multiplier_r (0x1p-41, &M, &r));

  /* Random multipliers: M * 2^-r within half an ulp of M of m. */
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed ());
  for (int i = 0; i < 100000; i++) {
    double m = ldexp (0.5 + 0.5 * (q8_rng_next (&rng) >> 11) * 0x1p-53,
                      q8_rng_int (&rng, -39, 29));
    ck_assert (q8__quantize_multiplier_r (m, &M, &r));
    ck_assert_int_ge (r, 1);
    ck_assert_int_le (r, 62);
    ck_assert_int_gt (M, 0);
    double back = ldexp ((double) M, -r);
    /* r clamped to 62 rounds twice: allow one more half ulp. */
    ck_assert_msg (fabs (back - m) <= ldexp (r == 62 ? 1.0 : 0.5, -r),
                   "m=%.17g M=%d r=%d", m, M, r);
  }
}
END_TEST

/* floor((acc * M + 2^(r-1)) / 2^r) + zp, clamped, by division in int64
 * (exact: |acc M| <= 2^62 and 2^(r-1) <= 2^61 stay below 2^63). */
static int32_t
ref_requant_r (int32_t acc, int32_t M, int32_t r, int32_t zp, int32_t lo,
               int32_t hi)
{
  int64_t p = (int64_t) acc * M + ((int64_t) 1 << (r - 1));
  int64_t q = p / ((int64_t) 1 << r);
  if (q * ((int64_t) 1 << r) > p) /* C division truncates: make it floor */
    q -= 1;
  q += zp;
  return (int32_t) (q < lo ? lo : q > hi ? hi : q);
}

START_TEST (test_rule_r_apply)
{
  /* Hand cases: half up.  acc * 0.5: 3 -> 1.5 -> 2, -3 -> -1.5 -> -1. */
  ck_assert_int_eq (q8_requant_r (3, 1 << 30, 31, 0, -128, 127), 2);
  ck_assert_int_eq (q8_requant_r (-3, 1 << 30, 31, 0, -128, 127), -1);
  ck_assert_int_eq (q8_requant_r (-5, 1 << 30, 31, 0, -128, 127), -2);
  ck_assert_int_eq (q8_requant_r (1000, 1 << 30, 31, 10, -128, 127), 127);
  ck_assert_int_eq (q8_requant_r (-1000, 1 << 30, 31, 10, -128, 127), -128);
  ck_assert_int_eq (q8_requant_r (INT32_MAX, INT32_MAX, 1, 127, -128, 127),
                    127);
  ck_assert_int_eq (q8_requant_r (INT32_MIN, INT32_MAX, 1, -128, -128, 127),
                    -128);

  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 1);
  for (int i = 0; i < 200000; i++) {
    int32_t acc = (int32_t) q8_rng_next (&rng);
    if (i & 1)
      acc >>= q8_rng_int (&rng, 0, 30);
    int32_t M = q8_rng_int (&rng, 1 << 30, INT32_MAX);
    int32_t r = q8_rng_int (&rng, 1, 62);
    int32_t zp = q8_rng_int (&rng, -128, 127);
    ck_assert_int_eq (q8_requant_r (acc, M, r, zp, -128, 127),
                      ref_requant_r (acc, M, r, zp, -128, 127));
  }
}
END_TEST

START_TEST (test_rule_s)
{
  int32_t M, r;
  /* Equal scales: identity. */
  ck_assert (q8__quantize_multiplier_s (1.0, &M, &r));
  ck_assert_int_eq (M, 1 << 20);
  ck_assert_int_eq (r, 20);
  for (int d = -255; d <= 255; d++)
    ck_assert_int_eq (q8_rescale_s (d, M, r), d);
  ck_assert (!q8__quantize_multiplier_s (0x1p20, &M, &r));
  ck_assert (q8__quantize_multiplier_s (0x1p20 * 0.999, &M, &r));
  ck_assert_int_eq (r, 1);
  ck_assert (!q8__quantize_multiplier_s (-0.5, &M, &r));
  ck_assert (!q8__quantize_multiplier_s (NAN, &M, &r));

  /* Random m: M < 2^21, as large as r <= 30 allows, and the rescale is the
   * round-half-up of d * M / 2^r (checked in exact integers) and within
   * one step of d * m. */
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 2);
  for (int i = 0; i < 20000; i++) {
    double m = ldexp (0.5 + 0.5 * (q8_rng_next (&rng) >> 11) * 0x1p-53,
                      q8_rng_int (&rng, -12, 20));
    ck_assert (q8__quantize_multiplier_s (m, &M, &r));
    ck_assert_int_lt (M, 1 << 21);
    ck_assert (r == 30 || M >= (1 << 20) - 1);
    for (int d = -255; d <= 255; d += 7) {
      int64_t num = (int64_t) d * M + ((int64_t) 1 << (r - 1));
      int64_t q = num >= 0 ? num >> r : -((-num + ((int64_t) 1 << r) - 1) >> r);
      ck_assert_int_eq (q8_rescale_s (d, M, r), q);
      ck_assert (fabs ((double) q - d * m) <= 0.5 + abs (d) * 0x1p-19 * m + 1e-9);
    }
  }
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("quant");
  TCase *tc = tcase_create ("rules");
  tcase_add_test (tc, test_rule_r_pairs);
  tcase_add_test (tc, test_rule_r_apply);
  tcase_add_test (tc, test_rule_s);
  suite_add_tcase (s, tc);
  return s;
}
