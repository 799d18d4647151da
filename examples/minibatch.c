/*
 * Fitting a generator by mini-batches (Genevay, Peyré and Cuturi 2018):
 * 200 000 points of two moons, more than one Sinkhorn problem and its
 * gradient hold (the kernel against the generator's 400 points alone would
 * take 640 MB, its unrolled gradient many times that).  Each Adam step
 * draws 400 of them and takes the debiased Sinkhorn divergence between
 * them and the generator's points f_θ(z) (z fixed Gaussian samples, f_θ a
 * small tanh perceptron, the model of examples/mke_generator.c): a noisy
 * gradient of the divergence to the whole data set.
 *
 * Writes minibatch_loss.png (each step's loss and its running mean) and
 * minibatch_fit.png (a sample of the data and the generated points).
 *
 *   minibatch [--steps N] [--checkpoint FILE] [--resume FILE]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "moons.h"
#include "otad.h"

enum { N_DATA = 200000, BATCH = 400, N_LATENT = 400, SHOWN = 3000, MEAN_OF = 25 };

typedef struct fit {
    double *data;     /* N_DATA × 2 */
    double batch[2 * BATCH];
    otad_mke problem; /* its data: the step's batch */
    otad_mke_mlp mlp;
    double latent[2 * N_LATENT];
} fit;

/* The divergence between step's batch, drawn from a generator seeded by
 * the step (so that a resumed run draws the same), and f_θ(z). */
static otad_var step_loss(otad_tape *t, otad_var theta, int step, void *instance)
{
    fit *f = instance;
    otad_rng rng = {2654435761u * (uint64_t)(step + 1)};
    for (size_t i = 0; i < BATCH; i++) {
        size_t j = (size_t)(otad_rng_uniform(&rng) * N_DATA);
        f->batch[i] = f->data[j];
        f->batch[i + BATCH] = f->data[j + N_DATA];
    }
    return otad_mke_build(t, theta, &f->problem);
}

static int every_50(const otad_lbfgs_progress *p, void *instance)
{
    (void)instance;
    if (p->iteration % 50 == 0) {
        printf("  step %4d  loss %.4e  |g| %.3e  %.1f s\n", p->iteration, p->loss,
               p->grad_norm, p->seconds);
        fflush(stdout);
    }
    return 0;
}

static int set_up(fit *f)
{
    static const size_t hidden[2] = {32, 32};
    otad_rng data_rng = {1}, latent_rng = {2};
    make_moons(&data_rng, N_DATA, f->data);
    otad_rng_fill_gaussian(&latent_rng, f->latent, 2 * N_LATENT, 0, 1);
    otad_mke *p = &f->problem;
    otad_mke_init(p);
    p->dim = 2, p->n_data = BATCH, p->data = f->batch, p->eps = 0.01;
    p->value = OTAD_SINKHORN_DUAL, p->debiased = 1;
    otad_error err;
    if (otad_mke_use_mlp(p, &f->mlp, 2, 2, hidden, N_LATENT, f->latent, &err) != OTAD_OK ||
        otad_mke_check(p, &err) != OTAD_OK) {
        fprintf(stderr, "generator: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* Each step's loss, and their running mean over MEAN_OF steps. */
static int write_losses(const otad_stochastic_result *r)
{
    const char *path = "minibatch_loss.png";
    size_t n = (size_t)r->steps;
    double *mean = malloc(n * sizeof *mean), sum = 0;
    if (!mean) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        sum += r->losses[k] - (k >= MEAN_OF ? r->losses[k - MEAN_OF] : 0);
        mean[k] = sum / (double)(k + 1 < MEAN_OF ? k + 1 : MEAN_OF);
    }
    otad_plot_series s[2] = {
        {NULL, r->losses, n, OTAD_PLOT_LINE, 0xb4b4b4, "the step's mini-batch"},
        {NULL, mean, n, OTAD_PLOT_LINE, 0xd62728, "running mean of 25 steps"},
    };
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Adam on mini-batches of 400 of 200 000 points";
    opts.x_label = "step";
    opts.y_label = "debiased Sinkhorn divergence";
    opts.log_y = 1;
    for (size_t k = 0; k < n; k++) /* a divergence may round to 0 or below */
        opts.log_y &= r->losses[k] > 0;
    otad_error err;
    int rc = otad_png_write_plot(path, s, 2, &opts, &err);
    free(mean);
    return written(path, rc, &err);
}

static int write_fit(const fit *f, const double *theta)
{
    const char *path = "minibatch_fit.png";
    double *points = NULL;
    size_t n_model = 0;
    otad_error err;
    if (otad_mke_evaluate(&f->problem, theta, &points, NULL, &n_model, NULL, &err) != OTAD_OK) {
        fprintf(stderr, "the generated points: %s\n", err.message);
        return 1;
    }
    otad_plot_series s[2] = {
        {f->data, f->data + N_DATA, SHOWN, OTAD_PLOT_MARKERS, 0xb4b4b4, "data (a sample)"},
        {points, points + n_model, n_model, OTAD_PLOT_MARKERS, 0xd62728, "f_theta(z)"},
    };
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.width = opts.height = 520;
    opts.equal_aspect = 1;
    opts.x_min = opts.y_min = 0, opts.x_max = opts.y_max = 1;
    opts.title = "Two moons: the generator fitted by mini-batches";
    int rc = otad_png_write_plot(path, s, 2, &opts, &err);
    free(points);
    return written(path, rc, &err);
}

static void usage(FILE *out, const char *program)
{
    fprintf(out,
            "usage: %s [options]\n"
            "Fits a generator to 200000 points of two moons with Adam, 400 points a step.\n"
            "  --steps N          Adam steps (default 1000)\n" LONG_FIT_USAGE
            "  --help             this text\n",
            program);
}

int main(int argc, char **argv)
{
    long steps = 1000;
    long_fit files = {0};
    for (int i = 1; i < argc; i++) {
        int long_fit_rc = long_fit_option(argc, argv, &i, &files);
        const char *value;
        if (long_fit_rc < 0)
            return 1;
        if (long_fit_rc > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        }
        if (strcmp(argv[i], "--steps") != 0) {
            fprintf(stderr, "unknown argument %s (see --help)\n", argv[i]);
            return 1;
        }
        if (!(value = option_value(argc, argv, &i)) ||
            parse_long("--steps", value, 1, 1000000, &steps))
            return 1;
    }
    fit *f = calloc(1, sizeof *f);
    double *theta = NULL;
    int rc = 1;
    if (!f || !(f->data = malloc(2 * N_DATA * sizeof *f->data))) {
        fprintf(stderr, "out of memory\n");
    } else if (set_up(f) == 0 && (theta = malloc(f->problem.n_params * sizeof *theta))) {
        otad_mke_mlp_start(&f->mlp, 3, theta);
        otad_stochastic_params params;
        otad_stochastic_params_init(&params);
        params.steps = (int)steps;
        params.learning_rate = 0.01;
        params.progress = every_50;
        long_fit_files(&files, NULL, &params.checkpoint, &params.resume, &params.stop);
        printf("%d points, %d a step; %zu latent samples, %zu parameters; Adam, rate %g\n",
               N_DATA, BATCH, (size_t)N_LATENT, f->problem.n_params, params.learning_rate);
        otad_stochastic_result r;
        rc = otad_stochastic(step_loss, f, f->problem.n_params, theta, &params, &r);
        if (rc != OTAD_OK)
            fprintf(stderr, "fit: %s\n", r.message);
        else
            printf("%s after %d steps, %.1f s\n", r.stopped, r.steps, r.seconds);
        rc = rc != OTAD_OK || write_losses(&r) || write_fit(f, theta);
        otad_stochastic_result_free(&r);
    }
    free(theta);
    if (f)
        free(f->data);
    free(f);
    return rc;
}
