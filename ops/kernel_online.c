/* The Gibbs kernel of two point clouds, K_ij = exp(−‖x_i − y_j‖^p/ε),
 * computed as it is applied: every product and every gradient forms the
 * entries it needs in tiles of ROWS output points by COLS summed points,
 * uses them and drops them.  Nothing of size n×m is ever held, so memory is
 * O((n + m)(d + B)) for B columns, where a stored kernel takes n·m doubles
 * (80 GB at n = m = 10⁵); each product pays n·m exponentials instead.
 *
 * A product runs over blocks of output points (OpenMP, one tile per
 * thread); what a block adds to the summed side (the gradients of the
 * input and of the summed points) goes into the thread's own copy, summed
 * at the end.  A product is written once for both orientations: Kᵀ is the
 * kernel of the clouds swapped. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "kernel_packs.h"
#include "ops.h"
#include "vector_pow.h"

/* glibc's vector exp and log (libmvec), as in kernel_gibbs.c: <math.h>
 * declares them for simd loops only under -ffast-math. */
#pragma omp declare simd notinbranch
double exp(double);
#pragma omp declare simd notinbranch
double log(double);

/* A tile: ROWS·COLS doubles (64 KB) stay in a core's L2 between the pass
 * that forms them and the product that uses them. */
enum { ROWS = 128, COLS = 64 };

/* Exponents below this are raised to it as they are formed (clamp), and
 * the entries they give read as 0 (at most lowest_entry()): libmvec's exp
 * computes a vector holding an underflowing entry by scalar calls, ten
 * times slower, and at small ε most entries underflow; e^(−708) is below
 * any sum such an entry could matter in. */
static const double LOWEST_EXPONENT = -708;

static inline double clamp(double t)
{
    return t < LOWEST_EXPONENT ? LOWEST_EXPONENT : t;
}

static double lowest_entry(void)
{
    return exp(LOWEST_EXPONENT);
}

/* e^t in place, t clamped: a loop with the call and no branch, so that it
 * runs on vectors (the callers' own loops read the entries at lowest_entry()
 * as 0). */
static void exp_in_place(double *t, size_t size)
{
#pragma omp simd
    for (size_t i = 0; i < size; i++)
        t[i] = exp(t[i]);
}

typedef struct online_config {
    double eps, power;
} online_config;

typedef struct online {
    const double *x, *y; /* n×d and m×d, column-major */
    size_t n, m, d;
    double eps, power;
    otadO_packs packs;
} online;

/* A product's clouds: the output runs over `out`, the sum over `sum`; for
 * Kᵀ they are y and x.  param: each cloud's parameter index. */
typedef struct sides {
    const double *out, *sum;
    size_t n_out, n_sum, d;
    int out_param, sum_param;
    double power;
} sides;

static sides sides_of(const online *o, unsigned product)
{
    if (product & OTAD_KERNEL_TRANSPOSE)
        return (sides){o->y, o->x, o->m, o->n, o->d, 1, 0, o->power};
    return (sides){o->x, o->y, o->n, o->m, o->d, 0, 1, o->power};
}

/* One tile: output points o0..o0+r, summed points s0..s0+w, entries
 * column-major with leading dimension r. */
typedef struct tile {
    size_t o0, r, s0, w;
} tile;

/* ρ_ts = ‖out_t − sum_s‖², vectorised over the output points. */
static void squared_distances(const sides *s, tile t, double *rho)
{
    for (size_t j = 0; j < t.w; j++) {
        double *col = rho + j * t.r;
        for (size_t k = 0; k < s->d; k++) {
            const double *p = s->out + k * s->n_out + t.o0;
            double q = s->sum[t.s0 + j + k * s->n_sum];
            if (k == 0)
#pragma omp simd
                for (size_t i = 0; i < t.r; i++)
                    col[i] = (p[i] - q) * (p[i] - q);
            else
#pragma omp simd
                for (size_t i = 0; i < t.r; i++)
                    col[i] += (p[i] - q) * (p[i] - q);
        }
    }
}

/* c = ρ^(p/2) in place (the vector pow gives 0 at 0 for p > 0). */
static void costs(double power, double *c, size_t size)
{
    if (power == 2)
        return;
    if (power == 1) {
#pragma omp simd
        for (size_t k = 0; k < size; k++)
            c[k] = sqrt(c[k]);
        return;
    }
    double half = power / 2;
#pragma omp simd
    for (size_t k = 0; k < size; k++)
        c[k] = pow(c[k], half);
}

/* The tile's entries of K (or of K ⊙ C) at ε = eps, from its costs. */
static void kernel_entries(const double *c, size_t size, double eps, int cost, double *k)
{
    double scale = -1 / eps, lowest = lowest_entry();
#pragma omp simd
    for (size_t i = 0; i < size; i++)
        k[i] = clamp(scale * c[i]);
    exp_in_place(k, size);
#pragma omp simd
    for (size_t i = 0; i < size; i++)
        k[i] = k[i] <= lowest ? 0 : cost ? k[i] * c[i] : k[i];
}

/* The log-domain terms without x: −c/η, plus log c for K ⊙ C (−∞ at c = 0:
 * a term that vanishes). */
static void log_terms(double *c, size_t size, double eta, int cost)
{
    double scale = -1 / eta;
    if (!cost) {
#pragma omp simd
        for (size_t i = 0; i < size; i++)
            c[i] *= scale;
        return;
    }
#pragma omp simd
    for (size_t i = 0; i < size; i++)
        c[i] = scale * c[i] + log(c[i]);
}

/* C̄ of a tile into the points' gradients, with ω = C̄·dc/dρ (in place):
 * out̄_t += 2 Σ_s ω_ts (out_t − sum_s), sum̄_s −= 2 Σ_t ω_ts (out_t − sum_s).
 * dc/dρ is (p/2)·c/ρ, taken as 0 where ρ = 0 (the subgradient 0 for p = 1,
 * the limit for p > 1); rho is overwritten.  Either gradient may be NULL. */
static void add_point_gradient(const sides *s, tile t, double *cbar, double *rho,
                               double *out_bar, double *sum_bar)
{
    size_t size = t.r * t.w;
    double p = s->power;
    if (p != 2) { /* rho becomes dc/dρ where ρ > 0 */
        if (p == 1)
#pragma omp simd
            for (size_t k = 0; k < size; k++)
                rho[k] = 0.5 / sqrt(rho[k]);
        else
#pragma omp simd
            for (size_t k = 0; k < size; k++)
                rho[k] = (p / 2) * pow(rho[k], p / 2 - 1);
#pragma omp simd
        for (size_t k = 0; k < size; k++)
            cbar[k] = isinf(rho[k]) ? 0 : cbar[k] * rho[k];
    }
    for (size_t j = 0; j < t.w; j++) {
        const double *w = cbar + j * t.r;
        for (size_t k = 0; k < s->d; k++) {
            const double *pt = s->out + k * s->n_out + t.o0;
            double q = s->sum[t.s0 + j + k * s->n_sum], total = 0;
            double *ob = out_bar ? out_bar + k * s->n_out + t.o0 : NULL;
#pragma omp simd reduction(+ : total)
            for (size_t i = 0; i < t.r; i++) {
                double g = 2 * w[i] * (pt[i] - q);
                total += g;
                if (ob)
                    ob[i] += g;
            }
            if (sum_bar)
                sum_bar[t.s0 + j + k * s->n_sum] -= total;
        }
    }
}

static size_t blocks_of(size_t n)
{
    return (n + ROWS - 1) / ROWS;
}

static tile tile_at(const sides *s, size_t block, size_t s0)
{
    size_t o0 = block * ROWS, w = s->n_sum - s0;
    return (tile){o0, s->n_out - o0 < ROWS ? s->n_out - o0 : ROWS, s0, w < COLS ? w : COLS};
}

/* Threads for a product over n_out·n_sum entries: one below a few tiles. */
static int threads_for(const sides *s)
{
    int max = omp_get_max_threads();
    return blocks_of(s->n_out) > 1 && s->n_out * s->n_sum >= 4u * ROWS * COLS ? max : 1;
}

/* C ← β·C + op(A)·op(B), column-major, C m×n, inner dimension k, in pieces
 * of the inner dimension small enough (m·n·piece < 2^18) that OpenBLAS
 * runs each on the calling thread: called inside this file's OpenMP loops,
 * its OpenMP build would otherwise start a nested team at every call where
 * the loop runs on one thread, and its pthread build share its threads
 * between the loop's. */
static void gemm_here(int trans_a, int trans_b, size_t m, size_t n, size_t k, const double *a,
                      size_t lda, const double *b, size_t ldb, double beta, double *c, size_t ldc)
{
    size_t piece = ((size_t)1 << 18) / (m * n + 1);
    piece = piece < 1 ? 1 : piece;
    for (size_t k0 = 0; k0 < k; k0 += piece) {
        size_t kc = k - k0 < piece ? k - k0 : piece;
        const double *ak = a + (trans_a ? k0 : k0 * lda), *bk = b + (trans_b ? k0 * ldb : k0);
        cblas_dgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)kc, 1.0, ak,
                    (int)lda, bk, (int)ldb, k0 ? 1.0 : beta, c, (int)ldc);
    }
}

/* ---- scaling domain ------------------------------------------------------ */

/* y[tile's rows] += T·x[tile's columns] on ncols columns. */
static void tile_product(const sides *s, tile t, size_t ncols, const double *k, const double *x,
                         double *y)
{
    if (ncols == 1) {
        double *yo = y + t.o0;
        for (size_t j = 0; j < t.w; j++) {
            const double *kj = k + j * t.r;
            double xj = x[t.s0 + j];
#pragma omp simd
            for (size_t i = 0; i < t.r; i++)
                yo[i] += kj[i] * xj;
        }
        return;
    }
    gemm_here(0, 0, t.r, ncols, t.w, k, t.r, x + t.s0, s->n_sum, 1.0, y + t.o0, s->n_out);
}

static int online_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                        const double *x, double beta, double *y)
{
    const online *o = state;
    sides s = sides_of(o, product);
    int threads = threads_for(&s), cost = (product & OTAD_KERNEL_COST) != 0;
    double *work = otad_scratch(c, (size_t)threads * 2 * ROWS * COLS * sizeof *work);
    if (!work)
        return OTAD_ENOMEM;
    size_t blocks = blocks_of(s.n_out);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (size_t b = 0; b < blocks; b++) {
        double *rho = work + (size_t)omp_get_thread_num() * 2 * ROWS * COLS;
        double *k = rho + ROWS * COLS;
        tile first = tile_at(&s, b, 0);
        for (size_t col = 0; col < ncols; col++) {
            double *yo = y + col * s.n_out + first.o0;
            for (size_t i = 0; i < first.r; i++)
                yo[i] = beta == 0 ? 0 : yo[i];
        }
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            tile t = tile_at(&s, b, s0);
            squared_distances(&s, t, rho);
            costs(s.power, rho, t.r * t.w);
            kernel_entries(rho, t.r * t.w, o->eps, cost, k);
            tile_product(&s, t, ncols, k, x, y);
        }
    }
    return OTAD_OK;
}

/* y[tile's columns] += Tᵀ·mid[tile's rows] on ncols columns. */
static void tile_product_transposed(const sides *s, tile t, size_t ncols, const double *k,
                                    const double *mid, double *y)
{
    if (ncols == 1) {
        const double *mo = mid + t.o0;
        for (size_t j = 0; j < t.w; j++) {
            const double *kj = k + j * t.r;
            double sum = 0;
#pragma omp simd reduction(+ : sum)
            for (size_t i = 0; i < t.r; i++)
                sum += kj[i] * mo[i];
            y[t.s0 + j] += sum;
        }
        return;
    }
    gemm_here(1, 0, t.w, ncols, t.r, k, t.r, mid + t.o0, s->n_out, 1.0, y + t.s0, s->n_sum);
}

/* A pair reads K once for both products.  The entries of mid = op(K)·x for
 * a strip of op(K)'s rows need the strip's whole width, so the strip is
 * kept (at most STRIP doubles: fewer rows where the rows are long) until
 * the map and the second product have used it.  Each thread adds its
 * strips' share of y into its own copy.  Products go tile by tile. */
enum { STRIP = 1 << 19 };

static int online_apply_pair(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                             const double *x, const otad_kernel_map *map, double *mid,
                             double beta, double *y)
{
    const online *o = state;
    sides s = sides_of(o, product);
    int threads = threads_for(&s), cost = (product & OTAD_KERNEL_COST) != 0;
    size_t h = STRIP / s.n_sum;
    h = h >= ROWS ? ROWS : h < 8 ? 8 : h - h % 8;
    size_t strips = (s.n_out + h - 1) / h, y_size = s.n_sum * ncols;
    size_t per_thread = h * s.n_sum + ROWS * COLS + y_size;
    double *work = otad_scratch(c, (size_t)threads * per_thread * sizeof *work);
    if (!work)
        return OTAD_ENOMEM;
    for (int th = 0; th < threads; th++)
        memset(work + (size_t)th * per_thread + h * s.n_sum + ROWS * COLS, 0,
               y_size * sizeof *work);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (size_t b = 0; b < strips; b++) {
        double *strip = work + (size_t)omp_get_thread_num() * per_thread;
        double *rho = strip + h * s.n_sum, *mine = rho + ROWS * COLS;
        size_t o0 = b * h, r = s.n_out - o0 < h ? s.n_out - o0 : h;
        for (size_t col = 0; col < ncols; col++)
            memset(mid + col * s.n_out + o0, 0, r * sizeof *mid);
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            tile t = {o0, r, s0, s.n_sum - s0 < COLS ? s.n_sum - s0 : COLS};
            squared_distances(&s, t, rho);
            costs(s.power, rho, r * t.w);
            kernel_entries(rho, r * t.w, o->eps, cost, strip + s0 * r);
            tile_product(&s, t, ncols, strip + s0 * r, x, mid);
        }
        map->entries(map->data, o0, r, mid);
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            tile t = {o0, r, s0, s.n_sum - s0 < COLS ? s.n_sum - s0 : COLS};
            tile_product_transposed(&s, t, ncols, strip + s0 * r, mid, mine);
        }
    }
    for (size_t k = 0; k < y_size; k++) {
        double sum = beta == 0 ? 0 : y[k];
        for (int th = 0; th < threads; th++)
            sum += work[(size_t)th * per_thread + h * s.n_sum + ROWS * COLS + k];
        y[k] = sum;
    }
    return OTAD_OK;
}

/* Per thread: its tiles, and its copies of what the summed side gets. */
typedef struct workspace {
    double *tiles;    /* threads × TILES tiles */
    double *sum_side; /* threads × n_sum·(ncols + d): x̄'s and the summed points' gradients */
    size_t per_thread;
} workspace;

enum { TILES = 5 };

static int workspace_new(const otad_ctx *c, const sides *s, size_t ncols, int threads,
                         workspace *ws)
{
    ws->per_thread = s->n_sum * (ncols + s->d);
    size_t tiles = (size_t)threads * TILES * ROWS * COLS;
    ws->tiles = otad_scratch(c, (tiles + (size_t)threads * ws->per_thread) * sizeof(double));
    if (!ws->tiles)
        return OTAD_ENOMEM;
    ws->sum_side = ws->tiles + tiles;
    memset(ws->sum_side, 0, (size_t)threads * ws->per_thread * sizeof(double));
    return OTAD_OK;
}

/* The threads' copies summed into x̄ (n_sum×ncols) and the summed points'
 * gradient (n_sum×d), each where wanted. */
static void add_sum_side(const sides *s, const workspace *ws, int threads, size_t ncols,
                         double *xbar, double *sum_bar)
{
    size_t nx = s->n_sum * ncols;
    for (int th = 0; th < threads; th++) {
        const double *part = ws->sum_side + (size_t)th * ws->per_thread;
        for (size_t k = 0; xbar && k < nx; k++)
            xbar[k] += part[k];
        for (size_t k = 0; sum_bar && k < s->n_sum * s->d; k++)
            sum_bar[k] += part[nx + k];
    }
}

static double *param_grad(const otad_kernel_grads *grads, int param)
{
    return (size_t)param < grads->n_params ? grads->param[param] : NULL;
}

/* The points' gradients from the pending terms: C̄ = e ⊙ (−Σ_K/ε +
 * (1 − C/ε) ⊙ Σ_KC), e = e^(−C/ε), Σ the packs' products, tile by tile:
 * one pass of exponentials for as many applies as the packs hold, where
 * each apply's own would take one each. */
static int flush(const otad_ctx *c, void *state, const otad_kernel_grads *grads)
{
    online *o = state;
    otadO_pack *pk = &o->packs.of_k, *pkc = &o->packs.of_kc;
    if (!pk->count && !pkc->count)
        return OTAD_OK;
    sides s = sides_of(o, 0);
    double *x_bar = param_grad(grads, 0), *y_bar = param_grad(grads, 1), inv_eps = 1 / o->eps;
    int threads = threads_for(&s);
    size_t blocks = blocks_of(s.n_out);
    workspace ws;
    if (workspace_new(c, &s, 0, threads, &ws) != OTAD_OK)
        return OTAD_ENOMEM;
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (size_t b = 0; b < blocks; b++) {
        int th = omp_get_thread_num();
        double *rho = ws.tiles + (size_t)th * TILES * ROWS * COLS, *cst = rho + ROWS * COLS;
        double *e = cst + ROWS * COLS, *gk = e + ROWS * COLS, *gkc = gk + ROWS * COLS;
        double *mine = ws.sum_side + (size_t)th * ws.per_thread;
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            tile t = tile_at(&s, b, s0);
            size_t size = t.r * t.w;
            const otadO_pack *packs[2] = {pk, pkc};
            double *products[2] = {gk, gkc};
            for (int k = 0; k < 2; k++)
                if (packs[k]->count)
                    gemm_here(0, 1, t.r, t.w, packs[k]->count, packs[k]->left + t.o0, o->n,
                              packs[k]->right + t.s0, o->m, 0.0, products[k], t.r);
                else
                    memset(products[k], 0, size * sizeof *products[k]);
            squared_distances(&s, t, rho);
            memcpy(cst, rho, size * sizeof *cst);
            costs(s.power, cst, size);
            kernel_entries(cst, size, o->eps, 0, e);
#pragma omp simd
            for (size_t i = 0; i < size; i++)
                gk[i] = e[i] * (-gk[i] * inv_eps + (1 - cst[i] * inv_eps) * gkc[i]);
            add_point_gradient(&s, t, gk, rho, x_bar, y_bar ? mine : NULL);
        }
    }
    add_sum_side(&s, &ws, threads, 0, NULL, y_bar);
    pk->count = pkc->count = 0;
    return OTAD_OK;
}

/* y = op(K)·x (K ⊙ C with the cost flag): x̄ += op(K)ᵀ·ȳ, one product; the
 * points' share is C̄ = ȳxᵀ ⊙ dT/dc (T the product's entries), queued as
 * ȳxᵀ, or xȳᵀ for the transpose, for flush. */
static int online_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                      const otad_kernel_grads *grads)
{
    online *o = state;
    if (a->xbar) {
        int rc = online_apply(c, o, a->product ^ OTAD_KERNEL_TRANSPOSE, a->ncols, a->ybar, 1.0,
                              a->xbar);
        if (rc != OTAD_OK)
            return rc;
    }
    if (!param_grad(grads, 0) && !param_grad(grads, 1))
        return OTAD_OK;
    return otadO_packs_collect(&o->packs, c, o, a, grads, flush);
}

static int online_finish(const otad_ctx *c, void *state, const otad_kernel_grads *grads)
{
    if (!param_grad(grads, 0) && !param_grad(grads, 1))
        return OTAD_OK;
    return flush(c, state, grads);
}

/* ---- log domain ---------------------------------------------------------- */

/* out_ts = e^(x_s + τ_ts − shift_t) over a tile of log terms τ, x from the
 * tile's first summed point; entries at lowest_entry() read as 0. */
static void shifted_exponentials(const double *tau, tile t, const double *x, const double *shift,
                                 double *out)
{
    for (size_t j = 0; j < t.w; j++) {
        const double *tj = tau + j * t.r;
        double *oj = out + j * t.r;
#pragma omp simd
        for (size_t i = 0; i < t.r; i++)
            oj[i] = clamp(x[j] + tj[i] - shift[i]);
    }
    exp_in_place(out, t.r * t.w);
}

/* y_t = log Σ_s exp(x_s + τ_ts), τ the log terms, over the summed tiles
 * with a running maximum per output point and column: the sum so far is
 * rescaled when a tile raises the maximum.  Terms below e^(−708) times
 * the running maximum count as 0. */
static int online_apply_log_at(const otad_ctx *c, void *state, double eta, unsigned product,
                               size_t ncols, const double *x, double *y)
{
    const online *o = state;
    sides s = sides_of(o, product);
    const double lowest = lowest_entry();
    int threads = threads_for(&s), cost = (product & OTAD_KERNEL_COST) != 0;
    size_t per_thread = 2 * ROWS * COLS + 2 * ROWS * ncols + ROWS;
    double *work = otad_scratch(c, (size_t)threads * per_thread * sizeof *work);
    if (!work)
        return OTAD_ENOMEM;
    size_t blocks = blocks_of(s.n_out);
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (size_t b = 0; b < blocks; b++) {
        double *tau = work + (size_t)omp_get_thread_num() * per_thread;
        double *terms = tau + ROWS * COLS, *max = terms + ROWS * COLS, *sum = max + ROWS * ncols;
        double *tile_max = sum + ROWS * ncols;
        for (size_t i = 0; i < ROWS * ncols; i++)
            max[i] = -INFINITY, sum[i] = 0;
        tile t = tile_at(&s, b, 0);
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            t = tile_at(&s, b, s0);
            squared_distances(&s, t, tau);
            costs(s.power, tau, t.r * t.w);
            log_terms(tau, t.r * t.w, eta, cost);
            for (size_t col = 0; col < ncols; col++) {
                const double *xc = x + col * s.n_sum + t.s0;
                double *m = max + col * ROWS, *sm = sum + col * ROWS;
                for (size_t i = 0; i < t.r; i++)
                    tile_max[i] = -INFINITY;
                for (size_t j = 0; j < t.w; j++) {
                    const double *tj = tau + j * t.r;
#pragma omp simd
                    for (size_t i = 0; i < t.r; i++) {
                        double e = xc[j] + tj[i];
                        tile_max[i] = e > tile_max[i] ? e : tile_max[i];
                    }
                }
                for (size_t i = 0; i < t.r; i++)
                    if (tile_max[i] > m[i]) {
                        sm[i] = m[i] == -INFINITY ? 0 : sm[i] * exp(m[i] - tile_max[i]);
                        m[i] = tile_max[i];
                    }
                shifted_exponentials(tau, t, xc, m, terms);
                for (size_t j = 0; j < t.w; j++)
#pragma omp simd
                    for (size_t i = 0; i < t.r; i++) {
                        double e = terms[i + j * t.r];
                        sm[i] += e <= lowest ? 0 : e;
                    }
            }
        }
        for (size_t col = 0; col < ncols; col++)
            for (size_t i = 0; i < t.r; i++) {
                double m = max[col * ROWS + i];
                y[col * s.n_out + t.o0 + i] = m == -INFINITY ? m : m + log(sum[col * ROWS + i]);
            }
    }
    return OTAD_OK;
}

static int online_apply_log(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                            const double *x, double *y)
{
    return online_apply_log_at(c, state, ((const online *)state)->eps, product, ncols, x, y);
}

/* With P_ts = exp(x_s + τ_ts − y_t) ≤ 1: x̄_s += Σ_t ȳ_t P_ts, and
 * C̄_ts += ȳ_t P_ts dτ/dc, dτ/dc = −1/ε, or 1/c − 1/ε for K ⊙ C. */
static int online_vjp_log(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                          const otad_kernel_grads *grads)
{
    const online *o = state;
    sides s = sides_of(o, a->product);
    double *out_bar = param_grad(grads, s.out_param), *sum_bar = param_grad(grads, s.sum_param);
    int threads = threads_for(&s), cost = (a->product & OTAD_KERNEL_COST) != 0;
    int points = out_bar || sum_bar;
    size_t ncols = a->ncols, blocks = blocks_of(s.n_out);
    const double lowest = lowest_entry();
    double inv_eps = 1 / o->eps;
    workspace ws;
    if (workspace_new(c, &s, ncols, threads, &ws) != OTAD_OK)
        return OTAD_ENOMEM;
#pragma omp parallel for schedule(dynamic) num_threads(threads) if (threads > 1)
    for (size_t b = 0; b < blocks; b++) {
        int th = omp_get_thread_num();
        double *rho = ws.tiles + (size_t)th * TILES * ROWS * COLS, *tau = rho + ROWS * COLS;
        double *dtau = tau + ROWS * COLS, *weight = dtau + ROWS * COLS;
        double *plan = weight + ROWS * COLS;
        double *mine = ws.sum_side + (size_t)th * ws.per_thread;
        for (size_t s0 = 0; s0 < s.n_sum; s0 += COLS) {
            tile t = tile_at(&s, b, s0);
            size_t size = t.r * t.w;
            squared_distances(&s, t, rho);
            memcpy(tau, rho, size * sizeof *tau);
            costs(s.power, tau, size);
            if (points) {
#pragma omp simd
                for (size_t i = 0; i < size; i++)
                    dtau[i] = cost ? (tau[i] > 0 ? 1 / tau[i] - inv_eps : 0) : -inv_eps;
                memset(weight, 0, size * sizeof *weight);
            }
            log_terms(tau, size, o->eps, cost);
            for (size_t col = 0; col < ncols; col++) {
                const double *xc = a->x + col * s.n_sum + t.s0;
                const double *yc = a->y + col * s.n_out + t.o0;
                const double *ybc = a->ybar + col * s.n_out + t.o0;
                double *xbc = mine + col * s.n_sum + t.s0;
                shifted_exponentials(tau, t, xc, yc, plan);
                for (size_t j = 0; j < t.w; j++) {
                    double *pj = plan + j * t.r, *wj = weight + j * t.r, total = 0;
#pragma omp simd reduction(+ : total)
                    for (size_t i = 0; i < t.r; i++) {
                        double p = pj[i] <= lowest ? 0 : ybc[i] * pj[i];
                        total += p;
                        wj[i] += p;
                    }
                    xbc[j] += total;
                }
            }
            if (!points)
                continue;
#pragma omp simd
            for (size_t i = 0; i < size; i++)
                weight[i] *= dtau[i];
            add_point_gradient(&s, t, weight, rho, out_bar,
                               sum_bar ? mine + s.n_sum * ncols : NULL);
        }
    }
    add_sum_side(&s, &ws, threads, ncols, a->xbar, sum_bar);
    return OTAD_OK;
}

/* ---- the class ----------------------------------------------------------- */

static int online_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    online *o = state;
    const online_config *oc = config;
    if (c->n_in != 2)
        return otad_fail(c, OTAD_EINVAL, "online kernel takes two point sets");
    otad_value x = c->in[0], y = c->in[1];
    if (x.cols != y.cols)
        return otad_fail(c, OTAD_ESHAPE, "online kernel: points of dimension %zu (x is "
                         "%zux%zu) and %zu (y is %zux%zu)", x.cols, x.rows, x.cols, y.cols,
                         y.rows, y.cols);
    if (!(oc->eps > 0) || !isfinite(oc->eps))
        return otad_fail(c, OTAD_EDOMAIN, "online kernel: eps is %g, must be positive and "
                         "finite", oc->eps);
    if (!(oc->power >= 1) || !isfinite(oc->power))
        return otad_fail(c, OTAD_EDOMAIN, "online kernel: power is %g, must be finite and at "
                         "least 1", oc->power);
    if (x.rows > INT_MAX || y.rows > INT_MAX)
        return otad_fail(c, OTAD_ESHAPE, "online kernel: %zu and %zu points, beyond what "
                         "BLAS indexes", x.rows, y.rows);
    *o = (online){x.data, y.data, x.rows, y.rows, x.cols, oc->eps, oc->power, {{0}, {0}, 0, 0, 0}};
    /* Packs of 8 to 512 columns, at most 8 MB for both where that allows
     * 8: a flush is a pass of exponentials, worth as few as possible; the
     * packs are memory of size n + m per column. */
    if (otadO_packs_new(c, &o->packs, o->n, o->m, (size_t)8 << 20, 8) != OTAD_OK)
        return OTAD_ENOMEM;
    /* per entry: the distance (3 per coordinate), the exponential, the product */
    double flops = (3.0 * (double)o->d + 2) * (double)o->n * (double)o->m;
    *info = (otad_kernel_info){o->n, o->m, oc->eps, 1, 0, flops};
    return OTAD_OK;
}

static const otad_kernel_class online_class = {
    .name = "online",
    .state_bytes = sizeof(online),
    .setup = online_setup,
    .apply = online_apply,
    .apply_pair = online_apply_pair,
    .vjp = online_vjp,
    .finish = online_finish,
    .apply_log = online_apply_log,
    .vjp_log = online_vjp_log,
    .apply_log_at = online_apply_log_at,
};

otad_kernel otad_kernel_points_online(otad_tape *t, otad_var x, otad_var y, double eps,
                                      double power)
{
    online_config config = {eps, power};
    otad_var points[2] = {x, y};
    return otad_kernel_new(t, &online_class, &config, 2, points);
}
