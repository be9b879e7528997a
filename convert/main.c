/* main.c - a standalone q8-convert driver (the same as `q8 convert`), for
 * builds and tests that want the converter without the rest of the tool. */
#include <string.h>

#include "cv.h"

int
main (int argc, char **argv)
{
  /* q8-convert compare ... runs `q8 compare`. */
  if (argc > 1 && !strcmp (argv[1], "compare"))
    return q8_cli_compare (argc - 1, argv + 1);
  return q8_cli_convert (argc, argv);
}
