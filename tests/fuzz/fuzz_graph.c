/* The edge-list graph constructor on arbitrary edge lists.
 *
 * The input is decoded as: 2 bytes, the number of vertices (little-endian,
 * modulo MAX_VERTICES + 1); 1 byte of flags; then per edge its two ends
 * (2 bytes each, little-endian) and, with FLAG_SCALES, a byte for its scale.
 * So indices go out of range, edges repeat and loop, graphs fall apart.
 *
 * The constructor must succeed exactly when the list is valid (at least 2
 * vertices, ends in range and distinct, scales positive and finite, one
 * component), else fail with a negative code, a message and no graph.  A
 * graph gives back its sizes and edges as given, and each edge's default
 * neighbours are exactly the other edges sharing an endpoint with it, each
 * once. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ops/ops.h"
#include "fuzz.h"

#define MAX_VERTICES 4096
#define MAX_EDGES 4096

enum {
    FLAG_SCALES = 1,     /* a scale byte follows each edge; else scale is NULL */
    FLAG_FOLD = 2,       /* ends modulo n_vertices + 1: mostly in range, so graphs
                            connect, and still sometimes one past the end */
    FLAG_NULL_ENDS = 4   /* ends is NULL when there are no edges */
};

/* Scales including every kind the constructor must refuse. */
static double scale_of(uint8_t b)
{
    static const double special[] = {0, -1, NAN, INFINITY, -INFINITY, 1e300, DBL_MAX,
                                     DBL_TRUE_MIN};
    size_t n = sizeof special / sizeof *special;
    return b < n ? special[b] : b / 16.0;
}

static size_t find_root(size_t *parent, size_t v)
{
    while (parent[v] != v)
        v = parent[v] = parent[parent[v]];
    return v;
}

/* What the constructor must answer: OTAD_OK, or the codes it may fail with
 * (an edge list can be wrong in several ways at once). */
typedef struct verdict {
    int bad_argument, bad_domain;
} verdict;

static verdict judge(size_t n, size_t m, const size_t *ends, const double *scale)
{
    verdict v = {n < 2, 0};
    for (size_t e = 0; e < m; e++) {
        if (ends[2 * e] >= n || ends[2 * e + 1] >= n || ends[2 * e] == ends[2 * e + 1])
            v.bad_argument = 1;
        if (scale && !(scale[e] > 0 && scale[e] < 1e300))
            v.bad_domain = 1;
    }
    if (v.bad_argument || v.bad_domain)
        return v;
    size_t *parent = malloc(n * sizeof *parent), parts = n;
    FUZZ_CHECK(parent);
    for (size_t i = 0; i < n; i++)
        parent[i] = i;
    for (size_t e = 0; e < m; e++) {
        size_t a = find_root(parent, ends[2 * e]), b = find_root(parent, ends[2 * e + 1]);
        if (a != b) {
            parent[a] = b;
            parts--;
        }
    }
    free(parent);
    v.bad_domain = parts != 1;
    return v;
}

/* Each edge's neighbours against the edges at its ends: counted through
 * the edges at each vertex (CSR), with one mark per edge so a repeat shows. */
static void check_neighbours(otad_graph *g, size_t n, size_t m, const size_t *ends)
{
    size_t *at = calloc(n + 1, sizeof *at), *incident = malloc((2 * m + 1) * sizeof *incident);
    size_t *fill = malloc(n * sizeof *fill), *listed = malloc((m + 1) * sizeof *listed);
    size_t *expected = malloc((m + 1) * sizeof *expected);
    FUZZ_CHECK(at && incident && fill && listed && expected);
    for (size_t k = 0; k < 2 * m; k++)
        at[ends[k] + 1]++;
    for (size_t v = 0; v < n; v++) {
        at[v + 1] += at[v];
        fill[v] = at[v];
    }
    for (size_t k = 0; k < 2 * m; k++)
        incident[fill[ends[k]]++] = k / 2;
    /* marks hold e + 1 for edge e's round, so zero means never */
    memset(listed, 0, (m + 1) * sizeof *listed);
    memset(expected, 0, (m + 1) * sizeof *expected);
    for (size_t e = 0; e < m; e++) {
        const size_t *list = NULL;
        size_t count = 0;
        FUZZ_CHECK(otad_graph_edge_neighbours(g, e, &list, &count, NULL) == OTAD_OK);
        FUZZ_CHECK(count == 0 || list);
        size_t i = ends[2 * e], j = ends[2 * e + 1];
        for (size_t k = 0; k < count; k++) {
            size_t f = list[k];
            FUZZ_CHECK(f < m && f != e && listed[f] != e + 1);
            listed[f] = e + 1;
            FUZZ_CHECK(ends[2 * f] == i || ends[2 * f] == j || ends[2 * f + 1] == i ||
                       ends[2 * f + 1] == j);
        }
        size_t want = 0;
        for (size_t end = 0; end < 2; end++) {
            size_t v = end ? j : i;
            for (size_t k = at[v]; k < at[v + 1]; k++) {
                size_t f = incident[k];
                if (f != e && expected[f] != e + 1) {
                    expected[f] = e + 1;
                    want++;
                }
            }
        }
        FUZZ_CHECK(count == want);
    }
    const size_t *list = ends;
    size_t count = 7;
    otad_error err;
    FUZZ_CHECK(otad_graph_edge_neighbours(g, m, &list, &count, &err) == OTAD_EINVAL &&
               list == ends && count == 7 && err.message[0]);
    free(at), free(incident), free(fill), free(listed), free(expected);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t n = (size_t)(data[0] | data[1] << 8) % (MAX_VERTICES + 1);
    unsigned flags = data[2];
    size_t record = flags & FLAG_SCALES ? 5 : 4;
    size_t m = (size - 3) / record;
    if (m > MAX_EDGES)
        m = MAX_EDGES;
    /* + 1: malloc(0) may give NULL, and ends NULL is its own case */
    size_t *ends = malloc((2 * m + 1) * sizeof *ends);
    double *scale = flags & FLAG_SCALES ? malloc((m + 1) * sizeof *scale) : NULL;
    FUZZ_CHECK(ends && (scale || !(flags & FLAG_SCALES)));
    for (size_t e = 0; e < m; e++) {
        const uint8_t *p = data + 3 + e * record;
        for (size_t k = 0; k < 2; k++) {
            size_t v = (size_t)(p[2 * k] | p[2 * k + 1] << 8);
            ends[2 * e + k] = flags & FLAG_FOLD ? v % (n + 1) : v;
        }
        if (scale)
            scale[e] = scale_of(p[4]);
    }
    const size_t *given = m == 0 && flags & FLAG_NULL_ENDS ? NULL : ends;

    otad_graph *g = NULL;
    otad_error err = {""};
    int rc = otad_graph_new(&g, n, m, given, scale, &err);
    verdict v = judge(n, m, ends, scale);
    if (v.bad_argument || v.bad_domain) {
        FUZZ_CHECK((v.bad_argument && rc == OTAD_EINVAL) || (v.bad_domain && rc == OTAD_EDOMAIN));
        FUZZ_CHECK(err.message[0] != '\0' && g == NULL);
    } else {
        FUZZ_CHECK(rc == OTAD_OK && g);
        FUZZ_CHECK(otad_graph_vertices(g) == n && otad_graph_edges(g) == m);
        size_t shape[3] = {1, 1, 1};
        FUZZ_CHECK(otad_graph_grid_shape(g, shape) == 0 && !shape[0] && !shape[1] && !shape[2]);
        for (size_t e = 0; e < m; e++) {
            size_t i = n, j = n;
            otad_graph_edge(g, e, &i, &j);
            FUZZ_CHECK(i == ends[2 * e] && j == ends[2 * e + 1] && i < n && j < n);
        }
        check_neighbours(g, n, m, ends);
        otad_graph_free(&g);
        FUZZ_CHECK(g == NULL);
    }
    free(ends);
    free(scale);
    return 0;
}
