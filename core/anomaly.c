/* anomaly.c - anomaly detection by what a feature map looks like on
 * normal frames: teaching (per-cell Gaussian estimates, or a memory bank
 * of the frames' features; a leave-one-out threshold) and scoring.  q8.h
 * defines the arithmetic; this file follows it line by line.
 *
 * Gaussian statistics are accumulated in double: with up to 100000 frames
 * of int8 features the sums stay exact to far below float precision.  The
 * memory bank's distances are exact integers (the kernel table's l2nn).
 * Scoring reports the map and score in float.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"
#include "q8_kernels.h"

#define MEAN_NAME "anomaly.mean"
#define VAR_NAME "anomaly.var"
#define BANK_NAME "anomaly.bank"
#define RADIUS_KEY "anomaly.knn.radius"
#define METHOD_KEY "anomaly.method"
#define METHOD_GAUSSIAN "gaussian"
#define METHOD_KNN "knn"
/* The score map is the mean over (2 * SMOOTH_RADIUS + 1)^2 cells. */
#define SMOOTH_RADIUS 1

void
q8_teach_params_init (q8_teach_params *p)
{
  p->shrink = 8;
  p->quantile = 1.0;
  p->margin = 1.25;
  p->method = Q8_ANOMALY_MODEL;
  p->radius = 1;
  p->bank = 100;
}

/* The model's anomaly.method, or Q8_ANOMALY_MODEL if it names none. */
static q8_anomaly_method
model_method (const q8_model *model)
{
  const char *v;
  if (q8_model_meta_string (model, METHOD_KEY, &v) != Q8_OK)
    return Q8_ANOMALY_MODEL;
  if (strcmp (v, METHOD_GAUSSIAN) == 0)
    return Q8_ANOMALY_GAUSSIAN;
  if (strcmp (v, METHOD_KNN) == 0)
    return Q8_ANOMALY_KNN;
  return Q8_ANOMALY_MODEL;
}

int
q8_model_is_feature_anomaly (const q8_model *model)
{
  return model_method (model) != Q8_ANOMALY_MODEL;
}

/* The feature map of plan: output 0, its grid and quantization. */
typedef struct {
  int gh, gw, c;
  size_t n;        /* gh * gw * c */
  q8_dtype dtype;
  float scale;
  int32_t zp;
} feat_info;

static q8_status
feature_info (const q8_model *model, const q8_plan *plan, feat_info *f,
              char *err, size_t es)
{
  q8_tensor_info o;
  if (model == NULL || plan == NULL)
    return Q8_EINVAL;
  if (!q8_model_is_feature_anomaly (model))
    return q8__err (err, es, Q8_EMETA,
                    "not a feature anomaly model (metadata %s is not '%s' "
                    "or '%s')",
                    METHOD_KEY, METHOD_GAUSSIAN, METHOD_KNN);
  if (q8_plan_output_info (plan, 0, &o) != Q8_OK)
    return Q8_EINVAL;
  f->gh = o.h;
  f->gw = o.w;
  f->c = o.c;
  f->dtype = o.dtype;
  f->scale = o.scale;
  f->zp = o.zero_point;
  /* The plan proved the arena holds these bytes, so no overflow. */
  f->n = (size_t) o.h * (size_t) o.w * (size_t) o.c;
  if (f->n == 0)
    return q8__err (err, es, Q8_ESHAPE, "empty feature map");
  return Q8_OK;
}

/* Dequantized feature i of an output buffer. */
static inline double
feat (const feat_info *f, const void *buf, size_t i)
{
  int q = f->dtype == Q8_DTYPE_U8 ? ((const uint8_t *) buf)[i]
                                  : ((const int8_t *) buf)[i];
  return (double) f->scale * (q - f->zp);
}

/* map = the SMOOTH_RADIUS box mean of d over the cells inside the grid;
 * returns its maximum. */
static double
smooth_max (const float *d, int gh, int gw, float *map)
{
  double best = -INFINITY;
  for (int y = 0; y < gh; y++)
    for (int x = 0; x < gw; x++) {
      double s = 0;
      int n = 0;
      for (int dy = -SMOOTH_RADIUS; dy <= SMOOTH_RADIUS; dy++)
        for (int dx = -SMOOTH_RADIUS; dx <= SMOOTH_RADIUS; dx++) {
          int yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= gh || xx < 0 || xx >= gw)
            continue;
          s += d[yy * gw + xx];
          n++;
        }
      float v = (float) (s / n);
      if (map != NULL)
        map[y * gw + x] = v;
      if (v > best)
        best = v;
    }
  return best;
}

/* ---- teaching ------------------------------------------------------------ */

struct q8_teacher {
  feat_info f;
  int max_frames, n;
  uint8_t *frames; /* max_frames feature maps, raw bytes */
};

q8_status
q8_teacher_create (const q8_model *model, const q8_plan *plan,
                   int max_frames, q8_teacher **out, char *err, size_t es)
{
  size_t bytes;
  q8_status st;
  if (out == NULL)
    return Q8_EINVAL;
  *out = NULL;
  if (max_frames < 2 || max_frames > Q8_ANOMALY_MAX_FRAMES)
    return q8__err (err, es, Q8_EINVAL, "%d teaching frames, must be 2..%d",
                    max_frames, Q8_ANOMALY_MAX_FRAMES);
  q8_teacher *t = calloc (1, sizeof *t);
  if (t == NULL)
    return Q8_ENOMEM;
  st = feature_info (model, plan, &t->f, err, es);
  if (st != Q8_OK)
    goto fail;
  if (!q8__mul_size (t->f.n, (size_t) max_frames, &bytes)
      || bytes > Q8_MAX_ARENA_BYTES) {
    st = q8__err (err, es, Q8_ETOOBIG,
                  "%d frames of %zu features would need more than %zu bytes",
                  max_frames, t->f.n, (size_t) Q8_MAX_ARENA_BYTES);
    goto fail;
  }
  t->frames = malloc (bytes);
  if (t->frames == NULL) {
    st = q8__err (err, es, Q8_ENOMEM, "%zu bytes for %d teaching frames",
                  bytes, max_frames);
    goto fail;
  }
  t->max_frames = max_frames;
  *out = t;
  return Q8_OK;

fail:
  q8_teacher_free (t);
  return st;
}

void
q8_teacher_free (q8_teacher *t)
{
  if (t == NULL)
    return;
  free (t->frames);
  free (t);
}

int
q8_teacher_frames (const q8_teacher *t)
{
  return t != NULL ? t->n : 0;
}

q8_status
q8_teacher_add (q8_teacher *t, const q8_plan *plan)
{
  q8_tensor_info o;
  if (t == NULL || plan == NULL || q8_plan_output_info (plan, 0, &o) != Q8_OK)
    return Q8_EINVAL;
  if (o.h != t->f.gh || o.w != t->f.gw || o.c != t->f.c)
    return Q8_ESHAPE;
  if (t->n >= t->max_frames)
    return Q8_ETOOBIG;
  memcpy (t->frames + (size_t) t->n * t->f.n, q8_plan_output (plan, 0),
          t->f.n);
  t->n++;
  return Q8_OK;
}

/* var = (n var_cell + k var_channel) / (n + k) + floor (q8.h). */
static inline double
shrunk_var (double var_cell, double n, double k, double var_channel,
            double floor)
{
  return (n * var_cell + k * var_channel) / (n + k) + floor;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Gaussian teaching: the statistics into b, each teaching frame's
 * leave-one-out score into loo. */
static q8_status
teach_gaussian (const q8_teacher *t, const q8_teach_params *p, q8_builder *b,
                double *loo)
{
  const feat_info *f = &t->f;
  const size_t n = f->n, cells = (size_t) f->gh * f->gw;
  const int c = f->c, frames = t->n;
  const double k = p->shrink, floor = (double) f->scale * f->scale / 12;
  q8_status st = Q8_ENOMEM;
  double *s1 = calloc (n, sizeof *s1), *s2 = calloc (n, sizeof *s2);
  double *vch = calloc ((size_t) c, sizeof *vch);
  double *mch = calloc ((size_t) c, sizeof *mch);
  float *mean = malloc (n * sizeof *mean), *var = malloc (n * sizeof *var);
  float *d = malloc (cells * sizeof *d);
  if (!s1 || !s2 || !vch || !mch || !mean || !var || !d)
    goto done;

  for (int i = 0; i < frames; i++) {
    const uint8_t *fr = t->frames + (size_t) i * n;
    for (size_t j = 0; j < n; j++) {
      double v = feat (f, fr, j);
      s1[j] += v;
      s2[j] += v * v;
    }
  }
  /* Per-cell mean and (population) variance; the channel's variance over
   * all cells and frames is the mean per-cell variance plus the variance
   * of the per-cell means. */
  for (size_t j = 0; j < n; j++) {
    double m = s1[j] / frames;
    mean[j] = (float) m;
    mch[j % c] += m / cells;
  }
  for (size_t j = 0; j < n; j++) {
    double m = s1[j] / frames, v = fmax (0, s2[j] / frames - m * m);
    double dm = m - mch[j % c];
    vch[j % c] += (v + dm * dm) / cells;
  }
  for (size_t j = 0; j < n; j++) {
    double m = s1[j] / frames, v = fmax (0, s2[j] / frames - m * m);
    var[j] = (float) shrunk_var (v, frames, k, vch[j % c], floor);
  }

  /* Leave-one-out scores: frame i against the others' sums (the channel
   * variance is kept from all frames; one frame of many barely moves it). */
  for (int i = 0; i < frames; i++) {
    const uint8_t *fr = t->frames + (size_t) i * n;
    const double m1 = frames - 1;
    for (size_t cell = 0; cell < cells; cell++) {
      double acc = 0;
      for (int ch = 0; ch < c; ch++) {
        size_t j = cell * c + ch;
        double v = feat (f, fr, j);
        double mo = (s1[j] - v) / m1;
        double vo = fmax (0, (s2[j] - v * v) / m1 - mo * mo);
        double e = v - mo;
        acc += e * e / shrunk_var (vo, m1, k, vch[ch], floor);
      }
      d[cell] = (float) (acc / c);
    }
    loo[i] = smooth_max (d, f->gh, f->gw, NULL);
  }

  int32_t dims[3] = { f->gh, f->gw, c };
  if (q8_builder_add_const (b, MEAN_NAME, Q8_DTYPE_F32, 3, dims, mean, 0, 0,
                            NULL) < 0
      || q8_builder_add_const (b, VAR_NAME, Q8_DTYPE_F32, 3, dims, var, 0, 0,
                               NULL) < 0
      || q8_builder_meta_string (b, METHOD_KEY, METHOD_GAUSSIAN) != Q8_OK
      || q8_builder_meta_int (b, "anomaly.teach.shrink", p->shrink) != Q8_OK)
    goto done;
  st = Q8_OK;

done:
  free (s1);
  free (s2);
  free (vch);
  free (mch);
  free (mean);
  free (var);
  free (d);
  return st;
}

/* n output bytes as the memory bank holds them: unsigned, with
 * differences kept (S8 is offset by 128). */
static void
to_bank_bytes (const feat_info *f, const uint8_t *raw, size_t n,
               uint8_t *dst)
{
  const uint8_t flip = f->dtype == Q8_DTYPE_S8 ? 0x80 : 0;
  for (size_t i = 0; i < n; i++)
    dst[i] = raw[i] ^ flip;
}

/* The feature map is one the bank's exact 32-bit distances can take. */
static q8_status
check_bank_channels (const feat_info *f, char *err, size_t es)
{
  if (f->c > Q8_L2NN_MAX_C)
    return q8__err (err, es, Q8_ESHAPE,
                    "%d feature channels; the memory bank takes at most %d",
                    f->c, Q8_L2NN_MAX_C);
  return Q8_OK;
}

/* The knn cell distances d of frame q (bank bytes, [gh, gw, C]) against
 * bank ([gh, gw, nb, C]) without its frame skip (-1: none); best is
 * gh * gw words of scratch. */
typedef struct {
  q8_l2nn_fn l2nn;
  const feat_info *f;
  int radius, nb, skip;
  const uint8_t *bank, *q;
  uint32_t *best;
  float *d;
} knn_job;

#define MAX_SIDE (2 * Q8_ANOMALY_MAX_RADIUS + 1)
#define MAX_QUERIES (MAX_SIDE * MAX_SIDE)

/* Query rows [y0, y1).  The loop runs over bank cells, each searched once
 * for all the query cells within the radius of it (up to (2R + 1)^2):
 * the bank (131 KB a frame for the built-in model at 256x256) is read
 * from memory once per frame rather than once per neighbour. */
static void
knn_rows (void *ctx, int32_t y0, int32_t y1)
{
  const knn_job *j = ctx;
  const feat_info *f = j->f;
  const int r = j->radius, nb = j->nb, skip = j->skip, gw = f->gw;
  const size_t c = (size_t) f->c, row = (size_t) nb * c;
  const uint8_t *xs[MAX_QUERIES];
  uint32_t lb[MAX_QUERIES];
  size_t at[MAX_QUERIES];
  for (size_t i = (size_t) y0 * gw; i < (size_t) y1 * gw; i++)
    j->best[i] = UINT32_MAX;
  const int ya = y0 > r ? y0 - r : 0;
  const int yb = y1 - 1 + r < f->gh - 1 ? y1 - 1 + r : f->gh - 1;
  for (int yy = ya; yy <= yb; yy++)
    for (int xx = 0; xx < gw; xx++) {
      size_t m = 0;
      int qy0 = yy - r > y0 ? yy - r : y0;
      int qy1 = yy + r < y1 - 1 ? yy + r : y1 - 1;
      int qx0 = xx > r ? xx - r : 0, qx1 = xx + r < gw - 1 ? xx + r : gw - 1;
      for (int y = qy0; y <= qy1; y++)
        for (int x = qx0; x <= qx1; x++) {
          at[m] = (size_t) y * gw + x;
          xs[m] = j->q + at[m] * c;
          lb[m] = j->best[at[m]];
          m++;
        }
      const uint8_t *bc = j->bank + ((size_t) yy * gw + xx) * row;
      if (skip < 0) {
        j->l2nn ((size_t) nb, c, m, xs, bc, lb);
      } else {
        j->l2nn ((size_t) skip, c, m, xs, bc, lb);
        j->l2nn ((size_t) (nb - skip - 1), c, m, xs,
                 bc + (size_t) (skip + 1) * c, lb);
      }
      for (size_t k = 0; k < m; k++)
        j->best[at[k]] = lb[k];
    }
  const double unit = (double) f->scale * f->scale / f->c;
  for (size_t i = (size_t) y0 * gw; i < (size_t) y1 * gw; i++)
    j->d[i] = (float) (j->best[i] * unit);
}

/* All rows, on pool's threads if there is one (a band of rows each). */
static void
knn_distances (q8__pool *pool, const knn_job *job)
{
  const int32_t gh = job->f->gh;
  if (pool != NULL) {
    int32_t t = q8__pool_threads (pool);
    q8__pool_run (pool, knn_rows, (void *) job, gh, (gh + t - 1) / t);
  } else {
    knn_rows ((void *) job, 0, gh);
  }
}

/* Memory-bank teaching: the bank into b, each teaching frame's
 * leave-one-out score (against the bank without it) into loo. */
static q8_status
teach_knn (const q8_teacher *t, const q8_teach_params *p, q8_builder *b,
           double *loo, char *err, size_t es)
{
  const feat_info *f = &t->f;
  const size_t n = f->n, cells = (size_t) f->gh * f->gw, c = (size_t) f->c;
  const int frames = t->n, nb = frames < p->bank ? frames : p->bank;
  q8_status st = check_bank_channels (f, err, es);
  size_t bytes;
  if (st != Q8_OK)
    return st;
  st = Q8_ENOMEM;
  if (!q8__mul_size (n, (size_t) nb, &bytes) || bytes > Q8_MAX_ARENA_BYTES)
    return q8__err (err, es, Q8_ETOOBIG, "a bank of %d frames is too big",
                    nb);
  uint8_t *bank = malloc (bytes), *q = malloc (n);
  int *slot = malloc ((size_t) frames * sizeof *slot);
  float *d = malloc (cells * sizeof *d);
  uint32_t *best = malloc (cells * sizeof *best);
  if (!bank || !q || !slot || !d || !best)
    goto done;

  /* Bank frame j is teaching frame j * frames / nb: evenly spaced. */
  for (int i = 0; i < frames; i++)
    slot[i] = -1;
  for (int j = 0; j < nb; j++) {
    int i = (int) ((int64_t) j * frames / nb);
    const uint8_t *fr = t->frames + (size_t) i * n;
    slot[i] = j;
    for (size_t cell = 0; cell < cells; cell++)
      to_bank_bytes (f, fr + cell * c, c,
                     bank + (cell * (size_t) nb + (size_t) j) * c);
  }
  knn_job job = { .l2nn = q8__kernels ()->l2nn, .f = f, .radius = p->radius,
                  .nb = nb, .bank = bank, .q = q, .best = best, .d = d };
  for (int i = 0; i < frames; i++) {
    to_bank_bytes (f, t->frames + (size_t) i * n, n, q);
    job.skip = slot[i];
    knn_distances (NULL, &job);
    loo[i] = smooth_max (d, f->gh, f->gw, NULL);
  }

  int32_t dims[4] = { f->gh, f->gw, nb, f->c };
  if (q8_builder_add_const (b, BANK_NAME, Q8_DTYPE_U8, 4, dims, bank, 1.0f,
                            0, NULL) < 0
      || q8_builder_meta_string (b, METHOD_KEY, METHOD_KNN) != Q8_OK
      || q8_builder_meta_int (b, RADIUS_KEY, p->radius) != Q8_OK)
    goto done;
  st = Q8_OK;

done:
  free (bank);
  free (q);
  free (slot);
  free (d);
  free (best);
  return st;
}

q8_status
q8_teacher_finish (const q8_teacher *t, const q8_model *model,
                   const q8_teach_params *params, void **data, size_t *size,
                   double *threshold_out, char *err, size_t es)
{
  q8_teach_params p;
  q8_status st = Q8_ENOMEM;
  q8_builder *b = NULL;
  double *loo = NULL;
  if (t == NULL || model == NULL || data == NULL || size == NULL)
    return Q8_EINVAL;
  *data = NULL;
  *size = 0;
  if (params != NULL)
    p = *params;
  else
    q8_teach_params_init (&p);
  if (p.method == Q8_ANOMALY_MODEL)
    p.method = model_method (model);
  if (p.shrink < 0 || !(p.quantile >= 0 && p.quantile <= 1)
      || !(p.margin > 0 && p.margin < 1e6)
      || (p.method != Q8_ANOMALY_GAUSSIAN && p.method != Q8_ANOMALY_KNN)
      || p.radius < 0 || p.radius > Q8_ANOMALY_MAX_RADIUS
      || p.bank < 2 || p.bank > Q8_ANOMALY_MAX_FRAMES)
    return q8__err (err, es, Q8_EINVAL,
                    "teaching parameters: shrink %d (>= 0), quantile %g "
                    "(0..1), margin %g (> 0), method %d (gaussian or knn), "
                    "radius %d (0..%d), bank %d (2..%d)",
                    p.shrink, p.quantile, p.margin, (int) p.method, p.radius,
                    Q8_ANOMALY_MAX_RADIUS, p.bank, Q8_ANOMALY_MAX_FRAMES);
  if (t->n < 2)
    return q8__err (err, es, Q8_EINVAL,
                    "%d teaching frames, need at least 2", t->n);

  const int frames = t->n;
  loo = calloc ((size_t) frames, sizeof *loo);
  b = q8_builder_from_model (model, "anomaly.");
  if (loo == NULL || b == NULL)
    goto done;
  st = p.method == Q8_ANOMALY_KNN ? teach_knn (t, &p, b, loo, err, es)
                                  : teach_gaussian (t, &p, b, loo);
  if (st != Q8_OK)
    goto done;
  st = Q8_ENOMEM;

  qsort (loo, (size_t) frames, sizeof *loo, cmp_double);
  /* Nearest rank: the smallest score with at least quantile of the frames
   * at or below it. */
  size_t rank = (size_t) ceil (p.quantile * frames);
  rank = rank < 1 ? 0 : rank - 1;
  if (rank >= (size_t) frames)
    rank = (size_t) frames - 1;
  double threshold = loo[rank] * p.margin;
  if (!isfinite (threshold) || !isfinite (loo[frames - 1])) {
    st = q8__err (err, es, Q8_ETENSOR, "teaching gave a non-finite score");
    goto done;
  }
  if (q8_builder_meta_float (b, "anomaly.threshold", threshold) != Q8_OK
      || q8_builder_meta_int (b, "anomaly.teach.frames", frames) != Q8_OK
      || q8_builder_meta_float (b, "anomaly.teach.quantile", p.quantile)
             != Q8_OK
      || q8_builder_meta_float (b, "anomaly.teach.margin", p.margin) != Q8_OK
      || q8_builder_meta_float (b, "anomaly.teach.max_normal_score",
                                loo[frames - 1])
             != Q8_OK)
    goto done;
  st = q8_builder_write (b, data, size, err, es);
  if (st == Q8_OK && threshold_out != NULL)
    *threshold_out = threshold;

done:
  if (st == Q8_ENOMEM)
    q8__err (err, es, st, "out of memory finishing the teaching");
  q8_builder_free (b);
  free (loo);
  return st;
}

/* ---- scoring ------------------------------------------------------------- */

struct q8_scorer {
  feat_info f;
  q8_anomaly_method method;
  /* knn: the model's bank (it outlives the scorer, as it does plans) */
  const uint8_t *bank;
  int nb, radius;
  uint8_t *q;   /* knn: n, the frame as bank bytes */
  uint32_t *best; /* knn: gh * gw, nearest squared distances */
  q8_l2nn_fn l2nn;
  float *mean;  /* n */
  float *ivar;  /* n: 1 / var */
  float *d;     /* gh * gw, per-cell distance before smoothing */
  float lut[256]; /* dequantized value of each raw byte */
};

static const q8__tensor *
find_const (const q8_model *m, const char *name)
{
  for (uint32_t i = 0; i < m->n_tensors; i++)
    if (m->tensors[i].is_const && strcmp (m->tensors[i].name, name) == 0)
      return &m->tensors[i];
  return NULL;
}

static q8_status
check_stats (const q8__tensor *t, const feat_info *f, char *err, size_t es)
{
  if (t->dtype != Q8_DTYPE_F32 || t->rank != 3 || t->dims[0] != f->gh
      || t->dims[1] != f->gw || t->dims[2] != f->c)
    return q8__err (err, es, Q8_ESHAPE,
                    "statistics '%s' are %s rank %d [%d, %d, %d], the "
                    "feature map is F32 [%d, %d, %d] (taught at another "
                    "input size?)",
                    t->name, q8_dtype_name (t->dtype), t->rank, t->dims[0],
                    t->dims[1], t->dims[2], f->gh, f->gw, f->c);
  return Q8_OK;
}

/* The knn half of q8_scorer_create: the bank and radius of model. */
static q8_status
scorer_knn (const q8_model *model, q8_scorer *s, char *err, size_t es)
{
  const q8__tensor *tb = find_const (model, BANK_NAME);
  int64_t radius;
  if (tb == NULL)
    return q8__err (err, es, Q8_ENOTFOUND,
                    "the model has no memory bank (teach it first)");
  if (tb->dtype != Q8_DTYPE_U8 || tb->rank != 4 || tb->dims[0] != s->f.gh
      || tb->dims[1] != s->f.gw || tb->dims[2] < 2 || tb->dims[3] != s->f.c)
    return q8__err (err, es, Q8_ESHAPE,
                    "memory bank '%s' is %s rank %d [%d, %d, %d, %d], the "
                    "feature map needs U8 [%d, %d, >= 2, %d] (taught at "
                    "another input size?)",
                    tb->name, q8_dtype_name (tb->dtype), tb->rank,
                    tb->dims[0], tb->dims[1], tb->dims[2], tb->dims[3],
                    s->f.gh, s->f.gw, s->f.c);
  q8_status st = check_bank_channels (&s->f, err, es);
  if (st != Q8_OK)
    return st;
  if (q8_model_meta_int (model, RADIUS_KEY, &radius) != Q8_OK || radius < 0
      || radius > Q8_ANOMALY_MAX_RADIUS)
    return q8__err (err, es, Q8_EMETA,
                    "metadata %s is missing or not in 0..%d", RADIUS_KEY,
                    Q8_ANOMALY_MAX_RADIUS);
  /* The loader checked that the data holds every element of the dims. */
  s->bank = tb->data;
  s->nb = tb->dims[2];
  s->radius = (int) radius;
  s->q = malloc (s->f.n);
  s->best = malloc ((size_t) s->f.gh * s->f.gw * sizeof *s->best);
  if (s->q == NULL || s->best == NULL)
    return Q8_ENOMEM;
  s->l2nn = q8__kernels ()->l2nn;
  return Q8_OK;
}

/* The gaussian half of q8_scorer_create: mean and 1 / variance. */
static q8_status
scorer_gaussian (const q8_model *model, q8_scorer *s, char *err, size_t es)
{
  q8_status st;
  const q8__tensor *tm = find_const (model, MEAN_NAME);
  const q8__tensor *tv = find_const (model, VAR_NAME);
  if (tm == NULL || tv == NULL)
    return q8__err (err, es, Q8_ENOTFOUND,
                    "the model has no normal statistics (teach it first)");
  if ((st = check_stats (tm, &s->f, err, es)) != Q8_OK
      || (st = check_stats (tv, &s->f, err, es)) != Q8_OK)
    return st;
  const size_t n = s->f.n;
  s->mean = malloc (n * sizeof *s->mean);
  s->ivar = malloc (n * sizeof *s->ivar);
  if (s->mean == NULL || s->ivar == NULL)
    return Q8_ENOMEM;
  /* Constant data is 64-byte aligned in the model, so it can be read as
   * floats directly. */
  const float *m = tm->data, *v = tv->data;
  for (size_t j = 0; j < n; j++) {
    if (!isfinite (m[j]) || !(v[j] > 0) || !isfinite (1.0f / v[j]))
      return q8__err (err, es, Q8_ETENSOR,
                      "statistics element %zu: mean %g, variance %g (need "
                      "finite values and a positive variance)",
                      j, (double) m[j], (double) v[j]);
    s->mean[j] = m[j];
    s->ivar[j] = 1.0f / v[j];
  }
  return Q8_OK;
}

q8_status
q8_scorer_create (const q8_model *model, const q8_plan *plan,
                  q8_scorer **out, char *err, size_t es)
{
  q8_status st;
  if (out == NULL)
    return Q8_EINVAL;
  *out = NULL;
  q8_scorer *s = calloc (1, sizeof *s);
  if (s == NULL)
    return Q8_ENOMEM;
  st = feature_info (model, plan, &s->f, err, es);
  if (st != Q8_OK)
    goto fail;
  s->method = model_method (model);
  st = s->method == Q8_ANOMALY_KNN ? scorer_knn (model, s, err, es)
                                   : scorer_gaussian (model, s, err, es);
  if (st != Q8_OK)
    goto fail;
  s->d = malloc ((size_t) s->f.gh * s->f.gw * sizeof *s->d);
  if (s->d == NULL) {
    st = Q8_ENOMEM;
    goto fail;
  }
  for (int q = 0; q < 256; q++) {
    int raw = s->f.dtype == Q8_DTYPE_U8 ? q : (int) (int8_t) (uint8_t) q;
    s->lut[q] = s->f.scale * (float) (raw - s->f.zp);
  }
  *out = s;
  return Q8_OK;

fail:
  q8_scorer_free (s);
  return st;
}

void
q8_scorer_free (q8_scorer *s)
{
  if (s == NULL)
    return;
  free (s->mean);
  free (s->ivar);
  free (s->q);
  free (s->best);
  free (s->d);
  free (s);
}

q8_status
q8_scorer_run (q8_scorer *s, const q8_plan *plan, float *map, double *score)
{
  q8_tensor_info o;
  if (s == NULL || plan == NULL || score == NULL
      || q8_plan_output_info (plan, 0, &o) != Q8_OK)
    return Q8_EINVAL;
  if (o.h != s->f.gh || o.w != s->f.gw || o.c != s->f.c)
    return Q8_ESHAPE;
  const uint8_t *fr = q8_plan_output (plan, 0);
  if (s->method == Q8_ANOMALY_KNN) {
    to_bank_bytes (&s->f, fr, s->f.n, s->q);
    knn_job job = { .l2nn = s->l2nn, .f = &s->f, .radius = s->radius,
                    .nb = s->nb, .skip = -1, .bank = s->bank, .q = s->q,
                    .best = s->best, .d = s->d };
    /* The plan's threads, idle between its runs. */
    knn_distances (plan->pool, &job);
    *score = smooth_max (s->d, s->f.gh, s->f.gw, map);
    return Q8_OK;
  }
  const int c = s->f.c;
  const size_t cells = (size_t) s->f.gh * s->f.gw;
  for (size_t cell = 0; cell < cells; cell++) {
    const size_t j0 = cell * c;
    float acc = 0;
    for (int ch = 0; ch < c; ch++) {
      float e = s->lut[fr[j0 + ch]] - s->mean[j0 + ch];
      acc += e * e * s->ivar[j0 + ch];
    }
    s->d[cell] = acc / c;
  }
  *score = smooth_max (s->d, s->f.gh, s->f.gw, map);
  return Q8_OK;
}
