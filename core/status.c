/* status.c - status names and the error-message helper. */
#include <stdio.h>

#include "q8_internal.h"

const char *
q8_status_str (q8_status status)
{
  switch (status) {
#define Q8_STATUS_CASE_(name, value, msg) \
  case Q8_##name:                         \
    return msg;
    Q8_STATUS_LIST (Q8_STATUS_CASE_)
#undef Q8_STATUS_CASE_
  }
  return "unknown status";
}

q8_status
q8__err (char *err, size_t err_size, q8_status status, const char *fmt, ...)
{
  if (err != NULL && err_size > 0) {
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, err_size, fmt, ap);
    va_end (ap);
  }
  return status;
}

size_t
q8_dtype_size (q8_dtype dtype)
{
  switch (dtype) {
    case Q8_DTYPE_S8:
    case Q8_DTYPE_U8:
      return 1;
    case Q8_DTYPE_S32:
    case Q8_DTYPE_F32:
      return 4;
  }
  return 0;
}

const char *
q8_dtype_name (q8_dtype dtype)
{
  switch (dtype) {
    case Q8_DTYPE_S8:
      return "s8";
    case Q8_DTYPE_U8:
      return "u8";
    case Q8_DTYPE_S32:
      return "s32";
    case Q8_DTYPE_F32:
      return "f32";
  }
  return "unknown";
}
