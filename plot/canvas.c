/* The canvas and its text, drawn by cairo on an RGB image surface:
 * antialiased lines, discs and DejaVu-like sans-serif text from the fonts
 * fontconfig finds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

/* A font of size FONT_SIZE·scale pixels fills a line of text
 * OTADI_GLYPH_HEIGHT·scale high: capitals about 7·scale above the
 * baseline, descenders 2·scale below it. */
#define FONT_SIZE 10.0
#define BASELINE 7.0

static const double pi = 3.14159265358979323846;

static void set_colour(cairo_t *cr, unsigned rgb)
{
    cairo_set_source_rgb(cr, (rgb >> 16 & 0xff) / 255.0, (rgb >> 8 & 0xff) / 255.0,
                         (rgb & 0xff) / 255.0);
}

int otadI_canvas_new(otadI_canvas *c, size_t width, size_t height, unsigned background)
{
    c->cr = NULL;
    c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)width, (int)height);
    if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(c->surface);
        c->surface = NULL;
        return OTAD_ENOMEM;
    }
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        otadI_canvas_free(c);
        return OTAD_ENOMEM;
    }
    c->width = (int)width;
    c->height = (int)height;
    cairo_select_font_face(c->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_ROUND);
    otadI_canvas_unclip(c);
    otadI_fill(c, 0, 0, c->width, c->height, background);
    return OTAD_OK;
}

void otadI_canvas_free(otadI_canvas *c)
{
    cairo_destroy(c->cr);
    cairo_surface_destroy(c->surface);
    c->cr = NULL;
    c->surface = NULL;
}

void otadI_canvas_clip(otadI_canvas *c, int x0, int y0, int x1, int y1)
{
    c->clip_x0 = x0 < 0 ? 0 : x0;
    c->clip_y0 = y0 < 0 ? 0 : y0;
    c->clip_x1 = x1 > c->width ? c->width : x1;
    c->clip_y1 = y1 > c->height ? c->height : y1;
    cairo_reset_clip(c->cr);
    if (c->clip_x1 > c->clip_x0 && c->clip_y1 > c->clip_y0)
        cairo_rectangle(c->cr, c->clip_x0, c->clip_y0, c->clip_x1 - c->clip_x0,
                        c->clip_y1 - c->clip_y0);
    else
        cairo_rectangle(c->cr, 0, 0, 0, 0);
    cairo_clip(c->cr);
}

void otadI_canvas_unclip(otadI_canvas *c)
{
    otadI_canvas_clip(c, 0, 0, c->width, c->height);
}

/* Pixel (x, y) of a flushed surface as 0xRRGGBB (RGB24 keeps it in a
 * native 32-bit word). */
static unsigned pixel_at(const unsigned char *data, size_t stride, int x, int y)
{
    uint32_t pixel;
    memcpy(&pixel, data + (size_t)y * stride + 4 * (size_t)x, sizeof pixel);
    return pixel & 0xFFFFFF;
}

unsigned otadI_pixel(const otadI_canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height)
        return 0;
    cairo_surface_flush(c->surface);
    return pixel_at(cairo_image_surface_get_data(c->surface),
                    (size_t)cairo_image_surface_get_stride(c->surface), x, y);
}

void otadI_fill(otadI_canvas *c, int x0, int y0, int x1, int y1, unsigned rgb)
{
    if (x1 <= x0 || y1 <= y0)
        return;
    set_colour(c->cr, rgb);
    cairo_rectangle(c->cr, x0, y0, x1 - x0, y1 - y0);
    cairo_fill(c->cr);
}

void otadI_line(otadI_canvas *c, double x0, double y0, double x1, double y1, double width,
                unsigned rgb)
{
    set_colour(c->cr, rgb);
    cairo_set_line_width(c->cr, width);
    cairo_move_to(c->cr, x0, y0);
    cairo_line_to(c->cr, x1, y1);
    cairo_stroke(c->cr);
}

void otadI_disc(otadI_canvas *c, double x, double y, double radius, unsigned rgb)
{
    set_colour(c->cr, rgb);
    cairo_new_sub_path(c->cr);
    cairo_arc(c->cr, x, y, radius, 0, 2 * pi);
    cairo_fill(c->cr);
}

int otadI_canvas_write(const otadI_canvas *c, const char *path, otad_error *err)
{
    size_t w = (size_t)c->width, h = (size_t)c->height;
    unsigned char *rgb = malloc(3 * w * h);
    if (!rgb)
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory for a %zux%zu picture", w, h);
    cairo_surface_flush(c->surface);
    const unsigned char *data = cairo_image_surface_get_data(c->surface);
    size_t stride = (size_t)cairo_image_surface_get_stride(c->surface);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            unsigned p = pixel_at(data, stride, (int)x, (int)y);
            unsigned char *out = rgb + 3 * (y * w + x);
            out[0] = (unsigned char)(p >> 16), out[1] = (unsigned char)(p >> 8);
            out[2] = (unsigned char)p;
        }
    int rc = otad_png_write_rgb(path, rgb, w, h, err);
    free(rgb);
    return rc;
}

/* ---- text ----------------------------------------------------------------- */

/* s with bytes outside printable ASCII as '?' (cairo takes UTF-8, which
 * arbitrary bytes are not), at most cap − 1 of them. */
static const char *printable(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; s[n] && n + 1 < cap; n++)
        buf[n] = (unsigned char)s[n] < 32 || (unsigned char)s[n] > 126 ? '?' : s[n];
    buf[n] = 0;
    return buf;
}

static double advance(cairo_t *cr, const char *s, int scale)
{
    char buf[512];
    cairo_text_extents_t e;
    cairo_set_font_size(cr, FONT_SIZE * scale);
    cairo_text_extents(cr, printable(s, buf, sizeof buf), &e);
    return e.x_advance;
}

int otadI_text_width(const char *s, int scale)
{
    /* measured on a surface of its own: layouts measure before the canvas */
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(surface);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    double w = *s ? advance(cr, s, scale) : 0;
    int ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
    cairo_destroy(cr);
    cairo_surface_destroy(surface);
    return ok ? (int)ceil(w) : OTADI_GLYPH_ADVANCE * scale * (int)strlen(s);
}

const char *otadI_text_fit(const char *s, int scale, int max_width, char *buf, size_t cap)
{
    if (otadI_text_width(s, scale) <= max_width)
        return s;
    size_t keep = strlen(s) < cap - 4 ? strlen(s) : cap - 4;
    do {
        memcpy(buf, s, keep);
        strcpy(buf + keep, "...");
    } while (keep-- > 0 && otadI_text_width(buf, scale) > max_width);
    return otadI_text_width(buf, scale) <= max_width ? buf : "";
}

void otadI_text(otadI_canvas *c, int x, int y, const char *s, int scale, unsigned rgb, int up)
{
    char buf[512];
    cairo_t *cr = c->cr;
    double w = advance(cr, s, scale), base = BASELINE * scale;
    cairo_save(cr);
    set_colour(cr, rgb);
    if (up) { /* turned a quarter: the baseline runs up, the glyphs' tops face left */
        cairo_translate(cr, x + base, y + w);
        cairo_rotate(cr, -pi / 2);
        cairo_move_to(cr, 0, 0);
    } else {
        cairo_move_to(cr, x, y + base);
    }
    cairo_show_text(cr, printable(s, buf, sizeof buf));
    cairo_restore(cr);
}
