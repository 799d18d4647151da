/* Graphs and the heat kernel M^(−S), M = I − ε/(4S) L_w. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static otad_graph *grid(size_t nx, size_t ny)
{
    otad_graph *g = NULL;
    otad_error err;
    if (otad_graph_grid2d(&g, nx, ny, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    return g;
}

static void test_grid_edge_order(void **state)
{
    (void)state;
    otad_graph *g = grid(3, 2);
    assert_int_equal(otad_graph_vertices(g), 6);
    assert_int_equal(otad_graph_edges(g), 4 + 3);
    /* x-edges by row, then y-edges: the order of the metric-learning reference */
    const size_t expected[7][2] = {{0, 1}, {1, 2}, {3, 4}, {4, 5}, {0, 3}, {1, 4}, {2, 5}};
    for (size_t e = 0; e < 7; e++) {
        size_t i, j;
        otad_graph_edge(g, e, &i, &j);
        assert_int_equal(i, expected[e][0]);
        assert_int_equal(j, expected[e][1]);
    }
    otad_graph_free(&g);
    assert_null(g);
    otad_error err;
    assert_int_equal(otad_graph_grid3d(&g, 3, 2, 2, &err), OTAD_OK);
    assert_int_equal(otad_graph_edges(g), 2 * 2 * 2 + 3 * 1 * 2 + 3 * 2 * 1);
    size_t i, j;
    otad_graph_edge(g, 8 + 6, &i, &j); /* the first z-edge */
    assert_int_equal(i, 0);
    assert_int_equal(j, 6);
    otad_graph_free(&g);
}

/* (M z)_i = z_i + τ Σ_{e ∋ i} s_e w_e (z_i − z_j), s_e = 1/h² for an edge of
 * spacing h: s(e) for the 3×2 grid (x spacing 1/2, y spacing 1) and the
 * 16×16×16 grid (spacing 1/15). */
static double scale_3x2(size_t e)
{
    return e < 4 ? 4.0 : 1.0;
}

static double scale_16_cube(size_t e)
{
    (void)e;
    return 15.0 * 15.0;
}

static void apply_m(const otad_graph *g, double (*scale)(size_t), const double *w, double tau,
                    const double *z, double *out)
{
    size_t n = otad_graph_vertices(g);
    for (size_t v = 0; v < n; v++)
        out[v] = z[v];
    for (size_t e = 0; e < otad_graph_edges(g); e++) {
        size_t i, j;
        otad_graph_edge(g, e, &i, &j);
        double s = scale(e);
        out[i] += tau * s * w[e] * (z[i] - z[j]);
        out[j] += tau * s * w[e] * (z[j] - z[i]);
    }
}

static void test_apply_inverts_m_to_the_s(void **state)
{
    (void)state;
    otad_graph *g = grid(3, 2);
    otad_tape *t = new_tape();
    const int steps = 3;
    const double eps = 0.5, tau = eps / (4 * steps);
    double *w = random_matrix(1, 7, 1, 0.5, 2), *x = random_matrix(2, 6, 2, -1, 1);
    otad_kernel k = otad_kernel_heat(t, g, otad_const(t, 7, 1, w), eps, steps);
    otad_value y = otad_value_of(t, otad_kernel_apply(t, k, 0, otad_const(t, 6, 2, x)));
    assert_tape_ok(t);
    for (size_t b = 0; b < 2; b++) {
        double z[6], m[6];
        for (size_t v = 0; v < 6; v++)
            z[v] = y.data[v + 6 * b];
        for (int s = 0; s < steps; s++) {
            apply_m(g, scale_3x2, w, tau, z, m);
            for (size_t v = 0; v < 6; v++)
                z[v] = m[v];
        }
        for (size_t v = 0; v < 6; v++)
            assert_close(z[v], x[v + 6 * b], 1e-14);
    }
    check_kernel_adjoint(t, k, 0, 3);
    free(w), free(x);
    otad_tape_free(&t);
    otad_graph_free(&g);
}

typedef struct heat_case {
    otad_graph *graph;
    int steps;
} heat_case;

/* inputs: x, w */
static otad_var record_heat(otad_tape *t, const otad_var *in, void *instance)
{
    const heat_case *h = instance;
    otad_kernel k = otad_kernel_heat(t, h->graph, in[1], 0.3, h->steps);
    return otad_kernel_apply(t, k, 0, in[0]);
}

static void test_gradients_to_x_and_weights(void **state)
{
    (void)state;
    /* a grid, and a small graph with a repeated edge and unit scales */
    otad_graph *graphs[2] = {grid(4, 3), NULL};
    const size_t ends[12] = {0, 1, 1, 2, 2, 3, 3, 0, 0, 2, 2, 0};
    otad_error err;
    assert_int_equal(otad_graph_new(&graphs[1], 4, 6, ends, NULL, &err), OTAD_OK);
    for (int gi = 0; gi < 2; gi++)
        for (int steps = 1; steps <= 4; steps += 3)
            for (size_t cols = 1; cols <= 3; cols += 2) {
                heat_case h = {graphs[gi], steps};
                test_shape shapes[2] = {{otad_graph_vertices(graphs[gi]), cols},
                                        {otad_graph_edges(graphs[gi]), 1}};
                check_graph_at(record_heat, &h, 2, shapes, 0.5, 2, 70 + steps);
            }
    otad_graph_free(&graphs[0]);
    otad_graph_free(&graphs[1]);
}

/* Applies after a rewind that dropped an earlier apply of the same kernel:
 * the kernel's workspaces must not point into the dropped memory. */
static void test_rewind_keeps_the_kernel_sound(void **state)
{
    (void)state;
    otad_graph *g = grid(4, 3);
    double *w = random_matrix(1, 17, 1, 0.5, 2), *x = random_matrix(2, 12, 16, -1, 1);
    double *seed = random_matrix(3, 12, 16, -1, 1), gw[2][17], gx[2][12 * 16], value[2];
    for (int rewound = 0; rewound < 2; rewound++) {
        otad_tape *t = new_tape();
        otad_var pw = otad_param(t, 17, 1, w, gw[rewound]);
        otad_var px = otad_param(t, 12, 16, x, gx[rewound]);
        otad_kernel k = otad_kernel_heat(t, g, pw, 0.3, 4);
        if (rewound) {
            otad_mark m = otad_tape_mark(t);
            otad_kernel_apply(t, k, 0, otad_const_fill(t, 12, 16, 1));
            otad_tape_rewind(t, m);
        }
        otad_var y = otad_dot(t, otad_kernel_apply(t, k, 0, px), otad_const(t, 12, 16, seed));
        assert_int_equal(otad_backward(t, y), OTAD_OK);
        value[rewound] = otad_scalar(t, y);
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 0);
    assert_memory_equal(gw[1], gw[0], sizeof gw[0]);
    assert_memory_equal(gx[1], gx[0], sizeof gx[0]);
    free(w), free(x), free(seed);
    otad_graph_free(&g);
}

/* A factor larger than a core's cache is swept by blocks of its supernodes,
 * and by two threads at once, one half of the elimination tree each: M^S
 * applied to the result gives back the right-hand sides, for every width
 * of the sweeps (1, 4, 8, 16, 32 columns and what is left over), and two
 * threads' solves are one thread's. */
static void test_large_factor_solves(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    otad_error err;
    if (otad_graph_grid3d(&g, 16, 16, 16, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    const int steps = 3;
    const double eps = 0.04, tau = eps / (4 * steps);
    size_t n = otad_graph_vertices(g), m = otad_graph_edges(g), cols[4] = {1, 7, 29, 32};
    double *w = random_matrix(21, m, 1, 0.5, 2), *x = random_matrix(22, n, 32, 0, 1);
    double *y[2] = {malloc(n * 32 * sizeof(double)), malloc(n * 32 * sizeof(double))};
    double *z = malloc(2 * n * sizeof *z);
    int threads = omp_get_max_threads();
    for (int c = 0; c < 4; c++) {
        for (int t = 0; t < 2; t++) {
            omp_set_num_threads(t + 1);
            otad_tape *tape = new_tape();
            otad_kernel k = otad_kernel_heat(tape, g, otad_const(tape, m, 1, w), eps, steps);
            otad_var out = otad_kernel_apply(tape, k, 0, otad_const(tape, n, cols[c], x));
            assert_tape_ok(tape);
            memcpy(y[t], otad_value_of(tape, out).data, n * cols[c] * sizeof(double));
            otad_tape_free(&tape);
        }
        for (size_t b = 0; b < cols[c]; b++) {
            memcpy(z, y[1] + b * n, n * sizeof *z);
            for (int s = 0; s < steps; s++) {
                apply_m(g, scale_16_cube, w, tau, z, z + n);
                memcpy(z, z + n, n * sizeof *z);
            }
            /* ‖M‖ is near 20 here: M^S magnifies y's rounding up to 8·10³ times */
            assert_rel_close("M^S K x", z, x + b * n, n, 5e-12);
        }
        assert_rel_close("two threads", y[1], y[0], n * cols[c], 1e-13);
    }
    omp_set_num_threads(threads);
    free(w), free(x), free(y[0]), free(y[1]), free(z);
    otad_graph_free(&g);
}

/* Where the factor fits in the cache, two threads take half the columns
 * each through all S solves, in the apply (over 8 columns) and in the
 * gradient to the weights (x on one, ȳ on the other, over 4 columns each):
 * the gradients are right there, for even and odd S (whose middle step
 * pairs with itself), and equal one thread's. */
static void test_columns_apart_on_two_threads(void **state)
{
    (void)state;
    otad_graph *g = grid(6, 5);
    size_t n = otad_graph_vertices(g), m = otad_graph_edges(g), cols[2] = {5, 16};
    double *w = random_matrix(31, m, 1, 0.5, 2), *x = random_matrix(32, n, 16, -1, 1);
    double *seed = random_matrix(33, n, 16, -1, 1), gw[2][49], gx[2][30 * 16], value[2];
    int threads = omp_get_max_threads();
    for (int steps = 3; steps <= 4; steps++)
        for (int c = 0; c < 2; c++) {
            for (int t = 0; t < 2; t++) {
                omp_set_num_threads(t + 1);
                otad_tape *tape = new_tape();
                otad_var pw = otad_param(tape, m, 1, w, gw[t]);
                otad_var px = otad_param(tape, n, cols[c], x, gx[t]);
                otad_kernel k = otad_kernel_heat(tape, g, pw, 0.3, steps);
                otad_var y = otad_dot(tape, otad_kernel_apply(tape, k, 0, px),
                                      otad_const(tape, n, cols[c], seed));
                assert_int_equal(otad_backward(tape, y), OTAD_OK);
                value[t] = otad_scalar(tape, y);
                otad_tape_free(&tape);
            }
            assert_close(value[1], value[0], 1e-14 * fabs(value[0]));
            assert_rel_close("x's gradient", gx[1], gx[0], n * cols[c], 1e-13);
            assert_rel_close("w's gradient", gw[1], gw[0], m, 1e-13);
        }
    for (int steps = 1; steps <= 4; steps++) {
        heat_case h = {g, steps};
        test_shape shapes[2] = {{n, 5}, {m, 1}};
        check_graph_at(record_heat, &h, 2, shapes, 0.5, 2, 80 + steps);
    }
    omp_set_num_threads(threads);
    free(w), free(x), free(seed);
    otad_graph_free(&g);
}

static void test_errors(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    otad_error err;
    const size_t two_parts[4] = {0, 1, 2, 3}, loop[2] = {1, 1};
    assert_int_equal(otad_graph_new(&g, 4, 2, two_parts, NULL, &err), OTAD_EDOMAIN);
    assert_string_equal(err.message, "graph: not connected (2 components); a heat kernel "
                                     "needs one");
    assert_null(g);
    assert_int_equal(otad_graph_new(&g, 2, 1, loop, NULL, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "graph: edge 0 joins 1 and 1 (needs two distinct "
                                     "vertices below 2)");
    assert_int_equal(otad_graph_grid2d(&g, 1, 5, &err), OTAD_EINVAL);
    /* No edges may come as no list (the NULL is never read): not connected. */
    assert_int_equal(otad_graph_new(&g, 3, 0, NULL, NULL, &err), OTAD_EDOMAIN);
    assert_string_equal(err.message, "graph: not connected (3 components); a heat kernel "
                                     "needs one");
    assert_null(g);

    g = grid(3, 2);
    otad_tape *t = new_tape();
    double w[7] = {1, 1, 1, -1, 1, 1, 1};
    otad_kernel k = otad_kernel_heat(t, g, otad_const(t, 7, 1, w), 0.1, 5);
    assert_false(otad_var_valid(k.node));
    assert_string_equal(otad_tape_message(t),
                        "kernel: heat kernel: edge weight 3 is -1, must be positive");
    otad_tape_reset(t);
    k = otad_kernel_heat(t, g, otad_const_fill(t, 6, 1, 1), 0.1, 5);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    otad_tape_reset(t);
    k = otad_kernel_heat(t, g, otad_const_fill(t, 7, 1, 1), 0.1, 5);
    otad_var y = otad_kernel_apply(t, k, OTAD_KERNEL_COST, otad_const_fill(t, 6, 1, 1));
    assert_false(otad_var_valid(y));
    assert_string_equal(otad_tape_message(t),
                        "kernel_apply: heat kernel has no cost matrix for K⊙C products");
    otad_tape_free(&t);
    otad_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_edge_order),
        cmocka_unit_test(test_apply_inverts_m_to_the_s),
        cmocka_unit_test(test_gradients_to_x_and_weights),
        cmocka_unit_test(test_rewind_keeps_the_kernel_sound),
        cmocka_unit_test(test_large_factor_solves),
        cmocka_unit_test(test_columns_apart_on_two_threads),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
