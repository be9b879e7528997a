/* STUB */
#include "q8_internal.h"
const q8__op_class q8__op_maxpool = { .name = "maxpool" };
const q8__op_class q8__op_avgpool = { .name = "avgpool" };
