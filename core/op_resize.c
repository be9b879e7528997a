/* op_resize.c - RESIZE by integer factors, nearest or bilinear with
 * half_pixel or asymmetric coordinates (ARITHMETIC.md, RESIZE).  Nearest
 * keeps the input's quantization; bilinear sums four taps with integer
 * weights out of (2 fh) x (2 fw) and requantizes once with rule R. */
#include <stdio.h>

#include "q8_internal.h"

#define RESIZE_MAX_FACTOR 16

static q8_status
resize_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
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
  int32_t fh = pr[Q8_RESIZE_FACTOR_H], fw = pr[Q8_RESIZE_FACTOR_W];
  int32_t mode = pr[Q8_RESIZE_MODE], coord = pr[Q8_RESIZE_COORD];
  if (fh < 1 || fw < 1 || fh > RESIZE_MAX_FACTOR || fw > RESIZE_MAX_FACTOR)
    return q8__err (err, es, Q8_EOP, "factors %dx%d outside 1..%d", fh, fw,
                    RESIZE_MAX_FACTOR);
  if ((mode != Q8_RESIZE_NEAREST && mode != Q8_RESIZE_BILINEAR)
      || (coord != Q8_RESIZE_HALF_PIXEL && coord != Q8_RESIZE_ASYMMETRIC)
      || (mode == Q8_RESIZE_NEAREST && coord != 0))
    return q8__err (err, es, Q8_EOP, "mode %d with coordinates %d invalid",
                    mode, coord);
  for (int i = Q8_RESIZE_COORD + 1; i < Q8_MAX_OP_PARAMS; i++)
    if (pr[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  if (mode == Q8_RESIZE_NEAREST) {
    if (x->scale != y->scale || x->zero_point != y->zero_point)
      return q8__err (err, es, Q8_EOP, "nearest: input and output "
                      "quantization differ");
    return Q8_OK;
  }
  int32_t mult, shift;
  if (!q8__quantize_multiplier_r ((double) x->scale
                                  / ((double) y->scale * 4 * fh * fw),
                                  &mult, &shift))
    return q8__err (err, es, Q8_EOP, "scale ratio %g / %g out of range",
                    (double) x->scale, (double) y->scale);
  return Q8_OK;
}

typedef struct {
  q8_resize_params p;
  q8_resize_fn fn;
} resize_plan;

static q8_status
resize_reshape (const q8_model *m, const q8__op *op,
                const q8_kernel_table *k, q8__plan_op *pop,
                const q8__shape *in, q8__shape *out, char *err, size_t es)
{
  const int32_t *pr = op->params;
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  int32_t fh = pr[Q8_RESIZE_FACTOR_H], fw = pr[Q8_RESIZE_FACTOR_W];
  /* The planner bounds every shape by Q8_MAX_DIM * 16, so these products
   * fit in int32. */
  if ((int64_t) in[0].h * fh > Q8_MAX_DIM * 16
      || (int64_t) in[0].w * fw > Q8_MAX_DIM * 16)
    return q8__err (err, es, Q8_ETOOBIG, "output too large");
  /* Column taps of the bilinear kernel follow the struct. */
  size_t ow = (size_t) in[0].w * fw;
  resize_plan *p = q8__alloc (sizeof *p + 3 * ow * sizeof (int32_t));
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  int32_t *col0 = (int32_t *) (p + 1), *col1 = col0 + ow, *colw = col1 + ow;
  for (size_t ox = 0; ox < ow; ox++)
    q8_resize_taps ((int32_t) ox, fw, in[0].w, pr[Q8_RESIZE_COORD], &col0[ox],
                    &col1[ox], &colw[ox]);
  p->p = (q8_resize_params) {
    .in_h = in[0].h, .in_w = in[0].w, .c = in[0].c, .fh = fh, .fw = fw,
    .mode = pr[Q8_RESIZE_MODE], .coord = pr[Q8_RESIZE_COORD],
    .in_zp = x->zero_point, .out_zp = y->zero_point,
    .col0 = col0, .col1 = col1, .colw = colw,
  };
  if (p->p.mode == Q8_RESIZE_BILINEAR)
    q8__quantize_multiplier_r ((double) x->scale
                               / ((double) y->scale * 4 * fh * fw),
                               &p->p.mult, &p->p.shift);
  p->fn = k->resize;
  pop->params = p;
  out->h = in[0].h * fh;
  out->w = in[0].w * fw;
  out->c = in[0].c;
  pop->rows = out->h;
  return Q8_OK;
}

static void
resize_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
            void *const *outs, int32_t y0, int32_t y1)
{
  const resize_plan *p = pop->params;
  p->fn (&p->p, ins[0], outs[0], y0, y1);
}

static void
resize_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  const int32_t *pr = op->params;
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  snprintf (buf, size, "resize x%dx%d %s%s, channels %d, x '%s' -> y '%s'",
            pr[Q8_RESIZE_FACTOR_H], pr[Q8_RESIZE_FACTOR_W],
            pr[Q8_RESIZE_MODE] == Q8_RESIZE_NEAREST ? "nearest" : "bilinear",
            pr[Q8_RESIZE_MODE] == Q8_RESIZE_NEAREST ? ""
            : pr[Q8_RESIZE_COORD] == Q8_RESIZE_HALF_PIXEL ? " half_pixel"
                                                          : " asymmetric",
            x->dims[3], x->name, y->name);
}

const q8__op_class q8__op_resize = {
  .name = "resize",
  .validate = resize_validate,
  .reshape = resize_reshape,
  .run = resize_run,
  .describe = resize_describe,
};
