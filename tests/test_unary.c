/* The entry-by-entry functions of unary.c and piecewise.c: values,
 * gradients, conventions at kinks, domain errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef struct unary_case {
    const char *name;
    double param;      /* α for scale, p for pow */
    double lo, hi;     /* where inputs are drawn */
} unary_case;

static const unary_case cases[] = {
    {"scale", -2.5, -3, 3},    {"exp", 0, -3, 3},         {"log", 0, 0.1, 4},
    {"pow", 2.5, 0.1, 3},      {"pow", 3, -2, 2},         {"pow", -1.5, 0.2, 3},
    {"tanh", 0, -3, 3},        {"expm1", 0, -1e-6, 1e-6}, {"expm1", 0, -3, 3},
    {"sqrt", 0, 0.1, 4},       {"sigmoid", 0, -30, 30},   {"softplus", 0, -30, 30},
    {"abs", 0, -2, 2},         {"relu", 0, -2, 2},        {"clip", 0.5, -2, 2},
    {"huber", 0.5, -2, 2},
};

/* param: α for scale, p for pow, the bound (±) for clip, δ for Huber. */
static otad_var record_unary(otad_tape *t, const otad_var *in, void *instance)
{
    const unary_case *c = instance;
    const char *n = c->name;
    otad_var x = in[0];
    return !strcmp(n, "scale")      ? otad_scale(t, x, c->param)
           : !strcmp(n, "exp")      ? otad_exp(t, x)
           : !strcmp(n, "log")      ? otad_log(t, x)
           : !strcmp(n, "pow")      ? otad_pow(t, x, c->param)
           : !strcmp(n, "tanh")     ? otad_tanh(t, x)
           : !strcmp(n, "expm1")    ? otad_expm1(t, x)
           : !strcmp(n, "sqrt")     ? otad_sqrt(t, x)
           : !strcmp(n, "sigmoid")  ? otad_sigmoid(t, x)
           : !strcmp(n, "softplus") ? otad_softplus(t, x)
           : !strcmp(n, "abs")      ? otad_abs(t, x)
           : !strcmp(n, "relu")     ? otad_relu(t, x)
           : !strcmp(n, "clip")     ? otad_clip(t, x, -c->param, c->param)
                                    : otad_huber(t, x, c->param);
}

/* The definitions, written directly. */
static double expected(const unary_case *c, double x)
{
    const char *n = c->name;
    double p = c->param;
    return !strcmp(n, "scale")      ? p * x
           : !strcmp(n, "exp")      ? exp(x)
           : !strcmp(n, "log")      ? log(x)
           : !strcmp(n, "pow")      ? pow(x, p)
           : !strcmp(n, "tanh")     ? tanh(x)
           : !strcmp(n, "expm1")    ? expm1(x)
           : !strcmp(n, "sqrt")     ? sqrt(x)
           : !strcmp(n, "sigmoid")  ? 1 / (1 + exp(-x))
           : !strcmp(n, "softplus") ? log1p(exp(x))
           : !strcmp(n, "abs")      ? fabs(x)
           : !strcmp(n, "relu")     ? fmax(x, 0)
           : !strcmp(n, "clip")     ? fmin(fmax(x, -p), p)
           : fabs(x) <= p           ? x * x / 2
                                    : p * (fabs(x) - p / 2);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double *x = random_matrix(k + 1, 6, 2, cases[k].lo, cases[k].hi);
        otad_var in = otad_const(t, 6, 2, x);
        otad_value y = otad_value_of(t, record_unary(t, &in, (void *)&cases[k]));
        assert_tape_ok(t);
        for (size_t i = 0; i < 12; i++)
            assert_close(y.data[i], expected(&cases[k], x[i]), 1e-15 * fabs(y.data[i]));
        free(x);
    }
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        for (size_t s = 0; s < 3; s++)
            check_graph_at(record_unary, (void *)&cases[k], 1, &test_shapes[s], cases[k].lo,
                           cases[k].hi, 100 + k);
}

static void expect_failure(otad_var y, otad_tape *t, int code, const char *message)
{
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), code);
    assert_string_equal(otad_tape_message(t), message);
    otad_tape_reset(t);
}

static void test_domain_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[3] = {1, -0.5, 2};
    expect_failure(otad_log(t, otad_const(t, 3, 1, x)), t, OTAD_EDOMAIN,
                   "log: entry (1,0) is -0.5, not positive");
    expect_failure(otad_pow(t, otad_const(t, 3, 1, x), 0.5), t, OTAD_EDOMAIN,
                   "pow: entry (1,0) is -0.5, negative, and the exponent is not an integer");
    expect_failure(otad_pow(t, otad_const_fill(t, 2, 1, 0), -1), t, OTAD_EDOMAIN,
                   "pow: entry (0,0) is 0, and the exponent is negative");
    expect_failure(otad_exp(t, otad_const_fill(t, 1, 2, 800)), t, OTAD_ERANGE,
                   "exp: non-finite output inf at (0,0)");
    expect_failure(otad_scale(t, otad_const_fill(t, 1, 1, 1), INFINITY), t, OTAD_EDOMAIN,
                   "scale: factor inf is not finite");
    expect_failure(otad_sqrt(t, otad_const(t, 3, 1, x)), t, OTAD_EDOMAIN,
                   "sqrt: entry (1,0) is -0.5, not ≥ 0");
    expect_failure(otad_clip(t, otad_const(t, 3, 1, x), 1, 0), t, OTAD_EDOMAIN,
                   "clip: bounds [1, 0], must have lo ≤ hi");
    expect_failure(otad_clip(t, otad_const(t, 3, 1, x), NAN, 0), t, OTAD_EDOMAIN,
                   "clip: bounds [nan, 0], must have lo ≤ hi");
    expect_failure(otad_huber(t, otad_const(t, 3, 1, x), 0), t, OTAD_EDOMAIN,
                   "huber: delta is 0, must be finite and > 0");
    /* pow with an integer exponent accepts negative entries */
    otad_var y = otad_pow(t, otad_const(t, 3, 1, x), 3);
    assert_tape_ok(t);
    assert_close(otad_value_of(t, y).data[1], -0.125, 0);
    otad_tape_free(&t);
}

/* x^0.5 at x = 0 is finite but its derivative is not: the backward says so. */
static void test_nonfinite_gradient(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {0, 1}, g[2] = {7, 7};
    otad_var y = otad_sum(t, otad_pow(t, otad_param(t, 2, 1, x, g), 0.5));
    assert_tape_ok(t);
    assert_int_equal(otad_backward(t, y), OTAD_ERANGE);
    assert_string_equal(otad_tape_message(t), "backward: non-finite gradient inf at (0,0) of a "
                                              "parameter (from the vjp of an op that uses it)");
    assert_close(g[0], 7, 0); /* the caller's buffer is untouched on failure */
    otad_tape_free(&t);
}

/* The gradient at a kink is the documented side's, and the stable forms
 * hold where the direct ones overflow. */
static void test_kinks_and_extremes(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[4] = {0, -0.5, 0.5, 800}, g[4];
    static const struct {
        int op;
        double grad[4];
    } kinks[] = {{0, {0, -1, 1, 1}},  /* abs */
                 {1, {0, 0, 1, 1}},   /* relu */
                 {2, {1, 1, 1, 0}}};  /* clip to [−0.5, 0.5]: its bounds inside */
    for (size_t k = 0; k < 3; k++) {
        otad_tape_reset(t);
        otad_var p = otad_param(t, 4, 1, x, g);
        otad_var y = kinks[k].op == 0   ? otad_abs(t, p)
                     : kinks[k].op == 1 ? otad_relu(t, p)
                                        : otad_clip(t, p, -0.5, 0.5);
        assert_int_equal(otad_backward(t, otad_sum(t, y)), OTAD_OK);
        for (int i = 0; i < 4; i++)
            assert_close(g[i], kinks[k].grad[i], 0);
    }
    otad_tape_reset(t);
    otad_var p = otad_param(t, 4, 1, x, g);
    otad_value sp = otad_value_of(t, otad_softplus(t, p));
    assert_close(sp.data[3], 800, 0); /* log(1 + e^800) without overflow */
    otad_value sg = otad_value_of(t, otad_sigmoid(t, otad_scale(t, p, -0.875)));
    assert_close(sg.data[3], exp(-700), 1e-15 * exp(-700)); /* at −700: e^(−700), not 0 */
    double ties[2] = {1, 2}, other[2] = {1, 3}, ga[2], gb[2];
    otad_tape_reset(t);
    otad_var a = otad_param(t, 2, 1, ties, ga), b = otad_param(t, 2, 1, other, gb);
    assert_int_equal(otad_backward(t, otad_sum(t, otad_maximum(t, a, b))), OTAD_OK);
    assert_close(ga[0], 0.5, 0); /* a tie: half each */
    assert_close(gb[0], 0.5, 0);
    assert_close(ga[1], 0, 0);
    assert_close(gb[1], 1, 0);
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_domain_errors),
        cmocka_unit_test(test_nonfinite_gradient),
        cmocka_unit_test(test_kinks_and_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
