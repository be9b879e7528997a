/* q8_s8_conv2d_requant_ic1__avx512vnni.c - convolutions of a 1-channel
 * input (the 5x5 1->64 first layer of ESPCN), output channels in lanes.
 *
 * q8_conv_ic1.h describes the groups across kernel rows (7 instead of 10
 * for 5x5) and the staged rows, and runs the rows.  Here a tile is N
 * pixels x CB blocks of 16 output channels, as in the generic kernel
 * (q8_s8_conv2d_requant__avx512vnni.c), whose rule R epilogue it shares
 * (q8_conv_avx512vnni.h).  Packed layout: q8_conv_ic1.h's with 16 lanes,
 * chunks of up to 4 blocks and blk_consts as constants (64-byte aligned).
 */
#include <immintrin.h>

#include "q8_conv_avx512vnni.h"
#include "q8_conv_ic1.h"
#include "q8_kernels_simd.h"

#define CHUNK_MAX 4

static q8_ic1_layout
get_layout (const q8_conv_params *p)
{
  return q8_ic1_layout_get (p, 16, CHUNK_MAX, sizeof (blk_consts));
}

int
q8_s8_conv2d_accepts_ic1__avx512vnni (const q8_conv_params *p)
{
  return q8_ic1_accepts (p);
}

size_t
q8_s8_conv2d_packed_size_ic1__avx512vnni (const q8_conv_params *p)
{
  q8_ic1_layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

void
q8_s8_conv2d_pack_ic1__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                   const int32_t *bias, void *packed)
{
  q8_ic1_layout l = get_layout (p);
  for (int32_t bi = 0; bi < l.nb; bi++)
    q8_blk_consts_fill (q8_ic1_pack_block (&l, p, w, bi, packed), p, w, bias,
                        bi * 16, 128);
}

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
tile (const q8_conv_params *p, const q8_ic1_layout *l,
      const q8_ic1_staged *s, const int8_t *wc, const blk_consts *kc,
      int32_t blk0, int32_t x, int nvalid, int8_t *out, const epilogue *e,
      const int CB, const int N, const int LUT, const int FAST)
{
  __m512i acc[Q8_IC1_TILE_MAX][CHUNK_MAX];
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

#define DEFINE_TILE(CB, N, LUT, FAST)                                       \
  static void                                                               \
  tile_##CB##_##LUT##_##FAST (const q8_conv_params *p,                      \
                              const q8_ic1_layout *l,                       \
                              const q8_ic1_staged *s, const int8_t *wc,     \
                              const void *kc, int32_t blk0, int32_t x,      \
                              int nvalid, int8_t *out, const void *e)       \
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
static const q8_ic1_tile_fn tiles[2][2][CHUNK_MAX] = {
  { { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 },
    { tile_1_1_0, tile_2_1_0, tile_3_1_0, tile_4_1_0 } },
  { { tile_1_0_1, tile_2_0_1, tile_3_0_1, tile_4_0_1 },
    { tile_1_1_1, tile_2_1_1, tile_3_1_1, tile_4_1_1 } },
};
static const int tile_pixels[CHUNK_MAX] = { 12, 12, 8, 6 };

void
q8_s8_conv2d_requant_ic1__avx512vnni (const q8_conv_params *p,
                                      const void *packed, const int8_t *in,
                                      int8_t *out, int32_t y0, int32_t y1)
{
  q8_ic1_layout l = get_layout (p);
  epilogue e;
  e.zp64 = _mm512_set1_epi64 (p->out_zp);
  e.act_min = _mm512_set1_epi8 ((char) p->act_min);
  e.act_max = _mm512_set1_epi8 ((char) p->act_max);
  q8_lut64_load (&e.lut, p->lut);
  const int fast = q8_conv_short_requant (p), has_lut = p->lut != NULL;
  q8_ic1_run (p, &l, packed, in, out, y0, y1, tiles[fast][has_lut],
              tile_pixels, &e);
}
