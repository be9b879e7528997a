/* cmd_bench.c - `q8 bench MODEL.q8 --size WxH`: whole-network timing.
 *
 * Plans the model at one size, fills its inputs with deterministic
 * pseudo-random pixels, runs it --warmup times untimed and --runs times
 * timed (CLOCK_MONOTONIC around each q8_run), and reports the median, min
 * and 90th percentile per frame, GMAC/s at the median, the share of the
 * int8 peak (measured by q8_isa_measure_peak on x86, else assumed: see
 * peak_macs_per_cycle; stated in the output) and a per-op profile from
 * q8_plan_op_ns.  --json prints the same as one JSON object.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char bench_help[] =
    "usage: q8 bench MODEL.q8 --size WxH [--threads N] [--isa NAME]\n"
    "                [--runs N] [--warmup N] [--json]\n"
    "\n"
    "Times the model on deterministic pseudo-random input frames: median,\n"
    "min and 90th percentile milliseconds per frame over --runs runs after\n"
    "--warmup untimed ones, GMAC/s at the median, the percentage of the\n"
    "active ISA's int8 peak (measured on x86, assumed elsewhere; printed),\n"
    "and a per-op profile (time, share, GMAC/s).  A taught feature anomaly\n"
    "model (q8 teach) also has its scoring timed, apart from the network.\n"
    "\n"
    "  --size WxH    input size (required)\n"
    "  --threads N   worker threads (0 = one per CPU; default 1)\n"
    "  --isa NAME    use kernels up to this ISA (scalar, avx2, avxvnni, ...)\n"
    "  --runs N      timed runs (default 5)\n"
    "  --warmup N    untimed runs first (default 1)\n"
    "  --json        print one JSON object instead of text\n";

/* ---- peak ------------------------------------------------------------- */

/* The assumed int8 multiply-accumulates per cycle and core of each kernel
 * path.  These are round numbers for a typical core, not measurements:
 * scalar code is taken as one MAC per cycle; SIMD paths as two vector
 * multiply-accumulate instructions issued per cycle (NEON SMLAL on 8
 * lanes, SDOT 16 MACs, SMMLA 32 MACs, AVX2 VPMADDUBSW 32 MACs, AVX-VNNI
 * VPDPBUSD ymm 32 MACs, AVX-512 VPDPBUSD 64 MACs).  Cores with fewer or
 * narrower pipes reach less; the percentage of peak is a guide, not a
 * verdict. */
static int
peak_macs_per_cycle (q8_isa isa, const char **what)
{
  switch (isa) {
    case Q8_ISA_SCALAR:
      *what = "1 MAC/cycle/core";
      return 1;
    case Q8_ISA_NEON:
      *what = "2 x 8-lane SMLAL = 16 MAC/cycle/core";
      return 16;
    case Q8_ISA_NEONDOT:
      *what = "2 x SDOT = 32 MAC/cycle/core";
      return 32;
    case Q8_ISA_NEONI8MM:
      *what = "2 x SMMLA = 64 MAC/cycle/core";
      return 64;
    case Q8_ISA_AVX2:
      *what = "2 x VPMADDUBSW ymm = 64 MAC/cycle/core";
      return 64;
    case Q8_ISA_AVXVNNI:
      *what = "2 x VPDPBUSD ymm = 64 MAC/cycle/core";
      return 64;
    case Q8_ISA_AVX512VNNI:
      *what = "2 x VPDPBUSD zmm = 128 MAC/cycle/core";
      return 128;
    default:
      *what = "unknown MAC/cycle";
      return 0;
  }
}

/* The nominal clock in MHz: the highest "cpu MHz" of /proc/cpuinfo (x86,
 * where it is the current or, in virtual machines, the nominal clock),
 * else cpufreq's maximum (ARM kernels omit "cpu MHz"); 0 if unknown. */
static double
cpu_mhz (void)
{
  double best = 0;
  FILE *f = fopen ("/proc/cpuinfo", "r");
  if (f != NULL) {
    char line[256];
    while (fgets (line, sizeof line, f) != NULL) {
      double v;
      if (strncmp (line, "cpu MHz", 7) == 0
          && sscanf (strchr (line, ':') != NULL ? strchr (line, ':') + 1 : "",
                     "%lf", &v) == 1
          && v > best)
        best = v;
    }
    fclose (f);
  }
  if (best > 0)
    return best;
  f = fopen ("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
  if (f != NULL) {
    double khz;
    if (fscanf (f, "%lf", &khz) == 1 && khz > 0)
      best = khz / 1000.0;
    fclose (f);
  }
  return best;
}

typedef struct {
  double gmacs;      /* 0 if unknown */
  int measured;      /* 1: a loop measured it; 0: the assumption below */
  double core_gmacs; /* measured: one core's */
  double mhz;        /* assumed: clock and MACs per cycle */
  int macs_per_cycle;
  int cores;
  const char *what;
} peak_info;

/* The measured peak where libq8 has a loop for the path (x86 SIMD: the
 * nominal clock of a virtual machine can be far from the real one), else
 * the assumption of peak_macs_per_cycle () at the nominal clock. */
static peak_info
bench_peak (q8_isa isa, int threads)
{
  peak_info pk = { 0 };
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);
  pk.cores = cpus > 0 && cpus < threads ? (int) cpus : threads;
  pk.macs_per_cycle = peak_macs_per_cycle (isa, &pk.what);
  pk.mhz = cpu_mhz ();
  const char *loop;
  pk.core_gmacs = q8_isa_measure_peak (isa, &loop);
  if (pk.core_gmacs > 0) {
    pk.measured = 1;
    pk.what = loop;
    pk.gmacs = pk.core_gmacs * pk.cores;
  } else {
    pk.gmacs = pk.mhz * 1e-3 * pk.macs_per_cycle * pk.cores;
  }
  return pk;
}

/* ---- timing ------------------------------------------------------------- */

static double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec * 1e-6;
}

static int
by_value (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double median, min, p90, mean;
} stats;

/* sorted[0..n) ascending; p90 is the nearest-rank 90th percentile. */
static stats
compute_stats (const double *sorted, int n)
{
  stats s;
  s.min = sorted[0];
  s.median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  int rank = (int) ceil (0.9 * n);
  s.p90 = sorted[rank > 0 ? rank - 1 : 0];
  s.mean = 0;
  for (int i = 0; i < n; i++)
    s.mean += sorted[i] / n;
  return s;
}

/* Deterministic pseudo-random pixels (xorshift64*) into every input. */
static int
fill_inputs (const q8_model *m, q8_plan *p)
{
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < q8_model_num_inputs (m); i++) {
    q8_tensor_info t;
    if (q8_plan_input_info (p, i, &t) != Q8_OK)
      return -1;
    size_t n = (size_t) t.h * t.w * t.c;
    uint8_t *px = malloc (n > 0 ? n : 1);
    if (px == NULL)
      return -1;
    for (size_t k = 0; k < n; k++) {
      s ^= s >> 12;
      s ^= s << 25;
      s ^= s >> 27;
      px[k] = (uint8_t) ((s * 0x2545F4914F6CDD1Dull) >> 56);
    }
    q8_status st = q8_plan_set_input_u8 (p, i, px, (size_t) t.w * t.c);
    free (px);
    if (st != Q8_OK)
      return -1;
  }
  return 0;
}

/* ---- output -------------------------------------------------------------- */

static void
json_string (const char *s)
{
  putchar ('"');
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\')
      printf ("\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      printf ("\\u%04x", *p);
    else
      putchar (*p);
  }
  putchar ('"');
}

typedef struct {
  const char *path;
  const q8_model *m;
  const q8_plan *p;
  int w, h, threads, runs, warmup;
  q8_isa isa;
  stats ms;
  uint64_t macs;
  peak_info peak;
  int scored;       /* a taught anomaly model: score_ms holds */
  stats score_ms;
} bench_result;

static double
gmacs_at (uint64_t macs, double ms)
{
  return ms > 0 ? (double) macs / (ms * 1e6) : 0.0;
}

static void
print_text (const bench_result *r)
{
  const char *name = NULL;
  if (q8_model_meta_string (r->m, "name", &name) != Q8_OK)
    name = NULL;
  printf ("model     %s%s%s%s\n", r->path, name != NULL ? " (" : "",
          name != NULL ? name : "", name != NULL ? ")" : "");
  printf ("size      %dx%d", r->w, r->h);
  q8_tensor_info o;
  if (q8_plan_output_info (r->p, 0, &o) == Q8_OK)
    printf (" -> %dx%dx%d", o.w, o.h, o.c);
  printf ("\nkernels   %s, %d thread%s\n", q8_isa_name (r->isa), r->threads,
          r->threads == 1 ? "" : "s");
  printf ("runs      %d timed after %d warm-up\n", r->runs, r->warmup);
  printf ("time      median %.3f ms, min %.3f ms, p90 %.3f ms per frame "
          "(%.1f frames/s)\n", r->ms.median, r->ms.min, r->ms.p90,
          r->ms.median > 0 ? 1e3 / r->ms.median : 0.0);
  double g = gmacs_at (r->macs, r->ms.median);
  printf ("compute   %.3f GMAC per frame, %.2f GMAC/s", (double) r->macs * 1e-9,
          g);
  if (r->peak.measured)
    printf (" = %.1f%% of the measured peak %.1f GMAC/s\n"
            "          (peak: %s, %.1f GMAC/s per core x %d core%s)\n",
            100.0 * g / r->peak.gmacs, r->peak.gmacs, r->peak.what,
            r->peak.core_gmacs, r->peak.cores, r->peak.cores == 1 ? "" : "s");
  else if (r->peak.gmacs > 0)
    printf (" = %.1f%% of the assumed peak %.1f GMAC/s\n"
            "          (peak: %s x %.0f MHz x %d core%s)\n",
            100.0 * g / r->peak.gmacs, r->peak.gmacs, r->peak.what,
            r->peak.mhz, r->peak.cores, r->peak.cores == 1 ? "" : "s");
  else
    printf (" (peak unknown: %s)\n",
            r->peak.mhz > 0 ? "no assumption for this ISA"
                            : "no CPU clock in /proc/cpuinfo");
  if (r->scored) {
    const char *method = "?";
    q8_model_meta_string (r->m, "anomaly.method", &method);
    printf ("scoring   median %.3f ms, min %.3f ms, p90 %.3f ms per frame "
            "(%s, after the network)\n", r->score_ms.median, r->score_ms.min,
            r->score_ms.p90, method);
  }
  printf ("arena     %.2f MiB\n",
          (double) q8_plan_arena_size (r->p) / (1024.0 * 1024.0));

  size_t n_ops = q8_model_num_ops (r->m);
  double total_ms = 0;
  for (size_t i = 0; i < n_ops; i++)
    total_ms += (double) q8_plan_op_ns (r->p, i) * 1e-6 / r->runs;
  printf ("per op (mean of the timed runs)\n"
          "   #  type                 ms   share    GMAC/s\n");
  for (size_t i = 0; i < n_ops; i++) {
    const char *type = q8_model_op_type (r->m, i);
    double ms = (double) q8_plan_op_ns (r->p, i) * 1e-6 / r->runs;
    uint64_t macs = q8_plan_op_macs (r->p, i);
    int64_t host = q8_plan_op_host (r->p, i);
    printf ("  %2zu  %-15s ", i, type != NULL ? type : "?");
    if (host != (int64_t) i) {
      printf ("        -       -         -  (runs inside op %lld)\n",
              (long long) host);
      continue;
    }
    printf ("%9.3f  %5.1f%%", ms, total_ms > 0 ? 100.0 * ms / total_ms : 0.0);
    if (macs > 0)
      printf ("  %8.2f", gmacs_at (macs, ms));
    printf ("\n");
  }
}

static void
print_json (const bench_result *r)
{
  const char *name = NULL;
  if (q8_model_meta_string (r->m, "name", &name) != Q8_OK)
    name = NULL;
  printf ("{\n  \"model\": ");
  json_string (r->path);
  printf (",\n  \"name\": ");
  if (name != NULL)
    json_string (name);
  else
    printf ("null");
  printf (",\n  \"width\": %d,\n  \"height\": %d", r->w, r->h);
  printf (",\n  \"isa\": ");
  json_string (q8_isa_name (r->isa));
  printf (",\n  \"threads\": %d,\n  \"runs\": %d,\n  \"warmup\": %d",
          r->threads, r->runs, r->warmup);
  printf (",\n  \"ms\": {\"median\": %.6f, \"min\": %.6f, \"p90\": %.6f, "
          "\"mean\": %.6f}", r->ms.median, r->ms.min, r->ms.p90, r->ms.mean);
  double g = gmacs_at (r->macs, r->ms.median);
  printf (",\n  \"macs\": %llu,\n  \"gmacs_per_s\": %.6f",
          (unsigned long long) r->macs, g);
  printf (",\n  \"peak\": {\"gmacs_per_s\": ");
  if (r->peak.gmacs > 0)
    printf ("%.6f", r->peak.gmacs);
  else
    printf ("null");
  printf (", \"measured\": %s, \"macs_per_cycle_per_core\": %d, "
          "\"mhz\": %.3f, \"cores\": %d, \"assumption\": ",
          r->peak.measured ? "true" : "false", r->peak.macs_per_cycle,
          r->peak.mhz, r->peak.cores);
  json_string (r->peak.what);
  printf ("},\n  \"peak_percent\": ");
  if (r->peak.gmacs > 0)
    printf ("%.6f", 100.0 * g / r->peak.gmacs);
  else
    printf ("null");
  if (r->scored)
    printf (",\n  \"score_ms\": {\"median\": %.6f, \"min\": %.6f, "
            "\"p90\": %.6f, \"mean\": %.6f}", r->score_ms.median,
            r->score_ms.min, r->score_ms.p90, r->score_ms.mean);
  else
    printf (",\n  \"score_ms\": null");
  printf (",\n  \"arena_bytes\": %zu", q8_plan_arena_size (r->p));
  printf (",\n  \"outputs\": [");
  for (size_t i = 0; i < q8_model_num_outputs (r->m); i++) {
    q8_tensor_info o;
    if (q8_plan_output_info (r->p, i, &o) != Q8_OK)
      continue;
    printf ("%s{\"width\": %d, \"height\": %d, \"channels\": %d}",
            i > 0 ? ", " : "", o.w, o.h, o.c);
  }
  printf ("],\n  \"ops\": [");
  size_t n_ops = q8_model_num_ops (r->m);
  double total_ms = 0;
  for (size_t i = 0; i < n_ops; i++)
    total_ms += (double) q8_plan_op_ns (r->p, i) * 1e-6 / r->runs;
  for (size_t i = 0; i < n_ops; i++) {
    const char *type = q8_model_op_type (r->m, i);
    uint64_t ns = q8_plan_op_ns (r->p, i), macs = q8_plan_op_macs (r->p, i);
    int64_t host = q8_plan_op_host (r->p, i);
    double ms = (double) ns * 1e-6 / r->runs;
    printf ("%s\n    {\"index\": %zu, \"type\": ", i > 0 ? "," : "", i);
    json_string (type != NULL ? type : "?");
    printf (", \"ms\": %.6f, \"share_percent\": %.3f, \"macs\": %llu, "
            "\"gmacs_per_s\": %.6f, \"fused\": %s, \"runs_in\": %lld}",
            ms, total_ms > 0 ? 100.0 * ms / total_ms : 0.0,
            (unsigned long long) macs, ns > 0 ? gmacs_at (macs, ms) : 0.0,
            host != (int64_t) i ? "true" : "false", (long long) host);
  }
  printf ("\n  ]\n}\n");
}

static int
bench_main (int argc, char **argv)
{
  const char *size = NULL, *threads_s = NULL, *isa = NULL, *runs_s = NULL,
             *warmup_s = NULL;
  int json = 0;
  const cli_option opts[] = {
    { "size", &size, NULL },       { "threads", &threads_s, NULL },
    { "isa", &isa, NULL },         { "runs", &runs_s, NULL },
    { "warmup", &warmup_s, NULL }, { "json", NULL, &json },
    { NULL, NULL, NULL },
  };
  char *pos[1];
  int n_pos;
  int rc = cli_parse_args (&cli_cmd_bench, argc, argv, opts, pos, 1, 1,
                           &n_pos);
  if (rc != CLI_CONTINUE)
    return rc;
  int w, h;
  long threads = 1, runs = 5, warmup = 1;
  if (size == NULL) {
    cli_error ("bench: --size WxH is required");
    return CLI_EXIT_USAGE;
  }
  if (cli_parse_size ("--size", size, &w, &h) < 0
      || (threads_s != NULL
          && cli_parse_int ("--threads", threads_s, 0, 256, &threads) < 0)
      || (runs_s != NULL
          && cli_parse_int ("--runs", runs_s, 1, 1000000, &runs) < 0)
      || (warmup_s != NULL
          && cli_parse_int ("--warmup", warmup_s, 0, 1000000, &warmup) < 0)
      || cli_select_isa (isa) < 0)
    return CLI_EXIT_USAGE;

  const char *path = pos[0];
  q8_model *m = cli_load_model (path);
  if (m == NULL)
    return CLI_EXIT_FAIL;
  rc = CLI_EXIT_FAIL;
  double *times = malloc ((size_t) runs * sizeof *times);
  double *stimes = malloc ((size_t) runs * sizeof *stimes);
  q8_plan *p = cli_plan (m, path, w, h, (int) threads);
  q8_scorer *scorer = NULL;
  if (times == NULL || stimes == NULL || p == NULL)
    goto out;
  if (q8_model_is_feature_anomaly (m)) {
    /* Untaught (no bank or statistics): the network alone. */
    char err[256];
    if (q8_scorer_create (m, p, &scorer, err, sizeof err) != Q8_OK)
      scorer = NULL;
  }
  if (fill_inputs (m, p) < 0) {
    cli_error ("%s: cannot fill the inputs", path);
    goto out;
  }

  double score;
  for (long i = 0; i < warmup; i++) {
    q8_run (p);
    if (scorer != NULL)
      q8_scorer_run (scorer, p, NULL, &score);
  }
  q8_plan_set_profiling (p, 1);
  for (long i = 0; i < runs; i++) {
    double t0 = now_ms ();
    q8_run (p);
    times[i] = now_ms () - t0;
    if (scorer != NULL) {
      t0 = now_ms ();
      q8_scorer_run (scorer, p, NULL, &score);
      stimes[i] = now_ms () - t0;
    }
  }
  qsort (times, (size_t) runs, sizeof *times, by_value);
  if (scorer != NULL)
    qsort (stimes, (size_t) runs, sizeof *stimes, by_value);

  bench_result r;
  r.path = path;
  r.m = m;
  r.p = p;
  r.w = w;
  r.h = h;
  r.threads = q8_plan_threads (p);
  r.runs = (int) runs;
  r.warmup = (int) warmup;
  r.isa = q8_isa_active ();
  r.ms = compute_stats (times, (int) runs);
  r.macs = q8_plan_macs (p);
  r.peak = bench_peak (r.isa, r.threads);
  r.scored = scorer != NULL;
  r.score_ms = (stats) { 0 };
  if (r.scored)
    r.score_ms = compute_stats (stimes, (int) runs);
  if (json)
    print_json (&r);
  else
    print_text (&r);
  rc = CLI_EXIT_OK;
out:
  free (times);
  free (stimes);
  q8_scorer_free (scorer);
  q8_plan_free (p);
  q8_model_free (m);
  return rc;
}

const cli_command cli_cmd_bench = {
  "bench",
  bench_main,
  "time a model at one input size (ms per frame, GMAC/s, per-op profile)",
  bench_help,
};
