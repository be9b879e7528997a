/* gst_test_models.c - see gst_test_models.h. */
#include <unistd.h>

#include <glib.h>

#include "q8_test.h"
#include "gst_reference.h"
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

/* The anomaly models of gst_test_models.h: u8 luma -> QUANTIZE to s8 with
 * the same scale 1/255, so output 0 = pixel / 255 exactly.  gaussian: a
 * feature model (anomaly.method "gaussian", untaught); else a map model
 * with anomaly.threshold 0.5.  width 0: no fixed input size. */
static char *
write_luma_model (int width, int height, gboolean gaussian)
{
  gchar *path = gst_test_temp_model_path ();
  q8_builder *b = q8_builder_new ();
  char err[256];
  int64_t x, y;

  x = q8_builder_add_activation (b, "x", Q8_DTYPE_U8, 1, 1.0f / 255, 0);
  y = q8_builder_add_activation (b, gaussian ? "features" : "map",
      Q8_DTYPE_S8, 1, 1.0f / 255, -128);
  ck_assert (x >= 0 && y >= 0);
  {
    uint32_t in = (uint32_t) x, out = (uint32_t) y;
    ck_assert (q8_builder_add_op (b, Q8_OP_QUANTIZE, 1, &in, 1, &out, NULL,
            0) >= 0);
    ck_assert_int_eq (q8_builder_add_input (b, in), Q8_OK);
    ck_assert_int_eq (q8_builder_add_output (b, out), Q8_OK);
  }
  ck_assert_int_eq (q8_builder_meta_string (b, "task", "anomaly"), Q8_OK);
  if (gaussian)
    ck_assert_int_eq (q8_builder_meta_string (b, "anomaly.method",
            "gaussian"), Q8_OK);
  else
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

char *
gst_test_write_luma_anomaly_model (int width, int height)
{
  return write_luma_model (width, height, FALSE);
}

char *
gst_test_write_gaussian_model (int width, int height)
{
  ck_assert (width > 0 && height > 0);
  return write_luma_model (width, height, TRUE);
}

uint8_t *
gst_test_libq8_luma (const char *path, const uint8_t *plane, int pstride,
    int stride, int w, int h, int *ow, int *oh)
{
  q8_model *m;
  q8_plan *p;
  q8_tensor_info oi;
  char err[256];
  guint8 *in = g_malloc ((gsize) w * h), *out;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      in[y * w + x] = plane[(gsize) y * stride + (gsize) x * pstride];
  ck_assert_msg (q8_model_load_file (path, &m, err, sizeof err) == Q8_OK,
      "%s: %s", path, err);
  ck_assert_msg (q8_plan_create (m, w, h, 1, &p, err, sizeof err) == Q8_OK,
      "plan %dx%d: %s", w, h, err);
  ck_assert_int_eq (q8_plan_set_input_u8 (p, 0, in, (size_t) w), Q8_OK);
  ck_assert_int_eq (q8_run (p), Q8_OK);
  ck_assert_int_eq (q8_plan_output_info (p, 0, &oi), Q8_OK);
  *ow = oi.w;
  *oh = oi.h;
  out = g_malloc ((gsize) oi.w * oi.h);
  ck_assert_int_eq (q8_plan_get_output_u8 (p, 0, out, (size_t) oi.w), Q8_OK);
  q8_plan_free (p);
  q8_model_free (m);
  g_free (in);
  return out;
}

void
gst_test_ref_superres_rgb (const char *path, const uint8_t *r,
    const uint8_t *g, const uint8_t *b, int pstride, int stride, int w,
    int h, int f, uint8_t **out_r, uint8_t **out_g, uint8_t **out_b)
{
  const gsize n = (gsize) w * h, on = (gsize) f * w * f * h;
  guint8 *y = g_malloc (n), *cb = g_malloc (n), *cr = g_malloc (n);
  guint8 *cbo = g_malloc (on), *cro = g_malloc (on), *yo;
  int lw, lh;

  for (int j = 0; j < h; j++)
    for (int i = 0; i < w; i++) {
      gsize o = (gsize) j * stride + (gsize) i * pstride;
      ref_rgb_to_ycbcr (r[o], g[o], b[o], &y[j * w + i], &cb[j * w + i],
          &cr[j * w + i]);
    }
  yo = gst_test_libq8_luma (path, y, 1, w, w, h, &lw, &lh);
  ck_assert_int_eq (lw, f * w);
  ck_assert_int_eq (lh, f * h);
  ref_upscale_bilinear (cb, 1, (size_t) w, w, h, cbo, NULL, f * w, f * h, f);
  ref_upscale_bilinear (cr, 1, (size_t) w, w, h, cro, NULL, f * w, f * h, f);
  *out_r = g_malloc (on);
  *out_g = g_malloc (on);
  *out_b = g_malloc (on);
  for (gsize i = 0; i < on; i++)
    ref_ycbcr_to_rgb (yo[i], cbo[i], cro[i], &(*out_r)[i], &(*out_g)[i],
        &(*out_b)[i]);
  g_free (y);
  g_free (cb);
  g_free (cr);
  g_free (yo);
  g_free (cbo);
  g_free (cro);
}
