/* Differences of edge values with their neighbouring edges, (D w)_e =
 * Σ_{e' ∈ N(e)} (w_e − w_e'): the smoothness prior on a graph's edge
 * weights, f_s(w) = ‖D w‖² (Heitz et al. 2020, eq. (9), Fig. 2). */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

/* Edges along axis a are numbered by their lower vertex, x fastest, over the
 * grid whose axis a has one point fewer (graph.c): their "orientation
 * array".  An edge's neighbours are the edges next to it in that array,
 * −1 then +1 along each axis in turn. */
static void grid_neighbours(const otad_graph *g, size_t *start, size_t *list)
{
    size_t e = 0, count = 0, offset = 0;
    start[0] = 0;
    for (size_t a = 0; a < g->dims; a++) {
        size_t shape[3] = {1, 1, 1}, stride[3], edges = 1;
        for (size_t b = 0; b < g->dims; b++)
            shape[b] = g->shape[b] - (b == a);
        for (size_t b = 0; b < 3; b++) {
            stride[b] = edges;
            edges *= shape[b];
        }
        for (size_t k = 0; k < edges; k++, e++) {
            for (size_t b = 0; b < g->dims; b++) {
                size_t coord = k / stride[b] % shape[b];
                if (coord > 0)
                    list[count++] = offset + k - stride[b];
                if (coord + 1 < shape[b])
                    list[count++] = offset + k + stride[b];
            }
            start[e + 1] = count;
        }
        offset += edges;
    }
}

/* The edges at each vertex (CSR), then per edge those at either end: an
 * edge joining the same two vertices is listed once. */
static int adjacent_edges(const otad_graph *g, size_t **start_out, size_t **list_out)
{
    size_t n = g->n_vertices, m = g->n_edges;
    size_t *at = calloc(n + 1, sizeof *at), *incident = malloc(2 * m * sizeof *incident);
    size_t *fill = malloc(n * sizeof *fill), *start = malloc((m + 1) * sizeof *start);
    size_t *list = NULL;
    int rc = at && incident && fill && start ? OTAD_OK : OTAD_ENOMEM;
    if (rc == OTAD_OK) {
        for (size_t k = 0; k < 2 * m; k++)
            at[g->ends[k] + 1]++;
        for (size_t v = 0; v < n; v++) {
            at[v + 1] += at[v];
            fill[v] = at[v];
        }
        for (size_t k = 0; k < 2 * m; k++)
            incident[fill[g->ends[k]]++] = k / 2;
        size_t total = 0;
        for (size_t k = 0; k < 2 * m; k++) /* an upper bound: repeats not yet removed */
            total += at[g->ends[k] + 1] - at[g->ends[k]] - 1;
        list = malloc((total + 1) * sizeof *list);
        rc = list ? OTAD_OK : OTAD_ENOMEM;
    }
    if (rc == OTAD_OK) {
        size_t count = 0;
        start[0] = 0;
        for (size_t e = 0; e < m; e++) {
            size_t i = g->ends[2 * e], j = g->ends[2 * e + 1];
            for (size_t k = at[i]; k < at[i + 1]; k++)
                if (incident[k] != e)
                    list[count++] = incident[k];
            for (size_t k = at[j]; k < at[j + 1]; k++) {
                size_t f = incident[k], a = g->ends[2 * f], b = g->ends[2 * f + 1];
                if (f != e && a != i && b != i) /* else already listed from i */
                    list[count++] = f;
            }
            start[e + 1] = count;
        }
    }
    free(at), free(incident), free(fill);
    if (rc != OTAD_OK) {
        free(start), free(list);
        return rc;
    }
    *start_out = start;
    *list_out = list;
    return OTAD_OK;
}

int otadO_default_neighbours(otad_graph *g, otad_error *err)
{
    size_t *start = NULL, *list = NULL;
    if (g->dims) {
        start = malloc((g->n_edges + 1) * sizeof *start);
        list = malloc((2 * g->dims * g->n_edges + 1) * sizeof *list);
        if (start && list)
            grid_neighbours(g, start, list);
    } else {
        adjacent_edges(g, &start, &list);
    }
    if (!start || !list) {
        free(start), free(list);
        return otad_error_set(err, OTAD_ENOMEM, "edge neighbours: out of memory");
    }
    g->neighbour_start = start;
    g->neighbours = list;
    return OTAD_OK;
}

int otad_graph_set_edge_neighbours(otad_graph *g, const size_t *start, const size_t *list,
                                   otad_error *err)
{
    if (!g || !start || (start[g->n_edges] && !list))
        return otad_error_set(err, OTAD_EINVAL, "edge neighbours: %s is NULL",
                              !g ? "graph" : !start ? "start" : "list");
    size_t m = g->n_edges;
    if (start[0] != 0)
        return otad_error_set(err, OTAD_EINVAL, "edge neighbours: start[0] is %zu, not 0",
                              start[0]);
    for (size_t e = 0; e < m; e++) {
        if (start[e + 1] < start[e] || start[e + 1] > (size_t)1 << 40)
            return otad_error_set(err, OTAD_EINVAL, "edge neighbours: start[%zu] = %zu is "
                                  "below start[%zu] = %zu", e + 1, start[e + 1], e, start[e]);
        for (size_t k = start[e]; k < start[e + 1]; k++)
            if (list[k] >= m || list[k] == e)
                return otad_error_set(err, OTAD_EINVAL, "edge neighbours: edge %zu lists %zu "
                                      "(needs another edge below %zu)", e, list[k], m);
    }
    size_t *own_start = malloc((m + 1) * sizeof *own_start);
    size_t *own_list = malloc((start[m] + 1) * sizeof *own_list);
    if (!own_start || !own_list) {
        free(own_start), free(own_list);
        return otad_error_set(err, OTAD_ENOMEM, "edge neighbours: out of memory");
    }
    memcpy(own_start, start, (m + 1) * sizeof *start);
    if (start[m])
        memcpy(own_list, list, start[m] * sizeof *list);
    free(g->neighbour_start), free(g->neighbours);
    g->neighbour_start = own_start;
    g->neighbours = own_list;
    return OTAD_OK;
}

int otad_graph_edge_neighbours(const otad_graph *g, size_t e, const size_t **list,
                               size_t *count, otad_error *err)
{
    if (!g || !list || !count)
        return otad_error_set(err, OTAD_EINVAL, "edge neighbours: NULL %s",
                              !g ? "graph" : !list ? "list pointer" : "count pointer");
    if (e >= g->n_edges)
        return otad_error_set(err, OTAD_EINVAL, "edge neighbours: edge %zu of a graph with %zu "
                              "edges", e, g->n_edges);
    *list = g->neighbours + g->neighbour_start[e];
    *count = g->neighbour_start[e + 1] - g->neighbour_start[e];
    return OTAD_OK;
}

/* ---- the op ---------------------------------------------------------------- */

typedef struct differences_params {
    const otad_graph *graph;
} differences_params;

static int differences_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const differences_params *p = c->params;
    if (c->in[0].rows != p->graph->n_edges)
        return otad_fail(c, OTAD_ESHAPE, "values are %zux%zu, the graph has %zu edges",
                         c->in[0].rows, c->in[0].cols, p->graph->n_edges);
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int differences_forward(otad_ctx *c)
{
    const otad_graph *g = ((const differences_params *)c->params)->graph;
    const size_t *start = g->neighbour_start, *list = g->neighbours, m = g->n_edges;
    for (size_t col = 0; col < c->in[0].cols; col++) {
        const double *w = c->in[0].data + col * m;
        double *y = c->out.data + col * m;
        for (size_t e = 0; e < m; e++) {
            double sum = 0;
            for (size_t k = start[e]; k < start[e + 1]; k++)
                sum += w[e] - w[list[k]];
            y[e] = sum;
        }
    }
    return OTAD_OK;
}

/* w̄_e += ȳ_e for each neighbour of e, w̄_e' −= ȳ_e: Dᵀȳ, for neighbour
 * lists that need not be symmetric. */
static int differences_vjp(otad_ctx *c)
{
    const otad_graph *g = ((const differences_params *)c->params)->graph;
    const size_t *start = g->neighbour_start, *list = g->neighbours, m = g->n_edges;
    for (size_t col = 0; col < c->in[0].cols; col++) {
        const double *ybar = c->out_grad + col * m;
        double *wbar = c->in_grad[0] + col * m;
        for (size_t e = 0; e < m; e++) {
            wbar[e] += (double)(start[e + 1] - start[e]) * ybar[e];
            for (size_t k = start[e]; k < start[e + 1]; k++)
                wbar[list[k]] -= ybar[e];
        }
    }
    return OTAD_OK;
}

static const otad_op op_differences = {.name = "edge_differences", .arity = 1,
                                       .params_bytes = sizeof(differences_params),
                                       .shape = differences_shape,
                                       .forward = differences_forward, .vjp = differences_vjp};

otad_var otad_edge_differences(otad_tape *t, otad_graph *g, otad_var w)
{
    static const otad_var none;
    if (!g) {
        otad_tape_fail(t, OTAD_EINVAL, "edge_differences: no graph");
        return none;
    }
    differences_params p = {g};
    return otad_apply(t, &op_differences, &p, 1, &w);
}
