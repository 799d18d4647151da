/*
 * The Sinkhorn loss W_L between n random points and m = n others in
 * [0,1]², ε = 0.05, L = 100, value and gradients to the weights a and the
 * points x, with B = 1 or 16 target histograms (the same LCG inputs and
 * iterations as the PyTorch reference bench/sinkhorn_loss.py).  The kernel
 * is the Gibbs kernel of the two point sets (C from differences, as the
 * reference computes it), which keeps K only.
 *
 * Protocol (bench/protocol.h): each configuration is a fresh process timing
 * the median of 5 evaluations (3 at n ≥ 4000) after one warm-up, ours and
 * PyTorch's value + gradient (median of 3, one at n ≥ 4000, after one
 * warm-up) interleaved in --rounds rounds, PyTorch in each configuration
 * (allocators, OpenBLAS's kernels), the fastest compared.  "bound" is K
 * streamed once per iteration (an update's two products can share one pass
 * over it) at the machine's read bandwidth, or the products at its dgemm
 * rate when they take longer.
 *
 *   sinkhorn_loss [--sizes 500,2000,4000] [--batches 1,16] [--threads 1,2] [--rounds 3]
 *      [--no-reference]
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { L = 100 };
static const double eps = 0.05;

/* ---- worker --------------------------------------------------------------- */

typedef struct problem {
    size_t n, batch;
    double *y, *b;
} problem;

/* θ = (x, a): Σ_k W_L(a, b_k). */
static otad_var loss_build(otad_tape *t, otad_var theta, void *instance)
{
    const problem *p = instance;
    size_t n = p->n;
    otad_var x = otad_reshape(t, otad_slice(t, theta, 0, 2 * n, 0, 1), n, 2);
    otad_var a = otad_slice(t, theta, 2 * n, n, 0, 1);
    otad_kernel k = otad_kernel_gibbs_points(t, x, otad_const(t, n, 2, p->y), eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = L;
    return otad_sum(t, otad_sinkhorn_loss(t, k, a, otad_const(t, n, p->batch, p->b), &o,
                                          OTAD_SINKHORN_COST));
}

static int worker(size_t n, size_t batch)
{
    problem p = {n, batch, malloc(2 * n * sizeof(double)), malloc(n * batch * sizeof(double))};
    double *theta = malloc(3 * n * sizeof *theta), *grad = malloc(3 * n * sizeof *grad);
    otad_tape *t = NULL;
    if (!p.y || !p.b || !theta || !grad || otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    bench_points(1, n, theta);
    bench_points(2, n, p.y);
    bench_histogram(3, n, theta + 2 * n);
    for (size_t k = 0; k < batch; k++)
        bench_histogram(batch == 1 ? 4 : 100 + k, n, p.b + k * n);
    bench_objective o = {loss_build, &p, 3 * n, theta, grad};
    int repeats = n < 4000 ? 5 : 3;
    double value, fwd, fwdbwd;
    int rc = bench_time_objective(t, &o, 0, 1, repeats, &value, &fwd);
    if (rc == OTAD_OK)
        rc = bench_time_objective(t, &o, 1, 1, repeats, &value, &fwdbwd);
    if (rc != OTAD_OK) {
        fprintf(stderr, "sinkhorn_loss: %s\n", otad_tape_message(t));
        return 1;
    }
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"value\": %.17g, \"tape_mb\": %.1f}\n", fwd,
           fwdbwd, value, (double)s.peak_bytes / 1048576.0);
    otad_tape_free(&t);
    free(p.y), free(p.b), free(theta), free(grad);
    return 0;
}

/* ---- driver ---------------------------------------------------------------- */

typedef struct options {
    size_t sizes[8], batches[4], threads[4], n_sizes, n_batches, n_threads, rounds;
    int reference;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{500, 2000, 4000}, {1, 16}, {1, 2}, 3, 2, 2, 3, 1};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_sizes = bench_parse_list(argv[++i], o->sizes, 8, 100000);
        else if (strcmp(argv[i], "--batches") == 0 && v)
            o->n_batches = bench_parse_list(argv[++i], o->batches, 4, 256);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (!o->n_sizes || !o->n_batches || !o->n_threads || o->rounds < 3)
            return -1;
    }
    return 0;
}

/* One row: ours and, when script is set, PyTorch's value + gradient. */
static void measure(const options *o, const char *script, size_t n, size_t batch,
                    size_t threads, const bench_machine *m, bench_comparison *c)
{
    char n_arg[32], b_arg[32], config[256], label[64];
    snprintf(n_arg, sizeof n_arg, "%zu", n);
    snprintf(b_arg, sizeof b_arg, "%zu", batch);
    snprintf(config, sizeof config, "{\"n\": %zu, \"tool\": \"%s\", \"repeats\": %d, "
             "\"warmup\": 1, \"threads\": %zu}", n,
             batch == 1 ? "torch_fwdbwd" : "torch_batched_fwdbwd", n < 4000 ? 3 : 1, threads);
    snprintf(label, sizeof label, "n = %zu, B = %zu, %zu thread%s", n, batch, threads,
             threads == 1 ? "" : "s");
    char *const ours_argv[] = {(char *)bench_self(), "--worker", n_arg, b_arg, NULL};
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)script, "--worker", config, NULL};
    bench_side ours = {ours_argv, "fwdbwd", 0}, reference = {ref_argv, "median_s", 0};
    if (bench_compare(&ours, script ? &reference : NULL, (int)threads, (int)o->rounds, label,
                      c) != 0) {
        printf("| %zu | %zu | %zu | failed: %s |\n", n, batch, threads, c->ours.result);
        return;
    }
    double n2 = (double)n * (double)n, fwd = bench_json_number(c->ours.result, "fwd");
    double bound = fmax(L * n2 * 8 / (m->read_gbs * 1e9),
                        4.0 * L * n2 * (double)batch / (m->dgemm_gflops * 1e9));
    bench_cell_text("%zu", n), bench_cell_text("%zu", batch), bench_cell_text("%zu", threads);
    bench_cell("%.3g", fwd), bench_cell("%.3g", bound), bench_cell("%.2f", fwd / bound);
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c);
    bench_cell("%.0f", c->ours.peak_mb), bench_cell("%.0f", ref ? ref->peak_mb : NAN);
    bench_cell_range("%.2f", c->load_lo, c->load_hi);
    bench_row_end();
}

int main(int argc, char **argv)
{
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 4 && strcmp(argv[1], "--worker") == 0)
        return worker(strtoul(argv[2], NULL, 10), strtoul(argv[3], NULL, 10));
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 500,2000,4000] [--batches 1,16] [--threads 1,2] "
                "[--rounds 3] [--no-reference]\n", argv[0]);
        return 2;
    }
    /* the reference is in this repository, beside this program's source */
    char script[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    int have_reference = o.reference && bench_find_reference(bench_dir, "sinkhorn_loss.py",
                                                             "torch, numpy", script,
                                                             sizeof script, &why) == 0;
    printf("## Sinkhorn loss between n and n points\n\n");
    bench_print_machine_line();
    printf("ε = %g, L = %d, value and gradients to the weights and the points; reference: %s.\n",
           eps, L, have_reference ? "PyTorch autograd (sinkhorn_loss.py)" : why);
    static bench_comparison rows[8][4][4];
    for (size_t ti = 0; ti < o.n_threads; ti++) {
        bench_machine m;
        if (bench_measure_machine((int)o.threads[ti], &m) != 0)
            return 1;
        printf("\n%zu thread%s: dgemm %.1f GFLOP/s, streaming read %.1f GB/s.\n\n", o.threads[ti],
               o.threads[ti] == 1 ? "" : "s", m.dgemm_gflops, m.read_gbs);
        static const char *const columns[] = {
            "n", "B", "threads", "forward s", "bound s", "/bound", "forward+backward s",
            "PyTorch f+b s", "ratio", "peak MB", "PyTorch MB", "load"};
        bench_table_header(columns, sizeof columns / sizeof *columns);
        for (size_t si = 0; si < o.n_sizes; si++)
            for (size_t bi = 0; bi < o.n_batches; bi++)
                measure(&o, have_reference ? script : NULL, o.sizes[si], o.batches[bi],
                        o.threads[ti], &m, &rows[si][bi][ti]);
    }
    if (have_reference) {
        printf("\nThe reference in each configuration (the fastest is compared):\n\n");
        for (size_t ti = 0; ti < o.n_threads; ti++)
            for (size_t si = 0; si < o.n_sizes; si++)
                for (size_t bi = 0; bi < o.n_batches; bi++) {
                    char what[64];
                    snprintf(what, sizeof what, "n = %zu, B = %zu, %zu thread%s", o.sizes[si],
                             o.batches[bi], o.threads[ti], o.threads[ti] == 1 ? "" : "s");
                    bench_print_comparison_note(what, &rows[si][bi][ti]);
                }
    }
    printf("\nSeconds per evaluation (median inside each process), ranges over %zu rounds; "
           "ratio: PyTorch's value + gradient time over ours in the same round.\n", o.rounds);
    return 0;
}
