/* onnx_import.c - reads an ONNX model (protobuf, decoded by the C code
 * protoc-c generates from libonnx-dev's onnx.proto) into the converter's
 * float IR at one concrete input size.
 *
 * Nodes are visited in file order (ONNX requires topological order).  A
 * node whose inputs are all constants (or a Shape of a tensor, whose shape
 * is always known here) is evaluated on the spot, so the Shape -> Gather ->
 * Unsqueeze -> Concat -> Reshape chains of dynamic-axis exports fold to
 * constants.  Every other node becomes an IR node with its output shape
 * inferred; an op the converter cannot represent is an error naming the
 * node, its type and its inputs.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"
#include "onnx.pb-c.h"

typedef struct {
  char *name;
  int tensor;
} name_entry;

typedef struct {
  cv_graph *g;
  name_entry *names;
  int n_names, cap_names;
  int64_t opset;
  char *err;
  size_t err_size;
  const Onnx__NodeProto *node; /* the node being imported, for messages */
} importer;

/* ---------------------------------------------------------------- */
/* Names                                                             */
/* ---------------------------------------------------------------- */

static int
name_lookup (const importer *im, const char *name)
{
  if (!name)
    name = "";
  for (int i = im->n_names - 1; i >= 0; i--)
    if (strcmp (im->names[i].name, name) == 0)
      return im->names[i].tensor;
  return -1;
}

static bool
name_bind (importer *im, const char *name, int tensor)
{
  if (im->n_names == im->cap_names) {
    int cap = im->cap_names ? 2 * im->cap_names : 128;
    name_entry *n = realloc (im->names, (size_t) cap * sizeof *n);
    if (!n)
      return false;
    im->names = n;
    im->cap_names = cap;
  }
  im->names[im->n_names].name = cv_strdup (name ? name : "");
  if (!im->names[im->n_names].name)
    return false;
  im->names[im->n_names++].tensor = tensor;
  return true;
}

/* ---------------------------------------------------------------- */
/* Messages                                                          */
/* ---------------------------------------------------------------- */

/* "node 'Conv_3' (Conv, inputs 'x', 'w')" */
static void
node_desc (const Onnx__NodeProto *n, char *buf, size_t size)
{
  size_t off = (size_t) snprintf (buf, size, "node '%s' (%s, inputs",
                                  n->name && *n->name ? n->name : "?",
                                  n->op_type ? n->op_type : "?");
  for (size_t i = 0; i < n->n_input && off < size; i++)
    off += (size_t) snprintf (buf + off, size - off, "%s'%s'",
                              i ? ", " : " ", n->input[i]);
  if (n->n_input == 0 && off < size)
    off += (size_t) snprintf (buf + off, size - off, " none");
  if (off < size)
    snprintf (buf + off, size - off, ")");
}

static q8_status __attribute__ ((format (printf, 3, 4)))
node_err (importer *im, q8_status st, const char *fmt, ...)
{
  char desc[400], what[400];
  node_desc (im->node, desc, sizeof desc);
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (what, sizeof what, fmt, ap);
  va_end (ap);
  return cv_err (im->err, im->err_size, st, "%s: %s", desc, what);
}

/* ---------------------------------------------------------------- */
/* Attributes                                                        */
/* ---------------------------------------------------------------- */

static const Onnx__AttributeProto *
attr (const Onnx__NodeProto *n, const char *name)
{
  for (size_t i = 0; i < n->n_attribute; i++)
    if (n->attribute[i]->name && strcmp (n->attribute[i]->name, name) == 0)
      return n->attribute[i];
  return NULL;
}

static int64_t
attr_int (const Onnx__NodeProto *n, const char *name, int64_t def)
{
  const Onnx__AttributeProto *a = attr (n, name);
  return a && a->has_i ? a->i : def;
}

static double
attr_float (const Onnx__NodeProto *n, const char *name, double def)
{
  const Onnx__AttributeProto *a = attr (n, name);
  return a && a->has_f ? a->f : def;
}

/* Copies up to max ints; returns how many the attribute has (-1: absent). */
static int
attr_ints (const Onnx__NodeProto *n, const char *name, int64_t *out, int max)
{
  const Onnx__AttributeProto *a = attr (n, name);
  if (!a)
    return -1;
  for (size_t i = 0; i < a->n_ints && (int) i < max; i++)
    out[i] = a->ints[i];
  return (int) a->n_ints;
}

/* The string attribute into buf ("" when absent). */
static const char *
attr_str (const Onnx__NodeProto *n, const char *name, char *buf, size_t size,
          const char *def)
{
  const Onnx__AttributeProto *a = attr (n, name);
  if (!a || !a->has_s) {
    snprintf (buf, size, "%s", def);
    return buf;
  }
  size_t len = a->s.len < size - 1 ? a->s.len : size - 1;
  memcpy (buf, a->s.data, len);
  buf[len] = '\0';
  return buf;
}

/* ---------------------------------------------------------------- */
/* Tensors                                                           */
/* ---------------------------------------------------------------- */

static size_t
elem_size (int32_t dt)
{
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return 1;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return 1;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return 8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 1;
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return 8;
  default: return 0;
  }
}

static bool
dtype_is_int (int32_t dt)
{
  return dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT
         && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
}

/* Reads a little-endian element of type dt. */
static double
raw_elem (const uint8_t *p, int32_t dt)
{
  switch (dt) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
    float f;
    memcpy (&f, p, 4);
    return f;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return *p;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return *p != 0;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return (int8_t) *p;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
    int32_t v;
    memcpy (&v, p, 4);
    return v;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
    int64_t v;
    memcpy (&v, p, 8);
    return (double) v;
  }
  case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
    double v;
    memcpy (&v, p, 8);
    return v;
  }
  default: return 0;
  }
}

/* Constants of more elements are refused: real networks for q8 hold a few
 * million weights at most, and each element costs a double here. */
#define MAX_CONST_ELEMS ((int64_t) 1 << 24)
/* Room made before each ONNX node's import, so that the tensor and node
 * pointers an importer holds stay valid across its adds: the most any
 * adds today is 4 tensors and 2 nodes (a Conv with a folded
 * pre-multiply). */
#define NODE_MAX_NEW_TENSORS 16
#define NODE_MAX_NEW_NODES 4

/* Makes a constant tensor from a TensorProto.  where names it for
 * messages ("initializer 'w'"). */
static q8_status
tensor_from_proto (importer *im, const Onnx__TensorProto *tp,
                   const char *name, int *out, const char *where)
{
  cv_graph *g = im->g;
  if (tp->has_data_location
      && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "%s '%s' keeps its data in an external file; save the "
                   "model with the weights inside (onnx.save with "
                   "save_as_external_data=False)", where, name);
  int32_t dt = tp->has_data_type ? tp->data_type : 0;
  size_t es = elem_size (dt);
  if (es == 0)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "%s '%s' has ONNX data type %d, which the converter does "
                   "not read (float, double, int8, uint8, int32, int64, bool "
                   "are supported)", where, name, (int) dt);
  if (tp->n_dims > CV_MAX_RANK)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "%s '%s' has rank %zu (at most %d)", where, name,
                   tp->n_dims, CV_MAX_RANK);
  int64_t n = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0 || (tp->dims[i] && n > MAX_CONST_ELEMS / tp->dims[i]))
      return cv_err (im->err, im->err_size, Q8_EOVERFLOW,
                     "%s '%s': dimension %zu is %lld, or the tensor has more "
                     "than %lld elements", where, name, i,
                     (long long) tp->dims[i], (long long) MAX_CONST_ELEMS);
    n *= tp->dims[i];
  }
  /* The values present, counted before anything is allocated: the shape
   * alone may claim far more than the file holds. */
  size_t have;
  if (tp->has_raw_data)
    have = tp->raw_data.len % es == 0 ? tp->raw_data.len / es : SIZE_MAX;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    have = tp->n_float_data;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
    have = tp->n_int64_data;
  else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
    have = tp->n_double_data;
  else /* int8, uint8, int32 and bool live in int32_data. */
    have = tp->n_int32_data;
  if (have != (size_t) n)
    return cv_err (im->err, im->err_size, Q8_ETRUNC,
                   "%s '%s' has %s values for its shape of %lld elements",
                   where, name, have == SIZE_MAX ? "a partial set of" : "a "
                   "different number of", (long long) n);
  int t = cv_tensor_add (g, name);
  if (t < 0)
    return Q8_ENOMEM;
  cv_tensor *ct = &g->t[t];
  ct->rank = (int) tp->n_dims;
  for (size_t i = 0; i < tp->n_dims; i++)
    ct->dims[i] = tp->dims[i];
  ct->is_const = true;
  ct->is_int = dtype_is_int (dt);
  ct->onnx_dtype = dt;
  ct->data = malloc ((size_t) (n ? n : 1) * sizeof (double));
  if (!ct->data)
    return Q8_ENOMEM;
  for (int64_t i = 0; i < n; i++) {
    if (tp->has_raw_data)
      ct->data[i] = raw_elem (tp->raw_data.data + i * es, dt);
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
      ct->data[i] = tp->float_data[i];
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
      ct->data[i] = (double) tp->int64_data[i];
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
      ct->data[i] = tp->double_data[i];
    else if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__INT8)
      ct->data[i] = (double) (int8_t) tp->int32_data[i];
    else
      ct->data[i] = (double) tp->int32_data[i];
  }
  *out = t;
  return Q8_OK;
}

/* Input i of the current node: its tensor index, -1 if absent (empty
 * name or past the end). */
static int
in_tensor (importer *im, size_t i)
{
  const Onnx__NodeProto *n = im->node;
  if (i >= n->n_input || !n->input[i] || !*n->input[i])
    return -1;
  return name_lookup (im, n->input[i]);
}

/* A new tensor of rank and dims for output 0 of the current node (dims
 * may point into the tensor table: it is pinned while a node imports). */
static int
new_output (importer *im, int rank, const int64_t *dims)
{
  const Onnx__NodeProto *n = im->node;
  if (n->n_output < 1 || rank < 0 || rank > CV_MAX_RANK)
    return -1;
  int t = cv_tensor_add (im->g, n->output[0]);
  if (t < 0 || !name_bind (im, n->output[0], t))
    return -1;
  im->g->t[t].rank = rank;
  memcpy (im->g->t[t].dims, dims, (size_t) rank * sizeof *dims);
  return t;
}

static int
new_const (importer *im, int rank, const int64_t *dims, bool is_int)
{
  int t = new_output (im, rank, dims);
  if (t < 0)
    return -1;
  cv_tensor *ct = &im->g->t[t];
  ct->is_const = true;
  ct->is_int = is_int;
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || (dims[i] && n > MAX_CONST_ELEMS / dims[i]))
      return -1;
    n *= dims[i];
  }
  ct->data = calloc ((size_t) (n ? n : 1), sizeof (double));
  return ct->data ? t : -1;
}

/* ---------------------------------------------------------------- */
/* Constant folding                                                  */
/* ---------------------------------------------------------------- */

static void
strides_of (int rank, const int64_t *dims, int64_t *st)
{
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    st[i] = s;
    s *= dims[i];
  }
}

/* Numpy broadcasting of a and b into out dims; false if incompatible. */
static bool
broadcast_dims (const cv_tensor *a, const cv_tensor *b, int *rank,
                int64_t *dims)
{
  int r = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1;
    int64_t db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return false;
    dims[i] = da == 1 ? db : da;
  }
  *rank = r;
  return true;
}

/* Offset into t of the element at out index idx (rank r), broadcasting. */
static int64_t
bcast_offset (const cv_tensor *t, int r, const int64_t *idx)
{
  int64_t st[CV_MAX_RANK];
  strides_of (t->rank, t->dims, st);
  int64_t off = 0;
  for (int i = 0; i < t->rank; i++) {
    int64_t k = idx[i + r - t->rank];
    off += (t->dims[i] == 1 ? 0 : k) * st[i];
  }
  return off;
}

static void
unravel (int64_t flat, int r, const int64_t *dims, int64_t *idx)
{
  for (int i = r - 1; i >= 0; i--) {
    idx[i] = dims[i] ? flat % dims[i] : 0;
    flat = dims[i] ? flat / dims[i] : 0;
  }
}

static q8_status
fold_binary (importer *im, const char *op, int a, int b)
{
  cv_graph *g = im->g;
  int r;
  int64_t dims[CV_MAX_RANK];
  if (!broadcast_dims (&g->t[a], &g->t[b], &r, dims))
    return node_err (im, Q8_ESHAPE, "shapes do not broadcast");
  bool is_int = g->t[a].is_int && g->t[b].is_int;
  int t = new_const (im, r, dims, is_int);
  if (t < 0)
    return Q8_ENOMEM;
  cv_tensor *A = &g->t[a], *B = &g->t[b], *T = &g->t[t];
  int64_t n = cv_numel (T), idx[CV_MAX_RANK];
  for (int64_t i = 0; i < n; i++) {
    unravel (i, r, dims, idx);
    double x = A->data[bcast_offset (A, r, idx)];
    double y = B->data[bcast_offset (B, r, idx)];
    double v;
    if (!strcmp (op, "Add"))
      v = x + y;
    else if (!strcmp (op, "Sub"))
      v = x - y;
    else if (!strcmp (op, "Mul"))
      v = x * y;
    else if (!strcmp (op, "Div"))
      v = is_int ? (y != 0 ? trunc (x / y) : 0) : x / y;
    else if (!strcmp (op, "Pow"))
      v = pow (x, y);
    else if (!strcmp (op, "Equal"))
      v = x == y;
    else if (!strcmp (op, "Less"))
      v = x < y;
    else if (!strcmp (op, "Greater"))
      v = x > y;
    else if (!strcmp (op, "Min"))
      v = x < y ? x : y;
    else /* Max */
      v = x > y ? x : y;
    T->data[i] = v;
  }
  return Q8_OK;
}

static bool
is_binary_fold (const char *op)
{
  static const char *ops[] = { "Add", "Sub", "Mul", "Div", "Pow", "Equal",
                               "Less", "Greater", "Min", "Max" };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp (op, ops[i]))
      return true;
  return false;
}

/* A constant's value as an integer, saturated to +-2^62 (NaN is 0): a
 * hostile file's 1e300 must become a value the checks reject, not
 * undefined behaviour. */
static int64_t
to_int (double v)
{
  if (!(v == v))
    return 0;
  if (v >= 0x1p62)
    return (int64_t) 1 << 62;
  if (v <= -0x1p62)
    return -((int64_t) 1 << 62);
  return (int64_t) v;
}

/* Reads an int64 list from a constant tensor; returns its length (at most
 * INT_MAX). */
static int
const_ints (const cv_tensor *t, int64_t *out, int max)
{
  int64_t n = cv_numel (t);
  for (int64_t i = 0; i < n && i < max; i++)
    out[i] = to_int (t->data[i]);
  return n > INT_MAX ? INT_MAX : (int) n;
}

static q8_status
fold_transpose (importer *im, int x, const int64_t *perm)
{
  cv_graph *g = im->g;
  int r = g->t[x].rank;
  int64_t dims[CV_MAX_RANK], st[CV_MAX_RANK], idx[CV_MAX_RANK];
  for (int i = 0; i < r; i++)
    dims[i] = g->t[x].dims[perm[i]];
  int t = new_const (im, r, dims, g->t[x].is_int);
  if (t < 0)
    return Q8_ENOMEM;
  cv_tensor *X = &g->t[x], *T = &g->t[t];
  strides_of (r, X->dims, st);
  int64_t n = cv_numel (T);
  for (int64_t i = 0; i < n; i++) {
    unravel (i, r, dims, idx);
    int64_t off = 0;
    for (int k = 0; k < r; k++)
      off += idx[k] * st[perm[k]];
    T->data[i] = X->data[off];
  }
  return Q8_OK;
}

/* Resolves an ONNX Reshape target (0 copies, -1 infers). */
static q8_status
reshape_dims (importer *im, const cv_tensor *x, const cv_tensor *shape,
              int *rank, int64_t *dims)
{
  int r = const_ints (shape, dims, CV_MAX_RANK);
  if (r > CV_MAX_RANK)
    return node_err (im, Q8_EUNSUPPORTED, "target rank %d is too large", r);
  int64_t known = 1;
  int infer = -1;
  for (int i = 0; i < r; i++) {
    if (dims[i] == 0 && i < x->rank)
      dims[i] = x->dims[i];
    if (dims[i] == -1 && infer < 0) {
      infer = i;
      continue;
    }
    if (dims[i] < 0 || dims[i] > ((int64_t) 1 << 31)
        || (dims[i] && known > ((int64_t) 1 << 40) / dims[i]))
      return node_err (im, Q8_ESHAPE, "target dimension %d is %lld", i,
                       (long long) dims[i]);
    known *= dims[i];
  }
  if (infer >= 0)
    dims[infer] = known ? cv_numel (x) / known : 0;
  int64_t total = 1;
  for (int i = 0; i < r; i++)
    total *= dims[i];
  if (total != cv_numel (x)) {
    char s[128];
    return node_err (im, Q8_ESHAPE, "cannot reshape %s to the %d-d target",
                     cv_shape_str (x, s, sizeof s), r);
  }
  *rank = r;
  return Q8_OK;
}

/* Scale and zero point of a QuantizeLinear or DequantizeLinear on a
 * constant: tensors s and z (z < 0: absent), ns values each, per tensor or
 * along axis ax; inner is the element run of one index along ax. */
typedef struct {
  int s, z;
  int64_t ax, ns, inner;
} const_qparams;

static q8_status
read_const_qparams (importer *im, int x, const_qparams *q)
{
  const cv_graph *g = im->g;
  q->s = in_tensor (im, 1);
  q->z = in_tensor (im, 2);
  if (q->s < 0)
    return node_err (im, Q8_EOP, "has no scale");
  const cv_tensor *X = &g->t[x];
  q->ax = attr_int (im->node, "axis", 1);
  if (q->ax < 0)
    q->ax += X->rank;
  q->ns = cv_numel (&g->t[q->s]);
  if (q->ns > 1 && (q->ax < 0 || q->ax >= X->rank || X->dims[q->ax] != q->ns
                    || (q->z >= 0 && cv_numel (&g->t[q->z]) != q->ns)))
    return node_err (im, Q8_ESHAPE, "%lld scales do not match axis %lld",
                     (long long) q->ns, (long long) q->ax);
  if (q->ns < 1 || (q->z >= 0 && cv_numel (&g->t[q->z]) < 1))
    return node_err (im, Q8_ESHAPE, "empty scale or zero point");
  q->inner = 1;
  for (int i = (int) q->ax + 1; i < X->rank; i++)
    q->inner *= X->dims[i];
  return Q8_OK;
}

/* Which scale and zero point element i of X takes. */
static inline int64_t
qparams_index (const const_qparams *q, const cv_tensor *X, int64_t i)
{
  return q->ns > 1 ? (i / q->inner) % X->dims[q->ax] : 0;
}

/* Evaluates the current node if it can be; *done says whether it did. */
static q8_status
try_fold (importer *im, bool *done)
{
  const Onnx__NodeProto *n = im->node;
  cv_graph *g = im->g;
  const char *op = n->op_type;
  *done = false;

  if (!strcmp (op, "Constant")) {
    const Onnx__AttributeProto *a = attr (n, "value");
    int t;
    if (a && a->t) {
      q8_status st = tensor_from_proto (im, a->t, n->output[0], &t,
                                        "Constant");
      if (st < 0)
        return st;
      if (!name_bind (im, n->output[0], t))
        return Q8_ENOMEM;
    } else if ((a = attr (n, "value_float")) || (a = attr (n, "value_int"))) {
      int64_t d0[1] = { 0 };
      t = new_const (im, 0, d0, a->has_i);
      if (t < 0)
        return Q8_ENOMEM;
      g->t[t].data[0] = a->has_i ? (double) a->i : a->f;
    } else if ((a = attr (n, "value_floats")) || (a = attr (n, "value_ints"))) {
      int64_t d1[1] = { (int64_t) (a->n_ints ? a->n_ints : a->n_floats) };
      t = new_const (im, 1, d1, a->n_ints > 0);
      if (t < 0)
        return Q8_ENOMEM;
      for (int64_t i = 0; i < d1[0]; i++)
        g->t[t].data[i] = a->n_ints ? (double) a->ints[i] : a->floats[i];
    } else {
      return node_err (im, Q8_EUNSUPPORTED,
                       "only tensor, float(s) and int(s) constants are read");
    }
    *done = true;
    return Q8_OK;
  }

  int x = in_tensor (im, 0);
  if (!strcmp (op, "Shape") && x >= 0) {
    const cv_tensor *X = &g->t[x];
    int64_t d[1] = { X->rank };
    int64_t start = attr_int (n, "start", 0), end = attr_int (n, "end",
                                                             X->rank);
    if (start < 0)
      start += X->rank;
    if (end < 0)
      end += X->rank;
    if (start < 0)
      start = 0;
    if (end > X->rank)
      end = X->rank;
    d[0] = end > start ? end - start : 0;
    int t = new_const (im, 1, d, true);
    if (t < 0)
      return Q8_ENOMEM;
    for (int64_t i = 0; i < d[0]; i++)
      g->t[t].data[i] = (double) g->t[x].dims[start + i];
    *done = true;
    return Q8_OK;
  }

  /* Every (present) input must be constant from here on. */
  for (size_t i = 0; i < n->n_input; i++) {
    int ti = in_tensor (im, i);
    if (n->input[i] && *n->input[i] && ti < 0)
      return node_err (im, Q8_EOP, "input '%s' is not produced by any "
                       "earlier node, initializer or graph input",
                       n->input[i]);
    if (ti >= 0 && !g->t[ti].is_const)
      return Q8_OK;
  }
  if (n->n_output < 1)
    return Q8_OK;
  /* Every fold below reads input 0 (and checks the others it reads). */
  if (x < 0)
    return Q8_OK;

  if (!strcmp (op, "Identity") || !strcmp (op, "Dropout")
      || !strcmp (op, "Cast")) {
    if (x < 0)
      return node_err (im, Q8_EOP, "has no input");
    int64_t to = attr_int (n, "to", 0);
    if (!strcmp (op, "Cast") && dtype_is_int ((int32_t) to)
        && !g->t[x].is_int) {
      int t = new_const (im, g->t[x].rank, g->t[x].dims, true);
      if (t < 0)
        return Q8_ENOMEM;
      for (int64_t i = 0; i < cv_numel (&g->t[t]); i++)
        g->t[t].data[i] = trunc (g->t[x].data[i]);
    } else if (!name_bind (im, n->output[0], x)) {
      return Q8_ENOMEM;
    }
    if (!strcmp (op, "Cast") && !dtype_is_int ((int32_t) to)
        && g->t[x].is_int) {
      /* A cast to float of an integer constant: a float copy. */
      int t = new_const (im, g->t[x].rank, g->t[x].dims, false);
      if (t < 0)
        return Q8_ENOMEM;
      memcpy (g->t[t].data, g->t[x].data,
              (size_t) cv_numel (&g->t[x]) * sizeof (double));
    }
    *done = true;
    return Q8_OK;
  }

  if (is_binary_fold (op)) {
    int y = in_tensor (im, 1);
    if (x < 0 || y < 0)
      return node_err (im, Q8_EOP, "needs two inputs");
    q8_status st = fold_binary (im, op, x, y);
    *done = st == Q8_OK;
    return st;
  }

  if (!strcmp (op, "Sqrt") || !strcmp (op, "Neg") || !strcmp (op, "Floor")
      || !strcmp (op, "Ceil") || !strcmp (op, "Reciprocal")
      || !strcmp (op, "Abs") || !strcmp (op, "Relu")
      || !strcmp (op, "Exp") || !strcmp (op, "Log")) {
    int t = new_const (im, g->t[x].rank, g->t[x].dims, g->t[x].is_int);
    if (t < 0)
      return Q8_ENOMEM;
    for (int64_t i = 0; i < cv_numel (&g->t[t]); i++) {
      double v = g->t[x].data[i];
      g->t[t].data[i] = !strcmp (op, "Sqrt")    ? sqrt (v)
                        : !strcmp (op, "Neg")   ? -v
                        : !strcmp (op, "Floor") ? floor (v)
                        : !strcmp (op, "Ceil")  ? ceil (v)
                        : !strcmp (op, "Abs")   ? fabs (v)
                        : !strcmp (op, "Relu")  ? (v > 0 ? v : 0)
                        : !strcmp (op, "Exp")   ? exp (v)
                        : !strcmp (op, "Log")   ? log (v)
                                                : 1.0 / v;
    }
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "Unsqueeze") || !strcmp (op, "Squeeze")) {
    int64_t axes[CV_MAX_RANK];
    int na = attr_ints (n, "axes", axes, CV_MAX_RANK);
    int ax_t = in_tensor (im, 1);
    if (ax_t >= 0)
      na = const_ints (&g->t[ax_t], axes, CV_MAX_RANK);
    const cv_tensor *X = &g->t[x];
    int64_t dims[CV_MAX_RANK];
    int r = 0;
    if (!strcmp (op, "Unsqueeze")) {
      int outr = X->rank + (na > 0 ? na : 0);
      if (outr > CV_MAX_RANK || na < 0)
        return node_err (im, Q8_EUNSUPPORTED, "bad axes");
      bool ins[CV_MAX_RANK] = { false };
      for (int i = 0; i < na && i < CV_MAX_RANK; i++) {
        int64_t ax = axes[i] < 0 ? axes[i] + outr : axes[i];
        if (ax < 0 || ax >= outr || ins[ax])
          return node_err (im, Q8_EINVAL, "axis %lld out of range or "
                           "repeated", (long long) axes[i]);
        ins[ax] = true;
      }
      int k = 0;
      for (int i = 0; i < outr; i++)
        dims[r++] = ins[i] ? 1 : X->dims[k++];
    } else {
      for (int i = 0; i < X->rank; i++) {
        bool drop = false;
        for (int j = 0; j < na; j++)
          if ((axes[j] < 0 ? axes[j] + X->rank : axes[j]) == i)
            drop = true;
        if (na <= 0 && X->dims[i] == 1)
          drop = true;
        if (!drop)
          dims[r++] = X->dims[i];
      }
    }
    /* Squeezing an axis that is not 1 would change the element count. */
    int64_t count = 1;
    for (int i = 0; i < r; i++)
      count *= dims[i];
    if (count != cv_numel (X))
      return node_err (im, Q8_ESHAPE, "the axes change the element count");
    int t = new_const (im, r, dims, X->is_int);
    if (t < 0)
      return Q8_ENOMEM;
    memcpy (g->t[t].data, g->t[x].data,
            (size_t) cv_numel (&g->t[x]) * sizeof (double));
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "Reshape") || !strcmp (op, "Flatten")) {
    int r;
    int64_t dims[CV_MAX_RANK];
    const cv_tensor *X = &g->t[x];
    if (!strcmp (op, "Flatten")) {
      int64_t ax = attr_int (n, "axis", 1);
      if (ax < 0)
        ax += X->rank;
      dims[0] = dims[1] = 1;
      for (int i = 0; i < X->rank; i++)
        dims[i < ax ? 0 : 1] *= X->dims[i];
      r = 2;
    } else {
      int s = in_tensor (im, 1);
      if (s < 0)
        return node_err (im, Q8_EOP, "has no shape input");
      q8_status st = reshape_dims (im, X, &g->t[s], &r, dims);
      if (st < 0)
        return st;
    }
    int t = new_const (im, r, dims, g->t[x].is_int);
    if (t < 0)
      return Q8_ENOMEM;
    memcpy (g->t[t].data, g->t[x].data,
            (size_t) cv_numel (&g->t[x]) * sizeof (double));
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "Transpose")) {
    int64_t perm[CV_MAX_RANK];
    int r = g->t[x].rank;
    if (attr_ints (n, "perm", perm, CV_MAX_RANK) != r)
      for (int i = 0; i < r; i++)
        perm[i] = r - 1 - i;
    int seen = 0;
    for (int i = 0; i < r; i++)
      if (perm[i] >= 0 && perm[i] < r)
        seen |= 1 << perm[i];
    if (seen != (1 << r) - 1)
      return node_err (im, Q8_EINVAL, "perm is not a permutation");
    q8_status st = fold_transpose (im, x, perm);
    *done = st == Q8_OK;
    return st;
  }

  if (!strcmp (op, "Gather")) {
    int ix = in_tensor (im, 1);
    if (ix < 0)
      return node_err (im, Q8_EOP, "has no indices");
    const cv_tensor *X = &g->t[x], *I = &g->t[ix];
    int64_t ax = attr_int (n, "axis", 0);
    if (ax < 0)
      ax += X->rank;
    if (ax < 0 || ax >= X->rank || X->rank + I->rank - 1 > CV_MAX_RANK)
      return node_err (im, Q8_EUNSUPPORTED, "axis %lld out of range",
                       (long long) ax);
    int64_t dims[CV_MAX_RANK];
    int r = 0;
    for (int i = 0; i < ax; i++)
      dims[r++] = X->dims[i];
    for (int i = 0; i < I->rank; i++)
      dims[r++] = I->dims[i];
    for (int i = (int) ax + 1; i < X->rank; i++)
      dims[r++] = X->dims[i];
    int64_t outer = 1, inner = 1, ni = cv_numel (I), dax = X->dims[ax];
    for (int i = 0; i < ax; i++)
      outer *= X->dims[i];
    for (int i = (int) ax + 1; i < X->rank; i++)
      inner *= X->dims[i];
    int t = new_const (im, r, dims, X->is_int);
    if (t < 0)
      return Q8_ENOMEM;
    double *o = g->t[t].data;
    for (int64_t a = 0; a < outer; a++)
      for (int64_t j = 0; j < ni; j++) {
        int64_t k = to_int (I->data[j]);
        if (k < 0)
          k += dax;
        if (k < 0 || k >= dax)
          return node_err (im, Q8_EBOUNDS, "index %lld out of range",
                           (long long) k);
        for (int64_t b = 0; b < inner; b++)
          *o++ = X->data[(a * dax + k) * inner + b];
      }
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "Concat")) {
    int64_t ax = attr_int (n, "axis", 0);
    const cv_tensor *X = &g->t[x];
    if (ax < 0)
      ax += X->rank;
    if (ax < 0 || ax >= X->rank)
      return node_err (im, Q8_EINVAL, "axis out of range");
    int64_t dims[CV_MAX_RANK];
    memcpy (dims, X->dims, sizeof dims);
    dims[ax] = 0;
    for (size_t i = 0; i < n->n_input; i++) {
      int ti = in_tensor (im, i);
      if (ti < 0 || g->t[ti].rank != X->rank)
        return node_err (im, Q8_ESHAPE, "inputs differ in rank");
      for (int k = 0; k < X->rank; k++)
        if (k != ax && g->t[ti].dims[k] != X->dims[k])
          return node_err (im, Q8_ESHAPE, "inputs differ along axis %d", k);
      dims[ax] += g->t[ti].dims[ax];
    }
    int t = new_const (im, X->rank, dims, g->t[x].is_int);
    if (t < 0)
      return Q8_ENOMEM;
    int64_t outer = 1;
    for (int i = 0; i < ax; i++)
      outer *= dims[i];
    double *o = g->t[t].data;
    for (int64_t a = 0; a < outer; a++)
      for (size_t i = 0; i < n->n_input; i++) {
        const cv_tensor *In = &g->t[in_tensor (im, i)];
        int64_t chunk = cv_numel (In) / (outer ? outer : 1);
        memcpy (o, In->data + a * chunk, (size_t) chunk * sizeof (double));
        o += chunk;
      }
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "Slice") && im->opset >= 10) {
    const cv_tensor *X = &g->t[x];
    int64_t st[CV_MAX_RANK], en[CV_MAX_RANK], axes[CV_MAX_RANK],
      steps[CV_MAX_RANK];
    if (in_tensor (im, 1) < 0 || in_tensor (im, 2) < 0)
      return node_err (im, Q8_EOP, "needs starts and ends");
    int ns = const_ints (&g->t[in_tensor (im, 1)], st, CV_MAX_RANK);
    if (ns > CV_MAX_RANK
        || const_ints (&g->t[in_tensor (im, 2)], en, CV_MAX_RANK) != ns)
      return node_err (im, Q8_EINVAL, "starts and ends differ in length");
    for (int i = 0; i < ns; i++) {
      axes[i] = i;
      steps[i] = 1;
    }
    if (in_tensor (im, 3) >= 0)
      const_ints (&g->t[in_tensor (im, 3)], axes, CV_MAX_RANK);
    if (in_tensor (im, 4) >= 0)
      const_ints (&g->t[in_tensor (im, 4)], steps, CV_MAX_RANK);
    int64_t b[CV_MAX_RANK], s[CV_MAX_RANK], dims[CV_MAX_RANK];
    for (int i = 0; i < X->rank; i++) {
      b[i] = 0;
      s[i] = 1;
      dims[i] = X->dims[i];
    }
    for (int i = 0; i < ns; i++) {
      int64_t a = axes[i] < 0 ? axes[i] + X->rank : axes[i];
      if (a < 0 || a >= X->rank)
        return node_err (im, Q8_EINVAL, "axis out of range");
      int64_t d = X->dims[a], lo = st[i], hi = en[i];
      if (steps[i] != 1)
        return node_err (im, Q8_EUNSUPPORTED, "only step 1 is folded");
      if (lo < 0)
        lo += d;
      if (hi < 0)
        hi += d;
      lo = lo < 0 ? 0 : lo > d ? d : lo;
      hi = hi < 0 ? 0 : hi > d ? d : hi;
      b[a] = lo;
      dims[a] = hi > lo ? hi - lo : 0;
    }
    int t = new_const (im, X->rank, dims, X->is_int);
    if (t < 0)
      return Q8_ENOMEM;
    int64_t xs[CV_MAX_RANK], idx[CV_MAX_RANK];
    strides_of (X->rank, X->dims, xs);
    for (int64_t i = 0; i < cv_numel (&g->t[t]); i++) {
      unravel (i, X->rank, dims, idx);
      int64_t off = 0;
      for (int k = 0; k < X->rank; k++)
        off += (b[k] + idx[k] * s[k]) * xs[k];
      g->t[t].data[i] = X->data[off];
    }
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "ConstantOfShape")) {
    int64_t dims[CV_MAX_RANK];
    int r = const_ints (&g->t[x], dims, CV_MAX_RANK);
    const Onnx__AttributeProto *a = attr (n, "value");
    double v = 0;
    bool is_int = false;
    if (a && a->t) {
      int vt;
      q8_status st = tensor_from_proto (im, a->t, "value", &vt,
                                        "ConstantOfShape value");
      if (st < 0)
        return st;
      v = g->t[vt].data[0];
      is_int = g->t[vt].is_int;
    }
    int t = new_const (im, r, dims, is_int);
    if (t < 0)
      return Q8_ENOMEM;
    for (int64_t i = 0; i < cv_numel (&g->t[t]); i++)
      g->t[t].data[i] = v;
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "QuantizeLinear")) {
    /* Float weights quantized inside the graph (PyTorch exports its
     * fake-quantized weights so): folded to the integers, ONNX's rounding
     * (half to even) and saturation, for the DequantizeLinear after it. */
    const_qparams q;
    q8_status st = read_const_qparams (im, x, &q);
    if (st < 0)
      return st;
    /* The zero point's type is the output's; uint8 when absent. */
    bool s8 = q.z >= 0
              && g->t[q.z].onnx_dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
    double lo = s8 ? -128 : 0, hi = s8 ? 127 : 255;
    int t = new_const (im, g->t[x].rank, g->t[x].dims, true);
    if (t < 0)
      return Q8_ENOMEM;
    const cv_tensor *X = &g->t[x];
    g->t[t].onnx_dtype = s8 ? ONNX__TENSOR_PROTO__DATA_TYPE__INT8
                            : ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
    for (int64_t i = 0; i < cv_numel (X); i++) {
      int64_t c = qparams_index (&q, X, i);
      double sc = g->t[q.s].data[c];
      double zp = q.z >= 0 ? g->t[q.z].data[c] : 0;
      if (!(sc > 0) || !isfinite (sc))
        return node_err (im, Q8_EOP, "scale %g is not positive", sc);
      double v = nearbyint (X->data[i] / sc) + zp;
      g->t[t].data[i] = v < lo ? lo : v > hi ? hi : v;
    }
    *done = true;
    return Q8_OK;
  }

  if (!strcmp (op, "DequantizeLinear")) {
    /* Weights of a QDQ model: int8 values, a scale per tensor or per
     * output channel, zero point.  Folded to float, keeping the scales so
     * quantization reproduces the trained integers. */
    const_qparams q;
    q8_status st = read_const_qparams (im, x, &q);
    if (st < 0)
      return st;
    int t = new_const (im, g->t[x].rank, g->t[x].dims, false);
    if (t < 0)
      return Q8_ENOMEM;
    const cv_tensor *X = &g->t[x], *S = &g->t[q.s];
    const cv_tensor *Z = q.z >= 0 ? &g->t[q.z] : NULL;
    bool zp0 = true;
    for (int64_t i = 0; i < cv_numel (X); i++) {
      int64_t c = qparams_index (&q, X, i);
      double zp = Z ? Z->data[c] : 0;
      zp0 = zp0 && zp == 0;
      g->t[t].data[i] = (X->data[i] - zp) * S->data[c];
    }
    if (zp0 && (q.ns == 1 || q.ax == 0) && X->rank >= 1) {
      cv_tensor *T = &g->t[t];
      T->n_w_scales = (int) T->dims[0];
      T->w_scales = malloc ((size_t) T->n_w_scales * sizeof (double));
      if (!T->w_scales)
        return Q8_ENOMEM;
      for (int i = 0; i < T->n_w_scales; i++)
        T->w_scales[i] = S->data[q.ns > 1 ? i : 0];
    } else {
      cv_warn (g, "weights '%s' were quantized with a non-zero zero point "
               "or along axis %lld; q8 requantizes them symmetrically per "
               "output channel", n->input[0], (long long) q.ax);
    }
    *done = true;
    return Q8_OK;
  }

  return Q8_OK; /* not foldable: the caller imports it as an op */
}

/* ---------------------------------------------------------------- */
/* Ops                                                               */
/* ---------------------------------------------------------------- */

/* Checks that input i exists and is an activation of rank 4. */
static q8_status
need_act (importer *im, size_t i, int *t)
{
  *t = in_tensor (im, i);
  if (*t < 0)
    return node_err (im, Q8_EOP, "input %zu is missing", i);
  const cv_tensor *T = &im->g->t[*t];
  if (T->is_const)
    return node_err (im, Q8_EUNSUPPORTED,
                     "input '%s' must be an activation, it is a constant",
                     T->name);
  if (T->rank != 4) {
    char s[128];
    return node_err (im, Q8_EUNSUPPORTED, "input '%s' has shape %s; q8 "
                     "runs 4-d NCHW activations with batch 1", T->name,
                     cv_shape_str (T, s, sizeof s));
  }
  return Q8_OK;
}

static int
add_node (importer *im, cv_op op, int n_in, const int *ins, int rank,
          const int64_t *dims)
{
  const Onnx__NodeProto *n = im->node;
  char nm[64];
  if (!n->name || !*n->name)
    snprintf (nm, sizeof nm, "%s_%d", n->op_type, im->g->n_n);
  int k = cv_node_add (im->g, op, n->name && *n->name ? n->name : nm,
                       n->op_type);
  if (k < 0)
    return -1;
  int t = new_output (im, rank, dims);
  if (t < 0)
    return -1;
  cv_node *nd = &im->g->n[k];
  nd->n_in = n_in;
  for (int i = 0; i < n_in; i++)
    nd->in[i] = ins[i];
  nd->n_out = 1;
  nd->out[0] = t;
  im->g->t[t].producer = k;
  return k;
}

/* Kernel, strides, pads, dilations and auto_pad of Conv and pools. */
static q8_status
window_attrs (importer *im, cv_node *nd, const cv_tensor *x, int kh, int kw)
{
  const Onnx__NodeProto *n = im->node;
  int64_t v[8];
  nd->kh = kh;
  nd->kw = kw;
  if (attr_ints (n, "strides", v, 8) == 2) {
    nd->stride_h = (int) v[0];
    nd->stride_w = (int) v[1];
  }
  if (attr_ints (n, "dilations", v, 8) == 2) {
    nd->dil_h = (int) v[0];
    nd->dil_w = (int) v[1];
  }
  if (attr_ints (n, "pads", v, 8) == 4) {
    nd->pad_t = (int) v[0];
    nd->pad_l = (int) v[1];
    nd->pad_b = (int) v[2];
    nd->pad_r = (int) v[3];
  }
  char ap[32];
  attr_str (n, "auto_pad", ap, sizeof ap, "NOTSET");
  if (!strcmp (ap, "SAME_UPPER") || !strcmp (ap, "SAME_LOWER")) {
    int64_t ins[2] = { x->dims[2], x->dims[3] };
    int k[2] = { (kh - 1) * nd->dil_h + 1, (kw - 1) * nd->dil_w + 1 };
    int s[2] = { nd->stride_h, nd->stride_w };
    int pb[2], pe[2];
    for (int i = 0; i < 2; i++) {
      int64_t out = (ins[i] + s[i] - 1) / s[i];
      int64_t total = (out - 1) * s[i] + k[i] - ins[i];
      if (total < 0)
        total = 0;
      pb[i] = (int) (ap[5] == 'U' ? total / 2 : total - total / 2);
      pe[i] = (int) (total - pb[i]);
      if (s[i] > 1)
        cv_warn (im->g, "node '%s': auto_pad %s with stride %d pads by "
                 "the import size; other input sizes get the same padding",
                 n->name, ap, s[i]);
    }
    nd->pad_t = pb[0];
    nd->pad_l = pb[1];
    nd->pad_b = pe[0];
    nd->pad_r = pe[1];
  } else if (strcmp (ap, "NOTSET") && strcmp (ap, "VALID")) {
    return node_err (im, Q8_EUNSUPPORTED, "auto_pad '%s' is unknown", ap);
  }
  if (nd->stride_h < 1 || nd->stride_w < 1 || nd->dil_h < 1
      || nd->dil_w < 1 || nd->pad_t < 0 || nd->pad_l < 0 || nd->pad_b < 0
      || nd->pad_r < 0 || kh < 1 || kw < 1)
    return node_err (im, Q8_EUNSUPPORTED,
                     "kernel %dx%d, strides %d,%d, dilations %d,%d or pads "
                     "%d,%d,%d,%d out of range", kh, kw, nd->stride_h,
                     nd->stride_w, nd->dil_h, nd->dil_w, nd->pad_t,
                     nd->pad_l, nd->pad_b, nd->pad_r);
  return Q8_OK;
}

static int64_t
window_out (int64_t in, int pb, int pe, int k, int dil, int s, bool ceil_m)
{
  int64_t span = in + pb + pe - (int64_t) dil * (k - 1) - 1;
  if (span < 0)
    return 0;
  int64_t o = (ceil_m ? (span + s - 1) / s : span / s) + 1;
  /* ONNX: with ceil_mode the last window must start inside the input or
   * the left padding. */
  if (ceil_m && (o - 1) * s >= in + pb)
    o--;
  return o;
}

static q8_status
import_conv (importer *im)
{
  int x, w = in_tensor (im, 1), b = in_tensor (im, 2);
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  if (w < 0 || !im->g->t[w].is_const || im->g->t[w].rank != 4)
    return node_err (im, Q8_EUNSUPPORTED,
                     "weights must be a constant 4-d tensor (2-d "
                     "convolutions with constant weights only)");
  if (b >= 0 && (!im->g->t[b].is_const
                 || cv_numel (&im->g->t[b]) != im->g->t[w].dims[0]))
    return node_err (im, Q8_EUNSUPPORTED, "bias must be a constant with "
                     "%lld values", (long long) im->g->t[w].dims[0]);
  const cv_tensor *X = &im->g->t[x], *W = &im->g->t[w];
  int64_t groups = attr_int (im->node, "group", 1);
  if (groups < 1 || X->dims[1] % groups || W->dims[0] % groups
      || W->dims[1] * groups != X->dims[1])
    return node_err (im, Q8_ESHAPE, "%lld input channels, weights [%lld, "
                     "%lld, ...] and group %lld do not agree",
                     (long long) X->dims[1], (long long) W->dims[0],
                     (long long) W->dims[1], (long long) groups);
  int ins[3] = { x, w, b };
  int64_t dims[4] = { 1, W->dims[0], 0, 0 };
  int k = add_node (im, CV_CONV, b >= 0 ? 3 : 2, ins, 4, dims);
  if (k < 0)
    return Q8_ENOMEM;
  cv_node *nd = &im->g->n[k];
  nd->groups = (int) groups;
  st = window_attrs (im, nd, X, (int) W->dims[2], (int) W->dims[3]);
  if (st < 0)
    return st;
  cv_tensor *Y = &im->g->t[nd->out[0]];
  Y->dims[2] = window_out (X->dims[2], nd->pad_t, nd->pad_b, nd->kh,
                           nd->dil_h, nd->stride_h, false);
  Y->dims[3] = window_out (X->dims[3], nd->pad_l, nd->pad_r, nd->kw,
                           nd->dil_w, nd->stride_w, false);
  if (Y->dims[2] < 1 || Y->dims[3] < 1)
    return node_err (im, Q8_ESHAPE, "the %dx%d kernel does not fit the "
                     "%lldx%lld input", nd->kh, nd->kw,
                     (long long) X->dims[2], (long long) X->dims[3]);
  return Q8_OK;
}

/* ConvTranspose with kernel == stride (s x s), no padding and group 1 is
 * exactly a 1x1 convolution to OC * s * s channels followed by
 * DepthToSpace (DCR): output pixel (s i + a, s j + b) of channel oc is
 * sum over ic of x[ic, i, j] * W[ic, oc, a, b] + bias[oc], which is
 * channel (a * s + b) * OC + oc of the 1x1 convolution.  Other
 * ConvTransposes are rejected. */
static q8_status
import_convtranspose (importer *im)
{
  const Onnx__NodeProto *n = im->node;
  cv_graph *g = im->g;
  int x, w = in_tensor (im, 1), b = in_tensor (im, 2);
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  if (w < 0 || !g->t[w].is_const || g->t[w].rank != 4
      || g->t[w].dims[0] != g->t[x].dims[1])
    return node_err (im, Q8_EUNSUPPORTED, "weights must be a constant "
                     "[%lld, OC, KH, KW] tensor",
                     (long long) g->t[x].dims[1]);
  int64_t ic = g->t[w].dims[0], oc = g->t[w].dims[1], kh = g->t[w].dims[2],
          kw = g->t[w].dims[3];
  if (b >= 0 && (!g->t[b].is_const || cv_numel (&g->t[b]) != oc))
    return node_err (im, Q8_EUNSUPPORTED, "bias must be a constant with "
                     "%lld values", (long long) oc);
  int64_t zero[4] = { 0 };
  int64_t st_[2] = { 1, 1 }, pads[4] = { 0 }, dil[2] = { 1, 1 },
          opad[2] = { 0 };
  attr_ints (n, "strides", st_, 2);
  attr_ints (n, "pads", pads, 4);
  attr_ints (n, "dilations", dil, 2);
  attr_ints (n, "output_padding", opad, 2);
  char ap[32];
  attr_str (n, "auto_pad", ap, sizeof ap, "NOTSET");
  if (attr_int (n, "group", 1) != 1 || kh != kw || kh != st_[0]
      || kw != st_[1] || memcmp (pads, zero, sizeof pads)
      || dil[0] != 1 || dil[1] != 1 || opad[0] || opad[1]
      || attr (n, "output_shape") || (strcmp (ap, "NOTSET")
                                      && strcmp (ap, "VALID"))
      || kh < 1 || kh > 64)
    return node_err (im, Q8_EUNSUPPORTED, "ConvTranspose is converted "
                     "only with kernel == strides (square), no padding, "
                     "dilation 1 and group 1 (then it is exactly a 1x1 "
                     "convolution + DepthToSpace); this one has kernel "
                     "%lldx%lld, strides %lld,%lld, pads %lld,%lld,%lld,"
                     "%lld, group %lld", (long long) kh, (long long) kw,
                     (long long) st_[0], (long long) st_[1],
                     (long long) pads[0], (long long) pads[1],
                     (long long) pads[2], (long long) pads[3],
                     (long long) attr_int (n, "group", 1));
  int64_t s = kh, c2 = oc * s * s;
  char nm[300];
  snprintf (nm, sizeof nm, "%.250s/as_conv", n->output[0]);
  int wt = cv_tensor_add (g, nm), bt = wt < 0 ? -1 : cv_tensor_add (g, nm);
  int mid = bt < 0 ? -1 : cv_tensor_add (g, nm);
  if (mid < 0)
    return Q8_ENOMEM;
  cv_tensor *W2 = &g->t[wt], *B2 = &g->t[bt], *M = &g->t[mid];
  W2->is_const = B2->is_const = true;
  W2->rank = 4;
  W2->dims[0] = c2;
  W2->dims[1] = ic;
  W2->dims[2] = W2->dims[3] = 1;
  B2->rank = 1;
  B2->dims[0] = c2;
  W2->data = malloc ((size_t) (c2 * ic) * sizeof (double));
  B2->data = malloc ((size_t) c2 * sizeof (double));
  if (!W2->data || !B2->data)
    return Q8_ENOMEM;
  const double *W = g->t[w].data;
  for (int64_t a = 0; a < s; a++)
    for (int64_t bb = 0; bb < s; bb++)
      for (int64_t o = 0; o < oc; o++) {
        int64_t ch = (a * s + bb) * oc + o;
        for (int64_t i = 0; i < ic; i++)
          W2->data[ch * ic + i] = W[((i * oc + o) * s + a) * s + bb];
        B2->data[ch] = b >= 0 ? g->t[b].data[o] : 0;
      }
  M->rank = 4;
  M->dims[0] = 1;
  M->dims[1] = c2;
  M->dims[2] = g->t[x].dims[2];
  M->dims[3] = g->t[x].dims[3];
  int k = cv_node_add (g, CV_CONV, n->name && *n->name ? n->name : nm,
                       n->op_type);
  if (k < 0)
    return Q8_ENOMEM;
  cv_node *cn = &g->n[k];
  cn->n_in = 3;
  cn->in[0] = x;
  cn->in[1] = wt;
  cn->in[2] = bt;
  cn->n_out = 1;
  cn->out[0] = mid;
  cn->kh = cn->kw = 1;
  g->t[mid].producer = k;
  int64_t dims[4] = { 1, oc, g->t[x].dims[2] * s, g->t[x].dims[3] * s };
  int d = add_node (im, CV_D2S, 1, &mid, 4, dims);
  if (d < 0)
    return Q8_ENOMEM;
  g->n[d].block = (int) s;
  g->n[d].mode = Q8_D2S_DCR;
  return Q8_OK;
}

static q8_status
import_pool (importer *im, bool is_max, bool global)
{
  int x;
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  const cv_tensor *X = &im->g->t[x];
  int64_t ks[4] = { 1, 1 };
  if (!global && attr_ints (im->node, "kernel_shape", ks, 4) != 2)
    return node_err (im, Q8_EUNSUPPORTED, "needs a 2-d kernel_shape");
  if (is_max && attr_int (im->node, "storage_order", 0) != 0)
    return node_err (im, Q8_EUNSUPPORTED, "storage_order 1 is not supported");
  if (is_max && im->node->n_output > 1 && im->node->output[1]
      && *im->node->output[1])
    return node_err (im, Q8_EUNSUPPORTED, "the Indices output is not "
                     "supported");
  int64_t dims[4] = { 1, X->dims[1], 1, 1 };
  int k = add_node (im, is_max ? CV_MAXPOOL : CV_AVGPOOL, 1, &x, 4, dims);
  if (k < 0)
    return Q8_ENOMEM;
  cv_node *nd = &im->g->n[k];
  nd->global = global;
  if (global) {
    nd->kh = (int) X->dims[2];
    nd->kw = (int) X->dims[3];
    return Q8_OK;
  }
  st = window_attrs (im, nd, X, (int) ks[0], (int) ks[1]);
  if (st < 0)
    return st;
  if (nd->dil_h != 1 || nd->dil_w != 1)
    return node_err (im, Q8_EUNSUPPORTED, "dilated pooling is not "
                     "supported");
  nd->ceil_mode = attr_int (im->node, "ceil_mode", 0) != 0;
  nd->count_include_pad = attr_int (im->node, "count_include_pad", 0) != 0;
  cv_tensor *Y = &im->g->t[nd->out[0]];
  Y->dims[2] = window_out (X->dims[2], nd->pad_t, nd->pad_b, nd->kh, 1,
                           nd->stride_h, nd->ceil_mode);
  Y->dims[3] = window_out (X->dims[3], nd->pad_l, nd->pad_r, nd->kw, 1,
                           nd->stride_w, nd->ceil_mode);
  if (Y->dims[2] < 1 || Y->dims[3] < 1 || nd->pad_t >= nd->kh
      || nd->pad_l >= nd->kw || nd->pad_b >= nd->kh || nd->pad_r >= nd->kw)
    return node_err (im, Q8_ESHAPE, "window %dx%d, pads %d,%d,%d,%d do not "
                     "fit the %lldx%lld input", nd->kh, nd->kw, nd->pad_t,
                     nd->pad_l, nd->pad_b, nd->pad_r,
                     (long long) X->dims[2], (long long) X->dims[3]);
  return Q8_OK;
}

static q8_status
import_eltwise (importer *im, cv_ew_kind kind, double alpha, double beta)
{
  int x;
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  int ins[2] = { x, -1 };
  int n_in = 1;
  if (kind == CV_EW_PRELU) {
    ins[1] = in_tensor (im, 1);
    if (ins[1] < 0 || !im->g->t[ins[1]].is_const)
      return node_err (im, Q8_EUNSUPPORTED, "the slope must be a constant");
    int64_t ns = cv_numel (&im->g->t[ins[1]]);
    if (ns != 1 && ns != im->g->t[x].dims[1])
      return node_err (im, Q8_EUNSUPPORTED, "the slope has %lld values; "
                       "q8 takes one or one per channel (%lld)",
                       (long long) ns, (long long) im->g->t[x].dims[1]);
    n_in = 2;
  }
  int k = add_node (im, CV_ELTWISE, n_in, ins, 4, im->g->t[x].dims);
  if (k < 0)
    return Q8_ENOMEM;
  im->g->n[k].ew = kind;
  im->g->n[k].alpha = alpha;
  im->g->n[k].beta = beta;
  return Q8_OK;
}

static q8_status
import_clip (importer *im)
{
  double lo = -HUGE_VAL, hi = HUGE_VAL;
  if (im->opset < 11) {
    lo = attr_float (im->node, "min", -HUGE_VAL);
    hi = attr_float (im->node, "max", HUGE_VAL);
  } else {
    int a = in_tensor (im, 1), b = in_tensor (im, 2);
    if ((a >= 0 && !im->g->t[a].is_const) || (b >= 0 && !im->g->t[b].is_const))
      return node_err (im, Q8_EUNSUPPORTED, "min and max must be constants");
    if (a >= 0)
      lo = im->g->t[a].data[0];
    if (b >= 0)
      hi = im->g->t[b].data[0];
  }
  return import_eltwise (im, CV_EW_CLIP, lo, hi);
}

static q8_status
import_binary (importer *im, const char *op)
{
  int a = in_tensor (im, 0), b = in_tensor (im, 1);
  if (a < 0 || b < 0)
    return node_err (im, Q8_EOP, "needs two inputs");
  cv_graph *g = im->g;
  bool ca = g->t[a].is_const, cb = g->t[b].is_const;
  int r;
  int64_t dims[CV_MAX_RANK];
  if (!broadcast_dims (&g->t[a], &g->t[b], &r, dims))
    return node_err (im, Q8_ESHAPE, "shapes do not broadcast");
  if (!ca && !cb) {
    if (strcmp (op, "Add"))
      return node_err (im, Q8_EUNSUPPORTED, "q8 runs %s only with a "
                       "constant operand (an activation %s activation is "
                       "not supported)", op, op);
    int x;
    q8_status st = need_act (im, 0, &x);
    if (st < 0 || (st = need_act (im, 1, &x)) < 0)
      return st;
    if (memcmp (g->t[a].dims, g->t[b].dims, 4 * sizeof (int64_t)))
      return node_err (im, Q8_EUNSUPPORTED, "q8 adds activations of the "
                       "same shape only (no broadcasting)");
    int ins[2] = { a, b };
    return add_node (im, CV_ADD, 2, ins, 4, g->t[a].dims) < 0 ? Q8_ENOMEM
                                                              : Q8_OK;
  }
  int act = ca ? b : a, cst = ca ? a : b;
  int x;
  q8_status st = need_act (im, ca ? 1 : 0, &x);
  if (st < 0)
    return st;
  if (r != 4 || memcmp (dims, g->t[act].dims, 4 * sizeof (int64_t)))
    return node_err (im, Q8_EUNSUPPORTED, "the constant operand would "
                     "broadcast the activation to a larger shape");
  /* q8 applies constants per channel at most: check the constant varies
   * along C only. */
  const cv_tensor *C = &g->t[cst];
  for (int i = 0; i < C->rank; i++) {
    int ax = i + 4 - C->rank;
    if (C->dims[i] != 1 && ax != 1)
      return node_err (im, Q8_EUNSUPPORTED, "the constant operand varies "
                       "along axis %d; q8 takes scalars or per-channel "
                       "constants", ax);
  }
  int ins[2] = { a, b };
  int k = add_node (im, CV_BINCONST, 2, ins, 4, g->t[act].dims);
  if (k < 0)
    return Q8_ENOMEM;
  cv_node *nd = &g->n[k];
  nd->const_index = ca ? 0 : 1;
  nd->bin = !strcmp (op, "Add")   ? CV_BIN_ADD
            : !strcmp (op, "Sub") ? CV_BIN_SUB
            : !strcmp (op, "Mul") ? CV_BIN_MUL
                                  : CV_BIN_DIV;
  if (ca && nd->bin == CV_BIN_DIV)
    return node_err (im, Q8_EUNSUPPORTED, "a constant divided by an "
                     "activation is not supported");
  return Q8_OK;
}

static q8_status
import_resize (importer *im)
{
  const Onnx__NodeProto *n = im->node;
  int x;
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  cv_graph *g = im->g;
  double sh = 0, sw = 0;
  int scales_in = !strcmp (n->op_type, "Upsample") || im->opset < 11 ? 1 : 2;
  int sc = in_tensor (im, (size_t) scales_in), sz = in_tensor (im, 3);
  if (!strcmp (n->op_type, "Upsample") && sc < 0) {
    float fl[4];
    const Onnx__AttributeProto *a = attr (n, "scales");
    if (!a || a->n_floats != 4)
      return node_err (im, Q8_EUNSUPPORTED, "needs 4 scales");
    memcpy (fl, a->floats, sizeof fl);
    sh = fl[2];
    sw = fl[3];
  } else if (sc >= 0 && g->t[sc].is_const && cv_numel (&g->t[sc]) == 4) {
    sh = g->t[sc].data[2];
    sw = g->t[sc].data[3];
    if (g->t[sc].data[0] != 1 || g->t[sc].data[1] != 1)
      return node_err (im, Q8_EUNSUPPORTED, "scales only H and W");
  } else if (sz >= 0 && g->t[sz].is_const && cv_numel (&g->t[sz]) == 4) {
    sh = g->t[sz].data[2] / (double) g->t[x].dims[2];
    sw = g->t[sz].data[3] / (double) g->t[x].dims[3];
  } else {
    return node_err (im, Q8_EUNSUPPORTED,
                     "needs constant 4-value scales or sizes");
  }
  if (!(sh >= 1 && sw >= 1 && sh <= 64 && sw <= 64) || sh != floor (sh)
      || sw != floor (sw))
    return node_err (im, Q8_EUNSUPPORTED, "scale factors %g x %g; q8 "
                     "resizes by integer factors 1..64 only", sh, sw);
  char mode[32], coord[40], nm[40];
  attr_str (n, "mode", mode, sizeof mode, "nearest");
  attr_str (n, "coordinate_transformation_mode", coord, sizeof coord,
            !strcmp (n->op_type, "Upsample") || im->opset < 11
              ? "asymmetric" : "half_pixel");
  /* Upsample (and Resize before opset 11) picks floor (x / f). */
  attr_str (n, "nearest_mode", nm, sizeof nm,
            !strcmp (n->op_type, "Upsample") || im->opset < 11
              ? "floor" : "round_prefer_floor");
  int rmode, rcoord = Q8_RESIZE_HALF_PIXEL;
  if (!strcmp (mode, "nearest")) {
    rmode = Q8_RESIZE_NEAREST;
    /* For integer factors these all pick floor (oy / f); see
     * ARITHMETIC.md RESIZE. */
    bool ok = (!strcmp (coord, "asymmetric") && !strcmp (nm, "floor"))
              || ((!strcmp (coord, "half_pixel")
                   || !strcmp (coord, "pytorch_half_pixel"))
                  && (!strncmp (nm, "round_prefer", 12)));
    if (!ok)
      return node_err (im, Q8_EUNSUPPORTED, "nearest with coordinate mode "
                       "'%s' and nearest_mode '%s' is not supported", coord,
                       nm);
  } else if (!strcmp (mode, "linear") || !strcmp (mode, "bilinear")) {
    rmode = Q8_RESIZE_BILINEAR;
    if (!strcmp (coord, "asymmetric"))
      rcoord = Q8_RESIZE_ASYMMETRIC;
    else if (strcmp (coord, "half_pixel") && strcmp (coord,
                                                     "pytorch_half_pixel"))
      return node_err (im, Q8_EUNSUPPORTED, "linear with coordinate mode "
                       "'%s' is not supported (half_pixel, "
                       "pytorch_half_pixel and asymmetric are)", coord);
  } else {
    return node_err (im, Q8_EUNSUPPORTED, "mode '%s' is not supported",
                     mode);
  }
  const cv_tensor *X = &g->t[x];
  int64_t dims[4] = { 1, X->dims[1], X->dims[2] * (int64_t) sh,
                      X->dims[3] * (int64_t) sw };
  int k = add_node (im, CV_RESIZE, 1, &x, 4, dims);
  if (k < 0)
    return Q8_ENOMEM;
  g->n[k].factor_h = (int) sh;
  g->n[k].factor_w = (int) sw;
  g->n[k].resize_mode = rmode;
  g->n[k].resize_coord = rcoord;
  return Q8_OK;
}

/* QuantizeLinear on an activation: its output is only a marker until the
 * matching DequantizeLinear, which makes the pair one CV_FAKEQ node. */
static q8_status
qdq_params (importer *im, double *scale, int32_t *zp, int32_t *qmin,
            int32_t *qmax)
{
  int s = in_tensor (im, 1), z = in_tensor (im, 2);
  cv_graph *g = im->g;
  if (s < 0 || !g->t[s].is_const || (z >= 0 && !g->t[z].is_const))
    return node_err (im, Q8_EUNSUPPORTED, "scale and zero point must be "
                     "constants");
  if (cv_numel (&g->t[s]) != 1)
    return node_err (im, Q8_EUNSUPPORTED, "per-axis quantization of an "
                     "activation is not supported (q8 activations have one "
                     "scale)");
  *scale = g->t[s].data[0];
  *zp = z >= 0 ? (int32_t) to_int (g->t[z].data[0]) : 0;
  /* The zero point's type is the quantized type; absent means uint8. */
  bool s8 = z >= 0 && g->t[z].onnx_dtype == ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
  *qmin = s8 ? -128 : 0;
  *qmax = s8 ? 127 : 255;
  if (!(*scale > 0) || !isfinite (*scale))
    return node_err (im, Q8_EINVAL, "scale %g is not positive", *scale);
  return Q8_OK;
}

static q8_status
import_quantize (importer *im)
{
  int x;
  q8_status st = need_act (im, 0, &x);
  if (st < 0)
    return st;
  double s;
  int32_t zp, qmin, qmax;
  if ((st = qdq_params (im, &s, &zp, &qmin, &qmax)) < 0)
    return st;
  int t = new_output (im, 4, im->g->t[x].dims);
  if (t < 0)
    return Q8_ENOMEM;
  cv_tensor *T = &im->g->t[t];
  /* Marker: producer -2 - x says "QuantizeLinear of x". */
  T->producer = -2 - x;
  T->is_int = true;
  return Q8_OK;
}

static q8_status
import_dequantize (importer *im)
{
  int q = in_tensor (im, 0);
  if (q < 0 || im->g->t[q].producer > -2)
    return node_err (im, Q8_EUNSUPPORTED, "DequantizeLinear of an "
                     "activation must directly follow its QuantizeLinear");
  int x = -2 - im->g->t[q].producer;
  double s;
  int32_t zp, qmin, qmax;
  q8_status st = qdq_params (im, &s, &zp, &qmin, &qmax);
  if (st < 0)
    return st;
  int k = add_node (im, CV_FAKEQ, 1, &x, 4, im->g->t[x].dims);
  if (k < 0)
    return Q8_ENOMEM;
  cv_node *nd = &im->g->n[k];
  nd->fq_scale = s;
  nd->fq_zp = zp;
  nd->fq_qmin = qmin;
  nd->fq_qmax = qmax;
  return Q8_OK;
}

static q8_status
import_node (importer *im)
{
  const Onnx__NodeProto *n = im->node;
  const char *op = n->op_type;
  cv_graph *g = im->g;
  if (!n->op_type || !*n->op_type)
    return node_err (im, Q8_EOP, "the node has no op type");
  if (n->domain && *n->domain && strcmp (n->domain, "ai.onnx"))
    return node_err (im, Q8_EUNSUPPORTED, "operator domain '%s' is not "
                     "supported", n->domain);
  if (n->n_output < 1)
    return node_err (im, Q8_EOP, "has no output");

  bool done;
  q8_status st = try_fold (im, &done);
  if (st < 0 || done)
    return st;

  if (!strcmp (op, "Conv"))
    return import_conv (im);
  if (!strcmp (op, "ConvTranspose"))
    return import_convtranspose (im);
  if (!strcmp (op, "Relu"))
    return import_eltwise (im, CV_EW_RELU, 0, 0);
  if (!strcmp (op, "LeakyRelu"))
    return import_eltwise (im, CV_EW_LEAKYRELU,
                           attr_float (n, "alpha", 0.01), 0);
  if (!strcmp (op, "PRelu"))
    return import_eltwise (im, CV_EW_PRELU, 0, 0);
  if (!strcmp (op, "Tanh"))
    return import_eltwise (im, CV_EW_TANH, 0, 0);
  if (!strcmp (op, "Sigmoid"))
    return import_eltwise (im, CV_EW_SIGMOID, 0, 0);
  if (!strcmp (op, "HardSigmoid"))
    return import_eltwise (im, CV_EW_HARDSIGMOID,
                           attr_float (n, "alpha", 0.2),
                           attr_float (n, "beta", 0.5));
  if (!strcmp (op, "HardSwish"))
    return import_eltwise (im, CV_EW_HARDSWISH, 0, 0);
  if (!strcmp (op, "Clip"))
    return import_clip (im);
  if (!strcmp (op, "Add") || !strcmp (op, "Sub") || !strcmp (op, "Mul")
      || !strcmp (op, "Div"))
    return import_binary (im, op);
  if (!strcmp (op, "Identity") || !strcmp (op, "Dropout")) {
    int x = in_tensor (im, 0);
    if (x < 0)
      return node_err (im, Q8_EOP, "has no input");
    return name_bind (im, n->output[0], x) ? Q8_OK : Q8_ENOMEM;
  }
  if (!strcmp (op, "BatchNormalization")) {
    int x;
    if ((st = need_act (im, 0, &x)) < 0)
      return st;
    int ins[5] = { x };
    for (int i = 1; i < 5; i++) {
      ins[i] = in_tensor (im, (size_t) i);
      if (ins[i] < 0 || !g->t[ins[i]].is_const
          || cv_numel (&g->t[ins[i]]) != g->t[x].dims[1])
        return node_err (im, Q8_EUNSUPPORTED, "input %d must be a constant "
                         "with %lld values", i, (long long) g->t[x].dims[1]);
    }
    int k = add_node (im, CV_BN, 5, ins, 4, g->t[x].dims);
    if (k < 0)
      return Q8_ENOMEM;
    g->n[k].epsilon = attr_float (n, "epsilon", 1e-5);
    return Q8_OK;
  }
  if (!strcmp (op, "DepthToSpace")) {
    int x;
    if ((st = need_act (im, 0, &x)) < 0)
      return st;
    int64_t bs = attr_int (n, "blocksize", 0);
    char mode[16];
    attr_str (n, "mode", mode, sizeof mode, "DCR");
    const cv_tensor *X = &g->t[x];
    if (bs < 1 || bs > 64 || X->dims[1] % (bs * bs))
      return node_err (im, Q8_ESHAPE, "blocksize %lld does not divide %lld "
                       "channels", (long long) bs, (long long) X->dims[1]);
    if (strcmp (mode, "DCR") && strcmp (mode, "CRD"))
      return node_err (im, Q8_EUNSUPPORTED, "mode '%s'", mode);
    int64_t dims[4] = { 1, X->dims[1] / (bs * bs), X->dims[2] * bs,
                        X->dims[3] * bs };
    int k = add_node (im, CV_D2S, 1, &x, 4, dims);
    if (k < 0)
      return Q8_ENOMEM;
    g->n[k].block = (int) bs;
    g->n[k].mode = !strcmp (mode, "CRD") ? Q8_D2S_CRD : Q8_D2S_DCR;
    return Q8_OK;
  }
  if (!strcmp (op, "Reshape")) {
    int x = in_tensor (im, 0), s = in_tensor (im, 1);
    if (x < 0 || s < 0 || !g->t[s].is_const)
      return node_err (im, Q8_EUNSUPPORTED, "the target shape must fold to "
                       "a constant");
    int r;
    int64_t dims[CV_MAX_RANK];
    if ((st = reshape_dims (im, &g->t[x], &g->t[s], &r, dims)) < 0)
      return st;
    return add_node (im, CV_RESHAPE, 1, &x, r, dims) < 0 ? Q8_ENOMEM : Q8_OK;
  }
  if (!strcmp (op, "Transpose")) {
    int x = in_tensor (im, 0);
    if (x < 0)
      return node_err (im, Q8_EOP, "has no input");
    int r = g->t[x].rank;
    int64_t perm[CV_MAX_RANK], dims[CV_MAX_RANK];
    if (attr_ints (n, "perm", perm, CV_MAX_RANK) != r)
      for (int i = 0; i < r; i++)
        perm[i] = r - 1 - i;
    int seen = 0;
    for (int i = 0; i < r; i++) {
      if (perm[i] < 0 || perm[i] >= r || (seen & (1 << perm[i])))
        return node_err (im, Q8_EINVAL, "perm[%d] = %lld is not a "
                         "permutation", i, (long long) perm[i]);
      seen |= 1 << perm[i];
      dims[i] = g->t[x].dims[perm[i]];
    }
    int k = add_node (im, CV_TRANSPOSE, 1, &x, r, dims);
    if (k < 0)
      return Q8_ENOMEM;
    for (int i = 0; i < r; i++)
      g->n[k].perm[i] = (int) perm[i];
    return Q8_OK;
  }
  if (!strcmp (op, "Concat")) {
    int64_t ax = attr_int (n, "axis", 1);
    if (ax < 0)
      ax += 4;
    if (ax != 1)
      return node_err (im, Q8_EUNSUPPORTED, "q8 concatenates along "
                       "channels (axis 1) only, not axis %lld",
                       (long long) ax);
    if (n->n_input < 1 || n->n_input > Q8_MAX_OP_INPUTS)
      return node_err (im, Q8_EUNSUPPORTED, "%zu inputs (1..%d)",
                       n->n_input, Q8_MAX_OP_INPUTS);
    int ins[CV_MAX_IN];
    int64_t dims[4];
    for (size_t i = 0; i < n->n_input; i++) {
      if ((st = need_act (im, i, &ins[i])) < 0)
        return st;
      const cv_tensor *T = &g->t[ins[i]];
      if (i == 0) {
        memcpy (dims, T->dims, sizeof dims);
        dims[1] = 0;
      } else if (T->dims[2] != dims[2] || T->dims[3] != dims[3]) {
        return node_err (im, Q8_ESHAPE, "input '%s' is %lldx%lld, the "
                         "first is %lldx%lld", T->name,
                         (long long) T->dims[2], (long long) T->dims[3],
                         (long long) dims[2], (long long) dims[3]);
      }
      dims[1] += T->dims[1];
    }
    return add_node (im, CV_CONCAT, (int) n->n_input, ins, 4, dims) < 0
             ? Q8_ENOMEM : Q8_OK;
  }
  if (!strcmp (op, "MaxPool"))
    return import_pool (im, true, false);
  if (!strcmp (op, "AveragePool"))
    return import_pool (im, false, false);
  if (!strcmp (op, "GlobalAveragePool"))
    return import_pool (im, false, true);
  if (!strcmp (op, "Resize") || !strcmp (op, "Upsample"))
    return import_resize (im);
  if (!strcmp (op, "QuantizeLinear"))
    return import_quantize (im);
  if (!strcmp (op, "DequantizeLinear"))
    return import_dequantize (im);
  return node_err (im, Q8_EUNSUPPORTED, "op type '%s' is not supported by "
                   "q8", op);
}

/* ---------------------------------------------------------------- */
/* Model                                                             */
/* ---------------------------------------------------------------- */

static q8_status
import_input (importer *im, const Onnx__ValueInfoProto *vi, int in_h,
              int in_w)
{
  cv_graph *g = im->g;
  const char *name = vi->name ? vi->name : "?";
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE
      || !vi->type->tensor_type || !vi->type->tensor_type->shape)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "graph input '%s' is not a tensor with a shape", name);
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  if (tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "graph input '%s' has element type %d; q8 converts "
                   "float32 models", name, (int) tt->elem_type);
  const Onnx__TensorShapeProto *sh = tt->shape;
  if (sh->n_dim != 4)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "graph input '%s' has rank %zu; q8 takes NCHW images "
                   "(rank 4)", name, sh->n_dim);
  if (g->n_inputs >= 8)
    return cv_err (im->err, im->err_size, Q8_EUNSUPPORTED,
                   "more than 8 graph inputs");
  int t = cv_tensor_add (g, name);
  if (t < 0 || !name_bind (im, name, t))
    return Q8_ENOMEM;
  cv_tensor *T = &g->t[t];
  T->rank = 4;
  static const char *axis[4] = { "batch", "channel", "height", "width" };
  for (int i = 0; i < 4; i++) {
    const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
    bool fixed = d->value_case
                   == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                 && d->dim_value > 0;
    int64_t v = fixed ? d->dim_value : 0;
    const char *param = d->value_case
                            == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                          ? d->dim_param : "?";
    if (i == 0) {
      if (fixed && v != 1)
        cv_warn (g, "graph input '%s' has batch %lld; q8 runs batch 1",
                 name, (long long) v);
      v = 1;
    } else if (i >= 2 && (in_h > 0 && in_w > 0) && !fixed) {
      v = i == 2 ? in_h : in_w;
    } else if (!fixed) {
      return cv_err (im->err, im->err_size, Q8_ESHAPE,
                     "graph input '%s' has a dynamic %s ('%s'); %s", name,
                     axis[i], param,
                     i == 1 ? "q8 needs a fixed channel count"
                            : "give the size to import at (--input-size "
                              "WxH, or calibration data)");
    } else if (v > Q8_MAX_DIM) {
      return cv_err (im->err, im->err_size, Q8_ESHAPE,
                     "graph input '%s': %s %lld is too large", name,
                     axis[i], (long long) v);
    }
    T->dims[i] = v;
  }
  g->input_mul[g->n_inputs] = 1.0;
  g->inputs[g->n_inputs++] = t;
  return Q8_OK;
}

q8_status
cv_import_onnx (const void *data, size_t size, int in_h, int in_w,
                cv_graph **graph, char *err, size_t err_size)
{
  *graph = NULL;
  Onnx__ModelProto *m = onnx__model_proto__unpack (NULL, size, data);
  if (!m)
    return cv_err (err, err_size, Q8_ETRUNC,
                   "not a readable ONNX model: the %zu bytes do not decode "
                   "as an ONNX ModelProto (truncated or not ONNX)", size);
  importer im = { .err = err, .err_size = err_size, .opset = -1 };
  q8_status st = Q8_OK;
  const Onnx__GraphProto *gp = m->graph;
  if (!gp || gp->n_node == 0 || gp->n_output == 0) {
    st = cv_err (err, err_size, Q8_EOP, "the ONNX model has no graph, "
                 "nodes or outputs (%zu bytes; truncated?)", size);
    goto done;
  }
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    if (!o->domain || !*o->domain || !strcmp (o->domain, "ai.onnx"))
      im.opset = o->has_version ? o->version : -1;
  }
  if (im.opset < 7) {
    st = cv_err (err, err_size, Q8_EUNSUPPORTED, "ONNX opset %lld is not "
                 "supported (7..17 are read, 11..17 tested)",
                 (long long) im.opset);
    goto done;
  }
  im.g = cv_graph_new ();
  if (!im.g) {
    st = Q8_ENOMEM;
    goto done;
  }
  if (im.opset > 17 || im.opset < 11)
    cv_warn (im.g, "ONNX opset %lld is outside the tested 11..17",
             (long long) im.opset);

  for (size_t i = 0; i < gp->n_initializer; i++) {
    const Onnx__TensorProto *tp = gp->initializer[i];
    const char *nm = tp->name ? tp->name : "";
    int t;
    if ((st = tensor_from_proto (&im, tp, nm, &t, "initializer")) < 0)
      goto done;
    if (!name_bind (&im, nm, t)) {
      st = Q8_ENOMEM;
      goto done;
    }
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    if (name_lookup (&im, gp->input[i]->name) >= 0)
      continue; /* an initializer listed as input (IR < 4) */
    if ((st = import_input (&im, gp->input[i], in_h, in_w)) < 0)
      goto done;
  }
  if (im.g->n_inputs == 0) {
    st = cv_err (err, err_size, Q8_EOP, "the graph has no non-constant "
                 "input");
    goto done;
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    im.node = gp->node[i];
    int before = im.g->n_n;
    /* Importers keep pointers into the tensor and node tables across the
     * few they add (a use-after-free once the fuzzer made a table grow
     * under one): room is made first, and the tables stay put until the
     * node is imported. */
    if ((st = cv_graph_reserve (im.g, NODE_MAX_NEW_TENSORS,
                                NODE_MAX_NEW_NODES)) < 0) {
      cv_err (err, err_size, st, "no room for node %zu: %s", i,
              q8_status_str (st));
      goto done;
    }
    im.g->pinned = true;
    st = import_node (&im);
    im.g->pinned = false;
    if (st < 0) {
      if (im.g->pin_overflow)
        cv_err (err, err_size, Q8_ETOOBIG, "node %zu adds more than %d "
                "tensors or %d nodes (an importer limit)", i,
                NODE_MAX_NEW_TENSORS, NODE_MAX_NEW_NODES);
      else if (st == Q8_ENOMEM)
        cv_err (err, err_size, st, "out of memory importing node %zu", i);
      goto done;
    }
    if (im.g->n_n > before) {
      /* Activations stay below 2^30 elements (the executor's buffers). */
      const cv_tensor *T = &im.g->t[im.g->n[im.g->n_n - 1].out[0]];
      int64_t n = 1;
      for (int k = 0; k < T->rank; k++) {
        if (T->dims[k] < 1 || n > ((int64_t) 1 << 30) / T->dims[k]) {
          char sh[160];
          st = node_err (&im, Q8_ESHAPE, "output shape %s is empty or too "
                         "large", cv_shape_str (T, sh, sizeof sh));
          goto done;
        }
        n *= T->dims[k];
      }
    }
  }
  for (size_t i = 0; i < gp->n_output; i++) {
    int t = name_lookup (&im, gp->output[i]->name);
    if (t < 0 || im.g->t[t].is_const || im.g->t[t].producer < 0) {
      st = cv_err (err, err_size, Q8_EOP, "graph output '%s' is %s",
                   gp->output[i]->name ? gp->output[i]->name : "",
                   t < 0 ? "never produced"
                   : im.g->t[t].is_const ? "a constant"
                                         : "a graph input or raw int8 tensor");
      goto done;
    }
    if (im.g->n_outputs >= 8) {
      st = cv_err (err, err_size, Q8_EUNSUPPORTED, "more than 8 outputs");
      goto done;
    }
    im.g->outputs[im.g->n_outputs++] = t;
  }
  cv_graph_link (im.g);
  *graph = im.g;
  im.g = NULL;
done:
  for (int i = 0; i < im.n_names; i++)
    free (im.names[i].name);
  free (im.names);
  cv_graph_free (im.g);
  onnx__model_proto__free_unpacked (m, NULL);
  return st;
}
