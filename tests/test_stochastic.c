/* Adam and SGD: their steps against the update rules written out, a noisy
 * problem they solve, checkpoints a run resumes from exactly, stopping,
 * failing steps. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 3 };
static const double centre[N] = {1, -2, 0.5};

/* ½‖θ − c − ξ_step‖², ξ_step noise of size `noise` drawn from the step. */
static otad_var noisy_quadratic(otad_tape *t, otad_var theta, int step, void *instance)
{
    double noise = *(const double *)instance, target[N];
    otad_rng rng = {(uint64_t)step + 1};
    for (int i = 0; i < N; i++)
        target[i] = centre[i] + noise * (2 * otad_rng_uniform(&rng) - 1);
    otad_var d = otad_sub(t, theta, otad_const_copy(t, N, 1, target));
    return otad_scale(t, otad_dot(t, d, d), 0.5);
}

/* Ten steps of each method against the rules, on the quadratic without noise
 * (its gradient θ − c). */
static void test_steps_follow_the_rules(void **state)
{
    (void)state;
    double zero = 0;
    for (int method = 0; method < 2; method++) {
        otad_stochastic_params p;
        otad_stochastic_params_init(&p);
        p.method = method ? OTAD_SGD : OTAD_ADAM;
        p.steps = 10;
        p.learning_rate = 0.1;
        double theta[N] = {0, 0, 0}, x[N] = {0, 0, 0}, m[N] = {0}, v[N] = {0};
        otad_stochastic_result r;
        assert_int_equal(otad_stochastic(noisy_quadratic, &zero, N, theta, &p, &r), OTAD_OK);
        assert_int_equal(r.steps, 10);
        assert_string_equal(r.stopped, "stopped at the step limit");
        for (int k = 0; k < 10; k++) {
            double loss = 0;
            for (int i = 0; i < N; i++) {
                double g = x[i] - centre[i];
                loss += 0.5 * g * g;
                if (method) {
                    m[i] = 0.9 * m[i] + g;
                    x[i] -= 0.1 * m[i];
                } else {
                    m[i] = 0.9 * m[i] + 0.1 * g;
                    v[i] = 0.999 * v[i] + 0.001 * g * g;
                    double mh = m[i] / (1 - pow(0.9, k + 1)), vh = v[i] / (1 - pow(0.999, k + 1));
                    x[i] -= 0.1 * mh / (sqrt(vh) + 1e-8);
                }
            }
            assert_close(r.losses[k], loss, 1e-14 * loss);
        }
        for (int i = 0; i < N; i++)
            assert_close(theta[i], x[i], 1e-14);
        otad_stochastic_result_free(&r);
    }
}

/* With noise, the iterates settle near c: Adam with a small rate. */
static void test_noisy_problem(void **state)
{
    (void)state;
    double noise = 0.5, theta[N] = {0, 0, 0};
    otad_stochastic_params p;
    otad_stochastic_params_init(&p);
    p.steps = 3000;
    p.learning_rate = 0.01;
    otad_stochastic_result r;
    assert_int_equal(otad_stochastic(noisy_quadratic, &noise, N, theta, &p, &r), OTAD_OK);
    double far = 0;
    for (int i = 0; i < N; i++)
        far = fmax(far, fabs(theta[i] - centre[i]));
    print_message("Adam, noise %g: %d steps, |theta - c| %.3g\n", noise, r.steps, far);
    assert_true(far < 0.05);
    otad_stochastic_result_free(&r);
}

/* 20 steps, saved every 10, then resumed to 50: the same θ and losses as
 * 50 steps at once, to the bit (the moments are saved exactly). */
static void test_resume_is_exact(void **state)
{
    (void)state;
    const char *path = tmp_path("adam.checkpoint");
    char copy[256];
    snprintf(copy, sizeof copy, "%s", path);
    double noise = 0.3;
    for (int method = 0; method < 2; method++) {
        otad_stochastic_params p;
        otad_stochastic_params_init(&p);
        p.method = method ? OTAD_SGD : OTAD_ADAM;
        p.learning_rate = 0.05;
        p.steps = 50;
        double whole[N] = {0, 0, 0}, parts[N] = {0, 0, 0};
        otad_stochastic_result w, a, b;
        assert_int_equal(otad_stochastic(noisy_quadratic, &noise, N, whole, &p, &w), OTAD_OK);
        p.steps = 20, p.checkpoint = copy, p.checkpoint_every = 10;
        assert_int_equal(otad_stochastic(noisy_quadratic, &noise, N, parts, &p, &a), OTAD_OK);
        p.steps = 50, p.checkpoint = NULL, p.resume = copy;
        double ignored[N] = {9, 9, 9};
        assert_int_equal(otad_stochastic(noisy_quadratic, &noise, N, ignored, &p, &b), OTAD_OK);
        assert_int_equal(b.steps, 50);
        for (int i = 0; i < N; i++)
            assert_true(ignored[i] == whole[i]);
        for (int k = 0; k < 50; k++)
            assert_true(b.losses[k] == w.losses[k]);
        otad_stochastic_result_free(&w);
        otad_stochastic_result_free(&a);
        otad_stochastic_result_free(&b);
    }
}

/* A loss that overflows from step 3 on. */
static otad_var fails_at_three(otad_tape *t, otad_var theta, int step, void *instance)
{
    (void)instance;
    otad_var loss = otad_dot(t, theta, theta);
    return step < 3 ? loss : otad_mul(t, loss, otad_exp(t, otad_const_fill(t, 1, 1, 800)));
}

static void test_stop_and_failure(void **state)
{
    (void)state;
    double noise = 0, theta[N] = {0, 0, 0};
    otad_stochastic_params p;
    otad_stochastic_params_init(&p);
    p.time_limit = 1e-9;
    otad_stochastic_result r;
    assert_int_equal(otad_stochastic(noisy_quadratic, &noise, N, theta, &p, &r), OTAD_OK);
    assert_int_equal(r.steps, 1);
    assert_string_equal(r.stopped, "stopped: the time limit was reached");
    assert_true(theta[0] != 0); /* the point after the step */
    otad_stochastic_result_free(&r);

    double x[N] = {1, 1, 1};
    otad_stochastic_params_init(&p);
    p.learning_rate = 0.1;
    assert_int_equal(otad_stochastic(fails_at_three, NULL, N, x, &p, &r), OTAD_ERANGE);
    assert_int_equal(r.steps, 3);
    assert_string_equal(r.message, "exp: non-finite output inf at (0,0)");
    assert_true(x[0] == 1 && x[1] == 1 && x[2] == 1); /* a failure leaves theta */
    otad_stochastic_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_follow_the_rules),
        cmocka_unit_test(test_noisy_problem),
        cmocka_unit_test(test_resume_is_exact),
        cmocka_unit_test(test_stop_and_failure),
    };
    return cmocka_run_group_tests(tests, tmp_dir_create, tmp_dir_remove);
}
