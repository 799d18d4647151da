/* op(A)·op(B) through cblas_dgemm; the vjp is two more dgemms that
 * accumulate into the gradients (β = 1). */
#include <cblas.h>
#include <limits.h>

#include "ops.h"

typedef struct matmul_params {
    int transpose_a, transpose_b;
} matmul_params;

static enum CBLAS_TRANSPOSE flag(int transpose)
{
    return transpose ? CblasTrans : CblasNoTrans;
}

/* Rows and columns of op(x). */
static void op_dims(otad_value x, int transpose, size_t *rows, size_t *cols)
{
    *rows = transpose ? x.cols : x.rows;
    *cols = transpose ? x.rows : x.cols;
}

static int matmul_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const matmul_params *p = c->params;
    size_t m, k, kb, n;
    op_dims(c->in[0], p->transpose_a, &m, &k);
    op_dims(c->in[1], p->transpose_b, &kb, &n);
    if (k != kb)
        return otad_fail(c, OTAD_ESHAPE, "op(a) is %zux%zu, op(b) is %zux%zu", m, k, kb, n);
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return otad_fail(c, OTAD_ESHAPE, "dimensions beyond what BLAS can index");
    *rows = m;
    *cols = n;
    return OTAD_OK;
}

static int matmul_forward(otad_ctx *c)
{
    const matmul_params *p = c->params;
    otad_value a = c->in[0], b = c->in[1];
    int m = (int)c->out.rows, n = (int)c->out.cols;
    int k = (int)(p->transpose_a ? a.rows : a.cols);
    cblas_dgemm(CblasColMajor, flag(p->transpose_a), flag(p->transpose_b), m, n, k, 1.0, a.data,
                (int)a.rows, b.data, (int)b.rows, 0.0, c->out.data, m);
    return OTAD_OK;
}

/* With G the output gradient: op(A)‾ = G op(B)ᵀ and op(B)‾ = op(A)ᵀ G; when an
 * operand is used transposed its gradient is the transpose of those. */
static int matmul_vjp(otad_ctx *c)
{
    const matmul_params *p = c->params;
    otad_value a = c->in[0], b = c->in[1];
    int m = (int)c->out.rows, n = (int)c->out.cols;
    int k = (int)(p->transpose_a ? a.rows : a.cols);
    int lda = (int)a.rows, ldb = (int)b.rows;
    const double *g = c->out_grad;
    if (otad_needs_grad(c, 0)) {
        if (!p->transpose_a) /* A‾ (m×k) = G op(B)ᵀ */
            cblas_dgemm(CblasColMajor, CblasNoTrans, flag(!p->transpose_b), m, k, n, 1.0, g, m,
                        b.data, ldb, 1.0, c->in_grad[0], lda);
        else                 /* A‾ (k×m) = op(B) Gᵀ */
            cblas_dgemm(CblasColMajor, flag(p->transpose_b), CblasTrans, k, m, n, 1.0, b.data,
                        ldb, g, m, 1.0, c->in_grad[0], lda);
    }
    if (otad_needs_grad(c, 1)) {
        if (!p->transpose_b) /* B‾ (k×n) = op(A)ᵀ G */
            cblas_dgemm(CblasColMajor, flag(!p->transpose_a), CblasNoTrans, k, n, m, 1.0, a.data,
                        lda, g, m, 1.0, c->in_grad[1], ldb);
        else                 /* B‾ (n×k) = Gᵀ op(A) */
            cblas_dgemm(CblasColMajor, CblasTrans, flag(p->transpose_a), n, k, m, 1.0, g, m,
                        a.data, lda, 1.0, c->in_grad[1], ldb);
    }
    return OTAD_OK;
}

static const otad_op op_matmul = {.name = "matmul", .arity = 2,
                                  .params_bytes = sizeof(matmul_params), .shape = matmul_shape,
                                  .forward = matmul_forward, .vjp = matmul_vjp};

otad_var otad_matmul(otad_tape *t, otad_var a, int transpose_a, otad_var b, int transpose_b)
{
    matmul_params p = {transpose_a != 0, transpose_b != 0};
    otad_var in[2] = {a, b};
    return otad_apply(t, &op_matmul, &p, 2, in);
}

/* ---- weighted combinations of column blocks ------------------------------ */

static int combine_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value x = c->in[0], w = c->in[1];
    if (w.rows * w.cols != x.cols)
        return otad_fail(c, OTAD_ESHAPE, "x has %zu columns, weights are %zux%zu (needs "
                         "rows·cols = %zu)", x.cols, w.rows, w.cols, x.cols);
    *rows = x.rows;
    *cols = w.cols;
    return OTAD_OK;
}

/* Block f of x (N×R) times column f of w: one dgemv per block. */
static int combine_forward(otad_ctx *c)
{
    otad_value x = c->in[0], w = c->in[1];
    int n = (int)x.rows, r = (int)w.rows;
    for (size_t f = 0; f < w.cols; f++)
        cblas_dgemv(CblasColMajor, CblasNoTrans, n, r, 1.0, x.data + f * w.rows * x.rows, n,
                    w.data + f * w.rows, 1, 0.0, c->out.data + f * x.rows, 1);
    return OTAD_OK;
}

/* x̄ block f += ȳ_f w_fᵀ;  w̄_f += (block f)ᵀ ȳ_f. */
static int combine_vjp(otad_ctx *c)
{
    otad_value x = c->in[0], w = c->in[1];
    int n = (int)x.rows, r = (int)w.rows;
    for (size_t f = 0; f < w.cols; f++) {
        const double *block = x.data + f * w.rows * x.rows, *g = c->out_grad + f * x.rows;
        if (otad_needs_grad(c, 0))
            cblas_dger(CblasColMajor, n, r, 1.0, g, 1, w.data + f * w.rows, 1,
                       c->in_grad[0] + f * w.rows * x.rows, n);
        if (otad_needs_grad(c, 1))
            cblas_dgemv(CblasColMajor, CblasTrans, n, r, 1.0, block, n, g, 1, 1.0,
                        c->in_grad[1] + f * w.rows, 1);
    }
    return OTAD_OK;
}

static const otad_op op_combine = {.name = "combine_blocks", .arity = 2, .shape = combine_shape,
                                   .forward = combine_forward, .vjp = combine_vjp};

otad_var otad_combine_blocks(otad_tape *t, otad_var x, otad_var w)
{
    otad_var in[2] = {x, w};
    return otad_apply(t, &op_combine, NULL, 2, in);
}
