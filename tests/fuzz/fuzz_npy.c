/* fuzz_npy.c - libFuzzer target: a .npy file from anywhere through the q8
 * tool's reader. */
#include <stddef.h>
#include <stdint.h>

#include "npy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  npy_array a;
  char err[256];
  if (npy_read_buffer (data, size, &a, err, sizeof err) == 0)
    npy_free (&a);
  return 0;
}
