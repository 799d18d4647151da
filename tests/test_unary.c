/* scale, exp, expm1, log, pow, tanh: values, gradients, domain errors. */
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
    {"scale", -2.5, -3, 3}, {"exp", 0, -3, 3},       {"log", 0, 0.1, 4},
    {"pow", 2.5, 0.1, 3},   {"pow", 3, -2, 2},       {"pow", -1.5, 0.2, 3},
    {"tanh", 0, -3, 3},     {"expm1", 0, -1e-6, 1e-6}, {"expm1", 0, -3, 3},
};

static otad_var record_unary(otad_tape *t, const otad_var *in, void *instance)
{
    const unary_case *c = instance;
    if (!strcmp(c->name, "expm1"))
        return otad_expm1(t, in[0]);
    switch (c->name[0]) {
    case 's': return otad_scale(t, in[0], c->param);
    case 'e': return otad_exp(t, in[0]);
    case 'l': return otad_log(t, in[0]);
    case 't': return otad_tanh(t, in[0]);
    default: return otad_pow(t, in[0], c->param);
    }
}

static double expected(const unary_case *c, double x)
{
    if (!strcmp(c->name, "expm1"))
        return expm1(x);
    switch (c->name[0]) {
    case 's': return c->param * x;
    case 'e': return exp(x);
    case 'l': return log(x);
    case 't': return tanh(x);
    default: return pow(x, c->param);
    }
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_domain_errors),
        cmocka_unit_test(test_nonfinite_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
