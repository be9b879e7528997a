/* q8_s8_depth_to_space__scalar.c - DepthToSpace, DCR and CRD
 * (ARITHMETIC.md): pure data movement, output rows [y0, y1). */
#include "q8_kernels.h"

void
q8_s8_depth_to_space__scalar (const q8_d2s_params *p, const int8_t *in,
                              int8_t *out, int32_t y0, int32_t y1)
{
  int32_t b = p->block, oc = p->in_c / (b * b), ow = p->in_w * b;
  for (int32_t oy = y0; oy < y1; oy++)
    for (int32_t ox = 0; ox < ow; ox++) {
      int32_t i = oy % b, j = ox % b;
      const int8_t *src = in + ((size_t) (oy / b) * p->in_w + ox / b) * p->in_c;
      int8_t *dst = out + ((size_t) oy * ow + ox) * oc;
      for (int32_t c = 0; c < oc; c++)
        dst[c] = src[p->mode == Q8_D2S_DCR ? (i * b + j) * oc + c
                                           : c * b * b + i * b + j];
    }
}
