/* q8_s8_dwconv2d_requant__avx512vnni.c - depthwise int8 convolution with
 * 16 channels per zmm (AVX-512BW and vpdpwssd).
 *
 * Depthwise layers with multiplier 1 (groups = in_c = out_c; limits and
 * tap addressing in q8_dwconv_taps.h), any kernel size up to 64 taps,
 * stride, dilation and padding.  Channels are the lanes: per tap, 16
 * input bytes of a pixel are sign-extended to int32 (vpmovsxbd) and
 * multiplied with the 16 channels' weights.  The weights are packed as
 * int32 lanes holding w in their low int16 and 0 in their high one, so
 * vpdpwssd computes x * w + (sign of x) * 0 = x * w exactly, with the
 * add, and no offset on x is needed (unlike vpdpbusd).
 *
 * A tile is N pixels x CB blocks of 16 channels (N * CB = 12 accumulators
 * cover vpdpwssd's latency): per tap, CB weight vectors are loaded once
 * for the N pixels.  Pixels of one output row go in strips of 12, whose
 * taps (q8_dwconv_taps.h) serve all channel chunks.
 *
 * Accumulator bound: the packed bias is bias - in_zp * sum(w) (padding
 * taps read in_zp and so contribute 0), |bias - in_zp * sum(w)| <=
 * |bias| + 128 * sum|w|, and each partial sum of products adds at most
 * 128 * sum|w| more (|x| <= 128, |w| <= 127), so every partial sum is
 * below |bias| + 256 * sum|w| < |bias| + 512 * sum|w| <= 2^31 - 1, the
 * bound the loader checks (ARITHMETIC.md): int32 never overflows.
 *
 * Epilogue: rule R, clamp and fused table of the generic AVX-512 kernel
 * (q8_conv_avx512vnni.h), one masked store of up to 64 channels.
 *
 * Packed layout (64-byte aligned):
 *   int32 w[nb][kh * kw][16]     nb = ceil(c / 16) blocks; lanes past c
 *                                hold 0
 *   blk_consts[nb]               (q8_conv_avx512vnni.h)
 */
#include <immintrin.h>

#include "q8_conv_avx512vnni.h"
#include "q8_dwconv_taps.h"
#include "q8_kernels_simd.h"

#define CHUNK_MAX 4 /* blocks of 16 channels per tile */
#define ACCS 12     /* accumulators per tile: N = ACCS / CB pixels */

static q8_dw_layout
get_layout (const q8_conv_params *p)
{
  return q8_dw_layout_get (p, 16, 64);
}

int
q8_s8_dwconv2d_accepts__avx512vnni (const q8_conv_params *p)
{
  return q8_dw_accepts (p);
}

size_t
q8_s8_dwconv2d_packed_size__avx512vnni (const q8_conv_params *p)
{
  q8_dw_layout l = get_layout (p);
  return l.w_bytes + (size_t) l.nb * sizeof (blk_consts);
}

void
q8_s8_dwconv2d_pack__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                 const int32_t *bias, void *packed)
{
  q8_dw_layout l = get_layout (p);
  int32_t *wp = packed;
  blk_consts *k = (blk_consts *) ((uint8_t *) packed + l.w_bytes);
  for (int32_t b = 0; b < l.nb; b++)
    for (int32_t t = 0; t < l.taps; t++)
      for (int32_t lane = 0; lane < 16; lane++) {
        int32_t c = b * 16 + lane;
        int32_t v = c < p->out_c ? w[(size_t) c * l.taps + t] : 0;
        wp[((size_t) b * l.taps + t) * 16 + lane] = (int32_t) (uint16_t) v;
      }
  /* The generic kernel's constants with zp_add = 0; its weight sum runs
   * over kh * kw * in_c weights per channel, which is this layer's
   * kh * kw with in_c = 1 (one input channel per group). */
  q8_conv_params one = *p;
  one.in_c = 1;
  one.groups = 1;
  for (int32_t b = 0; b < l.nb; b++)
    q8_blk_consts_fill (&k[b], &one, w, bias, b * 16, 0);
}

/* N pixels (taps from s, q8_dwconv_taps.h) x CB blocks from block blk0;
 * pixels j >= nvalid are computed and dropped. */
static Q8_ALWAYS_INLINE void
tile (const q8_conv_params *p, const int32_t *wp, const blk_consts *kc,
      int32_t taps, int32_t blk0, const q8_dw_src *s, int nvalid,
      int8_t *out, const epilogue *e, const int CB, const int N,
      const int LUT, const int FAST, const int INSIDE)
{
  __m512i acc[ACCS][CHUNK_MAX];
  const int8_t *bj[ACCS];
  const size_t off = (size_t) blk0 * 16;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
    bj[j] = INSIDE ? s->base + (size_t) j * s->step + off : NULL;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm512_load_si512 (kc[blk0 + b].bias);

  for (int32_t t = 0; t < taps; t++) {
    __m512i wv[CHUNK_MAX];
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      wv[b] = _mm512_load_si512 (wp + ((size_t) (blk0 + b) * taps + t) * 16);
#pragma GCC unroll 12
    for (int j = 0; j < N; j++) {
      const int8_t *x = q8_dw_tap (s, bj[j], j, t, off, INSIDE);
#pragma GCC unroll 4
      for (int b = 0; b < CB; b++) {
        __m512i xv = _mm512_cvtepi8_epi32 (
          _mm_loadu_si128 ((const __m128i *) (x + 16 * b)));
        acc[j][b] = _mm512_dpwssd_epi32 (acc[j][b], xv, wv[b]);
      }
    }
  }

  int32_t left = p->out_c - blk0 * 16;
  __mmask64 m = left >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << left) - 1;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
    if (j < nvalid)
      q8_conv_store_pixel (acc[j], kc + blk0, e, out + j * (size_t) p->out_c
                           + off, m, CB, LUT, FAST);
}

typedef void (*tile_fn) (const q8_conv_params *p, const int32_t *wp,
                         const blk_consts *kc, int32_t taps, int32_t blk0,
                         const q8_dw_src *s, int nvalid, int8_t *out,
                         const epilogue *e);

#define DEFINE_TILE(NAME, CB, LUT, FAST, IN)                                \
  static void                                                               \
  NAME (const q8_conv_params *p, const int32_t *wp, const blk_consts *kc,  \
        int32_t taps, int32_t blk0, const q8_dw_src *s, int nvalid,        \
        int8_t *out, const epilogue *e)                                     \
  {                                                                         \
    tile (p, wp, kc, taps, blk0, s, nvalid, out, e, CB, ACCS / CB, LUT,    \
          FAST, IN);                                                        \
  }

#define DEFINE_TILES(L, F, I)                                               \
  DEFINE_TILE (tile_1_##L##F##I, 1, L, F, I)                                \
  DEFINE_TILE (tile_2_##L##F##I, 2, L, F, I)                                \
  DEFINE_TILE (tile_3_##L##F##I, 3, L, F, I)                                \
  DEFINE_TILE (tile_4_##L##F##I, 4, L, F, I)

DEFINE_TILES (0, 0, 0)
DEFINE_TILES (0, 1, 0)
DEFINE_TILES (1, 0, 0)
DEFINE_TILES (1, 1, 0)
DEFINE_TILES (0, 0, 1)
DEFINE_TILES (0, 1, 1)
DEFINE_TILES (1, 0, 1)
DEFINE_TILES (1, 1, 1)

#define TILE_ROW(L, F, I)                                                   \
  { tile_1_##L##F##I, tile_2_##L##F##I, tile_3_##L##F##I, tile_4_##L##F##I }

/* tiles[lut][fast][inside][blocks - 1] */
static const tile_fn tiles[2][2][2][CHUNK_MAX] = {
  { { TILE_ROW (0, 0, 0), TILE_ROW (0, 0, 1) },
    { TILE_ROW (0, 1, 0), TILE_ROW (0, 1, 1) } },
  { { TILE_ROW (1, 0, 0), TILE_ROW (1, 0, 1) },
    { TILE_ROW (1, 1, 0), TILE_ROW (1, 1, 1) } },
};

void
q8_s8_dwconv2d_requant__avx512vnni (const q8_conv_params *p,
                                    const void *packed, const int8_t *in,
                                    int8_t *out, int32_t y0, int32_t y1)
{
  q8_dw_layout l = get_layout (p);
  const int32_t *wp = packed;
  const blk_consts *kc = (const blk_consts *) ((const uint8_t *) packed
                                               + l.w_bytes);
  int8_t zp_buf[Q8_DW_ZP_BYTES] __attribute__ ((aligned (64)));
  const int8_t *ptr[ACCS * Q8_DW_MAX_TAPS];
  q8_dw_rows rows;
  q8_dw_rows_init (&rows, p, zp_buf);

  epilogue e;
  e.zp64 = _mm512_set1_epi64 (p->out_zp);
  e.act_min = _mm512_set1_epi8 ((char) p->act_min);
  e.act_max = _mm512_set1_epi8 ((char) p->act_max);
  q8_lut64_load (&e.lut, p->lut);
  const tile_fn (*fns)[CHUNK_MAX] = tiles[p->lut != NULL]
                                          [q8_conv_short_requant (p)];

  /* Strips of ACCS pixels of one output row: their tap addresses are
   * computed once and serve every chunk, whose tiles of ACCS / cb pixels
   * divide the strip. */
  for (int32_t oy = y0; oy < y1; oy++) {
    q8_dw_rows_set (&rows, in, oy);
    int8_t *orow = out + (size_t) oy * p->out_w * p->out_c;
    for (int32_t ox = 0; ox < p->out_w; ox += ACCS) {
      int nvalid = p->out_w - ox < ACCS ? p->out_w - ox : ACCS;
      q8_dw_src src;
      q8_dw_strip (&rows, ox, ACCS, nvalid, ptr, &src);
      const tile_fn *f = fns[src.base != NULL];
      for (int32_t blk0 = 0; blk0 < l.nb; blk0 += CHUNK_MAX) {
        int32_t cb = l.nb - blk0 < CHUNK_MAX ? l.nb - blk0 : CHUNK_MAX;
        int nt = ACCS / cb;
        for (int j0 = 0; j0 < nvalid; j0 += nt) {
          q8_dw_src s = q8_dw_src_at (&src, j0);
          f[cb - 1] (p, wp, kc, l.taps, blk0, &s,
                     nvalid - j0 < nt ? nvalid - j0 : nt,
                     orow + (size_t) (ox + j0) * p->out_c, &e);
        }
      }
    }
  }
}
