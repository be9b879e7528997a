/* gstqsuperres.c - qsuperres: upscales video with an int8 super-resolution
 * network (ESPCN) run by libq8.  Luma goes through the network, chroma and
 * alpha through an exact bilinear upscaler (upscale.c), RGB through
 * BT.601 full-range YCbCr (colorspace.c).
 */

/**
 * SECTION:element-qsuperres
 * @title: qsuperres
 *
 * Upscales raw video by 2, 3 or 4 with a quantized super-resolution
 * network.  The luma plane is upscaled by the network, as ESPCN does;
 * chroma and alpha are upscaled bilinearly.  RGB input is converted to
 * YCbCr with the BT.601 full-range matrix, upscaled and converted back, so
 * webcam formats (YUY2, NV12, I420) and decoder output need no
 * videoconvert.  A model with 3 input channels is an RGB model: it gets R,
 * G and B directly, and qsuperres then accepts the RGB formats only.
 *
 * The models are compiled into the plugin: `scale` picks the built-in
 * model of that factor.  `model` loads a .q8 file (or `builtin:NAME`, any
 * model compiled in) instead and overrides `scale`; the output size is
 * then the input size times the model's own factor.  A resolution change
 * mid-stream re-plans the network without reloading it.
 *
 * For GRAY8 input the output is bit for bit what `q8 run` or the libq8 API
 * produce for the same frame.  Changing `model` or `scale` while playing
 * takes effect at the next frame (renegotiating if the factor changes); a
 * model that fails to load then gives a warning and the old one stays.
 *
 * ## Deadlines
 *
 * qsuperres reports one frame interval of latency, or as many whole
 * intervals as the measured network time needs.  In the default
 * `fallback=conventional` mode a frame that would miss its deadline is
 * upscaled bilinearly instead of by the network, so the stream keeps its
 * frame rate: frames that QoS events from the sink show to be late, and on
 * a live source the frames the measured network time does not leave time
 * for.  `fallback-frames` counts them, and every second of stream time
 * with at least one of them the element posts an element message named
 * `qsuperres` with the fields
 *
 * - `fallback-frames` (guint64): total since the element started
 * - `period-frames` (guint): frames since the previous message
 * - `period-fallback-frames` (guint): of those, upscaled bilinearly
 * - `network-ms` (gdouble): average time of one frame in the network
 * - `running-time` (guint64): running time of the current frame
 *
 * `fallback=drop` drops late frames instead (GstBaseTransform QoS) and
 * `fallback=wait` runs the network on every frame however late.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 videotestsrc num-buffers=100 ! qsuperres ! fakesink
 * gst-launch-1.0 v4l2src ! qsuperres ! autovideosink
 * gst-launch-1.0 filesrc location=in.png ! pngdec ! videoconvert ! \
 *     qsuperres scale=2 ! videoconvert ! pngenc ! filesink location=out.png
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include "gstqsuperres.h"
#include "gstq8models.h"
#include "upscale.h"
#include "colorspace.h"

GST_DEBUG_CATEGORY_STATIC (gst_qsuperres_debug);
#define GST_CAT_DEFAULT gst_qsuperres_debug

enum
{
  PROP_0,
  PROP_SCALE,
  PROP_MODEL,
  PROP_THREADS,
  PROP_FALLBACK,
  PROP_FALLBACK_FRAMES,
};

#define DEFAULT_SCALE 2
#define MIN_SCALE 2
#define MAX_SCALE 4
#define DEFAULT_MODEL NULL
#define DEFAULT_THREADS 0
#define MAX_THREADS 256
#define DEFAULT_FALLBACK GST_QSUPERRES_FALLBACK_CONVENTIONAL

/* The size at which start () checks that a model upscales, and by how
 * much; any size an ESPCN accepts would do. */
#define PROBE_SIZE 16
/* The largest factor a model file may have. */
#define MAX_MODEL_FACTOR 8

#define SR_TASK "super-resolution"

#define QSUPERRES_FORMATS "{ GRAY8, I420, YV12, NV12, NV21, YUY2, UYVY, " \
    "Y42B, Y444, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA }"
/* What an RGB (3-channel) model accepts. */
#define QSUPERRES_RGB_FORMATS \
    "{ RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA }"

/* Progressive only: upscaling the two fields of an interlaced frame as one
 * picture would blend them (deinterlace first). */
#define QSUPERRES_CAPS GST_VIDEO_CAPS_MAKE (QSUPERRES_FORMATS) \
    ", interlace-mode = (string) progressive"

static GstStaticPadTemplate gst_qsuperres_sink_template =
GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (QSUPERRES_CAPS));

static GstStaticPadTemplate gst_qsuperres_src_template =
GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (QSUPERRES_CAPS));

GType
gst_qsuperres_fallback_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_QSUPERRES_FALLBACK_CONVENTIONAL,
        "Upscale late frames bilinearly, keeping the frame rate",
        "conventional"},
    {GST_QSUPERRES_FALLBACK_DROP, "Drop late frames", "drop"},
    {GST_QSUPERRES_FALLBACK_WAIT,
        "Run the network on every frame, however late", "wait"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstQSuperResFallback", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_qsuperres_parent_class parent_class
G_DEFINE_TYPE (GstQSuperRes, gst_qsuperres, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (qsuperres, "qsuperres", GST_RANK_NONE,
    GST_TYPE_QSUPERRES);

/* ------------------------------------------------------------------ */
/* Models                                                              */
/* ------------------------------------------------------------------ */

/* Checks that model is a luma (1-channel) or RGB (3-channel) super-
 * resolution network and finds its factor by planning it once.  On
 * failure writes why to err. */
static gboolean
gst_qsuperres_check_model (const q8_model *model, guint *factor,
    gint *channels, gchar *err, gsize err_size)
{
  const char *task = NULL;
  q8_tensor_info in, out;
  q8_plan *probe = NULL;
  char q8err[256];
  q8_status st;
  int64_t meta_scale = 0;
  gint f;

  if (q8_model_meta_string (model, "task", &task) == Q8_OK
      && strcmp (task, SR_TASK) != 0) {
    g_snprintf (err, err_size, "it is a \"%s\" model, not a %s model",
        task, SR_TASK);
    return FALSE;
  }
  if (q8_model_num_inputs (model) != 1 || q8_model_num_outputs (model) != 1) {
    g_snprintf (err, err_size, "it has %zu inputs and %zu outputs, "
        "qsuperres needs one of each", q8_model_num_inputs (model),
        q8_model_num_outputs (model));
    return FALSE;
  }
  q8_model_input_info (model, 0, &in);
  q8_model_output_info (model, 0, &out);
  if ((in.c != 1 && in.c != 3) || out.c != in.c) {
    g_snprintf (err, err_size, "its input has %d channels and its output "
        "%d, qsuperres runs luma (1 and 1) or RGB (3 and 3) models",
        (int) in.c, (int) out.c);
    return FALSE;
  }
  *channels = in.c;

  st = q8_plan_create (model, PROBE_SIZE, PROBE_SIZE, 1, &probe, q8err,
      sizeof q8err);
  if (st != Q8_OK) {
    g_snprintf (err, err_size, "it cannot be planned for %dx%d input: %s",
        PROBE_SIZE, PROBE_SIZE, q8err);
    return FALSE;
  }
  q8_plan_output_info (probe, 0, &out);
  q8_plan_free (probe);
  f = out.w / PROBE_SIZE;
  if (out.w != f * PROBE_SIZE || out.h != f * PROBE_SIZE || f < 1
      || f > MAX_MODEL_FACTOR) {
    g_snprintf (err, err_size, "a %dx%d input gives a %dx%d output, not an "
        "upscale by an integer factor of 1 to %d", PROBE_SIZE, PROBE_SIZE,
        (int) out.w, (int) out.h, MAX_MODEL_FACTOR);
    return FALSE;
  }
  if (q8_model_meta_int (model, "sr.scale", &meta_scale) == Q8_OK
      && meta_scale != f) {
    g_snprintf (err, err_size, "its metadata says sr.scale = %" G_GINT64_FORMAT
        " but the network upscales by %d", meta_scale, f);
    return FALSE;
  }
  *factor = (guint) f;
  return TRUE;
}

/* Loads the model the properties name (path, or the built-in model of
 * scale) and checks it.  On failure posts an element error (or, unless
 * fatal, a warning) that names the file and the problem, and returns
 * NULL. */
static q8_model *
gst_qsuperres_load_model (GstQSuperRes *self, const gchar *path, guint scale,
    gboolean fatal, guint *factor, gint *channels, gchar **desc)
{
  q8_model *model;
  gchar why[512];

  model = gst_q8_model_load (GST_ELEMENT (self), path, SR_TASK, scale, fatal,
      desc);
  if (model == NULL)
    return NULL;
  if (!gst_qsuperres_check_model (model, factor, channels, why,
          sizeof why)) {
    GST_Q8_LOAD_ERROR (self, fatal, STREAM, WRONG_TYPE,
        ("Model \"%s\" cannot be used by qsuperres: %s.", *desc, why),
        (NULL));
    q8_model_free (model);
    g_clear_pointer (desc, g_free);
    return NULL;
  }
  GST_INFO_OBJECT (self, "loaded %s, %s, upscales by %u", *desc,
      *channels == 3 ? "RGB" : "luma", *factor);
  return model;
}

/* The factor of the model file at path, read when the property is set:
 * gst-launch links caps filters before start () loads the model, and
 * transform_caps () must answer with the file's factor then.  0 if the
 * file does not load or is not a super-resolution model; start () then
 * posts the error. */
static guint
gst_qsuperres_peek_factor (const gchar *path)
{
  q8_model *model = NULL;
  char err[256];
  guint factor = 0;
  gint channels;

  if (path == NULL
      || gst_q8_model_open (path, &model, err, sizeof err) != Q8_OK)
    return 0;
  if (!gst_qsuperres_check_model (model, &factor, &channels, err,
          sizeof err))
    factor = 0;
  q8_model_free (model);
  return factor;
}

/* The factor transform_caps () uses: the loaded model's, or before start ()
 * the one the properties promise (the model file's, else scale). */
static guint
gst_qsuperres_get_factor (GstQSuperRes *self)
{
  guint f;

  GST_OBJECT_LOCK (self);
  if (self->factor != 0)
    f = self->factor;
  else if (self->path_factor != 0)
    f = self->path_factor;
  else
    f = self->scale;
  GST_OBJECT_UNLOCK (self);
  return f;
}

/* ------------------------------------------------------------------ */
/* Caps                                                                */
/* ------------------------------------------------------------------ */

/* Scales one int (or int range) by f, or divides it by f (only values
 * that are multiples of f have a preimage).  FALSE if nothing is left. */
static gboolean
gst_qsuperres_scale_int (const GValue *src, GValue *dst, guint f,
    gboolean multiply)
{
  const gint fi = (gint) f;

  if (G_VALUE_HOLDS_INT (src)) {
    gint v = g_value_get_int (src);
    if (multiply ? v > G_MAXINT / fi : v % fi != 0)
      return FALSE;
    g_value_init (dst, G_TYPE_INT);
    g_value_set_int (dst, multiply ? v * fi : v / fi);
    return TRUE;
  }

  if (GST_VALUE_HOLDS_INT_RANGE (src)) {
    /* A range is {min, min + step, ..., max}, min and max multiples of
     * step.  Its image is the range of multiples of step * f; its preimage
     * the multiples of lcm (step, f), divided by f. */
    gint64 min = gst_value_get_int_range_min (src);
    gint64 max = gst_value_get_int_range_max (src);
    gint64 step = gst_value_get_int_range_step (src);
    gint64 lo, hi, st;

    if (multiply) {
      max = MIN (max, G_MAXINT / fi);
      max -= max % step;
      lo = min * fi;
      hi = max * fi;
      st = step * fi;
    } else {
      gint64 a = step, b = fi, lcm;
      while (b != 0) {
        gint64 t = a % b;
        a = b;
        b = t;
      }
      lcm = step / a * fi;
      lo = (min + lcm - 1) / lcm * lcm / fi;
      hi = max / lcm * lcm / fi;
      st = lcm / fi;
    }
    if (lo > hi || st > G_MAXINT)
      return FALSE;
    if (lo == hi) {
      g_value_init (dst, G_TYPE_INT);
      g_value_set_int (dst, (gint) lo);
    } else {
      g_value_init (dst, GST_TYPE_INT_RANGE);
      gst_value_set_int_range_step (dst, (gint) lo, (gint) hi, (gint) st);
    }
    return TRUE;
  }

  if (GST_VALUE_HOLDS_LIST (src)) {
    GValue list = G_VALUE_INIT;
    guint n = gst_value_list_get_size (src);

    g_value_init (&list, GST_TYPE_LIST);
    for (guint i = 0; i < n; i++) {
      GValue v = G_VALUE_INIT;
      if (gst_qsuperres_scale_int (gst_value_list_get_value (src, i), &v, f,
              multiply))
        gst_value_list_append_and_take_value (&list, &v);
    }
    n = gst_value_list_get_size (&list);
    if (n == 0) {
      g_value_unset (&list);
      return FALSE;
    }
    if (n == 1) {
      g_value_init (dst, G_VALUE_TYPE (gst_value_list_get_value (&list, 0)));
      g_value_copy (gst_value_list_get_value (&list, 0), dst);
      g_value_unset (&list);
    } else {
      *dst = list;
    }
    return TRUE;
  }

  return FALSE;
}

static gboolean
gst_qsuperres_scale_field (GstStructure *s, const gchar *field, guint f,
    gboolean multiply)
{
  const GValue *v = gst_structure_get_value (s, field);
  GValue scaled = G_VALUE_INIT;

  if (v == NULL)
    return TRUE;
  if (!gst_qsuperres_scale_int (v, &scaled, f, multiply))
    return FALSE;
  gst_structure_take_value (s, field, &scaled);
  return TRUE;
}

/* Width and height scale by the factor (sink to src) or shrink by it (src
 * to sink); format, framerate, pixel-aspect-ratio and colorimetry pass
 * through unchanged. */
static GstCaps *
gst_qsuperres_transform_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *filter)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  const guint f = gst_qsuperres_get_factor (self);
  const gboolean multiply = direction == GST_PAD_SINK;
  GstCaps *ret = gst_caps_new_empty ();
  guint n = gst_caps_get_size (caps);
  gint channels;

  GST_OBJECT_LOCK (self);
  channels = self->channels;
  GST_OBJECT_UNLOCK (self);

  for (guint i = 0; i < n; i++) {
    GstStructure *s = gst_structure_copy (gst_caps_get_structure (caps, i));
    GstCapsFeatures *features = gst_caps_get_features (caps, i);

    if (gst_qsuperres_scale_field (s, "width", f, multiply)
        && gst_qsuperres_scale_field (s, "height", f, multiply)) {
      ret = gst_caps_merge_structure_full (ret, s,
          features ? gst_caps_features_copy (features) : NULL);
    } else {
      gst_structure_free (s);
    }
  }

  /* An RGB model takes the RGB formats only; upstream converts. */
  if (channels == 3) {
    GstCaps *rgb = gst_caps_from_string ("video/x-raw, format="
        QSUPERRES_RGB_FORMATS);
    GstCaps *tmp = gst_caps_intersect (ret, rgb);
    gst_caps_unref (ret);
    gst_caps_unref (rgb);
    ret = tmp;
  }

  if (filter != NULL) {
    GstCaps *tmp = gst_caps_intersect_full (filter, ret,
        GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (ret);
    ret = tmp;
  }
  GST_DEBUG_OBJECT (self, "x%u %s: %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      f, multiply ? "up" : "down", caps, ret);
  return ret;
}

/* Picks the size that is exactly the factor times the other side's. */
static GstCaps *
gst_qsuperres_fixate_caps (GstBaseTransform *trans,
    GstPadDirection direction, GstCaps *caps, GstCaps *othercaps)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  const guint f = gst_qsuperres_get_factor (self);
  GstStructure *ins = gst_caps_get_structure (caps, 0);
  GstStructure *outs;
  gint w, h;

  othercaps = gst_caps_truncate (othercaps);
  othercaps = gst_caps_make_writable (othercaps);
  outs = gst_caps_get_structure (othercaps, 0);

  if (gst_structure_get_int (ins, "width", &w)
      && gst_structure_get_int (ins, "height", &h)) {
    if (direction == GST_PAD_SINK) {
      w = w <= G_MAXINT / (gint) f ? w * (gint) f : G_MAXINT;
      h = h <= G_MAXINT / (gint) f ? h * (gint) f : G_MAXINT;
    } else {
      w /= (gint) f;
      h /= (gint) f;
    }
    gst_structure_fixate_field_nearest_int (outs, "width", w);
    gst_structure_fixate_field_nearest_int (outs, "height", h);
  }
  othercaps = gst_caps_fixate (othercaps);
  GST_DEBUG_OBJECT (self, "fixated to %" GST_PTR_FORMAT, othercaps);
  return othercaps;
}

/* ------------------------------------------------------------------ */
/* Processing                                                          */
/* ------------------------------------------------------------------ */

/* A libq8 call failed while streaming (it cannot on a valid plan). */
static GstFlowReturn
gst_qsuperres_q8_failed (GstQSuperRes *self, q8_status st)
{
  GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
      ("Running the model failed: %s.", q8_status_str (st)),
      ("%s, %dx%d", self->model_desc, self->in_width, self->in_height));
  return GST_FLOW_ERROR;
}

/* Upscales one luma plane whose samples are src_pstride bytes apart,
 * writing samples dst_pstride apart: through the network, or (net FALSE)
 * bilinearly. */
static GstFlowReturn
gst_qsuperres_upscale_luma (GstQSuperRes *self, const guint8 *src,
    gint src_pstride, gint src_stride, guint8 *dst, gint dst_pstride,
    gint dst_stride, gboolean net)
{
  q8_status st;

  if (!net) {
    gst_q8_upscale_bilinear_u8 (src, src_pstride, (size_t) src_stride,
        self->in_width, self->in_height, dst, dst_pstride,
        (size_t) dst_stride, self->out_width, self->out_height,
        (int) self->factor);
    return GST_FLOW_OK;
  }

  if (src_pstride == 1) {
    st = q8_plan_set_input_u8 (self->plan, 0, src, (size_t) src_stride);
  } else {
    gst_q8_copy_u8 (src, src_pstride, (size_t) src_stride, self->y_in, 1,
        (size_t) self->in_width, self->in_width, self->in_height);
    st = q8_plan_set_input_u8 (self->plan, 0, self->y_in,
        (size_t) self->in_width);
  }
  /* Straight into the frame where libq8 can write it there exactly (an
   * output already in pixel units: the shipped models); else a copy after
   * the run.  The binding ends with the run, so it never outlives the
   * frame. */
  gboolean bound = st == Q8_OK && dst_pstride == 1
      && q8_plan_bind_output_u8 (self->plan, 0, dst,
          (size_t) dst_stride) == Q8_OK;
  if (st == Q8_OK)
    st = q8_run (self->plan);
  if (bound)
    q8_plan_bind_output_u8 (self->plan, 0, NULL, 0);
  if (st == Q8_OK && !bound) {
    if (dst_pstride == 1) {
      st = q8_plan_get_output_u8 (self->plan, 0, dst, (size_t) dst_stride);
    } else {
      st = q8_plan_get_output_u8 (self->plan, 0, self->y_out,
          (size_t) self->out_width);
      gst_q8_copy_u8 (self->y_out, 1, (size_t) self->out_width, dst,
          dst_pstride, (size_t) dst_stride, self->out_width,
          self->out_height);
    }
  }
  return st == Q8_OK ? GST_FLOW_OK : gst_qsuperres_q8_failed (self, st);
}

/* GRAY8 and every YUV format: component 0 is luma, the others (none, two
 * planes, one interleaved plane or packed in YUY2) chroma. */
static GstFlowReturn
gst_qsuperres_process_yuv (GstQSuperRes *self, const GstVideoFrame *in,
    GstVideoFrame *out, gboolean net)
{
  GstFlowReturn ret;

  ret = gst_qsuperres_upscale_luma (self, GST_VIDEO_FRAME_COMP_DATA (in, 0),
      GST_VIDEO_FRAME_COMP_PSTRIDE (in, 0),
      GST_VIDEO_FRAME_COMP_STRIDE (in, 0),
      GST_VIDEO_FRAME_COMP_DATA (out, 0),
      GST_VIDEO_FRAME_COMP_PSTRIDE (out, 0),
      GST_VIDEO_FRAME_COMP_STRIDE (out, 0), net);
  if (ret != GST_FLOW_OK)
    return ret;

  for (guint c = 1; c < GST_VIDEO_FRAME_N_COMPONENTS (in); c++) {
    gst_q8_upscale_bilinear_u8 (GST_VIDEO_FRAME_COMP_DATA (in, c),
        GST_VIDEO_FRAME_COMP_PSTRIDE (in, c),
        GST_VIDEO_FRAME_COMP_STRIDE (in, c),
        GST_VIDEO_FRAME_COMP_WIDTH (in, c),
        GST_VIDEO_FRAME_COMP_HEIGHT (in, c),
        GST_VIDEO_FRAME_COMP_DATA (out, c),
        GST_VIDEO_FRAME_COMP_PSTRIDE (out, c),
        GST_VIDEO_FRAME_COMP_STRIDE (out, c),
        GST_VIDEO_FRAME_COMP_WIDTH (out, c),
        GST_VIDEO_FRAME_COMP_HEIGHT (out, c), (int) self->factor);
  }
  return GST_FLOW_OK;
}

/* Alpha of RGBA-like formats, bilinearly; the unused byte of RGBx-like
 * formats, opaque (as videoconvert writes it). */
static void
gst_qsuperres_finish_rgb (GstQSuperRes *self, const GstVideoFrame *in,
    GstVideoFrame *out)
{
  const gint ops = GST_VIDEO_FRAME_COMP_PSTRIDE (out, GST_VIDEO_COMP_R);
  const gint ostride = GST_VIDEO_FRAME_PLANE_STRIDE (out, 0);

  if (GST_VIDEO_FRAME_N_COMPONENTS (in) == 4) {
    gst_q8_upscale_bilinear_u8 (GST_VIDEO_FRAME_COMP_DATA (in,
            GST_VIDEO_COMP_A), GST_VIDEO_FRAME_COMP_PSTRIDE (in,
            GST_VIDEO_COMP_A), (size_t) GST_VIDEO_FRAME_PLANE_STRIDE (in, 0),
        self->in_width, self->in_height,
        GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_A), ops,
        (size_t) ostride, self->out_width, self->out_height,
        (int) self->factor);
  } else if (self->pad_offset >= 0) {
    guint8 *row = GST_VIDEO_FRAME_PLANE_DATA (out, 0);
    for (gint y = 0; y < self->out_height; y++, row += ostride)
      for (gint x = 0; x < self->out_width; x++)
        row[x * ops + self->pad_offset] = 0xff;
  }
}

/* Packed RGB with or without alpha: to YCbCr planes, luma through the
 * network, Cb, Cr and alpha bilinearly, back to RGB. */
static GstFlowReturn
gst_qsuperres_process_rgb (GstQSuperRes *self, const GstVideoFrame *in,
    GstVideoFrame *out, gboolean net)
{
  const int f = (int) self->factor;
  const gint iw = self->in_width, ih = self->in_height;
  const gint ow = self->out_width, oh = self->out_height;
  const gint ips = GST_VIDEO_FRAME_COMP_PSTRIDE (in, GST_VIDEO_COMP_R);
  const gint ops = GST_VIDEO_FRAME_COMP_PSTRIDE (out, GST_VIDEO_COMP_R);
  const gint istride = GST_VIDEO_FRAME_PLANE_STRIDE (in, 0);
  const gint ostride = GST_VIDEO_FRAME_PLANE_STRIDE (out, 0);
  const guint8 *ir = GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_R);
  const guint8 *ig = GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_G);
  const guint8 *ib = GST_VIDEO_FRAME_COMP_DATA (in, GST_VIDEO_COMP_B);
  guint8 *orr = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_R);
  guint8 *og = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_G);
  guint8 *ob = GST_VIDEO_FRAME_COMP_DATA (out, GST_VIDEO_COMP_B);
  GstFlowReturn ret;

  for (gint y = 0; y < ih; y++) {
    const gsize o = (gsize) y * istride;
    const gsize p = (gsize) y * iw;
    gst_q8_rgb_to_ycbcr_row (ir + o, ig + o, ib + o, ips, self->y_in + p,
        self->cb_in + p, self->cr_in + p, iw);
  }

  ret = gst_qsuperres_upscale_luma (self, self->y_in, 1, iw, self->y_out, 1,
      ow, net);
  if (ret != GST_FLOW_OK)
    return ret;
  gst_q8_upscale_bilinear_u8 (self->cb_in, 1, (size_t) iw, iw, ih,
      self->cb_out, 1, (size_t) ow, ow, oh, f);
  gst_q8_upscale_bilinear_u8 (self->cr_in, 1, (size_t) iw, iw, ih,
      self->cr_out, 1, (size_t) ow, ow, oh, f);

  for (gint y = 0; y < oh; y++) {
    const gsize o = (gsize) y * ostride;
    const gsize p = (gsize) y * ow;
    gst_q8_ycbcr_to_rgb_row (self->y_out + p, self->cb_out + p,
        self->cr_out + p, orr + o, og + o, ob + o, ops, ow);
  }

  gst_qsuperres_finish_rgb (self, in, out);
  return GST_FLOW_OK;
}

/* RGB through a 3-channel model: the frame's R, G and B to a packed RGB
 * image, the network, and back; fallback frames bilinearly per channel. */
static GstFlowReturn
gst_qsuperres_process_rgb_model (GstQSuperRes *self, const GstVideoFrame *in,
    GstVideoFrame *out, gboolean net)
{
  static const guint comps[3] =
      { GST_VIDEO_COMP_R, GST_VIDEO_COMP_G, GST_VIDEO_COMP_B };
  const gint iw = self->in_width, ih = self->in_height;
  const gint ow = self->out_width, oh = self->out_height;
  const gint ips = GST_VIDEO_FRAME_COMP_PSTRIDE (in, GST_VIDEO_COMP_R);
  const gint ops = GST_VIDEO_FRAME_COMP_PSTRIDE (out, GST_VIDEO_COMP_R);
  const gint istride = GST_VIDEO_FRAME_PLANE_STRIDE (in, 0);
  const gint ostride = GST_VIDEO_FRAME_PLANE_STRIDE (out, 0);
  guint8 *rgb_in = self->scratch;
  guint8 *rgb_out = rgb_in + (gsize) 3 * iw * ih;
  q8_status st;

  for (guint c = 0; c < 3; c++) {
    const guint8 *src = GST_VIDEO_FRAME_COMP_DATA (in, comps[c]);
    guint8 *dst = GST_VIDEO_FRAME_COMP_DATA (out, comps[c]);
    if (!net)
      gst_q8_upscale_bilinear_u8 (src, ips, (size_t) istride, iw, ih, dst,
          ops, (size_t) ostride, ow, oh, (int) self->factor);
    else
      gst_q8_copy_u8 (src, ips, (size_t) istride, rgb_in + c, 3,
          (size_t) 3 * iw, iw, ih);
  }
  if (net) {
    st = q8_plan_set_input_u8 (self->plan, 0, rgb_in, (size_t) 3 * iw);
    if (st == Q8_OK)
      st = q8_run (self->plan);
    if (st == Q8_OK)
      st = q8_plan_get_output_u8 (self->plan, 0, rgb_out, (size_t) 3 * ow);
    if (st != Q8_OK)
      return gst_qsuperres_q8_failed (self, st);
    for (guint c = 0; c < 3; c++)
      gst_q8_copy_u8 (rgb_out + c, 3, (size_t) 3 * ow,
          GST_VIDEO_FRAME_COMP_DATA (out, comps[c]), ops, (size_t) ostride,
          ow, oh);
  }
  gst_qsuperres_finish_rgb (self, in, out);
  return GST_FLOW_OK;
}

static void
gst_qsuperres_free_stream (GstQSuperRes *self)
{
  g_clear_pointer (&self->plan, q8_plan_free);
  g_clear_pointer (&self->scratch, g_free);
  self->scratch_size = 0;
  self->y_in = self->cb_in = self->cr_in = NULL;
  self->y_out = self->cb_out = self->cr_out = NULL;
  self->process = NULL;
}

/* Plans the network for the new size (re-using the plan, so a resolution
 * change does not reload the model) and picks the process function.
 *
 * All or nothing: when the new size cannot be had (too large for the
 * model, no memory) the element keeps the configuration it had.
 * GstBaseTransform keeps the pads' caps as well and, when those caps come
 * back, takes them without calling set_info again; qsuperres then carries
 * on with what it kept (its own transform () maps the frames, because
 * GstVideoFilter's stays un-negotiated after a refusal). */
static gboolean
gst_qsuperres_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstQSuperRes *self = GST_QSUPERRES (filter);
  const GstVideoFormat format = GST_VIDEO_INFO_FORMAT (in_info);
  const gint iw = GST_VIDEO_INFO_WIDTH (in_info);
  const gint ih = GST_VIDEO_INFO_HEIGHT (in_info);
  const gint ow = GST_VIDEO_INFO_WIDTH (out_info);
  const gint oh = GST_VIDEO_INFO_HEIGHT (out_info);
  const gboolean rgb = GST_VIDEO_INFO_IS_RGB (in_info);
  guint f, threads;
  char q8err[256];
  q8_status st;
  gsize in_px, out_px, need;
  guint8 *scratch;

  GST_OBJECT_LOCK (self);
  f = self->factor;
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);

  if (self->model == NULL) {
    GST_ERROR_OBJECT (self, "set_info before start");
    return FALSE;
  }
  if (GST_VIDEO_INFO_FORMAT (out_info) != format
      || (gint64) ow != (gint64) iw * f || (gint64) oh != (gint64) ih * f) {
    GST_ERROR_OBJECT (self, "cannot upscale %s %dx%d by %u to %s %dx%d",
        gst_video_format_to_string (format), iw, ih, f,
        gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (out_info)), ow, oh);
    return FALSE;
  }

  if (self->channels == 3 && !rgb) {
    GST_ERROR_OBJECT (self, "the RGB model %s cannot take %s",
        self->model_desc, gst_video_format_to_string (format));
    return FALSE;
  }

  /* Scratch planes: luma in and out (for packed formats), and for RGB the
   * chroma planes as well.  New ones before the plan changes, so that a
   * failure leaves both as they were. */
  in_px = (gsize) iw * ih;
  out_px = (gsize) ow * oh;
  need = rgb ? 3 * (in_px + out_px) : in_px + out_px;
  scratch = self->scratch;
  if (need != self->scratch_size) {
    scratch = g_try_malloc (need);
    if (scratch == NULL) {
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Not enough memory for %dx%d video.", ow, oh),
          ("%" G_GSIZE_FORMAT " bytes of scratch planes", need));
      return FALSE;
    }
  }

  /* q8_plan_resize () keeps the old size when it fails. */
  if (self->plan == NULL)
    st = q8_plan_create (self->model, iw, ih, (int) threads, &self->plan,
        q8err, sizeof q8err);
  else
    st = q8_plan_resize (self->plan, iw, ih, q8err, sizeof q8err);
  if (st != Q8_OK) {
    if (scratch != self->scratch)
      g_free (scratch);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Model \"%s\" cannot process %dx%d video: %s.", self->model_desc,
            iw, ih, q8_status_str (st)), ("%s", q8err));
    return FALSE;
  }

  if (scratch != self->scratch) {
    g_free (self->scratch);
    self->scratch = scratch;
    self->scratch_size = need;
  }
  self->y_in = self->scratch;
  self->y_out = self->y_in + in_px;
  self->cb_in = self->cr_in = self->cb_out = self->cr_out = NULL;
  if (rgb) {
    self->cb_in = self->y_out + out_px;
    self->cr_in = self->cb_in + in_px;
    self->cb_out = self->cr_in + in_px;
    self->cr_out = self->cb_out + out_px;
  }

  self->in_width = iw;
  self->in_height = ih;
  self->out_width = ow;
  self->out_height = oh;
  self->pad_offset = -1;
  if (rgb) {
    const GstVideoFormatInfo *fi = in_info->finfo;
    self->process = self->channels == 3 ? gst_qsuperres_process_rgb_model
        : gst_qsuperres_process_rgb;
    /* Formats with 4-byte pixels and 3 components have one padding byte;
     * the offsets 0..3 add up to 6, so it is the one the others miss. */
    if (!GST_VIDEO_FORMAT_INFO_HAS_ALPHA (fi)
        && GST_VIDEO_FORMAT_INFO_PSTRIDE (fi, 0) == 4)
      self->pad_offset = 6 - (gint) (GST_VIDEO_FORMAT_INFO_POFFSET (fi, 0)
          + GST_VIDEO_FORMAT_INFO_POFFSET (fi, 1)
          + GST_VIDEO_FORMAT_INFO_POFFSET (fi, 2));
  } else {
    self->process = gst_qsuperres_process_yuv;
  }

  {
    GstClockTime d = GST_CLOCK_TIME_NONE;
    gboolean changed;

    if (GST_VIDEO_INFO_FPS_N (in_info) > 0 && GST_VIDEO_INFO_FPS_D (in_info) > 0)
      d = gst_util_uint64_scale (GST_SECOND, GST_VIDEO_INFO_FPS_D (in_info),
          GST_VIDEO_INFO_FPS_N (in_info));
    GST_OBJECT_LOCK (self);
    changed = d != self->frame_duration;
    self->frame_duration = d;
    GST_OBJECT_UNLOCK (self);
    self->budget_ns = GST_CLOCK_TIME_IS_VALID (d) ? (gint64) d : 0;
    if (changed)
      gst_element_post_message (GST_ELEMENT (self),
          gst_message_new_latency (GST_OBJECT (self)));
  }

  GST_INFO_OBJECT (self, "%s %dx%d -> %dx%d with %s, %d threads, %"
      G_GUINT64_FORMAT " MAC per frame", gst_video_format_to_string (format),
      iw, ih, ow, oh, self->model_desc, q8_plan_threads (self->plan),
      q8_plan_macs (self->plan));
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Deadlines                                                           */
/* ------------------------------------------------------------------ */

/* Whether this frame may go through the network.  In the conventional
 * fallback mode a frame is upscaled bilinearly instead when
 *
 *  - a QoS event says downstream is already past its running time (the
 *    frames GstBaseTransform would drop), or
 *  - the source is live and the time credit of the stream (one frame
 *    interval per frame, at most two banked) does not cover the average
 *    network time: then the network runs on the fraction of frames the
 *    CPU can afford and the stream keeps its frame rate.
 *
 * The drop mode leaves late frames to GstBaseTransform's QoS, which drops
 * them; the wait mode runs the network on every frame. */
static gboolean
gst_qsuperres_use_network (GstQSuperRes *self, GstBuffer *buf)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstQSuperResFallback mode;
  GstClockTime earliest, running_time;
  gboolean live;

  GST_OBJECT_LOCK (self);
  mode = self->fallback;
  earliest = self->earliest_time;
  live = self->live;
  GST_OBJECT_UNLOCK (self);

  if (mode != GST_QSUPERRES_FALLBACK_CONVENTIONAL)
    return TRUE;

  if (GST_CLOCK_TIME_IS_VALID (earliest)
      && trans->segment.format == GST_FORMAT_TIME) {
    running_time = gst_segment_to_running_time (&trans->segment,
        GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
    if (GST_CLOCK_TIME_IS_VALID (running_time) && running_time <= earliest) {
      GST_LOG_OBJECT (self, "late by QoS: %" GST_TIME_FORMAT " <= %"
          GST_TIME_FORMAT, GST_TIME_ARGS (running_time),
          GST_TIME_ARGS (earliest));
      return FALSE;
    }
  }

  if (live && GST_CLOCK_TIME_IS_VALID (self->frame_duration)
      && self->net_ns > 0 && self->budget_ns < self->net_ns) {
    GST_LOG_OBJECT (self, "over budget: %" G_GINT64_FORMAT " ns left, "
        "network takes %" G_GINT64_FORMAT, self->budget_ns, self->net_ns);
    return FALSE;
  }
  return TRUE;
}

/* Books one frame: timing, budget, counters, and every second of stream
 * time with fallbacks in it, a "qsuperres" element message (posted outside
 * the object lock). */
static void
gst_qsuperres_account (GstQSuperRes *self, GstBuffer *buf, gboolean net,
    gint64 ns)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  GstMessage *msg = NULL;
  guint64 total;

  gboolean post_latency = FALSE;

  if (net)
    self->net_ns = self->net_ns == 0 ? ns : (7 * self->net_ns + ns) / 8;
  if (GST_CLOCK_TIME_IS_VALID (self->frame_duration)) {
    const gint64 d = (gint64) self->frame_duration;
    /* A credit of one interval per frame, banked up to what one network
     * frame needs. */
    self->budget_ns = MIN (self->budget_ns + d, MAX (2 * d, self->net_ns + d))
        - ns;
    /* A network slower than the frame interval needs more latency than the
     * one interval reported so far: report whole intervals covering the
     * average network time with a quarter of headroom (only ever
     * growing, so the pipeline latency does not flap). */
    if (net) {
      gint64 need = (self->net_ns + self->net_ns / 4 + d - 1) / d * d;
      GST_OBJECT_LOCK (self);
      if (need > d && (GstClockTime) need > self->latency) {
        self->latency = (GstClockTime) need;
        post_latency = TRUE;
      }
      GST_OBJECT_UNLOCK (self);
    }
  }
  if (post_latency) {
    GST_INFO_OBJECT (self, "network takes %" G_GINT64_FORMAT " ns per frame, "
        "latency now %" GST_TIME_FORMAT, self->net_ns,
        GST_TIME_ARGS (self->latency));
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_latency (GST_OBJECT (self)));
  }
  self->frames++;
  self->period_frames++;
  if (!net)
    self->period_fallbacks++;

  GST_OBJECT_LOCK (self);
  if (!net)
    self->fallback_frames++;
  total = self->fallback_frames;
  GST_OBJECT_UNLOCK (self);

  if (trans->segment.format == GST_FORMAT_TIME)
    rt = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME,
        GST_BUFFER_PTS (buf));
  if (!GST_CLOCK_TIME_IS_VALID (self->last_report)
      || !GST_CLOCK_TIME_IS_VALID (rt) || rt < self->last_report) {
    self->last_report = rt;
  } else if (rt - self->last_report >= GST_SECOND) {
    if (self->period_fallbacks > 0)
      msg = gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("qsuperres",
              "fallback-frames", G_TYPE_UINT64, total,
              "period-frames", G_TYPE_UINT, self->period_frames,
              "period-fallback-frames", G_TYPE_UINT, self->period_fallbacks,
              "network-ms", G_TYPE_DOUBLE, self->net_ns / 1e6,
              "running-time", G_TYPE_UINT64, rt, NULL));
    self->last_report = rt;
    self->period_frames = 0;
    self->period_fallbacks = 0;
  }
  if (msg != NULL)
    gst_element_post_message (GST_ELEMENT (self), msg);
}

static GstFlowReturn
gst_qsuperres_transform_frame (GstVideoFilter *filter, GstVideoFrame *in,
    GstVideoFrame *out)
{
  GstQSuperRes *self = GST_QSUPERRES (filter);
  gboolean net;
  gint64 t0;
  GstFlowReturn ret;

  if (G_UNLIKELY (self->process == NULL))
    return GST_FLOW_NOT_NEGOTIATED;
  net = gst_qsuperres_use_network (self, in->buffer);
  t0 = g_get_monotonic_time ();
  ret = self->process (self, in, out, net);
  gst_qsuperres_account (self, in->buffer, net,
      (g_get_monotonic_time () - t0) * 1000);
  return ret;
}

/* GstVideoFilter's transform (), except that it asks qsuperres, not
 * GstVideoFilter, whether the element is configured: after a refused
 * set_info GstVideoFilter stays un-negotiated even when GstBaseTransform
 * takes the previous caps back without calling set_info, while qsuperres
 * kept the configuration for them (see set_info).  GstVideoFilter's
 * in_info and out_info only change when set_info succeeds, so they are
 * the caps of that configuration. */
static GstFlowReturn
gst_qsuperres_transform (GstBaseTransform *trans, GstBuffer *inbuf,
    GstBuffer *outbuf)
{
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  GstQSuperRes *self = GST_QSUPERRES (trans);
  GstVideoFrame in, out;
  GstFlowReturn ret;

  if (G_UNLIKELY (self->process == NULL))
    return GST_FLOW_NOT_NEGOTIATED;
  if (!gst_video_frame_map (&in, &filter->in_info, inbuf,
          GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF))
    goto map_failed;
  if (!gst_video_frame_map (&out, &filter->out_info, outbuf,
          GST_MAP_WRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    gst_video_frame_unmap (&in);
    goto map_failed;
  }
  ret = gst_qsuperres_transform_frame (filter, &in, &out);
  gst_video_frame_unmap (&out);
  gst_video_frame_unmap (&in);
  return ret;

map_failed:
  GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Cannot map the frame."),
      ("a %" G_GSIZE_FORMAT "-byte buffer for %dx%d %s video",
          gst_buffer_get_size (inbuf), self->in_width, self->in_height,
          gst_video_format_to_string (GST_VIDEO_INFO_FORMAT
              (&filter->in_info))));
  return GST_FLOW_ERROR;
}

/* QoS events: remember the earliest running time downstream still wants,
 * as GstBaseTransform does, for the conventional fallback. */
static gboolean
gst_qsuperres_src_event (GstBaseTransform *trans, GstEvent *event)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;

    gst_event_parse_qos (event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK (self);
    if (!GST_CLOCK_TIME_IS_VALID (timestamp))
      self->earliest_time = GST_CLOCK_TIME_NONE;
    else if (diff < 0 && timestamp < (GstClockTime) - diff)
      self->earliest_time = 0;
    else
      self->earliest_time = timestamp + diff;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

static gboolean
gst_qsuperres_sink_event (GstBaseTransform *trans, GstEvent *event)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP) {
    GST_OBJECT_LOCK (self);
    self->earliest_time = GST_CLOCK_TIME_NONE;
    GST_OBJECT_UNLOCK (self);
    self->last_report = GST_CLOCK_TIME_NONE;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* Latency: qsuperres adds one frame interval, or as many whole intervals
 * as the measured network time needs (then it posts a latency message).
 * The answer also tells whether the source is live. */
static gboolean
gst_qsuperres_query (GstBaseTransform *trans, GstPadDirection direction,
    GstQuery *query)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  gboolean ret;

  ret = GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction,
      query);
  if (ret && direction == GST_PAD_SRC
      && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max, ours;

    gst_query_parse_latency (query, &live, &min, &max);
    GST_OBJECT_LOCK (self);
    self->live = live;
    ours = GST_CLOCK_TIME_IS_VALID (self->frame_duration)
        ? MAX (self->frame_duration, self->latency) : 0;
    GST_OBJECT_UNLOCK (self);
    min += ours;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += ours;
    GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT
        " (ours %" GST_TIME_FORMAT ")", live, GST_TIME_ARGS (min),
        GST_TIME_ARGS (ours));
    gst_query_set_latency (query, live, min, max);
  }
  return ret;
}

/* A model or scale changed while playing: load the new model here, in the
 * streaming thread before the frame, so the frame in flight never sees
 * half of a change.  If the factor changes, the source pad renegotiates
 * for this frame.  If the new model fails, a warning says why and the old
 * one stays. */
static void
gst_qsuperres_before_transform (GstBaseTransform *trans, GstBuffer *buf)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  gchar *path, *desc = NULL;
  guint scale, threads, factor = 0;
  gint channels = 0;
  q8_model *model, *old_model;
  q8_plan *plan = NULL;
  gboolean reload;
  char q8err[256];

  GST_OBJECT_LOCK (self);
  reload = self->reload;
  self->reload = FALSE;
  path = g_strdup (self->model_path);
  scale = self->scale;
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);
  if (!reload || self->model == NULL) {
    g_free (path);
    return;
  }

  model = gst_qsuperres_load_model (self, path, scale, FALSE, &factor,
      &channels, &desc);
  g_free (path);
  if (model == NULL)
    return;

  if (factor == self->factor && channels == self->channels
      && self->plan != NULL) {
    /* Same geometry: plan the new model at the current size. */
    if (q8_plan_create (model, self->in_width, self->in_height,
            (int) threads, &plan, q8err, sizeof q8err) != Q8_OK) {
      GST_ELEMENT_WARNING (self, STREAM, FORMAT,
          ("Model \"%s\" cannot process %dx%d video; keeping \"%s\".",
              desc, self->in_width, self->in_height, self->model_desc),
          ("%s", q8err));
      q8_model_free (model);
      g_free (desc);
      return;
    }
  }

  g_clear_pointer (&self->plan, q8_plan_free);
  GST_OBJECT_LOCK (self);
  old_model = self->model;
  self->model = model;
  g_free (self->model_desc);
  self->model_desc = desc;
  if (plan == NULL) {
    /* New factor or channels: renegotiate (the formats may change too). */
    self->factor = factor;
    self->channels = channels;
    self->process = NULL;
  }
  self->plan = plan;
  self->net_ns = 0;
  GST_OBJECT_UNLOCK (self);
  q8_model_free (old_model);

  if (plan == NULL)
    gst_base_transform_reconfigure_src (trans);
  GST_INFO_OBJECT (self, "switched to %s (x%u)", desc, factor);
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

static gboolean
gst_qsuperres_start (GstBaseTransform *trans)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  gchar *path, *desc = NULL;
  guint scale, factor = 0;
  gint channels = 0;
  q8_model *model;

  GST_OBJECT_LOCK (self);
  path = g_strdup (self->model_path);
  scale = self->scale;
  GST_OBJECT_UNLOCK (self);

  model = gst_qsuperres_load_model (self, path, scale, TRUE, &factor,
      &channels, &desc);
  g_free (path);
  if (model == NULL)
    return FALSE;

  GST_OBJECT_LOCK (self);
  self->model = model;
  self->model_desc = desc;
  self->factor = factor;
  self->channels = channels;
  self->fallback_frames = 0;
  self->reload = FALSE;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->frame_duration = GST_CLOCK_TIME_NONE;
  self->latency = 0;
  GST_OBJECT_UNLOCK (self);
  self->net_ns = 0;
  self->budget_ns = 0;
  self->frames = 0;
  self->period_frames = self->period_fallbacks = 0;
  self->last_report = GST_CLOCK_TIME_NONE;
  return TRUE;
}

static gboolean
gst_qsuperres_stop (GstBaseTransform *trans)
{
  GstQSuperRes *self = GST_QSUPERRES (trans);
  q8_model *model;

  gst_qsuperres_free_stream (self);
  GST_OBJECT_LOCK (self);
  model = self->model;
  self->model = NULL;
  self->factor = 0;
  g_clear_pointer (&self->model_desc, g_free);
  GST_OBJECT_UNLOCK (self);
  q8_model_free (model);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */
/* ------------------------------------------------------------------ */

static void
gst_qsuperres_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstQSuperRes *self = GST_QSUPERRES (object);
  GstQSuperResFallback fallback;
  /* Read before taking the lock: it loads and plans the file. */
  guint path_factor = prop_id == PROP_MODEL ?
      gst_qsuperres_peek_factor (g_value_get_string (value)) : 0;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SCALE:
      self->scale = g_value_get_uint (value);
      self->reload = self->model != NULL;
      break;
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      self->path_factor = path_factor;
      self->reload = self->model != NULL;
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    case PROP_FALLBACK:
      self->fallback = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  fallback = self->fallback;
  GST_OBJECT_UNLOCK (self);

  /* GstBaseTransform's QoS drops late frames: wanted in drop mode only
   * (the conventional mode does its own QoS). */
  if (prop_id == PROP_FALLBACK)
    gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self),
        fallback == GST_QSUPERRES_FALLBACK_DROP);
}

static void
gst_qsuperres_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstQSuperRes *self = GST_QSUPERRES (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_SCALE:
      g_value_set_uint (value, self->scale);
      break;
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_FALLBACK:
      g_value_set_enum (value, self->fallback);
      break;
    case PROP_FALLBACK_FRAMES:
      g_value_set_uint64 (value, self->fallback_frames);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_qsuperres_finalize (GObject *object)
{
  GstQSuperRes *self = GST_QSUPERRES (object);

  gst_qsuperres_free_stream (self);
  q8_model_free (self->model);
  g_free (self->model_desc);
  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_qsuperres_class_init (GstQSuperResClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);
  gchar *builtin = gst_q8_builtin_model_list (SR_TASK);
  gchar *scale_blurb;

  GST_DEBUG_CATEGORY_INIT (gst_qsuperres_debug, "qsuperres", 0,
      "q8 super-resolution");

  gobject_class->set_property = gst_qsuperres_set_property;
  gobject_class->get_property = gst_qsuperres_get_property;
  gobject_class->finalize = gst_qsuperres_finalize;

  /**
   * GstQSuperRes:scale:
   *
   * The upscale factor; picks the built-in model of this factor.  Ignored
   * when #GstQSuperRes:model is set.
   */
  scale_blurb = g_strdup_printf ("Upscale factor: picks the built-in model "
      "of this factor (built in: %s). Ignored when 'model' is set", builtin);
  g_object_class_install_property (gobject_class, PROP_SCALE,
      g_param_spec_uint ("scale", "Scale", scale_blurb, MIN_SCALE, MAX_SCALE,
          DEFAULT_SCALE, G_PARAM_READWRITE | G_PARAM_STATIC_NAME
          | G_PARAM_STATIC_NICK | GST_PARAM_MUTABLE_PLAYING));
  g_free (scale_blurb);
  g_free (builtin);

  /**
   * GstQSuperRes:model:
   *
   * Path of a .q8 super-resolution model to use instead of the built-in
   * one; the output size is the input size times its factor.
   */
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of a .q8 super-resolution model, or builtin:NAME for a "
          "built-in one (e.g. builtin:espcn_x3); overrides 'scale' (the "
          "model's own factor is used). NULL: the built-in model for 'scale'",
          DEFAULT_MODEL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstQSuperRes:threads:
   *
   * Worker threads of the network; 0 uses one per CPU core.
   */
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
          "Threads running the network (0 = one per CPU core)", 0,
          MAX_THREADS, DEFAULT_THREADS, G_PARAM_READWRITE
          | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  /**
   * GstQSuperRes:fallback:
   *
   * What to do with a frame that would miss its deadline: upscale it
   * bilinearly (conventional, the default: the frame rate holds and the
   * network returns as soon as time allows), drop it (GstBaseTransform's
   * QoS), or always run the network (wait).
   */
  g_object_class_install_property (gobject_class, PROP_FALLBACK,
      g_param_spec_enum ("fallback", "Fallback",
          "What to do with a frame that would miss its deadline (QoS "
          "events; on live sources also the measured network time)",
          GST_TYPE_QSUPERRES_FALLBACK, DEFAULT_FALLBACK, G_PARAM_READWRITE
          | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstQSuperRes:fallback-frames:
   *
   * Frames upscaled conventionally because the network would have been
   * late, since the element started.
   */
  g_object_class_install_property (gobject_class, PROP_FALLBACK_FRAMES,
      g_param_spec_uint64 ("fallback-frames", "Fallback frames",
          "Frames upscaled bilinearly instead of by the network since start",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "q8 super-resolution", "Filter/Effect/Video/Scaler",
      "Upscales video by 2, 3 or 4 with an int8 super-resolution network",
      "q8 project");
  gst_element_class_add_static_pad_template (element_class,
      &gst_qsuperres_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &gst_qsuperres_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_qsuperres_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_qsuperres_stop);
  trans_class->transform_caps =
      GST_DEBUG_FUNCPTR (gst_qsuperres_transform_caps);
  trans_class->fixate_caps = GST_DEBUG_FUNCPTR (gst_qsuperres_fixate_caps);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_qsuperres_src_event);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_qsuperres_sink_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_qsuperres_query);
  trans_class->before_transform =
      GST_DEBUG_FUNCPTR (gst_qsuperres_before_transform);
  /* Set after GstVideoFilter's class_init, which installs its own. */
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_qsuperres_transform);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_qsuperres_set_info);
  filter_class->transform_frame =
      GST_DEBUG_FUNCPTR (gst_qsuperres_transform_frame);

  gst_type_mark_as_plugin_api (GST_TYPE_QSUPERRES_FALLBACK, 0);
}

static void
gst_qsuperres_init (GstQSuperRes *self)
{
  self->scale = DEFAULT_SCALE;
  self->model_path = g_strdup (DEFAULT_MODEL);
  self->threads = DEFAULT_THREADS;
  self->fallback = DEFAULT_FALLBACK;
  self->pad_offset = -1;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->frame_duration = GST_CLOCK_TIME_NONE;
  self->last_report = GST_CLOCK_TIME_NONE;
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self),
      DEFAULT_FALLBACK == GST_QSUPERRES_FALLBACK_DROP);
}
