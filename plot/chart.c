/* The frame shared by plots and bar charts: layout, grid, axes with ticks
 * and labels, title, legend. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "plot_internal.h"

#define BACKGROUND 0xFFFFFFu
#define GRID 0xE6E6E6u
#define MINOR_GRID 0xF3F3F3u
#define FRAME 0x404040u
#define TEXT 0x202020u

/* Distinct at a glance and on a white background; our own choice. */
static const unsigned palette[] = {0x1F5FBF, 0xD9481C, 0x2E9E44, 0x8E44AD, 0xE0A100,
                                   0x17A2B8, 0x9C5A2E, 0xD63A8A, 0x555555};

unsigned otadI_series_colour(size_t k)
{
    return palette[k % (sizeof palette / sizeof *palette)];
}

void otad_plot_opts_init(otad_plot_opts *opts)
{
    if (!opts)
        return;
    *opts = (otad_plot_opts){.width = 640, .height = 480, .x_min = NAN, .x_max = NAN,
                             .y_min = NAN, .y_max = NAN};
}

static int check_range(double lo, double hi, int log, char axis, const char *path,
                       otad_error *err)
{
    if ((!isnan(lo) && !isfinite(lo)) || (!isnan(hi) && !isfinite(hi)))
        return otadI_fail(err, OTAD_EINVAL, path, "%c range %g..%g is not finite", axis, lo, hi);
    if (log && (lo <= 0 || hi <= 0))
        return otadI_fail(err, OTAD_EINVAL, path, "%c range %g..%g on a log axis must be > 0",
                          axis, lo, hi);
    if (lo >= hi)
        return otadI_fail(err, OTAD_EINVAL, path, "%c range %g..%g is empty", axis, lo, hi);
    return OTAD_OK;
}

int otadI_check_plot_opts(const otad_plot_opts *o, const char *path, otad_error *err)
{
    if (o->width < 200 || o->height < 150 || o->width > OTAD_IMAGE_MAX_SIDE ||
        o->height > OTAD_IMAGE_MAX_SIDE)
        return otadI_fail(err, OTAD_EINVAL, path, "%zux%zu pixels: from 200x150 to %dx%d",
                          o->width, o->height, OTAD_IMAGE_MAX_SIDE, OTAD_IMAGE_MAX_SIDE);
    const int flags[3] = {o->log_x, o->log_y, o->equal_aspect};
    const char *names[3] = {"log_x", "log_y", "equal_aspect"};
    for (int k = 0; k < 3; k++)
        if (flags[k] != 0 && flags[k] != 1)
            return otadI_fail(err, OTAD_EINVAL, path, "%s is %d, must be 0 or 1", names[k],
                              flags[k]);
    int rc = check_range(o->x_min, o->x_max, o->log_x, 'x', path, err);
    return rc != OTAD_OK ? rc : check_range(o->y_min, o->y_max, o->log_y, 'y', path, err);
}

/* Sizes in pixels, all growing with the picture so that labels stay legible. */
typedef struct metrics {
    int fs, pad, tick, text_h, title_scale;
} metrics;

static metrics metrics_of(const otad_plot_opts *o)
{
    size_t s = o->width / 640 < o->height / 480 ? o->width / 640 : o->height / 480;
    int fs = s < 1 ? 1 : s > 8 ? 8 : (int)s;
    return (metrics){fs, 8 * fs, 4 * fs, OTADI_GLYPH_HEIGHT * fs, 2 * fs};
}

/* Widens one range so that a unit is as long on both axes; 1 if it changed. */
static int widen(otadI_chart *ch)
{
    double w = ch->right - ch->left, h = ch->bottom - ch->top;
    double ux = (ch->x.hi - ch->x.lo) / w, uy = (ch->y.hi - ch->y.lo) / h;
    otadI_axis *a = ux > uy ? &ch->y : &ch->x;
    double half = fmax(ux, uy) * (ux > uy ? h : w) / 2, mid = (a->lo + a->hi) / 2;
    if (fabs(2 * half - (a->hi - a->lo)) <= 1e-9 * (a->hi - a->lo))
        return 0;
    a->lo = mid - half;
    a->hi = mid + half;
    return 1;
}

/* x ticks whose labels do not touch: sparser until they fit. */
static void x_ticks(otadI_chart *ch, const metrics *m)
{
    double length = ch->right - ch->left, spacing = 90.0 * m->fs;
    for (int tries = 0; tries < 6; tries++, spacing *= 1.5) {
        otadI_axis_ticks(&ch->x, length, spacing);
        double gap = INFINITY;
        for (size_t k = 1; k < ch->x.n_ticks; k++)
            gap = fmin(gap, (ch->x.tick[k] - ch->x.tick[k - 1]) / (ch->x.hi - ch->x.lo) * length);
        if (otadI_axis_label_width(&ch->x, m->fs) + 3 * OTADI_GLYPH_ADVANCE * m->fs <= gap)
            return;
    }
}

/* The plot area follows from the labels around it, and the ticks (so the
 * labels) from the area: repeat until nothing moves. */
static void layout(otadI_chart *ch)
{
    const otad_plot_opts *o = ch->opts;
    metrics m = metrics_of(o);
    int width = (int)o->width, height = (int)o->height;
    ch->scale = m.fs;
    ch->top = m.pad + (o->title ? OTADI_GLYPH_HEIGHT * m.title_scale + m.pad : m.text_h / 2);
    ch->bottom = height - (1 + m.tick + 3 * m.fs + m.text_h +
                           (o->x_label ? m.pad + m.text_h : 0) + m.pad);
    ch->tick_label_y = ch->bottom + 1 + m.tick + 3 * m.fs;
    ch->left = 0;
    ch->right = width - 2 * m.pad;
    for (int pass = 0; pass < 6; pass++) {
        int left = ch->left, right = ch->right;
        otadI_axis_ticks(&ch->y, ch->bottom - ch->top, 50.0 * m.fs);
        ch->left = m.pad + (o->y_label ? m.text_h + m.pad : 0) +
                   otadI_axis_label_width(&ch->y, m.fs) + 3 * m.fs + m.tick + 1;
        if (ch->x_numeric) {
            x_ticks(ch, &m);
            size_t last = ch->x.n_ticks ? ch->x.n_ticks - 1 : 0;
            int half = ch->x.n_ticks ? otadI_text_width(ch->x.label[last], m.fs) / 2 + 2 : 0;
            ch->right = width - (half > 2 * m.pad ? half : 2 * m.pad);
        }
        int widened = o->equal_aspect && ch->right - ch->left > 0 && widen(ch);
        if (pass && !widened && left == ch->left && right == ch->right)
            break;
    }
    ch->x.p_lo = ch->left;
    ch->x.p_hi = ch->right;
    ch->y.p_lo = ch->bottom;
    ch->y.p_hi = ch->top;
}

static void grid(otadI_chart *ch)
{
    otadI_canvas *c = &ch->canvas;
    for (size_t k = 0; k < ch->y.n_minor; k++) {
        int y = (int)floor(otadI_axis_pixel(&ch->y, ch->y.minor[k]));
        otadI_fill(c, ch->left, y, ch->right, y + 1, MINOR_GRID);
    }
    for (size_t k = 0; ch->x_numeric && k < ch->x.n_minor; k++) {
        int x = (int)floor(otadI_axis_pixel(&ch->x, ch->x.minor[k]));
        otadI_fill(c, x, ch->top, x + 1, ch->bottom, MINOR_GRID);
    }
    for (size_t k = 0; k < ch->y.n_ticks; k++) {
        int y = (int)floor(otadI_axis_pixel(&ch->y, ch->y.tick[k]));
        otadI_fill(c, ch->left, y, ch->right, y + 1, GRID);
    }
    for (size_t k = 0; ch->x_numeric && k < ch->x.n_ticks; k++) {
        int x = (int)floor(otadI_axis_pixel(&ch->x, ch->x.tick[k]));
        otadI_fill(c, x, ch->top, x + 1, ch->bottom, GRID);
    }
}

int otadI_chart_begin(otadI_chart *ch, const char *path, otad_error *err)
{
    layout(ch);
    if (ch->right - ch->left < 40 || ch->bottom - ch->top < 40)
        return otadI_fail(err, OTAD_EINVAL, path,
                          "%zux%zu pixels leave too little room for the plot beside its labels",
                          ch->opts->width, ch->opts->height);
    if (otadI_canvas_new(&ch->canvas, ch->opts->width, ch->opts->height, BACKGROUND) != OTAD_OK)
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zux%zu pixels",
                          ch->opts->width, ch->opts->height);
    grid(ch);
    otadI_canvas_clip(&ch->canvas, ch->left, ch->top, ch->right, ch->bottom);
    return OTAD_OK;
}

static void frame_and_ticks(otadI_chart *ch, const metrics *m)
{
    otadI_canvas *c = &ch->canvas;
    int l = ch->left - 1, r = ch->right, t = ch->top - 1, b = ch->bottom;
    otadI_fill(c, l, t, r + 1, t + 1, FRAME);
    otadI_fill(c, l, b, r + 1, b + 1, FRAME);
    otadI_fill(c, l, t, l + 1, b + 1, FRAME);
    otadI_fill(c, r, t, r + 1, b + 1, FRAME);
    for (size_t k = 0; k < ch->y.n_ticks; k++) {
        int y = (int)floor(otadI_axis_pixel(&ch->y, ch->y.tick[k]));
        int w = otadI_text_width(ch->y.label[k], m->fs);
        otadI_fill(c, l - m->tick, y, l, y + 1, FRAME);
        otadI_text(c, l - m->tick - 3 * m->fs - w, y - 7 * m->fs / 2, ch->y.label[k], m->fs,
                   TEXT, 0);
    }
    for (size_t k = 0; ch->x_numeric && k < ch->x.n_ticks; k++) {
        int x = (int)floor(otadI_axis_pixel(&ch->x, ch->x.tick[k]));
        int w = otadI_text_width(ch->x.label[k], m->fs);
        otadI_fill(c, x, b + 1, x + 1, b + 1 + m->tick, FRAME);
        otadI_text(c, x - w / 2, ch->tick_label_y, ch->x.label[k], m->fs, TEXT, 0);
    }
}

/* Centred on the plot area where they fit, else held inside the picture;
 * a title too wide is drawn smaller, then shortened. */
static void titles(otadI_chart *ch, const metrics *m)
{
    const otad_plot_opts *o = ch->opts;
    otadI_canvas *c = &ch->canvas;
    int centre = (ch->left + ch->right) / 2, room = c->width - 2 * m->pad;
    char buf[256];
    if (o->title) {
        int scale = m->title_scale;
        if (otadI_text_width(o->title, scale) > room)
            scale = m->fs;
        const char *t = otadI_text_fit(o->title, scale, room, buf, sizeof buf);
        int w = otadI_text_width(t, scale), x = centre - w / 2;
        x = x + w > c->width - m->pad ? c->width - m->pad - w : x;
        otadI_text(c, x < m->pad ? m->pad : x, m->pad, t, scale, TEXT, 0);
    }
    if (o->x_label) {
        const char *t = otadI_text_fit(o->x_label, m->fs, room, buf, sizeof buf);
        int w = otadI_text_width(t, m->fs), x = centre - w / 2;
        x = x + w > c->width - m->pad ? c->width - m->pad - w : x;
        otadI_text(c, x < m->pad ? m->pad : x, ch->tick_label_y + m->text_h + m->pad, t, m->fs,
                   TEXT, 0);
    }
    if (o->y_label) {
        const char *t = otadI_text_fit(o->y_label, m->fs, c->height - 2 * m->pad, buf, sizeof buf);
        int w = otadI_text_width(t, m->fs), y = (ch->top + ch->bottom) / 2 - w / 2;
        y = y + w > c->height - m->pad ? c->height - m->pad - w : y;
        otadI_text(c, m->pad, y < m->pad ? m->pad : y, t, m->fs, TEXT, 1);
    }
}

/* Pixels in a rectangle that something was drawn on (not background or grid). */
static size_t ink(const otadI_canvas *c, int x0, int y0, int w, int h)
{
    size_t n = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) {
            unsigned p = otadI_pixel(c, x, y);
            n += p != BACKGROUND && p != GRID && p != MINOR_GRID;
        }
    return n;
}

static void legend_entry(otadI_canvas *c, int x, int y, const otadI_legend_entry *e,
                         int label_room, const metrics *m)
{
    char buf[256];
    int sample = 22 * m->fs, mid = y + 7 * m->fs / 2;
    if (!e->style) {
        otadI_fill(c, x + 5 * m->fs, y, x + sample - 5 * m->fs, y + 7 * m->fs, e->rgb);
    } else {
        if (e->style & OTAD_PLOT_LINE)
            otadI_line(c, x, mid + 0.5, x + sample, mid + 0.5, 2.0 * m->fs, e->rgb);
        if (e->style & OTAD_PLOT_MARKERS)
            otadI_disc(c, x + sample / 2.0, mid + 0.5, 3.0 * m->fs, e->rgb);
    }
    otadI_text(c, x + sample + 6 * m->fs, y,
               otadI_text_fit(e->label, m->fs, label_room, buf, sizeof buf), m->fs, TEXT, 0);
}

/* In the corner of the plot area with the least drawing under it. */
static void legend(otadI_chart *ch, const otadI_legend_entry *e, size_t n, const metrics *m)
{
    size_t shown = 0;
    int label_w = 0;
    for (size_t k = 0; k < n; k++)
        if (e[k].label) {
            int w = otadI_text_width(e[k].label, m->fs);
            label_w = w > label_w ? w : label_w;
            shown++;
        }
    if (!shown)
        return;
    int line_h = 13 * m->fs, inset = 6 * m->fs;
    int room = ch->right - ch->left - 2 * inset - 2 * m->pad - 28 * m->fs;
    label_w = label_w < room ? label_w : room;
    int w = 2 * m->pad + 28 * m->fs + label_w, h = m->pad + (int)shown * line_h;
    int xs[2] = {ch->right - inset - w, ch->left + inset};
    int ys[2] = {ch->top + inset, ch->bottom - inset - h};
    int best = 0;
    size_t least = SIZE_MAX;
    for (int k = 0; k < 4; k++) {
        size_t covered = ink(&ch->canvas, xs[k % 2], ys[k / 2], w, h);
        if (covered < least)
            least = covered, best = k;
    }
    otadI_canvas *c = &ch->canvas;
    int x = xs[best % 2], y = ys[best / 2];
    otadI_fill(c, x, y, x + w, y + h, BACKGROUND);
    otadI_fill(c, x, y, x + w, y + 1, 0xB0B0B0);
    otadI_fill(c, x, y + h - 1, x + w, y + h, 0xB0B0B0);
    otadI_fill(c, x, y, x + 1, y + h, 0xB0B0B0);
    otadI_fill(c, x + w - 1, y, x + w, y + h, 0xB0B0B0);
    for (size_t k = 0, row = 0; k < n; k++)
        if (e[k].label)
            legend_entry(c, x + m->pad, y + m->pad / 2 + 3 * m->fs + (int)row++ * line_h, &e[k],
                         label_w, m);
}

int otadI_chart_finish(otadI_chart *ch, const otadI_legend_entry *legend_entries,
                       size_t n_legend, const char *path, otad_error *err)
{
    metrics m = metrics_of(ch->opts);
    otadI_canvas_unclip(&ch->canvas);
    legend(ch, legend_entries, n_legend, &m);
    frame_and_ticks(ch, &m);
    titles(ch, &m);
    int rc = otadI_canvas_write(&ch->canvas, path, err);
    otadI_canvas_free(&ch->canvas);
    return rc;
}
