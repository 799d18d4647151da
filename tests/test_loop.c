/* Loops in the three gradient modes, on x ← a ⊙ x + b (|a| < 1), whose fixed
 * point b/(1 − a) has known derivatives. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* state: x; params: a, b */
static int affine_step(otad_tape *t, const otad_var *state, const otad_var *params,
                       otad_var *next, void *instance)
{
    (void)instance;
    next[0] = otad_add(t, otad_mul(t, params[0], state[0]), params[1]);
    return otad_tape_status(t);
}

typedef struct affine {
    otad_grad_mode mode;
    int iterations;
} affine;

/* inputs: x0, a, b, w; output ⟨w, x_L⟩ */
static otad_var record_affine(otad_tape *t, const otad_var *in, void *instance)
{
    const affine *f = instance;
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.mode = f->mode;
    o.iterations = f->iterations;
    otad_var x;
    otad_loop(t, affine_step, NULL, 1, &in[0], 2, &in[1], &o, &x, NULL);
    return otad_dot(t, x, in[3]);
}

enum { N = 6 };

/* Gradients of ⟨w, x_L⟩ to x0, a and b by one backward. */
static void gradients(const affine *f, const double *x0, const double *a, const double *b,
                      const double *w, double g[3][N])
{
    otad_tape *t = new_tape();
    otad_var in[4] = {otad_param(t, N, 1, x0, g[0]), otad_param(t, N, 1, a, g[1]),
                      otad_param(t, N, 1, b, g[2]), otad_const(t, N, 1, w)};
    assert_int_equal(otad_backward(t, record_affine(t, in, (void *)f)), OTAD_OK);
    otad_tape_free(&t);
}

static void test_checkpoint_equals_unroll(void **state)
{
    (void)state;
    double *x0 = random_matrix(1, N, 1, -1, 1), *a = random_matrix(2, N, 1, -0.9, 0.9);
    double *b = random_matrix(3, N, 1, -1, 1), *w = random_matrix(4, N, 1, -1, 1);
    double gu[3][N], gc[3][N];
    for (int iterations = 1; iterations <= 37; iterations += 12) {
        affine unroll = {OTAD_UNROLL, iterations}, checkpoint = {OTAD_CHECKPOINT, iterations};
        gradients(&unroll, x0, a, b, w, gu);
        gradients(&checkpoint, x0, a, b, w, gc);
        for (int i = 0; i < 3; i++)
            assert_rel_close("checkpoint against unroll", gc[i], gu[i], N, 1e-14);
    }
    free(x0), free(a), free(b), free(w);
}

/* At the fixed point x* = b/(1 − a): ∂⟨w,x*⟩/∂b = w/(1 − a),
 * ∂/∂a = w b/(1 − a)², and nothing to x0. */
static void test_implicit_is_the_fixed_point_gradient(void **state)
{
    (void)state;
    double *x0 = random_matrix(5, N, 1, -1, 1), *a = random_matrix(6, N, 1, -0.5, 0.5);
    double *b = random_matrix(7, N, 1, -1, 1), *w = random_matrix(8, N, 1, -1, 1);
    double g[3][N], ga[N], gb[N];
    affine implicit = {OTAD_IMPLICIT, 80};
    gradients(&implicit, x0, a, b, w, g);
    for (int i = 0; i < N; i++) {
        gb[i] = w[i] / (1 - a[i]);
        ga[i] = w[i] * b[i] / ((1 - a[i]) * (1 - a[i]));
        assert_close(g[0][i], 0, 0);
    }
    assert_rel_close("implicit gradient to a", g[1], ga, N, 1e-12);
    assert_rel_close("implicit gradient to b", g[2], gb, N, 1e-12);
    free(x0), free(a), free(b), free(w);
}

/* state: x; params: A, b */
static int linear_step(otad_tape *t, const otad_var *state, const otad_var *params,
                       otad_var *next, void *instance)
{
    (void)instance;
    next[0] = otad_add(t, otad_matmul(t, params[0], 0, state[0], 0), params[1]);
    return otad_tape_status(t);
}

enum { SLOW = 64 };

/* Gradients of ⟨w, x_L⟩ to A (column-major) and b for x ← A x + b run
 * IMPLICIT from x0, with at most 200 J products in the adjoint. */
static int slow_gradients(const double *A, const double *b, const double *x0, const double *w,
                          double *gA, double *gb)
{
    otad_tape *t = new_tape();
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.mode = OTAD_IMPLICIT;
    o.iterations = 5;
    o.adjoint_iterations = 200;
    otad_var params[2] = {otad_param(t, SLOW, SLOW, A, gA), otad_param(t, SLOW, 1, b, gb)};
    otad_var init = otad_const(t, SLOW, 1, x0), x;
    assert_int_equal(otad_loop(t, linear_step, NULL, 1, &init, 2, params, &o, &x, NULL),
                     OTAD_OK);
    int rc = otad_backward(t, otad_dot(t, x, otad_const(t, SLOW, 1, w)));
    otad_tape_free(&t);
    return rc;
}

/* A is upper triangular, its diagonal in [−0.5, 0.5] but for 0.999 and
 * 0.998: J_xᵀ = Aᵀ has spectral radius 0.999, and iterating ξ ← w + Aᵀξ
 * would take over 20000 sweeps to 1e-10 (GMRES takes about 30).  The loop
 * starts at its fixed point x* = (I − A)⁻¹b; then ∂⟨w, x*⟩/∂b = ξ =
 * (I − A)⁻ᵀw and ∂/∂A = ξ x*ᵀ, both by triangular solves here. */
static void test_implicit_slow_contraction(void **state)
{
    (void)state;
    double *A = random_matrix(40, SLOW, SLOW, -0.05, 0.05);
    double *b = random_matrix(41, SLOW, 1, -1, 1), *w = random_matrix(42, SLOW, 1, -1, 1);
    double *diagonal = random_matrix(43, SLOW, 1, -0.5, 0.5);
    double x[SLOW], xi[SLOW], gA[SLOW * SLOW], gb[SLOW], exact_gA[SLOW * SLOW];
    diagonal[7] = 0.999, diagonal[40] = 0.998;
    for (int j = 0; j < SLOW; j++) {
        for (int i = j + 1; i < SLOW; i++)
            A[i + j * SLOW] = 0;
        A[j + j * SLOW] = diagonal[j];
    }
    for (int i = SLOW; i-- > 0;) {
        x[i] = b[i];
        for (int j = i + 1; j < SLOW; j++)
            x[i] += A[i + j * SLOW] * x[j];
        x[i] /= 1 - A[i + i * SLOW];
    }
    for (int i = 0; i < SLOW; i++) {
        xi[i] = w[i];
        for (int j = 0; j < i; j++)
            xi[i] += A[j + i * SLOW] * xi[j];
        xi[i] /= 1 - A[i + i * SLOW];
    }
    for (int j = 0; j < SLOW; j++)
        for (int i = 0; i < SLOW; i++)
            exact_gA[i + j * SLOW] = xi[i] * x[j];
    assert_int_equal(slow_gradients(A, b, x, w, gA, gb), OTAD_OK);
    assert_rel_close("implicit gradient to b", gb, xi, SLOW, 1e-10);
    assert_rel_close("implicit gradient to A", gA, exact_gA, SLOW * SLOW, 1e-10);

    /* x̄ = 0: ξ = 0 without a solve */
    memset(w, 0, SLOW * sizeof *w);
    assert_int_equal(slow_gradients(A, b, x, w, gA, gb), OTAD_OK);
    for (int i = 0; i < SLOW; i++)
        assert_close(gb[i], 0, 0);
    free(A), free(b), free(w), free(diagonal);
}

static void test_gradchecks_in_every_mode(void **state)
{
    (void)state;
    const test_shape shapes[4] = {{N, 1}, {N, 1}, {N, 1}, {N, 1}};
    for (int mode = OTAD_UNROLL; mode <= OTAD_CHECKPOINT; mode++) {
        affine f = {(otad_grad_mode)mode, 23};
        check_graph_at(record_affine, &f, 4, shapes, -0.8, 0.8, 20 + mode);
    }
    /* IMPLICIT differentiates the limit, which the finite differences of a
     * converged loop see as well */
    affine f = {OTAD_IMPLICIT, 200};
    otad_value in[4];
    for (int i = 0; i < 4; i++)
        in[i] = (otad_value){random_matrix(30 + i, N, 1, -0.5, 0.5), N, 1};
    otad_check_result res;
    assert_check_passed(otad_check_graph(record_affine, &f, 4, in, NULL, &res), &res);
    for (int i = 0; i < 4; i++)
        free(in[i].data);
}

/* Peak tape bytes of one evaluation with gradient, for a 2000-entry state. */
static size_t peak_bytes(otad_grad_mode mode, int iterations)
{
    enum { M = 2000 };
    double *x0 = random_matrix(1, M, 1, -1, 1), *a = random_matrix(2, M, 1, -0.5, 0.5);
    double *b = random_matrix(3, M, 1, -1, 1), *g = malloc(M * sizeof *g);
    otad_tape *t = new_tape();
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.mode = mode;
    o.iterations = iterations;
    otad_var params[2] = {otad_param(t, M, 1, a, g), otad_const(t, M, 1, b)}, x;
    otad_var x0v = otad_const(t, M, 1, x0);
    assert_int_equal(otad_loop(t, affine_step, NULL, 1, &x0v, 2, params, &o, &x, NULL),
                     OTAD_OK);
    assert_int_equal(otad_backward(t, otad_sum(t, x)), OTAD_OK);
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    otad_tape_free(&t);
    free(x0), free(a), free(b), free(g);
    return s.peak_bytes;
}

static void test_memory_does_not_grow_like_l(void **state)
{
    (void)state;
    const int lengths[3] = {50, 200, 800};
    const char *names[3] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};
    size_t peak[3][3];
    print_message("peak tape bytes, state of 2000 doubles (16 kB):\n");
    for (int mode = 0; mode < 3; mode++) {
        for (int l = 0; l < 3; l++)
            peak[mode][l] = peak_bytes((otad_grad_mode)mode, lengths[l]);
        print_message("  %-10s  L = 50: %8zu   L = 200: %8zu   L = 800: %8zu\n", names[mode],
                      peak[mode][0], peak[mode][1], peak[mode][2]);
    }
    /* 16 times more steps: UNROLL grows with L, CHECKPOINT with √L (4×),
     * IMPLICIT not at all */
    assert_true(peak[OTAD_UNROLL][2] > 10 * peak[OTAD_UNROLL][0]);
    assert_true(peak[OTAD_CHECKPOINT][2] < 6 * peak[OTAD_CHECKPOINT][0]);
    assert_true(peak[OTAD_CHECKPOINT][2] > 2 * peak[OTAD_CHECKPOINT][0]);
    assert_true(peak[OTAD_IMPLICIT][2] <= peak[OTAD_IMPLICIT][0] + 4096);
}

static void test_tolerance_stops_early(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double a[2] = {0.5, -0.5}, b[2] = {1, 2}, x0[2] = {0, 0};
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.iterations = 1000;
    o.tolerance = 1e-10;
    for (int mode = 0; mode < 3; mode++) {
        o.mode = (otad_grad_mode)mode;
        otad_var params[2] = {otad_const(t, 2, 1, a), otad_const(t, 2, 1, b)}, x;
        otad_var init = otad_const(t, 2, 1, x0);
        int steps;
        assert_int_equal(otad_loop(t, affine_step, NULL, 1, &init, 2, params, &o, &x, &steps),
                         OTAD_OK);
        assert_true(steps > 10 && steps < 100 && steps % 10 == 0);
        assert_close(otad_value_of(t, x).data[0], 2, 1e-9);
        assert_close(otad_value_of(t, x).data[1], 4.0 / 3, 1e-9);
    }
    otad_tape_free(&t);
}

/* x ← a ⊙ x + b with a and b reached through the instance, not declared:
 * the loop finds them, and every mode differentiates through them. */
static int undeclared_step(otad_tape *t, const otad_var *state, const otad_var *params,
                           otad_var *next, void *instance)
{
    (void)params;
    const otad_var *ab = instance;
    next[0] = otad_add(t, otad_mul(t, ab[0], state[0]), ab[1]);
    return otad_tape_status(t);
}

static void test_step_reads_undeclared_nodes(void **state)
{
    (void)state;
    double *x0 = random_matrix(9, N, 1, -1, 1), *a = random_matrix(10, N, 1, -0.5, 0.5);
    double *b = random_matrix(11, N, 1, -1, 1), *w = random_matrix(12, N, 1, -1, 1);
    for (int mode = 0; mode < 3; mode++) {
        affine declared = {(otad_grad_mode)mode, 60};
        double expected[3][N], ga[N], gb[N];
        gradients(&declared, x0, a, b, w, expected);
        otad_tape *t = new_tape();
        otad_var ab[2] = {otad_param(t, N, 1, a, ga), otad_param(t, N, 1, b, gb)}, x;
        otad_var init = otad_const(t, N, 1, x0);
        otad_loop_opts o;
        otad_loop_opts_init(&o);
        o.mode = (otad_grad_mode)mode;
        o.iterations = 60;
        assert_int_equal(otad_loop(t, undeclared_step, ab, 1, &init, 0, NULL, &o, &x, NULL),
                         OTAD_OK);
        assert_int_equal(otad_backward(t, otad_dot(t, x, otad_const(t, N, 1, w))), OTAD_OK);
        assert_rel_close("gradient to an undeclared a", ga, expected[1], N, 1e-14);
        assert_rel_close("gradient to an undeclared b", gb, expected[2], N, 1e-14);
        otad_tape_free(&t);
    }
    free(x0), free(a), free(b), free(w);
}

/* A one-input op applied to a loop parameter (the loop's sweeps at the
 * fixed point keep gradients from the parameters): x ← x/2 + exp(θ) has the
 * fixed point 2 exp(θ), reached to rounding in 80 steps from 0, so every
 * mode gives ∂Σx/∂θ = 2 exp(θ). */
static int exp_param_step(otad_tape *t, const otad_var *s, const otad_var *p, otad_var *next,
                          void *instance)
{
    (void)instance;
    next[0] = otad_add(t, otad_scale(t, s[0], 0.5), otad_exp(t, p[0]));
    return otad_tape_status(t);
}

static void test_unary_op_on_a_parameter(void **state)
{
    (void)state;
    const double theta[2] = {0.1, -0.2}, zero[2] = {0, 0};
    for (int mode = 0; mode < 3; mode++) {
        otad_tape *t = new_tape();
        double g[2];
        otad_var p = otad_param(t, 2, 1, theta, g), init = otad_const(t, 2, 1, zero), x;
        otad_loop_opts o;
        otad_loop_opts_init(&o);
        o.mode = (otad_grad_mode)mode;
        o.iterations = 80;
        assert_int_equal(otad_loop(t, exp_param_step, NULL, 1, &init, 1, &p, &o, &x, NULL),
                         OTAD_OK);
        assert_int_equal(otad_backward(t, otad_sum(t, x)), OTAD_OK);
        for (int i = 0; i < 2; i++)
            assert_close(g[i], 2 * exp(theta[i]), 1e-14);
        otad_tape_free(&t);
    }
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x0 = 1;
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    otad_var init, x;

    /* x ← x + b has no fixed point: the implicit adjoint cannot converge */
    double one = 1, b = 0.1, gb;
    o.mode = OTAD_IMPLICIT;
    o.iterations = 10;
    o.adjoint_iterations = 50;
    otad_var params[2] = {otad_const(t, 1, 1, &one), otad_param(t, 1, 1, &b, &gb)};
    init = otad_const(t, 1, 1, &x0);
    assert_int_equal(otad_loop(t, affine_step, NULL, 1, &init, 2, params, &o, &x, NULL), OTAD_OK);
    assert_int_equal(otad_backward(t, x), OTAD_ENOCONV);
    assert_non_null(strstr(otad_tape_message(t), "implicit adjoint not converged"));
    otad_tape_reset(t);

    o.iterations = 0;
    init = otad_const(t, 1, 1, &x0);
    assert_int_equal(otad_loop(t, affine_step, NULL, 1, &init, 0, NULL, &o, &x, NULL),
                     OTAD_EINVAL);
    otad_tape_free(&t);
}

/* Each bad argument and option is named, with its range. */
static void test_bad_arguments_are_named(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x0 = 1;
    otad_var init, x, params[1];
    for (int k = 0; k < 13; k++) {
        otad_loop_opts o;
        otad_loop_opts_init(&o);
        otad_step_fn step = affine_step;
        size_t n_state = 1, n_params = 0;
        otad_var *init_p = &init, *final_p = &x, *params_p = params;
        const char *words = NULL;
        switch (k) {
        case 0: o.iterations = 0, words = "loop: iterations is 0, must be at least 1"; break;
        case 1: o.check_every = 0, words = "loop: check_every is 0, must be at least 1"; break;
        case 2: o.tolerance = NAN, words = "loop: tolerance is nan, must be finite and ≥ 0"; break;
        case 3: o.checkpoint_every = -2, words = "loop: checkpoint_every is -2, must be at "
                                                 "least 0"; break;
        case 4: o.adjoint_tolerance = -1, words = "loop: adjoint_tolerance is -1"; break;
        case 5: o.adjoint_iterations = 0, words = "loop: adjoint_iterations is 0, must be at "
                                                  "least 1"; break;
        case 6: o.mode = OTAD_ENVELOPE, words = "loop: mode is 3, must be OTAD_UNROLL, "
                                                "OTAD_CHECKPOINT or OTAD_IMPLICIT"; break;
        case 7: step = NULL, words = "loop: step is NULL"; break;
        case 8: n_state = 0, words = "loop: n_state is 0, must be 1 to 8"; break;
        case 9: n_params = 17, words = "loop: n_params is 17, must be 0 to 16"; break;
        case 10: n_params = 1, params_p = NULL, words = "loop: params is NULL"; break;
        case 11: init_p = NULL, words = "loop: init is NULL"; break;
        case 12: final_p = NULL, words = "loop: final is NULL"; break;
        }
        init = otad_const(t, 1, 1, &x0);
        params[0] = init;
        assert_int_equal(otad_loop(t, step, NULL, n_state, init_p, n_params, params_p, &o,
                                   final_p, NULL), OTAD_EINVAL);
        assert_tape_failed(t, OTAD_EINVAL, words);
    }
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_equals_unroll),
        cmocka_unit_test(test_implicit_is_the_fixed_point_gradient),
        cmocka_unit_test(test_implicit_slow_contraction),
        cmocka_unit_test(test_gradchecks_in_every_mode),
        cmocka_unit_test(test_memory_does_not_grow_like_l),
        cmocka_unit_test(test_tolerance_stops_early),
        cmocka_unit_test(test_step_reads_undeclared_nodes),
        cmocka_unit_test(test_unary_op_on_a_parameter),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_bad_arguments_are_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
