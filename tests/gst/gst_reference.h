/* gst_reference.h - independent references for the element tests: the
 * bilinear upscale and the BT.601 full-range conversions, written from
 * their definitions in floating point (not from gst-plugin/'s integer
 * code). */
#ifndef GST_REFERENCE_H
#define GST_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* Bilinear upscale by factor f with half-pixel centres and clamped edges,
 * evaluated in double.  Writes the rounded value (half up) to dst and,
 * when tie is not NULL, whether the exact value may be a .5 tie (then the
 * double evaluation cannot decide the rounding and either neighbour is
 * right); that happens only for factors that are not powers of two. */
void ref_upscale_bilinear (const uint8_t *src, int src_ps, size_t src_stride,
                           int sw, int sh, uint8_t *dst, uint8_t *tie,
                           int dw, int dh, int f);

/* BT.601 full range, exact rational evaluation rounded half up and
 * clamped. */
void ref_rgb_to_ycbcr (int r, int g, int b, uint8_t *y, uint8_t *cb,
                       uint8_t *cr);
void ref_ycbcr_to_rgb (int y, int cb, int cr, uint8_t *r, uint8_t *g,
                       uint8_t *b);

#endif /* GST_REFERENCE_H */
