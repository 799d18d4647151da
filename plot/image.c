/* Heat maps and strips of images on one colour scale. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "plot_internal.h"

void otad_image_opts_init(otad_image_opts *opts)
{
    if (!opts)
        return;
    *opts = (otad_image_opts){.vmin = 0, .vmax = 0, .colormap = OTAD_COLORMAP_HEAT,
                              .scale = 1, .gap = 4, .background = 0xFFFFFF, .captions = NULL,
                              .colorbar = 0};
}

int otadI_check_image_opts(const otad_image_opts *o, const char *path, otad_error *err)
{
    if (o->colormap < OTAD_COLORMAP_HEAT || o->colormap > OTAD_COLORMAP_DIVERGING)
        return otadI_fail(err, OTAD_EINVAL, path, "unknown colormap %d", o->colormap);
    if (o->scale < 1 || o->scale > OTAD_IMAGE_MAX_SIDE || o->gap < 0 ||
        o->gap > OTAD_IMAGE_MAX_SIDE)
        return otadI_fail(err, OTAD_EINVAL, path, "scale %d, gap %d: need scale >= 1, gap >= 0",
                          o->scale, o->gap);
    if (!isfinite(o->vmin) || !isfinite(o->vmax))
        return otadI_fail(err, OTAD_EINVAL, path, "colour range %g..%g is not finite", o->vmin,
                          o->vmax);
    if (o->vmin > o->vmax)
        return otadI_fail(err, OTAD_EINVAL, path, "colour range vmin %g > vmax %g", o->vmin,
                          o->vmax);
    if (o->colorbar != 0 && o->colorbar != 1)
        return otadI_fail(err, OTAD_EINVAL, path, "colorbar is %d, must be 0 or 1", o->colorbar);
    if (o->background > 0xFFFFFF)
        return otadI_fail(err, OTAD_EINVAL, path, "background 0x%x is not 0xRRGGBB",
                          o->background);
    return OTAD_OK;
}

int otadI_value_range(const double *const *images, size_t n, size_t count,
                      const otad_image_opts *o, int nan_allowed, double range[2],
                      const char *path, otad_error *err)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < count; k++) {
            double v = images[i][k];
            if (nan_allowed && isnan(v))
                continue;
            if (!isfinite(v))
                return otadI_fail(err, OTAD_EDOMAIN, path, "image %zu: value %zu is %g", i, k,
                                  v);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    if (lo > hi) /* nothing but NaN */
        lo = hi = 0;
    if (o->vmin < o->vmax)
        lo = o->vmin, hi = o->vmax;
    else if (o->colormap == OTAD_COLORMAP_DIVERGING)
        hi = fmax(fabs(lo), fabs(hi)), lo = -hi;
    range[0] = lo;
    range[1] = hi;
    return OTAD_OK;
}

typedef struct strip_layout {
    size_t cell_w, cell_h, width, height;
    int caption_scale, caption_h;
    size_t bar_x, bar_w; /* the colour bar's left edge and width; 0 wide: none */
    otadI_axis bar_axis; /* its values */
} strip_layout;

/* The colour bar's values: range[0] at the bottom of the images, range[1] at
 * the top, ticks at round numbers (one label for a range of one value). */
static void bar_axis(strip_layout *l, const double range[2], int scale)
{
    otadI_axis *ax = &l->bar_axis;
    *ax = (otadI_axis){.lo = range[0], .hi = range[1], .p_lo = (double)l->cell_h - 1,
                       .p_hi = 0};
    if (range[1] > range[0]) {
        otadI_axis_ticks(ax, (double)l->cell_h, 3.0 * OTADI_GLYPH_HEIGHT * scale);
    } else {
        ax->n_ticks = 1, ax->tick[0] = range[0], ax->p_hi = ax->p_lo = (double)l->cell_h / 2;
        snprintf(ax->label[0], sizeof ax->label[0], "%.3g", range[0]);
    }
}

static int layout(size_t n, size_t w, size_t h, const otad_image_opts *o,
                  const double range[2], strip_layout *l, const char *path, otad_error *err)
{
    size_t max = OTAD_IMAGE_MAX_SIDE;
    if (w > max || h > max || n > max)
        return otadI_fail(err, OTAD_EINVAL, path, "%zu images of %zux%zu: too large", n, w, h);
    l->cell_w = w * (size_t)o->scale;
    l->cell_h = h * (size_t)o->scale;
    l->caption_scale = l->cell_w >= 160 ? 2 : 1;
    l->caption_h = o->captions ? (OTADI_GLYPH_HEIGHT + 3) * l->caption_scale : 0;
    l->width = n * l->cell_w + (n - 1) * (size_t)o->gap;
    l->height = l->cell_h + (size_t)l->caption_h;
    if (o->colorbar) { /* a gap, the bar, a tick and the widest label */
        bar_axis(l, range, l->caption_scale);
        l->bar_x = l->width + (size_t)(o->gap > 4 ? o->gap : 4) * 2;
        l->bar_w = (size_t)(4 * l->caption_scale + 8);
        l->width = l->bar_x + l->bar_w + 6 +
                   (size_t)otadI_axis_label_width(&l->bar_axis, l->caption_scale) + 6;
        if (l->height < (size_t)(OTADI_GLYPH_HEIGHT * l->caption_scale))
            l->height = (size_t)(OTADI_GLYPH_HEIGHT * l->caption_scale);
    }
    if (l->width > max || l->height > max)
        return otadI_fail(err, OTAD_EINVAL, path,
                          "the picture would be %zux%zu pixels, at most %zu per side", l->width,
                          l->height, max);
    return OTAD_OK;
}

static void draw_image(otadI_canvas *c, int x0, const double *v, size_t w, size_t h,
                       const double range[2], const otad_image_opts *o)
{
    double span = range[1] - range[0];
    for (size_t r = 0; r < h; r++)
        for (size_t col = 0; col < w; col++) {
            double t = span > 0 ? (v[r * w + col] - range[0]) / span : 0.5;
            int x = x0 + (int)col * o->scale, y = (int)r * o->scale;
            otadI_fill(c, x, y, x + o->scale, y + o->scale, otad_colormap(o->colormap, t));
        }
}

/* The colour bar and its labels, in the background's contrasting ink. */
static void draw_colorbar(otadI_canvas *c, const strip_layout *l, const otad_image_opts *o)
{
    const otadI_axis *ax = &l->bar_axis;
    int x0 = (int)l->bar_x, x1 = x0 + (int)l->bar_w, h = (int)l->cell_h, s = l->caption_scale;
    for (int y = 0; y < h; y++)
        otadI_fill(c, x0, y, x1, y + 1,
                   otad_colormap(o->colormap, h > 1 ? 1 - (double)y / (h - 1) : 0.5));
    double luma = 0.2126 * (o->background >> 16) + 0.7152 * (o->background >> 8 & 0xff) +
                  0.0722 * (o->background & 0xff);
    unsigned ink = luma < 128 ? 0xFFFFFF : 0x202020;
    for (size_t k = 0; k < ax->n_ticks; k++) {
        int y = (int)lround(otadI_axis_pixel(ax, ax->tick[k]));
        otadI_fill(c, x1, y, x1 + 3, y + 1, ink);
        int top = y - OTADI_GLYPH_HEIGHT * s / 2, bottom = (int)l->height - OTADI_GLYPH_HEIGHT * s;
        top = top < 1 ? 1 : top > bottom ? bottom : top;
        otadI_text(c, x1 + 6, top, ax->label[k], s, ink, 0);
    }
}

/* Centred under the image, shortened to its width. */
static void draw_caption(otadI_canvas *c, int x0, const strip_layout *l, const char *caption,
                         unsigned background)
{
    char buf[256];
    const char *text = otadI_text_fit(caption, l->caption_scale, (int)l->cell_w, buf, sizeof buf);
    double luma = 0.2126 * (background >> 16) + 0.7152 * (background >> 8 & 0xff) +
                  0.0722 * (background & 0xff);
    int w = otadI_text_width(text, l->caption_scale), cell = (int)l->cell_w;
    otadI_text(c, x0 + (cell - w) / 2, (int)l->cell_h + 2 * l->caption_scale, text,
               l->caption_scale, luma < 128 ? 0xFFFFFF : 0x202020, 0);
}

int otad_png_write_strip(const char *path, const double *const *images, size_t n_images,
                         size_t width, size_t height, const otad_image_opts *opts,
                         otad_error *err)
{
    otad_image_opts defaults;
    if (!opts)
        otad_image_opts_init(&defaults), opts = &defaults;
    if (!images || !n_images || !width || !height)
        return otadI_fail(err, OTAD_EINVAL, path, "no images: %zu of %zux%zu%s", n_images,
                          width, height, images ? "" : ", images NULL");
    strip_layout l = {0};
    double range[2] = {0, 0};
    int rc = otadI_check_image_opts(opts, path, err);
    if (rc == OTAD_OK) /* the sizes first: images has n_images entries only if they fit */
        rc = layout(n_images, width, height, opts, range, &l, path, err);
    for (size_t i = 0; rc == OTAD_OK && i < n_images; i++)
        if (!images[i])
            rc = otadI_fail(err, OTAD_EINVAL, path, "image %zu is NULL", i);
    if (rc == OTAD_OK)
        rc = otadI_value_range(images, n_images, width * height, opts, 0, range, path, err);
    if (rc == OTAD_OK && opts->colorbar) /* again, with the range now known */
        rc = layout(n_images, width, height, opts, range, &l, path, err);
    otadI_canvas c;
    if (rc == OTAD_OK && otadI_canvas_new(&c, l.width, l.height, opts->background) != OTAD_OK)
        rc = otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zux%zu pixels", l.width,
                        l.height);
    if (rc != OTAD_OK)
        return rc;
    for (size_t i = 0; i < n_images; i++) {
        int x0 = (int)(i * (l.cell_w + (size_t)opts->gap));
        draw_image(&c, x0, images[i], width, height, range, opts);
        if (opts->captions && opts->captions[i])
            draw_caption(&c, x0, &l, opts->captions[i], opts->background);
    }
    if (opts->colorbar)
        draw_colorbar(&c, &l, opts);
    rc = otadI_canvas_write(&c, path, err);
    otadI_canvas_free(&c);
    return rc;
}

int otad_png_write_heatmap(const char *path, const double *values, size_t width,
                           size_t height, const otad_image_opts *opts, otad_error *err)
{
    const double *images[1] = {values};
    return otad_png_write_strip(path, images, 1, width, height, opts, err);
}
