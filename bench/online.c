/*
 * The online kernel (otad_kernel_points_online), which computes K as it
 * applies it, ours alone (bench/online_pot.c compares it with POT's lazy
 * solver):
 *
 * 1. Against the stored kernel of the same points (otad_kernel_gibbs_points)
 *    on the Sinkhorn loss of bench/sinkhorn_loss.c (n points of [0,1]²,
 *    ε = 0.05, L = 100 scaling-domain updates, value and gradients to the
 *    points and the weights, 1 or 16 histograms): both in one process,
 *    alternating three times, the median of each; a row is --rounds fresh
 *    processes.  Target: online at most 1.5× stored at n = 4000.
 * 2. The debiased Sinkhorn divergence and its gradient to both clouds
 *    between n and n points of [0,1]³, ε = 0.01, log domain, ε-scaling from
 *    ε₀ = 1 (halving, 10 updates a stage), then updates to a marginal error
 *    of 1e-5, ENVELOPE gradients: seconds and peak RSS, beside one log-domain
 *    apply and the time its n² exponentials take at the machine's rate
 *    (bench_exp_rate, in the same worker).
 *
 *   online [--sizes 4000] [--divergence 10000] [--threads 1,2] [--rounds 3]
 *      ("none" for a list leaves its table out)
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers --------------------------------------------------------------- */

typedef struct problem {
    size_t n, batch;
    double *y, *b;
    int online;
    double eps;
    int iterations;
} problem;

static otad_kernel kernel(otad_tape *t, const problem *p, otad_var x, otad_var y)
{
    return p->online ? otad_kernel_points_online(t, x, y, p->eps, 2)
                     : otad_kernel_gibbs_points(t, x, y, p->eps);
}

/* θ = (x, a): Σ_k W_L(a, b_k), as bench/sinkhorn_loss.c. */
static otad_var loss_build(otad_tape *t, otad_var theta, void *instance)
{
    const problem *p = instance;
    size_t n = p->n;
    otad_var x = otad_reshape(t, otad_slice(t, theta, 0, 2 * n, 0, 1), n, 2);
    otad_var a = otad_slice(t, theta, 2 * n, n, 0, 1);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = p->iterations;
    return otad_sum(t, otad_sinkhorn_loss(t, kernel(t, p, x, otad_const(t, n, 2, p->y)), a,
                                          otad_const(t, n, p->batch, p->b), &o,
                                          OTAD_SINKHORN_COST));
}

typedef struct timed_loss {
    otad_tape *tape;
    bench_objective objective;
    double seconds[3];
} timed_loss;

static void time_loss(void *arg)
{
    timed_loss *l = arg;
    double value;
    if (bench_time_objective(l->tape, &l->objective, 1, 0, 1, &value, l->seconds) != OTAD_OK) {
        fprintf(stderr, "online: %s\n", otad_tape_message(l->tape));
        exit(1);
    }
}

/* Table 1: stored and online alternating in one process. */
static int worker_pair(size_t n, size_t batch)
{
    double *theta = malloc(3 * n * sizeof *theta), *grad = malloc(3 * n * sizeof *grad);
    problem p[2] = {{n, batch, malloc(2 * n * sizeof(double)),
                     malloc(n * batch * sizeof(double)), 0, 0.05, 100}};
    if (!theta || !grad || !p[0].y || !p[0].b)
        return 1;
    bench_points(1, n, theta);
    bench_points(2, n, p[0].y);
    bench_histogram(3, n, theta + 2 * n);
    for (size_t k = 0; k < batch; k++)
        bench_histogram(batch == 1 ? 4 : 100 + k, n, p[0].b + k * n);
    p[1] = p[0], p[1].online = 1;
    timed_loss l[2];
    double times[2][3];
    for (int s = 0; s < 2; s++) {
        l[s] = (timed_loss){NULL, {loss_build, &p[s], 3 * n, theta, grad}, {0}};
        if (otad_tape_new(&l[s].tape, NULL) != OTAD_OK)
            return 1;
        time_loss(&l[s]); /* warm-up */
    }
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < 2; s++) {
            time_loss(&l[s]);
            times[s][k] = l[s].seconds[0];
        }
    double stored = bench_median(times[0], 3), online = bench_median(times[1], 3);
    printf("RESULT {\"stored\": %.6g, \"online\": %.6g, \"ratio\": %.4g}\n", stored, online,
           online / stored);
    return 0;
}

/* Table 2: the debiased divergence with ε-scaling, and one log apply. */
static otad_var divergence_build(otad_tape *t, otad_var theta, void *instance)
{
    const problem *p = instance;
    size_t n = p->n;
    otad_var x = otad_reshape(t, otad_slice(t, theta, 0, 3 * n, 0, 1), n, 3);
    otad_var y = otad_reshape(t, otad_slice(t, theta, 3 * n, 3 * n, 0, 1), n, 3);
    otad_var w = otad_const_fill(t, n, 1, 1.0 / (double)n);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = 1;
    o.mode = OTAD_ENVELOPE;
    o.eps_start = 1;
    o.iterations = 10000;
    o.tolerance = 1e-5;
    return otad_sinkhorn_divergence(t, kernel(t, p, x, y), kernel(t, p, x, x),
                                    kernel(t, p, y, y), w, w, &o, OTAD_SINKHORN_DUAL);
}

static int worker_divergence(size_t n)
{
    problem p = {n, 1, NULL, NULL, 1, 0.01, 0};
    double *theta = malloc(6 * n * sizeof *theta), *grad = malloc(6 * n * sizeof *grad);
    otad_tape *t = NULL;
    if (!theta || !grad || otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    bench_points_in(1, n, 3, theta);
    bench_points_in(2, n, 3, theta + 3 * n);
    bench_objective o = {divergence_build, &p, 6 * n, theta, grad};
    double value, fwdbwd, apply = 0;
    otad_var x = otad_const(t, n, 3, theta), z = otad_const_fill(t, n, 1, 0), y = z;
    otad_kernel k = otad_kernel_points_online(t, x, x, p.eps, 2);
    for (int warm = 0; warm < 2; warm++) { /* the second apply is timed */
        double t0 = bench_now();
        y = otad_kernel_apply_log(t, k, 0, z);
        apply = bench_now() - t0;
    }
    int rc = otad_var_valid(y) ? bench_time_objective(t, &o, 1, 0, 1, &value, &fwdbwd)
                               : otad_tape_status(t);
    if (rc != OTAD_OK) {
        fprintf(stderr, "online: %s\n", otad_tape_message(t));
        return 1;
    }
    printf("RESULT {\"fwdbwd\": %.6g, \"value\": %.17g, \"apply\": %.6g, \"exp_per_s\": %.6g}\n",
           fwdbwd, value, apply, bench_exp_rate());
    return 0;
}

/* ---- driver ---------------------------------------------------------------- */

typedef struct options {
    size_t sizes[4], divergence[4], threads[4];
    size_t n_sizes, n_divergence, n_threads, rounds;
} options;

/* A list of sizes, or "none" for a table left out: the count, or SIZE_MAX. */
static size_t sizes_or_none(const char *s, size_t *out, size_t max)
{
    if (strcmp(s, "none") == 0)
        return 0;
    size_t n = bench_parse_list(s, out, 4, max);
    return n ? n : SIZE_MAX;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{4000}, {10000}, {1, 2}, 1, 1, 2, 3};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_sizes = sizes_or_none(argv[++i], o->sizes, 100000);
        else if (strcmp(argv[i], "--divergence") == 0 && v)
            o->n_divergence = sizes_or_none(argv[++i], o->divergence, 1000000);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (o->n_sizes == SIZE_MAX || o->n_divergence == SIZE_MAX || !o->n_threads ||
            o->rounds < 3)
            return -1;
    }
    return 0;
}

static char *number(char *buf, size_t n)
{
    snprintf(buf, 32, "%zu", n);
    return buf;
}

enum { STORED, ONLINE, RATIO, KEYS };
static const char *const pair_keys[KEYS] = {"stored", "online", "ratio"};

static void pair_row(const options *o, size_t n, size_t batch, size_t threads)
{
    char label[64], n_arg[32], b_arg[32];
    double v[KEYS][BENCH_MAX_ROUNDS];
    bench_runs r;
    snprintf(label, sizeof label, "stored/online n = %zu, B = %zu, %zu thread(s)", n, batch,
             threads);
    char *const argv[] = {(char *)bench_self(), "--worker", "pair", number(n_arg, n),
                          number(b_arg, batch), NULL};
    bench_side side = {argv, "online", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", batch), bench_cell_text("%zu", threads);
    if (bench_repeat_numbers(&side, (int)threads, (int)o->rounds, label, pair_keys, KEYS, v,
                             &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return;
    }
    size_t last = (size_t)r.count - 1;
    for (int k = 0; k < KEYS; k++) {
        bench_median(v[k], (size_t)r.count);
        bench_cell_range(k == RATIO ? "%.2f" : "%.3g", v[k][0], v[k][last]);
    }
    bench_cell_text("%s", v[RATIO][last] <= 1.5 ? "met" : "NOT met");
    bench_cell("%.0f", r.peak_mb);
    bench_row_end();
}

static void divergence_row(const options *o, size_t n, size_t threads)
{
    char label[64], n_arg[32];
    bench_runs r;
    snprintf(label, sizeof label, "divergence n = %zu, %zu thread(s)", n, threads);
    char *const argv[] = {(char *)bench_self(), "--worker", "divergence", number(n_arg, n),
                          NULL};
    bench_side side = {argv, "fwdbwd", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", threads);
    if (bench_repeat(&side, (int)threads, (int)o->rounds, label, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return;
    }
    double rate = bench_json_number(r.result, "exp_per_s");
    bench_cell_range("%.3g", bench_runs_min(&r), bench_runs_max(&r));
    bench_cell("%.3g", bench_json_number(r.result, "apply"));
    bench_cell("%.3g", (double)n * (double)n / rate);
    bench_cell("%.0f", r.peak_mb);
    bench_cell("%.4g", bench_json_number(r.result, "value"));
    bench_row_end();
}

static void pair_table(const options *o)
{
    if (!o->n_sizes)
        return;
    printf("\nAgainst the stored kernel: the Sinkhorn loss of bench/sinkhorn_loss.c (ε = 0.05, "
           "L = 100), value and gradient, seconds per evaluation, the process's peak RSS (the "
           "stored kernel's); target: online ≤ 1.5× stored.\n\n");
    static const char *const columns[] = {"n", "B", "threads", "stored s", "online s",
                                           "online / stored", "≤ 1.5", "peak MB"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t si = 0; si < o->n_sizes; si++)
            for (size_t batch = 1; batch <= 16; batch += 15)
                pair_row(o, o->sizes[si], batch, o->threads[ti]);
}

static void divergence_table(const options *o)
{
    if (!o->n_divergence)
        return;
    printf("\nThe debiased divergence and its gradient to both clouds, ε = 0.01 reached by "
           "ε-scaling from 1, marginal error 1e-5, ENVELOPE; one log-domain apply beside "
           "it, and its n² exponentials at the machine's rate.\n\n");
    static const char *const columns[] = {"n", "threads", "divergence+gradient s",
                                           "one apply s", "its exp bound s", "peak MB", "value"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t si = 0; si < o->n_divergence; si++)
            divergence_row(o, o->divergence[si], o->threads[ti]);
}

int main(int argc, char **argv)
{
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc >= 4 && strcmp(argv[1], "--worker") == 0) {
        size_t n = strtoul(argv[3], NULL, 10);
        if (argc == 5 && strcmp(argv[2], "pair") == 0)
            return worker_pair(n, strtoul(argv[4], NULL, 10));
        if (strcmp(argv[2], "divergence") == 0)
            return worker_divergence(n);
    }
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 4000] [--divergence 10000] [--threads 1,2] "
                "[--rounds 3] (a list may be \"none\")\n", argv[0]);
        return 2;
    }
    printf("## The online kernel\n\n");
    bench_print_machine_line();
    pair_table(&o);
    divergence_table(&o);
    return 0;
}
