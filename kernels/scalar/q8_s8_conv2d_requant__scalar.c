/* STUB: to be written */
#include "q8_kernels.h"
size_t q8_s8_conv2d_packed_size__scalar (const q8_conv_params *p) { (void) p; return 0; }
void q8_s8_conv2d_pack__scalar (const q8_conv_params *p, const int8_t *w, const int32_t *bias, void *packed) {}
void q8_s8_conv2d_requant__scalar (const q8_conv_params *p, const void *packed, const int8_t *in, int8_t *out, int32_t y0, int32_t y1) {}
