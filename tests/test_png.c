/* PNG in and out: heat maps and strips read back, PNG kinds written here
 * with libpng read right, histograms, and clear errors for bad files. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "plot/plot.h"
#include "support.h"

static size_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return (size_t)n;
}

/* Keeps the first n bytes of a file. */
static void cut_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(n);
    assert_int_equal(fread(buf, 1, n, f), n);
    fclose(f);
    f = fopen(path, "wb");
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    free(buf);
}

/* A PNG of any kind, written with libpng directly. */
typedef struct raw_png {
    int width, height, depth, color, interlace;
    const unsigned char *pixels;     /* rows packed as PNG stores them */
    const png_color *palette;
    int n_palette;
    const unsigned char *alpha;      /* tRNS entries of the palette */
    int n_alpha;
} raw_png;

static void write_raw_png(const char *path, const raw_png *p)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write the test image");
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)p->width, (png_uint_32)p->height, p->depth, p->color,
                 p->interlace, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (p->palette)
        png_set_PLTE(png, info, p->palette, p->n_palette);
    if (p->alpha)
        png_set_tRNS(png, info, p->alpha, p->n_alpha, NULL);
    png_write_info(png, info);
    size_t row = png_get_rowbytes(png, info);
    png_bytep *rows = malloc((size_t)p->height * sizeof *rows);
    for (int y = 0; y < p->height; y++)
        rows[y] = (png_bytep)p->pixels + (size_t)y * row;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static otad_value read_gray(const char *path, size_t width, size_t height)
{
    otad_value v = {0};
    size_t w = 0, h = 0;
    otad_error err;
    int rc = otad_png_read_gray(path, &v, &w, &h, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
    assert_int_equal(w, width);
    assert_int_equal(h, height);
    assert_true(v.rows == width * height && v.cols == 1);
    return v;
}

/* ---- writing heat maps and strips ----------------------------------------- */

/* With the gray map a known range maps vmin to black, vmax to white and
 * the rest linearly, to the nearest of 256 levels. */
static void test_heatmap_gray_levels(void **state)
{
    (void)state;
    double x[21];
    for (int k = 0; k < 21; k++)
        x[k] = -1 + 0.2 * k;
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.colormap = OTAD_COLORMAP_GRAY;
    o.vmin = -1;
    o.vmax = 2;
    const char *path = tmp_path("gray.png");
    assert_int_equal(otad_png_write_heatmap(path, x, 7, 3, &o, NULL), OTAD_OK);
    otad_value v = read_gray(path, 7, 3);
    for (int k = 0; k < 21; k++) {
        double want = x[k] < 2 ? (x[k] + 1) / 3 : 1;
        assert_close(v.data[k], want, 0.5 / 255 + 1e-12);
    }
    assert_close(v.data[0], 0, 1e-12);
    free(v.data);
    /* Automatic range: the data's own min and max. */
    o.vmin = o.vmax = 0;
    assert_int_equal(otad_png_write_heatmap(path, x, 7, 3, &o, NULL), OTAD_OK);
    v = read_gray(path, 7, 3);
    assert_close(v.data[0], 0, 1e-12);
    assert_close(v.data[20], 1, 1e-12);
    assert_close(v.data[10], 0.5, 0.5 / 255 + 1e-12);
    free(v.data);
}

static void test_heatmap_scale_and_defaults(void **state)
{
    (void)state;
    double x[6] = {0, 1, 2, 3, 4, 5};
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.scale = 4;
    o.colormap = OTAD_COLORMAP_GRAY;
    const char *path = tmp_path("scaled.png");
    assert_int_equal(otad_png_write_heatmap(path, x, 3, 2, &o, NULL), OTAD_OK);
    otad_value v = read_gray(path, 12, 8);
    for (size_t r = 0; r < 8; r++)
        for (size_t c = 0; c < 12; c++)
            assert_close(v.data[r * 12 + c], x[(r / 4) * 3 + c / 4] / 5, 0.5 / 255 + 1e-12);
    free(v.data);
    /* opts NULL: the heat map, whose ends are black and near white. */
    assert_int_equal(otad_png_write_heatmap(path, x, 3, 2, NULL, NULL), OTAD_OK);
    v = read_gray(path, 3, 2);
    assert_close(v.data[0], 0, 1e-12);
    assert_true(v.data[5] > 0.95);
    free(v.data);
}

/* Images side by side on one range, separated by white gaps. */
static void test_strip_common_range(void **state)
{
    (void)state;
    double a[4] = {0, 0.5, 1, 1}, b[4] = {0, 1, 2, 2};
    const double *images[2] = {a, b};
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.colormap = OTAD_COLORMAP_GRAY;
    o.gap = 3;
    const char *path = tmp_path("strip.png");
    assert_int_equal(otad_png_write_strip(path, images, 2, 2, 2, &o, NULL), OTAD_OK);
    double *rgb = NULL;
    size_t w = 0, h = 0;
    assert_int_equal(otad_png_read_rgb(path, &rgb, &w, &h, NULL), OTAD_OK);
    assert_int_equal(w, 2 + 3 + 2);
    assert_int_equal(h, 2);
    assert_close(rgb[3 * 1], 0.25, 0.5 / 255);         /* a's 0.5 of 0..2 */
    assert_close(rgb[3 * (7 + 1)], 0.5, 0.5 / 255);    /* a's 1 */
    assert_close(rgb[3 * (7 + 6)], 1, 1e-12);          /* b's 2 */
    for (size_t x = 2; x < 5; x++)
        for (size_t k = 0; k < 3; k++)
            assert_close(rgb[3 * x + k], 1, 1e-12);    /* the gap */
    free(rgb);
}

/* Captions go under the images and make the picture taller. */
static void test_strip_captions(void **state)
{
    (void)state;
    double a[64 * 64] = {0};
    const double *images[3] = {a, a, a};
    const char *captions[3] = {"first", NULL, "third"};
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.scale = 2;
    o.captions = captions;
    const char *path = tmp_path("captions.png");
    assert_int_equal(otad_png_write_strip(path, images, 3, 64, 64, &o, NULL), OTAD_OK);
    size_t w, h;
    otad_value v = {0};
    assert_int_equal(otad_png_read_gray(path, &v, &w, &h, NULL), OTAD_OK);
    assert_int_equal(w, 3 * 128 + 2 * 4);
    assert_true(h > 128);
    size_t ink[3] = {0, 0, 0};
    for (size_t y = 128; y < h; y++)
        for (size_t x = 0; x < w; x++)
            ink[x / 132] += v.data[y * w + x] < 0.5;
    assert_true(ink[0] > 20 && ink[1] == 0 && ink[2] > 20);
    free(v.data);
}

/* A colour bar right of the images: the range's top colour at the top, its
 * bottom colour at the bottom, and labels in ink beside it. */
static void test_strip_colorbar(void **state)
{
    (void)state;
    double a[50 * 40], b[50 * 40];
    for (size_t k = 0; k < 50 * 40; k++)
        a[k] = 0.2 * (double)(k % 50) / 49, b[k] = 0.5;
    const double *images[2] = {a, b};
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.colormap = OTAD_COLORMAP_GRAY;
    o.scale = 2;
    const char *path = tmp_path("colorbar.png");
    assert_int_equal(otad_png_write_strip(path, images, 2, 50, 40, &o, NULL), OTAD_OK);
    size_t plain_w, w, h;
    otad_value plain = {0}, v = {0};
    assert_int_equal(otad_png_read_gray(path, &plain, &plain_w, &h, NULL), OTAD_OK);
    o.colorbar = 1;
    assert_int_equal(otad_png_write_strip(path, images, 2, 50, 40, &o, NULL), OTAD_OK);
    assert_int_equal(otad_png_read_gray(path, &v, &w, &h, NULL), OTAD_OK);
    assert_int_equal(h, 80);
    assert_true(w > plain_w + 20);
    size_t bar = 0; /* the first column past the images whose top is white (the range's top) */
    for (size_t x = plain_w; x < w && !bar; x++)
        if (v.data[x] > 0.99 && v.data[(h - 1) * w + x] < 0.01)
            bar = x;
    assert_true(bar > plain_w);
    assert_close(v.data[(h / 2) * w + bar], 0.5, 0.02); /* the middle of the range */
    size_t ink = 0;
    for (size_t y = 0; y < h; y++)
        for (size_t x = bar + 8; x < w; x++)
            ink += v.data[y * w + x] < 0.5;
    assert_true(ink > 30);
    free(plain.data), free(v.data);
    o.colorbar = 2;
    otad_error err;
    assert_int_equal(otad_png_write_strip(path, images, 2, 50, 40, &o, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "colorbar is 2"));
}

static double luminance(unsigned rgb)
{
    return (0.2126 * (rgb >> 16) + 0.7152 * (rgb >> 8 & 0xff) + 0.0722 * (rgb & 0xff)) / 255;
}

static void test_colormaps(void **state)
{
    (void)state;
    /* Heat: from black to near white, lightness never falling. */
    assert_int_equal(otad_colormap(OTAD_COLORMAP_HEAT, 0), 0x000000);
    assert_true(luminance(otad_colormap(OTAD_COLORMAP_HEAT, 1)) > 0.97);
    for (int k = 1; k <= 256; k++) {
        double t0 = (k - 1) / 256.0, t1 = k / 256.0;
        assert_true(luminance(otad_colormap(OTAD_COLORMAP_HEAT, t1)) >=
                    luminance(otad_colormap(OTAD_COLORMAP_HEAT, t0)) - 1.0 / 255);
    }
    /* Diverging: blue, white in the middle, red. */
    unsigned lo = otad_colormap(OTAD_COLORMAP_DIVERGING, 0);
    unsigned hi = otad_colormap(OTAD_COLORMAP_DIVERGING, 1);
    assert_int_equal(otad_colormap(OTAD_COLORMAP_DIVERGING, 0.5), 0xFFFFFF);
    assert_true((lo & 0xff) > (lo >> 16) + 64);
    assert_true((hi >> 16) > (hi & 0xff) + 64);
    assert_int_equal(otad_colormap(OTAD_COLORMAP_GRAY, 0.5), 0x808080);
    assert_int_equal(otad_colormap(OTAD_COLORMAP_GRAY, 7), 0xFFFFFF);
    assert_int_equal(otad_colormap(OTAD_COLORMAP_GRAY, NAN), 0x808080);
}

/* The automatic diverging range is symmetric: 0 is white. */
static void test_diverging_centred_on_zero(void **state)
{
    (void)state;
    double x[3] = {-1, 0, 3};
    otad_image_opts o;
    otad_image_opts_init(&o);
    o.colormap = OTAD_COLORMAP_DIVERGING;
    const char *path = tmp_path("div.png");
    assert_int_equal(otad_png_write_heatmap(path, x, 3, 1, &o, NULL), OTAD_OK);
    double *rgb = NULL;
    assert_int_equal(otad_png_read_rgb(path, &rgb, NULL, NULL, NULL), OTAD_OK);
    for (int k = 0; k < 3; k++)
        assert_close(rgb[3 + k], 1, 1e-12);
    assert_true(rgb[6] > 0.5 && rgb[8] < 0.3);            /* 3 is full red */
    assert_true(rgb[2] > rgb[0]);                          /* -1 is bluish */
    free(rgb);
}

static void test_rgb_round_trip(void **state)
{
    (void)state;
    unsigned char px[5 * 4 * 3];
    for (size_t k = 0; k < sizeof px; k++)
        px[k] = (unsigned char)(k * 37 + 11);
    const char *path = tmp_path("rgb.png");
    assert_int_equal(otad_png_write_rgb(path, px, 5, 4, NULL), OTAD_OK);
    double *rgb = NULL;
    size_t w, h;
    assert_int_equal(otad_png_read_rgb(path, &rgb, &w, &h, NULL), OTAD_OK);
    assert_true(w == 5 && h == 4);
    for (size_t k = 0; k < sizeof px; k++)
        assert_close(rgb[k], px[k] / 255.0, 1e-15);
    free(rgb);
    otad_value v = read_gray(path, 5, 4);
    assert_close(v.data[1], (0.2126 * px[3] + 0.7152 * px[4] + 0.0722 * px[5]) / 255, 1e-12);
    free(v.data);
}

/* ---- reading PNG kinds ---------------------------------------------------- */

static void test_read_16_bit_gray(void **state)
{
    (void)state;
    unsigned short values[6] = {0, 65535, 32768, 1000, 1, 50000};
    unsigned char px[12];
    for (int k = 0; k < 6; k++)
        px[2 * k] = (unsigned char)(values[k] >> 8), px[2 * k + 1] = (unsigned char)values[k];
    const char *path = tmp_path("gray16.png");
    write_raw_png(path, &(raw_png){.width = 3, .height = 2, .depth = 16,
                                   .color = PNG_COLOR_TYPE_GRAY, .pixels = px});
    otad_value v = read_gray(path, 3, 2);
    for (int k = 0; k < 6; k++)
        assert_close(v.data[k], values[k] / 65535.0, 1e-15);
    free(v.data);
}

/* A palette with a half transparent and a transparent entry: composited over
 * white. */
static void test_read_palette(void **state)
{
    (void)state;
    png_color palette[3] = {{255, 0, 0}, {0, 0, 255}, {0, 0, 0}};
    unsigned char alpha[3] = {255, 255, 0}, px[4] = {0, 1, 2, 1};
    const char *path = tmp_path("palette.png");
    write_raw_png(path, &(raw_png){.width = 4, .height = 1, .depth = 8,
                                   .color = PNG_COLOR_TYPE_PALETTE, .pixels = px,
                                   .palette = palette, .n_palette = 3, .alpha = alpha,
                                   .n_alpha = 3});
    double *rgb = NULL;
    assert_int_equal(otad_png_read_rgb(path, &rgb, NULL, NULL, NULL), OTAD_OK);
    double want[12] = {1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1};
    for (int k = 0; k < 12; k++)
        assert_close(rgb[k], want[k], 1e-15);
    free(rgb);
    otad_value v = read_gray(path, 4, 1);
    assert_close(v.data[0], 0.2126, 1e-12);
    assert_close(v.data[2], 1, 1e-12);
    free(v.data);
}

/* 1-bit gray, gray with alpha, and an interlaced image. */
static void test_read_other_kinds(void **state)
{
    (void)state;
    unsigned char bits[2] = {0xA0, 0x40};   /* rows 1010 and 0100 */
    const char *path = tmp_path("bits.png");
    write_raw_png(path, &(raw_png){.width = 4, .height = 2, .depth = 1,
                                   .color = PNG_COLOR_TYPE_GRAY, .pixels = bits});
    otad_value v = read_gray(path, 4, 2);
    double want[8] = {1, 0, 1, 0, 0, 1, 0, 0};
    for (int k = 0; k < 8; k++)
        assert_close(v.data[k], want[k], 0);
    free(v.data);
    unsigned char ga[4] = {0, 255, 0, 51};   /* black opaque, black 20% opaque */
    path = tmp_path("gray_alpha.png");
    write_raw_png(path, &(raw_png){.width = 2, .height = 1, .depth = 8,
                                   .color = PNG_COLOR_TYPE_GRAY_ALPHA, .pixels = ga});
    v = read_gray(path, 2, 1);
    assert_close(v.data[0], 0, 1e-15);
    assert_close(v.data[1], 0.8, 1e-12);
    free(v.data);
    unsigned char ramp[9 * 9];
    for (int k = 0; k < 81; k++)
        ramp[k] = (unsigned char)(3 * k);
    path = tmp_path("interlaced.png");
    write_raw_png(path, &(raw_png){.width = 9, .height = 9, .depth = 8,
                                   .color = PNG_COLOR_TYPE_GRAY,
                                   .interlace = PNG_INTERLACE_ADAM7, .pixels = ramp});
    v = read_gray(path, 9, 9);
    for (int k = 0; k < 81; k++)
        assert_close(v.data[k], 3 * k / 255.0, 1e-15);
    free(v.data);
}

/* ---- histograms ----------------------------------------------------------- */

static void test_histogram_from_gray(void **state)
{
    (void)state;
    double x[6] = {0, 0.25, 0.75, 1, 1, 1};
    otad_value v = {x, 3, 2};
    assert_int_equal(otad_histogram_from_gray(&v, 0, NULL), OTAD_OK);
    assert_close(x[0], 0, 0);
    assert_close(x[1], 0.25, 1e-15);
    assert_close(x[2], 0.75, 1e-15);
    assert_close(x[3] + x[4] + x[5], 1, 1e-15);
    double y[4] = {1, 0.5, 0, 1};
    v = (otad_value){y, 4, 1};
    assert_int_equal(otad_histogram_from_gray(&v, 1, NULL), OTAD_OK);
    assert_close(y[1], 1.0 / 3, 1e-15);
    assert_close(y[2], 2.0 / 3, 1e-15);
    assert_close(y[0] + y[3], 0, 0);
}

/* A column without mass, or a value that is no intensity: an error, and the
 * image as it was. */
static void test_histogram_errors(void **state)
{
    (void)state;
    double x[4] = {0.5, 0.5, 1, 1}, copy[4];
    memcpy(copy, x, sizeof x);
    otad_value v = {x, 2, 2};
    otad_error err;
    assert_int_equal(otad_histogram_from_gray(&v, 1, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "column 1 has no mass"));
    assert_memory_equal(x, copy, sizeof x);
    x[1] = 1.5;
    assert_int_equal(otad_histogram_from_gray(&v, 0, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "entry (1,0) is 1.5"));
    x[1] = NAN;
    assert_int_equal(otad_histogram_from_gray(&v, 0, &err), OTAD_EDOMAIN);
    assert_int_equal(otad_histogram_from_gray(NULL, 0, &err), OTAD_EINVAL);
}

/* A picture read back as a histogram sums to one. */
static void test_png_to_histogram(void **state)
{
    (void)state;
    double *x = random_matrix(5, 16, 16, 0, 1);
    const char *path = tmp_path("hist.png");
    assert_int_equal(otad_png_write_heatmap(path, x, 16, 16, NULL, NULL), OTAD_OK);
    otad_value v = read_gray(path, 16, 16);
    assert_int_equal(otad_histogram_from_gray(&v, 0, NULL), OTAD_OK);
    double total = 0;
    for (size_t k = 0; k < v.rows; k++)
        total += v.data[k];
    assert_close(total, 1, 1e-12);
    free(v.data);
    free(x);
}

/* ---- errors --------------------------------------------------------------- */

/* Reading path fails with code and a message naming it, outputs untouched,
 * and nothing on stderr. */
static void expect_read_failure(const char *path, int code, const char *want)
{
    fflush(stderr);
    int saved = dup(2), sink = open(tmp_path("stderr.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(sink, 2);
    otad_value v = {(double *)0x1, 7, 7};
    size_t w = 99, h = 99;
    otad_error err = {""};
    int rc = otad_png_read_gray(path, &v, &w, &h, &err);
    double *rgb = (double *)0x1;
    int rc_rgb = otad_png_read_rgb(path, &rgb, &w, &h, NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(sink);
    assert_int_equal(rc, code);
    assert_int_equal(rc_rgb, code);
    assert_true(v.data == (double *)0x1 && v.rows == 7 && w == 99 && h == 99);
    assert_true(rgb == (double *)0x1);
    if (!strstr(err.message, want) || strncmp(err.message, path, strlen(path)) != 0)
        fail_msg("message \"%s\" lacks \"%s\" or the file name", err.message, want);
    assert_int_equal(file_size(tmp_path("stderr.txt")), 0);
}

static void test_bad_png_files(void **state)
{
    (void)state;
    double *x = random_matrix(9, 64, 64, 0, 1);
    const char *path = tmp_path("cut.png");
    assert_int_equal(otad_png_write_heatmap(path, x, 64, 64, NULL, NULL), OTAD_OK);
    cut_file(path, file_size(path) / 2);
    expect_read_failure(path, OTAD_EFORMAT, "truncated PNG file");
    cut_file(path, 20);
    expect_read_failure(path, OTAD_EFORMAT, "truncated PNG file");
    /* A flipped bit in the header fails its checksum. */
    const char *crc = tmp_path("crc.png");
    assert_int_equal(otad_png_write_heatmap(crc, x, 64, 64, NULL, NULL), OTAD_OK);
    FILE *f = fopen(crc, "r+b");
    fseek(f, 18, SEEK_SET);
    fputc(0x7f, f);
    fclose(f);
    expect_read_failure(crc, OTAD_EFORMAT, "malformed PNG (libpng: ");
    f = fopen(tmp_path("text.png"), "wb");
    fputs("this is not an image, only text\n", f);
    fclose(f);
    expect_read_failure(tmp_path("text.png"), OTAD_EFORMAT, "not a PNG file");
    f = fopen(tmp_path("empty.png"), "wb");
    fclose(f);
    expect_read_failure(tmp_path("empty.png"), OTAD_EFORMAT, "not a PNG file (the file is empty)");
    expect_read_failure(tmp_path("missing.png"), OTAD_EIO, "cannot open");
    /* Wider than 2^15 pixels: refused before anything is allocated for it. */
    unsigned char *wide = calloc(40000 / 8, 1);
    write_raw_png(tmp_path("wide.png"), &(raw_png){.width = 40000, .height = 1, .depth = 1,
                                                   .color = PNG_COLOR_TYPE_GRAY, .pixels = wide});
    expect_read_failure(tmp_path("wide.png"), OTAD_EFORMAT, "40000x1 pixels: at most 32767");
    free(wide);
    free(x);
}

static void test_bad_write_arguments(void **state)
{
    (void)state;
    double x[4] = {0, 1, 2, 3};
    otad_image_opts o;
    otad_error err;
    const char *path = tmp_path("never.png");
    otad_image_opts_init(&o);
    assert_int_equal(otad_png_write_heatmap(NULL, x, 2, 2, &o, &err), OTAD_EINVAL);
    assert_int_equal(otad_png_write_heatmap(path, NULL, 2, 2, &o, &err), OTAD_EINVAL);
    assert_int_equal(otad_png_write_heatmap(path, x, 0, 2, &o, &err), OTAD_EINVAL);
    assert_int_equal(otad_png_write_heatmap(path, x, 40000, 1, &o, &err), OTAD_EINVAL);
    o.scale = 1000;
    assert_int_equal(otad_png_write_heatmap(path, x, 64, 64, &o, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "at most 32767 per side"));
    o.scale = 0;
    assert_int_equal(otad_png_write_heatmap(path, x, 2, 2, &o, &err), OTAD_EINVAL);
    otad_image_opts_init(&o);
    o.vmin = 2;
    o.vmax = 1;
    assert_int_equal(otad_png_write_heatmap(path, x, 2, 2, &o, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "vmin 2 > vmax 1"));
    otad_image_opts_init(&o);
    o.colormap = 17;
    assert_int_equal(otad_png_write_heatmap(path, x, 2, 2, &o, &err), OTAD_EINVAL);
    x[2] = NAN;
    assert_int_equal(otad_png_write_heatmap(path, x, 2, 2, NULL, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "value 2 is nan"));
    const double *images[2] = {x, NULL};
    assert_int_equal(otad_png_write_strip(path, images, 2, 2, 2, NULL, &err), OTAD_EINVAL);
    assert_int_equal(otad_png_write_rgb(path, NULL, 2, 2, &err), OTAD_EINVAL);
    assert_int_equal(access(path, F_OK), -1);
    unsigned char px[12] = {0};
    assert_int_equal(otad_png_write_rgb("/nonexistent-dir/a.png", px, 2, 2, &err), OTAD_EIO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/a.png: cannot create"));
    /* No temporary file is left beside a written one. */
    assert_int_equal(otad_png_write_rgb(tmp_path("one.png"), px, 2, 2, NULL), OTAD_OK);
    DIR *d = opendir(tmp_path(""));
    for (struct dirent *e; (e = readdir(d));)
        assert_null(strstr(e->d_name, ".tmp"));
    closedir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heatmap_gray_levels),
        cmocka_unit_test(test_heatmap_scale_and_defaults),
        cmocka_unit_test(test_strip_common_range),
        cmocka_unit_test(test_strip_captions),
        cmocka_unit_test(test_strip_colorbar),
        cmocka_unit_test(test_colormaps),
        cmocka_unit_test(test_diverging_centred_on_zero),
        cmocka_unit_test(test_rgb_round_trip),
        cmocka_unit_test(test_read_16_bit_gray),
        cmocka_unit_test(test_read_palette),
        cmocka_unit_test(test_read_other_kinds),
        cmocka_unit_test(test_histogram_from_gray),
        cmocka_unit_test(test_histogram_errors),
        cmocka_unit_test(test_png_to_histogram),
        cmocka_unit_test(test_bad_png_files),
        cmocka_unit_test(test_bad_write_arguments),
    };
    return cmocka_run_group_tests(tests, tmp_dir_create, tmp_dir_remove);
}
