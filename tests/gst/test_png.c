/* test_png.c - qsuperres in the pipeline users run on an image,
 *
 *   filesrc ! pngdec ! videoconvert ! qsuperres ! videoconvert ! pngenc !
 *   filesink
 *
 * with the system's plugins: a random RGB image goes through it and the
 * decoded result must equal, byte for byte, the reference (BT.601 YCbCr,
 * luma through libq8, chroma bilinear, back to RGB). */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

#include "q8_test.h"
#include "gst_test_models.h"

#define FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"
#define W 97
#define H 61

/* Runs a pipeline description to EOS; fails on an error message. */
static void
run_to_eos (const char *desc)
{
  GError *error = NULL;
  GstElement *p = gst_parse_launch (desc, &error);
  GstBus *bus;
  GstMessage *msg;

  ck_assert_msg (p != NULL, "%s: %s", desc, error ? error->message : "?");
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  ck_assert_msg (msg != NULL, "%s: timeout", desc);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gchar *dbg = NULL;
    gst_message_parse_error (msg, &error, &dbg);
    ck_abort_msg ("%s: %s (%s)", desc, error->message, dbg);
  }
  gst_message_unref (msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (p);
}

/* Decodes a PNG file to an RGB sample. */
static GstSample *
decode_png (const char *path)
{
  gchar *desc = g_strdup_printf ("filesrc location=\"%s\" ! pngdec ! "
      "videoconvert ! video/x-raw,format=RGB ! appsink name=s", path);
  GstElement *p = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "s");
  GstSample *sample;

  gst_element_set_state (p, GST_STATE_PLAYING);
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink),
      30 * GST_SECOND);
  ck_assert_msg (sample != NULL, "cannot decode %s", path);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (p);
  g_free (desc);
  return sample;
}

START_TEST (test_png_pipeline)
{
  gchar *dir = g_dir_make_tmp ("q8-png-XXXXXX", NULL);
  gchar *in_path = g_build_filename (dir, "in.png", NULL);
  gchar *out_path = g_build_filename (dir, "out.png", NULL);
  GstVideoInfo info, oinfo;
  GstVideoFrame in, out;
  GstBuffer *buf;
  GstCaps *caps, *png;
  GstSample *sample, *encoded, *result;
  GstMapInfo map;
  guint8 *wr, *wg, *wb;
  gchar *desc;
  q8_rng rng;

  /* A random RGB image, written as PNG. */
  q8_rng_seed (&rng, q8_test_seed ());
  gst_video_info_set_format (&info, GST_VIDEO_FORMAT_RGB, W, H);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) q8_rng_next (&rng);
  gst_buffer_unmap (buf, &map);
  caps = gst_video_info_to_caps (&info);
  sample = gst_sample_new (buf, caps, NULL, NULL);
  png = gst_caps_new_empty_simple ("image/png");
  encoded = gst_video_convert_sample (sample, png, 30 * GST_SECOND, NULL);
  fail_unless (encoded != NULL);
  fail_unless (gst_buffer_map (gst_sample_get_buffer (encoded), &map,
          GST_MAP_READ));
  fail_unless (g_file_set_contents (in_path, (const gchar *) map.data,
          map.size, NULL));
  gst_buffer_unmap (gst_sample_get_buffer (encoded), &map);

  /* The users' pipeline. */
  desc = g_strdup_printf ("filesrc location=\"%s\" ! pngdec ! videoconvert ! "
      "qsuperres model=\"%s\" ! videoconvert ! pngenc ! filesink "
      "location=\"%s\"", in_path, FIXTURE, out_path);
  run_to_eos (desc);
  g_free (desc);

  /* The decoded result against the reference. */
  result = decode_png (out_path);
  fail_unless (gst_video_info_from_caps (&oinfo,
          gst_sample_get_caps (result)));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&oinfo), 2 * W);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&oinfo), 2 * H);
  fail_unless (gst_video_frame_map (&in, &info, buf, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&out, &oinfo,
          gst_sample_get_buffer (result), GST_MAP_READ));
  gst_test_ref_superres_rgb (FIXTURE, GST_VIDEO_FRAME_PLANE_DATA (&in, 0),
      (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&in, 0) + 1,
      (guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&in, 0) + 2, 3,
      GST_VIDEO_FRAME_PLANE_STRIDE (&in, 0), W, H, 2, &wr, &wg, &wb);
  for (int y = 0; y < 2 * H; y++)
    for (int x = 0; x < 2 * W; x++) {
      const guint8 *p = (const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&out, 0)
          + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&out, 0) + 3 * x;
      const int i = y * 2 * W + x;
      if (p[0] != wr[i] || p[1] != wg[i] || p[2] != wb[i])
        ck_abort_msg ("out.png at (%d, %d): expected RGB (%d, %d, %d), got "
            "(%d, %d, %d), seed %llu", x, y, wr[i], wg[i], wb[i], p[0], p[1],
            p[2], (unsigned long long) q8_test_seed ());
    }
  gst_video_frame_unmap (&in);
  gst_video_frame_unmap (&out);

  g_free (wr);
  g_free (wg);
  g_free (wb);
  gst_sample_unref (result);
  gst_sample_unref (encoded);
  gst_sample_unref (sample);
  gst_caps_unref (png);
  gst_caps_unref (caps);
  gst_buffer_unref (buf);
  g_unlink (in_path);
  g_unlink (out_path);
  g_rmdir (dir);
  g_free (in_path);
  g_free (out_path);
  g_free (dir);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("png");
  TCase *tc = tcase_create ("png");

  gst_check_init (NULL, NULL);
  tcase_add_test (tc, test_png_pipeline);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
