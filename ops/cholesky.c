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

/* Column c + 1 continues column c's run: below its diagonal, column c has
 * row c + 1 and then exactly the rows of column c + 1. */
static int continues(const int *lp, const int *li, const int *nz, size_t c)
{
    return nz[c] >= 2 && li[lp[c] + 1] == (int)c + 1 && nz[c + 1] == nz[c] - 1 &&
           memcmp(li + lp[c] + 2, li + lp[c + 1] + 1, (size_t)(nz[c] - 2) * sizeof *li) == 0;
}

/* L does not stay in a core's cache between sweeps (more than 2 MB). */
static int larger_than_cache(const cholmod_factor *f)
{
    const size_t cache_bytes = (size_t)2 << 20;
    return (size_t)((const int *)f->p)[f->n] * (sizeof(double) + sizeof(int)) > cache_bytes;
}

/* Runs of at least this many columns are swept by blocks when L is larger
 * than the cache (see the sweeps below). */
enum { LONG_RUN = 8 };

/* The sweeps' segments: each run of at least LONG_RUN columns (none when L
 * fits in the cache), and each stretch of columns between them; the
 * entries of the latter by rows; and 1/L_jj. */
static int find_segments(const otad_ctx *c, otadC_factor *factor)
{
    const cholmod_factor *f = factor->f;
    const int *lp = f->p, *li = f->i, *nz = f->nz;
    const double *lx = f->x;
    size_t n = f->n, count = 0;
    int *start = otad_alloc(c, (n + 1) * sizeof *start);
    unsigned char *blocked = otad_alloc(c, n + 1);
    int *row_start = otad_alloc(c, (n + 1) * sizeof *row_start);
    double *inv_diag = otad_alloc(c, n * sizeof *inv_diag);
    if (!start || !blocked || !row_start || !inv_diag)
        return OTAD_ENOMEM;
    memset(row_start, 0, (n + 1) * sizeof *row_start);
    int large = larger_than_cache(f);
    for (size_t j = 0, end; j < n; j = end) {
        for (end = j + 1; end < n && continues(lp, li, nz, end - 1); end++)
            continue;
        int is_long = large && end - j >= LONG_RUN;
        if (is_long || count == 0 || blocked[count - 1]) {
            start[count] = (int)j;
            blocked[count++] = (unsigned char)is_long;
        }
        for (size_t k = j; k < end; k++) {
            inv_diag[k] = 1 / lx[lp[k]];
            for (int e = lp[k] + 1; !is_long && e < lp[k] + nz[k]; e++)
                row_start[li[e] + 1]++;
        }
    }
    start[count] = (int)n;
    for (size_t i = 0; i < n; i++)
        row_start[i + 1] += row_start[i];
    int *col = otad_alloc(c, ((size_t)row_start[n] + 1) * sizeof *col);
    double *val = otad_alloc(c, ((size_t)row_start[n] + 1) * sizeof *val);
    if (!col || !val)
        return OTAD_ENOMEM;
    int *fill = row_start; /* advanced row by row, then shifted back */
    for (size_t k = 0; k < count; k++)
        for (int j = start[k]; !blocked[k] && j < start[k + 1]; j++)
            for (int e = lp[j] + 1; e < lp[j] + nz[j]; e++) {
                int at = fill[li[e]]++;
                col[at] = j;
                val[at] = lx[e];
            }
    for (size_t i = n; i > 0; i--)
        row_start[i] = row_start[i - 1];
    row_start[0] = 0;
    factor->segment_start = start;
    factor->segment_blocked = blocked;
    factor->n_segments = count;
    factor->row_start = row_start;
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
    if (find_segments(c, factor) != OTAD_OK)
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

size_t otadC_stride(size_t ncols)
{
    return (ncols + OTADO_LANES - 1) / OTADO_LANES * OTADO_LANES;
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

void otadC_clear(const otadC_factor *f, size_t stride, size_t from, double *xi)
{
    for (size_t k = 0; k < f->f->n; k++)
        memset(xi + k * stride + from, 0, (stride - from) * sizeof *xi);
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

/* The sweeps, forward L y = b from the first column and backward Lᵀ x = y
 * from the last, on H vectors of interleaved right-hand sides a row, at xi
 * in rows of `stride` entries.  A factor's columns come in segments of two
 * kinds.
 *   Stretches of short runs: row by row forward (each row gathers the
 *   columns of such stretches from the copy by rows; nothing is written
 *   but the row), column by column backward (each gathers the rows below
 *   it), the row being finished held in registers in two sums (even and
 *   odd entries: one chain of dependent multiply-adds would set the pace).
 *   Long runs (supernodes): by blocks [a, a + w) of a run, whose rows
 *   below a + w − 1 — the block's shared rows, those of column a + w − 1
 *   under its diagonal — are the same in all w columns.  Forward, the
 *   block's triangle, then each shared row gets y_r −= Σ_c L_rc y_c
 *   (scattered, the block's y in registers); backward, each column gathers
 *   over the shared rows, then the triangle.  Each shared row is then
 *   loaded once for w columns of L.
 * Column by column, a sweep loads a row of x for each multiply-add: where
 * L does not fit in the cache, the sweeps wait on that traffic and blocks
 * cut it; where it fits, blocks are no faster (a block's triangle waits
 * for all its shared rows), so only long runs of large factors are.
 * In the forward sweep, rows from `spill_from` on go to `spill` instead
 * (rows of the same stride): two threads then sweep two subtrees without
 * writing the rows both reach.  The backward sweep also writes its result
 * in the vertices' order into `copy` when not NULL. */
typedef otadO_vec vec;

typedef struct sweep {
    double *xi, *copy, *spill;
    size_t stride, spill_from;
    /* the factor's arrays, copied in: a store into xi (otadO_store, a
     * memcpy) may change any memory as far as the compiler knows, and
     * arrays reached through the factor were loaded again at every row */
    const int *lp, *li, *lnz, *perm, *segment_start, *row_start, *row_col;
    const unsigned char *segment_blocked;
    const double *lx, *row_val, *inv_diag;
    size_t n, n_segments;
} sweep;

static sweep sweep_of(const otadC_factor *f, double *xi, double *copy, double *spill,
                      size_t stride)
{
    const cholmod_factor *l = f->f;
    return (sweep){xi, copy, spill, stride, l->n, l->p, l->i, l->nz, l->Perm, f->segment_start,
                   f->row_start, f->row_col, f->segment_blocked, l->x, f->row_val, f->inv_diag,
                   l->n, f->n_segments};
}

static inline double *spilled_row(const sweep *s, size_t r)
{
    return r < s->spill_from ? s->xi + r * s->stride : s->spill + (r - s->spill_from) * s->stride;
}

/* Column j of L below its diagonal: count rows and their values. */
static inline const int *below(const sweep *s, size_t j, const double **val, int *count)
{
    int at = s->lp[j] + 1;
    *count = s->lnz[j] - 1;
    *val = s->lx + at;
    return s->li + at;
}

/* v ← x_i − Σ_t val[t]·x_(rows[t]) over count entries, in two sums. */
static inline __attribute__((always_inline)) void gather(const sweep *s, size_t H, size_t i,
                                                         const int *rows, const double *val,
                                                         int count, vec *v)
{
    vec odd[4];
    for (size_t q = 0; q < H; q++)
        v[q] = otadO_load(s->xi + i * s->stride + OTADO_LANES * q), odd[q] = (vec){0};
    int t = 0;
    for (; t + 1 < count; t += 2) {
        const double *x0 = s->xi + (size_t)rows[t] * s->stride;
        const double *x1 = s->xi + (size_t)rows[t + 1] * s->stride;
        for (size_t q = 0; q < H; q++) {
            v[q] -= val[t] * otadO_load(x0 + OTADO_LANES * q);
            odd[q] -= val[t + 1] * otadO_load(x1 + OTADO_LANES * q);
        }
    }
    for (size_t q = 0; q < H; q++) {
        if (t < count)
            v[q] -= val[t] * otadO_load(s->xi + (size_t)rows[t] * s->stride + OTADO_LANES * q);
        v[q] += odd[q];
    }
}

/* Row i less what the columns of short runs send it. */
static inline __attribute__((always_inline)) void gather_row(const sweep *s, size_t H, size_t i,
                                                             vec *v)
{
    const int *rs = s->row_start;
    gather(s, H, i, s->row_col + rs[i], s->row_val + rs[i], rs[i + 1] - rs[i], v);
}

static inline __attribute__((always_inline)) void forward_rows(const sweep *s, size_t H,
                                                               size_t lo, size_t hi)
{
    vec v[4];
    for (size_t i = lo; i < hi; i++) {
        gather_row(s, H, i, v);
        for (size_t q = 0; q < H; q++)
            otadO_store(s->xi + i * s->stride + OTADO_LANES * q, v[q] * s->inv_diag[i]);
    }
}

static inline __attribute__((always_inline)) void finish_column(const sweep *s, size_t H,
                                                                size_t j, vec *v)
{
    for (size_t q = 0; q < H; q++) {
        v[q] *= s->inv_diag[j];
        otadO_store(s->xi + j * s->stride + OTADO_LANES * q, v[q]);
        if (s->copy)
            otadO_store(s->copy + (size_t)s->perm[j] * s->stride + OTADO_LANES * q, v[q]);
    }
}

static inline __attribute__((always_inline)) void backward_columns(const sweep *s, size_t H,
                                                                   size_t lo, size_t hi)
{
    vec v[4];
    for (size_t j = hi; j-- > lo;) {
        const double *val;
        int count;
        const int *rows = below(s, j, &val, &count);
        gather(s, H, j, rows, val, count, v);
        finish_column(s, H, j, v);
    }
}

static inline __attribute__((always_inline)) void forward_block(const sweep *s, size_t H,
                                                                size_t w, size_t a)
{
    const double *inv = s->inv_diag, *l = s->lx, *val[4];
    const int *lp = s->lp;
    vec v[4][4];
    for (size_t b = 0; b < w; b++) {
        gather_row(s, H, a + b, v[b]);
        for (size_t d = 0; d < b; d++) /* L_(a+b, a+d) */
            for (size_t q = 0; q < H; q++)
                v[b][q] -= l[lp[a + d] + (b - d)] * v[d][q];
        for (size_t q = 0; q < H; q++) {
            v[b][q] *= inv[a + b];
            otadO_store(s->xi + (a + b) * s->stride + OTADO_LANES * q, v[b][q]);
        }
        val[b] = l + lp[a + b] + (w - b); /* column a + b at the shared rows */
    }
    int count;
    const double *unused;
    const int *rows = below(s, a + w - 1, &unused, &count);
    for (int t = 0; t < count; t++) {
        double *xr = spilled_row(s, (size_t)rows[t]);
        for (size_t q = 0; q < H; q++) {
            vec y = otadO_load(xr + OTADO_LANES * q);
            for (size_t b = 0; b < w; b++)
                y -= val[b][t] * v[b][q];
            otadO_store(xr + OTADO_LANES * q, y);
        }
    }
}

static inline __attribute__((always_inline)) void backward_block(const sweep *s, size_t H,
                                                                 size_t w, size_t a)
{
    const double *l = s->lx, *val[4];
    const int *lp = s->lp;
    vec v[4][4];
    for (size_t b = 0; b < w; b++) {
        for (size_t q = 0; q < H; q++)
            v[b][q] = otadO_load(s->xi + (a + b) * s->stride + OTADO_LANES * q);
        val[b] = l + lp[a + b] + (w - b);
    }
    int count;
    const double *unused;
    const int *rows = below(s, a + w - 1, &unused, &count);
    for (int t = 0; t < count; t++) {
        const double *xr = s->xi + (size_t)rows[t] * s->stride;
        for (size_t q = 0; q < H; q++) {
            vec x = otadO_load(xr + OTADO_LANES * q);
            for (size_t b = 0; b < w; b++)
                v[b][q] -= val[b][t] * x;
        }
    }
    for (size_t b = w; b-- > 0;) {
        for (size_t d = b + 1; d < w; d++) /* L_(a+d, a+b) */
            for (size_t q = 0; q < H; q++)
                v[b][q] -= l[lp[a + b] + (d - b)] * v[d][q];
        finish_column(s, H, a + b, v[b]);
    }
}

/* Columns [lo, hi) swept forward or backward, segment by segment; blocks
 * of at most 4 columns, their accumulators in at most half the vector
 * registers (16 of AVX-512's 32, 8 of AVX2's 16). */
static inline __attribute__((always_inline)) void sweep_columns(const sweep *s, size_t H,
                                                                int backward, size_t lo,
                                                                size_t hi)
{
    const int *start = s->segment_start;
    const unsigned char *blocked = s->segment_blocked;
    size_t accumulators = OTADO_LANES == 8 ? 16 : 8, count = s->n_segments;
    size_t most = accumulators / H < 4 ? accumulators / H : 4;
    for (size_t k = 0; k < count; k++) {
        size_t seg = backward ? count - 1 - k : k;
        size_t a = (size_t)start[seg], e = (size_t)start[seg + 1];
        a = a > lo ? a : lo, e = e < hi ? e : hi;
        if (a < e && !blocked[seg])
            backward ? backward_columns(s, H, a, e) : forward_rows(s, H, a, e);
        else
            for (; a < e;) {
                size_t w = e - a < most ? e - a : most, first = backward ? e - w : a;
                if (w == 4)
                    backward ? backward_block(s, H, 4, first) : forward_block(s, H, 4, first);
                else if (w == 3)
                    backward ? backward_block(s, H, 3, first) : forward_block(s, H, 3, first);
                else if (w == 2)
                    backward ? backward_block(s, H, 2, first) : forward_block(s, H, 2, first);
                else
                    backward ? backward_block(s, H, 1, first) : forward_block(s, H, 1, first);
                backward ? (e -= w) : (a += w);
            }
    }
}

/* One sweep over columns [lo, hi) for `count` right-hand sides from
 * `first` (both multiples of OTADO_LANES), 4, 2 or 1 vectors at a time
 * (constant widths: the vector loops unroll). */
static void sweep_range(const sweep *whole, size_t first, size_t count, int backward,
                        size_t lo, size_t hi)
{
    for (size_t end = first + count; first < end;) {
        size_t H = end - first >= 4 * OTADO_LANES ? 4 : end - first >= 2 * OTADO_LANES ? 2 : 1;
        sweep s = *whole;
        s.xi += first;
        s.copy = s.copy ? s.copy + first : NULL;
        s.spill = s.spill ? s.spill + first : NULL;
        if (H == 4)
            sweep_columns(&s, 4, backward, lo, hi);
        else if (H == 2)
            sweep_columns(&s, 2, backward, lo, hi);
        else
            sweep_columns(&s, 1, backward, lo, hi);
        first += H * OTADO_LANES;
    }
}

/* A whole solve of `count` right-hand sides from `first`. */
static void solve_columns(const sweep *s, size_t first, size_t count)
{
    size_t n = s->n;
    sweep_range(s, first, count, 0, 0, n);
    sweep_range(s, first, count, 1, 0, n);
}

/* When L is larger than a core's cache the sweeps wait on memory: two
 * threads then take the two halves of the elimination tree (each reading
 * its part of L once, for all the columns; the second adds what it sends
 * to the top rows into a spill of its own), and half the columns each of
 * the top. */
static int solve_split(const otadC_factor *f, size_t stride, double *xi, double *copy)
{
    size_t n = f->f->n, top = f->top, vectors = stride / OTADO_LANES;
    size_t bytes = ((n - top) * stride * sizeof(double) + 63) / 64 * 64;
    double *spill = aligned_alloc(64, bytes); /* whole vectors: see otadC_solve */
    if (!spill)
        return -1; /* swept on one thread instead */
    memset(spill, 0, bytes);
#pragma omp parallel num_threads(2)
    {
        const size_t bounds[3] = {0, f->middle, top};
        int first = omp_get_thread_num(), step = omp_get_num_threads();
        sweep s = sweep_of(f, xi, copy, spill, stride);
        for (int half = first; half < 2; half += step) {
            s.spill_from = step == 2 && half == 1 ? top : n;
            sweep_range(&s, 0, stride, 0, bounds[half], bounds[half + 1]);
        }
        s.spill_from = n;
        /* the top rows need both halves; its columns split between the
         * threads instead (it is small enough to be read twice) */
        size_t from = OTADO_LANES * (vectors * (size_t)first / (size_t)step);
        size_t to = OTADO_LANES * (vectors * (size_t)(first + 1) / (size_t)step);
#pragma omp barrier
        for (size_t r = top; step == 2 && r < n; r++)
            for (size_t c = from; c < to; c++)
                xi[r * stride + c] += spill[(r - top) * stride + c];
        sweep_range(&s, from, to - from, 0, top, n);
        sweep_range(&s, from, to - from, 1, top, n);
#pragma omp barrier
        for (int half = first; half < 2; half += step)
            sweep_range(&s, 0, stride, 1, bounds[half], bounds[half + 1]);
    }
    free(spill);
    return 0;
}

/* Otherwise columns go in groups, each one sweep reading L once: 32 at a
 * time on one thread (L's entries serve more columns per load), 16 a group
 * when two threads share a large factor, each from its own cache.  A factor
 * that fits in the cache stays on one thread here: its sweeps are bound by
 * each row waiting on the rows just before it, and two threads sharing the
 * rows of x were measured slower than one (otadC_columns_apart is how two
 * threads gain on such a factor). */
void otadC_solve(const otadC_factor *f, size_t stride, double *xi, double *copy)
{
    int threads = omp_get_max_threads() > 1, large = larger_than_cache(f->f);
    if (threads && large && f->top && solve_split(f, stride, xi, copy) == 0)
        return;
    size_t width = threads && large ? 16 : 32, groups = stride / width;
    int parallel = threads && large && groups >= 2;
    sweep s = sweep_of(f, xi, copy, NULL, stride);
#pragma omp parallel for schedule(static) if (parallel)
    for (size_t q = 0; q < groups; q++)
        solve_columns(&s, width * q, width);
    if (stride > width * groups)
        solve_columns(&s, width * groups, stride - width * groups);
}

int otadC_columns_apart(const otadC_factor *f, size_t ncols)
{
    return ncols > OTADO_LANES && omp_get_max_threads() > 1 && !omp_in_parallel() &&
           !larger_than_cache(f->f);
}
