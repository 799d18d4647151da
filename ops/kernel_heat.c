/* The graph heat kernel K = M^(−S), M = I − τL_w = I + τ Σ_e s_e w_e (e_i − e_j)(e_i − e_j)ᵀ,
 * τ = ε/(4S) (Heitz et al. 2020, §4.1.2 and appendix A).
 *
 * Gradient to w: with x_k = M^(−k)x and y_s = M^(−s)ȳ,
 *     ∂⟨ȳ, Kx⟩/∂w_e = −τ s_e Σ_{s=1..S} (y_s[i] − y_s[j]) · (x_{S+1−s}[i] − x_{S+1−s}[j])
 * summed over columns.  The vjp recomputes the x_k and runs the y_s (the last
 * of which is x̄ = Kȳ, K being symmetric) side by side, as one block of 2B
 * columns that each solve advances together (on two threads, one block of B
 * a thread): nothing per solve is kept on the tape between forward and
 * backward, only half the steps in the vjp's workspace. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "graph.h"

typedef struct heat_config {
    otad_graph *graph;
    double eps;
    int steps;
} heat_config;

typedef struct heat {
    otad_graph *graph;
    otadC_factor factor;
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
    double nnz = ((const int *)h->factor.f->p)[h->factor.f->n];
    *info = (otad_kernel_info){g->n_vertices, g->n_vertices, hc->eps, 0, 0, 4.0 * nnz * hc->steps};
    return OTAD_OK;
}

static void heat_release(void *state)
{
    otadC_factor_free(&((heat *)state)->factor);
}

/* Columns [from, from + count) of x through the S solves, in rows of their own at xi. */
static void apply_columns(const heat *h, size_t from, size_t count, const double *x,
                          double beta, double *y, double *xi)
{
    size_t n = h->graph->n_vertices, stride = otadC_stride(count);
    otadC_gather(&h->factor, stride, count, x + from * n, xi);
    otadC_clear(&h->factor, stride, count, xi);
    for (size_t s = 0; s < h->steps; s++)
        otadC_solve(&h->factor, stride, xi, NULL);
    otadC_scatter(&h->factor, stride, count, xi, beta, y + from * n);
}

static int heat_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                      const double *x, double beta, double *y)
{
    (void)product; /* symmetric; no cost products (shape checks say so) */
    heat *h = state;
    int apart = otadC_columns_apart(&h->factor, ncols);
    size_t vectors = otadC_stride(ncols) / OTADO_LANES;
    size_t first = apart ? OTADO_LANES * ((vectors + 1) / 2) : ncols;
    size_t count[2] = {first, ncols - first}, n = h->graph->n_vertices;
    size_t rows = n * (otadC_stride(count[0]) + otadC_stride(count[1]));
    double *xi = otad_scratch(c, rows * sizeof *xi);
    if (!xi)
        return OTAD_ENOMEM;
#pragma omp parallel for num_threads(2) schedule(static, 1) if (apart)
    for (int part = 0; part < 2; part++)
        if (count[part])
            apply_columns(h, part ? first : 0, count[part], x, beta, y,
                          xi + (part ? n * otadC_stride(first) : 0));
    return OTAD_OK;
}

/* Four doubles as one vector (the compiler unrolls but does not vectorise
 * such short loops by itself). */
typedef double vec4 __attribute__((vector_size(4 * sizeof(double))));

static inline vec4 load4(const double *p)
{
    vec4 v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Σ_c (a_i − a_j)·(b_i − b_j) over n entries, four at a time (a plain loop
 * would be a scalar chain of additions). */
static inline double edge_product(const double *ai, const double *aj, const double *bi,
                                  const double *bj, size_t n)
{
    vec4 acc = {0, 0, 0, 0};
    size_t c = 0;
    for (; c + 4 <= n; c += 4)
        acc += (load4(ai + c) - load4(aj + c)) * (load4(bi + c) - load4(bj + c));
    double s = acc[0] + acc[1] + acc[2] + acc[3];
    for (; c < n; c++)
        s += (ai[c] - aj[c]) * (bi[c] - bj[c]);
    return s;
}

/* w̄_e −= τ s_e [⟨D_e y, D_e x⟩ + ⟨D_e y2, D_e x2⟩] over B columns, D_e the
 * difference across edge e, from rows of `stride` entries in the vertices'
 * order (where a grid's edges read rows near each other); without the
 * second pair when y2 is NULL. */
static void add_edge_terms(const heat *h, size_t B, size_t stride, const double *y,
                           const double *x, const double *y2, const double *x2, double *w_bar)
{
    const otad_graph *g = h->graph;
    for (size_t k = 0; k < g->n_edges; k++) {
        const size_t *f = g->sorted_edges + 3 * k, i = f[0] * stride, j = f[1] * stride;
        double sum = edge_product(y + i, y + j, x + i, x + j, B);
        if (y2)
            sum += edge_product(y2 + i, y2 + j, x2 + i, x2 + j, B);
        w_bar[f[2]] -= h->tau * g->scale[f[2]] * sum;
    }
}

/* The vjp to w with the x_k on one thread and the y_k on the other, each in
 * rows of its own (otadC_columns_apart).  Each keeps its first ⌈S/2⌉ steps;
 * after a barrier, each later step k of one meets step S + 1 − k of the
 * other.  The y side adds into a w̄ of its own, summed after. */
static int vjp_apart(const otad_ctx *c, const heat *h, const otad_kernel_vjp_args *a,
                     double *w_bar)
{
    size_t B = a->ncols, stride = otadC_stride(B), S = h->steps, n = h->graph->n_vertices;
    size_t size = n * stride, kept = (S + 1) / 2, edges = h->graph->n_edges;
    size_t per_side = (kept + 2) * size; /* kept steps, the working rows, a fresh step */
    double *block = otad_scratch(c, (2 * per_side + edges) * sizeof *block);
    if (!block)
        return OTAD_ENOMEM;
    double *w_y = block + 2 * per_side;
    memset(w_y, 0, edges * sizeof *w_y);
#pragma omp parallel num_threads(2)
    {
        int me = omp_get_thread_num(), threads = omp_get_num_threads();
        for (int side = me; side < 2; side += threads) {
            double *keep = block + side * per_side, *work = keep + kept * size;
            otadC_gather(&h->factor, stride, B, side ? a->ybar : a->x, work);
            otadC_clear(&h->factor, stride, B, work);
            for (size_t k = 1; k <= kept; k++)
                otadC_solve(&h->factor, stride, work, keep + (k - 1) * size);
        }
#pragma omp barrier
        if (me == 0 && S % 2) /* the middle step pairs with itself */
            add_edge_terms(h, B, stride, block + per_side + (kept - 1) * size,
                           block + (kept - 1) * size, NULL, NULL, w_bar);
        for (int side = me; side < 2; side += threads) {
            double *work = block + side * per_side + kept * size, *fresh = work + size;
            const double *other = block + (1 - side) * per_side;
            for (size_t k = kept + 1; k <= S; k++) {
                otadC_solve(&h->factor, stride, work, fresh);
                const double *met = other + (S - k) * size;
                if (side)
                    add_edge_terms(h, B, stride, fresh, met, NULL, NULL, w_y);
                else
                    add_edge_terms(h, B, stride, met, fresh, NULL, NULL, w_bar);
            }
        }
    }
    for (size_t e = 0; e < edges; e++)
        w_bar[e] += w_y[e];
    if (a->xbar) /* y_S = Kȳ = Kᵀȳ */
        otadC_scatter(&h->factor, stride, B, block + per_side + kept * size, 1.0, a->xbar);
    return OTAD_OK;
}

static int heat_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                    const otad_kernel_grads *grads)
{
    heat *h = state;
    double *w_bar = grads->param[0];
    if (!w_bar)
        return heat_apply(c, h, a->product, a->ncols, a->ybar, 1.0, a->xbar);
    if (otadC_columns_apart(&h->factor, 2 * a->ncols))
        return vjp_apart(c, h, a, w_bar);
    /* A working block of rows [x_k | y_k] (B entries each) advances x_k =
     * M^(−k)x and y_k = M^(−k)ȳ by one solve a step.  The gradient pairs y_s
     * with x_(S+1−s): the first S/2 steps keep their block, each later step k
     * meets the block of j = S + 1 − k and adds both of its pairs while its
     * own rows are fresh in cache. */
    size_t B = a->ncols, stride = otadC_stride(2 * B), S = h->steps, n = h->graph->n_vertices;
    size_t size = n * stride, half = S / 2;
    double *kept = otad_scratch(c, (half + 2) * size * sizeof *kept);
    if (!kept)
        return OTAD_ENOMEM;
    double *work = kept + half * size, *fresh = work + size;
    otadC_gather(&h->factor, stride, B, a->x, work);
    otadC_gather(&h->factor, stride, B, a->ybar, work + B);
    otadC_clear(&h->factor, stride, 2 * B, work);
    for (size_t k = 1; k <= S; k++) {
        otadC_solve(&h->factor, stride, work, k <= half ? kept + (k - 1) * size : fresh);
        if (k == S + 1 - k) /* the middle step of an odd S pairs with itself */
            add_edge_terms(h, B, stride, fresh + B, fresh, NULL, NULL, w_bar);
        else if (k > half) {
            const double *met = kept + (S - k) * size;
            add_edge_terms(h, B, stride, fresh + B, met, met + B, fresh, w_bar);
        }
    }
    if (a->xbar) /* y_S = Kȳ = Kᵀȳ */
        otadC_scatter(&h->factor, stride, B, work + B, 1.0, a->xbar);
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
