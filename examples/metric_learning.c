/*
 * Ground metric learning on a graph (Heitz, Bonneel, Coeurjolly, Cuturi,
 * Peyré 2020, §5.1): from frames of a mass moving on an n×n grid
 * graph, learn the edge weights w of the heat kernel under which the
 * displacement interpolation between the first and the last frame passes
 * through the frames in between.  The frames are made with a known metric,
 * so that the learned one can be compared with it:
 *
 *   obstacle      the reference workload: edges whose midpoints lie within
 *                 0.15 of the centre are slow (w = 0.1), and a blob moving
 *                 from left to right goes around them;
 *   anisotropic   a horizontal band |y − 0.5| < 0.15 across the grid where
 *                 vertical edges are slow (w = 0.1) but horizontal ones are
 *                 not, and a blob moving diagonally crosses it, so that the
 *                 frames see both orientations: the mass spreads along the
 *                 band while it crosses it.
 *
 * Both fits start from w = 1.  Vertex (r, c) is at (c/(n−1), r/(n−1)) and
 * is row r, column c of every picture (y grows downwards).
 *
 * Writes into the current directory, NAME being obstacle or anisotropic:
 *   metric_learning_NAME_weights.png        log10 w: true and learned
 *                                           horizontal, true and learned
 *                                           vertical weights, one colour scale
 *   metric_learning_NAME_frames.png         the observed frames
 *   metric_learning_NAME_reconstructed.png  the fit's interpolation, same scale
 *   metric_learning_loss.png                the energy per L-BFGS iteration
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otad.h"

/* Pictures are drawn about this many pixels wide per image. */
enum { WEIGHT_SIDE = 192, FRAME_SIDE = 128, FRAMES = 10, METRICS = 2 };

#define SLOW 0.1          /* weight of the slow edges of both metrics */
#define RADIUS 0.15       /* of the obstacle, and half the band's height */
#define SIGMA 0.08        /* of the Gaussian blobs */

typedef struct options {
    size_t n;
    int iterations;
    int steps, barycenter_iterations;
    double eps;
    long_fit long_fit;
} options;

/* A handcrafted metric: its weights and the region where they differ. */
typedef struct metric {
    const char *name, *region;
    double lambda_s;
    double from[2], to[2];    /* centres of the first and the last frame */
    int (*inside)(double x, double y);
    double (*weight)(double x, double y, int horizontal);
} metric;

/* The grid graph and where each edge lies. */
typedef struct grid {
    size_t n, n_edges;
    otad_graph *graph;
    size_t *row, *col;        /* of the edge's first vertex, the one left of or above it */
    unsigned char *horizontal;
} grid;

/* What a fit leaves for the summary and the pictures. */
typedef struct outcome {
    double *frames, *w_true;  /* N×FRAMES and n_edges, malloc'd */
    otad_metric_learning_energy at_one, at_true;
    otad_metric_learning_result result;
} outcome;

static int in_disk(double x, double y)
{
    return (x - 0.5) * (x - 0.5) + (y - 0.5) * (y - 0.5) < RADIUS * RADIUS;
}

static double obstacle_weight(double x, double y, int horizontal)
{
    (void)horizontal;
    return in_disk(x, y) ? SLOW : 1.0;
}

static int in_band(double x, double y)
{
    (void)x;
    return fabs(y - 0.5) < RADIUS;
}

static double band_weight(double x, double y, int horizontal)
{
    return in_band(x, y) && !horizontal ? SLOW : 1.0;
}

/* The band's edges differ from their neighbours along two whole lines, the
 * obstacle's along a circle, so the band pays more smoothness for the same
 * contrast: a lighter prior keeps its edges sharp. */
static const metric metrics[METRICS] = {
    {"obstacle", "obstacle", 0.03, {0.2, 0.5}, {0.8, 0.5}, in_disk, obstacle_weight},
    {"anisotropic", "band", 0.01, {0.2, 0.2}, {0.8, 0.8}, in_band, band_weight},
};

static void usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Learns the edge weights of a grid graph from frames of a moving mass, for an\n"
            "obstacle and for an anisotropic band, starting from w = 1.\n"
            "  --n N          grid side (default 24)\n"
            "  --iterations K L-BFGS iterations at most (default 50)\n"
            "  --paper        the paper's size: n = 50, L = 50, S = 20, eps = 0.04,\n"
            "                 500 iterations at most (hours: see --checkpoint)\n"
            LONG_FIT_USAGE
            "  --help         this text\n",
            program);
}

/* 0: run; 1: bad arguments; -1: help was asked for. */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.n = 24, .iterations = 50, .steps = 20, .barycenter_iterations = 50,
                   .eps = 4e-2};
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i], *value;
        long v;
        int long_fit_rc = long_fit_option(argc, argv, &i, &o->long_fit);
        if (long_fit_rc != 0) {
            if (long_fit_rc < 0)
                return 1;
        } else if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
            usage(stdout, argv[0]);
            return -1;
        } else if (strcmp(name, "--paper") == 0) {
            o->n = 50, o->iterations = 500;
        } else if (strcmp(name, "--n") == 0) {
            if (!(value = option_value(argc, argv, &i)) || parse_long(name, value, 8, 400, &v))
                return 1;
            o->n = (size_t)v;
        } else if (strcmp(name, "--iterations") == 0) {
            if (!(value = option_value(argc, argv, &i)) ||
                parse_long(name, value, 1, 100000, &v))
                return 1;
            o->iterations = (int)v;
        } else {
            fprintf(stderr, "unknown argument %s (see --help)\n", name);
            return 1;
        }
    }
    return 0;
}

static void grid_free(grid *g)
{
    otad_graph_free(&g->graph);
    free(g->row), free(g->col), free(g->horizontal);
}

/* Edges are placed in the pictures by their ends, not by their index. */
static int grid_new(size_t n, grid *g)
{
    otad_error err;
    memset(g, 0, sizeof *g);
    g->n = n;
    if (otad_graph_grid2d(&g->graph, n, n, &err) != OTAD_OK) {
        fprintf(stderr, "grid graph: %s\n", err.message);
        return 1;
    }
    size_t shape[3];
    if (otad_graph_grid_shape(g->graph, shape) != 2 || shape[0] != n || shape[1] != n) {
        fprintf(stderr, "grid graph: not the %zux%zu grid asked for\n", n, n);
        return 1;
    }
    size_t m = g->n_edges = otad_graph_edges(g->graph);
    g->row = malloc(m * sizeof *g->row);
    g->col = malloc(m * sizeof *g->col);
    g->horizontal = malloc(m);
    if (!g->row || !g->col || !g->horizontal) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t e = 0; e < m; e++) {
        size_t i, j;
        otad_graph_edge(g->graph, e, &i, &j);
        if (i > j) {
            size_t k = i;
            i = j, j = k;
        }
        g->row[e] = i / n, g->col[e] = i % n;
        g->horizontal[e] = j == i + 1;
        if (j != i + 1 && j != i + n) {
            fprintf(stderr, "grid graph: edge %zu joins vertices %zu and %zu, not neighbours\n",
                    e, i, j);
            return 1;
        }
    }
    return 0;
}

static void midpoint(const grid *g, size_t e, double *x, double *y)
{
    double h = 1.0 / (double)(g->n - 1);
    *x = ((double)g->col[e] + (g->horizontal[e] ? 0.5 : 0.0)) * h;
    *y = ((double)g->row[e] + (g->horizontal[e] ? 0.0 : 0.5)) * h;
}

static void blob(size_t n, const double centre[2], double *p)
{
    double sum = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++) {
            double x = (double)c / (double)(n - 1) - centre[0];
            double y = (double)r / (double)(n - 1) - centre[1];
            sum += p[r * n + c] = exp(-(x * x + y * y) / (2 * SIGMA * SIGMA));
        }
    for (size_t i = 0; i < n * n; i++)
        p[i] /= sum;
}

static void problem_init(const options *o, const grid *g, const metric *mt,
                         otad_metric_learning *p)
{
    otad_metric_learning_init(p);
    p->graph = g->graph;
    p->eps = o->eps;
    p->steps = o->steps;
    p->barycenter.iterations = o->barycenter_iterations;
    p->size = g->n * g->n;
    p->n_frames = FRAMES;
    p->lambda_s = mt->lambda_s;
}

/* The end frames are blobs, those between their interpolation under the
 * true metric: the interpolation reads only the ends, so it can write the
 * frames between them in place. */
static int make_frames(const grid *g, const metric *mt, otad_metric_learning *p, outcome *out)
{
    size_t n2 = g->n * g->n;
    out->frames = calloc(n2 * FRAMES, sizeof *out->frames);
    out->w_true = malloc(g->n_edges * sizeof *out->w_true);
    if (!out->frames || !out->w_true) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t e = 0; e < g->n_edges; e++) {
        double x, y;
        midpoint(g, e, &x, &y);
        out->w_true[e] = mt->weight(x, y, g->horizontal[e]);
    }
    blob(g->n, mt->from, out->frames);
    blob(g->n, mt->to, out->frames + (FRAMES - 1) * n2);
    double times[FRAMES - 2];
    for (int k = 1; k < FRAMES - 1; k++)
        times[k - 1] = k / (FRAMES - 1.0);
    p->frames = out->frames;
    otad_error err;
    if (otad_metric_learning_interpolate(p, out->w_true, FRAMES - 2, times, out->frames + n2,
                                         NULL, &err) != OTAD_OK) {
        fprintf(stderr, "%s frames: %s\n", mt->name, err.message);
        return 1;
    }
    return 0;
}

static int energies(const metric *mt, const otad_metric_learning *p, outcome *out)
{
    otad_error err;
    if (otad_metric_learning_interpolate(p, NULL, 0, NULL, NULL, &out->at_one, &err) !=
            OTAD_OK ||
        otad_metric_learning_interpolate(p, out->w_true, 0, NULL, NULL, &out->at_true, &err) !=
            OTAD_OK) {
        fprintf(stderr, "%s energy: %s\n", mt->name, err.message);
        return 1;
    }
    return 0;
}

static int fit(const options *o, const metric *mt, const otad_metric_learning *p, outcome *out)
{
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = o->iterations;
    params.progress = otad_lbfgs_print_progress;
    params.progress_instance = stdout;
    long_fit files = o->long_fit; /* the paths params points to, for this fit */
    long_fit_params(&files, mt->name, &params);
    otad_error err;
    if (files.resume)
        printf("\n%s: resuming from %s, lambda_s = %g\n", mt->name, files.resume_path,
               mt->lambda_s);
    else
        printf("\n%s: learning w from w = 1, lambda_s = %g\n", mt->name, mt->lambda_s);
    if (otad_metric_learning_fit(p, NULL, &params, &out->result, &err) != OTAD_OK) {
        fprintf(stderr, "%s fit: %s\n", mt->name, err.message);
        return 1;
    }
    return 0;
}

/* Means of w over the edges of one orientation inside or outside the
 * metric's region: [inside][horizontal]. */
static void region_means(const grid *g, const metric *mt, const double *w, double mean[2][2])
{
    double sum[2][2] = {{0}}, count[2][2] = {{0}};
    for (size_t e = 0; e < g->n_edges; e++) {
        double x, y;
        midpoint(g, e, &x, &y);
        int in = mt->inside(x, y) != 0, h = g->horizontal[e] != 0;
        sum[in][h] += w[e];
        count[in][h] += 1;
    }
    for (int in = 0; in < 2; in++)
        for (int h = 0; h < 2; h++)
            mean[in][h] = count[in][h] > 0 ? sum[in][h] / count[in][h] : NAN;
}

static double region_mean(const grid *g, const metric *mt, const double *w, int inside)
{
    double sum = 0, count = 0;
    for (size_t e = 0; e < g->n_edges; e++) {
        double x, y;
        midpoint(g, e, &x, &y);
        if ((mt->inside(x, y) != 0) == inside)
            sum += w[e], count += 1;
    }
    return count > 0 ? sum / count : NAN;
}

static void print_energy(const char *what, const otad_metric_learning_energy *e)
{
    printf("  %-14s %12.4e %12.4e %12.4e\n", what, e->total, e->data, e->smoothness);
}

static void report(const grid *g, const metric *mt, const outcome *out,
                   const long_fit *long_fit_of)
{
    const otad_metric_learning_result *r = &out->result;
    printf("\n");
    long_fit_report(mt->name, &r->lbfgs, long_fit_of);
    printf("  %-14s %12s %12s %12s\n", "energy", "total", "data", "smoothness");
    print_energy("at w = 1", &out->at_one);
    print_energy("at the true w", &out->at_true);
    print_energy("at the fit", &r->energy);
    double truth[2][2], learned[2][2];
    region_means(g, mt, out->w_true, truth);
    region_means(g, mt, r->weights, learned);
    printf("  %-14s %12s %12s %12s %12s\n", "mean w", "true horiz", "learned", "true vert",
           "learned");
    for (int in = 1; in >= 0; in--)
        printf("  %-14s %12.3f %12.3f %12.3f %12.3f\n", in ? "inside" : "outside",
               truth[in][1], learned[in][1], truth[in][0], learned[in][0]);
    if (mt->inside == in_disk)
        printf("  mean learned w inside the obstacle %.2f, outside %.2f (true %g and 1)\n",
               region_mean(g, mt, r->weights, 1), region_mean(g, mt, r->weights, 0), SLOW);
    else
        printf("  in the %s: mean learned horizontal w %.2f, vertical %.2f (true 1 and %g)\n",
               mt->region, learned[1][1], learned[1][0], SLOW);
}

static int scale_for(size_t side, int pixels)
{
    return side < (size_t)pixels ? (int)((size_t)pixels / side) : 1;
}

/* log10 w of one orientation as an n×n picture: horizontal edges fill
 * columns 0..n−2, vertical ones rows 0..n−2, and the missing column or row
 * repeats its neighbour so that all four pictures of a strip have one size
 * without drawing a line that is not in the data. */
static void weight_image(const grid *g, const double *w, int horizontal, double *image)
{
    size_t n = g->n;
    for (size_t e = 0; e < g->n_edges; e++)
        if ((g->horizontal[e] != 0) == horizontal)
            image[g->row[e] * n + g->col[e]] = log10(w[e]);
    for (size_t k = 0; k < n; k++) {
        if (horizontal)
            image[k * n + n - 1] = image[k * n + n - 2];
        else
            image[(n - 1) * n + k] = image[(n - 2) * n + k];
    }
}

static int write_weights(const grid *g, const metric *mt, const outcome *out)
{
    char path[96];
    snprintf(path, sizeof path, "metric_learning_%s_weights.png", mt->name);
    size_t n2 = g->n * g->n;
    double *images = malloc(4 * n2 * sizeof *images);
    if (!images) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    const double *w[4] = {out->w_true, out->result.weights, out->w_true, out->result.weights};
    const double *columns[4];
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < 4; k++) {
        weight_image(g, w[k], k < 2, images + k * n2);
        columns[k] = images + k * n2;
        for (size_t i = 0; i < n2; i++)
            lo = fmin(lo, columns[k][i]), hi = fmax(hi, columns[k][i]);
    }
    const char *const captions[4] = {"true horiz", "learned horiz", "true vert", "learned vert"};
    otad_image_opts opts;
    otad_image_opts_init(&opts);
    opts.scale = scale_for(g->n, WEIGHT_SIDE);
    opts.captions = captions;
    opts.colorbar = 1;
    otad_error err;
    int rc = otad_png_write_strip(path, columns, 4, g->n, g->n, &opts, &err);
    free(images);
    if (written(path, rc, &err))
        return 1;
    printf("  colours: log10 w from %.2f (black, w = %.3g) to %.2f (pale yellow, w = %.3g)\n",
           lo, pow(10, lo), hi, pow(10, hi));
    return 0;
}

/* Observed and reconstructed frames on one colour scale, so they compare. */
static int write_frames(const grid *g, const metric *mt, const outcome *out)
{
    size_t n2 = g->n * g->n;
    double top = 0;
    for (size_t i = 0; i < n2 * FRAMES; i++)
        top = fmax(top, fmax(out->frames[i], out->result.reconstructions[i]));
    char captions[FRAMES][16];
    const char *caption_list[FRAMES];
    for (int k = 0; k < FRAMES; k++) {
        snprintf(captions[k], sizeof captions[k], "t=%.2f", k / (FRAMES - 1.0));
        caption_list[k] = captions[k];
    }
    otad_image_opts opts;
    otad_image_opts_init(&opts);
    opts.scale = scale_for(g->n, FRAME_SIDE);
    opts.captions = caption_list;
    opts.colorbar = 1;
    opts.vmin = 0, opts.vmax = top;
    const double *set[2] = {out->frames, out->result.reconstructions};
    const char *kind[2] = {"frames", "reconstructed"};
    for (int s = 0; s < 2; s++) {
        const double *columns[FRAMES];
        for (int k = 0; k < FRAMES; k++)
            columns[k] = set[s] + (size_t)k * n2;
        char path[96];
        snprintf(path, sizeof path, "metric_learning_%s_%s.png", mt->name, kind[s]);
        otad_error err;
        int rc = otad_png_write_strip(path, columns, FRAMES, g->n, g->n, &opts, &err);
        if (written(path, rc, &err))
            return 1;
    }
    return 0;
}

static int write_losses(const outcome out[METRICS])
{
    const char *path = "metric_learning_loss.png";
    otad_plot_series series[METRICS];
    for (int k = 0; k < METRICS; k++) {
        const otad_lbfgs_result *r = &out[k].result.lbfgs;
        series[k] = (otad_plot_series){NULL, r->losses, (size_t)r->iterations + 1,
                                       OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, 0, metrics[k].name};
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Metric learning: energy per L-BFGS iteration";
    opts.x_label = "iteration";
    opts.y_label = "energy";
    opts.log_y = 1;
    otad_error err;
    int rc = otad_png_write_plot(path, series, METRICS, &opts, &err);
    return written(path, rc, &err);
}

static void outcome_free(outcome *out)
{
    free(out->frames);
    free(out->w_true);
    otad_metric_learning_result_free(&out->result);
}

static int experiment(const options *o, const grid *g, const metric *mt, outcome *out)
{
    otad_metric_learning p;
    problem_init(o, g, mt, &p);
    if (make_frames(g, mt, &p, out) || energies(mt, &p, out) || fit(o, mt, &p, out))
        return 1;
    report(g, mt, out, &o->long_fit);
    return write_weights(g, mt, out) || write_frames(g, mt, out);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    grid g;
    outcome out[METRICS];
    memset(out, 0, sizeof out);
    rc = grid_new(o.n, &g);
    if (rc == 0)
        printf("%zux%zu grid graph, %zu edges; eps %g, S = %d, L = %d, %d frames, at most %d "
               "L-BFGS iterations\n", o.n, o.n, g.n_edges, o.eps, o.steps,
               o.barycenter_iterations, FRAMES, o.iterations);
    for (int k = 0; rc == 0 && k < METRICS; k++)
        rc = experiment(&o, &g, &metrics[k], &out[k]);
    if (rc == 0)
        rc = write_losses(out);
    for (int k = 0; k < METRICS; k++)
        outcome_free(&out[k]);
    grid_free(&g);
    return rc;
}
