/* q8_test.c - main () and helpers shared by the Check test programs. */
#include <stdio.h>
#include <stdlib.h>

#include "q8_test.h"

void
q8_rng_fill_s8 (q8_rng *r, int8_t *p, size_t n, int lo, int hi)
{
  for (size_t i = 0; i < n; i++)
    p[i] = (int8_t) q8_rng_int (r, lo, hi);
}

uint64_t
q8_test_seed (void)
{
  const char *s = getenv ("Q8_TEST_SEED");
  return s != NULL ? strtoull (s, NULL, 0) : 20261124u;
}

void *
q8_test_read_file (const char *path, size_t *size)
{
  FILE *f = fopen (path, "rb");
  if (f == NULL)
    return NULL;
  fseek (f, 0, SEEK_END);
  long n = ftell (f);
  fseek (f, 0, SEEK_SET);
  void *p = malloc (n > 0 ? (size_t) n : 1);
  if (p != NULL && fread (p, 1, (size_t) n, f) != (size_t) n) {
    free (p);
    p = NULL;
  }
  fclose (f);
  if (p != NULL)
    *size = (size_t) n;
  return p;
}

int
main (void)
{
  SRunner *sr = srunner_create (q8_test_suite ());
  srunner_run_all (sr, CK_NORMAL);
  int failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
