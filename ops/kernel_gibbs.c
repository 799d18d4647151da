/* The dense Gibbs kernel K = exp(−C/ε) of a cost matrix C (n×m), or of the
 * squared distances between two point sets, computed when needed.
 *
 * Gradient to C: each apply y = Kx contributes ȳxᵀ to K̄, a rank-B update of
 * an n×m matrix; done apply by apply that is one pass over n×m memory per
 * apply.  Instead the vectors are packed as the applies' vjps run, and
 * C̄ += K ⊙ (−Σȳxᵀ/ε) is formed when the pack is full or the backward reaches
 * the kernel (finish): one matrix product per pack, computed in column blocks
 * that stay in cache while the elementwise factor is applied.  Given points,
 * each block of C̄ goes into the points' gradients at once: no n×m matrix
 * but K.  The packs are empty between backwards: finish empties them, and
 * only a backward that wants the parameters' gradients fills them. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "cost.h"
#include "kernel_packs.h"
#include "lanes.h"
#include "ops.h"

typedef struct gibbs_config {
    double eps;
    int points; /* the parameters are x (n×d) and y (m×d), not C */
} gibbs_config;

typedef struct gibbs {
    const double *cost;  /* C (input values, kept by the tape), or NULL and ... */
    const double *x, *y; /* ... the points, C_ij = ‖x_i − y_j‖² */
    double *kernel;      /* K, n×m */
    size_t n, m, d;
    size_t flush_width; /* columns of K a flush forms at a time */
    double eps;
    otadO_packs packs;
} gibbs;

enum { BLOCK = 64 };

static double cost_at(const gibbs *g, size_t i, size_t j)
{
    if (g->cost)
        return g->cost[i + j * g->n];
    double s = 0;
    for (size_t k = 0; k < g->d; k++) {
        double diff = g->x[i + k * g->n] - g->y[j + k * g->m];
        s += diff * diff;
    }
    return s;
}

/* Column j of C into out, a coordinate at a time so that it vectorises. */
static void cost_column(const gibbs *g, size_t j, double *out)
{
    if (g->cost) {
        memcpy(out, g->cost + j * g->n, g->n * sizeof *out);
        return;
    }
    memset(out, 0, g->n * sizeof *out);
    for (size_t k = 0; k < g->d; k++) {
        const double *xk = g->x + k * g->n, yk = g->y[j + k * g->m];
        for (size_t i = 0; i < g->n; i++)
            out[i] += (xk[i] - yk) * (xk[i] - yk);
    }
}

/* Columns j0..j0+w of C: the matrix's own memory, or computed into buf. */
static const double *cost_block(const gibbs *g, size_t j0, size_t w, double *buf)
{
    if (g->cost)
        return g->cost + j0 * g->n;
    for (size_t j = 0; j < w; j++)
        cost_column(g, j0 + j, buf + j * g->n);
    return buf;
}

/* Columns j0..j0+w of C̄ into the parameters' gradients: C̄ itself, or
 * x̄_i += 2 Σ_j C̄_ij (x_i − y_j), ȳ_j −= 2 Σ_i C̄_ij (x_i − y_j). */
static void add_cost_gradient(const gibbs *g, size_t j0, size_t w, const double *cbar,
                              const otad_kernel_grads *grads)
{
    size_t n = g->n, m = g->m;
    if (g->cost) {
        double *gc = grads->param[0] + j0 * n;
        for (size_t k = 0; k < w * n; k++)
            gc[k] += cbar[k];
        return;
    }
    otadO_sqdist_vjp(g->x, n, g->y, m, g->d, j0, w, cbar, grads->param[0], grads->param[1]);
}

/* The same for one entry C̄_ij. */
static void add_entry_gradient(const gibbs *g, size_t i, size_t j, double cbar,
                               const otad_kernel_grads *grads)
{
    if (g->cost) {
        grads->param[0][i + j * g->n] += cbar;
        return;
    }
    for (size_t k = 0; k < g->d; k++) {
        double t = 2 * cbar * (g->x[i + k * g->n] - g->y[j + k * g->m]);
        if (grads->param[0])
            grads->param[0][i + k * g->n] += t;
        if (grads->param[1])
            grads->param[1][j + k * g->m] -= t;
    }
}

static int wants_gradient(const gibbs *g, const otad_kernel_grads *grads)
{
    return grads->param[0] || (!g->cost && grads->param[1]);
}

/* glibc's vector exp (libmvec) for the n·m exponentials of K, several times
 * faster than one call per entry; <math.h> declares it for simd loops only
 * under -ffast-math, which the rest of the file must not have. */
#pragma omp declare simd notinbranch
double exp(double);

static void exp_in_place(double *x, size_t n, double scale)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        x[i] = exp(scale * x[i]);
}

static int gibbs_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    gibbs *g = state;
    const gibbs_config *gc = config;
    double eps = gc->eps;
    if (c->n_in != (gc->points ? 2u : 1u))
        return otad_fail(c, OTAD_EINVAL, "gibbs kernel takes %s", gc->points ? "two point sets"
                                                                              : "one cost");
    if (!(eps > 0) || !isfinite(eps))
        return otad_fail(c, OTAD_EDOMAIN, "gibbs kernel: eps is %g, must be positive", eps);
    if (gc->points) {
        otad_value x = c->in[0], y = c->in[1];
        if (x.cols != y.cols)
            return otad_fail(c, OTAD_ESHAPE, "gibbs kernel: points of dimension %zu and %zu",
                             x.cols, y.cols);
        g->x = x.data, g->y = y.data, g->n = x.rows, g->m = y.rows, g->d = x.cols;
    } else {
        g->cost = c->in[0].data, g->n = c->in[0].rows, g->m = c->in[0].cols;
    }
    if (g->n > INT_MAX || g->m > INT_MAX)
        return otad_fail(c, OTAD_ESHAPE, "gibbs kernel: %zux%zu is beyond what BLAS indexes",
                         g->n, g->m);
    if (!(g->kernel = otad_alloc(c, g->n * g->m * sizeof *g->kernel)))
        return OTAD_ENOMEM;
    /* n·m exponentials: worth the threads from a few hundred thousand */
#pragma omp parallel for schedule(static) if (g->n * g->m > (1u << 18))
    for (size_t j = 0; j < g->m; j++) {
        double *column = g->kernel + j * g->n;
        cost_column(g, j, column);
        exp_in_place(column, g->n, -1 / eps);
    }
    g->eps = eps;
    /* Each product of a flush repacks its n×cap operand: wide blocks of
     * columns repack it fewer times, within 8 MB of tiles. */
    size_t width = ((size_t)8 << 20) / (3 * sizeof(double) * g->n);
    g->flush_width = width < BLOCK ? BLOCK : width > g->m ? g->m : width;
    /* Packs of 128 to 512 columns, at most 32 MB for both: a flush is a
     * product of inner dimension `cap` that repacks its operands once per
     * block of columns, plus one pass over K and C — worth few of them.
     * Allocated before any apply: a rewind after the kernel must not drop
     * them. */
    if (otadO_packs_new(c, &g->packs, g->n, g->m, (size_t)32 << 20, 128) != OTAD_OK)
        return OTAD_ENOMEM;
    *info = (otad_kernel_info){g->n, g->m, eps, 1, 0, 2.0 * (double)g->n * (double)g->m};
    return OTAD_OK;
}

/* Three tiles of `width` columns (two products and a block of C), for one call. */
static double *tiles(const otad_ctx *c, const gibbs *g, size_t width)
{
    return otad_scratch(c, 3 * width * g->n * sizeof(double));
}

/* y ← β·y + op(K⊙C)·x, forming K⊙C a block of columns at a time. */
static void apply_cost(gibbs *g, int transpose, size_t ncols, const double *x, double beta,
                       double *y, double *tile)
{
    int n = (int)g->n, m = (int)g->m, b = (int)ncols;
    if (!transpose && beta == 0) /* the blocks accumulate into y */
        memset(y, 0, g->n * ncols * sizeof *y);
    for (size_t j0 = 0; j0 < g->m; j0 += BLOCK) {
        int w = (int)(g->m - j0 < BLOCK ? g->m - j0 : BLOCK);
        const double *kb = g->kernel + j0 * g->n;
        const double *cb = cost_block(g, j0, (size_t)w, tile + BLOCK * g->n);
        for (size_t k = 0; k < (size_t)w * g->n; k++)
            tile[k] = kb[k] * cb[k];
        if (!transpose) /* y += T·x[j0:j0+w, :] */
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, b, w, 1.0, tile, n,
                        x + j0, m, 1.0, y, n);
        else            /* y[j0:j0+w, :] = β·y + Tᵀ·x */
            cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, w, b, n, 1.0, tile, n, x, n,
                        beta, y + j0, m);
    }
}

static int gibbs_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                       const double *x, double beta, double *y)
{
    gibbs *g = state;
    int transpose = product & OTAD_KERNEL_TRANSPOSE;
    if (product & OTAD_KERNEL_COST) {
        double *tile = tiles(c, g, BLOCK);
        if (!tile)
            return OTAD_ENOMEM;
        apply_cost(g, transpose, ncols, x, beta, y, tile);
        return OTAD_OK;
    }
    int n = (int)g->n, m = (int)g->m;
    enum CBLAS_TRANSPOSE op = transpose ? CblasTrans : CblasNoTrans;
    if (ncols == 1)
        cblas_dgemv(CblasColMajor, op, n, m, 1.0, g->kernel, n, x, 1, beta, y, 1);
    else
        cblas_dgemm(CblasColMajor, op, CblasNoTrans, transpose ? m : n, (int)ncols,
                    transpose ? n : m, 1.0, g->kernel, n, x, transpose ? n : m, beta, y,
                    transpose ? m : n);
    return OTAD_OK;
}

/* ---- pairs -------------------------------------------------------------- */

/* A pair p = Kᵀx, map, y += K·mid reads each group of columns of K from
 * memory once for both products, where two BLAS calls stream K twice (and
 * repack it, for a few columns of x).  x and y are by rows of `stride`
 * entries; columns [j0, j1) of K. */
enum { GROUP = 8, MAX_VECS = 2 }; /* columns of K at a time; vectors per row of x */

/* One column (stride 1): memory bounds it, eight columns of K at a time
 * (so that the map's powers run on full vectors). */
static void pair_one_column(const gibbs *g, size_t j0, size_t j1, const double *x,
                            const otad_kernel_map *map, double *mid, double *y)
{
    size_t n = g->n;
    for (size_t j = j0; j < j1; j += 8) {
        size_t w = j1 - j < 8 ? j1 - j : 8;
        const double *col[8];
        for (size_t k = 0; k < 8; k++)
            col[k] = g->kernel + (j + (k < w ? k : 0)) * n;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3, s4, s5, s6, s7)
        for (size_t i = 0; i < n; i++) {
            s0 += col[0][i] * x[i];
            s1 += col[1][i] * x[i];
            s2 += col[2][i] * x[i];
            s3 += col[3][i] * x[i];
            s4 += col[4][i] * x[i];
            s5 += col[5][i] * x[i];
            s6 += col[6][i] * x[i];
            s7 += col[7][i] * x[i];
        }
        double dots[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
        memcpy(mid + j, dots, w * sizeof *mid);
        map->entries(map->data, j, w, mid);
        double t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(t, mid + j, w * sizeof *t);
#pragma omp simd
        for (size_t i = 0; i < n; i++)
            y[i] += t[0] * col[0][i] + t[1] * col[1][i] + t[2] * col[2][i] + t[3] * col[3][i] +
                    t[4] * col[4][i] + t[5] * col[5][i] + t[6] * col[6][i] + t[7] * col[7][i];
    }
}

/* Up to MAX_VECS vectors of columns: arithmetic bounds it, so the products
 * of GROUP columns of K with x stay in registers, go to mid (by columns)
 * for the map, and come back for the rank-GROUP update of y. */
static inline void pair_rows(const gibbs *g, size_t j0, size_t j1, size_t ncols, size_t vecs,
                             const double *x, const otad_kernel_map *map, double *mid,
                             double *y)
{
    size_t n = g->n, m = g->m, stride = vecs * OTADO_LANES;
    for (size_t j = j0; j < j1; j += GROUP) {
        size_t w = j1 - j < GROUP ? j1 - j : GROUP;
        const double *col[GROUP];
        for (size_t k = 0; k < GROUP; k++)
            col[k] = g->kernel + (j + (k < w ? k : 0)) * n;
        otadO_vec acc[GROUP][MAX_VECS] = {{{0}}};
        for (size_t i = 0; i < n; i++) {
            otadO_vec xi[MAX_VECS];
            for (size_t q = 0; q < vecs; q++)
                xi[q] = otadO_load(x + i * stride + q * OTADO_LANES);
            for (size_t k = 0; k < GROUP; k++)
                for (size_t q = 0; q < vecs; q++)
                    acc[k][q] += col[k][i] * xi[q];
        }
        double row[MAX_VECS * OTADO_LANES] = {0};
        for (size_t k = 0; k < w; k++) {
            for (size_t q = 0; q < vecs; q++)
                otadO_store(row + q * OTADO_LANES, acc[k][q]);
            for (size_t b = 0; b < ncols; b++)
                mid[j + k + b * m] = row[b];
        }
        map->entries(map->data, j, w, mid);
        for (size_t k = 0; k < GROUP; k++) {
            for (size_t b = 0; b < stride; b++)
                row[b] = k < w && b < ncols ? mid[j + k + b * m] : 0;
            for (size_t q = 0; q < vecs; q++)
                acc[k][q] = otadO_load(row + q * OTADO_LANES);
        }
        for (size_t i = 0; i < n; i++) {
            otadO_vec yi[MAX_VECS];
            for (size_t q = 0; q < vecs; q++)
                yi[q] = otadO_load(y + i * stride + q * OTADO_LANES);
            for (size_t k = 0; k < GROUP; k++)
                for (size_t q = 0; q < vecs; q++)
                    yi[q] += col[k][i] * acc[k][q];
            for (size_t q = 0; q < vecs; q++)
                otadO_store(y + i * stride + q * OTADO_LANES, yi[q]);
        }
    }
}

static void pair_part(const gibbs *g, size_t j0, size_t j1, size_t ncols, size_t vecs,
                      const double *x, const otad_kernel_map *map, double *mid, double *y)
{
    if (ncols == 1)
        pair_one_column(g, j0, j1, x, map, mid, y);
    else if (vecs == 1) /* constant vector counts: the loops over them unrolled */
        pair_rows(g, j0, j1, ncols, 1, x, map, mid, y);
    else
        pair_rows(g, j0, j1, ncols, MAX_VECS, x, map, mid, y);
}

/* Kᵀ then K on up to MAX_VECS·OTADO_LANES columns is fused, on one thread
 * or, with work enough to gain from it, split by columns of K between the
 * threads (each with its own y).  Other pairs are two applies, as are small
 * ones with several threads: OpenBLAS threads those products at less cost
 * than a split. */
static int gibbs_apply_pair(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                            const double *x, const otad_kernel_map *map, double *mid,
                            double beta, double *y)
{
    gibbs *g = state;
    size_t n = g->n, m = g->m, threads = (size_t)omp_get_max_threads();
    size_t vecs = (ncols + OTADO_LANES - 1) / OTADO_LANES, stride = ncols == 1 ? 1 : vecs * OTADO_LANES;
    if (product != OTAD_KERNEL_TRANSPOSE || vecs > MAX_VECS ||
        (threads > 1 && n * m * ncols < (1u << 20))) {
        int rc = gibbs_apply(c, g, product, ncols, x, 0.0, mid);
        if (rc != OTAD_OK)
            return rc;
        map->entries(map->data, 0, product & OTAD_KERNEL_TRANSPOSE ? m : n, mid);
        return gibbs_apply(c, g, product ^ OTAD_KERNEL_TRANSPOSE, ncols, mid, beta, y);
    }
    /* x by rows, then each thread's y by rows */
    double *rows = otad_scratch(c, (1 + threads) * n * stride * sizeof *rows);
    if (!rows)
        return OTAD_ENOMEM;
    memset(rows, 0, (1 + threads) * n * stride * sizeof *rows);
    for (size_t b = 0; b < ncols; b++)
        for (size_t i = 0; i < n; i++)
            rows[i * stride + b] = x[i + b * n];
#pragma omp parallel num_threads((int)threads) if (threads > 1)
    {
        size_t id = (size_t)omp_get_thread_num(), parts = (size_t)omp_get_num_threads();
        size_t groups = (m + GROUP - 1) / GROUP, j0 = GROUP * (groups * id / parts);
        size_t j1 = id + 1 == parts ? m : GROUP * (groups * (id + 1) / parts);
        pair_part(g, j0, j1, ncols, vecs, rows, map, mid, rows + (1 + id) * n * stride);
    }
    for (size_t b = 0; b < ncols; b++)
        for (size_t i = 0; i < n; i++) {
            double sum = beta == 0 ? 0 : y[i + b * n];
            for (size_t t = 1; t <= threads; t++)
                sum += rows[(t * n + i) * stride + b];
            y[i + b * n] = sum;
        }
    return OTAD_OK;
}

/* C̄ = K ⊙ (−Σ_K/ε + (1 − C/ε) ⊙ Σ_KC), Σ the pending products, block by
 * block into the parameters' gradients. */
static int flush(const otad_ctx *c, void *state, const otad_kernel_grads *grads)
{
    gibbs *g = state;
    otadO_pack *pk = &g->packs.of_k, *pkc = &g->packs.of_kc;
    if (!pk->count && !pkc->count)
        return OTAD_OK;
    int n = (int)g->n, m = (int)g->m;
    size_t width = g->flush_width;
    double *tk = tiles(c, g, width);
    if (!tk)
        return OTAD_ENOMEM;
    double *tkc = tk + width * g->n, *cbuf = tkc + width * g->n;
    for (size_t j0 = 0; j0 < g->m; j0 += width) {
        int w = (int)(g->m - j0 < width ? g->m - j0 : width);
        size_t size = (size_t)w * g->n;
        if (pk->count)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, w, (int)pk->count, 1.0,
                        pk->left, n, pk->right + j0, m, 0.0, tk, n);
        else
            memset(tk, 0, size * sizeof *tk);
        if (pkc->count)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, w, (int)pkc->count, 1.0,
                        pkc->left, n, pkc->right + j0, m, 0.0, tkc, n);
        else
            memset(tkc, 0, size * sizeof *tkc);
        const double *kb = g->kernel + j0 * g->n, *cb = cost_block(g, j0, (size_t)w, cbuf);
        double inv_eps = 1 / g->eps;
        for (size_t k = 0; k < size; k++)
            tk[k] = kb[k] * (-tk[k] * inv_eps + (1 - cb[k] * inv_eps) * tkc[k]);
        add_cost_gradient(g, j0, (size_t)w, tk, grads);
    }
    pk->count = pkc->count = 0;
    return OTAD_OK;
}

static int gibbs_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                     const otad_kernel_grads *grads)
{
    gibbs *g = state;
    if (a->xbar) {
        int rc = gibbs_apply(c, g, a->product ^ OTAD_KERNEL_TRANSPOSE, a->ncols, a->ybar, 1.0,
                             a->xbar);
        if (rc != OTAD_OK)
            return rc;
    }
    return wants_gradient(g, grads) ? otadO_packs_collect(&g->packs, c, g, a, grads, flush)
                                    : OTAD_OK;
}

static int gibbs_finish(const otad_ctx *c, void *state, const otad_kernel_grads *grads)
{
    return wants_gradient(state, grads) ? flush(c, state, grads) : OTAD_OK;
}

/* ---- log domain --------------------------------------------------------- */

/* log of the (i, j) term of op(K_η)·exp(x) without x: −C_ij/η, plus log C_ij
 * for the cost-weighted product (−inf where C_ij = 0: the term vanishes). */
static double log_term(const gibbs *g, size_t i, size_t j, int cost, double eta)
{
    double c = cost_at(g, i, j), t = -c / eta;
    return cost ? (c > 0 ? t + log(c) : -INFINITY) : t;
}

/* One column: y_i = log Σ_j exp(x_j + log_term(i, j)), for K (sum over the
 * columns j of C) or Kᵀ (sum over the rows i, with roles swapped). */
static void log_apply_column(const gibbs *g, int transpose, int cost, double eta,
                             const double *x, double *y, double *shift)
{
    size_t n = g->n, m = g->m;
    if (transpose) { /* y_j = log Σ_i exp(x_i + t_ij): C's column j is contiguous */
        for (size_t j = 0; j < m; j++) {
            double mx = -INFINITY, s = 0;
            for (size_t i = 0; i < n; i++)
                mx = fmax(mx, x[i] + log_term(g, i, j, cost, eta));
            for (size_t i = 0; i < n; i++)
                s += exp(x[i] + log_term(g, i, j, cost, eta) - mx);
            y[j] = mx + log(s);
        }
        return;
    }
    for (size_t i = 0; i < n; i++)
        shift[i] = -INFINITY;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            shift[i] = fmax(shift[i], x[j] + log_term(g, i, j, cost, eta));
    for (size_t i = 0; i < n; i++)
        y[i] = 0;
    for (size_t j = 0; j < m; j++)
        for (size_t i = 0; i < n; i++)
            y[i] += exp(x[j] + log_term(g, i, j, cost, eta) - shift[i]);
    for (size_t i = 0; i < n; i++)
        y[i] = shift[i] + log(y[i]);
}

/* The exponents of output `index`'s sum, contiguous in t: t_k = x_k − C/η
 * over the summed index k (the rows of C for Kᵀ, its columns for K). */
static void exponents(const gibbs *g, int transpose, size_t index, double eta, const double *x,
                      double *t)
{
    size_t len = transpose ? g->n : g->m;
    if (g->cost) {
        const double *c = transpose ? g->cost + index * g->n : g->cost + index;
        size_t step = transpose ? 1 : g->n;
#pragma omp simd
        for (size_t k = 0; k < len; k++)
            t[k] = x[k] - c[k * step] / eta;
        return;
    }
    const double *summed = transpose ? g->x : g->y, *fixed = transpose ? g->y : g->x;
    size_t fixed_rows = transpose ? g->m : g->n;
    memset(t, 0, len * sizeof *t);
    for (size_t d = 0; d < g->d; d++) {
        const double *s = summed + d * len, f = fixed[index + d * fixed_rows];
#pragma omp simd
        for (size_t k = 0; k < len; k++)
            t[k] += (s[k] - f) * (s[k] - f);
    }
#pragma omp simd
    for (size_t k = 0; k < len; k++)
        t[k] = x[k] - t[k] / eta;
}

/* log Σ_k e^(t_k), vectorised (glibc's exp above); t is overwritten.  Terms
 * below e^(−700) times the largest are raised to it: they add at most
 * len·e^(−700) to a sum of at least 1, far below its precision, and the
 * vector exp computes a vector with an underflowing entry by scalar calls,
 * more than ten times slower, where at small ε most entries underflow. */
static double log_sum_exp(double *t, size_t len)
{
    double mx = -INFINITY, s = 0;
#pragma omp simd reduction(max : mx)
    for (size_t k = 0; k < len; k++) /* not fmax: a library call per entry */
        mx = t[k] > mx ? t[k] : mx;
    if (mx == -INFINITY)
        return mx;
#pragma omp simd
    for (size_t k = 0; k < len; k++)
        t[k] = t[k] - mx < -700 ? -700 : t[k] - mx;
#pragma omp simd reduction(+ : s)
    for (size_t k = 0; k < len; k++)
        s += exp(t[k]);
    return mx + log(s);
}

static int gibbs_apply_log_at(const otad_ctx *c, void *state, double eta, unsigned product,
                              size_t ncols, const double *x, double *y)
{
    gibbs *g = state;
    int transpose = product & OTAD_KERNEL_TRANSPOSE, cost = product & OTAD_KERNEL_COST;
    size_t in = transpose ? g->n : g->m, out = transpose ? g->m : g->n;
    size_t threads = (size_t)omp_get_max_threads(), len = g->n > g->m ? g->n : g->m;
    double *work = otad_scratch(c, threads * len * sizeof *work);
    if (!work)
        return OTAD_ENOMEM;
    for (size_t b = 0; b < ncols; b++) {
        if (cost) { /* the values' product, once per solve */
            log_apply_column(g, transpose, cost, eta, x + b * in, y + b * out, work);
            continue;
        }
#pragma omp parallel for schedule(static) num_threads((int)threads) if (in * out > (1u << 18))
        for (size_t i = 0; i < out; i++) {
            double *t = work + (size_t)omp_get_thread_num() * len;
            exponents(g, transpose, i, eta, x + b * in, t);
            y[i + b * out] = log_sum_exp(t, in);
        }
    }
    return OTAD_OK;
}

static int gibbs_apply_log(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                           const double *x, double *y)
{
    return gibbs_apply_log_at(c, state, ((gibbs *)state)->eps, product, ncols, x, y);
}

/* With P_ij = exp(x_j + t_ij − y_i) ≤ 1 (no overflow whatever the scales):
 * x̄_j += Σ_i ȳ_i P_ij;  C̄_ij += ȳ_i·∂t-part, where for K the exponent's
 * derivative is −1/ε, and for K⊙C, d log(C e^{−C/ε})/dC = 1/C − 1/ε, times
 * P_ij = C_ij e^{…}: so C̄_ij += ȳ_i e^{x_j − C_ij/ε − y_i} (1 − C_ij/ε).
 * Roles of i and j swap for the transpose. */
static int gibbs_vjp_log(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                         const otad_kernel_grads *grads)
{
    (void)c;
    gibbs *g = state;
    int transpose = a->product & OTAD_KERNEL_TRANSPOSE, cost = a->product & OTAD_KERNEL_COST;
    int grad_cost = wants_gradient(g, grads);
    double inv_eps = 1 / g->eps;
    size_t n = g->n, m = g->m, in = transpose ? n : m, out = transpose ? m : n;
    for (size_t b = 0; b < a->ncols; b++) {
        const double *x = a->x + b * in, *y = a->y + b * out, *ybar = a->ybar + b * out;
        double *xbar = a->xbar ? a->xbar + b * in : NULL;
        for (size_t j = 0; j < m; j++)
            for (size_t i = 0; i < n; i++) {
                double xin = transpose ? x[i] : x[j], yo = transpose ? y[j] : y[i];
                double yb = transpose ? ybar[j] : ybar[i], cij = cost_at(g, i, j);
                double e = exp(xin - cij * inv_eps - yo); /* P / C for cost */
                double p = cost ? e * cij : e;
                if (xbar)
                    xbar[transpose ? i : j] += yb * p;
                if (grad_cost)
                    add_entry_gradient(g, i, j, yb * (cost ? e * (1 - cij * inv_eps)
                                                           : -p * inv_eps), grads);
            }
    }
    return OTAD_OK;
}

static const otad_kernel_class gibbs_class = {
    .name = "gibbs",
    .state_bytes = sizeof(gibbs),
    .setup = gibbs_setup,
    .apply = gibbs_apply,
    .apply_pair = gibbs_apply_pair,
    .vjp = gibbs_vjp,
    .finish = gibbs_finish,
    .apply_log = gibbs_apply_log,
    .vjp_log = gibbs_vjp_log,
    .apply_log_at = gibbs_apply_log_at,
};

otad_kernel otad_kernel_gibbs(otad_tape *t, otad_var cost, double eps)
{
    gibbs_config config = {eps, 0};
    return otad_kernel_new(t, &gibbs_class, &config, 1, &cost);
}

otad_kernel otad_kernel_gibbs_points(otad_tape *t, otad_var x, otad_var y, double eps)
{
    gibbs_config config = {eps, 1};
    otad_var points[2] = {x, y};
    return otad_kernel_new(t, &gibbs_class, &config, 2, points);
}
