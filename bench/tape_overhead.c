/*
 * What the tape costs: recording and sweeping small ops, a repeated
 * evaluation with the arena reused against a fresh tape each time (fresh
 * pages cost ~11 µs each on this machine), and matmul through the tape
 * against cblas_dgemm called directly.
 */
#include "measure.h"

#include "otad.h"

/* ---- per-op overhead: a chain of ops on 1×1 values ---------------------- */

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

/* ---- a memory-heavy evaluation: elementwise ops on 1M-entry values ------- */

enum { ROWS = 1 << 20, STEPS = 24 };

typedef struct heavy_run {
    otad_tape *tape; /* reused, or NULL: a fresh tape per evaluation */
    double *x, *g;
} heavy_run;

static void evaluate_heavy(otad_tape *t, heavy_run *r)
{
    otad_var v = otad_param(t, ROWS, 1, r->x, r->g);
    for (int i = 0; i < STEPS; i++)
        v = otad_exp(t, otad_scale(t, v, 0.5));
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

/* ---- matmul through the tape ------------------------------------------- */

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

int main(void)
{
    printf("otad tape overhead (OpenBLAS threads: %d)\n", openblas_get_num_threads());
    double peak_gflops = measured_dgemm_gflops(), peak_gbs = measured_copy_gbs();
    printf("machine: dgemm %.1f GFLOP/s, memcpy %.1f GB/s (mapped memory)\n\n", peak_gflops,
           peak_gbs);

    chain_run chain = {NULL, 0.5, 0, 0};
    otad_tape_new(&chain.tape, NULL);
    run_chain(&chain);
    double record = best_time(run_chain, &chain, 5);
    chain.backward = 1;
    double both = best_time(run_chain, &chain, 5);
    otad_tape_stats stats;
    otad_tape_stats_get(chain.tape, &stats);
    printf("%-44s %8.1f ns/op record, %6.1f ns/op backward, %zu B/node\n",
           "chain of 100000 scale ops on 1x1", 1e9 * record / CHAIN, 1e9 * (both - record) / CHAIN,
           stats.bytes_in_use / stats.nodes);
    otad_tape_free(&chain.tape);

    heavy_run heavy = {NULL, calloc(ROWS, sizeof(double)), calloc(ROWS, sizeof(double))};
    double fresh = best_time(run_heavy, &heavy, 3);
    otad_tape_new(&heavy.tape, NULL);
    run_heavy(&heavy);
    double reused = best_time(run_heavy, &heavy, 5);
    otad_tape_stats_get(heavy.tape, &stats);
    /* Against memcpy: both stream entries through memory once per op. */
    double per_entry = reused / (2.0 * 2 * STEPS * ROWS), copy_entry = 16 / (peak_gbs * 1e9);
    printf("%-44s %8.1f ms fresh tape, %6.1f ms reused arena (%.1fx faster)\n",
           "48 elementwise ops on 1M entries, fwd+bwd", 1e3 * fresh, 1e3 * reused, fresh / reused);
    printf("%-44s %8.2f ns per entry per op and direction; memcpy %.2f ns per entry\n", "",
           1e9 * per_entry, 1e9 * copy_entry);
    printf("%-44s %8.1f MB in use, %.1f MB reserved\n", "", stats.bytes_in_use / 1048576.0,
           stats.bytes_reserved / 1048576.0);
    otad_tape_free(&heavy.tape);
    free(heavy.x), free(heavy.g);

    matmul_run mm = {NULL, 1500, NULL, NULL};
    mm.a = calloc((size_t)mm.n * mm.n, sizeof(double));
    mm.b = calloc((size_t)mm.n * mm.n, sizeof(double));
    otad_tape_new(&mm.tape, NULL);
    run_matmul(&mm);
    double t_mm = best_time(run_matmul, &mm, 3);
    double flops = 2.0 * mm.n * mm.n * (double)mm.n;
    printf("%-44s %8.1f GFLOP/s vs dgemm %.1f (%.0f%%)\n", "matmul 1500x1500 on the tape",
           flops / t_mm * 1e-9, peak_gflops, 100 * flops / t_mm * 1e-9 / peak_gflops);
    otad_tape_free(&mm.tape);
    free(mm.a), free(mm.b);

    printf("\npeak RSS %.0f MB\n", peak_rss_mb());
    return 0;
}
