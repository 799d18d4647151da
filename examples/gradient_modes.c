/*
 * A gradient-checking experiment: the Sinkhorn loss W between 300 random
 * points and 300 others, ε = 0.02, differentiated with respect to the first
 * points.  As the number of iterations L grows:
 *   - the UNROLL gradient (of the L-th iterate) approaches the gradient of
 *     the converged loss, computed by IMPLICIT at convergence and checked
 *     against finite differences of the converged loss;
 *   - IMPLICIT after only L iterations is the fixed-point formula applied
 *     where there is no fixed point yet;
 *   - the tape's peak memory grows like L, √L and not at all for UNROLL,
 *     CHECKPOINT and IMPLICIT.
 * Prints a table; writes gradient_modes_error.png and gradient_modes_memory.png.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "otad.h"
#include "plot/plot.h"

enum { N = 300, LENGTHS = 8 };
static const int lengths[LENGTHS] = {5, 10, 20, 50, 100, 200, 400, 800};

typedef struct problem {
    double x[2 * N], y[2 * N], a[N], b[N];
} problem;

typedef struct run {
    double value, seconds;
    size_t peak_bytes;
    int status;
} run;

/* W and its gradient to x after `iterations` updates (tolerance 0) or
 * until the marginal error is below 1e-14. */
static run evaluate(const problem *p, const double *x, otad_grad_mode mode, int iterations,
                    double *grad)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    otad_tape *t;
    otad_tape_new(&t, NULL);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = mode;
    o.iterations = iterations ? iterations : 5000;
    o.tolerance = iterations ? 0 : 1e-14;
    o.adjoint_tolerance = 1e-14; /* the converged reference: to rounding */
    otad_var px = otad_param(t, N, 2, x, grad);
    otad_kernel k = otad_kernel_gibbs_points(t, px, otad_const(t, N, 2, p->y), 0.02);
    otad_var w = otad_sinkhorn_loss(t, k, otad_const(t, N, 1, p->a), otad_const(t, N, 1, p->b),
                                    &o, OTAD_SINKHORN_COST);
    run r = {otad_scalar(t, w), 0, 0, grad ? otad_backward(t, w) : otad_tape_status(t)};
    if (r.status != OTAD_OK)
        fprintf(stderr, "  (%s)\n", otad_tape_message(t));
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    r.peak_bytes = s.peak_bytes;
    otad_tape_free(&t);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    return r;
}

static double relative_error(const double *g, const double *reference)
{
    double d = 0, s = 0;
    for (int i = 0; i < 2 * N; i++)
        d += (g[i] - reference[i]) * (g[i] - reference[i]), s += reference[i] * reference[i];
    return sqrt(d / s);
}

static int plot(const char *path, const char *title, const char *y_label, const double *x,
                const double *const *y, const char *const *labels, int n_series)
{
    otad_plot_series series[3];
    for (int s = 0; s < n_series; s++)
        series[s] = (otad_plot_series){x, y[s], LENGTHS, OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, 0,
                                       labels[s]};
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.log_x = opts.log_y = 1;
    opts.title = title;
    opts.x_label = "Sinkhorn iterations L";
    opts.y_label = y_label;
    otad_error err;
    if (otad_png_write_plot(path, series, (size_t)n_series, &opts, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

int main(void)
{
    static problem p;
    otad_rng rng = {1};
    otad_rng_fill(&rng, p.x, 2 * N, 0, 1);
    otad_rng_fill(&rng, p.y, 2 * N, 0, 1);
    for (int i = 0; i < N; i++)
        p.a[i] = p.b[i] = 1.0 / N;

    /* The converged loss's gradient, and its finite-difference check. */
    static double converged[2 * N], grad[2 * N], dir[2 * N], moved[2 * N];
    run ref = evaluate(&p, p.x, OTAD_IMPLICIT, 0, converged);
    if (ref.status != OTAD_OK)
        return 1;
    otad_rng_fill(&rng, dir, 2 * N, -1, 1);
    const double h = 1e-5;
    double f[2], slope = 0;
    for (int side = 0; side < 2; side++) {
        for (int i = 0; i < 2 * N; i++)
            moved[i] = p.x[i] + (side ? -h : h) * dir[i];
        f[side] = evaluate(&p, moved, OTAD_UNROLL, 0, NULL).value;
    }
    for (int i = 0; i < 2 * N; i++)
        slope += converged[i] * dir[i];
    double fd = (f[0] - f[1]) / (2 * h);
    printf("Sinkhorn loss between %d and %d points, eps 0.02: W = %.12f at convergence\n", N, N,
           ref.value);
    printf("converged gradient (IMPLICIT) against central differences of the converged loss "
           "along a random direction: relative error %.1e\n\n", fabs(slope - fd) / fabs(fd));

    printf("%5s  %13s %13s  %12s %12s %12s  %9s %9s %9s\n", "L", "UNROLL error", "IMPLICIT err",
           "UNROLL MB", "CHECKPT MB", "IMPLICIT MB", "UNROLL s", "CHECKPT s", "IMPLCT s");
    double xs[LENGTHS], err_unroll[LENGTHS], err_implicit[LENGTHS], mem[3][LENGTHS];
    for (int l = 0; l < LENGTHS; l++) {
        run r[3];
        double errors[3];
        for (int mode = 0; mode < 3; mode++) {
            r[mode] = evaluate(&p, p.x, (otad_grad_mode)mode, lengths[l], grad);
            errors[mode] = r[mode].status == OTAD_OK ? relative_error(grad, converged) : NAN;
            mem[mode][l] = (double)r[mode].peak_bytes / 1048576.0;
        }
        xs[l] = lengths[l];
        err_unroll[l] = errors[OTAD_UNROLL];
        err_implicit[l] = errors[OTAD_IMPLICIT];
        printf("%5d  %13.3e %13.3e  %12.2f %12.2f %12.2f  %9.3f %9.3f %9.3f\n", lengths[l],
               errors[OTAD_UNROLL], errors[OTAD_IMPLICIT], mem[0][l], mem[1][l], mem[2][l],
               r[0].seconds, r[1].seconds, r[2].seconds);
    }
    printf("\nerror: ‖g − g*‖/‖g*‖, g* the converged gradient; CHECKPOINT's gradient is "
           "UNROLL's (same error).\n");

    const double *errors[2] = {err_unroll, err_implicit}, *memory[3] = {mem[0], mem[1], mem[2]};
    const char *error_labels[2] = {"UNROLL (CHECKPOINT alike)", "IMPLICIT after L"};
    const char *memory_labels[3] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};
    return plot("gradient_modes_error.png", "Gradient error against the converged gradient",
                "relative error", xs, errors, error_labels, 2) ||
           plot("gradient_modes_memory.png", "Peak tape memory", "MB", xs, memory,
                memory_labels, 3);
}
