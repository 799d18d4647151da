/*
 * The kernels' applies and backwards on N×16 columns, beside the machine's
 * dgemm rate and streaming read bandwidth: the dense Gibbs kernel exp(−C/ε)
 * of two sets of 4000 random points in [0,1]² (ε = 0.05); the separable
 * Gaussian kernel of the 128×128 grid (ε = 2e-3); the graph heat kernel
 * K = M^(−S), M = I − ε/(4S)·L_w (Solomon et al. 2015; Heitz et al. 2020),
 * unit weights, on the 50×50 and 32×32×32 grid graphs (ε = 0.04, S = 20).
 * Measured: an apply Kx, the backward of ⟨seed, Kx⟩ to x, and to x and the
 * kernel's parameters.  bench/sweeps.c compares the heat kernel's solves
 * with CHOLMOD's.  Then the scaling pair of Sinkhorn's update (s = b ⊘ Kᵀu,
 * K s), which the Gibbs kernel runs in one pass over K, against the same as
 * two BLAS products: K of 4000×4000 and 600×1800 points, 1 and 16 columns.
 *
 * Protocol (bench/protocol.h): each row is --rounds fresh processes with the
 * threads set before the libraries start, each timing the median of about a
 * second of calls (3 to 20) after an untimed one; ranges are over the rounds.
 *
 *   kernels [--threads 1,2] [--rounds 3]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { COLS = 16, HEAT_STEPS = 20 };
enum { DENSE, GRID, HEAT_2D, HEAT_3D, KINDS };
static const char *const titles[KINDS] = {"dense Gibbs, n = 4000", "grid 128×128",
                                          "heat 50×50, S = 20", "heat 32×32×32, S = 20"};
static const double heat_eps = 0.04;

/* ---- worker: one kernel's apply and backwards ------------------------------ */

typedef struct setup {
    int kind;
    otad_tape *tape;
    otad_graph *graph;
    otad_kernel k;
    otad_var x, param, kx, y; /* input, the kernel's parameter (or invalid), Kx, ⟨seed, Kx⟩ */
    double *xs, *seed, *params, *grad_x;
    size_t n, n_params;
} setup;

/* A kernel's inputs, on a tape of its own. */
static int make(setup *s)
{
    if (otad_tape_new(&s->tape, NULL) != OTAD_OK)
        return -1;
    otad_tape *t = s->tape;
    if (s->kind == DENSE) {
        s->n = 4000, s->n_params = s->n * s->n;
        double *pts = malloc(4 * s->n * sizeof *pts);
        otad_rng rng = {1};
        otad_rng_fill(&rng, pts, 4 * s->n, 0, 1);
        otad_var c = otad_sqdist(t, otad_const(t, s->n, 2, pts),
                                 otad_const(t, s->n, 2, pts + 2 * s->n));
        s->params = malloc(s->n_params * sizeof *s->params);
        memcpy(s->params, otad_value_of(t, c).data, s->n_params * sizeof *s->params);
    } else if (s->kind == GRID) {
        s->n = 128 * 128;
    } else {
        if ((s->kind == HEAT_3D ? otad_graph_grid3d(&s->graph, 32, 32, 32, NULL)
                                : otad_graph_grid2d(&s->graph, 50, 50, NULL)) != OTAD_OK)
            return -1;
        s->n = otad_graph_vertices(s->graph), s->n_params = otad_graph_edges(s->graph);
        s->params = malloc(s->n_params * sizeof *s->params);
        for (size_t e = 0; e < s->n_params; e++)
            s->params[e] = 1;
    }
    s->xs = malloc(s->n * COLS * sizeof *s->xs), s->seed = malloc(s->n * COLS * sizeof *s->seed);
    s->grad_x = malloc(s->n * COLS * sizeof *s->grad_x);
    otad_rng rng = {2};
    otad_rng_fill(&rng, s->xs, s->n * COLS, 0, 1);
    otad_rng_fill(&rng, s->seed, s->n * COLS, 0, 1);
    return 0;
}

/* Record the kernel (its parameter a tape parameter or a constant) and ⟨seed, Kx⟩. */
static void record(setup *s, int param_grad)
{
    otad_tape *t = s->tape;
    otad_tape_reset(t);
    s->x = otad_param(t, s->n, COLS, s->xs, s->grad_x);
    /* the parameter's gradient stays on the tape: no copy to a caller's buffer */
    size_t rows = s->kind == DENSE ? s->n : s->n_params, cols = s->n_params / rows;
    if (s->n_params)
        s->param = param_grad ? otad_param(t, rows, cols, s->params, NULL)
                              : otad_const(t, rows, cols, s->params);
    if (s->kind == DENSE)
        s->k = otad_kernel_gibbs(t, s->param, 0.05);
    else if (s->kind == GRID)
        s->k = otad_kernel_grid(t, 2, (size_t[]){128, 128}, 2e-3);
    else
        s->k = otad_kernel_heat(t, s->graph, s->param, heat_eps, HEAT_STEPS);
    s->kx = otad_kernel_apply(t, s->k, 0, s->x);
    s->y = otad_dot(t, s->kx, otad_const(t, s->n, COLS, s->seed));
}

/* An apply recorded and dropped again: the tape stays as record left it. */
static void apply_once(void *arg)
{
    setup *s = arg;
    otad_mark m = otad_tape_mark(s->tape);
    otad_kernel_apply(s->tape, s->k, 0, s->x);
    otad_tape_rewind(s->tape, m);
}

static void backward_once(void *arg)
{
    otad_backward(((setup *)arg)->tape, ((setup *)arg)->y);
}

static int worker(int kind)
{
    setup s = {.kind = kind};
    if (make(&s) != 0)
        return 1;
    record(&s, 0);
    double apply = bench_time_second(apply_once, &s);
    double backward_x = bench_time_second(backward_once, &s);
    double backward_all = NAN, flops = otad_kernel_info_of(s.tape, s.k).flops * COLS;
    if (s.n_params) {
        record(&s, 1);
        backward_all = bench_time_second(backward_once, &s);
    }
    if (otad_tape_status(s.tape) != OTAD_OK)
        return fprintf(stderr, "%s: %s\n", titles[kind], otad_tape_message(s.tape)), 1;
    printf("RESULT {\"apply\": %.6g, \"backward_x\": %.6g, \"backward_all\": %.6g, "
           "\"flops\": %.6g}\n", apply, backward_x, backward_all, flops);
    return 0; /* the process ends: its memory goes with it */
}

/* ---- worker: the scaling pair, fused against two BLAS products ------------------ */

typedef struct pair_setup {
    otad_tape *tape;
    otad_kernel k;
    otad_var u, b;
} pair_setup;

static void pair_fused(void *arg)
{
    pair_setup *p = arg;
    otad_mark m = otad_tape_mark(p->tape);
    otad_kernel_scaling_pair(p->tape, p->k, OTAD_KERNEL_TRANSPOSE, p->u, p->b);
    otad_tape_rewind(p->tape, m);
}

static void pair_separate(void *arg)
{
    pair_setup *p = arg;
    otad_mark m = otad_tape_mark(p->tape);
    otad_var v = otad_div(p->tape, p->b,
                          otad_kernel_apply(p->tape, p->k, OTAD_KERNEL_TRANSPOSE, p->u));
    otad_kernel_apply(p->tape, p->k, 0, v);
    otad_tape_rewind(p->tape, m);
}

static int pair_worker(size_t n, size_t m, size_t cols)
{
    pair_setup p;
    double *pts = malloc(2 * (n + m) * sizeof *pts), *u = malloc((n + m) * cols * sizeof *u);
    if (!pts || !u || otad_tape_new(&p.tape, NULL) != OTAD_OK)
        return 1;
    otad_rng rng = {3};
    otad_rng_fill(&rng, pts, 2 * (n + m), 0, 1);
    otad_rng_fill(&rng, u, (n + m) * cols, 0.5, 1.5);
    p.k = otad_kernel_gibbs_points(p.tape, otad_const(p.tape, n, 2, pts),
                                   otad_const(p.tape, m, 2, pts + 2 * n), 0.05);
    p.u = otad_const(p.tape, n, cols, u), p.b = otad_const(p.tape, m, cols, u + n * cols);
    double fused = bench_time_second(pair_fused, &p);
    double separate = bench_time_second(pair_separate, &p);
    if (otad_tape_status(p.tape) != OTAD_OK)
        return fprintf(stderr, "pair: %s\n", otad_tape_message(p.tape)), 1;
    printf("RESULT {\"fused\": %.6g, \"separate\": %.6g}\n", fused, separate);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

/* Figures over the rounds of a row: the range of the timed one (in r), the
 * median of the others.  v[key][round] is sorted by bench_median: v[k][0]
 * is then the least, v[k][count − 1] the greatest. */
enum { APPLY, BACKWARD_X, BACKWARD_ALL, FLOPS, KEYS };
static const char *const keys[KEYS] = {"apply", "backward_x", "backward_all", "flops"};

typedef struct row {
    bench_runs r;
    double v[KEYS][BENCH_MAX_ROUNDS];
} row;

/* A kernel's row; a failure ends the row saying why. */
static int kernel_row(int kind, size_t threads, size_t rounds, const bench_machine *m, row *w)
{
    char label[64], arg[4];
    snprintf(label, sizeof label, "%s, %zu thread(s)", titles[kind], threads);
    snprintf(arg, sizeof arg, "%d", kind);
    char *const argv[] = {(char *)bench_self(), "--worker", arg, NULL};
    bench_side side = {argv, "apply", 0};
    bench_cell_text("%s", titles[kind]);
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, w->v,
                             &w->r) != 0) {
        bench_cell_text("failed: %s", w->r.result);
        bench_row_end();
        return -1;
    }
    size_t n = (size_t)w->r.count;
    double apply = bench_runs_median(&w->r), gflops = w->v[FLOPS][0] / apply * 1e-9;
    double x = bench_median(w->v[BACKWARD_X], n), all = bench_median(w->v[BACKWARD_ALL], n);
    bench_cell_range("%.3g", 1e3 * bench_runs_min(&w->r), 1e3 * bench_runs_max(&w->r));
    bench_cell("%.1f", gflops), bench_cell("%.0f%%", 100 * gflops / m->dgemm_gflops);
    bench_cell("%.3g", 1e3 * x), bench_cell("%.2f", x / apply);
    bench_cell("%.3g", 1e3 * all), bench_cell("%.2f", all / apply);
    bench_cell("%.0f", w->r.peak_mb);
    bench_row_end();
    return 0;
}

/* The pair's rows for one thread count. */
static int pair_rows(size_t threads, size_t rounds, const bench_machine *m)
{
    static const size_t sizes[3][3] = {{4000, 4000, 1}, {600, 1800, 1}, {4000, 4000, 16}};
    static const char *const pair_keys[2] = {"fused", "separate"};
    int failed = 0;
    for (size_t k = 0; k < 3; k++) {
        char label[64], n_arg[16], m_arg[16], cols_arg[16];
        snprintf(label, sizeof label, "pair %zux%zu by %zu, %zu thread(s)", sizes[k][0],
                 sizes[k][1], sizes[k][2], threads);
        snprintf(n_arg, sizeof n_arg, "%zu", sizes[k][0]);
        snprintf(m_arg, sizeof m_arg, "%zu", sizes[k][1]);
        snprintf(cols_arg, sizeof cols_arg, "%zu", sizes[k][2]);
        char *const argv[] = {(char *)bench_self(), "--worker", "pair", n_arg, m_arg, cols_arg,
                              NULL};
        bench_side side = {argv, "fused", 0};
        double v[2][BENCH_MAX_ROUNDS];
        bench_runs r;
        bench_cell_text("%zu×%zu", sizes[k][0], sizes[k][1]);
        bench_cell_text("%zu", sizes[k][2]);
        if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, pair_keys, 2, v,
                                 &r) != 0) {
            bench_cell_text("failed: %s", r.result);
            bench_row_end();
            failed = 1;
            continue;
        }
        double fused = bench_runs_median(&r), separate = bench_median(v[1], (size_t)r.count);
        double bytes = 8.0 * (double)(sizes[k][0] * sizes[k][1]);
        bench_cell_range("%.3g", 1e3 * bench_runs_min(&r), 1e3 * bench_runs_max(&r));
        bench_cell("%.3g", 1e3 * separate), bench_cell("%.2f", separate / fused);
        bench_cell("%.1f", bytes / fused * 1e-9), bench_cell("%.1f", m->read_gbs);
        bench_row_end();
    }
    return failed;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(atoi(argv[2]) % KINDS);
    if (argc == 6 && strcmp(argv[1], "--worker") == 0 && strcmp(argv[2], "pair") == 0)
        return pair_worker(strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
                           strtoul(argv[5], NULL, 10));
    size_t threads[4] = {1, 2}, n_threads = 2, rounds[1] = {3};
    if (bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0)
        return 2;
    printf("## Kernel applies and backwards on %d columns\n\n", COLS);
    bench_print_machine_line();
    printf("Backward: of ⟨seed, Kx⟩ to x, and to x and the kernel's parameters.  GFLOP/s: the "
           "apply's operations (dense 2nm, grid 2N·Σn_a, heat 4·S·nnz(L) per column) over its "
           "median time.  Targets: a backward at most twice its apply; the 50×50 heat apply "
           "at most 3 ms.\n");
    static const char *const kernel_columns[] = {
        "kernel", "apply ms", "GFLOP/s", "of dgemm", "backward x ms", "/apply",
        "x and param ms", "/apply", "peak MB"};
    for (size_t ti = 0; ti < n_threads; ti++) {
        bench_machine m;
        row rows[KINDS];
        if (bench_measure_machine((int)threads[ti], &m) != 0)
            return 1;
        printf("\n%zu thread%s: dgemm %.1f GFLOP/s, streaming read %.1f GB/s.\n\n", threads[ti],
               threads[ti] > 1 ? "s" : "", m.dgemm_gflops, m.read_gbs);
        bench_table_header(kernel_columns, 9);
        for (int k = DENSE; k < KINDS; k++)
            failed |= kernel_row(k, threads[ti], rounds[0], &m, &rows[k]) != 0;
        printf("\nThe scaling pair s = b ⊘ Kᵀu, K s, dense Gibbs kernel of two point sets: "
               "fused (one pass over K) against two BLAS products.\n\n");
        static const char *const pair_columns[] = {"K", "columns", "fused ms",
                                                   "two products ms", "ratio",
                                                   "fused GB/s of K", "read GB/s"};
        bench_table_header(pair_columns, 7);
        failed |= pair_rows(threads[ti], rounds[0], &m);
    }
    printf("\nTimes: medians inside each process, ranges over %zu round%s.\n", rounds[0],
           rounds[0] > 1 ? "s" : "");
    return failed;
}
