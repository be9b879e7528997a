/* convert_cli.c - `q8 convert`: FP32 ONNX -> int8 .q8 by post-training
 * quantization (or by importing a QDQ model's own scales), with a
 * report of what it cost.
 *
 *   q8 convert MODEL.onnx -o MODEL.q8 --calib DIR [--method mse]
 *              [--report REPORT.json]
 *
 * Steps: import the ONNX graph at the calibration data's size, lower it to
 * q8's ops, run the float executor over the calibration set twice (ranges,
 * then histograms), choose every grid, write the .q8 with q8_builder, then
 * measure: per-layer SQNR by fake quantization, output SQNR/PSNR by running
 * the written model with libq8.
 *
 *   q8 compare MODEL.onnx MODEL.q8 --data PATH
 *
 * reproduces the measurement on other data with the .q8's own grids.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cv.h"
#include "npy.h"
#include "source.h"
#include "q8_internal.h"
#ifdef Q8_CONVERT_HAVE_GST
#include "media.h"
#endif

const char cv_convert_usage[] =
  "usage: q8 convert MODEL.onnx -o OUT.q8 [--calib PATH] [options]\n"
  "\n"
  "Converts a float32 ONNX model to an int8 .q8 model.\n"
  "\n"
  "  -o, --output FILE     the .q8 file to write\n"
  "  --calib PATH          calibration data: a directory of .npy, .png and\n"
  "                        .jpg files, or one such file or a video.\n"
  "                        Images and video frames are decoded with\n"
  "                        GStreamer, converted to luma (1-channel models)\n"
  "                        or RGB, scaled to the model's input size and\n"
  "                        taken as pixel / 255.  .npy: float32 NCHW\n"
  "                        ([1,C,H,W], [C,H,W] or [H,W]) in the model's\n"
  "                        input range, or uint8 [H,W] / [H,W,C] images\n"
  "  --method M            minmax, percentile, mse (default) or entropy\n"
  "  --percentile P        for --method percentile (default 99.99)\n"
  "  --per-tensor          one weight scale per tensor (default: per\n"
  "                        output channel)\n"
  "  --max-frames N        use at most N calibration frames (default 500)\n"
  "  --input-size WxH      import size for models with dynamic H and W\n"
  "                        (default: the calibration data's size)\n"
  "  --float-io            int8 input and output tensors (feed float with\n"
  "                        q8_plan_set_input_f32) instead of 8-bit pixels\n"
  "  --task T              super-resolution, anomaly or generic (default:\n"
  "                        super-resolution when the output is an integer\n"
  "                        multiple of the input size, else generic).\n"
  "                        anomaly keeps the outputs on their own int8\n"
  "                        grid (features or maps, not pixels)\n"
  "  --name NAME           the model's human name (metadata)\n"
  "  --colorspace C        input.colorspace metadata: y-bt601, rgb, gray\n"
  "                        (default y-bt601 for 1-channel super-resolution)\n"
  "  --meta KEY=VALUE      add metadata (repeatable): an integer, a number\n"
  "                        or a string as VALUE reads; e.g.\n"
  "                        --meta anomaly.method=gaussian\n"
  "                        --meta input.width=256 (core/FORMAT.md keys)\n"
  "  --report FILE.json    save the error report as JSON\n"
  "  -q, --quiet           no progress bar and no report on stdout\n";

typedef struct {
  const char *onnx, *out, *calib, *report, *task, *name, *colorspace;
  cv_calib_method method;
  double percentile;
  bool per_tensor, float_io, quiet;
  long max_frames;
  int in_w, in_h;
  const char *meta[64];  /* KEY=VALUE */
  int n_meta;
} options;

static int
fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "q8 convert: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  return 1;
}

static int
parse_args (int argc, char **argv, options *o)
{
  memset (o, 0, sizeof *o);
  o->method = CV_CALIB_MSE;
  o->percentile = 99.99;
  o->max_frames = 500;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKES(name) (strcmp (a, name) == 0 && (v || (fail ("%s needs a " \
                                                       "value", name), 0)))
    if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
      fputs (cv_convert_usage, stdout);
      return 0;
    } else if (TAKES ("-o") || TAKES ("--output")) {
      o->out = v;
      i++;
    } else if (TAKES ("--calib")) {
      o->calib = v;
      i++;
    } else if (TAKES ("--method")) {
      if (!strcmp (v, "minmax"))
        o->method = CV_CALIB_MINMAX;
      else if (!strcmp (v, "percentile"))
        o->method = CV_CALIB_PERCENTILE;
      else if (!strcmp (v, "mse"))
        o->method = CV_CALIB_MSE;
      else if (!strcmp (v, "entropy"))
        o->method = CV_CALIB_ENTROPY;
      else
        return fail ("--method '%s': use minmax, percentile, mse or "
                     "entropy", v) + 1;
      i++;
    } else if (TAKES ("--percentile")) {
      char *end;
      o->percentile = strtod (v, &end);
      if (*end || !(o->percentile > 50 && o->percentile <= 100))
        return fail ("--percentile '%s': a number in (50, 100]", v) + 1;
      i++;
    } else if (TAKES ("--max-frames")) {
      char *end;
      o->max_frames = strtol (v, &end, 10);
      if (*end || o->max_frames < 1)
        return fail ("--max-frames '%s': a positive integer", v) + 1;
      i++;
    } else if (TAKES ("--input-size")) {
      if (sscanf (v, "%dx%d", &o->in_w, &o->in_h) != 2 || o->in_w < 1
          || o->in_h < 1 || o->in_w > Q8_MAX_DIM || o->in_h > Q8_MAX_DIM)
        return fail ("--input-size '%s': WxH, e.g. 640x360", v) + 1;
      i++;
    } else if (TAKES ("--task")) {
      o->task = v;
      if (strcmp (v, "super-resolution") && strcmp (v, "anomaly")
          && strcmp (v, "generic"))
        return fail ("--task '%s': super-resolution, anomaly or generic",
                     v) + 1;
      i++;
    } else if (TAKES ("--name")) {
      o->name = v;
      i++;
    } else if (TAKES ("--colorspace")) {
      o->colorspace = v;
      i++;
    } else if (TAKES ("--meta")) {
      const char *eq = strchr (v, '=');
      if (eq == NULL || eq == v || (size_t) (eq - v) > 255)
        return fail ("--meta '%s': KEY=VALUE", v) + 1;
      if (o->n_meta == (int) (sizeof o->meta / sizeof o->meta[0]))
        return fail ("--meta: at most %zu entries",
                     sizeof o->meta / sizeof o->meta[0]) + 1;
      o->meta[o->n_meta++] = v;
      i++;
    } else if (TAKES ("--report")) {
      o->report = v;
      i++;
    } else if (!strcmp (a, "--per-tensor")) {
      o->per_tensor = true;
    } else if (!strcmp (a, "--float-io")) {
      o->float_io = true;
    } else if (!strcmp (a, "-q") || !strcmp (a, "--quiet")) {
      o->quiet = true;
    } else if (a[0] == '-' && a[1]) {
      return fail ("unknown option '%s' (see q8 convert --help)", a) + 1;
    } else if (!o->onnx) {
      o->onnx = a;
    } else {
      return fail ("unexpected argument '%s'", a) + 1;
    }
#undef TAKES
  }
  if (!o->onnx || !o->out) {
    fputs (cv_convert_usage, stderr);
    return 2;
  }
  return -1;
}

/* --meta KEY=VALUE: an int if VALUE reads as one, else a float if it
 * reads as a finite number, else a string. */
static int
add_user_meta (q8_builder *b, const char *kv)
{
  const char *eq = strchr (kv, '=');
  char key[256];
  memcpy (key, kv, (size_t) (eq - kv));
  key[eq - kv] = '\0';
  const char *v = eq + 1;
  char *end;
  q8_status st;
  errno = 0;
  long long iv = strtoll (v, &end, 10);
  if (*v != '\0' && *end == '\0' && errno == 0) {
    st = q8_builder_meta_int (b, key, iv);
  } else {
    double fv = strtod (v, &end);
    if (*v != '\0' && *end == '\0' && isfinite (fv))
      st = q8_builder_meta_float (b, key, fv);
    else
      st = q8_builder_meta_string (b, key, v);
  }
  if (st != Q8_OK)
    return fail ("--meta '%s': %s", kv, q8_status_str (st));
  return 0;
}

static void *
read_whole (const char *path, size_t *size)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    return NULL;
  void *buf = NULL;
  long len;
  if (fseek (f, 0, SEEK_END) == 0 && (len = ftell (f)) >= 0
      && fseek (f, 0, SEEK_SET) == 0) {
    buf = malloc ((size_t) len + 1);
    if (buf && fread (buf, 1, (size_t) len, f) != (size_t) len) {
      free (buf);
      buf = NULL;
    }
    *size = (size_t) len;
  }
  fclose (f);
  return buf;
}

static void
progress (bool show, const char *what, int done, int total, time_t t0)
{
  if (!show)
    return;
  double el = difftime (time (NULL), t0);
  double eta = done ? el / done * (total - done) : 0;
  fprintf (stderr, "\r%s %d/%d frames, ETA %.0f s   ", what, done, total,
           eta);
}

/* Runs every frame of src through the float graph, its fake-quantized
 * emulation and the q8 plan, into rep.  0, or -1 after printing why. */
static int
measure (const cv_graph *g, q8_plan *plan, cv_source *src, bool per_tensor,
         bool u8_output, bool show, cv_report *rep)
{
  char err[512];
  cv_exec_opts emu = { .emulate = true, .per_tensor = per_tensor,
                       .u8_output = u8_output };
  const cv_tensor *in = &g->t[g->inputs[0]];
  float *x = NULL, *qout = NULL;
  int rc = -1, r;
  time_t t0 = time (NULL);
  cv_source_rewind (src);
  while ((r = cv_source_next (src, &x)) == 1) {
    const float *ins[1] = { x };
    cv_values vf, vq;
    if (cv_execute (g, ins, NULL, &vf, err, sizeof err) < 0) {
      fail ("%s", err);
      goto out;
    }
    if (cv_execute (g, ins, &emu, &vq, err, sizeof err) < 0) {
      cv_values_free (&vf);
      fail ("%s", err);
      goto out;
    }
    cv_report_add_emulated (rep, &vf, &vq);
    /* The q8 input holds the ONNX input times input_mul. */
    size_t n_in = (size_t) cv_numel (in);
    for (size_t k = 0; k < n_in; k++)
      x[k] = (float) (x[k] * g->input_mul[0]);
    q8_plan_set_input_f32 (plan, 0, x);
    q8_run (plan);
    for (int k = 0; k < g->n_outputs; k++) {
      size_t n = (size_t) cv_numel (&g->t[g->outputs[k]]);
      float *q = realloc (qout, n * sizeof (float));
      if (!q)
        break;
      qout = q;
      q8_plan_get_output_f32 (plan, (size_t) k, qout);
      cv_report_add_q8 (rep, k, vf.v[g->outputs[k]], qout, n);
    }
    cv_values_free (&vf);
    cv_values_free (&vq);
    free (x);
    x = NULL;
    progress (show, "measuring", (int) src->frames, (int) src->max, t0);
  }
  if (show)
    fprintf (stderr, "\n");
  rc = r < 0 ? -1 : 0;
out:
  free (x);
  free (qout);
  return rc;
}

/* ---------------------------------------------------------------- */
/* Main                                                              */
/* ---------------------------------------------------------------- */

int
q8_cli_convert (int argc, char **argv)
{
  options o;
  int rc = parse_args (argc, argv, &o);
  if (rc >= 0)
    return rc;
  char err[1024];
  size_t onnx_size = 0, q8_size = 0;
  void *onnx = NULL, *q8data = NULL;
  cv_graph *g = NULL;
  cv_calib *cal = NULL;
  cv_report *rep = NULL;
  q8_builder *b = NULL;
  q8_model *model = NULL;
  q8_plan *plan = NULL;
  float *x = NULL;
  cv_source src = { 0 };
  bool have_calib = false;
  rc = 1;
  bool show = !o.quiet && isatty (2);

  onnx = read_whole (o.onnx, &onnx_size);
  if (!onnx) {
    fail ("%s: %s", o.onnx, strerror (errno));
    goto out;
  }
  if (o.calib) {
    if (cv_source_open (&src, o.calib, o.max_frames))
      goto out;
    have_calib = true;
  }

  /* The import size: --input-size, the model's own, else the first
   * calibration frame's. */
  int h = o.in_h, w = o.in_w;
  q8_status st = cv_import_onnx (onnx, onnx_size, h, w, &g, err, sizeof err);
  if (st == Q8_ESHAPE && have_calib && h == 0) {
    if (cv_source_first_size (&src, &w, &h))
      goto out;
    st = cv_import_onnx (onnx, onnx_size, h, w, &g, err, sizeof err);
  }
  if (st < 0) {
    fail ("%s: %s", o.onnx, err);
    goto out;
  }
  if ((st = cv_lower (g, err, sizeof err)) < 0) {
    fail ("%s: %s", o.onnx, err);
    goto out;
  }
  if (g->n_inputs != 1) {
    fail ("%s: %d graph inputs; the converter calibrates single-input "
          "models", o.onnx, g->n_inputs);
    goto out;
  }
  const cv_tensor *in = &g->t[g->inputs[0]];
  int c = (int) in->dims[1];
  h = (int) in->dims[2];
  w = (int) in->dims[3];
  src.c = c;
  src.h = h;
  src.w = w;
  long n_frames = 0;

  /* Calibration: ranges, then histograms. */
  cal = cv_calib_new (g, o.method, o.percentile);
  if (!cal)
    goto oom;
  time_t t0 = time (NULL);
  for (int pass = 0; pass < 2 && have_calib; pass++) {
    cv_source_rewind (&src);
    int r;
    while ((r = cv_source_next (&src, &x)) == 1) {
      const float *ins[1] = { x };
      cv_values v;
      if (cv_execute (g, ins, NULL, &v, err, sizeof err) < 0) {
        fail ("%s", err);
        goto out;
      }
      cv_calib_observe (cal, pass, &v);
      cv_values_free (&v);
      free (x);
      x = NULL;
      progress (show, pass ? "calibrating (histograms)"
                           : "calibrating (ranges)", (int) src.frames,
                pass ? (int) n_frames : (int) src.max, t0);
    }
    if (r < 0)
      goto out;
    n_frames = src.frames;
    if (show)
      fprintf (stderr, "\n");
  }
  cv_calib_finish (cal, g);
  /* An anomaly model's outputs are features or maps, not pixels: they
   * keep their own calibrated int8 grid. */
  const bool pixel_out = !o.float_io
                         && !(o.task != NULL && !strcmp (o.task, "anomaly"));
  cv_quant_opts qo = { .per_tensor = o.per_tensor, .u8_input = !o.float_io,
                       .u8_output = pixel_out };
  if ((st = cv_quant_finalize (g, &qo, err, sizeof err)) < 0) {
    fail ("%s%s", err, have_calib ? "" : " (give --calib data)");
    goto out;
  }

  /* Write. */
  b = q8_builder_new ();
  if (!b)
    goto oom;
  if ((st = cv_quant_build (g, &qo, b, err, sizeof err)) < 0) {
    fail ("%s: %s", o.onnx, err);
    goto out;
  }
  char sha[65];
  cv_sha256_hex (onnx, onnx_size, sha);
  const cv_tensor *out0 = &g->t[g->outputs[0]];
  int64_t sr = out0->dims[2] % in->dims[2] == 0
                   && out0->dims[2] / in->dims[2] > 1
                   && out0->dims[3] == in->dims[3] * (out0->dims[2]
                                                      / in->dims[2])
                 ? out0->dims[2] / in->dims[2] : 0;
  const char *task = o.task ? o.task : sr ? "super-resolution" : "generic";
  q8_builder_meta_string (b, "converter", "q8 convert " Q8_VERSION_STRING);
  q8_builder_meta_string (b, "task", task);
  if (o.name)
    q8_builder_meta_string (b, "name", o.name);
  if (!strcmp (task, "super-resolution") && sr)
    q8_builder_meta_int (b, "sr.scale", sr);
  const char *cs = o.colorspace ? o.colorspace
                   : !strcmp (task, "super-resolution") && c == 1 ? "y-bt601"
                   : c == 3 ? "rgb" : c == 1 ? "gray" : NULL;
  if (cs)
    q8_builder_meta_string (b, "input.colorspace", cs);
  if (!o.float_io)
    q8_builder_meta_string (b, "input.range", "0..1");
  q8_builder_meta_string (b, "source.sha256", sha);
  q8_builder_meta_string (b, "calibration.method",
                          have_calib ? cv_calib_method_name (o.method)
                                     : "imported");
  q8_builder_meta_int (b, "calibration.frames", n_frames);
  if (o.calib)
    q8_builder_meta_string (b, "calibration.source", o.calib);
  q8_builder_meta_string (b, "quantization.weights",
                          o.per_tensor ? "per-tensor" : "per-channel");
  for (int i = 0; i < o.n_meta; i++)
    if (add_user_meta (b, o.meta[i]) != 0)
      goto out;
  if ((st = q8_builder_write (b, &q8data, &q8_size, err, sizeof err)) < 0) {
    fail ("cannot build the .q8 model: %s", err);
    goto out;
  }
  FILE *f = fopen (o.out, "wb");
  if (!f || fwrite (q8data, 1, q8_size, f) != q8_size) {
    fail ("%s: %s", o.out, strerror (errno));
    if (f)
      fclose (f);
    goto out;
  }
  if (fclose (f) != 0) {
    fail ("%s: %s", o.out, strerror (errno));
    goto out;
  }
  if (g->warnings)
    for (char *p = g->warnings, *nl; *p; p = nl + 1) {
      nl = strchr (p, '\n');
      fprintf (stderr, "q8 convert: warning: %.*s\n", (int) (nl - p), p);
    }

  /* Measure on the calibration set: emulated layers, real outputs. */
  rep = cv_report_new (g);
  if (!rep)
    goto oom;
  if ((st = q8_model_load_buffer (q8data, q8_size, &model, err, sizeof err))
        < 0
      || (st = q8_plan_create (model, w, h, 1, &plan, err, sizeof err)) < 0) {
    fail ("the written model does not load: %s", err);
    goto out;
  }
  if (have_calib
      && measure (g, plan, &src, o.per_tensor, pixel_out, show, rep) < 0)
    goto out;
  cv_report_info info = {
    .onnx_path = o.onnx, .q8_path = o.out,
    .method = have_calib ? cv_calib_method_name (o.method) : "imported",
    .calib_source = o.calib, .onnx_bytes = onnx_size, .q8_bytes = q8_size,
    .psnr = pixel_out, .warnings = g->warnings,
  };
  if (!o.quiet)
    cv_report_print (rep, &info, stdout);
  if (o.report && cv_report_write_json (rep, &info, o.report) < 0) {
    fail ("%s: %s", o.report, strerror (errno));
    goto out;
  }
  rc = 0;
  goto out;
oom:
  fail ("out of memory");
out:
  q8_plan_free (plan);
  q8_model_free (model);
  q8_builder_free (b);
  free (q8data);
  cv_report_free (rep);
  cv_calib_free (cal);
  cv_graph_free (g);
  cv_source_close (&src);
  free (onnx);
  free (x);
  return rc;
}

/* ---------------------------------------------------------------- */
/* q8 compare                                                        */
/* ---------------------------------------------------------------- */

const char cv_compare_usage[] =
  "usage: q8 compare MODEL.onnx MODEL.q8 --data PATH [options]\n"
  "\n"
  "Reproduces the conversion report of MODEL.q8 on other data: per-layer\n"
  "SQNR (float vs int8, emulated with the .q8's own grids) and the\n"
  "outputs' SQNR and PSNR (float vs q8_run).\n"
  "\n"
  "  --data PATH           .npy / .png / .jpg files or a video, as for\n"
  "                        q8 convert --calib\n"
  "  --max-frames N        at most N frames (default 500)\n"
  "  --input-size WxH      size for models with dynamic H and W\n"
  "  --report FILE.json    save the report as JSON\n"
  "  -q, --quiet           no progress bar and no table on stdout\n";

/* The q8 tensor named name (or name + "/s8", the int8 side of a pixel
 * boundary), or NULL. */
static const q8__tensor *
q8_tensor_named (const q8_model *m, const char *name)
{
  char s8[300];
  snprintf (s8, sizeof s8, "%.200s/s8", name);
  for (uint32_t pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < m->n_tensors; i++) {
      const q8__tensor *t = &m->tensors[i];
      if (!t->is_const && t->dtype == Q8_DTYPE_S8
          && !strcmp (t->name, pass ? s8 : name))
        return t;
    }
  return NULL;
}

int
q8_cli_compare (int argc, char **argv)
{
  const char *onnx_path = NULL, *q8_path = NULL, *data = NULL,
             *report = NULL;
  long max = 500;
  int w = 0, h = 0, rc = 1;
  bool quiet = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
      fputs (cv_compare_usage, stdout);
      return 0;
    } else if (!strcmp (a, "--data") && v) {
      data = argv[++i];
    } else if (!strcmp (a, "--report") && v) {
      report = argv[++i];
    } else if (!strcmp (a, "--max-frames") && v) {
      char *end;
      max = strtol (argv[++i], &end, 10);
      if (*end || max < 1)
        return fail ("--max-frames '%s': a positive integer", v) + 1;
    } else if (!strcmp (a, "--input-size") && v) {
      if (sscanf (argv[++i], "%dx%d", &w, &h) != 2 || w < 1 || h < 1
          || w > Q8_MAX_DIM || h > Q8_MAX_DIM)
        return fail ("--input-size '%s': WxH", v) + 1;
    } else if (!strcmp (a, "-q") || !strcmp (a, "--quiet")) {
      quiet = true;
    } else if (a[0] == '-' && a[1]) {
      return fail ("'%s': unknown option or missing value (see q8 compare "
                   "--help)", a) + 1;
    } else if (!onnx_path) {
      onnx_path = a;
    } else if (!q8_path) {
      q8_path = a;
    } else {
      return fail ("unexpected argument '%s'", a) + 1;
    }
  }
  if (!onnx_path || !q8_path || !data) {
    fputs (cv_compare_usage, stderr);
    return 2;
  }
  char err[1024];
  size_t onnx_size = 0, q8_size = 0;
  void *onnx = NULL, *q8data = NULL;
  cv_graph *g = NULL;
  q8_model *model = NULL;
  q8_plan *plan = NULL;
  cv_report *rep = NULL;
  cv_source src = { 0 };
  bool show = !quiet && isatty (2);

  if (!(onnx = read_whole (onnx_path, &onnx_size))) {
    fail ("%s: %s", onnx_path, strerror (errno));
    goto out;
  }
  if (!(q8data = read_whole (q8_path, &q8_size))) {
    fail ("%s: %s", q8_path, strerror (errno));
    goto out;
  }
  if (q8_model_load_buffer (q8data, q8_size, &model, err, sizeof err) < 0) {
    fail ("%s: %s", q8_path, err);
    goto out;
  }
  if (cv_source_open (&src, data, max))
    goto out;
  q8_status st = cv_import_onnx (onnx, onnx_size, h, w, &g, err, sizeof err);
  if (st == Q8_ESHAPE && h == 0) {
    if (cv_source_first_size (&src, &w, &h))
      goto out;
    st = cv_import_onnx (onnx, onnx_size, h, w, &g, err, sizeof err);
  }
  if (st < 0 || (st = cv_lower (g, err, sizeof err)) < 0) {
    fail ("%s: %s", onnx_path, err);
    goto out;
  }
  if (g->n_inputs != 1 || (size_t) g->n_outputs
                            != q8_model_num_outputs (model)) {
    fail ("%s has %d inputs and %d outputs, %s has %zu and %zu: not the "
          "same model", onnx_path, g->n_inputs, g->n_outputs, q8_path,
          q8_model_num_inputs (model), q8_model_num_outputs (model));
    goto out;
  }
  const char *sha = NULL;
  char mine[65];
  cv_sha256_hex (onnx, onnx_size, mine);
  if (q8_model_meta_string (model, "source.sha256", &sha) == Q8_OK
      && strcmp (sha, mine))
    fprintf (stderr, "q8 compare: warning: %s was converted from another "
             "file (source.sha256 differs)\n", q8_path);
  /* The .q8's grids on the IR's tensors, by name. */
  for (int i = 0; i < g->n_t; i++) {
    cv_tensor *t = &g->t[i];
    if (t->is_const || (t->producer < 0 && i != g->inputs[0]))
      continue;
    if (t->producer >= 0 && g->n[t->producer].dead)
      continue;
    const q8__tensor *q = q8_tensor_named (model, t->name);
    if (!q) {
      fail ("tensor '%s' of %s is not in %s (was it converted from this "
            "model?)", t->name, onnx_path, q8_path);
      goto out;
    }
    t->has_q = true;
    t->q_scale = q->scale;
    t->q_zp = q->zero_point;
  }
  const char *wq = NULL;
  bool per_tensor = q8_model_meta_string (model, "quantization.weights", &wq)
                      == Q8_OK && !strcmp (wq, "per-tensor");
  q8_tensor_info oi;
  q8_model_output_info (model, 0, &oi);
  bool u8_output = oi.dtype == Q8_DTYPE_U8;
  const cv_tensor *in = &g->t[g->inputs[0]];
  src.c = (int) in->dims[1];
  src.h = (int) in->dims[2];
  src.w = (int) in->dims[3];
  if (q8_plan_create (model, src.w, src.h, 1, &plan, err, sizeof err) < 0) {
    fail ("%s: %s", q8_path, err);
    goto out;
  }
  if (!(rep = cv_report_new (g))) {
    fail ("out of memory");
    goto out;
  }
  if (measure (g, plan, &src, per_tensor, u8_output, show, rep) < 0)
    goto out;
  const char *method = "?";
  q8_model_meta_string (model, "calibration.method", &method);
  cv_report_info info = {
    .onnx_path = onnx_path, .q8_path = q8_path, .method = method,
    .calib_source = data, .onnx_bytes = onnx_size, .q8_bytes = q8_size,
    .psnr = u8_output, .warnings = g->warnings,
  };
  if (!quiet)
    cv_report_print (rep, &info, stdout);
  if (report && cv_report_write_json (rep, &info, report) < 0) {
    fail ("%s: %s", report, strerror (errno));
    goto out;
  }
  rc = 0;
out:
  q8_plan_free (plan);
  q8_model_free (model);
  cv_report_free (rep);
  cv_graph_free (g);
  cv_source_close (&src);
  free (onnx);
  free (q8data);
  return rc;
}
