/* The reverse sweep. */
#include <string.h>

#include "tape_internal.h"

/* The node's gradient buffer for this backward, zeroed on first use; NULL
 * with the tape failed when out of memory. */
double *otadT_grad(otad_tape *t, node *n)
{
    size_t size = n->value.rows * n->value.cols;
    if (!n->grad) {
        n->grad_at = t->mem.in_use;
        n->grad = otadA_alloc(&t->mem, size * sizeof *n->grad);
        if (!n->grad) {
            otad_tape_fail(t, OTAD_ENOMEM, "backward: out of memory for a %zux%zu gradient",
                           n->value.rows, n->value.cols);
            return NULL;
        }
        n->grad_epoch = 0;
    }
    if (n->grad_epoch != t->epoch) {
        memset(n->grad, 0, size * sizeof *n->grad);
        n->grad_epoch = t->epoch;
    }
    return n->grad;
}

static int run_vjp(otad_tape *t, node *n)
{
    const otad_op *op = n->op;
    if (!op->vjp)
        return otad_tape_fail(t, OTAD_ENOGRAD, "%s: no vjp, cannot differentiate", op->name);
    for (uint32_t i = 0; i < n->n_in; i++) {
        node *in = &t->nodes[n->inputs[i]];
        t->ctx_grad[i] = NULL;
        if (in->needs_grad && n->inputs[i] >= t->grad_floor &&
            !(t->ctx_grad[i] = otadT_grad(t, in)))
            return t->status;
    }
    otad_ctx c = {.tape = t, .op = op, .n_in = n->n_in, .in = t->ctx_in, .out = n->value,
                  .params = n->params, .saved = n->saved, .out_grad = n->grad,
                  .in_grad = t->ctx_grad};
    for (uint32_t i = 0; i < n->n_in; i++)
        t->ctx_in[i] = t->nodes[n->inputs[i]].value;
    int rc = op->vjp(&c);
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
    t->epoch = t->epoch == UINT32_MAX ? 1 : t->epoch + 1;
    double *seed = otadT_grad(t, out);
    if (!seed)
        return t->status;
    memcpy(seed, ybar, out->value.rows * out->value.cols * sizeof *seed);
    if (otadT_sweep(t, y.index, 0) != OTAD_OK)
        return t->status;
    write_param_grads(t, y.index);
    return OTAD_OK;
}

int otadT_sweep(otad_tape *t, size_t hi, size_t lo)
{
    for (size_t k = hi + 1; k-- > lo;) {
        node *n = &t->nodes[k];
        if (!n->needs_grad || !n->grad || n->grad_epoch != t->epoch)
            continue;
        /* run_vjp may record (a loop's vjp does), moving t->nodes */
        if (check_gradient(t, n, n->op ? "the output of " : "a parameter") != OTAD_OK ||
            (n->op && run_vjp(t, n) != OTAD_OK))
            return t->status;
    }
    return OTAD_OK;
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
