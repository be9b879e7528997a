/* upscale.c - exact integer bilinear upscaling by an integer factor, for
 * the components qsuperres does not send through the network.  upscale.h
 * defines the geometry and the rounding. */
#include "upscale.h"

/* Where output index i (of a row or a column) samples the source: between
 * source samples i0 and i1 with weight frac / (2 f) on i1.  The position
 * (i + 1/2) / f - 1/2 is (2 i + 1 - f) / (2 f), so numerators grow by 2 per
 * output sample and the split into i0 and frac is a floor division. */
typedef struct {
  int i0, i1, frac;
} tap;

static inline tap
tap_at (int i, int f, int n)
{
  int p = 2 * i + 1 - f;
  int two_f = 2 * f;
  /* Floor division: p is negative only near the start (p >= 1 - f). */
  int q = p >= 0 ? p / two_f : -((-p + two_f - 1) / two_f);
  tap t;
  t.frac = p - q * two_f;
  t.i0 = q < 0 ? 0 : (q >= n ? n - 1 : q);
  t.i1 = q + 1 < 0 ? 0 : (q + 1 >= n ? n - 1 : q + 1);
  return t;
}

/* The loop body, inlined with a constant factor for the common factors so
 * the division by 4 f^2 becomes a multiply-shift. */
static inline __attribute__ ((always_inline)) void
upscale_rows (const uint8_t *src, int sps, size_t sstride, int sw, int sh,
              uint8_t *dst, int dps, size_t dstride, int dw, int dh,
              const int f)
{
  const int two_f = 2 * f;
  const int denom = 4 * f * f;
  const int half = 2 * f * f;

  for (int y = 0; y < dh; y++) {
    tap ty = tap_at (y, f, sh);
    const uint8_t *r0 = src + (size_t) ty.i0 * sstride;
    const uint8_t *r1 = src + (size_t) ty.i1 * sstride;
    const int wy1 = ty.frac, wy0 = two_f - ty.frac;
    uint8_t *out = dst + (size_t) y * dstride;

    for (int x = 0; x < dw; x++) {
      tap tx = tap_at (x, f, sw);
      const int wx1 = tx.frac, wx0 = two_f - tx.frac;
      const size_t a = (size_t) tx.i0 * sps, b = (size_t) tx.i1 * sps;
      int top = r0[a] * wx0 + r0[b] * wx1;
      int bot = r1[a] * wx0 + r1[b] * wx1;
      out[(size_t) x * dps] = (uint8_t) ((top * wy0 + bot * wy1 + half)
                                         / denom);
    }
  }
}

void
gst_q8_upscale_bilinear_u8 (const uint8_t *src, int src_pixel_stride,
                            size_t src_stride, int src_width, int src_height,
                            uint8_t *dst, int dst_pixel_stride,
                            size_t dst_stride, int dst_width, int dst_height,
                            int factor)
{
  if (src_width <= 0 || src_height <= 0)
    return;
  switch (factor) {
    case 2:
      upscale_rows (src, src_pixel_stride, src_stride, src_width, src_height,
                    dst, dst_pixel_stride, dst_stride, dst_width, dst_height,
                    2);
      break;
    case 3:
      upscale_rows (src, src_pixel_stride, src_stride, src_width, src_height,
                    dst, dst_pixel_stride, dst_stride, dst_width, dst_height,
                    3);
      break;
    case 4:
      upscale_rows (src, src_pixel_stride, src_stride, src_width, src_height,
                    dst, dst_pixel_stride, dst_stride, dst_width, dst_height,
                    4);
      break;
    default:
      upscale_rows (src, src_pixel_stride, src_stride, src_width, src_height,
                    dst, dst_pixel_stride, dst_stride, dst_width, dst_height,
                    factor);
      break;
  }
}

void
gst_q8_gather_u8 (const uint8_t *src, int src_pixel_stride,
                  size_t src_stride, uint8_t *dst, size_t dst_stride,
                  int width, int height)
{
  for (int y = 0; y < height; y++) {
    const uint8_t *s = src + (size_t) y * src_stride;
    uint8_t *d = dst + (size_t) y * dst_stride;
    for (int x = 0; x < width; x++)
      d[x] = s[(size_t) x * src_pixel_stride];
  }
}

void
gst_q8_scatter_u8 (const uint8_t *src, size_t src_stride, uint8_t *dst,
                   int dst_pixel_stride, size_t dst_stride, int width,
                   int height)
{
  for (int y = 0; y < height; y++) {
    const uint8_t *s = src + (size_t) y * src_stride;
    uint8_t *d = dst + (size_t) y * dst_stride;
    for (int x = 0; x < width; x++)
      d[(size_t) x * dst_pixel_stride] = s[x];
  }
}

void
gst_q8_resize_nearest_u8 (const uint8_t *src, int src_pixel_stride,
                          size_t src_stride, int src_width, int src_height,
                          uint8_t *dst, int dst_width, int dst_height)
{
  for (int y = 0; y < dst_height; y++) {
    const int sy = (int) (((int64_t) 2 * y + 1) * src_height
                          / (2 * (int64_t) dst_height));
    const uint8_t *s = src + (size_t) sy * src_stride;
    uint8_t *d = dst + (size_t) y * dst_width;
    for (int x = 0; x < dst_width; x++) {
      const int sx = (int) (((int64_t) 2 * x + 1) * src_width
                            / (2 * (int64_t) dst_width));
      d[x] = s[(size_t) sx * src_pixel_stride];
    }
  }
}
