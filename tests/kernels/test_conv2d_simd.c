/* test_conv2d_simd.c - every SIMD convolution kernel against the scalar
 * reference, byte for byte.
 *
 * Each test loops over all q8_isa values; an ISA this build or CPU lacks is
 * skipped with a message on stdout.  For each SIMD kernel of an ISA's table
 * the shapes it accepts are packed with its own packing function and run,
 * whole and split into random row ranges (as the thread pool does), and
 * compared with q8_s8_conv2d_requant__scalar.  Named sweeps cover what the
 * SIMD kernels cut into blocks: 1..67 input and output channels (tails of
 * 4-byte groups and 16-channel blocks), 1x1 .. small images with every
 * padding, stride and dilation, the ESPCN layers, extreme weights, inputs,
 * zero points, biases at the accumulator bound, every shift 1..62, clamps
 * and fused tables.  Outputs outside the computed rows must stay untouched.
 * The depthwise kernels (groups = in_c) get the same sweeps in depthwise
 * shapes: 1..67 channels, kernels 1x1 to 8x8, every padding, stride and
 * dilation, channel multipliers above 1 (refused today: they must run on
 * the scalar kernel) and the channel limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_kernels.h"
#include "q8_test.h"

typedef struct {
  q8_conv_params p;
  int8_t *w;        /* OHWI */
  int32_t *bias;
  int32_t *mult, *shift;
  int8_t lut[256];
  int8_t *in;       /* in_h * in_w * in_c + Q8_EXTRA_BYTES */
} conv_case;

/* Case generation knobs. */
typedef struct {
  int w_mode;       /* 0 random, 1 all +-127 extremes, 2 sparse, 3 all 127 */
  int x_mode;       /* 0 random, 1 only -128/127, 2 all -128, 3 all 127 */
  int m_mode;       /* 0 realistic, 1 any shift 1..62, 2 fixed shift */
  int fixed_shift;
  int bias_max;     /* bias at the accumulator bound */
  int lut;          /* -1 random choice, 0 none, 1 random table */
  int act;          /* -1 random choice, 0 none */
} gen_opts;

static const gen_opts opts_default = { 0, 0, 0, 0, 0, -1, -1 };

static int32_t
out_size (int32_t in, int32_t k, int32_t s, int32_t d, int32_t pa,
          int32_t pb)
{
  int32_t span = in + pa + pb - d * (k - 1) - 1;
  return span < 0 ? 0 : span / s + 1;
}

static void
case_free (conv_case *c)
{
  free (c->w);
  free (c->bias);
  free (c->mult);
  free (c->shift);
  free (c->in);
  memset (c, 0, sizeof *c);
}

/* Fills c for the geometry already in c->p (sizes, kernel, strides,
 * padding, in_c, out_c; groups, or 0 for 1). */
static void
case_fill (conv_case *c, q8_rng *r, const gen_opts *o)
{
  q8_conv_params *p = &c->p;
  if (p->groups == 0)
    p->groups = 1;
  size_t per_oc = (size_t) p->kh * p->kw * (p->in_c / p->groups);
  size_t in_n = (size_t) p->in_h * p->in_w * p->in_c;
  c->w = malloc ((size_t) p->out_c * per_oc);
  c->bias = malloc ((size_t) p->out_c * sizeof (int32_t));
  c->mult = malloc ((size_t) p->out_c * sizeof (int32_t));
  c->shift = malloc ((size_t) p->out_c * sizeof (int32_t));
  c->in = malloc (in_n + Q8_EXTRA_BYTES);
  ck_assert (c->w && c->bias && c->mult && c->shift && c->in);

  for (size_t i = 0; i < (size_t) p->out_c * per_oc; i++) {
    int32_t v;
    switch (o->w_mode) {
    case 1: v = (q8_rng_next (r) & 1) ? 127 : -127; break;
    case 2: v = q8_rng_int (r, 0, 7) == 0 ? q8_rng_int (r, -127, 127) : 0;
      break;
    case 3: v = 127; break;
    default: v = q8_rng_int (r, -127, 127); break;
    }
    c->w[i] = (int8_t) v;
  }
  for (size_t i = 0; i < in_n + Q8_EXTRA_BYTES; i++) {
    int32_t v;
    switch (o->x_mode) {
    case 1: v = (q8_rng_next (r) & 1) ? 127 : -128; break;
    case 2: v = -128; break;
    case 3: v = 127; break;
    default: v = q8_rng_int (r, -128, 127); break;
    }
    c->in[i] = (int8_t) v;
  }
  p->in_zp = q8_rng_int (r, 0, 3) == 0 ? (q8_rng_next (r) & 1 ? 127 : -128)
                                      : q8_rng_int (r, -128, 127);
  p->out_zp = q8_rng_int (r, -128, 127);

  for (int32_t oc = 0; oc < p->out_c; oc++) {
    int64_t sum_abs = 0;
    for (size_t i = 0; i < per_oc; i++)
      sum_abs += abs (c->w[oc * per_oc + i]);
    int64_t room = 2147483647LL - 512 * sum_abs; /* ARITHMETIC.md bound */
    ck_assert (room >= 0);
    int64_t b;
    if (o->bias_max)
      b = (q8_rng_next (r) & 1) ? room : -room;
    else
      b = q8_rng_int (r, -(int32_t) (room < 100000 ? room : 100000),
                      (int32_t) (room < 100000 ? room : 100000));
    c->bias[oc] = (int32_t) b;

    /* Realistic multipliers put |acc| of about 128 * 40 * sqrt(K) near the
     * int8 range; the others test the arithmetic's corners. */
    int32_t M = q8_rng_int (r, 1 << 30, 0x7fffffff), sh;
    if (o->m_mode == 1) {
      sh = q8_rng_int (r, 1, 62);
      M = q8_rng_int (r, 1, 0x7fffffff);
    } else if (o->m_mode == 2) {
      sh = o->fixed_shift;
    } else {
      int lg = 0;
      while ((1LL << lg) < (int64_t) per_oc)
        lg++;
      sh = 31 + 6 + lg / 2 + q8_rng_int (r, -3, 3);
    }
    c->mult[oc] = M;
    c->shift[oc] = sh;
  }
  p->mult = c->mult;
  p->shift = c->shift;

  int act = o->act >= 0 ? o->act : q8_rng_int (r, 0, 2);
  p->act_min = -128;
  p->act_max = 127;
  if (act) {
    p->act_min = q8_rng_int (r, -128, 127);
    p->act_max = q8_rng_int (r, p->act_min, 127);
  }
  int lut = o->lut >= 0 ? o->lut : q8_rng_int (r, 0, 1);
  q8_rng_fill_s8 (r, c->lut, 256, -128, 127);
  p->lut = lut ? c->lut : NULL;
}

/* A random geometry: in_c, out_c in [1, cmax], sizes in [1, smax]. */
static void
case_random_geometry (conv_case *c, q8_rng *r, int32_t cmax, int32_t smax)
{
  q8_conv_params *p = &c->p;
  memset (p, 0, sizeof *p);
  for (;;) {
    p->in_c = q8_rng_int (r, 1, cmax);
    p->out_c = q8_rng_int (r, 1, cmax);
    p->in_h = q8_rng_int (r, 1, smax);
    p->in_w = q8_rng_int (r, 1, smax);
    p->kh = q8_rng_int (r, 1, 5);
    p->kw = q8_rng_int (r, 1, 5);
    p->stride_h = q8_rng_int (r, 1, 3);
    p->stride_w = q8_rng_int (r, 1, 3);
    p->dilation_h = q8_rng_int (r, 0, 3) == 0 ? 2 : 1;
    p->dilation_w = q8_rng_int (r, 0, 3) == 0 ? 2 : 1;
    p->pad_top = q8_rng_int (r, 0, p->kh - 1);
    p->pad_left = q8_rng_int (r, 0, p->kw - 1);
    int32_t pb = q8_rng_int (r, 0, p->kh - 1);
    int32_t pr = q8_rng_int (r, 0, p->kw - 1);
    p->out_h = out_size (p->in_h, p->kh, p->stride_h, p->dilation_h,
                         p->pad_top, pb);
    p->out_w = out_size (p->in_w, p->kw, p->stride_w, p->dilation_w,
                         p->pad_left, pr);
    if (p->out_h >= 1 && p->out_w >= 1)
      return;
  }
}

static void
case_geometry (conv_case *c, int32_t h, int32_t w, int32_t in_c,
               int32_t out_c, int32_t k, int32_t stride, int32_t pad)
{
  q8_conv_params *p = &c->p;
  memset (p, 0, sizeof *p);
  p->in_h = h;
  p->in_w = w;
  p->in_c = in_c;
  p->out_c = out_c;
  p->kh = p->kw = k;
  p->stride_h = p->stride_w = stride;
  p->dilation_h = p->dilation_w = 1;
  p->pad_top = p->pad_left = pad;
  p->out_h = out_size (h, k, stride, 1, pad, pad);
  p->out_w = out_size (w, k, stride, 1, pad, pad);
}

static void *
alloc_packed (size_t n)
{
  void *m = aligned_alloc (64, (n + 63) / 64 * 64 + 64);
  ck_assert (m != NULL);
  return m;
}

/* The reference accumulator of one output, for failure messages. */
static int64_t
ref_acc (const conv_case *c, int32_t oy, int32_t ox, int32_t oc)
{
  const q8_conv_params *p = &c->p;
  const int32_t icg = p->in_c / p->groups;
  const int32_t g = oc / (p->out_c / p->groups);
  int64_t acc = c->bias[oc];
  for (int32_t ky = 0; ky < p->kh; ky++)
    for (int32_t kx = 0; kx < p->kw; kx++) {
      int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
      int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
      if (iy < 0 || iy >= p->in_h || ix < 0 || ix >= p->in_w)
        continue;
      for (int32_t i = 0; i < icg; i++)
        acc += (int64_t) (c->in[((size_t) iy * p->in_w + ix) * p->in_c
                                + (size_t) g * icg + i] - p->in_zp)
               * c->w[(((size_t) oc * p->kh + ky) * p->kw + kx) * icg + i];
    }
  return acc;
}

#define GUARD 64
#define GUARD_BYTE 0x5A

/* Runs kernel k on c (rows split at random) and the scalar reference;
 * returns 1 if k accepted the shape.  Fails the test on any difference. */
static int
check_case (const q8_conv_ukernel *k, conv_case *c, q8_rng *r,
            const char *what, int index)
{
  const q8_conv_params *p = &c->p;
  /* Load time knows no spatial size and no table yet (q8_kernels.h). */
  q8_conv_params lp = *p;
  lp.in_h = lp.in_w = lp.out_h = lp.out_w = 0;
  lp.lut = NULL;
  if (k->accepts != NULL && !k->accepts (&lp))
    return 0;
  const q8_kernel_table *st = q8__kernels_for (Q8_ISA_SCALAR);
  const q8_conv_ukernel *ref = st->conv[st->n_conv - 1];

  size_t out_n = (size_t) p->out_h * p->out_w * p->out_c;
  int8_t *exp = malloc (out_n + GUARD);
  int8_t *got = malloc (out_n + GUARD);
  ck_assert (exp && got);
  memset (exp, GUARD_BYTE, out_n + GUARD);
  memset (got, GUARD_BYTE, out_n + GUARD);

  void *rp = alloc_packed (ref->packed_size (p));
  ref->pack (p, c->w, c->bias, rp);
  ref->run (p, rp, c->in, exp, 0, p->out_h);

  void *kp = alloc_packed (k->packed_size (&lp));
  k->pack (&lp, c->w, c->bias, kp);
  /* Random row ranges, as a thread pool splits a layer; sometimes whole. */
  int32_t y = 0;
  while (y < p->out_h) {
    int32_t y1 = q8_rng_int (r, 0, 2) == 0
                 ? p->out_h : q8_rng_int (r, y + 1, p->out_h);
    k->run (p, kp, c->in, got, y, y1);
    y = y1;
  }

  for (size_t i = 0; i < out_n + GUARD; i++) {
    if (exp[i] == got[i])
      continue;
    if (i >= out_n)
      ck_abort_msg ("%s: %s case %d wrote %zu bytes past the output",
                    k->name, what, index, i - out_n + 1);
    int32_t oc = (int32_t) (i % (size_t) p->out_c);
    int32_t ox = (int32_t) (i / (size_t) p->out_c % (size_t) p->out_w);
    int32_t oy = (int32_t) (i / ((size_t) p->out_c * p->out_w));
    ck_abort_msg ("%s: %s case %d (seed %llu): in %dx%dx%d out %dx%dx%d "
                  "k %dx%d groups %d stride %d,%d dil %d,%d pad %d,%d "
                  "in_zp %d out_zp %d act [%d,%d] lut %s: output (y %d, "
                  "x %d, c %d) expected %d, got %d; acc %lld mult %d "
                  "shift %d", k->name, what, index,
                  (unsigned long long) q8_test_seed (), p->in_h, p->in_w,
                  p->in_c, p->out_h, p->out_w, p->out_c, p->kh, p->kw,
                  p->groups,
                  p->stride_h, p->stride_w, p->dilation_h, p->dilation_w,
                  p->pad_top, p->pad_left, p->in_zp, p->out_zp, p->act_min,
                  p->act_max, p->lut ? "yes" : "no", oy, ox, oc, exp[i],
                  got[i], (long long) ref_acc (c, oy, ox, oc), p->mult[oc],
                  p->shift[oc]);
  }

  /* Rows outside [y0, y1) stay untouched. */
  if (p->out_h >= 3) {
    memset (got, GUARD_BYTE, out_n + GUARD);
    k->run (p, kp, c->in, got, 1, 2);
    size_t row = (size_t) p->out_w * p->out_c;
    for (size_t i = 0; i < out_n + GUARD; i++) {
      int in_row = i >= row && i < 2 * row;
      if (!in_row && got[i] != GUARD_BYTE)
        ck_abort_msg ("%s: %s case %d: rows [1, 2) wrote byte %zu",
                      k->name, what, index, i);
      if (in_row && got[i] != exp[i])
        ck_abort_msg ("%s: %s case %d: rows [1, 2) differ at byte %zu",
                      k->name, what, index, i);
    }
  }

  free (rp);
  free (kp);
  free (exp);
  free (got);
  return 1;
}

/* The convolution kernels of isa's own (a table may fall back on a lower
 * ISA's kernels, e.g. neoni8mm on neondot's; those are tested under their
 * own ISA), or none with a visible skip. */
static int
simd_kernels (int isa, const q8_conv_ukernel **list, int max)
{
  const q8_kernel_table *t = q8__kernels_for ((q8_isa) isa);
  if (t == NULL) {
    printf ("test_conv2d_simd: skipped %s: not in this build or CPU\n",
            q8_isa_name ((q8_isa) isa));
    return 0;
  }
  int n = 0;
  for (size_t i = 0; i < t->n_conv && n < max; i++)
    if (t->conv[i]->isa != Q8_ISA_SCALAR && t->conv[i]->isa == (q8_isa) isa)
      list[n++] = t->conv[i];
  return n;
}

typedef void (*case_gen) (conv_case *c, q8_rng *r, int index, gen_opts *o);

/* Non-zero if k is a generic kernel: it accepts a plain 3x3 convolution
 * of 17 to 33 channels.  Shape-specialized kernels (few input or output
 * channels) do not, and the sweeps' minimum counts apply only to generic
 * kernels; test_specialized makes sure the others run. */
static int
is_generic (const q8_conv_ukernel *k)
{
  conv_case c;
  case_geometry (&c, 0, 0, 17, 33, 3, 1, 1);
  c.p.groups = 1;
  return k->accepts == NULL || k->accepts (&c.p);
}

/* Non-zero if k is a depthwise kernel: it accepts a 3x3 depthwise layer
 * of 16 channels. */
static int
is_depthwise (const q8_conv_ukernel *k)
{
  conv_case c;
  case_geometry (&c, 0, 0, 16, 16, 3, 1, 1);
  c.p.groups = 16;
  return k->accepts == NULL || k->accepts (&c.p);
}

static int
is_not_depthwise (const q8_conv_ukernel *k)
{
  return !is_depthwise (k);
}

/* Runs n cases from gen on every SIMD kernel of isa; each kernel for
 * which must () holds has to accept at least min_accepted of them. */
static void
sweep_kernels (int isa, const char *what, case_gen gen, int n,
               int min_accepted, int (*must) (const q8_conv_ukernel *k))
{
  const q8_conv_ukernel *ks[8];
  int nk = simd_kernels (isa, ks, 8);
  for (int ki = 0; ki < nk; ki++) {
    q8_rng r;
    q8_rng_seed (&r, q8_test_seed () ^ (uint64_t) isa << 32);
    int accepted = 0;
    for (int i = 0; i < n; i++) {
      conv_case c;
      gen_opts o = opts_default;
      memset (&c, 0, sizeof c);
      gen (&c, &r, i, &o);
      case_fill (&c, &r, &o);
      accepted += check_case (ks[ki], &c, &r, what, i);
      case_free (&c);
    }
    printf ("test_conv2d_simd: %s: %s: %d of %d shapes accepted, exact\n",
            ks[ki]->name, what, accepted, n);
    if (!must (ks[ki]))
      continue;
    ck_assert_msg (accepted >= min_accepted,
                   "%s: %s: only %d of %d shapes accepted", ks[ki]->name,
                   what, accepted, n);
  }
}

static void
sweep (int isa, const char *what, case_gen gen, int n, int min_accepted)
{
  sweep_kernels (isa, what, gen, n, min_accepted, is_generic);
}

/* ---- generators --------------------------------------------------------- */

static void
gen_random (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  case_random_geometry (c, r, 67, 12);
  o->w_mode = q8_rng_int (r, 0, 9) == 0 ? 2 : 0;
}

/* in_c 1..67 against out_c around the 16-channel blocks and chunks. */
static void
gen_channels (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  static const int32_t ocs[] = { 1, 9, 15, 16, 17, 31, 32, 33, 48, 63, 64,
                                 65, 67 };
  int32_t in_c = i / 13 + 1;
  int32_t out_c = ocs[i % 13];
  case_geometry (c, q8_rng_int (r, 1, 5), q8_rng_int (r, 1, 19), in_c, out_c,
                 3, 1, 1);
}

/* Every padding/stride/dilation combination on tiny images, 1x1 up. */
static void
gen_borders (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  q8_conv_params *p = &c->p;
  for (;;) {
    memset (p, 0, sizeof *p);
    int32_t v = i;
    p->kh = v % 5 + 1;
    v /= 5;
    p->kw = v % 5 + 1;
    v /= 5;
    p->stride_h = p->stride_w = v % 3 + 1;
    v /= 3;
    p->dilation_h = p->dilation_w = v % 2 + 1;
    p->in_h = q8_rng_int (r, 1, 6);
    p->in_w = q8_rng_int (r, 1, 6);
    p->in_c = q8_rng_int (r, 1, 9);
    p->out_c = q8_rng_int (r, 1, 20);
    p->pad_top = q8_rng_int (r, 0, p->kh - 1);
    p->pad_left = q8_rng_int (r, 0, p->kw - 1);
    p->out_h = out_size (p->in_h, p->kh, p->stride_h, p->dilation_h,
                         p->pad_top, q8_rng_int (r, 0, p->kh - 1));
    p->out_w = out_size (p->in_w, p->kw, p->stride_w, p->dilation_w,
                         p->pad_left, q8_rng_int (r, 0, p->kw - 1));
    if (p->out_h >= 1 && p->out_w >= 1)
      return;
  }
}

/* The ESPCN layers: 5x5 1->64, 3x3 64->32, 3x3 32->r^2 (r = 2, 3, 4),
 * "same" padding, on sizes from 1x1. */
static void
gen_espcn (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  static const int32_t sizes[][2] = { { 1, 1 }, { 1, 7 }, { 2, 3 },
                                      { 5, 1 }, { 9, 13 }, { 17, 30 } };
  int32_t h = sizes[i % 6][0], w = sizes[i % 6][1];
  switch (i / 6 % 5) {
  case 0: case_geometry (c, h, w, 1, 64, 5, 1, 2); break;
  case 1: case_geometry (c, h, w, 64, 32, 3, 1, 1); break;
  case 2: case_geometry (c, h, w, 32, 4, 3, 1, 1); break;
  case 3: case_geometry (c, h, w, 32, 9, 3, 1, 1); break;
  default: case_geometry (c, h, w, 32, 16, 3, 1, 1); break;
  }
  o->lut = i / 30 % 2;
  o->act = i / 60 % 2;
}

/* Extreme weights, inputs, zero points and biases at the bound. */
static void
gen_extremes (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  case_random_geometry (c, r, 67, 7);
  o->w_mode = 1 + i % 3;
  o->x_mode = 1 + i / 3 % 3;
  o->bias_max = i / 9 % 2;
  o->m_mode = 1;
}

/* Every shift 1..62, with random multipliers; then the realistic range
 * with fixed shifts.  All channels share the shift, so both of the AVX-512
 * kernel's requantization forms run (the short one for 33..54, the 64-bit
 * one otherwise), with the boundaries 32/33 and 54/55. */
static void
gen_shifts (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  case_random_geometry (c, r, 40, 6);
  o->m_mode = 2;
  o->fixed_shift = i % 62 + 1;
  o->lut = 0;
}

/* Clamps and tables on every output. */
static void
gen_clamp_lut (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  case_random_geometry (c, r, 67, 8);
  o->lut = i % 2;
  o->act = 1;
}

/* Long spans (up to the kernels' limit) and wide rows. */
static void
gen_large (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  static const int32_t shapes[][5] = {
    /* h, w, in_c, out_c, k */
    { 4, 40, 227, 20, 3 }, { 3, 35, 341, 7, 2 }, { 2, 70, 16, 80, 7 },
    { 5, 33, 128, 100, 3 }, { 1, 100, 3, 8, 3 }, { 3, 3, 682, 17, 3 },
    /* Wider than the strips of the specialized kernels' stack buffers. */
    { 2, 4100, 1, 17, 5 }, { 3, 700, 32, 9, 3 },
  };
  const int32_t *s = shapes[i % 8];
  case_geometry (c, s[0], s[1], s[2], s[3], s[4], 1 + i / 8 % 2,
                 s[4] / 2);
}

/* The shapes of the shape-specialized kernels: one input channel with
 * kernels 1..8 (the 5x5 first layer) and 1..15 output channels (the last
 * layer) against input channels 1..64, on widths around the 16- and
 * 32-pixel tiles, every padding, stride_h and dilation_h, with both
 * requantization forms. */
static void
gen_specialized (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  q8_conv_params *p = &c->p;
  static const int32_t widths[] = { 1, 2, 15, 16, 17, 31, 32, 33, 47, 70 };
  for (;;) {
    memset (p, 0, sizeof *p);
    if (i % 2 == 0) {
      p->in_c = 1;
      p->out_c = q8_rng_int (r, 1, 67);
    } else {
      p->in_c = q8_rng_int (r, 1, 64);
      p->out_c = i / 2 % 15 + 1;
    }
    p->kh = q8_rng_int (r, 1, 8);
    p->kw = i % 5 == 0 ? 5 : q8_rng_int (r, 1, 8);
    p->in_h = q8_rng_int (r, 1, 7);
    p->in_w = widths[i / 2 % 10];
    p->stride_h = q8_rng_int (r, 1, 3) == 1 ? 2 : 1;
    p->stride_w = 1;
    p->dilation_h = q8_rng_int (r, 0, 4) == 0 ? 2 : 1;
    p->dilation_w = 1;
    p->pad_top = q8_rng_int (r, 0, p->kh - 1);
    p->pad_left = q8_rng_int (r, 0, p->kw - 1);
    p->out_h = out_size (p->in_h, p->kh, p->stride_h, p->dilation_h,
                         p->pad_top, q8_rng_int (r, 0, p->kh - 1));
    p->out_w = out_size (p->in_w, p->kw, 1, 1, p->pad_left,
                         q8_rng_int (r, 0, p->kw - 1));
    if (p->out_h >= 1 && p->out_w >= 1)
      break;
  }
  if (i % 7 == 3) {
    o->m_mode = 1; /* every shift: the exact 64-bit form */
    o->w_mode = 1;
    o->x_mode = 1;
  }
  if (i % 11 == 5)
    o->bias_max = 1;
}

/* ---- depthwise generators (groups = in_c) ------------------------------ */

/* A depthwise geometry: c channels times multiplier mult, a kh x kw
 * kernel, random strides, dilations and padding on sizes up to smax high
 * and 4 * smax wide (rows long enough for the kernels' strips of pixels
 * whose windows lie inside the input, and for the others). */
static void
dw_geometry (conv_case *c, q8_rng *r, int32_t ch, int32_t mult, int32_t kh,
             int32_t kw, int32_t smax)
{
  q8_conv_params *p = &c->p;
  for (;;) {
    memset (p, 0, sizeof *p);
    p->in_c = p->groups = ch;
    p->out_c = ch * mult;
    p->kh = kh;
    p->kw = kw;
    p->in_h = q8_rng_int (r, 1, smax);
    p->in_w = q8_rng_int (r, 1, 4 * smax);
    p->stride_h = q8_rng_int (r, 0, 3) == 0 ? 2 : 1;
    p->stride_w = q8_rng_int (r, 0, 3) == 0 ? 2 : 1;
    p->dilation_h = q8_rng_int (r, 0, 4) == 0 ? 2 : 1;
    p->dilation_w = q8_rng_int (r, 0, 4) == 0 ? 2 : 1;
    p->pad_top = q8_rng_int (r, 0, kh - 1);
    p->pad_left = q8_rng_int (r, 0, kw - 1);
    p->out_h = out_size (p->in_h, kh, p->stride_h, p->dilation_h,
                         p->pad_top, q8_rng_int (r, 0, kh - 1));
    p->out_w = out_size (p->in_w, kw, p->stride_w, p->dilation_w,
                         p->pad_left, q8_rng_int (r, 0, kw - 1));
    if (p->out_h >= 1 && p->out_w >= 1)
      return;
  }
}

/* Channels 1..67 (tails of every vector width and chunk) with kernels
 * 1x1, 3x3, 5x5 and 7x7, on sizes down to 1x1. */
static void
gen_dw_channels (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  static const int32_t ks[] = { 1, 3, 5, 7 };
  int32_t k = ks[i % 4];
  dw_geometry (c, r, i / 4 + 1, 1, k, k, 9);
}

/* Every kernel size 1..5 x 1..5, stride 1..3 and dilation 1..2 with
 * random padding on tiny images (1x1 up), as gen_borders. */
static void
gen_dw_borders (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  q8_conv_params *p = &c->p;
  for (;;) {
    int32_t v = i;
    int32_t kh = v % 5 + 1;
    v /= 5;
    int32_t kw = v % 5 + 1;
    v /= 5;
    int32_t stride = v % 3 + 1;
    v /= 3;
    int32_t dil = v % 2 + 1;
    dw_geometry (c, r, q8_rng_int (r, 1, 40), 1, kh, kw, 6);
    p->stride_h = p->stride_w = stride;
    p->dilation_h = p->dilation_w = dil;
    int32_t pb = q8_rng_int (r, 0, kh - 1), pr = q8_rng_int (r, 0, kw - 1);
    p->out_h = out_size (p->in_h, kh, stride, dil, p->pad_top, pb);
    p->out_w = out_size (p->in_w, kw, stride, dil, p->pad_left, pr);
    if (p->out_h >= 1 && p->out_w >= 1)
      return;
  }
}

/* Random depthwise shapes: 3x3 and 5x5 mostly, any kernel up to 8x8. */
static void
gen_dw_random (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  int32_t kh, kw;
  switch (i % 4) {
  case 0: kh = kw = 3; break;
  case 1: kh = kw = 5; break;
  default:
    kh = q8_rng_int (r, 1, 8);
    kw = q8_rng_int (r, 1, 8);
    break;
  }
  dw_geometry (c, r, q8_rng_int (r, 1, 67), 1, kh, kw, 14);
  o->w_mode = q8_rng_int (r, 0, 9) == 0 ? 2 : 0;
}

/* Channel multipliers 2..4 (out_c = in_c * multiplier). */
static void
gen_dw_multiplier (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  dw_geometry (c, r, q8_rng_int (r, 1, 40), 2 + i % 3, 3, 3, 7);
}

/* Extreme weights (all +-127, all 127, sparse), inputs (-128/127 only,
 * all -128, all 127), zero points and biases at the accumulator bound,
 * every shift. */
static void
gen_dw_extremes (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  int32_t k = i % 2 ? 5 : 3;
  dw_geometry (c, r, q8_rng_int (r, 1, 67), 1, k, k, 7);
  o->w_mode = 1 + i % 3;
  o->x_mode = 1 + i / 3 % 3;
  o->bias_max = i / 9 % 2;
  o->m_mode = i / 18 % 2;
}

/* Every shift 1..62 shared by all channels: both requantization forms of
 * the AVX kernels (short for 33..54) and their boundaries. */
static void
gen_dw_shifts (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  dw_geometry (c, r, q8_rng_int (r, 1, 67), 1, 3, 3, 6);
  o->m_mode = 2;
  o->fixed_shift = i % 62 + 1;
  o->lut = q8_rng_int (r, 0, 1);
}

/* Clamps and tables on every output. */
static void
gen_dw_clamp_lut (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  int32_t k = i % 2 ? 5 : 3;
  dw_geometry (c, r, q8_rng_int (r, 1, 67), 1, k, k, 8);
  o->lut = i / 2 % 2;
  o->act = 1;
}

/* Wide rows and many channels, up to the kernels' channel limit and one
 * past it (refused), and the largest kernels (8x8 = 64 taps; 9x9 is
 * refused). */
static void
gen_dw_large (conv_case *c, q8_rng *r, int i, gen_opts *o)
{
  static const int32_t shapes[][4] = {
    /* h, w, c, k */
    { 3, 90, 64, 3 }, { 4, 50, 64, 5 }, { 2, 33, 256, 3 },
    { 2, 5, 2048, 3 }, { 2, 4, 2049, 3 }, { 9, 17, 24, 8 },
    { 10, 12, 19, 9 }, { 5, 40, 130, 7 },
  };
  const int32_t *s = shapes[i % 8];
  case_geometry (c, s[0], s[1], s[2], s[2], s[3], 1 + i / 8 % 2, s[3] / 2);
  c->p.groups = s[2];
}

/* ---- tests -------------------------------------------------------------- */

START_TEST (test_random_shapes)
{
  sweep (_i, "random", gen_random, 400, 100);
}
END_TEST

START_TEST (test_channels_1_67)
{
  sweep (_i, "channels", gen_channels, 67 * 13, 67 * 13);
}
END_TEST

START_TEST (test_borders)
{
  sweep (_i, "borders", gen_borders, 5 * 5 * 3 * 2 * 2, 100);
}
END_TEST

START_TEST (test_espcn_layers)
{
  sweep (_i, "espcn", gen_espcn, 120, 120);
}
END_TEST

START_TEST (test_extremes)
{
  sweep (_i, "extremes", gen_extremes, 180, 50);
}
END_TEST

START_TEST (test_shifts)
{
  sweep (_i, "shifts", gen_shifts, 62 * 3, 60);
}
END_TEST

START_TEST (test_clamp_lut)
{
  sweep (_i, "clamp+lut", gen_clamp_lut, 100, 30);
}
END_TEST

START_TEST (test_specialized)
{
  sweep_kernels (_i, "specialized", gen_specialized, 600, 100,
                 is_not_depthwise);
}
END_TEST

START_TEST (test_large_spans)
{
  sweep (_i, "large", gen_large, 16, 8);
}
END_TEST

static void
sweep_dw (int isa, const char *what, case_gen gen, int n, int min_accepted)
{
  sweep_kernels (isa, what, gen, n, min_accepted, is_depthwise);
}

START_TEST (test_dw_channels)
{
  sweep_dw (_i, "dw channels", gen_dw_channels, 67 * 4, 67 * 4);
}
END_TEST

START_TEST (test_dw_borders)
{
  sweep_dw (_i, "dw borders", gen_dw_borders, 5 * 5 * 3 * 2 * 2,
            5 * 5 * 3 * 2 * 2);
}
END_TEST

START_TEST (test_dw_random)
{
  sweep_dw (_i, "dw random", gen_dw_random, 300, 300);
}
END_TEST

START_TEST (test_dw_extremes)
{
  sweep_dw (_i, "dw extremes", gen_dw_extremes, 72, 72);
}
END_TEST

START_TEST (test_dw_shifts)
{
  sweep_dw (_i, "dw shifts", gen_dw_shifts, 62 * 2, 62 * 2);
}
END_TEST

START_TEST (test_dw_clamp_lut)
{
  sweep_dw (_i, "dw clamp+lut", gen_dw_clamp_lut, 80, 80);
}
END_TEST

START_TEST (test_dw_large)
{
  /* 6 of each 8 shapes are within the limits. */
  sweep_dw (_i, "dw large", gen_dw_large, 16, 12);
}
END_TEST

/* Multipliers above 1: whichever kernel accepts is exact, and on every
 * path the table hands such a layer to a kernel that takes it. */
START_TEST (test_dw_multiplier)
{
  sweep_kernels (_i, "dw multiplier", gen_dw_multiplier, 60, 0,
                 is_depthwise);
  const q8_kernel_table *t = q8__kernels_for ((q8_isa) _i);
  if (t == NULL)
    return;
  conv_case c;
  case_geometry (&c, 0, 0, 8, 16, 3, 1, 1);
  c.p.groups = 8;
  const q8_conv_ukernel *k = q8__conv_select (t, &c.p);
  ck_assert_ptr_nonnull (k);
  ck_assert_msg (strstr (k->name, "dwconv") == NULL,
                 "%s took a depthwise layer of multiplier 2", k->name);
}
END_TEST

/* Every SIMD path of this CPU has a depthwise kernel, and the table puts
 * it before the generic one for depthwise layers. */
START_TEST (test_dw_selected)
{
  const q8_kernel_table *t = q8__kernels_for ((q8_isa) _i);
  if (t == NULL || _i == Q8_ISA_SCALAR)
    return;
  static const int32_t chans[] = { 1, 8, 16, 64, 67, 2048 };
  for (size_t i = 0; i < sizeof chans / sizeof chans[0]; i++)
    for (int32_t k = 1; k <= 7; k += 2) {
      conv_case c;
      case_geometry (&c, 0, 0, chans[i], chans[i], k, 1, k / 2);
      c.p.groups = chans[i];
      const q8_conv_ukernel *uk = q8__conv_select (t, &c.p);
      /* One channel with groups = 1 is a plain convolution, which the
       * AVX-512 table gives to its few-channel kernel first. */
      if (chans[i] == 1 && strstr (uk->name, "dwconv") == NULL)
        continue;
      ck_assert_msg (strstr (uk->name, "dwconv") != NULL,
                     "%s: %d channels %dx%d: %s selected",
                     q8_isa_name ((q8_isa) _i), chans[i], k, k, uk->name);
    }
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("conv2d_simd");
  TCase *tc = tcase_create ("all_isas");
  tcase_set_timeout (tc, 120);
  tcase_add_loop_test (tc, test_random_shapes, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_channels_1_67, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_borders, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_espcn_layers, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_extremes, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_shifts, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_clamp_lut, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_large_spans, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_specialized, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_channels, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_borders, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_random, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_extremes, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_shifts, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_clamp_lut, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_large, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_multiplier, 0, Q8_ISA_COUNT);
  tcase_add_loop_test (tc, test_dw_selected, 0, Q8_ISA_COUNT);
  suite_add_tcase (s, tc);
  return s;
}
