/* Values of a solved Sinkhorn problem, and the losses built on them. */
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

otad_var otad_sinkhorn_cost(otad_tape *t, const otad_sinkhorn *s)
{
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

otad_var otad_sinkhorn_dual(otad_tape *t, const otad_sinkhorn *s)
{
    otad_var sum = otad_add(t, weighted_log(t, s, s->a, s->u), weighted_log(t, s, s->b, s->v));
    return otad_scale(t, sum, eps_of(t, s));
}

otad_var otad_sinkhorn_entropic(otad_tape *t, const otad_sinkhorn *s)
{
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
