/* test_monitor.c - the embedding example end to end: q8-monitor --test
 * with an anomaly model whose map is the luma (the white ball of
 * videotestsrc's "ball" pattern is the anomaly) must write JSON lines with
 * the documented fields and a PNG snapshot for each of them; without a
 * camera and without --file or --test it must say so and exit with 2. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#include "q8_test.h"
#include "gst_test_models.h"

static const char *const fields[] = {
  "\"time\": ", "\"frame\": ", "\"timestamp_ns\": ", "\"running_time_ns\": ",
  "\"score\": ", "\"threshold\": 0.500000", "\"x\": ", "\"y\": ",
  "\"width\": ", "\"height\": ", "\"snapshot\": \"",
};

START_TEST (test_monitor_events)
{
  gchar *model = gst_test_write_luma_anomaly_model (64, 48);
  gchar *dir = g_dir_make_tmp ("q8-monitor-XXXXXX", NULL);
  gchar *events = g_build_filename (dir, "events.jsonl", NULL);
  gchar *shots = g_build_filename (dir, "shots", NULL);
  const gchar *argv[] = { Q8_MONITOR, "--model", model, "--test",
    "--seconds", "2", "--events", events, "--snapshots", shots, NULL
  };
  gchar *out = NULL, *err = NULL, *text = NULL;
  gchar **lines;
  gint status = -1, n = 0;

  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL, 0, NULL, NULL,
          &out, &err, &status, NULL));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL),
      "q8-monitor failed: %s", err);
  fail_unless (g_file_get_contents (events, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (gchar **l = lines; *l != NULL && **l != '\0'; l++, n++) {
    const char *snap;
    gchar *path;
    for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
      ck_assert_msg (strstr (*l, fields[i]) != NULL, "line %d lacks %s: %s",
          n, fields[i], *l);
    /* The ball is white: score 1, and it has a region. */
    ck_assert_msg (strstr (*l, "\"score\": 1.000000") != NULL, "%s", *l);
    ck_assert_msg (strstr (*l, "\"width\": 0,") == NULL, "%s", *l);
    snap = strstr (*l, "\"snapshot\": \"") + strlen ("\"snapshot\": \"");
    path = g_strndup (snap, strchr (snap, '"') - snap);
    ck_assert_msg (g_file_test (path, G_FILE_TEST_IS_REGULAR),
        "no snapshot %s", path);
    g_unlink (path);
    g_free (path);
  }
  /* Every analysed frame shows the white ball, so there is one event per
   * anomalous frame q8-monitor counts.  How many of the 30 frames of 2 s
   * at 15 frames/s it analyses depends on the machine's speed (a live
   * source; under ASan only a few), so only at least one is required. */
  {
    gchar *want = g_strdup_printf ("q8-monitor: %d anomalous frames", n);
    ck_assert_msg (n >= 1 && strstr (err, want) != NULL, "%d events: %s", n,
        err);
    g_free (want);
  }
  g_strfreev (lines);
  g_free (text);
  g_free (out);
  g_free (err);
  g_unlink (events);
  g_rmdir (shots);
  g_rmdir (dir);
  g_unlink (model);
  g_free (model);
  g_free (events);
  g_free (shots);
  g_free (dir);
}
END_TEST

/* Writes a 64x48 GRAY8 PNG, black with a white 8x6 rectangle at (20, 10),
 * through pngenc (a system plugin). */
static void
write_defect_png (const char *path)
{
  GstHarness *h = gst_harness_new ("pngenc");
  GstBuffer *buf = gst_buffer_new_allocate (NULL, 64 * 48, NULL);
  GstMapInfo map;

  gst_harness_set_src_caps_str (h, "video/x-raw,format=GRAY8,width=64,"
      "height=48,framerate=1/1");
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  memset (map.data, 0, map.size);
  for (int y = 10; y < 16; y++)
    memset (map.data + y * 64 + 20, 255, 8);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = 0;
  GST_BUFFER_DURATION (buf) = GST_SECOND;
  buf = gst_harness_push_and_pull (h, buf);
  ck_assert_msg (buf != NULL, "pngenc gave nothing");
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless (g_file_set_contents (path, (const gchar *) map.data,
          (gssize) map.size, NULL));
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  gst_harness_teardown (h);
}

/* --file: an image with a planted white rectangle gives exactly one event
 * whose region is that rectangle (the model's map is the luma, at the
 * image's own size, threshold 0.5) and a 64x48 PNG snapshot. */
START_TEST (test_monitor_file)
{
  gchar *model = gst_test_write_luma_anomaly_model (64, 48);
  gchar *dir = g_dir_make_tmp ("q8-monitor-XXXXXX", NULL);
  gchar *image = g_build_filename (dir, "part.png", NULL);
  gchar *events = g_build_filename (dir, "events.jsonl", NULL);
  gchar *shots = g_build_filename (dir, "shots", NULL);
  const gchar *argv[] = { Q8_MONITOR, "--model", model, "--file", image,
    "--events", events, "--snapshots", shots, NULL
  };
  gchar *err = NULL, *text = NULL, *path, *png = NULL;
  const char *snap;
  gchar **lines;
  gsize png_size = 0;
  gint status = -1;

  write_defect_png (image);
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, NULL));
  ck_assert_msg (g_spawn_check_wait_status (status, NULL),
      "q8-monitor failed: %s", err);
  ck_assert_msg (strstr (err, "q8-monitor: 1 anomalous frames") != NULL,
      "%s", err);
  fail_unless (g_file_get_contents (events, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  ck_assert_msg (lines[0] != NULL && lines[1] != NULL && *lines[1] == '\0',
      "not one event: %s", text);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    ck_assert_msg (strstr (lines[0], fields[i]) != NULL, "lacks %s: %s",
        fields[i], lines[0]);
  ck_assert_msg (strstr (lines[0], "\"frame\": 0,") != NULL
      && strstr (lines[0], "\"score\": 1.000000,") != NULL
      && strstr (lines[0], "\"x\": 20, \"y\": 10, \"width\": 8, "
          "\"height\": 6,") != NULL, "%s", lines[0]);
  snap = strstr (lines[0], "\"snapshot\": \"") + strlen ("\"snapshot\": \"");
  path = g_strndup (snap, strchr (snap, '"') - snap);
  fail_unless (g_file_get_contents (path, &png, &png_size, NULL),
      "no snapshot %s", path);
  /* The PNG signature, then the IHDR chunk: width and height, big-endian. */
  ck_assert_msg (png_size > 24 && memcmp (png, "\x89PNG\r\n\x1a\n", 8) == 0
      && GST_READ_UINT32_BE (png + 16) == 64
      && GST_READ_UINT32_BE (png + 20) == 48, "%s is not a 64x48 PNG", path);
  g_free (png);
  g_unlink (path);
  g_free (path);
  g_strfreev (lines);
  g_free (text);
  g_free (err);
  g_unlink (events);
  g_unlink (image);
  g_rmdir (shots);
  g_rmdir (dir);
  g_unlink (model);
  g_free (model);
  g_free (image);
  g_free (events);
  g_free (shots);
  g_free (dir);
}
END_TEST

START_TEST (test_monitor_no_camera)
{
  const gchar *argv[] = { Q8_MONITOR, "--model", "unused.q8", NULL };
  gchar *err = NULL;
  gint status = -1;

  if (g_file_test ("/dev/video0", G_FILE_TEST_EXISTS))
    return;                     /* a camera is attached: nothing to check */
  fail_unless (g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, NULL));
  ck_assert_msg (WIFEXITED (status) && WEXITSTATUS (status) == 2,
      "status %d", status);
  ck_assert_msg (strstr (err, "no camera found") != NULL
      && strstr (err, "--file") != NULL, "%s", err);
  g_free (err);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("monitor");
  TCase *tc = tcase_create ("monitor");

  gst_check_init (NULL, NULL);
  tcase_add_test (tc, test_monitor_events);
  tcase_add_test (tc, test_monitor_file);
  tcase_add_test (tc, test_monitor_no_camera);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
