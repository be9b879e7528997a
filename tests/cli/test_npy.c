/* test_npy.c - the q8 tool's .npy reader and writer (cli/npy.c).
 *
 * Valid files are built here byte by byte as numpy writes them (not with
 * the writer under test); the writer's output is compared with the exact
 * bytes numpy's np.save produces for the same array.  Malformed headers
 * each map to an error whose message names the problem, and random
 * mutations and truncations of a valid file must give an error or a
 * consistent array, never a crash (run under ASan by tests/sanitize.sh's
 * build when wanted).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"
#include "q8_test.h"

/* A .npy file of format major.0 with header dict (padded with spaces to a
 * 64-byte boundary and ended with '\n' unless raw) followed by data_bytes
 * bytes 0, 1, 2, ... */
static unsigned char *
make_npy (int major, const char *dict, int raw, size_t data_bytes,
          size_t *size)
{
  size_t pre = major == 1 ? 10 : 12;
  size_t len = strlen (dict);
  size_t hlen = raw ? len : (pre + len + 1 + 63) / 64 * 64 - pre;
  *size = pre + hlen + data_bytes;
  unsigned char *p = malloc (*size + 1);
  ck_assert_ptr_nonnull (p);
  memcpy (p, "\x93NUMPY", 6);
  p[6] = (unsigned char) major;
  p[7] = 0;
  p[8] = (unsigned char) (hlen & 0xff);
  p[9] = (unsigned char) ((hlen >> 8) & 0xff);
  if (major != 1) {
    p[10] = (unsigned char) ((hlen >> 16) & 0xff);
    p[11] = (unsigned char) ((hlen >> 24) & 0xff);
  }
  memcpy (p + pre, dict, len);
  if (!raw) {
    memset (p + pre + len, ' ', hlen - len - 1);
    p[pre + hlen - 1] = '\n';
  }
  for (size_t i = 0; i < data_bytes; i++)
    p[pre + hlen + i] = (unsigned char) i;
  return p;
}

/* Expects the reader to reject buf with a message containing want. */
static void
expect_error (const unsigned char *buf, size_t size, const char *want,
              const char *what)
{
  npy_array a;
  char err[256] = "";
  int r = npy_read_buffer (buf, size, &a, err, sizeof err);
  ck_assert_msg (r == -1, "%s: accepted (ndim %d, count %zu)", what, a.ndim,
                 a.count);
  ck_assert_msg (strstr (err, want) != NULL,
                 "%s: error '%s' does not mention '%s'", what, err, want);
  ck_assert_ptr_null (a.data);
}

static void
expect_dict_error (const char *dict, size_t data_bytes, const char *want)
{
  size_t size;
  unsigned char *p = make_npy (1, dict, 0, data_bytes, &size);
  expect_error (p, size, want, dict);
  free (p);
}

START_TEST (test_read_valid)
{
  static const struct {
    int major;
    const char *dict;
    npy_dtype dtype;
    int ndim;
    size_t shape[4];
  } cases[] = {
    { 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 3), }",
      NPY_F32, 4, { 1, 1, 2, 3 } },
    { 1, "{\"shape\": (2, 3), \"fortran_order\": False, \"descr\": \"<f4\"}",
      NPY_F32, 2, { 2, 3 } },
    { 1, "{'descr':'|u1','fortran_order':False,'shape':(5,)}", NPY_U8, 1,
      { 5 } },
    { 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", NPY_F32,
      0, { 0 } },
    { 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0, 2), }",
      NPY_F32, 3, { 3, 0, 2 } },
    { 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2,), }",
      NPY_F32, 2, { 4, 2 } },
    { 3, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 2), }",
      NPY_U8, 3, { 2, 2, 2 } },
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    size_t count = 1;
    for (int i = 0; i < cases[k].ndim; i++)
      count *= cases[k].shape[i];
    size_t bytes = count * (cases[k].dtype == NPY_F32 ? 4 : 1), size;
    unsigned char *p = make_npy (cases[k].major, cases[k].dict, 0, bytes,
                                 &size);
    npy_array a;
    char err[256] = "";
    int r = npy_read_buffer (p, size, &a, err, sizeof err);
    ck_assert_msg (r == 0, "case %zu '%s': %s", k, cases[k].dict, err);
    ck_assert_int_eq (a.dtype, cases[k].dtype);
    ck_assert_int_eq (a.ndim, cases[k].ndim);
    for (int i = 0; i < a.ndim; i++)
      ck_assert_msg (a.shape[i] == cases[k].shape[i],
                     "case %zu: dim %d is %zu, expected %zu", k, i,
                     a.shape[i], cases[k].shape[i]);
    ck_assert_uint_eq (a.count, count);
    ck_assert_int_eq (memcmp (a.data, p + size - bytes, bytes), 0);
    npy_free (&a);
    free (p);
  }
}
END_TEST

START_TEST (test_read_float_values)
{
  /* 1.0f, -2.5f, 0.0f as little-endian bytes. */
  static const unsigned char data[12] = { 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00,
                                          0x20, 0xc0, 0, 0, 0, 0 };
  size_t size;
  unsigned char *p = make_npy (
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 0,
      sizeof data, &size);
  memcpy (p + size - sizeof data, data, sizeof data);
  npy_array a;
  char err[256];
  ck_assert_msg (npy_read_buffer (p, size, &a, err, sizeof err) == 0, "%s",
                 err);
  const float *f = a.data;
  ck_assert (f[0] == 1.0f && f[1] == -2.5f && f[2] == 0.0f);
  npy_free (&a);
  free (p);
}
END_TEST

START_TEST (test_write_matches_numpy)
{
  /* np.save of np.zeros((1, 1, 2, 3), np.float32) starts with exactly
   * these 128 bytes: header length 118 = 'v', padded to 64 bytes. */
  static const char header[] =
      "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
      "'shape': (1, 1, 2, 3), }";
  char path[] = "/tmp/q8-test-npy-XXXXXX";
  int fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  float v[6] = { 0, 1, -1, 0.5f, 1e30f, -3 };
  size_t shape[4] = { 1, 1, 2, 3 };
  char err[256] = "";
  ck_assert_msg (npy_write_file (path, NPY_F32, 4, shape, v, err, sizeof err)
                 == 0, "%s", err);
  size_t size;
  unsigned char *p = q8_test_read_file (path, &size);
  ck_assert_ptr_nonnull (p);
  ck_assert_uint_eq (size, 128 + sizeof v);
  size_t hl = sizeof header - 1;
  ck_assert_int_eq (memcmp (p, header, hl), 0);
  for (size_t i = hl; i < 127; i++)
    ck_assert_msg (p[i] == ' ', "byte %zu is 0x%02x, not padding", i, p[i]);
  ck_assert_int_eq (p[127], '\n');
  ck_assert_int_eq (memcmp (p + 128, v, sizeof v), 0);
  free (p);

  /* And the reader takes it back. */
  npy_array a;
  ck_assert_msg (npy_read_file (path, &a, err, sizeof err) == 0, "%s", err);
  ck_assert_int_eq (a.ndim, 4);
  ck_assert_int_eq (memcmp (a.data, v, sizeof v), 0);
  npy_free (&a);

  /* One dimension is written "(n,)", as Python prints a 1-tuple. */
  size_t n5 = 5;
  uint8_t b[5] = { 1, 2, 3, 4, 5 };
  ck_assert (npy_write_file (path, NPY_U8, 1, &n5, b, err, sizeof err) == 0);
  p = q8_test_read_file (path, &size);
  ck_assert_ptr_nonnull (p);
  ck_assert_msg (strstr ((char *) p + 10, "'descr': '|u1', 'fortran_order': "
                                          "False, 'shape': (5,), }") != NULL,
                 "header '%.60s'", (char *) p + 10);
  ck_assert_uint_eq (size, 128 + 5);
  free (p);
  ck_assert (npy_read_file (path, &a, err, sizeof err) == 0);
  ck_assert_int_eq (a.dtype, NPY_U8);
  ck_assert_int_eq (memcmp (a.data, b, 5), 0);
  npy_free (&a);
  unlink (path);
}
END_TEST

START_TEST (test_round_trip_random)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed ();
  q8_rng_seed (&rng, seed);
  char path[] = "/tmp/q8-test-npy-XXXXXX";
  int fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  for (int it = 0; it < 50; it++) {
    int ndim = q8_rng_int (&rng, 0, 4);
    size_t shape[4], count = 1;
    for (int i = 0; i < ndim; i++) {
      shape[i] = (size_t) q8_rng_int (&rng, 1, 9);
      count *= shape[i];
    }
    float *v = malloc (count * sizeof *v);
    for (size_t i = 0; i < count; i++)
      v[i] = q8_rng_float (&rng, -1000, 1000);
    char err[256] = "";
    ck_assert_msg (npy_write_file (path, NPY_F32, ndim, shape, v, err,
                                   sizeof err) == 0, "%s", err);
    npy_array a;
    ck_assert_msg (npy_read_file (path, &a, err, sizeof err) == 0,
                   "seed %llu it %d: %s", (unsigned long long) seed, it, err);
    ck_assert_int_eq (a.ndim, ndim);
    for (int i = 0; i < ndim; i++)
      ck_assert_uint_eq (a.shape[i], shape[i]);
    ck_assert_uint_eq (a.count, count);
    ck_assert_msg (memcmp (a.data, v, count * sizeof *v) == 0,
                   "seed %llu it %d: data differ", (unsigned long long) seed,
                   it);
    npy_free (&a);
    free (v);
  }
  unlink (path);
}
END_TEST

START_TEST (test_malformed_preamble)
{
  static const char ok[] =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  size_t size;
  unsigned char *p = make_npy (1, ok, 0, 8, &size);

  expect_error (p, 0, "truncated", "empty file");
  expect_error (p, 9, "truncated", "9 bytes");
  expect_error (p, 40, "truncated", "header cut");
  expect_error (p, size - 1, "needs 8 data bytes, the file has 7",
                "data cut");
  unsigned char *q = malloc (size + 1);
  memcpy (q, p, size);
  q[size] = 0;
  expect_error (q, size + 1, "needs 8 data bytes, the file has 9",
                "trailing byte");

  memcpy (q, p, size);
  q[1] = 'n';
  expect_error (q, size, "bad magic", "magic");
  memcpy (q, p, size);
  q[6] = 4;
  expect_error (q, size, "version 4.0", "version 4");
  memcpy (q, p, size);
  q[7] = 1;
  expect_error (q, size, "version 1.1", "version 1.1");
  /* Header length 60000 in a v1 file and 2^32 - 1 in a v2 file. */
  memcpy (q, p, size);
  q[8] = 0x60;
  q[9] = 0xea;
  expect_error (q, size, "exceeds the 10000-byte limit", "v1 length");
  free (q);
  free (p);

  p = make_npy (2, ok, 0, 8, &size);
  p[8] = p[9] = p[10] = p[11] = 0xff;
  expect_error (p, size, "exceeds", "v2 length");
  expect_error (p, 11, "truncated", "v2 11 bytes");
  free (p);

  /* Header length larger than the file. */
  p = make_npy (1, ok, 0, 8, &size);
  p[8] = 0x00;
  p[9] = 0x10; /* 4096 */
  expect_error (p, size, "truncated", "header past the end");
  free (p);
}
END_TEST

START_TEST (test_malformed_dict)
{
#define D(descr, order, shape) \
  "{'descr': " descr ", 'fortran_order': " order ", 'shape': " shape ", }"
  expect_dict_error (D ("'<f8'", "False", "(2,)"), 16, "dtype '<f8'");
  expect_dict_error (D ("'>f4'", "False", "(2,)"), 8, "dtype '>f4'");
  expect_dict_error (D ("'<i4'", "False", "(2,)"), 8, "dtype '<i4'");
  expect_dict_error (D ("'<f4'", "True", "(2, 2)"), 16, "Fortran");
  expect_dict_error (D ("'<f4'", "Falsey", "(2,)"), 8, "fortran_order");
  expect_dict_error (D ("'<f4'", "0", "(2,)"), 8, "fortran_order");
  expect_dict_error (D ("'<f4'", "False", "(1, 1, 1, 1, 2)"), 8,
                     "more than 4 dimensions");
  expect_dict_error (D ("'<f4'", "False", "(1099511627776, 1099511627776)"),
                     8, "element count overflows");
  expect_dict_error (D ("'<f4'", "False", "(4611686018427387904,)"), 8,
                     "byte size overflows");
  expect_dict_error (D ("'<f4'", "False", "(1000000000, 1000000000)"), 8,
                     "needs 4000000000000000000 data bytes");
  expect_dict_error (D ("'<f4'", "False", "(99999999999999999999999,)"), 8,
                     "dimension too large");
  expect_dict_error (D ("'<f4'", "False", "(2)"), 8, "not a tuple");
  expect_dict_error (D ("'<f4'", "False", "(-2,)"), 8, "integers");
  expect_dict_error (D ("'<f4'", "False", "(02,)"), 8, "leading zero");
  expect_dict_error (D ("'<f4'", "False", "(2 2)"), 8, "malformed 'shape'");
  expect_dict_error (D ("'<f4'", "False", "[2]"), 8, "must be a tuple");
  expect_dict_error (D ("'<f4'", "False", "(2.0,)"), 8, "malformed");
  expect_dict_error (D ("'<f\\4'", "False", "(2,)"), 8, "escapes");
  expect_dict_error ("{'descr': '<f4', 'fortran_order': False}", 4,
                     "missing key 'shape'");
  expect_dict_error ("{'fortran_order': False, 'shape': (1,)}", 4,
                     "missing key 'descr'");
  expect_dict_error ("{'descr': '<f4', 'shape': (1,), 'shape': (1,), "
                     "'fortran_order': False}", 4, "appears twice");
  expect_dict_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "
                     "'extra': 1}", 4, "unexpected key 'extra'");
  expect_dict_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} "
                     "x", 4, "after the dict");
  expect_dict_error ("{'descr': '<f4' 'fortran_order': False}", 4,
                     "expected ','");
  expect_dict_error ("{'descr' '<f4'}", 4, "expected ':'");
  expect_dict_error ("['descr', '<f4']", 4, "not a dictionary");
  expect_dict_error ("{'descr: '<f4'}", 4, "expected ':'");
  expect_dict_error ("{'desc", 4, "string");
  size_t usize;
  unsigned char *u = make_npy (1, "{'desc\n", 1, 0, &usize);
  expect_error (u, usize, "unterminated string", "unterminated");
  free (u);
  expect_dict_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,"
                     "\t)}", 4, "printable");
  expect_dict_error ("{'descr': '<f4', 'fortran_order': False, 'shape': (1,"
                     "\xc3\xa9)}", 4, "printable");
  expect_dict_error ("{'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa': 1}", 4,
                     "longer than");
#undef D

  /* No newline at the end of the header. */
  size_t size;
  unsigned char *p = make_npy (
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 1, 4,
      &size);
  expect_error (p, size, "newline", "no newline");
  free (p);
}
END_TEST

START_TEST (test_read_file_errors)
{
  npy_array a;
  char err[256] = "";
  ck_assert_int_eq (npy_read_file ("/nonexistent/q8/x.npy", &a, err,
                                   sizeof err), -1);
  ck_assert_msg (strstr (err, "cannot open") != NULL, "%s", err);
  ck_assert_int_eq (npy_read_file ("/tmp", &a, err, sizeof err), -1);
  ck_assert_msg (strstr (err, "not a regular file") != NULL, "%s", err);

  /* A header that claims more bytes than the file holds, read from disk. */
  char path[] = "/tmp/q8-test-npy-XXXXXX";
  int fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  size_t size;
  unsigned char *p = make_npy (
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 1000), }",
      0, 12, &size);
  ck_assert (write (fd, p, size) == (ssize_t) size);
  close (fd);
  ck_assert_int_eq (npy_read_file (path, &a, err, sizeof err), -1);
  ck_assert_msg (strstr (err, "needs 4000000 data bytes, the file has 12")
                 != NULL, "%s", err);
  ck_assert_ptr_null (a.data);
  free (p);
  unlink (path);
}
END_TEST

/* Random byte mutations and truncations of a valid file: every result is
 * an error or an array whose size agrees with the bytes given. */
START_TEST (test_fuzz)
{
  q8_rng rng;
  uint64_t seed = q8_test_seed ();
  q8_rng_seed (&rng, seed);
  size_t size;
  unsigned char *orig = make_npy (
      1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 2, 3), }",
      0, 24, &size);
  unsigned char *p = malloc (size);
  int accepted = 0;
  for (int it = 0; it < 20000; it++) {
    memcpy (p, orig, size);
    int n = q8_rng_int (&rng, 1, 4);
    for (int k = 0; k < n; k++) {
      /* Mostly the printable characters a header is made of. */
      size_t at = (size_t) q8_rng_int (&rng, 0, 127);
      p[at] = q8_rng_int (&rng, 0, 3) == 0
                  ? (unsigned char) q8_rng_int (&rng, 0, 255)
                  : (unsigned char) " (),:'{}0123456789<|fuTF"[q8_rng_int (
                      &rng, 0, 23)];
    }
    size_t len = q8_rng_int (&rng, 0, 7) == 0
                     ? (size_t) q8_rng_int (&rng, 0, (int32_t) size)
                     : size;
    npy_array a;
    char err[256];
    if (npy_read_buffer (p, len, &a, err, sizeof err) == 0) {
      accepted++;
      size_t count = 1;
      for (int i = 0; i < a.ndim; i++)
        count *= a.shape[i];
      ck_assert_msg (a.count == count && a.ndim <= NPY_MAX_DIMS,
                     "seed %llu it %d: inconsistent array",
                     (unsigned long long) seed, it);
      ck_assert_uint_le (a.count * (a.dtype == NPY_F32 ? 4 : 1), len);
      npy_free (&a);
    }
  }
  /* The mutations that hit only padding or data leave a valid file. */
  ck_assert_int_gt (accepted, 0);
  free (p);
  free (orig);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("npy");
  TCase *tc = tcase_create ("npy");
  tcase_add_test (tc, test_read_valid);
  tcase_add_test (tc, test_read_float_values);
  tcase_add_test (tc, test_write_matches_numpy);
  tcase_add_test (tc, test_round_trip_random);
  tcase_add_test (tc, test_malformed_preamble);
  tcase_add_test (tc, test_malformed_dict);
  tcase_add_test (tc, test_read_file_errors);
  tcase_add_test (tc, test_fuzz);
  suite_add_tcase (s, tc);
  return s;
}
