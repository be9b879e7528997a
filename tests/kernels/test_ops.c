/* test_ops.c - ADD, CONCAT, MAXPOOL, AVGPOOL and RESIZE, and the memory
 * bank's nearest-neighbour search (l2nn): their kernels on
 * every ISA path against hand-computed cases, float math and integer
 * references written here from ARITHMETIC.md; then the ops themselves
 * through the builder, loader and planner (output shapes as PyTorch and
 * ONNX define them, thread splits, and the loader's refusals). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"
#include "q8_kernels.h"
#include "q8_test.h"

/* ---- independent references ---------------------------------------------- */

/* Rule S written from ARITHMETIC.md. */
static void
ref_rule_s (double m, int32_t *M, int32_t *r)
{
  int s = 30;
  while (s > 1 && llround (m * ldexp (1.0, s)) >= (1 << 21))
    s--;
  *M = (int32_t) llround (m * ldexp (1.0, s));
  *r = s;
}

/* floor ((v + 2^(r-1)) / 2^r) by exact integer division. */
static int64_t
ref_round_shift (int64_t v, int r)
{
  int64_t num = v + ((int64_t) 1 << (r - 1)), den = (int64_t) 1 << r;
  int64_t q = num / den;
  if (num % den != 0 && num < 0)
    q--;
  return q;
}

static int32_t
clamp8 (int64_t v, int32_t lo, int32_t hi)
{
  return (int32_t) (v < lo ? lo : v > hi ? hi : v);
}

/* ---- ADD ----------------------------------------------------------------- */

START_TEST (test_add_hand)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  /* Equal scales (m = 1 exactly): y = a - zp_a + b - zp_b + zp_y, then the
   * clamp. */
  int32_t M, r;
  ref_rule_s (1.0, &M, &r);
  q8_add_params p = { .a_zp = 3, .b_zp = -5, .y_zp = 1, .a_mult = M,
                      .b_mult = M, .shift = r, .act_min = -128,
                      .act_max = 127 };
  int8_t a[6] = { 3, 10, -128, 127, 127, 0 };
  int8_t b[6] = { -5, 20, -128, 127, -5, 0 };
  int8_t y[6];
  k->add (6, a, b, y, &p);
  ck_assert_mem_eq (y, ((int8_t[]) { 1, 33, -128, 127, 125, 3 }), 6);
  /* Fused ReLU (act_min = zp_y). */
  p.act_min = 1;
  k->add (6, a, b, y, &p);
  ck_assert_mem_eq (y, ((int8_t[]) { 1, 33, 1, 127, 125, 3 }), 6);
  /* a at half the output scale: (a - 0) / 2 + b, halves rounded up:
   * 1/2 -> 1, -1/2 -> 0, 3/2 -> 2, -3/2 -> -1. */
  ref_rule_s (1.0, &M, &r);
  p = (q8_add_params) { .a_mult = M / 2, .b_mult = M, .shift = r,
                        .act_min = -128, .act_max = 127 };
  int8_t a2[4] = { 1, -1, 3, -3 }, b2[4] = { 0, 0, 0, 0 };
  k->add (4, a2, b2, y, &p);
  ck_assert_mem_eq (y, ((int8_t[]) { 1, 0, 2, -1 }), 4);
}
END_TEST

START_TEST (test_add_random)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed ());
  enum { N = 1031 };
  int8_t a[N + 64], b[N + 64], y[N + 64];
  for (int it = 0; it < 300; it++) {
    double sa = ldexp (q8_rng_float (&rng, 0.5f, 1), q8_rng_int (&rng, -9, -3));
    double sb = ldexp (q8_rng_float (&rng, 0.5f, 1), q8_rng_int (&rng, -9, -3));
    double sy = ldexp (q8_rng_float (&rng, 0.5f, 1), q8_rng_int (&rng, -9, -3));
    q8_add_params p = { .a_zp = q8_rng_int (&rng, -128, 127),
                        .b_zp = q8_rng_int (&rng, -128, 127),
                        .y_zp = q8_rng_int (&rng, -128, 127) };
    p.act_min = q8_rng_int (&rng, -128, 0);
    p.act_max = q8_rng_int (&rng, p.act_min, 127);
    int32_t M;
    ref_rule_s (fmax (sa, sb) / sy, &M, &p.shift);
    p.a_mult = (int32_t) llround (ldexp (sa / sy, p.shift));
    p.b_mult = (int32_t) llround (ldexp (sb / sy, p.shift));
    size_t n = (size_t) q8_rng_int (&rng, 1, N);
    q8_rng_fill_s8 (&rng, a, n, -128, 127);
    q8_rng_fill_s8 (&rng, b, n, -128, 127);
    k->add (n, a, b, y, &p);
    for (size_t i = 0; i < n; i++) {
      int64_t acc = (int64_t) (a[i] - p.a_zp) * p.a_mult
                    + (int64_t) (b[i] - p.b_zp) * p.b_mult;
      int32_t want = clamp8 (p.y_zp + ref_round_shift (acc, p.shift),
                             p.act_min, p.act_max);
      ck_assert_msg (y[i] == want, "it %d i %zu: %d, want %d", it, i, y[i],
                     want);
      /* And within one step of the real sum. */
      double real = sa * (a[i] - p.a_zp) + sb * (b[i] - p.b_zp);
      double q = fmin (fmax (real / sy + p.y_zp, p.act_min), p.act_max);
      ck_assert_msg (fabs (y[i] - q) <= 1.0, "it %d: %d vs real %f", it, y[i],
                     q);
    }
  }
}
END_TEST

/* ---- pooling ------------------------------------------------------------- */

typedef struct {
  int h, w, c, kh, kw, sh, sw, pt, pl, pb, pr, cip, ceil;
} pool_case;

/* Output length written from PyTorch's pooling_output_shape. */
static int
torch_out (int in, int k, int s, int pb, int pa, int ceil)
{
  int o = (in + pb + pa - k + (ceil ? s - 1 : 0)) / s + 1;
  if (ceil && (o - 1) * s >= in + pb)
    o--;
  return o;
}

START_TEST (test_pool_hand)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  /* 3x3 single channel, 2x2 windows stride 2, ceil mode: 2x2 output whose
   * right and bottom windows are clipped. */
  /* (Kernels may read Q8_EXTRA_BYTES past the input.) */
  int8_t in[9 + Q8_EXTRA_BYTES] = { 1, 5, -3,
                                    7, -2, 9,
                                    4, 0, -8 };
  int8_t out[4];
  q8_pool_params p = { .in_h = 3, .in_w = 3, .c = 1, .out_h = 2, .out_w = 2,
                       .kh = 2, .kw = 2, .stride_h = 2, .stride_w = 2 };
  k->maxpool (&p, in, out, 0, 2);
  ck_assert_mem_eq (out, ((int8_t[]) { 7, 9, 4, -8 }), 4);
  /* Average with unit scales (m = 1 / n): windows {1,5,7,-2} = 11/4 -> 3,
   * {-3,9} = 6/2 -> 3, {4,0} = 4/2 -> 2, {-8} -> -8. */
  int32_t mult[4], shift[4];
  for (int n = 1; n <= 4; n++)
    ck_assert (q8__quantize_multiplier_r (1.0 / n, &mult[n - 1],
                                          &shift[n - 1]));
  p.n_min = 1;
  p.mult = mult;
  p.shift = shift;
  k->avgpool (&p, in, out, 0, 2);
  ck_assert_mem_eq (out, ((int8_t[]) { 3, 3, 2, -8 }), 4);
  /* 3x3 stride 1 pad 1 at the corner of the same input, counting the
   * padding: (1 + 5 + 7 - 2) / 9 = 11/9 -> 1; without it 11/4 -> 3. */
  int32_t m9[9], s9[9];
  for (int n = 1; n <= 9; n++)
    ck_assert (q8__quantize_multiplier_r (1.0 / n, &m9[n - 1], &s9[n - 1]));
  p = (q8_pool_params) { .in_h = 3, .in_w = 3, .c = 1, .out_h = 3,
                         .out_w = 3, .kh = 3, .kw = 3, .stride_h = 1,
                         .stride_w = 1, .pad_top = 1, .pad_left = 1,
                         .pad_bottom = 1, .pad_right = 1, .n_min = 1,
                         .mult = m9, .shift = s9 };
  int8_t o9[9];
  k->avgpool (&p, in, o9, 0, 3);
  ck_assert_int_eq (o9[0], 3);
  p.count_include_pad = 1;
  k->avgpool (&p, in, o9, 0, 3);
  ck_assert_int_eq (o9[0], 1);
  /* Centre: sum 13 / 9 -> 1 either way. */
  ck_assert_int_eq (o9[4], 1);
}
END_TEST

START_TEST (test_pool_random)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 1);
  for (int it = 0; it < 400; it++) {
    pool_case t;
    t.kh = q8_rng_int (&rng, 1, 4);
    t.kw = q8_rng_int (&rng, 1, 4);
    t.sh = q8_rng_int (&rng, 1, 3);
    t.sw = q8_rng_int (&rng, 1, 3);
    t.pt = q8_rng_int (&rng, 0, t.kh - 1);
    t.pb = q8_rng_int (&rng, 0, t.kh - 1);
    t.pl = q8_rng_int (&rng, 0, t.kw - 1);
    t.pr = q8_rng_int (&rng, 0, t.kw - 1);
    t.h = q8_rng_int (&rng, t.kh, 9);
    t.w = q8_rng_int (&rng, t.kw, 9);
    /* Up to 70 channels: SIMD max pooling's 32-lane chunks and tails. */
    t.c = q8_rng_int (&rng, 1, it % 2 ? 70 : 19);
    t.cip = q8_rng_int (&rng, 0, 1);
    t.ceil = q8_rng_int (&rng, 0, 1);
    int oh = torch_out (t.h, t.kh, t.sh, t.pt, t.pb, t.ceil);
    int ow = torch_out (t.w, t.kw, t.sw, t.pl, t.pr, t.ceil);
    size_t isz = (size_t) t.h * t.w * t.c, osz = (size_t) oh * ow * t.c;
    int8_t *in = malloc (isz + Q8_EXTRA_BYTES), *mx = malloc (osz);
    int8_t *av = malloc (osz);
    q8_rng_fill_s8 (&rng, in, isz, -128, 127);
    double sx = q8_rng_float (&rng, 0.01f, 0.1f);
    double sy = sx * q8_rng_float (&rng, 0.3f, 2.0f);
    int32_t zx = q8_rng_int (&rng, -128, 127), zy = q8_rng_int (&rng, -128, 127);
    int32_t mult[16], shift[16];
    for (int n = 1; n <= t.kh * t.kw; n++)
      ck_assert (q8__quantize_multiplier_r (sx / (sy * n), &mult[n - 1],
                                            &shift[n - 1]));
    q8_pool_params p = { t.h, t.w, t.c, oh, ow, t.kh, t.kw, t.sh, t.sw,
                         t.pt, t.pl, t.pb, t.pr, t.cip, zx, zy, 1, mult,
                         shift };
    int split = q8_rng_int (&rng, 0, oh);
    k->maxpool (&p, in, mx, 0, split);
    k->maxpool (&p, in, mx, split, oh);
    k->avgpool (&p, in, av, 0, split);
    k->avgpool (&p, in, av, split, oh);
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int c = 0; c < t.c; c++) {
          int best = -1000, n = 0, npad = 0;
          int64_t sum = 0;
          for (int ky = 0; ky < t.kh; ky++)
            for (int kx = 0; kx < t.kw; kx++) {
              int iy = oy * t.sh - t.pt + ky, ix = ox * t.sw - t.pl + kx;
              if (iy < t.h + t.pb && ix < t.w + t.pr)
                npad++;
              if (iy < 0 || ix < 0 || iy >= t.h || ix >= t.w)
                continue;
              int v = in[((size_t) iy * t.w + ix) * t.c + c];
              best = v > best ? v : best;
              sum += v - zx;
              n++;
            }
          ck_assert_msg (n > 0, "empty window");
          size_t at = ((size_t) oy * ow + ox) * t.c + c;
          ck_assert_int_eq (mx[at], best);
          int d = t.cip ? npad : n;
          /* Rule R in exact integers, and within one step of the real
           * mean. */
          int32_t want = clamp8 (zy + ref_round_shift (sum * mult[d - 1],
                                                       shift[d - 1]),
                                 -128, 127);
          ck_assert_msg (av[at] == want, "it %d (%d,%d,%d): %d want %d", it,
                         oy, ox, c, av[at], want);
          double real = fmin (fmax (sx * (double) sum / d / sy + zy, -128),
                              127);
          ck_assert (fabs (av[at] - real) <= 1.0);
        }
    free (in);
    free (mx);
    free (av);
  }
}
END_TEST

/* ---- RESIZE -------------------------------------------------------------- */

/* The plan-time column table of a bilinear resize (the op fills it the
 * same way); outputs are checked against hand values and float math, so
 * the table is checked with them. */
static int32_t cols[3][4 * 64];

static void
fill_cols (q8_resize_params *p)
{
  for (int ox = 0; ox < p->in_w * p->fw; ox++)
    q8_resize_taps (ox, p->fw, p->in_w, p->coord, &cols[0][ox], &cols[1][ox],
                    &cols[2][ox]);
  p->col0 = cols[0];
  p->col1 = cols[1];
  p->colw = cols[2];
}

START_TEST (test_resize_hand)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  int32_t mult, shift;
  /* Unit scales, x2: PyTorch's interpolate (align_corners=False) of
   * [0, 40] is [0, 10, 30, 40]; asymmetric gives [0, 20, 40, 40]. */
  int8_t in[2] = { 0, 40 }, out[4 * 2 + 8];
  q8_resize_params p = { 1, 2, 1, 1, 2, Q8_RESIZE_BILINEAR,
                         Q8_RESIZE_HALF_PIXEL, 0, 0, 0, 0, 0, 0, 0 };
  /* fh = 1: D_h = 2 and the vertical weights are 2 and 0. */
  ck_assert (q8__quantize_multiplier_r (1.0 / 8, &mult, &shift));
  p.mult = mult;
  p.shift = shift;
  fill_cols (&p);
  k->resize (&p, in, out, 0, 1);
  ck_assert_mem_eq (out, ((int8_t[]) { 0, 10, 30, 40 }), 4);
  p.coord = Q8_RESIZE_ASYMMETRIC;
  fill_cols (&p);
  k->resize (&p, in, out, 0, 1);
  ck_assert_mem_eq (out, ((int8_t[]) { 0, 20, 40, 40 }), 4);
  /* Nearest x3 over 2 channels. */
  int8_t in2[4] = { 1, 2, 3, 4 }, o2[12];
  p = (q8_resize_params) { 1, 2, 2, 1, 3, Q8_RESIZE_NEAREST, 0, 0, 0, 0, 0,
                           0, 0, 0 };
  k->resize (&p, in2, o2, 0, 1);
  ck_assert_mem_eq (o2, ((int8_t[]) { 1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4 }),
                    12);
}
END_TEST

/* Float bilinear in real coordinates (ONNX Resize's definition). */
static double
ref_axis (int o, int f, int in, int coord, int *i0, int *i1)
{
  double s = coord == Q8_RESIZE_HALF_PIXEL ? (o + 0.5) / f - 0.5
                                           : (double) o / f;
  if (s < 0)
    s = 0;
  *i0 = (int) floor (s);
  if (*i0 > in - 1)
    *i0 = in - 1;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
  return s - *i0;
}

START_TEST (test_resize_random)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 2);
  for (int it = 0; it < 300; it++) {
    int h = q8_rng_int (&rng, 1, 7), w = q8_rng_int (&rng, 1, 7);
    int c = q8_rng_int (&rng, 1, 17);
    int fh = q8_rng_int (&rng, 1, 4), fw = q8_rng_int (&rng, 1, 4);
    int mode = q8_rng_int (&rng, 0, 1), coord = q8_rng_int (&rng, 0, 1);
    double sx = q8_rng_float (&rng, 0.01f, 0.1f);
    double sy = sx * (mode ? q8_rng_float (&rng, 0.5f, 1.5f) : 1.0f);
    int32_t zx = q8_rng_int (&rng, -128, 127);
    int32_t zy = mode ? q8_rng_int (&rng, -128, 127) : zx;
    q8_resize_params p = { h, w, c, fh, fw, mode, mode ? coord : 0, zx, zy,
                           0, 0, 0, 0, 0 };
    fill_cols (&p);
    if (mode)
      ck_assert (q8__quantize_multiplier_r (sx / (sy * 4 * fh * fw), &p.mult,
                                            &p.shift));
    size_t isz = (size_t) h * w * c, osz = isz * fh * fw;
    int8_t *in = malloc (isz + Q8_EXTRA_BYTES), *out = malloc (osz);
    q8_rng_fill_s8 (&rng, in, isz, -128, 127);
    int split = q8_rng_int (&rng, 0, h * fh);
    k->resize (&p, in, out, 0, split);
    k->resize (&p, in, out, split, h * fh);
    for (int oy = 0; oy < h * fh; oy++)
      for (int ox = 0; ox < w * fw; ox++)
        for (int ch = 0; ch < c; ch++) {
          int8_t got = out[((size_t) oy * w * fw + ox) * c + ch];
          if (!mode) {
            ck_assert_int_eq (got, in[((size_t) (oy / fh) * w + ox / fw) * c
                                      + ch]);
            continue;
          }
          int ya, yb, xa, xb;
          double wy = ref_axis (oy, fh, h, coord, &ya, &yb);
          double wx = ref_axis (ox, fw, w, coord, &xa, &xb);
#define X(yy, xx) ((double) in[((size_t) (yy) * w + (xx)) * c + ch] - zx)
          double v = (1 - wy) * ((1 - wx) * X (ya, xa) + wx * X (ya, xb))
                     + wy * ((1 - wx) * X (yb, xa) + wx * X (yb, xb));
#undef X
          double q = fmin (fmax (sx * v / sy + zy, -128), 127);
          /* The weights are exact in binary; only the requantization
           * rounds. */
          ck_assert_msg (fabs (got - q) <= 0.5 + 1e-6,
                         "it %d (%d,%d,%d): %d vs %f", it, oy, ox, ch, got, q);
        }
    free (in);
    free (out);
  }
}
END_TEST

/* Every path equals the scalar reference bit for bit, including rows wide
 * enough for SIMD bodies and tails, one channel (the SIMD case) and
 * multipliers far outside what a sane model has (saturation). */
START_TEST (test_resize_exact)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed () + 3);
  static int32_t tab[3][64 * 16];
  for (int it = 0; it < 400; it++) {
    int h = q8_rng_int (&rng, 1, 6), w = q8_rng_int (&rng, 1, 64);
    int c = q8_rng_int (&rng, 0, 3) ? 1 : q8_rng_int (&rng, 2, 5);
    int fh = q8_rng_int (&rng, 1, 16), fw = q8_rng_int (&rng, 1, 16);
    q8_resize_params p = { h, w, c, fh, fw, Q8_RESIZE_BILINEAR,
                           q8_rng_int (&rng, 0, 1),
                           q8_rng_int (&rng, -128, 127),
                           q8_rng_int (&rng, -128, 127), 0, 0, 0, 0, 0 };
    double m = ldexp (q8_rng_float (&rng, 0.5f, 1.0f),
                      it % 5 == 0 ? q8_rng_int (&rng, 0, 29)
                                  : q8_rng_int (&rng, -14, -4));
    ck_assert (q8__quantize_multiplier_r (m, &p.mult, &p.shift));
    for (int ox = 0; ox < w * fw; ox++)
      q8_resize_taps (ox, fw, w, p.coord, &tab[0][ox], &tab[1][ox],
                      &tab[2][ox]);
    p.col0 = tab[0];
    p.col1 = tab[1];
    p.colw = tab[2];
    size_t isz = (size_t) h * w * c, osz = isz * fh * fw;
    int8_t *in = malloc (isz + Q8_EXTRA_BYTES), *a = malloc (osz);
    int8_t *b = malloc (osz);
    q8_rng_fill_s8 (&rng, in, isz + Q8_EXTRA_BYTES, -128, 127);
    int split = q8_rng_int (&rng, 0, h * fh);
    k->resize (&p, in, a, 0, split);
    k->resize (&p, in, a, split, h * fh);
    q8_s8_resize__scalar (&p, in, b, 0, h * fh);
    ck_assert_msg (memcmp (a, b, osz) == 0, "it %d: %dx%dx%d x%dx%d m %g", it,
                   w, h, c, fw, fh, m);
    free (in);
    free (a);
    free (b);
  }
}
END_TEST

/* ---- the ops through builder, loader and plan ---------------------------- */

typedef struct {
  int n_in;
  int32_t in_c[4];
  float in_scale[4];
  int32_t in_zp[4];
  int32_t out_c;
  float out_scale;
  int32_t out_zp;
} io_spec;

/* A model of one op with S8 graph inputs and output; NULL with msg set if
 * building (which validates by loading) fails. */
static q8_model *
one_op (q8_op_type type, const io_spec *s, const int32_t *params,
        char *msg, size_t msg_size)
{
  q8_builder *b = q8_builder_new ();
  uint32_t ins[4];
  for (int i = 0; i < s->n_in; i++) {
    char name[8] = { 'x', (char) ('0' + i), 0 };
    ins[i] = (uint32_t) q8_builder_add_activation (b, name, Q8_DTYPE_S8,
                                                   s->in_c[i], s->in_scale[i],
                                                   s->in_zp[i]);
    q8_builder_add_input (b, ins[i]);
  }
  uint32_t out = (uint32_t) q8_builder_add_activation (b, "y", Q8_DTYPE_S8,
                                                       s->out_c, s->out_scale,
                                                       s->out_zp);
  q8_builder_add_output (b, out);
  q8_model *m = NULL;
  if (q8_builder_add_op (b, type, s->n_in, ins, 1, &out, params,
                         Q8_MAX_OP_PARAMS) < 0) {
    snprintf (msg, msg_size, "add_op failed");
  } else {
    void *data;
    size_t size;
    if (q8_builder_write (b, &data, &size, msg, msg_size) == Q8_OK) {
      ck_assert_int_eq (q8_model_load_buffer (data, size, &m, msg, msg_size),
                        Q8_OK);
      free (data);
    }
  }
  q8_builder_free (b);
  return m;
}

/* Runs model m at w x h with inputs filled from rng, on `threads` threads;
 * returns the output (malloc'ed) and its shape. */
static int8_t *
run_model (const q8_model *m, int w, int h, int threads, uint64_t seed,
           q8_tensor_info *oi)
{
  q8_plan *p;
  char msg[256];
  ck_assert_msg (q8_plan_create (m, w, h, threads, &p, msg, sizeof msg)
                 == Q8_OK, "%s", msg);
  q8_rng rng;
  q8_rng_seed (&rng, seed);
  for (size_t i = 0; i < q8_model_num_inputs (m); i++) {
    q8_tensor_info ii;
    q8_plan_input_info (p, i, &ii);
    q8_rng_fill_s8 (&rng, q8_plan_input (p, i), (size_t) ii.h * ii.w * ii.c,
                    -128, 127);
  }
  ck_assert_int_eq (q8_run (p), Q8_OK);
  q8_plan_output_info (p, 0, oi);
  size_t n = (size_t) oi->h * oi->w * oi->c;
  int8_t *y = malloc (n);
  memcpy (y, q8_plan_output (p, 0), n);
  q8_plan_free (p);
  return y;
}

START_TEST (test_op_pool_shapes)
{
  /* MaxPool2d(2, stride 2, padding 1, ceil_mode=True) in PyTorch: 6 ->
   * ceil(6/2) + 1 = 4; 5 -> 4 windows, but the last would start in the
   * bottom padding, so 3.  Floor mode: 6 -> 4, 7 -> 4. */
  int32_t pr[Q8_MAX_OP_PARAMS] = { 0 };
  pr[Q8_POOL_KH] = pr[Q8_POOL_KW] = 2;
  pr[Q8_POOL_STRIDE_H] = pr[Q8_POOL_STRIDE_W] = 2;
  pr[Q8_POOL_PAD_TOP] = pr[Q8_POOL_PAD_LEFT] = 1;
  pr[Q8_POOL_PAD_BOTTOM] = pr[Q8_POOL_PAD_RIGHT] = 1;
  pr[Q8_POOL_CEIL_MODE] = 1;
  io_spec s = { 1, { 5 }, { 0.05f }, { 7 }, 5, 0.05f, 7 };
  char msg[256];
  q8_model *m = one_op (Q8_OP_MAXPOOL, &s, pr, msg, sizeof msg);
  ck_assert_msg (m != NULL, "%s", msg);
  q8_tensor_info oi;
  free (run_model (m, 6, 6, 1, 1, &oi));
  ck_assert_int_eq (oi.h, 4);
  ck_assert_int_eq (oi.w, 4);
  free (run_model (m, 5, 6, 1, 1, &oi));
  ck_assert_int_eq (oi.w, 3);
  q8_model_free (m);
  pr[Q8_POOL_CEIL_MODE] = 0;
  m = one_op (Q8_OP_MAXPOOL, &s, pr, msg, sizeof msg);
  free (run_model (m, 7, 6, 1, 1, &oi));
  ck_assert_int_eq (oi.h, 4);
  ck_assert_int_eq (oi.w, 4);
  q8_model_free (m);

  /* Global average: 1x1, the mean of every pixel (unit scales; 16 pixels,
   * so the multiplier 1/16 is exact and halves round up). */
  memset (pr, 0, sizeof pr);
  pr[Q8_POOL_GLOBAL] = 1;
  s = (io_spec) { 1, { 3 }, { 1.0f }, { 0 }, 3, 1.0f, 0 };
  m = one_op (Q8_OP_AVGPOOL, &s, pr, msg, sizeof msg);
  ck_assert_msg (m != NULL, "%s", msg);
  q8_plan *p;
  ck_assert_int_eq (q8_plan_create (m, 4, 4, 1, &p, msg, sizeof msg), Q8_OK);
  int8_t *x = q8_plan_input (p, 0);
  int64_t sum[3] = { 0, 0, 0 };
  for (int i = 0; i < 16 * 3; i++) {
    x[i] = (int8_t) ((i * 37) % 200 - 100);
    sum[i % 3] += x[i];
  }
  ck_assert_int_eq (q8_run (p), Q8_OK);
  q8_plan_output_info (p, 0, &oi);
  ck_assert (oi.h == 1 && oi.w == 1 && oi.c == 3);
  const int8_t *y = q8_plan_output (p, 0);
  for (int c = 0; c < 3; c++)
    ck_assert_int_eq (y[c], (int) floor ((double) sum[c] / 16 + 0.5));
  q8_plan_free (p);
  q8_model_free (m);
}
END_TEST

/* Every op gives the same output on 1 and 3 threads, and at a second size
 * after re-planning. */
START_TEST (test_op_threads)
{
  int32_t pool[Q8_MAX_OP_PARAMS] = { 0 }, rs[Q8_MAX_OP_PARAMS] = { 0 };
  int32_t add[Q8_MAX_OP_PARAMS] = { 0 }, none[Q8_MAX_OP_PARAMS] = { 0 };
  pool[Q8_POOL_KH] = pool[Q8_POOL_KW] = 2;
  pool[Q8_POOL_STRIDE_H] = pool[Q8_POOL_STRIDE_W] = 2;
  pool[Q8_POOL_CEIL_MODE] = 1;
  rs[Q8_RESIZE_FACTOR_H] = 2;
  rs[Q8_RESIZE_FACTOR_W] = 3;
  rs[Q8_RESIZE_MODE] = Q8_RESIZE_BILINEAR;
  add[Q8_ADD_ACT_MIN] = -128;
  add[Q8_ADD_ACT_MAX] = 127;
  io_spec one = { 1, { 6 }, { 0.05f }, { 4 }, 6, 0.04f, -3 };
  io_spec two = { 2, { 6, 6 }, { 0.05f, 0.02f }, { 4, -9 }, 6, 0.06f, 1 };
  io_spec cat = { 3, { 2, 5, 1 }, { 0.05f, 0.02f, 0.06f }, { 4, -9, 1 }, 8,
                  0.06f, 1 };
  struct { q8_op_type t; const io_spec *s; const int32_t *p; } cases[] = {
    { Q8_OP_AVGPOOL, &one, pool }, { Q8_OP_RESIZE, &one, rs },
    { Q8_OP_ADD, &two, add }, { Q8_OP_CONCAT, &cat, none },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char msg[256];
    q8_model *m = one_op (cases[i].t, cases[i].s, cases[i].p, msg, sizeof msg);
    ck_assert_msg (m != NULL, "%s", msg);
    int sizes[2][2] = { { 37, 23 }, { 8, 41 } };
    for (int k = 0; k < 2; k++) {
      q8_tensor_info o1, o3;
      int8_t *a = run_model (m, sizes[k][0], sizes[k][1], 1, 5, &o1);
      int8_t *b = run_model (m, sizes[k][0], sizes[k][1], 3, 5, &o3);
      ck_assert (o1.h == o3.h && o1.w == o3.w && o1.c == o3.c);
      ck_assert_mem_eq (a, b, (size_t) o1.h * o1.w * o1.c);
      free (a);
      free (b);
    }
    q8_model_free (m);
  }
}
END_TEST

/* CONCAT: the slices in order, each rescaled (equal quantization copies). */
START_TEST (test_op_concat)
{
  io_spec s = { 2, { 3, 2 }, { 0.1f, 0.05f }, { 5, -10 }, 5, 0.1f, 5 };
  int32_t pr[Q8_MAX_OP_PARAMS] = { 0 };
  char msg[256];
  q8_model *m = one_op (Q8_OP_CONCAT, &s, pr, msg, sizeof msg);
  ck_assert_msg (m != NULL, "%s", msg);
  q8_plan *p;
  ck_assert_int_eq (q8_plan_create (m, 3, 2, 1, &p, msg, sizeof msg), Q8_OK);
  int8_t *a = q8_plan_input (p, 0), *b = q8_plan_input (p, 1);
  for (int i = 0; i < 6 * 3; i++)
    a[i] = (int8_t) (i * 13 - 100);
  for (int i = 0; i < 6 * 2; i++)
    b[i] = (int8_t) (i * 21 - 128);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  const int8_t *y = q8_plan_output (p, 0);
  for (int px = 0; px < 6; px++) {
    for (int c = 0; c < 3; c++)
      ck_assert_int_eq (y[px * 5 + c], a[px * 3 + c]);
    for (int c = 0; c < 2; c++) {
      /* real = 0.05 (b + 10); q = real / 0.1 + 5 = (b + 10) / 2 + 5,
       * halves up. */
      int d = b[px * 2 + c] + 10;
      int want = (int) floor (d / 2.0 + 0.5) + 5;
      ck_assert_int_eq (y[px * 5 + 3 + c], clamp8 (want, -128, 127));
    }
  }
  q8_plan_free (p);
  q8_model_free (m);
}
END_TEST

/* Parameters the loader must refuse, each with a message that names the
 * problem. */
START_TEST (test_op_refused)
{
  char msg[256];
  int32_t pr[Q8_MAX_OP_PARAMS];
  io_spec one = { 1, { 4 }, { 0.05f }, { 0 }, 4, 0.05f, 0 };
  struct { q8_op_type t; int slot, value; const char *needle; } bad[] = {
    { Q8_OP_MAXPOOL, Q8_POOL_PAD_TOP, 2, "padding" },
    { Q8_OP_MAXPOOL, Q8_POOL_STRIDE_H, 0, "stride" },
    { Q8_OP_MAXPOOL, Q8_POOL_COUNT_INCLUDE_PAD, 1, "count_include_pad" },
    { Q8_OP_AVGPOOL, Q8_POOL_KH, 1000, "kernel" },
    { Q8_OP_AVGPOOL, Q8_POOL_CEIL_MODE, 2, "ceil_mode" },
    { Q8_OP_RESIZE, Q8_RESIZE_FACTOR_H, 0, "factors" },
    { Q8_OP_RESIZE, Q8_RESIZE_FACTOR_W, 17, "factors" },
    { Q8_OP_RESIZE, Q8_RESIZE_MODE, 2, "mode" },
    { Q8_OP_RESIZE, 7, 1, "parameter 7" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset (pr, 0, sizeof pr);
    if (bad[i].t == Q8_OP_RESIZE) {
      pr[Q8_RESIZE_FACTOR_H] = pr[Q8_RESIZE_FACTOR_W] = 2;
    } else {
      pr[Q8_POOL_KH] = pr[Q8_POOL_KW] = 2;
      pr[Q8_POOL_STRIDE_H] = pr[Q8_POOL_STRIDE_W] = 2;
    }
    pr[bad[i].slot] = bad[i].value;
    msg[0] = 0;
    q8_model *m = one_op (bad[i].t, &one, pr, msg, sizeof msg);
    ck_assert_msg (m == NULL, "case %zu accepted", i);
    ck_assert_msg (strstr (msg, bad[i].needle), "case %zu: %s", i, msg);
  }
  /* Channel counts that do not add up. */
  memset (pr, 0, sizeof pr);
  io_spec cat = { 2, { 3, 2 }, { 0.1f, 0.1f }, { 0, 0 }, 6, 0.1f, 0 };
  ck_assert (one_op (Q8_OP_CONCAT, &cat, pr, msg, sizeof msg) == NULL);
  ck_assert_msg (strstr (msg, "channels"), "%s", msg);
  pr[Q8_ADD_ACT_MIN] = -128;
  pr[Q8_ADD_ACT_MAX] = 127;
  io_spec add = { 2, { 3, 2 }, { 0.1f, 0.1f }, { 0, 0 }, 3, 0.1f, 0 };
  ck_assert (one_op (Q8_OP_ADD, &add, pr, msg, sizeof msg) == NULL);
  ck_assert_msg (strstr (msg, "channels"), "%s", msg);
  /* Nearest resize and maxpool cannot change the quantization. */
  io_spec req = { 1, { 4 }, { 0.05f }, { 0 }, 4, 0.1f, 0 };
  memset (pr, 0, sizeof pr);
  pr[Q8_RESIZE_FACTOR_H] = pr[Q8_RESIZE_FACTOR_W] = 2;
  ck_assert (one_op (Q8_OP_RESIZE, &req, pr, msg, sizeof msg) == NULL);
  ck_assert_msg (strstr (msg, "quantization"), "%s", msg);
  /* A pool window larger than a 1-pixel input at plan time. */
  memset (pr, 0, sizeof pr);
  pr[Q8_POOL_KH] = pr[Q8_POOL_KW] = 3;
  pr[Q8_POOL_STRIDE_H] = pr[Q8_POOL_STRIDE_W] = 1;
  q8_model *m = one_op (Q8_OP_MAXPOOL, &one, pr, msg, sizeof msg);
  ck_assert_msg (m != NULL, "%s", msg);
  q8_plan *p = NULL;
  ck_assert_int_eq (q8_plan_create (m, 2, 2, 1, &p, msg, sizeof msg),
                    Q8_ESHAPE);
  ck_assert_msg (strstr (msg, "smaller than"), "%s", msg);
  q8_model_free (m);
}
END_TEST

/* ---- l2nn: nearest neighbour by squared distance --------------------------- */

/* One query from "no neighbour yet". */
static uint32_t
nn1 (const q8_kernel_table *k, size_t n, size_t c, const uint8_t *x,
     const uint8_t *bank)
{
  uint32_t best = UINT32_MAX;
  k->l2nn (n, c, 1, &x, bank, &best);
  return best;
}

START_TEST (test_l2nn_hand)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  /* 3 rows of 5; x = (0, 2, 1, 1, 4).  Row 0 = (1, 1, 1, 1, 1): 1 + 1 +
   * 0 + 0 + 9 = 11; row 1 = x but the last byte + 2: 4; row 2 = 255s:
   * far.  The nearest is row 1, 4. */
  const uint8_t x[5] = { 0, 2, 1, 1, 4 };
  const uint8_t bank[15] = { 1, 1, 1, 1, 1, 0, 2, 1, 1, 6,
                             255, 255, 255, 255, 255 };
  ck_assert_uint_eq (nn1 (k, 3, 5, x, bank), 4);
  ck_assert_uint_eq (nn1 (k, 1, 5, x, bank), 11);
  ck_assert_uint_eq (nn1 (k, 1, 5, x, bank + 10),
                     255u * 255 + 253u * 253 + 254u * 254 * 2 + 251u * 251);
  ck_assert_uint_eq (nn1 (k, 0, 5, x, bank), UINT32_MAX);
  /* An earlier, nearer result stands. */
  uint32_t best = 3;
  const uint8_t *xp = x;
  k->l2nn (3, 5, 1, &xp, bank, &best);
  ck_assert_uint_eq (best, 3);
  /* The largest sum the contract allows: Q8_L2NN_MAX_C bytes 0 vs 255. */
  static uint8_t zeros[Q8_L2NN_MAX_C], full[Q8_L2NN_MAX_C];
  memset (full, 255, sizeof full);
  ck_assert_uint_eq (nn1 (k, 1, Q8_L2NN_MAX_C, zeros, full),
                     (uint32_t) Q8_L2NN_MAX_C * 255u * 255u);
  /* Two such queries at once, and two of 5000 bytes (more than the x86
   * kernels hold widened at once, so they take them in turns). */
  const uint8_t *two[2] = { zeros, full };
  for (size_t c = 5000; c <= Q8_L2NN_MAX_C; c += Q8_L2NN_MAX_C - 5000) {
    uint32_t b2[2] = { UINT32_MAX, UINT32_MAX };
    k->l2nn (1, c, 2, two, full, b2);
    ck_assert_uint_eq (b2[0], (uint32_t) c * 255u * 255u);
    ck_assert_uint_eq (b2[1], 0);
  }
}
END_TEST

START_TEST (test_l2nn_random)
{
  const q8_kernel_table *k = q8__kernels_for ((q8_isa) _i);
  if (k == NULL)
    return;
  q8_rng r;
  q8_rng_seed (&r, 77 + (uint64_t) _i);
  static uint8_t xs[11 * 300], bank[13 * 300];
  const uint8_t *x[11];
  uint32_t best[11], want[11];
  /* Channel counts around the vector widths and odd ones; 1..13 rows and
   * 1..11 queries (the kernels' blocks and their remainders); values near
   * the ends and near the first query, so that the nearest row varies;
   * starting bests above and below the answer. */
  for (int iter = 0; iter < 400; iter++) {
    size_t c = (size_t) q8_rng_int (&r, 1, 300);
    size_t n = (size_t) q8_rng_int (&r, 1, 13);
    size_t m = (size_t) q8_rng_int (&r, 1, 11);
    for (size_t j = 0; j < m; j++) {
      x[j] = xs + j * c;
      for (size_t t = 0; t < c; t++)
        xs[j * c + t] = j == 0 ? (uint8_t) q8_rng_int (&r, 0, 255)
                               : (uint8_t) (xs[t] + q8_rng_int (&r, -9, 9));
    }
    for (size_t i = 0; i < n; i++)
      for (size_t t = 0; t < c; t++)
        bank[i * c + t] = iter % 3 == 0
                              ? (uint8_t) (q8_rng_int (&r, 0, 1) * 255)
                              : (uint8_t) (xs[t] + q8_rng_int (&r, -20, 20));
    for (size_t j = 0; j < m; j++) {
      uint64_t nearest = UINT64_MAX;
      for (size_t i = 0; i < n; i++) {
        uint64_t d = 0;
        for (size_t t = 0; t < c; t++) {
          int64_t e = (int64_t) x[j][t] - bank[i * c + t];
          d += (uint64_t) (e * e);
        }
        nearest = d < nearest ? d : nearest;
      }
      best[j] = q8_rng_int (&r, 0, 3) == 0 ? (uint32_t) q8_rng_int (&r, 0, 5000)
                                           : UINT32_MAX;
      want[j] = nearest < best[j] ? (uint32_t) nearest : best[j];
    }
    k->l2nn (n, c, m, x, bank, best);
    for (size_t j = 0; j < m; j++)
      ck_assert_msg (best[j] == want[j],
                     "%s: n %zu c %zu m %zu query %zu: %u, reference %u",
                     q8_isa_name ((q8_isa) _i), n, c, m, j, best[j],
                     want[j]);
  }
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("ops");
  TCase *tc = tcase_create ("kernels");
  tcase_add_loop_test (tc, test_add_hand, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_add_random, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_pool_hand, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_pool_random, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_resize_hand, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_resize_random, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_resize_exact, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_l2nn_hand, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_l2nn_random, 0, Q8_ISA_COUNT);
  suite_add_tcase (s, tc);
  tc = tcase_create ("ops");
  tcase_add_test (tc, test_op_pool_shapes);
  tcase_add_test (tc, test_op_threads);
  tcase_add_test (tc, test_op_concat);
  tcase_add_test (tc, test_op_refused);
  suite_add_tcase (s, tc);
  return s;
}
