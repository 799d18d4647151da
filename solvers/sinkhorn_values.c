/* Values of a solved Sinkhorn problem, and the losses built on them. */
#include "../ad/args.h"
#include "solvers.h"

static otad_var apply(otad_tape *t, const otad_sinkhorn *s, unsigned product, otad_var x)
{
    return s->log_domain ? otad_kernel_apply_log(t, s->kernel, product, x)
                         : otad_kernel_apply(t, s->kernel, product, x);
}

/* u ⊙ (op(K) v): the row sums of P = diag(u) op(K) diag(v), or their logs. */
static otad_var scaled_product(otad_tape *t, const otad_sinkhorn *s, unsigned product,
                               otad_var u, otad_var v)
{
    otad_var kv = apply(t, s, product, v);
    return s->log_domain ? otad_add(t, u, kv) : otad_mul(t, u, kv);
}

/* A value needs a solved problem: NULL is refused as solve refuses a NULL
 * result struct, before anything reads it. */
static int no_problem(otad_tape *t, const otad_sinkhorn *s, const char *function)
{
    otad_error e;
    int rc = s ? otadV_enum(&e, function, "s->mode", (int)s->mode, OTAD_UNROLL, OTAD_ENVELOPE,
                            "UNROLL, CHECKPOINT, IMPLICIT or ENVELOPE")
               : otad_error_set(&e, OTAD_EINVAL, "%s: no solved problem (s is NULL)", function);
    if (rc == OTAD_OK)
        rc = otadV_int_range(&e, function, "s->log_domain", s->log_domain, 0, 1);
    if (rc == OTAD_OK)
        return 0;
    otadV_on_tape(t, rc, &e);
    return 1;
}

static int no_envelope(otad_tape *t, const otad_sinkhorn *s, const char *value)
{
    if (s->mode != OTAD_ENVELOPE)
        return 0;
    otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: the envelope gradient exists for the dual value "
                   "only, not the %s", value);
    return 1;
}

otad_var otad_sinkhorn_cost(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_cost") || no_envelope(t, s, "transport cost"))
        return (otad_var){0, 0};
    otad_var rows = scaled_product(t, s, OTAD_KERNEL_COST, s->u, s->v);
    return otad_sum_cols(t, s->log_domain ? otad_exp(t, rows) : rows);
}

/* Σ_i x_i·log y_i per column, with y given as its log in the log domain. */
static otad_var weighted_log(otad_tape *t, const otad_sinkhorn *s, otad_var x, otad_var y)
{
    return otad_sum_cols(t, s->log_domain ? otad_mul(t, x, y) : otad_xlogy(t, x, y));
}

static double eps_of(otad_tape *t, const otad_sinkhorn *s)
{
    return otad_kernel_info_of(t, s->kernel).eps;
}

/* Danskin (seed 002, "Differentiability of regularized OT"): at the optimum
 * the dual max_{f,g} ⟨f,a⟩ + ⟨g,b⟩ − ε⟨e^{f/ε}, K e^{g/ε}⟩ has the gradient of
 * its objective with f = ε log u, g = ε log v held fixed.  So record
 *     ε (⟨a, log u⟩ + ⟨b, log v⟩ − ⟨u, K v⟩ + c),  c the value of ⟨u, K v⟩,
 * with u, v constants: its value is the dual, its gradient ∇_a = ε log u,
 * ∇_b = ε log v and, through K, ∇_C = P. */
static otad_var envelope_dual(otad_tape *t, const otad_sinkhorn *s)
{
    otad_value vu = otad_value_of(t, s->u), vv = otad_value_of(t, s->v);
    if (!vu.data || !vv.data)
        return (otad_var){0, 0};
    otad_sinkhorn fixed = *s;
    fixed.u = otad_const_copy(t, vu.rows, vu.cols, vu.data);
    fixed.v = otad_const_copy(t, vv.rows, vv.cols, vv.data);
    otad_var mass = scaled_product(t, &fixed, 0, fixed.u, fixed.v);
    mass = otad_sum_cols(t, s->log_domain ? otad_exp(t, mass) : mass);
    otad_value vm = otad_value_of(t, mass);
    otad_var held = vm.data ? otad_const_copy(t, vm.rows, vm.cols, vm.data) : (otad_var){0, 0};
    otad_var sum = otad_add(t, weighted_log(t, s, s->a, fixed.u),
                            weighted_log(t, s, s->b, fixed.v));
    sum = otad_add(t, sum, otad_sub(t, held, mass));
    return otad_scale(t, sum, eps_of(t, s));
}

otad_var otad_sinkhorn_dual(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_dual"))
        return (otad_var){0, 0};
    if (s->mode == OTAD_ENVELOPE)
        return envelope_dual(t, s);
    otad_var sum = otad_add(t, weighted_log(t, s, s->a, s->u), weighted_log(t, s, s->b, s->v));
    return otad_scale(t, sum, eps_of(t, s));
}

otad_var otad_sinkhorn_entropic(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_entropic") || no_envelope(t, s, "entropic value"))
        return (otad_var){0, 0};
    otad_var p1 = scaled_product(t, s, 0, s->u, s->v);
    otad_var pt1 = scaled_product(t, s, OTAD_KERNEL_TRANSPOSE, s->v, s->u);
    if (s->log_domain)
        p1 = otad_exp(t, p1), pt1 = otad_exp(t, pt1);
    otad_var sum = otad_add(t, weighted_log(t, s, p1, s->u), weighted_log(t, s, pt1, s->v));
    return otad_scale(t, sum, eps_of(t, s));
}

static otad_var value_of(otad_tape *t, const otad_sinkhorn *s, otad_sinkhorn_value value)
{
    switch (value) {
    case OTAD_SINKHORN_COST: return otad_sinkhorn_cost(t, s);
    case OTAD_SINKHORN_DUAL: return otad_sinkhorn_dual(t, s);
    case OTAD_SINKHORN_ENTROPIC: return otad_sinkhorn_entropic(t, s);
    }
    otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: unknown value %d", (int)value);
    return (otad_var){0, 0};
}

otad_var otad_sinkhorn_loss(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                            const otad_sinkhorn_opts *opts, otad_sinkhorn_value value)
{
    otad_sinkhorn s;
    if (otad_sinkhorn_solve(t, k, a, b, opts, &s) != OTAD_OK)
        return (otad_var){0, 0};
    return value_of(t, &s, value);
}

otad_var otad_sinkhorn_divergence(otad_tape *t, otad_kernel k_ab, otad_kernel k_aa,
                                  otad_kernel k_bb, otad_var a, otad_var b,
                                  const otad_sinkhorn_opts *opts, otad_sinkhorn_value value)
{
    otad_var ab = otad_sinkhorn_loss(t, k_ab, a, b, opts, value);
    otad_var aa = otad_sinkhorn_loss(t, k_aa, a, a, opts, value);
    otad_var bb = otad_sinkhorn_loss(t, k_bb, b, b, opts, value);
    otad_var self = otad_scale(t, otad_add(t, aa, bb), 0.5);
    return otad_sub(t, ab, self);
}
