/*
 * W4: minimum Kantorovich estimation of three ellipses as in
 * ../shared/anchors (w4_mke_ellipses.py): 3 ellipses × 200 Vogel samples of
 * the unit disk (otad_disk_samples) pushed through x = m_k + A_k z, 600
 * model points of weight 1/600, against the 1800 data points of
 * tests/data/w4 (weights 1/1800), ε = 0.01, L = 100 Sinkhorn iterations,
 * the loss W_L = ⟨P_L, C⟩ (otad_mke with value OTAD_SINKHORN_COST,
 * debiased = 0) at θ_init (m = (0.35, 0.40), (0.60, 0.40), (0.50, 0.60),
 * A = 0.1 I).  Three parts:
 *
 *   1. one evaluation, loss only and loss + gradient to θ (θ an otad_param,
 *      the tape reset before each evaluation), median of 5 after one
 *      warm-up (3 with --quick), for each gradient mode and thread count,
 *      beside the PyTorch reference's fwd and fwd+bwd in the same run (its
 *      own protocol, also median of 5 after one warm-up) under jemalloc
 *      without purging and under glibc malloc; the peak RSS of every process
 *      (wait4), the tape's peak arena bytes, the loss and gradient against
 *      tests/data/w4/loss_grad_at_init.npy, and the rate of kernel traffic
 *      of the loss (counted below, at print_notes);
 *   2. the fit: otad_mke_fit with L-BFGS (max_iterations 100, the driver's
 *      defaults otherwise) in each mode, beside the reference's
 *      torch.optim.LBFGS run (its own stopping rules; 96 iterations and 105
 *      evaluations when the anchors were made);
 *   3. loss + gradient memory as L grows: each mode at each L of --L, the
 *      IMPLICIT forward stopping once the marginal error is at most
 *      --tolerance (so the L run may be less than the L asked).
 *
 *   mke [--threads 1,2] [--modes unroll,checkpoint,implicit] [--L 100,300,1000]
 *       [--tolerance 1e-9] [--quick] [--no-reference] [--anchors DIR] [--data DIR]
 *
 * --quick: 3 timed evaluations (1 in part 3) and no fits, for a smoke test.
 * Every configuration runs in a fresh process with its thread count set
 * before the libraries start, so that its peak RSS is its own.  Parts 2 and
 * 3 run on the first thread count given.  A configuration that fails (an
 * IMPLICIT adjoint that does not converge, say) prints its error in the
 * table instead of figures.  The anchors are --anchors DIR, else
 * $OTAD_ANCHORS, else ../shared/anchors from the working directory or from
 * the repository above the build directory holding this program; the data
 * --data DIR, else tests/data/w4 found the same way.  The defaults take
 * about 4 minutes on the 2-core machine, half of it the reference's fit,
 * most of the rest our fits and part 3 at L = 1000; --quick about a minute.
 */
#include "measure.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <strings.h>

#include "otad.h"

enum { ELLIPSES = 3, SAMPLES = 200, N_MODEL = ELLIPSES * SAMPLES, N_DATA = 1800 };
enum { N_PARAMS = 6 * ELLIPSES, L_DEFAULT = 100, FIT_ITERATIONS = 100 };
enum { REPEATS = 5, QUICK_REPEATS = 3 };
enum { MAX_THREADS = 4, MAX_MODES = 3, MAX_L = 8 };
static const double eps = 0.01;

/* The reference's fit when the anchors were made (its info.json). */
static const int reference_fit_iterations = 96, reference_fit_evaluations = 105;

/* The targets of the issue, quoted in the notes (this program judges none). */
static const double target_speedup = 3.0, target_rss_fraction = 0.2;

static const otad_grad_mode all_modes[MAX_MODES] = {OTAD_UNROLL, OTAD_CHECKPOINT,
                                                    OTAD_IMPLICIT};

static const char *mode_name(otad_grad_mode m)
{
    return m == OTAD_UNROLL ? "UNROLL" : m == OTAD_CHECKPOINT ? "CHECKPOINT" : "IMPLICIT";
}

static int parse_mode(const char *s, size_t len, otad_grad_mode *m)
{
    for (size_t i = 0; i < MAX_MODES; i++)
        if (strlen(mode_name(all_modes[i])) == len && strncasecmp(s, mode_name(all_modes[i]),
                                                                  len) == 0) {
            *m = all_modes[i];
            return 0;
        }
    return -1;
}

/* ---- JSON in and out ---------------------------------------------------------- */

/* s with quotes and backslashes escaped and control characters blanked, so
 * that it can stand between the quotes of a JSON string. */
static void json_escape(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 3 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[k++] = '\\', out[k++] = *s;
        else
            out[k++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    }
    out[k] = '\0';
}

/* The string after `"key": "` in a JSON line, unescaped; "" when absent. */
static void json_string(const char *json, const char *key, char *out, size_t cap)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\": \"", key);
    const char *p = strstr(json, pattern);
    size_t k = 0;
    if (p)
        for (p += strlen(pattern); *p && *p != '"' && k + 1 < cap; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[k++] = *p;
        }
    out[k] = '\0';
}

/* ---- the workload --------------------------------------------------------------- */

typedef struct w4 {
    otad_value data, theta_init, theta_true, reference; /* read from the .npy files */
    double z[2 * SAMPLES];
    otad_mke_ellipses ellipses;
    otad_mke problem;
    double theta[N_PARAMS], grad[N_PARAMS];
} w4;

static void w4_free(w4 *w)
{
    free(w->data.data), free(w->theta_init.data), free(w->theta_true.data);
    free(w->reference.data);
}

static int read_npy(const char *dir, const char *name, size_t rows, size_t cols,
                    otad_value *out, otad_error *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = otad_npy_read_matrix(path, out, err);
    if (rc == OTAD_OK && (out->rows != rows || out->cols != cols))
        rc = otad_error_set(err, OTAD_ESHAPE, "%s is %zu×%zu, expected %zu×%zu", path,
                            out->rows, out->cols, rows, cols);
    return rc;
}

/* The problem at θ_init with L iterations, the given gradient mode and the
 * forward's tolerance (0: exactly L). */
static int w4_setup(w4 *w, const char *dir, otad_grad_mode mode, int iterations,
                    double tolerance, otad_error *err)
{
    memset(w, 0, sizeof *w);
    int rc;
    if ((rc = read_npy(dir, "data_points.npy", N_DATA, 2, &w->data, err)) != OTAD_OK ||
        (rc = read_npy(dir, "theta_init.npy", N_PARAMS, 1, &w->theta_init, err)) != OTAD_OK ||
        (rc = read_npy(dir, "theta_true.npy", N_PARAMS, 1, &w->theta_true, err)) != OTAD_OK ||
        (rc = read_npy(dir, "loss_grad_at_init.npy", N_PARAMS + 1, 1, &w->reference, err)) !=
            OTAD_OK)
        return rc;
    memcpy(w->theta, w->theta_init.data, sizeof w->theta);
    otad_disk_samples(SAMPLES, w->z);
    otad_mke *p = &w->problem;
    otad_mke_init(p);
    p->dim = 2;
    p->n_data = N_DATA;
    p->data = w->data.data;
    p->eps = eps;
    p->value = OTAD_SINKHORN_COST;
    p->debiased = 0;
    p->sinkhorn.iterations = iterations;
    p->sinkhorn.tolerance = tolerance;
    p->sinkhorn.mode = mode;
    if ((rc = otad_mke_use_ellipses(p, &w->ellipses, ELLIPSES, SAMPLES, w->z, err)) != OTAD_OK)
        return rc;
    return otad_mke_check(p, err);
}

/* The Sinkhorn updates the loss runs and the marginal error max ‖u⊙Kv − a‖₁
 * after them: the same solve recorded by hand (otad_mke_build reports
 * neither), in the problem's mode, value only, so that it needs no more
 * memory than the evaluations before it.  A tolerance too small to stop
 * anything, checked after the last update only, makes the solve measure the
 * error without changing the updates. */
static void sinkhorn_probe(otad_tape *t, w4 *w, int *iterations, double *marginal)
{
    otad_tape_reset(t);
    otad_var x, a;
    otad_var th = otad_const(t, N_PARAMS, 1, w->theta);
    otad_mke_ellipses_model(t, th, &w->ellipses, &x, &a);
    otad_var y = otad_const(t, N_DATA, 2, w->data.data);
    otad_kernel k = otad_kernel_gibbs_points(t, x, y, eps);
    otad_sinkhorn_opts o = w->problem.sinkhorn;
    if (!(o.tolerance > 0))
        o.tolerance = DBL_MIN, o.check_every = o.iterations;
    otad_sinkhorn s;
    int rc = otad_sinkhorn_solve(t, k, otad_const_fill(t, N_MODEL, 1, 1.0 / N_MODEL),
                                 otad_const_fill(t, N_DATA, 1, 1.0 / N_DATA), &o, &s);
    *iterations = rc == OTAD_OK ? s.iterations : -1;
    *marginal = rc == OTAD_OK ? s.marginal_error : NAN;
    otad_tape_reset(t);
}

static double relative_difference(const double *x, const double *y, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        d += (x[i] - y[i]) * (x[i] - y[i]), s += y[i] * y[i];
    return sqrt(d / s);
}

/* Ends a RESULT line with the error, escaped ("" when none). */
static void print_result_error(const char *error)
{
    char escaped[600];
    json_escape(error, escaped, sizeof escaped);
    printf(", \"error\": \"%s\"}\n", escaped);
}

static int eval_worker(const char *dir, otad_grad_mode mode, int iterations, double tolerance,
                       int repeats)
{
    w4 w;
    otad_error err = {""};
    otad_tape *t = NULL;
    repeats = repeats < 1 ? 1 : repeats > MAX_TIMED_REPEATS ? MAX_TIMED_REPEATS : repeats;
    int rc = w4_setup(&w, dir, mode, iterations, tolerance, &err);
    if (rc == OTAD_OK && (rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        otad_error_set(&err, rc, "cannot create a tape");
    double setup_mb = peak_rss_mb(), fwd = NAN, fwdbwd = NAN, loss = NAN, loss_fwd = NAN;
    int fwd_rc = rc, run = -1;
    double marginal = NAN, tape_mb = NAN;
    objective o = {otad_mke_build, &w.problem, N_PARAMS, w.theta, w.grad};
    if (rc == OTAD_OK) {
        fwd_rc = median_time(t, &o, 0, 1, repeats, &loss_fwd, &fwd);
        rc = fwd_rc == OTAD_OK ? median_time(t, &o, 1, 1, repeats, &loss, &fwdbwd) : fwd_rc;
        if (rc != OTAD_OK)
            otad_error_set(&err, rc, "%s", otad_tape_message(t));
        otad_tape_stats s;
        otad_tape_stats_get(t, &s);
        tape_mb = (double)s.peak_bytes / 1048576.0;
        if (fwd_rc == OTAD_OK)
            sinkhorn_probe(t, &w, &run, &marginal);
    }
    const double *ref = w.reference.data;
    double value = rc == OTAD_OK ? loss : loss_fwd;
    double loss_diff = ref ? fabs(value - ref[0]) / fabs(ref[0]) : NAN;
    double grad_diff = rc == OTAD_OK ? relative_difference(w.grad, ref + 1, N_PARAMS) : NAN;
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"fwd_ok\": %d, \"fwdbwd_ok\": %d, "
           "\"loss\": %.17g, \"loss_diff\": %.3g, \"grad_diff\": %.3g, \"tape_mb\": %.3f, "
           "\"setup_mb\": %.1f, \"iterations\": %d, \"marginal\": %.3g", fwd, fwdbwd,
           fwd_rc == OTAD_OK, rc == OTAD_OK, value, loss_diff, grad_diff, tape_mb, setup_mb,
           run, marginal);
    print_result_error(rc == OTAD_OK ? "" : err.message);
    otad_tape_free(&t);
    w4_free(&w);
    return 0;
}

/* Every tenth iteration of a fit, to stderr: the fits take a while. */
static int fit_progress(const otad_lbfgs_progress *p, void *instance)
{
    if (p->iteration % 10 == 0) {
        fprintf(stderr, "    fit %s: iteration %d, %d evaluations, loss %.7g, %.1f s\n",
                (const char *)instance, p->iteration, p->evaluations, p->loss, p->seconds);
        fflush(stderr);
    }
    return 0;
}

/* The largest distance of a fitted centre from the true one. */
static double centre_error(const double *theta, const double *truth)
{
    double worst = 0;
    for (size_t k = 0; k < ELLIPSES; k++)
        worst = fmax(worst, hypot(theta[6 * k] - truth[6 * k],
                                  theta[6 * k + 1] - truth[6 * k + 1]));
    return worst;
}

static int fit_worker(const char *dir, otad_grad_mode mode, int max_iterations)
{
    w4 w;
    otad_error err = {""};
    int rc = w4_setup(&w, dir, mode, L_DEFAULT, 0, &err);
    otad_mke_result r;
    memset(&r, 0, sizeof r);
    double seconds = NAN, centre = NAN;
    if (rc == OTAD_OK) {
        otad_lbfgs_params params;
        otad_lbfgs_params_init(&params);
        params.max_iterations = max_iterations;
        params.progress = fit_progress;
        params.progress_instance = (void *)mode_name(mode);
        double t0 = now_seconds();
        rc = otad_mke_fit(&w.problem, w.theta_init.data, &params, &r, &err);
        seconds = now_seconds() - t0;
        if (rc == OTAD_OK)
            centre = centre_error(r.theta, w.theta_true.data);
    }
    printf("RESULT {\"seconds\": %.6g, \"iterations\": %d, \"evaluations\": %d, "
           "\"loss\": %.17g, \"centre\": %.3g, \"ok\": %d, \"lbfgs\": \"%s\"", seconds,
           r.lbfgs.iterations, r.lbfgs.evaluations, rc == OTAD_OK ? r.lbfgs.loss : NAN, centre,
           rc == OTAD_OK, r.lbfgs.lbfgs_message ? r.lbfgs.lbfgs_message : "");
    print_result_error(rc == OTAD_OK ? "" : err.message);
    otad_mke_result_free(&r);
    w4_free(&w);
    return 0;
}

/* ---- the machine ------------------------------------------------------------------ */

typedef struct sinkhorn_gemv {
    double *k, *u, *v;
} sinkhorn_gemv;

/* One Sinkhorn iteration's products with a dense N_MODEL × N_DATA kernel:
 * K v, then Kᵀu. */
static void run_sinkhorn_gemv(void *arg)
{
    sinkhorn_gemv *g = arg;
    for (int l = 0; l < 10; l++) {
        cblas_dgemv(CblasColMajor, CblasNoTrans, N_MODEL, N_DATA, 1.0, g->k, N_MODEL, g->v, 1,
                    0.0, g->u, 1);
        cblas_dgemv(CblasColMajor, CblasTrans, N_MODEL, N_DATA, 1.0, g->k, N_MODEL, g->u, 1,
                    0.0, g->v, 1);
    }
}

/* The rate at which OpenBLAS streams this workload's kernel through K v and
 * Kᵀu (8.6 MB, which may sit in the last-level cache), GB/s. */
static double measured_sinkhorn_gemv_gbs(void)
{
    sinkhorn_gemv g;
    size_t n = (size_t)N_MODEL * N_DATA;
    g.k = malloc(n * sizeof *g.k), g.u = malloc(N_MODEL * sizeof *g.u);
    g.v = malloc(N_DATA * sizeof *g.v);
    if (!g.k || !g.u || !g.v)
        return 0;
    for (size_t i = 0; i < n; i++)
        g.k[i] = 1.0 / (double)(1 + i % 7) / N_DATA;
    for (size_t j = 0; j < N_DATA; j++)
        g.v[j] = 1;
    double t = best_time(run_sinkhorn_gemv, &g, 5);
    free(g.k), free(g.u), free(g.v);
    return 20.0 * (double)(n * sizeof(double)) / t * 1e-9;
}

static int machine(void)
{
    printf("RESULT {\"dgemm_gflops\": %.4g, \"stream_gbs\": %.4g, \"gemv_gbs\": %.4g}\n",
           measured_dgemm_gflops(), measured_stream_gbs(), measured_sinkhorn_gemv_gbs());
    return 0;
}

/* ---- the driver ----------------------------------------------------------------------- */

typedef struct options {
    size_t threads[MAX_THREADS], n_threads;
    otad_grad_mode modes[MAX_MODES];
    size_t n_modes;
    size_t ls[MAX_L], n_ls;
    double tolerance;
    int quick, reference;
    const char *anchors, *data;
} options;

typedef struct eval_row {
    int answered, fwd_ok, fwdbwd_ok, iterations, threads, repeats, asked;
    otad_grad_mode mode;
    double tolerance;
    double fwd, fwdbwd, loss, loss_diff, grad_diff, tape_mb, setup_mb, marginal, peak;
    char error[300];
} eval_row;

typedef struct ref_row {
    int answered;
    double fwd, fwdbwd, loss, peak;
    double fit_seconds, fit_loss, fit_iterations, fit_evaluations, fit_centre;
} ref_row;

typedef struct fit_row {
    int answered, ok;
    double seconds, loss, iterations, evaluations, centre, peak;
    char lbfgs[120], error[300];
} fit_row;

static int has_file(const char *dir, const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, R_OK) == 0;
}

/* The directory given, else the environment's, else `relative` from the
 * working directory, else from the repository of this program; NULL when
 * none holds `file`. */
static const char *find_dir(const char *given, const char *env, const char *relative,
                            const char *file, char *out, size_t cap)
{
    const char *d = given ? given : env ? getenv(env) : NULL;
    snprintf(out, cap, "%s", d ? d : relative);
    if (!d && !has_file(out, file)) {
        char repo[sizeof self_path];
        repository_of_self(repo, sizeof repo);
        snprintf(out, cap, "%s/%s", repo, relative);
    }
    if (!has_file(out, file))
        return NULL;
    char resolved[PATH_MAX];
    if (realpath(out, resolved))
        snprintf(out, cap, "%s", resolved);
    return out;
}

static const char *find_anchors(const options *o, const char **why)
{
    static char dir[PATH_MAX];
    if (!o->reference) {
        *why = "switched off (--no-reference)";
        return NULL;
    }
    if (!find_dir(o->anchors, "OTAD_ANCHORS", "../shared/anchors", "w4_mke_ellipses.py", dir,
                  sizeof dir)) {
        *why = "w4_mke_ellipses.py not found (--anchors DIR or OTAD_ANCHORS)";
        return NULL;
    }
    if (system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0) {
        *why = "/usr/bin/python3 cannot import torch and numpy";
        return NULL;
    }
    return dir;
}

static void copy_error(const char *out, char *error, size_t cap)
{
    json_string(out, "error", error, cap);
}

static void run_eval(const char *data, otad_grad_mode mode, int iterations, double tolerance,
                     int threads, int repeats, eval_row *r)
{
    char out[8192], mode_arg[16], l_arg[16], tol_arg[32], rep_arg[16];
    snprintf(mode_arg, sizeof mode_arg, "%d", (int)mode);
    snprintf(l_arg, sizeof l_arg, "%d", iterations);
    snprintf(tol_arg, sizeof tol_arg, "%.17g", tolerance);
    snprintf(rep_arg, sizeof rep_arg, "%d", repeats);
    char *const argv[] = {self_path, "--eval", (char *)data, mode_arg, l_arg, tol_arg, rep_arg,
                          NULL};
    memset(r, 0, sizeof *r);
    r->mode = mode, r->asked = iterations, r->tolerance = tolerance;
    r->threads = threads, r->repeats = repeats;
    fflush(stdout);
    if (run_fresh(argv, threads, NULL, out, sizeof out, &r->peak) != 0) {
        r->fwd = r->fwdbwd = r->loss = r->loss_diff = r->grad_diff = NAN;
        r->tape_mb = r->setup_mb = r->marginal = r->peak = NAN;
        snprintf(r->error, sizeof r->error, "the worker process failed");
        return;
    }
    r->answered = 1;
    r->fwd = json_number(out, "fwd"), r->fwdbwd = json_number(out, "fwdbwd");
    r->fwd_ok = json_number(out, "fwd_ok") == 1, r->fwdbwd_ok = json_number(out, "fwdbwd_ok") == 1;
    r->loss = json_number(out, "loss"), r->loss_diff = json_number(out, "loss_diff");
    r->grad_diff = json_number(out, "grad_diff"), r->tape_mb = json_number(out, "tape_mb");
    r->setup_mb = json_number(out, "setup_mb"), r->marginal = json_number(out, "marginal");
    r->iterations = (int)json_number(out, "iterations");
    copy_error(out, r->error, sizeof r->error);
}

static void run_fit(const char *data, otad_grad_mode mode, int threads, fit_row *r)
{
    char out[8192], mode_arg[16], it_arg[16];
    snprintf(mode_arg, sizeof mode_arg, "%d", (int)mode);
    snprintf(it_arg, sizeof it_arg, "%d", FIT_ITERATIONS);
    char *const argv[] = {self_path, "--fit", (char *)data, mode_arg, it_arg, NULL};
    memset(r, 0, sizeof *r);
    fflush(stdout);
    if (run_fresh(argv, threads, NULL, out, sizeof out, &r->peak) != 0) {
        r->seconds = r->loss = r->iterations = r->evaluations = r->centre = r->peak = NAN;
        snprintf(r->error, sizeof r->error, "the worker process failed");
        return;
    }
    r->answered = 1;
    r->ok = json_number(out, "ok") == 1;
    r->seconds = json_number(out, "seconds"), r->loss = json_number(out, "loss");
    r->iterations = json_number(out, "iterations");
    r->evaluations = json_number(out, "evaluations"), r->centre = json_number(out, "centre");
    json_string(out, "lbfgs", r->lbfgs, sizeof r->lbfgs);
    copy_error(out, r->error, sizeof r->error);
}

/* w4_mke_ellipses.py --worker, under jemalloc without purging or under
 * glibc malloc (run_python_worker picks jemalloc whenever installed). */
static int run_reference(const char *anchors, const char *config, int threads, int jemalloc,
                         char *out, size_t cap, double *peak_mb)
{
    char script[PATH_MAX + 64];
    snprintf(script, sizeof script, "%s/w4_mke_ellipses.py", anchors);
    char *const argv[] = {"/usr/bin/python3", script, "--worker", (char *)config, NULL};
    fflush(stdout);
    return run_fresh(argv, threads, jemalloc ? jemalloc_path : NULL, out, cap, peak_mb);
}

/* One reference worker: an evaluation, with its L-BFGS fit when fit is set.
 * The fit's RESULT line holds a loss and a time per evaluation, so it is
 * long; the figures read come before them or are checked to be there. */
static void reference_run(const char *anchors, int threads, int jemalloc, int fit, ref_row *r)
{
    char config[256], out[8192];
    *r = (ref_row){0, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    if (!anchors)
        return;
    snprintf(config, sizeof config, "{\"threads\": %d, \"fit\": %s, \"max_iter\": %d, "
             "\"alloc\": \"%s\"}", threads, fit ? "true" : "false", FIT_ITERATIONS,
             jemalloc ? "jemalloc" : "default");
    if (run_reference(anchors, config, threads, jemalloc, out, sizeof out, &r->peak) != 0) {
        r->peak = NAN;
        return;
    }
    r->answered = 1;
    r->fwd = json_nested(out, "fwd", "median_s"), r->fwdbwd = json_nested(out, "fwdbwd", "median_s");
    r->loss = json_number(out, "loss_init");
    if (!fit)
        return;
    r->fit_seconds = json_number(out, "total_s");
    r->fit_evaluations = json_number(out, "n_evals");
    r->fit_iterations = json_number(out, "n_iter");
    r->fit_loss = json_number(out, "final_loss");
    r->fit_centre = json_number(out, "center_err_max");
}

/* ---- tables ------------------------------------------------------------------------------ */

/* Markdown cells of fixed width: a number, one in scientific notation, a
 * ratio, a text; "-" for NaN. */
static void md_num(int width, int precision, double x)
{
    if (x != x)
        printf(" %*s |", width, "-");
    else
        printf(" %*.*f |", width, precision, x);
}

static void md_sci(int width, double x)
{
    if (x != x)
        printf(" %*s |", width, "-");
    else
        printf(" %*.1e |", width, x);
}

static void md_ratio(int width, double x)
{
    if (x != x)
        printf(" %*s |", width, "-");
    else
        printf(" %*.1fx |", width - 1, x);
}

/* Columns count characters, not the bytes of their UTF-8. */
static void md_text(int width, const char *s)
{
    int chars = 0;
    for (const char *c = s; *c; c++)
        chars += (*c & 0xC0) != 0x80;
    printf(" %s%*s |", s, width > chars ? width - chars : 0, "");
}

static void md_rule(const int *widths, size_t n)
{
    printf("|");
    for (size_t i = 0; i < n; i++) {
        printf("-");
        for (int k = 0; k < widths[i]; k++)
            printf("-");
        printf("-|");
    }
    printf("\n");
}

static void md_header(const char *const *names, const int *widths, size_t n)
{
    printf("|");
    for (size_t i = 0; i < n; i++)
        md_text(widths[i], names[i]);
    printf("\n");
    md_rule(widths, n);
}

/* Bytes of kernel traffic in one loss: K (N_MODEL × N_DATA doubles) read
 * twice per Sinkhorn update. */
static double kernel_bytes(int iterations)
{
    return 2.0 * iterations * N_MODEL * (double)N_DATA * sizeof(double);
}

typedef struct machine_figures {
    double dgemm, stream, gemv;
} machine_figures;

/* The note of a row: the error of a failed configuration, with the time of
 * the evaluation that failed. */
static void print_error(const eval_row *r)
{
    double failed_after = !r->fwd_ok ? r->fwd : !r->fwdbwd_ok ? r->fwdbwd : NAN;
    if (!r->error[0])
        printf("\n");
    else if (isnan(failed_after))
        printf(" %s\n", r->error);
    else
        printf(" %s (%s failed after %.2f s)\n", r->error, r->fwd_ok ? "loss+grad" : "loss",
               failed_after);
    fflush(stdout);
}

/* Part 1. */
static const char *const eval_names[] = {
    "thr", "run", "loss s", "loss+grad s", "bwd/fwd", "ref/ours loss", "ref/ours l+g",
    "peak MB", "ref/ours RSS", "tape MB", "K GB/s", "%gemv", "loss diff", "grad diff", "note"};
static const int eval_widths[] = {3, 14, 8, 11, 7, 13, 12, 7, 12, 7, 6, 5, 9, 9, 4};

static void print_eval_row(const eval_row *r, const ref_row *ref, machine_figures m)
{
    printf("|");
    md_num(3, 0, r->threads);
    md_text(14, mode_name(r->mode));
    md_num(8, 4, r->fwd_ok ? r->fwd : NAN);
    md_num(11, 4, r->fwdbwd_ok ? r->fwdbwd : NAN);
    md_num(7, 2, r->fwdbwd_ok ? (r->fwdbwd - r->fwd) / r->fwd : NAN);
    md_ratio(13, r->fwd_ok ? ref->fwd / r->fwd : NAN);
    md_ratio(12, r->fwdbwd_ok ? ref->fwdbwd / r->fwdbwd : NAN);
    md_num(7, 1, r->peak), md_ratio(12, ref->peak / r->peak), md_num(7, 2, r->tape_mb);
    double gbs = r->fwd_ok ? kernel_bytes(r->iterations) / r->fwd * 1e-9 : NAN;
    md_num(6, 1, gbs), md_num(5, 0, 100 * gbs / m.gemv);
    md_sci(9, r->loss_diff), md_sci(9, r->fwdbwd_ok ? r->grad_diff : NAN);
    print_error(r);
}

static void print_ref_row(const ref_row *r, int threads, int jemalloc, machine_figures m,
                          double expected_loss)
{
    printf("|");
    md_num(3, 0, threads);
    md_text(14, jemalloc ? "torch jemalloc" : "torch glibc");
    md_num(8, 4, r->fwd), md_num(11, 4, r->fwdbwd);
    md_num(7, 2, (r->fwdbwd - r->fwd) / r->fwd);
    md_text(13, ""), md_text(12, "");
    md_num(7, 1, r->peak), md_text(12, "");
    md_text(7, "");
    double gbs = kernel_bytes(L_DEFAULT) / r->fwd * 1e-9;
    md_num(6, 1, gbs), md_num(5, 0, 100 * gbs / m.gemv);
    md_sci(9, fabs(r->loss - expected_loss) / expected_loss), md_text(9, "");
    printf("%s\n", r->answered ? "" : " the reference failed");
    fflush(stdout);
}

/* Part 2. */
static const char *const fit_names[] = {"run", "iterations", "evaluations", "total s",
                                        "s/eval", "final loss", "centre err", "peak MB",
                                        "ref/ours RSS", "note"};
static const int fit_widths[] = {14, 10, 11, 8, 7, 12, 10, 7, 12, 4};

static void print_fit_row(const fit_row *r, otad_grad_mode mode, double ref_peak)
{
    printf("|");
    md_text(14, mode_name(mode));
    md_num(10, 0, r->iterations), md_num(11, 0, r->evaluations);
    md_num(8, 2, r->seconds), md_num(7, 4, r->seconds / r->evaluations);
    md_num(12, 9, r->ok ? r->loss : NAN), md_sci(10, r->centre);
    md_num(7, 1, r->peak), md_ratio(12, ref_peak / r->peak);
    printf(" %s\n", r->error[0] ? r->error : r->lbfgs);
    fflush(stdout);
}

static void print_ref_fit_row(const ref_row *r, int jemalloc)
{
    printf("|");
    md_text(14, jemalloc ? "torch jemalloc" : "torch glibc");
    md_num(10, 0, r->fit_iterations), md_num(11, 0, r->fit_evaluations);
    md_num(8, 2, r->fit_seconds), md_num(7, 4, r->fit_seconds / r->fit_evaluations);
    md_num(12, 9, r->fit_loss), md_sci(10, r->fit_centre);
    md_num(7, 1, r->peak), md_text(12, "");
    printf(" %s\n", r->answered ? "torch.optim.LBFGS, strong Wolfe, its own stopping rules"
                                : "the reference failed");
    fflush(stdout);
}

/* Part 3. */
static const char *const mem_names[] = {"mode", "L asked", "L run", "tolerance",
                                        "marginal err", "loss+grad s", "peak MB", "setup MB",
                                        "tape MB", "grad diff", "note"};
static const int mem_widths[] = {10, 7, 5, 9, 12, 11, 7, 8, 8, 9, 4};

static void print_mem_row(const eval_row *r)
{
    printf("|");
    md_text(10, mode_name(r->mode));
    md_num(7, 0, r->asked), md_num(5, 0, r->iterations > 0 ? r->iterations : NAN);
    md_sci(9, r->tolerance > 0 ? r->tolerance : NAN), md_sci(12, r->marginal);
    md_num(11, 4, r->fwdbwd_ok ? r->fwdbwd : NAN);
    md_num(7, 1, r->peak), md_num(8, 1, r->setup_mb), md_num(8, 2, r->tape_mb);
    md_sci(9, r->fwdbwd_ok ? r->grad_diff : NAN);
    print_error(r);
}

static void print_notes(const options *o)
{
    printf("\nNotes.\nloss: W_L only; loss+grad: W_L and its gradient to θ (18 entries); both "
           "the median of %d evaluations\nafter one warm-up, the tape reset before each "
           "(a failed evaluation stops at once: its time is in the note).\n", o->quick ?
           QUICK_REPEATS : REPEATS);
    printf("bwd/fwd: (loss+grad − loss)/loss.  torch: w4_mke_ellipses.py --worker, median of 5 "
           "after one warm-up,\nunder jemalloc (no purging) and glibc malloc; ref/ours: the "
           "jemalloc run's time or peak RSS over ours.\npeak MB: the process's peak RSS "
           "(wait4); setup MB: its peak RSS before the first evaluation (data,\nlibraries, "
           "OpenBLAS); tape MB: the tape's peak arena bytes (otad_tape_stats), handed out "
           "whether\ntouched or not (the Gibbs kernel reserves its gradient's pack buffers "
           "beside K), so it can exceed peak MB.\n");
    printf("K GB/s: kernel traffic of the loss over its time: the %d×%d kernel K (%.2f MB) is "
           "read twice per\nSinkhorn update (K v, Kᵀu), 2·L·%d·%d·8 bytes; building K and the "
           "final ⟨P, C⟩ are not counted,\nso the figure is a lower bound of the rate.  %%gemv: "
           "it over the rate of OpenBLAS's dgemv on a kernel\nof the same shape (K v, Kᵀu "
           "alternately, warm), measured in this run with the same threads;\nthe streaming "
           "rate (4000² dgemv, out of cache) is in the header.\n", N_MODEL, N_DATA,
           N_MODEL * (double)N_DATA * 8 * 1e-6, N_MODEL, N_DATA);
    printf("loss diff, grad diff: |ours − ref|/|ref| and ‖ours − ref‖/‖ref‖ against "
           "tests/data/w4/loss_grad_at_init.npy,\nthe reference's W_L at L = %d and its "
           "gradient (also in part 3: IMPLICIT's gradient is the converged\nproblem's, so it "
           "differs, and so does W_L's at larger L).\n", L_DEFAULT);
    printf("Fit: otad_mke_fit, L-BFGS max_iterations %d (defaults otherwise), from θ_init, L = "
           "%d; total s: the whole\ncall; final loss: at the best point; centre err: the "
           "largest |m_k − c_k| against theta_true.npy.\nThe reference's fit: %d iterations, "
           "%d evaluations when the anchors were made.\n", FIT_ITERATIONS, L_DEFAULT,
           reference_fit_iterations, reference_fit_evaluations);
    printf("Memory with L: IMPLICIT's forward stops once the marginal error max ‖u⊙Kv − a‖₁ is "
           "at most the tolerance\n(checked every 10 updates); the others run L updates.  "
           "marginal err: after the updates run.\n");
    printf("Targets of the issue, for reading the figures: one thread, per evaluation ≥ %.0fx "
           "faster than the reference,\npeak RSS ≤ %.0f%% of the reference's (ref/ours RSS ≥ "
           "%.0fx), IMPLICIT's memory independent of L.\n", target_speedup,
           100 * target_rss_fraction, 1 / target_rss_fraction);
}

/* ---- options and main ----------------------------------------------------------------------- */

static size_t parse_sizes(const char *s, size_t *out, size_t cap, size_t max)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        char *end;
        out[k] = strtoul(s, &end, 10);
        if (end == s || out[k] == 0 || out[k] > max || (*end != ',' && *end != '\0'))
            return 0;
        s = *end == ',' ? end + 1 : end;
        k++;
    }
    return s && *s ? 0 : k;
}

static size_t parse_modes(const char *s, otad_grad_mode *out, size_t cap)
{
    size_t k = 0;
    while (s && *s && k < cap) {
        size_t len = strcspn(s, ",");
        if (parse_mode(s, len, &out[k]) != 0)
            return 0;
        s += len + (s[len] == ',');
        k++;
    }
    return s && *s ? 0 : k;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{1}, 1, {OTAD_UNROLL, OTAD_CHECKPOINT, OTAD_IMPLICIT}, 3, {100, 300, 1000},
                   3, 1e-9, 0, 1, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--quick") == 0)
            o->quick = 1;
        else if (strcmp(argv[i], "--threads") == 0 && has_value)
            o->n_threads = parse_sizes(argv[++i], o->threads, MAX_THREADS, 64);
        else if (strcmp(argv[i], "--modes") == 0 && has_value)
            o->n_modes = parse_modes(argv[++i], o->modes, MAX_MODES);
        else if (strcmp(argv[i], "--L") == 0 && has_value)
            o->n_ls = parse_sizes(argv[++i], o->ls, MAX_L, 1000000);
        else if (strcmp(argv[i], "--tolerance") == 0 && has_value)
            o->tolerance = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--anchors") == 0 && has_value)
            o->anchors = argv[++i];
        else if (strcmp(argv[i], "--data") == 0 && has_value)
            o->data = argv[++i];
        else
            return -1;
        if (o->n_threads == 0 || o->n_modes == 0 || o->n_ls == 0 || !(o->tolerance >= 0))
            return -1;
    }
    return 0;
}

static int measure_machines(const options *o, machine_figures *m)
{
    printf("Machine: %ld cores", sysconf(_SC_NPROCESSORS_ONLN));
    for (size_t ti = 0; ti < o->n_threads; ti++) {
        char out[8192];
        double peak;
        char *const argv[] = {self_path, "--machine", NULL};
        fflush(stdout);
        if (run_fresh(argv, (int)o->threads[ti], NULL, out, sizeof out, &peak) != 0)
            return -1;
        m[ti] = (machine_figures){json_number(out, "dgemm_gflops"),
                                  json_number(out, "stream_gbs"), json_number(out, "gemv_gbs")};
        printf("; %zu thread%s: dgemm %.1f GFLOP/s, stream %.1f GB/s, dgemv %d×%d %.1f GB/s",
               o->threads[ti], o->threads[ti] == 1 ? "" : "s", m[ti].dgemm, m[ti].stream,
               N_MODEL, N_DATA, m[ti].gemv);
    }
    printf(".\n");
    return 0;
}

typedef struct results {
    eval_row eval[MAX_THREADS][MAX_MODES];
    ref_row ref[MAX_THREADS][2]; /* [.][1]: jemalloc */
    fit_row fit[MAX_MODES];
    ref_row ref_fit;
    eval_row mem[MAX_MODES][MAX_L];
} results;

static int with_jemalloc(int k)
{
    return k == 1;
}

static void part_evaluations(const options *o, const char *data, const char *anchors,
                             const machine_figures *m, double expected_loss, results *res)
{
    int repeats = o->quick ? QUICK_REPEATS : REPEATS;
    printf("\n## 1. One evaluation at θ_init, L = %d\n\n", L_DEFAULT);
    md_header(eval_names, eval_widths, sizeof eval_widths / sizeof *eval_widths);
    for (size_t ti = 0; ti < o->n_threads; ti++) {
        int threads = (int)o->threads[ti];
        for (int k = 1; k >= 0; k--) {
            ref_row *r = &res->ref[ti][k];
            if (with_jemalloc(k) && !have_jemalloc())
                continue;
            reference_run(anchors, threads, with_jemalloc(k), 0, r);
            if (anchors)
                print_ref_row(r, threads, with_jemalloc(k), m[ti], expected_loss);
        }
        const ref_row *ref = &res->ref[ti][have_jemalloc() ? 1 : 0];
        for (size_t mi = 0; mi < o->n_modes; mi++) {
            run_eval(data, o->modes[mi], L_DEFAULT, 0, threads, repeats, &res->eval[ti][mi]);
            print_eval_row(&res->eval[ti][mi], ref, m[ti]);
        }
    }
}

static void part_fits(const options *o, const char *data, const char *anchors, results *res)
{
    int threads = (int)o->threads[0];
    printf("\n## 2. The fit: L-BFGS, at most %d iterations, %d thread%s\n\n", FIT_ITERATIONS,
           threads, threads == 1 ? "" : "s");
    if (o->quick) {
        printf("Not run (--quick).\n");
        return;
    }
    double ref_peak = NAN;
    if (anchors) {
        fprintf(stderr, "    fit: the PyTorch reference (%s; 33 s on an idle machine)\n",
                have_jemalloc() ? "jemalloc" : "glibc malloc");
        reference_run(anchors, threads, have_jemalloc(), 1, &res->ref_fit);
        ref_peak = res->ref_fit.peak;
    }
    md_header(fit_names, fit_widths, sizeof fit_widths / sizeof *fit_widths);
    if (anchors)
        print_ref_fit_row(&res->ref_fit, have_jemalloc());
    for (size_t mi = 0; mi < o->n_modes; mi++) {
        fprintf(stderr, "    fit %s: started\n", mode_name(o->modes[mi]));
        run_fit(data, o->modes[mi], threads, &res->fit[mi]);
        print_fit_row(&res->fit[mi], o->modes[mi], ref_peak);
    }
}

/* The configuration already measured in part 1, if any. */
static const eval_row *measured(const results *res, const options *o, otad_grad_mode mode,
                                int iterations, double tolerance, int threads, int repeats)
{
    for (size_t ti = 0; ti < o->n_threads; ti++)
        for (size_t mi = 0; mi < o->n_modes; mi++) {
            const eval_row *r = &res->eval[ti][mi];
            if (r->answered && r->mode == mode && r->asked == iterations &&
                r->tolerance == tolerance && r->threads == threads && r->repeats == repeats)
                return r;
        }
    return NULL;
}

static void part_memory(const options *o, const char *data, results *res)
{
    int threads = (int)o->threads[0], repeats = o->quick ? 1 : REPEATS;
    printf("\n## 3. Loss + gradient memory as L grows, %d thread%s (IMPLICIT: tolerance %.0e)"
           "\n\n", threads, threads == 1 ? "" : "s", o->tolerance);
    md_header(mem_names, mem_widths, sizeof mem_widths / sizeof *mem_widths);
    for (size_t mi = 0; mi < o->n_modes; mi++)
        for (size_t li = 0; li < o->n_ls; li++) {
            otad_grad_mode mode = o->modes[mi];
            double tol = mode == OTAD_IMPLICIT ? o->tolerance : 0;
            eval_row *r = &res->mem[mi][li];
            const eval_row *known = measured(res, o, mode, (int)o->ls[li], tol, threads,
                                             repeats);
            if (known)
                *r = *known;
            else
                run_eval(data, mode, (int)o->ls[li], tol, threads, repeats, r);
            print_mem_row(r);
        }
}

static void md_list(double *x, size_t n, int precision, char *out, size_t cap)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s%.*f", i ? " / " : "", precision, x[i]);
}

/* One line per mode with the headline figures of the three parts. */
static void part_summary(const options *o, const results *res)
{
    char ls[64] = "";
    md_list((double[]){(double)o->ls[0], (double)o->ls[1 % o->n_ls], (double)o->ls[2 % o->n_ls]},
            o->n_ls < 3 ? o->n_ls : 3, 0, ls, sizeof ls);
    char tape_name[96], peak_name[96];
    snprintf(tape_name, sizeof tape_name, "tape MB, L = %s", ls);
    snprintf(peak_name, sizeof peak_name, "peak MB, L = %s", ls);
    int threads = (int)o->threads[0];
    printf("\n## Summary, %d thread%s\n\n", threads, threads == 1 ? "" : "s");
    const char *const names[] = {"run", "loss+grad s", "ref/ours l+g", "peak MB",
                                 "ref/ours RSS", "fit s", "fit loss", tape_name, peak_name};
    int widths[] = {14, 11, 12, 7, 12, 7, 11, 0, 0};
    widths[7] = (int)strlen(tape_name) > 24 ? (int)strlen(tape_name) : 24;
    widths[8] = widths[7];
    md_header(names, widths, 9);
    const ref_row *ref = &res->ref[0][have_jemalloc() ? 1 : 0];
    if (ref->answered) {
        printf("|");
        md_text(14, have_jemalloc() ? "torch jemalloc" : "torch glibc");
        md_num(11, 4, ref->fwdbwd), md_text(12, ""), md_num(7, 1, ref->peak), md_text(12, "");
        int fitted = res->ref_fit.answered;
        md_num(7, 2, fitted ? res->ref_fit.fit_seconds : NAN);
        md_num(11, 7, fitted ? res->ref_fit.fit_loss : NAN);
        md_text(widths[7], ""), md_text(widths[8], "");
        printf("\n");
    }
    for (size_t mi = 0; mi < o->n_modes; mi++) {
        const eval_row *e = &res->eval[0][mi];
        const fit_row *f = &res->fit[mi];
        double tape[3], peak[3];
        size_t n = o->n_ls < 3 ? o->n_ls : 3;
        for (size_t li = 0; li < n; li++) {
            const eval_row *r = &res->mem[mi][li];
            tape[li] = r->fwdbwd_ok ? r->tape_mb : NAN;
            peak[li] = r->fwdbwd_ok ? r->peak : NAN;
        }
        char tapes[96], peaks[96];
        md_list(tape, n, 2, tapes, sizeof tapes), md_list(peak, n, 1, peaks, sizeof peaks);
        printf("|");
        md_text(14, mode_name(o->modes[mi]));
        md_num(11, 4, e->fwdbwd_ok ? e->fwdbwd : NAN);
        md_ratio(12, e->fwdbwd_ok ? ref->fwdbwd / e->fwdbwd : NAN);
        md_num(7, 1, e->peak), md_ratio(12, ref->peak / e->peak);
        md_num(7, 2, f->answered && f->ok ? f->seconds : NAN);
        md_num(11, 7, f->answered && f->ok ? f->loss : NAN);
        md_text(widths[7], strstr(tapes, "nan") ? "failed (see part 3)" : tapes);
        md_text(widths[8], strstr(peaks, "nan") ? "failed (see part 3)" : peaks);
        printf("\n");
    }
    printf("\n'-' or failed: the configuration failed or was not run; its error is in its "
           "part's table.\n");
}

int main(int argc, char **argv)
{
    find_self(argv[0]);
    if (argc == 7 && strcmp(argv[1], "--eval") == 0)
        return eval_worker(argv[2], (otad_grad_mode)atoi(argv[3]), atoi(argv[4]),
                           strtod(argv[5], NULL), atoi(argv[6]));
    if (argc == 5 && strcmp(argv[1], "--fit") == 0)
        return fit_worker(argv[2], (otad_grad_mode)atoi(argv[3]), atoi(argv[4]));
    if (argc == 2 && strcmp(argv[1], "--machine") == 0)
        return machine();
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--threads 1,2] [--modes unroll,checkpoint,implicit] "
                "[--L 100,300,1000] [--tolerance 1e-9]\n       [--quick] [--no-reference] "
                "[--anchors DIR] [--data DIR]\n", argv[0]);
        return 2;
    }
    char data_dir[PATH_MAX];
    const char *data = find_dir(o.data, NULL, "tests/data/w4", "loss_grad_at_init.npy",
                                data_dir, sizeof data_dir);
    if (!data) {
        fprintf(stderr, "mke: tests/data/w4 not found (--data DIR)\n");
        return 1;
    }
    otad_value ref = {NULL, 0, 0};
    otad_error err = {""};
    if (read_npy(data, "loss_grad_at_init.npy", N_PARAMS + 1, 1, &ref, &err) != OTAD_OK) {
        fprintf(stderr, "mke: %s\n", err.message);
        return 1;
    }
    double expected_loss = ref.data[0];
    free(ref.data);
    const char *why = "";
    const char *anchors = find_anchors(&o, &why);
    double t0 = now_seconds();
    printf("# W4: minimum Kantorovich estimation, %d ellipses × %d Vogel samples (%d points) "
           "against %d data points,\n# ε = %g, W_L = ⟨P_L, C⟩ (not debiased), θ_init from "
           "%s; reference W_L(θ_init) = %.16g.\n", ELLIPSES, SAMPLES, N_MODEL, N_DATA, eps,
           data, expected_loss);
    if (anchors)
        printf("Reference: PyTorch, %s/w4_mke_ellipses.py --worker, in this run.\n", anchors);
    else
        printf("Reference: not available — %s; ours only.\n", why);
    machine_figures m[MAX_THREADS];
    if (measure_machines(&o, m) != 0) {
        fprintf(stderr, "mke: measuring the machine failed\n");
        return 1;
    }
    static results res;
    part_evaluations(&o, data, anchors, m, expected_loss, &res);
    part_fits(&o, data, anchors, &res);
    part_memory(&o, data, &res);
    part_summary(&o, &res);
    print_notes(&o);
    printf("\nTotal: %.0f s.\n", now_seconds() - t0);
    return 0;
}
