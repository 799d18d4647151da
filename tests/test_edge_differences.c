/* Edge neighbours and the edge differences (D w)_e = Σ_{e'~e} (w_e − w_e'). */
#include <stdlib.h>
#include <string.h>

#include "support.h"

static size_t neighbours_of(otad_graph *g, size_t e, size_t *out)
{
    const size_t *list;
    size_t count;
    assert_int_equal(otad_graph_edge_neighbours(g, e, &list, &count, NULL), OTAD_OK);
    for (size_t k = 0; k < count; k++)
        out[k] = list[k];
    return count;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

static void assert_neighbours(otad_graph *g, size_t e, size_t count, const size_t *expected)
{
    size_t got[16];
    size_t n = neighbours_of(g, e, got);
    qsort(got, n, sizeof *got, compare_size);
    if (n != count)
        fail_msg("edge %zu has %zu neighbours, expected %zu", e, n, count);
    for (size_t k = 0; k < n; k++)
        if (got[k] != expected[k])
            fail_msg("edge %zu: neighbour %zu is %zu, expected %zu", e, k, got[k], expected[k]);
}

/* 4×3 grid: x-edges 0..8 (3 per row), y-edges 9..16 (4 per row).  The
 * metric-learning reference takes the neighbours in each orientation's array:
 * x-edge (r, c) has (r ± 1, c) and (r, c ± 1) among the x-edges. */
static void test_grid_neighbours(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 4, 3, NULL), OTAD_OK);
    size_t shape[3];
    assert_int_equal(otad_graph_grid_shape(g, shape), 2);
    assert_int_equal(shape[0], 4);
    assert_int_equal(shape[1], 3);
    assert_neighbours(g, 0, 2, (size_t[]){1, 3});          /* x-edge (0, 0) */
    assert_neighbours(g, 4, 4, (size_t[]){1, 3, 5, 7});    /* x-edge (1, 1) */
    assert_neighbours(g, 9, 2, (size_t[]){10, 13});        /* y-edge (0, 0) */
    assert_neighbours(g, 14, 3, (size_t[]){10, 13, 15});   /* y-edge (1, 1) */
    otad_graph_free(&g);
    /* 3-D: an inner edge has 6 neighbours of its orientation */
    assert_int_equal(otad_graph_grid3d(&g, 4, 4, 4, NULL), OTAD_OK);
    assert_int_equal(otad_graph_grid_shape(g, shape), 3);
    size_t inner = 1 + 3 * (1 + 4 * 1); /* x-edge at (1, 1, 1) */
    assert_neighbours(g, inner, 6, (size_t[]){inner - 12, inner - 3, inner - 1, inner + 1,
                                              inner + 3, inner + 12});
    otad_graph_free(&g);
}

/* A triangle 0-1-2 with a tail 2-3 and a repeated edge 0-1. */
static otad_graph *small_graph(void)
{
    const size_t ends[] = {0, 1, 1, 2, 2, 0, 2, 3, 1, 0};
    otad_graph *g = NULL;
    otad_error err;
    if (otad_graph_new(&g, 4, 5, ends, NULL, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    return g;
}

static void test_edge_list_neighbours(void **state)
{
    (void)state;
    otad_graph *g = small_graph();
    size_t shape[3];
    assert_int_equal(otad_graph_grid_shape(g, shape), 0);
    assert_neighbours(g, 0, 3, (size_t[]){1, 2, 4}); /* the repeat listed once */
    assert_neighbours(g, 3, 2, (size_t[]){1, 2});
    assert_neighbours(g, 2, 4, (size_t[]){0, 1, 3, 4});
    const size_t start[] = {0, 1, 1, 1, 2, 2}, list[] = {3, 0};
    assert_int_equal(otad_graph_set_edge_neighbours(g, start, list, NULL), OTAD_OK);
    assert_neighbours(g, 0, 1, (size_t[]){3});
    assert_neighbours(g, 1, 0, NULL);
    otad_graph_free(&g);
}

static void test_values(void **state)
{
    (void)state;
    otad_graph *g = small_graph();
    const double w[5] = {1, 2, 4, 8, 16};
    otad_tape *t = new_tape();
    otad_value d = otad_value_of(t, otad_edge_differences(t, g, otad_const(t, 5, 1, w)));
    assert_tape_ok(t);
    /* edge 1 (1-2) meets edges 0 and 4 at vertex 1, 2 and 3 at vertex 2 */
    const double expected[5] = {3 * 1 - 2 - 4 - 16, 4 * 2 - 1 - 16 - 4 - 8,
                                4 * 4 - 1 - 2 - 8 - 16, 2 * 8 - 2 - 4, 3 * 16 - 1 - 2 - 4};
    for (size_t e = 0; e < 5; e++)
        assert_close(d.data[e], expected[e], 1e-12);
    otad_tape_free(&t);
    otad_graph_free(&g);
}

static otad_var record_differences(otad_tape *t, const otad_var *in, void *graph)
{
    return otad_edge_differences(t, graph, in[0]);
}

/* With the caller's lists not symmetric, Dᵀ ≠ D: the check covers both. */
static void test_gradients(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 3, 3, NULL), OTAD_OK);
    const test_shape shapes[] = {{12, 2}};
    check_graph_at(record_differences, g, 1, shapes, -1, 1, 7);
    otad_graph_free(&g);
    g = small_graph();
    const size_t start[] = {0, 2, 2, 3, 3, 4}, list[] = {3, 4, 0, 2};
    assert_int_equal(otad_graph_set_edge_neighbours(g, start, list, NULL), OTAD_OK);
    const test_shape one[] = {{5, 3}};
    check_graph_at(record_differences, g, 1, one, -1, 1, 8);
    otad_graph_free(&g);
}

static void test_errors(void **state)
{
    (void)state;
    otad_graph *g = small_graph();
    otad_error err;
    const size_t start[] = {0, 1, 1, 1, 2, 2}, self[] = {0, 1}, far[] = {5, 1};
    const size_t falling[] = {0, 2, 1, 1, 2, 2}, two[] = {1, 2};
    assert_int_equal(otad_graph_set_edge_neighbours(g, start, self, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "edge 0 lists 0"));
    assert_int_equal(otad_graph_set_edge_neighbours(g, start, far, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "edge 0 lists 5"));
    assert_int_equal(otad_graph_set_edge_neighbours(g, falling, two, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "below"));
    const size_t *list;
    size_t count = 99;
    assert_int_equal(otad_graph_edge_neighbours(g, 5, &list, &count, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "edge neighbours: edge 5 of a graph with 5 edges");
    assert_int_equal(count, 99);
    assert_int_equal(otad_graph_edge_neighbours(NULL, 0, &list, &count, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "edge neighbours: NULL graph");
    assert_int_equal(otad_graph_edge_neighbours(g, 0, NULL, &count, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "edge neighbours: NULL list pointer");
    otad_tape *t = new_tape();
    otad_edge_differences(t, g, otad_const_fill(t, 4, 1, 1.0));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_non_null(strstr(otad_tape_message(t), "graph has 5 edges"));
    otad_tape_free(&t);
    t = new_tape();
    otad_edge_differences(t, NULL, otad_const_fill(t, 4, 1, 1.0));
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    otad_tape_free(&t);
    otad_graph_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grid_neighbours),
        cmocka_unit_test(test_edge_list_neighbours),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
