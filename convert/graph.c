/* graph.c - the converter IR's containers: tensors, nodes, consumer
 * counts, messages and warnings.  See cv.h for what the IR holds. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cv.h"

char *
cv_strdup (const char *s)
{
  size_t n = strlen (s ? s : "") + 1;
  char *d = malloc (n);
  if (d)
    memcpy (d, s ? s : "", n);
  return d;
}

cv_graph *
cv_graph_new (void)
{
  return calloc (1, sizeof (cv_graph));
}

void
cv_graph_free (cv_graph *g)
{
  if (!g)
    return;
  for (int i = 0; i < g->n_t; i++) {
    free (g->t[i].name);
    free (g->t[i].data);
    free (g->t[i].w_scales);
  }
  for (int i = 0; i < g->n_n; i++) {
    free (g->n[i].name);
    free (g->n[i].onnx_type);
    free (g->n[i].ew_mul);
    free (g->n[i].ew_add);
  }
  free (g->t);
  free (g->n);
  free (g->warnings);
  free (g);
}

/* Grows the array *p of *cap elements of elem bytes to hold need: false
 * when out of memory, or when the graph is pinned (the array may not move
 * then; see cv.h). */
static bool
grow (cv_graph *g, void **p, int *cap, int need, size_t elem)
{
  if (need <= *cap)
    return true;
  if (g->pinned) {
    g->pin_overflow = true;
    return false;
  }
  int n = need > 32 ? 2 * need : 64;
  void *q = realloc (*p, (size_t) n * elem);
  if (!q)
    return false;
  *p = q;
  *cap = n;
  return true;
}

/* Makes room for n_t more tensors and n_n more nodes, so that pointers
 * into g->t and g->n stay valid across that many adds. */
q8_status
cv_graph_reserve (cv_graph *g, int n_t, int n_n)
{
  if (g->n_t > INT_MAX / 4 - n_t || g->n_n > INT_MAX / 4 - n_n)
    return Q8_ETOOBIG;
  if (!grow (g, (void **) &g->t, &g->cap_t, g->n_t + n_t, sizeof *g->t)
      || !grow (g, (void **) &g->n, &g->cap_n, g->n_n + n_n, sizeof *g->n))
    return g->pin_overflow ? Q8_ETOOBIG : Q8_ENOMEM;
  return Q8_OK;
}

/* Returns the new tensor's index, or -1 when out of memory (or when the
 * table is pinned and full). */
int
cv_tensor_add (cv_graph *g, const char *name)
{
  if (g->n_t >= INT_MAX / 4
      || !grow (g, (void **) &g->t, &g->cap_t, g->n_t + 1, sizeof *g->t))
    return -1;
  cv_tensor *t = &g->t[g->n_t];
  memset (t, 0, sizeof *t);
  t->name = cv_strdup (name);
  if (!t->name)
    return -1;
  t->producer = -1;
  return g->n_t++;
}

int
cv_node_add (cv_graph *g, cv_op op, const char *name, const char *onnx_type)
{
  if (g->n_n >= INT_MAX / 4
      || !grow (g, (void **) &g->n, &g->cap_n, g->n_n + 1, sizeof *g->n))
    return -1;
  cv_node *n = &g->n[g->n_n];
  memset (n, 0, sizeof *n);
  n->op = op;
  n->name = cv_strdup (name);
  n->onnx_type = cv_strdup (onnx_type);
  if (!n->name || !n->onnx_type)
    return -1;
  n->stride_h = n->stride_w = n->dil_h = n->dil_w = n->groups = 1;
  n->act_lo = -HUGE_VAL;
  n->act_hi = HUGE_VAL;
  return g->n_n++;
}

int64_t
cv_numel (const cv_tensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= t->dims[i];
  return n;
}

/* Recomputes producers and consumer counts of live nodes. */
void
cv_graph_link (cv_graph *g)
{
  for (int i = 0; i < g->n_t; i++) {
    g->t[i].n_consumers = 0;
    g->t[i].producer = -1;
  }
  for (int i = 0; i < g->n_n; i++) {
    cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0)
        g->t[n->in[j]].n_consumers++;
    g->t[n->out[0]].producer = i;
  }
  for (int i = 0; i < g->n_outputs; i++)
    g->t[g->outputs[i]].n_consumers++;
}

/* The live node reading tensor (the first one), its input slot in *slot;
 * -1 if none. */
int
cv_graph_find_consumer (const cv_graph *g, int tensor, int *slot)
{
  for (int i = 0; i < g->n_n; i++) {
    const cv_node *n = &g->n[i];
    if (n->dead)
      continue;
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] == tensor) {
        if (slot)
          *slot = j;
        return i;
      }
  }
  return -1;
}

q8_status
cv_err (char *err, size_t err_size, q8_status st, const char *fmt, ...)
{
  if (err && err_size) {
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (err, err_size, fmt, ap);
    va_end (ap);
  }
  return st;
}

void
cv_warn (cv_graph *g, const char *fmt, ...)
{
  char line[512];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  size_t old = g->warnings ? strlen (g->warnings) : 0;
  char *w = realloc (g->warnings, old + strlen (line) + 2);
  if (!w)
    return;
  memcpy (w + old, line, strlen (line));
  w[old + strlen (line)] = '\n';
  w[old + strlen (line) + 1] = '\0';
  g->warnings = w;
}

const char *
cv_shape_str (const cv_tensor *t, char *buf, size_t size)
{
  size_t off = 0;
  off += (size_t) snprintf (buf, size, "[");
  for (int i = 0; i < t->rank && off < size; i++)
    off += (size_t) snprintf (buf + off, size - off, "%s%lld", i ? ", " : "",
                              (long long) t->dims[i]);
  if (off < size)
    snprintf (buf + off, size - off, "]");
  return buf;
}
