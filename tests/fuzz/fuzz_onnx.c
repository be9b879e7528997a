/* fuzz_onnx.c - libFuzzer target: an ONNX file from anywhere through q8
 * convert's protobuf reader, graph import (at 16x16 for dynamic sizes) and
 * lowering passes. */
#include <stddef.h>
#include <stdint.h>

#include "cv.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  cv_graph *g = NULL;
  char err[512];
  if (cv_import_onnx (data, size, 16, 16, &g, err, sizeof err) == Q8_OK)
    cv_lower (g, err, sizeof err);
  cv_graph_free (g);
  return 0;
}
