/* q8_builtin_models.h - the models compiled into the q8 plugin and the q8
 * tool, so that neither ever needs a model path.
 *
 * The table is generated at build time by models/embed_models.py from the
 * list `builtin_models` in models/meson.build, the only place that names
 * them.
 */
#ifndef Q8_BUILTIN_MODELS_H
#define Q8_BUILTIN_MODELS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  const char *name;     /* file name without ".q8", e.g. "espcn_x2" */
  const char *task;     /* the model's "task" metadata */
  unsigned scale;       /* upscale factor for super-resolution, else 0 */
  const uint8_t *data;  /* the .q8 file */
  size_t size;
} q8_builtin_model;

/* Terminated by an entry whose name is NULL. */
extern const q8_builtin_model q8_builtin_models[];

/* The built-in model named name, or NULL. */
const q8_builtin_model *q8_builtin_model_by_name (const char *name);

#endif /* Q8_BUILTIN_MODELS_H */
