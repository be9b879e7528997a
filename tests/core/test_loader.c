/* test_loader.c - the .q8 loader against malformed files: every prefix,
 * wrong magic/version/size/checksum, out-of-range fields, and random byte
 * flips with the checksum recomputed (by an independent bitwise CRC-32
 * written here), each rejected with its documented status and never a
 * crash (the sanitizer build runs this too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "q8_test.h"

/* Bitwise CRC-32 (ISO-HDLC), independent of core/crc32.c's table. */
static uint32_t
crc32_bitwise (const uint8_t *p, size_t n)
{
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
  }
  return ~c;
}

static void
put32 (uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t) (v >> (8 * i));
}

static void
put64 (uint8_t *p, uint64_t v)
{
  put32 (p, (uint32_t) v);
  put32 (p + 4, (uint32_t) (v >> 32));
}

/* Recomputes the checksum of a patched file (field at 24 taken as 0). */
static void
reseal (uint8_t *f, size_t n)
{
  put32 (f + 24, 0);
  put32 (f + 24, crc32_bitwise (f, n));
}

/* A valid one-op model: x (s8, 3 ch) -> conv3x3 3->4 -> y, with metadata. */
static uint8_t *
valid_model (size_t *size)
{
  q8_builder *b = q8_builder_new ();
  int8_t w[4 * 3 * 3 * 3];
  for (size_t i = 0; i < sizeof w; i++)
    w[i] = (int8_t) ((int) (i * 7 % 255) - 127);
  int32_t bias[4] = { 10, -20, 30, -40 };
  float ws[4] = { 0.01f, 0.02f, 0.03f, 0.04f };
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_S8, 3, 0.05f, 1);
  int64_t y = q8_builder_add_activation (b, "y", Q8_DTYPE_S8, 4, 0.5f, -3);
  int64_t cw = q8_builder_add_const (b, "w", Q8_DTYPE_S8, 4,
                                     (const int32_t[]) { 4, 3, 3, 3 }, w, 0,
                                     0, ws);
  int64_t cb = q8_builder_add_const (b, "b", Q8_DTYPE_S32, 1,
                                     (const int32_t[]) { 4 }, bias, 0, 0,
                                     NULL);
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };
  p[Q8_CONV_KH] = p[Q8_CONV_KW] = 3;
  p[Q8_CONV_STRIDE_H] = p[Q8_CONV_STRIDE_W] = 1;
  p[Q8_CONV_DILATION_H] = p[Q8_CONV_DILATION_W] = 1;
  p[Q8_CONV_PAD_TOP] = p[Q8_CONV_PAD_LEFT] = 1;
  p[Q8_CONV_PAD_BOTTOM] = p[Q8_CONV_PAD_RIGHT] = 1;
  p[Q8_CONV_GROUPS] = 1;
  p[Q8_CONV_ACT_MIN] = -128;
  p[Q8_CONV_ACT_MAX] = 127;
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_CONV2D, 3,
                                       (uint32_t[]) { x, cw, cb }, 1,
                                       (uint32_t[]) { y }, p,
                                       Q8_MAX_OP_PARAMS), 0);
  q8_builder_add_input (b, (uint32_t) x);
  q8_builder_add_output (b, (uint32_t) y);
  ck_assert_int_eq (q8_builder_meta_string (b, "task", "generic"), Q8_OK);
  ck_assert_int_eq (q8_builder_meta_int (b, "sr.scale", 3), Q8_OK);
  ck_assert_int_eq (q8_builder_meta_float (b, "anomaly.threshold", 0.25),
                    Q8_OK);
  void *data;
  char err[256] = "";
  q8_status st = q8_builder_write (b, &data, size, err, sizeof err);
  ck_assert_msg (st == Q8_OK, "%s", err);
  q8_builder_free (b);
  return data;
}

static q8_status
load (const uint8_t *f, size_t n, char *err, size_t es)
{
  q8_model *m = NULL;
  q8_status st = q8_model_load_buffer (f, n, &m, err, es);
  if (st == Q8_OK)
    ck_assert_ptr_nonnull (m);
  else
    ck_assert_ptr_null (m);
  q8_model_free (m);
  return st;
}

START_TEST (test_crc32)
{
  ck_assert_uint_eq (q8_crc32 (0, "123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq (crc32_bitwise ((const uint8_t *) "123456789", 9),
                     0xCBF43926u);
  uint8_t buf[1000];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t) (i * 131 + 7);
  /* Continuation equals one pass. */
  ck_assert_uint_eq (q8_crc32 (q8_crc32 (0, buf, 300), buf + 300, 700),
                     crc32_bitwise (buf, sizeof buf));
}
END_TEST

START_TEST (test_round_trip)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  q8_model *m = NULL;
  char err[256];
  ck_assert_int_eq (q8_model_load_buffer (f, n, &m, err, sizeof err), Q8_OK);
  ck_assert_uint_eq (q8_model_num_ops (m), 1);
  ck_assert_str_eq (q8_model_op_type (m, 0), "conv2d");
  q8_tensor_info info;
  ck_assert_int_eq (q8_model_input_info (m, 0, &info), Q8_OK);
  ck_assert_str_eq (info.name, "x");
  ck_assert_int_eq (info.c, 3);
  ck_assert_float_eq (info.scale, 0.05f);
  ck_assert_int_eq (info.zero_point, 1);
  ck_assert_int_eq (q8_model_output_info (m, 0, &info), Q8_OK);
  ck_assert_int_eq (info.c, 4);
  const char *s;
  int64_t i;
  double d;
  ck_assert_int_eq (q8_model_meta_string (m, "task", &s), Q8_OK);
  ck_assert_str_eq (s, "generic");
  ck_assert_int_eq (q8_model_meta_int (m, "sr.scale", &i), Q8_OK);
  ck_assert_int_eq (i, 3);
  ck_assert_int_eq (q8_model_meta_float (m, "anomaly.threshold", &d), Q8_OK);
  ck_assert_double_eq (d, 0.25);
  ck_assert_int_eq (q8_model_meta_int (m, "task", &i), Q8_EINVAL);
  ck_assert_int_eq (q8_model_meta_int (m, "nope", &i), Q8_ENOTFOUND);
  ck_assert_uint_eq (q8_model_meta_count (m), 3);
  q8_model_free (m);
  free (f);
}
END_TEST

START_TEST (test_every_prefix)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  char err[256];
  for (size_t k = 0; k < n; k++) {
    uint8_t *p = malloc (k ? k : 1);
    memcpy (p, f, k);
    q8_status st = load (p, k, err, sizeof err);
    ck_assert_msg (st == (k < 8 ? Q8_EMAGIC : Q8_ETRUNC),
                   "prefix of %zu bytes: %s (%s)", k, q8_status_str (st),
                   err);
    free (p);
  }
  free (f);
}
END_TEST

START_TEST (test_header_damage)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n + 8);
  char err[256];
#define FRESH() memcpy (g, f, n)
  FRESH ();
  g[1] = 'X';
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EMAGIC);
  FRESH ();
  g[8] = 2;
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EVERSION);
  ck_assert (strstr (err, "2.0") != NULL);
  FRESH ();
  g[n - 1] ^= 1; /* data byte, checksum stale */
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_ECHECKSUM);
  FRESH ();
  memset (g + n, 0, 8); /* trailing bytes the header does not count */
  ck_assert_int_eq (load (g, n + 8, err, sizeof err), Q8_EBOUNDS);
  /* Every section offset past the end. */
  for (int s = 0; s < 7; s++) {
    static const size_t at[7] = { 56, 64, 72, 80, 88, 104, 112 };
    FRESH ();
    put64 (g + at[s], (uint64_t) n + 64);
    reseal (g, n);
    ck_assert_msg (load (g, n, err, sizeof err) == Q8_EBOUNDS,
                   "field at %zu: %s", at[s], err);
  }
  /* Overlap: ops placed on the tensors. */
  FRESH ();
  memcpy (g + 64, g + 56, 8);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
  ck_assert (strstr (err, "overlap") != NULL);
  /* Counts out of range. */
  FRESH ();
  put32 (g + 32, 0);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
  FRESH ();
  put32 (g + 36, 0x7fffffff);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
#undef FRESH
  free (g);
  free (f);
}
END_TEST

START_TEST (test_tensor_damage)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  uint32_t toff = (uint32_t) f[56] | (uint32_t) f[57] << 8;
  /* Tensor 2 is the weight [4,3,3,3]. */
  uint8_t *w = g + toff + 2 * 64;
  struct {
    size_t at;
    uint32_t value;
    q8_status want;
  } cases[] = {
    { 8, 65536, Q8_ETENSOR },        /* dim 0 beyond the data */
    { 8, 0, Q8_ETENSOR },            /* zero dim */
    { 8, 0x80000000u, Q8_ETENSOR },  /* negative dim */
    { 4, 9, Q8_ETENSOR },            /* unknown dtype */
    { 32, 8, Q8_EBOUNDS },           /* misaligned data */
    { 32, 0x100000, Q8_EBOUNDS },    /* data past the section */
    { 48, 0x7ffffff0, Q8_EBOUNDS },  /* scales past the section */
    { 0, 0xfffff, Q8_ETENSOR },      /* name outside the string table */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy (g, f, n);
    put32 (w + cases[i].at, cases[i].value);
    reseal (g, n);
    q8_status st = load (g, n, err, sizeof err);
    ck_assert_msg (st == cases[i].want, "case %zu: %s (%s)", i,
                   q8_status_str (st), err);
  }
  /* Activation x: scale NaN, zero, negative; zero point out of range. */
  uint8_t *x = g + toff;
  static const uint32_t bad_scales[] = { 0x7fc00000u, 0, 0xbf800000u,
                                         0x7f800000u };
  for (size_t i = 0; i < 4; i++) {
    memcpy (g, f, n);
    put32 (x + 24, bad_scales[i]);
    reseal (g, n);
    ck_assert_int_eq (load (g, n, err, sizeof err), Q8_ETENSOR);
  }
  memcpy (g, f, n);
  put32 (x + 28, 128);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_ETENSOR);
  ck_assert (strstr (err, "zero point 128") != NULL);
  free (g);
  free (f);
}
END_TEST

START_TEST (test_op_damage)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  uint32_t ooff = (uint32_t) f[64] | (uint32_t) f[65] << 8;
  uint8_t *op = g + ooff;
  memcpy (g, f, n);
  op[0] = 99; /* unknown op type */
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EUNSUPPORTED);
  ck_assert (strstr (err, "99") != NULL);
  memcpy (g, f, n);
  put32 (op + 8, 77); /* input index out of range */
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOP);
  memcpy (g, f, n);
  put32 (op + 8, 1); /* reads y, which it writes itself */
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOP);
  memcpy (g, f, n);
  put32 (op + 40, 0); /* writes the graph input */
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOP);
  memcpy (g, f, n);
  put32 (op + 48 + 4 * Q8_CONV_KH, 5); /* kernel disagrees with weights */
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOP);
  free (g);
  free (f);
}
END_TEST

START_TEST (test_random_flips)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  q8_rng rng;
  q8_rng_seed (&rng, q8_test_seed ());
  for (int it = 0; it < 3000; it++) {
    memcpy (g, f, n);
    int flips = q8_rng_int (&rng, 1, 4);
    for (int k = 0; k < flips; k++)
      g[q8_rng_int (&rng, 0, (int32_t) n - 1)] ^= (uint8_t) q8_rng_int (&rng, 1, 255);
    reseal (g, n);
    q8_status st = load (g, n, err, sizeof err);
    ck_assert (st == Q8_OK || st < 0);
  }
  free (g);
  free (f);
}
END_TEST

START_TEST (test_files)
{
  char err[256];
  q8_model *m = (q8_model *) 1;
  ck_assert_int_eq (q8_model_load_file ("/nonexistent/x.q8", &m, err,
                                        sizeof err), Q8_EIO);
  ck_assert_ptr_null (m);
  ck_assert (strstr (err, "/nonexistent/x.q8") != NULL);
  char path[] = "/tmp/q8-test-XXXXXX";
  int fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  ck_assert_int_eq (q8_model_load_file (path, &m, err, sizeof err),
                    Q8_EMAGIC);
  size_t n;
  uint8_t *f = valid_model (&n);
  FILE *fp = fopen (path, "wb");
  fwrite (f, 1, n, fp);
  fclose (fp);
  ck_assert_int_eq (q8_model_load_file (path, &m, err, sizeof err), Q8_OK);
  q8_model_free (m);
  unlink (path);
  free (f);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("loader");
  TCase *tc = tcase_create ("loader");
  tcase_add_test (tc, test_crc32);
  tcase_add_test (tc, test_round_trip);
  tcase_add_test (tc, test_every_prefix);
  tcase_add_test (tc, test_header_damage);
  tcase_add_test (tc, test_tensor_damage);
  tcase_add_test (tc, test_op_damage);
  tcase_add_test (tc, test_random_flips);
  tcase_add_test (tc, test_files);
  suite_add_tcase (s, tc);
  return s;
}
