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

/* The loader's read () is wrapped (-Wl,--wrap=read in tests/meson.build):
 * when a test sets truncate_path, the next read first truncates that file
 * to truncate_to bytes, as another process replacing the model while q8
 * reads it would. */
static const char *truncate_path;
static off_t truncate_to;

ssize_t __real_read (int fd, void *buf, size_t n);
ssize_t __wrap_read (int fd, void *buf, size_t n);

ssize_t
__wrap_read (int fd, void *buf, size_t n)
{
  if (truncate_path != NULL) {
    ck_assert_int_eq (truncate (truncate_path, truncate_to), 0);
    truncate_path = NULL;
  }
  return __real_read (fd, buf, n);
}

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

/* Weight dimensions whose product overflows size_t: each dim is in range
 * (at most 2^24), their product (2^96) is not, and the loader says so
 * instead of wrapping into a small size that the data would match. */
START_TEST (test_dims_overflow)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  uint32_t toff = (uint32_t) f[56] | (uint32_t) f[57] << 8;
  uint8_t *w = g + toff + 2 * 64;
  memcpy (g, f, n);
  for (int i = 0; i < 4; i++)
    put32 (w + 8 + 4 * i, 1u << 24);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOVERFLOW);
  ck_assert_msg (strstr (err, "'w'") != NULL && strstr (err, "overflow"),
                 "%s", err);
  /* 2^24 x 2^24 x 4 bytes fits in a 64-bit size_t but is not the data
   * size; a 32-bit size_t cannot hold it. */
  memcpy (g, f, n);
  put32 (w + 8, 1u << 24);
  put32 (w + 12, 1u << 24);
  put32 (w + 16, 1);
  put32 (w + 20, 1);
  reseal (g, n);
#if SIZE_MAX > 0xFFFFFFFFu
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_ETENSOR);
  ck_assert_msg (strstr (err, "281474976710656") != NULL, "%s", err);
#else
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EOVERFLOW);
  ck_assert_msg (strstr (err, "'w'") != NULL && strstr (err, "overflow"),
                 "%s", err);
#endif
  free (g);
  free (f);
}
END_TEST

/* Offsets that point past the end, including ones whose sum with the size
 * would wrap around 2^64 (the loader compares by subtraction). */
START_TEST (test_offsets_past_end)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  uint32_t toff = (uint32_t) f[56] | (uint32_t) f[57] << 8;
  uint8_t *w = g + toff + 2 * 64;
  static const uint64_t far[] = { UINT64_MAX - 63, UINT64_MAX - 127,
                                  (uint64_t) 1 << 63 };
  for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
    /* Tensor data. */
    memcpy (g, f, n);
    put64 (w + 32, far[i]);
    reseal (g, n);
    ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
    /* A section: its offset, and its size with a valid offset. */
    memcpy (g, f, n);
    put64 (g + 104, far[i]);
    reseal (g, n);
    ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
    memcpy (g, f, n);
    put64 (g + 112, far[i]);
    reseal (g, n);
    ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
    /* The file size field itself. */
    memcpy (g, f, n);
    put64 (g + 16, far[i]);
    reseal (g, n);
    ck_assert_int_eq (load (g, n, err, sizeof err), Q8_ETRUNC);
  }
  /* Per-channel scales: the weight made per-channel with its scales at
   * the very end of the data section (one float short). */
  memcpy (g, f, n);
  w[7] = 1;
  put32 (w + 28, 0);
  put64 (w + 48, (f[112] | (uint64_t) f[113] << 8) - 12);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EBOUNDS);
  /* A metadata string value outside the string table. */
  uint32_t moff = (uint32_t) f[72] | (uint32_t) f[73] << 8;
  memcpy (g, f, n);
  put64 (g + moff + 8, 0xffffffffffull);
  reseal (g, n);
  ck_assert_int_eq (load (g, n, err, sizeof err), Q8_EMETA);
  free (g);
  free (f);
}
END_TEST

/* Checksums that match but op parameters that disagree with the shapes
 * or ranges; each is refused by the op's validate, naming the op. */
START_TEST (test_op_params_inconsistent)
{
  size_t n;
  uint8_t *f = valid_model (&n);
  uint8_t *g = malloc (n);
  char err[256];
  uint32_t ooff = (uint32_t) f[64] | (uint32_t) f[65] << 8;
  uint32_t toff = (uint32_t) f[56] | (uint32_t) f[57] << 8;
  struct {
    int slot;
    int32_t value;
    const char *says;
  } cases[] = {
    { Q8_CONV_KW, 1, "" },                /* 3x1 kernel, weights 3x3 */
    { Q8_CONV_GROUPS, 2, "" },            /* 3 input channels, 2 groups */
    { Q8_CONV_GROUPS, 3, "" },            /* groups of 1, weights take 3 */
    { Q8_CONV_STRIDE_H, 0, "stride" },
    { Q8_CONV_DILATION_W, 0, "dilation" },
    { Q8_CONV_PAD_LEFT, -1, "padding" },
    { Q8_CONV_ACT_MIN, 100, "act_min" },  /* act_max set to 50 below */
    { Q8_CONV_ACT_MAX, 200, "act_max" },
    { Q8_CONV_ACT_MAX + 1, 7, "slot" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    memcpy (g, f, n);
    put32 (g + ooff + 48 + 4 * cases[i].slot, (uint32_t) cases[i].value);
    if (cases[i].slot == Q8_CONV_ACT_MIN) /* 100 > act_max 50 */
      put32 (g + ooff + 48 + 4 * Q8_CONV_ACT_MAX, 50);
    reseal (g, n);
    q8_status st = load (g, n, err, sizeof err);
    ck_assert_msg (st == Q8_EOP, "case %zu: %s (%s)", i, q8_status_str (st),
                   err);
    /* Named once (the op used to prefix its own name a second time). */
    const char *at = strstr (err, "op 0 (conv2d): ");
    ck_assert_msg (at != NULL && strstr (at + 15, "(conv2d)") == NULL
                   && strstr (err, cases[i].says) != NULL,
                   "case %zu: %s", i, err);
  }
  /* Bias of 3 values for 4 output channels (its size kept consistent). */
  memcpy (g, f, n);
  put32 (g + toff + 3 * 64 + 8, 3);
  put64 (g + toff + 3 * 64 + 40, 12);
  reseal (g, n);
  q8_status st = load (g, n, err, sizeof err);
  ck_assert_msg (st == Q8_ETENSOR && strstr (err, "bias 3 'b' has 3") != NULL,
                 "%s (%s)", q8_status_str (st), err);
  /* Output with 5 channels for 4 filters. */
  memcpy (g, f, n);
  put32 (g + toff + 1 * 64 + 20, 5);
  reseal (g, n);
  st = load (g, n, err, sizeof err);
  ck_assert_msg (st == Q8_ETENSOR && strstr (err, "output y 1 'y' has 5"),
                 "%s (%s)", q8_status_str (st), err);
  free (g);
  free (f);
}
END_TEST

/* x (s8, c channels) -> UNARY TABLE with a const s8 table of dims -> y. */
static q8_status
write_table_model (int32_t c, int rank, const int32_t *dims, char *err,
                   size_t es)
{
  q8_builder *b = q8_builder_new ();
  size_t nt = 1;
  for (int i = 0; i < rank; i++)
    nt *= (size_t) dims[i];
  int8_t *table = calloc (nt, 1);
  int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_S8, c, 0.1f, 0);
  int64_t y = q8_builder_add_activation (b, "y", Q8_DTYPE_S8, c, 0.1f, 0);
  int64_t t = q8_builder_add_const (b, "lut", Q8_DTYPE_S8, rank, dims, table,
                                    1.0f, 0, NULL);
  int32_t p[Q8_MAX_OP_PARAMS] = { 0 };
  p[Q8_UNARY_KIND] = Q8_UNARY_TABLE;
  ck_assert_int_ge (q8_builder_add_op (b, Q8_OP_UNARY, 2,
                                       (uint32_t[]) { x, t }, 1,
                                       (uint32_t[]) { y }, p,
                                       Q8_MAX_OP_PARAMS), 0);
  q8_builder_add_input (b, (uint32_t) x);
  q8_builder_add_output (b, (uint32_t) y);
  void *data = NULL;
  size_t size;
  q8_status st = q8_builder_write (b, &data, &size, err, es);
  free (data);
  free (table);
  q8_builder_free (b);
  return st;
}

/* A lookup table must have exactly 256 entries (or 256 per channel): any
 * other size would let the kernel read past it. */
START_TEST (test_lut_size)
{
  char err[256] = "";
  ck_assert_int_eq (write_table_model (3, 1, (const int32_t[]) { 256 }, err,
                                       sizeof err), Q8_OK);
  ck_assert_int_eq (write_table_model (3, 2, (const int32_t[]) { 3, 256 },
                                       err, sizeof err), Q8_OK);
  static const struct {
    int rank;
    int32_t dims[2];
  } bad[] = {
    { 1, { 255 } }, { 1, { 257 } }, { 1, { 1 } }, { 2, { 2, 256 } },
    { 2, { 4, 256 } }, { 2, { 3, 128 } }, { 2, { 1, 256 } },
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    q8_status st = write_table_model (3, bad[i].rank, bad[i].dims, err,
                                      sizeof err);
    ck_assert_msg (st == Q8_EOP, "table %d-d [%d, %d]: %s (%s)", bad[i].rank,
                   bad[i].dims[0], bad[i].dims[1], q8_status_str (st), err);
    ck_assert_msg (strstr (err, "table 'lut'") != NULL, "%s", err);
  }
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

/* Output bytes of model m on a fixed 8x8 input. */
static void
run_8x8 (const q8_model *m, int8_t out[8 * 8 * 4])
{
  q8_plan *p;
  char err[256];
  ck_assert_msg (q8_plan_create (m, 8, 8, 1, &p, err, sizeof err) == Q8_OK,
                 "%s", err);
  int8_t *in = q8_plan_input (p, 0);
  for (int i = 0; i < 8 * 8 * 3; i++)
    in[i] = (int8_t) (i * 37 % 256 - 128);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  memcpy (out, q8_plan_output (p, 0), 8 * 8 * 4);
  q8_plan_free (p);
}

static void
write_file (const char *path, const void *bytes, size_t n)
{
  FILE *fp = fopen (path, "wb");
  ck_assert_ptr_nonnull (fp);
  ck_assert_uint_eq (fwrite (bytes, 1, n, fp), n);
  ck_assert_int_eq (fclose (fp), 0);
}

/* q8_model_load_file reads the whole file into memory (no mmap): a model
 * file truncated or overwritten after loading does not touch the loaded
 * model, and one truncated while it is read is refused as truncated. */
START_TEST (test_file_changes)
{
  char err[256];
  size_t n;
  uint8_t *f = valid_model (&n);
  char path[] = "/tmp/q8-test-XXXXXX";
  int fd = mkstemp (path);
  ck_assert_int_ge (fd, 0);
  close (fd);
  int8_t want[8 * 8 * 4], got[8 * 8 * 4];
  q8_model *ref, *m;
  ck_assert_int_eq (q8_model_load_buffer (f, n, &ref, err, sizeof err),
                    Q8_OK);
  run_8x8 (ref, want);

  /* After loading: truncated to nothing, then overwritten with junk. */
  write_file (path, f, n);
  ck_assert_int_eq (q8_model_load_file (path, &m, err, sizeof err), Q8_OK);
  ck_assert_int_eq (truncate (path, 0), 0);
  run_8x8 (m, got);
  ck_assert_mem_eq (got, want, sizeof want);
  memset (f + 128, 0xA5, n - 128);
  write_file (path, f, n);
  run_8x8 (m, got);
  ck_assert_mem_eq (got, want, sizeof want);
  q8_model_free (m);
  free (f);
  f = valid_model (&n);

  /* While loading: the file shrinks between fstat () and read (). */
  static const off_t cut[] = { 0, 5, 100, 128, 300 };
  for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
    write_file (path, f, n);
    truncate_path = path;
    truncate_to = cut[i];
    m = (q8_model *) 1;
    q8_status st = q8_model_load_file (path, &m, err, sizeof err);
    ck_assert_ptr_null (truncate_path); /* the wrapper did run */
    ck_assert_ptr_null (m);
    ck_assert_msg (st == (cut[i] < 8 ? Q8_EMAGIC : Q8_ETRUNC),
                   "cut at %lld: %s (%s)", (long long) cut[i],
                   q8_status_str (st), err);
    ck_assert_msg (strstr (err, path) != NULL, "%s", err);
  }
  q8_model_free (ref);
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
  tcase_add_test (tc, test_dims_overflow);
  tcase_add_test (tc, test_offsets_past_end);
  tcase_add_test (tc, test_op_params_inconsistent);
  tcase_add_test (tc, test_lut_size);
  tcase_add_test (tc, test_random_flips);
  tcase_add_test (tc, test_files);
  tcase_add_test (tc, test_file_changes);
  suite_add_tcase (s, tc);
  return s;
}
