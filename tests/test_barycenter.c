/* Barycenters (Heitz et al. 2020, Algorithm 1): the references of five
 * shapes on a grid (grid kernel) and of metric learning (heat kernel),
 * batching, the log domain, gradients. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* ---- five shapes on a 64×64 grid, ε = 2e-3, L = 50 ---------------------- */

/* Barycenters of the database for the weight columns given (5×f), both
 * weight sets in one call; returns the 4096×f values (malloc'd). */
static double *w2_barycenters(const double *weights, size_t f, int log_domain)
{
    otad_value db = load_reference("w2/N64_database");
    assert_int_equal(db.rows, 4096);
    assert_int_equal(db.cols, 5);
    otad_tape *t = new_tape();
    const size_t shape[2] = {64, 64};
    otad_kernel k = otad_kernel_grid(t, 2, shape, 2e-3);
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.log_domain = log_domain;
    otad_value b = otad_value_of(t, otad_barycenter(t, k, otad_const(t, 4096, 5, db.data),
                                                    otad_const(t, 5, f, weights), &o));
    assert_tape_ok(t);
    double *out = malloc(4096 * f * sizeof *out);
    memcpy(out, b.data, 4096 * f * sizeof *out);
    otad_tape_free(&t);
    free(db.data);
    return out;
}

static void test_w2_reference(void **state)
{
    (void)state;
    otad_value lambda = load_reference("w2/lambda_true");
    double *q = load_reference_flat("w2/N64_q", 4096), *uniform = load_reference_flat("w2/N64_bary_uniform", 4096);
    double weights[10];
    for (int r = 0; r < 5; r++)
        weights[r] = lambda.data[r], weights[5 + r] = 0.2;
    double *both = w2_barycenters(weights, 2, 0);
    assert_rel_close("barycenter at lambda_true", both, q, 4096, 1e-10);
    assert_rel_close("uniform barycenter", both + 4096, uniform, 4096, 1e-10);
    /* one barycenter per call gives the same as both at once */
    double *one = w2_barycenters(weights + 5, 1, 0);
    assert_rel_close("batched against single", both + 4096, one, 4096, 1e-14);
    /* and the log domain agrees with the scaling one for non-uniform weights */
    double *logs = w2_barycenters(weights, 1, 1);
    assert_rel_close("log domain at lambda_true", logs, q, 4096, 1e-10);
    free(both), free(one), free(logs);
    free(lambda.data), free(q), free(uniform);
}

/* ---- displacement interpolation on a 50×50 graph, heat kernel ----------- */

/* The reference frames: the first and last (ends, 2500×2) and the eight
 * between (2500×8), which are the barycenters of the ends with weights
 * (1 − t_k, t_k), t_k = k/9, under the obstacle metric w_true. */
typedef struct w3 {
    double ends[5000], weights[16], frames[8 * 2500];
} w3;

static w3 *w3_load(void)
{
    otad_value frames = load_reference("w3/n50_frames");
    assert_int_equal(frames.rows, 10);
    assert_int_equal(frames.cols, 2500);
    w3 *w = malloc(sizeof *w);
    for (size_t i = 0; i < 2500; i++) {
        w->ends[i] = frames.data[0 + 10 * i];
        w->ends[2500 + i] = frames.data[9 + 10 * i];
        for (int k = 1; k <= 8; k++)
            w->frames[i + 2500 * (k - 1)] = frames.data[k + 10 * i];
    }
    for (int k = 1; k <= 8; k++)
        w->weights[2 * (k - 1)] = 1 - k / 9.0, w->weights[2 * (k - 1) + 1] = k / 9.0;
    free(frames.data);
    return w;
}

static otad_var w3_barycenters(otad_tape *t, otad_graph *g, const w3 *w, otad_var edge_weights)
{
    otad_kernel k = otad_kernel_heat(t, g, edge_weights, 0.04, 20);
    return otad_barycenter(t, k, otad_const(t, 2500, 2, w->ends), otad_const(t, 2, 8, w->weights),
                           NULL);
}

static void test_w3_frames(void **state)
{
    (void)state;
    otad_value w_true = load_reference("w3/n50_w_true");
    w3 *w = w3_load();
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 50, 50, NULL), OTAD_OK);
    otad_tape *t = new_tape();
    otad_value b = otad_value_of(t, w3_barycenters(t, g, w, otad_const(t, 4900, 1, w_true.data)));
    assert_tape_ok(t);
    assert_rel_close("frames on the 50×50 graph", b.data, w->frames, 8 * 2500, 1e-9);
    otad_tape_free(&t);
    otad_graph_free(&g);
    free(w), free(w_true.data);
}

/* The reference's energy at w = 1, E = N Σ_k ‖P_k(w) − f_k‖² (its
 * smoothness term is 0 at w = 1), and its gradient to z = log w: the
 * gradient of the heat kernel's edge weights through all 100 applies of the
 * unrolled barycenter. */
static void test_w3_energy_gradient(void **state)
{
    (void)state;
    otad_value energy = load_reference("w3/n50_energy_at_w1");
    otad_value grad_ref = load_reference("w3/n50_grad_z_at_w1");
    assert_int_equal(grad_ref.rows * grad_ref.cols, 4900);
    w3 *w = w3_load();
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 50, 50, NULL), OTAD_OK);
    otad_tape *t = new_tape();
    double z[4900] = {0}, grad[4900];
    otad_var b = w3_barycenters(t, g, w, otad_exp(t, otad_param(t, 4900, 1, z, grad)));
    otad_var e = otad_scale(t, otad_sum(t, otad_loss_l2(t, b, otad_const(t, 2500, 8, w->frames))),
                            2500);
    assert_int_equal(otad_backward(t, e), OTAD_OK);
    assert_close(otad_scalar(t, e), energy.data[0], 1e-9 * energy.data[0]);
    assert_rel_close("gradient at w = 1", grad, grad_ref.data, 4900, 1e-7);
    otad_tape_free(&t);
    otad_graph_free(&g);
    free(w), free(energy.data), free(grad_ref.data);
}

/* ---- gradients ---------------------------------------------------------- */

typedef struct small_case {
    otad_graph *graph; /* heat kernel, or NULL: grid kernel */
    int log_domain;
} small_case;

/* inputs: histograms (12×3), weights (3×2), edge weights (17×1) */
static otad_var record_barycenter(otad_tape *t, const otad_var *in, void *instance)
{
    const small_case *c = instance;
    const size_t shape[2] = {4, 3};
    otad_kernel k = c->graph ? otad_kernel_heat(t, c->graph, in[2], 0.2, 3)
                             : otad_kernel_grid(t, 2, shape, 0.2);
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.iterations = 10;
    o.log_domain = c->log_domain;
    return otad_barycenter(t, k, in[0], in[1], &o);
}

static void test_gradients(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 4, 3, NULL), OTAD_OK);
    otad_value in[3] = {{random_matrix(1, 12, 3, 0.2, 1), 12, 3},
                        {random_matrix(2, 3, 2, 0.1, 0.6), 3, 2},
                        {random_matrix(3, 17, 1, 0.5, 2), 17, 1}};
    small_case cases[3] = {{g, 0}, {NULL, 0}, {NULL, 1}};
    for (int c = 0; c < 3; c++) {
        otad_check_result res;
        int rc = otad_check_graph(record_barycenter, &cases[c], 3, in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("case %d: %s", c, res.report);
        if (!cases[c].graph && !(res.max_abs_err[2] == 0))
            fail_msg("the grid kernel does not use the edge weights");
    }
    for (int i = 0; i < 3; i++)
        free(in[i].data);
    otad_graph_free(&g);
}

/* inputs: histograms (6×2), weights (2×3), a cost (6×6) */
static otad_var record_dense_barycenter(otad_tape *t, const otad_var *in, void *instance)
{
    otad_barycenter_opts *o = instance;
    return otad_barycenter(t, otad_kernel_gibbs(t, in[2], 0.5), in[0], in[1], o);
}

/* The dense kernel collects its cost gradient across all applies of the
 * iteration: in every mode, the same check. */
static void test_gradients_dense(void **state)
{
    (void)state;
    otad_value in[3] = {{random_matrix(4, 6, 2, 0.2, 1), 6, 2},
                        {random_matrix(5, 2, 3, 0.1, 0.6), 2, 3},
                        {random_matrix(6, 6, 6, 0, 1), 6, 6}};
    for (int mode = OTAD_UNROLL; mode <= OTAD_CHECKPOINT; mode++) {
        otad_barycenter_opts o;
        otad_barycenter_opts_init(&o);
        o.iterations = 7;
        o.mode = (otad_grad_mode)mode;
        otad_check_result res;
        int rc = otad_check_graph(record_dense_barycenter, &o, 3, in, NULL, &res);
        if (rc != OTAD_OK || !res.passed)
            fail_msg("mode %d: %s", mode, res.report);
    }
    for (int i = 0; i < 3; i++)
        free(in[i].data);
}

/* Gradients of ⟨seed, barycenters⟩ to the inputs, the weights and the edge
 * weights of a heat kernel, in one mode; iterations enough to converge. */
/* adjoint_tolerance 0: the default. */
static void barycenter_gradients(otad_grad_mode mode, double adjoint_tolerance,
                                 const double *inputs, const double *weights, const double *w,
                                 otad_graph *g, double *grads[3])
{
    otad_tape *t = new_tape();
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.iterations = 300;
    o.mode = mode;
    if (adjoint_tolerance > 0)
        o.adjoint_tolerance = adjoint_tolerance;
    otad_var a = otad_param(t, 12, 3, inputs, grads[0]);
    otad_var lambda = otad_param(t, 3, 2, weights, grads[1]);
    otad_kernel k = otad_kernel_heat(t, g, otad_param(t, 17, 1, w, grads[2]), 0.2, 3);
    double seed[24];
    for (int i = 0; i < 24; i++)
        seed[i] = sin(i);
    otad_var y = otad_dot(t, otad_barycenter(t, k, a, lambda, &o), otad_const(t, 12, 2, seed));
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    otad_tape_free(&t);
}

/* Off the simplex the iteration has no fixed point (b is rescaled at every
 * iteration), so only derivatives along weight changes that keep each
 * column's sum compare: the gradient with each column's mean taken off. */
static void center_columns(double *x, size_t rows, size_t cols)
{
    for (size_t j = 0; j < cols; j++) {
        double mean = 0;
        for (size_t i = 0; i < rows; i++)
            mean += x[i + j * rows] / (double)rows;
        for (size_t i = 0; i < rows; i++)
            x[i + j * rows] -= mean;
    }
}

/* CHECKPOINT repeats UNROLL's computation (equal to rounding); IMPLICIT
 * differentiates the fixed point, which 300 iterations reach: equal to the
 * adjoint's residual (at most 1e-10 of x̄) amplified by the conditioning of
 * I − Jᵀ (1e-9 measured), within 1e-8; with the adjoint solved to 1e-14,
 * within 1e-11. */
static void test_gradient_modes_agree(void **state)
{
    (void)state;
    otad_graph *g = NULL;
    assert_int_equal(otad_graph_grid2d(&g, 4, 3, NULL), OTAD_OK);
    double *inputs = random_matrix(1, 12, 3, 0.2, 1), weights[6] = {0.2, 0.5, 0.3, 0.6, 0.1, 0.3};
    double *w = random_matrix(3, 17, 1, 0.5, 2), ref[3][36], got[3][36];
    double *r[3] = {ref[0], ref[1], ref[2]}, *o[3] = {got[0], got[1], got[2]};
    const size_t sizes[3] = {36, 6, 17};
    barycenter_gradients(OTAD_UNROLL, 0, inputs, weights, w, g, r);
    center_columns(ref[1], 3, 2);
    for (int mode = OTAD_CHECKPOINT; mode <= OTAD_IMPLICIT; mode++) {
        barycenter_gradients((otad_grad_mode)mode, 0, inputs, weights, w, g, o);
        center_columns(got[1], 3, 2);
        for (int i = 0; i < 3; i++)
            assert_rel_close(mode == OTAD_CHECKPOINT ? "checkpoint" : "implicit", got[i], ref[i],
                             sizes[i], mode == OTAD_CHECKPOINT ? 1e-13 : 1e-8);
    }
    barycenter_gradients(OTAD_IMPLICIT, 1e-14, inputs, weights, w, g, o);
    center_columns(got[1], 3, 2);
    for (int i = 0; i < 3; i++)
        assert_rel_close("implicit, adjoint to 1e-14", got[i], ref[i], sizes[i], 1e-11);
    free(inputs), free(w);
    otad_graph_free(&g);
}

static void test_errors(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    const size_t shape[1] = {5};
    otad_kernel k = otad_kernel_grid(t, 1, shape, 0.1);
    otad_barycenter(t, k, otad_const_fill(t, 5, 2, 0.2), otad_const_fill(t, 3, 1, 0.5), NULL);
    assert_int_equal(otad_tape_status(t), OTAD_ESHAPE);
    otad_tape_reset(t);
    k = otad_kernel_grid(t, 1, shape, 0.1);
    otad_var a = otad_const_fill(t, 5, 2, -0.2);
    otad_barycenter(t, k, a, otad_const_fill(t, 2, 1, 0.5), NULL);
    assert_string_equal(otad_tape_message(t),
                        "barycenter: input 0 has entry -0.2 at row 0, must be non-negative");
    otad_tape_reset(t);
    /* ε so small that K v underflows between far-apart masses */
    double far[10] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    k = otad_kernel_grid(t, 1, shape, 1e-4);
    otad_barycenter(t, k, otad_const(t, 5, 2, far), otad_const_fill(t, 2, 1, 0.5), NULL);
    assert_int_equal(otad_tape_status(t), OTAD_ERANGE);
    assert_non_null(strstr(otad_tape_message(t), "use the log domain"));
    otad_tape_free(&t);
}

/* IMPLICIT differentiates the fixed point, which exists only when each
 * weight column sums to 1: otherwise b is rescaled at every iteration. */
static void test_implicit_needs_weights_summing_to_one(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    const size_t shape[1] = {5};
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.mode = OTAD_IMPLICIT;
    double off[4] = {0.5, 0.5, 0.3, 0.3}, grad[4];
    otad_kernel k = otad_kernel_grid(t, 1, shape, 0.1);
    otad_var bary = otad_barycenter(t, k, otad_const_fill(t, 5, 2, 0.2),
                                    otad_param(t, 2, 2, off, grad), &o);
    assert_false(otad_var_valid(bary));
    assert_tape_failed(t, OTAD_EDOMAIN, "barycenter: weights column 1 sums to 0.6, must sum "
                                        "to 1");
    /* the other modes take any weights */
    o.mode = OTAD_UNROLL;
    k = otad_kernel_grid(t, 1, shape, 0.1);
    otad_barycenter(t, k, otad_const_fill(t, 5, 2, 0.2), otad_const(t, 2, 2, off), &o);
    assert_tape_ok(t);
    otad_tape_reset(t);
    /* weights from a softmax, and off 1 by rounding, pass */
    o.mode = OTAD_IMPLICIT;
    double logits[6] = {0.3, -1.2, 2.5, 0.1, 0.2, -0.7};
    double rounded[3] = {0.1, 0.2, 0.7 + 4e-16};
    k = otad_kernel_grid(t, 1, shape, 0.1);
    otad_var lambda = otad_softmax(t, otad_const(t, 3, 2, logits));
    otad_var y = otad_sum(t, otad_barycenter(t, k, otad_const_fill(t, 5, 3, 0.2), lambda, &o));
    otad_barycenter(t, k, otad_const_fill(t, 5, 3, 0.2), otad_const(t, 3, 1, rounded), &o);
    assert_int_equal(otad_backward(t, y), OTAD_OK);
    otad_tape_free(&t);
}

/* Each option out of its range is refused by name, with the range. */
static void test_options_out_of_range(void **state)
{
    (void)state;
    otad_tape *t = new_tape();
    const size_t shape[1] = {5};
    for (int k = 0; k < 5; k++) {
        otad_barycenter_opts o;
        otad_barycenter_opts_init(&o);
        const char *words = NULL;
        switch (k) {
        case 0: o.iterations = 0, words = "barycenter: iterations is 0, must be at least 1"; break;
        case 1: o.log_domain = -1, words = "barycenter: log_domain is -1, must be 0 or 1"; break;
        case 2: o.mode = OTAD_ENVELOPE, words = "barycenter: mode is 3, must be OTAD_UNROLL, "
                                                "OTAD_CHECKPOINT or OTAD_IMPLICIT"; break;
        case 3: o.mode = (otad_grad_mode)-4, words = "barycenter: mode is -4"; break;
        case 4: o.adjoint_tolerance = INFINITY, words = "barycenter: adjoint_tolerance is inf, "
                                                        "must be finite and ≥ 0"; break;
        }
        otad_kernel k2 = otad_kernel_grid(t, 1, shape, 0.1);
        assert_false(otad_var_valid(otad_barycenter(t, k2, otad_const_fill(t, 5, 2, 0.2),
                                                    otad_const_fill(t, 2, 1, 0.5), &o)));
        assert_tape_failed(t, OTAD_EINVAL, words);
    }
    otad_tape_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_w2_reference),
        cmocka_unit_test(test_w3_frames),
        cmocka_unit_test(test_w3_energy_gradient),
        cmocka_unit_test(test_gradients),
        cmocka_unit_test(test_gradients_dense),
        cmocka_unit_test(test_gradient_modes_agree),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_implicit_needs_weights_summing_to_one),
        cmocka_unit_test(test_options_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
