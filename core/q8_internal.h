/* q8_internal.h - libq8's private structures: the loaded model, the plan,
 * and the interface every op implements (one op per file in core/).
 *
 * Life of an op:
 *   load time  validate ()  checks params against the op's tensors;
 *              prepare ()   precomputes what does not depend on the input
 *                           size (packed weights, multipliers, tables)
 *                           into op->state;
 *   plan time  reshape ()   computes output shapes from input shapes and
 *                           fills the op's plan-time data (kernel params);
 *   run time   run ()       computes output rows [y0, y1) through kernels.
 * validate () runs before prepare (); reshape () before run ().  Nothing
 * after validation re-checks what validation proved.
 */
#ifndef Q8_INTERNAL_H
#define Q8_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "q8.h"
#include "q8_kernels.h"

/* ---- errors ------------------------------------------------------------ */

/* Writes a formatted message to err (if non-NULL) and returns status. */
q8_status q8__err (char *err, size_t err_size, q8_status status,
                   const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* ---- checked arithmetic ------------------------------------------------ */

static inline bool
q8__mul_size (size_t a, size_t b, size_t *out)
{
  return !__builtin_mul_overflow (a, b, out);
}

static inline bool
q8__add_size (size_t a, size_t b, size_t *out)
{
  return !__builtin_add_overflow (a, b, out);
}

/* Aligned allocation (64 bytes) of size + Q8_EXTRA_BYTES, zeroed. */
void *q8__alloc (size_t size);
void q8__free (void *p);

/* ---- quantization parameters (ARITHMETIC.md) --------------------------- */

/* Rule R: fails (returns false) if m is outside [2^-40, 2^30) or not
 * finite. */
bool q8__quantize_multiplier_r (double m, int32_t *mult, int32_t *shift);
/* Rule S for one multiplier: fails if m >= 2^20, negative or not finite. */
bool q8__quantize_multiplier_s (double m, int32_t *mult, int32_t *shift);

/* ---- model --------------------------------------------------------------- */

typedef struct {
  const char *name;        /* owned by the model's string copy */
  q8_dtype dtype;
  bool is_const;
  int rank;                /* const: 1..4; activation: 4 (NHWC) */
  int32_t dims[4];         /* const: dims; activation: {1, 0, 0, C} */
  float scale;             /* per-tensor (activations, non-per-channel) */
  int32_t zero_point;
  const float *channel_scales; /* per-channel: dims[0] entries, or NULL */
  const void *data;        /* const data, 64-byte aligned, owned */
  size_t nbytes;           /* const data size */
} q8__tensor;

typedef struct q8__op q8__op;
typedef struct q8__plan_op q8__plan_op;

/* Shape of an activation during planning (NHWC, N = 1). */
typedef struct {
  int32_t h, w, c;
} q8__shape;

typedef struct {
  const char *name;        /* "conv2d" */
  /* Load time. */
  q8_status (*validate) (const q8_model *m, const q8__op *op, char *err,
                         size_t err_size);
  q8_status (*prepare) (const q8_model *m, q8__op *op, char *err,
                        size_t err_size);
  void (*free_state) (q8__op *op);
  /* Plan time: in[] are the input activation shapes; write out[0].
   * May store per-size data in pop->params (plan-owned, freed by the plan
   * with q8__free) */
  q8_status (*reshape) (const q8_model *m, const q8__op *op,
                        const q8_kernel_table *k, q8__plan_op *pop,
                        const q8__shape *in, q8__shape *out, char *err,
                        size_t err_size);
  /* Run time: output rows [y0, y1) (of out[0]); ins/outs are the tensors'
   * buffers. */
  void (*run) (const q8__op *op, const q8__plan_op *pop, const void *const *ins,
               void *const *outs, int32_t y0, int32_t y1);
  /* UNARY only (else NULL): the op's single 256-entry table, or NULL if it
   * has per-channel tables.  The planner fuses such a table into a
   * preceding convolution. */
  const int8_t *(*fusable_lut) (const q8__op *op);
  /* Describes the op for q8 info; may be NULL. */
  void (*describe) (const q8_model *m, const q8__op *op, char *buf,
                    size_t size);
} q8__op_class;

struct q8__op {
  q8_op_type type;
  const q8__op_class *cls;
  int n_inputs, n_outputs;
  uint32_t inputs[Q8_MAX_OP_INPUTS];
  uint32_t outputs[Q8_MAX_OP_OUTPUTS];
  int32_t params[Q8_MAX_OP_PARAMS];
  void *state;             /* load-time data from prepare (), op-owned */
};

typedef struct {
  const char *key;
  q8_meta_type type;
  int64_t i;
  double f;
  const char *s;
} q8__meta;

struct q8_model {
  char *strings;           /* copy of the string table */
  size_t strings_size;
  void *data;              /* copy of the data section (64-byte aligned) */
  size_t data_size;
  q8__tensor *tensors;
  uint32_t n_tensors;
  q8__op *ops;
  uint32_t n_ops;
  uint32_t *inputs, *outputs;
  uint32_t n_inputs, n_outputs;
  q8__meta *meta;
  uint32_t n_meta;
  size_t file_size;
};

/* Op classes, one per file (core/op_<name>.c). */
extern const q8__op_class q8__op_conv2d;
extern const q8__op_class q8__op_unary;
extern const q8__op_class q8__op_add;
extern const q8__op_class q8__op_concat;
extern const q8__op_class q8__op_depth_to_space;
extern const q8__op_class q8__op_maxpool;
extern const q8__op_class q8__op_avgpool;
extern const q8__op_class q8__op_resize;
extern const q8__op_class q8__op_quantize;
extern const q8__op_class q8__op_dequantize;

/* The convolution kernel a planned CONV2D op runs (tests and profiling
 * ask which one the table chose). */
const q8_conv_ukernel *q8__conv_plan_kernel (const q8__plan_op *pop);

/* The class of an op type, or NULL if unknown. */
const q8__op_class *q8__op_class_for (q8_op_type type);

/* Helpers for op validation: the tensor of index i of the op's inputs. */
static inline const q8__tensor *
q8__op_in (const q8_model *m, const q8__op *op, int i)
{
  return &m->tensors[op->inputs[i]];
}

static inline const q8__tensor *
q8__op_out (const q8_model *m, const q8__op *op, int i)
{
  return &m->tensors[op->outputs[i]];
}

/* ---- plan ---------------------------------------------------------------- */

struct q8__plan_op {
  const q8__op *op;
  q8__shape out_shape;
  void *params;            /* per-size kernel parameters (q8__alloc'ed) */
  uint64_t macs;
  uint64_t ns;             /* profiling */
  /* Rows of out_shape the run splits across threads. */
  int32_t rows;
  /* Set by the planner when a following UNARY op is fused into this op
   * (conv2d only): the table to apply, and the fused op is skipped. */
  const int8_t *fused_lut;
  /* Set by the planner when a preceding DEPTH_TO_SPACE is fused into this
   * op (an element-wise ADD or DEQUANTIZE): it writes each chunk of rows
   * into this op's output first, which this op then reads in place. */
  const q8__plan_op *producer;
  /* A skipped op runs inside op (host - 1); 0 if it runs on its own. */
  uint32_t host;
  /* Bytes between output rows when the output is bound to a caller's
   * buffer at a stride (q8_plan_bind_output_u8); 0: rows are dense.  Only
   * QUANTIZE and DEQUANTIZE are given a non-zero stride. */
  size_t out_stride;
  bool skip;
  /* Buffers of the op's inputs and outputs in the arena (NULL for absent
   * optional inputs; constants are read from the model by the op). */
  const void *ins[Q8_MAX_OP_INPUTS];
  void *outs[Q8_MAX_OP_OUTPUTS];
};

typedef struct {
  q8__shape shape;
  size_t offset;           /* in the arena */
  size_t nbytes;
} q8__plan_tensor;

struct q8_plan {
  const q8_model *model;
  const q8_kernel_table *kernels;
  int threads;
  int width, height;
  q8__plan_tensor *tensors;   /* one per model tensor (consts unused) */
  q8__plan_op *ops;
  uint8_t *arena;
  size_t arena_size;
  bool profiling;
  struct q8__pool *pool;      /* NULL when threads == 1 */
  /* Boundary conversions (rule S) between pixels (scale 1/255, zp 0) and
   * S8 graph inputs/outputs. */
  q8_rescale_params *in_px, *out_px;
  /* Per graph output: the caller's buffer it is bound to (NULL: the
   * arena) and that buffer's row stride. */
  uint8_t **bound;
  size_t *bound_stride;
};

/* ---- thread pool (core/threadpool.c) ------------------------------------ */

typedef struct q8__pool q8__pool;
typedef void (*q8__task_fn) (void *ctx, int32_t y0, int32_t y1);

/* A pool of n_threads - 1 workers plus the calling thread; NULL on
 * failure.  Threads are created here, once, never per run. */
q8__pool *q8__pool_create (int n_threads);
void q8__pool_free (q8__pool *pool);
int q8__pool_threads (const q8__pool *pool);
/* Runs fn over [0, rows) in chunks of chunk rows on all threads and returns
 * when every chunk is done.  Allocates nothing. */
void q8__pool_run (q8__pool *pool, q8__task_fn fn, void *ctx, int32_t rows,
                   int32_t chunk);

#endif /* Q8_INTERNAL_H */
