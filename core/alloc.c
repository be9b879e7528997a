/* alloc.c - 64-byte aligned, zeroed allocations with Q8_EXTRA_BYTES of
 * readable tail padding (kernels may over-read that far). */
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

void *
q8__alloc (size_t size)
{
  size_t total;
  if (!q8__add_size (size, Q8_EXTRA_BYTES, &total))
    return NULL;
  /* aligned_alloc wants a multiple of the alignment. */
  if (!q8__add_size (total, 63, &total))
    return NULL;
  total &= ~(size_t) 63;
  void *p = aligned_alloc (64, total);
  if (p != NULL)
    memset (p, 0, total);
  return p;
}

void
q8__free (void *p)
{
  free (p);
}
