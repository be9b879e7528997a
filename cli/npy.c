/* npy.c - the NumPy .npy reader and writer of the q8 tool (see npy.h).
 *
 * A .npy file is a 6-byte magic "\x93NUMPY", a version byte pair, a header
 * length (u16 in version 1.0, u32 in 2.0 and 3.0), and that many bytes of
 * a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 4, 4), }
 * padded with spaces and ended by '\n'; the raw array data follows.
 * The reader accepts exactly that grammar (keys in any order, either quote,
 * optional trailing commas) and nothing else: no escapes, no other dtypes,
 * no Fortran order, no trailing bytes after the data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npy.h"

static const unsigned char npy_magic[6] = { 0x93, 'N', 'U', 'M', 'P', 'Y' };

static int
fail (char *err, size_t err_size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
fail (char *err, size_t err_size, const char *fmt, ...)
{
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, err_size, fmt, ap);
    va_end (ap);
  }
  return -1;
}

const char *
npy_dtype_name (npy_dtype dtype)
{
  return dtype == NPY_F32 ? "float32" : dtype == NPY_U8 ? "uint8" : "unknown";
}

static size_t
dtype_size (npy_dtype dtype)
{
  return dtype == NPY_F32 ? 4 : 1;
}

/* Writes a shape as Python prints a tuple: "()", "(5,)", "(1, 2, 3)". */
static void
format_shape (char *buf, size_t size, int ndim, const size_t *shape)
{
  size_t n = (size_t) snprintf (buf, size, "(");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t) snprintf (buf + n, size - n, "%s%zu", i > 0 ? ", " : "",
                            shape[i]);
  if (n < size)
    snprintf (buf + n, size - n, ndim == 1 ? ",)" : ")");
}

/* Converts between little-endian file order and host order in place. */
static void
swap_to_host (void *data, npy_dtype dtype, size_t count)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  if (dtype == NPY_F32) {
    uint32_t *p = data;
    for (size_t i = 0; i < count; i++)
      p[i] = __builtin_bswap32 (p[i]);
  }
#else
  (void) data;
  (void) dtype;
  (void) count;
#endif
}

/* ---- header dictionary parser ------------------------------------------- */

typedef struct {
  const char *start, *p, *end;
} cursor;

static void
skip_spaces (cursor *c)
{
  while (c->p < c->end && *c->p == ' ')
    c->p++;
}

/* Consumes ch (after spaces) if it is next. */
static bool
accept (cursor *c, char ch)
{
  skip_spaces (c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

/* A quoted string without escapes, at most out_size - 1 bytes. */
static int
parse_string (cursor *c, char *out, size_t out_size, char *err,
              size_t err_size)
{
  skip_spaces (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return fail (err, err_size, "header: expected a quoted string at byte %td",
                 c->p - c->start);
  char quote = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != quote) {
    if (*c->p == '\\')
      return fail (err, err_size, "header: escapes in strings not supported");
    if (n + 1 >= out_size)
      return fail (err, err_size, "header: string longer than %zu bytes",
                   out_size - 1);
    out[n++] = *c->p++;
  }
  if (c->p >= c->end)
    return fail (err, err_size, "header: unterminated string");
  c->p++;
  out[n] = '\0';
  return 0;
}

/* True if the word w is next and not followed by an identifier letter. */
static bool
accept_word (cursor *c, const char *w)
{
  skip_spaces (c);
  size_t n = strlen (w);
  if ((size_t) (c->end - c->p) < n || memcmp (c->p, w, n) != 0)
    return false;
  if ((size_t) (c->end - c->p) > n) {
    char next = c->p[n];
    if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z')
        || (next >= '0' && next <= '9') || next == '_')
      return false;
  }
  c->p += n;
  return true;
}

/* A non-negative decimal integer without sign or leading zeros. */
static int
parse_dim (cursor *c, size_t *out, char *err, size_t err_size)
{
  skip_spaces (c);
  if (c->p >= c->end || *c->p < '0' || *c->p > '9')
    return fail (err, err_size, "header: 'shape' must hold integers");
  if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
    return fail (err, err_size, "header: dimension with a leading zero");
  size_t v = 0;
  while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
    if (__builtin_mul_overflow (v, (size_t) 10, &v)
        || __builtin_add_overflow (v, (size_t) (*c->p - '0'), &v))
      return fail (err, err_size, "header: dimension too large");
    c->p++;
  }
  *out = v;
  return 0;
}

/* A Python tuple of at most NPY_MAX_DIMS integers: "()", "(5,)",
 * "(1, 2)" or "(1, 2,)".  "(5)" is an int in Python, not a tuple. */
static int
parse_shape (cursor *c, npy_array *a, char *err, size_t err_size)
{
  if (!accept (c, '('))
    return fail (err, err_size, "header: 'shape' must be a tuple");
  a->ndim = 0;
  if (accept (c, ')'))
    return 0;
  for (;;) {
    if (a->ndim == NPY_MAX_DIMS)
      return fail (err, err_size,
                   "shape has more than %d dimensions (not supported)",
                   NPY_MAX_DIMS);
    if (parse_dim (c, &a->shape[a->ndim], err, err_size) < 0)
      return -1;
    a->ndim++;
    bool comma = accept (c, ',');
    if (accept (c, ')')) {
      if (a->ndim == 1 && !comma)
        return fail (err, err_size, "header: 'shape' (n) is not a tuple");
      return 0;
    }
    if (!comma)
      return fail (err, err_size, "header: malformed 'shape' tuple");
  }
}

/* Parses the dict in header[0..len), len excluding the final '\n'. */
static int
parse_dict (const char *header, size_t len, npy_array *a, char *err,
            size_t err_size)
{
  cursor c = { header, header, header + len };
  bool have_descr = false, have_order = false, have_shape = false;
  if (!accept (&c, '{'))
    return fail (err, err_size, "header: not a dictionary");
  while (!accept (&c, '}')) {
    char key[32], descr[32];
    if (parse_string (&c, key, sizeof key, err, err_size) < 0)
      return -1;
    if (!accept (&c, ':'))
      return fail (err, err_size, "header: expected ':' after '%s'", key);
    if (strcmp (key, "descr") == 0 && !have_descr) {
      if (parse_string (&c, descr, sizeof descr, err, err_size) < 0)
        return -1;
      if (strcmp (descr, "<f4") == 0)
        a->dtype = NPY_F32;
      else if (strcmp (descr, "|u1") == 0)
        a->dtype = NPY_U8;
      else
        return fail (err, err_size,
                     "dtype '%s' not supported (only '<f4', little-endian "
                     "float32, and '|u1', uint8)",
                     descr);
      have_descr = true;
    } else if (strcmp (key, "fortran_order") == 0 && !have_order) {
      if (accept_word (&c, "True"))
        return fail (err, err_size,
                     "Fortran-ordered arrays not supported; save a C-ordered "
                     "one (numpy.ascontiguousarray)");
      if (!accept_word (&c, "False"))
        return fail (err, err_size,
                     "header: 'fortran_order' must be True or False");
      have_order = true;
    } else if (strcmp (key, "shape") == 0 && !have_shape) {
      if (parse_shape (&c, a, err, err_size) < 0)
        return -1;
      have_shape = true;
    } else if (strcmp (key, "descr") == 0 || strcmp (key, "fortran_order") == 0
               || strcmp (key, "shape") == 0) {
      return fail (err, err_size, "header: key '%s' appears twice", key);
    } else {
      return fail (err, err_size, "header: unexpected key '%s'", key);
    }
    if (!accept (&c, ',')) {
      if (!accept (&c, '}'))
        return fail (err, err_size, "header: expected ',' or '}' after '%s'",
                     key);
      break;
    }
  }
  skip_spaces (&c);
  if (c.p != c.end)
    return fail (err, err_size, "header: unexpected bytes after the dict");
  if (!have_descr || !have_order || !have_shape)
    return fail (err, err_size, "header: missing key '%s'",
                 !have_descr ? "descr" : !have_order ? "fortran_order"
                                                     : "shape");
  return 0;
}

/* Parses the preamble and header found in buf[0..avail) of a file of total
 * bytes (avail <= total): fills a (but not a->data) and *data_offset, and
 * checks that the data bytes match the shape exactly. */
static int
parse_preamble (const unsigned char *buf, size_t avail, size_t total,
                npy_array *a, size_t *data_offset, char *err, size_t err_size)
{
  memset (a, 0, sizeof *a);
  if (total < 10)
    return fail (err, err_size,
                 "truncated: %zu bytes, a .npy file has at least 10", total);
  if (memcmp (buf, npy_magic, sizeof npy_magic) != 0)
    return fail (err, err_size, "not a .npy file (bad magic)");
  unsigned major = buf[6], minor = buf[7];
  size_t pre, hlen;
  if (major == 1 && minor == 0) {
    pre = 10;
    hlen = (size_t) buf[8] | (size_t) buf[9] << 8;
  } else if ((major == 2 || major == 3) && minor == 0) {
    if (total < 12)
      return fail (err, err_size, "truncated: %zu bytes, a version %u .npy "
                   "file has at least 12", total, major);
    pre = 12;
    hlen = (size_t) buf[8] | (size_t) buf[9] << 8 | (size_t) buf[10] << 16
           | (size_t) buf[11] << 24;
  } else {
    return fail (err, err_size, "unsupported .npy format version %u.%u",
                 major, minor);
  }
  if (hlen > NPY_MAX_HEADER)
    return fail (err, err_size, "header of %zu bytes exceeds the %d-byte limit",
                 hlen, NPY_MAX_HEADER);
  if (hlen > total - pre || hlen > avail - pre)
    return fail (err, err_size,
                 "truncated: the header needs %zu bytes, the file has %zu",
                 pre + hlen, total);
  const char *h = (const char *) buf + pre;
  if (hlen == 0 || h[hlen - 1] != '\n')
    return fail (err, err_size, "header: does not end with a newline");
  for (size_t i = 0; i + 1 < hlen; i++)
    if (h[i] < 0x20 || h[i] > 0x7e)
      return fail (err, err_size, "header: byte %zu is not printable ASCII",
                   i);
  if (parse_dict (h, hlen - 1, a, err, err_size) < 0)
    return -1;

  char shape[128];
  format_shape (shape, sizeof shape, a->ndim, a->shape);
  size_t count = 1, bytes;
  for (int i = 0; i < a->ndim; i++)
    if (__builtin_mul_overflow (count, a->shape[i], &count))
      return fail (err, err_size, "shape %s: element count overflows", shape);
  if (__builtin_mul_overflow (count, dtype_size (a->dtype), &bytes))
    return fail (err, err_size, "shape %s: byte size overflows", shape);
  a->count = count;
  *data_offset = pre + hlen;
  if (bytes != total - *data_offset)
    return fail (err, err_size,
                 "shape %s of %s needs %zu data bytes, the file has %zu",
                 shape, npy_dtype_name (a->dtype), bytes,
                 total - *data_offset);
  return 0;
}

int
npy_read_buffer (const void *buf, size_t size, npy_array *a, char *err,
                 size_t err_size)
{
  size_t off = 0;
  if (parse_preamble (buf, size, size, a, &off, err, err_size) < 0)
    return -1;
  size_t bytes = a->count * dtype_size (a->dtype);
  a->data = malloc (bytes > 0 ? bytes : 1);
  if (a->data == NULL)
    return fail (err, err_size, "out of memory (%zu bytes of data)", bytes);
  memcpy (a->data, (const unsigned char *) buf + off, bytes);
  swap_to_host (a->data, a->dtype, a->count);
  return 0;
}

int
npy_read_file (const char *path, npy_array *a, char *err, size_t err_size)
{
  memset (a, 0, sizeof *a);
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return fail (err, err_size, "cannot open: %s", strerror (errno));
  int ret = -1;
  struct stat st;
  if (fstat (fileno (f), &st) != 0 || !S_ISREG (st.st_mode)) {
    fail (err, err_size, "not a regular file");
    goto out;
  }
  size_t total = (size_t) st.st_size;
  unsigned char pre[12 + NPY_MAX_HEADER];
  size_t avail = total < sizeof pre ? total : sizeof pre;
  if (fread (pre, 1, avail, f) != avail) {
    fail (err, err_size, "read error");
    goto out;
  }
  size_t off = 0;
  if (parse_preamble (pre, avail, total, a, &off, err, err_size) < 0)
    goto out;
  size_t bytes = a->count * dtype_size (a->dtype);
  a->data = malloc (bytes > 0 ? bytes : 1);
  if (a->data == NULL) {
    fail (err, err_size, "out of memory (%zu bytes of data)", bytes);
    goto out;
  }
  if (fseek (f, (long) off, SEEK_SET) != 0
      || fread (a->data, 1, bytes, f) != bytes) {
    fail (err, err_size, "read error (file changed while reading?)");
    goto out;
  }
  swap_to_host (a->data, a->dtype, a->count);
  ret = 0;
out:
  if (ret < 0)
    npy_free (a);
  fclose (f);
  return ret;
}

int
npy_write_file (const char *path, npy_dtype dtype, int ndim,
                const size_t *shape, const void *data, char *err,
                size_t err_size)
{
  if (ndim < 0 || ndim > NPY_MAX_DIMS
      || (dtype != NPY_F32 && dtype != NPY_U8))
    return fail (err, err_size, "cannot write %d dimensions of dtype %d",
                 ndim, (int) dtype);
  size_t count = 1, bytes;
  for (int i = 0; i < ndim; i++)
    if (__builtin_mul_overflow (count, shape[i], &count))
      return fail (err, err_size, "element count overflows");
  if (__builtin_mul_overflow (count, dtype_size (dtype), &bytes))
    return fail (err, err_size, "byte size overflows");

  /* Header padded with spaces so that the data starts on a 64-byte
   * boundary, as numpy writes it. */
  char s[128], header[256];
  format_shape (s, sizeof s, ndim, shape);
  int n = snprintf (header, sizeof header,
                    "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                    dtype == NPY_F32 ? "<f4" : "|u1", s);
  size_t len = (size_t) n;
  size_t padded = (10 + len + 1 + 63) / 64 * 64 - 10;
  memset (header + len, ' ', padded - len - 1);
  header[padded - 1] = '\n';

  FILE *f = fopen (path, "wb");
  if (f == NULL)
    return fail (err, err_size, "cannot create: %s", strerror (errno));
  unsigned char pre[10];
  memcpy (pre, npy_magic, sizeof npy_magic);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char) (padded & 0xff);
  pre[9] = (unsigned char) (padded >> 8);
  bool ok = fwrite (pre, 1, sizeof pre, f) == sizeof pre
            && fwrite (header, 1, padded, f) == padded;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  if (dtype == NPY_F32) {
    const uint32_t *p = data;
    for (size_t i = 0; ok && i < count; i++) {
      uint32_t v = __builtin_bswap32 (p[i]);
      ok = fwrite (&v, 4, 1, f) == 1;
    }
  } else
#endif
    ok = ok && fwrite (data, 1, bytes, f) == bytes;
  if (fclose (f) != 0)
    ok = false;
  if (!ok) {
    remove (path);
    return fail (err, err_size, "write error: %s", strerror (errno));
  }
  return 0;
}

void
npy_free (npy_array *a)
{
  if (a == NULL)
    return;
  free (a->data);
  a->data = NULL;
}
