/* gstqanomaly.c - qanomaly: runs an int8 anomaly-detection network on
 * video frames, in place, and reports each analysed frame's anomaly score
 * and region on the bus and as buffer metadata.
 */

/**
 * SECTION:element-qanomaly
 * @title: qanomaly
 *
 * Analyses every frame (or every `interval`-th) with a quantized anomaly
 * model and passes the frames through untouched (no copy) unless
 * `overlay` is set, which tints the pixels above the threshold red (a
 * heat map; GRAY8 has no colour) and draws a box around the anomalous
 * region.
 *
 * The model sees the luma of the frame, or of the region `roi`, resized
 * to its input size (metadata `input.width` and `input.height`; a model
 * without them runs at the region's own size).  Its output is an anomaly
 * map whose values, times `anomaly.score_scale` plus
 * `anomaly.score_offset`, are per-pixel scores; the frame score is their
 * maximum and the anomalous region the bounding box of the map cells above
 * `threshold` (by default the model's calibrated `anomaly.threshold`).
 *
 * ## Teaching on site
 *
 * The built-in model (and any model with metadata `anomaly.method` =
 * `knn` or `gaussian`) is a feature network that learns what normal looks
 * like on site: it has no anomaly map of its own but a map of local
 * features, and qanomaly keeps a memory bank of those of the first
 * `teach-frames` analysed frames (`knn`; or learns their per-cell mean
 * and variance, `gaussian`), or after the `teach` action signal of the
 * next ones, chooses the threshold from those normal frames, and from
 * then on scores each frame by its cells' distance from the nearest
 * normal feature around them (core/anomaly.c; `q8 teach` does the same
 * offline).  With `scene`
 * set, the taught model is saved to that file, and loaded from it on the
 * next start instead of teaching again.  Teaching frames are not scored;
 * when teaching ends qanomaly posts an element message `qanomaly-taught`
 * with `frames` (guint), `threshold` (gdouble) and `scene` (gchararray,
 * the file written or NULL).  A change of the input size during teaching
 * restarts it.
 *
 * For every analysed frame (or only anomalous ones, see `message-on`)
 * qanomaly posts an element message named `qanomaly` with the fields
 *
 * - `score` (gdouble): the frame score
 * - `threshold` (gdouble): the threshold in use
 * - `anomalous` (gboolean): score > threshold
 * - `timestamp` (guint64): the buffer's PTS
 * - `running-time` (guint64): its running time
 * - `frame` (guint64): its number since the element started (from 0)
 * - `x`, `y`, `width`, `height` (gint): the anomalous region in frame
 *   pixels, all 0 when the frame is not anomalous
 *
 * Anomalous buffers also get a #GstVideoRegionOfInterestMeta of type
 * "anomaly" with the same region (when the buffer is writable, which it is
 * unless another element holds it).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 -m v4l2src ! qanomaly overlay=true ! videoconvert ! \
 *     autovideosink
 * gst-launch-1.0 -m v4l2src ! qanomaly scene=/var/lib/line3.q8 \
 *     teach-frames=100 ! fakesink
 * gst-launch-1.0 -m v4l2src ! qanomaly model=parts.q8 overlay=true ! \
 *     videoconvert ! autovideosink
 * gst-launch-1.0 videotestsrc ! qanomaly model=parts.q8 interval=5 ! \
 *     fakesink
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gstqanomaly.h"
#include "gstq8models.h"
#include "upscale.h"
#include "colorspace.h"

GST_DEBUG_CATEGORY_STATIC (gst_qanomaly_debug);
#define GST_CAT_DEFAULT gst_qanomaly_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_THREADS,
  PROP_THRESHOLD,
  PROP_INTERVAL,
  PROP_OVERLAY,
  PROP_ROI,
  PROP_MESSAGE_ON,
  PROP_TEACH_FRAMES,
  PROP_TEACH_METHOD,
  PROP_SCENE,
  PROP_TEACHING,
};

enum
{
  SIGNAL_TEACH,
  LAST_SIGNAL,
};

static guint gst_qanomaly_signals[LAST_SIGNAL];

#define DEFAULT_MODEL NULL
#define DEFAULT_THREADS 0
#define MAX_THREADS 256
#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_INTERVAL 1
#define DEFAULT_OVERLAY FALSE
#define DEFAULT_ROI NULL
#define DEFAULT_MESSAGE_ON GST_QANOMALY_MESSAGE_ON_ALL
#define DEFAULT_TEACH_FRAMES 50
#define DEFAULT_SCENE NULL

/* A model without "anomaly.threshold". */
#define FALLBACK_THRESHOLD 0.5
/* Box outline thickness of the overlay, in pixels. */
#define BOX_WIDTH 2

#define ANOMALY_TASK "anomaly"

#define QANOMALY_FORMATS "{ GRAY8, I420, YV12, NV12, NV21, YUY2, UYVY, " \
    "Y42B, Y444, RGB, BGR, RGBx, BGRx, xRGB, xBGR, RGBA, BGRA }"

static GstStaticPadTemplate gst_qanomaly_sink_template =
GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (QANOMALY_FORMATS)));

static GstStaticPadTemplate gst_qanomaly_src_template =
GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_VIDEO_CAPS_MAKE (QANOMALY_FORMATS)));

GType
gst_qanomaly_message_on_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_QANOMALY_MESSAGE_ON_ALL, "Every analysed frame", "all"},
    {GST_QANOMALY_MESSAGE_ON_ANOMALOUS, "Anomalous frames only",
        "anomalous"},
    {GST_QANOMALY_MESSAGE_ON_NONE, "No messages", "none"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstQAnomalyMessageOn", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_qanomaly_teach_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_QANOMALY_TEACH_METHOD_MODEL, "The model's anomaly.method", "model"},
    {GST_QANOMALY_TEACH_METHOD_KNN,
        "Memory bank of the teaching frames' features", "knn"},
    {GST_QANOMALY_TEACH_METHOD_GAUSSIAN, "Per-cell mean and variance",
        "gaussian"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstQAnomalyTeachMethod", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

#define gst_qanomaly_parent_class parent_class
G_DEFINE_TYPE (GstQAnomaly, gst_qanomaly, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (qanomaly, "qanomaly", GST_RANK_NONE,
    GST_TYPE_QANOMALY);

/* ------------------------------------------------------------------ */
/* Model                                                               */
/* ------------------------------------------------------------------ */

static gdouble
meta_float (const q8_model *model, const char *key, gdouble def)
{
  double v;
  return q8_model_meta_float (model, key, &v) == Q8_OK ? v : def;
}

/* Checks that model is a one-input luma anomaly network and reads its
 * metadata into self.  On failure writes why to err. */
static gboolean
gst_qanomaly_check_model (GstQAnomaly *self, const q8_model *model,
    gchar *err, gsize err_size)
{
  const char *task = NULL;
  q8_tensor_info in, out;
  int64_t w = 0, h = 0;

  if (q8_model_meta_string (model, "task", &task) != Q8_OK
      || strcmp (task, ANOMALY_TASK) != 0) {
    g_snprintf (err, err_size, "it is a \"%s\" model, not an %s model",
        task != NULL ? task : "untyped", ANOMALY_TASK);
    return FALSE;
  }
  if (q8_model_num_inputs (model) != 1 || q8_model_num_outputs (model) < 1) {
    g_snprintf (err, err_size, "it has %zu inputs and %zu outputs, qanomaly "
        "needs one input and an anomaly map", q8_model_num_inputs (model),
        q8_model_num_outputs (model));
    return FALSE;
  }
  q8_model_input_info (model, 0, &in);
  q8_model_output_info (model, 0, &out);
  self->gaussian = q8_model_is_feature_anomaly (model);
  if (in.c != 1 || (out.c != 1 && !self->gaussian)) {
    g_snprintf (err, err_size, "its input has %d channels and its map %d, "
        "qanomaly runs luma models with a 1-channel map (1 and 1)",
        (int) in.c, (int) out.c);
    return FALSE;
  }
  q8_model_meta_int (model, "input.width", &w);
  q8_model_meta_int (model, "input.height", &h);
  if (w < 0 || h < 0 || w > Q8_MAX_DIM || h > Q8_MAX_DIM || (w == 0) != (h
          == 0)) {
    g_snprintf (err, err_size, "its input size %" G_GINT64_FORMAT "x%"
        G_GINT64_FORMAT " is invalid", w, h);
    return FALSE;
  }
  if (self->gaussian && w == 0) {
    g_snprintf (err, err_size, "a feature model (anomaly.method knn or gaussian) "
        "needs a fixed input.width and input.height");
    return FALSE;
  }
  self->model_width = (gint) w;
  self->model_height = (gint) h;
  self->model_threshold = meta_float (model, "anomaly.threshold",
      FALLBACK_THRESHOLD);
  self->score_scale = meta_float (model, "anomaly.score_scale", 1.0);
  self->score_offset = meta_float (model, "anomaly.score_offset", 0.0);
  return TRUE;
}

/* Parses "x,y,width,height"; FALSE if malformed. */
static gboolean
gst_qanomaly_parse_roi (const gchar *s, GstVideoRectangle *r)
{
  int n = 0;

  if (s == NULL || *s == '\0')
    return FALSE;
  if (sscanf (s, "%d,%d,%d,%d%n", &r->x, &r->y, &r->w, &r->h, &n) != 4
      || s[n] != '\0' || r->x < 0 || r->y < 0 || r->w <= 0 || r->h <= 0)
    return FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Processing                                                          */
/* ------------------------------------------------------------------ */

/* The analysed region's luma, at the network's input size, into the
 * plan's input. */
static q8_status
gst_qanomaly_set_input (GstQAnomaly *self, const GstVideoFrame *frame)
{
  const GstVideoRectangle *a = &self->area;
  const guint8 *src;
  gint ps, stride;

  if (GST_VIDEO_INFO_IS_RGB (&frame->info)) {
    const gint fps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, GST_VIDEO_COMP_R);
    const gint fst = GST_VIDEO_FRAME_PLANE_STRIDE (frame, 0);
    const gsize off = (gsize) a->y * fst + (gsize) a->x * fps;
    /* Luma of the region; Cb and Cr are computed and thrown away. */
    guint8 *cb = self->luma + (gsize) a->w * a->h;
    guint8 *cr = cb + a->w;

    for (gint y = 0; y < a->h; y++) {
      const gsize o = off + (gsize) y * fst;
      gst_q8_rgb_to_ycbcr_row ((const guint8 *)
          GST_VIDEO_FRAME_COMP_DATA (frame, GST_VIDEO_COMP_R) + o,
          (const guint8 *) GST_VIDEO_FRAME_COMP_DATA (frame,
              GST_VIDEO_COMP_G) + o,
          (const guint8 *) GST_VIDEO_FRAME_COMP_DATA (frame,
              GST_VIDEO_COMP_B) + o, fps, self->luma + (gsize) y * a->w, cb,
          cr, a->w);
    }
    src = self->luma;
    ps = 1;
    stride = a->w;
  } else {
    ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, 0);
    stride = GST_VIDEO_FRAME_COMP_STRIDE (frame, 0);
    src = (const guint8 *) GST_VIDEO_FRAME_COMP_DATA (frame, 0)
        + (gsize) a->y * stride + (gsize) a->x * ps;
  }

  if (self->in_w == a->w && self->in_h == a->h && ps == 1)
    return q8_plan_set_input_u8 (self->plan, 0, src, (size_t) stride);
  gst_q8_resize_nearest_u8 (src, ps, (size_t) stride, a->w, a->h,
      self->input, self->in_w, self->in_h);
  return q8_plan_set_input_u8 (self->plan, 0, self->input,
      (size_t) self->in_w);
}

/* The heat map: every frame pixel whose map cell is above the threshold is
 * tinted half-way to red (RGB 255, 0, 0; in BT.601 Cb 90, Cr 240, which
 * subsampled chroma gets per chroma sample).  GRAY8 has no colour to tint
 * and shows the box only. */
static void
gst_qanomaly_draw_heat (GstQAnomaly *self, GstVideoFrame *frame)
{
  const GstVideoRectangle *a = &self->area;
  const gboolean rgb = GST_VIDEO_INFO_IS_RGB (&frame->info);
  const GstVideoFormatInfo *fi = frame->info.finfo;
  const guint ncomp = GST_VIDEO_FRAME_N_COMPONENTS (frame);

  for (guint c = rgb ? 0 : 1; c < MIN (ncomp, 3u); c++) {
    guint8 *d = GST_VIDEO_FRAME_COMP_DATA (frame, c);
    const gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
    const gint st = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
    const gint ws = GST_VIDEO_FORMAT_INFO_W_SUB (fi, c);
    const gint hs = GST_VIDEO_FORMAT_INFO_H_SUB (fi, c);
    const gint cw = GST_VIDEO_FRAME_COMP_WIDTH (frame, c);
    const gint ch = GST_VIDEO_FRAME_COMP_HEIGHT (frame, c);
    guint8 target;

    if (rgb)
      target = c == GST_VIDEO_COMP_R ? 255 : 0;
    else
      target = c == GST_VIDEO_COMP_U ? 90 : 240;

    /* Component samples whose top-left frame pixel lies in the area. */
    for (gint y = (a->y + (1 << hs) - 1) >> hs; y < ch; y++) {
      const gint fy = y << hs;
      gint my;
      if (fy >= a->y + a->h)
        break;
      my = (gint) ((gint64) (fy - a->y) * self->map_h / a->h);
      for (gint x = (a->x + (1 << ws) - 1) >> ws; x < cw; x++) {
        const gint fx = x << ws;
        gint mx;
        guint8 *p;
        if (fx >= a->x + a->w)
          break;
        mx = (gint) ((gint64) (fx - a->x) * self->map_w / a->w);
        if (self->map[my * self->map_w + mx] * self->score_scale
            + self->score_offset <= self->cur_threshold)
          continue;
        p = d + (gsize) y * st + (gsize) x * ps;
        *p = (guint8) ((*p + target + 1) / 2);
      }
    }
  }
}

/* Draws the outline of r into luma (YUV) or red (RGB). */
static void
gst_qanomaly_draw_box (GstVideoFrame *frame, const GstVideoRectangle *r)
{
  const gboolean rgb = GST_VIDEO_INFO_IS_RGB (&frame->info);
  const guint ncomp = rgb ? 3 : 1;

  for (guint c = 0; c < ncomp; c++) {
    guint8 *d = GST_VIDEO_FRAME_COMP_DATA (frame, c);
    const gint ps = GST_VIDEO_FRAME_COMP_PSTRIDE (frame, c);
    const gint st = GST_VIDEO_FRAME_COMP_STRIDE (frame, c);
    const guint8 v = !rgb || c == GST_VIDEO_COMP_R ? 255 : 0;

    for (gint y = r->y; y < r->y + r->h; y++)
      for (gint x = r->x; x < r->x + r->w; x++)
        if (x - r->x < BOX_WIDTH || r->x + r->w - 1 - x < BOX_WIDTH
            || y - r->y < BOX_WIDTH || r->y + r->h - 1 - y < BOX_WIDTH)
          d[(gsize) y * st + (gsize) x * ps] = v;
  }
}

/* Starts teaching on the next frames; the teacher's memory is allocated
 * here, once, not per frame. */
static gboolean
gst_qanomaly_teach_start (GstQAnomaly *self)
{
  char q8err[256] = "";
  q8_status st;
  guint n;

  GST_OBJECT_LOCK (self);
  n = self->teach_frames;
  self->teach_requested = FALSE;
  GST_OBJECT_UNLOCK (self);

  g_clear_pointer (&self->teacher, q8_teacher_free);
  st = q8_teacher_create (self->model, self->plan, (int) n, &self->teacher,
      q8err, sizeof q8err);
  if (st != Q8_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT,
        ("Cannot teach model \"%s\" on %u frames: %s.", self->model_desc, n,
            q8_status_str (st)), ("%s", q8err));
    return FALSE;
  }
  self->teach_target = (gint) n;
  GST_OBJECT_LOCK (self);
  self->teaching = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "teaching on the next %u frames", n);
  return TRUE;
}

/* Ends teaching: the taught model (with its statistics and threshold)
 * replaces the running one, is saved to the scene file if one is set, and
 * a "qanomaly-taught" message says so. */
static gboolean
gst_qanomaly_teach_finish (GstQAnomaly *self)
{
  void *data = NULL;
  size_t size = 0;
  double threshold = 0;
  char q8err[256] = "";
  q8_model *taught = NULL;
  q8_plan *plan = NULL;
  q8_scorer *scorer = NULL;
  gchar *scene;
  gint frames = q8_teacher_frames (self->teacher);
  q8_status st;

  q8_teach_params params;
  q8_teach_params_init (&params);
  GST_OBJECT_LOCK (self);
  params.method = self->teach_method == GST_QANOMALY_TEACH_METHOD_KNN
      ? Q8_ANOMALY_KNN
      : self->teach_method == GST_QANOMALY_TEACH_METHOD_GAUSSIAN
      ? Q8_ANOMALY_GAUSSIAN : Q8_ANOMALY_MODEL;
  GST_OBJECT_UNLOCK (self);
  st = q8_teacher_finish (self->teacher, self->model, &params, &data, &size,
      &threshold, q8err, sizeof q8err);
  if (st == Q8_OK)
    st = q8_model_load_buffer (data, size, &taught, q8err, sizeof q8err);
  if (st == Q8_OK)
    st = q8_plan_create (taught, self->in_w, self->in_h, self->plan_threads,
        &plan, q8err, sizeof q8err);
  if (st == Q8_OK)
    st = q8_scorer_create (taught, plan, &scorer, q8err, sizeof q8err);
  if (st != Q8_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Teaching model \"%s\" failed: %s.", self->model_desc,
            q8_status_str (st)), ("%s", q8err));
    q8_scorer_free (scorer);
    q8_plan_free (plan);
    q8_model_free (taught);
    free (data);
    return FALSE;
  }
  g_clear_pointer (&self->teacher, q8_teacher_free);
  q8_scorer_free (self->scorer);
  q8_plan_free (self->plan);
  q8_model_free (self->model);
  self->model = taught;
  self->plan = plan;
  self->scorer = scorer;
  self->model_threshold = threshold;

  GST_OBJECT_LOCK (self);
  scene = self->scene_path != NULL && *self->scene_path != '\0'
      ? g_strdup (self->scene_path) : NULL;
  self->teaching = FALSE;
  GST_OBJECT_UNLOCK (self);
  if (scene != NULL) {
    GError *gerr = NULL;
    /* g_file_set_contents writes a temporary file and renames it over the
     * old one, so a reader never sees half a scene. */
    if (!g_file_set_contents (scene, data, (gssize) size, &gerr)) {
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("Cannot save the taught scene to \"%s\".", scene),
          ("%s", gerr->message));
      g_clear_error (&gerr);
      g_clear_pointer (&scene, g_free);
    }
  }
  free (data);
  GST_INFO_OBJECT (self, "taught on %d frames, threshold %g", frames,
      threshold);
  gst_element_post_message (GST_ELEMENT (self),
      gst_message_new_element (GST_OBJECT (self),
          gst_structure_new ("qanomaly-taught",
              "frames", G_TYPE_UINT, (guint) frames,
              "threshold", G_TYPE_DOUBLE, threshold,
              "scene", G_TYPE_STRING, scene, NULL)));
  g_free (scene);
  return TRUE;
}

/* The network has run on a frame of a feature model: a teaching frame
 * (self->analysed FALSE) or a scored one (the cell map into self->map,
 * from which the caller takes score and region as for map models). */
static gboolean
gst_qanomaly_gaussian_step (GstQAnomaly *self)
{
  gboolean requested;
  double score;

  GST_OBJECT_LOCK (self);
  requested = self->teach_requested;
  GST_OBJECT_UNLOCK (self);
  if ((requested || (self->scorer == NULL && self->teacher == NULL))
      && !gst_qanomaly_teach_start (self))
    return FALSE;
  if (self->teacher != NULL) {
    self->analysed = FALSE;
    q8_teacher_add (self->teacher, self->plan);
    if (q8_teacher_frames (self->teacher) >= self->teach_target)
      return gst_qanomaly_teach_finish (self);
    return TRUE;
  }
  q8_scorer_run (self->scorer, self->plan, self->map, &score);
  return TRUE;
}

/* Analyses one mapped frame: score, anomalous and region into self and,
 * with overlay, the box drawn into the frame. */
static GstFlowReturn
gst_qanomaly_transform_frame_ip (GstVideoFilter *filter,
    GstVideoFrame *frame)
{
  GstQAnomaly *self = GST_QANOMALY (filter);
  gint x0 = G_MAXINT, y0 = G_MAXINT, x1 = -1, y1 = -1;
  gdouble score = -G_MAXDOUBLE;
  gboolean overlay;
  q8_status st;

  GST_OBJECT_LOCK (self);
  overlay = self->overlay;
  GST_OBJECT_UNLOCK (self);

  self->analysed = TRUE;
  st = gst_qanomaly_set_input (self, frame);
  if (st == Q8_OK)
    st = q8_run (self->plan);
  if (st == Q8_OK && !self->gaussian)
    st = q8_plan_get_output_f32 (self->plan, 0, self->map);
  if (st != Q8_OK) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED,
        ("Running the model failed: %s.", q8_status_str (st)),
        ("%s", self->model_desc));
    return GST_FLOW_ERROR;
  }
  if (self->gaussian) {
    if (!gst_qanomaly_gaussian_step (self))
      return GST_FLOW_ERROR;
    if (!self->analysed)
      return GST_FLOW_OK;
  }

  /* Score and the map cells above the threshold. */
  for (gint y = 0; y < self->map_h; y++)
    for (gint x = 0; x < self->map_w; x++) {
      gdouble v = self->map[y * self->map_w + x] * self->score_scale
          + self->score_offset;
      score = MAX (score, v);
      if (v > self->cur_threshold) {
        x0 = MIN (x0, x);
        y0 = MIN (y0, y);
        x1 = MAX (x1, x);
        y1 = MAX (y1, y);
      }
    }
  self->score = score;
  self->anomalous = score > self->cur_threshold;
  memset (&self->box, 0, sizeof self->box);
  if (self->anomalous && x1 >= 0) {
    /* Cells to frame pixels: cell i covers [i W / w, (i + 1) W / w). */
    const GstVideoRectangle *a = &self->area;
    gint fx0 = a->x + (gint) ((gint64) x0 * a->w / self->map_w);
    gint fy0 = a->y + (gint) ((gint64) y0 * a->h / self->map_h);
    gint fx1 = a->x + (gint) (((gint64) x1 + 1) * a->w / self->map_w);
    gint fy1 = a->y + (gint) (((gint64) y1 + 1) * a->h / self->map_h);
    self->box.x = fx0;
    self->box.y = fy0;
    self->box.w = fx1 - fx0;
    self->box.h = fy1 - fy0;
    if (overlay) {
      gst_qanomaly_draw_heat (self, frame);
      gst_qanomaly_draw_box (frame, &self->box);
    }
  }
  return GST_FLOW_OK;
}

/* Maps the frame without an extra buffer reference (so that the buffer
 * stays writable for the region meta), analyses it, then attaches the
 * meta and posts the message. */
static GstFlowReturn
gst_qanomaly_transform_ip (GstBaseTransform *trans, GstBuffer *buf)
{
  GstQAnomaly *self = GST_QANOMALY (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  GstQAnomalyMessageOn message_on;
  GstVideoFrame frame;
  guint64 n = self->frames++;
  guint interval;
  GstFlowReturn ret;

  if (G_UNLIKELY (self->plan == NULL))
    return GST_FLOW_NOT_NEGOTIATED;

  GST_OBJECT_LOCK (self);
  interval = self->interval;
  self->cur_threshold = self->threshold >= 0 ? self->threshold
      : self->model_threshold;
  message_on = self->message_on;
  GST_OBJECT_UNLOCK (self);
  if (n % interval != 0)
    return GST_FLOW_OK;

  if (!gst_video_frame_map (&frame, &filter->in_info, buf,
          (gst_base_transform_is_passthrough (trans) ? GST_MAP_READ
              : GST_MAP_READWRITE) | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Cannot map the frame."),
        (NULL));
    return GST_FLOW_ERROR;
  }
  ret = gst_qanomaly_transform_frame_ip (filter, &frame);
  gst_video_frame_unmap (&frame);
  if (ret != GST_FLOW_OK || !self->analysed)
    return ret;

  if (self->anomalous) {
    if (gst_buffer_is_writable (buf))
      gst_buffer_add_video_region_of_interest_meta (buf, "anomaly",
          (guint) self->box.x, (guint) self->box.y, (guint) self->box.w,
          (guint) self->box.h);
    else
      GST_DEBUG_OBJECT (self, "buffer not writable, no region meta");
  }

  if (message_on == GST_QANOMALY_MESSAGE_ON_ALL
      || (message_on == GST_QANOMALY_MESSAGE_ON_ANOMALOUS
          && self->anomalous)) {
    GstClockTime pts = GST_BUFFER_PTS (buf);
    GstClockTime rt = trans->segment.format == GST_FORMAT_TIME
        ? gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts)
        : GST_CLOCK_TIME_NONE;
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self),
            gst_structure_new ("qanomaly",
                "score", G_TYPE_DOUBLE, self->score,
                "threshold", G_TYPE_DOUBLE, self->cur_threshold,
                "anomalous", G_TYPE_BOOLEAN, self->anomalous,
                "timestamp", G_TYPE_UINT64, pts,
                "running-time", G_TYPE_UINT64, rt,
                "frame", G_TYPE_UINT64, n,
                "x", G_TYPE_INT, self->box.x, "y", G_TYPE_INT, self->box.y,
                "width", G_TYPE_INT, self->box.w,
                "height", G_TYPE_INT, self->box.h, NULL)));
  }
  return GST_FLOW_OK;
}

static void
gst_qanomaly_free_stream (GstQAnomaly *self)
{
  g_clear_pointer (&self->scorer, q8_scorer_free);
  g_clear_pointer (&self->teacher, q8_teacher_free);
  g_clear_pointer (&self->plan, q8_plan_free);
  g_clear_pointer (&self->luma, g_free);
  g_clear_pointer (&self->input, g_free);
  g_clear_pointer (&self->map, g_free);
}

/* Resolves the region against the frame size and plans the network.
 *
 * All or nothing: the new plan, scorer and buffers are made first and
 * replace the old ones only when all of them could be had, so a refused
 * size (too large for the model, no memory) leaves the element configured
 * for the caps it had.  GstBaseTransform keeps those caps on its pads and,
 * when they come back, takes them without calling set_info again. */
static gboolean
gst_qanomaly_set_info (GstVideoFilter *filter, GstCaps *incaps,
    GstVideoInfo *in_info, GstCaps *outcaps, GstVideoInfo *out_info)
{
  GstQAnomaly *self = GST_QANOMALY (filter);
  const gint fw = GST_VIDEO_INFO_WIDTH (in_info);
  const gint fh = GST_VIDEO_INFO_HEIGHT (in_info);
  GstVideoRectangle a = { 0, 0, fw, fh };
  q8_tensor_info oi;
  gchar *roi;
  guint threads;
  char q8err[256];
  q8_status st;
  gint in_w, in_h;
  q8_plan *plan = NULL;
  q8_scorer *scorer = NULL;
  guint8 *luma = NULL, *input = NULL;
  gfloat *map = NULL;

  GST_OBJECT_LOCK (self);
  roi = g_strdup (self->roi);
  threads = self->threads;
  GST_OBJECT_UNLOCK (self);

  if (roi != NULL && *roi != '\0') {
    if (!gst_qanomaly_parse_roi (roi, &a) || a.x >= fw || a.y >= fh) {
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS,
          ("Region \"%s\" is not \"x,y,width,height\" inside the %dx%d "
              "frame.", roi, fw, fh), (NULL));
      g_free (roi);
      return FALSE;
    }
    a.w = MIN (a.w, fw - a.x);
    a.h = MIN (a.h, fh - a.y);
  }
  g_free (roi);

  in_w = self->model_width > 0 ? self->model_width : a.w;
  in_h = self->model_height > 0 ? self->model_height : a.h;
  st = q8_plan_create (self->model, in_w, in_h, (int) threads, &plan, q8err,
      sizeof q8err);
  if (st != Q8_OK) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("Model \"%s\" cannot analyse %dx%d input: %s.", self->model_desc,
            in_w, in_h, q8_status_str (st)), ("%s", q8err));
    return FALSE;
  }
  if (self->gaussian) {
    st = q8_scorer_create (self->model, plan, &scorer, q8err, sizeof q8err);
    if (st == Q8_ENOTFOUND) {
      GST_INFO_OBJECT (self, "model not taught yet: teaching first");
    } else if (st != Q8_OK) {
      GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
          ("Model \"%s\" has unusable normal statistics: %s.",
              self->model_desc, q8_status_str (st)), ("%s", q8err));
      goto fail;
    }
  }
  q8_plan_output_info (plan, 0, &oi);
  /* Luma plus a row each of Cb and Cr for RGB input.  The frame may be
   * large (up to what GstVideoInfo accepts): g_malloc would abort. */
  luma = g_try_malloc ((gsize) a.w * (a.h + 2));
  input = g_try_malloc ((gsize) in_w * in_h);
  map = g_try_new (gfloat, (gsize) oi.w * oi.h);
  if (luma == NULL || input == NULL || map == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        ("Not enough memory for %dx%d video.", fw, fh),
        ("%" G_GSIZE_FORMAT " bytes of luma", (gsize) a.w * (a.h + 2)));
    goto fail;
  }

  /* A new size restarts teaching (the teacher's statistics are per cell
   * of the old plan). */
  gst_qanomaly_free_stream (self);
  self->area = a;
  self->in_w = in_w;
  self->in_h = in_h;
  self->plan = plan;
  self->scorer = scorer;
  self->luma = luma;
  self->input = input;
  self->map = map;
  self->map_w = oi.w;
  self->map_h = oi.h;
  self->plan_threads = (gint) threads;
  GST_OBJECT_LOCK (self);
  self->teaching = FALSE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "region %d,%d %dx%d -> %dx%d input, %dx%d map",
      a.x, a.y, a.w, a.h, self->in_w, self->in_h, self->map_w, self->map_h);
  return TRUE;

fail:
  g_free (map);
  g_free (input);
  g_free (luma);
  q8_scorer_free (scorer);
  q8_plan_free (plan);
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

static gboolean
gst_qanomaly_start (GstBaseTransform *trans)
{
  GstQAnomaly *self = GST_QANOMALY (trans);
  gchar *path, *desc = NULL;
  gchar why[512];
  q8_model *model;

  GST_OBJECT_LOCK (self);
  /* A scene taught earlier replaces the model it was taught from. */
  if (self->scene_path != NULL && *self->scene_path != '\0'
      && g_file_test (self->scene_path, G_FILE_TEST_EXISTS))
    path = g_strdup (self->scene_path);
  else
    path = g_strdup (self->model_path);
  GST_OBJECT_UNLOCK (self);

  model = gst_q8_model_load (GST_ELEMENT (self), path, ANOMALY_TASK, 0, TRUE,
      &desc);
  g_free (path);
  if (model == NULL)
    return FALSE;
  if (!gst_qanomaly_check_model (self, model, why, sizeof why)) {
    GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE,
        ("Model \"%s\" cannot be used by qanomaly: %s.", desc, why), (NULL));
    q8_model_free (model);
    g_free (desc);
    return FALSE;
  }
  self->model = model;
  self->model_desc = desc;
  self->frames = 0;
  return TRUE;
}

static gboolean
gst_qanomaly_stop (GstBaseTransform *trans)
{
  GstQAnomaly *self = GST_QANOMALY (trans);

  gst_qanomaly_free_stream (self);
  g_clear_pointer (&self->model, q8_model_free);
  g_clear_pointer (&self->model_desc, g_free);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */
/* ------------------------------------------------------------------ */

static void
gst_qanomaly_set_property (GObject *object, guint prop_id,
    const GValue *value, GParamSpec *pspec)
{
  GstQAnomaly *self = GST_QANOMALY (object);
  gboolean overlay;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_uint (value);
      break;
    case PROP_THRESHOLD:
      self->threshold = g_value_get_double (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_OVERLAY:
      self->overlay = g_value_get_boolean (value);
      break;
    case PROP_ROI:
      g_free (self->roi);
      self->roi = g_value_dup_string (value);
      break;
    case PROP_MESSAGE_ON:
      self->message_on = g_value_get_enum (value);
      break;
    case PROP_TEACH_FRAMES:
      self->teach_frames = g_value_get_uint (value);
      break;
    case PROP_TEACH_METHOD:
      self->teach_method = g_value_get_enum (value);
      break;
    case PROP_SCENE:
      g_free (self->scene_path);
      self->scene_path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  overlay = self->overlay;
  GST_OBJECT_UNLOCK (self);

  /* Without overlay the frames pass through untouched (and uncopied). */
  if (prop_id == PROP_OVERLAY)
    gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), !overlay);
}

static void
gst_qanomaly_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstQAnomaly *self = GST_QANOMALY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_THREADS:
      g_value_set_uint (value, self->threads);
      break;
    case PROP_THRESHOLD:
      g_value_set_double (value, self->threshold);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_OVERLAY:
      g_value_set_boolean (value, self->overlay);
      break;
    case PROP_ROI:
      g_value_set_string (value, self->roi);
      break;
    case PROP_MESSAGE_ON:
      g_value_set_enum (value, self->message_on);
      break;
    case PROP_TEACH_FRAMES:
      g_value_set_uint (value, self->teach_frames);
      break;
    case PROP_TEACH_METHOD:
      g_value_set_enum (value, self->teach_method);
      break;
    case PROP_SCENE:
      g_value_set_string (value, self->scene_path);
      break;
    case PROP_TEACHING:
      g_value_set_boolean (value, self->teaching);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_qanomaly_finalize (GObject *object)
{
  GstQAnomaly *self = GST_QANOMALY (object);

  gst_qanomaly_free_stream (self);
  q8_model_free (self->model);
  g_free (self->model_desc);
  g_free (self->model_path);
  g_free (self->roi);
  g_free (self->scene_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_qanomaly_teach_action (GstQAnomaly *self)
{
  GST_OBJECT_LOCK (self);
  self->teach_requested = TRUE;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "teaching requested");
}

static void
gst_qanomaly_class_init (GstQAnomalyClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  GST_DEBUG_CATEGORY_INIT (gst_qanomaly_debug, "qanomaly", 0,
      "q8 anomaly detection");

  gobject_class->set_property = gst_qanomaly_set_property;
  gobject_class->get_property = gst_qanomaly_get_property;
  gobject_class->finalize = gst_qanomaly_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of a .q8 anomaly model, or builtin:NAME for a built-in "
          "one. NULL: the built-in feature model, "
          "which learns the scene on site (see teach-frames)",
          DEFAULT_MODEL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_uint ("threads", "Threads",
          "Threads running the network (0 = one per CPU core)", 0,
          MAX_THREADS, DEFAULT_THREADS, G_PARAM_READWRITE
          | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_THRESHOLD,
      g_param_spec_double ("threshold", "Threshold",
          "Frame score above which a frame is anomalous (-1 = the model's "
          "calibrated anomaly.threshold)", -1.0, G_MAXDOUBLE,
          DEFAULT_THRESHOLD, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("interval", "Interval",
          "Analyse every n-th frame (1 = every frame)", 1, G_MAXUINT,
          DEFAULT_INTERVAL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_OVERLAY,
      g_param_spec_boolean ("overlay", "Overlay",
          "Tint anomalous pixels red and box the anomalous region",
          DEFAULT_OVERLAY, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_ROI,
      g_param_spec_string ("roi", "Region of interest",
          "Region to analyse as \"x,y,width,height\" in frame pixels "
          "(clipped to the frame). NULL: the whole frame", DEFAULT_ROI,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MESSAGE_ON,
      g_param_spec_enum ("message-on", "Message on",
          "Which analysed frames get a \"qanomaly\" bus message",
          GST_TYPE_QANOMALY_MESSAGE_ON, DEFAULT_MESSAGE_ON,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TEACH_FRAMES,
      g_param_spec_uint ("teach-frames", "Teach frames",
          "Frames a feature model (such as the built-in one) learns the "
          "normal scene from: the first ones, or the next ones after the "
          "\"teach\" action", 2, Q8_ANOMALY_MAX_FRAMES,
          DEFAULT_TEACH_FRAMES, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TEACH_METHOD,
      g_param_spec_enum ("teach-method", "Teach method",
          "How a feature model learns the normal scene: a memory bank of "
          "the teaching frames' features (knn: more accurate, costlier to "
          "score), per-cell mean and variance (gaussian: cheap), or what "
          "the model's metadata says", GST_TYPE_QANOMALY_TEACH_METHOD,
          GST_QANOMALY_TEACH_METHOD_MODEL,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SCENE,
      g_param_spec_string ("scene", "Scene file",
          "Taught model file: loaded at start if it exists (instead of "
          "teaching again), written when teaching ends. NULL: teach on "
          "every start, save nothing", DEFAULT_SCENE,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
          | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TEACHING,
      g_param_spec_boolean ("teaching", "Teaching",
          "TRUE while the element is learning the normal scene (its frames "
          "are not scored)", FALSE, G_PARAM_READABLE
          | G_PARAM_STATIC_STRINGS));

  /**
   * GstQAnomaly::teach:
   * @qanomaly: the element
   *
   * Action signal: learn the normal scene again from the next
   * `teach-frames` analysed frames (feature models only; those frames are
   * not scored, and the new statistics replace the old when teaching
   * ends).
   */
  gst_qanomaly_signals[SIGNAL_TEACH] =
      g_signal_new_class_handler ("teach", G_TYPE_FROM_CLASS (klass),
      G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_qanomaly_teach_action), NULL, NULL, NULL,
      G_TYPE_NONE, 0);

  gst_element_class_set_static_metadata (element_class,
      "q8 anomaly detection", "Filter/Analyzer/Video",
      "Scores video frames with an int8 anomaly-detection network and "
      "reports anomalous regions", "q8 project");
  gst_element_class_add_static_pad_template (element_class,
      &gst_qanomaly_sink_template);
  gst_element_class_add_static_pad_template (element_class,
      &gst_qanomaly_src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_qanomaly_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_qanomaly_stop);
  /* Our own transform_ip maps the frame and calls transform_frame_ip;
   * having the latter also keeps GstVideoFilter from turning off
   * transform_ip_on_passthrough. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_qanomaly_transform_ip);
  filter_class->transform_frame_ip =
      GST_DEBUG_FUNCPTR (gst_qanomaly_transform_frame_ip);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_qanomaly_set_info);

  gst_type_mark_as_plugin_api (GST_TYPE_QANOMALY_MESSAGE_ON, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_QANOMALY_TEACH_METHOD, 0);
}

static void
gst_qanomaly_init (GstQAnomaly *self)
{
  self->model_path = g_strdup (DEFAULT_MODEL);
  self->threads = DEFAULT_THREADS;
  self->threshold = DEFAULT_THRESHOLD;
  self->interval = DEFAULT_INTERVAL;
  self->overlay = DEFAULT_OVERLAY;
  self->roi = g_strdup (DEFAULT_ROI);
  self->message_on = DEFAULT_MESSAGE_ON;
  self->teach_frames = DEFAULT_TEACH_FRAMES;
  self->scene_path = g_strdup (DEFAULT_SCENE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self),
      !DEFAULT_OVERLAY);
  /* An analyser must not drop frames (GstVideoFilter enables QoS). */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}
