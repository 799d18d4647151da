/* The tape's private layout, shared by the files of ad/ (see arena.h on names). */
#ifndef OTAD_TAPE_INTERNAL_H
#define OTAD_TAPE_INTERNAL_H

#include <stdarg.h>

#include "arena.h"

/* Call depths with a scratch buffer of their own (an op, a kernel it calls,
 * and one more level). */
#define SCRATCH_DEPTHS 3

/* Gradient buffers of op outputs, released once the sweep has run their
 * vjp, by size, for the nodes the sweep reaches next.  A released buffer
 * holds its list link and its arena position (for rewinds). */
typedef struct free_grad {
    struct free_grad *next;
    size_t at;
} free_grad;

#define GRAD_POOL_SIZES 16

typedef struct grad_pool {
    size_t bytes[GRAD_POOL_SIZES];    /* 0: slot unused */
    free_grad *head[GRAD_POOL_SIZES];
} grad_pool;

/* A backward run twice to catch a vjp that assigns to its inputs' gradients
 * instead of adding: first with every gradient buffer the outermost sweep
 * hands out starting at a non-zero pattern (taken off again when the sweep
 * reaches the node), its gradients kept; then from zero, compared with
 * them node by node.  Buffers of the sweeps that a loop's vjp runs inside
 * start at zero: their seeds may be far smaller than the pattern. */
typedef struct grad_audit {
    int phase;           /* 1: buffers start at the pattern; 2: compared */
    double **kept;       /* per node of the tape swept: its gradient in phase 1 */
    size_t n;
    double scale;        /* the largest entry kept (at least 1) */
    int differs;         /* phase 2 found a difference: */
    size_t node, entry;  /* the first node the sweep reached with one, and where */
    double from_zero, from_pattern;
} grad_audit;

typedef struct node {
    const otad_op *op;      /* NULL for a leaf */
    otad_value value;
    double *grad;           /* arena memory, allocated when a gradient first arrives */
    size_t grad_at;         /* arena position of grad: dropped by a rewind before it */
    uint32_t grad_epoch;    /* grad holds this backward's gradient iff == tape epoch */
    double *grad_out;       /* parameters: the caller's gradient buffer, or NULL */
    uint32_t *inputs;
    uint32_t n_in;
    uint32_t release_prev;  /* previous node with a release function, plus one */
    unsigned char needs_grad, is_param;
    unsigned char prefilled; /* an audited backward started grad at its pattern */
    void *params, *saved;
} node;

struct otad_tape {
    arena mem;
    node *nodes;
    size_t n_nodes, cap_nodes;
    /* Argument arrays for an op's ctx, sized to the largest arity recorded,
     * so backward allocates nothing for them. */
    otad_value *ctx_in;
    double **ctx_grad;
    unsigned char *ctx_needs; /* otad_needs_grad's answers */
    size_t ctx_cap;
    void *scratch[SCRATCH_DEPTHS];  /* otad_scratch's buffers, as allocated */
    size_t scratch_bytes[SCRATCH_DEPTHS];
    double *sink;           /* in_grad of the inputs that need no gradient */
    size_t sink_bytes;
    grad_pool pool;
    otad_var *loop_reads;   /* what running loops' steps read, a stack (a step may run
                               a loop); kept across resets */
    size_t n_loop_reads, cap_loop_reads;
    grad_audit *audit;      /* during otadT_backward_audited */
    int vjp_depth;          /* vjps running (a loop's vjp runs others inside): 0 while
                               the outermost sweep runs */
    uint32_t generation;    /* of the handles; changes at reset */
    uint32_t epoch;         /* of the gradients; changes at each backward */
    size_t grad_floor;      /* nodes below it receive no gradient (an implicit loop's
                               adjoint iteration differentiates one step only) */
    uint32_t release_head;  /* last node with a release function, plus one */
    int check_finite;
    int status;
    char message[256];
};

/* Set status and message unless a failure is already recorded. */
int otadT_failv(otad_tape *t, int code, const char *prefix, const char *fmt, va_list ap);

/* The node of a handle, or NULL (without failing the tape) when it is invalid. */
node *otadT_node(const otad_tape *t, otad_var v);

/* Make room for op arguments of n inputs. */
int otadT_reserve_ctx(otad_tape *t, size_t n);

/* The node's gradient for the current backward, zeroed on first use. */
double *otadT_grad(otad_tape *t, node *n);

/* Give the node's gradient buffer back for reuse (its vjp has run). */
void otadT_release_grad(otad_tape *t, node *n);

/* Forget released buffers at arena position `from` or after (a rewind
 * gives that memory back to the arena); all of them with from = 0. */
void otadT_pool_drop(otad_tape *t, size_t from);

/* The reverse sweep over nodes hi down to lo, in the current backward: what
 * a loop's vjp runs on the steps it records. */
int otadT_sweep(otad_tape *t, size_t hi, size_t lo);

/* otad_backward_seeded, run as grad_audit describes; on return the
 * parameters hold the gradients of the run from zero, and a->differs says
 * whether the two runs disagreed (a->kept is freed). */
int otadT_backward_audited(otad_tape *t, otad_var y, const double *ybar, grad_audit *a);

/* First non-finite entry of x[0..n), or n. */
size_t otadT_first_nonfinite(const double *x, size_t n);

#endif
