/* The L-BFGS driver. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    for (int k = 0; k < 13; k++) {
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rosenbrock),
        cmocka_unit_test(test_sinkhorn_fit_of_points),
        cmocka_unit_test(test_undefined_region_is_avoided),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_progress_stops),
        cmocka_unit_test(test_bad_parameters_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
