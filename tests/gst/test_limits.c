/* test_limits.c - the elements at the edges of what they accept: 1x1 and
 * 8192x8192 frames, frames too large for the model's memory bound (a clean
 * refusal with a message, never an abort), frame sizes whose buffers
 * cannot exist, caps they cannot handle, and a model file truncated or
 * replaced on disk while the element runs (it keeps the copy it loaded).
 * Not run under valgrind: the large frames would take minutes there. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>

#include "q8_test.h"
#include "gst_test_models.h"

#define FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"

/* ---- helpers ------------------------------------------------------------ */

typedef struct {
  GstHarness *h;
  GstBus *bus;
} rig;

/* desc is a qsuperres or qanomaly launch fragment; caps may be NULL. */
static void
rig_init (rig *r, const char *desc, const char *caps)
{
  r->h = gst_harness_new_parse (desc);
  r->bus = gst_bus_new ();
  gst_element_set_bus (r->h->element, r->bus);
  if (caps != NULL)
    gst_harness_set_src_caps_str (r->h, caps);
}

static void
rig_clear (rig *r)
{
  gst_harness_teardown (r->h);
  gst_object_unref (r->bus);
}

static gchar *
gray_caps (const char *format, int w, int h)
{
  return g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=25/1", format, w, h);
}

/* A frame of the harness's current caps: luma = value, the rest 128. */
static GstBuffer *
flat_frame (rig *r, guint8 value, GstVideoInfo *info)
{
  GstCaps *caps = gst_pad_get_current_caps (r->h->srcpad);
  GstBuffer *buf;
  GstVideoFrame f;

  fail_unless (gst_video_info_from_caps (info, caps));
  gst_caps_unref (caps);
  buf = gst_buffer_new_allocate (NULL, GST_VIDEO_INFO_SIZE (info), NULL);
  gst_buffer_memset (buf, 0, 128, GST_VIDEO_INFO_SIZE (info));
  fail_unless (gst_video_frame_map (&f, info, buf, GST_MAP_WRITE));
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (info); y++)
    memset ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0)
        + (gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0), value,
        GST_VIDEO_INFO_WIDTH (info));
  gst_video_frame_unmap (&f);
  GST_BUFFER_PTS (buf) = 0;
  return buf;
}

/* The error on the bus (fails if none); the caller frees both strings. */
static void
pop_error (rig *r, gchar **message, gchar **debug)
{
  GstMessage *m = gst_bus_pop_filtered (r->bus, GST_MESSAGE_ERROR);
  GError *e = NULL;

  ck_assert_msg (m != NULL, "no error on the bus");
  gst_message_parse_error (m, &e, debug);
  *message = g_strdup (e->message);
  g_error_free (e);
  gst_message_unref (m);
}

/* A model whose activations at 8192x8192 exceed Q8_MAX_ARENA_BYTES (4 GiB):
 * u8 -> quantize -> 1x1 conv to 256 channels -> 1x1 conv to f*f -> (f > 1:
 * depth-to-space f) -> output, with task metadata.  256 channels of
 * 8192x8192 are 16 GiB; at 16x16 they are 64 KiB. */
static gchar *
write_wide_model (const char *task, int f)
{
  enum { MID = 256 };
  gchar *path = gst_test_temp_model_path ();
  q8_builder *b = q8_builder_new ();
  const int32_t oc = f * f;
  static int8_t w1[MID], w2[16 * MID];
  float s1[MID], s2[16];
  int32_t conv[Q8_CONV_ACT_MAX + 1] = { 0 };
  int32_t d2s[2] = { f, Q8_D2S_DCR };
  char err[256];

  for (int i = 0; i < MID; i++) {
    w1[i] = 1;
    s1[i] = 1.0f;
  }
  for (int i = 0; i < oc * MID; i++)
    w2[i] = 1;
  for (int i = 0; i < oc; i++)
    s2[i] = 1.0f / MID;
  conv[Q8_CONV_KH] = conv[Q8_CONV_KW] = 1;
  conv[Q8_CONV_STRIDE_H] = conv[Q8_CONV_STRIDE_W] = 1;
  conv[Q8_CONV_DILATION_H] = conv[Q8_CONV_DILATION_W] = 1;
  conv[Q8_CONV_GROUPS] = 1;
  conv[Q8_CONV_ACT_MIN] = -128;
  conv[Q8_CONV_ACT_MAX] = 127;
  {
    int64_t x = q8_builder_add_activation (b, "x", Q8_DTYPE_U8, 1,
        1.0f / 255, 0);
    int64_t q = q8_builder_add_activation (b, "q", Q8_DTYPE_S8, 1,
        1.0f / 255, -128);
    int64_t m = q8_builder_add_activation (b, "wide", Q8_DTYPE_S8, MID,
        1.0f / 255, -128);
    int64_t c = q8_builder_add_activation (b, "c", Q8_DTYPE_S8, oc,
        1.0f / 255, -128);
    int64_t y = f > 1 ? q8_builder_add_activation (b, "y", Q8_DTYPE_S8, 1,
        1.0f / 255, -128) : c;
    int64_t t1 = q8_builder_add_const (b, "w1", Q8_DTYPE_S8, 4,
        (const int32_t[]) { MID, 1, 1, 1 }, w1, 0, 0, s1);
    int64_t t2 = q8_builder_add_const (b, "w2", Q8_DTYPE_S8, 4,
        (const int32_t[]) { oc, 1, 1, MID }, w2, 0, 0, s2);
    uint32_t tx = (uint32_t) x, tq = (uint32_t) q, tm = (uint32_t) m;
    uint32_t tc = (uint32_t) c, ty = (uint32_t) y;
    uint32_t in1[3] = { tq, (uint32_t) t1, Q8_NO_TENSOR };
    uint32_t in2[3] = { tm, (uint32_t) t2, Q8_NO_TENSOR };

    ck_assert (x >= 0 && q >= 0 && m >= 0 && c >= 0 && y >= 0 && t1 >= 0
        && t2 >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, &tx, 1, &tq, NULL,
            0) >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_CONV2D, 3, in1, 1, &tm, conv,
            Q8_CONV_ACT_MAX + 1) >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_CONV2D, 3, in2, 1, &tc, conv,
            Q8_CONV_ACT_MAX + 1) >= 0);
    if (f > 1)
      ck_assert (q8_builder_add_op (b, Q8_OP_DEPTH_TO_SPACE, 1, &tc, 1, &ty,
              d2s, 2) >= 0);
    ck_assert_int_eq (q8_builder_add_input (b, tx), Q8_OK);
    ck_assert_int_eq (q8_builder_add_output (b, ty), Q8_OK);
  }
  ck_assert_int_eq (q8_builder_meta_string (b, "task", task), Q8_OK);
  if (f > 1)
    ck_assert_int_eq (q8_builder_meta_int (b, "sr.scale", f), Q8_OK);
  ck_assert_msg (q8_builder_write_file (b, path, err, sizeof err) == Q8_OK,
      "wide model: %s", err);
  q8_builder_free (b);
  return path;
}

/* ---- 1x1 ---------------------------------------------------------------- */

/* A 1x1 frame through qsuperres: a 2x2 frame whose luma is libq8's output
 * for the same pixel. */
START_TEST (test_superres_1x1)
{
  static const char *const formats[] = { "GRAY8", "I420" };
  gchar *caps = gray_caps (formats[_i], 1, 1);
  GstVideoInfo ii, oi;
  GstVideoFrame fo;
  GstBuffer *out;
  GstCaps *ocaps;
  guint8 px = 200, *want;
  int ow, oh;
  rig r;

  rig_init (&r, "qsuperres model=\"" FIXTURE "\"", caps);
  out = gst_harness_push_and_pull (r.h, flat_frame (&r, px, &ii));
  ck_assert_ptr_ne (out, NULL);
  ocaps = gst_pad_get_current_caps (r.h->sinkpad);
  fail_unless (gst_video_info_from_caps (&oi, ocaps));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&oi), 2);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&oi), 2);
  want = gst_test_libq8_luma (FIXTURE, &px, 1, 1, 1, 1, &ow, &oh);
  ck_assert_int_eq (ow, 2);
  ck_assert_int_eq (oh, 2);
  fail_unless (gst_video_frame_map (&fo, &oi, out, GST_MAP_READ));
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 2; x++)
      ck_assert_uint_eq (((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fo, 0))[y
              * GST_VIDEO_FRAME_PLANE_STRIDE (&fo, 0) + x], want[y * 2 + x]);
  gst_video_frame_unmap (&fo);
  g_free (want);
  gst_caps_unref (ocaps);
  gst_buffer_unref (out);
  rig_clear (&r);
  g_free (caps);
}
END_TEST

/* Checks the qanomaly message of one frame: score and region. */
static void
check_anomaly_message (rig *r, double score, int x, int y, int w, int h)
{
  GstMessage *m = gst_bus_pop_filtered (r->bus, GST_MESSAGE_ELEMENT);
  const GstStructure *s;
  gdouble got;
  gint rx, ry, rw, rh;

  ck_assert_msg (m != NULL, "no qanomaly message");
  s = gst_message_get_structure (m);
  fail_unless (gst_structure_get (s, "score", G_TYPE_DOUBLE, &got, "x",
          G_TYPE_INT, &rx, "y", G_TYPE_INT, &ry, "width", G_TYPE_INT, &rw,
          "height", G_TYPE_INT, &rh, NULL));
  ck_assert_msg (got == score, "score %f, expected %f", got, score);
  ck_assert_msg (rx == x && ry == y && rw == w && rh == h, "region %d,%d "
      "%dx%d, expected %d,%d %dx%d", rx, ry, rw, rh, x, y, w, h);
  gst_message_unref (m);
}

/* A white 1x1 frame: score 1 (the map is the luma / 255), the region is
 * the whole frame, with a model at the frame's size or resized to 20x14. */
START_TEST (test_anomaly_1x1)
{
  gchar *model = gst_test_write_luma_anomaly_model (_i ? 20 : 0, _i ? 14 : 0);
  gchar *desc = g_strdup_printf ("qanomaly model=\"%s\"", model);
  gchar *caps = gray_caps ("GRAY8", 1, 1);
  GstVideoInfo ii;
  rig r;

  rig_init (&r, desc, caps);
  gst_buffer_unref (gst_harness_push_and_pull (r.h, flat_frame (&r, 255,
              &ii)));
  check_anomaly_message (&r, 1.0, 0, 0, 1, 1);
  rig_clear (&r);
  g_unlink (model);
  g_free (model);
  g_free (desc);
  g_free (caps);
}
END_TEST

/* ---- large frames ------------------------------------------------------- */

/* 8192x8192 through qanomaly at the frame's own size: one white pixel in
 * the last column is found exactly. */
START_TEST (test_anomaly_8192)
{
  gchar *model = gst_test_write_luma_anomaly_model (0, 0);
  gchar *desc = g_strdup_printf ("qanomaly model=\"%s\"", model);
  gchar *caps = gray_caps ("GRAY8", 8192, 8192);
  GstVideoInfo ii;
  GstBuffer *in;
  GstMapInfo map;
  rig r;

  rig_init (&r, desc, caps);
  in = flat_frame (&r, 0, &ii);
  fail_unless (gst_buffer_map (in, &map, GST_MAP_WRITE));
  map.data[8190 * (gsize) GST_VIDEO_INFO_PLANE_STRIDE (&ii, 0) + 8191] = 255;
  gst_buffer_unmap (in, &map);
  gst_buffer_unref (gst_harness_push_and_pull (r.h, in));
  check_anomaly_message (&r, 1.0, 8191, 8190, 1, 1);
  rig_clear (&r);
  g_unlink (model);
  g_free (model);
  g_free (desc);
  g_free (caps);
}
END_TEST

/* A ramp frame of the harness's current caps (luma (3x + 5y) mod 256, the
 * rest 128), so that a stale or shifted plane shows. */
static GstBuffer *
ramp_frame (rig *r, GstVideoInfo *info)
{
  GstBuffer *buf = flat_frame (r, 0, info);
  GstVideoFrame f;

  fail_unless (gst_video_frame_map (&f, info, buf, GST_MAP_WRITE));
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (info); y++)
    for (int x = 0; x < GST_VIDEO_INFO_WIDTH (info); x++)
      ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&f, 0))[(gsize) y
          * GST_VIDEO_FRAME_PLANE_STRIDE (&f, 0) + x] =
          (guint8) ((3 * x + 5 * y) & 255);
  gst_video_frame_unmap (&f);
  return buf;
}

/* Pushes a ramp frame of the current caps and checks what comes out: for
 * qsuperres the upscaled frame, equal to libq8's output for the same
 * frame; for qanomaly the frame itself and a message whose score is the
 * wide model's map maximum, the largest luma / 255 (within the 1/255
 * quantization step; the map is luma / 255 up to rounding). */
static void
check_ramp (rig *r, gboolean sr, const char *model, int w, int h)
{
  GstVideoInfo ii, oi;
  GstBuffer *in = ramp_frame (r, &ii), *out;
  GstVideoFrame fi, fo;
  GstCaps *caps;

  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&ii), w);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&ii), h);
  out = gst_harness_push_and_pull (r->h, gst_buffer_ref (in));
  ck_assert_msg (out != NULL, "no frame out of %dx%d", w, h);
  caps = gst_pad_get_current_caps (r->h->sinkpad);
  fail_unless (gst_video_info_from_caps (&oi, caps));
  gst_caps_unref (caps);
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&oi), sr ? 2 * w : w);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&oi), sr ? 2 * h : h);
  fail_unless (gst_video_frame_map (&fi, &ii, in, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fo, &oi, out, GST_MAP_READ));
  if (sr) {
    int lw, lh;
    guint8 *want = gst_test_libq8_luma (model,
        GST_VIDEO_FRAME_PLANE_DATA (&fi, 0), 1,
        GST_VIDEO_FRAME_PLANE_STRIDE (&fi, 0), w, h, &lw, &lh);
    ck_assert_int_eq (lw, 2 * w);
    ck_assert_int_eq (lh, 2 * h);
    for (int y = 0; y < lh; y++)
      for (int x = 0; x < lw; x++) {
        int got = ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fo,
                0))[(gsize) y * GST_VIDEO_FRAME_PLANE_STRIDE (&fo, 0) + x];
        ck_assert_msg (got == want[y * lw + x], "%dx%d at (%d, %d): "
            "expected %d, got %d", w, h, x, y, want[y * lw + x], got);
      }
    g_free (want);
  } else {
    GstMessage *m = gst_bus_pop_filtered (r->bus, GST_MESSAGE_ELEMENT);
    const GstStructure *s;
    int top = 0;
    gdouble score;

    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        top = MAX (top, (3 * x + 5 * y) & 255);
    ck_assert_msg (m != NULL, "no qanomaly message for %dx%d", w, h);
    s = gst_message_get_structure (m);
    fail_unless (gst_structure_get_double (s, "score", &score));
    ck_assert_msg (fabs (score - top / 255.0) <= 1.0 / 255, "%dx%d: score "
        "%f, expected %f", w, h, score, top / 255.0);
    gst_message_unref (m);
  }
  gst_video_frame_unmap (&fo);
  gst_video_frame_unmap (&fi);
  gst_buffer_unref (out);
  gst_buffer_unref (in);
}

/* Sets the caps too large for the wide model and pushes a frame: refused
 * with an error naming the size (q8's reason in the debug string). */
static void
check_refused (rig *r, const char *large)
{
  GstVideoInfo ii;
  gchar *message, *debug;

  gst_harness_set_src_caps_str (r->h, large);
  ck_assert_int_eq (gst_harness_push (r->h, flat_frame (r, 10, &ii)),
      GST_FLOW_NOT_NEGOTIATED);
  pop_error (r, &message, &debug);
  ck_assert_msg (strstr (message, "8192x8192") != NULL
      && strstr (message, "too large") != NULL, "%s", message);
  ck_assert_msg (debug != NULL && strstr (debug, "activations need more "
          "than 4294967296 bytes") != NULL, "%s", debug);
  g_free (message);
  g_free (debug);
}

/* A model that works at 16x16 but whose activations at 8192x8192 would
 * need 16 GiB: qsuperres and qanomaly refuse the size with an error naming
 * it, the frame is not negotiated, and then both the caps they had before
 * and a new size work again.  The old caps are the hard case:
 * GstBaseTransform keeps them on its pads and takes them back without
 * configuring the element again, so the element must have kept its
 * configuration through the refusal.  Twice, so that the second refusal
 * meets the recovered configuration. */
START_TEST (test_too_large_refused)
{
  const gboolean sr = _i == 0;
  gchar *model = write_wide_model (sr ? "super-resolution" : "anomaly",
      sr ? 2 : 1);
  gchar *desc = g_strdup_printf ("%s model=\"%s\"", sr ? "qsuperres" :
      "qanomaly", model);
  gchar *small = gray_caps ("GRAY8", 16, 16);
  gchar *large = gray_caps ("GRAY8", 8192, 8192);
  gchar *other = gray_caps ("GRAY8", 18, 12);
  rig r;

  rig_init (&r, desc, small);
  check_ramp (&r, sr, model, 16, 16);
  for (int round = 0; round < 2; round++) {
    check_refused (&r, large);
    gst_harness_set_src_caps_str (r.h, small);
    check_ramp (&r, sr, model, 16, 16);
  }
  check_refused (&r, large);
  gst_harness_set_src_caps_str (r.h, other);
  check_ramp (&r, sr, model, 18, 12);
  rig_clear (&r);
  g_free (other);
  g_unlink (model);
  g_free (model);
  g_free (desc);
  g_free (small);
  g_free (large);
}
END_TEST

/* A frame of 40000x40000 (1.6 GB, which GstVideoInfo accepts) for qanomaly
 * with a model of a fixed input size: the plan is small, only the
 * frame-sized luma buffer is large, and the address space is limited so
 * that it cannot be had, as on a small board.  qanomaly allocated it with
 * g_malloc, which aborts the process; it must refuse with an error.
 * (Skipped under ASan, which cannot run with a limited address space.) */
START_TEST (test_anomaly_frame_alloc_fails)
{
#if defined(__SANITIZE_ADDRESS__)
  printf ("skip: test_anomaly_frame_alloc_fails needs RLIMIT_AS, not under "
      "ASan\n");
#else
  gchar *model = gst_test_write_luma_anomaly_model (20, 14);
  gchar *desc = g_strdup_printf ("qanomaly model=\"%s\"", model);
  gchar *caps = gray_caps ("GRAY8", 40000, 40000);
  gchar *message, *debug;
  struct rlimit old, lim;
  long vm_kib = 0;
  FILE *f = fopen ("/proc/self/statm", "r");
  GstBuffer *buf;
  rig r;

  fail_unless (f != NULL && fscanf (f, "%ld", &vm_kib) == 1);
  fclose (f);
  vm_kib *= sysconf (_SC_PAGESIZE) / 1024;
  rig_init (&r, desc, NULL);
  /* What the process maps now plus 512 MiB: not the 1.6 GB. */
  fail_unless (getrlimit (RLIMIT_AS, &old) == 0);
  lim = old;
  lim.rlim_cur = (rlim_t) (vm_kib + 512 * 1024) * 1024;
  fail_unless (setrlimit (RLIMIT_AS, &lim) == 0);
  gst_harness_set_src_caps_str (r.h, caps);
  /* The element meets the caps with the first buffer; its size does not
   * matter for the refusal. */
  buf = gst_buffer_new_allocate (NULL, 64, NULL);
  ck_assert_int_eq (gst_harness_push (r.h, buf), GST_FLOW_NOT_NEGOTIATED);
  fail_unless (setrlimit (RLIMIT_AS, &old) == 0);
  pop_error (&r, &message, &debug);
  ck_assert_msg (strstr (message, "40000x40000") != NULL, "%s", message);
  g_free (message);
  g_free (debug);
  rig_clear (&r);
  g_unlink (model);
  g_free (model);
  g_free (desc);
  g_free (caps);
#endif
}
END_TEST

/* ---- caps --------------------------------------------------------------- */

/* Caps neither element can handle are refused at negotiation. */
START_TEST (test_unhandled_caps)
{
  static const char *const bad[] = {
    "video/x-raw,format=GRAY16_LE,width=16,height=16,framerate=25/1",
    "video/x-raw,format=P010_10LE,width=16,height=16,framerate=25/1",
    "video/x-raw,format=NV12_64Z32,width=64,height=64,framerate=25/1",
    "video/x-raw(memory:DMABuf),format=NV12,width=16,height=16,"
        "framerate=25/1",
    "video/x-bayer,format=rggb,width=16,height=16,framerate=25/1",
    "image/jpeg,width=16,height=16,framerate=25/1",
    "audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved",
  };
  gchar *model = gst_test_write_luma_anomaly_model (0, 0);
  gchar *adesc = g_strdup_printf ("qanomaly model=\"%s\"", model);
  const char *descs[2] = { "qsuperres model=\"" FIXTURE "\"", adesc };

  for (int e = 0; e < 2; e++)
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
      GstCaps *caps = gst_caps_from_string (bad[i]);
      rig r;

      rig_init (&r, descs[e], NULL);
      ck_assert_msg (!gst_pad_peer_query_accept_caps (r.h->srcpad, caps),
          "%s accepts %s", descs[e], bad[i]);
      gst_caps_unref (caps);
      rig_clear (&r);
    }
  g_unlink (model);
  g_free (model);
  g_free (adesc);
}
END_TEST

/* ---- the model file changes on disk ------------------------------------- */

/* qsuperres keeps the model it loaded: truncating and overwriting the
 * file leaves its frames exactly as before; selecting the damaged file
 * while PLAYING gives a warning and keeps the old model; starting again
 * with it is an error, not a crash. */
START_TEST (test_model_file_changes)
{
  gchar *path = gst_test_temp_model_path ();
  gchar *bytes, *desc, *caps = gray_caps ("GRAY8", 9, 7);
  gsize n;
  guint8 plane[9 * 7], *want;
  GstVideoInfo ii;
  GstMapInfo map;
  int ow, oh;
  rig r;

  fail_unless (g_file_get_contents (FIXTURE, &bytes, &n, NULL));
  fail_unless (g_file_set_contents (path, bytes, (gssize) n, NULL));
  desc = g_strdup_printf ("qsuperres model=\"%s\"", path);
  rig_init (&r, desc, caps);
  for (int i = 0; i < 9 * 7; i++)
    plane[i] = (guint8) (i * 11);
  want = gst_test_libq8_luma (FIXTURE, plane, 1, 9, 9, 7, &ow, &oh);

  for (int step = 0; step < 4; step++) {
    GstBuffer *in = flat_frame (&r, 0, &ii), *out;
    GstVideoInfo oi;
    GstCaps *oc;
    GstVideoFrame fo;

    if (step == 1) {            /* truncated to nothing */
      fail_unless (truncate (path, 0) == 0);
    } else if (step == 2) {     /* overwritten with junk of the same size */
      memset (bytes, 0x5A, n);
      fail_unless (g_file_set_contents (path, bytes, (gssize) n, NULL));
    } else if (step == 3) {     /* selected while PLAYING: kept the old */
      GstElement *e = gst_harness_find_element (r.h, "qsuperres");
      g_object_set (e, "model", path, NULL);
      gst_object_unref (e);
    }
    fail_unless (gst_buffer_map (in, &map, GST_MAP_WRITE));
    for (int y = 0; y < 7; y++)
      memcpy (map.data + y * GST_VIDEO_INFO_PLANE_STRIDE (&ii, 0),
          plane + y * 9, 9);
    gst_buffer_unmap (in, &map);
    out = gst_harness_push_and_pull (r.h, in);
    ck_assert_ptr_ne (out, NULL);
    oc = gst_pad_get_current_caps (r.h->sinkpad);
    fail_unless (gst_video_info_from_caps (&oi, oc));
    fail_unless (gst_video_frame_map (&fo, &oi, out, GST_MAP_READ));
    for (int y = 0; y < oh; y++)
      ck_assert_msg (memcmp ((guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fo, 0)
              + y * GST_VIDEO_FRAME_PLANE_STRIDE (&fo, 0), want + y * ow,
              ow) == 0, "step %d: row %d differs", step, y);
    gst_video_frame_unmap (&fo);
    gst_caps_unref (oc);
    gst_buffer_unref (out);
  }
  {
    GstMessage *m = gst_bus_pop_filtered (r.bus, GST_MESSAGE_WARNING);
    ck_assert_msg (m != NULL, "no warning for the damaged model");
    gst_message_unref (m);
  }
  /* A fresh start reads the damaged file and fails cleanly. */
  ck_assert_int_eq (gst_element_set_state (r.h->element, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  ck_assert_int_eq (gst_element_set_state (r.h->element, GST_STATE_PLAYING),
      GST_STATE_CHANGE_FAILURE);
  {
    gchar *message, *debug;
    pop_error (&r, &message, &debug);
    ck_assert_msg (strstr (message, path) != NULL, "%s", message);
    g_free (message);
    g_free (debug);
  }
  rig_clear (&r);
  g_unlink (path);
  g_free (path);
  g_free (bytes);
  g_free (desc);
  g_free (caps);
  g_free (want);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("limits");
  TCase *tc = tcase_create ("limits");

  gst_check_init (NULL, NULL);
  tcase_add_loop_test (tc, test_superres_1x1, 0, 2);
  tcase_add_loop_test (tc, test_anomaly_1x1, 0, 2);
  tcase_add_test (tc, test_anomaly_8192);
  tcase_add_loop_test (tc, test_too_large_refused, 0, 2);
  tcase_add_test (tc, test_anomaly_frame_alloc_fails);
  tcase_add_test (tc, test_unhandled_caps);
  tcase_add_test (tc, test_model_file_changes);
  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  return s;
}
