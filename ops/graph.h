/* The graph's layout, shared by graph.c and kernel_heat.c (internal to ops/). */
#ifndef OTAD_GRAPH_H
#define OTAD_GRAPH_H

#include "cholesky.h"

struct otad_graph {
    size_t n_vertices, n_edges;
    size_t *ends;          /* 2 per edge */
    double *scale;         /* Laplacian scale per edge */
    size_t *diag_entry;    /* position of each vertex's diagonal entry in the values */
    size_t *edge_entry;    /* position of each edge's off-diagonal entry */
    otadC_pattern chol;    /* the pattern of I − τL_w, analysed */
    size_t *sorted_edges;  /* per edge (i, j, e), i < j its ends, sorted by i: on a grid
                              the rows an edge reads are near those of the last */
    size_t dims, shape[3]; /* a grid graph's shape; dims 0 for an edge list */
    size_t *neighbour_start, *neighbours; /* each edge's neighbour edges (CSR) */
};

/* The default edge neighbours (ops.h, otad_graph_edge_neighbours) into a
 * graph whose edges and grid shape are set (edge_differences.c). */
int otadO_default_neighbours(otad_graph *g, otad_error *err);

#endif
