/* The gradient checks themselves: they pass right gradients and catch wrong
 * ones — a check that cannot fail checks nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* y = x ⊙ x ⊙ x entry by entry, with a vjp that is right or off by a factor. */
typedef struct cube_params {
    double vjp_factor; /* 1 for the right gradient */
} cube_params;

static int cube_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int cube_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        c->out.data[k] = x[k] * x[k] * x[k];
    return OTAD_OK;
}

static int cube_vjp(otad_ctx *c)
{
    const cube_params *p = c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        c->in_grad[0][k] += p->vjp_factor * 3 * x[k] * x[k] * c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_cube = {.name = "cube", .arity = 1, .params_bytes = sizeof(cube_params),
                                .shape = cube_shape, .forward = cube_forward, .vjp = cube_vjp};

static otad_var record_cube(otad_tape *t, const otad_var *in, void *instance)
{
    return otad_apply(t, &op_cube, instance, 1, in);
}

static void test_op_check_passes_and_fails(void **state)
{
    (void)state;
    double *x = random_matrix(1, 5, 3, -2, 2);
    otad_value in = {x, 5, 3};
    otad_check_result res;
    cube_params right = {1}, wrong = {1.001};

    assert_int_equal(otad_check_op(&op_cube, &right, 1, &in, NULL, &res), OTAD_OK);
    assert_true(res.passed);
    assert_true(res.max_rel_err[0] < 1e-8);
    assert_int_equal(strncmp(res.report, "dot-product test: PASS, 1 input,", 32), 0);

    assert_int_equal(otad_check_op(&op_cube, &wrong, 1, &in, NULL, &res), OTAD_OK);
    assert_false(res.passed);
    assert_true(res.max_rel_err[0] > 5e-4);
    assert_int_equal(strncmp(res.report, "dot-product test: FAIL", 22), 0);

    assert_int_equal(otad_check_jacobian(record_cube, &right, 1, &in, NULL, &res), OTAD_OK);
    assert_true(res.passed);
    assert_int_equal(otad_check_jacobian(record_cube, &wrong, 1, &in, NULL, &res), OTAD_OK);
    assert_false(res.passed);
    free(x);
}

/* A wrong gradient only for one of two inputs is blamed on that input. */
static otad_var record_cube_times(otad_tape *t, const otad_var *in, void *instance)
{
    return otad_mul(t, otad_apply(t, &op_cube, instance, 1, in), in[1]);
}

static void test_errors_reported_per_input(void **state)
{
    (void)state;
    otad_value in[2] = {{random_matrix(2, 4, 2, -1, 1), 4, 2},
                        {random_matrix(3, 4, 2, -1, 1), 4, 2}};
    cube_params wrong = {0.9};
    otad_check_result res;
    assert_int_equal(otad_check_graph(record_cube_times, &wrong, 2, in, NULL, &res), OTAD_OK);
    assert_false(res.passed);
    assert_int_equal(res.n_inputs, 2);
    assert_true(res.max_rel_err[0] > 1e-2);
    assert_true(res.max_rel_err[1] < 1e-8);
    free(in[0].data), free(in[1].data);
}

/* ---- a vjp that assigns, a gradient wrong in one entry ----------------- */

/* cube with a vjp that assigns its gradient: right when the buffer starts
 * at zero, so a plain backward cannot tell. */
static int cube_assigning_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        c->in_grad[0][k] = 3 * x[k] * x[k] * c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_cube_assigning = {.name = "cube_assigning", .arity = 1,
                                          .shape = cube_shape, .forward = cube_forward,
                                          .vjp = cube_assigning_vjp};

static otad_var record_assigning(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_apply(t, &op_cube_assigning, NULL, 1, in);
}

static otad_var build_assigning(otad_tape *t, otad_var theta, void *instance)
{
    return otad_sum(t, record_assigning(t, &theta, instance));
}

static void test_assigning_vjp_is_caught(void **state)
{
    (void)state;
    double *x = random_matrix(6, 4, 2, -1, 1);
    otad_value in = {x, 4, 2};
    otad_check_result res;
    const char *words = "the vjp of 'cube_assigning' assigns to its input 0's gradient instead "
                        "of adding";
    assert_int_equal(otad_check_op(&op_cube_assigning, NULL, 1, &in, NULL, &res), OTAD_OK);
    print_message("%s\n", res.report);
    assert_false(res.passed);
    assert_true(res.assigns);
    assert_non_null(strstr(res.report, words));
    assert_int_equal(res.worst_input, 0);
    assert_true(res.worst_row < 4 && res.worst_col < 2);
    assert_true(fabs(res.worst_expected - res.worst_got) > 0.1);
    assert_int_equal(otad_check_jacobian(record_assigning, NULL, 1, &in, NULL, &res), OTAD_OK);
    assert_false(res.passed);
    assert_non_null(strstr(res.report, words));
    assert_int_equal(otad_check_taylor(build_assigning, NULL, 8, x, NULL, &res), OTAD_OK);
    assert_false(res.passed);
    assert_non_null(strstr(res.report, words));
    /* the same op with a vjp that adds passes all three */
    cube_params right = {1};
    assert_int_equal(otad_check_op(&op_cube, &right, 1, &in, NULL, &res), OTAD_OK);
    assert_true(res.passed);
    assert_false(res.assigns);
    free(x);
}

/* cube whose gradient is off in entry (2,1) only. */
static int cube_one_wrong_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        c->in_grad[0][k] += (k == 2 + 1 * c->out.rows ? 1.5 : 1) * 3 * x[k] * x[k] *
                            c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_cube_one_wrong = {.name = "cube_one_wrong", .arity = 1,
                                          .shape = cube_shape, .forward = cube_forward,
                                          .vjp = cube_one_wrong_vjp};

static void test_worst_entry_is_named(void **state)
{
    (void)state;
    double *x = random_matrix(7, 5, 3, 0.5, 1.5);
    otad_value in = {x, 5, 3};
    otad_check_result res;
    assert_int_equal(otad_check_op(&op_cube_one_wrong, NULL, 1, &in, NULL, &res), OTAD_OK);
    print_message("%s\n", res.report);
    assert_false(res.passed);
    assert_false(res.assigns);
    assert_int_equal(res.worst_input, 0);
    assert_int_equal(res.worst_row, 2);
    assert_int_equal(res.worst_col, 1);
    assert_close(res.worst_got, 1.5 * res.worst_expected, 1e-6 * fabs(res.worst_expected));
    assert_close(res.tolerance, 1e-6, 0);
    assert_non_null(strstr(res.report, "worst: input 0 entry (2,1)"));
    assert_non_null(strstr(res.report, "rel tolerance 1.0e-06"));
    free(x);
}

/* ---- Taylor ------------------------------------------------------------- */

typedef struct objective {
    cube_params cube;
} objective;

/* f(θ) = Σ softmax(cube(θ)) ⊙ w + log Σ exp(θ): curved in every direction. */
static otad_var build_objective(otad_tape *t, otad_var theta, void *instance)
{
    objective *o = instance;
    otad_value v = otad_value_of(t, theta);
    otad_var w = otad_const_fill(t, v.rows, 1, 0.5);
    otad_var cubed = otad_apply(t, &op_cube, &o->cube, 1, &theta);
    otad_var s = otad_dot(t, otad_softmax(t, cubed), otad_mul(t, w, theta));
    return otad_add(t, s, otad_logsumexp(t, theta));
}

static void test_taylor_detects_wrong_vjp(void **state)
{
    (void)state;
    double *theta = random_matrix(4, 6, 1, -1, 1);
    otad_check_result res;
    objective right = {{1}}, wrong = {{1.01}};

    assert_int_equal(otad_check_taylor(build_objective, &right, 6, theta, NULL, &res), OTAD_OK);
    print_message("%s\n", res.report);
    assert_true(res.passed);
    assert_true(fabs(res.order - 2) < 0.2);

    assert_int_equal(otad_check_taylor(build_objective, &wrong, 6, theta, NULL, &res), OTAD_OK);
    print_message("%s\n", res.report);
    assert_false(res.passed);
    assert_true(fabs(res.order - 1) < 0.2);
    assert_int_equal(strncmp(res.report, "taylor test: FAIL, remainder order 1.", 37), 0);
    free(theta);
}

/* Along a direction where f is linear the remainder is rounding only. */
static otad_var build_linear(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_scale(t, otad_sum(t, theta), 3);
}

static otad_var build_wrong_linear(otad_tape *t, otad_var theta, void *instance)
{
    return otad_add(t, build_linear(t, theta, instance),
                    otad_apply(t, &op_cube, &(cube_params){0}, 1,
                               (otad_var[]){otad_scale(t, otad_sum(t, theta), 0.5)}));
}

static void test_taylor_linear_function(void **state)
{
    (void)state;
    double theta[3] = {0.1, -0.2, 0.3};
    otad_check_result res;
    assert_int_equal(otad_check_taylor(build_linear, NULL, 3, theta, NULL, &res), OTAD_OK);
    assert_true(res.passed);
    assert_true(isnan(res.order));
    /* add a cubic whose gradient is claimed zero: caught */
    assert_int_equal(otad_check_taylor(build_wrong_linear, NULL, 3, theta, NULL, &res), OTAD_OK);
    assert_false(res.passed);
}

/* The objective fails at the point: the check reports the tape's message. */
static otad_var build_failing(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_sum(t, otad_log(t, theta));
}

static void test_check_reports_failures(void **state)
{
    (void)state;
    double theta[2] = {1, -1};
    otad_check_result res;
    assert_int_equal(otad_check_taylor(build_failing, NULL, 2, theta, NULL, &res), OTAD_EDOMAIN);
    assert_false(res.passed);
    assert_string_equal(res.report, "taylor test: stopped: log: entry (1,0) is -1, not positive");
    assert_int_equal(otad_check_graph(NULL, NULL, 1, NULL, NULL, &res), OTAD_EINVAL);
}

/* ---- adjoint identity --------------------------------------------------- */

typedef struct dense_operator {
    const double *a; /* rows×cols, column-major */
    size_t rows, cols;
    int broken;      /* apply A, not Aᵀ, for the transpose */
} dense_operator;

static int apply_dense(void *instance, int transpose, size_t ncols, const double *x, double *y)
{
    const dense_operator *op = instance;
    size_t m = op->rows, n = op->cols;
    int t = transpose && !op->broken;
    size_t out = transpose ? n : m, in = transpose ? m : n;
    for (size_t c = 0; c < ncols; c++)
        for (size_t i = 0; i < out; i++) {
            double s = 0;
            for (size_t j = 0; j < in; j++)
                s += (t ? op->a[j + i * m] : op->a[i + j * m]) * x[j + c * in];
            y[i + c * out] = s;
        }
    return OTAD_OK;
}

static void test_adjoint_identity(void **state)
{
    (void)state;
    double *a = random_matrix(5, 6, 6, 0, 1);
    dense_operator right = {a, 6, 6, 0}, broken = {a, 6, 6, 1};
    otad_check_opts opts;
    otad_check_opts_init(&opts);
    opts.tolerance = 1e-13;
    opts.abs_floor = 0;
    otad_check_result res;
    assert_int_equal(otad_check_adjoint(apply_dense, &right, 6, 6, 3, &opts, &res), OTAD_OK);
    assert_true(res.passed);
    assert_int_equal(otad_check_adjoint(apply_dense, &broken, 6, 6, 3, &opts, &res), OTAD_OK);
    assert_false(res.passed);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_check_passes_and_fails),
        cmocka_unit_test(test_errors_reported_per_input),
        cmocka_unit_test(test_assigning_vjp_is_caught),
        cmocka_unit_test(test_worst_entry_is_named),
        cmocka_unit_test(test_taylor_detects_wrong_vjp),
        cmocka_unit_test(test_taylor_linear_function),
        cmocka_unit_test(test_check_reports_failures),
        cmocka_unit_test(test_adjoint_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
