/* test_movement.c - depth-to-space, LUT and rule S rescale kernels on every
 * ISA path, against hand-computed cases and independent references
 * (index arithmetic written from ONNX's reshape/transpose definition; float
 * math for the rescale). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "q8_kernels.h"
#include "q8_internal.h"
#include "q8_test.h"

START_TEST (test_d2s_hand)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  /* One pixel, 4 channels a b c d, block 2, one output channel: DCR and
   * CRD agree here (channel c * 4 + i * 2 + j == (i * 2 + j) * 1 + c). */
  int8_t in[4] = { 1, 2, 3, 4 }, out[4];
  q8_d2s_params p = { 1, 1, 4, 2, Q8_D2S_DCR };
  k->depth_to_space (&p, in, out, 0, 2);
  ck_assert_mem_eq (out, ((int8_t[]) { 1, 2, 3, 4 }), 4);
  /* 8 channels, two output channels: DCR takes (i, j) major, CRD c major.
   * Output pixel (i, j) channel c. */
  int8_t in8[8] = { 10, 11, 12, 13, 14, 15, 16, 17 }, o[8];
  p = (q8_d2s_params) { 1, 1, 8, 2, Q8_D2S_DCR };
  k->depth_to_space (&p, in8, o, 0, 2);
  /* DCR: ch = (i*2+j)*2 + c -> pixel (0,0): 10 11, (0,1): 12 13, ... */
  ck_assert_mem_eq (o, ((int8_t[]) { 10, 11, 12, 13, 14, 15, 16, 17 }), 8);
  p.mode = Q8_D2S_CRD;
  k->depth_to_space (&p, in8, o, 0, 2);
  /* CRD: ch = c*4 + i*2 + j -> pixel (0,0): 10 14, (0,1): 11 15, ... */
  ck_assert_mem_eq (o, ((int8_t[]) { 10, 14, 11, 15, 12, 16, 13, 17 }), 8);
}
END_TEST

/* ONNX DepthToSpace on NCHW, written from its reshape/transpose definition,
 * then compared in NHWC. */
START_TEST (test_d2s_random)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed ());
  for (int it = 0; it < 400; it++) {
    int b = q8_rng_int (&rng, 1, 4), oc = q8_rng_int (&rng, 1, 5);
    /* Rows up to 70 pixels: several 128-byte steps of the VBMI kernel
     * and every tail length. */
    int h = q8_rng_int (&rng, 1, 7), w = q8_rng_int (&rng, 1, 70);
    int c = oc * b * b, mode = q8_rng_int (&rng, 0, 1);
    int8_t *in = malloc ((size_t) h * w * c), *out = malloc ((size_t) h * w * c);
    q8_rng_fill_s8 (&rng, in, (size_t) h * w * c, -128, 127);
    q8_d2s_params p = { h, w, c, b, mode };
    int y0 = q8_rng_int (&rng, 0, h * b);
    k->depth_to_space (&p, in, out, 0, y0);
    k->depth_to_space (&p, in, out, y0, h * b);
    for (int n = 0; n < c; n++)          /* input NCHW channel */
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          int i, j, cc;
          if (mode == Q8_D2S_DCR) { /* [b, b, oc] */
            i = n / (b * oc); j = (n / oc) % b; cc = n % oc;
          } else {                  /* [oc, b, b] */
            cc = n / (b * b); i = (n / b) % b; j = n % b;
          }
          int8_t want = in[((size_t) y * w + x) * c + n];
          int8_t got = out[(((size_t) y * b + i) * w * b + x * b + j) * oc + cc];
          ck_assert_msg (got == want, "b=%d oc=%d %dx%d mode %d n=%d", b, oc,
                         w, h, mode, n);
        }
    free (in);
    free (out);
  }
}
END_TEST

START_TEST (test_lut)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  int8_t table[256], x[300], y[300];
  for (int i = 0; i < 256; i++)
    table[i] = (int8_t) (127 - i); /* q -> -1 - q */
  for (int i = 0; i < 300; i++)
    x[i] = (int8_t) (i - 150);
  k->lut (300, x, y, table);
  for (int i = 0; i < 300; i++)
    ck_assert_int_eq (y[i], -1 - x[i]);
  /* Per channel: channel c adds c. */
  int8_t tables[3 * 256];
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 256; i++)
      tables[c * 256 + i] = (int8_t) (i - 128 + c > 127 ? 127 : i - 128 + c);
  k->lut_channels (100, 3, x, y, tables);
  for (int i = 0; i < 300; i++) {
    int want = x[i] + i % 3;
    ck_assert_int_eq (y[i], want > 127 ? 127 : want);
  }
}
END_TEST

START_TEST (test_rescale)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 9);
  uint8_t x[64], y[64];
  for (int it = 0; it < 2000; it++) {
    q8_rescale_params p;
    p.x_u8 = q8_rng_int (&rng, 0, 1);
    p.y_u8 = q8_rng_int (&rng, 0, 1);
    p.x_zp = p.x_u8 ? q8_rng_int (&rng, 0, 255) : q8_rng_int (&rng, -128, 127);
    p.y_zp = p.y_u8 ? q8_rng_int (&rng, 0, 255) : q8_rng_int (&rng, -128, 127);
    double m = it % 4 == 0 ? 1.0 : ldexp (q8_rng_float (&rng, 0.5f, 1.0f),
                                          q8_rng_int (&rng, -8, 4));
    ck_assert (q8__quantize_multiplier_s (m, &p.mult, &p.shift));
    for (int i = 0; i < 64; i++)
      x[i] = (uint8_t) q8_rng_int (&rng, 0, 255);
    k->rescale (16, 4, x, 4, y, 4, &p);
    for (int i = 0; i < 64; i++) {
      int xv = p.x_u8 ? x[i] : (int8_t) x[i];
      int yv = p.y_u8 ? y[i] : (int8_t) y[i];
      double want = p.y_zp + (xv - p.x_zp) * m;
      double lo = p.y_u8 ? 0 : -128, hi = p.y_u8 ? 255 : 127;
      want = want < lo ? lo : want > hi ? hi : want;
      if (m == 1.0)
        ck_assert_int_eq (yv, (int) want); /* equal scales: exact */
      else
        ck_assert_msg (fabs (yv - want) <= 0.5 + 1e-3, "m=%g x=%d want %g "
                       "got %d", m, xv, want, yv);
    }
  }
}
END_TEST

/* Every path equals rule S in exact integers, on contiguous and strided
 * blocks of every length (SIMD bodies and tails). */
START_TEST (test_rescale_exact)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 10);
  enum { MAX = 300 };
  static uint8_t x[42 * MAX + 64], y[42 * MAX + 64];
  for (int it = 0; it < 3000; it++) {
    q8_rescale_params p;
    p.x_u8 = q8_rng_int (&rng, 0, 1);
    p.y_u8 = q8_rng_int (&rng, 0, 1);
    p.x_zp = p.x_u8 ? q8_rng_int (&rng, 0, 255) : q8_rng_int (&rng, -128, 127);
    p.y_zp = p.y_u8 ? q8_rng_int (&rng, 0, 255) : q8_rng_int (&rng, -128, 127);
    double m = ldexp (q8_rng_float (&rng, 0.5f, 1.0f), q8_rng_int (&rng, -12,
                                                                   8));
    ck_assert (q8__quantize_multiplier_s (m, &p.mult, &p.shift));
    /* Few channels, or up to 40 (concat slices: 8-channel SIMD steps and
     * their tails). */
    size_t c = (size_t) q8_rng_int (&rng, 1, it % 2 ? 40 : 3);
    size_t pixels = (size_t) q8_rng_int (&rng, 1, MAX / 3);
    size_t xs = c + (size_t) q8_rng_int (&rng, 0, 1) * 2;
    size_t ys = c + (size_t) q8_rng_int (&rng, 0, 1);
    for (size_t i = 0; i < sizeof x; i++)
      x[i] = (uint8_t) q8_rng_int (&rng, 0, 255);
    memset (y, 0x5a, sizeof y);
    k->rescale (pixels, c, x, xs, y, ys, &p);
    for (size_t i = 0; i < pixels; i++)
      for (size_t j = 0; j < c; j++) {
        int xv = p.x_u8 ? x[i * xs + j] : (int8_t) x[i * xs + j];
        int64_t num = (int64_t) (xv - p.x_zp) * p.mult
                      + ((int64_t) 1 << (p.shift - 1));
        int64_t q = num >= 0 ? num >> p.shift
                             : -((-num + ((int64_t) 1 << p.shift) - 1)
                                 >> p.shift);
        int64_t want = p.y_zp + q, lo = p.y_u8 ? 0 : -128;
        int64_t hi = p.y_u8 ? 255 : 127;
        want = want < lo ? lo : want > hi ? hi : want;
        int got = p.y_u8 ? y[i * ys + j] : (int8_t) y[i * ys + j];
        ck_assert_msg (got == want, "it %d px %zu: %d want %lld", it, i, got,
                       (long long) want);
      }
    /* Bytes between and after the pixels are untouched. */
    for (size_t i = 0; i < pixels; i++)
      for (size_t j = c; j < ys; j++)
        ck_assert_int_eq (y[i * ys + j], 0x5a);
    ck_assert_int_eq (y[pixels * ys], 0x5a);
  }
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("movement");
  TCase *tc = tcase_create ("kernels");
  tcase_add_loop_test (tc, test_d2s_hand, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_d2s_random, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_lut, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_rescale, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_rescale_exact, 0, Q8_ISA_COUNT);
  suite_add_tcase (s, tc);
  return s;
}
