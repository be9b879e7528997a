/* q8_u8_l2nn__neon.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors, baseline NEON: |x - b| per byte (vabd), squared
 * into uint16 (vmull, at most 255^2) and pair-added into uint32 lanes
 * (vpadal); 8-byte steps for the rest, scalar for the last c % 8.  Each
 * bank row is compared with every query while it is in L1.  Integer
 * sums: the scalar kernel's result exactly. */
#include <arm_neon.h>

#include "q8_kernels.h"
#include "q8_kernels_simd.h"

static inline uint32_t
dist (size_t c, const uint8_t *x, const uint8_t *b)
{
  const size_t c16 = c & ~(size_t) 15, c8 = c & ~(size_t) 7;
  uint32x4_t a0 = vdupq_n_u32 (0), a1 = a0;
  size_t k = 0;
  for (; k < c16; k += 16) {
    uint8x16_t d = vabdq_u8 (vld1q_u8 (x + k), vld1q_u8 (b + k));
    a0 = vpadalq_u16 (a0, vmull_u8 (vget_low_u8 (d), vget_low_u8 (d)));
    a1 = vpadalq_u16 (a1, vmull_u8 (vget_high_u8 (d), vget_high_u8 (d)));
  }
  for (; k < c8; k += 8) {
    uint8x8_t d = vabd_u8 (vld1_u8 (x + k), vld1_u8 (b + k));
    a0 = vpadalq_u16 (a0, vmull_u8 (d, d));
  }
  uint32_t s = vaddvq_u32 (vaddq_u32 (a0, a1));
  for (; k < c; k++) {
    int32_t e = (int32_t) x[k] - (int32_t) b[k];
    s += (uint32_t) (e * e);
  }
  return s;
}

void
q8_u8_l2nn__neon (size_t n, size_t c, size_t m, const uint8_t *const *x,
                  const uint8_t *bank, uint32_t *best)
{
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      uint32_t d = dist (c, x[j], bank + i * c);
      best[j] = d < best[j] ? d : best[j];
    }
}
