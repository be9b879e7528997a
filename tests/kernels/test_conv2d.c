/* test_conv2d.c - the int8 convolution: the scalar reference kernel against
 * hand-computed cases, against a second implementation written differently
 * (explicitly padded input, int64 sums, exact rational rounding) and
 * against float math; every ISA path against the scalar kernel, memcmp-
 * exact; and the CONV2D op through the builder, loader and planner
 * (validation messages, a plan's output, the description).
 *
 * Random cases are reproducible from the seed printed with any failure
 * ($Q8_TEST_SEED overrides it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"
#include "q8_test.h"

/* Output bytes past the end are checked against this canary. */
#define GUARD 64
#define CANARY 0x5a

/* m = 1: M = 2^30, r = 30 (ARITHMETIC.md, rule R). */
#define M_ONE (1 << 30)

/* ---- a convolution case ------------------------------------------------- */

typedef struct {
  q8_conv_params p;
  int32_t pad_bottom, pad_right;
  int8_t *x;        /* in_h * in_w * in_c, plus Q8_EXTRA_BYTES readable */
  int8_t *w;        /* OHWI */
  int32_t *bias;    /* NULL: no bias */
  int32_t *mult, *shift;
  int8_t lut[256];
  /* Real scales the multipliers came from (float reference). */
  double x_scale, y_scale, *w_scale;
} conv_case;

static int32_t
icg_of (const q8_conv_params *p)
{
  return p->in_c / p->groups;
}

static size_t
out_bytes (const q8_conv_params *p)
{
  return (size_t) p->out_h * p->out_w * p->out_c;
}

static size_t
w_count (const q8_conv_params *p)
{
  return (size_t) p->out_c * p->kh * p->kw * icg_of (p);
}

/* OH per ARITHMETIC.md; 0 when the kernel does not fit. */
static int32_t
out_dim (int32_t n, int32_t pad0, int32_t pad1, int32_t k, int32_t dil,
         int32_t stride)
{
  int32_t span = n + pad0 + pad1 - dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

/* Sets the geometry-dependent output size after changing padding etc. */
static void
hand_resize (conv_case *c)
{
  q8_conv_params *p = &c->p;
  p->out_h = out_dim (p->in_h, p->pad_top, c->pad_bottom, p->kh,
                      p->dilation_h, p->stride_h);
  p->out_w = out_dim (p->in_w, p->pad_left, c->pad_right, p->kw,
                      p->dilation_w, p->stride_w);
}

static void
describe_case (const conv_case *c, char *buf, size_t size)
{
  const q8_conv_params *p = &c->p;
  snprintf (buf, size,
            "in %dx%dx%d out %dx%dx%d k %dx%d s %d,%d d %d,%d pad t%d l%d "
            "b%d r%d g %d zp %d/%d act [%d,%d] bias %s lut %s",
            p->in_h, p->in_w, p->in_c, p->out_h, p->out_w, p->out_c, p->kh,
            p->kw, p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
            p->pad_top, p->pad_left, c->pad_bottom, c->pad_right, p->groups,
            p->in_zp, p->out_zp, p->act_min, p->act_max,
            c->bias ? "yes" : "no", p->lut ? "yes" : "no");
}

static void
case_free (conv_case *c)
{
  free (c->x);
  free (c->w);
  free (c->bias);
  free (c->mult);
  free (c->shift);
  free (c->w_scale);
  memset (c, 0, sizeof *c);
}

/* Allocates a case's buffers for the geometry already in c->p. */
static void
case_alloc (conv_case *c)
{
  const q8_conv_params *p = &c->p;
  size_t nx = (size_t) p->in_h * p->in_w * p->in_c;
  c->x = calloc (nx + Q8_EXTRA_BYTES, 1);
  c->w = calloc (w_count (p) + 1, 1);
  c->mult = calloc ((size_t) p->out_c, sizeof *c->mult);
  c->shift = calloc ((size_t) p->out_c, sizeof *c->shift);
  c->w_scale = calloc ((size_t) p->out_c, sizeof *c->w_scale);
  ck_assert (c->x && c->w && c->mult && c->shift && c->w_scale);
  c->p.mult = c->mult;
  c->p.shift = c->shift;
}

/* A random geometry with at most max_macs multiply-accumulates. */
static void
random_geometry (q8_rng *r, conv_case *c, int64_t max_macs)
{
  static const int32_t kernels[] = { 1, 1, 2, 3, 3, 3, 5, 7 };
  q8_conv_params *p = &c->p;
  for (;;) {
    memset (p, 0, sizeof *p);
    int kind = q8_rng_int (r, 0, 5);
    if (kind <= 2) { /* dense */
      p->groups = 1;
      p->in_c = q8_rng_int (r, 0, 3) ? q8_rng_int (r, 1, 9)
                                     : q8_rng_int (r, 1, 67);
      p->out_c = q8_rng_int (r, 0, 3) ? q8_rng_int (r, 1, 17)
                                      : q8_rng_int (r, 1, 67);
    } else if (kind <= 4) { /* depthwise, multiplier 1..3 */
      p->in_c = q8_rng_int (r, 1, 67);
      p->groups = p->in_c;
      p->out_c = p->in_c * (q8_rng_int (r, 0, 2) ? 1 : q8_rng_int (r, 2, 3));
    } else { /* grouped */
      p->groups = q8_rng_int (r, 2, 5);
      p->in_c = p->groups * q8_rng_int (r, 1, 9);
      p->out_c = p->groups * q8_rng_int (r, 1, 9);
    }
    int square = q8_rng_int (r, 0, 2) != 0;
    p->kh = kernels[q8_rng_int (r, 0, 7)];
    p->kw = square ? p->kh : q8_rng_int (r, 1, 7);
    p->stride_h = q8_rng_int (r, 0, 2) ? 1 : q8_rng_int (r, 2, 3);
    p->stride_w = q8_rng_int (r, 0, 2) ? p->stride_h : q8_rng_int (r, 1, 3);
    p->dilation_h = q8_rng_int (r, 0, 3) ? 1 : 2;
    p->dilation_w = q8_rng_int (r, 0, 3) ? p->dilation_h : 2;
    int32_t eh = p->dilation_h * (p->kh - 1), ew = p->dilation_w * (p->kw - 1);
    p->pad_top = q8_rng_int (r, 0, eh + 1);
    p->pad_left = q8_rng_int (r, 0, ew + 1);
    c->pad_bottom = q8_rng_int (r, 0, 3) ? p->pad_top : q8_rng_int (r, 0,
                                                                     eh + 1);
    c->pad_right = q8_rng_int (r, 0, 3) ? p->pad_left : q8_rng_int (r, 0,
                                                                    ew + 1);
    p->in_h = q8_rng_int (r, 0, 4) ? q8_rng_int (r, 1, 12) : 1;
    p->in_w = q8_rng_int (r, 0, 4) ? q8_rng_int (r, 1, 12) : 1;
    p->out_h = out_dim (p->in_h, p->pad_top, c->pad_bottom, p->kh,
                        p->dilation_h, p->stride_h);
    p->out_w = out_dim (p->in_w, p->pad_left, c->pad_right, p->kw,
                        p->dilation_w, p->stride_w);
    int64_t macs = (int64_t) p->out_h * p->out_w * p->out_c * p->kh * p->kw
                   * icg_of (p);
    if (p->out_h >= 1 && p->out_w >= 1 && macs <= max_macs)
      return;
  }
}

static int32_t
pick_zp (q8_rng *r)
{
  switch (q8_rng_int (r, 0, 5)) {
    case 0:
      return -128;
    case 1:
      return 127;
    case 2:
      return 0;
    default:
      return q8_rng_int (r, -128, 127);
  }
}

/* Fills data, zero points, clamp, table and scales; lut_allowed = 0 keeps
 * the table off (the float comparison needs a monotone output). */
static void
random_data (q8_rng *r, conv_case *c, int lut_allowed)
{
  q8_conv_params *p = &c->p;
  size_t nx = (size_t) p->in_h * p->in_w * p->in_c;
  p->in_zp = pick_zp (r);
  p->out_zp = pick_zp (r);
  switch (q8_rng_int (r, 0, 4)) {
    case 0: /* extremes only: |x - zp| reaches 255 */
      for (size_t i = 0; i < nx; i++)
        c->x[i] = q8_rng_int (r, 0, 1) ? 127 : -128;
      break;
    case 1: /* near the zero point */
      for (size_t i = 0; i < nx; i++) {
        int v = p->in_zp + q8_rng_int (r, -3, 3);
        c->x[i] = (int8_t) (v < -128 ? -128 : v > 127 ? 127 : v);
      }
      break;
    default:
      q8_rng_fill_s8 (r, c->x, nx, -128, 127);
  }
  /* The tail padding holds junk that no kernel may use. */
  q8_rng_fill_s8 (r, c->x + nx, Q8_EXTRA_BYTES, -128, 127);

  size_t per_oc = (size_t) p->kh * p->kw * icg_of (p);
  int wmode = q8_rng_int (r, 0, 4);
  for (size_t i = 0; i < w_count (p); i++) {
    if (wmode == 0)
      c->w[i] = q8_rng_int (r, 0, 1) ? 127 : -127;
    else if (wmode == 1)
      c->w[i] = (int8_t) q8_rng_int (r, -2, 2);
    else
      c->w[i] = (int8_t) q8_rng_int (r, -127, 127);
  }

  /* Scales: aim the typical accumulator (the zero point of x is often
   * far from its mean, so |x - zp| averages ~130) at +-40 output steps,
   * spread by e^+-1.5, so outputs cover the range and sometimes clamp. */
  c->x_scale = 0.002 + 0.1 * q8_rng_float (r, 0, 1);
  double wsum = 0;
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    c->w_scale[oc] = 0.001 + 0.05 * q8_rng_float (r, 0, 1);
    wsum += c->w_scale[oc];
  }
  double typical = sqrt ((double) per_oc) * 130.0
                   * (wmode == 0 ? 127.0 : wmode == 1 ? 1.4 : 73.0);
  double m = 40.0 / typical * exp (q8_rng_float (r, -1.5f, 1.5f));
  c->y_scale = c->x_scale * (wsum / p->out_c) / m;

  int64_t bias_room = INT32_MAX;
  free (c->bias);
  c->bias = NULL;
  if (q8_rng_int (r, 0, 7) != 0) {
    c->bias = calloc ((size_t) p->out_c, sizeof *c->bias);
    ck_assert_ptr_nonnull (c->bias);
  }
  for (int32_t oc = 0; oc < p->out_c; oc++) {
    ck_assert (q8__quantize_multiplier_r (c->x_scale * c->w_scale[oc]
                                              / c->y_scale,
                                          &c->mult[oc], &c->shift[oc]));
    if (c->bias == NULL)
      continue;
    int64_t sum_abs = 0;
    for (size_t i = 0; i < per_oc; i++)
      sum_abs += abs (c->w[oc * per_oc + i]);
    /* The loader's bound: |bias| + 512 * sum|w| <= 2^31 - 1. */
    bias_room = INT32_MAX - 512 * sum_abs;
    ck_assert_int_ge (bias_room, 0);
    /* Mostly on the scale of the sums; sometimes any size up to the
     * bound, sometimes the bound itself. */
    int k = q8_rng_int (r, 0, 15);
    int64_t lim = k < 12 ? (int64_t) (2 * typical)
                         : (int64_t) 1 << q8_rng_int (r, 0, 30);
    if (lim > bias_room)
      lim = bias_room;
    c->bias[oc] = (int32_t) (k == 0   ? bias_room
                             : k == 1 ? -bias_room
                                      : q8_rng_int (r, (int32_t) -lim,
                                                    (int32_t) lim));
  }

  if (q8_rng_int (r, 0, 1)) {
    p->act_min = -128;
    p->act_max = 127;
  } else {
    p->act_min = q8_rng_int (r, -128, 127);
    p->act_max = q8_rng_int (r, p->act_min, 127);
  }
  p->lut = NULL;
  if (lut_allowed && q8_rng_int (r, 0, 3) == 0) {
    q8_rng_fill_s8 (r, c->lut, 256, -128, 127);
    p->lut = c->lut;
  }
}

static void
random_case (q8_rng *r, conv_case *c, int64_t max_macs, int lut_allowed)
{
  memset (c, 0, sizeof *c);
  random_geometry (r, c, max_macs);
  case_alloc (c);
  random_data (r, c, lut_allowed);
}

/* Named sweeps, before the random cases: every channel count 1..67 (the
 * tails of any SIMD width) through a dense 3x3 and a dense 1x1 layer with
 * output channels cycling through block edges, and through depthwise 3x3
 * layers (stride 1 or 2, multiplier 1 or 2).  Data are random. */
#define N_SWEEP (3 * 67)

static void
sweep_case (q8_rng *r, conv_case *c, int n)
{
  static const int32_t ocs[8] = { 1, 4, 7, 16, 17, 32, 33, 67 };
  int32_t ch = n % 67 + 1;
  q8_conv_params *p = &c->p;
  memset (c, 0, sizeof *c);
  p->in_h = 5;
  p->in_w = 6;
  p->in_c = ch;
  p->stride_h = p->stride_w = 1;
  p->dilation_h = p->dilation_w = 1;
  p->groups = 1;
  p->kh = p->kw = 3;
  p->pad_top = p->pad_left = c->pad_bottom = c->pad_right = 1;
  switch (n / 67) {
    case 0: /* dense 3x3 */
      p->out_c = ocs[ch % 8];
      break;
    case 1: /* dense 1x1 */
      p->kh = p->kw = 1;
      p->pad_top = p->pad_left = c->pad_bottom = c->pad_right = 0;
      p->out_c = ocs[(ch + 3) % 8];
      break;
    default: /* depthwise 3x3 */
      p->groups = ch;
      p->out_c = ch % 3 == 0 ? 2 * ch : ch;
      p->stride_h = p->stride_w = 1 + ch % 2;
  }
  hand_resize (c);
  case_alloc (c);
  random_data (r, c, 0);
}

/* Case n of a test: the sweeps, then random cases. */
static void
next_case (q8_rng *r, conv_case *c, int n, int64_t max_macs, int lut_allowed)
{
  if (n < N_SWEEP)
    sweep_case (r, c, n);
  else
    random_case (r, c, max_macs, lut_allowed);
}

/* The size-independent parameters a load-time pack sees. */
static q8_conv_params
load_time_params (const q8_conv_params *p)
{
  q8_conv_params lp = *p;
  lp.in_h = lp.in_w = lp.out_h = lp.out_w = 0;
  lp.lut = NULL;
  return lp;
}

/* Packs with ukernel uk (as the op does at load time) and runs rows
 * [y0, y1) into out. */
static void *
pack_with (const q8_conv_ukernel *uk, const conv_case *c)
{
  q8_conv_params lp = load_time_params (&c->p);
  void *packed = q8__alloc (uk->packed_size (&lp));
  ck_assert_ptr_nonnull (packed);
  uk->pack (&lp, c->w, c->bias, packed);
  return packed;
}

static void
scalar_run (const conv_case *c, int8_t *out, int32_t y0, int32_t y1)
{
  q8_conv_params lp = load_time_params (&c->p);
  void *packed = q8__alloc (q8_s8_conv2d_packed_size__scalar (&lp));
  ck_assert_ptr_nonnull (packed);
  q8_s8_conv2d_pack__scalar (&lp, c->w, c->bias, packed);
  q8_s8_conv2d_requant__scalar (&c->p, packed, c->x, out, y0, y1);
  q8__free (packed);
}

static int8_t *
alloc_out (const conv_case *c)
{
  int8_t *out = malloc (out_bytes (&c->p) + GUARD);
  ck_assert_ptr_nonnull (out);
  memset (out, CANARY, out_bytes (&c->p) + GUARD);
  return out;
}

static void
check_guard (const conv_case *c, const int8_t *out, const char *what,
             uint64_t seed, int n)
{
  for (size_t i = 0; i < GUARD; i++)
    ck_assert_msg ((uint8_t) out[out_bytes (&c->p) + i] == CANARY,
                   "%s: seed %llu case %d wrote %zu bytes past the output",
                   what, (unsigned long long) seed, n, i + 1);
}

/* ---- the independent reference ------------------------------------------ */

/* floor (a / 2^k) by division (not by shifting). */
static int64_t
floor_div_pow2 (int64_t a, int k)
{
  int64_t d = (int64_t) 1 << k;
  int64_t q = a / d;
  if (q * d > a)
    q -= 1;
  return q;
}

/* Builds the input padded with its zero point on every side as one
 * explicit array, then sums each output channel's taps group by group in
 * int64, rounds acc * M / 2^r half up as floor ((acc M + 2^(r-1)) / 2^r)
 * in int64 (exact: |acc| <= 2^31 and M < 2^31 keep |acc M| + 2^61 below
 * 2^63, on 32-bit targets too), clamps and looks up.  acc_out (oh * ow * oc) gets
 * the accumulators for failure messages. */
static void
reference_conv (const conv_case *c, int8_t *out, int64_t *acc_out)
{
  const q8_conv_params *p = &c->p;
  int32_t hp = p->in_h + p->pad_top + c->pad_bottom;
  int32_t wp = p->in_w + p->pad_left + c->pad_right;
  int8_t *xp = malloc ((size_t) hp * wp * p->in_c);
  ck_assert_ptr_nonnull (xp);
  memset (xp, (uint8_t) (int8_t) p->in_zp, (size_t) hp * wp * p->in_c);
  for (int32_t y = 0; y < p->in_h; y++)
    memcpy (xp + ((size_t) (y + p->pad_top) * wp + p->pad_left) * p->in_c,
            c->x + (size_t) y * p->in_w * p->in_c,
            (size_t) p->in_w * p->in_c);

  int32_t icg = icg_of (p), ocg = p->out_c / p->groups;
  for (int32_t g = 0; g < p->groups; g++)
    for (int32_t j = 0; j < ocg; j++) {
      int32_t oc = g * ocg + j;
      for (int32_t oy = 0; oy < p->out_h; oy++)
        for (int32_t ox = 0; ox < p->out_w; ox++) {
          int64_t acc = c->bias ? c->bias[oc] : 0;
          for (int32_t i = 0; i < icg; i++)
            for (int32_t ky = 0; ky < p->kh; ky++)
              for (int32_t kx = 0; kx < p->kw; kx++) {
                int32_t py = oy * p->stride_h + ky * p->dilation_h;
                int32_t px = ox * p->stride_w + kx * p->dilation_w;
                int64_t xv = xp[((size_t) py * wp + px) * p->in_c + g * icg
                                + i];
                int64_t wv = c->w[(((size_t) oc * p->kh + ky) * p->kw + kx)
                                      * icg
                                  + i];
                acc += (xv - p->in_zp) * wv;
              }
          ck_assert (acc >= -((int64_t) 1 << 31) && acc <= (int64_t) 1 << 31);
          int64_t num = acc * c->mult[oc]
                        + ((int64_t) 1 << (c->shift[oc] - 1));
          int64_t t = floor_div_pow2 (num, c->shift[oc]) + p->out_zp;
          if (t < p->act_min)
            t = p->act_min;
          if (t > p->act_max)
            t = p->act_max;
          int32_t v = (int32_t) t;
          if (p->lut != NULL)
            v = p->lut[v + 128];
          size_t at = ((size_t) oy * p->out_w + ox) * p->out_c + oc;
          out[at] = (int8_t) v;
          if (acc_out != NULL)
            acc_out[at] = acc;
        }
    }
  free (xp);
}

/* ---- 1. hand-computed cases --------------------------------------------- */

/* A case of in_h x in_w x in_c and a kernel of kh x kw, stride 1, no
 * padding, m = 1 for every channel, zero points 0, no clamp. */
static void
hand_case (conv_case *c, int32_t in_h, int32_t in_w, int32_t in_c,
           int32_t out_c, int32_t kh, int32_t kw)
{
  memset (c, 0, sizeof *c);
  q8_conv_params *p = &c->p;
  p->in_h = in_h;
  p->in_w = in_w;
  p->in_c = in_c;
  p->out_c = out_c;
  p->kh = kh;
  p->kw = kw;
  p->stride_h = p->stride_w = 1;
  p->dilation_h = p->dilation_w = 1;
  p->groups = 1;
  p->act_min = -128;
  p->act_max = 127;
  p->out_h = in_h - kh + 1;
  p->out_w = in_w - kw + 1;
  case_alloc (c);
  for (int32_t oc = 0; oc < out_c; oc++) {
    c->mult[oc] = M_ONE;
    c->shift[oc] = 30;
  }
}

static void
expect_out (const conv_case *c, const int8_t *want, const char *what)
{
  int8_t *out = alloc_out (c);
  scalar_run (c, out, 0, c->p.out_h);
  for (size_t i = 0; i < out_bytes (&c->p); i++)
    ck_assert_msg (out[i] == want[i], "%s: index %zu: expected %d, got %d",
                   what, i, want[i], out[i]);
  check_guard (c, out, what, 0, 0);
  free (out);
}

/* x = [1 2 3; 4 5 6; 7 8 9] + zp (one channel), w = [1 2; 3 4]. */
static void
fill_3x3 (conv_case *c, int32_t zp)
{
  for (int i = 0; i < 9; i++)
    c->x[i] = (int8_t) (i + 1 + zp);
  static const int8_t w[4] = { 1, 2, 3, 4 };
  memcpy (c->w, w, 4);
  c->p.in_zp = zp;
}

START_TEST (test_hand_valid)
{
  conv_case c;
  hand_case (&c, 3, 3, 1, 1, 2, 2);
  fill_3x3 (&c, 0);
  /* (0,0) = 1*1 + 2*2 + 4*3 + 5*4 = 37; (0,1) = 2 + 6 + 15 + 24 = 47;
   * (1,0) = 4 + 10 + 21 + 32 = 67; (1,1) = 5 + 12 + 24 + 36 = 77. */
  expect_out (&c, (const int8_t[]) { 37, 47, 67, 77 }, "valid");

  /* x = [1..9] stored, zp_x = 1: x - zp = [0 1 2; 3 4 5; 6 7 8].
   * (0,0) = 0 + 2 + 9 + 16 = 27; (0,1) = 1 + 4 + 12 + 20 = 37;
   * (1,0) = 3 + 8 + 18 + 28 = 57; (1,1) = 4 + 10 + 21 + 32 = 67;
   * bias -7 and zp_y -3 subtract 10: 17, 27, 47, 57. */
  fill_3x3 (&c, 0);
  c.p.in_zp = 1;
  c.p.out_zp = -3;
  c.bias = malloc (sizeof *c.bias);
  c.bias[0] = -7;
  expect_out (&c, (const int8_t[]) { 17, 27, 47, 57 }, "zero points");

  /* A table y = -1 - v on top: -18, -28, -48, -58. */
  for (int i = 0; i < 256; i++)
    c.lut[i] = (int8_t) (127 - i);
  c.p.lut = c.lut;
  expect_out (&c, (const int8_t[]) { -18, -28, -48, -58 }, "lut");
  case_free (&c);
}
END_TEST

START_TEST (test_hand_padding_stride_dilation)
{
  conv_case c;
  hand_case (&c, 3, 3, 1, 1, 2, 2);
  /* zp_x = 5: padding is the zero point and adds nothing.  With x - zp
   * = [1..9] framed by zeros, out(y, x) = d(y,x) + 2 d(y,x+1)
   * + 3 d(y+1,x) + 4 d(y+1,x+1) over the 5x5 padded d: */
  fill_3x3 (&c, 5);
  c.p.pad_top = c.p.pad_left = c.pad_bottom = c.pad_right = 1;
  hand_resize (&c);
  ck_assert_int_eq (c.p.out_h, 4);
  ck_assert_int_eq (c.p.out_w, 4);
  expect_out (&c, (const int8_t[]) { 4, 11, 18, 9,     /* 4 = 1*4 */
                                     18, 37, 47, 21,   /* 18 = 2 + 16 */
                                     36, 67, 77, 33,   /* 33 = 6 + 27 */
                                     14, 23, 26, 9 },  /* 23 = 7 + 16 */
              "pad 1");

  /* Stride 2, padding only bottom and right: OH = (3 + 1 - 1 - 1) / 2 + 1
   * = 2.  (0,0) = 37; (0,1) = 3 + 3*6 = 21; (1,0) = 7 + 2*8 = 23;
   * (1,1) = 9. */
  c.p.pad_top = c.p.pad_left = 0;
  c.p.stride_h = c.p.stride_w = 2;
  hand_resize (&c);
  ck_assert_int_eq (c.p.out_h, 2);
  expect_out (&c, (const int8_t[]) { 37, 21, 23, 9 }, "stride 2");

  /* Dilation 2, no padding: the taps are the corners,
   * 1*1 + 3*2 + 7*3 + 9*4 = 64. */
  c.p.stride_h = c.p.stride_w = 1;
  c.pad_bottom = c.pad_right = 0;
  c.p.dilation_h = c.p.dilation_w = 2;
  hand_resize (&c);
  ck_assert_int_eq (c.p.out_h, 1);
  expect_out (&c, (const int8_t[]) { 64 }, "dilation 2");

  /* Dilation 2 vertically only, kernel 2x1 (w = 1, 2... taken from the
   * first two weights): a column tap pair (y, y + 2): out(0, x) =
   * d(0,x) + 2 d(2,x) = 15, 18, 21. */
  c.p.kw = 1;
  c.p.dilation_w = 1;
  c.w[0] = 1;
  c.w[1] = 2;
  hand_resize (&c);
  ck_assert_int_eq (c.p.out_h, 1);
  ck_assert_int_eq (c.p.out_w, 3);
  expect_out (&c, (const int8_t[]) { 15, 18, 21 }, "dilation 2x1");
  case_free (&c);
}
END_TEST

START_TEST (test_hand_groups)
{
  conv_case c;
  /* One pixel, 4 channels with x - zp = 1, 2, 3, 4, a 1x1 kernel and
   * 2 groups of 2 input and 2 output channels:
   * oc0 = [1 1].[1 2] = 3, oc1 = [1 -1].[1 2] = -1,
   * oc2 = [1 1].[3 4] = 7, oc3 = [2 0].[3 4] = 6. */
  hand_case (&c, 1, 1, 4, 4, 1, 1);
  c.p.groups = 2;
  c.p.in_zp = -10;
  for (int i = 0; i < 4; i++)
    c.x[i] = (int8_t) (i + 1 - 10);
  memcpy (c.w, (const int8_t[]) { 1, 1, 1, -1, 1, 1, 2, 0 }, 8);
  expect_out (&c, (const int8_t[]) { 3, -1, 7, 6 }, "groups 2");
  case_free (&c);

  /* Depthwise with multiplier 2: 4 channels, 8 outputs, output channel k
   * reads channel k / 2 with weight k + 1:
   * 1*1, 1*2, 2*3, 2*4, 3*5, 3*6, 4*7, 4*8. */
  hand_case (&c, 1, 1, 4, 8, 1, 1);
  c.p.groups = 4;
  for (int i = 0; i < 4; i++)
    c.x[i] = (int8_t) (i + 1);
  for (int i = 0; i < 8; i++)
    c.w[i] = (int8_t) (i + 1);
  expect_out (&c, (const int8_t[]) { 1, 2, 6, 8, 15, 18, 28, 32 },
              "depthwise x2");
  case_free (&c);

  /* Depthwise 3x3 with padding 1 on a 2x2 image of 2 channels, all
   * weights 1: every output sums its channel's 4 pixels (each window
   * covers the whole image).  Channel 0 = 1 + 2 + 3 + 4 = 10, channel 1
   * = -1 - 2 - 3 - 4 = -10. */
  hand_case (&c, 2, 2, 2, 2, 3, 3);
  c.p.groups = 2;
  c.p.pad_top = c.p.pad_left = c.pad_bottom = c.pad_right = 1;
  hand_resize (&c);
  for (int i = 0; i < 4; i++) {
    c.x[2 * i] = (int8_t) (i + 1);
    c.x[2 * i + 1] = (int8_t) -(i + 1);
  }
  memset (c.w, 1, 18);
  expect_out (&c, (const int8_t[]) { 10, -10, 10, -10, 10, -10, 10, -10 },
              "depthwise 3x3 pad 1");
  case_free (&c);
}
END_TEST

START_TEST (test_hand_rounding_clamp)
{
  conv_case c;
  /* One 1x6 row, 1x1 kernel, w = 1, m = 0.5 (M = 2^30, r = 31): exact
   * halves round up: 3 -> 1.5 -> 2, -3 -> -1.5 -> -1, 5 -> 2.5 -> 3,
   * -5 -> -2.5 -> -2, 1 -> 0.5 -> 1, -1 -> -0.5 -> 0. */
  hand_case (&c, 1, 6, 1, 1, 1, 1);
  memcpy (c.x, (const int8_t[]) { 3, -3, 5, -5, 1, -1 }, 6);
  c.w[0] = 1;
  c.mult[0] = M_ONE;
  c.shift[0] = 31;
  expect_out (&c, (const int8_t[]) { 2, -1, 3, -2, 1, 0 }, "half up");

  /* zp_y = 10 then clamp [9, 12]: 12, 9, 13 -> 12, 8 -> 9, 11, 10. */
  c.p.out_zp = 10;
  c.p.act_min = 9;
  c.p.act_max = 12;
  expect_out (&c, (const int8_t[]) { 12, 9, 12, 9, 11, 10 }, "clamp");

  /* m = 0.25 (r = 32) and w = 2: acc 6 -> 1.5 -> 2, -6 -> -1.5 -> -1,
   * 10 -> 2.5 -> 3, -10 -> -2.5 -> -2, 2 -> 0.5 -> 1, -2 -> -0.5 -> 0. */
  c.p.out_zp = 0;
  c.p.act_min = -128;
  c.p.act_max = 127;
  c.w[0] = 2;
  c.shift[0] = 32;
  expect_out (&c, (const int8_t[]) { 2, -1, 3, -2, 1, 0 }, "half up /4");

  /* ReLU-style clamp at the output zero point: act_min = zp_y = -5:
   * 2 - 5 = -3, -1 - 5 = -6 -> -5, ... */
  c.p.out_zp = -5;
  c.p.act_min = -5;
  expect_out (&c, (const int8_t[]) { -3, -5, -2, -5, -4, -5 }, "relu");
  case_free (&c);

  /* Extreme zero points: zp_x = -128, x = 127, d = 255; w = 127: acc =
   * 32385; m = 2^-8 (M = 2^30, r = 38): 32385 / 256 = 126.50390625 ->
   * 127.  zp_x = 127, x = -128: d = -255, acc = -32385 -> -126.50390625
   * -> -127.  With zp_y = -128 the first saturates at -1 and the
   * second at -128. */
  hand_case (&c, 1, 1, 1, 1, 1, 1);
  c.w[0] = 127;
  c.mult[0] = M_ONE;
  c.shift[0] = 38;
  c.x[0] = 127;
  c.p.in_zp = -128;
  expect_out (&c, (const int8_t[]) { 127 }, "d = 255");
  c.p.out_zp = -128;
  expect_out (&c, (const int8_t[]) { -1 }, "d = 255, zp_y -128");
  c.x[0] = -128;
  c.p.in_zp = 127;
  c.p.out_zp = 0;
  expect_out (&c, (const int8_t[]) { -127 }, "d = -255");
  c.p.out_zp = -128;
  expect_out (&c, (const int8_t[]) { -128 }, "d = -255, zp_y -128");
  case_free (&c);

  /* The accumulator at its bound: bias = 2^31 - 1 - 512 * 127 with
   * x - zp = 255 and w = 127 gives acc = 2147418623 + 32385 = 2147451008
   * without overflow; m = 2^-24 (r = 54): 2147451008 / 2^24 = 127.998...
   * -> 128, saturating at 127.  Negated: -127.998... -> -128. */
  hand_case (&c, 1, 1, 1, 1, 1, 1);
  c.w[0] = 127;
  c.x[0] = 127;
  c.p.in_zp = -128;
  c.mult[0] = M_ONE;
  c.shift[0] = 54;
  c.bias = malloc (sizeof *c.bias);
  c.bias[0] = INT32_MAX - 512 * 127;
  expect_out (&c, (const int8_t[]) { 127 }, "acc bound +");
  c.bias[0] = -c.bias[0];
  c.x[0] = -128;
  c.p.in_zp = 127;
  expect_out (&c, (const int8_t[]) { -128 }, "acc bound -");
  case_free (&c);
}
END_TEST

/* ---- 2. scalar kernel vs the independent reference ---------------------- */

static void
compare_outputs (const conv_case *c, const int8_t *want, const int64_t *acc,
                 const int8_t *got, const char *what, uint64_t seed, int n)
{
  for (size_t i = 0; i < out_bytes (&c->p); i++)
    if (want[i] != got[i]) {
      char desc[320];
      describe_case (c, desc, sizeof desc);
      size_t pix = i / c->p.out_c;
      ck_abort_msg ("%s: seed %llu case %d (%s): at y %zu x %zu oc %zu: "
                    "expected %d, got %d (acc %lld)", what,
                    (unsigned long long) seed, n, desc,
                    pix / c->p.out_w, pix % c->p.out_w, i % c->p.out_c,
                    want[i], got[i], acc ? (long long) acc[i] : 0LL);
    }
}

START_TEST (test_scalar_vs_reference)
{
  uint64_t seed = q8_test_seed () + 100;
  q8_rng rng;
  q8_rng_seed (&rng, seed);
  for (int n = 0; n < 2000; n++) {
    conv_case c;
    next_case (&rng, &c, n, 200000, 1);
    int8_t *want = alloc_out (&c), *got = alloc_out (&c);
    int64_t *acc = malloc (out_bytes (&c.p) * sizeof *acc);
    ck_assert_ptr_nonnull (acc);
    reference_conv (&c, want, acc);
    scalar_run (&c, got, 0, c.p.out_h);
    compare_outputs (&c, want, acc, got, "scalar vs reference", seed, n);
    check_guard (&c, got, "scalar", seed, n);

    /* Rows in random pieces equal the whole; a piece touches only its
     * rows. */
    int8_t *pieces = alloc_out (&c);
    int32_t y = 0;
    while (y < c.p.out_h) {
      int32_t y1 = y + q8_rng_int (&rng, 1, c.p.out_h - y);
      size_t row = (size_t) c.p.out_w * c.p.out_c;
      scalar_run (&c, pieces, y, y1);
      for (size_t i = (size_t) y1 * row; i < out_bytes (&c.p); i++)
        ck_assert_msg ((uint8_t) pieces[i] == CANARY,
                       "seed %llu case %d: rows [%d, %d) wrote byte %zu",
                       (unsigned long long) seed, n, y, y1, i);
      y = y1;
    }
    compare_outputs (&c, want, acc, pieces, "rows in pieces", seed, n);
    check_guard (&c, pieces, "rows in pieces", seed, n);
    free (pieces);
    free (want);
    free (got);
    free (acc);
    case_free (&c);
  }
}
END_TEST

/* ---- 3. scalar kernel vs float math ------------------------------------- */

START_TEST (test_scalar_vs_float)
{
  uint64_t seed = q8_test_seed () + 200;
  q8_rng rng;
  q8_rng_seed (&rng, seed);
  size_t total = 0, off_by_one = 0;
  for (int n = 0; n < 1000; n++) {
    conv_case c;
    next_case (&rng, &c, n, 200000, 0);
    const q8_conv_params *p = &c.p;
    int8_t *got = alloc_out (&c);
    scalar_run (&c, got, 0, p->out_h);
    int32_t icg = icg_of (p), ocg = p->out_c / p->groups;
    for (int32_t oy = 0; oy < p->out_h; oy++)
      for (int32_t ox = 0; ox < p->out_w; ox++)
        for (int32_t oc = 0; oc < p->out_c; oc++) {
          int32_t g = oc / ocg;
          double ws = c.w_scale[oc];
          double real = c.bias ? c.bias[oc] * c.x_scale * ws : 0.0;
          for (int32_t ky = 0; ky < p->kh; ky++)
            for (int32_t kx = 0; kx < p->kw; kx++) {
              int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
              int32_t ix = ox * p->stride_w - p->pad_left
                           + kx * p->dilation_w;
              /* Real zero outside the input. */
              if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
                continue;
              for (int32_t i = 0; i < icg; i++) {
                double xr = c.x_scale
                            * (c.x[((size_t) iy * p->in_w + ix) * p->in_c
                                   + g * icg + i]
                               - p->in_zp);
                double wr = ws
                            * c.w[(((size_t) oc * p->kh + ky) * p->kw + kx)
                                      * icg
                                  + i];
                real += xr * wr;
              }
            }
          double q = floor (real / c.y_scale + 0.5) + p->out_zp;
          q = q < p->act_min ? p->act_min : q > p->act_max ? p->act_max : q;
          int8_t v = got[((size_t) oy * p->out_w + ox) * p->out_c + oc];
          double diff = fabs (q - v);
          if (diff > 1) {
            char desc[320];
            describe_case (&c, desc, sizeof desc);
            ck_abort_msg ("seed %llu case %d (%s): at y %d x %d oc %d: "
                          "float %g gives %g, kernel %d",
                          (unsigned long long) seed, n, desc, oy, ox, oc,
                          real / c.y_scale, q, v);
          }
          total++;
          off_by_one += diff != 0;
        }
    free (got);
    case_free (&c);
  }
  /* The multipliers carry 31 bits, so a 1-step difference needs the real
   * result within ~1e-6 of a half: rare. */
  ck_assert_msg (off_by_one * 1000 <= total,
                 "seed %llu: %zu of %zu outputs differ from float by 1",
                 (unsigned long long) seed, off_by_one, total);
}
END_TEST

/* ---- 4. every ISA path vs the scalar kernel ------------------------------ */

START_TEST (test_isa_paths)
{
  q8_isa isa = (q8_isa) _i;
  const q8_kernel_table *t = q8__kernels_for (isa);
  if (t == NULL) {
    printf ("skip: isa %s not supported\n", q8_isa_name (isa));
    fflush (stdout);
    return;
  }
  uint64_t seed = q8_test_seed () + 300;
  q8_rng rng;
  q8_rng_seed (&rng, seed);
  for (int n = 0; n < 1000; n++) {
    conv_case c;
    next_case (&rng, &c, n, 150000, 1);
    q8_conv_params lp = load_time_params (&c.p);
    const q8_conv_ukernel *uk = q8__conv_select (t, &lp);
    ck_assert_ptr_nonnull (uk);
    /* The choice must not depend on the spatial size. */
    ck_assert_ptr_eq (uk, q8__conv_select (t, &c.p));
    void *packed = pack_with (uk, &c);
    int8_t *want = alloc_out (&c), *got = alloc_out (&c);
    scalar_run (&c, want, 0, c.p.out_h);
    /* Two pieces, split at a random row. */
    int32_t mid = q8_rng_int (&rng, 0, c.p.out_h);
    uk->run (&c.p, packed, c.x, got, 0, mid);
    uk->run (&c.p, packed, c.x, got, mid, c.p.out_h);
    if (memcmp (want, got, out_bytes (&c.p)) != 0) {
      char what[96];
      snprintf (what, sizeof what, "isa %s kernel %s", q8_isa_name (isa),
                uk->name);
      compare_outputs (&c, want, NULL, got, what, seed, n);
    }
    check_guard (&c, got, uk->name, seed, n);
    q8__free (packed);
    free (want);
    free (got);
    case_free (&c);
  }
}
END_TEST

/* ---- the op: validation, load-time state, plan-time parameters ---------- */

/* A one-op model x -> CONV2D -> y, described field by field so each test
 * can break one thing.  The op tests run it two ways: straight through
 * the op class on a q8_model assembled here (no loader involved), and
 * through q8_builder_write (), which loads it with the full validator. */
#define SPEC_MAX_W 2048
#define SPEC_MAX_OC 64

typedef struct {
  int32_t ic, y_c;
  int32_t params[Q8_MAX_OP_PARAMS];
  int32_t w_dims[4];            /* OHWI */
  int8_t w[SPEC_MAX_W];
  float w_scales[SPEC_MAX_OC];
  int has_bias;
  int32_t bias[SPEC_MAX_OC];
  int32_t bias_len;
  float x_scale, y_scale;
  int32_t x_zp, y_zp;
} op_spec;

static size_t
spec_w_count (const op_spec *s)
{
  return (size_t) s->w_dims[0] * s->w_dims[1] * s->w_dims[2] * s->w_dims[3];
}

/* ic -> oc channels, a k x k kernel with "same" padding, stride 1. */
static void
spec_default (op_spec *s, int32_t ic, int32_t oc, int32_t k, int32_t groups)
{
  memset (s, 0, sizeof *s);
  s->ic = ic;
  s->y_c = oc;
  s->params[Q8_CONV_KH] = s->params[Q8_CONV_KW] = k;
  s->params[Q8_CONV_STRIDE_H] = s->params[Q8_CONV_STRIDE_W] = 1;
  s->params[Q8_CONV_DILATION_H] = s->params[Q8_CONV_DILATION_W] = 1;
  s->params[Q8_CONV_PAD_TOP] = s->params[Q8_CONV_PAD_LEFT] = k / 2;
  s->params[Q8_CONV_PAD_BOTTOM] = s->params[Q8_CONV_PAD_RIGHT] = k / 2;
  s->params[Q8_CONV_GROUPS] = groups;
  s->params[Q8_CONV_ACT_MIN] = -128;
  s->params[Q8_CONV_ACT_MAX] = 127;
  s->w_dims[0] = oc;
  s->w_dims[1] = s->w_dims[2] = k;
  s->w_dims[3] = ic / groups;
  ck_assert (spec_w_count (s) <= SPEC_MAX_W && oc <= SPEC_MAX_OC);
  for (size_t i = 0; i < spec_w_count (s); i++)
    s->w[i] = (int8_t) ((i * 37) % 255 - 127);
  for (int32_t i = 0; i < oc; i++)
    s->w_scales[i] = 0.01f;
  s->bias_len = oc;
  s->x_scale = 0.02f;
  s->y_scale = 0.05f;
  s->x_zp = -3;
  s->y_zp = 4;
}

typedef struct {
  q8_model m;
  q8__tensor t[4]; /* x, w, bias, y */
  q8__op op;
} fake_model;

static void
fake_init (fake_model *f, const op_spec *s)
{
  memset (f, 0, sizeof *f);
  q8__tensor *x = &f->t[0], *w = &f->t[1], *b = &f->t[2], *y = &f->t[3];
  x->name = "conv.x";
  x->dtype = Q8_DTYPE_S8;
  x->rank = 4;
  x->dims[0] = 1;
  x->dims[3] = s->ic;
  x->scale = s->x_scale;
  x->zero_point = s->x_zp;
  *y = *x;
  y->name = "conv.y";
  y->dims[3] = s->y_c;
  y->scale = s->y_scale;
  y->zero_point = s->y_zp;
  w->name = "conv.w";
  w->dtype = Q8_DTYPE_S8;
  w->is_const = true;
  w->rank = 4;
  memcpy (w->dims, s->w_dims, sizeof w->dims);
  w->channel_scales = s->w_scales;
  w->data = s->w;
  w->nbytes = spec_w_count (s);
  b->name = "conv.b";
  b->dtype = Q8_DTYPE_S32;
  b->is_const = true;
  b->rank = 1;
  b->dims[0] = s->bias_len;
  b->data = s->bias;
  b->nbytes = (size_t) s->bias_len * sizeof (int32_t);
  f->op.type = Q8_OP_CONV2D;
  f->op.cls = &q8__op_conv2d;
  f->op.n_inputs = 3;
  f->op.n_outputs = 1;
  for (int i = 0; i < Q8_MAX_OP_INPUTS; i++)
    f->op.inputs[i] = Q8_NO_TENSOR;
  f->op.inputs[0] = 0;
  f->op.inputs[1] = 1;
  f->op.inputs[2] = s->has_bias ? 2 : Q8_NO_TENSOR;
  f->op.outputs[0] = 3;
  f->op.outputs[1] = Q8_NO_TENSOR;
  memcpy (f->op.params, s->params, sizeof f->op.params);
  f->m.tensors = f->t;
  f->m.n_tensors = 4;
  f->m.ops = &f->op;
  f->m.n_ops = 1;
}

/* The builder/loader (core/builder.c, core/loader.c) have not landed yet;
 * these model-level tests switch on with them. */
#ifndef Q8_TEST_HAVE_BUILDER
#define Q8_TEST_HAVE_BUILDER 1
#endif
#if Q8_TEST_HAVE_BUILDER
/* Builds the spec with q8_builder and writes it (which loads it with the
 * full validator).  Returns the write's status; on success *m holds the
 * model loaded again from the bytes. */
static q8_status
build_conv_model (const op_spec *s, q8_model **m, char *err, size_t size)
{
  *m = NULL;
  err[0] = '\0';
  q8_builder *b = q8_builder_new ();
  ck_assert_ptr_nonnull (b);
  int64_t x = q8_builder_add_activation (b, "conv.x", Q8_DTYPE_S8, s->ic,
                                         s->x_scale, s->x_zp);
  int64_t y = q8_builder_add_activation (b, "conv.y", Q8_DTYPE_S8, s->y_c,
                                         s->y_scale, s->y_zp);
  int64_t cw = q8_builder_add_const (b, "conv.w", Q8_DTYPE_S8, 4, s->w_dims,
                                     s->w, 0, 0, s->w_scales);
  int64_t cb = Q8_NO_TENSOR;
  if (s->has_bias)
    cb = q8_builder_add_const (b, "conv.b", Q8_DTYPE_S32, 1, &s->bias_len,
                               s->bias, 0, 0, NULL);
  ck_assert (x >= 0 && y >= 0 && cw >= 0 && cb >= 0);
  uint32_t ins[3] = { (uint32_t) x, (uint32_t) cw, (uint32_t) cb };
  uint32_t outs[1] = { (uint32_t) y };
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_CONV2D, 3, ins, 1, outs,
                                       s->params, Q8_MAX_OP_PARAMS),
                    0);
  ck_assert_int_eq (q8_builder_add_input (b, (uint32_t) x), Q8_OK);
  ck_assert_int_eq (q8_builder_add_output (b, (uint32_t) y), Q8_OK);
  void *data = NULL;
  size_t n = 0;
  q8_status st = q8_builder_write (b, &data, &n, err, size);
  q8_builder_free (b);
  if (st == Q8_OK) {
    char err2[256];
    q8_status st2 = q8_model_load_buffer (data, n, m, err2, sizeof err2);
    ck_assert_msg (st2 == Q8_OK, "reload: %s", err2);
  }
  free (data);
  return st;
}
#endif /* Q8_TEST_HAVE_BUILDER */

/* Models the op must reject, each from the default 4 -> 16 channel 3x3
 * spec with one thing broken. */
static void
bad_bias_len (op_spec *s)
{
  s->has_bias = 1;
  s->bias_len = 15;
}

static void
bad_weight_128 (op_spec *s)
{
  s->w[5 * 36 + 7] = -128; /* [5][0][1][3] */
}

/* 36 weights of 127 per channel: 512 * 127 * 36 = 2340864, so this bias
 * exceeds the bound 2^31 - 1 by one (one less passes: test_op_validate). */
static void
bad_acc_bound (op_spec *s)
{
  memset (s->w, 127, spec_w_count (s));
  s->has_bias = 1;
  s->bias[9] = INT32_MAX - 512 * 127 * 36 + 1;
}

/* m = 0.02 * 1e-12 / 0.05 = 4e-13 < 2^-40 ~ 9.1e-13. */
static void
bad_mult_small (op_spec *s)
{
  s->w_scales[3] = 1e-12f;
}

/* m = 0.02 * 0.01 / 1e-14 = 2e10 >= 2^30 ~ 1.07e9. */
static void
bad_mult_large (op_spec *s)
{
  s->y_scale = 1e-14f;
}

/* 3 groups divide neither 4 nor 16 channels. */
static void
bad_groups (op_spec *s)
{
  s->params[Q8_CONV_GROUPS] = 3;
  s->w_dims[3] = 1;
}

/* 2 groups, but the weight keeps 4 input channels per group. */
static void
bad_group_channels (op_spec *s)
{
  s->params[Q8_CONV_GROUPS] = 2;
}

static void
bad_out_channels (op_spec *s)
{
  s->y_c = 8;
}

static void
bad_kernel (op_spec *s)
{
  s->params[Q8_CONV_KW] = 5;
}

static void
bad_stride (op_spec *s)
{
  s->params[Q8_CONV_STRIDE_W] = 0;
}

static void
bad_dilation (op_spec *s)
{
  s->params[Q8_CONV_DILATION_H] = 17;
}

static void
bad_pad (op_spec *s)
{
  s->params[Q8_CONV_PAD_BOTTOM] = -1;
}

static void
bad_act_order (op_spec *s)
{
  s->params[Q8_CONV_ACT_MIN] = 10;
  s->params[Q8_CONV_ACT_MAX] = 9;
}

static void
bad_act_max (op_spec *s)
{
  s->params[Q8_CONV_ACT_MAX] = 128;
}

static void
bad_unused_slot (op_spec *s)
{
  s->params[15] = 1;
}

static const struct {
  const char *what;
  void (*mutate) (op_spec *s);
  q8_status want;
  const char *needle; /* in the message */
} bad_cases[] = {
  { "bias of 15 for 16 channels", bad_bias_len, Q8_ETENSOR, "bias" },
  { "weight -128", bad_weight_128, Q8_ETENSOR, "-128 at [5][0][1][3]" },
  { "accumulator bound", bad_acc_bound, Q8_ETENSOR, "accumulator bound" },
  { "multiplier too small", bad_mult_small, Q8_EOP, "output channel 3: "
                                                    "multiplier" },
  { "multiplier too large", bad_mult_large, Q8_EOP, "multiplier" },
  { "groups do not divide", bad_groups, Q8_EOP, "3 groups" },
  { "channels per group", bad_group_channels, Q8_ETENSOR,
    "4 input channels per group" },
  { "y channels", bad_out_channels, Q8_ETENSOR, "16 output channels" },
  { "kernel vs weight", bad_kernel, Q8_EOP, "kernel is 3x5" },
  { "stride 0", bad_stride, Q8_EOP, "horizontal stride is 0" },
  { "dilation 17", bad_dilation, Q8_EOP, "vertical dilation is 17" },
  { "padding -1", bad_pad, Q8_EOP, "bottom padding is -1" },
  { "act_min > act_max", bad_act_order, Q8_EOP, "act_min 10" },
  { "act_max 128", bad_act_max, Q8_EOP, "act_max is 128" },
  { "unused slot", bad_unused_slot, Q8_EOP, "slot 15" },
};
#define N_BAD_CASES ((int) (sizeof bad_cases / sizeof bad_cases[0]))

START_TEST (test_op_validate)
{
  op_spec s;
  fake_model f;
  char err[256];
  q8_status st;

  spec_default (&s, 4, 16, 3, 1);
  s.has_bias = 1;
  fake_init (&f, &s);
  st = q8__op_conv2d.validate (&f.m, &f.op, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "valid: %s", err);
  /* The accumulator bound exactly: still valid. */
  bad_acc_bound (&s);
  s.bias[9] -= 1;
  fake_init (&f, &s);
  st = q8__op_conv2d.validate (&f.m, &f.op, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "bias at the bound: %s", err);
  /* No bias; a depthwise layer with multiplier 2. */
  spec_default (&s, 8, 16, 3, 8);
  fake_init (&f, &s);
  st = q8__op_conv2d.validate (&f.m, &f.op, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "depthwise: %s", err);

  for (int i = 0; i < N_BAD_CASES; i++) {
    spec_default (&s, 4, 16, 3, 1);
    bad_cases[i].mutate (&s);
    fake_init (&f, &s);
    err[0] = '\0';
    st = q8__op_conv2d.validate (&f.m, &f.op, err, sizeof err);
    ck_assert_msg (st == bad_cases[i].want, "%s: expected %s, got %s (%s)",
                   bad_cases[i].what, q8_status_str (bad_cases[i].want),
                   q8_status_str (st), err);
    /* The caller (loader, planner) names the op; validate does not. */
    ck_assert_msg (strstr (err, bad_cases[i].needle) != NULL
                       && strstr (err, "(conv2d)") == NULL,
                   "%s: message '%s' lacks '%s'", bad_cases[i].what, err,
                   bad_cases[i].needle);
  }
}
END_TEST

#if Q8_TEST_HAVE_BUILDER
/* The same through the builder and loader: the status and the op's
 * message reach the caller. */
START_TEST (test_op_load)
{
  op_spec s;
  q8_model *m = NULL;
  char err[256];
  spec_default (&s, 4, 16, 3, 1);
  s.has_bias = 1;
  q8_status st = build_conv_model (&s, &m, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "valid model: %s", err);
  q8_model_free (m);

  for (int i = 0; i < N_BAD_CASES; i++) {
    spec_default (&s, 4, 16, 3, 1);
    bad_cases[i].mutate (&s);
    st = build_conv_model (&s, &m, err, sizeof err);
    ck_assert_msg (st == bad_cases[i].want, "%s: expected %s, got %s (%s)",
                   bad_cases[i].what, q8_status_str (bad_cases[i].want),
                   q8_status_str (st), err);
    ck_assert_msg (strstr (err, bad_cases[i].needle) != NULL
                       && strstr (err, "conv2d") != NULL,
                   "%s: message '%s' lacks '%s'", bad_cases[i].what, err,
                   bad_cases[i].needle);
    ck_assert_ptr_null (m);
  }
}
END_TEST
#endif /* Q8_TEST_HAVE_BUILDER */

/* A 3x3 convolution 5 -> 6 channels, stride 2x1, asymmetric padding and a
 * clamp: the spec used by the run tests. */
static void
spec_run (op_spec *s, q8_rng *rng)
{
  spec_default (s, 5, 6, 3, 1);
  s->params[Q8_CONV_STRIDE_H] = 2;
  s->params[Q8_CONV_PAD_TOP] = 0;
  s->params[Q8_CONV_PAD_RIGHT] = 2;
  s->params[Q8_CONV_ACT_MIN] = -100;
  s->params[Q8_CONV_ACT_MAX] = 90;
  q8_rng_fill_s8 (rng, s->w, spec_w_count (s), -127, 127);
  s->has_bias = 1;
  for (int i = 0; i < 6; i++) {
    s->bias[i] = q8_rng_int (rng, -5000, 5000);
    s->w_scales[i] = 0.003f + 0.001f * i;
  }
}

/* The kernel-level case equal to spec s on an h x w input, with random
 * input data; the multipliers come from the same double expression the
 * op uses. */
static void
case_from_spec (conv_case *c, const op_spec *s, int32_t h, int32_t w,
                q8_rng *rng)
{
  const int32_t *pr = s->params;
  memset (c, 0, sizeof *c);
  c->p.in_h = h;
  c->p.in_w = w;
  c->p.in_c = s->ic;
  c->p.out_c = s->w_dims[0];
  c->p.kh = pr[Q8_CONV_KH];
  c->p.kw = pr[Q8_CONV_KW];
  c->p.stride_h = pr[Q8_CONV_STRIDE_H];
  c->p.stride_w = pr[Q8_CONV_STRIDE_W];
  c->p.dilation_h = pr[Q8_CONV_DILATION_H];
  c->p.dilation_w = pr[Q8_CONV_DILATION_W];
  c->p.pad_top = pr[Q8_CONV_PAD_TOP];
  c->p.pad_left = pr[Q8_CONV_PAD_LEFT];
  c->pad_bottom = pr[Q8_CONV_PAD_BOTTOM];
  c->pad_right = pr[Q8_CONV_PAD_RIGHT];
  c->p.groups = pr[Q8_CONV_GROUPS];
  hand_resize (c);
  case_alloc (c);
  c->p.in_zp = s->x_zp;
  c->p.out_zp = s->y_zp;
  c->p.act_min = pr[Q8_CONV_ACT_MIN];
  c->p.act_max = pr[Q8_CONV_ACT_MAX];
  memcpy (c->w, s->w, spec_w_count (s));
  if (s->has_bias) {
    c->bias = malloc ((size_t) c->p.out_c * sizeof *c->bias);
    ck_assert_ptr_nonnull (c->bias);
    memcpy (c->bias, s->bias, (size_t) c->p.out_c * sizeof *c->bias);
  }
  for (int32_t i = 0; i < c->p.out_c; i++)
    ck_assert (q8__quantize_multiplier_r ((double) s->x_scale * s->w_scales[i]
                                              / s->y_scale,
                                          &c->mult[i], &c->shift[i]));
  q8_rng_fill_s8 (rng, c->x, (size_t) h * w * s->ic, -128, 127);
}

/* prepare, reshape and run straight through the op class, for every ISA
 * this machine has, with and without a fused table. */
START_TEST (test_op_direct_run)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed () + 400;
  q8_rng_seed (&rng, seed);
  op_spec s;
  spec_run (&s, &rng);
  fake_model f;
  fake_init (&f, &s);
  char err[256];
  q8_status st = q8__op_conv2d.validate (&f.m, &f.op, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s", err);
  st = q8__op_conv2d.prepare (&f.m, &f.op, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s", err);

  char desc[256];
  q8__op_conv2d.describe (&f.m, &f.op, desc, sizeof desc);
  ck_assert_str_eq (desc, "conv2d 3x3/2x1 pad 0,1,1,2 dil 1 groups 1, 5->6, "
                          "act [-100,90], x 'conv.x' -> y 'conv.y'");

  int8_t lut[256];
  q8_rng_fill_s8 (&rng, lut, sizeof lut, -128, 127);
  const int32_t H = 9, W = 11;
  conv_case c;
  case_from_spec (&c, &s, H, W, &rng);
  for (int with_lut = 0; with_lut <= 1; with_lut++) {
    c.p.lut = with_lut ? lut : NULL;
    int8_t *want = alloc_out (&c);
    scalar_run (&c, want, 0, c.p.out_h);
    for (int isa = 0; isa < Q8_ISA_COUNT; isa++) {
      const q8_kernel_table *k = q8__kernels_for ((q8_isa) isa);
      if (k == NULL)
        continue;
      q8__plan_op pop;
      memset (&pop, 0, sizeof pop);
      pop.op = &f.op;
      pop.fused_lut = c.p.lut;
      q8__shape in[Q8_MAX_OP_INPUTS] = { { H, W, 5 } }, out = { 0, 0, 0 };
      st = q8__op_conv2d.reshape (&f.m, &f.op, k, &pop, in, &out, err,
                                  sizeof err);
      ck_assert_msg (st == Q8_OK, "%s", err);
      /* OH = (9 + 0 + 1 - 2 - 1) / 2 + 1 = 4; OW = (11 + 1 + 2 - 3) + 1 =
       * 12. */
      ck_assert_int_eq (out.h, 4);
      ck_assert_int_eq (out.w, 12);
      ck_assert_int_eq (out.c, 6);
      ck_assert_int_eq (pop.rows, 4);
      ck_assert_uint_eq (pop.macs, 4u * 12 * 6 * 3 * 3 * 5);
      int8_t *got = alloc_out (&c);
      const void *ins[Q8_MAX_OP_INPUTS] = { c.x };
      void *outs[Q8_MAX_OP_OUTPUTS] = { got };
      q8__op_conv2d.run (&f.op, &pop, ins, outs, 0, 1);
      q8__op_conv2d.run (&f.op, &pop, ins, outs, 1, 4);
      compare_outputs (&c, want, NULL, got, q8_isa_name ((q8_isa) isa), seed,
                       with_lut);
      check_guard (&c, got, "op run", seed, with_lut);
      free (got);
      q8__free (pop.params);
    }
    free (want);
  }

  /* A 2-row input is shorter than the 3-row kernel without vertical
   * padding. */
  f.op.params[Q8_CONV_PAD_BOTTOM] = 0;
  q8__plan_op pop;
  memset (&pop, 0, sizeof pop);
  q8__shape in[Q8_MAX_OP_INPUTS] = { { 2, W, 5 } }, out = { 0, 0, 0 };
  st = q8__op_conv2d.reshape (&f.m, &f.op, q8__kernels (), &pop, in, &out,
                              err, sizeof err);
  ck_assert_int_eq (st, Q8_ESHAPE);
  ck_assert_msg (strstr (err, "padded input is 2x14") != NULL
                     && strstr (err, "kernel's 3x3") != NULL,
                 "message: %s", err);
  ck_assert_ptr_null (pop.params);

  q8__op_conv2d.free_state (&f.op);
  ck_assert_ptr_null (f.op.state);
  case_free (&c);
}
END_TEST

#if Q8_TEST_HAVE_BUILDER
/* Plans one-conv model m on c's input size on every ISA path this machine
 * has, with 1 and 2 threads, lets check () look at each plan, runs it on
 * c's input and compares the output with want. */
static void
run_every_isa (const q8_model *m, const conv_case *c, const int8_t *want,
               void (*check) (q8_plan *p, q8_isa isa, const conv_case *c))
{
  char err[256];
  for (int isa = 0; isa < Q8_ISA_COUNT; isa++) {
    if (!q8_isa_supported ((q8_isa) isa))
      continue;
    ck_assert_int_eq (q8_set_isa_limit ((q8_isa) isa), Q8_OK);
    for (int threads = 1; threads <= 2; threads++) {
      q8_plan *p = NULL;
      q8_status st = q8_plan_create (m, c->p.in_w, c->p.in_h, threads, &p,
                                     err, sizeof err);
      ck_assert_msg (st == Q8_OK, "plan: %s", err);
      check (p, (q8_isa) isa, c);
      memcpy (q8_plan_input (p, 0), c->x,
              (size_t) c->p.in_h * c->p.in_w * c->p.in_c);
      ck_assert_int_eq (q8_run (p), Q8_OK);
      const int8_t *got = q8_plan_output (p, 0);
      for (size_t i = 0; i < out_bytes (&c->p); i++)
        ck_assert_msg (got[i] == want[i],
                       "isa %s (%s) threads %d: index %zu: expected %d, "
                       "got %d", q8_isa_name ((q8_isa) isa),
                       q8__conv_plan_kernel (&p->ops[0])->name, threads, i,
                       want[i], got[i]);
      q8_plan_free (p);
    }
  }
  q8_set_isa_limit (Q8_ISA_COUNT);
}

/* The output shape and MAC count of spec_run's plan. */
static void
check_plan_run (q8_plan *p, q8_isa isa, const conv_case *c)
{
  (void) isa;
  q8_tensor_info info;
  ck_assert_int_eq (q8_plan_output_info (p, 0, &info), Q8_OK);
  ck_assert_int_eq (info.h, c->p.out_h);
  ck_assert_int_eq (info.w, c->p.out_w);
  ck_assert_int_eq (info.c, 6);
  ck_assert_uint_eq (q8_plan_macs (p),
                     (uint64_t) c->p.out_h * c->p.out_w * 6 * 9 * 5);
}

/* The same model loaded from bytes and run through q8_plan_create and
 * q8_run on every ISA path, with 1 and 2 threads. */
START_TEST (test_op_plan_run)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed () + 400;
  q8_rng_seed (&rng, seed);
  op_spec s;
  spec_run (&s, &rng);
  q8_model *m = NULL;
  char err[256];
  q8_status st = build_conv_model (&s, &m, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s", err);

  char desc[256];
  ck_assert_int_eq (q8_model_op_describe (m, 0, desc, sizeof desc), Q8_OK);
  ck_assert_msg (strstr (desc, "conv2d 3x3/2x1 pad 0,1,1,2") != NULL,
                 "describe: %s", desc);

  const int32_t H = 9, W = 11;
  conv_case c;
  case_from_spec (&c, &s, H, W, &rng);
  int8_t *want = alloc_out (&c);
  scalar_run (&c, want, 0, c.p.out_h);

  run_every_isa (m, &c, want, check_plan_run);

  /* Too small an input fails to plan, naming the kernel. */
  q8_plan *p = NULL;
  st = q8_plan_create (m, W, 1, 1, &p, err, sizeof err);
  ck_assert_int_eq (st, Q8_ESHAPE);
  ck_assert_ptr_null (p);
  ck_assert_msg (strstr (err, "kernel") != NULL, "message: %s", err);

  free (want);
  case_free (&c);
  q8_model_free (m);
}
END_TEST

/* A depthwise layer runs on a depthwise kernel on every SIMD path. */
static void
check_depthwise_kernel (q8_plan *p, q8_isa isa, const conv_case *c)
{
  const q8_conv_ukernel *uk = q8__conv_plan_kernel (&p->ops[0]);
  if (isa == Q8_ISA_SCALAR)
    ck_assert_str_eq (uk->name, "q8_s8_conv2d_requant__scalar");
  else
    ck_assert_msg (strstr (uk->name, "_dwconv2d_") != NULL,
                   "isa %s: %dx%d depthwise runs on %s", q8_isa_name (isa),
                   c->p.kh, c->p.kw, uk->name);
}

/* A depthwise layer (24 channels: one full 16-channel block and a tail,
 * 3x3 and 5x5, stride 2 for the 5x5) loaded from bytes: on every SIMD
 * path the plan runs a depthwise kernel, and its output equals the
 * scalar kernel's, with 1 and 2 threads. */
START_TEST (test_op_depthwise_plan)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed () + 500;
  q8_rng_seed (&rng, seed);
  for (int32_t k = 3; k <= 5; k += 2) {
    op_spec s;
    spec_default (&s, 24, 24, k, 24);
    if (k == 5)
      s.params[Q8_CONV_STRIDE_H] = s.params[Q8_CONV_STRIDE_W] = 2;
    q8_rng_fill_s8 (&rng, s.w, spec_w_count (&s), -127, 127);
    s.has_bias = 1;
    for (int i = 0; i < 24; i++) {
      s.bias[i] = q8_rng_int (&rng, -5000, 5000);
      s.w_scales[i] = 0.002f + 0.0005f * i;
    }
    q8_model *m = NULL;
    char err[256];
    q8_status st = build_conv_model (&s, &m, err, sizeof err);
    ck_assert_msg (st == Q8_OK, "%s", err);
    char desc[256];
    ck_assert_int_eq (q8_model_op_describe (m, 0, desc, sizeof desc), Q8_OK);
    ck_assert_msg (strstr (desc, "groups 24 (depthwise)") != NULL,
                   "describe: %s", desc);

    const int32_t H = 7, W = 13;
    conv_case c;
    case_from_spec (&c, &s, H, W, &rng);
    int8_t *want = alloc_out (&c);
    scalar_run (&c, want, 0, c.p.out_h);
    run_every_isa (m, &c, want, check_depthwise_kernel);
    free (want);
    case_free (&c);
    q8_model_free (m);
  }
}
END_TEST
#endif /* Q8_TEST_HAVE_BUILDER */

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("conv2d");
  TCase *tc = tcase_create ("scalar");
  tcase_add_test (tc, test_hand_valid);
  tcase_add_test (tc, test_hand_padding_stride_dilation);
  tcase_add_test (tc, test_hand_groups);
  tcase_add_test (tc, test_hand_rounding_clamp);
  tcase_add_test (tc, test_scalar_vs_reference);
  tcase_add_test (tc, test_scalar_vs_float);
  suite_add_tcase (s, tc);

  tc = tcase_create ("isa");
  tcase_add_loop_test (tc, test_isa_paths, 0, Q8_ISA_COUNT);
  suite_add_tcase (s, tc);

  tc = tcase_create ("op");
  tcase_add_test (tc, test_op_validate);
  tcase_add_test (tc, test_op_direct_run);
  suite_add_tcase (s, tc);

  /* These need the builder, the loader and the planner. */
#if Q8_TEST_HAVE_BUILDER
  tc = tcase_create ("model");
  tcase_add_test (tc, test_op_load);
  tcase_add_test (tc, test_op_plan_run);
  tcase_add_test (tc, test_op_depthwise_plan);
  suite_add_tcase (s, tc);
#endif
  return s;
}
