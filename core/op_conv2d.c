/* op_conv2d.c - the CONV2D op: int8 convolution with any kernel size,
 * stride, dilation, padding and group count (depthwise included), a fused
 * activation clamp and, when the planner fuses a following UNARY, a fused
 * lookup table (ARITHMETIC.md, "CONV2D").
 *
 * Load time: validate () checks the tensors, the parameters, the weight
 * values (no -128), the accumulator bound and that every per-channel
 * multiplier has a Rule R pair; prepare () computes those pairs and packs
 * the weights once for every ISA path this machine has, so a plan on any
 * path (q8_set_isa_limit () may change it between plans) finds its packed
 * weights ready.  Plan time: reshape () computes the output size and fills
 * the kernel parameters.  Run time: run () calls the kernel on a range of
 * output rows.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

/* Parameter bounds, far above what real networks use, low enough that
 * every index and size below stays small: kernel sides 1..64, strides and
 * dilations 1..16, each padding 0..64. */
#define CONV_MAX_KERNEL 64
#define CONV_MAX_STRIDE 16
#define CONV_MAX_DILATION 16
#define CONV_MAX_PAD 64

/* Load-time state: Rule R pairs per output channel and, per ISA, the
 * kernel chosen for this layer and its packed weights.  Tables of several
 * ISAs may choose the same kernel (the scalar fallback); those share one
 * packed copy, owned by the lowest ISA that chose it. */
typedef struct {
  int32_t *mult, *shift; /* [out_c] */
  const q8_conv_ukernel *uk[Q8_ISA_COUNT];
  void *packed[Q8_ISA_COUNT];
  bool owns[Q8_ISA_COUNT];
} conv_state;

/* Plan-time data (pop->params). */
typedef struct {
  q8_conv_params p;
  const q8_conv_ukernel *uk;
  const void *packed;
} conv_plan;

/* Fails with the message alone: the loader and the planner prefix it with
 * "op N (conv2d)" (they did so twice before). */
static q8_status
op_err (const q8_model *m, const q8__op *op, char *err, size_t err_size,
        q8_status st, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));

static q8_status
op_err (const q8_model *m, const q8__op *op, char *err, size_t err_size,
        q8_status st, const char *fmt, ...)
{
  char msg[224];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  return q8__err (err, err_size, st, "%s", msg);
}

/* The scale of output channel oc of weight tensor w. */
static double
weight_scale (const q8__tensor *w, int32_t oc)
{
  return w->channel_scales != NULL ? w->channel_scales[oc] : w->scale;
}

static const q8__tensor *
bias_tensor (const q8_model *m, const q8__op *op)
{
  if (op->n_inputs < 3 || op->inputs[2] == Q8_NO_TENSOR)
    return NULL;
  return q8__op_in (m, op, 2);
}

/* Checks one parameter slot against [lo, hi]. */
static q8_status
check_range (const q8_model *m, const q8__op *op, char *err, size_t err_size,
             int slot, const char *what, int32_t lo, int32_t hi)
{
  int32_t v = op->params[slot];
  if (v < lo || v > hi)
    return op_err (m, op, err, err_size, Q8_EOP,
                   "%s is %d, must be %d..%d", what, v, lo, hi);
  return Q8_OK;
}

static q8_status
validate_params (const q8_model *m, const q8__op *op, char *err,
                 size_t err_size)
{
  static const struct {
    int slot;
    const char *what;
    int32_t lo, hi;
  } ranges[] = {
    { Q8_CONV_KH, "kernel height", 1, CONV_MAX_KERNEL },
    { Q8_CONV_KW, "kernel width", 1, CONV_MAX_KERNEL },
    { Q8_CONV_STRIDE_H, "vertical stride", 1, CONV_MAX_STRIDE },
    { Q8_CONV_STRIDE_W, "horizontal stride", 1, CONV_MAX_STRIDE },
    { Q8_CONV_DILATION_H, "vertical dilation", 1, CONV_MAX_DILATION },
    { Q8_CONV_DILATION_W, "horizontal dilation", 1, CONV_MAX_DILATION },
    { Q8_CONV_PAD_TOP, "top padding", 0, CONV_MAX_PAD },
    { Q8_CONV_PAD_LEFT, "left padding", 0, CONV_MAX_PAD },
    { Q8_CONV_PAD_BOTTOM, "bottom padding", 0, CONV_MAX_PAD },
    { Q8_CONV_PAD_RIGHT, "right padding", 0, CONV_MAX_PAD },
    { Q8_CONV_GROUPS, "groups", 1, 65536 },
    { Q8_CONV_ACT_MIN, "act_min", -128, 127 },
    { Q8_CONV_ACT_MAX, "act_max", -128, 127 },
  };
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    q8_status st = check_range (m, op, err, err_size, ranges[i].slot,
                                ranges[i].what, ranges[i].lo, ranges[i].hi);
    if (st < 0)
      return st;
  }
  if (op->params[Q8_CONV_ACT_MIN] > op->params[Q8_CONV_ACT_MAX])
    return op_err (m, op, err, err_size, Q8_EOP,
                   "act_min %d is above act_max %d",
                   op->params[Q8_CONV_ACT_MIN], op->params[Q8_CONV_ACT_MAX]);
  for (int i = Q8_CONV_ACT_MAX + 1; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return op_err (m, op, err, err_size, Q8_EOP,
                     "unused parameter slot %d is %d, must be 0", i,
                     op->params[i]);
  return Q8_OK;
}

/* Tensor roles, indices, types and kinds. */
static q8_status
validate_tensors (const q8_model *m, const q8__op *op, char *err,
                  size_t err_size)
{
  if (op->n_inputs < 2 || op->n_inputs > 3 || op->n_outputs != 1)
    return op_err (m, op, err, err_size, Q8_EOP,
                   "has %d inputs and %d outputs, needs 2 or 3 (x, w, "
                   "[bias]) and 1 (y)", op->n_inputs, op->n_outputs);
  for (int i = 0; i < op->n_inputs; i++) {
    uint32_t t = op->inputs[i];
    if ((t == Q8_NO_TENSOR && i < 2) || (t != Q8_NO_TENSOR
                                         && t >= m->n_tensors))
      return op_err (m, op, err, err_size, Q8_EOP,
                     "input %d is tensor %u, of %u tensors", i, t,
                     m->n_tensors);
  }
  if (op->outputs[0] >= m->n_tensors)
    return op_err (m, op, err, err_size, Q8_EOP,
                   "output is tensor %u, of %u tensors", op->outputs[0],
                   m->n_tensors);

  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *b = bias_tensor (m, op), *y = q8__op_out (m, op, 0);
  if (x->is_const || x->dtype != Q8_DTYPE_S8)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "input x %u '%s' must be an s8 activation, is a%s %s %s",
                   op->inputs[0], x->name, x->is_const ? "" : "n",
                   x->is_const ? "constant" : "activation",
                   q8_dtype_name (x->dtype));
  if (y->is_const || y->dtype != Q8_DTYPE_S8)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "output y %u '%s' must be an s8 activation, is a%s %s %s",
                   op->outputs[0], y->name, y->is_const ? "" : "n",
                   y->is_const ? "constant" : "activation",
                   q8_dtype_name (y->dtype));
  if (!w->is_const || w->dtype != Q8_DTYPE_S8 || w->rank != 4)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' must be a constant s8 tensor of rank 4, "
                   "is %s %s of rank %d", op->inputs[1], w->name,
                   w->is_const ? "constant" : "activation",
                   q8_dtype_name (w->dtype), w->rank);
  if (w->zero_point != 0 || (w->channel_scales == NULL && !(w->scale > 0)))
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' must be symmetric with positive scales "
                   "(zero point %d, scale %g)", op->inputs[1], w->name,
                   w->zero_point, w->scale);
  if (b != NULL && (!b->is_const || b->dtype != Q8_DTYPE_S32
                    || b->rank != 1))
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "bias %u '%s' must be a constant s32 tensor of rank 1, "
                   "is %s %s of rank %d", op->inputs[2], b->name,
                   b->is_const ? "constant" : "activation",
                   q8_dtype_name (b->dtype), b->rank);
  return Q8_OK;
}

/* Channel counts and groups between x, w, bias, y and the parameters. */
static q8_status
validate_shapes (const q8_model *m, const q8__op *op, char *err,
                 size_t err_size)
{
  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *b = bias_tensor (m, op), *y = q8__op_out (m, op, 0);
  const int32_t kh = op->params[Q8_CONV_KH], kw = op->params[Q8_CONV_KW];
  const int32_t groups = op->params[Q8_CONV_GROUPS];
  const int32_t ic = x->dims[3], oc = w->dims[0];

  if (w->dims[1] != kh || w->dims[2] != kw)
    return op_err (m, op, err, err_size, Q8_EOP,
                   "kernel is %dx%d but weight %u '%s' is %dx%d", kh, kw,
                   op->inputs[1], w->name, w->dims[1], w->dims[2]);
  if (ic % groups != 0 || oc % groups != 0)
    return op_err (m, op, err, err_size, Q8_EOP,
                   "%d groups do not divide %d input and %d output "
                   "channels", groups, ic, oc);
  if (w->dims[3] != ic / groups)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' has %d input channels per group, input "
                   "x %u '%s' has %d channels in %d groups", op->inputs[1],
                   w->name, w->dims[3], op->inputs[0], x->name, ic, groups);
  if (y->dims[3] != oc)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' has %d output channels, output y %u '%s' "
                   "has %d", op->inputs[1], w->name, oc, op->outputs[0],
                   y->name, y->dims[3]);
  size_t n = (size_t) oc * (size_t) kh * (size_t) kw * (size_t) w->dims[3];
  if (w->nbytes != n || w->data == NULL)
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' holds %zu bytes, needs %zu",
                   op->inputs[1], w->name, w->nbytes, n);
  if (b != NULL && (b->dims[0] != oc || b->nbytes != (size_t) oc * 4
                    || b->data == NULL))
    return op_err (m, op, err, err_size, Q8_ETENSOR,
                   "weight %u '%s' has %d output channels, bias %u '%s' "
                   "has %d", op->inputs[1], w->name, oc, op->inputs[2],
                   b->name, b->dims[0]);
  return Q8_OK;
}

/* Weight values, the accumulator bound and the Rule R multipliers, per
 * output channel. */
static q8_status
validate_values (const q8_model *m, const q8__op *op, char *err,
                 size_t err_size)
{
  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *b = bias_tensor (m, op), *y = q8__op_out (m, op, 0);
  const int32_t oc_n = w->dims[0];
  const size_t per_oc = (size_t) w->dims[1] * w->dims[2] * w->dims[3];
  const int8_t *wd = w->data;
  const int32_t *bd = b != NULL ? b->data : NULL;

  for (int32_t oc = 0; oc < oc_n; oc++) {
    const int8_t *wo = wd + (size_t) oc * per_oc;
    /* At most 64 * 64 * 65536 taps of 127: far inside int64. */
    int64_t sum_abs = 0;
    for (size_t i = 0; i < per_oc; i++) {
      if (wo[i] == -128) {
        size_t icg = (size_t) w->dims[3], kw = (size_t) w->dims[2];
        return op_err (m, op, err, err_size, Q8_ETENSOR,
                       "weight %u '%s' holds -128 at [%d][%zu][%zu][%zu]; "
                       "weights must be in -127..127", op->inputs[1],
                       w->name, oc, i / icg / kw, i / icg % kw, i % icg);
      }
      sum_abs += wo[i] < 0 ? -wo[i] : wo[i];
    }
    int64_t bias = bd != NULL ? bd[oc] : 0;
    int64_t bound = (bias < 0 ? -bias : bias) + 512 * sum_abs;
    if (bound > INT32_MAX)
      return op_err (m, op, err, err_size, Q8_ETENSOR,
                     "output channel %d: |bias| %lld + 512 * sum|w| %lld = "
                     "%lld exceeds the accumulator bound 2^31 - 1", oc,
                     (long long) (bias < 0 ? -bias : bias),
                     (long long) sum_abs, (long long) bound);

    double mult = (double) x->scale * weight_scale (w, oc) / y->scale;
    int32_t M, r;
    if (!q8__quantize_multiplier_r (mult, &M, &r))
      return op_err (m, op, err, err_size, Q8_EOP,
                     "output channel %d: multiplier x.scale %g * w.scale %g "
                     "/ y.scale %g = %g is outside [2^-40, 2^30)", oc,
                     (double) x->scale, weight_scale (w, oc),
                     (double) y->scale, mult);
  }
  return Q8_OK;
}

static q8_status
conv_validate (const q8_model *m, const q8__op *op, char *err,
               size_t err_size)
{
  q8_status st = validate_tensors (m, op, err, err_size);
  if (st >= 0)
    st = validate_params (m, op, err, err_size);
  if (st >= 0)
    st = validate_shapes (m, op, err, err_size);
  if (st >= 0)
    st = validate_values (m, op, err, err_size);
  return st;
}

/* The size-independent kernel parameters (spatial sizes 0, no table). */
static void
fill_params (const q8_model *m, const q8__op *op, const conv_state *s,
             q8_conv_params *p)
{
  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *y = q8__op_out (m, op, 0);
  memset (p, 0, sizeof *p);
  p->in_c = x->dims[3];
  p->out_c = w->dims[0];
  p->kh = op->params[Q8_CONV_KH];
  p->kw = op->params[Q8_CONV_KW];
  p->stride_h = op->params[Q8_CONV_STRIDE_H];
  p->stride_w = op->params[Q8_CONV_STRIDE_W];
  p->dilation_h = op->params[Q8_CONV_DILATION_H];
  p->dilation_w = op->params[Q8_CONV_DILATION_W];
  p->pad_top = op->params[Q8_CONV_PAD_TOP];
  p->pad_left = op->params[Q8_CONV_PAD_LEFT];
  p->groups = op->params[Q8_CONV_GROUPS];
  p->in_zp = x->zero_point;
  p->out_zp = y->zero_point;
  p->act_min = op->params[Q8_CONV_ACT_MIN];
  p->act_max = op->params[Q8_CONV_ACT_MAX];
  p->mult = s->mult;
  p->shift = s->shift;
  p->lut = NULL;
}

static void
conv_free_state (q8__op *op)
{
  conv_state *s = op->state;
  if (s == NULL)
    return;
  for (int i = 0; i < Q8_ISA_COUNT; i++)
    if (s->owns[i])
      q8__free (s->packed[i]);
  free (s->mult);
  free (s->shift);
  free (s);
  op->state = NULL;
}

static q8_status
conv_prepare (const q8_model *m, q8__op *op, char *err, size_t err_size)
{
  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *b = bias_tensor (m, op), *y = q8__op_out (m, op, 0);
  const int32_t oc_n = w->dims[0];
  conv_state *s = calloc (1, sizeof *s);
  op->state = s;
  if (s == NULL)
    goto nomem;
  s->mult = calloc ((size_t) oc_n, sizeof *s->mult);
  s->shift = calloc ((size_t) oc_n, sizeof *s->shift);
  if (s->mult == NULL || s->shift == NULL)
    goto nomem;
  /* validate () proved every pair exists. */
  for (int32_t oc = 0; oc < oc_n; oc++)
    q8__quantize_multiplier_r ((double) x->scale * weight_scale (w, oc)
                                   / y->scale,
                               &s->mult[oc], &s->shift[oc]);

  q8_conv_params p;
  fill_params (m, op, s, &p);
  for (int isa = 0; isa < Q8_ISA_COUNT; isa++) {
    const q8_kernel_table *t = q8__kernels_for ((q8_isa) isa);
    if (t == NULL)
      continue;
    const q8_conv_ukernel *uk = q8__conv_select (t, &p);
    s->uk[isa] = uk;
    for (int j = 0; j < isa; j++)
      if (s->uk[j] == uk) {
        s->packed[isa] = s->packed[j];
        break;
      }
    if (s->packed[isa] != NULL)
      continue;
    s->packed[isa] = q8__alloc (uk->packed_size (&p));
    if (s->packed[isa] == NULL)
      goto nomem;
    s->owns[isa] = true;
    uk->pack (&p, w->data, b != NULL ? b->data : NULL, s->packed[isa]);
  }
  return Q8_OK;

nomem:
  conv_free_state (op);
  return op_err (m, op, err, err_size, Q8_ENOMEM,
                 "out of memory packing %d output channels", oc_n);
}

/* floor ((n + pads - dilation * (k - 1) - 1) / stride) + 1, or a value
 * below 1 when the padded input is smaller than the dilated kernel. */
static int64_t
out_size (int64_t n, int32_t pad0, int32_t pad1, int32_t k, int32_t dil,
          int32_t stride)
{
  int64_t span = n + pad0 + pad1 - (int64_t) dil * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

static q8_status
conv_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
              q8__plan_op *pop, const q8__shape *in, q8__shape *out,
              char *err, size_t err_size)
{
  const conv_state *s = op->state;
  const int32_t *pr = op->params;
  q8_conv_params p;
  fill_params (m, op, s, &p);
  if (in[0].c != p.in_c)
    return q8__err (err, err_size, Q8_ESHAPE,
                    "input has %d channels, the weights take %d", in[0].c,
                    p.in_c);
  int64_t oh = out_size (in[0].h, pr[Q8_CONV_PAD_TOP], pr[Q8_CONV_PAD_BOTTOM],
                         p.kh, p.dilation_h, p.stride_h);
  int64_t ow = out_size (in[0].w, pr[Q8_CONV_PAD_LEFT], pr[Q8_CONV_PAD_RIGHT],
                         p.kw, p.dilation_w, p.stride_w);
  if (oh < 1 || ow < 1)
    return q8__err (err, err_size, Q8_ESHAPE,
                    "padded input is %lldx%lld (h x w), smaller than the "
                    "dilated kernel's %lldx%lld",
                    (long long) in[0].h + pr[Q8_CONV_PAD_TOP]
                        + pr[Q8_CONV_PAD_BOTTOM],
                    (long long) in[0].w + pr[Q8_CONV_PAD_LEFT]
                        + pr[Q8_CONV_PAD_RIGHT],
                    (long long) p.dilation_h * (p.kh - 1) + 1,
                    (long long) p.dilation_w * (p.kw - 1) + 1);
  if (s->uk[k->isa] == NULL)
    return q8__err (err, err_size, Q8_EUNSUPPORTED,
                    "no weights were packed for ISA %s",
                    q8_isa_name (k->isa));
  p.in_h = in[0].h;
  p.in_w = in[0].w;
  /* Bounded by the input size plus 128 of padding: fits int32. */
  p.out_h = (int32_t) oh;
  p.out_w = (int32_t) ow;
  p.lut = pop->fused_lut;

  conv_plan *cp = q8__alloc (sizeof *cp);
  if (cp == NULL)
    return q8__err (err, err_size, Q8_ENOMEM, "out of memory");
  cp->p = p;
  cp->uk = s->uk[k->isa];
  cp->packed = s->packed[k->isa];
  pop->params = cp;
  pop->rows = p.out_h;
  pop->macs = (uint64_t) oh * (uint64_t) ow * (uint64_t) p.out_c
              * (uint64_t) p.kh * (uint64_t) p.kw
              * (uint64_t) (p.in_c / p.groups);
  out->h = p.out_h;
  out->w = p.out_w;
  out->c = p.out_c;
  return Q8_OK;
}

static void
conv_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
          void *const *outs, int32_t y0, int32_t y1)
{
  const conv_plan *cp = pop->params;
  (void) op;
  cp->uk->run (&cp->p, cp->packed, ins[0], outs[0], y0, y1);
}

const q8_conv_ukernel *
q8__conv_plan_kernel (const q8__plan_op *pop)
{
  const conv_plan *cp = pop->params;
  return cp->uk;
}

/* "conv2d 3x3/1 pad 1,1,1,1 dil 1 groups 1, 64->32, act [-128,127],
 *  x 'a' -> y 'b'"; pairs that differ between height and width are
 * written h x w (pads as top, left, bottom, right). */
static void
conv_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  const int32_t *pr = op->params;
  const q8__tensor *x = q8__op_in (m, op, 0), *w = q8__op_in (m, op, 1);
  const q8__tensor *y = q8__op_out (m, op, 0);
  char stride[32], dil[32];
  if (pr[Q8_CONV_STRIDE_H] == pr[Q8_CONV_STRIDE_W])
    snprintf (stride, sizeof stride, "%d", pr[Q8_CONV_STRIDE_H]);
  else
    snprintf (stride, sizeof stride, "%dx%d", pr[Q8_CONV_STRIDE_H],
              pr[Q8_CONV_STRIDE_W]);
  if (pr[Q8_CONV_DILATION_H] == pr[Q8_CONV_DILATION_W])
    snprintf (dil, sizeof dil, "%d", pr[Q8_CONV_DILATION_H]);
  else
    snprintf (dil, sizeof dil, "%dx%d", pr[Q8_CONV_DILATION_H],
              pr[Q8_CONV_DILATION_W]);
  int32_t groups = pr[Q8_CONV_GROUPS];
  snprintf (buf, size,
            "conv2d %dx%d/%s pad %d,%d,%d,%d dil %s groups %d%s, %d->%d, "
            "act [%d,%d], x '%s' -> y '%s'", pr[Q8_CONV_KH], pr[Q8_CONV_KW],
            stride, pr[Q8_CONV_PAD_TOP], pr[Q8_CONV_PAD_LEFT],
            pr[Q8_CONV_PAD_BOTTOM], pr[Q8_CONV_PAD_RIGHT], dil, groups,
            groups > 1 && groups == x->dims[3] ? " (depthwise)" : "",
            x->dims[3], w->dims[0], pr[Q8_CONV_ACT_MIN], pr[Q8_CONV_ACT_MAX],
            x->name, y->name);
}

const q8__op_class q8__op_conv2d = {
  .name = "conv2d",
  .validate = conv_validate,
  .prepare = conv_prepare,
  .free_state = conv_free_state,
  .reshape = conv_reshape,
  .run = conv_run,
  .fusable_lut = NULL,
  .describe = conv_describe,
};
