/*
 * Wasserstein barycentric coordinates (Bonneel, Peyré, Cuturi 2016): the
 * weights λ on the simplex whose Sinkhorn barycenter P_L(λ) of a database of
 * histograms comes closest to a target, found by L-BFGS through L = 50
 * differentiated barycenter iterations.
 *
 * Without files it runs the reference workload: five soft shapes (blob, disk, ring,
 * square, cross) on a 64×64 grid of [0,1]², ε = 2e-3, the target made as
 * P_L(λ_true) so that the recovered λ can be compared with the true one.
 * Given PNG files — the database images, then the target — it reads them as
 * grayscale histograms (bright is mass; --dark for dark ink on white) on the
 * grid of their size and fits the last with the others.
 *
 * Writes into the current directory:
 *   barycoords_database.png   the database histograms side by side
 *   barycoords_target.png     target | reconstruction P_L(λ), one colour scale
 *   barycoords_difference.png P_L(λ) − target on a symmetric scale of its own
 *   barycoords_weights.png    the recovered weights (and the true ones) as bars
 *   barycoords_loss.png       the loss per L-BFGS iteration, log scale
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otad.h"
#include "w2_database.h"

/* Pictures are drawn about this many pixels wide per histogram. */
enum { PICTURE_SIDE = 192, MAX_ITERATIONS = 50 };

static const char *const shape_names[W2_SHAPES] = {"blob", "disk", "ring", "square", "cross"};
static const char *const loss_names[] = {"l2", "kl", "l1", "sinkhorn"};
static const char *const loss_titles[] = {"L2", "KL", "L1", "Sinkhorn"};

typedef struct options {
    size_t size;              /* of the synthetic grid */
    double eps;
    otad_histogram_loss loss;
    int dark;                 /* PNG mode: dark pixels carry the mass */
    int log_domain;
    int n_files;
    char **files;             /* the database images, then the target */
} options;

/* S database histograms and one target on a width×height grid. */
typedef struct data {
    size_t width, height, n_shapes;
    double *database, *target;    /* N×S and N, malloc'd */
    const double *lambda_true;    /* NULL when the target is not a known barycenter */
    const char **names;           /* S captions, the array malloc'd, the strings borrowed */
} data;

static void usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options] [DATABASE.png ... TARGET.png]\n"
            "Recovers the Wasserstein barycentric coordinates of a target histogram.\n"
            "Without files: five shapes, target P_L(lambda_true).  With files (at least 3,\n"
            "all of one size): grayscale images as histograms, the last one the target.\n"
            "  --size N     side of the synthetic grid (default 64)\n"
            "  --eps E      entropic regularisation on the grid of [0,1]^2 (default %g)\n"
            "  --loss NAME  l2 (default), kl, l1 or sinkhorn\n"
            "  --dark       files: dark pixels carry the mass (ink on paper)\n"
            "  --log-domain barycenter and Sinkhorn loss in the log domain (small eps)\n"
            "  --help       this text\n",
            program, W2_EPS);
}

/* One option at argv[*i]: 0 when understood, 1 on error. */
static int parse_option(int argc, char **argv, int *i, options *o)
{
    const char *name = argv[*i], *value;
    char *end;
    if (strcmp(name, "--dark") == 0) {
        o->dark = 1;
        return 0;
    }
    if (strcmp(name, "--log-domain") == 0) {
        o->log_domain = 1;
        return 0;
    }
    if (strcmp(name, "--size") && strcmp(name, "--eps") && strcmp(name, "--loss")) {
        fprintf(stderr, "unknown option %s (see --help)\n", name);
        return 1;
    }
    if (!(value = option_value(argc, argv, i)))
        return 1;
    if (strcmp(name, "--size") == 0) {
        long n = strtol(value, &end, 10);
        if (*end || n < 8 || n > 1024) {
            fprintf(stderr, "--size %s: give a side from 8 to 1024\n", value);
            return 1;
        }
        o->size = (size_t)n;
    } else if (strcmp(name, "--eps") == 0) {
        o->eps = strtod(value, &end);
        if (*end || !(o->eps > 0) || !isfinite(o->eps)) {
            fprintf(stderr, "--eps %s: give a positive number\n", value);
            return 1;
        }
    } else {
        size_t k = 0;
        while (k < sizeof loss_names / sizeof *loss_names && strcmp(value, loss_names[k]))
            k++;
        if (k == sizeof loss_names / sizeof *loss_names) {
            fprintf(stderr, "--loss %s: give l2, kl, l1 or sinkhorn\n", value);
            return 1;
        }
        o->loss = (otad_histogram_loss)k;
    }
    return 0;
}

/* 0: run; 1: bad arguments; -1: help was asked for. */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.size = 64, .eps = W2_EPS, .loss = OTAD_LOSS_L2};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return -1;
        }
        if (strncmp(argv[i], "--", 2) == 0) {
            if (parse_option(argc, argv, &i, o))
                return 1;
        } else {
            o->files = argv + i;   /* files come last, together */
            o->n_files = argc - i;
            break;
        }
    }
    for (int k = 0; k < o->n_files; k++)
        if (strncmp(o->files[k], "--", 2) == 0) {
            fprintf(stderr, "%s: options go before the files\n", o->files[k]);
            return 1;
        }
    if (o->n_files == 1 || o->n_files == 2) {
        fprintf(stderr, "give at least 3 images: 2 or more for the database, then the "
                "target\n");
        return 1;
    }
    return 0;
}

static void problem_init(const options *o, const data *d, otad_barycoords *p)
{
    otad_barycoords_init(p);
    /* each axis spans [0,1], so a picture that is not square is stretched */
    p->support = otad_support_grid(2, (size_t[]){d->width, d->height}, o->eps);
    p->size = d->width * d->height;
    p->n_histograms = d->n_shapes;
    p->database = d->database;
    p->n_targets = 1;
    p->targets = d->target;
    p->loss = o->loss;
    p->barycenter.log_domain = p->sinkhorn.log_domain = o->log_domain;
}

static int allocate(data *d, size_t width, size_t height, size_t n_shapes)
{
    d->width = width, d->height = height, d->n_shapes = n_shapes;
    d->database = malloc(width * height * n_shapes * sizeof *d->database);
    d->target = malloc(width * height * sizeof *d->target);
    d->names = malloc(n_shapes * sizeof *d->names);
    if (d->database && d->target && d->names)
        return 0;
    fprintf(stderr, "out of memory\n");
    return 1;
}

static void data_free(data *d)
{
    free(d->database);
    free(d->target);
    free(d->names);
}

/* The five shapes, and as target its barycenter at the true weights. */
static int synthesise(const options *o, data *d)
{
    if (allocate(d, o->size, o->size, W2_SHAPES))
        return 1;
    w2_database(o->size, d->database);
    for (int s = 0; s < W2_SHAPES; s++)
        d->names[s] = shape_names[s];
    d->lambda_true = w2_lambda_true;
    otad_barycoords p;
    problem_init(o, d, &p);
    otad_error err;
    if (otad_barycoords_project(&p, w2_lambda_true, 1, d->target, &err) != OTAD_OK) {
        fprintf(stderr, "making the target: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* Every bin keeps a little mass, as in the reference workload: then u = a/(Kv) is
 * positive everywhere, so Kᵀu never vanishes and the barycenter's geometric
 * mean Π(Kᵀu_r)^λ_r never meets 0/0; the KL loss needs a positive target too.
 * 1e-10 of the mass per bin changes no picture. */
static void floor_histogram(double *h, size_t n)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += h[i] += 1e-10;
    for (size_t i = 0; i < n; i++)
        h[i] /= sum;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* File k as a histogram into its column: database k, or the target last. */
static int read_picture(const options *o, int k, data *d)
{
    otad_value image;
    size_t width, height;
    otad_error err;
    const char *path = o->files[k];
    if (otad_png_read_gray(path, &image, &width, &height, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int rc = 0;
    if (k == 0)
        rc = allocate(d, width, height, (size_t)o->n_files - 1);
    else if (width != d->width || height != d->height) {
        fprintf(stderr, "%s is %zux%zu but %s is %zux%zu: all images must have the same "
                "size\n", path, width, height, o->files[0], d->width, d->height);
        rc = 1;
    }
    if (rc == 0 && otad_histogram_from_gray(&image, o->dark, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        rc = 1;
    }
    if (rc == 0) {
        size_t n = width * height;
        double *column = k + 1 == o->n_files ? d->target : d->database + (size_t)k * n;
        memcpy(column, image.data, n * sizeof *column);
        floor_histogram(column, n);
        if (k + 1 < o->n_files)
            d->names[k] = base_name(path);
    }
    free(image.data);
    return rc;
}

static int read_pictures(const options *o, data *d)
{
    for (int k = 0; k < o->n_files; k++)
        if (read_picture(o, k, d))
            return 1;
    return 0;
}

static int fit(const otad_barycoords *p, otad_barycoords_result *result)
{
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = MAX_ITERATIONS;
    params.progress = otad_lbfgs_print_progress;
    otad_error err;
    if (otad_barycoords_fit(p, NULL, &params, result, &err) != OTAD_OK) {
        fprintf(stderr, "fit: %s\n", err.message);
        return 1;
    }
    return 0;
}

static void report(const data *d, const otad_barycoords_result *r)
{
    printf("\n%s\n%d iterations, %d evaluations, %.2f s; loss at the fit %.4e\n\n",
           r->lbfgs.lbfgs_message, r->lbfgs.iterations, r->lbfgs.evaluations, r->lbfgs.seconds,
           r->target_losses[0]);
    printf("%-24s %10s%s\n", "histogram", "recovered", d->lambda_true ? "       true" : "");
    double l1 = 0;
    for (size_t s = 0; s < d->n_shapes; s++) {
        printf("%-24s %10.5f", d->names[s], r->weights[s]);
        if (d->lambda_true) {
            printf(" %10.5f", d->lambda_true[s]);
            l1 += fabs(r->weights[s] - d->lambda_true[s]);
        }
        printf("\n");
    }
    if (d->lambda_true)
        printf("|lambda - lambda_true|_1 = %.3e\n", l1);
    printf("\n");
}

static void image_opts(const data *d, const char *const *captions, otad_image_opts *opts)
{
    size_t side = d->width > d->height ? d->width : d->height;
    otad_image_opts_init(opts);
    opts->scale = side < PICTURE_SIDE ? (int)(PICTURE_SIDE / side) : 1;
    opts->captions = captions;
    opts->colorbar = 1;
}

static int write_database(const data *d)
{
    const char *path = "barycoords_database.png";
    const double **images = malloc(d->n_shapes * sizeof *images);
    if (!images) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t s = 0; s < d->n_shapes; s++)
        images[s] = d->database + s * d->width * d->height;
    otad_image_opts opts;
    image_opts(d, d->names, &opts);
    otad_error err;
    int rc = otad_png_write_strip(path, images, d->n_shapes, d->width, d->height, &opts, &err);
    free(images);
    return written(path, rc, &err);
}

/* Target and P_L(λ) on one colour scale; their difference apart, on a
 * symmetric scale of its own (blue where the fit lacks mass, red where it
 * has too much), which the fit's small errors would not show on theirs. */
static int write_target(const otad_barycoords *p, const data *d, const double *weights)
{
    const char *path = "barycoords_target.png", *difference_path = "barycoords_difference.png";
    size_t n = p->size;
    double *fitted = malloc(2 * n * sizeof *fitted), *difference = fitted + n;
    if (!fitted) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    otad_error err;
    int rc = otad_barycoords_project(p, weights, 1, fitted, &err);
    if (rc == OTAD_OK) {
        const double *images[2] = {d->target, fitted};
        const char *const captions[2] = {"target", "P_L(lambda)"};
        otad_image_opts opts;
        image_opts(d, captions, &opts);
        rc = otad_png_write_strip(path, images, 2, d->width, d->height, &opts, &err);
    }
    if (written(path, rc, &err) != 0) {
        free(fitted);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        difference[i] = fitted[i] - d->target[i];
    const char *const caption[1] = {"fit - target"};
    otad_image_opts opts;
    image_opts(d, caption, &opts);
    opts.colormap = OTAD_COLORMAP_DIVERGING;
    rc = otad_png_write_heatmap(difference_path, difference, d->width, d->height, &opts, &err);
    free(fitted);
    return written(difference_path, rc, &err);
}

static int write_weights(const data *d, const double *weights)
{
    const char *path = "barycoords_weights.png";
    otad_bar_series series[2] = {{weights, 0, "recovered"}, {d->lambda_true, 0, "true"}};
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Barycentric coordinates";
    opts.x_label = "database histogram";
    opts.y_label = "weight";
    otad_error err;
    int rc = otad_png_write_bars(path, series, d->lambda_true ? 2 : 1, d->n_shapes, d->names,
                                 &opts, &err);
    return written(path, rc, &err);
}

/* The debiased Sinkhorn divergence of nearly equal histograms can round
 * below 0; its size is then what the log scale shows. */
static int write_losses(const otad_lbfgs_result *r, const char *loss)
{
    const char *path = "barycoords_loss.png";
    size_t n = (size_t)r->iterations + 1;
    double *magnitude = malloc(n * sizeof *magnitude);
    if (!magnitude) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    int negative = 0, zero = 0;
    for (size_t i = 0; i < n; i++) {
        magnitude[i] = fabs(r->losses[i]);
        negative |= r->losses[i] < 0, zero |= r->losses[i] == 0;
    }
    otad_plot_series series = {NULL, negative && !zero ? magnitude : r->losses, n,
                               OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, 0, NULL};
    char title[64];
    snprintf(title, sizeof title, "L-BFGS on the %s loss", loss);
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = title;
    opts.x_label = "iteration";
    opts.y_label = negative && !zero ? "|loss| (rounded below 0 at times)" : "loss";
    opts.log_y = !zero;
    otad_error err;
    int rc = otad_png_write_plot(path, &series, 1, &opts, &err);
    free(magnitude);
    return written(path, rc, &err);
}

static int write_pictures(const options *o, const otad_barycoords *p, const data *d,
                          const otad_barycoords_result *r)
{
    return write_database(d) || write_target(p, d, r->weights) ||
           write_weights(d, r->weights) || write_losses(&r->lbfgs, loss_titles[o->loss]);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    data d = {0};
    rc = o.n_files ? read_pictures(&o, &d) : synthesise(&o, &d);
    otad_barycoords p;
    otad_barycoords_result result = {0};
    if (rc == 0) {
        problem_init(&o, &d, &p);
        printf("%zu histograms on a %zux%zu grid, eps %g, L = %d, %s domain, %s loss\n",
               d.n_shapes, d.width, d.height, o.eps, p.barycenter.iterations,
               o.log_domain ? "log" : "scaling", loss_names[o.loss]);
        rc = fit(&p, &result);
    }
    if (rc == 0) {
        report(&d, &result);
        rc = write_pictures(&o, &p, &d, &result);
    }
    otad_barycoords_result_free(&result);
    data_free(&d);
    return rc;
}
