/* tools/image.h - PNG and JPEG input for infer-run's image mode (libpng, libjpeg).
   Optional at build time: the Makefile defines INFER_HAVE_PNG / INFER_HAVE_JPEG when it
   finds the libraries; without them image_load fails with a message saying so. */
#ifndef INFER_TOOLS_IMAGE_H
#define INFER_TOOLS_IMAGE_H

#include <stddef.h>

#define IMAGE_MAX_SIDE 32768          /* a decoded image's width or height */
#define IMAGE_MAX_PIXELS (1 << 26)    /* width x height */

/* "png jpeg", "png", "jpeg" or "" (none built in). */
const char *image_formats(void);
/* 1 if path names an image by its extension (.png .jpg .jpeg, any case). */
int image_is_image_path(const char *path);
/* Decodes the PNG or JPEG file at path (told apart by its first bytes), converts it to
   `channels` (1: grey, 3: RGB; alpha is dropped) and resizes it bilinearly (half-pixel
   centres) to h x w. dst: [h][w][channels] floats, pixel values 0..255.
   Returns 1, or 0 with a message naming the file in err. */
int image_load(const char *path, int h, int w, int channels, float *dst, char *err, size_t err_bytes);

#endif
