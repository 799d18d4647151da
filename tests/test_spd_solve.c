/* The sparse SPD solve x = A⁻¹b and its adjoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* A 6×6 pattern: the diagonal, the first subdiagonal, and (5,0), (4,1). */
enum { N = 6, NNZ = 13 };
static const size_t col_start[N + 1] = {0, 3, 6, 8, 10, 12, 13};
static const size_t row[NNZ] = {0, 1, 5, 1, 2, 4, 2, 3, 3, 4, 4, 5, 5};

/* Values that make A diagonally dominant (so SPD) for off-diagonals in [−1, 1]. */
static double *spd_values(uint64_t seed)
{
    double *v = random_matrix(seed, NNZ, 1, -1, 1);
    for (size_t j = 0; j < N; j++)
        v[col_start[j]] = 4 + fabs(v[col_start[j]]);
    return v;
}

/* y = A x with A symmetric, stored as its lower triangle. */
static void multiply(const double *values, const double *x, double *y)
{
    for (size_t i = 0; i < N; i++)
        y[i] = 0;
    for (size_t j = 0; j < N; j++)
        for (size_t k = col_start[j]; k < col_start[j + 1]; k++) {
            size_t i = row[k];
            y[i] += values[k] * x[j];
            if (i != j)
                y[j] += values[k] * x[i];
        }
}

static otad_spd_pattern *pattern(void)
{
    otad_spd_pattern *p = NULL;
    otad_error err;
    if (otad_spd_pattern_new(&p, N, col_start, row, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    return p;
}

static void test_solves(void **state)
{
    (void)state;
    otad_spd_pattern *p = pattern();
    otad_tape *t = new_tape();
    double *values = spd_values(1), *b = random_matrix(2, N, 3, -1, 1), check[N];
    otad_value x = otad_value_of(t, otad_spd_solve(t, p, otad_const(t, NNZ, 1, values),
                                                   otad_const(t, N, 3, b)));
    assert_tape_ok(t);
    for (size_t c = 0; c < 3; c++) {
        multiply(values, x.data + c * N, check);
        for (size_t i = 0; i < N; i++)
            assert_close(check[i], b[i + c * N], 1e-14);
    }
    free(values), free(b);
    otad_tape_free(&t);
    otad_spd_pattern_free(&p);
}

/* b ↦ A⁻¹b on a tape, as a linear operator for the adjoint test. */
typedef struct solve_operator {
    otad_tape *tape;
    otad_spd_pattern *pattern;
    const double *values;
} solve_operator;

static int apply_inverse(void *instance, int transpose, size_t ncols, const double *b, double *x)
{
    (void)transpose; /* A is symmetric */
    solve_operator *op = instance;
    otad_tape_reset(op->tape);
    otad_var v = otad_spd_solve(op->tape, op->pattern, otad_const(op->tape, NNZ, 1, op->values),
                                otad_const(op->tape, N, ncols, b));
    if (otad_tape_status(op->tape) != OTAD_OK)
        return otad_tape_status(op->tape);
    memcpy(x, otad_value_of(op->tape, v).data, N * ncols * sizeof *x);
    return OTAD_OK;
}

static void test_adjoint_identity(void **state)
{
    (void)state;
    solve_operator op = {new_tape(), pattern(), spd_values(6)};
    otad_check_opts opts;
    otad_check_opts_init(&opts);
    opts.tolerance = 1e-12;
    opts.abs_floor = 0;
    otad_check_result res;
    assert_check_passed(otad_check_adjoint(apply_inverse, &op, N, N, 4, &opts, &res), &res);
    otad_tape_free(&op.tape);
    otad_spd_pattern_free(&op.pattern);
    free((double *)op.values);
}

/* inputs: values, b */
static otad_var record_solve(otad_tape *t, const otad_var *in, void *instance)
{
    return otad_spd_solve(t, instance, in[0], in[1]);
}

static void test_gradients(void **state)
{
    (void)state;
    otad_spd_pattern *p = pattern();
    for (size_t cols = 1; cols <= 3; cols += 2) {
        otad_value in[2] = {{spd_values(3), NNZ, 1}, {random_matrix(4, N, cols, -1, 1), N, cols}};
        otad_check_result res;
        assert_check_passed(otad_check_graph(record_solve, p, 2, in, NULL, &res), &res);
        assert_check_passed(otad_check_jacobian(record_solve, p, 2, in, NULL, &res), &res);
        free(in[0].data), free(in[1].data);
    }
    otad_spd_pattern_free(&p);
}

static void test_errors(void **state)
{
    (void)state;
    otad_spd_pattern *p = pattern();
    otad_tape *t = new_tape();
    double *values = spd_values(5);
    values[col_start[3]] = -10; /* a negative pivot */
    otad_var x = otad_spd_solve(t, p, otad_const(t, NNZ, 1, values), otad_const_fill(t, N, 1, 1));
    assert_false(otad_var_valid(x));
    assert_int_equal(otad_tape_status(t), OTAD_ENOTPOSDEF);
    assert_non_null(strstr(otad_tape_message(t), "spd_solve: matrix not positive definite"));
    otad_tape_reset(t);
    x = otad_spd_solve(t, p, otad_const(t, NNZ, 1, values), otad_const_fill(t, N + 1, 1, 1));
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    free(values);
    otad_tape_free(&t);
    otad_spd_pattern_free(&p);

    const size_t no_diagonal[NNZ] = {1, 0, 5, 1, 2, 4, 2, 3, 3, 4, 4, 5, 5};
    otad_error err;
    assert_int_equal(otad_spd_pattern_new(&p, N, col_start, no_diagonal, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "sparse pattern: not a lower triangle with sorted rows "
                                     "and the diagonal first in every column");
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solves),
        cmocka_unit_test(test_adjoint_identity),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
