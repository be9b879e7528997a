/* q8_u8_l2nn__avx2.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors, 4 bank rows at a time: 16 bytes of each widened to
 * int16, differences squared and pair-summed by vpmaddwd into 8 int32
 * lanes.  The last c % 16 bytes are the final 16 of the row re-read with
 * the lanes already counted zeroed, so no scalar tail runs per row.
 * Integer sums: the result is the scalar kernel's exactly. */
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

/* acc + the squared differences of x and b's 16 bytes, lanes in keep. */
static inline __m256i
sqdiff16 (__m256i acc, __m256i xv, const uint8_t *b, __m256i keep)
{
  __m256i d = _mm256_and_si256 (_mm256_sub_epi16 (xv, load16 (b)), keep);
  return _mm256_add_epi32 (acc, _mm256_madd_epi16 (d, d));
}

static uint32_t
l2_small (size_t c, const uint8_t *x, const uint8_t *b)
{
  uint32_t d = 0;
  for (size_t k = 0; k < c; k++) {
    int32_t e = (int32_t) x[k] - (int32_t) b[k];
    d += (uint32_t) (e * e);
  }
  return d;
}

uint32_t
q8_u8_l2nn__avx2 (size_t n, size_t c, const uint8_t *x, const uint8_t *bank)
{
  uint32_t best = UINT32_MAX;
  if (c < 16) {
    for (size_t i = 0; i < n; i++) {
      uint32_t d = l2_small (c, x, bank + i * c);
      best = d < best ? d : best;
    }
    return best;
  }
  const size_t c16 = c & ~(size_t) 15, t = c - 16;
  /* Tail lanes j of the re-read block at t count if t + j >= c16. */
  const __m256i all = _mm256_set1_epi16 (-1);
  const __m256i lane = _mm256_setr_epi16 (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                          11, 12, 13, 14, 15);
  const __m256i tmask = _mm256_cmpgt_epi16 (
      lane, _mm256_set1_epi16 ((short) (c16 - t) - 1));
  const int has_tail = c16 < c;
  const __m256i xt = load16 (x + t);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const uint8_t *b0 = bank + i * c, *b1 = b0 + c, *b2 = b1 + c,
                  *b3 = b2 + c;
    __m256i a0 = _mm256_setzero_si256 (), a1 = a0, a2 = a0, a3 = a0;
    for (size_t k = 0; k < c16; k += 16) {
      __m256i xv = load16 (x + k);
      a0 = sqdiff16 (a0, xv, b0 + k, all);
      a1 = sqdiff16 (a1, xv, b1 + k, all);
      a2 = sqdiff16 (a2, xv, b2 + k, all);
      a3 = sqdiff16 (a3, xv, b3 + k, all);
    }
    if (has_tail) {
      a0 = sqdiff16 (a0, xt, b0 + t, tmask);
      a1 = sqdiff16 (a1, xt, b1 + t, tmask);
      a2 = sqdiff16 (a2, xt, b2 + t, tmask);
      a3 = sqdiff16 (a3, xt, b3 + t, tmask);
    }
    uint32_t d0 = hsum (a0), d1 = hsum (a1), d2 = hsum (a2), d3 = hsum (a3);
    d0 = d0 < d1 ? d0 : d1;
    d2 = d2 < d3 ? d2 : d3;
    d0 = d0 < d2 ? d0 : d2;
    best = d0 < best ? d0 : best;
  }
  for (; i < n; i++) {
    const uint8_t *b = bank + i * c;
    __m256i a = _mm256_setzero_si256 ();
    for (size_t k = 0; k < c16; k += 16)
      a = sqdiff16 (a, load16 (x + k), b + k, all);
    if (has_tail)
      a = sqdiff16 (a, xt, b + t, tmask);
    uint32_t d = hsum (a);
    best = d < best ? d : best;
  }
  return best;
}
