/*
 * The gradient modes on W1 (n random points against n others in [0,1]²,
 * ε = 0.05, the Sinkhorn loss and its gradient to the points, through the
 * Gibbs kernel of the two point sets): forward and backward time, the tape's
 * peak bytes and the process's peak RSS for UNROLL, CHECKPOINT and IMPLICIT,
 * at L = 100 and, for the tape, L = 50, 200, 800; IMPLICIT also with a
 * tolerance instead of L.  Peak RSS is set beside the size of K and C
 * (2·n² doubles), what a forward alone must hold with a cost matrix.
 *
 *   modes [--sizes 2000,4000] [--threads 1]
 */
#include "measure.h"

#include <math.h>

#include "otad.h"

/* ---- worker -------------------------------------------------------------- */

static void points(uint64_t seed, size_t n, double *p)
{
    otad_rng rng = {seed};
    for (size_t i = 0; i < n; i++) {
        p[i] = otad_rng_uniform(&rng);
        p[i + n] = otad_rng_uniform(&rng);
    }
}

static int worker(size_t n, int mode, int iterations, double tolerance)
{
    double *x = malloc(2 * n * sizeof *x), *y = malloc(2 * n * sizeof *y);
    double *a = malloc(n * sizeof *a), *gx = malloc(2 * n * sizeof *gx);
    points(1, n, x);
    points(2, n, y);
    for (size_t i = 0; i < n; i++)
        a[i] = 1.0 / (double)n;
    otad_tape *t;
    otad_tape_new(&t, NULL);
    double best_fwd = 1e300, best_bwd = 1e300;
    int steps = 0;
    for (int r = 0; r < 3; r++) {
        otad_tape_reset(t);
        double t0 = now_seconds();
        otad_var px = otad_param(t, n, 2, x, gx);
        otad_kernel k = otad_kernel_gibbs_points(t, px, otad_const(t, n, 2, y), 0.05);
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.mode = (otad_grad_mode)mode;
        o.iterations = iterations;
        o.tolerance = tolerance;
        otad_sinkhorn s;
        otad_sinkhorn_solve(t, k, otad_const(t, n, 1, a), otad_const(t, n, 1, a), &o, &s);
        otad_var w = otad_sinkhorn_cost(t, &s);
        double t1 = now_seconds();
        if (otad_backward(t, w) != OTAD_OK) {
            fprintf(stderr, "%s\n", otad_tape_message(t));
            return 1;
        }
        best_fwd = fmin(best_fwd, t1 - t0);
        best_bwd = fmin(best_bwd, now_seconds() - t1);
        steps = s.iterations;
    }
    otad_tape_stats st;
    otad_tape_stats_get(t, &st);
    printf("RESULT {\"forward\": %.6g, \"backward\": %.6g, \"tape_mb\": %.3f, \"steps\": %d}\n",
           best_fwd, best_bwd, (double)st.peak_bytes / 1048576.0, steps);
    otad_tape_free(&t);
    free(x), free(y), free(a), free(gx);
    return 0;
}

/* ---- driver -------------------------------------------------------------- */

static const char *const names[3] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};

static int run(char *argv0, size_t n, int mode, int iterations, double tolerance, int threads,
               double *out, double *peak)
{
    char a[4][32];
    snprintf(a[0], sizeof a[0], "%zu", n);
    snprintf(a[1], sizeof a[1], "%d", mode);
    snprintf(a[2], sizeof a[2], "%d", iterations);
    snprintf(a[3], sizeof a[3], "%g", tolerance);
    char *const argv[] = {argv0, "--worker", a[0], a[1], a[2], a[3], NULL};
    char result[8192];
    if (run_fresh(argv, threads, NULL, result, sizeof result, peak) != 0)
        return -1;
    out[0] = json_number(result, "forward"), out[1] = json_number(result, "backward");
    out[2] = json_number(result, "tape_mb"), out[3] = json_number(result, "steps");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), atoi(argv[3]), atoi(argv[4]),
                      strtod(argv[5], NULL));
    size_t sizes[2] = {2000, 4000}, n_sizes = 2;
    int threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--sizes") == 0)
            n_sizes = (size_t)sscanf(argv[i + 1], "%zu,%zu", &sizes[0], &sizes[1]);
        else if (strcmp(argv[i], "--threads") == 0)
            threads = atoi(argv[i + 1]);
    }
    printf("Gradient modes on W1 (eps 0.05, gradient to the points, Gibbs kernel of the "
           "points), %d thread%s.\n", threads, threads == 1 ? "" : "s");
    for (size_t si = 0; si < n_sizes; si++) {
        size_t n = sizes[si];
        double kc_mb = 2.0 * (double)n * (double)n * 8 / 1048576.0, r[4], peak;
        printf("\nn = %zu (K and C: %.0f MB)\n", n, kc_mb);
        printf("%-11s %6s %6s %9s %10s %8s %9s %9s %7s\n", "mode", "L", "steps", "forward s",
               "backward s", "bwd/fwd", "tape MB", "peak MB", "/(K+C)");
        double unroll_backward = NAN;
        for (int mode = 0; mode < 3; mode++)
            for (int tol = 0; tol < (mode == 2 ? 2 : 1); tol++) {
                if (run(argv[0], n, mode, tol ? 1000 : 100, tol ? 1e-9 : 0, threads, r,
                        &peak) != 0) {
                    printf("%-11s failed\n", names[mode]);
                    continue;
                }
                if (mode == 0)
                    unroll_backward = r[1];
                printf("%-11s %6s %6.0f %9.3f %10.3f %8.2f %9.1f %9.0f %7.2f", names[mode],
                       tol ? "1e-9" : "100", r[3], r[0], r[1], r[1] / r[0], r[2], peak,
                       peak / kc_mb);
                printf(mode == 1 ? "   (backward %.2f× UNROLL's)\n" : "\n",
                       r[1] / unroll_backward);
            }
        printf("tape MB at L = 50 / 200 / 800:\n");
        for (int mode = 0; mode < 3; mode++) {
            printf("  %-11s", names[mode]);
            for (int l = 50; l <= 800; l *= 4)
                printf(" %9.1f", run(argv[0], n, mode, l, 0, threads, r, &peak) == 0 ? r[2]
                                                                                       : NAN);
            printf("\n");
        }
    }
    printf("\nL 1e-9: IMPLICIT iterating until the marginal error is below 1e-9 (checked every "
           "10 updates).\npeak MB: the process's peak RSS; /(K+C): over the memory of K and C "
           "alone.\n");
    return 0;
}
