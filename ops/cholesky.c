#include "cholesky.h"

#include <omp.h>

#include <stdlib.h>
#include <string.h>

/* What a CHOLMOD call that failed says in cm->status, as an otad error.
 * Running out of memory anywhere inside CHOLMOD is OTAD_ENOMEM. */
static int cholmod_failure(const cholmod_common *cm, otad_error *err, const char *what)
{
    switch (cm->status) {
    case CHOLMOD_OUT_OF_MEMORY:
        return otad_error_set(err, OTAD_ENOMEM, "%s: out of memory (in CHOLMOD)", what);
    case CHOLMOD_TOO_LARGE:
        return otad_error_set(err, OTAD_ENOMEM, "%s: out of memory (the factor is too large "
                              "for CHOLMOD's integers)", what);
    case CHOLMOD_NOT_POSDEF:
        return otad_error_set(err, OTAD_ENOTPOSDEF, "%s: matrix not positive definite", what);
    default:
        return otad_error_set(err, OTAD_EINVAL, "%s: CHOLMOD failed (status %d)", what,
                              cm->status);
    }
}

static int pattern_fail(otadC_pattern *p, otad_error *err, const char *what)
{
    int rc = cholmod_failure(&p->cm, err, what);
    otadC_pattern_destroy(p);
    return rc;
}

/* Rows in range, sorted within columns, diagonal first in every column. */
static int valid_lower_pattern(size_t n, const size_t *col_start, const size_t *row)
{
    if (col_start[0] != 0)
        return 0;
    for (size_t j = 0; j < n; j++) {
        if (col_start[j + 1] <= col_start[j] || row[col_start[j]] != j)
            return 0;
        for (size_t k = col_start[j] + 1; k < col_start[j + 1]; k++)
            if (row[k] <= row[k - 1] || row[k] >= n)
                return 0;
    }
    return 1;
}

/* CHOLMOD's settings for our factors: simplicial LLᵀ, packed and
 * monotonic (what our sweeps read), and silent (the library never prints). */
static void start_common(cholmod_common *cm)
{
    cholmod_start(cm);
    cm->print = 0;
    cm->supernodal = CHOLMOD_SIMPLICIAL;
    cm->final_ll = 1;
    cm->final_pack = 1;
    cm->final_monotonic = 1;
}

/* The numeric factor of the matrix with the pattern's structure and these
 * values, in cm's memory: a copy of the analysis factorised.  CHOLMOD reads
 * the matrix only, so the pattern's arrays serve every factor at once. */
static cholmod_factor *numeric(cholmod_common *cm, const otadC_pattern *p,
                               const double *values)
{
    cholmod_factor *f = cholmod_copy_factor(p->symbolic, cm);
    if (!f)
        return NULL;
    cholmod_sparse a = *p->matrix;
    a.x = (double *)values;
    cholmod_factorize(&a, f, cm);
    return f;
}

static void find_split(otadC_pattern *p, const cholmod_factor *f);

int otadC_pattern_init(otadC_pattern *p, size_t n, const size_t *col_start, const size_t *row,
                       otad_error *err)
{
    memset(p, 0, sizeof *p);
    if (n == 0 || n > (size_t)1 << 30)
        return otad_error_set(err, OTAD_EINVAL, "sparse pattern: n is %zu, must be 1 to 2^30", n);
    if (!col_start || !row)
        return otad_error_set(err, OTAD_EINVAL, "sparse pattern: %s is NULL",
                              col_start ? "row" : "col_start");
    if (!valid_lower_pattern(n, col_start, row) || col_start[n] > (size_t)1 << 31)
        return otad_error_set(err, OTAD_EINVAL, "sparse pattern: not a lower triangle with "
                              "sorted rows and the diagonal first in every column");
    start_common(&p->cm);
    p->started = 1;
    p->cm.nmethods = 9; /* every ordering, the sparsest factor kept: analysed once, it is
                           swept thousands of times */
    p->n = n;
    p->nnz = col_start[n];
    p->matrix = cholmod_allocate_sparse(n, n, p->nnz, 1, 1, -1, CHOLMOD_REAL, &p->cm);
    if (!p->matrix)
        return pattern_fail(p, err, "sparse pattern");
    int *cp = p->matrix->p, *ri = p->matrix->i;
    double *x = p->matrix->x;
    for (size_t j = 0; j <= n; j++)
        cp[j] = (int)col_start[j];
    /* values of a diagonally dominant matrix on the pattern: what the trial
     * factorisation below reads */
    for (size_t j = 0; j < n; j++)
        x[col_start[j]] = 1;
    for (size_t j = 0; j < n; j++)
        for (size_t k = col_start[j] + 1; k < col_start[j + 1]; k++) {
            ri[k] = (int)row[k];
            x[k] = -1;
            x[col_start[j]] += 1;
            x[col_start[row[k]]] += 1;
        }
    for (size_t j = 0; j < n; j++)
        ri[col_start[j]] = (int)j;
    p->symbolic = cholmod_analyze(p->matrix, &p->cm);
    if (!p->symbolic || p->cm.status < CHOLMOD_OK)
        return pattern_fail(p, err, "sparse pattern: ordering analysis");
    /* the split of the factors depends on the structure only: found once */
    cholmod_factor *trial = numeric(&p->cm, p, x);
    int ok = trial && p->cm.status == CHOLMOD_OK && trial->minor == n;
    if (ok)
        find_split(p, trial);
    cholmod_free_factor(&trial, &p->cm);
    if (!ok) /* the trial matrix is diagonally dominant: only CHOLMOD's own failure */
        return pattern_fail(p, err, "sparse pattern: trial factorisation");
    return OTAD_OK;
}

void otadC_pattern_destroy(otadC_pattern *p)
{
    if (!p->started)
        return;
    cholmod_free_factor(&p->symbolic, &p->cm);
    cholmod_free_sparse(&p->matrix, &p->cm);
    cholmod_finish(&p->cm);
    memset(p, 0, sizeof *p);
}

/* L's strictly lower part by rows, and 1/L_jj. */
static int copy_rows(const otad_ctx *c, otadC_factor *factor)
{
    const cholmod_factor *f = factor->f;
    const int *lp = f->p, *li = f->i, *nz = f->nz;
    const double *lx = f->x;
    size_t n = f->n, strict = (size_t)lp[n] - n;
    int *start = otad_alloc(c, (n + 1) * sizeof *start);
    int *col = otad_alloc(c, (strict + 1) * sizeof *col);
    double *val = otad_alloc(c, (strict + 1) * sizeof *val);
    double *inv_diag = otad_alloc(c, n * sizeof *inv_diag);
    if (!start || !col || !val || !inv_diag)
        return OTAD_ENOMEM;
    memset(start, 0, (n + 1) * sizeof *start);
    for (size_t j = 0; j < n; j++)
        for (int k = lp[j] + 1; k < lp[j] + nz[j]; k++)
            start[li[k] + 1]++;
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    int *fill = start; /* advanced row by row, then shifted back */
    for (size_t j = 0; j < n; j++) {
        inv_diag[j] = 1 / lx[lp[j]];
        for (int k = lp[j] + 1; k < lp[j] + nz[j]; k++) {
            int at = fill[li[k]]++;
            col[at] = (int)j;
            val[at] = lx[k];
        }
    }
    for (size_t i = n; i > 0; i--)
        start[i] = start[i - 1];
    start[0] = 0;
    factor->row_start = start;
    factor->row_col = col;
    factor->row_val = val;
    factor->inv_diag = inv_diag;
    return OTAD_OK;
}

/* The columns of CHOLMOD's factor are a postorder of its elimination tree
 * (the parent of column j is the first row below the diagonal): a subtree
 * is a range of columns ending at its root, and the node just before a root
 * is its last child.  Down the chain of only children from the root, the
 * first node with several children splits what lies below it in two — its
 * last child's subtree and the rest — which share no entry of L: two threads
 * can sweep them at once.  Kept when each half holds a quarter of L at
 * least, and checked entry by entry (a factor not in postorder is left
 * whole).  The same for every factor of a pattern. */
static void find_split(otadC_pattern *p, const cholmod_factor *f)
{
    const int *lp = f->p, *li = f->i, *nz = f->nz;
    size_t n = f->n;
    p->middle = p->top = 0;
    size_t *count = n >= 4 ? malloc(2 * n * sizeof *count) : NULL;
    if (!count)
        return; /* no split: one thread sweeps the whole factor */
    size_t *weight = count + n;
    for (size_t j = 0; j < n; j++)
        count[j] = 1, weight[j] = (size_t)nz[j];
    for (size_t j = 0; j < n; j++)
        if (nz[j] > 1) {
            size_t parent = (size_t)li[lp[j] + 1];
            count[parent] += count[j];
            weight[parent] += weight[j];
        }
    size_t root = n - 1;
    while (root > 0 && count[root - 1] == count[root] - 1)
        root--;
    if (root == 0 || count[root] != root + 1)
        goto done;
    size_t middle = root - count[root - 1], last = weight[root - 1];
    size_t rest = weight[root] - (size_t)nz[root] - last, total = (size_t)lp[n];
    if (4 * last < total || 4 * rest < total)
        goto done;
    for (size_t j = 0; j < root; j++)
        for (int k = lp[j] + 1; k < lp[j] + nz[j]; k++) {
            size_t i = (size_t)li[k];
            if (i < root && (i >= middle) != (j >= middle))
                goto done;
        }
    p->middle = middle;
    p->top = root;
done:
    free(count);
}

int otadC_factorize(const otad_ctx *c, const otadC_pattern *p, const double *values,
                    otadC_factor *factor)
{
    memset(factor, 0, sizeof *factor);
    start_common(&factor->cm);
    factor->started = 1;
    cholmod_factor *f = factor->f = numeric(&factor->cm, p, values);
    if (!f || factor->cm.status < CHOLMOD_OK) {
        otad_error err;
        int rc = cholmod_failure(&factor->cm, &err, "Cholesky factorisation");
        return otad_fail(c, rc, "%s", err.message);
    }
    if (factor->cm.status == CHOLMOD_NOT_POSDEF || f->minor < p->n)
        return otad_fail(c, OTAD_ENOTPOSDEF, "matrix not positive definite (pivot %zu of %zu)",
                         (size_t)f->minor, p->n);
    if (!f->is_ll || f->is_super || !f->is_monotonic)
        return otad_fail(c, OTAD_EINVAL, "Cholesky factorisation: CHOLMOD returned a factor "
                         "of another kind than asked");
    if (copy_rows(c, factor) != OTAD_OK)
        return OTAD_ENOMEM;
    factor->middle = p->middle;
    factor->top = p->top;
    return OTAD_OK;
}

void otadC_factor_free(otadC_factor *factor)
{
    if (!factor->started)
        return;
    cholmod_free_factor(&factor->f, &factor->cm);
    cholmod_finish(&factor->cm);
    memset(factor, 0, sizeof *factor);
}

void otadC_gather(const otadC_factor *f, size_t stride, size_t ncols, const double *x,
                  double *xi)
{
    const int *perm = f->f->Perm;
    size_t n = f->f->n;
    for (size_t k = 0; k < n; k++)
        for (size_t c = 0; c < ncols; c++)
            xi[k * stride + c] = x[(size_t)perm[k] + c * n];
}

void otadC_scatter(const otadC_factor *f, size_t stride, size_t ncols, const double *xi,
                   double beta, double *y)
{
    const int *perm = f->f->Perm;
    size_t n = f->f->n;
    for (size_t k = 0; k < n; k++)
        for (size_t c = 0; c < ncols; c++) {
            double *out = y + (size_t)perm[k] + c * n;
            *out = (beta == 0 ? 0 : *out) + xi[k * stride + c];
        }
}

/* L y = b for rows [lo, hi), row by row (each row gathers the rows before
 * it), and Lᵀ x = y for columns [lo, hi) from the last (each column gathers
 * the rows after it), on 4·groups (at most 32) interleaved columns starting
 * at xi, in rows of `stride` entries: the row being finished is held in
 * registers and nothing else is written — but for its copy in the vertices'
 * order into `copy` when that is not NULL. */
static inline __attribute__((always_inline)) void forward_rows(const otadC_factor *f,
                                                               double *xi, size_t stride,
                                                               size_t groups, size_t lo,
                                                               size_t hi)
{
    const int *rs = f->row_start, *rc = f->row_col;
    const double *rv = f->row_val, *inv = f->inv_diag;
    otadC_vec4 v[8];
    for (size_t i = lo; i < hi; i++) {
        double *xr = xi + i * stride;
        for (size_t q = 0; q < groups; q++)
            v[q] = otadC_load4(xr + 4 * q);
        for (int k = rs[i]; k < rs[i + 1]; k++) {
            const double *xj = xi + (size_t)rc[k] * stride;
            double l = rv[k];
            for (size_t q = 0; q < groups; q++)
                v[q] -= l * otadC_load4(xj + 4 * q);
        }
        for (size_t q = 0; q < groups; q++)
            otadC_store4(xr + 4 * q, v[q] * inv[i]);
    }
}

static inline __attribute__((always_inline)) void backward_columns(const otadC_factor *f,
                                                                   double *xi, size_t stride,
                                                                   size_t groups, size_t lo,
                                                                   size_t hi, double *copy)
{
    const int *lp = f->f->p, *li = f->f->i, *nz = f->f->nz, *perm = f->f->Perm;
    const double *lx = f->f->x, *inv = f->inv_diag;
    otadC_vec4 v[8];
    for (size_t j = hi; j-- > lo;) {
        double *xj = xi + j * stride;
        for (size_t q = 0; q < groups; q++)
            v[q] = otadC_load4(xj + 4 * q);
        for (int k = lp[j] + 1; k < lp[j] + nz[j]; k++) {
            const double *xr = xi + (size_t)li[k] * stride;
            double l = lx[k];
            for (size_t q = 0; q < groups; q++)
                v[q] -= l * otadC_load4(xr + 4 * q);
        }
        for (size_t q = 0; q < groups; q++) {
            v[q] *= inv[j];
            otadC_store4(xj + 4 * q, v[q]);
            if (copy)
                otadC_store4(copy + (size_t)perm[j] * stride + 4 * q, v[q]);
        }
    }
}

/* The same for one column (the columns left over from groups of 4). */
static void forward_rows1(const otadC_factor *f, double *xi, size_t stride, size_t lo,
                          size_t hi)
{
    const int *rs = f->row_start, *rc = f->row_col;
    const double *rv = f->row_val, *inv = f->inv_diag;
    for (size_t i = lo; i < hi; i++) {
        double v = xi[i * stride];
        for (int k = rs[i]; k < rs[i + 1]; k++)
            v -= rv[k] * xi[(size_t)rc[k] * stride];
        xi[i * stride] = v * inv[i];
    }
}

static void backward_columns1(const otadC_factor *f, double *xi, size_t stride, size_t lo,
                              size_t hi, double *copy)
{
    const int *lp = f->f->p, *li = f->f->i, *nz = f->f->nz, *perm = f->f->Perm;
    const double *lx = f->f->x, *inv = f->inv_diag;
    for (size_t j = hi; j-- > lo;) {
        double v = xi[j * stride];
        for (int k = lp[j] + 1; k < lp[j] + nz[j]; k++)
            v -= lx[k] * xi[(size_t)li[k] * stride];
        xi[j * stride] = v * inv[j];
        if (copy)
            copy[(size_t)perm[j] * stride] = xi[j * stride];
    }
}

/* One sweep (forward or backward) over rows [lo, hi) for `count` columns
 * from `first`, in groups of 32, 16, 8, 4 and 1 (constant widths: the
 * sweeps' vector loops unroll). */
static void sweep_range(const otadC_factor *f, double *xi, size_t ncols, size_t first,
                        size_t count, int backward, size_t lo, size_t hi, double *copy)
{
    for (size_t end = first + count; first < end;) {
        size_t left = end - first, width = left >= 32 ? 32 : left >= 16 ? 16 : left >= 8 ? 8
                                                          : left >= 4 ? 4 : 1;
        double *x = xi + first, *to = copy ? copy + first : NULL;
        if (backward) {
            if (width == 32)
                backward_columns(f, x, ncols, 8, lo, hi, to);
            else if (width == 16)
                backward_columns(f, x, ncols, 4, lo, hi, to);
            else if (width == 8)
                backward_columns(f, x, ncols, 2, lo, hi, to);
            else if (width == 4)
                backward_columns(f, x, ncols, 1, lo, hi, to);
            else
                backward_columns1(f, x, ncols, lo, hi, to);
        } else {
            if (width == 32)
                forward_rows(f, x, ncols, 8, lo, hi);
            else if (width == 16)
                forward_rows(f, x, ncols, 4, lo, hi);
            else if (width == 8)
                forward_rows(f, x, ncols, 2, lo, hi);
            else if (width == 4)
                forward_rows(f, x, ncols, 1, lo, hi);
            else
                forward_rows1(f, x, ncols, lo, hi);
        }
        first += width;
    }
}

/* A whole solve of `count` columns from `first`. */
static void solve_columns(const otadC_factor *f, double *xi, size_t ncols, size_t first,
                          size_t count, double *copy)
{
    size_t n = f->f->n;
    sweep_range(f, xi, ncols, first, count, 0, 0, n, copy);
    sweep_range(f, xi, ncols, first, count, 1, 0, n, copy);
}

/* When L is larger than a core's cache the sweeps wait on memory: two
 * threads then take the two halves of the elimination tree (each reading
 * its part of L once, for all the columns), and half the columns each of
 * the top.
 * Otherwise columns go in groups, each one sweep reading L once: 32 at a
 * time on one thread (L's entries serve more columns per load), 16 a group
 * when two threads share them, each from its own cache. */
void otadC_solve(const otadC_factor *f, size_t ncols, double *xi, double *copy)
{
    const size_t cache_bytes = (size_t)2 << 20;
    size_t n = f->f->n, nnz = (size_t)((const int *)f->f->p)[n];
    int threads = omp_get_max_threads() > 1;
    if (threads && f->top && nnz * (sizeof(double) + sizeof(int)) > cache_bytes) {
#pragma omp parallel num_threads(2)
        {
            const size_t bounds[3] = {0, f->middle, f->top};
            int first = omp_get_thread_num(), step = omp_get_num_threads();
            for (int half = first; half < 2; half += step)
                sweep_range(f, xi, ncols, 0, ncols, 0, bounds[half], bounds[half + 1], copy);
            /* the top rows need both halves; its columns split between the
             * threads instead (it is small enough to be read twice) */
            size_t from = ncols * (size_t)first / (size_t)step;
            size_t to = ncols * (size_t)(first + 1) / (size_t)step;
#pragma omp barrier
            sweep_range(f, xi, ncols, from, to - from, 0, f->top, n, copy);
            sweep_range(f, xi, ncols, from, to - from, 1, f->top, n, copy);
#pragma omp barrier
            for (int half = first; half < 2; half += step)
                sweep_range(f, xi, ncols, 0, ncols, 1, bounds[half], bounds[half + 1], copy);
        }
        return;
    }
    size_t width = threads ? 16 : 32, groups = ncols / width;
    /* a small solve is over before a second thread has started */
    int parallel = threads && groups >= 2 && nnz * ncols >= ((size_t)1 << 18);
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t q = 0; q < groups; q++)
        solve_columns(f, xi, ncols, width * q, width, copy);
    if (ncols > width * groups)
        solve_columns(f, xi, ncols, width * groups, ncols - width * groups, copy);
}
