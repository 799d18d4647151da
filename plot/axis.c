/* Axis ranges, and ticks at round numbers with their labels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot_internal.h"

void otadI_axis_auto(otadI_axis *ax, double t_min, double t_max)
{
    double span = t_max - t_min;
    if (span > 0) {
        ax->lo = t_min - 0.05 * span;
        ax->hi = t_max + 0.05 * span;
        return;
    }
    /* One value: half a decade around it on a log axis, else 10% of it. */
    double pad = ax->log ? 0.5 : t_min != 0 ? 0.1 * fabs(t_min) : 1;
    ax->lo = t_min - pad;
    ax->hi = t_max + pad;
}

double otadI_axis_pixel(const otadI_axis *ax, double t)
{
    return ax->p_lo + (t - ax->lo) / (ax->hi - ax->lo) * (ax->p_hi - ax->p_lo);
}

int otadI_axis_label_width(const otadI_axis *ax, int scale)
{
    int w = 0;
    for (size_t k = 0; k < ax->n_ticks; k++) {
        int wk = otadI_text_width(ax->label[k], scale);
        w = wk > w ? wk : w;
    }
    return w;
}

/* "2.50e-06" → "2.5e-6": no trailing zeros, no '+', no leading exponent zeros. */
static void tidy_exponent(char *s)
{
    char *e = strchr(s, 'e');
    if (!e)
        return;
    char exponent[8], *m = e;
    snprintf(exponent, sizeof exponent, "%d", atoi(e + 1));
    while (m > s && m[-1] == '0')
        m--;
    if (m > s && m[-1] == '.')
        m--;
    *m = 'e';
    strcpy(m + 1, exponent);
}

/* v to the precision of a tick step of 10^e_step (or finer), plainly when the
 * axis's largest value is of moderate size, else in exponent form. */
static void format_tick(double v, int e_step, double largest, char *buf, size_t cap)
{
    if (v == 0) {
        snprintf(buf, cap, "0");
    } else if (largest >= 1e-3 && largest < 1e6 && e_step >= -6) {
        snprintf(buf, cap, "%.*f", e_step < 0 ? -e_step : 0, v);
    } else {
        int digits = (int)floor(log10(largest)) - e_step;
        snprintf(buf, cap, "%.*e", digits < 0 ? 0 : digits > 12 ? 12 : digits, v);
        tidy_exponent(buf);
    }
}

static void add_tick(otadI_axis *ax, double t, double value, int e_step, double largest)
{
    if (ax->n_ticks == OTADI_MAX_TICKS)
        return;
    ax->tick[ax->n_ticks] = t;
    format_tick(value, e_step, largest, ax->label[ax->n_ticks], sizeof ax->label[0]);
    ax->n_ticks++;
}

/* m × 10^d on a log axis: plainly ("0.002") when all of the axis's ticks
 * are between 0.001 and 90000, else as "2e-7". */
static void add_log_tick(otadI_axis *ax, int m, int d, int plain)
{
    if (ax->n_ticks == OTADI_MAX_TICKS)
        return;
    char *buf = ax->label[ax->n_ticks];
    double v = m * pow(10, d);
    if (plain) {
        snprintf(buf, sizeof ax->label[0], "%.*f", d < 0 ? -d : 0, v);
    } else {
        snprintf(buf, sizeof ax->label[0], "%.0e", v);
        tidy_exponent(buf);
    }
    ax->tick[ax->n_ticks++] = d + log10(m);
}

static void add_minor(otadI_axis *ax, double t)
{
    if (ax->n_minor < OTADI_MAX_MINOR && t >= ax->lo && t <= ax->hi)
        ax->minor[ax->n_minor++] = t;
}

/* Multiples of 1, 2 or 5 × 10^k over [lo, hi], about target of them (the
 * step nearest, by ratio, to the range over target); on a log axis the
 * values are 10^lo..10^hi and the ticks go at their logs. */
static void linear_ticks(otadI_axis *ax, double lo, double hi, int target, int logs)
{
    double raw = (hi - lo) / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
    double step = (f < 1.42 ? 1 : f < 3.17 ? 2 : f < 7.08 ? 5 : 10) * mag;
    double k0 = ceil(lo / step - 1e-9), k1 = floor(hi / step + 1e-9);
    int e_step = (int)floor(log10(step) + 1e-9);
    double largest = fmax(fabs(lo), fabs(hi));
    for (double k = k0; k <= k1 && k1 - k0 < 2 * OTADI_MAX_TICKS; k++) {
        double v = fabs(k) < 0.5 ? 0 : k * step;
        add_tick(ax, logs ? log10(v) : v, v, e_step, largest);
    }
}

/* m × 10^d for m in the given set, inside the log range. */
static void mantissa_ticks(otadI_axis *ax, const int *m, size_t n_m)
{
    int plain = floor(ax->lo) >= -3 && ceil(ax->hi) <= 4;
    for (int d = (int)floor(ax->lo); d <= (int)ceil(ax->hi); d++)
        for (size_t i = 0; i < n_m; i++) {
            double t = log10(m[i]) + d;
            if (t >= ax->lo - 1e-9 && t <= ax->hi + 1e-9)
                add_log_tick(ax, m[i], d, plain);
        }
}

static void log_ticks(otadI_axis *ax, int target, double px_per_decade)
{
    int d0 = (int)ceil(ax->lo - 1e-9), d1 = (int)floor(ax->hi + 1e-9);
    int decades = d1 - d0 + 1;
    if (decades >= 2) {
        int every = (decades + target - 1) / target, plain = d0 >= -3 && d1 <= 4;
        for (int d = d0 - 1; d <= d1; d++) {
            if (d >= d0 && d % every == 0)
                add_log_tick(ax, 1, d, plain);
            else
                add_minor(ax, d);
            for (int m = 2; every == 1 && px_per_decade >= 40 && m <= 9; m++)
                add_minor(ax, d + log10(m));
        }
        return;
    }
    static const int m125[3] = {1, 2, 5}, m1to9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    mantissa_ticks(ax, m125, 3);
    if (ax->n_ticks < 3) {
        ax->n_ticks = 0;
        mantissa_ticks(ax, m1to9, 9);
    }
    if (ax->n_ticks < 3) {
        ax->n_ticks = 0;
        linear_ticks(ax, pow(10, ax->lo), pow(10, ax->hi), target, 1);
    }
}

void otadI_axis_ticks(otadI_axis *ax, double length_px, double spacing_px)
{
    int target = (int)(length_px / spacing_px);
    target = target < 2 ? 2 : target > 10 ? 10 : target;
    ax->n_ticks = ax->n_minor = 0;
    if (ax->log)
        log_ticks(ax, target, length_px / (ax->hi - ax->lo));
    else
        linear_ticks(ax, ax->lo, ax->hi, target, 0);
}
