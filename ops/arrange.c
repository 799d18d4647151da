/* Concatenation, slices and reshapes: ops that move entries around. */
#include <string.h>

#include "ops.h"

/* ---- concatenation ------------------------------------------------------ */

typedef struct concat_params {
    int vertical; /* 1: one above the other; 0: side by side */
} concat_params;

static int concat_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    int vertical = ((const concat_params *)c->params)->vertical;
    if (c->n_in == 0)
        return otad_fail(c, OTAD_EINVAL, "nothing to concatenate");
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    for (size_t i = 1; i < c->n_in; i++) {
        otad_value x = c->in[i];
        if (vertical ? x.cols != *cols : x.rows != *rows)
            return otad_fail(c, OTAD_ESHAPE, "input %zu is %zux%zu, input 0 is %zux%zu", i,
                             x.rows, x.cols, c->in[0].rows, c->in[0].cols);
        *(vertical ? rows : cols) += vertical ? x.rows : x.cols;
    }
    return OTAD_OK;
}

/* Column j of input i sits at row `offset` of column j of the output
 * (vertical), or is column `offset + j` (side by side: one block copy). */
static int concat_forward(otad_ctx *c)
{
    int vertical = ((const concat_params *)c->params)->vertical;
    size_t offset = 0, ld = c->out.rows;
    for (size_t i = 0; i < c->n_in; i++) {
        otad_value x = c->in[i];
        if (!vertical) {
            memcpy(c->out.data + offset * ld, x.data, x.rows * x.cols * sizeof(double));
            offset += x.cols;
            continue;
        }
        for (size_t j = 0; j < x.cols; j++)
            memcpy(c->out.data + j * ld + offset, x.data + j * x.rows, x.rows * sizeof(double));
        offset += x.rows;
    }
    return OTAD_OK;
}

static int concat_vjp(otad_ctx *c)
{
    int vertical = ((const concat_params *)c->params)->vertical;
    size_t offset = 0, ld = c->out.rows;
    for (size_t i = 0; i < c->n_in; i++) {
        otad_value x = c->in[i];
        for (size_t j = 0; otad_needs_grad(c, i) && j < x.cols; j++) {
            const double *g = vertical ? c->out_grad + j * ld + offset
                                       : c->out_grad + (offset + j) * ld;
            double *gx = c->in_grad[i] + j * x.rows;
            for (size_t r = 0; r < x.rows; r++)
                gx[r] += g[r];
        }
        offset += vertical ? x.rows : x.cols;
    }
    return OTAD_OK;
}

static const otad_op op_concat = {.name = "concat", .arity = OTAD_VARIADIC,
                                  .params_bytes = sizeof(concat_params), .shape = concat_shape,
                                  .forward = concat_forward, .vjp = concat_vjp};

otad_var otad_hcat(otad_tape *t, size_t n, const otad_var *xs)
{
    concat_params p = {0};
    return otad_apply(t, &op_concat, &p, n, xs);
}

otad_var otad_vcat(otad_tape *t, size_t n, const otad_var *xs)
{
    concat_params p = {1};
    return otad_apply(t, &op_concat, &p, n, xs);
}

/* ---- slice -------------------------------------------------------------- */

typedef struct slice_params {
    size_t row, rows, col, cols;
} slice_params;

static int slice_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const slice_params *p = c->params;
    otad_value x = c->in[0];
    if (p->row >= x.rows || p->rows > x.rows - p->row || p->col >= x.cols ||
        p->cols > x.cols - p->col)
        return otad_fail(c, OTAD_ESHAPE, "rows [%zu, %zu+%zu) and columns [%zu, %zu+%zu) "
                         "outside a %zux%zu value", p->row, p->row, p->rows, p->col, p->col,
                         p->cols, x.rows, x.cols);
    *rows = p->rows;
    *cols = p->cols;
    return OTAD_OK;
}

static int slice_forward(otad_ctx *c)
{
    const slice_params *p = c->params;
    otad_value x = c->in[0];
    for (size_t j = 0; j < p->cols; j++)
        memcpy(c->out.data + j * p->rows, x.data + (p->col + j) * x.rows + p->row,
               p->rows * sizeof(double));
    return OTAD_OK;
}

static int slice_vjp(otad_ctx *c)
{
    const slice_params *p = c->params;
    size_t ld = c->in[0].rows;
    for (size_t j = 0; j < p->cols; j++) {
        double *gx = c->in_grad[0] + (p->col + j) * ld + p->row;
        const double *g = c->out_grad + j * p->rows;
        for (size_t i = 0; i < p->rows; i++)
            gx[i] += g[i];
    }
    return OTAD_OK;
}

static const otad_op op_slice = {.name = "slice", .arity = 1, .params_bytes = sizeof(slice_params),
                                 .shape = slice_shape, .forward = slice_forward,
                                 .vjp = slice_vjp};

otad_var otad_slice(otad_tape *t, otad_var x, size_t row, size_t rows, size_t col, size_t cols)
{
    slice_params p = {row, rows, col, cols};
    return otad_apply(t, &op_slice, &p, 1, &x);
}

otad_var otad_cols(otad_tape *t, otad_var x, size_t first, size_t count)
{
    return otad_slice(t, x, 0, otad_value_of(t, x).rows, first, count);
}

/* ---- reshape ------------------------------------------------------------ */

typedef struct reshape_params {
    size_t rows, cols;
} reshape_params;

static int reshape_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const reshape_params *p = c->params;
    otad_value x = c->in[0];
    size_t size = x.rows * x.cols;
    if (p->cols == 0 || p->rows != size / p->cols || p->rows * p->cols != size)
        return otad_fail(c, OTAD_ESHAPE, "cannot reshape %zux%zu to %zux%zu", x.rows, x.cols,
                         p->rows, p->cols);
    *rows = p->rows;
    *cols = p->cols;
    return OTAD_OK;
}

static int reshape_forward(otad_ctx *c)
{
    memcpy(c->out.data, c->in[0].data, c->out.rows * c->out.cols * sizeof(double));
    return OTAD_OK;
}

static int reshape_vjp(otad_ctx *c)
{
    for (size_t k = 0; k < c->out.rows * c->out.cols; k++)
        c->in_grad[0][k] += c->out_grad[k];
    return OTAD_OK;
}

static const otad_op op_reshape = {.name = "reshape", .arity = 1,
                                   .params_bytes = sizeof(reshape_params), .shape = reshape_shape,
                                   .forward = reshape_forward, .vjp = reshape_vjp};

otad_var otad_reshape(otad_tape *t, otad_var x, size_t rows, size_t cols)
{
    reshape_params p = {rows, cols};
    return otad_apply(t, &op_reshape, &p, 1, &x);
}

/* ---- repeating columns -------------------------------------------------- */

typedef struct repeat_params {
    size_t times;
    int tile; /* 1: the whole block again and again; 0: each column in turn */
} repeat_params;

/* Output column of copy r of input column f. */
static size_t repeated(const repeat_params *p, size_t f, size_t r, size_t cols)
{
    return p->tile ? r * cols + f : f * p->times + r;
}

static int repeat_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const repeat_params *p = c->params;
    if (p->times == 0 || c->in[0].cols > SIZE_MAX / p->times)
        return otad_fail(c, OTAD_EINVAL, "cannot repeat %zu columns %zu times", c->in[0].cols,
                         p->times);
    *rows = c->in[0].rows;
    *cols = c->in[0].cols * p->times;
    return OTAD_OK;
}

static int repeat_forward(otad_ctx *c)
{
    const repeat_params *p = c->params;
    size_t n = c->in[0].rows, cols = c->in[0].cols;
    for (size_t f = 0; f < cols; f++)
        for (size_t r = 0; r < p->times; r++)
            memcpy(c->out.data + repeated(p, f, r, cols) * n, c->in[0].data + f * n,
                   n * sizeof(double));
    return OTAD_OK;
}

static int repeat_vjp(otad_ctx *c)
{
    const repeat_params *p = c->params;
    size_t n = c->in[0].rows, cols = c->in[0].cols;
    for (size_t f = 0; f < cols; f++)
        for (size_t r = 0; r < p->times; r++) {
            const double *g = c->out_grad + repeated(p, f, r, cols) * n;
            double *gx = c->in_grad[0] + f * n;
            for (size_t i = 0; i < n; i++)
                gx[i] += g[i];
        }
    return OTAD_OK;
}

static const otad_op op_repeat = {.name = "repeat_cols", .arity = 1,
                                  .params_bytes = sizeof(repeat_params), .shape = repeat_shape,
                                  .forward = repeat_forward, .vjp = repeat_vjp};
static const otad_op op_tile = {.name = "tile_cols", .arity = 1,
                                .params_bytes = sizeof(repeat_params), .shape = repeat_shape,
                                .forward = repeat_forward, .vjp = repeat_vjp};

otad_var otad_repeat_cols(otad_tape *t, otad_var x, size_t times)
{
    repeat_params p = {times, 0};
    return otad_apply(t, &op_repeat, &p, 1, &x);
}

otad_var otad_tile_cols(otad_tape *t, otad_var x, size_t times)
{
    repeat_params p = {times, 1};
    return otad_apply(t, &op_tile, &p, 1, &x);
}
