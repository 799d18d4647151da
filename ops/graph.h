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
};

#endif
