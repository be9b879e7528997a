/* q8_alloc_count.c - the allocation counter of q8_alloc_count.h: the
 * linker sends libq8's (and the test's) allocation calls here. */
#include <stddef.h>

#include "q8_alloc_count.h"

static volatile int counting;
static volatile long allocations;

void *__real_malloc (size_t size);
void *__real_calloc (size_t n, size_t size);
void *__real_realloc (void *p, size_t size);
void *__real_aligned_alloc (size_t align, size_t size);
void *__wrap_malloc (size_t size);
void *__wrap_calloc (size_t n, size_t size);
void *__wrap_realloc (void *p, size_t size);
void *__wrap_aligned_alloc (size_t align, size_t size);

void *
__wrap_malloc (size_t size)
{
  if (counting)
    allocations++;
  return __real_malloc (size);
}

void *
__wrap_calloc (size_t n, size_t size)
{
  if (counting)
    allocations++;
  return __real_calloc (n, size);
}

void *
__wrap_realloc (void *p, size_t size)
{
  if (counting)
    allocations++;
  return __real_realloc (p, size);
}

void *
__wrap_aligned_alloc (size_t align, size_t size)
{
  if (counting)
    allocations++;
  return __real_aligned_alloc (align, size);
}

void
q8_alloc_count_start (void)
{
  allocations = 0;
  counting = 1;
}

long
q8_alloc_count_stop (void)
{
  counting = 0;
  return allocations;
}
