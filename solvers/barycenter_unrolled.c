/* The unrolled barycenter iteration as one op.  Recorded op by op, each of
 * the L iterations keeps about eight R·F-column values and their gradients
 * on the tape; this op keeps the two the backward cannot cheaply recompute,
 * K v and Kᵀu, and rebuilds u, b and v from them.  At 128² with R = 5 that
 * is 65 MB instead of 400, and none of the per-op passes over memory.
 * Column c = f·R + r of every R·F-column value belongs to input r of
 * barycenter f; b has one column per barycenter. */
#include <math.h>
#include <string.h>

#include "solvers_internal.h"

#if defined __GLIBC__ && defined __x86_64__
/* glibc's libmvec has vector variants of log and exp (within 4 ulp; 1 ulp
 * measured here): declared so, the simd loops below call them, which halves
 * the time of the R logs per entry and iteration (15% of an evaluation at
 * 128² with scalar logs). */
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double exp(double);
#endif

enum { INPUTS, WEIGHTS, KERNEL, PARAMS };

typedef struct bary_params {
    otad_kernel_handle *kernel;
    int iterations;
} bary_params;

/* Sizes, and the arena blocks forward fills and backward reads. */
typedef struct bary_saved {
    size_t n, m, r, f;  /* K is n×m; r inputs, f barycenters */
    double *kv, *ktu;   /* per iteration l: K v_l (n×RF) and Kᵀu_l (m×RF) */
    double *u, *v, *log_ktu; /* working values: n×RF, m×RF, m×RF */
    double *log_b, *b;       /* m×F */
    double *u_bar, *v_bar, *kv_bar, *ktu_bar, *g; /* backward: n, m, n, m ×RF; m×F */
} bary_saved;

static int bary_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const bary_params *p = c->params;
    *rows = otad_kernel_handle_info(p->kernel).cols;
    *cols = c->in[WEIGHTS].cols;
    return OTAD_OK;
}

/* Where the scaling domain underflows (or u = a / K v overflows), the log
 * domain is the answer. */
static int check_range(const otad_ctx *c, const double *x, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (!(x[i] > 0) || !isfinite(x[i]))
            return otad_fail(c, OTAD_ERANGE, "%s is %g at entry %zu: eps too small for the "
                             "scaling domain, use the log domain", what, x[i], i);
    return OTAD_OK;
}

static int allocate(otad_ctx *c, bary_saved *s, int iterations)
{
    size_t n = s->n, m = s->m, rf = s->r * s->f;
    size_t count = (size_t)iterations * (n + m) * rf + 3 * (n + m) * rf + m * rf + 3 * m * s->f;
    double *block = otad_alloc(c, count * sizeof *block);
    if (!block)
        return OTAD_ENOMEM;
    s->kv = block, block += (size_t)iterations * n * rf;
    s->ktu = block, block += (size_t)iterations * m * rf;
    s->u = block, block += n * rf;
    s->v = block, block += m * rf;
    s->u_bar = block, block += n * rf;
    s->v_bar = block, block += m * rf;
    s->kv_bar = block, block += n * rf;
    s->ktu_bar = block, block += m * rf;
    s->log_ktu = block, block += m * rf;
    s->log_b = block, block += m * s->f;
    s->b = block, block += m * s->f;
    s->g = block;
    return OTAD_OK;
}

/* u = a / kv, input r of every barycenter. */
static void divide_inputs(const bary_saved *s, const double *a, const double *kv, double *u)
{
    for (size_t c = 0; c < s->r * s->f; c++) {
        const double *ac = a + (c % s->r) * s->n;
        for (size_t i = 0; i < s->n; i++)
            u[i + c * s->n] = ac[i] / kv[i + c * s->n];
    }
}

static void log_of(size_t count, const double *x, double *y)
{
#pragma omp simd
    for (size_t i = 0; i < count; i++)
        y[i] = log(x[i]);
}

static void exp_of(size_t count, const double *x, double *y)
{
#pragma omp simd
    for (size_t i = 0; i < count; i++)
        y[i] = exp(x[i]);
}

/* log b = Σ_r λ_r log Kᵀu_r and b, per barycenter; log Kᵀu kept. */
static void barycenter(const bary_saved *s, const double *weights, const double *ktu,
                       double *log_ktu, double *log_b, double *b)
{
    size_t m = s->m;
    log_of(m * s->r * s->f, ktu, log_ktu);
    for (size_t f = 0; f < s->f; f++) {
        double *lb = log_b + f * m;
        memset(lb, 0, m * sizeof *lb);
        for (size_t r = 0; r < s->r; r++) {
            const double *lw = log_ktu + (f * s->r + r) * m, lambda = weights[r + f * s->r];
            for (size_t i = 0; i < m; i++)
                lb[i] += lambda * lw[i];
        }
    }
    exp_of(m * s->f, log_b, b);
}

/* v_r = b / Kᵀu_r. */
static void next_scaling(const bary_saved *s, const double *b, const double *ktu, double *v)
{
    size_t m = s->m;
    for (size_t c = 0; c < s->r * s->f; c++) {
        const double *bf = b + (c / s->r) * m;
        for (size_t i = 0; i < m; i++)
            v[i + c * m] = bf[i] / ktu[i + c * m];
    }
}

static int bary_forward(otad_ctx *c)
{
    const bary_params *p = c->params;
    bary_saved *s = c->saved;
    otad_kernel_info k = otad_kernel_handle_info(p->kernel);
    *s = (bary_saved){.n = k.rows, .m = k.cols, .r = c->in[INPUTS].cols,
                      .f = c->in[WEIGHTS].cols};
    int rc = allocate(c, s, p->iterations);
    if (rc != OTAD_OK)
        return rc;
    size_t rf = s->r * s->f, n = s->n, m = s->m;
    for (size_t i = 0; i < m * rf; i++)
        s->v[i] = 1;
    for (int l = 0; l < p->iterations && rc == OTAD_OK; l++) {
        double *kv = s->kv + (size_t)l * n * rf, *ktu = s->ktu + (size_t)l * m * rf;
        rc = otad_kernel_call(c, p->kernel, 0, rf, s->v, 0.0, kv);
        if (rc == OTAD_OK)
            rc = check_range(c, kv, n * rf, "K v");
        if (rc != OTAD_OK)
            break;
        divide_inputs(s, c->in[INPUTS].data, kv, s->u);
        rc = otad_kernel_call(c, p->kernel, OTAD_KERNEL_TRANSPOSE, rf, s->u, 0.0, ktu);
        if (rc == OTAD_OK)
            rc = check_range(c, ktu, m * rf, "Kᵀu");
        if (rc != OTAD_OK)
            break;
        barycenter(s, c->in[WEIGHTS].data, ktu, s->log_ktu, s->log_b, s->b);
        next_scaling(s, s->b, ktu, s->v);
    }
    if (rc == OTAD_OK)
        memcpy(c->out.data, s->b, m * s->f * sizeof *s->b);
    return rc;
}

/* Through v_r = b / Kᵀu_r and b = exp(Σ_r λ_r log Kᵀu_r): from v̄ (of the
 * next iteration's v) and b̄, Kᵀu's gradient into ktu_bar and λ's into
 * lambda_bar.  g = b ⊙ (b̄ + Σ_r v̄_r / Kᵀu_r) is b's total share. */
static void barycenter_vjp(const bary_saved *s, const double *weights, const double *ktu,
                           const double *v_bar, const double *b_bar, double *ktu_bar,
                           double *lambda_bar)
{
    size_t m = s->m, r = s->r;
    for (size_t f = 0; f < s->f; f++) {
        double *g = s->g + f * m;
        const double *b = s->b + f * m;
        for (size_t i = 0; i < m; i++)
            g[i] = b_bar ? b_bar[i + f * m] : 0;
        for (size_t j = 0; v_bar && j < r; j++) {
            const double *vb = v_bar + (f * r + j) * m, *w = ktu + (f * r + j) * m;
            for (size_t i = 0; i < m; i++)
                g[i] += vb[i] / w[i];
        }
        for (size_t i = 0; i < m; i++)
            g[i] *= b[i];
        for (size_t j = 0; j < r; j++) {
            size_t col = f * r + j;
            const double *w = ktu + col * m, *log_w = s->log_ktu + col * m;
            const double lambda = weights[j + f * r];
            double *wb = ktu_bar + col * m, dot = 0;
            for (size_t i = 0; i < m; i++) {
                /* through v: −v̄ b/w²; through b: λ g/w */
                double vb = v_bar ? v_bar[i + col * m] * (b[i] / w[i]) : 0;
                wb[i] = (lambda * g[i] - vb) / w[i];
                dot += g[i] * log_w[i];
            }
            if (lambda_bar)
                lambda_bar[j + f * r] += dot;
        }
    }
}

/* Through u = a / K v: K v's gradient into kv_bar, a's into a_bar. */
static void divide_vjp(const bary_saved *s, const double *kv, const double *u, const double *u_bar,
                       double *kv_bar, double *a_bar)
{
    size_t n = s->n;
    for (size_t c = 0; c < s->r * s->f; c++) {
        double *ab = a_bar ? a_bar + (c % s->r) * n : NULL;
        for (size_t i = 0; i < n; i++) {
            size_t k = i + c * n;
            double ub = u_bar[k] / kv[k];
            kv_bar[k] = -ub * u[k];
            if (ab)
                ab[i] += ub;
        }
    }
}

static int bary_vjp(otad_ctx *c)
{
    const bary_params *p = c->params;
    bary_saved *s = c->saved;
    size_t rf = s->r * s->f, n = s->n, m = s->m;
    double *kernel_grad = c->in_grad[KERNEL], *const *param_grad = c->in_grad + PARAMS;
    int rc = OTAD_OK, ready = -1; /* the iteration whose log Kᵀu and b are in s */
    for (int l = p->iterations - 1; l >= 0 && rc == OTAD_OK; l--) {
        const double *kv = s->kv + (size_t)l * n * rf, *ktu = s->ktu + (size_t)l * m * rf;
        int last = l == p->iterations - 1;
        if (ready != l)
            barycenter(s, c->in[WEIGHTS].data, ktu, s->log_ktu, s->log_b, s->b);
        barycenter_vjp(s, c->in[WEIGHTS].data, ktu, last ? NULL : s->v_bar,
                       last ? c->out_grad : NULL, s->ktu_bar, c->in_grad[WEIGHTS]);
        divide_inputs(s, c->in[INPUTS].data, kv, s->u);
        memset(s->u_bar, 0, n * rf * sizeof *s->u_bar);
        otad_kernel_vjp_args a = {OTAD_KERNEL_TRANSPOSE, rf, s->u, ktu, s->ktu_bar, s->u_bar,
                                  NULL};
        rc = otad_kernel_call_vjp(c, p->kernel, kernel_grad, param_grad, &a);
        if (rc != OTAD_OK)
            break;
        divide_vjp(s, kv, s->u, s->u_bar, s->kv_bar, c->in_grad[INPUTS]);
        /* v_0 = 1 needs no gradient; the kernel's parameters may, from v_l */
        if (l == 0 && !kernel_grad)
            break;
        if (l == 0) {
            for (size_t i = 0; i < m * rf; i++)
                s->v[i] = 1;
        } else {
            /* v_l = b_(l−1) / Kᵀu_(l−1), which the next step needs as well */
            const double *prev = s->ktu + (size_t)(l - 1) * m * rf;
            barycenter(s, c->in[WEIGHTS].data, prev, s->log_ktu, s->log_b, s->b);
            ready = l - 1;
            next_scaling(s, s->b, prev, s->v);
            memset(s->v_bar, 0, m * rf * sizeof *s->v_bar);
        }
        a = (otad_kernel_vjp_args){0, rf, s->v, kv, s->kv_bar, l > 0 ? s->v_bar : NULL, NULL};
        rc = otad_kernel_call_vjp(c, p->kernel, kernel_grad, param_grad, &a);
    }
    return rc;
}

static const otad_op op_barycenter = {.name = "barycenter", .arity = OTAD_VARIADIC,
                                      .params_bytes = sizeof(bary_params),
                                      .saved_bytes = sizeof(bary_saved), .shape = bary_shape,
                                      .forward = bary_forward, .vjp = bary_vjp};

otad_var otadS_barycenter_unrolled(otad_tape *t, otad_kernel k, otad_var inputs,
                                   otad_var weights, int iterations)
{
    bary_params p = {otad_kernel_handle_of(t, k), iterations};
    if (!p.kernel)
        return (otad_var){0, 0};
    otad_var in[PARAMS + OTAD_KERNEL_MAX_PARAMS] = {inputs, weights, k.node};
    memcpy(in + PARAMS, k.params, k.n_params * sizeof *k.params);
    return otad_apply(t, &op_barycenter, &p, PARAMS + k.n_params, in);
}
