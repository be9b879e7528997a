/* media.h - calibration frames from images and video files through
 * GStreamer (media.c); built when gstreamer-app-1.0 is available. */
#ifndef Q8_CV_MEDIA_H
#define Q8_CV_MEDIA_H

#include <stddef.h>

typedef struct cv_media cv_media;

/* Opens path for frames of c channels (1: luma GRAY8, 3: RGB) scaled to
 * w x h; c = 0 opens it only to probe the size.  NULL with err filled on
 * failure. */
cv_media *cv_media_open (const char *path, int c, int w, int h, char *err,
                         size_t err_size);
/* 1 with the next frame in out (NCHW, pixel / 255), 0 at the end, -1 on a
 * decoding error. */
int cv_media_next (cv_media *m, float *out, char *err, size_t err_size);
void cv_media_close (cv_media *m);
/* The native size of path's first frame. */
int cv_media_probe (const char *path, int *w, int *h, char *err,
                    size_t err_size);

#endif /* Q8_CV_MEDIA_H */
