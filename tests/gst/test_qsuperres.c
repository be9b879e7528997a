/* test_qsuperres.c - the qsuperres element in a GstHarness: caps
 * negotiation for every format and odd sizes, output size and content
 * (luma against a direct libq8 run on the same frame, chroma, alpha and
 * RGB against the references of gst_reference.c), renegotiation mid-
 * stream, repeated state changes, and the errors a missing or unusable
 * model puts on the bus.
 *
 * Content tests set model= to the fixture file so that the expected luma
 * comes from the same network whatever the built-in models are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>

#include "q8_test.h"
#include "gst_reference.h"
#include "gst_test_models.h"
#include "q8_builtin_models.h"

#define FIXTURE Q8_SRCDIR "/tests/fixtures/espcn_tiny_x2.q8"
#define FIXTURE_FACTOR 2

static const char *const formats[] = {
  "GRAY8", "I420", "YV12", "NV12", "NV21", "YUY2", "UYVY", "Y42B", "Y444",
  "RGB", "BGR", "RGBx", "BGRx", "xRGB", "xBGR", "RGBA", "BGRA",
};
#define N_FORMATS G_N_ELEMENTS (formats)

/* Odd, tiny and not-a-multiple-of-anything sizes. */
static const int sizes[][2] = { { 1, 1 }, { 2, 2 }, { 7, 5 }, { 33, 17 } };

/* ---- helpers --------------------------------------------------------- */

static gchar *
caps_string (const char *format, int w, int h)
{
  return g_strdup_printf ("video/x-raw,format=%s,width=%d,height=%d,"
      "framerate=25/1,pixel-aspect-ratio=4/3", format, w, h);
}

static GstHarness *
harness_new (const char *model, const char *format, int w, int h)
{
  GstHarness *hs = gst_harness_new_empty ();
  gchar *desc = model != NULL
      ? g_strdup_printf ("qsuperres model=\"%s\"", model)
      : g_strdup ("qsuperres");
  gchar *caps = caps_string (format, w, h);

  gst_harness_add_parse (hs, desc);
  gst_harness_set_src_caps_str (hs, caps);
  g_free (desc);
  g_free (caps);
  return hs;
}

/* A frame of random bytes (padding included). */
static GstBuffer *
random_frame (const GstVideoInfo *info, q8_rng *rng, GstClockTime pts)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, info->size, NULL);
  GstMapInfo map;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (gsize i = 0; i < map.size; i++)
    map.data[i] = (guint8) q8_rng_next (rng);
  gst_buffer_unmap (buf, &map);
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DURATION (buf) = GST_SECOND / 25;
  return buf;
}

/* Compares component c of out with a packed expected plane. */
static void
check_comp (const GstVideoFrame *out, guint c, const guint8 *want,
    const char *what)
{
  const guint8 *d = GST_VIDEO_FRAME_COMP_DATA (out, c);
  const int ps = GST_VIDEO_FRAME_COMP_PSTRIDE (out, c);
  const int st = GST_VIDEO_FRAME_COMP_STRIDE (out, c);
  const int w = GST_VIDEO_FRAME_COMP_WIDTH (out, c);
  const int h = GST_VIDEO_FRAME_COMP_HEIGHT (out, c);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int got = d[(gsize) y * st + (gsize) x * ps];
      if (got != want[y * w + x])
        ck_abort_msg ("%s %dx%d, %s (component %u, %dx%d): at (%d, %d) "
            "expected %d, got %d, seed %llu",
            GST_VIDEO_FRAME_FORMAT (out) ==
            GST_VIDEO_FORMAT_UNKNOWN ? "?" :
            gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (out)),
            GST_VIDEO_FRAME_WIDTH (out), GST_VIDEO_FRAME_HEIGHT (out), what,
            c, w, h, x, y, want[y * w + x], got,
            (unsigned long long) q8_test_seed ());
    }
}

/* The model whose output check_upscaled () expects. */
static const char *content_model = FIXTURE;

/* Checks every byte of an upscaled frame against the references. */
static void
check_upscaled (const GstVideoFrame *in, const GstVideoFrame *out, int f)
{
  const int iw = GST_VIDEO_FRAME_WIDTH (in), ih = GST_VIDEO_FRAME_HEIGHT (in);
  const int ow = GST_VIDEO_FRAME_WIDTH (out);
  const int oh = GST_VIDEO_FRAME_HEIGHT (out);
  int lw, lh;

  ck_assert_int_eq (ow, f * iw);
  ck_assert_int_eq (oh, f * ih);

  if (!GST_VIDEO_INFO_IS_RGB (&in->info)) {
    guint8 *luma = gst_test_libq8_luma (content_model,
        GST_VIDEO_FRAME_COMP_DATA (in, 0),
        GST_VIDEO_FRAME_COMP_PSTRIDE (in, 0),
        GST_VIDEO_FRAME_COMP_STRIDE (in, 0), iw, ih, &lw, &lh);
    ck_assert_int_eq (lw, ow);
    ck_assert_int_eq (lh, oh);
    check_comp (out, 0, luma, "luma vs libq8");
    g_free (luma);

    for (guint c = 1; c < GST_VIDEO_FRAME_N_COMPONENTS (in); c++) {
      const int cw = GST_VIDEO_FRAME_COMP_WIDTH (out, c);
      const int ch = GST_VIDEO_FRAME_COMP_HEIGHT (out, c);
      guint8 *want = g_malloc ((gsize) cw * ch);
      ref_upscale_bilinear (GST_VIDEO_FRAME_COMP_DATA (in, c),
          GST_VIDEO_FRAME_COMP_PSTRIDE (in, c),
          GST_VIDEO_FRAME_COMP_STRIDE (in, c),
          GST_VIDEO_FRAME_COMP_WIDTH (in, c),
          GST_VIDEO_FRAME_COMP_HEIGHT (in, c), want, NULL, cw, ch, f);
      check_comp (out, c, want, "chroma vs bilinear");
      g_free (want);
    }
    return;
  }

  /* RGB: the test's own YCbCr planes, luma through libq8, chroma through
   * the reference bilinear, back to RGB. */
  {
    const int ips = GST_VIDEO_FRAME_COMP_PSTRIDE (in, 0);
    const int ist = GST_VIDEO_FRAME_PLANE_STRIDE (in, 0);
    guint8 *wr, *wg, *wb;

    gst_test_ref_superres_rgb (FIXTURE,
        GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_R),
        GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_G),
        GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_B), ips, ist, iw, ih,
        f, &wr, &wg, &wb);
    check_comp (out, GST_VIDEO_COMP_R, wr, "R");
    check_comp (out, GST_VIDEO_COMP_G, wg, "G");
    check_comp (out, GST_VIDEO_COMP_B, wb, "B");

    if (GST_VIDEO_FRAME_N_COMPONENTS (in) == 4) {
      ref_upscale_bilinear (GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_A),
          ips, (size_t) ist, iw, ih, wr, NULL, ow, oh, f);
      check_comp (out, GST_VIDEO_COMP_A, wr, "alpha vs bilinear");
    } else if (GST_VIDEO_FRAME_COMP_PSTRIDE (out, 0) == 4) {
      /* The padding byte of RGBx and friends is written opaque. */
      const guint8 *d = GST_VIDEO_FRAME_PLANE_DATA (out, 0);
      const int ost = GST_VIDEO_FRAME_PLANE_STRIDE (out, 0);
      int pad = 6;
      for (guint c = 0; c < 3; c++)
        pad -= GST_VIDEO_FRAME_COMP_POFFSET (out, c);
      for (int j = 0; j < oh; j++)
        for (int i = 0; i < ow; i++)
          if (d[(gsize) j * ost + (gsize) i * 4 + pad] != 0xff)
            ck_abort_msg ("padding byte at (%d, %d) is %d, not 255", i, j,
                d[(gsize) j * ost + (gsize) i * 4 + pad]);
    }
    g_free (wr);
    g_free (wg);
    g_free (wb);
  }
}

/* Pushes one random frame of the harness's current input caps, checks the
 * output caps and, if model is the fixture, every output byte. */
static void
push_and_check (GstHarness *hs, q8_rng *rng, gboolean check_content, int f)
{
  GstCaps *in_caps = gst_pad_get_current_caps (hs->srcpad);
  GstVideoInfo in_info, out_info;
  GstBuffer *in, *out;
  GstCaps *out_caps;
  GstStructure *s;
  gint num, den;

  fail_unless (gst_video_info_from_caps (&in_info, in_caps));
  in = random_frame (&in_info, rng, 0);
  gst_buffer_ref (in);
  out = gst_harness_push_and_pull (hs, in);
  ck_assert_msg (out != NULL, "no output for %" GST_PTR_FORMAT, in_caps);

  out_caps = gst_pad_get_current_caps (hs->sinkpad);
  fail_unless (gst_video_info_from_caps (&out_info, out_caps));
  ck_assert_int_eq (GST_VIDEO_INFO_FORMAT (&out_info),
      GST_VIDEO_INFO_FORMAT (&in_info));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&out_info),
      f * GST_VIDEO_INFO_WIDTH (&in_info));
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&out_info),
      f * GST_VIDEO_INFO_HEIGHT (&in_info));
  s = gst_caps_get_structure (out_caps, 0);
  fail_unless (gst_structure_get_fraction (s, "framerate", &num, &den));
  ck_assert_int_eq (num, 25);
  ck_assert_int_eq (den, 1);
  fail_unless (gst_structure_get_fraction (s, "pixel-aspect-ratio", &num,
          &den));
  ck_assert_int_eq (num, 4);
  ck_assert_int_eq (den, 3);
  ck_assert_uint_ge (gst_buffer_get_size (out), out_info.size);

  if (check_content) {
    GstVideoFrame fin, fout;
    fail_unless (gst_video_frame_map (&fin, &in_info, in, GST_MAP_READ));
    fail_unless (gst_video_frame_map (&fout, &out_info, out, GST_MAP_READ));
    check_upscaled (&fin, &fout, f);
    gst_video_frame_unmap (&fin);
    gst_video_frame_unmap (&fout);
  }
  gst_buffer_unref (in);
  gst_buffer_unref (out);
  gst_caps_unref (in_caps);
  gst_caps_unref (out_caps);
}

/* ---- negotiation and content ----------------------------------------- */

/* One loop iteration per format: every size, caps and every byte. */
START_TEST (test_format)
{
  const char *format = formats[_i];
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed () + (guint64) _i);
  for (guint s = 0; s < G_N_ELEMENTS (sizes); s++) {
    GstHarness *hs = harness_new (FIXTURE, format, sizes[s][0], sizes[s][1]);
    push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
    gst_harness_teardown (hs);
  }
}
END_TEST

/* Buffers with a GstVideoMeta whose strides and plane offsets differ from
 * the defaults (padding after every row and plane). */
START_TEST (test_video_meta_layout)
{
  static const char *const fmts[] = { "I420", "NV12", "YUY2", "BGRA" };
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  for (guint k = 0; k < G_N_ELEMENTS (fmts); k++) {
    GstHarness *hs = harness_new (FIXTURE, fmts[k], 13, 7);
    GstCaps *caps = gst_pad_get_current_caps (hs->srcpad);
    GstVideoInfo ii, oi;
    gsize offset[GST_VIDEO_MAX_PLANES] = { 0 };
    gint stride[GST_VIDEO_MAX_PLANES] = { 0 };
    gsize size = 32;              /* a gap before the first plane */
    GstBuffer *in, *out;
    GstVideoFrame fin, fout;
    GstCaps *ocaps;

    fail_unless (gst_video_info_from_caps (&ii, caps));
    for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES (&ii); p++) {
      gint comp[GST_VIDEO_MAX_COMPONENTS];
      gst_video_format_info_component (ii.finfo, p, comp);
      stride[p] = GST_VIDEO_INFO_PLANE_STRIDE (&ii, p) + 24 + 8 * p;
      offset[p] = size;
      size += (gsize) stride[p] * GST_VIDEO_INFO_COMP_HEIGHT (&ii, comp[0])
          + 40;
    }
    in = gst_buffer_new_allocate (NULL, size, NULL);
    {
      GstMapInfo map;
      fail_unless (gst_buffer_map (in, &map, GST_MAP_WRITE));
      for (gsize i = 0; i < map.size; i++)
        map.data[i] = (guint8) q8_rng_next (&rng);
      gst_buffer_unmap (in, &map);
    }
    gst_buffer_add_video_meta_full (in, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (&ii), 13, 7, GST_VIDEO_INFO_N_PLANES (&ii),
        offset, stride);
    out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
    fail_unless (out != NULL);
    ocaps = gst_pad_get_current_caps (hs->sinkpad);
    fail_unless (gst_video_info_from_caps (&oi, ocaps));
    /* gst_video_frame_map follows the meta, so the reference reads the
     * same pixels the element had to find. */
    fail_unless (gst_video_frame_map (&fin, &ii, in, GST_MAP_READ));
    ck_assert_int_eq (GST_VIDEO_FRAME_PLANE_STRIDE (&fin, 0), stride[0]);
    fail_unless (gst_video_frame_map (&fout, &oi, out, GST_MAP_READ));
    check_upscaled (&fin, &fout, FIXTURE_FACTOR);
    gst_video_frame_unmap (&fin);
    gst_video_frame_unmap (&fout);
    gst_caps_unref (ocaps);
    gst_caps_unref (caps);
    gst_buffer_unref (in);
    gst_buffer_unref (out);
    gst_harness_teardown (hs);
  }
}
END_TEST

/* GRAY8 with a row stride wider than the row (33 -> 36 bytes) through the
 * built-in default model: caps and size only, the default may change. */
START_TEST (test_default_model)
{
  q8_rng rng;
  GstHarness *hs = harness_new (NULL, "GRAY8", 33, 17);

  q8_rng_seed (&rng, q8_test_seed ());
  push_and_check (hs, &rng, FALSE, 2);
  gst_harness_teardown (hs);
}
END_TEST

/* Every built-in super-resolution model, chosen by `scale` alone: the
 * output is the core library's on the same model, bit for bit (luma), and
 * chroma the bilinear reference. */
/* Writes built-in model m to a temporary file; the caller unlinks and
 * frees the path. */
static gchar *
write_builtin (const q8_builtin_model *m)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp ("q8-builtin-XXXXXX.q8", &path, NULL);

  ck_assert_int_ge (fd, 0);
  ck_assert (write (fd, m->data, m->size) == (ssize_t) m->size);
  close (fd);
  return path;
}

/* The built-in super-resolution model of scale, or NULL. */
static const q8_builtin_model *
find_builtin (guint scale)
{
  for (const q8_builtin_model *m = q8_builtin_models; m->name; m++)
    if (strcmp (m->task, "super-resolution") == 0 && m->scale == scale)
      return m;
  return NULL;
}

START_TEST (test_builtin_models)
{
  int n = 0;
  for (const q8_builtin_model *m = q8_builtin_models; m->name; m++) {
    if (strcmp (m->task, "super-resolution") != 0)
      continue;
    gchar *path = write_builtin (m);
    content_model = path;
    const char *fmts[] = { "GRAY8", "I420" };
    for (int k = 0; k < 2; k++) {
      q8_rng rng;
      /* By name, and by scale where it is that scale's default (the first
       * listed). */
      gchar *desc = k == 0 || find_builtin (m->scale) != m
          ? g_strdup_printf ("qsuperres model=builtin:%s", m->name)
          : g_strdup_printf ("qsuperres scale=%u", m->scale);
      gchar *caps = caps_string (fmts[k], 13, 9);
      GstHarness *hs = gst_harness_new_empty ();
      gst_harness_add_parse (hs, desc);
      gst_harness_set_src_caps_str (hs, caps);
      q8_rng_seed (&rng, q8_test_seed () + k);
      push_and_check (hs, &rng, TRUE, (int) m->scale);
      gst_harness_teardown (hs);
      g_free (desc);
      g_free (caps);
    }
    content_model = FIXTURE;
    g_unlink (path);
    g_free (path);
    n++;
  }
  ck_assert_int_gt (n, 0);
}
END_TEST

#define ANY_RATE "framerate=[0/1,2147483647/1],interlace-mode=progressive"

/* Fails unless caps equal want (NULL: empty caps). */
static void
check_caps_equal (GstCaps *caps, GstCaps *want)
{
  gboolean ok = want != NULL ? gst_caps_is_equal (caps, want)
      : gst_caps_is_empty (caps);
  if (!ok) {
    gchar *got = gst_caps_to_string (caps);
    gchar *exp = want != NULL ? gst_caps_to_string (want) : g_strdup ("EMPTY");
    ck_abort_msg ("caps: expected %s, got %s", exp, got);
  }
}

/* What qsuperres accepts upstream for a given downstream, and the other
 * way round. */
START_TEST (test_transform_caps)
{
  GstHarness *hs = gst_harness_new_parse ("qsuperres");
  GstCaps *caps, *want;

  /* Downstream wants 66x34: upstream must give 33x17 (at any frame rate:
   * the template's range stays). */
  gst_harness_set_sink_caps_str (hs,
      "video/x-raw,format=GRAY8,width=66,height=34");
  caps = gst_pad_peer_query_caps (hs->srcpad, NULL);
  want = gst_caps_from_string ("video/x-raw,format=GRAY8,width=33,height=17,"
      ANY_RATE);
  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  gst_caps_unref (want);

  /* An odd output width has no preimage. */
  gst_harness_set_sink_caps_str (hs,
      "video/x-raw,format=GRAY8,width=67,height=34");
  caps = gst_pad_peer_query_caps (hs->srcpad, NULL);
  check_caps_equal (caps, NULL);
  gst_caps_unref (caps);

  /* Ranges: [10, 21] x {40, 41, 42} -> [5, 10] x {20, 21}. */
  gst_harness_set_sink_caps_str (hs, "video/x-raw,format=GRAY8,"
      "width=[10,21],height={40,41,42}");
  caps = gst_pad_peer_query_caps (hs->srcpad, NULL);
  want = gst_caps_from_string ("video/x-raw,format=GRAY8,width=[5,10],"
      "height={20,21}," ANY_RATE);
  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (hs);

  /* Interlaced video is refused (deinterlace first). */
  {
    GstHarness *h2 = gst_harness_new_parse ("qsuperres");
    GstCaps *il = gst_caps_from_string ("video/x-raw,format=I420,width=8,"
        "height=8,framerate=25/1,interlace-mode=interleaved");
    fail_if (gst_pad_peer_query_accept_caps (h2->srcpad, il));
    gst_caps_unref (il);
    gst_harness_teardown (h2);
  }

  /* Upstream 33x17 offers 66x34 downstream, framerate passed through. */
  hs = gst_harness_new_parse ("qsuperres");
  gst_harness_set_caps_str (hs, "video/x-raw,format=I420,width=33,height=17,"
      "framerate=30/1", "video/x-raw,format=I420,width=66,height=34,"
      "framerate=30/1");
  caps = gst_pad_query_caps (GST_PAD_PEER (hs->sinkpad), NULL);
  want = gst_caps_from_string ("video/x-raw,format=I420,width=66,height=34,"
      "framerate=30/1,interlace-mode=progressive");
  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  gst_harness_teardown (hs);
}
END_TEST

/* Resolution and format changes mid-stream re-plan the same model. */
START_TEST (test_renegotiate)
{
  static const struct {
    const char *format;
    int w, h;
  } steps[] = {
    { "GRAY8", 33, 17 }, { "GRAY8", 20, 31 }, { "I420", 9, 3 },
    { "BGRA", 5, 8 }, { "GRAY8", 33, 17 },
  };
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 33, 17);
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    gchar *caps = caps_string (steps[i].format, steps[i].w, steps[i].h);
    gst_harness_set_src_caps_str (hs, caps);
    g_free (caps);
    push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
    push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
  }
  gst_harness_teardown (hs);
}
END_TEST

/* ---- changing the model while playing --------------------------------- */

/* Writes a super-resolution model of c channels (1 or 3) that upscales by
 * f with nearest-neighbour: u8 -> quantize -> 1x1 convolution to f*f
 * copies of each channel (weight 1.0) -> depth-to-space -> dequantize.
 * Every scale is 1/255 and every multiplier exactly 1, so the output is
 * exactly the nearest upscale. */
static gchar *
write_nearest_model (int f, int c)
{
  gchar *path = gst_test_temp_model_path ();
  q8_builder *b = q8_builder_new ();
  const int32_t oc = f * f * c;
  int32_t dims[4] = { oc, 1, 1, c };
  int8_t w[16 * 3 * 3];
  float scales[16 * 3];
  int32_t conv[Q8_CONV_ACT_MAX + 1] = { 0 };
  int32_t d2s[2] = { f, Q8_D2S_DCR };
  char err[256];
  int64_t x, q, cv, d, y, wt;

  /* DCR: conv channel k lands in output channel k % c. */
  for (int k = 0; k < oc; k++) {
    for (int i = 0; i < c; i++)
      w[k * c + i] = i == k % c ? 127 : 0;
    scales[k] = 1.0f / 127;
  }
  conv[Q8_CONV_KH] = conv[Q8_CONV_KW] = 1;
  conv[Q8_CONV_STRIDE_H] = conv[Q8_CONV_STRIDE_W] = 1;
  conv[Q8_CONV_DILATION_H] = conv[Q8_CONV_DILATION_W] = 1;
  conv[Q8_CONV_GROUPS] = 1;
  conv[Q8_CONV_ACT_MIN] = -128;
  conv[Q8_CONV_ACT_MAX] = 127;

  x = q8_builder_add_activation (b, "x", Q8_DTYPE_U8, c, 1.0f / 255, 0);
  q = q8_builder_add_activation (b, "q", Q8_DTYPE_S8, c, 1.0f / 255, -128);
  cv = q8_builder_add_activation (b, "c", Q8_DTYPE_S8, oc, 1.0f / 255, -128);
  d = q8_builder_add_activation (b, "d", Q8_DTYPE_S8, c, 1.0f / 255, -128);
  y = q8_builder_add_activation (b, "y", Q8_DTYPE_U8, c, 1.0f / 255, 0);
  wt = q8_builder_add_const (b, "w", Q8_DTYPE_S8, 4, dims, w, 0, 0, scales);
  ck_assert (x >= 0 && q >= 0 && cv >= 0 && d >= 0 && y >= 0 && wt >= 0);
  {
    uint32_t t_x = (uint32_t) x, t_q = (uint32_t) q, t_c = (uint32_t) cv;
    uint32_t t_d = (uint32_t) d, t_y = (uint32_t) y;
    uint32_t conv_in[3] = { t_q, (uint32_t) wt, Q8_NO_TENSOR };
    ck_assert (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, &t_x, 1, &t_q, NULL,
            0) >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_CONV2D, 3, conv_in, 1, &t_c,
            conv, Q8_CONV_ACT_MAX + 1) >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_DEPTH_TO_SPACE, 1, &t_c, 1, &t_d,
            d2s, 2) >= 0);
    ck_assert (q8_builder_add_op (b, Q8_OP_DEQUANTIZE, 1, &t_d, 1, &t_y,
            NULL, 0) >= 0);
    ck_assert_int_eq (q8_builder_add_input (b, t_x), Q8_OK);
    ck_assert_int_eq (q8_builder_add_output (b, t_y), Q8_OK);
  }
  ck_assert_int_eq (q8_builder_meta_string (b, "task", "super-resolution"),
      Q8_OK);
  ck_assert_int_eq (q8_builder_meta_string (b, "input.colorspace",
          c == 3 ? "rgb" : "gray"), Q8_OK);
  ck_assert_int_eq (q8_builder_meta_int (b, "sr.scale", f), Q8_OK);
  ck_assert_msg (q8_builder_write_file (b, path, err, sizeof err) == Q8_OK,
      "nearest x%d model: %s", f, err);
  q8_builder_free (b);
  return path;
}

/* Pushes a GRAY8 frame and checks that the output is its nearest-neighbour
 * upscale by f. */
static void
push_and_check_nearest (GstHarness *hs, q8_rng *rng, int f)
{
  GstCaps *in_caps = gst_pad_get_current_caps (hs->srcpad), *out_caps;
  GstVideoInfo ii, oi;
  GstVideoFrame fin, fout;
  GstBuffer *in, *out;

  fail_unless (gst_video_info_from_caps (&ii, in_caps));
  in = random_frame (&ii, rng, 0);
  out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  fail_unless (out != NULL);
  out_caps = gst_pad_get_current_caps (hs->sinkpad);
  fail_unless (gst_video_info_from_caps (&oi, out_caps));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&oi), f * GST_VIDEO_INFO_WIDTH (&ii));
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&oi),
      f * GST_VIDEO_INFO_HEIGHT (&ii));
  fail_unless (gst_video_frame_map (&fin, &ii, in, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fout, &oi, out, GST_MAP_READ));
  for (int y = 0; y < GST_VIDEO_INFO_HEIGHT (&oi); y++)
    for (int x = 0; x < GST_VIDEO_INFO_WIDTH (&oi); x++) {
      int want = ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fin, 0))
          [(y / f) * GST_VIDEO_FRAME_PLANE_STRIDE (&fin, 0) + x / f];
      int got = ((const guint8 *) GST_VIDEO_FRAME_PLANE_DATA (&fout, 0))
          [y * GST_VIDEO_FRAME_PLANE_STRIDE (&fout, 0) + x];
      if (got != want)
        ck_abort_msg ("nearest x%d at (%d, %d): expected %d, got %d", f, x,
            y, want, got);
    }
  gst_video_frame_unmap (&fin);
  gst_video_frame_unmap (&fout);
  gst_buffer_unref (in);
  gst_buffer_unref (out);
  gst_caps_unref (in_caps);
  gst_caps_unref (out_caps);
}

/* A downstream pad that accepts only the caps in its element_private. */
static gboolean
fixed_caps_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstCaps *mine = pad->element_private, *filter, *res;

  if (GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  gst_query_parse_caps (query, &filter);
  res = filter ? gst_caps_intersect (mine, filter) : gst_caps_ref (mine);
  gst_query_set_caps_result (query, res);
  gst_caps_unref (res);
  return TRUE;
}

/* What qsuperres, not started, offers upstream when downstream takes
 * only down (gst-launch links "qsuperres model=x3.q8 ! video/x-raw,..."
 * so, before start () loads the model). */
static GstCaps *
caps_before_start (const gchar *model, guint scale, const gchar *down)
{
  GstElement *e = gst_element_factory_make ("qsuperres", NULL);
  GstPad *src = gst_element_get_static_pad (e, "src");
  GstPad *sink = gst_element_get_static_pad (e, "sink");
  GstPad *peer = gst_pad_new ("down", GST_PAD_SINK);
  GstCaps *mine = gst_caps_from_string (down), *caps;

  g_object_set (e, "scale", scale, "model", model, NULL);
  peer->element_private = mine;
  gst_pad_set_query_function (peer, fixed_caps_query);
  ck_assert_int_eq (gst_pad_link (src, peer), GST_PAD_LINK_OK);
  caps = gst_pad_query_caps (sink, NULL);
  gst_pad_unlink (src, peer);
  gst_caps_unref (mine);
  gst_object_unref (peer);
  gst_object_unref (sink);
  gst_object_unref (src);
  gst_object_unref (e);
  return caps;
}

/* With model= set, the caps before start () follow the file's factor; a
 * file that does not load leaves scale's (start () then posts the
 * error). */
START_TEST (test_model_caps_before_start)
{
  gchar *x3 = write_nearest_model (3, 1);
  GstCaps *want = gst_caps_from_string ("video/x-raw,format=GRAY8,width=33,"
      "height=17," ANY_RATE);
  GstCaps *caps;

  caps = caps_before_start (x3, 2,
      "video/x-raw,format=GRAY8,width=99,height=51," ANY_RATE);
  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  caps = caps_before_start ("/nonexistent/q8/x.q8", 4,
      "video/x-raw,format=GRAY8,width=132,height=68," ANY_RATE);
  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  g_unlink (x3);
  g_free (x3);
}
END_TEST

/* model changes while playing take effect at the next frame, with a new
 * output size when the factor changes; a bad one is refused with a
 * warning and the running model stays. */
START_TEST (test_change_model_playing)
{
  gchar *x3 = write_nearest_model (3, 1), *x2 = write_nearest_model (2, 1);
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 9, 7);
  GstElement *e = gst_harness_find_element (hs, "qsuperres");
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  gst_element_set_bus (e, bus);
  push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);

  g_object_set (e, "model", x3, NULL);
  push_and_check_nearest (hs, &rng, 3);
  push_and_check_nearest (hs, &rng, 3);

  g_object_set (e, "model", x2, NULL);
  push_and_check_nearest (hs, &rng, 2);

  g_object_set (e, "model", "/nonexistent/q8/other.q8", NULL);
  push_and_check_nearest (hs, &rng, 2);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  ck_assert_msg (msg != NULL, "no warning for a missing model");
  gst_message_unref (msg);

  g_object_set (e, "model", FIXTURE, NULL);
  push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);

  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  gst_harness_teardown (hs);
  g_unlink (x3);
  g_unlink (x2);
  g_free (x3);
  g_free (x2);
}
END_TEST

/* `scale` changes while playing take effect at the next frame: built-in
 * x2, then x3 (new output size, renegotiated), then x2 again, each frame
 * the core library's output of that model (luma) and the bilinear
 * reference (chroma). */
START_TEST (test_change_scale_playing)
{
  const q8_builtin_model *m2 = find_builtin (2), *m3 = find_builtin (3);
  GstHarness *hs;
  GstElement *e;
  gchar *x2, *x3;
  q8_rng rng;

  if (m2 == NULL || m3 == NULL) {
    printf ("skip: test_change_scale_playing needs built-in x2 and x3\n");
    return;
  }
  x2 = write_builtin (m2);
  x3 = write_builtin (m3);
  q8_rng_seed (&rng, q8_test_seed ());
  hs = harness_new (NULL, "I420", 13, 9);
  e = gst_harness_find_element (hs, "qsuperres");
  content_model = x2;
  push_and_check (hs, &rng, TRUE, 2);
  g_object_set (e, "scale", 3, NULL);
  content_model = x3;
  push_and_check (hs, &rng, TRUE, 3);
  g_object_set (e, "scale", 2, NULL);
  content_model = x2;
  push_and_check (hs, &rng, TRUE, 2);
  content_model = FIXTURE;
  gst_object_unref (e);
  gst_harness_teardown (hs);
  g_unlink (x2);
  g_unlink (x3);
  g_free (x2);
  g_free (x3);
}
END_TEST

/* A 3-channel model takes R, G and B directly (alpha bilinear) and makes
 * qsuperres accept the RGB formats only. */
START_TEST (test_rgb_model)
{
  gchar *model = write_nearest_model (2, 3);
  GstHarness *hs = harness_new (model, "BGRA", 9, 7);
  GstCaps *in_caps = gst_pad_get_current_caps (hs->srcpad), *out_caps, *yuv;
  GstVideoInfo ii, oi;
  GstVideoFrame fin, fout;
  GstBuffer *in, *out;
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  fail_unless (gst_video_info_from_caps (&ii, in_caps));
  in = random_frame (&ii, &rng, 0);
  out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));
  fail_unless (out != NULL);
  out_caps = gst_pad_get_current_caps (hs->sinkpad);
  fail_unless (gst_video_info_from_caps (&oi, out_caps));
  ck_assert_int_eq (GST_VIDEO_INFO_WIDTH (&oi), 18);
  ck_assert_int_eq (GST_VIDEO_INFO_HEIGHT (&oi), 14);
  fail_unless (gst_video_frame_map (&fin, &ii, in, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fout, &oi, out, GST_MAP_READ));
  {
    guint8 *alpha = g_malloc (18 * 14);
    ref_upscale_bilinear (GST_VIDEO_FRAME_COMP_DATA (&fin, GST_VIDEO_COMP_A),
        4, GST_VIDEO_FRAME_PLANE_STRIDE (&fin, 0), 9, 7, alpha, NULL, 18, 14,
        2);
    check_comp (&fout, GST_VIDEO_COMP_A, alpha, "alpha vs bilinear");
    for (guint c = 0; c < 3; c++) {
      const guint8 *src = GST_VIDEO_FRAME_COMP_DATA (&fin, c);
      for (int y = 0; y < 14; y++)
        for (int x = 0; x < 18; x++)
          alpha[y * 18 + x] = src[(y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE (&fin,
                  0) + (x / 2) * 4];
      check_comp (&fout, c, alpha, "RGB vs nearest");
    }
    g_free (alpha);
  }
  gst_video_frame_unmap (&fin);
  gst_video_frame_unmap (&fout);

  /* YUV is refused: upstream has to convert. */
  yuv = gst_caps_from_string ("video/x-raw,format=I420,width=9,height=7,"
      "framerate=25/1");
  fail_if (gst_pad_peer_query_accept_caps (hs->srcpad, yuv));
  gst_caps_unref (yuv);

  gst_buffer_unref (in);
  gst_buffer_unref (out);
  gst_caps_unref (in_caps);
  gst_caps_unref (out_caps);
  gst_harness_teardown (hs);
  g_unlink (model);
  g_free (model);
}
END_TEST

/* ---- deadlines ----------------------------------------------------------- */

/* Checks the luma of out, the GRAY8 frame in (info ii) upscaled by the
 * fixture: through the network (libq8's output) or, if !network,
 * bilinearly (the reference upscaler). */
static void
check_luma_path (GstHarness *hs, const GstVideoInfo *ii, GstBuffer *in,
    GstBuffer *out, gboolean network)
{
  const int w = GST_VIDEO_INFO_WIDTH (ii), h = GST_VIDEO_INFO_HEIGHT (ii);
  const int f = FIXTURE_FACTOR;
  GstCaps *ocaps = gst_pad_get_current_caps (hs->sinkpad);
  GstVideoFrame fin, fout;
  GstVideoInfo oi;
  guint8 *want;
  int ow, oh;

  fail_unless (gst_video_info_from_caps (&oi, ocaps));
  fail_unless (gst_video_frame_map (&fin, ii, in, GST_MAP_READ));
  fail_unless (gst_video_frame_map (&fout, &oi, out, GST_MAP_READ));
  if (!network) {
    want = g_malloc ((gsize) f * w * f * h);
    ref_upscale_bilinear (GST_VIDEO_FRAME_PLANE_DATA (&fin, 0), 1,
        GST_VIDEO_FRAME_PLANE_STRIDE (&fin, 0), w, h, want, NULL, f * w,
        f * h, f);
    check_comp (&fout, 0, want, "late luma vs bilinear");
  } else {
    want = gst_test_libq8_luma (FIXTURE, GST_VIDEO_FRAME_PLANE_DATA (&fin, 0),
        1, GST_VIDEO_FRAME_PLANE_STRIDE (&fin, 0), w, h, &ow, &oh);
    check_comp (&fout, 0, want, "luma vs libq8");
  }
  g_free (want);
  gst_video_frame_unmap (&fin);
  gst_video_frame_unmap (&fout);
  gst_caps_unref (ocaps);
}

/* A QoS event saying downstream is 1 s late: frames before that are late.
 * conventional: upscaled bilinearly (luma included) and counted; drop:
 * dropped; wait: the network as usual.  Frames after the deadline always
 * get the network. */
START_TEST (test_qos_fallback)
{
  static const char *const modes[] = { "conventional", "drop", "wait" };
  const char *mode = modes[_i];
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 11, 9);
  GstElement *e = gst_harness_find_element (hs, "qsuperres");
  GstCaps *caps = gst_pad_get_current_caps (hs->srcpad);
  GstVideoInfo ii;
  q8_rng rng;
  guint64 fallbacks;

  q8_rng_seed (&rng, q8_test_seed ());
  gst_util_set_object_arg (G_OBJECT (e), "fallback", mode);
  fail_unless (gst_video_info_from_caps (&ii, caps));
  fail_unless (gst_harness_push_upstream_event (hs,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 2.0, GST_SECOND, 0)));

  for (int late = 1; late >= 0; late--) {
    /* PTS 0.5 s is before the deadline of 1 s, 2 s is after it. */
    GstClockTime pts = late ? GST_SECOND / 2 : 2 * GST_SECOND;
    GstBuffer *in = random_frame (&ii, &rng, pts);
    GstBuffer *out;

    gst_buffer_ref (in);
    ck_assert_int_eq (gst_harness_push (hs, in), GST_FLOW_OK);
    out = gst_harness_try_pull (hs);
    if (late && strcmp (mode, "drop") == 0) {
      ck_assert_msg (out == NULL, "drop mode passed a late frame");
      gst_buffer_unref (in);
      continue;
    }
    ck_assert_msg (out != NULL, "%s: no output (late %d)", mode, late);
    check_luma_path (hs, &ii, in, out, !(late && strcmp (mode,
                "conventional") == 0));
    gst_buffer_unref (out);
    gst_buffer_unref (in);
  }

  g_object_get (e, "fallback-frames", &fallbacks, NULL);
  ck_assert_uint_eq (fallbacks, strcmp (mode, "conventional") == 0 ? 1 : 0);
  gst_caps_unref (caps);
  gst_object_unref (e);
  gst_harness_teardown (hs);
}
END_TEST

/* Fallback frames are reported once per second of stream time in a
 * "qsuperres" element message (fields as documented). */
START_TEST (test_fallback_message)
{
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 5, 4);
  GstElement *e = gst_harness_find_element (hs, "qsuperres");
  GstCaps *caps = gst_pad_get_current_caps (hs->srcpad);
  GstBus *bus = gst_bus_new ();
  const GstStructure *st;
  GstVideoInfo ii;
  GstMessage *m;
  guint64 total, rt;
  guint period, period_fb;
  gdouble net_ms;
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  gst_element_set_bus (e, bus);
  fail_unless (gst_video_info_from_caps (&ii, caps));
  /* Everything before 10 s is late. */
  fail_unless (gst_harness_push_upstream_event (hs,
          gst_event_new_qos (GST_QOS_TYPE_UNDERFLOW, 2.0, 10 * GST_SECOND,
              0)));
  for (int i = 0; i < 4; i++) {
    GstBuffer *out = gst_harness_push_and_pull (hs, random_frame (&ii, &rng,
            i * GST_SECOND / 2));
    gst_buffer_unref (out);
  }
  /* Frames at 0, 0.5 and 1 s: the third closes the first second. */
  m = gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT);
  ck_assert_msg (m != NULL && gst_message_has_name (m, "qsuperres"),
      "no qsuperres message");
  st = gst_message_get_structure (m);
  fail_unless (gst_structure_get (st, "fallback-frames", G_TYPE_UINT64,
          &total, "period-frames", G_TYPE_UINT, &period,
          "period-fallback-frames", G_TYPE_UINT, &period_fb, "network-ms",
          G_TYPE_DOUBLE, &net_ms, "running-time", G_TYPE_UINT64, &rt, NULL));
  ck_assert_uint_eq (total, 3);
  ck_assert_uint_eq (period, 3);
  ck_assert_uint_eq (period_fb, 3);
  ck_assert_uint_eq (rt, GST_SECOND);
  ck_assert_msg (net_ms >= 0, "network-ms %f", net_ms);
  gst_message_unref (m);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ELEMENT) == NULL);

  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_caps_unref (caps);
  gst_object_unref (e);
  gst_harness_teardown (hs);
}
END_TEST

/* One frame interval (25/1 caps: 40 ms) on top of upstream's latency. */
START_TEST (test_latency)
{
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 7, 5);
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  gst_harness_set_live (hs, TRUE);
  gst_harness_set_upstream_latency (hs, 10 * GST_MSECOND);
  push_and_check (hs, &rng, FALSE, FIXTURE_FACTOR);
  ck_assert_uint_eq (gst_harness_query_latency (hs), 50 * GST_MSECOND);
  gst_harness_teardown (hs);
}
END_TEST

/* A live source whose frame interval the network cannot keep up with:
 * caps of 1 000 000 frames/s leave 1 us per frame, which no network frame
 * fits in (the fixture is about 5 million MACs at 16x16, hundreds of us; the
 * credit of the 10 frames, 10 us, would not cover 6 us of it).  The first
 * frame goes through the network and measures it; every later one is
 * upscaled bilinearly, counted, and the reported latency grows beyond the
 * one interval to whole intervals covering the network time.  At 1 frame/s
 * the time allows the network again on every frame. */
START_TEST (test_live_budget)
{
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 16, 16);
  GstElement *e = gst_harness_find_element (hs, "qsuperres");
  GstVideoInfo ii;
  GstCaps *caps;
  GstClockTime latency;
  guint64 fallbacks;
  q8_rng rng;

  q8_rng_seed (&rng, q8_test_seed ());
  gst_harness_set_live (hs, TRUE);
  gst_harness_set_src_caps_str (hs, "video/x-raw,format=GRAY8,width=16,"
      "height=16,framerate=1000000/1");
  caps = gst_pad_get_current_caps (hs->srcpad);
  fail_unless (gst_video_info_from_caps (&ii, caps));
  gst_caps_unref (caps);
  /* qsuperres learns that the source is live from the latency query. */
  ck_assert_uint_eq (gst_harness_query_latency (hs), GST_USECOND);

  for (int i = 0; i < 10; i++) {
    GstBuffer *in = random_frame (&ii, &rng, i * GST_USECOND);
    GstBuffer *out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));

    ck_assert_msg (out != NULL, "no frame %d", i);
    check_luma_path (hs, &ii, in, out, i == 0);
    gst_buffer_unref (out);
    gst_buffer_unref (in);
  }
  g_object_get (e, "fallback-frames", &fallbacks, NULL);
  ck_assert_uint_eq (fallbacks, 9);
  latency = gst_harness_query_latency (hs);
  ck_assert_msg (latency > GST_USECOND && latency % GST_USECOND == 0,
      "latency %" G_GUINT64_FORMAT " ns at 1 us per frame", latency);

  gst_harness_set_src_caps_str (hs, "video/x-raw,format=GRAY8,width=16,"
      "height=16,framerate=1/1");
  for (int i = 0; i < 3; i++) {
    GstBuffer *in = random_frame (&ii, &rng, (i + 1) * GST_SECOND);
    GstBuffer *out = gst_harness_push_and_pull (hs, gst_buffer_ref (in));

    ck_assert_msg (out != NULL, "no frame %d at 1/1", i);
    check_luma_path (hs, &ii, in, out, TRUE);
    gst_buffer_unref (out);
    gst_buffer_unref (in);
  }
  g_object_get (e, "fallback-frames", &fallbacks, NULL);
  ck_assert_uint_eq (fallbacks, 9);
  ck_assert_uint_eq (gst_harness_query_latency (hs), GST_SECOND);
  gst_object_unref (e);
  gst_harness_teardown (hs);
}
END_TEST

/* ---- state changes --------------------------------------------------- */

START_TEST (test_state_cycles)
{
  GstElement *e = gst_element_factory_make ("qsuperres", NULL);
  q8_rng rng;

  fail_unless (e != NULL);
  for (int i = 0; i < 100; i++) {
    ck_assert_int_eq (gst_element_set_state (e, GST_STATE_PLAYING),
        GST_STATE_CHANGE_SUCCESS);
    ck_assert_int_eq (gst_element_set_state (e, i % 2 ? GST_STATE_READY :
            GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  }
  ck_assert_int_eq (gst_element_set_state (e, GST_STATE_NULL),
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (e);

  /* With data flowing: a fresh stream after every stop. */
  q8_rng_seed (&rng, q8_test_seed ());
  for (int i = 0; i < 10; i++) {
    GstHarness *hs = harness_new (FIXTURE, i % 2 ? "NV12" : "GRAY8",
        5 + i, 3 + 2 * i);
    push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
    ck_assert_int_eq (gst_element_set_state (hs->element, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_harness_teardown (hs);
  }
}
END_TEST

START_TEST (test_eos_flush)
{
  GstHarness *hs = harness_new (FIXTURE, "GRAY8", 7, 5);
  gboolean eos = FALSE;
  q8_rng rng;
  GstEvent *ev;

  q8_rng_seed (&rng, q8_test_seed ());
  push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
  fail_unless (gst_harness_push_event (hs, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (hs, gst_event_new_flush_stop (TRUE)));
  {
    GstSegment seg;
    gst_segment_init (&seg, GST_FORMAT_TIME);
    fail_unless (gst_harness_push_event (hs, gst_event_new_segment (&seg)));
  }
  push_and_check (hs, &rng, TRUE, FIXTURE_FACTOR);
  fail_unless (gst_harness_push_event (hs, gst_event_new_eos ()));
  while ((ev = gst_harness_try_pull_event (hs)) != NULL) {
    eos = GST_EVENT_TYPE (ev) == GST_EVENT_EOS;
    gst_event_unref (ev);
    if (eos)
      break;
  }
  ck_assert_msg (eos, "EOS did not come out");
  gst_harness_teardown (hs);
}
END_TEST

/* ---- errors ---------------------------------------------------------- */

/* Starts a qsuperres with the given model path (or, if NULL, scale) and
 * returns the error it puts on the bus, or NULL if it started. */
static GError *
start_error (const char *path, guint scale)
{
  GstElement *e = gst_element_factory_make ("qsuperres", NULL);
  GstBus *bus = gst_bus_new ();
  GstStateChangeReturn ret;
  GError *error = NULL;

  g_object_set (e, "model", path, "scale", scale, NULL);
  gst_element_set_bus (e, bus);
  ret = gst_element_set_state (e, GST_STATE_PLAYING);
  if (ret == GST_STATE_CHANGE_FAILURE) {
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    ck_assert_msg (msg != NULL, "state change failed without an error "
        "message on the bus");
    gst_message_parse_error (msg, &error, NULL);
    gst_message_unref (msg);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_element_set_bus (e, NULL);
  gst_object_unref (bus);
  gst_object_unref (e);
  return error;
}

/* The start of qsuperres on model path fails with domain and code and a
 * message naming the file and containing problem. */
static void
check_model_error (const char *path, GQuark domain, gint code,
    const char *problem)
{
  GError *error = start_error (path, 2);

  ck_assert_msg (error != NULL, "%s: the element started", path);
  ck_assert_msg (g_error_matches (error, domain, code), "%s: unexpected "
      "error %s", path, error->message);
  ck_assert_msg (strstr (error->message, path) != NULL,
      "message does not name the file: %s", error->message);
  ck_assert_msg (problem == NULL || strstr (error->message, problem) != NULL,
      "message does not say \"%s\": %s", problem, error->message);
  g_error_free (error);
}

START_TEST (test_missing_model)
{
  check_model_error ("/nonexistent/q8/missing_model.q8", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "does not exist");
}
END_TEST

START_TEST (test_garbage_model)
{
  gchar *path = gst_test_temp_model_path ();
  const char text[] = "this is not a model at all, not even close to one";

  fail_unless (g_file_set_contents (path, text, sizeof text, NULL));
  check_model_error (path, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
      "not a valid q8 model");
  g_unlink (path);
  g_free (path);
}
END_TEST

/* An anomaly model (a valid .q8 of the wrong task) is refused by name. */
START_TEST (test_wrong_task)
{
  gchar *path = gst_test_write_luma_anomaly_model (0, 0);

  check_model_error (path, GST_STREAM_ERROR, GST_STREAM_ERROR_WRONG_TYPE,
      "\"anomaly\" model");
  g_unlink (path);
  g_free (path);
}
END_TEST

/* A factor without a built-in model says so and names the way out.  Once
 * every factor has one, there is nothing left to check. */
/* builtin:NAME names a model compiled in; a name that is not, or one of
 * another task, is refused by name. */
START_TEST (test_builtin_by_name)
{
  GstCaps *want = gst_caps_from_string ("video/x-raw,format=GRAY8,width=33,"
      "height=17," ANY_RATE);
  GstCaps *caps = caps_before_start ("builtin:espcn_x3", 2,
      "video/x-raw,format=GRAY8,width=99,height=51," ANY_RATE);

  check_caps_equal (caps, want);
  gst_caps_unref (caps);
  gst_caps_unref (want);
  check_model_error ("builtin:espcn_x9", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "no built-in model of that name");
  check_model_error ("builtin:espcn_x9", GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_NOT_FOUND, "x3 (espcn_x3)");
  check_model_error ("builtin:anomaly_features", GST_STREAM_ERROR,
      GST_STREAM_ERROR_WRONG_TYPE, "\"anomaly\" model");
}
END_TEST

START_TEST (test_no_builtin_for_scale)
{
  for (guint scale = 2; scale <= 4; scale++) {
    GError *error = start_error (NULL, scale);
    gchar *want;

    if (error == NULL)
      continue;
    want = g_strdup_printf ("No built-in model for scale %u", scale);
    ck_assert_msg (strstr (error->message, want) != NULL
        && strstr (error->message, "\"model\" property") != NULL,
        "unexpected message: %s", error->message);
    g_free (want);
    g_error_free (error);
  }
}
END_TEST

/* ---- properties ------------------------------------------------------ */

START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("qsuperres", NULL);
  guint scale, threads;
  gchar *model;
  gint fallback;
  guint64 frames;

  g_object_get (e, "scale", &scale, "threads", &threads, "model", &model,
      "fallback", &fallback, "fallback-frames", &frames, NULL);
  ck_assert_uint_eq (scale, 2);
  ck_assert_uint_eq (threads, 0);
  ck_assert (model == NULL);
  ck_assert_int_eq (fallback, 0);
  ck_assert_uint_eq (frames, 0);
  gst_util_set_object_arg (G_OBJECT (e), "fallback", "drop");
  g_object_set (e, "scale", 3, "threads", 2, "model", FIXTURE, NULL);
  g_object_get (e, "scale", &scale, "threads", &threads, "model", &model,
      "fallback", &fallback, NULL);
  ck_assert_uint_eq (scale, 3);
  ck_assert_uint_eq (threads, 2);
  ck_assert_str_eq (model, FIXTURE);
  ck_assert_int_eq (fallback, 1);
  g_free (model);
  gst_object_unref (e);
}
END_TEST

Suite *
q8_test_suite (void)
{
  Suite *s = suite_create ("qsuperres");
  TCase *tc = tcase_create ("qsuperres");

  gst_check_init (NULL, NULL);
  tcase_add_loop_test (tc, test_format, 0, N_FORMATS);
  tcase_add_test (tc, test_video_meta_layout);
  tcase_add_test (tc, test_default_model);
  tcase_add_test (tc, test_transform_caps);
  tcase_add_test (tc, test_model_caps_before_start);
  tcase_add_test (tc, test_renegotiate);
  tcase_add_test (tc, test_change_model_playing);
  tcase_add_test (tc, test_change_scale_playing);
  tcase_add_test (tc, test_rgb_model);
  tcase_add_loop_test (tc, test_qos_fallback, 0, 3);
  tcase_add_test (tc, test_fallback_message);
  tcase_add_test (tc, test_latency);
  tcase_add_test (tc, test_live_budget);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_eos_flush);
  tcase_add_test (tc, test_missing_model);
  tcase_add_test (tc, test_garbage_model);
  tcase_add_test (tc, test_wrong_task);
  tcase_add_test (tc, test_no_builtin_for_scale);
  tcase_add_test (tc, test_builtin_models);
  tcase_add_test (tc, test_builtin_by_name);
  tcase_add_test (tc, test_properties);
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  return s;
}
