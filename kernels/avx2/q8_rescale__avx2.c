/* q8_rescale__avx2.c - rule S rescale (ARITHMETIC.md, QUANTIZE, DEQUANTIZE,
 * CONCAT) 32 values at a time when the block is contiguous (quantize and
 * dequantize); strided blocks (concat: each input's channels into a slice
 * of the output's) 8 channels at a time per pixel, the last c % 8 by the
 * scalar reference.  Same int32 products, rounding and shift as the
 * reference: bit-identical. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline __m256i
load8 (const uint8_t *x, int u8)
{
  __m128i v = _mm_loadl_epi64 ((const __m128i *) x);
  return u8 ? _mm256_cvtepu8_epi32 (v) : _mm256_cvtepi8_epi32 (v);
}

typedef struct {
  __m256i x_zp, m, round, y_zp, lo, hi;
  __m128i shift;
} rescale_consts;

/* Rule S on 8 values, clamped to the output type's range (int32 lanes). */
static inline __m256i
rescale8 (const uint8_t *x, int x_u8, const rescale_consts *k)
{
  __m256i d = _mm256_sub_epi32 (load8 (x, x_u8), k->x_zp);
  __m256i v = _mm256_sra_epi32 (
      _mm256_add_epi32 (_mm256_mullo_epi32 (d, k->m), k->round), k->shift);
  v = _mm256_add_epi32 (v, k->y_zp);
  return _mm256_min_epi32 (_mm256_max_epi32 (v, k->lo), k->hi);
}

/* Strided blocks: 8 channels of a pixel at a time, the loads and stores
 * within its c channels (the rest of an output pixel belongs to the other
 * inputs of a concat). */
static void
rescale_strided (size_t pixels, size_t c, const uint8_t *xb, size_t x_stride,
                 uint8_t *yb, size_t y_stride, const q8_rescale_params *p,
                 const rescale_consts *k)
{
  const size_t c8 = c & ~(size_t) 7;
  for (size_t i = 0; i < pixels; i++) {
    const uint8_t *xp = xb + i * x_stride;
    uint8_t *yp = yb + i * y_stride;
    for (size_t j = 0; j < c8; j += 8) {
      __m256i v = rescale8 (xp + j, p->x_u8, k);
      /* Clamped already: the packs only narrow. */
      __m128i w = _mm_packs_epi32 (_mm256_castsi256_si128 (v),
                                   _mm256_extracti128_si256 (v, 1));
      w = p->y_u8 ? _mm_packus_epi16 (w, w) : _mm_packs_epi16 (w, w);
      _mm_storel_epi64 ((__m128i *) (yp + j), w);
    }
    if (c8 < c)
      q8_rescale__scalar (1, c - c8, xp + c8, 1, yp + c8, 1, p);
  }
}

void
q8_rescale__avx2 (size_t pixels, size_t c, const void *x, size_t x_stride,
                  void *y, size_t y_stride, const q8_rescale_params *p)
{
  const uint8_t *xb = x;
  uint8_t *yb = y;
  const rescale_consts k = {
    .x_zp = _mm256_set1_epi32 (p->x_zp),
    .m = _mm256_set1_epi32 (p->mult),
    .round = _mm256_set1_epi32 (1 << (p->shift - 1)),
    .y_zp = _mm256_set1_epi32 (p->y_zp),
    .lo = _mm256_set1_epi32 (p->y_u8 ? 0 : -128),
    .hi = _mm256_set1_epi32 (p->y_u8 ? 255 : 127),
    .shift = _mm_cvtsi32_si128 (p->shift),
  };
  if (x_stride != c || y_stride != c) {
    if (c >= 8)
      rescale_strided (pixels, c, xb, x_stride, yb, y_stride, p, &k);
    else
      q8_rescale__scalar (pixels, c, x, x_stride, y, y_stride, p);
    return;
  }
  const size_t n = pixels * c;
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i r[4];
    for (int j = 0; j < 4; j++)
      r[j] = rescale8 (xb + i + 8 * j, p->x_u8, &k);
    /* Clamped already: the packs only narrow. */
    __m256i ab = _mm256_packs_epi32 (r[0], r[1]);
    __m256i cd = _mm256_packs_epi32 (r[2], r[3]);
    __m256i v = p->y_u8 ? _mm256_packus_epi16 (ab, cd)
                        : _mm256_packs_epi16 (ab, cd);
    _mm256_storeu_si256 ((__m256i *) (yb + i),
                         _mm256_permutevar8x32_epi32 (v, order));
  }
  if (i < n)
    q8_rescale__scalar (n - i, 1, xb + i, 1, yb + i, 1, p);
}
