/* Graphs for heat kernels: edge lists, grid graphs, and the pattern of
 * I − τL_w (the diagonal and one lower-triangle entry per adjacent pair),
 * analysed once by CHOLMOD. */
#include <stdlib.h>
#include <string.h>

#include "graph.h"

static size_t find_root(size_t *parent, size_t v)
{
    while (parent[v] != v)
        v = parent[v] = parent[parent[v]];
    return v;
}

/* Number of connected components (union-find with path halving). */
static size_t components(size_t n, size_t n_edges, const size_t *ends, size_t *parent)
{
    size_t count = n;
    for (size_t v = 0; v < n; v++)
        parent[v] = v;
    for (size_t e = 0; e < n_edges; e++) {
        size_t a = find_root(parent, ends[2 * e]), b = find_root(parent, ends[2 * e + 1]);
        if (a != b) {
            parent[a] = b;
            count--;
        }
    }
    return count;
}

static int compare_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Each edge's ends, the lower first, edges in the order of their lower end. */
static void order_edges(otad_graph *g)
{
    for (size_t e = 0; e < g->n_edges; e++) {
        size_t a = g->ends[2 * e], b = g->ends[2 * e + 1];
        size_t *f = g->sorted_edges + 3 * e;
        f[0] = a < b ? a : b;
        f[1] = a < b ? b : a;
        f[2] = e;
    }
    qsort(g->sorted_edges, g->n_edges, 3 * sizeof *g->sorted_edges, compare_size);
}

/* The lower-triangle pattern: column j holds j, then the neighbours i > j,
 * sorted and without repeats.  Fills g->chol (analysis) and the positions of
 * every diagonal and edge entry in the values array. */
static int build_pattern(otad_graph *g, otad_error *err)
{
    size_t n = g->n_vertices, m = g->n_edges;
    size_t *start = calloc(n + 1, sizeof *start), *row = malloc((n + m) * sizeof *row);
    size_t *fill = malloc(n * sizeof *fill);
    int rc = start && row && fill ? OTAD_OK : OTAD_ENOMEM;
    if (rc == OTAD_OK) {
        for (size_t e = 0; e < m; e++) {
            size_t a = g->ends[2 * e], b = g->ends[2 * e + 1];
            start[(a < b ? a : b) + 1]++;
        }
        for (size_t j = 0; j < n; j++)
            start[j + 1] += start[j] + 1; /* + 1: the diagonal */
        for (size_t j = 0; j < n; j++) {
            row[start[j]] = j;
            fill[j] = start[j] + 1;
        }
        for (size_t e = 0; e < m; e++) {
            size_t a = g->ends[2 * e], b = g->ends[2 * e + 1];
            row[fill[a < b ? a : b]++] = a < b ? b : a;
        }
        /* sort each column's neighbours and squeeze out repeats */
        size_t out = 0;
        for (size_t j = 0; j < n; j++) {
            size_t first = start[j], last = start[j + 1];
            qsort(row + first + 1, last - first - 1, sizeof *row, compare_size);
            start[j] = out;
            for (size_t k = first; k < last; k++)
                if (k == first || k == first + 1 || row[k] != row[out - 1])
                    row[out++] = row[k];
        }
        start[n] = out;
        rc = otadC_pattern_init(&g->chol, n, start, row, err);
    }
    if (rc == OTAD_OK) {
        for (size_t v = 0; v < n; v++)
            g->diag_entry[v] = start[v];
        for (size_t e = 0; e < m; e++) {
            size_t a = g->ends[2 * e], b = g->ends[2 * e + 1], lo = a < b ? a : b;
            size_t hi = a < b ? b : a, *found = bsearch(&hi, row + start[lo] + 1,
                                                        start[lo + 1] - start[lo] - 1,
                                                        sizeof *row, compare_size);
            g->edge_entry[e] = (size_t)(found - row);
        }
    } else if (rc == OTAD_ENOMEM) {
        otad_error_set(err, rc, "graph: out of memory");
    }
    free(start), free(row), free(fill);
    return rc;
}

/* A graph from its edges; a grid graph with its shape (dims 0 otherwise),
 * which its default edge neighbours follow. */
static int new_graph(otad_graph **graph, size_t n_vertices, size_t n_edges, const size_t *ends,
                     const double *scale, size_t dims, const size_t *shape, otad_error *err)
{
    if (!graph)
        return otad_error_set(err, OTAD_EINVAL, "graph: NULL result pointer");
    *graph = NULL;
    if (n_edges && n_edges <= (size_t)1 << 30 && !ends)
        return otad_error_set(err, OTAD_EINVAL, "graph: ends is NULL for %zu edges", n_edges);
    if (n_vertices < 2 || n_vertices > (size_t)1 << 30 || n_edges > (size_t)1 << 30)
        return otad_error_set(err, OTAD_EINVAL, "graph: %zu vertices, %zu edges (needs 2 to "
                              "2^30 vertices and an edge list)", n_vertices, n_edges);
    for (size_t e = 0; e < n_edges; e++) {
        if (ends[2 * e] >= n_vertices || ends[2 * e + 1] >= n_vertices ||
            ends[2 * e] == ends[2 * e + 1])
            return otad_error_set(err, OTAD_EINVAL, "graph: edge %zu joins %zu and %zu (needs "
                                  "two distinct vertices below %zu)", e, ends[2 * e],
                                  ends[2 * e + 1], n_vertices);
        if (scale && !(scale[e] > 0 && scale[e] < 1e300))
            return otad_error_set(err, OTAD_EDOMAIN, "graph: edge %zu has scale %g, must be "
                                  "positive and finite", e, scale[e]);
    }
    otad_graph *g = calloc(1, sizeof *g);
    size_t *parent = malloc(n_vertices * sizeof *parent);
    if (g) {
        g->n_vertices = n_vertices;
        g->n_edges = n_edges;
        g->ends = malloc((2 * n_edges + 1) * sizeof *g->ends);
        g->scale = malloc((n_edges + 1) * sizeof *g->scale);
        g->edge_entry = malloc((n_edges + 1) * sizeof *g->edge_entry);
        g->diag_entry = malloc(n_vertices * sizeof *g->diag_entry);
        g->sorted_edges = malloc((3 * n_edges + 1) * sizeof *g->sorted_edges);
    }
    if (!g || !parent || !g->ends || !g->scale || !g->edge_entry || !g->diag_entry ||
        !g->sorted_edges) {
        free(parent);
        otad_graph_free(&g);
        return otad_error_set(err, OTAD_ENOMEM, "graph: out of memory");
    }
    if (n_edges) /* ends may be NULL then, which memcpy must not get even for 0 bytes */
        memcpy(g->ends, ends, 2 * n_edges * sizeof *ends);
    g->dims = dims;
    if (dims)
        memcpy(g->shape, shape, dims * sizeof *shape);
    order_edges(g);
    for (size_t e = 0; e < n_edges; e++)
        g->scale[e] = scale ? scale[e] : 1;
    size_t parts = components(n_vertices, n_edges, ends, parent);
    free(parent);
    int rc = parts == 1 ? build_pattern(g, err)
                        : otad_error_set(err, OTAD_EDOMAIN, "graph: not connected (%zu "
                                         "components); a heat kernel needs one", parts);
    if (rc == OTAD_OK)
        rc = otadO_default_neighbours(g, err);
    if (rc != OTAD_OK) {
        otad_graph_free(&g);
        return rc;
    }
    *graph = g;
    return OTAD_OK;
}

int otad_graph_new(otad_graph **graph, size_t n_vertices, size_t n_edges, const size_t *ends,
                   const double *scale, otad_error *err)
{
    return new_graph(graph, n_vertices, n_edges, ends, scale, 0, NULL, err);
}

/* Grid graphs: the edges along each axis in turn, each axis' edges in the
 * order of their lower vertex (x fastest). */
static int grid_graph(otad_graph **graph, size_t dims, const size_t *shape, otad_error *err)
{
    size_t n = 1, m = 0;
    for (size_t a = 0; a < dims; a++) {
        if (shape[a] < 2 || shape[a] > 1u << 15)
            return otad_error_set(err, OTAD_EINVAL, "grid graph: axis %zu has %zu points "
                                  "(2 to 32768)", a, shape[a]);
        n *= shape[a];
    }
    for (size_t a = 0; a < dims; a++)
        m += n / shape[a] * (shape[a] - 1);
    size_t *ends = malloc(2 * m * sizeof *ends);
    double *scale = malloc(m * sizeof *scale);
    if (!ends || !scale) {
        free(ends), free(scale);
        return otad_error_set(err, OTAD_ENOMEM, "grid graph: out of memory");
    }
    size_t e = 0, stride = 1;
    for (size_t a = 0; a < dims; a++) {
        double h = 1.0 / (double)(shape[a] - 1);
        for (size_t v = 0; v < n; v++)
            if (v / stride % shape[a] + 1 < shape[a]) {
                ends[2 * e] = v;
                ends[2 * e + 1] = v + stride;
                scale[e++] = 1 / (h * h);
            }
        stride *= shape[a];
    }
    int rc = new_graph(graph, n, m, ends, scale, dims, shape, err);
    free(ends), free(scale);
    return rc;
}

int otad_graph_grid2d(otad_graph **graph, size_t nx, size_t ny, otad_error *err)
{
    size_t shape[2] = {nx, ny};
    return grid_graph(graph, 2, shape, err);
}

int otad_graph_grid3d(otad_graph **graph, size_t nx, size_t ny, size_t nz, otad_error *err)
{
    size_t shape[3] = {nx, ny, nz};
    return grid_graph(graph, 3, shape, err);
}

size_t otad_graph_vertices(const otad_graph *g)
{
    return g ? g->n_vertices : 0;
}

size_t otad_graph_edges(const otad_graph *g)
{
    return g ? g->n_edges : 0;
}

size_t otad_graph_grid_shape(const otad_graph *g, size_t shape[3])
{
    for (size_t a = 0; shape && a < 3; a++)
        shape[a] = g && a < g->dims ? g->shape[a] : 0;
    return g ? g->dims : 0;
}

void otad_graph_edge(const otad_graph *g, size_t e, size_t *i, size_t *j)
{
    int known = g && e < g->n_edges;
    if (i)
        *i = known ? g->ends[2 * e] : SIZE_MAX;
    if (j)
        *j = known ? g->ends[2 * e + 1] : SIZE_MAX;
}

void otad_graph_free(otad_graph **graph)
{
    if (!graph || !*graph)
        return;
    otad_graph *g = *graph;
    otadC_pattern_destroy(&g->chol);
    free(g->ends), free(g->scale), free(g->edge_entry), free(g->diag_entry);
    free(g->neighbour_start), free(g->neighbours), free(g->sorted_edges);
    free(g);
    *graph = NULL;
}
