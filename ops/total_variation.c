/* The smoothed total variation of functions on a 1-, 2- or 3-D grid. */
#include <math.h>

#include "ops.h"

enum { MAX_AXES = 3 };

typedef struct tv_params {
    size_t n_axes, dims[MAX_AXES];
    double eta;
    int isotropic;
} tv_params;

static int tv_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const tv_params *p = c->params;
    size_t points = 1;
    for (size_t a = 0; a < p->n_axes; a++)
        points *= p->dims[a];
    if (c->in[0].rows != points)
        return otad_fail(c, OTAD_ESHAPE, "x has %zu rows, the grid %zu points", c->in[0].rows,
                         points);
    *rows = 1;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

/* The point's forward differences along each axis (0 at the last point of
 * an axis) from column x, and the neighbour each is taken with. */
static void differences(const tv_params *p, const double *x, size_t point, double *d,
                        size_t *next)
{
    size_t stride = 1, rest = point;
    for (size_t a = 0; a < p->n_axes; a++) {
        size_t at = rest % p->dims[a];
        rest /= p->dims[a];
        next[a] = at + 1 < p->dims[a] ? point + stride : point;
        d[a] = x[next[a]] - x[point];
        stride *= p->dims[a];
    }
}

/* The terms of one point, and each difference's weight ∂/∂Δ_a in w. */
static double point_terms(const tv_params *p, const double *d, double *w)
{
    double eta2 = p->eta * p->eta;
    if (p->isotropic) {
        double s = eta2;
        for (size_t a = 0; a < p->n_axes; a++)
            s += d[a] * d[a];
        double r = sqrt(s);
        for (size_t a = 0; a < p->n_axes; a++)
            w[a] = d[a] / r;
        return r - p->eta;
    }
    double total = 0;
    for (size_t a = 0; a < p->n_axes; a++) {
        double r = sqrt(d[a] * d[a] + eta2);
        w[a] = d[a] / r;
        total += r - p->eta;
    }
    return total;
}

/* One column's total variation; with g, the seed times its gradient added
 * to g as well. */
static double tv_column(const tv_params *p, const double *x, size_t n, double *g, double seed)
{
    double d[MAX_AXES], w[MAX_AXES], total = 0;
    size_t next[MAX_AXES];
    for (size_t i = 0; i < n; i++) {
        differences(p, x, i, d, next);
        total += point_terms(p, d, w);
        for (size_t a = 0; g && a < p->n_axes; a++) {
            g[next[a]] += seed * w[a];
            g[i] -= seed * w[a];
        }
    }
    return total;
}

static int tv_forward(otad_ctx *c)
{
    otad_value x = c->in[0];
    for (size_t j = 0; j < x.cols; j++)
        c->out.data[j] = tv_column(c->params, x.data + j * x.rows, x.rows, NULL, 0);
    return OTAD_OK;
}

static int tv_vjp(otad_ctx *c)
{
    otad_value x = c->in[0];
    for (size_t j = 0; j < x.cols; j++)
        tv_column(c->params, x.data + j * x.rows, x.rows, c->in_grad[0] + j * x.rows,
                  c->out_grad[j]);
    return OTAD_OK;
}

static const otad_op op_tv = {.name = "total_variation", .arity = 1,
                              .params_bytes = sizeof(tv_params), .shape = tv_shape,
                              .forward = tv_forward, .vjp = tv_vjp};

otad_var otad_total_variation(otad_tape *t, otad_var x, size_t n_axes, const size_t *dims,
                              double eta, int isotropic)
{
    tv_params p = {n_axes, {0}, eta, isotropic != 0};
    if (t && (n_axes < 1 || n_axes > MAX_AXES || !dims)) {
        otad_tape_fail(t, OTAD_EINVAL, "total_variation: %s", dims ? "n_axes must be 1 to 3"
                                                                   : "dims is NULL");
        return (otad_var){0, 0};
    }
    for (size_t a = 0; t && a < n_axes; a++)
        if ((p.dims[a] = dims[a]) == 0) {
            otad_tape_fail(t, OTAD_EINVAL, "total_variation: dims[%zu] is 0", a);
            return (otad_var){0, 0};
        }
    if (t && (!(eta > 0) || !isfinite(eta))) {
        otad_tape_fail(t, OTAD_EDOMAIN, "total_variation: eta is %g, must be finite and > 0",
                       eta);
        return (otad_var){0, 0};
    }
    return otad_apply(t, &op_tv, &p, 1, &x);
}
