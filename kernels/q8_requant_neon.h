/* q8_requant_neon.h - rule R (ARITHMETIC.md) on NEON vectors, the fused
 * epilogue of the aarch64 convolution kernels (neon/, neondot/ and
 * neoni8mm/ include it and compile it with their own flags).
 *
 * For 4 accumulators and their channels' M and -r (as int64 lanes):
 *
 *   smull/smull2   acc * M, exact in int64 (|acc * M| < 2^62)
 *   srshl          rounding shift right by r: floor((p + 2^(r-1)) / 2^r),
 *                  computed by the instruction without intermediate
 *                  overflow, i.e. exactly rule R's t
 *   sqxtn          t saturated to int32
 *
 * then 16 such values are saturated to int16, the zero point is added with
 * saturation, the sum is saturated to int8 and clamped to [qmin, qmax].
 * Every saturation is monotone and its bounds lie outside [qmin, qmax]
 * widened by |zp| <= 128, so the result equals clamp(t + zp, qmin, qmax)
 * computed in 64 bits.  The fused table is applied with tbl/tbx on the
 * four 64-byte quarters of the 256 entries.
 */
#ifndef Q8_REQUANT_NEON_H
#define Q8_REQUANT_NEON_H

#include <arm_neon.h>

/* t of rule R, saturated to int32, for acc with multipliers m and negated
 * shifts nsh_lo (channels 0, 1) and nsh_hi (channels 2, 3). */
static inline int32x4_t
q8_requant_r_s32x4 (int32x4_t acc, int32x4_t m, int64x2_t nsh_lo,
                    int64x2_t nsh_hi)
{
  int64x2_t lo = vmull_s32 (vget_low_s32 (acc), vget_low_s32 (m));
  int64x2_t hi = vmull_high_s32 (acc, m);
  lo = vrshlq_s64 (lo, nsh_lo);
  hi = vrshlq_s64 (hi, nsh_hi);
  return vqmovn_high_s64 (vqmovn_s64 (lo), hi);
}

/* The same t, exactly, in 32-bit lanes when every channel's r is in
 * [32, 62], with nsh = 31 - r: for X = acc * M = 2^31 H + L (0 <= L <
 * 2^31), 2^(r-1) is a multiple of 2^31, so floor ((X + 2^(r-1)) / 2^r) =
 * floor ((H + 2^(r-32)) / 2^(r-31)) (floor (floor (a / b) / c) = floor (a /
 * (b c))).  sqdmulh is H = floor (2 acc M / 2^32) (it saturates only for
 * acc = M = -2^31, and M > 0), srshl by 31 - r the rounding shift. */
static inline int32x4_t
q8_requant_r_short_s32x4 (int32x4_t acc, int32x4_t m, int32x4_t nsh)
{
  return vrshlq_s32 (vqdmulhq_s32 (acc, m), nsh);
}

/* clamp(t + zp, qmin, qmax) of 16 rule R values t0..t3 (saturated). */
static inline int8x16_t
q8_requant_finish_s8x16 (int32x4_t t0, int32x4_t t1, int32x4_t t2,
                         int32x4_t t3, int16x8_t zp, int8x16_t qmin,
                         int8x16_t qmax)
{
  int16x8_t h0 = vqaddq_s16 (vqmovn_high_s32 (vqmovn_s32 (t0), t1), zp);
  int16x8_t h1 = vqaddq_s16 (vqmovn_high_s32 (vqmovn_s32 (t2), t3), zp);
  int8x16_t o = vqmovn_high_s16 (vqmovn_s16 (h0), h1);
  return vminq_s8 (vmaxq_s8 (o, qmin), qmax);
}

/* The whole epilogue but the table for 16 channels: rule R of their
 * accumulators acc[0..3] with multipliers m and negated shifts sh_lo
 * (channels 0-7) and sh_hi (8-15), then zero point and clamp.  Always
 * inlined, so that kernels keep the constants in registers. */
static inline __attribute__ ((always_inline)) int8x16_t
q8_requant_s8x16 (const int32x4_t *acc, int32x4x4_t m, int64x2x4_t sh_lo,
                  int64x2x4_t sh_hi, int16x8_t zp, int8x16_t qmin,
                  int8x16_t qmax)
{
  int32x4_t t0 = q8_requant_r_s32x4 (acc[0], m.val[0], sh_lo.val[0],
                                     sh_lo.val[1]);
  int32x4_t t1 = q8_requant_r_s32x4 (acc[1], m.val[1], sh_lo.val[2],
                                     sh_lo.val[3]);
  int32x4_t t2 = q8_requant_r_s32x4 (acc[2], m.val[2], sh_hi.val[0],
                                     sh_hi.val[1]);
  int32x4_t t3 = q8_requant_r_s32x4 (acc[3], m.val[3], sh_hi.val[2],
                                     sh_hi.val[3]);
  return q8_requant_finish_s8x16 (t0, t1, t2, t3, zp, qmin, qmax);
}

/* The same for 8 values. */
static inline int8x8_t
q8_requant_finish_s8x8 (int32x4_t t0, int32x4_t t1, int16x8_t zp,
                        int8x8_t qmin, int8x8_t qmax)
{
  int16x8_t h = vqaddq_s16 (vqmovn_high_s32 (vqmovn_s32 (t0), t1), zp);
  return vmin_s8 (vmax_s8 (vqmovn_s16 (h), qmin), qmax);
}

/* table[v + 128] for the 16 values v of o; lut holds the 256 entries. */
static inline int8x16_t
q8_lut_s8x16 (const int8x16x4_t lut[4], int8x16_t o)
{
  uint8x16_t i = veorq_u8 (vreinterpretq_u8_s8 (o), vdupq_n_u8 (0x80));
  uint8x16_t q = vdupq_n_u8 (64);
  int8x16_t r = vqtbl4q_s8 (lut[0], i);
  i = vsubq_u8 (i, q);
  r = vqtbx4q_s8 (r, lut[1], i);
  i = vsubq_u8 (i, q);
  r = vqtbx4q_s8 (r, lut[2], i);
  i = vsubq_u8 (i, q);
  return vqtbx4q_s8 (r, lut[3], i);
}

/* Applies the fused table lut (NULL: none) to v[0..n), the 16 channels of
 * n pixels, and stores the first n_oc (<= 16) bytes of the first nvalid
 * to o, pixels stride bytes apart. */
static inline void
q8_lut_store_s8x16 (int8x16_t *v, int n, int nvalid, const int8_t *lut,
                    int8_t *o, size_t stride, int32_t n_oc)
{
  if (lut != NULL) {
    int8x16x4_t t[4];
    for (int i = 0; i < 4; i++)
      t[i] = vld1q_s8_x4 (lut + 64 * i);
    for (int j = 0; j < n; j++)
      v[j] = q8_lut_s8x16 (t, v[j]);
  }
  if (n_oc == 16) {
    for (int j = 0; j < nvalid; j++)
      vst1q_s8 (o + (size_t) j * stride, v[j]);
  } else {
    for (int j = 0; j < nvalid; j++) {
      int8_t tmp[16];
      vst1q_s8 (tmp, v[j]);
      for (int32_t k = 0; k < n_oc; k++)
        o[(size_t) j * stride + k] = tmp[k];
    }
  }
}

#endif /* Q8_REQUANT_NEON_H */
