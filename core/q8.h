/* q8.h - the public API of libq8, a small int8 inference runtime for
 * video-rate convolutional networks (super-resolution, anomaly detection).
 *
 * This is the only header that the GStreamer plugin, the q8 tool and the
 * tests include.  Its use, in five steps:
 *
 *   q8_model *m;  q8_plan *p;  char err[256];
 *   if (q8_model_load_file ("espcn_x2.q8", &m, err, sizeof err) < 0) ...
 *   if (q8_plan_create (m, width, height, 1, &p, err, sizeof err) < 0) ...
 *   q8_plan_set_input_u8 (p, 0, luma, stride);        (or _f32, or write
 *                                                      q8_plan_input ()'s
 *                                                      buffer directly)
 *   q8_run (p);
 *   q8_plan_get_output_u8 (p, 0, out_luma, out_stride);
 *   ...  q8_plan_resize (p, new_w, new_h) on a new video size ...
 *   q8_plan_free (p);  q8_model_free (m);
 *
 * Layout.  Every activation tensor is NHWC with N = 1: element (y, x, c) of
 * a tensor of width W and C channels is at [(y * W + x) * C + c].  Single-
 * channel planes are therefore plain row-major images.
 *
 * Numbers.  Activations are int8 (or uint8 at the graph boundary) with a
 * per-tensor affine quantization real = scale * (q - zero_point); weights are
 * symmetric int8 per output channel.  core/ARITHMETIC.md defines every op's
 * integer arithmetic exactly; all kernels (scalar, NEON, AVX) match it bit
 * for bit.
 *
 * Errors.  Functions that can fail return a q8_status: Q8_OK (0) or a
 * negative code.  Those that take (char *err, size_t err_size) also write a
 * NUL-terminated sentence naming the problem with its numbers, e.g.
 * "tensor 'conv2.w': 63 output channels, bias has 64"; err may be NULL.
 * The library never prints, exits or aborts.
 *
 * Ownership and threads.  The creator frees: q8_model_free () for
 * q8_model_load_* (), q8_plan_free () for q8_plan_create ().  A loaded model
 * is immutable and may be shared by any number of plans in any threads; it
 * must outlive its plans.  A plan is used by one thread at a time.  The
 * loader copies what it keeps, so the bytes passed to q8_model_load_buffer ()
 * may be released once it returns.
 *
 * Memory.  q8_plan_create () and q8_plan_resize () allocate; q8_run () and the
 * q8_plan_set_input_* / q8_plan_get_output_* functions never do.
 */
#ifndef Q8_H
#define Q8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libq8 is built with hidden visibility; everything declared here is its
 * exported API. */
#pragma GCC visibility push(default)

#define Q8_VERSION_STRING "0.1.0"

/* Status codes: one list generates the enum and q8_status_str (). */
#define Q8_STATUS_LIST(X)                                                     \
  X (OK, 0, "success")                                                        \
  X (EINVAL, -1, "invalid argument")                                          \
  X (ENOMEM, -2, "out of memory")                                             \
  X (EIO, -3, "cannot read file")                                             \
  X (EMAGIC, -4, "not a q8 model file (bad magic)")                           \
  X (EVERSION, -5, "unsupported q8 format version")                           \
  X (ETRUNC, -6, "model file truncated")                                      \
  X (ECHECKSUM, -7, "model checksum mismatch")                                \
  X (EBOUNDS, -8, "offset or size out of bounds")                             \
  X (EOVERFLOW, -9, "size overflows")                                         \
  X (ETENSOR, -10, "invalid tensor")                                          \
  X (EOP, -11, "invalid op")                                                  \
  X (EUNSUPPORTED, -12, "unsupported feature")                                \
  X (EMETA, -13, "invalid metadata")                                          \
  X (ESHAPE, -14, "invalid shape for this model")                             \
  X (ETOOBIG, -15, "too large")                                               \
  X (ENOTFOUND, -16, "not found")

typedef enum {
#define Q8_STATUS_ENUM_(name, value, msg) Q8_##name = value,
  Q8_STATUS_LIST (Q8_STATUS_ENUM_)
#undef Q8_STATUS_ENUM_
} q8_status;

/* A static English description of a status; never NULL. */
const char *q8_status_str (q8_status status);

/* Element types. */
typedef enum {
  Q8_DTYPE_S8 = 1,
  Q8_DTYPE_U8 = 2,
  Q8_DTYPE_S32 = 3,
  Q8_DTYPE_F32 = 4,
} q8_dtype;

/* Size in bytes of one element of dtype, 0 for an unknown dtype. */
size_t q8_dtype_size (q8_dtype dtype);
const char *q8_dtype_name (q8_dtype dtype);

/* ------------------------------------------------------------------ */
/* Models                                                              */
/* ------------------------------------------------------------------ */

typedef struct q8_model q8_model;

/* Loads and fully validates a .q8 file (core/FORMAT.md).  The file is read
 * into memory, checked, and everything kept is copied into the model, so a
 * file that is replaced or truncated on disk after the call cannot affect
 * the model.  On failure *model is NULL. */
q8_status q8_model_load_file (const char *path, q8_model **model, char *err,
                              size_t err_size);

/* Same from bytes in memory (e.g. a model compiled into a program).  The
 * bytes need no particular alignment and are not referenced after return. */
q8_status q8_model_load_buffer (const void *data, size_t size,
                                q8_model **model, char *err, size_t err_size);

/* Frees a model; NULL is a no-op.  All plans on it must be freed first. */
void q8_model_free (q8_model *model);

/* Metadata: typed key/value pairs stored in the file (FORMAT.md lists the
 * standard keys: "task", "scale", "input.colorspace", ...).  The getters
 * return Q8_ENOTFOUND if the key is absent and Q8_EINVAL if it has another
 * type.  Strings stay owned by the model. */
typedef enum {
  Q8_META_INT = 1,
  Q8_META_FLOAT = 2,
  Q8_META_STRING = 3,
} q8_meta_type;

q8_status q8_model_meta_int (const q8_model *model, const char *key,
                             int64_t *value);
q8_status q8_model_meta_float (const q8_model *model, const char *key,
                               double *value);
q8_status q8_model_meta_string (const q8_model *model, const char *key,
                                const char **value);

/* Enumerates metadata in file order: returns Q8_ENOTFOUND past the end. */
typedef struct {
  const char *key;
  q8_meta_type type;
  int64_t i;      /* Q8_META_INT */
  double f;       /* Q8_META_FLOAT */
  const char *s;  /* Q8_META_STRING */
} q8_meta_entry;

size_t q8_model_meta_count (const q8_model *model);
q8_status q8_model_meta_get (const q8_model *model, size_t index,
                             q8_meta_entry *entry);

/* The model's graph inputs and outputs.  Activation shapes are NHWC with
 * N = 1; h and w are 0 in a model (they depend on the plan's input size)
 * and filled in by q8_plan_input_info () / q8_plan_output_info (). */
typedef struct {
  const char *name;
  q8_dtype dtype;    /* Q8_DTYPE_S8 or Q8_DTYPE_U8 */
  int32_t h, w, c;
  float scale;       /* real = scale * (q - zero_point) */
  int32_t zero_point;
} q8_tensor_info;

size_t q8_model_num_inputs (const q8_model *model);
size_t q8_model_num_outputs (const q8_model *model);
q8_status q8_model_input_info (const q8_model *model, size_t index,
                               q8_tensor_info *info);
q8_status q8_model_output_info (const q8_model *model, size_t index,
                                q8_tensor_info *info);

/* The model's ops, for tools (q8 info) and profiles. */
size_t q8_model_num_ops (const q8_model *model);
/* Short op type name ("conv2d", "depth_to_space", ...) of op index, or NULL
 * if index is out of range. */
const char *q8_model_op_type (const q8_model *model, size_t index);
/* A one-line human description of op index (kernel, stride, tensors, ...),
 * written to buf; returns Q8_EINVAL if index is out of range. */
q8_status q8_model_op_describe (const q8_model *model, size_t index,
                                char *buf, size_t buf_size);

/* ------------------------------------------------------------------ */
/* Plans: a model bound to an input size                               */
/* ------------------------------------------------------------------ */

typedef struct q8_plan q8_plan;

/* Computes every tensor's shape for an input of width x height pixels
 * (every graph input gets that size), places all activations in one arena
 * and precomputes per-op parameters.  threads is the number of worker
 * threads q8_run () may use (0 = one per online CPU, 1 = run on the
 * calling thread only).  Fails with Q8_ESHAPE if an op cannot take the
 * size and Q8_ETOOBIG if the arena would exceed Q8_MAX_ARENA_BYTES (4 GiB;
 * 1 GiB where size_t has 32 bits, whose address space is 4 GiB in all). */
#if SIZE_MAX > 0xFFFFFFFFu
#define Q8_MAX_ARENA_BYTES ((size_t) 1 << 32)
#else
#define Q8_MAX_ARENA_BYTES ((size_t) 1 << 30)
#endif
#define Q8_MAX_DIM 32768
q8_status q8_plan_create (const q8_model *model, int width, int height,
                          int threads, q8_plan **plan, char *err,
                          size_t err_size);

/* Re-plans for a new input size without reloading the model.  On failure
 * the plan keeps its previous size and stays usable. */
q8_status q8_plan_resize (q8_plan *plan, int width, int height, char *err,
                          size_t err_size);

void q8_plan_free (q8_plan *plan);

int q8_plan_threads (const q8_plan *plan);

/* Shapes for the current size. */
q8_status q8_plan_input_info (const q8_plan *plan, size_t index,
                              q8_tensor_info *info);
q8_status q8_plan_output_info (const q8_plan *plan, size_t index,
                               q8_tensor_info *info);

/* Direct access to the NHWC buffers of graph inputs and outputs.  Valid
 * until the next q8_plan_resize () or q8_plan_free (). */
void *q8_plan_input (q8_plan *plan, size_t index);
const void *q8_plan_output (const q8_plan *plan, size_t index);

/* Conversions at the graph boundary (ARITHMETIC.md, "Boundary").
 *
 * _u8: copies 8-bit pixels (h rows of w * c bytes, rows stride bytes apart)
 * into an input, or out of an output.  For a U8 tensor this is a copy; for
 * an S8 tensor the bytes are taken as real = pixel / 255 and requantized.
 *
 * _f32: takes or gives float32 in NCHW order (as ONNX and NumPy do),
 * quantizing with the tensor's scale and zero point (round half away from
 * zero, saturating; NaN becomes the zero point) or dequantizing. */
q8_status q8_plan_set_input_u8 (q8_plan *plan, size_t index,
                                const uint8_t *data, size_t stride);
q8_status q8_plan_set_input_f32 (q8_plan *plan, size_t index,
                                 const float *nchw);
q8_status q8_plan_get_output_u8 (const q8_plan *plan, size_t index,
                                 uint8_t *data, size_t stride);
q8_status q8_plan_get_output_f32 (const q8_plan *plan, size_t index,
                                  float *nchw);

/* Has the next runs write output index straight into data (8-bit pixels,
 * h rows of w * c bytes, rows stride bytes apart, as q8_plan_get_output_u8
 * () would have copied them), e.g. a video frame, so no copy follows the
 * run; data NULL returns the output to the arena.  The binding holds until
 * it is changed, or the plan is resized (which drops it).  Q8_EUNSUPPORTED
 * (nothing changed) where that cannot be done exactly: an S8 output or a
 * U8 one whose scale and zero point are not those of pixels, an output
 * that another op reads, or a stride other than w * c unless the op that
 * writes the output is a DEQUANTIZE (or QUANTIZE) that runs on its own;
 * the caller then copies with q8_plan_get_output_u8 ().  q8_plan_output ()
 * and the _get_ functions read the bound buffer.  Allocates nothing. */
q8_status q8_plan_bind_output_u8 (q8_plan *plan, size_t index, uint8_t *data,
                                  size_t stride);

/* Runs the network on the current inputs.  Allocates nothing; cannot fail
 * on a valid plan (returns Q8_EINVAL for a NULL plan).  The arena reuses an
 * input's bytes once the ops that read it are done, so each run needs its
 * inputs set anew. */
q8_status q8_run (q8_plan *plan);

/* Multiply-accumulates per run at the current size (convolutions only). */
uint64_t q8_plan_macs (const q8_plan *plan);

/* Bytes of the activation arena at the current size. */
size_t q8_plan_arena_size (const q8_plan *plan);

/* Per-op profiling: when enabled, q8_run () records each op's wall time
 * (monotonic clock) and q8_plan_op_ns () returns the sum since enabling. */
void q8_plan_set_profiling (q8_plan *plan, int enable);
uint64_t q8_plan_op_ns (const q8_plan *plan, size_t op_index);
uint64_t q8_plan_op_macs (const q8_plan *plan, size_t op_index);
/* The op whose run computes op op_index: op_index itself, or the op it was
 * fused into at this size (a UNARY table applied by the convolution before
 * it, a DEPTH_TO_SPACE written straight into the ADD or DEQUANTIZE after
 * it); -1 for a bad index.  A fused op's time counts in its host's. */
int64_t q8_plan_op_host (const q8_plan *plan, size_t op_index);

/* ------------------------------------------------------------------ */
/* Ops and their parameters (the .q8 op records, core/FORMAT.md)       */
/* ------------------------------------------------------------------ */

/* Op types.  Tensor roles per op: inputs[] / outputs[] in this order.
 *
 *  CONV2D          in: x (S8 NHWC, C = IC), w (const S8 [OC, KH, KW, IC/G],
 *                  per-channel scales, zero point 0), bias (const S32 [OC]
 *                  with scale x.scale * w.scale[oc], or Q8_NO_TENSOR)
 *                  out: y (S8, C = OC).  Groups G divide IC and OC; G == IC
 *                  is depthwise.
 *  UNARY           in: x (S8), [table (const S8 [256] or [C, 256]) for
 *                  Q8_UNARY_TABLE, or alpha (const F32 [C]) for
 *                  Q8_UNARY_PRELU]   out: y (S8, same shape).  Applied as a
 *                  256-entry lookup table (per channel for PRELU/TABLE [C,
 *                  256]) built at load time.
 *  ADD             in: a, b (S8, same shape)   out: y (S8).
 *  CONCAT          in: 1..8 tensors (S8, same H and W)   out: y (S8) with
 *                  the channels of the inputs in order.
 *  DEPTH_TO_SPACE  in: x (S8, C = OC * B * B)   out: y (S8, B*H x B*W, OC),
 *                  same scale and zero point as x.
 *  MAXPOOL         in: x (S8)   out: y (S8), same scale and zero point.
 *  AVGPOOL         in: x (S8)   out: y (S8).
 *  RESIZE          in: x (S8)   out: y (S8), integer factors.
 *  QUANTIZE        in: x (U8 or S8)   out: y (S8): requantization.
 *  DEQUANTIZE      in: x (S8)   out: y (U8): requantization to pixels.
 */
typedef enum {
  Q8_OP_CONV2D = 1,
  Q8_OP_UNARY = 2,
  Q8_OP_ADD = 3,
  Q8_OP_CONCAT = 4,
  Q8_OP_DEPTH_TO_SPACE = 5,
  Q8_OP_MAXPOOL = 6,
  Q8_OP_AVGPOOL = 7,
  Q8_OP_RESIZE = 8,
  Q8_OP_QUANTIZE = 9,
  Q8_OP_DEQUANTIZE = 10,
  Q8_OP_TYPE_COUNT
} q8_op_type;

#define Q8_NO_TENSOR 0xffffffffu
#define Q8_MAX_OP_INPUTS 8
#define Q8_MAX_OP_OUTPUTS 2
#define Q8_MAX_OP_PARAMS 20

/* Parameter slots (int32) of each op type; unused slots must be 0.
 * act_min/act_max: the fused activation, a clamp of the int8 output
 * (-128..127 for none; ReLU is act_min = output zero point). */
enum {
  /* CONV2D */
  Q8_CONV_KH = 0, Q8_CONV_KW, Q8_CONV_STRIDE_H, Q8_CONV_STRIDE_W,
  Q8_CONV_DILATION_H, Q8_CONV_DILATION_W, Q8_CONV_PAD_TOP, Q8_CONV_PAD_LEFT,
  Q8_CONV_PAD_BOTTOM, Q8_CONV_PAD_RIGHT, Q8_CONV_GROUPS, Q8_CONV_ACT_MIN,
  Q8_CONV_ACT_MAX,
};
enum {
  /* UNARY: kind; alpha and beta are float32 bit patterns. */
  Q8_UNARY_KIND = 0, Q8_UNARY_ALPHA, Q8_UNARY_BETA,
};
typedef enum {
  Q8_UNARY_TABLE = 0,       /* explicit table tensor */
  Q8_UNARY_RELU = 1,        /* max (x, 0) */
  Q8_UNARY_TANH = 2,
  Q8_UNARY_SIGMOID = 3,
  Q8_UNARY_HARDSIGMOID = 4, /* max (0, min (1, alpha * x + beta)) */
  Q8_UNARY_HARDSWISH = 5,   /* x * max (0, min (1, x / 6 + 1 / 2)) */
  Q8_UNARY_LEAKYRELU = 6,   /* x >= 0 ? x : alpha * x */
  Q8_UNARY_PRELU = 7,       /* x >= 0 ? x : alpha[c] * x */
  Q8_UNARY_KIND_COUNT
} q8_unary_kind;
enum {
  /* ADD */
  Q8_ADD_ACT_MIN = 0, Q8_ADD_ACT_MAX,
};
enum {
  /* DEPTH_TO_SPACE */
  Q8_D2S_BLOCK = 0, Q8_D2S_MODE,
};
typedef enum {
  Q8_D2S_DCR = 0, /* ONNX default: in channel (i * B + j) * OC + c */
  Q8_D2S_CRD = 1, /* PyTorch PixelShuffle: in channel c * B * B + i * B + j */
} q8_d2s_mode;
enum {
  /* MAXPOOL and AVGPOOL */
  Q8_POOL_KH = 0, Q8_POOL_KW, Q8_POOL_STRIDE_H, Q8_POOL_STRIDE_W,
  Q8_POOL_PAD_TOP, Q8_POOL_PAD_LEFT, Q8_POOL_PAD_BOTTOM, Q8_POOL_PAD_RIGHT,
  Q8_POOL_CEIL_MODE,         /* ONNX ceil_mode */
  Q8_POOL_COUNT_INCLUDE_PAD, /* AVGPOOL only */
  Q8_POOL_GLOBAL,            /* kernel = whole input, 1x1 out; the others 0 */
};
enum {
  /* RESIZE */
  Q8_RESIZE_FACTOR_H = 0, Q8_RESIZE_FACTOR_W, Q8_RESIZE_MODE,
  Q8_RESIZE_COORD,
};
typedef enum {
  Q8_RESIZE_NEAREST = 0,
  Q8_RESIZE_BILINEAR = 1,
} q8_resize_mode;
typedef enum {
  Q8_RESIZE_HALF_PIXEL = 0, /* PyTorch align_corners=False, ONNX half_pixel */
  Q8_RESIZE_ASYMMETRIC = 1, /* ONNX asymmetric, TF1 legacy */
} q8_resize_coord;

/* Short name of an op type ("conv2d"), or NULL if unknown. */
const char *q8_op_type_name (q8_op_type type);

/* ------------------------------------------------------------------ */
/* Writing models                                                      */
/* ------------------------------------------------------------------ */

/* A builder collects tensors, ops, graph inputs/outputs and metadata and
 * serializes them as a .q8 file.  Builder functions copy what they are
 * given.  They check only what they must to write a well-formed file;
 * q8_builder_write () then loads the result with the full validator, so a
 * builder never produces a file the loader rejects.  Tensor and op
 * indices are returned as non-negative int64_t, errors as negative
 * q8_status. */
typedef struct q8_builder q8_builder;

q8_builder *q8_builder_new (void);
void q8_builder_free (q8_builder *b);

/* An activation tensor: channels c (H and W come from the plan). */
int64_t q8_builder_add_activation (q8_builder *b, const char *name,
                                   q8_dtype dtype, int32_t c, float scale,
                                   int32_t zero_point);

/* A constant tensor of rank 1..4.  channel_scales (may be NULL) gives
 * dims[0] per-channel scales for a per-output-channel weight tensor; then
 * scale is ignored.  data holds the product of dims elements of dtype. */
int64_t q8_builder_add_const (q8_builder *b, const char *name,
                              q8_dtype dtype, int rank, const int32_t *dims,
                              const void *data, float scale,
                              int32_t zero_point, const float *channel_scales);

int64_t q8_builder_add_op (q8_builder *b, q8_op_type type, int n_inputs,
                           const uint32_t *inputs, int n_outputs,
                           const uint32_t *outputs, const int32_t *params,
                           int n_params);

q8_status q8_builder_add_input (q8_builder *b, uint32_t tensor);
q8_status q8_builder_add_output (q8_builder *b, uint32_t tensor);

q8_status q8_builder_meta_int (q8_builder *b, const char *key, int64_t v);
q8_status q8_builder_meta_float (q8_builder *b, const char *key, double v);
q8_status q8_builder_meta_string (q8_builder *b, const char *key,
                                  const char *v);

/* Serializes and validates.  *data is malloc'ed; the caller frees it. */
q8_status q8_builder_write (q8_builder *b, void **data, size_t *size,
                            char *err, size_t err_size);
q8_status q8_builder_write_file (q8_builder *b, const char *path, char *err,
                                 size_t err_size);

/* A builder holding a copy of a loaded model: every tensor, op, graph
 * input and output and metadata entry, except metadata keys that start
 * with drop_prefix and constants named with it that no op uses (NULL or
 * "" drops nothing).  Tools use it to add to a model and write it anew
 * (q8 teach adds a scene's statistics).  NULL if out of memory. */
q8_builder *q8_builder_from_model (const q8_model *model,
                                   const char *drop_prefix);

/* CRC-32 (ISO-HDLC / zlib polynomial) of size bytes, continuing from crc
 * (start with 0).  Exposed for tools and tests that patch model files. */
uint32_t q8_crc32 (uint32_t crc, const void *data, size_t size);

/* ------------------------------------------------------------------ */
/* Anomaly detection by normal statistics (core/anomaly.c)             */
/* ------------------------------------------------------------------ */

/* A feature anomaly model (metadata "task" = "anomaly", "anomaly.method"
 * = "gaussian" or "knn", fixed "input.width" x "input.height") maps a
 * frame to a feature map F of gh x gw cells with C channels: its output 0.
 * Taught on normal frames of a scene, it also carries what normal F look
 * like, by one of two methods ("anomaly.method" of the taught model; the
 * untaught model's names the method teaching uses unless told otherwise),
 * and the calibrated "anomaly.threshold".  A frame is scored, with f the
 * dequantized output 0, by a per-cell distance d(y, x), then
 *
 *   map(y, x) = mean of d over the 3x3 cells around (y, x) inside the grid
 *   score = max over cells of map
 *
 * gaussian: per cell and channel the mean and variance of F (constants
 * "anomaly.mean" and "anomaly.var", F32 [gh, gw, C]);
 *
 *   d(y, x) = 1/C * sum_c (f[y, x, c] - mean[y, x, c])^2 / var[y, x, c]
 *
 * so that normal cells score about 1.  Teaching estimates the variance
 * with shrinkage towards the channel's variance over the whole grid (few
 * frames give noisy per-cell variances) and a floor of the variance of
 * the rounding to the feature map's int8 grid (step scale):
 *
 *   var = (n * var_cell + k * var_channel) / (n + k) + scale^2 / 12
 *
 * knn: a memory bank of the teaching frames' raw feature bytes (constant
 * "anomaly.bank", U8 [gh, gw, B, C]: cell-major, each byte the output's
 * raw byte, xor 0x80 if the output is S8, so differences are kept) and a
 * search radius R ("anomaly.knn.radius"); with q the frame's raw bytes
 * mapped likewise,
 *
 *   d(y, x) = scale^2 / C * min over bank frames b and cells (y', x')
 *             inside the grid with |y' - y| <= R, |x' - x| <= R of
 *             sum_c (q[y, x, c] - bank[y', x', b, c])^2
 *
 * the squared distance to the nearest normal feature near the cell, which
 * a fixed camera's small shifts (within R cells) and the texture's phase
 * do not raise the way they widen a per-cell variance.  Exact integer
 * sums, so every CPU path gives the same scores.
 *
 * Teaching sets the threshold from the leave-one-out scores of the
 * teaching frames (each frame scored against the statistics, or the bank,
 * of the others), so it is not biased low by scoring frames on statistics
 * that contain them. */

typedef enum {
  Q8_ANOMALY_MODEL = 0,  /* the untaught model's anomaly.method */
  Q8_ANOMALY_GAUSSIAN = 1,
  Q8_ANOMALY_KNN = 2,
} q8_anomaly_method;

/* Bounds of teaching: frames (and bank frames), and the knn radius. */
#define Q8_ANOMALY_MAX_FRAMES 100000
#define Q8_ANOMALY_MAX_RADIUS 8

typedef struct {
  int shrink;       /* k above (gaussian); default 8 */
  double quantile;  /* of the leave-one-out frame scores; default 1 (max) */
  double margin;    /* threshold = quantile score * margin; default 1.25 */
  q8_anomaly_method method; /* default Q8_ANOMALY_MODEL */
  int radius;       /* R above (knn), 0..Q8_ANOMALY_MAX_RADIUS; default 1 */
  int bank;         /* knn: at most this many frames in the bank (2..
                     * Q8_ANOMALY_MAX_FRAMES), evenly spaced over the
                     * teaching frames; default 100 */
} q8_teach_params;

/* The defaults above. */
void q8_teach_params_init (q8_teach_params *params);

typedef struct q8_teacher q8_teacher;

/* Starts teaching model (planned in plan at its input size) on up to
 * max_frames frames (2..Q8_ANOMALY_MAX_FRAMES).  Allocates max_frames *
 * gh * gw * C bytes here, nothing later.  Q8_EMETA if the model is not a
 * feature anomaly model. */
q8_status q8_teacher_create (const q8_model *model, const q8_plan *plan,
                             int max_frames, q8_teacher **teacher,
                             char *err, size_t err_size);
/* Adds the plan's current output 0 (after q8_run ()) as a normal frame;
 * Q8_ETOOBIG once max_frames are held.  Allocates nothing. */
q8_status q8_teacher_add (q8_teacher *teacher, const q8_plan *plan);
int q8_teacher_frames (const q8_teacher *teacher);
/* Computes the statistics and the threshold and writes the taught model
 * (model, less any earlier statistics, plus the new ones) as .q8 bytes in
 * *data (malloc'ed; the caller frees).  Needs at least 2 frames.  params
 * may be NULL for the defaults; *threshold (may be NULL) gets the
 * threshold. */
q8_status q8_teacher_finish (const q8_teacher *teacher, const q8_model *model,
                             const q8_teach_params *params, void **data,
                             size_t *size, double *threshold, char *err,
                             size_t err_size);
void q8_teacher_free (q8_teacher *teacher);

typedef struct q8_scorer q8_scorer;

/* Prepares scoring plan's output 0 with a taught model's statistics.
 * Q8_ENOTFOUND if the model has none (it needs teaching), Q8_ESHAPE if
 * they do not match the plan's feature map, Q8_ETENSOR if a value is not
 * finite or a variance not positive. */
q8_status q8_scorer_create (const q8_model *model, const q8_plan *plan,
                            q8_scorer **scorer, char *err, size_t err_size);
/* Scores the plan's current output 0: the frame score into *score and, if
 * map is not NULL, the gh x gw cell map (row-major) into map.  Allocates
 * nothing. */
q8_status q8_scorer_run (q8_scorer *scorer, const q8_plan *plan,
                         float *map, double *score);
void q8_scorer_free (q8_scorer *scorer);

/* Non-zero if model is a feature anomaly model ("anomaly.method" =
 * "gaussian" or "knn"), taught or not. */
int q8_model_is_feature_anomaly (const q8_model *model);

/* ------------------------------------------------------------------ */
/* CPU paths                                                           */
/* ------------------------------------------------------------------ */

/* Kernel paths, from the portable reference upwards.  Plans choose the
 * best path the CPU supports, limited by q8_set_isa_limit () or the
 * environment variable Q8_ISA (one of the names below), read once. */
typedef enum {
  Q8_ISA_SCALAR = 0,
  Q8_ISA_NEON = 1,
  Q8_ISA_NEONDOT = 2,
  Q8_ISA_NEONI8MM = 3,
  Q8_ISA_AVX2 = 4,
  Q8_ISA_AVXVNNI = 5,     /* 256-bit VEX vpdpbusd, with or without AVX-512 */
  Q8_ISA_AVX512VNNI = 6,
  Q8_ISA_COUNT
} q8_isa;

const char *q8_isa_name (q8_isa isa);
/* Non-zero if this build and this CPU can run isa. */
int q8_isa_supported (q8_isa isa);
/* The path plans created from now on use. */
q8_isa q8_isa_active (void);
/* Limits plans created from now on to isa (which must be supported);
 * Q8_ISA_COUNT removes the limit.  Not thread-safe against concurrent
 * q8_plan_create (). */
q8_status q8_set_isa_limit (q8_isa isa);

/* Measures one core's int8 multiply-accumulate peak for an ISA path, in
 * GMAC/s: the widest multiply-accumulate instruction its kernels are built
 * on, back to back on independent registers, about 20 ms of thread CPU
 * time, best of three (so preemption does not lower it).  *what (may be
 * NULL) describes the loop.  0 where there is no such loop (scalar, ARM:
 * the benchmarks then state an assumed peak) or the CPU lacks the path.
 * For benchmarks that report a percentage of peak; not for hot paths. */
double q8_isa_measure_peak (q8_isa isa, const char **what);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* Q8_H */
