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
