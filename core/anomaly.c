/* anomaly.c - anomaly detection by the normal statistics of a feature
 * map: teaching (per-cell Gaussian estimates, leave-one-out threshold) and
 * scoring.  q8.h defines the arithmetic; this file follows it line by line.
 *
 * Statistics are accumulated in double: with up to 100000 frames of int8
 * features the sums stay exact to far below float precision.  Scoring
 * runs in float, which is what the map and score are reported in.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

#define MEAN_NAME "anomaly.mean"
#define VAR_NAME "anomaly.var"
#define METHOD_KEY "anomaly.method"
#define METHOD_GAUSSIAN "gaussian"
#define MAX_TEACH_FRAMES 100000
/* The score map is the mean over (2 * SMOOTH_RADIUS + 1)^2 cells. */
#define SMOOTH_RADIUS 1

void
q8_teach_params_init (q8_teach_params *p)
{
  p->shrink = 8;
  p->quantile = 1.0;
  p->margin = 1.25;
}

int
q8_model_is_gaussian_anomaly (const q8_model *model)
{
  const char *v;
  return q8_model_meta_string (model, METHOD_KEY, &v) == Q8_OK
         && strcmp (v, METHOD_GAUSSIAN) == 0;
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
  if (!q8_model_is_gaussian_anomaly (model))
    return q8__err (err, es, Q8_EMETA,
                    "not a feature anomaly model (metadata %s is not '%s')",
                    METHOD_KEY, METHOD_GAUSSIAN);
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
  if (max_frames < 2 || max_frames > MAX_TEACH_FRAMES)
    return q8__err (err, es, Q8_EINVAL, "%d teaching frames, must be 2..%d",
                    max_frames, MAX_TEACH_FRAMES);
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

q8_status
q8_teacher_finish (const q8_teacher *t, const q8_model *model,
                   const q8_teach_params *params, void **data, size_t *size,
                   double *threshold_out, char *err, size_t es)
{
  q8_teach_params p;
  q8_status st = Q8_ENOMEM;
  q8_builder *b = NULL;
  if (t == NULL || model == NULL || data == NULL || size == NULL)
    return Q8_EINVAL;
  *data = NULL;
  *size = 0;
  if (params != NULL)
    p = *params;
  else
    q8_teach_params_init (&p);
  if (p.shrink < 0 || !(p.quantile >= 0 && p.quantile <= 1)
      || !(p.margin > 0 && p.margin < 1e6))
    return q8__err (err, es, Q8_EINVAL,
                    "teaching parameters: shrink %d (>= 0), quantile %g "
                    "(0..1), margin %g (> 0)",
                    p.shrink, p.quantile, p.margin);
  if (t->n < 2)
    return q8__err (err, es, Q8_EINVAL,
                    "%d teaching frames, need at least 2", t->n);

  const feat_info *f = &t->f;
  const size_t n = f->n, cells = (size_t) f->gh * f->gw;
  const int c = f->c, frames = t->n;
  const double k = p.shrink, floor = (double) f->scale * f->scale / 12;
  double *s1 = calloc (n, sizeof *s1), *s2 = calloc (n, sizeof *s2);
  double *vch = calloc ((size_t) c, sizeof *vch);
  double *mch = calloc ((size_t) c, sizeof *mch);
  double *loo = calloc ((size_t) frames, sizeof *loo);
  float *mean = malloc (n * sizeof *mean), *var = malloc (n * sizeof *var);
  float *d = malloc (cells * sizeof *d);
  if (!s1 || !s2 || !vch || !mch || !loo || !mean || !var || !d)
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

  b = q8_builder_from_model (model, "anomaly.");
  if (b == NULL)
    goto done;
  int32_t dims[3] = { f->gh, f->gw, c };
  if (q8_builder_add_const (b, MEAN_NAME, Q8_DTYPE_F32, 3, dims, mean, 0, 0,
                            NULL) < 0
      || q8_builder_add_const (b, VAR_NAME, Q8_DTYPE_F32, 3, dims, var, 0, 0,
                               NULL) < 0
      || q8_builder_meta_string (b, METHOD_KEY, METHOD_GAUSSIAN) != Q8_OK
      || q8_builder_meta_float (b, "anomaly.threshold", threshold) != Q8_OK
      || q8_builder_meta_int (b, "anomaly.teach.frames", frames) != Q8_OK
      || q8_builder_meta_int (b, "anomaly.teach.shrink", p.shrink) != Q8_OK
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
  free (s1);
  free (s2);
  free (vch);
  free (mch);
  free (loo);
  free (mean);
  free (var);
  free (d);
  return st;
}

/* ---- scoring ------------------------------------------------------------- */

struct q8_scorer {
  feat_info f;
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
  const q8__tensor *tm = find_const (model, MEAN_NAME);
  const q8__tensor *tv = find_const (model, VAR_NAME);
  if (tm == NULL || tv == NULL) {
    st = q8__err (err, es, Q8_ENOTFOUND,
                  "the model has no normal statistics (teach it first)");
    goto fail;
  }
  if ((st = check_stats (tm, &s->f, err, es)) != Q8_OK
      || (st = check_stats (tv, &s->f, err, es)) != Q8_OK)
    goto fail;
  const size_t n = s->f.n, cells = (size_t) s->f.gh * s->f.gw;
  s->mean = malloc (n * sizeof *s->mean);
  s->ivar = malloc (n * sizeof *s->ivar);
  s->d = malloc (cells * sizeof *s->d);
  if (s->mean == NULL || s->ivar == NULL || s->d == NULL) {
    st = Q8_ENOMEM;
    goto fail;
  }
  /* Constant data is 64-byte aligned in the model, so it can be read as
   * floats directly. */
  const float *m = tm->data, *v = tv->data;
  for (size_t j = 0; j < n; j++) {
    if (!isfinite (m[j]) || !(v[j] > 0) || !isfinite (1.0f / v[j])) {
      st = q8__err (err, es, Q8_ETENSOR,
                    "statistics element %zu: mean %g, variance %g (need "
                    "finite values and a positive variance)",
                    j, (double) m[j], (double) v[j]);
      goto fail;
    }
    s->mean[j] = m[j];
    s->ivar[j] = 1.0f / v[j];
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
