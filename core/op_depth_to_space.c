/* op_depth_to_space.c - DEPTH_TO_SPACE in DCR and CRD order (ARITHMETIC.md):
 * pure data movement, so input and output share scale and zero point. */
#include "q8_internal.h"

static q8_status
d2s_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  if (op->n_inputs != 1 || op->inputs[0] == Q8_NO_TENSOR)
    return q8__err (err, es, Q8_EOP, "takes 1 input, has %d", op->n_inputs);
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  int32_t b = op->params[Q8_D2S_BLOCK], mode = op->params[Q8_D2S_MODE];
  if (b < 1 || b > 16 || (mode != Q8_D2S_DCR && mode != Q8_D2S_CRD))
    return q8__err (err, es, Q8_EOP, "block %d (1..16) or mode %d invalid",
                    b, mode);
  for (int i = 2; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  if (x->is_const || x->dtype != Q8_DTYPE_S8 || y->dtype != Q8_DTYPE_S8
      || x->dims[3] % (b * b) != 0 || y->dims[3] != x->dims[3] / (b * b))
    return q8__err (err, es, Q8_EOP, "input '%s' has %d channels: block %d "
                    "needs a multiple of %d and gives %d, output '%s' has %d",
                    x->name, x->dims[3], b, b * b, x->dims[3] / (b * b),
                    y->name, y->dims[3]);
  if (x->scale != y->scale || x->zero_point != y->zero_point)
    return q8__err (err, es, Q8_EOP, "input and output quantization differ");
  return Q8_OK;
}

typedef struct {
  q8_d2s_params p;
  q8_d2s_fn fn;
} params;

static q8_status
d2s_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
             q8__plan_op *pop, const q8__shape *in, q8__shape *out, char *err,
             size_t es)
{
  int32_t b = op->params[Q8_D2S_BLOCK];
  if (in[0].h > Q8_MAX_DIM * 16 / b || in[0].w > Q8_MAX_DIM * 16 / b)
    return q8__err (err, es, Q8_ETOOBIG, "output too large");
  params *p = q8__alloc (sizeof *p);
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  p->p = (q8_d2s_params) { in[0].h, in[0].w, in[0].c, b,
                           op->params[Q8_D2S_MODE] };
  p->fn = k->depth_to_space;
  pop->params = p;
  out->h = in[0].h * b;
  out->w = in[0].w * b;
  out->c = in[0].c / (b * b);
  pop->rows = out->h;
  return Q8_OK;
}

static void
d2s_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
         void *const *outs, int32_t y0, int32_t y1)
{
  const params *p = pop->params;
  p->fn (&p->p, ins[0], outs[0], y0, y1);
}

const q8__op_class q8__op_depth_to_space = {
  .name = "depth_to_space",
  .validate = d2s_validate,
  .reshape = d2s_reshape,
  .run = d2s_run,
};
