/* quantize.c - chooses every tensor's int8 grid once calibration has run,
 * in q8's scheme (core/ARITHMETIC.md): ops that move data without
 * arithmetic (DepthToSpace, MaxPool, nearest Resize) keep their input's
 * scale and zero point, image inputs use the exact pixel grid, image
 * outputs the grid of their U8 pixels, and every requantization is checked
 * against rules R and S so that the builder never gets a multiplier q8
 * rejects.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "q8_internal.h"

static bool
is_graph_input (const cv_graph *g, int t)
{
  for (int i = 0; i < g->n_inputs; i++)
    if (g->inputs[i] == t)
      return true;
  return false;
}

/* Ops that move int8 values without arithmetic keep their input's grid
 * (q8 requires it of DEPTH_TO_SPACE, MAXPOOL and nearest RESIZE). */
static bool
is_passthrough (const cv_node *n)
{
  return n->op == CV_D2S || n->op == CV_MAXPOOL
         || (n->op == CV_RESIZE && n->resize_mode == Q8_RESIZE_NEAREST);
}

q8_status
cv_quant_finalize (cv_graph *g, const cv_quant_opts *o, char *err,
                   size_t err_size)
{
  for (int i = 0; i < g->n_inputs; i++) {
    cv_tensor *t = &g->t[g->inputs[i]];
    if (o->u8_input) {
      /* Pixels p of real value input_mul * p / 255: an S8 tensor with that
       * scale and zero point -128 holds them exactly (the QUANTIZE op
       * from U8 is a lossless shift). */
      if (t->q_imported && fabs (t->q_scale * 255 / g->input_mul[i] - 1) > 1e-6)
        cv_warn (g, "input '%s' was quantized with scale %g; q8 feeds it "
                 "8-bit pixels of scale %g instead", t->name, t->q_scale,
                 g->input_mul[i] / 255);
      t->has_q = true;
      t->q_scale = g->input_mul[i] / 255.0;
      t->q_zp = -128;
    }
    if (!t->has_q)
      return cv_err (err, err_size, Q8_EINVAL, "input '%s' has no "
                     "quantization (calibrate first)", t->name);
  }
  /* An image output reached through data movement (DepthToSpace at the
   * end of ESPCN) takes the pixel grid at the last op that computes, so
   * that op rounds straight to pixels and the DEQUANTIZE is lossless. */
  bool *pixel = calloc ((size_t) g->n_t, sizeof (bool));
  if (!pixel)
    return Q8_ENOMEM;
  cv_graph_link (g);
  for (int i = 0; o->u8_output && i < g->n_outputs; i++) {
    int t = g->outputs[i];
    for (;;) {
      pixel[t] = !g->t[t].q_imported;
      int p = g->t[t].producer;
      if (p < 0 || !is_passthrough (&g->n[p]))
        break;
      t = g->n[p].in[0];
      if (g->t[t].n_consumers != 1 || is_graph_input (g, t))
        break;
    }
  }
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    cv_tensor *x = &g->t[n->in[0]], *y = &g->t[n->out[0]];
    bool passthrough = is_passthrough (n);
    if (pixel[n->out[0]] && !passthrough) {
      /* The output's DEQUANTIZE to pixels is then a lossless shift and
       * the producer rounds straight to the pixel grid. */
      y->has_q = true;
      y->q_scale = 1.0 / 255;
      y->q_zp = -128;
    }
    if (passthrough) {
      y->has_q = true;
      y->q_scale = x->q_scale;
      y->q_zp = x->q_zp;
    }
    if (!x->has_q || !y->has_q) {
      free (pixel);
      return cv_err (err, err_size, Q8_EINVAL, "node '%s' (%s): tensor '%s' "
                     "has no quantization (no calibration data reached it)",
                     n->name, n->onnx_type, x->has_q ? y->name : x->name);
    }
    if (n->op == CV_CONV) {
      const cv_tensor *w = &g->t[n->in[1]];
      double *sc = malloc ((size_t) w->dims[0] * sizeof (double));
      if (!sc) {
        free (pixel);
        return Q8_ENOMEM;
      }
      cv_weight_scales (w, o->per_tensor, sc);
      /* Trained int8 weights may use -128, which q8 rejects (so that -w
       * never overflows): they become -127, with a warning. */
      int64_t per = cv_numel (w) / w->dims[0], n128 = 0;
      for (int64_t k = 0; w->w_scales && k < cv_numel (w); k++)
        n128 += round (w->data[k] / sc[k / per]) < -127;
      if (n128)
        cv_warn (g, "node '%s': %lld weights of -128 were changed to -127 "
                 "(q8 weights are in [-127, 127])", n->name,
                 (long long) n128);
      for (int64_t k = 0; k < w->dims[0]; k++) {
        int32_t mm, sh;
        double m = x->q_scale * sc[k] / y->q_scale;
        if (!q8__quantize_multiplier_r (m, &mm, &sh)) {
          free (sc);
          free (pixel);
          return cv_err (err, err_size, Q8_EOP, "node '%s' (Conv): output "
                         "channel %lld needs the multiplier %g, outside q8's "
                         "[2^-40, 2^30)", n->name, (long long) k, m);
        }
      }
      free (sc);
    }
  }
  free (pixel);
  return Q8_OK;
}

int32_t
cv_clamp8 (double q)
{
  return (int32_t) (q < -128 ? -128 : q > 127 ? 127 : q);
}

/* The fused clamp [lo, hi] (real values) on the grid of y. */
void
cv_act_bounds (const cv_tensor *y, double lo, double hi, int32_t *qmin,
            int32_t *qmax)
{
  *qmin = isfinite (lo) ? cv_clamp8 (round (lo / y->q_scale) + y->q_zp) : -128;
  *qmax = isfinite (hi) ? cv_clamp8 (round (hi / y->q_scale) + y->q_zp) : 127;
  if (*qmax < *qmin)
    *qmax = *qmin;
}

q8_status
cv_conv_quantize (const cv_graph *g, const cv_node *n, bool per_tensor,
                  cv_conv_q *q, char *err, size_t err_size)
{
  const cv_tensor *X = &g->t[n->in[0]], *W = &g->t[n->in[1]],
                  *Y = &g->t[n->out[0]];
  const cv_tensor *B = n->n_in >= 3 && n->in[2] >= 0 ? &g->t[n->in[2]] : NULL;
  int32_t oc = (int32_t) W->dims[0], icg = (int32_t) W->dims[1];
  int32_t kh = (int32_t) W->dims[2], kw = (int32_t) W->dims[3];
  size_t per = (size_t) icg * kh * kw;
  memset (q, 0, sizeof *q);
  q->oc = oc;
  q->kh = kh;
  q->kw = kw;
  q->icg = icg;
  double *sc = malloc ((size_t) oc * sizeof (double));
  q->scales = malloc ((size_t) oc * sizeof (float));
  q->w = malloc ((size_t) oc * per);
  q->bias = malloc ((size_t) oc * sizeof (int32_t));
  if (!sc || !q->scales || !q->w || !q->bias) {
    free (sc);
    cv_conv_q_free (q);
    return Q8_ENOMEM;
  }
  cv_weight_scales (W, per_tensor, sc);
  for (int32_t o = 0; o < oc; o++) {
    int64_t sum = 0;
    q->scales[o] = (float) sc[o];
    for (int32_t i = 0; i < icg; i++)
      for (int32_t y = 0; y < kh; y++)
        for (int32_t x = 0; x < kw; x++) {
          /* ONNX OIHW to q8 OHWI. */
          double v = W->data[(((size_t) o * icg + i) * kh + y) * kw + x];
          double r = round (v / sc[o]);
          r = r < -127 ? -127 : r > 127 ? 127 : r;
          q->w[(((size_t) o * kh + y) * kw + x) * icg + i] = (int8_t) r;
          sum += (int64_t) fabs (r);
        }
    /* The bias is stored at the scale the loader uses, x.scale *
     * (float) w.scale: quantize with exactly those numbers. */
    double bs = (double) (float) X->q_scale * (double) q->scales[o];
    double bv = B ? round (B->data[o] / bs) : 0;
    if (!(fabs (bv) + 512.0 * (double) sum <= 2147483647.0)) {
      q8_status st = cv_err (err, err_size, Q8_EOVERFLOW,
                             "node '%s' (Conv): output channel %d has bias "
                             "%.0f (real %g at scale %g) and sum |w| %lld; "
                             "q8 needs |bias| + 512 * sum |w| <= 2^31 - 1 "
                             "(the input's range is too narrow for this "
                             "bias)", n->name, o, bv, B ? B->data[o] : 0.0,
                             bs, (long long) sum);
      free (sc);
      cv_conv_q_free (q);
      return st;
    }
    q->bias[o] = (int32_t) bv;
  }
  free (sc);
  cv_act_bounds (Y, n->act_lo, n->act_hi, &q->act_min, &q->act_max);
  return Q8_OK;
}

void
cv_conv_q_free (cv_conv_q *q)
{
  free (q->w);
  free (q->bias);
  free (q->scales);
  q->w = NULL;
  q->bias = NULL;
  q->scales = NULL;
}

