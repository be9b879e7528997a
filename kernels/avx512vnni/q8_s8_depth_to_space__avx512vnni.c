/* q8_s8_depth_to_space__avx512vnni.c - DepthToSpace (ARITHMETIC.md) with
 * vpermi2b (VBMI), output rows [y0, y1).
 *
 * Output row oy takes, from every input pixel of input row oy / B, the run
 * of B * OC bytes at offset (oy % B) * B * OC (DCR order, or CRD with
 * OC == 1: see the scalar twin).  One step reads 128 input bytes, the
 * n = 128 / in_c pixels that fit, and one vpermi2b picks their runs into
 * n * B * OC output bytes (at most 64).  The last step of a row uses
 * masked loads and stores, so nothing past the row is read or written.
 * Other shapes (CRD with several output channels, in_c > 128, B = 1) go
 * to the scalar twin.
 */
#include <immintrin.h>

#include "q8_kernels_simd.h"

static inline __mmask64
bytes_mask (int64_t n)
{
  return n >= 64 ? ~(__mmask64) 0 : n <= 0 ? 0 : ((__mmask64) 1 << n) - 1;
}

void
q8_s8_depth_to_space__avx512vnni (const q8_d2s_params *p, const int8_t *in,
                                  int8_t *out, int32_t y0, int32_t y1)
{
  const int32_t b = p->block, c = p->in_c, oc = c / (b * b);
  const int32_t run = b * oc;
  if ((p->mode != Q8_D2S_DCR && oc != 1) || c > 128 || b < 2) {
    q8_s8_depth_to_space__scalar (p, in, out, y0, y1);
    return;
  }
  /* Pixels per step: 128 input bytes, n * run <= 128 / b <= 64 out. */
  const int32_t n = 128 / c, nout = n * run;
  const size_t row_in = (size_t) p->in_w * (size_t) c;
  const size_t row_out = (size_t) p->in_w * (size_t) run;
  for (int32_t oy = y0; oy < y1; oy++) {
    const int32_t i = oy % b;
    uint8_t idx_b[64];
    for (int32_t k = 0; k < 64; k++)
      idx_b[k] = (uint8_t) (k < nout ? (k / run) * c + i * run + k % run : 0);
    const __m512i idx = _mm512_loadu_si512 (idx_b);
    const int8_t *src = in + (size_t) (oy / b) * row_in;
    int8_t *dst = out + (size_t) oy * row_out;
    size_t x = 0;
    for (; (x + (size_t) n) * (size_t) c <= row_in
           && x * (size_t) c + 128 <= row_in; x += (size_t) n) {
      const int8_t *s = src + x * (size_t) c;
      __m512i lo = _mm512_loadu_si512 (s), hi = _mm512_loadu_si512 (s + 64);
      _mm512_mask_storeu_epi8 (dst + x * (size_t) run, bytes_mask (nout),
                               _mm512_permutex2var_epi8 (lo, idx, hi));
    }
    for (; x < (size_t) p->in_w; x += (size_t) n) {
      const int8_t *s = src + x * (size_t) c;
      int64_t left = (int64_t) (row_in - x * (size_t) c);
      __m512i lo = _mm512_maskz_loadu_epi8 (bytes_mask (left), s);
      __m512i hi = _mm512_maskz_loadu_epi8 (bytes_mask (left - 64), s + 64);
      int64_t px = (int64_t) p->in_w - (int64_t) x;
      int64_t m = (px < n ? px : n) * run;
      _mm512_mask_storeu_epi8 (dst + x * (size_t) run, bytes_mask (m),
                               _mm512_permutex2var_epi8 (lo, idx, hi));
    }
  }
}
