/*
 * The kernels' applies and backwards on N×16 columns, beside the machine's
 * dgemm rate and streaming read bandwidth: the dense Gibbs kernel exp(−C/ε)
 * of two sets of 4000 random points in [0,1]² (ε = 0.05); the separable
 * Gaussian kernel of the 128×128 grid (ε = 2e-3); the graph heat kernel
 * K = M^(−S), M = I − ε/(4S)·L_w (Solomon et al. 2015; Heitz et al. 2020),
 * unit weights, on the 50×50 and 32×32×32 grid graphs (ε = 0.04, S = 20).
 * Measured: an apply Kx, the backward of ⟨seed, Kx⟩ to x, and to x and the
 * kernel's parameters; for the heat kernel, one apply's S solves of the same
 * 16 columns by our sweeps (ops/cholesky.c, inside the kernel's one
 * permutation in and out) and by cholmod_solve2 (CHOLMOD_A, permuting in
 * every solve; workspaces reused) on the same factor, M built and factorised
 * as the kernel does it.  Both must agree to 1e-10 relative, entry by entry,
 * and ours must be the kernel's apply; else the program exits 1.
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

#include "ops/graph.h" /* the heat kernel's factor and sweeps (internal to the library) */

enum { COLS = 16, HEAT_STEPS = 20 };
enum { DENSE, GRID, HEAT_2D, HEAT_3D, KINDS };
static const char *const titles[KINDS] = {"dense Gibbs, n = 4000", "grid 128×128",
                                          "heat 50×50, S = 20", "heat 32×32×32, S = 20"};
static const double heat_eps = 0.04, agreement = 1e-10;

/* The median of about a second of calls (3 to 20), after untimed ones. */
static double time_calls(void (*f)(void *), void *arg)
{
    double t0 = bench_now();
    f(arg);
    double once = bench_now() - t0;
    return bench_time_calls(f, arg, once > 1.0 / 3 ? 3 : once < 0.05 ? 20 : (int)(1 / once));
}

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

/* ---- worker: the heat kernel's solves, ours and CHOLMOD's -------------------- */

typedef struct solves {
    otadC_factor factor;
    size_t n;
    const double *rhs;
    double *xi, *ours; /* n×COLS: our work rows, our result */
    cholmod_common cm;
    cholmod_factor *supernodal; /* CHOLMOD's blocked factor of the same M, same order */
    cholmod_factor *solving;    /* the factor cholmod_apply solves with */
    cholmod_dense *b, *x[2], *y, *e, *result; /* y, e: cholmod_solve2's workspaces */
} solves;

/* M = I − τL_w with unit weights, entry by entry as the heat kernel builds
 * it, factorised by the kernel's own call (its rows in t's arena). */
static int factor_heat(otad_tape *t, const otad_graph *g, double *values, otadC_factor *f)
{
    double tau = heat_eps / (4.0 * HEAT_STEPS);
    for (size_t v = 0; v < g->n_vertices; v++)
        values[g->diag_entry[v]] = 1;
    for (size_t e = 0; e < g->n_edges; e++) {
        values[g->diag_entry[g->ends[2 * e]]] += tau * g->scale[e];
        values[g->diag_entry[g->ends[2 * e + 1]]] += tau * g->scale[e];
        values[g->edge_entry[e]] -= tau * g->scale[e];
    }
    otad_ctx ctx = {.tape = t}; /* what the kernel's setup is given: the tape's arena */
    return otadC_factorize(&ctx, &g->chol, values, f);
}

/* CHOLMOD's supernodal factor of the same M in the order of ours: its
 * solves run by blocks through BLAS, the alternative to our sweeps. */
static cholmod_factor *supernodal_factor(const otad_graph *g, double *values,
                                         const otadC_factor *ours, cholmod_common *cm)
{
    cm->supernodal = CHOLMOD_SUPERNODAL;
    cm->nmethods = 1;
    cm->method[0].ordering = CHOLMOD_GIVEN;
    cholmod_sparse a = *g->chol.matrix;
    a.x = values;
    cholmod_factor *f = cholmod_analyze_p(&a, ours->f->Perm, NULL, 0, cm);
    if (f && !cholmod_factorize(&a, f, cm))
        cholmod_free_factor(&f, cm);
    return f;
}

/* One apply as the heat kernel runs it: into the factor's order, S solves, back. */
static void ours_apply(void *arg)
{
    solves *s = arg;
    otadC_gather(&s->factor, COLS, COLS, s->rhs, s->xi);
    for (int k = 0; k < HEAT_STEPS; k++)
        otadC_solve(&s->factor, COLS, s->xi, NULL);
    otadC_scatter(&s->factor, COLS, COLS, s->xi, 0, s->ours);
}

/* The same S solves by CHOLMOD, each solution the next right-hand side. */
static void cholmod_apply(void *arg)
{
    solves *s = arg;
    cholmod_dense *in = s->b;
    for (int k = 0; k < HEAT_STEPS; k++) {
        cholmod_dense **out = in == s->x[0] ? &s->x[1] : &s->x[0];
        cholmod_solve2(CHOLMOD_A, s->solving, in, NULL, out, NULL, &s->y, &s->e, &s->cm);
        in = *out;
    }
    s->result = s->cm.status == CHOLMOD_OK ? in : NULL;
}

/* The largest |a − b|/|b| over the n×COLS entries (the solutions are positive). */
static double max_relative_difference(const double *a, const double *b, size_t n)
{
    double worst = b ? 0 : INFINITY;
    for (size_t i = 0; b && i < n * COLS; i++)
        worst = fmax(worst, fabs(a[i] - b[i]) / fabs(b[i]));
    return worst;
}

/* Seconds per solve, ours and CHOLMOD's, on the kernel's input x; the JSON
 * of the figures into json.  -1 (saying why) on a failure, or when our
 * result is not the kernel's apply recorded on h's tape. */
static int measure_solves(const setup *h, char *json, size_t cap)
{
    solves s = {.n = h->n, .rhs = h->xs};
    s.xi = malloc(2 * s.n * COLS * sizeof *s.xi), s.ours = s.xi + s.n * COLS;
    double *values = calloc(h->graph->chol.nnz, sizeof *values);
    cholmod_start(&s.cm);
    s.b = cholmod_allocate_dense(s.n, COLS, s.n, CHOLMOD_REAL, &s.cm);
    if (!s.xi || !s.b || !values || factor_heat(h->tape, h->graph, values, &s.factor) != OTAD_OK)
        return fprintf(stderr, "solves: %s\n", otad_tape_message(h->tape)), -1;
    memcpy(s.b->x, s.rhs, s.n * COLS * sizeof *s.rhs);
    double ours = time_calls(ours_apply, &s) / HEAT_STEPS;
    s.solving = s.factor.f;
    double simplicial = time_calls(cholmod_apply, &s) / HEAT_STEPS;
    double worst = max_relative_difference(s.ours, s.result ? s.result->x : NULL, s.n);
    if (!(s.solving = s.supernodal = supernodal_factor(h->graph, values, &s.factor, &s.cm)))
        return fprintf(stderr, "solves: CHOLMOD's supernodal factorisation failed\n"), -1;
    double supernodal = time_calls(cholmod_apply, &s) / HEAT_STEPS;
    worst = fmax(worst, max_relative_difference(s.ours, s.result ? s.result->x : NULL, s.n));
    snprintf(json, cap, ", \"ours\": %.6g, \"cholmod\": %.6g, \"supernodal\": %.6g, "
             "\"ratio\": %.4g, \"max_rel_diff\": %.3g, \"nnz\": %d", ours, simplicial,
             supernodal, ours / fmin(simplicial, supernodal), worst,
             ((const int *)s.factor.f->p)[s.n]);
    free(values);
    if (max_relative_difference(s.ours, otad_value_of(h->tape, h->kx).data, s.n) <= agreement)
        return 0;
    return fprintf(stderr, "%s: our sweeps are not the kernel's\n", titles[h->kind]), -1;
}

static int worker(int kind)
{
    setup s = {.kind = kind};
    char solve_figures[256] = "";
    if (make(&s) != 0)
        return 1;
    record(&s, 0);
    double apply = time_calls(apply_once, &s), backward_x = time_calls(backward_once, &s);
    double backward_all = NAN, flops = otad_kernel_info_of(s.tape, s.k).flops * COLS;
    if (s.graph && measure_solves(&s, solve_figures, sizeof solve_figures) != 0)
        return 1;
    if (s.n_params) {
        record(&s, 1);
        backward_all = time_calls(backward_once, &s);
    }
    if (otad_tape_status(s.tape) != OTAD_OK)
        return fprintf(stderr, "%s: %s\n", titles[kind], otad_tape_message(s.tape)), 1;
    printf("RESULT {\"apply\": %.6g, \"backward_x\": %.6g, \"backward_all\": %.6g, "
           "\"flops\": %.6g%s}\n", apply, backward_x, backward_all, flops, solve_figures);
    return 0; /* the process ends: its memory goes with it */
}

/* ---- driver ------------------------------------------------------------------ */

/* Figures over the rounds of a row: the range of the timed one (in r), the
 * median of the others.  v[key][round] is sorted by bench_median: v[k][0]
 * is then the least, v[k][count − 1] the greatest. */
enum { APPLY, BACKWARD_X, BACKWARD_ALL, FLOPS, OURS, CHOLMOD, SUPERNODAL, RATIO, DIFFERENCE, NNZ,
       KEYS };
static const char *const keys[KEYS] = {"apply", "backward_x", "backward_all", "flops", "ours",
                                       "cholmod", "supernodal", "ratio", "max_rel_diff", "nnz"};

typedef struct row {
    bench_runs r;
    double v[KEYS][BENCH_MAX_ROUNDS];
} row;

/* A kernel's row, and its solves kept for their table; a failure ends the
 * row saying why. */
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

/* A row of the solves; -1 when ours and CHOLMOD's disagree. */
static int solves_row(int kind, row *w)
{
    size_t n = (size_t)w->r.count, last = n - 1;
    double gflop = 4 * w->v[NNZ][0] * COLS * 1e-9;
    bench_median(w->v[RATIO], n), bench_median(w->v[DIFFERENCE], n);
    bench_cell_text("%s", titles[kind]);
    for (int k = OURS; k <= SUPERNODAL; k++) {
        double median = bench_median(w->v[k], n);
        bench_cell_range("%.3g", w->v[k][0], w->v[k][last]), bench_cell("%.1f", gflop / median);
    }
    bench_cell_range("%.2f", w->v[RATIO][0], w->v[RATIO][last]);
    double worst = w->v[DIFFERENCE][last];
    bench_cell_text(worst <= agreement ? "%.1e" : "%.1e, above %g", worst, agreement);
    bench_cell("%.0f", w->v[NNZ][0]);
    bench_row_end();
    return worst <= agreement ? 0 : -1;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(atoi(argv[2]) % KINDS);
    size_t threads[4] = {1, 2}, n_threads = 2, rounds[1] = {3}, n_rounds = 1;
    for (int i = 1; i + 1 < argc && n_threads && n_rounds; i += 2)
        if (strcmp(argv[i], "--threads") == 0)
            n_threads = bench_parse_list(argv[i + 1], threads, 4, 64);
        else
            n_rounds = !strcmp(argv[i], "--rounds") && bench_parse_list(argv[i + 1], rounds, 1, 9);
    if (argc % 2 == 0 || !n_threads || !n_rounds)
        return fprintf(stderr, "usage: %s [--threads 1,2] [--rounds 3]\n", argv[0]), 2;
    printf("## Kernel applies and backwards on %d columns; the heat kernel's solves\n\n", COLS);
    bench_print_machine_line();
    printf("Backward: of ⟨seed, Kx⟩ to x, and to x and the kernel's parameters.  GFLOP/s: the "
           "apply's operations (dense 2nm, grid 2N·Σn_a, heat 4·S·nnz(L) per column) over its "
           "median time.  Targets: a backward at most twice its apply; the 50×50 heat apply "
           "at most 3 ms.  Solves: seconds per solve of %d columns (of an apply's S = %d), "
           "ours and CHOLMOD's on the same factor; GFLOP/s: 4·nnz(L) per column.\n", COLS,
           HEAT_STEPS);
    static const char *const kernel_columns[] = {
        "kernel", "apply ms", "GFLOP/s", "of dgemm", "backward x ms", "/apply",
        "x and param ms", "/apply", "peak MB"};
    static const char *const solve_columns[] = {
        "graph", "ours s", "GFLOP/s", "CHOLMOD simplicial s", "GFLOP/s",
        "CHOLMOD supernodal s", "GFLOP/s", "ours / CHOLMOD's faster", "max rel. difference",
        "nnz(L)"};
    for (size_t ti = 0; ti < n_threads; ti++) {
        bench_machine m;
        row rows[KINDS];
        int ran[KINDS];
        if (bench_measure_machine((int)threads[ti], &m) != 0)
            return 1;
        printf("\n%zu thread%s: dgemm %.1f GFLOP/s, streaming read %.1f GB/s.\n\n", threads[ti],
               threads[ti] > 1 ? "s" : "", m.dgemm_gflops, m.read_gbs);
        bench_table_header(kernel_columns, 9);
        for (int k = DENSE; k < KINDS; k++)
            failed |= !(ran[k] = kernel_row(k, threads[ti], rounds[0], &m, &rows[k]) == 0);
        printf("\n");
        bench_table_header(solve_columns, 10);
        for (int k = HEAT_2D; k < KINDS; k++)
            if (!ran[k]) /* said in the table above */
                bench_cell_text("%s", titles[k]), bench_cell_text("failed"), bench_row_end();
            else
                failed |= solves_row(k, &rows[k]) != 0;
    }
    printf("\nTimes: medians inside each process, ranges over %zu round%s; the solves must "
           "agree to %g.\n", rounds[0], rounds[0] > 1 ? "s" : "", agreement);
    return failed;
}
