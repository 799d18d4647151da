/* Sparse Cholesky factorisations for the solves of ops/ (internal to ops/).
 * CHOLMOD analyses a symmetric pattern once and factorises it numerically
 * per evaluation into a simplicial LLᵀ factor; the solves are our own sweeps
 * over that factor with the right-hand sides interleaved (entry c of row i
 * at i·B + c), so each nonzero of L serves all B columns at once. */
#ifndef OTAD_CHOLESKY_H
#define OTAD_CHOLESKY_H

#include <cholmod.h>
#include <string.h>

#include "lanes.h"
#include "ops.h"

/* An analysed pattern: read only once made, so any number of factors, on
 * any threads, may be made from it at once. */
typedef struct otadC_pattern {
    cholmod_common cm;         /* for the analysis' own memory */
    cholmod_sparse *matrix;    /* lower triangle: the pattern (values unused) */
    cholmod_factor *symbolic;  /* the analysis, copied into each numeric factor */
    size_t n, nnz;
    int started;               /* cm is live: destroy must finish it */
    size_t middle, top;        /* the factors' split (otadC_factor): the pattern's alone */
} otadC_pattern;

/* Analyse the lower-triangle pattern (col_start[n+1], row[nnz], rows sorted
 * within each column, diagonal first). */
int otadC_pattern_init(otadC_pattern *p, size_t n, const size_t *col_start, const size_t *row,
                       otad_error *err);
void otadC_pattern_destroy(otadC_pattern *p);

/* A numeric factor LLᵀ, owned by whoever made it (a kernel, an op) with its
 * own CHOLMOD workspace, and what the sweeps of otadC_solve need besides:
 * the factor's columns in segments (segment k is columns
 * [segment_start[k], segment_start[k + 1]), swept by blocks when
 * segment_blocked[k]), the entries of the other segments' columns by rows,
 * and the inverses of L's diagonal. */
typedef struct otadC_factor {
    cholmod_common cm;
    int started;
    cholmod_factor *f;
    const int *segment_start;
    const unsigned char *segment_blocked;
    size_t n_segments;
    const int *row_start, *row_col;
    const double *row_val, *inv_diag;
    /* Columns [0, middle) and [middle, top) are two subtrees of the
     * elimination tree, independent in both sweeps; [top, n) the rest.  top
     * is 0 when there is no such split worth two threads. */
    size_t middle, top;
} otadC_factor;

/* Factorise the matrix with these values (nnz, in pattern order) into
 * factor, its rows in c's arena; c names the op in errors
 * (OTAD_ENOTPOSDEF).  otadC_factor_free releases it, failed or not. */
int otadC_factorize(const otad_ctx *c, const otadC_pattern *p, const double *values,
                    otadC_factor *factor);
void otadC_factor_free(otadC_factor *factor);

/* The sweeps work on vectors of OTADO_LANES doubles: the layout of the
 * right-hand sides is rows of a multiple of that many entries (the rest of
 * a row zero: otadC_clear). */

/* The row length for ncols right-hand sides: ncols rounded up to lanes. */
size_t otadC_stride(size_t ncols);

/* Between n×ncols column-major values and the factor's permuted, interleaved
 * layout with rows of `stride` entries: xi[k·stride + c] = x[perm[k] + c·n]
 * for c < ncols; scatter computes y ← β·y + (the inverse map of xi);
 * clear zeroes entries [from, stride) of every row. */
void otadC_gather(const otadC_factor *f, size_t stride, size_t ncols, const double *x,
                  double *xi);
void otadC_scatter(const otadC_factor *f, size_t stride, size_t ncols, const double *xi,
                   double beta, double *y);
void otadC_clear(const otadC_factor *f, size_t stride, size_t from, double *xi);

/* xi ← (LLᵀ)⁻¹ xi in the permuted interleaved layout, all `stride` entries
 * of each row (a multiple of OTADO_LANES): one solve; with copy not NULL,
 * the result also goes there with its rows in the vertices' order (row
 * perm[k] of copy is row k of xi).  Align xi and copy to 64 bytes (as
 * otad_scratch is): each vector is then loaded from one cache line, not
 * two, which the sweeps' pace depends on. */
void otadC_solve(const otadC_factor *f, size_t stride, double *xi, double *copy);

/* Whether ncols right-hand sides going through a chain of solves should be
 * split between two threads, each taking its columns in rows of its own
 * through the whole chain.  Where the factor fits in the cache (and
 * otadC_solve keeps to one thread), a sweep's pace is set by each row
 * waiting on the rows before it, not by the columns: two threads gain when
 * each sweeps its own, with no barrier between solves.  Not within a
 * parallel region, nor for a single vector of columns. */
int otadC_columns_apart(const otadC_factor *f, size_t ncols);

#endif
