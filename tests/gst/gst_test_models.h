/* gst_test_models.h - small .q8 models the element tests build with the q8
 * builder, whose output is known exactly. */
#ifndef GST_TEST_MODELS_H
#define GST_TEST_MODELS_H

/* A temporary file name for a model; the caller unlinks and g_free()s it. */
char *gst_test_temp_model_path (void);

/* An anomaly model whose map is its luma input: u8 -> quantize to s8 with
 * the same scale 1/255, so map = pixel / 255 exactly.  Metadata: task
 * "anomaly", anomaly.threshold 0.5 and, if width > 0, input.width and
 * input.height.  Returns the file's path (see above). */
char *gst_test_write_luma_anomaly_model (int width, int height);

#endif /* GST_TEST_MODELS_H */
