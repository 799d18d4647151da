/* Entry-by-entry functions with kinks: abs, relu, clip, Huber.  At a kink
 * the gradient is one side's (the subgradient a fit's step can take):
 * abs and relu give 0 at 0, clip passes the gradient on at its bounds as
 * inside them, Huber has none (it is smooth). */
#include <math.h>

#include "shape_rules.h"

static size_t size_of(otad_value v)
{
    return v.rows * v.cols;
}

/* ---- abs ------------------------------------------------------------------ */

static int abs_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = fabs(x[k]);
    return OTAD_OK;
}

static int abs_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += x[k] > 0 ? c->out_grad[k] : x[k] < 0 ? -c->out_grad[k] : 0;
    return OTAD_OK;
}

static const otad_op op_abs = {.name = "abs", .arity = 1, .shape = shape_of_input,
                               .forward = abs_forward, .vjp = abs_vjp};

otad_var otad_abs(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_abs, NULL, 1, &x);
}

/* ---- clip to [lo, hi], and relu = clip to [0, ∞) -------------------------- */

typedef struct bounds {
    double lo, hi;
} bounds;

/* NaN stays NaN (a comparison with it is false). */
static int clip_forward(otad_ctx *c)
{
    const bounds *b = c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = x[k] < b->lo ? b->lo : x[k] > b->hi ? b->hi : x[k];
    return OTAD_OK;
}

static int clip_vjp(otad_ctx *c)
{
    const bounds *b = c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += x[k] >= b->lo && x[k] <= b->hi ? c->out_grad[k] : 0;
    return OTAD_OK;
}

static const otad_op op_clip = {.name = "clip", .arity = 1, .params_bytes = sizeof(bounds),
                                .shape = shape_of_input, .forward = clip_forward,
                                .vjp = clip_vjp};

otad_var otad_clip(otad_tape *t, otad_var x, double lo, double hi)
{
    if (isnan(lo) || isnan(hi) || lo > hi) {
        otad_tape_fail(t, OTAD_EDOMAIN, "clip: bounds [%g, %g], must have lo ≤ hi", lo, hi);
        return (otad_var){0, 0};
    }
    bounds b = {lo, hi};
    return otad_apply(t, &op_clip, &b, 1, &x);
}

/* relu's gradient at 0 is 0, not clip's 1: the usual convention. */
static int relu_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = x[k] > 0 ? x[k] : x[k] == x[k] ? 0 : x[k];
    return OTAD_OK;
}

static int relu_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += x[k] > 0 ? c->out_grad[k] : 0;
    return OTAD_OK;
}

static const otad_op op_relu = {.name = "relu", .arity = 1, .shape = shape_of_input,
                                .forward = relu_forward, .vjp = relu_vjp};

otad_var otad_relu(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_relu, NULL, 1, &x);
}

/* ---- Huber: x²/2 where |x| ≤ δ, δ(|x| − δ/2) beyond ------------------------ */

static int huber_forward(otad_ctx *c)
{
    double delta = *(const double *)c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++) {
        double a = fabs(x[k]);
        c->out.data[k] = a <= delta ? 0.5 * x[k] * x[k] : delta * (a - 0.5 * delta);
    }
    return OTAD_OK;
}

/* x clipped to [−δ, δ]. */
static int huber_vjp(otad_ctx *c)
{
    double delta = *(const double *)c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++) {
        double slope = x[k] < -delta ? -delta : x[k] > delta ? delta : x[k];
        c->in_grad[0][k] += c->out_grad[k] * slope;
    }
    return OTAD_OK;
}

static const otad_op op_huber = {.name = "huber", .arity = 1, .params_bytes = sizeof(double),
                                 .shape = shape_of_input, .forward = huber_forward,
                                 .vjp = huber_vjp};

otad_var otad_huber(otad_tape *t, otad_var x, double delta)
{
    if (!(delta > 0) || !isfinite(delta)) {
        otad_tape_fail(t, OTAD_EDOMAIN, "huber: delta is %g, must be finite and > 0", delta);
        return (otad_var){0, 0};
    }
    return otad_apply(t, &op_huber, &delta, 1, &x);
}
