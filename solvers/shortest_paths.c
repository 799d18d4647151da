/* All-pairs shortest paths through igraph, whose errors are turned into
 * otad's: its default handler would abort the caller's program. */
#include <math.h>
#include <string.h>

#include <igraph.h>

#include "../ad/args.h"
#include "solvers.h"

static int check_graph(size_t n, size_t n_edges, const size_t *ends, const double *lengths,
                       otad_error *err)
{
    if (n == 0)
        return otad_error_set(err, OTAD_EINVAL, "shortest_paths: the graph has no vertex");
    int rc = otadV_size(err, "shortest_paths", "dist", n, n);
    if (rc == OTAD_OK && n_edges > 0)
        rc = otadV_size(err, "shortest_paths", "ends", 2, n_edges);
    if (rc != OTAD_OK)
        return rc;
    if (n_edges > 0 && (!ends || !lengths))
        return otad_error_set(err, OTAD_EINVAL, "shortest_paths: %s is NULL",
                              ends ? "lengths" : "ends");
    for (size_t e = 0; e < n_edges; e++) {
        if (ends[2 * e] >= n || ends[2 * e + 1] >= n)
            return otad_error_set(err, OTAD_EINVAL, "shortest_paths: edge %zu joins %zu and "
                                  "%zu, not vertices of 0..%zu", e, ends[2 * e],
                                  ends[2 * e + 1], n - 1);
        if (!(lengths[e] > 0) || !isfinite(lengths[e]))
            return otad_error_set(err, OTAD_EDOMAIN, "shortest_paths: edge %zu has length %g, "
                                  "not finite and positive", e, lengths[e]);
    }
    return OTAD_OK;
}

static int distances(size_t n, size_t n_edges, const size_t *ends, const double *lengths,
                     igraph_matrix_t *result)
{
    igraph_vector_int_t edge_list;
    if (igraph_vector_int_init(&edge_list, (igraph_integer_t)(2 * n_edges)) != IGRAPH_SUCCESS)
        return OTAD_ENOMEM;
    for (size_t k = 0; k < 2 * n_edges; k++)
        VECTOR(edge_list)[k] = (igraph_integer_t)ends[k];
    igraph_t graph;
    int rc = OTAD_ENOMEM;
    if (igraph_create(&graph, &edge_list, (igraph_integer_t)n, IGRAPH_UNDIRECTED) ==
        IGRAPH_SUCCESS) {
        igraph_vector_t weights;
        igraph_vector_view(&weights, lengths, (igraph_integer_t)n_edges);
        if (igraph_distances_dijkstra(&graph, result, igraph_vss_all(), igraph_vss_all(),
                                      &weights, IGRAPH_ALL) == IGRAPH_SUCCESS)
            rc = OTAD_OK;
        igraph_destroy(&graph);
    }
    igraph_vector_int_destroy(&edge_list);
    return rc;
}

int otad_shortest_paths(size_t n, size_t n_edges, const size_t *ends, const double *lengths,
                        double *dist, otad_error *err)
{
    int rc = check_graph(n, n_edges, ends, lengths, err);
    if (rc != OTAD_OK)
        return rc;
    if (!dist)
        return otad_error_set(err, OTAD_EINVAL, "shortest_paths: dist is NULL");

    /* Input is checked, so igraph can only fail for memory. */
    igraph_error_handler_t *error_handler = igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_warning_handler_t *warning_handler =
        igraph_set_warning_handler(igraph_warning_handler_ignore);
    igraph_matrix_t result;
    rc = igraph_matrix_init(&result, 0, 0) == IGRAPH_SUCCESS ? OTAD_OK : OTAD_ENOMEM;
    if (rc == OTAD_OK) {
        rc = distances(n, n_edges, ends, lengths, &result);
        if (rc != OTAD_OK)
            otad_error_set(err, rc, "shortest_paths: out of memory");
        /* checked before dist is written: on failure it stays as it was */
        for (size_t j = 0; rc == OTAD_OK && j < n; j++)
            for (size_t i = 0; rc == OTAD_OK && i < n; i++)
                if (isinf(MATRIX(result, i, j)))
                    rc = otad_error_set(err, OTAD_EDOMAIN, "shortest_paths: the graph is not "
                                        "connected (no path from vertex %zu to %zu)", i, j);
        if (rc == OTAD_OK) /* igraph's matrices are column-major too */
            memcpy(dist, &MATRIX(result, 0, 0), n * n * sizeof *dist);
        igraph_matrix_destroy(&result);
    } else {
        otad_error_set(err, rc, "shortest_paths: out of memory");
    }
    igraph_set_error_handler(error_handler);
    igraph_set_warning_handler(warning_handler);
    return rc;
}
