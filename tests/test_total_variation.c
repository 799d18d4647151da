/* The smoothed total variation: values against a direct sum over the grid,
 * constants, the limit η → 0, gradients. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

/* Σ over the points of a 3×4 image (first axis fastest) of the smoothed
 * norms of (Δ_down, Δ_right), written with explicit indices. */
static double direct_2d(const double *x, double eta, int isotropic)
{
    double total = 0;
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 3; i++) {
            double here = x[i + 3 * j];
            double down = i + 1 < 3 ? x[i + 1 + 3 * j] - here : 0;
            double right = j + 1 < 4 ? x[i + 3 * (j + 1)] - here : 0;
            total += isotropic ? sqrt(down * down + right * right + eta * eta) - eta
                               : sqrt(down * down + eta * eta) - eta +
                                     sqrt(right * right + eta * eta) - eta;
        }
    return total;
}

static void test_values(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double *x = random_matrix(1, 12, 1, -1, 1);
    static const size_t dims[2] = {3, 4};
    for (int isotropic = 0; isotropic <= 1; isotropic++) {
        double tv = otad_scalar(t, otad_total_variation(t, otad_const(t, 12, 1, x), 2, dims,
                                                        0.1, isotropic));
        assert_tape_ok(t);
        assert_close(tv, direct_2d(x, 0.1, isotropic), 1e-14 * tv);
    }
    /* a constant has none; on a line, η → 0 gives Σ |Δ| */
    double flat[12], line[4] = {0, 1, 3, 2};
    for (int k = 0; k < 12; k++)
        flat[k] = 0.7;
    assert_close(otad_scalar(t, otad_total_variation(t, otad_const(t, 12, 1, flat), 2, dims,
                                                     0.1, 1)), 0, 0);
    static const size_t four[1] = {4};
    double tv = otad_scalar(t, otad_total_variation(t, otad_const(t, 4, 1, line), 1, four,
                                                    1e-9, 0));
    assert_close(tv, 4, 1e-8);
    assert_tape_ok(t);
    free(x);
    otad_tape_free(&t);
}

static otad_var record_tv(otad_tape *t, const otad_var *in, void *instance)
{
    static const size_t dims[3] = {2, 3, 2};
    return otad_total_variation(t, in[0], 3, dims, 0.05, *(const int *)instance);
}

static void test_gradients(void **state)
{
    (void)state;
    test_shape batch = {12, 3};
    for (int isotropic = 0; isotropic <= 1; isotropic++)
        check_graph_at(record_tv, &isotropic, 1, &batch, -1, 1, 7 + isotropic);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
