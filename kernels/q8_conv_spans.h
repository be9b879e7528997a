/* q8_conv_spans.h - input "spans" shared by the SIMD convolution kernels.
 *
 * With dilation_w = 1, the inputs that one kernel row (ky) of an output
 * pixel reads are kw * in_c consecutive bytes of NHWC input: a span.  The
 * SIMD kernels treat a span as one long dot product of K = kw * in_c bytes
 * against the weights w[oc][ky][..] (OHWI order is exactly span order), so
 * a 5x5 convolution of a 1-channel image and a 3x3 one of 64 channels run
 * the same inner loop, and only the span's tail (K rounded up to the
 * kernel's step) is wasted.
 *
 * A span that lies inside the input is read in place.  A span that crosses
 * the left or right border, or any span when dilation_w > 1, is gathered
 * into a small buffer with the zero point in place of the missing columns
 * (ARITHMETIC.md: padding contributes exactly like an input equal to the
 * zero point).  A kernel row above or below the input reads a span made of
 * the zero point only.  The step padding at the end of a span multiplies
 * zero weights, so whatever is there only needs to be readable: in place,
 * it is the next pixel's bytes or the input's Q8_EXTRA_BYTES tail.
 *
 * These helpers are plain C; each ISA library includes them and compiles
 * them with its own flags.
 */
#ifndef Q8_CONV_SPANS_H
#define Q8_CONV_SPANS_H

#include <string.h>

#include "q8_kernels.h"

/* Largest padded span (kw * in_c rounded up) a SIMD kernel accepts, most
 * pixels in one tile, and the stack bytes for gathered spans: a tile
 * prepares the spans of as many kernel rows as fit Q8_SPAN_BUF at once
 * (all of them for small layers), so that its accumulators stay in
 * registers across the whole kernel. */
#define Q8_SPAN_MAX 2048
#define Q8_SPAN_TILE 16
#define Q8_SPAN_BUF 32768
#define Q8_SPAN_ROWS 16

#if defined(__GNUC__)
#define Q8_ALWAYS_INLINE inline __attribute__ ((always_inline))
#define Q8_NOINLINE __attribute__ ((noinline))
#define Q8_MAYBE_UNUSED __attribute__ ((unused))
#else
#define Q8_MAYBE_UNUSED
#define Q8_ALWAYS_INLINE inline
#define Q8_NOINLINE
#endif

typedef struct {
  const q8_conv_params *p;
  const int8_t *in;
  int32_t span;            /* kw * in_c, the bytes a span really has */
  int32_t span_pad;        /* span rounded up to the kernel's K step */
  int32_t tile;            /* most pixels per tile */
  int32_t rows;            /* kernel rows prepared at once */
  const int8_t *zp_span;   /* span_pad bytes equal to the zero point */
  int8_t *edge;            /* Q8_SPAN_BUF bytes of gather buffers */
} q8_span_ctx;

/* Rounds the span of p up to a multiple of step. */
static inline int32_t
q8_span_padded (const q8_conv_params *p, int32_t step)
{
  int32_t k = p->kw * p->in_c;
  return (k + step - 1) / step * step;
}

/* zp_buf and edge_buf are caller (stack) buffers of at least span_pad and
 * Q8_SPAN_BUF bytes; tile is the kernel's most pixels per tile. */
static inline void
q8_span_init (q8_span_ctx *c, const q8_conv_params *p, const int8_t *in,
              int32_t step, int32_t tile, int8_t *zp_buf, int8_t *edge_buf)
{
  c->p = p;
  c->in = in;
  c->span = p->kw * p->in_c;
  c->span_pad = q8_span_padded (p, step);
  c->tile = tile;
  c->rows = Q8_SPAN_BUF / (tile * c->span_pad);
  if (c->rows < 1)
    c->rows = 1; /* unreachable while tile * Q8_SPAN_MAX <= Q8_SPAN_BUF */
  if (c->rows > Q8_SPAN_ROWS)
    c->rows = Q8_SPAN_ROWS;
  if (c->rows > p->kh)
    c->rows = p->kh;
  memset (zp_buf, (int) p->in_zp, (size_t) c->span_pad);
  c->zp_span = zp_buf;
  c->edge = edge_buf;
}

/* Fills ptr[r * Q8_SPAN_TILE + j], r < nky, with the span of kernel row
 * ky0 + r for output pixel q0 + j, j < nvalid (pixels numbered
 * y * out_w + x); the slots j in [nvalid, n) repeat the first span so that
 * a full tile can be computed and its extra results dropped.  Out of line:
 * it may call memcpy, and calls cost a kernel its registers.  Kernels
 * that gather their own inputs include this header for the rest. */
static Q8_NOINLINE Q8_MAYBE_UNUSED void
q8_span_rows (const q8_span_ctx *c, int64_t q0, int n, int nvalid, int ky0,
              int nky, const int8_t **ptr)
{
  const q8_conv_params *p = c->p;
  const int32_t oy0 = (int32_t) (q0 / p->out_w);
  const int32_t ox0 = (int32_t) (q0 % p->out_w);
  const size_t ic = (size_t) p->in_c;
  /* The whole tile inside one output row, every span horizontally inside
   * the input and in place: the common case, without per-pixel tests. */
  const int one_row = ox0 + nvalid <= p->out_w && p->dilation_w == 1
    && ox0 * p->stride_w - p->pad_left >= 0
    && (ox0 + nvalid - 1) * p->stride_w - p->pad_left + p->kw <= p->in_w;

  for (int r = 0; r < nky; r++) {
    const int32_t ky = ky0 + r;
    const int8_t **pr = ptr + r * Q8_SPAN_TILE;
    int32_t oy = oy0, ox = ox0;
    if (one_row) {
      int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
      if (iy < 0 || iy >= p->in_h) {
        for (int j = 0; j < nvalid; j++)
          pr[j] = c->zp_span;
      } else {
        const int8_t *s = c->in + ((size_t) iy * (size_t) p->in_w
                                   + (size_t) (ox * p->stride_w
                                               - p->pad_left)) * ic;
        size_t step = (size_t) p->stride_w * ic;
        for (int j = 0; j < nvalid; j++)
          pr[j] = s + (size_t) j * step;
      }
    } else {
      for (int j = 0; j < nvalid; j++) {
        int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
        int32_t ix0 = ox * p->stride_w - p->pad_left;
        int32_t last = ix0 + (p->kw - 1) * p->dilation_w;
        if (iy < 0 || iy >= p->in_h) {
          pr[j] = c->zp_span;
        } else if (p->dilation_w == 1 && ix0 >= 0 && last < p->in_w) {
          pr[j] = c->in + ((size_t) iy * (size_t) p->in_w + (size_t) ix0)
                          * ic;
        } else {
          const int8_t *row = c->in + (size_t) iy * (size_t) p->in_w * ic;
          int8_t *e = c->edge + ((size_t) r * (size_t) c->tile + (size_t) j)
                                * (size_t) c->span_pad;
          for (int32_t kx = 0; kx < p->kw; kx++) {
            int32_t ix = ix0 + kx * p->dilation_w;
            if (ix >= 0 && ix < p->in_w)
              memcpy (e + kx * ic, row + (size_t) ix * ic, ic);
            else
              memset (e + kx * ic, (int) p->in_zp, ic);
          }
          memset (e + c->span, (int) p->in_zp,
                  (size_t) (c->span_pad - c->span));
          pr[j] = e;
        }
        if (++ox == p->out_w) {
          ox = 0;
          oy++;
        }
      }
    }
    for (int j = nvalid; j < n; j++)
      pr[j] = pr[0];
  }
}

/* Sum of the weights of output channel oc (OHWI, groups = 1). */
static inline int32_t
q8_span_weight_sum (const q8_conv_params *p, const int8_t *w, int32_t oc)
{
  size_t n = (size_t) p->kh * (size_t) p->kw * (size_t) p->in_c;
  const int8_t *wo = w + (size_t) oc * n;
  int32_t s = 0;
  for (size_t i = 0; i < n; i++)
    s += wo[i];
  return s;
}

#endif /* Q8_CONV_SPANS_H */
