/* q8_s8_conv2d_requant__avxvnni.c - int8 convolution with the 256-bit,
 * VEX-encoded vpdpbusd of AVX-VNNI (Alder Lake, Zen 5 and later; such CPUs
 * may lack AVX-512).
 *
 * Any convolution with groups = 1 whose padded span (kw * in_c rounded up
 * to 4, see q8_conv_spans.h) fits Q8_SPAN_MAX.  Output channels are cut
 * into blocks of 8 (one ymm of int32 accumulators each) and blocks into
 * chunks of up to four; a tile computes N output pixels of one chunk:
 *
 *   chunk of 1 block: 12 pixels,  2 blocks: 6,  3 blocks: 4,  4 blocks: 3
 *
 * (12 accumulators, the broadcast input, its 0x80 and the weights of the
 * smaller chunks in the 16 ymm registers; the larger chunks' weights are
 * memory operands of vpdpbusd).  For each kernel row and each group of 4
 * span bytes, a pixel's 4 input bytes are broadcast to all lanes and
 * multiplied with 8 output channels x 4 weights per block.
 *
 * vpdpbusd multiplies unsigned by signed bytes, so activations enter as
 * x + 128 (x ^ 0x80) and the packed bias is
 *   bias' = bias - (in_zp + 128) * sum(w),
 * which with padding read as in_zp gives exactly bias + sum (x - in_zp) * w.
 * The partial sums stay in int32 by ARITHMETIC.md's bound
 * (|bias| + 512 * sum|w| < 2^31), and vpdpbusd adds modulo 2^32 anyway, so
 * only the final, true accumulator matters.
 *
 * The epilogue is q8_requant_avx2.h's: rule R in its short form when every
 * shift allows it (real layers), else per output in scalar code; then the
 * clamp and the fused table.
 *
 * Packed layout (32-byte aligned): q8_conv_spans.h's q8_dot4_layout with
 * 8 lanes, chunks of up to 4 blocks and q8_blk8_consts as constants.
 * It depends on in_zp and the rule R pairs, which load time knows.
 */
#include <immintrin.h>

#include "q8_kernels_simd.h"
#include "q8_requant_avx2.h"

#define CHUNK_MAX 4

static q8_dot4_layout
get_layout (const q8_conv_params *p)
{
  return q8_dot4_layout_get (p, 8, CHUNK_MAX, sizeof (q8_blk8_consts));
}

int
q8_s8_conv2d_accepts__avxvnni (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 4) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__avxvnni (const q8_conv_params *p)
{
  q8_dot4_layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

void
q8_s8_conv2d_pack__avxvnni (const q8_conv_params *p, const int8_t *w,
                            const int32_t *bias, void *packed)
{
  q8_dot4_layout l = get_layout (p);
  for (int32_t bi = 0; bi < l.nb; bi++)
    q8_blk8_consts_fill (q8_dot4_pack_block (&l, p, w, bi, 0, -1, packed), p,
                         w, bias, bi * 8, 128);
}

/* One tile: N pixels from q, of a chunk of CB blocks starting at block
 * blk0.  CB, N, LUT and SHORT are constants after inlining, so the
 * accumulators live in registers. */
static Q8_ALWAYS_INLINE void
tile (const q8_span_ctx *sc, const int8_t *wc, const q8_blk8_consts *kc,
      int32_t groups, int32_t blk0, int64_t q, int nvalid, int8_t *out,
      const q8_epilogue8 *e, const int CB, const int N, const int LUT,
      const int SHORT)
{
  const q8_conv_params *p = sc->p;
  const __m256i x80 = _mm256_set1_epi8 ((char) 0x80);
  /* Fixed sizes: only [N][CB] is used, all with constant indices, so the
   * compiler keeps them in registers. */
  __m256i acc[12][CHUNK_MAX];
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];

  /* Accumulators start after the first call: nothing to save across it. */
  const int32_t kh = p->kh;
  int32_t ky0 = 0;
  int nky = kh < sc->rows ? kh : sc->rows;
  q8_span_rows (sc, q, N, nvalid, 0, nky, ptr);
#pragma GCC unroll 12
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = q8_load8 (kc[b].bias);

  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int8_t **pr = ptr + r * Q8_SPAN_TILE;
      const int8_t *wk = wc + (size_t) (ky0 + r) * groups * CB * 32;
      for (int32_t g = 0; g < groups; g++) {
        __m256i wv[CHUNK_MAX];
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
          wv[b] = _mm256_load_si256 ((const __m256i *) (wk + ((size_t) g * CB
                                                              + b) * 32));
#pragma GCC unroll 12
        for (int j = 0; j < N; j++) {
          int32_t x4;
          memcpy (&x4, pr[j] + 4 * g, 4);
          __m256i xu = _mm256_xor_si256 (_mm256_set1_epi32 (x4), x80);
#pragma GCC unroll 4
          for (int b = 0; b < CB; b++)
            acc[j][b] = _mm256_dpbusd_avx_epi32 (acc[j][b], xu, wv[b]);
        }
      }
    }
    ky0 += nky;
    if (ky0 >= kh)
      break;
    nky = kh - ky0 < sc->rows ? kh - ky0 : sc->rows;
    q8_span_rows (sc, q, N, nvalid, ky0, nky, ptr);
  }

  int32_t n_oc = p->out_c - blk0 * 8 < CB * 8 ? p->out_c - blk0 * 8 : CB * 8;
#pragma GCC unroll 12
  for (int j = 0; j < N; j++) {
    if (j < nvalid) {
      int8_t *o = out + (size_t) (q + j) * (size_t) p->out_c
                  + (size_t) blk0 * 8;
      q8_conv_finish_pixel8 (acc[j], kc, e, p, blk0 * 8, o, n_oc, CB, LUT,
                             SHORT);
    }
  }
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *wc,
                         const q8_blk8_consts *kc, int32_t groups,
                         int32_t blk0, int64_t q, int nvalid, int8_t *out,
                         const q8_epilogue8 *e);

#define DEFINE_TILE(NAME, CB, N, LUT, SHORT)                                \
  static void                                                               \
  NAME (const q8_span_ctx *sc, const int8_t *wc, const q8_blk8_consts *kc, \
        int32_t groups, int32_t blk0, int64_t q, int nvalid, int8_t *out,  \
        const q8_epilogue8 *e)                                              \
  {                                                                         \
    tile (sc, wc, kc, groups, blk0, q, nvalid, out, e, CB, N, LUT, SHORT);  \
  }

#define DEFINE_TILES(LUT, S)                                                \
  DEFINE_TILE (tile_1_##LUT##_##S, 1, 12, LUT, S)                           \
  DEFINE_TILE (tile_2_##LUT##_##S, 2, 6, LUT, S)                            \
  DEFINE_TILE (tile_3_##LUT##_##S, 3, 4, LUT, S)                            \
  DEFINE_TILE (tile_4_##LUT##_##S, 4, 3, LUT, S)

/* The scalar epilogue applies the table itself: no LUT variant. */
DEFINE_TILES (0, 0)
DEFINE_TILES (0, 1)
DEFINE_TILES (1, 1)

/* tiles[short][lut][blocks per chunk - 1] */
static const tile_fn tiles[2][2][CHUNK_MAX] = {
  { { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 },
    { tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 } },
  { { tile_1_0_1, tile_2_0_1, tile_3_0_1, tile_4_0_1 },
    { tile_1_1_1, tile_2_1_1, tile_3_1_1, tile_4_1_1 } },
};
static const int tile_pixels[CHUNK_MAX] = { 12, 6, 4, 3 };

void
q8_s8_conv2d_requant__avxvnni (const q8_conv_params *p, const void *packed,
                               const int8_t *in, int8_t *out, int32_t y0,
                               int32_t y1)
{
  q8_dot4_layout l = get_layout (p);
  int8_t zp_buf[Q8_SPAN_MAX] __attribute__ ((aligned (32)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (32)));
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 4, Q8_SPAN_TILE, zp_buf, edge_buf);

  q8_epilogue8 e;
  q8_epilogue8_init (&e, p);
  const int short_form = q8_conv_short_requant (p);
  const int has_lut = p->lut != NULL;

  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int32_t blk0 = 0; blk0 < l.nb; blk0 += l.cbmax) {
    const int8_t *wc;
    const void *kc;
    int32_t cb = q8_dot4_chunk (&l, p, packed, blk0, &wc, &kc);
    tile_fn fn = tiles[short_form][has_lut][cb - 1];
    int n = tile_pixels[cb - 1];
    for (int64_t q = q_begin; q < q_end; q += n) {
      int nvalid = q_end - q < n ? (int) (q_end - q) : n;
      fn (&sc, wc, kc, l.groups, blk0, q, nvalid, out, &e);
    }
  }
}
