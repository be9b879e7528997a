/* cmd_convert.c - the `q8 convert` and `q8 compare` entries of the q8
 * tool's command table (cli/main.c lists them when the converter is
 * built). */
#include "cli.h"
#include "cv.h"

const cli_command cli_cmd_convert = {
  "convert", q8_cli_convert,
  "convert a float32 ONNX model to an int8 .q8 model", cv_convert_usage,
};

const cli_command cli_cmd_compare = {
  "compare", q8_cli_compare,
  "measure a .q8 against its ONNX model on data", cv_compare_usage,
};
