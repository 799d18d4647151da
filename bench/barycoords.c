/*
 * W2: Wasserstein barycentric coordinates (BPC'16) on the n×n grid of
 * ../shared/anchors — the five soft shapes of examples/w2_database.h, the
 * separable grid kernel at ε = 2e-3, L = 50 barycenter iterations, the L2
 * loss against q = P_L(λ_true) — timed against the PyTorch reference
 * (w2_barycoords.py) in the same run when /usr/bin/python3 has torch.
 *
 * For each grid and thread count:
 *   - one evaluation of otad_barycoords_build at θ = 0 (θ an otad_param, the
 *     tape reset before each evaluation), value only and value + gradient
 *     (otad_backward): median of 5 after one warm-up; the reference's median
 *     of 5 (3 at n ≥ 128) after one warm-up, torch's value under no_grad;
 *   - the rate of the kernel applies in value + gradient: a forward applies
 *     K to S columns twice per iteration for L iterations, backward as many
 *     times again, each apply to one column costing otad_kernel_info.flops;
 *     set beside the dgemm rate measured in this run with the same threads;
 *   - the fit: otad_barycoords_fit from θ = 0 with the reference's L-BFGS
 *     settings (at most 50 iterations, memory 10, no gradient or loss-change
 *     tolerance), wall time of the whole call, evaluations, final loss and
 *     |λ − λ_true|₁, against torch.optim.LBFGS's one step(); beside them the
 *     evaluations and time at the last completed iteration, since a fit
 *     without tolerances may end in a line search that cannot decrease a loss
 *     already at rounding level;
 *   - the peak RSS of each process (wait4), the value evaluations and the
 *     fit in separate processes as the reference's workers are.
 * The reference runs under jemalloc without purging when it is installed
 * (its faster configuration; ../shared/anchors/README.md).
 *
 *   barycoords [--sizes 64,128] [--threads 1,2] [--anchors DIR] [--no-reference]
 *
 * Every configuration runs in a fresh process with its thread count set
 * before the libraries start, so that its peak RSS is its own.
 */
#include "measure.h"

#include <math.h>

#include "examples/w2_database.h"
#include "otad.h"

enum { L = 50, REPEATS = 5, FIT_ITERATIONS = 50, FIT_MEMORY = 10 };

/* The performance targets, checked at 128², one thread. */
enum { TARGET_N = 128, TARGET_THREADS = 1 };
static const double target_speedup = 2.0, target_rss_mb = 100.0;

/* ---- workers: one configuration each --------------------------------------- */

typedef struct w2 {
    double *database, *q;
    double theta[W2_SHAPES], grad[W2_SHAPES];
    otad_barycoords problem;
} w2;

static void w2_free(w2 *w)
{
    free(w->database);
    free(w->q);
}

/* The database, q = P_L(λ_true) and the problem of the n×n grid. */
static int w2_setup(w2 *w, size_t n, otad_error *err)
{
    size_t n2 = n * n;
    memset(w, 0, sizeof *w);
    if (n < 2 || n > 4096)
        return otad_error_set(err, OTAD_EINVAL, "grid size %zu is not in 2..4096", n);
    w->database = malloc(n2 * W2_SHAPES * sizeof *w->database);
    w->q = malloc(n2 * sizeof *w->q);
    if (!w->database || !w->q)
        return otad_error_set(err, OTAD_ENOMEM, "out of memory for the %zu×%zu grid", n, n);
    w2_database(n, w->database);
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

/* Flops of one value + gradient: 2 applies to S columns per iteration
 * forward, as many backward. */
static double evaluation_flops(otad_tape *t, const w2 *w)
{
    otad_tape_reset(t);
    otad_kernel_info info = otad_kernel_info_of(t, otad_support_kernel(t, &w->problem.support));
    return 4.0 * L * W2_SHAPES * info.flops;
}

static int eval_worker(size_t n)
{
    w2 w;
    otad_error err = {""};
    otad_tape *t = NULL;
    int rc = w2_setup(&w, n, &err);
    if (rc == OTAD_OK && (rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        otad_error_set(&err, rc, "cannot create a tape");
    double fwd = NAN, fwdbwd = NAN, loss = NAN;
    objective o = {otad_barycoords_build, &w.problem, W2_SHAPES, w.theta, w.grad};
    if (rc == OTAD_OK && ((rc = median_time(t, &o, 0, 1, REPEATS, &loss, &fwd)) != OTAD_OK ||
                          (rc = median_time(t, &o, 1, 1, REPEATS, &loss, &fwdbwd)) != OTAD_OK))
        otad_error_set(&err, rc, "%s", otad_tape_message(t));
    if (rc == OTAD_OK) {
        otad_tape_stats s;
        otad_tape_stats_get(t, &s);
        printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"loss\": %.17g, \"flops\": %.6g, "
               "\"tape_mb\": %.2f}\n", fwd, fwdbwd, loss, evaluation_flops(t, &w),
               (double)s.peak_bytes / 1048576.0);
    } else {
        fprintf(stderr, "barycoords %zu²: %s (%s)\n", n, err.message, otad_strerror(rc));
    }
    otad_tape_free(&t);
    w2_free(&w);
    return rc == OTAD_OK && isfinite(loss) ? 0 : 1;
}

static double lambda_error(const double *lambda)
{
    double e = 0;
    for (int s = 0; s < W2_SHAPES; s++)
        e += fabs(lambda[s] - w2_lambda_true[s]);
    return e;
}

/* Where the last completed iteration stood: with the tolerances off, a fit
 * can end in a line search that finds no decrease at rounding level. */
static int keep_progress(const otad_lbfgs_progress *progress, void *last)
{
    *(otad_lbfgs_progress *)last = *progress;
    return 0;
}

static int fit_worker(size_t n)
{
    w2 w;
    otad_error err = {""};
    otad_barycoords_result r = {0};
    otad_lbfgs_progress last = {0};
    int rc = w2_setup(&w, n, &err);
    double seconds = 0;
    if (rc == OTAD_OK) {
        otad_lbfgs_params params;
        otad_lbfgs_params_init(&params);
        params.max_iterations = FIT_ITERATIONS;
        params.memory = FIT_MEMORY;
        /* the reference's tolerances are 1e-300: it stops on the iteration
         * limit or when the loss stops changing at all */
        params.gradient_tolerance = 0;
        params.progress = keep_progress;
        params.progress_instance = &last;
        double t0 = now_seconds();
        rc = otad_barycoords_fit(&w.problem, NULL, &params, &r, &err);
        seconds = now_seconds() - t0;
    }
    if (rc == OTAD_OK)
        printf("RESULT {\"total\": %.6g, \"evals\": %d, \"iterations\": %d, \"loss\": %.6g, "
               "\"lambda_err\": %.6g, \"last_s\": %.6g, \"last_evals\": %d, \"stop\": \"%s\"}\n",
               seconds, r.lbfgs.evaluations, r.lbfgs.iterations, r.lbfgs.loss,
               lambda_error(r.weights), last.seconds, last.evaluations, r.lbfgs.lbfgs_message);
    else
        fprintf(stderr, "barycoords %zu² fit: %s (%s)\n", n, err.message, otad_strerror(rc));
    otad_barycoords_result_free(&r);
    w2_free(&w);
    return rc == OTAD_OK ? 0 : 1;
}

/* ---- the reference ---------------------------------------------------------- */

/* Runs one w2_barycoords.py worker; its JSON goes to out.  Returns 0 on success. */
static int reference(const char *anchors, size_t n, const char *tool, int threads, char *out,
                     size_t cap, double *peak_mb)
{
    if (!anchors)
        return -1;
    char script[1024], config[256];
    if (snprintf(script, sizeof script, "%s/w2_barycoords.py", anchors) >= (int)sizeof script)
        return -1;
    snprintf(config, sizeof config, "{\"N\": %zu, \"tool\": \"%s\", \"repeats\": %d, "
             "\"warmup\": 1, \"threads\": %d, \"max_iter\": %d, \"alloc\": \"%s\"}", n, tool,
             n >= 128 ? 3 : 5, threads, FIT_ITERATIONS, have_jemalloc() ? "jemalloc" : "default");
    return run_python_worker(script, config, threads, out, cap, peak_mb);
}

/* The anchors directory when the reference can run there, else NULL and why. */
static const char *find_anchors(const char *given, const char **why)
{
    static char dir[1024];
    const char *d = given ? given : getenv("OTAD_ANCHORS");
    snprintf(dir, sizeof dir, "%s", d ? d : "../shared/anchors");
    char script[1100];
    snprintf(script, sizeof script, "%s/w2_barycoords.py", dir);
    if (access(script, R_OK) != 0) {
        *why = "w2_barycoords.py not found (--anchors DIR or OTAD_ANCHORS)";
        return NULL;
    }
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        *why = "/usr/bin/python3 cannot import torch";
        return NULL;
    }
    return dir;
}

/* ---- driver ----------------------------------------------------------------- */

typedef struct row {
    double fwd, fwdbwd, loss, flops, tape_mb, peak;       /* ours, one evaluation */
    double ref_fwd, ref_fwdbwd, ref_loss, ref_peak;
    double fit_s, fit_evals, fit_loss, fit_err, fit_peak;  /* ours, the fit */
    double ref_fit_s, ref_fit_evals, ref_fit_loss, ref_fit_err, ref_fit_peak;
    char stop[192];
} row;

/* Runs this program in a fresh process with args; its JSON goes to out. */
static int run_self(const char *mode, size_t n, int threads, char *out, size_t cap,
                    double *peak_mb)
{
    char n_arg[32];
    snprintf(n_arg, sizeof n_arg, "%zu", n);
    char *const argv[] = {self_path, (char *)mode, n_arg, NULL};
    return run_fresh(argv, threads, NULL, out, cap, peak_mb);
}

/* The string after `"key": "` in a JSON line, up to its closing quote. */
static void json_string(const char *json, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *p = strstr(json, pattern), *end = p ? strchr(p + strlen(pattern), '"') : NULL;
    if (!end) {
        snprintf(out, cap, "?");
        return;
    }
    p += strlen(pattern);
    snprintf(out, cap, "%.*s", (int)(end - p), p);
}

static void measure_evaluation(row *r, const char *anchors, size_t n, int threads)
{
    char out[8192];
    r->fwd = r->fwdbwd = r->loss = r->flops = r->tape_mb = r->peak = NAN;
    if (run_self("--eval", n, threads, out, sizeof out, &r->peak) == 0) {
        r->fwd = json_number(out, "fwd"), r->fwdbwd = json_number(out, "fwdbwd");
        r->loss = json_number(out, "loss"), r->flops = json_number(out, "flops");
        r->tape_mb = json_number(out, "tape_mb");
    } else {
        r->peak = NAN;
    }
    double peak = NAN;
    r->ref_fwd = r->ref_fwdbwd = r->ref_loss = r->ref_peak = NAN;
    if (reference(anchors, n, "torch_fwd", threads, out, sizeof out, &peak) == 0)
        r->ref_fwd = json_number(out, "median_s");
    if (reference(anchors, n, "torch_fwdbwd", threads, out, sizeof out, &r->ref_peak) == 0)
        r->ref_fwdbwd = json_number(out, "median_s"), r->ref_loss = json_number(out,
                                                                                "loss_at_theta0");
    else
        r->ref_peak = NAN;
}

static void measure_fit(row *r, const char *anchors, size_t n, int threads)
{
    char out[8192];
    r->fit_s = r->fit_evals = r->fit_loss = r->fit_err = NAN;
    snprintf(r->stop, sizeof r->stop, "failed");
    if (run_self("--fit", n, threads, out, sizeof out, &r->fit_peak) == 0) {
        r->fit_s = json_number(out, "total"), r->fit_evals = json_number(out, "evals");
        r->fit_loss = json_number(out, "loss"), r->fit_err = json_number(out, "lambda_err");
        char stop[128];
        json_string(out, "stop", stop, sizeof stop);
        snprintf(r->stop, sizeof r->stop, "%.0f (%.0f evals, %.2f s); %s",
                 json_number(out, "iterations"), json_number(out, "last_evals"),
                 json_number(out, "last_s"), stop);
    } else {
        r->fit_peak = NAN;
    }
    r->ref_fit_s = r->ref_fit_evals = r->ref_fit_loss = r->ref_fit_err = NAN;
    if (reference(anchors, n, "lbfgs", threads, out, sizeof out, &r->ref_fit_peak) == 0) {
        r->ref_fit_s = json_number(out, "total_s"), r->ref_fit_evals = json_number(out,
                                                                                   "n_evals");
        r->ref_fit_loss = json_number(out, "final_loss");
        r->ref_fit_err = json_number(out, "lambda_err_l1");
    } else {
        r->ref_fit_peak = NAN;
    }
}

static void print_evaluation_header(void)
{
    printf("\nOne evaluation at θ = 0 (seconds, median):\n");
    printf("%4s %3s %9s %9s %7s | %9s %9s %7s | %7s %7s %7s | %7s %7s %6s | %9s\n", "n", "thr",
           "fwd", "fwd+bwd", "bwd/fwd", "ref fwd", "ref f+b", "speedup", "peak MB", "ref MB",
           "tape MB", "GFLOP/s", "dgemm", "%peak", "loss diff");
}

static void print_evaluation(const row *r, size_t n, size_t threads, double dgemm)
{
    double gflops = r->flops / r->fwdbwd * 1e-9;
    printf("%4zu %3zu", n, threads);
    cell(9, 4, r->fwd), cell(9, 4, r->fwdbwd), cell(7, 2, (r->fwdbwd - r->fwd) / r->fwd);
    printf(" |");
    cell(9, 4, r->ref_fwd), cell(9, 4, r->ref_fwdbwd);
    cell_ratio(r->ref_fwdbwd / r->fwdbwd), printf(" |");
    cell(7, 0, r->peak), cell(7, 0, r->ref_peak), cell(7, 1, r->tape_mb), printf(" |");
    cell(7, 1, gflops), cell(7, 1, dgemm), cell(6, 1, 100 * gflops / dgemm), printf(" |");
    cell_sci(9, 2, fabs(r->loss - r->ref_loss) / fabs(r->ref_loss));
    printf("\n");
    fflush(stdout);
}

static void print_fit_header(void)
{
    printf("\nFit from θ = 0 (L-BFGS, at most %d iterations, memory %d):\n", FIT_ITERATIONS,
           FIT_MEMORY);
    printf("%4s %3s %8s %5s %7s %9s %9s %7s | %8s %5s %7s %9s %9s %7s | %7s | %s\n", "n",
           "thr", "time s", "evals", "s/eval", "loss", "lam err", "peak MB", "ref s", "evals",
           "s/eval", "loss", "lam err", "ref MB", "speedup", "ours: iterations (last), stop");
}

static void print_fit(const row *r, size_t n, size_t threads)
{
    printf("%4zu %3zu", n, threads);
    cell(8, 2, r->fit_s), cell(5, 0, r->fit_evals), cell(7, 4, r->fit_s / r->fit_evals);
    cell_sci(9, 2, r->fit_loss), cell_sci(9, 2, r->fit_err), cell(7, 0, r->fit_peak), printf(" |");
    cell(8, 2, r->ref_fit_s), cell(5, 0, r->ref_fit_evals);
    cell(7, 4, r->ref_fit_s / r->ref_fit_evals), cell_sci(9, 2, r->ref_fit_loss);
    cell_sci(9, 2, r->ref_fit_err), cell(7, 0, r->ref_fit_peak), printf(" |");
    cell_ratio(r->ref_fit_s / r->fit_s), printf(" | %s\n", r->stop);
    fflush(stdout);
}

static const char *verdict(int met)
{
    return met ? "met" : "NOT met";
}

static void print_targets(const row *r, double dgemm_gflops)
{
    double speedup = r->ref_fwdbwd / r->fwdbwd, bound = r->flops / (dgemm_gflops * 1e9);
    printf("\nTargets at %d², %d thread:\n", TARGET_N, TARGET_THREADS);
    if (isnan(speedup))
        printf("  fwd+bwd ≥ %.0f× faster than PyTorch: no reference figure in this run\n",
               target_speedup);
    else
        printf("  fwd+bwd ≥ %.0f× faster than PyTorch: %.2f× (%.4f s against %.4f s) — %s\n",
               target_speedup, speedup, r->fwdbwd, r->ref_fwdbwd,
               verdict(speedup >= target_speedup));
    /* the kernel applies alone, at the dgemm rate: no evaluation is faster */
    printf("  the applies at the dgemm rate take %.4f s: at best %.2f× the reference here\n",
           bound, r->ref_fwdbwd / bound);
    int met = r->peak <= target_rss_mb && r->fit_peak <= target_rss_mb;
    printf("  peak RSS ≤ %.0f MB: %.0f MB evaluating, %.0f MB fitting — %s\n", target_rss_mb,
           r->peak, r->fit_peak, verdict(met));
}

static size_t parse_list(const char *s, size_t *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        char *end;
        out[k] = strtoul(s, &end, 10);
        if (end == s || out[k] == 0)
            return 0;
        s = *end == ',' ? end + 1 : end;
        k++;
    }
    return k;
}

typedef struct options {
    size_t sizes[8], threads[4], n_sizes, n_threads;
    const char *anchors;
    int reference;
} options;

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{64, 128}, {1, 2}, 2, 2, NULL, 1};
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--sizes") == 0 && has_value)
            o->n_sizes = parse_list(argv[++i], o->sizes, 8);
        else if (strcmp(argv[i], "--threads") == 0 && has_value)
            o->n_threads = parse_list(argv[++i], o->threads, 4);
        else if (strcmp(argv[i], "--anchors") == 0 && has_value)
            o->anchors = argv[++i];
        else
            return -1;
        if (o->n_sizes == 0 || o->n_threads == 0)
            return -1;
    }
    return 0;
}

static void print_notes(void)
{
    printf("\nfwd: the loss only; fwd+bwd: loss and gradient to θ; bwd/fwd: (fwd+bwd − fwd)/fwd;"
           "\nref: PyTorch; speedup: reference time over ours.\n"
           "peak MB: the process's peak RSS; tape MB: the tape's peak arena bytes.\n"
           "GFLOP/s: the flops of the kernel applies in fwd+bwd (4·L·S applies to one column) "
           "over the fwd+bwd time,\nbeside dgemm at n = 1500 with the same threads.\n"
           "loss diff: |ours − ref|/ref at θ = 0.  lam err: |λ − λ_true|₁.  Fit loss: ours the "
           "best seen, ref the last\nevaluated; fit time: the whole call.  ours: iterations, "
           "then evaluations and time at the last completed\none (a final line search that "
           "finds no decrease at rounding level spends all its evaluations).\n");
}

static void run(const options *o, const char *anchors, const double *dgemm)
{
    static row rows[8][4];
    print_evaluation_header();
    for (size_t si = 0; si < o->n_sizes; si++)
        for (size_t ti = 0; ti < o->n_threads; ti++) {
            measure_evaluation(&rows[si][ti], anchors, o->sizes[si], (int)o->threads[ti]);
            print_evaluation(&rows[si][ti], o->sizes[si], o->threads[ti], dgemm[ti]);
        }
    print_fit_header();
    for (size_t si = 0; si < o->n_sizes; si++)
        for (size_t ti = 0; ti < o->n_threads; ti++) {
            measure_fit(&rows[si][ti], anchors, o->sizes[si], (int)o->threads[ti]);
            print_fit(&rows[si][ti], o->sizes[si], o->threads[ti]);
        }
    print_notes();
    for (size_t si = 0; si < o->n_sizes; si++)
        for (size_t ti = 0; ti < o->n_threads; ti++)
            if (o->sizes[si] == TARGET_N && o->threads[ti] == TARGET_THREADS)
                print_targets(&rows[si][ti], dgemm[ti]);
}

int main(int argc, char **argv)
{
    find_self(argv[0]);
    if (argc == 3 && strcmp(argv[1], "--eval") == 0)
        return eval_worker(strtoul(argv[2], NULL, 10));
    if (argc == 3 && strcmp(argv[1], "--fit") == 0)
        return fit_worker(strtoul(argv[2], NULL, 10));
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine_worker();
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--sizes 64,128] [--threads 1,2] [--anchors DIR] "
                "[--no-reference]\n", argv[0]);
        return 2;
    }
    const char *why = "switched off (--no-reference)";
    const char *anchors = o.reference ? find_anchors(o.anchors, &why) : NULL;
    printf("W2: barycentric coordinates, S = %d shapes on the n×n grid, eps %g, L = %d, L2 "
           "loss against P_L(λ_true).\n", W2_SHAPES, W2_EPS, L);
    if (anchors)
        printf("Reference: PyTorch (%s/w2_barycoords.py, %s), in this run.\n", anchors,
               have_jemalloc() ? "jemalloc" : "glibc malloc");
    else
        printf("Reference: not available — %s; ours only.\n", why);
    printf("Targets: at %d², %d thread, fwd+bwd ≥ %.0f× faster than PyTorch and peak RSS ≤ "
           "%.0f MB.\n", TARGET_N, TARGET_THREADS, target_speedup, target_rss_mb);
    double dgemm[4];
    if (measure_machine(self_path, o.threads, o.n_threads, dgemm) != 0) {
        fprintf(stderr, "barycoords: measuring dgemm failed\n");
        return 1;
    }
    run(&o, anchors, dgemm);
    return 0;
}
