/* q8-monitor.c - an embedding example: the program an industrial monitoring
 * application starts from.  It opens a V4L2 camera (or a file, or a test
 * source), runs `... ! qanomaly ! ...`, writes one JSON line per anomalous
 * frame and saves a PNG snapshot of each.
 *
 *   q8-monitor --list-cameras
 *   q8-monitor [--model parts.q8 | --scene line3.q8 [--teach-frames N]]
 *              [--device /dev/video0 | --file in.mp4 | --test]
 *              [--events events.jsonl] [--snapshots DIR] [--threshold T]
 *              [--interval N] [--display] [--seconds N]
 *
 * Without --model, qanomaly's built-in feature model learns the normal
 * scene from the first frames (--teach-frames) and, with --scene, saves
 * what it learned there and reuses it on the next run.
 *
 * Structure: the pipeline is built from a description string; the bus
 * watch in the main loop turns "qanomaly" element messages into JSON lines;
 * an appsink at the end receives every frame and, for frames qanomaly
 * marked with a GstVideoRegionOfInterestMeta "anomaly", converts the frame
 * to PNG with gst_video_convert_sample ().  Snapshots are named by the
 * frame's timestamp, which the JSON line also carries, so the two match
 * without any shared state between the threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#ifdef HAVE_LIBV4L2
#include <libv4l2.h>
#include <linux/videodev2.h>
#endif

#define MAX_VIDEO_DEVICES 64

typedef struct {
  gchar *model, *scene, *device, *file, *events_path, *snapshots;
  gint teach_frames;
  gdouble threshold;
  gint interval, seconds;
  gboolean test, display, list;

  GMainLoop *loop;
  GstElement *pipeline;
  FILE *events;
  guint64 anomalies;
  int exit_code;
} monitor;

/* ------------------------------------------------------------------ */
/* Cameras                                                             */
/* ------------------------------------------------------------------ */

#ifdef HAVE_LIBV4L2
/* Prints one capture device's name, formats and discrete frame sizes.
 * Returns FALSE if path is not a video capture device. */
static gboolean
describe_camera (const char *path)
{
  struct v4l2_capability cap;
  struct v4l2_fmtdesc fmt;
  int fd = v4l2_open (path, O_RDWR | O_NONBLOCK);

  if (fd < 0)
    return FALSE;
  memset (&cap, 0, sizeof cap);
  if (v4l2_ioctl (fd, VIDIOC_QUERYCAP, &cap) < 0
      || !((cap.device_caps ? cap.device_caps : cap.capabilities)
          & V4L2_CAP_VIDEO_CAPTURE)) {
    v4l2_close (fd);
    return FALSE;
  }
  printf ("%s: %s (%s, %s)\n", path, cap.card, cap.driver, cap.bus_info);
  memset (&fmt, 0, sizeof fmt);
  fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  for (fmt.index = 0; v4l2_ioctl (fd, VIDIOC_ENUM_FMT, &fmt) == 0;
      fmt.index++) {
    struct v4l2_frmsizeenum size;
    printf ("  %.4s  %s:", (const char *) &fmt.pixelformat, fmt.description);
    memset (&size, 0, sizeof size);
    size.pixel_format = fmt.pixelformat;
    for (size.index = 0; v4l2_ioctl (fd, VIDIOC_ENUM_FRAMESIZES, &size) == 0;
        size.index++) {
      if (size.type == V4L2_FRMSIZE_TYPE_DISCRETE)
        printf (" %ux%u", size.discrete.width, size.discrete.height);
      else
        printf (" %ux%u..%ux%u", size.stepwise.min_width,
            size.stepwise.min_height, size.stepwise.max_width,
            size.stepwise.max_height);
    }
    printf ("\n");
  }
  v4l2_close (fd);
  return TRUE;
}
#endif

/* The capture devices present, first one in *first (NULL if none); prints
 * them when verbose.  Returns their number. */
static int
find_cameras (gboolean verbose, gchar **first)
{
  int n = 0;

  *first = NULL;
  for (int i = 0; i < MAX_VIDEO_DEVICES; i++) {
    gchar *path = g_strdup_printf ("/dev/video%d", i);
    gboolean ok = FALSE;
    if (g_file_test (path, G_FILE_TEST_EXISTS)) {
#ifdef HAVE_LIBV4L2
      if (verbose)
        ok = describe_camera (path);
      else {
        int fd = v4l2_open (path, O_RDWR | O_NONBLOCK);
        struct v4l2_capability cap;
        memset (&cap, 0, sizeof cap);
        ok = fd >= 0 && v4l2_ioctl (fd, VIDIOC_QUERYCAP, &cap) == 0
            && ((cap.device_caps ? cap.device_caps : cap.capabilities)
            & V4L2_CAP_VIDEO_CAPTURE);
        if (fd >= 0)
          v4l2_close (fd);
      }
#else
      ok = TRUE;
      if (verbose)
        printf ("%s (built without libv4l2: no details)\n", path);
#endif
    }
    if (ok && n++ == 0)
      *first = g_strdup (path);
    g_free (path);
  }
  return n;
}

/* ------------------------------------------------------------------ */
/* Events and snapshots                                                */
/* ------------------------------------------------------------------ */

static gchar *
snapshot_path (const monitor *m, GstClockTime ts)
{
  gchar *name = g_strdup_printf ("anomaly-%020" G_GUINT64_FORMAT ".png", ts);
  gchar *path = g_build_filename (m->snapshots, name, NULL);
  g_free (name);
  return path;
}

/* Streaming thread: every frame reaches here; anomalous ones (with the
 * region meta qanomaly attached) are saved as PNG. */
static GstFlowReturn
on_new_sample (GstAppSink *sink, gpointer user_data)
{
  monitor *m = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  GstBuffer *buf;
  GstVideoRegionOfInterestMeta *roi;

  if (sample == NULL)
    return GST_FLOW_EOS;
  buf = gst_sample_get_buffer (sample);
  roi = gst_buffer_get_video_region_of_interest_meta_id (buf, 0);
  if (roi != NULL && roi->roi_type == g_quark_from_string ("anomaly")) {
    GstCaps *png = gst_caps_new_empty_simple ("image/png");
    GError *error = NULL;
    GstSample *converted = gst_video_convert_sample (sample, png,
        5 * GST_SECOND, &error);
    gchar *path = snapshot_path (m, GST_BUFFER_PTS (buf));

    if (converted != NULL) {
      GstMapInfo map;
      GstBuffer *pb = gst_sample_get_buffer (converted);
      if (gst_buffer_map (pb, &map, GST_MAP_READ)) {
        if (!g_file_set_contents (path, (const gchar *) map.data, map.size,
                &error)) {
          g_printerr ("q8-monitor: cannot write %s: %s\n", path,
              error->message);
          g_clear_error (&error);
        }
        gst_buffer_unmap (pb, &map);
      }
      gst_sample_unref (converted);
    } else {
      g_printerr ("q8-monitor: cannot encode a snapshot: %s\n",
          error ? error->message : "unknown error");
      g_clear_error (&error);
    }
    g_free (path);
    gst_caps_unref (png);
  }
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

/* Main thread: one JSON line per anomalous frame. */
static void
write_event (monitor *m, const GstStructure *s)
{
  gboolean anomalous = FALSE;
  gdouble score = 0, threshold = 0;
  guint64 frame = 0, ts = GST_CLOCK_TIME_NONE, rt = GST_CLOCK_TIME_NONE;
  gint x = 0, y = 0, w = 0, h = 0;
  GDateTime *now;
  gchar *iso, *snap;

  gst_structure_get_boolean (s, "anomalous", &anomalous);
  if (!anomalous)
    return;
  gst_structure_get (s, "score", G_TYPE_DOUBLE, &score,
      "threshold", G_TYPE_DOUBLE, &threshold, "frame", G_TYPE_UINT64, &frame,
      "timestamp", G_TYPE_UINT64, &ts, "running-time", G_TYPE_UINT64, &rt,
      "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width", G_TYPE_INT, &w,
      "height", G_TYPE_INT, &h, NULL);
  now = g_date_time_new_now_utc ();
  iso = g_date_time_format_iso8601 (now);
  snap = snapshot_path (m, ts);
  /* The snapshot path is the only string that is not ours; escape it. */
  {
    gchar *esc = g_strescape (snap, NULL);
    fprintf (m->events, "{\"time\": \"%s\", \"frame\": %" G_GUINT64_FORMAT
        ", \"timestamp_ns\": %" G_GUINT64_FORMAT ", \"running_time_ns\": %"
        G_GUINT64_FORMAT ", \"score\": %.6f, \"threshold\": %.6f, "
        "\"x\": %d, \"y\": %d, \"width\": %d, \"height\": %d, "
        "\"snapshot\": \"%s\"}\n", iso, frame, ts, rt, score, threshold,
        x, y, w, h, esc);
    g_free (esc);
  }
  fflush (m->events);
  m->anomalies++;
  g_free (snap);
  g_free (iso);
  g_date_time_unref (now);
}

static gboolean
on_bus_message (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  monitor *m = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "qanomaly"))
        write_event (m, gst_message_get_structure (msg));
      else if (gst_message_has_name (msg, "qanomaly-taught")) {
        const GstStructure *st = gst_message_get_structure (msg);
        const gchar *scene = gst_structure_get_string (st, "scene");
        guint frames = 0;
        gdouble thr = 0;
        gst_structure_get_uint (st, "frames", &frames);
        gst_structure_get_double (st, "threshold", &thr);
        g_printerr ("q8-monitor: learned the normal scene from %u frames "
            "(threshold %g)%s%s\n", frames, thr, scene ? ", saved to " : "",
            scene ? scene : "");
      }
      break;
    case GST_MESSAGE_ERROR:{
      GError *error = NULL;
      gchar *debug = NULL;
      gst_message_parse_error (msg, &error, &debug);
      g_printerr ("q8-monitor: %s\n", error->message);
      if (debug != NULL)
        g_printerr ("  (%s)\n", debug);
      g_clear_error (&error);
      g_free (debug);
      m->exit_code = 1;
      g_main_loop_quit (m->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *error = NULL;
      gst_message_parse_warning (msg, &error, NULL);
      g_printerr ("q8-monitor: warning: %s\n", error->message);
      g_clear_error (&error);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (m->loop);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

/* SIGINT or --seconds: finish cleanly through EOS, so the last events and
 * snapshots are written. */
static gboolean
send_eos (gpointer user_data)
{
  monitor *m = user_data;
  gst_element_send_event (m->pipeline, gst_event_new_eos ());
  return G_SOURCE_REMOVE;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static gchar *
build_description (const monitor *m)
{
  GString *d = g_string_new (NULL);
  GString *props = g_string_new (NULL);

  if (m->file != NULL) {
    gchar *f = g_strescape (m->file, NULL);
    g_string_append_printf (d, "filesrc location=\"%s\" ! decodebin", f);
    g_free (f);
  } else if (m->test) {
    g_string_append (d, "videotestsrc is-live=true pattern=ball ! "
        "video/x-raw,width=320,height=240,framerate=15/1");
  } else {
    g_string_append_printf (d, "v4l2src device=%s", m->device);
  }
  if (m->model != NULL) {
    gchar *v = g_strescape (m->model, NULL);
    g_string_append_printf (props, " model=\"%s\"", v);
    g_free (v);
  }
  if (m->scene != NULL) {
    gchar *v = g_strescape (m->scene, NULL);
    g_string_append_printf (props, " scene=\"%s\"", v);
    g_free (v);
  }
  if (m->teach_frames > 0)
    g_string_append_printf (props, " teach-frames=%d", m->teach_frames);
  g_string_append_printf (d, " ! videoconvert ! qanomaly%s interval=%d%s",
      props->str, m->interval, m->display ? " overlay=true" : "");
  if (m->threshold >= 0)
    g_string_append_printf (d, " threshold=%g", m->threshold);
  if (m->display)
    g_string_append (d, " ! tee name=t t. ! queue ! videoconvert ! "
        "autovideosink t. ! queue");
  /* RGB for the snapshots; sync only to a live source's clock. */
  g_string_append_printf (d, " ! videoconvert ! video/x-raw,format=RGB ! "
      "appsink name=snap sync=%s", m->file != NULL ? "false" : "true");
  g_string_free (props, TRUE);
  return g_string_free (d, FALSE);
}

int
main (int argc, char **argv)
{
  monitor m = { 0 };
  GOptionEntry entries[] = {
    {"list-cameras", 'l', 0, G_OPTION_ARG_NONE, &m.list,
        "List V4L2 cameras and their formats, then exit", NULL},
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &m.model,
        "Anomaly model (.q8; default: the built-in feature model, taught "
        "on the first frames)", "FILE"},
    {"scene", 0, 0, G_OPTION_ARG_FILENAME, &m.scene,
        "Taught scene: loaded if it exists, else learned and saved here",
        "FILE"},
    {"teach-frames", 0, 0, G_OPTION_ARG_INT, &m.teach_frames,
        "Frames to learn the normal scene from (default: qanomaly's, 50)",
        "N"},
    {"device", 'd', 0, G_OPTION_ARG_FILENAME, &m.device,
        "Camera device (default: the first one)", "DEV"},
    {"file", 'f', 0, G_OPTION_ARG_FILENAME, &m.file,
        "Analyse a video file instead of a camera", "FILE"},
    {"test", 't', 0, G_OPTION_ARG_NONE, &m.test,
        "Analyse a test pattern instead of a camera", NULL},
    {"events", 'e', 0, G_OPTION_ARG_FILENAME, &m.events_path,
        "Append JSON lines here (default: stdout)", "FILE"},
    {"snapshots", 's', 0, G_OPTION_ARG_FILENAME, &m.snapshots,
        "Directory for PNG snapshots (default: .)", "DIR"},
    {"threshold", 0, 0, G_OPTION_ARG_DOUBLE, &m.threshold,
        "Score threshold (default: the model's)", "T"},
    {"interval", 'i', 0, G_OPTION_ARG_INT, &m.interval,
        "Analyse every N-th frame (default 1)", "N"},
    {"display", 0, 0, G_OPTION_ARG_NONE, &m.display,
        "Show the video with the anomalies boxed", NULL},
    {"seconds", 0, 0, G_OPTION_ARG_INT, &m.seconds,
        "Stop after N seconds (default: run until EOS or Ctrl-C)", "N"},
    {NULL},
  };
  GOptionContext *ctx;
  GError *error = NULL;
  GstElement *sink;
  GstAppSinkCallbacks callbacks = { 0 };
  GstBus *bus;
  gchar *desc;

  m.threshold = -1;
  m.interval = 1;
  ctx = g_option_context_new ("- anomaly monitoring with q8");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("q8-monitor: %s\n", error->message);
    g_clear_error (&error);
    g_option_context_free (ctx);
    m.exit_code = 2;
    goto out;
  }
  g_option_context_free (ctx);

  if (m.list) {
    gchar *first;
    if (find_cameras (TRUE, &first) == 0)
      printf ("No V4L2 camera found (/dev/video0 to /dev/video%d).\n",
          MAX_VIDEO_DEVICES - 1);
    g_free (first);
    goto out;
  }
  if (m.file == NULL && !m.test && m.device == NULL
      && find_cameras (FALSE, &m.device) == 0) {
    g_printerr ("q8-monitor: no camera found (no V4L2 capture device in "
        "/dev/video*).\n  Use --file FILE to analyse a video file, or "
        "--test for a test pattern.\n");
    m.exit_code = 2;
    goto out;
  }
  if (m.interval <= 0)
    m.interval = 1;
  if (m.snapshots == NULL)
    m.snapshots = g_strdup (".");
  if (g_mkdir_with_parents (m.snapshots, 0755) < 0) {
    g_printerr ("q8-monitor: cannot create %s: %s\n", m.snapshots,
        g_strerror (errno));
    m.exit_code = 1;
    goto out;
  }
  m.events = stdout;
  if (m.events_path != NULL && (m.events = fopen (m.events_path, "a")) == NULL) {
    g_printerr ("q8-monitor: cannot open %s: %s\n", m.events_path,
        g_strerror (errno));
    m.events = stdout;
    m.exit_code = 1;
    goto out;
  }

  desc = build_description (&m);
  g_printerr ("q8-monitor: %s\n", desc);
  m.pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  if (m.pipeline == NULL) {
    g_printerr ("q8-monitor: cannot build the pipeline: %s\n",
        error->message);
    g_clear_error (&error);
    m.exit_code = 1;
    goto out;
  }
  g_clear_error (&error);       /* parse_launch may warn yet succeed */

  sink = gst_bin_get_by_name (GST_BIN (m.pipeline), "snap");
  callbacks.new_sample = on_new_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, &m, NULL);
  gst_object_unref (sink);

  m.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (m.pipeline);
  gst_bus_add_watch (bus, on_bus_message, &m);
  gst_object_unref (bus);
  g_unix_signal_add (SIGINT, send_eos, &m);
  if (m.seconds > 0)
    g_timeout_add_seconds (m.seconds, send_eos, &m);

  if (gst_element_set_state (m.pipeline, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    /* The error message on the bus says why; let the loop print it. */
    m.exit_code = 1;
  }
  g_main_loop_run (m.loop);

  gst_element_set_state (m.pipeline, GST_STATE_NULL);
  gst_object_unref (m.pipeline);
  g_main_loop_unref (m.loop);
  g_printerr ("q8-monitor: %" G_GUINT64_FORMAT " anomalous frames\n",
      m.anomalies);
out:
  /* Every exit frees the parsed options (LeakSanitizer found the early
   * ones leaking). */
  if (m.events != NULL && m.events != stdout)
    fclose (m.events);
  g_free (m.model);
  g_free (m.scene);
  g_free (m.device);
  g_free (m.file);
  g_free (m.events_path);
  g_free (m.snapshots);
  return m.exit_code;
}
