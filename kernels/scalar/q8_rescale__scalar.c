/* STUB: to be written */
#include "q8_kernels.h"
void q8_rescale__scalar (size_t pixels, size_t c, const void *x, size_t x_stride, void *y, size_t y_stride, const q8_rescale_params *p) {}
