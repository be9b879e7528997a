/* test_cli.c - `q8 convert` and `q8 compare` end to end through the
 * standalone q8-convert program: calibration .npy files written here from
 * the trained ESPCN fixture, the written .q8 loaded back and checked
 * (metadata, boundary types, SQNR of q8_run on held-out frames), the JSON
 * report, and the messages of failing conversions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cv.h"
#include "npy.h"
#include "q8_test.h"
#include "cli_run.h"

#define FIX Q8_SRCDIR "/tests/convert/fixtures/"

/* Runs q8-convert with args; output in cli_tmpdir/stdout and stderr. */
static int
run (const char *args)
{
  return cli_run (Q8_CONVERT_EXE, args);
}

/* n frames of 32 x 32 from a raw fixture as [1, 1, 32, 32] .npy files. */
static void
write_frames (const char *fixture, int n, const char *dir)
{
  size_t size;
  float *f = q8_test_read_file (fixture, &size);
  ck_assert (f && size == (size_t) n * 32 * 32 * 4);
  char path[512], err[256];
  snprintf (path, sizeof path, "%s/%s", cli_tmpdir, dir);
  ck_assert (mkdir (path, 0700) == 0);
  size_t shape[4] = { 1, 1, 32, 32 };
  for (int k = 0; k < n; k++) {
    snprintf (path, sizeof path, "%s/%s/%03d.npy", cli_tmpdir, dir, k);
    ck_assert_msg (npy_write_file (path, NPY_F32, 4, shape, f + k * 1024,
                                   err, sizeof err) == 0, "%s", err);
  }
  free (f);
}

START_TEST (test_convert_and_compare)
{
  write_frames (FIX "espcn_trained.calib.f32", 16, "calib");
  write_frames (FIX "espcn_trained.test.f32", 8, "test");
  char args[4096], q8path[512];
  snprintf (q8path, sizeof q8path, "%s/m.q8", cli_tmpdir);
  snprintf (args, sizeof args, "'%sespcn_trained_relu_bn.onnx' -o '%s' "
            "--calib '%s/calib' --report '%s/r.json' --name tiny",
            FIX, q8path, cli_tmpdir, cli_tmpdir);
  int rc = run (args);
  char *err = cli_slurp ("stderr"), *out = cli_slurp ("stdout");
  ck_assert_msg (rc == 0, "exit %d: %s", rc, err);
  ck_assert_msg (strstr (out, "per-layer SQNR") && strstr (out, "Conv_0"),
                 "report: %s", out);
  char *json = cli_slurp ("r.json");
  ck_assert_msg (json && strstr (json, "\"layers\"")
                   && strstr (json, "\"psnr_db\"")
                   && strstr (json, "\"frames\": 16"), "json: %s", json);
  free (json);
  free (out);
  free (err);

  /* The model: pixel boundary, metadata. */
  q8_model *m;
  char msg[256];
  ck_assert_msg (q8_model_load_file (q8path, &m, msg, sizeof msg) == Q8_OK,
                 "%s", msg);
  q8_tensor_info in, o;
  ck_assert (q8_model_input_info (m, 0, &in) == Q8_OK);
  ck_assert (q8_model_output_info (m, 0, &o) == Q8_OK);
  ck_assert (in.dtype == Q8_DTYPE_U8 && o.dtype == Q8_DTYPE_U8);
  ck_assert (fabsf (in.scale - 1.0f / 255) < 1e-9f && in.zero_point == 0);
  const char *s;
  int64_t v;
  ck_assert (q8_model_meta_string (m, "task", &s) == Q8_OK
             && !strcmp (s, "super-resolution"));
  ck_assert (q8_model_meta_int (m, "sr.scale", &v) == Q8_OK && v == 2);
  ck_assert (q8_model_meta_int (m, "calibration.frames", &v) == Q8_OK
             && v == 16);
  ck_assert (q8_model_meta_string (m, "calibration.method", &s) == Q8_OK
             && !strcmp (s, "mse"));
  ck_assert (q8_model_meta_string (m, "name", &s) == Q8_OK
             && !strcmp (s, "tiny"));
  size_t osize;
  void *onnx = q8_test_read_file (FIX "espcn_trained_relu_bn.onnx", &osize);
  char sha[65];
  cv_sha256_hex (onnx, osize, sha);
  ck_assert (q8_model_meta_string (m, "source.sha256", &s) == Q8_OK
             && !strcmp (s, sha));
  free (onnx);
  q8_model_free (m);

  /* compare on held-out data reports the output's SQNR >= 35 dB. */
  snprintf (args, sizeof args, "compare '%sespcn_trained_relu_bn.onnx' '%s' "
            "--data '%s/test' --report '%s/c.json'", FIX, q8path, cli_tmpdir,
            cli_tmpdir);
  rc = run (args);
  err = cli_slurp ("stderr");
  ck_assert_msg (rc == 0, "compare exit %d: %s", rc, err);
  free (err);
  json = cli_slurp ("c.json");
  const char *p = json ? strstr (json, "\"sqnr_db\": ") : NULL;
  ck_assert_msg (p != NULL, "json: %s", json);
  double db = strtod (p + 11, NULL);
  ck_assert_msg (db >= 35.0, "compare: output SQNR %.2f dB < 35", db);
  free (json);
}
END_TEST

START_TEST (test_failures)
{
  char args[4096];
  /* An unsupported op: exit 1, the node named. */
  snprintf (args, sizeof args, "'%sunsupported.onnx' -o '%s/x.q8'", FIX,
            cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  char *err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "lrn_1") && strstr (err, "LRN"), "%s", err);
  free (err);
  /* Not ONNX. */
  snprintf (args, sizeof args, "'%sespcn_trained.test.f32' -o '%s/x.q8'",
            FIX, cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "not a readable ONNX model"), "%s", err);
  free (err);
  /* Dynamic size without data. */
  snprintf (args, sizeof args, "'%sespcn_trained_tanh.onnx' -o '%s/x.q8'",
            FIX, cli_tmpdir);
  ck_assert_int_eq (run (args), 1);
  err = cli_slurp ("stderr");
  ck_assert_msg (strstr (err, "dynamic height"), "%s", err);
  free (err);
  /* Usage errors exit 2. */
  ck_assert_int_eq (run ("--method fast x.onnx -o y.q8"), 2);
  ck_assert_int_eq (run ("x.onnx"), 2);
  char path[512];
  snprintf (path, sizeof path, "%s/x.q8", cli_tmpdir);
  ck_assert_msg (access (path, F_OK) != 0, "a failed conversion left %s",
                 path);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("convert_cli");
  TCase *tc = tcase_create ("cli");
  tcase_add_checked_fixture (tc, cli_tmpdir_setup, cli_tmpdir_teardown);
  tcase_add_test (tc, test_convert_and_compare);
  tcase_add_test (tc, test_failures);
  suite_add_tcase (s, tc);
  return s;
}
