/*
 * Fitting ellipses by minimum Kantorovich estimation (Genevay, Peyré,
 * Cuturi 2018): three uniform ellipse measures x_{k,j} = m_k + A_k z_j,
 * pushed forward from 200 fixed samples z_j of the unit disk, are fitted
 * to 1800 points drawn from three true ellipses by minimising a Sinkhorn
 * loss (ε = 0.01, L = 100 iterations) over θ = (m_k, A_k) with L-BFGS.
 * The data, the samples, the start and the first loss are exactly those of
 * the PyTorch reference whose results are in tests/data/w4.
 *
 * It fits twice from the same start:
 *   W_L        Genevay et al.'s loss, the transport cost of the L-th Sinkhorn
 *              iterate.  It is biased: the ellipses shrink to segments (the
 *              minor semi-axes fall below 2e-4 in 50 iterations, to about
 *              1e-5 at convergence), and the loss at the fit is below the
 *              loss at the true ellipses;
 *   debiased   W(α, β) − ½ W(α, α) − ½ W(β, β) on the dual value, which
 *              recovers the centres and the semi-axes.
 * and prints, per ellipse, the centre error and the fitted semi-axes next to
 * the true ones for both fits.  Both losses end below their value at the
 * true ellipses, for different reasons: W_L because its minimiser is the
 * segments (4.7e-3 against 5.3e-3 at the truth), the divergence because the
 * fit follows the sampling noise of 600 points per ellipse (1e-6 against
 * 1.2e-5 at the truth, both tiny next to 2.6e-2 at the start).
 *
 * Run: mke_ellipses [--iterations N]   (at most N L-BFGS iterations per fit,
 * default 50: about 15 s on two cores.  Both fits have settled by then — the
 * W_L loss is within 1e-8 of its minimum, the debiased fit's centres and
 * semi-axes within about 1e-3 of where 100 iterations take them.  --iterations 100
 * (about 27 s) runs the W_L fit to convergence, 74 iterations, and lands
 * where the PyTorch reference does: loss 4.6974e-3, the same centres.)
 *
 * Writes into the current directory:
 *   mke_ellipses_init.png       data (grey) and the model's points at the start
 *   mke_ellipses_wl.png         the same after the W_L fit: segments
 *   mke_ellipses_debiased.png   the same after the debiased fit
 *   mke_ellipses_loss.png       the loss per L-BFGS iteration of both fits
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "otad.h"

enum {
    ELLIPSES = 3,
    DATA_PER_ELLIPSE = 600,
    DATA_POINTS = ELLIPSES * DATA_PER_ELLIPSE,
    SAMPLES = 200,           /* z_j per model ellipse */
    BLOCK = 6,               /* θ per ellipse: m (2), A row-major (4) */
    PARAMS = ELLIPSES * BLOCK,
    PICTURE_SIDE = 900,
    OUTLINE = 121            /* points drawn on each true boundary */
};

#define EPS 0.01
#define SINKHORN_ITERATIONS 100
#define START_SCALE 0.1      /* A_k = 0.1 I at the start */

/* The true ellipses: centre, semi-axes, rotation counter-clockwise. */
static const struct {
    double centre[2], axes[2], degrees;
} truth[ELLIPSES] = {
    {{0.25, 0.30}, {0.15, 0.06}, 30},
    {{0.72, 0.28}, {0.12, 0.08}, -45},
    {{0.50, 0.75}, {0.20, 0.05}, 80},
};

static const double start_centres[ELLIPSES][2] = {{0.35, 0.40}, {0.60, 0.40}, {0.50, 0.60}};

/* One colour per model ellipse, the data in a light grey under them. */
static const unsigned ellipse_colours[ELLIPSES] = {0xd62728, 0x1f77b4, 0x2ca02c};
#define DATA_COLOUR 0xb4b4b4
#define OUTLINE_COLOUR 0x202020

typedef struct options {
    int iterations;
    long_fit long_fit;
} options;

/* What one fit leaves for the table and the pictures. */
typedef struct fit_outcome {
    const char *name;          /* in the printout and the legend */
    double loss_at_start, loss_at_truth;
    otad_mke_result result;
} fit_outcome;

static void usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options]\n"
            "Fits three uniform ellipses to 1800 points by minimum Kantorovich\n"
            "estimation, once with the Sinkhorn loss W_L and once with the\n"
            "debiased Sinkhorn divergence.\n"
            "  --iterations N  L-BFGS iterations at most per fit (default 50; 100 runs the\n"
            "                  W_L fit to convergence, as the PyTorch reference does)\n"
            LONG_FIT_USAGE
            "  --help          this text\n",
            program);
}

/* 0: run; 1: bad arguments; -1: help was asked for. */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.iterations = 50};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return -1;
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

/* The parameter block (m, A row-major) of true ellipse k: A = R(angle) diag(a, b). */
static void true_block(int k, double block[BLOCK])
{
    double angle = truth[k].degrees * acos(-1.0) / 180, c = cos(angle), s = sin(angle);
    double a = truth[k].axes[0], b = truth[k].axes[1];
    block[0] = truth[k].centre[0], block[1] = truth[k].centre[1];
    block[2] = a * c, block[3] = -b * s;
    block[4] = a * s, block[5] = b * c;
}

/* The data, m×2 column-major: ellipse k draws from the LCG seeded 1000 + k,
 * u1 and u2 per point, and uses r = √u1 so that the points are uniform on
 * the disk before A_k stretches them. */
static void make_data(double *data)
{
    const double two_pi = 2 * acos(-1.0);
    for (int k = 0; k < ELLIPSES; k++) {
        double t[BLOCK];
        true_block(k, t);
        otad_rng rng = {1000 + (uint64_t)k};
        for (int i = 0; i < DATA_PER_ELLIPSE; i++) {
            double u1 = otad_rng_uniform(&rng), u2 = otad_rng_uniform(&rng);
            double r = sqrt(u1), phi = two_pi * u2;
            double z0 = r * cos(phi), z1 = r * sin(phi);
            size_t j = (size_t)k * DATA_PER_ELLIPSE + (size_t)i;
            data[j] = t[0] + t[2] * z0 + t[3] * z1;
            data[j + DATA_POINTS] = t[1] + t[4] * z0 + t[5] * z1;
        }
    }
}

static void start_theta(double theta[PARAMS])
{
    for (int k = 0; k < ELLIPSES; k++) {
        double *b = theta + BLOCK * k;
        b[0] = start_centres[k][0], b[1] = start_centres[k][1];
        b[2] = START_SCALE, b[3] = 0, b[4] = 0, b[5] = START_SCALE;
    }
}

static void true_theta(double theta[PARAMS])
{
    for (int k = 0; k < ELLIPSES; k++)
        true_block(k, theta + BLOCK * k);
}

/* The problem's sizes and ε are the reference's; only the loss differs between fits. */
static int problem_init(const double *data, const double *disk, int debiased, otad_mke *p,
                        otad_mke_ellipses *model)
{
    otad_mke_init(p);
    p->dim = 2;
    p->n_data = DATA_POINTS;
    p->data = data;
    p->eps = EPS;
    p->sinkhorn.iterations = SINKHORN_ITERATIONS;
    /* W_L is the transport cost of the L-th iterate; the divergence is taken
     * on the dual value, the entropic OT value, whose debiased form is
     * non-negative and zero only where the measures agree (at convergence) */
    p->debiased = debiased;
    p->value = debiased ? OTAD_SINKHORN_DUAL : OTAD_SINKHORN_COST;
    otad_error err;
    if (otad_mke_use_ellipses(p, model, ELLIPSES, SAMPLES, disk, &err) != OTAD_OK) {
        fprintf(stderr, "ellipse model: %s\n", err.message);
        return 1;
    }
    return 0;
}

static int loss_at(const otad_mke *p, const double *theta, const char *what, double *loss)
{
    size_t n;
    otad_error err;
    if (otad_mke_evaluate(p, theta, NULL, NULL, &n, loss, &err) != OTAD_OK) {
        fprintf(stderr, "loss at %s: %s\n", what, err.message);
        return 1;
    }
    return 0;
}

static int fit(const options *o, const otad_mke *p, const double *start, const double *theta_true,
               fit_outcome *out)
{
    if (loss_at(p, start, "the start", &out->loss_at_start) ||
        loss_at(p, theta_true, "the true ellipses", &out->loss_at_truth))
        return 1;
    printf("\n%s: loss at the start %.6e, at the true ellipses %.6e\n", out->name,
           out->loss_at_start, out->loss_at_truth);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = o->iterations;
    params.progress = otad_lbfgs_print_progress;
    params.progress_instance = stdout;
    long_fit files = o->long_fit; /* the paths params points to, for this fit */
    long_fit_params(&files, out->name, &params);
    otad_error err;
    if (otad_mke_fit(p, start, &params, &out->result, &err) != OTAD_OK) {
        fprintf(stderr, "%s fit: %s\n", out->name, err.message);
        return 1;
    }
    const otad_lbfgs_result *r = &out->result.lbfgs;
    long_fit_report(out->name, r, &files);
    printf("%s: loss at the fit %.6e, at the true ellipses %.6e (%s)\n", out->name, r->loss,
           out->loss_at_truth, r->loss < out->loss_at_truth ? "lower at the fit" : "lower at "
           "the truth");
    return 0;
}

static void report(const double *theta_true, const fit_outcome out[2])
{
    printf("\n%-8s | %-30s | %-30s | %s\n", "", out[0].name, out[1].name, "true");
    printf("%-8s | %10s %19s | %10s %19s | %19s\n", "ellipse", "centre err", "semi-axes",
           "centre err", "semi-axes", "semi-axes");
    double worst_centre = 0, worst_axis = 0;
    for (int k = 0; k < ELLIPSES; k++) {
        const double *t = theta_true + BLOCK * k;
        printf("%-8d |", k);
        for (int f = 0; f < 2; f++) {
            const double *b = out[f].result.theta + BLOCK * k;
            double axes[2], error = hypot(b[0] - t[0], b[1] - t[1]);
            otad_ellipse_semi_axes(b, axes);
            printf(" %10.2e %9.4f %9.2e |", error, axes[0], axes[1]);
            if (f == 1) {
                worst_centre = fmax(worst_centre, error);
                for (int a = 0; a < 2; a++)
                    worst_axis = fmax(worst_axis, fabs(axes[a] / truth[k].axes[a] - 1));
            }
        }
        printf(" %9.4f %9.4f\n", truth[k].axes[0], truth[k].axes[1]);
    }
    printf("%s: largest centre error %.2e, largest relative semi-axis error %.1f%%\n",
           out[1].name, worst_centre, 100 * worst_axis);
}

/* Points on the boundary of true ellipse k, closed (the last is the first). */
static void outline(int k, double *x, double *y)
{
    double t[BLOCK];
    true_block(k, t);
    for (int i = 0; i < OUTLINE; i++) {
        double phi = 2 * acos(-1.0) * i / (OUTLINE - 1);
        x[i] = t[0] + t[2] * cos(phi) + t[3] * sin(phi);
        y[i] = t[1] + t[4] * cos(phi) + t[5] * sin(phi);
    }
}

/* Data in grey under the model's points, one colour per ellipse, and the
 * true ellipses' boundaries over them, on [0,1]² with equal aspect so that
 * the shapes are not distorted.  The plot draws the markers of a series of
 * more than 400 points smaller: the data's are, the model's are not, and
 * the picture is large enough for the model's 200 per ellipse not to merge. */
static int write_scatter(const char *path, const char *title, const double *data,
                         const double *points, size_t n_model)
{
    otad_plot_series s[1 + 2 * ELLIPSES];
    s[0] = (otad_plot_series){data, data + DATA_POINTS, DATA_POINTS, OTAD_PLOT_MARKERS,
                              DATA_COLOUR, "data"};
    size_t per = n_model / ELLIPSES;
    static const char *const names[ELLIPSES] = {"model ellipse 0", "model ellipse 1",
                                                "model ellipse 2"};
    for (int k = 0; k < ELLIPSES; k++)
        s[1 + k] = (otad_plot_series){points + (size_t)k * per, points + n_model + (size_t)k * per,
                                      per, OTAD_PLOT_MARKERS, ellipse_colours[k], names[k]};
    double boundary[ELLIPSES][2][OUTLINE];
    for (int k = 0; k < ELLIPSES; k++) {
        outline(k, boundary[k][0], boundary[k][1]);
        s[1 + ELLIPSES + k] = (otad_plot_series){boundary[k][0], boundary[k][1], OUTLINE,
                                                 OTAD_PLOT_LINE, OUTLINE_COLOUR,
                                                 k == 0 ? "true ellipses" : NULL};
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.width = opts.height = PICTURE_SIDE;
    opts.equal_aspect = 1;
    opts.x_min = opts.y_min = 0, opts.x_max = opts.y_max = 1;
    opts.title = title;
    opts.x_label = "x";
    opts.y_label = "y";
    otad_error err;
    int rc = otad_png_write_plot(path, s, 1 + 2 * ELLIPSES, &opts, &err);
    return written(path, rc, &err);
}

static int write_start(const otad_mke *p, const double *data, const double *start)
{
    double *points;
    size_t n;
    otad_error err;
    if (otad_mke_evaluate(p, start, &points, NULL, &n, NULL, &err) != OTAD_OK) {
        fprintf(stderr, "model at the start: %s\n", err.message);
        return 1;
    }
    int rc = write_scatter("mke_ellipses_init.png", "Start: three disks of radius 0.1", data,
                           points, n);
    free(points);
    return rc;
}

/* Both loss curves, each with its value at the true ellipses as a flat line
 * in a lighter shade: the W_L curve ends below its line.  Log scale; the
 * debiased divergence is a difference of losses, so it could round to 0 or
 * below near an exact fit: then the scale is linear. */
static int write_losses(const fit_outcome out[2])
{
    const char *path = "mke_ellipses_loss.png";
    static const unsigned curve_colours[2] = {0x1f77b4, 0xd95f02},
                          truth_colours[2] = {0x9ecae1, 0xfdae6b};
    static const char *const truth_labels[2] = {"W_L at the true ellipses",
                                                "debiased at the true ellipses"};
    size_t longest = 0;
    for (int f = 0; f < 2; f++)
        if ((size_t)out[f].result.lbfgs.iterations + 1 > longest)
            longest = (size_t)out[f].result.lbfgs.iterations + 1;
    double *level = malloc(2 * longest * sizeof *level);
    if (!level) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    otad_plot_series s[4];
    int positive = 1;
    for (int f = 0; f < 2; f++) {
        const otad_lbfgs_result *r = &out[f].result.lbfgs;
        for (size_t i = 0; i < longest; i++)
            level[f * longest + i] = out[f].loss_at_truth;
        s[f] = (otad_plot_series){NULL, level + f * longest, longest, OTAD_PLOT_LINE,
                                  truth_colours[f], truth_labels[f]};
        s[2 + f] = (otad_plot_series){NULL, r->losses, (size_t)r->iterations + 1,
                                      OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, curve_colours[f],
                                      out[f].name};
        positive &= out[f].loss_at_truth > 0;
        for (int i = 0; i <= r->iterations; i++)
            positive &= r->losses[i] > 0;
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Fitting ellipses: loss per L-BFGS iteration";
    opts.x_label = "iteration";
    opts.y_label = "loss";
    opts.log_y = positive;
    otad_error err;
    int rc = otad_png_write_plot(path, s, 4, &opts, &err);
    free(level);
    return written(path, rc, &err);
}

static int write_pictures(const otad_mke *p, const double *data, const double *start,
                          const fit_outcome out[2])
{
    char title[2][96];
    snprintf(title[0], sizeof title[0], "After the W_L fit: loss %.3e, at the truth %.3e",
             out[0].result.lbfgs.loss, out[0].loss_at_truth);
    snprintf(title[1], sizeof title[1], "After the debiased fit: loss %.2e, at the truth %.2e",
             out[1].result.lbfgs.loss, out[1].loss_at_truth);
    static const char *const paths[2] = {"mke_ellipses_wl.png", "mke_ellipses_debiased.png"};
    if (write_start(p, data, start))
        return 1;
    for (int f = 0; f < 2; f++)
        if (write_scatter(paths[f], title[f], data, out[f].result.points,
                          out[f].result.n_model))
            return 1;
    return write_losses(out);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    static double data[DATA_POINTS * 2], disk[SAMPLES * 2];
    double start[PARAMS], theta_true[PARAMS];
    make_data(data);
    otad_disk_samples(SAMPLES, disk);
    start_theta(start);
    true_theta(theta_true);
    printf("%d ellipses, %d data points, %d disk samples per ellipse; eps %g, L = %d, at most "
           "%d L-BFGS iterations per fit\n", ELLIPSES, DATA_POINTS, SAMPLES, EPS,
           SINKHORN_ITERATIONS, o.iterations);

    fit_outcome out[2] = {{.name = "W_L"}, {.name = "debiased"}};
    otad_mke problems[2];
    otad_mke_ellipses models[2];
    for (int f = 0; rc == 0 && f < 2; f++) {
        rc = problem_init(data, disk, f, &problems[f], &models[f]);
        if (rc == 0)
            rc = fit(&o, &problems[f], start, theta_true, &out[f]);
    }
    if (rc == 0) {
        report(theta_true, out);
        rc = write_pictures(&problems[0], data, start, out);
    }
    for (int f = 0; f < 2; f++)
        otad_mke_result_free(&out[f].result);
    return rc;
}
