// Exact OT by LEMON's network simplex (the solver POT's emd derives from),
// behind a C interface: nothing C++ crosses solvers/network_simplex.h, and no
// exception leaves this file.
#include "network_simplex.h"

// LEMON's graphs push default-constructed (uninitialised) records and fill
// them in after: GCC 12 sees that through the inlining and warns.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include <new>
#include <vector>

extern "C" {
#include "../ad/ad.h"
}

namespace {

typedef lemon::SmartDigraph Graph;
typedef lemon::NetworkSimplex<Graph, double, double> Simplex;

long solve(size_t n, size_t m, const double *a, const double *b, const double *cost,
           size_t *row, size_t *col, double *mass, double *f, double *g)
{
    Graph graph;
    graph.reserveNode(static_cast<int>(n + m));
    graph.reserveArc(static_cast<int>(n * m));
    std::vector<Graph::Node> source(n), sink(m);
    for (size_t i = 0; i < n; i++)
        source[i] = graph.addNode();
    for (size_t j = 0; j < m; j++)
        sink[j] = graph.addNode();

    // Arcs in row-major order: arc i·m + j goes from source i to sink j, so
    // reading the flows back in id order sorts them by row then column.
    Graph::ArcMap<double> arc_cost(graph);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            arc_cost[graph.addArc(source[i], sink[j])] = cost[i + j * n];

    Graph::NodeMap<double> supply(graph);
    for (size_t i = 0; i < n; i++)
        supply[source[i]] = a[i];
    for (size_t j = 0; j < m; j++)
        supply[sink[j]] = -b[j];

    Simplex simplex(graph);
    simplex.costMap(arc_cost).supplyMap(supply);
    if (simplex.run() != Simplex::OPTIMAL)
        return OTAD_ENOCONV;

    long nonzeros = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            double flow = simplex.flow(Graph::arcFromId(static_cast<int>(i * m + j)));
            if (flow > 0) {
                if (static_cast<size_t>(nonzeros) == n + m)
                    return OTAD_ENOCONV; // not a basic solution
                row[nonzeros] = i;
                col[nonzeros] = j;
                mass[nonzeros] = flow;
                nonzeros++;
            }
        }
    // LEMON's optimality: C_ij + π(source i) − π(sink j) ≥ 0.
    for (size_t i = 0; i < n; i++)
        f[i] = -simplex.potential(source[i]);
    for (size_t j = 0; j < m; j++)
        g[j] = simplex.potential(sink[j]);
    return nonzeros;
}

} // namespace

extern "C" long otadS_network_simplex(size_t n, size_t m, const double *a, const double *b,
                                      const double *cost, size_t *row, size_t *col,
                                      double *mass, double *f, double *g)
{
    try {
        return solve(n, m, a, b, cost, row, col, mass, f, g);
    } catch (const std::bad_alloc &) {
        return OTAD_ENOMEM;
    } catch (...) {
        return OTAD_ENOCONV;
    }
}
