/* L1, L2 and KL losses between histograms. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

typedef otad_var (*loss_fn)(otad_tape *, otad_var, otad_var);
static const loss_fn losses[3] = {otad_loss_l1, otad_loss_l2, otad_loss_kl};

static otad_var record_loss(otad_tape *t, const otad_var *in, void *instance)
{
    return (*(const loss_fn *)instance)(t, in[0], in[1]);
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double p[4] = {0.5, 0.5, 0.0, 1.0}, q[2] = {0.25, 0.75};
    otad_var vp = otad_const(t, 2, 2, p), vq = otad_const(t, 2, 1, q);
    otad_value l1 = otad_value_of(t, otad_loss_l1(t, vp, vq));
    otad_value l2 = otad_value_of(t, otad_loss_l2(t, vp, vq));
    otad_value kl = otad_value_of(t, otad_loss_kl(t, vp, vq));
    assert_tape_ok(t);
    assert_int_equal(l1.cols, 2);
    assert_close(l1.data[0], 0.5, 1e-15);
    assert_close(l1.data[1], 0.5, 1e-15);
    assert_close(l2.data[0], 0.125, 1e-15);
    assert_close(kl.data[0], 0.5 * log(2) + 0.5 * log(2.0 / 3), 1e-15);
    assert_close(kl.data[1], log(4.0 / 3), 1e-15); /* 0·log 0 = 0 */
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++)
        for (size_t s = 0; s < 3; s++) {
            test_shape same[2] = {test_shapes[s], test_shapes[s]};
            test_shape one_q[2] = {test_shapes[s], {test_shapes[s].rows, 1}};
            check_graph_at(record_loss, (void *)&losses[k], 2, same, 0.1, 1, 20 + k);
            check_graph_at(record_loss, (void *)&losses[k], 2, one_q, 0.1, 1, 30 + k);
        }
}

static void test_kl_domain(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double p[2] = {0.5, 0.5}, q[2] = {1, 0};
    otad_var y = otad_loss_kl(t, otad_const(t, 2, 1, p), otad_const(t, 2, 1, q));
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    assert_string_equal(otad_tape_message(t),
                        "loss_kl: entry (1,0): p = 0.5, q = 0 (needs p ≥ 0, q > 0)");
    otad_tape_reset(t);
    y = otad_loss_l2(t, otad_const_fill(t, 3, 2, 1), otad_const_fill(t, 3, 3, 1));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_kl_domain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
