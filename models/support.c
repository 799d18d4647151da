/* Supports: a fixed kernel described as plain data, so that a model records
 * it again on every tape it builds on. */
#include <string.h>

#include "models.h"

otad_support otad_support_grid(size_t dims, const size_t *shape, double eps)
{
    otad_support s = {.kind = OTAD_SUPPORT_GRID, .eps = eps, .dims = dims};
    for (size_t a = 0; a < dims && a < 3 && shape; a++)
        s.shape[a] = shape[a];
    return s;
}

otad_support otad_support_graph(otad_graph *graph, const double *weights, double eps, int steps)
{
    return (otad_support){.kind = OTAD_SUPPORT_GRAPH, .eps = eps, .graph = graph,
                          .weights = weights, .steps = steps};
}

otad_support otad_support_cost(size_t points, const double *cost, double eps)
{
    return (otad_support){.kind = OTAD_SUPPORT_COST, .eps = eps, .points = points, .cost = cost};
}

size_t otad_support_size(const otad_support *s)
{
    if (!s)
        return 0;
    switch (s->kind) {
    case OTAD_SUPPORT_GRID: {
        if (s->dims < 1 || s->dims > 3)
            return 0;
        size_t n = 1;
        for (size_t a = 0; a < s->dims; a++) {
            if (s->shape[a] && n > SIZE_MAX / s->shape[a])
                return 0;
            n *= s->shape[a];
        }
        return n;
    }
    case OTAD_SUPPORT_GRAPH:
        return s->graph ? otad_graph_vertices(s->graph) : 0;
    case OTAD_SUPPORT_COST:
        return s->cost ? s->points : 0;
    }
    return 0;
}

otad_kernel otad_support_kernel(otad_tape *t, const otad_support *s)
{
    otad_kernel none = {{0, 0}};
    if (!s) {
        otad_tape_fail(t, OTAD_EINVAL, "support: support is NULL");
        return none;
    }
    if (s->kind != OTAD_SUPPORT_GRID && s->kind != OTAD_SUPPORT_GRAPH &&
        s->kind != OTAD_SUPPORT_COST) {
        otad_tape_fail(t, OTAD_EINVAL, "support: kind is %d, must be GRID, GRAPH or COST",
                       (int)s->kind);
        return none;
    }
    if (!otad_support_size(s)) {
        otad_tape_fail(t, OTAD_EINVAL, "support: missing, or without points (grid of 1 to 3 "
                       "axes, a graph, or a cost matrix)");
        return none;
    }
    switch (s->kind) {
    case OTAD_SUPPORT_GRID:
        return otad_kernel_grid(t, s->dims, s->shape, s->eps);
    case OTAD_SUPPORT_GRAPH: {
        size_t edges = otad_graph_edges(s->graph);
        otad_var w = s->weights ? otad_const(t, edges, 1, s->weights)
                                : otad_const_fill(t, edges, 1, 1.0);
        return otad_kernel_heat(t, s->graph, w, s->eps, s->steps);
    }
    case OTAD_SUPPORT_COST:
        return otad_kernel_gibbs(t, otad_const(t, s->points, s->points, s->cost), s->eps);
    }
    return none;
}
