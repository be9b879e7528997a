/* q8_u8_l2nn__scalar.c - nearest neighbour by squared Euclidean distance
 * over uint8 vectors: the memory-bank search of anomaly scoring. */
#include "q8_kernels.h"

void
q8_u8_l2nn__scalar (size_t n, size_t c, size_t m, const uint8_t *const *x,
                    const uint8_t *bank, uint32_t *best)
{
  for (size_t i = 0; i < n; i++) {
    const uint8_t *b = bank + i * c;
    for (size_t j = 0; j < m; j++) {
      uint32_t d = 0;
      for (size_t k = 0; k < c; k++) {
        int32_t e = (int32_t) x[j][k] - (int32_t) b[k];
        d += (uint32_t) (e * e);
      }
      if (d < best[j])
        best[j] = d;
    }
  }
}
