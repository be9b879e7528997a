/* gst_test_models.h - small .q8 models the element tests build with the q8
 * builder, whose output is known exactly, and the expected qsuperres
 * output computed with libq8 directly and the references of
 * gst_reference.h. */
#ifndef GST_TEST_MODELS_H
#define GST_TEST_MODELS_H

#include <stdint.h>

/* A temporary file name for a model; the caller unlinks and g_free()s it. */
char *gst_test_temp_model_path (void);

/* An anomaly model whose map is its luma input: u8 -> quantize to s8 with
 * the same scale 1/255, so map = pixel / 255 exactly.  Metadata: task
 * "anomaly", anomaly.threshold 0.5 and, if width > 0, input.width and
 * input.height.  Returns the file's path (see above). */
char *gst_test_write_luma_anomaly_model (int width, int height);

/* A feature anomaly model (anomaly.method "gaussian", untaught) whose
 * single feature is its luma input at width x height: u8 -> s8 with scale
 * 1/255, so feature = pixel / 255 and one quantization step is 1/255. */
char *gst_test_write_gaussian_model (int width, int height);

/* The network of model file path run through libq8 on a w x h plane
 * (samples pstride bytes apart, rows stride apart); returns the g_malloc'ed
 * output plane, *ow x *oh. */
uint8_t *gst_test_libq8_luma (const char *path, const uint8_t *plane,
    int pstride, int stride, int w, int h, int *ow, int *oh);

/* What qsuperres makes of an RGB image with the luma model path and factor
 * f: the references' BT.601 YCbCr, luma through libq8, chroma bilinear,
 * back to RGB.  Writes three g_malloc'ed (f w) x (f h) planes. */
void gst_test_ref_superres_rgb (const char *path, const uint8_t *r,
    const uint8_t *g, const uint8_t *b, int pstride, int stride, int w,
    int h, int f, uint8_t **out_r, uint8_t **out_g, uint8_t **out_b);

#endif /* GST_TEST_MODELS_H */
