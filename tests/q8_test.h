/* q8_test.h - shared helpers for the Check test programs.
 *
 * Each test program defines  Suite *q8_test_suite (void);  q8_test.c holds
 * main (), which runs it.  Random data comes from a seeded xorshift
 * generator so every failure is reproducible from the seed it prints.
 */
#ifndef Q8_TEST_H
#define Q8_TEST_H

/* GStreamer element tests use the Check that gst-check bundles (its
 * gstcheck.h wraps that Check's API, not the system Check 0.15's). */
#ifdef Q8_TEST_GST
#include <gst/check/gstcheck.h>
#else
#include <check.h>
#endif
#include <stddef.h>
#include <stdint.h>

#include "q8.h"

Suite *q8_test_suite (void);

typedef struct {
  uint64_t s;
} q8_rng;

static inline void
q8_rng_seed (q8_rng *r, uint64_t seed)
{
  r->s = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  if (r->s == 0)
    r->s = 1;
}

static inline uint64_t
q8_rng_next (q8_rng *r)
{
  uint64_t x = r->s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  r->s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform integer in [lo, hi]. */
static inline int32_t
q8_rng_int (q8_rng *r, int32_t lo, int32_t hi)
{
  uint64_t span = (uint64_t) ((int64_t) hi - lo) + 1;
  return (int32_t) (lo + (int64_t) (q8_rng_next (r) % span));
}

/* Uniform float in [lo, hi). */
static inline float
q8_rng_float (q8_rng *r, float lo, float hi)
{
  return lo + (hi - lo) * (float) ((q8_rng_next (r) >> 40) * (1.0 / 16777216.0));
}

void q8_rng_fill_s8 (q8_rng *r, int8_t *p, size_t n, int lo, int hi);

/* The seed for random tests: $Q8_TEST_SEED or a fixed default. */
uint64_t q8_test_seed (void);

/* Reads a whole file into a malloc'ed buffer; NULL on failure. */
void *q8_test_read_file (const char *path, size_t *size);

#endif /* Q8_TEST_H */
