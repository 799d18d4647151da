/* Losses between histograms, one per column (Heitz et al. 2020, eq. 10–12). */
#include <math.h>

#include "shape_rules.h"

enum loss_kind { L1, L2, KL };

static int loss_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value p = c->in[0], q = c->in[1];
    if (q.rows != p.rows || (q.cols != p.cols && q.cols != 1))
        return otad_fail(c, OTAD_ESHAPE, "p is %zux%zu, q is %zux%zu (must be the same, or "
                         "one column)", p.rows, p.cols, q.rows, q.cols);
    return shape_per_column(c, rows, cols);
}

static int loss_forward(otad_ctx *c)
{
    enum loss_kind kind = *(const enum loss_kind *)c->params;
    otad_value p = c->in[0], q = c->in[1];
    for (size_t j = 0; j < p.cols; j++) {
        const double *pj = p.data + j * p.rows, *qj = q.data + (q.cols > 1 ? j * q.rows : 0);
        double s = 0;
        for (size_t i = 0; i < p.rows; i++) {
            double d = pj[i] - qj[i];
            if (kind == L1)
                s += fabs(d);
            else if (kind == L2)
                s += d * d;
            else if (!(pj[i] >= 0 && qj[i] > 0))
                return otad_fail(c, OTAD_EDOMAIN, "entry (%zu,%zu): p = %g, q = %g (needs "
                                 "p ≥ 0, q > 0)", i, j, pj[i], qj[i]);
            else
                s += (pj[i] > 0 ? pj[i] * log(pj[i] / qj[i]) : 0) - d;
        }
        c->out.data[j] = s;
    }
    return OTAD_OK;
}

/* ∂/∂p, ∂/∂q: L1 ±sign(p − q); L2 ±2(p − q); KL log(p/q) and 1 − p/q. */
static int loss_vjp(otad_ctx *c)
{
    enum loss_kind kind = *(const enum loss_kind *)c->params;
    otad_value p = c->in[0], q = c->in[1];
    double *gp = otad_wanted_grad(c, 0), *gq = otad_wanted_grad(c, 1);
    for (size_t j = 0; j < p.cols; j++) {
        size_t pj = j * p.rows, qj = q.cols > 1 ? j * q.rows : 0;
        double g = c->out_grad[j];
        for (size_t i = 0; i < p.rows; i++) {
            double a = p.data[pj + i], b = q.data[qj + i], dp, dq;
            if (kind == L1)
                dp = (a > b) - (a < b), dq = -dp;
            else if (kind == L2)
                dp = 2 * (a - b), dq = -dp;
            else
                dp = log(a / b), dq = 1 - a / b;
            if (gp)
                gp[pj + i] += g * dp;
            if (gq)
                gq[qj + i] += g * dq;
        }
    }
    return OTAD_OK;
}

#define LOSS_OP(name_) \
    {.name = (name_), .arity = 2, .params_bytes = sizeof(enum loss_kind), \
     .shape = loss_shape, .forward = loss_forward, .vjp = loss_vjp}

static const otad_op op_l1 = LOSS_OP("loss_l1");
static const otad_op op_l2 = LOSS_OP("loss_l2");
static const otad_op op_kl = LOSS_OP("loss_kl");

static otad_var loss(otad_tape *t, const otad_op *op, enum loss_kind kind, otad_var p,
                     otad_var q)
{
    otad_var in[2] = {p, q};
    return otad_apply(t, op, &kind, 2, in);
}

otad_var otad_loss_l1(otad_tape *t, otad_var p, otad_var q) { return loss(t, &op_l1, L1, p, q); }
otad_var otad_loss_l2(otad_tape *t, otad_var p, otad_var q) { return loss(t, &op_l2, L2, p, q); }
otad_var otad_loss_kl(otad_tape *t, otad_var p, otad_var q) { return loss(t, &op_kl, KL, p, q); }
