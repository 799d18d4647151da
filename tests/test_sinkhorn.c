/* Sinkhorn: agreement with the PyTorch and POT reference (tests/data/w1), the
 * log domain, the values, their gradients, and the error contract. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- the reference: 500 points in [0,1]², ε = 0.05, L = 100 ----------- */

/* rows×cols column-major from a cols×rows one. */
static double *transposed(otad_value v)
{
    double *t = malloc(v.rows * v.cols * sizeof *t);
    for (size_t i = 0; i < v.rows; i++)
        for (size_t j = 0; j < v.cols; j++)
            t[j + i * v.cols] = v.data[i + j * v.rows];
    return t;
}

/* W_L(a, b) with x and a as parameters: value, gradients to x and a. */
static void w1_loss(int log_domain, otad_value x, otad_value y, otad_value a, otad_value b,
                    double *value, double *gx, double *ga)
{
    otad_tape *t = new_tape();
    otad_var px = otad_param(t, x.rows, 2, x.data, gx), pa = otad_param(t, a.rows, 1, a.data, ga);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, y.rows, 2, y.data)),
                                      0.05);
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = log_domain;
    otad_var w = otad_sum(t, otad_sinkhorn_loss(t, k, pa, otad_const(t, b.rows, b.cols, b.data),
                                                &o, OTAD_SINKHORN_COST));
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    *value = otad_scalar(t, w);
    otad_tape_free(&t);
}

static void test_w1_reference(void **state)
{
    (void)state;
    otad_value x = load_reference("w1/n500_x"), y = load_reference("w1/n500_y");
    otad_value a = load_reference("w1/n500_a"), b = load_reference("w1/n500_b");
    otad_value w = load_reference("w1/n500_W"), rgx = load_reference("w1/n500_grad_x");
    otad_value rga = load_reference("w1/n500_grad_a");
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        double value, gx[1000], ga[500];
        w1_loss(log_domain, x, y, a, b, &value, gx, ga);
        assert_rel_close("W_L", &value, w.data, 1, 1e-9);
        assert_rel_close("gradient to x", gx, rgx.data, 1000, 1e-9);
        assert_rel_close("gradient to a", ga, rga.data, 500, 1e-9);
    }
    free(x.data), free(y.data), free(a.data), free(b.data);
    free(w.data), free(rgx.data), free(rga.data);
}

/* 16 targets as the columns of b: the loss is the sum of the 16 values. */
static void test_w1_batched_reference(void **state)
{
    (void)state;
    otad_value x = load_reference("w1/n500_x"), y = load_reference("w1/n500_y");
    otad_value a = load_reference("w1/n500_a"), bb = load_reference("w1/n500_bb");
    otad_value per_k = load_reference("w1/n500_batched_W_per_k");
    otad_value rgx = load_reference("w1/n500_batched_grad_x");
    otad_value rga = load_reference("w1/n500_batched_grad_a");
    otad_value b = {transposed(bb), 500, 16};
    double value, gx[1000], ga[500], sum = 0;
    w1_loss(0, x, y, a, b, &value, gx, ga);
    for (int k = 0; k < 16; k++)
        sum += per_k.data[k];
    assert_rel_close("batched W_L", &value, &sum, 1, 1e-9);
    assert_rel_close("batched gradient to x", gx, rgx.data, 1000, 1e-9);
    assert_rel_close("batched gradient to a", ga, rga.data, 500, 1e-9);
    free(x.data), free(y.data), free(a.data), free(bb.data), free(b.data);
    free(per_k.data), free(rgx.data), free(rga.data);
}

/* ---- a small problem for values and gradients --------------------------- */

enum { N = 7, M = 5 };

typedef struct problem {
    double eps;
    int log_domain;
    otad_sinkhorn_value value;
    int divergence;
} problem;

static double *normalised(uint64_t seed, size_t n)
{
    double *h = random_matrix(seed, n, 1, 0.5, 1.5), s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    for (size_t i = 0; i < n; i++)
        h[i] /= s;
    return h;
}

/* inputs: x (N×2), y (M×2), a (N×1), b (M×1) */
static otad_var record_loss(otad_tape *t, const otad_var *in, void *instance)
{
    const problem *p = instance;
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = 30;
    o.log_domain = p->log_domain;
    o.mass_tolerance = 0; /* the checks perturb a and b independently */
    otad_kernel kxy = otad_kernel_gibbs(t, otad_sqdist(t, in[0], in[1]), p->eps);
    if (!p->divergence)
        return otad_sinkhorn_loss(t, kxy, in[2], in[3], &o, p->value);
    otad_kernel kxx = otad_kernel_gibbs(t, otad_sqdist(t, in[0], in[0]), p->eps);
    otad_kernel kyy = otad_kernel_gibbs(t, otad_sqdist(t, in[1], in[1]), p->eps);
    return otad_sinkhorn_divergence(t, kxy, kxx, kyy, in[2], in[3], &o, p->value);
}

static void test_gradients_of_every_value(void **state)
{
    (void)state;
    otad_value in[4] = {{random_matrix(1, N, 2, 0, 1), N, 2}, {random_matrix(2, M, 2, 0, 1), M, 2},
                        {normalised(3, N), N, 1}, {normalised(4, M), M, 1}};
    for (int log_domain = 0; log_domain < 2; log_domain++)
        for (int value = 0; value < 3; value++)
            for (int divergence = 0; divergence < 2; divergence++) {
                problem p = {0.1, log_domain, (otad_sinkhorn_value)value, divergence};
                otad_check_result res;
                int rc = otad_check_graph(record_loss, &p, 4, in, NULL, &res);
                if (rc != OTAD_OK || !res.passed)
                    fail_msg("log %d value %d divergence %d: %s", log_domain, value,
                             divergence, res.report);
            }
    for (int i = 0; i < 4; i++)
        free(in[i].data);
}

/* Scaling and log domain agree on every value; at convergence the dual and
 * entropic values agree; the divergence of a measure with itself is 0. */
static void test_values_agree(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = normalised(3, N), *b = normalised(4, M), v[2][3];
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.iterations = 2000;
        o.tolerance = 1e-14;
        o.log_domain = log_domain;
        otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, otad_const(t, N, 2, x),
                                                          otad_const(t, M, 2, y)), 0.1);
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, N, 1, a),
                                             otad_const(t, M, 1, b), &o, &s), OTAD_OK);
        assert_true(s.iterations < 2000 && s.marginal_error <= 1e-14);
        assert_int_equal(s.iterations % o.check_every, 0);
        v[log_domain][0] = otad_scalar(t, otad_sinkhorn_cost(t, &s));
        v[log_domain][1] = otad_scalar(t, otad_sinkhorn_dual(t, &s));
        v[log_domain][2] = otad_scalar(t, otad_sinkhorn_entropic(t, &s));
        assert_tape_ok(t);
        otad_tape_free(&t);
    }
    for (int i = 0; i < 3; i++)
        assert_close(v[1][i], v[0][i], 1e-12);
    assert_close(v[0][1], v[0][2], 1e-12);
    assert_true(v[0][0] > 0);

    otad_tape *t = new_tape();
    otad_var px = otad_const(t, N, 2, x), pa = otad_const(t, N, 1, a);
    otad_kernel kxx = otad_kernel_gibbs(t, otad_sqdist(t, px, px), 0.1);
    otad_var d = otad_sinkhorn_divergence(t, kxx, kxx, kxx, pa, pa, NULL, OTAD_SINKHORN_COST);
    assert_close(otad_scalar(t, d), 0, 1e-15);
    otad_tape_free(&t);
    free(x), free(y), free(a), free(b);
}

/* Masses 1 and 1.5 (mass_tolerance 0): each update scales v by about 1.5,
 * so over 2000 updates the scale outgrows double unless it is fixed on the
 * way.  UNROLL and CHECKPOINT, which fix it only when it drifts, end at the
 * state of the log domain, which fixes it every update. */
static void test_scale_fixed_where_masses_differ(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = normalised(3, N), *b = normalised(4, M), u[3][N], v[3][M];
    for (size_t j = 0; j < M; j++)
        b[j] *= 1.5;
    const otad_grad_mode modes[3] = {OTAD_UNROLL, OTAD_CHECKPOINT, OTAD_UNROLL};
    for (int k = 0; k < 3; k++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.iterations = 2000;
        o.mass_tolerance = 0;
        o.mode = modes[k];
        o.log_domain = k == 2;
        otad_kernel kxy = otad_kernel_gibbs(t, otad_sqdist(t, otad_const(t, N, 2, x),
                                                            otad_const(t, M, 2, y)), 0.1);
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, kxy, otad_const(t, N, 1, a),
                                             otad_const(t, M, 1, b), &o, &s), OTAD_OK);
        otad_value vu = otad_value_of(t, s.u), vv = otad_value_of(t, s.v);
        for (size_t i = 0; i < N; i++)
            u[k][i] = o.log_domain ? exp(vu.data[i]) : vu.data[i];
        for (size_t j = 0; j < M; j++)
            v[k][j] = o.log_domain ? exp(vv.data[j]) : vv.data[j];
        otad_tape_free(&t);
    }
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < N; i++)
            assert_close(u[k][i], u[2][i], 1e-12 * u[2][i]);
        for (size_t j = 0; j < M; j++)
            assert_close(v[k][j], v[2][j], 1e-12 * v[2][j]);
    }
    free(x), free(y), free(a), free(b);
}

/* Costs of 4 and more at ε = 1e-3: every exp(−C/ε) underflows to 0, so the
 * scaling iterations stop with an error that names the cause, while the log
 * domain gives finite values and gradients. */
static void test_small_eps_needs_the_log_domain(void **state)
{
    (void)state;
    enum { P = 40 };
    double *x = random_matrix(5, P, 2, 0, 1), *y = random_matrix(6, P, 2, 0, 1);
    for (int i = 0; i < P; i++)
        y[i] += 2; /* the targets two units to the right */
    double *a = normalised(7, P), *b = normalised(8, P), gx[2 * P];
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = log_domain;
        otad_var px = otad_param(t, P, 2, x, gx);
        otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, P, 2, y)), 1e-3);
        otad_var w = otad_sinkhorn_loss(t, k, otad_const(t, P, 1, a), otad_const(t, P, 1, b), &o,
                                        OTAD_SINKHORN_COST);
        if (!log_domain) {
            assert_int_equal(otad_tape_status(t), OTAD_ERANGE);
            assert_non_null(strstr(otad_tape_message(t), "use the log domain"));
        } else {
            assert_int_equal(otad_backward(t, w), OTAD_OK);
            double value = otad_scalar(t, w);
            assert_true(value > 3 && value < 7);
            for (int i = 0; i < 2 * P; i++)
                assert_true(isfinite(gx[i]));
        }
        otad_tape_free(&t);
    }
    free(x), free(y), free(a), free(b);
}

/* On a grid the log domain agrees with the scaling domain where both work. */
static void test_grid_log_domain_agrees(void **state)
{
    (void)state;
    const size_t shape[2] = {8, 6};
    double *a = normalised(9, 48), *b = normalised(10, 48), value[2];
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        otad_tape *t = new_tape();
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = log_domain;
        otad_kernel k = otad_kernel_grid(t, 2, shape, 0.05);
        value[log_domain] = otad_scalar(t, otad_sinkhorn_loss(t, k, otad_const(t, 48, 1, a),
                                                              otad_const(t, 48, 1, b), &o,
                                                              OTAD_SINKHORN_COST));
        assert_tape_ok(t);
        otad_tape_free(&t);
    }
    assert_close(value[1], value[0], 1e-13);
    free(a), free(b);
}

/* ---- gradient modes ----------------------------------------------------- */

typedef struct mode_case {
    otad_grad_mode mode;
    otad_sinkhorn_value value;
    int iterations;
    double adjoint_tolerance; /* 0: the default */
} mode_case;

/* The value at x (N×2), a (N×1) with y, b fixed, and its gradients. */
static double value_and_gradients(const mode_case *c, const double *x, const double *y,
                                  const double *a, const double *b, double *gx, double *ga,
                                  size_t *peak)
{
    otad_tape *t = new_tape();
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = c->iterations;
    o.mode = c->mode;
    if (c->adjoint_tolerance > 0)
        o.adjoint_tolerance = c->adjoint_tolerance;
    otad_var px = otad_param(t, N, 2, x, gx), pa = otad_param(t, N, 1, a, ga);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, M, 2, y)), 0.1);
    otad_var w = otad_sinkhorn_loss(t, k, pa, otad_const(t, M, 1, b), &o, c->value);
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    double value = otad_scalar(t, w);
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    *peak = s.peak_bytes;
    otad_tape_free(&t);
    /* changes of a's total mass leave the balanced problem: compare the
     * gradients to a on directions that keep it (centred, as POT does) */
    double mean = 0;
    for (int i = 0; i < N; i++)
        mean += ga[i] / N;
    for (int i = 0; i < N; i++)
        ga[i] -= mean;
    return value;
}

/* On a converged problem (300 iterations bring the marginal error to 1e-16)
 * every mode gives the same gradient.  CHECKPOINT re-records UNROLL's steps:
 * equal to rounding (1e-13).  IMPLICIT differentiates the fixed point and
 * ENVELOPE applies Danskin's theorem at it, UNROLL the 300th iterate: they
 * differ by the distance to convergence (~1e-16) and by the adjoint's residual
 * (at most 1e-10 of x̄, amplified by the conditioning of I − Jᵀ; 1e-15
 * measured), hence 1e-9; with the adjoint solved to 1e-14, 1e-12. */
static void test_gradient_modes_agree(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = normalised(3, N), *b = normalised(4, M);
    double gx[2][2 * N], ga[2][N];
    size_t peak;
    for (int value = 0; value < 2; value++) {
        mode_case unroll = {OTAD_UNROLL, (otad_sinkhorn_value)value, 300, 0};
        double v0 = value_and_gradients(&unroll, x, y, a, b, gx[0], ga[0], &peak);
        otad_grad_mode modes[3] = {OTAD_CHECKPOINT, OTAD_IMPLICIT, OTAD_ENVELOPE};
        for (int m = 0; m < (value == OTAD_SINKHORN_DUAL ? 3 : 2); m++) {
            mode_case other = {modes[m], (otad_sinkhorn_value)value, 300, 0};
            double v1 = value_and_gradients(&other, x, y, a, b, gx[1], ga[1], &peak);
            double tolerance = modes[m] == OTAD_CHECKPOINT ? 1e-13 : 1e-9;
            assert_close(v1, v0, 1e-15);
            assert_rel_close("gradient to x", gx[1], gx[0], 2 * N, tolerance);
            assert_rel_close("gradient to a", ga[1], ga[0], N, tolerance);
        }
    }
    mode_case tight = {OTAD_IMPLICIT, OTAD_SINKHORN_DUAL, 300, 1e-14}; /* the last UNROLL case */
    value_and_gradients(&tight, x, y, a, b, gx[1], ga[1], &peak);
    assert_rel_close("gradient to x, adjoint to 1e-14", gx[1], gx[0], 2 * N, 1e-12);
    free(x), free(y), free(a), free(b);
}

/* IMPLICIT in the scaling domain at a small ε, where K v spans many orders
 * of magnitude: the adjoint reaches its tolerance, and its gradient is the
 * log domain's (the same fixed point) to what the forward's convergence
 * leaves. */
static void test_implicit_adjoint_at_small_eps(void **state)
{
    (void)state;
    enum { P = 60 };
    double *x = random_matrix(21, P, 2, 0, 1), *y = random_matrix(22, P, 2, 0, 1);
    double *a = normalised(23, P), *b = normalised(24, P), gx[2][2 * P], value[2];
    for (int log_domain = 0; log_domain < 2; log_domain++) {
        memset(gx[log_domain], 0, sizeof gx[log_domain]);
        otad_tape *t = new_tape();
        otad_var px = otad_param(t, P, 2, x, gx[log_domain]);
        otad_kernel k = otad_kernel_gibbs_points(t, px, otad_const(t, P, 2, y), 0.005);
        otad_sinkhorn_opts o;
        otad_sinkhorn_opts_init(&o);
        o.log_domain = log_domain;
        o.mode = OTAD_IMPLICIT;
        o.iterations = 20000;
        o.tolerance = 1e-13;
        otad_var w = otad_sinkhorn_loss(t, k, otad_const(t, P, 1, a), otad_const(t, P, 1, b),
                                        &o, OTAD_SINKHORN_COST);
        int rc = otad_backward(t, w);
        if (rc != OTAD_OK)
            fail_msg("%s domain: %s", log_domain ? "log" : "scaling", otad_tape_message(t));
        value[log_domain] = otad_scalar(t, w);
        otad_tape_free(&t);
    }
    assert_close(value[0], value[1], 1e-12);
    assert_rel_close("gradient to x", gx[0], gx[1], 2 * P, 1e-9);
    free(x), free(y), free(a), free(b);
}

/* The envelope gradient of the dual to a is ε log u (Danskin), exactly. */
static void test_envelope_gradient_is_eps_log_u(void **state)
{
    (void)state;
    double *x = random_matrix(1, N, 2, 0, 1), *y = random_matrix(2, M, 2, 0, 1);
    double *a = normalised(3, N), *b = normalised(4, M), ga[N];
    otad_tape *t = new_tape();
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = OTAD_ENVELOPE;
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, otad_const(t, N, 2, x),
                                                      otad_const(t, M, 2, y)), 0.1);
    otad_sinkhorn s;
    otad_var pa = otad_param(t, N, 1, a, ga);
    assert_int_equal(otad_sinkhorn_solve(t, k, pa, otad_const(t, M, 1, b), &o, &s), OTAD_OK);
    assert_int_equal(otad_backward(t, otad_sum(t, otad_sinkhorn_dual(t, &s))), OTAD_OK);
    otad_value u = otad_value_of(t, s.u);
    for (int i = 0; i < N; i++)
        assert_close(ga[i], 0.1 * log(u.data[i]), 1e-15);
    otad_sinkhorn_cost(t, &s);
    assert_int_equal(otad_tape_status(t), OTAD_EINVAL);
    otad_tape_free(&t);
    free(x), free(y), free(a), free(b);
}

/* Peak tape bytes of the W_L and its gradient, n = m = 200 points. */
static size_t peak_of(otad_grad_mode mode, int iterations, const double *x, const double *y,
                      const double *a, const double *b)
{
    enum { P = 200 };
    double *gx = malloc(2 * P * sizeof *gx);
    otad_tape *t = new_tape();
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = iterations;
    o.mode = mode;
    otad_var px = otad_param(t, P, 2, x, gx);
    otad_kernel k = otad_kernel_gibbs(t, otad_sqdist(t, px, otad_const(t, P, 2, y)), 0.1);
    otad_var w = otad_sinkhorn_loss(t, k, otad_const(t, P, 1, a), otad_const(t, P, 1, b), &o,
                                    OTAD_SINKHORN_COST);
    assert_int_equal(otad_backward(t, w), OTAD_OK);
    otad_tape_stats s;
    otad_tape_stats_get(t, &s);
    otad_tape_free(&t);
    free(gx);
    return s.peak_bytes;
}

static void test_memory_of_the_modes(void **state)
{
    (void)state;
    double *x = random_matrix(1, 200, 2, 0, 1), *y = random_matrix(2, 200, 2, 0, 1);
    double *a = normalised(3, 200), *b = normalised(4, 200);
    const int lengths[3] = {50, 200, 800};
    const char *names[3] = {"UNROLL", "CHECKPOINT", "IMPLICIT"};
    size_t peak[3][3];
    print_message("Sinkhorn W_L and gradient, 200 points each: peak tape bytes\n");
    for (int m = 0; m < 3; m++) {
        for (int l = 0; l < 3; l++)
            peak[m][l] = peak_of((otad_grad_mode)m, lengths[l], x, y, a, b);
        print_message("  %-10s  L = 50: %8zu   L = 200: %8zu   L = 800: %8zu\n", names[m],
                      peak[m][0], peak[m][1], peak[m][2]);
    }
    /* From L = 50 to 800, on top of what all three hold (the kernel, its
     * cost): UNROLL grows by a state per iteration, CHECKPOINT by √L states,
     * IMPLICIT not at all. */
    size_t unroll = peak[OTAD_UNROLL][2] - peak[OTAD_UNROLL][0];
    size_t checkpoint = peak[OTAD_CHECKPOINT][2] - peak[OTAD_CHECKPOINT][0];
    assert_true(unroll > 750 * 8 * 200);
    assert_true(checkpoint < unroll / 10);
    assert_true(peak[OTAD_IMPLICIT][2] == peak[OTAD_IMPLICIT][0]);
    free(x), free(y), free(a), free(b);
}

static void expect_failure(otad_tape *t, int code, const char *message)
{
    assert_int_equal(otad_tape_status(t), code);
    assert_string_equal(otad_tape_message(t), message);
    otad_tape_reset(t);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_sinkhorn s;
    double h[3] = {0.5, 0.6, -0.1}, g[3] = {0.2, 0.2, 0.2};
    otad_var c = otad_const_fill(t, 3, 3, 1);
    otad_kernel k = otad_kernel_gibbs(t, c, 1);
    otad_sinkhorn_solve(t, k, otad_const(t, 3, 1, h), otad_const(t, 3, 1, g), NULL, &s);
    expect_failure(t, OTAD_EDOMAIN, "sinkhorn: a has entry -0.1 at (2,0), must be non-negative");

    k = otad_kernel_gibbs(t, otad_const_fill(t, 3, 3, 1), 1);
    h[2] = 0.1;
    otad_sinkhorn_solve(t, k, otad_const(t, 3, 1, h), otad_const(t, 3, 1, g), NULL, &s);
    expect_failure(t, OTAD_EDOMAIN, "sinkhorn: masses differ in column 0: a sums to "
                                    "1.2000000000000002, b to 0.60000000000000009 (see "
                                    "mass_tolerance, or relax a marginal with rho_a, rho_b)");

    k = otad_kernel_gibbs(t, otad_const_fill(t, 3, 2, 1), 1);
    otad_sinkhorn_solve(t, k, otad_const(t, 3, 1, h), otad_const(t, 3, 1, g), NULL, &s);
    expect_failure(t, OTAD_ESHAPE, "sinkhorn: kernel is 3x2, a has 3 rows and b 3");

    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.log_domain = 1;
    h[2] = 0, g[0] = g[1] = 0.35, g[2] = 0.4;
    k = otad_kernel_gibbs(t, otad_const_fill(t, 3, 3, 1), 1);
    otad_sinkhorn_solve(t, k, otad_const(t, 3, 1, h), otad_const(t, 3, 1, g), &o, &s);
    expect_failure(t, OTAD_EDOMAIN, "sinkhorn: a has entry 0 at (2,0), must be positive in the "
                                    "log domain");
    otad_tape_free(&t);
}

/* A value asked of no solved problem is refused as solve refuses no result
 * struct: with a message, not a dereference. */
static void test_values_of_no_problem(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    otad_kernel k = otad_kernel_gibbs(t, otad_const_fill(t, 2, 2, 1), 1);
    otad_var h = otad_const_fill(t, 2, 1, 0.5);
    assert_int_equal(otad_sinkhorn_solve(t, k, h, h, NULL, NULL), OTAD_EINVAL);
    expect_failure(t, OTAD_EINVAL, "sinkhorn: no result struct");
    assert_false(otad_var_valid(otad_sinkhorn_cost(t, NULL)));
    expect_failure(t, OTAD_EINVAL, "sinkhorn_cost: no solved problem (s is NULL)");
    assert_false(otad_var_valid(otad_sinkhorn_dual(t, NULL)));
    expect_failure(t, OTAD_EINVAL, "sinkhorn_dual: no solved problem (s is NULL)");
    assert_false(otad_var_valid(otad_sinkhorn_entropic(t, NULL)));
    expect_failure(t, OTAD_EINVAL, "sinkhorn_entropic: no solved problem (s is NULL)");
    /* no tape: nothing to record on, nothing dereferenced */
    assert_false(otad_var_valid(otad_sinkhorn_cost(NULL, NULL)));
    otad_tape_free(&t);
}

/* Every option out of its range is refused, naming the field and the range:
 * a negative mass tolerance used to turn the mass check off. */
static void test_options_out_of_range(void **state)
{
    (void)state;
    double one[2] = {0.5, 0.5}, two[2] = {1, 1};
    otad_sinkhorn_opts o;
    otad_tape *t = new_tape();
    for (int k = 0; k < 10; k++) {
        otad_sinkhorn_opts_init(&o);
        const char *words = NULL;
        switch (k) {
        case 0: o.mass_tolerance = -1, words = "sinkhorn: mass_tolerance is -1, must be finite "
                                               "and ≥ 0"; break;
        case 1: o.mass_tolerance = NAN, words = "sinkhorn: mass_tolerance is nan"; break;
        case 2: o.iterations = 0, words = "sinkhorn: iterations is 0, must be at least 1"; break;
        case 3: o.tolerance = -1e-3, words = "sinkhorn: tolerance is -0.001, must be finite and "
                                             "≥ 0"; break;
        case 4: o.tolerance = INFINITY, words = "sinkhorn: tolerance is inf"; break;
        case 5: o.check_every = -3, words = "sinkhorn: check_every is -3, must be at least 1";
            break;
        case 6: o.log_domain = 2, words = "sinkhorn: log_domain is 2, must be 0 or 1"; break;
        case 7: o.mode = (otad_grad_mode)9, words = "sinkhorn: mode is 9, must be OTAD_UNROLL, "
                                                    "OTAD_CHECKPOINT, OTAD_IMPLICIT or "
                                                    "OTAD_ENVELOPE"; break;
        case 8: o.mode = (otad_grad_mode)-1, words = "sinkhorn: mode is -1"; break;
        case 9: o.adjoint_tolerance = NAN, words = "sinkhorn: adjoint_tolerance is nan, must be "
                                                   "finite and ≥ 0"; break;
        }
        otad_kernel k2 = otad_kernel_gibbs(t, otad_const_fill(t, 2, 2, 1), 1);
        otad_sinkhorn s;
        assert_int_equal(otad_sinkhorn_solve(t, k2, otad_const(t, 2, 1, one),
                                             otad_const(t, 2, 1, two), &o, &s), OTAD_EINVAL);
        assert_tape_failed(t, OTAD_EINVAL, words);
    }
    /* 0 turns the mass check off, as documented */
    otad_sinkhorn_opts_init(&o);
    o.mass_tolerance = 0;
    otad_sinkhorn s;
    otad_kernel k = otad_kernel_gibbs(t, otad_const_fill(t, 2, 2, 1), 1);
    assert_int_equal(otad_sinkhorn_solve(t, k, otad_const(t, 2, 1, one), otad_const(t, 2, 1, two),
                                         &o, &s), OTAD_OK);
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w1_reference),
        cmocka_unit_test(test_w1_batched_reference),
        cmocka_unit_test(test_gradients_of_every_value),
        cmocka_unit_test(test_values_agree),
        cmocka_unit_test(test_scale_fixed_where_masses_differ),
        cmocka_unit_test(test_gradient_modes_agree),
        cmocka_unit_test(test_implicit_adjoint_at_small_eps),
        cmocka_unit_test(test_envelope_gradient_is_eps_log_u),
        cmocka_unit_test(test_memory_of_the_modes),
        cmocka_unit_test(test_small_eps_needs_the_log_domain),
        cmocka_unit_test(test_grid_log_domain_agrees),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_values_of_no_problem),
        cmocka_unit_test(test_options_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
