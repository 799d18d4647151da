/*
 * Exact OT against Sinkhorn on random graphs: seed 000's "Very fast EMD
 * approx. solver" (Cuturi 2013, "Sinkhorn distances", the speed figure).
 * For each n, the ground space is a random connected graph with its
 * shortest-path metric, the histograms are uniform on the simplex, and the
 * exact cost W (otad_emd) is timed beside Sinkhorn's ⟨P, C⟩ stopped at each
 * tolerance, with POT (ot.emd2, ot.sinkhorn2) on the same arrays in the same
 * run.
 *
 * The problem of size n, drawn by one otad_rng of state n, in this order:
 *   - a random recursive tree: vertex v = 1, ..., n−1 joined to ⌊u·v⌋;
 *   - then edges {⌊u·n⌋, ⌊u'·n⌋} (two draws each), a loop or a pair already
 *     joined drawn again, until there are min(3n, n(n−1)/2) edges (average
 *     degree 6);
 *   every edge's length is 0.1 + 0.9u, drawn right after the draws that
 *   chose its ends;
 *   - a_i = −log(1 − u_i), i = 0..n−1, over their sum, then b the same way
 *     (the flat Dirichlet distribution: uniform on the simplex).
 * C = otad_shortest_paths (n×n).  ε = median(C)/λ, the median over the
 * n(n−1)/2 entries above the diagonal (Cuturi's K = exp(−λ C/median C)).
 *
 * Timed, one thread (OpenBLAS at 1), median of 5 runs at n ≤ 256, 3 up to
 * 1024, one beyond — each solver as a user calls it on C, a and b:
 *   exact:    otad_emd (checks, network simplex, plan and potentials);
 *   Sinkhorn: tape reset, otad_kernel_gibbs of C, otad_sinkhorn_solve in
 *             IMPLICIT mode (a forward solve keeping one iteration on the
 *             tape) until max ‖u⊙Kv − a‖₁ ≤ tol, checked every --check-every
 *             updates, then otad_sinkhorn_cost; the error is |W_ε − W|/W;
 *   POT:      ot.emd2(a, b, C) and ot.sinkhorn2(a, b, C, ε, stopThr=tol),
 *             whose stop is the 2-norm of the column marginal's error checked
 *             every 10 iterations (bench/emd_vs_sinkhorn.py, run with
 *             /usr/bin/python3 under jemalloc when it is installed).
 * Each size runs in a fresh process of this program, so its peak RSS is its
 * own; the peak after the exact solve (before Sinkhorn) is reported apart.
 * The problem goes to the reference as .npy files in a temporary directory.
 *
 *   emd_vs_sinkhorn [--sizes 64,128,...,4096] [--lambda 50] [--tolerances 1e-2,1e-4]
 *                   [--check-every 5] [--plot FILE] [--no-reference]
 *                   [--script FILE]
 *
 * POT also runs Sinkhorn for exactly as many iterations as ours took, since
 * its stopping test is looser.  Prints three tables (times; exact costs and
 * memory; Sinkhorn's stops on both sides), otad's and POT's exact costs'
 * largest relative difference (exit status 1 beyond 1e-9, or when a run
 * fails), and writes a log-log plot of time against n.  The defaults take
 * about 1.5 minutes on the 2-core machine, half of it n = 4096 (its shortest
 * paths alone 8 s), and 1.4 GB at most.
 */
#include "measure.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "otad.h"

enum { MAX_SIZES = 16, MAX_TOLS = 4, MAX_SINKHORN_ITERATIONS = 1000000 };
enum { AVERAGE_DEGREE = 6 };
static const double exact_agreement = 1e-9;

static int repeats_for(size_t n)
{
    return n <= 256 ? 5 : n <= 1024 ? 3 : 1;
}

/* ---- the problem -------------------------------------------------------------- */

typedef struct problem {
    size_t n, n_edges;
    size_t *ends;
    double *lengths, *cost, *a, *b;
    double median;
} problem;

static void problem_free(problem *p)
{
    free(p->ends), free(p->lengths), free(p->cost), free(p->a), free(p->b);
}

/* ⌊u·k⌋ for u in [0, 1), kept below k when the product rounds up. */
static size_t draw_below(otad_rng *rng, size_t k)
{
    size_t i = (size_t)(otad_rng_uniform(rng) * (double)k);
    return i < k ? i : k - 1;
}

static void add_edge(problem *p, otad_rng *rng, unsigned char *joined, size_t i, size_t j)
{
    size_t e = p->n_edges++;
    p->ends[2 * e] = i, p->ends[2 * e + 1] = j;
    p->lengths[e] = 0.1 + 0.9 * otad_rng_uniform(rng);
    joined[i * p->n + j] = joined[j * p->n + i] = 1;
}

/* The graph of the header: a random recursive tree, then random new edges. */
static int random_graph(problem *p, otad_rng *rng)
{
    size_t n = p->n, pairs = n * (n - 1) / 2;
    size_t target = (size_t)AVERAGE_DEGREE * n / 2 < pairs ? (size_t)AVERAGE_DEGREE * n / 2
                                                           : pairs;
    unsigned char *joined = calloc(n * n, 1);
    p->ends = malloc(2 * target * sizeof *p->ends);
    p->lengths = malloc(target * sizeof *p->lengths);
    if (!joined || !p->ends || !p->lengths) {
        free(joined);
        return -1;
    }
    p->n_edges = 0;
    for (size_t v = 1; v < n; v++) {
        size_t parent = draw_below(rng, v);
        add_edge(p, rng, joined, parent, v);
    }
    while (p->n_edges < target) {
        size_t i = draw_below(rng, n), j = draw_below(rng, n);
        if (i != j && !joined[i * n + j])
            add_edge(p, rng, joined, i, j);
    }
    free(joined);
    return 0;
}

/* −log(1 − u_i) over their sum: uniform on the simplex. */
static void flat_dirichlet(otad_rng *rng, size_t n, double *h)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i] = -log1p(-otad_rng_uniform(rng));
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
}

/* The k-th smallest of x[0..n−1] (x is reordered): Hoare's selection. */
static double select_kth(double *x, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = x[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (x[i] < pivot)
                i++;
            while (x[j] > pivot)
                j--;
            if (i <= j) {
                double s = x[i];
                x[i] = x[j], x[j] = s;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return x[k];
    }
    return x[k];
}

/* The median of the entries above the diagonal (C is symmetric). */
static int median_off_diagonal(const problem *p, double *median)
{
    size_t n = p->n, count = n * (n - 1) / 2, k = 0;
    double *x = malloc(count * sizeof *x);
    if (!x)
        return -1;
    for (size_t j = 1; j < n; j++)
        for (size_t i = 0; i < j; i++)
            x[k++] = p->cost[i + j * n];
    *median = select_kth(x, count, count / 2);
    free(x);
    return 0;
}

static int problem_init(problem *p, size_t n, otad_error *err)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    otad_rng rng = {n};
    p->cost = malloc(n * n * sizeof *p->cost);
    p->a = malloc(n * sizeof *p->a), p->b = malloc(n * sizeof *p->b);
    if (!p->cost || !p->a || !p->b || random_graph(p, &rng) != 0)
        return otad_error_set(err, OTAD_ENOMEM, "out of memory for the problem at n = %zu", n);
    flat_dirichlet(&rng, n, p->a);
    flat_dirichlet(&rng, n, p->b);
    int rc = otad_shortest_paths(n, p->n_edges, p->ends, p->lengths, p->cost, err);
    if (rc == OTAD_OK && median_off_diagonal(p, &p->median) != 0)
        rc = otad_error_set(err, OTAD_ENOMEM, "out of memory for the median at n = %zu", n);
    return rc;
}

static int write_npy(const char *dir, const char *name, double *data, size_t rows, size_t cols,
                     otad_error *err)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return otad_npy_write_matrix(path, (otad_value){data, rows, cols}, err);
}

/* C, a and b for the reference. */
static int problem_write(const problem *p, const char *dir, otad_error *err)
{
    int rc = write_npy(dir, "C.npy", p->cost, p->n, p->n, err);
    if (rc == OTAD_OK)
        rc = write_npy(dir, "a.npy", p->a, p->n, 1, err);
    if (rc == OTAD_OK)
        rc = write_npy(dir, "b.npy", p->b, p->n, 1, err);
    return rc;
}

/* ---- worker: one size ---------------------------------------------------------- */

typedef struct solve_figures {
    double seconds, cost, iterations, marginal;
} solve_figures;

static void progress(size_t n, const char *what, double seconds)
{
    if (n >= 1024) {
        fprintf(stderr, "    n = %zu: %s, %.1f s\n", n, what, seconds);
        fflush(stderr);
    }
}

/* Median seconds of `repeats` exact solves; the cost and the plan's size. */
static int time_emd(const problem *p, int repeats, solve_figures *out, otad_error *err)
{
    double times[MAX_TIMED_REPEATS];
    for (int r = 0; r < repeats; r++) {
        otad_emd_result res;
        double t0 = now_seconds();
        int rc = otad_emd(p->n, p->n, p->a, p->b, p->cost, NULL, &res, err);
        times[r] = now_seconds() - t0;
        if (rc != OTAD_OK)
            return rc;
        out->cost = res.cost;
        out->iterations = (double)res.nonzeros;
        otad_emd_result_free(&res);
    }
    out->seconds = median_of(times, repeats);
    out->marginal = 0;
    return OTAD_OK;
}

/* One Sinkhorn solve to the tolerance from C: kernel, iterations, ⟨P, C⟩. */
static int sinkhorn_once(otad_tape *t, const problem *p, double eps, double tolerance,
                         int check_every, solve_figures *out)
{
    size_t n = p->n;
    otad_tape_reset(t);
    otad_kernel k = otad_kernel_gibbs(t, otad_const(t, n, n, p->cost), eps);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = MAX_SINKHORN_ITERATIONS;
    o.tolerance = tolerance;
    o.check_every = check_every;
    o.mode = OTAD_IMPLICIT;
    otad_sinkhorn s;
    int rc = otad_sinkhorn_solve(t, k, otad_const(t, n, 1, p->a), otad_const(t, n, 1, p->b), &o,
                                 &s);
    if (rc != OTAD_OK)
        return rc;
    otad_var w = otad_sinkhorn_cost(t, &s);
    if ((rc = otad_tape_status(t)) != OTAD_OK)
        return rc;
    out->cost = otad_scalar(t, w);
    out->iterations = s.iterations;
    out->marginal = s.marginal_error;
    return OTAD_OK;
}

static int time_sinkhorn(otad_tape *t, const problem *p, double eps, double tolerance,
                         int check_every, int repeats, solve_figures *out, otad_error *err)
{
    double times[MAX_TIMED_REPEATS];
    for (int r = 0; r < repeats; r++) {
        double t0 = now_seconds();
        int rc = sinkhorn_once(t, p, eps, tolerance, check_every, out);
        times[r] = now_seconds() - t0;
        if (rc != OTAD_OK)
            return otad_error_set(err, rc, "sinkhorn at tolerance %g: %s", tolerance,
                                  otad_tape_message(t));
    }
    out->seconds = median_of(times, repeats);
    return OTAD_OK;
}

static void print_figures(const char *key, const solve_figures *f)
{
    printf(", \"%s\": {\"seconds\": %.6g, \"cost\": %.17g, \"iterations\": %.0f, "
           "\"marginal\": %.6g}", key, f->seconds, f->cost, f->iterations, f->marginal);
}

static size_t parse_doubles(const char *s, double *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        char *end;
        out[k] = strtod(s, &end);
        if (end == s || !(out[k] > 0) || (*end != ',' && *end != '\0'))
            return 0;
        s = *end == ',' ? end + 1 : end;
        k++;
    }
    return s && *s ? 0 : k;
}

/* Everything of one size after the problem: the reference's files, the exact
 * solve, Sinkhorn at each tolerance; the RESULT line. */
static int worker_solves(const problem *p, double lambda, int check_every, const double *tols,
                         size_t n_tols, const char *dir, otad_error *err)
{
    size_t n = p->n;
    int repeats = repeats_for(n), rc = OTAD_OK;
    if (strcmp(dir, "-") != 0 && (rc = problem_write(p, dir, err)) != OTAD_OK)
        return rc;
    double setup_mb = peak_rss_mb(), eps = p->median / lambda;
    solve_figures exact, sink[MAX_TOLS];
    if ((rc = time_emd(p, repeats, &exact, err)) != OTAD_OK)
        return rc;
    double emd_mb = peak_rss_mb();
    progress(n, "exact solve (otad)", exact.seconds);
    otad_tape *t;
    if ((rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        return otad_error_set(err, rc, "cannot create a tape");
    for (size_t k = 0; k < n_tols && rc == OTAD_OK; k++) {
        rc = time_sinkhorn(t, p, eps, tols[k], check_every, repeats, &sink[k], err);
        if (rc == OTAD_OK)
            progress(n, "Sinkhorn (otad)", sink[k].seconds);
    }
    otad_tape_free(&t);
    if (rc != OTAD_OK)
        return rc;
    printf("RESULT {\"edges\": %zu, \"median\": %.17g, \"eps\": %.17g, \"setup_mb\": %.1f, "
           "\"emd_mb\": %.1f", p->n_edges, p->median, eps, setup_mb, emd_mb);
    print_figures("emd", &exact);
    for (size_t k = 0; k < n_tols; k++) {
        char key[24];
        snprintf(key, sizeof key, "s%zu", k);
        print_figures(key, &sink[k]);
    }
    printf("}\n");
    return OTAD_OK;
}

/* --worker n lambda check_every tolerances dir ("-": no files). */
static int worker(char **argv)
{
    size_t n = strtoul(argv[2], NULL, 10);
    double lambda = strtod(argv[3], NULL), tols[MAX_TOLS];
    int check_every = atoi(argv[4]);
    size_t n_tols = parse_doubles(argv[5], tols, MAX_TOLS);
    otad_error err = {""};
    problem p;
    double t0 = now_seconds();
    int rc = problem_init(&p, n, &err);
    if (rc == OTAD_OK) {
        progress(n, "graph and shortest paths", now_seconds() - t0);
        rc = worker_solves(&p, lambda, check_every, tols, n_tols, argv[6], &err);
    }
    problem_free(&p);
    if (rc != OTAD_OK)
        fprintf(stderr, "emd_vs_sinkhorn: n = %zu: %s\n", n, err.message);
    return rc == OTAD_OK ? 0 : 1;
}

static int machine(void)
{
    printf("RESULT {\"stream_gbs\": %.4g}\n", measured_stream_gbs());
    return 0;
}

/* ---- the driver ------------------------------------------------------------------ */

typedef struct options {
    size_t sizes[MAX_SIZES], n_sizes;
    double lambda, tols[MAX_TOLS];
    size_t n_tols;
    int check_every, reference;
    const char *plot, *script;
} options;

typedef struct size_row {
    size_t n;
    int ok, ref_ok;
    double edges, median, eps, setup_mb, emd_mb, peak_mb, ref_peak_mb;
    solve_figures emd, sink[MAX_TOLS], ref_emd, ref_sink[MAX_TOLS];
    solve_figures ref_fixed[MAX_TOLS]; /* POT run for our iterations */
} size_row;

static solve_figures figures_of(const char *out, const char *key)
{
    return (solve_figures){json_nested(out, key, "seconds"), json_nested(out, key, "cost"),
                           json_nested(out, key, "iterations"),
                           json_nested(out, key, "marginal")};
}

static void tolerance_list(const options *o, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < o->n_tols && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%.17g", i ? "," : "", o->tols[i]);
}

/* Our solves of one size in a fresh process. */
static void run_ours(const options *o, const char *dir, size_row *r)
{
    char n_arg[32], lambda_arg[32], every_arg[16], tols[160], out[8192];
    snprintf(n_arg, sizeof n_arg, "%zu", r->n);
    snprintf(lambda_arg, sizeof lambda_arg, "%.17g", o->lambda);
    snprintf(every_arg, sizeof every_arg, "%d", o->check_every);
    tolerance_list(o, tols, sizeof tols);
    char *const argv[] = {self_path, "--worker", n_arg, lambda_arg, every_arg, tols,
                          (char *)(dir ? dir : "-"), NULL};
    if (run_fresh(argv, 1, NULL, out, sizeof out, &r->peak_mb) != 0)
        return;
    r->ok = 1;
    r->edges = json_number(out, "edges"), r->median = json_number(out, "median");
    r->eps = json_number(out, "eps"), r->setup_mb = json_number(out, "setup_mb");
    r->emd_mb = json_number(out, "emd_mb");
    r->emd = figures_of(out, "emd");
    for (size_t k = 0; k < o->n_tols; k++) {
        char key[24];
        snprintf(key, sizeof key, "s%zu", k);
        r->sink[k] = figures_of(out, key);
    }
}

/* The iterations our Sinkhorn took at each tolerance, as a JSON list. */
static void iteration_list(const options *o, const size_row *r, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < o->n_tols && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%.0f", i ? ", " : "", r->sink[i].iterations);
}

/* POT on the files our worker wrote: at each tolerance, and for as many
 * iterations as ours took there. */
static void run_reference(const options *o, const char *script, const char *dir, size_row *r)
{
    char config[PATH_MAX + 512], tols[160], its[160], out[8192];
    tolerance_list(o, tols, sizeof tols);
    iteration_list(o, r, its, sizeof its);
    snprintf(config, sizeof config, "{\"dir\": \"%s\", \"eps\": %.17g, \"tolerances\": [%s], "
             "\"iterations\": [%s], \"repeats\": %d, \"max_iterations\": %d}", dir, r->eps,
             tols, its, repeats_for(r->n), MAX_SINKHORN_ITERATIONS);
    if (run_python_worker(script, config, 1, out, sizeof out, &r->ref_peak_mb) != 0)
        return;
    r->ref_ok = 1;
    r->ref_emd = figures_of(out, "emd");
    for (size_t k = 0; k < o->n_tols; k++) {
        char key[24];
        snprintf(key, sizeof key, "s%zu", k);
        r->ref_sink[k] = figures_of(out, key);
        snprintf(key, sizeof key, "f%zu", k);
        r->ref_fixed[k] = figures_of(out, key);
    }
}

static void remove_files(const char *dir)
{
    static const char *const names[] = {"C.npy", "a.npy", "b.npy"};
    for (size_t i = 0; i < 3; i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

static void run_size(const options *o, const char *script, const char *dir, size_row *r)
{
    double t0 = now_seconds();
    fprintf(stderr, "emd_vs_sinkhorn: n = %zu: otad...\n", r->n);
    fflush(stderr);
    run_ours(o, script ? dir : NULL, r);
    if (!r->ok)
        fprintf(stderr, "emd_vs_sinkhorn: n = %zu: the worker failed\n", r->n);
    if (r->ok && script) {
        fprintf(stderr, "emd_vs_sinkhorn: n = %zu: POT...\n", r->n);
        fflush(stderr);
        run_reference(o, script, dir, r);
        if (!r->ref_ok)
            fprintf(stderr, "emd_vs_sinkhorn: n = %zu: the POT worker failed\n", r->n);
    }
    if (script)
        remove_files(dir);
    if (!r->ok)
        return;
    fprintf(stderr, "emd_vs_sinkhorn: n = %zu done, %.1f s\n", r->n, now_seconds() - t0);
}

/* ---- the tables ----------------------------------------------------------------------- */

static double relative(double x, double reference)
{
    return fabs(x - reference) / fabs(reference);
}

static double ref_or_nan(const size_row *r, double x)
{
    return r->ref_ok ? x : NAN;
}

/* Markdown cells: x in one of these formats, "-" for NaN. */
static const char WHOLE[] = "%.0f", SECONDS[] = "%.3g", SCI[] = "%.1e", RATIO[] = "%.2fx";

static void md_cell(const char *format, double x)
{
    if (x != x) {
        printf(" - |");
        return;
    }
    putchar(' ');
    printf(format, x);
    printf(" |");
}

static void md_rule(size_t columns)
{
    printf("\n|");
    for (size_t k = 0; k < columns; k++)
        printf("---|");
    printf("\n");
}

static void print_main_table(const options *o, const size_row *rows, size_t n_rows)
{
    printf("\n| n | edges | exact otad s | exact POT s | POT/otad |");
    for (size_t k = 0; k < o->n_tols; k++)
        printf(" Sinkhorn %.0e s | it. | rel. err |", o->tols[k]);
    for (size_t k = 0; k < o->n_tols; k++)
        printf(" POT Sinkhorn %.0e s |", o->tols[k]);
    printf(" exact/Sinkhorn %.0e |", o->tols[0]);
    md_rule(6 + 4 * o->n_tols);
    for (size_t i = 0; i < n_rows; i++) {
        const size_row *r = &rows[i];
        printf("| %zu |", r->n);
        if (!r->ok) {
            printf(" failed |\n");
            continue;
        }
        md_cell(WHOLE, r->edges), md_cell(SECONDS, r->emd.seconds);
        md_cell(SECONDS, ref_or_nan(r, r->ref_emd.seconds));
        md_cell(RATIO, ref_or_nan(r, r->ref_emd.seconds) / r->emd.seconds);
        for (size_t k = 0; k < o->n_tols; k++)
            md_cell(SECONDS, r->sink[k].seconds), md_cell(WHOLE, r->sink[k].iterations),
                md_cell(SCI, relative(r->sink[k].cost, r->emd.cost));
        for (size_t k = 0; k < o->n_tols; k++)
            md_cell(SECONDS, ref_or_nan(r, r->ref_sink[k].seconds));
        md_cell(RATIO, r->emd.seconds / r->sink[0].seconds);
        printf("\n");
    }
}

/* The exact costs and memory. */
static void print_exact_table(const size_row *rows, size_t n_rows)
{
    printf("\n| n | median C | eps | W (otad) | W: POT vs otad | plan nonzeros | peak MB after "
           "problem / exact / all | POT peak MB |");
    md_rule(8);
    for (size_t i = 0; i < n_rows; i++) {
        const size_row *r = &rows[i];
        if (!r->ok)
            continue;
        printf("| %zu | %.4f | %.5f | %.12f |", r->n, r->median, r->eps, r->emd.cost);
        md_cell(SCI, ref_or_nan(r, relative(r->ref_emd.cost, r->emd.cost)));
        printf(" %.0f | %.0f / %.0f / %.0f |", r->emd.iterations, r->setup_mb, r->emd_mb,
               r->peak_mb);
        md_cell(WHOLE, ref_or_nan(r, r->ref_peak_mb));
        printf("\n");
    }
}

/* Sinkhorn's stops on both sides, and POT for our number of iterations. */
static void print_sinkhorn_table(const options *o, const size_row *rows, size_t n_rows)
{
    printf("\n| n | tol | otad s | it. | L1 err | rel. err | POT s | POT it. | POT L2 err | "
           "POT rel. err | POT/otad | POT s, otad's it. | POT/otad, same it. |");
    md_rule(13);
    for (size_t i = 0; i < n_rows; i++)
        for (size_t k = 0; k < o->n_tols; k++) {
            const size_row *r = &rows[i];
            const solve_figures *s = &r->sink[k], *p = &r->ref_sink[k], *f = &r->ref_fixed[k];
            if (!r->ok)
                continue;
            printf("| %zu | %.0e |", r->n, o->tols[k]);
            md_cell(SECONDS, s->seconds), md_cell(WHOLE, s->iterations), md_cell(SCI, s->marginal);
            md_cell(SCI, relative(s->cost, r->emd.cost));
            md_cell(SECONDS, ref_or_nan(r, p->seconds)), md_cell(WHOLE, ref_or_nan(r, p->iterations));
            md_cell(SCI, ref_or_nan(r, p->marginal));
            md_cell(SCI, ref_or_nan(r, relative(p->cost, r->emd.cost)));
            md_cell(RATIO, ref_or_nan(r, p->seconds) / s->seconds);
            md_cell(SECONDS, ref_or_nan(r, f->seconds));
            md_cell(RATIO, ref_or_nan(r, f->seconds) / s->seconds);
            printf("\n");
        }
}

/* The largest relative difference of the exact costs over the sizes both
 * solved (NaN when one is not a number); their count goes to *compared. */
static double exact_difference(const size_row *rows, size_t n_rows, size_t *compared)
{
    double worst = 0;
    *compared = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (rows[i].ok && rows[i].ref_ok) {
            double d = relative(rows[i].ref_emd.cost, rows[i].emd.cost);
            worst = d > worst || d != d ? d : worst;
            ++*compared;
        }
    return worst;
}

static void print_notes(const options *o)
{
    printf("\nTimes: median seconds of 5 runs at n <= 256, 3 up to 1024, 1 beyond, one thread, "
           "from C, a and b.\nexact: otad_emd / ot.emd2.  Sinkhorn (otad): Gibbs kernel, "
           "updates until L1 err = max ||u.Kv - a||_1\n<= tol (checked every %d updates), "
           "<P, C>; rel. err: |W_eps - W| / W, W the exact cost (at\nlambda = %g it includes "
           "the entropic bias, so a looser tolerance can land nearer W).\nPOT Sinkhorn: "
           "ot.sinkhorn2, stopped once POT L2 err, the 2-norm of its column marginal's error\n"
           "(checked every 10 iterations), is below tol: a looser test than ours for large n; "
           "'POT s, otad's it.'\nruns it for exactly our number of iterations, the "
           "like-for-like time.  exact/Sinkhorn: our exact\nsolve's time over our Sinkhorn's "
           "at tolerance %.0e.  W: POT vs otad: |W_POT - W| / W.  Plan\nnonzeros: of otad's "
           "optimal basis (at most 2n - 1).  peak MB: the worker's peak RSS after the\n"
           "problem (graph, C, histograms), after the exact solves, and at its end (Sinkhorn's "
           "kernel);\nPOT's is its whole process's (Python, the arrays, the dense plan ot.emd2 "
           "returns).\n", o->check_every, o->lambda, o->tols[0]);
}

/* ---- the plot ------------------------------------------------------------------------- */

enum { MAX_SERIES = 2 + 2 * MAX_TOLS };

typedef struct plot_data {
    double x[MAX_SERIES][MAX_SIZES], y[MAX_SERIES][MAX_SIZES];
    char labels[MAX_SERIES][64];
    otad_plot_series series[MAX_SERIES];
    size_t n_series;
} plot_data;

/* A series of the rows' positive times of one solver: the exact one
 * (tol SIZE_MAX) or Sinkhorn at tolerance tol, ours or the reference's. */
static void add_series(plot_data *d, const size_row *rows, size_t n_rows, int reference,
                       size_t tol, const char *label, unsigned rgb, int style)
{
    size_t s = d->n_series, k = 0;
    for (size_t i = 0; i < n_rows; i++) {
        const size_row *r = &rows[i];
        const solve_figures *f = reference ? (tol == SIZE_MAX ? &r->ref_emd : &r->ref_sink[tol])
                                           : (tol == SIZE_MAX ? &r->emd : &r->sink[tol]);
        if (r->ok && (!reference || r->ref_ok) && isfinite(f->seconds) && f->seconds > 0)
            d->x[s][k] = (double)r->n, d->y[s][k++] = f->seconds;
    }
    if (k == 0)
        return;
    snprintf(d->labels[s], sizeof d->labels[s], "%s", label);
    d->series[s] = (otad_plot_series){d->x[s], d->y[s], k, style, rgb, d->labels[s]};
    d->n_series++;
}

static int write_plot(const options *o, const size_row *rows, size_t n_rows)
{
    static const unsigned ours[MAX_TOLS] = {0xd62728, 0x2ca02c, 0x9467bd, 0x8c564b};
    static const unsigned pots[MAX_TOLS] = {0xff9896, 0x98df8a, 0xc5b0d5, 0xc49c94};
    static plot_data d;
    memset(&d, 0, sizeof d);
    int both = OTAD_PLOT_LINE | OTAD_PLOT_MARKERS;
    add_series(&d, rows, n_rows, 0, SIZE_MAX, "exact EMD (otad)", 0x1f4e9c, both);
    add_series(&d, rows, n_rows, 1, SIZE_MAX, "exact EMD (POT)", 0x7fb2e5, both);
    for (size_t k = 0; k < o->n_tols; k++) {
        char label[64];
        snprintf(label, sizeof label, "Sinkhorn tol %.0e (otad)", o->tols[k]);
        add_series(&d, rows, n_rows, 0, k, label, ours[k], both);
        snprintf(label, sizeof label, "Sinkhorn tol %.0e (POT)", o->tols[k]);
        add_series(&d, rows, n_rows, 1, k, label, pots[k], both);
    }
    if (d.n_series == 0) {
        fprintf(stderr, "emd_vs_sinkhorn: nothing to plot\n");
        return -1;
    }
    char title[128];
    snprintf(title, sizeof title, "Exact OT vs Sinkhorn, random graphs, lambda = %g",
             o->lambda);
    otad_plot_opts po;
    otad_plot_opts_init(&po);
    po.width = 960, po.height = 720;
    po.log_x = po.log_y = 1;
    po.title = title;
    po.x_label = "n (histogram size)";
    po.y_label = "seconds (one thread)";
    otad_error err = {""};
    if (otad_png_write_plot(o->plot, d.series, d.n_series, &po, &err) != OTAD_OK) {
        fprintf(stderr, "emd_vs_sinkhorn: %s\n", err.message);
        return -1;
    }
    printf("wrote %s\n", o->plot);
    return 0;
}

/* ---- options and main ----------------------------------------------------------------- */

static void usage(FILE *f, const char *argv0)
{
    fprintf(f, "usage: %s [--sizes 64,128,256,512,1024,2048,4096] [--lambda 50]\n"
            "       [--tolerances 1e-2,1e-4] [--check-every 5] [--plot FILE]\n"
            "       [--no-reference] [--script FILE] [--help]\n"
            "The plot goes beside this program (emd_vs_sinkhorn.png) unless --plot says where.\n"
            "Exact OT (otad_emd) against Sinkhorn on random graphs with the shortest-path "
            "metric,\nwith POT (bench/emd_vs_sinkhorn.py) on the same problems; sizes 2 to "
            "46340,\nat most %d; at most %d tolerances.\n", argv0, MAX_SIZES, MAX_TOLS);
}

static size_t parse_sizes(const char *s, size_t *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v < 2 || v > 46340 || (*end != ',' && *end != '\0'))
            return 0;
        out[k++] = v;
        s = *end == ',' ? end + 1 : end;
    }
    return s && *s ? 0 : k;
}

static int takes_value(const char *opt)
{
    static const char *const names[] = {"--sizes", "--tolerances", "--lambda", "--check-every",
                                        "--plot", "--script"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(opt, names[i]) == 0)
            return 1;
    return 0;
}

/* 0: run; 1: --help; −1: a bad option (its message printed). */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{64, 128, 256, 512, 1024, 2048, 4096}, 7, 50, {1e-2, 1e-4}, 2, 5, 1,
                   NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *value = argv[i + 1];
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0)
            return 1;
        if (strcmp(opt, "--no-reference") == 0) {
            o->reference = 0;
            continue;
        }
        if (!takes_value(opt) || !value) {
            fprintf(stderr, "emd_vs_sinkhorn: %s %s\n", takes_value(opt) ? "missing value for"
                                                                         : "unknown option",
                    opt);
            return -1;
        }
        char *end = NULL;
        int ok = 1;
        if (strcmp(opt, "--sizes") == 0)
            ok = (o->n_sizes = parse_sizes(value, o->sizes, MAX_SIZES)) > 0;
        else if (strcmp(opt, "--tolerances") == 0)
            ok = (o->n_tols = parse_doubles(value, o->tols, MAX_TOLS)) > 0;
        else if (strcmp(opt, "--lambda") == 0)
            ok = (o->lambda = strtod(value, &end)) > 0 && isfinite(o->lambda) && !*end;
        else if (strcmp(opt, "--check-every") == 0)
            ok = (o->check_every = (int)strtol(value, &end, 10)) >= 1 && !*end;
        else if (strcmp(opt, "--plot") == 0)
            o->plot = value;
        else
            o->script = value;
        if (!ok) {
            fprintf(stderr, "emd_vs_sinkhorn: bad value for %s: %s\n", opt, value);
            return -1;
        }
        i++;
    }
    return 0;
}

/* The reference driver: --script, else bench/emd_vs_sinkhorn.py from the
 * working directory, else from the repository above <build>/bench/ holding
 * this program.  NULL (with the reason) when it cannot run. */
static const char *find_script(const options *o, const char **why)
{
    static char path[PATH_MAX + 64];
    if (!o->reference) {
        *why = "switched off (--no-reference)";
        return NULL;
    }
    snprintf(path, sizeof path, "%s", o->script ? o->script : "bench/emd_vs_sinkhorn.py");
    if (!o->script && access(path, R_OK) != 0) {
        char repository[sizeof self_path];
        repository_of_self(repository, sizeof repository);
        snprintf(path, sizeof path, "%s/bench/emd_vs_sinkhorn.py", repository);
    }
    if (access(path, R_OK) != 0) {
        *why = "bench/emd_vs_sinkhorn.py not found (--script FILE)";
        return NULL;
    }
    if (system("/usr/bin/python3 -c 'import ot, numpy' >/dev/null 2>&1") != 0) {
        *why = "/usr/bin/python3 cannot import ot (python3-pot) and numpy";
        return NULL;
    }
    return path;
}

static void print_header(const options *o, const char *script, const char *why)
{
    char out[256];
    double peak = NAN, stream = NAN;
    char *const argv[] = {self_path, "--machine", NULL};
    fflush(stdout);
    if (run_fresh(argv, 1, NULL, out, sizeof out, &peak) == 0)
        stream = json_number(out, "stream_gbs");
    printf("# Exact OT against Sinkhorn on random graphs (seed 000, Cuturi 2013): shortest-path "
           "cost on n vertices,\n# %d·n/2 edges, flat Dirichlet histograms, eps = median(C) / "
           "%g.  One thread; streaming read %.1f GB/s.\n", AVERAGE_DEGREE, o->lambda, stream);
    if (script)
        printf("Reference: POT %s (%s, /usr/bin/python3), in this run, on the same arrays.\n",
               "ot.emd2 / ot.sinkhorn2", script);
    else
        printf("Reference: not available — %s; otad only.\n", why);
}

/* The tables, the agreement of the exact costs, the plot.  0 when all is well. */
static int report(const options *o, const size_row *rows, int failed)
{
    print_main_table(o, rows, o->n_sizes);
    print_exact_table(rows, o->n_sizes);
    print_sinkhorn_table(o, rows, o->n_sizes);
    print_notes(o);
    size_t compared;
    double worst = exact_difference(rows, o->n_sizes, &compared);
    int disagree = compared > 0 && !(worst <= exact_agreement);
    if (compared > 0)
        printf("\nExact costs: otad and POT %s at %zu size%s, largest relative difference "
               "%.1e (threshold %.0e).\n", disagree ? "DISAGREE" : "agree", compared,
               compared == 1 ? "" : "s", worst, exact_agreement);
    int plot_rc = write_plot(o, rows, o->n_sizes);
    return failed || disagree || plot_rc != 0;
}

int main(int argc, char **argv)
{
    find_self(argv[0]);
    if (argc == 7 && strcmp(argv[1], "--worker") == 0)
        return worker(argv);
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine();
    options o;
    int parsed = parse_options(argc, argv, &o);
    if (parsed < 0) {
        fprintf(stderr, "(%s --help for the options)\n", argv[0]);
        return 2;
    }
    if (parsed > 0) {
        usage(stdout, argv[0]);
        return 0;
    }
    static char beside_self[sizeof self_path + 32];
    if (!o.plot) { /* build/bench/emd_vs_sinkhorn.png, out of the source tree */
        const char *slash = strrchr(self_path, '/');
        snprintf(beside_self, sizeof beside_self, "%.*semd_vs_sinkhorn.png",
                 slash ? (int)(slash - self_path + 1) : 0, self_path);
        o.plot = beside_self;
    }
    const char *why = "";
    const char *script = find_script(&o, &why);
    char dir[] = "/tmp/otad_emd_vs_sinkhorn_XXXXXX";
    if (script && !mkdtemp(dir)) {
        perror("emd_vs_sinkhorn: mkdtemp");
        return 1;
    }
    double t0 = now_seconds();
    print_header(&o, script, why);
    static size_row rows[MAX_SIZES];
    int failed = 0;
    for (size_t i = 0; i < o.n_sizes; i++) {
        rows[i] = (size_row){.n = o.sizes[i]};
        run_size(&o, script, dir, &rows[i]);
        failed |= !rows[i].ok || (script && !rows[i].ref_ok);
    }
    if (script)
        rmdir(dir);
    int rc = report(&o, rows, failed);
    printf("\nTotal: %.0f s.\n", now_seconds() - t0);
    if (failed)
        fprintf(stderr, "emd_vs_sinkhorn: some runs failed (see above)\n");
    return rc;
}
