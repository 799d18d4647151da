/* Minimum Kantorovich estimation: the ellipses reference's loss and
 * gradient, gradient checks of every ready model in every gradient mode,
 * recovery (ellipses under W_L and the debiased divergence, k-means against
 * Lloyd's algorithm), and bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- the ellipses reference (tests/data/w4, PyTorch) ---------------------- */

/* Three ellipses of 600 points each against 3 × 200 Vogel samples,
 * ε = 0.01, L = 100, W_L = ⟨P_L, C⟩, uniform weights. */
typedef struct ellipses_reference {
    otad_value data, samples, theta_init, theta_true, loss_grad;
    otad_mke problem;
    otad_mke_ellipses ellipses;
} ellipses_reference;

static void reference_init(ellipses_reference *w)
{
    w->data = load_reference("w4/data_points");
    w->samples = load_reference("w4/vogel_z");
    w->theta_init = load_reference("w4/theta_init");
    w->theta_true = load_reference("w4/theta_true");
    w->loss_grad = load_reference("w4/loss_grad_at_init");
    assert_int_equal(w->data.rows, 1800);
    assert_int_equal(w->samples.rows, 200);
    otad_mke_init(&w->problem);
    w->problem.dim = 2;
    w->problem.n_data = w->data.rows;
    w->problem.data = w->data.data;
    otad_error err;
    int rc = otad_mke_use_ellipses(&w->problem, &w->ellipses, 3, 200, w->samples.data, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
}

static void reference_free(ellipses_reference *w)
{
    free(w->data.data), free(w->samples.data), free(w->theta_init.data);
    free(w->theta_true.data), free(w->loss_grad.data);
}

/* The loss and its gradient at theta through otad_mke_build. */
static double loss_and_gradient(otad_mke *p, const double *theta, double *grad)
{
    otad_tape *t = new_tape();
    otad_var loss = otad_mke_build(t, otad_param(t, p->n_params, 1, theta, grad), p);
    assert_tape_ok(t);
    assert_int_equal(otad_backward(t, loss), OTAD_OK);
    double value = otad_scalar(t, loss);
    otad_tape_free(&t);
    return value;
}

static void test_ellipses_reference(void **state)
{
    (void)state;
    ellipses_reference w;
    reference_init(&w);
    /* the Vogel spiral of the reference */
    double z[400];
    otad_disk_samples(200, z);
    assert_rel_close("Vogel samples", z, w.samples.data, 400, 1e-15);
    /* UNROLL and CHECKPOINT both differentiate the L = 100 iterations */
    for (int mode = OTAD_UNROLL; mode <= OTAD_CHECKPOINT; mode++) {
        w.problem.sinkhorn.mode = mode;
        double grad[18];
        double loss = loss_and_gradient(&w.problem, w.theta_init.data, grad);
        assert_close(loss, w.loss_grad.data[0], 1e-9 * w.loss_grad.data[0]);
        assert_rel_close("ellipses gradient at the initial parameters", grad,
                         w.loss_grad.data + 1, 18, 1e-9);
    }
    reference_free(&w);
}

static double max_centre_error(const double *theta, const double *truth)
{
    double worst = 0;
    for (int k = 0; k < 3; k++)
        worst = fmax(worst, hypot(theta[6 * k] - truth[6 * k],
                                  theta[6 * k + 1] - truth[6 * k + 1]));
    return worst;
}

static void fit(otad_mke *p, const double *start, int iterations, otad_mke_result *result)
{
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = iterations;
    otad_error err;
    int rc = otad_mke_fit(p, start, &params, result, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
}

static double loss_at(const otad_mke *p, const double *theta)
{
    double loss;
    size_t n;
    otad_error err;
    if (otad_mke_evaluate(p, theta, NULL, NULL, &n, &loss, &err) != OTAD_OK)
        fail_msg("%s", err.message);
    return loss;
}

/* W_L at ε = 0.01 (blur √ε = 0.1, wider than the minor axes) is minimised
 * by segments: the reference's fit shrinks the minor axes to 1e-5 while it
 * finds the centres, and its loss falls below the loss at the truth. */
static void test_transport_cost_shrinks_ellipses(void **state)
{
    (void)state;
    ellipses_reference w;
    reference_init(&w);
    otad_mke_result r;
    fit(&w.problem, w.theta_init.data, 100, &r);
    assert_true(max_centre_error(r.theta, w.theta_true.data) < 0.01);
    for (int k = 0; k < 3; k++) {
        double axes[2];
        otad_ellipse_semi_axes(r.theta + 6 * k, axes);
        assert_true(axes[1] < 1e-3);
    }
    assert_true(r.lbfgs.loss < loss_at(&w.problem, w.theta_true.data));
    assert_int_equal(r.n_model, 600);
    otad_mke_result_free(&r);
    reference_free(&w);
}

/* The debiased divergence has no such bias: centres within 0.02 and
 * semi-axes (from A Aᵀ) within 15%. */
static void test_divergence_recovers_ellipses(void **state)
{
    (void)state;
    ellipses_reference w;
    reference_init(&w);
    w.problem.debiased = 1;
    w.problem.value = OTAD_SINKHORN_DUAL;
    otad_mke_result r;
    fit(&w.problem, w.theta_init.data, 100, &r);
    assert_true(max_centre_error(r.theta, w.theta_true.data) < 0.02);
    for (int k = 0; k < 3; k++) {
        double axes[2], truth[2];
        otad_ellipse_semi_axes(r.theta + 6 * k, axes);
        otad_ellipse_semi_axes(w.theta_true.data + 6 * k, truth);
        for (int a = 0; a < 2; a++)
            assert_true(fabs(axes[a] - truth[a]) < 0.15 * truth[a]);
    }
    /* the value fit reports is the divergence, whose data self-term it
     * computes once: the same as a full evaluation */
    assert_close(r.lbfgs.loss, loss_at(&w.problem, r.theta), 1e-12);
    otad_mke_result_free(&r);
    reference_free(&w);
}

/* ---- gradient checks of the ready models ---------------------------------- */

typedef struct small_problem {
    double *data, *weights, *samples;
    otad_mke problem;
    otad_mke_atoms atoms;
    otad_mke_ellipses ellipses;
    otad_mke_mlp mlp;
} small_problem;

/* 25 data points in [0,1]^dim with non-uniform weights; ε large enough
 * that 300 iterations converge, so that IMPLICIT and ENVELOPE (gradients
 * of the limit) agree with the finite differences of the iterates. */
static void small_init(small_problem *s, size_t dim)
{
    memset(s, 0, sizeof *s);
    s->data = random_matrix(11, 25, dim, 0, 1);
    s->weights = random_matrix(12, 25, 1, 0.5, 1.5);
    s->samples = random_matrix(13, 12, 2, -1, 1);
    otad_mke_init(&s->problem);
    s->problem.dim = dim;
    s->problem.n_data = 25;
    s->problem.data = s->data;
    s->problem.data_weights = s->weights;
    s->problem.eps = 0.2;
    s->problem.sinkhorn.iterations = 300;
}

static void small_free(small_problem *s)
{
    free(s->data), free(s->weights), free(s->samples);
}

static void check_build(otad_mke *p, const double *theta, const char *label)
{
    otad_check_opts opts;
    otad_check_opts_init(&opts);
    otad_check_result res;
    int rc = otad_check_taylor(otad_mke_build, p, p->n_params + (size_t)p->free_mass, theta,
                               &opts, &res);
    if (rc != OTAD_OK || !res.passed)
        print_error("gradient check of %s\n", label);
    assert_check_passed(rc, &res);
}

typedef enum model_kind { ATOMS, ELLIPSES, MLP } model_kind;

static void use_model(small_problem *s, model_kind kind, double **theta)
{
    otad_error err;
    int rc;
    size_t hidden[2] = {5, 4};
    switch (kind) {
    case ATOMS:
        rc = otad_mke_use_atoms(&s->problem, &s->atoms, 4, &err);
        break;
    case ELLIPSES:
        rc = otad_mke_use_ellipses(&s->problem, &s->ellipses, 2, 12, s->samples, &err);
        break;
    default:
        rc = otad_mke_use_mlp(&s->problem, &s->mlp, 2, 2, hidden, 12, s->samples, &err);
        break;
    }
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
    *theta = random_matrix(14 + kind, s->problem.n_params, 1, -0.5, 0.5);
    if (kind == ELLIPSES)
        for (size_t i = 0; i < s->problem.n_params; i++)
            (*theta)[i] += i % 6 < 2 ? 0.5 : 0; /* centres inside the data */
}

/* Each model, each value, biased and debiased, in each gradient mode. */
static void test_gradients_of_models(void **state)
{
    (void)state;
    const char *names[3] = {"atoms", "ellipses", "mlp"};
    for (model_kind kind = ATOMS; kind <= MLP; kind++) {
        small_problem s;
        small_init(&s, kind == MLP ? 3 : 2);
        double *theta;
        use_model(&s, kind, &theta);
        for (int value = OTAD_SINKHORN_COST; value <= OTAD_SINKHORN_ENTROPIC; value++)
            for (int debiased = 0; debiased <= 1; debiased++)
                for (int mode = OTAD_UNROLL; mode <= OTAD_ENVELOPE; mode++) {
                    if (mode == OTAD_ENVELOPE && value != OTAD_SINKHORN_DUAL)
                        continue; /* the envelope gradient is the dual's only */
                    s.problem.value = value;
                    s.problem.debiased = debiased;
                    s.problem.sinkhorn.mode = mode;
                    char label[80];
                    snprintf(label, sizeof label, "%s, value %d, debiased %d, mode %d",
                             names[kind], value, debiased, mode);
                    check_build(&s.problem, theta, label);
                }
        free(theta);
        small_free(&s);
    }
}

/* Online kernels (problem.online = 1): each model's loss and gradient equal
 * the stored kernels', biased and debiased, unrolled and by the envelope,
 * and pass the build function's checks. */
static void test_online_kernels(void **state)
{
    (void)state;
    for (model_kind kind = ATOMS; kind <= MLP; kind++) {
        small_problem s;
        small_init(&s, kind == MLP ? 3 : 2);
        double *theta, value[2];
        use_model(&s, kind, &theta);
        size_t n = s.problem.n_params;
        double *grad[2] = {calloc(n, sizeof(double)), calloc(n, sizeof(double))};
        assert_true(grad[0] && grad[1]);
        for (int debiased = 0; debiased <= 1; debiased++)
            for (int mode = OTAD_UNROLL; mode <= OTAD_ENVELOPE; mode += 3) {
                s.problem.value = mode == OTAD_ENVELOPE ? OTAD_SINKHORN_DUAL : OTAD_SINKHORN_COST;
                s.problem.debiased = debiased;
                s.problem.sinkhorn.mode = mode;
                for (int online = 0; online <= 1; online++) {
                    s.problem.online = online;
                    memset(grad[online], 0, n * sizeof(double));
                    value[online] = loss_and_gradient(&s.problem, theta, grad[online]);
                }
                assert_close(value[1], value[0], 1e-13 * fabs(value[0]));
                assert_rel_close("online gradient", grad[1], grad[0], n, 1e-12);
                check_build(&s.problem, theta, "online kernels");
                s.problem.online = 0;
            }
        free(grad[0]), free(grad[1]), free(theta);
        small_free(&s);
    }
}

/* The unbalanced loss (ρ = 0.3 both sides): each model, both KL values,
 * biased and debiased (Séjourné et al.'s divergence), in each mode. */
static void test_gradients_unbalanced(void **state)
{
    (void)state;
    for (model_kind kind = ATOMS; kind <= MLP; kind++) {
        small_problem s;
        small_init(&s, kind == MLP ? 3 : 2);
        double *theta;
        use_model(&s, kind, &theta);
        s.problem.sinkhorn.rho_a = s.problem.sinkhorn.rho_b = 0.3;
        for (int value = OTAD_SINKHORN_KL_PRIMAL; value <= OTAD_SINKHORN_KL_DUAL; value++)
            for (int debiased = 0; debiased <= 1; debiased++)
                for (int mode = OTAD_UNROLL; mode <= OTAD_ENVELOPE; mode++) {
                    if (mode == OTAD_ENVELOPE && value != OTAD_SINKHORN_KL_DUAL)
                        continue;
                    s.problem.value = value;
                    s.problem.debiased = debiased;
                    s.problem.sinkhorn.mode = mode;
                    char label[80];
                    snprintf(label, sizeof label, "unbalanced, model %d, value %d, debiased %d, "
                             "mode %d", (int)kind, value, debiased, mode);
                    check_build(&s.problem, theta, label);
                }
        /* the mass a parameter too: θ's last entry, log m = −0.2 */
        size_t n = s.problem.n_params;
        double *with_mass = malloc((n + 1) * sizeof *with_mass);
        memcpy(with_mass, theta, n * sizeof *theta);
        with_mass[n] = -0.2;
        s.problem.free_mass = 1;
        s.problem.value = OTAD_SINKHORN_KL_DUAL;
        for (int debiased = 0; debiased <= 1; debiased++) {
            s.problem.debiased = debiased;
            s.problem.sinkhorn.mode = OTAD_UNROLL;
            check_build(&s.problem, with_mass, "unbalanced, free mass");
        }
        free(with_mass);
        free(theta);
        small_free(&s);
    }
}

/* One ellipse among 10% outliers: the unbalanced divergence recovers its
 * centre and axes, and with the mass free the inliers' share of the mass,
 * while the balanced one is pulled toward the outliers. */
static void test_unbalanced_ignores_outliers(void **state)
{
    (void)state;
    enum { INLIERS = 300, OUTLIERS = 30, DATA = INLIERS + OUTLIERS, SAMPLES = 100 };
    double y[2 * DATA], z[2 * INLIERS], w[2 * OUTLIERS], samples[2 * SAMPLES];
    otad_disk_samples(INLIERS, z);
    otad_disk_samples(OUTLIERS, w);
    otad_disk_samples(SAMPLES, samples);
    const double truth[6] = {0.35, 0.4, 0.15, 0, 0.05, 0.1}; /* m, A row-major */
    for (size_t j = 0; j < INLIERS; j++) {
        y[j] = truth[0] + truth[2] * z[j] + truth[3] * z[j + INLIERS];
        y[j + DATA] = truth[1] + truth[4] * z[j] + truth[5] * z[j + INLIERS];
    }
    for (size_t j = 0; j < OUTLIERS; j++) {
        y[INLIERS + j] = 0.85 + 0.04 * w[j];
        y[INLIERS + j + DATA] = 0.85 + 0.04 * w[j + OUTLIERS];
    }
    double centre_error[3];
    for (int unbalanced = 0; unbalanced < 3; unbalanced++) { /* 2: with the mass free */
        otad_mke p;
        otad_mke_init(&p);
        otad_mke_ellipses ellipses;
        p.dim = 2, p.n_data = DATA, p.data = y, p.eps = 0.01, p.debiased = 1;
        p.value = unbalanced ? OTAD_SINKHORN_KL_DUAL : OTAD_SINKHORN_DUAL;
        p.sinkhorn.rho_a = p.sinkhorn.rho_b = unbalanced ? 0.05 : INFINITY;
        otad_error err;
        assert_int_equal(otad_mke_use_ellipses(&p, &ellipses, 1, SAMPLES, samples, &err),
                         OTAD_OK);
        p.free_mass = unbalanced == 2;
        double theta[7] = {0.5, 0.5, 0.1, 0, 0, 0.1, 0}, axes[2], true_axes[2];
        otad_lbfgs_params params;
        otad_lbfgs_params_init(&params);
        params.max_iterations = 60;
        otad_mke_result r = {0};
        if (otad_mke_fit(&p, theta, &params, &r, &err) != OTAD_OK)
            fail_msg("%s", err.message);
        centre_error[unbalanced] = hypot(r.theta[0] - truth[0], r.theta[1] - truth[1]);
        otad_ellipse_semi_axes(r.theta, axes);
        otad_ellipse_semi_axes(truth, true_axes);
        double mass = p.free_mass ? exp(r.theta[6]) : 1;
        print_message("%s: centre off by %.1e, semi-axes %.4f %.4f (true %.4f %.4f), mass "
                      "%.4f\n", unbalanced ? "unbalanced" : "balanced", centre_error[unbalanced],
                      axes[0], axes[1], true_axes[0], true_axes[1], mass);
        if (p.free_mass) /* the inliers' share, up to the entropic blur */
            assert_close(mass, (double)INLIERS / DATA, 5e-3);
        if (unbalanced) {
            assert_true(centre_error[unbalanced] < 3e-3);
            assert_close(axes[0], true_axes[0], 0.01);
            assert_close(axes[1], true_axes[1], 0.01);
        }
        otad_mke_result_free(&r);
    }
    assert_true(centre_error[0] > 10 * centre_error[1]);
}

/* A model of the caller's: fixed points translated by θ, weights given. */
static int translated(otad_tape *t, otad_var theta, void *instance, otad_var *points,
                      otad_var *weights)
{
    const double *z = instance;
    *points = otad_add(t, otad_const(t, 6, 2, z), otad_reshape(t, theta, 1, 2));
    *weights = otad_softmax(t, otad_const(t, 6, 1, z));
    return otad_tape_status(t);
}

static void test_caller_model(void **state)
{
    (void)state;
    small_problem s;
    small_init(&s, 2);
    s.problem.model = translated;
    s.problem.model_instance = s.samples;
    s.problem.n_params = 2;
    double theta[2] = {0.3, 0.6};
    check_build(&s.problem, theta, "a caller's model");
    /* the fit moves the translated cloud onto the data */
    otad_mke_result r;
    fit(&s.problem, theta, 50, &r);
    assert_true(r.lbfgs.loss < r.lbfgs.losses[0]);
    assert_int_equal(r.n_model, 6);
    otad_mke_result_free(&r);
    small_free(&s);
}

/* ---- k-means as MKE against Lloyd's algorithm ----------------------------- */

/* Lloyd's iterations from the given centres until no point changes cluster;
 * the mass of each cluster into mass. */
static void lloyd(const double *x, size_t n, size_t k, double *centres, double *mass)
{
    size_t *label = calloc(n, sizeof *label);
    for (int changed = 1, it = 0; changed && it < 100; it++) {
        changed = 0;
        for (size_t j = 0; j < n; j++) {
            size_t best = 0;
            double best_d = INFINITY;
            for (size_t a = 0; a < k; a++) {
                double dx = x[j] - centres[a], dy = x[j + n] - centres[a + k];
                if (dx * dx + dy * dy < best_d)
                    best_d = dx * dx + dy * dy, best = a;
            }
            changed |= it == 0 || label[j] != best;
            label[j] = best;
        }
        for (size_t a = 0; a < k; a++) {
            double sx = 0, sy = 0, count = 0;
            for (size_t j = 0; j < n; j++)
                if (label[j] == a)
                    sx += x[j], sy += x[j + n], count++;
            centres[a] = sx / count, centres[a + k] = sy / count;
            mass[a] = count / (double)n;
        }
    }
    free(label);
}

/* Three separated clusters of 30, 50 and 40 points.  As ε shrinks the atoms
 * reach Lloyd's centres.  Their weights reach the cluster masses while ε
 * is large enough for L iterations to move mass between clusters (the
 * kernel across a gap of 0.3 is exp(−0.09/ε)); below that the atoms'
 * marginal is no longer enforced and W_L stops seeing the weights. */
static void test_kmeans_matches_lloyd(void **state)
{
    (void)state;
    const size_t sizes[3] = {30, 50, 40}, n = 120, k = 3;
    const double centre[3][2] = {{0.2, 0.25}, {0.75, 0.3}, {0.45, 0.8}};
    double *x = malloc(2 * n * sizeof *x);
    otad_rng rng = {7};
    for (size_t c = 0, j = 0; c < 3; c++)
        for (size_t i = 0; i < sizes[c]; i++, j++) {
            x[j] = centre[c][0] + 0.16 * (otad_rng_uniform(&rng) - 0.5);
            x[j + n] = centre[c][1] + 0.16 * (otad_rng_uniform(&rng) - 0.5);
        }
    otad_mke p;
    otad_mke_init(&p);
    p.dim = 2;
    p.n_data = n;
    p.data = x;
    otad_mke_atoms atoms;
    assert_int_equal(otad_mke_use_atoms(&p, &atoms, k, NULL), OTAD_OK);
    double start[9], lloyd_centres[6], lloyd_mass[3];
    otad_mke_atoms_start(&p, &atoms, 3, start);
    memcpy(lloyd_centres, start, sizeof lloyd_centres);
    lloyd(x, n, k, lloyd_centres, lloyd_mass);
    /* the seeding put one atom in each cluster */
    for (size_t a = 0; a < k; a++)
        assert_true(lloyd_mass[a] > 0.2);
    p.sinkhorn.log_domain = 1;
    p.sinkhorn.iterations = 300;
    const double eps[3] = {3e-2, 1e-2, 1e-3}, centre_bound[3] = {1e-2, 1e-6, 1e-6};
    for (int e = 0; e < 3; e++) {
        p.eps = eps[e];
        otad_mke_result r;
        fit(&p, start, 200, &r);
        double centres = 0, mass = 0;
        for (size_t a = 0; a < k; a++) {
            centres = fmax(centres, hypot(r.theta[a] - lloyd_centres[a],
                                          r.theta[a + k] - lloyd_centres[a + k]));
            mass = fmax(mass, fabs(r.weights[a] - lloyd_mass[a]));
        }
        print_message("  eps %g: centres within %.2g, masses within %.2g of Lloyd's\n", eps[e],
                      centres, mass);
        assert_true(centres < centre_bound[e]);
        if (eps[e] >= 1e-2)
            assert_true(mass < 1e-3);
        otad_mke_result_free(&r);
    }
    free(x);
}

/* ---- bad input ------------------------------------------------------------ */

static void expect_error(int rc, int code, const otad_error *err, const char *message)
{
    assert_int_equal(rc, code);
    if (!strstr(err->message, message))
        fail_msg("expected \"%s\" in \"%s\"", message, err->message);
}

/* A model of points in R^3. */
static int three_coordinates(otad_tape *t, otad_var theta, void *instance, otad_var *points,
                             otad_var *weights)
{
    (void)instance;
    *points = otad_tile_cols(t, otad_vcat(t, 2, (otad_var[2]){theta, theta}), 3); /* 4×3 */
    *weights = (otad_var){0, 0};
    return otad_tape_status(t);
}

static void test_bad_input(void **state)
{
    (void)state;
    small_problem s;
    small_init(&s, 2);
    otad_mke *p = &s.problem;
    otad_error err;
    expect_error(otad_mke_use_atoms(p, &s.atoms, 26, &err), OTAD_EINVAL, &err,
                 "k = 26 atoms for 25 data points");
    expect_error(otad_mke_use_atoms(p, &s.atoms, 0, &err), OTAD_EINVAL, &err, "k = 0 atoms");
    expect_error(otad_mke_check(p, &err), OTAD_EINVAL, &err, "no model given");
    assert_int_equal(otad_mke_use_atoms(p, &s.atoms, 3, &err), OTAD_OK);
    assert_int_equal(otad_mke_check(p, &err), OTAD_OK);

    s.data[7] = NAN;
    expect_error(otad_mke_check(p, &err), OTAD_EDOMAIN, &err,
                 "data point 7 has coordinate 0 = nan");
    s.data[7] = 0.5;
    double zero[25] = {0};
    p->data_weights = zero;
    expect_error(otad_mke_check(p, &err), OTAD_EDOMAIN, &err, "the data weights are all zero");
    zero[3] = -1;
    expect_error(otad_mke_check(p, &err), OTAD_EDOMAIN, &err, "data weight 3 is -1");
    p->data_weights = s.weights;
    p->eps = 0;
    expect_error(otad_mke_check(p, &err), OTAD_EDOMAIN, &err, "eps is 0");
    p->eps = 0.2;
    p->online = 2;
    expect_error(otad_mke_check(p, &err), OTAD_EINVAL, &err, "online is 2, must be 0 or 1");
    p->online = 0;
    p->value = 7;
    expect_error(otad_mke_check(p, &err), OTAD_EINVAL, &err,
                 "Sinkhorn value 7: the model takes");
    p->value = OTAD_SINKHORN_COST;

    /* θ of the wrong size, through the build function */
    otad_tape *t = new_tape();
    double theta[5] = {0};
    otad_mke_build(t, otad_const(t, 5, 1, theta), p);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_non_null(strstr(otad_tape_message(t), "theta has 5 entries, the model has 9"));
    otad_tape_free(&t);

    /* models that do not fit the data */
    expect_error(otad_mke_use_mlp(p, &s.mlp, 2, 0, NULL, 12, s.samples, &err), OTAD_EINVAL,
                 &err, "0 hidden layers");
    p->dim = 3;
    expect_error(otad_mke_use_ellipses(p, &s.ellipses, 2, 12, s.samples, &err), OTAD_EINVAL,
                 &err, "ellipses live in the plane");
    p->dim = 2;
    s.samples[4] = INFINITY;
    expect_error(otad_mke_use_ellipses(p, &s.ellipses, 2, 12, s.samples, &err), OTAD_EDOMAIN,
                 &err, "disk sample 4 is not finite");

    /* a caller's model whose points have the wrong number of coordinates */
    p->model = three_coordinates;
    p->n_params = 2;
    t = new_tape();
    otad_mke_build(t, otad_const(t, 2, 1, theta), p);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    assert_non_null(strstr(otad_tape_message(t), "the model's points are 4×3, the data has 2 "
                                                  "coordinates"));
    otad_tape_free(&t);
    expect_error(otad_mke_fit(p, NULL, NULL, &(otad_mke_result){0}, &err), OTAD_EINVAL, &err,
                 "no start point");
    small_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ellipses_reference),
        cmocka_unit_test(test_gradients_of_models),
        cmocka_unit_test(test_gradients_unbalanced),
        cmocka_unit_test(test_online_kernels),
        cmocka_unit_test(test_unbalanced_ignores_outliers),
        cmocka_unit_test(test_caller_model),
        cmocka_unit_test(test_kmeans_matches_lloyd),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_transport_cost_shrinks_ellipses),
        cmocka_unit_test(test_divergence_recovers_ellipses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
