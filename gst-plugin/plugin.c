/* plugin.c - registers the q8 elements; nothing else lives here. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

#include "gstqanomaly.h"
#include "gstqsuperres.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ret = FALSE;

  ret |= GST_ELEMENT_REGISTER (qsuperres, plugin);
  ret |= GST_ELEMENT_REGISTER (qanomaly, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, q8,
    "int8 neural networks for live video: super-resolution and anomaly "
    "detection", plugin_init, PACKAGE_VERSION, "LGPL", PACKAGE,
    "https://github.com/q8-project/q8")
