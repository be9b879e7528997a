/* q8_u8_l2nn__avx512vnni.c - nearest neighbour by squared Euclidean
 * distance over uint8 vectors with AVX-512BW (the AVX-512 VNNI path's
 * baseline), 4 queries at a time.  The queries are widened to int16 once
 * per call (on the stack), so the inner loop widens only the bank: each
 * 32 bytes of a bank row is widened once and subtracted from all 4
 * queries, the differences squared and pair-summed by vpmaddwd into 16
 * int32 lanes per query (the queries left over one at a time); the last
 * c % 32 bytes by masked loads (zero in both, so they add nothing).
 * Integer sums: the scalar kernel's result exactly. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline __m512i
load32 (const uint8_t *p, __mmask32 m)
{
  return _mm512_cvtepu8_epi16 (_mm256_maskz_loadu_epi8 (m, p));
}

static inline __m512i
sqdiff32 (__m512i acc, const int16_t *x, __m512i bv, __mmask32 m)
{
  __m512i d = _mm512_sub_epi16 (_mm512_maskz_loadu_epi16 (m, x), bv);
  return _mm512_add_epi32 (acc, _mm512_madd_epi16 (d, d));
}

static inline uint32_t
min_u32 (uint32_t a, uint32_t b)
{
  return a < b ? a : b;
}

static inline uint32_t
hsum (__m512i v)
{
  return (uint32_t) _mm512_reduce_add_epi32 (v);
}

/* m queries (widened, c elements each, m * c <= Q8_L2NN_WIDE_MAX)
 * against the n rows. */
static void
search (size_t n, size_t c, size_t m, const int16_t *xw, const uint8_t *bank,
        uint32_t *best)
{
  const size_t c32 = c & ~(size_t) 31;
  const __mmask32 all = 0xffffffffu;
  const __mmask32 tail = (__mmask32) ((1ull << (c - c32)) - 1);
  size_t j = 0;
  for (; j + 4 <= m; j += 4) {
    const int16_t *x0 = xw + j * c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
    uint32_t m0 = best[j], m1 = best[j + 1], m2 = best[j + 2],
             m3 = best[j + 3];
    for (size_t i = 0; i < n; i++) {
      const uint8_t *b = bank + i * c;
      __m512i a0 = _mm512_setzero_si512 (), a1 = a0, a2 = a0, a3 = a0;
      for (size_t k = 0; k < c32; k += 32) {
        __m512i bv = load32 (b + k, all);
        a0 = sqdiff32 (a0, x0 + k, bv, all);
        a1 = sqdiff32 (a1, x1 + k, bv, all);
        a2 = sqdiff32 (a2, x2 + k, bv, all);
        a3 = sqdiff32 (a3, x3 + k, bv, all);
      }
      if (tail != 0) {
        __m512i bv = load32 (b + c32, tail);
        a0 = sqdiff32 (a0, x0 + c32, bv, tail);
        a1 = sqdiff32 (a1, x1 + c32, bv, tail);
        a2 = sqdiff32 (a2, x2 + c32, bv, tail);
        a3 = sqdiff32 (a3, x3 + c32, bv, tail);
      }
      m0 = min_u32 (m0, hsum (a0));
      m1 = min_u32 (m1, hsum (a1));
      m2 = min_u32 (m2, hsum (a2));
      m3 = min_u32 (m3, hsum (a3));
    }
    best[j] = m0;
    best[j + 1] = m1;
    best[j + 2] = m2;
    best[j + 3] = m3;
  }
  for (; j < m; j++) {
    const int16_t *x0 = xw + j * c;
    uint32_t m0 = best[j];
    for (size_t i = 0; i < n; i++) {
      const uint8_t *b = bank + i * c;
      __m512i a0 = _mm512_setzero_si512 ();
      for (size_t k = 0; k < c32; k += 32)
        a0 = sqdiff32 (a0, x0 + k, load32 (b + k, all), all);
      if (tail != 0)
        a0 = sqdiff32 (a0, x0 + c32, load32 (b + c32, tail), tail);
      m0 = min_u32 (m0, hsum (a0));
    }
    best[j] = m0;
  }
}

void
q8_u8_l2nn__avx512vnni (size_t n, size_t c, size_t m,
                        const uint8_t *const *x, const uint8_t *bank,
                        uint32_t *best)
{
  if (c > Q8_L2NN_WIDE_MAX) {
    q8_u8_l2nn__scalar (n, c, m, x, bank, best);
    return;
  }
  q8_l2nn_in_turns (n, c, m, x, bank, best, search);
}
