/* gstq8models.h - loading the models compiled into the plugin
 * (models/q8_builtin_models.h) or a model file, with element errors that
 * name the problem.
 */
#ifndef GST_Q8_MODELS_H
#define GST_Q8_MODELS_H

#include <gst/gst.h>

#include "q8.h"
#include "q8_builtin_models.h"

G_BEGIN_DECLS

/* The built-in model for task (and scale, for super-resolution), or NULL. */
const q8_builtin_model *gst_q8_builtin_model_find (const gchar *task,
                                                    guint scale);

/* A newly allocated, human-readable list of the built-in models of task,
 * e.g. "x2 (espcn_x2), x3 (espcn_x3), builtin:espcn_x3_deep (x3)" (a
 * factor's default, then those reached by name), or "none". */
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

/* What the "model" property takes before the name of a built-in model
 * (q8_builtin_models.h) in place of a file path, as the q8 tool does. */
#define GST_Q8_BUILTIN_PREFIX "builtin:"

/* Loads the .q8 file path, or the built-in model "builtin:NAME"
 * (Q8_ENOTFOUND if there is none of that name). */
q8_status gst_q8_model_open (const gchar *path, q8_model **model, char *err,
    size_t err_size);

/* Loads path (a file or "builtin:NAME") or, if path is NULL, the built-in
 * model of task (and scale, for super-resolution).  On failure posts an
 * error (or, unless fatal, a warning) on element that names the file and
 * the problem, and returns NULL.  *desc receives the path or "built-in
 * NAME" for later messages. */
q8_model *gst_q8_model_load (GstElement *element, const gchar *path,
    const gchar *task, guint scale, gboolean fatal, gchar **desc);

G_END_DECLS

#endif /* GST_Q8_MODELS_H */
