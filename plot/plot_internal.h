/* Shared by the files of plot/: the canvas, the font, axes, charts. */
#ifndef OTAD_PLOT_INTERNAL_H
#define OTAD_PLOT_INTERNAL_H

#include <cairo.h>

#include "io/io_internal.h"
#include "plot.h"

/* ---- the canvas and its text (canvas.c) ---- */

/* A cairo image surface; drawing is limited to the clip rectangle
 * [clip_x0, clip_x1) × [clip_y0, clip_y1).  Pixel (x, y) covers the square
 * [x, x+1) × [y, y+1) of the continuous coordinates lines are given in. */
typedef struct otadI_canvas {
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
    int clip_x0, clip_y0, clip_x1, clip_y1;
} otadI_canvas;

int otadI_canvas_new(otadI_canvas *c, size_t width, size_t height, unsigned background);
void otadI_canvas_free(otadI_canvas *c);
void otadI_canvas_clip(otadI_canvas *c, int x0, int y0, int x1, int y1);
void otadI_canvas_unclip(otadI_canvas *c);
unsigned otadI_pixel(const otadI_canvas *c, int x, int y);

/* The canvas as a PNG file (otad_png_write_rgb). */
int otadI_canvas_write(const otadI_canvas *c, const char *path, otad_error *err);

/* Fills [x0, x1) × [y0, y1). */
void otadI_fill(otadI_canvas *c, int x0, int y0, int x1, int y1, unsigned rgb);

/* An antialiased segment of the given width. */
void otadI_line(otadI_canvas *c, double x0, double y0, double x1, double y1, double width,
                unsigned rgb);

/* An antialiased disc. */
void otadI_disc(otadI_canvas *c, double x, double y, double radius, unsigned rgb);

/* Text is sans-serif at sizes proportional to scale: a line of it is
 * OTADI_GLYPH_HEIGHT·scale pixels high (7 above the baseline, 2 below), an
 * average character about OTADI_GLYPH_ADVANCE·scale wide (for spacing).
 * Bytes outside ASCII 32–126 draw as '?'. */
#define OTADI_GLYPH_ADVANCE 6
#define OTADI_GLYPH_HEIGHT 9

int otadI_text_width(const char *s, int scale);

/* s if it is at most max_width pixels wide, else as much of it as fits
 * followed by "..." in buf (cap ≥ 4). */
const char *otadI_text_fit(const char *s, int scale, int max_width, char *buf, size_t cap);

/* Text whose box (width otadI_text_width, height OTADI_GLYPH_HEIGHT·scale)
 * has its top left corner at (x, y); when up, the text is turned a quarter
 * to read bottom to top, and (x, y) is the top left of the turned box. */
void otadI_text(otadI_canvas *c, int x, int y, const char *s, int scale, unsigned rgb,
                int up);

/* ---- images (image.c) ---- */

/* Checks the fields of image options; code with a message, or OTAD_OK. */
int otadI_check_image_opts(const otad_image_opts *o, const char *path, otad_error *err);

/* The colour range of n images of count values: o's, or that of the values
 * (symmetric about 0 for the diverging map), NaN skipped when nan_allowed
 * (else, as any value that is not finite, OTAD_EDOMAIN). */
int otadI_value_range(const double *const *images, size_t n, size_t count,
                      const otad_image_opts *o, int nan_allowed, double range[2],
                      const char *path, otad_error *err);

/* ---- axes (axis.c) ---- */

#define OTADI_MAX_TICKS 24
#define OTADI_MAX_MINOR 96

/* One axis: its range in axis units (log10 of the value on a log axis), its
 * place in pixels, and ticks at round numbers with their labels. */
typedef struct otadI_axis {
    int log;
    double lo, hi;
    double p_lo, p_hi;      /* pixel coordinates of lo and hi */
    size_t n_ticks, n_minor;
    double tick[OTADI_MAX_TICKS];
    char label[OTADI_MAX_TICKS][24];
    double minor[OTADI_MAX_MINOR];
} otadI_axis;

/* The range of the data t_min..t_max (axis units) with a margin; a single
 * value gets a range around it. */
void otadI_axis_auto(otadI_axis *ax, double t_min, double t_max);

/* Ticks for an axis length_px long, about spacing_px apart. */
void otadI_axis_ticks(otadI_axis *ax, double length_px, double spacing_px);

/* The widest tick label, in pixels at the given font scale. */
int otadI_axis_label_width(const otadI_axis *ax, int scale);

double otadI_axis_pixel(const otadI_axis *ax, double t);

/* ---- charts: the frame shared by plots and bar charts (chart.c) ---- */

typedef struct otadI_legend_entry {
    const char *label;
    unsigned rgb;
    int style;              /* OTAD_PLOT_* bits, or 0 for a bar */
} otadI_legend_entry;

typedef struct otadI_chart {
    const otad_plot_opts *opts;
    otadI_axis x, y;        /* lo, hi and log set by the caller before layout */
    int x_numeric;          /* 0: the x axis has category labels, drawn by the caller */
    int left, top, right, bottom; /* plot area [left, right) × [top, bottom) */
    int tick_label_y;       /* top of the x tick labels */
    int scale;              /* of text and lines: grows with the picture */
    otadI_canvas canvas;
} otadI_chart;

/* The automatic colour of series k. */
unsigned otadI_series_colour(size_t k);

/* Lays out the plot area, computes ticks (widening a range for equal aspect),
 * allocates the canvas and draws the background grid; clips to the area. */
int otadI_chart_begin(otadI_chart *ch, const char *path, otad_error *err);

/* Frame, ticks, labels, title and legend; then writes the PNG and frees. */
int otadI_chart_finish(otadI_chart *ch, const otadI_legend_entry *legend, size_t n_legend,
                       const char *path, otad_error *err);

/* Checks the fields of plot options; code with a message, or OTAD_OK. */
int otadI_check_plot_opts(const otad_plot_opts *o, const char *path, otad_error *err);

#endif
