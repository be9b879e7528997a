/* bench_xnnpack.c - q8 and XNNPACK side by side on the same network.
 *
 *   bench_xnnpack MODEL.q8 [-s WxH] [-t THREADS] [-r RUNS]
 *
 * It loads a .q8 super-resolution model (the shipped ESPCN: quantize,
 * three convolutions, depth-to-space, bilinear resize of the input, add,
 * dequantize), plans it with q8 and builds the same graph from XNNPACK
 * operators with the same int8 weights, per-channel scales, biases, zero
 * points and clamps: xnn_create_convolution2d_nhwc_qc8 for the
 * convolutions, resize_bilinear2d_nhwc_s8 (half-pixel, as the model) and
 * add_nd_qs8.  Debian's 2022 XNNPACK has no int8 depth-to-space and no
 * u8 <-> s8 conversion; those run as plain C loops (a run copy per pixel,
 * a 256-entry table) inside XNNPACK's timed frame, as an application
 * would write them.  XNNPACK's resize does not requantize, so it keeps
 * the input's scale (same work).  Both run alternately, frame after frame,
 * in one process on the same input (with a pause before each frame for
 * the other library's threads to settle), so load from other processes
 * hits both alike; it prints the median ms per frame of each and the ratio.
 * A benchmark, built only when libxnnpack-dev is installed; never a test
 * and never a dependency of q8.
 */
#include <math.h>
#include <pthreadpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xnnpack.h>

#include "q8_internal.h"

#define MAX_STEPS 32

typedef enum { STEP_XNN, STEP_LUT, STEP_D2S } step_kind;

typedef struct {
  step_kind kind;
  xnn_operator_t op;
  const int8_t *in;        /* LUT, D2S */
  int8_t *out;
  size_t n;                /* LUT: bytes */
  int8_t lut[256];
  q8_d2s_params d2s;
} step;

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec * 1e-6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
die (const char *what)
{
  fprintf (stderr, "bench_xnnpack: %s\n", what);
  exit (1);
}

static void
xcheck (enum xnn_status st, const char *what)
{
  if (st != xnn_status_success) {
    fprintf (stderr, "bench_xnnpack: %s failed: status %d\n", what, (int) st);
    exit (1);
  }
}

/* Requantizing table between two 8-bit encodings (u8 or s8). */
static void
fill_lut (int8_t *lut, const q8__tensor *x, const q8__tensor *y)
{
  for (int i = 0; i < 256; i++) {
    int v = x->dtype == Q8_DTYPE_U8 ? i : i - 128;
    double r = (double) x->scale * (v - x->zero_point) / y->scale
               + y->zero_point;
    long q = lround (r);
    long lo = y->dtype == Q8_DTYPE_U8 ? 0 : -128, hi = lo + 255;
    q = q < lo ? lo : q > hi ? hi : q;
    lut[x->dtype == Q8_DTYPE_U8 ? i : (i ^ 0x80)] = (int8_t) q;
  }
}

typedef struct {
  step steps[MAX_STEPS];
  int n;
} xnet;

/* Builds and sets up XNNPACK's version of the planned model pl. */
static void
xnet_build (xnet *net, const q8_model *m, q8_plan *pl, int8_t **bufs,
            pthreadpool_t pool)
{
  net->n = 0;
  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    const q8__tensor *x = q8__op_in (m, op, 0), *y = q8__op_out (m, op, 0);
    const q8__shape *xs = &pl->tensors[op->inputs[0]].shape;
    const q8__shape *ys = &pl->tensors[op->outputs[0]].shape;
    int8_t *in = bufs[op->inputs[0]], *out = bufs[op->outputs[0]];
    step *s = &net->steps[net->n++];
    memset (s, 0, sizeof *s);
    const int32_t *pr = op->params;
    switch (op->type) {
    case Q8_OP_QUANTIZE:
    case Q8_OP_DEQUANTIZE:
      s->kind = STEP_LUT;
      s->in = in;
      s->out = out;
      s->n = (size_t) xs->h * xs->w * xs->c;
      fill_lut (s->lut, x, y);
      break;
    case Q8_OP_CONV2D: {
      const q8__tensor *w = q8__op_in (m, op, 1);
      const q8__tensor *b = op->n_inputs > 2 && op->inputs[2] != Q8_NO_TENSOR
                            ? q8__op_in (m, op, 2) : NULL;
      if (pr[Q8_CONV_GROUPS] != 1)
        die ("grouped convolutions are not mapped");
      size_t oc = (size_t) w->dims[0];
      float *ks = malloc (oc * sizeof *ks);
      for (size_t k = 0; k < oc; k++)
        ks[k] = w->channel_scales ? w->channel_scales[k] : w->scale;
      s->kind = STEP_XNN;
      xcheck (xnn_create_convolution2d_nhwc_qc8 (
                pr[Q8_CONV_PAD_TOP], pr[Q8_CONV_PAD_RIGHT],
                pr[Q8_CONV_PAD_BOTTOM], pr[Q8_CONV_PAD_LEFT], pr[Q8_CONV_KH],
                pr[Q8_CONV_KW], pr[Q8_CONV_STRIDE_H], pr[Q8_CONV_STRIDE_W],
                pr[Q8_CONV_DILATION_H], pr[Q8_CONV_DILATION_W], 1,
                (size_t) xs->c, oc, (size_t) xs->c, oc,
                (int8_t) x->zero_point, x->scale, ks, w->data,
                b ? b->data : NULL, (int8_t) y->zero_point, y->scale,
                (int8_t) pr[Q8_CONV_ACT_MIN], (int8_t) pr[Q8_CONV_ACT_MAX], 0,
                &s->op), "xnn_create_convolution2d_nhwc_qc8");
      free (ks);
      xcheck (xnn_setup_convolution2d_nhwc_qc8 (s->op, 1, (size_t) xs->h,
                                                (size_t) xs->w, in, out,
                                                pool),
              "xnn_setup_convolution2d_nhwc_qc8");
      break;
    }
    case Q8_OP_DEPTH_TO_SPACE:
      if (pr[Q8_D2S_MODE] != Q8_D2S_DCR
          && xs->c != pr[Q8_D2S_BLOCK] * pr[Q8_D2S_BLOCK])
        die ("only DCR depth-to-space (or one output channel) is mapped");
      s->kind = STEP_D2S;
      s->in = in;
      s->out = out;
      s->d2s = (q8_d2s_params) { xs->h, xs->w, xs->c, pr[Q8_D2S_BLOCK],
                                 pr[Q8_D2S_MODE] };
      break;
    case Q8_OP_RESIZE:
      if (pr[Q8_RESIZE_MODE] != Q8_RESIZE_BILINEAR
          || pr[Q8_RESIZE_COORD] != Q8_RESIZE_HALF_PIXEL)
        die ("only half-pixel bilinear resize is mapped");
      s->kind = STEP_XNN;
      xcheck (xnn_create_resize_bilinear2d_nhwc_s8 ((size_t) xs->c,
                                                    (size_t) xs->c,
                                                    (size_t) xs->c, 0,
                                                    &s->op),
              "xnn_create_resize_bilinear2d_nhwc_s8");
      xcheck (xnn_setup_resize_bilinear2d_nhwc_s8 (
                s->op, 1, (size_t) xs->h, (size_t) xs->w, (size_t) ys->h,
                (size_t) ys->w, in, out, pool),
              "xnn_setup_resize_bilinear2d_nhwc_s8");
      break;
    case Q8_OP_ADD: {
      const q8__tensor *x2 = q8__op_in (m, op, 1);
      s->kind = STEP_XNN;
      xcheck (xnn_create_add_nd_qs8 ((int8_t) x->zero_point, x->scale,
                                     (int8_t) x2->zero_point, x2->scale,
                                     (int8_t) y->zero_point, y->scale,
                                     (int8_t) pr[Q8_ADD_ACT_MIN],
                                     (int8_t) pr[Q8_ADD_ACT_MAX], 0, &s->op),
              "xnn_create_add_nd_qs8");
      size_t shape[4] = { 1, (size_t) xs->h, (size_t) xs->w, (size_t) xs->c };
      xcheck (xnn_setup_add_nd_qs8 (s->op, 4, shape, 4, shape, in,
                                    bufs[op->inputs[1]], out, pool),
              "xnn_setup_add_nd_qs8");
      break;
    }
    default:
      die ("the model has an op this benchmark does not map");
    }
  }
}

/* Runs one frame; adds each step's time to ms[] when ms is not NULL. */
static void
xnet_run (const xnet *net, pthreadpool_t pool, double *ms)
{
  for (int i = 0; i < net->n; i++) {
    const step *s = &net->steps[i];
    double t0 = ms != NULL ? now_ms () : 0;
    switch (s->kind) {
    case STEP_XNN:
      xcheck (xnn_run_operator (s->op, pool), "xnn_run_operator");
      break;
    case STEP_LUT:
      for (size_t k = 0; k < s->n; k++)
        s->out[k] = s->lut[(uint8_t) s->in[k]];
      break;
    case STEP_D2S: {
      const q8_d2s_params *p = &s->d2s;
      const size_t run = (size_t) p->in_c / (size_t) p->block;
      for (int32_t oy = 0; oy < p->in_h * p->block; oy++) {
        const int8_t *src = s->in + (size_t) (oy / p->block) * p->in_w
                                    * p->in_c + (size_t) (oy % p->block) * run;
        int8_t *dst = s->out + (size_t) oy * p->in_w * run;
        for (int32_t x = 0; x < p->in_w; x++)
          memcpy (dst + (size_t) x * run, src + (size_t) x * p->in_c, run);
      }
      break;
    }
    }
    if (ms != NULL)
      ms[i] += now_ms () - t0;
  }
}

int
main (int argc, char **argv)
{
  const char *path = NULL;
  int w = 640, h = 360, threads = 1, runs = 11;
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "-s") == 0 && i + 1 < argc)
      sscanf (argv[++i], "%dx%d", &w, &h);
    else if (strcmp (argv[i], "-t") == 0 && i + 1 < argc)
      threads = atoi (argv[++i]);
    else if (strcmp (argv[i], "-r") == 0 && i + 1 < argc)
      runs = atoi (argv[++i]);
    else
      path = argv[i];
  }
  if (path == NULL || runs < 1 || threads < 1)
    die ("usage: bench_xnnpack MODEL.q8 [-s WxH] [-t THREADS] [-r RUNS]");

  char err[256];
  q8_model *m;
  q8_plan *pl;
  if (q8_model_load_file (path, &m, err, sizeof err) < 0
      || q8_plan_create (m, w, h, threads, &pl, err, sizeof err) < 0)
    die (err);
  if (m->ops[0].type != Q8_OP_QUANTIZE)
    die ("the model must start with a quantize op");

  xcheck (xnn_initialize (NULL), "xnn_initialize");
  pthreadpool_t pool = threads > 1 ? pthreadpool_create ((size_t) threads)
                                   : NULL;
  int8_t **bufs = calloc (m->n_tensors, sizeof *bufs);
  for (uint32_t t = 0; t < m->n_tensors; t++) {
    if (m->tensors[t].is_const)
      continue;
    const q8__shape *s = &pl->tensors[t].shape;
    size_t n = (size_t) s->h * s->w * s->c + XNN_EXTRA_BYTES;
    bufs[t] = malloc (n);
    memset (bufs[t], 0, n);
  }
  xnet net;
  xnet_build (&net, m, pl, bufs, pool);

  /* One frame of gradients for both. */
  uint8_t *frame = malloc ((size_t) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      frame[(size_t) y * w + x] = (uint8_t) ((x * 3 + y * 5) ^ (x * y >> 6));
  memcpy (bufs[m->ops[0].inputs[0]], frame, (size_t) w * h);
  if (q8_plan_set_input_u8 (pl, 0, frame, (size_t) w * h) < 0)
    die ("q8_plan_set_input_u8 failed");

  double *tq = malloc ((size_t) runs * sizeof *tq);
  double *tx = malloc ((size_t) runs * sizeof *tx);
  /* After a job pthreadpool's workers spin (up to a million pause
   * instructions, tens of milliseconds) before they sleep, and a spinning
   * worker takes a core from whatever runs next: each frame starts after a
   * pause that lets the other library's threads go to sleep. */
  const struct timespec settle = { 0, 50 * 1000 * 1000 };
  for (int r = -1; r < runs; r++) { /* one warm-up frame each */
    nanosleep (&settle, NULL);
    double t0 = now_ms ();
    if (q8_run (pl) < 0)
      die ("q8_run failed");
    double t1 = now_ms ();
    nanosleep (&settle, NULL);
    double t2 = now_ms ();
    xnet_run (&net, pool, NULL);
    double t3 = now_ms ();
    if (r >= 0) {
      tq[r] = t1 - t0;
      tx[r] = t3 - t2;
    }
  }
  qsort (tq, (size_t) runs, sizeof *tq, cmp_double);
  qsort (tx, (size_t) runs, sizeof *tx, cmp_double);
  double mq = tq[runs / 2], mx = tx[runs / 2];
  printf ("%s  %dx%d  threads %d  runs %d (alternating)\n", path, w, h,
          threads, runs);
  printf ("  q8 (%s)   median %8.3f ms/frame  (min %.3f)\n",
          q8_isa_name (q8_isa_active ()), mq, tq[0]);
  printf ("  XNNPACK     median %8.3f ms/frame  (min %.3f)\n", mx, tx[0]);
  printf ("  q8 / XNNPACK = %.2f  (XNNPACK takes %.2fx q8's time)\n", mq / mx,
          mx / mq);

  /* Where XNNPACK's time goes: one more frame, step by step. */
  double step_ms[MAX_STEPS] = { 0 };
  xnet_run (&net, pool, step_ms);
  printf ("  XNNPACK per op (one frame):");
  for (int i = 0; i < net.n; i++)
    printf (" %s %.2f", q8_model_op_type (m, (size_t) i), step_ms[i]);
  printf (" ms\n");

  for (int i = 0; i < net.n; i++)
    if (net.steps[i].kind == STEP_XNN)
      xnn_delete_operator (net.steps[i].op);
  for (uint32_t t = 0; t < m->n_tensors; t++)
    free (bufs[t]);
  free (bufs);
  free (frame);
  free (tq);
  free (tx);
  if (pool != NULL)
    pthreadpool_destroy (pool);
  xnn_deinitialize ();
  q8_plan_free (pl);
  q8_model_free (m);
  return 0;
}
