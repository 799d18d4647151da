/* Ground metric learning: the reference's energy and gradient,
 * gradient checks of the energy, recovery of an obstacle, and bad input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- the reference's instances at any n (tests/data/w3 at n = 50) -------- */

typedef struct instance {
    size_t n;               /* n×n grid */
    otad_graph *graph;
    double *frames;         /* N×10 */
    double *w_true;         /* the obstacle metric */
    otad_metric_learning problem;
} instance;

static void blob(size_t n, double cx, double cy, double *out)
{
    double sum = 0, h = 1.0 / (double)(n - 1), sigma = 0.08;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++) {
            double dx = (double)c * h - cx, dy = (double)r * h - cy;
            sum += out[r * n + c] = exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
        }
    for (size_t i = 0; i < n * n; i++)
        out[i] /= sum;
}

/* 0.1 on edges whose midpoint is within 0.15 of the centre, else 1. */
static void obstacle(otad_graph *g, size_t n, double *w)
{
    double h = 1.0 / (double)(n - 1);
    for (size_t e = 0; e < otad_graph_edges(g); e++) {
        size_t i, j;
        otad_graph_edge(g, e, &i, &j);
        double mx = 0.5 * (double)(i % n + j % n) * h, my = 0.5 * (double)(i / n + j / n) * h;
        double d2 = (mx - 0.5) * (mx - 0.5) + (my - 0.5) * (my - 0.5);
        w[e] = d2 < 0.15 * 0.15 ? 0.1 : 1.0;
    }
}

/* Frames 0 and 9 the two Gaussians, 1..8 their interpolation under the
 * obstacle metric; or, with reference set, the frames of the reference's
 * file (n = 50). */
static void instance_init(instance *in, size_t n, int steps, int iterations, int reference)
{
    size_t size = n * n;
    memset(in, 0, sizeof *in);
    in->n = n;
    assert_int_equal(otad_graph_grid2d(&in->graph, n, n, NULL), OTAD_OK);
    size_t m = otad_graph_edges(in->graph);
    in->w_true = malloc(m * sizeof *in->w_true);
    in->frames = malloc(10 * size * sizeof *in->frames);
    obstacle(in->graph, n, in->w_true);
    otad_metric_learning *p = &in->problem;
    otad_metric_learning_init(p);
    p->graph = in->graph;
    p->size = size;
    p->steps = steps;
    p->barycenter.iterations = iterations;
    p->n_frames = 10;
    p->frames = in->frames;
    if (reference) {
        otad_value f = load_reference("w3/n50_frames");
        assert_int_equal(f.rows * f.cols, 10 * size);
        for (size_t k = 0; k < 10; k++)
            for (size_t i = 0; i < size; i++)
                in->frames[i + k * size] = f.data[k + 10 * i];
        free(f.data);
        return;
    }
    blob(n, 0.2, 0.5, in->frames);
    blob(n, 0.8, 0.5, in->frames + 9 * size);
    double times[8];
    for (int k = 1; k <= 8; k++)
        times[k - 1] = k / 9.0;
    otad_error err;
    if (otad_metric_learning_interpolate(p, in->w_true, 8, times, in->frames + size, NULL,
                                         &err) != OTAD_OK)
        fail_msg("%s", err.message);
}

static void instance_free(instance *in)
{
    otad_graph_free(&in->graph);
    free(in->frames);
    free(in->w_true);
}

/* E(z) and ∇E on a tape of its own. */
static double energy_gradient(otad_metric_learning *p, const double *z, double *grad)
{
    otad_tape *t = new_tape();
    size_t m = otad_graph_edges(p->graph);
    otad_var e = otad_metric_learning_build(t, otad_param(t, m, 1, z, grad), p);
    memset(grad, 0, m * sizeof *grad);
    assert_int_equal(otad_backward(t, e), OTAD_OK);
    double value = otad_scalar(t, e);
    otad_tape_free(&t);
    return value;
}

/* ---- the reference's energy and gradient ----------------------------------- */

/* At w = 1: E = N Σ_k ‖P_k − f_k‖² (f_s(1) = 0), to 1e-9, and its gradient
 * to z = log w to 1e-7; at the obstacle metric the frames fit exactly and
 * the energy is the smoothness term alone. */
static void test_w3_reference(void **state)
{
    (void)state;
    instance in;
    instance_init(&in, 50, 20, 50, 1);
    otad_value energy = load_reference("w3/n50_energy_at_w1");
    otad_value grad_ref = load_reference("w3/n50_grad_z_at_w1");
    double z[4900] = {0}, grad[4900];
    double e = energy_gradient(&in.problem, z, grad);
    assert_close(e, energy.data[0], 1e-9 * energy.data[0]);
    assert_rel_close("gradient at w = 1", grad, grad_ref.data, 4900, 1e-7);
    otad_metric_learning_energy parts;
    otad_error err;
    assert_int_equal(otad_metric_learning_interpolate(&in.problem, in.w_true, 0, NULL, NULL,
                                                      &parts, &err), OTAD_OK);
    assert_close(parts.smoothness, 9.1368, 1e-10);   /* the reference's reg_at_wtrue */
    assert_true(parts.data < 1e-20);
    assert_close(parts.total, parts.data + parts.smoothness, 1e-14);
    free(energy.data), free(grad_ref.data);
    instance_free(&in);
}

/* The reference's central differences (h = 1e-5 in each z_e) of the full
 * energy at n = 10, at a point away from w = 1 and from the obstacle. */
static void test_w3_finite_differences(void **state)
{
    (void)state;
    instance in;
    instance_init(&in, 10, 20, 50, 0);
    otad_value z = load_reference("w3/n10_fdcheck_z");
    otad_value energy = load_reference("w3/n10_fdcheck_energy");
    otad_value fd = load_reference("w3/n10_fdcheck_grad_fd");
    assert_int_equal(z.rows * z.cols, 180);
    double grad[180];
    double e = energy_gradient(&in.problem, z.data, grad);
    assert_close(e, energy.data[0], 1e-9 * energy.data[0]);
    /* the differences themselves are good to about 1e-9 of the largest entry */
    assert_rel_close("n = 10 gradient against differences", grad, fd.data, 180, 1e-7);
    free(z.data), free(energy.data), free(fd.data);
    instance_free(&in);
}

/* ---- gradient checks of the energy ----------------------------------------- */

static otad_var record_energy(otad_tape *t, const otad_var *in, void *problem)
{
    return otad_metric_learning_build(t, in[0], problem);
}

/* 8×8, S = 5, L = 10, each loss with both regularisers on, at random z:
 * the dot-product test and the Taylor test of the whole energy. */
static void test_energy_gradients(void **state)
{
    (void)state;
    instance in;
    instance_init(&in, 8, 5, 10, 0);
    otad_metric_learning *p = &in.problem;
    p->lambda_c = 0.5;
    p->lambda_s = 0.2;
    size_t m = otad_graph_edges(in.graph);
    double *z = random_matrix(11, m, 1, -0.7, 0.7);
    const otad_histogram_loss losses[3] = {OTAD_LOSS_L2, OTAD_LOSS_KL, OTAD_LOSS_L1};
    for (int l = 0; l < 3; l++) {
        p->loss = losses[l];
        assert_int_equal(otad_metric_learning_check(p, NULL), OTAD_OK);
        otad_value input = {z, m, 1};
        otad_check_result res;
        int rc = otad_check_graph(record_energy, p, 1, &input, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("loss %d: %s", (int)losses[l], res.report);
        rc = otad_check_taylor(otad_metric_learning_build, p, m, z, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("loss %d, Taylor: %s", (int)losses[l], res.report);
    }
    /* the regularisers alone: their parts are what they claim */
    otad_metric_learning_energy parts;
    double *w = malloc(m * sizeof *w);
    for (size_t e = 0; e < m; e++)
        w[e] = exp(z[e]);
    p->loss = OTAD_LOSS_L2;
    assert_int_equal(otad_metric_learning_interpolate(p, w, 0, NULL, NULL, &parts, NULL),
                     OTAD_OK);
    double closeness = 0;
    for (size_t e = 0; e < m; e++)
        closeness += (w[e] - 1) * (w[e] - 1);
    assert_close(parts.closeness, 0.5 * closeness, 1e-12 * closeness);
    free(w), free(z);
    instance_free(&in);
}

/* The instance with its last frame 1.5 times as heavy and the frames
 * between interpolated by unbalanced barycenters (ρ = 0.5) under the
 * obstacle metric. */
static void make_unbalanced(instance *in)
{
    otad_metric_learning *p = &in->problem;
    size_t size = p->size;
    for (size_t i = 0; i < size; i++)
        in->frames[i + 9 * size] *= 1.5;
    otad_error err;
    assert_int_equal(otad_metric_learning_check(p, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "unless the barycenters are unbalanced"));
    p->barycenter.rho = 0.5;
    double times[8];
    for (int k = 1; k <= 8; k++)
        times[k - 1] = k / 9.0;
    if (otad_metric_learning_interpolate(p, in->w_true, 8, times, in->frames + size, NULL,
                                         &err) != OTAD_OK)
        fail_msg("%s", err.message);
    assert_int_equal(otad_metric_learning_check(p, NULL), OTAD_OK);
}

/* Frames of different masses with unbalanced barycenters: the energy's
 * gradient, and a fit from w = 1 that finds the obstacle. */
static void test_unbalanced(void **state)
{
    (void)state;
    instance in;
    instance_init(&in, 8, 5, 10, 0);
    make_unbalanced(&in);
    otad_metric_learning *p = &in.problem;
    size_t m = otad_graph_edges(in.graph);
    double *z = random_matrix(12, m, 1, -0.7, 0.7);
    otad_value input = {z, m, 1};
    otad_check_result res;
    int rc = otad_check_graph(record_energy, p, 1, &input, NULL, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("%s", res.report);
    rc = otad_check_taylor(otad_metric_learning_build, p, m, z, NULL, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("Taylor: %s", res.report);
    free(z);
    instance_free(&in);
}

/* ---- recovery ---------------------------------------------------------------- */

/* Pearson correlation of a and b over the entries where mask is set. */
static double correlation(const double *a, const double *b, const int *mask, size_t n)
{
    double sa = 0, sb = 0, count = 0;
    for (size_t i = 0; i < n; i++)
        if (mask[i])
            sa += a[i], sb += b[i], count++;
    double ma = sa / count, mb = sb / count, cab = 0, caa = 0, cbb = 0;
    for (size_t i = 0; i < n; i++)
        if (mask[i]) {
            cab += (a[i] - ma) * (b[i] - mb);
            caa += (a[i] - ma) * (a[i] - ma);
            cbb += (b[i] - mb) * (b[i] - mb);
        }
    return cab / sqrt(caa * cbb);
}

/* 20×20 obstacle, fitted from w = 1.  The edges the mass crosses are those
 * with both ends above 1/N (the mean) in some observed frame; elsewhere the
 * data say nothing about w and the weights stay where the prior holds them. */
static void recover(int unbalanced)
{
    instance in;
    instance_init(&in, 20, 20, 50, 0);
    if (unbalanced)
        make_unbalanced(&in);
    otad_metric_learning *p = &in.problem;
    size_t m = otad_graph_edges(in.graph), size = p->size;
    otad_metric_learning_energy start;
    assert_int_equal(otad_metric_learning_interpolate(p, NULL, 0, NULL, NULL, &start, NULL),
                     OTAD_OK);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 60;
    otad_metric_learning_result r;
    otad_error err;
    if (otad_metric_learning_fit(p, NULL, &params, &r, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    double fall = start.total / r.energy.total;
    int *crossed = calloc(m, sizeof *crossed);
    double *log_true = malloc(m * sizeof *log_true), *log_fit = malloc(m * sizeof *log_fit);
    size_t n_crossed = 0;
    for (size_t e = 0; e < m; e++) {
        size_t i, j;
        otad_graph_edge(in.graph, e, &i, &j);
        for (size_t k = 0; k < 10 && !crossed[e]; k++)
            crossed[e] = fmin(in.frames[i + k * size], in.frames[j + k * size]) > 1.0 / size;
        n_crossed += crossed[e] != 0;
        log_true[e] = log(in.w_true[e]);
        log_fit[e] = log(r.weights[e]);
    }
    double rho = correlation(log_true, log_fit, crossed, m);
    print_message("%srecovery: E %.4g -> %.4g (%.0fx) in %d iterations; correlation %.3f "
                  "on %zu crossed edges\n", unbalanced ? "unbalanced " : "", start.total,
                  r.energy.total, fall, r.lbfgs.iterations, rho, n_crossed);
    assert_true(fall >= 10);
    assert_true(rho >= 0.5);
    free(crossed), free(log_true), free(log_fit);
    otad_metric_learning_result_free(&r);
    instance_free(&in);
}

static void test_recovery(void **state)
{
    (void)state;
    recover(0);
}

/* The same with the last frame 1.5 times as heavy, unbalanced barycenters. */
static void test_unbalanced_recovery(void **state)
{
    (void)state;
    recover(1);
}

/* ---- bad input ---------------------------------------------------------------- */

static void expect_error(const otad_metric_learning *p, int code, const char *words)
{
    otad_error err;
    int rc = otad_metric_learning_check(p, &err);
    if (rc != code || !strstr(err.message, words))
        fail_msg("expected %d with \"%s\", got %d: %s", code, words, rc,
                 rc ? err.message : "OK");
    otad_metric_learning_result r;
    assert_int_equal(otad_metric_learning_fit(p, NULL, NULL, &r, &err), code);
    assert_null(r.weights);
    otad_metric_learning_result_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    instance in;
    instance_init(&in, 6, 3, 5, 0);
    otad_metric_learning p = in.problem;
    expect_error(NULL, OTAD_EINVAL, "no problem");
    p.eps = 0;
    expect_error(&p, OTAD_EDOMAIN, "eps is 0");
    p = in.problem, p.steps = 0;
    expect_error(&p, OTAD_EDOMAIN, "0 steps");
    p = in.problem, p.size = 35;
    expect_error(&p, OTAD_ESHAPE, "graph has 36 vertices");
    p = in.problem, p.n_frames = 2;
    expect_error(&p, OTAD_EINVAL, "at least 3");
    p = in.problem, p.lambda_s = -1;
    expect_error(&p, OTAD_EDOMAIN, "lambda_s -1");
    p = in.problem, p.loss = OTAD_LOSS_SINKHORN;
    expect_error(&p, OTAD_EINVAL, "L2, KL or L1");
    double times[10] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.7, 0.8, 1};
    p = in.problem, p.times = times;
    expect_error(&p, OTAD_EDOMAIN, "time 6 (0.5) does not follow");
    times[9] = 0.9;
    expect_error(&p, OTAD_EDOMAIN, "from 0 to 0.9");
    /* a frame of another mass */
    p = in.problem;
    double saved = in.frames[3 * 36 + 5];
    in.frames[3 * 36 + 5] += 0.01;
    expect_error(&p, OTAD_EDOMAIN, "frame 3 has mass");
    in.frames[3 * 36 + 5] = -0.01;
    expect_error(&p, OTAD_EDOMAIN, "frame 3 has entry -0.01");
    in.frames[3 * 36 + 5] = 0;
    p.loss = OTAD_LOSS_KL;
    expect_error(&p, OTAD_EDOMAIN, "KL loss needs positive");
    /* the energy's input and start weights */
    p = in.problem;
    otad_tape *t = new_tape();
    otad_metric_learning_build(t, otad_const_fill(t, 7, 1, 0.0), &p);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_non_null(strstr(otad_tape_message(t), "graph has 60 edges"));
    otad_tape_free(&t);
    double start[60];
    for (int e = 0; e < 60; e++)
        start[e] = e == 17 ? 0 : 1;
    otad_metric_learning_result r;
    otad_error err;
    in.frames[3 * 36 + 5] = saved;
    int rc = otad_metric_learning_fit(&p, start, NULL, &r, &err);
    otad_metric_learning_result_free(&r);
    if (rc == OTAD_OK || !strstr(err.message, "edge 17"))
        fail_msg("start weight 0 accepted: %s", err.message);
    /* a graph that is not connected cannot carry a heat kernel */
    const size_t ends[] = {0, 1, 2, 3};
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_new(&g, 4, 2, ends, NULL, &err), OTAD_EDOMAIN);
    assert_non_null(strstr(err.message, "not connected (2 components)"));
    assert_null(g);
    instance_free(&in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w3_reference),
        cmocka_unit_test(test_w3_finite_differences),
        cmocka_unit_test(test_energy_gradients),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_unbalanced),
        cmocka_unit_test(test_unbalanced_recovery),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
