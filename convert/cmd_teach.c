/* cmd_teach.c - `q8 teach` and `q8 score`: offline teaching of a feature
 * anomaly model on normal frames of a scene, and scoring of frames with
 * the taught model (core/anomaly.c does the statistics; this file reads
 * frames and writes files).
 *
 *   q8 teach MODEL.q8 --data VIDEO_OR_DIR -o scene.q8
 *   q8 score scene.q8 --data FILE_OR_DIR [--json] [--maps DIR]
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npy.h"
#include "source.h"

#define DEFAULT_TEACH_FRAMES 1000

static const char teach_help[] =
  "usage: q8 teach MODEL --data VIDEO_OR_DIR -o SCENE.q8 [options]\n"
  "\n"
  "Teaches a feature anomaly model (anomaly.method = gaussian or knn, e.g.\n"
  "the built-in builtin:anomaly_features) what a scene looks like when it\n"
  "is normal: runs it on the frames of VIDEO_OR_DIR (a video, an image, or\n"
  "a directory of images and .npy files, in name order), then either keeps\n"
  "a memory bank of their features (knn: a frame's cell scores its distance\n"
  "to the nearest normal feature within --radius cells) or estimates each\n"
  "feature cell's mean and variance (gaussian), and sets the threshold\n"
  "from the leave-one-out scores of those frames.  Writes the model\n"
  "together with what it learnt to SCENE.q8, which qanomaly\n"
  "model=SCENE.q8 and q8 score use directly.\n"
  "\n"
  "options:\n"
  "  --data PATH      normal frames (required)\n"
  "  -o, --output F   the taught model (required)\n"
  "  --frames N       at most N frames (default 1000)\n"
  "  --method M       knn or gaussian (default: the model's anomaly.method)\n"
  "  --radius R       knn: search radius in cells, 0..8 (default 1)\n"
  "  --bank N         knn: at most N frames in the bank, evenly spaced\n"
  "                   (default 100; each costs gh * gw * C bytes)\n"
  "  --shrink K       gaussian: variance shrinkage towards the channel's\n"
  "                   (default 8)\n"
  "  --quantile Q     of the normal scores the threshold starts from\n"
  "                   (default 1 = the highest)\n"
  "  --margin M       threshold = quantile score * M (default 1.25)\n"
  "  --threads N      worker threads (default 0 = one per core)\n";

static const char score_help[] =
  "usage: q8 score SCENE.q8 --data FILE_OR_DIR [--json] [--maps DIR]\n"
  "\n"
  "Scores frames with a taught anomaly model: one line per frame with the\n"
  "file, the frame number within it, the score and whether it is above\n"
  "the model's threshold (or --threshold).\n"
  "\n"
  "options:\n"
  "  --data PATH      frames (required)\n"
  "  --json           one JSON object per line instead of text\n"
  "  --maps DIR       also write each frame's cell map as DIR/NNNNNN.npy\n"
  "                   (float32 [gh, gw], frames numbered from 0)\n"
  "  --threshold T    threshold to report against\n"
  "  --threads N      worker threads (default 0 = one per core)\n";

static int q8_cli_teach (int argc, char **argv);
static int q8_cli_score (int argc, char **argv);

const cli_command cli_cmd_teach = {
  "teach", q8_cli_teach,
  "teach an anomaly model the normal look of a scene", teach_help,
};

const cli_command cli_cmd_score = {
  "score", q8_cli_score,
  "score frames with a taught anomaly model", score_help,
};

/* The fixed input size of a feature anomaly model; -1 after printing why
 * it is not one. */
static int
feature_model_size (const q8_model *m, const char *path, int *w, int *h)
{
  int64_t iw = 0, ih = 0;
  q8_tensor_info in;
  if (!q8_model_is_feature_anomaly (m)) {
    cli_error ("%s: not a feature anomaly model (metadata anomaly.method "
               "is not 'gaussian' or 'knn')", path);
    return -1;
  }
  if (q8_model_num_inputs (m) != 1
      || q8_model_input_info (m, 0, &in) != Q8_OK || in.c != 1
      || q8_model_meta_int (m, "input.width", &iw) != Q8_OK
      || q8_model_meta_int (m, "input.height", &ih) != Q8_OK || iw < 1
      || ih < 1 || iw > Q8_MAX_DIM || ih > Q8_MAX_DIM) {
    cli_error ("%s: a feature anomaly model needs one 1-channel input and "
               "a fixed input.width and input.height", path);
    return -1;
  }
  *w = (int) iw;
  *h = (int) ih;
  return 0;
}

static int
parse_double (const char *option, const char *s, double lo, double hi,
              double *out)
{
  char *end;
  errno = 0;
  double v = s != NULL ? strtod (s, &end) : NAN;
  if (s == NULL || end == s || *end != '\0' || errno != 0 || !(v >= lo)
      || !(v <= hi)) {
    cli_error ("%s must be a number in %g..%g, not '%s'", option, lo, hi,
               s != NULL ? s : "");
    return -1;
  }
  *out = v;
  return 0;
}

/* Opens the frames of path at the model's size. */
static int
open_frames (cv_source *src, const char *path, long max, int w, int h)
{
  if (cv_source_open (src, path, max))
    return -1;
  src->c = 1;
  src->w = w;
  src->h = h;
  return 0;
}

static int
q8_cli_teach (int argc, char **argv)
{
  const char *data = NULL, *out = NULL, *frames_s = NULL, *shrink_s = NULL,
             *quantile_s = NULL, *margin_s = NULL, *threads_s = NULL,
             *o_short = NULL, *method_s = NULL, *radius_s = NULL,
             *bank_s = NULL;
  const cli_option opts[] = {
    { "data", &data, NULL },         { "output", &out, NULL },
    { "frames", &frames_s, NULL },   { "shrink", &shrink_s, NULL },
    { "quantile", &quantile_s, NULL }, { "margin", &margin_s, NULL },
    { "threads", &threads_s, NULL }, { "method", &method_s, NULL },
    { "radius", &radius_s, NULL },   { "bank", &bank_s, NULL },
    { NULL, NULL, NULL },
  };
  char *pos[1];
  int n_pos = 0, w, h, rc = CLI_EXIT_FAIL;
  long max_frames = DEFAULT_TEACH_FRAMES, threads = 0, shrink, radius, bank;
  q8_teach_params params;
  q8_teach_params_init (&params);
  shrink = params.shrink;
  radius = params.radius;
  bank = params.bank;

  /* -o is the one short option. */
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "-o") == 0) {
      o_short = argv[i + 1];
      memmove (argv + i, argv + i + 2, (size_t) (argc - i - 2) * sizeof *argv);
      argc -= 2;
      break;
    }
  int r = cli_parse_args (&cli_cmd_teach, argc, argv, opts, pos, 1, 1,
                          &n_pos);
  if (r != CLI_CONTINUE)
    return r;
  if (o_short != NULL)
    out = o_short;
  if (data == NULL || out == NULL) {
    cli_error ("teach needs --data PATH and -o OUT.q8 (see q8 help teach)");
    return CLI_EXIT_USAGE;
  }
  if ((frames_s && cli_parse_int ("--frames", frames_s, 2,
                                  Q8_ANOMALY_MAX_FRAMES, &max_frames))
      || (threads_s && cli_parse_int ("--threads", threads_s, 0, 256,
                                      &threads))
      || (shrink_s && cli_parse_int ("--shrink", shrink_s, 0, 1000000,
                                     &shrink))
      || (quantile_s && parse_double ("--quantile", quantile_s, 0, 1,
                                      &params.quantile))
      || (margin_s && parse_double ("--margin", margin_s, 1e-6, 1e6,
                                    &params.margin))
      || (radius_s && cli_parse_int ("--radius", radius_s, 0,
                                     Q8_ANOMALY_MAX_RADIUS, &radius))
      || (bank_s && cli_parse_int ("--bank", bank_s, 2,
                                   Q8_ANOMALY_MAX_FRAMES, &bank)))
    return CLI_EXIT_USAGE;
  params.shrink = (int) shrink;
  params.radius = (int) radius;
  params.bank = (int) bank;
  if (method_s != NULL) {
    if (strcmp (method_s, "knn") == 0)
      params.method = Q8_ANOMALY_KNN;
    else if (strcmp (method_s, "gaussian") == 0)
      params.method = Q8_ANOMALY_GAUSSIAN;
    else {
      cli_error ("--method must be knn or gaussian, not '%s'", method_s);
      return CLI_EXIT_USAGE;
    }
  }

  q8_model *m = cli_load_model (pos[0]);
  q8_plan *p = NULL;
  q8_teacher *t = NULL;
  cv_source src = { 0 };
  float *x = NULL;
  void *bytes = NULL;
  size_t size = 0;
  char err[512] = "";
  q8_status st;
  double threshold = 0;
  if (m == NULL || feature_model_size (m, pos[0], &w, &h) < 0)
    goto done;
  if ((p = cli_plan (m, pos[0], w, h, (int) threads)) == NULL)
    goto done;
  st = q8_teacher_create (m, p, (int) max_frames, &t, err, sizeof err);
  if (st != Q8_OK) {
    cli_error ("%s: %s: %s", pos[0], q8_status_str (st), err);
    goto done;
  }
  if (open_frames (&src, data, max_frames, w, h) < 0)
    goto done;
  while ((r = cv_source_next (&src, &x)) == 1) {
    q8_plan_set_input_f32 (p, 0, x);
    q8_run (p);
    q8_teacher_add (t, p);
    free (x);
    x = NULL;
  }
  if (r < 0)
    goto done;
  st = q8_teacher_finish (t, m, &params, &bytes, &size, &threshold, err,
                          sizeof err);
  if (st != Q8_OK) {
    cli_error ("%s: %s: %s", data, q8_status_str (st), err);
    goto done;
  }
  FILE *f = fopen (out, "wb");
  if (f == NULL || fwrite (bytes, 1, size, f) != size) {
    cli_error ("%s: %s", out, strerror (errno));
    if (f != NULL)
      fclose (f);
    goto done;
  }
  if (fclose (f) != 0) {
    cli_error ("%s: %s", out, strerror (errno));
    goto done;
  }
  printf ("taught %s on %d frames of %s: threshold %.4g -> %s\n", pos[0],
          q8_teacher_frames (t), data, threshold, out);
  rc = CLI_EXIT_OK;

done:
  free (x);
  free (bytes);
  cv_source_close (&src);
  q8_teacher_free (t);
  q8_plan_free (p);
  q8_model_free (m);
  return rc;
}

/* Writes a [gh, gw] float32 map as DIR/NNNNNN.npy; -1 after printing. */
static int
write_map (const char *dir, long index, const float *map, int gh, int gw)
{
  char path[4096];
  char err[256];
  size_t shape[2] = { (size_t) gh, (size_t) gw };
  snprintf (path, sizeof path, "%s/%06ld.npy", dir, index);
  if (npy_write_file (path, NPY_F32, 2, shape, map, err, sizeof err) < 0) {
    cli_error ("%s", err);
    return -1;
  }
  return 0;
}

/* path with JSON's special characters escaped, into buf. */
static const char *
json_str (const char *s, char *buf, size_t size)
{
  size_t n = 0;
  for (; *s != '\0' && n + 7 < size; s++) {
    unsigned char ch = (unsigned char) *s;
    if (ch == '"' || ch == '\\')
      n += (size_t) snprintf (buf + n, size - n, "\\%c", ch);
    else if (ch < 0x20)
      n += (size_t) snprintf (buf + n, size - n, "\\u%04x", ch);
    else
      buf[n++] = (char) ch;
  }
  buf[n] = '\0';
  return buf;
}

static int
q8_cli_score (int argc, char **argv)
{
  const char *data = NULL, *maps = NULL, *thr_s = NULL, *threads_s = NULL;
  int json = 0;
  const cli_option opts[] = {
    { "data", &data, NULL },           { "maps", &maps, NULL },
    { "threshold", &thr_s, NULL },     { "threads", &threads_s, NULL },
    { "json", NULL, &json },           { NULL, NULL, NULL },
  };
  char *pos[1];
  int n_pos = 0, w, h, rc = CLI_EXIT_FAIL;
  long threads = 0;
  double threshold = 0;
  int r = cli_parse_args (&cli_cmd_score, argc, argv, opts, pos, 1, 1,
                          &n_pos);
  if (r != CLI_CONTINUE)
    return r;
  if (data == NULL) {
    cli_error ("score needs --data PATH (see q8 help score)");
    return CLI_EXIT_USAGE;
  }
  if ((threads_s && cli_parse_int ("--threads", threads_s, 0, 256,
                                   &threads))
      || (thr_s && parse_double ("--threshold", thr_s, 0, 1e30,
                                 &threshold)))
    return CLI_EXIT_USAGE;

  q8_model *m = cli_load_model (pos[0]);
  q8_plan *p = NULL;
  q8_scorer *s = NULL;
  cv_source src = { 0 };
  float *x = NULL, *map = NULL;
  char err[512] = "", jb[2048];
  const char *last = NULL;
  long index = 0, in_file = 0;
  q8_status st;
  q8_tensor_info o;
  if (m == NULL || feature_model_size (m, pos[0], &w, &h) < 0)
    goto done;
  if (thr_s == NULL
      && q8_model_meta_float (m, "anomaly.threshold", &threshold) != Q8_OK) {
    cli_error ("%s: no anomaly.threshold; give --threshold", pos[0]);
    goto done;
  }
  if ((p = cli_plan (m, pos[0], w, h, (int) threads)) == NULL)
    goto done;
  st = q8_scorer_create (m, p, &s, err, sizeof err);
  if (st != Q8_OK) {
    cli_error ("%s: %s: %s", pos[0], q8_status_str (st), err);
    goto done;
  }
  q8_plan_output_info (p, 0, &o);
  map = malloc ((size_t) o.h * o.w * sizeof *map);
  if (map == NULL || open_frames (&src, data, 1L << 40, w, h) < 0)
    goto done;
  while ((r = cv_source_next (&src, &x)) == 1) {
    double score;
    const char *path = cv_source_path (&src);
    in_file = last == path ? in_file + 1 : 0;
    last = path;
    q8_plan_set_input_f32 (p, 0, x);
    q8_run (p);
    q8_scorer_run (s, p, map, &score);
    free (x);
    x = NULL;
    if (json)
      printf ("{\"file\":\"%s\",\"frame\":%ld,\"score\":%.6g,"
              "\"threshold\":%.6g,\"anomalous\":%s}\n",
              json_str (path, jb, sizeof jb), in_file, score, threshold,
              score > threshold ? "true" : "false");
    else
      printf ("%s\t%ld\t%.6g\t%s\n", path, in_file, score,
              score > threshold ? "anomalous" : "normal");
    if (maps != NULL && write_map (maps, index, map, o.h, o.w) < 0)
      goto done;
    index++;
  }
  if (r < 0)
    goto done;
  rc = CLI_EXIT_OK;

done:
  free (x);
  free (map);
  cv_source_close (&src);
  q8_scorer_free (s);
  q8_plan_free (p);
  q8_model_free (m);
  return rc;
}
