/* test_import.c - ONNX import, lowering and the float executor against
 * the NumPy reference outputs that tests/convert/gen_fixtures.py wrote
 * (an independent implementation of every op), plus rejection of
 * malformed, unsupported and unresolvable models with messages that name
 * the problem. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "q8_test.h"

#define FIX Q8_SRCDIR "/tests/convert/fixtures/"

typedef struct {
  const char *name;
  int n_out;
  int in_h, in_w; /* import size for dynamic models, else 0 */
} fixture;

static const fixture fixtures[] = {
  { "conv_relu", 1, 0, 0 },
  { "conv_bn_relu", 1, 0, 0 },
  { "espcn_tanh", 1, 0, 0 },
  { "espcn_relu_bn", 1, 0, 0 },
  { "pixelshuffle_pattern", 1, 0, 0 },
  { "activations", 1, 0, 0 },
  { "add_concat_pool", 2, 0, 0 },
  { "resize", 2, 0, 0 },
  { "const_arith", 1, 0, 0 },
  { "qdq", 1, 0, 0 },
  { "dynamic", 1, 7, 6 },
  { "d2s_dcr", 1, 0, 0 },
  { "opset11", 1, 0, 0 },
  { "opset9_upsample", 1, 0, 0 },
  { "convtranspose_k2s2", 1, 0, 0 },
  { "qdq_float_weights", 1, 0, 0 },
};

static cv_graph *
load (const char *name, int in_h, int in_w, char *err, size_t err_size,
      q8_status *st)
{
  char path[512];
  snprintf (path, sizeof path, FIX "%s.onnx", name);
  size_t size;
  void *data = q8_test_read_file (path, &size);
  ck_assert_msg (data != NULL, "cannot read %s", path);
  cv_graph *g = NULL;
  *st = cv_import_onnx (data, size, in_h, in_w, &g, err, err_size);
  free (data);
  return g;
}

static float *
read_f32 (const char *name, const char *suffix, size_t want)
{
  char path[512];
  snprintf (path, sizeof path, FIX "%s%s", name, suffix);
  size_t size;
  float *p = q8_test_read_file (path, &size);
  ck_assert_msg (p != NULL, "cannot read %s", path);
  ck_assert_msg (size == want * sizeof (float),
                 "%s: %zu bytes, the model's tensor needs %zu", path, size,
                 want * sizeof (float));
  return p;
}

/* Runs g on the fixture's input and compares every output with the
 * reference within tol relative to the output's largest magnitude. */
static void
check_outputs (const char *what, const cv_graph *g, const fixture *f,
               const cv_exec_opts *o, double tol)
{
  char err[512];
  const cv_tensor *in = &g->t[g->inputs[0]];
  float *x = read_f32 (f->name, ".in.f32", (size_t) cv_numel (in));
  const float *ins[1] = { x };
  cv_values v;
  q8_status st = cv_execute (g, ins, o, &v, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s %s: execute: %s", f->name, what, err);
  ck_assert_int_eq (g->n_outputs, f->n_out);
  for (int k = 0; k < g->n_outputs; k++) {
    const cv_tensor *t = &g->t[g->outputs[k]];
    size_t n = (size_t) cv_numel (t);
    char suffix[32];
    if (f->n_out == 1)
      snprintf (suffix, sizeof suffix, ".out.f32");
    else
      snprintf (suffix, sizeof suffix, ".out%d.f32", k);
    float *ref = read_f32 (f->name, suffix, n);
    double peak = 0;
    for (size_t i = 0; i < n; i++)
      peak = fmax (peak, fabs (ref[i]));
    for (size_t i = 0; i < n; i++) {
      double d = fabs ((double) v.v[g->outputs[k]][i] - ref[i]);
      char s[128];
      ck_assert_msg (d <= tol * fmax (peak, 1e-3),
                     "%s %s: output %d '%s' %s, index %zu: expected %.7g, "
                     "got %.7g (peak %.4g)", f->name, what, k, t->name,
                     cv_shape_str (t, s, sizeof s), i, (double) ref[i],
                     (double) v.v[g->outputs[k]][i], peak);
    }
    free (ref);
  }
  cv_values_free (&v);
  free (x);
}

static int
count_ops (const cv_graph *g, cv_op op)
{
  int n = 0;
  for (int i = 0; i < g->n_n; i++)
    n += !g->n[i].dead && g->n[i].op == op;
  return n;
}

/* Every fixture: imported graph, then lowered graph, equal the NumPy
 * reference (the lowered QDQ graph has no fake quantization left, so it is
 * compared in emulation, where the imported grids round the same way). */
START_TEST (test_fixture)
{
  const fixture *f = &fixtures[_i];
  char err[512];
  q8_status st;
  cv_graph *g = load (f->name, f->in_h, f->in_w, err, sizeof err, &st);
  ck_assert_msg (st == Q8_OK, "%s: import: %s", f->name, err);
  check_outputs ("imported", g, f, NULL, 2e-5);
  st = cv_lower (g, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s: lower: %s", f->name, err);
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    ck_assert_msg (n->dead || (n->op != CV_BN && n->op != CV_RESHAPE
                               && n->op != CV_TRANSPOSE
                               && n->op != CV_BINCONST
                               && n->op != CV_FAKEQ),
                   "%s: node '%s' (%s) survived lowering", f->name, n->name,
                   n->onnx_type);
  }
  if (strncmp (f->name, "qdq", 3) == 0) {
    cv_exec_opts o = { .emulate = true };
    /* One output step (0.02) where q8 rounds a tie away from zero and
     * ONNX to even. */
    check_outputs ("lowered+emulated", g, f, &o, 0.0201 / 3.0);
  } else {
    check_outputs ("lowered", g, f, NULL, 2e-5);
  }
  cv_graph_free (g);
}
END_TEST

START_TEST (test_bn_folded)
{
  char err[512];
  q8_status st;
  cv_graph *g = load ("conv_bn_relu", 0, 0, err, sizeof err, &st);
  ck_assert_msg (st == Q8_OK, "%s", err);
  ck_assert_int_eq (count_ops (g, CV_BN), 1);
  ck_assert_int_eq (cv_lower (g, err, sizeof err), Q8_OK);
  ck_assert_int_eq (count_ops (g, CV_BN), 0);
  ck_assert_int_eq (count_ops (g, CV_ELTWISE), 0);
  ck_assert_int_eq (count_ops (g, CV_CONV), 1);
  for (int i = 0; i < g->n_n; i++)
    if (!g->n[i].dead) {
      /* The ReLU is the convolution's clamp now. */
      ck_assert (g->n[i].act_lo == 0);
      ck_assert (g->n[i].n_in == 3);
    }
  cv_graph_free (g);
}
END_TEST

START_TEST (test_pixelshuffle)
{
  char err[512];
  q8_status st;
  cv_graph *g = load ("pixelshuffle_pattern", 0, 0, err, sizeof err, &st);
  ck_assert_msg (st == Q8_OK, "%s", err);
  /* The Shape -> Gather -> Unsqueeze -> Concat chains folded away. */
  ck_assert_int_eq (count_ops (g, CV_RESHAPE), 2);
  ck_assert_int_eq (count_ops (g, CV_TRANSPOSE), 1);
  ck_assert_int_eq (cv_lower (g, err, sizeof err), Q8_OK);
  ck_assert_int_eq (count_ops (g, CV_D2S), 1);
  for (int i = 0; i < g->n_n; i++)
    if (!g->n[i].dead && g->n[i].op == CV_D2S) {
      ck_assert_int_eq (g->n[i].block, 2);
      ck_assert_int_eq (g->n[i].mode, Q8_D2S_CRD);
    }
  cv_graph_free (g);
}
END_TEST

START_TEST (test_const_arith_folded)
{
  char err[512];
  q8_status st;
  cv_graph *g = load ("const_arith", 0, 0, err, sizeof err, &st);
  ck_assert_msg (st == Q8_OK, "%s", err);
  ck_assert_int_eq (cv_lower (g, err, sizeof err), Q8_OK);
  /* x * 2 went into the input scale, / d and - 0.1 into the conv; tanh
   * and the affine 3 t + 1 remain. */
  ck_assert (g->input_mul[0] == 2.0);
  ck_assert_int_eq (count_ops (g, CV_CONV), 1);
  ck_assert_int_eq (count_ops (g, CV_ELTWISE), 2);
  cv_graph_free (g);
}
END_TEST

START_TEST (test_qdq_params)
{
  char err[512];
  q8_status st;
  cv_graph *g = load ("qdq", 0, 0, err, sizeof err, &st);
  ck_assert_msg (st == Q8_OK, "%s", err);
  ck_assert_int_eq (cv_lower (g, err, sizeof err), Q8_OK);
  const cv_tensor *x = &g->t[g->inputs[0]], *y = &g->t[g->outputs[0]];
  /* uint8 (1/255, 0) and (0.02, 100) become int8 with zero point - 128. */
  ck_assert (x->has_q && y->has_q);
  ck_assert_msg (fabs (x->q_scale - 1.0 / 255) < 1e-9 && x->q_zp == -128,
                 "input: scale %g zp %d", x->q_scale, x->q_zp);
  ck_assert_msg (fabs (y->q_scale - 0.02) < 1e-8 && y->q_zp == -28,
                 "output: scale %g zp %d", y->q_scale, y->q_zp);
  ck_assert_msg (g->warnings && strstr (g->warnings, "uint8"),
                 "no warning about the uint8 -> int8 change");
  /* The weights keep their trained scales; a weight of -128 (allowed by
   * ONNX, not by q8) is reported when the grids are finalized. */
  for (int i = 0; i < g->n_n; i++)
    if (!g->n[i].dead && g->n[i].op == CV_CONV) {
      cv_tensor *w = &g->t[g->n[i].in[1]];
      ck_assert_int_eq (w->n_w_scales, 4);
      w->data[0] = -128 * w->w_scales[0];
    }
  cv_quant_opts qo = { .u8_input = true, .u8_output = false };
  ck_assert_msg (cv_quant_finalize (g, &qo, err, sizeof err) == Q8_OK, "%s",
                 err);
  ck_assert_msg (strstr (g->warnings, "1 weights of -128"), "warnings: %s",
                 g->warnings);
  cv_graph_free (g);
}
END_TEST

static void
expect_error (const char *name, int in_h, int in_w, const char *const *needles)
{
  char err[512] = "";
  q8_status st;
  cv_graph *g = load (name, in_h, in_w, err, sizeof err, &st);
  if (st == Q8_OK) {
    st = cv_lower (g, err, sizeof err);
    cv_graph_free (g);
  }
  ck_assert_msg (st < 0, "%s: accepted", name);
  for (int i = 0; needles[i]; i++)
    ck_assert_msg (strstr (err, needles[i]), "%s: message \"%s\" lacks "
                   "\"%s\"", name, err, needles[i]);
}

START_TEST (test_rejects)
{
  static const char *const unsup[] = { "lrn_1", "LRN", "'r'", NULL };
  expect_error ("unsupported", 0, 0, unsup);
  static const char *const convt[] = { "'up'", "ConvTranspose",
                                       "kernel 3x3", "strides 2,2", NULL };
  expect_error ("convtranspose", 0, 0, convt);
  static const char *const dyn[] = { "'x'", "dynamic height", "'height'",
                                     NULL };
  expect_error ("dynamic", 0, 0, dyn);
}
END_TEST

/* Every truncation of a valid model and random garbage are rejected with a
 * message, never accepted or crashed on. */
/* Inputs the fuzzer (tests/fuzz/run.sh, which also replays them under
 * ASan+UBSan) found, each now a clean error that names the problem:
 * - an initializer whose shape claims 2^31 elements that the file does not
 *   hold (it once allocated 16 GB before counting the values);
 * - a Reshape whose shape constant holds 2.8e19 (converted to int64 with
 *   undefined behaviour);
 * - a constant Squeeze of an axis that is not 1 (it once copied past the
 *   end of the new tensor). */
START_TEST (test_fuzz_regressions)
{
  static const struct { const char *file, *needle; } cases[] = {
    { "oom-big-dims.onnx", "elements" },
    { "ubsan-reshape-1e19.onnx", "" },
    { "asan-squeeze-not-one.onnx", "element count" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[512];
    snprintf (path, sizeof path,
              Q8_SRCDIR "/tests/fuzz/regressions/fuzz_onnx/%s", cases[i].file);
    size_t size;
    unsigned char *data = q8_test_read_file (path, &size);
    ck_assert_msg (data != NULL, "%s", path);
    char err[512] = "";
    cv_graph *g = NULL;
    q8_status st = cv_import_onnx (data, size, 16, 16, &g, err, sizeof err);
    ck_assert_msg (st < 0 && g == NULL, "%s accepted", cases[i].file);
    ck_assert_msg (strlen (err) > 10 && strstr (err, cases[i].needle),
                   "%s: message '%s'", cases[i].file, err);
    free (data);
  }
}
END_TEST

START_TEST (test_truncated_and_garbage)
{
  size_t size;
  unsigned char *data = q8_test_read_file (FIX "espcn_tanh.onnx", &size);
  ck_assert (data != NULL);
  char err[512];
  for (size_t len = 0; len < size; len += 1 + len / 16) {
    cv_graph *g = NULL;
    err[0] = '\0';
    q8_status st = cv_import_onnx (data, len, 0, 0, &g, err, sizeof err);
    ck_assert_msg (st < 0 && g == NULL, "truncated to %zu of %zu bytes: "
                   "accepted", len, size);
    ck_assert_msg (strlen (err) > 10, "truncated to %zu: message '%s'", len,
                   err);
  }
  uint64_t seed = q8_test_seed ();
  q8_rng r;
  q8_rng_seed (&r, seed);
  for (int k = 0; k < 200; k++) {
    size_t len = (size_t) q8_rng_int (&r, 1, 4096);
    unsigned char *junk = malloc (len);
    for (size_t i = 0; i < len; i++)
      junk[i] = (unsigned char) q8_rng_int (&r, 0, 255);
    cv_graph *g = NULL;
    q8_status st = cv_import_onnx (junk, len, 0, 0, &g, err, sizeof err);
    ck_assert_msg (st < 0 && g == NULL, "garbage of %zu bytes accepted "
                   "(seed %llu)", len, (unsigned long long) seed);
    free (junk);
  }
  static const char msg[] = "the ONNX file is not a model";
  cv_graph *g = NULL;
  ck_assert (cv_import_onnx (msg, sizeof msg, 0, 0, &g, err, sizeof err) < 0);
  free (data);
}
END_TEST

/* Models with random bytes changed either import (and then lower and run)
 * or fail with a message; never crash (the sanitizer build checks the
 * memory accesses). */
START_TEST (test_mutated)
{
  static const char *names[] = { "espcn_tanh", "pixelshuffle_pattern",
                                 "qdq", "add_concat_pool" };
  uint64_t seed = q8_test_seed ();
  q8_rng r;
  q8_rng_seed (&r, seed);
  char path[512], err[512];
  for (int m = 0; m < 4; m++) {
    snprintf (path, sizeof path, FIX "%s.onnx", names[m]);
    size_t size;
    unsigned char *data = q8_test_read_file (path, &size);
    ck_assert (data != NULL);
    unsigned char *mut = malloc (size);
    for (int it = 0; it < 300; it++) {
      memcpy (mut, data, size);
      int flips = q8_rng_int (&r, 1, 4);
      for (int k = 0; k < flips; k++)
        mut[q8_rng_int (&r, 0, (int32_t) size - 1)] =
          (unsigned char) q8_rng_int (&r, 0, 255);
      cv_graph *g = NULL;
      err[0] = '\0';
      q8_status st = cv_import_onnx (mut, size, 0, 0, &g, err, sizeof err);
      if (st < 0) {
        ck_assert_msg (g == NULL && strlen (err) > 10, "%s, iteration %d: "
                       "status %d, message '%s' (seed %llu)", names[m], it,
                       st, err, (unsigned long long) seed);
        continue;
      }
      if (cv_lower (g, err, sizeof err) == Q8_OK) {
        int64_t n = cv_numel (&g->t[g->inputs[0]]);
        bool small = n < 100000;
        for (int i = 0; i < g->n_t; i++)
          small = small && (g->t[i].is_const || cv_numel (&g->t[i]) < 100000);
        if (small) {
          float *x = calloc ((size_t) n, sizeof (float));
          const float *ins[1] = { x };
          cv_values v;
          if (cv_execute (g, ins, NULL, &v, err, sizeof err) == Q8_OK)
            cv_values_free (&v);
          free (x);
        }
      }
      cv_graph_free (g);
    }
    free (mut);
    free (data);
  }
}
END_TEST

/* The importer pins the tables while a node imports: an add that would
 * move them fails cleanly instead of leaving stale pointers behind. */
START_TEST (test_pinned_tables_stay_put)
{
  cv_graph *g = cv_graph_new ();
  ck_assert_ptr_nonnull (g);
  ck_assert_int_eq (cv_graph_reserve (g, 3, 2), Q8_OK);
  ck_assert_int_ge (g->cap_t, 3);
  ck_assert_int_ge (g->cap_n, 2);
  const cv_tensor *t0 = g->t;
  const cv_node *n0 = g->n;
  g->pinned = true;
  int room_t = g->cap_t, room_n = g->cap_n;
  for (int i = 0; i < room_t; i++)
    ck_assert_int_eq (cv_tensor_add (g, "t"), i);
  for (int i = 0; i < room_n; i++)
    ck_assert_int_eq (cv_node_add (g, CV_ADD, "n", "Add"), i);
  ck_assert (!g->pin_overflow);
  ck_assert_int_eq (cv_tensor_add (g, "one too many"), -1);
  ck_assert (g->pin_overflow);
  g->pin_overflow = false;
  ck_assert_int_eq (cv_node_add (g, CV_ADD, "one too many", "Add"), -1);
  ck_assert (g->pin_overflow);
  ck_assert_ptr_eq (g->t, t0);
  ck_assert_ptr_eq (g->n, n0);
  ck_assert_int_eq (g->n_t, room_t);
  ck_assert_int_eq (g->n_n, room_n);
  g->pinned = false;
  ck_assert_int_eq (cv_tensor_add (g, "grows"), room_t);
  ck_assert_int_eq (cv_node_add (g, CV_ADD, "grows", "Add"), room_n);
  cv_graph_free (g);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("convert_import");
  TCase *tc = tcase_create ("import");
  tcase_add_loop_test (tc, test_fixture, 0,
                       (int) (sizeof fixtures / sizeof *fixtures));
  tcase_add_test (tc, test_bn_folded);
  tcase_add_test (tc, test_pixelshuffle);
  tcase_add_test (tc, test_const_arith_folded);
  tcase_add_test (tc, test_qdq_params);
  tcase_add_test (tc, test_rejects);
  tcase_add_test (tc, test_truncated_and_garbage);
  tcase_add_test (tc, test_fuzz_regressions);
  tcase_add_test (tc, test_mutated);
  tcase_add_test (tc, test_pinned_tables_stay_put);
  suite_add_tcase (s, tc);
  return s;
}
