/* Sinkhorn barycenters (seed 004, Algorithm 1), F of them at once: the R·F
 * scalings are the columns of one value, so each iteration is one kernel
 * apply on R·F columns.  Column f·R + r belongs to input r of barycenter f. */
#include <math.h>

#include "solvers.h"

void otad_barycenter_opts_init(otad_barycenter_opts *opts)
{
    opts->iterations = 50;
    opts->log_domain = 0;
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
static int require_positive(otad_tape *t, otad_var x, const char *what, int l)
{
    otad_value v = otad_value_of(t, x);
    for (size_t i = 0; v.data && i < v.rows * v.cols; i++)
        if (!(v.data[i] > 0))
            return otad_tape_fail(t, OTAD_ERANGE, "barycenter: %s is %g at (%zu,%zu) in "
                                  "iteration %d: eps too small for the scaling domain, use the "
                                  "log domain", what, v.data[i], i % v.rows, i / v.rows, l + 1);
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
    if (o.iterations < 1) {
        otad_tape_fail(t, OTAD_EINVAL, "barycenter: %d iterations", o.iterations);
        return no_var;
    }
    if (check_inputs(t, info, inputs, weights, o.log_domain) != OTAD_OK)
        return no_var;
    size_t r = otad_value_of(t, inputs).cols, f = otad_value_of(t, weights).cols;
    /* the inputs once per barycenter: column f·R + r is a_r */
    otad_var a = f > 1 ? otad_tile_cols(t, inputs, f) : inputs;
    if (o.log_domain)
        a = otad_log(t, a);
    otad_var v = otad_const_fill(t, info.cols, r * f, o.log_domain ? 0 : 1), bary = no_var;
    for (int l = 0; l < o.iterations && otad_tape_status(t) == OTAD_OK; l++) {
        if (o.log_domain) {
            otad_var u = otad_sub(t, a, otad_kernel_apply_log(t, k, 0, v));
            otad_var ktu = otad_kernel_apply_log(t, k, OTAD_KERNEL_TRANSPOSE, u);
            bary = otad_combine_blocks(t, ktu, weights); /* log b */
            v = otad_sub(t, otad_repeat_cols(t, bary, r), ktu);
            continue;
        }
        otad_var kv = otad_kernel_apply(t, k, 0, v);
        if (require_positive(t, kv, "K v", l) != OTAD_OK)
            break;
        otad_var u = otad_div(t, a, kv);
        otad_var ktu = otad_kernel_apply(t, k, OTAD_KERNEL_TRANSPOSE, u);
        if (require_positive(t, ktu, "Kᵀu", l) != OTAD_OK)
            break;
        bary = otad_exp(t, otad_combine_blocks(t, otad_log(t, ktu), weights));
        v = otad_div(t, otad_repeat_cols(t, bary, r), ktu);
    }
    if (o.log_domain)
        bary = otad_exp(t, bary);
    return otad_tape_status(t) == OTAD_OK ? bary : no_var;
}
