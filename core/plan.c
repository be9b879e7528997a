/* plan.c - binds a model to an input size: shapes, the activation arena,
 * per-op kernel parameters, the thread pool; and runs it.
 *
 * Everything that allocates happens in q8_plan_create () and
 * q8_plan_resize (); q8_run () only calls kernels.  A resize builds the new
 * state beside the old one and swaps only on success, so a failed resize
 * leaves a working plan.
 *
 * Arena.  Each activation lives from the op that writes it to the last op
 * that reads it (graph inputs from the start, graph outputs to the end).
 * Tensors are placed greedily, largest first, at the lowest 64-byte aligned
 * offset that does not overlap a placed tensor whose lifetime intersects
 * theirs.  An op's inputs and outputs are both alive at that op, so no op
 * ever reads and writes the same bytes.
 *
 * Fusion.  A UNARY op with a single table that is the only reader of a
 * convolution's output (which is not a graph output) is folded into the
 * convolution: the convolution applies the table and writes the UNARY's
 * output directly, and the UNARY is skipped.
 *
 * A DEPTH_TO_SPACE whose only reader is an element-wise ADD or DEQUANTIZE
 * of its output's shape (the tail of ESPCN: pixel shuffle, plus the
 * upscaled input, to pixels) writes straight into that op's output, rows
 * [y0, y1) at a time just before the op computes the same rows in place
 * (its kernels read each element before writing it).  The pixel-shuffled
 * tensor is never materialized and takes no pass of its own; the
 * DEPTH_TO_SPACE's input lives until the op that runs it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "q8_internal.h"

/* State that depends on the input size, swapped as a whole on resize. */
typedef struct {
  q8__plan_tensor *tensors;
  q8__plan_op *ops;
  uint8_t *arena;
  size_t arena_size;
} sized_state;

static void
sized_state_free (const q8_model *m, sized_state *s)
{
  if (s->ops != NULL)
    for (uint32_t i = 0; i < m->n_ops; i++)
      q8__free (s->ops[i].params);
  free (s->ops);
  free (s->tensors);
  q8__free (s->arena);
  memset (s, 0, sizeof *s);
}

/* Index of the single op reading tensor t, or -1 if none or several. */
static int64_t
single_reader (const q8_model *m, uint32_t t)
{
  int64_t reader = -1;
  for (uint32_t i = 0; i < m->n_ops; i++)
    for (int j = 0; j < m->ops[i].n_inputs; j++)
      if (m->ops[i].inputs[j] == t) {
        if (reader >= 0 && reader != (int64_t) i)
          return -1;
        reader = i;
      }
  return reader;
}

static bool
is_graph_output (const q8_model *m, uint32_t t)
{
  for (uint32_t i = 0; i < m->n_outputs; i++)
    if (m->outputs[i] == t)
      return true;
  return false;
}

/* Marks convolution + UNARY pairs to fuse (see the file comment). */
static void
plan_fusion (const q8_model *m, q8__plan_op *pops)
{
  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    if (op->type != Q8_OP_CONV2D || is_graph_output (m, op->outputs[0]))
      continue;
    int64_t r = single_reader (m, op->outputs[0]);
    if (r < 0)
      continue;
    const q8__op *next = &m->ops[r];
    if (next->type != Q8_OP_UNARY || next->cls->fusable_lut == NULL)
      continue;
    const int8_t *lut = next->cls->fusable_lut (next);
    if (lut == NULL)
      continue;
    pops[i].fused_lut = lut;
    pops[r].skip = true;
    pops[r].host = i + 1;
  }

  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    if (op->type != Q8_OP_DEPTH_TO_SPACE || is_graph_output (m, op->outputs[0]))
      continue;
    int64_t r = single_reader (m, op->outputs[0]);
    if (r < 0 || pops[r].producer != NULL)
      continue;
    const q8__op *next = &m->ops[r];
    /* ADD has the shape of its inputs (both read element by element: only
     * one of them can be the output itself); DEQUANTIZE maps one byte to
     * one byte. */
    bool fits = next->type == Q8_OP_DEQUANTIZE
                || (next->type == Q8_OP_ADD
                    && next->inputs[0] != next->inputs[1]);
    if (!fits)
      continue;
    pops[r].producer = &pops[i];
    pops[i].skip = true;
    pops[i].host = (uint32_t) r + 1;
  }
}

/* True if op i reads tensor t, itself or through a fused producer. */
static bool
reads_tensor (const q8_model *m, const q8__plan_op *pops, uint32_t i,
              uint32_t t)
{
  for (int j = 0; j < m->ops[i].n_inputs; j++)
    if (m->ops[i].inputs[j] == t)
      return true;
  return pops[i].producer != NULL && pops[i].producer->op->inputs[0] == t;
}

/* The tensor an op really writes: a fused convolution writes its UNARY's
 * output. */
static uint32_t
written_tensor (const q8_model *m, const q8__plan_op *pops, uint32_t op_index)
{
  const q8__op *op = &m->ops[op_index];
  if (pops[op_index].fused_lut != NULL) {
    int64_t r = single_reader (m, op->outputs[0]);
    return m->ops[r].outputs[0];
  }
  return op->outputs[0];
}

typedef struct {
  uint32_t tensor;
  int64_t first, last;
  size_t size;
} lifetime;

static int
by_size_desc (const void *a, const void *b)
{
  const lifetime *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return x->tensor < y->tensor ? -1 : x->tensor > y->tensor;
}

/* Places the activations of s in an arena; see the file comment. */
static q8_status
place_arena (const q8_model *m, sized_state *s, char *err, size_t err_size)
{
  uint32_t nt = m->n_tensors;
  lifetime *lt = calloc (nt, sizeof *lt);
  size_t *placed = calloc (nt, sizeof *placed);
  q8_status st = Q8_ENOMEM;
  if (lt == NULL || placed == NULL)
    goto out;

  size_t n = 0;
  for (uint32_t t = 0; t < nt; t++) {
    if (m->tensors[t].is_const || s->tensors[t].nbytes == 0)
      continue;
    lt[n].tensor = t;
    lt[n].first = -1; /* graph inputs: from the start */
    lt[n].last = -1;
    lt[n].size = (s->tensors[t].nbytes + 63) & ~(size_t) 63;
    for (uint32_t i = 0; i < m->n_ops; i++) {
      if (s->ops[i].skip)
        continue;
      if (written_tensor (m, s->ops, i) == t)
        lt[n].first = i;
      if (reads_tensor (m, s->ops, i, t))
        lt[n].last = i;
    }
    /* A skipped UNARY reads nothing (its convolution did the work). */
    if (is_graph_output (m, t) || lt[n].last < lt[n].first)
      lt[n].last = m->n_ops;
    n++;
  }
  qsort (lt, n, sizeof *lt, by_size_desc);

  size_t arena = 0;
  for (size_t i = 0; i < n; i++) {
    size_t off = 0;
    bool moved = true;
    /* Bump past every conflicting placed tensor until none overlaps. */
    while (moved) {
      moved = false;
      for (size_t j = 0; j < i; j++) {
        bool alive = lt[i].first <= lt[j].last && lt[j].first <= lt[i].last;
        size_t jo = placed[j];
        if (alive && off < jo + lt[j].size && jo < off + lt[i].size) {
          off = jo + lt[j].size;
          moved = true;
        }
      }
    }
    placed[i] = off;
    s->tensors[lt[i].tensor].offset = off;
    size_t end;
    if (!q8__add_size (off, lt[i].size, &end) || end > Q8_MAX_ARENA_BYTES) {
      st = q8__err (err, err_size, Q8_ETOOBIG,
                    "activations need more than %zu bytes at this size",
                    (size_t) Q8_MAX_ARENA_BYTES);
      goto out;
    }
    if (end > arena)
      arena = end;
  }
  s->arena = q8__alloc (arena);
  if (s->arena == NULL) {
    st = q8__err (err, err_size, Q8_ENOMEM,
                  "cannot allocate a %zu-byte activation arena", arena);
    goto out;
  }
  s->arena_size = arena;
  st = Q8_OK;
out:
  free (lt);
  free (placed);
  return st;
}

/* Computes shapes, op parameters and the arena for width x height. */
static q8_status
build_sized (const q8_plan *plan, int width, int height, sized_state *s,
             char *err, size_t err_size)
{
  const q8_model *m = plan->model;
  q8_status st;
  memset (s, 0, sizeof *s);
  if (width < 1 || height < 1 || width > Q8_MAX_DIM || height > Q8_MAX_DIM)
    return q8__err (err, err_size, Q8_ESHAPE,
                    "input size %dx%d outside 1x1..%dx%d", width, height,
                    Q8_MAX_DIM, Q8_MAX_DIM);
  s->tensors = calloc (m->n_tensors, sizeof *s->tensors);
  s->ops = calloc (m->n_ops, sizeof *s->ops);
  if (s->tensors == NULL || s->ops == NULL) {
    st = Q8_ENOMEM;
    goto fail;
  }

  for (uint32_t i = 0; i < m->n_inputs; i++) {
    q8__plan_tensor *t = &s->tensors[m->inputs[i]];
    t->shape.h = height;
    t->shape.w = width;
    t->shape.c = m->tensors[m->inputs[i]].dims[3];
  }

  plan_fusion (m, s->ops);

  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    q8__plan_op *pop = &s->ops[i];
    q8__shape in[Q8_MAX_OP_INPUTS];
    memset (in, 0, sizeof in);
    for (int j = 0; j < op->n_inputs; j++)
      if (op->inputs[j] != Q8_NO_TENSOR && !m->tensors[op->inputs[j]].is_const)
        in[j] = s->tensors[op->inputs[j]].shape;
    pop->op = op;
    q8__shape out = { 0, 0, 0 };
    char msg[192] = "";
    st = op->cls->reshape (m, op, plan->kernels, pop, in, &out, msg,
                           sizeof msg);
    if (st < 0) {
      st = q8__err (err, err_size, st, "op %u (%s) at input %dx%d: %s", i,
                    op->cls->name, width, height, msg);
      goto fail;
    }
    if (out.h < 1 || out.w < 1 || out.c < 1 || out.h > Q8_MAX_DIM * 16
        || out.w > Q8_MAX_DIM * 16) {
      st = q8__err (err, err_size, Q8_ESHAPE,
                    "op %u (%s) at input %dx%d: output %dx%dx%d out of range",
                    i, op->cls->name, width, height, out.w, out.h, out.c);
      goto fail;
    }
    pop->out_shape = out;
    s->tensors[op->outputs[0]].shape = out;
  }

  /* Byte sizes; a fused convolution's own output is never materialized. */
  for (uint32_t t = 0; t < m->n_tensors; t++) {
    const q8__tensor *mt = &m->tensors[t];
    q8__plan_tensor *pt = &s->tensors[t];
    if (mt->is_const)
      continue;
    size_t n;
    if (!q8__mul_size ((size_t) pt->shape.h, (size_t) pt->shape.w, &n)
        || !q8__mul_size (n, (size_t) pt->shape.c, &n)
        || !q8__mul_size (n, q8_dtype_size (mt->dtype), &n)) {
      st = q8__err (err, err_size, Q8_ETOOBIG, "tensor %u '%s' too large", t,
                    mt->name);
      goto fail;
    }
    pt->nbytes = n;
  }
  for (uint32_t i = 0; i < m->n_ops; i++)
    if (s->ops[i].fused_lut != NULL
        || (s->ops[i].skip && m->ops[i].type == Q8_OP_DEPTH_TO_SPACE))
      s->tensors[m->ops[i].outputs[0]].nbytes = 0;

  st = place_arena (m, s, err, err_size);
  if (st < 0)
    goto fail;

  /* Buffer pointers of every op. */
  for (uint32_t i = 0; i < m->n_ops; i++) {
    const q8__op *op = &m->ops[i];
    q8__plan_op *pop = &s->ops[i];
    for (int j = 0; j < op->n_inputs; j++) {
      uint32_t t = op->inputs[j];
      pop->ins[j] = t == Q8_NO_TENSOR || m->tensors[t].is_const
                        ? NULL
                        : s->arena + s->tensors[t].offset;
    }
    pop->outs[0] = s->arena + s->tensors[written_tensor (m, s->ops, i)].offset;
  }
  /* An op with a fused producer reads that input from its own output. */
  for (uint32_t i = 0; i < m->n_ops; i++) {
    q8__plan_op *pop = &s->ops[i];
    if (pop->producer == NULL)
      continue;
    for (int j = 0; j < m->ops[i].n_inputs; j++)
      if (m->ops[i].inputs[j] == pop->producer->op->outputs[0])
        pop->ins[j] = pop->outs[0];
  }
  return Q8_OK;

fail:
  sized_state_free (m, s);
  return st;
}

static int
online_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int) n;
}

q8_status
q8_plan_create (const q8_model *model, int width, int height, int threads,
                q8_plan **out, char *err, size_t err_size)
{
  if (out == NULL)
    return q8__err (err, err_size, Q8_EINVAL, "no plan pointer given");
  *out = NULL;
  if (model == NULL)
    return q8__err (err, err_size, Q8_EINVAL, "no model given");
  if (threads < 0 || threads > 256)
    return q8__err (err, err_size, Q8_EINVAL,
                    "threads must be 0 (all CPUs) .. 256, not %d", threads);
  if (threads == 0)
    threads = online_cpus ();

  q8_status st = Q8_ENOMEM;
  q8_plan *plan = calloc (1, sizeof *plan);
  if (plan == NULL)
    return q8__err (err, err_size, Q8_ENOMEM, "out of memory");
  plan->model = model;
  plan->kernels = q8__kernels ();
  plan->threads = threads;
  plan->in_px = calloc (model->n_inputs, sizeof *plan->in_px);
  plan->out_px = calloc (model->n_outputs, sizeof *plan->out_px);
  plan->bound = calloc (model->n_outputs, sizeof *plan->bound);
  plan->bound_stride = calloc (model->n_outputs, sizeof *plan->bound_stride);
  if (plan->in_px == NULL || plan->out_px == NULL || plan->bound == NULL
      || plan->bound_stride == NULL)
    goto fail;

  /* Pixels (real = p / 255) to and from S8 graph inputs and outputs. */
  for (uint32_t i = 0; i < model->n_inputs; i++) {
    const q8__tensor *t = &model->tensors[model->inputs[i]];
    q8_rescale_params *p = &plan->in_px[i];
    p->x_u8 = 1;
    p->y_u8 = t->dtype == Q8_DTYPE_U8;
    p->y_zp = t->zero_point;
    if (!q8__quantize_multiplier_s (1.0 / (255.0 * t->scale), &p->mult,
                                    &p->shift)) {
      st = q8__err (err, err_size, Q8_EUNSUPPORTED,
                    "input '%s': scale %g cannot take 8-bit pixels", t->name,
                    t->scale);
      goto fail;
    }
  }
  for (uint32_t i = 0; i < model->n_outputs; i++) {
    const q8__tensor *t = &model->tensors[model->outputs[i]];
    q8_rescale_params *p = &plan->out_px[i];
    p->x_u8 = t->dtype == Q8_DTYPE_U8;
    p->y_u8 = 1;
    p->x_zp = t->zero_point;
    if (!q8__quantize_multiplier_s (255.0 * t->scale, &p->mult, &p->shift)) {
      st = q8__err (err, err_size, Q8_EUNSUPPORTED,
                    "output '%s': scale %g cannot give 8-bit pixels", t->name,
                    t->scale);
      goto fail;
    }
  }

  if (threads > 1) {
    plan->pool = q8__pool_create (threads);
    if (plan->pool == NULL) {
      st = q8__err (err, err_size, Q8_ENOMEM, "cannot start %d threads",
                    threads);
      goto fail;
    }
  }

  sized_state s;
  st = build_sized (plan, width, height, &s, err, err_size);
  if (st < 0)
    goto fail;
  plan->tensors = s.tensors;
  plan->ops = s.ops;
  plan->arena = s.arena;
  plan->arena_size = s.arena_size;
  plan->width = width;
  plan->height = height;
  *out = plan;
  return Q8_OK;

fail:
  q8_plan_free (plan);
  if (st == Q8_ENOMEM && err != NULL && err_size > 0 && err[0] == '\0')
    q8__err (err, err_size, st, "out of memory");
  return st;
}

q8_status
q8_plan_resize (q8_plan *plan, int width, int height, char *err,
                size_t err_size)
{
  if (plan == NULL)
    return q8__err (err, err_size, Q8_EINVAL, "no plan given");
  if (width == plan->width && height == plan->height)
    return Q8_OK;
  sized_state s;
  q8_status st = build_sized (plan, width, height, &s, err, err_size);
  if (st < 0)
    return st;
  sized_state old = { plan->tensors, plan->ops, plan->arena,
                      plan->arena_size };
  /* Profiles carry over: same ops. */
  for (uint32_t i = 0; i < plan->model->n_ops; i++)
    s.ops[i].ns = plan->ops[i].ns;
  sized_state_free (plan->model, &old);
  /* The new ops write the arena: bindings are dropped. */
  for (uint32_t i = 0; i < plan->model->n_outputs; i++)
    plan->bound[i] = NULL;
  plan->tensors = s.tensors;
  plan->ops = s.ops;
  plan->arena = s.arena;
  plan->arena_size = s.arena_size;
  plan->width = width;
  plan->height = height;
  return Q8_OK;
}

void
q8_plan_free (q8_plan *plan)
{
  if (plan == NULL)
    return;
  sized_state s = { plan->tensors, plan->ops, plan->arena, plan->arena_size };
  sized_state_free (plan->model, &s);
  q8__pool_free (plan->pool);
  free (plan->in_px);
  free (plan->out_px);
  free (plan->bound);
  free (plan->bound_stride);
  free (plan);
}

int
q8_plan_threads (const q8_plan *plan)
{
  return plan != NULL ? plan->threads : 0;
}

size_t
q8_plan_arena_size (const q8_plan *plan)
{
  return plan != NULL ? plan->arena_size : 0;
}

static q8_status
io_info (const q8_plan *plan, uint32_t t, q8_tensor_info *info)
{
  const q8__tensor *mt = &plan->model->tensors[t];
  const q8__plan_tensor *pt = &plan->tensors[t];
  info->name = mt->name;
  info->dtype = mt->dtype;
  info->h = pt->shape.h;
  info->w = pt->shape.w;
  info->c = pt->shape.c;
  info->scale = mt->scale;
  info->zero_point = mt->zero_point;
  return Q8_OK;
}

q8_status
q8_plan_input_info (const q8_plan *plan, size_t index, q8_tensor_info *info)
{
  if (plan == NULL || info == NULL || index >= plan->model->n_inputs)
    return Q8_EINVAL;
  return io_info (plan, plan->model->inputs[index], info);
}

q8_status
q8_plan_output_info (const q8_plan *plan, size_t index, q8_tensor_info *info)
{
  if (plan == NULL || info == NULL || index >= plan->model->n_outputs)
    return Q8_EINVAL;
  return io_info (plan, plan->model->outputs[index], info);
}

void *
q8_plan_input (q8_plan *plan, size_t index)
{
  if (plan == NULL || index >= plan->model->n_inputs)
    return NULL;
  return plan->arena + plan->tensors[plan->model->inputs[index]].offset;
}

/* Where output index is, and its row stride in bytes. */
static const uint8_t *
output_rows (const q8_plan *plan, size_t index, size_t *stride)
{
  const q8__plan_tensor *pt = &plan->tensors[plan->model->outputs[index]];
  const q8__tensor *mt = &plan->model->tensors[plan->model->outputs[index]];
  if (plan->bound[index] != NULL) {
    *stride = plan->bound_stride[index];
    return plan->bound[index];
  }
  *stride = (size_t) pt->shape.w * pt->shape.c * q8_dtype_size (mt->dtype);
  return plan->arena + pt->offset;
}

const void *
q8_plan_output (const q8_plan *plan, size_t index)
{
  if (plan == NULL || index >= plan->model->n_outputs)
    return NULL;
  size_t stride;
  return output_rows (plan, index, &stride);
}

/* ---- boundary conversions ----------------------------------------------- */

q8_status
q8_plan_set_input_u8 (q8_plan *plan, size_t index, const uint8_t *data,
                      size_t stride)
{
  if (plan == NULL || data == NULL || index >= plan->model->n_inputs)
    return Q8_EINVAL;
  const q8__plan_tensor *pt = &plan->tensors[plan->model->inputs[index]];
  size_t row = (size_t) pt->shape.w * pt->shape.c;
  if (stride < row)
    return Q8_EINVAL;
  uint8_t *dst = plan->arena + pt->offset;
  for (int32_t y = 0; y < pt->shape.h; y++)
    plan->kernels->rescale ((size_t) pt->shape.w, (size_t) pt->shape.c,
                            data + y * stride, (size_t) pt->shape.c,
                            dst + y * row, (size_t) pt->shape.c,
                            &plan->in_px[index]);
  return Q8_OK;
}

q8_status
q8_plan_get_output_u8 (const q8_plan *plan, size_t index, uint8_t *data,
                       size_t stride)
{
  if (plan == NULL || data == NULL || index >= plan->model->n_outputs)
    return Q8_EINVAL;
  const q8__plan_tensor *pt = &plan->tensors[plan->model->outputs[index]];
  size_t row = (size_t) pt->shape.w * pt->shape.c;
  if (stride < row)
    return Q8_EINVAL;
  size_t src_stride;
  const uint8_t *src = output_rows (plan, index, &src_stride);
  for (int32_t y = 0; y < pt->shape.h; y++)
    plan->kernels->rescale ((size_t) pt->shape.w, (size_t) pt->shape.c,
                            src + y * src_stride, (size_t) pt->shape.c,
                            data + y * stride, (size_t) pt->shape.c,
                            &plan->out_px[index]);
  return Q8_OK;
}

/* True if no op reads tensor t and no other graph output is t. */
static bool
output_unshared (const q8_plan *plan, size_t index)
{
  const q8_model *m = plan->model;
  uint32_t t = m->outputs[index];
  for (uint32_t i = 0; i < m->n_ops; i++)
    if (reads_tensor (m, plan->ops, i, t))
      return false;
  for (uint32_t i = 0; i < m->n_outputs; i++)
    if (i != index && m->outputs[i] == t)
      return false;
  return true;
}

/* True if the output's U8 bytes are already pixels: the boundary rescale
 * maps every value to itself. */
static bool
output_is_pixels (const q8_plan *plan, size_t index)
{
  const q8__tensor *mt = &plan->model->tensors[plan->model->outputs[index]];
  if (mt->dtype != Q8_DTYPE_U8)
    return false;
  for (int v = 0; v < 256; v++) {
    uint8_t x = (uint8_t) v, y;
    q8_rescale__scalar (1, 1, &x, 1, &y, 1, &plan->out_px[index]);
    if (y != x)
      return false;
  }
  return true;
}

q8_status
q8_plan_bind_output_u8 (q8_plan *plan, size_t index, uint8_t *data,
                        size_t stride)
{
  if (plan == NULL || index >= plan->model->n_outputs)
    return Q8_EINVAL;
  const q8_model *m = plan->model;
  uint32_t t = m->outputs[index];
  const q8__plan_tensor *pt = &plan->tensors[t];
  size_t row = (size_t) pt->shape.w * pt->shape.c;
  int64_t w = -1; /* the op that writes t */
  for (uint32_t i = 0; i < m->n_ops; i++)
    if (!plan->ops[i].skip && written_tensor (m, plan->ops, i) == t)
      w = i;
  if (data != NULL && stride < row)
    return Q8_EINVAL;
  if (w < 0 || !output_is_pixels (plan, index)
      || !output_unshared (plan, index))
    return data == NULL ? Q8_OK : Q8_EUNSUPPORTED;
  q8__plan_op *pop = &plan->ops[w];
  bool rowwise = (m->ops[w].type == Q8_OP_DEQUANTIZE
                  || m->ops[w].type == Q8_OP_QUANTIZE)
                 && pop->producer == NULL;
  if (data != NULL && stride != row && !rowwise)
    return Q8_EUNSUPPORTED;

  uint8_t *old = pop->outs[0];
  uint8_t *now = data != NULL ? data : plan->arena + pt->offset;
  pop->outs[0] = now;
  pop->out_stride = data != NULL && stride != row ? stride : 0;
  /* A fused producer's output is read back from this op's output. */
  for (int j = 0; j < m->ops[w].n_inputs; j++)
    if (pop->ins[j] == old)
      pop->ins[j] = now;
  plan->bound[index] = data;
  plan->bound_stride[index] = stride;
  return Q8_OK;
}

/* round half away from zero of v / scale, plus zp, saturated; NaN -> zp. */
static int32_t
quantize_f32 (float v, float scale, int32_t zp, int32_t lo, int32_t hi)
{
  double t = (double) v / scale;
  if (isnan (t))
    return zp;
  t = round (t) + zp;
  return t < lo ? lo : t > hi ? hi : (int32_t) t;
}

q8_status
q8_plan_set_input_f32 (q8_plan *plan, size_t index, const float *nchw)
{
  if (plan == NULL || nchw == NULL || index >= plan->model->n_inputs)
    return Q8_EINVAL;
  const q8__tensor *mt = &plan->model->tensors[plan->model->inputs[index]];
  const q8__plan_tensor *pt = &plan->tensors[plan->model->inputs[index]];
  size_t hw = (size_t) pt->shape.h * pt->shape.w, c = (size_t) pt->shape.c;
  uint8_t *dst = plan->arena + pt->offset;
  bool u8 = mt->dtype == Q8_DTYPE_U8;
  for (size_t k = 0; k < c; k++)
    for (size_t i = 0; i < hw; i++) {
      int32_t q = quantize_f32 (nchw[k * hw + i], mt->scale, mt->zero_point,
                                u8 ? 0 : -128, u8 ? 255 : 127);
      dst[i * c + k] = u8 ? (uint8_t) q : (uint8_t) (int8_t) q;
    }
  return Q8_OK;
}

q8_status
q8_plan_get_output_f32 (const q8_plan *plan, size_t index, float *nchw)
{
  if (plan == NULL || nchw == NULL || index >= plan->model->n_outputs)
    return Q8_EINVAL;
  const q8__tensor *mt = &plan->model->tensors[plan->model->outputs[index]];
  const q8__plan_tensor *pt = &plan->tensors[plan->model->outputs[index]];
  size_t w = (size_t) pt->shape.w, c = (size_t) pt->shape.c;
  size_t hw = (size_t) pt->shape.h * w, stride;
  const uint8_t *src = output_rows (plan, index, &stride);
  bool u8 = mt->dtype == Q8_DTYPE_U8;
  for (size_t k = 0; k < c; k++)
    for (size_t i = 0; i < hw; i++) {
      uint8_t b = src[i / w * stride + i % w * c + k];
      int32_t q = u8 ? b : (int8_t) b;
      nchw[k * hw + i] = mt->scale * (float) (q - mt->zero_point);
    }
  return Q8_OK;
}

/* ---- running ------------------------------------------------------------- */

typedef struct {
  const q8__plan_op *pop;
} op_task;

/* Rows [y0, y1) of an op.  With a fused producer, in strips of about 16 KB
 * that the producer writes into the op's output and the op then reads
 * while they are still in the L1 cache. */
static void
run_op_rows (const q8__plan_op *pop, int32_t y0, int32_t y1)
{
  const q8__plan_op *pr = pop->producer;
  if (pr == NULL) {
    pop->op->cls->run (pop->op, pop, pop->ins, pop->outs, y0, y1);
    return;
  }
  size_t row = (size_t) pop->out_shape.w * pop->out_shape.c;
  int32_t strip = row >= 16384 ? 1 : (int32_t) (16384 / row);
  for (int32_t y = y0; y < y1; y += strip) {
    int32_t e = y1 - y < strip ? y1 : y + strip;
    pr->op->cls->run (pr->op, pr, pr->ins, pop->outs, y, e);
    pop->op->cls->run (pop->op, pop, pop->ins, pop->outs, y, e);
  }
}

static void
run_rows (void *ctx, int32_t y0, int32_t y1)
{
  run_op_rows (((const op_task *) ctx)->pop, y0, y1);
}

static uint64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

q8_status
q8_run (q8_plan *plan)
{
  if (plan == NULL)
    return Q8_EINVAL;
  for (uint32_t i = 0; i < plan->model->n_ops; i++) {
    q8__plan_op *pop = &plan->ops[i];
    if (pop->skip)
      continue;
    uint64_t t0 = plan->profiling ? now_ns () : 0;
    int32_t rows = pop->rows;
    if (plan->pool != NULL && rows > 1) {
      /* About four chunks per thread balances uneven rows cheaply. */
      int32_t chunk = rows / (4 * q8__pool_threads (plan->pool));
      op_task task = { pop };
      q8__pool_run (plan->pool, run_rows, &task, rows, chunk < 1 ? 1 : chunk);
    } else {
      run_op_rows (pop, 0, rows);
    }
    if (plan->profiling)
      pop->ns += now_ns () - t0;
  }
  return Q8_OK;
}

uint64_t
q8_plan_macs (const q8_plan *plan)
{
  uint64_t total = 0;
  if (plan != NULL)
    for (uint32_t i = 0; i < plan->model->n_ops; i++)
      total += plan->ops[i].macs;
  return total;
}

void
q8_plan_set_profiling (q8_plan *plan, int enable)
{
  if (plan == NULL)
    return;
  plan->profiling = enable != 0;
  for (uint32_t i = 0; i < plan->model->n_ops; i++)
    plan->ops[i].ns = 0;
}

uint64_t
q8_plan_op_ns (const q8_plan *plan, size_t op_index)
{
  if (plan == NULL || op_index >= plan->model->n_ops)
    return 0;
  return plan->ops[op_index].ns;
}

int64_t
q8_plan_op_host (const q8_plan *plan, size_t op_index)
{
  if (plan == NULL || op_index >= plan->model->n_ops)
    return -1;
  const q8__plan_op *pop = &plan->ops[op_index];
  return pop->skip ? (int64_t) pop->host - 1 : (int64_t) op_index;
}

uint64_t
q8_plan_op_macs (const q8_plan *plan, size_t op_index)
{
  if (plan == NULL || op_index >= plan->model->n_ops)
    return 0;
  return plan->ops[op_index].macs;
}
