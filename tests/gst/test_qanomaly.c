/* test_qanomaly.c - the qanomaly element in a GstHarness with a test
 * anomaly model whose map is the luma itself (score = pixel / 255, built
 * with the q8 builder): messages and their fields on frames with and
 * without a planted bright defect, the region meta, interval, message-on,
 * threshold, roi, overlay, passthrough without copies, RGB input, and the
 * errors for a missing or wrong-kind model. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "q8_test.h"
#include "gst_test_models.h"

#define SR_FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"

/* The frame and the planted defect (chosen so that the model's nearest
 * resize to 32x24 keeps its edges: see test_defect). */
#define FW 64
#define FH 48
#define DX 16
#define DY 8
#define DW 16
#define DH 16

typedef struct {
  gchar *model;
  GstElement *e;
  GstHarness *h;
  GstBus *bus;
} fixture;

/* A qanomaly with model (a file the fixture owns and unlinks) and the
 * given properties, fed format frames of FW x FH. */
static void
fixture_init_valist (fixture *f, gchar *model, const char *format,
    const char *first, va_list ap)
{
  gchar *caps = g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=10/1", format, FW, FH);

  f->model = model;
  f->e = gst_element_factory_make ("qanomaly", NULL);
  fail_unless (f->e != NULL);
  g_object_set (f->e, "model", f->model, NULL);
  if (first != NULL)
    g_object_set_valist (G_OBJECT (f->e), first, ap);
  f->bus = gst_bus_new ();
  gst_element_set_bus (f->e, f->bus);
  f->h = gst_harness_new_with_element (f->e, "sink", "src");
  gst_harness_set_src_caps_str (f->h, caps);
  g_free (caps);
}

/* A qanomaly with the luma model and the given properties
 * ("name", value, ..., NULL). */
static void
fixture_init (fixture *f, const char *format, const char *first, ...)
{
  va_list ap;

  va_start (ap, first);
  fixture_init_valist (f, gst_test_write_luma_anomaly_model (FW / 2, FH / 2),
      format, first, ap);
  va_end (ap);
}

/* A qanomaly on its built-in model. */
static void
fixture_init_valist_builtin (fixture *f, const char *first, ...)
{
  va_list ap;

  va_start (ap, first);
  fixture_init_valist (f, NULL, "GRAY8", first, ap);
  va_end (ap);
}

/* Same with the untaught feature model of gst_test_models.h. */
static void
fixture_init_gaussian (fixture *f, const char *format, const char *first,
    ...)
{
  va_list ap;

  va_start (ap, first);
  fixture_init_valist (f, gst_test_write_gaussian_model (FW / 2, FH / 2),
      format, first, ap);
  va_end (ap);
}

static void
fixture_clear (fixture *f)
{
  gst_harness_teardown (f->h);
  gst_element_set_bus (f->e, NULL);
  gst_object_unref (f->bus);
  gst_object_unref (f->e);
  if (f->model != NULL)
    g_unlink (f->model);
  g_free (f->model);
}

/* A frame of value bg with the defect (value fg, if fg >= 0); RGB formats
 * get grey pixels of those values. */
static GstBuffer *
make_frame (fixture *f, int bg, int fg, guint64 n)
{
  GstCaps *caps = gst_pad_get_current_caps (f->h->srcpad);
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buf;

  fail_unless (gst_video_info_from_caps (&info, caps));
  gst_caps_unref (caps);
  buf = gst_buffer_new_allocate (NULL, info.size, NULL);
  fail_unless (gst_video_frame_map (&frame, &info, buf, GST_MAP_WRITE));
  for (guint c = 0; c < GST_VIDEO_FRAME_N_COMPONENTS (&frame); c++) {
    guint8 *d = GST_VIDEO_FRAME_COMP_DATA (&frame, c);
    const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE (&frame, c);
    const int st = GST_VIDEO_FRAME_COMP_STRIDE (&frame, c);
    const gboolean luma_like = GST_VIDEO_INFO_IS_RGB (&info) || c == 0;
    for (int y = 0; y < GST_VIDEO_FRAME_COMP_HEIGHT (&frame, c); y++)
      for (int x = 0; x < GST_VIDEO_FRAME_COMP_WIDTH (&frame, c); x++) {
        int v = luma_like ? bg : 128;
        if (luma_like && fg >= 0 && x >= DX && x < DX + DW && y >= DY
            && y < DY + DH)
          v = fg;
        d[(gsize) y * st + (gsize) x * ps] = (guint8) v;
      }
  }
  gst_video_frame_unmap (&frame);
  GST_BUFFER_PTS (buf) = n * GST_SECOND / 10;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 10;
  return buf;
}

/* The next "qanomaly" element message, or NULL. */
static GstMessage *
pop_anomaly_message (fixture *f)
{
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (f->bus, GST_MESSAGE_ELEMENT)) != NULL) {
    if (gst_message_has_name (m, "qanomaly"))
      return m;
    gst_message_unref (m);
  }
  return NULL;
}

/* Checks a message's fields (see the element's documentation). */
static void
check_message (GstMessage *m, guint64 frame, gdouble score,
    gdouble threshold, gboolean anomalous, int x, int y, int w, int h)
{
  const GstStructure *s = gst_message_get_structure (m);
  gdouble d;
  gboolean b;
  guint64 u;
  gint i;

  fail_unless (gst_structure_get_double (s, "score", &d));
  ck_assert_msg (fabs (d - score) < 1e-6, "frame %" G_GUINT64_FORMAT
      ": score %f, expected %f", frame, d, score);
  fail_unless (gst_structure_get_double (s, "threshold", &d));
  ck_assert_msg (fabs (d - threshold) < 1e-9, "threshold %f, expected %f", d,
      threshold);
  fail_unless (gst_structure_get_boolean (s, "anomalous", &b));
  ck_assert_int_eq (b, anomalous);
  fail_unless (gst_structure_get_uint64 (s, "frame", &u));
  ck_assert_uint_eq (u, frame);
  fail_unless (gst_structure_get_uint64 (s, "timestamp", &u));
  ck_assert_uint_eq (u, frame * GST_SECOND / 10);
  fail_unless (gst_structure_get_uint64 (s, "running-time", &u));
  ck_assert_uint_eq (u, frame * GST_SECOND / 10);
  fail_unless (gst_structure_get_int (s, "x", &i));
  ck_assert_int_eq (i, x);
  fail_unless (gst_structure_get_int (s, "y", &i));
  ck_assert_int_eq (i, y);
  fail_unless (gst_structure_get_int (s, "width", &i));
  ck_assert_int_eq (i, w);
  fail_unless (gst_structure_get_int (s, "height", &i));
  ck_assert_int_eq (i, h);
}

static void
check_roi_meta (GstBuffer *buf, gboolean present, int x, int y, int w, int h)
{
  GstVideoRegionOfInterestMeta *m =
      gst_buffer_get_video_region_of_interest_meta_id (buf, 0);

  if (!present) {
    ck_assert_msg (m == NULL, "a clean frame has a region meta");
    return;
  }
  ck_assert_msg (m != NULL, "an anomalous frame has no region meta");
  ck_assert_str_eq (g_quark_to_string (m->roi_type), "anomaly");
  ck_assert_uint_eq (m->x, x);
  ck_assert_uint_eq (m->y, y);
  ck_assert_uint_eq (m->w, w);
  ck_assert_uint_eq (m->h, h);
}

/* Every format qanomaly accepts; the RGB ones get grey pixels, whose
 * BT.601 luma is their value. */
static const char *const formats[] = {
  "GRAY8", "I420", "YV12", "NV12", "NV21", "YUY2", "UYVY", "Y42B", "Y444",
  "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA",
};

/* A clean frame, a defect, a clean frame, in every format.  The model
 * sees the frame resized to 32x24 by nearest on pixel centres (output x
 * takes source 2 x + 1), so the defect's cells are x 8..15, y 4..11, which map back to
 * exactly the planted 16x16 square at (16, 8). */
START_TEST (test_defect)
{
  fixture f;
  const char *format = formats[_i];

  fixture_init (&f, format, NULL);
  for (guint64 n = 0; n < 3; n++) {
    gboolean defect = n == 1;
    GstBuffer *in = make_frame (&f, 0, defect ? 255 : -1, n);
    GstBuffer *out = gst_harness_push_and_pull (f.h, in);
    GstMessage *m = pop_anomaly_message (&f);

    ck_assert_msg (m != NULL, "%s frame %" G_GUINT64_FORMAT ": no message",
        format, n);
    if (defect)
      check_message (m, n, 1.0, 0.5, TRUE, DX, DY, DW, DH);
    else
      check_message (m, n, 0.0, 0.5, FALSE, 0, 0, 0, 0);
    check_roi_meta (out, defect, DX, DY, DW, DH);
    gst_message_unref (m);
    gst_buffer_unref (out);
  }
  fixture_clear (&f);
}
END_TEST

/* Without overlay the very input buffer goes out; with overlay the box is
 * drawn into the luma around the defect. */
START_TEST (test_passthrough_and_overlay)
{
  fixture f;
  GstBuffer *in, *out;
  GstMapInfo map;

  fixture_init (&f, "GRAY8", NULL);
  in = make_frame (&f, 10, 200, 0);
  out = gst_harness_push_and_pull (f.h, in);
  ck_assert_msg (out == in, "the frame was copied without overlay");
  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  ck_assert_int_eq (map.data[DY * FW + DX], 200);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  fixture_clear (&f);

  fixture_init (&f, "GRAY8", "overlay", TRUE, NULL);
  out = gst_harness_push_and_pull (f.h, make_frame (&f, 10, 200, 0));
  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  /* Border pixels white, inside and outside untouched. */
  ck_assert_int_eq (map.data[DY * FW + DX], 255);
  ck_assert_int_eq (map.data[(DY + DH - 1) * FW + DX + DW - 1], 255);
  ck_assert_int_eq (map.data[(DY + 1) * FW + DX + 5], 255);
  ck_assert_int_eq (map.data[(DY + 5) * FW + DX + 5], 200);
  ck_assert_int_eq (map.data[0], 10);
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  fixture_clear (&f);

  /* BGRx: the defect is tinted half-way to red, (200 + 255 + 1) / 2 = 228
   * and (200 + 0 + 1) / 2 = 100; the background stays. */
  fixture_init (&f, "BGRx", "overlay", TRUE, NULL);
  out = gst_harness_push_and_pull (f.h, make_frame (&f, 10, 200, 0));
  fail_unless (gst_buffer_map (out, &map, GST_MAP_READ));
  {
    const guint8 *in_defect = map.data + ((DY + 5) * FW + DX + 5) * 4;
    const guint8 *bg = map.data + (2 * FW + 2) * 4;
    ck_assert_int_eq (in_defect[2], 228);
    ck_assert_int_eq (in_defect[1], 100);
    ck_assert_int_eq (in_defect[0], 100);
    ck_assert_int_eq (bg[0], 10);
    ck_assert_int_eq (bg[1], 10);
    ck_assert_int_eq (bg[2], 10);
  }
  gst_buffer_unmap (out, &map);
  gst_buffer_unref (out);
  fixture_clear (&f);
}
END_TEST

START_TEST (test_interval_and_message_on)
{
  fixture f;
  GstMessage *m;
  int count = 0;

  /* interval 3: frames 0, 3, 6 analysed. */
  fixture_init (&f, "GRAY8", "interval", 3, NULL);
  for (guint64 n = 0; n < 7; n++) {
    gst_buffer_unref (gst_harness_push_and_pull (f.h, make_frame (&f, 0, -1,
                n)));
    m = pop_anomaly_message (&f);
    ck_assert_msg ((m != NULL) == (n % 3 == 0), "frame %" G_GUINT64_FORMAT
        ": message %p with interval 3", n, (void *) m);
    if (m != NULL) {
      check_message (m, n, 0.0, 0.5, FALSE, 0, 0, 0, 0);
      gst_message_unref (m);
    }
  }
  fixture_clear (&f);

  /* message-on=anomalous: only the defect frames. */
  fixture_init (&f, "GRAY8", NULL);
  gst_util_set_object_arg (G_OBJECT (f.e), "message-on", "anomalous");
  for (guint64 n = 0; n < 6; n++) {
    gst_buffer_unref (gst_harness_push_and_pull (f.h, make_frame (&f, 0,
                n % 2 ? 255 : -1, n)));
    while ((m = pop_anomaly_message (&f)) != NULL) {
      check_message (m, n, 1.0, 0.5, TRUE, DX, DY, DW, DH);
      gst_message_unref (m);
      count++;
    }
  }
  ck_assert_int_eq (count, 3);
  fixture_clear (&f);
}
END_TEST

/* threshold overrides the model's; roi restricts the analysed region. */
START_TEST (test_threshold_and_roi)
{
  fixture f;
  GstMessage *m;

  /* 200 / 255 = 0.784: anomalous at the model's 0.5, not at 0.9. */
  fixture_init (&f, "GRAY8", "threshold", 0.9, NULL);
  gst_buffer_unref (gst_harness_push_and_pull (f.h, make_frame (&f, 0, 200,
              0)));
  m = pop_anomaly_message (&f);
  fail_unless (m != NULL);
  check_message (m, 0, 200.0 / 255, 0.9, FALSE, 0, 0, 0, 0);
  gst_message_unref (m);
  fixture_clear (&f);

  /* A region right of the defect sees nothing. */
  fixture_init (&f, "GRAY8", "roi", "40,0,24,48", NULL);
  gst_buffer_unref (gst_harness_push_and_pull (f.h, make_frame (&f, 0, 255,
              0)));
  m = pop_anomaly_message (&f);
  fail_unless (m != NULL);
  check_message (m, 0, 0.0, 0.5, FALSE, 0, 0, 0, 0);
  gst_message_unref (m);
  fixture_clear (&f);
}
END_TEST

/* The next element message named name, or NULL. */
static GstMessage *
pop_named_message (fixture *f, const char *name)
{
  GstMessage *m;

  while ((m = gst_bus_pop_filtered (f->bus, GST_MESSAGE_ELEMENT)) != NULL) {
    if (gst_message_has_name (m, name))
      return m;
    gst_message_unref (m);
  }
  return NULL;
}

/* Pushes n clean frames (bg 100) from frame number first, which must all
 * be teaching frames: no score message, "teaching" TRUE until the last,
 * and a "qanomaly-taught" message after the last, which is returned. */
static GstMessage *
push_teaching_frames (fixture *f, guint64 first, int n)
{
  GstMessage *taught = NULL, *m;

  for (int i = 0; i < n; i++) {
    gboolean teaching;
    GstBuffer *out = gst_harness_push_and_pull (f->h,
        make_frame (f, 100, -1, first + (guint64) i));
    while ((m = gst_bus_pop_filtered (f->bus, GST_MESSAGE_ELEMENT))) {
      ck_assert_msg (!gst_message_has_name (m, "qanomaly"),
          "teaching frame %d was scored", i);
      if (gst_message_has_name (m, "qanomaly-taught")) {
        ck_assert_msg (i == n - 1 && taught == NULL, "taught after %d of "
            "%d frames", i + 1, n);
        taught = m;
      } else {
        gst_message_unref (m);
      }
    }
    g_object_get (f->e, "teaching", &teaching, NULL);
    ck_assert_int_eq (teaching, i < n - 1);
    gst_buffer_unref (out);
  }
  ck_assert_msg (taught != NULL, "no qanomaly-taught message");
  return taught;
}

/* The score of a frame after teaching on clean frames of value 100, by
 * hand (q8.h): every clean cell equals its mean, so the variance is the
 * floor, the rounding variance of a step of 1/255, (1/255)^2 / 12, and
 * d = 0; a defect cell of 255 has d = ((255 - 100) / 255)^2 /
 * ((1/255)^2 / 12) = 155^2 * 12.  The
 * 8x8-cell defect (16x16 pixels at half size) keeps that value at its
 * centre after the 3x3 smoothing, so the score is 288300; the threshold is
 * 1.25 x the leave-one-out maximum, 0; the cells above it are the defect
 * grown by one cell (smoothing), x 7..16 and y 3..12 of the 32x24 grid,
 * i.e. pixels (14, 6) to (34, 26). */
#define TAUGHT_DEFECT_SCORE (155.0 * 155.0 * 12)

static void
check_taught_scores (fixture *f, guint64 n)
{
  GstMessage *m;
  GstBuffer *out;
  const GstStructure *st;
  gdouble score, thr;
  gboolean anomalous;
  gint x, y, w, h;

  out = gst_harness_push_and_pull (f->h, make_frame (f, 100, 255, n));
  m = pop_anomaly_message (f);
  ck_assert_msg (m != NULL, "no message for a defect after teaching");
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "score", G_TYPE_DOUBLE, &score,
          "threshold", G_TYPE_DOUBLE, &thr, "anomalous", G_TYPE_BOOLEAN,
          &anomalous, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width",
          G_TYPE_INT, &w, "height", G_TYPE_INT, &h, NULL));
  ck_assert_msg (fabs (score - TAUGHT_DEFECT_SCORE) < 1e-3
      * TAUGHT_DEFECT_SCORE, "score %f, expected %f", score,
      TAUGHT_DEFECT_SCORE);
  ck_assert_msg (thr == 0.0, "threshold %g, expected 0", thr);
  ck_assert (anomalous);
  ck_assert_int_eq (x, 14);
  ck_assert_int_eq (y, 6);
  ck_assert_int_eq (w, 20);
  ck_assert_int_eq (h, 20);
  check_roi_meta (out, TRUE, 14, 6, 20, 20);
  gst_message_unref (m);
  gst_buffer_unref (out);

  out = gst_harness_push_and_pull (f->h, make_frame (f, 100, -1, n + 1));
  m = pop_anomaly_message (f);
  ck_assert (m != NULL);
  check_message (m, n + 1, 0.0, 0.0, FALSE, 0, 0, 0, 0);
  check_roi_meta (out, FALSE, 0, 0, 0, 0);
  gst_message_unref (m);
  gst_buffer_unref (out);
}

/* Teaching on the first frames, the "qanomaly-taught" message, scoring
 * after it, the scene saved and loaded on the next start without teaching,
 * and teaching again on the "teach" action. */
START_TEST (test_teach_and_scene)
{
  fixture f;
  gchar *scene = gst_test_temp_model_path ();
  const GstStructure *st;
  GstMessage *m;
  guint frames;
  gdouble thr;
  const gchar *path;

  g_unlink (scene);
  fixture_init_gaussian (&f, "GRAY8", "teach-frames", 4, "scene", scene,
      NULL);
  m = push_teaching_frames (&f, 0, 4);
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "frames", G_TYPE_UINT, &frames,
          "threshold", G_TYPE_DOUBLE, &thr, NULL));
  path = gst_structure_get_string (st, "scene");
  ck_assert_uint_eq (frames, 4);
  ck_assert (thr == 0.0);
  ck_assert_str_eq (path, scene);
  gst_message_unref (m);
  ck_assert (g_file_test (scene, G_FILE_TEST_EXISTS));
  check_taught_scores (&f, 4);

  /* The action: the next 3 frames teach, then scoring resumes. */
  g_object_set (f.e, "teach-frames", 3, NULL);
  g_signal_emit_by_name (f.e, "teach");
  m = push_teaching_frames (&f, 6, 3);
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "frames", G_TYPE_UINT, &frames, NULL));
  ck_assert_uint_eq (frames, 3);
  gst_message_unref (m);
  check_taught_scores (&f, 9);
  fixture_clear (&f);

  /* A new element with the scene scores from the first frame. */
  fixture_init_gaussian (&f, "GRAY8", "scene", scene, NULL);
  check_taught_scores (&f, 0);
  ck_assert (pop_named_message (&f, "qanomaly-taught") == NULL);
  fixture_clear (&f);
  g_unlink (scene);
  g_free (scene);
}
END_TEST

/* The built-in feature model (no model property), taught by each
 * teach-method (_i: model = its knn, knn, gaussian; the scene file says
 * which): it learns the clean frames, then a planted defect is anomalous
 * with its box around the defect, and a clean frame is not. */
START_TEST (test_builtin_model)
{
  static const char *const method[] = { "knn", "knn", "gaussian" };
  fixture f;
  GstMessage *m;
  GstBuffer *out;
  const GstStructure *st;
  gboolean anomalous;
  gint x, y, w, h;
  gchar *scene = gst_test_temp_model_path ();
  q8_model *taught = NULL;
  const char *got;
  char err[256];

  g_unlink (scene);
  fixture_init_valist_builtin (&f, "teach-frames", 4, "teach-method", _i,
      "scene", scene, NULL);
  m = push_teaching_frames (&f, 0, 4);
  gst_message_unref (m);
  ck_assert_int_eq (q8_model_load_file (scene, &taught, err, sizeof err),
      Q8_OK);
  ck_assert_int_eq (q8_model_meta_string (taught, "anomaly.method", &got),
      Q8_OK);
  ck_assert_str_eq (got, method[_i]);
  q8_model_free (taught);
  g_unlink (scene);
  g_free (scene);

  out = gst_harness_push_and_pull (f.h, make_frame (&f, 100, 255, 4));
  m = pop_anomaly_message (&f);
  ck_assert (m != NULL);
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "anomalous", G_TYPE_BOOLEAN,
          &anomalous, "x", G_TYPE_INT, &x, "y", G_TYPE_INT, &y, "width",
          G_TYPE_INT, &w, "height", G_TYPE_INT, &h, NULL));
  ck_assert_msg (anomalous, "the built-in model missed a 16x16 defect");
  /* The box covers the defect (the network's receptive field may widen
   * it) and stays near it. */
  ck_assert_msg (x <= DX && y <= DY && x + w >= DX + DW && y + h >= DY + DH
      && x >= DX - 24 && y >= DY - 24 && x + w <= DX + DW + 24
      && y + h <= DY + DH + 24, "box %d,%d %dx%d, defect %d,%d %dx%d", x, y,
      w, h, DX, DY, DW, DH);
  gst_message_unref (m);
  gst_buffer_unref (out);

  out = gst_harness_push_and_pull (f.h, make_frame (&f, 100, -1, 5));
  m = pop_anomaly_message (&f);
  ck_assert (m != NULL);
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "anomalous", G_TYPE_BOOLEAN,
          &anomalous, NULL));
  ck_assert_msg (!anomalous, "a clean frame is anomalous");
  gst_message_unref (m);
  gst_buffer_unref (out);
  fixture_clear (&f);
}
END_TEST

/* Starts a qanomaly with model path (NULL: the built-in one) and returns
 * the error message it posts, which must exist. */
static GError *
start_error (const char *path)
{
  GstElement *e = gst_element_factory_make ("qanomaly", NULL);
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;

  g_object_set (e, "model", path, NULL);
  gst_element_set_bus (e, bus);
  ck_assert_int_eq (gst_element_set_state (e, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  ck_assert_msg (msg != NULL, "no error message on the bus");
  gst_message_parse_error (msg, &error, NULL);
  gst_message_unref (msg);
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  return error;
}

START_TEST (test_errors)
{
  GError *error;

  error = start_error ("/nonexistent/q8/parts.q8");
  ck_assert_msg (strstr (error->message, "/nonexistent/q8/parts.q8") != NULL,
      "%s", error->message);
  g_error_free (error);

  /* A super-resolution model is refused by name. */
  error = start_error (SR_FIXTURE);
  ck_assert_msg (g_error_matches (error, GST_STREAM_ERROR,
          GST_STREAM_ERROR_WRONG_TYPE)
      && strstr (error->message, SR_FIXTURE) != NULL
      && strstr (error->message, "super-resolution") != NULL, "%s",
      error->message);
  g_error_free (error);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("qanomaly");
  TCase *tc = tcase_create ("qanomaly");

  gst_check_init (NULL, NULL);
  tcase_add_loop_test (tc, test_defect, 0, G_N_ELEMENTS (formats));
  tcase_add_test (tc, test_passthrough_and_overlay);
  tcase_add_test (tc, test_interval_and_message_on);
  tcase_add_test (tc, test_threshold_and_roi);
  tcase_add_test (tc, test_errors);
  tcase_add_test (tc, test_teach_and_scene);
  tcase_add_loop_test (tc, test_builtin_model, 0, 3);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
