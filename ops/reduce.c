/* Sums, means and the inner product. */
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

/* ---- means: of all entries, of each column, of each row -------------------- */

enum mean_kind { MEAN_ALL, MEAN_COLS, MEAN_ROWS };

static int mean_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    enum mean_kind kind = *(const enum mean_kind *)c->params;
    *rows = kind == MEAN_ROWS ? c->in[0].rows : 1;
    *cols = kind == MEAN_COLS ? c->in[0].cols : 1;
    return OTAD_OK;
}

/* How many entries each output entry averages. */
static double mean_count(const otad_ctx *c)
{
    enum mean_kind kind = *(const enum mean_kind *)c->params;
    otad_value x = c->in[0];
    return (double)(kind == MEAN_ALL ? x.rows * x.cols : kind == MEAN_COLS ? x.rows : x.cols);
}

/* The output entry that entry (i, j) of the input goes to. */
static size_t mean_at(const otad_ctx *c, size_t i, size_t j)
{
    enum mean_kind kind = *(const enum mean_kind *)c->params;
    return kind == MEAN_ALL ? 0 : kind == MEAN_COLS ? j : i;
}

static int mean_forward(otad_ctx *c)
{
    otad_value x = c->in[0];
    size_t out = c->out.rows * c->out.cols;
    for (size_t k = 0; k < out; k++)
        c->out.data[k] = 0;
    for (size_t j = 0; j < x.cols; j++)
        for (size_t i = 0; i < x.rows; i++)
            c->out.data[mean_at(c, i, j)] += x.data[i + j * x.rows];
    double count = mean_count(c);
    for (size_t k = 0; k < out; k++)
        c->out.data[k] /= count;
    return OTAD_OK;
}

static int mean_vjp(otad_ctx *c)
{
    otad_value x = c->in[0];
    double count = mean_count(c);
    for (size_t j = 0; j < x.cols; j++)
        for (size_t i = 0; i < x.rows; i++)
            c->in_grad[0][i + j * x.rows] += c->out_grad[mean_at(c, i, j)] / count;
    return OTAD_OK;
}

static const otad_op op_mean = {.name = "mean", .arity = 1,
                                .params_bytes = sizeof(enum mean_kind), .shape = mean_shape,
                                .forward = mean_forward, .vjp = mean_vjp};

static otad_var mean(otad_tape *t, otad_var x, enum mean_kind kind)
{
    return otad_apply(t, &op_mean, &kind, 1, &x);
}

otad_var otad_mean(otad_tape *t, otad_var x)
{
    return mean(t, x, MEAN_ALL);
}

otad_var otad_mean_cols(otad_tape *t, otad_var x)
{
    return mean(t, x, MEAN_COLS);
}

otad_var otad_mean_rows(otad_tape *t, otad_var x)
{
    return mean(t, x, MEAN_ROWS);
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
