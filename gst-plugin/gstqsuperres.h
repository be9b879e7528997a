/* gstqsuperres.h - qsuperres: video super-resolution with a q8 network. */
#ifndef __GST_QSUPERRES_H__
#define __GST_QSUPERRES_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "q8.h"

G_BEGIN_DECLS

#define GST_TYPE_QSUPERRES (gst_qsuperres_get_type ())
G_DECLARE_FINAL_TYPE (GstQSuperRes, gst_qsuperres, GST, QSUPERRES,
    GstVideoFilter)

/**
 * GstQSuperResFallback:
 * @GST_QSUPERRES_FALLBACK_CONVENTIONAL: upscale late frames bilinearly
 * @GST_QSUPERRES_FALLBACK_DROP: drop late frames
 * @GST_QSUPERRES_FALLBACK_WAIT: always run the network
 *
 * What qsuperres does with a frame that would miss its deadline.
 */
typedef enum
{
  GST_QSUPERRES_FALLBACK_CONVENTIONAL = 0,
  GST_QSUPERRES_FALLBACK_DROP = 1,
  GST_QSUPERRES_FALLBACK_WAIT = 2,
} GstQSuperResFallback;

#define GST_TYPE_QSUPERRES_FALLBACK (gst_qsuperres_fallback_get_type ())
GType gst_qsuperres_fallback_get_type (void);

/* Upscales one frame; net chooses the network or the bilinear fallback
 * for luma. */
typedef GstFlowReturn (*GstQSuperResProcessFunc) (GstQSuperRes *self,
    const GstVideoFrame *in, GstVideoFrame *out, gboolean net);

struct _GstQSuperRes
{
  GstVideoFilter videofilter;

  /* Properties, under the object lock. */
  guint scale;
  gchar *model_path;
  guint path_factor;            /* model_path's factor, 0 if unreadable */
  guint threads;
  GstQSuperResFallback fallback;
  guint64 fallback_frames;
  /* Set when model or scale change after start (): the streaming thread
   * loads the new model before the next frame. */
  gboolean reload;

  /* The loaded model (start () to stop ()).  factor is also read by
   *transform_caps () from other threads, so it changes under the object
   *lock. */
  q8_model *model;
  gchar *model_desc;
  guint factor;
  gint channels;                /* 1: luma model, 3: RGB model */

  /* Streaming state, (re)built by set_info (). */
  q8_plan *plan;
  GstQSuperResProcessFunc process;
  gint in_width, in_height, out_width, out_height;
  gint pad_offset;              /* the x byte of RGBx-like formats, or -1 */
  guint8 *scratch;
  gsize scratch_size;
  guint8 *y_in, *cb_in, *cr_in; /* in_width x in_height planes */
  guint8 *y_out, *cb_out, *cr_out;      /* out_width x out_height */

  /* Deadlines.  earliest_time comes from QoS events (object lock); live
   * from the latency query; the rest belongs to the streaming thread. */
  GstClockTime earliest_time;
  gboolean live;
  GstClockTime frame_duration;  /* from the caps' framerate, or NONE */
  GstClockTime latency;         /* reported beyond one frame, object lock */
  gint64 net_ns;                /* running average of a network frame */
  gint64 budget_ns;             /* time credit of a live stream */
  guint64 frames;
  guint period_fallbacks;       /* since the last fallback message */
  guint period_frames;
  GstClockTime last_report;
};

GST_ELEMENT_REGISTER_DECLARE (qsuperres);

G_END_DECLS

#endif /* __GST_QSUPERRES_H__ */
