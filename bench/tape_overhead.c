/*
 * What the tape costs: recording and sweeping small ops (a chain of 100000
 * scalings of a 1×1 value); a memory-heavy evaluation (24 steps of v ←
 * exp(v/4) on 2^20 entries, forward and backward) on a fresh tape each time
 * against a tape whose arena is reused, set beside 16 bytes per entry (an
 * op's read and write) at the machine's streaming read rate; and a
 * 1500×1500 matmul through the tape against the machine's dgemm rate.
 *
 * Protocol (bench/protocol.h): per thread count, --rounds fresh processes
 * with the threads set before the libraries start, each timing the median
 * of its calls after an untimed one; medians and ranges are over the
 * rounds.  The machine's peaks come from a fresh process per thread count.
 *
 *   tape_overhead [--threads 1,2] [--rounds 3]
 */
#include "protocol.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-op overhead: a chain of ops on 1×1 values ------------------------- */

enum { CHAIN = 100000 };

typedef struct chain_run {
    otad_tape *tape;
    double x, g;
    int backward;
} chain_run;

static void run_chain(void *arg)
{
    chain_run *r = arg;
    otad_tape_reset(r->tape);
    otad_var v = otad_param(r->tape, 1, 1, &r->x, &r->g);
    for (int i = 0; i < CHAIN; i++)
        v = otad_scale(r->tape, v, 1.0000001);
    if (r->backward)
        otad_backward(r->tape, v);
}

/* ---- a memory-heavy evaluation: elementwise ops on 1M-entry values ---------- */

enum { ROWS = 1 << 20, STEPS = 24 };

typedef struct heavy_run {
    otad_tape *tape; /* reused, or NULL: a fresh tape per evaluation */
    double *x, *g;
} heavy_run;

/* v ← exp(v/4) from 0 stays finite (it tends to the fixed point near 1.43);
 * exp(v/2) would overflow at the ninth step, failing the tape there. */
static void evaluate_heavy(otad_tape *t, heavy_run *r)
{
    otad_var v = otad_param(t, ROWS, 1, r->x, r->g);
    for (int i = 0; i < STEPS; i++)
        v = otad_exp(t, otad_scale(t, v, 0.25));
    otad_backward(t, otad_sum(t, v));
}

static void run_heavy(void *arg)
{
    heavy_run *r = arg;
    if (r->tape) {
        otad_tape_reset(r->tape);
        evaluate_heavy(r->tape, r);
        return;
    }
    otad_tape *fresh;
    otad_tape_new(&fresh, NULL);
    evaluate_heavy(fresh, r);
    otad_tape_free(&fresh);
}

/* ---- matmul through the tape ----------------------------------------------- */

typedef struct matmul_run {
    otad_tape *tape;
    int n;
    double *a, *b;
} matmul_run;

static void run_matmul(void *arg)
{
    matmul_run *r = arg;
    otad_tape_reset(r->tape);
    otad_var a = otad_const(r->tape, r->n, r->n, r->a), b = otad_const(r->tape, r->n, r->n, r->b);
    otad_matmul(r->tape, a, 0, b, 0);
}

static int worker(void)
{
    chain_run chain = {NULL, 0.5, 0, 0};
    otad_tape_new(&chain.tape, NULL);
    double record = bench_time_calls(run_chain, &chain, 5);
    chain.backward = 1;
    double both = bench_time_calls(run_chain, &chain, 5);
    otad_tape_stats chain_stats, heavy_stats;
    otad_tape_stats_get(chain.tape, &chain_stats);
    int ok = otad_tape_status(chain.tape) == OTAD_OK;
    otad_tape_free(&chain.tape);

    heavy_run heavy = {NULL, calloc(ROWS, sizeof(double)), calloc(ROWS, sizeof(double))};
    double fresh = bench_time_calls(run_heavy, &heavy, 3);
    otad_tape_new(&heavy.tape, NULL);
    double reused = bench_time_calls(run_heavy, &heavy, 5);
    otad_tape_stats_get(heavy.tape, &heavy_stats);
    ok = ok && otad_tape_status(heavy.tape) == OTAD_OK;
    otad_tape_free(&heavy.tape);
    free(heavy.x), free(heavy.g);

    matmul_run mm = {NULL, 1500, NULL, NULL};
    mm.a = calloc((size_t)mm.n * mm.n, sizeof(double));
    mm.b = calloc((size_t)mm.n * mm.n, sizeof(double));
    otad_tape_new(&mm.tape, NULL);
    double matmul = bench_time_calls(run_matmul, &mm, 3), n = mm.n;
    ok = ok && otad_tape_status(mm.tape) == OTAD_OK;
    otad_tape_free(&mm.tape);
    free(mm.a), free(mm.b);
    if (!ok)
        return fprintf(stderr, "tape_overhead: an evaluation failed\n"), 1;
    /* per entry, op and direction: 2·STEPS ops, forward and backward */
    printf("RESULT {\"reused_s\": %.6g, \"fresh_s\": %.6g, \"entry_ns\": %.4g, \"record_ns\": "
           "%.4g, \"backward_ns\": %.4g, \"node_bytes\": %zu, \"in_use_mb\": %.1f, "
           "\"reserved_mb\": %.1f, \"matmul_gflops\": %.4g}\n", reused, fresh,
           1e9 * reused / (2.0 * 2 * STEPS * ROWS), 1e9 * record / CHAIN,
           1e9 * (both - record) / CHAIN, chain_stats.bytes_in_use / chain_stats.nodes,
           heavy_stats.bytes_in_use / 1048576.0, heavy_stats.bytes_reserved / 1048576.0,
           2 * n * n * n / matmul * 1e-9);
    return 0;
}

/* ---- driver ------------------------------------------------------------------ */

enum { REUSED, FRESH, ENTRY, RECORD, BACKWARD, NODE, IN_USE, RESERVED, MATMUL, KEYS };
static const char *const keys[KEYS] = {"reused_s", "fresh_s", "entry_ns", "record_ns",
                                       "backward_ns", "node_bytes", "in_use_mb", "reserved_mb",
                                       "matmul_gflops"};

/* A row: a figure's median over the rounds and its range (times scale), and
 * a remark (printf-formatted with x). */
static void row(const char *what, const char *format, double scale, double *rounds, int count,
                const char *remark, double x)
{
    double median = bench_median(rounds, (size_t)count); /* sorts the rounds */
    bench_cell_text("%s", what), bench_cell(format, scale * median);
    bench_cell_range(format, scale * rounds[0], scale * rounds[count - 1]);
    bench_cell_text(remark, x);
    bench_row_end();
}

/* The figures of `rounds` workers with `threads` threads, as a table. */
static int measure(size_t threads, size_t rounds)
{
    bench_machine m;
    bench_runs r;
    double v[KEYS][BENCH_MAX_ROUNDS];
    char label[32];
    char *const argv[] = {(char *)bench_self(), "--worker", NULL};
    bench_side side = {argv, "reused_s", 0};
    snprintf(label, sizeof label, "%zu thread(s)", threads);
    if (bench_measure_machine((int)threads, &m) != 0)
        return fprintf(stderr, "tape_overhead: the machine's peaks were not measured\n"), -1;
    if (bench_repeat_numbers(&side, (int)threads, (int)rounds, label, keys, KEYS, v, &r) != 0)
        return fprintf(stderr, "tape_overhead: %s\n", r.result), -1;
    printf("\n%zu thread%s: dgemm %.1f GFLOP/s, streaming read %.1f GB/s.\n\n", threads,
           threads > 1 ? "s" : "", m.dgemm_gflops, m.read_gbs);
    static const char *const columns[] = {"measure", "median", "range", "beside"};
    bench_table_header(columns, 4);
    int c = r.count;
    double fresh = bench_median(v[FRESH], (size_t)c), reused = bench_median(v[REUSED], (size_t)c);
    double reserved = bench_median(v[RESERVED], (size_t)c);
    double matmul = bench_median(v[MATMUL], (size_t)c);
    row("chain of 100000 scalings of 1×1: record, ns per op", "%.1f", 1, v[RECORD], c, "", 0);
    row("the same: backward, ns per op", "%.1f", 1, v[BACKWARD], c, "", 0);
    row("the same: tape bytes per node", "%.0f", 1, v[NODE], c, "", 0);
    row("48 ops on 2^20 entries, forward + backward: fresh tape, ms", "%.1f", 1e3, v[FRESH], c,
        "", 0);
    row("the same, the tape's arena reused, ms", "%.1f", 1e3, v[REUSED], c,
        "%.1f× faster than fresh", fresh / reused);
    row("the same, arena reused: ns per entry, op and direction", "%.2f", 1, v[ENTRY], c,
        "16 bytes at the streaming read rate: %.2f ns", 16 / m.read_gbs);
    row("the same: tape MB in use", "%.1f", 1, v[IN_USE], c, "%.1f MB reserved", reserved);
    row("matmul 1500×1500 on the tape, GFLOP/s", "%.1f", 1, v[MATMUL], c, "%.0f%% of dgemm",
        100 * matmul / m.dgemm_gflops);
    printf("\nPeak RSS of a worker: %.0f MB.\n", r.peak_mb);
    return 0;
}

int main(int argc, char **argv)
{
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 2 && strcmp(argv[1], "--worker") == 0)
        return worker();
    size_t threads[4] = {1, 2}, n_threads = 2, rounds[1] = {3};
    if (bench_parse_threads_rounds(argc, argv, threads, &n_threads, rounds) != 0)
        return 2;
    printf("## What the tape costs\n\n");
    bench_print_machine_line();
    for (size_t ti = 0; ti < n_threads; ti++)
        if (measure(threads[ti], rounds[0]) != 0)
            return 1;
    printf("\nMedians inside each process; median and range over %zu round%s.\n", rounds[0],
           rounds[0] > 1 ? "s" : "");
    return 0;
}
