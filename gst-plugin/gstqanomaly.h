/* gstqanomaly.h - qanomaly: anomaly detection on video with a q8 network. */
#ifndef __GST_QANOMALY_H__
#define __GST_QANOMALY_H__

#include <gst/gst.h>
#include <gst/video/video.h>
#include <gst/video/gstvideofilter.h>

#include "q8.h"

G_BEGIN_DECLS

#define GST_TYPE_QANOMALY (gst_qanomaly_get_type ())
G_DECLARE_FINAL_TYPE (GstQAnomaly, gst_qanomaly, GST, QANOMALY,
    GstVideoFilter)

/**
 * GstQAnomalyMessageOn:
 * @GST_QANOMALY_MESSAGE_ON_ALL: a message for every analysed frame
 * @GST_QANOMALY_MESSAGE_ON_ANOMALOUS: only for anomalous frames
 * @GST_QANOMALY_MESSAGE_ON_NONE: no messages
 */
typedef enum
{
  GST_QANOMALY_MESSAGE_ON_ALL = 0,
  GST_QANOMALY_MESSAGE_ON_ANOMALOUS = 1,
  GST_QANOMALY_MESSAGE_ON_NONE = 2,
} GstQAnomalyMessageOn;

#define GST_TYPE_QANOMALY_MESSAGE_ON (gst_qanomaly_message_on_get_type ())
GType gst_qanomaly_message_on_get_type (void);

/**
 * GstQAnomalyTeachMethod:
 * @GST_QANOMALY_TEACH_METHOD_MODEL: the model's `anomaly.method`
 * @GST_QANOMALY_TEACH_METHOD_KNN: a memory bank of the teaching frames'
 *     features (more accurate; about 5 ms per 256x256 frame on one x86
 *     core with 100 frames)
 * @GST_QANOMALY_TEACH_METHOD_GAUSSIAN: per-cell mean and variance (far
 *     cheaper to score; for the smallest CPUs)
 */
typedef enum
{
  GST_QANOMALY_TEACH_METHOD_MODEL = 0,
  GST_QANOMALY_TEACH_METHOD_KNN = 1,
  GST_QANOMALY_TEACH_METHOD_GAUSSIAN = 2,
} GstQAnomalyTeachMethod;

#define GST_TYPE_QANOMALY_TEACH_METHOD (gst_qanomaly_teach_method_get_type ())
GType gst_qanomaly_teach_method_get_type (void);

struct _GstQAnomaly
{
  GstVideoFilter videofilter;

  /* Properties, under the object lock. */
  gchar *model_path;
  guint threads;
  gdouble threshold;            /* < 0: the model's calibrated default */
  guint interval;
  gboolean overlay;
  gchar *roi;                   /* "x,y,width,height" or NULL */
  GstQAnomalyMessageOn message_on;
  guint teach_frames;
  GstQAnomalyTeachMethod teach_method;
  gchar *scene_path;            /* taught model to load, or to save to */
  gboolean teach_requested;     /* the "teach" action, until served */
  gboolean teaching;            /* a teacher is collecting frames */

  /* The model (start () to stop ()). */
  q8_model *model;
  gchar *model_desc;
  gint model_width, model_height;       /* fixed input size, or 0 */
  gdouble model_threshold;
  gdouble score_scale, score_offset;
  gboolean gaussian;            /* feature model (knn or gaussian) */

  /* Streaming state, (re)built by set_info (). */
  q8_plan *plan;
  gint plan_threads;
  q8_scorer *scorer;            /* feature model with what it learnt */
  q8_teacher *teacher;          /* feature model being taught */
  gint teach_target;            /* frames it takes */
  GstVideoRectangle area;       /* the analysed region, in frame pixels */
  gint in_w, in_h;              /* the network's input size */
  gint map_w, map_h;            /* its output (the anomaly map) */
  guint8 *luma;                 /* area-sized luma, for RGB and packed */
  guint8 *input;                /* in_w x in_h */
  gfloat *map;                  /* map_w x map_h */
  guint64 frames;

  /* The frame being analysed. */
  gdouble cur_threshold;
  gdouble score;
  gboolean anomalous;
  gboolean analysed;            /* FALSE for a teaching frame */
  GstVideoRectangle box;
};

GST_ELEMENT_REGISTER_DECLARE (qanomaly);

G_END_DECLS

#endif /* __GST_QANOMALY_H__ */
