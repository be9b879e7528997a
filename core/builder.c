/* builder.c - writes .q8 files (core/FORMAT.md).
 *
 * The builder collects tensors, ops, graph inputs/outputs and metadata in
 * growable arrays, then serializes them in one pass.  q8_builder_write ()
 * finishes by loading its own output with the full validator, so it never
 * hands out a file the loader would reject.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

typedef struct {
  uint32_t name;
  uint8_t dtype, is_const, rank, per_channel;
  int32_t dims[4];
  float scale;
  int32_t zero_point;
  uint64_t data_off, data_size, scales_off;
} b_tensor;

typedef struct {
  uint16_t type;
  uint8_t n_in;
  uint32_t in[Q8_MAX_OP_INPUTS];
  uint32_t out;
  int32_t params[Q8_MAX_OP_PARAMS];
} b_op;

typedef struct {
  uint32_t key, type;
  uint64_t value;
} b_meta;

typedef struct {
  uint8_t *p;
  size_t n, cap;
} bytes;

struct q8_builder {
  b_tensor *tensors;
  size_t n_tensors, cap_tensors;
  b_op *ops;
  size_t n_ops, cap_ops;
  b_meta *meta;
  size_t n_meta, cap_meta;
  uint32_t inputs[8], outputs[8];
  size_t n_inputs, n_outputs;
  bytes strings;
  bytes data;
};

/* Grows an array of elem-sized items to hold one more. */
static bool
grow (void **p, size_t *cap, size_t n, size_t elem)
{
  if (n < *cap)
    return true;
  size_t c = *cap ? *cap * 2 : 16, sz;
  if (!q8__mul_size (c, elem, &sz))
    return false;
  void *q = realloc (*p, sz);
  if (q == NULL)
    return false;
  *p = q;
  *cap = c;
  return true;
}

/* Appends size bytes (data may be NULL for zeros) after aligning to align;
 * returns the offset or -1. */
static int64_t
bytes_put (bytes *b, const void *data, size_t size, size_t align)
{
  size_t off = (b->n + align - 1) / align * align, end;
  if (!q8__add_size (off, size, &end))
    return -1;
  if (end > b->cap) {
    size_t c = b->cap ? b->cap : 256;
    while (c < end)
      c *= 2;
    uint8_t *q = realloc (b->p, c);
    if (q == NULL)
      return -1;
    b->p = q;
    b->cap = c;
  }
  memset (b->p + b->n, 0, off - b->n);
  if (data != NULL)
    memcpy (b->p + off, data, size);
  else
    memset (b->p + off, 0, size);
  b->n = end;
  return (int64_t) off;
}

/* The offset of string s in the table, adding it if new; -1 on error. */
static int64_t
string_put (q8_builder *b, const char *s)
{
  if (s == NULL)
    s = "";
  size_t len = strlen (s);
  if (len > 255)
    return -1;
  if (len == 0)
    return 0;
  for (size_t i = 1; i + len < b->strings.n;) {
    const char *t = (const char *) b->strings.p + i;
    size_t tl = strlen (t);
    if (tl == len && memcmp (t, s, len) == 0)
      return (int64_t) i;
    i += tl + 1;
  }
  return bytes_put (&b->strings, s, len + 1, 1);
}

q8_builder *
q8_builder_new (void)
{
  q8_builder *b = calloc (1, sizeof *b);
  if (b != NULL && bytes_put (&b->strings, "", 1, 1) < 0) {
    free (b);
    return NULL;
  }
  return b;
}

void
q8_builder_free (q8_builder *b)
{
  if (b == NULL)
    return;
  free (b->tensors);
  free (b->ops);
  free (b->meta);
  free (b->strings.p);
  free (b->data.p);
  free (b);
}

static int64_t
add_tensor (q8_builder *b, const b_tensor *t)
{
  if (b->n_tensors >= 65536)
    return Q8_ETOOBIG;
  if (!grow ((void **) &b->tensors, &b->cap_tensors, b->n_tensors,
             sizeof *b->tensors))
    return Q8_ENOMEM;
  b->tensors[b->n_tensors] = *t;
  return (int64_t) b->n_tensors++;
}

int64_t
q8_builder_add_activation (q8_builder *b, const char *name, q8_dtype dtype,
                           int32_t c, float scale, int32_t zero_point)
{
  if (b == NULL || c < 1 || c > 65536
      || (dtype != Q8_DTYPE_S8 && dtype != Q8_DTYPE_U8))
    return Q8_EINVAL;
  int64_t s = string_put (b, name);
  if (s < 0)
    return Q8_EINVAL;
  b_tensor t = { .name = (uint32_t) s, .dtype = (uint8_t) dtype,
                 .rank = 4, .dims = { 1, 0, 0, c }, .scale = scale,
                 .zero_point = zero_point };
  return add_tensor (b, &t);
}

int64_t
q8_builder_add_const (q8_builder *b, const char *name, q8_dtype dtype,
                      int rank, const int32_t *dims, const void *data,
                      float scale, int32_t zero_point,
                      const float *channel_scales)
{
  size_t esize = q8_dtype_size (dtype);
  if (b == NULL || esize == 0 || rank < 1 || rank > 4 || dims == NULL
      || data == NULL)
    return Q8_EINVAL;
  b_tensor t = { .dtype = (uint8_t) dtype, .is_const = 1,
                 .rank = (uint8_t) rank, .zero_point = zero_point };
  size_t n = esize;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 1 || !q8__mul_size (n, (size_t) dims[i], &n))
      return Q8_EINVAL;
    t.dims[i] = dims[i];
  }
  int64_t s = string_put (b, name);
  int64_t off = bytes_put (&b->data, data, n, 64);
  if (s < 0 || off < 0)
    return s < 0 ? Q8_EINVAL : Q8_ENOMEM;
  t.name = (uint32_t) s;
  t.data_off = (uint64_t) off;
  t.data_size = n;
  if (channel_scales != NULL) {
    int64_t so = bytes_put (&b->data, channel_scales,
                            (size_t) dims[0] * sizeof (float), 4);
    if (so < 0)
      return Q8_ENOMEM;
    t.per_channel = 1;
    t.scales_off = (uint64_t) so;
  } else if (dtype == Q8_DTYPE_S8 || dtype == Q8_DTYPE_U8) {
    t.scale = scale;
  }
  return add_tensor (b, &t);
}

int64_t
q8_builder_add_op (q8_builder *b, q8_op_type type, int n_inputs,
                   const uint32_t *inputs, int n_outputs,
                   const uint32_t *outputs, const int32_t *params,
                   int n_params)
{
  if (b == NULL || n_inputs < 1 || n_inputs > Q8_MAX_OP_INPUTS
      || n_outputs != 1 || inputs == NULL || outputs == NULL || n_params < 0
      || n_params > Q8_MAX_OP_PARAMS || (n_params > 0 && params == NULL))
    return Q8_EINVAL;
  if (b->n_ops >= 65536)
    return Q8_ETOOBIG;
  if (!grow ((void **) &b->ops, &b->cap_ops, b->n_ops, sizeof *b->ops))
    return Q8_ENOMEM;
  b_op *op = &b->ops[b->n_ops];
  memset (op, 0, sizeof *op);
  op->type = (uint16_t) type;
  op->n_in = (uint8_t) n_inputs;
  for (int i = 0; i < Q8_MAX_OP_INPUTS; i++)
    op->in[i] = i < n_inputs ? inputs[i] : Q8_NO_TENSOR;
  op->out = outputs[0];
  for (int i = 0; i < n_params; i++)
    op->params[i] = params[i];
  return (int64_t) b->n_ops++;
}

q8_status
q8_builder_add_input (q8_builder *b, uint32_t tensor)
{
  if (b == NULL || b->n_inputs >= 8)
    return Q8_EINVAL;
  b->inputs[b->n_inputs++] = tensor;
  return Q8_OK;
}

q8_status
q8_builder_add_output (q8_builder *b, uint32_t tensor)
{
  if (b == NULL || b->n_outputs >= 8)
    return Q8_EINVAL;
  b->outputs[b->n_outputs++] = tensor;
  return Q8_OK;
}

static q8_status
add_meta (q8_builder *b, const char *key, uint32_t type, uint64_t value)
{
  if (b == NULL || key == NULL || key[0] == '\0' || b->n_meta >= 4096)
    return Q8_EINVAL;
  int64_t k = string_put (b, key);
  if (k < 0)
    return Q8_EINVAL;
  if (!grow ((void **) &b->meta, &b->cap_meta, b->n_meta, sizeof *b->meta))
    return Q8_ENOMEM;
  b->meta[b->n_meta++] = (b_meta) { (uint32_t) k, type, value };
  return Q8_OK;
}

q8_status
q8_builder_meta_int (q8_builder *b, const char *key, int64_t v)
{
  return add_meta (b, key, Q8_META_INT, (uint64_t) v);
}

q8_status
q8_builder_meta_float (q8_builder *b, const char *key, double v)
{
  uint64_t u;
  memcpy (&u, &v, sizeof u);
  return add_meta (b, key, Q8_META_FLOAT, u);
}

q8_status
q8_builder_meta_string (q8_builder *b, const char *key, const char *v)
{
  if (b == NULL)
    return Q8_EINVAL;
  int64_t s = string_put (b, v);
  if (s < 0)
    return Q8_EINVAL;
  return add_meta (b, key, Q8_META_STRING, (uint64_t) s);
}

static void
wr16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) v;
  p[1] = (uint8_t) (v >> 8);
}

static void
wr32 (uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t) (v >> (8 * i));
}

static void
wr64 (uint8_t *p, uint64_t v)
{
  wr32 (p, (uint32_t) v);
  wr32 (p + 4, (uint32_t) (v >> 32));
}

static size_t
align_up (size_t n, size_t a)
{
  return (n + a - 1) / a * a;
}

q8_status
q8_builder_write (q8_builder *b, void **out, size_t *out_size, char *err,
                  size_t es)
{
  if (b == NULL || out == NULL || out_size == NULL)
    return q8__err (err, es, Q8_EINVAL, "no builder or output given");
  *out = NULL;
  /* Layout: header, tensors, ops, meta, io, strings, data (64-aligned). */
  size_t off_t = 128;
  size_t off_o = off_t + b->n_tensors * 64;
  size_t off_m = off_o + b->n_ops * 128;
  size_t off_io = off_m + b->n_meta * 24;
  size_t off_s = align_up (off_io + (b->n_inputs + b->n_outputs) * 4, 8);
  size_t off_d = align_up (off_s + b->strings.n, 64);
  size_t size = off_d + b->data.n;
  uint8_t *f = calloc (1, size);
  if (f == NULL)
    return q8__err (err, es, Q8_ENOMEM, "out of memory");

  static const uint8_t magic[8] = { 0x89, 'Q', '8', 'M', 0x0D, 0x0A, 0x1A,
                                    0x0A };
  memcpy (f, magic, 8);
  wr16 (f + 8, 1);
  wr16 (f + 10, 0);
  wr32 (f + 12, 128);
  wr64 (f + 16, size);
  wr32 (f + 32, (uint32_t) b->n_tensors);
  wr32 (f + 36, (uint32_t) b->n_ops);
  wr32 (f + 40, (uint32_t) b->n_meta);
  wr32 (f + 44, (uint32_t) b->n_inputs);
  wr32 (f + 48, (uint32_t) b->n_outputs);
  wr64 (f + 56, off_t);
  wr64 (f + 64, off_o);
  wr64 (f + 72, off_m);
  wr64 (f + 80, off_io);
  wr64 (f + 88, off_s);
  wr64 (f + 96, b->strings.n);
  wr64 (f + 104, off_d);
  wr64 (f + 112, b->data.n);

  for (size_t i = 0; i < b->n_tensors; i++) {
    const b_tensor *t = &b->tensors[i];
    uint8_t *p = f + off_t + i * 64;
    wr32 (p, t->name);
    p[4] = t->dtype;
    p[5] = t->is_const;
    p[6] = t->rank;
    p[7] = t->per_channel;
    for (int j = 0; j < 4; j++)
      wr32 (p + 8 + 4 * j, (uint32_t) t->dims[j]);
    uint32_t s;
    memcpy (&s, &t->scale, 4);
    wr32 (p + 24, s);
    wr32 (p + 28, (uint32_t) t->zero_point);
    wr64 (p + 32, t->data_off);
    wr64 (p + 40, t->data_size);
    wr64 (p + 48, t->scales_off);
  }
  for (size_t i = 0; i < b->n_ops; i++) {
    const b_op *op = &b->ops[i];
    uint8_t *p = f + off_o + i * 128;
    wr16 (p, op->type);
    p[4] = op->n_in;
    p[5] = 1;
    for (int j = 0; j < Q8_MAX_OP_INPUTS; j++)
      wr32 (p + 8 + 4 * j, op->in[j]);
    wr32 (p + 40, op->out);
    wr32 (p + 44, Q8_NO_TENSOR);
    for (int j = 0; j < Q8_MAX_OP_PARAMS; j++)
      wr32 (p + 48 + 4 * j, (uint32_t) op->params[j]);
  }
  for (size_t i = 0; i < b->n_meta; i++) {
    uint8_t *p = f + off_m + i * 24;
    wr32 (p, b->meta[i].key);
    wr32 (p + 4, b->meta[i].type);
    wr64 (p + 8, b->meta[i].value);
  }
  for (size_t i = 0; i < b->n_inputs; i++)
    wr32 (f + off_io + 4 * i, b->inputs[i]);
  for (size_t i = 0; i < b->n_outputs; i++)
    wr32 (f + off_io + 4 * (b->n_inputs + i), b->outputs[i]);
  memcpy (f + off_s, b->strings.p, b->strings.n);
  if (b->data.n)
    memcpy (f + off_d, b->data.p, b->data.n);
  wr32 (f + 24, q8_crc32 (0, f, size));

  /* Never hand out a file the loader rejects. */
  q8_model *m = NULL;
  q8_status st = q8_model_load_buffer (f, size, &m, err, es);
  q8_model_free (m);
  if (st < 0) {
    free (f);
    return st;
  }
  *out = f;
  *out_size = size;
  return Q8_OK;
}

q8_status
q8_builder_write_file (q8_builder *b, const char *path, char *err, size_t es)
{
  void *data;
  size_t size;
  q8_status st = q8_builder_write (b, &data, &size, err, es);
  if (st < 0)
    return st;
  FILE *fp = fopen (path, "wb");
  if (fp == NULL) {
    st = q8__err (err, es, Q8_EIO, "%s: %s", path, strerror (errno));
  } else {
    if (fwrite (data, 1, size, fp) != size)
      st = q8__err (err, es, Q8_EIO, "%s: write failed", path);
    if (fclose (fp) != 0 && st == Q8_OK)
      st = q8__err (err, es, Q8_EIO, "%s: write failed", path);
  }
  free (data);
  return st;
}

/* ---- copying a loaded model ---------------------------------------------- */

static bool
has_prefix (const char *s, const char *prefix)
{
  return prefix != NULL && prefix[0] != '\0'
         && strncmp (s, prefix, strlen (prefix)) == 0;
}

q8_builder *
q8_builder_from_model (const q8_model *m, const char *drop_prefix)
{
  if (m == NULL)
    return NULL;
  q8_builder *b = q8_builder_new ();
  uint32_t *map = calloc (m->n_tensors, sizeof *map);
  bool *used = calloc (m->n_tensors, sizeof *used);
  if (b == NULL || map == NULL || used == NULL)
    goto fail;

  /* A constant is dropped only if nothing refers to it. */
  for (uint32_t i = 0; i < m->n_ops; i++)
    for (int j = 0; j < m->ops[i].n_inputs; j++)
      if (m->ops[i].inputs[j] != Q8_NO_TENSOR)
        used[m->ops[i].inputs[j]] = true;
  for (uint32_t i = 0; i < m->n_tensors; i++) {
    const q8__tensor *t = &m->tensors[i];
    int64_t r;
    map[i] = Q8_NO_TENSOR;
    if (t->is_const && !used[i] && has_prefix (t->name, drop_prefix))
      continue;
    if (t->is_const)
      r = q8_builder_add_const (b, t->name, t->dtype, t->rank, t->dims,
                                t->data, t->scale, t->zero_point,
                                t->channel_scales);
    else
      r = q8_builder_add_activation (b, t->name, t->dtype, t->dims[3],
                                     t->scale, t->zero_point);
    if (r < 0)
      goto fail;
    map[i] = (uint32_t) r;
  }
  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    uint32_t in[Q8_MAX_OP_INPUTS], out[Q8_MAX_OP_OUTPUTS];
    for (int j = 0; j < op->n_inputs; j++)
      in[j] = op->inputs[j] == Q8_NO_TENSOR ? Q8_NO_TENSOR
                                            : map[op->inputs[j]];
    for (int j = 0; j < op->n_outputs; j++)
      out[j] = map[op->outputs[j]];
    if (q8_builder_add_op (b, op->type, op->n_inputs, in, op->n_outputs, out,
                           op->params, Q8_MAX_OP_PARAMS)
        < 0)
      goto fail;
  }
  for (uint32_t i = 0; i < m->n_inputs; i++)
    if (q8_builder_add_input (b, map[m->inputs[i]]) != Q8_OK)
      goto fail;
  for (uint32_t i = 0; i < m->n_outputs; i++)
    if (q8_builder_add_output (b, map[m->outputs[i]]) != Q8_OK)
      goto fail;
  for (uint32_t i = 0; i < m->n_meta; i++) {
    const q8__meta *e = &m->meta[i];
    q8_status st = Q8_OK;
    if (has_prefix (e->key, drop_prefix))
      continue;
    if (e->type == Q8_META_INT)
      st = q8_builder_meta_int (b, e->key, e->i);
    else if (e->type == Q8_META_FLOAT)
      st = q8_builder_meta_float (b, e->key, e->f);
    else
      st = q8_builder_meta_string (b, e->key, e->s);
    if (st != Q8_OK)
      goto fail;
  }
  free (map);
  free (used);
  return b;

fail:
  free (map);
  free (used);
  q8_builder_free (b);
  return NULL;
}
