/* Indexing by a list: gather rows or entries, and scatter-add them, each the
 * other's adjoint.  The index list is recorded as a constant value (exact
 * integers), so the op holds its own copy for as long as the tape needs it. */
#include <math.h>
#include <stdlib.h>

#include "ops.h"

enum index_kind { GATHER_ROWS, SCATTER_ADD_ROWS, GATHER, SCATTER_ADD };
enum { X, INDEX };

typedef struct index_params {
    enum index_kind kind;
    size_t rows, cols; /* the scatters' output */
} index_params;

static const char *const names[] = {"gather_rows", "scatter_add_rows", "gather", "scatter_add"};

/* How many rows (or entries) the index may reach. */
static size_t index_range(const otad_ctx *c)
{
    const index_params *p = c->params;
    otad_value x = c->in[X];
    switch (p->kind) {
    case GATHER_ROWS: return x.rows;
    case SCATTER_ADD_ROWS: return p->rows;
    case GATHER: return x.rows * x.cols;
    default: return p->rows * p->cols;
    }
}

static int index_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const index_params *p = c->params;
    otad_value x = c->in[X], index = c->in[INDEX];
    size_t n = index.rows * index.cols, range = index_range(c);
    if (p->kind == SCATTER_ADD_ROWS && n != x.rows)
        return otad_fail(c, OTAD_ESHAPE, "%zu indices for the %zu rows of x", n, x.rows);
    if (p->kind == SCATTER_ADD && n != x.rows * x.cols)
        return otad_fail(c, OTAD_ESHAPE, "%zu indices for the %zu entries of x", n,
                         x.rows * x.cols);
    for (size_t k = 0; k < n; k++)
        if (!(index.data[k] < (double)range)) /* the public functions gave whole numbers */
            return otad_fail(c, OTAD_EINVAL, "index[%zu] is %.0f, must be below %zu", k,
                             index.data[k], range);
    switch (p->kind) {
    case GATHER_ROWS: *rows = n, *cols = x.cols; break;
    case SCATTER_ADD_ROWS: *rows = p->rows, *cols = x.cols; break;
    case GATHER: *rows = n, *cols = 1; break;
    case SCATTER_ADD: *rows = p->rows, *cols = p->cols; break;
    }
    return OTAD_OK;
}

/* to[at(k)] += from[k'] over the index: rows (a whole row at a time) or
 * entries.  gather: to is the output, at = k, from = index[k]; scatter:
 * to[index[k]] += from[k]. */
static void move(otad_value index, int rows, int scatter, const double *from, size_t from_rows,
                 double *to, size_t to_rows, size_t cols)
{
    size_t n = index.rows * index.cols;
    for (size_t k = 0; k < n; k++) {
        size_t at = (size_t)index.data[k];
        size_t src = scatter ? k : at, dst = scatter ? at : k;
        if (!rows) {
            to[dst] += from[src];
            continue;
        }
        for (size_t j = 0; j < cols; j++)
            to[dst + j * to_rows] += from[src + j * from_rows];
    }
}

static int index_forward(otad_ctx *c)
{
    const index_params *p = c->params;
    otad_value x = c->in[X];
    size_t size = c->out.rows * c->out.cols;
    for (size_t k = 0; k < size; k++)
        c->out.data[k] = 0;
    int rows = p->kind == GATHER_ROWS || p->kind == SCATTER_ADD_ROWS;
    int scatter = p->kind == SCATTER_ADD_ROWS || p->kind == SCATTER_ADD;
    move(c->in[INDEX], rows, scatter, x.data, x.rows, c->out.data, c->out.rows, x.cols);
    return OTAD_OK;
}

/* The adjoint of a gather is the scatter-add by the same index, and back. */
static int index_vjp(otad_ctx *c)
{
    const index_params *p = c->params;
    double *x_bar = otad_wanted_grad(c, X);
    if (!x_bar)
        return OTAD_OK;
    int rows = p->kind == GATHER_ROWS || p->kind == SCATTER_ADD_ROWS;
    int scatter = p->kind == SCATTER_ADD_ROWS || p->kind == SCATTER_ADD;
    move(c->in[INDEX], rows, !scatter, c->out_grad, c->out.rows, x_bar, c->in[X].rows,
         c->out.cols);
    return OTAD_OK;
}

static const otad_op op_index = {.name = "index", .arity = 2,
                                 .params_bytes = sizeof(index_params), .shape = index_shape,
                                 .forward = index_forward, .vjp = index_vjp};

static otad_var by_index(otad_tape *t, otad_var x, size_t n, const size_t *index,
                         index_params p)
{
    if (!t)
        return (otad_var){0, 0};
    const char *name = names[p.kind];
    if (!index || n == 0) {
        otad_tape_fail(t, OTAD_EINVAL, "%s: %s", name, index ? "no indices" : "index is NULL");
        return (otad_var){0, 0};
    }
    double *as_values = malloc(n * sizeof *as_values);
    if (!as_values) {
        otad_tape_fail(t, OTAD_ENOMEM, "%s: out of memory for the index", name);
        return (otad_var){0, 0};
    }
    for (size_t k = 0; k < n; k++)
        as_values[k] = index[k] < ((size_t)1 << 53) ? (double)index[k] : INFINITY;
    otad_var in[2] = {x, otad_const_copy(t, n, 1, as_values)};
    free(as_values);
    return otad_apply(t, &op_index, &p, 2, in);
}

otad_var otad_gather_rows(otad_tape *t, otad_var x, size_t n, const size_t *index)
{
    return by_index(t, x, n, index, (index_params){GATHER_ROWS, 0, 0});
}

/* A scatter takes as many indices as x has rows (entries); where x is no
 * node, the engine's own check of it says so. */
static otad_var scatter(otad_tape *t, otad_var x, size_t n, const size_t *index,
                        index_params p)
{
    if (t && !otad_value_of(t, x).data) {
        otad_var in[2] = {x, x};
        return otad_apply(t, &op_index, &p, 2, in);
    }
    return by_index(t, x, n, index, p);
}

otad_var otad_scatter_add_rows(otad_tape *t, otad_var x, size_t rows, const size_t *index)
{
    return scatter(t, x, otad_value_of(t, x).rows, index,
                   (index_params){SCATTER_ADD_ROWS, rows, 0});
}

otad_var otad_gather(otad_tape *t, otad_var x, size_t n, const size_t *index)
{
    return by_index(t, x, n, index, (index_params){GATHER, 0, 0});
}

otad_var otad_scatter_add(otad_tape *t, otad_var x, size_t rows, size_t cols,
                          const size_t *index)
{
    otad_value v = otad_value_of(t, x);
    return scatter(t, x, v.rows * v.cols, index, (index_params){SCATTER_ADD, rows, cols});
}
