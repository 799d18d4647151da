/* Sinkhorn barycenters (Heitz et al. 2020, Algorithm 1; Benamou et al.
 * 2015), F of them at once: the R·F scalings are the columns of one value,
 * so each iteration is one kernel apply on R·F columns.  Column f·R + r
 * belongs to input r of barycenter f. */

#include <limits.h>
#include <math.h>

#include "../ad/args.h"
#include "solvers_internal.h"

void otad_barycenter_opts_init(otad_barycenter_opts *opts)
{
    if (!opts)
        return;
    opts->iterations = 50;
    opts->log_domain = 0;
    opts->mode = OTAD_UNROLL;
    otad_loop_opts loop;
    otad_loop_opts_init(&loop);
    opts->adjoint_tolerance = loop.adjoint_tolerance;
    opts->rho = INFINITY;
}

static const otad_var no_var;

int otadS_check_barycenter_opts(const otad_barycenter_opts *o, const char *who,
                                const char *prefix, otad_error *err)
{
    char f[64];
    int rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "iterations"),
                             o->iterations, 1, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, otadV_field(f, sizeof f, prefix, "log_domain"),
                             o->log_domain, 0, 1);
    /* the envelope gradient is a Sinkhorn dual's; a barycenter has none */
    if (rc == OTAD_OK)
        rc = otadV_enum(err, who, otadV_field(f, sizeof f, prefix, "mode"), (int)o->mode,
                        OTAD_UNROLL, OTAD_IMPLICIT, "OTAD_UNROLL, OTAD_CHECKPOINT or "
                        "OTAD_IMPLICIT");
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, otadV_field(f, sizeof f, prefix, "adjoint_tolerance"),
                               o->adjoint_tolerance);
    if (rc == OTAD_OK)
        rc = otadV_positive_or_infinite(err, who, otadV_field(f, sizeof f, prefix, "rho"),
                                        o->rho);
    return rc;
}

static int check_inputs(otad_tape *t, otad_kernel_info k, otad_var inputs, otad_var weights,
                        int log_domain, otad_grad_mode mode, int balanced)
{
    otad_value a = otad_value_of(t, inputs), w = otad_value_of(t, weights);
    if (otad_tape_status(t) != OTAD_OK)
        return otad_tape_status(t);
    if (!k.rows)
        return otad_tape_fail(t, OTAD_EINVAL, "barycenter: the kernel is not a kernel of this "
                              "tape");
    if (!a.data || !w.data)
        return otad_tape_fail(t, OTAD_EINVAL, "barycenter: %s is not a node of this tape "
                              "(invalid, or recorded before a reset)", a.data ? "weights" : "inputs");
    if (a.rows != k.rows || w.rows != a.cols)
        return otad_tape_fail(t, OTAD_ESHAPE, "barycenter: kernel %zux%zu, inputs %zux%zu, "
                              "weights %zux%zu (inputs need the kernel's rows, weights one row "
                              "per input)", k.rows, k.cols, a.rows, a.cols, w.rows, w.cols);
    for (size_t i = 0; i < a.rows * a.cols; i++)
        if (!(a.data[i] >= 0) || (log_domain && a.data[i] == 0))
            return otad_tape_fail(t, OTAD_EDOMAIN, "barycenter: input %zu has entry %g at row "
                                  "%zu, must be %s", i / a.rows, a.data[i], i % a.rows,
                                  log_domain ? "positive in the log domain" : "non-negative");
    /* Off the simplex's plane each balanced iteration rescales b: there is
     * no fixed point, and the adjoint solve would return the gradient of
     * none. */
    otad_error err;
    if (mode == OTAD_IMPLICIT && balanced &&
        otadV_sums_to_one(&err, "barycenter", "weights", w.data, w.rows, w.cols) != OTAD_OK)
        return otad_tape_fail(t, OTAD_EDOMAIN, "%s (OTAD_IMPLICIT differentiates the fixed "
                              "point, which exists only then)", err.message);
    return OTAD_OK;
}

/* The loop's state is w = Kᵀu (its log in the log domain), one column per
 * input and barycenter, from w = 1: then v = b / w = 1, the algorithm's
 * start, and b = Π_r w_r^λ_r after the last step.  The step reaches the
 * inputs, weights and kernel through the instance. */
typedef struct iteration {
    int log_domain, gauge;
    size_t n_inputs;
    otad_var inputs, log_inputs, weights;
    otad_kernel kernel;
    double theta;          /* unbalanced: ρ/(ρ + ε); 1 when balanced */
    otad_var tiled_inputs; /* unbalanced, scaling domain: column f·R + r is a_r */
} iteration;

/* Scaling the w_r of one barycenter by c_r with Π_r c_r^λ_r = 1 scales the
 * next w_r by c_r and changes no barycenter (weights summing to 1):
 * directions in which the iteration's Jacobian has eigenvalue 1, which
 * would make I − Jᵀ, the IMPLICIT adjoint's system, singular.  Fix them:
 * w_r ← w_r · G/s_r, s_r the sum of w_r and G = Π_r s_r^λ_r (in the log
 * domain, the logs of these). */
static otad_var gauge(otad_tape *t, const iteration *it, otad_var w)
{
    otad_var log_s = it->log_domain ? otad_logsumexp(t, w) : otad_log(t, otad_sum_cols(t, w));
    otad_var log_g = otad_repeat_cols(t, otad_combine_blocks(t, log_s, it->weights),
                                      it->n_inputs);
    otad_var shift = otad_sub(t, log_g, log_s);
    return it->log_domain ? otad_add(t, w, shift) : otad_mul(t, w, otad_exp(t, shift));
}

/* The unbalanced barycenter from w = Kᵀu: b = (Σ_r λ_r w_r^κ)^(1/κ), κ = 1 − θ
 * (logs in the log domain, where the sum is taken after a shift s per entry
 * of b, the largest κ log w_r: s cancels, so it is held as a constant). */
static otad_var power_mean(otad_tape *t, const iteration *it, otad_var w)
{
    double kappa = 1 - it->theta;
    if (!it->log_domain)
        return otad_pow(t, otad_combine_blocks(t, otad_pow(t, w, kappa), it->weights),
                        1 / kappa);
    otad_value lw = otad_value_of(t, w);
    size_t r = it->n_inputs, f = lw.data ? lw.cols / r : 0, rows = lw.rows;
    double *s = otad_tape_alloc(t, rows * f * sizeof *s);
    if (!s)
        return (otad_var){0, 0};
    for (size_t j = 0; j < f; j++)
        for (size_t i = 0; i < rows; i++) {
            double m = -INFINITY;
            for (size_t k = 0; k < r; k++)
                m = fmax(m, kappa * lw.data[i + (j * r + k) * rows]);
            s[i + j * rows] = isfinite(m) ? m : 0;
        }
    otad_var shift = otad_const(t, rows, f, s);
    otad_var terms = otad_exp(t, otad_sub(t, otad_scale(t, w, kappa),
                                          otad_repeat_cols(t, shift, r)));
    otad_var log_sum = otad_log(t, otad_combine_blocks(t, terms, it->weights));
    return otad_scale(t, otad_add(t, log_sum, shift), 1 / kappa);
}

/* The unbalanced update (see otad_barycenter) on all R·F columns, from and
 * to w = Kᵀu (its log in the log domain). */
static otad_var update_unbalanced(otad_tape *t, const iteration *it, otad_var w)
{
    otad_var b = otad_repeat_cols(t, power_mean(t, it, w), it->n_inputs);
    if (it->log_domain) {
        otad_var log_v = otad_scale(t, otad_sub(t, b, w), it->theta);
        otad_var log_u = otad_scale(t, otad_sub(t, it->log_inputs,
                                                otad_kernel_apply_log(t, it->kernel, 0, log_v)),
                                    it->theta);
        return otad_kernel_apply_log(t, it->kernel, OTAD_KERNEL_TRANSPOSE, log_u);
    }
    otad_var v = otad_pow(t, otad_div(t, b, w), it->theta);
    otad_var u = otad_pow(t, otad_div(t, it->tiled_inputs,
                                      otad_kernel_apply(t, it->kernel, 0, v)), it->theta);
    return otad_kernel_apply(t, it->kernel, OTAD_KERNEL_TRANSPOSE, u);
}

/* One iteration of Algorithm 1 on all R·F columns:
 *     log b = Σ_r λ_r log w_r,  v_r = b / w_r,  u_r = a_r / K v_r,  w'_r = Kᵀu_r.
 * The scaling domain records it as one op; the log domain op by op. */
static int update(otad_tape *t, const otad_var *state, const otad_var *params, otad_var *next,
                  void *instance)
{
    (void)params;
    const iteration *it = instance;
    otad_var w;
    if (it->theta != 1) {
        next[0] = update_unbalanced(t, it, state[0]);
        return otad_tape_status(t);
    }
    if (it->log_domain) {
        otad_var log_b = otad_combine_blocks(t, state[0], it->weights);
        otad_var log_v = otad_sub(t, otad_repeat_cols(t, log_b, it->n_inputs), state[0]);
        otad_var log_u = otad_sub(t, it->log_inputs, otad_kernel_apply_log(t, it->kernel, 0,
                                                                           log_v));
        w = otad_kernel_apply_log(t, it->kernel, OTAD_KERNEL_TRANSPOSE, log_u);
    } else {
        w = otadS_barycenter_step(t, state[0], it->inputs, it->weights, it->kernel);
    }
    next[0] = it->gauge ? gauge(t, it, w) : w;
    return otad_tape_status(t);
}

otad_var otad_barycenter(otad_tape *t, otad_kernel k, otad_var inputs, otad_var weights,
                         const otad_barycenter_opts *opts)
{
    otad_barycenter_opts o;
    if (opts)
        o = *opts;
    else
        otad_barycenter_opts_init(&o);
    otad_kernel_info info = otad_kernel_info_of(t, k);
    otad_error err;
    int rc = otadS_check_barycenter_opts(&o, "barycenter", NULL, &err);
    if (rc != OTAD_OK) {
        otadV_on_tape(t, rc, &err);
        return no_var;
    }
    /* a ρ so large that θ rounds to 1 is the balanced problem */
    int balanced = isinf(o.rho) || o.rho / (o.rho + info.eps) == 1;
    if (check_inputs(t, info, inputs, weights, o.log_domain, o.mode, balanced) != OTAD_OK)
        return no_var;
    size_t r = otad_value_of(t, inputs).cols, f = otad_value_of(t, weights).cols;
    /* the backward of CHECKPOINT and IMPLICIT runs the iterations again */
    iteration *it = otad_tape_alloc(t, sizeof *it);
    if (!it)
        return no_var;
    *it = (iteration){o.log_domain, o.mode == OTAD_IMPLICIT && balanced, r, inputs, {0, 0},
                      weights, k, balanced ? 1 : o.rho / (o.rho + info.eps), {0, 0}};
    if (o.log_domain || !balanced) { /* column f·R + r is a_r */
        otad_var tiled = f > 1 ? otad_tile_cols(t, inputs, f) : inputs;
        if (o.log_domain)
            it->log_inputs = otad_log(t, tiled);
        else
            it->tiled_inputs = tiled;
    }
    otad_var init = otad_const_fill(t, info.cols, r * f, o.log_domain ? 0 : 1), last;
    otad_loop_opts lo;
    otad_loop_opts_init(&lo);
    lo.mode = o.mode;
    lo.iterations = o.iterations;
    lo.adjoint_tolerance = o.adjoint_tolerance;
    lo.adjoint_relative = !o.log_domain; /* the scalings span orders of magnitude */
    if (otad_loop(t, update, it, 1, &init, 0, NULL, &lo, &last, NULL) != OTAD_OK)
        return no_var;
    if (!balanced) {
        otad_var b = power_mean(t, it, last);
        return o.log_domain ? otad_exp(t, b) : b;
    }
    otad_var log_b = otad_combine_blocks(t, o.log_domain ? last : otad_log(t, last), weights);
    return otad_exp(t, log_b);
}
