/* q8_requant_avx2.h - the vector epilogue of the 256-bit x86 convolution
 * kernels: rule R (ARITHMETIC.md) in its short form, clamp and fused
 * table on ymm registers of 8 output channels.  Libraries built with AVX2
 * (avxvnni/, and any other AVX2-level kernel) include it and compile it
 * with their own flags.
 *
 * The short form (q8_conv_short_requant () in q8_conv_spans.h) needs only
 * vpmuldq, a 32-bit add and vpsravd, which AVX2 has; the exact 64-bit form
 * needs an arithmetic 64-bit shift, which it lacks, so layers with a shift
 * outside 33..54 take q8_conv_requant_scalar () instead.  Saturating packs
 * to int8 equal the clamp of the exact value, as the result before
 * saturation is exact.
 *
 * A fused 256-entry table is 16 slices of 16 bytes, each broadcast to both
 * 128-bit halves: 16 vpshufb and 15 vpblendvb for 32 bytes
 * (q8_lut32_apply ()), against 32 scalar loads and stores.
 */
#ifndef Q8_REQUANT_AVX2_H
#define Q8_REQUANT_AVX2_H

#include <immintrin.h>

#include "q8_conv_spans.h"

/* Rule R constants of 8 output channels, one per lane, 32-byte aligned. */
typedef struct {
  int32_t bias[8];         /* q8_span_packed_bias () */
  int32_t mult[8];
  int32_t mult_odd[8];     /* lane 2i holds mult[2i + 1] (vpmuldq input) */
  int32_t fast_add[8];     /* short form: 2^(s-1) + out_zp * 2^s */
  int32_t fast_shift[8];   /* short form: s = shift - 32 */
} q8_blk8_consts;

/* Fills the 8 lanes of k for output channels oc0 .. oc0 + 7 (lanes past
 * out_c get zeros) of a kernel that feeds the input as x + zp_add. */
static inline void
q8_blk8_consts_fill (q8_blk8_consts *k, const q8_conv_params *p,
                     const int8_t *w, const int32_t *bias, int32_t oc0,
                     int32_t zp_add)
{
  memset (k, 0, sizeof *k);
  for (int32_t lane = 0; lane < 8; lane++) {
    int32_t oc = oc0 + lane;
    if (oc >= p->out_c)
      continue;
    k->bias[lane] = q8_span_packed_bias (p, w, bias, oc, zp_add);
    k->mult[lane] = p->mult[oc];
    k->mult_odd[lane ^ 1] = p->mult[oc];
    q8_short_requant_consts (p->shift[oc], p->out_zp, &k->fast_shift[lane],
                             &k->fast_add[lane]);
  }
}

/* A fused table as 16 broadcast slices, and the clamp bounds. */
typedef struct {
  __m256i slice[16];
  __m256i act_min, act_max; /* bytes */
} q8_epilogue8;

/* Loads the clamp bounds and p->lut (if any) into e. */
static inline void
q8_epilogue8_init (q8_epilogue8 *e, const q8_conv_params *p)
{
  e->act_min = _mm256_set1_epi8 ((char) p->act_min);
  e->act_max = _mm256_set1_epi8 ((char) p->act_max);
  for (int i = 0; i < 16; i++)
    e->slice[i] = p->lut != NULL
      ? _mm256_broadcastsi128_si256 (
          _mm_loadu_si128 ((const __m128i *) (p->lut + 16 * i)))
      : _mm256_setzero_si256 ();
}

/* table[x + 128] for 32 bytes: vpshufb looks up the low nibble of the
 * index in all 16 slices, then bits 4, 5, 6 and 7 of the index pick
 * among them in a tree of vpblendvb (which tests bit 7 of each mask byte;
 * a 16-bit shift left by 3, 2, 1 brings bits 4, 5, 6 there).  The tree
 * is evaluated depth first, so that few lookups are live at once: all 16
 * at once spill to the stack. */
static Q8_ALWAYS_INLINE __m256i
q8_lut32_apply (__m256i v, const q8_epilogue8 *e)
{
  __m256i idx = _mm256_xor_si256 (v, _mm256_set1_epi8 ((char) 0x80));
  __m256i lo = _mm256_and_si256 (idx, _mm256_set1_epi8 (0x0f));
  __m256i m4 = _mm256_slli_epi16 (idx, 3);
  __m256i m5 = _mm256_slli_epi16 (idx, 2);
  __m256i m6 = _mm256_slli_epi16 (idx, 1);
  __m256i half[2];
  for (int h = 0; h < 2; h++) {
    __m256i quarter[2];
    for (int q = 0; q < 2; q++) {
      __m256i pair[2];
      for (int i = 0; i < 2; i++) {
        const __m256i *sl = &e->slice[8 * h + 4 * q + 2 * i];
        pair[i] = _mm256_blendv_epi8 (_mm256_shuffle_epi8 (sl[0], lo),
                                      _mm256_shuffle_epi8 (sl[1], lo), m4);
      }
      quarter[q] = _mm256_blendv_epi8 (pair[0], pair[1], m5);
    }
    half[h] = _mm256_blendv_epi8 (quarter[0], quarter[1], m6);
  }
  return _mm256_blendv_epi8 (half[0], half[1], idx);
}

/* One row of 8 constants (32-byte aligned). */
static Q8_ALWAYS_INLINE __m256i
q8_load8 (const int32_t *v)
{
  return _mm256_load_si256 ((const __m256i *) v);
}

/* The short form of rule R: 8 accumulators to int32 outputs including
 * out_zp, before saturation. */
static Q8_ALWAYS_INLINE __m256i
q8_requant8_short (__m256i acc, const q8_blk8_consts *k)
{
  /* vpmuldq multiplies the even lanes; 0xf5 moves lanes 1, 3 to 0, 2. */
  __m256i even = _mm256_mul_epi32 (acc, q8_load8 (k->mult));
  __m256i odd = _mm256_mul_epi32 (_mm256_shuffle_epi32 (acc, 0xf5),
                                  q8_load8 (k->mult_odd));
  /* Lane 2i: high half of even product i; lane 2i + 1: of odd one. */
  __m256i hi = _mm256_blend_epi32 (_mm256_shuffle_epi32 (even, 0xf5), odd,
                                   0xaa);
  hi = _mm256_add_epi32 (hi, q8_load8 (k->fast_add));
  return _mm256_srav_epi32 (hi, q8_load8 (k->fast_shift));
}

/* Requantizes (short form), clamps and maps (LUT) one pixel's CB <= 4
 * blocks of 8 accumulators acc[0..CB-1], and stores the first n <= 8 CB
 * channels at o.  CB and LUT are constants after inlining. */
static Q8_ALWAYS_INLINE void
q8_conv_store_pixel8 (const __m256i *acc, const q8_blk8_consts *kc,
                      const q8_epilogue8 *e, int8_t *o, int32_t n,
                      const int CB, const int LUT)
{
  __m256i r0 = q8_requant8_short (acc[0], &kc[0]);
  __m256i r1 = CB > 1 ? q8_requant8_short (acc[1], &kc[1]) : r0;
  __m256i r2 = CB > 2 ? q8_requant8_short (acc[2], &kc[2]) : r0;
  __m256i r3 = CB > 3 ? q8_requant8_short (acc[3], &kc[3]) : r2;
  /* Per 128-bit half h, the packs leave channels 4h..4h+3 of block b in
   * dword 4h + b; vpermd puts block b's 8 channels at dwords 2b, 2b + 1. */
  __m256i a = _mm256_packs_epi32 (r0, r1);
  __m256i b = CB > 2 ? _mm256_packs_epi32 (r2, r3) : a;
  __m256i v = _mm256_permutevar8x32_epi32 (
    _mm256_packs_epi16 (a, b), _mm256_setr_epi32 (0, 4, 1, 5, 2, 6, 3, 7));
  v = _mm256_min_epi8 (_mm256_max_epi8 (v, e->act_min), e->act_max);
  if (LUT)
    v = q8_lut32_apply (v, e);
  if (n == 32) {
    _mm256_storeu_si256 ((__m256i *) o, v);
  } else if (n == 16) {
    _mm_storeu_si128 ((__m128i *) o, _mm256_castsi256_si128 (v));
  } else {
    /* Never past the pixel's channels: the next pixel's are written. */
    int8_t t[32];
    _mm256_storeu_si256 ((__m256i *) t, v);
    memcpy (o, t, (size_t) n);
  }
}

/* The epilogue of one pixel for either form: q8_conv_store_pixel8 () if
 * SHORT (every shift of the layer in 33..54), else rule R per output in
 * scalar code.  oc0 is the first output channel of acc[0]. */
static Q8_ALWAYS_INLINE void
q8_conv_finish_pixel8 (const __m256i *acc, const q8_blk8_consts *kc,
                       const q8_epilogue8 *e, const q8_conv_params *p,
                       int32_t oc0, int8_t *o, int32_t n, const int CB,
                       const int LUT, const int SHORT)
{
  if (SHORT) {
    q8_conv_store_pixel8 (acc, kc, e, o, n, CB, LUT);
  } else {
    int32_t a[32];
    for (int b = 0; b < CB; b++)
      _mm256_storeu_si256 ((__m256i *) &a[b * 8], acc[b]);
    q8_conv_requant_scalar (p, a, oc0, n, o);
  }
}

#endif /* Q8_REQUANT_AVX2_H */
