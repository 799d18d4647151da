/* matmul with either operand transposed. */
#include <stdlib.h>

#include "support.h"

typedef struct flags {
    int ta, tb;
} flags;

static otad_var record_matmul(otad_tape *t, const otad_var *in, void *instance)
{
    const flags *f = instance;
    return otad_matmul(t, in[0], f->ta, in[1], f->tb);
}

static double entry(const double *x, size_t ld, int transposed, size_t i, size_t j)
{
    return transposed ? x[j + i * ld] : x[i + j * ld];
}

/* op(A) is m×k and op(B) k×n; stored shapes follow from the flags. */
static void shapes_for(flags f, size_t m, size_t k, size_t n, test_shape s[2])
{
    s[0] = f.ta ? (test_shape){k, m} : (test_shape){m, k};
    s[1] = f.tb ? (test_shape){n, k} : (test_shape){k, n};
}

static void test_values_all_transposes(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    const size_t m = 5, k = 3, n = 4;
    for (int c = 0; c < 4; c++) {
        flags f = {c & 1, c >> 1};
        test_shape s[2];
        shapes_for(f, m, k, n, s);
        double *a = random_matrix(1, s[0].rows, s[0].cols, -1, 1);
        double *b = random_matrix(2, s[1].rows, s[1].cols, -1, 1);
        otad_var y = otad_matmul(t, otad_const(t, s[0].rows, s[0].cols, a), f.ta,
                                 otad_const(t, s[1].rows, s[1].cols, b), f.tb);
        otad_value v = otad_value_of(t, y);
        assert_tape_ok(t);
        assert_int_equal(v.rows, m);
        assert_int_equal(v.cols, n);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double s_ij = 0;
                for (size_t l = 0; l < k; l++)
                    s_ij += entry(a, s[0].rows, f.ta, i, l) * entry(b, s[1].rows, f.tb, l, j);
                assert_close(v.data[i + j * m], s_ij, 1e-15);
            }
        free(a), free(b);
    }
    otad_tape_free(&t);
}

static void test_gradients_every_shape(void **state)
{
    (void)state;
    /* (m, k, n): 1×1 products, matrix-vector, matrix-matrix */
    const size_t dims[4][3] = {{1, 1, 1}, {6, 4, 1}, {1, 6, 4}, {5, 3, 4}};
    for (int c = 0; c < 4; c++)
        for (size_t d = 0; d < 4; d++) {
            flags f = {c & 1, c >> 1};
            test_shape s[2];
            shapes_for(f, dims[d][0], dims[d][1], dims[d][2], s);
            check_graph_at(record_matmul, &f, 2, s, -1, 1, 10 * c + d);
        }
}

/* x·xᵀ: both operands are one node, both gradients accumulate into it. */
static otad_var record_gram(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_matmul(t, in[0], 0, in[0], 1);
}

static void test_same_operand_twice(void **state)
{
    (void)state;
    test_shape s = {4, 3};
    check_graph_at(record_gram, NULL, 1, &s, -1, 1, 99);
}

/* Three blocks of two columns, each combined with its own weights. */
static otad_var record_combine(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_combine_blocks(t, in[0], in[1]);
}

static void test_combine_blocks(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    /* R = 2 columns per block, F = 3 blocks */
    double x[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, 0.5, 0.5, 0, 2};
    otad_value y = otad_value_of(t, otad_combine_blocks(t, otad_const(t, 1, 6, x),
                                                        otad_const(t, 2, 3, w)));
    assert_tape_ok(t);
    assert_int_equal(y.cols, 3);
    assert_close(y.data[0], 1, 0);
    assert_close(y.data[1], 3.5, 0);
    assert_close(y.data[2], 12, 0);
    otad_tape_free(&t);
    const test_shape shapes[3][2] = {{{1, 1}, {1, 1}}, {{5, 6}, {2, 3}}, {{4, 6}, {3, 2}}};
    for (int s = 0; s < 3; s++)
        check_graph_at(record_combine, NULL, 2, shapes[s], -1, 1, 40 + s);
}

static void test_inner_dimension_mismatch(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_var y = otad_matmul(t, otad_const_fill(t, 3, 2, 1), 0, otad_const_fill(t, 3, 2, 1), 0);
    assert_false(otad_var_valid(y));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_string_equal(otad_tape_message(t), "matmul: op(a) is 3x2, op(b) is 3x2");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_all_transposes),
        cmocka_unit_test(test_gradients_every_shape),
        cmocka_unit_test(test_same_operand_twice),
        cmocka_unit_test(test_combine_blocks),
        cmocka_unit_test(test_inner_dimension_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
