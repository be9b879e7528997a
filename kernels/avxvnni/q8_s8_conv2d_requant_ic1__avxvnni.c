/* q8_s8_conv2d_requant_ic1__avxvnni.c - convolutions of a 1-channel input
 * (the 5x5 1->64 first layer of ESPCN) with the 256-bit vpdpbusd,
 * output channels in lanes.
 *
 * q8_conv_ic1.h describes the groups across kernel rows (7 instead of 10
 * for 5x5) and the staged rows (already x + 128, so no XOR per
 * broadcast), and runs the rows.  Here a tile is N pixels x CB blocks of
 * 8 output channels (12 accumulators, as in the generic kernel
 * q8_s8_conv2d_requant__avxvnni.c), with the epilogue of
 * q8_requant_avx2.h.  Packed layout: q8_conv_ic1.h's with 8 lanes, chunks
 * of up to 4 blocks and q8_blk8_consts as constants (32-byte aligned).
 */
#include <immintrin.h>

#include "q8_conv_ic1.h"
#include "q8_kernels_simd.h"
#include "q8_requant_avx2.h"

#define CHUNK_MAX 4

static q8_ic1_layout
get_layout (const q8_conv_params *p)
{
  return q8_ic1_layout_get (p, 8, CHUNK_MAX, sizeof (q8_blk8_consts));
}

int
q8_s8_conv2d_accepts_ic1__avxvnni (const q8_conv_params *p)
{
  return q8_ic1_accepts (p);
}

size_t
q8_s8_conv2d_packed_size_ic1__avxvnni (const q8_conv_params *p)
{
  q8_ic1_layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

void
q8_s8_conv2d_pack_ic1__avxvnni (const q8_conv_params *p, const int8_t *w,
                                const int32_t *bias, void *packed)
{
  q8_ic1_layout l = get_layout (p);
  for (int32_t bi = 0; bi < l.nb; bi++)
    q8_blk8_consts_fill (q8_ic1_pack_block (&l, p, w, bi, packed), p, w,
                         bias, bi * 8, 128);
}

/* One group for N pixels: pixel j's 4 bytes at src + j * STEP, broadcast
 * against CB blocks of weights at wk. */
static Q8_ALWAYS_INLINE void
group (__m256i (*acc)[CHUNK_MAX], const int8_t *wk, const int8_t *src,
       const int STEP, const int CB, const int N)
{
  __m256i wv[CHUNK_MAX];
#pragma GCC unroll 4
  for (int b = 0; b < CB; b++)
    wv[b] = _mm256_load_si256 ((const __m256i *) (wk + b * 32));
#pragma GCC unroll 12
  for (int j = 0; j < N; j++) {
    int32_t x4;
    memcpy (&x4, src + STEP * j, 4);
    __m256i xu = _mm256_set1_epi32 (x4);
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm256_dpbusd_avx_epi32 (acc[j][b], xu, wv[b]);
  }
}

/* One tile: N pixels from column x of the staged rows, a chunk of CB
 * blocks from block blk0, stored at out (pixel 0 of the tile). */
static Q8_ALWAYS_INLINE void
tile (const q8_conv_params *p, const q8_ic1_layout *l,
      const q8_ic1_staged *s, const int8_t *wc, const q8_blk8_consts *kc,
      int32_t blk0, int32_t x, int nvalid, int8_t *out,
      const q8_epilogue8 *e, const int CB, const int N, const int LUT,
      const int SHORT)
{
  __m256i acc[Q8_IC1_TILE_MAX][CHUNK_MAX];
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = q8_load8 (kc[b].bias);

  const int8_t *wk = wc;
  for (int32_t ky = 0; ky < p->kh; ky++) {
    const int8_t *row = s->r + (size_t) ky * s->rs + x;
    for (int32_t g = 0; g < l->nd; g++, wk += CB * 32)
      group (acc, wk, row + 4 * g, 1, CB, N);
  }
  for (int32_t q = 0; q < l->ncross; q++, wk += CB * 32)
    group (acc, wk, s->cr + (size_t) q * s->cs + (size_t) x * 4, 4, CB, N);

  int32_t n_oc = p->out_c - blk0 * 8 < CB * 8 ? p->out_c - blk0 * 8 : CB * 8;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
    if (j < nvalid)
      q8_conv_finish_pixel8 (acc[j], kc, e, p, blk0 * 8,
                             out + (size_t) j * p->out_c, n_oc, CB, LUT,
                             SHORT);
}

#define DEFINE_TILE(CB, N, LUT, S)                                          \
  static void                                                               \
  tile_##CB##_##LUT##_##S (const q8_conv_params *p,                         \
                           const q8_ic1_layout *l, const q8_ic1_staged *s,  \
                           const int8_t *wc, const void *kc, int32_t blk0,  \
                           int32_t x, int nvalid, int8_t *out,              \
                           const void *e)                                   \
  {                                                                         \
    tile (p, l, s, wc, kc, blk0, x, nvalid, out, e, CB, N, LUT, S);         \
  }
#define DEFINE_TILES(LUT, S)                                                \
  DEFINE_TILE (1, 12, LUT, S) DEFINE_TILE (2, 6, LUT, S)                    \
  DEFINE_TILE (3, 4, LUT, S) DEFINE_TILE (4, 3, LUT, S)

/* The scalar epilogue applies the table itself: no LUT variant. */
DEFINE_TILES (0, 0)
DEFINE_TILES (0, 1)
DEFINE_TILES (1, 1)

/* tiles[short][lut][blocks per chunk - 1] */
static const q8_ic1_tile_fn tiles[2][2][CHUNK_MAX] = {
  { { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 },
    { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 } },
  { { tile_1_0_1, tile_2_0_1, tile_3_0_1, tile_4_0_1 },
    { tile_1_1_1, tile_2_1_1, tile_3_1_1, tile_4_1_1 } },
};
static const int tile_pixels[CHUNK_MAX] = { 12, 6, 4, 3 };

void
q8_s8_conv2d_requant_ic1__avxvnni (const q8_conv_params *p,
                                   const void *packed, const int8_t *in,
                                   int8_t *out, int32_t y0, int32_t y1)
{
  q8_ic1_layout l = get_layout (p);
  q8_epilogue8 e;
  q8_epilogue8_init (&e, p);
  const int short_form = q8_conv_short_requant (p);
  q8_ic1_run (p, &l, packed, in, out, y0, y1,
              tiles[short_form][p->lut != NULL], tile_pixels, &e);
}
