/* W₂ between Gaussians: closed cases, the optimal map, symmetry, gradients
 * against finite differences and against the map, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { D = 5 };

/* A A ᵀ/d + shift·I for A uniform in [−1, 1): symmetric positive definite. */
static void random_spd(uint64_t seed, size_t d, double shift, double *s)
{
    double *a = random_matrix(seed, d, d, -1, 1);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double sum = 0;
            for (size_t k = 0; k < d; k++)
                sum += a[i + k * d] * a[j + k * d];
            s[i + j * d] = sum / (double)d + (i == j ? shift : 0);
        }
    free(a);
}

static void multiply(size_t d, const double *x, const double *y, double *out)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double sum = 0;
            for (size_t k = 0; k < d; k++)
                sum += x[i + k * d] * y[k + j * d];
            out[i + j * d] = sum;
        }
}

/* Cholesky in place of a copy: 1 when it finds the matrix positive definite. */
static int cholesky_succeeds(size_t d, const double *s)
{
    double l[D * D];
    memcpy(l, s, d * d * sizeof *l);
    for (size_t j = 0; j < d; j++) {
        for (size_t k = 0; k < j; k++)
            for (size_t i = j; i < d; i++)
                l[i + j * d] -= l[i + k * d] * l[j + k * d];
        if (!(l[j + j * d] > 0))
            return 0;
        double pivot = sqrt(l[j + j * d]);
        for (size_t i = j; i < d; i++)
            l[i + j * d] /= pivot;
    }
    return 1;
}

static double w2(size_t d, const double *m1, const double *s1, const double *m2,
                 const double *s2)
{
    otad_tape *t = new_tape();
    otad_var w = otad_gaussian_w2(t, otad_const(t, d, 1, m1), otad_const(t, d, d, s1),
                                  otad_const(t, d, 1, m2), otad_const(t, d, d, s2));
    assert_tape_ok(t);
    double v = otad_scalar(t, w);
    otad_tape_free(&t);
    return v;
}

/* ---- closed cases ------------------------------------------------------------ */

static void test_one_dimension(void **state)
{
    (void)state;
    double m1 = 0.3, v1 = 2.25, m2 = -1, v2 = 0.49;
    assert_close(w2(1, &m1, &v1, &m2, &v2), 1.3 * 1.3 + 0.8 * 0.8, 1e-14);
    double map;
    assert_int_equal(otad_gaussian_map(1, &v1, &v2, &map, NULL), OTAD_OK);
    assert_close(map, 0.7 / 1.5, 1e-15);
}

/* Commuting covariances, S = U diag(s) Uᵀ with a common rotation U (and
 * U = I): ‖m1 − m2‖² + ‖√S1 − √S2‖²_F = ‖m1 − m2‖² + Σ (√s1 − √s2)². */
static void test_commuting_covariances(void **state)
{
    (void)state;
    double s1[D] = {0.5, 1, 2, 4, 9}, s2[D] = {3, 0.25, 2, 1, 16};
    double *m1 = random_matrix(1, D, 1, -1, 1), *m2 = random_matrix(2, D, 1, -1, 1);
    double expected = 0;
    for (size_t k = 0; k < D; k++)
        expected += pow(m1[k] - m2[k], 2) + pow(sqrt(s1[k]) - sqrt(s2[k]), 2);
    /* U = I − 2uuᵀ/‖u‖², a reflection */
    double u[D] = {1, -2, 0.5, 3, 1}, uu = 0, rot[D * D], c1[D * D], c2[D * D];
    for (size_t k = 0; k < D; k++)
        uu += u[k] * u[k];
    for (int rotated = 0; rotated < 2; rotated++) {
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < D; j++)
                rot[i + j * D] = (i == j) - (rotated ? 2 * u[i] * u[j] / uu : 0);
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < D; j++) {
                c1[i + j * D] = c2[i + j * D] = 0;
                for (size_t k = 0; k < D; k++) {
                    c1[i + j * D] += rot[i + k * D] * s1[k] * rot[j + k * D];
                    c2[i + j * D] += rot[i + k * D] * s2[k] * rot[j + k * D];
                }
            }
        assert_close(w2(D, m1, c1, m2, c2), expected, 1e-12);
    }
    free(m1), free(m2);
}

/* T is symmetric positive definite and pushes S1 to S2: T S1 T = S2. */
static void test_map(void **state)
{
    (void)state;
    double s1[D * D], s2[D * D], map[D * D], tmp[D * D], pushed[D * D];
    random_spd(3, D, 0.3, s1);
    random_spd(4, D, 0.1, s2);
    assert_int_equal(otad_gaussian_map(D, s1, s2, map, NULL), OTAD_OK);
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++)
            assert_true(map[i + j * D] == map[j + i * D]);
    assert_true(cholesky_succeeds(D, map));
    multiply(D, map, s1, tmp);
    multiply(D, tmp, map, pushed);
    assert_rel_close("T S1 T against S2", pushed, s2, D * D, 1e-13);
}

/* W(N, N) = 0 to rounding; W(1, 2) = W(2, 1). */
static void test_identity_and_symmetry(void **state)
{
    (void)state;
    double s1[D * D], s2[D * D];
    random_spd(5, D, 0.2, s1);
    random_spd(6, D, 0.05, s2);
    double *m1 = random_matrix(7, D, 1, -1, 1), *m2 = random_matrix(8, D, 1, -1, 1);
    assert_close(w2(D, m1, s1, m1, s1), 0, 1e-14);
    assert_close(w2(D, m2, s2, m2, s2), 0, 1e-14);
    double forth = w2(D, m1, s1, m2, s2);
    assert_true(forth > 0.1);
    assert_close(w2(D, m2, s2, m1, s1), forth, 1e-13);
    free(m1), free(m2);
}

/* ---- gradients ---------------------------------------------------------------- */

static otad_var record_w2(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_gaussian_w2(t, in[0], in[1], in[2], in[3]);
}

/* Dot-product test and full Jacobian on random inputs; the perturbations of
 * the covariances are arbitrary (not symmetric): the op symmetrises. */
static void test_gradient_checks(void **state)
{
    (void)state;
    for (size_t d = 1; d <= D; d += 2) {
        double s1[D * D], s2[D * D];
        random_spd(10 + d, d, 0.3, s1);
        random_spd(20 + d, d, 0.2, s2);
        otad_value in[4] = {{random_matrix(30 + d, d, 1, -1, 1), d, 1}, {s1, d, d},
                            {random_matrix(40 + d, d, 1, -1, 1), d, 1}, {s2, d, d}};
        otad_check_result res;
        assert_check_passed(otad_check_graph(record_w2, NULL, 4, in, NULL, &res), &res);
        assert_check_passed(otad_check_jacobian(record_w2, NULL, 4, in, NULL, &res), &res);
        free(in[0].data), free(in[2].data);
    }
}

/* The gradient to S1 is I − T(S1 → S2) and the one to S2 is I − T(S2 → S1),
 * the inverse map, both from otad_gaussian_map. */
static void test_gradients_are_maps(void **state)
{
    (void)state;
    double s1[D * D], s2[D * D], g1[D * D], g2[D * D], forward[D * D], backward[D * D];
    random_spd(50, D, 0.3, s1);
    random_spd(51, D, 0.2, s2);
    double m[D] = {0};
    otad_tape *t = new_tape();
    otad_var w = otad_gaussian_w2(t, otad_const(t, D, 1, m), otad_param(t, D, D, s1, g1),
                                  otad_const(t, D, 1, m), otad_param(t, D, D, s2, g2));
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    otad_tape_free(&t);
    assert_int_equal(otad_gaussian_map(D, s1, s2, forward, NULL), OTAD_OK);
    assert_int_equal(otad_gaussian_map(D, s2, s1, backward, NULL), OTAD_OK);
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            assert_close(g1[i + j * D], (i == j) - forward[i + j * D], 1e-13);
            assert_close(g2[i + j * D], (i == j) - backward[i + j * D], 1e-12);
        }
}

/* ---- extreme scales ---------------------------------------------------------------- */

/* T(cS1, S2) = c^-½ T(S1, S2) and T(S1, cS2) = c^½ T(S1, S2): every SPD pair
 * whose map is representable has it computed, however far its entries are
 * from 1.  S1 = c·I gives T = c^-½ S2^½, exactly known for S2 = [2 1; 1 2]
 * (eigenvalues 3 and 1): S2^½ = ½ [√3+1 √3−1; √3−1 √3+1]. */
static void test_extreme_scales(void **state)
{
    (void)state;
    const double r3 = sqrt(3.0), root[4] = {(r3 + 1) / 2, (r3 - 1) / 2, (r3 - 1) / 2,
                                            (r3 + 1) / 2};
    static const struct {
        double c1, c2, t_scale; /* S1 = c1·I, S2 = c2·[2 1; 1 2], T = t_scale·S2^½ */
    } cases[] = {
        {1e308, 1, 1e-154}, {1e-300, 1, 1e150}, {1, 1e300, 1e150}, {1, 1e-300, 1e-150},
        {1e308, 1e-300, 1e-304}, {1e-300, 1e300, 1e300},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double s1[4] = {cases[k].c1, 0, 0, cases[k].c1}, s2[4], map[4], expected[4];
        for (int i = 0; i < 4; i++) {
            s2[i] = cases[k].c2 * (i == 0 || i == 3 ? 2 : 1);
            expected[i] = cases[k].t_scale * root[i];
        }
        otad_error err;
        if (otad_gaussian_map(2, s1, s2, map, &err) != OTAD_OK)
            fail_msg("S1 = %g I, S2 = %g S: %s", cases[k].c1, cases[k].c2, err.message);
        assert_rel_close("gaussian_map at an extreme scale", map, expected, 4, 1e-14);
    }
    /* a pair that does not commute, against the map at unit scale */
    double a[D * D], b[D * D], scaled[D * D], unit_map[D * D], map[D * D];
    random_spd(11, D, 0.5, a);
    random_spd(12, D, 0.5, b);
    assert_int_equal(otad_gaussian_map(D, a, b, unit_map, NULL), OTAD_OK);
    for (int i = 0; i < D * D; i++)
        scaled[i] = 0x1p-1000 * a[i], unit_map[i] *= 0x1p500;
    assert_int_equal(otad_gaussian_map(D, scaled, b, map, NULL), OTAD_OK);
    assert_rel_close("gaussian_map of 2^-1000 S1", map, unit_map, D * D, 1e-12);

    /* the distance and its gradient at covariances of 1e300 */
    double m[2] = {0, 0}, big1[4] = {1e300, 0, 0, 1e300}, big2[4] = {2e300, 1e300, 1e300, 2e300};
    double g1[4], g2[4];
    otad_tape *t = new_tape();
    otad_var w = otad_gaussian_w2(t, otad_const(t, 2, 1, m), otad_param(t, 2, 2, big1, g1),
                                  otad_const(t, 2, 1, m), otad_param(t, 2, 2, big2, g2));
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    assert_close(otad_scalar(t, w) / 1e300, 6 - 2 * (r3 + 1), 1e-13);
    for (int i = 0; i < 4; i++)   /* S̄1 = I − T, T = S2^½ for S1 = S2's scale times I */
        assert_close(g1[i], (i == 0 || i == 3) - root[i], 1e-13);
    otad_tape_free(&t);
}

/* ---- bad input ------------------------------------------------------------------ */

static void test_bad_input(void **state)
{
    (void)state;
    double m[2] = {0, 0}, good[4] = {2, 0.5, 0.5, 1}, singular[4] = {1, 1, 1, 1};
    double indefinite[4] = {1, 2, 2, 1}, map[4];
    otad_tape *t = new_tape();
    otad_var vm = otad_const(t, 2, 1, m), vgood = otad_const(t, 2, 2, good);
    otad_gaussian_w2(t, vm, otad_const(t, 2, 2, singular), vm, vgood);
    assert_tape_failed(t, OTAD_ENOTPOSDEF, "gaussian_w2: S1 is not positive definite");
    vm = otad_const(t, 2, 1, m), vgood = otad_const(t, 2, 2, good);
    otad_var w = otad_gaussian_w2(t, vm, vgood, vm, otad_const(t, 2, 2, indefinite));
    assert_false(otad_var_valid(w));
    assert_tape_failed(t, OTAD_ENOTPOSDEF, "S2 is not positive definite: eigenvalues from -1 to 3");
    vm = otad_const(t, 2, 1, m), vgood = otad_const(t, 2, 2, good);
    otad_gaussian_w2(t, vm, otad_const(t, 1, 4, good), vm, vgood);
    assert_tape_failed(t, OTAD_ESHAPE, "gaussian_w2: m1 is 2x1, S1 1x4");
    vgood = otad_const(t, 2, 2, good);
    otad_gaussian_w2(t, otad_const(t, 1, 1, m), vgood, otad_const(t, 2, 1, m), vgood);
    assert_tape_failed(t, OTAD_ESHAPE, "means must be d×1");
    otad_tape_free(&t);

    /* a non-finite covariance from an earlier op, on a tape that lets it through */
    t = new_unchecked_tape();
    double huge[4] = {1000, 0, 0, 1};
    otad_var overflowed = otad_exp(t, otad_const(t, 2, 2, huge));
    vm = otad_const(t, 2, 1, m);
    otad_gaussian_w2(t, vm, otad_const(t, 2, 2, good), vm, overflowed);
    assert_tape_failed(t, OTAD_EDOMAIN, "gaussian_w2: S2(0,0) is inf");
    otad_tape_free(&t);

    otad_error err;
    assert_int_equal(otad_gaussian_map(2, good, singular, map, &err), OTAD_ENOTPOSDEF);
    assert_non_null(strstr(err.message, "gaussian_map: S2 is not positive definite"));
    assert_int_equal(otad_gaussian_map(0, good, good, map, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "dimension 0"));
    assert_int_equal(otad_gaussian_map(2, good, NULL, map, &err), OTAD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_dimension),
        cmocka_unit_test(test_commuting_covariances),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_identity_and_symmetry),
        cmocka_unit_test(test_gradient_checks),
        cmocka_unit_test(test_gradients_are_maps),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_extreme_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
