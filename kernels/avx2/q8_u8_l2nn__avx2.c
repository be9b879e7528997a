/* q8_u8_l2nn__avx2.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors, 4 queries at a time.  The queries are widened to
 * int16 once per call (on the stack), so the inner loop widens only the
 * bank: each 16 bytes of a bank row is widened once and subtracted from
 * all 4 queries, the differences squared and pair-summed by vpmaddwd into
 * 8 int32 lanes per query (the queries left over one at a time).  The last
 * c % 16 bytes are the final 16 of the row re-read with the lanes already
 * counted zeroed, so no scalar tail runs per row.  Integer sums: the
 * result is the scalar kernel's exactly. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline uint32_t
hsum (__m256i v)
{
  __m128i s = _mm_add_epi32 (_mm256_castsi256_si128 (v),
                             _mm256_extracti128_si256 (v, 1));
  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (1, 0, 3, 2)));
  s = _mm_add_epi32 (s, _mm_shuffle_epi32 (s, _MM_SHUFFLE (2, 3, 0, 1)));
  return (uint32_t) _mm_cvtsi128_si32 (s);
}

static inline __m256i
load16 (const uint8_t *p)
{
  return _mm256_cvtepu8_epi16 (_mm_loadu_si128 ((const __m128i *) p));
}

/* acc + the squared differences of the widened x and bv, lanes in keep. */
static inline __m256i
sqdiff16 (__m256i acc, const int16_t *x, __m256i bv, __m256i keep)
{
  __m256i xv = _mm256_loadu_si256 ((const __m256i *) x);
  __m256i d = _mm256_and_si256 (_mm256_sub_epi16 (xv, bv), keep);
  return _mm256_add_epi32 (acc, _mm256_madd_epi16 (d, d));
}

static inline uint32_t
min_u32 (uint32_t a, uint32_t b)
{
  return a < b ? a : b;
}

/* m queries (widened, c elements each, m * c <= Q8_L2NN_WIDE_MAX)
 * against the n rows; c >= 16. */
static void
search (size_t n, size_t c, size_t m, const int16_t *xw, const uint8_t *bank,
        uint32_t *best)
{
  const size_t c16 = c & ~(size_t) 15, t = c - 16;
  /* Tail lanes j of the re-read block at t count if t + j >= c16. */
  const __m256i all = _mm256_set1_epi16 (-1);
  const __m256i lane = _mm256_setr_epi16 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                          11, 12, 13, 14, 15);
  const __m256i tmask = _mm256_cmpgt_epi16 (
      lane, _mm256_set1_epi16 ((short) (c16 - t) - 1));
  const int has_tail = c16 < c;
  size_t j = 0;
  for (; j + 4 <= m; j += 4) {
    const int16_t *x0 = xw + j * c, *x1 = x0 + c, *x2 = x1 + c, *x3 = x2 + c;
    uint32_t m0 = best[j], m1 = best[j + 1], m2 = best[j + 2],
             m3 = best[j + 3];
    for (size_t i = 0; i < n; i++) {
      const uint8_t *b = bank + i * c;
      __m256i a0 = _mm256_setzero_si256 (), a1 = a0, a2 = a0, a3 = a0;
      for (size_t k = 0; k < c16; k += 16) {
        __m256i bv = load16 (b + k);
        a0 = sqdiff16 (a0, x0 + k, bv, all);
        a1 = sqdiff16 (a1, x1 + k, bv, all);
        a2 = sqdiff16 (a2, x2 + k, bv, all);
        a3 = sqdiff16 (a3, x3 + k, bv, all);
      }
      if (has_tail) {
        __m256i bv = load16 (b + t);
        a0 = sqdiff16 (a0, x0 + t, bv, tmask);
        a1 = sqdiff16 (a1, x1 + t, bv, tmask);
        a2 = sqdiff16 (a2, x2 + t, bv, tmask);
        a3 = sqdiff16 (a3, x3 + t, bv, tmask);
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
      __m256i a0 = _mm256_setzero_si256 ();
      for (size_t k = 0; k < c16; k += 16)
        a0 = sqdiff16 (a0, x0 + k, load16 (b + k), all);
      if (has_tail)
        a0 = sqdiff16 (a0, x0 + t, load16 (b + t), tmask);
      m0 = min_u32 (m0, hsum (a0));
    }
    best[j] = m0;
  }
}

void
q8_u8_l2nn__avx2 (size_t n, size_t c, size_t m, const uint8_t *const *x,
                  const uint8_t *bank, uint32_t *best)
{
  if (c < 16 || c > Q8_L2NN_WIDE_MAX) {
    q8_u8_l2nn__scalar (n, c, m, x, bank, best);
    return;
  }
  q8_l2nn_in_turns (n, c, m, x, bank, best, search);
}
