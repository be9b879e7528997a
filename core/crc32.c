/* crc32.c - CRC-32 (ISO-HDLC, the zlib polynomial), table-driven.  The
 * .q8 checksum; equal to Python's zlib.crc32. */
#include <pthread.h>

#include "q8_internal.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void
make_table (void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}

uint32_t
q8_crc32 (uint32_t crc, const void *data, size_t size)
{
  pthread_once (&table_once, make_table);
  const uint8_t *p = data;
  crc = ~crc;
  for (size_t i = 0; i < size; i++)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}
