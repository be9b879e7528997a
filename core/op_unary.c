/* op_unary.c - UNARY: a nonlinear function applied as 256-entry lookup
 * tables built at load time (ARITHMETIC.md, "UNARY"): one table, or one per
 * channel for PRELU and per-channel TABLE. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

static float
param_f (const q8__op *op, int slot)
{
  float f;
  memcpy (&f, &op->params[slot], sizeof f);
  return f;
}

static q8_status
unary_validate (const q8_model *m, const q8__op *op, char *err, size_t es)
{
  int32_t kind = op->params[Q8_UNARY_KIND];
  if (kind < 0 || kind >= Q8_UNARY_KIND_COUNT)
    return q8__err (err, es, Q8_EUNSUPPORTED, "unknown unary kind %d", kind);
  bool wants_const = kind == Q8_UNARY_TABLE || kind == Q8_UNARY_PRELU;
  if (op->n_inputs != (wants_const ? 2 : 1) || op->inputs[0] == Q8_NO_TENSOR)
    return q8__err (err, es, Q8_EOP, "kind %d takes %d inputs, has %d", kind,
                    wants_const ? 2 : 1, op->n_inputs);
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  if (x->is_const || x->dtype != Q8_DTYPE_S8 || y->dtype != Q8_DTYPE_S8
      || x->dims[3] != y->dims[3])
    return q8__err (err, es, Q8_EOP, "input '%s' and output '%s' must be s8 "
                    "with equal channels (%d, %d)", x->name, y->name,
                    x->dims[3], y->dims[3]);
  if (!isfinite (param_f (op, Q8_UNARY_ALPHA))
      || !isfinite (param_f (op, Q8_UNARY_BETA)))
    return q8__err (err, es, Q8_EOP, "alpha or beta not finite");
  for (int i = 3; i < Q8_MAX_OP_PARAMS; i++)
    if (op->params[i] != 0)
      return q8__err (err, es, Q8_EOP, "parameter %d must be 0", i);
  if (wants_const) {
    if (op->inputs[1] == Q8_NO_TENSOR)
      return q8__err (err, es, Q8_EOP, "missing table/alpha tensor");
    const q8__tensor *t = q8__op_in (m, op, 1);
    int32_t c = x->dims[3];
    if (kind == Q8_UNARY_TABLE) {
      bool one = t->rank == 1 && t->dims[0] == 256;
      bool per = t->rank == 2 && t->dims[0] == c && t->dims[1] == 256;
      if (!t->is_const || t->dtype != Q8_DTYPE_S8 || !(one || per))
        return q8__err (err, es, Q8_EOP, "table '%s' must be const s8 [256] "
                        "or [%d, 256]", t->name, c);
    } else {
      if (!t->is_const || t->dtype != Q8_DTYPE_F32 || t->rank != 1
          || t->dims[0] != c)
        return q8__err (err, es, Q8_EOP, "alpha '%s' must be const f32 [%d]",
                        t->name, c);
      const float *a = t->data;
      for (int32_t i = 0; i < c; i++)
        if (!isfinite (a[i]))
          return q8__err (err, es, Q8_EOP, "alpha[%d] not finite", i);
    }
  }
  return Q8_OK;
}

typedef struct {
  size_t n_tables;
  int8_t tables[]; /* n_tables x 256 */
} state;

static double
apply (int32_t kind, double v, double alpha, double beta)
{
  switch (kind) {
    case Q8_UNARY_RELU:
      return v > 0 ? v : 0;
    case Q8_UNARY_TANH:
      return tanh (v);
    case Q8_UNARY_SIGMOID:
      return 1.0 / (1.0 + exp (-v));
    case Q8_UNARY_HARDSIGMOID:
      return fmax (0.0, fmin (1.0, alpha * v + beta));
    case Q8_UNARY_HARDSWISH:
      return v * fmax (0.0, fmin (1.0, v / 6.0 + 0.5));
    default: /* LEAKYRELU, PRELU */
      return v >= 0 ? v : alpha * v;
  }
}

static q8_status
unary_prepare (const q8_model *m, q8__op *op, char *err, size_t es)
{
  int32_t kind = op->params[Q8_UNARY_KIND];
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  size_t n = 1;
  if (kind == Q8_UNARY_PRELU
      || (kind == Q8_UNARY_TABLE && q8__op_in (m, op, 1)->rank == 2))
    n = (size_t) x->dims[3];
  state *s = malloc (sizeof *s + n * 256);
  if (s == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  s->n_tables = n;
  if (kind == Q8_UNARY_TABLE) {
    memcpy (s->tables, q8__op_in (m, op, 1)->data, n * 256);
  } else {
    const float *alphas = kind == Q8_UNARY_PRELU ? q8__op_in (m, op, 1)->data
                                                 : NULL;
    for (size_t t = 0; t < n; t++) {
      double alpha = alphas ? alphas[t] : param_f (op, Q8_UNARY_ALPHA);
      for (int q = -128; q < 128; q++) {
        double v = apply (kind, (double) x->scale * (q - x->zero_point),
                          alpha, param_f (op, Q8_UNARY_BETA));
        double r = round (v / y->scale) + y->zero_point;
        s->tables[t * 256 + (size_t) (q + 128)]
            = (int8_t) (r < -128 ? -128 : r > 127 ? 127 : r);
      }
    }
  }
  op->state = s;
  return Q8_OK;
}

static void
unary_free (q8__op *op)
{
  free (op->state);
  op->state = NULL;
}

typedef struct {
  q8_lut_fn lut;
  q8_lut_channels_fn lut_channels;
  int32_t w, c;
} params;

static q8_status
unary_reshape (const q8_model *m, const q8__op *op, const q8_kernel_table *k,
               q8__plan_op *pop, const q8__shape *in, q8__shape *out,
               char *err, size_t es)
{
  params *p = q8__alloc (sizeof *p);
  if (p == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  p->lut = k->lut;
  p->lut_channels = k->lut_channels;
  p->w = in[0].w;
  p->c = in[0].c;
  pop->params = p;
  pop->rows = in[0].h;
  *out = in[0];
  return Q8_OK;
}

static void
unary_run (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
           void *const *outs, int32_t y0, int32_t y1)
{
  const params *p = pop->params;
  const state *s = op->state;
  size_t row = (size_t) p->w * p->c, px = (size_t) (y1 - y0) * p->w;
  const int8_t *x = (const int8_t *) ins[0] + (size_t) y0 * row;
  int8_t *y = (int8_t *) outs[0] + (size_t) y0 * row;
  if (s->n_tables == 1)
    p->lut (px * p->c, x, y, s->tables);
  else
    p->lut_channels (px, (size_t) p->c, x, y, s->tables);
}

static const int8_t *
unary_fusable_lut (const q8__op *op)
{
  const state *s = op->state;
  return s->n_tables == 1 ? s->tables : NULL;
}

/* "unary tanh, 64 channels, x 'a' -> y 'b'" (alpha and beta where the
 * kind has them). */
static void
unary_describe (const q8_model *m, const q8__op *op, char *buf, size_t size)
{
  static const char *const names[Q8_UNARY_KIND_COUNT] = {
    "table", "relu", "tanh", "sigmoid", "hardsigmoid", "hardswish",
    "leakyrelu", "prelu",
  };
  int32_t kind = op->params[Q8_UNARY_KIND];
  float alpha, beta;
  memcpy (&alpha, &op->params[Q8_UNARY_ALPHA], sizeof alpha);
  memcpy (&beta, &op->params[Q8_UNARY_BETA], sizeof beta);
  char extra[64] = "";
  if (kind == Q8_UNARY_HARDSIGMOID)
    snprintf (extra, sizeof extra, " alpha %g beta %g", (double) alpha,
              (double) beta);
  else if (kind == Q8_UNARY_LEAKYRELU)
    snprintf (extra, sizeof extra, " alpha %g", (double) alpha);
  const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
  snprintf (buf, size, "unary %s%s, channels %d, x '%s' -> y '%s'",
            kind >= 0 && kind < Q8_UNARY_KIND_COUNT ? names[kind] : "?",
            extra, x->dims[3], x->name, y->name);
}

const q8__op_class q8__op_unary = {
  .name = "unary",
  .validate = unary_validate,
  .prepare = unary_prepare,
  .free_state = unary_free,
  .reshape = unary_reshape,
  .run = unary_run,
  .fusable_lut = unary_fusable_lut,
  .describe = unary_describe,
};
