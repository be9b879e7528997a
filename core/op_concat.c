/* op_concat.c - CONCAT along channels: each input is rescaled to the
 * output's quantization with rule S into its slice of every output pixel
 * (ARITHMETIC.md, CONCAT); equal quantization is a copy. */
#include <stdio.h>
#include <string.h>

#include "q8_internal.h"

static q8_status
concat_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  if (op->n_inputs < 1 || op->n_inputs > Q8_MAX_OP_INPUTS)
    return q8__err (err, es, Q8_EOP, "takes 1..%d inputs, has %d",
                    Q8_MAX_OP_INPUTS, op->n_inputs);
  const q8__tensor *y = q8__op_out (m, op, 0);
  if (y->dtype != Q8_DTYPE_S8)
    return q8__err (err, es, Q8_EOP, "output '%s' must be int8", y->name);
  int64_t c = 0;
  for (int i = 0; i < op->n_inputs; i++) {
    if (op->inputs[i] == Q8_NO_TENSOR)
      return q8__err (err, es, Q8_EOP, "input %d is absent", i);
    const q8__tensor *x = q8__op_in (m, op, i);
    if (x->is_const || x->dtype != Q8_DTYPE_S8)
      return q8__err (err, es, Q8_EOP, "input '%s' must be an int8 "
                      "activation", x->name);
    int32_t mult, shift;
    if (!q8__quantize_multiplier_s ((double) x->scale / y->scale, &mult,
                                    &shift))
      return q8__err (err, es, Q8_EOP, "scale ratio %g / %g of input '%s' "
                      "out of range", (double) x->scale, (double) y->scale,
                      x->name);
    c += x->dims[3];
  }
  if (c != y->dims[3])
    return q8__err (err, es, Q8_EOP, "inputs have %lld channels in all, "
                    "output '%s' %d", (long long) c, y->name, y->dims[3]);
  for (int i = 0; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  return Q8_OK;
}

typedef struct {
  q8_rescale_fn fn;
  int32_t w, out_c;
  int n;
  int32_t c[Q8_MAX_OP_INPUTS];
  bool copy[Q8_MAX_OP_INPUTS];
  q8_rescale_params rp[Q8_MAX_OP_INPUTS];
} concat_plan;

static q8_status
concat_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
                q8__plan_op *pop, const q8__shape *in, q8__shape *out,
                char *err, size_t es)
{
  for (int i = 1; i < op->n_inputs; i++)
    if (in[i].h != in[0].h || in[i].w != in[0].w)
      return q8__err (err, es, Q8_ESHAPE, "input %d is %dx%d, input 0 %dx%d",
                      i, in[i].w, in[i].h, in[0].w, in[0].h);
  concat_plan *p = q8__alloc (sizeof *p);
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  const q8__tensor *y = q8__op_out (m, op, 0);
  p->fn = k->rescale;
  p->w = in[0].w;
  p->out_c = y->dims[3];
  p->n = op->n_inputs;
  for (int i = 0; i < op->n_inputs; i++) {
    const q8__tensor *x = q8__op_in (m, op, i);
    p->c[i] = in[i].c;
    p->copy[i] = x->scale == y->scale && x->zero_point == y->zero_point;
    p->rp[i] = (q8_rescale_params) { .x_zp = x->zero_point,
                                     .y_zp = y->zero_point };
    q8__quantize_multiplier_s ((double) x->scale / y->scale, &p->rp[i].mult,
                               &p->rp[i].shift);
  }
  pop->params = p;
  pop->rows = in[0].h;
  *out = (q8__shape) { in[0].h, in[0].w, p->out_c };
  return Q8_OK;
}

static void
concat_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
            void *const *outs, int32_t y0, int32_t y1)
{
  const concat_plan *p = pop->params;
  size_t pixels = (size_t) (y1 - y0) * p->w, first = (size_t) y0 * p->w;
  int8_t *y = (int8_t *) outs[0] + first * p->out_c;
  for (int i = 0; i < p->n; i++) {
    size_t c = (size_t) p->c[i];
    const int8_t *x = (const int8_t *) ins[i] + first * c;
    if (p->copy[i] && c == (size_t) p->out_c)
      memcpy (y, x, pixels * c);
    else if (p->copy[i])
      for (size_t j = 0; j < pixels; j++)
        memcpy (y + j * p->out_c, x + j * c, c);
    else
      p->fn (pixels, c, x, c, y, (size_t) p->out_c, &p->rp[i]);
    y += c;
  }
}

static void
concat_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  const q8__tensor *y = q8__op_out (m, op, 0);
  int n = snprintf (buf, size, "concat of %d inputs (", op->n_inputs);
  for (int i = 0; i < op->n_inputs && n >= 0 && (size_t) n < size; i++)
    n += snprintf (buf + n, size - n, "%s'%s' %d", i ? ", " : "",
                   q8__op_in (m, op, i)->name, q8__op_in (m, op, i)->dims[3]);
  if (n >= 0 && (size_t) n < size)
    snprintf (buf + n, size - n, ") -> '%s' %d", y->name, y->dims[3]);
}

const q8__op_class q8__op_concat = {
  .name = "concat",
  .validate = concat_validate,
  .reshape = concat_reshape,
  .run = concat_run,
  .describe = concat_describe,
};
