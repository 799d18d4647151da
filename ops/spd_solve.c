/* x = A⁻¹b for a sparse SPD matrix A with a fixed pattern and values on the
 * tape (Heitz et al. 2020, appendix A): b̄ = A⁻¹x̄ and Ā = −b̄xᵀ on the pattern,
 * symmetrised because one stored value stands for A_ij and A_ji. */
#include <stdlib.h>
#include <string.h>

#include "cholesky.h"

struct otad_spd_pattern {
    otadC_pattern chol;
    size_t *column; /* column of each stored entry, for the gradient */
};

int otad_spd_pattern_new(otad_spd_pattern **pattern, size_t n, const size_t *col_start,
                         const size_t *row, otad_error *err)
{
    if (!pattern)
        return otad_error_set(err, OTAD_EINVAL, "spd pattern: NULL result pointer");
    *pattern = NULL;
    otad_spd_pattern *p = calloc(1, sizeof *p);
    if (!p)
        return otad_error_set(err, OTAD_ENOMEM, "spd pattern: out of memory");
    int rc = otadC_pattern_init(&p->chol, n, col_start, row, err);
    if (rc == OTAD_OK && !(p->column = malloc(p->chol.nnz * sizeof *p->column)))
        rc = otad_error_set(err, OTAD_ENOMEM, "spd pattern: out of memory");
    if (rc != OTAD_OK) {
        otad_spd_pattern_free(&p);
        return rc;
    }
    for (size_t j = 0; j < n; j++)
        for (size_t k = col_start[j]; k < col_start[j + 1]; k++)
            p->column[k] = j;
    *pattern = p;
    return OTAD_OK;
}

void otad_spd_pattern_free(otad_spd_pattern **pattern)
{
    if (!pattern || !*pattern)
        return;
    otadC_pattern_destroy(&(*pattern)->chol);
    free((*pattern)->column);
    free(*pattern);
    *pattern = NULL;
}

/* ---- the op: inputs (values, b) ----------------------------------------- */

typedef struct solve_state {
    otadC_factor factor;
} solve_state;

static int solve_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const otad_spd_pattern *p = *(otad_spd_pattern *const *)c->params;
    otad_value values = c->in[0], b = c->in[1];
    if (values.rows != p->chol.nnz || values.cols != 1)
        return otad_fail(c, OTAD_ESHAPE, "values are %zux%zu, the pattern has %zu entries",
                         values.rows, values.cols, p->chol.nnz);
    if (b.rows != p->chol.n)
        return otad_fail(c, OTAD_ESHAPE, "right-hand side has %zu rows, the matrix %zu",
                         b.rows, p->chol.n);
    *rows = b.rows;
    *cols = b.cols;
    return OTAD_OK;
}

/* x = A⁻¹b with the factor, through xi (n·otadC_stride(ncols) workspace). */
static void solve_with(const otadC_factor *f, size_t ncols, const double *b, double *x, double *xi)
{
    size_t stride = otadC_stride(ncols);
    otadC_gather(f, stride, ncols, b, xi);
    otadC_clear(f, stride, ncols, xi);
    otadC_solve(f, stride, xi, NULL);
    otadC_scatter(f, stride, ncols, xi, 0.0, x);
}

static int solve_forward(otad_ctx *c)
{
    otad_spd_pattern *p = *(otad_spd_pattern *const *)c->params;
    solve_state *s = c->saved;
    int rc = otadC_factorize(c, &p->chol, c->in[0].data, &s->factor);
    if (rc != OTAD_OK)
        return rc;
    double *xi = otad_scratch(c, c->out.rows * otadC_stride(c->out.cols) * sizeof *xi);
    if (!xi)
        return OTAD_ENOMEM;
    solve_with(&s->factor, c->in[1].cols, c->in[1].data, c->out.data, xi);
    return OTAD_OK;
}

static int solve_vjp(otad_ctx *c)
{
    const otad_spd_pattern *p = *(otad_spd_pattern *const *)c->params;
    solve_state *s = c->saved;
    size_t n = p->chol.n, ncols = c->out.cols;
    /* the solve's rows first, where they are aligned (see otadC_solve) */
    double *xi = otad_scratch(c, n * (otadC_stride(ncols) + ncols) * sizeof *xi);
    if (!xi)
        return OTAD_ENOMEM;
    double *b_bar = xi + n * otadC_stride(ncols);
    solve_with(&s->factor, ncols, c->out_grad, b_bar, xi);
    if (otad_needs_grad(c, 1))
        for (size_t k = 0; k < n * ncols; k++)
            c->in_grad[1][k] += b_bar[k];
    if (otad_needs_grad(c, 0)) {
        const int *row = p->chol.matrix->i;
        const double *x = c->out.data;
        for (size_t k = 0; k < p->chol.nnz; k++) {
            size_t i = (size_t)row[k], j = p->column[k];
            double g = 0;
            for (size_t col = 0; col < ncols; col++) {
                const double *bb = b_bar + col * n, *xx = x + col * n;
                g += i == j ? bb[i] * xx[i] : bb[i] * xx[j] + bb[j] * xx[i];
            }
            c->in_grad[0][k] -= g;
        }
    }
    return OTAD_OK;
}

static void solve_release(otad_ctx *c)
{
    otadC_factor_free(&((solve_state *)c->saved)->factor);
}

static const otad_op op_spd_solve = {.name = "spd_solve", .arity = 2,
                                     .params_bytes = sizeof(otad_spd_pattern *),
                                     .saved_bytes = sizeof(solve_state), .shape = solve_shape,
                                     .forward = solve_forward, .vjp = solve_vjp,
                                     .release = solve_release};

otad_var otad_spd_solve(otad_tape *t, otad_spd_pattern *pattern, otad_var values, otad_var b)
{
    if (!pattern) {
        otad_tape_fail(t, OTAD_EINVAL, "spd_solve: no pattern");
        return (otad_var){0, 0};
    }
    otad_var in[2] = {values, b};
    return otad_apply(t, &op_spd_solve, &pattern, 2, in);
}
