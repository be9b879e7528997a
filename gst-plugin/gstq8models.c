/* gstq8models.c - lookups in the table of built-in models (the table
 * itself is generated, see gstq8models.h) and model loading with the
 * element errors both elements give. */
#include "gstq8models.h"

#include <string.h>

const q8_builtin_model *
gst_q8_builtin_model_find (const gchar *task, guint scale)
{
  for (const q8_builtin_model *m = q8_builtin_models; m->name; m++) {
    if (strcmp (m->task, task) == 0 && (scale == 0 || m->scale == scale))
      return m;
  }
  return NULL;
}

gchar *
gst_q8_builtin_model_list (const gchar *task)
{
  GString *s = g_string_new (NULL);

  for (const q8_builtin_model *m = q8_builtin_models; m->name; m++) {
    if (strcmp (m->task, task) != 0)
      continue;
    if (s->len > 0)
      g_string_append (s, ", ");
    if (m->scale > 0 && gst_q8_builtin_model_find (task, m->scale) != m)
      g_string_append_printf (s, "%s%s (x%u)", GST_Q8_BUILTIN_PREFIX,
          m->name, m->scale);       /* not its scale's default */
    else if (m->scale > 0)
      g_string_append_printf (s, "x%u (%s)", m->scale, m->name);
    else
      g_string_append (s, m->name);
  }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

q8_status
gst_q8_model_open (const gchar *path, q8_model **model, char *err,
    size_t err_size)
{
  if (g_str_has_prefix (path, GST_Q8_BUILTIN_PREFIX)) {
    const gchar *name = path + strlen (GST_Q8_BUILTIN_PREFIX);
    const q8_builtin_model *b = q8_builtin_model_by_name (name);

    if (b == NULL) {
      g_snprintf (err, err_size, "no built-in model is named \"%s\"", name);
      return Q8_ENOTFOUND;
    }
    return q8_model_load_buffer (b->data, b->size, model, err, err_size);
  }
  return q8_model_load_file (path, model, err, err_size);
}

q8_model *
gst_q8_model_load (GstElement *element, const gchar *path, const gchar *task,
    guint scale, gboolean fatal, gchar **desc)
{
  q8_model *model = NULL;
  char q8err[256] = "";
  q8_status st;

  if (path != NULL) {
    st = gst_q8_model_open (path, &model, q8err, sizeof q8err);
    if (st == Q8_ENOTFOUND) {
      gchar *list = gst_q8_builtin_model_list (task);
      GST_Q8_LOAD_ERROR (element, fatal, RESOURCE, NOT_FOUND,
          ("Model \"%s\": there is no built-in model of that name (built "
              "in for this element: %s).", path, list), (NULL));
      g_free (list);
    } else if (st == Q8_EIO && !g_file_test (path, G_FILE_TEST_EXISTS)) {
      GST_Q8_LOAD_ERROR (element, fatal, RESOURCE, NOT_FOUND,
          ("Model file \"%s\" does not exist.", path),
          ("q8_model_load_file: %s", q8err));
    } else if (st == Q8_EIO) {
      GST_Q8_LOAD_ERROR (element, fatal, RESOURCE, OPEN_READ,
          ("Could not read model file \"%s\".", path),
          ("q8_model_load_file: %s", q8err));
    } else if (st != Q8_OK) {
      GST_Q8_LOAD_ERROR (element, fatal, STREAM, WRONG_TYPE,
          ("Model file \"%s\" is not a valid q8 model: %s.", path,
              q8_status_str (st)), ("q8_model_load_file: %s", q8err));
    }
    if (st != Q8_OK)
      return NULL;
    *desc = g_strdup (path);
    return model;
  }

  {
    const q8_builtin_model *builtin = gst_q8_builtin_model_find (task, scale);

    if (builtin == NULL) {
      gchar *list = gst_q8_builtin_model_list (task);
      if (scale > 0)
        GST_Q8_LOAD_ERROR (element, fatal, RESOURCE, NOT_FOUND,
            ("No built-in model for scale %u yet (built in: %s). Set the "
                "\"model\" property to a .q8 file.", scale, list), (NULL));
      else
        GST_Q8_LOAD_ERROR (element, fatal, RESOURCE, NOT_FOUND,
            ("No built-in %s model yet. Set the \"model\" property to a "
                ".q8 file.", task), (NULL));
      g_free (list);
      return NULL;
    }
    st = q8_model_load_buffer (builtin->data, builtin->size, &model, q8err,
        sizeof q8err);
    if (st != Q8_OK) {
      GST_Q8_LOAD_ERROR (element, fatal, LIBRARY, INIT,
          ("The built-in model \"%s\" does not load: %s.", builtin->name,
              q8_status_str (st)), ("q8_model_load_buffer: %s", q8err));
      return NULL;
    }
    *desc = g_strdup_printf ("built-in %s", builtin->name);
  }
  return model;
}
