/* q8_s8_conv2d_requant__avx512vnni.c - int8 convolution with vpdpbusd.
 *
 * Any convolution with groups = 1 whose padded span (kw * in_c, see
 * q8_conv_spans.h) fits Q8_SPAN_MAX.  Output channels are cut into blocks
 * of 16 (one zmm of int32 accumulators each) and blocks into chunks of up
 * to four; a tile computes N output pixels of one chunk:
 *
 *   chunk of 1 block: 12 pixels,  2 blocks: 12,  3 blocks: 8,  4 blocks: 6
 *
 * (at most 24 accumulators and 12 input pointers, which fit the zmm and
 * general registers).  For each kernel row and each group of 4 span bytes,
 * a pixel's 4 input bytes are broadcast to all lanes and multiplied with
 * 16 output channels x 4 weights.
 *
 * vpdpbusd multiplies unsigned by signed bytes, so activations enter as
 * x + 128 (x ^ 0x80) and the packed bias is
 *   bias' = bias - (in_zp + 128) * sum(w),
 * which with padding read as in_zp gives exactly bias + sum (x - in_zp) * w.
 * The partial sums stay in int32 by ARITHMETIC.md's bound
 * (|bias| + 512 * sum|w| < 2^31), and vpdpbusd adds modulo 2^32 anyway, so
 * only the final, true accumulator matters.
 *
 * With fewer than 16 output channels (the last layer of ESPCN: r^2 = 4, 9)
 * a lane is free, and the "sum form" avoids the XOR per broadcast: the
 * weights become the unsigned operand (w + 128), the input bytes the
 * signed one, broadcast straight from memory, and lane 15 has weights 1 so
 * it accumulates sum(x); the epilogue subtracts 128 * sum(x).  Here
 * bias' = bias - in_zp * sum(w), and everything is exact modulo 2^32.
 *
 * Requantization is rule R in 64 bits (vpmuldq on even and odd lanes,
 * per-lane rounding constant and vpsravq), plus out_zp, then saturating
 * narrowing to int8, which equals the clamp of the exact value; so every
 * shift 1..62 is exact.  When every channel's shift r is in 33..54 (real
 * layers have r near 40), a cheaper form gives the same result: with
 * P = acc * M = hi * 2^32 + lo (lo unsigned) and s = r - 32 >= 1,
 *   floor ((P + 2^(r-1)) / 2^r) = floor ((hi + 2^(s-1)) / 2^s),
 * because lo / 2^32 < 1 cannot carry past an integer before the floor.
 * hi is the high half of vpmuldq, |hi| < 2^30 (|acc|, M < 2^31), and
 * out_zp * 2^s folds into the rounding constant c = 2^(s-1) + out_zp * 2^s
 * exactly (a multiple of 2^s), |c| < 2^30 for s <= 22, so hi + c cannot
 * overflow; one vpsrad then gives the output before saturation, and
 * vpackssdw / vpacksswb saturate it to int8 exactly.  Then the activation clamp, and a fused table with
 * vpermi2b (VBMI), once per pixel on up to 64 channels.
 *
 * Packed layout (64-byte aligned; q8_conv_spans.h's q8_dot4_layout), chunk
 * after chunk; a chunk of cb blocks:
 *   int8  w[kh][G][cb][16 lanes][4]    G = span_pad / 4, zero padded
 *         (in the sum form: uint8 w + 128, and lane 15 all 1)
 *   then cb x blk_consts (below)
 * It depends on in_zp and the rule R pairs, which load time knows.
 */
#include <immintrin.h>

#include "q8_conv_avx512vnni.h"
#include "q8_kernels_simd.h"

#define CHUNK_MAX 4
#define SUM_TILE 12
static q8_dot4_layout
get_layout (const q8_conv_params *p)
{
  return q8_dot4_layout_get (p, 16, CHUNK_MAX, sizeof (blk_consts));
}

/* The sum-lane form (file comment). */
static int
sum_form (const q8_conv_params *p)
{
  return p->out_c < 16;
}

int
q8_s8_conv2d_accepts__avx512vnni (const q8_conv_params *p)
{
  return p->groups == 1 && q8_span_padded (p, 4) <= Q8_SPAN_MAX;
}

size_t
q8_s8_conv2d_packed_size__avx512vnni (const q8_conv_params *p)
{
  q8_dot4_layout l = get_layout (p);
  return (size_t) l.nb * l.blk_bytes;
}

void
q8_s8_conv2d_pack__avx512vnni (const q8_conv_params *p, const int8_t *w,
                               const int32_t *bias, void *packed)
{
  q8_dot4_layout l = get_layout (p);
  int sum = sum_form (p);
  for (int32_t bi = 0; bi < l.nb; bi++) {
    /* In the sum form the weights are the unsigned operand. */
    blk_consts *k = q8_dot4_pack_block (&l, p, w, bi, sum ? 128 : 0,
                                        sum ? 15 : -1, packed);
    q8_blk_consts_fill (k, p, w, bias, bi * 16, sum ? 0 : 128);
  }
}

/* One tile: N pixels from q, of a chunk of CB blocks starting at block
 * blk0.  CB and N are constants after inlining, so the accumulators live
 * in registers. */
static Q8_ALWAYS_INLINE void
tile (const q8_span_ctx *sc, const int8_t *wc, const blk_consts *kc,
      int32_t groups, int32_t blk0, int64_t q, int nvalid, int8_t *out,
      const epilogue *e, const int CB, const int N, const int LUT,
      const int SUM, const int FAST)
{
  const q8_conv_params *p = sc->p;
  const __m512i x80 = _mm512_set1_epi8 ((char) 0x80);
  /* Fixed sizes: only [N][CB] is used, all with constant indices, so the
   * compiler keeps them in registers. */
  __m512i acc[Q8_SPAN_TILE][CHUNK_MAX];
  const int8_t *ptr[Q8_SPAN_ROWS * Q8_SPAN_TILE];

  /* Accumulators start after the first call: nothing to save across it. */
  const int32_t kh = p->kh;
  int32_t ky0 = 0;
  int nky = kh < sc->rows ? kh : sc->rows;
  q8_span_rows (sc, q, N, nvalid, 0, nky, ptr);
#pragma GCC unroll 16
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm512_load_si512 (kc[b].bias);

  for (;;) {
    for (int r = 0; r < nky; r++) {
      const int8_t **pr = ptr + r * Q8_SPAN_TILE;
      const int8_t *wk = wc + (size_t) (ky0 + r) * groups * CB * 64;
      for (int32_t g = 0; g < groups; g++) {
        __m512i wv[CHUNK_MAX];
#pragma GCC unroll 4
        for (int b = 0; b < CB; b++)
          wv[b] = _mm512_load_si512 (wk + ((size_t) g * CB + b) * 64);
#pragma GCC unroll 16
        for (int j = 0; j < N; j++) {
          if (SUM) {
            /* The signed operand broadcast straight from memory (GCC does
             * not fold the broadcast into vpdpbusd by itself). */
            __asm__ ("vpdpbusd %2%{1to16%}, %1, %0"
                     : "+v" (acc[j][0])
                     : "v" (wv[0]), "m" (*(const int32_t *) (pr[j] + 4 * g)));
          } else {
            int32_t x4;
            memcpy (&x4, pr[j] + 4 * g, 4);
            __m512i xu = _mm512_xor_si512 (_mm512_set1_epi32 (x4), x80);
#pragma GCC unroll 4
            for (int b = 0; b < CB; b++)
              acc[j][b] = _mm512_dpbusd_epi32 (acc[j][b], xu, wv[b]);
          }
        }
      }
    }
    ky0 += nky;
    if (ky0 >= kh)
      break;
    nky = kh - ky0 < sc->rows ? kh - ky0 : sc->rows;
    q8_span_rows (sc, q, N, nvalid, ky0, nky, ptr);
  }

  /* One pixel's CB blocks side by side in a zmm: clamp, table and a
   * single store (masked to the channels that exist). */
  int32_t oc_left = p->out_c - blk0 * 16;
  __mmask64 m = oc_left >= 64 ? ~(__mmask64) 0
                              : ((__mmask64) 1 << oc_left) - 1;
#pragma GCC unroll 16
  for (int j = 0; j < N; j++) {
    if (j < nvalid) {
      if (SUM) {
        /* Lane 15 holds sum(x): remove the 128 * sum(x) of w + 128. */
        __m512i sx = _mm512_permutexvar_epi32 (_mm512_set1_epi32 (15),
                                               acc[j][0]);
        acc[j][0] = _mm512_sub_epi32 (acc[j][0], _mm512_slli_epi32 (sx, 7));
      }
      int8_t *o = out + (size_t) (q + j) * (size_t) p->out_c
                  + (size_t) blk0 * 16;
      q8_conv_store_pixel (acc[j], kc, e, o, m, CB, LUT, FAST);
    }
  }
}

typedef void (*tile_fn) (const q8_span_ctx *sc, const int8_t *wc,
                         const blk_consts *kc, int32_t groups, int32_t blk0,
                         int64_t q, int nvalid, int8_t *out,
                         const epilogue *e);

#define DEFINE_TILE(NAME, CB, N, LUT, SUM, FAST)                           \
  static void                                                               \
  NAME (const q8_span_ctx *sc, const int8_t *wc, const blk_consts *kc,     \
        int32_t groups, int32_t blk0, int64_t q, int nvalid, int8_t *out,  \
        const epilogue *e)                                                  \
  {                                                                         \
    tile (sc, wc, kc, groups, blk0, q, nvalid, out, e, CB, N, LUT, SUM,     \
          FAST);                                                            \
  }

#define DEFINE_TILES(F)                                                     \
  DEFINE_TILE (tile_1_0_##F, 1, 12, 0, 0, F)                                \
  DEFINE_TILE (tile_2_0_##F, 2, 12, 0, 0, F)                                \
  DEFINE_TILE (tile_3_0_##F, 3, 8, 0, 0, F)                                 \
  DEFINE_TILE (tile_4_0_##F, 4, 6, 0, 0, F)                                 \
  DEFINE_TILE (tile_1_1_##F, 1, 12, 1, 0, F)                                \
  DEFINE_TILE (tile_2_1_##F, 2, 12, 1, 0, F)                                \
  DEFINE_TILE (tile_3_1_##F, 3, 8, 1, 0, F)                                 \
  DEFINE_TILE (tile_4_1_##F, 4, 6, 1, 0, F)                                 \
  DEFINE_TILE (tile_sum_0_##F, 1, SUM_TILE, 0, 1, F)                        \
  DEFINE_TILE (tile_sum_1_##F, 1, SUM_TILE, 1, 1, F)

DEFINE_TILES (0)
DEFINE_TILES (1)

/* tiles[fast][lut][blocks per chunk, 0 = the sum form] */
static const tile_fn tiles[2][2][CHUNK_MAX + 1] = {
  { { tile_sum_0_0, tile_1_0_0, tile_2_0_0, tile_3_0_0, tile_4_0_0 },
    { tile_sum_1_0, tile_1_1_0, tile_2_1_0, tile_3_1_0, tile_4_1_0 } },
  { { tile_sum_0_1, tile_1_0_1, tile_2_0_1, tile_3_0_1, tile_4_0_1 },
    { tile_sum_1_1, tile_1_1_1, tile_2_1_1, tile_3_1_1, tile_4_1_1 } },
};
static const int tile_pixels[CHUNK_MAX + 1] = { SUM_TILE, 12, 12, 8, 6 };

void
q8_s8_conv2d_requant__avx512vnni (const q8_conv_params *p, const void *packed,
                                  const int8_t *in, int8_t *out, int32_t y0,
                                  int32_t y1)
{
  q8_dot4_layout l = get_layout (p);
  int sum = sum_form (p);
  int8_t zp_buf[Q8_SPAN_MAX] __attribute__ ((aligned (64)));
  int8_t edge_buf[Q8_SPAN_BUF] __attribute__ ((aligned (64)));
  q8_span_ctx sc;
  q8_span_init (&sc, p, in, 4, Q8_SPAN_TILE, zp_buf, edge_buf);

  epilogue e;

  e.zp64 = _mm512_set1_epi64 (p->out_zp);
  e.act_min = _mm512_set1_epi8 ((char) p->act_min);
  e.act_max = _mm512_set1_epi8 ((char) p->act_max);
  const int has_lut = p->lut != NULL;
  q8_lut64_load (&e.lut, p->lut);

  const int fast = q8_conv_short_requant (p);
  int64_t q_begin = (int64_t) y0 * p->out_w, q_end = (int64_t) y1 * p->out_w;
  for (int32_t blk0 = 0; blk0 < l.nb; blk0 += l.cbmax) {
    const int8_t *wc;
    const void *kc;
    int32_t cb = q8_dot4_chunk (&l, p, packed, blk0, &wc, &kc);
    int kind = sum ? 0 : cb;
    tile_fn fn = tiles[fast][has_lut][kind];
    int n = tile_pixels[kind];
    for (int64_t q = q_begin; q < q_end; q += n) {
      int nvalid = q_end - q < n ? (int) (q_end - q) : n;
      fn (&sc, wc, kc, l.groups, blk0, q, nvalid, out, &e);
    }
  }
}
