/* The gradient conventions of the Sinkhorn values to the weights: POT 0.8's
 * sinkhorn2 and emd2 gradients (tests/data/conventions_pot.py), the identities
 * that tell the conventions apart in every value and mode, values and the
 * points' gradient unchanged (the errors are in test_arguments.c's table). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 6, M = 5, B = 2 };

static const double eps = 0.1;

typedef struct reference {
    otad_value x, y, a, b;
} reference;

static reference reference_load(void)
{
    return (reference){load_reference("conventions/x"), load_reference("conventions/y"),
                       load_reference("conventions/a"), load_reference("conventions/b")};
}

static void reference_free(reference *r)
{
    free(r->x.data), free(r->y.data), free(r->a.data), free(r->b.data);
}

/* A POT function's values (B) and gradients to a (N×B) and b (M×B):
 * conventions/<name>, <name>_grad_a and <name>_grad_b. */
typedef struct pot_result {
    otad_value value, ga, gb;
} pot_result;

static pot_result pot_load(const char *name)
{
    char path[3][64];
    snprintf(path[0], sizeof path[0], "conventions/%s", name);
    snprintf(path[1], sizeof path[1], "conventions/%s_grad_a", name);
    snprintf(path[2], sizeof path[2], "conventions/%s_grad_b", name);
    return (pot_result){load_reference(path[0]), load_reference(path[1]),
                        load_reference(path[2])};
}

static void pot_free(pot_result *p)
{
    free(p->value.data), free(p->ga.data), free(p->gb.data);
}

typedef struct gradients {
    double value[B];
    double ga[N * B], gb[M * B], gx[N * 2];
} gradients;

static otad_sinkhorn_opts converged(otad_grad_mode mode, otad_gradient_convention convention)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.mode = mode;
    o.iterations = 20000;
    o.tolerance = 1e-15;
    o.check_every = 1;
    o.convention = convention;
    return o;
}

/* The value of both columns and the gradients of their sum, on a fresh tape;
 * divergence: the debiased divergence instead of the loss. */
static gradients evaluate(const reference *r, const otad_sinkhorn_opts *o,
                          otad_sinkhorn_value value, int divergence)
{
    gradients g = {0};
    otad_tape *t = new_tape();
    otad_var x = otad_param(t, N, 2, r->x.data, g.gx), y = otad_const(t, M, 2, r->y.data);
    otad_var a = otad_param(t, N, B, r->a.data, g.ga), b = otad_param(t, M, B, r->b.data, g.gb);
    otad_var w;
    if (divergence)
        w = otad_sinkhorn_divergence(t, otad_kernel_gibbs_points(t, x, y, eps),
                                     otad_kernel_gibbs_points(t, x, x, eps),
                                     otad_kernel_gibbs_points(t, y, y, eps), a, b, o, value);
    else
        w = otad_sinkhorn_loss(t, otad_kernel_gibbs_points(t, x, y, eps), a, b, o, value);
    assert_int_equal(otad_backward(t, otad_sum(t, w)), OTAD_OK);
    assert_tape_ok(t);
    memcpy(g.value, otad_value_of(t, w).data, sizeof g.value);
    otad_tape_free(&t);
    return g;
}

static double column_dot(const double *g, const double *w, size_t rows, size_t col)
{
    double s = 0;
    for (size_t i = 0; i < rows; i++)
        s += g[i + col * rows] * w[i + col * rows];
    return s;
}

static double column_sum(const double *g, size_t rows, size_t col)
{
    double s = 0;
    for (size_t i = 0; i < rows; i++)
        s += g[i + col * rows];
    return s;
}

/* g minus its column means. */
static void centre(const double *g, size_t rows, double *out)
{
    for (size_t col = 0; col < B; col++)
        for (size_t i = 0; i < rows; i++)
            out[i + col * rows] = g[i + col * rows] - column_sum(g, rows, col) / rows;
}

/* Both converged to rounding (POT to its threshold 1e-15, ours to 1e-15):
 * the cost and the gradients agree to rounding (measured 9e-15). */
static void test_pot_sinkhorn2(void **state)
{
    (void)state;
    reference r = reference_load();
    pot_result ref = pot_load("sinkhorn2");
    const otad_grad_mode modes[] = {OTAD_UNROLL, OTAD_IMPLICIT};
    for (size_t m = 0; m < 2; m++) {
        otad_sinkhorn_opts o = converged(modes[m], OTAD_GRADIENT_POT);
        gradients pot = evaluate(&r, &o, OTAD_SINKHORN_COST, 0);
        assert_rel_close("cost", pot.value, ref.value.data, B, 1e-14);
        assert_rel_close("POT convention, gradient to a", pot.ga, ref.ga.data, N * B, 1e-13);
        assert_rel_close("POT convention, gradient to b", pot.gb, ref.gb.data, M * B, 1e-13);
        o.convention = OTAD_GRADIENT_CENTRED;
        gradients centred = evaluate(&r, &o, OTAD_SINKHORN_COST, 0);
        double ref_a[N * B], ref_b[M * B];
        centre(ref.ga.data, N, ref_a), centre(ref.gb.data, M, ref_b);
        assert_rel_close("centred gradient to a", centred.ga, ref_a, N * B, 1e-13);
        assert_rel_close("centred gradient to b", centred.gb, ref_b, M * B, 1e-13);
        print_message("%s against POT's sinkhorn2: cost %.1e, gradients to a %.1e, to b %.1e\n",
                      m ? "IMPLICIT" : "UNROLL", max_rel_diff(pot.value, ref.value.data, B),
                      max_rel_diff(pot.ga, ref.ga.data, N * B),
                      max_rel_diff(pot.gb, ref.gb.data, M * B));
    }
    reference_free(&r);
    pot_free(&ref);
}

/* The dual's envelope gradient, centred: POT's potentials ε log u, ε log v,
 * centred. */
static void test_pot_potentials(void **state)
{
    (void)state;
    reference r = reference_load();
    otad_value fa = load_reference("conventions/potential_a");
    otad_value fb = load_reference("conventions/potential_b");
    otad_sinkhorn_opts o = converged(OTAD_ENVELOPE, OTAD_GRADIENT_CENTRED);
    gradients centred = evaluate(&r, &o, OTAD_SINKHORN_DUAL, 0);
    assert_rel_close("centred dual gradient to a", centred.ga, fa.data, N * B, 1e-12);
    assert_rel_close("centred dual gradient to b", centred.gb, fb.data, M * B, 1e-12);
    print_message("ENVELOPE dual, centred, against POT's centred potentials: %.1e, %.1e\n",
                  max_rel_diff(centred.ga, fa.data, N * B),
                  max_rel_diff(centred.gb, fb.data, M * B));
    reference_free(&r);
    free(fa.data), free(fb.data);
}

/* otad_emd_cost centres its potentials as emd2 does; the masses 1 and 1.5. */
static void test_pot_emd2(void **state)
{
    (void)state;
    reference r = reference_load();
    pot_result ref = pot_load("emd2");
    for (size_t col = 0; col < B; col++) {
        double grad_a[N] = {0}, grad_b[M] = {0};
        otad_tape *t = new_tape();
        otad_var c = otad_sqdist(t, otad_const(t, N, 2, r.x.data), otad_const(t, M, 2, r.y.data));
        otad_var w = otad_emd_cost(t, otad_param(t, N, 1, r.a.data + col * N, grad_a),
                                   otad_param(t, M, 1, r.b.data + col * M, grad_b), c, NULL);
        assert_int_equal(otad_backward(t, w), OTAD_OK);
        assert_rel_close("emd cost", &otad_value_of(t, w).data[0], &ref.value.data[col], 1,
                         1e-14);
        assert_rel_close("emd gradient to a", grad_a, ref.ga.data + col * N, N, 1e-13);
        assert_rel_close("emd gradient to b", grad_b, ref.gb.data + col * M, M, 1e-13);
        otad_tape_free(&t);
    }
    reference_free(&r);
    pot_free(&ref);
}

/* In every value and mode: the same values and gradient to the points to
 * rounding, gradients to a and b that differ from NATIVE's by a constant per
 * column, and each convention's identities: POT ⟨∇_a, a⟩ = W and
 * ⟨∇_b, b⟩ = 0 (for the divergence, whose three terms each follow it, only
 * their sum is W), CENTRED Σ∇ = 0; NATIVE's where docs/guide.md states them. */
static void check_conventions(const reference *r, otad_grad_mode mode, otad_sinkhorn_value value,
                              int divergence, const char *name)
{
    otad_sinkhorn_opts o = converged(mode, OTAD_GRADIENT_NATIVE);
    gradients native = evaluate(r, &o, value, divergence);
    o.convention = OTAD_GRADIENT_POT;
    gradients pot = evaluate(r, &o, value, divergence);
    o.convention = OTAD_GRADIENT_CENTRED;
    gradients centred = evaluate(r, &o, value, divergence);
    const gradients *other[2] = {&pot, &centred};
    double native_a[N * B], native_b[M * B];
    centre(native.ga, N, native_a), centre(native.gb, M, native_b);
    for (size_t k = 0; k < 2; k++) {
        assert_rel_close("value", other[k]->value, native.value, B, 1e-15);
        assert_rel_close("gradient to the points", other[k]->gx, native.gx, N * 2, 1e-13);
        double ca[N * B], cb[M * B];
        centre(other[k]->ga, N, ca), centre(other[k]->gb, M, cb);
        assert_rel_close("gradient to a along Σδ = 0", ca, native_a, N * B, 1e-12);
        assert_rel_close("gradient to b along Σδ = 0", cb, native_b, M * B, 1e-12);
    }
    for (size_t col = 0; col < B; col++) {
        double w = pot.value[col], scale = fabs(w) + 1e-3;
        double along_a = column_dot(pot.ga, r->a.data, N, col);
        double along_b = column_dot(pot.gb, r->b.data, M, col);
        if (divergence)
            assert_true(fabs(along_a + along_b - w) <= 1e-12 * scale);
        else
            assert_true(fabs(along_a - w) <= 1e-12 * scale && fabs(along_b) <= 1e-12 * scale);
        assert_true(fabs(column_sum(centred.ga, N, col)) <= 1e-13 * scale);
        assert_true(fabs(column_sum(centred.gb, M, col)) <= 1e-13 * scale);
    }
    /* NATIVE's: the plan values do not change when a is scaled, the cost
     * scales with b */
    int plan_value = !divergence && (value == OTAD_SINKHORN_COST ||
                                      value == OTAD_SINKHORN_ENTROPIC);
    for (size_t col = 0; plan_value && col < B; col++) {
        double scale = fabs(native.value[col]) + 1e-3;
        assert_true(fabs(column_dot(native.ga, r->a.data, N, col)) <= 1e-12 * scale);
        if (value == OTAD_SINKHORN_COST)
            assert_true(fabs(column_dot(native.gb, r->b.data, M, col) - native.value[col]) <=
                        1e-12 * scale);
    }
    print_message("%-10s %-10s W = %8.5f  NATIVE <grad_a, a> = %9.2e  <grad_b, b> = %9.2e\n",
                  name, mode == OTAD_UNROLL ? "UNROLL" : mode == OTAD_CHECKPOINT ? "CHECKPOINT"
                  : mode == OTAD_IMPLICIT ? "IMPLICIT" : "ENVELOPE", native.value[0],
                  column_dot(native.ga, r->a.data, N, 0), column_dot(native.gb, r->b.data, M, 0));
}

static void test_every_value_and_mode(void **state)
{
    (void)state;
    reference r = reference_load();
    const struct {
        otad_sinkhorn_value value;
        const char *name;
    } values[] = {{OTAD_SINKHORN_COST, "cost"}, {OTAD_SINKHORN_DUAL, "dual"},
                  {OTAD_SINKHORN_ENTROPIC, "entropic"}, {OTAD_SINKHORN_KL_PRIMAL, "kl_primal"},
                  {OTAD_SINKHORN_KL_DUAL, "kl_dual"}};
    const otad_grad_mode modes[] = {OTAD_UNROLL, OTAD_CHECKPOINT, OTAD_IMPLICIT};
    for (size_t v = 0; v < sizeof values / sizeof *values; v++)
        for (size_t m = 0; m < 3; m++)
            check_conventions(&r, modes[m], values[v].value, 0, values[v].name);
    check_conventions(&r, OTAD_ENVELOPE, OTAD_SINKHORN_DUAL, 0, "dual");
    check_conventions(&r, OTAD_ENVELOPE, OTAD_SINKHORN_KL_DUAL, 0, "kl_dual");
    check_conventions(&r, OTAD_IMPLICIT, OTAD_SINKHORN_DUAL, 1, "divergence");
    reference_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pot_sinkhorn2),
        cmocka_unit_test(test_pot_potentials),
        cmocka_unit_test(test_pot_emd2),
        cmocka_unit_test(test_every_value_and_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
