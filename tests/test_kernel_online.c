/* The online kernel of two point clouds: the same products and gradients as
 * a stored kernel of the same cost, across tiles and threads, in both
 * domains; its gradients by the checks; Sinkhorn through it; its memory. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static const unsigned products[4] = {0, OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST,
                                     OTAD_KERNEL_COST | OTAD_KERNEL_TRANSPOSE};

typedef struct apply_case {
    unsigned product;
    int log_domain;
    double power;
    int stored; /* the reference: otad_kernel_gibbs of the cost matrix */
} apply_case;

/* inputs: z (the apply's input), x (n×d), y (m×d) */
static otad_var record_apply(otad_tape *t, const otad_var *in, void *instance)
{
    const apply_case *a = instance;
    double eps = 0.3;
    otad_kernel k;
    if (a->stored) {
        otad_var c = otad_sqdist(t, in[1], in[2]);
        k = otad_kernel_gibbs(t, a->power == 2 ? c : otad_pow(t, c, a->power / 2), eps);
    } else {
        k = otad_kernel_points_online(t, in[1], in[2], eps, a->power);
    }
    return a->log_domain ? otad_kernel_apply_log(t, k, a->product, in[0])
                         : otad_kernel_apply(t, k, a->product, in[0]);
}

/* Value and the gradients to z, x and y under a random seed. */
static void run(const apply_case *a, const otad_value *in, const double *seed, double *value,
                size_t out_size, double *grads[3])
{
    otad_tape *t = new_tape();
    otad_var v[3];
    for (int i = 0; i < 3; i++) {
        memset(grads[i], 0, in[i].rows * in[i].cols * sizeof(double));
        v[i] = otad_param(t, in[i].rows, in[i].cols, in[i].data, grads[i]);
    }
    otad_var y = record_apply(t, v, (void *)a);
    assert_int_equal(otad_backward_seeded(t, y, seed), OTAD_OK);
    memcpy(value, otad_value_of(t, y).data, out_size * sizeof *value);
    otad_tape_free(&t);
}

/* 600 and 290 points in 3-D: five blocks of rows, two tiles of columns,
 * the last of each partial; one thread and two. */
static void test_matches_stored_kernel(void **state)
{
    (void)state;
    enum { N = 600, M = 290, D = 3, MAX_B = 4 };
    static const double powers[] = {2, 1, 1.5};
    double *x = random_matrix(1, N, D, 0, 1), *y = random_matrix(2, M, D, 0, 1);
    double *z = random_matrix(3, N, MAX_B, 0.5, 1.5), *seed = random_matrix(4, N, MAX_B, -1, 1);
    double *value[2], *g[2][3];
    for (int s = 0; s < 2; s++) {
        value[s] = malloc(N * MAX_B * sizeof(double));
        g[s][0] = malloc(N * MAX_B * sizeof(double));
        g[s][1] = malloc(N * D * sizeof(double));
        g[s][2] = malloc(M * D * sizeof(double));
    }
    for (int threads = 1; threads <= 2; threads++)
        for (size_t pw = 0; pw < sizeof powers / sizeof *powers; pw++)
            for (int log_domain = 0; log_domain < 2; log_domain++)
                for (int p = 0; p < 4; p++)
                    for (size_t b = 1; b <= MAX_B; b += MAX_B - 1) {
                        omp_set_num_threads(threads);
                        int transpose = products[p] & OTAD_KERNEL_TRANSPOSE;
                        size_t in_rows = transpose ? N : M, out_rows = transpose ? M : N;
                        otad_value in[3] = {{z, in_rows, b}, {x, N, D}, {y, M, D}};
                        for (int s = 0; s < 2; s++) {
                            apply_case a = {products[p], log_domain, powers[pw], s};
                            run(&a, in, seed, value[s], out_rows * b, g[s]);
                        }
                        double tol = 1e-13;
                        assert_true(max_rel_diff(value[0], value[1], out_rows * b) < tol);
                        assert_true(max_rel_diff(g[0][0], g[1][0], in_rows * b) < tol);
                        assert_true(max_rel_diff(g[0][1], g[1][1], N * D) < tol);
                        assert_true(max_rel_diff(g[0][2], g[1][2], M * D) < tol);
                    }
    omp_set_num_threads(2);
    for (int s = 0; s < 2; s++)
        free(value[s]), free(g[s][0]), free(g[s][1]), free(g[s][2]);
    free(x), free(y), free(z), free(seed);
}

/* The scaling pairs (one pass over K for both products) against the stored
 * kernel: values and the gradients to x, num and both clouds, over strips
 * and threads; the second cloud long enough that a strip has fewer rows. */
static void test_pairs_match_stored_kernel(void **state)
{
    (void)state;
    enum { N = 700, M = 5000, MAX_B = 3 };
    double *x = random_matrix(10, N, 2, 0, 1), *y = random_matrix(11, M, 2, 0, 1);
    double *v = random_matrix(12, M, MAX_B, 0.5, 1.5), *num = random_matrix(13, N, MAX_B, 0.5,
                                                                            1.5);
    double *seed = random_matrix(14, N + M, MAX_B, -1, 1), *out[2], *g[2][4];
    for (int s = 0; s < 2; s++) {
        out[s] = malloc((N + M) * MAX_B * sizeof(double));
        g[s][0] = malloc(N * 2 * sizeof(double)), g[s][1] = malloc(M * 2 * sizeof(double));
        g[s][2] = malloc(M * MAX_B * sizeof(double));
        g[s][3] = malloc(N * MAX_B * sizeof(double));
    }
    for (int threads = 1; threads <= 2; threads++)
        for (int power = 0; power < 2; power++)
            for (size_t b = 1; b <= MAX_B; b += MAX_B - 1) {
                omp_set_num_threads(threads);
                for (int online = 0; online < 2; online++) {
                    for (int i = 0; i < 4; i++)
                        memset(g[online][i], 0, (i < 2 ? (i ? M : N) * 2
                                                       : (i == 2 ? M : N) * MAX_B) * sizeof(double));
                    otad_tape *t = new_tape();
                    otad_var px = otad_param(t, N, 2, x, g[online][0]);
                    otad_var py = otad_param(t, M, 2, y, g[online][1]);
                    otad_var pv = otad_param(t, M, b, v, g[online][2]);
                    otad_var pn = otad_param(t, N, b, num, g[online][3]);
                    otad_kernel k = online ? otad_kernel_points_online(t, px, py, 0.2, 2)
                                           : otad_kernel_gibbs_points(t, px, py, 0.2);
                    otad_var z = power ? otad_kernel_scaling_pair_power(t, k, 0, pv, pn, 0.7)
                                       : otad_kernel_scaling_pair(t, k, 0, pv, pn);
                    assert_int_equal(otad_backward_seeded(t, z, seed), OTAD_OK);
                    memcpy(out[online], otad_value_of(t, z).data,
                           (N + M) * b * sizeof(double));
                    otad_tape_free(&t);
                }
                assert_true(max_rel_diff(out[1], out[0], (N + M) * b) < 1e-13);
                assert_true(max_rel_diff(g[1][0], g[0][0], N * 2) < 1e-12);
                assert_true(max_rel_diff(g[1][1], g[0][1], M * 2) < 1e-12);
                assert_true(max_rel_diff(g[1][2], g[0][2], M * b) < 1e-13);
                assert_true(max_rel_diff(g[1][3], g[0][3], N * b) < 1e-13);
            }
    omp_set_num_threads(2);
    for (int s = 0; s < 2; s++)
        free(out[s]), free(g[s][0]), free(g[s][1]), free(g[s][2]), free(g[s][3]);
    free(x), free(y), free(v), free(num), free(seed);
}

/* Dot-product and Jacobian checks on small clouds, every product, both
 * domains, the squared and the plain distance. */
static void test_gradients(void **state)
{
    (void)state;
    enum { N = 6, M = 4 };
    static const double powers[] = {2, 1};
    for (size_t pw = 0; pw < 2; pw++)
        for (int log_domain = 0; log_domain < 2; log_domain++)
            for (int p = 0; p < 4; p++) {
                apply_case a = {products[p], log_domain, powers[pw], 0};
                size_t in_rows = (products[p] & OTAD_KERNEL_TRANSPOSE) ? N : M;
                test_shape shapes[3] = {{in_rows, 3}, {N, 2}, {M, 2}};
                check_graph_at(record_apply, &a, 3, shapes, 0, 1, 20 + 4 * pw + p);
            }
}

/* The Euclidean cost between a cloud and itself: where points coincide
 * its gradient is taken as 0, so a Sinkhorn loss of the cloud with itself
 * has a finite gradient (through otad_sqrt of otad_sqdist it is 0·∞), and
 * the value of the stored kernel of that cost. */
static void test_euclidean_cost_at_coinciding_points(void **state)
{
    (void)state;
    enum { N = 40 };
    double *x = random_matrix(5, N, 2, 0, 1), g[2 * N] = {0}, value[2];
    for (int online = 0; online < 2; online++) {
        otad_tape *t = new_unchecked_tape();
        otad_var px = otad_param(t, N, 2, x, g);
        otad_kernel k = online ? otad_kernel_points_online(t, px, px, 0.1, 1)
                               : otad_kernel_gibbs(t, otad_sqrt(t, otad_sqdist(t, px, px)), 0.1);
        otad_var w = otad_sinkhorn_loss(t, k, otad_const_fill(t, N, 1, 1.0 / N),
                                        otad_const_fill(t, N, 1, 1.0 / N), NULL,
                                        OTAD_SINKHORN_COST);
        value[online] = otad_scalar(t, w);
        if (online) {
            assert_int_equal(otad_backward(t, w), OTAD_OK);
            for (int i = 0; i < 2 * N; i++)
                assert_true(isfinite(g[i]));
        }
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 1e-14);
    free(x);
}

/* The debiased divergence of two clouds in the log domain with ε-scaling
 * (the kernel at other ε): the online kernel against the stored one. */
static void test_divergence_with_eps_scaling(void **state)
{
    (void)state;
    enum { N = 150, M = 170 };
    double *x = random_matrix(6, N, 3, 0, 1), *y = random_matrix(7, M, 3, 0, 1);
    double gx[2][3 * N], gy[2][3 * M], value[2];
    for (int online = 0; online < 2; online++) {
        memset(gx[online], 0, sizeof gx[online]);
        memset(gy[online], 0, sizeof gy[online]);
        otad_tape *t = new_tape();
        otad_var px = otad_param(t, N, 3, x, gx[online]), py = otad_param(t, M, 3, y, gy[online]);
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = 1;
        o.eps_start = 1;
        o.mode = OTAD_ENVELOPE;
        o.iterations = 400;
        o.tolerance = 1e-12;
        double eps = 0.01;
        otad_kernel k[3];
        otad_var pairs[3][2] = {{px, py}, {px, px}, {py, py}};
        for (int i = 0; i < 3; i++)
            k[i] = online ? otad_kernel_points_online(t, pairs[i][0], pairs[i][1], eps, 2)
                          : otad_kernel_gibbs_points(t, pairs[i][0], pairs[i][1], eps);
        otad_var w = otad_sinkhorn_divergence(t, k[0], k[1], k[2],
                                              otad_const_fill(t, N, 1, 1.0 / N),
                                              otad_const_fill(t, M, 1, 1.0 / M), &o,
                                              OTAD_SINKHORN_DUAL);
        assert_int_equal(otad_backward(t, w), OTAD_OK);
        value[online] = otad_scalar(t, w);
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 1e-13 * fabs(value[0]));
    assert_rel_close("gradient to x", gx[1], gx[0], 3 * N, 1e-11);
    assert_rel_close("gradient to y", gy[1], gy[0], 3 * M, 1e-11);
    free(x), free(y);
}

/* 6000 and 6000 points: a stored kernel would take 288 MB; an apply and
 * its gradients to the points take the packs of pending gradient terms
 * (at most 8 MB) in the tape's chunks, and a few MB more. */
static void test_memory_stays_linear(void **state)
{
    (void)state;
    enum { N = 6000 };
    counting_allocator count;
    counting_allocator_init(&count);
    otad_tape *t = new_counted_tape(&count, 1 << 20);
    double *x = random_matrix(8, N, 3, 0, 1), *y = random_matrix(9, N, 3, 0, 1);
    double *gx = calloc(3 * N, sizeof *gx), *gy = calloc(3 * N, sizeof *gy);
    otad_var px = otad_param(t, N, 3, x, gx), py = otad_param(t, N, 3, y, gy);
    otad_kernel k = otad_kernel_points_online(t, px, py, 0.1, 2);
    otad_var s = otad_sum(t, otad_kernel_apply(t, k, 0, otad_const_fill(t, N, 1, 1.0 / N)));
    assert_int_equal(otad_backward(t, s), OTAD_OK);
    double peak_mb = (double)count.live_bytes / (1 << 20);
    assert_true(peak_mb < 24);
    double norm = 0;
    for (int i = 0; i < 3 * N; i++)
        norm += gx[i] * gx[i];
    assert_true(norm > 0 && isfinite(norm));
    otad_tape_free(&t);
    free(x), free(y), free(gx), free(gy);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var x = otad_const_fill(t, 3, 2, 1), y = otad_const_fill(t, 4, 2, 0);
    assert_false(otad_var_valid(otad_kernel_points_online(t, x, y, 1, 0.5).node));
    assert_tape_failed(t, OTAD_EDOMAIN, "power is 0.5, must be finite and at least 1");
    x = otad_const_fill(t, 3, 2, 1), y = otad_const_fill(t, 4, 2, 0);
    assert_false(otad_var_valid(otad_kernel_points_online(t, x, y, -1, 2).node));
    assert_tape_failed(t, OTAD_EDOMAIN, "eps is -1, must be positive and finite");
    x = otad_const_fill(t, 3, 2, 1), y = otad_const_fill(t, 4, 3, 0);
    assert_false(otad_var_valid(otad_kernel_points_online(t, x, y, 1, 2).node));
    assert_tape_failed(t, OTAD_ESHAPE, "points of dimension 2 (x is 3x2) and 3 (y is 4x3)");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_stored_kernel),
        cmocka_unit_test(test_pairs_match_stored_kernel),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_euclidean_cost_at_coinciding_points),
        cmocka_unit_test(test_divergence_with_eps_scaling),
        cmocka_unit_test(test_memory_stays_linear),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
