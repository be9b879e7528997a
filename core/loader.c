/* loader.c - reads and validates a .q8 file (core/FORMAT.md).
 *
 * The bytes are hostile: every count, offset and size is checked against
 * the bytes that remain (as a subtraction, so no addition can wrap), every
 * product of dimensions is overflow-checked, and every op is validated by
 * its class before anything runs.  Everything kept is copied into the
 * model, so the caller's bytes may go away after loading.
 *
 * Files are read with read (), not mmap (): a file truncated on disk under
 * a mapping raises SIGBUS in whoever touches the lost pages, and a model
 * may be replaced while a pipeline runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "q8_internal.h"

#define HEADER_SIZE 128
#define TENSOR_SIZE 64
#define OP_SIZE 128
#define META_SIZE 24
#define MAX_FILE ((size_t) 1 << 30)

static const uint8_t magic[8] = { 0x89, 'Q', '8', 'M', 0x0D, 0x0A, 0x1A,
                                  0x0A };

/* Little-endian reads, whatever the host. */
static uint16_t
rd16 (const uint8_t *p)
{
  return (uint16_t) (p[0] | p[1] << 8);
}

static uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
         | (uint32_t) p[3] << 24;
}

static uint64_t
rd64 (const uint8_t *p)
{
  return (uint64_t) rd32 (p) | (uint64_t) rd32 (p + 4) << 32;
}

static float
rdf32 (const uint8_t *p)
{
  uint32_t u = rd32 (p);
  float f;
  memcpy (&f, &u, sizeof f);
  return f;
}

typedef struct {
  const uint8_t *b;
  size_t size;
  uint64_t off[6], len[6]; /* tensors, ops, meta, io, strings, data */
  const char *strings;     /* model-owned copy */
  size_t strings_size;
} reader;

enum { S_TENSORS, S_OPS, S_META, S_IO, S_STRINGS, S_DATA };
static const char *const section_names[6] = { "tensors", "ops", "metadata",
                                              "io", "strings", "data" };

/* The string at table offset off, or NULL if it is not a NUL-terminated
 * string of at most 255 bytes inside the table. */
static const char *
get_string (const reader *r, uint64_t off)
{
  if (off >= r->strings_size)
    return NULL;
  size_t left = r->strings_size - (size_t) off;
  const char *s = r->strings + off;
  const char *nul = memchr (s, '\0', left < 256 ? left : 256);
  return nul != NULL ? s : NULL;
}

static q8_status
check_header (reader *r, uint32_t counts[5], char *err, size_t es)
{
  const uint8_t *h = r->b;
  if (r->size < 8 || memcmp (h, magic, 8) != 0)
    return q8__err (err, es, Q8_EMAGIC,
                    "not a q8 model: the file does not start with the q8 "
                    "magic bytes");
  if (r->size < HEADER_SIZE)
    return q8__err (err, es, Q8_ETRUNC,
                    "file has %zu bytes, the header alone needs %d", r->size,
                    HEADER_SIZE);
  if (rd16 (h + 8) != 1)
    return q8__err (err, es, Q8_EVERSION,
                    "format version %u.%u, this reader knows 1.x",
                    rd16 (h + 8), rd16 (h + 10));
  if (rd32 (h + 12) != HEADER_SIZE)
    return q8__err (err, es, Q8_EBOUNDS, "header_size %u, expected %d",
                    rd32 (h + 12), HEADER_SIZE);
  uint64_t fsize = rd64 (h + 16);
  if (fsize > r->size)
    return q8__err (err, es, Q8_ETRUNC,
                    "file truncated: header says %llu bytes, got %zu",
                    (unsigned long long) fsize, r->size);
  if (fsize < r->size)
    return q8__err (err, es, Q8_EBOUNDS,
                    "header says %llu bytes but the file has %zu",
                    (unsigned long long) fsize, r->size);
  uint32_t stored = rd32 (h + 24);
  static const uint8_t zero[4] = { 0, 0, 0, 0 };
  uint32_t crc = q8_crc32 (0, h, 24);
  crc = q8_crc32 (crc, zero, 4);
  crc = q8_crc32 (crc, h + 28, r->size - 28);
  if (crc != stored)
    return q8__err (err, es, Q8_ECHECKSUM,
                    "checksum mismatch: stored %08x, computed %08x", stored,
                    crc);
  if (rd32 (h + 28) != 0 || rd32 (h + 52) != 0 || rd64 (h + 120) != 0)
    return q8__err (err, es, Q8_EBOUNDS, "reserved header fields not zero");

  static const uint32_t lo[5] = { 1, 1, 0, 1, 1 };
  static const uint32_t hi[5] = { 65536, 65536, 4096, 8, 8 };
  static const char *const what[5] = { "n_tensors", "n_ops", "n_meta",
                                       "n_inputs", "n_outputs" };
  for (int i = 0; i < 5; i++) {
    counts[i] = rd32 (h + 32 + 4 * i);
    if (counts[i] < lo[i] || counts[i] > hi[i])
      return q8__err (err, es, Q8_EBOUNDS, "%s = %u, must be %u..%u",
                      what[i], counts[i], lo[i], hi[i]);
  }
  r->off[S_TENSORS] = rd64 (h + 56);
  r->len[S_TENSORS] = (uint64_t) counts[0] * TENSOR_SIZE;
  r->off[S_OPS] = rd64 (h + 64);
  r->len[S_OPS] = (uint64_t) counts[1] * OP_SIZE;
  r->off[S_META] = rd64 (h + 72);
  r->len[S_META] = (uint64_t) counts[2] * META_SIZE;
  r->off[S_IO] = rd64 (h + 80);
  r->len[S_IO] = (uint64_t) (counts[3] + counts[4]) * 4;
  r->off[S_STRINGS] = rd64 (h + 88);
  r->len[S_STRINGS] = rd64 (h + 96);
  r->off[S_DATA] = rd64 (h + 104);
  r->len[S_DATA] = rd64 (h + 112);
  if (r->len[S_STRINGS] < 1 || r->len[S_STRINGS] > ((uint64_t) 1 << 20))
    return q8__err (err, es, Q8_EBOUNDS,
                    "strings_size %llu, must be 1..1048576",
                    (unsigned long long) r->len[S_STRINGS]);

  for (int i = 0; i < 6; i++) {
    uint64_t align = i == S_DATA ? 64 : 8;
    if (r->off[i] < HEADER_SIZE || r->off[i] > r->size
        || r->len[i] > r->size - r->off[i] || r->off[i] % align != 0)
      return q8__err (err, es, Q8_EBOUNDS,
                      "%s section at %llu (+%llu bytes) is outside the "
                      "%zu-byte file or not %llu-byte aligned",
                      section_names[i], (unsigned long long) r->off[i],
                      (unsigned long long) r->len[i], r->size,
                      (unsigned long long) align);
    for (int j = 0; j < i; j++)
      if (r->len[i] > 0 && r->len[j] > 0 && r->off[i] < r->off[j] + r->len[j]
          && r->off[j] < r->off[i] + r->len[i])
        return q8__err (err, es, Q8_EBOUNDS,
                        "%s and %s sections overlap", section_names[j],
                        section_names[i]);
  }
  if (r->b[r->off[S_STRINGS]] != '\0')
    return q8__err (err, es, Q8_EBOUNDS,
                    "string table must start with the empty string");
  return Q8_OK;
}

static q8_status
read_tensors (reader *r, q8_model *m, char *err, size_t es)
{
  const uint8_t *data = r->b + r->off[S_DATA];
  uint64_t dsize = r->len[S_DATA];
  for (uint32_t t = 0; t < m->n_tensors; t++) {
    const uint8_t *p = r->b + r->off[S_TENSORS] + (size_t) t * TENSOR_SIZE;
    q8__tensor *x = &m->tensors[t];
    x->name = get_string (r, rd32 (p));
    if (x->name == NULL)
      return q8__err (err, es, Q8_ETENSOR,
                      "tensor %u: name offset %u is not a string in the "
                      "table", t, rd32 (p));
    x->dtype = (q8_dtype) p[4];
    x->is_const = p[5] != 0;
    x->rank = p[6];
    bool per_channel = p[7] != 0;
    size_t esize = q8_dtype_size (x->dtype);
    if (esize == 0 || p[5] > 1 || p[7] > 1)
      return q8__err (err, es, Q8_ETENSOR,
                      "tensor %u '%s': dtype %u / flags %u,%u invalid", t,
                      x->name, p[4], p[5], p[7]);
    for (int i = 0; i < 4; i++)
      x->dims[i] = (int32_t) rd32 (p + 8 + 4 * i);
    x->scale = rdf32 (p + 24);
    x->zero_point = (int32_t) rd32 (p + 28);
    uint64_t doff = rd64 (p + 32), dlen = rd64 (p + 40), soff = rd64 (p + 48);
    if (rd64 (p + 56) != 0)
      return q8__err (err, es, Q8_ETENSOR,
                      "tensor %u '%s': reserved field not zero", t, x->name);

    bool quantized = x->dtype == Q8_DTYPE_S8 || x->dtype == Q8_DTYPE_U8;
    if (!x->is_const) {
      if (x->rank != 4 || x->dims[0] != 1 || x->dims[1] != 0
          || x->dims[2] != 0 || x->dims[3] < 1 || x->dims[3] > 65536
          || !quantized || per_channel || doff || dlen || soff)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': an activation must be s8/u8 with "
                        "dims {1, 0, 0, C}, C in 1..65536, and no data",
                        t, x->name);
    } else {
      if (x->rank < 1 || x->rank > 4)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': rank %d, must be 1..4", t, x->name,
                        x->rank);
      size_t n = esize;
      for (int i = 0; i < 4; i++) {
        if (i < x->rank
            && (x->dims[i] < 1 || x->dims[i] > (1 << 24)))
          return q8__err (err, es, Q8_ETENSOR,
                          "tensor %u '%s': dim %d is %d, must be 1..16777216",
                          t, x->name, i, x->dims[i]);
        if (i >= x->rank && x->dims[i] != 0)
          return q8__err (err, es, Q8_ETENSOR,
                          "tensor %u '%s': dim %d beyond rank %d not 0", t,
                          x->name, i, x->rank);
        if (i < x->rank && !q8__mul_size (n, (size_t) x->dims[i], &n))
          return q8__err (err, es, Q8_EOVERFLOW,
                          "tensor %u '%s': size of dims overflows", t,
                          x->name);
      }
      if (dlen != n)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': data_size %llu but its dims of %s "
                        "need %zu bytes", t, x->name,
                        (unsigned long long) dlen, q8_dtype_name (x->dtype),
                        n);
      if (doff % 64 != 0 || doff > dsize || dlen > dsize - doff)
        return q8__err (err, es, Q8_EBOUNDS,
                        "tensor %u '%s': data at %llu (+%zu) outside the "
                        "%llu-byte data section or not 64-byte aligned", t,
                        x->name, (unsigned long long) doff, n,
                        (unsigned long long) dsize);
      x->data = (const uint8_t *) m->data + doff;
      x->nbytes = n;
      if (per_channel) {
        size_t nc = (size_t) x->dims[0];
        if (x->dtype != Q8_DTYPE_S8 || soff % 4 != 0 || soff > dsize
            || nc * 4 > dsize - soff)
          return q8__err (err, es, Q8_EBOUNDS,
                          "tensor %u '%s': per-channel scales at %llu "
                          "outside the data section, misaligned, or not s8",
                          t, x->name, (unsigned long long) soff);
        x->channel_scales
            = (const float *) (const void *) ((const uint8_t *) m->data
                                               + soff);
        for (size_t c = 0; c < nc; c++) {
          float s = rdf32 (data + soff + 4 * c);
          if (!isfinite (s) || s <= 0)
            return q8__err (err, es, Q8_ETENSOR,
                            "tensor %u '%s': channel %zu scale %g is not "
                            "finite and positive", t, x->name, c, (double) s);
        }
        if (x->zero_point != 0)
          return q8__err (err, es, Q8_ETENSOR,
                          "tensor %u '%s': per-channel weights need zero "
                          "point 0, not %d", t, x->name, x->zero_point);
        continue;
      }
      if (soff != 0)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': scales_offset set without "
                        "per_channel", t, x->name);
    }
    if (quantized) {
      if (!isfinite (x->scale) || x->scale <= 0)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': scale %g is not finite and "
                        "positive", t, x->name, (double) x->scale);
      int32_t zlo = x->dtype == Q8_DTYPE_S8 ? -128 : 0;
      int32_t zhi = x->dtype == Q8_DTYPE_S8 ? 127 : 255;
      if (x->zero_point < zlo || x->zero_point > zhi)
        return q8__err (err, es, Q8_ETENSOR,
                        "tensor %u '%s': zero point %d outside %d..%d", t,
                        x->name, x->zero_point, zlo, zhi);
    }
  }
  return Q8_OK;
}

static q8_status
read_graph (reader *r, q8_model *m, char *err, size_t es)
{
  /* writer[t]: 0 = nobody, 1 = graph input, 2 + i = op i. */
  uint32_t *writer = calloc (m->n_tensors, sizeof *writer);
  if (writer == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  q8_status st = Q8_OK;

  const uint8_t *io = r->b + r->off[S_IO];
  for (uint32_t i = 0; i < m->n_inputs + m->n_outputs; i++) {
    uint32_t t = rd32 (io + 4 * i);
    bool in = i < m->n_inputs;
    if (t >= m->n_tensors || m->tensors[t].is_const) {
      st = q8__err (err, es, Q8_EOP,
                    "graph %s %u: tensor %u is not an activation",
                    in ? "input" : "output", in ? i : i - m->n_inputs, t);
      goto out;
    }
    if (in) {
      m->inputs[i] = t;
      writer[t] = 1;
    } else {
      m->outputs[i - m->n_inputs] = t;
    }
  }

  for (uint32_t i = 0; i < m->n_ops; i++) {
    const uint8_t *p = r->b + r->off[S_OPS] + (size_t) i * OP_SIZE;
    q8__op *op = &m->ops[i];
    op->type = (q8_op_type) rd16 (p);
    op->cls = q8__op_class_for (op->type);
    if (op->cls == NULL) {
      st = q8__err (err, es, Q8_EUNSUPPORTED,
                    "op %u: unknown op type %u (a newer q8 may support it)",
                    i, rd16 (p));
      goto out;
    }
    op->n_inputs = p[4];
    op->n_outputs = p[5];
    if (rd16 (p + 2) != 0 || rd16 (p + 6) != 0 || op->n_inputs < 1
        || op->n_inputs > Q8_MAX_OP_INPUTS || op->n_outputs != 1) {
      st = q8__err (err, es, Q8_EOP,
                    "op %u (%s): %d inputs / %d outputs or reserved fields "
                    "invalid", i, op->cls->name, op->n_inputs, op->n_outputs);
      goto out;
    }
    for (int j = 0; j < Q8_MAX_OP_INPUTS; j++) {
      uint32_t t = rd32 (p + 8 + 4 * j);
      op->inputs[j] = t;
      if (j >= op->n_inputs) {
        if (t != Q8_NO_TENSOR) {
          st = q8__err (err, es, Q8_EOP,
                        "op %u (%s): unused input slot %d not empty", i,
                        op->cls->name, j);
          goto out;
        }
        continue;
      }
      if (t == Q8_NO_TENSOR)
        continue; /* optional; the op's validate decides */
      if (t >= m->n_tensors) {
        st = q8__err (err, es, Q8_EOP,
                      "op %u (%s): input %d is tensor %u of %u", i,
                      op->cls->name, j, t, m->n_tensors);
        goto out;
      }
      if (!m->tensors[t].is_const && writer[t] == 0) {
        st = q8__err (err, es, Q8_EOP,
                      "op %u (%s): input %d '%s' is not written before it "
                      "is read", i, op->cls->name, j, m->tensors[t].name);
        goto out;
      }
    }
    for (int j = 0; j < Q8_MAX_OP_OUTPUTS; j++)
      op->outputs[j] = rd32 (p + 40 + 4 * j);
    uint32_t t = op->outputs[0];
    if (op->outputs[1] != Q8_NO_TENSOR || t >= m->n_tensors
        || m->tensors[t].is_const) {
      st = q8__err (err, es, Q8_EOP,
                    "op %u (%s): output must be one activation tensor", i,
                    op->cls->name);
      goto out;
    }
    if (writer[t] != 0) {
      st = q8__err (err, es, Q8_EOP,
                    "op %u (%s): output '%s' is already written by %s", i,
                    op->cls->name, m->tensors[t].name,
                    writer[t] == 1 ? "the graph input" : "an earlier op");
      goto out;
    }
    writer[t] = 2 + i;
    for (int j = 0; j < Q8_MAX_OP_PARAMS; j++)
      op->params[j] = (int32_t) rd32 (p + 48 + 4 * j);
  }
  for (uint32_t i = 0; i < m->n_outputs; i++)
    if (writer[m->outputs[i]] == 0) {
      st = q8__err (err, es, Q8_EOP, "graph output '%s' is never written",
                    m->tensors[m->outputs[i]].name);
      goto out;
    }
out:
  free (writer);
  return st;
}

static q8_status
read_meta (reader *r, q8_model *m, char *err, size_t es)
{
  for (uint32_t i = 0; i < m->n_meta; i++) {
    const uint8_t *p = r->b + r->off[S_META] + (size_t) i * META_SIZE;
    q8__meta *e = &m->meta[i];
    e->key = get_string (r, rd32 (p));
    if (e->key == NULL || e->key[0] == '\0')
      return q8__err (err, es, Q8_EMETA,
                      "metadata %u: key is not a non-empty string", i);
    for (uint32_t j = 0; j < i; j++)
      if (strcmp (m->meta[j].key, e->key) == 0)
        return q8__err (err, es, Q8_EMETA, "metadata key '%s' repeated",
                        e->key);
    e->type = (q8_meta_type) rd32 (p + 4);
    uint64_t v = rd64 (p + 8);
    switch (e->type) {
      case Q8_META_INT:
        e->i = (int64_t) v;
        break;
      case Q8_META_FLOAT:
        memcpy (&e->f, &v, sizeof e->f);
        if (!isfinite (e->f))
          return q8__err (err, es, Q8_EMETA,
                          "metadata '%s': float is not finite", e->key);
        break;
      case Q8_META_STRING:
        e->s = get_string (r, v);
        if (e->s == NULL)
          return q8__err (err, es, Q8_EMETA,
                          "metadata '%s': value is not a string", e->key);
        break;
      default:
        return q8__err (err, es, Q8_EMETA, "metadata '%s': type %u unknown",
                        e->key, rd32 (p + 4));
    }
  }
  return Q8_OK;
}

q8_status
q8_model_load_buffer (const void *bytes, size_t size, q8_model **out,
                      char *err, size_t es)
{
  if (out == NULL)
    return q8__err (err, es, Q8_EINVAL, "no model pointer given");
  *out = NULL;
  if (bytes == NULL && size > 0)
    return q8__err (err, es, Q8_EINVAL, "no bytes given");
  if (size > MAX_FILE)
    return q8__err (err, es, Q8_ETOOBIG, "model of %zu bytes exceeds %zu",
                    size, MAX_FILE);
  reader r = { .b = bytes, .size = size };
  uint32_t counts[5];
  q8_status st = check_header (&r, counts, err, es);
  if (st < 0)
    return st;

  q8_model *m = calloc (1, sizeof *m);
  if (m == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");
  m->file_size = size;
  m->n_tensors = counts[0];
  m->n_ops = counts[1];
  m->n_meta = counts[2];
  m->n_inputs = counts[3];
  m->n_outputs = counts[4];
  m->strings_size = (size_t) r.len[S_STRINGS];
  m->data_size = (size_t) r.len[S_DATA];
  m->strings = malloc (m->strings_size);
  m->data = q8__alloc (m->data_size);
  m->tensors = calloc (m->n_tensors, sizeof *m->tensors);
  m->ops = calloc (m->n_ops, sizeof *m->ops);
  m->meta = calloc (m->n_meta ? m->n_meta : 1, sizeof *m->meta);
  m->inputs = calloc (m->n_inputs, sizeof *m->inputs);
  m->outputs = calloc (m->n_outputs, sizeof *m->outputs);
  if (!m->strings || !m->data || !m->tensors || !m->ops || !m->meta
      || !m->inputs || !m->outputs) {
    st = q8__err (err, es, Q8_ENOMEM, "out of memory");
    goto fail;
  }
  memcpy (m->strings, r.b + r.off[S_STRINGS], m->strings_size);
  memcpy (m->data, r.b + r.off[S_DATA], m->data_size);
  r.strings = m->strings;
  r.strings_size = m->strings_size;

  if ((st = read_tensors (&r, m, err, es)) < 0
      || (st = read_graph (&r, m, err, es)) < 0
      || (st = read_meta (&r, m, err, es)) < 0)
    goto fail;

  for (uint32_t i = 0; i < m->n_ops; i++) {
    q8__op *op = &m->ops[i];
    char msg[192] = "";
    /* Ops whose class is not yet written (validate == NULL) cannot be
     * checked, so they are refused rather than trusted. */
    if (op->cls->validate == NULL || op->cls->reshape == NULL
        || op->cls->run == NULL) {
      st = q8__err (err, es, Q8_EUNSUPPORTED,
                    "op %u (%s): not implemented in this build", i,
                    op->cls->name);
      goto fail;
    }
    st = op->cls->validate (m, op, msg, sizeof msg);
    if (st >= 0 && op->cls->prepare != NULL)
      st = op->cls->prepare (m, op, msg, sizeof msg);
    if (st < 0) {
      st = q8__err (err, es, st, "op %u (%s): %s", i, op->cls->name, msg);
      goto fail;
    }
  }
  *out = m;
  return Q8_OK;

fail:
  q8_model_free (m);
  return st;
}

q8_status
q8_model_load_file (const char *path, q8_model **out, char *err, size_t es)
{
  if (out == NULL || path == NULL)
    return q8__err (err, es, Q8_EINVAL, "no path or model pointer given");
  *out = NULL;
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return q8__err (err, es, Q8_EIO, "%s: %s", path, strerror (errno));
  struct stat sb;
  if (fstat (fd, &sb) != 0 || !S_ISREG (sb.st_mode)) {
    close (fd);
    return q8__err (err, es, Q8_EIO, "%s: not a regular file", path);
  }
  if ((uint64_t) sb.st_size > MAX_FILE) {
    close (fd);
    return q8__err (err, es, Q8_ETOOBIG, "%s: %lld bytes exceeds %zu", path,
                    (long long) sb.st_size, MAX_FILE);
  }
  size_t size = (size_t) sb.st_size;
  uint8_t *buf = malloc (size ? size : 1);
  if (buf == NULL) {
    close (fd);
    return q8__err (err, es, Q8_ENOMEM, "%s: out of memory", path);
  }
  /* The file may shrink while we read: the loader then sees fewer bytes
   * and reports truncation. */
  size_t got = 0;
  while (got < size) {
    ssize_t n = read (fd, buf + got, size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t) n;
  }
  close (fd);
  char msg[256] = "";
  q8_status st = q8_model_load_buffer (buf, got, out, msg, sizeof msg);
  free (buf);
  if (st < 0)
    q8__err (err, es, st, "%s: %s", path, msg);
  return st;
}
