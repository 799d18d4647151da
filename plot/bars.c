/* Bar charts: one bar per series side by side in each category. */
#include <math.h>
#include <stdlib.h>

#include "plot_internal.h"

static int check_bars(const otad_bar_series *s, size_t n, size_t n_categories,
                      const otad_plot_opts *o, const char *path, otad_error *err)
{
    if (o->log_x || o->log_y)
        return otadI_fail(err, OTAD_EINVAL, path, "bar charts have linear axes, not log");
    if (!s || !n || !n_categories)
        return otadI_fail(err, OTAD_EINVAL, path, "no bars: %zu series of %zu categories", n,
                          n_categories);
    for (size_t k = 0; k < n; k++) {
        if (!s[k].values)
            return otadI_fail(err, OTAD_EINVAL, path, "series %zu has no values (NULL)", k);
        if (s[k].rgb > 0xFFFFFF)
            return otadI_fail(err, OTAD_EINVAL, path, "series %zu: colour 0x%x is not 0xRRGGBB",
                              k, s[k].rgb);
        for (size_t i = 0; i < n_categories; i++)
            if (!isfinite(s[k].values[i]))
                return otadI_fail(err, OTAD_EDOMAIN, path, "series %zu: value %zu is %g", k, i,
                                  s[k].values[i]);
    }
    return OTAD_OK;
}

/* From 0 to the values, with a margin on the side(s) away from 0. */
static int y_range(otadI_axis *ax, const otad_bar_series *s, size_t n, size_t n_categories,
                   const otad_plot_opts *o, const char *path, otad_error *err)
{
    double lo = 0, hi = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < n_categories; i++)
            lo = fmin(lo, s[k].values[i]), hi = fmax(hi, s[k].values[i]);
    double span = hi - lo > 0 ? hi - lo : 1;
    ax->lo = lo < 0 ? lo - 0.05 * span : 0;
    ax->hi = hi > 0 || lo == 0 ? hi + 0.05 * span : 0;
    if (!isnan(o->y_min))
        ax->lo = o->y_min;
    if (!isnan(o->y_max))
        ax->hi = o->y_max;
    if (!(ax->hi > ax->lo))
        return otadI_fail(err, OTAD_EINVAL, path, "y range %g..%g leaves no room for the bars",
                          ax->lo, ax->hi);
    if (!isfinite(ax->hi - ax->lo))
        return otadI_fail(err, OTAD_EDOMAIN, path, "the values span too wide a range");
    return OTAD_OK;
}

/* Bars fill 80% of each category's slot, with a pixel between neighbours. */
static void draw_bars(otadI_chart *ch, const otad_bar_series *s, size_t n, size_t n_categories)
{
    double width = 0.8 / (double)n;
    int base = (int)lround(otadI_axis_pixel(&ch->y, 0));
    for (size_t i = 0; i < n_categories; i++)
        for (size_t k = 0; k < n; k++) {
            double x0 = (double)i + 0.1 + (double)k * width;
            int left = (int)lround(otadI_axis_pixel(&ch->x, x0));
            int right = (int)lround(otadI_axis_pixel(&ch->x, x0 + width));
            double py = otadI_axis_pixel(&ch->y, s[k].values[i]);
            int top = (int)lround(fmax(fmin(py, 1e6), -1e6));
            right -= n > 1 && right - left >= 4;
            otadI_fill(&ch->canvas, left, top < base ? top : base, right > left ? right : left + 1,
                       top < base ? base : top, s[k].rgb ? s[k].rgb : otadI_series_colour(k));
        }
    if (ch->y.lo < 0 && ch->y.hi > 0)
        otadI_fill(&ch->canvas, ch->left, base, ch->right, base + 1, 0x404040);
}

/* Under each slot. */
static void draw_labels(otadI_chart *ch, size_t n_categories, const char *const *labels)
{
    char number[24];
    double slot = (double)(ch->right - ch->left) / (double)n_categories;
    int widest = 0;
    for (size_t i = 0; i < n_categories; i++) {
        snprintf(number, sizeof number, "%zu", i);
        int w = otadI_text_width(labels && labels[i] ? labels[i] : number, ch->scale);
        widest = w > widest ? w : widest;
    }
    /* Numbers that would touch are thinned out; names are shortened instead,
     * as each one matters. */
    int space = 2 * OTADI_GLYPH_ADVANCE * ch->scale;
    size_t every = labels ? 1 : (size_t)ceil((widest + space) / slot);
    every = every < 1 ? 1 : every;
    int room = (int)(slot * (double)every) - space;
    otadI_canvas_unclip(&ch->canvas);
    for (size_t i = 0; i < n_categories; i += every) {
        char buf[256];
        snprintf(number, sizeof number, "%zu", i);
        const char *text = otadI_text_fit(labels && labels[i] ? labels[i] : number, ch->scale,
                                          room, buf, sizeof buf);
        int centre = (int)lround(otadI_axis_pixel(&ch->x, (double)i + 0.5));
        otadI_text(&ch->canvas, centre - otadI_text_width(text, ch->scale) / 2, ch->tick_label_y,
                   text, ch->scale, 0x202020, 0);
    }
}

int otad_png_write_bars(const char *path, const otad_bar_series *series, size_t n_series,
                        size_t n_categories, const char *const *category_labels,
                        const otad_plot_opts *opts, otad_error *err)
{
    otad_plot_opts defaults;
    if (!opts)
        otad_plot_opts_init(&defaults), opts = &defaults;
    if (!path)
        return otadI_fail(err, OTAD_EINVAL, NULL, "no file name (path is NULL)");
    int rc = otadI_check_plot_opts(opts, path, err);
    if (rc == OTAD_OK)
        rc = check_bars(series, n_series, n_categories, opts, path, err);
    otadI_chart ch = {.opts = opts, .x_numeric = 0};
    ch.x.lo = 0;
    ch.x.hi = (double)n_categories;
    if (rc == OTAD_OK)
        rc = y_range(&ch.y, series, n_series, n_categories, opts, path, err);
    otadI_legend_entry *entries = rc == OTAD_OK ? malloc(n_series * sizeof *entries) : NULL;
    if (rc == OTAD_OK && !entries)
        rc = otadI_fail(err, OTAD_ENOMEM, path, "out of memory");
    if (rc == OTAD_OK)
        rc = otadI_chart_begin(&ch, path, err);
    if (rc != OTAD_OK) {
        free(entries);
        return rc;
    }
    draw_bars(&ch, series, n_series, n_categories);
    draw_labels(&ch, n_categories, category_labels);
    for (size_t k = 0; k < n_series; k++) {
        unsigned rgb = series[k].rgb ? series[k].rgb : otadI_series_colour(k);
        entries[k] = (otadI_legend_entry){series[k].label, rgb, 0};
    }
    rc = otadI_chart_finish(&ch, entries, n_series, path, err);
    free(entries);
    return rc;
}
