/* fuzz_loader.c - libFuzzer target: a .q8 file from anywhere through the
 * loader, then, if it loads, the planner at a size and thread count taken
 * from the first bytes, and one run on zeroed inputs; a taught feature
 * anomaly model's statistics or memory bank are checked and scored too.
 *
 * Input: byte 0 = width - 1 (mod 32), byte 1 = height - 1 (mod 32),
 * byte 2 = threads (mod 3) and, in bit 7, "keep the checksum"; the rest
 * the model file.  Unless bit 7 is set the harness rewrites the file's
 * CRC-32 (FORMAT.md, header offset 24) so that mutations reach the checks
 * behind it instead of all failing there. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "q8.h"

/* A valid but enormous model (a 64x64 kernel over thousands of channels)
 * would make one input take minutes; such plans are built, not run. */
#define MAX_MACS ((uint64_t) 50 * 1000 * 1000)

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 3)
    return 0;
  int w = data[0] % 32 + 1, h = data[1] % 32 + 1;
  int threads = (data[2] & 0x7f) % 3 + 1;
  size_t n = size - 3;
  uint8_t *file = malloc (n ? n : 1);
  if (file == NULL)
    return 0;
  memcpy (file, data + 3, n);
  if (!(data[2] & 0x80) && n >= 28) {
    memset (file + 24, 0, 4);
    uint32_t crc = q8_crc32 (0, file, n);
    for (int i = 0; i < 4; i++)
      file[24 + i] = (uint8_t) (crc >> (8 * i));
  }
  q8_model *m = NULL;
  char err[256];
  q8_status st = q8_model_load_buffer (file, n, &m, err, sizeof err);
  free (file);
  if (st != Q8_OK)
    return 0;
  q8_plan *p = NULL;
  if (q8_plan_create (m, w, h, threads, &p, err, sizeof err) == Q8_OK) {
    for (size_t i = 0; i < q8_model_num_inputs (m); i++) {
      q8_tensor_info ti;
      if (q8_plan_input_info (p, i, &ti) == Q8_OK)
        memset (q8_plan_input (p, i), 0,
                (size_t) ti.h * ti.w * ti.c * q8_dtype_size (ti.dtype));
    }
    if (q8_plan_macs (p) <= MAX_MACS) {
      q8_run (p);
      q8_scorer *sc = NULL;
      double score;
      if (q8_model_is_feature_anomaly (m)
          && q8_scorer_create (m, p, &sc, err, sizeof err) == Q8_OK)
        q8_scorer_run (sc, p, NULL, &score);
      q8_scorer_free (sc);
    }
    /* A second size re-plans without reloading. */
    q8_plan_resize (p, h, w, err, sizeof err);
    q8_plan_free (p);
  }
  q8_model_free (m);
  return 0;
}
