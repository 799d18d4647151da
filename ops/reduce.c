/* Sums and the inner product. */
#include <cblas.h>
#include <limits.h>

#include "shape_rules.h"

/* ---- sum of all entries ------------------------------------------------- */

static int sum_forward(otad_ctx *c)
{
    const double *x = c->in[0].data;
    double s = 0;
    for (size_t k = 0; k < c->in[0].rows * c->in[0].cols; k++)
        s += x[k];
    c->out.data[0] = s;
    return OTAD_OK;
}

static int sum_vjp(otad_ctx *c)
{
    double g = c->out_grad[0];
    for (size_t k = 0; k < c->in[0].rows * c->in[0].cols; k++)
        c->in_grad[0][k] += g;
    return OTAD_OK;
}

static const otad_op op_sum = {.name = "sum", .arity = 1, .shape = shape_scalar,
                               .forward = sum_forward, .vjp = sum_vjp};

otad_var otad_sum(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_sum, NULL, 1, &x);
}

/* ---- sum of each column ------------------------------------------------- */

static int sum_cols_forward(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->in[0].cols; j++) {
        const double *x = c->in[0].data + j * n;
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += x[i];
        c->out.data[j] = s;
    }
    return OTAD_OK;
}

static int sum_cols_vjp(otad_ctx *c)
{
    size_t n = c->in[0].rows;
    for (size_t j = 0; j < c->in[0].cols; j++) {
        double *g = c->in_grad[0] + j * n;
        for (size_t i = 0; i < n; i++)
            g[i] += c->out_grad[j];
    }
    return OTAD_OK;
}

static const otad_op op_sum_cols = {.name = "sum_cols", .arity = 1, .shape = shape_per_column,
                                    .forward = sum_cols_forward, .vjp = sum_cols_vjp};

otad_var otad_sum_cols(otad_tape *t, otad_var x)
{
    return otad_apply(t, &op_sum_cols, NULL, 1, &x);
}

/* ---- inner product ⟨a, b⟩ ----------------------------------------------- */

static int dot_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value a = c->in[0], b = c->in[1];
    if (a.rows != b.rows || a.cols != b.cols)
        return otad_fail(c, OTAD_ESHAPE, "a is %zux%zu, b is %zux%zu", a.rows, a.cols, b.rows,
                         b.cols);
    if (a.rows * a.cols > (size_t)INT_MAX)
        return otad_fail(c, OTAD_ESHAPE, "%zu entries: more than BLAS can index", a.rows * a.cols);
    return shape_scalar(c, rows, cols);
}

static int dot_forward(otad_ctx *c)
{
    int n = (int)(c->in[0].rows * c->in[0].cols);
    c->out.data[0] = cblas_ddot(n, c->in[0].data, 1, c->in[1].data, 1);
    return OTAD_OK;
}

static int dot_vjp(otad_ctx *c)
{
    int n = (int)(c->in[0].rows * c->in[0].cols);
    double g = c->out_grad[0];
    if (otad_needs_grad(c, 0))
        cblas_daxpy(n, g, c->in[1].data, 1, c->in_grad[0], 1);
    if (otad_needs_grad(c, 1))
        cblas_daxpy(n, g, c->in[0].data, 1, c->in_grad[1], 1);
    return OTAD_OK;
}

static const otad_op op_dot = {.name = "dot", .arity = 2, .shape = dot_shape,
                               .forward = dot_forward, .vjp = dot_vjp};

otad_var otad_dot(otad_tape *t, otad_var a, otad_var b)
{
    otad_var in[2] = {a, b};
    return otad_apply(t, &op_dot, NULL, 2, in);
}
