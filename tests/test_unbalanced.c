/* Unbalanced Sinkhorn: agreement with POT 0.8 (tests/data/unbalanced_pot.py),
 * the balanced limit, the KL values and their gradients in every mode, the
 * unbalanced divergence, and the error contract. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 7, M = 5 };

static otad_sinkhorn_opts opts_of(int log_domain, int iterations, double rho_a, double rho_b)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = log_domain;
    o.iterations = iterations;
    o.rho_a = rho_a;
    o.rho_b = rho_b;
    return o;
}

/* ---- POT: 7 and 5 points, ε = 0.1, ρ = 0.5, two columns of masses -------- */

/* The plan diag(u) K diag(v) of column k, N×M column-major. */
static void plan_of(otad_tape *t, const otad_sinkhorn *s, const double *cost, double eps,
                    size_t k, double *plan)
{
    otad_value u = otad_value_of(t, s->u), v = otad_value_of(t, s->v);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < M; j++) {
            double ui = u.data[i + k * N], vj = v.data[j + k * M];
            if (s->log_domain)
                ui = exp(ui), vj = exp(vj);
            plan[i + j * N] = ui * exp(-cost[i + j * N] / eps) * vj;
        }
}

static void test_pot_reference(void **state)
{
    (void)state;
    otad_value x = load_reference("unbalanced/x"), y = load_reference("unbalanced/y");
    otad_value a = load_reference("unbalanced/a"), b = load_reference("unbalanced/b");
    otad_value plan = load_reference("unbalanced/plan"), cost = load_reference("unbalanced/cost");
    otad_value objective = load_reference("unbalanced/objective");
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_tape *t = new_tape();
        otad_var c = otad_sqdist(t, otad_const(t, N, 2, x.data), otad_const(t, M, 2, y.data));
        otad_kernel k = otad_kernel_gibbs(t, c, 0.1);
        otad_sinkhorn_opts o = opts_of(log_domain, 300, 0.5, 0.5);
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, N, 2, a.data),
                                             otad_const(t, M, 2, b.data), &o, &s), OTAD_OK);
        otad_value w = otad_value_of(t, otad_sinkhorn_cost(t, &s));
        otad_value primal = otad_value_of(t, otad_sinkhorn_kl_primal(t, &s));
        otad_value dual = otad_value_of(t, otad_sinkhorn_kl_dual(t, &s));
        assert_tape_ok(t);
        /* both converged (POT to its stopping threshold 1e-16): rounding apart */
        assert_rel_close("transport cost", w.data, cost.data, 2, 1e-13);
        assert_rel_close("KL primal", primal.data, objective.data, 2, 1e-13);
        assert_rel_close("KL dual", dual.data, objective.data, 2, 1e-13);
        double worst_plan = 0;
        for (size_t col = 0; col < 2; col++) {
            double ours[N * M], ref[N * M];
            plan_of(t, &s, otad_value_of(t, c).data, 0.1, col, ours);
            for (size_t i = 0; i < N; i++)
                for (size_t j = 0; j < M; j++)
                    ref[i + j * N] = plan.data[col * N + i + j * 2 * N];
            assert_rel_close("plan", ours, ref, N * M, 1e-13);
            worst_plan = fmax(worst_plan, max_rel_diff(ours, ref, N * M));
        }
        print_message("%s domain against POT: plans %.1e, cost %.1e, objective %.1e (primal), "
                      "%.1e (dual)\n", log_domain ? "log" : "scaling", worst_plan,
                      max_rel_diff(w.data, cost.data, 2), max_rel_diff(primal.data,
                      objective.data, 2), max_rel_diff(dual.data, objective.data, 2));
        otad_tape_free(&t);
    }
    free(x.data), free(y.data), free(a.data), free(b.data);
    free(plan.data), free(cost.data), free(objective.data);
}

/* ---- a small problem: masses 1 and 1.4 ------------------------------------- */

/* The values of one problem between x (N×2) and y (M×2). */
static void values_of(const double *x, const double *y, const double *a, const double *b,
                      const otad_sinkhorn_opts *o, double out[5])
{
    otad_tape *t = new_tape();
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, otad_const(t, N, 2, x),
                                                      otad_const(t, M, 2, y)), 0.1);
    otad_sinkhorn s;
    assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, N, 1, a), otad_const(t, M, 1, b),
                                         o, &s), OTAD_OK);
    out[0] = otad_scalar(t, otad_sinkhorn_cost(t, &s));
    out[1] = otad_scalar(t, otad_sinkhorn_entropic(t, &s));
    out[2] = otad_scalar(t, otad_sinkhorn_kl_primal(t, &s));
    out[3] = otad_scalar(t, otad_sinkhorn_kl_dual(t, &s));
    out[4] = s.marginal_error;
    assert_tape_ok(t);
    otad_tape_free(&t);
}

/* ρ → ∞ gives the balanced values; in the balanced problem the KL values are
 * the entropic one less ε's entropy terms of a and b (masses 1), and primal
 * and dual agree at the solution; the log domain gives the scaling
 * domain's values. */
static void test_balanced_limit(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = histogram_of_mass(3, N, 1), *b = histogram_of_mass(4, M, 1);
    double balanced[5], relaxed[5], log_v[5];
    otad_sinkhorn_opts o = opts_of(0, 20000, INFINITY, INFINITY);
    o.tolerance = 1e-15;
    values_of(x, y, a, b, &o, balanced);
    assert_true(balanced[4] <= 1e-15);
    o.rho_a = o.rho_b = 1e9;
    values_of(x, y, a, b, &o, relaxed);
    assert_true(relaxed[4] <= 1e-15);
    for (int v = 0; v < 4; v++)
        assert_close(relaxed[v], balanced[v], 1e-8 * fabs(balanced[v]));
    assert_close(relaxed[3], relaxed[2], 1e-15); /* no cancellation, ρ = 1e9 times over */
    double h = 0; /* Σ a log a + Σ b log b */
    for (int i = 0; i < N; i++)
        h += a[i] * log(a[i]);
    for (int j = 0; j < M; j++)
        h += b[j] * log(b[j]);
    assert_close(balanced[2], balanced[1] - 0.1 * h, 1e-13);
    assert_close(balanced[3], balanced[2], 1e-13);
    o.rho_a = 0.3, o.rho_b = 0.7, o.log_domain = 0;
    values_of(x, y, a, b, &o, relaxed);
    o.log_domain = 1;
    values_of(x, y, a, b, &o, log_v);
    for (int v = 0; v < 4; v++)
        assert_close(log_v[v], relaxed[v], 1e-13);
    assert_close(relaxed[3], relaxed[2], 1e-13);
    free(x), free(y), free(a), free(b);
}

typedef struct problem {
    int log_domain;
    otad_sinkhorn_value value;
    int divergence;
    double rho_a, rho_b;
} problem;

/* inputs: x (N×2), y (M×2), a (N×1), b (M×1) */
static otad_var record_loss(otad_tape *t, const otad_var *in, void *instance)
{
    const problem *p = instance;
    otad_sinkhorn_opts o = opts_of(p->log_domain, 30, p->rho_a, p->rho_b);
    o.mass_tolerance = 0; /* the balanced case too: its masses differ */
    otad_kernel kxy = otad_kernel_gibbs(t, otad_sqdist(t, in[0], in[1]), 0.1);
    if (!p->divergence)
        return otad_sinkhorn_loss(t, kxy, in[2], in[3], &o, p->value);
    otad_kernel kxx = otad_kernel_gibbs(t, otad_sqdist(t, in[0], in[0]), 0.1);
    otad_kernel kyy = otad_kernel_gibbs(t, otad_sqdist(t, in[1], in[1]), 0.1);
    return otad_sinkhorn_divergence(t, kxy, kxx, kyy, in[2], in[3], &o, p->value);
}

/* Dot-product and Jacobian checks through 30 unrolled updates: every value
 * of an unbalanced and a semi-relaxed problem, both domains, and the
 * divergence on the KL values (of a balanced problem too). */
static void test_gradients_of_every_value(void **state)
{
    (void)state;
    otad_value in[4] = {{random_matrix(1, N, 2, 0, 1), N, 2}, {random_matrix(2, M, 2, 0, 1), M, 2},
                        {histogram_of_mass(3, N, 1), N, 1}, {histogram_of_mass(4, M, 1.4), M, 1}};
    const double rhos[3][2] = {{0.5, 0.5}, {INFINITY, 0.3}, {INFINITY, INFINITY}};
    const otad_sinkhorn_value values[4] = {OTAD_SINKHORN_COST, OTAD_SINKHORN_ENTROPIC,
                                           OTAD_SINKHORN_KL_PRIMAL, OTAD_SINKHORN_KL_DUAL};
    for (int r = 0; r < 3; r++)
        for (int log_domain = 0; log_domain < 2; log_domain++)
            for (int v = 0; v < 4; v++)
                for (int divergence = 0; divergence < 2; divergence++) {
                    if ((divergence && v < 2) || (r == 2 && !divergence))
                        continue; /* the divergences of the KL values; balanced: only those */
                    problem p = {log_domain, values[v], divergence, rhos[r][0], rhos[r][1]};
                    otad_check_result res;
                    int rc = otad_check_graph(record_loss, &p, 4, in, NULL, &res);
                    if (rc != OTAD_OK || !res.passed)
                        fail_msg("rho %g, %g, log %d, value %d, divergence %d: %s", rhos[r][0],
                                 rhos[r][1], log_domain, (int)values[v], divergence,
                                 res.report);
                }
    for (int i = 0; i < 4; i++)
        free(in[i].data);
}

/* Value and gradients to x and a of one value at 300 updates. */
static double value_and_gradients(otad_grad_mode mode, otad_sinkhorn_value value, int log_domain,
                                  const double *x, const double *y, const double *a,
                                  const double *b, double *gx, double *ga)
{
    memset(gx, 0, 2 * N * sizeof *gx);
    memset(ga, 0, N * sizeof *ga);
    otad_tape *t = new_tape();
    otad_var px = otad_param(t, N, 2, x, gx), pa = otad_param(t, N, 1, a, ga);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, M, 2, y)), 0.1);
    otad_sinkhorn_opts o = opts_of(log_domain, 300, 0.5, 0.8);
    o.mode = mode;
    otad_var w = otad_sinkhorn_loss(t, k, pa, otad_const(t, M, 1, b), &o, value);
    if (otad_backward(t, w) != OTAD_OK)
        fail_msg("mode %d value %d: %s", (int)mode, (int)value, otad_tape_message(t));
    double result = otad_scalar(t, w);
    otad_tape_free(&t);
    return result;
}

/* At convergence CHECKPOINT repeats UNROLL's gradient; IMPLICIT's and,
 * for the dual, ENVELOPE's are the converged problem's, the same to what
 * the adjoint's tolerance leaves. */
static void test_gradient_modes_agree(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = histogram_of_mass(3, N, 1), *b = histogram_of_mass(4, M, 1.4);
    double gx[2][2 * N], ga[2][N];
    const otad_sinkhorn_value values[3] = {OTAD_SINKHORN_COST, OTAD_SINKHORN_KL_PRIMAL,
                                           OTAD_SINKHORN_KL_DUAL};
    const otad_grad_mode modes[3] = {OTAD_CHECKPOINT, OTAD_IMPLICIT, OTAD_ENVELOPE};
    for (int log_domain = 0; log_domain < 2; log_domain++)
        for (int v = 0; v < 3; v++) {
            double v0 = value_and_gradients(OTAD_UNROLL, values[v], log_domain, x, y, a, b,
                                            gx[0], ga[0]);
            for (int m = 0; m < (values[v] == OTAD_SINKHORN_KL_DUAL ? 3 : 2); m++) {
                double v1 = value_and_gradients(modes[m], values[v], log_domain, x, y, a, b,
                                                gx[1], ga[1]);
                double tolerance = modes[m] == OTAD_CHECKPOINT ? 1e-13 : 1e-9;
                assert_close(v1, v0, 1e-14);
                assert_rel_close("gradient to x", gx[1], gx[0], 2 * N, tolerance);
                assert_rel_close("gradient to a", ga[1], ga[0], N, tolerance);
            }
        }
    free(x), free(y), free(a), free(b);
}

/* The unbalanced divergence is 0 between a measure and itself, positive
 * between measures of different masses on the same support, and, balanced,
 * the entropic value's divergence. */
static void test_divergence(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *a = histogram_of_mass(3, N, 1);
    double *a2 = histogram_of_mass(3, N, 1.5), *a3 = histogram_of_mass(5, N, 1);
    otad_tape *t = new_tape();
    otad_var px = otad_const(t, N, 2, x);
    otad_var pa = otad_const(t, N, 1, a), pa2 = otad_const(t, N, 1, a2);
    otad_var pa3 = otad_const(t, N, 1, a3);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, px), 0.1);
    otad_sinkhorn_opts o = opts_of(0, 2000, 0.5, 0.5);
    for (int v = OTAD_SINKHORN_KL_PRIMAL; v <= OTAD_SINKHORN_KL_DUAL; v++) {
        otad_sinkhorn_value value = (otad_sinkhorn_value)v;
        assert_close(otad_scalar(t, otad_sinkhorn_divergence(t, k, k, k, pa, pa, &o, value)),
                     0, 1e-15);
        assert_true(otad_scalar(t, otad_sinkhorn_divergence(t, k, k, k, pa, pa2, &o, value)) >
                    1e-3);
        assert_true(otad_scalar(t, otad_sinkhorn_divergence(t, k, k, k, pa, pa3, &o, value)) >
                    0);
    }
    otad_sinkhorn_opts balanced = opts_of(0, 2000, INFINITY, INFINITY);
    double kl = otad_scalar(t, otad_sinkhorn_divergence(t, k, k, k, pa, pa3, &balanced,
                                                        OTAD_SINKHORN_KL_PRIMAL));
    double entropic = otad_scalar(t, otad_sinkhorn_divergence(t, k, k, k, pa, pa3, &balanced,
                                                              OTAD_SINKHORN_ENTROPIC));
    assert_close(kl, entropic, 1e-13);
    assert_tape_ok(t);
    otad_tape_free(&t);
    free(x), free(a), free(a2), free(a3);
}

/* A zero mass in the scaling domain: u is 0 there; the transport cost and
 * the KL values, and their gradients to that mass, are finite (the KL
 * values read log(u/a) from the solver, not from u and a).  The entropic
 * value's gradient there is not: −Σ P log P has an infinite slope at 0. */
static void test_zero_mass_entries(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = histogram_of_mass(3, N, 1), *b = histogram_of_mass(4, M, 1.4), gx[2 * N], ga[N];
    a[2] = 0;
    const otad_sinkhorn_value values[3] = {OTAD_SINKHORN_COST, OTAD_SINKHORN_KL_PRIMAL,
                                           OTAD_SINKHORN_KL_DUAL};
    for (int v = 0; v < 3; v++) {
        double w = value_and_gradients(OTAD_UNROLL, values[v], 0, x, y, a, b, gx, ga);
        assert_true(isfinite(w));
        for (int i = 0; i < N; i++)
            assert_true(isfinite(ga[i]));
    }
    free(x), free(y), free(a), free(b);
}

/* The separable grid kernel (both domains) and the heat kernel (scaling
 * domain) on 8×6 points: converged, primal and dual agree, and the domains
 * agree on the grid; through 20 unrolled updates on the heat kernel, the
 * gradients to the masses and the edge weights pass the checks. */
typedef struct heat_case {
    otad_graph *graph;
} heat_case;

static otad_var record_heat(otad_tape *t, const otad_var *in, void *instance)
{
    const heat_case *h = instance;
    otad_sinkhorn_opts o = opts_of(0, 20, 0.5, 0.8);
    otad_kernel k = otad_kernel_heat(t, h->graph, in[0], 0.05, 4);
    return otad_sinkhorn_loss(t, k, in[1], in[2], &o, OTAD_SINKHORN_KL_PRIMAL);
}

static void test_grid_and_heat_kernels(void **state)
{
    (void)state;
    enum { P = 48 };
    const size_t shape[2] = {8, 6};
    double *a = histogram_of_mass(9, P, 1), *b = histogram_of_mass(10, P, 1.3), grid[2][2];
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o = opts_of(log_domain, 5000, 0.5, 0.8);
        o.tolerance = 1e-15;
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, otad_kernel_grid(t, 2, shape, 0.05),
                                             otad_const(t, P, 1, a), otad_const(t, P, 1, b), &o,
                                             &s), OTAD_OK);
        grid[log_domain][0] = otad_scalar(t, otad_sinkhorn_kl_primal(t, &s));
        grid[log_domain][1] = otad_scalar(t, otad_sinkhorn_kl_dual(t, &s));
        assert_tape_ok(t);
        otad_tape_free(&t);
        assert_close(grid[log_domain][1], grid[log_domain][0], 1e-14);
    }
    assert_close(grid[1][0], grid[0][0], 1e-13);

    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 8, 6, NULL), OTAD_OK);
    size_t edges = otad_graph_edges(g);
    otad_value in[3] = {{random_matrix(11, edges, 1, 0.5, 1.5), edges, 1}, {a, P, 1}, {b, P, 1}};
    heat_case h = {g};
    otad_check_result res;
    int rc = otad_check_graph(record_heat, &h, 3, in, NULL, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("heat kernel: %s", res.report);
    otad_tape *t = new_tape();
    otad_sinkhorn_opts o = opts_of(0, 5000, 0.5, 0.8);
    o.tolerance = 1e-15;
    otad_sinkhorn s;
    otad_kernel k = otad_kernel_heat(t, g, otad_const(t, edges, 1, in[0].data), 0.05, 4);
    assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, P, 1, a), otad_const(t, P, 1, b),
                                         &o, &s), OTAD_OK);
    assert_close(otad_scalar(t, otad_sinkhorn_kl_dual(t, &s)),
                 otad_scalar(t, otad_sinkhorn_kl_primal(t, &s)), 1e-14);
    otad_tape_free(&t);
    otad_graph_free(&g);
    free(in[0].data), free(a), free(b);
}

/* Records the problem of a (N×1) against b on the tape and solves it. */
static int solve_small(otad_tape *t, const double *a, const double *b,
                       const otad_sinkhorn_opts *o, otad_sinkhorn *s, otad_kernel *k)
{
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    *k = otad_kernel_gibbs(t, otad_sqdist(t, otad_const(t, N, 2, x), otad_const(t, M, 2, y)),
                           0.1);
    free(x), free(y);
    return otad_sinkhorn_solve(t, *k, otad_const(t, N, 1, a), otad_const(t, M, 1, b), o, s);
}

/* ---- unbalanced barycenters -------------------------------------------------- */

/* Three histograms of masses 1, 0.6, 1.5 on 12 points, two weight columns. */
enum { GRID = 12, INPUTS = 3, BARYCENTERS = 2 };

static otad_var barycenter_of(otad_tape *t, otad_var cost, otad_var inputs, otad_var weights,
                              int log_domain, otad_grad_mode mode, int iterations)
{
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.rho = 0.5;
    o.log_domain = log_domain;
    o.mode = mode;
    o.iterations = iterations;
    return otad_barycenter(t, otad_kernel_gibbs(t, cost, 0.05), inputs, weights, &o);
}

/* After exactly 30 updates, and converged (IMPLICIT), POT's barycenters. */
static void test_barycenter_pot_reference(void **state)
{
    (void)state;
    otad_value cost = load_reference("unbalanced/bary_cost");
    otad_value inputs = load_reference("unbalanced/bary_inputs");
    otad_value weights = load_reference("unbalanced/bary_weights");
    otad_value ref[2] = {load_reference("unbalanced/bary_30"),
                         load_reference("unbalanced/bary_3000")};
    for (int log_domain = 0; log_domain < 2; log_domain++)
        for (int converged = 0; converged < 2; converged++) {
            otad_tape *t = new_tape();
            otad_var b = barycenter_of(t, otad_const(t, GRID, GRID, cost.data),
                                       otad_const(t, GRID, INPUTS, inputs.data),
                                       otad_const(t, INPUTS, BARYCENTERS, weights.data),
                                       log_domain, converged ? OTAD_IMPLICIT : OTAD_UNROLL,
                                       converged ? 3000 : 30);
            otad_value v = otad_value_of(t, b);
            assert_tape_ok(t);
            print_message("%s domain, %d updates: %.1e from POT\n",
                          log_domain ? "log" : "scaling", converged ? 3000 : 30,
                          max_rel_diff(v.data, ref[converged].data, GRID * BARYCENTERS));
            assert_rel_close("barycenter", v.data, ref[converged].data, GRID * BARYCENTERS,
                             1e-13);
            otad_tape_free(&t);
        }
    free(cost.data), free(inputs.data), free(weights.data), free(ref[0].data), free(ref[1].data);
}

/* inputs: cost (GRID×GRID), inputs (GRID×INPUTS), weights (INPUTS×BARYCENTERS) */
static otad_var record_barycenter(otad_tape *t, const otad_var *in, void *instance)
{
    const int *log_domain = instance;
    otad_var b = barycenter_of(t, in[0], in[1], in[2], *log_domain, OTAD_UNROLL, 20);
    return otad_sum(t, otad_mul(t, b, b));
}

/* Dot-product and Jacobian checks through 20 updates, in the cost, the
 * inputs and the weights; CHECKPOINT repeats UNROLL's gradient, and
 * converged, IMPLICIT's is the same. */
static void test_barycenter_gradients(void **state)
{
    (void)state;
    otad_value cost = load_reference("unbalanced/bary_cost");
    otad_value inputs = load_reference("unbalanced/bary_inputs");
    otad_value weights = load_reference("unbalanced/bary_weights");
    otad_value in[3] = {cost, inputs, weights};
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_check_result res;
        int rc = otad_check_graph(record_barycenter, &log_domain, 3, in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("log %d: %s", log_domain, res.report);
    }
    double grads[3][GRID * INPUTS + INPUTS * BARYCENTERS];
    const otad_grad_mode modes[3] = {OTAD_UNROLL, OTAD_CHECKPOINT, OTAD_IMPLICIT};
    for (int m = 0; m < 3; m++) {
        memset(grads[m], 0, sizeof grads[m]);
        otad_tape *t = new_tape();
        otad_var pi = otad_param(t, GRID, INPUTS, inputs.data, grads[m]);
        otad_var pw = otad_param(t, INPUTS, BARYCENTERS, weights.data, grads[m] + GRID * INPUTS);
        otad_var b = barycenter_of(t, otad_const(t, GRID, GRID, cost.data), pi, pw, 0,
                                   modes[m], 3000);
        if (otad_backward(t, otad_sum(t, otad_mul(t, b, b))) != OTAD_OK)
            fail_msg("mode %d: %s", (int)modes[m], otad_tape_message(t));
        otad_tape_free(&t);
    }
    size_t size = GRID * INPUTS + INPUTS * BARYCENTERS;
    assert_rel_close("CHECKPOINT", grads[1], grads[0], size, 1e-12);
    assert_rel_close("IMPLICIT", grads[2], grads[0], size, 1e-9);
    free(cost.data), free(inputs.data), free(weights.data);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    double *a = histogram_of_mass(3, N, 1), *b = histogram_of_mass(4, M, 1.4), zero[N] = {0};
    otad_sinkhorn s;
    otad_kernel k;
    const double bad[3] = {0, -1, NAN};
    for (int i = 0; i < 3; i++) {
        otad_sinkhorn_opts o = opts_of(0, 10, bad[i], 0.5);
        solve_small(t, a, b, &o, &s, &k);
        assert_tape_failed(t, OTAD_EINVAL, "rho_a");
        o = opts_of(0, 10, 0.5, bad[i]);
        solve_small(t, a, b, &o, &s, &k);
        assert_tape_failed(t, OTAD_EINVAL, "rho_b");
    }
    otad_sinkhorn_opts o = opts_of(0, 10, 0.5, 0.5);
    solve_small(t, zero, b, &o, &s, &k);
    assert_tape_failed(t, OTAD_EDOMAIN, "column 0 of a has zero mass");
    double negative = a[1];
    a[1] = -0.1;
    solve_small(t, a, b, &o, &s, &k);
    assert_tape_failed(t, OTAD_EDOMAIN, "a has entry -0.1");
    a[1] = negative;
    o = opts_of(0, 10, INFINITY, INFINITY);
    solve_small(t, a, b, &o, &s, &k);
    assert_tape_failed(t, OTAD_EDOMAIN, "masses differ");

    o = opts_of(0, 10, 0.5, 0.5);
    assert_int_equal(solve_small(t, a, b, &o, &s, &k), OTAD_OK);
    otad_sinkhorn_dual(t, &s);
    assert_tape_failed(t, OTAD_EINVAL, "otad_sinkhorn_kl_dual");
    assert_int_equal(solve_small(t, a, b, &o, &s, &k), OTAD_OK);
    otad_var pa = otad_const(t, N, 1, a);
    otad_sinkhorn_divergence(t, k, k, k, pa, pa, &o, OTAD_SINKHORN_COST);
    assert_tape_failed(t, OTAD_EINVAL, "KL values");
    o.mode = OTAD_ENVELOPE;
    assert_int_equal(solve_small(t, a, b, &o, &s, &k), OTAD_OK);
    otad_sinkhorn_kl_primal(t, &s);
    assert_tape_failed(t, OTAD_EINVAL, "dual values (dual, kl_dual) only");
    otad_tape_free(&t);
    free(a), free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pot_reference),
        cmocka_unit_test(test_balanced_limit),
        cmocka_unit_test(test_gradients_of_every_value),
        cmocka_unit_test(test_gradient_modes_agree),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_zero_mass_entries),
        cmocka_unit_test(test_grid_and_heat_kernels),
        cmocka_unit_test(test_barycenter_pot_reference),
        cmocka_unit_test(test_barycenter_gradients),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
