/* gst_test_models.c - see gst_test_models.h. */
#include <unistd.h>

#include <glib.h>

#include "q8_test.h"
#include "gst_test_models.h"

char *
gst_test_temp_model_path (void)
{
  gchar *path = g_build_filename (g_get_tmp_dir (), "q8-test-XXXXXX.q8",
      NULL);
  int fd = g_mkstemp (path);

  ck_assert_msg (fd >= 0, "cannot create %s", path);
  close (fd);
  return path;
}

char *
gst_test_write_luma_anomaly_model (int width, int height)
{
  gchar *path = gst_test_temp_model_path ();
  q8_builder *b = q8_builder_new ();
  char err[256];
  int64_t x, y;

  x = q8_builder_add_activation (b, "x", Q8_DTYPE_U8, 1, 1.0f / 255, 0);
  y = q8_builder_add_activation (b, "map", Q8_DTYPE_S8, 1, 1.0f / 255, -128);
  ck_assert (x >= 0 && y >= 0);
  {
    uint32_t in = (uint32_t) x, out = (uint32_t) y;
    ck_assert (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, &in, 1, &out, NULL,
            0) >= 0);
    ck_assert_int_eq (q8_builder_add_input (b, in), Q8_OK);
    ck_assert_int_eq (q8_builder_add_output (b, out), Q8_OK);
  }
  ck_assert_int_eq (q8_builder_meta_string (b, "task", "anomaly"), Q8_OK);
  ck_assert_int_eq (q8_builder_meta_float (b, "anomaly.threshold", 0.5),
      Q8_OK);
  if (width > 0) {
    ck_assert_int_eq (q8_builder_meta_int (b, "input.width", width), Q8_OK);
    ck_assert_int_eq (q8_builder_meta_int (b, "input.height", height),
        Q8_OK);
  }
  ck_assert_msg (q8_builder_write_file (b, path, err, sizeof err) == Q8_OK,
      "anomaly model: %s", err);
  q8_builder_free (b);
  return path;
}
