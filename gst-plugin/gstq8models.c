/* gstq8models.c - lookups in the table of built-in models (the table
 * itself is generated, see gstq8models.h). */
#include "gstq8models.h"

#include <string.h>

const GstQ8BuiltinModel *
gst_q8_builtin_model_find (const gchar *task, guint scale)
{
  for (const GstQ8BuiltinModel *m = gst_q8_builtin_models; m->name; m++) {
    if (strcmp (m->task, task) == 0 && (scale == 0 || m->scale == scale))
      return m;
  }
  return NULL;
}

gchar *
gst_q8_builtin_model_list (const gchar *task)
{
  GString *s = g_string_new (NULL);

  for (const GstQ8BuiltinModel *m = gst_q8_builtin_models; m->name; m++) {
    if (strcmp (m->task, task) != 0)
      continue;
    if (s->len > 0)
      g_string_append (s, ", ");
    if (m->scale > 0)
      g_string_append_printf (s, "x%u (%s)", m->scale, m->name);
    else
      g_string_append (s, m->name);
  }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}
