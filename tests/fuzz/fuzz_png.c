/* The PNG readers on arbitrary files.
 *
 * On success: width and height between 1 and OTAD_IMAGE_MAX_SIDE, a
 * (width·height)×1 column of intensities and 3·width·height colour values,
 * all finite and in [0, 1], each intensity between the smallest and the
 * largest of its pixel's R, G, B (luminance weights are positive and sum to
 * 1).  Both readers agree on success, size and error code.  On failure: a
 * negative code, a message, and every output as it was. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "plot/plot.h"
#include "fuzz.h"

/* The reader allocates the whole image before it reads the pixel data, and
 * a few bytes may claim OTAD_IMAGE_MAX_SIDE pixels a side: gigabytes, which
 * libFuzzer reports as a crash.  Inputs whose header claims more pixels than
 * this are skipped; tests/test_png.c covers the size limit itself. */
#define MAX_PIXELS ((uint64_t)1 << 20)

/* Rounding in the luminance sum. */
#define SLACK 1e-12

static uint64_t big_endian32(const uint8_t *p)
{
    return (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
}

/* Whether the input's IHDR (the first chunk, right after the signature)
 * claims more than MAX_PIXELS. */
static int too_large(const uint8_t *data, size_t size)
{
    return size >= 24 && !memcmp(data + 12, "IHDR", 4) &&
           big_endian32(data + 16) * big_endian32(data + 20) > MAX_PIXELS;
}

static int in_unit_interval(double x)
{
    return isfinite(x) && x >= 0 && x <= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (too_large(data, size))
        return 0;
    const char *path = fuzz_input_file(data, size, "in.png");

    /* Outputs a failure must leave alone; the pointers are never followed. */
    static double marker;
    const otad_value no_value = {&marker, 7, 7};
    const size_t no_size = 99;

    otad_value gray = no_value;
    size_t width = no_size, height = no_size;
    otad_error err = {""};
    int rc = otad_png_read_gray(path, &gray, &width, &height, &err);

    double *rgb = &marker;
    size_t rgb_width = no_size, rgb_height = no_size;
    otad_error rgb_err = {""};
    int rgb_rc = otad_png_read_rgb(path, &rgb, &rgb_width, &rgb_height, &rgb_err);

    FUZZ_CHECK(rc == rgb_rc);
    if (rc != OTAD_OK) {
        FUZZ_CHECK(rc < 0 && err.message[0] && rgb_err.message[0]);
        FUZZ_CHECK(gray.data == no_value.data && gray.rows == no_value.rows &&
                   gray.cols == no_value.cols);
        FUZZ_CHECK(width == no_size && height == no_size);
        FUZZ_CHECK(rgb == &marker && rgb_width == no_size && rgb_height == no_size);
        return 0;
    }

    FUZZ_CHECK(width >= 1 && width <= OTAD_IMAGE_MAX_SIDE);
    FUZZ_CHECK(height >= 1 && height <= OTAD_IMAGE_MAX_SIDE);
    FUZZ_CHECK(rgb_width == width && rgb_height == height);
    size_t n = width * height;
    FUZZ_CHECK(gray.data && gray.rows == n && gray.cols == 1);
    FUZZ_CHECK(rgb && rgb != &marker);
    for (size_t i = 0; i < n; i++) {
        const double *c = rgb + 3 * i;
        FUZZ_CHECK(in_unit_interval(gray.data[i]));
        FUZZ_CHECK(in_unit_interval(c[0]) && in_unit_interval(c[1]) && in_unit_interval(c[2]));
        double lo = fmin(c[0], fmin(c[1], c[2])), hi = fmax(c[0], fmax(c[1], c[2]));
        FUZZ_CHECK(gray.data[i] >= lo - SLACK && gray.data[i] <= hi + SLACK);
    }
    free(gray.data);
    free(rgb);
    return 0;
}
