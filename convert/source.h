/* source.h - a stream of input frames for the workstation commands
 * (calibration for q8 convert and q8 compare, normal frames for q8 teach,
 * test frames for q8 score): .npy files (one frame each), images and
 * videos (decoded by GStreamer, media.c), from a directory or one file. */
#ifndef Q8_CV_SOURCE_H
#define Q8_CV_SOURCE_H

#include <stdbool.h>

#ifdef Q8_CONVERT_HAVE_GST
#include "media.h"
#endif

/* At most max frames from the files of a directory (in name order) or one
 * file; iterated once per pass (cv_source_rewind ()). */
typedef struct {
  char **paths;
  int n;
  long max;
  int c, w, h;        /* the frames' shape: set by the caller before
                         cv_source_next () */
  int idx;            /* next path */
  long frames;        /* frames given in this pass */
#ifdef Q8_CONVERT_HAVE_GST
  cv_media *media;    /* the open image or video */
#endif
} cv_source;

/* 0, or 1 after printing why (a missing path, an empty directory). */
int cv_source_open (cv_source *s, const char *path, long max);
void cv_source_close (cv_source *s);
/* The first frame's native size (for models with dynamic H and W). */
int cv_source_first_size (cv_source *s, int *w, int *h);
void cv_source_rewind (cv_source *s);
/* The next frame into *out (malloc'ed NCHW float, c x h x w, pixel / 255):
 * 1, 0 at the end, -1 on an error (printed). */
int cv_source_next (cv_source *s, float **out);
/* The file the last frame came from. */
const char *cv_source_path (const cv_source *s);

#endif /* Q8_CV_SOURCE_H */
