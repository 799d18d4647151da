/** @file
 * otad plot — pictures in and out: the library libotad_plot, apart from
 * libotad so that a program that only differentiates links no drawing or
 * PNG code (pkg-config otad-plot).
 *
 * PNG images in, as intensities (otad_histogram_from_gray in io/io.h makes
 * histograms of them); PNG pictures out, drawn with cairo: heat maps and
 * strips of images compared on one colour scale with a colour bar, line and
 * scatter plots, bar charts.
 *
 * Every function returns OTAD_OK or a negative OTAD_* code.  When err is not
 * NULL a failure also leaves there a message that names the file and the
 * problem.  On failure nothing the caller owns is modified, and a file being
 * written is never left half written (it is written under a temporary name
 * and renamed over the target at the end).  Nothing is printed.
 */
#ifndef OTAD_PLOT_H
#define OTAD_PLOT_H

#include <stddef.h>

#include "../ad/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- PNG in --------------------------------------------------------------- */

/** Images of at most OTAD_IMAGE_MAX_SIDE pixels per side are read and written
 * (the largest surface cairo draws on). */
#define OTAD_IMAGE_MAX_SIDE 32767

/** Reads any PNG (gray, gray+alpha, palette, RGB, RGBA; 1 to 16 bits) as
 * intensities in [0, 1], a (width·height)×1 column in row-major pixel order:
 * pixel (row r, column c) is entry r*width + c, row 0 at the top.  Colour is
 * reduced to luminance 0.2126 R + 0.7152 G + 0.0722 B of the stored values
 * (no gamma correction); transparent pixels are composited over white.
 * free(out->data) after.  width and height may be NULL. */
int otad_png_read_gray(const char *path, otad_value *out, size_t *width, size_t *height,
                       otad_error *err);

/** The same as 3 doubles per pixel (R, G, B in [0, 1]), row-major; free(*rgb). */
int otad_png_read_rgb(const char *path, double **rgb, size_t *width, size_t *height,
                      otad_error *err);

/* ---- PNG out: images ------------------------------------------------------ */

enum {
    OTAD_COLORMAP_HEAT = 0,   /**< black through purple, red and orange to pale yellow;
                                 lightness rises steadily (a cubehelix curve) */
    OTAD_COLORMAP_GRAY,       /**< black to white */
    OTAD_COLORMAP_DIVERGING   /**< blue, white, red; the automatic range is centred on 0 */
};

/** The colour of t in [0, 1] (clamped; NaN gives the middle) as 0xRRGGBB;
 * an unknown colormap is gray. */
unsigned otad_colormap(int colormap, double t);

/** How values become a picture (otad_image_opts_init sets the defaults). */
typedef struct otad_image_opts {
    double vmin;         /**< the colour range's low end (see vmax) */
    double vmax;         /**< and high end; values outside take its end colours;
                            vmin == vmax (default): min..max of the data, or
                            −m..m with m = max |value| for the diverging map */
    int colormap;        /**< OTAD_COLORMAP_*; default HEAT */
    int scale;           /**< each value drawn as scale×scale pixels; default 1 */
    int gap;             /**< pixels between the images of a strip; default 4 */
    unsigned background; /**< of gaps and captions, 0xRRGGBB; default white */
    const char *const *captions; /**< NULL, or one ASCII caption per image (entries
                                    may be NULL) written under it, shortened
                                    to the image's width */
    int colorbar;        /**< 1: the colour range as a bar right of the images, with
                            values at round numbers, so that values can be read
                            off the picture; default 0 */
} otad_image_opts;

/** Set every option to its default. */
void otad_image_opts_init(otad_image_opts *opts);

/** A width×height image of values in row-major order (as otad_png_read_gray
 * gives them), mapped through the colormap.  opts NULL: defaults.  Values must
 * be finite (OTAD_EDOMAIN).  Output at most OTAD_IMAGE_MAX_SIDE per side. */
int otad_png_write_heatmap(const char *path, const double *values, size_t width,
                           size_t height, const otad_image_opts *opts, otad_error *err);

/** n_images images of the same size side by side, on one colour range (with
 * vmin == vmax the range of all of them), so they compare.  The columns of an
 * N×B matrix of images are images[b] = data + b*N. */
int otad_png_write_strip(const char *path, const double *const *images, size_t n_images,
                         size_t width, size_t height, const otad_image_opts *opts,
                         otad_error *err);

/** 8-bit RGB, 3 bytes per pixel, row-major, row 0 at the top. */
int otad_png_write_rgb(const char *path, const unsigned char *rgb, size_t width,
                       size_t height, otad_error *err);

/* ---- PNG out: plots ------------------------------------------------------- */

/** How a series is drawn (otad_plot_series.style). */
enum {
    OTAD_PLOT_LINE = 1,      /**< 0 means this too */
    OTAD_PLOT_MARKERS = 2    /**< a dot per point; OR with LINE for both */
};

/** One series of a plot. */
typedef struct otad_plot_series {
    const double *x;         /**< n abscissae; NULL: 0, 1, ..., n−1 */
    const double *y;         /**< n ordinates */
    size_t n;                /**< points */
    int style;               /**< OTAD_PLOT_LINE, OTAD_PLOT_MARKERS or both */
    unsigned rgb;            /**< 0xRRGGBB; 0: automatic, series k gets the k-th of a
                                set of distinct colours (so black is 0x010101) */
    const char *label;       /**< ASCII, for the legend; NULL: not in the legend */
} otad_plot_series;

/** A plot's options (otad_plot_opts_init sets the defaults). */
typedef struct otad_plot_opts {
    size_t width;            /**< of the picture; default 640, at least 200 */
    size_t height;           /**< default 480, at least 150 */
    int log_x;               /**< logarithmic x axis; every x must be > 0 */
    int log_y;               /**< logarithmic y axis; every y must be > 0 */
    int equal_aspect;        /**< one data unit is as long on both axes (one decade
                                on log axes): the range of one axis is widened */
    double x_min;            /**< the axes' ranges; NaN (default): from the data, */
    double x_max;            /**< with a margin */
    double y_min;            /**< (y likewise) */
    double y_max;            /**< (y likewise) */
    const char *title;       /**< ASCII; NULL: none */
    const char *x_label;     /**< ASCII; NULL: none */
    const char *y_label;     /**< ASCII; NULL: none */
} otad_plot_opts;

/** Set every option to its default. */
void otad_plot_opts_init(otad_plot_opts *opts);

/** Lines and/or markers with axes, ticks at round numbers, grid, title, axis
 * labels and a legend (placed in the corner with the least drawing under it).
 * Text grows with the picture (twice as large from 1280×960); text too long
 * for its place is shortened with "...".  Values must be finite
 * (OTAD_EDOMAIN); points outside explicit ranges are clipped.  opts NULL:
 * defaults. */
int otad_png_write_plot(const char *path, const otad_plot_series *series, size_t n_series,
                        const otad_plot_opts *opts, otad_error *err);

/** An image of values on axes: width×height values in row-major order (row 0
 * at the top), the image covering the region [x_min, x_max] × [y_min, y_max]
 * of opts (all four required) in a plot's frame, with ticks at round
 * numbers, title and axis labels from opts (equal_aspect keeps its pixels
 * square in the plane's units).  Colours as for otad_png_write_heatmap, from
 * image (NULL: defaults), whose colorbar and captions must be unset; NaN
 * values are left blank (tiles with gaps between them), other values must
 * be finite.  Log axes are refused (OTAD_EINVAL). */
int otad_png_write_image_plot(const char *path, const double *values, size_t width,
                              size_t height, const otad_image_opts *image,
                              const otad_plot_opts *opts, otad_error *err);

/** One series of a bar chart. */
typedef struct otad_bar_series {
    const double *values;    /**< one per category */
    unsigned rgb;            /**< 0xRRGGBB; 0: automatic, as for plots */
    const char *label;       /**< ASCII, for the legend; NULL: not in the legend */
} otad_bar_series;

/** A bar chart: for each of n_categories categories one bar per series side by
 * side (recovered against true weights: two series), from 0 on a linear y
 * axis.  category_labels: n_categories ASCII labels (shortened to their
 * slot), or NULL for 0, 1, ... (thinned out when crowded).  From opts: size,
 * y range, title and axis labels; log axes are refused (OTAD_EINVAL). */
int otad_png_write_bars(const char *path, const otad_bar_series *series, size_t n_series,
                        size_t n_categories, const char *const *category_labels,
                        const otad_plot_opts *opts, otad_error *err);

#ifdef __cplusplus
}
#endif

#endif
