/* upscale.h - the conventional upscaler of the q8 GStreamer elements.
 *
 * qsuperres sends luma through the network and everything else (chroma,
 * alpha) through this bilinear upscaler; its fallback mode sends luma
 * through it too.  It is exact integer arithmetic, so its output is the
 * same on every machine and tests can check it exactly.
 */
#ifndef GST_Q8_UPSCALE_H
#define GST_Q8_UPSCALE_H

#include <stddef.h>
#include <stdint.h>

/* Upscales one 8-bit component by the integer factor (1..8) with bilinear
 * interpolation on half-pixel centres (the geometry of OpenCV's INTER_LINEAR
 * and PyTorch's align_corners=False): output sample x sits at source
 * position (x + 1/2) / factor - 1/2, rows likewise, and positions outside
 * the source take the edge sample.
 *
 * Source positions are multiples of 1 / (2 * factor), so every weight is an
 * integer w / (2 * factor) and the result is
 *
 *   out = floor ((sum of 4 weights * samples, in units of 1 / (4 f^2))
 *                + 2 f^2) / (4 f^2))
 *
 * i.e. the exact bilinear value rounded half up.  The largest sum is
 * 255 * 4 f^2 <= 65280 for f <= 8, far inside 32 bits.
 *
 * The output size is given, not derived: a subsampled chroma plane of an
 * odd-sized frame has ceil (w / 2) samples and its upscaled plane
 * ceil (f * w / 2), which is not always f * ceil (w / 2).  The geometry
 * still follows the factor, so chroma stays aligned with luma.
 *
 * Samples are pixel_stride bytes apart within a row and rows stride bytes
 * apart, so the function reads and writes planar, semi-planar (NV12) and
 * packed (YUY2, RGBA) components in place.  Source and destination must
 * not overlap. */
void gst_q8_upscale_bilinear_u8 (const uint8_t *src, int src_pixel_stride,
                                 size_t src_stride, int src_width,
                                 int src_height, uint8_t *dst,
                                 int dst_pixel_stride, size_t dst_stride,
                                 int dst_width, int dst_height, int factor);

/* Copies a component with a pixel stride to a contiguous plane (width bytes
 * per row, rows dst_stride apart) and back. */
void gst_q8_gather_u8 (const uint8_t *src, int src_pixel_stride,
                       size_t src_stride, uint8_t *dst, size_t dst_stride,
                       int width, int height);
void gst_q8_scatter_u8 (const uint8_t *src, size_t src_stride, uint8_t *dst,
                        int dst_pixel_stride, size_t dst_stride, int width,
                        int height);

/* Resamples a component to a contiguous dst_width x dst_height plane by
 * nearest neighbour on pixel centres: output x takes source
 * floor ((2 x + 1) * src_width / (2 * dst_width)).  Any ratio, up or
 * down; qanomaly uses it to bring a frame region to the model's input
 * size. */
void gst_q8_resize_nearest_u8 (const uint8_t *src, int src_pixel_stride,
                               size_t src_stride, int src_width,
                               int src_height, uint8_t *dst, int dst_width,
                               int dst_height);

#endif /* GST_Q8_UPSCALE_H */
