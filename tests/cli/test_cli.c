/* test_cli.c - the q8 tool, run as a program on the committed fixture
 * model (tests/fixtures/espcn_tiny_x2.q8).
 *
 * `q8 run` is checked against an independent reference: the float network
 * the fixture was quantized from (tests/fixtures/espcn_tiny.c), computed
 * here in double precision with plain planar loops.  `q8 info` is checked
 * against the public API and against MAC counts worked out from the layer
 * shapes; `q8 bench --json` output is parsed with a small JSON parser.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "espcn_tiny.h"
#include "npy.h"
#include "q8_builtin_models.h"
#include "q8_test.h"

#define Q8_TOOL Q8_BUILDDIR "/cli/q8"
#define FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"

extern char **environ;

/* MACs per input pixel of the fixture: 5x5x1x64 + 3x3x64x32 + 3x3x32x4. */
#define FIXTURE_MACS_PER_PIXEL (25 * 64 + 9 * 64 * 32 + 9 * 32 * 4)

/* ---- running the tool ---------------------------------------------------- */

static char tmpdir[64];

static void
tmp_setup (void)
{
  strcpy (tmpdir, "/tmp/q8-test-cli-XXXXXX");
  ck_assert_ptr_nonnull (mkdtemp (tmpdir));
}

static void
tmp_teardown (void)
{
  DIR *d = opendir (tmpdir);
  if (d != NULL) {
    struct dirent *e;
    char path[512];
    while ((e = readdir (d)) != NULL)
      if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0) {
        snprintf (path, sizeof path, "%s/%s", tmpdir, e->d_name);
        unlink (path);
      }
    closedir (d);
  }
  rmdir (tmpdir);
}

static const char *
tmp_path (const char *name)
{
  static char bufs[8][256];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf (b, sizeof bufs[0], "%s/%s", tmpdir, name);
  return b;
}

typedef struct {
  int status; /* exit code, or -1 if it did not exit normally */
  char *out, *err;
} result;

static char *
slurp (const char *path)
{
  size_t n = 0;
  char *p = q8_test_read_file (path, &n);
  ck_assert_ptr_nonnull (p);
  char *s = malloc (n + 1);
  memcpy (s, p, n);
  s[n] = '\0';
  free (p);
  return s;
}

/* Runs the q8 tool with the NULL-terminated arguments, capturing stdout
 * and stderr. */
static result
run_q8 (const char *arg, ...)
{
  const char *argv[32];
  int n = 0;
  argv[n++] = Q8_TOOL;
  va_list ap;
  va_start (ap, arg);
  for (const char *a = arg; a != NULL && n < 31; a = va_arg (ap, const char *))
    argv[n++] = a;
  va_end (ap);
  argv[n] = NULL;

  const char *out_path = tmp_path (".stdout"), *err_path = tmp_path (".stderr");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 1, out_path,
                                    O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen (&fa, 2, err_path,
                                    O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn (&pid, Q8_TOOL, &fa, NULL, (char *const *) argv,
                        environ);
  posix_spawn_file_actions_destroy (&fa);
  ck_assert_msg (rc == 0, "cannot start %s", Q8_TOOL);
  int ws;
  ck_assert_int_eq (waitpid (pid, &ws, 0), pid);
  result r;
  r.status = WIFEXITED (ws) ? WEXITSTATUS (ws) : -1;
  r.out = slurp (out_path);
  r.err = slurp (err_path);
  return r;
}

static void
result_free (result *r)
{
  free (r->out);
  free (r->err);
}

#define ck_assert_exit(r, code, what)                                       \
  ck_assert_msg ((r).status == (code),                                      \
                 "%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", what, \
                 (r).status, code, (r).out, (r).err)

#define ck_assert_has(text, needle, what)                                  \
  ck_assert_msg (strstr ((text), (needle)) != NULL,                        \
                 "%s: output lacks \"%s\":\n%s", what, needle, text)

/* ---- help and usage ----------------------------------------------------- */

START_TEST (test_help_and_usage)
{
  tmp_setup ();
  result r = run_q8 ("--help", NULL);
  ck_assert_exit (r, 0, "q8 --help");
  ck_assert_has (r.out, "info", "q8 --help");
  ck_assert_has (r.out, "run", "q8 --help");
  ck_assert_has (r.out, "bench", "q8 --help");
  result_free (&r);

  r = run_q8 ("--version", NULL);
  ck_assert_exit (r, 0, "q8 --version");
  ck_assert_has (r.out, "q8 " Q8_VERSION_STRING, "q8 --version");
  result_free (&r);

  static const char *const cmds[] = { "info", "run", "bench" };
  for (int i = 0; i < 3; i++) {
    char want[32];
    snprintf (want, sizeof want, "usage: q8 %s", cmds[i]);
    r = run_q8 ("help", cmds[i], NULL);
    ck_assert_exit (r, 0, "q8 help CMD");
    ck_assert_has (r.out, want, "q8 help CMD");
    result_free (&r);
    r = run_q8 (cmds[i], "--help", NULL);
    ck_assert_exit (r, 0, "q8 CMD --help");
    ck_assert_has (r.out, want, "q8 CMD --help");
    result_free (&r);
  }

  /* Usage errors exit 2 and say what is wrong. */
  static const struct {
    const char *args[4];
    const char *want;
  } bad[] = {
    { { "frobnicate" }, "no command 'frobnicate'" },
    { { "info" }, "missing arguments" },
    { { "info", FIXTURE, "--size", "0x5" }, "--size must be" },
    { { "info", FIXTURE, "--size", "64" }, "--size must be" },
    { { "info", FIXTURE, "--bogus" }, "unknown option '--bogus'" },
    { { "bench", FIXTURE }, "--size WxH is required" },
    { { "run", FIXTURE, "a.npy" }, "missing arguments" },
    { { "run", FIXTURE, "a.npy", "--threads" }, "needs a value" },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = run_q8 (bad[i].args[0], bad[i].args[1], bad[i].args[2],
                bad[i].args[3], NULL);
    ck_assert_exit (r, 2, bad[i].want);
    ck_assert_has (r.err, bad[i].want, bad[i].args[0]);
    result_free (&r);
  }
  r = run_q8 ("bench", FIXTURE, "--size", "8x8", "--runs", "0", NULL);
  ck_assert_exit (r, 2, "--runs 0");
  ck_assert_has (r.err, "--runs must be", "--runs 0");
  result_free (&r);
  r = run_q8 ("bench", FIXTURE, "--size", "8x8", "--isa", "mmx", NULL);
  ck_assert_exit (r, 2, "--isa mmx");
  ck_assert_has (r.err, "ISA 'mmx'", "--isa mmx");
  ck_assert_has (r.err, "scalar", "--isa mmx");
  result_free (&r);
  tmp_teardown ();
}
END_TEST

/* ---- q8 info ------------------------------------------------------------- */

/* "4880793600" -> "4,880,793,600" */
static void
with_commas (char *buf, size_t size, unsigned long long v)
{
  char d[32];
  int n = snprintf (d, sizeof d, "%llu", v);
  size_t k = 0;
  for (int i = 0; i < n && k + 2 < size; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      buf[k++] = ',';
    buf[k++] = d[i];
  }
  buf[k] = '\0';
}

START_TEST (test_info_fixture)
{
  tmp_setup ();
  result r = run_q8 ("info", FIXTURE, NULL);
  ck_assert_exit (r, 0, "q8 info");
  ck_assert_has (r.out, "format    q8 1.", "q8 info");
  ck_assert_has (r.out, "task", "q8 info");
  ck_assert_has (r.out, "string  \"super-resolution\"", "q8 info");
  ck_assert_has (r.out, "sr.scale", "q8 info");
  ck_assert_has (r.out, "int     2", "q8 info");
  ck_assert_has (r.out, "\"y-bt601\"", "q8 info");
  ck_assert_has (r.out, "\"make_fixture\"", "q8 info");
  ck_assert_has (r.out, "'pixels'  u8  1 channel  scale ", "q8 info");
  ck_assert_has (r.out, " (1/255)  zero point 0", "q8 info");
  ck_assert_has (r.out, "ops       8", "q8 info");

  /* Every op is listed with its type and description, as the API gives
   * them. */
  q8_model *m = NULL;
  char err[256];
  ck_assert_int_eq (q8_model_load_file (FIXTURE, &m, err, sizeof err), Q8_OK);
  ck_assert_uint_eq (q8_model_num_ops (m), 8);
  for (size_t i = 0; i < q8_model_num_ops (m); i++) {
    char desc[512], line[700];
    ck_assert_int_eq (q8_model_op_describe (m, i, desc, sizeof desc), Q8_OK);
    snprintf (line, sizeof line, "  %2zu  %-15s %s\n", i,
              q8_model_op_type (m, i), desc);
    ck_assert_has (r.out, line, "q8 info op line");
  }
  q8_model_free (m);

  /* MACs at the default 640x360, from the layer shapes. */
  char macs[64];
  with_commas (macs, sizeof macs, 640ull * 360 * FIXTURE_MACS_PER_PIXEL);
  ck_assert_has (r.out, "at 640x360", "q8 info");
  ck_assert_has (r.out, macs, "q8 info MACs");
  ck_assert_has (r.out, "output 0  1280x720, 1 channel", "q8 info");
  ck_assert_has (r.out, "arena", "q8 info");
  result_free (&r);

  r = run_q8 ("info", "--size", "33x17", FIXTURE, NULL);
  ck_assert_exit (r, 0, "q8 info --size 33x17");
  with_commas (macs, sizeof macs, 33ull * 17 * FIXTURE_MACS_PER_PIXEL);
  ck_assert_has (r.out, macs, "q8 info --size 33x17");
  ck_assert_has (r.out, "output 0  66x34, 1 channel", "q8 info --size");
  result_free (&r);
  tmp_teardown ();
}
END_TEST

/* Every model compiled into the tool loads as builtin:NAME, with the same
 * content as the table's bytes (q8 info reports its task and the load
 * from the bytes agrees on the op count); unknown names fail clearly. */
START_TEST (test_info_builtin)
{
  tmp_setup ();
  result r = run_q8 ("--help", NULL);
  int n = 0;
  for (const q8_builtin_model *b = q8_builtin_models; b->name; b++, n++) {
    char arg[128], line[160];
    snprintf (arg, sizeof arg, "builtin:%s", b->name);
    ck_assert_has (r.out, arg, "q8 --help lists the built-in models");
    result ri = run_q8 ("info", arg, NULL);
    ck_assert_exit (ri, 0, arg);
    snprintf (line, sizeof line, "string  \"%s\"", b->task);
    ck_assert_has (ri.out, line, arg);
    q8_model *m = NULL;
    char err[256];
    ck_assert_int_eq (q8_model_load_buffer (b->data, b->size, &m, err,
                                            sizeof err), Q8_OK);
    snprintf (line, sizeof line, "ops       %zu\n", q8_model_num_ops (m));
    ck_assert_has (ri.out, line, arg);
    q8_model_free (m);
    result_free (&ri);
  }
  ck_assert_int_gt (n, 0);
  result_free (&r);
  r = run_q8 ("info", "builtin:no_such_model", NULL);
  ck_assert_exit (r, 1, "unknown built-in");
  ck_assert_has (r.err, "builtin:no_such_model: no such built-in model",
                 "unknown built-in");
  result_free (&r);
  tmp_teardown ();
}
END_TEST

static void
write_bytes (const char *path, const void *data, size_t n)
{
  FILE *f = fopen (path, "wb");
  ck_assert_ptr_nonnull (f);
  ck_assert_uint_eq (fwrite (data, 1, n, f), n);
  ck_assert_int_eq (fclose (f), 0);
}

/* Runs `q8 info path` and expects exit 1 and "q8: PATH: <want>". */
static void
expect_info_error (const char *path, q8_status want)
{
  char prefix[512];
  snprintf (prefix, sizeof prefix, "q8: %s: %s", path, q8_status_str (want));
  result r = run_q8 ("info", path, NULL);
  ck_assert_exit (r, 1, path);
  ck_assert_msg (strncmp (r.err, prefix, strlen (prefix)) == 0,
                 "stderr '%s' does not start with '%s'", r.err, prefix);
  ck_assert_str_eq (r.out, "");
  result_free (&r);
}

START_TEST (test_info_bad_files)
{
  tmp_setup ();
  expect_info_error (tmp_path ("missing.q8"), Q8_EIO);

  size_t size;
  unsigned char *model = q8_test_read_file (FIXTURE, &size);
  ck_assert_ptr_nonnull (model);
  write_bytes (tmp_path ("half.q8"), model, size / 2);
  expect_info_error (tmp_path ("half.q8"), Q8_ETRUNC);
  write_bytes (tmp_path ("short.q8"), model, size - 1);
  expect_info_error (tmp_path ("short.q8"), Q8_ETRUNC);

  /* One flipped byte in the weights: the checksum catches it. */
  model[size / 2] ^= 0x40;
  write_bytes (tmp_path ("flipped.q8"), model, size);
  expect_info_error (tmp_path ("flipped.q8"), Q8_ECHECKSUM);

  static const char text[] = "this is a text file, not a model; it is long "
                             "enough to hold a header of 128 bytes, so the "
                             "loader looks at its magic and says so....";
  write_bytes (tmp_path ("text.q8"), text, sizeof text);
  expect_info_error (tmp_path ("text.q8"), Q8_EMAGIC);
  free (model);
  tmp_teardown ();
}
END_TEST

/* ---- q8 run against the float network ------------------------------------ */

/* One conv layer in double, planar [c][h][w], zero padding, then tanh if
 * the layer has it.  Returns a malloc'ed [oc][h][w]. */
static double *
ref_conv (const espcn_tiny_layer *l, const double *in, int h, int w)
{
  double *out = malloc ((size_t) l->oc * h * w * sizeof *out);
  ck_assert_ptr_nonnull (out);
  for (int oc = 0; oc < l->oc; oc++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        double acc = l->b[oc];
        for (int ky = 0; ky < l->kh; ky++) {
          int iy = y + ky - l->pad;
          if (iy < 0 || iy >= h)
            continue;
          for (int kx = 0; kx < l->kw; kx++) {
            int ix = x + kx - l->pad;
            if (ix < 0 || ix >= w)
              continue;
            const float *wk = l->w + ((size_t) (oc * l->kh + ky) * l->kw + kx)
                                         * l->ic;
            for (int i = 0; i < l->ic; i++)
              acc += in[((size_t) i * h + iy) * w + ix] * wk[i];
          }
        }
        out[((size_t) oc * h + y) * w + x] = l->tanh ? tanh (acc) : acc;
      }
  return out;
}

/* The fixture's float network on an h x w image in 0..1; returns the
 * 2h x 2w output clamped to 0..1 (the range of the model's u8 output). */
static double *
ref_network (const espcn_tiny *net, const double *img, int h, int w)
{
  double *a = ref_conv (&net->layer[0], img, h, w);
  double *b = ref_conv (&net->layer[1], a, h, w);
  double *c = ref_conv (&net->layer[2], b, h, w);
  free (a);
  free (b);
  /* Pixel shuffle, CRD with one output channel: output (2y + i, 2x + j)
   * comes from channel i * 2 + j at (y, x). */
  int B = ESPCN_TINY_BLOCK;
  double *out = malloc ((size_t) B * B * h * w * sizeof *out);
  ck_assert_ptr_nonnull (out);
  for (int y = 0; y < h * B; y++)
    for (int x = 0; x < w * B; x++) {
      double v = c[((size_t) ((y % B) * B + x % B) * h + y / B) * w + x / B];
      out[(size_t) y * w * B + x] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  free (c);
  return out;
}

/* Test images: uniform noise, or a smooth pattern with mild noise (closer
 * to video). */
static void
make_image (uint8_t *px, int h, int w, int smooth, q8_rng *rng)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int v = smooth ? (int) (128 + 90 * sin (x * 0.37) * cos (y * 0.23))
                           + q8_rng_int (rng, -12, 12)
                     : q8_rng_int (rng, 0, 255);
      px[y * w + x] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void
write_npy (const char *path, npy_dtype dtype, int ndim, const size_t *shape,
           const void *data)
{
  char err[256] = "";
  ck_assert_msg (npy_write_file (path, dtype, ndim, shape, data, err,
                                 sizeof err) == 0, "%s: %s", path, err);
}

/* Reads OUT.npy, which must be float32 (1, 1, h, w). */
static float *
read_output (const char *path, int h, int w)
{
  npy_array a;
  char err[256] = "";
  ck_assert_msg (npy_read_file (path, &a, err, sizeof err) == 0, "%s: %s",
                 path, err);
  ck_assert_int_eq (a.dtype, NPY_F32);
  ck_assert_int_eq (a.ndim, 4);
  ck_assert_msg (a.shape[0] == 1 && a.shape[1] == 1 && a.shape[2] == (size_t) h
                 && a.shape[3] == (size_t) w,
                 "output shape (%zu, %zu, %zu, %zu), expected (1, 1, %d, %d)",
                 a.shape[0], a.shape[1], a.shape[2], a.shape[3], h, w);
  return a.data;
}

static void
expect_run_ok (const char *in, const char *out, const char *threads)
{
  result r = run_q8 ("run", FIXTURE, in, out, "--threads", threads, NULL);
  ck_assert_exit (r, 0, "q8 run");
  result_free (&r);
}

/* The tolerance.  The quantized network differs from the float one by
 * (a) per-channel int8 weights (relative error ~0.4% of max |w|), (b) the
 * hidden pre-activations rounded to steps of 3/127 ~ 0.024 and the tanh
 * outputs to 1/127 (uniform errors of ~0.007 and ~0.002 rms, which the next
 * layer's ~N(0, 1/fan_in) weights pass on at about the same rms), and
 * (c) the output rounded to 1/255.  Propagated to the output (last layer
 * gain 0.4) that is an rms error of about 0.003, i.e. ~1 LSB and a PSNR
 * near 50 dB; we require PSNR > 40 dB and no pixel off by more than 8 LSB
 * (0.031): still far tighter than any real fault (a wrong tap, channel
 * order or shuffle mode gives errors of tens of LSB and PSNR < 25 dB). */
#define MIN_PSNR_DB 40.0
#define MAX_ERR_LSB 8.0

START_TEST (test_run_matches_float_network)
{
  tmp_setup ();
  espcn_tiny net;
  ck_assert_int_eq (espcn_tiny_init (&net), 0);
  q8_rng rng;
  uint64_t seed = q8_test_seed ();
  q8_rng_seed (&rng, seed);
  const int h = 19, w = 27, oh = 2 * h, ow = 2 * w;
  uint8_t px[19 * 27];
  float img[19 * 27];
  double imgd[19 * 27];

  for (int smooth = 0; smooth < 2; smooth++) {
    make_image (px, h, w, smooth, &rng);
    for (int i = 0; i < h * w; i++) {
      img[i] = (float) px[i] / 255.0f;
      imgd[i] = px[i] / 255.0;
    }
    size_t shape4[4] = { 1, 1, (size_t) h, (size_t) w };
    write_npy (tmp_path ("in.npy"), NPY_F32, 4, shape4, img);
    expect_run_ok (tmp_path ("in.npy"), tmp_path ("out1.npy"), "1");
    float *got = read_output (tmp_path ("out1.npy"), oh, ow);

    double *want = ref_network (&net, imgd, h, w);
    double se = 0, max_err = 0;
    int worst = 0;
    for (int i = 0; i < oh * ow; i++) {
      double e = fabs (got[i] - want[i]);
      se += e * e;
      if (e > max_err) {
        max_err = e;
        worst = i;
      }
    }
    double psnr = se > 0 ? 10 * log10 (oh * ow / se) : 99;
    ck_assert_msg (psnr > MIN_PSNR_DB && max_err * 255 <= MAX_ERR_LSB,
                   "%s image %dx%d seed %llu: PSNR %.2f dB (min %.0f), max "
                   "error %.2f LSB (max %.0f) at (%d, %d): q8 %.5f, float "
                   "%.5f", smooth ? "smooth" : "noise", w, h,
                   (unsigned long long) seed, psnr, MIN_PSNR_DB,
                   max_err * 255, MAX_ERR_LSB, worst / ow, worst % ow,
                   got[worst], want[worst]);
    /* Values are exact pixel levels of the u8 output. */
    for (int i = 0; i < oh * ow; i++) {
      double lv = got[i] * 255.0;
      ck_assert_msg (fabs (lv - round (lv)) < 1e-3 && lv >= 0 && lv <= 255,
                     "output %d = %.6f is not a pixel level", i, got[i]);
    }
    free (want);

    /* The same bytes with two threads, from (H, W) and (1, H, W) arrays,
     * and from uint8 pixels. */
    expect_run_ok (tmp_path ("in.npy"), tmp_path ("out2.npy"), "2");
    float *got2 = read_output (tmp_path ("out2.npy"), oh, ow);
    ck_assert_msg (memcmp (got, got2, sizeof (float) * oh * ow) == 0,
                   "--threads 2 differs from --threads 1");
    free (got2);
    write_npy (tmp_path ("in2.npy"), NPY_F32, 2, shape4 + 2, img);
    expect_run_ok (tmp_path ("in2.npy"), tmp_path ("out3.npy"), "1");
    got2 = read_output (tmp_path ("out3.npy"), oh, ow);
    ck_assert_msg (memcmp (got, got2, sizeof (float) * oh * ow) == 0,
                   "(H, W) input differs from (1, 1, H, W)");
    free (got2);
    write_npy (tmp_path ("in3.npy"), NPY_F32, 3, shape4 + 1, img);
    expect_run_ok (tmp_path ("in3.npy"), tmp_path ("out4.npy"), "1");
    got2 = read_output (tmp_path ("out4.npy"), oh, ow);
    ck_assert_msg (memcmp (got, got2, sizeof (float) * oh * ow) == 0,
                   "(1, H, W) input differs from (1, 1, H, W)");
    free (got2);
    write_npy (tmp_path ("in4.npy"), NPY_U8, 4, shape4, px);
    expect_run_ok (tmp_path ("in4.npy"), tmp_path ("out5.npy"), "1");
    got2 = read_output (tmp_path ("out5.npy"), oh, ow);
    ck_assert_msg (memcmp (got, got2, sizeof (float) * oh * ow) == 0,
                   "uint8 pixel input differs from float pixel / 255");
    free (got2);
    free (got);
  }
  espcn_tiny_free (&net);
  tmp_teardown ();
}
END_TEST

START_TEST (test_run_errors)
{
  tmp_setup ();
  float img[3 * 4 * 5] = { 0 };
  size_t s3[3] = { 3, 4, 5 }, s4[4] = { 2, 1, 4, 5 }, s1[1] = { 20 };
  write_npy (tmp_path ("rgb.npy"), NPY_F32, 3, s3, img);
  write_npy (tmp_path ("batch.npy"), NPY_F32, 4, s4, img);
  write_npy (tmp_path ("flat.npy"), NPY_F32, 1, s1, img);
  /* A float64 array: a valid .npy file that q8 does not take. */
  static const char f8_dict[] =
      "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
  char f8[128 + 8];
  memset (f8, ' ', 128);
  memcpy (f8, "\x93NUMPY\x01\x00\x76\x00", 10);
  memcpy (f8 + 10, f8_dict, sizeof f8_dict - 1);
  f8[127] = '\n';
  memset (f8 + 128, 0, 8);
  write_bytes (tmp_path ("f8.npy"), f8, sizeof f8);

  static const struct {
    const char *in, *want;
  } cases[] = {
    { "rgb.npy", "has 3 channels, but the model input 'pixels' takes 1" },
    { "batch.npy", "batch other than 1" },
    { "flat.npy", "is not (1, C, H, W), (C, H, W) or (H, W)" },
    { "f8.npy", "dtype '<f8' not supported" },
    { "missing.npy", "cannot open" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    result r = run_q8 ("run", FIXTURE, tmp_path (cases[i].in),
                       tmp_path ("out.npy"), NULL);
    ck_assert_exit (r, 1, cases[i].in);
    ck_assert_has (r.err, cases[i].want, cases[i].in);
    ck_assert_msg (access (tmp_path ("out.npy"), F_OK) != 0,
                   "%s: an output file was written", cases[i].in);
    result_free (&r);
  }
  result r = run_q8 ("run", FIXTURE, tmp_path ("rgb.npy"), tmp_path ("a.npy"),
                     tmp_path ("b.npy"), NULL);
  ck_assert_exit (r, 2, "two outputs");
  ck_assert_has (r.err, "2 output files given, but the model has 1 output",
                 "two outputs");
  result_free (&r);
  r = run_q8 ("run", tmp_path ("missing.q8"), tmp_path ("rgb.npy"),
              tmp_path ("out.npy"), NULL);
  ck_assert_exit (r, 1, "missing model");
  ck_assert_has (r.err, q8_status_str (Q8_EIO), "missing model");
  result_free (&r);
  tmp_teardown ();
}
END_TEST

/* ---- q8 bench --json -------------------------------------------------- */

/* A strict little JSON parser that records every value it meets under a
 * dotted path ("ms.median", "ops[2].type"). */
typedef struct {
  char path[96];
  char type; /* 'o' object, 'a' array (num = length), 's', 'n', 'b', 'z' */
  double num;
  char str[128];
} jvalue;

typedef struct {
  const char *p;
  jvalue v[256];
  int n;
} jparser;

static void
j_ws (jparser *j)
{
  while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
    j->p++;
}

static jvalue *
j_add (jparser *j, const char *path, char type)
{
  ck_assert_int_lt (j->n, 256);
  jvalue *v = &j->v[j->n++];
  snprintf (v->path, sizeof v->path, "%s", path);
  v->type = type;
  v->num = 0;
  v->str[0] = '\0';
  return v;
}

static int
j_string (jparser *j, char *out, size_t size)
{
  size_t n = 0;
  if (*j->p++ != '"')
    return -1;
  while (*j->p != '"') {
    unsigned char c = (unsigned char) *j->p++;
    if (c < 0x20)
      return -1;
    if (c == '\\') {
      c = (unsigned char) *j->p++;
      if (c == 'u') {
        for (int i = 0; i < 4; i++, j->p++)
          if (!((*j->p >= '0' && *j->p <= '9') || (*j->p >= 'a' && *j->p <= 'f')
                || (*j->p >= 'A' && *j->p <= 'F')))
            return -1;
        c = '?';
      } else if (strchr ("\"\\/bfnrt", c) == NULL || c == '\0') {
        return -1;
      }
    }
    if (n + 1 < size)
      out[n++] = (char) c;
  }
  j->p++;
  out[n] = '\0';
  return 0;
}

static int j_value (jparser *j, const char *path);

static int
j_number (jparser *j, const char *path)
{
  const char *s = j->p;
  if (*j->p == '-')
    j->p++;
  if (*j->p == '0')
    j->p++;
  else if (*j->p >= '1' && *j->p <= '9')
    while (*j->p >= '0' && *j->p <= '9')
      j->p++;
  else
    return -1;
  if (*j->p == '.') {
    j->p++;
    if (*j->p < '0' || *j->p > '9')
      return -1;
    while (*j->p >= '0' && *j->p <= '9')
      j->p++;
  }
  if (*j->p == 'e' || *j->p == 'E') {
    j->p++;
    if (*j->p == '+' || *j->p == '-')
      j->p++;
    if (*j->p < '0' || *j->p > '9')
      return -1;
    while (*j->p >= '0' && *j->p <= '9')
      j->p++;
  }
  j_add (j, path, 'n')->num = strtod (s, NULL);
  return 0;
}

static int
j_value (jparser *j, const char *path)
{
  char sub[96];
  j_ws (j);
  if (*j->p == '{') {
    j->p++;
    j_add (j, path, 'o');
    j_ws (j);
    if (*j->p == '}') {
      j->p++;
      return 0;
    }
    for (;;) {
      char key[64];
      j_ws (j);
      if (j_string (j, key, sizeof key) < 0)
        return -1;
      j_ws (j);
      if (*j->p++ != ':')
        return -1;
      snprintf (sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
      if (j_value (j, sub) < 0)
        return -1;
      j_ws (j);
      if (*j->p == '}') {
        j->p++;
        return 0;
      }
      if (*j->p++ != ',')
        return -1;
    }
  }
  if (*j->p == '[') {
    j->p++;
    jvalue *arr = j_add (j, path, 'a');
    j_ws (j);
    if (*j->p == ']') {
      j->p++;
      return 0;
    }
    for (int i = 0;; i++) {
      snprintf (sub, sizeof sub, "%s[%d]", path, i);
      if (j_value (j, sub) < 0)
        return -1;
      arr->num = i + 1;
      j_ws (j);
      if (*j->p == ']') {
        j->p++;
        return 0;
      }
      if (*j->p++ != ',')
        return -1;
    }
  }
  if (*j->p == '"') {
    jvalue *v = j_add (j, path, 's');
    return j_string (j, v->str, sizeof v->str);
  }
  if (strncmp (j->p, "true", 4) == 0 || strncmp (j->p, "false", 5) == 0) {
    j_add (j, path, 'b')->num = *j->p == 't';
    j->p += *j->p == 't' ? 4 : 5;
    return 0;
  }
  if (strncmp (j->p, "null", 4) == 0) {
    j_add (j, path, 'z');
    j->p += 4;
    return 0;
  }
  return j_number (j, path);
}

static const jvalue *
j_get (const jparser *j, const char *path, char type)
{
  for (int i = 0; i < j->n; i++)
    if (strcmp (j->v[i].path, path) == 0) {
      ck_assert_msg (j->v[i].type == type || (type == 'n' && j->v[i].type == 'z'
                                              && strstr (path, "peak")),
                     "JSON '%s' has type %c, expected %c", path,
                     j->v[i].type, type);
      return &j->v[i];
    }
  ck_abort_msg ("JSON lacks '%s'", path);
  return NULL;
}

START_TEST (test_bench_json)
{
  tmp_setup ();
  result r = run_q8 ("bench", FIXTURE, "--size", "32x18", "--runs", "3",
                     "--warmup", "1", "--json", NULL);
  ck_assert_exit (r, 0, "q8 bench --json");
  jparser *j = calloc (1, sizeof *j);
  j->p = r.out;
  ck_assert_msg (j_value (j, "") == 0, "invalid JSON near '%.40s':\n%s", j->p,
                 r.out);
  j_ws (j);
  ck_assert_msg (*j->p == '\0', "bytes after the JSON: '%.40s'", j->p);

  ck_assert_str_eq (j_get (j, "model", 's')->str, FIXTURE);
  ck_assert_str_eq (j_get (j, "name", 's')->str, "espcn-tiny-x2");
  ck_assert (j_get (j, "width", 'n')->num == 32);
  ck_assert (j_get (j, "height", 'n')->num == 18);
  ck_assert (j_get (j, "runs", 'n')->num == 3);
  ck_assert (j_get (j, "warmup", 'n')->num == 1);
  ck_assert (j_get (j, "threads", 'n')->num == 1);
  ck_assert_str_eq (j_get (j, "isa", 's')->str, q8_isa_name (q8_isa_active ()));
  double med = j_get (j, "ms.median", 'n')->num;
  double min = j_get (j, "ms.min", 'n')->num;
  double p90 = j_get (j, "ms.p90", 'n')->num;
  ck_assert_msg (min > 0 && min <= med && med <= p90,
                 "min %g, median %g, p90 %g", min, med, p90);
  ck_assert (j_get (j, "macs", 'n')->num == 32.0 * 18 * FIXTURE_MACS_PER_PIXEL);
  ck_assert (j_get (j, "gmacs_per_s", 'n')->num > 0);
  j_get (j, "peak", 'o');
  j_get (j, "peak.gmacs_per_s", 'n');
  j_get (j, "peak.assumption", 's');
  j_get (j, "peak_percent", 'n');
  ck_assert (j_get (j, "arena_bytes", 'n')->num > 0);
  ck_assert (j_get (j, "outputs[0].width", 'n')->num == 64);
  ck_assert (j_get (j, "ops", 'a')->num == 8);
  ck_assert_str_eq (j_get (j, "ops[1].type", 's')->str, "conv2d");
  ck_assert (j_get (j, "ops[1].macs", 'n')->num == 32.0 * 18 * 25 * 64);
  ck_assert (j_get (j, "ops[0].ms", 'n')->num >= 0);
  j_get (j, "ops[7].fused", 'b');
  free (j);
  result_free (&r);

  /* The text form, on the scalar path and two threads. */
  r = run_q8 ("bench", FIXTURE, "--size", "16x9", "--runs", "2", "--threads",
              "2", "--isa", "scalar", NULL);
  ck_assert_exit (r, 0, "q8 bench");
  ck_assert_has (r.out, "median", "q8 bench");
  ck_assert_has (r.out, "GMAC/s", "q8 bench");
  ck_assert_has (r.out, "scalar, 2 threads", "q8 bench");
  ck_assert_has (r.out, "conv2d", "q8 bench");
  result_free (&r);
  tmp_teardown ();
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("cli");
  TCase *tc = tcase_create ("cli");
  tcase_set_timeout (tc, 300);
  tcase_add_test (tc, test_help_and_usage);
  tcase_add_test (tc, test_info_fixture);
  tcase_add_test (tc, test_info_builtin);
  tcase_add_test (tc, test_info_bad_files);
  tcase_add_test (tc, test_run_matches_float_network);
  tcase_add_test (tc, test_run_errors);
  tcase_add_test (tc, test_bench_json);
  suite_add_tcase (s, tc);
  return s;
}
