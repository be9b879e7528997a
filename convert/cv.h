/* cv.h - the converter's own float graph (IR) and the stages that work on
 * it: ONNX import, lowering passes, the float reference executor,
 * calibration, quantization into a .q8 file and the error report.
 *
 * The IR is NCHW float, batch 1, with concrete shapes: a model is imported
 * at one input size (the model's static size, or the one the user gives
 * for dynamic axes), so every shape computation of the ONNX graph folds to
 * a constant.  The .q8 that comes out is size-independent again, because
 * only ops whose meaning does not depend on H and W are emitted.
 *
 * Ownership: a cv_graph owns its tensors, nodes and constant data;
 * cv_graph_free () releases everything.  Errors: functions return a
 * q8_status and fill (err, err_size) with a sentence naming the node, op
 * type and tensors concerned.  Nothing here prints except convert_cli.c.
 */
#ifndef Q8_CV_H
#define Q8_CV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "q8.h"

#define CV_MAX_RANK 8
#define CV_MAX_IN 8

typedef struct {
  char *name;
  int rank;
  int64_t dims[CV_MAX_RANK];
  bool is_const;
  bool is_int;       /* integer element type (shapes, indices, int8) */
  int32_t onnx_dtype; /* ONNX element type of constants read from a file */
  double *data;      /* constants: product (dims) values, row-major */
  int producer;      /* node index, -1 for graph inputs and constants */
  int n_consumers;   /* filled by cv_graph_link () */

  /* Quantization imported from a QDQ model (has_q) or chosen by
   * calibration, in q8's scheme: int8, real = scale * (q - zp). */
  bool has_q;
  bool q_imported;   /* from the model's QDQ pairs, not calibration */
  double q_scale;
  int32_t q_zp;
  /* Weights dequantized from a QDQ model: their per-output-channel
   * scales (n_w_scales == dims[0]), reused so the int8 values survive. */
  double *w_scales;
  int n_w_scales;

  /* Calibration statistics (float executor over the calibration set). */
  double min, max;
  double lo, hi;     /* chosen range */
} cv_tensor;

typedef enum {
  CV_CONV = 1,   /* in: x, w [OC, IC/G, KH, KW], [b] */
  CV_ELTWISE,    /* one activation in, elementwise function (below) */
  CV_ADD,        /* two activations, same shape */
  CV_BINCONST,   /* activation (op) constant, broadcast: before lowering */
  CV_BN,         /* x, scale, bias, mean, var: before lowering */
  CV_D2S,
  CV_RESHAPE,    /* before lowering only (PixelShuffle pattern) */
  CV_TRANSPOSE,  /* before lowering only */
  CV_CONCAT,     /* channels */
  CV_MAXPOOL,
  CV_AVGPOOL,    /* also global */
  CV_RESIZE,
  CV_FAKEQ,      /* a QuantizeLinear -> DequantizeLinear pair */
} cv_op;

/* Elementwise kinds of CV_ELTWISE; RELU..PRELU match q8_unary_kind. */
typedef enum {
  CV_EW_RELU = 1,
  CV_EW_TANH = 2,
  CV_EW_SIGMOID = 3,
  CV_EW_HARDSIGMOID = 4,
  CV_EW_HARDSWISH = 5,
  CV_EW_LEAKYRELU = 6,
  CV_EW_PRELU = 7,     /* slope: input 1, a constant broadcast over C */
  CV_EW_CLIP = 16,     /* [alpha, beta] */
  CV_EW_AFFINE = 17,   /* x * mul[c] + add[c] (folded Mul/Div/Add/Sub) */
} cv_ew_kind;

typedef enum {
  CV_BIN_ADD, CV_BIN_SUB, CV_BIN_MUL, CV_BIN_DIV,
} cv_bin_kind;

typedef struct {
  cv_op op;
  char *name;        /* ONNX node name (or a made-up one) */
  char *onnx_type;   /* ONNX op type, for messages */
  int n_in, n_out;
  int in[CV_MAX_IN];
  int out[1];
  bool dead;

  /* CV_CONV and pools */
  int kh, kw, stride_h, stride_w, dil_h, dil_w;
  int pad_t, pad_l, pad_b, pad_r;
  int groups;
  bool ceil_mode, count_include_pad, global;
  /* Fused activation clamp (CV_CONV, CV_ADD), in real values. */
  double act_lo, act_hi;

  /* CV_ELTWISE */
  cv_ew_kind ew;
  double alpha, beta;
  double *ew_mul, *ew_add; /* CV_EW_AFFINE: per channel (n_ew) */
  int n_ew;

  /* CV_BINCONST: which input is the constant (0 or 1) and the kind */
  cv_bin_kind bin;
  int const_index;

  /* CV_BN */
  double epsilon;

  /* CV_D2S */
  int block, mode;   /* q8_d2s_mode */

  /* CV_TRANSPOSE */
  int perm[CV_MAX_RANK];

  /* CV_RESIZE */
  int factor_h, factor_w, resize_mode, resize_coord;

  /* CV_FAKEQ (real = scale * (q - zp), q in [qmin, qmax]) */
  double fq_scale;
  int32_t fq_zp, fq_qmin, fq_qmax;
} cv_node;

typedef struct {
  cv_tensor *t;
  int n_t, cap_t;
  cv_node *n;
  int n_n, cap_n;
  /* While pinned, t and n may not move: an add that would need to grow
   * them fails (returns -1) and sets pin_overflow (see cv_graph_reserve). */
  bool pinned, pin_overflow;
  int inputs[8], n_inputs;
  int outputs[8], n_outputs;
  /* Graph-input scaling absorbed from Mul/Div by constants on the input:
   * the ONNX input is input_mul[i] * (what the q8 input holds). */
  double input_mul[8];
  char *warnings;    /* newline-separated, for the CLI to print */
} cv_graph;

/* graph.c */
cv_graph *cv_graph_new (void);
void cv_graph_free (cv_graph *g);
int cv_tensor_add (cv_graph *g, const char *name);
q8_status cv_graph_reserve (cv_graph *g, int n_t, int n_n);
int cv_node_add (cv_graph *g, cv_op op, const char *name,
                 const char *onnx_type);
int64_t cv_numel (const cv_tensor *t);
void cv_graph_link (cv_graph *g);
q8_status cv_err (char *err, size_t err_size, q8_status st, const char *fmt,
                  ...) __attribute__ ((format (printf, 4, 5)));
void cv_warn (cv_graph *g, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
const char *cv_shape_str (const cv_tensor *t, char *buf, size_t size);
char *cv_strdup (const char *s);
int cv_graph_find_consumer (const cv_graph *g, int tensor, int *slot);

/* onnx_import.c: in_h/in_w (> 0) fix dynamic spatial axes of the input. */
q8_status cv_import_onnx (const void *data, size_t size, int in_h, int in_w,
                          cv_graph **graph, char *err, size_t err_size);

/* passes.c: BN folding, QDQ handling, PixelShuffle pattern, folding
 * of constant Mul/Div/Add/Sub, activation fusion.  After it the graph only
 * holds ops q8 can run. */
q8_status cv_lower (cv_graph *g, char *err, size_t err_size);
q8_status cv_fold_batchnorm (cv_graph *g, char *err, size_t err_size);

/* fexec.c: runs the graph in float.  inputs[i] is NCHW of graph input i;
 * values[t] receives a malloc'ed buffer for every activation tensor t (the
 * caller frees them with cv_values_free ()).  A quant_emulate graph rounds
 * every activation to its (q_scale, q_zp) grid and uses quantized weights
 * (fake quantization), to estimate what int8 does per layer. */
typedef struct {
  float **v;         /* [n_t], NULL for constants */
  int n;
} cv_values;

typedef struct {
  bool emulate;      /* fake-quantize activations and weights */
  bool per_tensor;   /* weights per tensor instead of per channel */
  bool u8_output;    /* emulate: graph outputs become 8-bit pixels */
} cv_exec_opts;

q8_status cv_execute (const cv_graph *g, const float *const *inputs,
                      const cv_exec_opts *opts, cv_values *values,
                      char *err, size_t err_size);
void cv_values_free (cv_values *values);

/* The elementwise function of a CV_ELTWISE node on channel c. */
double cv_eltwise_eval (const cv_node *n, const cv_graph *g, int64_t c,
                        double v);

/* Weight quantization shared by fexec (emulation) and quantize.c. */
void cv_weight_scales (const cv_tensor *w, bool per_tensor, double *scales);

/* calib.c */
typedef enum {
  CV_CALIB_MINMAX, CV_CALIB_PERCENTILE, CV_CALIB_MSE, CV_CALIB_ENTROPY,
} cv_calib_method;

typedef struct cv_calib cv_calib;
cv_calib *cv_calib_new (const cv_graph *g, cv_calib_method method,
                        double percentile);
/* Two passes over the data: cv_calib_observe () with pass 0 for every
 * sample (ranges), then pass 1 for every sample (histograms). */
void cv_calib_observe (cv_calib *c, int pass, const cv_values *values);
/* Sets lo/hi and has_q/q_scale/q_zp of every activation tensor that
 * has no imported quantization. */
void cv_calib_finish (cv_calib *c, cv_graph *g);
void cv_calib_free (cv_calib *c);
/* Both passes over n_frames inputs stored one after the other (NCHW, the
 * graph input's size), then cv_calib_finish (): single-input graphs. */
q8_status cv_calibrate (cv_graph *g, cv_calib_method method,
                        double percentile, const float *frames, int n_frames,
                        char *err, size_t err_size);
const char *cv_calib_method_name (cv_calib_method m);
void cv_range_to_q (double lo, double hi, double *scale, int32_t *zp);

/* quantize.c */
typedef struct {
  bool per_tensor;
  bool u8_input;     /* graph inputs are U8 pixels, real = pixel / 255 */
  bool u8_output;    /* graph outputs are U8 pixels */
} cv_quant_opts;

/* Propagates constraints (pass-through ops share their input's grid) and
 * checks every requantization against rules R and S.  Call after
 * calibration (every activation has has_q). */
q8_status cv_quant_finalize (cv_graph *g, const cv_quant_opts *o, char *err,
                             size_t err_size);
/* The fused clamp [lo, hi] (real values) as int8 bounds on y's grid. */
void cv_act_bounds (const cv_tensor *y, double lo, double hi, int32_t *qmin,
                    int32_t *qmax);
int32_t cv_clamp8 (double q);

/* quantize.c: a convolution's int8 weights (OHWI, [-127, 127]), int32 bias at
 * x.scale * (float) w.scale[oc], per-channel scales and int8 clamp, as
 * stored in the .q8; checks the accumulator bound. */
typedef struct {
  int32_t oc, kh, kw, icg;
  int8_t *w;
  int32_t *bias;
  float *scales;
  int32_t act_min, act_max;
} cv_conv_q;

q8_status cv_conv_quantize (const cv_graph *g, const cv_node *n,
                            bool per_tensor, cv_conv_q *q, char *err,
                            size_t err_size);
void cv_conv_q_free (cv_conv_q *q);

/* Adds the graph's tensors and ops to a builder. */
q8_status cv_quant_build (const cv_graph *g, const cv_quant_opts *o,
                          q8_builder *b, char *err, size_t err_size);

/* report.c: error statistics, float against int8, per layer (fake
 * quantization in the float executor: libq8 does not expose layer outputs)
 * and per graph output (the real libq8 run). */
typedef struct {
  const cv_graph *g;
  double *sig, *noise;       /* [n_t]: sum ref^2, sum (ref - emulated)^2 */
  double *q8_sig, *q8_noise; /* [n_outputs]: against q8_run */
  double *q8_peak;
  int64_t *q8_n;
  int frames;
} cv_report;

typedef struct {
  const char *onnx_path, *q8_path, *method, *calib_source;
  size_t onnx_bytes, q8_bytes;
  bool psnr;                 /* image outputs: PSNR with peak 1 */
  const char *warnings;
} cv_report_info;

cv_report *cv_report_new (const cv_graph *g);
void cv_report_free (cv_report *r);
void cv_report_add_emulated (cv_report *r, const cv_values *ref,
                             const cv_values *emu);
void cv_report_add_q8 (cv_report *r, int output, const float *ref,
                       const float *q, size_t n);
double cv_db (double sig, double noise);
void cv_report_print (const cv_report *r, const cv_report_info *info,
                      FILE *f);
int cv_report_write_json (const cv_report *r, const cv_report_info *info,
                          const char *path);

/* sha256.c: lowercase hex SHA-256 of size bytes. */
void cv_sha256_hex (const void *data, size_t size, char hex[65]);

/* convert_cli.c: `q8 convert ...`; returns the process exit status. */
int q8_cli_convert (int argc, char **argv);
/* `q8 compare MODEL.onnx MODEL.q8 --data PATH`. */
int q8_cli_compare (int argc, char **argv);
extern const char cv_convert_usage[], cv_compare_usage[];

#endif /* Q8_CV_H */
