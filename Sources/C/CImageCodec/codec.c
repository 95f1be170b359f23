// libjpeg and libpng report fatal errors by longjmp, which Swift cannot catch; this file turns
// them into return codes with a message.
#include "CImageCodec.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

void bookrec_image_free(bookrec_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}

// MARK: JPEG

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *message;
} jpeg_failure;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_failure *failure = (jpeg_failure *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    snprintf(failure->message, 256, "JPEG: %s", text);
    longjmp(failure->jump, 1);
}

// A truncated file is a warning to libjpeg (it pads with grey); we refuse it like Pillow does.
static void jpeg_warn(j_common_ptr cinfo, int level) {
    if (level == -1 && cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_fail(cinfo);
}

int bookrec_decode_jpeg(const uint8_t *data, size_t length, int64_t max_pixels, bookrec_image *out) {
    struct jpeg_decompress_struct cinfo;
    jpeg_failure failure;
    // One CMYK row, for CMYK and YCCK files; volatile, as the failure path below reads it after a longjmp.
    JSAMPROW volatile ink = NULL;
    out->pixels = NULL;
    out->error[0] = 0;
    failure.message = out->error;
    cinfo.err = jpeg_std_error(&failure.base);
    failure.base.error_exit = jpeg_fail;
    failure.base.emit_message = jpeg_warn;
    if (setjmp(failure.jump)) {
        free(ink);
        jpeg_destroy_decompress(&cinfo);
        bookrec_image_free(out);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)length);
    jpeg_read_header(&cinfo, TRUE);
    if ((int64_t)cinfo.image_width * (int64_t)cinfo.image_height > max_pixels) {
        snprintf(out->error, sizeof out->error, "JPEG: %ux%u pixels exceeds the limit of %lld",
                 cinfo.image_width, cinfo.image_height, (long long)max_pixels);
        jpeg_destroy_decompress(&cinfo);
        return 2;
    }
    // CMYK and YCCK (print covers) come out as CMYK and are converted the way Pillow does.
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_start_decompress(&cinfo);
    size_t stride = (size_t)cinfo.output_width * 3;
    out->pixels = malloc(stride * cinfo.output_height);
    if (cmyk) ink = malloc((size_t)cinfo.output_width * 4);
    if (!out->pixels || (cmyk && !ink)) {
        snprintf(out->error, sizeof out->error, "JPEG: out of memory");
        free(ink);
        jpeg_destroy_decompress(&cinfo);
        bookrec_image_free(out);
        return 4;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out->pixels + stride * cinfo.output_scanline;
        if (!cmyk) {
            jpeg_read_scanlines(&cinfo, &row, 1);
            continue;
        }
        JSAMPROW inkRow = ink;
        jpeg_read_scanlines(&cinfo, &inkRow, 1);
        // Photoshop and most print tools write Adobe CMYK inverted (255 = no ink), and Pillow reads
        // every CMYK JPEG that way ("CMYK;I"); its CMYK to RGB is then (255 - C)(255 - K)/255 with
        // its MULDIV255 rounding, which on the stored values is c·k/255.
        for (JDIMENSION x = 0; x < cinfo.output_width; x++) {
            unsigned nk = inkRow[4 * x + 3];  // 255 - K, K being the inverted stored value
            for (int channel = 0; channel < 3; channel++) {
                unsigned c = 255 - inkRow[4 * x + channel];
                unsigned product = c * nk + 128;
                int value = (int)nk - (int)(((product >> 8) + product) >> 8);
                row[3 * x + channel] = (JSAMPLE)(value < 0 ? 0 : value > 255 ? 255 : value);
            }
        }
    }
    free(ink);
    ink = NULL;
    jpeg_finish_decompress(&cinfo);
    out->width = (int32_t)cinfo.output_width;
    out->height = (int32_t)cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

// MARK: PNG

typedef struct {
    const uint8_t *data;
    size_t length;
    size_t offset;
    char *message;
} png_source;

static void png_read_memory(png_structp png, png_bytep target, size_t count) {
    png_source *source = (png_source *)png_get_io_ptr(png);
    if (source->length - source->offset < count) png_error(png, "file is truncated");
    memcpy(target, source->data + source->offset, count);
    source->offset += count;
}

static void png_fail(png_structp png, png_const_charp message) {
    png_source *source = (png_source *)png_get_error_ptr(png);
    snprintf(source->message, 256, "PNG: %s", message);
    png_longjmp(png, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int bookrec_decode_png(const uint8_t *data, size_t length, int64_t max_pixels, bookrec_image *out) {
    out->pixels = NULL;
    out->error[0] = 0;
    if (length < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(out->error, sizeof out->error, "PNG: missing PNG signature");
        return 1;
    }
    png_source source = {data, length, 0, out->error};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &source, png_fail, png_ignore_warning);
    if (!png) {
        snprintf(out->error, sizeof out->error, "PNG: out of memory");
        return 4;
    }
    png_infop info = png_create_info_struct(png);
    png_bytep *rows = NULL;
    if (!info || setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, info ? &info : NULL, NULL);
        free(rows);
        bookrec_image_free(out);
        if (!out->error[0]) snprintf(out->error, sizeof out->error, "PNG: out of memory");
        return 1;
    }
    png_set_read_fn(png, &source, png_read_memory);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if ((int64_t)width * (int64_t)height > max_pixels) {
        snprintf(out->error, sizeof out->error, "PNG: %ux%u pixels exceeds the limit of %lld",
                 width, height, (long long)max_pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return 2;
    }
    int color = png_get_color_type(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (png_get_bit_depth(png, info) < 8) png_set_expand(png);
    png_set_strip_16(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t stride = png_get_rowbytes(png, info);
    if (stride != (size_t)width * 3) png_error(png, "unexpected channel layout after conversion");
    out->pixels = malloc(stride * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (!out->pixels || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = out->pixels + stride * y;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
