/* softmax and logsumexp per column. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

static otad_var record_softmax(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_softmax(t, in[0]);
}

static otad_var record_logsumexp(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_logsumexp(t, in[0]);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double *x = random_matrix(5, 6, 3, -2, 2);
    otad_var in = otad_const(t, 6, 3, x);
    otad_value p = otad_value_of(t, otad_softmax(t, in));
    otad_value l = otad_value_of(t, otad_logsumexp(t, in));
    assert_tape_ok(t);
    assert_int_equal(l.rows, 1);
    assert_int_equal(l.cols, 3);
    for (size_t j = 0; j < 3; j++) {
        double s = 0, direct = 0;
        for (size_t i = 0; i < 6; i++) {
            s += p.data[i + 6 * j];
            direct += exp(x[i + 6 * j]);
        }
        assert_close(s, 1, 1e-15);
        assert_close(l.data[j], log(direct), 1e-14);
        for (size_t i = 0; i < 6; i++)
            assert_close(p.data[i + 6 * j], exp(x[i + 6 * j]) / direct, 1e-15);
    }
    free(x);
    otad_tape_free(&t);
}

/* Entries far beyond exp's range: exact answers, no overflow. */
static void test_stable_at_large_inputs(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double x[4] = {1000, 1000, -1000, -1000 + log(3.0)};
    otad_var a = otad_const(t, 2, 2, x);
    otad_value p = otad_value_of(t, otad_softmax(t, a));
    otad_value l = otad_value_of(t, otad_logsumexp(t, a));
    assert_tape_ok(t);
    assert_close(p.data[0], 0.5, 1e-15);
    assert_close(p.data[3], 0.75, 1e-12); /* log 3 rounded at 1000: ulp 1e-13 */
    assert_close(l.data[0], 1000 + log(2.0), 1e-12);
    assert_close(l.data[1], -1000 + log(4.0), 1e-12);
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3; s++) {
        check_graph_at(record_softmax, NULL, 1, &test_shapes[s], -3, 3, 7);
        check_graph_at(record_logsumexp, NULL, 1, &test_shapes[s], -3, 3, 8);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_stable_at_large_inputs),
        cmocka_unit_test(test_gradients_every_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
