/* Values of a solved Sinkhorn problem, and the losses built on them. */
#include <math.h>

#include "../ad/args.h"
#include "solvers_internal.h"

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
    otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: the envelope gradient exists for the dual values "
                   "(dual, kl_dual) only, not the %s", value);
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

/* Danskin's theorem (Danskin 1967): at the optimum
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

/* The solver ran the unbalanced updates (a ρ finite, and ρ/(ρ + ε) not 1
 * in doubles: else it ran, and the values take it, as the constraint). */
static int is_unbalanced(const otad_sinkhorn *s)
{
    return otad_var_valid(s->ru);
}

otad_var otad_sinkhorn_dual(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_dual"))
        return (otad_var){0, 0};
    if (is_unbalanced(s)) {
        otad_tape_fail(t, OTAD_EINVAL, "sinkhorn_dual: the dual of the balanced problem; an "
                       "unbalanced one has otad_sinkhorn_kl_dual");
        return (otad_var){0, 0};
    }
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

/* ---- the values of the problem with ε KL(P | a⊗b) ---------------------------- */

/* P1 (product 0) or Pᵀ1, exponentiated in the log domain. */
static otad_var marginal(otad_tape *t, const otad_sinkhorn *s, unsigned product)
{
    otad_var m = product ? scaled_product(t, s, product, s->v, s->u)
                         : scaled_product(t, s, 0, s->u, s->v);
    return s->log_domain ? otad_exp(t, m) : m;
}

/* Σ_i x_i log(u_i/a_i) per column, for u the scaling and a the mass: from
 * the solver's ratio u/a where it has one (unbalanced), else 0·log 0 = 0. */
static otad_var weighted_log_ratio(otad_tape *t, const otad_sinkhorn *s, otad_var x,
                                   otad_var scaling, otad_var mass, otad_var ratio)
{
    if (otad_var_valid(ratio))
        return otad_sum_cols(t, otad_mul(t, x, s->log_domain ? ratio : otad_log(t, ratio)));
    if (s->log_domain)
        return otad_sum_cols(t, otad_mul(t, x, otad_sub(t, scaling, otad_log(t, mass))));
    return otad_sum_cols(t, otad_sub(t, otad_xlogy(t, x, scaling), otad_xlogy(t, x, mass)));
}

/* m(a) m(b) − m(P), per column. */
static otad_var mass_gap(otad_tape *t, const otad_sinkhorn *s, otad_var mass_p)
{
    return otad_sub(t, otad_mul(t, otad_sum_cols(t, s->a), otad_sum_cols(t, s->b)), mass_p);
}

/* u ⊙ kv, or exp(log u + log kv) in the log domain. */
static otad_var times(otad_tape *t, const otad_sinkhorn *s, otad_var u, otad_var kv)
{
    return s->log_domain ? otad_exp(t, otad_add(t, u, kv)) : otad_mul(t, u, kv);
}

/* ρ KL(P1 | a) = ρ Σ a (t log t − t + 1), t = P1/a = e^w, per column, with
 * w = log(u/a) + log(K v) (finite where a mass is 0), and each term as
 * w + (e^w − 1)(w − 1): a near-balanced P1 makes it about w²/2, which a
 * sum of terms near ±w would lose to rounding, ρ times over. */
static otad_var penalty(otad_tape *t, const otad_sinkhorn *s, otad_var kv, otad_var mass,
                        otad_var ratio, double rho)
{
    otad_var w = s->log_domain ? otad_add(t, ratio, kv) : otad_log(t, otad_mul(t, ratio, kv));
    otad_var w_minus_1 = otad_add(t, w, otad_const_fill(t, 1, 1, -1));
    otad_var terms = otad_add(t, w, otad_mul(t, otad_expm1(t, w), w_minus_1));
    return otad_scale(t, otad_sum_cols(t, otad_mul(t, mass, terms)), rho);
}

/* A marginal the solver relaxed. */
static int relaxed(const otad_sinkhorn *s, double rho)
{
    return is_unbalanced(s) && isfinite(rho);
}

otad_var otad_sinkhorn_kl_primal(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_kl_primal") || no_envelope(t, s, "KL primal value"))
        return (otad_var){0, 0};
    otad_var kv = apply(t, s, 0, s->v), ktu = apply(t, s, OTAD_KERNEL_TRANSPOSE, s->u);
    otad_var p1 = times(t, s, s->u, kv), pt1 = times(t, s, s->v, ktu);
    otad_var sum = otad_add(t, weighted_log_ratio(t, s, p1, s->u, s->a, s->ru),
                            weighted_log_ratio(t, s, pt1, s->v, s->b, s->rv));
    otad_var value = otad_scale(t, otad_add(t, sum, mass_gap(t, s, otad_sum_cols(t, p1))),
                                eps_of(t, s));
    if (relaxed(s, s->rho_a))
        value = otad_add(t, value, penalty(t, s, kv, s->a, s->ru, s->rho_a));
    if (relaxed(s, s->rho_b))
        value = otad_add(t, value, penalty(t, s, ktu, s->b, s->rv, s->rho_b));
    return value;
}

/* Σ_i a_i φ(f_i) per column, φ(f) = ρ (1 − e^(−f/ρ)), or f where ρ = ∞ (or
 * where the solver, ρ/(ρ + ε) being 1 in doubles, had no ratio), from
 * log_ratio = f/ε. */
static otad_var dual_term(otad_tape *t, const otad_sinkhorn *s, otad_var mass,
                          otad_var log_ratio, double rho, int penalised)
{
    double eps = eps_of(t, s);
    if (!penalised)
        return otad_scale(t, otad_sum_cols(t, otad_mul(t, mass, log_ratio)), eps);
    /* ρ (1 − e^(−f/ρ)) = −ρ expm1(−f/ρ): no cancellation where f ≪ ρ */
    otad_var decay = otad_expm1(t, otad_scale(t, log_ratio, -eps / rho));
    return otad_scale(t, otad_sum_cols(t, otad_mul(t, mass, decay)), -rho);
}

/* log(u/a) as a constant: from the ratio where the solver has one, else
 * log u − log a, and −log (K v) where a is 0 (the potential there, to
 * which the gradient to a_i = 0 is owed). */
static otad_var held_log_ratio(otad_tape *t, const otad_sinkhorn *s, unsigned product,
                               otad_var scaling, otad_var mass, otad_var ratio, otad_var other)
{
    otad_value vs = otad_value_of(t, otad_var_valid(ratio) ? ratio : scaling);
    otad_value vm = otad_value_of(t, mass);
    if (!vs.data || !vm.data)
        return (otad_var){0, 0};
    size_t count = vs.rows * vs.cols;
    double *held = otad_tape_alloc(t, count * sizeof *held);
    if (!held)
        return (otad_var){0, 0};
    int zeros = 0;
    for (size_t k = 0; k < count; k++) {
        double m = vm.data[vm.cols == 1 ? k % vs.rows : k], x = vs.data[k];
        if (otad_var_valid(ratio))
            held[k] = s->log_domain ? x : log(x);
        else if (s->log_domain)
            held[k] = x - log(m);
        else if (m > 0)
            held[k] = log(x) - log(m);
        else
            zeros = 1;
    }
    if (zeros) { /* only in the scaling domain: the log domain needs positive masses */
        otad_value vk = otad_value_of(t, apply(t, s, product, other));
        if (!vk.data)
            return (otad_var){0, 0};
        for (size_t k = 0; k < count; k++)
            if (!(vm.data[vm.cols == 1 ? k % vs.rows : k] > 0))
                held[k] = -log(vk.data[k]);
    }
    return otad_const_copy(t, vs.rows, vs.cols, held);
}

/* Danskin, as envelope_dual: the KL dual with f and g held, a, b and K free. */
static otad_var envelope_kl_dual(otad_tape *t, const otad_sinkhorn *s, int relaxed_a,
                                 int relaxed_b)
{
    otad_var lra = held_log_ratio(t, s, 0, s->u, s->a, s->ru, s->v);
    otad_var lrb = held_log_ratio(t, s, OTAD_KERNEL_TRANSPOSE, s->v, s->b, s->rv, s->u);
    otad_sinkhorn held = *s;
    if (s->log_domain) {
        held.u = otad_add(t, otad_log(t, s->a), lra);
        held.v = otad_add(t, otad_log(t, s->b), lrb);
    } else {
        held.u = otad_mul(t, s->a, otad_exp(t, lra));
        held.v = otad_mul(t, s->b, otad_exp(t, lrb));
    }
    otad_var sum = otad_add(t, dual_term(t, s, s->a, lra, s->rho_a, relaxed_a),
                            dual_term(t, s, s->b, lrb, s->rho_b, relaxed_b));
    otad_var gap = mass_gap(t, s, otad_sum_cols(t, marginal(t, &held, 0)));
    return otad_add(t, sum, otad_scale(t, gap, eps_of(t, s)));
}

otad_var otad_sinkhorn_kl_dual(otad_tape *t, const otad_sinkhorn *s)
{
    if (no_problem(t, s, "sinkhorn_kl_dual"))
        return (otad_var){0, 0};
    int relaxed_a = relaxed(s, s->rho_a), relaxed_b = relaxed(s, s->rho_b);
    if (s->mode == OTAD_ENVELOPE)
        return envelope_kl_dual(t, s, relaxed_a, relaxed_b);
    otad_var lra, lrb, sum;
    if (otad_var_valid(s->ru)) { /* unbalanced: the solver's ratios */
        lra = s->log_domain ? s->ru : otad_log(t, s->ru);
        lrb = s->log_domain ? s->rv : otad_log(t, s->rv);
        sum = otad_add(t, dual_term(t, s, s->a, lra, s->rho_a, relaxed_a),
                       dual_term(t, s, s->b, lrb, s->rho_b, relaxed_b));
    } else {
        sum = otad_scale(t, otad_add(t, weighted_log_ratio(t, s, s->a, s->u, s->a, s->ru),
                                     weighted_log_ratio(t, s, s->b, s->v, s->b, s->rv)),
                         eps_of(t, s));
    }
    otad_var gap = mass_gap(t, s, otad_sum_cols(t, marginal(t, s, 0)));
    return otad_add(t, sum, otad_scale(t, gap, eps_of(t, s)));
}

static otad_var value_of(otad_tape *t, const otad_sinkhorn *s, otad_sinkhorn_value value)
{
    switch (value) {
    case OTAD_SINKHORN_COST: return otad_sinkhorn_cost(t, s);
    case OTAD_SINKHORN_DUAL: return otad_sinkhorn_dual(t, s);
    case OTAD_SINKHORN_ENTROPIC: return otad_sinkhorn_entropic(t, s);
    case OTAD_SINKHORN_KL_PRIMAL: return otad_sinkhorn_kl_primal(t, s);
    case OTAD_SINKHORN_KL_DUAL: return otad_sinkhorn_kl_dual(t, s);
    }
    otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: unknown value %d", (int)value);
    return (otad_var){0, 0};
}

/* x's value as a constant. */
static otad_var held(otad_tape *t, otad_var x)
{
    otad_value v = otad_value_of(t, x);
    return v.data ? otad_const_copy(t, v.rows, v.cols, v.data) : (otad_var){0, 0};
}

/* A factor whose value is exactly 1 and whose gradient is that of x / x₀. */
static otad_var unit_ratio(otad_tape *t, otad_var x)
{
    return otad_div(t, x, held(t, x));
}

/* A term whose value is exactly 0 and whose gradient is that of x − x₀. */
static otad_var zero_difference(otad_tape *t, otad_var x)
{
    return otad_sub(t, x, held(t, x));
}

/* The conventions of solvers.h, by factors that leave every value as it is:
 * POT's is W̃(a, b) = m(a)·W(a/m(a), b/m(b)), homogeneous of degree 1 in a
 * and of degree 0 in b; CENTRED projects each gradient on Σδ = 0. */
static otad_var loss_as(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                       const otad_sinkhorn_opts *opts, int role, otad_sinkhorn_value value)
{
    otad_gradient_convention convention = opts ? opts->convention : OTAD_GRADIENT_NATIVE;
    otad_var scale = {0, 0};
    if (convention == OTAD_GRADIENT_POT && otad_var_valid(a) && otad_var_valid(b)) {
        scale = unit_ratio(t, otad_sum_cols(t, a));
        a = otad_div(t, a, scale);
        b = otad_div(t, b, unit_ratio(t, otad_sum_cols(t, b)));
    } else if (convention == OTAD_GRADIENT_CENTRED && otad_var_valid(a) && otad_var_valid(b)) {
        a = otad_sub(t, a, zero_difference(t, otad_mean_cols(t, a)));
        b = otad_sub(t, b, zero_difference(t, otad_mean_cols(t, b)));
    }
    otad_sinkhorn s;
    if (otadS_sinkhorn_solve(t, k, a, b, opts, role, &s) != OTAD_OK)
        return (otad_var){0, 0};
    otad_var w = value_of(t, &s, value);
    return otad_var_valid(scale) ? otad_mul(t, w, scale) : w;
}

otad_var otad_sinkhorn_loss(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                            const otad_sinkhorn_opts *opts, otad_sinkhorn_value value)
{
    return loss_as(t, k, a, b, opts, 0, value);
}

otad_var otad_sinkhorn_divergence(otad_tape *t, otad_kernel k_ab, otad_kernel k_aa,
                                  otad_kernel k_bb, otad_var a, otad_var b,
                                  const otad_sinkhorn_opts *opts, otad_sinkhorn_value value)
{
    int kl = value == OTAD_SINKHORN_KL_PRIMAL || value == OTAD_SINKHORN_KL_DUAL;
    if (opts && (isfinite(opts->rho_a) || isfinite(opts->rho_b)) && !kl) {
        otad_tape_fail(t, OTAD_EINVAL, "sinkhorn_divergence: an unbalanced problem's divergence "
                       "is built on the KL values (OTAD_SINKHORN_KL_PRIMAL or _KL_DUAL)");
        return (otad_var){0, 0};
    }
    otad_var ab = loss_as(t, k_ab, a, b, opts, 0, value);
    otad_var aa = loss_as(t, k_aa, a, a, opts, 1, value);
    otad_var bb = loss_as(t, k_bb, b, b, opts, 2, value);
    otad_var divergence = otad_sub(t, ab, otad_scale(t, otad_add(t, aa, bb), 0.5));
    if (!kl)
        return divergence;
    /* Séjourné et al. (2019), eq. (15): + (ε/2)(m(a) − m(b))² */
    otad_var gap = otad_sub(t, otad_sum_cols(t, a), otad_sum_cols(t, b));
    double eps = otad_kernel_info_of(t, k_ab).eps;
    return otad_add(t, divergence, otad_scale(t, otad_mul(t, gap, gap), 0.5 * eps));
}
