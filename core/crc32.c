/* STUB */
#include "q8_internal.h"
