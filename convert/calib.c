/* calib.c - activation ranges from a calibration set.
 *
 * Two passes over the data: the first finds each activation's minimum
 * and maximum, the second fills a histogram of CV_BINS bins over that
 * range.  The methods then choose the range [lo, hi] that int8 covers:
 *
 *   minmax      the observed range (no clipping, coarsest steps);
 *   percentile  the p-th and (100 - p)-th percentiles;
 *   mse         the range minimizing the expected squared quantization
 *               error (rounding inside, clipping outside);
 *   entropy     the range minimizing the KL divergence between the
 *               histogram and its 256-level quantized version (TensorRT's
 *               method, applied to both ends).
 *
 * The range always contains 0 so that zero (padding) is exact.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

#define CV_BINS 2048

typedef struct {
  double min, max;
  double *hist; /* CV_BINS bins over [min, max], NULL if not an activation */
} tstats;

struct cv_calib {
  const cv_graph *g;
  cv_calib_method method;
  double percentile;
  tstats *s;
};

const char *
cv_calib_method_name (cv_calib_method m)
{
  switch (m) {
  case CV_CALIB_MINMAX: return "minmax";
  case CV_CALIB_PERCENTILE: return "percentile";
  case CV_CALIB_MSE: return "mse";
  case CV_CALIB_ENTROPY: return "entropy";
  }
  return "?";
}

cv_calib *
cv_calib_new (const cv_graph *g, cv_calib_method method, double percentile)
{
  cv_calib *c = calloc (1, sizeof *c);
  if (!c)
    return NULL;
  c->g = g;
  c->method = method;
  c->percentile = percentile;
  c->s = calloc ((size_t) g->n_t, sizeof *c->s);
  if (!c->s) {
    free (c);
    return NULL;
  }
  for (int i = 0; i < g->n_t; i++) {
    c->s[i].min = HUGE_VAL;
    c->s[i].max = -HUGE_VAL;
  }
  return c;
}

void
cv_calib_free (cv_calib *c)
{
  if (!c)
    return;
  for (int i = 0; i < c->g->n_t; i++)
    free (c->s[i].hist);
  free (c->s);
  free (c);
}

void
cv_calib_observe (cv_calib *c, int pass, const cv_values *values)
{
  for (int i = 0; i < c->g->n_t && i < values->n; i++) {
    const float *v = values->v[i];
    if (!v)
      continue;
    tstats *s = &c->s[i];
    int64_t n = cv_numel (&c->g->t[i]);
    if (pass == 0) {
      for (int64_t k = 0; k < n; k++)
        if (isfinite (v[k])) {
          s->min = fmin (s->min, v[k]);
          s->max = fmax (s->max, v[k]);
        }
      continue;
    }
    if (!s->hist) {
      s->hist = calloc (CV_BINS, sizeof (double));
      if (!s->hist)
        continue;
      s->min = fmin (s->min, 0);
      s->max = fmax (s->max, 0);
    }
    double w = (s->max - s->min) / CV_BINS;
    if (!(w > 0))
      continue;
    for (int64_t k = 0; k < n; k++) {
      if (!isfinite (v[k]))
        continue;
      int64_t b = (int64_t) ((v[k] - s->min) / w);
      s->hist[b < 0 ? 0 : b >= CV_BINS ? CV_BINS - 1 : b]++;
    }
  }
}

void
cv_range_to_q (double lo, double hi, double *scale, int32_t *zp)
{
  lo = fmin (lo, 0);
  hi = fmax (hi, 0);
  if (hi - lo < 1e-8)
    hi = lo + 1e-8;
  *scale = (hi - lo) / 255.0;
  double z = round (-128 - lo / *scale);
  *zp = (int32_t) (z < -128 ? -128 : z > 127 ? 127 : z);
}

/* Expected squared error of quantizing the histogram with range bins
 * [a, b) (bin indices). */
static double
cost_mse (const tstats *s, int a, int b)
{
  double w = (s->max - s->min) / CV_BINS;
  double lo = s->min + a * w, hi = s->min + b * w, scale;
  int32_t zp;
  cv_range_to_q (lo, hi, &scale, &zp);
  double e = 0;
  for (int i = 0; i < CV_BINS; i++) {
    if (s->hist[i] == 0)
      continue;
    double x = s->min + (i + 0.5) * w;
    double q = fmax (-128, fmin (127, round (x / scale) + zp));
    double d = x - scale * (q - zp);
    /* Inside the range, values spread over a bin round with about
     * scale^2 / 12 error whatever the bin center does. */
    e += s->hist[i] * (i >= a && i < b ? scale * scale / 12 : d * d);
  }
  return e;
}

/* KL divergence between the histogram clipped to [a, b) (the clipped
 * mass added to the edge bins) and its 256-level quantized version built
 * from the bins inside only, so that clipping costs what it loses
 * (TensorRT's entropy calibration, applied to both ends). */
static double
cost_kl (const tstats *s, int a, int b)
{
  int n = b - a;
  double *p = calloc ((size_t) n, sizeof (double));
  double *qsum = calloc (256, sizeof (double));
  int *qnz = calloc (256, sizeof (int));
  double kl = HUGE_VAL;
  if (!p || !qsum || !qnz)
    goto out;
  double tot = 0;
  for (int i = 0; i < CV_BINS; i++) {
    int j = i < a ? 0 : i >= b ? n - 1 : i - a;
    p[j] += s->hist[i];
    tot += s->hist[i];
  }
  for (int j = 0; j < n; j++) {
    int q = (int) ((int64_t) j * 256 / n);
    double inside = s->hist[a + j];
    qsum[q] += inside;
    qnz[q] += inside > 0;
  }
  if (!(tot > 0))
    goto out;
  /* Q expanded over the bins, both distributions normalized. */
  double qtot = 0;
  for (int j = 0; j < n; j++) {
    int q = (int) ((int64_t) j * 256 / n);
    qtot += qnz[q] && s->hist[a + j] > 0 ? qsum[q] / qnz[q] : 0;
  }
  if (!(qtot > 0))
    goto out;
  kl = 0;
  for (int j = 0; j < n; j++) {
    if (p[j] == 0)
      continue;
    int q = (int) ((int64_t) j * 256 / n);
    double qq = qnz[q] && s->hist[a + j] > 0 ? qsum[q] / qnz[q] : 0;
    /* A bin Q leaves empty (clipped mass landing on an empty edge bin)
     * gets a floor rather than an infinite divergence. */
    qq = fmax (qq / qtot, 1e-6);
    kl += p[j] / tot * log (p[j] / tot / qq);
  }
out:
  free (p);
  free (qsum);
  free (qnz);
  return kl;
}

/* Value at cumulative fraction f of the histogram. */
static double
hist_quantile (const tstats *s, double f)
{
  double tot = 0, acc = 0, w = (s->max - s->min) / CV_BINS;
  for (int i = 0; i < CV_BINS; i++)
    tot += s->hist[i];
  for (int i = 0; i < CV_BINS; i++) {
    acc += s->hist[i];
    if (acc >= f * tot)
      return s->min + (i + 1) * w;
  }
  return s->max;
}

static void
choose_range (const cv_calib *c, const tstats *s, double *lo, double *hi)
{
  *lo = fmin (s->min, 0);
  *hi = fmax (s->max, 0);
  if (!s->hist || c->method == CV_CALIB_MINMAX || !(s->max > s->min))
    return;
  double w = (s->max - s->min) / CV_BINS;
  if (c->method == CV_CALIB_PERCENTILE) {
    double p = c->percentile / 100.0;
    *hi = fmax (0, fmin (*hi, hist_quantile (s, p)));
    *lo = fmin (0, fmax (*lo, hist_quantile (s, 1 - p) - w));
    return;
  }
  /* Coordinate descent over the two ends, in bins.  The zero bin must
   * stay inside; entropy needs at least 256 bins to compare against. */
  int zero = (int) floor ((0 - s->min) / w);
  int a = 0, b = CV_BINS, minw = c->method == CV_CALIB_ENTROPY ? 256 : 8;
  for (int round_ = 0; round_ < 2; round_++) {
    double best = HUGE_VAL;
    int bb = b;
    for (int cand = b; cand > zero && cand - a >= minw; cand -= 4) {
      double e = c->method == CV_CALIB_MSE ? cost_mse (s, a, cand)
                                           : cost_kl (s, a, cand);
      if (e < best) {
        best = e;
        bb = cand;
      }
    }
    b = bb;
    best = HUGE_VAL;
    int ba = a;
    for (int cand = a; cand <= zero && b - cand >= minw; cand += 4) {
      double e = c->method == CV_CALIB_MSE ? cost_mse (s, cand, b)
                                           : cost_kl (s, cand, b);
      if (e < best) {
        best = e;
        ba = cand;
      }
    }
    a = ba;
  }
  *lo = fmin (0, s->min + a * w);
  *hi = fmax (0, s->min + b * w);
}

void
cv_calib_finish (cv_calib *c, cv_graph *g)
{
  for (int i = 0; i < g->n_t; i++) {
    cv_tensor *t = &g->t[i];
    const tstats *s = &c->s[i];
    if (t->is_const || !(s->max >= s->min))
      continue;
    t->min = s->min;
    t->max = s->max;
    choose_range (c, s, &t->lo, &t->hi);
    if (!t->has_q) {
      t->has_q = true;
      cv_range_to_q (t->lo, t->hi, &t->q_scale, &t->q_zp);
    }
  }
}

q8_status
cv_calibrate (cv_graph *g, cv_calib_method method, double percentile,
              const float *frames, int n_frames, char *err, size_t err_size)
{
  size_t px = (size_t) cv_numel (&g->t[g->inputs[0]]);
  cv_calib *c = cv_calib_new (g, method, percentile);
  if (!c)
    return Q8_ENOMEM;
  for (int pass = 0; pass < 2; pass++)
    for (int k = 0; k < n_frames; k++) {
      const float *ins[1] = { frames + k * px };
      cv_values v;
      q8_status st = cv_execute (g, ins, NULL, &v, err, err_size);
      if (st < 0) {
        cv_calib_free (c);
        return st;
      }
      cv_calib_observe (c, pass, &v);
      cv_values_free (&v);
    }
  cv_calib_finish (c, g);
  cv_calib_free (c);
  return Q8_OK;
}
