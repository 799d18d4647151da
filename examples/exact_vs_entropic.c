/*
 * Exact OT against Sinkhorn as ε → 0, on two histograms of 120 points of
 * [0,1] with the cost |x − y|².  The exact plan comes from the network
 * simplex (otad_emd); Sinkhorn's plans P = diag(u) K diag(v) blur it by about
 * √ε, and their transport cost ⟨C, P_ε⟩ falls to the exact cost W within
 * ε·min(H(a), H(b)) (H the entropy).
 * Writes exact_vs_entropic_plans.png and exact_vs_entropic_gap.png.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "otad.h"

enum { N = 120, N_EPS = 6 };

/* A mixture of Gaussian bumps (centre, width, weight) on the grid, summing to 1. */
static void mixture(const double (*bumps)[3], size_t n_bumps, double *h)
{
    double sum = 0;
    for (size_t i = 0; i < N; i++) {
        double x = (double)i / (N - 1), v = 1e-6;
        for (size_t k = 0; k < n_bumps; k++)
            v += bumps[k][2] * exp(-pow((x - bumps[k][0]) / bumps[k][1], 2) / 2);
        sum += h[i] = v;
    }
    for (size_t i = 0; i < N; i++)
        h[i] /= sum;
}

static double entropy(const double *h)
{
    double e = 0;
    for (size_t i = 0; i < N; i++)
        e -= h[i] * log(h[i]);
    return e;
}

/* Sinkhorn's plan at ε (log domain, marginals to 1e-9) into plan (row-major,
 * source i on row i) and its transport cost. */
static int sinkhorn_plan(const double *a, const double *b, const double *cost, double eps,
                         double *plan, double *transport, int *iterations)
{
    otad_tape *t;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = 1;
    o.mode = OTAD_IMPLICIT; /* no gradient wanted: keep one iteration on the tape */
    o.iterations = 100000;
    o.tolerance = 1e-9;
    otad_sinkhorn s;
    otad_kernel k = otad_kernel_gibbs(t, otad_const(t, N, N, cost), eps);
    int rc = otad_sinkhorn_solve(t, k, otad_const(t, N, 1, a), otad_const(t, N, 1, b), &o, &s);
    if (rc == OTAD_OK) {
        const double *log_u = otad_value_of(t, s.u).data, *log_v = otad_value_of(t, s.v).data;
        for (size_t i = 0; i < N; i++)
            for (size_t j = 0; j < N; j++)
                plan[i * N + j] = exp(log_u[i] + log_v[j] - cost[i + j * N] / eps);
        *transport = otad_scalar(t, otad_sinkhorn_cost(t, &s));
        *iterations = s.iterations;
        rc = otad_tape_status(t);
    }
    if (rc != OTAD_OK)
        fprintf(stderr, "Sinkhorn at eps %g: %s\n", eps, otad_tape_message(t));
    otad_tape_free(&t);
    return rc != OTAD_OK;
}

/* Each plan over its largest entry, square-rooted so that faint mass shows. */
static void for_display(double *plan)
{
    double top = 0;
    for (size_t k = 0; k < N * N; k++)
        top = fmax(top, plan[k]);
    for (size_t k = 0; k < N * N; k++)
        plan[k] = sqrt(plan[k] / top);
}

int main(void)
{
    static const double bumps_a[2][3] = {{0.2, 0.05, 1}, {0.6, 0.1, 1.5}};
    static const double bumps_b[3][3] = {{0.3, 0.04, 1}, {0.55, 0.05, 0.7}, {0.85, 0.06, 1.2}};
    static double a[N], b[N], cost[N * N], plans[4][N * N];
    mixture(bumps_a, 2, a);
    mixture(bumps_b, 3, b);
    for (size_t j = 0; j < N; j++)
        for (size_t i = 0; i < N; i++)
            cost[i + j * N] = pow(((double)i - (double)j) / (N - 1), 2);

    otad_emd_result exact;
    otad_error err;
    if (otad_emd(N, N, a, b, cost, NULL, &exact, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("exact cost W = %.10f (%zu entries in the plan, at most %d)\n", exact.cost,
           exact.nonzeros, 2 * N - 1);
    for (size_t k = 0; k < exact.nonzeros; k++)
        plans[3][exact.row[k] * N + exact.col[k]] = exact.mass[k];

    const double eps[N_EPS] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4};
    double gap[N_EPS], bound[N_EPS], bound_per_eps = fmin(entropy(a), entropy(b));
    printf("%8s %11s %14s %12s %22s\n", "eps", "iterations", "<C, P_eps>", "- W",
           "eps min(H(a), H(b))");
    static const int shown_as[N_EPS] = {-1, -1, 0, -1, 1, 2}; /* the strip's plans */
    static double unshown[N * N];
    for (int e = 0; e < N_EPS; e++) {
        double transport, *plan = shown_as[e] < 0 ? unshown : plans[shown_as[e]];
        int iterations;
        if (sinkhorn_plan(a, b, cost, eps[e], plan, &transport, &iterations))
            return 1;
        gap[e] = transport - exact.cost;
        bound[e] = eps[e] * bound_per_eps;
        printf("%8.0e %11d %14.10f %12.3e %22.3e\n", eps[e], iterations, transport, gap[e],
               bound[e]);
    }
    otad_emd_result_free(&exact);

    for (int p = 0; p < 4; p++)
        for_display(plans[p]);
    const double *images[4] = {plans[0], plans[1], plans[2], plans[3]};
    const char *captions[4] = {"eps = 1e-2", "eps = 1e-3", "eps = 3e-4", "exact (simplex)"};
    otad_image_opts image;
    otad_image_opts_init(&image);
    image.scale = 3;
    image.captions = captions;
    image.colorbar = 1;
    const char *plans_png = "exact_vs_entropic_plans.png";
    if (written(plans_png, otad_png_write_strip(plans_png, images, 4, N, N, &image, &err), &err))
        return 1;

    otad_plot_series series[2] = {
        {eps, gap, N_EPS, OTAD_PLOT_LINE | OTAD_PLOT_MARKERS, 0, "<C, P_eps> - W"},
        {eps, bound, N_EPS, OTAD_PLOT_LINE, 0, "bound eps min(H(a), H(b))"},
    };
    otad_plot_opts plot;
    otad_plot_opts_init(&plot);
    plot.log_x = plot.log_y = 1;
    plot.title = "Sinkhorn's transport cost tends to the exact one";
    plot.x_label = "eps";
    plot.y_label = "excess over the exact cost";
    const char *gap_png = "exact_vs_entropic_gap.png";
    return written(gap_png, otad_png_write_plot(gap_png, series, 2, &plot, &err), &err);
}
