/* The network simplex behind otad_emd (solvers/emd_lemon.cpp), callable from
 * C.  Internal to solvers/. */
#ifndef OTAD_NETWORK_SIMPLEX_H
#define OTAD_NETWORK_SIMPLEX_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Min-cost flow on the complete bipartite graph from n sources, supplying
 * a_i each, to m sinks, receiving b_j each (Σa = Σb exactly), arc (i, j) costing
 * cost[i + j·n].  Writes the flows above zero as triplets sorted by row then
 * column (room for n + m of them) and potentials with f_i + g_j ≤ C_ij,
 * equality on the flows.  Returns the number of triplets, or a negative otad
 * error code: OTAD_ENOMEM, or OTAD_ENOCONV when the simplex does not end
 * optimal. */
long otadS_network_simplex(size_t n, size_t m, const double *a, const double *b,
                           const double *cost, size_t *row, size_t *col, double *mass,
                           double *f, double *g);

#ifdef __cplusplus
}
#endif

#endif
