/* The generator's draws: uniform, Gaussian, in the ball, on the simplex.
 * Each statistic is tested at five of its standard deviations. */
#include <math.h>
#include <stdlib.h>

#include "support.h"

enum { DRAWS = 200000 };

static void test_gaussian_moments(void **state)
{
    (void)state;
    otad_rng rng = {11};
    double *x = malloc(DRAWS * sizeof *x);
    assert_non_null(x);
    otad_rng_fill_gaussian(&rng, x, DRAWS, 0, 1);
    double mean = 0, var = 0, within = 0;
    for (int i = 0; i < DRAWS; i++)
        mean += x[i], within += fabs(x[i]) < 1;
    mean /= DRAWS, within /= DRAWS;
    for (int i = 0; i < DRAWS; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= DRAWS - 1;
    print_message("gaussian: mean %.4f, variance %.4f, within 1 sd %.4f\n", mean, var, within);
    assert_true(fabs(mean) < 5 / sqrt(DRAWS));
    assert_true(fabs(var - 1) < 5 * sqrt(2.0 / DRAWS));
    assert_true(fabs(within - 0.682689492) < 5 * sqrt(0.6827 * 0.3173 / DRAWS));
    /* mean and sd shift and scale the same draws */
    otad_rng again = {11};
    double y[3];
    otad_rng_fill_gaussian(&again, y, 3, 2, 0.5);
    for (int i = 0; i < 3; i++)
        assert_close(y[i], 2 + 0.5 * x[i], 1e-15);
    free(x);
}

/* The fraction of a uniform ball's points within half its radius is 2^−dim. */
static void test_ball(void **state)
{
    (void)state;
    for (size_t dim = 2; dim <= 3; dim++) {
        otad_rng rng = {5};
        size_t n = DRAWS / 2;
        double *x = malloc(n * dim * sizeof *x), inner = 0;
        assert_non_null(x);
        otad_rng_ball(&rng, n, dim, x);
        for (size_t i = 0; i < n; i++) {
            double r2 = 0;
            for (size_t d = 0; d < dim; d++)
                r2 += x[i + d * n] * x[i + d * n];
            assert_true(r2 <= 1);
            inner += r2 < 0.25;
        }
        double p = pow(0.5, (double)dim);
        inner /= (double)n;
        print_message("ball, dim %zu: %.4f within half the radius (%.4f)\n", dim, inner, p);
        assert_true(fabs(inner - p) < 5 * sqrt(p * (1 - p) / (double)n));
        free(x);
    }
}

/* Dirichlet(1, 1, 1): each coordinate has mean 1/3, and P(x_0 > 1/2) = 1/4. */
static void test_simplex(void **state)
{
    (void)state;
    otad_rng rng = {9};
    const int n = DRAWS / 4;
    double mean[3] = {0}, above = 0;
    for (int i = 0; i < n; i++) {
        double x[3];
        otad_rng_simplex(&rng, 3, x);
        assert_true(x[0] >= 0 && x[1] >= 0 && x[2] >= 0);
        assert_close(x[0] + x[1] + x[2], 1, 4e-16);
        for (int d = 0; d < 3; d++)
            mean[d] += x[d] / n;
        above += x[0] > 0.5;
    }
    above /= n;
    for (int d = 0; d < 3; d++)
        assert_true(fabs(mean[d] - 1.0 / 3) < 5 * sqrt(1.0 / 18 / n));
    assert_true(fabs(above - 0.25) < 5 * sqrt(0.25 * 0.75 / n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gaussian_moments),
        cmocka_unit_test(test_ball),
        cmocka_unit_test(test_simplex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
