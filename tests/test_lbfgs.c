/* The L-BFGS driver. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"

/* (1 − θ0)² + 100 (θ1 − θ0²)² */
static otad_var rosenbrock(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    otad_var x = otad_slice(t, theta, 0, 1, 0, 1), y = otad_slice(t, theta, 1, 1, 0, 1);
    otad_var a = otad_sub(t, otad_const_fill(t, 1, 1, 1), x);
    otad_var b = otad_sub(t, y, otad_pow(t, x, 2));
    return otad_add(t, otad_pow(t, a, 2), otad_scale(t, otad_pow(t, b, 2), 100));
}

static void test_rosenbrock(void **state)
{
    (void)state;
    double theta[2] = {-1.2, 1};
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, NULL, &r), OTAD_OK);
    assert_close(theta[0], 1, 1e-6);
    assert_close(theta[1], 1, 1e-6);
    assert_true(r.loss < 1e-12);
    assert_true(r.iterations > 10 && r.iterations < 100);
    assert_close(r.losses[0], 24.2, 1e-12); /* f(−1.2, 1) */
    for (int k = 1; k <= r.iterations; k++)
        assert_true(r.losses[k] <= r.losses[k - 1]);
    print_message("Rosenbrock: %d iterations, %d evaluations, %s\n", r.iterations,
                  r.evaluations, r.lbfgs_message);
    otad_lbfgs_result_free(&r);
}

/* ---- fitting point positions with the Sinkhorn divergence --------------- */

enum { P = 8 };

typedef struct fit {
    double target[2 * P], weights[P];
} fit;

static otad_var divergence(otad_tape *t, otad_var theta, void *instance)
{
    fit *f = instance;
    otad_var x = otad_reshape(t, theta, P, 2), y = otad_const(t, P, 2, f->target);
    otad_var w = otad_const(t, P, 1, f->weights);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = 200;
    const double eps = 2e-3;
    return otad_sinkhorn_divergence(t, otad_kernel_gibbs_points(t, x, y, eps),
                                    otad_kernel_gibbs_points(t, x, x, eps),
                                    otad_kernel_gibbs_points(t, y, y, eps), w, w, &o,
                                    OTAD_SINKHORN_DUAL);
}

/* From the targets moved by up to 0.05, the points go back to them. */
static void test_sinkhorn_fit_of_points(void **state)
{
    (void)state;
    fit f;
    otad_rng rng = {5};
    otad_rng_fill(&rng, f.target, 2 * P, 0.1, 0.9);
    double theta[2 * P], noise[2 * P];
    otad_rng_fill(&rng, noise, 2 * P, -0.05, 0.05);
    for (int i = 0; i < 2 * P; i++)
        theta[i] = f.target[i] + noise[i];
    for (int i = 0; i < P; i++)
        f.weights[i] = 1.0 / P;
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(divergence, &f, 2 * P, theta, NULL, &r), OTAD_OK);
    for (int i = 0; i < P; i++) {
        double nearest = INFINITY;
        for (int j = 0; j < P; j++)
            nearest = fmin(nearest, hypot(theta[i] - f.target[j], theta[i + P] - f.target[j + P]));
        assert_true(nearest < 1e-3);
    }
    assert_true(r.loss < 1e-3 * r.losses[0]);
    otad_lbfgs_result_free(&r);
}

/* ---- an objective undefined on part of its domain ---------------------- */

/* Σ θ² − 0.01 Σ log θ: defined for θ > 0 only, minimum at √0.005.  From
 * 0.3 the first trial step lands at θ < 0, where log fails (OTAD_EDOMAIN): a
 * soft failure, the line search steps back. */
static otad_var log_barrier(otad_tape *t, otad_var theta, void *instance)
{
    int *outside = instance;
    otad_value v = otad_value_of(t, theta);
    for (size_t i = 0; i < v.rows; i++)
        *outside += v.data[i] <= 0;
    return otad_sub(t, otad_dot(t, theta, theta),
                    otad_scale(t, otad_sum(t, otad_log(t, theta)), 0.01));
}

static void test_undefined_region_is_avoided(void **state)
{
    (void)state;
    double theta[3] = {0.3, 0.4, 0.35};
    int outside = 0;
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(log_barrier, &outside, 3, theta, NULL, &r), OTAD_OK);
    assert_true(outside > 0); /* the line search did try the undefined region */
    for (int i = 0; i < 3; i++)
        assert_close(theta[i], sqrt(0.005), 1e-7);
    otad_lbfgs_result_free(&r);
}

/* ---- failures and stopping ---------------------------------------------- */

static otad_var broken(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_add(t, otad_sum(t, theta), otad_const_fill(t, 2, 1, 1)); /* 1×1 + 2×1 */
}

static otad_var undefined_at_start(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_sum(t, otad_log(t, theta));
}

static void test_failures(void **state)
{
    (void)state;
    double theta[2] = {1, 2};
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(broken, NULL, 2, theta, NULL, &r), OTAD_EINVAL);
    assert_string_equal(r.message, "lbfgs: the objective is not a scalar, not a 1x1 value");
    assert_close(theta[0], 1, 0); /* unchanged */
    otad_lbfgs_result_free(&r);

    double negative[2] = {-1, 2};
    assert_int_equal(otad_lbfgs(undefined_at_start, NULL, 2, negative, NULL, &r), OTAD_EDOMAIN);
    assert_string_equal(r.message, "log: entry (0,0) is -1, not positive");
    otad_lbfgs_result_free(&r);

    assert_int_equal(otad_lbfgs(NULL, NULL, 2, theta, NULL, &r), OTAD_EINVAL);
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 0, theta, NULL, &r), OTAD_EINVAL);
}

/* Each parameter out of libLBFGS' range is named with its range before
 * libLBFGS sees it (its own codes say only "invalid parameters"); theta is
 * left as it was. */
static void test_bad_parameters_are_named(void **state)
{
    (void)state;
    double theta[2] = {-1.2, 1}, nan_theta[2] = {0, NAN};
    otad_tape_opts no_chunks;
    otad_tape_opts_init(&no_chunks);
    no_chunks.chunk_bytes = 0;
    for (int k = 0; k < 16; k++) {
        otad_lbfgs_params p;
        otad_lbfgs_params_init(&p);
        otad_build_fn build = rosenbrock;
        size_t n = 2;
        double *x = theta;
        const char *words = NULL;
        switch (k) {
        case 0: p.max_iterations = -1, words = "lbfgs: max_iterations is -1, must be at least 0";
            break;
        case 1: p.memory = 0, words = "lbfgs: memory is 0, must be 1 to 1000"; break;
        case 2: p.memory = 1001, words = "lbfgs: memory is 1001, must be 1 to 1000"; break;
        case 3: p.gradient_tolerance = -1, words = "lbfgs: gradient_tolerance is -1, must be "
                                                   "finite and ≥ 0"; break;
        case 4: p.gradient_tolerance = NAN, words = "lbfgs: gradient_tolerance is nan"; break;
        case 5: p.past = -1, words = "lbfgs: past is -1, must be at least 0"; break;
        case 6: p.relative_decrease = -1e-3, words = "lbfgs: relative_decrease is -0.001, must "
                                                     "be finite and ≥ 0"; break;
        case 7: p.max_linesearch = 0, words = "lbfgs: max_linesearch is 0, must be at least 1";
            break;
        case 8: p.tape_opts = &no_chunks, words = "lbfgs: tape_opts: chunk_bytes is 0"; break;
        case 9: build = NULL, words = "lbfgs: build is NULL"; break;
        case 10: x = NULL, words = "lbfgs: theta is NULL"; break;
        case 11: n = 0, words = "lbfgs: n is 0, must be 1 to 2^30"; break;
        case 12: x = nan_theta, words = "lbfgs: theta[1] is nan, must be finite"; break;
        case 13: p.time_limit = -1, words = "lbfgs: time_limit is -1, must be finite and ≥ 0";
            break;
        case 14: p.time_limit = INFINITY, words = "lbfgs: time_limit is inf"; break;
        case 15: p.checkpoint_every = 0, words = "lbfgs: checkpoint_every is 0, must be at "
                                                 "least 1"; break;
        }
        otad_lbfgs_result r;
        assert_int_equal(otad_lbfgs(build, NULL, n, x, &p, &r),
                         x == nan_theta ? OTAD_EDOMAIN : OTAD_EINVAL);
        if (!strstr(r.message, words))
            fail_msg("case %d: \"%s\" does not say \"%s\"", k, r.message, words);
        assert_close(theta[0], -1.2, 0);
        otad_lbfgs_result_free(&r);
    }
}

static int stop_after_three(const otad_lbfgs_progress *p, void *instance)
{
    int *calls = instance;
    (*calls)++;
    assert_int_equal(p->iteration, *calls);
    assert_true(p->seconds >= 0 && p->grad_norm > 0);
    return p->iteration == 3;
}

static void test_progress_stops(void **state)
{
    (void)state;
    double theta[2] = {-1.2, 1};
    int calls = 0;
    otad_lbfgs_params p;
    otad_lbfgs_params_init(&p);
    p.progress = stop_after_three;
    p.progress_instance = &calls;
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r), OTAD_OK);
    assert_int_equal(calls, 3);
    assert_int_equal(r.iterations, 3);
    assert_string_equal(r.lbfgs_message, "stopped by the progress callback or an error");
    assert_true(r.loss < 24.2);
    otad_lbfgs_result_free(&r);
}

/* ---- long runs: stop, time limit, checkpoint and resume ------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int signal)
{
    (void)signal;
    stop_requested = 1;
}

/* A signal arrives during the second iteration, as Ctrl-C would. */
static int signal_at_two(const otad_lbfgs_progress *p, void *instance)
{
    (void)instance;
    if (p->iteration == 2)
        raise(SIGUSR1);
    return 0;
}

static void test_stop_flag_and_time_limit(void **state)
{
    (void)state;
    struct sigaction action = {0}, previous;
    action.sa_handler = on_signal;
    assert_int_equal(sigaction(SIGUSR1, &action, &previous), 0);
    double theta[2] = {-1.2, 1};
    otad_lbfgs_params p;
    otad_lbfgs_params_init(&p);
    p.stop = &stop_requested;
    p.progress = signal_at_two;
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r), OTAD_OK);
    assert_int_equal(sigaction(SIGUSR1, &previous, NULL), 0);
    assert_int_equal(r.iterations, 2);
    assert_string_equal(r.lbfgs_message, "stopped: asked to stop");
    assert_true(r.loss <= r.losses[2] && r.losses[2] < r.losses[0]); /* the best point */
    assert_close(theta[0], -1.2, 0.5);
    otad_lbfgs_result_free(&r);

    double again[2] = {-1.2, 1};
    otad_lbfgs_params_init(&p);
    p.time_limit = 1e-9;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, again, &p, &r), OTAD_OK);
    assert_int_equal(r.iterations, 1);
    assert_string_equal(r.lbfgs_message, "stopped: the time limit was reached");
    otad_lbfgs_result_free(&r);
}

enum { KILLED_AT = 5 };

/* Logs each iteration to the FILE * instance, and dies at KILLED_AT as a run
 * killed from outside would: no exit handlers, no buffers flushed. */
static int log_then_die(const otad_lbfgs_progress *p, void *log)
{
    otad_lbfgs_print_progress(p, log);
    if (p->iteration == KILLED_AT)
        raise(SIGKILL);
    return 0;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int lines = 0;
    for (int c; f && (c = fgetc(f)) != EOF;)
        lines += c == '\n';
    if (f)
        fclose(f);
    return lines;
}

/* A fit killed mid-way leaves its log and a checkpoint; a later call resumes
 * from the checkpoint and ends at the minimum, its history starting with the
 * killed fit's. */
static void test_killed_fit_resumes(void **state)
{
    (void)state;
    const char *log_path = tmp_path("fit.log"), *checkpoint = tmp_path("fit.checkpoint");
    char log_copy[256], checkpoint_copy[256]; /* tmp_path's buffers are reused */
    snprintf(log_copy, sizeof log_copy, "%s", log_path);
    snprintf(checkpoint_copy, sizeof checkpoint_copy, "%s", checkpoint);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        FILE *log = fopen(log_copy, "w");
        double theta[2] = {-1.2, 1};
        otad_lbfgs_params p;
        otad_lbfgs_params_init(&p);
        p.progress = log_then_die, p.progress_instance = log;
        p.checkpoint = checkpoint_copy, p.checkpoint_every = 1;
        otad_lbfgs_result r;
        otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r);
        _exit(0); /* not reached */
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(count_lines(log_copy), KILLED_AT);

    double whole[2] = {-1.2, 1}, resumed[2] = {123, 456}; /* not read when resuming */
    otad_lbfgs_result u, r;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, whole, NULL, &u), OTAD_OK);
    otad_lbfgs_params p;
    otad_lbfgs_params_init(&p);
    p.resume = checkpoint_copy;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, resumed, &p, &r), OTAD_OK);
    assert_true(r.iterations > KILLED_AT);
    for (int k = 0; k <= KILLED_AT; k++) /* the same computation, written exactly */
        assert_true(r.losses[k] == u.losses[k]);
    assert_close(resumed[0], 1, 1e-6);
    assert_close(resumed[1], 1, 1e-6);
    print_message("killed at iteration %d, resumed to %d (%d evaluations); uninterrupted: "
                  "%d\n", KILLED_AT, r.iterations, r.evaluations, u.iterations);

    otad_lbfgs_result_free(&r);

    /* resumed with a limit the checkpoint has reached: nothing to do */
    p.max_iterations = KILLED_AT;
    double end[2];
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, end, &p, &r), OTAD_OK);
    assert_int_equal(r.iterations, KILLED_AT);
    assert_true(r.loss == u.losses[KILLED_AT]);
    assert_string_equal(r.lbfgs_message, "stopped at the iteration limit");
    otad_lbfgs_result_free(&r);
    otad_lbfgs_result_free(&u);
}

static void test_bad_checkpoints_are_named(void **state)
{
    (void)state;
    const char *path = tmp_path("bad.checkpoint");
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    static const char *const contents[] = {
        "not a checkpoint\n",
        "otad-checkpoint 1\niterations -1\nevaluations 0\n",
        "otad-checkpoint 1\niterations 1\nevaluations 3\ntheta 2\n0x1p+0\n",
        "otad-checkpoint 1\niterations 0\nevaluations 1\ntheta 3\n1\n2\n3\nlosses 1\n4\n"
        "state 0\n",
        "otad-checkpoint 1\niterations 0\nevaluations 1\ntheta 2\n1\nnan\nlosses 1\n4\n"
        "state 0\n",
        "otad-checkpoint 1\niterations 0\nevaluations 1\ntheta 2\n1\n2\nlosses 1\n4\n"
        "state 2\n0\n0\n"};
    static const int codes[] = {OTAD_EFORMAT, OTAD_EFORMAT, OTAD_EFORMAT, OTAD_ESHAPE,
                                OTAD_EDOMAIN, OTAD_EFORMAT};
    static const char *const words[] = {"is not an otad checkpoint", "counts are missing",
                                        "truncated", "has 3 parameters, the fit 2",
                                        "the checkpoint's theta[1] is nan",
                                        "is not an L-BFGS fit's"};
    for (size_t k = 0; k < sizeof codes / sizeof *codes; k++) {
        FILE *f = fopen(copy, "w");
        assert_non_null(f);
        fputs(contents[k], f);
        fclose(f);
        double theta[2] = {7, 8};
        otad_lbfgs_params p;
        otad_lbfgs_params_init(&p);
        p.resume = copy;
        otad_lbfgs_result r;
        assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r), codes[k]);
        if (!strstr(r.message, words[k]))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", k, r.message, words[k]);
        assert_true(theta[0] == 7 && theta[1] == 8);
        otad_lbfgs_result_free(&r);
    }
    double theta[2] = {-1.2, 1};
    otad_lbfgs_params p;
    otad_lbfgs_params_init(&p);
    p.resume = tmp_path("missing.checkpoint");
    otad_lbfgs_result r;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r), OTAD_EIO);
    assert_non_null(strstr(r.message, "cannot read the checkpoint"));
    otad_lbfgs_result_free(&r);
    otad_lbfgs_params_init(&p);
    p.checkpoint = "/nonexistent-directory/fit.checkpoint";
    p.checkpoint_every = 1;
    assert_int_equal(otad_lbfgs(rosenbrock, NULL, 2, theta, &p, &r), OTAD_EIO);
    assert_non_null(strstr(r.message, "cannot write the checkpoint"));
    assert_true(theta[0] == -1.2); /* a failure leaves theta */
    otad_lbfgs_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rosenbrock),
        cmocka_unit_test(test_sinkhorn_fit_of_points),
        cmocka_unit_test(test_undefined_region_is_avoided),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_progress_stops),
        cmocka_unit_test(test_bad_parameters_are_named),
        cmocka_unit_test(test_stop_flag_and_time_limit),
        cmocka_unit_test(test_killed_fit_resumes),
        cmocka_unit_test(test_bad_checkpoints_are_named),
    };
    return cmocka_run_group_tests(tests, tmp_dir_create, tmp_dir_remove);
}
