/* test_monitor.c - the embedding example end to end: q8-monitor --test
 * with an anomaly model whose map is the luma (the white ball of
 * videotestsrc's "ball" pattern is the anomaly) must write JSON lines with
 * the documented fields and a PNG snapshot for each of them; without a
 * camera and without --file or --test it must say so and exit with 2. */
#include <string.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

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
  tcase_add_test (tc, test_monitor_no_camera);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
