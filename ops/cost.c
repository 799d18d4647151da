/* Squared Euclidean cost between two point sets, from differences (not
 * ‖x‖² + ‖y‖² − 2xy, which loses the small costs to cancellation). */
#include "cost.h"
#include "ops.h"

static int sqdist_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    otad_value x = c->in[0], y = c->in[1];
    if (x.cols != y.cols)
        return otad_fail(c, OTAD_ESHAPE, "points of dimension %zu (x is %zux%zu) and %zu "
                         "(y is %zux%zu)", x.cols, x.rows, x.cols, y.cols, y.rows, y.cols);
    *rows = x.rows;
    *cols = y.rows;
    return OTAD_OK;
}

static int sqdist_forward(otad_ctx *c)
{
    otad_value x = c->in[0], y = c->in[1];
    size_t n = x.rows, m = y.rows;
#pragma omp parallel for schedule(static) if (n * m > (1u << 18))
    for (size_t j = 0; j < m; j++) {
        double *cj = c->out.data + j * n;
        for (size_t i = 0; i < n; i++)
            cj[i] = 0;
        for (size_t k = 0; k < x.cols; k++) {
            const double *xk = x.data + k * n;
            double yjk = y.data[j + k * m];
            for (size_t i = 0; i < n; i++)
                cj[i] += (xk[i] - yjk) * (xk[i] - yjk);
        }
    }
    return OTAD_OK;
}

void otadO_sqdist_vjp(const double *x, size_t n, const double *y, size_t m, size_t d, size_t j0,
                      size_t w, const double *cbar, double *gx, double *gy)
{
    for (size_t j = 0; j < w; j++)
        for (size_t k = 0; k < d; k++) {
            const double *xk = x + k * n, *cj = cbar + j * n;
            double yjk = y[j0 + j + k * m], s = 0;
            for (size_t i = 0; i < n; i++) {
                double t = 2 * cj[i] * (xk[i] - yjk);
                if (gx)
                    gx[i + k * n] += t;
                s += t;
            }
            if (gy)
                gy[j0 + j + k * m] -= s;
        }
}

/* One pass over C̄. */
static int sqdist_vjp(otad_ctx *c)
{
    otad_value x = c->in[0], y = c->in[1];
    otadO_sqdist_vjp(x.data, x.rows, y.data, y.rows, x.cols, 0, y.rows, c->out_grad,
                     otad_wanted_grad(c, 0), otad_wanted_grad(c, 1));
    return OTAD_OK;
}

static const otad_op op_sqdist = {.name = "sqdist", .arity = 2, .shape = sqdist_shape,
                                  .forward = sqdist_forward, .vjp = sqdist_vjp};

otad_var otad_sqdist(otad_tape *t, otad_var x, otad_var y)
{
    otad_var in[2] = {x, y};
    return otad_apply(t, &op_sqdist, NULL, 2, in);
}
