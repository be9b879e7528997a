/* main.c - a standalone q8-convert driver (the same as `q8 convert`), for
 * builds and tests that want the converter without the rest of the tool. */
#include "cv.h"

int
main (int argc, char **argv)
{
  return q8_cli_convert (argc, argv);
}
