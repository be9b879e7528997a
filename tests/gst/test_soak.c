/* test_soak.c - a test-sized soak of qsuperres and qanomaly in real
 * pipelines (appsrc ! element ! appsink): many small frames with a new
 * resolution every few hundred frames, model swaps while PLAYING, then
 * NULL <-> PLAYING cycles.  Every frame pushed must come out exactly once,
 * in order, with its own timestamp and the expected size, and the
 * process's resident memory must stay flat after a warm-up.
 *
 * Sizes (environment, for the long version by hand; see
 * gst-plugin/README.md):
 *   Q8_SOAK_FRAMES  frames of the streaming phase (default 10000)
 *   Q8_SOAK_CYCLES  NULL <-> PLAYING cycles (default 200)
 *
 * The RSS bound (SOAK_RSS_BOUND_KIB) applies from the warm-up point (every
 * resolution and model seen once) to the end.  Under AddressSanitizer the
 * freed memory is held in quarantine, so RSS is reported but not bounded
 * there; LeakSanitizer checks the leaks instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/video/video.h>

#include "q8_test.h"
#include "gst_test_models.h"

#define FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"
/* Resident memory may grow by at most this much after the warm-up. */
#define SOAK_RSS_BOUND_KIB 1024
/* A new resolution every this many frames, a model swap every
 * SOAK_SWAP_EVERY (not a multiple of it, so swaps and resizes meet the
 * element in both orders). */
#define SOAK_RESIZE_EVERY 300
#define SOAK_SWAP_EVERY 1000
/* Frames pushed through each PLAYING period of the cycling phase. */
#define SOAK_CYCLE_FRAMES 3
#define FRAME_DURATION (GST_SECOND / 30)

#if defined(__SANITIZE_ADDRESS__)
#define SOAK_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_UNDER_ASAN 1
#endif
#endif
#ifndef SOAK_UNDER_ASAN
#define SOAK_UNDER_ASAN 0
#endif

/* Small sizes, odd ones among them, in the order the stream visits them. */
static const struct {
  const char *format;
  int w, h;
} sizes[] = {
  { "GRAY8", 16, 12 }, { "I420", 24, 16 }, { "GRAY8", 13, 9 },
  { "I420", 32, 24 }, { "GRAY8", 8, 8 }, { "I420", 15, 11 },
};
#define N_SIZES G_N_ELEMENTS (sizes)

static long
env_long (const char *name, long fallback)
{
  const char *v = g_getenv (name);
  return v != NULL && *v != '\0' ? strtol (v, NULL, 10) : fallback;
}

/* The resident set of this process in KiB (/proc/self/statm). */
static long
rss_kib (void)
{
  long size = 0, resident = 0;
  FILE *f = fopen ("/proc/self/statm", "r");

  fail_unless (f != NULL);
  ck_assert_int_eq (fscanf (f, "%ld %ld", &size, &resident), 2);
  fclose (f);
  return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

typedef struct {
  GstElement *pipeline, *src, *element, *sink;
  int factor;          /* output size = factor x input size */
  guint64 pushed, pulled;
  GstClockTime next_pts;
  int size_index;
  long rss_warm, rss_max, rss_last;
} soak;

/* Fails on any error or warning on the bus; drops everything else (the
 * element messages of qanomaly would otherwise pile up). */
static void
drain_bus (soak *s)
{
  GstBus *bus = gst_element_get_bus (s->pipeline);
  GstMessage *m;

  while ((m = gst_bus_pop (bus)) != NULL) {
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR
        || GST_MESSAGE_TYPE (m) == GST_MESSAGE_WARNING) {
      GError *e = NULL;
      gchar *dbg = NULL;
      if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR)
        gst_message_parse_error (m, &e, &dbg);
      else
        gst_message_parse_warning (m, &e, &dbg);
      ck_abort_msg ("after %" G_GUINT64_FORMAT " frames: %s (%s)", s->pushed,
          e->message, dbg);
    }
    gst_message_unref (m);
  }
  gst_object_unref (bus);
}

static void
set_size (soak *s, int index)
{
  GstCaps *caps = gst_caps_new_simple ("video/x-raw",
      "format", G_TYPE_STRING, sizes[index].format,
      "width", G_TYPE_INT, sizes[index].w,
      "height", G_TYPE_INT, sizes[index].h,
      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);

  g_object_set (s->src, "caps", caps, NULL);
  gst_caps_unref (caps);
  s->size_index = index;
}

static void
soak_init (soak *s, const char *element, int factor)
{
  gchar *desc = g_strdup_printf ("appsrc name=src format=time ! %s "
      "name=e ! appsink name=sink sync=false", element);
  GError *error = NULL;

  memset (s, 0, sizeof *s);
  s->pipeline = gst_parse_launch (desc, &error);
  ck_assert_msg (s->pipeline != NULL, "%s: %s", desc,
      error ? error->message : "");
  g_free (desc);
  s->src = gst_bin_get_by_name (GST_BIN (s->pipeline), "src");
  s->element = gst_bin_get_by_name (GST_BIN (s->pipeline), "e");
  s->sink = gst_bin_get_by_name (GST_BIN (s->pipeline), "sink");
  s->factor = factor;
  set_size (s, 0);
}

static void
soak_clear (soak *s)
{
  ck_assert_int_eq (gst_element_set_state (s->pipeline, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (s->src);
  gst_object_unref (s->element);
  gst_object_unref (s->sink);
  gst_object_unref (s->pipeline);
}

static void
play (soak *s)
{
  GstStateChangeReturn r = gst_element_set_state (s->pipeline,
      GST_STATE_PLAYING);

  /* ASYNC: the sink prerolls on the first frame. */
  ck_assert_msg (r != GST_STATE_CHANGE_FAILURE, "cannot play");
  drain_bus (s);
}

/* Pushes one frame and pulls it back: the same timestamp, duration and
 * the expected size, and nothing else waiting at the sink. */
static void
frame (soak *s)
{
  const int w = sizes[s->size_index].w, h = sizes[s->size_index].h;
  GstVideoInfo info;
  GstBuffer *buf;
  GstSample *sample;
  GstCaps *caps;
  GstVideoInfo out;
  GstClockTime pts = s->next_pts;

  fail_unless (gst_video_info_set_format (&info,
          gst_video_format_from_string (sizes[s->size_index].format), w, h));
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (&info), NULL);
  gst_buffer_memset (buf, 0, (guint8) (s->pushed * 7), GST_VIDEO_INFO_SIZE (
          &info));
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = FRAME_DURATION;
  ck_assert_int_eq (gst_app_src_push_buffer (GST_APP_SRC (s->src), buf),
      GST_FLOW_OK);
  s->pushed++;
  s->next_pts += FRAME_DURATION;

  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (s->sink),
      10 * GST_SECOND);
  ck_assert_msg (sample != NULL, "frame %" G_GUINT64_FORMAT " (%dx%d %s) "
      "lost", s->pushed - 1, w, h, sizes[s->size_index].format);
  s->pulled++;
  buf = gst_sample_get_buffer (sample);
  ck_assert_msg (GST_BUFFER_PTS (buf) == pts, "frame %" G_GUINT64_FORMAT
      ": PTS %" GST_TIME_FORMAT ", pushed %" GST_TIME_FORMAT, s->pushed - 1,
      GST_TIME_ARGS (GST_BUFFER_PTS (buf)), GST_TIME_ARGS (pts));
  ck_assert_uint_eq (GST_BUFFER_DURATION (buf), FRAME_DURATION);
  caps = gst_sample_get_caps (sample);
  fail_unless (gst_video_info_from_caps (&out, caps));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&out), s->factor * w);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&out), s->factor * h);
  ck_assert_uint_ge (gst_buffer_get_size (buf), GST_VIDEO_INFO_SIZE (&out));
  gst_sample_unref (sample);
  /* Nothing duplicated: the sink holds no second copy. */
  sample = gst_app_sink_try_pull_sample (GST_APP_SINK (s->sink), 0);
  ck_assert_msg (sample == NULL, "frame %" G_GUINT64_FORMAT " came out "
      "twice", s->pushed - 1);
  drain_bus (s);
}

static void
sample_rss (soak *s, const char *where)
{
  s->rss_last = rss_kib ();
  if (s->rss_last > s->rss_max)
    s->rss_max = s->rss_last;
  printf ("soak rss %s: %ld KiB\n", where, s->rss_last);
}

/* The whole soak; swap (s, i) swaps the model for the i-th time. */
static void
run_soak (soak *s, const char *name, void (*swap) (soak *, long))
{
  const long frames = env_long ("Q8_SOAK_FRAMES", 10000);
  const long cycles = env_long ("Q8_SOAK_CYCLES", 200);
  /* Warm: every size and both models seen (and the allocator settled). */
  const long warm = MIN (frames, (long) (2 * N_SIZES * SOAK_RESIZE_EVERY));
  gchar where[64];
  long swaps = 0;

  play (s);
  for (long i = 0; i < frames; i++) {
    if (i > 0 && i % SOAK_RESIZE_EVERY == 0)
      set_size (s, (int) ((i / SOAK_RESIZE_EVERY) % N_SIZES));
    if (i > 0 && i % SOAK_SWAP_EVERY == 0)
      swap (s, ++swaps);
    frame (s);
    if (i + 1 == warm) {
      sample_rss (s, "warm");
      s->rss_warm = s->rss_last;
      s->rss_max = s->rss_last;
    } else if ((i + 1) % 1000 == 0) {
      g_snprintf (where, sizeof where, "frame %ld", i + 1);
      sample_rss (s, where);
    }
  }
  for (long c = 0; c < cycles; c++) {
    ck_assert_int_eq (gst_element_set_state (s->pipeline, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    if (c % 10 == 0)
      swap (s, ++swaps);
    set_size (s, (int) (c % N_SIZES));
    play (s);
    for (int k = 0; k < SOAK_CYCLE_FRAMES; k++)
      frame (s);
    if ((c + 1) % 50 == 0) {
      g_snprintf (where, sizeof where, "cycle %ld", c + 1);
      sample_rss (s, where);
    }
  }
  drain_bus (s);

  ck_assert_uint_eq (s->pushed, frames + cycles * SOAK_CYCLE_FRAMES);
  ck_assert_uint_eq (s->pulled, s->pushed);
  printf ("soak %s: %" G_GUINT64_FORMAT " frames pushed, %" G_GUINT64_FORMAT
      " pulled in order with their timestamps, %ld cycles, %ld model "
      "swaps; RSS warm %ld KiB, max %ld KiB, end %ld KiB (growth %ld KiB, "
      "bound %d KiB%s)\n", name, s->pushed, s->pulled, cycles, swaps,
      s->rss_warm, s->rss_max, s->rss_last, s->rss_max - s->rss_warm,
      SOAK_RSS_BOUND_KIB, SOAK_UNDER_ASAN ? ", not applied under ASan" : "");
  if (!SOAK_UNDER_ASAN && frames >= warm && s->rss_warm > 0)
    ck_assert_msg (s->rss_max - s->rss_warm <= SOAK_RSS_BOUND_KIB,
        "%s: RSS grew from %ld KiB to %ld KiB after the warm-up", name,
        s->rss_warm, s->rss_max);
}

/* ---- qsuperres ---------------------------------------------------------- */

/* Between the committed tiny ESPCN x2 and the built-in ESPCN x2 (model
 * unset, scale 2): same factor, so the element swaps in place. */
static void
swap_superres (soak *s, long i)
{
  g_object_set (s->element, "model", i % 2 ? NULL : FIXTURE, NULL);
}

START_TEST (test_soak_qsuperres)
{
  soak s;

  soak_init (&s, "qsuperres model=" FIXTURE, 2);
  run_soak (&s, "qsuperres", swap_superres);
  soak_clear (&s);
}
END_TEST

/* ---- qanomaly ----------------------------------------------------------- */

static gchar *anomaly_models[2];

/* Between the luma model at the frame's own size and the one resized to
 * 20x14.  qanomaly loads its model when it starts, so a swap made while
 * PLAYING takes effect at the next cycle. */
static void
swap_anomaly (soak *s, long i)
{
  g_object_set (s->element, "model", anomaly_models[i % 2], NULL);
}

START_TEST (test_soak_qanomaly)
{
  soak s;
  gchar *desc;

  anomaly_models[0] = gst_test_write_luma_anomaly_model (0, 0);
  anomaly_models[1] = gst_test_write_luma_anomaly_model (20, 14);
  desc = g_strdup_printf ("qanomaly model=\"%s\"", anomaly_models[0]);
  soak_init (&s, desc, 1);
  g_free (desc);
  run_soak (&s, "qanomaly", swap_anomaly);
  soak_clear (&s);
  for (int i = 0; i < 2; i++) {
    g_unlink (anomaly_models[i]);
    g_free (anomaly_models[i]);
  }
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("soak");
  TCase *tc = tcase_create ("soak");
  long frames = env_long ("Q8_SOAK_FRAMES", 10000);
  long cycles = env_long ("Q8_SOAK_CYCLES", 200);

  gst_check_init (NULL, NULL);
  tcase_add_test (tc, test_soak_qsuperres);
  tcase_add_test (tc, test_soak_qanomaly);
  /* Generous: the default sizes take a few seconds. */
  tcase_set_timeout (tc, 300 + frames / 100 + cycles / 2);
  suite_add_tcase (s, tc);
  return s;
}
