/* The dense Gibbs kernel: products, adjoints, gradients to x and to the
 * cost (through the deferred packs), and the log domain. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 6, M = 4 };
static const double eps = 0.4;

static const unsigned products[4] = {0, OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST,
                                     OTAD_KERNEL_COST | OTAD_KERNEL_TRANSPOSE};

/* op(K)·x written out from K_ij = exp(−C_ij/ε). */
static double direct(const double *c, unsigned product, const double *x, size_t i, int log_x)
{
    int transpose = product & OTAD_KERNEL_TRANSPOSE;
    size_t len = transpose ? N : M;
    double s = 0;
    for (size_t j = 0; j < len; j++) {
        double cij = transpose ? c[j + i * N] : c[i + j * N];
        double k = exp(-cij / eps) * ((product & OTAD_KERNEL_COST) ? cij : 1);
        s += k * (log_x ? exp(x[j]) : x[j]);
    }
    return log_x ? log(s) : s;
}

static void test_products_and_log_products(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double *c = random_matrix(1, N, M, 0.1, 2), *x = random_matrix(2, N, 3, -1, 1);
    otad_kernel k = otad_kernel_gibbs(t, otad_const(t, N, M, c), eps);
    otad_kernel_info info = otad_kernel_info_of(t, k);
    assert_int_equal(info.rows, N);
    assert_int_equal(info.cols, M);
    assert_close(info.eps, eps, 0);
    for (int p = 0; p < 4; p++) {
        size_t in_rows = (products[p] & OTAD_KERNEL_TRANSPOSE) ? N : M;
        size_t out_rows = (products[p] & OTAD_KERNEL_TRANSPOSE) ? M : N;
        otad_var xv = otad_const(t, in_rows, 3, x);
        otad_value y = otad_value_of(t, otad_kernel_apply(t, k, products[p], xv));
        otad_value ly = otad_value_of(t, otad_kernel_apply_log(t, k, products[p], xv));
        assert_tape_ok(t);
        for (size_t b = 0; b < 3; b++)
            for (size_t i = 0; i < out_rows; i++) {
                double e = direct(c, products[p], x + b * in_rows, i, 0);
                double le = direct(c, products[p], x + b * in_rows, i, 1);
                assert_close(y.data[i + b * out_rows], e, 1e-14 * fabs(e));
                assert_close(ly.data[i + b * out_rows], le, 1e-13);
            }
    }
    check_kernel_adjoint(t, k, 0, 3);
    check_kernel_adjoint(t, k, OTAD_KERNEL_COST, 1);
    free(c), free(x);
    otad_tape_free(&t);
}

typedef struct apply_case {
    unsigned product;
    int log_domain;
} apply_case;

/* inputs: x, C */
static otad_var record_apply(otad_tape *t, const otad_var *in, void *instance)
{
    const apply_case *a = instance;
    otad_kernel k = otad_kernel_gibbs(t, in[1], eps);
    return a->log_domain ? otad_kernel_apply_log(t, k, a->product, in[0])
                         : otad_kernel_apply(t, k, a->product, in[0]);
}

static void test_gradients_to_x_and_cost(void **state)
{
    (void)state;
    for (int log_domain = 0; log_domain < 2; log_domain++)
        for (int p = 0; p < 4; p++)
            for (size_t cols = 1; cols <= 3; cols += 2) {
                apply_case a = {products[p], log_domain};
                size_t in_rows = (products[p] & OTAD_KERNEL_TRANSPOSE) ? N : M;
                test_shape shapes[2] = {{in_rows, cols}, {N, M}};
                check_graph_at(record_apply, &a, 2, shapes, 0.1, 2, 50 + p);
            }
}

/* 1200 columns through K, Kᵀ and K⊙C: a small kernel's packs hold 512, so
 * the cost gradient is formed over several flushes. */
static otad_var record_many_columns(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    otad_kernel k = otad_kernel_gibbs(t, in[1], eps);
    otad_var y = otad_kernel_apply(t, k, 0, in[0]);
    otad_var z = otad_kernel_apply(t, k, OTAD_KERNEL_TRANSPOSE, otad_exp(t, y));
    otad_var w = otad_kernel_apply(t, k, OTAD_KERNEL_COST, otad_scale(t, z, 0.1));
    return otad_sum_cols(t, otad_log(t, w));
}

static void test_cost_gradient_over_several_flushes(void **state)
{
    (void)state;
    otad_value in[2] = {{random_matrix(3, M, 1200, 0, 1), M, 1200},
                        {random_matrix(4, N, M, 0.1, 2), N, M}};
    otad_check_result res;
    assert_check_passed(otad_check_graph(record_many_columns, NULL, 2, in, NULL, &res), &res);
    free(in[0].data), free(in[1].data);
}

/* Where exp(x) underflows the log apply still answers. */
static void test_log_apply_beyond_exp_range(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double c[4] = {0, 1, 1, 0}, x[2] = {-800, -801};
    otad_kernel k = otad_kernel_gibbs(t, otad_const(t, 2, 2, c), 0.5);
    otad_value y = otad_value_of(t, otad_kernel_apply_log(t, k, 0, otad_const(t, 2, 1, x)));
    assert_tape_ok(t);
    assert_close(y.data[0], -800 + log(1 + exp(-2.0 - 1)), 1e-12);
    otad_tape_free(&t);
}

/* ---- the kernel of two point sets -------------------------------------- */

/* inputs: z (the apply's input), x (N×2), y (M×2) */
static otad_var record_points(otad_tape *t, const otad_var *in, void *instance)
{
    const apply_case *a = instance;
    otad_kernel k = otad_kernel_gibbs_points(t, in[1], in[2], eps);
    return a->log_domain ? otad_kernel_apply_log(t, k, a->product, in[0])
                         : otad_kernel_apply(t, k, a->product, in[0]);
}

static void test_points_gradients(void **state)
{
    (void)state;
    for (int log_domain = 0; log_domain < 2; log_domain++)
        for (int p = 0; p < 4; p++) {
            apply_case a = {products[p], log_domain};
            size_t in_rows = (products[p] & OTAD_KERNEL_TRANSPOSE) ? N : M;
            test_shape shapes[3] = {{in_rows, 3}, {N, 2}, {M, 2}};
            check_graph_at(record_points, &a, 3, shapes, 0, 1, 80 + p);
        }
    /* 1200 columns: the cost gradient goes to the points over many flushes */
    apply_case a = {0, 0};
    otad_value in[3] = {{random_matrix(5, M, 1200, 0, 1), M, 1200},
                        {random_matrix(6, N, 2, 0, 1), N, 2}, {random_matrix(7, M, 2, 0, 1), M, 2}};
    otad_check_result res;
    assert_check_passed(otad_check_graph(record_points, &a, 3, in, NULL, &res), &res);
    for (int i = 0; i < 3; i++)
        free(in[i].data);
}

/* A Sinkhorn loss through the points kernel equals, value and gradients,
 * the one through otad_sqdist and the cost-matrix kernel. */
static void test_points_match_cost_matrix(void **state)
{
    (void)state;
    double *x = random_matrix(8, 30, 2, 0, 1), *y = random_matrix(9, 20, 2, 0, 1);
    double a[30], b[20], gx[2][60], gy[2][40], value[2];
    for (int i = 0; i < 30; i++)
        a[i] = 1.0 / 30;
    for (int j = 0; j < 20; j++)
        b[j] = 1.0 / 20;
    for (int points = 0; points < 2; points++) {
        otad_tape *t = new_tape();
        otad_var px = otad_param(t, 30, 2, x, gx[points]), py = otad_param(t, 20, 2, y, gy[points]);
        otad_kernel k = points ? otad_kernel_gibbs_points(t, px, py, 0.05)
                               : otad_kernel_gibbs(t, otad_sqdist(t, px, py), 0.05);
        otad_var w = otad_sinkhorn_loss(t, k, otad_const(t, 30, 1, a), otad_const(t, 20, 1, b),
                                        NULL, OTAD_SINKHORN_COST);
        assert_int_equal(otad_backward(t, w), OTAD_OK);
        value[points] = otad_scalar(t, w);
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 1e-15);
    assert_rel_close("gradient to x", gx[1], gx[0], 60, 1e-12);
    assert_rel_close("gradient to y", gy[1], gy[0], 40, 1e-12);
    free(x), free(y);
}

/* The fused pair (Kᵀ then K, on one column or on a few; split between
 * threads when K is large) against the same computation as separate ops:
 * values, and the gradients to the cost, to x and to num.  11 and 16
 * columns pad the rows of x to whole vectors, or exceed what is fused. */
static void test_fused_pair_matches_separate_ops(void **state)
{
    (void)state;
    enum { R = 1030, C = 1020, MAX_B = 16 }; /* large enough for the threads' split */
    static const size_t batches[] = {1, 3, 11, MAX_B};
    double *cost = random_matrix(10, R, C, 0, 1), *x = random_matrix(11, R, MAX_B, 0.5, 1.5);
    double *num = random_matrix(12, C, MAX_B, 0.5, 1.5);
    double *ubar = random_matrix(13, R + C, MAX_B, -1, 1), *value[2], *gc[2], *gx[2], *gn[2];
    for (int f = 0; f < 2; f++) {
        value[f] = malloc((R + C) * MAX_B * sizeof(double));
        gc[f] = malloc(R * C * sizeof(double));
        gx[f] = malloc(R * MAX_B * sizeof(double));
        gn[f] = malloc(C * MAX_B * sizeof(double));
        assert_true(value[f] && gc[f] && gx[f] && gn[f]);
    }
    for (int threads = 1; threads <= 2; threads++)
        for (size_t k = 0; k < sizeof batches / sizeof *batches; k++) {
            size_t b = batches[k];
            omp_set_num_threads(threads);
            for (int fused = 0; fused < 2; fused++) {
                memset(gc[fused], 0, R * C * sizeof(double));
                memset(gx[fused], 0, R * b * sizeof(double));
                memset(gn[fused], 0, C * b * sizeof(double));
                otad_tape *t = new_tape();
                otad_var pc = otad_param(t, R, C, cost, gc[fused]);
                otad_var px = otad_param(t, R, b, x, gx[fused]);
                otad_var pn = otad_param(t, C, b, num, gn[fused]);
                otad_kernel kernel = otad_kernel_gibbs(t, pc, 0.3);
                otad_var y;
                if (fused) {
                    y = otad_kernel_scaling_pair(t, kernel, OTAD_KERNEL_TRANSPOSE, px, pn);
                } else {
                    otad_var s = otad_div(t, pn, otad_kernel_apply(t, kernel,
                                                                   OTAD_KERNEL_TRANSPOSE, px));
                    otad_var parts[2] = {s, otad_kernel_apply(t, kernel, 0, s)};
                    y = otad_vcat(t, 2, parts);
                }
                assert_int_equal(otad_backward_seeded(t, y, ubar), OTAD_OK);
                memcpy(value[fused], otad_value_of(t, y).data, (R + C) * b * sizeof(double));
                otad_tape_free(&t);
            }
            assert_true(max_rel_diff(value[1], value[0], (R + C) * b) < 1e-14);
            assert_true(max_rel_diff(gc[1], gc[0], R * C) < 1e-13);
            assert_true(max_rel_diff(gx[1], gx[0], R * b) < 1e-13);
            assert_true(max_rel_diff(gn[1], gn[0], C * b) < 1e-13);
        }
    for (int f = 0; f < 2; f++)
        free(value[f]), free(gc[f]), free(gx[f]), free(gn[f]);
    free(cost), free(x), free(num), free(ubar);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_kernel k = otad_kernel_gibbs(t, otad_const_fill(t, 3, 2, 1), 0);
    assert_false(otad_var_valid(k.node));
    assert_string_equal(otad_tape_message(t),
                        "kernel: gibbs kernel: eps is 0, must be positive");
    otad_tape_reset(t);
    k = otad_kernel_gibbs(t, otad_const_fill(t, 3, 2, 1), 1);
    otad_var y = otad_kernel_apply(t, k, 0, otad_const_fill(t, 3, 1, 1));
    assert_false(otad_var_valid(y));
    assert_string_equal(otad_tape_message(t),
                        "kernel_apply: gibbs kernel is 3x2, cannot apply it to 3 rows");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_products_and_log_products),
        cmocka_unit_test(test_gradients_to_x_and_cost),
        cmocka_unit_test(test_cost_gradient_over_several_flushes),
        cmocka_unit_test(test_log_apply_beyond_exp_range),
        cmocka_unit_test(test_points_gradients),
        cmocka_unit_test(test_points_match_cost_matrix),
        cmocka_unit_test(test_fused_pair_matches_separate_ops),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
