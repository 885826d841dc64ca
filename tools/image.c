/* tools/image.c - PNG and JPEG decoding and resizing for infer-run (see image.h). */
#include "image.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef INFER_HAVE_PNG
#include <png.h>
#endif
#ifdef INFER_HAVE_JPEG
#include <jpeglib.h>
#include <setjmp.h>
#endif

static int image__fail(char *err, size_t err_bytes, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_bytes, fmt, ap);
    va_end(ap);
    return 0;
}

const char *image_formats(void) {
#if defined(INFER_HAVE_PNG) && defined(INFER_HAVE_JPEG)
    return "png jpeg";
#elif defined(INFER_HAVE_PNG)
    return "png";
#elif defined(INFER_HAVE_JPEG)
    return "jpeg";
#else
    return "";
#endif
}

static int image__ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix), i;
    if (n < k) return 0;
    for (i = 0; i < k; i++) {
        char c = s[n - k + i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != suffix[i]) return 0;
    }
    return 1;
}

int image_is_image_path(const char *path) {
    return image__ends_with(path, ".png") || image__ends_with(path, ".jpg") || image__ends_with(path, ".jpeg");
}

/* -- decoders: 8-bit pixels [h][w][channels], malloc'd -- */

#if defined(INFER_HAVE_PNG) || defined(INFER_HAVE_JPEG)
static int image__check_size(const char *path, size_t w, size_t h, char *err, size_t err_bytes) {
    if (w == 0 || h == 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || w * h > IMAGE_MAX_PIXELS)
        return image__fail(err, err_bytes, "%s: image size %zux%zu is empty or over the limit (%d per side, %d pixels)",
                           path, w, h, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
    return 1;
}
#endif

#ifdef INFER_HAVE_PNG
static unsigned char *image__png(const char *path, int channels, int *w, int *h, char *err, size_t err_bytes) {
    png_image img;
    unsigned char *px = NULL;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, path)) {
        image__fail(err, err_bytes, "%s: PNG: %s", path, img.message);
        return NULL;
    }
    img.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
    if (!image__check_size(path, img.width, img.height, err, err_bytes)) goto fail;
    if (!(px = (unsigned char *)malloc(PNG_IMAGE_SIZE(img)))) {
        image__fail(err, err_bytes, "%s: out of memory", path);
        goto fail;
    }
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
        image__fail(err, err_bytes, "%s: PNG: %s", path, img.message);
        goto fail;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return px;
fail:
    png_image_free(&img);
    free(px);
    return NULL;
}
#endif

#ifdef INFER_HAVE_JPEG
typedef struct image__jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char text[JMSG_LENGTH_MAX];
} image__jpeg_error;

static void image__jpeg_exit(j_common_ptr cinfo) {
    image__jpeg_error *e = (image__jpeg_error *)cinfo->err;
    e->mgr.format_message(cinfo, e->text);
    longjmp(e->jump, 1);
}
static void image__jpeg_quiet(j_common_ptr cinfo, int level) { (void)cinfo, (void)level; }

static unsigned char *image__jpeg(const char *path, int channels, int *w, int *h, char *err, size_t err_bytes) {
    struct jpeg_decompress_struct cinfo;
    image__jpeg_error jerr;
    unsigned char *volatile px = NULL;
    volatile int ok = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        image__fail(err, err_bytes, "%s: cannot open", path);
        return NULL;
    }
    cinfo.err = jpeg_std_error(&jerr.mgr);
    jerr.mgr.error_exit = image__jpeg_exit;
    jerr.mgr.emit_message = image__jpeg_quiet;
    jpeg_create_decompress(&cinfo);
    if (setjmp(jerr.jump)) { /* libjpeg failed somewhere below */
        image__fail(err, err_bytes, "%s: JPEG: %s", path, jerr.text);
        goto done;
    }
    jpeg_stdio_src(&cinfo, f);
    jpeg_read_header(&cinfo, TRUE);
    cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    if (!image__check_size(path, cinfo.output_width, cinfo.output_height, err, err_bytes)) goto done;
    if (cinfo.output_components != channels) {
        image__fail(err, err_bytes, "%s: JPEG: %d colour components, wanted %d", path, cinfo.output_components, channels);
        goto done;
    }
    if (!(px = (unsigned char *)malloc((size_t)cinfo.output_width * cinfo.output_height * (size_t)channels))) {
        image__fail(err, err_bytes, "%s: out of memory", path);
        goto done;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = px + (size_t)cinfo.output_scanline * cinfo.output_width * (size_t)channels;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    *w = (int)cinfo.output_width;
    *h = (int)cinfo.output_height;
    ok = 1;
done:
    jpeg_destroy_decompress(&cinfo);
    fclose(f);
    if (!ok) {
        free(px);
        return NULL;
    }
    return px;
}
#endif

int image_load(const char *path, int h, int w, int channels, float *dst, char *err, size_t err_bytes) {
    unsigned char magic[4] = {0}, *px = NULL;
    int sw = 0, sh = 0, y, x, c;
    FILE *f = fopen(path, "rb");
    if (err_bytes) err[0] = '\0';
    if (!f) return image__fail(err, err_bytes, "%s: cannot open", path);
    if (fread(magic, 1, sizeof magic, f) != sizeof magic) magic[0] = 0;
    fclose(f);
    if (channels != 1 && channels != 3)
        return image__fail(err, err_bytes, "%s: the model wants %d channels; images give 1 (grey) or 3 (RGB)", path,
                           channels);
    if (magic[0] == 0x89 && magic[1] == 'P' && magic[2] == 'N' && magic[3] == 'G') {
#ifdef INFER_HAVE_PNG
        px = image__png(path, channels, &sw, &sh, err, err_bytes);
#else
        return image__fail(err, err_bytes, "%s: infer-run was built without libpng (install libpng-dev and rebuild)", path);
#endif
    } else if (magic[0] == 0xFF && magic[1] == 0xD8) {
#ifdef INFER_HAVE_JPEG
        px = image__jpeg(path, channels, &sw, &sh, err, err_bytes);
#else
        return image__fail(err, err_bytes, "%s: infer-run was built without libjpeg (install libjpeg62-turbo-dev and "
                           "rebuild)", path);
#endif
    } else {
        return image__fail(err, err_bytes, "%s: not a PNG or JPEG file", path);
    }
    if (!px) return 0;
    /* bilinear, half-pixel centres: source coordinate (i + 0.5) * scale - 0.5, clamped */
    for (y = 0; y < h; y++) {
        float fy = ((float)y + 0.5f) * (float)sh / (float)h - 0.5f;
        int y0 = fy < 0 ? 0 : (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        float wy = fy < 0 ? 0 : fy - (float)y0;
        for (x = 0; x < w; x++) {
            float fx = ((float)x + 0.5f) * (float)sw / (float)w - 0.5f;
            int x0 = fx < 0 ? 0 : (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
            float wx = fx < 0 ? 0 : fx - (float)x0;
            for (c = 0; c < channels; c++) {
                float p00 = px[((size_t)y0 * (size_t)sw + (size_t)x0) * (size_t)channels + (size_t)c];
                float p01 = px[((size_t)y0 * (size_t)sw + (size_t)x1) * (size_t)channels + (size_t)c];
                float p10 = px[((size_t)y1 * (size_t)sw + (size_t)x0) * (size_t)channels + (size_t)c];
                float p11 = px[((size_t)y1 * (size_t)sw + (size_t)x1) * (size_t)channels + (size_t)c];
                dst[((size_t)y * (size_t)w + (size_t)x) * (size_t)channels + (size_t)c] =
                    (p00 * (1 - wx) + p01 * wx) * (1 - wy) + (p10 * (1 - wx) + p11 * wx) * wy;
            }
        }
    }
    free(px);
    return 1;
}
