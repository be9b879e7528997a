/* q8_u8_l2nn__neondot.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors with the dot-product extension: |x - b| per byte
 * (vabd) dotted with itself by udot, 16 squares per instruction into 4
 * uint32 lanes; 8-byte steps for the rest, scalar for the last c % 8.
 * Integer sums: the scalar kernel's result exactly. */
#include <arm_neon.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

uint32_t
q8_u8_l2nn__neondot (size_t n, size_t c, const uint8_t *x,
                     const uint8_t *bank)
{
  const size_t c16 = c & ~(size_t) 15, c8 = c & ~(size_t) 7;
  uint32_t best = UINT32_MAX;
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const uint8_t *b0 = bank + i * c, *b1 = b0 + c;
    uint32x4_t a0 = vdupq_n_u32 (0), a1 = a0;
    size_t k = 0;
    for (; k < c16; k += 16) {
      uint8x16_t xv = vld1q_u8 (x + k);
      uint8x16_t d0 = vabdq_u8 (xv, vld1q_u8 (b0 + k));
      uint8x16_t d1 = vabdq_u8 (xv, vld1q_u8 (b1 + k));
      a0 = vdotq_u32 (a0, d0, d0);
      a1 = vdotq_u32 (a1, d1, d1);
    }
    uint32x2_t h0 = vdup_n_u32 (0), h1 = h0;
    for (; k < c8; k += 8) {
      uint8x8_t xv = vld1_u8 (x + k);
      uint8x8_t d0 = vabd_u8 (xv, vld1_u8 (b0 + k));
      uint8x8_t d1 = vabd_u8 (xv, vld1_u8 (b1 + k));
      h0 = vdot_u32 (h0, d0, d0);
      h1 = vdot_u32 (h1, d1, d1);
    }
    uint32_t s0 = vaddvq_u32 (a0) + vaddv_u32 (h0);
    uint32_t s1 = vaddvq_u32 (a1) + vaddv_u32 (h1);
    for (; k < c; k++) {
      int32_t e0 = (int32_t) x[k] - (int32_t) b0[k];
      int32_t e1 = (int32_t) x[k] - (int32_t) b1[k];
      s0 += (uint32_t) (e0 * e0);
      s1 += (uint32_t) (e1 * e1);
    }
    s0 = s0 < s1 ? s0 : s1;
    best = s0 < best ? s0 : best;
  }
  for (; i < n; i++) {
    const uint8_t *b = bank + i * c;
    uint32x4_t a = vdupq_n_u32 (0);
    size_t k = 0;
    for (; k < c16; k += 16) {
      uint8x16_t d = vabdq_u8 (vld1q_u8 (x + k), vld1q_u8 (b + k));
      a = vdotq_u32 (a, d, d);
    }
    uint32_t s = vaddvq_u32 (a);
    for (; k < c; k++) {
      int32_t e = (int32_t) x[k] - (int32_t) b[k];
      s += (uint32_t) (e * e);
    }
    best = s < best ? s : best;
  }
  return best;
}
