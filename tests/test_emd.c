/* Exact OT (otad_emd, otad_emd_cost) and shortest-path costs (otad_shortest_paths). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Positive weights summing to 1, from a fixed-seed generator; free() it. */
static double *random_histogram(uint64_t seed, size_t n)
{
    double *h = random_matrix(seed, n, 1, 0.1, 1);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += h[i];
    for (size_t i = 0; i < n; i++)
        h[i] /= sum;
    return h;
}

/* The optimality certificate of a solution: a feasible plan of at most
 * n + m − 1 entries, feasible potentials equal to the cost on the plan, and
 * equal primal and dual values. */
static void assert_optimal(const otad_emd_result *r, const double *a, const double *b,
                           const double *cost)
{
    size_t n = r->n, m = r->m;
    assert_true(r->nonzeros <= n + m - 1);
    double *rows = calloc(n, sizeof *rows), *cols = calloc(m, sizeof *cols);
    double primal = 0, af = 0, bg = 0;
    for (size_t k = 0; k < r->nonzeros; k++) {
        size_t i = r->row[k], j = r->col[k];
        assert_true(r->mass[k] > 0);
        assert_true(k == 0 || i > r->row[k - 1] || (i == r->row[k - 1] && j > r->col[k - 1]));
        rows[i] += r->mass[k];
        cols[j] += r->mass[k];
        primal += r->mass[k] * cost[i + j * n];
        assert_close(r->f[i] + r->g[j], cost[i + j * n], 1e-12);
    }
    for (size_t i = 0; i < n; i++) {
        assert_close(rows[i], a[i], 2e-15);
        af += a[i] * r->f[i];
    }
    for (size_t j = 0; j < m; j++) {
        assert_close(cols[j], b[j], 2e-15);
        bg += b[j] * r->g[j];
    }
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            assert_true(r->f[i] + r->g[j] <= cost[i + j * n] + 1e-12);
    assert_close(r->cost, primal, 1e-14);
    assert_close(af + bg, r->cost, 1e-12);
    assert_close(af, bg, 1e-12);
    free(rows);
    free(cols);
}

static void test_certificate_on_random_problems(void **state)
{
    (void)state;
    const size_t sizes[][2] = {{1, 1}, {1, 5}, {6, 1}, {7, 9}, {30, 5}, {40, 40}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s][0], m = sizes[s][1];
        double *a = random_histogram(10 + s, n), *b = random_histogram(20 + s, m);
        double *cost = random_matrix(30 + s, n, m, -1, 2); /* negative costs are fine */
        otad_emd_result r;
        otad_error err;
        int rc = otad_emd(n, m, a, b, cost, NULL, &r, &err);
        if (rc != OTAD_OK)
            fail_msg("%zu×%zu: %s", n, m, err.message);
        assert_optimal(&r, a, b, cost);
        otad_emd_result_free(&r);
        free(a);
        free(b);
        free(cost);
    }
}

/* Between uniform histograms of equal size the optimum is a permutation
 * (Birkhoff): the exact cost is the best assignment's over n. */
static void test_brute_force_assignment(void **state)
{
    (void)state;
    for (size_t n = 2; n <= 7; n++)
        for (uint64_t seed = 0; seed < 3; seed++) {
            double a[7], *cost = random_matrix(100 * n + seed, n, n, 0, 1);
            for (size_t i = 0; i < n; i++)
                a[i] = 1.0 / (double)n;
            otad_emd_result r;
            assert_int_equal(otad_emd(n, n, a, a, cost, NULL, &r, NULL), OTAD_OK);
            assert_close(r.cost, best_assignment(n, cost) / (double)n, 1e-14);
            assert_optimal(&r, a, a, cost);
            otad_emd_result_free(&r);
            free(cost);
        }
}

/* The Sinkhorn reference's 500 + 500 points, squared Euclidean cost: POT's ot.emd2 (0.8.2, the
 * same LEMON-derived simplex) gave tests/data/w1/n500_emd_cost.npy
 * (tests/data/w1_emd.py).  The two sum rounded flows differently: 7e-12
 * relative apart. */
static void test_w1_against_pot(void **state)
{
    (void)state;
    otad_value x = load_reference("w1/n500_x"), y = load_reference("w1/n500_y");
    otad_value a = load_reference("w1/n500_a"), b = load_reference("w1/n500_b");
    otad_value expected = load_reference("w1/n500_emd_cost");
    size_t n = x.rows, m = y.rows;
    double *cost = malloc(n * m * sizeof *cost);
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++) {
            double dx = x.data[i] - y.data[j], dy = x.data[i + n] - y.data[j + m];
            cost[i + j * n] = dx * dx + dy * dy;
        }
    otad_emd_result r;
    assert_int_equal(otad_emd(n, m, a.data, b.data, cost, NULL, &r, NULL), OTAD_OK);
    assert_close(r.cost, expected.data[0], 1e-13 * expected.data[0]);
    assert_optimal(&r, a.data, b.data, cost);
    otad_emd_result_free(&r);
    free(cost);
    free(x.data);
    free(y.data);
    free(a.data);
    free(b.data);
    free(expected.data);
}

/* a = softmax(θa), b = softmax(θb): perturbations keep the masses equal. */
static otad_var record_emd_of_logits(otad_tape *t, const otad_var *in, void *instance)
{
    (void)instance;
    return otad_emd_cost(t, otad_softmax(t, in[0]), otad_softmax(t, in[1]), in[2], NULL);
}

static void test_gradient(void **state)
{
    (void)state;
    const size_t n = 6, m = 8;
    double *theta_a = random_matrix(41, n, 1, -1, 1), *theta_b = random_matrix(42, m, 1, -1, 1);
    double *cost = random_matrix(43, n, m, 0, 1);
    otad_value inputs[3] = {{theta_a, n, 1}, {theta_b, m, 1}, {cost, n, m}};
    otad_check_opts o;
    otad_check_opts_init(&o);
    otad_check_result res;
    assert_check_passed(otad_check_graph(record_emd_of_logits, NULL, 3, inputs, &o, &res), &res);
    assert_check_passed(otad_check_jacobian(record_emd_of_logits, NULL, 3, inputs, &o, &res),
                        &res);

    /* The op's gradients themselves: centred potentials and the plan. */
    double a[6], b[8];
    memcpy(a, (double[]){0.1, 0.2, 0.05, 0.25, 0.3, 0.1}, sizeof a);
    for (size_t j = 0; j < m; j++)
        b[j] = 1.0 / (double)m;
    double ga[6] = {0}, gb[8] = {0}, *gc = calloc(n * m, sizeof *gc);
    otad_tape *t = new_tape();
    otad_var y = otad_emd_cost(t, otad_param(t, n, 1, a, ga), otad_param(t, m, 1, b, gb),
                               otad_param(t, n, m, cost, gc), NULL);
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    otad_emd_result r;
    assert_int_equal(otad_emd(n, m, a, b, cost, NULL, &r, NULL), OTAD_OK);
    assert_close(otad_scalar(t, y), r.cost, 0);
    double mean_f = 0, mean_g = 0, sum_ga = 0, sum_gb = 0;
    for (size_t i = 0; i < n; i++)
        mean_f += r.f[i] / (double)n;
    for (size_t j = 0; j < m; j++)
        mean_g += r.g[j] / (double)m;
    for (size_t i = 0; i < n; i++) {
        assert_close(ga[i], r.f[i] - mean_f, 1e-15);
        sum_ga += ga[i];
    }
    for (size_t j = 0; j < m; j++) {
        assert_close(gb[j], r.g[j] - mean_g, 1e-15);
        sum_gb += gb[j];
    }
    assert_close(sum_ga, 0, 1e-15);
    assert_close(sum_gb, 0, 1e-15);
    for (size_t k = 0; k < r.nonzeros; k++)
        gc[r.row[k] + r.col[k] * n] -= r.mass[k];
    for (size_t k = 0; k < n * m; k++)
        assert_close(gc[k], 0, 0);
    otad_emd_result_free(&r);
    otad_tape_free(&t);
    free(gc);
    free(theta_a);
    free(theta_b);
    free(cost);
}

/* Degenerate problems (fewer than n + m − 1 entries in every optimal basis,
 * or zero masses) are solved with a certificate all the same. */
static void test_degenerate(void **state)
{
    (void)state;
    const size_t n = 5;
    double a[5] = {0.2, 0.2, 0.2, 0.2, 0.2}, cost[25];
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++)
            cost[i + j * n] = fabs((double)i - (double)j);
    otad_emd_result r;
    assert_int_equal(otad_emd(n, n, a, a, cost, NULL, &r, NULL), OTAD_OK);
    assert_close(r.cost, 0, 0);
    assert_optimal(&r, a, a, cost);
    otad_emd_result_free(&r);

    double with_zeros[5] = {0.5, 0, 0, 0, 0.5}, shifted[5] = {0, 0.5, 0, 0.5, 0};
    assert_int_equal(otad_emd(n, n, with_zeros, shifted, cost, NULL, &r, NULL), OTAD_OK);
    assert_close(r.cost, 1, 1e-15);
    assert_optimal(&r, with_zeros, shifted, cost);
    otad_emd_result_free(&r);
}

static void assert_emd_fails(size_t n, size_t m, const double *a, const double *b,
                             const double *cost, int code, const char *words)
{
    otad_emd_result r;
    otad_error err;
    assert_int_equal(otad_emd(n, m, a, b, cost, NULL, &r, &err), code);
    if (!strstr(err.message, words))
        fail_msg("\"%s\" does not say \"%s\"", err.message, words);
    assert_null(r.row);
    assert_int_equal(r.nonzeros, 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    double a[3] = {0.2, 0.3, 0.5}, b[2] = {0.6, 0.4}, cost[6] = {1, 2, 3, 4, 5, 6};
    double light[2] = {0.6, 0.3}, zero[2] = {0, 0}, negative[2] = {1.1, -0.1};
    assert_emd_fails(3, 2, a, light, cost, OTAD_EDOMAIN, "a sums to 1, b to 0.8999");
    assert_emd_fails(3, 2, a, zero, cost, OTAD_EDOMAIN, "b has zero mass");
    assert_emd_fails(3, 2, a, negative, cost, OTAD_EDOMAIN, "b[1] = -0.1");
    assert_emd_fails(0, 2, a, b, cost, OTAD_EINVAL, "empty histogram");
    assert_emd_fails(3, 0, a, b, cost, OTAD_EINVAL, "empty histogram");
    assert_emd_fails(3, 2, NULL, b, cost, OTAD_EINVAL, "NULL");
    double nan_cost[6] = {1, 2, 3, 4, NAN, 6};
    assert_emd_fails(3, 2, a, b, nan_cost, OTAD_EDOMAIN, "cost[1, 1] = nan");
    double inf_cost[6] = {INFINITY, 2, 3, 4, 5, 6};
    assert_emd_fails(3, 2, a, b, inf_cost, OTAD_EDOMAIN, "cost[0, 0] = inf");
    otad_emd_opts o;
    otad_emd_opts_init(&o);
    o.mass_tolerance = -1;
    otad_error err;
    assert_int_equal(otad_emd(3, 2, a, b, cost, &o, &(otad_emd_result){0}, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "emd: mass_tolerance is -1, must be finite and ≥ 0");
    o.mass_tolerance = NAN;
    assert_int_equal(otad_emd(3, 2, a, b, cost, &o, &(otad_emd_result){0}, &err), OTAD_EINVAL);
    assert_string_equal(err.message, "emd: mass_tolerance is nan, must be finite and ≥ 0");
    /* A loose tolerance accepts the mismatch and scales b to a's mass. */
    o.mass_tolerance = 0.2;
    otad_emd_result r;
    assert_int_equal(otad_emd(3, 2, a, light, cost, &o, &r, NULL), OTAD_OK);
    double scaled[2] = {0.6 / 0.9, 0.3 / 0.9};
    assert_optimal(&r, a, scaled, cost);
    otad_emd_result_free(&r);

    otad_tape *t = new_tape();
    otad_var y = otad_emd_cost(t, otad_const(t, 3, 1, a), otad_const(t, 2, 1, b),
                               otad_const(t, 2, 3, cost), NULL);
    assert_false(otad_var_valid(y));
    assert_tape_failed(t, OTAD_ESHAPE, "emd: a must be n×1, b m×1 and the cost n×m");
    y = otad_emd_cost(t, otad_const(t, 3, 1, a), otad_const(t, 2, 1, negative),
                      otad_const(t, 3, 2, cost), NULL);
    assert_false(otad_var_valid(y));
    assert_tape_failed(t, OTAD_EDOMAIN, "emd: b[1] = -0.1 is not a finite non-negative mass");
    otad_tape_free(&t);
    t = new_unchecked_tape(); /* an overflow from an earlier op reaches the op's check */
    double exponents[6] = {0, 1, 2, 3, 1000, 5};
    y = otad_emd_cost(t, otad_const(t, 3, 1, a), otad_const(t, 2, 1, b),
                      otad_exp(t, otad_const(t, 3, 2, exponents)), NULL);
    assert_false(otad_var_valid(y));
    assert_tape_failed(t, OTAD_EDOMAIN, "emd: cost[1, 1] = inf is not finite");
    otad_tape_free(&t);
}

/* Sinkhorn's transport cost tends to the exact one as ε → 0.  P_ε minimises
 * ⟨C, P⟩ − εH(P) over the plans, so ⟨C, P_ε⟩ − W ≤ ε (H(P_ε) − H(P*)) ≤
 * ε min(H(a), H(b)), since max(H(a), H(b)) ≤ H(P) ≤ H(a) + H(b) for any
 * plan.  The iterations stop at a marginal error δ, which moves the cost by
 * at most δ·max C: that is the slack allowed. */
static void test_sinkhorn_tends_to_exact(void **state)
{
    (void)state;
    const size_t n = 60, m = 50;
    otad_value x = load_reference("w1/n500_x"), y = load_reference("w1/n500_y");
    double xs[120], ys[100], *a = random_histogram(51, n), *b = random_histogram(52, m);
    for (size_t i = 0; i < n; i++) {
        xs[i] = x.data[i];
        xs[i + n] = x.data[i + x.rows];
    }
    for (size_t j = 0; j < m; j++) {
        ys[j] = y.data[j];
        ys[j + m] = y.data[j + y.rows];
    }
    double cost[60 * 50], max_cost = 0;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++) {
            double dx = xs[i] - ys[j], dy = xs[i + n] - ys[j + m];
            cost[i + j * n] = dx * dx + dy * dy;
            max_cost = fmax(max_cost, cost[i + j * n]);
        }
    otad_emd_result exact;
    assert_int_equal(otad_emd(n, m, a, b, cost, NULL, &exact, NULL), OTAD_OK);
    double bound_per_eps = fmin(entropy(a, n), entropy(b, m)), last_gap = INFINITY;
    const double tolerance = 1e-10, eps[] = {1e-1, 3e-2, 1e-2, 3e-3, 1e-3};
    print_message("exact cost %.10f; Sinkhorn transport cost against it:\n", exact.cost);
    for (size_t e = 0; e < sizeof eps / sizeof eps[0]; e++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = 1;
        o.mode = OTAD_IMPLICIT; /* only the forward is needed: keep one iteration */
        o.iterations = 200000;
        o.tolerance = tolerance;
        otad_sinkhorn s;
        otad_kernel k = otad_kernel_gibbs(t, otad_const(t, n, m, cost), eps[e]);
        assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, n, 1, a), otad_const(t, m, 1, b),
                                             &o, &s), OTAD_OK);
        double gap = otad_scalar(t, otad_sinkhorn_cost(t, &s)) - exact.cost;
        double bound = eps[e] * bound_per_eps, slack = tolerance * max_cost;
        print_message("  eps %-6g  %6d iterations  gap %.3e  bound ε·min(H(a), H(b)) %.3e\n",
                      eps[e], s.iterations, gap, bound);
        assert_true(gap >= -slack);
        assert_true(gap <= bound + slack);
        assert_true(gap < last_gap);
        last_gap = gap;
        otad_tape_free(&t);
    }
    assert_true(last_gap < 5e-3 * exact.cost);
    otad_emd_result_free(&exact);
    free(a);
    free(b);
    free(x.data);
    free(y.data);
}

/* Floyd–Warshall on the same edges, as the reference. */
static void all_pairs_reference(size_t n, size_t n_edges, const size_t *ends,
                                const double *lengths, double *dist)
{
    for (size_t k = 0; k < n * n; k++)
        dist[k] = k % (n + 1) == 0 ? 0 : INFINITY;
    for (size_t e = 0; e < n_edges; e++) {
        size_t i = ends[2 * e], j = ends[2 * e + 1];
        dist[i + j * n] = dist[j + i * n] = fmin(dist[i + j * n], lengths[e]);
    }
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++)
                dist[i + j * n] = fmin(dist[i + j * n], dist[i + k * n] + dist[k + j * n]);
}

static void test_shortest_paths(void **state)
{
    (void)state;
    enum { N = 30, EDGES = 70 };
    size_t ends[2 * EDGES];
    double lengths[EDGES], dist[N * N], expected[N * N];
    otad_rng rng = {7};
    for (size_t e = 0; e < EDGES; e++) { /* a path through all vertices, then chords */
        ends[2 * e] = e < N - 1 ? e : (size_t)(otad_rng_uniform(&rng) * N);
        ends[2 * e + 1] = e < N - 1 ? e + 1 : (size_t)(otad_rng_uniform(&rng) * N);
        lengths[e] = 0.1 + otad_rng_uniform(&rng);
    }
    otad_error err;
    if (otad_shortest_paths(N, EDGES, ends, lengths, dist, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    all_pairs_reference(N, EDGES, ends, lengths, expected);
    for (size_t k = 0; k < N * N; k++)
        assert_close(dist[k], expected[k], 1e-14);

    /* Bad graphs. */
    lengths[3] = 0;
    assert_int_equal(otad_shortest_paths(N, EDGES, ends, lengths, dist, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "edge 3 has length 0"));
    lengths[3] = 1;
    ends[5] = N;
    assert_int_equal(otad_shortest_paths(N, EDGES, ends, lengths, dist, &err), OTAD_EINVAL);
    assert_non_null(strstr(err.message, "edge 2 joins"));
    size_t split[4] = {0, 1, 2, 3};
    for (size_t k = 0; k < 16; k++)
        dist[k] = -1;
    assert_int_equal(otad_shortest_paths(4, 2, split, lengths, dist, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "not connected"));
    for (size_t k = 0; k < 16; k++) /* the caller's buffer as it was */
        assert_close(dist[k], -1, 0);
    assert_int_equal(otad_shortest_paths(0, 0, NULL, NULL, dist, &err), OTAD_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_on_random_problems),
        cmocka_unit_test(test_brute_force_assignment),
        cmocka_unit_test(test_w1_against_pot),
        cmocka_unit_test(test_gradient),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_sinkhorn_tends_to_exact),
        cmocka_unit_test(test_shortest_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
