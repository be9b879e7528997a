/* bench_conv2d.c - convolution microbenchmark: every kernel path on the
 * ESPCN layers (or shapes given on the command line).
 *
 *   bench_conv2d [-i ISA] [-t THREADS] [-r REPS] [-s HxW] [SHAPE...]
 *
 * SHAPE is "IC-OC-K" (stride 1, "same" padding), e.g. 64-32-3, or
 * "dwC-K" for a depthwise layer of C channels (groups = C), e.g. dw64-3.
 * For each
 * ISA this machine has (or only -i ISA), shape and thread count it prints
 * the median time of REPS runs, GMAC/s and the percentage of the path's
 * int8 peak, measured first by q8_isa_measure_peak (): on x86 a tight loop
 * of the instruction the path is built on (512-bit vpdpbusd, 64
 * multiply-accumulates each, for avx512vnni; 256-bit vpdpbusd, 32, for
 * avxvnni; 256-bit vpmaddwd, 16, for avx2); elsewhere no peak is printed.
 * Inputs rotate through buffers larger than the L2 cache, as successive
 * video frames would.  Timings, not tests: nothing here asserts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "q8_internal.h"

typedef struct {
  int32_t ic, oc, k;
  int32_t groups;   /* 1, or ic for depthwise */
} shape;

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}


typedef struct {
  const q8_conv_ukernel *uk;
  const q8_conv_params *p;
  const void *packed;
  const int8_t *in;
  int8_t *out;
} job;

static void
run_rows (void *ctx, int32_t y0, int32_t y1)
{
  job *j = ctx;
  j->uk->run (j->p, j->packed, j->in, j->out, y0, y1);
}

/* CPU time of the calling thread: on a shared machine it leaves out the
 * time other processes hold the core, which wall time includes. */
static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec * 1e-9;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
bench_one (q8_isa isa, const shape *s, int32_t h, int32_t w, int threads,
           int reps, double peak)
{
  const q8_kernel_table *t = q8__kernels_for (isa);
  q8_conv_params p;
  memset (&p, 0, sizeof p);
  p.in_h = p.out_h = h;
  p.in_w = p.out_w = w;
  p.in_c = s->ic;
  p.out_c = s->oc;
  p.kh = p.kw = s->k;
  p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
  p.pad_top = p.pad_left = s->k / 2;
  p.groups = s->groups;
  p.in_zp = 3;
  p.out_zp = -5;
  p.act_min = -128;
  p.act_max = 127;
  int32_t *mult = malloc ((size_t) s->oc * sizeof *mult);
  int32_t *shift = malloc ((size_t) s->oc * sizeof *shift);
  int32_t *bias = malloc ((size_t) s->oc * sizeof *bias);
  size_t wn = (size_t) s->oc * s->k * s->k * (s->ic / s->groups);
  int8_t *wt = malloc (wn);
  int8_t lut[256];
  for (int i = 0; i < 256; i++)
    lut[i] = (int8_t) (i / 2);
  for (int32_t i = 0; i < s->oc; i++) {
    mult[i] = 1500000000 + i;
    shift[i] = 40;
    bias[i] = i * 100;
  }
  for (size_t i = 0; i < wn; i++)
    wt[i] = (int8_t) ((i * 37) % 255 - 127);
  p.mult = mult;
  p.shift = shift;

  const q8_conv_ukernel *uk = q8__conv_select (t, &p);
  void *packed = q8__alloc (uk->packed_size (&p));
  uk->pack (&p, wt, bias, packed);
  p.lut = lut; /* ESPCN fuses tanh into its first two layers */

  /* Enough input frames to exceed a 2 MiB L2. */
  size_t in_n = (size_t) h * w * s->ic, out_n = (size_t) h * w * s->oc;
  int nbuf = (int) (4 * 1024 * 1024 / (in_n + out_n)) + 1;
  if (nbuf > 8)
    nbuf = 8;
  int8_t *ins = malloc ((in_n + Q8_EXTRA_BYTES) * (size_t) nbuf);
  int8_t *outs = malloc (out_n * (size_t) nbuf);
  for (size_t i = 0; i < (in_n + Q8_EXTRA_BYTES) * (size_t) nbuf; i++)
    ins[i] = (int8_t) (i * 2654435761u >> 24);

  q8__pool *pool = threads > 1 ? q8__pool_create (threads) : NULL;
  double *ms = malloc ((size_t) reps * sizeof *ms);
  double *cpu = malloc ((size_t) reps * sizeof *cpu);
  for (int r = -2; r < reps; r++) { /* two warm-up runs */
    int b = (r + 2) % nbuf;
    job j = { uk, &p, packed, ins + (size_t) b * (in_n + Q8_EXTRA_BYTES),
              outs + (size_t) b * out_n };
    double t0 = now_s (), c0 = cpu_s ();
    if (pool != NULL) {
      int32_t chunk = h / (4 * threads);
      q8__pool_run (pool, run_rows, &j, h, chunk < 1 ? 1 : chunk);
    } else {
      run_rows (&j, 0, h);
    }
    if (r >= 0) {
      ms[r] = (now_s () - t0) * 1e3;
      cpu[r] = (cpu_s () - c0) * 1e3;
    }
  }
  qsort (ms, (size_t) reps, sizeof *ms, cmp_double);
  qsort (cpu, (size_t) reps, sizeof *cpu, cmp_double);
  double med = ms[reps / 2];
  double gmac = (double) h * w * s->oc * s->k * s->k * (s->ic / s->groups)
                / (med * 1e6);
  printf ("%-11s %3d->%-3d %dx%d%s  %4dx%-4d threads %d  %8.3f ms  "
          "%7.1f GMAC/s", q8_isa_name (isa), s->ic, s->oc, s->k, s->k,
          s->groups > 1 ? " dw" : "", w, h, threads, med, gmac);
  if (peak > 0)
    printf ("  %5.1f %% of peak", 100.0 * gmac / (peak * threads));
  printf ("  (%s)", uk->name);
  if (pool == NULL)
    printf ("  cpu %.3f ms min %.3f", cpu[reps / 2], cpu[0]);
  printf ("\n");

  if (pool != NULL)
    q8__pool_free (pool);
  free (ms);
  free (cpu);
  free (ins);
  free (outs);
  q8__free (packed);
  free (wt);
  free (bias);
  free (mult);
  free (shift);
}

int
main (int argc, char **argv)
{
  int only = -1, threads = 1, reps = 15;
  int32_t h = 360, w = 640;
  shape shapes[32];
  int n_shapes = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp (argv[i], "-i") == 0 && i + 1 < argc) {
      const char *name = argv[++i];
      for (int k = 0; k < Q8_ISA_COUNT; k++)
        if (strcmp (name, q8_isa_name ((q8_isa) k)) == 0)
          only = k;
      if (only < 0) {
        fprintf (stderr, "unknown ISA %s\n", name);
        return 2;
      }
    } else if (strcmp (argv[i], "-t") == 0 && i + 1 < argc) {
      threads = atoi (argv[++i]);
    } else if (strcmp (argv[i], "-r") == 0 && i + 1 < argc) {
      reps = atoi (argv[++i]);
    } else if (strcmp (argv[i], "-s") == 0 && i + 1 < argc) {
      if (sscanf (argv[++i], "%dx%d", &h, &w) != 2)
        return 2;
    } else if (n_shapes < 32
               && sscanf (argv[i], "%d-%d-%d", &shapes[n_shapes].ic,
                          &shapes[n_shapes].oc, &shapes[n_shapes].k) == 3
               && shapes[n_shapes].ic >= 1 && shapes[n_shapes].oc >= 1
               && shapes[n_shapes].k >= 1) {
      shapes[n_shapes++].groups = 1;
    } else if (n_shapes < 32
               && sscanf (argv[i], "dw%d-%d", &shapes[n_shapes].ic,
                          &shapes[n_shapes].k) == 2
               && shapes[n_shapes].ic >= 1 && shapes[n_shapes].k >= 1) {
      shapes[n_shapes].oc = shapes[n_shapes].groups = shapes[n_shapes].ic;
      n_shapes++;
    } else {
      fprintf (stderr,
               "usage: %s [-i ISA] [-t THREADS] [-r REPS] [-s HxW] "
               "[IC-OC-K | dwC-K ...]\n", argv[0]);
      return 2;
    }
  }
  if (threads < 1 || reps < 1 || h < 1 || w < 1)
    return 2;
  if (n_shapes == 0) {
    /* ESPCN x3: 5x5 1->64, 3x3 64->32, 3x3 32->9. */
    static const shape espcn[] = { { 1, 64, 5, 1 }, { 64, 32, 3, 1 },
                                   { 32, 9, 3, 1 } };
    memcpy (shapes, espcn, sizeof espcn);
    n_shapes = 3;
  }

  for (int isa = 0; isa < Q8_ISA_COUNT; isa++) {
    if ((only >= 0 && isa != only) || !q8_isa_supported ((q8_isa) isa))
      continue;
    const char *how;
    double peak = q8_isa_measure_peak ((q8_isa) isa, &how);
    if (peak > 0)
      printf ("peak %s: %.1f GMAC/s per core (%s)\n",
              q8_isa_name ((q8_isa) isa), peak, how);
    for (int s = 0; s < n_shapes; s++)
      bench_one ((q8_isa) isa, &shapes[s], h, w, threads, reps, peak);
  }
  return 0;
}
