/*
 * The heat kernel's triangular sweeps against CHOLMOD's solves on the same
 * matrix: M = I − ε/(4S)·L_w, unit weights, on the 50×50 and 32×32×32 grid
 * graphs (ε = 0.04, S = 20), built and factorised as otad_kernel_heat does
 * it.  One apply's S solves of the same 16 columns, each solution the next
 * right-hand side, by
 *   - ours: the library's sweeps (ops/cholesky.c) inside the kernel's one
 *     permutation in and out;
 *   - CHOLMOD simplicial: cholmod_solve2 (CHOLMOD_A) on our very factor;
 *   - CHOLMOD supernodal: cholmod_solve2 on CHOLMOD's supernodal factor of
 *     M in the same order, whose solves run by blocks through BLAS.
 * CHOLMOD permutes in every solve, workspaces reused.  All three must agree
 * to 1e-10 relative, entry by entry, and ours must be the kernel's apply;
 * else the program exits 1.  GFLOP/s: 4·nnz(L) per column and solve.
 *
 * Protocol (bench/protocol.h): each row is --rounds fresh processes with the
 * threads set before the libraries start, each timing the median of about a
 * second of calls (3 to 20) after an untimed one; ranges over the rounds.
 *
 *   sweeps [--threads 1,2] [--rounds 3]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/graph.h" /* the heat kernel's factor and sweeps (internal to the library) */

enum { COLS = 16, HEAT_STEPS = 20, GRAPHS = 2 };
static const char *const titles[GRAPHS] = {"50×50", "32×32×32"};
static const double heat_eps = 0.04, agreement = 1e-10;

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

/* The kernel's own apply of rhs (unit weights), to check ours against. */
static const double *kernel_apply(otad_tape *t, otad_graph *g, size_t n,
                                  const double *rhs)
{
    otad_var w = otad_const_fill(t, otad_graph_edges(g), 1, 1.0);
    otad_kernel k = otad_kernel_heat(t, g, w, heat_eps, HEAT_STEPS);
    otad_var kx = otad_kernel_apply(t, k, 0, otad_const(t, n, COLS, rhs));
    return otad_tape_status(t) == OTAD_OK ? otad_value_of(t, kx).data : NULL;
}

static int worker(int which)
{
    otad_tape *t = NULL;
    otad_graph *g = NULL;
    if (otad_tape_new(&t, NULL) != OTAD_OK ||
        (which ? otad_graph_grid3d(&g, 32, 32, 32, NULL) : otad_graph_grid2d(&g, 50, 50, NULL))
            != OTAD_OK)
        return 1;
    solves s = {.n = otad_graph_vertices(g)};
    double *rhs = malloc(s.n * COLS * sizeof *rhs), *values = calloc(g->chol.nnz, sizeof *values);
    /* aligned as the heat kernel's workspace is (see otadC_solve) */
    s.xi = aligned_alloc(64, 2 * s.n * COLS * sizeof *s.xi), s.ours = s.xi + s.n * COLS;
    s.rhs = rhs;
    cholmod_start(&s.cm);
    s.b = cholmod_allocate_dense(s.n, COLS, s.n, CHOLMOD_REAL, &s.cm);
    if (!rhs || !values || !s.xi || !s.b)
        return 1;
    otad_rng rng = {2};
    otad_rng_fill(&rng, rhs, s.n * COLS, 0, 1);
    memcpy(s.b->x, rhs, s.n * COLS * sizeof *rhs);
    const double *kernel = kernel_apply(t, g, s.n, rhs);
    if (!kernel || factor_heat(t, g, values, &s.factor) != OTAD_OK)
        return fprintf(stderr, "sweeps: %s\n", otad_tape_message(t)), 1;
    double ours = bench_time_second(ours_apply, &s) / HEAT_STEPS;
    s.solving = s.factor.f;
    double simplicial = bench_time_second(cholmod_apply, &s) / HEAT_STEPS;
    double worst = max_relative_difference(s.ours, s.result ? s.result->x : NULL, s.n);
    if (!(s.solving = s.supernodal = supernodal_factor(g, values, &s.factor, &s.cm)))
        return fprintf(stderr, "sweeps: CHOLMOD's supernodal factorisation failed\n"), 1;
    double supernodal = bench_time_second(cholmod_apply, &s) / HEAT_STEPS;
    worst = fmax(worst, max_relative_difference(s.ours, s.result ? s.result->x : NULL, s.n));
    if (max_relative_difference(s.ours, kernel, s.n) > agreement)
        return fprintf(stderr, "sweeps: ours are not the kernel's apply\n"), 1;
    printf("RESULT {\"ours\": %.6g, \"simplicial\": %.6g, \"supernodal\": %.6g, "
           "\"max_rel_diff\": %.3g, \"nnz\": %d}\n", ours, simplicial, supernodal, worst,
           ((const int *)s.factor.f->p)[s.n]);
    return 0; /* the process ends: its memory goes with it */
}

/* ---- driver ------------------------------------------------------------------ */

/* v[key][round], sorted by bench_median: v[k][0] the least, v[k][count − 1]
 * the greatest. */
enum { OURS, SIMPLICIAL, SUPERNODAL, DIFFERENCE, NNZ, KEYS };
static const char *const keys[KEYS] = {"ours", "simplicial", "supernodal", "max_rel_diff",
                                       "nnz"};

/* One graph's row; -1 when it failed or the solves disagree. */
static int row(int which, size_t threads, size_t rounds)
{
    char label[64], arg[4];
    double v[KEYS][BENCH_MAX_ROUNDS];
    bench_runs r;
    snprintf(label, sizeof label, "sweeps %s, %zu thread(s)", titles[which], threads);
    snprintf(arg, sizeof arg, "%d", which);
    char *const argv[] = {(char *)bench_self(), "--worker", arg, NULL};
    bench_side side = {argv, "ours", 0};
    bench_cell_text("%s", titles[which]), bench_cell_text("%zu", threads);
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, v, &r) != 0) {
        bench_cell_text("failed: %s", r.result);
        bench_row_end();
        return -1;
    }
    size_t n = (size_t)r.count, last = n - 1;
    double gflop = 4 * v[NNZ][0] * COLS * 1e-9, median[SUPERNODAL + 1];
    for (int k = OURS; k <= SUPERNODAL; k++) {
        median[k] = bench_median(v[k], n);
        bench_cell_range("%.3g", 1e3 * v[k][0], 1e3 * v[k][last]);
        bench_cell("%.1f", gflop / median[k]);
    }
    bench_cell("%.2f", median[OURS] / fmin(median[SIMPLICIAL], median[SUPERNODAL]));
    bench_median(v[DIFFERENCE], n);
    double worst_max = v[DIFFERENCE][last];
    bench_cell_text(worst_max <= agreement ? "%.1e" : "%.1e, above %g", worst_max, agreement);
    bench_cell("%.0f", v[NNZ][0]);
    bench_row_end();
    return worst_max <= agreement ? 0 : -1;
}

int main(int argc, char **argv)
{
    int status, failed = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(atoi(argv[2]) != 0);
    size_t threads[4] = {1, 2}, n_threads = 2, rounds[1] = {3};
    if (bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0)
        return 2;
    printf("## The heat kernel's solves: our sweeps against CHOLMOD's\n\n");
    bench_print_machine_line();
    printf("Milliseconds per solve of %d columns (of an apply's S = %d), the same matrix and "
           "order; GFLOP/s: 4·nnz(L) per column.\n\n", COLS, HEAT_STEPS);
    static const char *const columns[] = {
        "grid", "threads", "ours ms", "GFLOP/s", "CHOLMOD simplicial ms", "GFLOP/s",
        "CHOLMOD supernodal ms", "GFLOP/s", "ours / CHOLMOD's faster", "max rel. difference",
        "nnz(L)"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    for (size_t ti = 0; ti < n_threads; ti++)
        for (int which = 0; which < GRAPHS; which++)
            failed |= row(which, threads[ti], rounds[0]) != 0;
    printf("\nRanges over %zu round%s; CHOLMOD's simplicial solves run on one thread.\n",
           rounds[0], rounds[0] > 1 ? "s" : "");
    return failed;
}
