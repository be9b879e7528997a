/* test_emit.c - converted models through libq8 itself: every fixture
 * model is quantized, written with q8_builder, loaded by the full
 * validator and run with q8_run; its outputs are compared with the
 * converter's fake-quantized emulation (which follows the same grids) and
 * with the float reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "q8_test.h"

#define FIX Q8_SRCDIR "/tests/convert/fixtures/"

typedef struct {
  const char *name;
  bool u8;            /* pixel input and output */
} emit_case;

static const emit_case cases[] = {
  { "conv_relu", true },      { "conv_bn_relu", false },
  { "espcn_tanh", false },    { "espcn_relu_bn", false },
  { "pixelshuffle_pattern", false }, { "activations", false },
  { "add_concat_pool", false }, { "resize", false },
  { "const_arith", false },   { "qdq", true },
  { "d2s_dcr", false },       { "opset11", false },
  { "opset9_upsample", false }, { "convtranspose_k2s2", false },
  { "qdq_float_weights", false },
};

typedef struct {
  cv_graph *g;
  q8_model *model;
  q8_plan *plan;
  size_t q8_size, onnx_size;
} converted;

/* Imports, calibrates on `frames` inputs (NCHW, each the model's input
 * size), builds and loads. */
static void
convert (const char *name, bool u8, int h, int w, const float *frames,
         int n_frames, cv_calib_method m, converted *c)
{
  char path[512], err[512];
  snprintf (path, sizeof path, FIX "%s.onnx", name);
  void *data = q8_test_read_file (path, &c->onnx_size);
  ck_assert (data != NULL);
  ck_assert_msg (cv_import_onnx (data, c->onnx_size, h, w, &c->g, err,
                                 sizeof err) == Q8_OK, "%s: %s", name, err);
  free (data);
  cv_graph *g = c->g;
  ck_assert_msg (cv_lower (g, err, sizeof err) == Q8_OK, "%s: %s", name, err);
  ck_assert_msg (cv_calibrate (g, m, 99.99, frames, n_frames, err,
                               sizeof err)
                   == Q8_OK, "%s", err);
  cv_quant_opts qo = { .u8_input = u8, .u8_output = u8 };
  ck_assert_msg (cv_quant_finalize (g, &qo, err, sizeof err) == Q8_OK,
                 "%s: %s", name, err);
  q8_builder *b = q8_builder_new ();
  ck_assert_msg (cv_quant_build (g, &qo, b, err, sizeof err) == Q8_OK,
                 "%s: %s", name, err);
  void *q8data;
  ck_assert_msg (q8_builder_write (b, &q8data, &c->q8_size, err, sizeof err)
                   == Q8_OK, "%s: builder: %s", name, err);
  q8_builder_free (b);
  ck_assert_msg (q8_model_load_buffer (q8data, c->q8_size, &c->model, err,
                                       sizeof err) == Q8_OK,
                 "%s: load: %s", name, err);
  free (q8data);
  const cv_tensor *in = &g->t[g->inputs[0]];
  ck_assert_msg (q8_plan_create (c->model, (int) in->dims[3],
                                 (int) in->dims[2], 1, &c->plan, err,
                                 sizeof err) == Q8_OK, "%s: plan: %s", name,
                 err);
}

static void
converted_free (converted *c)
{
  q8_plan_free (c->plan);
  q8_model_free (c->model);
  cv_graph_free (c->g);
}

/* Runs input x through q8; out receives output k as NCHW float. */
static void
run_q8 (converted *c, const float *x, int k, float *out)
{
  const cv_graph *g = c->g;
  size_t n = (size_t) cv_numel (&g->t[g->inputs[0]]);
  float *xs = malloc (n * sizeof (float));
  for (size_t i = 0; i < n; i++)
    xs[i] = (float) (x[i] * g->input_mul[0]);
  ck_assert (q8_plan_set_input_f32 (c->plan, 0, xs) == Q8_OK);
  ck_assert (q8_run (c->plan) == Q8_OK);
  ck_assert (q8_plan_get_output_f32 (c->plan, (size_t) k, out) == Q8_OK);
  free (xs);
}

/* Every fixture converts, loads and runs; q8's outputs stay within a few
 * output steps of the emulation (the emulation rounds each layer in float;
 * q8's LUTs and rule S/R roundings can differ by a step per layer). */
START_TEST (test_fixture_runs)
{
  const emit_case *e = &cases[_i];
  char path[512], err[512];
  snprintf (path, sizeof path, FIX "%s.in.f32", e->name);
  size_t sz;
  float *x = q8_test_read_file (path, &sz);
  ck_assert (x != NULL);
  converted c = { 0 };
  /* The fixture input is also the calibration set: these tests check
   * the arithmetic, not the calibration. */
  convert (e->name, e->u8, 0, 0, x, 1, CV_CALIB_MINMAX, &c);
  const cv_graph *g = c.g;
  cv_exec_opts emu = { .emulate = true, .u8_output = e->u8 };
  const float *ins[1] = { x };
  cv_values vq;
  ck_assert (cv_execute (g, ins, &emu, &vq, err, sizeof err) == Q8_OK);
  for (int k = 0; k < g->n_outputs; k++) {
    const cv_tensor *t = &g->t[g->outputs[k]];
    size_t n = (size_t) cv_numel (t);
    float *out = malloc (n * sizeof (float));
    run_q8 (&c, x, k, out);
    double step = e->u8 ? 1.0 / 255 : t->q_scale, worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < n; i++) {
      double d = fabs ((double) out[i] - vq.v[g->outputs[k]][i]);
      if (d > worst) {
        worst = d;
        wi = i;
      }
    }
    ck_assert_msg (worst <= 4 * step + 1e-6, "%s output %d: q8 %.6g vs "
                   "emulated %.6g at index %zu (%.1f steps of %g)", e->name,
                   k, (double) out[wi], (double) vq.v[g->outputs[k]][wi], wi,
                   worst / step, step);
    free (out);
  }
  cv_values_free (&vq);
  converted_free (&c);
  free (x);
}
END_TEST

/* The acceptance numbers on the trained ESPCN models: q8_run on
 * held-out frames has SQNR >= 35 dB against float, and the .q8 is at most
 * 30 % of the ONNX file. */
START_TEST (test_trained_q8)
{
  static const char *models[] = { "espcn_trained_tanh",
                                  "espcn_trained_relu_bn" };
  size_t n_cal, n_test, n_ref;
  float *cal = q8_test_read_file (FIX "espcn_trained.calib.f32", &n_cal);
  float *test = q8_test_read_file (FIX "espcn_trained.test.f32", &n_test);
  ck_assert (cal && test);
  const size_t px = 32 * 32;
  for (int i = 0; i < 2; i++) {
    char path[512];
    snprintf (path, sizeof path, FIX "%s.test_out.f32", models[i]);
    float *ref = q8_test_read_file (path, &n_ref);
    ck_assert (ref != NULL);
    converted c = { 0 };
    convert (models[i], true, 32, 32, cal, 16, CV_CALIB_MSE, &c);
    float *out = malloc (px * 4 * sizeof (float));
    double sig = 0, noise = 0;
    for (int k = 0; k < 8; k++) {
      run_q8 (&c, test + k * px, 0, out);
      for (size_t j = 0; j < px * 4; j++) {
        double r = ref[k * px * 4 + j], d = r - out[j];
        sig += r * r;
        noise += d * d;
      }
    }
    double db = 10 * log10 (sig / noise);
    fprintf (stderr, "%s: q8 held-out SQNR %.2f dB, .q8 %zu bytes = %.1f %% "
             "of %zu ONNX bytes\n", models[i], db, c.q8_size,
             100.0 * (double) c.q8_size / (double) c.onnx_size, c.onnx_size);
    ck_assert_msg (db >= 35.0, "%s: q8 held-out SQNR %.2f dB < 35",
                   models[i], db);
    free (out);
    free (ref);
    converted_free (&c);
  }
  free (cal);
  free (test);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("convert_emit");
  TCase *tc = tcase_create ("emit");
  tcase_add_loop_test (tc, test_fixture_runs, 0,
                       (int) (sizeof cases / sizeof *cases));
  tcase_add_test (tc, test_trained_q8);
  suite_add_tcase (s, tc);
  return s;
}
