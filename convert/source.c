/* source.c - input frames from .npy files, images and videos (source.h).
 * Moved out of convert_cli.c so that q8 teach and q8 score read frames
 * exactly as q8 convert calibrates on them. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cv.h"
#include "npy.h"
#include "source.h"

static int
fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fprintf (stderr, "q8: ");
  vfprintf (stderr, fmt, ap);
  fprintf (stderr, "\n");
  va_end (ap);
  return 1;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static bool
has_ext (const char *name, const char *ext)
{
  size_t n = strlen (name), e = strlen (ext);
  return n > e && strcasecmp (name + n - e, ext) == 0;
}

static bool
is_npy (const char *path)
{
  return has_ext (path, ".npy");
}

void
cv_source_close (cv_source *s)
{
#ifdef Q8_CONVERT_HAVE_GST
  cv_media_close (s->media);
  s->media = NULL;
#endif
  for (int i = 0; i < s->n; i++)
    free (s->paths[i]);
  free (s->paths);
  memset (s, 0, sizeof *s);
}

int
cv_source_open (cv_source *s, const char *path, long max)
{
  memset (s, 0, sizeof *s);
  s->max = max;
  struct stat sb;
  if (stat (path, &sb) != 0)
    return fail ("%s: %s", path, strerror (errno));
  if (!S_ISDIR (sb.st_mode)) {
    s->paths = malloc (sizeof (char *));
    s->paths[0] = cv_strdup (path);
    s->n = 1;
    return 0;
  }
  DIR *d = opendir (path);
  if (!d)
    return fail ("%s: %s", path, strerror (errno));
  struct dirent *e;
  int cap = 0;
  while ((e = readdir (d))) {
    if (!is_npy (e->d_name) && !has_ext (e->d_name, ".png")
        && !has_ext (e->d_name, ".jpg") && !has_ext (e->d_name, ".jpeg"))
      continue;
    if (s->n == cap) {
      cap = cap ? 2 * cap : 64;
      s->paths = realloc (s->paths, (size_t) cap * sizeof (char *));
    }
    char *p = malloc (strlen (path) + strlen (e->d_name) + 2);
    sprintf (p, "%s/%s", path, e->d_name);
    s->paths[s->n++] = p;
  }
  closedir (d);
  if (s->n == 0)
    return fail ("%s: no .npy, .png or .jpg files in the directory",
                 path);
  qsort (s->paths, (size_t) s->n, sizeof (char *), cmp_str);
  return 0;
}

/* The first frame's size (for models with dynamic H and W). */
int
cv_source_first_size (cv_source *s, int *w, int *h)
{
  char err[512];
  const char *p = s->paths[0];
  if (is_npy (p)) {
    npy_array a;
    if (npy_read_file (p, &a, err, sizeof err) < 0)
      return fail ("%s", err);
    int ok = a.ndim >= 2;
    if (ok) {
      /* float [.., H, W] or uint8 [H, W, (C)] */
      *h = (int) (a.dtype == NPY_F32 ? a.shape[a.ndim - 2] : a.shape[0]);
      *w = (int) (a.dtype == NPY_F32 ? a.shape[a.ndim - 1] : a.shape[1]);
    }
    npy_free (&a);
    return ok ? 0 : fail ("%s: not an image-shaped array", p);
  }
#ifdef Q8_CONVERT_HAVE_GST
  if (cv_media_probe (p, w, h, err, sizeof err) < 0)
    return fail ("%s", err);
  return 0;
#else
  return fail ("%s: this q8 was built without GStreamer; give .npy files",
               p);
#endif
}

/* Reads one .npy sample as NCHW float with s->c channels. */
static float *
read_npy (const cv_source *s, const char *path)
{
  npy_array a;
  char err[256];
  int c = s->c, h = 0, w = 0;
  if (npy_read_file (path, &a, err, sizeof err) < 0) {
    fail ("%s", err);
    return NULL;
  }
  size_t dims[4] = { 1, 1, 1, 1 };
  float *out = NULL;
  if (a.dtype == NPY_F32) {
    /* [H,W], [C,H,W] or [1,C,H,W] */
    for (int i = 0; i < a.ndim; i++)
      dims[4 - a.ndim + i] = a.shape[i];
    if (a.ndim < 2 || dims[0] != 1 || (int) dims[1] != c) {
      fail ("%s: a float32 array of %d dimensions with %zu channels; the "
            "model takes [1, %d, H, W]", path, a.ndim, dims[1], c);
      goto out;
    }
    h = (int) dims[2];
    w = (int) dims[3];
    out = a.data;
    a.data = NULL;
  } else {
    /* uint8 [H, W] or [H, W, C] images: pixel / 255, to NCHW */
    int fc = a.ndim == 3 ? (int) a.shape[2] : 1;
    if ((a.ndim != 2 && a.ndim != 3) || fc != c) {
      fail ("%s: uint8 images must be [H, W] or [H, W, %d]", path, c);
      goto out;
    }
    h = (int) a.shape[0];
    w = (int) a.shape[1];
    out = malloc (a.count * sizeof (float));
    const uint8_t *p = a.data;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int k = 0; k < c; k++)
          out[((size_t) k * h + y) * w + x] =
            p[((size_t) y * w + x) * c + k] / 255.0f;
  }
  if (h != s->h || w != s->w) {
    fail ("%s: %dx%d; the model is imported at %dx%d (every .npy sample "
          "must have that size)", path, w, h, s->w, s->h);
    free (out);
    out = NULL;
  }
out:
  npy_free (&a);
  return out;
}

void
cv_source_rewind (cv_source *s)
{
#ifdef Q8_CONVERT_HAVE_GST
  cv_media_close (s->media);
  s->media = NULL;
#endif
  s->idx = 0;
  s->frames = 0;
}

/* The next frame into *out (malloc'ed, c x h x w): 1, 0 at the end, -1 on
 * an error (printed). */
int
cv_source_next (cv_source *s, float **out)
{
  *out = NULL;
  if (s->frames >= s->max)
    return 0;
  for (;;) {
#ifdef Q8_CONVERT_HAVE_GST
    if (s->media) {
      char err[512];
      float *f = malloc ((size_t) s->c * s->h * s->w * sizeof (float));
      int r = f ? cv_media_next (s->media, f, err, sizeof err) : -1;
      if (r == 1) {
        *out = f;
        s->frames++;
        return 1;
      }
      free (f);
      cv_media_close (s->media);
      s->media = NULL;
      if (r < 0)
        return fail ("%s: %s", s->paths[s->idx - 1], err);
      continue;
    }
#endif
    if (s->idx >= s->n)
      return 0;
    const char *p = s->paths[s->idx++];
    if (is_npy (p)) {
      *out = read_npy (s, p);
      if (!*out)
        return -1;
      s->frames++;
      return 1;
    }
#ifdef Q8_CONVERT_HAVE_GST
    char err[512];
    s->media = cv_media_open (p, s->c, s->w, s->h, err, sizeof err);
    if (!s->media)
      return fail ("%s", err);
#else
    return fail ("%s: this q8 was built without GStreamer; give .npy files",
                 p);
#endif
  }
}


const char *
cv_source_path (const cv_source *s)
{
  return s->idx > 0 ? s->paths[s->idx - 1] : "";
}
