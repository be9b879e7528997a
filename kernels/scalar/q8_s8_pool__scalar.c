/* STUB: to be written */
#include "q8_kernels.h"
void q8_s8_maxpool__scalar (const q8_pool_params *p, const int8_t *in, int8_t *out, int32_t y0, int32_t y1) {}
void q8_s8_avgpool__scalar (const q8_pool_params *p, const int8_t *in, int8_t *out, int32_t y0, int32_t y1) {}
