/*
 * Wasserstein barycentric coordinates (Bonneel, Peyré and Cuturi 2016):
 * five soft shapes on the n×n grid of [0,1]² (examples/w2_database.h), the
 * grid's separable Gibbs kernel at ε = 2e-3, the barycenter P_L(λ) after
 * L = 50 iterations, λ = softmax(θ), the squared L2 loss against
 * q = P_L(λ_true): the problem of the PyTorch reference bench/barycoords.py.
 *
 * Measured at each grid size and thread count: one evaluation at θ = 0,
 * value and value + gradient (median of 5 after one warm-up), against
 * PyTorch's value + gradient (median of 5, 3 at n ≥ 128, after one warm-up;
 * the losses must agree, else the exit status is 1), and the rate of the
 * kernel applies beside dgemm's.  With --fit (long: the reference's fit runs
 * in every configuration), otad_barycoords_fit from θ = 0 against
 * torch.optim.LBFGS's one step() with the same settings (at most 50
 * iterations, memory 10, no tolerances), a single run of each.
 * Protocol (bench/protocol.h): fresh processes, ours and the reference
 * interleaved in --rounds rounds, the reference in every configuration
 * (allocators, OpenBLAS's kernels), the fastest compared, the peak RSS of both.
 *
 *   barycoords [--sizes 64,128] [--threads 1,2] [--rounds 3] [--fit] [--no-reference]
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/w2_database.h"

enum { L = 50, REPEATS = 5, FIT_ITERATIONS = 50, FIT_MEMORY = 10, COLUMNS = 14 };

/* The same iteration in double precision on both sides: the losses differ by
 * rounding only. */
static const double loss_tolerance = 1e-9;

/* ---- workers ---------------------------------------------------------------- */

typedef struct w2 {
    double *database, *q; /* q: one allocation with the database */
    double theta[W2_SHAPES], grad[W2_SHAPES];
    otad_barycoords problem;
} w2;

/* The database, q = P_L(λ_true) and the problem of the n×n grid. */
static int w2_setup(w2 *w, size_t n, otad_error *err)
{
    size_t n2 = n * n;
    memset(w, 0, sizeof *w);
    if (n < 2 || n > 4096)
        return otad_error_set(err, OTAD_EINVAL, "grid size %zu is not in 2..4096", n);
    w->database = malloc(n2 * (W2_SHAPES + 1) * sizeof *w->database);
    if (!w->database)
        return otad_error_set(err, OTAD_ENOMEM, "out of memory for the %zu×%zu grid", n, n);
    w2_database(n, w->database);
    w->q = w->database + n2 * W2_SHAPES;
    otad_barycoords *p = &w->problem;
    otad_barycoords_init(p);
    p->support = otad_support_grid(2, (size_t[]){n, n}, W2_EPS);
    p->size = n2;
    p->n_histograms = W2_SHAPES;
    p->database = w->database;
    p->loss = OTAD_LOSS_L2;
    p->barycenter.iterations = L;
    int rc = otad_barycoords_project(p, w2_lambda_true, 1, w->q, err);
    p->n_targets = 1;
    p->targets = w->q;
    return rc == OTAD_OK ? otad_barycoords_check(p, err) : rc;
}

/* Value only and value + gradient at θ = 0, and the flops of the kernel
 * applies in value + gradient: 2·S per iteration forward, as many backward. */
static int evaluate(w2 *w, otad_error *err)
{
    otad_tape *t = NULL;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return otad_error_set(err, OTAD_ENOMEM, "cannot create a tape");
    otad_kernel_info info = otad_kernel_info_of(t, otad_support_kernel(t, &w->problem.support));
    double fwd, fwdbwd, loss;
    bench_objective o = {otad_barycoords_build, &w->problem, W2_SHAPES, w->theta, w->grad};
    int rc = bench_time_objective(t, &o, 0, 1, REPEATS, &loss, &fwd);
    if (rc == OTAD_OK)
        rc = bench_time_objective(t, &o, 1, 1, REPEATS, &loss, &fwdbwd);
    if (rc != OTAD_OK)
        otad_error_set(err, rc, "%s", otad_tape_message(t));
    else if (!isfinite(loss))
        rc = otad_error_set(err, OTAD_ERANGE, "the loss is not finite");
    else {
        otad_tape_stats s;
        otad_tape_stats_get(t, &s);
        printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"loss\": %.17g, \"flops\": %.6g, "
               "\"tape_mb\": %.2f}\n", fwd, fwdbwd, loss, 4.0 * L * W2_SHAPES * info.flops,
               (double)s.peak_bytes / 1048576.0);
    }
    otad_tape_free(&t);
    return rc;
}

/* The last completed iteration: a fit without tolerances may end in a line
 * search that finds no decrease at rounding level. */
static int keep_progress(const otad_lbfgs_progress *progress, void *last)
{
    *(otad_lbfgs_progress *)last = *progress;
    return 0;
}

static int fit(w2 *w, otad_error *err)
{
    otad_barycoords_result r = {0};
    otad_lbfgs_progress last = {0};
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = FIT_ITERATIONS;
    params.memory = FIT_MEMORY;
    /* the reference's tolerances are 1e-300, that is none */
    params.gradient_tolerance = 0;
    params.progress = keep_progress;
    params.progress_instance = &last;
    double t0 = bench_now();
    int rc = otad_barycoords_fit(&w->problem, NULL, &params, &r, err);
    double seconds = bench_now() - t0, lambda_error = 0;
    if (rc == OTAD_OK) {
        for (int s = 0; s < W2_SHAPES; s++)
            lambda_error += fabs(r.weights[s] - w2_lambda_true[s]);
        printf("RESULT {\"total\": %.6g, \"evals\": %d, \"iterations\": %d, \"loss\": %.6g, "
               "\"lambda_err\": %.6g, \"last_s\": %.6g, \"last_evals\": %d, \"stop\": \"%s\"}\n",
               seconds, r.lbfgs.evaluations, r.lbfgs.iterations, r.lbfgs.loss, lambda_error,
               last.seconds, last.evaluations, r.lbfgs.lbfgs_message);
    }
    otad_barycoords_result_free(&r);
    return rc;
}

/* One configuration in this process: --eval or --fit at n. */
static int worker(const char *mode, size_t n)
{
    w2 w;
    otad_error err = {""};
    int rc = w2_setup(&w, n, &err);
    if (rc == OTAD_OK)
        rc = strcmp(mode, "--fit") == 0 ? fit(&w, &err) : evaluate(&w, &err);
    if (rc != OTAD_OK)
        fprintf(stderr, "barycoords %s %zu²: %s (%s)\n", mode, n, err.message, otad_strerror(rc));
    free(w.database);
    return rc == OTAD_OK ? 0 : 1;
}

/* ---- driver ------------------------------------------------------------------ */

typedef struct options {
    size_t sizes[8], threads[4], n_sizes, n_threads, rounds;
    int reference, fit;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{64, 128}, {1, 2}, 2, 2, 3, 1, 0};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--fit") == 0)
            o->fit = 1;
        else if (strcmp(argv[i], "--sizes") == 0 && v)
            o->n_sizes = bench_parse_list(argv[++i], o->sizes, 8, 4096);
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (!o->n_sizes || !o->n_threads || o->rounds < 3)
            return -1;
    }
    return 0;
}

static const char *const evaluation_columns[COLUMNS] = {
    "n", "threads", "value s", "value+gradient s", "PyTorch v+g s", "ratio", "kernel GFLOP/s",
    "dgemm GFLOP/s", "of dgemm", "peak MB", "PyTorch MB", "tape MB", "loss rel. diff", "load"};

/* An evaluation's row; 0 when ours agrees with the reference's loss. */
static int evaluation_row(const bench_comparison *c, const bench_runs *ref, double dgemm)
{
    const char *ours = c->ours.result;
    double gflops = bench_json_number(ours, "flops") / bench_runs_median(&c->ours) * 1e-9;
    double ref_loss = ref ? bench_json_number(ref->result, "loss_at_theta0") : NAN;
    double difference = fabs(bench_json_number(ours, "loss") - ref_loss) / fabs(ref_loss);
    bench_cell("%.3g", bench_json_number(ours, "fwd"));
    bench_cell_range("%.3g", bench_runs_min(&c->ours), bench_runs_max(&c->ours));
    bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
    bench_cell_ratio(c), bench_cell("%.1f", gflops), bench_cell("%.1f", dgemm);
    bench_cell("%.0f%%", 100 * gflops / dgemm), bench_cell("%.0f", c->ours.peak_mb);
    bench_cell("%.0f", ref ? ref->peak_mb : NAN);
    bench_cell("%.1f", bench_json_number(ours, "tape_mb")), bench_cell("%.1e", difference);
    bench_cell_range("%.2f", c->load_lo, c->load_hi);
    return difference > loss_tolerance;
}

static const char *const fit_columns[COLUMNS] = {
    "n", "threads", "ours s", "evals", "loss", "λ error", "peak MB", "PyTorch s", "evals",
    "loss", "λ error", "PyTorch MB", "ratio", "ours: iterations (last completed: evals, s); stop"};

static void fit_row(const bench_comparison *c, const bench_runs *ref)
{
    const char *ours = c->ours.result, *theirs = ref ? ref->result : "";
    char stop[160];
    bench_json_string(ours, "stop", stop, sizeof stop);
    bench_cell("%.3g", c->ours.seconds[0]), bench_cell("%.0f", bench_json_number(ours, "evals"));
    bench_cell("%.2e", bench_json_number(ours, "loss"));
    bench_cell("%.1e", bench_json_number(ours, "lambda_err")), bench_cell("%.0f", c->ours.peak_mb);
    bench_cell("%.3g", ref ? ref->seconds[0] : NAN);
    bench_cell("%.0f", bench_json_number(theirs, "n_evals"));
    bench_cell("%.2e", bench_json_number(theirs, "final_loss"));
    bench_cell("%.1e", bench_json_number(theirs, "lambda_err_l1"));
    bench_cell("%.0f", ref ? ref->peak_mb : NAN), bench_cell_ratio(c);
    bench_cell_text("%.0f (%.0f, %.3g s); %s", bench_json_number(ours, "iterations"),
                    bench_json_number(ours, "last_evals"), bench_json_number(ours, "last_s"),
                    stop);
}

/* The table of evaluations (value + gradient compared) or of fits (one
 * round), then the reference's configurations.  Returns 0 when every row
 * ran and passed its check. */
static int table(const options *o, const char *script, int fit, const bench_machine *machine,
                 const char *title)
{
    static bench_comparison rows[8][4];
    char labels[8][4][64];
    int failed = 0;
    printf("\n### %s\n\n", title);
    bench_print_machine_line();
    printf("\n");
    bench_table_header(fit ? fit_columns : evaluation_columns, COLUMNS);
    for (size_t si = 0; si < o->n_sizes; si++)
        for (size_t ti = 0; ti < o->n_threads; ti++) {
            size_t n = o->sizes[si], threads = o->threads[ti];
            char n_arg[32], config[256], *label = labels[si][ti];
            snprintf(n_arg, sizeof n_arg, "%zu", n);
            snprintf(config, sizeof config, "{\"N\": %zu, \"tool\": \"%s\", \"repeats\": %d, "
                     "\"warmup\": 1, \"threads\": %zu, \"max_iter\": %d}", n,
                     fit ? "lbfgs" : "torch_fwdbwd", n >= 128 ? 3 : 5, threads, FIT_ITERATIONS);
            snprintf(label, 64, "%s %zu², %zu thread%s", fit ? "fit" : "value + gradient", n,
                     threads, threads == 1 ? "" : "s");
            char *const ours_argv[] = {(char *)bench_self(), fit ? "--fit" : "--eval", n_arg, NULL};
            char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)script, "--worker",
                                      config, NULL};
            bench_side ours = {ours_argv, fit ? "total" : "fwdbwd", 0};
            bench_side reference = {ref_argv, fit ? "total_s" : "fwdbwd.median_s", 0};
            bench_comparison *c = &rows[si][ti];
            int ran = bench_compare(&ours, script ? &reference : NULL, (int)threads,
                                    fit ? 1 : (int)o->rounds, label, c) == 0;
            const bench_runs *ref = c->compared >= 0 ? &c->reference[c->compared] : NULL;
            bench_cell_text("%zu", n), bench_cell_text("%zu", threads);
            if (!ran)
                failed = 1, bench_cell_text("failed: %s", c->ours.result);
            else if (fit)
                fit_row(c, ref);
            else
                failed |= evaluation_row(c, ref, machine[ti].dgemm_gflops);
            bench_row_end();
        }
    if (script) {
        printf("\nThe reference in each configuration (the fastest is compared):\n\n");
        for (size_t si = 0; si < o->n_sizes; si++)
            for (size_t ti = 0; ti < o->n_threads; ti++)
                bench_print_comparison_note(labels[si][ti], &rows[si][ti]);
    }
    return failed;
}

int main(int argc, char **argv)
{
    int status = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && (strcmp(argv[1], "--eval") == 0 || strcmp(argv[1], "--fit") == 0))
        return worker(argv[1], strtoul(argv[2], NULL, 10));
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 64,128] [--threads 1,2] [--rounds 3] [--fit] "
                "[--no-reference]\n", argv[0]);
        return 2;
    }
    /* the reference is in this repository, beside this program's source */
    char path[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    const char *script = o.reference && bench_find_reference(bench_dir, "barycoords.py",
                                                             "torch, numpy", path, sizeof path,
                                                             &why) == 0 ? path : NULL;
    bench_machine machine[4];
    for (size_t ti = 0; ti < o.n_threads; ti++)
        if (bench_measure_machine((int)o.threads[ti], &machine[ti]) != 0)
            return 1;
    printf("## Wasserstein barycentric coordinates\n\nS = %d shapes on the n×n grid, "
           "ε = %g, L = %d, loss |P_L(softmax θ) − q|²; reference: %s.\n", W2_SHAPES, W2_EPS, L,
           script ? "PyTorch autograd (barycoords.py)" : why);
    status = table(&o, script, 0, machine, "One evaluation at θ = 0");
    printf("\nSeconds: median inside each process, ranges over %zu rounds; ratio: PyTorch's over "
           "ours in the same round.  Kernel GFLOP/s: 4·L·S kernel applies to one column over "
           "the median value + gradient time.  Loss rel. diff at most %.0e.\n", o.rounds,
           loss_tolerance);
    if (!o.fit)
        return status;
    status |= table(&o, script, 1, machine, "Fit from θ = 0 by L-BFGS: a single run of each");
    printf("\nThe reference's settings: at most %d iterations, memory %d, no tolerances; the "
           "whole fit timed.  λ error: |λ − λ_true|₁.  Loss: ours the best seen, PyTorch's the "
           "last evaluated.  Last column: where our last completed iteration stood (a final "
           "line search may find no decrease).\n", FIT_ITERATIONS, FIT_MEMORY);
    return status;
}
