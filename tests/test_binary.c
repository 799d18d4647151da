/* add, sub, mul, div, xlogy, maximum, minimum: values, broadcasting,
 * gradients, errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef otad_var (*binary_fn)(otad_tape *, otad_var, otad_var);

static const struct {
    const char *name;
    binary_fn fn;
} ops[] = {{"add", otad_add}, {"sub", otad_sub}, {"mul", otad_mul}, {"div", otad_div},
           {"xlogy", otad_xlogy}, {"maximum", otad_maximum}, {"minimum", otad_minimum}};
enum { N_OPS = sizeof ops / sizeof *ops };

static double apply_scalar(binary_fn fn, double a, double b)
{
    return fn == otad_add ? a + b : fn == otad_sub ? a - b : fn == otad_mul ? a * b
         : fn == otad_div ? a / b : fn == otad_maximum ? fmax(a, b)
         : fn == otad_minimum ? fmin(a, b) : a * log(b);
}

static otad_var record_binary(otad_tape *t, const otad_var *in, void *instance)
{
    return ((binary_fn)instance)(t, in[0], in[1]);
}

/* Operand shapes that broadcast to rows×cols: equal, scalar, column, row. */
static void broadcast_pairs(size_t rows, size_t cols, test_shape pairs[6][2])
{
    test_shape full = {rows, cols}, scalar = {1, 1}, column = {rows, 1}, row = {1, cols};
    test_shape p[6][2] = {{full, full}, {full, scalar}, {scalar, full},
                          {full, column}, {row, full}, {column, row}};
    memcpy(pairs, p, sizeof p);
}

static void test_values_broadcast(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    const size_t rows = 37; /* whole vectors and a remainder, each stride case */
    test_shape pairs[6][2];
    broadcast_pairs(rows, 3, pairs);
    for (size_t op = 0; op < N_OPS; op++)
        for (size_t k = 0; k < 6; k++) {
            test_shape sa = pairs[k][0], sb = pairs[k][1];
            double *a = random_matrix(1, sa.rows, sa.cols, 0.5, 2);
            double *b = random_matrix(2, sb.rows, sb.cols, 0.5, 2);
            otad_var y = ops[op].fn(t, otad_const(t, sa.rows, sa.cols, a),
                                    otad_const(t, sb.rows, sb.cols, b));
            assert_tape_ok(t);
            otad_value v = otad_value_of(t, y);
            assert_int_equal(v.rows, rows);
            assert_int_equal(v.cols, 3);
            for (size_t j = 0; j < 3; j++)
                for (size_t i = 0; i < rows; i++) {
                    double ea = a[(sa.rows > 1 ? i : 0) + (sa.cols > 1 ? j : 0) * sa.rows];
                    double eb = b[(sb.rows > 1 ? i : 0) + (sb.cols > 1 ? j : 0) * sb.rows];
                    assert_close(v.data[i + rows * j], apply_scalar(ops[op].fn, ea, eb), 0);
                }
            free(a), free(b);
        }
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (size_t op = 0; op < N_OPS; op++)
        for (size_t s = 0; s < 3; s++) {
            test_shape pairs[6][2];
            broadcast_pairs(test_shapes[s].rows, test_shapes[s].cols, pairs);
            for (size_t k = 0; k < 6; k++)
                check_graph_at(record_binary, (void *)ops[op].fn, 2, pairs[k], 0.5, 2, 10 * k + op);
        }
}

/* A value used twice gets both gradients: d(x·x)/dx = 2x, d(x/x)/dx = 0. */
static void test_same_input_twice(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[3] = {0.5, -2, 3}, g[3];
    otad_var p = otad_param(t, 3, 1, x, g);
    assert_int_equal(otad_backward(t, otad_sum(t, otad_mul(t, p, p))), OTAD_OK);
    for (int i = 0; i < 3; i++)
        assert_close(g[i], 2 * x[i], 1e-15);
    otad_tape_reset(t);
    p = otad_param(t, 3, 1, x, g);
    assert_int_equal(otad_backward(t, otad_sum(t, otad_div(t, p, p))), OTAD_OK);
    for (int i = 0; i < 3; i++)
        assert_close(g[i], 0, 1e-15);
    otad_tape_free(&t);
}

/* 0·log 0 = 0, with no gradient to y there. */
static void test_xlogy_at_zero(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[2] = {0, 2}, y[2] = {0, 1}, gx[2], gy[2];
    otad_var z = otad_sum(t, otad_xlogy(t, otad_param(t, 2, 1, x, gx), otad_param(t, 2, 1, y, gy)));
    assert_close(otad_scalar(t, z), 0, 0);
    y[0] = 0.5;
    otad_tape_reset(t);
    z = otad_sum(t, otad_xlogy(t, otad_param(t, 2, 1, x, gx), otad_param(t, 2, 1, y, gy)));
    assert_int_equal(otad_backward(t, z), OTAD_OK);
    assert_close(gy[0], 0, 0);
    assert_close(gy[1], 2, 0);
    assert_close(gx[0], log(0.5), 1e-15);
    otad_tape_reset(t);
    y[1] = 0;
    z = otad_xlogy(t, otad_const(t, 2, 1, x), otad_const(t, 2, 1, y));
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    otad_tape_free(&t);
}

static void test_shape_mismatch(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var a = otad_const_fill(t, 3, 4, 1), b = otad_const_fill(t, 2, 4, 1);
    otad_var y = otad_mul(t, a, b);
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t), "mul: cannot broadcast 3x4 with 2x4");
    otad_tape_free(&t);
}

static void test_division_by_zero(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double b[3] = {1, 0, 2};
    otad_var y = otad_div(t, otad_const_fill(t, 3, 1, 1), otad_const(t, 3, 1, b));
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    assert_string_equal(otad_tape_message(t), "div: division by zero: divisor entry (1,0)");
    otad_tape_free(&t);
}

/* b² underflows to 0 at b = 1e-170, so −a/b² would be −inf; −y/b is finite. */
static void test_division_gradient_no_overflow(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double a = 1e-300, b = 1e-170, ga, gb;
    otad_var y = otad_div(t, otad_param(t, 1, 1, &a, &ga), otad_param(t, 1, 1, &b, &gb));
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    assert_close(ga / 1e170, 1, 1e-15);
    assert_close(gb / -1e40, 1, 1e-15);
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_broadcast),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_same_input_twice),
        cmocka_unit_test(test_xlogy_at_zero),
        cmocka_unit_test(test_shape_mismatch),
        cmocka_unit_test(test_division_by_zero),
        cmocka_unit_test(test_division_gradient_no_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
