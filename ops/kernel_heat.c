/* The graph heat kernel K = M^(−S), M = I − τL_w = I + τ Σ_e s_e w_e (e_i − e_j)(e_i − e_j)ᵀ,
 * τ = ε/(4S) (seed 004, §4.1.2 and appendix A).
 *
 * Gradient to w: with x_k = M^(−k)x and y_s = M^(−s)ȳ,
 *     ∂⟨ȳ, Kx⟩/∂w_e = −τ s_e Σ_{s=1..S} (y_s[i] − y_s[j]) · (x_{S+1−s}[i] − x_{S+1−s}[j])
 * summed over columns.  The vjp recomputes the x_k (S solves) and the y_s
 * (S more, the last of which is x̄ = Kȳ, K being symmetric): nothing per
 * solve is kept on the tape between forward and backward. */
#include <math.h>
#include <string.h>

#include "graph.h"

typedef struct heat_config {
    otad_graph *graph;
    double eps;
    int steps;
} heat_config;

typedef struct heat {
    otad_graph *graph;
    cholmod_factor *factor;
    double tau;
    size_t steps;
    double *work;      /* steps + 1 interleaved blocks of n × work_cols */
    size_t work_cols;
} heat;

static int heat_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    heat *h = state;
    const heat_config *hc = config;
    otad_graph *g = hc->graph;
    if (!g)
        return otad_fail(c, OTAD_EINVAL, "heat kernel: no graph");
    if (!(hc->eps > 0) || !isfinite(hc->eps) || hc->steps < 1)
        return otad_fail(c, OTAD_EDOMAIN, "heat kernel: eps %g and steps %d (eps > 0, "
                         "steps ≥ 1)", hc->eps, hc->steps);
    otad_value w = c->in[0];
    if (c->n_in != 1 || w.rows != g->n_edges || w.cols != 1)
        return otad_fail(c, OTAD_ESHAPE, "heat kernel: weights are %zux%zu, the graph has %zu "
                         "edges", w.rows, w.cols, g->n_edges);
    h->graph = g;
    h->tau = hc->eps / (4.0 * hc->steps);
    h->steps = (size_t)hc->steps;
    double *values = otad_alloc(c, g->chol.nnz * sizeof *values);
    if (!values)
        return OTAD_ENOMEM;
    memset(values, 0, g->chol.nnz * sizeof *values);
    for (size_t v = 0; v < g->n_vertices; v++)
        values[g->diag_entry[v]] = 1;
    for (size_t e = 0; e < g->n_edges; e++) {
        if (!(w.data[e] > 0))
            return otad_fail(c, OTAD_EDOMAIN, "heat kernel: edge weight %zu is %g, must be "
                             "positive", e, w.data[e]);
        double a = h->tau * g->scale[e] * w.data[e];
        values[g->diag_entry[g->ends[2 * e]]] += a;
        values[g->diag_entry[g->ends[2 * e + 1]]] += a;
        values[g->edge_entry[e]] -= a;
    }
    int rc = otadC_factorize(c, &g->chol, values, &h->factor);
    if (rc != OTAD_OK)
        return rc;
    *info = (otad_kernel_info){g->n_vertices, g->n_vertices, hc->eps, 0, 0};
    return OTAD_OK;
}

static void heat_release(void *state)
{
    heat *h = state;
    if (h->factor)
        otadC_give_back(&h->graph->chol, h->factor);
    h->factor = NULL;
}

/* Block k of the workspace (n × ncols interleaved entries). */
static double *block(const otad_ctx *c, heat *h, size_t ncols, size_t k)
{
    size_t n = h->graph->n_vertices;
    if (ncols > h->work_cols) {
        double *w = otad_alloc(c, (h->steps + 1) * n * ncols * sizeof *w);
        if (!w)
            return NULL;
        h->work = w;
        h->work_cols = ncols;
    }
    return h->work + k * n * h->work_cols;
}

static int heat_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                      const double *x, double beta, double *y)
{
    (void)product; /* symmetric; no cost products (shape checks say so) */
    heat *h = state;
    double *xi = block(c, h, ncols, 0);
    if (!xi)
        return OTAD_ENOMEM;
    otadC_gather(h->factor, ncols, x, xi);
    for (size_t s = 0; s < h->steps; s++)
        otadC_solve(h->factor, ncols, xi);
    otadC_scatter(h->factor, ncols, xi, beta, y);
    return OTAD_OK;
}

/* w̄_e += −τ s_e Σ_c (y[i] − y[j])·(x[i] − x[j]) over the interleaved columns. */
static void add_edge_terms(const heat *h, size_t ncols, const double *y, const double *x,
                           double *w_bar)
{
    const otad_graph *g = h->graph;
    const size_t *position = g->chol.position;
    for (size_t e = 0; e < g->n_edges; e++) {
        size_t i = position[g->ends[2 * e]] * ncols, j = position[g->ends[2 * e + 1]] * ncols;
        double s = 0;
        for (size_t c = 0; c < ncols; c++)
            s += (y[i + c] - y[j + c]) * (x[i + c] - x[j + c]);
        w_bar[e] -= h->tau * g->scale[e] * s;
    }
}

static int heat_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a)
{
    heat *h = state;
    double *w_bar = a->param_grad ? a->param_grad[0] : NULL;
    if (!w_bar)
        return heat_apply(c, h, a->product, a->ncols, a->ybar, 1.0, a->xbar);
    size_t n = h->graph->n_vertices, S = h->steps, size = n * a->ncols;
    double *y = block(c, h, a->ncols, S);
    if (!y)
        return OTAD_ENOMEM;
    /* x_k = M^(−k)x in blocks 0..S−1 (block k−1 holds x_k) */
    double *xk = block(c, h, a->ncols, 0);
    otadC_gather(h->factor, a->ncols, a->x, xk);
    otadC_solve(h->factor, a->ncols, xk);
    for (size_t k = 1; k < S; k++) {
        double *next = block(c, h, a->ncols, k);
        memcpy(next, xk, size * sizeof *next);
        otadC_solve(h->factor, a->ncols, next);
        xk = next;
    }
    otadC_gather(h->factor, a->ncols, a->ybar, y);
    for (size_t s = 1; s <= S; s++) {
        otadC_solve(h->factor, a->ncols, y);
        add_edge_terms(h, a->ncols, y, block(c, h, a->ncols, S - s), w_bar);
    }
    if (a->xbar)
        otadC_scatter(h->factor, a->ncols, y, 1.0, a->xbar);
    return OTAD_OK;
}

static const otad_kernel_class heat_class = {
    .name = "heat",
    .state_bytes = sizeof(heat),
    .setup = heat_setup,
    .apply = heat_apply,
    .vjp = heat_vjp,
    .release = heat_release,
};

otad_kernel otad_kernel_heat(otad_tape *t, otad_graph *graph, otad_var w, double eps, int steps)
{
    heat_config config = {graph, eps, steps};
    return otad_kernel_new(t, &heat_class, &config, 1, &w);
}
