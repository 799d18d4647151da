/* The Gaussian kernel on a regular grid of [0,1]^d, d ≤ 3: K = K_{d−1} ⊗ … ⊗ K_0
 * with 1-D kernels K_a[i, j] = exp(−(t_i − t_j)²/ε), t_i = i/(n_a − 1), so one
 * apply is d passes of n_a×n_a matrix products along the axes.  The cost is
 * the sum of the axis costs, so (K⊙C)x is a sum of d chains in which one axis
 * uses K_a ⊙ C_a.  All 1-D matrices are symmetric: K = Kᵀ. */
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "ops.h"

#define MAX_DIMS 3

/* Comparisons, not fmax and fmin: those are a library call per entry. */
static inline double larger(double a, double b)
{
    return b > a ? b : a;
}

static inline double smaller(double a, double b)
{
    return b < a ? b : a;
}

typedef struct grid_config {
    size_t dims;
    size_t shape[MAX_DIMS];
    double eps;
} grid_config;

/* The four n_a×n_a matrices of one axis. */
typedef struct axis {
    size_t n;
    double *k, *kc;         /* K_a and K_a ⊙ C_a */
    double *log_k, *log_kc; /* their logs (−inf where C_a = 0) */
} axis;

typedef struct grid {
    size_t dims, size; /* size = ∏ n_a */
    axis ax[MAX_DIMS];
    double eps;
} grid;

/* Workspace: buffers of size × ncols entries, numbered as follows. */
enum {
    SHIFT = 0,                  /* also the first buffer of scaling chains */
    CHAIN = 1,                  /* CHAIN + a: intermediate a of a log chain (a ≥ 1) */
    LAST = CHAIN + MAX_DIMS,    /* a chain's output when it is not the result */
    TERMS,                      /* the cost terms of a log apply */
    BAR,                        /* BAR, BAR + 1: gradients between the passes */
    SEED = BAR + 2,             /* the seed and term of one cost chain's gradient */
    TERM,
    BUFFERS
};

static int axis_setup(otad_ctx *c, axis *a, size_t n, double eps)
{
    double *m = otad_alloc(c, 4 * n * n * sizeof *m);
    if (!m)
        return OTAD_ENOMEM;
    a->n = n;
    a->k = m, a->kc = m + n * n, a->log_k = m + 2 * n * n, a->log_kc = m + 3 * n * n;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < n; i++) {
            double d = ((double)i - (double)j) / (double)(n - 1), cost = d * d;
            size_t k = i + j * n;
            a->log_k[k] = -cost / eps;
            a->k[k] = exp(a->log_k[k]);
            a->kc[k] = a->k[k] * cost;
            a->log_kc[k] = cost > 0 ? a->log_k[k] + log(cost) : -INFINITY;
        }
    return OTAD_OK;
}

/* The arguments of otad_kernel_grid, checked where it is called so that the
 * message names them (setup would speak as the kernel node). */
static int check_grid(otad_tape *t, size_t dims, const size_t *shape, double eps)
{
    if (!shape)
        return otad_tape_fail(t, OTAD_EINVAL, "grid kernel: shape is NULL");
    if (dims < 1 || dims > MAX_DIMS)
        return otad_tape_fail(t, OTAD_EINVAL, "grid kernel: %zu dimensions, supports 1 to %d",
                              dims, MAX_DIMS);
    if (!(eps > 0) || !isfinite(eps))
        return otad_tape_fail(t, OTAD_EDOMAIN, "grid kernel: eps is %g, must be positive and "
                              "finite", eps);
    size_t size = 1;
    for (size_t a = 0; a < dims; a++) {
        size_t n = shape[a];
        if (n < 2 || n > 1u << 16 || size > ((size_t)1 << 31) / n)
            return otad_tape_fail(t, OTAD_EINVAL, "grid kernel: axis %zu has %zu points (2 to "
                                  "65536, at most 2^31 in all)", a, n);
        size *= n;
    }
    return OTAD_OK;
}

static int grid_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    grid *g = state;
    const grid_config *gc = config;
    g->dims = gc->dims;
    g->size = 1;
    g->eps = gc->eps;
    for (size_t a = 0; a < gc->dims; a++) {
        size_t n = gc->shape[a];
        g->size *= n;
        int rc = axis_setup(c, &g->ax[a], n, gc->eps);
        if (rc != OTAD_OK)
            return rc;
    }
    double flops = 0;
    for (size_t a = 0; a < g->dims; a++)
        flops += 2.0 * (double)g->size * (double)g->ax[a].n;
    *info = (otad_kernel_info){g->size, g->size, gc->eps, 1, 0, flops};
    return OTAD_OK;
}

/* The first `count` buffers of this call's workspace. */
static double *workspace(const otad_ctx *c, const grid *g, size_t ncols, int count)
{
    return otad_scratch(c, (size_t)count * g->size * ncols * sizeof(double));
}

static double *buffer(double *work, const grid *g, size_t ncols, int k)
{
    return work + (size_t)k * g->size * ncols;
}

/* Sizes around axis a: `inner` entries vary faster than it, `outer` slower
 * (the columns included). */
static void around(const grid *g, size_t a, size_t ncols, size_t *inner, size_t *outer)
{
    *inner = 1;
    *outer = ncols;
    for (size_t k = 0; k < g->dims; k++) {
        if (k < a)
            *inner *= g->ax[k].n;
        if (k > a)
            *outer *= g->ax[k].n;
    }
}

/* Products of `multiply_adds` in `parts` independent parts are split between
 * OpenMP's threads.  Only with OpenBLAS's OpenMP build, which runs a product
 * called inside an active OpenMP region on its calling thread (its pthread
 * build would start threads of its own in each), and only for small ones:
 * OpenBLAS's own split of a 64×64 by 64×320 product was measured slower
 * than one thread. */
static int split_between_threads(size_t multiply_adds, size_t parts)
{
    return parts >= 2 && multiply_adds < ((size_t)1 << 24) && omp_get_max_threads() > 1 &&
           openblas_get_parallel() == 2;
}

/* out ← β·out + M on columns [c0, c1) of a slab layout of n rows. */
static void pass_columns(size_t n, const double *m, size_t c0, size_t c1, const double *in,
                         double beta, double *out)
{
    if (c1 > c0)
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)(c1 - c0), (int)n,
                    1.0, m, (int)n, in + c0 * n, (int)n, beta, out + c0 * n, (int)n);
}

/* out ← β·out + slab·Mᵀ for one slab of inner × n entries (M symmetric). */
static void pass_slab(size_t inner, size_t n, const double *m, const double *in, double beta,
                      double *out)
{
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)inner, (int)n, (int)n, 1.0, in,
                (int)inner, m, (int)n, beta, out, (int)inner);
}

/* out ← β·out + M along axis a: per slab of inner × n_a entries, out = slab·Mᵀ;
 * along axis 0 all slabs at once as M·in.  Unsplit products are called
 * outside any OpenMP region: inside even an inactive one, the OpenMP
 * OpenBLAS's own threads would form a nested team, whose threads libgomp
 * starts afresh for every call. */
static void pass(const grid *g, size_t a, const double *m, size_t ncols, const double *in,
                 double beta, double *out)
{
    size_t inner, outer, n = g->ax[a].n;
    around(g, a, ncols, &inner, &outer);
    int split = split_between_threads(inner * n * n * outer, outer);
    if (inner == 1 && !split) {
        pass_columns(n, m, 0, outer, in, beta, out);
    } else if (inner == 1) {
#pragma omp parallel
        {
            size_t id = (size_t)omp_get_thread_num(), parts = (size_t)omp_get_num_threads();
            pass_columns(n, m, outer * id / parts, outer * (id + 1) / parts, in, beta, out);
        }
    } else if (!split) {
        for (size_t o = 0; o < outer; o++)
            pass_slab(inner, n, m, in + o * inner * n, beta, out + o * inner * n);
    } else {
#pragma omp parallel for schedule(static)
        for (size_t o = 0; o < outer; o++)
            pass_slab(inner, n, m, in + o * inner * n, beta, out + o * inner * n);
    }
}

/* y ← β·y + (⊗ chain)·x where axis a uses kc when a == cost_axis, else k. */
static void chain(grid *g, size_t cost_axis, size_t ncols, const double *x, double beta,
                  double *y, double *t0, double *t1)
{
    const double *in = x;
    for (size_t a = 0; a < g->dims && a < MAX_DIMS; a++) { /* a bound GCC can see */
        int last = a + 1 == g->dims;
        double *out = last ? y : (a % 2 ? t1 : t0);
        const double *m = a == cost_axis ? g->ax[a].kc : g->ax[a].k;
        pass(g, a, m, ncols, in, last ? beta : 0.0, out);
        in = out;
    }
}

static int grid_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                      const double *x, double beta, double *y)
{
    grid *g = state;
    double *w = workspace(c, g, ncols, 2);
    if (!w)
        return OTAD_ENOMEM;
    double *t0 = buffer(w, g, ncols, 0), *t1 = buffer(w, g, ncols, 1);
    if (!(product & OTAD_KERNEL_COST)) {
        chain(g, MAX_DIMS, ncols, x, beta, y, t0, t1);
        return OTAD_OK;
    }
    for (size_t a = 0; a < g->dims; a++)
        chain(g, a, ncols, x, a == 0 ? beta : 1.0, y, t0, t1);
    return OTAD_OK;
}

/* ---- log domain --------------------------------------------------------- */

/* out[.., i, ..] = log Σ_j exp(in[.., j, ..] + lw[i, j]) along axis a; per
 * slab the inner entries are contiguous and handled together. */
static void log_pass(const grid *g, size_t a, const double *lw, size_t ncols, const double *in,
                     double *out, double *shift)
{
    size_t inner, outer, n = g->ax[a].n;
    around(g, a, ncols, &inner, &outer);
    for (size_t o = 0; o < outer; o++) {
        const double *s = in + o * inner * n;
        double *d = out + o * inner * n;
        for (size_t i = 0; i < n; i++) {
            double *sum = d + i * inner;
            for (size_t p = 0; p < inner; p++)
                shift[p] = -INFINITY, sum[p] = 0;
            for (size_t j = 0; j < n; j++)
                for (size_t p = 0; p < inner; p++)
                    shift[p] = larger(shift[p], s[p + j * inner] + lw[i + j * n]);
            for (size_t j = 0; j < n; j++)
                for (size_t p = 0; p < inner; p++)
                    sum[p] += exp(s[p + j * inner] + lw[i + j * n] - shift[p]);
            for (size_t p = 0; p < inner; p++)
                sum[p] = shift[p] + log(sum[p]);
        }
    }
}

/* The intermediates of one log chain: h[0] = x, h[a+1] = log_pass_a(h[a]). */
static void log_chain(grid *g, size_t cost_axis, size_t ncols, const double *x, double **h,
                      double *shift)
{
    h[0] = (double *)x;
    for (size_t a = 0; a < g->dims && a < MAX_DIMS; a++) { /* a bound GCC can see */
        const double *lw = a == cost_axis ? g->ax[a].log_kc : g->ax[a].log_k;
        log_pass(g, a, lw, ncols, h[a], h[a + 1], shift);
    }
}

/* The buffers of a log chain's intermediates, h[dims] = last. */
static void chain_buffers(double *w, const grid *g, size_t ncols, double *last, double **h,
                          double **shift)
{
    for (size_t a = 1; a < g->dims; a++)
        h[a] = buffer(w, g, ncols, CHAIN + (int)a);
    h[g->dims] = last;
    *shift = buffer(w, g, ncols, SHIFT);
}

static int grid_apply_log(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                          const double *x, double *y)
{
    grid *g = state;
    double *h[MAX_DIMS + 1], *shift, *w = workspace(c, g, ncols, TERMS + 1);
    if (!w)
        return OTAD_ENOMEM;
    if (!(product & OTAD_KERNEL_COST)) {
        chain_buffers(w, g, ncols, y, h, &shift);
        log_chain(g, MAX_DIMS, ncols, x, h, shift);
        return OTAD_OK;
    }
    /* log Σ_a exp(chain_a): each chain into its own buffer, then log-add. */
    double *terms = buffer(w, g, ncols, TERMS);
    size_t size = g->size * ncols;
    for (size_t a = 0; a < g->dims; a++) {
        double *t = a == 0 ? y : terms;
        chain_buffers(w, g, ncols, t, h, &shift);
        log_chain(g, a, ncols, x, h, shift);
        for (size_t k = 0; a > 0 && k < size; k++) {
            double hi = larger(y[k], t[k]), lo = smaller(y[k], t[k]);
            y[k] = hi == -INFINITY ? hi : hi + log1p(exp(lo - hi));
        }
    }
    return OTAD_OK;
}

/* The log apply at another ε, η: each axis's log weights −C_a/η in the
 * workspace after the chain's buffers. */
static int grid_apply_log_at(const otad_ctx *c, void *state, double eta, unsigned product,
                             size_t ncols, const double *x, double *y)
{
    (void)product; /* K is symmetric */
    grid *g = state;
    size_t weights = 0;
    for (size_t a = 0; a < g->dims; a++)
        weights += g->ax[a].n * g->ax[a].n;
    double *w = otad_scratch(c, ((size_t)LAST * g->size * ncols + weights) * sizeof *w);
    if (!w)
        return OTAD_ENOMEM;
    double *h[MAX_DIMS + 1], *shift, *lw = buffer(w, g, ncols, LAST);
    chain_buffers(w, g, ncols, y, h, &shift);
    h[0] = (double *)x;
    for (size_t a = 0; a < g->dims; a++) {
        size_t n = g->ax[a].n;
        for (size_t k = 0; k < n * n; k++)
            lw[k] = g->ax[a].log_k[k] * (g->eps / eta);
        log_pass(g, a, lw, ncols, h[a], h[a + 1], shift);
        lw += n * n;
    }
    return OTAD_OK;
}

/* Back through out = log_pass_a(in): in̄_j += Σ_i out̄_i·exp(in_j + lw_ij − out_i),
 * every exponent ≤ 0. */
static void log_pass_vjp(const grid *g, size_t a, const double *lw, size_t ncols,
                         const double *in, const double *out, const double *out_bar,
                         double *in_bar)
{
    size_t inner, outer, n = g->ax[a].n;
    around(g, a, ncols, &inner, &outer);
    for (size_t o = 0; o < outer; o++) {
        size_t base = o * inner * n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                for (size_t p = 0; p < inner; p++) {
                    size_t ii = base + p + i * inner, jj = base + p + j * inner;
                    in_bar[jj] += out_bar[ii] * exp(in[jj] + lw[i + j * n] - out[ii]);
                }
    }
}

/* Gradient of one chain: recompute its intermediates, then back through the
 * passes; the result is added into xbar, seed_bar being the chain's output
 * gradient. */
static void log_chain_vjp(double *w, grid *g, size_t cost_axis, size_t ncols, const double *x,
                          const double *seed_bar, double *xbar)
{
    double *h[MAX_DIMS + 1], *shift;
    double *bar[2] = {buffer(w, g, ncols, BAR), buffer(w, g, ncols, BAR + 1)};
    size_t size = g->size * ncols;
    chain_buffers(w, g, ncols, buffer(w, g, ncols, LAST), h, &shift);
    log_chain(g, cost_axis, ncols, x, h, shift);
    const double *ob = seed_bar;
    for (size_t a = g->dims; a-- > 0;) {
        double *ib = a == 0 ? xbar : bar[a % 2];
        if (a > 0)
            memset(ib, 0, size * sizeof *ib);
        const double *lw = a == cost_axis ? g->ax[a].log_kc : g->ax[a].log_k;
        log_pass_vjp(g, a, lw, ncols, h[a], h[a + 1], ob, ib);
        ob = ib;
    }
}

static int grid_vjp_log(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                        const otad_kernel_grads *grads)
{
    (void)grads; /* no parameters */
    grid *g = state;
    if (!a->xbar)
        return OTAD_OK;
    double *w = workspace(c, g, a->ncols, BUFFERS);
    if (!w)
        return OTAD_ENOMEM;
    if (!(a->product & OTAD_KERNEL_COST)) {
        log_chain_vjp(w, g, MAX_DIMS, a->ncols, a->x, a->ybar, a->xbar);
        return OTAD_OK;
    }
    /* y = log Σ_t exp(chain_t): chain t's output gets ȳ·exp(chain_t − y). */
    size_t size = g->size * a->ncols;
    double *seed = buffer(w, g, a->ncols, SEED), *term = buffer(w, g, a->ncols, TERM);
    double *h[MAX_DIMS + 1], *shift;
    for (size_t t = 0; t < g->dims; t++) {
        chain_buffers(w, g, a->ncols, term, h, &shift);
        log_chain(g, t, a->ncols, a->x, h, shift);
        for (size_t k = 0; k < size; k++)
            seed[k] = a->ybar[k] * exp(term[k] - a->y[k]);
        log_chain_vjp(w, g, t, a->ncols, a->x, seed, a->xbar);
    }
    return OTAD_OK;
}

static const otad_kernel_class grid_class = {
    .name = "grid",
    .state_bytes = sizeof(grid),
    .setup = grid_setup,
    .apply = grid_apply,
    .apply_log = grid_apply_log,
    .vjp_log = grid_vjp_log,
    .apply_log_at = grid_apply_log_at,
};

otad_kernel otad_kernel_grid(otad_tape *t, size_t dims, const size_t *shape, double eps)
{
    grid_config config = {dims, {0}, eps};
    if (!t || otad_tape_status(t) != OTAD_OK || check_grid(t, dims, shape, eps) != OTAD_OK)
        return (otad_kernel){{0, 0}};
    memcpy(config.shape, shape, dims * sizeof *shape);
    return otad_kernel_new(t, &grid_class, &config, 0, NULL);
}
