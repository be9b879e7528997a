/* bench_video.c - the conventional parts of qsuperres on their own: the
 * bilinear upscaler and the two colour conversions, for a frame size and
 * factor (default 320x240, x2), median of repeated runs.
 *
 *   build/tests/gst/bench_gst_video [WIDTH HEIGHT [FACTOR]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "colorspace.h"
#include "upscale.h"

#define RUNS 21

static double
now_ms (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

int
main (int argc, char **argv)
{
  const int w = argc > 2 ? atoi (argv[1]) : 320;
  const int h = argc > 2 ? atoi (argv[2]) : 240;
  const int f = argc > 3 ? atoi (argv[3]) : 2;
  const int ow = w * f, oh = h * f;
  uint8_t *bgrx = malloc ((size_t) ow * oh * 4);
  uint8_t *y = malloc ((size_t) ow * oh), *cb = malloc ((size_t) ow * oh);
  uint8_t *cr = malloc ((size_t) ow * oh), *up = malloc ((size_t) ow * oh);
  double t[3][RUNS];
  unsigned sink = 0;

  if (w <= 0 || h <= 0 || f < 1 || f > 8) {
    fprintf (stderr, "usage: %s [WIDTH HEIGHT [FACTOR 1..8]]\n", argv[0]);
    return 2;
  }
  srand (1);
  for (size_t i = 0; i < (size_t) ow * oh * 4; i++)
    bgrx[i] = (uint8_t) rand ();
  for (size_t i = 0; i < (size_t) ow * oh; i++) {
    y[i] = (uint8_t) rand ();
    cb[i] = (uint8_t) rand ();
    cr[i] = (uint8_t) rand ();
  }

  for (int r = 0; r < RUNS; r++) {
    double t0 = now_ms ();
    gst_q8_upscale_bilinear_u8 (cb, 1, (size_t) w, w, h, up, 1, (size_t) ow,
                                ow, oh, f);
    double t1 = now_ms ();
    for (int j = 0; j < h; j++) {
      const uint8_t *p = bgrx + (size_t) j * w * 4;
      gst_q8_rgb_to_ycbcr_row (p + 2, p + 1, p, 4, y + (size_t) j * w,
                               cb + (size_t) j * w, cr + (size_t) j * w, w);
    }
    double t2 = now_ms ();
    for (int j = 0; j < oh; j++) {
      uint8_t *p = bgrx + (size_t) j * ow * 4;
      gst_q8_ycbcr_to_rgb_row (y + (size_t) j * ow, cb + (size_t) j * ow,
                               cr + (size_t) j * ow, p + 2, p + 1, p, 4, ow);
    }
    double t3 = now_ms ();
    t[0][r] = t1 - t0;
    t[1][r] = t2 - t1;
    t[2][r] = t3 - t2;
    sink += up[r % (ow * oh)] + bgrx[r];
  }
  for (int k = 0; k < 3; k++)
    qsort (t[k], RUNS, sizeof t[k][0], cmp_double);
  printf ("scalar C, 1 thread, %dx%d -> %dx%d (x%d), median of %d\n", w, h,
          ow, oh, f, RUNS);
  printf ("  bilinear upscale (1 plane)  %7.3f ms  %6.2f ns/output px\n",
          t[0][RUNS / 2], t[0][RUNS / 2] * 1e6 / ((double) ow * oh));
  printf ("  BGRx -> YCbCr (input)       %7.3f ms  %6.2f ns/px\n",
          t[1][RUNS / 2], t[1][RUNS / 2] * 1e6 / ((double) w * h));
  printf ("  YCbCr -> BGRx (output)      %7.3f ms  %6.2f ns/px\n",
          t[2][RUNS / 2], t[2][RUNS / 2] * 1e6 / ((double) ow * oh));
  free (bgrx);
  free (y);
  free (cb);
  free (cr);
  free (up);
  return sink == 0xffffffffu;
}
