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
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cv.h"
#include "npy.h"

static const char usage[] =
  "usage: q8 convert MODEL.onnx -o OUT.q8 [--calib PATH] [options]\n"
  "\n"
  "Converts a float32 ONNX model to an int8 .q8 model.\n"
  "\n"
  "  -o, --output FILE     the .q8 file to write\n"
  "  --calib PATH          calibration data: a directory of .npy files or\n"
  "                        one .npy file; float32 NCHW ([1,C,H,W], [C,H,W]\n"
  "                        or [H,W]) in the model's input range, or uint8\n"
  "                        images ([H,W] or [H,W,C]) taken as pixel / 255\n"
  "  --method M            minmax, percentile, mse (default) or entropy\n"
  "  --percentile P        for --method percentile (default 99.99)\n"
  "  --per-tensor          one weight scale per tensor (default: per\n"
  "                        output channel)\n"
  "  --max-frames N        use at most N calibration files (default 500)\n"
  "  --input-size WxH      import size for models with dynamic H and W\n"
  "                        (default: the calibration data's size)\n"
  "  --float-io            int8 input and output tensors (feed float with\n"
  "                        q8_plan_set_input_f32) instead of 8-bit pixels\n"
  "  --task T              super-resolution, anomaly or generic (default:\n"
  "                        super-resolution when the output is an integer\n"
  "                        multiple of the input size, else generic)\n"
  "  --name NAME           the model's human name (metadata)\n"
  "  --colorspace C        input.colorspace metadata: y-bt601, rgb, gray\n"
  "                        (default y-bt601 for 1-channel super-resolution)\n"
  "  --report FILE.json    save the error report as JSON\n"
  "  -q, --quiet           no progress bar and no report on stdout\n";

typedef struct {
  const char *onnx, *out, *calib, *report, *task, *name, *colorspace;
  cv_calib_method method;
  double percentile;
  bool per_tensor, float_io, quiet;
  long max_frames;
  int in_w, in_h;
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
      fputs (usage, stdout);
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
    fputs (usage, stderr);
    return 2;
  }
  return -1;
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

/* ---------------------------------------------------------------- */
/* Calibration data                                                  */
/* ---------------------------------------------------------------- */

typedef struct {
  char **paths;
  int n;
} file_list;

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
list_free (file_list *l)
{
  for (int i = 0; i < l->n; i++)
    free (l->paths[i]);
  free (l->paths);
}

/* The .npy files of a directory in name order, or the one file given. */
static int
list_calib (const char *path, long max, file_list *l)
{
  memset (l, 0, sizeof *l);
  struct stat sb;
  if (stat (path, &sb) != 0)
    return fail ("--calib %s: %s", path, strerror (errno));
  if (!S_ISDIR (sb.st_mode)) {
    l->paths = malloc (sizeof (char *));
    l->paths[0] = cv_strdup (path);
    l->n = 1;
    return 0;
  }
  DIR *d = opendir (path);
  if (!d)
    return fail ("--calib %s: %s", path, strerror (errno));
  struct dirent *e;
  int cap = 0;
  while ((e = readdir (d))) {
    size_t len = strlen (e->d_name);
    if (len < 5 || strcmp (e->d_name + len - 4, ".npy"))
      continue;
    if (l->n == cap) {
      cap = cap ? 2 * cap : 64;
      l->paths = realloc (l->paths, (size_t) cap * sizeof (char *));
    }
    char *p = malloc (strlen (path) + len + 2);
    sprintf (p, "%s/%s", path, e->d_name);
    l->paths[l->n++] = p;
  }
  closedir (d);
  if (l->n == 0)
    return fail ("--calib %s: no .npy files in the directory (images and "
                 "video are not read yet: convert them to .npy)", path);
  qsort (l->paths, (size_t) l->n, sizeof (char *), cmp_str);
  if (l->n > max) {
    for (int i = (int) max; i < l->n; i++)
      free (l->paths[i]);
    l->n = (int) max;
  }
  return 0;
}

/* Reads one sample as NCHW float with c channels; *h, *w from the file. */
static float *
read_sample (const char *path, int c, int *h, int *w)
{
  npy_array a;
  char err[256];
  if (npy_read_file (path, &a, err, sizeof err) < 0) {
    fail ("%s", err);
    return NULL;
  }
  size_t dims[4] = { 1, 1, 1, 1 };
  int fc = 1;
  float *out = NULL;
  if (a.dtype == NPY_F32) {
    /* [H,W], [C,H,W] or [1,C,H,W] */
    for (int i = 0; i < a.ndim; i++)
      dims[4 - a.ndim + i] = a.shape[i];
    fc = (int) dims[1];
    if (a.ndim < 2 || dims[0] != 1 || fc != c) {
      fail ("%s: float32 shape with %d dimensions and %d channels; the "
            "model takes [1, %d, H, W]", path, a.ndim, fc, c);
      goto out;
    }
    *h = (int) dims[2];
    *w = (int) dims[3];
    out = a.data;
    a.data = NULL;
  } else {
    /* uint8 [H, W] or [H, W, C] images: pixel / 255, to NCHW */
    fc = a.ndim == 3 ? (int) a.shape[2] : 1;
    if ((a.ndim != 2 && a.ndim != 3) || fc != c) {
      fail ("%s: uint8 images must be [H, W] or [H, W, %d]", path, c);
      goto out;
    }
    *h = (int) a.shape[0];
    *w = (int) a.shape[1];
    out = malloc (a.count * sizeof (float));
    const uint8_t *p = a.data;
    for (int y = 0; y < *h; y++)
      for (int x = 0; x < *w; x++)
        for (int k = 0; k < c; k++)
          out[((size_t) k * *h + y) * *w + x] =
            p[((size_t) y * *w + x) * c + k] / 255.0f;
  }
out:
  npy_free (&a);
  return out;
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
  if (done == total)
    fprintf (stderr, "\n");
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
  float *x = NULL, *qout = NULL;
  file_list files = { 0 };
  rc = 1;
  bool show = !o.quiet && isatty (2);

  onnx = read_whole (o.onnx, &onnx_size);
  if (!onnx) {
    fail ("%s: %s", o.onnx, strerror (errno));
    goto out;
  }
  if (o.calib && list_calib (o.calib, o.max_frames, &files))
    goto out;

  /* The import size: --input-size, else the first calibration sample's. */
  int h = o.in_h, w = o.in_w;
  q8_status st = cv_import_onnx (onnx, onnx_size, h, w, &g, err, sizeof err);
  if (st == Q8_OK && files.n && h == 0) {
    int c = (int) g->t[g->inputs[0]].dims[1], fh, fw;
    float *s = read_sample (files.paths[0], c, &fh, &fw);
    if (!s)
      goto out;
    free (s);
    const cv_tensor *in = &g->t[g->inputs[0]];
    if (in->dims[2] != fh || in->dims[3] != fw) {
      fail ("%s: the calibration data is %dx%d, the model's input '%s' is "
            "%lldx%lld", files.paths[0], fw, fh, in->name,
            (long long) in->dims[3], (long long) in->dims[2]);
      goto out;
    }
  } else if (st == Q8_ESHAPE && files.n && h == 0) {
    /* Dynamic axes: import at the data's size. */
    cv_graph_free (g);
    g = NULL;
    npy_array a;
    if (npy_read_file (files.paths[0], &a, err, sizeof err) < 0) {
      fail ("%s", err);
      goto out;
    }
    if (a.ndim >= 2) {
      /* float [.., H, W] or uint8 [H, W, (C)] */
      h = (int) (a.dtype == NPY_F32 ? a.shape[a.ndim - 2] : a.shape[0]);
      w = (int) (a.dtype == NPY_F32 ? a.shape[a.ndim - 1] : a.shape[1]);
    }
    npy_free (&a);
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

  /* Calibration: ranges, then histograms. */
  cal = cv_calib_new (g, o.method, o.percentile);
  if (!cal)
    goto oom;
  time_t t0 = time (NULL);
  for (int pass = 0; pass < 2 && files.n; pass++) {
    for (int i = 0; i < files.n; i++) {
      int fh, fw;
      x = read_sample (files.paths[i], c, &fh, &fw);
      if (!x)
        goto out;
      if (fh != h || fw != w) {
        fail ("%s: %dx%d, the other calibration data is %dx%d",
              files.paths[i], fw, fh, w, h);
        goto out;
      }
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
                           : "calibrating (ranges)", i + 1, files.n, t0);
    }
  }
  cv_calib_finish (cal, g);
  cv_quant_opts qo = { .per_tensor = o.per_tensor, .u8_input = !o.float_io,
                       .u8_output = !o.float_io };
  if ((st = cv_quant_finalize (g, &qo, err, sizeof err)) < 0) {
    fail ("%s%s", err, files.n ? "" : " (give --calib data)");
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
                          files.n ? cv_calib_method_name (o.method)
                                  : "imported");
  q8_builder_meta_int (b, "calibration.frames", files.n);
  if (o.calib)
    q8_builder_meta_string (b, "calibration.source", o.calib);
  q8_builder_meta_string (b, "quantization.weights",
                          o.per_tensor ? "per-tensor" : "per-channel");
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
  cv_exec_opts emu = { .emulate = true, .per_tensor = o.per_tensor };
  for (int i = 0; i < files.n; i++) {
    int fh, fw;
    x = read_sample (files.paths[i], c, &fh, &fw);
    if (!x)
      goto out;
    const float *ins[1] = { x };
    cv_values vf, vq;
    if (cv_execute (g, ins, NULL, &vf, err, sizeof err) < 0
        || cv_execute (g, ins, &emu, &vq, err, sizeof err) < 0) {
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
      qout = realloc (qout, n * sizeof (float));
      q8_plan_get_output_f32 (plan, (size_t) k, qout);
      cv_report_add_q8 (rep, k, vf.v[g->outputs[k]], qout, n);
    }
    cv_values_free (&vf);
    cv_values_free (&vq);
    free (x);
    x = NULL;
    progress (show, "measuring", i + 1, files.n, t0);
  }
  cv_report_info info = {
    .onnx_path = o.onnx, .q8_path = o.out,
    .method = files.n ? cv_calib_method_name (o.method) : "imported",
    .calib_source = o.calib, .onnx_bytes = onnx_size, .q8_bytes = q8_size,
    .psnr = !o.float_io, .warnings = g->warnings,
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
  list_free (&files);
  free (onnx);
  free (x);
  free (qout);
  return rc;
}
