/* Sinkhorn barycenters (seed 004, Algorithm 1), F of them at once: the R·F
 * scalings are the columns of one value, so each iteration is one kernel
 * apply on R·F columns.  Column f·R + r belongs to input r of barycenter f. */
#include <math.h>
#include <string.h>

#include "solvers_internal.h"

void otad_barycenter_opts_init(otad_barycenter_opts *opts)
{
    opts->iterations = 50;
    opts->log_domain = 0;
    opts->mode = OTAD_UNROLL;
    otad_loop_opts loop;
    otad_loop_opts_init(&loop);
    opts->adjoint_tolerance = loop.adjoint_tolerance;
}

static const otad_var no_var;

static int check_inputs(otad_tape *t, otad_kernel_info k, otad_var inputs, otad_var weights,
                        int log_domain)
{
    otad_value a = otad_value_of(t, inputs), w = otad_value_of(t, weights);
    if (otad_tape_status(t) != OTAD_OK)
        return otad_tape_status(t);
    if (!a.data || !w.data || !k.rows)
        return otad_tape_fail(t, OTAD_EINVAL, "barycenter: invalid kernel, inputs or weights");
    if (a.rows != k.rows || w.rows != a.cols)
        return otad_tape_fail(t, OTAD_ESHAPE, "barycenter: kernel %zux%zu, inputs %zux%zu, "
                              "weights %zux%zu (inputs need the kernel's rows, weights one row "
                              "per input)", k.rows, k.cols, a.rows, a.cols, w.rows, w.cols);
    for (size_t i = 0; i < a.rows * a.cols; i++)
        if (a.data[i] < 0 || (log_domain && a.data[i] == 0))
            return otad_tape_fail(t, OTAD_EDOMAIN, "barycenter: input %zu has entry %g at row "
                                  "%zu, must be %s", i / a.rows, a.data[i], i % a.rows,
                                  log_domain ? "positive in the log domain" : "non-negative");
    return OTAD_OK;
}

/* The scaling iterations stop with a clear error where K v underflows. */
static int require_positive(otad_tape *t, otad_var x, const char *what)
{
    otad_value v = otad_value_of(t, x);
    for (size_t i = 0; v.data && i < v.rows * v.cols; i++)
        if (!(v.data[i] > 0))
            return otad_tape_fail(t, OTAD_ERANGE, "barycenter: %s is %g at (%zu,%zu): eps too "
                                  "small for the scaling domain, use the log domain", what,
                                  v.data[i], i % v.rows, i / v.rows);
    return otad_tape_status(t);
}

/* The loop's parameters: the inputs repeated per barycenter (their logs in
 * the log domain), the weights, then the kernel's node and parameters. */
enum { INPUTS, WEIGHTS, KERNEL };

typedef struct iteration {
    int log_domain, gauge;
    size_t n_inputs, n_kernel_params;
} iteration;

/* Scaling the v_r of one barycenter by d_r with Π_r d_r^λ_r = 1 changes no
 * barycenter (weights summing to 1): directions in which the iteration's
 * Jacobian has eigenvalue 1, which would make I − Jᵀ, the IMPLICIT
 * adjoint's system, singular.  Fix them: v_r ← v_r · G/s_r, s_r the sum of
 * v_r and G = Π_r s_r^λ_r (in the log domain, the logs of these). */
static otad_var gauge(otad_tape *t, const iteration *it, otad_var v, otad_var weights)
{
    otad_var log_s = it->log_domain ? otad_logsumexp(t, v) : otad_log(t, otad_sum_cols(t, v));
    otad_var log_g = otad_repeat_cols(t, otad_combine_blocks(t, log_s, weights), it->n_inputs);
    otad_var shift = otad_sub(t, log_g, log_s);
    return it->log_domain ? otad_add(t, v, shift) : otad_mul(t, v, otad_exp(t, shift));
}

/* One iteration of Algorithm 1 on all R·F scalings; state (v, b). */
static int update(otad_tape *t, const otad_var *state, const otad_var *params, otad_var *next,
                  void *instance)
{
    const iteration *it = instance;
    otad_kernel k = {params[KERNEL], it->n_kernel_params, {{0, 0}}};
    memcpy(k.params, params + KERNEL + 1, it->n_kernel_params * sizeof *k.params);
    if (it->log_domain) {
        otad_var u = otad_sub(t, params[INPUTS], otad_kernel_apply_log(t, k, 0, state[0]));
        otad_var ktu = otad_kernel_apply_log(t, k, OTAD_KERNEL_TRANSPOSE, u);
        next[1] = otad_combine_blocks(t, ktu, params[WEIGHTS]); /* log b */
        next[0] = otad_sub(t, otad_repeat_cols(t, next[1], it->n_inputs), ktu);
        if (it->gauge)
            next[0] = gauge(t, it, next[0], params[WEIGHTS]);
        return otad_tape_status(t);
    }
    otad_var kv = otad_kernel_apply(t, k, 0, state[0]);
    if (require_positive(t, kv, "K v") != OTAD_OK)
        return otad_tape_status(t);
    otad_var ktu = otad_kernel_apply(t, k, OTAD_KERNEL_TRANSPOSE, otad_div(t, params[INPUTS], kv));
    if (require_positive(t, ktu, "Kᵀu") != OTAD_OK)
        return otad_tape_status(t);
    next[1] = otad_exp(t, otad_combine_blocks(t, otad_log(t, ktu), params[WEIGHTS]));
    next[0] = otad_div(t, otad_repeat_cols(t, next[1], it->n_inputs), ktu);
    if (it->gauge)
        next[0] = gauge(t, it, next[0], params[WEIGHTS]);
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
    if (o.iterations < 1 || o.mode < OTAD_UNROLL || o.mode > OTAD_IMPLICIT ||
        !(o.adjoint_tolerance >= 0)) {
        otad_tape_fail(t, OTAD_EINVAL, "barycenter: %d iterations, mode %d (UNROLL, CHECKPOINT "
                       "or IMPLICIT), adjoint tolerance %g", o.iterations, (int)o.mode,
                       o.adjoint_tolerance);
        return no_var;
    }
    if (check_inputs(t, info, inputs, weights, o.log_domain) != OTAD_OK)
        return no_var;
    if (o.mode == OTAD_UNROLL && !o.log_domain)
        return otadS_barycenter_unrolled(t, k, inputs, weights, o.iterations);
    size_t r = otad_value_of(t, inputs).cols, f = otad_value_of(t, weights).cols;
    /* the backward of CHECKPOINT and IMPLICIT runs the iterations again */
    iteration *it = otad_tape_alloc(t, sizeof *it);
    if (!it)
        return no_var;
    *it = (iteration){o.log_domain, o.mode == OTAD_IMPLICIT, r, k.n_params};
    /* the inputs once per barycenter: column f·R + r is a_r */
    otad_var params[KERNEL + 1 + OTAD_KERNEL_MAX_PARAMS] = {
        f > 1 ? otad_tile_cols(t, inputs, f) : inputs, weights, k.node};
    if (o.log_domain)
        params[INPUTS] = otad_log(t, params[INPUTS]);
    memcpy(params + KERNEL + 1, k.params, k.n_params * sizeof *k.params);
    double start = o.log_domain ? 0 : 1;
    otad_var init[2] = {otad_const_fill(t, info.cols, r * f, start),
                        otad_const_fill(t, info.cols, f, start)}, last[2];
    otad_loop_opts lo;
    otad_loop_opts_init(&lo);
    lo.mode = o.mode;
    lo.iterations = o.iterations;
    lo.adjoint_tolerance = o.adjoint_tolerance;
    if (otad_loop(t, update, it, 2, init, KERNEL + 1 + k.n_params, params, &lo, last, NULL) !=
        OTAD_OK)
        return no_var;
    return o.log_domain ? otad_exp(t, last[1]) : last[1];
}
