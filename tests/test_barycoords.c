/* Wasserstein barycentric coordinates: the build's gradient for every loss
 * and support, the five-shapes reference (loss, gradient, recovery), batched
 * targets, and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- a 12×12 instance ----------------------------------------------------- */

enum { SIDE = 12, N = SIDE * SIDE, S = 3, T = 2 };

/* Three bumps in different corners, floored so that KL targets are positive. */
static void small_database(double *db)
{
    const double centre[S][2] = {{0.25, 0.3}, {0.75, 0.25}, {0.5, 0.75}};
    for (int s = 0; s < S; s++) {
        double sum = 0;
        for (size_t i = 0; i < N; i++) {
            double x = (double)(i % SIDE) / (SIDE - 1) - centre[s][0];
            double y = (double)(i / SIDE) / (SIDE - 1) - centre[s][1];
            sum += db[i + s * N] = exp(-(x * x + y * y) / 0.02) + 1e-3;
        }
        for (size_t i = 0; i < N; i++)
            db[i + s * N] /= sum;
    }
}

typedef struct small_problem {
    otad_barycoords problem;
    double database[N * S], targets[N * T], cost[N * N];
    otad_graph *graph;
} small_problem;

/* Targets: barycenters at two weight columns, perturbed so that no loss is
 * at its minimum (nor at the kink of L1). */
static void small_problem_init(small_problem *sp, otad_support_kind kind, otad_histogram_loss loss)
{
    const size_t shape[2] = {SIDE, SIDE};
    small_database(sp->database);
    sp->graph = NULL;
    otad_barycoords *p = &sp->problem;
    otad_barycoords_init(p);
    if (kind == OTAD_SUPPORT_GRID) {
        p->support = otad_support_grid(2, shape, 0.05);
    } else if (kind == OTAD_SUPPORT_GRAPH) {
        assert_int_equal(otad_graph_grid2d(&sp->graph, SIDE, SIDE, NULL), OTAD_OK);
        p->support = otad_support_graph(sp->graph, NULL, 0.05, 5);
    } else {
        for (size_t j = 0; j < N; j++)
            for (size_t i = 0; i < N; i++) {
                double dx = (double)(i % SIDE) - (double)(j % SIDE);
                double dy = (double)(i / SIDE) - (double)(j / SIDE);
                sp->cost[i + j * N] = (dx * dx + dy * dy) / ((SIDE - 1) * (SIDE - 1));
            }
        p->support = otad_support_cost(N, sp->cost, 0.05);
    }
    p->size = N;
    p->n_histograms = S;
    p->database = sp->database;
    p->n_targets = T;
    p->targets = sp->targets;
    p->loss = loss;
    p->barycenter.iterations = 10;
    p->sinkhorn.iterations = 20;
    const double weights[S * T] = {0.2, 0.5, 0.3, 0.6, 0.1, 0.3};
    assert_int_equal(otad_barycoords_project(p, weights, T, sp->targets, NULL), OTAD_OK);
    for (size_t i = 0; i < N * T; i++)
        sp->targets[i] *= 1 + 0.3 * sin(3.0 * (double)i);
}

static otad_var record_build(otad_tape *t, const otad_var *in, void *instance)
{
    return otad_barycoords_build(t, in[0], instance);
}

/* Dot-product and Taylor tests at a random θ, for one support and loss. */
static void check_build(otad_support_kind kind, otad_histogram_loss loss)
{
    small_problem *sp = malloc(sizeof *sp);
    small_problem_init(sp, kind, loss);
    assert_int_equal(otad_barycoords_check(&sp->problem, NULL), OTAD_OK);
    otad_value theta = {random_matrix(7 + (uint64_t)loss, S * T, 1, -1, 1), S * T, 1};
    otad_check_result res;
    int rc = otad_check_graph(record_build, &sp->problem, 1, &theta, NULL, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("support %d, loss %d: %s", (int)kind, (int)loss, res.report);
    rc = otad_check_taylor(otad_barycoords_build, &sp->problem, S * T, theta.data, NULL, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("support %d, loss %d, Taylor: %s", (int)kind, (int)loss, res.report);
    free(theta.data);
    otad_graph_free(&sp->graph);
    free(sp);
}

static void test_gradients_every_loss(void **state)
{
    (void)state;
    for (int loss = OTAD_LOSS_L2; loss <= OTAD_LOSS_SINKHORN; loss++)
        check_build(OTAD_SUPPORT_GRID, (otad_histogram_loss)loss);
}

static void test_gradients_every_support(void **state)
{
    (void)state;
    check_build(OTAD_SUPPORT_GRAPH, OTAD_LOSS_L2);
    check_build(OTAD_SUPPORT_GRAPH, OTAD_LOSS_SINKHORN);
    check_build(OTAD_SUPPORT_COST, OTAD_LOSS_KL);
    check_build(OTAD_SUPPORT_COST, OTAD_LOSS_SINKHORN);
}

/* Unbalanced barycenters (barycenter.rho) of histograms of masses 1, 0.7
 * and 1.4, the targets made from them as small_problem_init makes them. */
static void make_unbalanced(small_problem *sp, double rho)
{
    const double masses[S] = {1, 0.7, 1.4};
    for (int s = 0; s < S; s++)
        for (size_t i = 0; i < N; i++)
            sp->database[i + s * N] *= masses[s];
    sp->problem.barycenter.rho = rho;
    sp->problem.sinkhorn.rho_a = sp->problem.sinkhorn.rho_b = rho;
    const double weights[S * T] = {0.2, 0.5, 0.3, 0.6, 0.1, 0.3};
    assert_int_equal(otad_barycoords_project(&sp->problem, weights, T, sp->targets, NULL),
                     OTAD_OK);
}

/* The build's gradient with unbalanced barycenters, for the L2 loss and the
 * unbalanced divergence. */
static void test_unbalanced_gradients(void **state)
{
    (void)state;
    const otad_histogram_loss losses[2] = {OTAD_LOSS_L2, OTAD_LOSS_SINKHORN};
    for (int l = 0; l < 2; l++) {
        small_problem *sp = malloc(sizeof *sp);
        small_problem_init(sp, OTAD_SUPPORT_GRID, losses[l]);
        make_unbalanced(sp, 0.5);
        assert_int_equal(otad_barycoords_check(&sp->problem, NULL), OTAD_OK);
        for (size_t i = 0; i < N * T; i++)
            sp->targets[i] *= 1 + 0.3 * sin(3.0 * (double)i);
        otad_value theta = {random_matrix(17, S * T, 1, -1, 1), S * T, 1};
        otad_check_result res;
        int rc = otad_check_graph(record_build, &sp->problem, 1, &theta, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("loss %d: %s", (int)losses[l], res.report);
        rc = otad_check_taylor(otad_barycoords_build, &sp->problem, S * T, theta.data, NULL,
                               &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("loss %d, Taylor: %s", (int)losses[l], res.report);
        free(theta.data);
        free(sp);
    }
}

/* From θ = 0, the fit with unbalanced barycenters finds the weights its
 * targets were made with, for the L2 loss and the unbalanced divergence. */
static void test_unbalanced_recovery(void **state)
{
    (void)state;
    const double weights[S * T] = {0.2, 0.5, 0.3, 0.6, 0.1, 0.3};
    const otad_histogram_loss losses[2] = {OTAD_LOSS_L2, OTAD_LOSS_SINKHORN};
    for (int l = 0; l < 2; l++) {
        small_problem *sp = malloc(sizeof *sp);
        small_problem_init(sp, OTAD_SUPPORT_GRID, losses[l]);
        make_unbalanced(sp, 0.5);
        sp->problem.sinkhorn.iterations = 200;
        otad_barycoords_result r;
        otad_error err;
        if (otad_barycoords_fit(&sp->problem, NULL, NULL, &r, &err) != OTAD_OK)
            fail_msg("loss %d: %s", (int)losses[l], err.message);
        double worst = 0;
        for (size_t k = 0; k < S * T; k++)
            worst = fmax(worst, fabs(r.weights[k] - weights[k]));
        print_message("unbalanced, loss %d: weights within %.1e after %d evaluations\n",
                      (int)losses[l], worst, r.lbfgs.evaluations);
        assert_true(worst < 1e-6);
        otad_barycoords_result_free(&r);
        free(sp);
    }
}

/* Two targets in one problem are two independent problems: the batched
 * loss is the sum, its gradient the single gradients side by side. */
static void test_targets_batch(void **state)
{
    (void)state;
    small_problem *sp = malloc(sizeof *sp);
    small_problem_init(sp, OTAD_SUPPORT_GRID, OTAD_LOSS_KL);
    double theta[S * T] = {0.3, -0.2, 0.5, -0.4, 0.1, 0.2}, grad[S * T], single[S];
    otad_tape *t = new_tape();
    otad_var loss = otad_barycoords_build(t, otad_param(t, S * T, 1, theta, grad), &sp->problem);
    assert_int_equal(otad_backward(t, loss), OTAD_OK);
    double both = otad_scalar(t, loss), sum = 0;
    otad_barycoords one = sp->problem;
    one.n_targets = 1;
    for (int target = 0; target < T; target++) {
        one.targets = sp->targets + target * N;
        otad_tape_reset(t);
        loss = otad_barycoords_build(t, otad_param(t, S, 1, theta + target * S, single), &one);
        assert_int_equal(otad_backward(t, loss), OTAD_OK);
        sum += otad_scalar(t, loss);
        assert_rel_close("gradient of one target", grad + target * S, single, S, 1e-12);
    }
    assert_close(both, sum, 1e-14 * fabs(sum));
    otad_tape_free(&t);
    free(sp);
}

/* ---- the five-shapes reference, 64×64 ----------------------------------- */

typedef struct w2 {
    otad_value database;
    double *q;
    otad_barycoords problem;
} w2;

static void w2_load(w2 *w)
{
    const size_t shape[2] = {64, 64};
    w->database = load_reference("w2/N64_database");
    w->q = load_reference_flat("w2/N64_q", 4096);
    otad_barycoords_init(&w->problem);
    w->problem.support = otad_support_grid(2, shape, 2e-3);
    w->problem.size = 4096;
    w->problem.n_histograms = 5;
    w->problem.database = w->database.data;
    w->problem.n_targets = 1;
    w->problem.targets = w->q;
}

static void w2_free(w2 *w)
{
    free(w->database.data);
    free(w->q);
}

/* At θ = 0, the loss and gradient of the reference run
 * (tests/data/w2/N64_checks.json: loss_theta0, grad_theta0). */
static void test_w2_loss_and_gradient(void **state)
{
    (void)state;
    const double loss_ref = 0.000987593390554629;
    const double grad_ref[5] = {0.0007864131408835185, -0.0010638339184652205,
                                0.0010228497849364595, -0.0006985636774006508,
                                -4.6865329954106714e-05};
    w2 w;
    w2_load(&w);
    double theta[5] = {0}, grad[5];
    otad_tape *t = new_tape();
    otad_var loss = otad_barycoords_build(t, otad_param(t, 5, 1, theta, grad), &w.problem);
    assert_int_equal(otad_backward(t, loss), OTAD_OK);
    assert_close(otad_scalar(t, loss), loss_ref, 1e-9 * loss_ref);
    assert_rel_close("gradient at theta = 0", grad, grad_ref, 5, 1e-8);
    otad_tape_free(&t);
    w2_free(&w);
}

/* λ_true = (0.1, 0.4, 0.2, 0.25, 0.05) from θ = 0 with the L2 loss; the
 * reference reaches 3e-16 in 44 evaluations, the issue asks for 1e-3. */
static void test_w2_recovery(void **state)
{
    (void)state;
    const double lambda_true[5] = {0.1, 0.4, 0.2, 0.25, 0.05};
    w2 w;
    w2_load(&w);
    otad_barycoords_result r;
    otad_error err;
    int rc = otad_barycoords_fit(&w.problem, NULL, NULL, &r, &err);
    if (rc != OTAD_OK)
        fail_msg("fit: %s", err.message);
    double l1 = 0;
    for (int s = 0; s < 5; s++)
        l1 += fabs(r.weights[s] - lambda_true[s]);
    printf("five shapes, recovery: |lambda - lambda_true|_1 = %.2e after %d evaluations, "
           "loss %.2e\n", l1, r.lbfgs.evaluations, r.lbfgs.loss);
    assert_true(l1 < 1e-3);
    assert_close(r.target_losses[0], r.lbfgs.loss, 1e-12);
    /* the projection at the fitted weights is the target */
    double *fitted = malloc(4096 * sizeof *fitted);
    assert_int_equal(otad_barycoords_project(&w.problem, r.weights, 1, fitted, NULL), OTAD_OK);
    assert_rel_close("P(lambda_fit) against q", fitted, w.q, 4096, 1e-3);
    free(fitted);
    otad_barycoords_result_free(&r);
    w2_free(&w);
}

/* ---- bad input ------------------------------------------------------------ */

static void expect_error(const otad_barycoords *p, int code, const char *words)
{
    otad_error err;
    otad_barycoords_result r;
    assert_int_equal(otad_barycoords_check(p, &err), code);
    if (!strstr(err.message, words))
        fail_msg("expected \"%s\" in \"%s\"", words, err.message);
    assert_int_equal(otad_barycoords_fit(p, NULL, NULL, &r, &err), code);
    assert_null(r.weights);
    otad_barycoords_result_free(&r);
}

static void test_bad_input(void **state)
{
    (void)state;
    small_problem *sp = malloc(sizeof *sp);
    small_problem_init(sp, OTAD_SUPPORT_GRID, OTAD_LOSS_L2);
    otad_barycoords p = sp->problem;
    p.size = N - 1;
    expect_error(&p, OTAD_ESHAPE, "the support has 144 points");
    p = sp->problem;
    p.n_histograms = 0;
    expect_error(&p, OTAD_EINVAL, "database is empty");
    p.n_histograms = 1;
    expect_error(&p, OTAD_EINVAL, "at least 2");
    p = sp->problem;
    sp->database[N + 5] = -1e-3;
    expect_error(&p, OTAD_EDOMAIN, "database histogram 1 has entry -0.001 at 5");
    small_database(sp->database);
    sp->database[2 * N] *= 2;
    expect_error(&p, OTAD_EDOMAIN, "must be equal");
    small_database(sp->database);
    sp->targets[N + 3] = NAN;
    expect_error(&p, OTAD_EDOMAIN, "target 1 has entry nan");
    sp->targets[N + 3] = 0;
    p.loss = OTAD_LOSS_KL;
    expect_error(&p, OTAD_EDOMAIN, "KL loss needs positive targets");
    p = sp->problem;
    p.support.eps = -1;
    otad_error err;
    otad_barycoords_result r;
    assert_int_equal(otad_barycoords_fit(&p, NULL, NULL, &r, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "eps"));
    otad_barycoords_result_free(&r);
    free(sp);
}

static void expect_project_error(const otad_barycoords *p, const double *weights,
                                 size_t n_cols, double *out, int code, const char *words)
{
    otad_error err;
    double before = out ? out[0] : 0;
    assert_int_equal(otad_barycoords_project(p, weights, n_cols, out, &err), code);
    if (!strstr(err.message, words))
        fail_msg("expected \"%s\" in \"%s\"", words, err.message);
    if (out) /* nothing the caller owns is written on failure */
        assert_memory_equal(&out[0], &before, sizeof before);
}

/* project checks its own arguments, and says which is bad: weights off the
 * simplex (negative, or a column not summing to 1), non-finite weights,
 * no columns, NULL pointers. */
static void test_project_refuses_bad_weights(void **state)
{
    (void)state;
    small_problem *sp = malloc(sizeof *sp);
    small_problem_init(sp, OTAD_SUPPORT_GRID, OTAD_LOSS_L2);
    const otad_barycoords *p = &sp->problem;
    double *out = malloc(N * 2 * sizeof *out);
    out[0] = -7;
    const double negative[S] = {0.5, 0.8, -0.3}, light[S] = {0.3, 0.3, 0.3};
    const double nan_weight[S] = {0.5, NAN, 0.5}, good[2 * S] = {0.2, 0.5, 0.3, 1, 0, 0};
    expect_project_error(p, negative, 1, out, OTAD_EDOMAIN,
                         "barycoords_project: weights[2] is -0.3, must be ≥ 0");
    expect_project_error(p, light, 1, out, OTAD_EDOMAIN,
                         "barycoords_project: weights column 0 sums to 0.9, must sum to 1");
    expect_project_error(p, nan_weight, 1, out, OTAD_EDOMAIN,
                         "barycoords_project: weights[1] is nan, must be finite");
    expect_project_error(p, good, 0, out, OTAD_EINVAL,
                         "barycoords_project: n_cols is 0, must be at least 1");
    expect_project_error(p, good, SIZE_MAX / 2, out, OTAD_EINVAL,
                         "barycoords_project: the output is 144x9223372036854775807, more "
                         "entries than fit in memory");
    expect_project_error(p, NULL, 1, out, OTAD_EINVAL, "barycoords_project: weights is NULL");
    expect_project_error(p, good, 1, NULL, OTAD_EINVAL, "barycoords_project: out is NULL");
    expect_project_error(NULL, good, 1, out, OTAD_EINVAL,
                         "barycoords_project: problem is NULL");
    assert_int_equal(otad_barycoords_project(p, good, 2, out, NULL), OTAD_OK);
    free(out);
    free(sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_every_loss),
        cmocka_unit_test(test_gradients_every_support),
        cmocka_unit_test(test_unbalanced_gradients),
        cmocka_unit_test(test_unbalanced_recovery),
        cmocka_unit_test(test_targets_batch),
        cmocka_unit_test(test_w2_loss_and_gradient),
        cmocka_unit_test(test_w2_recovery),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_project_refuses_bad_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
