/* STUB */
#include "q8_internal.h"
const q8__op_class q8__op_depth_to_space = { .name = "depth_to_space" };
