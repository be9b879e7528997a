/* op_add.c - ADD of two int8 tensors of the same shape, each rescaled to
 * the output's scale with one shared rule S shift, and a fused activation
 * clamp (ARITHMETIC.md, ADD). */
#include <math.h>
#include <stdio.h>

#include "q8_internal.h"

/* The shared-shift pair of multipliers; false if a ratio is out of rule S
 * range. */
static bool
add_multipliers (const q8__tensor *a, const q8__tensor *b,
                 const q8__tensor *y, q8_add_params *p)
{
  double ma = (double) a->scale / y->scale, mb = (double) b->scale / y->scale;
  int32_t mult, shift;
  if (!q8__quantize_multiplier_s (ma > mb ? ma : mb, &mult, &shift))
    return false;
  int64_t Ma = llround (ldexp (ma, shift)), Mb = llround (ldexp (mb, shift));
  if (Ma >= (1 << 21) || Mb >= (1 << 21))
    return false;
  p->a_mult = (int32_t) Ma;
  p->b_mult = (int32_t) Mb;
  p->shift = shift;
  return true;
}

static q8_status
add_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  if (op->n_inputs != 2 || op->inputs[0] == Q8_NO_TENSOR
      || op->inputs[1] == Q8_NO_TENSOR)
    return q8__err (err, es, Q8_EOP, "takes 2 inputs, has %d", op->n_inputs);
  const q8__tensor *a = q8__op_in (m, op, 0), *b = q8__op_in (m, op, 1);
  const q8__tensor *y = q8__op_out (m, op, 0);
  if (a->is_const || b->is_const || a->dtype != Q8_DTYPE_S8
      || b->dtype != Q8_DTYPE_S8 || y->dtype != Q8_DTYPE_S8)
    return q8__err (err, es, Q8_EOP, "inputs '%s', '%s' and output '%s' must "
                    "be int8 activations", a->name, b->name, y->name);
  if (a->dims[3] != y->dims[3] || b->dims[3] != y->dims[3])
    return q8__err (err, es, Q8_EOP, "channels differ: '%s' %d, '%s' %d, "
                    "output '%s' %d", a->name, a->dims[3], b->name, b->dims[3],
                    y->name, y->dims[3]);
  int32_t lo = op->params[Q8_ADD_ACT_MIN], hi = op->params[Q8_ADD_ACT_MAX];
  if (lo < -128 || hi > 127 || lo > hi)
    return q8__err (err, es, Q8_EOP, "activation clamp [%d, %d] invalid", lo,
                    hi);
  for (int i = 2; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  q8_add_params p;
  if (!add_multipliers (a, b, y, &p))
    return q8__err (err, es, Q8_EOP, "scale ratios %g / %g and %g / %g out "
                    "of range", (double) a->scale, (double) y->scale,
                    (double) b->scale, (double) y->scale);
  return Q8_OK;
}

typedef struct {
  q8_add_params p;
  q8_add_fn fn;
  size_t row;
} add_plan;

static q8_status
add_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
             q8__plan_op *pop, const q8__shape *in, q8__shape *out, char *err,
             size_t es)
{
  if (in[0].h != in[1].h || in[0].w != in[1].w)
    return q8__err (err, es, Q8_ESHAPE, "inputs are %dx%d and %dx%d",
                    in[0].w, in[0].h, in[1].w, in[1].h);
  add_plan *p = q8__alloc (sizeof *p);
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  const q8__tensor *a = q8__op_in (m, op, 0), *b = q8__op_in (m, op, 1);
  const q8__tensor *y = q8__op_out (m, op, 0);
  add_multipliers (a, b, y, &p->p);
  p->p.a_zp = a->zero_point;
  p->p.b_zp = b->zero_point;
  p->p.y_zp = y->zero_point;
  p->p.act_min = op->params[Q8_ADD_ACT_MIN];
  p->p.act_max = op->params[Q8_ADD_ACT_MAX];
  p->fn = k->add;
  p->row = (size_t) in[0].w * in[0].c;
  pop->params = p;
  pop->rows = in[0].h;
  *out = in[0];
  return Q8_OK;
}

static void
add_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
         void *const *outs, int32_t y0, int32_t y1)
{
  const add_plan *p = pop->params;
  size_t at = (size_t) y0 * p->row;
  p->fn ((size_t) (y1 - y0) * p->row, (const int8_t *) ins[0] + at,
         (const int8_t *) ins[1] + at, (int8_t *) outs[0] + at, &p->p);
}

static void
add_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  snprintf (buf, size, "add, channels %d, act [%d,%d], '%s' + '%s' -> '%s'",
            q8__op_out (m, op, 0)->dims[3], op->params[Q8_ADD_ACT_MIN],
            op->params[Q8_ADD_ACT_MAX], q8__op_in (m, op, 0)->name,
            q8__op_in (m, op, 1)->name, q8__op_out (m, op, 0)->name);
}

const q8__op_class q8__op_add = {
  .name = "add",
  .validate = add_validate,
  .reshape = add_reshape,
  .run = add_run,
  .describe = add_describe,
};
