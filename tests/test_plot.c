/* Plots and bar charts: the pictures have the requested size, series are
 * drawn where their values map to inside the frame, text stays inside the
 * picture, and bad input is refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot/plot.h"
#include "support.h"

#define FRAME 0x404040u

/* A picture read back as 0xRRGGBB pixels. */
typedef struct picture {
    unsigned *px;
    size_t width, height;
    size_t left, right, top, bottom;   /* plot area [left, right) × [top, bottom) */
} picture;

static size_t frame_count(const picture *p, int rows, size_t k)
{
    size_t c = 0;
    for (size_t j = 0; j < (rows ? p->width : p->height); j++)
        c += p->px[rows ? k * p->width + j : j * p->width + k] == FRAME;
    return c;
}

/* The frame lines are the outermost columns and rows nearly full of frame
 * pixels (a zero line of a bar chart is one too, inside). */
static void find_frame(picture *p)
{
    for (int rows = 0; rows < 2; rows++) {
        size_t n = rows ? p->height : p->width, most = 0, first = n, last = 0;
        for (size_t k = 0; k < n; k++) {
            size_t c = frame_count(p, rows, k);
            most = c > most ? c : most;
        }
        assert_true(most > 50);
        for (size_t k = 0; k < n; k++)
            if (frame_count(p, rows, k) >= most * 9 / 10)
                first = k < first ? k : first, last = k;
        if (rows)
            p->top = first + 1, p->bottom = last;
        else
            p->left = first + 1, p->right = last;
    }
}

static picture read_picture(const char *path, size_t width, size_t height)
{
    picture p = {0};
    double *rgb = NULL;
    otad_error err;
    int rc = otad_png_read_rgb(path, &rgb, &p.width, &p.height, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
    assert_int_equal(p.width, width);
    assert_int_equal(p.height, height);
    p.px = malloc(width * height * sizeof *p.px);
    for (size_t k = 0; k < width * height; k++) {
        p.px[k] = 0;
        for (size_t c = 0; c < 3; c++)
            p.px[k] = p.px[k] << 8 | (unsigned)lround(255 * rgb[3 * k + c]);
    }
    free(rgb);
    find_frame(&p);
    return p;
}

static unsigned at(const picture *p, size_t x, size_t y)
{
    return p->px[y * p->width + x];
}

/* The pixel where a value at fraction f of the x or y range is drawn. */
static size_t column_of(const picture *p, double f)
{
    return (size_t)floor(p->left + f * (double)(p->right - p->left));
}

static size_t row_of(const picture *p, double f)
{
    return (size_t)floor(p->bottom - f * (double)(p->bottom - p->top));
}

/* Whether colour is within d pixels of (x, y). */
static int near(const picture *p, size_t x, size_t y, unsigned colour, size_t d)
{
    for (size_t j = y - d; j <= y + d; j++)
        for (size_t i = x - d; i <= x + d; i++)
            if (at(p, i, j) == colour)
                return 1;
    return 0;
}

/* Text is antialiased: its ink is the text's dark grey and its blends with
 * a light background, grey pixels darker than mid-grey. */
static int is_ink(unsigned c)
{
    unsigned r = c >> 16 & 0xff, g = c >> 8 & 0xff, b = c & 0xff;
    unsigned hi = r > g ? (r > b ? r : b) : (g > b ? g : b);
    unsigned lo = r < g ? (r < b ? r : b) : (g < b ? g : b);
    return hi <= 0x80 && hi - lo <= 0x18;
}

/* No text touches the picture's edges: nothing was cut. */
static void assert_text_inside(const picture *p)
{
    for (size_t x = 0; x < p->width; x++)
        for (size_t k = 0; k < 2; k++)
            assert_true(!is_ink(at(p, x, k)) && !is_ink(at(p, x, p->height - 1 - k)));
    for (size_t y = 0; y < p->height; y++)
        for (size_t k = 0; k < 2; k++)
            assert_true(!is_ink(at(p, k, y)) && !is_ink(at(p, p->width - 1 - k, y)));
}

/* Ink in rows [y0, y1). */
static size_t count_ink(const picture *p, size_t y0, size_t y1)
{
    size_t n = 0;
    for (size_t y = y0; y < y1; y++)
        for (size_t x = 0; x < p->width; x++)
            n += (size_t)is_ink(at(p, x, y));
    return n;
}

/* ---- plots ---------------------------------------------------------------- */

/* On [0, 1]², a horizontal line at y = 0.5 crosses the middle of the area and
 * a vertical one at x = 0.25 a quarter of the way across. */
static void test_lines_where_values_map(void **state)
{
    (void)state;
    double hx[2] = {0, 1}, hy[2] = {0.5, 0.5}, vx[2] = {0.25, 0.25}, vy[2] = {0, 1};
    otad_plot_series s[2] = {{hx, hy, 2, OTAD_PLOT_LINE, 0xFF0000, "horizontal"},
                             {vx, vy, 2, OTAD_PLOT_LINE, 0x0000FF, "vertical"}};
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.width = 500;
    o.height = 300;
    o.x_min = o.y_min = 0;
    o.x_max = o.y_max = 1;
    o.title = "Two lines";
    o.x_label = "x";
    o.y_label = "y";
    const char *path = tmp_path("lines.png");
    otad_error err;
    if (otad_png_write_plot(path, s, 2, &o, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    picture p = read_picture(path, 500, 300);
    assert_true(p.left > 20 && p.right < 500 && p.top > 20 && p.bottom < 290);
    size_t mid_x = column_of(&p, 0.6), mid_y = row_of(&p, 0.5);
    assert_true(near(&p, mid_x, mid_y, 0xFF0000, 1));
    assert_true(near(&p, column_of(&p, 0.25), row_of(&p, 0.3), 0x0000FF, 1));
    /* Thin: nothing red a few pixels off the line. */
    assert_int_not_equal(at(&p, mid_x, mid_y - 4), 0xFF0000);
    assert_int_not_equal(at(&p, mid_x, mid_y + 4), 0xFF0000);
    assert_text_inside(&p);
    free(p.px);
}

/* Markers on log axes with given ranges sit at the logs of their values. */
static void test_markers_on_log_axes(void **state)
{
    (void)state;
    double x[3] = {3, 30, 300}, y[3] = {1, 100, 10000};
    otad_plot_series s = {x, y, 3, OTAD_PLOT_MARKERS, 0, "points"};
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.log_x = o.log_y = 1;
    o.x_min = 1;
    o.x_max = 1000;
    o.y_min = 0.1;
    o.y_max = 1e5;
    const char *path = tmp_path("log.png");
    assert_int_equal(otad_png_write_plot(path, &s, 1, &o, NULL), OTAD_OK);
    picture p = read_picture(path, 640, 480);
    for (int k = 0; k < 3; k++) {
        double fx = log10(x[k]) / 3, fy = (log10(y[k]) + 1) / 6;
        assert_true(near(&p, column_of(&p, fx), row_of(&p, fy), 0x1F5FBF, 1));
    }
    assert_text_inside(&p);
    free(p.px);
}

/* Defaults: 640×480, x the indices, an automatic colour, the data inside. */
static void test_defaults(void **state)
{
    (void)state;
    double y[50];
    for (int k = 0; k < 50; k++)
        y[k] = exp(-k / 10.0);
    otad_plot_series s = {.y = y, .n = 50};
    const char *path = tmp_path("defaults.png");
    assert_int_equal(otad_png_write_plot(path, &s, 1, NULL, NULL), OTAD_OK);
    picture p = read_picture(path, 640, 480);
    /* A 5% margin around the data: the first point, (0, 1), is 1/22 in from
     * the left and the top. */
    size_t n = 0;
    for (size_t yy = p.top; yy < p.bottom; yy++)
        for (size_t xx = p.left; xx < p.right; xx++)
            n += at(&p, xx, yy) == 0x1F5FBF;
    assert_true(n > 300);
    assert_true(near(&p, column_of(&p, 1.0 / 22), row_of(&p, 21.0 / 22), 0x1F5FBF, 3));
    assert_text_inside(&p);
    free(p.px);
}

/* With equal aspect a circle is as wide as it is tall on a 640×480 picture. */
static void test_equal_aspect(void **state)
{
    (void)state;
    double x[200], y[200];
    for (int k = 0; k < 200; k++)
        x[k] = cos(k * 0.0314159), y[k] = sin(k * 0.0314159);
    otad_plot_series s = {x, y, 200, OTAD_PLOT_LINE, 0x00AA00, NULL};
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    for (int equal = 0; equal < 2; equal++) {
        o.equal_aspect = equal;
        const char *path = tmp_path("circle.png");
        assert_int_equal(otad_png_write_plot(path, &s, 1, &o, NULL), OTAD_OK);
        picture p = read_picture(path, 640, 480);
        size_t x0 = SIZE_MAX, x1 = 0, y0 = SIZE_MAX, y1 = 0;
        for (size_t yy = 0; yy < p.height; yy++)
            for (size_t xx = 0; xx < p.width; xx++)
                if (at(&p, xx, yy) == 0x00AA00) {
                    x0 = xx < x0 ? xx : x0, x1 = xx > x1 ? xx : x1;
                    y0 = yy < y0 ? yy : y0, y1 = yy > y1 ? yy : y1;
                }
        long dw = (long)(x1 - x0) - (long)(y1 - y0);
        if (equal)
            assert_true(labs(dw) <= 2);
        else
            assert_true(dw > 60);
        free(p.px);
    }
}

/* Many series, a long title and labels: all drawn, nothing cut. */
static void test_many_series_and_long_text(void **state)
{
    (void)state;
    double x[2] = {0, 1}, y[12][2];
    otad_plot_series s[12];
    char labels[12][24];
    for (int k = 0; k < 12; k++) {
        y[k][0] = k, y[k][1] = k + 0.5;
        snprintf(labels[k], sizeof labels[k], "series %d", k);
        s[k] = (otad_plot_series){x, y[k], 2, OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, 0, labels[k]};
    }
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.title = "A title much longer than the picture is wide, so that it has to be drawn smaller "
              "or cut where the picture ends";
    o.x_label = "a very long label for the horizontal axis of this plot";
    o.y_label = "and one for the vertical axis";
    o.width = 400;
    o.height = 300;
    const char *path = tmp_path("many.png");
    assert_int_equal(otad_png_write_plot(path, s, 12, &o, NULL), OTAD_OK);
    picture p = read_picture(path, 400, 300);
    assert_true(count_ink(&p, 0, p.top - 2) > 300); /* the title, above the frame */
    assert_text_inside(&p);
    free(p.px);
}

/* ---- bar charts ----------------------------------------------------------- */

/* Bars start at 0 and are as tall as their values on the y range. */
static void test_bars(void **state)
{
    (void)state;
    double truth[3] = {0.2, 0.5, 0.3}, found[3] = {0.25, 0.45, 0.3};
    otad_bar_series s[2] = {{truth, 0xCC0000, "true"}, {found, 0x0000CC, "recovered"}};
    const char *names[3] = {"a", "b", "c"};
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.y_min = 0;
    o.y_max = 1;
    o.title = "Weights";
    const char *path = tmp_path("bars.png");
    otad_error err;
    if (otad_png_write_bars(path, s, 2, 3, names, &o, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    picture p = read_picture(path, 640, 480);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++) {
            /* Bar k of category i covers [i + 0.1 + 0.4k, i + 0.5 + 0.4k] of [0, 3]. */
            size_t x = column_of(&p, (i + 0.3 + 0.4 * k) / 3);
            unsigned colour = k ? 0x0000CC : 0xCC0000;
            double value = k ? found[i] : truth[i];
            size_t n = 0;
            for (size_t yy = p.top; yy < p.bottom; yy++)
                n += at(&p, x, yy) == colour;
            assert_close((double)n, value * (double)(p.bottom - p.top), 1.5);
        }
    assert_text_inside(&p);
    free(p.px);
}

/* Negative values hang below a zero line; default labels are the indices. */
static void test_bars_negative(void **state)
{
    (void)state;
    double v[4] = {1, -2, 3, -0.5};
    otad_bar_series s = {v, 0, NULL};
    const char *path = tmp_path("negative.png");
    assert_int_equal(otad_png_write_bars(path, &s, 1, 4, NULL, NULL, NULL), OTAD_OK);
    picture p = read_picture(path, 640, 480);
    size_t x = column_of(&p, 1.5 / 4), above = 0, below = 0, zero = p.bottom;
    for (size_t yy = p.top; yy < p.bottom; yy++)
        if (at(&p, column_of(&p, 0.02), yy) == FRAME)
            zero = yy;
    assert_true(zero > p.top && zero < p.bottom);
    for (size_t yy = p.top; yy < p.bottom; yy++)
        if (at(&p, x, yy) == 0x1F5FBF)
            above += yy < zero, below += yy > zero;
    assert_int_equal(above, 0);
    assert_true(below > 50);
    free(p.px);
}

/* ---- errors --------------------------------------------------------------- */

static void expect(int rc, int code, const otad_error *err, const char *want)
{
    assert_int_equal(rc, code);
    if (!strstr(err->message, want))
        fail_msg("message \"%s\" lacks \"%s\"", err->message, want);
}

static void test_plot_errors(void **state)
{
    (void)state;
    double x[3] = {1, 2, 3}, y[3] = {1, 0, 2}, bad[3] = {1, NAN, 2};
    otad_plot_series s = {x, y, 3, OTAD_PLOT_LINE, 0, NULL};
    otad_plot_opts o;
    otad_error err;
    const char *path = tmp_path("never.png");
    otad_plot_opts_init(&o);
    expect(otad_png_write_plot(NULL, &s, 1, &o, &err), OTAD_EINVAL, &err, "no file name");
    expect(otad_png_write_plot(path, NULL, 1, &o, &err), OTAD_EINVAL, &err, "never.png: no series");
    expect(otad_png_write_plot(path, &s, 0, &o, &err), OTAD_EINVAL, &err, "no series");
    s.n = 0;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "has no points");
    s.n = 3;
    s.style = 9;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "unknown style 9");
    s.style = 0;
    s.y = bad;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EDOMAIN, &err,
           "series 0: point 1 is (2, nan)");
    s.y = y;
    o.log_y = 1;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EDOMAIN, &err,
           "a log axis needs values > 0");
    otad_plot_opts_init(&o);
    o.x_min = 2;
    o.x_max = 1;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "x range 2..1 is empty");
    otad_plot_opts_init(&o);
    o.y_max = INFINITY;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "not finite");
    otad_plot_opts_init(&o);
    o.log_x = 1;
    o.x_min = -1;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "must be > 0");
    otad_plot_opts_init(&o);
    o.width = 100;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "100x480 pixels");
    o.width = 40000;
    expect(otad_png_write_plot(path, &s, 1, &o, &err), OTAD_EINVAL, &err, "40000x480 pixels");
    assert_int_equal(access(path, F_OK), -1);
}

/* An image on axes: each value's cell is where its region maps, in its
 * colour; a NaN cell is left blank. */
static void test_image_on_axes(void **state)
{
    (void)state;
    const double v[8] = {0, 1, 2, 3, 4, 5, NAN, 7}; /* 4×2, row 0 on top */
    otad_image_opts image;
    otad_image_opts_init(&image);
    image.colormap = OTAD_COLORMAP_GRAY;
    image.vmin = 0, image.vmax = 7;
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.x_min = 0, o.x_max = 4, o.y_min = 0, o.y_max = 2;
    o.title = "Cells";
    const char *path = tmp_path("image_plot.png");
    otad_error err;
    if (otad_png_write_image_plot(path, v, 4, 2, &image, &o, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    picture p = read_picture(path, 640, 480);
    for (size_t k = 0; k < 8; k++) {
        /* the centre of cell (row k / 4, column k % 4): x = c + ½, y = 2 − r − ½ */
        size_t x = column_of(&p, ((double)(k % 4) + 0.5) / 4);
        size_t y = row_of(&p, (2 - (double)(k / 4) - 0.5) / 2);
        if (isnan(v[k]))
            assert_true(at(&p, x, y) != otad_colormap(OTAD_COLORMAP_GRAY, 6.0 / 7) &&
                        (at(&p, x, y) & 0xFF) > 0xE0);
        else
            assert_int_equal(at(&p, x, y), otad_colormap(OTAD_COLORMAP_GRAY, v[k] / 7));
    }
    assert_text_inside(&p);
    free(p.px);
}

static void test_bar_errors(void **state)
{
    (void)state;
    double v[2] = {1, 2}, bad[2] = {1, INFINITY};
    otad_bar_series s = {v, 0, NULL};
    otad_plot_opts o;
    otad_error err;
    const char *path = tmp_path("never.png");
    otad_plot_opts_init(&o);
    expect(otad_png_write_bars(path, &s, 1, 0, NULL, &o, &err), OTAD_EINVAL, &err, "no bars");
    expect(otad_png_write_bars(path, NULL, 1, 2, NULL, &o, &err), OTAD_EINVAL, &err, "no bars");
    s.values = bad;
    expect(otad_png_write_bars(path, &s, 1, 2, NULL, &o, &err), OTAD_EDOMAIN, &err,
           "series 0: value 1 is inf");
    s.values = NULL;
    expect(otad_png_write_bars(path, &s, 1, 2, NULL, &o, &err), OTAD_EINVAL, &err, "no values");
    s.values = v;
    o.log_y = 1;
    expect(otad_png_write_bars(path, &s, 1, 2, NULL, &o, &err), OTAD_EINVAL, &err, "linear axes");
    otad_plot_opts_init(&o);
    o.y_min = 5;
    expect(otad_png_write_bars(path, &s, 1, 2, NULL, &o, &err), OTAD_EINVAL, &err, "no room");
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_where_values_map),
        cmocka_unit_test(test_markers_on_log_axes),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_equal_aspect),
        cmocka_unit_test(test_many_series_and_long_text),
        cmocka_unit_test(test_bars),
        cmocka_unit_test(test_bars_negative),
        cmocka_unit_test(test_plot_errors),
        cmocka_unit_test(test_bar_errors),
        cmocka_unit_test(test_image_on_axes),
    };
    return cmocka_run_group_tests(tests, tmp_dir_create, tmp_dir_remove);
}
