/* q8_s8_resize__avx2.c - bilinear RESIZE (ARITHMETIC.md) of 1-channel
 * tensors: with fw >= 2 and fh * fw <= 32 (the ESPCN skip paths), 16
 * outputs at a time separably in int16 with vpshufb picking the taps
 * (row16 ()); else 8 at a time from gathered taps; both with the integer
 * weights of the plan's column table and rule R in exact 64-bit
 * arithmetic.  Other shapes and nearest go to the scalar reference.
 *
 * Rule R needs an arithmetic 64-bit shift, which AVX2 lacks: with
 * |acc * M| < 2^49 (|acc| <= 255 * 4 * 16 * 16, M < 2^31), adding 2^62
 * makes the value positive, a logical shift then floors, and 2^(62-r) is
 * subtracted back; exact because r <= 62. */
#include <immintrin.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

/* 64-bit lanes clamped to [-2^16, 2^16]: enough for the final int8 clamp
 * after adding a zero point, and then exact in the low 32 bits. */
static inline __m256i
clamp64 (__m256i v)
{
  const __m256i hi = _mm256_set1_epi64x (1 << 16);
  const __m256i lo = _mm256_set1_epi64x (-(1 << 16));
  v = _mm256_blendv_epi8 (v, hi, _mm256_cmpgt_epi64 (v, hi));
  return _mm256_blendv_epi8 (v, lo, _mm256_cmpgt_epi64 (lo, v));
}

/* Rule R of 8 int32 accumulators to int8 range values (int32 lanes). */
static inline __m256i
requant8 (__m256i acc, __m256i mult, int32_t shift, __m256i zp)
{
  const __m256i bias = _mm256_set1_epi64x (((int64_t) 1 << 62)
                                           + ((int64_t) 1 << (shift - 1)));
  const __m256i unbias = _mm256_set1_epi64x ((int64_t) 1 << (62 - shift));
  const __m128i sh = _mm_cvtsi32_si128 (shift);
  __m256i even = _mm256_mul_epi32 (acc, mult);
  __m256i odd = _mm256_mul_epi32 (_mm256_srli_epi64 (acc, 32), mult);
  even = _mm256_sub_epi64 (_mm256_srl_epi64 (_mm256_add_epi64 (even, bias),
                                             sh), unbias);
  odd = _mm256_sub_epi64 (_mm256_srl_epi64 (_mm256_add_epi64 (odd, bias),
                                            sh), unbias);
  even = clamp64 (even);
  odd = clamp64 (odd);
  __m256i v = _mm256_blend_epi32 (even, _mm256_slli_epi64 (odd, 32), 0xaa);
  v = _mm256_add_epi32 (v, zp);
  return _mm256_min_epi32 (_mm256_max_epi32 (v, _mm256_set1_epi32 (-128)),
                           _mm256_set1_epi32 (127));
}

/* The 16 int16 lanes of the 16 int32 at t, in order. */
static inline __m256i
col16 (const int32_t *t)
{
  __m256i v = _mm256_packs_epi32 (_mm256_loadu_si256 ((const __m256i *) t),
                                  _mm256_loadu_si256 ((const __m256i *)
                                                      (t + 8)));
  return _mm256_permute4x64_epi64 (v, 0xd8);
}

/* Outputs ox .. ox + 15 of one row, separably (fw >= 2, fh * fw <= 32):
 * the four-tap sum wy0 * (wx0 * a0 + wx1 * a1) + wy1 * (wx0 * b0 + wx1 * b1)
 * (taps minus in_zp) equals wx0 * v[c0] + wx1 * v[c1] with the column blend
 * v[x] = wy0 * a[x] + wy1 * b[x]: integers, so the order changes nothing.
 * Each 128-bit half serves 8 outputs, whose taps lie in the 8 input
 * columns from its first col0 (at most 7 / fw + 2 apart), so v of those
 * columns is one half of int16 and vpshufb picks the taps.  |v| <= 255 * Dh
 * and the sum <= 255 * Dh * Dw <= 255 * 128 stay in int16.  Reads 8 bytes
 * from each window start: the row's successors or the input's
 * Q8_EXTRA_BYTES tail. */
static inline void
row16 (const q8_resize_params *p, const int8_t *ra, const int8_t *rb,
       int32_t ox, __m256i vwy0, __m256i vwy1, __m256i zp_out, int8_t *o)
{
  const int32_t b0 = p->col0[ox], b1 = p->col0[ox + 8];
  const __m256i zp_in = _mm256_set1_epi16 ((short) p->in_zp);
  __m256i base = _mm256_setr_m128i (_mm_set1_epi16 ((short) b0),
                                    _mm_set1_epi16 ((short) b1));
  __m256i a = _mm256_cvtepi8_epi16 (_mm_unpacklo_epi64 (
    _mm_loadl_epi64 ((const __m128i *) (ra + b0)),
    _mm_loadl_epi64 ((const __m128i *) (ra + b1))));
  __m256i b = _mm256_cvtepi8_epi16 (_mm_unpacklo_epi64 (
    _mm_loadl_epi64 ((const __m128i *) (rb + b0)),
    _mm_loadl_epi64 ((const __m128i *) (rb + b1))));
  __m256i v = _mm256_add_epi16 (
    _mm256_mullo_epi16 (_mm256_sub_epi16 (a, zp_in), vwy0),
    _mm256_mullo_epi16 (_mm256_sub_epi16 (b, zp_in), vwy1));
  /* Tap i of its half as the byte pair 2i, 2i + 1. */
  const __m256i pair = _mm256_set1_epi16 (0x0202);
  const __m256i hi1 = _mm256_set1_epi16 (0x0100);
  __m256i i0 = _mm256_sub_epi16 (col16 (p->col0 + ox), base);
  __m256i i1 = _mm256_sub_epi16 (col16 (p->col1 + ox), base);
  __m256i t0 = _mm256_shuffle_epi8 (
    v, _mm256_add_epi16 (_mm256_mullo_epi16 (i0, pair), hi1));
  __m256i t1 = _mm256_shuffle_epi8 (
    v, _mm256_add_epi16 (_mm256_mullo_epi16 (i1, pair), hi1));
  __m256i w1 = col16 (p->colw + ox);
  __m256i w0 = _mm256_sub_epi16 (_mm256_set1_epi16 ((short) (2 * p->fw)),
                                 w1);
  __m256i acc = _mm256_add_epi16 (_mm256_mullo_epi16 (t0, w0),
                                  _mm256_mullo_epi16 (t1, w1));
  const __m256i mult = _mm256_set1_epi32 (p->mult);
  __m256i r0 = requant8 (_mm256_cvtepi16_epi32 (
                           _mm256_castsi256_si128 (acc)), mult, p->shift,
                         zp_out);
  __m256i r1 = requant8 (_mm256_cvtepi16_epi32 (
                           _mm256_extracti128_si256 (acc, 1)), mult,
                         p->shift, zp_out);
  /* r0, r1 are in [-128, 127]: the packs only narrow. */
  __m256i r = _mm256_permute4x64_epi64 (_mm256_packs_epi32 (r0, r1), 0xd8);
  __m128i bytes = _mm_packs_epi16 (_mm256_castsi256_si128 (r),
                                   _mm256_extracti128_si256 (r, 1));
  _mm_storeu_si128 ((__m128i *) o, bytes);
}

/* 8 sign-extended bytes at base + idx[k] (reads 4 bytes at each: rows
 * inside a tensor, and the tensor's readable tail, cover them). */
static inline __m256i
gather8 (const int8_t *base, __m256i idx)
{
  __m256i v = _mm256_i32gather_epi32 ((const int *) base, idx, 1);
  return _mm256_srai_epi32 (_mm256_slli_epi32 (v, 24), 24);
}

void
q8_s8_resize__avx2 (const q8_resize_params *p, const int8_t *in, int8_t *out,
                    int32_t y0, int32_t y1)
{
  if (p->mode != Q8_RESIZE_BILINEAR || p->c != 1) {
    q8_s8_resize__scalar (p, in, out, y0, y1);
    return;
  }
  const int32_t out_w = p->in_w * p->fw, dh = 2 * p->fh, dw = 2 * p->fw;
  const __m256i zp_in = _mm256_set1_epi32 (p->in_zp);
  const __m256i zp_out = _mm256_set1_epi32 (p->out_zp);
  const __m256i mult = _mm256_set1_epi32 (p->mult);
  const __m256i vdw = _mm256_set1_epi32 (dw);
  const __m256i order = _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7);
  /* Below 2, a window of 8 input columns may not hold 8 outputs' taps;
   * above 32, the int16 sums may overflow; column numbers go to int16. */
  const int separable = p->fw >= 2 && p->fh * p->fw <= 32
                        && p->in_w <= 32767;
  for (int32_t oy = y0; oy < y1; oy++) {
    int32_t ya, yb, wy1;
    q8_resize_taps (oy, p->fh, p->in_h, p->coord, &ya, &yb, &wy1);
    const int32_t wy0 = dh - wy1;
    const int8_t *ra = in + (size_t) ya * p->in_w;
    const int8_t *rb = in + (size_t) yb * p->in_w;
    const __m256i vwy0 = _mm256_set1_epi32 (wy0), vwy1 = _mm256_set1_epi32 (wy1);
    int8_t *o = out + (size_t) oy * out_w;
    int32_t ox = 0;
    if (separable) {
      const __m256i vwy0_16 = _mm256_set1_epi16 ((short) wy0);
      const __m256i vwy1_16 = _mm256_set1_epi16 ((short) wy1);
      for (; ox + 16 <= out_w; ox += 16)
        row16 (p, ra, rb, ox, vwy0_16, vwy1_16, zp_out, o + ox);
    }
    for (; ox + 8 <= out_w; ox += 8) {
      __m256i c0 = _mm256_loadu_si256 ((const __m256i *) (p->col0 + ox));
      __m256i c1 = _mm256_loadu_si256 ((const __m256i *) (p->col1 + ox));
      __m256i w1 = _mm256_loadu_si256 ((const __m256i *) (p->colw + ox));
      __m256i w0 = _mm256_sub_epi32 (vdw, w1);
      __m256i a0 = _mm256_sub_epi32 (gather8 (ra, c0), zp_in);
      __m256i a1 = _mm256_sub_epi32 (gather8 (ra, c1), zp_in);
      __m256i b0 = _mm256_sub_epi32 (gather8 (rb, c0), zp_in);
      __m256i b1 = _mm256_sub_epi32 (gather8 (rb, c1), zp_in);
      __m256i top = _mm256_add_epi32 (_mm256_mullo_epi32 (w0, a0),
                                      _mm256_mullo_epi32 (w1, a1));
      __m256i bot = _mm256_add_epi32 (_mm256_mullo_epi32 (w0, b0),
                                      _mm256_mullo_epi32 (w1, b1));
      __m256i acc = _mm256_add_epi32 (_mm256_mullo_epi32 (vwy0, top),
                                      _mm256_mullo_epi32 (vwy1, bot));
      __m256i r = requant8 (acc, mult, p->shift, zp_out);
      __m256i v = _mm256_packs_epi16 (_mm256_packs_epi32 (r, r),
                                      _mm256_setzero_si256 ());
      v = _mm256_permutevar8x32_epi32 (v, order);
      _mm_storel_epi64 ((__m128i *) (o + ox), _mm256_castsi256_si128 (v));
    }
    for (; ox < out_w; ox++) {
      const int32_t wx1 = p->colw[ox], wx0 = dw - wx1;
      const int32_t xa = p->col0[ox], xb = p->col1[ox];
      int32_t top = wx0 * (ra[xa] - p->in_zp) + wx1 * (ra[xb] - p->in_zp);
      int32_t bot = wx0 * (rb[xa] - p->in_zp) + wx1 * (rb[xb] - p->in_zp);
      o[ox] = (int8_t) q8_requant_r (wy0 * top + wy1 * bot, p->mult, p->shift,
                                     p->out_zp, -128, 127);
    }
  }
}
