/* test_anomaly.c - teaching and scoring of feature anomaly models
 * (core/anomaly.c) against a direct double-precision reference written
 * from the formulas of q8.h: two-pass means and variances, leave-one-out
 * by refitting without the frame, the 3x3 smoothing by its definition.
 * The memory bank (knn) likewise: distances by their definition over
 * every bank frame and neighbour cell, leave-one-out by skipping the
 * frame.  Also the refusals: untaught, wrong method, too few frames,
 * statistics of the wrong shape or with a zero variance, a bank of
 * another grid. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "q8_test.h"
#include "q8_alloc_count.h"

#define IN_W 16
#define IN_H 12
#define GW (IN_W / 2)
#define GH (IN_H / 2)
#define C 3
#define N (GH * GW * C)
#define F_SCALE 0.01f
#define F_ZP 5

/* pixels (u8) -> QUANTIZE -> conv 2x2 stride 2, 1->3 -> features (s8):
 * one cell per 2x2 pixels.  stats_shape, if not NULL, adds "anomaly.mean"
 * and "anomaly.var" of that shape (var = var_value) to make hostile
 * taught models. */
static q8_model *
build_features (const char *method, const int32_t *stats_shape,
                float var_value)
{
  q8_builder *b = q8_builder_new ();
  ck_assert_ptr_nonnull (b);
  int64_t px = q8_builder_add_activation (b, "pixels", Q8_DTYPE_U8, 1,
                                          1.0f / 255, 0);
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_S8, 1, 1.0f / 255,
                                         -128);
  int64_t f = q8_builder_add_activation (b, "features", Q8_DTYPE_S8, C,
                                         F_SCALE, F_ZP);
  const int8_t w[C * 2 * 2] = { 60, -20, 10, 40, -90, 30, 5, 70,
                                25, 25, -25, 100 };
  const float ws[C] = { 0.004f, 0.003f, 0.005f };
  const int32_t bias[C] = { 100, -300, 0 };
  int64_t cw = q8_builder_add_const (b, "w", Q8_DTYPE_S8, 4,
                                     (const int32_t[]) { C, 2, 2, 1 }, w, 0,
                                     0, ws);
  int64_t cb = q8_builder_add_const (b, "b", Q8_DTYPE_S32, 1,
                                     (const int32_t[]) { C }, bias, 0, 0,
                                     NULL);
  int32_t conv[Q8_MAX_OP_PARAMS] = { 0 };
  conv[Q8_CONV_KH] = conv[Q8_CONV_KW] = 2;
  conv[Q8_CONV_STRIDE_H] = conv[Q8_CONV_STRIDE_W] = 2;
  conv[Q8_CONV_DILATION_H] = conv[Q8_CONV_DILATION_W] = 1;
  conv[Q8_CONV_GROUPS] = 1;
  conv[Q8_CONV_ACT_MIN] = -128;
  conv[Q8_CONV_ACT_MAX] = 127;
  ck_assert (px >= 0 && x >= 0 && f >= 0 && cw >= 0 && cb >= 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1,
                                       (uint32_t[]) { px }, 1,
                                       (uint32_t[]) { x }, NULL, 0), 0);
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_CONV2D, 3,
                                       (uint32_t[]) { x, cw, cb }, 1,
                                       (uint32_t[]) { f }, conv,
                                       Q8_MAX_OP_PARAMS), 0);
  ck_assert_int_eq (q8_builder_add_input (b, (uint32_t) px), Q8_OK);
  ck_assert_int_eq (q8_builder_add_output (b, (uint32_t) f), Q8_OK);
  q8_builder_meta_string (b, "task", "anomaly");
  if (method != NULL)
    q8_builder_meta_string (b, "anomaly.method", method);
  q8_builder_meta_int (b, "input.width", IN_W);
  q8_builder_meta_int (b, "input.height", IN_H);
  if (stats_shape != NULL) {
    size_t n = (size_t) stats_shape[0] * stats_shape[1] * stats_shape[2];
    float *mean = calloc (n, sizeof *mean), *var = malloc (n * sizeof *var);
    for (size_t i = 0; i < n; i++)
      var[i] = var_value;
    ck_assert_int_ge (q8_builder_add_const (b, "anomaly.mean", Q8_DTYPE_F32,
                                            3, stats_shape, mean, 0, 0,
                                            NULL), 0);
    ck_assert_int_ge (q8_builder_add_const (b, "anomaly.var", Q8_DTYPE_F32,
                                            3, stats_shape, var, 0, 0, NULL),
                      0);
    free (mean);
    free (var);
  }
  void *data;
  size_t size;
  char err[256] = "";
  q8_status st = q8_builder_write (b, &data, &size, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "write: %s: %s", q8_status_str (st), err);
  q8_builder_free (b);
  q8_model *m = NULL;
  st = q8_model_load_buffer (data, size, &m, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "load: %s: %s", q8_status_str (st), err);
  free (data);
  return m;
}

/* A "normal" frame: a smooth gradient with noise; anomalous frames get a
 * bright square. */
static void
make_frame (q8_rng *r, uint8_t *px, int defect)
{
  for (int y = 0; y < IN_H; y++)
    for (int x = 0; x < IN_W; x++) {
      int v = 60 + 5 * x + 3 * y + q8_rng_int (r, -12, 12);
      if (defect && x >= 6 && x < 10 && y >= 4 && y < 8)
        v = 250;
      px[y * IN_W + x] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

/* ---- the reference -------------------------------------------------------- */

typedef struct {
  double mean[N], var[N];
} ref_stats;

static double
deq (int8_t q)
{
  return (double) F_SCALE * (q - F_ZP);
}

/* Per-channel variance over all cells and frames, two-pass. */
static void
ref_channel_var (const int8_t *fr, int n, double *vch)
{
  for (int c = 0; c < C; c++) {
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++)
      for (int cell = 0; cell < GH * GW; cell++)
        s += deq (fr[i * N + cell * C + c]);
    double m = s / ((double) n * GH * GW);
    for (int i = 0; i < n; i++)
      for (int cell = 0; cell < GH * GW; cell++) {
        double e = deq (fr[i * N + cell * C + c]) - m;
        ss += e * e;
      }
    vch[c] = ss / ((double) n * GH * GW);
  }
}

/* Statistics of the frames other than skip (-1: all), with the channel
 * variance vch. */
static void
ref_fit (const int8_t *fr, int n, int skip, const double *vch, int k,
         ref_stats *s)
{
  int used = skip >= 0 ? n - 1 : n;
  for (int j = 0; j < N; j++) {
    double m = 0, v = 0;
    for (int i = 0; i < n; i++)
      if (i != skip)
        m += deq (fr[i * N + j]);
    m /= used;
    for (int i = 0; i < n; i++)
      if (i != skip) {
        double e = deq (fr[i * N + j]) - m;
        v += e * e;
      }
    v /= used;
    s->mean[j] = m;
    s->var[j] = ((double) used * v + k * vch[j % C]) / (used + k)
                + (double) F_SCALE * F_SCALE / 12;
  }
}

static double
ref_score (const ref_stats *s, const int8_t *f, double *map)
{
  double d[GH * GW], best = -INFINITY;
  for (int cell = 0; cell < GH * GW; cell++) {
    double acc = 0;
    for (int c = 0; c < C; c++) {
      double e = deq (f[cell * C + c]) - s->mean[cell * C + c];
      acc += e * e / s->var[cell * C + c];
    }
    d[cell] = acc / C;
  }
  for (int y = 0; y < GH; y++)
    for (int x = 0; x < GW; x++) {
      double sum = 0;
      int cnt = 0;
      for (int yy = y - 1; yy <= y + 1; yy++)
        for (int xx = x - 1; xx <= x + 1; xx++)
          if (yy >= 0 && yy < GH && xx >= 0 && xx < GW) {
            sum += d[yy * GW + xx];
            cnt++;
          }
      if (map != NULL)
        map[y * GW + x] = sum / cnt;
      if (sum / cnt > best)
        best = sum / cnt;
    }
  return best;
}

static int
cmp_d (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* A reference scorer: the score of features f, its map into map. */
typedef double (*ref_fn) (const void *ctx, const int8_t *f, double *map);

static double
ref_gaussian (const void *ctx, const int8_t *f, double *map)
{
  return ref_score (ctx, f, map);
}

/* Plans taught with threads threads and scores 3 normal and 3 defective
 * new frames: score and map as ref's (within rel, plus abs for the map),
 * defects above thr, and no allocation while scoring.  Returns the plan;
 * the scorer in *s. */
static q8_plan *
check_scores (const q8_model *taught, int threads, q8_rng *r, double thr,
              ref_fn ref, const void *ctx, double rel, double abs,
              q8_scorer **s)
{
  char err[256] = "";
  uint8_t px[IN_W * IN_H];
  q8_plan *p = NULL;
  ck_assert_int_eq (q8_plan_create (taught, IN_W, IN_H, threads, &p, err,
                                    sizeof err), Q8_OK);
  ck_assert_int_eq (q8_scorer_create (taught, p, s, err, sizeof err), Q8_OK);
  for (int i = 0; i < 6; i++) {
    float map[GH * GW];
    double rmap[GH * GW], score;
    make_frame (r, px, i >= 3);
    q8_plan_set_input_u8 (p, 0, px, IN_W);
    q8_run (p);
    /* Scoring is per frame: it must not allocate. */
    q8_alloc_count_start ();
    q8_status st = q8_scorer_run (*s, p, map, &score);
    long allocs = q8_alloc_count_stop ();
    ck_assert_int_eq (st, Q8_OK);
    ck_assert_int_eq (allocs, 0);
    double want = ref (ctx, q8_plan_output (p, 0), rmap);
    ck_assert_msg (fabs (score - want) <= rel * want,
                   "frame %d: score %g, reference %g", i, score, want);
    for (int j = 0; j < GH * GW; j++)
      ck_assert_msg (fabs (map[j] - rmap[j]) <= rel * rmap[j] + abs,
                     "frame %d cell %d: %g, reference %g", i, j,
                     (double) map[j], rmap[j]);
    if (i >= 3)
      ck_assert_msg (score > thr, "defect scored %g <= threshold %g", score,
                     thr);
  }
  return p;
}

/* ---- tests ---------------------------------------------------------------- */

#define FRAMES 24

/* Plans m, checks that it cannot score untaught, and gives a teacher
 * FRAMES normal frames (their features also into fr); adding a frame
 * allocates nothing. */
static void
teach_frames (const q8_model *m, q8_rng *r, q8_plan **p, q8_teacher **t,
              int8_t *fr)
{
  char err[256] = "";
  q8_scorer *s = NULL;
  uint8_t px[IN_W * IN_H];
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_scorer_create (m, *p, &s, err, sizeof err),
                    Q8_ENOTFOUND);
  ck_assert_int_eq (q8_teacher_create (m, *p, FRAMES, t, err, sizeof err),
                    Q8_OK);
  for (int i = 0; i < FRAMES; i++) {
    make_frame (r, px, 0);
    ck_assert_int_eq (q8_plan_set_input_u8 (*p, 0, px, IN_W), Q8_OK);
    ck_assert_int_eq (q8_run (*p), Q8_OK);
    memcpy (fr + i * N, q8_plan_output (*p, 0), N);
    /* Check's assertions allocate: count around the call alone. */
    q8_alloc_count_start ();
    q8_status st = q8_teacher_add (*t, *p);
    long allocs = q8_alloc_count_stop ();
    ck_assert_int_eq (st, Q8_OK);
    ck_assert_int_eq (allocs, 0);
  }
  ck_assert_int_eq (q8_teacher_add (*t, *p), Q8_ETOOBIG);
  ck_assert_int_eq (q8_teacher_frames (*t), FRAMES);
}

START_TEST (test_teach_and_score_match_reference)
{
  q8_model *m = build_features ("gaussian", NULL, 0);
  q8_plan *p = NULL;
  q8_teacher *t = NULL;
  q8_scorer *s = NULL;
  char err[256] = "";
  static int8_t fr[FRAMES * N];
  q8_rng r;
  q8_rng_seed (&r, 11);
  teach_frames (m, &r, &p, &t, fr);

  q8_teach_params tp;
  q8_teach_params_init (&tp);
  tp.quantile = 0.9;
  tp.margin = 1.5;
  void *data;
  size_t size;
  double thr;
  ck_assert_int_eq (q8_teacher_finish (t, m, &tp, &data, &size, &thr, err,
                                       sizeof err), Q8_OK);

  /* Threshold: the nearest-rank 0.9 quantile of the leave-one-out scores
   * times the margin. */
  double vch[C], loo[FRAMES];
  ref_stats rs;
  ref_channel_var (fr, FRAMES, vch);
  for (int i = 0; i < FRAMES; i++) {
    ref_fit (fr, FRAMES, i, vch, tp.shrink, &rs);
    loo[i] = ref_score (&rs, fr + i * N, NULL);
  }
  qsort (loo, FRAMES, sizeof loo[0], cmp_d);
  double want = loo[(int) ceil (0.9 * FRAMES) - 1] * 1.5;
  ck_assert_msg (fabs (thr - want) <= 1e-6 * want, "threshold %.12g, "
                 "reference %.12g", thr, want);

  q8_model *taught = NULL;
  ck_assert_int_eq (q8_model_load_buffer (data, size, &taught, err,
                                          sizeof err), Q8_OK);
  free (data);
  double meta_thr;
  int64_t meta_frames;
  ck_assert_int_eq (q8_model_meta_float (taught, "anomaly.threshold",
                                         &meta_thr), Q8_OK);
  ck_assert (meta_thr == thr);
  ck_assert_int_eq (q8_model_meta_int (taught, "anomaly.teach.frames",
                                       &meta_frames), Q8_OK);
  ck_assert_int_eq (meta_frames, FRAMES);
  ck_assert (q8_model_is_feature_anomaly (taught));

  /* Scores of new frames, normal and defective, against the full fit. */
  ref_fit (fr, FRAMES, -1, vch, tp.shrink, &rs);
  q8_plan *tpn = check_scores (taught, 1, &r, thr, ref_gaussian, &rs, 1e-4,
                               1e-6, &s);

  /* Teaching a taught model replaces its statistics. */
  q8_teacher *t2 = NULL;
  ck_assert_int_eq (q8_teacher_create (taught, tpn, 2, &t2, err, sizeof err),
                    Q8_OK);
  q8_teacher_add (t2, tpn);
  q8_teacher_add (t2, tpn);
  ck_assert_int_eq (q8_teacher_finish (t2, taught, NULL, &data, &size, NULL,
                                       err, sizeof err), Q8_OK);
  q8_model *again = NULL;
  ck_assert_int_eq (q8_model_load_buffer (data, size, &again, err,
                                          sizeof err), Q8_OK);
  free (data);
  ck_assert_int_eq (q8_model_meta_int (again, "anomaly.teach.frames",
                                       &meta_frames), Q8_OK);
  ck_assert_int_eq (meta_frames, 2);
  q8_model_free (again);

  q8_teacher_free (t2);
  q8_scorer_free (s);
  q8_teacher_free (t);
  q8_plan_free (tpn);
  q8_plan_free (p);
  q8_model_free (taught);
  q8_model_free (m);
}
END_TEST

/* ---- the memory bank ------------------------------------------------------ */

/* d of the 3x3 box map of frame f against the bank frames in use[] (the
 * teaching frames fr) within radius, by the definition in q8.h. */
static double
ref_knn_score (const int8_t *fr, const int *use, int n_use, int radius,
               const int8_t *f, double *map)
{
  double d[GH * GW];
  for (int y = 0; y < GH; y++)
    for (int x = 0; x < GW; x++) {
      double best = INFINITY;
      for (int u = 0; u < n_use; u++)
        for (int yy = y - radius; yy <= y + radius; yy++)
          for (int xx = x - radius; xx <= x + radius; xx++) {
            if (yy < 0 || yy >= GH || xx < 0 || xx >= GW)
              continue;
            double acc = 0;
            for (int c = 0; c < C; c++) {
              double e = deq (f[(y * GW + x) * C + c])
                         - deq (fr[use[u] * N + (yy * GW + xx) * C + c]);
              acc += e * e;
            }
            best = fmin (best, acc / C);
          }
      d[y * GW + x] = best;
    }
  double best = -INFINITY;
  for (int y = 0; y < GH; y++)
    for (int x = 0; x < GW; x++) {
      double sum = 0;
      int cnt = 0;
      for (int yy = y - 1; yy <= y + 1; yy++)
        for (int xx = x - 1; xx <= x + 1; xx++)
          if (yy >= 0 && yy < GH && xx >= 0 && xx < GW) {
            sum += d[yy * GW + xx];
            cnt++;
          }
      if (map != NULL)
        map[y * GW + x] = sum / cnt;
      best = fmax (best, sum / cnt);
    }
  return best;
}

typedef struct {
  const int8_t *fr;
  const int *use;
  int n_use, radius;
} knn_ref;

static double
ref_knn (const void *ctx, const int8_t *f, double *map)
{
  const knn_ref *k = ctx;
  return ref_knn_score (k->fr, k->use, k->n_use, k->radius, f, map);
}

START_TEST (test_knn_match_reference)
{
  /* _i: 0 = the model says knn, bank of 10 of the 24 frames, radius 1;
   * 1 = a gaussian model taught as knn by the parameters, every frame in
   * the bank, radius 2. */
  const int bank = _i == 0 ? 10 : FRAMES, radius = _i == 0 ? 1 : 2;
  q8_model *m = build_features (_i == 0 ? "knn" : "gaussian", NULL, 0);
  q8_plan *p = NULL;
  q8_teacher *t = NULL;
  q8_scorer *s = NULL;
  char err[256] = "";
  static int8_t fr[FRAMES * N];
  q8_rng r;
  q8_rng_seed (&r, 21);
  teach_frames (m, &r, &p, &t, fr);
  q8_teach_params tp;
  q8_teach_params_init (&tp);
  if (_i == 1)
    tp.method = Q8_ANOMALY_KNN;
  tp.bank = bank;
  tp.radius = radius;
  tp.quantile = 0.9;
  void *data;
  size_t size;
  double thr;
  ck_assert_int_eq (q8_teacher_finish (t, m, &tp, &data, &size, &thr, err,
                                       sizeof err), Q8_OK);

  /* The bank: frames j * FRAMES / bank; leave-one-out skips the frame if
   * it is one of them. */
  int use[FRAMES], n_use = 0, in_bank[FRAMES] = { 0 };
  for (int j = 0; j < bank; j++) {
    use[n_use++] = j * FRAMES / bank;
    in_bank[j * FRAMES / bank] = 1;
  }
  double loo[FRAMES];
  for (int i = 0; i < FRAMES; i++) {
    int others[FRAMES], n_o = 0;
    for (int u = 0; u < n_use; u++)
      if (use[u] != i)
        others[n_o++] = use[u];
    ck_assert_int_eq (n_o, n_use - in_bank[i]);
    loo[i] = ref_knn_score (fr, others, n_o, radius, fr + i * N, NULL);
  }
  qsort (loo, FRAMES, sizeof loo[0], cmp_d);
  double want = loo[(int) ceil (0.9 * FRAMES) - 1] * 1.25;
  ck_assert_msg (fabs (thr - want) <= 1e-6 * want, "threshold %.12g, "
                 "reference %.12g", thr, want);

  q8_model *taught = NULL;
  ck_assert_int_eq (q8_model_load_buffer (data, size, &taught, err,
                                          sizeof err), Q8_OK);
  free (data);
  const char *method;
  int64_t meta_r;
  ck_assert_int_eq (q8_model_meta_string (taught, "anomaly.method", &method),
                    Q8_OK);
  ck_assert_str_eq (method, "knn");
  ck_assert_int_eq (q8_model_meta_int (taught, "anomaly.knn.radius",
                                       &meta_r), Q8_OK);
  ck_assert_int_eq (meta_r, radius);
  ck_assert (q8_model_is_feature_anomaly (taught));

  /* Scoring on the plan's threads (_i = 1: 3 threads) gives the same. */
  knn_ref kr = { fr, use, n_use, radius };
  q8_plan *tpn = check_scores (taught, 1 + 2 * _i, &r, thr, ref_knn, &kr,
                               1e-5, 1e-9, &s);
  q8_scorer_free (s);
  q8_teacher_free (t);
  q8_plan_free (tpn);
  q8_plan_free (p);
  q8_model_free (taught);
  q8_model_free (m);
}
END_TEST

START_TEST (test_knn_refusals)
{
  char err[256] = "";
  q8_plan *p = NULL;
  q8_teacher *t = NULL;
  q8_scorer *s = NULL;
  void *data;
  size_t size;
  q8_model *m = build_features ("knn", NULL, 0);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_teacher_create (m, p, 4, &t, err, sizeof err), Q8_OK);
  q8_run (p);
  for (int i = 0; i < 4; i++)
    q8_teacher_add (t, p);
  q8_teach_params tp;
  q8_teach_params_init (&tp);
  tp.radius = 9;
  ck_assert_int_eq (q8_teacher_finish (t, m, &tp, &data, &size, NULL, err,
                                       sizeof err), Q8_EINVAL);
  ck_assert_ptr_nonnull (strstr (err, "radius"));
  tp.radius = 1;
  tp.bank = 1;
  ck_assert_int_eq (q8_teacher_finish (t, m, &tp, &data, &size, NULL, err,
                                       sizeof err), Q8_EINVAL);
  ck_assert_ptr_nonnull (strstr (err, "bank"));
  q8_teacher_free (t);
  q8_plan_free (p);
  q8_model_free (m);

  /* A taught model whose bank is of another grid, or lacks its radius. */
  for (int bad = 0; bad < 2; bad++) {
    q8_builder *b = q8_builder_from_model (m = build_features ("knn", NULL,
                                                               0), NULL);
    uint8_t *bank = calloc ((size_t) GH * (GW + 1) * 2 * C, 1);
    int32_t dims[4] = { GH, bad == 0 ? GW + 1 : GW, 2, C };
    ck_assert_int_ge (q8_builder_add_const (b, "anomaly.bank", Q8_DTYPE_U8,
                                            4, dims, bank, 1.0f, 0, NULL),
                      0);
    free (bank);
    ck_assert_int_eq (q8_builder_write (b, &data, &size, err, sizeof err),
                      Q8_OK);
    q8_builder_free (b);
    q8_model_free (m);
    ck_assert_int_eq (q8_model_load_buffer (data, size, &m, err, sizeof err),
                      Q8_OK);
    free (data);
    ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                      Q8_OK);
    ck_assert_int_eq (q8_scorer_create (m, p, &s, err, sizeof err),
                      bad == 0 ? Q8_ESHAPE : Q8_EMETA);
    ck_assert_ptr_null (s);
    ck_assert_ptr_nonnull (strstr (err, bad == 0 ? "bank" : "radius"));
    q8_plan_free (p);
    q8_model_free (m);
  }
}
END_TEST

START_TEST (test_refusals)
{
  char err[256] = "";
  q8_plan *p = NULL;
  q8_teacher *t = NULL;
  q8_scorer *s = NULL;
  void *data;
  size_t size;

  /* Not a feature model. */
  q8_model *m = build_features (NULL, NULL, 0);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_teacher_create (m, p, 10, &t, err, sizeof err),
                    Q8_EMETA);
  ck_assert_ptr_null (t);
  ck_assert_ptr_nonnull (strstr (err, "anomaly.method"));
  q8_plan_free (p);
  q8_model_free (m);

  /* Frame counts. */
  m = build_features ("gaussian", NULL, 0);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_teacher_create (m, p, 1, &t, err, sizeof err),
                    Q8_EINVAL);
  ck_assert_int_eq (q8_teacher_create (m, p, 5, &t, err, sizeof err), Q8_OK);
  q8_run (p);
  q8_teacher_add (t, p);
  ck_assert_int_eq (q8_teacher_finish (t, m, NULL, &data, &size, NULL, err,
                                       sizeof err), Q8_EINVAL);
  ck_assert_ptr_nonnull (strstr (err, "at least 2"));
  q8_teacher_free (t);
  q8_plan_free (p);
  q8_model_free (m);

  /* Statistics of another grid (taught at another size). */
  m = build_features ("gaussian", (const int32_t[]) { GH, GW + 1, C }, 1.0f);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_scorer_create (m, p, &s, err, sizeof err), Q8_ESHAPE);
  ck_assert_ptr_null (s);
  q8_plan_free (p);
  q8_model_free (m);

  /* A zero variance would divide by zero: refused, not scored as inf. */
  m = build_features ("gaussian", (const int32_t[]) { GH, GW, C }, 0.0f);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_scorer_create (m, p, &s, err, sizeof err),
                    Q8_ETENSOR);
  ck_assert_ptr_nonnull (strstr (err, "variance"));
  q8_plan_free (p);
  q8_model_free (m);

  /* A NaN variance likewise. */
  m = build_features ("gaussian", (const int32_t[]) { GH, GW, C }, NAN);
  ck_assert_int_eq (q8_plan_create (m, IN_W, IN_H, 1, &p, err, sizeof err),
                    Q8_OK);
  ck_assert_int_eq (q8_scorer_create (m, p, &s, err, sizeof err),
                    Q8_ETENSOR);
  q8_plan_free (p);
  q8_model_free (m);
}
END_TEST

START_TEST (test_builder_from_model_roundtrip)
{
  /* A copy without dropping anything plans and runs identically. */
  q8_model *m = build_features ("gaussian", NULL, 0);
  q8_builder *b = q8_builder_from_model (m, NULL);
  ck_assert_ptr_nonnull (b);
  void *data;
  size_t size;
  char err[256] = "";
  ck_assert_int_eq (q8_builder_write (b, &data, &size, err, sizeof err),
                    Q8_OK);
  q8_builder_free (b);
  q8_model *copy = NULL;
  ck_assert_int_eq (q8_model_load_buffer (data, size, &copy, err, sizeof err),
                    Q8_OK);
  free (data);
  ck_assert_uint_eq (q8_model_meta_count (copy), q8_model_meta_count (m));
  q8_plan *p1 = NULL, *p2 = NULL;
  uint8_t px[IN_W * IN_H];
  q8_rng r;
  q8_rng_seed (&r, 3);
  make_frame (&r, px, 1);
  q8_plan_create (m, IN_W, IN_H, 1, &p1, err, sizeof err);
  q8_plan_create (copy, IN_W, IN_H, 1, &p2, err, sizeof err);
  q8_plan_set_input_u8 (p1, 0, px, IN_W);
  q8_plan_set_input_u8 (p2, 0, px, IN_W);
  q8_run (p1);
  q8_run (p2);
  ck_assert_mem_eq (q8_plan_output (p1, 0), q8_plan_output (p2, 0), N);
  q8_plan_free (p1);
  q8_plan_free (p2);
  q8_model_free (copy);

  /* Dropping "anomaly." removes the metadata entry. */
  b = q8_builder_from_model (m, "anomaly.");
  ck_assert_int_eq (q8_builder_write (b, &data, &size, err, sizeof err),
                    Q8_OK);
  q8_builder_free (b);
  ck_assert_int_eq (q8_model_load_buffer (data, size, &copy, err, sizeof err),
                    Q8_OK);
  free (data);
  ck_assert (!q8_model_is_feature_anomaly (copy));
  ck_assert_uint_eq (q8_model_meta_count (copy),
                     q8_model_meta_count (m) - 1);
  q8_model_free (copy);
  q8_model_free (m);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("anomaly");
  TCase *tc = tcase_create ("anomaly");
  tcase_add_test (tc, test_teach_and_score_match_reference);
  tcase_add_loop_test (tc, test_knn_match_reference, 0, 2);
  tcase_add_test (tc, test_knn_refusals);
  tcase_add_test (tc, test_refusals);
  tcase_add_test (tc, test_builder_from_model_roundtrip);
  suite_add_tcase (s, tc);
  return s;
}
