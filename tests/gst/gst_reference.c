/* gst_reference.c - see gst_reference.h. */
#include <math.h>

#include "gst_reference.h"

static int
clampi (int v, int lo, int hi)
{
  return v < lo ? lo : (v > hi ? hi : v);
}

static uint8_t
round_u8 (double v)
{
  return (uint8_t) clampi ((int) floor (v + 0.5), 0, 255);
}

void
ref_upscale_bilinear (const uint8_t *src, int src_ps, size_t src_stride,
                      int sw, int sh, uint8_t *dst, uint8_t *tie, int dw,
                      int dh, int f)
{
  for (int y = 0; y < dh; y++) {
    double sy = (y + 0.5) / f - 0.5;
    int y0 = (int) floor (sy);
    double fy = sy - y0;
    int ya = clampi (y0, 0, sh - 1), yb = clampi (y0 + 1, 0, sh - 1);
    for (int x = 0; x < dw; x++) {
      double sx = (x + 0.5) / f - 0.5;
      int x0 = (int) floor (sx);
      double fx = sx - x0;
      int xa = clampi (x0, 0, sw - 1), xb = clampi (x0 + 1, 0, sw - 1);
      double p00 = src[ya * src_stride + (size_t) xa * src_ps];
      double p01 = src[ya * src_stride + (size_t) xb * src_ps];
      double p10 = src[yb * src_stride + (size_t) xa * src_ps];
      double p11 = src[yb * src_stride + (size_t) xb * src_ps];
      double v = (1 - fy) * ((1 - fx) * p00 + fx * p01)
          + fy * ((1 - fx) * p10 + fx * p11);
      dst[(size_t) y * dw + x] = round_u8 (v);
      /* For factors that are powers of two every weight is a short binary
       * fraction and v is exact, so only other factors have doubtful
       * ties. */
      if (tie != NULL)
        tie[(size_t) y * dw + x] = (f & (f - 1)) != 0
            && fabs (v - floor (v) - 0.5) < 1e-9;
    }
  }
}

/* The definitions, with each coefficient written as the exact fraction of
 * integers it is (0.299 = 299 / 1000, 1 / 1.772 = 1000 / 1772, ...): one
 * correctly rounded division of an exact integer, so a .5 tie stays
 * exactly .5 and the rounding is decided right. */
void
ref_rgb_to_ycbcr (int r, int g, int b, uint8_t *y, uint8_t *cb, uint8_t *cr)
{
  /* Y = 0.299 R + 0.587 G + 0.114 B */
  *y = round_u8 ((299.0 * r + 587.0 * g + 114.0 * b) / 1000.0);
  /* Cb = 128 + (B - Y) / 1.772 with the unrounded Y:
   * (1000 B - 299 R - 587 G - 114 B) / 1772 */
  *cb = round_u8 (128.0 + (886.0 * b - 299.0 * r - 587.0 * g) / 1772.0);
  /* Cr = 128 + (R - Y) / 1.402 */
  *cr = round_u8 (128.0 + (701.0 * r - 587.0 * g - 114.0 * b) / 1402.0);
}

void
ref_ycbcr_to_rgb (int y, int cb, int cr, uint8_t *r, uint8_t *g, uint8_t *b)
{
  double db = cb - 128, dr = cr - 128;
  /* R = Y + 1.402 (Cr - 128), B = Y + 1.772 (Cb - 128) */
  *r = round_u8 ((1000.0 * y + 1402.0 * dr) / 1000.0);
  *b = round_u8 ((1000.0 * y + 1772.0 * db) / 1000.0);
  /* G = (Y - 0.299 R - 0.114 B) / 0.587 with R and B unrounded:
   * Y - (0.114 * 1.772 db + 0.299 * 1.402 dr) / 0.587 */
  *g = round_u8 ((587000.0 * y - 114.0 * 1772.0 * db - 299.0 * 1402.0 * dr)
                 / 587000.0);
}
