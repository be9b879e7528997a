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

/* Rule R constants of 16 output channels, one per lane (the generic
 * kernel's blocks and the 1-input-channel kernel share them). */
typedef struct {
  int32_t bias[16];        /* bias - (in_zp + 128) * sum(w) */
  int32_t mult[16];
  int32_t mult_odd[16];    /* lane 2i holds mult[2i + 1] (vpmuldq input) */
  int32_t fast_add[16];    /* fast form: 2^(s-1) + out_zp * 2^s */
  int32_t fast_shift[16];  /* fast form: s = shift - 32 */
  int64_t shift_even[8];   /* lanes 0, 2, ..., 14 */
  int64_t shift_odd[8];    /* lanes 1, 3, ..., 15 */
  int64_t round_even[8];   /* 2^(shift - 1) */
  int64_t round_odd[8];
} blk_consts;

/* Fills the 16 lanes of k for output channels oc0 .. oc0 + 15 (lanes
 * past out_c get zeros); the bias is bias - (in_zp + zp_add) * sum(w)
 * (zp_add = 128 for the x + 128 form, 0 for the sum form). */
static inline void
q8_blk_consts_fill (blk_consts *k, const q8_conv_params *p, const int8_t *w,
                    const int32_t *bias, int32_t oc0, int32_t zp_add)
{
  for (int32_t lane = 0; lane < 16; lane++) {
    int32_t oc = oc0 + lane;
    int32_t bs = 0, m = 0, r = 1;
    if (oc < p->out_c) {
      bs = q8_span_packed_bias (p, w, bias, oc, zp_add);
      m = p->mult[oc];
      r = p->shift[oc];
    }
    k->bias[lane] = bs;
    k->mult[lane] = m;
    k->mult_odd[lane ^ 1] = m;
    /* Only used when every channel has r in 33..54 (q8_conv_short_requant ()). */
    int32_t fs, fa;
    q8_short_requant_consts (r, p->out_zp, &fs, &fa);
    k->fast_shift[lane] = fs;
    k->fast_add[lane] = oc < p->out_c ? fa : 0;
    if (lane % 2 == 0) {
      k->shift_even[lane / 2] = r;
      k->round_even[lane / 2] = oc < p->out_c ? (int64_t) 1 << (r - 1) : 0;
    } else {
      k->shift_odd[lane / 2] = r;
      k->round_odd[lane / 2] = oc < p->out_c ? (int64_t) 1 << (r - 1) : 0;
    }
  }
}

/* Per-run constants of the epilogue. */
typedef struct {
  __m512i zp64;            /* out_zp in 64-bit lanes */
  __m512i act_min, act_max; /* bytes */
  q8_lut64 lut;            /* the fused table */
} epilogue;

/* The fast form of rule R (file comment): 16 accumulators to int32
 * outputs including out_zp, before saturation. */
static Q8_ALWAYS_INLINE __m512i
requant16_fast (__m512i acc, const blk_consts *k)
{
  __m512i even = _mm512_mul_epi32 (acc, _mm512_load_si512 (k->mult));
  __m512i odd = _mm512_mul_epi32 (_mm512_shuffle_epi32 (acc, _MM_PERM_DDBB),
                                  _mm512_load_si512 (k->mult_odd));
  /* Lane 2i: high half of even product i; lane 2i + 1: of odd one. */
  __m512i hi = _mm512_mask_shuffle_epi32 (odd, 0x5555, even, _MM_PERM_DDBB);
  hi = _mm512_add_epi32 (hi, _mm512_load_si512 (k->fast_add));
  return _mm512_srav_epi32 (hi, _mm512_load_si512 (k->fast_shift));
}



/* Rule R for 16 accumulators, plus out_zp, saturated to int8 (exactly the
 * clamp to [-128, 127] of the exact 64-bit value). */
static Q8_ALWAYS_INLINE __m128i
requant16 (__m512i acc, const blk_consts *k, const epilogue *e)
{
  __m512i mult = _mm512_load_si512 (k->mult);
  __m512i even = _mm512_mul_epi32 (acc, mult);
  __m512i odd = _mm512_mul_epi32 (_mm512_srli_epi64 (acc, 32),
                                  _mm512_srli_epi64 (mult, 32));
  even = _mm512_add_epi64 (even, _mm512_load_si512 (k->round_even));
  odd = _mm512_add_epi64 (odd, _mm512_load_si512 (k->round_odd));
  even = _mm512_srav_epi64 (even, _mm512_load_si512 (k->shift_even));
  odd = _mm512_srav_epi64 (odd, _mm512_load_si512 (k->shift_odd));
  even = _mm512_add_epi64 (even, e->zp64);
  odd = _mm512_add_epi64 (odd, e->zp64);
  return _mm_unpacklo_epi8 (_mm512_cvtsepi64_epi8 (even),
                            _mm512_cvtsepi64_epi8 (odd));
}

/* Requantizes, clamps, maps (LUT) and stores one pixel's CB blocks of
 * accumulators acc[0..CB-1] side by side at o, masked to m.  CB, LUT and
 * FAST are constants after inlining. */
static Q8_ALWAYS_INLINE void
q8_conv_store_pixel (const __m512i *acc, const blk_consts *kc,
                     const epilogue *e, int8_t *o, __mmask64 m, const int CB,
                     const int LUT, const int FAST)
{
  __m512i v;
  if (FAST) {
    /* Saturating packs: dword 4L + b of the result holds channels
     * 4L..4L+3 of block b; vpermd puts them at dword 4b + L. */
    __m512i r0 = requant16_fast (acc[0], &kc[0]);
    __m512i r1 = CB > 1 ? requant16_fast (acc[1], &kc[1]) : r0;
    __m512i r2 = CB > 2 ? requant16_fast (acc[2], &kc[2]) : r0;
    __m512i r3 = CB > 3 ? requant16_fast (acc[3], &kc[3]) : r2;
    __m512i a = _mm512_packs_epi32 (r0, r1);
    __m512i b = CB > 2 ? _mm512_packs_epi32 (r2, r3) : a;
    v = _mm512_permutexvar_epi32 (
      _mm512_setr_epi32 (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7,
                         11, 15),
      _mm512_packs_epi16 (a, b));
  } else {
    v = _mm512_castsi128_si512 (requant16 (acc[0], &kc[0], e));
    if (CB > 1)
      v = _mm512_inserti32x4 (v, requant16 (acc[1], &kc[1], e), 1);
    if (CB > 2)
      v = _mm512_inserti32x4 (v, requant16 (acc[2], &kc[2], e), 2);
    if (CB > 3)
      v = _mm512_inserti32x4 (v, requant16 (acc[3], &kc[3], e), 3);
  }
  v = _mm512_min_epi8 (_mm512_max_epi8 (v, e->act_min), e->act_max);
  if (LUT)
    v = q8_lut64_apply (v, &e->lut);
  _mm512_mask_storeu_epi8 (o, m, v);
}

#endif /* Q8_CONV_AVX512VNNI_H */
