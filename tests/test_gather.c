/* Gathers and scatter-adds by an index list: values, repeated indices,
 * every shape's gradient (the op table checks the adjoints). */
#include <stdlib.h>

#include "support.h"

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[6] = {1, 2, 3, 10, 20, 30}; /* 3×2: rows (1, 10), (2, 20), (3, 30) */
    otad_var v = otad_const(t, 3, 2, x);
    static const size_t rows[4] = {2, 0, 2, 1};
    otad_value g = otad_value_of(t, otad_gather_rows(t, v, 4, rows));
    assert_tape_ok(t);
    assert_true(g.rows == 4 && g.cols == 2);
    static const double gathered[8] = {3, 1, 3, 2, 30, 10, 30, 20};
    for (int k = 0; k < 8; k++)
        assert_close(g.data[k], gathered[k], 0);

    static const size_t to[3] = {1, 1, 0}; /* rows 0 and 1 of x both to row 1 */
    otad_value s = otad_value_of(t, otad_scatter_add_rows(t, v, 2, to));
    assert_tape_ok(t);
    assert_true(s.rows == 2 && s.cols == 2);
    static const double scattered[4] = {3, 3, 30, 30};
    for (int k = 0; k < 4; k++)
        assert_close(s.data[k], scattered[k], 0);

    static const size_t entries[3] = {5, 0, 5};
    otad_value e = otad_value_of(t, otad_gather(t, v, 3, entries));
    assert_true(e.rows == 3 && e.cols == 1);
    assert_close(e.data[0], 30, 0);
    assert_close(e.data[1], 1, 0);
    assert_close(e.data[2], 30, 0);

    static const size_t places[6] = {3, 3, 0, 1, 1, 1};
    otad_value a = otad_value_of(t, otad_scatter_add(t, v, 2, 2, places));
    assert_tape_ok(t);
    assert_true(a.rows == 2 && a.cols == 2);
    static const double added[4] = {3, 60, 0, 3};
    for (int k = 0; k < 4; k++)
        assert_close(a.data[k], added[k], 0);
    otad_tape_free(&t);
}

static const size_t index7[7] = {4, 1, 1, 0, 3, 4, 2};

static otad_var record_gather_rows(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_gather_rows(t, in[0], 7, index7);
}

static otad_var record_gather(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_gather(t, in[0], 7, index7);
}

static void test_gradients(void **state)
{
    (void)state;
    test_shape five_by_two = {5, 2};
    check_graph_at(record_gather_rows, NULL, 1, &five_by_two, -1, 1, 3);
    check_graph_at(record_gather, NULL, 1, &five_by_two, -1, 1, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
