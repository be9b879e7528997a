/* q8_s8_maxpool__avx2.c - MAXPOOL over NHWC int8 with 32 channels in the
 * lanes (ARITHMETIC.md): the maximum is exact, so the result is the scalar
 * reference's byte for byte.  The last chunk of a pixel loads a whole
 * vector, reading up to 31 bytes past its channels (within the tensor and
 * its Q8_EXTRA_BYTES tail), and stores only its own channels. */
#include <immintrin.h>
#include <string.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

void
q8_s8_maxpool__avx2 (const q8_pool_params *p, const int8_t *in, int8_t *out,
                     int32_t y0, int32_t y1)
{
  const size_t c = (size_t) p->c, row = (size_t) p->in_w * c;
  for (int32_t oy = y0; oy < y1; oy++) {
    int32_t iy0, iy1, ph;
    q8_pool_window (oy, p->stride_h, p->pad_top, p->pad_bottom, p->kh,
                    p->in_h, &iy0, &iy1, &ph);
    for (int32_t ox = 0; ox < p->out_w; ox++) {
      int32_t ix0, ix1, pw;
      q8_pool_window (ox, p->stride_w, p->pad_left, p->pad_right, p->kw,
                      p->in_w, &ix0, &ix1, &pw);
      int8_t *o = out + ((size_t) oy * p->out_w + ox) * c;
      for (size_t k = 0; k < c; k += 32) {
        __m256i m = _mm256_set1_epi8 (-128);
        for (int32_t iy = iy0; iy < iy1; iy++)
          for (int32_t ix = ix0; ix < ix1; ix++)
            m = _mm256_max_epi8 (m, _mm256_loadu_si256 (
                (const __m256i *) (in + (size_t) iy * row + (size_t) ix * c
                                   + k)));
        if (k + 32 <= c) {
          _mm256_storeu_si256 ((__m256i *) (o + k), m);
        } else {
          int8_t t[32];
          _mm256_storeu_si256 ((__m256i *) t, m);
          memcpy (o + k, t, c - k);
        }
      }
    }
  }
}
