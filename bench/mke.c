/*
 * Minimum Kantorovich estimation of three ellipses (Bassetti, Bodini and
 * Regazzini 2006; Genevay, Peyré and Cuturi 2018) as the PyTorch reference
 * bench/mke.py, in each gradient mode: loss and loss + gradient at θ_init
 * beside the reference's (bench/protocol.h; exit status 1 when ours differ from
 * tests/data/w4/loss_grad_at_init.npy), the L-BFGS fit, memory as L grows.
 */
#include "protocol.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

enum { ELLIPSES = 3, SAMPLES = 200, N_MODEL = ELLIPSES * SAMPLES, N_DATA = 1800 };
enum { N_PARAMS = 6 * ELLIPSES, L_DEFAULT = 100, FIT_ITERATIONS = 100, MODES = 3 };
static const double eps = 0.01, implicit_stop = 1e-9; /* IMPLICIT's tolerance as L grows */
static const char *const mode_names[MODES] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};
/* UNROLL and CHECKPOINT to the library test's tolerance; IMPLICIT's gradient, the converged
 * problem's, differs at L = 100 far beyond rounding: its check catches a wrong one only. */
static const double tolerance_exact = 1e-9, tolerance_implicit = 1e-2;

enum { DATA, THETA_INIT, THETA_TRUE, REFERENCE, FILES };
typedef struct w4 {
    otad_value in[FILES]; /* tests/data/w4 */
    double z[2 * SAMPLES], grad[N_PARAMS];
    otad_mke_ellipses ellipses;
    otad_mke problem;
} w4;

/* The problem at θ_init: L iterations, fewer when tolerance > 0 stops the forward. */
static int w4_setup(w4 *w, int mode, int iterations, double tolerance, otad_error *err)
{
    static const char *const names[FILES] = {"data_points", "theta_init", "theta_true",
                                             "loss_grad_at_init"};
    static const size_t rows[FILES] = {N_DATA, N_PARAMS, N_PARAMS, N_PARAMS + 1};
    int rc = OTAD_OK;
    for (int f = 0; f < FILES && rc == OTAD_OK; f++) {
        char name[64], path[PATH_MAX];
        snprintf(name, sizeof name, "tests/data/w4/%s.npy", names[f]);
        bench_repository_path(name, path, sizeof path);
        rc = otad_npy_read_matrix(path, &w->in[f], err);
        if (rc == OTAD_OK && (w->in[f].rows != rows[f] || w->in[f].cols != 1u + (f == DATA)))
            rc = otad_error_set(err, OTAD_ESHAPE, "%s: not the workload's shape", path);
    }
    if (rc != OTAD_OK)
        return rc;
    otad_disk_samples(SAMPLES, w->z);
    otad_mke *p = &w->problem;
    otad_mke_init(p);
    p->dim = 2, p->n_data = N_DATA, p->data = w->in[DATA].data, p->eps = eps;
    p->value = OTAD_SINKHORN_COST, p->debiased = 0, p->sinkhorn.mode = (otad_grad_mode)mode;
    p->sinkhorn.iterations = iterations, p->sinkhorn.tolerance = tolerance;
    rc = otad_mke_use_ellipses(p, &w->ellipses, ELLIPSES, SAMPLES, w->z, err);
    return rc == OTAD_OK ? otad_mke_check(p, err) : rc;
}

static int evaluate(w4 *w, int repeats, otad_error *err)
{
    otad_tape *t = NULL;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return otad_error_set(err, OTAD_ENOMEM, "cannot create a tape");
    bench_objective o = {otad_mke_build, &w->problem, N_PARAMS, w->in[THETA_INIT].data, w->grad};
    double loss, fwd, fwdbwd, *ref = w->in[REFERENCE].data, diff = 0, size = 0;
    int rc = bench_time_objective(t, &o, 0, 1, repeats, &loss, &fwd);
    if (rc != OTAD_OK || (rc = bench_time_objective(t, &o, 1, 1, repeats, &loss, &fwdbwd)))
        return otad_error_set(err, rc, "%s", otad_tape_message(t));
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    for (int i = 0; i < N_PARAMS; i++) /* max |ours − ref| / max |ref|, as the tests */
        diff = fmax(diff, fabs(w->grad[i] - ref[i + 1])), size = fmax(size, fabs(ref[i + 1]));
    printf("RESULT {\"fwd\": %.6g, \"fwdbwd\": %.6g, \"loss_diff\": %.3g, \"grad_diff\": "
           "%.3g, \"tape_mb\": %.1f}\n", fwd, fwdbwd, fabs(loss - ref[0]) / fabs(ref[0]),
           diff / size, (double)s.peak_bytes / 1048576.0);
    return OTAD_OK;
}

/* The fit, under the reference's names so that one reader serves both. */
static int fit(w4 *w, otad_error *err)
{
    otad_mke_result r = {0};
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params), params.max_iterations = FIT_ITERATIONS;
    double t0 = bench_now(), centre = 0, *truth = w->in[THETA_TRUE].data;
    int rc = otad_mke_fit(&w->problem, w->in[THETA_INIT].data, &params, &r, err);
    double seconds = bench_now() - t0;
    for (size_t k = 0; rc == OTAD_OK && k < N_PARAMS; k += 6) /* the largest centre error */
        centre = fmax(centre, hypot(r.theta[k] - truth[k], r.theta[k + 1] - truth[k + 1]));
    if (rc == OTAD_OK)
        printf("RESULT {\"lbfgs\": {\"n_iter\": %d, \"n_evals\": %d, \"total_s\": %.6g, "
               "\"time_per_eval_mean_s\": %.6g, \"final_loss\": %.17g, \"center_err_max\": "
               "%.3g}}\n", r.lbfgs.iterations, r.lbfgs.evaluations, seconds,
               seconds / r.lbfgs.evaluations, r.lbfgs.loss, centre);
    return rc;
}

/* "MODE L TOLERANCE REPEATS": an evaluation, or the fit at REPEATS 0.  Frees nothing: it exits. */
static int worker(const char *what)
{
    int mode, iterations, repeats, rc = OTAD_EINVAL;
    double tolerance;
    static w4 w;
    otad_error err = {"bad worker arguments"};
    if (sscanf(what, "%d %d %lf %d", &mode, &iterations, &tolerance, &repeats) == 4 &&
        mode >= 0 && mode < MODES)
        rc = w4_setup(&w, mode, iterations, tolerance, &err);
    if (rc == OTAD_OK)
        rc = repeats > 0 ? evaluate(&w, repeats, &err) : fit(&w, &err);
    if (rc != OTAD_OK)
        fprintf(stderr, "mke %s: %s\n", what, err.message);
    return rc != OTAD_OK;
}

typedef struct options {
    size_t threads[4], ls[8], n_threads, n_ls, rounds;
    int quick, reference, fit; /* quick: a smoke test, fewer evaluations and no fits */
    const char *script; /* the reference's, or NULL */
} options;

/* Our worker (its argument in text, 64 bytes), its seconds those of loss + gradient. */
static bench_side our_side(char *text, char **argv, int mode, size_t iterations,
                           double tolerance, int repeats)
{
    snprintf(text, 64, "%d %zu %.17g %d", mode, iterations, tolerance, repeats);
    argv[0] = (char *)bench_self(), argv[1] = "--worker", argv[2] = text, argv[3] = NULL;
    return (bench_side){argv, "fwdbwd", 0};
}

static void section(const char *title, size_t threads, const char *const *columns, size_t n)
{
    printf("\n### %s, %zu thread%s\n\n", title, threads, threads == 1 ? "" : "s");
    bench_print_machine_line();
    printf("\n");
    bench_table_header(columns, n);
}

/* One evaluation at one thread count; the number of modes wrong or failed. */
static int evaluations(const options *o, size_t threads)
{
    static const char *const columns[] = {"mode", "loss s", "loss+grad s", "PyTorch l+g s",
        "ratio", "peak MB", "PyTorch MB", "tape MB", "loss diff", "grad diff", "check", "load"};
    static bench_comparison c[MODES];
    char text[MODES][64], *argv[MODES][4], config[64], label[32];
    snprintf(config, sizeof config, "{\"threads\": %zu, \"fit\": false}", threads);
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)o->script, "--worker", config,
                              NULL};
    bench_side ours[MODES], reference = {ref_argv, "fwdbwd.median_s", 0};
    for (int m = 0; m < MODES; m++)
        ours[m] = our_side(text[m], argv[m], m, L_DEFAULT, 0, o->quick ? 3 : 5);
    section("One evaluation at θ_init", threads, columns, 12);
    snprintf(label, sizeof label, "%zu thread%s", threads, threads == 1 ? "" : "s");
    bench_compare_several(ours, MODES, o->script ? &reference : NULL, (int)threads,
                          (int)o->rounds, label, c);
    int wrong = 0;
    for (int m = 0; m < MODES; m++) {
        const char *res = c[m].ours.result;
        const bench_runs *ref = c[m].compared >= 0 ? &c[m].reference[c[m].compared] : NULL;
        double loss_diff = bench_json_number(res, "loss_diff");
        double grad_diff = bench_json_number(res, "grad_diff");
        int ran = c[m].ours.count == c[m].rounds, ok = ran && loss_diff <= tolerance_exact &&
            grad_diff <= (m == OTAD_IMPLICIT ? tolerance_implicit : tolerance_exact);
        wrong += !ok;
        if (!ran) {
            printf("| %s | failed: %s |\n", mode_names[m], res);
            continue;
        }
        bench_cell_text("%s", mode_names[m]), bench_cell("%.3g", bench_json_number(res, "fwd"));
        bench_cell_range("%.3g", bench_runs_min(&c[m].ours), bench_runs_max(&c[m].ours));
        bench_cell_range("%.3g", ref ? bench_runs_min(ref) : NAN, ref ? bench_runs_max(ref) : NAN);
        bench_cell_ratio(&c[m]), bench_cell("%.0f", c[m].ours.peak_mb);
        bench_cell("%.0f", ref ? ref->peak_mb : NAN);
        bench_cell("%.1f", bench_json_number(res, "tape_mb")), bench_cell("%.1e", loss_diff);
        bench_cell("%.1e", grad_diff), bench_cell_text("%s", ok ? "ok" : "**differs**");
        bench_cell_range("%.2f", c[m].load_lo, c[m].load_hi), bench_row_end();
    }
    printf("\nSeconds per evaluation (median inside each process), loss+grad over %zu rounds; "
           "ratio: PyTorch's loss + gradient time over ours in the same round.  Diffs: max "
           "|ours − ref| / max |ref| against loss_grad_at_init.npy, checked to %.0e (IMPLICIT's "
           "gradient, the converged problem's: %.0e).\n%s", o->rounds, tolerance_exact,
           tolerance_implicit, o->script ? "\n" : "");
    for (int m = 0; o->script && m < MODES; m++)
        if (c[m].ours.count == c[m].rounds)
            bench_print_comparison_note(mode_names[m], &c[m]);
    return wrong;
}

/* One process (reference configuration k; ours: -1) as a row: the
 * numbers at keys, its peak RSS. */
static void single_run(const options *o, char *const *argv, int k, const char *row,
                       const char *const *keys, size_t n)
{
    char result[BENCH_RESULT_CAP];
    double peak;
    const bench_allocator *a = k < 0 ? NULL : &bench_allocators[k % BENCH_ALLOCATORS];
    int blas = k < 0 ? bench_blas_alone() : k / BENCH_ALLOCATORS;
    if (bench_run(argv, (int)o->threads[0], a, blas, result, sizeof result, &peak) != 0) {
        printf("| %s | failed: %s |\n", row, result);
        return;
    }
    bench_cell_text("%s", row);
    for (size_t k = 0; k < n; k++)
        bench_cell("%.6g", bench_json_number(result, keys[k]));
    bench_cell("%.0f", peak), bench_row_end();
}

static void fits(const options *o)
{
    static const char *const columns[] = {"run", "iterations", "evaluations", "total s",
                                          "s/evaluation", "final loss", "centre error", "peak MB"};
    static const char *const keys[] = {"lbfgs.n_iter", "lbfgs.n_evals", "lbfgs.total_s",
        "lbfgs.time_per_eval_mean_s", "lbfgs.final_loss", "lbfgs.center_err_max"};
    section("The fit: L-BFGS from θ_init, at most 100 iterations", o->threads[0], columns, 8);
    char config[96], text[64], *argv[4], row[192];
    snprintf(config, sizeof config, "{\"threads\": %zu, \"fit\": true, \"max_iter\": %d}",
             o->threads[0], FIT_ITERATIONS);
    char *const ref_argv[] = {"/usr/bin/python3", "-B", (char *)o->script, "--worker", config,
                              NULL};
    for (int k = 0; o->script && o->fit && k < bench_blas_settings() * BENCH_ALLOCATORS; k++)
        if (bench_allocator_available(&bench_allocators[k % BENCH_ALLOCATORS])) {
            char name[160];
            snprintf(row, sizeof row, "PyTorch, %s", bench_config_name(k, name, sizeof name));
            single_run(o, ref_argv, k, row, keys, 6);
        }
    for (int m = 0; m < MODES; m++)
        single_run(o, our_side(text, argv, m, L_DEFAULT, 0, 0).argv, -1, mode_names[m], keys, 6);
    printf("\nSingle runs (no ratio); %s.  Final loss: ours at the best point, PyTorch's at "
           "its last evaluation; centre error: the largest |m_k − m_k true|.\n", !o->script ?
           "no reference" : !o->fit ? "PyTorch's fit only with --fit" : "PyTorch: "
           "torch.optim.LBFGS, strong Wolfe line search, its own stopping rules");
}

static void memory(const options *o)
{
    static const char *const columns[] = {"mode", "L", "tape MB", "peak MB"};
    static const char *const keys[] = {"tape_mb"};
    section("Loss + gradient memory as L grows", o->threads[0], columns, 4);
    for (int m = 0; m < MODES; m++)
        for (size_t li = 0; li < o->n_ls; li++) {
            char text[64], *argv[4], row[64];
            snprintf(row, sizeof row, "%s | %zu", mode_names[m], o->ls[li]);
            single_run(o, our_side(text, argv, m, o->ls[li], m == OTAD_IMPLICIT ? implicit_stop : 0,
                                   o->quick ? 1 : 5).argv, -1, row, keys, 1);
        }
    printf("\nSingle runs; IMPLICIT's forward stops at marginal error %.0e.  Tape MB: the "
           "tape's peak arena bytes, handed out whether touched or not.\n", implicit_stop);
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){{1}, {100, 300, 1000}, 1, 3, 3, 0, 1, 0, NULL};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t rounds[1];
        if (strcmp(argv[i], "--no-reference") == 0)
            o->reference = 0;
        else if (strcmp(argv[i], "--quick") == 0)
            o->quick = 1;
        else if (strcmp(argv[i], "--fit") == 0)
            o->fit = 1;
        else if (strcmp(argv[i], "--threads") == 0 && v)
            o->n_threads = bench_parse_list(argv[++i], o->threads, 4, 64);
        else if (strcmp(argv[i], "--L") == 0 && v)
            o->n_ls = bench_parse_list(argv[++i], o->ls, 8, 1000000);
        else if (strcmp(argv[i], "--rounds") == 0 && v)
            o->rounds = bench_parse_list(argv[++i], rounds, 1, BENCH_MAX_ROUNDS) ? rounds[0] : 0;
        else
            return -1;
        if (!o->n_threads || !o->n_ls || o->rounds < 3)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int status, wrong = 0;
    if (bench_init(argc, argv, &status) != 0)
        return status;
    if (argc == 3 && strcmp(argv[1], "--worker") == 0)
        return worker(argv[2]);
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--threads 1,2] [--L 100,300,1000] [--rounds 3] [--fit] "
                "[--quick] [--no-reference]\n", argv[0]);
        return 2;
    }
    /* the reference is in this repository, beside this program's source */
    static char script[PATH_MAX], bench_dir[PATH_MAX];
    const char *why = "switched off (--no-reference)";
    bench_repository_path("bench", bench_dir, sizeof bench_dir);
    if (o.reference && bench_find_reference(bench_dir, "mke.py", "torch, numpy", script,
                                            sizeof script, &why) == 0)
        o.script = script;
    printf("## Minimum Kantorovich estimation of three ellipses\n\n%d model points against "
           "%d data points, ε = %g, L = %d, W_L = ⟨P_L, C⟩ and its gradient to θ (%d entries); "
           "reference: %s.\n", N_MODEL, N_DATA, eps, L_DEFAULT, N_PARAMS,
           o.script ? "PyTorch autograd (mke.py)" : why);
    for (size_t ti = 0; ti < o.n_threads; ti++)
        wrong += evaluations(&o, o.threads[ti]);
    if (!o.quick)
        fits(&o);
    memory(&o);
    if (wrong)
        fprintf(stderr, "mke: %d evaluation(s) wrong or failed\n", wrong);
    return wrong != 0;
}
