/* op_quantize.c - QUANTIZE (U8/S8 -> S8) and DEQUANTIZE (S8 -> U8): a rule
 * S requantization between the two tensors' scales (ARITHMETIC.md). */
#include <stdlib.h>

#include "q8_internal.h"

static q8_status
validate (const q8_model *m, const q8__op *op, q8_dtype in_type,
          q8_dtype out_type, char *err, size_t es)
{
  if (op->n_inputs != 1)
    return q8__err (err, es, Q8_EOP, "takes 1 input, has %d", op->n_inputs);
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  if (op->inputs[0] == Q8_NO_TENSOR || x->is_const
      || (in_type != 0 && x->dtype != in_type) || y->dtype != out_type)
    return q8__err (err, es, Q8_EOP, "input '%s' (%s) or output '%s' (%s) "
                    "has the wrong type", x->name, q8_dtype_name (x->dtype),
                    y->name, q8_dtype_name (y->dtype));
  if (x->dims[3] != y->dims[3])
    return q8__err (err, es, Q8_EOP, "input has %d channels, output %d",
                    x->dims[3], y->dims[3]);
  for (int i = 0; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  int32_t mult, shift;
  if (!q8__quantize_multiplier_s ((double) x->scale / y->scale, &mult, &shift))
    return q8__err (err, es, Q8_EOP, "scale ratio %g / %g out of range",
                    (double) x->scale, (double) y->scale);
  return Q8_OK;
}

static q8_status
quantize_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  return validate (m, op, 0, Q8_DTYPE_S8, err, es);
}

static q8_status
dequantize_validate (const q8_model *m, const q8__op *op, char *err,
                     size_t es)
{
  return validate (m, op, Q8_DTYPE_S8, Q8_DTYPE_U8, err, es);
}

typedef struct {
  q8_rescale_params rp;
  q8_rescale_fn fn;
  int32_t w, c;
} params;

static q8_status
reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
         q8__plan_op *pop, const q8__shape *in, q8__shape *out, char *err,
         size_t es)
{
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  params *p = q8__alloc (sizeof *p);
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  p->rp.x_zp = x->zero_point;
  p->rp.y_zp = y->zero_point;
  p->rp.x_u8 = x->dtype == Q8_DTYPE_U8;
  p->rp.y_u8 = y->dtype == Q8_DTYPE_U8;
  q8__quantize_multiplier_s ((double) x->scale / y->scale, &p->rp.mult,
                             &p->rp.shift);
  p->fn = k->rescale;
  p->w = in[0].w;
  p->c = in[0].c;
  pop->params = p;
  pop->rows = in[0].h;
  *out = in[0];
  return Q8_OK;
}

static void
run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
     void *const *outs, int32_t y0, int32_t y1)
{
  const params *p = pop->params;
  size_t row = (size_t) p->w * p->c;
  if (pop->out_stride == 0) {
    p->fn ((size_t) (y1 - y0) * p->w, (size_t) p->c,
           (const uint8_t *) ins[0] + (size_t) y0 * row, (size_t) p->c,
           (uint8_t *) outs[0] + (size_t) y0 * row, (size_t) p->c, &p->rp);
    return;
  }
  /* Bound to a caller's buffer whose rows are out_stride apart. */
  for (int32_t y = y0; y < y1; y++)
    p->fn ((size_t) p->w, (size_t) p->c,
           (const uint8_t *) ins[0] + (size_t) y * row, (size_t) p->c,
           (uint8_t *) outs[0] + (size_t) y * pop->out_stride, (size_t) p->c,
           &p->rp);
}

const q8__op_class q8__op_quantize = {
  .name = "quantize",
  .validate = quantize_validate,
  .reshape = reshape,
  .run = run,
};

const q8__op_class q8__op_dequantize = {
  .name = "dequantize",
  .validate = dequantize_validate,
  .reshape = reshape,
  .run = run,
};
