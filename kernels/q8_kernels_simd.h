/* q8_kernels_simd.h - the SIMD kernels of kernels/<isa>/ that dispatch.c
 * puts in its tables.  Each ISA's functions exist only when meson built
 * that ISA's library (Q8_HAVE_<ISA> is then defined for dispatch.c). */
#ifndef Q8_KERNELS_SIMD_H
#define Q8_KERNELS_SIMD_H

#include "q8_kernels.h"

/* Generic convolution (groups = 1, padded kw * in_c <= 2048): vpdpbusd,
 * 16-channel blocks, x + 128 compensated in the packed bias. */
int q8_s8_conv2d_accepts__avx512vnni (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size__avx512vnni (const q8_conv_params *p);
void q8_s8_conv2d_pack__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                    const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__avx512vnni (const q8_conv_params *p,
                                       const void *packed, const int8_t *in,
                                       int8_t *out, int32_t y0, int32_t y1);

/* Convolution with out_c <= 15 (groups = 1, in_c <= 64, kh, kw <= 8,
 * stride_w = dilation_w = 1): 16 output pixels in the lanes, all channels
 * per tile, gathered 4-channel groups, weights broadcast. */
int q8_s8_conv2d_accepts_16p__avx512vnni (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size_16p__avx512vnni (const q8_conv_params *p);
void q8_s8_conv2d_pack_16p__avx512vnni (const q8_conv_params *p,
                                        const int8_t *w, const int32_t *bias,
                                        void *packed);
void q8_s8_conv2d_requant_16p__avx512vnni (const q8_conv_params *p,
                                           const void *packed,
                                           const int8_t *in, int8_t *out,
                                           int32_t y0, int32_t y1);

/* Convolution of a 1-channel input (groups = 1, kh, kw <= 8, stride_w =
 * dilation_w = 1): taps packed 4 to a group across kernel rows (7 groups
 * for 5x5), staged input rows, 16-channel blocks. */
int q8_s8_conv2d_accepts_ic1__avx512vnni (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size_ic1__avx512vnni (const q8_conv_params *p);
void q8_s8_conv2d_pack_ic1__avx512vnni (const q8_conv_params *p,
                                        const int8_t *w, const int32_t *bias,
                                        void *packed);
void q8_s8_conv2d_requant_ic1__avx512vnni (const q8_conv_params *p,
                                           const void *packed,
                                           const int8_t *in, int8_t *out,
                                           int32_t y0, int32_t y1);

/* Depthwise convolution (groups = in_c = out_c <= 2048, kh * kw <= 64,
 * q8_dwconv_taps.h): 16 channels per zmm, vpmovsxbd and vpdpwssd.  The
 * depthwise kernels' scalar twin is q8_s8_conv2d_requant__scalar, which
 * takes every group count (a second scalar loop would only repeat it). */
int q8_s8_dwconv2d_accepts__avx512vnni (const q8_conv_params *p);
size_t q8_s8_dwconv2d_packed_size__avx512vnni (const q8_conv_params *p);
void q8_s8_dwconv2d_pack__avx512vnni (const q8_conv_params *p, const int8_t *w,
                                      const int32_t *bias, void *packed);
void q8_s8_dwconv2d_requant__avx512vnni (const q8_conv_params *p,
                                         const void *packed, const int8_t *in,
                                         int8_t *out, int32_t y0, int32_t y1);

/* DepthToSpace with vpermi2b (DCR, or CRD with one output channel;
 * in_c <= 128); other shapes call the scalar twin. */
void q8_s8_depth_to_space__avx512vnni (const q8_d2s_params *p,
                                       const int8_t *in, int8_t *out,
                                       int32_t y0, int32_t y1);

/* Bilinear resize of 1 channel with fw >= 2, fh * fw <= 32: separable,
 * int16 and vpermw; other shapes call the AVX2 kernel. */
void q8_u8_l2nn__avx512vnni (size_t n, size_t c, size_t m,
                             const uint8_t *const *x, const uint8_t *bank,
                             uint32_t *best);
void q8_s8_resize__avx512vnni (const q8_resize_params *p, const int8_t *in,
                               int8_t *out, int32_t y0, int32_t y1);

/* Generic convolution (groups = 1, padded kw * in_c <= 2048): 256-bit
 * vpdpbusd of AVX-VNNI, 8-channel blocks, x + 128 compensated in the
 * packed bias. */
int q8_s8_conv2d_accepts__avxvnni (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size__avxvnni (const q8_conv_params *p);
void q8_s8_conv2d_pack__avxvnni (const q8_conv_params *p, const int8_t *w,
                                 const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__avxvnni (const q8_conv_params *p,
                                    const void *packed, const int8_t *in,
                                    int8_t *out, int32_t y0, int32_t y1);

/* Convolution of a 1-channel input with AVX-VNNI (groups = 1, kh, kw <=
 * 8, stride_w = dilation_w = 1): q8_conv_ic1.h's groups across kernel
 * rows, 8-channel blocks. */
int q8_s8_conv2d_accepts_ic1__avxvnni (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size_ic1__avxvnni (const q8_conv_params *p);
void q8_s8_conv2d_pack_ic1__avxvnni (const q8_conv_params *p,
                                     const int8_t *w, const int32_t *bias,
                                     void *packed);
void q8_s8_conv2d_requant_ic1__avxvnni (const q8_conv_params *p,
                                        const void *packed, const int8_t *in,
                                        int8_t *out, int32_t y0, int32_t y1);

/* Generic convolution (groups = 1, padded kw * in_c <= 1024): int16
 * vpmaddwd on widened spans, 16-channel tiles, scalar epilogue. */
int q8_s8_conv2d_accepts__avx2 (const q8_conv_params *p);
void q8_s8_add_requant__avx2 (size_t n, const int8_t *a, const int8_t *b,
                              int8_t *y, const q8_add_params *p);
void q8_s8_resize__avx2 (const q8_resize_params *p, const int8_t *in,
                         int8_t *out, int32_t y0, int32_t y1);
void q8_rescale__avx2 (size_t pixels, size_t c, const void *x,
                       size_t x_stride, void *y, size_t y_stride,
                       const q8_rescale_params *p);
void q8_u8_l2nn__avx2 (size_t n, size_t c, size_t m,
                       const uint8_t *const *x, const uint8_t *bank,
                       uint32_t *best);
void q8_s8_maxpool__avx2 (const q8_pool_params *p, const int8_t *in,
                          int8_t *out, int32_t y0, int32_t y1);
size_t q8_s8_conv2d_packed_size__avx2 (const q8_conv_params *p);
void q8_s8_conv2d_pack__avx2 (const q8_conv_params *p, const int8_t *w,
                              const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__avx2 (const q8_conv_params *p, const void *packed,
                                 const int8_t *in, int8_t *out, int32_t y0,
                                 int32_t y1);

/* Depthwise convolution (as the AVX-512 one): 8 channels per ymm,
 * vpmovsxbd and vpmaddwd, vector short-form rule R. */
int q8_s8_dwconv2d_accepts__avx2 (const q8_conv_params *p);
size_t q8_s8_dwconv2d_packed_size__avx2 (const q8_conv_params *p);
void q8_s8_dwconv2d_pack__avx2 (const q8_conv_params *p, const int8_t *w,
                                const int32_t *bias, void *packed);
void q8_s8_dwconv2d_requant__avx2 (const q8_conv_params *p,
                                   const void *packed, const int8_t *in,
                                   int8_t *out, int32_t y0, int32_t y1);

/* Depthwise convolution (as the AVX-512 one) for baseline aarch64, also
 * in the neondot table: 16 channels per vector, tap pairs summed in int16
 * (smull/smlal) and widened into int32. */
int q8_s8_dwconv2d_accepts__neon (const q8_conv_params *p);
size_t q8_s8_dwconv2d_packed_size__neon (const q8_conv_params *p);
void q8_s8_dwconv2d_pack__neon (const q8_conv_params *p, const int8_t *w,
                                const int32_t *bias, void *packed);
void q8_s8_dwconv2d_requant__neon (const q8_conv_params *p,
                                   const void *packed, const int8_t *in,
                                   int8_t *out, int32_t y0, int32_t y1);

/* Generic convolution for baseline aarch64 NEON (groups = 1, kw * in_c
 * rounded up to 16 <= 2048): smull/smlal2/sadalp along the span, 3 pixels
 * x 8 channels per tile. */
void q8_u8_l2nn__neon (size_t n, size_t c, size_t m,
                       const uint8_t *const *x, const uint8_t *bank,
                       uint32_t *best);
void q8_u8_l2nn__neondot (size_t n, size_t c, size_t m,
                          const uint8_t *const *x, const uint8_t *bank,
                          uint32_t *best);
int q8_s8_conv2d_accepts__neon (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size__neon (const q8_conv_params *p);
void q8_s8_conv2d_pack__neon (const q8_conv_params *p, const int8_t *w,
                              const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__neon (const q8_conv_params *p, const void *packed,
                                 const int8_t *in, int8_t *out, int32_t y0,
                                 int32_t y1);

/* Generic convolution with sdot (groups = 1, kw * in_c rounded up to 4
 * <= 2048): 5 pixels x 16 channels per tile. */
int q8_s8_conv2d_accepts__neondot (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size__neondot (const q8_conv_params *p);
void q8_s8_conv2d_pack__neondot (const q8_conv_params *p, const int8_t *w,
                                 const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__neondot (const q8_conv_params *p,
                                    const void *packed, const int8_t *in,
                                    int8_t *out, int32_t y0, int32_t y1);

/* Generic convolution with smmla (groups = 1, kw * in_c rounded up to 8
 * <= 2048): 6 pixels (3 pairs) x 16 channels (8 pairs) per tile. */
int q8_s8_conv2d_accepts__neoni8mm (const q8_conv_params *p);
size_t q8_s8_conv2d_packed_size__neoni8mm (const q8_conv_params *p);
void q8_s8_conv2d_pack__neoni8mm (const q8_conv_params *p, const int8_t *w,
                                  const int32_t *bias, void *packed);
void q8_s8_conv2d_requant__neoni8mm (const q8_conv_params *p,
                                     const void *packed, const int8_t *in,
                                     int8_t *out, int32_t y0, int32_t y1);

#endif /* Q8_KERNELS_SIMD_H */
