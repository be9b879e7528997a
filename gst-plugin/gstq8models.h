/* gstq8models.h - the models compiled into the q8 plugin, so that no
 * element ever needs a model path.
 *
 * The table is generated at build time by embed_models.py from the list
 * `builtin_models` in gst-plugin/meson.build; replacing a model (e.g. the
 * tiny test ESPCN by the trained ones) changes only that list.
 */
#ifndef GST_Q8_MODELS_H
#define GST_Q8_MODELS_H

#include <gst/gst.h>

#include "q8.h"

G_BEGIN_DECLS

typedef struct {
  const gchar *name;    /* file name without ".q8", e.g. "espcn_x2" */
  const gchar *task;    /* the model's "task" metadata */
  guint scale;          /* upscale factor for super-resolution, else 0 */
  const guint8 *data;   /* the .q8 file */
  gsize size;
} GstQ8BuiltinModel;

/* Terminated by an entry whose name is NULL. */
extern const GstQ8BuiltinModel gst_q8_builtin_models[];

/* The built-in model for task (and scale, for super-resolution), or NULL. */
const GstQ8BuiltinModel *gst_q8_builtin_model_find (const gchar *task,
                                                    guint scale);

/* A newly allocated, human-readable list of the built-in factors of task,
 * e.g. "x2, x3", or "none". */
gchar *gst_q8_builtin_model_list (const gchar *task);

/* An element error or, unless fatal, a warning (a model change while
 * playing, where the running model stays). */
#define GST_Q8_LOAD_ERROR(el, fatal, domain, code, text, debug)     \
  G_STMT_START {                                                    \
    if (fatal)                                                      \
      GST_ELEMENT_ERROR (el, domain, code, text, debug);            \
    else                                                            \
      GST_ELEMENT_WARNING (el, domain, code, text, debug);          \
  } G_STMT_END

/* Loads the file path or, if path is NULL, the built-in model of task (and
 * scale, for super-resolution).  On failure posts an error (or, unless
 * fatal, a warning) on element that names the file and the problem, and
 * returns NULL.  *desc receives the path or "built-in NAME" for later
 * messages. */
q8_model *gst_q8_model_load (GstElement *element, const gchar *path,
    const gchar *task, guint scale, gboolean fatal, gchar **desc);

G_END_DECLS

#endif /* GST_Q8_MODELS_H */
