/** @file
 * otad — the tape: values, nodes, op descriptors, backward, gradient checking.
 *
 * A value is a dense column-major rows×cols matrix of doubles; columns are the
 * batch dimension.  A tape records ops as they run (define-by-run); backward is
 * one reverse sweep over the record.  All tape memory comes from a chunked
 * arena that otad_tape_reset rewinds in O(1), so an evaluation repeated after a
 * reset allocates nothing new.
 *
 * Errors are sticky: the first failure on a tape stores a code and a message
 * prefixed by the op's name; later calls on the failed tape do nothing and
 * return an invalid handle, so a build function checks once, at the end.
 * The library never prints, aborts or exits.
 */
#ifndef OTAD_AD_H
#define OTAD_AD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks a printf-style function for the compiler's format checks. */
#if defined(__GNUC__) || defined(__clang__)
#define OTAD_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define OTAD_PRINTF(fmt, args)
#endif

/* ---- version ------------------------------------------------------------- */

/** @name Version
 * The version of these headers; otad_version() gives the library's, which a
 * program linked against a shared otad may find different. */
/**@{*/
#define OTAD_VERSION_MAJOR 0 /**< incompatible changes of the interface */
#define OTAD_VERSION_MINOR 1 /**< additions that keep it compatible */
#define OTAD_VERSION_PATCH 0 /**< fixes */
/**@}*/

/** "MAJOR.MINOR.PATCH" of the library linked in. */
const char *otad_version(void);

/* ---- error codes ------------------------------------------------------- */

/** The error codes every function returns or a tape stores. */
enum {
    OTAD_OK = 0,         /**< success */
    OTAD_ENOMEM = -1,    /**< an allocation failed */
    OTAD_EINVAL = -2,    /**< a bad argument: NULL, stale handle, bad option */
    OTAD_ESHAPE = -3,    /**< operand shapes that disagree */
    OTAD_EDOMAIN = -4,   /**< input outside the op's domain (negative, non-finite, ...) */
    OTAD_ERANGE = -5,    /**< a finite input gave a non-finite result */
    OTAD_ENOGRAD = -6,   /**< a gradient was asked of an op that has no vjp */
    OTAD_ENOTPOSDEF = -7,/**< a factorisation found a matrix not positive definite */
    OTAD_ENOCONV = -8,   /**< an iteration did not converge */
    OTAD_EIO = -9,       /**< a file could not be read or written */
    OTAD_EFORMAT = -10,  /**< a file is malformed or truncated */
    OTAD_ECHECK = -11    /**< a gradient check failed */
};

/** Name of an error code ("OTAD_ESHAPE: operand shapes disagree"). */
const char *otad_strerror(int code);

/** Where functions that work outside a tape (constructors, file readers) put
 * the message of a failure; every such function accepts NULL. */
typedef struct otad_error {
    char message[256]; /**< the last failure's message, "" before any */
} otad_error;

/** Set err's message (printf-style) when err is not NULL; returns code.  A NULL
 * fmt gives the code's name (otad_tape_fail and otad_fail do the same). */
int otad_error_set(otad_error *err, int code, const char *fmt, ...) OTAD_PRINTF(3, 4);

/* ---- values, handles, allocator ---------------------------------------- */

/** A borrowed view of a column-major matrix: element (i, j) is data[i + j*rows]. */
typedef struct otad_value {
    double *data; /**< rows·cols entries, column-major */
    size_t rows;  /**< number of rows */
    size_t cols;  /**< number of columns (the batch) */
} otad_value;

/** A node on a tape.  The zero handle is invalid; so is a handle kept across
 * otad_tape_reset (the generation changes). */
typedef struct otad_var {
    uint32_t index;      /**< the node's position on the tape */
    uint32_t generation; /**< the tape's generation when recorded; 0: invalid */
} otad_var;

/** Whether v is a handle at all (it may still be stale after a reset). */
static inline int otad_var_valid(otad_var v) { return v.generation != 0; }

/** Where a tape gets its memory.  free receives the size given to alloc. */
typedef struct otad_allocator {
    void *(*alloc)(void *ctx, size_t bytes);         /**< NULL when out of memory */
    void (*free)(void *ctx, void *ptr, size_t bytes); /**< bytes as given to alloc */
    void *ctx;                                        /**< passed to both */
} otad_allocator;

/* ---- the tape ----------------------------------------------------------- */

/** A tape: the record of the ops run since its last reset, their values and,
 * after a backward, their gradients.  Opaque; made by otad_tape_new. */
typedef struct otad_tape otad_tape;

/** A tape's options (otad_tape_opts_init sets the defaults). */
typedef struct otad_tape_opts {
    size_t chunk_bytes;              /**< arena chunk size, ≥ 1; default 1 MiB */
    const otad_allocator *allocator; /**< NULL: malloc/free; else with both functions;
                                        copied, must outlive the tape */
    int check_finite;                /**< 1 (default): every op output, and every node's
                                        gradient once complete, must be finite, else
                                        OTAD_ERANGE; 0: no check */
} otad_tape_opts;

/** Set every option to its default. */
void otad_tape_opts_init(otad_tape_opts *opts);

/** Create a tape (opts NULL: defaults).  *tape is NULL on failure: OTAD_EINVAL
 * for options out of their range (above), OTAD_ENOMEM. */
int otad_tape_new(otad_tape **tape, const otad_tape_opts *opts);

/** Release every op's resources and all memory; sets *tape to NULL. */
void otad_tape_free(otad_tape **tape);

/** Forget every node and clear the error, keeping the memory for reuse: O(1)
 * plus one release call per op that holds outside resources. */
void otad_tape_reset(otad_tape *tape);

/** The sticky status: OTAD_OK or the first error (OTAD_EINVAL for tape NULL). */
int otad_tape_status(const otad_tape *tape);
/** The first error's message, prefixed by the op's name; "" while OK. */
const char *otad_tape_message(const otad_tape *tape);

/** Record a failure (if none is recorded yet) with a printf-style message;
 * returns the tape's status.  For build functions that validate their input. */
int otad_tape_fail(otad_tape *tape, int code, const char *fmt, ...)
    OTAD_PRINTF(3, 4);

/** A position on the tape.  Rewinding to it drops every node recorded after it
 * (releasing their resources), the memory they used, and gradients a backward
 * stored there; the nodes before it stay.  Used to evaluate a subgraph many
 * times on one tape.  A mark from before a reset is ignored. */
typedef struct otad_mark {
    uint32_t generation; /**< the tape's generation when marked */
    uint32_t nodes;      /**< nodes recorded then */
    size_t arena_chunk;  /**< the arena's position then: its chunk, */
    size_t arena_offset; /**< the offset in it */
    size_t arena_in_use; /**< and the bytes in use */
} otad_mark;

/** The tape's position now; zeroed for tape NULL. */
otad_mark otad_tape_mark(const otad_tape *tape);
/** Drop what was recorded after mark (see otad_mark). */
void otad_tape_rewind(otad_tape *tape, otad_mark mark);

/** What a tape holds, for memory budgets and tests. */
typedef struct otad_tape_stats {
    size_t nodes;          /**< nodes recorded now */
    size_t bytes_in_use;   /**< arena bytes in use now */
    size_t peak_bytes;     /**< highest bytes_in_use since creation */
    size_t bytes_reserved; /**< arena and node-array memory held */
    size_t allocations;    /**< allocator calls since creation */
} otad_tape_stats;

/** Zeroed for tape NULL; stats NULL: nothing. */
void otad_tape_stats_get(const otad_tape *tape, otad_tape_stats *stats);

/** Memory from the tape's arena, 64-byte aligned, kept until the next reset
 * (or a rewind to before it): for what must live as long as the nodes, such
 * as the instance of a loop's step.  NULL with the tape failed when out of
 * memory. */
void *otad_tape_alloc(otad_tape *tape, size_t bytes);

/* ---- leaves ------------------------------------------------------------- */

/** A parameter: its value is borrowed from the caller's buffer (which must stay
 * unchanged until the next reset), and backward writes its gradient to grad
 * (same size; may be NULL, then read it with otad_grad).  Parameters given
 * the same grad buffer receive the sum of their gradients there. */
otad_var otad_param(otad_tape *tape, size_t rows, size_t cols,
                    const double *value, double *grad);

/** A constant borrowed from the caller's buffer (kept until the next reset). */
otad_var otad_const(otad_tape *tape, size_t rows, size_t cols, const double *value);

/** A constant copied onto the tape (the caller's buffer may change after). */
otad_var otad_const_copy(otad_tape *tape, size_t rows, size_t cols, const double *value);

/** A constant with every entry equal to x. */
otad_var otad_const_fill(otad_tape *tape, size_t rows, size_t cols, double x);

/* ---- reading nodes ------------------------------------------------------ */

/** The node's value (data NULL for an invalid handle). */
otad_value otad_value_of(const otad_tape *tape, otad_var v);

/** The first entry of the node's value; NaN for an invalid handle. */
double otad_scalar(const otad_tape *tape, otad_var v);

/** The gradient of the last backward with respect to the leaf v (a parameter
 * or a constant), same shape as v; NULL when no gradient reached v (it is
 * zero).  The gradients of op outputs are released as the sweep passes them
 * (their memory serves the nodes that come next), so for those it is NULL. */
const double *otad_grad(const otad_tape *tape, otad_var v);

/* ---- backward ----------------------------------------------------------- */

/** Reverse sweep from a 1×1 node y, seeded with dy = 1.  Parameter gradients
 * are written to their grad buffers only if the whole sweep succeeds. */
int otad_backward(otad_tape *tape, otad_var y);

/** The same for a node of any shape, seeded with ybar (y's shape). */
int otad_backward_seeded(otad_tape *tape, otad_var y, const double *ybar);

/* ---- writing an op ------------------------------------------------------ */

/** What an op's functions see.  In forward, out.data is to be filled; in vjp,
 * out holds the value forward computed, out_grad its gradient, and the vjp
 * ADDS each input's gradient into in_grad[i].
 *
 * The engine owns the needs-gradient question: it calls vjp only when some
 * input needs a gradient, and every in_grad[i] is then a valid buffer of
 * input i's size — for an input that needs none, one whose content is
 * thrown away.  A vjp may therefore write every input's gradient without a
 * check; where that work is worth skipping, otad_needs_grad(c, i) says
 * whether it counts. */
typedef struct otad_ctx {
    otad_tape *tape;           /**< the tape the op is recorded on */
    const struct otad_op *op;  /**< the op being run */
    size_t n_in;               /**< number of inputs */
    const otad_value *in;      /**< the inputs' values */
    otad_value out;            /**< the output (filled by forward) */
    const void *params;      /**< a copy of the params given at record time */
    void *saved;             /**< op->saved_bytes zeroed bytes, kept until reset */
    const double *out_grad;  /**< vjp only */
    double *const *in_grad;  /**< vjp only: never NULL (see above) */
    unsigned depth;          /**< 0 for an op the engine runs; one more for each call
                                made through it (a kernel called by a fused op):
                                each depth has its own otad_scratch buffer */
} otad_ctx;

/** Whether input i's gradient is wanted: in vjp, in this sweep (an input
 * outside it gets a buffer that is thrown away); in forward and shape,
 * whether a backward could ever ask for it (an op may then skip saving what
 * only its vjp would read). */
int otad_needs_grad(const otad_ctx *c, size_t i);

/** In vjp: in_grad[i] when input i's gradient counts, else NULL — for a vjp
 * that skips the work of unwanted gradients by a test of its own. */
static inline double *otad_wanted_grad(const otad_ctx *c, size_t i)
{
    return otad_needs_grad(c, i) ? c->in_grad[i] : NULL;
}

/** otad_op.arity of an op that takes any number of inputs. */
#define OTAD_VARIADIC (-1)

/** Flags of an op (otad_op.flags). */
enum {
    OTAD_OP_MAY_BE_NONFINITE = 1u /**< the op's output, and the gradient that reaches it,
                                     may be non-finite: the engine does not check them */
};

/** An op descriptor, normally `static const`.  The engine calls shape, then
 * forward; vjp during backward; release at reset/rewind/free (whether or not
 * backward ran) for ops that hold outside resources.  Any may fail by
 * returning otad_fail(...).  vjp and release may be NULL. */
typedef struct otad_op {
    const char *name;        /**< prefixes its error messages */
    int arity;               /**< number of inputs, or OTAD_VARIADIC (any number) */
    size_t params_bytes;     /**< size of the params struct copied at record time */
    size_t saved_bytes;      /**< size of the saved state, zeroed before forward */
    unsigned flags;          /**< OTAD_OP_MAY_BE_NONFINITE or 0 */
    /** The output's shape from the inputs' (c->in; no data yet): checks them. */
    int (*shape)(const otad_ctx *c, size_t *rows, size_t *cols);
    /** Fill c->out.data from c->in (and c->params, c->saved). */
    int (*forward)(otad_ctx *c);
    /** Add Jᵢᵀ·out_grad into each in_grad[i]; NULL: no gradient (OTAD_ENOGRAD). */
    int (*vjp)(otad_ctx *c);
    /** Release what forward acquired outside the tape; may be NULL. */
    void (*release)(otad_ctx *c);
} otad_op;

/** Record op applied to inputs; params (params_bytes of them) are copied.
 * An op's own functions must not record on the tape. */
otad_var otad_apply(otad_tape *tape, const otad_op *op, const void *params,
                    size_t n_in, const otad_var *inputs);

/** Record the failure of the op being run, message prefixed by its name;
 * returns code. */
int otad_fail(const otad_ctx *c, int code, const char *fmt, ...)
    OTAD_PRINTF(3, 4);

/** The saved state of node v when op recorded it, else NULL: how ops that
 * share an object through a node (a kernel, a factorisation) reach it. */
void *otad_saved_of(const otad_tape *tape, otad_var v, const otad_op *op);

/** Memory from the tape's arena, 64-byte aligned, kept until reset or rewind:
 * for saved state whose size depends on the shapes.  NULL (with the tape
 * failed) when allocation fails. */
void *otad_alloc(const otad_ctx *c, size_t bytes);

/** Workspace for the current call of an op's function only: the next call to
 * otad_scratch at the same depth, by any op, may hand out the same memory,
 * so take one buffer per call and divide it (a kernel called from the op
 * runs one depth deeper, with a buffer of its own).  64-byte aligned, owned
 * by the tape and kept across resets (a repeated evaluation allocates
 * nothing); never part of what a rewind drops.  NULL (with the tape failed)
 * when allocation fails. */
void *otad_scratch(const otad_ctx *c, size_t bytes);

/** The ctx for a call made by an op's function to code that takes a ctx of
 * its own (a kernel called from a fused op): the same op and tape, one depth
 * deeper, so that both may take otad_scratch.  (Zeroed for c NULL, for which
 * otad_alloc and otad_scratch give NULL and otad_fail records nothing.) */
otad_ctx otad_ctx_nested(const otad_ctx *c);

/* ---- loops ---------------------------------------------------------------- */

/** How a loop is differentiated. */
typedef enum otad_grad_mode {
    OTAD_UNROLL = 0,  /**< every step on the tape: the exact gradient of the last iterate;
                         tape memory grows with the number of steps */
    OTAD_CHECKPOINT,  /**< every k-th state kept (k = √L by default), the steps between
                         re-recorded in backward: the same gradient as UNROLL, memory
                         O(√L) states, about one more forward pass */
    OTAD_IMPLICIT,    /**< the gradient of the fixed point: (I − Jᵀ)ξ = x̄ solved at the
                         last state by restarted GMRES (each product Jᵀw one sweep
                         through one step), then Jθᵀξ; memory of one step and 32
                         states, whatever L; right when the loop has converged */
    OTAD_ENVELOPE     /**< Danskin's gradient, for values that offer one (the Sinkhorn
                         dual value); not a loop mode of otad_loop */
} otad_grad_mode;

/** The most state values a loop carries. */
#define OTAD_LOOP_MAX_STATE 8
/** The most params given to otad_loop. */
#define OTAD_LOOP_MAX_PARAMS 16

/** One step: records next[i] from state[i] (i < the loop's n_state), the
 * loop's params and any other node recorded before the loop (a kernel, data
 * held in the instance): the loop finds every such node the step reads and
 * differentiates through it as through the params.  The step must be the
 * same function of those nodes at every call.  Returns OTAD_OK or the
 * tape's status. */
typedef int (*otad_step_fn)(otad_tape *tape, const otad_var *state, const otad_var *params,
                            otad_var *next, void *instance);

/** How far a state is from the fixed point (≥ 0); may record (the loop drops
 * what it records).  NaN with the tape failed on error. */
typedef double (*otad_residual_fn)(otad_tape *tape, const otad_var *state, const otad_var *params,
                                   void *instance);

/** Options; a field out of its range (given with each) fails the tape with
 * OTAD_EINVAL, the message naming the field and its range. */
typedef struct otad_loop_opts {
    otad_grad_mode mode;      /**< UNROLL (default), CHECKPOINT or IMPLICIT */
    int iterations;           /**< at most this many steps, ≥ 1; default 100 */
    double tolerance;         /**< > 0: stop once the residual is at most this, measured
                                 every check_every steps; finite, ≥ 0; default 0 (all
                                 iterations) */
    int check_every;          /**< ≥ 1; default 10 */
    otad_residual_fn residual;/**< NULL: the largest change of a state entry in one step
                                 over the largest entry */
    int checkpoint_every;     /**< CHECKPOINT: k ≥ 1; 0 (default): ⌈√iterations⌉ */
    double adjoint_tolerance; /**< IMPLICIT: stop the adjoint solve once its residual
                                 ‖x̄ − (I − Jᵀ)ξ‖ is at most this times ‖x̄‖ (2-norms);
                                 finite, ≥ 0; default 1e-10 */
    int adjoint_iterations;   /**< IMPLICIT: at most this many products Jᵀw (sweeps through
                                 one step) in the adjoint solve, ≥ 1; default 10000 */
    int adjoint_relative;     /**< IMPLICIT: 1 solves the adjoint for ξ ⊙ |x*| (x* the
                                 fixed point, entries 0 counted as 1), the adjoint in
                                 relative coordinates, with the tolerance on that
                                 system: for a state of positive scalings spanning many
                                 orders of magnitude (scaling-domain Sinkhorn at small
                                 ε), where the plain system is so badly scaled that a
                                 residual within tolerance can leave ξ wrong; 0 or 1;
                                 default 0 */
} otad_loop_opts;

/** Set every option to its default. */
void otad_loop_opts_init(otad_loop_opts *opts);

/** Iterate step from the n_state values init (each any shape) and record the
 * final state in final[0..n_state), differentiable by opts->mode in init and
 * in everything the step reads from before the loop: the params given here
 * (a convenience; n_params may be 0) and nodes it reaches otherwise.  *steps
 * (may be NULL) gets the number of steps taken.  Under CHECKPOINT and
 * IMPLICIT the steps are recorded and dropped as they run, a loop node
 * stands for all of them, and the backward calls step again: instance must
 * live until the tape is reset (otad_tape_alloc).  Returns OTAD_OK or the
 * tape's status (OTAD_ENOCONV in backward when the IMPLICIT adjoint does not
 * converge). */
int otad_loop(otad_tape *tape, otad_step_fn step, void *instance, size_t n_state,
              const otad_var *init, size_t n_params, const otad_var *params,
              const otad_loop_opts *opts, otad_var *final, int *steps);

/* ---- gradient checking -------------------------------------------------- */

/** A deterministic generator: the LCG of the reference workloads, so data
 * drawn here match theirs.  state <- A*state + C; u = (state >> 11) * 2^-53. */
typedef struct otad_rng {
    uint64_t state; /**< any value, the seed; advanced by every draw */
} otad_rng;

/** A uniform draw in [0, 1); NaN for rng NULL. */
double otad_rng_uniform(otad_rng *rng);
/** n uniform draws in [lo, hi). */
void otad_rng_fill(otad_rng *rng, double *x, size_t n, double lo, double hi);
/** A standard normal draw (Box–Muller on two uniform draws, the cosine
 * branch: one normal per two uniforms, so a sequence is reproducible from
 * the state alone); NaN for rng NULL. */
double otad_rng_gaussian(otad_rng *rng);
/** n normal draws of the given mean and standard deviation. */
void otad_rng_fill_gaussian(otad_rng *rng, double *x, size_t n, double mean, double sd);
/** Points uniform in the unit ball of R^dim (dim = 2: the disk): a Gaussian
 * direction, a radius U^(1/dim).  n points, x column-major n×dim. */
void otad_rng_ball(otad_rng *rng, size_t n, size_t dim, double *x);
/** A point uniform on the simplex {x ≥ 0, Σ x = 1} of R^dim: normalised
 * exponential draws −log(1 − U) (Dirichlet(1, …, 1)). */
void otad_rng_simplex(otad_rng *rng, size_t dim, double *x);

/** Records a loss (1×1) from the n×1 parameter theta; on failure returns an
 * invalid handle with the tape's status set.  The shape of every objective. */
typedef otad_var (*otad_build_fn)(otad_tape *tape, otad_var theta, void *instance);

/** Records a graph from the given input nodes: what the dot-product and
 * Jacobian checks differentiate. */
typedef otad_var (*otad_record_fn)(otad_tape *tape, const otad_var *inputs, void *instance);

/** y = A x (transpose 0) or y = Aᵀ x (transpose 1) for A rows×cols, applied to
 * ncols columns at once: x is (cols or rows)×ncols, y (rows or cols)×ncols. */
typedef int (*otad_linop_fn)(void *instance, int transpose, size_t ncols,
                             const double *x, double *y);

/** The most inputs a check differentiates. */
#define OTAD_CHECK_MAX_INPUTS 8

/** Options; a field out of its range (given with each) stops a check with
 * OTAD_EINVAL, its report naming the field, as it names a NULL function or
 * input and an empty input. */
typedef struct otad_check_opts {
    double step;        /**< finite-difference step h, relative to max(1, |x|∞), finite and
                           > 0; default 1e-6 */
    double tolerance;   /**< accepted relative error, finite, ≥ 0; default 1e-6 */
    double abs_floor;   /**< errors below this absolute size always pass, finite, ≥ 0;
                           default 1e-12 */
    int trials;         /**< random directions per input, ≥ 1; default 3 */
    uint64_t seed;      /**< of the random directions; default 1 */
} otad_check_opts;

/** Set every option to its default. */
void otad_check_opts_init(otad_check_opts *opts);

/** What a check found. */
typedef struct otad_check_result {
    int passed;         /**< 1 when every comparison is within tolerance */
    size_t n_inputs;    /**< inputs checked */
    double max_abs_err[OTAD_CHECK_MAX_INPUTS]; /**< per input: the largest absolute error */
    double max_rel_err[OTAD_CHECK_MAX_INPUTS]; /**< and relative error */
    double order;       /**< Taylor test: fitted order of the remainder (2 is right) */
    size_t worst_input; /**< the worst comparison's input, */
    size_t worst_row;   /**< its entry's row and column (the dot-product test finds */
    size_t worst_col;   /**< them when an input fails, SIZE_MAX otherwise), */
    double worst_expected; /**< the reference (finite differences, or a backward
                                from zero), */
    double worst_got;   /**< the gradient's value, */
    double tolerance;   /**< and the tolerance that judged them */
    int assigns;        /**< a vjp assigned to a gradient instead of adding (see below) */
    char report[320];   /**< one line for a human */
} otad_check_result;

/** Every check below that runs a backward runs it twice: once with every
 * gradient buffer starting at non-zero values (taken off again when the sweep
 * reaches the node) and once from zero.  A vjp that assigns to an input's
 * gradient instead of adding makes them differ: the check fails with
 * res->assigns set and a report naming the op.
 *
 * Dot-product test of an op at the given inputs: for random ū and v_i,
 * ⟨ū, (f(x+hv_i) − f(x−hv_i))/2h⟩ against ⟨J_iᵀū, v_i⟩, per input i; for an
 * input that fails, its entries one by one (up to 4096 of them) to name the
 * worst.  Returns OTAD_OK when the check ran (res->passed says how it went),
 * else the error that stopped it (the op failing at x, bad arguments). */
int otad_check_op(const otad_op *op, const void *params, size_t n_in,
                  const otad_value *inputs, const otad_check_opts *opts,
                  otad_check_result *res);

/** The same for any graph recorded by record from the inputs. */
int otad_check_graph(otad_record_fn record, void *instance, size_t n_in,
                     const otad_value *inputs, const otad_check_opts *opts,
                     otad_check_result *res);

/** Full Jacobian by central differences against one backward per output
 * entry; for inputs and outputs of at most 4096 entries in all. */
int otad_check_jacobian(otad_record_fn record, void *instance, size_t n_in,
                        const otad_value *inputs, const otad_check_opts *opts,
                        otad_check_result *res);

/** Taylor remainder test of an objective at theta (n entries), along a random
 * direction v, with h = 1e-2·max(1, |θ|∞)·2^-k, k = 0..19: the remainder
 * |f(θ+hv) − f(θ) − h ∇f·v| must fall as h² for a right gradient (as h for a
 * wrong one).  res->order is its slope fitted over the five smallest h clear
 * of rounding; passes when the order is at least 1.8.  When too few h are
 * clear of rounding (f linear along v) the central difference of f along v
 * against ∇f·v decides instead (it is reported in max_*_err[0] always). */
int otad_check_taylor(otad_build_fn build, void *instance, size_t n,
                      const double *theta, const otad_check_opts *opts,
                      otad_check_result *res);

/** Adjoint identity ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ on random x, y of ncols columns;
 * passes when the relative difference is below opts->tolerance. */
int otad_check_adjoint(otad_linop_fn apply, void *instance, size_t rows,
                       size_t cols, size_t ncols, const otad_check_opts *opts,
                       otad_check_result *res);

#ifdef __cplusplus
}
#endif

#endif
