/* q8_s8_conv2d_requant_ic1__avx512vnni.c - convolutions of a 1-channel
 * input (the 5x5 1->64 first layer of ESPCN), output channels in lanes.
 *
 * The generic kernel treats each kernel row as a span of kw bytes rounded
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
 * pixel).  A tile is N pixels x CB blocks of 16 output channels, as in
 * the generic kernel (q8_s8_conv2d_requant__avx512vnni.c), whose bias
 * compensation (bias - (in_zp + 128) * sum(w)), accumulator argument and
 * rule R epilogue it shares (q8_conv_avx512vnni.h).
 *
 * Accepts groups = 1, in_c = 1, kh, kw <= 8, stride_w = 1, dilation_w = 1
 * (stride_h and dilation_h are free).
 *
 * Packed layout (64-byte aligned), chunk after chunk; a chunk of cb
 * blocks:
 *   int8  w[Q][cb][16 lanes][4]   Q groups: kernel row after kernel row,
 *                                 then the cross-row groups; zero padded
 *   then cb x blk_consts
 */
#include <immintrin.h>

#include "q8_conv_avx512vnni.h"
#include "q8_kernels_simd.h"

#define CHUNK_MAX 4
#define K_MAX 8
#define TILE_MAX 12
#define STAGE_BYTES 32768

typedef struct {
  int32_t nd;        /* direct groups per kernel row */
  int32_t ncross;    /* cross-row groups (kw % 4 = 1), 4 rows each */
  int32_t q;         /* all groups: kh * nd + ncross */
  int32_t nb, cbmax; /* blocks of 16 output channels, blocks per chunk */
  size_t blk_bytes;
} layout;

static layout
get_layout (const q8_conv_params *p)
{
  layout l;
  int32_t rem = p->kw % 4;
  l.nd = p->kw / 4 + (rem >= 2 ? 1 : 0);
  l.ncross = rem == 1 ? (p->kh + 3) / 4 : 0;
  l.q = p->kh * l.nd + l.ncross;
  l.nb = (p->out_c + 15) / 16;
  l.cbmax = l.nb < CHUNK_MAX ? l.nb : CHUNK_MAX;
  l.blk_bytes = (size_t) l.q * 64 + sizeof (blk_consts);
  return l;
}

int
q8_s8_conv2d_accepts_ic1__avx512vnni (const q8_conv_params *p)
{
  return p->groups == 1 && p->in_c == 1 && p->kh <= K_MAX && p->kw <= K_MAX
         && p->stride_w == 1 && p->dilation_w == 1;
}

size_t
q8_s8_conv2d_packed_size_ic1__avx512vnni (const q8_conv_params *p)
{
  layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

/* The weight of byte i of group g for output channel oc (0 past the
 * kernel). */
static int8_t
group_weight (const q8_conv_params *p, const layout *l, const int8_t *w,
              int32_t oc, int32_t g, int32_t i)
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

void
q8_s8_conv2d_pack_ic1__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                   const int32_t *bias, void *packed)
{
  layout l = get_layout (p);
  for (int32_t bi = 0; bi < l.nb; bi++) {
    int32_t c = bi / l.cbmax, b = bi % l.cbmax;
    int32_t cb = l.nb - c * l.cbmax < l.cbmax ? l.nb - c * l.cbmax : l.cbmax;
    int8_t *base = (int8_t *) packed + (size_t) c * l.cbmax * l.blk_bytes;
    for (int32_t g = 0; g < l.q; g++) {
      int8_t *dst = base + ((size_t) g * cb + b) * 64;
      for (int32_t lane = 0; lane < 16; lane++)
        for (int32_t i = 0; i < 4; i++) {
          int32_t oc = bi * 16 + lane;
          dst[lane * 4 + i] = oc < p->out_c
                              ? group_weight (p, &l, w, oc, g, i) : 0;
        }
    }
    blk_consts *k = (blk_consts *) (base + (size_t) cb * l.q * 64) + b;
    q8_blk_consts_fill (k, p, w, bias, bi * 16, 128);
  }
}

/* The staged rows of one output row: R[ky] at r + ky * rs (x + 128, one
 * byte per column), C[q] at cr + q * cs (4 bytes per column). */
typedef struct {
  const int8_t *r;
  const int8_t *cr;
  size_t rs, cs;
} staged;

/* One group for N pixels: pixel j's 4 bytes at src + j * STEP, broadcast
 * against CB blocks of weights at wk. */
static Q8_ALWAYS_INLINE void
group (__m512i (*acc)[CHUNK_MAX], const int8_t *wk, const int8_t *src,
       const int STEP, const int CB, const int N)
{
  __m512i wv[CHUNK_MAX];
#pragma GCC unroll 4
  for (int b = 0; b < CB; b++)
    wv[b] = _mm512_load_si512 (wk + b * 64);
#pragma GCC unroll 12
  for (int j = 0; j < N; j++) {
    int32_t x4;
    memcpy (&x4, src + STEP * j, 4);
    __m512i xu = _mm512_set1_epi32 (x4);
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm512_dpbusd_epi32 (acc[j][b], xu, wv[b]);
  }
}

/* One tile: N pixels from column x of the staged rows, a chunk of CB
 * blocks from block blk0, stored at out (pixel 0 of the tile). */
static Q8_ALWAYS_INLINE void
tile (const q8_conv_params *p, const layout *l, const staged *s,
      const int8_t *wc, const blk_consts *kc, int32_t blk0, int32_t x,
      int nvalid, int8_t *out, const epilogue *e, const int CB,
      const int N, const int LUT, const int FAST)
{
  __m512i acc[TILE_MAX][CHUNK_MAX];
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm512_load_si512 (kc[b].bias);

  const int8_t *wk = wc;
  for (int32_t ky = 0; ky < p->kh; ky++) {
    const int8_t *row = s->r + (size_t) ky * s->rs + x;
    for (int32_t g = 0; g < l->nd; g++, wk += CB * 64)
      group (acc, wk, row + 4 * g, 1, CB, N);
  }
  for (int32_t q = 0; q < l->ncross; q++, wk += CB * 64)
    group (acc, wk, s->cr + (size_t) q * s->cs + (size_t) x * 4, 4, CB, N);

  int32_t oc_left = p->out_c - blk0 * 16;
  __mmask64 m = oc_left >= 64 ? ~(__mmask64) 0
                              : ((__mmask64) 1 << oc_left) - 1;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
    if (j < nvalid)
      q8_conv_store_pixel (acc[j], kc, e, out + (size_t) j * p->out_c, m,
                           CB, LUT, FAST);
}

typedef void (*tile_fn) (const q8_conv_params *p, const layout *l,
                         const staged *s, const int8_t *wc,
                         const blk_consts *kc, int32_t blk0, int32_t x,
                         int nvalid, int8_t *out, const epilogue *e);

#define DEFINE_TILE(CB, N, LUT, FAST)                                       \
  static void                                                               \
  tile_##CB##_##LUT##_##FAST (const q8_conv_params *p, const layout *l,    \
                              const staged *s, const int8_t *wc,           \
                              const blk_consts *kc, int32_t blk0,          \
                              int32_t x, int nvalid, int8_t *out,          \
                              const epilogue *e)                            \
  {                                                                         \
    tile (p, l, s, wc, kc, blk0, x, nvalid, out, e, CB, N, LUT, FAST);      \
  }
#define DEFINE_TILES(LUT, FAST)                                             \
  DEFINE_TILE (1, 12, LUT, FAST) DEFINE_TILE (2, 12, LUT, FAST)             \
  DEFINE_TILE (3, 8, LUT, FAST) DEFINE_TILE (4, 6, LUT, FAST)

DEFINE_TILES (0, 0)
DEFINE_TILES (0, 1)
DEFINE_TILES (1, 0)
DEFINE_TILES (1, 1)

/* tiles[fast][lut][blocks per chunk - 1] */
static const tile_fn tiles[2][2][CHUNK_MAX] = {
  { { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 },
    { tile_1_1_0, tile_2_1_0, tile_3_1_0, tile_4_1_0 } },
  { { tile_1_0_1, tile_2_0_1, tile_3_0_1, tile_4_0_1 },
    { tile_1_1_1, tile_2_1_1, tile_3_1_1, tile_4_1_1 } },
};
static const int tile_pixels[CHUNK_MAX] = { 12, 12, 8, 6 };

/* Stages input row iy, columns ix0 .. ix0 + n - 1, at dst as x + 128. */
static void
stage_row (const q8_conv_params *p, const int8_t *in, int32_t iy,
           int32_t ix0, int32_t n, int8_t *dst)
{
  const int8_t zp = (int8_t) (p->in_zp ^ 0x80);
  const __m512i x80 = _mm512_set1_epi8 ((char) 0x80);
  if (iy < 0 || iy >= p->in_h) {
    memset (dst, zp, (size_t) n);
    return;
  }
  const int8_t *row = in + (size_t) iy * (size_t) p->in_w;
  int32_t c = 0;
  for (; c < n && ix0 + c < 0; c++)
    dst[c] = zp;
  for (; c + 64 <= n && ix0 + c + 64 <= p->in_w; c += 64)
    _mm512_storeu_si512 (dst + c,
                         _mm512_xor_si512 (_mm512_loadu_si512 (row + ix0 + c),
                                           x80));
  for (; c < n; c++)
    dst[c] = ix0 + c < p->in_w ? (int8_t) (row[ix0 + c] ^ 0x80) : zp;
}

void
q8_s8_conv2d_requant_ic1__avx512vnni (const q8_conv_params *p,
                                      const void *packed, const int8_t *in,
                                      int8_t *out, int32_t y0, int32_t y1)
{
  int8_t buf[STAGE_BYTES] __attribute__ ((aligned (64)));
  layout l = get_layout (p);
  const int32_t kh = p->kh, kw = p->kw;
  /* Strip width w: tiles run up to TILE_MAX - 1 columns past it, and
   * the 16-column interleave for C reads R up to w + 30 + kw - 1 and
   * writes C up to column w + 31; direct groups read 3 bytes past their
   * last tap.  So kh rows of rs = w + 32 + kw + 3 bytes (rounded up to
   * 64) and ncross rows of cs = 4 * (w + 32) bytes must fit buf. */
  int32_t w = (STAGE_BYTES - kh * (32 + kw + 3 + 64) - l.ncross * 32 * 4)
              / (kh + 4 * l.ncross);
  if (w > p->out_w)
    w = p->out_w;
  staged s;
  s.rs = ((size_t) w + 32 + (size_t) kw + 3 + 63) / 64 * 64;
  s.cs = (size_t) (w + 32) * 4;
  int8_t *r = buf;
  int8_t *cr = buf + (size_t) kh * s.rs;
  s.r = r;
  s.cr = cr;

  epilogue e;
  e.zp64 = _mm512_set1_epi64 (p->out_zp);
  e.act_min = _mm512_set1_epi8 ((char) p->act_min);
  e.act_max = _mm512_set1_epi8 ((char) p->act_max);
  q8_lut64_load (&e.lut, p->lut);
  const int fast = q8_conv_short_requant (p), has_lut = p->lut != NULL;

  for (int32_t sx0 = 0; sx0 < p->out_w; sx0 += w) {
    int32_t sw = p->out_w - sx0 < w ? p->out_w - sx0 : w;
    int32_t ix0 = sx0 - p->pad_left;
    for (int32_t oy = y0; oy < y1; oy++) {
      for (int32_t ky = 0; ky < kh; ky++)
        stage_row (p, in, oy * p->stride_h - p->pad_top + ky * p->dilation_h,
                   ix0, (int32_t) s.rs, r + (size_t) ky * s.rs);
      /* C[q][x]: the last tap of kernel rows 4q .. 4q + 3. */
      for (int32_t q = 0; q < l.ncross; q++) {
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
      for (int32_t blk0 = 0; blk0 < l.nb; blk0 += l.cbmax) {
        int32_t cb = l.nb - blk0 < l.cbmax ? l.nb - blk0 : l.cbmax;
        const int8_t *wc = (const int8_t *) packed
                           + (size_t) blk0 * l.blk_bytes;
        const blk_consts *kc = (const blk_consts *) (
          wc + (size_t) cb * l.q * 64);
        tile_fn fn = tiles[fast][has_lut][cb - 1];
        int n = tile_pixels[cb - 1];
        for (int32_t x = 0; x < sw; x += n) {
          int nvalid = sw - x < n ? sw - x : n;
          fn (p, &l, &s, wc, kc, blk0, x, nvalid,
              orow + (size_t) x * p->out_c + (size_t) blk0 * 16, &e);
        }
      }
    }
  }
}
