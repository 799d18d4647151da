/*
 * Exact OT against Sinkhorn on random graphs, the speed claim of Cuturi (2013,
 * "Sinkhorn distances: lightspeed computation of optimal transport"), for otad and POT.
 *
 * The problem of size n, drawn by one otad_rng of state n, in this order:
 *   - a random recursive tree: vertex v = 1, ..., n−1 joined to ⌊u·v⌋;
 *   - then edges {⌊u·n⌋, ⌊u'·n⌋}, a loop or a pair already joined drawn again,
 *     until there are min(3n, n(n−1)/2) edges; each edge's length 0.1 + 0.9u
 *     is drawn right after its ends;
 *   - a_i = −log(1 − u_i) over their sum, then b the same way (flat Dirichlet).
 * C = otad_shortest_paths (n×n); ε = median(C)/λ, λ = 50 (Cuturi's K = exp(−λC/
 * median C)), the median being entry ⌊N/2⌋ (from 0) of the N = n(n−1)/2 entries
 * above the diagonal in increasing order.
 *
 * Timed on C, a and b in memory (the driver writes them as .npy files):
 *   exact:    otad_emd against ot.emd2, whose costs must agree to 1e-9;
 *   Sinkhorn: otad_kernel_gibbs of C, otad_sinkhorn_solve (IMPLICIT) until
 *             max ‖u⊙Kv − a‖₁ ≤ tol (1e-2, 1e-4), checked every 5 updates, then
 *             ⟨P, C⟩, its error |W_ε − W|/W; against ot.sinkhorn2, which stops on
 *             the 2-norm of its column marginal's error, checked every 10 iterations.
 * Protocol (bench/protocol.h): each solver at each size is one comparison, ours
 * and POT (bench/emd_vs_sinkhorn.py) in fresh one-thread processes timing the
 * median of 5 calls (3 above n = 256, 1 above n = 1024) after one warm-up,
 * interleaved in --rounds rounds, POT in every configuration (allocators,
 * OpenBLAS's kernels), the fastest compared.  Exit status 1 when a run
 * fails or the exact costs differ.
 *
 *   emd_vs_sinkhorn [--sizes 64,128,256,512,1024,2048,4096] [--rounds 3] [--no-reference]
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The workload's parameters: ε = median(C)/λ; Sinkhorn's stopping tolerances,
 * checked every CHECK_EVERY updates (at most MAX_ITERATIONS). */
enum { TOLERANCES = 2, CHECK_EVERY = 5, MAX_ITERATIONS = 1000000, MAX_SIZES = 16 };
static const double lambda = 50, tolerances[TOLERANCES] = {1e-2, 1e-4};
static const double exact_agreement = 1e-9;

/* An error stops the process: a worker's last line tells the driver why. */
static void fail(const char *message)
{
    fprintf(stderr, "emd_vs_sinkhorn: %s\n", message);
    exit(1);
}

/* The files of C, a and b, which the driver writes in a directory for the
 * workers; in_dir gives dir/name, valid until the next call. */
static const char *const files[3] = {"C.npy", "a.npy", "b.npy"};
static const char *in_dir(const char *dir, const char *name)
{
    static char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* ---- the problem ------------------------------------------------------------ */

/* ⌊u·k⌋ for u in [0, 1), kept below k when the product rounds up. */
static size_t draw_below(otad_rng *rng, size_t k)
{
    size_t i = (size_t)(otad_rng_uniform(rng) * (double)k);
    return i < k ? i : k - 1;
}

static void flat_dirichlet(otad_rng *rng, size_t n, double *h)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i] = -log1p(-otad_rng_uniform(rng));
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
}

/* Writes the problem of size n as C.npy, a.npy and b.npy in dir; median(C). */
static double write_problem(size_t n, const char *dir)
{
    size_t pairs = n * (n - 1) / 2, edges = 3 * n < pairs ? 3 * n : pairs, k = 0;
    size_t *ends = malloc(2 * edges * sizeof *ends);
    double *lengths = malloc(edges * sizeof *lengths), *cost = malloc(n * n * sizeof *cost);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    double *upper = malloc(pairs * sizeof *upper);
    unsigned char *joined = calloc(n * n, 1);
    if (!ends || !lengths || !cost || !a || !b || !upper || !joined)
        fail("out of memory");
    otad_rng rng = {n};
    for (size_t e = 0; e < edges;) { /* the tree's n − 1 edges first */
        size_t i = draw_below(&rng, e < n - 1 ? e + 1 : n);
        size_t j = e < n - 1 ? e + 1 : draw_below(&rng, n);
        if (i == j || joined[i * n + j])
            continue;
        joined[i * n + j] = joined[j * n + i] = 1;
        ends[2 * e] = i, ends[2 * e + 1] = j;
        lengths[e++] = 0.1 + 0.9 * otad_rng_uniform(&rng);
    }
    flat_dirichlet(&rng, n, a);
    flat_dirichlet(&rng, n, b);
    otad_error err = {""};
    if (otad_shortest_paths(n, edges, ends, lengths, cost, &err) != OTAD_OK)
        fail(err.message);
    otad_value arrays[] = {{cost, n, n}, {a, n, 1}, {b, n, 1}};
    for (int f = 0; f < 3; f++)
        if (otad_npy_write_matrix(in_dir(dir, files[f]), arrays[f], &err) != OTAD_OK)
            fail(err.message);
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++)
            upper[k++] = cost[i + j * n];
    bench_median(upper, pairs); /* which sorts it: the entry is taken, not a mean of two */
    double median = upper[pairs / 2];
    free(ends), free(lengths), free(cost), free(a), free(b), free(joined), free(upper);
    return median;
}

/* ---- worker: one solver on the problem in a directory ------------------------- */

typedef struct solve {
    otad_value cost, a, b;
    double eps, tolerance, value, iterations;
    otad_tape *tape;
} solve;

/* One call of the solver as a user makes it on C, a and b: the exact one
 * when s has no tape. */
static void solve_once(void *arg)
{
    solve *s = arg;
    otad_tape *t = s->tape;
    size_t n = s->cost.rows;
    if (!t) {
        otad_emd_result res;
        otad_error err = {""};
        if (otad_emd(n, n, s->a.data, s->b.data, s->cost.data, NULL, &res, &err) != OTAD_OK)
            fail(err.message);
        s->value = res.cost;
        otad_emd_result_free(&res);
        return;
    }
    otad_tape_reset(t);
    otad_kernel k = otad_kernel_gibbs(t, otad_const(t, n, n, s->cost.data), s->eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = MAX_ITERATIONS, o.tolerance = s->tolerance;
    o.check_every = CHECK_EVERY, o.mode = OTAD_IMPLICIT;
    otad_sinkhorn sk;
    if (otad_sinkhorn_solve(t, k, otad_const(t, n, 1, s->a.data),
                            otad_const(t, n, 1, s->b.data), &o, &sk) != OTAD_OK)
        fail(otad_tape_message(t));
    otad_var w = otad_sinkhorn_cost(t, &sk);
    if (otad_tape_status(t) != OTAD_OK)
        fail(otad_tape_message(t));
    s->value = otad_scalar(t, w), s->iterations = sk.iterations;
}

/* --worker CONFIG: the JSON object POT's worker reads too. */
static int worker(const char *config)
{
    char dir[PATH_MAX], solver[16];
    bench_json_string(config, "dir", dir, sizeof dir);
    bench_json_string(config, "solver", solver, sizeof solver);
    solve s = {.eps = bench_json_number(config, "eps"),
               .tolerance = bench_json_number(config, "tolerance")};
    otad_value *arrays[] = {&s.cost, &s.a, &s.b};
    otad_error err = {""};
    for (int f = 0; f < 3; f++)
        if (otad_npy_read_matrix(in_dir(dir, files[f]), arrays[f], &err) != OTAD_OK)
            fail(err.message);
    if (strcmp(solver, "exact") != 0 && otad_tape_new(&s.tape, NULL) != OTAD_OK)
        fail("cannot create a tape");
    double seconds = bench_time_calls(solve_once, &s, (int)bench_json_number(config, "repeats"));
    printf("RESULT {\"seconds\": %.6g, \"cost\": %.17g, \"iterations\": %.0f}\n", seconds,
           s.value, s.iterations);
    otad_tape_free(&s.tape);
    free(s.cost.data), free(s.a.data), free(s.b.data);
    return 0;
}

/* ---- driver ----------------------------------------------------------------------- */

typedef struct options {
    size_t sizes[MAX_SIZES], n_sizes, rounds;
    int reference;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{64, 128, 256, 512, 1024, 2048, 4096}, 7, 3, 1};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_sizes = bench_parse_list(argv[++i], o->sizes, MAX_SIZES, 46340);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
    }
    for (size_t i = 0; i < o->n_sizes; i++)
        o->n_sizes *= o->sizes[i] >= 2; /* n = 1 has no distances to take a median of */
    return o->n_sizes && o->rounds >= 3 ? 0 : -1;
}

/* [size][0]: the exact solver; [size][1 + k]: Sinkhorn at tolerance k. */
static bench_comparison results[MAX_SIZES][1 + TOLERANCES];

/* The solvers' names: "exact", "Sinkhorn 1e-02", ... (set by main). */
static char names[1 + TOLERANCES][24] = {"exact"};

/* The number at key in a side's last RESULT; NaN when it did not run. */
static double number(const bench_runs *r, const char *key)
{
    return r && r->count ? bench_json_number(r->result, key) : NAN;
}

/* Comparison [i][k] and its row; 1 when a side failed or the exact costs differ. */
static int compare(const options *o, const char *script, const char *dir, size_t i, size_t k,
                   double eps)
{
    size_t n = o->sizes[i];
    char config[PATH_MAX + 256], label[64];
    snprintf(config, sizeof config, "{\"dir\": \"%s\", \"solver\": \"%s\", \"eps\": %.17g, "
             "\"tolerance\": %.17g, \"max_iterations\": %d, \"repeats\": %d}", dir,
             k ? "sinkhorn" : "exact", eps, k ? tolerances[k - 1] : 0, MAX_ITERATIONS,
             n <= 256 ? 5 : n <= 1024 ? 3 : 1);
    snprintf(label, sizeof label, "n = %zu, %s", n, names[k]);
    char *const ours_argv[] = {(char *)bench_self(), "--worker", config, NULL};
    char *const ref_argv[] = {"/usr/bin/python3", (char *)script, "--worker", config, NULL};
    bench_side ours = {ours_argv, "seconds", 0}, reference = {ref_argv, "runs_s", 1};
    bench_comparison *c = &results[i][k];
    if (bench_compare(&ours, script ? &reference : NULL, 1, (int)o->rounds, label, c) != 0) {
        printf("| %zu | %s failed: %s |\n", n, names[k], c->ours.result);
        return 1;
    }
    const bench_runs *exact = &results[i][0].ours;
    const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
    double w = number(exact, "cost"), ours_error = fabs(number(&c->ours, "cost") - w) / w;
    double ref_error = fabs(number(ref, "cost") - w) / w;
    bench_cell_text("%zu", n), bench_cell_text("%s", names[k]);
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c);
    bench_cell("%.0f", k ? number(&c->ours, "iterations") : NAN);
    bench_cell("%.0f", k ? number(ref, "iterations") : NAN);
    bench_cell("%.1e", k ? ours_error : NAN), bench_cell("%.1e", ref_error);
    bench_cell("%.1f", k ? bench_runs_median(exact) / bench_runs_median(&c->ours) : NAN);
    bench_cell("%.0f", c->ours.peak_mb), bench_cell("%.0f", ref ? ref->peak_mb : NAN);
    bench_cell_range("%.2f", c->load_lo, c->load_hi);
    bench_row_end();
    int disagree = k == 0 && ref && !(ref_error <= exact_agreement);
    if (disagree)
        printf("| %zu | the exact costs DISAGREE beyond %.0e |\n", n, exact_agreement);
    return disagree || (script && !ref);
}

int main(int argc, char **argv)
{
    int status;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 64,128,256,512,1024,2048,4096] [--rounds 3] "
                "[--no-reference]\n", argv[0]);
        return 2;
    }
    /* the reference is in this repository, beside this program's source */
    char script[PATH_MAX], bench_dir[PATH_MAX], dir[] = "/tmp/otad_emd_vs_sinkhorn_XXXXXX";
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    int have_reference = o.reference && bench_find_reference(bench_dir, "emd_vs_sinkhorn.py",
                                                             "ot, numpy", script,
                                                             sizeof script, &why) == 0;
    if (!mkdtemp(dir))
        fail("cannot create a temporary directory");
    for (size_t k = 1; k <= TOLERANCES; k++)
        snprintf(names[k], sizeof names[k], "Sinkhorn %.0e", tolerances[k - 1]);
    printf("## Exact OT against Sinkhorn on random graphs\n\n");
    bench_print_machine_line();
    printf("Shortest-path costs on n vertices and min(3n, n(n−1)/2) edges, flat Dirichlet "
           "histograms, ε = median(C)/%g, one thread; reference: %s.\n\n", lambda,
           have_reference ? "POT (ot.emd2, ot.sinkhorn2)" : why);
    static const char *const columns[] = {
        "n", "solver", "ours s", "POT s", "ratio", "iterations", "POT iterations", "error",
        "POT error", "our exact s / this s", "peak MB", "POT MB", "load"};
    bench_table_header(columns, sizeof columns / sizeof *columns);
    int failed = 0;
    for (size_t i = 0; i < o.n_sizes; i++) {
        double eps = write_problem(o.sizes[i], dir) / lambda;
        for (size_t k = 0; k <= TOLERANCES; k++)
            failed |= compare(&o, have_reference ? script : NULL, dir, i, k, eps);
    }
    for (int f = 0; f < 3; f++)
        unlink(in_dir(dir, files[f]));
    rmdir(dir);
    printf("\nSeconds per call (the median in each process, after a warm-up), ranges over %zu "
           "rounds; ratio: POT's time over ours in the same round.  error: |W_ε − W| / W for "
           "Sinkhorn's ⟨P, C⟩, |W_POT − W| / W for POT's exact cost, W our exact cost.  The "
           "two Sinkhorns stop on different tests, hence different iterations.\n", o.rounds);
    if (have_reference) {
        printf("\nPOT in each configuration (the fastest is compared):\n\n");
        for (size_t i = 0; i < o.n_sizes; i++)
            for (size_t k = 0; k <= TOLERANCES; k++) {
                char what[96];
                snprintf(what, sizeof what, "n = %zu, %s", o.sizes[i], names[k]);
                bench_print_comparison_note(what, &results[i][k]);
            }
    }
    return failed;
}
