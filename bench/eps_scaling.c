/*
 * What ε-scaling saves: Sinkhorn between n random points and n others in
 * [0,1]² with random weights (the inputs of bench/sinkhorn_loss.c), ε = 10⁻³, log
 * domain, solved until the marginal error is at most 10⁻⁹ (checked every
 * 10 updates), plain from v = 1 against ε-scaling from ε₀ = 1 (the cost's
 * scale) with the default schedule (halving ε, 10 updates per stage).  The
 * solve only (IMPLICIT: its gradient is one adjoint solve either way).
 * Both in one process after a warm-up solve at n = 200, each solve timed
 * once (at n = 2000 a solve takes minutes, so timing it more often would
 * only add rounds), alternating --alternations times; the row is over
 * --rounds fresh processes.  Ours only: the comparison is of two ways to
 * start the same updates.
 *
 *   eps_scaling [--sizes 2000] [--threads 1] [--rounds 3] [--alternations 1]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double eps = 1e-3, eps_start = 1, tolerance = 1e-9;

typedef struct problem {
    size_t n;
    double *x, *y, *a, *b;
    int scaled;
    otad_tape *tape;
    int updates;  /* at ε */
    double error; /* the last marginal error */
} problem;

static void solve(void *arg)
{
    problem *p = arg;
    otad_tape *t = p->tape;
    otad_tape_reset(t);
    otad_kernel k = otad_kernel_gibbs_points(t, otad_const(t, p->n, 2, p->x),
                                             otad_const(t, p->n, 2, p->y), eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = 1;
    o.mode = OTAD_IMPLICIT;
    o.iterations = 1000000;
    o.tolerance = tolerance;
    o.eps_start = p->scaled ? eps_start : 0;
    otad_sinkhorn s;
    if (otad_sinkhorn_solve(t, k, otad_const(t, p->n, 1, p->a), otad_const(t, p->n, 1, p->b), &o,
                            &s) != OTAD_OK) {
        fprintf(stderr, "eps_scaling: %s\n", otad_tape_message(t));
        exit(1);
    }
    p->updates = s.iterations;
    p->error = s.marginal_error;
}

/* The stages' updates: 10 at each ε₀·2^−k above ε. */
static int stage_updates(void)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    int stages = 0;
    for (double e = eps_start; e > eps; e *= o.eps_decay)
        stages++;
    return stages * o.stage_iterations;
}

/* The inputs of bench/sinkhorn_loss.c at n, or NULL arrays when memory runs out. */
static problem problem_new(size_t n, int scaled)
{
    problem p = {n, malloc(2 * n * sizeof(double)), malloc(2 * n * sizeof(double)),
                 malloc(n * sizeof(double)), malloc(n * sizeof(double)), scaled, NULL, 0, NAN};
    if (p.x && p.y && p.a && p.b && otad_tape_new(&p.tape, NULL) == OTAD_OK) {
        bench_points(1, n, p.x), bench_points(2, n, p.y);
        bench_histogram(3, n, p.a), bench_histogram(4, n, p.b);
    }
    return p;
}

/* The process ends after it: it frees nothing. */
static int worker(size_t n, int alternations)
{
    problem sides[2] = {problem_new(n, 0), problem_new(n, 1)}, warm = problem_new(200, 1);
    if (!sides[0].tape || !sides[1].tape || !warm.tape)
        return 1;
    solve(&warm);
    double times[2][8];
    for (int k = 0; k < alternations; k++)
        for (int s = 0; s < 2; s++) {
            double t0 = bench_now();
            solve(&sides[s]);
            times[s][k] = bench_now() - t0;
        }
    double plain = bench_median(times[0], (size_t)alternations);
    double scaled = bench_median(times[1], (size_t)alternations);
    printf("RESULT {\"plain\": %.6g, \"scaled\": %.6g, \"ratio\": %.4g, \"plain_updates\": %d, "
           "\"scaled_updates\": %d, \"plain_error\": %.3g, \"scaled_error\": %.3g}\n", plain,
           scaled, scaled / plain, sides[0].updates, sides[1].updates, sides[0].error,
           sides[1].error);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

enum { PLAIN, SCALED, RATIO, PLAIN_UPDATES, SCALED_UPDATES, KEYS };
static const char *const keys[KEYS] = {"plain", "scaled", "ratio", "plain_updates",
                                       "scaled_updates"};

static int row(size_t n, size_t threads, size_t rounds, int alternations)
{
    char label[64], size[32], alt[16];
    double v[KEYS][BENCH_MAX_ROUNDS];
    bench_runs r;
    snprintf(label, sizeof label, "n = %zu, %zu thread(s)", n, threads);
    snprintf(size, sizeof size, "%zu", n);
    snprintf(alt, sizeof alt, "%d", alternations);
    char *const argv[] = {(char *)bench_self(), "--worker", size, alt, NULL};
    bench_side side = {argv, "scaled", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", threads);
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, v, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return -1;
    }
    size_t count = (size_t)r.count, last = count - 1;
    for (int k = 0; k < KEYS; k++)
        bench_median(v[k], count);
    bench_cell_range("%.0f", v[PLAIN_UPDATES][0], v[PLAIN_UPDATES][last]);
    bench_cell_range("%.3g", v[PLAIN][0], v[PLAIN][last]);
    if (v[SCALED_UPDATES][0] == v[SCALED_UPDATES][last])
        bench_cell_text("%d + %.0f", stage_updates(), v[SCALED_UPDATES][0]);
    else
        bench_cell_text("%d + %.0f–%.0f", stage_updates(), v[SCALED_UPDATES][0],
                        v[SCALED_UPDATES][last]);
    bench_cell_range("%.3g", v[SCALED][0], v[SCALED][last]);
    bench_cell_range("%.3g", v[RATIO][0], v[RATIO][last]);
    bench_row_end();
    return 0;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 4 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), atoi(argv[3]));
    size_t sizes[8] = {2000}, n_sizes = 1, threads[4] = {1}, n_threads = 1, rounds[1] = {3};
    int alternations = 1;
    for (int i = 1; i + 1 < argc;) { /* --sizes, --alternations here, the rest shared */
        if (strcmp(argv[i], "--sizes") == 0)
            n_sizes = bench_parse_list(argv[i + 1], sizes, 8, 100000);
        else if (strcmp(argv[i], "--alternations") == 0)
            alternations = atoi(argv[i + 1]);
        else {
            i++;
            continue;
        }
        memmove(argv + i, argv + i + 2, (size_t)(argc - i - 1) * sizeof *argv);
        argc -= 2;
    }
    if (!n_sizes || alternations < 1 || alternations > 8 ||
        bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0) {
        fprintf(stderr, "usage: %s [--sizes 2000] [--threads 1] [--rounds 3] "
                "[--alternations 1 (to 8)]\n", argv[0]);
        return 2;
    }
    printf("## ε-scaling against plain log-domain updates\n\n");
    bench_print_machine_line();
    printf("Sinkhorn between n and n random points in [0,1]², ε = %g, log domain, until the "
           "marginal error is at most %g; ε-scaling from ε₀ = %g, halving, 10 updates per "
           "stage.  Seconds for the solve.\n\n", eps, tolerance, eps_start);
    static const char *const columns[] = {"n", "threads", "plain updates", "plain s",
        "ε-scaling updates (stages + at ε)", "ε-scaling s", "ε-scaling / plain"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t t = 0; t < n_threads; t++)
        for (size_t s = 0; s < n_sizes; s++)
            failed |= row(sizes[s], threads[t], rounds[0], alternations) != 0;
    return failed;
}
