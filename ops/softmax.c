/* softmax and logsumexp down each column, shifted by the column maximum so
 * that no exponential overflows. */
#include <math.h>

#include "shape_rules.h"

static double column_max(const double *x, size_t n)
{
    double m = x[0];
    for (size_t i = 1; i < n; i++)
        m = x[i] > m ? x[i] : m;
    return m;
}

/* log Σ_i exp(x_i), exact for any finite x. */
static double logsumexp(const double *x, size_t n)
{
    double m = column_max(x, n), s = 0;
    for (size_t i = 0; i < n; i++)
        s += exp(x[i] - m);
    return m + log(s);
}

/* ---- softmax ------------------------------------------------------------ */

static int softmax_forward(otad_ctx *c)
{
    size_t n = c->out.rows;
    for (size_t j = 0; j < c->out.cols; j++) {
        const double *x = c->in[0].data + j * n;
        double *y = c->out.data + j * n, m = column_max(x, n), s = 0;
        for (size_t i = 0; i < n; i++)
            s += y[i] = exp(x[i] - m);
        for (size_t i = 0; i < n; i++)
            y[i] /= s;
    }
    return OTAD_OK;
}

/* x̄ = y ⊙ (ȳ − ⟨ȳ, y⟩) per column. */
static int softmax_vjp(otad_ctx *c)
{
    size_t n = c->out.rows;
    for (size_t j = 0; j < c->out.cols; j++) {
        const double *y = c->out.data + j * n, *g = c->out_grad + j * n;
        double *gx = c->in_grad[0] + j * n, s = 0;
        for (size_t i = 0; i < n; i++)
            s += g[i] * y[i];
        for (size_t i = 0; i < n; i++)
            gx[i] += y[i] * (g[i] - s);
    }
    return OTAD_OK;
}

static const otad_op op_softmax = {.name = "softmax", .arity = 1, .shape = shape_of_input,
                                   .forward = softmax_forward, .vjp = softmax_vjp};

otad_var otad_softmax(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_softmax, NULL, 1, &x);
}

/* ---- logsumexp ---------------------------------------------------------- */

static int logsumexp_forward(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->in[0].cols; j++)
        c->out.data[j] = logsumexp(c->in[0].data + j * n, n);
    return OTAD_OK;
}

/* x̄_i = ȳ softmax(x)_i, with softmax(x)_i = exp(x_i − y). */
static int logsumexp_vjp(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->in[0].cols; j++) {
        const double *x = c->in[0].data + j * n;
        double *gx = c->in_grad[0] + j * n, y = c->out.data[j], g = c->out_grad[j];
        for (size_t i = 0; i < n; i++)
            gx[i] += g * exp(x[i] - y);
    }
    return OTAD_OK;
}

static const otad_op op_logsumexp = {.name = "logsumexp", .arity = 1, .shape = shape_per_column,
                                     .forward = logsumexp_forward, .vjp = logsumexp_vjp};

otad_var otad_logsumexp(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_logsumexp, NULL, 1, &x);
}
