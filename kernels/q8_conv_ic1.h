/* q8_conv_ic1.h - the layout, packing and row staging of the x86
 * vpdpbusd kernels for convolutions of a 1-channel input (the 5x5 1->64
 * first layer of ESPCN), output channels in lanes.  The AVX-512 VNNI and
 * AVX-VNNI ..._ic1 kernels include it (both libraries have AVX2) and add
 * their own tiles and epilogue.
 *
 * A generic kernel treats each kernel row as a span of kw bytes rounded
 * up to the 4-byte vpdpbusd group, so a 5x5 kernel costs 10 groups (40
 * byte slots for 25 taps), and it gathers spans per tile.  Here the taps
 * are packed into groups across kernel rows: each kernel row gives
 * kw / 4 groups of 4 neighbouring taps (plus one zero-padded group when
 * kw % 4 >= 2), and when kw % 4 = 1 the last tap of 4 kernel rows shares
 * one group.  For 5x5 that is 5 + 2 = 7 groups (28 slots for 25 taps).
 *
 * Per output row (and strip of columns), the kh input rows are staged
 * once into a stack buffer R as x + 128 (XOR 0x80), with the zero point
 * in place of columns outside the input and of rows above or below it.
 * A group of 4 neighbouring taps of pixel x is then the dword at R[ky] +
 * x + kx0, broadcast straight from R; the cross-row groups are built once
 * per row with byte and word interleaves into C[q][x] (4 bytes per
 * pixel).  A tile (the kernel's) is N <= Q8_IC1_TILE_MAX pixels x CB
 * blocks of output channels, with the bias compensation of the generic
 * kernels (bias - (in_zp + 128) * sum(w)) and their accumulator argument.
 *
 * Accepts groups = 1, in_c = 1, kh, kw <= 8, stride_w = 1, dilation_w = 1
 * (stride_h and dilation_h are free).
 *
 * Packed layout, chunk after chunk; a chunk of cb blocks of `lanes`
 * output channels:
 *   int8  w[Q][cb][lanes][4]      Q groups: kernel row after kernel row,
 *                                 then the cross-row groups; zero padded
 *   then cb blocks' constants
 */
#ifndef Q8_CONV_IC1_H
#define Q8_CONV_IC1_H

#include <immintrin.h>

#include "q8_conv_spans.h"

#define Q8_IC1_K_MAX 8
#define Q8_IC1_TILE_MAX 12
#define Q8_IC1_STAGE_BYTES 32768

typedef struct {
  int32_t nd;          /* direct groups per kernel row */
  int32_t ncross;      /* cross-row groups (kw % 4 = 1), 4 rows each */
  int32_t q;           /* all groups: kh * nd + ncross */
  int32_t lanes;       /* output channels per block */
  int32_t nb, cbmax;   /* blocks, blocks per chunk */
  size_t consts_bytes; /* constants per block */
  size_t blk_bytes;
} q8_ic1_layout;

static inline q8_ic1_layout
q8_ic1_layout_get (const q8_conv_params *p, int32_t lanes,
                   int32_t chunk_max, size_t consts_bytes)
{
  q8_ic1_layout l;
  int32_t rem = p->kw % 4;
  l.nd = p->kw / 4 + (rem >= 2 ? 1 : 0);
  l.ncross = rem == 1 ? (p->kh + 3) / 4 : 0;
  l.q = p->kh * l.nd + l.ncross;
  l.lanes = lanes;
  l.nb = (p->out_c + lanes - 1) / lanes;
  l.cbmax = l.nb < chunk_max ? l.nb : chunk_max;
  l.consts_bytes = consts_bytes;
  l.blk_bytes = (size_t) l.q * (size_t) lanes * 4 + consts_bytes;
  return l;
}

static inline int
q8_ic1_accepts (const q8_conv_params *p)
{
  return p->groups == 1 && p->in_c == 1 && p->kh <= Q8_IC1_K_MAX
         && p->kw <= Q8_IC1_K_MAX && p->stride_w == 1
         && p->dilation_w == 1;
}

/* The weight of byte i of group g for output channel oc (0 past the
 * kernel). */
static inline int8_t
q8_ic1_group_weight (const q8_conv_params *p, const q8_ic1_layout *l,
                     const int8_t *w, int32_t oc, int32_t g, int32_t i)
{
  int32_t ky, kx;
  if (g < p->kh * l->nd) {
    ky = g / l->nd;
    kx = g % l->nd * 4 + i;
    if (kx >= p->kw)
      return 0;
  } else {
    ky = (g - p->kh * l->nd) * 4 + i;
    kx = p->kw - 1;
    if (ky >= p->kh)
      return 0;
  }
  return w[((size_t) oc * p->kh + ky) * p->kw + kx];
}

/* The chunk that starts at block blk0: its weights at *wc, its blocks'
 * constants at *consts; returns its number of blocks. */
static inline int32_t
q8_ic1_chunk (const q8_ic1_layout *l, const void *packed, int32_t blk0,
              const int8_t **wc, const void **consts)
{
  int32_t cb = l->nb - blk0 < l->cbmax ? l->nb - blk0 : l->cbmax;
  *wc = (const int8_t *) packed + (size_t) blk0 * l->blk_bytes;
  *consts = *wc + (size_t) cb * l->q * l->lanes * 4;
  return cb;
}

/* Packs the weights of block bi; returns where its constants go. */
static inline void *
q8_ic1_pack_block (const q8_ic1_layout *l, const q8_conv_params *p,
                   const int8_t *w, int32_t bi, void *packed)
{
  int32_t b = bi % l->cbmax;
  const int8_t *wc;
  const void *consts;
  int32_t cb = q8_ic1_chunk (l, packed, bi - b, &wc, &consts);
  for (int32_t g = 0; g < l->q; g++) {
    int8_t *dst = (int8_t *) wc + ((size_t) g * cb + b) * l->lanes * 4;
    for (int32_t lane = 0; lane < l->lanes; lane++)
      for (int32_t i = 0; i < 4; i++) {
        int32_t oc = bi * l->lanes + lane;
        dst[lane * 4 + i] = oc < p->out_c
                            ? q8_ic1_group_weight (p, l, w, oc, g, i) : 0;
      }
  }
  return (uint8_t *) consts + (size_t) b * l->consts_bytes;
}

/* The staged rows of one output row: R[ky] at r + ky * rs (x + 128, one
 * byte per column), C[q] at cr + q * cs (4 bytes per column). */
typedef struct {
  const int8_t *r;
  const int8_t *cr;
  size_t rs, cs;
} q8_ic1_staged;

/* Computes N pixels from column x of the staged rows for the chunk of cb
 * blocks from block blk0 (its weights wc, constants kc), stored at out
 * (pixel 0 of the tile); e is the kernel's epilogue state. */
typedef void (*q8_ic1_tile_fn) (const q8_conv_params *p,
                                const q8_ic1_layout *l,
                                const q8_ic1_staged *s, const int8_t *wc,
                                const void *kc, int32_t blk0, int32_t x,
                                int nvalid, int8_t *out, const void *e);

/* Stages input row iy, columns ix0 .. ix0 + n - 1, at dst as x + 128. */
static inline void
q8_ic1_stage_row (const q8_conv_params *p, const int8_t *in, int32_t iy,
                  int32_t ix0, int32_t n, int8_t *dst)
{
  const int8_t zp = (int8_t) (p->in_zp ^ 0x80);
  const __m256i x80 = _mm256_set1_epi8 ((char) 0x80);
  if (iy < 0 || iy >= p->in_h) {
    memset (dst, zp, (size_t) n);
    return;
  }
  const int8_t *row = in + (size_t) iy * (size_t) p->in_w;
  int32_t c = 0;
  for (; c < n && ix0 + c < 0; c++)
    dst[c] = zp;
  for (; c + 32 <= n && ix0 + c + 32 <= p->in_w; c += 32)
    _mm256_storeu_si256 ((__m256i *) (dst + c), _mm256_xor_si256 (
      _mm256_loadu_si256 ((const __m256i *) (row + ix0 + c)), x80));
  for (; c < n; c++)
    dst[c] = ix0 + c < p->in_w ? (int8_t) (row[ix0 + c] ^ 0x80) : zp;
}

/* Output rows [y0, y1): stages each row's inputs, then runs tiles[cb - 1]
 * (tile_pixels[cb - 1] pixels, at most Q8_IC1_TILE_MAX) over every chunk
 * of the strip. */
static inline void
q8_ic1_run (const q8_conv_params *p, const q8_ic1_layout *l,
            const void *packed, const int8_t *in, int8_t *out, int32_t y0,
            int32_t y1, const q8_ic1_tile_fn *tiles, const int *tile_pixels,
            const void *e)
{
  int8_t buf[Q8_IC1_STAGE_BYTES] __attribute__ ((aligned (64)));
  const int32_t kh = p->kh, kw = p->kw;
  /* Strip width w: tiles run up to Q8_IC1_TILE_MAX - 1 columns past it,
   * and the 16-column interleave for C reads R up to w + 30 + kw - 1 and
   * writes C up to column w + 31; direct groups read 3 bytes past their
   * last tap.  So kh rows of rs = w + 32 + kw + 3 bytes (rounded up to
   * 64) and ncross rows of cs = 4 * (w + 32) bytes must fit buf. */
  int32_t w = (Q8_IC1_STAGE_BYTES - kh * (32 + kw + 3 + 64)
               - l->ncross * 32 * 4) / (kh + 4 * l->ncross);
  if (w > p->out_w)
    w = p->out_w;
  q8_ic1_staged s;
  s.rs = ((size_t) w + 32 + (size_t) kw + 3 + 63) / 64 * 64;
  s.cs = (size_t) (w + 32) * 4;
  int8_t *r = buf;
  int8_t *cr = buf + (size_t) kh * s.rs;
  s.r = r;
  s.cr = cr;

  for (int32_t sx0 = 0; sx0 < p->out_w; sx0 += w) {
    int32_t sw = p->out_w - sx0 < w ? p->out_w - sx0 : w;
    int32_t ix0 = sx0 - p->pad_left;
    for (int32_t oy = y0; oy < y1; oy++) {
      for (int32_t ky = 0; ky < kh; ky++)
        q8_ic1_stage_row (p, in,
                          oy * p->stride_h - p->pad_top + ky * p->dilation_h,
                          ix0, (int32_t) s.rs, r + (size_t) ky * s.rs);
      /* C[q][x]: the last tap of kernel rows 4q .. 4q + 3. */
      for (int32_t q = 0; q < l->ncross; q++) {
        __m128i v[4];
        for (int32_t x = 0; x < sw + 16; x += 16) {
          for (int32_t i = 0; i < 4; i++)
            v[i] = 4 * q + i < kh
                   ? _mm_loadu_si128 ((const __m128i *) (
                       r + (size_t) (4 * q + i) * s.rs + x + kw - 1))
                   : _mm_setzero_si128 ();
          __m128i a0 = _mm_unpacklo_epi8 (v[0], v[1]);
          __m128i a1 = _mm_unpackhi_epi8 (v[0], v[1]);
          __m128i b0 = _mm_unpacklo_epi8 (v[2], v[3]);
          __m128i b1 = _mm_unpackhi_epi8 (v[2], v[3]);
          __m128i *d = (__m128i *) (cr + (size_t) q * s.cs + (size_t) x * 4);
          _mm_storeu_si128 (d, _mm_unpacklo_epi16 (a0, b0));
          _mm_storeu_si128 (d + 1, _mm_unpackhi_epi16 (a0, b0));
          _mm_storeu_si128 (d + 2, _mm_unpacklo_epi16 (a1, b1));
          _mm_storeu_si128 (d + 3, _mm_unpackhi_epi16 (a1, b1));
        }
      }
      int8_t *orow = out + ((size_t) oy * p->out_w + (size_t) sx0)
                           * (size_t) p->out_c;
      for (int32_t blk0 = 0; blk0 < l->nb; blk0 += l->cbmax) {
        const int8_t *wc;
        const void *kc;
        int32_t cb = q8_ic1_chunk (l, packed, blk0, &wc, &kc);
        int n = tile_pixels[cb - 1];
        for (int32_t x = 0; x < sw; x += n) {
          int nvalid = sw - x < n ? sw - x : n;
          tiles[cb - 1] (p, l, &s, wc, kc, blk0, x, nvalid,
                         orow + (size_t) x * p->out_c
                           + (size_t) blk0 * l->lanes,
                         e);
        }
      }
    }
  }
}

#endif /* Q8_CONV_IC1_H */
