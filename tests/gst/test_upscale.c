/* test_upscale.c - the plugin's conventional upscaler and colour
 * conversion (gst-plugin/upscale.c, colorspace.c) against the floating-
 * point references of gst_reference.c: hand-computed cases, exhaustive
 * colour conversion, seeded random sizes, factors, pixel strides and row
 * padding (whose bytes must stay untouched). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_test.h"
#include "gst_reference.h"
#include "upscale.h"
#include "colorspace.h"

#define CANARY 0xa5

START_TEST (test_upscale_hand)
{
  /* 2x1 -> 4x2 by 2: output x sits at source (x + 1/2) / 2 - 1/2 =
   * -0.25 (edge: 0), 0.25 (25), 0.75 (75), 1.25 (edge: 100). */
  const uint8_t src[2] = { 0, 100 };
  const uint8_t want[8] = { 0, 25, 75, 100, 0, 25, 75, 100 };
  uint8_t dst[8];
  gst_q8_upscale_bilinear_u8 (src, 1, 2, 2, 1, dst, 1, 4, 4, 2, 2);
  for (int i = 0; i < 8; i++)
    ck_assert_msg (dst[i] == want[i], "x2 hand case: index %d: expected %d, "
                   "got %d", i, want[i], dst[i]);

  /* 1x2 column [10, 11] by 2: rows at 0.25 -> 10.25 -> 10 and 0.75 ->
   * 10.75 -> 11; the tie 10.5 would round up. */
  const uint8_t col[2] = { 10, 11 };
  uint8_t out[4 * 2];
  gst_q8_upscale_bilinear_u8 (col, 1, 1, 1, 2, out, 1, 2, 2, 4, 2);
  const uint8_t want_col[8] = { 10, 10, 10, 10, 11, 11, 11, 11 };
  for (int i = 0; i < 8; i++)
    ck_assert_msg (out[i] == want_col[i], "column case: index %d: expected "
                   "%d, got %d", i, want_col[i], out[i]);

  /* Factor 3 keeps source samples at the centre of each 3x3 block. */
  const uint8_t three[3] = { 30, 60, 90 };
  uint8_t o3[9];
  gst_q8_upscale_bilinear_u8 (three, 1, 3, 3, 1, o3, 1, 9, 9, 1, 3);
  ck_assert_int_eq (o3[1], 30);
  ck_assert_int_eq (o3[4], 60);
  ck_assert_int_eq (o3[7], 90);
  /* x = 2 sits at 2.5 / 3 - 0.5 = 1/3: 30 + 30 / 3 = 40. */
  ck_assert_int_eq (o3[2], 40);
}
END_TEST

START_TEST (test_upscale_random)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed ();
  q8_rng_seed (&rng, seed);

  for (int iter = 0; iter < 400; iter++) {
    int f = q8_rng_int (&rng, 1, 8);
    int sw = q8_rng_int (&rng, 1, 37), sh = q8_rng_int (&rng, 1, 23);
    /* Output sizes as for subsampled chroma: f * sw, or one less. */
    int dw = f * sw - q8_rng_int (&rng, 0, f > 1 ? 1 : 0);
    int dh = f * sh - q8_rng_int (&rng, 0, f > 1 ? 1 : 0);
    int sps = q8_rng_int (&rng, 1, 4), dps = q8_rng_int (&rng, 1, 4);
    size_t sstride = (size_t) sw * sps + q8_rng_int (&rng, 0, 9);
    size_t dstride = (size_t) dw * dps + q8_rng_int (&rng, 0, 9);
    uint8_t *src = malloc (sstride * sh);
    uint8_t *dst = malloc (dstride * dh);
    uint8_t *ref = malloc ((size_t) dw * dh);
    uint8_t *tie = malloc ((size_t) dw * dh);
    int smooth = iter % 3 == 0;

    for (size_t i = 0; i < sstride * sh; i++)
      src[i] = smooth ? (uint8_t) (i * 7 + iter) : (uint8_t) q8_rng_next (&rng);
    memset (dst, CANARY, dstride * dh);
    gst_q8_upscale_bilinear_u8 (src, sps, sstride, sw, sh, dst, dps, dstride,
                                dw, dh, f);
    ref_upscale_bilinear (src, sps, sstride, sw, sh, ref, tie, dw, dh, f);

    for (int y = 0; y < dh; y++) {
      for (size_t b = 0; b < dstride; b++) {
        uint8_t got = dst[y * dstride + b];
        if (b % dps == 0 && b / dps < (size_t) dw) {
          size_t x = b / dps;
          int want = ref[y * dw + x];
          int ok = got == want || (tie[y * dw + x] && abs (got - want) <= 1);
          if (!ok)
            ck_abort_msg ("f %d, %dx%d (ps %d) -> %dx%d (ps %d): at "
                          "(%zu, %d) expected %d, got %d, seed %llu", f, sw,
                          sh, sps, dw, dh, dps, x, y, want, got,
                          (unsigned long long) seed);
        } else {
          if (got != CANARY)
            ck_abort_msg ("f %d, %dx%d -> %dx%d: byte %zu of "
                          "row %d (not a sample) was written, seed %llu", f,
                          sw, sh, dw, dh, b, y, (unsigned long long) seed);
        }
      }
    }
    free (src);
    free (dst);
    free (ref);
    free (tie);
  }
}
END_TEST

START_TEST (test_gather_scatter)
{
  uint8_t packed[3 * 4 * 2], plane[3 * 2], back[3 * 4 * 2];
  for (int i = 0; i < (int) sizeof packed; i++)
    packed[i] = (uint8_t) i;
  /* 3 samples 4 bytes apart from offset 1, rows 12 bytes apart. */
  gst_q8_gather_u8 (packed + 1, 4, 12, plane, 3, 3, 2);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      ck_assert_int_eq (plane[y * 3 + x], y * 12 + x * 4 + 1);
  memset (back, 0, sizeof back);
  gst_q8_scatter_u8 (plane, 3, back + 1, 4, 12, 3, 2);
  for (int i = 0; i < (int) sizeof back; i++)
    ck_assert_int_eq (back[i], i % 4 == 1 ? i : 0);
}
END_TEST

/* Every RGB triple, every YCbCr triple. */
START_TEST (test_colorspace_exhaustive)
{
  static uint8_t r[256], g[256], b[256], y[256], cb[256], cr[256];
  for (int i = 0; i < 256; i++)
    b[i] = (uint8_t) i;
  for (int R = 0; R < 256; R++) {
    for (int G = 0; G < 256; G++) {
      memset (r, R, sizeof r);
      memset (g, G, sizeof g);
      gst_q8_rgb_to_ycbcr_row (r, g, b, 1, y, cb, cr, 256);
      for (int B = 0; B < 256; B++) {
        uint8_t wy, wcb, wcr;
        ref_rgb_to_ycbcr (R, G, B, &wy, &wcb, &wcr);
        if (y[B] != wy || cb[B] != wcb || cr[B] != wcr)
          ck_abort_msg ("RGB (%d, %d, %d): expected YCbCr (%d, %d, %d), got "
                        "(%d, %d, %d)", R, G, B, wy, wcb, wcr, y[B], cb[B],
                        cr[B]);
      }
    }
  }

  /* The inverse, written into a packed BGRx-like layout. */
  static uint8_t bgrx[256 * 4];
  for (int i = 0; i < 256; i++)
    cr[i] = (uint8_t) i;
  for (int Y = 0; Y < 256; Y++) {
    for (int Cb = 0; Cb < 256; Cb++) {
      memset (y, Y, sizeof y);
      memset (cb, Cb, sizeof cb);
      memset (bgrx, CANARY, sizeof bgrx);
      gst_q8_ycbcr_to_rgb_row (y, cb, cr, bgrx + 2, bgrx + 1, bgrx, 4, 256);
      for (int Cr = 0; Cr < 256; Cr++) {
        uint8_t wr, wg, wb;
        ref_ycbcr_to_rgb (Y, Cb, Cr, &wr, &wg, &wb);
        const uint8_t *p = bgrx + 4 * Cr;
        if (p[2] != wr || p[1] != wg || p[0] != wb || p[3] != CANARY)
          ck_abort_msg ("YCbCr (%d, %d, %d): expected RGB "
                        "(%d, %d, %d), got (%d, %d, %d), pad %d", Y, Cb, Cr,
                        wr, wg, wb, p[2], p[1], p[0], p[3]);
      }
    }
  }
}
END_TEST

/* Round trips of grey stay grey, and are close for colours. */
START_TEST (test_colorspace_roundtrip)
{
  int worst = 0;
  for (int R = 0; R < 256; R += 5)
    for (int G = 0; G < 256; G += 3)
      for (int B = 0; B < 256; B += 7) {
        uint8_t r = (uint8_t) R, g = (uint8_t) G, b = (uint8_t) B;
        uint8_t y, cb, cr, r2, g2, b2;
        gst_q8_rgb_to_ycbcr_row (&r, &g, &b, 1, &y, &cb, &cr, 1);
        gst_q8_ycbcr_to_rgb_row (&y, &cb, &cr, &r2, &g2, &b2, 1, 1);
        int d = abs (r2 - R);
        d = abs (g2 - G) > d ? abs (g2 - G) : d;
        d = abs (b2 - B) > d ? abs (b2 - B) : d;
        worst = d > worst ? d : worst;
        if (R == G && G == B)
          ck_assert_msg (d == 0 && cb == 128 && cr == 128, "grey %d: back "
                         "as (%d, %d, %d) via (%d, %d, %d)", R, r2, g2, b2,
                         y, cb, cr);
      }
  /* Three roundings of at most 1/2 each, amplified by at most 1.772. */
  ck_assert_msg (worst <= 2, "round trip error %d > 2", worst);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("gst-upscale");
  TCase *tc = tcase_create ("upscale");
  tcase_add_test (tc, test_upscale_hand);
  tcase_add_test (tc, test_upscale_random);
  tcase_add_test (tc, test_gather_scatter);
  tcase_add_test (tc, test_colorspace_exhaustive);
  tcase_add_test (tc, test_colorspace_roundtrip);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
