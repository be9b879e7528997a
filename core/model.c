/* model.c - the loaded model's getters, metadata, op class table and
 * q8_model_free.  Loading itself is in loader.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "q8_internal.h"

static const q8__op_class *const op_classes[Q8_OP_TYPE_COUNT] = {
  [Q8_OP_CONV2D] = &q8__op_conv2d,
  [Q8_OP_UNARY] = &q8__op_unary,
  [Q8_OP_ADD] = &q8__op_add,
  [Q8_OP_CONCAT] = &q8__op_concat,
  [Q8_OP_DEPTH_TO_SPACE] = &q8__op_depth_to_space,
  [Q8_OP_MAXPOOL] = &q8__op_maxpool,
  [Q8_OP_AVGPOOL] = &q8__op_avgpool,
  [Q8_OP_RESIZE] = &q8__op_resize,
  [Q8_OP_QUANTIZE] = &q8__op_quantize,
  [Q8_OP_DEQUANTIZE] = &q8__op_dequantize,
};

const q8__op_class *
q8__op_class_for (q8_op_type type)
{
  return (unsigned) type < Q8_OP_TYPE_COUNT ? op_classes[type] : NULL;
}

const char *
q8_op_type_name (q8_op_type type)
{
  const q8__op_class *c = q8__op_class_for (type);
  return c != NULL ? c->name : NULL;
}

void
q8_model_free (q8_model *m)
{
  if (m == NULL)
    return;
  if (m->ops != NULL)
    for (uint32_t i = 0; i < m->n_ops; i++)
      if (m->ops[i].cls != NULL && m->ops[i].cls->free_state != NULL)
        m->ops[i].cls->free_state (&m->ops[i]);
  free (m->ops);
  free (m->tensors);
  free (m->inputs);
  free (m->outputs);
  free (m->meta);
  free (m->strings);
  q8__free (m->data);
  free (m);
}

static const q8__meta *
find_meta (const q8_model *m, const char *key)
{
  if (m == NULL || key == NULL)
    return NULL;
  for (uint32_t i = 0; i < m->n_meta; i++)
    if (strcmp (m->meta[i].key, key) == 0)
      return &m->meta[i];
  return NULL;
}

q8_status
q8_model_meta_int (const q8_model *m, const char *key, int64_t *value)
{
  const q8__meta *e = find_meta (m, key);
  if (e == NULL)
    return Q8_ENOTFOUND;
  if (e->type != Q8_META_INT)
    return Q8_EINVAL;
  *value = e->i;
  return Q8_OK;
}

q8_status
q8_model_meta_float (const q8_model *m, const char *key, double *value)
{
  const q8__meta *e = find_meta (m, key);
  if (e == NULL)
    return Q8_ENOTFOUND;
  if (e->type != Q8_META_FLOAT)
    return Q8_EINVAL;
  *value = e->f;
  return Q8_OK;
}

q8_status
q8_model_meta_string (const q8_model *m, const char *key, const char **value)
{
  const q8__meta *e = find_meta (m, key);
  if (e == NULL)
    return Q8_ENOTFOUND;
  if (e->type != Q8_META_STRING)
    return Q8_EINVAL;
  *value = e->s;
  return Q8_OK;
}

size_t
q8_model_meta_count (const q8_model *m)
{
  return m != NULL ? m->n_meta : 0;
}

q8_status
q8_model_meta_get (const q8_model *m, size_t index, q8_meta_entry *entry)
{
  if (m == NULL || entry == NULL)
    return Q8_EINVAL;
  if (index >= m->n_meta)
    return Q8_ENOTFOUND;
  const q8__meta *e = &m->meta[index];
  entry->key = e->key;
  entry->type = e->type;
  entry->i = e->i;
  entry->f = e->f;
  entry->s = e->s;
  return Q8_OK;
}

static q8_status
tensor_info (const q8_model *m, uint32_t t, q8_tensor_info *info)
{
  const q8__tensor *mt = &m->tensors[t];
  info->name = mt->name;
  info->dtype = mt->dtype;
  info->h = 0;
  info->w = 0;
  info->c = mt->dims[3];
  info->scale = mt->scale;
  info->zero_point = mt->zero_point;
  return Q8_OK;
}

size_t
q8_model_num_inputs (const q8_model *m)
{
  return m != NULL ? m->n_inputs : 0;
}

size_t
q8_model_num_outputs (const q8_model *m)
{
  return m != NULL ? m->n_outputs : 0;
}

q8_status
q8_model_input_info (const q8_model *m, size_t index, q8_tensor_info *info)
{
  if (m == NULL || info == NULL || index >= m->n_inputs)
    return Q8_EINVAL;
  return tensor_info (m, m->inputs[index], info);
}

q8_status
q8_model_output_info (const q8_model *m, size_t index, q8_tensor_info *info)
{
  if (m == NULL || info == NULL || index >= m->n_outputs)
    return Q8_EINVAL;
  return tensor_info (m, m->outputs[index], info);
}

size_t
q8_model_num_ops (const q8_model *m)
{
  return m != NULL ? m->n_ops : 0;
}

const char *
q8_model_op_type (const q8_model *m, size_t index)
{
  if (m == NULL || index >= m->n_ops)
    return NULL;
  return m->ops[index].cls->name;
}

q8_status
q8_model_op_describe (const q8_model *m, size_t index, char *buf,
                      size_t size)
{
  if (m == NULL || buf == NULL || size == 0 || index >= m->n_ops)
    return Q8_EINVAL;
  const q8__op *op = &m->ops[index];
  if (op->cls->describe != NULL) {
    op->cls->describe (m, op, buf, size);
    return Q8_OK;
  }
  /* Generic: the op's name and its tensors. */
  size_t n = (size_t) snprintf (buf, size, "%s", op->cls->name);
  for (int j = 0; j < op->n_inputs && n < size; j++)
    n += (size_t) snprintf (buf + n, size - n, "%s'%s'", j ? ", " : " ",
                            op->inputs[j] == Q8_NO_TENSOR
                                ? "-"
                                : m->tensors[op->inputs[j]].name);
  if (n < size)
    snprintf (buf + n, size - n, " -> '%s'",
              m->tensors[op->outputs[0]].name);
  return Q8_OK;
}
