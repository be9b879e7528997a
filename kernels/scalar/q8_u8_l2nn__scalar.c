/* q8_u8_l2nn__scalar.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors: the memory-bank search of anomaly scoring. */
#include "q8_kernels.h"

uint32_t
q8_u8_l2nn__scalar (size_t n, size_t c, const uint8_t *x,
                    const uint8_t *bank)
{
  uint32_t best = UINT32_MAX;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *b = bank + i * c;
    uint32_t d = 0;
    for (size_t k = 0; k < c; k++) {
      int32_t e = (int32_t) x[k] - (int32_t) b[k];
      d += (uint32_t) (e * e);
    }
    if (d < best)
      best = d;
  }
  return best;
}
