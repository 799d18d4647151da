/*
 * The gradient modes on the Sinkhorn loss W_L = ⟨P_L, C⟩ (Cuturi 2013)
 * between n random points and n others in [0,1]², uniform weights,
 * ε = 0.05, its gradient to the first points through the Gibbs kernel of
 * the two point sets.  For UNROLL, CHECKPOINT and IMPLICIT at L = 100, and
 * IMPLICIT iterating until the marginal error is below 1e-9 (checked every
 * 10 updates, at most 1000): forward and backward time, the tape's peak and
 * the process's peak RSS, set beside the memory of K and C (2·n² doubles,
 * what a forward alone must hold with a cost matrix); then the tape's peak
 * of each mode at L = 50, 200 and 800.
 *
 * Protocol (bench/protocol.h): a timed row is --rounds fresh processes, each
 * timing the median of 3 forwards, and of 3 backwards of one recorded
 * forward, after an untimed one; ranges are over the rounds.  A tape row is
 * one fresh process and one forward and backward (the tape's peak is the
 * same in every run).
 *
 *   modes [--sizes 2000,4000] [--threads 1] [--rounds 3]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[3] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};

/* The memory of K and C, MB. */
static double kc_mb(size_t n)
{
    return 2.0 * (double)n * (double)n * sizeof(double) / 1048576.0;
}

/* ---- worker ------------------------------------------------------------------ */

typedef struct problem {
    size_t n;
    otad_grad_mode mode;
    int iterations, steps; /* L, and the updates the last solve made */
    double tolerance, *y, *a;
} problem;

static void points(uint64_t seed, size_t n, double *p)
{
    otad_rng rng = {seed};
    for (size_t i = 0; i < n; i++) {
        p[i] = otad_rng_uniform(&rng);
        p[i + n] = otad_rng_uniform(&rng);
    }
}

/* θ = the first points (n×2 by columns): W_L between them and y. */
static otad_var modes_build(otad_tape *t, otad_var theta, void *instance)
{
    problem *p = instance;
    otad_var x = otad_reshape(t, theta, p->n, 2);
    otad_kernel k = otad_kernel_gibbs_points(t, x, otad_const(t, p->n, 2, p->y), 0.05);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = p->mode;
    o.iterations = p->iterations;
    o.tolerance = p->tolerance;
    otad_sinkhorn s;
    otad_sinkhorn_solve(t, k, otad_const(t, p->n, 1, p->a), otad_const(t, p->n, 1, p->a), &o, &s);
    p->steps = s.iterations;
    return otad_sinkhorn_cost(t, &s);
}

typedef struct sweep {
    otad_tape *tape;
    otad_var y;
} sweep;

static void backward_call(void *arg)
{
    otad_backward(((sweep *)arg)->tape, ((sweep *)arg)->y);
}

/* Timed: the median forward, and the median backward of one recorded
 * forward; else one forward and backward, for the tape's peak. */
static int worker(size_t n, int mode, int iterations, double tolerance, int timed)
{
    problem p = {n, (otad_grad_mode)mode, iterations, 0, tolerance, malloc(2 * n * sizeof(double)),
                 malloc(n * sizeof(double))};
    double *x = malloc(2 * n * sizeof *x), *gx = malloc(2 * n * sizeof *gx);
    otad_tape *t = NULL;
    if (!p.y || !p.a || !x || !gx || otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    points(1, n, x);
    points(2, n, p.y);
    for (size_t i = 0; i < n; i++)
        p.a[i] = 1.0 / (double)n;
    bench_objective o = {modes_build, &p, 2 * n, x, gx};
    double value, forward = NAN, backward = NAN;
    int rc = timed ? bench_time_objective(t, &o, 0, 1, 3, &value, &forward) : OTAD_OK;
    otad_tape_reset(t);
    sweep s = {t, modes_build(t, otad_param(t, 2 * n, 1, x, gx), &p)};
    if (timed)
        backward = bench_time_calls(backward_call, &s, 3);
    else
        backward_call(&s);
    if (rc != OTAD_OK || otad_tape_status(t) != OTAD_OK) {
        fprintf(stderr, "modes: %s\n", otad_tape_message(t));
        return 1;
    }
    otad_tape_stats st;
    otad_tape_stats_get(t, &st);
    printf("RESULT {\"forward\": %.6g, \"backward\": %.6g, \"tape_mb\": %.3f, \"steps\": %d}\n",
           forward, backward, (double)st.peak_bytes / 1048576.0, p.steps);
    otad_tape_free(&t);
    free(p.y), free(p.a), free(x), free(gx);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

typedef struct options {
    size_t sizes[8], threads[4], n_sizes, n_threads, rounds;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{2000, 4000}, {1}, 2, 1, 3};
    for (int i = 1; i < argc; i += 2) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (v && strcmp(argv[i], "--sizes") == 0)
            o->n_sizes = bench_parse_list(v, o->sizes, 8, 100000);
        else if (v && strcmp(argv[i], "--threads") == 0)
            o->n_threads = bench_parse_list(v, o->threads, 4, 64);
        else if (v && strcmp(argv[i], "--rounds") == 0)
            o->rounds = bench_parse_list(v, rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
    }
    return o->n_sizes && o->n_threads && o->rounds ? 0 : -1;
}

/* The worker's command line (args: its five arguments' text). */
static void worker_argv(char args[5][32], char **argv, size_t n, int mode, int iterations,
                        double tolerance, int timed)
{
    snprintf(args[0], 32, "%zu", n);
    snprintf(args[1], 32, "%d", mode);
    snprintf(args[2], 32, "%d", iterations);
    snprintf(args[3], 32, "%g", tolerance);
    snprintf(args[4], 32, "%d", timed);
    argv[0] = (char *)bench_self(), argv[1] = "--worker";
    for (int k = 0; k < 5; k++)
        argv[k + 2] = args[k];
    argv[7] = NULL;
}

/* A timed row; *unroll_backward is UNROLL's backward (set by its row). */
static int timed_row(const options *o, size_t n, size_t threads, int mode, int converge,
                      double *unroll_backward)
{
    static const char *const keys[] = {"forward", "backward", "tape_mb", "steps"};
    char args[5][32], *argv[8], label[64];
    double v[4][BENCH_MAX_ROUNDS];
    bench_runs r;
    worker_argv(args, argv, n, mode, converge ? 1000 : 100, converge ? 1e-9 : 0, 1);
    snprintf(label, sizeof label, "n = %zu, %s%s", n, mode_names[mode], converge ? ", 1e-9" : "");
    bench_side side = {argv, "forward", 0};
    bench_cell_text("%s", mode_names[mode]), bench_cell_text("%s", converge ? "1e-9" : "100");
    if (bench_repeat_numbers(&side, (int)threads, (int)o->rounds, label, keys, 4, v, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return -1;
    }
    double backward = bench_median(v[1], (size_t)r.count);
    if (mode == OTAD_UNROLL)
        *unroll_backward = backward;
    bench_cell("%.0f", bench_median(v[3], (size_t)r.count));
    bench_cell_range("%.3g", bench_runs_min(&r), bench_runs_max(&r));
    bench_cell_range("%.3g", v[1][0], v[1][r.count - 1]); /* sorted by bench_median */
    bench_cell("%.2f", backward / bench_runs_median(&r));
    bench_cell("%.2f", backward / *unroll_backward);
    bench_cell("%.1f", bench_median(v[2], (size_t)r.count));
    bench_cell("%.0f", r.peak_mb), bench_cell("%.2f", r.peak_mb / kc_mb(n));
    bench_row_end();
    return 0;
}

/* The tape's peak MB of one evaluation with L iterations, NaN on failure. */
static double tape_mb(size_t n, size_t threads, int mode, int iterations)
{
    char args[5][32], *argv[8], result[BENCH_RESULT_CAP];
    double peak;
    worker_argv(args, argv, n, mode, iterations, 0, 0);
    if (bench_run(argv, (int)threads, NULL, bench_blas_alone(), result, sizeof result, &peak) !=
        0)
        return fprintf(stderr, "modes, tape at L = %d: %s\n", iterations, result), NAN;
    return bench_json_number(result, "tape_mb");
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 7 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), atoi(argv[3]) % 3, atoi(argv[4]),
                      strtod(argv[5], NULL), atoi(argv[6]));
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 2000,4000] [--threads 1] [--rounds 3]\n", argv[0]);
        return 2;
    }
    printf("## Gradient modes: the Sinkhorn loss between n and n points, its gradient to the "
           "points\n\n");
    bench_print_machine_line();
    printf("ε = 0.05, Gibbs kernel of the points.  L 1e-9: IMPLICIT until the marginal error is "
           "below 1e-9.  peak MB: the process's peak RSS; /(K+C): over the memory of K and C.\n");
    for (size_t ti = 0; ti < o.n_threads; ti++)
        for (size_t si = 0; si < o.n_sizes; si++) {
            size_t n = o.sizes[si], threads = o.threads[ti];
            double unroll_backward = NAN;
            printf("\nn = %zu, %zu thread%s (K and C: %.0f MB)\n\n", n, threads,
                   threads > 1 ? "s" : "", kc_mb(n));
            static const char *const columns[] = {
                "mode", "L", "steps", "forward s", "backward s", "backward/forward",
                "backward/UNROLL's", "tape MB", "peak MB", "/(K+C)"};
            bench_table_header(columns, 10);
            for (int mode = OTAD_UNROLL; mode <= OTAD_IMPLICIT; mode++)
                for (int converge = 0; converge <= (mode == OTAD_IMPLICIT); converge++)
                    failed |= timed_row(&o, n, threads, mode, converge, &unroll_backward) != 0;
            printf("\nThe tape's peak, MB:\n\n");
            static const char *const tape_columns[] = {"mode", "L = 50", "L = 200", "L = 800"};
            bench_table_header(tape_columns, 4);
            for (int mode = OTAD_UNROLL; mode <= OTAD_IMPLICIT; mode++) {
                bench_cell_text("%s", mode_names[mode]);
                for (int l = 50; l <= 800; l *= 4) {
                    double mb = tape_mb(n, threads, mode, l);
                    failed |= isnan(mb);
                    bench_cell("%.1f", mb);
                }
                bench_row_end();
            }
        }
    printf("\nTimes: medians inside each process, ranges over %zu rounds.\n", o.rounds);
    return failed;
}
