/* Recording: the tape's lifetime, leaves, op application, marks. */
#include <math.h>
#include <string.h>

#include "args.h"
#include "tape_internal.h"

void otad_tape_opts_init(otad_tape_opts *opts)
{
    if (!opts)
        return;
    opts->chunk_bytes = (size_t)1 << 20;
    opts->allocator = NULL;
    opts->check_finite = 1;
}

int otadV_tape_opts(otad_error *err, const char *who, const otad_tape_opts *o)
{
    if (o->chunk_bytes == 0)
        return otad_error_set(err, OTAD_EINVAL, "%s: chunk_bytes is 0, must be at least 1", who);
    if (o->allocator && (!o->allocator->alloc || !o->allocator->free))
        return otad_error_set(err, OTAD_EINVAL, "%s: the allocator needs both alloc and free",
                              who);
    return otadV_int_range(err, who, "check_finite", o->check_finite, 0, 1);
}

int otad_tape_new(otad_tape **tape, const otad_tape_opts *opts)
{
    if (!tape)
        return OTAD_EINVAL;
    *tape = NULL;
    otad_tape_opts defaults;
    if (!opts) {
        otad_tape_opts_init(&defaults);
        opts = &defaults;
    }
    if (otadV_tape_opts(NULL, "tape", opts) != OTAD_OK)
        return OTAD_EINVAL;
    arena mem;
    otadA_init(&mem, opts->allocator, opts->chunk_bytes);
    otad_tape *t = otadA_sys_alloc(&mem, sizeof *t);
    if (!t)
        return OTAD_ENOMEM;
    memset(t, 0, sizeof *t);
    t->mem = mem;
    /* Start each tape at its own generation, so that a handle from another
     * tape is (almost surely) refused rather than read as one of ours. */
    t->generation = (uint32_t)((uintptr_t)t >> 6) * 2654435761u | 1;
    t->check_finite = opts->check_finite;
    *tape = t;
    return OTAD_OK;
}

/* The ctx of a node's forward, shape or release: what it reads, and which
 * inputs a backward could ask gradients of. */
static otad_ctx node_ctx(otad_tape *t, node *n)
{
    for (uint32_t i = 0; i < n->n_in; i++) {
        t->ctx_in[i] = t->nodes[n->inputs[i]].value;
        t->ctx_needs[i] = t->nodes[n->inputs[i]].needs_grad;
    }
    return (otad_ctx){.tape = t, .op = n->op, .n_in = n->n_in, .in = t->ctx_in,
                      .out = n->value, .params = n->params, .saved = n->saved};
}

/* Release, newest first, the resources of the ops at index `keep` and after. */
static void release_from(otad_tape *t, size_t keep)
{
    while (t->release_head && t->release_head - 1 >= keep) {
        node *n = &t->nodes[t->release_head - 1];
        otad_ctx c = node_ctx(t, n);
        n->op->release(&c);
        t->release_head = n->release_prev;
    }
}

void otad_tape_free(otad_tape **tape)
{
    if (!tape || !*tape)
        return;
    otad_tape *t = *tape;
    release_from(t, 0);
    arena mem = t->mem;
    otadA_sys_free(&mem, t->nodes, t->cap_nodes * sizeof *t->nodes);
    otadA_sys_free(&mem, t->ctx_in, t->ctx_cap * sizeof *t->ctx_in);
    otadA_sys_free(&mem, t->ctx_grad, t->ctx_cap * sizeof *t->ctx_grad);
    otadA_sys_free(&mem, t->ctx_needs, t->ctx_cap * sizeof *t->ctx_needs);
    for (int d = 0; d < SCRATCH_DEPTHS; d++)
        otadA_sys_free(&mem, t->scratch[d], t->scratch_bytes[d] + ARENA_ALIGN - 1);
    otadA_sys_free(&mem, t->sink, t->sink_bytes);
    otadA_sys_free(&mem, t->loop_reads, t->cap_loop_reads * sizeof *t->loop_reads);
    otadA_destroy(&mem);
    otadA_sys_free(&mem, t, sizeof *t);
    *tape = NULL;
}

void otad_tape_reset(otad_tape *t)
{
    if (!t)
        return;
    release_from(t, 0);
    t->n_nodes = 0;
    t->n_loop_reads = 0;
    otadA_rewind(&t->mem, (arena_pos){0, 0, 0});
    otadT_pool_drop(t, 0);
    t->generation = t->generation == UINT32_MAX ? 1 : t->generation + 1; /* never 0 */
    t->grad_floor = 0;
    t->status = OTAD_OK;
    t->message[0] = '\0';
}

otad_mark otad_tape_mark(const otad_tape *t)
{
    if (!t)
        return (otad_mark){0};
    arena_pos p = otadA_position(&t->mem);
    return (otad_mark){t->generation, (uint32_t)t->n_nodes, p.chunk, p.offset, p.in_use};
}

void otad_tape_rewind(otad_tape *t, otad_mark m)
{
    if (!t || m.generation != t->generation || m.nodes > t->n_nodes ||
        m.arena_in_use > t->mem.in_use)
        return;
    release_from(t, m.nodes);
    /* gradients of dropped nodes in memory the rewind keeps serve again */
    for (size_t k = m.nodes; k < t->n_nodes; k++)
        if (t->nodes[k].grad && t->nodes[k].grad_at < m.arena_in_use)
            otadT_release_grad(t, &t->nodes[k]);
    t->n_nodes = m.nodes;
    /* A backward after the mark may have given earlier nodes gradients in
     * memory past the mark: forget them. */
    for (size_t k = 0; k < t->n_nodes; k++) {
        node *n = &t->nodes[k];
        if (n->grad && n->grad_at >= m.arena_in_use) {
            n->grad = NULL;
            n->grad_epoch = 0;
        }
    }
    otadA_rewind(&t->mem, (arena_pos){m.arena_chunk, m.arena_offset, m.arena_in_use});
    otadT_pool_drop(t, m.arena_in_use);
}

void otad_tape_stats_get(const otad_tape *t, otad_tape_stats *s)
{
    if (!t || !s) {
        if (s)
            memset(s, 0, sizeof *s);
        return;
    }
    s->nodes = t->n_nodes;
    s->bytes_in_use = t->mem.in_use;
    s->peak_bytes = t->mem.peak;
    s->bytes_reserved = t->mem.reserved;
    s->allocations = t->mem.allocations;
}

size_t otadT_first_nonfinite(const double *x, size_t n)
{
    /* An integer test of the exponent bits vectorises; isfinite per entry
     * does not.  Scan blocks, then find the entry in the bad block. */
    const uint64_t exponent = 0x7ff0000000000000u;
    for (size_t start = 0; start < n; start += 512) {
        size_t end = n - start < 512 ? n : start + 512;
        uint64_t bad = 0;
        for (size_t i = start; i < end; i++) {
            uint64_t bits;
            memcpy(&bits, x + i, sizeof bits);
            bad |= (bits & exponent) == exponent;
        }
        if (bad)
            for (size_t i = start; i < end; i++)
                if (!isfinite(x[i]))
                    return i;
    }
    return n;
}

node *otadT_node(const otad_tape *t, otad_var v)
{
    if (!t || v.generation != t->generation || v.index >= t->n_nodes)
        return NULL;
    return &t->nodes[v.index];
}

int otadT_reserve_ctx(otad_tape *t, size_t n)
{
    if (n <= t->ctx_cap)
        return OTAD_OK;
    size_t cap = n < 8 ? 8 : n;
    otad_value *in = otadA_sys_alloc(&t->mem, cap * sizeof *in);
    double **grad = otadA_sys_alloc(&t->mem, cap * sizeof *grad);
    unsigned char *needs = otadA_sys_alloc(&t->mem, cap * sizeof *needs);
    if (!in || !grad || !needs) {
        otadA_sys_free(&t->mem, in, cap * sizeof *in);
        otadA_sys_free(&t->mem, grad, cap * sizeof *grad);
        otadA_sys_free(&t->mem, needs, cap * sizeof *needs);
        return otad_tape_fail(t, OTAD_ENOMEM, "tape: out of memory for op arguments");
    }
    otadA_sys_free(&t->mem, t->ctx_in, t->ctx_cap * sizeof *t->ctx_in);
    otadA_sys_free(&t->mem, t->ctx_grad, t->ctx_cap * sizeof *t->ctx_grad);
    otadA_sys_free(&t->mem, t->ctx_needs, t->ctx_cap * sizeof *t->ctx_needs);
    t->ctx_in = in;
    t->ctx_grad = grad;
    t->ctx_needs = needs;
    t->ctx_cap = cap;
    return OTAD_OK;
}

/* The slot for the next node, zeroed; the caller commits it by incrementing
 * n_nodes.  NULL with the tape failed when the node array cannot grow. */
static node *next_node(otad_tape *t)
{
    if (t->n_nodes == t->cap_nodes) {
        size_t cap = t->cap_nodes ? 2 * t->cap_nodes : 256;
        if (cap > UINT32_MAX)
            cap = UINT32_MAX;
        node *grown = cap > t->n_nodes ? otadA_sys_alloc(&t->mem, cap * sizeof *grown) : NULL;
        if (!grown) {
            otad_tape_fail(t, OTAD_ENOMEM, "tape: out of memory for %zu nodes", cap);
            return NULL;
        }
        if (t->n_nodes)
            memcpy(grown, t->nodes, t->n_nodes * sizeof *grown);
        otadA_sys_free(&t->mem, t->nodes, t->cap_nodes * sizeof *t->nodes);
        t->nodes = grown;
        t->cap_nodes = cap;
    }
    node *n = &t->nodes[t->n_nodes];
    memset(n, 0, sizeof *n);
    return n;
}

static otad_var commit_node(otad_tape *t)
{
    otad_var v = {(uint32_t)t->n_nodes, t->generation};
    t->n_nodes++;
    return v;
}

static const otad_var no_var;

/* Number of entries of a rows×cols value, or 0 when empty or too large. */
static size_t value_size(size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0 || rows > SIZE_MAX / sizeof(double) / cols)
        return 0;
    return rows * cols;
}

static otad_var add_leaf(otad_tape *t, const char *what, size_t rows, size_t cols,
                         const double *value, int copy, double *grad, int is_param)
{
    if (!t || t->status != OTAD_OK)
        return no_var;
    size_t size = value_size(rows, cols);
    if (!size) {
        otad_tape_fail(t, OTAD_EINVAL, "%s: bad size %zux%zu", what, rows, cols);
        return no_var;
    }
    if (!value) {
        otad_tape_fail(t, OTAD_EINVAL, "%s: value is NULL", what);
        return no_var;
    }
    size_t bad = otadT_first_nonfinite(value, size);
    if (bad < size) {
        otad_tape_fail(t, OTAD_EDOMAIN, "%s: entry (%zu,%zu) is %g", what, bad % rows,
                       bad / rows, value[bad]);
        return no_var;
    }
    node *n = next_node(t);
    if (!n)
        return no_var;
    double *data = (double *)value;
    if (copy) {
        data = otadA_alloc(&t->mem, size * sizeof *data);
        if (!data) {
            otad_tape_fail(t, OTAD_ENOMEM, "%s: out of memory for %zux%zu", what, rows, cols);
            return no_var;
        }
        memcpy(data, value, size * sizeof *data);
    }
    n->value = (otad_value){data, rows, cols};
    n->needs_grad = n->is_param = (unsigned char)is_param;
    n->grad_out = grad;
    return commit_node(t);
}

otad_var otad_param(otad_tape *t, size_t rows, size_t cols, const double *value, double *grad)
{
    return add_leaf(t, "param", rows, cols, value, 0, grad, 1);
}

otad_var otad_const(otad_tape *t, size_t rows, size_t cols, const double *value)
{
    return add_leaf(t, "const", rows, cols, value, 0, NULL, 0);
}

otad_var otad_const_copy(otad_tape *t, size_t rows, size_t cols, const double *value)
{
    return add_leaf(t, "const", rows, cols, value, 1, NULL, 0);
}

otad_var otad_const_fill(otad_tape *t, size_t rows, size_t cols, double x)
{
    if (!t || t->status != OTAD_OK)
        return no_var;
    size_t size = value_size(rows, cols);
    if (!size || !isfinite(x)) {
        otad_tape_fail(t, size ? OTAD_EDOMAIN : OTAD_EINVAL, "const: cannot fill %zux%zu with %g",
                       rows, cols, x);
        return no_var;
    }
    double *data = otadA_alloc(&t->mem, size * sizeof *data);
    node *n = data ? next_node(t) : NULL;
    if (!n) {
        otad_tape_fail(t, OTAD_ENOMEM, "const: out of memory for %zux%zu", rows, cols);
        return no_var;
    }
    for (size_t i = 0; i < size; i++)
        data[i] = x;
    n->value = (otad_value){data, rows, cols};
    return commit_node(t);
}

static int check_op(otad_tape *t, const otad_op *op, const void *params, size_t n_in,
                    const otad_var *inputs)
{
    if (!op || !op->name || !op->shape || !op->forward)
        return otad_tape_fail(t, OTAD_EINVAL, "apply: incomplete op descriptor");
    if (op->arity != OTAD_VARIADIC && (op->arity < 0 || n_in != (size_t)op->arity))
        return otad_tape_fail(t, OTAD_EINVAL, "%s: given %zu inputs, takes %d", op->name, n_in,
                              op->arity);
    if (n_in > UINT32_MAX || (n_in && !inputs) || (op->params_bytes && !params))
        return otad_tape_fail(t, OTAD_EINVAL, "%s: missing inputs or params", op->name);
    for (size_t i = 0; i < n_in; i++)
        if (!otadT_node(t, inputs[i]))
            return otad_tape_fail(t, OTAD_EINVAL, "%s: input %zu is not a node of this tape "
                                  "(invalid, or recorded before a reset)", op->name, i);
    return otadT_reserve_ctx(t, n_in);
}

otad_var otad_apply(otad_tape *t, const otad_op *op, const void *params, size_t n_in,
                    const otad_var *inputs)
{
    if (!t || t->status != OTAD_OK || check_op(t, op, params, n_in, inputs) != OTAD_OK)
        return no_var;
    arena_pos start = otadA_position(&t->mem);
    int rc = OTAD_OK;
    node *n = next_node(t);
    if (!n)
        return no_var;
    n->op = op;
    n->n_in = (uint32_t)n_in;
    n->inputs = otadA_alloc(&t->mem, n_in * sizeof *n->inputs);
    n->params = op->params_bytes ? otadA_alloc(&t->mem, op->params_bytes) : NULL;
    n->saved = op->saved_bytes ? otadA_alloc(&t->mem, op->saved_bytes) : NULL;
    if (!n->inputs || (op->params_bytes && !n->params) || (op->saved_bytes && !n->saved))
        goto out_of_memory;
    for (size_t i = 0; i < n_in; i++) {
        n->inputs[i] = inputs[i].index;
        n->needs_grad |= t->nodes[inputs[i].index].needs_grad;
    }
    if (op->params_bytes)
        memcpy(n->params, params, op->params_bytes);
    if (op->saved_bytes)
        memset(n->saved, 0, op->saved_bytes);

    otad_ctx c = node_ctx(t, n);
    size_t rows = 0, cols = 0;
    rc = op->shape(&c, &rows, &cols);
    if (rc == OTAD_OK && !value_size(rows, cols))
        rc = otad_fail(&c, OTAD_ESHAPE, "output shape %zux%zu", rows, cols);
    if (rc != OTAD_OK)
        goto failed;
    size_t size = rows * cols;
    c.out = n->value = (otad_value){otadA_alloc(&t->mem, size * sizeof(double)), rows, cols};
    if (!c.out.data)
        goto out_of_memory;
    rc = op->forward(&c);
    if (rc == OTAD_OK && t->check_finite && !(op->flags & OTAD_OP_MAY_BE_NONFINITE)) {
        size_t bad = otadT_first_nonfinite(c.out.data, size);
        if (bad < size)
            rc = otad_fail(&c, OTAD_ERANGE, "non-finite output %g at (%zu,%zu)",
                           c.out.data[bad], bad % rows, bad / rows);
    }
    if (rc != OTAD_OK) {
        if (op->release)
            op->release(&c);
        goto failed;
    }
    if (op->release) {
        n->release_prev = t->release_head;
        t->release_head = (uint32_t)t->n_nodes + 1;
    }
    return commit_node(t);

out_of_memory:
    otad_tape_fail(t, OTAD_ENOMEM, "%s: out of memory", op->name);
failed:
    if (t->status == OTAD_OK)
        otad_tape_fail(t, rc, "%s: failed without a message", op->name);
    otadA_rewind(&t->mem, start);
    return no_var;
}

void *otad_tape_alloc(otad_tape *t, size_t bytes)
{
    if (!t || t->status != OTAD_OK)
        return NULL;
    void *p = otadA_alloc(&t->mem, bytes);
    if (!p)
        otad_tape_fail(t, OTAD_ENOMEM, "tape: out of memory for %zu bytes", bytes);
    return p;
}

void *otad_saved_of(const otad_tape *t, otad_var v, const otad_op *op)
{
    node *n = otadT_node(t, v);
    return n && n->op == op ? n->saved : NULL;
}

void *otad_alloc(const otad_ctx *c, size_t bytes)
{
    if (!c || !c->tape)
        return NULL;
    void *p = otadA_alloc(&c->tape->mem, bytes);
    if (!p)
        otad_fail(c, OTAD_ENOMEM, "out of memory for %zu bytes of workspace", bytes);
    return p;
}

void *otad_scratch(const otad_ctx *c, size_t bytes)
{
    if (!c || !c->tape)
        return NULL;
    otad_tape *t = c->tape;
    unsigned d = c->depth;
    if (d >= SCRATCH_DEPTHS) {
        otad_fail(c, OTAD_EINVAL, "workspace asked at call depth %u (at most %d)", d,
                  SCRATCH_DEPTHS - 1);
        return NULL;
    }
    if (bytes > t->scratch_bytes[d]) {
        void *grown = bytes < SIZE_MAX - ARENA_ALIGN
                          ? otadA_sys_alloc(&t->mem, bytes + ARENA_ALIGN - 1) : NULL;
        if (!grown) {
            otad_fail(c, OTAD_ENOMEM, "out of memory for %zu bytes of workspace", bytes);
            return NULL;
        }
        otadA_sys_free(&t->mem, t->scratch[d], t->scratch_bytes[d] + ARENA_ALIGN - 1);
        t->scratch[d] = grown;
        t->scratch_bytes[d] = bytes;
    }
    uintptr_t p = ((uintptr_t)t->scratch[d] + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    return (void *)p;
}

otad_ctx otad_ctx_nested(const otad_ctx *c)
{
    if (!c)
        return (otad_ctx){0};
    otad_ctx nested = *c;
    nested.depth++;
    return nested;
}

otad_value otad_value_of(const otad_tape *t, otad_var v)
{
    node *n = otadT_node(t, v);
    return n ? n->value : (otad_value){NULL, 0, 0};
}

double otad_scalar(const otad_tape *t, otad_var v)
{
    node *n = otadT_node(t, v);
    return n ? n->value.data[0] : NAN;
}

const double *otad_grad(const otad_tape *t, otad_var v)
{
    node *n = otadT_node(t, v);
    return n && !n->op && n->grad && n->grad_epoch == t->epoch ? n->grad : NULL;
}
