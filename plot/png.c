/* PNG files through libpng: any PNG in, 8-bit RGB out.
 *
 * libpng reports errors by longjmp from its error handler.  Everything a
 * read or write allocates lives in a struct in the caller's frame, so after
 * the jump one cleanup path frees it all; the functions that call setjmp
 * keep no local that changes after it.  The handlers store libpng's message
 * instead of printing it. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

typedef struct png_io {
    const char *path;
    png_structp png;
    png_infop info;
    FILE *in;               /* reading */
    otadI_output out;       /* writing */
    int code;               /* of the failure: OTAD_EFORMAT unless we raised it */
    int ours;               /* the message is ours, not libpng's */
    char message[160];
    /* reading: rows of samples after expansion to 8 or 16 bits */
    unsigned char *pixels;
    png_bytep *rows;
    size_t width, height, channels, depth;
    size_t row;             /* writing: the next row */
} png_io;

static void on_error(png_structp png, png_const_charp message)
{
    png_io *io = png_get_error_ptr(png);
    if (!io->ours) /* else ours is already there */
        snprintf(io->message, sizeof io->message, "%s", message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message)
{
    (void)png, (void)message;   /* warnings change nothing we return */
}

/* Our own error, with our code, through libpng's error path. */
static void fail_png(png_io *io, int code, const char *message)
{
    io->code = code;
    io->ours = 1;
    snprintf(io->message, sizeof io->message, "%s", message);
    png_error(io->png, message);
}

static void on_read(png_structp png, png_bytep data, size_t n)
{
    png_io *io = png_get_io_ptr(png);
    if (fread(data, 1, n, io->in) == n)
        return;
    if (ferror(io->in))
        fail_png(io, OTAD_EIO, "read error");
    fail_png(io, OTAD_EFORMAT, "truncated PNG file");
}

static void on_write(png_structp png, png_bytep data, size_t n)
{
    png_io *io = png_get_io_ptr(png);
    if (fwrite(data, 1, n, io->out.f) == n)
        return;
    char message[120];
    snprintf(message, sizeof message, "write error: %s", strerror(errno));
    fail_png(io, OTAD_EIO, message);
}

static void on_flush(png_structp png)
{
    (void)png;   /* the file is flushed when it is closed */
}

/* The failure stored in io, as a code and a message naming the file. */
static int png_failure(png_io *io, otad_error *err)
{
    if (io->ours)
        return otadI_fail(err, io->code, io->path, "%s", io->message);
    return otadI_fail(err, io->code, io->path, "malformed PNG (libpng: %s)", io->message);
}

/* libpng's memory comes from malloc here, so that when it runs out the
 * failure it raises is out of memory, not a malformed file. */
static png_voidp png_memory(png_structp png, png_alloc_size_t bytes)
{
    void *block = malloc(bytes);
    if (!block) {
        png_io *io = png_get_mem_ptr(png);
        io->code = OTAD_ENOMEM;
        io->ours = 1;
        snprintf(io->message, sizeof io->message, "%s", "out of memory (in libpng)");
    }
    return block;
}

static void png_release(png_structp png, png_voidp block)
{
    (void)png;
    free(block);
}

/* ---- reading -------------------------------------------------------------- */

/* Transformations that leave gray, gray+alpha, RGB or RGBA at 8 or 16 bits:
 * palettes become RGB, gray below 8 bits 8 bits, tRNS an alpha channel. */
static void read_layout(png_io *io)
{
    png_uint_32 w, h;
    int depth, color, interlace;
    png_get_IHDR(io->png, io->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
    if (w > OTAD_IMAGE_MAX_SIDE || h > OTAD_IMAGE_MAX_SIDE) {
        char message[100];
        snprintf(message, sizeof message, "%lux%lu pixels: at most %d per side are read",
                 (unsigned long)w, (unsigned long)h, OTAD_IMAGE_MAX_SIDE);
        fail_png(io, OTAD_EFORMAT, message);
    }
    png_set_expand(io->png);
    png_set_interlace_handling(io->png);
    png_read_update_info(io->png, io->info);
    io->width = w;
    io->height = h;
    io->channels = png_get_channels(io->png, io->info);
    io->depth = png_get_bit_depth(io->png, io->info);
}

static int allocate_rows(png_io *io)
{
    size_t row_bytes = png_get_rowbytes(io->png, io->info);
    if (io->height && row_bytes > SIZE_MAX / io->height)
        return 0;
    io->pixels = malloc(row_bytes * io->height);
    io->rows = malloc(io->height * sizeof *io->rows);
    if (!io->pixels || !io->rows)
        return 0;
    for (size_t y = 0; y < io->height; y++)
        io->rows[y] = io->pixels + y * row_bytes;
    return 1;
}

static int decode(png_io *io)
{
    if (setjmp(png_jmpbuf(io->png)))
        return io->code;
    png_set_read_fn(io->png, io, on_read);
    png_set_sig_bytes(io->png, 8);
    png_read_info(io->png, io->info);
    read_layout(io);
    if (!allocate_rows(io))
        fail_png(io, OTAD_ENOMEM, "out of memory");
    png_read_image(io->png, io->rows);
    png_read_end(io->png, NULL);
    return OTAD_OK;
}

static int read_png(png_io *io, const char *path, otad_error *err)
{
    *io = (png_io){.path = path, .code = OTAD_EFORMAT};
    int rc = otadI_open_read(path, &io->in, err);
    if (rc != OTAD_OK)
        return rc;
    png_byte sig[8];
    size_t got = fread(sig, 1, sizeof sig, io->in);
    if (got < sizeof sig || png_sig_cmp(sig, 0, sizeof sig) != 0)
        rc = ferror(io->in) ? otadI_fail(err, OTAD_EIO, path, "read error: %s", strerror(errno))
             : otadI_fail(err, OTAD_EFORMAT, path, "not a PNG file%s",
                          got ? "" : " (the file is empty)");
    if (rc == OTAD_OK) {
        io->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, io, on_error, on_warning,
                                           io, png_memory, png_release);
        io->info = io->png ? png_create_info_struct(io->png) : NULL;
        rc = io->info ? decode(io) : (io->code = OTAD_ENOMEM);
        if (rc != OTAD_OK)
            rc = io->info ? png_failure(io, err) : otadI_fail(err, rc, path, "out of memory");
    }
    png_destroy_read_struct(io->png ? &io->png : NULL, io->info ? &io->info : NULL, NULL);
    fclose(io->in);
    free(io->rows);
    io->rows = NULL;
    if (rc != OTAD_OK) {
        free(io->pixels);
        io->pixels = NULL;
    }
    return rc;
}

static double sample(const png_io *io, const unsigned char *p)
{
    return io->depth == 16 ? (p[0] << 8 | p[1]) / 65535.0 : p[0] / 255.0;
}

/* Pixel i as R, G, B over white; returns whether it is gray. */
static int pixel_rgb(const png_io *io, size_t i, double rgb[3])
{
    size_t bytes = io->depth / 8, ch = io->channels;
    const unsigned char *p = io->pixels + i * ch * bytes;
    int gray = ch <= 2;
    for (size_t k = 0; k < 3; k++)
        rgb[k] = sample(io, p + (gray ? 0 : k) * bytes);
    if (ch == 2 || ch == 4) {
        double a = sample(io, p + (ch - 1) * bytes);
        for (size_t k = 0; k < 3; k++)
            rgb[k] = a * rgb[k] + (1 - a);
    }
    return gray;
}

int otad_png_read_gray(const char *path, otad_value *out, size_t *width, size_t *height,
                       otad_error *err)
{
    if (!out)
        return otadI_fail(err, OTAD_EINVAL, path, "nowhere to read into (out is NULL)");
    png_io io;
    int rc = read_png(&io, path, err);
    if (rc != OTAD_OK)
        return rc;
    size_t n = io.width * io.height;
    double *v = malloc(n * sizeof *v);
    if (!v) {
        free(io.pixels);
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zu pixels", n);
    }
    for (size_t i = 0; i < n; i++) {
        double c[3];
        v[i] = pixel_rgb(&io, i, c) ? c[0] : 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    }
    free(io.pixels);
    *out = (otad_value){v, n, 1};
    if (width)
        *width = io.width;
    if (height)
        *height = io.height;
    return OTAD_OK;
}

int otad_png_read_rgb(const char *path, double **rgb, size_t *width, size_t *height,
                      otad_error *err)
{
    if (!rgb)
        return otadI_fail(err, OTAD_EINVAL, path, "nowhere to read into (rgb is NULL)");
    png_io io;
    int rc = read_png(&io, path, err);
    if (rc != OTAD_OK)
        return rc;
    size_t n = io.width * io.height;
    double *v = malloc(3 * n * sizeof *v);
    if (!v) {
        free(io.pixels);
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zu pixels", n);
    }
    for (size_t i = 0; i < n; i++)
        pixel_rgb(&io, i, v + 3 * i);
    free(io.pixels);
    *rgb = v;
    if (width)
        *width = io.width;
    if (height)
        *height = io.height;
    return OTAD_OK;
}

/* ---- writing -------------------------------------------------------------- */

static int encode(png_io *io, const unsigned char *rgb, size_t width, size_t height)
{
    if (setjmp(png_jmpbuf(io->png)))
        return io->code;
    png_set_write_fn(io->png, io, on_write, on_flush);
    png_set_IHDR(io->png, io->info, (png_uint_32)width, (png_uint_32)height, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(io->png, io->info);
    for (io->row = 0; io->row < height; io->row++)
        png_write_row(io->png, rgb + io->row * 3 * width);
    png_write_end(io->png, NULL);
    return OTAD_OK;
}

int otad_png_write_rgb(const char *path, const unsigned char *rgb, size_t width,
                       size_t height, otad_error *err)
{
    if (!rgb || !width || !height)
        return otadI_fail(err, OTAD_EINVAL, path, "no image: %zux%zu, pixels %s", width,
                          height, rgb ? "given" : "NULL");
    if (width > OTAD_IMAGE_MAX_SIDE || height > OTAD_IMAGE_MAX_SIDE)
        return otadI_fail(err, OTAD_EINVAL, path, "%zux%zu pixels: at most %d per side", width,
                          height, OTAD_IMAGE_MAX_SIDE);
    png_io io = {.path = path, .code = OTAD_EFORMAT};
    int rc = otadI_output_open(&io.out, path, err);
    if (rc != OTAD_OK)
        return rc;
    io.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning, &io,
                                       png_memory, png_release);
    io.info = io.png ? png_create_info_struct(io.png) : NULL;
    rc = io.info ? encode(&io, rgb, width, height) : OTAD_ENOMEM;
    if (rc != OTAD_OK)
        rc = io.info ? png_failure(&io, err) : otadI_fail(err, rc, path, "out of memory");
    png_destroy_write_struct(io.png ? &io.png : NULL, io.info ? &io.info : NULL);
    return otadI_output_close(&io.out, rc, err);
}
