/*
 * The online kernel (otad_kernel_points_online), which computes K as it
 * applies it:
 *
 * 1. Against the stored kernel of the same points (otad_kernel_gibbs_points)
 *    on the Sinkhorn loss of bench/sinkhorn_loss.c (n points of [0,1]²,
 *    ε = 0.05, L = 100 scaling-domain updates, value and gradients to the
 *    points and the weights, 1 or 16 histograms): both in one process,
 *    alternating three times, the median of each; a row is --rounds fresh
 *    processes.  Target: online at most 1.5× stored at n = 4000.
 * 2. Against POT's lazy solver (bench/online.py): the transport cost of the
 *    entropic plan between n and n points of [0,1]³, ε = 0.01, after L = 10
 *    log-domain updates, value only on both sides (POT's NumPy solver has no
 *    gradient; ours with its gradient beside), under the protocol.  Beside
 *    it, the machine's rate of exponentials (glibc's vector exp over a
 *    buffer in the same worker) and the time the update's 2·L·n²
 *    exponentials take at that rate.
 * 3. The debiased Sinkhorn divergence and its gradient to both clouds
 *    between n and n points of [0,1]³, ε = 0.01, log domain, ε-scaling from
 *    ε₀ = 1 (halving, 10 updates a stage), then updates to a marginal error
 *    of 1e-5, ENVELOPE gradients: seconds and peak RSS, beside one log-domain
 *    apply and its exponentials' time.
 *
 *   online [--sizes 4000] [--lazy 5000] [--divergence 10000] [--threads 1,2] [--rounds 3]
 *      [--no-reference]          ("none" for a list leaves its table out)
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- workers --------------------------------------------------------------- */

#pragma omp declare simd notinbranch
double exp(double);

/* Exponentials per second: glibc's vector exp over a buffer of exponents
 * in cache, summed so that none is dropped, for about a quarter of a
 * second on all the threads. */
static double exp_rate(void)
{
    enum { SIZE = 1 << 12 };
    static double arg[SIZE];
    double done = 0, sink = 0;
    for (size_t i = 0; i < SIZE; i++)
        arg[i] = -(double)i / SIZE * 30;
    double t0 = bench_now();
    while (bench_now() - t0 < 0.25) {
#pragma omp parallel reduction(+ : sink, done)
        for (int r = 0; r < 64; r++) {
            const double *a = arg;
            double s = 0;
#pragma omp simd reduction(+ : s)
            for (size_t i = 0; i < SIZE; i++)
                s += exp(a[i]);
            sink += s, done += SIZE;
        }
    }
    return sink > 0 ? done / (bench_now() - t0) : NAN;
}

/* n points of [0,1]³ drawn row by row, as online.py's points3. */
static void bench_points3(uint64_t seed, size_t n, double *p)
{
    otad_rng rng = {seed};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++)
            p[i + k * n] = otad_rng_uniform(&rng);
}

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

/* Table 2: W after L log-domain updates, as online.py computes it. */
static otad_var lazy_build(otad_tape *t, otad_var theta, void *instance)
{
    const problem *p = instance;
    size_t n = p->n;
    otad_var x = otad_reshape(t, theta, n, 3), w = otad_const_fill(t, n, 1, 1.0 / (double)n);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = p->iterations;
    o.log_domain = 1;
    return otad_sinkhorn_loss(t, kernel(t, p, x, otad_const(t, n, 3, p->y)), w, w, &o,
                              OTAD_SINKHORN_COST);
}

static int worker_lazy(size_t n)
{
    problem p = {n, 1, malloc(3 * n * sizeof(double)), NULL, 1, 0.01, 10};
    double *theta = malloc(3 * n * sizeof *theta), *grad = malloc(3 * n * sizeof *grad);
    otad_tape *t = NULL;
    if (!p.y || !theta || !grad || otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    bench_points3(1, n, theta);
    bench_points3(2, n, p.y);
    bench_objective o = {lazy_build, &p, 3 * n, theta, grad};
    double value, fwd, fwdbwd;
    int rc = bench_time_objective(t, &o, 0, 1, 1, &value, &fwd);
    if (rc == OTAD_OK)
        rc = bench_time_objective(t, &o, 1, 0, 1, &value, &fwdbwd);
    if (rc != OTAD_OK) {
        fprintf(stderr, "online: %s\n", otad_tape_message(t));
        return 1;
    }
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"value\": %.17g, \"exp_per_s\": %.6g}\n",
           fwd, fwdbwd, value, exp_rate());
    return 0;
}

/* Table 3: the debiased divergence with ε-scaling, and one log apply. */
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
    bench_points3(1, n, theta);
    bench_points3(2, n, theta + 3 * n);
    bench_objective o = {divergence_build, &p, 6 * n, theta, grad};
    double value, fwdbwd, t0 = bench_now();
    otad_var x = otad_const(t, n, 3, theta), z = otad_const_fill(t, n, 1, 0);
    otad_var y = otad_kernel_apply_log(t, otad_kernel_points_online(t, x, x, p.eps, 2), 0, z);
    double apply = bench_now() - t0;
    int rc = otad_var_valid(y) ? bench_time_objective(t, &o, 1, 0, 1, &value, &fwdbwd)
                               : otad_tape_status(t);
    if (rc != OTAD_OK) {
        fprintf(stderr, "online: %s\n", otad_tape_message(t));
        return 1;
    }
    printf("RESULT {\"fwdbwd\": %.6g, \"value\": %.17g, \"apply\": %.6g, \"exp_per_s\": %.6g}\n",
           fwdbwd, value, apply, exp_rate());
    return 0;
}

/* ---- driver ---------------------------------------------------------------- */

typedef struct options {
    size_t sizes[4], lazy[4], divergence[4], threads[4];
    size_t n_sizes, n_lazy, n_divergence, n_threads, rounds;
    int reference;
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
    *o = (options){{4000}, {5000}, {10000}, {1, 2}, 1, 1, 1, 2, 3, 1};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_sizes = sizes_or_none(argv[++i], o->sizes, 100000);
        else if (strcmp(argv[i], "--lazy") == 0 && v)
            o->n_lazy = sizes_or_none(argv[++i], o->lazy, 1000000);
        else if (strcmp(argv[i], "--divergence") == 0 && v)
            o->n_divergence = sizes_or_none(argv[++i], o->divergence, 1000000);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (o->n_sizes == SIZE_MAX || o->n_lazy == SIZE_MAX || o->n_divergence == SIZE_MAX ||
            !o->n_threads || o->rounds < 3)
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

static void lazy_row(const options *o, const char *script, size_t n, size_t threads,
                     bench_comparison *c)
{
    char label[64], n_arg[32], config[160];
    snprintf(label, sizeof label, "lazy n = %zu, %zu thread(s)", n, threads);
    snprintf(config, sizeof config, "{\"n\": %zu, \"iterations\": 10, \"threads\": %zu, "
             "\"repeats\": 1}", n, threads);
    char *const ours_argv[] = {(char *)bench_self(), "--worker", "lazy", number(n_arg, n), NULL};
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)script, "--worker", config, NULL};
    bench_side ours = {ours_argv, "fwd", 0}, reference = {ref_argv, "median_s", 0};
    bench_cell_text("%zu", n), bench_cell_text("%zu", threads);
    if (bench_compare(&ours, script ? &reference : NULL, (int)threads, (int)o->rounds, label,
                      c) != 0) {
        bench_cell_text("failed: %s", c->ours.result);
        bench_row_end();
        return;
    }
    const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
    double rate = bench_json_number(c->ours.result, "exp_per_s");
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    bench_cell("%.3g", 20.0 * (double)n * (double)n / rate);
    bench_cell("%.3g", bench_json_number(c->ours.result, "fwdbwd"));
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c);
    double ours_value = bench_json_number(c->ours.result, "value");
    double ref_value = ref ? bench_json_number(ref->result, "value") : NAN;
    bench_cell("%.1e", fabs(ours_value - ref_value) / fabs(ref_value));
    bench_cell("%.0f", c->ours.peak_mb), bench_cell("%.0f", ref ? ref->peak_mb : NAN);
    bench_cell_range("%.2f", c->load_lo, c->load_hi);
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

static void lazy_table(const options *o, const char *script, const char *why)
{
    if (!o->n_lazy)
        return;
    printf("\nAgainst POT's lazy solver (%s): W after 10 log-domain updates between n and n "
           "points of [0,1]³, ε = 0.01, value only; \"exp bound\": the updates' 20·n² "
           "exponentials at the machine's rate.\n\n", script ? "online.py" : why);
    static const char *const columns[] = {"n", "threads", "value s", "exp bound s",
        "value+gradient s", "POT value s", "ratio", "|ΔW|/W", "peak MB", "POT MB", "load"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    static bench_comparison c[4][4];
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t si = 0; si < o->n_lazy; si++)
            lazy_row(o, script, o->lazy[si], o->threads[ti], &c[si][ti]);
    if (!script)
        return;
    printf("\nPOT in each configuration (the fastest is compared):\n\n");
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t si = 0; si < o->n_lazy; si++) {
            char what[64];
            snprintf(what, sizeof what, "n = %zu, %zu thread(s)", o->lazy[si], o->threads[ti]);
            bench_print_comparison_note(what, &c[si][ti]);
        }
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
        if (strcmp(argv[2], "lazy") == 0)
            return worker_lazy(n);
        if (strcmp(argv[2], "divergence") == 0)
            return worker_divergence(n);
    }
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 4000] [--lazy 5000] [--divergence 10000] "
                "[--threads 1,2] [--rounds 3] [--no-reference] (a list may be \"none\")\n",
                argv[0]);
        return 2;
    }
    char script[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    int have_reference = o.reference && bench_find_reference(bench_dir, "online.py", "ot, numpy",
                                                             script, sizeof script, &why) == 0;
    printf("## The online kernel\n\n");
    bench_print_machine_line();
    pair_table(&o);
    lazy_table(&o, have_reference ? script : NULL, why);
    divergence_table(&o);
    return 0;
}
