/* The separable grid kernel against the dense Gibbs kernel of the same grid
 * points, in 1, 2 and 3 dimensions. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

static const double eps = 0.3;
static const size_t shapes[3][3] = {{5, 1, 1}, {4, 3, 1}, {3, 2, 4}};
static const unsigned products[3] = {0, OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST};

/* The grid's points, one per row, axis 0 fastest (dims columns). */
static double *grid_points(size_t dims, const size_t *shape, size_t *count)
{
    size_t n = 1;
    for (size_t a = 0; a < dims; a++)
        n *= shape[a];
    double *p = malloc(n * dims * sizeof *p);
    for (size_t v = 0; v < n; v++)
        for (size_t a = 0, rest = v; a < dims; a++) {
            p[v + a * n] = (double)(rest % shape[a]) / (double)(shape[a] - 1);
            rest /= shape[a];
        }
    *count = n;
    return p;
}

static void test_matches_dense_kernel(void **state)
{
    (void)state;
    for (size_t dims = 1; dims <= 3; dims++) {
        otad_tape *t = new_tape();
        size_t n;
        double *pts = grid_points(dims, shapes[dims - 1], &n);
        double *x = random_matrix(dims, n, 2, -1, 1);
        otad_var p = otad_const(t, n, dims, pts);
        otad_kernel dense = otad_kernel_gibbs(t, otad_sqdist(t, p, p), eps);
        otad_kernel grid = otad_kernel_grid(t, dims, shapes[dims - 1], eps);
        otad_var xv = otad_const(t, n, 2, x);
        for (int k = 0; k < 3; k++)
            for (int log_domain = 0; log_domain < 2; log_domain++) {
                otad_var (*apply)(otad_tape *, otad_kernel, unsigned, otad_var) =
                    log_domain ? otad_kernel_apply_log : otad_kernel_apply;
                otad_value a = otad_value_of(t, apply(t, grid, products[k], xv));
                otad_value b = otad_value_of(t, apply(t, dense, products[k], xv));
                assert_tape_ok(t);
                if (max_rel_diff(a.data, b.data, 2 * n) > 1e-13)
                    fail_msg("dims %zu product %u log %d: differs by %g", dims, products[k],
                             log_domain, max_rel_diff(a.data, b.data, 2 * n));
            }
        check_kernel_adjoint(t, grid, 0, 2);
        check_kernel_adjoint(t, grid, OTAD_KERNEL_COST, 1);
        free(pts), free(x);
        otad_tape_free(&t);
    }
}

typedef struct grid_case {
    size_t dims;
    unsigned product;
    int log_domain;
} grid_case;

static otad_var record_grid(otad_tape *t, const otad_var *in, void *instance)
{
    const grid_case *g = instance;
    otad_kernel k = otad_kernel_grid(t, g->dims, shapes[g->dims - 1], eps);
    return g->log_domain ? otad_kernel_apply_log(t, k, g->product, in[0])
                         : otad_kernel_apply(t, k, g->product, in[0]);
}

static void test_gradients(void **state)
{
    (void)state;
    for (size_t dims = 1; dims <= 3; dims++)
        for (int k = 0; k < 3; k++)
            for (int log_domain = 0; log_domain < 2; log_domain++) {
                grid_case g = {dims, products[k], log_domain};
                size_t n = 1;
                for (size_t a = 0; a < dims; a++)
                    n *= shapes[dims - 1][a];
                test_shape s = {n, 2};
                check_graph_at(record_grid, &g, 1, &s, -1, 1, 60 + dims);
            }
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    size_t bad[3] = {4, 1, 3};
    otad_kernel k = otad_kernel_grid(t, 2, bad, 0.1);
    assert_false(otad_var_valid(k.node));
    assert_string_equal(otad_tape_message(t), "grid kernel: axis 1 has 1 points "
                                              "(2 to 65536, at most 2^31 in all)");
    otad_tape_reset(t);
    k = otad_kernel_grid(t, 4, bad, 0.1);
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    otad_tape_reset(t);
    k = otad_kernel_grid(t, 1, bad, -1);
    assert_int_equal(otad_tape_status(t), OTAD_EDOMAIN);
    otad_tape_reset(t);
    /* a NULL shape is named as such, whatever the number of axes */
    k = otad_kernel_grid(t, 2, NULL, 0.1);
    assert_false(otad_var_valid(k.node));
    assert_tape_failed(t, OTAD_EINVAL, "grid kernel: shape is NULL");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_dense_kernel),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
