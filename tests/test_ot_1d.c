/* Exact 1-D optimal transport: brute force, sorted matching, translations,
 * the dual potentials, gradients, Sinkhorn's limit as ε → 0, bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- helpers --------------------------------------------------------------- */

static double *normalised(uint64_t seed, size_t n, double lo, double hi)
{
    double *h = random_matrix(seed, n, 1, lo, hi), s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
    return h;
}

static double cost_of(double d, double p)
{
    return pow(fabs(d), p);
}

/* The op's value on a fresh tape, failing the test on any error. */
static double ot_value(size_t n, const double *x, const double *a, size_t m, const double *y,
                       const double *b, double p)
{
    otad_tape *t = new_tape();
    otad_var w = otad_ot_1d(t, otad_const(t, n, 1, x), otad_const(t, n, 1, a),
                            otad_const(t, m, 1, y), otad_const(t, m, 1, b), p);
    assert_tape_ok(t);
    double v = otad_scalar(t, w);
    otad_tape_free(&t);
    return v;
}

/* A plan with its arrays (free with plan_free). */
static otad_plan_1d plan_new(size_t n, size_t m)
{
    otad_plan_1d plan = {malloc((n + m) * sizeof(size_t)), malloc((n + m) * sizeof(size_t)),
                         malloc((n + m) * sizeof(double)), malloc(n * sizeof(double)),
                         malloc(m * sizeof(double)), 0, 0};
    assert_true(plan.row && plan.col && plan.mass && plan.f && plan.g);
    return plan;
}

static void plan_free(otad_plan_1d *plan)
{
    free(plan->row), free(plan->col), free(plan->mass), free(plan->f), free(plan->g);
}

/* ---- values ---------------------------------------------------------------- */

/* The smallest (1/n) Σ c(x_i, y_σ(i)) over all permutations σ: with uniform
 * weights the optimum is a permutation (Birkhoff). */
static double best_permutation(size_t n, const double *x, const double *y, double p)
{
    double cost[8 * 8];
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++)
            cost[i + j * n] = cost_of(x[i] - y[j], p);
    return best_assignment(n, cost) / (double)n;
}

static void test_brute_force(void **state)
{
    (void)state;
    const double ps[4] = {1, 1.5, 2, 3};
    for (size_t n = 1; n <= 7; n++)
        for (size_t q = 0; q < 4; q++) {
            double *x = random_matrix(10 * n + q, n, 1, -1, 1);
            double *y = random_matrix(100 * n + q, n, 1, -0.5, 2);
            double a[7];
            for (size_t i = 0; i < n; i++)
                a[i] = 1.0 / (double)n;
            double exact = best_permutation(n, x, y, ps[q]);
            assert_close(ot_value(n, x, a, n, y, a, ps[q]), exact, 1e-14 * fmax(1, exact));
            free(x), free(y);
        }
}

/* Equal sizes, equal weights: the k-th smallest x goes to the k-th smallest y,
 * and the plan's mass sits on exactly those n cells. */
static void test_sorted_matching(void **state)
{
    (void)state;
    enum { N = 20 };
    double x[N], y[N], a[N];
    for (size_t k = 0; k < N; k++) {
        /* sorted order k ↦ position in the array: a fixed scramble */
        x[(7 * k) % N] = 0.1 * (double)k + 0.01 * (double)(k % 3);
        y[(3 * k) % N] = 0.5 + 0.07 * (double)k * (double)k / N;
        a[k] = 1.0 / N;
    }
    for (double p = 1; p <= 3; p += 0.5) {
        double expected = 0;
        for (size_t k = 0; k < N; k++)
            expected += cost_of(x[(7 * k) % N] - y[(3 * k) % N], p) / N;
        assert_close(ot_value(N, x, a, N, y, a, p), expected, 1e-14);
    }
    otad_plan_1d plan = plan_new(N, N);
    assert_int_equal(otad_ot_1d_plan(N, x, a, N, y, a, 2, &plan, NULL), OTAD_OK);
    assert_int_equal(plan.cells, 2 * N - 1);
    size_t carrying = 0;
    for (size_t c = 0; c < plan.cells; c++)
        if (plan.mass[c] > 0) {
            carrying++;
            size_t k = 0;
            while ((7 * k) % N != plan.row[c])
                k++;
            assert_int_equal(plan.col[c], (3 * k) % N);
            assert_close(plan.mass[c], 1.0 / N, 1e-16);
        }
    assert_int_equal(carrying, N);
    plan_free(&plan);
}

/* Moving both measures leaves the cost; moving one measure by t costs |t|^p
 * against itself; for p = 2, W² − 2t(mean x − mean y) + t² (quantiles move
 * by t). */
static void test_translations(void **state)
{
    (void)state;
    enum { N = 11, M = 17 };
    double *x = random_matrix(1, N, 1, 0, 1), *y = random_matrix(2, M, 1, 0.3, 2);
    double *a = normalised(3, N, 0.1, 1), *b = normalised(4, M, 0.1, 1), xs[N], ys[M];
    const double t = 0.625;
    double mean_x = 0, mean_y = 0;
    for (size_t i = 0; i < N; i++)
        xs[i] = x[i] + t, mean_x += a[i] * x[i];
    for (size_t j = 0; j < M; j++)
        ys[j] = y[j] + t, mean_y += b[j] * y[j];
    for (double p = 1; p <= 3; p += 0.5) {
        double w = ot_value(N, x, a, M, y, b, p);
        assert_close(ot_value(N, xs, a, M, ys, b, p), w, 1e-13);
        assert_close(ot_value(N, x, a, N, xs, a, p), pow(t, p), 1e-14);
    }
    double w2 = ot_value(N, x, a, M, y, b, 2);
    assert_close(ot_value(N, x, a, M, ys, b, 2), w2 - 2 * t * (mean_x - mean_y) + t * t, 1e-13);
    free(x), free(y), free(a), free(b);
}

/* ---- the dual potentials ---------------------------------------------------- */

/* f_i + g_j ≤ c_ij everywhere, = on the cells; the cells carry a and b; the
 * dual value equals the cost. */
static void check_duality(size_t n, const double *x, const double *a, size_t m,
                          const double *y, const double *b, double p)
{
    otad_plan_1d plan = plan_new(n, m);
    assert_int_equal(otad_ot_1d_plan(n, x, a, m, y, b, p, &plan, NULL), OTAD_OK);
    assert_int_equal(plan.cells, n + m - 1);
    double *row_sum = calloc(n, sizeof *row_sum), *col_sum = calloc(m, sizeof *col_sum);
    double scale = 0, mass_b = 0, dual = 0, primal = 0;
    for (size_t i = 0; i < n; i++)
        scale += a[i];
    for (size_t j = 0; j < m; j++)
        mass_b += b[j];
    scale /= mass_b;
    for (size_t c = 0; c < plan.cells; c++) {
        size_t i = plan.row[c], j = plan.col[c];
        double cij = cost_of(x[i] - y[j], p);
        assert_true(plan.mass[c] >= 0);
        assert_close(plan.f[i] + plan.g[j], cij, 1e-12 * fmax(1, cij));
        row_sum[i] += plan.mass[c];
        col_sum[j] += plan.mass[c];
        primal += plan.mass[c] * cij;
    }
    for (size_t i = 0; i < n; i++) {
        assert_close(row_sum[i], a[i], 1e-15);
        dual += a[i] * plan.f[i];
        for (size_t j = 0; j < m; j++) {
            double cij = cost_of(x[i] - y[j], p);
            if (!(plan.f[i] + plan.g[j] <= cij + 1e-12 * fmax(1, cij)))
                fail_msg("p %g: f[%zu] + g[%zu] = %.17g > c = %.17g", p, i, j,
                         plan.f[i] + plan.g[j], cij);
        }
    }
    for (size_t j = 0; j < m; j++) {
        assert_close(col_sum[j], scale * b[j], 1e-15);
        dual += scale * b[j] * plan.g[j];
    }
    assert_close(plan.cost, primal, 1e-15 * fmax(1, primal));
    assert_close(dual, plan.cost, 1e-12 * fmax(1, plan.cost));
    free(row_sum), free(col_sum);
    plan_free(&plan);
}

static void test_dual_potentials(void **state)
{
    (void)state;
    enum { N = 9, M = 13 };
    double *x = random_matrix(5, N, 1, -1, 1), *y = random_matrix(6, M, 1, -0.5, 1.5);
    double *a = normalised(7, N, 0, 1), *b = normalised(8, M, 0, 1);
    /* degenerate: partial sums of 1/4 and 1/6 meet at 1/2; zero weights;
     * b at twice a's mass (rescaled) */
    double ua[4] = {0.25, 0.25, 0.25, 0.25}, ub[6], zb[M];
    for (size_t j = 0; j < 6; j++)
        ub[j] = 1.0 / 6;
    for (size_t j = 0; j < M; j++)
        zb[j] = j % 3 ? 2 * b[j] : 0;
    double zsum = 0;
    for (size_t j = 0; j < M; j++)
        zsum += zb[j];
    for (size_t j = 0; j < M; j++)
        zb[j] *= 2 / zsum;
    for (double p = 1; p <= 3; p += 0.5) {
        check_duality(N, x, a, M, y, b, p);
        check_duality(4, x, ua, 6, y, ub, p);
        double twice[N];
        for (size_t i = 0; i < N; i++)
            twice[i] = 2 * a[i];
        check_duality(N, x, twice, M, y, zb, p);
    }
    free(x), free(y), free(a), free(b);
}

/* The op's gradient to a and b: the plan's potentials, centred. */
static void test_weight_gradients_are_centred_potentials(void **state)
{
    (void)state;
    enum { N = 6, M = 8 };
    double *x = random_matrix(11, N, 1, 0, 1), *y = random_matrix(12, M, 1, 0, 1);
    double *a = normalised(13, N, 0.2, 1), *b = normalised(14, M, 0.2, 1), ga[N], gb[M];
    otad_tape *t = new_tape();
    otad_var w = otad_ot_1d(t, otad_const(t, N, 1, x), otad_param(t, N, 1, a, ga),
                            otad_const(t, M, 1, y), otad_param(t, M, 1, b, gb), 3);
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    otad_plan_1d plan = plan_new(N, M);
    assert_int_equal(otad_ot_1d_plan(N, x, a, M, y, b, 3, &plan, NULL), OTAD_OK);
    assert_close(otad_scalar(t, w), plan.cost, 0);
    double mf = 0, mg = 0;
    for (size_t i = 0; i < N; i++)
        mf += plan.f[i] / N;
    for (size_t j = 0; j < M; j++)
        mg += plan.g[j] / M;
    for (size_t i = 0; i < N; i++)
        assert_close(ga[i], plan.f[i] - mf, 1e-15);
    for (size_t j = 0; j < M; j++)
        assert_close(gb[j], plan.g[j] - mg, 1e-15);
    plan_free(&plan);
    otad_tape_free(&t);
    free(x), free(y), free(a), free(b);
}

/* ---- gradient checks ---------------------------------------------------------- */

/* inputs: x (n×1), logits of a (n×1), y (m×1), logits of b (m×1): the
 * softmax keeps both masses at 1 whatever the perturbation. */
static otad_var record_ot(otad_tape *t, const otad_var *in, void *instance)
{
    double p = *(const double *)instance;
    return otad_ot_1d(t, in[0], otad_softmax(t, in[1]), in[2], otad_softmax(t, in[3]), p);
}

static void test_gradients(void **state)
{
    (void)state;
    const double ps[4] = {1, 1.5, 2, 3};
    const test_shape shapes[4] = {{6, 1}, {6, 1}, {9, 1}, {9, 1}};
    for (int q = 0; q < 4; q++)
        check_graph_at(record_ot, (void *)&ps[q], 4, shapes, 0, 1, 40 + 4 * (uint64_t)q);
}

/* ---- Sinkhorn's cost tends to the exact one ---------------------------------- */

/* P = diag(u) K diag(v) of a converged log-domain Sinkhorn minimises
 * ⟨C, Q⟩ − εH(Q) over the couplings Q of its own marginals a′ = P1 and
 * b′ = Pᵀ1 (unit mass), H(Q) = −Σ Q log Q.  With P* an optimal plan of
 * (a′, b′):  ⟨C, P⟩ − εH(P) ≤ ⟨C, P*⟩ − εH(P*), so
 *     0 ≤ ⟨C, P⟩ − W(a′, b′) ≤ ε (H(P) − H(P*)) ≤ ε min(H(a′), H(b′)),
 * as H(P) ≤ H(a′) + H(b′) and H(P*) ≥ max(H(a′), H(b′)).  Back to a and b:
 * rounding a coupling of (a′, b′) to one of (a, b) moves at most
 * 2(‖a′ − a‖₁ + ‖b′ − b‖₁) = 2δ of mass (Altschuler, Weed & Rigollet 2017,
 * Lemma 7), so |W(a′, b′) − W(a, b)| ≤ 2δ max C.  Hence, with W = W(a, b),
 *     −slack ≤ ⟨C, P⟩ − W ≤ ε min(H(a), H(b)) + slack,
 *     slack = 2δ max C + ε |min(H(a′), H(b′)) − min(H(a), H(b))| + 1e-13
 * (the last term for the rounding of sums of n·m terms). */
static void test_sinkhorn_tends_to_exact(void **state)
{
    (void)state;
    enum { N = 40, M = 50, STEPS = 5 };
    double *x = random_matrix(21, N, 1, 0, 1), *y = random_matrix(22, M, 1, 0.2, 1.4);
    double *a = normalised(23, N, 0.2, 1), *b = normalised(24, M, 0.2, 1);
    const double eps[STEPS] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3};
    otad_plan_1d plan = plan_new(N, M);
    assert_int_equal(otad_ot_1d_plan(N, x, a, M, y, b, 2, &plan, NULL), OTAD_OK);
    double exact = plan.cost, h_min = fmin(entropy(a, N), entropy(b, M)), last_gap = INFINITY;
    plan_free(&plan);
    print_message("  eps      iterations  <C,P>-W       bound eps*minH   slack\n");
    for (int e = 0; e < STEPS; e++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = 1;
        o.iterations = 200000;
        o.tolerance = 1e-10;
        o.mode = OTAD_IMPLICIT; /* only the last state kept on the tape */
        otad_var cost = otad_sqdist(t, otad_const(t, N, 1, x), otad_const(t, M, 1, y));
        otad_kernel k = otad_kernel_gibbs(t, cost, eps[e]);
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, N, 1, a),
                                             otad_const(t, M, 1, b), &o, &s), OTAD_OK);
        assert_true(s.marginal_error <= 1e-10);
        double transported = otad_scalar(t, otad_sinkhorn_cost(t, &s));
        assert_tape_ok(t);
        const double *log_u = otad_value_of(t, s.u).data, *log_v = otad_value_of(t, s.v).data;
        const double *c = otad_value_of(t, cost).data;
        double rows[N] = {0}, cols[M] = {0}, direct = 0, max_c = 0, delta = 0;
        for (size_t j = 0; j < M; j++)
            for (size_t i = 0; i < N; i++) {
                double pij = exp(log_u[i] + log_v[j] - c[i + j * N] / eps[e]);
                rows[i] += pij, cols[j] += pij;
                direct += pij * c[i + j * N];
                max_c = fmax(max_c, c[i + j * N]);
            }
        assert_close(direct, transported, 1e-13);
        for (size_t i = 0; i < N; i++)
            delta += fabs(rows[i] - a[i]);
        for (size_t j = 0; j < M; j++)
            delta += fabs(cols[j] - b[j]);
        double reached = fmin(entropy(rows, N), entropy(cols, M));
        double slack = 2 * delta * max_c + eps[e] * fabs(reached - h_min) + 1e-13;
        double gap = transported - exact, bound = eps[e] * h_min;
        print_message("  %-7g  %10d  %.6e  %.6e     %.1e\n", eps[e], s.iterations, gap, bound,
                      slack);
        assert_true(gap >= -slack);
        assert_true(gap <= bound + slack);
        assert_true(gap < last_gap);
        last_gap = gap;
        otad_tape_free(&t);
    }
    free(x), free(y), free(a), free(b);
}

/* ---- bad input ---------------------------------------------------------------- */

/* The tape failed with code and a message containing what; reset for more. */
/* The op on the given arrays fails with code and a message containing what. */
static void expect_op_failure(size_t n, const double *x, const double *a, size_t m,
                              const double *y, const double *b, double p, int code,
                              const char *what)
{
    otad_tape *t = new_tape();
    otad_var w = otad_ot_1d(t, otad_const(t, n, 1, x), otad_const(t, n, 1, a),
                            otad_const(t, m, 1, y), otad_const(t, m, 1, b), p);
    assert_false(otad_var_valid(w));
    assert_tape_failed(t, code, what);
    otad_tape_free(&t);
}

static void expect_plan_failure(size_t n, const double *x, const double *a, size_t m,
                                const double *y, const double *b, double p, int code,
                                const char *what)
{
    otad_plan_1d plan = plan_new(n + 1, m + 1);
    otad_error err;
    assert_int_equal(otad_ot_1d_plan(n, x, a, m, y, b, p, &plan, &err), code);
    assert_int_equal(plan.cells, 0);
    if (!strstr(err.message, what))
        fail_msg("message \"%s\" does not contain \"%s\"", err.message, what);
    plan_free(&plan);
}

static void test_bad_input(void **state)
{
    (void)state;
    double x[3] = {0, 1, 2}, a[3] = {0.25, 0.25, 0.5}, y[2] = {0.5, 3}, b[2] = {0.5, 0.5};
    double neg[2] = {1.5, -0.5}, zero[3] = {0, 0, 0}, more[2] = {0.5, 0.5 + 1e-6};
    double inf_x[3] = {0, INFINITY, 2}, nan_b[2] = {NAN, 0.5};
    expect_op_failure(3, x, a, 2, y, b, 0.5, OTAD_EDOMAIN, "ot_1d: p is 0.5");
    expect_op_failure(3, x, a, 2, y, b, NAN, OTAD_EDOMAIN, "p is nan");
    expect_op_failure(3, x, a, 2, y, b, INFINITY, OTAD_EDOMAIN, "p is inf");
    expect_op_failure(3, x, a, 2, y, neg, 2, OTAD_EDOMAIN, "b[1] is -0.5");
    expect_op_failure(3, x, zero, 2, y, b, 2, OTAD_EDOMAIN, "a is all zero");
    expect_op_failure(3, x, a, 2, y, more, 2, OTAD_EDOMAIN,
                      "masses differ: a sums to 1, b to 1.00000");
    expect_plan_failure(3, inf_x, a, 2, y, b, 2, OTAD_EDOMAIN, "ot_1d_plan: x[1] is inf");
    expect_plan_failure(3, x, a, 2, y, nan_b, 2, OTAD_EDOMAIN, "b[0] is nan");
    expect_plan_failure(0, x, a, 2, y, b, 2, OTAD_EINVAL, "empty input: 0 points x");
    expect_plan_failure(3, x, a, 2, y, b, 0.99, OTAD_EDOMAIN, "p is 0.99");
    expect_plan_failure(3, x, a, 2, y, more, 1, OTAD_EDOMAIN, "masses differ");

    /* shapes: a with a row too many, x as a row */
    otad_tape *t = new_tape();
    otad_ot_1d(t, otad_const(t, 2, 1, x), otad_const(t, 3, 1, a), otad_const(t, 2, 1, y),
               otad_const(t, 2, 1, b), 2);
    assert_tape_failed(t, OTAD_ESHAPE, "ot_1d: x is 2x1, a 3x1");
    otad_ot_1d(t, otad_const(t, 1, 3, x), otad_const(t, 3, 1, a), otad_const(t, 2, 1, y),
               otad_const(t, 2, 1, b), 2);
    assert_tape_failed(t, OTAD_ESHAPE, "x is 1x3");
    otad_tape_free(&t);

    /* non-finite values from earlier ops, on a tape that lets them through */
    t = new_unchecked_tape();
    double huge[2] = {1000, 0};
    otad_var overflowed = otad_exp(t, otad_const(t, 2, 1, huge));
    otad_ot_1d(t, otad_const(t, 3, 1, x), otad_const(t, 3, 1, a), overflowed,
               otad_const(t, 2, 1, b), 2);
    assert_tape_failed(t, OTAD_EDOMAIN, "ot_1d: y[0] is inf");
    otad_ot_1d(t, otad_const(t, 2, 1, y), otad_exp(t, otad_const(t, 2, 1, huge)),
               otad_const(t, 2, 1, y), otad_const(t, 2, 1, b), 2);
    assert_tape_failed(t, OTAD_EDOMAIN, "ot_1d: a[0] is inf");
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_brute_force),
        cmocka_unit_test(test_sorted_matching),
        cmocka_unit_test(test_translations),
        cmocka_unit_test(test_dual_potentials),
        cmocka_unit_test(test_weight_gradients_are_centred_potentials),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_sinkhorn_tends_to_exact),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
