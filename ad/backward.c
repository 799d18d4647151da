/* The reverse sweep. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tape_internal.h"

/* Where an audited backward starts gradient entry k: non-zero, exact in
 * binary, different from its neighbours. */
static double audit_pattern(size_t k)
{
    return 0.125 * (double)(1 + k % 7);
}

/* Arena bytes of a gradient of `size` entries: the pool's key. */
static size_t grad_bytes(size_t size)
{
    return (size * sizeof(double) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static int pool_slot(const grad_pool *p, size_t bytes)
{
    for (int k = 0; k < GRAD_POOL_SIZES; k++)
        if (p->bytes[k] == bytes)
            return k;
    return -1;
}

void otadT_release_grad(otad_tape *t, node *n)
{
    if (!n->grad)
        return;
    size_t bytes = grad_bytes(n->value.rows * n->value.cols);
    grad_pool *p = &t->pool;
    int k = pool_slot(p, bytes);
    if (k < 0)
        k = pool_slot(p, 0);
    if (k >= 0) { /* with all slots taken by other sizes, the buffer waits for a reset */
        free_grad *f = (free_grad *)(void *)n->grad;
        *f = (free_grad){p->head[k], n->grad_at};
        p->head[k] = f;
        p->bytes[k] = bytes;
    }
    n->grad = NULL;
    n->grad_epoch = 0;
}

void otadT_pool_drop(otad_tape *t, size_t from)
{
    grad_pool *p = &t->pool;
    for (int k = 0; k < GRAD_POOL_SIZES; k++) {
        free_grad **link = &p->head[k];
        while (*link)
            if ((*link)->at >= from)
                *link = (*link)->next;
            else
                link = &(*link)->next;
        if (!p->head[k])
            p->bytes[k] = 0;
    }
}

/* The node's gradient buffer for this backward, zeroed on first use; NULL
 * with the tape failed when out of memory. */
double *otadT_grad(otad_tape *t, node *n)
{
    size_t size = n->value.rows * n->value.cols;
    if (!n->grad) {
        size_t bytes = grad_bytes(size);
        int k = pool_slot(&t->pool, bytes);
        if (k >= 0) {
            free_grad *f = t->pool.head[k];
            t->pool.head[k] = f->next;
            if (!f->next)
                t->pool.bytes[k] = 0;
            n->grad_at = f->at;
            n->grad = (double *)(void *)f;
        } else {
            n->grad_at = t->mem.in_use;
            n->grad = otadA_alloc(&t->mem, bytes);
        }
        if (!n->grad) {
            otad_tape_fail(t, OTAD_ENOMEM, "backward: out of memory for a %zux%zu gradient",
                           n->value.rows, n->value.cols);
            return NULL;
        }
        n->grad_epoch = 0;
    }
    if (n->grad_epoch != t->epoch) {
        n->prefilled = t->audit && t->audit->phase == 1 && t->vjp_depth == 0;
        if (n->prefilled)
            for (size_t k = 0; k < size; k++)
                n->grad[k] = audit_pattern(k);
        else
            memset(n->grad, 0, size * sizeof *n->grad);
        n->grad_epoch = t->epoch;
    }
    return n->grad;
}

/* Room for the gradient of an input that needs none: its content is thrown
 * away, so one buffer, as large as the largest such input, serves them all. */
static double *sink(otad_tape *t, size_t size)
{
    if (size > t->sink_bytes / sizeof(double)) {
        double *grown = size < SIZE_MAX / sizeof(double)
                            ? otadA_sys_alloc(&t->mem, size * sizeof(double)) : NULL;
        if (!grown) {
            otad_tape_fail(t, OTAD_ENOMEM, "backward: out of memory for %zu gradient entries",
                           size);
            return NULL;
        }
        otadA_sys_free(&t->mem, t->sink, t->sink_bytes);
        t->sink = grown;
        t->sink_bytes = size * sizeof(double);
    }
    return t->sink;
}

/* Whether node index k needs a gradient in the current sweep. */
static int needs_in_sweep(const otad_tape *t, size_t k)
{
    return t->nodes[k].needs_grad && k >= t->grad_floor;
}

int otad_needs_grad(const otad_ctx *c, size_t i)
{
    return c && i < c->n_in && c->tape->ctx_needs[i];
}

/* Run the node's vjp when some input needs a gradient in this sweep; every
 * input gets a buffer (the sink for those that need none). */
static int run_vjp(otad_tape *t, node *n)
{
    const otad_op *op = n->op;
    size_t unneeded = 0;
    int any = 0;
    for (uint32_t i = 0; i < n->n_in; i++) {
        node *in = &t->nodes[n->inputs[i]];
        t->ctx_needs[i] = (unsigned char)needs_in_sweep(t, n->inputs[i]);
        t->ctx_in[i] = in->value;
        t->ctx_grad[i] = NULL;
        if (!t->ctx_needs[i]) {
            size_t size = in->value.rows * in->value.cols;
            unneeded = size > unneeded ? size : unneeded;
        } else if (!(t->ctx_grad[i] = otadT_grad(t, in))) {
            return t->status;
        }
        any |= t->ctx_needs[i];
    }
    if (!any)
        return OTAD_OK;
    if (!op->vjp)
        return otad_tape_fail(t, OTAD_ENOGRAD, "%s: no vjp, cannot differentiate", op->name);
    double *discard = unneeded ? sink(t, unneeded) : NULL;
    if (unneeded && !discard)
        return t->status;
    for (uint32_t i = 0; i < n->n_in; i++)
        if (!t->ctx_needs[i])
            t->ctx_grad[i] = discard;
    otad_ctx c = {.tape = t, .op = op, .n_in = n->n_in, .in = t->ctx_in, .out = n->value,
                  .params = n->params, .saved = n->saved, .out_grad = n->grad,
                  .in_grad = t->ctx_grad};
    t->vjp_depth++;
    int rc = op->vjp(&c);
    t->vjp_depth--;
    if (rc != OTAD_OK)
        return t->status != OTAD_OK ? t->status
                                    : otad_tape_fail(t, rc, "%s: vjp failed", op->name);
    return OTAD_OK;
}

/* A node's gradient is complete when the sweep reaches it (every consumer
 * came later on the tape): checked once there, not after every vjp that
 * adds to it, which for a large input used by many ops (a cost matrix used
 * by every kernel apply) would rescan it each time. */
static int check_gradient(otad_tape *t, const node *n, const char *whose)
{
    size_t size = n->value.rows * n->value.cols, bad;
    if (!t->check_finite || (n->op && (n->op->flags & OTAD_OP_MAY_BE_NONFINITE)) ||
        (bad = otadT_first_nonfinite(n->grad, size)) == size)
        return OTAD_OK;
    return otad_tape_fail(t, OTAD_ERANGE, "backward: non-finite gradient %g at (%zu,%zu) of "
                          "%s%s (from the vjp of an op that uses it)", n->grad[bad],
                          bad % n->value.rows, bad / n->value.rows, whose,
                          n->op ? n->op->name : "");
}

/* Hand the parameters their gradients, only once the sweep has succeeded.
 * Parameters that share a gradient buffer get the sum of their gradients. */
static void write_param_grads(otad_tape *t, size_t last)
{
    for (size_t k = 0; k <= last; k++) {
        node *n = &t->nodes[k];
        if (n->is_param && n->grad_out)
            memset(n->grad_out, 0, n->value.rows * n->value.cols * sizeof *n->grad_out);
    }
    for (size_t k = 0; k <= last; k++) {
        node *n = &t->nodes[k];
        if (!n->is_param || !n->grad_out || !n->grad || n->grad_epoch != t->epoch)
            continue;
        for (size_t i = 0; i < n->value.rows * n->value.cols; i++)
            n->grad_out[i] += n->grad[i];
    }
}

int otad_backward_seeded(otad_tape *t, otad_var y, const double *ybar)
{
    if (!t)
        return OTAD_EINVAL;
    if (t->status != OTAD_OK)
        return t->status;
    node *out = otadT_node(t, y);
    if (!out || !ybar)
        return otad_tape_fail(t, OTAD_EINVAL, "backward: %s", out ? "seed is NULL"
                              : "not a node of this tape (invalid, or recorded before a reset)");
    size_t size = out->value.rows * out->value.cols, bad = otadT_first_nonfinite(ybar, size);
    if (bad < size)
        return otad_tape_fail(t, OTAD_EDOMAIN, "backward: seed entry (%zu,%zu) is %g",
                              bad % out->value.rows, bad / out->value.rows, ybar[bad]);
    t->epoch = t->epoch == UINT32_MAX ? 1 : t->epoch + 1;
    double *seed = otadT_grad(t, out);
    if (!seed)
        return t->status;
    for (size_t k = 0; k < size; k++)
        seed[k] += ybar[k];
    if (otadT_sweep(t, y.index, 0) != OTAD_OK)
        return t->status;
    write_param_grads(t, y.index);
    return OTAD_OK;
}

/* An audited backward reaching node k: the pattern taken off, and the
 * gradient kept (phase 1) or compared (phase 2) in the outermost sweep,
 * the one that runs while no vjp does. */
static int audit_node(otad_tape *t, size_t k)
{
    grad_audit *a = t->audit;
    node *n = &t->nodes[k];
    size_t size = n->value.rows * n->value.cols;
    for (size_t e = 0; n->prefilled && e < size; e++)
        n->grad[e] -= audit_pattern(e);
    n->prefilled = 0;
    if (t->vjp_depth != 0 || k >= a->n)
        return OTAD_OK;
    if (a->phase == 1) {
        if (!(a->kept[k] = malloc(size * sizeof *n->grad)))
            return otad_tape_fail(t, OTAD_ENOMEM, "check: out of memory for gradients");
        memcpy(a->kept[k], n->grad, size * sizeof *n->grad);
        for (size_t e = 0; e < size; e++)
            a->scale = fmax(a->scale, fabs(n->grad[e]));
        return OTAD_OK;
    }
    /* A vjp that assigns loses a pattern entry, at least 1/8, at the node
     * it writes.  Rounding loses far less: (pattern + g) − pattern is off
     * by DBL_EPSILON times the pattern, an error that large Jacobian
     * entries further down the sweep (a scaling-domain iteration divides
     * by values near 0) can grow well past 1e-8 of the gradients' scale.
     * So the bar is an eighth of the smallest loss, plus that. */
    for (size_t e = 0; !a->differs && a->kept[k] && e < size; e++)
        if (fabs(n->grad[e] - a->kept[k][e]) > 1.0 / 64 + 1e-8 * a->scale)
            *a = (grad_audit){a->phase, a->kept, a->n, a->scale, 1, k, e, n->grad[e],
                              a->kept[k][e]};
    return OTAD_OK;
}

int otadT_sweep(otad_tape *t, size_t hi, size_t lo)
{
    for (size_t k = hi + 1; k-- > lo;) {
        node *n = &t->nodes[k];
        if (!n->needs_grad || !n->grad || n->grad_epoch != t->epoch)
            continue;
        /* run_vjp may record (a loop's vjp does), moving t->nodes */
        if ((t->audit && audit_node(t, k) != OTAD_OK) ||
            check_gradient(t, n, n->op ? "the output of " : "a parameter") != OTAD_OK ||
            (n->op && run_vjp(t, n) != OTAD_OK))
            return t->status;
        if (t->nodes[k].op)
            otadT_release_grad(t, &t->nodes[k]);
    }
    return OTAD_OK;
}

int otadT_backward_audited(otad_tape *t, otad_var y, const double *ybar, grad_audit *a)
{
    *a = (grad_audit){.phase = 1, .n = t->n_nodes, .scale = 1};
    if (!(a->kept = calloc(a->n ? a->n : 1, sizeof *a->kept)))
        return otad_tape_fail(t, OTAD_ENOMEM, "check: out of memory for gradients");
    t->audit = a;
    int rc = otad_backward_seeded(t, y, ybar);
    a->phase = 2;
    if (rc == OTAD_OK)
        rc = otad_backward_seeded(t, y, ybar);
    t->audit = NULL;
    for (size_t k = 0; k < a->n; k++)
        free(a->kept[k]);
    free(a->kept);
    a->kept = NULL;
    return rc;
}

int otad_backward(otad_tape *t, otad_var y)
{
    node *out = otadT_node(t, y);
    if (t && t->status == OTAD_OK && out && (out->value.rows != 1 || out->value.cols != 1))
        return otad_tape_fail(t, OTAD_ESHAPE, "backward: output is %zux%zu, not a scalar "
                              "(use otad_backward_seeded)", out->value.rows, out->value.cols);
    static const double one = 1.0;
    return otad_backward_seeded(t, y, &one);
}
