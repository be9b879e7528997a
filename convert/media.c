/* media.c - calibration frames from images and video, decoded by
 * GStreamer (decodebin picks the decoder: PNG, JPEG, any video the system
 * can play, including a recording of the user's own camera).
 *
 * Each frame is converted by videoconvert/videoscale to the model's
 * input: GRAY8 (luma, for 1-channel models such as ESPCN on Y) or RGB (3
 * channels) at the import size, then to NCHW float pixel / 255 - the same
 * preprocessing the q8 elements apply (input.range 0..1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include "media.h"

struct cv_media {
  GstElement *pipe;
  GstElement *sink;
  int c, w, h;
};

static gboolean
ensure_init (void)
{
  static gboolean done;
  if (!done) {
    GError *e = NULL;
    done = gst_init_check (NULL, NULL, &e);
    g_clear_error (&e);
  }
  return done;
}

/* Probes the native size of the first video frame of path. */
int
cv_media_probe (const char *path, int *w, int *h, char *err, size_t err_size)
{
  cv_media *m = cv_media_open (path, 0, 0, 0, err, err_size);
  if (!m)
    return -1;
  GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (m->sink),
                                               30 * GST_SECOND);
  int rc = -1;
  if (s) {
    GstVideoInfo vi;
    if (gst_video_info_from_caps (&vi, gst_sample_get_caps (s))) {
      *w = GST_VIDEO_INFO_WIDTH (&vi);
      *h = GST_VIDEO_INFO_HEIGHT (&vi);
      rc = 0;
    }
    gst_sample_unref (s);
  }
  if (rc < 0)
    snprintf (err, err_size, "%s: no video frame could be decoded", path);
  cv_media_close (m);
  return rc;
}

static void
link_pad (GstElement *conv, GstPad *pad)
{
  GstPad *sinkpad = gst_element_get_static_pad (conv, "sink");
  if (!gst_pad_is_linked (sinkpad)) {
    GstCaps *caps = gst_pad_get_current_caps (pad);
    if (!caps)
      caps = gst_pad_query_caps (pad, NULL);
    const char *name = gst_structure_get_name (gst_caps_get_structure (caps,
                                                                       0));
    if (g_str_has_prefix (name, "video/"))
      gst_pad_link (pad, sinkpad);
    gst_caps_unref (caps);
  }
  gst_object_unref (sinkpad);
}

cv_media *
cv_media_open (const char *path, int c, int w, int h, char *err,
               size_t err_size)
{
  if (!ensure_init ()) {
    snprintf (err, err_size, "GStreamer could not be initialized");
    return NULL;
  }
  cv_media *m = calloc (1, sizeof *m);
  if (!m)
    return NULL;
  m->c = c;
  m->w = w;
  m->h = h;
  m->pipe = gst_pipeline_new ("calib");
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *dec = gst_element_factory_make ("decodebin", NULL);
  GstElement *conv = gst_element_factory_make ("videoconvert", NULL);
  GstElement *scale = gst_element_factory_make ("videoscale", NULL);
  m->sink = gst_element_factory_make ("appsink", NULL);
  if (!m->pipe || !src || !dec || !conv || !scale || !m->sink) {
    snprintf (err, err_size, "GStreamer elements filesrc, decodebin, "
              "videoconvert, videoscale and appsink are needed "
              "(gstreamer1.0-plugins-base)");
    if (m->pipe)
      gst_object_unref (m->pipe);
    free (m);
    return NULL;
  }
  g_object_set (src, "location", path, NULL);
  GstCaps *caps;
  if (c > 0)
    caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
                                c == 1 ? "GRAY8" : "RGB", "width",
                                G_TYPE_INT, w, "height", G_TYPE_INT, h,
                                "pixel-aspect-ratio", GST_TYPE_FRACTION, 1, 1,
                                NULL);
  else
    caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
                                "GRAY8", NULL);
  g_object_set (m->sink, "caps", caps, "sync", FALSE, "max-buffers", 4,
                NULL);
  gst_caps_unref (caps);
  gst_bin_add_many (GST_BIN (m->pipe), src, dec, conv, scale, m->sink, NULL);
  gst_element_link (src, dec);
  gst_element_link_many (conv, scale, m->sink, NULL);
  /* decodebin's pad appears once the stream type is known. */
  g_signal_connect_swapped (dec, "pad-added",
                            G_CALLBACK (link_pad), conv);
  if (gst_element_set_state (m->pipe, GST_STATE_PLAYING)
      == GST_STATE_CHANGE_FAILURE) {
    snprintf (err, err_size, "%s: GStreamer cannot play it", path);
    cv_media_close (m);
    return NULL;
  }
  return m;
}

/* The next frame as NCHW float pixel / 255 into out (c * h * w values):
 * 1 frame read, 0 at the end, -1 on an error (message in err). */
int
cv_media_next (cv_media *m, float *out, char *err, size_t err_size)
{
  GstSample *s = gst_app_sink_try_pull_sample (GST_APP_SINK (m->sink),
                                               30 * GST_SECOND);
  if (!s) {
    GstBus *bus = gst_element_get_bus (m->pipe);
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    int rc = 0;
    if (msg) {
      GError *e = NULL;
      gst_message_parse_error (msg, &e, NULL);
      snprintf (err, err_size, "decoding failed: %s", e ? e->message : "?");
      g_clear_error (&e);
      gst_message_unref (msg);
      rc = -1;
    }
    gst_object_unref (bus);
    return rc;
  }
  GstBuffer *buf = gst_sample_get_buffer (s);
  GstVideoInfo vi;
  GstVideoFrame f;
  int rc = -1;
  if (gst_video_info_from_caps (&vi, gst_sample_get_caps (s))
      && gst_video_frame_map (&f, &vi, buf, GST_MAP_READ)) {
    const guint8 *p = GST_VIDEO_FRAME_PLANE_DATA (&f, 0);
    int stride = GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0);
    for (int y = 0; y < m->h; y++)
      for (int x = 0; x < m->w; x++)
        for (int k = 0; k < m->c; k++)
          out[((size_t) k * m->h + y) * m->w + x] =
            p[(size_t) y * stride + (size_t) x * m->c + k] / 255.0f;
    gst_video_frame_unmap (&f);
    rc = 1;
  } else {
    snprintf (err, err_size, "cannot map a decoded frame");
  }
  gst_sample_unref (s);
  return rc;
}

void
cv_media_close (cv_media *m)
{
  if (!m)
    return;
  gst_element_set_state (m->pipe, GST_STATE_NULL);
  gst_object_unref (m->pipe);
  free (m);
}
