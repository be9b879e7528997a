/* q8_dwconv_taps.h - the shape limits and tap addressing shared by the
 * SIMD depthwise convolution kernels (kernels/<isa>/q8_s8_dwconv2d_*).
 *
 * A depthwise layer here has groups = in_c = out_c (channel multiplier 1):
 * output channel c reads input channel c only, so with NHWC tensors the
 * channels of a pixel sit in consecutive bytes and map straight to vector
 * lanes.  For one output pixel the kernel reads one vector of channels per
 * tap (ky, kx); this header finds, per tap, where that vector starts.
 * Kernels work on strips of a few pixels of one output row.  In a strip
 * whose windows all lie inside the input (nearly all of them), pixel j's
 * tap t is at base + j * step + off[t], with per-layer offsets off[].  In
 * other strips, an address per pixel and tap is computed: the input
 * pixel, or a row of zero points when the tap falls in the padding
 * (ARITHMETIC.md: padding contributes exactly like an input equal to the
 * zero point, and the kernels fold in_zp * sum(w) into the bias).
 *
 * Over-read: a kernel loads whole vectors, so the last channel block of a
 * pixel reads up to (vector bytes - 1) past its channels: the next pixel,
 * the input's Q8_EXTRA_BYTES tail (vectors are at most 16 bytes here), or
 * the slack of the zero-point row.  Those lanes meet zero weights and
 * their outputs are never stored.
 *
 * Plain C: each ISA library includes it and compiles it with its flags.
 */
#ifndef Q8_DWCONV_TAPS_H
#define Q8_DWCONV_TAPS_H

#include <string.h>

#include "q8_kernels.h"

/* Most taps (kh * kw: 7x7 and 8x8 fit) and channels a SIMD depthwise
 * kernel accepts; larger layers run on the scalar kernel.  The channel
 * bound sizes the zero-point row on the stack. */
#define Q8_DW_MAX_TAPS 64
#define Q8_DW_MAX_C 2048
/* Zero-point row: the channels plus the over-read of a 16-byte vector. */
#define Q8_DW_ZP_BYTES (Q8_DW_MAX_C + 16)

/* Depthwise with multiplier 1, within the limits above. */
static inline int
q8_dw_accepts (const q8_conv_params *p)
{
  return p->groups == p->in_c && p->out_c == p->in_c
         && p->in_c <= Q8_DW_MAX_C && p->kh * p->kw <= Q8_DW_MAX_TAPS;
}

/* Sum of the kh * kw weights of channel c (OHWI with one input channel
 * per group). */
static inline int32_t
q8_dw_weight_sum (const q8_conv_params *p, const int8_t *w, int32_t c)
{
  int32_t taps = p->kh * p->kw, s = 0;
  for (int32_t t = 0; t < taps; t++)
    s += w[(size_t) c * taps + t];
  return s;
}

/* Packed weights of every kernel: nb blocks of `lanes` channels, each
 * kh * kw taps of tap_bytes, then per-block constants at w_bytes. */
typedef struct {
  int32_t nb;       /* blocks of lanes channels */
  int32_t taps;     /* kh * kw */
  size_t w_bytes;
} q8_dw_layout;

static inline q8_dw_layout
q8_dw_layout_get (const q8_conv_params *p, int32_t lanes, size_t tap_bytes)
{
  q8_dw_layout l;
  l.nb = (p->out_c + lanes - 1) / lanes;
  l.taps = p->kh * p->kw;
  l.w_bytes = (size_t) l.nb * (size_t) l.taps * tap_bytes;
  return l;
}

typedef struct {
  const q8_conv_params *p;
  const int8_t *zp_row;    /* Q8_DW_ZP_BYTES bytes of in_zp */
  /* Per kernel row of the current output row: the input row, or NULL
   * when it lies in the vertical padding. */
  const int8_t *row[Q8_DW_MAX_TAPS];
  int all_rows;            /* no kernel row of this output row is padding */
  ptrdiff_t off[Q8_DW_MAX_TAPS]; /* tap t from its window's first tap */
} q8_dw_rows;

/* zp_buf: caller (stack) buffer of Q8_DW_ZP_BYTES bytes. */
static inline void
q8_dw_rows_init (q8_dw_rows *r, const q8_conv_params *p, int8_t *zp_buf)
{
  memset (zp_buf, (int) p->in_zp, Q8_DW_ZP_BYTES);
  r->p = p;
  r->zp_row = zp_buf;
  for (int32_t ky = 0; ky < p->kh; ky++)
    for (int32_t kx = 0; kx < p->kw; kx++)
      r->off[ky * p->kw + kx] = ((ptrdiff_t) ky * p->dilation_h * p->in_w
                                 + (ptrdiff_t) kx * p->dilation_w)
                                * p->in_c;
}

/* Points r->row[ky] at the input rows of output row oy. */
static inline void
q8_dw_rows_set (q8_dw_rows *r, const int8_t *in, int32_t oy)
{
  const q8_conv_params *p = r->p;
  r->all_rows = 1;
  for (int32_t ky = 0; ky < p->kh; ky++) {
    int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
    r->row[ky] = iy >= 0 && iy < p->in_h
      ? in + (size_t) iy * (size_t) p->in_w * (size_t) p->in_c : NULL;
    r->all_rows &= r->row[ky] != NULL;
  }
}

/* Fills ptr[ky * kw + kx] with the channel-0 address of every tap of
 * output column ox in the current row. */
static inline void
q8_dw_taps (const q8_dw_rows *r, int32_t ox, const int8_t **ptr)
{
  const q8_conv_params *p = r->p;
  const size_t c = (size_t) p->in_c;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int inside = ix0 >= 0 && ix0 + (p->kw - 1) * p->dilation_w < p->in_w;
  for (int32_t ky = 0; ky < p->kh; ky++) {
    const int8_t *row = r->row[ky];
    const int8_t **pk = ptr + ky * p->kw;
    if (row == NULL) {
      for (int32_t kx = 0; kx < p->kw; kx++)
        pk[kx] = r->zp_row;
    } else if (inside) {
      const int8_t *s = row + (size_t) ix0 * c;
      for (int32_t kx = 0; kx < p->kw; kx++)
        pk[kx] = s + (size_t) kx * (size_t) p->dilation_w * c;
    } else {
      for (int32_t kx = 0; kx < p->kw; kx++) {
        int32_t ix = ix0 + kx * p->dilation_w;
        pk[kx] = ix >= 0 && ix < p->in_w ? row + (size_t) ix * c : r->zp_row;
      }
    }
  }
}

/* Where a tile finds its taps (see the file comment). */
typedef struct {
  const int8_t *base;         /* inside: pixel 0's first tap, else NULL */
  size_t step;                /* inside: stride_w * in_c */
  const ptrdiff_t *off;       /* inside: off[t] */
  const int8_t *const *ptr;   /* else: ptr[j * Q8_DW_MAX_TAPS + t] */
} q8_dw_src;

/* The taps of a strip of n pixels of the current row from column ox,
 * nvalid of them real.  When all n windows lie inside the input, s gets
 * base, step and off; else the addresses in ptr (Q8_DW_MAX_TAPS per
 * pixel), where pixels past the row's end repeat the first one's taps so
 * that kernels can compute whole tiles and drop the extra results. */
static inline void
q8_dw_strip (const q8_dw_rows *r, int32_t ox, int n, int nvalid,
             const int8_t **ptr, q8_dw_src *s)
{
  const q8_conv_params *p = r->p;
  const int32_t ix0 = ox * p->stride_w - p->pad_left;
  const int32_t ixl = (ox + n - 1) * p->stride_w - p->pad_left
                      + (p->kw - 1) * p->dilation_w;
  s->step = (size_t) p->stride_w * (size_t) p->in_c;
  s->off = r->off;
  s->ptr = ptr;
  if (r->all_rows && nvalid == n && ix0 >= 0 && ixl < p->in_w) {
    s->base = r->row[0] + (size_t) ix0 * (size_t) p->in_c;
    return;
  }
  s->base = NULL;
  const size_t taps = (size_t) p->kh * (size_t) p->kw;
  for (int j = 0; j < nvalid; j++)
    q8_dw_taps (r, ox + j, ptr + j * Q8_DW_MAX_TAPS);
  for (int j = nvalid; j < n; j++)
    memcpy (ptr + j * Q8_DW_MAX_TAPS, ptr, taps * sizeof *ptr);
}

/* The source of the tile that starts at pixel j0 of a strip. */
static inline q8_dw_src
q8_dw_src_at (const q8_dw_src *s, int j0)
{
  q8_dw_src t = *s;
  if (t.base != NULL)
    t.base += (size_t) j0 * t.step;
  t.ptr += j0 * Q8_DW_MAX_TAPS;
  return t;
}

/* The address of tap t of pixel j of a strip, from channel off, with
 * pixel j's first tap bj (inside) computed once per tile. */
static inline const int8_t *
q8_dw_tap (const q8_dw_src *s, const int8_t *bj, int j, int32_t t,
           size_t off, const int INSIDE)
{
  return INSIDE ? bj + s->off[t]
                : s->ptr[j * Q8_DW_MAX_TAPS + t] + off;
}

#endif /* Q8_DWCONV_TAPS_H */
