/* q8_s8_dwconv2d_requant__avx2.c - depthwise int8 convolution with 8
 * channels per ymm (AVX2 vpmaddwd).
 *
 * Depthwise layers with multiplier 1 (groups = in_c = out_c; limits and
 * tap addressing in q8_dwconv_taps.h), any kernel size up to 64 taps,
 * stride, dilation and padding.  Channels are the lanes: per tap, 8 input
 * bytes of a pixel are sign-extended to int32 (vpmovsxbd) and vpmaddwd
 * multiplies them with weights packed as int32 lanes of w in the low
 * int16 and 0 in the high one: x * w + (sign of x) * 0 = x * w, exact.
 *
 * A tile is N pixels x CB blocks of 8 channels (N * CB = 8 accumulators,
 * with CB weight vectors and one input vector: 13 of the 16 ymm); per
 * tap the CB weight vectors serve the N pixels.  Pixels of one output row
 * go in strips of 8, whose taps (q8_dwconv_taps.h) serve all chunks.
 *
 * Accumulator bound: the packed bias is bias - in_zp * sum(w) (padding
 * taps read in_zp and contribute 0); with |x| <= 128 and |w| <= 127 every
 * partial sum stays below |bias| + 256 * sum|w| < |bias| + 512 * sum|w|
 * <= 2^31 - 1 (ARITHMETIC.md, checked by the loader): no int32 overflow.
 *
 * Epilogue: when every channel's rule R shift is in 33..54 (real layers),
 * the short form of q8_s8_conv2d_requant__avx512vnni.c's file comment in
 * 8 lanes (high halves of vpmuldq, one rounding constant with out_zp,
 * vpsravd), saturating packs to int8 (the clamp to [-128, 127] of the
 * exact value) and the activation clamp; otherwise the scalar
 * q8_requant_r per output, as the generic AVX2 kernel does.  A fused
 * table is looked up per byte (AVX2 has no 256-byte table lookup).
 *
 * Packed layout (32-byte aligned):
 *   int32 w[nb][kh * kw][8]     nb = ceil(c / 8) blocks; lanes past c hold 0
 *   consts[nb]                  (below)
 */
#include <immintrin.h>

#include "q8_conv_spans.h"
#include "q8_dwconv_taps.h"
#include "q8_kernels_simd.h"

#define CHUNK_MAX 4 /* blocks of 8 channels per tile */
#define ACCS 8      /* accumulators per tile: N = ACCS / CB pixels */

typedef struct {
  int32_t bias[8];       /* bias - in_zp * sum(w) */
  int32_t mult[8];
  int32_t fast_add[8];   /* short form: 2^(s-1) + out_zp * 2^s */
  int32_t fast_shift[8]; /* short form: s = shift - 32 */
} consts;

static q8_dw_layout
get_layout (const q8_conv_params *p)
{
  return q8_dw_layout_get (p, 8, 32);
}

int
q8_s8_dwconv2d_accepts__avx2 (const q8_conv_params *p)
{
  return q8_dw_accepts (p);
}

size_t
q8_s8_dwconv2d_packed_size__avx2 (const q8_conv_params *p)
{
  q8_dw_layout l = get_layout (p);
  return l.w_bytes + (size_t) l.nb * sizeof (consts);
}

void
q8_s8_dwconv2d_pack__avx2 (const q8_conv_params *p, const int8_t *w,
                           const int32_t *bias, void *packed)
{
  q8_dw_layout l = get_layout (p);
  int32_t *wp = packed;
  consts *k = (consts *) ((uint8_t *) packed + l.w_bytes);
  memset (k, 0, (size_t) l.nb * sizeof *k);
  for (int32_t b = 0; b < l.nb; b++)
    for (int32_t lane = 0; lane < 8; lane++) {
      int32_t c = b * 8 + lane;
      for (int32_t t = 0; t < l.taps; t++) {
        int32_t v = c < p->out_c ? w[(size_t) c * l.taps + t] : 0;
        wp[((size_t) b * l.taps + t) * 8 + lane] = (int32_t) (uint16_t) v;
      }
      if (c >= p->out_c)
        continue;
      int32_t s = p->shift[c] >= 33 && p->shift[c] <= 54
        ? p->shift[c] - 32 : 1; /* used only when all are in 33..54 */
      /* In int32 by the accumulator bound (|in_zp| <= 128 < 512). */
      k[b].bias[lane] = (int32_t) ((bias != NULL ? bias[c] : 0)
                                   - (int64_t) p->in_zp
                                     * q8_dw_weight_sum (p, w, c));
      k[b].mult[lane] = p->mult[c];
      k[b].fast_shift[lane] = s;
      k[b].fast_add[lane] = (int32_t) (((int64_t) 1 << (s - 1))
                                       + (int64_t) p->out_zp * (1 << s));
    }
}

/* The short form of rule R for 8 accumulators: outputs with out_zp added,
 * before saturation. */
static Q8_ALWAYS_INLINE __m256i
requant8_fast (__m256i acc, const consts *k)
{
  __m256i m = _mm256_load_si256 ((const __m256i *) k->mult);
  __m256i even = _mm256_mul_epi32 (acc, m);
  __m256i odd = _mm256_mul_epi32 (_mm256_srli_epi64 (acc, 32),
                                  _mm256_srli_epi64 (m, 32));
  /* Dword 2i: high half of even product i; 2i + 1: of odd one. */
  __m256i hi = _mm256_blend_epi32 (_mm256_srli_epi64 (even, 32), odd, 0xaa);
  hi = _mm256_add_epi32 (hi, _mm256_load_si256 ((const __m256i *)
                                                k->fast_add));
  return _mm256_srav_epi32 (hi, _mm256_load_si256 ((const __m256i *)
                                                   k->fast_shift));
}

/* N pixels (taps from s, q8_dwconv_taps.h) x CB blocks from block blk0;
 * pixels j >= nvalid are computed and dropped. */
static Q8_ALWAYS_INLINE void
tile (const q8_conv_params *p, const int32_t *wp, const consts *kc,
      int32_t taps, int32_t blk0, const q8_dw_src *s, int nvalid,
      int8_t *out, const int CB, const int N, const int FAST,
      const int INSIDE)
{
  __m256i acc[ACCS][CHUNK_MAX];
  const int8_t *bj[ACCS];
  const size_t off = (size_t) blk0 * 8;
#pragma GCC unroll 8
  for (int j = 0; j < N; j++)
    bj[j] = INSIDE ? s->base + (size_t) j * s->step + off : NULL;
#pragma GCC unroll 8
  for (int j = 0; j < N; j++)
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      acc[j][b] = _mm256_load_si256 ((const __m256i *) kc[blk0 + b].bias);

  for (int32_t t = 0; t < taps; t++) {
    __m256i wv[CHUNK_MAX];
#pragma GCC unroll 4
    for (int b = 0; b < CB; b++)
      wv[b] = _mm256_load_si256 ((const __m256i *) (
        wp + ((size_t) (blk0 + b) * taps + t) * 8));
#pragma GCC unroll 8
    for (int j = 0; j < N; j++) {
      const int8_t *x = q8_dw_tap (s, bj[j], j, t, off, INSIDE);
#pragma GCC unroll 4
      for (int b = 0; b < CB; b++) {
        __m256i xv = _mm256_cvtepi8_epi32 (
          _mm_loadl_epi64 ((const __m128i *) (x + 8 * b)));
        acc[j][b] = _mm256_add_epi32 (acc[j][b],
                                      _mm256_madd_epi16 (xv, wv[b]));
      }
    }
  }

  int32_t n_c = p->out_c - (int32_t) off < CB * 8
    ? p->out_c - (int32_t) off : CB * 8;
  const __m256i qmin = _mm256_set1_epi8 ((char) p->act_min);
  const __m256i qmax = _mm256_set1_epi8 ((char) p->act_max);
#pragma GCC unroll 8
  for (int j = 0; j < N; j++) {
    if (j >= nvalid)
      break;
    int8_t *o = out + j * (size_t) p->out_c + off;
    int8_t res[CHUNK_MAX * 8] __attribute__ ((aligned (32)));
    if (FAST) {
      /* vpackssdw / vpacksswb work within 128-bit halves: dword 4h + b of
       * the packed result holds lanes 4h..4h+3 of block b (h = 0, 1);
       * vpermd puts them back in channel order. */
      __m256i r[CHUNK_MAX];
#pragma GCC unroll 4
      for (int b = 0; b < CB; b++)
        r[b] = requant8_fast (acc[j][b], &kc[blk0 + b]);
#pragma GCC unroll 4
      for (int b = CB; b < CHUNK_MAX; b++)
        r[b] = r[0];
      __m256i v = _mm256_packs_epi16 (_mm256_packs_epi32 (r[0], r[1]),
                                      _mm256_packs_epi32 (r[2], r[3]));
      v = _mm256_permutevar8x32_epi32 (v, _mm256_setr_epi32 (0, 4, 1, 5, 2,
                                                             6, 3, 7));
      v = _mm256_min_epi8 (_mm256_max_epi8 (v, qmin), qmax);
      _mm256_store_si256 ((__m256i *) res, v);
    } else {
      int32_t a[CHUNK_MAX * 8] __attribute__ ((aligned (32)));
#pragma GCC unroll 4
      for (int b = 0; b < CB; b++)
        _mm256_store_si256 ((__m256i *) (a + 8 * b), acc[j][b]);
      for (int32_t k = 0; k < n_c; k++)
        res[k] = (int8_t) q8_requant_r (a[k], p->mult[off + k],
                                        p->shift[off + k], p->out_zp,
                                        p->act_min, p->act_max);
    }
    if (p->lut != NULL)
      for (int32_t k = 0; k < n_c; k++)
        o[k] = p->lut[res[k] + 128];
    else
      memcpy (o, res, (size_t) n_c);
  }
}

typedef void (*tile_fn) (const q8_conv_params *p, const int32_t *wp,
                         const consts *kc, int32_t taps, int32_t blk0,
                         const q8_dw_src *s, int nvalid, int8_t *out);

#define DEFINE_TILE(NAME, CB, FAST, IN)                                     \
  static void                                                               \
  NAME (const q8_conv_params *p, const int32_t *wp, const consts *kc,      \
        int32_t taps, int32_t blk0, const q8_dw_src *s, int nvalid,        \
        int8_t *out)                                                        \
  {                                                                         \
    tile (p, wp, kc, taps, blk0, s, nvalid, out, CB, ACCS / CB, FAST, IN); \
  }

#define DEFINE_TILES(F, I)                                                  \
  DEFINE_TILE (tile_1_##F##I, 1, F, I)                                      \
  DEFINE_TILE (tile_2_##F##I, 2, F, I)                                      \
  DEFINE_TILE (tile_3_##F##I, 3, F, I)                                      \
  DEFINE_TILE (tile_4_##F##I, 4, F, I)

DEFINE_TILES (0, 0)
DEFINE_TILES (0, 1)
DEFINE_TILES (1, 0)
DEFINE_TILES (1, 1)

/* tiles[fast][inside][blocks - 1] */
static const tile_fn tiles[2][2][CHUNK_MAX] = {
  { { tile_1_00, tile_2_00, tile_3_00, tile_4_00 },
    { tile_1_01, tile_2_01, tile_3_01, tile_4_01 } },
  { { tile_1_10, tile_2_10, tile_3_10, tile_4_10 },
    { tile_1_11, tile_2_11, tile_3_11, tile_4_11 } },
};

/* Non-zero if every channel's shift is in 33..54 (the short form). */
static int
short_requant (const q8_conv_params *p)
{
  for (int32_t c = 0; c < p->out_c; c++)
    if (p->shift[c] < 33 || p->shift[c] > 54)
      return 0;
  return 1;
}

void
q8_s8_dwconv2d_requant__avx2 (const q8_conv_params *p, const void *packed,
                              const int8_t *in, int8_t *out, int32_t y0,
                              int32_t y1)
{
  q8_dw_layout l = get_layout (p);
  const int32_t *wp = packed;
  const consts *kc = (const consts *) ((const uint8_t *) packed + l.w_bytes);
  int8_t zp_buf[Q8_DW_ZP_BYTES] __attribute__ ((aligned (32)));
  const int8_t *ptr[ACCS * Q8_DW_MAX_TAPS];
  q8_dw_rows rows;
  q8_dw_rows_init (&rows, p, zp_buf);
  const tile_fn (*fns)[CHUNK_MAX] = tiles[short_requant (p)];

  /* Strips of ACCS pixels of one output row: their tap addresses are
   * computed once and serve every chunk, whose tiles of ACCS / cb pixels
   * (8, 4, 2, 2) divide the strip. */
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
                     orow + (size_t) (ox + j0) * p->out_c);
        }
      }
    }
  }
}
