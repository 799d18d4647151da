/* The graph heat kernel K = M^(−S), M = I − τL_w = I + τ Σ_e s_e w_e (e_i − e_j)(e_i − e_j)ᵀ,
 * τ = ε/(4S) (seed 004, §4.1.2 and appendix A).
 *
 * Gradient to w: with x_k = M^(−k)x and y_s = M^(−s)ȳ,
 *     ∂⟨ȳ, Kx⟩/∂w_e = −τ s_e Σ_{s=1..S} (y_s[i] − y_s[j]) · (x_{S+1−s}[i] − x_{S+1−s}[j])
 * summed over columns.  The vjp recomputes the x_k and runs the y_s (the last
 * of which is x̄ = Kȳ, K being symmetric) side by side, as one block of 2B
 * columns that each solve advances together: nothing per solve is kept on
 * the tape between forward and backward, only in the vjp's workspace. */
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
    /* S solves, each two sweeps with one multiply-add per nonzero of L */
    double nnz = ((const int *)h->factor->p)[h->factor->n];
    *info = (otad_kernel_info){g->n_vertices, g->n_vertices, hc->eps, 0, 0, 4.0 * nnz * hc->steps};
    return OTAD_OK;
}

static void heat_release(void *state)
{
    heat *h = state;
    if (h->factor)
        otadC_give_back(&h->graph->chol, h->factor);
    h->factor = NULL;
}

/* `blocks` blocks of n × ncols interleaved entries for this call. */
static double *workspace(const otad_ctx *c, const heat *h, size_t ncols, size_t blocks)
{
    return otad_scratch(c, blocks * h->graph->n_vertices * ncols * sizeof(double));
}

static int heat_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                      const double *x, double beta, double *y)
{
    (void)product; /* symmetric; no cost products (shape checks say so) */
    heat *h = state;
    double *xi = workspace(c, h, ncols, 1);
    if (!xi)
        return OTAD_ENOMEM;
    otadC_gather(h->factor, ncols, ncols, x, xi);
    for (size_t s = 0; s < h->steps; s++)
        otadC_solve(h->factor, ncols, xi);
    otadC_scatter(h->factor, ncols, ncols, xi, beta, y);
    return OTAD_OK;
}

/* Σ_c (y_i − y_j)·(x_i − x_j) over ncols interleaved entries, four at a time
 * (a plain loop would be a scalar chain of additions). */
static double edge_product(const double *yi, const double *yj, const double *xi,
                           const double *xj, size_t ncols)
{
    otadC_vec4 acc = {0, 0, 0, 0};
    size_t c = 0;
    for (; c + 4 <= ncols; c += 4)
        acc += (otadC_load4(yi + c) - otadC_load4(yj + c)) *
               (otadC_load4(xi + c) - otadC_load4(xj + c));
    double s = acc[0] + acc[1] + acc[2] + acc[3];
    for (; c < ncols; c++)
        s += (yi[c] - yj[c]) * (xi[c] - xj[c]);
    return s;
}

/* w̄_e += −τ s_e Σ_c (y[i] − y[j])·(x[i] − x[j]), rows of `stride` entries in
 * the vertices' order (where a grid's neighbours are near each other). */
static void add_edge_terms(const heat *h, size_t stride, size_t ncols, const double *y,
                           const double *x, double *w_bar)
{
    const otad_graph *g = h->graph;
    for (size_t e = 0; e < g->n_edges; e++) {
        size_t i = g->ends[2 * e] * stride, j = g->ends[2 * e + 1] * stride;
        w_bar[e] -= h->tau * g->scale[e] * edge_product(y + i, y + j, x + i, x + j, ncols);
    }
}

/* Row by row, the first half of `from` into the first half of `a` and its
 * second half into the second half of `b` (rows of 2·half entries), row r
 * going to row perm[r]: from the factor's order back to the vertices'.
 * Short copies, inlined rather than a memcpy call each. */
static void split_rows(const double *from, const int *perm, double *a, double *b, size_t rows,
                       size_t half)
{
    size_t stride = 2 * half;
    for (size_t r = 0; r < rows; r++) {
        const double *f = from + stride * r;
        size_t to = stride * (size_t)perm[r];
        double *to_a = a + to, *to_b = b + to + half;
        size_t c = 0;
        for (; c + 4 <= half; c += 4) {
            otadC_store4(to_a + c, otadC_load4(f + c));
            otadC_store4(to_b + c, otadC_load4(f + half + c));
        }
        for (; c < half; c++)
            to_a[c] = f[c], to_b[c] = f[half + c];
    }
}

static int heat_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a)
{
    heat *h = state;
    double *w_bar = a->param_grad ? a->param_grad[0] : NULL;
    if (!w_bar)
        return heat_apply(c, h, a->product, a->ncols, a->ybar, 1.0, a->xbar);
    /* A working block of rows of 2B entries advances x_k (first B) and y_k
     * (last B) by one solve a step.  Step k stores x_k into block k − 1 and
     * y_k into block S − k, in the vertices' order, so block k − 1 ends up
     * holding the pair (x_k, y_(S+1−k)) of the gradient's sum, side by side
     * in its rows. */
    size_t B = a->ncols, stride = 2 * B, S = h->steps, n = h->graph->n_vertices;
    size_t size = n * stride;
    double *z = otad_scratch(c, (S + 1) * size * sizeof *z), *work = z + S * size;
    if (!z)
        return OTAD_ENOMEM;
    otadC_gather(h->factor, stride, B, a->x, work);
    otadC_gather(h->factor, stride, B, a->ybar, work + B);
    for (size_t k = 1; k <= S; k++) {
        otadC_solve(h->factor, stride, work);
        split_rows(work, h->factor->Perm, z + (k - 1) * size, z + (S - k) * size, n, B);
    }
    for (size_t k = 0; k < S; k++)
        add_edge_terms(h, stride, B, z + k * size + B, z + k * size, w_bar);
    if (a->xbar) /* y_S = Kȳ = Kᵀȳ */
        otadC_scatter(h->factor, stride, B, work + B, 1.0, a->xbar);
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
