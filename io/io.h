/*
 * otad io — histograms in, pictures out.
 *
 * Arrays in NumPy's .npy format (versions 1.0 to 3.0) to and from otad
 * matrices; PNG images in, as intensities or histograms; PNG pictures out:
 * heat maps, strips of images compared on one colour scale, line and scatter
 * plots, bar charts.
 *
 * Every function returns OTAD_OK or a negative OTAD_* code.  When err is not
 * NULL a failure also leaves there a message that names the file and the
 * problem ("x.npy: truncated: header says 500x2 float64 (8000 bytes), file
 * has 4000").  On failure nothing the caller owns is modified: outputs keep
 * their values, and a file being written is never left half written (it is
 * written under a temporary name and renamed over the target at the end).
 * Nothing is printed.
 */
#ifndef OTAD_IO_H
#define OTAD_IO_H

#include <stddef.h>

#include "../ad/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- .npy arrays ---------------------------------------------------------- */

#define OTAD_ARRAY_MAX_DIMS 8

/* An n-dimensional array of doubles in C (row-major) order. */
typedef struct otad_array {
    double *data;                      /* malloc'd; never NULL in a read array */
    size_t ndim;                       /* 0 for a scalar, which has one entry */
    size_t shape[OTAD_ARRAY_MAX_DIMS];
} otad_array;

/* Number of entries: the product of the shape (1 for ndim 0); 0 for a NULL
 * or malformed array (ndim above OTAD_ARRAY_MAX_DIMS, a product beyond
 * SIZE_MAX). */
size_t otad_array_size(const otad_array *a);

/* Frees the data and zeroes the struct; NULL-safe. */
void otad_array_free(otad_array *a);

/* Reads float64 and float32 in either byte order, and int8/16/32/64,
 * uint8/16/32/64 and bool converted to double (64-bit integers beyond 2^53
 * round).  Files in Fortran order are returned in C order.  Structured and
 * complex dtypes are refused (OTAD_EFORMAT), so are files whose size does
 * not match the header.  *out is overwritten only on success. */
int otad_npy_read(const char *path, otad_array *out, otad_error *err);

/* Writes '<f8' in C order, version 1.0. */
int otad_npy_write(const char *path, const otad_array *a, otad_error *err);

/* A borrowed view of an array's C-order data as a column-major matrix whose
 * columns are the leading index: shape (d0, d1, ..., dk) is (d1⋯dk)×d0, so a
 * (16, 500) array of 16 histograms is 500×16, one histogram per column;
 * (n) is n×1 and a scalar 1×1.  No copy: data is a->data. */
otad_value otad_array_columns(const otad_array *a);

/* Reads a .npy file as a column-major matrix; free(out->data) after.
 *   ()                   → 1×1
 *   (n)                  → n×1
 *   (r, c)               → r×c, entry (i, j) = a[i, j]
 *   (d0, d1, ..., dk)    → (d1⋯dk)×d0: each leading index one column holding
 *                          the C-order flattening of the rest (a stack of 5
 *                          images 64×64 becomes 4096×5, one image a column).
 * Arrays without entries are refused (OTAD_EFORMAT). */
int otad_npy_read_matrix(const char *path, otad_value *out, otad_error *err);

/* Writes v as shape (rows, cols) in Fortran order, so no copy is made, also
 * when cols is 1; otad_npy_read_matrix gives v back. */
int otad_npy_write_matrix(const char *path, otad_value v, otad_error *err);

/* ---- PNG in --------------------------------------------------------------- */

/* Images of at most OTAD_IMAGE_MAX_SIDE pixels per side are read and written. */
#define OTAD_IMAGE_MAX_SIDE 32768

/* Reads any PNG (gray, gray+alpha, palette, RGB, RGBA; 1 to 16 bits) as
 * intensities in [0, 1], a (width·height)×1 column in row-major pixel order:
 * pixel (row r, column c) is entry r*width + c, row 0 at the top.  Colour is
 * reduced to luminance 0.2126 R + 0.7152 G + 0.0722 B of the stored values
 * (no gamma correction); transparent pixels are composited over white.
 * free(out->data) after.  width and height may be NULL. */
int otad_png_read_gray(const char *path, otad_value *out, size_t *width, size_t *height,
                       otad_error *err);

/* The same as 3 doubles per pixel (R, G, B in [0, 1]), row-major; free(*rgb). */
int otad_png_read_rgb(const char *path, double **rgb, size_t *width, size_t *height,
                      otad_error *err);

/* Turns intensities in [0, 1] into histograms in place, one per column: mass
 * is the intensity, or 1 − intensity when dark_is_mass is 1 (dark ink on
 * white paper; another value than 0 or 1 is OTAD_EINVAL), normalised so
 * that each column sums to 1.  OTAD_EDOMAIN when an
 * entry is outside [0, 1] or a column has no mass; image is then unchanged. */
int otad_histogram_from_gray(otad_value *image, int dark_is_mass, otad_error *err);

/* ---- PNG out: images ------------------------------------------------------ */

enum {
    OTAD_COLORMAP_HEAT = 0,   /* black through purple, red and orange to pale yellow;
                                 lightness rises steadily (a cubehelix curve) */
    OTAD_COLORMAP_GRAY,       /* black to white */
    OTAD_COLORMAP_DIVERGING   /* blue, white, red; the automatic range is centred on 0 */
};

/* The colour of t in [0, 1] (clamped; NaN gives the middle) as 0xRRGGBB;
 * an unknown colormap is gray. */
unsigned otad_colormap(int colormap, double t);

typedef struct otad_image_opts {
    double vmin, vmax;   /* the colour range, values outside take its end colours;
                            vmin == vmax (default): min..max of the data, or
                            −m..m with m = max |value| for the diverging map */
    int colormap;        /* OTAD_COLORMAP_*; default HEAT */
    int scale;           /* each value drawn as scale×scale pixels; default 1 */
    int gap;             /* pixels between the images of a strip; default 4 */
    unsigned background; /* of gaps and captions, 0xRRGGBB; default white */
    const char *const *captions; /* NULL, or one ASCII caption per image (entries
                                    may be NULL) written under it, shortened
                                    to the image's width */
    int colorbar;        /* 1: the colour range as a bar right of the images, with
                            values at round numbers, so that values can be read
                            off the picture; default 0 */
} otad_image_opts;

void otad_image_opts_init(otad_image_opts *opts);

/* A width×height image of values in row-major order (as otad_png_read_gray
 * gives them), mapped through the colormap.  opts NULL: defaults.  Values must
 * be finite (OTAD_EDOMAIN).  Output at most OTAD_IMAGE_MAX_SIDE per side. */
int otad_png_write_heatmap(const char *path, const double *values, size_t width,
                           size_t height, const otad_image_opts *opts, otad_error *err);

/* n_images images of the same size side by side, on one colour range (with
 * vmin == vmax the range of all of them), so they compare.  The columns of an
 * N×B matrix of images are images[b] = data + b*N. */
int otad_png_write_strip(const char *path, const double *const *images, size_t n_images,
                         size_t width, size_t height, const otad_image_opts *opts,
                         otad_error *err);

/* 8-bit RGB, 3 bytes per pixel, row-major, row 0 at the top. */
int otad_png_write_rgb(const char *path, const unsigned char *rgb, size_t width,
                       size_t height, otad_error *err);

/* ---- PNG out: plots ------------------------------------------------------- */

enum {
    OTAD_PLOT_LINE = 1,      /* 0 means this too */
    OTAD_PLOT_MARKERS = 2    /* a dot per point; OR with LINE for both */
};

typedef struct otad_plot_series {
    const double *x, *y;     /* n points; x NULL: 0, 1, ..., n−1 */
    size_t n;
    int style;               /* OTAD_PLOT_LINE, OTAD_PLOT_MARKERS or both */
    unsigned rgb;            /* 0xRRGGBB; 0: automatic, series k gets the k-th of a
                                set of distinct colours (so black is 0x010101) */
    const char *label;       /* ASCII, for the legend; NULL: not in the legend */
} otad_plot_series;

typedef struct otad_plot_opts {
    size_t width, height;    /* of the picture; default 640×480, at least 200×150 */
    int log_x, log_y;        /* logarithmic axes; every value on them must be > 0 */
    int equal_aspect;        /* one data unit is as long on both axes (one decade
                                on log axes): the range of one axis is widened */
    double x_min, x_max, y_min, y_max; /* NaN (default): from the data, with a margin */
    const char *title, *x_label, *y_label; /* ASCII; NULL: none */
} otad_plot_opts;

void otad_plot_opts_init(otad_plot_opts *opts);

/* Lines and/or markers with axes, ticks at round numbers, grid, title, axis
 * labels and a legend (placed in the corner with the least drawing under it).
 * Text grows with the picture (twice as large from 1280×960); text too long
 * for its place is shortened with "...".  Values must be finite
 * (OTAD_EDOMAIN); points outside explicit ranges are clipped.  opts NULL:
 * defaults. */
int otad_png_write_plot(const char *path, const otad_plot_series *series, size_t n_series,
                        const otad_plot_opts *opts, otad_error *err);

typedef struct otad_bar_series {
    const double *values;    /* one per category */
    unsigned rgb;            /* 0xRRGGBB; 0: automatic, as for plots */
    const char *label;       /* ASCII, for the legend; NULL: not in the legend */
} otad_bar_series;

/* A bar chart: for each of n_categories categories one bar per series side by
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
