/* q8_u8_l2nn__avx512vnni.c - nearest neighbour by squared Euclidean
 * distance over uint8 vectors with AVX-512BW (the AVX-512 VNNI path's
 * baseline), 4 bank rows at a time: 32 bytes of each widened to int16,
 * differences squared and pair-summed by vpmaddwd into 16 int32 lanes;
 * the last c % 32 bytes by masked loads (zero in both x and the row, so
 * they add nothing).  Integer sums: the scalar kernel's result exactly. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline __m512i
load32 (const uint8_t *p, __mmask32 m)
{
  return _mm512_cvtepu8_epi16 (_mm256_maskz_loadu_epi8 (m, p));
}

static inline __m512i
sqdiff32 (__m512i acc, __m512i xv, const uint8_t *b, __mmask32 m)
{
  __m512i d = _mm512_sub_epi16 (xv, load32 (b, m));
  return _mm512_add_epi32 (acc, _mm512_madd_epi16 (d, d));
}

uint32_t
q8_u8_l2nn__avx512vnni (size_t n, size_t c, const uint8_t *x,
                        const uint8_t *bank)
{
  const size_t c32 = c & ~(size_t) 31;
  const __mmask32 all = 0xffffffffu;
  const __mmask32 tail = (__mmask32) ((1ull << (c - c32)) - 1);
  const __m512i xt = load32 (x + c32, tail);
  uint32_t best = UINT32_MAX;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t *b0 = bank + i * c, *b1 = b0 + c, *b2 = b1 + c,
                  *b3 = b2 + c;
    __m512i a0 = _mm512_setzero_si512 (), a1 = a0, a2 = a0, a3 = a0;
    for (size_t k = 0; k < c32; k += 32) {
      __m512i xv = load32 (x + k, all);
      a0 = sqdiff32 (a0, xv, b0 + k, all);
      a1 = sqdiff32 (a1, xv, b1 + k, all);
      a2 = sqdiff32 (a2, xv, b2 + k, all);
      a3 = sqdiff32 (a3, xv, b3 + k, all);
    }
    if (tail != 0) {
      a0 = sqdiff32 (a0, xt, b0 + c32, tail);
      a1 = sqdiff32 (a1, xt, b1 + c32, tail);
      a2 = sqdiff32 (a2, xt, b2 + c32, tail);
      a3 = sqdiff32 (a3, xt, b3 + c32, tail);
    }
    uint32_t d0 = (uint32_t) _mm512_reduce_add_epi32 (a0);
    uint32_t d1 = (uint32_t) _mm512_reduce_add_epi32 (a1);
    uint32_t d2 = (uint32_t) _mm512_reduce_add_epi32 (a2);
    uint32_t d3 = (uint32_t) _mm512_reduce_add_epi32 (a3);
    d0 = d0 < d1 ? d0 : d1;
    d2 = d2 < d3 ? d2 : d3;
    d0 = d0 < d2 ? d0 : d2;
    best = d0 < best ? d0 : best;
  }
  for (; i < n; i++) {
    const uint8_t *b = bank + i * c;
    __m512i a = _mm512_setzero_si512 ();
    for (size_t k = 0; k < c32; k += 32)
      a = sqdiff32 (a, load32 (x + k, all), b + k, all);
    if (tail != 0)
      a = sqdiff32 (a, xt, b + c32, tail);
    uint32_t d = (uint32_t) _mm512_reduce_add_epi32 (a);
    best = d < best ? d : best;
  }
  return best;
}
