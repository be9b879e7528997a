/* fexec.c - the float reference executor of the converter's IR.
 *
 * Straightforward NCHW loops in float (accumulating in double where sums
 * get long), one buffer per tensor, written for clarity rather than
 * speed: it produces the activation statistics for calibration and the
 * float side of every error measurement.  It runs graphs before and after
 * lowering, so the tests can check that BatchNorm folding or the
 * PixelShuffle rewrite leaves the outputs unchanged.
 *
 * With opts->emulate it also fake-quantizes: weights and biases are
 * rounded as quantize.c stores them and every activation is rounded to its
 * int8 grid, which estimates per layer what the int8 model computes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

void
cv_weight_scales (const cv_tensor *w, bool per_tensor, double *scales)
{
  int64_t oc = w->dims[0], per = cv_numel (w) / oc;
  double all = 0;
  for (int64_t o = 0; o < oc; o++) {
    double m = 0;
    for (int64_t i = 0; i < per; i++)
      m = fmax (m, fabs (w->data[o * per + i]));
    scales[o] = m / 127.0;
    all = fmax (all, m / 127.0);
  }
  for (int64_t o = 0; o < oc; o++) {
    if (w->w_scales && w->n_w_scales == oc && !per_tensor)
      scales[o] = w->w_scales[o];
    else if (per_tensor)
      scales[o] = all;
    if (!(scales[o] > 0))
      scales[o] = 1.0; /* an all-zero channel: any scale stores it */
  }
}

/* q8 rounds half away from zero at its boundary; ONNX QuantizeLinear
 * rounds half to even (even_ties). */
static inline float
fake_q_mode (double v, double scale, int32_t zp, int32_t qmin, int32_t qmax,
             bool even_ties)
{
  double q = (even_ties ? nearbyint (v / scale) : round (v / scale)) + zp;
  if (q < qmin)
    q = qmin;
  if (q > qmax)
    q = qmax;
  if (isnan (v))
    q = zp;
  return (float) (scale * (q - zp));
}

static inline float
fake_q (double v, double scale, int32_t zp, int32_t qmin, int32_t qmax)
{
  return fake_q_mode (v, scale, zp, qmin, qmax, false);
}

static void
quantize_tensor (const cv_tensor *t, float *v, int64_t n)
{
  if (!t->has_q)
    return;
  for (int64_t i = 0; i < n; i++)
    v[i] = fake_q (v[i], t->q_scale, t->q_zp, -128, 127);
}

static void
run_conv (const cv_graph *g, const cv_node *n, const float *x, float *y,
          const cv_exec_opts *o)
{
  const cv_tensor *X = &g->t[n->in[0]], *W = &g->t[n->in[1]],
                  *Y = &g->t[n->out[0]];
  const cv_tensor *B = n->n_in >= 3 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
  int64_t ic = X->dims[1], h = X->dims[2], w = X->dims[3];
  int64_t oc = Y->dims[1], oh = Y->dims[2], ow = Y->dims[3];
  int64_t icg = ic / n->groups, ocg = oc / n->groups;
  int64_t per = icg * n->kh * n->kw;
  double *wq = malloc ((size_t) (oc * per) * sizeof (double));
  double *bq = malloc ((size_t) oc * sizeof (double));
  double *sc = malloc ((size_t) oc * sizeof (double));
  double *acc = NULL;
  if (!wq || !bq || !sc)
    goto out;
  memcpy (wq, W->data, (size_t) (oc * per) * sizeof (double));
  for (int64_t k = 0; k < oc; k++)
    bq[k] = B ? B->data[k] : 0;
  if (o && o->emulate && X->has_q) {
    cv_weight_scales (W, o->per_tensor, sc);
    for (int64_t k = 0; k < oc; k++) {
      for (int64_t i = 0; i < per; i++) {
        double q = round (wq[k * per + i] / sc[k]);
        wq[k * per + i] = fmax (-127, fmin (127, q)) * sc[k];
      }
      double bs = X->q_scale * sc[k];
      bq[k] = round (bq[k] / bs) * bs;
    }
  }
  /* One output plane at a time: every weight tap adds a shifted input
   * plane, row by row over the output columns whose input column is
   * inside the image (the inner loop vectorizes). */
  acc = malloc ((size_t) (oh * ow) * sizeof (double));
  if (!acc)
    goto out;
  for (int64_t k = 0; k < oc; k++) {
    int64_t gidx = k / ocg;
    for (int64_t i = 0; i < oh * ow; i++)
      acc[i] = bq[k];
    for (int64_t c = 0; c < icg; c++)
      for (int ky = 0; ky < n->kh; ky++)
        for (int kx = 0; kx < n->kw; kx++) {
          double wv = wq[((k * icg + c) * n->kh + ky) * n->kw + kx];
          if (wv == 0)
            continue;
          /* ix = ox * stride_w + off must lie in [0, w). */
          int64_t off = (int64_t) kx * n->dil_w - n->pad_l;
          int64_t sw = n->stride_w;
          int64_t ox0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
          int64_t ox1 = w - 1 - off < 0 ? 0 : (w - 1 - off) / sw + 1;
          if (ox1 > ow)
            ox1 = ow;
          for (int64_t oy = 0; oy < oh; oy++) {
            int64_t iy = oy * n->stride_h - n->pad_t + ky * n->dil_h;
            if (iy < 0 || iy >= h)
              continue;
            const float *xr = x + ((gidx * icg + c) * h + iy) * w;
            double *ar = acc + oy * ow;
            if (sw == 1)
              for (int64_t ox = ox0; ox < ox1; ox++)
                ar[ox] += wv * xr[ox + off];
            else
              for (int64_t ox = ox0; ox < ox1; ox++)
                ar[ox] += wv * xr[ox * sw + off];
          }
        }
    for (int64_t i = 0; i < oh * ow; i++)
      y[k * oh * ow + i] = (float) fmax (n->act_lo, fmin (n->act_hi, acc[i]));
  }
out:
  free (acc);
  free (wq);
  free (bq);
  free (sc);
}

/* The elementwise function of node n on channel c (also used by
 * quantize.c to build lookup tables). */
double
cv_eltwise_eval (const cv_node *n, const cv_graph *g, int64_t c, double v)
{
  switch (n->ew) {
  case CV_EW_RELU: return v > 0 ? v : 0;
  case CV_EW_TANH: return tanh (v);
  case CV_EW_SIGMOID: return 1.0 / (1.0 + exp (-v));
  case CV_EW_HARDSIGMOID: return fmax (0, fmin (1, n->alpha * v + n->beta));
  case CV_EW_HARDSWISH: return v * fmax (0, fmin (1, v / 6 + 0.5));
  case CV_EW_LEAKYRELU: return v >= 0 ? v : n->alpha * v;
  case CV_EW_PRELU: {
    const cv_tensor *s = &g->t[n->in[1]];
    double a = s->data[cv_numel (s) > 1 ? c : 0];
    return v >= 0 ? v : a * v;
  }
  case CV_EW_CLIP: return fmax (n->alpha, fmin (n->beta, v));
  case CV_EW_AFFINE: {
    int64_t k = n->n_ew > 1 ? c : 0;
    return v * n->ew_mul[k] + n->ew_add[k];
  }
  }
  return v;
}

static void
run_pool (const cv_graph *g, const cv_node *n, const float *x, float *y)
{
  const cv_tensor *X = &g->t[n->in[0]], *Y = &g->t[n->out[0]];
  int64_t ch = X->dims[1], h = X->dims[2], w = X->dims[3];
  int64_t oh = Y->dims[2], ow = Y->dims[3];
  for (int64_t c = 0; c < ch; c++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        double acc = n->op == CV_MAXPOOL ? -HUGE_VAL : 0;
        int64_t cnt = 0, cnt_pad = 0;
        int64_t y0 = n->global ? 0 : oy * n->stride_h - n->pad_t;
        int64_t x0 = n->global ? 0 : ox * n->stride_w - n->pad_l;
        for (int ky = 0; ky < n->kh; ky++)
          for (int kx = 0; kx < n->kw; kx++) {
            int64_t iy = y0 + ky, ix = x0 + kx;
            if (iy >= -n->pad_t && iy < h + n->pad_b && ix >= -n->pad_l
                && ix < w + n->pad_r)
              cnt_pad++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w)
              continue;
            double v = x[(c * h + iy) * w + ix];
            cnt++;
            acc = n->op == CV_MAXPOOL ? fmax (acc, v) : acc + v;
          }
        if (n->op == CV_AVGPOOL)
          acc /= (double) (n->count_include_pad ? cnt_pad : cnt);
        y[(c * oh + oy) * ow + ox] = (float) acc;
      }
}

/* Source index and weight of a bilinear tap along one axis (ARITHMETIC.md
 * RESIZE, in real numbers). */
static void
bilin_axis (int64_t o, int f, int64_t in, int coord, int64_t *i0,
            int64_t *i1, double *w1)
{
  double s = coord == Q8_RESIZE_HALF_PIXEL ? (o + 0.5) / f - 0.5
                                           : (double) o / f;
  if (s < 0)
    s = 0;
  *i0 = (int64_t) floor (s);
  if (*i0 > in - 1)
    *i0 = in - 1;
  *w1 = s - (double) *i0;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
}

static void
run_resize (const cv_graph *g, const cv_node *n, const float *x, float *y)
{
  const cv_tensor *X = &g->t[n->in[0]], *Y = &g->t[n->out[0]];
  int64_t ch = X->dims[1], h = X->dims[2], w = X->dims[3];
  int64_t oh = Y->dims[2], ow = Y->dims[3];
  for (int64_t c = 0; c < ch; c++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        const float *p = x + c * h * w;
        double v;
        if (n->resize_mode == Q8_RESIZE_NEAREST) {
          v = p[(oy / n->factor_h) * w + ox / n->factor_w];
        } else {
          int64_t ya, yb, xa, xb;
          double wy, wx;
          bilin_axis (oy, n->factor_h, h, n->resize_coord, &ya, &yb, &wy);
          bilin_axis (ox, n->factor_w, w, n->resize_coord, &xa, &xb, &wx);
          v = (1 - wy) * ((1 - wx) * p[ya * w + xa] + wx * p[ya * w + xb])
              + wy * ((1 - wx) * p[yb * w + xa] + wx * p[yb * w + xb]);
        }
        y[(c * oh + oy) * ow + ox] = (float) v;
      }
}

static void
run_d2s (const cv_graph *g, const cv_node *n, const float *x, float *y)
{
  const cv_tensor *X = &g->t[n->in[0]], *Y = &g->t[n->out[0]];
  int64_t h = X->dims[2], w = X->dims[3], b = n->block;
  int64_t oc = Y->dims[1], oh = Y->dims[2], ow = Y->dims[3];
  for (int64_t c = 0; c < oc; c++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t i = oy % b, j = ox % b;
        int64_t ch = n->mode == Q8_D2S_DCR ? (i * b + j) * oc + c
                                           : c * b * b + i * b + j;
        y[(c * oh + oy) * ow + ox] = x[(ch * h + oy / b) * w + ox / b];
      }
}

static void
run_transpose (const cv_graph *g, const cv_node *n, const float *x, float *y)
{
  const cv_tensor *X = &g->t[n->in[0]], *Y = &g->t[n->out[0]];
  int r = X->rank;
  int64_t xs[CV_MAX_RANK], idx[CV_MAX_RANK], s = 1;
  for (int i = r - 1; i >= 0; i--) {
    xs[i] = s;
    s *= X->dims[i];
  }
  int64_t total = cv_numel (Y);
  for (int64_t f = 0; f < total; f++) {
    int64_t rem = f;
    for (int i = r - 1; i >= 0; i--) {
      idx[i] = rem % Y->dims[i];
      rem /= Y->dims[i];
    }
    int64_t off = 0;
    for (int i = 0; i < r; i++)
      off += idx[i] * xs[n->perm[i]];
    y[f] = x[off];
  }
}

static void
run_node (const cv_graph *g, const cv_node *n, float *const *v,
          const cv_exec_opts *o)
{
  const float *x = v[n->in[0]];
  float *y = v[n->out[0]];
  const cv_tensor *X = &g->t[n->in[0]];
  int64_t numel = cv_numel (&g->t[n->out[0]]);
  int64_t hw = X->rank == 4 ? X->dims[2] * X->dims[3] : 1;
  switch (n->op) {
  case CV_CONV:
    run_conv (g, n, x, y, o);
    break;
  case CV_ELTWISE:
    for (int64_t i = 0; i < numel; i++)
      y[i] = (float) cv_eltwise_eval (n, g, i / hw % X->dims[1], x[i]);
    break;
  case CV_ADD:
    for (int64_t i = 0; i < numel; i++)
      y[i] = (float) fmax (n->act_lo, fmin (n->act_hi, (double) x[i]
                                                         + v[n->in[1]][i]));
    break;
  case CV_BINCONST: {
    const cv_tensor *C = &g->t[n->in[n->const_index]];
    const float *a = v[n->in[1 - n->const_index]];
    bool per_c = cv_numel (C) > 1;
    hw = g->t[n->out[0]].dims[2] * g->t[n->out[0]].dims[3];
    for (int64_t i = 0; i < numel; i++) {
      double c = C->data[per_c ? i / hw % g->t[n->out[0]].dims[1] : 0];
      double l = n->const_index ? a[i] : c, r = n->const_index ? c : a[i];
      y[i] = (float) (n->bin == CV_BIN_ADD   ? l + r
                      : n->bin == CV_BIN_SUB ? l - r
                      : n->bin == CV_BIN_MUL ? l * r
                                             : l / r);
    }
    break;
  }
  case CV_BN: {
    const double *ga = g->t[n->in[1]].data, *be = g->t[n->in[2]].data,
                 *me = g->t[n->in[3]].data, *va = g->t[n->in[4]].data;
    for (int64_t i = 0; i < numel; i++) {
      int64_t c = i / hw % X->dims[1];
      y[i] = (float) ((x[i] - me[c]) / sqrt (va[c] + n->epsilon) * ga[c]
                      + be[c]);
    }
    break;
  }
  case CV_D2S:
    run_d2s (g, n, x, y);
    break;
  case CV_RESHAPE:
    memcpy (y, x, (size_t) numel * sizeof (float));
    break;
  case CV_TRANSPOSE:
    run_transpose (g, n, x, y);
    break;
  case CV_CONCAT: {
    int64_t off = 0;
    for (int j = 0; j < n->n_in; j++) {
      int64_t m = cv_numel (&g->t[n->in[j]]);
      memcpy (y + off, v[n->in[j]], (size_t) m * sizeof (float));
      off += m;
    }
    break;
  }
  case CV_MAXPOOL:
  case CV_AVGPOOL:
    run_pool (g, n, x, y);
    break;
  case CV_RESIZE:
    run_resize (g, n, x, y);
    break;
  case CV_FAKEQ:
    for (int64_t i = 0; i < numel; i++)
      y[i] = fake_q_mode (x[i], n->fq_scale, n->fq_zp, n->fq_qmin,
                          n->fq_qmax, true);
    break;
  }
}

void
cv_values_free (cv_values *values)
{
  if (!values || !values->v)
    return;
  for (int i = 0; i < values->n; i++)
    free (values->v[i]);
  free (values->v);
  values->v = NULL;
  values->n = 0;
}

q8_status
cv_execute (const cv_graph *g, const float *const *inputs,
            const cv_exec_opts *opts, cv_values *values, char *err,
            size_t err_size)
{
  values->n = g->n_t;
  values->v = calloc ((size_t) g->n_t, sizeof (float *));
  if (!values->v)
    return Q8_ENOMEM;
  bool emulate = opts && opts->emulate;
  for (int i = 0; i < g->n_inputs; i++) {
    const cv_tensor *T = &g->t[g->inputs[i]];
    int64_t n = cv_numel (T);
    float *p = malloc ((size_t) n * sizeof (float));
    if (!p)
      goto oom;
    /* The q8 input holds the ONNX input times input_mul (a constant
     * multiplication folded into the input's scale). */
    for (int64_t k = 0; k < n; k++)
      p[k] = (float) (inputs[i][k] * g->input_mul[i]);
    if (emulate)
      quantize_tensor (T, p, n);
    values->v[g->inputs[i]] = p;
  }
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    const cv_tensor *Y = &g->t[n->out[0]];
    int64_t numel = cv_numel (Y);
    float *p = malloc ((size_t) (numel ? numel : 1) * sizeof (float));
    if (!p)
      goto oom;
    values->v[n->out[0]] = p;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0 && !g->t[n->in[j]].is_const && !values->v[n->in[j]])
        return cv_err (err, err_size, Q8_EOP, "node '%s' (%s) reads '%s' "
                       "before it is computed", n->name, n->onnx_type,
                       g->t[n->in[j]].name);
    run_node (g, n, values->v, opts);
    if (emulate)
      quantize_tensor (Y, p, numel);
    for (int k = 0; emulate && opts->u8_output && k < g->n_outputs; k++)
      if (g->outputs[k] == n->out[0])
        for (int64_t j = 0; j < numel; j++)
          p[j] = fake_q (p[j], 1.0 / 255, 0, 0, 255);
  }
  return Q8_OK;
oom:
  cv_values_free (values);
  return cv_err (err, err_size, Q8_ENOMEM, "out of memory in the float "
                 "executor");
}
