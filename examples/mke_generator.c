/*
 * Learning a generator by minimum Kantorovich estimation (Genevay,
 * Peyré, Cuturi 2018, "learning f_θ"): fixed latent samples z_i
 * are pushed through a small perceptron f_θ (tanh hidden layers, linear
 * output), and θ is fitted with L-BFGS so that the measure f_θ#μ of the
 * outputs comes close to a data set in the debiased Sinkhorn divergence
 *     S(α, β) = W(α, β) − ½ W(α, α) − ½ W(β, β),
 * W the dual value of L = 100 Sinkhorn iterations.  The same few lines fit
 * two data sets, to show that the model is not tied to the plane:
 *
 *   moons    1000 points of two interleaved half-circles with noise, in
 *            [0,1]²; 500 Gaussian latent samples in R², f_θ: 2 → 32 → 32 → 2,
 *            ε = 0.01;
 *   digits   300 grey 8×8 images of the digits 0, 1 and 7, each drawn from
 *            strokes with random position, size, slant and thickness and
 *            anti-aliased: points of R^64; 300 Gaussian latent samples in
 *            R², f_θ: 2 → 32 → 64; ε a few percent of the median squared
 *            distance between the images (printed).
 *
 * Both generators start with their samples as a small cloud at the data's
 * mean (the output layer's weights scaled down, its bias the mean), so that
 * the pictures at the start show something and no pair of points is so far
 * apart that exp(−‖x − y‖²/ε) underflows.
 *
 * A continuous map of a connected latent space cannot tear the moons apart:
 * a few samples stay on bridges between them, fewer the longer it fits.  In
 * the digits the latent plane is shared out between the three digits, and
 * the tiles where one digit turns into another are blends of the two.
 *
 * Run: mke_generator [--full] [--iterations N]   (about 20 s on one core:
 * 150 L-BFGS iterations for the moons and 80 for the digits; --iterations N
 * sets both; --full: twice the data and the latent samples, 400 and 200
 * iterations, about 6 minutes.)
 *
 * Writes into the current directory:
 *   mke_generator_moons_init.png     data (grey) and generated samples at the start
 *   mke_generator_moons_fit.png      the same after the fit
 *   mke_generator_digits_data.png    64 of the data's images
 *   mke_generator_digits_init.png    64 generated images at the start (the mean)
 *   mke_generator_digits_fit.png     64 generated images after the fit
 *   mke_generator_digits_latent.png  f_θ on a 10×10 grid of latent points in
 *                                    [−2, 2]², on the latent plane's axes: what
 *                                    the generator learned
 *   mke_generator_loss.png           the divergence per L-BFGS iteration of both fits
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moons.h"
#include "otad.h"

enum {
    SIDE = 8,                 /* of the digit images */
    PIXELS = SIDE * SIDE,
    TILES = 8,                /* the image grids show TILES × TILES images */
    LATENT_GRID = 10,         /* the latent map shows LATENT_GRID² images */
    TILE_SCALE = 8,           /* screen pixels per image pixel */
    TILE_GAP = 3,
    PICTURE_SIDE = 800,
    MAX_HIDDEN = 2
};

#define LATENT_EXTENT 2.0     /* the latent map spans [−2, 2]²: ±2 standard deviations */
#define START_SPREAD 0.1      /* the output layer's weights are scaled by this at the start */
#define DIGITS_EPS_FRACTION 0.03 /* ε of the digits: this fraction of the median ‖x − y‖² */

typedef struct options {
    int full, iterations;     /* iterations 0: each fit's default */
    long_fit long_fit;
} options;

/* One data set and the generator fitted to it. */
typedef struct experiment {
    const char *name;
    size_t dim, n_data, n_latent, n_hidden, hidden[MAX_HIDDEN];
    double eps;
    uint64_t seed;            /* of the data; the latent samples and θ's start follow it */
    int iterations;           /* L-BFGS iterations at most */
    double *data, *latent;    /* n_data × dim, n_latent × 2, column-major, malloc'd */
    int *labels;              /* digits: the digit of each data image, malloc'd; else NULL */
    double *start;            /* n_params, malloc'd */
    double *start_points;     /* n_latent × dim: f_θ at the start, malloc'd */
    otad_mke problem;
    otad_mke_mlp mlp;
    otad_mke_result result;
} experiment;

static void usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Fits a generator f_theta (a small tanh perceptron of Gaussian latent samples) to\n"
            "two moons in the plane and to 8x8 images of digits, by minimising the debiased\n"
            "Sinkhorn divergence with L-BFGS.\n"
            "  --full          twice the data and the latent samples, more iterations (~6 min)\n"
            "  --iterations N  L-BFGS iterations at most per fit (default 150 for the moons\n"
            "                  and 80 for the digits; --full 400 and 200)\n"
            LONG_FIT_USAGE
            "  --help          this text\n",
            program);
}

/* 0: run; 1: bad arguments; -1: help was asked for. */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return -1;
        }
        if (strcmp(argv[i], "--full") == 0) {
            o->full = 1;
            continue;
        }
        int long_fit_rc = long_fit_option(argc, argv, &i, &o->long_fit);
        if (long_fit_rc != 0) {
            if (long_fit_rc < 0)
                return 1;
            continue;
        }
        if (strcmp(argv[i], "--iterations") != 0) {
            fprintf(stderr, "unknown argument %s (see --help)\n", argv[i]);
            return 1;
        }
        const char *value = option_value(argc, argv, &i);
        long n;
        if (!value || parse_long("--iterations", value, 1, 100000, &n))
            return 1;
        o->iterations = (int)n;
    }
    return 0;
}

/* ---- data ------------------------------------------------------------------ */


/* A digit's strokes: polylines in a glyph box [0,1]², v downwards. */
enum { MAX_STROKE_POINTS = 25, DIGITS = 3 };
typedef struct stroke {
    int n;
    double u[MAX_STROKE_POINTS], v[MAX_STROKE_POINTS];
} stroke;

static const int digit_values[DIGITS] = {0, 1, 7};

static int digit_strokes(int digit, stroke s[2])
{
    switch (digit) {
    case 0:   /* an upright oval, closed */
        s[0].n = MAX_STROKE_POINTS;
        for (int i = 0; i < s[0].n; i++) {
            double a = 2 * acos(-1.0) * i / (s[0].n - 1);
            s[0].u[i] = 0.5 + 0.27 * cos(a), s[0].v[i] = 0.5 + 0.38 * sin(a);
        }
        return 1;
    case 1:   /* a stem with a short flag */
        s[0] = (stroke){2, {0.55, 0.55}, {0.1, 0.9}};
        s[1] = (stroke){2, {0.55, 0.3}, {0.1, 0.3}};
        return 2;
    default:  /* 7: a bar and a diagonal */
        s[0] = (stroke){3, {0.2, 0.8, 0.42}, {0.12, 0.12, 0.9}};
        return 1;
    }
}

static double segment_distance(double px, double py, double ax, double ay, double bx,
                               double by)
{
    double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
    double t = length2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / length2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(px - ax - t * dx, py - ay - t * dy);
}

/* One SIDE×SIDE image (row-major, ink = 1) of a digit placed with random
 * centre, size, slant and pen width.  Each pixel's ink falls linearly from
 * 1 to 0 as its centre leaves the pen's edge over one pixel: a cheap
 * anti-aliasing that makes the images vary smoothly with the jitter. */
static void render_digit(otad_rng *rng, int digit, double *image)
{
    double cx = SIDE * (0.5 + 0.06 * (otad_rng_uniform(rng) - 0.5) * 2);
    double cy = SIDE * (0.5 + 0.06 * (otad_rng_uniform(rng) - 0.5) * 2);
    double size = SIDE * (0.72 + 0.16 * otad_rng_uniform(rng));
    double slant = 0.35 * (otad_rng_uniform(rng) - 0.5) * 2;
    double half_pen = 0.45 + 0.35 * otad_rng_uniform(rng);  /* in pixels */
    stroke s[2];
    int n_strokes = digit_strokes(digit, s);
    /* the strokes in pixel coordinates: x right, y down, slanted about the centre */
    for (int k = 0; k < n_strokes; k++)
        for (int i = 0; i < s[k].n; i++) {
            double u = s[k].u[i] - 0.5, v = s[k].v[i] - 0.5;
            s[k].u[i] = cx + size * (u - slant * v);
            s[k].v[i] = cy + size * v;
        }
    for (int r = 0; r < SIDE; r++)
        for (int c = 0; c < SIDE; c++) {
            double px = c + 0.5, py = r + 0.5, d = INFINITY;
            for (int k = 0; k < n_strokes; k++)
                for (int i = 0; i + 1 < s[k].n; i++)
                    d = fmin(d, segment_distance(px, py, s[k].u[i], s[k].v[i], s[k].u[i + 1],
                                                 s[k].v[i + 1]));
            double ink = half_pen + 0.5 - d;
            image[r * SIDE + c] = ink < 0 ? 0 : ink > 1 ? 1 : ink;
        }
}

/* n images, digits drawn at random, image j in row j of the n × PIXELS data;
 * labels[j] is its digit's index in digit_values. */
static void make_digits(otad_rng *rng, size_t n, double *data, int *labels)
{
    double image[PIXELS];
    for (size_t j = 0; j < n; j++) {
        labels[j] = (int)(DIGITS * otad_rng_uniform(rng)) % DIGITS;
        render_digit(rng, digit_values[labels[j]], image);
        for (size_t p = 0; p < PIXELS; p++)
            data[j + p * n] = image[p];
    }
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of ‖y_i − y_j‖² over the pairs i < j: the scale ε is set against. */
static int median_sqdist(const experiment *e, double *median)
{
    size_t m = e->n_data, pairs = m * (m - 1) / 2, k = 0;
    double *d = malloc(pairs * sizeof *d);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            double sum = 0;
            for (size_t c = 0; c < e->dim; c++) {
                double diff = e->data[i + c * m] - e->data[j + c * m];
                sum += diff * diff;
            }
            d[k++] = sum;
        }
    qsort(d, pairs, sizeof *d, compare_doubles);
    *median = d[pairs / 2];
    free(d);
    return 0;
}

/* ---- the generator ----------------------------------------------------------- */

/* Glorot weights, then the output layer's weights scaled by START_SPREAD and
 * its bias set to the data's mean: the samples start as a small cloud there. */
static void start_generator(experiment *e)
{
    const otad_mke_mlp *mlp = &e->mlp;
    otad_mke_mlp_start(mlp, e->seed + 2, e->start);
    size_t at = 0, last = mlp->n_layers - 1;
    for (size_t l = 0; l < last; l++)
        at += (mlp->width[l] + 1) * mlp->width[l + 1];
    size_t in = mlp->width[last], out = mlp->width[last + 1];
    for (size_t i = 0; i < in * out; i++)
        e->start[at + i] *= START_SPREAD;
    for (size_t c = 0; c < out; c++) {
        double sum = 0;
        for (size_t j = 0; j < e->n_data; j++)
            sum += e->data[j + c * e->n_data];
        e->start[at + in * out + c] = sum / (double)e->n_data;
    }
}

/* f_θ applied to other latent points than the ones it is fitted on: the
 * same perceptron over other samples, evaluated through a copy of the
 * problem; points is n × dim, malloc'd. */
static int generate(const experiment *e, const double *theta, size_t n, const double *latent,
                    double **points)
{
    otad_mke_mlp mlp = e->mlp;
    mlp.n_samples = n;
    mlp.samples = latent;
    otad_mke p = e->problem;
    p.model_instance = &mlp;
    size_t n_model;
    otad_error err;
    if (otad_mke_evaluate(&p, theta, points, NULL, &n_model, NULL, &err) != OTAD_OK) {
        fprintf(stderr, "%s generator: %s\n", e->name, err.message);
        return 1;
    }
    return 0;
}

static int set_up(experiment *e)
{
    otad_mke *p = &e->problem;
    otad_mke_init(p);
    p->dim = e->dim;
    p->n_data = e->n_data;
    p->data = e->data;
    p->eps = e->eps;
    p->value = OTAD_SINKHORN_DUAL;
    p->debiased = 1;
    otad_error err;
    if (otad_mke_use_mlp(p, &e->mlp, 2, e->n_hidden, e->hidden, e->n_latent, e->latent, &err) !=
        OTAD_OK) {
        fprintf(stderr, "%s generator: %s\n", e->name, err.message);
        return 1;
    }
    e->start = malloc(p->n_params * sizeof *e->start);
    if (!e->start) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    start_generator(e);
    return generate(e, e->start, e->n_latent, e->latent, &e->start_points);
}

static int fit(const options *o, experiment *e)
{
    printf("\n%s: %zu data points in R^%zu, %zu latent samples in R^2, f_theta 2", e->name,
           e->n_data, e->dim, e->n_latent);
    for (size_t l = 0; l < e->n_hidden; l++)
        printf(" -> %zu", e->hidden[l]);
    printf(" -> %zu (%zu parameters), eps %.4g, L = %d\n", e->dim, e->problem.n_params, e->eps,
           e->problem.sinkhorn.iterations);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = o->iterations ? o->iterations : e->iterations;
    params.progress = otad_lbfgs_print_progress;
    params.progress_instance = stdout;
    long_fit files = o->long_fit; /* the paths params points to, for this fit */
    long_fit_params(&files, e->name, &params);
    otad_error err;
    if (otad_mke_fit(&e->problem, e->start, &params, &e->result, &err) != OTAD_OK) {
        fprintf(stderr, "%s fit: %s\n", e->name, err.message);
        return 1;
    }
    const otad_lbfgs_result *r = &e->result.lbfgs;
    long_fit_report(e->name, r, &files);
    printf("%s: divergence %.4e at the start, %.4e after the fit\n", e->name, r->losses[0],
           r->loss);
    return 0;
}

static void experiment_free(experiment *e)
{
    free(e->data), free(e->latent), free(e->labels), free(e->start), free(e->start_points);
    otad_mke_result_free(&e->result);
}

static int allocate(experiment *e)
{
    e->data = malloc(e->n_data * e->dim * sizeof *e->data);
    e->latent = malloc(e->n_latent * 2 * sizeof *e->latent);
    if (e->data && e->latent)
        return 0;
    fprintf(stderr, "out of memory\n");
    return 1;
}

static int make_moons_experiment(const options *o, experiment *e)
{
    *e = (experiment){.name = "moons", .dim = 2, .n_data = o->full ? 2000 : 1000,
                      .n_latent = o->full ? 1000 : 500, .n_hidden = 2, .hidden = {32, 32},
                      .eps = 0.01, .seed = 1, .iterations = o->full ? 400 : 150};
    if (allocate(e))
        return 1;
    otad_rng data_rng = {e->seed}, latent_rng = {e->seed + 1};
    make_moons(&data_rng, e->n_data, e->data);
    otad_rng_fill_gaussian(&latent_rng, e->latent, 2 * e->n_latent, 0, 1);
    return set_up(e);
}

static int make_digits_experiment(const options *o, experiment *e)
{
    *e = (experiment){.name = "digits", .dim = PIXELS, .n_data = o->full ? 600 : 300,
                      .n_latent = o->full ? 600 : 300, .n_hidden = 1, .hidden = {32},
                      .seed = 11, .iterations = o->full ? 200 : 80};
    if (allocate(e))
        return 1;
    if (!(e->labels = malloc(e->n_data * sizeof *e->labels))) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    otad_rng data_rng = {e->seed}, latent_rng = {e->seed + 1};
    make_digits(&data_rng, e->n_data, e->data, e->labels);
    otad_rng_fill_gaussian(&latent_rng, e->latent, 2 * e->n_latent, 0, 1);
    double median;
    if (median_sqdist(e, &median))
        return 1;
    e->eps = DIGITS_EPS_FRACTION * median;
    printf("\ndigits: median squared distance between two images %.3f; eps = %g of it = %.4g\n",
           median, DIGITS_EPS_FRACTION, e->eps);
    return set_up(e);
}

/* ---- how close the samples come to the data -------------------------------- */

/* The data point nearest to point i of points (n × dim column-major), and
 * its squared distance; data point skip is left out (SIZE_MAX: none), so
 * that the data can be measured against the rest of itself. */
static size_t nearest_data(const experiment *e, const double *points, size_t n, size_t i,
                           size_t skip, double *distance2)
{
    size_t best = 0;
    *distance2 = INFINITY;
    for (size_t j = 0; j < e->n_data; j++) {
        if (j == skip)
            continue;
        double sum = 0;
        for (size_t c = 0; c < e->dim && sum < *distance2; c++) {
            double diff = points[i + c * n] - e->data[j + c * e->n_data];
            sum += diff * diff;
        }
        if (sum < *distance2)
            *distance2 = sum, best = j;
    }
    return best;
}

/* The median distance from a point to its nearest data point; for digits
 * also the share of each digit among the points, each point counted as the
 * digit of its nearest data image.  data_itself: the points are the data. */
static int nearest_summary(const experiment *e, const double *points, size_t n, int data_itself,
                           double *median, double shares[DIGITS])
{
    double *d = malloc(n * sizeof *d);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int k = 0; k < DIGITS; k++)
        shares[k] = 0;
    for (size_t i = 0; i < n; i++) {
        size_t j = nearest_data(e, points, n, i, data_itself ? i : SIZE_MAX, &d[i]);
        d[i] = sqrt(d[i]);
        if (e->labels)
            shares[e->labels[j]] += 1.0 / (double)n;
    }
    qsort(d, n, sizeof *d, compare_doubles);
    *median = d[n / 2];
    free(d);
    return 0;
}

static int summarise(const experiment *e)
{
    double start, fitted, itself, shares[3][DIGITS];
    if (nearest_summary(e, e->start_points, e->n_latent, 0, &start, shares[0]) ||
        nearest_summary(e, e->result.points, e->n_latent, 0, &fitted, shares[1]) ||
        nearest_summary(e, e->data, e->n_data, 1, &itself, shares[2]))
        return 1;
    printf("%s: distance from a generated sample to the nearest data point, median: %.3g at "
           "the start, %.3g after the fit (from a data point to the nearest other one: %.3g)\n",
           e->name, start, fitted, itself);
    if (e->labels) {
        printf("%s: generated images counted as the digit of the nearest data image:", e->name);
        for (int k = 0; k < DIGITS; k++)
            printf(" %d: %.0f%%", digit_values[k], 100 * shares[1][k]);
        printf(" (the data:");
        for (int k = 0; k < DIGITS; k++)
            printf(" %.0f%%", 100 * shares[2][k]);
        printf(")\n");
    }
    return 0;
}

/* ---- pictures ---------------------------------------------------------------- */

/* Data in grey, generated samples in colour, on [0,1]² with equal aspect. */
static int write_moons(const char *path, const char *title, const experiment *e,
                       const double *points)
{
    otad_plot_series s[2] = {
        {e->data, e->data + e->n_data, e->n_data, OTAD_PLOT_MARKERS, 0xb4b4b4, "data"},
        {points, points + e->n_latent, e->n_latent, OTAD_PLOT_MARKERS, 0xd62728,
         "f_theta(z), generated"},
    };
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.width = opts.height = PICTURE_SIDE;
    opts.equal_aspect = 1;
    opts.x_min = opts.y_min = 0, opts.x_max = opts.y_max = 1;
    opts.title = title;
    opts.x_label = "x";
    opts.y_label = "y";
    otad_error err;
    int rc = otad_png_write_plot(path, s, 2, &opts, &err);
    return written(path, rc, &err);
}

/* rows × cols images (PIXELS each) as one RGB picture: grey tiles from
 * black (0) to white (1), values outside clamped, on a blue-grey background
 * that no grey value matches.  image(k) reads the k-th image's pixel p from
 * values[k + p * n], the column-major layout of data and model points. */
static int write_tiles(const char *path, const double *values, size_t n, size_t rows,
                       size_t cols)
{
    size_t tile = SIDE * TILE_SCALE;
    size_t width = cols * tile + (cols + 1) * TILE_GAP, height = rows * tile + (rows + 1) * TILE_GAP;
    unsigned char *rgb = malloc(width * height * 3);
    if (!rgb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const unsigned background = 0x5b6f8a;
    for (size_t i = 0; i < width * height; i++) {
        rgb[3 * i] = background >> 16, rgb[3 * i + 1] = (background >> 8) & 0xff;
        rgb[3 * i + 2] = background & 0xff;
    }
    for (size_t k = 0; k < rows * cols && k < n; k++) {
        size_t top = TILE_GAP + (k / cols) * (tile + TILE_GAP);
        size_t left = TILE_GAP + (k % cols) * (tile + TILE_GAP);
        for (size_t y = 0; y < tile; y++)
            for (size_t x = 0; x < tile; x++) {
                size_t p = (y / TILE_SCALE) * SIDE + x / TILE_SCALE;
                unsigned colour = otad_colormap(OTAD_COLORMAP_GRAY, values[k + p * n]);
                unsigned char *px = rgb + 3 * ((top + y) * width + left + x);
                px[0] = colour >> 16, px[1] = (colour >> 8) & 0xff, px[2] = colour & 0xff;
            }
    }
    otad_error err;
    int rc = otad_png_write_rgb(path, rgb, width, height, &err);
    free(rgb);
    return written(path, rc, &err);
}

/* f_θ on a grid of latent points, each image centred on its point of the
 * latent plane (z₂ up), a blank pixel between neighbours: neighbouring
 * tiles are neighbouring latent points. */
static int write_latent_map(const experiment *e)
{
    enum { N = LATENT_GRID * LATENT_GRID, STRIDE = SIDE + 1, MAP = LATENT_GRID * STRIDE - 1 };
    double grid[2 * N], *points, *map = malloc(MAP * MAP * sizeof *map);
    if (!map) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    double spacing = 2 * LATENT_EXTENT / (LATENT_GRID - 1);
    for (int r = 0; r < LATENT_GRID; r++)
        for (int c = 0; c < LATENT_GRID; c++) {
            grid[r * LATENT_GRID + c] = -LATENT_EXTENT + spacing * c;
            grid[r * LATENT_GRID + c + N] = -LATENT_EXTENT + spacing * r;
        }
    if (generate(e, e->result.theta, N, grid, &points)) {
        free(map);
        return 1;
    }
    for (size_t i = 0; i < MAP * MAP; i++)
        map[i] = NAN;
    for (int k = 0; k < N; k++) { /* latent row 0 (z₂ = −2) at the bottom */
        size_t top = (size_t)(LATENT_GRID - 1 - k / LATENT_GRID) * STRIDE;
        size_t left = (size_t)(k % LATENT_GRID) * STRIDE;
        for (size_t p = 0; p < PIXELS; p++)
            map[(top + p / SIDE) * MAP + left + p % SIDE] = points[k + p * N];
    }
    double half = LATENT_EXTENT + spacing * SIDE / (2.0 * STRIDE);
    otad_image_opts image;
    otad_image_opts_init(&image);
    image.colormap = OTAD_COLORMAP_GRAY, image.vmin = 0, image.vmax = 1;
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.width = opts.height = PICTURE_SIDE;
    opts.x_min = opts.y_min = -half, opts.x_max = opts.y_max = half;
    opts.equal_aspect = 1;
    opts.title = "f_theta on a grid of latent points";
    opts.x_label = "z1", opts.y_label = "z2";
    const char *path = "mke_generator_digits_latent.png";
    otad_error err;
    int rc = otad_png_write_image_plot(path, map, MAP, MAP, &image, &opts, &err);
    free(points);
    free(map);
    return written(path, rc, &err);
}

static int write_moons_pictures(const experiment *e)
{
    char title[96];
    snprintf(title, sizeof title, "Two moons: generator after %d L-BFGS iterations",
             e->result.lbfgs.iterations);
    return write_moons("mke_generator_moons_init.png", "Two moons: generator at the start", e,
                       e->start_points) ||
           write_moons("mke_generator_moons_fit.png", title, e, e->result.points);
}

static int write_digits_pictures(const experiment *e)
{
    return write_tiles("mke_generator_digits_data.png", e->data, e->n_data, TILES, TILES) ||
           write_tiles("mke_generator_digits_init.png", e->start_points, e->n_latent, TILES,
                       TILES) ||
           write_tiles("mke_generator_digits_fit.png", e->result.points, e->n_latent, TILES,
                       TILES) ||
           write_latent_map(e);
}

/* Both curves on a log scale, or a linear one if a divergence rounded to 0
 * or below (it is a difference of Sinkhorn values). */
static int write_losses(const experiment e[2])
{
    const char *path = "mke_generator_loss.png";
    otad_plot_series s[2];
    int positive = 1;
    for (int k = 0; k < 2; k++) {
        const otad_lbfgs_result *r = &e[k].result.lbfgs;
        s[k] = (otad_plot_series){NULL, r->losses, (size_t)r->iterations + 1,
                                  OTAD_PLOT_LINE, 0, e[k].name};
        for (int i = 0; i <= r->iterations; i++)
            positive &= r->losses[i] > 0;
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Learning generators: loss per iteration";
    opts.x_label = "L-BFGS iteration";
    opts.y_label = "debiased Sinkhorn divergence";
    opts.log_y = positive;
    otad_error err;
    int rc = otad_png_write_plot(path, s, 2, &opts, &err);
    return written(path, rc, &err);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    experiment e[2];
    memset(e, 0, sizeof e);
    rc = make_moons_experiment(&o, &e[0]) || fit(&o, &e[0]) || summarise(&e[0]) ||
         write_moons_pictures(&e[0]) || make_digits_experiment(&o, &e[1]) || fit(&o, &e[1]) ||
         summarise(&e[1]) || write_digits_pictures(&e[1]) || write_losses(e);
    for (int k = 0; k < 2; k++)
        experiment_free(&e[k]);
    return rc;
}
