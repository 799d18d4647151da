/*
 * What an unbalanced Sinkhorn update costs beside a balanced one: the
 * Sinkhorn loss between n and n random points in [0,1]² (ε = 0.05, L = 100
 * updates, the dense Gibbs kernel, scaling domain, UNROLL), value and
 * gradient to the points, against 1 and 16 histograms; balanced (masses 1
 * and 1) against unbalanced (ρ_a = ρ_b = 1, masses 1 and 1.3, the
 * transport cost of the plan either way).  Both in one process, alternating
 * three times, then the median of each; the row is over --rounds fresh
 * processes.  Ours only: there is no reference run (the per-update cost is
 * the question, and both run the same kernel passes).
 *
 *   unbalanced [--sizes 500,2000,4000] [--threads 1] [--rounds 3]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L = 100, ALTERNATIONS = 3 };
static const double eps = 0.05, rho = 1, relaxed_mass = 1.3;

typedef struct problem {
    size_t n, batch;
    double *x, *y, *a, *b; /* x, y n×2; a n×1; b n×batch */
    double rho;
    double *grad;
    otad_tape *tape; /* reset for each evaluation, as a fit's driver does */
} problem;

static double *histograms(otad_rng *rng, size_t n, size_t cols, double mass)
{
    double *h = malloc(n * cols * sizeof *h);
    for (size_t j = 0; h && j < cols; j++) {
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += h[i + j * n] = 0.5 + otad_rng_uniform(rng);
        for (size_t i = 0; i < n; i++)
            h[i + j * n] *= mass / s;
    }
    return h;
}

/* One value and gradient. */
static void evaluate(void *arg)
{
    const problem *p = arg;
    otad_tape *t = p->tape;
    otad_tape_reset(t);
    otad_var px = otad_param(t, p->n, 2, p->x, p->grad);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, p->n, 2, p->y)), eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = L;
    o.rho_a = o.rho_b = p->rho;
    otad_var w = otad_sum(t, otad_sinkhorn_loss(t, k, otad_const(t, p->n, 1, p->a),
                                                otad_const(t, p->n, p->batch, p->b), &o,
                                                OTAD_SINKHORN_COST));
    if (otad_backward(t, w) != OTAD_OK) {
        fprintf(stderr, "unbalanced: %s\n", otad_tape_message(t));
        exit(1);
    }
}

/* The process ends after it: it frees nothing. */
static int worker(size_t n, size_t batch)
{
    otad_rng rng = {7};
    double *x = malloc(4 * n * sizeof *x), *grad = malloc(2 * n * sizeof *grad);
    if (!x || !grad)
        return 1;
    otad_rng_fill(&rng, x, 4 * n, 0, 1);
    double *a = histograms(&rng, n, 1, 1), *b = histograms(&rng, n, batch, 1);
    double *b_relaxed = histograms(&rng, n, batch, relaxed_mass);
    if (!a || !b || !b_relaxed)
        return 1;
    problem sides[2] = {{n, batch, x, x + 2 * n, a, b, INFINITY, grad, NULL},
                        {n, batch, x, x + 2 * n, a, b_relaxed, rho, grad, NULL}};
    for (int s = 0; s < 2; s++)
        if (otad_tape_new(&sides[s].tape, NULL) != OTAD_OK)
            return 1;
    double times[2][ALTERNATIONS];
    for (int k = 0; k < ALTERNATIONS; k++)
        for (int s = 0; s < 2; s++)
            times[s][k] = bench_time_second(evaluate, &sides[s]);
    double balanced = bench_median(times[0], ALTERNATIONS);
    double unbalanced = bench_median(times[1], ALTERNATIONS);
    printf("RESULT {\"balanced\": %.6g, \"unbalanced\": %.6g, \"ratio\": %.4g}\n", balanced,
           unbalanced, unbalanced / balanced);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

enum { BALANCED, UNBALANCED, RATIO, KEYS };
static const char *const keys[KEYS] = {"balanced", "unbalanced", "ratio"};
static const double target = 1.10; /* the unbalanced update at most 10% dearer */

static int row(size_t n, size_t batch, size_t threads, size_t rounds)
{
    char label[64], size[32], cols[32];
    double v[KEYS][BENCH_MAX_ROUNDS];
    bench_runs r;
    snprintf(label, sizeof label, "n = %zu, %zu histogram(s), %zu thread(s)", n, batch, threads);
    snprintf(size, sizeof size, "%zu", n);
    snprintf(cols, sizeof cols, "%zu", batch);
    char *const argv[] = {(char *)bench_self(), "--worker", size, cols, NULL};
    bench_side side = {argv, "unbalanced", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", batch), bench_cell_text("%zu", threads);
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, v, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return -1;
    }
    size_t count = (size_t)r.count, last = count - 1;
    for (int k = BALANCED; k <= UNBALANCED; k++) {
        bench_median(v[k], count);
        bench_cell_range("%.3g", 1e3 * v[k][0] / L, 1e3 * v[k][last] / L);
    }
    bench_median(v[RATIO], count);
    bench_cell_range("%.3g", v[RATIO][0], v[RATIO][last]);
    bench_cell_text("%s", v[RATIO][last] <= target ? "met" : "NOT met");
    bench_row_end();
    return 0;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 4 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    size_t sizes[8] = {500, 2000, 4000}, n_sizes = 3, threads[4] = {1}, n_threads = 1;
    size_t rounds[1] = {3};
    for (int i = 1; i + 1 < argc; i++) /* --sizes here, the rest for the shared parser */
        if (strcmp(argv[i], "--sizes") == 0) {
            n_sizes = bench_parse_list(argv[i + 1], sizes, 8, 100000);
            memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
            argc -= 2;
            break;
        }
    if (!n_sizes || bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0) {
        fprintf(stderr, "usage: %s [--sizes 500,2000,4000] [--threads 1] [--rounds 3]\n",
                argv[0]);
        return 2;
    }
    printf("## Unbalanced against balanced Sinkhorn updates\n\n");
    bench_print_machine_line();
    printf("Sinkhorn loss between n and n points, ε = %g, L = %d, value and gradient; "
           "unbalanced: ρ_a = ρ_b = %g, masses 1 and %g.  Milliseconds per update "
           "(the evaluation's time over L); target: unbalanced at most %.2f× balanced.\n\n",
           eps, L, rho, relaxed_mass, target);
    static const char *const columns[] = {"n", "histograms", "threads", "balanced ms/update",
        "unbalanced ms/update", "unbalanced / balanced", "≤ 1.10"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t t = 0; t < n_threads; t++)
        for (size_t s = 0; s < n_sizes; s++)
            for (size_t batch = 1; batch <= 16; batch += 15)
                failed |= row(sizes[s], batch, threads[t], rounds[0]) != 0;
    return failed;
}
