/* colorspace.h - RGB <-> YCbCr for qsuperres's RGB formats.
 *
 * The networks see luma only, so RGB frames are converted to YCbCr, luma
 * goes through the network, chroma through the bilinear upscaler, and the
 * result is converted back.  The matrix is BT.601 in full range (the JPEG /
 * JFIF form, which is what super-resolution papers mean by "Y channel"):
 *
 *   Y  = 0.299 R + 0.587 G + 0.114 B
 *   Cb = 128 + (B - Y) / 1.772
 *   Cr = 128 + (R - Y) / 1.402
 *
 *   R = Y + 1.402 (Cr - 128)
 *   G = Y - (0.114 * 1.772 (Cb - 128) + 0.299 * 1.402 (Cr - 128)) / 0.587
 *   B = Y + 1.772 (Cb - 128)
 *
 * All coefficients are exact decimals, so both directions are computed
 * exactly in integers (e.g. Cb = 128 + (886 B - 299 R - 587 G) / 1772) and
 * each result is the exact value rounded half up, then clamped to 0..255.
 * No intermediate rounding: a test can reproduce every byte with rational
 * arithmetic.
 */
#ifndef GST_Q8_COLORSPACE_H
#define GST_Q8_COLORSPACE_H

#include <stdint.h>

/* Converts width pixels whose R, G and B bytes are at r[x * pixel_stride],
 * g[...] and b[...] to three planar rows. */
void gst_q8_rgb_to_ycbcr_row (const uint8_t *r, const uint8_t *g,
                              const uint8_t *b, int pixel_stride, uint8_t *y,
                              uint8_t *cb, uint8_t *cr, int width);

/* The inverse: writes R, G and B of width pixels. */
void gst_q8_ycbcr_to_rgb_row (const uint8_t *y, const uint8_t *cb,
                              const uint8_t *cr, uint8_t *r, uint8_t *g,
                              uint8_t *b, int pixel_stride, int width);

#endif /* GST_Q8_COLORSPACE_H */
