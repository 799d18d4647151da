/* One iteration of the barycenter in the scaling domain as one op, so that
 * an unrolled loop keeps per iteration only what the backward cannot
 * cheaply recompute: its output w' and K v.  The state is w = Kᵀu (m×RF):
 *     b_f = Π_r w_r^λ_rf,  v_r = b_f / w_r,  u_r = a_r / K v_r,  w'_r = Kᵀu_r,
 * column c = f·R + r of every R·F-column value belonging to input r of
 * barycenter f (b has one column per barycenter).  From w, log w, b and v
 * are a few elementwise passes: the vjp recomputes them. */
#include <math.h>
#include <string.h>

#include "solvers_internal.h"

#if defined __GLIBC__ && defined __x86_64__
/* glibc's libmvec has vector variants of log and exp (within 4 ulp; 1 ulp
 * measured here): declared so, the simd loops below call them, which halves
 * the time of the R logs per entry and iteration. */
#pragma omp declare simd notinbranch
double log(double);
#pragma omp declare simd notinbranch
double exp(double);
#endif

enum { STATE, INPUTS, WEIGHTS, KERNEL };

typedef struct step_params {
    otad_kernel_handle *kernel;
} step_params;

/* Sizes; K v when a backward may come. */
typedef struct step_saved {
    size_t n, m, r, f;  /* K is n×m; r inputs, f barycenters */
    double *kv;         /* n×RF */
} step_saved;

/* Where forward and vjp work: scratch at the op's depth (the kernel has its
 * own), each buffer reused once what it held is dead. */
typedef struct work {
    double *u, *v;         /* n×RF, m×RF: forward puts v in its output, vjp in u's place */
    double *b, *g;         /* m×F */
    double *kv;            /* n×RF: forward, when not saved */
    double *u_bar, *v_bar; /* n×RF, m×RF: vjp */
} work;

static int step_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const step_params *p = c->params;
    otad_kernel_info k = otad_kernel_handle_info(p->kernel);
    otad_value w = c->in[STATE], a = c->in[INPUTS], lambda = c->in[WEIGHTS];
    if (w.rows != k.cols || a.rows != k.rows || lambda.rows != a.cols ||
        w.cols != a.cols * lambda.cols)
        return otad_fail(c, OTAD_ESHAPE, "kernel %zux%zu, state %zux%zu, inputs %zux%zu, "
                         "weights %zux%zu", k.rows, k.cols, w.rows, w.cols, a.rows, a.cols,
                         lambda.rows, lambda.cols);
    *rows = w.rows;
    *cols = w.cols;
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

/* The forward's work, or with `backward` the vjp's. */
static int take_work(const otad_ctx *c, const step_saved *s, int backward, work *wk)
{
    size_t n = s->n, m = s->m, rf = s->r * s->f;
    size_t first = backward && m > n ? m : n;
    size_t extra = backward ? (n + m) * rf : s->kv ? 0 : n * rf;
    double *block = otad_scratch(c, (first * rf + 2 * m * s->f + extra) * sizeof *block);
    if (!block)
        return OTAD_ENOMEM;
    *wk = (work){.u = block, .v = backward ? block : c->out.data};
    block += first * rf;
    wk->b = block, wk->g = block + m * s->f;
    block = wk->g + m * s->f;
    if (backward)
        wk->u_bar = block, wk->v_bar = block + n * rf;
    else
        wk->kv = s->kv ? s->kv : block;
    return OTAD_OK;
}

/* b = exp(Σ_r λ_r log w_r) and v_r = b / w_r. */
static void scalings(const step_saved *s, const double *w, const double *weights, work *wk)
{
    size_t m = s->m, r = s->r;
    for (size_t f = 0; f < s->f; f++) {
        double *b = wk->b + f * m;
        memset(b, 0, m * sizeof *b);
        for (size_t j = 0; j < r; j++) {
            const double *wc = w + (f * r + j) * m, lambda = weights[j + f * r];
#pragma omp simd
            for (size_t i = 0; i < m; i++)
                b[i] += lambda * log(wc[i]);
        }
#pragma omp simd
        for (size_t i = 0; i < m; i++)
            b[i] = exp(b[i]);
        for (size_t j = 0; j < r; j++) {
            const double *wc = w + (f * r + j) * m;
            double *v = wk->v + (f * r + j) * m;
            for (size_t i = 0; i < m; i++)
                v[i] = b[i] / wc[i];
        }
    }
}

/* u_r = a_r / kv, input r of every barycenter. */
static void divide_inputs(const step_saved *s, const double *a, const double *kv, double *u)
{
    for (size_t col = 0; col < s->r * s->f; col++) {
        const double *ac = a + (col % s->r) * s->n;
        for (size_t i = 0; i < s->n; i++)
            u[i + col * s->n] = ac[i] / kv[i + col * s->n];
    }
}

static int step_forward(otad_ctx *c)
{
    const step_params *p = c->params;
    step_saved *s = c->saved;
    otad_kernel_info k = otad_kernel_handle_info(p->kernel);
    *s = (step_saved){k.rows, k.cols, c->in[INPUTS].cols, c->in[WEIGHTS].cols, NULL};
    size_t rf = s->r * s->f;
    int backward_may_come = 0;
    for (size_t i = 0; i < c->n_in; i++)
        backward_may_come |= otad_needs_grad(c, i);
    if (backward_may_come && !(s->kv = otad_alloc(c, s->n * rf * sizeof *s->kv)))
        return OTAD_ENOMEM;
    work wk;
    int rc = take_work(c, s, 0, &wk);
    if (rc != OTAD_OK)
        return rc;
    double *kv = wk.kv;
    scalings(s, c->in[STATE].data, c->in[WEIGHTS].data, &wk); /* v into the output */
    rc = otad_kernel_call(c, p->kernel, 0, rf, wk.v, 0.0, kv);
    if (rc == OTAD_OK)
        rc = check_range(c, kv, s->n * rf, "K v");
    if (rc != OTAD_OK)
        return rc;
    divide_inputs(s, c->in[INPUTS].data, kv, wk.u);
    rc = otad_kernel_call(c, p->kernel, OTAD_KERNEL_TRANSPOSE, rf, wk.u, 0.0, c->out.data);
    return rc == OTAD_OK ? check_range(c, c->out.data, s->m * rf, "Kᵀu") : rc;
}

/* Through u = a / K v: K v's gradient into kv_bar (over u_bar), a's into
 * a_bar when not NULL. */
static void divide_vjp(const step_saved *s, const double *kv, const double *u, double *u_bar,
                       double *a_bar)
{
    for (size_t col = 0; col < s->r * s->f; col++) {
        double *ab = a_bar ? a_bar + (col % s->r) * s->n : NULL;
        for (size_t i = 0; i < s->n; i++) {
            size_t k = i + col * s->n;
            double ub = u_bar[k] / kv[k];
            u_bar[k] = -ub * u[k];
            if (ab)
                ab[i] += ub;
        }
    }
}

/* Through v_r = b / w_r and b = exp(Σ_r λ_r log w_r), from v̄: w's gradient
 * into w_bar, λ's into lambda_bar when not NULL.  g = b ⊙ Σ_r v̄_r / w_r is
 * b's share. */
static void scalings_vjp(const step_saved *s, const double *w, const double *weights,
                         const work *wk, double *w_bar, double *lambda_bar)
{
    size_t m = s->m, r = s->r;
    for (size_t f = 0; f < s->f; f++) {
        double *g = wk->g + f * m;
        const double *b = wk->b + f * m;
        memset(g, 0, m * sizeof *g);
        for (size_t j = 0; j < r; j++) {
            const double *vb = wk->v_bar + (f * r + j) * m, *wc = w + (f * r + j) * m;
            for (size_t i = 0; i < m; i++)
                g[i] += vb[i] / wc[i];
        }
        for (size_t i = 0; i < m; i++)
            g[i] *= b[i];
        for (size_t j = 0; j < r; j++) {
            size_t col = f * r + j;
            const double *wc = w + col * m, *vb = wk->v_bar + col * m, *v = wk->v + col * m;
            const double lambda = weights[j + f * r];
            double *wb = w_bar + col * m, dot = 0;
            for (size_t i = 0; i < m; i++)
                wb[i] += (lambda * g[i] - vb[i] * v[i]) / wc[i];
            if (lambda_bar) {
#pragma omp simd reduction(+ : dot)
                for (size_t i = 0; i < m; i++)
                    dot += g[i] * log(wc[i]);
                lambda_bar[j + f * r] += dot;
            }
        }
    }
}

static int step_vjp(otad_ctx *c)
{
    const step_params *p = c->params;
    const step_saved *s = c->saved;
    size_t rf = s->r * s->f, n = s->n, m = s->m;
    const double *w = c->in[STATE].data, *weights = c->in[WEIGHTS].data;
    work wk;
    int rc = take_work(c, s, 1, &wk);
    if (rc != OTAD_OK)
        return rc;
    otad_kernel_grads grads = otad_kernel_grads_at(c, p->kernel, KERNEL);
    /* w and λ reach the output only through v */
    int through_v = otad_needs_grad(c, STATE) || otad_needs_grad(c, WEIGHTS);
    divide_inputs(s, c->in[INPUTS].data, s->kv, wk.u);
    memset(wk.u_bar, 0, n * rf * sizeof *wk.u_bar);
    otad_kernel_vjp_args a = {OTAD_KERNEL_TRANSPOSE, rf, wk.u, c->out.data, c->out_grad,
                              wk.u_bar};
    if ((rc = otad_kernel_call_vjp(c, p->kernel, &a, &grads)) != OTAD_OK)
        return rc;
    divide_vjp(s, s->kv, wk.u, wk.u_bar, otad_wanted_grad(c, INPUTS));
    scalings(s, w, weights, &wk); /* v where u was */
    if (through_v)
        memset(wk.v_bar, 0, m * rf * sizeof *wk.v_bar);
    a = (otad_kernel_vjp_args){0, rf, wk.v, s->kv, wk.u_bar, through_v ? wk.v_bar : NULL};
    if ((rc = otad_kernel_call_vjp(c, p->kernel, &a, &grads)) != OTAD_OK)
        return rc;
    if (through_v)
        scalings_vjp(s, w, weights, &wk, c->in_grad[STATE], otad_wanted_grad(c, WEIGHTS));
    return OTAD_OK;
}

static const otad_op op_barycenter_step = {.name = "barycenter_step", .arity = OTAD_VARIADIC,
                                           .params_bytes = sizeof(step_params),
                                           .saved_bytes = sizeof(step_saved),
                                           .shape = step_shape, .forward = step_forward,
                                           .vjp = step_vjp};

otad_var otadS_barycenter_step(otad_tape *t, otad_var w, otad_var inputs, otad_var weights,
                               otad_kernel k)
{
    step_params p = {otad_kernel_handle_of(t, k)};
    otad_var in[KERNEL + OTAD_KERNEL_MAX_INPUTS] = {w, inputs, weights};
    size_t n_kernel = p.kernel ? otad_kernel_inputs(t, k, in + KERNEL) : 0;
    if (!n_kernel)
        return (otad_var){0, 0};
    return otad_apply(t, &op_barycenter_step, &p, KERNEL + n_kernel, in);
}
