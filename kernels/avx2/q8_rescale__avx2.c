/* q8_rescale__avx2.c - rule S rescale (ARITHMETIC.md, QUANTIZE, DEQUANTIZE,
 * CONCAT) 32 values at a time when the block is contiguous (quantize and
 * dequantize); strided blocks (concat) go to the scalar reference.  Same
 * int32 products, rounding and shift as the reference: bit-identical. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline __m256i
load8 (const uint8_t *x, int u8)
{
  __m128i v = _mm_loadl_epi64 ((const __m128i *) x);
  return u8 ? _mm256_cvtepu8_epi32 (v) : _mm256_cvtepi8_epi32 (v);
}

void
q8_rescale__avx2 (size_t pixels, size_t c, const void *x, size_t x_stride,
                  void *y, size_t y_stride, const q8_rescale_params *p)
{
  if (x_stride != c || y_stride != c) {
    q8_rescale__scalar (pixels, c, x, x_stride, y, y_stride, p);
    return;
  }
  const size_t n = pixels * c;
  const uint8_t *xb = x;
  uint8_t *yb = y;
  const __m256i x_zp = _mm256_set1_epi32 (p->x_zp);
  const __m256i m = _mm256_set1_epi32 (p->mult);
  const __m256i round = _mm256_set1_epi32 (1 << (p->shift - 1));
  const __m128i shift = _mm_cvtsi32_si128 (p->shift);
  const __m256i y_zp = _mm256_set1_epi32 (p->y_zp);
  const __m256i lo = _mm256_set1_epi32 (p->y_u8 ? 0 : -128);
  const __m256i hi = _mm256_set1_epi32 (p->y_u8 ? 255 : 127);
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i r[4];
    for (int k = 0; k < 4; k++) {
      __m256i d = _mm256_sub_epi32 (load8 (xb + i + 8 * k, p->x_u8), x_zp);
      __m256i v = _mm256_sra_epi32 (
          _mm256_add_epi32 (_mm256_mullo_epi32 (d, m), round), shift);
      v = _mm256_add_epi32 (v, y_zp);
      r[k] = _mm256_min_epi32 (_mm256_max_epi32 (v, lo), hi);
    }
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
