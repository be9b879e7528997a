/* colorspace.c - exact integer BT.601 full-range RGB <-> YCbCr; the matrix
 * and the rounding rule are in colorspace.h.
 *
 * Each result is round_half_up (n / d) for an integer numerator n and a
 * constant denominator d.  Negative numerators are lifted by a multiple k
 * of d first, so the division is an unsigned floor:
 * (n + k d + d / 2) / d - k.  All numerators stay below 2^31 (the largest,
 * G's, is 587000 * 255 + 621206 * 128 + offsets < 3.1e8). */
#include "colorspace.h"

static inline uint8_t
clamp_u8 (int v)
{
  return (uint8_t) (v < 0 ? 0 : (v > 255 ? 255 : v));
}

void
gst_q8_rgb_to_ycbcr_row (const uint8_t *r, const uint8_t *g,
                         const uint8_t *b, int pixel_stride, uint8_t *y,
                         uint8_t *cb, uint8_t *cr, int width)
{
  for (int x = 0; x < width; x++) {
    const int R = r[x * pixel_stride];
    const int G = g[x * pixel_stride];
    const int B = b[x * pixel_stride];

    /* Y = (299 R + 587 G + 114 B) / 1000, never negative, never > 255. */
    y[x] = (uint8_t) ((unsigned) (299 * R + 587 * G + 114 * B + 500) / 1000);

    /* Cb = 128 + (886 B - 299 R - 587 G) / 1772; the numerator plus
     * 128 * 1772 is at least 886, so no lift is needed, and the top value
     * 256 is clamped. */
    cb[x] = clamp_u8 ((int) ((unsigned) (886 * B - 299 * R - 587 * G
                                         + 128 * 1772 + 886) / 1772));

    /* Cr = 128 + (701 R - 587 G - 114 B) / 1402, likewise. */
    cr[x] = clamp_u8 ((int) ((unsigned) (701 * R - 587 * G - 114 * B
                                         + 128 * 1402 + 701) / 1402));
  }
}

void
gst_q8_ycbcr_to_rgb_row (const uint8_t *y, const uint8_t *cb,
                         const uint8_t *cr, uint8_t *r, uint8_t *g,
                         uint8_t *b, int pixel_stride, int width)
{
  for (int x = 0; x < width; x++) {
    const int Y = y[x];
    const int db = cb[x] - 128;
    const int dr = cr[x] - 128;

    /* R = (1000 Y + 1402 dr) / 1000 >= -179.456: lift by 180. */
    r[x * pixel_stride] =
        clamp_u8 ((int) ((unsigned) (1000 * Y + 1402 * dr + 180000 + 500)
                         / 1000) - 180);

    /* G = (587000 Y - 202008 db - 419198 dr) / 587000, where
     * 202008 = 114 * 1772 and 419198 = 299 * 1402; the numerator is at
     * least -621206 * 128 > -135 * 587000: lift by 135. */
    g[x * pixel_stride] =
        clamp_u8 ((int) ((unsigned) (587000 * Y - 202008 * db - 419198 * dr
                                     + 135 * 587000 + 293500) / 587000)
                  - 135);

    /* B = (1000 Y + 1772 db) / 1000 >= -226.816: lift by 227. */
    b[x * pixel_stride] =
        clamp_u8 ((int) ((unsigned) (1000 * Y + 1772 * db + 227000 + 500)
                         / 1000) - 227);
  }
}
