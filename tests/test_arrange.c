/* hcat, vcat, slice, cols, reshape. */
#include <stdlib.h>

#include "support.h"

static otad_var record_hcat(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_hcat(t, 3, in);
}

static otad_var record_vcat(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_vcat(t, 3, in);
}

static otad_var record_slice(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    otad_value x = otad_value_of(t, in[0]);
    return otad_slice(t, in[0], x.rows / 2, x.rows - x.rows / 2, x.cols / 2, x.cols - x.cols / 2);
}

static otad_var record_reshape(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    otad_value x = otad_value_of(t, in[0]);
    return otad_reshape(t, in[0], x.cols, x.rows);
}

/* Slices of the same node summed back: gradients of overlapping reads add. */
static otad_var record_cols_overlap(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    otad_var parts[2] = {otad_cols(t, in[0], 0, 3), otad_cols(t, in[0], 1, 3)};
    return otad_hcat(t, 2, parts);
}

static otad_var record_repeat(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_repeat_cols(t, in[0], 3);
}

static otad_var record_tile(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_tile_cols(t, in[0], 2);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double a[4] = {1, 2, 3, 4}, b[2] = {5, 6};
    otad_var xa = otad_const(t, 2, 2, a), xb = otad_const(t, 2, 1, b);
    otad_var h[2] = {xa, xb};
    otad_value hv = otad_value_of(t, otad_hcat(t, 2, h));
    const double h_expected[6] = {1, 2, 3, 4, 5, 6};
    assert_int_equal(hv.cols, 3);
    assert_memory_equal(hv.data, h_expected, sizeof h_expected);

    otad_var v[2] = {xa, otad_reshape(t, xb, 1, 2)};
    otad_value vv = otad_value_of(t, otad_vcat(t, 2, v));
    const double v_expected[6] = {1, 2, 5, 3, 4, 6};
    assert_int_equal(vv.rows, 3);
    assert_memory_equal(vv.data, v_expected, sizeof v_expected);

    otad_value s = otad_value_of(t, otad_slice(t, otad_vcat(t, 2, v), 1, 2, 1, 1));
    assert_int_equal(s.rows, 2);
    assert_int_equal(s.cols, 1);
    assert_close(s.data[0], 4, 0);
    assert_close(s.data[1], 6, 0);

    otad_value r = otad_value_of(t, otad_repeat_cols(t, xa, 2));
    otad_value tl = otad_value_of(t, otad_tile_cols(t, xa, 2));
    const double r_expected[8] = {1, 2, 1, 2, 3, 4, 3, 4}, t_expected[8] = {1, 2, 3, 4, 1, 2, 3, 4};
    assert_int_equal(r.cols, 4);
    assert_memory_equal(r.data, r_expected, sizeof r_expected);
    assert_memory_equal(tl.data, t_expected, sizeof t_expected);
    assert_tape_ok(t);
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        size_t r = test_shapes[s].rows, c = test_shapes[s].cols;
        test_shape side[3] = {{r, c}, {r, 1}, {r, c + 1}};
        test_shape stacked[3] = {{r, c}, {1, c}, {r + 1, c}};
        check_graph_at(record_hcat, NULL, 3, side, -1, 1, 1);
        check_graph_at(record_vcat, NULL, 3, stacked, -1, 1, 2);
        check_graph_at(record_slice, NULL, 1, &test_shapes[s], -1, 1, 3);
        check_graph_at(record_reshape, NULL, 1, &test_shapes[s], -1, 1, 4);
        check_graph_at(record_repeat, NULL, 1, &test_shapes[s], -1, 1, 6);
        check_graph_at(record_tile, NULL, 1, &test_shapes[s], -1, 1, 7);
    }
    test_shape wide = {5, 4};
    check_graph_at(record_cols_overlap, NULL, 1, &wide, -1, 1, 5);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var x = otad_const_fill(t, 3, 2, 1), y = otad_const_fill(t, 2, 2, 1);
    otad_var pair[2] = {x, y};
    assert_false(otad_var_valid(otad_hcat(t, 2, pair)));
    assert_string_equal(otad_tape_message(t), "concat: input 1 is 2x2, input 0 is 3x2");
    otad_tape_reset(t);

    x = otad_const_fill(t, 3, 2, 1);
    assert_false(otad_var_valid(otad_cols(t, x, 1, 2)));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t),
                        "slice: rows [0, 0+3) and columns [1, 1+2) outside a 3x2 value");
    otad_tape_reset(t);

    x = otad_const_fill(t, 3, 2, 1);
    assert_false(otad_var_valid(otad_reshape(t, x, 4, 2)));
    assert_string_equal(otad_tape_message(t), "reshape: cannot reshape 3x2 to 4x2");
    otad_tape_reset(t);

    assert_false(otad_var_valid(otad_hcat(t, 0, NULL)));
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    assert_string_equal(otad_tape_message(t), "concat: nothing to concatenate");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
