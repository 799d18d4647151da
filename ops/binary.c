/* add, sub, mul, div, xlogy, maximum and minimum with per-dimension broadcasting. */
#include <math.h>

#include "ops.h"

enum binary_kind { ADD, SUB, MUL, DIV, XLOGY, MAXIMUM, MINIMUM };

/* Strides that repeat a broadcast operand: 0 along a dimension of size 1. */
typedef struct broadcast {
    size_t rows, cols;
    size_t a_row, a_col, b_row, b_col;
} broadcast;

static broadcast broadcast_of(const otad_ctx *c)
{
    otad_value a = c->in[0], b = c->in[1];
    return (broadcast){c->out.rows, c->out.cols, a.rows > 1, a.cols > 1 ? a.rows : 0,
                       b.rows > 1, b.cols > 1 ? b.rows : 0};
}

static int broadcast_dim(size_t m, size_t n, size_t *out)
{
    if (m != n && m != 1 && n != 1)
        return 0;
    *out = m > n ? m : n;
    return 1;
}

static int binary_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value a = c->in[0], b = c->in[1];
    if (!broadcast_dim(a.rows, b.rows, rows) || !broadcast_dim(a.cols, b.cols, cols))
        return otad_fail(c, OTAD_ESHAPE, "cannot broadcast %zux%zu with %zux%zu", a.rows,
                         a.cols, b.rows, b.cols);
    return OTAD_OK;
}

/* One column: y = a ∘ b over n rows, a's rows at stride as and b's at bs
 * (1, or 0 for an entry repeated down the column).  Called with constant
 * strides, so that each case compiles to a vector loop. */
static inline __attribute__((always_inline)) void forward_column(enum binary_kind kind,
                                                                 const double *a, size_t as,
                                                                 const double *b, size_t bs,
                                                                 double *y, size_t n)
{
    switch (kind) {
    case ADD:
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] + b[i * bs];
        break;
    case SUB:
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] - b[i * bs];
        break;
    case MUL:
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] * b[i * bs];
        break;
    case DIV:
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] / b[i * bs];
        break;
    case XLOGY:
        for (size_t i = 0; i < n; i++) {
            double x = a[i * as];
            y[i] = x == 0 ? 0 : x * log(b[i * bs]);
        }
        break;
    case MAXIMUM: /* a NaN on either side is the result */
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] >= b[i * bs] || a[i * as] != a[i * as] ? a[i * as] : b[i * bs];
        break;
    case MINIMUM:
        for (size_t i = 0; i < n; i++)
            y[i] = a[i * as] <= b[i * bs] || a[i * as] != a[i * as] ? a[i * as] : b[i * bs];
        break;
    }
}

/* The share of the gradient of max(a, b) (or min) that goes to a: all of it
 * where a wins, half where they tie. */
static inline double share_of_a(double a, double b, int maximum)
{
    return a == b ? 0.5 : (a > b) == maximum ? 1 : 0;
}

static int binary_forward(otad_ctx *c)
{
    enum binary_kind kind = *(const enum binary_kind *)c->params;
    broadcast s = broadcast_of(c);
    const double *a = c->in[0].data, *b = c->in[1].data;
    size_t b_size = c->in[1].rows * c->in[1].cols, zeros = 0;
    for (size_t k = 0; kind == DIV && k < b_size; k++)
        zeros += b[k] == 0; /* counted, not searched: the count vectorises */
    for (size_t k = 0; zeros && k < b_size; k++)
        if (b[k] == 0)
            return otad_fail(c, OTAD_EDOMAIN, "division by zero: divisor entry (%zu,%zu)",
                             k % c->in[1].rows, k / c->in[1].rows);
    if (kind == XLOGY)
        for (size_t j = 0; j < s.cols; j++)
            for (size_t i = 0; i < s.rows; i++) {
                double x = a[j * s.a_col + i * s.a_row], y = b[j * s.b_col + i * s.b_row];
                if (x != 0 && !(y > 0))
                    return otad_fail(c, OTAD_EDOMAIN, "entry (%zu,%zu): x = %g with y = %g "
                                     "(needs y > 0 where x ≠ 0)", i, j, x, y);
            }
    for (size_t j = 0; j < s.cols; j++) {
        const double *aj = a + j * s.a_col, *bj = b + j * s.b_col;
        double *y = c->out.data + j * s.rows;
        if (s.a_row && s.b_row)
            forward_column(kind, aj, 1, bj, 1, y, s.rows);
        else if (s.a_row)
            forward_column(kind, aj, 1, bj, 0, y, s.rows);
        else if (s.b_row)
            forward_column(kind, aj, 0, bj, 1, y, s.rows);
        else
            forward_column(kind, aj, 0, bj, 0, y, s.rows);
    }
    return OTAD_OK;
}

/* One column of the vjp, strides as forward_column's: accumulating at
 * stride 0 sums over the repeated entry. */
static inline __attribute__((always_inline)) void vjp_column(enum binary_kind kind,
                                                             const double *g, const double *y,
                                                             const double *a, size_t as,
                                                             const double *b, size_t bs,
                                                             double *ga, double *gb, size_t n)
{
    switch (kind) {
    case ADD:
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i];
        for (size_t i = 0; gb && i < n; i++)
            gb[i * bs] += g[i];
        break;
    case SUB:
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i];
        for (size_t i = 0; gb && i < n; i++)
            gb[i * bs] -= g[i];
        break;
    case MUL:
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i] * b[i * bs];
        for (size_t i = 0; gb && i < n; i++)
            gb[i * bs] += g[i] * a[i * as];
        break;
    case DIV:
        /* d(a/b)/db = −y/b, not −a/b²: b² overflows where y does not. */
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i] / b[i * bs];
        for (size_t i = 0; gb && i < n; i++)
            gb[i * bs] -= g[i] * (y[i] / b[i * bs]);
        break;
    case XLOGY:
        /* where x = 0 the value is 0 for every y: no gradient to y */
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i] * log(b[i * bs]);
        for (size_t i = 0; gb && i < n; i++)
            if (a[i * as] != 0)
                gb[i * bs] += g[i] * (a[i * as] / b[i * bs]);
        break;
    case MAXIMUM:
    case MINIMUM:
        for (size_t i = 0; ga && i < n; i++)
            ga[i * as] += g[i] * share_of_a(a[i * as], b[i * bs], kind == MAXIMUM);
        for (size_t i = 0; gb && i < n; i++)
            gb[i * bs] += g[i] * (1 - share_of_a(a[i * as], b[i * bs], kind == MAXIMUM));
        break;
    }
}

static int binary_vjp(otad_ctx *c)
{
    enum binary_kind kind = *(const enum binary_kind *)c->params;
    broadcast s = broadcast_of(c);
    const double *a = c->in[0].data, *b = c->in[1].data;
    double *ga = otad_wanted_grad(c, 0), *gb = otad_wanted_grad(c, 1);
    for (size_t j = 0; j < s.cols; j++) {
        const double *g = c->out_grad + j * s.rows, *y = c->out.data + j * s.rows;
        const double *aj = a + j * s.a_col, *bj = b + j * s.b_col;
        double *gaj = ga ? ga + j * s.a_col : NULL, *gbj = gb ? gb + j * s.b_col : NULL;
        if (s.a_row && s.b_row)
            vjp_column(kind, g, y, aj, 1, bj, 1, gaj, gbj, s.rows);
        else if (s.a_row)
            vjp_column(kind, g, y, aj, 1, bj, 0, gaj, gbj, s.rows);
        else if (s.b_row)
            vjp_column(kind, g, y, aj, 0, bj, 1, gaj, gbj, s.rows);
        else
            vjp_column(kind, g, y, aj, 0, bj, 0, gaj, gbj, s.rows);
    }
    return OTAD_OK;
}

#define BINARY_OP(name_) \
    {.name = (name_), .arity = 2, .params_bytes = sizeof(enum binary_kind), \
     .shape = binary_shape, .forward = binary_forward, .vjp = binary_vjp}

static const otad_op op_add = BINARY_OP("add");
static const otad_op op_sub = BINARY_OP("sub");
static const otad_op op_mul = BINARY_OP("mul");
static const otad_op op_div = BINARY_OP("div");
static const otad_op op_xlogy = BINARY_OP("xlogy");
static const otad_op op_maximum = BINARY_OP("maximum");
static const otad_op op_minimum = BINARY_OP("minimum");

static otad_var binary(otad_tape *t, const otad_op *op, enum binary_kind kind, otad_var a,
                       otad_var b)
{
    otad_var in[2] = {a, b};
    return otad_apply(t, op, &kind, 2, in);
}

otad_var otad_add(otad_tape *t, otad_var a, otad_var b) { return binary(t, &op_add, ADD, a, b); }
otad_var otad_sub(otad_tape *t, otad_var a, otad_var b) { return binary(t, &op_sub, SUB, a, b); }
otad_var otad_mul(otad_tape *t, otad_var a, otad_var b) { return binary(t, &op_mul, MUL, a, b); }
otad_var otad_div(otad_tape *t, otad_var a, otad_var b) { return binary(t, &op_div, DIV, a, b); }
otad_var otad_xlogy(otad_tape *t, otad_var x, otad_var y)
{
    return binary(t, &op_xlogy, XLOGY, x, y);
}

otad_var otad_maximum(otad_tape *t, otad_var a, otad_var b)
{
    return binary(t, &op_maximum, MAXIMUM, a, b);
}

otad_var otad_minimum(otad_tape *t, otad_var a, otad_var b)
{
    return binary(t, &op_minimum, MINIMUM, a, b);
}
