/* test_teach.c - `q8 teach` and `q8 score` end to end: a feature anomaly
 * model built here (its feature is the luma itself), taught on noisy
 * normal .npy frames, then scoring normal frames and one with a bright
 * defect.  The scores printed must equal libq8's q8_scorer on the taught
 * file (core/anomaly.c is checked against its own reference in
 * tests/core/test_anomaly.c), the defect must be above the threshold and
 * the normal frames below, the maps must be written; wrong models and
 * missing options fail with messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "npy.h"
#include "q8_test.h"
#include "cli_run.h"

#define W 16
#define H 12

/* Runs the q8 tool with args; output in cli_tmpdir/stdout and stderr. */
static int
run (const char *args)
{
  return cli_run (Q8_TOOL, args);
}

static void
write_model (const char *path)
{
  q8_builder *b = q8_builder_new ();
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_U8, 1, 1.0f / 255,
                                         0);
  int64_t y = q8_builder_add_activation (b, "f", Q8_DTYPE_S8, 1, 1.0f / 255,
                                         -128);
  char err[256];
  ck_assert (x >= 0 && y >= 0);
  ck_assert (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, (uint32_t[]) { x }, 1,
                                (uint32_t[]) { y }, NULL, 0) >= 0);
  q8_builder_add_input (b, (uint32_t) x);
  q8_builder_add_output (b, (uint32_t) y);
  q8_builder_meta_string (b, "task", "anomaly");
  q8_builder_meta_string (b, "anomaly.method", "gaussian");
  q8_builder_meta_int (b, "input.width", W);
  q8_builder_meta_int (b, "input.height", H);
  ck_assert_msg (q8_builder_write_file (b, path, err, sizeof err) == Q8_OK,
                 "%s", err);
  q8_builder_free (b);
}

/* A uint8 [H, W] frame: 100 +- 6 noise, and a 4x4 patch of 250 if
 * defect. */
static void
write_frame (const char *path, q8_rng *r, int defect, uint8_t *px)
{
  char err[256];
  size_t shape[2] = { H, W };
  for (int i = 0; i < W * H; i++)
    px[i] = (uint8_t) (100 + q8_rng_int (r, -6, 6));
  if (defect)
    for (int y = 4; y < 8; y++)
      for (int x = 6; x < 10; x++)
        px[y * W + x] = 250;
  ck_assert_msg (npy_write_file (path, NPY_U8, 2, shape, px, err,
                                 sizeof err) == 0, "%s", err);
}

/* The score of line `frame` in the JSON lines out, by file name. */
static double
json_score (const char *out, const char *file, int *anomalous)
{
  const char *p = strstr (out, file);
  ck_assert_msg (p != NULL, "%s not in: %s", file, out);
  const char *s = strstr (p, "\"score\":");
  ck_assert (s != NULL);
  *anomalous = strstr (p, "\"anomalous\":true") != NULL
               && strstr (p, "\"anomalous\":true") < strchr (p, '\n');
  return strtod (s + 8, NULL);
}

START_TEST (test_teach_then_score)
{
  char model[512], scene[512], path[600], args[4096];
  uint8_t px[W * H], defect_px[W * H], normal_px[W * H];
  q8_rng r;
  q8_rng_seed (&r, 5);
  snprintf (model, sizeof model, "%s/features.q8", cli_tmpdir);
  snprintf (scene, sizeof scene, "%s/scene.q8", cli_tmpdir);
  write_model (model);
  snprintf (path, sizeof path, "%s/normal", cli_tmpdir);
  ck_assert (mkdir (path, 0700) == 0);
  for (int i = 0; i < 12; i++) {
    snprintf (path, sizeof path, "%s/normal/%02d.npy", cli_tmpdir, i);
    write_frame (path, &r, 0, px);
  }
  snprintf (path, sizeof path, "%s/test", cli_tmpdir);
  ck_assert (mkdir (path, 0700) == 0);
  snprintf (path, sizeof path, "%s/test/a_normal.npy", cli_tmpdir);
  write_frame (path, &r, 0, normal_px);
  snprintf (path, sizeof path, "%s/test/b_defect.npy", cli_tmpdir);
  write_frame (path, &r, 1, defect_px);
  snprintf (path, sizeof path, "%s/maps", cli_tmpdir);
  ck_assert (mkdir (path, 0700) == 0);

  /* _i = 1: the memory bank, by option (the model says gaussian). */
  snprintf (args, sizeof args, "teach '%s' --data '%s/normal' -o '%s' "
            "--frames 10 --threads 1%s", model, cli_tmpdir, scene,
            _i == 1 ? " --method knn --radius 2 --bank 6" : "");
  int rc = run (args);
  char *err = cli_slurp ("stderr"), *out = cli_slurp ("stdout");
  ck_assert_msg (rc == 0, "teach exit %d: %s", rc, err);
  ck_assert_msg (strstr (out, "on 10 frames") != NULL, "%s", out);
  free (out);
  free (err);

  snprintf (args, sizeof args, "score '%s' --data '%s/test' --json "
            "--maps '%s/maps'", scene, cli_tmpdir, cli_tmpdir);
  rc = run (args);
  err = cli_slurp ("stderr");
  out = cli_slurp ("stdout");
  ck_assert_msg (rc == 0, "score exit %d: %s", rc, err);

  /* The same scores from the library on the taught file. */
  q8_model *m = NULL;
  q8_plan *p = NULL;
  q8_scorer *s = NULL;
  char msg[256];
  double thr, want_n, want_d;
  int64_t frames;
  ck_assert (q8_model_load_file (scene, &m, msg, sizeof msg) == Q8_OK);
  ck_assert (q8_model_meta_float (m, "anomaly.threshold", &thr) == Q8_OK);
  ck_assert (q8_model_meta_int (m, "anomaly.teach.frames", &frames)
             == Q8_OK);
  ck_assert_int_eq (frames, 10);
  const char *method;
  ck_assert (q8_model_meta_string (m, "anomaly.method", &method) == Q8_OK);
  ck_assert_str_eq (method, _i == 1 ? "knn" : "gaussian");
  if (_i == 1) {
    int64_t radius;
    ck_assert (q8_model_meta_int (m, "anomaly.knn.radius", &radius)
               == Q8_OK);
    ck_assert_int_eq (radius, 2);
  }
  ck_assert (q8_plan_create (m, W, H, 1, &p, msg, sizeof msg) == Q8_OK);
  ck_assert (q8_scorer_create (m, p, &s, msg, sizeof msg) == Q8_OK);
  q8_plan_set_input_u8 (p, 0, normal_px, W);
  q8_run (p);
  q8_scorer_run (s, p, NULL, &want_n);
  q8_plan_set_input_u8 (p, 0, defect_px, W);
  q8_run (p);
  q8_scorer_run (s, p, NULL, &want_d);

  int an_n, an_d;
  double got_n = json_score (out, "a_normal.npy", &an_n);
  double got_d = json_score (out, "b_defect.npy", &an_d);
  ck_assert_msg (fabs (got_n - want_n) <= 1e-5 * want_n
                 && fabs (got_d - want_d) <= 1e-5 * want_d,
                 "scores %g %g, library %g %g", got_n, got_d, want_n,
                 want_d);
  ck_assert_msg (!an_n && got_n <= thr, "normal frame %g, threshold %g",
                 got_n, thr);
  ck_assert_msg (an_d && got_d > thr, "defect %g, threshold %g", got_d, thr);

  /* Maps: [H, W] float32, one per frame in order. */
  npy_array a;
  snprintf (path, sizeof path, "%s/maps/000001.npy", cli_tmpdir);
  ck_assert_msg (npy_read_file (path, &a, msg, sizeof msg) == 0, "%s", msg);
  ck_assert (a.dtype == NPY_F32 && a.ndim == 2 && a.shape[0] == H
             && a.shape[1] == W);
  float mx = 0;
  for (size_t i = 0; i < a.count; i++)
    mx = ((float *) a.data)[i] > mx ? ((float *) a.data)[i] : mx;
  ck_assert_msg (fabs (mx - got_d) <= 1e-5 * got_d, "map max %g, score %g",
                 (double) mx, got_d);
  npy_free (&a);

  q8_scorer_free (s);
  q8_plan_free (p);
  q8_model_free (m);
  free (out);
  free (err);
}
END_TEST

START_TEST (test_refusals)
{
  char model[512], args[4096];
  snprintf (model, sizeof model, "%s/features.q8", cli_tmpdir);
  write_model (model);

  /* A super-resolution model cannot be taught. */
  snprintf (args, sizeof args, "teach '%s/tests/fixtures/espcn_tiny_x2.q8' "
            "--data '%s' -o '%s/x.q8'", Q8_SRCDIR, cli_tmpdir, cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  char *err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "not a feature anomaly model"), "%s", err);
  free (err);

  /* An untaught model cannot score. */
  snprintf (args, sizeof args, "score '%s' --data '%s' --threshold 1", model,
            cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "no normal statistics"), "%s", err);
  free (err);

  /* Missing options are usage errors; a missing data path says so. */
  snprintf (args, sizeof args, "teach '%s' -o '%s/x.q8'", model, cli_tmpdir);
  ck_assert_int_eq (run (args), 2);
  snprintf (args, sizeof args, "teach '%s' --data /nonexistent/frames -o "
            "'%s/x.q8'", model, cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "/nonexistent/frames"), "%s", err);
  free (err);
  snprintf (args, sizeof args, "teach '%s' --data '%s' -o '%s/x.q8' "
            "--margin 0", model, cli_tmpdir, cli_tmpdir);
  ck_assert_int_eq (run (args), 2);
  snprintf (args, sizeof args, "teach '%s' --data '%s' -o '%s/x.q8' "
            "--method nearest", model, cli_tmpdir, cli_tmpdir);
  ck_assert_int_eq (run (args), 2);
  err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "--method must be knn or gaussian"), "%s", err);
  free (err);
  snprintf (args, sizeof args, "teach '%s' --data '%s' -o '%s/x.q8' "
            "--radius 9", model, cli_tmpdir, cli_tmpdir);
  ck_assert_int_eq (run (args), 2);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("teach");
  TCase *tc = tcase_create ("teach");
  tcase_add_checked_fixture (tc, cli_tmpdir_setup, cli_tmpdir_teardown);
  tcase_add_loop_test (tc, test_teach_then_score, 0, 2);
  tcase_add_test (tc, test_refusals);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
