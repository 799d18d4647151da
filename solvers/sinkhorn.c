/* Sinkhorn's iterations (Cuturi 2013), in the scaling or the log
 * domain (the values of the result are in sinkhorn_values.c). */
#include <limits.h>
#include <math.h>

#include "../ad/args.h"
#include "../ops/kernel_at.h"
#include "solvers_internal.h"

void otad_sinkhorn_opts_init(otad_sinkhorn_opts *opts)
{
    if (!opts)
        return;
    opts->iterations = 100;
    opts->tolerance = 0;
    opts->check_every = 10;
    opts->log_domain = 0;
    opts->mass_tolerance = 1e-3;
    opts->mode = OTAD_UNROLL;
    otad_loop_opts loop;
    otad_loop_opts_init(&loop);
    opts->adjoint_tolerance = loop.adjoint_tolerance;
    opts->rho_a = opts->rho_b = INFINITY;
    opts->eps_start = 0;
    opts->eps_decay = 0.5;
    opts->stage_iterations = 10;
    opts->start = NULL;
    opts->convention = OTAD_GRADIENT_NATIVE;
}

static const otad_var no_var;

int otadS_check_sinkhorn_opts(const otad_sinkhorn_opts *o, const char *who, const char *prefix,
                              otad_error *err)
{
    char f[64];
    int rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "iterations"),
                             o->iterations, 1, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, otadV_field(f, sizeof f, prefix, "tolerance"),
                               o->tolerance);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "check_every"),
                             o->check_every, 1, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "log_domain"),
                             o->log_domain, 0, 1);
    /* negative used to turn the check off without a word, as 0 does by design */
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, otadV_field(f, sizeof f, prefix, "mass_tolerance"),
                               o->mass_tolerance);
    if (rc == OTAD_OK)
        rc = otadV_enum(err, who, otadV_field(f, sizeof f, prefix, "mode"), (int)o->mode,
                        OTAD_UNROLL, OTAD_ENVELOPE, "OTAD_UNROLL, OTAD_CHECKPOINT, OTAD_IMPLICIT "
                        "or OTAD_ENVELOPE");
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, otadV_field(f, sizeof f, prefix, "adjoint_tolerance"),
                               o->adjoint_tolerance);
    if (rc == OTAD_OK)
        rc = otadV_positive_or_infinite(err, who, otadV_field(f, sizeof f, prefix, "rho_a"),
                                        o->rho_a);
    if (rc == OTAD_OK)
        rc = otadV_positive_or_infinite(err, who, otadV_field(f, sizeof f, prefix, "rho_b"),
                                        o->rho_b);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, otadV_field(f, sizeof f, prefix, "eps_start"),
                               o->eps_start);
    if (rc == OTAD_OK && !(o->eps_decay > 0 && o->eps_decay < 1))
        rc = otad_error_set(err, OTAD_EINVAL, "%s: %s is %g, must be in (0, 1): a schedule "
                            "that decreases", who,
                            otadV_field(f, sizeof f, prefix, "eps_decay"), o->eps_decay);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "stage_iterations"),
                             o->stage_iterations, 1, INT_MAX);
    if (rc == OTAD_OK && (o->start || o->eps_start > 0) &&
        (o->mode == OTAD_UNROLL || o->mode == OTAD_CHECKPOINT))
        rc = otad_error_set(err, OTAD_EINVAL, "%s: %s needs mode OTAD_IMPLICIT or OTAD_ENVELOPE, "
                            "whose gradient does not depend on where the updates start", who,
                            otadV_field(f, sizeof f, prefix, o->start ? "start" : "eps_start"));
    if (rc == OTAD_OK)
        rc = otadV_enum(err, who, otadV_field(f, sizeof f, prefix, "convention"),
                        (int)o->convention, OTAD_GRADIENT_NATIVE, OTAD_GRADIENT_CENTRED,
                        "OTAD_GRADIENT_NATIVE, OTAD_GRADIENT_POT or OTAD_GRADIENT_CENTRED");
    if (rc == OTAD_OK && o->convention != OTAD_GRADIENT_NATIVE &&
        (isfinite(o->rho_a) || isfinite(o->rho_b)))
        rc = otad_error_set(err, OTAD_EINVAL, "%s: %s is for balanced problems: an unbalanced "
                            "value is defined for any masses and has one gradient", who,
                            otadV_field(f, sizeof f, prefix, "convention"));
    if (rc == OTAD_OK && o->eps_start > 0 && !o->log_domain)
        rc = otad_error_set(err, OTAD_EINVAL, "%s: %s (ε-scaling) needs the log domain "
                            "(log_domain = 1)", who,
                            otadV_field(f, sizeof f, prefix, "eps_start"));
    return rc;
}

/* Column j of a value with 1 or B columns. */
static const double *column(otad_value v, size_t j)
{
    return v.data + (v.cols == 1 ? 0 : j * v.rows);
}

static double column_sum(otad_value v, size_t j)
{
    double s = 0;
    for (size_t i = 0; i < v.rows; i++)
        s += column(v, j)[i];
    return s;
}

/* Shapes against the kernel, signs, and equal masses; the batch size. */
static int check_histograms(otad_tape *t, otad_kernel_info k, otad_var a, otad_var b,
                            const otad_sinkhorn_opts *o, size_t *batch)
{
    otad_value va = otad_value_of(t, a), vb = otad_value_of(t, b);
    if (otad_tape_status(t) != OTAD_OK)
        return otad_tape_status(t);
    if (!k.rows)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: the kernel is not a kernel of this tape");
    if (!va.data || !vb.data)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: %s is not a node of this tape (invalid, "
                              "or recorded before a reset)", va.data ? "b" : "a");
    if (va.rows != k.rows || vb.rows != k.cols)
        return otad_tape_fail(t, OTAD_ESHAPE, "sinkhorn: kernel is %zux%zu, a has %zu rows and "
                              "b %zu", k.rows, k.cols, va.rows, vb.rows);
    size_t n = va.cols > vb.cols ? va.cols : vb.cols;
    if ((va.cols != 1 && va.cols != n) || (vb.cols != 1 && vb.cols != n))
        return otad_tape_fail(t, OTAD_ESHAPE, "sinkhorn: a has %zu columns and b %zu (each 1 "
                              "or the batch size)", va.cols, vb.cols);
    for (size_t s = 0; s < 2; s++) {
        otad_value v = s ? vb : va;
        for (size_t i = 0; i < v.rows * v.cols; i++)
            if (!(v.data[i] >= 0) || (o->log_domain && v.data[i] == 0))
                return otad_tape_fail(t, OTAD_EDOMAIN, "sinkhorn: %s has entry %g at (%zu,%zu), "
                                      "must be %s", s ? "b" : "a", v.data[i], i % v.rows,
                                      i / v.rows, o->log_domain ? "positive in the log domain"
                                                                : "non-negative");
    }
    int balanced = isinf(o->rho_a) && isinf(o->rho_b);
    for (size_t j = 0; j < n; j++) {
        double ma = column_sum(va, j), mb = column_sum(vb, j);
        if (!(ma > 0) || !(mb > 0))
            return otad_tape_fail(t, OTAD_EDOMAIN, "sinkhorn: column %zu of %s has zero mass",
                                  j, ma > 0 ? "b" : "a");
        if (balanced && o->mass_tolerance != 0 &&
            !(fabs(ma - mb) <= o->mass_tolerance * fmax(ma, mb)))
            return otad_tape_fail(t, OTAD_EDOMAIN, "sinkhorn: masses differ in column %zu: a "
                                  "sums to %.17g, b to %.17g (see mass_tolerance, or relax a "
                                  "marginal with rho_a, rho_b)", j, ma, mb);
    }
    *batch = n;
    return OTAD_OK;
}

/* The scaling iterations need K v > 0 and a / K v finite: say so when ε is
 * too small for them, before a division turns it into an error without a
 * cause. */
static int check_divisor(otad_tape *t, otad_var num, otad_var den, const char *what)
{
    otad_value vn = otad_value_of(t, num), vd = otad_value_of(t, den);
    if (!vd.data)
        return otad_tape_status(t);
    for (size_t j = 0; j < vd.cols; j++)
        for (size_t i = 0; i < vd.rows; i++) {
            double d = vd.data[i + j * vd.rows], x = column(vn, j)[i];
            if (!(d > 0) || !isfinite(x / d))
                return otad_tape_fail(t, OTAD_ERANGE, "sinkhorn: %s is %g at (%zu,%zu): eps "
                                      "too small for the scaling domain, use the log domain",
                                      what, d, i, j);
        }
    return OTAD_OK;
}

/* The loop's parameters: a and b (their logs in the log domain); the step
 * reaches the kernel through the instance. */
enum { A, B };

typedef struct iteration {
    int log_domain;
    int with_kv; /* the scaling domain's state carries K v (see update) */
    otad_kernel kernel;
    size_t rows, cols, batch;  /* K is rows×cols */
    double lambda_a, lambda_b; /* ρ/(ρ + ε): 1 for a constraint */
    double alpha_a, alpha_b;   /* ε/ρ: 0 for a constraint */
    double marginal_error;     /* the last residual measured */
    double eta;                /* > 0: a stage of ε-scaling, at this ε (values only) */
} iteration;

static int unbalanced(const iteration *it)
{
    return it->lambda_a != 1 || it->lambda_b != 1;
}

/* mass ⊙ ratio (a sum in the log domain): u from u/a, v from v/b. */
static otad_var scaled(otad_tape *t, const iteration *it, otad_var mass, otad_var ratio)
{
    return it->log_domain ? otad_add(t, mass, ratio) : otad_mul(t, mass, ratio);
}

/* log(op(K)·exp(x)), K the kernel, or the kernel at a stage's ε. */
static otad_var log_apply(otad_tape *t, const iteration *it, unsigned product, otad_var x)
{
    return it->eta > 0 ? otadK_apply_log_at(t, it->kernel, product, it->eta, x)
                       : otad_kernel_apply_log(t, it->kernel, product, x);
}

/* u/a = (K v)^(−λ) (or v/b from Kᵀu) from the product, in the scaling domain. */
static otad_var relaxed(otad_tape *t, otad_var product, double lambda, const char *what)
{
    if (check_divisor(t, product, product, what) != OTAD_OK)
        return (otad_var){0, 0};
    return otad_pow(t, product, -lambda);
}

/* log Σ_i mass_i e^(−f_i/ρ) per column, from log ratio = f/ε, α = ε/ρ. */
static otad_var log_decayed_mass(otad_tape *t, otad_var log_mass, otad_var log_ratio,
                                 double alpha)
{
    return otad_logsumexp(t, alpha == 0 ? log_mass
                                        : otad_add(t, log_mass, otad_scale(t, log_ratio, -alpha)));
}

/* The potentials' best translation (f + τ, g − τ) (Séjourné, Vialard, Peyré
 * 2022): the direction in which the dual is flat in the balanced problem
 * and the updates contract only by λ_a·λ_b per step, which for ρ ≫ ε
 * would take some ρ/ε steps.  τ maximises the dual along it in closed form,
 * τ (1/ρ_a + 1/ρ_b) = log Σ a e^(−f/ρ_a) − log Σ b e^(−g/ρ_b), and is 0 at
 * the fixed point, which it leaves where it is. */
static void translate_log(otad_tape *t, const iteration *it, const otad_var *params,
                          otad_var *next)
{
    otad_var da = log_decayed_mass(t, params[A], next[0], it->alpha_a);
    otad_var db = log_decayed_mass(t, params[B], next[1], it->alpha_b);
    otad_var shift = otad_scale(t, otad_sub(t, da, db), 1 / (it->alpha_a + it->alpha_b));
    next[0] = otad_add(t, next[0], shift);
    next[1] = otad_sub(t, next[1], shift);
}

/* The same in the scaling domain: e^(τ/ε) from the plan's masses (see
 * translation.c). */
static void translate(otad_tape *t, const iteration *it, otad_var u, otad_var kv,
                      size_t kv_first_row, otad_var v, otad_var ktu, size_t ktu_first_row,
                      otad_var *next)
{
    otad_var factor = otadS_translation(t, u, kv, kv_first_row, v, ktu, ktu_first_row,
                                        it->alpha_a, it->alpha_b);
    next[0] = otad_mul(t, next[0], factor);
    next[1] = otad_div(t, next[1], factor);
}

/* The unbalanced update (Chizat et al. 2018; Séjourné et al. 2019) on the
 * state (u/a, v/b) = (e^(f/ε), e^(g/ε)), the exponentials of the dual
 * potentials (their logs in the log domain):
 *     u/a = (K v)^(−λ_a),  v/b = (Kᵀu)^(−λ_b),  u = a ⊙ u/a, v = b ⊙ v/b,
 * defined where a mass is 0 too (a ratio of u and a would not be).  Not
 * homogeneous in v, so the balanced update's fixing of the scale has no
 * place here, and its Jacobian is a contraction (IMPLICIT's system is
 * regular).
 *
 * Differentiated through its steps, the scaling domain's state is
 * (u/a, [v/b; K v]), as the balanced one carries K v (see update): one
 * power pair forms v/b and the next update's K v from u.  The translation
 * then has Σ v ⊙ Kᵀu as Σ u ⊙ K v with the new v, and K v in both states. */
static int update_unbalanced(otad_tape *t, const iteration *it, const otad_var *params,
                             const otad_var *state, otad_var *next)
{
    const unsigned transpose = OTAD_KERNEL_TRANSPOSE;
    if (it->log_domain) {
        otad_var log_kv = log_apply(t, it, 0, otad_add(t, params[B], state[1]));
        next[0] = otad_scale(t, log_kv, -it->lambda_a);
        otad_var log_ktu = log_apply(t, it, transpose, otad_add(t, params[A], next[0]));
        next[1] = otad_scale(t, log_ktu, -it->lambda_b);
        translate_log(t, it, params, next);
        return otad_tape_status(t);
    }
    if (!it->with_kv) {
        otad_var kv = otad_kernel_apply(t, it->kernel, 0, otad_mul(t, params[B], state[1]));
        next[0] = relaxed(t, kv, it->lambda_a, "K v");
        otad_var u = otad_mul(t, params[A], next[0]);
        otad_var ktu = otad_kernel_apply(t, it->kernel, transpose, u);
        next[1] = relaxed(t, ktu, it->lambda_b, "Kᵀu");
        translate(t, it, u, kv, 0, otad_mul(t, params[B], next[1]), ktu, 0, next);
        return otad_tape_status(t);
    }
    next[0] = relaxed(t, otad_slice(t, state[1], it->cols, it->rows, 0, it->batch),
                      it->lambda_a, "K v");
    otad_var u = otad_mul(t, params[A], next[0]);
    next[1] = otad_kernel_scaling_pair_power(t, it->kernel, transpose, u, params[B],
                                             it->lambda_b);
    translate(t, it, u, state[1], it->cols, u, next[1], it->cols, next);
    return otad_tape_status(t);
}

/* One Sinkhorn update (Cuturi 2013): u = a / (K v), v = b / (Kᵀ u).  Then (u, v)
 * becomes (c·u, v/c) with c the sum of v (in the log domain, its logsumexp
 * moved from log v to log u): P = diag(u) K diag(v), and with it every value,
 * is unchanged, but the update no longer carries the direction (u/c, cv) in
 * which its Jacobian has eigenvalue 1, so that I − Jᵀ, the IMPLICIT
 * adjoint's system, is not singular.
 *
 * The state is (u, v), or (log u, log v) in the log domain.  Differentiated
 * through its steps (UNROLL, CHECKPOINT), the scaling domain's state is
 * (u, [v; K v]) instead: one scaling pair forms v and the next update's K v
 * from u, so that the kernel, where its class can, is read once per update.
 * Not under IMPLICIT, whose adjoint solves with the Jacobian at the fixed
 * point: K v in the state (∂u/∂(K v) = −u/(K v), vast where ε is small)
 * conditions that system worse, and the gradient comes out less accurate.
 * Without IMPLICIT's adjoint the scale need not be fixed every update: the
 * update is homogeneous in v, so the scale drifts only where the masses
 * differ.  With K v in the state it is then fixed only when a column's sum
 * of v leaves [1/4, 4], and once after the last update (the same state as
 * fixing it every update), which saves three ops of each update. */
static int update_log(otad_tape *t, const iteration *it, const otad_var *params, otad_var v,
                      otad_var *next)
{
    otad_var u = otad_sub(t, params[A], log_apply(t, it, 0, v));
    otad_var ktu = log_apply(t, it, OTAD_KERNEL_TRANSPOSE, u);
    otad_var log_v = otad_sub(t, params[B], ktu), c = otad_logsumexp(t, log_v);
    next[0] = otad_add(t, u, c);
    next[1] = otad_sub(t, log_v, c);
    return otad_tape_status(t);
}

/* Some column of v sums to less than 1/4 or more than 4 (or to NaN). */
static int scale_drifted(otad_tape *t, otad_var v)
{
    otad_value x = otad_value_of(t, v);
    for (size_t j = 0; x.data && j < x.cols; j++) {
        double sum = 0;
        for (size_t i = 0; i < x.rows; i++)
            sum += x.data[i + j * x.rows];
        if (!(sum >= 0.25 && sum <= 4))
            return 1;
    }
    return 0;
}

/* u = a / (K v) with K v reported when eps is too small for it. */
static otad_var divide_a(otad_tape *t, const otad_var *params, otad_var kv)
{
    if (check_divisor(t, params[A], kv, "K v") != OTAD_OK)
        return (otad_var){0, 0};
    return otad_div(t, params[A], kv);
}

static int update(otad_tape *t, const otad_var *state, const otad_var *params, otad_var *next,
                  void *instance)
{
    const iteration *it = instance;
    if (unbalanced(it))
        return update_unbalanced(t, it, params, state, next);
    if (it->log_domain)
        return update_log(t, it, params, state[1], next);
    otad_var v, v_next; /* v_next: the next state's second part, before the scaling by c */
    otad_var u = it->with_kv ? divide_a(t, params, otad_slice(t, state[1], it->cols, it->rows,
                                                              0, it->batch))
                             : divide_a(t, params, otad_kernel_apply(t, it->kernel, 0, state[1]));
    if (it->with_kv) {
        v_next = otad_kernel_scaling_pair(t, it->kernel, OTAD_KERNEL_TRANSPOSE, u, params[B]);
        v = otad_slice(t, v_next, 0, it->cols, 0, it->batch);
    } else {
        otad_var ktu = otad_kernel_apply(t, it->kernel, OTAD_KERNEL_TRANSPOSE, u);
        if (check_divisor(t, params[B], ktu, "Kᵀu") != OTAD_OK)
            return otad_tape_status(t);
        v = v_next = otad_div(t, params[B], ktu);
    }
    if (it->with_kv && !scale_drifted(t, v)) {
        next[0] = u, next[1] = v_next;
        return otad_tape_status(t);
    }
    otad_var c = otad_sum_cols(t, v);
    next[0] = otad_mul(t, u, c);
    next[1] = otad_div(t, v_next, c);
    return otad_tape_status(t);
}

/* max over columns of Σ_i |u_i (Kv)_i^λ_a − a_i| (v's update made the other
 * condition exact): the marginal error where P1 = a is a constraint, λ_a = 1;
 * the logs of u and Kv in the log domain. */
static double marginal_error(otad_tape *t, const otad_var *state, const otad_var *params,
                             void *instance)
{
    iteration *it = instance;
    otad_var u = state[0], v = state[1];
    if (unbalanced(it)) { /* the state is (u/a, v/b), or (u/a, [v/b; K v]) */
        u = scaled(t, it, params[A], u);
        v = it->with_kv ? v : scaled(t, it, params[B], v);
    }
    otad_var kv = it->with_kv      ? v
                  : it->log_domain ? log_apply(t, it, 0, v)
                                   : otad_kernel_apply(t, it->kernel, 0, v);
    size_t first = it->with_kv ? it->cols : 0;
    otad_value vu = otad_value_of(t, u), vk = otad_value_of(t, kv);
    otad_value va = otad_value_of(t, params[A]);
    if (!vk.data)
        return NAN;
    double worst = 0;
    for (size_t j = 0; j < vu.cols; j++) {
        double s = 0;
        for (size_t i = 0; i < vu.rows; i++) {
            double x = vu.data[i + j * vu.rows], y = vk.data[first + i + j * vk.rows];
            double target = column(va, j)[i];
            s += it->log_domain ? fabs(exp(x + it->lambda_a * y) - exp(target))
                                : fabs(x * pow(y, it->lambda_a) - target);
        }
        worst = fmax(worst, s);
    }
    return it->marginal_error = worst;
}

/* The iteration at the kernel's ε, or at a stage's ε = eta > 0; it must
 * live until the tape is reset (the backward of CHECKPOINT and IMPLICIT
 * runs the updates again). */
static iteration *new_iteration(otad_tape *t, const otad_sinkhorn_opts *o, otad_kernel k,
                                otad_kernel_info info, size_t batch, int with_kv, double eta)
{
    iteration *it = otad_tape_alloc(t, sizeof *it);
    if (!it)
        return NULL;
    double eps = eta > 0 ? eta : info.eps;
    double lambda_a = isinf(o->rho_a) ? 1 : o->rho_a / (o->rho_a + eps);
    double lambda_b = isinf(o->rho_b) ? 1 : o->rho_b / (o->rho_b + eps);
    *it = (iteration){o->log_domain, with_kv, k, info.rows, info.cols, batch, lambda_a, lambda_b,
                      eps / o->rho_a, eps / o->rho_b, NAN, eta};
    return it;
}

/* ε-scaling's stages from init (log domain), leaving in init the start of
 * the updates at the kernel's ε.  They read a and b as constants: a value
 * that only starts the updates carries no gradient. */
static int run_stages(otad_tape *t, const otad_sinkhorn_opts *o, otad_kernel k,
                      otad_kernel_info info, size_t batch, const otad_var *params,
                      otad_var *init)
{
    otad_var held[2];
    for (size_t i = 0; i < 2; i++) {
        otad_value v = otad_value_of(t, params[i]);
        held[i] = otad_const(t, v.rows, v.cols, v.data);
    }
    otad_loop_opts lo;
    otad_loop_opts_init(&lo);
    lo.mode = OTAD_IMPLICIT; /* its steps are dropped as they run; no backward reaches it */
    lo.iterations = o->stage_iterations;
    for (double eta = o->eps_start; eta > info.eps; eta *= o->eps_decay) {
        iteration *it = new_iteration(t, o, k, info, batch, 0, eta);
        otad_var last[2];
        if (!it || otad_loop(t, update, it, 2, init, 2, held, &lo, last, NULL) != OTAD_OK)
            return otad_tape_status(t);
        /* the state is f/η, g/η: the same potentials at the next ε */
        double next = fmax(eta * o->eps_decay, info.eps);
        for (size_t i = 0; i < 2; i++)
            init[i] = otad_scale(t, last[i], eta / next);
    }
    return otad_tape_status(t);
}

/* A warm start's potentials f as a state: f/ε, or e^(f/ε) in the scaling
 * domain. */
static otad_var from_potentials(otad_tape *t, const double *f, size_t rows, size_t batch,
                                double eps, int log_domain)
{
    otad_var x = otad_scale(t, otad_const(t, rows, batch, f), 1 / eps);
    return log_domain ? x : otad_exp(t, x);
}

/* The last state's potentials into the warm start: ε·state, or ε·log state;
 * none kept when one is NaN or +∞ (−∞, where a mass is 0, is kept). */
static int keep_potentials(otad_tape *t, otad_sinkhorn_start *start, const otadS_start_key *key,
                           const otad_var *last, double eps, int log_domain)
{
    size_t sizes[2] = {key->rows * key->batch, key->cols * key->batch};
    double *f = otad_tape_alloc(t, (sizes[0] + sizes[1]) * sizeof *f);
    if (!f)
        return otad_tape_status(t);
    for (size_t i = 0, at = 0; i < 2; at += sizes[i++]) {
        otad_value v = otad_value_of(t, last[i]);
        for (size_t j = 0; j < sizes[i]; j++) {
            double x = eps * (log_domain ? v.data[j] : log(v.data[j]));
            if (isnan(x) || x == INFINITY)
                return OTAD_OK;
            f[at + j] = x;
        }
    }
    if (otadS_start_store(start, key, f, f + sizes[0]) != OTAD_OK)
        return otad_tape_fail(t, OTAD_ENOMEM, "sinkhorn: no memory for the warm start's "
                              "potentials");
    return OTAD_OK;
}

/* The arguments of ε-scaling against the kernel. */
static int check_scaling(otad_tape *t, const otad_sinkhorn_opts *o, otad_kernel k,
                         otad_kernel_info info)
{
    if (!(o->eps_start > 0))
        return OTAD_OK;
    if (!(o->eps_start > info.eps)) /* finite: the options' check */
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: eps_start is %g, must be above the "
                              "kernel's eps %g (a schedule that decreases)", o->eps_start,
                              info.eps);
    if (!otadK_has_log_at(t, k))
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: ε-scaling (eps_start) needs a kernel "
                              "whose class has apply_log_at, and this one has not");
    return OTAD_OK;
}

int otadS_sinkhorn_solve(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                         const otad_sinkhorn_opts *opts, int role, otad_sinkhorn *out)
{
    otad_sinkhorn_opts o;
    if (opts)
        o = *opts;
    else
        otad_sinkhorn_opts_init(&o);
    if (!out)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: no result struct");
    *out = (otad_sinkhorn){k, a, b, no_var, no_var, o.log_domain, o.mode, 0, NAN, o.rho_a,
                           o.rho_b, no_var, no_var};
    otad_error err;
    int rc = otadS_check_sinkhorn_opts(&o, "sinkhorn", NULL, &err);
    if (rc != OTAD_OK)
        return otadV_on_tape(t, rc, &err);
    otad_kernel_info info = otad_kernel_info_of(t, k);
    size_t batch = 0;
    rc = check_histograms(t, info, a, b, &o, &batch);
    if (rc != OTAD_OK)
        return rc;
    if ((isfinite(o.rho_a) || isfinite(o.rho_b)) && !(info.eps > 0))
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: unbalanced OT needs the kernel's eps, "
                              "and this kernel has eps %g", info.eps);
    if ((rc = check_scaling(t, &o, k, info)) != OTAD_OK)
        return rc;
    int with_kv = !o.log_domain && (o.mode == OTAD_UNROLL || o.mode == OTAD_CHECKPOINT);
    iteration *it = new_iteration(t, &o, k, info, batch, with_kv, 0);
    if (!it)
        return otad_tape_status(t);
    otad_var params[2] = {a, b};
    if (o.log_domain)
        params[A] = otad_log(t, a), params[B] = otad_log(t, b);
    otadS_start_key key = {info.rows, info.cols, batch, role, unbalanced(it)};
    const double *f, *g;
    otad_var init[2], last[2];
    if (o.start && otadS_start_find(o.start, &key, &f, &g)) {
        init[0] = from_potentials(t, f, info.rows, batch, info.eps, o.log_domain);
        init[1] = from_potentials(t, g, info.cols, batch, info.eps, o.log_domain);
    } else {
        init[0] = otad_const_fill(t, info.rows, batch, o.log_domain ? 0 : 1);
        init[1] = otad_const_fill(t, info.cols, batch, o.log_domain ? 0 : 1);
        if (o.eps_start > 0 && (rc = run_stages(t, &o, k, info, batch, params, init)) != OTAD_OK)
            return rc;
    }
    if (with_kv) { /* K v, with v = b ⊙ v/b in the unbalanced state */
        otad_var v = unbalanced(it) ? otad_mul(t, params[B], init[1]) : init[1];
        otad_var v_kv[2] = {init[1], otad_kernel_apply(t, k, 0, v)};
        init[1] = otad_vcat(t, 2, v_kv);
    }
    otad_loop_opts lo;
    otad_loop_opts_init(&lo);
    /* the envelope gradient needs only the converged scalings */
    lo.mode = o.mode == OTAD_ENVELOPE ? OTAD_IMPLICIT : o.mode;
    lo.iterations = o.iterations;
    lo.tolerance = o.tolerance;
    lo.check_every = o.check_every;
    lo.residual = marginal_error;
    lo.adjoint_tolerance = o.adjoint_tolerance;
    lo.adjoint_relative = !o.log_domain; /* the scalings span orders of magnitude */
    rc = otad_loop(t, update, it, 2, init, 2, params, &lo, last, &out->iterations);
    if (rc == OTAD_OK && o.start)
        rc = keep_potentials(t, o.start, &key, last, info.eps, o.log_domain);
    out->u = last[0];
    out->v = last[1];
    if (unbalanced(it)) {
        out->ru = last[0];
        out->rv = with_kv ? otad_slice(t, last[1], 0, info.cols, 0, batch) : last[1];
        out->u = scaled(t, it, params[A], out->ru);
        out->v = scaled(t, it, params[B], out->rv);
    } else if (with_kv) { /* the scale every update would have fixed (see update) */
        otad_var v = otad_slice(t, last[1], 0, info.cols, 0, batch), c = otad_sum_cols(t, v);
        out->u = otad_mul(t, last[0], c);
        out->v = otad_div(t, v, c);
    }
    out->marginal_error = it->marginal_error;
    return rc;
}

int otad_sinkhorn_solve(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                        const otad_sinkhorn_opts *opts, otad_sinkhorn *out)
{
    if (opts && opts->convention != OTAD_GRADIENT_NATIVE)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: convention applies to the values of "
                              "otad_sinkhorn_loss and otad_sinkhorn_divergence; "
                              "otad_sinkhorn_solve takes OTAD_GRADIENT_NATIVE");
    return otadS_sinkhorn_solve(t, k, a, b, opts, 0, out);
}
