/* q8_kernels.h - microkernel interfaces and the CPU dispatch table.
 *
 * Microkernels are pure pointer-and-stride functions: they never allocate,
 * print or look at the CPU.  Each op kind has one signature; every ISA
 * variant of it has a __scalar twin with the same signature that is the
 * reference (core/ARITHMETIC.md defines what all of them compute).  Ops in
 * core/ validate and precompute parameters, then call kernels through the
 * table that kernels/dispatch.c fills once for the selected ISA.
 *
 * Tensors are NHWC (N = 1).  Kernels that work on rows take [y0, y1), a
 * range of output rows, so that a thread pool can split a layer by rows.
 */
#ifndef Q8_KERNELS_H
#define Q8_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "q8.h"

/* Buffers that kernels read carry this much readable tail padding, so
 * SIMD kernels may load a full vector at the end of a row.  Kernels never
 * write past the end. */
#define Q8_EXTRA_BYTES 64

/* ------------------------------------------------------------------ */
/* Requantization helpers (ARITHMETIC.md, rules R and S)               */
/* ------------------------------------------------------------------ */

/* Rule R: floor((acc * M + 2^(r-1)) / 2^r) + zp, clamped to [qmin, qmax]. */
static inline int32_t
q8_requant_r (int32_t acc, int32_t mult, int32_t shift, int32_t zp,
              int32_t qmin, int32_t qmax)
{
  int64_t p = (int64_t) acc * mult + ((int64_t) 1 << (shift - 1));
  int64_t t = (p >> shift) + zp; /* arithmetic shift: floor */
  return (int32_t) (t < qmin ? qmin : t > qmax ? qmax : t);
}

/* Rule S: floor((d * M + 2^(r-1)) / 2^r); d in [-255, 255], M < 2^21. */
static inline int32_t
q8_rescale_s (int32_t d, int32_t mult, int32_t shift)
{
  return (d * mult + (1 << (shift - 1))) >> shift;
}

/* ------------------------------------------------------------------ */
/* Convolution                                                         */
/* ------------------------------------------------------------------ */

typedef struct {
  int32_t in_h, in_w, in_c;    /* input NHWC, rows in_w * in_c apart */
  int32_t out_h, out_w, out_c; /* output NHWC */
  int32_t kh, kw;
  int32_t stride_h, stride_w;
  int32_t dilation_h, dilation_w;
  int32_t pad_top, pad_left;   /* bottom/right padding is implied by out_h */
  int32_t groups;
  int32_t in_zp, out_zp;
  int32_t act_min, act_max;
  const int32_t *mult;         /* [out_c] rule R multipliers */
  const int32_t *shift;        /* [out_c] rule R shifts */
  const int8_t *lut;           /* NULL, or a fused 256-entry table */
} q8_conv_params;

/* Packs OHWI weights w (out_c x kh x kw x in_c/groups) and int32 bias
 * (NULL = zeros) into the kernel's layout at packed (packed_size bytes,
 * 64-byte aligned).  Runs at load time, before any input size is known:
 * p then has every field except the spatial ones (in_h, in_w, out_h,
 * out_w are 0) and lut (NULL; fusion is decided per plan), so
 * packed_size () and pack () must not depend on those. */
typedef size_t (*q8_conv_packed_size_fn) (const q8_conv_params *p);
typedef void (*q8_conv_pack_fn) (const q8_conv_params *p, const int8_t *w,
                                 const int32_t *bias, void *packed);
/* Computes output rows [y0, y1). */
typedef void (*q8_conv_run_fn) (const q8_conv_params *p, const void *packed,
                                 const int8_t *in, int8_t *out, int32_t y0,
                                 int32_t y1);

typedef struct {
  const char *name;            /* "q8_s8_conv2d_requant__scalar" */
  q8_isa isa;
  /* Non-zero if this kernel handles the shape; NULL accepts everything.
   * Called at load time with in_h = in_w = out_h = out_w = 0 and lut =
   * NULL: it must decide from the other fields only, so that the kernel
   * chosen (and its packed weights) holds for every input size. */
  int (*accepts) (const q8_conv_params *p);
  q8_conv_packed_size_fn packed_size;
  q8_conv_pack_fn pack;
  q8_conv_run_fn run;
} q8_conv_ukernel;

/* Scalar packed layout: int32 bias[out_c], then int8 w[out_c][kh][kw][icg]. */
size_t q8_s8_conv2d_packed_size__scalar (const q8_conv_params *p);
void q8_s8_conv2d_pack__scalar (const q8_conv_params *p, const int8_t *w,
                                const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__scalar (const q8_conv_params *p,
                                   const void *packed, const int8_t *in,
                                   int8_t *out, int32_t y0, int32_t y1);

/* ------------------------------------------------------------------ */
/* Element-wise                                                        */
/* ------------------------------------------------------------------ */

/* y[i] = table[x[i] + 128], i < n.  x and y may alias. */
typedef void (*q8_lut_fn) (size_t n, const int8_t *x, int8_t *y,
                           const int8_t *table);
void q8_s8_lut__scalar (size_t n, const int8_t *x, int8_t *y,
                        const int8_t *table);

/* Per-channel tables: y[p*c + k] = tables[k * 256 + x[p*c + k] + 128]. */
typedef void (*q8_lut_channels_fn) (size_t pixels, size_t c, const int8_t *x,
                                    int8_t *y, const int8_t *tables);
void q8_s8_lut_channels__scalar (size_t pixels, size_t c, const int8_t *x,
                                 int8_t *y, const int8_t *tables);

typedef struct {
  int32_t a_zp, b_zp, y_zp;
  int32_t a_mult, b_mult, shift; /* rule S, shared shift */
  int32_t act_min, act_max;
} q8_add_params;

typedef void (*q8_add_fn) (size_t n, const int8_t *a, const int8_t *b,
                           int8_t *y, const q8_add_params *p);
void q8_s8_add_requant__scalar (size_t n, const int8_t *a, const int8_t *b,
                                int8_t *y, const q8_add_params *p);

/* Rule S rescale of a strided block: pixels x c values, input pixels
 * x_stride elements apart, output pixels y_stride apart (concat writes its
 * inputs' channels into a wider output this way).  Input and output are
 * U8 or S8 per the flags; out is clamped to the output type's range. */
typedef struct {
  int32_t x_zp, y_zp;
  int32_t mult, shift;           /* rule S */
  int x_u8, y_u8;                /* non-zero: that side is uint8 */
} q8_rescale_params;

typedef void (*q8_rescale_fn) (size_t pixels, size_t c, const void *x,
                               size_t x_stride, void *y, size_t y_stride,
                               const q8_rescale_params *p);
void q8_rescale__scalar (size_t pixels, size_t c, const void *x,
                         size_t x_stride, void *y, size_t y_stride,
                         const q8_rescale_params *p);

/* ------------------------------------------------------------------ */
/* Data movement and pooling (rows [y0, y1) of the output)             */
/* ------------------------------------------------------------------ */

typedef struct {
  int32_t in_h, in_w, in_c;      /* in_c = out_c * block * block */
  int32_t block;
  int32_t mode;                  /* q8_d2s_mode */
} q8_d2s_params;

typedef void (*q8_d2s_fn) (const q8_d2s_params *p, const int8_t *in,
                           int8_t *out, int32_t y0, int32_t y1);
void q8_s8_depth_to_space__scalar (const q8_d2s_params *p, const int8_t *in,
                                   int8_t *out, int32_t y0, int32_t y1);

typedef struct {
  int32_t in_h, in_w, c;
  int32_t out_h, out_w;
  int32_t kh, kw, stride_h, stride_w;
  int32_t pad_top, pad_left, pad_bottom, pad_right;
  int32_t count_include_pad;     /* avgpool */
  int32_t in_zp, out_zp;         /* avgpool */
  /* avgpool: rule R parameters for every divisor n a window can have,
   * n in [n_min, kh * kw]: mult[n - n_min], shift[n - n_min]. */
  int32_t n_min;
  const int32_t *mult, *shift;
} q8_pool_params;

/* The window of output index o along one pooling axis, clipped to the
 * input ([*i0, *i1)) and to the padded input (*padded taps, for
 * count_include_pad); returns its unclipped start. */
static inline int32_t
q8_pool_window (int32_t o, int32_t stride, int32_t pad_before,
                int32_t pad_after, int32_t k, int32_t in, int32_t *i0,
                int32_t *i1, int32_t *padded)
{
  int32_t start = o * stride - pad_before, end = start + k;
  int32_t pend = end < in + pad_after ? end : in + pad_after;
  *i0 = start > 0 ? start : 0;
  *i1 = end < in ? end : in;
  *padded = pend - start;
  return start;
}

typedef void (*q8_pool_fn) (const q8_pool_params *p, const int8_t *in,
                            int8_t *out, int32_t y0, int32_t y1);
void q8_s8_maxpool__scalar (const q8_pool_params *p, const int8_t *in,
                            int8_t *out, int32_t y0, int32_t y1);
void q8_s8_avgpool__scalar (const q8_pool_params *p, const int8_t *in,
                            int8_t *out, int32_t y0, int32_t y1);

typedef struct {
  int32_t in_h, in_w, c;
  int32_t fh, fw;                /* integer factors; out = in * f */
  int32_t mode, coord;           /* q8_resize_mode, q8_resize_coord */
  int32_t in_zp, out_zp;         /* bilinear */
  int32_t mult, shift;           /* bilinear: rule R for 1 / (Dh * Dw) */
  /* bilinear: per output column ox, the two source columns and the weight
   * of the second out of Dw (ARITHMETIC.md), filled by
   * q8_resize_columns () at plan time. */
  const int32_t *col0, *col1, *colw;
} q8_resize_params;

/* Source taps along one axis of a bilinear resize by integer factor f:
 * for output index o, *i0 and *i1 and the weight *w1 of i1 out of 2 f. */
static inline void
q8_resize_taps (int32_t o, int32_t f, int32_t in, int32_t coord, int32_t *i0,
                int32_t *i1, int32_t *w1)
{
  int32_t d = 2 * f;
  int32_t s = coord == Q8_RESIZE_HALF_PIXEL ? 2 * o + 1 - f : 2 * o;
  if (s < 0)
    s = 0;
  *i0 = s / d;
  *w1 = s - *i0 * d;
  *i1 = *i0 + 1 < in ? *i0 + 1 : in - 1;
}

typedef void (*q8_resize_fn) (const q8_resize_params *p, const int8_t *in,
                              int8_t *out, int32_t y0, int32_t y1);
void q8_s8_resize__scalar (const q8_resize_params *p, const int8_t *in,
                           int8_t *out, int32_t y0, int32_t y1);

/* Nearest neighbour by squared Euclidean distance: for each of m queries
 * x[j] (c bytes each), best[j] = min (best[j], min over the n rows
 * b_i = bank + i * c of sum_k (x[j][k] - b_i[k])^2), exact (c <=
 * Q8_L2NN_MAX_C keeps it inside 32 bits).  Several queries per call so
 * that each bank row is read once for all of them: the search is bound by
 * reading the bank. */
#define Q8_L2NN_MAX_C 32768
typedef void (*q8_l2nn_fn) (size_t n, size_t c, size_t m,
                            const uint8_t *const *x, const uint8_t *bank,
                            uint32_t *best);
void q8_u8_l2nn__scalar (size_t n, size_t c, size_t m,
                         const uint8_t *const *x, const uint8_t *bank,
                         uint32_t *best);

/* For SIMD l2nn kernels that search with queries widened to int16: the
 * queries in turns of Q8_L2NN_WIDE_MAX / c (c <= Q8_L2NN_WIDE_MAX: wider
 * features take the scalar kernel), each turn widened on the stack (16
 * KiB) and handed to search. */
#define Q8_L2NN_WIDE_MAX 8192
typedef void (*q8_l2nn_wide_fn) (size_t n, size_t c, size_t m,
                                 const int16_t *xw, const uint8_t *bank,
                                 uint32_t *best);
static inline void
q8_l2nn_in_turns (size_t n, size_t c, size_t m, const uint8_t *const *x,
                  const uint8_t *bank, uint32_t *best,
                  q8_l2nn_wide_fn search)
{
  int16_t xw[Q8_L2NN_WIDE_MAX];
  const size_t per = Q8_L2NN_WIDE_MAX / c;
  for (size_t j0 = 0; j0 < m; j0 += per) {
    const size_t g = m - j0 < per ? m - j0 : per;
    for (size_t j = 0; j < g; j++)
      for (size_t k = 0; k < c; k++)
        xw[j * c + k] = x[j0 + j][k];
    search (n, c, g, xw, bank, best + j0);
  }
}

/* ------------------------------------------------------------------ */
/* Dispatch (kernels/dispatch.c is the only file that knows the CPU)   */
/* ------------------------------------------------------------------ */

typedef struct {
  q8_isa isa;
  /* Convolution kernels, best first; the last entry is the scalar
   * reference, which accepts every shape. */
  const q8_conv_ukernel *const *conv;
  size_t n_conv;
  q8_lut_fn lut;
  q8_lut_channels_fn lut_channels;
  q8_add_fn add;
  q8_rescale_fn rescale;
  q8_d2s_fn depth_to_space;
  q8_pool_fn maxpool;
  q8_pool_fn avgpool;
  q8_resize_fn resize;
  q8_l2nn_fn l2nn;
} q8_kernel_table;

/* The table for the active ISA (the best supported, limited by
 * q8_set_isa_limit () or $Q8_ISA). */
const q8_kernel_table *q8__kernels (void);

/* The table for a given ISA, or NULL if this build or CPU lacks it; tests
 * and benchmarks use it to walk every path. */
const q8_kernel_table *q8__kernels_for (q8_isa isa);

/* Runs iters iterations of 16 independent multiply-accumulate
 * instructions of isa's widest kind (kernels/q8_peak.c) and returns the
 * MACs they did, or 0 where there is no such loop; *what describes it.
 * Only for a path the CPU supports. */
uint64_t q8__peak_loop (q8_isa isa, uint64_t iters, const char **what);

/* First convolution kernel of table t that accepts p. */
const q8_conv_ukernel *q8__conv_select (const q8_kernel_table *t,
                                        const q8_conv_params *p);

#endif /* Q8_KERNELS_H */
