/* q8_s8_lut__scalar.c - 256-entry table lookups (ARITHMETIC.md, UNARY). */
#include "q8_kernels.h"

void
q8_s8_lut__scalar (size_t n, const int8_t *x, int8_t *y, const int8_t *table)
{
  for (size_t i = 0; i < n; i++)
    y[i] = table[x[i] + 128];
}

void
q8_s8_lut_channels__scalar (size_t pixels, size_t c, const int8_t *x,
                            int8_t *y, const int8_t *tables)
{
  for (size_t i = 0; i < pixels; i++)
    for (size_t k = 0; k < c; k++)
      y[i * c + k] = tables[k * 256 + x[i * c + k] + 128];
}
