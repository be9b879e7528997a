/* q8_s8_add_requant__avx2.c - ADD (ARITHMETIC.md) 32 elements at a time in
 * int32 lanes: the same products, rounding term and arithmetic shift as
 * the scalar reference, so the result is bit-identical. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

/* Four vectors of 8 int32 in [-128, 127] to 32 int8 in order. */
static inline __m256i
pack_s8 (__m256i a, __m256i b, __m256i c, __m256i d)
{
  __m256i ab = _mm256_packs_epi32 (a, b), cd = _mm256_packs_epi32 (c, d);
  __m256i v = _mm256_packs_epi16 (ab, cd);
  return _mm256_permutevar8x32_epi32 (v, _mm256_setr_epi32 (0, 4, 1, 5, 2,
                                                             6, 3, 7));
}

void
q8_s8_add_requant__avx2 (size_t n, const int8_t *a, const int8_t *b,
                         int8_t *y, const q8_add_params *p)
{
  const __m256i a_zp = _mm256_set1_epi32 (p->a_zp);
  const __m256i b_zp = _mm256_set1_epi32 (p->b_zp);
  const __m256i a_m = _mm256_set1_epi32 (p->a_mult);
  const __m256i b_m = _mm256_set1_epi32 (p->b_mult);
  const __m256i round = _mm256_set1_epi32 (1 << (p->shift - 1));
  const __m128i shift = _mm_cvtsi32_si128 (p->shift);
  const __m256i y_zp = _mm256_set1_epi32 (p->y_zp);
  const __m256i lo = _mm256_set1_epi32 (p->act_min);
  const __m256i hi = _mm256_set1_epi32 (p->act_max);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i r[4];
    for (int k = 0; k < 4; k++) {
      __m256i va = _mm256_cvtepi8_epi32 (
          _mm_loadl_epi64 ((const __m128i *) (a + i + 8 * k)));
      __m256i vb = _mm256_cvtepi8_epi32 (
          _mm_loadl_epi64 ((const __m128i *) (b + i + 8 * k)));
      __m256i acc = _mm256_add_epi32 (
          _mm256_mullo_epi32 (_mm256_sub_epi32 (va, a_zp), a_m),
          _mm256_mullo_epi32 (_mm256_sub_epi32 (vb, b_zp), b_m));
      acc = _mm256_sra_epi32 (_mm256_add_epi32 (acc, round), shift);
      acc = _mm256_add_epi32 (acc, y_zp);
      r[k] = _mm256_min_epi32 (_mm256_max_epi32 (acc, lo), hi);
    }
    _mm256_storeu_si256 ((__m256i *) (y + i), pack_s8 (r[0], r[1], r[2],
                                                       r[3]));
  }
  if (i < n)
    q8_s8_add_requant__scalar (n - i, a + i, b + i, y + i, p);
}
