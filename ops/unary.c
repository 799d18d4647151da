/* Entry-by-entry smooth functions of one value: scale, exp, expm1, log, pow,
 * tanh, sqrt, sigmoid, softplus (the ones with kinks: piecewise.c). */
#include <math.h>

#include "shape_rules.h"
#include "vector_pow.h"

static size_t size_of(otad_value v)
{
    return v.rows * v.cols;
}

static int bad_entry(const otad_ctx *c, size_t k, const char *why)
{
    return otad_fail(c, OTAD_EDOMAIN, "entry (%zu,%zu) is %g, %s", k % c->in[0].rows,
                     k / c->in[0].rows, c->in[0].data[k], why);
}

/* ---- scale: αx ---------------------------------------------------------- */

static int scale_forward(otad_ctx *c)
{
    double alpha = *(const double *)c->params;
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = alpha * x[k];
    return OTAD_OK;
}

static int scale_vjp(otad_ctx *c)
{
    double alpha = *(const double *)c->params;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += alpha * c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_scale = {.name = "scale", .arity = 1, .params_bytes = sizeof(double),
                                 .shape = shape_of_input, .forward = scale_forward,
                                 .vjp = scale_vjp};

otad_var otad_scale(otad_tape *t, otad_var x, double alpha)
{
    if (!isfinite(alpha)) {
        otad_tape_fail(t, OTAD_EDOMAIN, "scale: factor %g is not finite", alpha);
        return (otad_var){0, 0};
    }
    return otad_apply(t, &op_scale, &alpha, 1, &x);
}

/* ---- exp ---------------------------------------------------------------- */

static int exp_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = exp(x[k]);
    return OTAD_OK;
}

static int exp_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += c->out_grad[k] * c->out.data[k];
    return OTAD_OK;
}

static const otad_op op_exp = {.name = "exp", .arity = 1, .shape = shape_of_input,
                               .forward = exp_forward, .vjp = exp_vjp};

otad_var otad_exp(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_exp, NULL, 1, &x);
}

/* ---- log ---------------------------------------------------------------- */

static int log_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++) {
        if (!(x[k] > 0))
            return bad_entry(c, k, "not positive");
        c->out.data[k] = log(x[k]);
    }
    return OTAD_OK;
}

static int log_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += c->out_grad[k] / x[k];
    return OTAD_OK;
}

static const otad_op op_log = {.name = "log", .arity = 1, .shape = shape_of_input,
                               .forward = log_forward, .vjp = log_vjp};

otad_var otad_log(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_log, NULL, 1, &x);
}

/* ---- pow: x^p ----------------------------------------------------------- */

/* Entries outside the vector pow's domain (x ≤ 0), counted in one vector
 * pass so that the common case, all positive, costs no scalar scan. */
static size_t not_positive(const double *x, size_t size)
{
    size_t count = 0;
#pragma omp simd reduction(+ : count)
    for (size_t k = 0; k < size; k++)
        count += !(x[k] > 0);
    return count;
}

static int pow_forward(otad_ctx *c)
{
    double p = *(const double *)c->params;
    const double *x = c->in[0].data;
    double *y = c->out.data;
    size_t size = size_of(c->out);
    if (not_positive(x, size) == 0) { /* the vector pow: its sign rules are not asked of it */
#pragma omp simd
        for (size_t k = 0; k < size; k++)
            y[k] = pow(x[k], p);
        return OTAD_OK;
    }
    int integer = p == nearbyint(p);
    for (size_t k = 0; k < size; k++) {
        if (x[k] < 0 && !integer)
            return bad_entry(c, k, "negative, and the exponent is not an integer");
        if (x[k] == 0 && p < 0)
            return bad_entry(c, k, "and the exponent is negative");
        y[k] = pow(x[k], p);
    }
    return OTAD_OK;
}

/* p·y/x (no second pow), and p·x^(p−1) at x = 0, where that is 0/0. */
static int pow_vjp(otad_ctx *c)
{
    double p = *(const double *)c->params;
    const double *x = c->in[0].data, *y = c->out.data, *g = c->out_grad;
    double *x_bar = c->in_grad[0];
    size_t size = size_of(c->out), zeros = 0;
#pragma omp simd reduction(+ : zeros)
    for (size_t k = 0; k < size; k++)
        zeros += x[k] == 0;
    if (zeros == 0) {
#pragma omp simd
        for (size_t k = 0; k < size; k++)
            x_bar[k] += g[k] * p * (y[k] / x[k]);
        return OTAD_OK;
    }
    for (size_t k = 0; k < size; k++)
        x_bar[k] += g[k] * p * (x[k] != 0 ? y[k] / x[k] : pow(x[k], p - 1));
    return OTAD_OK;
}

static const otad_op op_pow = {.name = "pow", .arity = 1, .params_bytes = sizeof(double),
                               .shape = shape_of_input, .forward = pow_forward, .vjp = pow_vjp};

otad_var otad_pow(otad_tape *t, otad_var x, double p)
{
    if (!isfinite(p)) {
        otad_tape_fail(t, OTAD_EDOMAIN, "pow: exponent %g is not finite", p);
        return (otad_var){0, 0};
    }
    return otad_apply(t, &op_pow, &p, 1, &x);
}

/* ---- expm1: e^x − 1 without the cancellation near 0 ---------------------- */

static int expm1_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = expm1(x[k]);
    return OTAD_OK;
}

static int expm1_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += c->out_grad[k] * (c->out.data[k] + 1);
    return OTAD_OK;
}

static const otad_op op_expm1 = {.name = "expm1", .arity = 1, .shape = shape_of_input,
                                 .forward = expm1_forward, .vjp = expm1_vjp};

otad_var otad_expm1(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_expm1, NULL, 1, &x);
}

/* ---- tanh: the activation of small generators -------------------------- */

static int tanh_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = tanh(x[k]);
    return OTAD_OK;
}

static int tanh_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < size_of(c->out); k++) {
        double y = c->out.data[k];
        c->in_grad[0][k] += c->out_grad[k] * (1 - y * y);
    }
    return OTAD_OK;
}

static const otad_op op_tanh = {.name = "tanh", .arity = 1, .shape = shape_of_input,
                                .forward = tanh_forward, .vjp = tanh_vjp};

otad_var otad_tanh(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_tanh, NULL, 1, &x);
}

/* ---- sqrt ----------------------------------------------------------------- */

static int sqrt_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++) {
        if (!(x[k] >= 0))
            return bad_entry(c, k, "not ≥ 0");
        c->out.data[k] = sqrt(x[k]);
    }
    return OTAD_OK;
}

/* 1/(2√x): infinite at 0, as the derivative is. */
static int sqrt_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += c->out_grad[k] / (2 * c->out.data[k]);
    return OTAD_OK;
}

static const otad_op op_sqrt = {.name = "sqrt", .arity = 1, .shape = shape_of_input,
                                .forward = sqrt_forward, .vjp = sqrt_vjp};

otad_var otad_sqrt(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_sqrt, NULL, 1, &x);
}

/* ---- sigmoid and softplus ------------------------------------------------- */

/* 1/(1 + e^(−x)), from e^(−|x|) so that neither side overflows. */
static double sigmoid(double x)
{
    double e = exp(-fabs(x));
    return x >= 0 ? 1 / (1 + e) : e / (1 + e);
}

static int sigmoid_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = sigmoid(x[k]);
    return OTAD_OK;
}

static int sigmoid_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < size_of(c->out); k++) {
        double y = c->out.data[k];
        c->in_grad[0][k] += c->out_grad[k] * y * (1 - y);
    }
    return OTAD_OK;
}

static const otad_op op_sigmoid = {.name = "sigmoid", .arity = 1, .shape = shape_of_input,
                                   .forward = sigmoid_forward, .vjp = sigmoid_vjp};

otad_var otad_sigmoid(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_sigmoid, NULL, 1, &x);
}

/* log(1 + e^x) = max(x, 0) + log1p(e^(−|x|)): no overflow, and no digits
 * lost for x ≪ 0. */
static int softplus_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->out.data[k] = (x[k] > 0 ? x[k] : 0) + log1p(exp(-fabs(x[k])));
    return OTAD_OK;
}

static int softplus_vjp(otad_ctx *c)
{
    const double *x = c->in[0].data;
    for (size_t k = 0; k < size_of(c->out); k++)
        c->in_grad[0][k] += c->out_grad[k] * sigmoid(x[k]);
    return OTAD_OK;
}

static const otad_op op_softplus = {.name = "softplus", .arity = 1, .shape = shape_of_input,
                                    .forward = softplus_forward, .vjp = softplus_vjp};

otad_var otad_softplus(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_softplus, NULL, 1, &x);
}
