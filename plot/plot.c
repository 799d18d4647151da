/* Line and scatter plots. */
#include <math.h>
#include <stdlib.h>

#include "plot_internal.h"

static double x_at(const otad_plot_series *s, size_t i)
{
    return s->x ? s->x[i] : (double)i;
}

static int check_point(const otad_plot_series *s, size_t k, size_t i, const otad_plot_opts *o,
                       const char *path, otad_error *err)
{
    double x = x_at(s, i), y = s->y[i];
    if (!isfinite(x) || !isfinite(y))
        return otadI_fail(err, OTAD_EDOMAIN, path, "series %zu: point %zu is (%g, %g)", k, i,
                          x, y);
    if ((o->log_x && x <= 0) || (o->log_y && y <= 0))
        return otadI_fail(err, OTAD_EDOMAIN, path,
                          "series %zu: point %zu is (%g, %g), a log axis needs values > 0", k,
                          i, x, y);
    return OTAD_OK;
}

static int check_series(const otad_plot_series *s, size_t n, const otad_plot_opts *o,
                        const char *path, otad_error *err)
{
    if (!s || !n)
        return otadI_fail(err, OTAD_EINVAL, path, "no series to plot");
    for (size_t k = 0; k < n; k++) {
        if (!s[k].y || !s[k].n)
            return otadI_fail(err, OTAD_EINVAL, path, "series %zu has no points", k);
        if (s[k].style < 0 || s[k].style > (OTAD_PLOT_LINE | OTAD_PLOT_MARKERS))
            return otadI_fail(err, OTAD_EINVAL, path, "series %zu: unknown style %d", k,
                              s[k].style);
        if (s[k].rgb > 0xFFFFFF)
            return otadI_fail(err, OTAD_EINVAL, path, "series %zu: colour 0x%x is not 0xRRGGBB",
                              k, s[k].rgb);
        for (size_t i = 0; i < s[k].n; i++) {
            int rc = check_point(&s[k], k, i, o, path, err);
            if (rc != OTAD_OK)
                return rc;
        }
    }
    return OTAD_OK;
}

static double unit(double v, int log)
{
    return log ? log10(v) : v;
}

/* The given bounds, and the data's range with a margin where none is given;
 * around the given bound when all the data lie beyond it. */
static int set_range(otadI_axis *ax, double data_lo, double data_hi, double given_lo,
                     double given_hi, char name, const char *path, otad_error *err)
{
    int has_lo = !isnan(given_lo), has_hi = !isnan(given_hi);
    double lo = has_lo ? unit(given_lo, ax->log) : data_lo;
    double hi = has_hi ? unit(given_hi, ax->log) : data_hi;
    if (has_lo && hi < lo)
        hi = lo;
    if (has_hi && lo > hi)
        lo = hi;
    otadI_axis_auto(ax, lo, hi);
    if (has_lo)
        ax->lo = lo;
    if (has_hi)
        ax->hi = hi;
    if (!isfinite(ax->hi - ax->lo))
        return otadI_fail(err, OTAD_EDOMAIN, path, "the %c values span too wide a range", name);
    return OTAD_OK;
}

static int ranges(otadI_chart *ch, const otad_plot_series *s, size_t n, const char *path,
                  otad_error *err)
{
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double x = unit(x_at(&s[k], i), ch->x.log), y = unit(s[k].y[i], ch->y.log);
            x_lo = fmin(x_lo, x), x_hi = fmax(x_hi, x);
            y_lo = fmin(y_lo, y), y_hi = fmax(y_hi, y);
        }
    const otad_plot_opts *o = ch->opts;
    int rc = set_range(&ch->x, x_lo, x_hi, o->x_min, o->x_max, 'x', path, err);
    return rc != OTAD_OK ? rc : set_range(&ch->y, y_lo, y_hi, o->y_min, o->y_max, 'y', path, err);
}

/* A pixel coordinate, held finite for points far outside the range. */
static double pixel(const otadI_axis *ax, double v)
{
    double p = otadI_axis_pixel(ax, unit(v, ax->log));
    return p > 1e300 ? 1e300 : p < -1e300 ? -1e300 : p;
}

static void draw_series(otadI_chart *ch, const otad_plot_series *s, unsigned rgb, int fs)
{
    int style = s->style ? s->style : OTAD_PLOT_LINE;
    double px = 0, py = 0;
    for (size_t i = 0; (style & OTAD_PLOT_LINE) && i < s->n; i++) {
        double qx = pixel(&ch->x, x_at(s, i)), qy = pixel(&ch->y, s->y[i]);
        if (i)
            otadI_line(&ch->canvas, px, py, qx, qy, 2.0 * fs, rgb);
        px = qx, py = qy;
    }
    double radius = (s->n > 400 ? 1.8 : 2.8) * fs;
    for (size_t i = 0; (style & OTAD_PLOT_MARKERS) && i < s->n; i++)
        otadI_disc(&ch->canvas, pixel(&ch->x, x_at(s, i)), pixel(&ch->y, s->y[i]), radius, rgb);
}

int otad_png_write_plot(const char *path, const otad_plot_series *series, size_t n_series,
                        const otad_plot_opts *opts, otad_error *err)
{
    otad_plot_opts defaults;
    if (!opts)
        otad_plot_opts_init(&defaults), opts = &defaults;
    if (!path)
        return otadI_fail(err, OTAD_EINVAL, NULL, "no file name (path is NULL)");
    int rc = otadI_check_plot_opts(opts, path, err);
    if (rc == OTAD_OK)
        rc = check_series(series, n_series, opts, path, err);
    otadI_chart ch = {.opts = opts, .x_numeric = 1};
    ch.x.log = opts->log_x;
    ch.y.log = opts->log_y;
    if (rc == OTAD_OK)
        rc = ranges(&ch, series, n_series, path, err);
    otadI_legend_entry *entries = rc == OTAD_OK ? malloc(n_series * sizeof *entries) : NULL;
    if (rc == OTAD_OK && !entries)
        rc = otadI_fail(err, OTAD_ENOMEM, path, "out of memory");
    if (rc == OTAD_OK)
        rc = otadI_chart_begin(&ch, path, err);
    if (rc != OTAD_OK) {
        free(entries);
        return rc;
    }
    for (size_t k = 0; k < n_series; k++) {
        unsigned rgb = series[k].rgb ? series[k].rgb : otadI_series_colour(k);
        draw_series(&ch, &series[k], rgb, ch.scale);
        entries[k] = (otadI_legend_entry){series[k].label, rgb,
                                          series[k].style ? series[k].style : OTAD_PLOT_LINE};
    }
    rc = otadI_chart_finish(&ch, entries, n_series, path, err);
    free(entries);
    return rc;
}
