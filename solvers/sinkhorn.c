/* Sinkhorn's iterations as the seeds define them, in the scaling or the log
 * domain (the values of the result are in sinkhorn_values.c). */
#include <math.h>

#include "solvers.h"

void otad_sinkhorn_opts_init(otad_sinkhorn_opts *opts)
{
    opts->iterations = 100;
    opts->tolerance = 0;
    opts->check_every = 10;
    opts->log_domain = 0;
    opts->mass_tolerance = 1e-3;
}

static const otad_var no_var;

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
    if (!va.data || !vb.data || !k.rows)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: invalid kernel or histograms");
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
            if (v.data[i] < 0 || (o->log_domain && v.data[i] == 0))
                return otad_tape_fail(t, OTAD_EDOMAIN, "sinkhorn: %s has entry %g at (%zu,%zu), "
                                      "must be %s", s ? "b" : "a", v.data[i], i % v.rows,
                                      i / v.rows, o->log_domain ? "positive in the log domain"
                                                                : "non-negative");
    }
    for (size_t j = 0; o->mass_tolerance > 0 && j < n; j++) {
        double ma = column_sum(va, j), mb = column_sum(vb, j);
        if (!(fabs(ma - mb) <= o->mass_tolerance * fmax(ma, mb)))
            return otad_tape_fail(t, OTAD_EDOMAIN, "sinkhorn: masses differ in column %zu: a "
                                  "sums to %.17g, b to %.17g (see mass_tolerance)", j, ma, mb);
    }
    *batch = n;
    return OTAD_OK;
}

/* The scaling iterations need K v > 0 and a / K v finite: say so when ε is
 * too small for them, before a division turns it into an error without a
 * cause. */
static int check_divisor(otad_tape *t, otad_var num, otad_var den, const char *what, int l)
{
    otad_value vn = otad_value_of(t, num), vd = otad_value_of(t, den);
    if (!vd.data)
        return otad_tape_status(t);
    for (size_t j = 0; j < vd.cols; j++)
        for (size_t i = 0; i < vd.rows; i++) {
            double d = vd.data[i + j * vd.rows], x = column(vn, j)[i];
            if (!(d > 0) || !isfinite(x / d))
                return otad_tape_fail(t, OTAD_ERANGE, "sinkhorn: %s is %g at (%zu,%zu) in "
                                      "update %d: eps too small for the scaling domain, use "
                                      "the log domain", what, d, i, j, l + 1);
        }
    return OTAD_OK;
}

/* max over columns of Σ_i |u_i (Kv)_i − a_i|; in the log domain u and Kv
 * are logs. */
static double marginal_error(otad_tape *t, otad_var u, otad_var kv, otad_var a, int log_domain)
{
    otad_value vu = otad_value_of(t, u), vk = otad_value_of(t, kv), va = otad_value_of(t, a);
    double worst = 0;
    for (size_t j = 0; j < vu.cols; j++) {
        double s = 0;
        for (size_t i = 0; i < vu.rows; i++) {
            double x = vu.data[i + j * vu.rows], y = vk.data[i + j * vk.rows];
            s += fabs((log_domain ? exp(x + y) : x * y) - column(va, j)[i]);
        }
        worst = fmax(worst, s);
    }
    return worst;
}

int otad_sinkhorn_solve(otad_tape *t, otad_kernel k, otad_var a, otad_var b,
                        const otad_sinkhorn_opts *opts, otad_sinkhorn *out)
{
    otad_sinkhorn_opts o;
    if (opts)
        o = *opts;
    else
        otad_sinkhorn_opts_init(&o);
    if (!out)
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: no result struct");
    *out = (otad_sinkhorn){k, a, b, no_var, no_var, o.log_domain, 0, NAN};
    if (o.iterations < 1 || o.check_every < 1 || !(o.tolerance >= 0))
        return otad_tape_fail(t, OTAD_EINVAL, "sinkhorn: iterations %d, check_every %d, "
                              "tolerance %g", o.iterations, o.check_every, o.tolerance);
    otad_kernel_info info = otad_kernel_info_of(t, k);
    size_t batch = 0;
    int rc = check_histograms(t, info, a, b, &o, &batch);
    if (rc != OTAD_OK)
        return rc;
    otad_var la = a, lb = b;
    if (o.log_domain)
        la = otad_log(t, a), lb = otad_log(t, b);
    otad_var u = no_var, v = otad_const_fill(t, info.cols, batch, o.log_domain ? 0 : 1);
    for (int l = 0; l < o.iterations && otad_tape_status(t) == OTAD_OK; l++) {
        otad_var kv = o.log_domain ? otad_kernel_apply_log(t, k, 0, v)
                                   : otad_kernel_apply(t, k, 0, v);
        if (o.tolerance > 0 && l > 0 && l % o.check_every == 0 && otad_var_valid(kv)) {
            out->marginal_error = marginal_error(t, u, kv, a, o.log_domain);
            if (out->marginal_error <= o.tolerance)
                break;
        }
        if (!o.log_domain && check_divisor(t, a, kv, "K v", l) != OTAD_OK)
            break;
        u = o.log_domain ? otad_sub(t, la, kv) : otad_div(t, a, kv);
        otad_var ktu = o.log_domain ? otad_kernel_apply_log(t, k, OTAD_KERNEL_TRANSPOSE, u)
                                    : otad_kernel_apply(t, k, OTAD_KERNEL_TRANSPOSE, u);
        if (!o.log_domain && check_divisor(t, b, ktu, "Kᵀu", l) != OTAD_OK)
            break;
        v = o.log_domain ? otad_sub(t, lb, ktu) : otad_div(t, b, ktu);
        out->iterations = l + 1;
    }
    out->u = u;
    out->v = v;
    return otad_tape_status(t);
}
