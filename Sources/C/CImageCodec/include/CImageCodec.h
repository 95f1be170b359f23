#ifndef BOOKREC_CIMAGECODEC_H
#define BOOKREC_CIMAGECODEC_H
#include <stddef.h>
#include <stdint.h>

/// An 8-bit RGB image decoded by libjpeg-turbo or libpng; `pixels` is row-major H×W×3.
typedef struct {
    uint8_t *pixels;
    int32_t width;
    int32_t height;
    char error[256];
} bookrec_image;

/// Decode a JPEG held in memory. Returns 0 on success; otherwise non-zero with `error` set.
/// Images with more than `max_pixels` pixels are refused from the header, before any allocation.
int bookrec_decode_jpeg(const uint8_t *data, size_t length, int64_t max_pixels, bookrec_image *out);

/// Decode a PNG held in memory (palette, grey, 16-bit and alpha are converted to 8-bit RGB).
int bookrec_decode_png(const uint8_t *data, size_t length, int64_t max_pixels, bookrec_image *out);

void bookrec_image_free(bookrec_image *image);

#endif
