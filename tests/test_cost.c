/* The squared Euclidean cost between point sets. */
#include <stdlib.h>

#include "support.h"

static otad_var record_sqdist(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_sqdist(t, in[0], in[1]);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[6] = {0, 1, 2, 0, 0, 1}; /* points (0,0) (1,0) (2,1) */
    double y[4] = {0, 3, 1, 4};       /* points (0,1) (3,4) */
    otad_value c = otad_value_of(t, otad_sqdist(t, otad_const(t, 3, 2, x),
                                                otad_const(t, 2, 2, y)));
    assert_tape_ok(t);
    assert_int_equal(c.rows, 3);
    assert_int_equal(c.cols, 2);
    const double expected[6] = {1, 2, 4, 25, 20, 10};
    for (int k = 0; k < 6; k++)
        assert_close(c.data[k], expected[k], 0);
    otad_tape_free(&t);
}

static void test_gradients(void **state)
{
    (void)state;
    const test_shape shapes[3][2] = {{{1, 1}, {1, 1}}, {{7, 1}, {5, 1}}, {{7, 3}, {4, 3}}};
    for (int s = 0; s < 3; s++)
        check_graph_at(record_sqdist, NULL, 2, shapes[s], -1, 1, 10 + s);
}

static void test_dimension_mismatch(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var c = otad_sqdist(t, otad_const_fill(t, 3, 2, 0), otad_const_fill(t, 3, 3, 0));
    assert_false(otad_var_valid(c));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t),
                        "sqdist: points of dimension 2 (x is 3x2) and 3 (y is 3x3)");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_dimension_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
