/* emit.c - writes a quantized IR graph into a q8_builder: int8 weights
 * in OHWI order with per-channel scales, int32 biases at scale
 * x.scale * w.scale[oc], fused clamps as int8 bounds, and the U8 pixel
 * boundary (a QUANTIZE after each image input, a DEQUANTIZE before each
 * image output).  Every number follows core/ARITHMETIC.md; the checks the
 * loader makes (weights in [-127, 127], the accumulator bound) are made
 * here first with messages that name the ONNX node.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

typedef struct {
  const cv_graph *g;
  const cv_quant_opts *o;
  q8_builder *b;
  int64_t *map;      /* IR tensor -> q8 tensor */
  char *err;
  size_t err_size;
} emitter;

/* q8 strings are at most 255 bytes. */
static const char *
short_name (const char *name, const char *suffix, char *buf, size_t size)
{
  snprintf (buf, size, "%.200s%s", name, suffix);
  return buf;
}

static q8_status
builder_fail (emitter *e, int64_t r, const char *what, const char *name)
{
  return cv_err (e->err, e->err_size, r < 0 ? (q8_status) r : Q8_EINVAL,
                 "q8 builder refused %s '%s': %s", what, name,
                 q8_status_str ((q8_status) r));
}

static q8_status
emit_activation (emitter *e, int t, const char *suffix, int64_t *out)
{
  const cv_tensor *T = &e->g->t[t];
  char nm[256];
  int64_t r = q8_builder_add_activation (e->b, short_name (T->name, suffix,
                                                           nm, sizeof nm),
                                         Q8_DTYPE_S8, (int32_t) T->dims[1],
                                         (float) T->q_scale, T->q_zp);
  if (r < 0)
    return builder_fail (e, r, "activation", T->name);
  *out = r;
  return Q8_OK;
}

static q8_status
add_op (emitter *e, const cv_node *n, q8_op_type type, int n_in,
        const uint32_t *ins, uint32_t out, const int32_t *params)
{
  int64_t r = q8_builder_add_op (e->b, type, n_in, ins, 1, &out, params,
                                 Q8_MAX_OP_PARAMS);
  if (r < 0)
    return builder_fail (e, r, "op", n ? n->name : "boundary");
  return Q8_OK;
}

static q8_status
emit_conv (emitter *e, const cv_node *n, uint32_t out)
{
  cv_conv_q q;
  q8_status st = cv_conv_quantize (e->g, n, e->o->per_tensor, &q, e->err,
                                   e->err_size);
  if (st < 0)
    return st;
  char nm[256];
  int32_t wd[4] = { q.oc, q.kh, q.kw, q.icg };
  int64_t wt = q8_builder_add_const (e->b, short_name (n->name, "/w", nm,
                                                       sizeof nm),
                                     Q8_DTYPE_S8, 4, wd, q.w, 0, 0,
                                     q.scales);
  int64_t bt = wt < 0 ? wt
                      : q8_builder_add_const (e->b,
                                              short_name (n->name, "/b", nm,
                                                          sizeof nm),
                                              Q8_DTYPE_S32, 1, &q.oc, q.bias,
                                              0, 0, NULL);
  if (wt < 0 || bt < 0) {
    st = builder_fail (e, wt < 0 ? wt : bt, "weights or bias of", n->name);
    goto out;
  }
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };
  p[Q8_CONV_KH] = q.kh;
  p[Q8_CONV_KW] = q.kw;
  p[Q8_CONV_STRIDE_H] = n->stride_h;
  p[Q8_CONV_STRIDE_W] = n->stride_w;
  p[Q8_CONV_DILATION_H] = n->dil_h;
  p[Q8_CONV_DILATION_W] = n->dil_w;
  p[Q8_CONV_PAD_TOP] = n->pad_t;
  p[Q8_CONV_PAD_LEFT] = n->pad_l;
  p[Q8_CONV_PAD_BOTTOM] = n->pad_b;
  p[Q8_CONV_PAD_RIGHT] = n->pad_r;
  p[Q8_CONV_GROUPS] = n->groups;
  p[Q8_CONV_ACT_MIN] = q.act_min;
  p[Q8_CONV_ACT_MAX] = q.act_max;
  uint32_t ins[3] = { (uint32_t) e->map[n->in[0]], (uint32_t) wt,
                      (uint32_t) bt };
  st = add_op (e, n, Q8_OP_CONV2D, 3, ins, out, p);
out:
  cv_conv_q_free (&q);
  return st;
}

static int32_t
float_bits (double v)
{
  float f = (float) v;
  int32_t i;
  memcpy (&i, &f, sizeof i);
  return i;
}

static q8_status
emit_eltwise (emitter *e, const cv_node *n, uint32_t out)
{
  const cv_graph *g = e->g;
  const cv_tensor *X = &g->t[n->in[0]], *Y = &g->t[n->out[0]];
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };
  uint32_t ins[2] = { (uint32_t) e->map[n->in[0]], 0 };
  int n_in = 1;
  char nm[256];
  int32_t c = (int32_t) X->dims[1];
  if (n->ew <= CV_EW_LEAKYRELU) {
    p[Q8_UNARY_KIND] = (int32_t) n->ew; /* same numbers as q8_unary_kind */
    p[Q8_UNARY_ALPHA] = float_bits (n->alpha);
    p[Q8_UNARY_BETA] = float_bits (n->beta);
    if (n->ew != CV_EW_HARDSIGMOID && n->ew != CV_EW_LEAKYRELU)
      p[Q8_UNARY_ALPHA] = p[Q8_UNARY_BETA] = 0;
    if (n->ew == CV_EW_LEAKYRELU)
      p[Q8_UNARY_BETA] = 0;
  } else if (n->ew == CV_EW_PRELU) {
    const cv_tensor *S = &g->t[n->in[1]];
    float *a = malloc ((size_t) c * sizeof (float));
    if (!a)
      return Q8_ENOMEM;
    for (int32_t k = 0; k < c; k++)
      a[k] = (float) S->data[cv_numel (S) > 1 ? k : 0];
    int64_t t = q8_builder_add_const (e->b, short_name (n->name, "/slope",
                                                        nm, sizeof nm),
                                      Q8_DTYPE_F32, 1, &c, a, 0, 0, NULL);
    free (a);
    if (t < 0)
      return builder_fail (e, t, "slope of", n->name);
    p[Q8_UNARY_KIND] = Q8_UNARY_PRELU;
    ins[1] = (uint32_t) t;
    n_in = 2;
  } else {
    /* Clip and affine maps: an explicit table, per channel if the map
     * differs between channels (ARITHMETIC.md UNARY, same rounding). */
    int32_t rows = n->ew == CV_EW_AFFINE && n->n_ew > 1 ? c : 1;
    int8_t *tab = malloc ((size_t) rows * 256);
    if (!tab)
      return Q8_ENOMEM;
    for (int32_t k = 0; k < rows; k++)
      for (int q = -128; q < 128; q++) {
        double v = cv_eltwise_eval (n, g, k, X->q_scale * (q - X->q_zp));
        tab[k * 256 + q + 128] = (int8_t) cv_clamp8 (round (v / Y->q_scale)
                                                  + Y->q_zp);
      }
    int32_t dims[2] = { rows, 256 };
    int64_t t = q8_builder_add_const (e->b, short_name (n->name, "/table",
                                                        nm, sizeof nm),
                                      Q8_DTYPE_S8, rows > 1 ? 2 : 1,
                                      rows > 1 ? dims : dims + 1, tab, 1.0f,
                                      0, NULL);
    free (tab);
    if (t < 0)
      return builder_fail (e, t, "table of", n->name);
    p[Q8_UNARY_KIND] = Q8_UNARY_TABLE;
    ins[1] = (uint32_t) t;
    n_in = 2;
  }
  return add_op (e, n, Q8_OP_UNARY, n_in, ins, out, p);
}

static q8_status
emit_node (emitter *e, const cv_node *n, uint32_t out)
{
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };
  uint32_t ins[Q8_MAX_OP_INPUTS];
  for (int j = 0; j < n->n_in && j < Q8_MAX_OP_INPUTS; j++)
    ins[j] = (uint32_t) e->map[n->in[j]];
  switch (n->op) {
  case CV_CONV:
    return emit_conv (e, n, out);
  case CV_ELTWISE:
    return emit_eltwise (e, n, out);
  case CV_ADD:
    cv_act_bounds (&e->g->t[n->out[0]], n->act_lo, n->act_hi,
                &p[Q8_ADD_ACT_MIN], &p[Q8_ADD_ACT_MAX]);
    return add_op (e, n, Q8_OP_ADD, 2, ins, out, p);
  case CV_CONCAT:
    return add_op (e, n, Q8_OP_CONCAT, n->n_in, ins, out, p);
  case CV_D2S:
    p[Q8_D2S_BLOCK] = n->block;
    p[Q8_D2S_MODE] = n->mode;
    return add_op (e, n, Q8_OP_DEPTH_TO_SPACE, 1, ins, out, p);
  case CV_MAXPOOL:
  case CV_AVGPOOL:
    if (n->global) {
      p[Q8_POOL_GLOBAL] = 1;
    } else {
      p[Q8_POOL_KH] = n->kh;
      p[Q8_POOL_KW] = n->kw;
      p[Q8_POOL_STRIDE_H] = n->stride_h;
      p[Q8_POOL_STRIDE_W] = n->stride_w;
      p[Q8_POOL_PAD_TOP] = n->pad_t;
      p[Q8_POOL_PAD_LEFT] = n->pad_l;
      p[Q8_POOL_PAD_BOTTOM] = n->pad_b;
      p[Q8_POOL_PAD_RIGHT] = n->pad_r;
      p[Q8_POOL_CEIL_MODE] = n->ceil_mode;
      p[Q8_POOL_COUNT_INCLUDE_PAD] = n->op == CV_AVGPOOL
                                     && n->count_include_pad;
    }
    return add_op (e, n, n->op == CV_MAXPOOL ? Q8_OP_MAXPOOL
                                             : Q8_OP_AVGPOOL, 1, ins, out, p);
  case CV_RESIZE:
    p[Q8_RESIZE_FACTOR_H] = n->factor_h;
    p[Q8_RESIZE_FACTOR_W] = n->factor_w;
    p[Q8_RESIZE_MODE] = n->resize_mode;
    p[Q8_RESIZE_COORD] = n->resize_mode == Q8_RESIZE_BILINEAR
                           ? n->resize_coord : 0;
    return add_op (e, n, Q8_OP_RESIZE, 1, ins, out, p);
  default:
    return cv_err (e->err, e->err_size, Q8_EUNSUPPORTED, "node '%s' (%s) "
                   "was not lowered to a q8 op", n->name, n->onnx_type);
  }
}

static bool
is_output (const cv_graph *g, int t)
{
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t)
      return true;
  return false;
}

q8_status
cv_quant_build (const cv_graph *g, const cv_quant_opts *o, q8_builder *b,
                char *err, size_t err_size)
{
  emitter e = { g, o, b, NULL, err, err_size };
  e.map = malloc ((size_t) g->n_t * sizeof (int64_t));
  if (!e.map)
    return Q8_ENOMEM;
  for (int i = 0; i < g->n_t; i++)
    e.map[i] = -1;
  q8_status st = Q8_OK;
  char nm[256];
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };

  for (int i = 0; i < g->n_inputs; i++) {
    int t = g->inputs[i];
    const cv_tensor *T = &g->t[t];
    if (o->u8_input) {
      int64_t u = q8_builder_add_activation (b, short_name (T->name, "", nm,
                                                            sizeof nm),
                                             Q8_DTYPE_U8,
                                             (int32_t) T->dims[1],
                                             (float) (g->input_mul[i] / 255),
                                             0);
      if (u < 0) {
        st = builder_fail (&e, u, "input", T->name);
        goto out;
      }
      if ((st = emit_activation (&e, t, "/s8", &e.map[t])) < 0)
        goto out;
      uint32_t in = (uint32_t) u;
      if ((st = add_op (&e, NULL, Q8_OP_QUANTIZE, 1, &in,
                        (uint32_t) e.map[t], p)) < 0)
        goto out;
      if ((st = q8_builder_add_input (b, (uint32_t) u)) < 0)
        goto out;
    } else {
      if ((st = emit_activation (&e, t, "", &e.map[t])) < 0
          || (st = q8_builder_add_input (b, (uint32_t) e.map[t])) < 0)
        goto out;
    }
  }
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    int t = n->out[0];
    bool boundary = o->u8_output && is_output (g, t);
    if ((st = emit_activation (&e, t, boundary ? "/s8" : "", &e.map[t])) < 0
        || (st = emit_node (&e, n, (uint32_t) e.map[t])) < 0)
      goto out;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    int t = g->outputs[i];
    const cv_tensor *T = &g->t[t];
    if (!o->u8_output) {
      if ((st = q8_builder_add_output (b, (uint32_t) e.map[t])) < 0)
        goto out;
      continue;
    }
    int64_t u = q8_builder_add_activation (b, short_name (T->name, "", nm,
                                                          sizeof nm),
                                           Q8_DTYPE_U8, (int32_t) T->dims[1],
                                           1.0f / 255, 0);
    if (u < 0) {
      st = builder_fail (&e, u, "output", T->name);
      goto out;
    }
    uint32_t in = (uint32_t) e.map[t];
    if ((st = add_op (&e, NULL, Q8_OP_DEQUANTIZE, 1, &in, (uint32_t) u, p))
          < 0
        || (st = q8_builder_add_output (b, (uint32_t) u)) < 0)
      goto out;
  }
out:
  free (e.map);
  return st;
}
