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

/* The packed layout of the vpdpbusd kernels: output channels in blocks of
 * `lanes` (one vector of int32 accumulators), blocks in chunks of up to
 * chunk_max (the last chunk may have fewer); a chunk of cb blocks is
 *   int8  w[kh][G][cb][lanes][4]    G = span_pad / 4, zero padded
 *   then cb blocks' constants, consts_bytes each,
 * so that a tile reads one chunk's weights for a group of 4 span bytes
 * from one place. */
typedef struct {
  int32_t lanes;
  int32_t nb;           /* blocks */
  int32_t cbmax;        /* blocks per chunk */
  int32_t groups;       /* G: groups of 4 span bytes per kernel row */
  size_t consts_bytes;  /* constants per block */
  size_t blk_bytes;     /* packed bytes per block */
} q8_dot4_layout;

static inline q8_dot4_layout
q8_dot4_layout_get (const q8_conv_params *p, int32_t lanes,
                    int32_t chunk_max, size_t consts_bytes)
{
  q8_dot4_layout l;
  l.lanes = lanes;
  l.nb = (p->out_c + lanes - 1) / lanes;
  l.cbmax = l.nb < chunk_max ? l.nb : chunk_max;
  l.groups = q8_span_padded (p, 4) / 4;
  l.consts_bytes = consts_bytes;
  l.blk_bytes = (size_t) p->kh * (size_t) l.groups * (size_t) lanes * 4
                + consts_bytes;
  return l;
}

/* The chunk that starts at block blk0: its weights at *wc, its blocks'
 * constants at *consts; returns its number of blocks. */
static inline int32_t
q8_dot4_chunk (const q8_dot4_layout *l, const q8_conv_params *p,
               const void *packed, int32_t blk0, const int8_t **wc,
               const void **consts)
{
  int32_t cb = l->nb - blk0 < l->cbmax ? l->nb - blk0 : l->cbmax;
  *wc = (const int8_t *) packed + (size_t) blk0 * l->blk_bytes;
  *consts = *wc + (size_t) cb * p->kh * l->groups * l->lanes * 4;
  return cb;
}

/* Packs the weights of block bi as w + add (the unsigned operand of
 * vpdpbusd when add = 128); a lane ones_lane (if >= 0) without an output
 * channel gets weights 1 along the span, to accumulate sum(x).  Returns
 * where the block's constants go. */
static inline void *
q8_dot4_pack_block (const q8_dot4_layout *l, const q8_conv_params *p,
                    const int8_t *w, int32_t bi, int32_t add,
                    int32_t ones_lane, void *packed)
{
  int32_t span = p->kw * p->in_c;
  size_t per_oc = (size_t) p->kh * (size_t) span;
  int32_t b = bi % l->cbmax;
  const int8_t *wc;
  const void *consts;
  int32_t cb = q8_dot4_chunk (l, p, packed, bi - b, &wc, &consts);
  int8_t *base = (int8_t *) wc;

  for (int32_t ky = 0; ky < p->kh; ky++)
    for (int32_t g = 0; g < l->groups; g++) {
      int8_t *dst = base + (((size_t) ky * l->groups + g) * cb + b)
                           * (size_t) l->lanes * 4;
      for (int32_t lane = 0; lane < l->lanes; lane++)
        for (int32_t i = 0; i < 4; i++) {
          int32_t oc = bi * l->lanes + lane, s = g * 4 + i;
          int32_t v = 0;
          if (s < span && oc < p->out_c)
            v = w[(size_t) oc * per_oc + (size_t) ky * span + s] + add;
          else if (s < span && lane == ones_lane)
            v = 1;
          dst[lane * 4 + i] = (int8_t) (uint8_t) v;
        }
    }
  return (uint8_t *) consts + (size_t) b * l->consts_bytes;
}

/* The packed bias of output channel oc for a kernel that feeds the input
 * as x + zp_add (128 for the unsigned operand of vpdpbusd, 0 when it uses
 * x as it is): bias - (in_zp + zp_add) * sum(w), so that with padding read
 * as in_zp the accumulator is exactly ARITHMETIC.md's.  In int32 by the
 * accumulator bound (|in_zp + zp_add| <= 255 < 512). */
static inline int32_t
q8_span_packed_bias (const q8_conv_params *p, const int8_t *w,
                     const int32_t *bias, int32_t oc, int32_t zp_add)
{
  return (int32_t) ((bias != NULL ? bias[oc] : 0)
                    - (int64_t) (p->in_zp + zp_add)
                      * q8_span_weight_sum (p, w, oc));
}

/* The short form of rule R used by the x86 kernels: when the shift r is in
 * 33..54, with P = acc * M = hi * 2^32 + lo (lo unsigned) and s = r - 32,
 *   floor ((P + 2^(r-1)) / 2^r) = floor ((hi + 2^(s-1)) / 2^s),
 * because lo / 2^32 < 1 cannot carry past an integer before the floor.
 * |hi| < 2^30 (|acc|, M < 2^31), and out_zp * 2^s folds into the rounding
 * constant c = 2^(s-1) + out_zp * 2^s exactly (a multiple of 2^s),
 * |c| < 2^30 for s <= 22, so hi + c cannot overflow int32 and one 32-bit
 * arithmetic shift gives t + out_zp.  Non-zero if every channel of p has
 * such a shift. */
static inline int
q8_conv_short_requant (const q8_conv_params *p)
{
  for (int32_t oc = 0; oc < p->out_c; oc++)
    if (p->shift[oc] < 33 || p->shift[oc] > 54)
      return 0;
  return 1;
}

/* The short form's s and c for shift r and out_zp (s = 1 and a harmless c
 * for shifts outside 33..54, which that form is not used for). */
static inline void
q8_short_requant_consts (int32_t r, int32_t out_zp, int32_t *s, int32_t *c)
{
  *s = r >= 33 && r <= 54 ? r - 32 : 1;
  *c = (int32_t) (((int64_t) 1 << (*s - 1))
                  + (int64_t) out_zp * ((int64_t) 1 << *s));
}

/* Rule R, clamp and fused table for n accumulators of output channels
 * oc0 .. oc0 + n - 1, one at a time: the epilogue of kernels whose vector
 * form does not cover the layer's shifts. */
static inline void
q8_conv_requant_scalar (const q8_conv_params *p, const int32_t *acc,
                        int32_t oc0, int32_t n, int8_t *o)
{
  for (int32_t k = 0; k < n; k++) {
    int32_t v = q8_requant_r (acc[k], p->mult[oc0 + k], p->shift[oc0 + k],
                              p->out_zp, p->act_min, p->act_max);
    o[k] = (int8_t) (p->lut != NULL ? p->lut[v + 128] : v);
  }
}

#endif /* Q8_CONV_SPANS_H */
