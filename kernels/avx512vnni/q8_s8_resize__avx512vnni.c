/* q8_s8_resize__avx512vnni.c - bilinear RESIZE (ARITHMETIC.md) of
 * 1-channel tensors, 32 output pixels at a time, separably and exactly.
 *
 * The four-tap sum of the scalar twin,
 *   wy0 * (wx0 * a0 + wx1 * a1) + wy1 * (wx0 * b0 + wx1 * b1)
 * (taps minus in_zp), equals wx0 * v[c0] + wx1 * v[c1] with the column
 * blend v[x] = wy0 * a[x] + wy1 * b[x]: integers, so the order changes
 * nothing.  For 32 outputs from column c0 = col0[ox], the taps lie in the
 * 32 input columns from c0 when fw >= 2 (at most 31 / fw + 2 apart), so
 * v is computed for those 32 columns in int16 and vpermw picks the taps.
 * |v| <= 255 * Dh and |acc| <= 255 * Dh * Dw, inside int16 when
 * fh * fw <= 32 (Dh * Dw <= 128).  Rule R then runs in exact 64-bit
 * lanes (vpmuldq, vpsraq), and saturating narrowing is the int8 clamp.
 * Other shapes go to the AVX2 kernel (which sends what it lacks on to the
 * scalar reference).  Row ends use masked loads and stores: nothing past
 * a row or a column table is read.
 */
#include <immintrin.h>

#include "q8_kernels_simd.h"

/* Rule R of 16 int32 accumulators plus out_zp, saturated to int8. */
static inline __m128i
requant16 (__m512i acc, __m512i mult, __m512i round, __m128i shift,
           __m512i zp)
{
  __m512i even = _mm512_mul_epi32 (acc, mult);
  __m512i odd = _mm512_mul_epi32 (_mm512_srli_epi64 (acc, 32), mult);
  even = _mm512_add_epi64 (_mm512_sra_epi64 (_mm512_add_epi64 (even, round),
                                             shift), zp);
  odd = _mm512_add_epi64 (_mm512_sra_epi64 (_mm512_add_epi64 (odd, round),
                                            shift), zp);
  return _mm_unpacklo_epi8 (_mm512_cvtsepi64_epi8 (even),
                            _mm512_cvtsepi64_epi8 (odd));
}

/* 32 int16 from two runs of 16 int32 of a column table (masked). */
static inline __m512i
col16 (const int32_t *t, __mmask16 m0, __mmask16 m1)
{
  __m256i lo = _mm512_cvtepi32_epi16 (_mm512_maskz_loadu_epi32 (m0, t));
  __m256i hi = _mm512_cvtepi32_epi16 (_mm512_maskz_loadu_epi32 (m1, t + 16));
  return _mm512_inserti64x4 (_mm512_castsi256_si512 (lo), hi, 1);
}

static inline uint32_t
lanes (int32_t n, int32_t max)
{
  return n >= max ? (max == 32 ? ~0u : (1u << max) - 1)
                  : n <= 0 ? 0 : (1u << n) - 1;
}

void
q8_s8_resize__avx512vnni (const q8_resize_params *p, const int8_t *in,
                          int8_t *out, int32_t y0, int32_t y1)
{
  if (p->mode != Q8_RESIZE_BILINEAR || p->c != 1 || p->fw < 2
      || p->fh * p->fw > 32) {
    q8_s8_resize__avx2 (p, in, out, y0, y1);
    return;
  }
  const int32_t out_w = p->in_w * p->fw, dh = 2 * p->fh, dw = 2 * p->fw;
  const __m512i zp_in = _mm512_set1_epi16 ((short) p->in_zp);
  const __m512i vdw = _mm512_set1_epi16 ((short) dw);
  const __m512i mult = _mm512_set1_epi64 (p->mult);
  const __m512i round = _mm512_set1_epi64 ((int64_t) 1 << (p->shift - 1));
  const __m128i shift = _mm_cvtsi32_si128 (p->shift);
  const __m512i zp_out = _mm512_set1_epi64 (p->out_zp);
  for (int32_t oy = y0; oy < y1; oy++) {
    int32_t ya, yb, wy1;
    q8_resize_taps (oy, p->fh, p->in_h, p->coord, &ya, &yb, &wy1);
    const __m512i vwy0 = _mm512_set1_epi16 ((short) (dh - wy1));
    const __m512i vwy1 = _mm512_set1_epi16 ((short) wy1);
    const int8_t *ra = in + (size_t) ya * p->in_w;
    const int8_t *rb = in + (size_t) yb * p->in_w;
    int8_t *o = out + (size_t) oy * out_w;
    for (int32_t ox = 0; ox < out_w; ox += 32) {
      const __mmask16 m0 = (__mmask16) lanes (out_w - ox, 16);
      const __mmask16 m1 = (__mmask16) lanes (out_w - ox - 16, 16);
      const int32_t base = p->col0[ox];
      const __m512i vbase = _mm512_set1_epi16 ((short) base);
      __m512i i0 = _mm512_sub_epi16 (col16 (p->col0 + ox, m0, m1), vbase);
      __m512i i1 = _mm512_sub_epi16 (col16 (p->col1 + ox, m0, m1), vbase);
      __m512i w1 = col16 (p->colw + ox, m0, m1);
      __m512i w0 = _mm512_sub_epi16 (vdw, w1);

      const __mmask32 lm = (__mmask32) lanes (p->in_w - base, 32);
      __m512i xa = _mm512_sub_epi16 (
        _mm512_cvtepi8_epi16 (_mm256_maskz_loadu_epi8 (lm, ra + base)), zp_in);
      __m512i xb = _mm512_sub_epi16 (
        _mm512_cvtepi8_epi16 (_mm256_maskz_loadu_epi8 (lm, rb + base)), zp_in);
      __m512i v = _mm512_add_epi16 (_mm512_mullo_epi16 (xa, vwy0),
                                    _mm512_mullo_epi16 (xb, vwy1));
      __m512i acc = _mm512_add_epi16 (
        _mm512_mullo_epi16 (_mm512_permutexvar_epi16 (i0, v), w0),
        _mm512_mullo_epi16 (_mm512_permutexvar_epi16 (i1, v), w1));

      __m512i lo = _mm512_cvtepi16_epi32 (_mm512_castsi512_si256 (acc));
      __m512i hi = _mm512_cvtepi16_epi32 (_mm512_extracti64x4_epi64 (acc, 1));
      _mm_mask_storeu_epi8 (o + ox, m0,
                            requant16 (lo, mult, round, shift, zp_out));
      _mm_mask_storeu_epi8 (o + ox + 16, m1,
                            requant16 (hi, mult, round, shift, zp_out));
    }
  }
}
