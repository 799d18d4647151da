/* Kernels on the tape: the kernel node, and the apply ops every kernel
 * shares.  A kernel node depends on the kernel's parameters and holds its
 * state; an apply takes (x, kernel node, parameters...) as inputs, so that
 * its vjp adds the parameters' gradients where the engine gives them. */
#include <math.h>
#include <string.h>

#include "kernel_at.h"
#include "ops.h"
#include "vector_pow.h"

typedef struct kernel_config {
    const otad_kernel_class *cls;
    const void *config; /* read by setup only, during otad_kernel_new */
} kernel_config;

/* The kernel node's saved state. */
struct otad_kernel_handle {
    const otad_kernel_class *cls;
    otad_kernel_info info;
    void *state;
    size_t n_params;
    otad_var inputs[OTAD_KERNEL_MAX_INPUTS]; /* the node, then the parameters */
};

/* Where parameter i's gradient goes when the kernel's parameters are the
 * op's inputs from `first` on. */
static otad_kernel_grads grads_from(const otad_ctx *c, const otad_kernel_handle *k,
                                    size_t first)
{
    otad_kernel_grads g = {k->n_params, {NULL}};
    for (size_t i = 0; i < k->n_params; i++)
        g.param[i] = otad_wanted_grad(c, first + i);
    return g;
}

/* ---- the kernel node ---------------------------------------------------- */

static int kernel_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    (void)c;
    *rows = *cols = 1; /* the value is a marker: the kernel lives in the saved state */
    return OTAD_OK;
}

static int kernel_forward(otad_ctx *c)
{
    const kernel_config *k = c->params;
    otad_kernel_handle *s = c->saved;
    s->cls = k->cls;
    s->n_params = c->n_in;
    if (k->cls->state_bytes) {
        if (!(s->state = otad_alloc(c, k->cls->state_bytes)))
            return OTAD_ENOMEM;
        memset(s->state, 0, k->cls->state_bytes);
    }
    int rc = k->cls->setup(c, s->state, k->config, &s->info);
    if (rc != OTAD_OK)
        return rc;
    if (!s->info.rows || !s->info.cols || !(s->info.eps > 0))
        return otad_fail(c, OTAD_EINVAL, "kernel class %s set up a %zux%zu kernel with eps %g",
                         k->cls->name, s->info.rows, s->info.cols, s->info.eps);
    s->info.has_log = k->cls->apply_log != NULL;
    c->out.data[0] = 0;
    return OTAD_OK;
}

/* Reached after every apply of this kernel in the reverse sweep, when a
 * parameter needs a gradient: what the applies deferred is added now. */
static int kernel_vjp(otad_ctx *c)
{
    otad_kernel_handle *s = c->saved;
    if (!s->cls->finish)
        return OTAD_OK;
    otad_kernel_grads g = grads_from(c, s, 0);
    return s->cls->finish(c, s->state, &g);
}

static void kernel_release(otad_ctx *c)
{
    otad_kernel_handle *s = c->saved;
    if (s->cls && s->cls->release)
        s->cls->release(s->state);
}

static const otad_op op_kernel = {.name = "kernel", .arity = OTAD_VARIADIC,
                                  .params_bytes = sizeof(kernel_config),
                                  .saved_bytes = sizeof(otad_kernel_handle),
                                  .shape = kernel_shape, .forward = kernel_forward,
                                  .vjp = kernel_vjp, .release = kernel_release};

otad_kernel otad_kernel_new(otad_tape *t, const otad_kernel_class *cls, const void *config,
                            size_t n_params, const otad_var *params)
{
    otad_kernel k = {{0, 0}};
    if (!cls) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel: cls is NULL");
        return k;
    }
    if (!cls->name || !cls->setup || !cls->apply || (cls->apply_log && !cls->vjp_log)) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel: a class needs a name, setup and apply (and "
                       "vjp_log with apply_log)");
        return k;
    }
    if (n_params && !params) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel %s: params is NULL for %zu parameters",
                       cls->name, n_params);
        return k;
    }
    if (n_params > OTAD_KERNEL_MAX_PARAMS) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel %s: %zu parameters (at most %d)", cls->name,
                       n_params, OTAD_KERNEL_MAX_PARAMS);
        return k;
    }
    if (n_params && !cls->vjp) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel %s: has parameters but no vjp for their "
                       "gradients", cls->name);
        return k;
    }
    kernel_config kc = {cls, config};
    k.node = otad_apply(t, &op_kernel, &kc, n_params, params);
    otad_kernel_handle *s = otad_saved_of(t, k.node, &op_kernel);
    for (size_t i = 0; s && i <= n_params; i++)
        s->inputs[i] = i ? params[i - 1] : k.node;
    return k;
}

otad_kernel_info otad_kernel_info_of(const otad_tape *t, otad_kernel k)
{
    const otad_kernel_handle *s = otad_saved_of(t, k.node, &op_kernel);
    return s ? s->info : (otad_kernel_info){0};
}

/* ---- kernels inside other ops ------------------------------------------- */

otad_kernel_handle *otad_kernel_handle_of(otad_tape *t, otad_kernel k)
{
    otad_kernel_handle *s = otad_saved_of(t, k.node, &op_kernel);
    if (!s)
        otad_tape_fail(t, OTAD_EINVAL, "kernel: not a kernel of this tape");
    return s;
}

size_t otad_kernel_inputs(otad_tape *t, otad_kernel k, otad_var inputs[OTAD_KERNEL_MAX_INPUTS])
{
    otad_kernel_handle *s = otad_kernel_handle_of(t, k);
    if (!s)
        return 0;
    if (!inputs) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel_inputs: inputs is NULL");
        return 0;
    }
    memcpy(inputs, s->inputs, (1 + s->n_params) * sizeof *inputs);
    return 1 + s->n_params;
}

otad_kernel_info otad_kernel_handle_info(const otad_kernel_handle *k)
{
    return k ? k->info : (otad_kernel_info){0};
}

otad_kernel_grads otad_kernel_grads_at(const otad_ctx *c, const otad_kernel_handle *k,
                                       size_t first)
{
    return c && k ? grads_from(c, k, first + 1) : (otad_kernel_grads){0, {NULL}};
}

/* The gradients of an apply, for a ctx at the kernel's depth: the kernel
 * is called only when some gradient is wanted, as the engine calls ops. */
static int apply_vjp_at(const otad_ctx *c, otad_kernel_handle *k, int log_domain,
                        const otad_kernel_vjp_args *a, const otad_kernel_grads *g)
{
    int wanted = a->xbar != NULL;
    for (size_t i = 0; i < g->n_params; i++)
        wanted |= g->param[i] != NULL;
    if (!wanted)
        return OTAD_OK;
    if (log_domain)
        return k->cls->vjp_log(c, k->state, a, g);
    if (k->cls->vjp)
        return k->cls->vjp(c, k->state, a, g);
    if (!a->xbar)
        return OTAD_OK;
    return k->cls->apply(c, k->state, a->product ^ OTAD_KERNEL_TRANSPOSE, a->ncols, a->ybar,
                         1.0, a->xbar);
}

/* The arguments of a call from an op: refused on its tape, named. */
static int check_call(const otad_ctx *c, const otad_kernel_handle *k, unsigned product,
                      size_t ncols, const void *x, const char *x_name, const void *y,
                      const char *y_name)
{
    if (!c)
        return OTAD_EINVAL;
    if (!k)
        return otad_fail(c, OTAD_EINVAL, "kernel call: kernel is NULL");
    if (product > (OTAD_KERNEL_TRANSPOSE | OTAD_KERNEL_COST))
        return otad_fail(c, OTAD_EINVAL, "kernel call: product is %u, must be 0 to 3 "
                         "(OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST)", product);
    if ((product & OTAD_KERNEL_COST) && !k->info.has_cost)
        return otad_fail(c, OTAD_EINVAL, "kernel call: %s kernel has no cost matrix for K⊙C "
                         "products", k->cls->name);
    if (!ncols)
        return otad_fail(c, OTAD_EINVAL, "kernel call: ncols is 0, must be at least 1");
    if (!x || !y)
        return otad_fail(c, OTAD_EINVAL, "kernel call: %s is NULL", x ? y_name : x_name);
    return OTAD_OK;
}

int otad_kernel_call(const otad_ctx *c, otad_kernel_handle *k, unsigned product, size_t ncols,
                     const double *x, double beta, double *y)
{
    int rc = check_call(c, k, product, ncols, x, "x", y, "y");
    if (rc != OTAD_OK)
        return rc;
    otad_ctx nested = otad_ctx_nested(c);
    return k->cls->apply(&nested, k->state, product, ncols, x, beta, y);
}

int otad_kernel_call_vjp(const otad_ctx *c, otad_kernel_handle *k,
                         const otad_kernel_vjp_args *args, const otad_kernel_grads *grads)
{
    int rc = check_call(c, k, args ? args->product : 0, args ? args->ncols : 1, args, "args",
                        grads, "grads");
    if (rc == OTAD_OK && args->xbar && !args->ybar)
        rc = otad_fail(c, OTAD_EINVAL, "kernel call: args->ybar is NULL");
    if (rc != OTAD_OK)
        return rc;
    otad_ctx nested = otad_ctx_nested(c);
    return apply_vjp_at(&nested, k, 0, args, grads);
}

/* ---- applies ------------------------------------------------------------ */

/* Inputs: x, the kernel node, then the kernel's parameters. */
typedef struct apply_params {
    otad_kernel_handle *kernel;
    unsigned product;
    int log_domain;
    double power;   /* the scaling pair's λ: r = p^(−λ), s = num ⊙ r */
    int power_pair; /* its value's top block is r, not s */
} apply_params;

static int apply_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const apply_params *p = c->params;
    const otad_kernel_info *k = &p->kernel->info;
    int transpose = p->product & OTAD_KERNEL_TRANSPOSE;
    size_t in_rows = transpose ? k->rows : k->cols;
    if (c->in[0].rows != in_rows)
        return otad_fail(c, OTAD_ESHAPE, "%s kernel is %zux%zu, cannot apply %s to %zu rows",
                         p->kernel->cls->name, k->rows, k->cols, transpose ? "its transpose" : "it",
                         c->in[0].rows);
    if ((p->product & OTAD_KERNEL_COST) && !k->has_cost)
        return otad_fail(c, OTAD_EINVAL, "%s kernel has no cost matrix for K⊙C products",
                         p->kernel->cls->name);
    if (p->log_domain && !k->has_log)
        return otad_fail(c, OTAD_EINVAL, "%s kernel has no log-domain apply",
                         p->kernel->cls->name);
    *rows = transpose ? k->cols : k->rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int apply_forward(otad_ctx *c)
{
    const apply_params *p = c->params;
    otad_kernel_handle *k = p->kernel;
    if (p->log_domain)
        return k->cls->apply_log(c, k->state, p->product, c->in[0].cols, c->in[0].data,
                                 c->out.data);
    return k->cls->apply(c, k->state, p->product, c->in[0].cols, c->in[0].data, 0.0,
                         c->out.data);
}

static int apply_vjp(otad_ctx *c)
{
    const apply_params *p = c->params;
    otad_kernel_vjp_args a = {p->product, c->in[0].cols, c->in[0].data, c->out.data,
                              c->out_grad, otad_wanted_grad(c, 0)};
    otad_kernel_grads g = grads_from(c, p->kernel, 2);
    return apply_vjp_at(c, p->kernel, p->log_domain, &a, &g);
}

static const otad_op op_kernel_apply = {.name = "kernel_apply", .arity = OTAD_VARIADIC,
                                        .params_bytes = sizeof(apply_params),
                                        .shape = apply_shape, .forward = apply_forward,
                                        .vjp = apply_vjp};

static otad_var record_apply(otad_tape *t, otad_kernel k, unsigned product, otad_var x,
                             int log_domain)
{
    otad_kernel_handle *s = otad_kernel_handle_of(t, k);
    if (!s)
        return (otad_var){0, 0};
    if (product > (OTAD_KERNEL_TRANSPOSE | OTAD_KERNEL_COST)) {
        otad_tape_fail(t, OTAD_EINVAL, "%s: product is %u, must be 0 to 3 "
                       "(OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST)",
                       log_domain ? "kernel_apply_log" : "kernel_apply", product);
        return (otad_var){0, 0};
    }
    otad_var in[1 + OTAD_KERNEL_MAX_INPUTS] = {x};
    memcpy(in + 1, s->inputs, (1 + s->n_params) * sizeof *in);
    apply_params p = {s, product & (OTAD_KERNEL_TRANSPOSE | OTAD_KERNEL_COST), log_domain, 1,
                      0};
    return otad_apply(t, &op_kernel_apply, &p, 2 + s->n_params, in);
}

otad_var otad_kernel_apply(otad_tape *t, otad_kernel k, unsigned product, otad_var x)
{
    return record_apply(t, k, product, x, 0);
}

otad_var otad_kernel_apply_log(otad_tape *t, otad_kernel k, unsigned product, otad_var x)
{
    return record_apply(t, k, product, x, 1);
}

/* ---- the kernel at another ε -------------------------------------------- */

typedef struct apply_at_params {
    otad_kernel_handle *kernel;
    unsigned product;
    double eta;
} apply_at_params;

static int apply_at_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const apply_at_params *p = c->params;
    otad_kernel_info k = p->kernel->info;
    size_t in = p->product & OTAD_KERNEL_TRANSPOSE ? k.rows : k.cols;
    if (c->in[0].rows != in)
        return otad_fail(c, OTAD_ESHAPE, "x has %zu rows, op(K) takes %zu", c->in[0].rows, in);
    *rows = p->product & OTAD_KERNEL_TRANSPOSE ? k.cols : k.rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int apply_at_forward(otad_ctx *c)
{
    const apply_at_params *p = c->params;
    otad_kernel_handle *k = p->kernel;
    return k->cls->apply_log_at(c, k->state, p->eta, p->product, c->in[0].cols, c->in[0].data,
                                c->out.data);
}

/* No vjp, and the kernel is not an input: a value that starts a solve
 * (ε-scaling's stages) carries no gradient to the kernel's parameters. */
static const otad_op op_kernel_apply_log_at = {.name = "kernel_apply_log_at", .arity = 1,
                                               .params_bytes = sizeof(apply_at_params),
                                               .shape = apply_at_shape,
                                               .forward = apply_at_forward};

int otadK_has_log_at(const otad_tape *t, otad_kernel k)
{
    const otad_kernel_handle *s = otad_saved_of(t, k.node, &op_kernel);
    return s && s->cls->apply_log_at;
}

otad_var otadK_apply_log_at(otad_tape *t, otad_kernel k, unsigned product, double eta,
                            otad_var x)
{
    otad_kernel_handle *s = otad_kernel_handle_of(t, k);
    if (!s)
        return (otad_var){0, 0};
    if (!s->cls->apply_log_at || product > OTAD_KERNEL_TRANSPOSE || !(eta > 0)) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel_apply_log_at: %s kernel, product %u, eta %g "
                       "(needs a class with apply_log_at, product 0 or transposed, eta > 0)",
                       s->cls->name, product, eta);
        return (otad_var){0, 0};
    }
    apply_at_params p = {s, product, eta};
    return otad_apply(t, &op_kernel_apply_log_at, &p, 1, &x);
}

/* ---- scaling pairs ------------------------------------------------------ */

/* Inputs: x, num, the kernel node, then the kernel's parameters. */
enum { PAIR_X, PAIR_NUM, PAIR_KERNEL };

typedef struct pair_saved {
    double *p; /* op(K)·x */
} pair_saved;

/* Rows of op(K) (of p and s) and of x (of y). */
static void pair_sizes(const apply_params *p, size_t *r, size_t *n)
{
    int transpose = p->product & OTAD_KERNEL_TRANSPOSE;
    *r = transpose ? p->kernel->info.cols : p->kernel->info.rows;
    *n = transpose ? p->kernel->info.rows : p->kernel->info.cols;
}

/* mid = op(K)·x, map, y ← β·y + op(K)ᵀ·mid: by the class at once, or two applies. */
static int call_pair(const otad_ctx *c, otad_kernel_handle *k, unsigned product, size_t ncols,
                     const double *x, const otad_kernel_map *map, double *mid, double beta,
                     double *y)
{
    if (k->cls->apply_pair)
        return k->cls->apply_pair(c, k->state, product, ncols, x, map, mid, beta, y);
    int rc = k->cls->apply(c, k->state, product, ncols, x, 0.0, mid);
    if (rc != OTAD_OK)
        return rc;
    size_t r = product & OTAD_KERNEL_TRANSPOSE ? k->info.cols : k->info.rows;
    map->entries(map->data, 0, r, mid);
    return k->cls->apply(c, k->state, product ^ OTAD_KERNEL_TRANSPOSE, ncols, mid, beta, y);
}

/* Column j of a value with 1 or ncols columns of r rows. */
static size_t broadcast(size_t i, size_t j, size_t r, size_t cols)
{
    return cols == 1 ? i : i + j * r;
}

/* The stacked value's two blocks, apart or together. */
static void unstack(const double *stacked, size_t r, size_t n, size_t ncols, double *top,
                    double *bottom)
{
    for (size_t j = 0; j < ncols; j++) {
        memcpy(top + j * r, stacked + j * (r + n), r * sizeof *top);
        memcpy(bottom + j * n, stacked + j * (r + n) + r, n * sizeof *bottom);
    }
}

static void stack(const double *top, const double *bottom, size_t r, size_t n, size_t ncols,
                  double *stacked)
{
    for (size_t j = 0; j < ncols; j++) {
        memcpy(stacked + j * (r + n), top + j * r, r * sizeof *top);
        memcpy(stacked + j * (r + n) + r, bottom + j * n, n * sizeof *bottom);
    }
}

/* The pair's map: r = p^(−λ), s = num ⊙ r, the vector op(K)ᵀ is applied to;
 * the value's top block is s = num ⊘ p (the scaling pair, λ = 1), or r for
 * the power pair (where the ratio, not s, is what its caller keeps).
 * Forward: keep p, then s; with top set (the power pair), r there. */
typedef struct divide {
    const double *num;
    double *p, *top;
    double lambda;
    size_t r, ncols, num_cols;
} divide;

static void divide_entries(void *data, size_t first, size_t count, double *mid)
{
    const divide *d = data;
    for (size_t j = 0; j < d->ncols; j++) {
        const double *num = d->num + (d->num_cols == 1 ? 0 : j * d->r);
        double *p = d->p + j * d->r, *m = mid + j * d->r;
        if (!d->top) {
            for (size_t i = first; i < first + count; i++)
                p[i] = m[i], m[i] = num[i] / m[i];
            continue;
        }
        double *top = d->top + j * d->r, minus_lambda = -d->lambda;
#pragma omp simd
        for (size_t i = first; i < first + count; i++) {
            p[i] = m[i];
            top[i] = pow(m[i], minus_lambda);
            m[i] = num[i] * top[i];
        }
    }
}

/* Backward map on q = op(K)·ȳ, with top̄ the value's own gradient of its top
 * block: s̄ = q (+ top̄ where the top is s), num̄ += s̄ ⊙ r, and p̄ replaces
 * q: −s̄ ⊙ s ⊘ p, or for the power pair −λ (s̄ ⊙ num + top̄) ⊙ r ⊘ p. */
typedef struct divide_back {
    const double *topbar, *top, *p, *num;
    double *numbar;
    double lambda;
    int power;
    size_t r, ncols, num_cols;
} divide_back;

static void divide_back_entries(void *data, size_t first, size_t count, double *mid)
{
    const divide_back *d = data;
    for (size_t j = 0; j < d->ncols; j++)
        for (size_t i = first; i < first + count; i++) {
            size_t at = i + j * d->r, k = broadcast(i, j, d->r, d->num_cols);
            if (!d->power) { /* top = s = num ⊘ p */
                double total = d->topbar[at] + mid[at];
                if (d->numbar)
                    d->numbar[k] += total / d->p[at];
                mid[at] = -total * d->top[at] / d->p[at];
                continue;
            }
            double sbar = mid[at], ratio = d->top[at];
            if (d->numbar)
                d->numbar[k] += sbar * ratio;
            mid[at] = -d->lambda * (sbar * d->num[k] + d->topbar[at]) * ratio / d->p[at];
        }
}

static int pair_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    const apply_params *p = c->params;
    size_t r, n;
    int rc = apply_shape(c, &r, cols);
    if (rc != OTAD_OK)
        return rc;
    pair_sizes(p, &r, &n);
    otad_value num = c->in[PAIR_NUM];
    if (num.rows != r || (num.cols != 1 && num.cols != *cols))
        return otad_fail(c, OTAD_ESHAPE, "num is %zux%zu, must have op(K)'s %zu rows and 1 or "
                         "%zu columns", num.rows, num.cols, r, *cols);
    *rows = r + n;
    return OTAD_OK;
}

static int pair_forward(otad_ctx *c)
{
    const apply_params *p = c->params;
    pair_saved *saved = c->saved;
    size_t r, n, ncols = c->in[PAIR_X].cols;
    pair_sizes(p, &r, &n);
    /* s, y, and the power pair's r */
    double *s = otad_scratch(c, (2 * r + n) * ncols * sizeof *s), *y = s + r * ncols;
    if (!s || !(saved->p = otad_alloc(c, r * ncols * sizeof *saved->p)))
        return OTAD_ENOMEM;
    double *ratio = p->power_pair ? y + n * ncols : NULL;
    divide d = {c->in[PAIR_NUM].data, saved->p, ratio, p->power, r, ncols,
                c->in[PAIR_NUM].cols};
    otad_kernel_map map = {divide_entries, &d};
    otad_ctx nested = otad_ctx_nested(c);
    int rc = call_pair(&nested, p->kernel, p->product, ncols, c->in[PAIR_X].data, &map, s, 0.0,
                       y);
    if (rc != OTAD_OK)
        return rc;
    for (size_t k = 0; k < r * ncols; k++)
        if (!(saved->p[k] > 0) || !isfinite(s[k]) || (ratio && !isfinite(ratio[k])))
            return otad_fail(c, OTAD_ERANGE, "op(K)·x is %g at (%zu,%zu), where num is %g: "
                             "must be positive and num/op(K)·x finite (a kernel too small for "
                             "the scaling domain: use the log domain)", saved->p[k], k % r,
                             k / r, d.num[broadcast(k % r, k / r, r, d.num_cols)]);
    stack(ratio ? ratio : s, y, r, n, ncols, c->out.data);
    return OTAD_OK;
}

static int pair_vjp(otad_ctx *c)
{
    const apply_params *p = c->params;
    const pair_saved *saved = c->saved;
    size_t r, n, ncols = c->in[PAIR_X].cols;
    pair_sizes(p, &r, &n);
    /* s and y, their gradients, q, y's target when x needs no gradient, and
     * the power pair's r */
    double *s = otad_scratch(c, (3 * (r + n) + r) * ncols * sizeof *s);
    if (!s)
        return OTAD_ENOMEM;
    double *y = s + r * ncols, *topbar = y + n * ncols, *ybar = topbar + r * ncols;
    double *q = ybar + n * ncols, *unused = q + r * ncols;
    unstack(c->out.data, r, n, ncols, s, y);
    unstack(c->out_grad, r, n, ncols, topbar, ybar);
    const double *num = c->in[PAIR_NUM].data;
    divide_back d = {topbar, s, saved->p, num, otad_wanted_grad(c, PAIR_NUM), p->power,
                     p->power_pair, r, ncols, c->in[PAIR_NUM].cols};
    if (p->power_pair) { /* the top is r; s = num ⊙ r, for the parameters' share of y */
        double *ratio = unused + n * ncols;
        memcpy(ratio, s, r * ncols * sizeof *ratio);
        d.top = ratio;
        for (size_t k = 0; k < r * ncols; k++)
            s[k] = num[broadcast(k % r, k / r, r, c->in[PAIR_NUM].cols)] * ratio[k];
    }
    otad_kernel_map map = {divide_back_entries, &d};
    double *xbar = otad_wanted_grad(c, PAIR_X);
    otad_ctx nested = otad_ctx_nested(c);
    int rc = call_pair(&nested, p->kernel, p->product, ncols, ybar, &map, q, xbar ? 1.0 : 0.0,
                       xbar ? xbar : unused);
    /* the parameters' shares of p = op(K)·x and of y = op(K)ᵀ·s */
    otad_kernel_grads g = grads_from(c, p->kernel, PAIR_KERNEL + 1);
    otad_kernel_vjp_args of_p = {p->product, ncols, c->in[PAIR_X].data, saved->p, q, NULL};
    otad_kernel_vjp_args of_y = {p->product ^ OTAD_KERNEL_TRANSPOSE, ncols, s, y, ybar, NULL};
    if (rc == OTAD_OK)
        rc = apply_vjp_at(&nested, p->kernel, 0, &of_p, &g);
    if (rc == OTAD_OK)
        rc = apply_vjp_at(&nested, p->kernel, 0, &of_y, &g);
    return rc;
}

static const otad_op op_kernel_pair = {.name = "kernel_scaling_pair", .arity = OTAD_VARIADIC,
                                       .params_bytes = sizeof(apply_params),
                                       .saved_bytes = sizeof(pair_saved), .shape = pair_shape,
                                       .forward = pair_forward, .vjp = pair_vjp};

static otad_var scaling_pair(otad_tape *t, otad_kernel k, unsigned product, otad_var x,
                             otad_var num, double lambda, int power_pair)
{
    otad_kernel_handle *s = otad_kernel_handle_of(t, k);
    if (!s)
        return (otad_var){0, 0};
    if (!(lambda > 0) || !isfinite(lambda)) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel_scaling_pair: lambda is %g, must be finite and "
                       "> 0", lambda);
        return (otad_var){0, 0};
    }
    if (product > (OTAD_KERNEL_TRANSPOSE | OTAD_KERNEL_COST)) {
        otad_tape_fail(t, OTAD_EINVAL, "kernel_scaling_pair: product is %u, must be 0 to 3 "
                       "(OTAD_KERNEL_TRANSPOSE, OTAD_KERNEL_COST)", product);
        return (otad_var){0, 0};
    }
    otad_var in[2 + OTAD_KERNEL_MAX_INPUTS] = {x, num};
    memcpy(in + PAIR_KERNEL, s->inputs, (1 + s->n_params) * sizeof *in);
    apply_params p = {s, product, 0, lambda, power_pair};
    return otad_apply(t, &op_kernel_pair, &p, PAIR_KERNEL + 1 + s->n_params, in);
}

otad_var otad_kernel_scaling_pair(otad_tape *t, otad_kernel k, unsigned product, otad_var x,
                                  otad_var num)
{
    return scaling_pair(t, k, product, x, num, 1, 0);
}

otad_var otad_kernel_scaling_pair_power(otad_tape *t, otad_kernel k, unsigned product,
                                        otad_var x, otad_var num, double lambda)
{
    return scaling_pair(t, k, product, x, num, lambda, 1);
}
