/* q8_s8_depth_to_space__scalar.c - DepthToSpace, DCR and CRD
 * (ARITHMETIC.md): pure data movement, output rows [y0, y1).
 *
 * Output row oy takes row i = oy % B of every block.  In DCR order the
 * channels (i, j, c) for j < B, c < OC are contiguous in the input pixel,
 * and so are they in CRD order when OC == 1 (super-resolution's case): a
 * run of B * OC bytes per input pixel.  Otherwise each byte is gathered. */
#include <string.h>

#include "q8_kernels.h"

void
q8_s8_depth_to_space__scalar (const q8_d2s_params *p, const int8_t *in,
                              int8_t *out, int32_t y0, int32_t y1)
{
  const int32_t b = p->block, oc = p->in_c / (b * b), ow = p->in_w * b;
  const size_t run = (size_t) b * oc;
  for (int32_t oy = y0; oy < y1; oy++) {
    const int32_t i = oy % b;
    const int8_t *row = in + (size_t) (oy / b) * p->in_w * p->in_c;
    int8_t *dst = out + (size_t) oy * ow * oc;
    if (p->mode == Q8_D2S_DCR || oc == 1) {
      const int8_t *src = row + (size_t) i * run;
      for (int32_t x = 0; x < p->in_w; x++, src += p->in_c, dst += run)
        for (size_t k = 0; k < run; k++)
          dst[k] = src[k];
      continue;
    }
    for (int32_t x = 0; x < p->in_w; x++) {
      const int8_t *src = row + (size_t) x * p->in_c;
      for (int32_t j = 0; j < b; j++, dst += oc)
        for (int32_t c = 0; c < oc; c++)
          dst[c] = src[c * b * b + i * b + j];
    }
  }
}
