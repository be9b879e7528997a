/* op_pool.c - MAXPOOL and AVGPOOL (ARITHMETIC.md): windows with stride,
 * padding, ONNX ceil_mode, count_include_pad, and GLOBAL (the window is the
 * whole plane, output 1x1).  Padding never contributes a value: maxpool
 * keeps its input's quantization, avgpool divides the sum of the taps
 * inside the input by their count (or by the window clipped to the padded
 * input) with one rule R multiplier per possible count. */
#include <stdio.h>

#include "q8_internal.h"

/* Bounds far above real networks; they keep every product below in
 * int32: a window holds at most 2^16 taps, so |sum| < 2^24. */
#define POOL_MAX_KERNEL 256
#define POOL_MAX_STRIDE 256
/* GLOBAL averages at most 2^23 taps (ARITHMETIC.md). */
#define POOL_MAX_GLOBAL ((int64_t) 1 << 23)

static q8_status
pool_validate (const q8_model *m, const q8__op *op, bool avg, char *err,
               size_t es)
{
  if (op->n_inputs != 1 || op->inputs[0] == Q8_NO_TENSOR)
    return q8__err (err, es, Q8_EOP, "takes 1 input, has %d", op->n_inputs);
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  if (x->is_const || x->dtype != Q8_DTYPE_S8 || y->dtype != Q8_DTYPE_S8)
    return q8__err (err, es, Q8_EOP, "input '%s' and output '%s' must be "
                    "int8 activations", x->name, y->name);
  if (x->dims[3] != y->dims[3])
    return q8__err (err, es, Q8_EOP, "input has %d channels, output %d",
                    x->dims[3], y->dims[3]);
  const int32_t *pr = op->params;
  for (int i = Q8_POOL_GLOBAL + 1; i < Q8_MAX_OP_PARAMS; i++)
    if (pr[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  if (pr[Q8_POOL_GLOBAL] != 0) {
    if (pr[Q8_POOL_GLOBAL] != 1)
      return q8__err (err, es, Q8_EOP, "global flag %d is not 0 or 1",
                      pr[Q8_POOL_GLOBAL]);
    for (int i = 0; i < Q8_POOL_GLOBAL; i++)
      if (pr[i] != 0)
        return q8__err (err, es, Q8_EOP, "global pooling: parameter %d must "
                        "be 0", i);
  } else {
    int32_t kh = pr[Q8_POOL_KH], kw = pr[Q8_POOL_KW];
    int32_t sh = pr[Q8_POOL_STRIDE_H], sw = pr[Q8_POOL_STRIDE_W];
    if (kh < 1 || kw < 1 || kh > POOL_MAX_KERNEL || kw > POOL_MAX_KERNEL
        || sh < 1 || sw < 1 || sh > POOL_MAX_STRIDE || sw > POOL_MAX_STRIDE)
      return q8__err (err, es, Q8_EOP, "kernel %dx%d (1..%d) or stride %dx%d "
                      "(1..%d) invalid", kh, kw, POOL_MAX_KERNEL, sh, sw,
                      POOL_MAX_STRIDE);
    /* A padding as large as the kernel would make a window of padding
     * alone, which has no value. */
    if (pr[Q8_POOL_PAD_TOP] < 0 || pr[Q8_POOL_PAD_TOP] >= kh
        || pr[Q8_POOL_PAD_BOTTOM] < 0 || pr[Q8_POOL_PAD_BOTTOM] >= kh
        || pr[Q8_POOL_PAD_LEFT] < 0 || pr[Q8_POOL_PAD_LEFT] >= kw
        || pr[Q8_POOL_PAD_RIGHT] < 0 || pr[Q8_POOL_PAD_RIGHT] >= kw)
      return q8__err (err, es, Q8_EOP, "padding %d,%d,%d,%d must be below "
                      "the kernel %dx%d", pr[Q8_POOL_PAD_TOP],
                      pr[Q8_POOL_PAD_LEFT], pr[Q8_POOL_PAD_BOTTOM],
                      pr[Q8_POOL_PAD_RIGHT], kh, kw);
    if ((pr[Q8_POOL_CEIL_MODE] & ~1) != 0
        || (pr[Q8_POOL_COUNT_INCLUDE_PAD] & ~1) != 0)
      return q8__err (err, es, Q8_EOP, "ceil_mode %d or count_include_pad %d "
                      "is not 0 or 1", pr[Q8_POOL_CEIL_MODE],
                      pr[Q8_POOL_COUNT_INCLUDE_PAD]);
    if (!avg && pr[Q8_POOL_COUNT_INCLUDE_PAD] != 0)
      return q8__err (err, es, Q8_EOP, "count_include_pad is for avgpool");
  }
  if (!avg) {
    if (x->scale != y->scale || x->zero_point != y->zero_point)
      return q8__err (err, es, Q8_EOP, "input and output quantization "
                      "differ");
    return Q8_OK;
  }
  /* The multipliers for the smallest and the largest possible divisor
   * bound all others. */
  double ratio = (double) x->scale / y->scale;
  int64_t nmax = pr[Q8_POOL_GLOBAL] ? POOL_MAX_GLOBAL
                                    : (int64_t) pr[Q8_POOL_KH] * pr[Q8_POOL_KW];
  int32_t mult, shift;
  if (!q8__quantize_multiplier_r (ratio, &mult, &shift)
      || !q8__quantize_multiplier_r (ratio / (double) nmax, &mult, &shift))
    return q8__err (err, es, Q8_EOP, "scale ratio %g / %g out of range",
                    (double) x->scale, (double) y->scale);
  return Q8_OK;
}

static q8_status
maxpool_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  return pool_validate (m, op, false, err, es);
}

static q8_status
avgpool_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  return pool_validate (m, op, true, err, es);
}

typedef struct {
  q8_pool_params p;
  q8_pool_fn fn;
  /* Rule R pairs for the divisors n_min..kh*kw follow the struct. */
} pool_plan;

/* Output length along one axis (ONNX): with ceil_mode the last window must
 * still start inside the input or its leading padding. */
static int64_t
out_len (int64_t in, int32_t k, int32_t s, int32_t pb, int32_t pa, bool ceil)
{
  int64_t span = in + pb + pa - k;
  if (span < 0)
    return 0;
  int64_t o = (ceil ? (span + s - 1) / s : span / s) + 1;
  if (ceil && (o - 1) * s >= in + pb)
    o--;
  return o;
}

static q8_status
pool_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
              q8__plan_op *pop, const q8__shape *in, q8__shape *out,
              char *err, size_t es)
{
  const int32_t *pr = op->params;
  const bool avg = op->type == Q8_OP_AVGPOOL, global = pr[Q8_POOL_GLOBAL];
  q8_pool_params pp = { .in_h = in[0].h, .in_w = in[0].w, .c = in[0].c };
  if (global) {
    if ((int64_t) in[0].h * in[0].w > POOL_MAX_GLOBAL)
      return q8__err (err, es, Q8_ETOOBIG, "global pooling of %dx%d: more "
                      "than %lld pixels", in[0].w, in[0].h,
                      (long long) POOL_MAX_GLOBAL);
    pp.kh = in[0].h;
    pp.kw = in[0].w;
    pp.stride_h = pp.stride_w = 1;
    pp.out_h = pp.out_w = 1;
  } else {
    pp.kh = pr[Q8_POOL_KH];
    pp.kw = pr[Q8_POOL_KW];
    pp.stride_h = pr[Q8_POOL_STRIDE_H];
    pp.stride_w = pr[Q8_POOL_STRIDE_W];
    pp.pad_top = pr[Q8_POOL_PAD_TOP];
    pp.pad_left = pr[Q8_POOL_PAD_LEFT];
    pp.pad_bottom = pr[Q8_POOL_PAD_BOTTOM];
    pp.pad_right = pr[Q8_POOL_PAD_RIGHT];
    pp.count_include_pad = pr[Q8_POOL_COUNT_INCLUDE_PAD];
    bool ceil = pr[Q8_POOL_CEIL_MODE];
    int64_t oh = out_len (in[0].h, pp.kh, pp.stride_h, pp.pad_top,
                          pp.pad_bottom, ceil);
    int64_t ow = out_len (in[0].w, pp.kw, pp.stride_w, pp.pad_left,
                          pp.pad_right, ceil);
    if (oh < 1 || ow < 1)
      return q8__err (err, es, Q8_ESHAPE, "input %dx%d is smaller than the "
                      "padded kernel %dx%d", in[0].w, in[0].h, pp.kw, pp.kh);
    pp.out_h = (int32_t) oh;
    pp.out_w = (int32_t) ow;
  }
  /* Divisors: global windows all hold h * w taps; others 1..kh*kw. */
  int32_t n_min = global ? pp.kh * pp.kw : 1, n_max = pp.kh * pp.kw;
  size_t n_div = avg ? (size_t) (n_max - n_min + 1) : 0;
  pool_plan *p = q8__alloc (sizeof *p + 2 * n_div * sizeof (int32_t));
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  int32_t *mult = (int32_t *) (p + 1), *shift = mult + n_div;
  if (avg) {
    const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
    double ratio = (double) x->scale / y->scale;
    for (size_t i = 0; i < n_div; i++)
      /* In range: validate checked both ends. */
      q8__quantize_multiplier_r (ratio / (double) (n_min + (int32_t) i),
                                 &mult[i], &shift[i]);
    pp.in_zp = x->zero_point;
    pp.out_zp = y->zero_point;
    pp.n_min = n_min;
    pp.mult = mult;
    pp.shift = shift;
  }
  p->p = pp;
  p->fn = avg ? k->avgpool : k->maxpool;
  pop->params = p;
  pop->rows = pp.out_h;
  *out = (q8__shape) { pp.out_h, pp.out_w, in[0].c };
  return Q8_OK;
}

static void
pool_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
          void *const *outs, int32_t y0, int32_t y1)
{
  const pool_plan *p = pop->params;
  p->fn (&p->p, ins[0], outs[0], y0, y1);
}

static void
pool_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  const int32_t *pr = op->params;
  const char *name = op->type == Q8_OP_AVGPOOL ? "avgpool" : "maxpool";
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  if (pr[Q8_POOL_GLOBAL])
    snprintf (buf, size, "global %s, channels %d, x '%s' -> y '%s'", name,
              x->dims[3], x->name, y->name);
  else
    snprintf (buf, size, "%s %dx%d/%dx%d pad %d,%d,%d,%d%s%s, channels %d, "
              "x '%s' -> y '%s'", name, pr[Q8_POOL_KH], pr[Q8_POOL_KW],
              pr[Q8_POOL_STRIDE_H], pr[Q8_POOL_STRIDE_W], pr[Q8_POOL_PAD_TOP],
              pr[Q8_POOL_PAD_LEFT], pr[Q8_POOL_PAD_BOTTOM],
              pr[Q8_POOL_PAD_RIGHT], pr[Q8_POOL_CEIL_MODE] ? " ceil" : "",
              pr[Q8_POOL_COUNT_INCLUDE_PAD] ? " count_include_pad" : "",
              x->dims[3], x->name, y->name);
}

const q8__op_class q8__op_maxpool = {
  .name = "maxpool",
  .validate = maxpool_validate,
  .reshape = pool_reshape,
  .run = pool_run,
  .describe = pool_describe,
};

const q8__op_class q8__op_avgpool = {
  .name = "avgpool",
  .validate = avgpool_validate,
  .reshape = pool_reshape,
  .run = pool_run,
  .describe = pool_describe,
};
