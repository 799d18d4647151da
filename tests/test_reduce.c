/* sum, sum_cols, the means, dot. */
#include <stdlib.h>

#include "support.h"

static otad_var record_sum(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_sum(t, in[0]);
}

static otad_var record_sum_cols(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_sum_cols(t, in[0]);
}

static otad_var record_dot(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_dot(t, in[0], in[1]);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {1, -1, 2, -2, 0.5, 0};
    otad_var a = otad_const(t, 3, 2, x), b = otad_const(t, 3, 2, y);
    assert_close(otad_scalar(t, otad_sum(t, a)), 21, 0);
    otad_value cols = otad_value_of(t, otad_sum_cols(t, a));
    assert_int_equal(cols.rows, 1);
    assert_int_equal(cols.cols, 2);
    assert_close(cols.data[0], 6, 0);
    assert_close(cols.data[1], 15, 0);
    assert_close(otad_scalar(t, otad_dot(t, a, b)), 1 - 2 + 6 - 8 + 2.5, 0);
    assert_close(otad_scalar(t, otad_mean(t, a)), 3.5, 0);
    otad_value mean_cols = otad_value_of(t, otad_mean_cols(t, a));
    assert_true(mean_cols.rows == 1 && mean_cols.cols == 2);
    assert_close(mean_cols.data[0], 2, 0);
    assert_close(mean_cols.data[1], 5, 0);
    otad_value mean_rows = otad_value_of(t, otad_mean_rows(t, a));
    assert_true(mean_rows.rows == 3 && mean_rows.cols == 1);
    for (int i = 0; i < 3; i++)
        assert_close(mean_rows.data[i], (x[i] + x[i + 3]) / 2, 0);
    assert_tape_ok(t);
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        test_shape two[2] = {test_shapes[s], test_shapes[s]};
        check_graph_at(record_sum, NULL, 1, &test_shapes[s], -1, 1, 1);
        check_graph_at(record_sum_cols, NULL, 1, &test_shapes[s], -1, 1, 2);
        check_graph_at(record_dot, NULL, 2, two, -1, 1, 3);
    }
}

static void test_dot_shape_mismatch(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var y = otad_dot(t, otad_const_fill(t, 3, 2, 1), otad_const_fill(t, 2, 3, 1));
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t), "dot: a is 3x2, b is 2x3");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_dot_shape_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
