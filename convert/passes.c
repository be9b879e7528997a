/* passes.c - lowers an imported graph to ops q8 can run.
 *
 * In order: QuantizeLinear/DequantizeLinear pairs become quantization
 * parameters of the tensor they wrap (converted to q8's int8 scheme);
 * BatchNormalization folds into the preceding convolution (an unfolded
 * BatchNorm quantizes badly); constant Add/Sub/Mul/Div become per-channel
 * affine maps that fold into the preceding convolution when it has no
 * other reader, or into the input's scale, or else stay as a lookup-table
 * op; the Reshape -> Transpose -> Reshape PixelShuffle pattern becomes
 * DepthToSpace; ReLU and Clip after a convolution or an add become its
 * output clamp.  Whatever is left that q8 cannot run is an error naming
 * the node.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

/* Replaces every read of tensor from by to (nodes and graph outputs). */
static void
replace_uses (cv_graph *g, int from, int to)
{
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == from)
        n->in[j] = to;
  }
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == from)
      g->outputs[i] = to;
}

static bool
is_graph_output (const cv_graph *g, int t)
{
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == t)
      return true;
  return false;
}

/* The node producing tensor t if t has no other reader (and is not a
 * graph output), so the producer may be changed to absorb its reader. */
static cv_node *
sole_producer (cv_graph *g, int t, cv_op op)
{
  cv_tensor *T = &g->t[t];
  if (T->producer < 0 || T->n_consumers != 1 || is_graph_output (g, t))
    return NULL;
  cv_node *p = &g->n[T->producer];
  return p->op == op && !p->dead ? p : NULL;
}

/* Node p takes over the output of its single reader n, which dies. */
static void
absorb (cv_graph *g, cv_node *p, cv_node *n)
{
  int mid = p->out[0];
  p->out[0] = n->out[0];
  n->dead = true;
  /* The intermediate tensor keeps its quantization if the absorbed node
   * imported some: the output is what q8 produces now. */
  if (g->t[mid].has_q && !g->t[n->out[0]].has_q) {
    g->t[n->out[0]].has_q = true;
    g->t[n->out[0]].q_imported = g->t[mid].q_imported;
    g->t[n->out[0]].q_scale = g->t[mid].q_scale;
    g->t[n->out[0]].q_zp = g->t[mid].q_zp;
  }
  cv_graph_link (g);
}

static int
copy_const (cv_graph *g, int src, const char *suffix)
{
  char name[300];
  snprintf (name, sizeof name, "%s%s", g->t[src].name, suffix);
  int t = cv_tensor_add (g, name);
  if (t < 0)
    return -1;
  cv_tensor *S = &g->t[src], *T = &g->t[t];
  T->rank = S->rank;
  memcpy (T->dims, S->dims, sizeof T->dims);
  T->is_const = true;
  int64_t n = cv_numel (S);
  T->data = malloc ((size_t) (n ? n : 1) * sizeof (double));
  if (!T->data)
    return -1;
  memcpy (T->data, S->data, (size_t) n * sizeof (double));
  return t;
}

/* Multiplies output channel oc of conv p by mul[oc] and adds add[oc]:
 * new weights and bias tensors, so shared constants stay intact. */
static q8_status
conv_affine (cv_graph *g, cv_node *p, const double *mul, const double *add,
             bool keep_w_scales)
{
  int w = copy_const (g, p->in[1], "/folded");
  if (w < 0)
    return Q8_ENOMEM;
  int64_t oc = g->t[w].dims[0], per = cv_numel (&g->t[w]) / oc;
  int b;
  if (p->n_in >= 3) {
    b = copy_const (g, p->in[2], "/folded");
  } else {
    char name[300];
    snprintf (name, sizeof name, "%s/bias", p->name);
    b = cv_tensor_add (g, name);
    if (b >= 0) {
      g->t[b].rank = 1;
      g->t[b].dims[0] = oc;
      g->t[b].is_const = true;
      g->t[b].data = calloc ((size_t) oc, sizeof (double));
      if (!g->t[b].data)
        b = -1;
    }
  }
  if (b < 0)
    return Q8_ENOMEM;
  cv_tensor *W = &g->t[w], *B = &g->t[b];
  for (int64_t o = 0; o < oc; o++) {
    for (int64_t i = 0; i < per; i++)
      W->data[o * per + i] *= mul[o];
    B->data[o] = B->data[o] * mul[o] + add[o];
  }
  const cv_tensor *W0 = &g->t[p->in[1]];
  if (keep_w_scales && W0->w_scales) {
    /* The trained integers stay the same with the scales multiplied
     * (only for positive factors). */
    W->n_w_scales = W0->n_w_scales;
    W->w_scales = malloc ((size_t) W->n_w_scales * sizeof (double));
    if (!W->w_scales)
      return Q8_ENOMEM;
    for (int o = 0; o < W->n_w_scales; o++)
      W->w_scales[o] = W0->w_scales[o] * fabs (mul[o]);
  }
  p->in[1] = w;
  p->in[2] = b;
  p->n_in = 3;
  return Q8_OK;
}

q8_status
cv_fold_batchnorm (cv_graph *g, char *err, size_t err_size)
{
  cv_graph_link (g);
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead || n->op != CV_BN)
      continue;
    int64_t c = g->t[n->in[0]].dims[1];
    double *mul = malloc ((size_t) c * sizeof (double));
    double *add = malloc ((size_t) c * sizeof (double));
    if (!mul || !add) {
      free (mul);
      free (add);
      return Q8_ENOMEM;
    }
    const double *gamma = g->t[n->in[1]].data, *beta = g->t[n->in[2]].data,
                 *mean = g->t[n->in[3]].data, *var = g->t[n->in[4]].data;
    bool bad = false;
    for (int64_t k = 0; k < c; k++) {
      if (!(var[k] + n->epsilon > 0))
        bad = true;
      mul[k] = gamma[k] / sqrt (var[k] + n->epsilon);
      add[k] = beta[k] - mean[k] * mul[k];
    }
    if (bad) {
      free (mul);
      free (add);
      return cv_err (err, err_size, Q8_EINVAL, "node '%s' (%s): a variance "
                     "plus epsilon is not positive", n->name, n->onnx_type);
    }
    cv_node *p = sole_producer (g, n->in[0], CV_CONV);
    q8_status st = Q8_OK;
    if (p) {
      st = conv_affine (g, p, mul, add, false);
      if (st == Q8_OK)
        absorb (g, p, n);
      free (mul);
      free (add);
    } else {
      /* No convolution to fold into: a per-channel affine map, which q8
       * runs as a per-channel lookup table. */
      n->op = CV_ELTWISE;
      n->ew = CV_EW_AFFINE;
      n->ew_mul = mul;
      n->ew_add = add;
      n->n_ew = (int) c;
      n->n_in = 1;
      cv_warn (g, "node '%s' (BatchNormalization) does not follow a "
               "convolution; it runs as a per-channel lookup table",
               n->name);
    }
    if (st < 0)
      return st;
  }
  return Q8_OK;
}

/* QDQ pairs: the wrapped tensor takes their parameters, the pair goes. */
static q8_status
lower_fakeq (cv_graph *g)
{
  int shifted = 0;
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead || n->op != CV_FAKEQ)
      continue;
    int x = n->in[0], y = n->out[0];
    int32_t zp = n->fq_zp;
    if (n->fq_qmin == 0) {
      /* uint8 -> int8: same scale, zero point - 128, exactly the same
       * real values. */
      zp -= 128;
      shifted++;
    }
    cv_tensor *X = &g->t[x];
    if (!X->has_q) {
      X->has_q = true;
      X->q_imported = true;
      X->q_scale = n->fq_scale;
      X->q_zp = zp;
    } else if (X->q_scale != n->fq_scale || X->q_zp != zp) {
      cv_warn (g, "tensor '%s' is quantized twice with different "
               "parameters; the first (scale %g, zero point %d) is kept",
               X->name, X->q_scale, X->q_zp);
    }
    n->dead = true;
    replace_uses (g, y, x);
  }
  if (shifted)
    cv_warn (g, "%d uint8 QuantizeLinear/DequantizeLinear pairs were "
             "converted to int8 (same scale, zero point - 128; the values "
             "are unchanged)", shifted);
  cv_graph_link (g);
  return Q8_OK;
}

/* Constant Add/Sub/Mul/Div: per-channel affine maps. */
static q8_status
lower_binconst (cv_graph *g)
{
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead || n->op != CV_BINCONST)
      continue;
    int act = n->in[1 - n->const_index], cst = n->in[n->const_index];
    int64_t c = g->t[act].dims[1];
    const cv_tensor *C = &g->t[cst];
    double *mul = malloc ((size_t) c * sizeof (double));
    double *add = malloc ((size_t) c * sizeof (double));
    if (!mul || !add) {
      free (mul);
      free (add);
      return Q8_ENOMEM;
    }
    bool per_c = cv_numel (C) > 1;
    for (int64_t k = 0; k < c; k++) {
      double v = C->data[per_c ? k : 0];
      mul[k] = 1;
      add[k] = 0;
      switch (n->bin) {
      case CV_BIN_ADD: add[k] = v; break;
      case CV_BIN_SUB:
        if (n->const_index == 1) {
          add[k] = -v;
        } else {
          mul[k] = -1;
          add[k] = v;
        }
        break;
      case CV_BIN_MUL: mul[k] = v; break;
      case CV_BIN_DIV: mul[k] = 1.0 / v; break;
      }
    }
    n->op = CV_ELTWISE;
    n->ew = CV_EW_AFFINE;
    n->ew_mul = mul;
    n->ew_add = add;
    n->n_ew = (int) c;
    n->in[0] = act;
    n->n_in = 1;
  }
  return Q8_OK;
}

/* Affine maps fold into a preceding convolution, merge with a preceding
 * affine map, or (positive scalar factors on a graph input) into the
 * input's scale. */
static q8_status
fold_affine (cv_graph *g)
{
  cv_graph_link (g);
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead || n->op != CV_ELTWISE || n->ew != CV_EW_AFFINE)
      continue;
    cv_node *p = sole_producer (g, n->in[0], CV_CONV);
    if (p) {
      bool pos = true;
      for (int k = 0; k < n->n_ew; k++)
        pos = pos && n->ew_mul[k] > 0;
      q8_status st = conv_affine (g, p, n->ew_mul, n->ew_add, pos);
      if (st < 0)
        return st;
      absorb (g, p, n);
      continue;
    }
    p = sole_producer (g, n->in[0], CV_ELTWISE);
    if (p && p->ew == CV_EW_AFFINE && p->n_ew == n->n_ew) {
      for (int k = 0; k < n->n_ew; k++) {
        p->ew_add[k] = p->ew_add[k] * n->ew_mul[k] + n->ew_add[k];
        p->ew_mul[k] *= n->ew_mul[k];
      }
      absorb (g, p, n);
      continue;
    }
    int x = n->in[0];
    for (int j = 0; j < g->n_inputs; j++) {
      if (g->inputs[j] != x || g->t[x].n_consumers != 1)
        continue;
      bool scalar = n->ew_mul[0] > 0;
      for (int k = 0; k < n->n_ew; k++)
        scalar = scalar && n->ew_mul[k] == n->ew_mul[0]
                 && n->ew_add[k] == 0;
      if (!scalar)
        continue;
      /* The q8 input now holds what the ONNX graph computes after the
       * multiplication. */
      g->input_mul[j] *= n->ew_mul[0];
      n->dead = true;
      replace_uses (g, n->out[0], x);
      cv_graph_link (g);
      break;
    }
  }
  return Q8_OK;
}

/* Reshape [1, C, H, W] -> [1, C/r^2, r, r, H, W] (CRD) or
 * [1, r, r, C/r^2, H, W] (DCR), Transpose, Reshape [1, C/r^2, rH, rW]. */
static void
lower_pixelshuffle (cv_graph *g)
{
  cv_graph_link (g);
  for (int i = 0; i < g->n_n; i++) {
    cv_node *r2 = &g->n[i];
    if (r2->dead || r2->op != CV_RESHAPE || g->t[r2->out[0]].rank != 4)
      continue;
    cv_node *tr = sole_producer (g, r2->in[0], CV_TRANSPOSE);
    if (!tr)
      continue;
    cv_node *r1 = sole_producer (g, tr->in[0], CV_RESHAPE);
    if (!r1)
      continue;
    const cv_tensor *X = &g->t[r1->in[0]], *M = &g->t[r1->out[0]],
                    *Y = &g->t[r2->out[0]];
    if (X->rank != 4 || M->rank != 6)
      continue;
    static const int crd[6] = { 0, 1, 4, 2, 5, 3 };
    static const int dcr[6] = { 0, 3, 4, 1, 5, 2 };
    int mode;
    int64_t b, oc;
    if (!memcmp (tr->perm, crd, sizeof crd) && M->dims[2] == M->dims[3]) {
      mode = Q8_D2S_CRD;
      b = M->dims[2];
      oc = M->dims[1];
    } else if (!memcmp (tr->perm, dcr, sizeof dcr)
               && M->dims[1] == M->dims[2]) {
      mode = Q8_D2S_DCR;
      b = M->dims[1];
      oc = M->dims[3];
    } else {
      continue;
    }
    if (M->dims[4] != X->dims[2] || M->dims[5] != X->dims[3]
        || oc * b * b != X->dims[1] || Y->dims[1] != oc
        || Y->dims[2] != X->dims[2] * b || Y->dims[3] != X->dims[3] * b)
      continue;
    r2->op = CV_D2S;
    r2->in[0] = r1->in[0];
    r2->block = (int) b;
    r2->mode = mode;
    r1->dead = tr->dead = true;
    cv_graph_link (g);
  }
}

/* ReLU and Clip after a convolution or an add become its clamp. */
static void
fuse_activations (cv_graph *g)
{
  cv_graph_link (g);
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead || n->op != CV_ELTWISE
        || (n->ew != CV_EW_RELU && n->ew != CV_EW_CLIP))
      continue;
    cv_node *p = sole_producer (g, n->in[0], CV_CONV);
    if (!p)
      p = sole_producer (g, n->in[0], CV_ADD);
    if (!p)
      continue;
    double lo = n->ew == CV_EW_RELU ? 0 : n->alpha;
    double hi = n->ew == CV_EW_RELU ? HUGE_VAL : n->beta;
    if (lo > p->act_lo)
      p->act_lo = lo;
    if (hi < p->act_hi)
      p->act_hi = hi;
    absorb (g, p, n);
  }
}

q8_status
cv_lower (cv_graph *g, char *err, size_t err_size)
{
  q8_status st;
  if ((st = lower_fakeq (g)) < 0 || (st = cv_fold_batchnorm (g, err,
                                                             err_size)) < 0
      || (st = lower_binconst (g)) < 0 || (st = fold_affine (g)) < 0)
    return st;
  lower_pixelshuffle (g);
  fuse_activations (g);
  cv_graph_link (g);
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    if (n->op == CV_RESHAPE || n->op == CV_TRANSPOSE) {
      char s1[128], s2[128];
      return cv_err (err, err_size, Q8_EUNSUPPORTED,
                     "node '%s' (%s, input '%s' %s -> %s): q8 has no general "
                     "%s; only the Reshape -> Transpose -> Reshape pattern "
                     "of PixelShuffle is converted (to DepthToSpace)",
                     n->name, n->onnx_type, g->t[n->in[0]].name,
                     cv_shape_str (&g->t[n->in[0]], s1, sizeof s1),
                     cv_shape_str (&g->t[n->out[0]], s2, sizeof s2),
                     n->onnx_type);
    }
    if (n->op == CV_ELTWISE && n->ew == CV_EW_AFFINE && n->n_ew
        && g->t[n->in[0]].dims[1] > 65536)
      return cv_err (err, err_size, Q8_EUNSUPPORTED, "node '%s': too many "
                     "channels", n->name);
  }
  for (int i = 0; i < g->n_outputs; i++)
    for (int j = 0; j < g->n_inputs; j++)
      if (g->outputs[i] == g->inputs[j])
        return cv_err (err, err_size, Q8_EUNSUPPORTED, "graph output '%s' "
                       "is the graph input: nothing to run",
                       g->t[g->outputs[i]].name);
  return Q8_OK;
}
