/* q8_conv_avx512vnni.h - epilogue pieces shared by the AVX-512 VNNI
 * convolution kernels (compiled with that library's flags only). */
#ifndef Q8_CONV_AVX512VNNI_H
#define Q8_CONV_AVX512VNNI_H

#include <immintrin.h>

#include "q8_conv_spans.h"

/* A fused 256-entry table in 4 zmm. */
typedef struct {
  __m512i t0, t1, t2, t3;
} q8_lut64;

/* Loads lut (or zeros when NULL, never used then). */
static inline void
q8_lut64_load (q8_lut64 *t, const int8_t *lut)
{
  if (lut != NULL) {
    t->t0 = _mm512_loadu_si512 (lut);
    t->t1 = _mm512_loadu_si512 (lut + 64);
    t->t2 = _mm512_loadu_si512 (lut + 128);
    t->t3 = _mm512_loadu_si512 (lut + 192);
  } else {
    t->t0 = t->t1 = t->t2 = t->t3 = _mm512_setzero_si512 ();
  }
}

/* table[x + 128] for 64 bytes: bits 0-6 of the index pick within a half
 * of the table, bit 7 picks the half (vpermi2b, VBMI). */
static Q8_ALWAYS_INLINE __m512i
q8_lut64_apply (__m512i v, const q8_lut64 *t)
{
  __m512i idx = _mm512_xor_si512 (v, _mm512_set1_epi8 ((char) 0x80));
  __m512i lo = _mm512_permutex2var_epi8 (t->t0, idx, t->t1);
  __m512i hi = _mm512_permutex2var_epi8 (t->t2, idx, t->t3);
  return _mm512_mask_blend_epi8 (_mm512_movepi8_mask (idx), lo, hi);
}

/* Non-zero if every channel's rule R shift is in 33..54, where the short
 * form of q8_s8_conv2d_requant__avx512vnni.c's file comment is exact. */
static inline int
q8_conv_short_requant (const q8_conv_params *p)
{
  for (int32_t oc = 0; oc < p->out_c; oc++)
    if (p->shift[oc] < 33 || p->shift[oc] > 54)
      return 0;
  return 1;
}

#endif /* Q8_CONV_AVX512VNNI_H */
