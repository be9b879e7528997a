/* report.c - the quantization debugger's numbers: per-layer SQNR between
 * float and (fake-quantized) int8 activations, sorted so the most
 * sensitive layers stand out, the final outputs' SQNR and PSNR against
 * libq8's real int8 run, and the model sizes; printed as a table and saved
 * as JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

cv_report *
cv_report_new (const cv_graph *g)
{
  cv_report *r = calloc (1, sizeof *r);
  if (!r)
    return NULL;
  r->g = g;
  r->sig = calloc ((size_t) g->n_t, sizeof (double));
  r->noise = calloc ((size_t) g->n_t, sizeof (double));
  r->q8_sig = calloc (8, sizeof (double));
  r->q8_noise = calloc (8, sizeof (double));
  r->q8_peak = calloc (8, sizeof (double));
  r->q8_n = calloc (8, sizeof (int64_t));
  if (!r->sig || !r->noise || !r->q8_sig || !r->q8_noise || !r->q8_peak
      || !r->q8_n) {
    cv_report_free (r);
    return NULL;
  }
  return r;
}

void
cv_report_free (cv_report *r)
{
  if (!r)
    return;
  free (r->sig);
  free (r->noise);
  free (r->q8_sig);
  free (r->q8_noise);
  free (r->q8_peak);
  free (r->q8_n);
  free (r);
}

void
cv_report_add_emulated (cv_report *r, const cv_values *ref,
                        const cv_values *emu)
{
  for (int t = 0; t < r->g->n_t; t++) {
    if (!ref->v[t] || !emu->v[t])
      continue;
    int64_t n = cv_numel (&r->g->t[t]);
    for (int64_t i = 0; i < n; i++) {
      double a = ref->v[t][i], d = a - emu->v[t][i];
      r->sig[t] += a * a;
      r->noise[t] += d * d;
    }
  }
  r->frames++;
}

void
cv_report_add_q8 (cv_report *r, int output, const float *ref, const float *q,
                  size_t n)
{
  for (size_t i = 0; i < n; i++) {
    double d = (double) ref[i] - q[i];
    r->q8_sig[output] += (double) ref[i] * ref[i];
    r->q8_noise[output] += d * d;
  }
  r->q8_n[output] += (int64_t) n;
}

double
cv_db (double sig, double noise)
{
  if (noise <= 0)
    return 200.0; /* exact: reported as a large finite number */
  return 10 * log10 (sig / noise);
}

typedef struct {
  int t, node;
  double db;
} layer_row;

static int
by_db (const void *a, const void *b)
{
  double x = ((const layer_row *) a)->db, y = ((const layer_row *) b)->db;
  return x < y ? -1 : x > y;
}

/* Rows for every op output, most sensitive first; caller frees. */
static layer_row *
layer_rows (const cv_report *r, int *count)
{
  const cv_graph *g = r->g;
  layer_row *rows = malloc ((size_t) (g->n_n ? g->n_n : 1) * sizeof *rows);
  int n = 0;
  if (!rows)
    return NULL;
  for (int i = 0; i < g->n_n; i++) {
    if (g->n[i].dead)
      continue;
    int t = g->n[i].out[0];
    rows[n].t = t;
    rows[n].node = i;
    rows[n].db = cv_db (r->sig[t], r->noise[t]);
    n++;
  }
  qsort (rows, (size_t) n, sizeof *rows, by_db);
  *count = n;
  return rows;
}

static double
psnr (const cv_report *r, int k)
{
  if (r->q8_n[k] == 0)
    return NAN;
  double mse = r->q8_noise[k] / (double) r->q8_n[k];
  return mse > 0 ? 10 * log10 (1.0 / mse) : 200.0;
}

void
cv_report_print (const cv_report *r, const cv_report_info *info, FILE *f)
{
  const cv_graph *g = r->g;
  fprintf (f, "model size: FP32 ONNX %zu bytes, int8 .q8 %zu bytes (%.1f %%)\n",
           info->onnx_bytes, info->q8_bytes,
           info->onnx_bytes ? 100.0 * (double) info->q8_bytes
                                / (double) info->onnx_bytes : 0.0);
  fprintf (f, "calibration: %s over %d frames of %s\n", info->method,
           r->frames, info->calib_source ? info->calib_source : "-");
  int n;
  layer_row *rows = layer_rows (r, &n);
  if (rows) {
    fprintf (f, "per-layer SQNR (float vs int8 emulated), most sensitive "
             "first:\n  %-24s %-24s %-16s %9s %22s\n", "node", "tensor", "op",
             "SQNR dB", "range [lo, hi]");
    for (int i = 0; i < n; i++) {
      const cv_tensor *t = &g->t[rows[i].t];
      const cv_node *nd = &g->n[rows[i].node];
      double lo = t->lo, hi = t->hi;
      if (lo == hi && t->has_q) {
        /* q8 compare: no calibration ran; the range is the model's grid. */
        lo = t->q_scale * (-128 - t->q_zp);
        hi = t->q_scale * (127 - t->q_zp);
      }
      fprintf (f, "  %-24.24s %-24.24s %-16.16s %9.2f   [%9.4g, %9.4g]\n",
               nd->name && *nd->name ? nd->name : "-", t->name, nd->onnx_type,
               rows[i].db, lo, hi);
    }
    free (rows);
  }
  for (int k = 0; k < g->n_outputs; k++) {
    const cv_tensor *t = &g->t[g->outputs[k]];
    fprintf (f, "output '%s': SQNR %.2f dB (emulated)", t->name,
             cv_db (r->sig[g->outputs[k]], r->noise[g->outputs[k]]));
    if (r->q8_n[k]) {
      fprintf (f, ", %.2f dB (q8 run)", cv_db (r->q8_sig[k], r->q8_noise[k]));
      if (info->psnr)
        fprintf (f, ", PSNR %.2f dB", psnr (r, k));
    }
    fprintf (f, "\n");
  }
}

static void
json_str (FILE *f, const char *s)
{
  fputc ('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char) *s;
    if (c == '"' || c == '\\')
      fprintf (f, "\\%c", c);
    else if (c < 0x20)
      fprintf (f, "\\u%04x", c);
    else
      fputc (c, f);
  }
  fputc ('"', f);
}

static void
json_num (FILE *f, double v)
{
  if (isfinite (v))
    fprintf (f, "%.6g", v);
  else
    fprintf (f, "null");
}

int
cv_report_write_json (const cv_report *r, const cv_report_info *info,
                      const char *path)
{
  FILE *f = fopen (path, "w");
  if (!f)
    return -1;
  const cv_graph *g = r->g;
  fprintf (f, "{\n  \"onnx\": ");
  json_str (f, info->onnx_path);
  fprintf (f, ",\n  \"q8\": ");
  json_str (f, info->q8_path);
  fprintf (f, ",\n  \"onnx_bytes\": %zu,\n  \"q8_bytes\": %zu,\n",
           info->onnx_bytes, info->q8_bytes);
  fprintf (f, "  \"calibration\": {\"method\": ");
  json_str (f, info->method);
  fprintf (f, ", \"frames\": %d, \"source\": ", r->frames);
  json_str (f, info->calib_source);
  fprintf (f, "},\n  \"layers\": [");
  int n;
  layer_row *rows = layer_rows (r, &n);
  for (int i = 0; rows && i < n; i++) {
    const cv_tensor *t = &g->t[rows[i].t];
    fprintf (f, "%s\n    {\"tensor\": ", i ? "," : "");
    json_str (f, t->name);
    fprintf (f, ", \"node\": ");
    json_str (f, g->n[rows[i].node].name);
    fprintf (f, ", \"op\": ");
    json_str (f, g->n[rows[i].node].onnx_type);
    fprintf (f, ", \"sqnr_db\": ");
    json_num (f, rows[i].db);
    fprintf (f, ", \"lo\": ");
    json_num (f, t->lo);
    fprintf (f, ", \"hi\": ");
    json_num (f, t->hi);
    fprintf (f, ", \"scale\": ");
    json_num (f, t->q_scale);
    fprintf (f, ", \"zero_point\": %d}", t->q_zp);
  }
  free (rows);
  fprintf (f, "\n  ],\n  \"outputs\": [");
  for (int k = 0; k < g->n_outputs; k++) {
    int t = g->outputs[k];
    fprintf (f, "%s\n    {\"tensor\": ", k ? "," : "");
    json_str (f, g->t[t].name);
    fprintf (f, ", \"sqnr_db_emulated\": ");
    json_num (f, cv_db (r->sig[t], r->noise[t]));
    fprintf (f, ", \"sqnr_db\": ");
    json_num (f, r->q8_n[k] ? cv_db (r->q8_sig[k], r->q8_noise[k]) : NAN);
    fprintf (f, ", \"psnr_db\": ");
    json_num (f, info->psnr ? psnr (r, k) : NAN);
    fprintf (f, "}");
  }
  fprintf (f, "\n  ],\n  \"warnings\": ");
  json_str (f, info->warnings);
  fprintf (f, "\n}\n");
  return fclose (f) == 0 ? 0 : -1;
}
