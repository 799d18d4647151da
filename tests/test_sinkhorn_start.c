/* Where Sinkhorn's updates start: ε-scaling (the same fixed point, its
 * gradient, the kernels' apply_log_at) and warm starts (kept across tape
 * resets, found by problem, the gradient independent of them), and the
 * errors of both. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ops/kernel_at.h"
#include "support.h"

enum { N = 30, M = 25 };

static const double eps = 0.01;

typedef struct problem {
    double *x, *y, *a, *b;
    double rho; /* both marginals' */
} problem;

static problem problem_new(double rho)
{
    return (problem){random_matrix(1, N, 2, 0, 1), random_matrix(2, M, 2, 0, 1),
                     histogram_of_mass(3, N, 1), histogram_of_mass(4, M, isinf(rho) ? 1 : 1.3),
                     rho};
}

static void problem_free(problem *p)
{
    free(p->x), free(p->y), free(p->a), free(p->b);
}

static otad_sinkhorn_opts converged_opts(double rho, otad_grad_mode mode)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = 1;
    o.mode = mode;
    o.iterations = 100000;
    o.tolerance = 1e-13;
    o.rho_a = o.rho_b = rho;
    return o;
}

typedef struct outcome {
    double value;   /* the dual value (KL dual when unbalanced) */
    double gx[2 * N], ga[N];
    int iterations;
} outcome;

/* Solve p with o on a fresh tape; value and gradients to x and a. */
static outcome solve(const problem *p, const otad_sinkhorn_opts *o)
{
    outcome r = {0};
    otad_tape *t = new_tape();
    otad_var x = otad_param(t, N, 2, p->x, r.gx), a = otad_param(t, N, 1, p->a, r.ga);
    otad_kernel k = otad_kernel_gibbs_points(t, x, otad_const(t, M, 2, p->y), eps);
    otad_sinkhorn s;
    if (otad_sinkhorn_solve(t, k, a, otad_const(t, M, 1, p->b), o, &s) != OTAD_OK)
        fail_msg("solve: %s", otad_tape_message(t));
    otad_var w = isinf(p->rho) ? otad_sinkhorn_dual(t, &s) : otad_sinkhorn_kl_dual(t, &s);
    if (otad_backward(t, w) != OTAD_OK)
        fail_msg("backward: %s", otad_tape_message(t));
    r.value = otad_scalar(t, w);
    r.iterations = s.iterations;
    otad_tape_free(&t);
    return r;
}

static void assert_same_outcome(const outcome *got, const outcome *ref, double tolerance)
{

    assert_close(got->value, ref->value, tolerance * fabs(ref->value));
    assert_rel_close("gradient to x", got->gx, ref->gx, 2 * N, tolerance);
    assert_rel_close("gradient to a", got->ga, ref->ga, N, tolerance);
}

/* ε-scaling ends at the plain updates' fixed point, value and gradient
 * (IMPLICIT and, for the dual, ENVELOPE), balanced and unbalanced, and it
 * takes fewer updates at ε to get there. */
static void test_scaling_same_fixed_point(void **state)
{
    (void)state;
    const double rhos[2] = {INFINITY, 0.5};
    const otad_grad_mode modes[2] = {OTAD_IMPLICIT, OTAD_ENVELOPE};
    for (int r = 0; r < 2; r++)
        for (int m = 0; m < 2; m++) {
            problem p = problem_new(rhos[r]);
            otad_sinkhorn_opts o = converged_opts(rhos[r], modes[m]);
            outcome plain = solve(&p, &o);
            o.eps_start = 1;
            outcome scaled = solve(&p, &o);
            print_message("rho %g, mode %d: %d updates plain, %d after the stages\n", rhos[r],
                          (int)modes[m], plain.iterations, scaled.iterations);
            assert_same_outcome(&scaled, &plain, 1e-10);
            assert_true(scaled.iterations < plain.iterations);
            problem_free(&p);
        }
}

/* inputs: x (N×2), a (N×1); instance: ρ */
static otad_var record_scaled(otad_tape *t, const otad_var *in, void *instance)
{
    const problem *p = instance;
    otad_sinkhorn_opts o = converged_opts(p->rho, OTAD_IMPLICIT);
    o.eps_start = 1;
    otad_kernel k = otad_kernel_gibbs_points(t, in[0], otad_const(t, M, 2, p->y), eps);
    return otad_sinkhorn_loss(t, k, in[1], otad_const(t, M, 1, p->b), &o,
                              isinf(p->rho) ? OTAD_SINKHORN_DUAL : OTAD_SINKHORN_KL_PRIMAL);
}

/* Dot-product and Jacobian checks of a solve after ε-scaling. */
static void test_scaling_gradcheck(void **state)
{
    (void)state;
    const double rhos[2] = {INFINITY, 0.5};
    for (int r = 0; r < 2; r++) {
        problem p = problem_new(rhos[r]);
        otad_value in[2] = {{p.x, N, 2}, {p.a, N, 1}};
        otad_check_result res;
        int rc = otad_check_graph(record_scaled, &p, 2, in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("rho %g: %s", rhos[r], res.report);
        problem_free(&p);
    }
}

/* The stages' kernel applies: apply_log_at(η) of a kernel at ε is
 * apply_log of the kernel built at η, dense, points and grid, both ways. */
static void test_apply_log_at(void **state)
{
    (void)state;
    double *x = random_matrix(5, N, 2, 0, 1), *y = random_matrix(6, M, 2, 0, 1);
    double *v = random_matrix(7, N, 3, -2, 2), *w = random_matrix(8, M, 3, -2, 2);
    const size_t shape[2] = {6, 5};
    otad_tape *t = new_tape();
    for (int kind = 0; kind < 3; kind++) {
        const double eta = 0.37;
        otad_kernel at_eps, at_eta;
        otad_var px = otad_const(t, N, 2, x), py = otad_const(t, M, 2, y);
        if (kind == 0) {
            otad_var c = otad_sqdist(t, px, py);
            at_eps = otad_kernel_gibbs(t, c, eps), at_eta = otad_kernel_gibbs(t, c, eta);
        } else if (kind == 1) {
            at_eps = otad_kernel_gibbs_points(t, px, py, eps);
            at_eta = otad_kernel_gibbs_points(t, px, py, eta);
        } else {
            at_eps = otad_kernel_grid(t, 2, shape, eps);
            at_eta = otad_kernel_grid(t, 2, shape, eta);
        }
        assert_true(otadK_has_log_at(t, at_eps));
        for (unsigned product = 0; product < 2; product++) {
            int n_rows = product || kind == 2; /* the grid has N = 6·5 points */
            otad_var z = otad_const(t, n_rows ? N : M, 3, n_rows ? v : w);
            otad_value got = otad_value_of(t, otadK_apply_log_at(t, at_eps, product, eta, z));
            otad_value ref = otad_value_of(t, otad_kernel_apply_log(t, at_eta, product, z));
            assert_tape_ok(t);
            assert_rel_close("apply_log_at", got.data, ref.data, got.rows * got.cols, 1e-14);
        }
    }
    otad_tape_free(&t);
    free(x), free(y), free(v), free(w);
}

/* ε-scaling on the grid kernel, unbalanced: the same values. */
static void test_scaling_on_grid(void **state)
{
    (void)state;
    enum { P = 48 };
    const size_t shape[2] = {8, 6};
    double *a = histogram_of_mass(9, P, 1), *b = histogram_of_mass(10, P, 1.3), value[2];
    int iterations[2];
    for (int scaled = 0; scaled < 2; scaled++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o = converged_opts(0.5, OTAD_IMPLICIT);
        o.eps_start = scaled ? 2 : 0;
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, otad_kernel_grid(t, 2, shape, 0.005),
                                             otad_const(t, P, 1, a), otad_const(t, P, 1, b), &o,
                                             &s), OTAD_OK);
        value[scaled] = otad_scalar(t, otad_sinkhorn_kl_primal(t, &s));
        iterations[scaled] = s.iterations;
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 1e-12 * fabs(value[0]));
    assert_true(iterations[1] < iterations[0]);
    free(a), free(b);
}

/* A warm start outlives the tape: the second solve starts at the first's
 * fixed point (one check of the residual), and value and gradient are the
 * cold start's; in the scaling domain too. */
static void test_warm_start(void **state)
{
    (void)state;
    const double rhos[2] = {INFINITY, 0.5};
    for (int r = 0; r < 2; r++)
        for (int log_domain = 0; log_domain < 2; log_domain++) {
            problem p = problem_new(rhos[r]);
            otad_sinkhorn_opts o = converged_opts(rhos[r], OTAD_IMPLICIT);
            o.log_domain = log_domain;
            o.tolerance = 1e-12;
            outcome cold = solve(&p, &o);
            o.start = otad_sinkhorn_start_new();
            assert_non_null(o.start);
            outcome first = solve(&p, &o), second = solve(&p, &o);
            long found, missed;
            otad_sinkhorn_start_counts(o.start, &found, &missed);
            assert_int_equal(found, 1);
            assert_int_equal(missed, 1);
            assert_int_equal(first.iterations, cold.iterations);
            assert_int_equal(second.iterations, o.check_every);
            assert_same_outcome(&second, &cold, 1e-10);
            /* a nearby problem: fewer updates than from 1 */
            p.x[0] += 0.01;
            otad_sinkhorn_opts cold_opts = o;
            cold_opts.start = NULL;
            outcome moved_cold = solve(&p, &cold_opts), moved = solve(&p, &o);
            assert_true(moved.iterations < moved_cold.iterations);
            otad_sinkhorn_start_free(o.start);
            problem_free(&p);
        }
}

/* A divergence keeps its three problems apart, and a problem of other
 * sizes finds nothing. */
static void test_warm_start_problems(void **state)
{
    (void)state;
    problem p = problem_new(0.5);
    otad_sinkhorn_opts o = converged_opts(0.5, OTAD_IMPLICIT);
    o.start = otad_sinkhorn_start_new();
    double value[2];
    for (int round = 0; round < 2; round++) {
        otad_tape *t = new_tape();
        otad_var x = otad_const(t, N, 2, p.x), y = otad_const(t, M, 2, p.y);
        otad_kernel kxy = otad_kernel_gibbs_points(t, x, y, eps);
        otad_kernel kxx = otad_kernel_gibbs_points(t, x, x, eps);
        otad_kernel kyy = otad_kernel_gibbs_points(t, y, y, eps);
        value[round] = otad_scalar(t, otad_sinkhorn_divergence(t, kxy, kxx, kyy,
                                                               otad_const(t, N, 1, p.a),
                                                               otad_const(t, M, 1, p.b), &o,
                                                               OTAD_SINKHORN_KL_DUAL));
        assert_tape_ok(t);
        otad_tape_free(&t);
    }
    long found, missed;
    otad_sinkhorn_start_counts(o.start, &found, &missed);
    assert_int_equal(found, 3);
    assert_int_equal(missed, 3);
    assert_close(value[1], value[0], 1e-12 * fabs(value[0]));

    otad_tape *t = new_tape();
    otad_kernel k = otad_kernel_gibbs_points(t, otad_const(t, N - 1, 2, p.x),
                                             otad_const(t, M, 2, p.y), eps);
    otad_sinkhorn s;
    assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, N - 1, 1, p.a),
                                         otad_const(t, M, 1, p.b), &o, &s), OTAD_OK);
    otad_sinkhorn_start_counts(o.start, &found, &missed);
    assert_int_equal(found, 3);
    assert_int_equal(missed, 4);
    otad_tape_free(&t);
    otad_sinkhorn_start_free(o.start);
    problem_free(&p);
}

static int solve_with(otad_tape *t, otad_kernel k, const problem *p, const otad_sinkhorn_opts *o)
{
    otad_sinkhorn s;
    return otad_sinkhorn_solve(t, k, otad_const(t, N, 1, p->a), otad_const(t, M, 1, p->b), o,
                               &s);
}

/* A kernel with a log domain but no apply_log_at: K_ij = e^(−(i − j)²/ε). */
static int log_only_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    (void)c, (void)state, (void)config;
    *info = (otad_kernel_info){.rows = N, .cols = M, .eps = eps, .has_log = 1,
                               .flops = 2.0 * N * M};
    return OTAD_OK;
}

static double log_entry(size_t i, size_t j)
{
    double d = ((double)i - (double)j) / N;
    return -d * d / eps;
}

static int log_only_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                          const double *x, double beta, double *y)
{
    (void)c, (void)state;
    int tr = product & OTAD_KERNEL_TRANSPOSE;
    size_t rows = tr ? M : N, cols = tr ? N : M;
    for (size_t b = 0; b < ncols; b++)
        for (size_t i = 0; i < rows; i++) {
            double s = beta * y[i + b * rows];
            for (size_t j = 0; j < cols; j++)
                s += exp(tr ? log_entry(j, i) : log_entry(i, j)) * x[j + b * cols];
            y[i + b * rows] = s;
        }
    return OTAD_OK;
}

static int log_only_apply_log(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                              const double *x, double *y)
{
    (void)c, (void)state, (void)product, (void)ncols, (void)x, (void)y;
    return OTAD_OK; /* never reached: the solve is refused before */
}

static int log_only_vjp_log(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                            const otad_kernel_grads *grads)
{
    (void)c, (void)state, (void)a, (void)grads;
    return OTAD_OK;
}

static const otad_kernel_class log_only_class = {.name = "log_only", .setup = log_only_setup,
                                                 .apply = log_only_apply,
                                                 .apply_log = log_only_apply_log,
                                                 .vjp_log = log_only_vjp_log};

static void test_errors(void **state)
{
    (void)state;
    problem p = problem_new(INFINITY);
    otad_tape *t = new_tape();
    otad_kernel k = otad_kernel_gibbs_points(t, otad_const(t, N, 2, p.x),
                                             otad_const(t, M, 2, p.y), eps);
    otad_sinkhorn_opts o = converged_opts(INFINITY, OTAD_IMPLICIT);
    o.eps_start = eps;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "a schedule that decreases");
    k = otad_kernel_gibbs_points(t, otad_const(t, N, 2, p.x), otad_const(t, M, 2, p.y), eps);
    o.eps_start = 1, o.eps_decay = 1;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "eps_decay is 1, must be in (0, 1)");
    const double bad[3] = {-1, NAN, INFINITY};
    for (int i = 0; i < 3; i++) {
        k = otad_kernel_gibbs_points(t, otad_const(t, N, 2, p.x), otad_const(t, M, 2, p.y), eps);
        o = converged_opts(INFINITY, OTAD_IMPLICIT);
        o.eps_start = bad[i];
        solve_with(t, k, &p, &o);
        assert_tape_failed(t, OTAD_EINVAL, "eps_start");
    }
    k = otad_kernel_gibbs_points(t, otad_const(t, N, 2, p.x), otad_const(t, M, 2, p.y), eps);
    o = converged_opts(INFINITY, OTAD_IMPLICIT);
    o.eps_start = 1, o.stage_iterations = 0;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "stage_iterations");
    o = converged_opts(INFINITY, OTAD_UNROLL);
    o.eps_start = 1;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "eps_start needs mode OTAD_IMPLICIT or OTAD_ENVELOPE");
    o = converged_opts(INFINITY, OTAD_IMPLICIT);
    o.eps_start = 1, o.log_domain = 0;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "needs the log domain");
    o = converged_opts(INFINITY, OTAD_CHECKPOINT);
    o.start = otad_sinkhorn_start_new();
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "start needs mode OTAD_IMPLICIT or OTAD_ENVELOPE");
    otad_sinkhorn_start_free(o.start);

    k = otad_kernel_new(t, &log_only_class, NULL, 0, NULL);
    o = converged_opts(INFINITY, OTAD_IMPLICIT);
    o.eps_start = 1;
    solve_with(t, k, &p, &o);
    assert_tape_failed(t, OTAD_EINVAL, "needs a kernel whose class has apply_log_at");
    otad_tape_free(&t);
    problem_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scaling_same_fixed_point),
        cmocka_unit_test(test_scaling_gradcheck),
        cmocka_unit_test(test_apply_log_at),
        cmocka_unit_test(test_scaling_on_grid),
        cmocka_unit_test(test_warm_start),
        cmocka_unit_test(test_warm_start_problems),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
