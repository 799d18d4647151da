/* The argument table: every public function × its bad arguments.
 *
 * Each row names a public function, the bad argument it is given (NULL
 * pointers, empty and overflowing sizes, NaN and infinite values, negative
 * masses, options and enums out of their range), the code the call must
 * return and a few words its message must contain.  The call itself is the
 * row's last column: a body that the table's macros turn into a static
 * function, run on a fresh tape holding the fixture below.  Kinds of body:
 *   VAR, UVAR, KER, PTR  record on the tape (UVAR: one that lets non-finite
 *                        values through) and return a handle or a pointer:
 *                        the outcome is the tape's status and message, and
 *                        the handle must be invalid (the pointer NULL)
 *                        exactly when the tape failed;
 *   RC                   returns a code that must be the tape's status;
 *   ERR                  fills err: it runs twice, with err NULL and with
 *                        one, and both must give the same code;
 *   CODE                 returns a code from a function with no message
 *                        channel (words "");
 *   OUT                  makes its own outcome (the gradient checks' report,
 *                        L-BFGS's result message);
 *   IS                   for functions without an error channel (void,
 *                        getters, _init, _free): true when the call, given
 *                        the bad argument, did not crash and returned the
 *                        documented neutral value (code NEUTRAL; the words
 *                        say which value).
 * A failing call must also leave what the caller owns alone: a body returns
 * MODIFIED when an output it passed changed.  The runner goes through every
 * row and fails naming each row whose outcome differs.
 *
 * Coverage rule: every function declared in the six public headers (a line
 * starting a declaration `type otad_name(`, static inline helpers included)
 * has at least one row; a function without one fails the coverage test,
 * naming the header and the function. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot/plot.h"
#include "support.h"

/* Codes of the table besides OTAD_*: what a row without an error channel
 * expects, and what a call that breaks the contract in some other way gives. */
enum {
    NEUTRAL = 1,      /* no crash, the documented neutral value */
    NOT_NEUTRAL = 2,  /* something other than the neutral value */
    INCONSISTENT = 3, /* a valid handle from a failed tape, a code that is not the tape's
                         status, another code without err than with it */
    MODIFIED = 4      /* a failing call changed an output of the caller's */
};

typedef struct outcome {
    int code;
    char message[320];
} outcome;

typedef struct arg_row {
    const char *function; /* the public function */
    const char *bad;      /* the bad argument */
    outcome (*call)(void);
    int code;             /* the code expected */
    const char *words;    /* in the message; for NEUTRAL rows, the neutral value */
} arg_row;

/* ---- the fixture: what every body finds on its tape ----------------------- */

static const double H3[3] = {0.2, 0.3, 0.5}, H3B[3] = {0.5, 0.25, 0.25};
static const double NEG3[3] = {-0.1, 0.6, 0.5}, ZERO3[3] = {0, 0.5, 0.5};
static const double NAN3[3] = {0.2, NAN, 0.8}, INF3[3] = {0.2, INFINITY, 0.8};
static const double X3[3] = {0, 1, 2};
static const double C33[9] = {0, 1, 4, 1, 0, 1, 4, 1, 0};
static const double NANC33[9] = {0, 1, 4, 1, NAN, 1, 4, 1, 0};
static const double EYE2[4] = {1, 0, 0, 1}, NOTPD2[4] = {1, 2, 2, 1};
static const double NAN2[4] = {1, 0, 0, NAN};

typedef struct fixture {
    otad_var h3, h3b;  /* 3×1 histograms of mass 1 */
    otad_var neg3;     /* 3×1, mass 1, a negative entry */
    otad_var zero3;    /* 3×1, mass 1, a zero entry */
    otad_var h2;       /* 2×1 histogram */
    otad_var x3;       /* 3×1 points on the line */
    otad_var c33;      /* 3×3 cost */
    otad_var p32;      /* 3×2 points */
    otad_var eye2;     /* 2×2 identity */
    otad_var notpd2;   /* 2×2 symmetric, not positive definite */
    otad_var m2;       /* 2×1 mean */
    otad_var one;      /* 1×1 */
    otad_var w12;      /* 12×1 edge weights of the 3×3 grid graph */
    otad_kernel k;     /* Gibbs kernel of c33, ε = 0.5: 3×3 */
    otad_var stale;    /* a handle from before a reset */
    otad_var invalid;  /* the zero handle */
} fixture;

static otad_graph *grid3x3;            /* 9 vertices, 12 edges */
static otad_spd_pattern *tridiagonal;  /* 4×4 */

static fixture fixture_on(otad_tape *t)
{
    fixture f = {0};
    f.stale = otad_const_fill(t, 1, 1, 1);
    otad_tape_reset(t);
    static const double p32[6] = {0, 1, 0, 0, 0, 1}, m2[2] = {0, 0};
    f.h3 = otad_const(t, 3, 1, H3);
    f.h3b = otad_const(t, 3, 1, H3B);
    f.neg3 = otad_const(t, 3, 1, NEG3);
    f.zero3 = otad_const(t, 3, 1, ZERO3);
    f.h2 = otad_const_fill(t, 2, 1, 0.5);
    f.x3 = otad_const(t, 3, 1, X3);
    f.c33 = otad_const(t, 3, 3, C33);
    f.p32 = otad_const(t, 3, 2, p32);
    f.eye2 = otad_const(t, 2, 2, EYE2);
    f.notpd2 = otad_const(t, 2, 2, NOTPD2);
    f.m2 = otad_const(t, 2, 1, m2);
    f.one = otad_const_fill(t, 1, 1, 1);
    f.w12 = otad_const_fill(t, 12, 1, 1);
    f.k = otad_kernel_gibbs(t, f.c33, 0.5);
    assert_tape_ok(t);
    return f;
}

/* The heat kernel on the 3×3 grid (9×9): no cost products, no log domain. */
static otad_kernel heat(otad_tape *t, const fixture *f)
{
    return otad_kernel_heat(t, grid3x3, f->w12, 0.1, 2);
}

/* A NaN or an infinity on a tape that lets them through: exp(1000) = ∞,
 * ∞·0 = NaN (3×1, entry 1). */
static otad_var nonfinite3(otad_tape *t, int nan)
{
    static const double big[3] = {0, 1000, 0}, zero[3] = {1, 0, 1};
    otad_var inf = otad_exp(t, otad_const(t, 3, 1, big));
    return nan ? otad_mul(t, inf, otad_const(t, 3, 1, zero)) : inf;
}

/* A NULL format string, out of the compiler's sight. */
static const char *volatile null_format;

/* ---- outcomes ---------------------------------------------------------------- */

static outcome tape_outcome(otad_tape *t, int produced)
{
    outcome o = {otad_tape_status(t), ""};
    snprintf(o.message, sizeof o.message, "%s", otad_tape_message(t));
    if (produced && o.code != OTAD_OK)
        snprintf(o.message, sizeof o.message, "a valid result from a failed tape (%s)",
                 otad_tape_message(t));
    else if (!produced && o.code == OTAD_OK)
        snprintf(o.message, sizeof o.message, "no result, yet the tape did not fail");
    else
        return o;
    o.code = INCONSISTENT;
    return o;
}

static outcome rc_outcome(otad_tape *t, int rc)
{
    outcome o = {rc, ""};
    snprintf(o.message, sizeof o.message, "%s", otad_tape_message(t));
    if (rc != MODIFIED && rc != otad_tape_status(t)) {
        snprintf(o.message, sizeof o.message, "returned %d, the tape's status is %d (%s)", rc,
                 otad_tape_status(t), otad_tape_message(t));
        o.code = INCONSISTENT;
    }
    return o;
}

static outcome err_outcome(otad_tape *t, const fixture *f,
                           int (*body)(otad_tape *, const fixture *, otad_error *))
{
    int quiet = body(t, f, NULL);
    otad_error e = {""};
    outcome o = {body(t, f, &e), ""};
    snprintf(o.message, sizeof o.message, "%s", e.message);
    if (quiet != o.code) {
        snprintf(o.message, sizeof o.message, "%d with err NULL, %d with err (%s)", quiet,
                 o.code, e.message);
        o.code = INCONSISTENT;
    }
    return o;
}

/* A gradient check's outcome: its code and report. */
static outcome check_outcome(int rc, const otad_check_result *res)
{
    outcome o = {rc, ""};
    snprintf(o.message, sizeof o.message, "%s", res->report);
    return o;
}

/* rc, or MODIFIED when a failing call changed an output. */
static int unless_changed(int rc, int changed)
{
    return changed && rc != OTAD_OK ? MODIFIED : rc;
}

#define BODY(type, id, ...)                                                        \
    static type id##_body(otad_tape *t, const fixture *f, otad_error *err)         \
    {                                                                              \
        (void)t;                                                                   \
        (void)f;                                                                   \
        (void)err;                                                                 \
        __VA_ARGS__                                                                \
    }

/* Runs a body on a fresh tape (checked or not) with the fixture, into the
 * outcome o; the tape is freed after. */
#define RUN(checked, ...)                                                              \
    otad_tape *t = checked ? new_tape() : new_unchecked_tape();                    \
    fixture f = fixture_on(t);                                                     \
    __VA_ARGS__;                                                                   \
    otad_tape_free(&t);                                                            \
    return o;

#define DEFINE_VAR(id, ...) BODY(otad_var, id, __VA_ARGS__)                        \
    static outcome id(void) { RUN(1, outcome o = tape_outcome(t, otad_var_valid(id##_body(t, &f, NULL)))) }
#define DEFINE_UVAR(id, ...) BODY(otad_var, id, __VA_ARGS__)                       \
    static outcome id(void) { RUN(0, outcome o = tape_outcome(t, otad_var_valid(id##_body(t, &f, NULL)))) }
#define DEFINE_KER(id, ...) BODY(otad_kernel, id, __VA_ARGS__)                     \
    static outcome id(void) { RUN(1, outcome o = tape_outcome(t, otad_var_valid(id##_body(t, &f, NULL).node))) }
#define DEFINE_PTR(id, ...) BODY(void *, id, __VA_ARGS__)                          \
    static outcome id(void) { RUN(1, outcome o = tape_outcome(t, id##_body(t, &f, NULL) != NULL)) }
#define DEFINE_RC(id, ...) BODY(int, id, __VA_ARGS__)                              \
    static outcome id(void) { RUN(1, outcome o = rc_outcome(t, id##_body(t, &f, NULL))) }
#define DEFINE_ERR(id, ...) BODY(int, id, __VA_ARGS__)                             \
    static outcome id(void) { RUN(1, outcome o = err_outcome(t, &f, id##_body)) }
#define DEFINE_CODE(id, ...) BODY(int, id, __VA_ARGS__)                            \
    static outcome id(void) { RUN(1, outcome o = {id##_body(t, &f, NULL), ""}) }
#define DEFINE_OUT(id, ...) BODY(outcome, id, __VA_ARGS__)                         \
    static outcome id(void) { RUN(1, outcome o = id##_body(t, &f, NULL)) }
#define DEFINE_IS(id, ...) BODY(int, id, __VA_ARGS__)                              \
    static outcome id(void) { RUN(1, outcome o = {id##_body(t, &f, NULL) ? NEUTRAL : NOT_NEUTRAL, ""}) }

/* ---- ad/ad.h ------------------------------------------------------------------- */

/* otad_tape_new with opts: its code, or INCONSISTENT when *tape is not NULL
 * after a failure. */
static int tape_new_with(const otad_tape_opts *opts)
{
    otad_tape *n = (otad_tape *)&n;
    int rc = otad_tape_new(&n, opts);
    if (rc == OTAD_OK)
        otad_tape_free(&n);
    return n ? INCONSISTENT : rc;
}

static otad_tape_opts tape_opts(void)
{
    otad_tape_opts o;
    otad_tape_opts_init(&o);
    return o;
}

static void *no_alloc_ctx(void *ctx, size_t bytes)
{
    (void)ctx;
    (void)bytes;
    return NULL;
}

static const otad_allocator alloc_without_free = {no_alloc_ctx, NULL, NULL};

static int copy_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    *rows = c->in[0].rows;
    *cols = c->in[0].cols;
    return OTAD_OK;
}

static int copy_forward(otad_ctx *c)
{
    memcpy(c->out.data, c->in[0].data, c->out.rows * c->out.cols * sizeof(double));
    return OTAD_OK;
}

static int copy_vjp(otad_ctx *c)
{
    for (size_t i = 0; i < c->out.rows * c->out.cols; i++)
        c->in_grad[0][i] += c->out_grad[i];
    return OTAD_OK;
}

static const otad_op copy_op = {"copy", 1, 0, 0, 0, copy_shape, copy_forward, copy_vjp, NULL};
static const otad_op copy_op_with_params = {"copy", 1, sizeof(double), 0, 0, copy_shape,
                                            copy_forward, copy_vjp, NULL};
static const otad_op op_without_forward = {"half", 1, 0, 0, 0, copy_shape, NULL, NULL, NULL};

/* An op whose forward makes one call with a bad argument (params: which). */
enum { PROBE_ALLOC, PROBE_SCRATCH, PROBE_CALL_PRODUCT, PROBE_CALL_NCOLS, PROBE_CALL_X,
       PROBE_CALL_COST, PROBE_CALL_VJP_ARGS, PROBE_CALL_HANDLE };
typedef struct probe {
    int which;
    otad_kernel_handle *kernel;
} probe;

static int probe_shape(const otad_ctx *c, size_t *rows, size_t *cols)
{
    (void)c;
    *rows = *cols = 1;
    return OTAD_OK;
}

static int probe_forward(otad_ctx *c)
{
    const probe *p = c->params;
    double x[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, y[9];
    otad_kernel_grads grads = {0};
    int rc = OTAD_OK;
    switch (p->which) {
    case PROBE_ALLOC: rc = otad_alloc(c, SIZE_MAX / 2) ? OTAD_OK : otad_tape_status(c->tape); break;
    case PROBE_SCRATCH: rc = otad_scratch(c, SIZE_MAX / 2) ? OTAD_OK : otad_tape_status(c->tape); break;
    case PROBE_CALL_PRODUCT: rc = otad_kernel_call(c, p->kernel, 99, 1, x, 0, y); break;
    case PROBE_CALL_NCOLS: rc = otad_kernel_call(c, p->kernel, 0, 0, x, 0, y); break;
    case PROBE_CALL_X: rc = otad_kernel_call(c, p->kernel, 0, 1, NULL, 0, y); break;
    case PROBE_CALL_COST: rc = otad_kernel_call(c, p->kernel, OTAD_KERNEL_COST, 1, x, 0, y); break;
    case PROBE_CALL_VJP_ARGS: rc = otad_kernel_call_vjp(c, p->kernel, NULL, &grads); break;
    case PROBE_CALL_HANDLE: rc = otad_kernel_call(c, NULL, 0, 1, x, 0, y); break;
    }
    c->out.data[0] = 0;
    return rc;
}

static const otad_op probe_op = {"probe", 1, sizeof(probe), 0, 0, probe_shape, probe_forward,
                                 NULL, NULL};

/* The probe op calling the kernel k (the fixture's Gibbs kernel when invalid). */
static otad_var run_probe(otad_tape *t, const fixture *f, int which, otad_kernel k)
{
    probe p = {which, otad_kernel_handle_of(t, otad_var_valid(k.node) ? k : f->k)};
    return otad_apply(t, &probe_op, &p, 1, &f->one);
}

static int half_step(otad_tape *t, const otad_var *state, const otad_var *params,
                     otad_var *next, void *instance)
{
    (void)params;
    (void)instance;
    next[0] = otad_scale(t, state[0], 0.5);
    return otad_tape_status(t);
}

static otad_loop_opts loop_opts(void)
{
    otad_loop_opts o;
    otad_loop_opts_init(&o);
    o.iterations = 3;
    return o;
}

/* otad_loop x ← x/2 from h3 with opts, n_state states and n_params params. */
static int run_loop(otad_tape *t, const fixture *f, const otad_loop_opts *opts, size_t n_state,
                    size_t n_params)
{
    otad_var init[OTAD_LOOP_MAX_PARAMS + 1], final[OTAD_LOOP_MAX_PARAMS + 1];
    for (size_t i = 0; i <= OTAD_LOOP_MAX_PARAMS; i++)
        init[i] = f->h3;
    return otad_loop(t, half_step, NULL, n_state, init, n_params, init, opts, final, NULL);
}

static otad_var rec_exp(otad_tape *t, const otad_var *x, void *instance)
{
    (void)instance;
    return otad_exp(t, x[0]);
}

static otad_var build_square(otad_tape *t, otad_var theta, void *instance)
{
    (void)instance;
    return otad_dot(t, theta, theta);
}

static int identity_linop(void *instance, int transpose, size_t ncols, const double *x, double *y)
{
    (void)instance;
    (void)transpose;
    memcpy(y, x, 3 * ncols * sizeof *y);
    return OTAD_OK;
}

static double IN3[3] = {0.1, 0.2, 0.3}, BIG[5000];
static const otad_value in3 = {IN3, 3, 1};

static otad_check_opts check_opts(void)
{
    otad_check_opts o;
    otad_check_opts_init(&o);
    return o;
}

/* The gradient checks on the copy op, exp, θ·θ and the identity. */
static outcome check_op_with(const otad_op *op, size_t n_in, const otad_value *in,
                             const otad_check_opts *opts)
{
    otad_check_result res;
    int rc = otad_check_op(op, NULL, n_in, in, opts, &res);
    return check_outcome(rc, &res);
}

static outcome check_graph_with(otad_record_fn record, size_t n_in, const otad_value *in,
                                const otad_check_opts *opts, int jacobian)
{
    otad_check_result res;
    int rc = jacobian ? otad_check_jacobian(record, NULL, n_in, in, opts, &res)
                      : otad_check_graph(record, NULL, n_in, in, opts, &res);
    return check_outcome(rc, &res);
}

static outcome check_taylor_with(otad_build_fn build, size_t n, const double *theta,
                                 const otad_check_opts *opts)
{
    otad_check_result res;
    return check_outcome(otad_check_taylor(build, NULL, n, theta, opts, &res), &res);
}

static outcome check_adjoint_with(otad_linop_fn apply, size_t rows, size_t cols, size_t ncols,
                                  const otad_check_opts *opts)
{
    otad_check_result res;
    return check_outcome(otad_check_adjoint(apply, NULL, rows, cols, ncols, opts, &res), &res);
}

#define AD_ROWS(X) \
X(version, otad_version, "nothing (no arguments)", NEUTRAL, "the headers' MAJOR.MINOR.PATCH", IS, char v[32]; snprintf(v, sizeof v, "%d.%d.%d", OTAD_VERSION_MAJOR, OTAD_VERSION_MINOR, OTAD_VERSION_PATCH); return !strcmp(otad_version(), v);) \
X(strerror_unknown, otad_strerror, "code 12345", NEUTRAL, "\"unknown otad error code\"", IS, return !strcmp(otad_strerror(12345), "unknown otad error code");) \
X(strerror_int_min, otad_strerror, "code INT_MIN", NEUTRAL, "\"unknown otad error code\"", IS, return !strcmp(otad_strerror(INT_MIN), "unknown otad error code");) \
X(error_set_null, otad_error_set, "err NULL", NEUTRAL, "the code", IS, return otad_error_set(NULL, OTAD_EDOMAIN, "x %d", 1) == OTAD_EDOMAIN;) \
X(error_set_format, otad_error_set, "format NULL", NEUTRAL, "the code, the message its name", IS, otad_error e = {""}; return otad_error_set(&e, OTAD_EDOMAIN, null_format, 1) == OTAD_EDOMAIN && strstr(e.message, "OTAD_EDOMAIN");) \
X(var_valid_zero, otad_var_valid, "the zero handle", NEUTRAL, "0", IS, return !otad_var_valid((otad_var){0, 0});) \
X(tape_opts_init_null, otad_tape_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_tape_opts_init(NULL); return 1;) \
X(tape_new_null, otad_tape_new, "tape NULL", OTAD_EINVAL, "", CODE, return otad_tape_new(NULL, NULL);) \
X(tape_new_chunk, otad_tape_new, "chunk_bytes 0", OTAD_EINVAL, "", CODE, otad_tape_opts o = tape_opts(); o.chunk_bytes = 0; return tape_new_with(&o);) \
X(tape_new_allocator, otad_tape_new, "an allocator without free", OTAD_EINVAL, "", CODE, otad_tape_opts o = tape_opts(); o.allocator = &alloc_without_free; return tape_new_with(&o);) \
X(tape_new_finite, otad_tape_new, "check_finite 2", OTAD_EINVAL, "", CODE, otad_tape_opts o = tape_opts(); o.check_finite = 2; return tape_new_with(&o);) \
X(tape_new_finite_neg, otad_tape_new, "check_finite -1", OTAD_EINVAL, "", CODE, otad_tape_opts o = tape_opts(); o.check_finite = -1; return tape_new_with(&o);) \
X(tape_free_null, otad_tape_free, "tape NULL", NEUTRAL, "nothing done", IS, otad_tape_free(NULL); return 1;) \
X(tape_free_null_tape, otad_tape_free, "*tape NULL", NEUTRAL, "nothing done", IS, otad_tape *n = NULL; otad_tape_free(&n); return n == NULL;) \
X(tape_reset_null, otad_tape_reset, "tape NULL", NEUTRAL, "nothing done", IS, otad_tape_reset(NULL); return 1;) \
X(tape_status_null, otad_tape_status, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, return otad_tape_status(NULL) == OTAD_EINVAL;) \
X(tape_message_null, otad_tape_message, "tape NULL", NEUTRAL, "a string", IS, return otad_tape_message(NULL) != NULL;) \
X(tape_fail_null, otad_tape_fail, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, return otad_tape_fail(NULL, OTAD_EDOMAIN, "x %d", 1) == OTAD_EINVAL;) \
X(tape_fail_ok, otad_tape_fail, "code OTAD_OK", OTAD_EINVAL, "model: bad", RC, return otad_tape_fail(t, OTAD_OK, "model: %s", "bad");) \
X(tape_fail_format, otad_tape_fail, "format NULL", OTAD_EDOMAIN, "OTAD_EDOMAIN", RC, return otad_tape_fail(t, OTAD_EDOMAIN, null_format, 1);) \
X(tape_mark_null, otad_tape_mark, "tape NULL", NEUTRAL, "the zero mark", IS, otad_mark m = otad_tape_mark(NULL); return m.generation == 0 && m.nodes == 0;) \
X(tape_rewind_null, otad_tape_rewind, "tape NULL", NEUTRAL, "nothing done", IS, otad_tape_rewind(NULL, otad_tape_mark(t)); return 1;) \
X(tape_rewind_other, otad_tape_rewind, "a mark of another tape", NEUTRAL, "ignored", IS, otad_tape *u = new_tape(); otad_tape_rewind(t, otad_tape_mark(u)); otad_tape_free(&u); return otad_var_valid(otad_add(t, f->h3, f->h3));) \
X(tape_rewind_reset, otad_tape_rewind, "a mark from before a reset", NEUTRAL, "ignored", IS, otad_mark m = otad_tape_mark(t); otad_tape_reset(t); otad_var a = otad_const_fill(t, 1, 1, 1); otad_tape_rewind(t, m); return otad_scalar(t, a) == 1;) \
X(tape_stats_null, otad_tape_stats_get, "tape NULL", NEUTRAL, "zeroed stats", IS, otad_tape_stats s; memset(&s, 0xff, sizeof s); otad_tape_stats_get(NULL, &s); return s.nodes == 0 && s.bytes_reserved == 0;) \
X(tape_stats_out_null, otad_tape_stats_get, "stats NULL", NEUTRAL, "nothing done", IS, otad_tape_stats_get(t, NULL); return 1;) \
X(tape_alloc_null, otad_tape_alloc, "tape NULL", NEUTRAL, "NULL", IS, return otad_tape_alloc(NULL, 8) == NULL;) \
X(tape_alloc_huge, otad_tape_alloc, "SIZE_MAX bytes", OTAD_ENOMEM, "out of memory", PTR, return otad_tape_alloc(t, SIZE_MAX);) \
X(param_null_tape, otad_param, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_param(NULL, 3, 1, H3, NULL));) \
X(param_zero, otad_param, "0 rows", OTAD_EINVAL, "bad size 0x1", VAR, return otad_param(t, 0, 1, H3, NULL);) \
X(param_overflow, otad_param, "SIZE_MAX/2 x 4", OTAD_EINVAL, "bad size", VAR, return otad_param(t, SIZE_MAX / 2, 4, H3, NULL);) \
X(param_value_null, otad_param, "value NULL", OTAD_EINVAL, "value is NULL", VAR, return otad_param(t, 3, 1, NULL, NULL);) \
X(param_nan, otad_param, "a NaN", OTAD_EDOMAIN, "entry (1,0) is nan", VAR, return otad_param(t, 3, 1, NAN3, NULL);) \
X(const_null_tape, otad_const, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_const(NULL, 3, 1, H3));) \
X(const_zero, otad_const, "0 columns", OTAD_EINVAL, "bad size 3x0", VAR, return otad_const(t, 3, 0, H3);) \
X(const_value_null, otad_const, "value NULL", OTAD_EINVAL, "value is NULL", VAR, return otad_const(t, 3, 1, NULL);) \
X(const_inf, otad_const, "an infinity", OTAD_EDOMAIN, "entry (1,0) is inf", VAR, return otad_const(t, 3, 1, INF3);) \
X(const_copy_null_tape, otad_const_copy, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_const_copy(NULL, 3, 1, H3));) \
X(const_copy_overflow, otad_const_copy, "4 x SIZE_MAX/2", OTAD_EINVAL, "bad size", VAR, return otad_const_copy(t, 4, SIZE_MAX / 2, H3);) \
X(const_copy_null, otad_const_copy, "value NULL", OTAD_EINVAL, "value is NULL", VAR, return otad_const_copy(t, 3, 1, NULL);) \
X(const_copy_nan, otad_const_copy, "a NaN", OTAD_EDOMAIN, "is nan", VAR, return otad_const_copy(t, 3, 1, NAN3);) \
X(const_fill_null_tape, otad_const_fill, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_const_fill(NULL, 1, 1, 0));) \
X(const_fill_nan, otad_const_fill, "x NaN", OTAD_EDOMAIN, "nan", VAR, return otad_const_fill(t, 2, 2, NAN);) \
X(const_fill_zero, otad_const_fill, "0x1", OTAD_EINVAL, "0x1", VAR, return otad_const_fill(t, 0, 1, 1);) \
X(const_fill_overflow, otad_const_fill, "SIZE_MAX/2 x 3", OTAD_EINVAL, "cannot fill", VAR, return otad_const_fill(t, SIZE_MAX / 2, 3, 1);) \
X(value_of_null, otad_value_of, "tape NULL", NEUTRAL, "data NULL", IS, return otad_value_of(NULL, f->h3).data == NULL;) \
X(value_of_invalid, otad_value_of, "the zero handle", NEUTRAL, "data NULL", IS, return otad_value_of(t, f->invalid).data == NULL;) \
X(value_of_stale, otad_value_of, "a handle from before a reset", NEUTRAL, "data NULL", IS, return otad_value_of(t, f->stale).data == NULL;) \
X(scalar_null, otad_scalar, "tape NULL", NEUTRAL, "NaN", IS, return isnan(otad_scalar(NULL, f->one));) \
X(scalar_invalid, otad_scalar, "the zero handle", NEUTRAL, "NaN", IS, return isnan(otad_scalar(t, f->invalid));) \
X(grad_null, otad_grad, "tape NULL", NEUTRAL, "NULL", IS, return otad_grad(NULL, f->one) == NULL;) \
X(grad_stale, otad_grad, "a handle from before a reset", NEUTRAL, "NULL", IS, return otad_grad(t, f->stale) == NULL;) \
X(backward_null, otad_backward, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, return otad_backward(NULL, f->one) == OTAD_EINVAL;) \
X(backward_invalid, otad_backward, "the zero handle", OTAD_EINVAL, "not a node", RC, return otad_backward(t, f->invalid);) \
X(backward_stale, otad_backward, "a handle from before a reset", OTAD_EINVAL, "not a node", RC, return otad_backward(t, f->stale);) \
X(backward_shape, otad_backward, "a 3x1 node", OTAD_ESHAPE, "3x1, not a scalar", RC, return otad_backward(t, f->h3);) \
X(backward_seeded_null, otad_backward_seeded, "seed NULL", OTAD_EINVAL, "seed is NULL", RC, return otad_backward_seeded(t, f->h3, NULL);) \
X(backward_seeded_nan, otad_backward_seeded, "a NaN in the seed", OTAD_EDOMAIN, "seed", RC, return otad_backward_seeded(t, f->h3, NAN3);) \
X(backward_seeded_invalid, otad_backward_seeded, "the zero handle", OTAD_EINVAL, "not a node", RC, return otad_backward_seeded(t, f->invalid, H3);) \
X(backward_seeded_null_tape, otad_backward_seeded, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, return otad_backward_seeded(NULL, f->h3, H3) == OTAD_EINVAL;) \
X(needs_grad_null, otad_needs_grad, "ctx NULL", NEUTRAL, "0", IS, return otad_needs_grad(NULL, 0) == 0;) \
X(wanted_grad_null, otad_wanted_grad, "ctx NULL", NEUTRAL, "NULL", IS, return otad_wanted_grad(NULL, 0) == NULL;) \
X(apply_null_tape, otad_apply, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_apply(NULL, &copy_op, NULL, 1, &f->h3));) \
X(apply_op_null, otad_apply, "op NULL", OTAD_EINVAL, "op", VAR, return otad_apply(t, NULL, NULL, 1, &f->h3);) \
X(apply_no_forward, otad_apply, "an op without forward", OTAD_EINVAL, "incomplete op", VAR, return otad_apply(t, &op_without_forward, NULL, 1, &f->h3);) \
X(apply_arity, otad_apply, "2 inputs to an op of 1", OTAD_EINVAL, "given 2 inputs, takes 1", VAR, otad_var in[2] = {f->h3, f->h3}; return otad_apply(t, &copy_op, NULL, 2, in);) \
X(apply_inputs_null, otad_apply, "inputs NULL", OTAD_EINVAL, "missing inputs", VAR, return otad_apply(t, &copy_op, NULL, 1, NULL);) \
X(apply_params_null, otad_apply, "params NULL for params_bytes 8", OTAD_EINVAL, "params", VAR, return otad_apply(t, &copy_op_with_params, NULL, 1, &f->h3);) \
X(apply_invalid, otad_apply, "the zero handle", OTAD_EINVAL, "input 0 is not a node", VAR, return otad_apply(t, &copy_op, NULL, 1, &f->invalid);) \
X(fail_null, otad_fail, "ctx NULL", NEUTRAL, "the code", IS, return otad_fail(NULL, OTAD_EDOMAIN, "x %d", 1) == OTAD_EDOMAIN;) \
X(saved_of_null, otad_saved_of, "tape NULL", NEUTRAL, "NULL", IS, return otad_saved_of(NULL, f->h3, &copy_op) == NULL;) \
X(saved_of_op_null, otad_saved_of, "op NULL", NEUTRAL, "NULL", IS, return otad_saved_of(t, f->h3, NULL) == NULL;) \
X(saved_of_invalid, otad_saved_of, "the zero handle", NEUTRAL, "NULL", IS, return otad_saved_of(t, f->invalid, &copy_op) == NULL;) \
X(alloc_null, otad_alloc, "ctx NULL", NEUTRAL, "NULL", IS, return otad_alloc(NULL, 8) == NULL;) \
X(alloc_huge, otad_alloc, "SIZE_MAX/2 bytes in a forward", OTAD_ENOMEM, "probe: out of memory", VAR, return run_probe(t, f, PROBE_ALLOC, f->k);) \
X(scratch_null, otad_scratch, "ctx NULL", NEUTRAL, "NULL", IS, return otad_scratch(NULL, 8) == NULL;) \
X(scratch_huge, otad_scratch, "SIZE_MAX/2 bytes in a forward", OTAD_ENOMEM, "probe: out of memory", VAR, return run_probe(t, f, PROBE_SCRATCH, f->k);) \
X(ctx_nested_null, otad_ctx_nested, "ctx NULL", NEUTRAL, "a ctx without a tape", IS, return otad_ctx_nested(NULL).tape == NULL;) \
X(loop_opts_init_null, otad_loop_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_loop_opts_init(NULL); return 1;) \
X(loop_null_tape, otad_loop, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, otad_var final; return otad_loop(NULL, half_step, NULL, 1, &f->h3, 0, NULL, NULL, &final, NULL) == OTAD_EINVAL;) \
X(loop_step_null, otad_loop, "step NULL", OTAD_EINVAL, "step is NULL", RC, otad_var final; return otad_loop(t, NULL, NULL, 1, &f->h3, 0, NULL, NULL, &final, NULL);) \
X(loop_no_state, otad_loop, "n_state 0", OTAD_EINVAL, "n_state", RC, return run_loop(t, f, NULL, 0, 0);) \
X(loop_many_states, otad_loop, "n_state 9", OTAD_EINVAL, "n_state", RC, return run_loop(t, f, NULL, OTAD_LOOP_MAX_STATE + 1, 0);) \
X(loop_init_null, otad_loop, "init NULL", OTAD_EINVAL, "init", RC, otad_var final; return otad_loop(t, half_step, NULL, 1, NULL, 0, NULL, NULL, &final, NULL);) \
X(loop_final_null, otad_loop, "final NULL", OTAD_EINVAL, "final", RC, return otad_loop(t, half_step, NULL, 1, &f->h3, 0, NULL, NULL, NULL, NULL);) \
X(loop_init_invalid, otad_loop, "init the zero handle", OTAD_EINVAL, "not a node", RC, otad_var final; return otad_loop(t, half_step, NULL, 1, &f->invalid, 0, NULL, NULL, &final, NULL);) \
X(loop_many_params, otad_loop, "n_params 17", OTAD_EINVAL, "n_params", RC, return run_loop(t, f, NULL, 1, OTAD_LOOP_MAX_PARAMS + 1);) \
X(loop_params_null, otad_loop, "params NULL, n_params 1", OTAD_EINVAL, "params", RC, otad_var final; return otad_loop(t, half_step, NULL, 1, &f->h3, 1, NULL, NULL, &final, NULL);) \
X(loop_mode, otad_loop, "mode 99", OTAD_EINVAL, "mode", RC, otad_loop_opts o = loop_opts(); o.mode = (otad_grad_mode)99; return run_loop(t, f, &o, 1, 0);) \
X(loop_envelope, otad_loop, "mode ENVELOPE", OTAD_EINVAL, "mode", RC, otad_loop_opts o = loop_opts(); o.mode = OTAD_ENVELOPE; return run_loop(t, f, &o, 1, 0);) \
X(loop_iterations, otad_loop, "iterations 0", OTAD_EINVAL, "iterations is 0", RC, otad_loop_opts o = loop_opts(); o.iterations = 0; return run_loop(t, f, &o, 1, 0);) \
X(loop_iterations_neg, otad_loop, "iterations -3", OTAD_EINVAL, "iterations is -3", RC, otad_loop_opts o = loop_opts(); o.iterations = -3; return run_loop(t, f, &o, 1, 0);) \
X(loop_tolerance_nan, otad_loop, "tolerance NaN", OTAD_EINVAL, "tolerance", RC, otad_loop_opts o = loop_opts(); o.tolerance = NAN; return run_loop(t, f, &o, 1, 0);) \
X(loop_tolerance_neg, otad_loop, "tolerance -1", OTAD_EINVAL, "tolerance", RC, otad_loop_opts o = loop_opts(); o.tolerance = -1; return run_loop(t, f, &o, 1, 0);) \
X(loop_check_every, otad_loop, "check_every 0", OTAD_EINVAL, "check_every", RC, otad_loop_opts o = loop_opts(); o.check_every = 0; return run_loop(t, f, &o, 1, 0);) \
X(loop_checkpoint_every, otad_loop, "checkpoint_every -1", OTAD_EINVAL, "checkpoint_every", RC, otad_loop_opts o = loop_opts(); o.mode = OTAD_CHECKPOINT; o.checkpoint_every = -1; return run_loop(t, f, &o, 1, 0);) \
X(loop_adjoint_tolerance, otad_loop, "adjoint_tolerance inf", OTAD_EINVAL, "adjoint_tolerance", RC, otad_loop_opts o = loop_opts(); o.mode = OTAD_IMPLICIT; o.adjoint_tolerance = INFINITY; return run_loop(t, f, &o, 1, 0);) \
X(loop_adjoint_relative, otad_loop, "adjoint_relative 2", OTAD_EINVAL, "adjoint_relative", RC, otad_loop_opts o = loop_opts(); o.mode = OTAD_IMPLICIT; o.adjoint_relative = 2; return run_loop(t, f, &o, 1, 0);) \
X(loop_adjoint_iterations, otad_loop, "adjoint_iterations 0", OTAD_EINVAL, "adjoint_iterations", RC, otad_loop_opts o = loop_opts(); o.mode = OTAD_IMPLICIT; o.adjoint_iterations = 0; return run_loop(t, f, &o, 1, 0);) \
X(rng_uniform_null, otad_rng_uniform, "rng NULL", NEUTRAL, "NaN", IS, return isnan(otad_rng_uniform(NULL));) \
X(rng_fill_null, otad_rng_fill, "rng NULL", NEUTRAL, "x unchanged", IS, double x = 7; otad_rng_fill(NULL, &x, 1, 0, 1); return x == 7;) \
X(rng_fill_x_null, otad_rng_fill, "x NULL", NEUTRAL, "nothing done", IS, otad_rng r = {1}; otad_rng_fill(&r, NULL, 4, 0, 1); return 1;) \
X(rng_gaussian_null, otad_rng_gaussian, "rng NULL", NEUTRAL, "NaN", IS, return isnan(otad_rng_gaussian(NULL));) \
X(rng_fill_gaussian_null, otad_rng_fill_gaussian, "rng NULL", NEUTRAL, "x unchanged", IS, double x = 7; otad_rng_fill_gaussian(NULL, &x, 1, 0, 1); return x == 7;) \
X(rng_fill_gaussian_x_null, otad_rng_fill_gaussian, "x NULL", NEUTRAL, "nothing done", IS, otad_rng r = {1}; otad_rng_fill_gaussian(&r, NULL, 4, 0, 1); return 1;) \
X(rng_ball_null, otad_rng_ball, "rng NULL", NEUTRAL, "x unchanged", IS, double x[2] = {7, 7}; otad_rng_ball(NULL, 1, 2, x); return x[0] == 7 && x[1] == 7;) \
X(rng_ball_x_null, otad_rng_ball, "x NULL", NEUTRAL, "nothing done", IS, otad_rng r = {1}; otad_rng_ball(&r, 4, 2, NULL); return 1;) \
X(rng_simplex_null, otad_rng_simplex, "rng NULL", NEUTRAL, "x unchanged", IS, double x[2] = {7, 7}; otad_rng_simplex(NULL, 2, x); return x[0] == 7;) \
X(rng_simplex_x_null, otad_rng_simplex, "x NULL", NEUTRAL, "nothing done", IS, otad_rng r = {1}; otad_rng_simplex(&r, 3, NULL); return 1;) \
X(check_opts_init_null, otad_check_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_check_opts_init(NULL); return 1;) \
X(check_op_null, otad_check_op, "op NULL", OTAD_EINVAL, "op is NULL", OUT, return check_op_with(NULL, 1, &in3, NULL);) \
X(check_op_res_null, otad_check_op, "res NULL", OTAD_EINVAL, "", CODE, return otad_check_op(&copy_op, NULL, 1, &in3, NULL, NULL);) \
X(check_op_inputs_null, otad_check_op, "inputs NULL", OTAD_EINVAL, "inputs is NULL", OUT, return check_op_with(&copy_op, 1, NULL, NULL);) \
X(check_op_many, otad_check_op, "n_in 9", OTAD_EINVAL, "n_in", OUT, otad_value in[9] = {in3, in3, in3, in3, in3, in3, in3, in3, in3}; return check_op_with(&copy_op, 9, in, NULL);) \
X(check_op_data_null, otad_check_op, "an input's data NULL", OTAD_EINVAL, "input 0", OUT, otad_value in = {NULL, 3, 1}; return check_op_with(&copy_op, 1, &in, NULL);) \
X(check_op_empty, otad_check_op, "an input 0x1", OTAD_EINVAL, "input 0", OUT, otad_value in = {IN3, 0, 1}; return check_op_with(&copy_op, 1, &in, NULL);) \
X(check_op_overflow, otad_check_op, "an input SIZE_MAX/2 x 4", OTAD_EINVAL, "input 0", OUT, otad_value in = {IN3, SIZE_MAX / 2, 4}; return check_op_with(&copy_op, 1, &in, NULL);) \
X(check_op_nan, otad_check_op, "a NaN input", OTAD_EDOMAIN, "entry (1,0) is nan", OUT, otad_value in = {(double *)NAN3, 3, 1}; return check_op_with(&copy_op, 1, &in, NULL);) \
X(check_op_trials, otad_check_op, "trials 0", OTAD_EINVAL, "trials", OUT, otad_check_opts o = check_opts(); o.trials = 0; return check_op_with(&copy_op, 1, &in3, &o);) \
X(check_op_step, otad_check_op, "step 0", OTAD_EINVAL, "step", OUT, otad_check_opts o = check_opts(); o.step = 0; return check_op_with(&copy_op, 1, &in3, &o);) \
X(check_op_step_nan, otad_check_op, "step NaN", OTAD_EINVAL, "step", OUT, otad_check_opts o = check_opts(); o.step = NAN; return check_op_with(&copy_op, 1, &in3, &o);) \
X(check_op_tolerance, otad_check_op, "tolerance -1", OTAD_EINVAL, "tolerance", OUT, otad_check_opts o = check_opts(); o.tolerance = -1; return check_op_with(&copy_op, 1, &in3, &o);) \
X(check_op_floor, otad_check_op, "abs_floor NaN", OTAD_EINVAL, "abs_floor", OUT, otad_check_opts o = check_opts(); o.abs_floor = NAN; return check_op_with(&copy_op, 1, &in3, &o);) \
X(check_graph_record, otad_check_graph, "record NULL", OTAD_EINVAL, "record is NULL", OUT, return check_graph_with(NULL, 1, &in3, NULL, 0);) \
X(check_graph_none, otad_check_graph, "n_in 0", OTAD_EINVAL, "n_in", OUT, return check_graph_with(rec_exp, 0, &in3, NULL, 0);) \
X(check_graph_res, otad_check_graph, "res NULL", OTAD_EINVAL, "", CODE, return otad_check_graph(rec_exp, NULL, 1, &in3, NULL, NULL);) \
X(check_graph_trials, otad_check_graph, "trials -1", OTAD_EINVAL, "trials", OUT, otad_check_opts o = check_opts(); o.trials = -1; return check_graph_with(rec_exp, 1, &in3, &o, 0);) \
X(check_jacobian_record, otad_check_jacobian, "record NULL", OTAD_EINVAL, "record is NULL", OUT, return check_graph_with(NULL, 1, &in3, NULL, 1);) \
X(check_jacobian_inputs, otad_check_jacobian, "inputs NULL", OTAD_EINVAL, "inputs is NULL", OUT, return check_graph_with(rec_exp, 1, NULL, NULL, 1);) \
X(check_jacobian_large, otad_check_jacobian, "5000 entries", OTAD_EINVAL, "too large", OUT, otad_value in = {BIG, 5000, 1}; return check_graph_with(rec_exp, 1, &in, NULL, 1);) \
X(check_jacobian_step, otad_check_jacobian, "step inf", OTAD_EINVAL, "step", OUT, otad_check_opts o = check_opts(); o.step = INFINITY; return check_graph_with(rec_exp, 1, &in3, &o, 1);) \
X(check_taylor_build, otad_check_taylor, "build NULL", OTAD_EINVAL, "build is NULL", OUT, return check_taylor_with(NULL, 3, IN3, NULL);) \
X(check_taylor_theta, otad_check_taylor, "theta NULL", OTAD_EINVAL, "theta is NULL", OUT, return check_taylor_with(build_square, 3, NULL, NULL);) \
X(check_taylor_empty, otad_check_taylor, "n 0", OTAD_EINVAL, "0x1", OUT, return check_taylor_with(build_square, 0, IN3, NULL);) \
X(check_taylor_nan, otad_check_taylor, "a NaN in theta", OTAD_EDOMAIN, "nan", OUT, return check_taylor_with(build_square, 3, NAN3, NULL);) \
X(check_taylor_res, otad_check_taylor, "res NULL", OTAD_EINVAL, "", CODE, return otad_check_taylor(build_square, NULL, 3, IN3, NULL, NULL);) \
X(check_adjoint_apply, otad_check_adjoint, "apply NULL", OTAD_EINVAL, "apply is NULL", OUT, return check_adjoint_with(NULL, 3, 3, 1, NULL);) \
X(check_adjoint_rows, otad_check_adjoint, "rows 0", OTAD_EINVAL, "0x", OUT, return check_adjoint_with(identity_linop, 0, 3, 1, NULL);) \
X(check_adjoint_overflow, otad_check_adjoint, "rows SIZE_MAX/2, 4 columns", OTAD_EINVAL, "more entries than fit", OUT, return check_adjoint_with(identity_linop, SIZE_MAX / 2, 3, 4, NULL);) \
X(check_adjoint_trials, otad_check_adjoint, "trials 0", OTAD_EINVAL, "trials", OUT, otad_check_opts o = check_opts(); o.trials = 0; return check_adjoint_with(identity_linop, 3, 3, 1, &o);) \
X(check_adjoint_res, otad_check_adjoint, "res NULL", OTAD_EINVAL, "", CODE, return otad_check_adjoint(identity_linop, NULL, 3, 3, 1, NULL, NULL);)

/* ---- ops/ops.h ------------------------------------------------------------------- */

/* A kernel class: the identity on 2-vectors, with variants missing parts. */
static int identity_setup(otad_ctx *c, void *state, const void *config, otad_kernel_info *info)
{
    (void)c;
    (void)state;
    (void)config;
    *info = (otad_kernel_info){.rows = 2, .cols = 2, .eps = 1, .flops = 2};
    return OTAD_OK;
}

static int identity_apply(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                          const double *x, double beta, double *y)
{
    (void)c;
    (void)state;
    (void)product;
    for (size_t i = 0; i < 2 * ncols; i++)
        y[i] = beta * y[i] + x[i];
    return OTAD_OK;
}

static int identity_apply_log(const otad_ctx *c, void *state, unsigned product, size_t ncols,
                              const double *x, double *y)
{
    return identity_apply(c, state, product, ncols, x, 0, y);
}

static int identity_vjp(const otad_ctx *c, void *state, const otad_kernel_vjp_args *a,
                        const otad_kernel_grads *grads)
{
    (void)grads;
    return a->xbar ? identity_apply(c, state, a->product, a->ncols, a->ybar, 1, a->xbar) : OTAD_OK;
}

static const otad_kernel_class identity_class = {.name = "identity", .setup = identity_setup,
                                                 .apply = identity_apply, .vjp = identity_vjp};
static const otad_kernel_class class_without_vjp = {.name = "identity", .setup = identity_setup,
                                                    .apply = identity_apply};
static const otad_kernel_class class_without_setup = {.name = "identity", .apply = identity_apply};
static const otad_kernel_class class_without_apply = {.name = "identity", .setup = identity_setup};
static const otad_kernel_class class_without_name = {.setup = identity_setup, .apply = identity_apply};
static const otad_kernel_class class_log_without_vjp = {.name = "identity", .setup = identity_setup,
                                                        .apply = identity_apply,
                                                        .apply_log = identity_apply_log};

static const size_t PATH3[4] = {0, 1, 1, 2}, LOOP3[4] = {0, 1, 1, 1}, OUTSIDE3[4] = {0, 1, 1, 3};
static const size_t PATH_START[3] = {0, 1, 2}, PATH_LIST[2] = {1, 0}, BAD_LIST[2] = {1, 7};
static const size_t FALLING_START[3] = {0, 1, 0};
static const size_t TRI_START[5] = {0, 2, 4, 6, 7}, TRI_ROWS[7] = {0, 1, 1, 2, 2, 3, 3};
static const size_t NO_DIAG_ROWS[7] = {1, 1, 1, 2, 2, 3, 3}, FAR_ROWS[7] = {0, 1, 1, 9, 2, 3, 3};
static const double SCALE_NEG[2] = {1, -1}, SCALE_NAN[2] = {1, NAN};

/* otad_ot_1d_plan between x3 with masses a and (0, 1) with masses (½, ½),
 * into a plan whose cells start at 7: MODIFIED when a failure changed them. */
static int plan_1d(size_t n, const double *x, const double *a, double p, int no_rows,
                   otad_error *err)
{
    static const double y[2] = {0, 1}, b[2] = {0.5, 0.5};
    size_t row[4] = {7, 7, 7, 7}, col[4];
    double mass[4];
    otad_plan_1d plan = {no_rows ? NULL : row, col, mass, NULL, NULL, 7, 7};
    int rc = otad_ot_1d_plan(n, x, a, 2, y, b, p, &plan, err);
    return unless_changed(rc, row[0] != 7 || plan.cells != 7 || plan.cost != 7);
}

/* otad_gaussian_map into T starting at 7: MODIFIED when a failure changed it. */
static int gaussian_map(size_t d, const double *S1, const double *S2, otad_error *err)
{
    double T[4] = {7, 7, 7, 7};
    int rc = otad_gaussian_map(d, S1, S2, T, err);
    return unless_changed(rc, T[0] != 7);
}

/* otad_graph_edge_neighbours of the 3×3 grid into outputs starting at 7. */
static int edge_neighbours(const otad_graph *g, size_t e, int no_list, int no_count,
                           otad_error *err)
{
    const size_t *list = (const size_t *)&list;
    size_t count = 7;
    int rc = otad_graph_edge_neighbours(g, e, no_list ? NULL : &list, no_count ? NULL : &count,
                                        err);
    return unless_changed(rc, count != 7 || list != (const size_t *)&list);
}

/* otad_graph_new into a graph pointer: freed when the call succeeds. */
static int graph_new(size_t n, size_t n_edges, const size_t *ends, const double *scale,
                     otad_error *err)
{
    otad_graph *g = NULL;
    int rc = otad_graph_new(&g, n, n_edges, ends, scale, err);
    otad_graph_free(&g);
    return rc;
}

static int grid_graph(size_t nx, size_t ny, size_t nz, otad_error *err)
{
    otad_graph *g = NULL;
    int rc = nz ? otad_graph_grid3d(&g, nx, ny, nz, err) : otad_graph_grid2d(&g, nx, ny, err);
    otad_graph_free(&g);
    return rc;
}

static int spd_pattern(size_t n, const size_t *start, const size_t *rows, otad_error *err)
{
    otad_spd_pattern *p = NULL;
    int rc = otad_spd_pattern_new(&p, n, start, rows, err);
    otad_spd_pattern_free(&p);
    return rc;
}

static otad_var spd_values(otad_tape *t, double x)
{
    return otad_const_fill(t, 7, 1, x);
}

static otad_kernel grid_kernel(otad_tape *t, size_t dims, size_t a, size_t b, size_t c,
                               double eps)
{
    size_t shape[3] = {a, b, c};
    return otad_kernel_grid(t, dims, shape, eps);
}

#define OPS_ROWS(X) \
X(add_null_tape, otad_add, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_add(NULL, f->h3, f->h3));) \
X(add_invalid, otad_add, "the zero handle", OTAD_EINVAL, "input 1 is not a node", VAR, return otad_add(t, f->h3, f->invalid);) \
X(add_stale, otad_add, "a handle from before a reset", OTAD_EINVAL, "input 0 is not a node", VAR, return otad_add(t, f->stale, f->h3);) \
X(add_shapes, otad_add, "3x1 and 2x1", OTAD_ESHAPE, "cannot broadcast 3x1 with 2x1", VAR, return otad_add(t, f->h3, f->h2);) \
X(sub_null_tape, otad_sub, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sub(NULL, f->h3, f->h3));) \
X(sub_shapes, otad_sub, "3x1 and 3x3 columns of 3x2", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_sub(t, f->c33, f->p32);) \
X(sub_invalid, otad_sub, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_sub(t, f->invalid, f->h3);) \
X(mul_null_tape, otad_mul, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_mul(NULL, f->h3, f->h3));) \
X(mul_shapes, otad_mul, "2x1 and 3x2", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_mul(t, f->h2, f->p32);) \
X(mul_invalid, otad_mul, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_mul(t, f->h3, f->invalid);) \
X(div_null_tape, otad_div, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_div(NULL, f->h3, f->h3));) \
X(div_zero, otad_div, "a zero divisor", OTAD_EDOMAIN, "zero", VAR, return otad_div(t, f->h3, f->zero3);) \
X(div_shapes, otad_div, "3x1 by 2x1", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_div(t, f->h3, f->h2);) \
X(div_invalid, otad_div, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_div(t, f->invalid, f->h3);) \
X(xlogy_null_tape, otad_xlogy, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_xlogy(NULL, f->h3, f->h3));) \
X(xlogy_domain, otad_xlogy, "y negative where x is not 0", OTAD_EDOMAIN, "xlogy", VAR, return otad_xlogy(t, f->h3, f->neg3);) \
X(xlogy_shapes, otad_xlogy, "3x1 and 2x1", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_xlogy(t, f->h3, f->h2);) \
X(xlogy_invalid, otad_xlogy, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_xlogy(t, f->h3, f->invalid);) \
X(scale_null_tape, otad_scale, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_scale(NULL, f->h3, 2));) \
X(scale_nan, otad_scale, "alpha NaN", OTAD_EDOMAIN, "factor nan is not finite", VAR, return otad_scale(t, f->h3, NAN);) \
X(scale_inf, otad_scale, "alpha inf", OTAD_EDOMAIN, "factor inf is not finite", VAR, return otad_scale(t, f->h3, INFINITY);) \
X(scale_invalid, otad_scale, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_scale(t, f->invalid, 2);) \
X(exp_null_tape, otad_exp, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_exp(NULL, f->h3));) \
X(exp_invalid, otad_exp, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_exp(t, f->invalid);) \
X(exp_overflow, otad_exp, "exp(1000)", OTAD_ERANGE, "non-finite", VAR, return otad_exp(t, otad_const_fill(t, 1, 1, 1000));) \
X(log_null_tape, otad_log, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_log(NULL, f->h3));) \
X(log_negative, otad_log, "a negative entry", OTAD_EDOMAIN, "log", VAR, return otad_log(t, f->neg3);) \
X(log_zero, otad_log, "a zero entry", OTAD_EDOMAIN, "log", VAR, return otad_log(t, f->zero3);) \
X(log_invalid, otad_log, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_log(t, f->invalid);) \
X(pow_null_tape, otad_pow, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_pow(NULL, f->h3, 2));) \
X(pow_negative, otad_pow, "a negative base, p 0.5", OTAD_EDOMAIN, "pow", VAR, return otad_pow(t, f->neg3, 0.5);) \
X(pow_zero, otad_pow, "a zero base, p -1", OTAD_EDOMAIN, "pow", VAR, return otad_pow(t, f->zero3, -1);) \
X(pow_nan, otad_pow, "p NaN", OTAD_EDOMAIN, "p", VAR, return otad_pow(t, f->h3, NAN);) \
X(pow_invalid, otad_pow, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_pow(t, f->invalid, 2);) \
X(expm1_null_tape, otad_expm1, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_expm1(NULL, f->h3));) \
X(expm1_invalid, otad_expm1, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_expm1(t, f->invalid);) \
X(tanh_null_tape, otad_tanh, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_tanh(NULL, f->h3));) \
X(tanh_invalid, otad_tanh, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_tanh(t, f->invalid);) \
X(gather_rows_null_tape, otad_gather_rows, "tape NULL", NEUTRAL, "an invalid handle", IS, static const size_t i[1] = {0}; return !otad_var_valid(otad_gather_rows(NULL, f->h3, 1, i));) \
X(gather_rows_invalid, otad_gather_rows, "the zero handle", OTAD_EINVAL, "not a node", VAR, static const size_t i[1] = {0}; return otad_gather_rows(t, f->invalid, 1, i);) \
X(gather_rows_index_null, otad_gather_rows, "index NULL", OTAD_EINVAL, "index is NULL", VAR, return otad_gather_rows(t, f->h3, 1, NULL);) \
X(gather_rows_range, otad_gather_rows, "index 3 of 3 rows", OTAD_EINVAL, "index[1] is 3, must be below 3", VAR, static const size_t i[2] = {0, 3}; return otad_gather_rows(t, f->h3, 2, i);) \
X(scatter_add_rows_null_tape, otad_scatter_add_rows, "tape NULL", NEUTRAL, "an invalid handle", IS, static const size_t i[3] = {0, 1, 0}; return !otad_var_valid(otad_scatter_add_rows(NULL, f->h3, 2, i));) \
X(scatter_add_rows_invalid, otad_scatter_add_rows, "the zero handle", OTAD_EINVAL, "not a node", VAR, static const size_t i[3] = {0, 1, 0}; return otad_scatter_add_rows(t, f->invalid, 2, i);) \
X(scatter_add_rows_range, otad_scatter_add_rows, "index 2 of 2 rows", OTAD_EINVAL, "index[2] is 2, must be below 2", VAR, static const size_t i[3] = {0, 1, 2}; return otad_scatter_add_rows(t, f->h3, 2, i);) \
X(gather_null_tape, otad_gather, "tape NULL", NEUTRAL, "an invalid handle", IS, static const size_t i[1] = {0}; return !otad_var_valid(otad_gather(NULL, f->h3, 1, i));) \
X(gather_invalid, otad_gather, "the zero handle", OTAD_EINVAL, "not a node", VAR, static const size_t i[1] = {0}; return otad_gather(t, f->invalid, 1, i);) \
X(gather_none, otad_gather, "n 0", OTAD_EINVAL, "no indices", VAR, static const size_t i[1] = {0}; return otad_gather(t, f->h3, 0, i);) \
X(scatter_add_null_tape, otad_scatter_add, "tape NULL", NEUTRAL, "an invalid handle", IS, static const size_t i[3] = {0, 1, 0}; return !otad_var_valid(otad_scatter_add(NULL, f->h3, 2, 2, i));) \
X(scatter_add_invalid, otad_scatter_add, "the zero handle", OTAD_EINVAL, "not a node", VAR, static const size_t i[3] = {0, 1, 0}; return otad_scatter_add(t, f->invalid, 2, 2, i);) \
X(scatter_add_range, otad_scatter_add, "index 4 of 2x2 entries", OTAD_EINVAL, "index[0] is 4, must be below 4", VAR, static const size_t i[3] = {4, 1, 0}; return otad_scatter_add(t, f->h3, 2, 2, i);) \
X(tv_null_tape, otad_total_variation, "tape NULL", NEUTRAL, "an invalid handle", IS, static const size_t d[1] = {3}; return !otad_var_valid(otad_total_variation(NULL, f->h3, 1, d, 0.1, 0));) \
X(tv_invalid, otad_total_variation, "the zero handle", OTAD_EINVAL, "not a node", VAR, static const size_t d[1] = {3}; return otad_total_variation(t, f->invalid, 1, d, 0.1, 0);) \
X(tv_dims_null, otad_total_variation, "dims NULL", OTAD_EINVAL, "dims is NULL", VAR, return otad_total_variation(t, f->h3, 1, NULL, 0.1, 0);) \
X(tv_axes, otad_total_variation, "n_axes 4", OTAD_EINVAL, "n_axes must be 1 to 3", VAR, static const size_t d[4] = {3, 1, 1, 1}; return otad_total_variation(t, f->h3, 4, d, 0.1, 0);) \
X(tv_grid, otad_total_variation, "a 2x2 grid for 3 rows", OTAD_ESHAPE, "the grid 4 points", VAR, static const size_t d[2] = {2, 2}; return otad_total_variation(t, f->h3, 2, d, 0.1, 1);) \
X(tv_eta, otad_total_variation, "eta 0", OTAD_EDOMAIN, "eta is 0", VAR, static const size_t d[1] = {3}; return otad_total_variation(t, f->h3, 1, d, 0, 0);) \
X(sigmoid_null_tape, otad_sigmoid, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sigmoid(NULL, f->h3));) \
X(sigmoid_invalid, otad_sigmoid, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_sigmoid(t, f->invalid);) \
X(softplus_null_tape, otad_softplus, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_softplus(NULL, f->h3));) \
X(softplus_invalid, otad_softplus, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_softplus(t, f->invalid);) \
X(sqrt_null_tape, otad_sqrt, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sqrt(NULL, f->h3));) \
X(sqrt_invalid, otad_sqrt, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_sqrt(t, f->invalid);) \
X(abs_null_tape, otad_abs, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_abs(NULL, f->h3));) \
X(abs_invalid, otad_abs, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_abs(t, f->invalid);) \
X(relu_null_tape, otad_relu, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_relu(NULL, f->h3));) \
X(relu_invalid, otad_relu, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_relu(t, f->invalid);) \
X(mean_null_tape, otad_mean, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_mean(NULL, f->h3));) \
X(mean_invalid, otad_mean, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_mean(t, f->invalid);) \
X(mean_cols_null_tape, otad_mean_cols, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_mean_cols(NULL, f->h3));) \
X(mean_cols_invalid, otad_mean_cols, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_mean_cols(t, f->invalid);) \
X(mean_rows_null_tape, otad_mean_rows, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_mean_rows(NULL, f->h3));) \
X(mean_rows_invalid, otad_mean_rows, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_mean_rows(t, f->invalid);) \
X(sqrt_negative, otad_sqrt, "a negative entry", OTAD_EDOMAIN, "not ≥ 0", VAR, return otad_sqrt(t, f->neg3);) \
X(clip_null_tape, otad_clip, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_clip(NULL, f->h3, 0, 1));) \
X(clip_invalid, otad_clip, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_clip(t, f->invalid, 0, 1);) \
X(clip_bounds, otad_clip, "lo 1 > hi 0", OTAD_EDOMAIN, "lo ≤ hi", VAR, return otad_clip(t, f->h3, 1, 0);) \
X(clip_nan, otad_clip, "hi NaN", OTAD_EDOMAIN, "lo ≤ hi", VAR, return otad_clip(t, f->h3, 0, NAN);) \
X(huber_null_tape, otad_huber, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_huber(NULL, f->h3, 1));) \
X(huber_invalid, otad_huber, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_huber(t, f->invalid, 1);) \
X(huber_delta, otad_huber, "delta 0", OTAD_EDOMAIN, "delta", VAR, return otad_huber(t, f->h3, 0);) \
X(huber_delta_inf, otad_huber, "delta inf", OTAD_EDOMAIN, "delta", VAR, return otad_huber(t, f->h3, INFINITY);) \
X(maximum_null_tape, otad_maximum, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_maximum(NULL, f->h3, f->h3));) \
X(maximum_shapes, otad_maximum, "3x1 and 2x1", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_maximum(t, f->h3, f->h2);) \
X(maximum_invalid, otad_maximum, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_maximum(t, f->h3, f->invalid);) \
X(minimum_null_tape, otad_minimum, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_minimum(NULL, f->h3, f->h3));) \
X(minimum_shapes, otad_minimum, "3x1 and 2x1", OTAD_ESHAPE, "cannot broadcast", VAR, return otad_minimum(t, f->h3, f->h2);) \
X(minimum_invalid, otad_minimum, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_minimum(t, f->h3, f->invalid);) \
X(sum_null_tape, otad_sum, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sum(NULL, f->h3));) \
X(sum_invalid, otad_sum, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_sum(t, f->invalid);) \
X(sum_cols_null_tape, otad_sum_cols, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sum_cols(NULL, f->h3));) \
X(sum_cols_stale, otad_sum_cols, "a handle from before a reset", OTAD_EINVAL, "not a node", VAR, return otad_sum_cols(t, f->stale);) \
X(dot_null_tape, otad_dot, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_dot(NULL, f->h3, f->h3));) \
X(dot_shapes, otad_dot, "3x1 and 2x1", OTAD_ESHAPE, "3x1", VAR, return otad_dot(t, f->h3, f->h2);) \
X(dot_invalid, otad_dot, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_dot(t, f->invalid, f->h3);) \
X(softmax_null_tape, otad_softmax, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_softmax(NULL, f->h3));) \
X(softmax_invalid, otad_softmax, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_softmax(t, f->invalid);) \
X(logsumexp_null_tape, otad_logsumexp, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_logsumexp(NULL, f->h3));) \
X(logsumexp_invalid, otad_logsumexp, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_logsumexp(t, f->invalid);) \
X(matmul_null_tape, otad_matmul, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_matmul(NULL, f->c33, 0, f->h3, 0));) \
X(matmul_shapes, otad_matmul, "3x3 by 2x1", OTAD_ESHAPE, "3x3", VAR, return otad_matmul(t, f->c33, 0, f->h2, 0);) \
X(matmul_transposed, otad_matmul, "3x1 transposed by 3x3 transposed", OTAD_ESHAPE, "matmul", VAR, return otad_matmul(t, f->h3, 1, f->p32, 1);) \
X(matmul_invalid, otad_matmul, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_matmul(t, f->c33, 0, f->invalid, 0);) \
X(hcat_null_tape, otad_hcat, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_hcat(NULL, 1, &f->h3));) \
X(hcat_none, otad_hcat, "n 0", OTAD_EINVAL, "nothing to concatenate", VAR, return otad_hcat(t, 0, &f->h3);) \
X(hcat_null, otad_hcat, "xs NULL", OTAD_EINVAL, "missing inputs", VAR, return otad_hcat(t, 2, NULL);) \
X(hcat_rows, otad_hcat, "3 rows beside 2", OTAD_ESHAPE, "input 1 is 2x1, input 0 is 3x1", VAR, otad_var xs[2] = {f->h3, f->h2}; return otad_hcat(t, 2, xs);) \
X(hcat_invalid, otad_hcat, "the zero handle", OTAD_EINVAL, "input 1 is not a node", VAR, otad_var xs[2] = {f->h3, f->invalid}; return otad_hcat(t, 2, xs);) \
X(vcat_null_tape, otad_vcat, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_vcat(NULL, 1, &f->h3));) \
X(vcat_none, otad_vcat, "n 0", OTAD_EINVAL, "nothing to concatenate", VAR, return otad_vcat(t, 0, &f->h3);) \
X(vcat_null, otad_vcat, "xs NULL", OTAD_EINVAL, "missing inputs", VAR, return otad_vcat(t, 2, NULL);) \
X(vcat_cols, otad_vcat, "1 column above 2", OTAD_ESHAPE, "input 1 is 3x2, input 0 is 3x1", VAR, otad_var xs[2] = {f->h3, f->p32}; return otad_vcat(t, 2, xs);) \
X(slice_null_tape, otad_slice, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_slice(NULL, f->c33, 0, 1, 0, 1));) \
X(slice_empty, otad_slice, "0 rows", OTAD_ESHAPE, "slice", VAR, return otad_slice(t, f->c33, 0, 0, 0, 1);) \
X(slice_beyond, otad_slice, "rows 2..4 of 3", OTAD_ESHAPE, "slice", VAR, return otad_slice(t, f->c33, 2, 2, 0, 1);) \
X(slice_wrap, otad_slice, "row SIZE_MAX, 2 rows", OTAD_ESHAPE, "slice", VAR, return otad_slice(t, f->c33, SIZE_MAX, 2, 0, 1);) \
X(slice_wrap_cols, otad_slice, "col SIZE_MAX, 2 columns", OTAD_ESHAPE, "slice", VAR, return otad_slice(t, f->c33, 0, 1, SIZE_MAX, 2);) \
X(slice_invalid, otad_slice, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_slice(t, f->invalid, 0, 1, 0, 1);) \
X(cols_null_tape, otad_cols, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_cols(NULL, f->c33, 0, 1));) \
X(cols_empty, otad_cols, "count 0", OTAD_ESHAPE, "3x0", VAR, return otad_cols(t, f->c33, 0, 0);) \
X(cols_beyond, otad_cols, "columns 2..4 of 3", OTAD_ESHAPE, "outside a 3x3 value", VAR, return otad_cols(t, f->c33, 2, 2);) \
X(cols_wrap, otad_cols, "first SIZE_MAX, 2 columns", OTAD_ESHAPE, "outside a 3x3 value", VAR, return otad_cols(t, f->c33, SIZE_MAX, 2);) \
X(reshape_null_tape, otad_reshape, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_reshape(NULL, f->h3, 1, 3));) \
X(reshape_size, otad_reshape, "3 entries as 2x2", OTAD_ESHAPE, "reshape", VAR, return otad_reshape(t, f->h3, 2, 2);) \
X(reshape_zero, otad_reshape, "0x3", OTAD_ESHAPE, "reshape", VAR, return otad_reshape(t, f->h3, 0, 3);) \
X(reshape_wrap, otad_reshape, "9 entries as (2^62+1)x4, which wraps to 4", OTAD_ESHAPE, "reshape", VAR, return otad_reshape(t, f->c33, ((size_t)1 << 62) + 1, 4);) \
X(reshape_invalid, otad_reshape, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_reshape(t, f->invalid, 1, 1);) \
X(repeat_cols_null_tape, otad_repeat_cols, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_repeat_cols(NULL, f->h3, 2));) \
X(repeat_cols_zero, otad_repeat_cols, "times 0", OTAD_EINVAL, "repeat_cols: cannot repeat 1 columns 0 times", VAR, return otad_repeat_cols(t, f->h3, 0);) \
X(repeat_cols_overflow, otad_repeat_cols, "times SIZE_MAX/2 of 3 columns", OTAD_EINVAL, "repeat_cols: cannot repeat 3 columns", VAR, return otad_repeat_cols(t, f->c33, SIZE_MAX / 2);) \
X(tile_cols_null_tape, otad_tile_cols, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_tile_cols(NULL, f->h3, 2));) \
X(tile_cols_zero, otad_tile_cols, "times 0", OTAD_EINVAL, "tile_cols: cannot repeat 1 columns 0 times", VAR, return otad_tile_cols(t, f->h3, 0);) \
X(tile_cols_overflow, otad_tile_cols, "times SIZE_MAX/2 of 3 columns", OTAD_EINVAL, "tile_cols: cannot repeat 3 columns", VAR, return otad_tile_cols(t, f->c33, SIZE_MAX / 2);) \
X(combine_null_tape, otad_combine_blocks, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_combine_blocks(NULL, f->c33, f->h3));) \
X(combine_shapes, otad_combine_blocks, "x 3x3, w 2x1", OTAD_ESHAPE, "combine", VAR, return otad_combine_blocks(t, f->c33, f->h2);) \
X(combine_invalid, otad_combine_blocks, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_combine_blocks(t, f->c33, f->invalid);) \
X(sqdist_null_tape, otad_sqdist, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sqdist(NULL, f->p32, f->p32));) \
X(sqdist_dims, otad_sqdist, "points in 2-D and 1-D", OTAD_ESHAPE, "sqdist", VAR, return otad_sqdist(t, f->p32, f->x3);) \
X(sqdist_invalid, otad_sqdist, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_sqdist(t, f->p32, f->invalid);) \
X(kernel_apply_null_tape, otad_kernel_apply, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_kernel_apply(NULL, f->k, 0, f->h3));) \
X(kernel_apply_invalid, otad_kernel_apply, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_kernel_apply(t, (otad_kernel){f->invalid}, 0, f->h3);) \
X(kernel_apply_not_kernel, otad_kernel_apply, "a node that is not a kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_kernel_apply(t, (otad_kernel){f->c33}, 0, f->h3);) \
X(kernel_apply_product, otad_kernel_apply, "product 99", OTAD_EINVAL, "product", VAR, return otad_kernel_apply(t, f->k, 99, f->h3);) \
X(kernel_apply_shape, otad_kernel_apply, "x 2x1 for K 3x3", OTAD_ESHAPE, "cannot apply it to 2 rows", VAR, return otad_kernel_apply(t, f->k, 0, f->h2);) \
X(kernel_apply_cost, otad_kernel_apply, "a cost product of the heat kernel", OTAD_EINVAL, "cost", VAR, return otad_kernel_apply(t, heat(t, f), OTAD_KERNEL_COST, otad_const_fill(t, 9, 1, 1));) \
X(kernel_apply_x, otad_kernel_apply, "x the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_kernel_apply(t, f->k, 0, f->invalid);) \
X(kernel_pair_null_tape, otad_kernel_scaling_pair, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_kernel_scaling_pair(NULL, f->k, 0, f->h3, f->h3b));) \
X(kernel_pair_invalid, otad_kernel_scaling_pair, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_kernel_scaling_pair(t, (otad_kernel){f->invalid}, 0, f->h3, f->h3b);) \
X(kernel_pair_product, otad_kernel_scaling_pair, "product 99", OTAD_EINVAL, "product", VAR, return otad_kernel_scaling_pair(t, f->k, 99, f->h3, f->h3b);) \
X(kernel_pair_x_shape, otad_kernel_scaling_pair, "x 2x1 for K 3x3", OTAD_ESHAPE, "cannot apply it to 2 rows", VAR, return otad_kernel_scaling_pair(t, f->k, 0, f->h2, f->h3b);) \
X(kernel_pair_num_shape, otad_kernel_scaling_pair, "num 2x1 for K 3x3", OTAD_ESHAPE, "num is 2x1", VAR, return otad_kernel_scaling_pair(t, f->k, OTAD_KERNEL_TRANSPOSE, f->h3, f->h2);) \
X(kernel_pair_num, otad_kernel_scaling_pair, "num the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_kernel_scaling_pair(t, f->k, 0, f->h3, f->invalid);) \
X(kernel_pair_zero, otad_kernel_scaling_pair, "x zero: op(K)·x = 0", OTAD_ERANGE, "must be positive", VAR, return otad_kernel_scaling_pair(t, f->k, OTAD_KERNEL_TRANSPOSE, otad_const_fill(t, 3, 1, 0), f->h3b);) \
X(kernel_pair_power_null_tape, otad_kernel_scaling_pair_power, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_kernel_scaling_pair_power(NULL, f->k, 0, f->h3, f->h3b, 0.5));) \
X(kernel_pair_power_invalid, otad_kernel_scaling_pair_power, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_kernel_scaling_pair_power(t, (otad_kernel){f->invalid}, 0, f->h3, f->h3b, 0.5);) \
X(kernel_pair_power_zero, otad_kernel_scaling_pair_power, "lambda 0", OTAD_EINVAL, "lambda is 0", VAR, return otad_kernel_scaling_pair_power(t, f->k, 0, f->h3, f->h3b, 0);) \
X(kernel_pair_power_nan, otad_kernel_scaling_pair_power, "lambda NaN", OTAD_EINVAL, "lambda is nan", VAR, return otad_kernel_scaling_pair_power(t, f->k, 0, f->h3, f->h3b, NAN);) \
X(kernel_pair_power_infinite, otad_kernel_scaling_pair_power, "lambda infinite", OTAD_EINVAL, "finite and > 0", VAR, return otad_kernel_scaling_pair_power(t, f->k, 0, f->h3, f->h3b, INFINITY);) \
X(kernel_apply_log_null_tape, otad_kernel_apply_log, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_kernel_apply_log(NULL, f->k, 0, f->h3));) \
X(kernel_apply_log_none, otad_kernel_apply_log, "the heat kernel (no log domain)", OTAD_EINVAL, "log", VAR, return otad_kernel_apply_log(t, heat(t, f), 0, otad_const_fill(t, 9, 1, 1));) \
X(kernel_apply_log_product, otad_kernel_apply_log, "product 4", OTAD_EINVAL, "product", VAR, return otad_kernel_apply_log(t, f->k, 4, f->h3);) \
X(kernel_apply_log_invalid, otad_kernel_apply_log, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_kernel_apply_log(t, (otad_kernel){f->invalid}, 0, f->h3);) \
X(kernel_info_null, otad_kernel_info_of, "tape NULL", NEUTRAL, "zeroed", IS, return otad_kernel_info_of(NULL, f->k).rows == 0;) \
X(kernel_info_invalid, otad_kernel_info_of, "the zero kernel", NEUTRAL, "zeroed", IS, return otad_kernel_info_of(t, (otad_kernel){f->invalid}).rows == 0;) \
X(kernel_info_not_kernel, otad_kernel_info_of, "a node that is not a kernel", NEUTRAL, "zeroed", IS, return otad_kernel_info_of(t, (otad_kernel){f->c33}).rows == 0;) \
X(gibbs_null_tape, otad_kernel_gibbs, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(otad_kernel_gibbs(NULL, f->c33, 1).node);) \
X(gibbs_eps_zero, otad_kernel_gibbs, "eps 0", OTAD_EDOMAIN, "eps", KER, return otad_kernel_gibbs(t, f->c33, 0);) \
X(gibbs_eps_negative, otad_kernel_gibbs, "eps -1", OTAD_EDOMAIN, "eps", KER, return otad_kernel_gibbs(t, f->c33, -1);) \
X(gibbs_eps_nan, otad_kernel_gibbs, "eps NaN", OTAD_EDOMAIN, "eps", KER, return otad_kernel_gibbs(t, f->c33, NAN);) \
X(gibbs_eps_inf, otad_kernel_gibbs, "eps inf", OTAD_EDOMAIN, "eps", KER, return otad_kernel_gibbs(t, f->c33, INFINITY);) \
X(gibbs_invalid, otad_kernel_gibbs, "cost the zero handle", OTAD_EINVAL, "not a node", KER, return otad_kernel_gibbs(t, f->invalid, 1);) \
X(gibbs_points_null_tape, otad_kernel_gibbs_points, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(otad_kernel_gibbs_points(NULL, f->p32, f->p32, 1).node);) \
X(gibbs_points_dims, otad_kernel_gibbs_points, "points in 2-D and 1-D", OTAD_ESHAPE, "gibbs", KER, return otad_kernel_gibbs_points(t, f->p32, f->x3, 1);) \
X(gibbs_points_eps, otad_kernel_gibbs_points, "eps 0", OTAD_EDOMAIN, "eps", KER, return otad_kernel_gibbs_points(t, f->p32, f->p32, 0);) \
X(gibbs_points_invalid, otad_kernel_gibbs_points, "the zero handle", OTAD_EINVAL, "not a node", KER, return otad_kernel_gibbs_points(t, f->invalid, f->p32, 1);) \
X(online_null_tape, otad_kernel_points_online, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(otad_kernel_points_online(NULL, f->p32, f->p32, 1, 2).node);) \
X(online_dims, otad_kernel_points_online, "points in 2-D and 1-D", OTAD_ESHAPE, "dimension", KER, return otad_kernel_points_online(t, f->p32, f->x3, 1, 2);) \
X(online_eps, otad_kernel_points_online, "eps 0", OTAD_EDOMAIN, "eps", KER, return otad_kernel_points_online(t, f->p32, f->p32, 0, 2);) \
X(online_power, otad_kernel_points_online, "power 0.5", OTAD_EDOMAIN, "power", KER, return otad_kernel_points_online(t, f->p32, f->p32, 1, 0.5);) \
X(online_power_nan, otad_kernel_points_online, "power NaN", OTAD_EDOMAIN, "power", KER, return otad_kernel_points_online(t, f->p32, f->p32, 1, NAN);) \
X(online_invalid, otad_kernel_points_online, "the zero handle", OTAD_EINVAL, "not a node", KER, return otad_kernel_points_online(t, f->invalid, f->p32, 1, 2);) \
X(grid_null_tape, otad_kernel_grid, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(grid_kernel(NULL, 1, 3, 0, 0, 1).node);) \
X(grid_kernel_shape_null, otad_kernel_grid, "shape NULL", OTAD_EINVAL, "shape is NULL", KER, return otad_kernel_grid(t, 1, NULL, 1);) \
X(grid_dims_zero, otad_kernel_grid, "dims 0", OTAD_EINVAL, "0 dimensions", KER, return grid_kernel(t, 0, 3, 3, 3, 1);) \
X(grid_dims_four, otad_kernel_grid, "dims 4", OTAD_EINVAL, "4 dimensions", KER, return grid_kernel(t, 4, 3, 3, 3, 1);) \
X(grid_axis_one, otad_kernel_grid, "an axis of 1 point", OTAD_EINVAL, "axis", KER, return grid_kernel(t, 2, 3, 1, 0, 1);) \
X(grid_axis_large, otad_kernel_grid, "an axis of 65537 points", OTAD_EINVAL, "axis", KER, return grid_kernel(t, 1, 65537, 0, 0, 1);) \
X(grid_total, otad_kernel_grid, "2048x2048x1024 points", OTAD_EINVAL, "2^31", KER, return grid_kernel(t, 3, 2048, 2048, 1024, 1);) \
X(grid_eps_zero, otad_kernel_grid, "eps 0", OTAD_EDOMAIN, "eps", KER, return grid_kernel(t, 1, 3, 0, 0, 0);) \
X(grid_eps_nan, otad_kernel_grid, "eps NaN", OTAD_EDOMAIN, "eps", KER, return grid_kernel(t, 1, 3, 0, 0, NAN);) \
X(graph_new_null, otad_graph_new, "graph NULL", OTAD_EINVAL, "NULL", ERR, return otad_graph_new(NULL, 3, 2, PATH3, NULL, err);) \
X(graph_new_no_vertices, otad_graph_new, "0 vertices", OTAD_EINVAL, "vertices", ERR, return graph_new(0, 2, PATH3, NULL, err);) \
X(graph_new_ends_null, otad_graph_new, "ends NULL", OTAD_EINVAL, "ends is NULL", ERR, return graph_new(3, 2, NULL, NULL, err);) \
X(graph_new_outside, otad_graph_new, "an end at vertex 3 of 3", OTAD_EINVAL, "3", ERR, return graph_new(3, 2, OUTSIDE3, NULL, err);) \
X(graph_new_loop, otad_graph_new, "an edge from vertex 1 to itself", OTAD_EINVAL, "joins 1 and 1", ERR, return graph_new(3, 2, LOOP3, NULL, err);) \
X(graph_new_disconnected, otad_graph_new, "3 vertices, 1 edge", OTAD_EDOMAIN, "connected", ERR, return graph_new(3, 1, PATH3, NULL, err);) \
X(graph_new_scale, otad_graph_new, "a negative scale", OTAD_EDOMAIN, "scale", ERR, return graph_new(3, 2, PATH3, SCALE_NEG, err);) \
X(graph_new_scale_nan, otad_graph_new, "a NaN scale", OTAD_EDOMAIN, "scale", ERR, return graph_new(3, 2, PATH3, SCALE_NAN, err);) \
X(graph_new_overflow, otad_graph_new, "SIZE_MAX/2 edges", OTAD_EINVAL, "edges", ERR, return graph_new(3, SIZE_MAX / 2, PATH3, NULL, err);) \
X(grid2d_null, otad_graph_grid2d, "graph NULL", OTAD_EINVAL, "NULL", ERR, return otad_graph_grid2d(NULL, 3, 3, err);) \
X(grid2d_small, otad_graph_grid2d, "nx 1", OTAD_EINVAL, "axis 0 has 1 points", ERR, return grid_graph(1, 3, 0, err);) \
X(grid2d_zero, otad_graph_grid2d, "ny 0", OTAD_EINVAL, "axis 1 has 0 points", ERR, return grid_graph(3, 0, 0, err);) \
X(grid2d_overflow, otad_graph_grid2d, "SIZE_MAX/2 x 4", OTAD_EINVAL, "grid", ERR, return grid_graph(SIZE_MAX / 2, 4, 0, err);) \
X(grid3d_null, otad_graph_grid3d, "graph NULL", OTAD_EINVAL, "NULL", ERR, return otad_graph_grid3d(NULL, 3, 3, 3, err);) \
X(grid3d_zero, otad_graph_grid3d, "nz 1", OTAD_EINVAL, "axis 2 has 1 points", ERR, return grid_graph(3, 3, 1, err);) \
X(grid3d_overflow, otad_graph_grid3d, "2^22 x 2^22 x 2^22", OTAD_EINVAL, "grid", ERR, return grid_graph((size_t)1 << 22, (size_t)1 << 22, (size_t)1 << 22, err);) \
X(graph_vertices_null, otad_graph_vertices, "graph NULL", NEUTRAL, "0", IS, return otad_graph_vertices(NULL) == 0;) \
X(graph_edges_null, otad_graph_edges, "graph NULL", NEUTRAL, "0", IS, return otad_graph_edges(NULL) == 0;) \
X(graph_edge_null, otad_graph_edge, "graph NULL", NEUTRAL, "SIZE_MAX ends", IS, size_t i = 0, j = 0; otad_graph_edge(NULL, 0, &i, &j); return i == SIZE_MAX && j == SIZE_MAX;) \
X(graph_edge_outside, otad_graph_edge, "edge 12 of 12", NEUTRAL, "SIZE_MAX ends", IS, size_t i = 0, j = 0; otad_graph_edge(grid3x3, 12, &i, &j); return i == SIZE_MAX && j == SIZE_MAX;) \
X(graph_edge_out_null, otad_graph_edge, "i and j NULL", NEUTRAL, "nothing written", IS, otad_graph_edge(grid3x3, 0, NULL, NULL); return 1;) \
X(grid_shape_null, otad_graph_grid_shape, "graph NULL", NEUTRAL, "0 and zeros", IS, size_t s[3] = {7, 7, 7}; return otad_graph_grid_shape(NULL, s) == 0 && s[0] == 0 && s[2] == 0;) \
X(grid_shape_out_null, otad_graph_grid_shape, "shape NULL", NEUTRAL, "the number of axes", IS, return otad_graph_grid_shape(grid3x3, NULL) == 2;) \
X(set_neighbours_null, otad_graph_set_edge_neighbours, "graph NULL", OTAD_EINVAL, "graph is NULL", ERR, return otad_graph_set_edge_neighbours(NULL, PATH_START, PATH_LIST, err);) \
X(set_neighbours_start, otad_graph_set_edge_neighbours, "start NULL", OTAD_EINVAL, "start is NULL", ERR, otad_graph *g = NULL; otad_graph_new(&g, 3, 2, PATH3, NULL, NULL); int rc = otad_graph_set_edge_neighbours(g, NULL, PATH_LIST, err); otad_graph_free(&g); return rc;) \
X(set_neighbours_list, otad_graph_set_edge_neighbours, "list NULL", OTAD_EINVAL, "list is NULL", ERR, otad_graph *g = NULL; otad_graph_new(&g, 3, 2, PATH3, NULL, NULL); int rc = otad_graph_set_edge_neighbours(g, PATH_START, NULL, err); otad_graph_free(&g); return rc;) \
X(set_neighbours_falling, otad_graph_set_edge_neighbours, "start falling", OTAD_EINVAL, "start[2] = 0 is below start[1] = 1", ERR, otad_graph *g = NULL; otad_graph_new(&g, 3, 2, PATH3, NULL, NULL); int rc = otad_graph_set_edge_neighbours(g, FALLING_START, PATH_LIST, err); otad_graph_free(&g); return rc;) \
X(set_neighbours_outside, otad_graph_set_edge_neighbours, "neighbour 7 of 2 edges", OTAD_EINVAL, "7", ERR, otad_graph *g = NULL; otad_graph_new(&g, 3, 2, PATH3, NULL, NULL); int rc = otad_graph_set_edge_neighbours(g, PATH_START, BAD_LIST, err); otad_graph_free(&g); return rc;) \
X(neighbours_null, otad_graph_edge_neighbours, "graph NULL", OTAD_EINVAL, "graph", ERR, return edge_neighbours(NULL, 0, 0, 0, err);) \
X(neighbours_outside, otad_graph_edge_neighbours, "edge 12 of 12", OTAD_EINVAL, "12", ERR, return edge_neighbours(grid3x3, 12, 0, 0, err);) \
X(neighbours_list, otad_graph_edge_neighbours, "list NULL", OTAD_EINVAL, "list", ERR, return edge_neighbours(grid3x3, 0, 1, 0, err);) \
X(neighbours_count, otad_graph_edge_neighbours, "count NULL", OTAD_EINVAL, "count", ERR, return edge_neighbours(grid3x3, 0, 0, 1, err);) \
X(edge_differences_null_tape, otad_edge_differences, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_edge_differences(NULL, grid3x3, f->w12));) \
X(edge_differences_graph, otad_edge_differences, "graph NULL", OTAD_EINVAL, "no graph", VAR, return otad_edge_differences(t, NULL, f->w12);) \
X(edge_differences_shape, otad_edge_differences, "w 3x1 for 12 edges", OTAD_ESHAPE, "3x1", VAR, return otad_edge_differences(t, grid3x3, f->h3);) \
X(edge_differences_invalid, otad_edge_differences, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_edge_differences(t, grid3x3, f->invalid);) \
X(graph_free_null, otad_graph_free, "graph NULL", NEUTRAL, "nothing done", IS, otad_graph_free(NULL); return 1;) \
X(graph_free_null_graph, otad_graph_free, "*graph NULL", NEUTRAL, "nothing done", IS, otad_graph *g = NULL; otad_graph_free(&g); return g == NULL;) \
X(heat_null_tape, otad_kernel_heat, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(otad_kernel_heat(NULL, grid3x3, f->w12, 0.1, 2).node);) \
X(heat_graph, otad_kernel_heat, "graph NULL", OTAD_EINVAL, "no graph", KER, return otad_kernel_heat(t, NULL, f->w12, 0.1, 2);) \
X(heat_shape, otad_kernel_heat, "w 3x1 for 12 edges", OTAD_ESHAPE, "3x1", KER, return otad_kernel_heat(t, grid3x3, f->h3, 0.1, 2);) \
X(heat_eps, otad_kernel_heat, "eps 0", OTAD_EDOMAIN, "eps", KER, return otad_kernel_heat(t, grid3x3, f->w12, 0, 2);) \
X(heat_eps_nan, otad_kernel_heat, "eps NaN", OTAD_EDOMAIN, "eps", KER, return otad_kernel_heat(t, grid3x3, f->w12, NAN, 2);) \
X(heat_steps, otad_kernel_heat, "steps 0", OTAD_EDOMAIN, "steps 0 (eps > 0, steps ≥ 1)", KER, return otad_kernel_heat(t, grid3x3, f->w12, 0.1, 0);) \
X(heat_steps_negative, otad_kernel_heat, "steps -2", OTAD_EDOMAIN, "steps -2", KER, return otad_kernel_heat(t, grid3x3, f->w12, 0.1, -2);) \
X(heat_weight, otad_kernel_heat, "a zero weight", OTAD_EDOMAIN, "weight", KER, return otad_kernel_heat(t, grid3x3, otad_mul(t, f->w12, otad_const_fill(t, 12, 1, 0)), 0.1, 2);) \
X(heat_invalid, otad_kernel_heat, "w the zero handle", OTAD_EINVAL, "not a node", KER, return otad_kernel_heat(t, grid3x3, f->invalid, 0.1, 2);) \
X(spd_pattern_null, otad_spd_pattern_new, "pattern NULL", OTAD_EINVAL, "NULL", ERR, return otad_spd_pattern_new(NULL, 4, TRI_START, TRI_ROWS, err);) \
X(spd_pattern_empty, otad_spd_pattern_new, "n 0", OTAD_EINVAL, "n is 0", ERR, return spd_pattern(0, TRI_START, TRI_ROWS, err);) \
X(spd_pattern_start, otad_spd_pattern_new, "col_start NULL", OTAD_EINVAL, "col_start is NULL", ERR, return spd_pattern(4, NULL, TRI_ROWS, err);) \
X(spd_pattern_rows, otad_spd_pattern_new, "row NULL", OTAD_EINVAL, "row is NULL", ERR, return spd_pattern(4, TRI_START, NULL, err);) \
X(spd_pattern_diagonal, otad_spd_pattern_new, "no diagonal in column 0", OTAD_EINVAL, "diagonal", ERR, return spd_pattern(4, TRI_START, NO_DIAG_ROWS, err);) \
X(spd_pattern_outside, otad_spd_pattern_new, "row 9 of 4", OTAD_EINVAL, "not a lower triangle", ERR, return spd_pattern(4, TRI_START, FAR_ROWS, err);) \
X(spd_pattern_falling, otad_spd_pattern_new, "col_start falling", OTAD_EINVAL, "not a lower triangle", ERR, return spd_pattern(2, FALLING_START, TRI_ROWS, err);) \
X(spd_pattern_overflow, otad_spd_pattern_new, "n SIZE_MAX/2", OTAD_EINVAL, "must be 1 to 2^30", ERR, return spd_pattern(SIZE_MAX / 2, TRI_START, TRI_ROWS, err);) \
X(spd_pattern_free_null, otad_spd_pattern_free, "pattern NULL", NEUTRAL, "nothing done", IS, otad_spd_pattern_free(NULL); otad_spd_pattern *p = NULL; otad_spd_pattern_free(&p); return 1;) \
X(spd_solve_null_tape, otad_spd_solve, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_spd_solve(NULL, tridiagonal, spd_values(t, 4), f->h3));) \
X(spd_solve_pattern, otad_spd_solve, "pattern NULL", OTAD_EINVAL, "no pattern", VAR, return otad_spd_solve(t, NULL, spd_values(t, 4), otad_const_fill(t, 4, 1, 1));) \
X(spd_solve_values, otad_spd_solve, "3 values for 7 entries", OTAD_ESHAPE, "3x1", VAR, return otad_spd_solve(t, tridiagonal, f->h3, otad_const_fill(t, 4, 1, 1));) \
X(spd_solve_b, otad_spd_solve, "b 3x1 for A 4x4", OTAD_ESHAPE, "right-hand side has 3 rows", VAR, return otad_spd_solve(t, tridiagonal, spd_values(t, 4), f->h3);) \
X(spd_solve_not_pd, otad_spd_solve, "A not positive definite", OTAD_ENOTPOSDEF, "positive definite", VAR, return otad_spd_solve(t, tridiagonal, spd_values(t, 1), otad_const_fill(t, 4, 1, 1));) \
X(spd_solve_invalid, otad_spd_solve, "b the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_spd_solve(t, tridiagonal, spd_values(t, 4), f->invalid);) \
X(loss_l1_null_tape, otad_loss_l1, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_loss_l1(NULL, f->h3, f->h3));) \
X(loss_l1_shapes, otad_loss_l1, "3x1 and 2x1", OTAD_ESHAPE, "2x1", VAR, return otad_loss_l1(t, f->h3, f->h2);) \
X(loss_l1_invalid, otad_loss_l1, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_loss_l1(t, f->h3, f->invalid);) \
X(loss_l2_null_tape, otad_loss_l2, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_loss_l2(NULL, f->h3, f->h3));) \
X(loss_l2_shapes, otad_loss_l2, "3x1 and 3x3", OTAD_ESHAPE, "3x3", VAR, return otad_loss_l2(t, f->h3, f->c33);) \
X(loss_l2_invalid, otad_loss_l2, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_loss_l2(t, f->invalid, f->h3);) \
X(loss_kl_null_tape, otad_loss_kl, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_loss_kl(NULL, f->h3, f->h3));) \
X(loss_kl_q_zero, otad_loss_kl, "q with a zero entry", OTAD_EDOMAIN, "q", VAR, return otad_loss_kl(t, f->h3, f->zero3);) \
X(loss_kl_p_negative, otad_loss_kl, "p with a negative entry", OTAD_EDOMAIN, "p", VAR, return otad_loss_kl(t, f->neg3, f->h3);) \
X(loss_kl_shapes, otad_loss_kl, "3x1 and 2x1", OTAD_ESHAPE, "2x1", VAR, return otad_loss_kl(t, f->h3, f->h2);) \
X(kernel_new_null_tape, otad_kernel_new, "tape NULL", NEUTRAL, "an invalid kernel", IS, return !otad_var_valid(otad_kernel_new(NULL, &identity_class, NULL, 0, NULL).node);) \
X(kernel_new_class, otad_kernel_new, "cls NULL", OTAD_EINVAL, "cls is NULL", KER, return otad_kernel_new(t, NULL, NULL, 0, NULL);) \
X(kernel_new_setup, otad_kernel_new, "a class without setup", OTAD_EINVAL, "setup", KER, return otad_kernel_new(t, &class_without_setup, NULL, 0, NULL);) \
X(kernel_new_apply, otad_kernel_new, "a class without apply", OTAD_EINVAL, "apply", KER, return otad_kernel_new(t, &class_without_apply, NULL, 0, NULL);) \
X(kernel_new_name, otad_kernel_new, "a class without a name", OTAD_EINVAL, "name", KER, return otad_kernel_new(t, &class_without_name, NULL, 0, NULL);) \
X(kernel_new_vjp, otad_kernel_new, "a parameter, no vjp", OTAD_EINVAL, "vjp", KER, return otad_kernel_new(t, &class_without_vjp, NULL, 1, &f->h3);) \
X(kernel_new_vjp_log, otad_kernel_new, "apply_log without vjp_log", OTAD_EINVAL, "vjp_log", KER, return otad_kernel_new(t, &class_log_without_vjp, NULL, 0, NULL);) \
X(kernel_new_many, otad_kernel_new, "5 parameters", OTAD_EINVAL, "parameters", KER, otad_var p[5] = {f->h3, f->h3, f->h3, f->h3, f->h3}; return otad_kernel_new(t, &identity_class, NULL, 5, p);) \
X(kernel_new_params, otad_kernel_new, "params NULL, n_params 1", OTAD_EINVAL, "params is NULL", KER, return otad_kernel_new(t, &identity_class, NULL, 1, NULL);) \
X(kernel_new_invalid, otad_kernel_new, "a parameter the zero handle", OTAD_EINVAL, "not a node", KER, return otad_kernel_new(t, &identity_class, NULL, 1, &f->invalid);) \
X(kernel_inputs_null, otad_kernel_inputs, "tape NULL", NEUTRAL, "0", IS, otad_var in[OTAD_KERNEL_MAX_INPUTS]; return otad_kernel_inputs(NULL, f->k, in) == 0;) \
X(kernel_inputs_out_null, otad_kernel_inputs, "inputs NULL", OTAD_EINVAL, "inputs is NULL", RC, return otad_kernel_inputs(t, f->k, NULL) == 0 ? otad_tape_status(t) : INCONSISTENT;) \
X(kernel_inputs_invalid, otad_kernel_inputs, "the zero kernel", OTAD_EINVAL, "not a kernel", RC, otad_var in[OTAD_KERNEL_MAX_INPUTS]; return otad_kernel_inputs(t, (otad_kernel){f->invalid}, in) == 0 ? otad_tape_status(t) : INCONSISTENT;) \
X(handle_of_null, otad_kernel_handle_of, "tape NULL", NEUTRAL, "NULL", IS, return otad_kernel_handle_of(NULL, f->k) == NULL;) \
X(handle_of_invalid, otad_kernel_handle_of, "the zero kernel", OTAD_EINVAL, "not a kernel", PTR, return otad_kernel_handle_of(t, (otad_kernel){f->invalid});) \
X(handle_of_not_kernel, otad_kernel_handle_of, "a node that is not a kernel", OTAD_EINVAL, "not a kernel", PTR, return otad_kernel_handle_of(t, (otad_kernel){f->h3});) \
X(handle_info_null, otad_kernel_handle_info, "k NULL", NEUTRAL, "zeroed", IS, return otad_kernel_handle_info(NULL).rows == 0;) \
X(grads_at_null, otad_kernel_grads_at, "ctx and k NULL", NEUTRAL, "no parameters", IS, return otad_kernel_grads_at(NULL, NULL, 0).n_params == 0;) \
X(call_null, otad_kernel_call, "ctx NULL", OTAD_EINVAL, "", CODE, double x[3] = {1, 1, 1}, y[3]; return otad_kernel_call(NULL, otad_kernel_handle_of(t, f->k), 0, 1, x, 0, y);) \
X(call_handle, otad_kernel_call, "k NULL", OTAD_EINVAL, "kernel is NULL", VAR, return run_probe(t, f, PROBE_CALL_HANDLE, f->k);) \
X(call_product, otad_kernel_call, "product 99", OTAD_EINVAL, "product", VAR, return run_probe(t, f, PROBE_CALL_PRODUCT, f->k);) \
X(call_ncols, otad_kernel_call, "ncols 0", OTAD_EINVAL, "ncols", VAR, return run_probe(t, f, PROBE_CALL_NCOLS, f->k);) \
X(call_x, otad_kernel_call, "x NULL", OTAD_EINVAL, "x is NULL", VAR, return run_probe(t, f, PROBE_CALL_X, f->k);) \
X(call_cost, otad_kernel_call, "a cost product of the heat kernel", OTAD_EINVAL, "cost", VAR, return run_probe(t, f, PROBE_CALL_COST, heat(t, f));) \
X(call_vjp_null, otad_kernel_call_vjp, "ctx NULL", OTAD_EINVAL, "", CODE, otad_kernel_vjp_args a = {0}; otad_kernel_grads g = {0}; return otad_kernel_call_vjp(NULL, otad_kernel_handle_of(t, f->k), &a, &g);) \
X(call_vjp_args, otad_kernel_call_vjp, "args NULL", OTAD_EINVAL, "args is NULL", VAR, return run_probe(t, f, PROBE_CALL_VJP_ARGS, f->k);) \
X(ot_1d_null_tape, otad_ot_1d, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_ot_1d(NULL, f->x3, f->h3, f->x3, f->h3b, 2));) \
X(ot_1d_p_small, otad_ot_1d, "p 0.5", OTAD_EDOMAIN, "p", VAR, return otad_ot_1d(t, f->x3, f->h3, f->x3, f->h3b, 0.5);) \
X(ot_1d_p_nan, otad_ot_1d, "p NaN", OTAD_EDOMAIN, "p", VAR, return otad_ot_1d(t, f->x3, f->h3, f->x3, f->h3b, NAN);) \
X(ot_1d_negative, otad_ot_1d, "a negative mass", OTAD_EDOMAIN, "negative", VAR, return otad_ot_1d(t, f->x3, f->neg3, f->x3, f->h3b, 2);) \
X(ot_1d_masses, otad_ot_1d, "masses 1 and 2", OTAD_EDOMAIN, "mass", VAR, return otad_ot_1d(t, f->x3, f->h3, f->x3, otad_scale(t, f->h3b, 2), 2);) \
X(ot_1d_shapes, otad_ot_1d, "3 points, 2 masses", OTAD_ESHAPE, "2x1", VAR, return otad_ot_1d(t, f->x3, f->h2, f->x3, f->h3b, 2);) \
X(ot_1d_columns, otad_ot_1d, "points 3x2", OTAD_ESHAPE, "3x2", VAR, return otad_ot_1d(t, f->p32, f->h3, f->x3, f->h3b, 2);) \
X(ot_1d_invalid, otad_ot_1d, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_ot_1d(t, f->x3, f->h3, f->invalid, f->h3b, 2);) \
X(ot_1d_plan_empty, otad_ot_1d_plan, "n 0", OTAD_EINVAL, "n", ERR, return plan_1d(0, X3, H3, 2, 0, err);) \
X(ot_1d_plan_x, otad_ot_1d_plan, "x NULL", OTAD_EINVAL, "x is NULL", ERR, return plan_1d(3, NULL, H3, 2, 0, err);) \
X(ot_1d_plan_plan, otad_ot_1d_plan, "plan NULL", OTAD_EINVAL, "plan is NULL", ERR, return otad_ot_1d_plan(3, X3, H3, 3, X3, H3B, 2, NULL, err);) \
X(ot_1d_plan_rows, otad_ot_1d_plan, "plan->row NULL", OTAD_EINVAL, "row is NULL", ERR, return plan_1d(3, X3, H3, 2, 1, err);) \
X(ot_1d_plan_nan, otad_ot_1d_plan, "a NaN point", OTAD_EDOMAIN, "nan", ERR, return plan_1d(3, NAN3, H3, 2, 0, err);) \
X(ot_1d_plan_negative, otad_ot_1d_plan, "a negative mass", OTAD_EDOMAIN, "negative", ERR, return plan_1d(3, X3, NEG3, 2, 0, err);) \
X(ot_1d_plan_inf, otad_ot_1d_plan, "an infinite mass", OTAD_EDOMAIN, "inf", ERR, return plan_1d(3, X3, INF3, 2, 0, err);) \
X(ot_1d_plan_masses, otad_ot_1d_plan, "masses 1 and 2", OTAD_EDOMAIN, "mass", ERR, static const double two[3] = {1, 0.5, 0.5}; return plan_1d(3, X3, two, 2, 0, err);) \
X(ot_1d_plan_p, otad_ot_1d_plan, "p 0.5", OTAD_EDOMAIN, "p", ERR, return plan_1d(3, X3, H3, 0.5, 0, err);) \
X(ot_1d_plan_overflow, otad_ot_1d_plan, "n SIZE_MAX", OTAD_EINVAL, "too large", ERR, return plan_1d(SIZE_MAX, X3, H3, 2, 0, err);) \
X(gaussian_w2_null_tape, otad_gaussian_w2, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_gaussian_w2(NULL, f->m2, f->eye2, f->m2, f->eye2));) \
X(gaussian_w2_shapes, otad_gaussian_w2, "m1 3x1 with S1 2x2", OTAD_ESHAPE, "3x1", VAR, return otad_gaussian_w2(t, f->h3, f->eye2, f->m2, f->eye2);) \
X(gaussian_w2_not_pd, otad_gaussian_w2, "S2 not positive definite", OTAD_ENOTPOSDEF, "positive definite", VAR, return otad_gaussian_w2(t, f->m2, f->eye2, f->m2, f->notpd2);) \
X(gaussian_w2_invalid, otad_gaussian_w2, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_gaussian_w2(t, f->m2, f->eye2, f->m2, f->invalid);) \
X(gaussian_map_empty, otad_gaussian_map, "d 0", OTAD_EINVAL, "d", ERR, return gaussian_map(0, EYE2, EYE2, err);) \
X(gaussian_map_null, otad_gaussian_map, "S1 NULL", OTAD_EINVAL, "S1 is NULL", ERR, return gaussian_map(2, NULL, EYE2, err);) \
X(gaussian_map_out, otad_gaussian_map, "T NULL", OTAD_EINVAL, "T is NULL", ERR, return otad_gaussian_map(2, EYE2, EYE2, NULL, err);) \
X(gaussian_map_nan, otad_gaussian_map, "a NaN in S2", OTAD_EDOMAIN, "nan", ERR, return gaussian_map(2, EYE2, NAN2, err);) \
X(gaussian_map_not_pd, otad_gaussian_map, "S1 not positive definite", OTAD_ENOTPOSDEF, "positive definite", ERR, return gaussian_map(2, NOTPD2, EYE2, err);) \
X(gaussian_map_overflow, otad_gaussian_map, "d SIZE_MAX/2", OTAD_EINVAL, "d", ERR, return gaussian_map(SIZE_MAX / 2, EYE2, EYE2, err);)

/* ---- solvers/solvers.h ------------------------------------------------------------- */

static otad_sinkhorn_opts sk_opts(void)
{
    otad_sinkhorn_opts o;
    otad_sinkhorn_opts_init(&o);
    o.iterations = 5;
    return o;
}

/* Sinkhorn between a and b on the Gibbs kernel with opts (NULL: 5 iterations). */
static int solve(otad_tape *t, const fixture *f, otad_var a, otad_var b,
                 const otad_sinkhorn_opts *opts)
{
    otad_sinkhorn_opts o = sk_opts();
    otad_sinkhorn s;
    return otad_sinkhorn_solve(t, f->k, a, b, opts ? opts : &o, &s);
}

/* A problem solved in the given mode on kernel k. */
static otad_sinkhorn solved(otad_tape *t, const fixture *f, otad_kernel k, otad_grad_mode mode)
{
    otad_sinkhorn_opts o = sk_opts();
    o.mode = mode;
    otad_sinkhorn s = {{{0, 0}}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, 0, OTAD_UNROLL, 0, 0, 0, 0,
                       {0, 0}, {0, 0}};
    otad_var a = otad_var_valid(k.node) && otad_kernel_info_of(t, k).rows == 9
                     ? otad_const_fill(t, 9, 1, 1.0 / 9) : f->h3;
    otad_sinkhorn_solve(t, k, a, a, &o, &s);
    return s;
}

static otad_barycenter_opts bary_opts(void)
{
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.iterations = 5;
    return o;
}

/* The barycenter of h3 and h3b (inputs 3×2) with weights w (2×1). */
static otad_var barycenter(otad_tape *t, const fixture *f, otad_var w,
                           const otad_barycenter_opts *opts)
{
    otad_var in[2] = {f->h3, f->h3b};
    return otad_barycenter(t, f->k, otad_hcat(t, 2, in), w, opts);
}

/* otad_emd on n×m with opts (NULL: defaults) into a result freed after. */
static int emd(size_t n, size_t m, const double *a, const double *b, const double *cost,
               const otad_emd_opts *opts, otad_error *err)
{
    otad_emd_result res;
    int rc = otad_emd(n, m, a, b, cost, opts, &res, err);
    otad_emd_result_free(&res);
    return rc;
}

static int emd_tolerance(double tolerance, otad_error *err)
{
    otad_emd_opts o;
    otad_emd_opts_init(&o);
    o.mass_tolerance = tolerance;
    return emd(3, 3, H3, H3B, C33, &o, err);
}

/* otad_shortest_paths into a dist that starts at 7: MODIFIED when a failure
 * changed it. */
static int paths(size_t n, size_t n_edges, const size_t *ends, const double *lengths,
                 otad_error *err)
{
    double dist[9] = {7, 7, 7, 7, 7, 7, 7, 7, 7};
    int rc = otad_shortest_paths(n, n_edges, ends, lengths, dist, err);
    return unless_changed(rc, dist[0] != 7 || dist[8] != 7);
}

static const double LENGTHS[2] = {1, 1}, ZERO_LENGTH[2] = {1, 0}, NAN_LENGTH[2] = {NAN, 1};

static otad_lbfgs_params lbfgs_params(void)
{
    otad_lbfgs_params p;
    otad_lbfgs_params_init(&p);
    p.max_iterations = 3;
    return p;
}

/* otad_lbfgs of θ·θ from theta (n entries; copied, so that a failure that
 * changes it is MODIFIED): its code and result message. */
static outcome lbfgs(otad_build_fn build, size_t n, const double *theta,
                     const otad_lbfgs_params *params)
{
    double x[3];
    if (theta)
        memcpy(x, theta, 3 * sizeof *x);
    otad_lbfgs_result r;
    outcome o = {otad_lbfgs(build, NULL, n, theta ? x : NULL, params, &r), ""};
    snprintf(o.message, sizeof o.message, "%s", r.message);
    if (theta && o.code != OTAD_OK && memcmp(x, theta, 3 * sizeof *x) != 0)
        o.code = MODIFIED;
    otad_lbfgs_result_free(&r);
    return o;
}

static otad_var step_square(otad_tape *t, otad_var theta, int step, void *instance)
{
    (void)step;
    return build_square(t, theta, instance);
}

static otad_stochastic_params stochastic_params(void)
{
    otad_stochastic_params p;
    otad_stochastic_params_init(&p);
    p.steps = 3;
    return p;
}

/* otad_stochastic as lbfgs above. */
static outcome stochastic(otad_step_build_fn build, size_t n, const double *theta,
                          const otad_stochastic_params *params)
{
    double x[3];
    if (theta)
        memcpy(x, theta, 3 * sizeof *x);
    otad_stochastic_result r;
    outcome o = {otad_stochastic(build, NULL, n, theta ? x : NULL, params, &r), ""};
    snprintf(o.message, sizeof o.message, "%s", r.message);
    if (theta && o.code != OTAD_OK && memcmp(x, theta, 3 * sizeof *x) != 0)
        o.code = MODIFIED;
    otad_stochastic_result_free(&r);
    return o;
}

static const otad_tape_opts bad_tape_opts = {0, NULL, 1};

#define SOLVERS_ROWS(X) \
X(sinkhorn_opts_init_null, otad_sinkhorn_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_sinkhorn_opts_init(NULL); return 1;) \
X(solve_null_tape, otad_sinkhorn_solve, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, otad_sinkhorn s; return otad_sinkhorn_solve(NULL, f->k, f->h3, f->h3, NULL, &s) == OTAD_EINVAL;) \
X(solve_out_null, otad_sinkhorn_solve, "out NULL", OTAD_EINVAL, "no result struct", RC, return otad_sinkhorn_solve(t, f->k, f->h3, f->h3b, NULL, NULL);) \
X(solve_kernel, otad_sinkhorn_solve, "the zero kernel", OTAD_EINVAL, "not a kernel", RC, otad_sinkhorn s; return otad_sinkhorn_solve(t, (otad_kernel){f->invalid}, f->h3, f->h3b, NULL, &s);) \
X(solve_invalid, otad_sinkhorn_solve, "a the zero handle", OTAD_EINVAL, "not a node", RC, return solve(t, f, f->invalid, f->h3b, NULL);) \
X(solve_shape, otad_sinkhorn_solve, "a 2x1 for K 3x3", OTAD_ESHAPE, "a has 2 rows", RC, return solve(t, f, f->h2, f->h3b, NULL);) \
X(solve_negative, otad_sinkhorn_solve, "a negative mass", OTAD_EDOMAIN, "negative", RC, return solve(t, f, f->neg3, f->h3b, NULL);) \
X(solve_nan, otad_sinkhorn_solve, "a NaN mass", OTAD_EDOMAIN, "nan", RC, otad_tape *u = new_unchecked_tape(); fixture g = fixture_on(u); int rc = solve(u, &g, nonfinite3(u, 1), g.h3b, NULL); otad_tape_fail(t, rc, "%s", otad_tape_message(u)); otad_tape_free(&u); return otad_tape_status(t);) \
X(solve_masses, otad_sinkhorn_solve, "masses 1 and 2", OTAD_EDOMAIN, "mass", RC, return solve(t, f, f->h3, otad_scale(t, f->h3b, 2), NULL);) \
X(solve_iterations, otad_sinkhorn_solve, "iterations 0", OTAD_EINVAL, "iterations is 0", RC, otad_sinkhorn_opts o = sk_opts(); o.iterations = 0; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_iterations_neg, otad_sinkhorn_solve, "iterations -5", OTAD_EINVAL, "iterations is -5", RC, otad_sinkhorn_opts o = sk_opts(); o.iterations = -5; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_tolerance_nan, otad_sinkhorn_solve, "tolerance NaN", OTAD_EINVAL, "tolerance", RC, otad_sinkhorn_opts o = sk_opts(); o.tolerance = NAN; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_tolerance_neg, otad_sinkhorn_solve, "tolerance -1", OTAD_EINVAL, "tolerance", RC, otad_sinkhorn_opts o = sk_opts(); o.tolerance = -1; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_check_every, otad_sinkhorn_solve, "check_every 0", OTAD_EINVAL, "check_every", RC, otad_sinkhorn_opts o = sk_opts(); o.check_every = 0; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_log_domain, otad_sinkhorn_solve, "log_domain 2", OTAD_EINVAL, "log_domain", RC, otad_sinkhorn_opts o = sk_opts(); o.log_domain = 2; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_log_zero, otad_sinkhorn_solve, "a zero mass in the log domain", OTAD_EDOMAIN, "positive", RC, otad_sinkhorn_opts o = sk_opts(); o.log_domain = 1; return solve(t, f, f->zero3, f->h3b, &o);) \
X(solve_mass_tolerance, otad_sinkhorn_solve, "mass_tolerance -1", OTAD_EINVAL, "mass_tolerance", RC, otad_sinkhorn_opts o = sk_opts(); o.mass_tolerance = -1; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_mass_tolerance_nan, otad_sinkhorn_solve, "mass_tolerance NaN", OTAD_EINVAL, "mass_tolerance", RC, otad_sinkhorn_opts o = sk_opts(); o.mass_tolerance = NAN; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_mode, otad_sinkhorn_solve, "mode 99", OTAD_EINVAL, "mode", RC, otad_sinkhorn_opts o = sk_opts(); o.mode = (otad_grad_mode)99; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_rho_a, otad_sinkhorn_solve, "rho_a 0", OTAD_EINVAL, "rho_a is 0", RC, otad_sinkhorn_opts o = sk_opts(); o.rho_a = 0; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_rho_b, otad_sinkhorn_solve, "rho_b NaN", OTAD_EINVAL, "rho_b is nan", RC, otad_sinkhorn_opts o = sk_opts(); o.rho_b = NAN; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_adjoint_tolerance, otad_sinkhorn_solve, "adjoint_tolerance NaN", OTAD_EINVAL, "adjoint_tolerance", RC, otad_sinkhorn_opts o = sk_opts(); o.mode = OTAD_IMPLICIT; o.adjoint_tolerance = NAN; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_eps_start_nan, otad_sinkhorn_solve, "eps_start NaN", OTAD_EINVAL, "eps_start is nan", RC, otad_sinkhorn_opts o = sk_opts(); o.mode = OTAD_IMPLICIT; o.log_domain = 1; o.eps_start = NAN; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_eps_start_low, otad_sinkhorn_solve, "eps_start below the kernel's eps", OTAD_EINVAL, "a schedule that decreases", RC, otad_sinkhorn_opts o = sk_opts(); o.mode = OTAD_IMPLICIT; o.log_domain = 1; o.eps_start = 1e-9; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_eps_decay, otad_sinkhorn_solve, "eps_decay 0", OTAD_EINVAL, "eps_decay is 0, must be in (0, 1)", RC, otad_sinkhorn_opts o = sk_opts(); o.eps_decay = 0; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_stage_iterations, otad_sinkhorn_solve, "stage_iterations 0", OTAD_EINVAL, "stage_iterations is 0", RC, otad_sinkhorn_opts o = sk_opts(); o.stage_iterations = 0; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_eps_start_unroll, otad_sinkhorn_solve, "eps_start under UNROLL", OTAD_EINVAL, "eps_start needs mode OTAD_IMPLICIT or OTAD_ENVELOPE", RC, otad_sinkhorn_opts o = sk_opts(); o.log_domain = 1; o.eps_start = 10; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_eps_start_scaling, otad_sinkhorn_solve, "eps_start in the scaling domain", OTAD_EINVAL, "needs the log domain", RC, otad_sinkhorn_opts o = sk_opts(); o.mode = OTAD_IMPLICIT; o.eps_start = 10; return solve(t, f, f->h3, f->h3b, &o);) \
X(solve_start_unroll, otad_sinkhorn_solve, "a warm start under UNROLL", OTAD_EINVAL, "start needs mode OTAD_IMPLICIT or OTAD_ENVELOPE", RC, otad_sinkhorn_opts o = sk_opts(); o.start = otad_sinkhorn_start_new(); int rc = solve(t, f, f->h3, f->h3b, &o); otad_sinkhorn_start_free(o.start); return rc;) \
X(solve_convention, otad_sinkhorn_solve, "convention OTAD_GRADIENT_POT", OTAD_EINVAL, "otad_sinkhorn_solve takes OTAD_GRADIENT_NATIVE", RC, otad_sinkhorn_opts o = sk_opts(); o.convention = OTAD_GRADIENT_POT; return solve(t, f, f->h3, f->h3b, &o);) \
X(start_new, otad_sinkhorn_start_new, "nothing (no arguments)", NEUTRAL, "an empty start", IS, otad_sinkhorn_start *s = otad_sinkhorn_start_new(); long found = -1, missed = -1; otad_sinkhorn_start_counts(s, &found, &missed); otad_sinkhorn_start_free(s); return s && found == 0 && missed == 0;) \
X(start_free_null, otad_sinkhorn_start_free, "start NULL", NEUTRAL, "nothing done", IS, otad_sinkhorn_start_free(NULL); return 1;) \
X(start_counts_null, otad_sinkhorn_start_counts, "start NULL", NEUTRAL, "0 and 0", IS, long found = -1, missed = -1; otad_sinkhorn_start_counts(NULL, &found, &missed); return found == 0 && missed == 0;) \
X(start_counts_null_out, otad_sinkhorn_start_counts, "found and missed NULL", NEUTRAL, "nothing written", IS, otad_sinkhorn_start *s = otad_sinkhorn_start_new(); otad_sinkhorn_start_counts(s, NULL, NULL); otad_sinkhorn_start_free(s); return 1;) \
X(cost_null_tape, otad_sinkhorn_cost, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); return !otad_var_valid(otad_sinkhorn_cost(NULL, &s));) \
X(cost_null, otad_sinkhorn_cost, "s NULL", OTAD_EINVAL, "NULL", VAR, return otad_sinkhorn_cost(t, NULL);) \
X(cost_zeroed, otad_sinkhorn_cost, "a zeroed problem", OTAD_EINVAL, "not a", VAR, otad_sinkhorn s; memset(&s, 0, sizeof s); return otad_sinkhorn_cost(t, &s);) \
X(cost_no_cost, otad_sinkhorn_cost, "a problem on the heat kernel", OTAD_EINVAL, "cost", VAR, otad_sinkhorn s = solved(t, f, heat(t, f), OTAD_UNROLL); return otad_sinkhorn_cost(t, &s);) \
X(cost_envelope, otad_sinkhorn_cost, "a problem solved for ENVELOPE", OTAD_EINVAL, "envelope gradient", VAR, otad_sinkhorn s = solved(t, f, f->k, OTAD_ENVELOPE); return otad_sinkhorn_cost(t, &s);) \
X(dual_null_tape, otad_sinkhorn_dual, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); return !otad_var_valid(otad_sinkhorn_dual(NULL, &s));) \
X(dual_null, otad_sinkhorn_dual, "s NULL", OTAD_EINVAL, "NULL", VAR, return otad_sinkhorn_dual(t, NULL);) \
X(dual_zeroed, otad_sinkhorn_dual, "a zeroed problem", OTAD_EINVAL, "not a", VAR, otad_sinkhorn s; memset(&s, 0, sizeof s); return otad_sinkhorn_dual(t, &s);) \
X(dual_mode, otad_sinkhorn_dual, "a problem with mode 99", OTAD_EINVAL, "s->mode is 99", VAR, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); s.mode = (otad_grad_mode)99; return otad_sinkhorn_dual(t, &s);) \
X(entropic_null_tape, otad_sinkhorn_entropic, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); return !otad_var_valid(otad_sinkhorn_entropic(NULL, &s));) \
X(entropic_null, otad_sinkhorn_entropic, "s NULL", OTAD_EINVAL, "NULL", VAR, return otad_sinkhorn_entropic(t, NULL);) \
X(entropic_zeroed, otad_sinkhorn_entropic, "a zeroed problem", OTAD_EINVAL, "not a", VAR, otad_sinkhorn s; memset(&s, 0, sizeof s); return otad_sinkhorn_entropic(t, &s);) \
X(entropic_envelope, otad_sinkhorn_entropic, "a problem solved for ENVELOPE", OTAD_EINVAL, "envelope gradient", VAR, otad_sinkhorn s = solved(t, f, f->k, OTAD_ENVELOPE); return otad_sinkhorn_entropic(t, &s);) \
X(kl_primal_null_tape, otad_sinkhorn_kl_primal, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); return !otad_var_valid(otad_sinkhorn_kl_primal(NULL, &s));) \
X(kl_primal_null, otad_sinkhorn_kl_primal, "s NULL", OTAD_EINVAL, "NULL", VAR, return otad_sinkhorn_kl_primal(t, NULL);) \
X(kl_primal_zeroed, otad_sinkhorn_kl_primal, "a zeroed problem", OTAD_EINVAL, "not a", VAR, otad_sinkhorn s; memset(&s, 0, sizeof s); return otad_sinkhorn_kl_primal(t, &s);) \
X(kl_primal_envelope, otad_sinkhorn_kl_primal, "a problem solved for ENVELOPE", OTAD_EINVAL, "envelope gradient", VAR, otad_sinkhorn s = solved(t, f, f->k, OTAD_ENVELOPE); return otad_sinkhorn_kl_primal(t, &s);) \
X(kl_dual_null_tape, otad_sinkhorn_kl_dual, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); return !otad_var_valid(otad_sinkhorn_kl_dual(NULL, &s));) \
X(kl_dual_null, otad_sinkhorn_kl_dual, "s NULL", OTAD_EINVAL, "NULL", VAR, return otad_sinkhorn_kl_dual(t, NULL);) \
X(kl_dual_zeroed, otad_sinkhorn_kl_dual, "a zeroed problem", OTAD_EINVAL, "not a", VAR, otad_sinkhorn s; memset(&s, 0, sizeof s); return otad_sinkhorn_kl_dual(t, &s);) \
X(kl_dual_mode, otad_sinkhorn_kl_dual, "a problem with mode 99", OTAD_EINVAL, "s->mode is 99", VAR, otad_sinkhorn s = solved(t, f, f->k, OTAD_UNROLL); s.mode = (otad_grad_mode)99; return otad_sinkhorn_kl_dual(t, &s);) \
X(loss_null_tape, otad_sinkhorn_loss, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sinkhorn_loss(NULL, f->k, f->h3, f->h3b, NULL, OTAD_SINKHORN_COST));) \
X(loss_value, otad_sinkhorn_loss, "value 99", OTAD_EINVAL, "value", VAR, otad_sinkhorn_opts o = sk_opts(); return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, (otad_sinkhorn_value)99);) \
X(loss_value_negative, otad_sinkhorn_loss, "value -1", OTAD_EINVAL, "value", VAR, otad_sinkhorn_opts o = sk_opts(); return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, (otad_sinkhorn_value)-1);) \
X(loss_iterations, otad_sinkhorn_loss, "iterations 0", OTAD_EINVAL, "iterations", VAR, otad_sinkhorn_opts o = sk_opts(); o.iterations = 0; return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_COST);) \
X(loss_envelope, otad_sinkhorn_loss, "the cost under ENVELOPE", OTAD_EINVAL, "envelope gradient", VAR, otad_sinkhorn_opts o = sk_opts(); o.mode = OTAD_ENVELOPE; return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_COST);) \
X(loss_kernel, otad_sinkhorn_loss, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_sinkhorn_loss(t, (otad_kernel){f->invalid}, f->h3, f->h3b, NULL, OTAD_SINKHORN_COST);) \
X(loss_convention, otad_sinkhorn_loss, "convention 3", OTAD_EINVAL, "convention is 3", VAR, otad_sinkhorn_opts o = sk_opts(); o.convention = (otad_gradient_convention)3; return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_COST);) \
X(loss_convention_unbalanced, otad_sinkhorn_loss, "convention POT with rho_a 1", OTAD_EINVAL, "convention is for balanced problems", VAR, otad_sinkhorn_opts o = sk_opts(); o.convention = OTAD_GRADIENT_POT; o.rho_a = 1; return otad_sinkhorn_loss(t, f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_KL_PRIMAL);) \
X(divergence_null_tape, otad_sinkhorn_divergence, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_sinkhorn_divergence(NULL, f->k, f->k, f->k, f->h3, f->h3b, NULL, OTAD_SINKHORN_DUAL));) \
X(divergence_value, otad_sinkhorn_divergence, "value 99", OTAD_EINVAL, "value", VAR, otad_sinkhorn_opts o = sk_opts(); return otad_sinkhorn_divergence(t, f->k, f->k, f->k, f->h3, f->h3b, &o, (otad_sinkhorn_value)99);) \
X(divergence_sizes, otad_sinkhorn_divergence, "k_aa 9x9 for a 3x1", OTAD_ESHAPE, "3", VAR, otad_sinkhorn_opts o = sk_opts(); return otad_sinkhorn_divergence(t, f->k, heat(t, f), f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_DUAL);) \
X(divergence_kernel, otad_sinkhorn_divergence, "k_bb the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_sinkhorn_divergence(t, f->k, f->k, (otad_kernel){f->invalid}, f->h3, f->h3b, NULL, OTAD_SINKHORN_DUAL);) \
X(divergence_mode, otad_sinkhorn_divergence, "mode 99", OTAD_EINVAL, "mode", VAR, otad_sinkhorn_opts o = sk_opts(); o.mode = (otad_grad_mode)99; return otad_sinkhorn_divergence(t, f->k, f->k, f->k, f->h3, f->h3b, &o, OTAD_SINKHORN_DUAL);) \
X(barycenter_opts_init_null, otad_barycenter_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_barycenter_opts_init(NULL); return 1;) \
X(barycenter_null_tape, otad_barycenter, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_barycenter(NULL, f->k, f->c33, f->h3, NULL));) \
X(barycenter_weights, otad_barycenter, "weights 3x1 for 2 inputs", OTAD_ESHAPE, "3x1", VAR, return barycenter(t, f, f->h3, NULL);) \
X(barycenter_inputs, otad_barycenter, "inputs 2x1 for K 3x3", OTAD_ESHAPE, "2x1", VAR, return otad_barycenter(t, f->k, f->h2, f->one, NULL);) \
X(barycenter_negative, otad_barycenter, "a negative input", OTAD_EDOMAIN, "negative", VAR, return otad_barycenter(t, f->k, f->neg3, f->one, NULL);) \
X(barycenter_iterations, otad_barycenter, "iterations 0", OTAD_EINVAL, "iterations is 0", VAR, otad_barycenter_opts o = bary_opts(); o.iterations = 0; return barycenter(t, f, f->h2, &o);) \
X(barycenter_log_domain, otad_barycenter, "log_domain -1", OTAD_EINVAL, "log_domain", VAR, otad_barycenter_opts o = bary_opts(); o.log_domain = -1; return barycenter(t, f, f->h2, &o);) \
X(barycenter_mode, otad_barycenter, "mode 99", OTAD_EINVAL, "mode", VAR, otad_barycenter_opts o = bary_opts(); o.mode = (otad_grad_mode)99; return barycenter(t, f, f->h2, &o);) \
X(barycenter_envelope, otad_barycenter, "mode ENVELOPE", OTAD_EINVAL, "mode", VAR, otad_barycenter_opts o = bary_opts(); o.mode = OTAD_ENVELOPE; return barycenter(t, f, f->h2, &o);) \
X(barycenter_adjoint, otad_barycenter, "adjoint_tolerance NaN", OTAD_EINVAL, "adjoint_tolerance", VAR, otad_barycenter_opts o = bary_opts(); o.mode = OTAD_IMPLICIT; o.adjoint_tolerance = NAN; return barycenter(t, f, f->h2, &o);) \
X(barycenter_implicit_sum, otad_barycenter, "IMPLICIT weights summing to 2", OTAD_EDOMAIN, "sums to 2", VAR, otad_barycenter_opts o = bary_opts(); o.mode = OTAD_IMPLICIT; return barycenter(t, f, otad_scale(t, f->h2, 2), &o);) \
X(barycenter_kernel, otad_barycenter, "the zero kernel", OTAD_EINVAL, "not a kernel", VAR, return otad_barycenter(t, (otad_kernel){f->invalid}, f->h3, f->one, NULL);) \
X(barycenter_rho, otad_barycenter, "rho 0", OTAD_EINVAL, "rho is 0", VAR, otad_barycenter_opts o = bary_opts(); o.rho = 0; return barycenter(t, f, f->h2, &o);) \
X(barycenter_rho_nan, otad_barycenter, "rho NaN", OTAD_EINVAL, "rho is nan", VAR, otad_barycenter_opts o = bary_opts(); o.rho = NAN; return barycenter(t, f, f->h2, &o);) \
X(emd_opts_init_null, otad_emd_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_emd_opts_init(NULL); return 1;) \
X(emd_empty, otad_emd, "n 0", OTAD_EINVAL, "0", ERR, return emd(0, 3, H3, H3B, C33, NULL, err);) \
X(emd_a_null, otad_emd, "a NULL", OTAD_EINVAL, "a is NULL", ERR, return emd(3, 3, NULL, H3B, C33, NULL, err);) \
X(emd_cost_null, otad_emd, "cost NULL", OTAD_EINVAL, "cost is NULL", ERR, return emd(3, 3, H3, H3B, NULL, NULL, err);) \
X(emd_res_null, otad_emd, "res NULL", OTAD_EINVAL, "no result given", ERR, return otad_emd(3, 3, H3, H3B, C33, NULL, NULL, err);) \
X(emd_negative, otad_emd, "a negative mass", OTAD_EDOMAIN, "negative", ERR, return emd(3, 3, NEG3, H3B, C33, NULL, err);) \
X(emd_nan_mass, otad_emd, "a NaN mass", OTAD_EDOMAIN, "nan", ERR, return emd(3, 3, H3, NAN3, C33, NULL, err);) \
X(emd_nan_cost, otad_emd, "a NaN cost", OTAD_EDOMAIN, "nan", ERR, return emd(3, 3, H3, H3B, NANC33, NULL, err);) \
X(emd_masses, otad_emd, "masses 1 and 2", OTAD_EDOMAIN, "mass", ERR, static const double two[3] = {1, 0.5, 0.5}; return emd(3, 3, H3, two, C33, NULL, err);) \
X(emd_tolerance, otad_emd, "mass_tolerance -1", OTAD_EINVAL, "mass_tolerance", ERR, return emd_tolerance(-1, err);) \
X(emd_tolerance_nan, otad_emd, "mass_tolerance NaN", OTAD_EINVAL, "mass_tolerance", ERR, return emd_tolerance(NAN, err);) \
X(emd_large, otad_emd, "65536 x 65536", OTAD_EINVAL, "2^31", ERR, return emd(65536, 65536, H3, H3B, C33, NULL, err);) \
X(emd_overflow, otad_emd, "SIZE_MAX/2 x 4", OTAD_EINVAL, "2^31", ERR, return emd(SIZE_MAX / 2, 4, H3, H3B, C33, NULL, err);) \
X(emd_result_free_null, otad_emd_result_free, "res NULL", NEUTRAL, "nothing done", IS, otad_emd_result_free(NULL); return 1;) \
X(emd_result_free_zero, otad_emd_result_free, "a zeroed result", NEUTRAL, "nothing done", IS, otad_emd_result r; memset(&r, 0, sizeof r); otad_emd_result_free(&r); return r.row == NULL;) \
X(emd_cost_null_tape, otad_emd_cost, "tape NULL", NEUTRAL, "an invalid handle", IS, return !otad_var_valid(otad_emd_cost(NULL, f->h3, f->h3b, f->c33, NULL));) \
X(emd_cost_shapes, otad_emd_cost, "cost 3x2 for 3 and 3", OTAD_ESHAPE, "3×2", VAR, return otad_emd_cost(t, f->h3, f->h3b, f->p32, NULL);) \
X(emd_cost_negative, otad_emd_cost, "a negative mass", OTAD_EDOMAIN, "negative", VAR, return otad_emd_cost(t, f->neg3, f->h3b, f->c33, NULL);) \
X(emd_cost_masses, otad_emd_cost, "masses 1 and 2", OTAD_EDOMAIN, "mass", VAR, return otad_emd_cost(t, f->h3, otad_scale(t, f->h3b, 2), f->c33, NULL);) \
X(emd_cost_tolerance, otad_emd_cost, "mass_tolerance NaN", OTAD_EINVAL, "mass_tolerance", VAR, otad_emd_opts o = {NAN}; return otad_emd_cost(t, f->h3, f->h3b, f->c33, &o);) \
X(emd_cost_invalid, otad_emd_cost, "the zero handle", OTAD_EINVAL, "not a node", VAR, return otad_emd_cost(t, f->h3, f->h3b, f->invalid, NULL);) \
X(paths_empty, otad_shortest_paths, "n 0", OTAD_EINVAL, "no vertex", ERR, return paths(0, 2, PATH3, LENGTHS, err);) \
X(paths_ends, otad_shortest_paths, "ends NULL", OTAD_EINVAL, "ends is NULL", ERR, return paths(3, 2, NULL, LENGTHS, err);) \
X(paths_dist, otad_shortest_paths, "dist NULL", OTAD_EINVAL, "dist is NULL", ERR, return otad_shortest_paths(3, 2, PATH3, LENGTHS, NULL, err);) \
X(paths_zero_length, otad_shortest_paths, "a zero length", OTAD_EDOMAIN, "length", ERR, return paths(3, 2, PATH3, ZERO_LENGTH, err);) \
X(paths_nan_length, otad_shortest_paths, "a NaN length", OTAD_EDOMAIN, "length", ERR, return paths(3, 2, PATH3, NAN_LENGTH, err);) \
X(paths_outside, otad_shortest_paths, "an end at vertex 3 of 3", OTAD_EINVAL, "3", ERR, return paths(3, 2, OUTSIDE3, LENGTHS, err);) \
X(paths_disconnected, otad_shortest_paths, "3 vertices, 1 edge", OTAD_EDOMAIN, "connected", ERR, return paths(3, 1, PATH3, LENGTHS, err);) \
X(paths_overflow, otad_shortest_paths, "n SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, return paths(SIZE_MAX / 2, 2, PATH3, LENGTHS, err);) \
X(print_progress_null, otad_lbfgs_print_progress, "progress NULL", NEUTRAL, "OTAD_EINVAL, nothing printed", IS, return otad_lbfgs_print_progress(NULL, NULL) == OTAD_EINVAL;) \
X(lbfgs_params_init_null, otad_lbfgs_params_init, "params NULL", NEUTRAL, "nothing done", IS, otad_lbfgs_params_init(NULL); return 1;) \
X(lbfgs_build, otad_lbfgs, "build NULL", OTAD_EINVAL, "build is NULL", OUT, return lbfgs(NULL, 3, IN3, NULL);) \
X(lbfgs_theta, otad_lbfgs, "theta NULL", OTAD_EINVAL, "theta is NULL", OUT, return lbfgs(build_square, 3, NULL, NULL);) \
X(lbfgs_empty, otad_lbfgs, "n 0", OTAD_EINVAL, "n is 0", OUT, return lbfgs(build_square, 0, IN3, NULL);) \
X(lbfgs_large, otad_lbfgs, "n 2^30 + 1", OTAD_EINVAL, "2^30", OUT, return lbfgs(build_square, ((size_t)1 << 30) + 1, IN3, NULL);) \
X(lbfgs_nan, otad_lbfgs, "a NaN in theta", OTAD_EDOMAIN, "nan", OUT, return lbfgs(build_square, 3, NAN3, NULL);) \
X(lbfgs_result, otad_lbfgs, "result NULL", OTAD_EINVAL, "", CODE, double x[3] = {1, 2, 3}; return otad_lbfgs(build_square, NULL, 3, x, NULL, NULL);) \
X(lbfgs_max_iterations, otad_lbfgs, "max_iterations -1", OTAD_EINVAL, "max_iterations", OUT, otad_lbfgs_params p = lbfgs_params(); p.max_iterations = -1; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_memory, otad_lbfgs, "memory 0", OTAD_EINVAL, "memory", OUT, otad_lbfgs_params p = lbfgs_params(); p.memory = 0; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_memory_large, otad_lbfgs, "memory 1001", OTAD_EINVAL, "memory", OUT, otad_lbfgs_params p = lbfgs_params(); p.memory = 1001; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_gradient_tolerance, otad_lbfgs, "gradient_tolerance NaN", OTAD_EINVAL, "gradient_tolerance", OUT, otad_lbfgs_params p = lbfgs_params(); p.gradient_tolerance = NAN; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_past, otad_lbfgs, "past -1", OTAD_EINVAL, "past", OUT, otad_lbfgs_params p = lbfgs_params(); p.past = -1; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_relative_decrease, otad_lbfgs, "relative_decrease -1", OTAD_EINVAL, "relative_decrease", OUT, otad_lbfgs_params p = lbfgs_params(); p.relative_decrease = -1; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_max_linesearch, otad_lbfgs, "max_linesearch 0", OTAD_EINVAL, "max_linesearch", OUT, otad_lbfgs_params p = lbfgs_params(); p.max_linesearch = 0; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_tape_opts, otad_lbfgs, "tape_opts with chunk_bytes 0", OTAD_EINVAL, "chunk_bytes", OUT, otad_lbfgs_params p = lbfgs_params(); p.tape_opts = &bad_tape_opts; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_time_limit, otad_lbfgs, "time_limit -1", OTAD_EINVAL, "time_limit", OUT, otad_lbfgs_params p = lbfgs_params(); p.time_limit = -1; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_checkpoint_every, otad_lbfgs, "checkpoint_every 0", OTAD_EINVAL, "checkpoint_every", OUT, otad_lbfgs_params p = lbfgs_params(); p.checkpoint_every = 0; return lbfgs(build_square, 3, IN3, &p);) \
X(lbfgs_resume_missing, otad_lbfgs, "resume from a file that is not there", OTAD_EIO, "cannot read the checkpoint", OUT, otad_lbfgs_params p = lbfgs_params(); p.resume = "/nonexistent/checkpoint"; return lbfgs(build_square, 3, IN3, &p);) \
X(stochastic_params_init_null, otad_stochastic_params_init, "params NULL", NEUTRAL, "nothing done", IS, otad_stochastic_params_init(NULL); return 1;) \
X(stochastic_build, otad_stochastic, "build NULL", OTAD_EINVAL, "build is NULL", OUT, return stochastic(NULL, 3, IN3, NULL);) \
X(stochastic_theta, otad_stochastic, "theta NULL", OTAD_EINVAL, "theta is NULL", OUT, return stochastic(step_square, 3, NULL, NULL);) \
X(stochastic_empty, otad_stochastic, "n 0", OTAD_EINVAL, "n is 0", OUT, return stochastic(step_square, 0, IN3, NULL);) \
X(stochastic_nan, otad_stochastic, "a NaN in theta", OTAD_EDOMAIN, "nan", OUT, return stochastic(step_square, 3, NAN3, NULL);) \
X(stochastic_result, otad_stochastic, "result NULL", OTAD_EINVAL, "", CODE, double x[3] = {1, 2, 3}; return otad_stochastic(step_square, NULL, 3, x, NULL, NULL);) \
X(stochastic_method, otad_stochastic, "method 7", OTAD_EINVAL, "method is 7", OUT, otad_stochastic_params p = stochastic_params(); p.method = (otad_stochastic_method)7; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_steps, otad_stochastic, "steps 0", OTAD_EINVAL, "steps", OUT, otad_stochastic_params p = stochastic_params(); p.steps = 0; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_rate, otad_stochastic, "learning_rate 0", OTAD_EINVAL, "learning_rate", OUT, otad_stochastic_params p = stochastic_params(); p.learning_rate = 0; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_beta1, otad_stochastic, "beta1 1", OTAD_EINVAL, "beta1 is 1, must be in [0, 1)", OUT, otad_stochastic_params p = stochastic_params(); p.beta1 = 1; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_beta2, otad_stochastic, "beta2 NaN", OTAD_EINVAL, "beta2 is nan", OUT, otad_stochastic_params p = stochastic_params(); p.beta2 = NAN; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_epsilon, otad_stochastic, "epsilon 0", OTAD_EINVAL, "epsilon", OUT, otad_stochastic_params p = stochastic_params(); p.epsilon = 0; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_momentum, otad_stochastic, "momentum -0.5", OTAD_EINVAL, "momentum is -0.5", OUT, otad_stochastic_params p = stochastic_params(); p.momentum = -0.5; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_time_limit, otad_stochastic, "time_limit -1", OTAD_EINVAL, "time_limit", OUT, otad_stochastic_params p = stochastic_params(); p.time_limit = -1; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_checkpoint_every, otad_stochastic, "checkpoint_every 0", OTAD_EINVAL, "checkpoint_every", OUT, otad_stochastic_params p = stochastic_params(); p.checkpoint_every = 0; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_tape_opts, otad_stochastic, "tape_opts with chunk_bytes 0", OTAD_EINVAL, "chunk_bytes", OUT, otad_stochastic_params p = stochastic_params(); p.tape_opts = &bad_tape_opts; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_resume_missing, otad_stochastic, "resume from a file that is not there", OTAD_EIO, "cannot read the checkpoint", OUT, otad_stochastic_params p = stochastic_params(); p.resume = "/nonexistent/checkpoint"; return stochastic(step_square, 3, IN3, &p);) \
X(stochastic_result_free_null, otad_stochastic_result_free, "result NULL", NEUTRAL, "nothing done", IS, otad_stochastic_result_free(NULL); return 1;) \
X(lbfgs_result_free_null, otad_lbfgs_result_free, "result NULL", NEUTRAL, "nothing done", IS, otad_lbfgs_result_free(NULL); return 1;)

/* ---- models/models.h --------------------------------------------------------------- */

static const size_t LINE3[1] = {3};
static const double DATABASE[6] = {0.2, 0.3, 0.5, 0.5, 0.25, 0.25};
static const double HALVES[2] = {0.5, 0.5}, TWO_WEIGHTS[2] = {1, 1}, NEG_WEIGHTS[2] = {-0.5, 1.5};
static const double NAN_WEIGHTS[2] = {NAN, 0.5};
static double FRAMES[27];   /* 9×3, each entry 1/9 (setup) */
static const double DATA[6] = {0, 1, 0, 0, 0, 1};  /* 3 points in the plane */
static const double THETA6[6] = {0, 1, 0, 1, 0, 0}, NAN6[6] = {0, 1, NAN, 1, 0, 0};
static const double SAMPLES[8] = {0, 0.5, 0, -0.5, 0.5, 0, -0.5, 0};  /* 4 points of the disk */
static const double NAN_SAMPLES[8] = {0, 0.5, NAN, -0.5, 0.5, 0, -0.5, 0};
static const double TIMES2[2] = {0, 1}, FAR_TIMES[2] = {0, 1.5}, NAN_TIMES[2] = {0, NAN};
static const size_t HIDDEN3[1] = {3}, HIDDEN0[1] = {0};
static otad_mke_atoms ATOMS;
static otad_mke_mlp MLP;
static otad_mke_ellipses ELLIPSES;

static otad_lbfgs_params few_iterations(void)
{
    otad_lbfgs_params p = lbfgs_params();
    p.max_iterations = 2;
    return p;
}

/* Two histograms on a line of 3 points, one target. */
static otad_barycoords barycoords(void)
{
    otad_barycoords p;
    otad_barycoords_init(&p);
    p.support = otad_support_grid(1, LINE3, 0.5);
    p.size = 3;
    p.n_histograms = 2;
    p.database = DATABASE;
    p.n_targets = 1;
    p.targets = H3;
    p.barycenter.iterations = 5;
    return p;
}

static int barycoords_fit(const otad_barycoords *p, const double *start,
                          const otad_lbfgs_params *params, int no_result, otad_error *err)
{
    otad_barycoords_result r;
    otad_lbfgs_params few = few_iterations();
    int rc = otad_barycoords_fit(p, start, params ? params : &few, no_result ? NULL : &r, err);
    if (!no_result)
        otad_barycoords_result_free(&r);
    return rc;
}

/* P_L of n_cols weight columns into out starting at 7. */
static int project(const otad_barycoords *p, const double *w, size_t n_cols, int no_out,
                   otad_error *err)
{
    double out[3] = {7, 7, 7};
    int rc = otad_barycoords_project(p, w, n_cols, no_out ? NULL : out, err);
    return unless_changed(rc, out[0] != 7);
}

/* Three uniform frames on the 3×3 grid. */
static otad_metric_learning learning(void)
{
    otad_metric_learning p;
    otad_metric_learning_init(&p);
    p.graph = grid3x3;
    p.size = 9;
    p.n_frames = 3;
    p.frames = FRAMES;
    p.steps = 2;
    p.barycenter.iterations = 3;
    return p;
}

static int learning_fit(const otad_metric_learning *p, const double *start,
                        const otad_lbfgs_params *params, int no_result, otad_error *err)
{
    otad_metric_learning_result r;
    otad_lbfgs_params few = few_iterations();
    int rc = otad_metric_learning_fit(p, start, params ? params : &few, no_result ? NULL : &r,
                                      err);
    if (!no_result)
        otad_metric_learning_result_free(&r);
    return rc;
}

/* The interpolation at two times into out (9×2) starting at 7. */
static int interpolate(const otad_metric_learning *p, const double *w, size_t n_times,
                       const double *times, int no_out, otad_error *err)
{
    double out[18];
    for (size_t i = 0; i < 18; i++)
        out[i] = 7;
    int rc = otad_metric_learning_interpolate(p, w, n_times, times, no_out ? NULL : out, NULL,
                                              err);
    return unless_changed(rc, out[0] != 7 || out[17] != 7);
}

static double W12_ZERO[12]; /* edge weights 1, but edge 5's 0 (setup) */

/* k-means with 2 atoms on 3 points of the plane. */
static otad_mke mke(void)
{
    otad_mke p;
    otad_mke_init(&p);
    p.dim = 2;
    p.n_data = 3;
    p.data = DATA;
    p.sinkhorn.iterations = 5;
    otad_mke_use_atoms(&p, &ATOMS, 2, NULL);
    return p;
}

static int mke_fit(const otad_mke *p, const double *start, int no_result, otad_error *err)
{
    otad_mke_result r;
    otad_lbfgs_params few = few_iterations();
    int rc = otad_mke_fit(p, start, &few, no_result ? NULL : &r, err);
    if (!no_result)
        otad_mke_result_free(&r);
    return rc;
}

/* otad_mke_evaluate into outputs that must stay as they were on failure. */
static int mke_evaluate(const otad_mke *p, const double *theta, int no_count, otad_error *err)
{
    double *points = (double *)&points, *weights = NULL, loss = 7;
    size_t n = 7;
    int rc = otad_mke_evaluate(p, theta, &points, &weights, no_count ? NULL : &n, &loss, err);
    if (rc == OTAD_OK) {
        free(points);
        free(weights);
    }
    return unless_changed(rc, n != 7 || loss != 7 || points != (double *)&points);
}

/* otad_mke_use_mlp on the k-means problem (or on NULL). */
static int use_mlp(int no_problem, otad_mke_mlp *mlp, size_t latent, size_t n_hidden,
                   const size_t *hidden, size_t n_samples, const double *samples,
                   otad_error *err)
{
    otad_mke p = mke();
    return otad_mke_use_mlp(no_problem ? NULL : &p, mlp, latent, n_hidden, hidden, n_samples,
                            samples, err);
}

static int use_ellipses(size_t dim, size_t count, size_t n_samples, const double *samples,
                        otad_error *err)
{
    otad_mke p = mke();
    p.dim = dim;
    return otad_mke_use_ellipses(&p, &ELLIPSES, count, n_samples, samples, err);
}

/* A ready model's record function on theta (n×1). */
static int model_on(otad_tape *t, otad_mke_model_fn model, void *instance, size_t n,
                    int no_points)
{
    otad_var theta = otad_const(t, n, 1, THETA6), points, weights;
    return model(t, theta, instance, no_points ? NULL : &points, &weights);
}

static otad_support grid_support(double eps)
{
    return otad_support_grid(1, LINE3, eps);
}

#define MODELS_ROWS(X) \
X(support_grid_null, otad_support_grid, "shape NULL", NEUTRAL, "a support of size 0", IS, otad_support s = otad_support_grid(1, NULL, 0.5); return otad_support_size(&s) == 0;) \
X(support_grid_dims, otad_support_grid, "dims 4", NEUTRAL, "a support of size 0", IS, size_t shape[4] = {3, 3, 3, 3}; otad_support s = otad_support_grid(4, shape, 0.5); return otad_support_size(&s) == 0;) \
X(support_graph_null, otad_support_graph, "graph NULL", NEUTRAL, "a support of size 0", IS, otad_support s = otad_support_graph(NULL, NULL, 0.1, 2); return otad_support_size(&s) == 0;) \
X(support_cost_null, otad_support_cost, "cost NULL", NEUTRAL, "a support of size 0", IS, otad_support s = otad_support_cost(3, NULL, 0.5); return otad_support_size(&s) == 0;) \
X(support_cost_empty, otad_support_cost, "0 points", NEUTRAL, "a support of size 0", IS, otad_support s = otad_support_cost(0, C33, 0.5); return otad_support_size(&s) == 0;) \
X(support_size_null, otad_support_size, "support NULL", NEUTRAL, "0", IS, return otad_support_size(NULL) == 0;) \
X(support_size_kind, otad_support_size, "kind 99", NEUTRAL, "0", IS, otad_support s = grid_support(0.5); s.kind = (otad_support_kind)99; return otad_support_size(&s) == 0;) \
X(support_size_overflow, otad_support_size, "a grid of (2^32+1) x (2^32+1), which wraps", NEUTRAL, "0", IS, otad_support s = grid_support(0.5); s.dims = 2; s.shape[0] = s.shape[1] = ((size_t)1 << 32) + 1; return otad_support_size(&s) == 0;) \
X(support_kernel_null_tape, otad_support_kernel, "tape NULL", NEUTRAL, "an invalid kernel", IS, otad_support s = grid_support(0.5); return !otad_var_valid(otad_support_kernel(NULL, &s).node);) \
X(support_kernel_null, otad_support_kernel, "support NULL", OTAD_EINVAL, "support is NULL", KER, return otad_support_kernel(t, NULL);) \
X(support_kernel_kind, otad_support_kernel, "kind 99", OTAD_EINVAL, "kind is 99", KER, otad_support s = grid_support(0.5); s.kind = (otad_support_kind)99; return otad_support_kernel(t, &s);) \
X(support_kernel_eps, otad_support_kernel, "a grid with eps 0", OTAD_EDOMAIN, "eps", KER, otad_support s = grid_support(0); return otad_support_kernel(t, &s);) \
X(support_kernel_cost, otad_support_kernel, "a cost support with cost NULL", OTAD_EINVAL, "cost", KER, otad_support s = otad_support_cost(3, NULL, 0.5); return otad_support_kernel(t, &s);) \
X(support_kernel_cost_nan, otad_support_kernel, "a NaN cost", OTAD_EDOMAIN, "nan", KER, otad_support s = otad_support_cost(3, NANC33, 0.5); return otad_support_kernel(t, &s);) \
X(support_kernel_graph, otad_support_kernel, "a graph support with graph NULL", OTAD_EINVAL, "graph", KER, otad_support s = otad_support_graph(NULL, NULL, 0.1, 2); return otad_support_kernel(t, &s);) \
X(support_kernel_weights, otad_support_kernel, "a zero edge weight", OTAD_EDOMAIN, "weight", KER, otad_support s = otad_support_graph(grid3x3, W12_ZERO, 0.1, 2); return otad_support_kernel(t, &s);) \
X(support_kernel_steps, otad_support_kernel, "steps 0", OTAD_EDOMAIN, "steps 0", KER, otad_support s = otad_support_graph(grid3x3, NULL, 0.1, 0); return otad_support_kernel(t, &s);) \
X(barycoords_init_null, otad_barycoords_init, "problem NULL", NEUTRAL, "nothing done", IS, otad_barycoords_init(NULL); return 1;) \
X(barycoords_check_null, otad_barycoords_check, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return otad_barycoords_check(NULL, err);) \
X(barycoords_check_one, otad_barycoords_check, "n_histograms 1", OTAD_EINVAL, "1 histogram", ERR, otad_barycoords p = barycoords(); p.n_histograms = 1; return otad_barycoords_check(&p, err);) \
X(barycoords_check_targets, otad_barycoords_check, "n_targets 0", OTAD_EINVAL, "no target given", ERR, otad_barycoords p = barycoords(); p.n_targets = 0; return otad_barycoords_check(&p, err);) \
X(barycoords_check_size, otad_barycoords_check, "size 4 on 3 points", OTAD_ESHAPE, "histograms have 4 entries, the support has 3 points", ERR, otad_barycoords p = barycoords(); p.size = 4; return otad_barycoords_check(&p, err);) \
X(barycoords_check_database, otad_barycoords_check, "database NULL", OTAD_EINVAL, "database", ERR, otad_barycoords p = barycoords(); p.database = NULL; return otad_barycoords_check(&p, err);) \
X(barycoords_check_targets_null, otad_barycoords_check, "targets NULL", OTAD_EINVAL, "no target given", ERR, otad_barycoords p = barycoords(); p.targets = NULL; return otad_barycoords_check(&p, err);) \
X(barycoords_check_negative, otad_barycoords_check, "a negative target entry", OTAD_EDOMAIN, "-0.1", ERR, otad_barycoords p = barycoords(); p.targets = NEG3; return otad_barycoords_check(&p, err);) \
X(barycoords_check_nan, otad_barycoords_check, "a NaN target entry", OTAD_EDOMAIN, "nan", ERR, otad_barycoords p = barycoords(); p.targets = NAN3; return otad_barycoords_check(&p, err);) \
X(barycoords_check_masses, otad_barycoords_check, "database histograms of masses 1 and 2", OTAD_EDOMAIN, "mass", ERR, static const double db[6] = {0.2, 0.3, 0.5, 1, 0.5, 0.5}; otad_barycoords p = barycoords(); p.database = db; return otad_barycoords_check(&p, err);) \
X(barycoords_check_empty_target, otad_barycoords_check, "a target without mass", OTAD_EDOMAIN, "mass", ERR, static const double zero[3] = {0, 0, 0}; otad_barycoords p = barycoords(); p.targets = zero; return otad_barycoords_check(&p, err);) \
X(barycoords_check_loss, otad_barycoords_check, "loss 99", OTAD_EINVAL, "loss", ERR, otad_barycoords p = barycoords(); p.loss = (otad_histogram_loss)99; return otad_barycoords_check(&p, err);) \
X(barycoords_check_iterations, otad_barycoords_check, "barycenter.iterations 0", OTAD_EINVAL, "barycenter.iterations", ERR, otad_barycoords p = barycoords(); p.barycenter.iterations = 0; return otad_barycoords_check(&p, err);) \
X(barycoords_check_mode, otad_barycoords_check, "barycenter.mode 99", OTAD_EINVAL, "barycenter.mode", ERR, otad_barycoords p = barycoords(); p.barycenter.mode = (otad_grad_mode)99; return otad_barycoords_check(&p, err);) \
X(barycoords_check_sinkhorn, otad_barycoords_check, "sinkhorn.iterations 0 with the Sinkhorn loss", OTAD_EINVAL, "sinkhorn.iterations", ERR, otad_barycoords p = barycoords(); p.loss = OTAD_LOSS_SINKHORN; p.sinkhorn.iterations = 0; return otad_barycoords_check(&p, err);) \
X(barycoords_check_overflow, otad_barycoords_check, "n_histograms SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, otad_barycoords p = barycoords(); p.n_histograms = SIZE_MAX / 2; return otad_barycoords_check(&p, err);) \
X(barycoords_check_support, otad_barycoords_check, "support kind 99", OTAD_EINVAL, "support.kind is 99", ERR, otad_barycoords p = barycoords(); p.support.kind = (otad_support_kind)99; return otad_barycoords_check(&p, err);) \
X(barycoords_build_null_tape, otad_barycoords_build, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_barycoords p = barycoords(); return !otad_var_valid(otad_barycoords_build(NULL, f->h2, &p));) \
X(barycoords_build_null, otad_barycoords_build, "problem NULL", OTAD_EINVAL, "no problem given", VAR, return otad_barycoords_build(t, f->h2, NULL);) \
X(barycoords_build_theta, otad_barycoords_build, "theta 3x1 for 2 histograms", OTAD_ESHAPE, "theta has 3 entries", VAR, otad_barycoords p = barycoords(); return otad_barycoords_build(t, f->h3, &p);) \
X(barycoords_build_invalid, otad_barycoords_build, "theta the zero handle", OTAD_EINVAL, "not a node", VAR, otad_barycoords p = barycoords(); return otad_barycoords_build(t, f->invalid, &p);) \
X(barycoords_fit_null, otad_barycoords_fit, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return barycoords_fit(NULL, NULL, NULL, 0, err);) \
X(barycoords_fit_result, otad_barycoords_fit, "result NULL", OTAD_EINVAL, "no result given", ERR, otad_barycoords p = barycoords(); return barycoords_fit(&p, NULL, NULL, 1, err);) \
X(barycoords_fit_problem, otad_barycoords_fit, "n_histograms 1", OTAD_EINVAL, "1 histogram", ERR, otad_barycoords p = barycoords(); p.n_histograms = 1; return barycoords_fit(&p, NULL, NULL, 0, err);) \
X(barycoords_fit_negative, otad_barycoords_fit, "a negative start", OTAD_EDOMAIN, "start", ERR, otad_barycoords p = barycoords(); return barycoords_fit(&p, NEG_WEIGHTS, NULL, 0, err);) \
X(barycoords_fit_nan, otad_barycoords_fit, "a NaN start", OTAD_EDOMAIN, "start", ERR, otad_barycoords p = barycoords(); return barycoords_fit(&p, NAN_WEIGHTS, NULL, 0, err);) \
X(barycoords_fit_sum, otad_barycoords_fit, "a start summing to 2", OTAD_EDOMAIN, "sums to 2", ERR, otad_barycoords p = barycoords(); return barycoords_fit(&p, TWO_WEIGHTS, NULL, 0, err);) \
X(barycoords_fit_params, otad_barycoords_fit, "params memory 0", OTAD_EINVAL, "memory", ERR, otad_barycoords p = barycoords(); otad_lbfgs_params q = few_iterations(); q.memory = 0; return barycoords_fit(&p, NULL, &q, 0, err);) \
X(barycoords_result_free_null, otad_barycoords_result_free, "result NULL", NEUTRAL, "nothing done", IS, otad_barycoords_result_free(NULL); return 1;) \
X(project_null, otad_barycoords_project, "problem NULL", OTAD_EINVAL, "problem is NULL", ERR, return project(NULL, HALVES, 1, 0, err);) \
X(project_weights_null, otad_barycoords_project, "weights NULL", OTAD_EINVAL, "weights is NULL", ERR, otad_barycoords p = barycoords(); return project(&p, NULL, 1, 0, err);) \
X(project_out_null, otad_barycoords_project, "out NULL", OTAD_EINVAL, "out is NULL", ERR, otad_barycoords p = barycoords(); return project(&p, HALVES, 1, 1, err);) \
X(project_empty, otad_barycoords_project, "n_cols 0", OTAD_EINVAL, "n_cols", ERR, otad_barycoords p = barycoords(); return project(&p, HALVES, 0, 0, err);) \
X(project_sum, otad_barycoords_project, "weights summing to 2", OTAD_EDOMAIN, "sums to 2", ERR, otad_barycoords p = barycoords(); return project(&p, TWO_WEIGHTS, 1, 0, err);) \
X(project_negative, otad_barycoords_project, "a negative weight", OTAD_EDOMAIN, "-0.5", ERR, otad_barycoords p = barycoords(); return project(&p, NEG_WEIGHTS, 1, 0, err);) \
X(project_nan, otad_barycoords_project, "a NaN weight", OTAD_EDOMAIN, "nan", ERR, otad_barycoords p = barycoords(); return project(&p, NAN_WEIGHTS, 1, 0, err);) \
X(project_overflow, otad_barycoords_project, "n_cols SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, otad_barycoords p = barycoords(); return project(&p, HALVES, SIZE_MAX / 2, 0, err);) \
X(project_database, otad_barycoords_project, "database NULL", OTAD_EINVAL, "database", ERR, otad_barycoords p = barycoords(); p.database = NULL; return project(&p, HALVES, 1, 0, err);) \
X(learning_init_null, otad_metric_learning_init, "problem NULL", NEUTRAL, "nothing done", IS, otad_metric_learning_init(NULL); return 1;) \
X(learning_check_null, otad_metric_learning_check, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return otad_metric_learning_check(NULL, err);) \
X(learning_check_graph, otad_metric_learning_check, "graph NULL", OTAD_EINVAL, "graph", ERR, otad_metric_learning p = learning(); p.graph = NULL; return otad_metric_learning_check(&p, err);) \
X(learning_check_size, otad_metric_learning_check, "size 8 for 9 vertices", OTAD_ESHAPE, "frames have 8 entries, the graph has 9 vertices", ERR, otad_metric_learning p = learning(); p.size = 8; return otad_metric_learning_check(&p, err);) \
X(learning_check_eps, otad_metric_learning_check, "eps 0", OTAD_EDOMAIN, "eps is 0", ERR, otad_metric_learning p = learning(); p.eps = 0; return otad_metric_learning_check(&p, err);) \
X(learning_check_eps_nan, otad_metric_learning_check, "eps NaN", OTAD_EDOMAIN, "eps is nan", ERR, otad_metric_learning p = learning(); p.eps = NAN; return otad_metric_learning_check(&p, err);) \
X(learning_check_steps, otad_metric_learning_check, "steps 0", OTAD_EDOMAIN, "0 steps", ERR, otad_metric_learning p = learning(); p.steps = 0; return otad_metric_learning_check(&p, err);) \
X(learning_check_frames, otad_metric_learning_check, "n_frames 2", OTAD_EINVAL, "2 frames given", ERR, otad_metric_learning p = learning(); p.n_frames = 2; return otad_metric_learning_check(&p, err);) \
X(learning_check_frames_null, otad_metric_learning_check, "frames NULL", OTAD_EINVAL, "frames", ERR, otad_metric_learning p = learning(); p.frames = NULL; return otad_metric_learning_check(&p, err);) \
X(learning_check_negative, otad_metric_learning_check, "a negative frame entry", OTAD_EDOMAIN, "negative", ERR, double fr[27]; memcpy(fr, FRAMES, sizeof fr); fr[4] = -fr[4]; otad_metric_learning p = learning(); p.frames = fr; return otad_metric_learning_check(&p, err);) \
X(learning_check_nan, otad_metric_learning_check, "a NaN frame entry", OTAD_EDOMAIN, "nan", ERR, double fr[27]; memcpy(fr, FRAMES, sizeof fr); fr[10] = NAN; otad_metric_learning p = learning(); p.frames = fr; return otad_metric_learning_check(&p, err);) \
X(learning_check_masses, otad_metric_learning_check, "frames of masses 1 and 2", OTAD_EDOMAIN, "mass", ERR, double fr[27]; memcpy(fr, FRAMES, sizeof fr); fr[20] += 1; otad_metric_learning p = learning(); p.frames = fr; return otad_metric_learning_check(&p, err);) \
X(learning_check_times, otad_metric_learning_check, "times 0, 0.7, 0.5", OTAD_EDOMAIN, "times run from 0 to 0.5", ERR, static const double times[3] = {0, 0.7, 0.5}; otad_metric_learning p = learning(); p.times = times; return otad_metric_learning_check(&p, err);) \
X(learning_check_times_start, otad_metric_learning_check, "times 0.1, 0.5, 1", OTAD_EDOMAIN, "times run from 0.1", ERR, static const double times[3] = {0.1, 0.5, 1}; otad_metric_learning p = learning(); p.times = times; return otad_metric_learning_check(&p, err);) \
X(learning_check_sinkhorn, otad_metric_learning_check, "loss SINKHORN", OTAD_EINVAL, "loss", ERR, otad_metric_learning p = learning(); p.loss = OTAD_LOSS_SINKHORN; return otad_metric_learning_check(&p, err);) \
X(learning_check_loss, otad_metric_learning_check, "loss 99", OTAD_EINVAL, "loss", ERR, otad_metric_learning p = learning(); p.loss = (otad_histogram_loss)99; return otad_metric_learning_check(&p, err);) \
X(learning_check_kl, otad_metric_learning_check, "KL with a zero frame entry", OTAD_EDOMAIN, "KL", ERR, double fr[27]; memcpy(fr, FRAMES, sizeof fr); fr[9] = 0; fr[10] += 1.0 / 9; otad_metric_learning p = learning(); p.frames = fr; p.loss = OTAD_LOSS_KL; return otad_metric_learning_check(&p, err);) \
X(learning_check_lambda_c, otad_metric_learning_check, "lambda_c -1", OTAD_EDOMAIN, "lambda_c -1", ERR, otad_metric_learning p = learning(); p.lambda_c = -1; return otad_metric_learning_check(&p, err);) \
X(learning_check_lambda_s, otad_metric_learning_check, "lambda_s NaN", OTAD_EDOMAIN, "lambda_s nan", ERR, otad_metric_learning p = learning(); p.lambda_s = NAN; return otad_metric_learning_check(&p, err);) \
X(learning_check_data_weight, otad_metric_learning_check, "data_weight -1", OTAD_EDOMAIN, "data weight -1", ERR, otad_metric_learning p = learning(); p.data_weight = -1; return otad_metric_learning_check(&p, err);) \
X(learning_check_iterations, otad_metric_learning_check, "barycenter.iterations 0", OTAD_EINVAL, "barycenter.iterations", ERR, otad_metric_learning p = learning(); p.barycenter.iterations = 0; return otad_metric_learning_check(&p, err);) \
X(learning_check_overflow, otad_metric_learning_check, "n_frames SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, otad_metric_learning p = learning(); p.n_frames = SIZE_MAX / 2; return otad_metric_learning_check(&p, err);) \
X(learning_build_null_tape, otad_metric_learning_build, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_metric_learning p = learning(); return !otad_var_valid(otad_metric_learning_build(NULL, f->w12, &p));) \
X(learning_build_null, otad_metric_learning_build, "problem NULL", OTAD_EINVAL, "no problem or graph given", VAR, return otad_metric_learning_build(t, f->w12, NULL);) \
X(learning_build_z, otad_metric_learning_build, "z 3x1 for 12 edges", OTAD_ESHAPE, "z has 3 entries", VAR, otad_metric_learning p = learning(); return otad_metric_learning_build(t, f->h3, &p);) \
X(learning_build_invalid, otad_metric_learning_build, "z the zero handle", OTAD_EINVAL, "not a node", VAR, otad_metric_learning p = learning(); return otad_metric_learning_build(t, f->invalid, &p);) \
X(learning_fit_null, otad_metric_learning_fit, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return learning_fit(NULL, NULL, NULL, 0, err);) \
X(learning_fit_result, otad_metric_learning_fit, "result NULL", OTAD_EINVAL, "no result given", ERR, otad_metric_learning p = learning(); return learning_fit(&p, NULL, NULL, 1, err);) \
X(learning_fit_problem, otad_metric_learning_fit, "n_frames 2", OTAD_EINVAL, "2 frames given", ERR, otad_metric_learning p = learning(); p.n_frames = 2; return learning_fit(&p, NULL, NULL, 0, err);) \
X(learning_fit_start, otad_metric_learning_fit, "a zero start weight", OTAD_EDOMAIN, "weight of edge 5 is 0", ERR, otad_metric_learning p = learning(); return learning_fit(&p, W12_ZERO, NULL, 0, err);) \
X(learning_fit_params, otad_metric_learning_fit, "params max_linesearch 0", OTAD_EINVAL, "max_linesearch", ERR, otad_metric_learning p = learning(); otad_lbfgs_params q = few_iterations(); q.max_linesearch = 0; return learning_fit(&p, NULL, &q, 0, err);) \
X(learning_result_free_null, otad_metric_learning_result_free, "result NULL", NEUTRAL, "nothing done", IS, otad_metric_learning_result_free(NULL); return 1;) \
X(interpolate_null, otad_metric_learning_interpolate, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return interpolate(NULL, NULL, 2, TIMES2, 0, err);) \
X(interpolate_empty, otad_metric_learning_interpolate, "n_times 0", OTAD_EINVAL, "n_times is 0", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, 0, TIMES2, 0, err);) \
X(interpolate_times, otad_metric_learning_interpolate, "times NULL", OTAD_EINVAL, "times is NULL", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, 2, NULL, 0, err);) \
X(interpolate_out, otad_metric_learning_interpolate, "out NULL", OTAD_EINVAL, "out is NULL", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, 2, TIMES2, 1, err);) \
X(interpolate_far, otad_metric_learning_interpolate, "time 1.5", OTAD_EDOMAIN, "1.5", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, 2, FAR_TIMES, 0, err);) \
X(interpolate_nan, otad_metric_learning_interpolate, "time NaN", OTAD_EDOMAIN, "nan", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, 2, NAN_TIMES, 0, err);) \
X(interpolate_w, otad_metric_learning_interpolate, "a zero weight", OTAD_EDOMAIN, "weight of edge 5 is 0", ERR, otad_metric_learning p = learning(); return interpolate(&p, W12_ZERO, 2, TIMES2, 0, err);) \
X(interpolate_overflow, otad_metric_learning_interpolate, "n_times SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, otad_metric_learning p = learning(); return interpolate(&p, NULL, SIZE_MAX / 2, TIMES2, 0, err);) \
X(interpolate_graph, otad_metric_learning_interpolate, "graph NULL", OTAD_EINVAL, "no graph given", ERR, otad_metric_learning p = learning(); p.graph = NULL; return interpolate(&p, NULL, 2, TIMES2, 0, err);) \
X(mke_init_null, otad_mke_init, "problem NULL", NEUTRAL, "nothing done", IS, otad_mke_init(NULL); return 1;) \
X(mke_check_null, otad_mke_check, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return otad_mke_check(NULL, err);) \
X(mke_check_dim, otad_mke_check, "dim 0", OTAD_EINVAL, "dim", ERR, otad_mke p = mke(); p.dim = 0; return otad_mke_check(&p, err);) \
X(mke_check_n_data, otad_mke_check, "n_data 0", OTAD_EINVAL, "no data given (0 points", ERR, otad_mke p = mke(); p.n_data = 0; return otad_mke_check(&p, err);) \
X(mke_check_data, otad_mke_check, "data NULL", OTAD_EINVAL, "data", ERR, otad_mke p = mke(); p.data = NULL; return otad_mke_check(&p, err);) \
X(mke_check_nan, otad_mke_check, "a NaN coordinate", OTAD_EDOMAIN, "nan", ERR, otad_mke p = mke(); p.data = NAN6; return otad_mke_check(&p, err);) \
X(mke_check_weights, otad_mke_check, "a negative data weight", OTAD_EDOMAIN, "weight", ERR, otad_mke p = mke(); p.data_weights = NEG3; return otad_mke_check(&p, err);) \
X(mke_check_no_weight, otad_mke_check, "data weights all 0", OTAD_EDOMAIN, "weight", ERR, static const double zero[3] = {0, 0, 0}; otad_mke p = mke(); p.data_weights = zero; return otad_mke_check(&p, err);) \
X(mke_check_model, otad_mke_check, "model NULL", OTAD_EINVAL, "model", ERR, otad_mke p = mke(); p.model = NULL; return otad_mke_check(&p, err);) \
X(mke_check_unbalanced_value, otad_mke_check, "rho_a finite with the transport cost", OTAD_EINVAL, "needs a KL value", ERR, otad_mke p = mke(); p.sinkhorn.rho_a = 0.5; return otad_mke_check(&p, err);) \
X(mke_check_free_mass, otad_mke_check, "free_mass 2", OTAD_EINVAL, "free_mass is 2", ERR, otad_mke p = mke(); p.free_mass = 2; return otad_mke_check(&p, err);) \
X(mke_check_free_mass_balanced, otad_mke_check, "free_mass with a balanced loss", OTAD_EINVAL, "free_mass needs an unbalanced loss", ERR, otad_mke p = mke(); p.free_mass = 1; p.value = OTAD_SINKHORN_KL_DUAL; return otad_mke_check(&p, err);) \
X(mke_check_params, otad_mke_check, "n_params 0", OTAD_EINVAL, "no model given", ERR, otad_mke p = mke(); p.n_params = 0; return otad_mke_check(&p, err);) \
X(mke_check_eps, otad_mke_check, "eps 0", OTAD_EDOMAIN, "eps is 0", ERR, otad_mke p = mke(); p.eps = 0; return otad_mke_check(&p, err);) \
X(mke_check_eps_nan, otad_mke_check, "eps NaN", OTAD_EDOMAIN, "eps is nan", ERR, otad_mke p = mke(); p.eps = NAN; return otad_mke_check(&p, err);) \
X(mke_check_value, otad_mke_check, "value 99", OTAD_EINVAL, "value", ERR, otad_mke p = mke(); p.value = (otad_sinkhorn_value)99; return otad_mke_check(&p, err);) \
X(mke_check_debiased, otad_mke_check, "debiased 2", OTAD_EINVAL, "debiased", ERR, otad_mke p = mke(); p.debiased = 2; return otad_mke_check(&p, err);) \
X(mke_check_sinkhorn, otad_mke_check, "sinkhorn.iterations 0", OTAD_EINVAL, "sinkhorn.iterations", ERR, otad_mke p = mke(); p.sinkhorn.iterations = 0; return otad_mke_check(&p, err);) \
X(mke_check_mode, otad_mke_check, "sinkhorn.mode 99", OTAD_EINVAL, "sinkhorn.mode", ERR, otad_mke p = mke(); p.sinkhorn.mode = (otad_grad_mode)99; return otad_mke_check(&p, err);) \
X(mke_check_overflow, otad_mke_check, "n_data SIZE_MAX/2", OTAD_EINVAL, "more entries than fit", ERR, otad_mke p = mke(); p.n_data = SIZE_MAX / 2; return otad_mke_check(&p, err);) \
X(mke_build_null_tape, otad_mke_build, "tape NULL", NEUTRAL, "an invalid handle", IS, otad_mke p = mke(); return !otad_var_valid(otad_mke_build(NULL, otad_const(t, 6, 1, THETA6), &p));) \
X(mke_build_null, otad_mke_build, "problem NULL", OTAD_EINVAL, "no problem given", VAR, return otad_mke_build(t, otad_const(t, 6, 1, THETA6), NULL);) \
X(mke_build_theta, otad_mke_build, "theta 3x1 for 6 parameters", OTAD_ESHAPE, "theta has 3 entries", VAR, otad_mke p = mke(); return otad_mke_build(t, f->h3, &p);) \
X(mke_build_invalid, otad_mke_build, "theta the zero handle", OTAD_EINVAL, "not a node", VAR, otad_mke p = mke(); return otad_mke_build(t, f->invalid, &p);) \
X(mke_fit_null, otad_mke_fit, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return mke_fit(NULL, THETA6, 0, err);) \
X(mke_fit_start, otad_mke_fit, "start NULL", OTAD_EINVAL, "no start point given", ERR, otad_mke p = mke(); return mke_fit(&p, NULL, 0, err);) \
X(mke_fit_result, otad_mke_fit, "result NULL", OTAD_EINVAL, "no result given", ERR, otad_mke p = mke(); return mke_fit(&p, THETA6, 1, err);) \
X(mke_fit_nan, otad_mke_fit, "a NaN start", OTAD_EDOMAIN, "nan", ERR, otad_mke p = mke(); return mke_fit(&p, NAN6, 0, err);) \
X(mke_fit_problem, otad_mke_fit, "dim 0", OTAD_EINVAL, "dim", ERR, otad_mke p = mke(); p.dim = 0; return mke_fit(&p, THETA6, 0, err);) \
X(mke_result_free_null, otad_mke_result_free, "result NULL", NEUTRAL, "nothing done", IS, otad_mke_result_free(NULL); return 1;) \
X(mke_evaluate_null, otad_mke_evaluate, "problem NULL", OTAD_EINVAL, "no problem given", ERR, return mke_evaluate(NULL, THETA6, 0, err);) \
X(mke_evaluate_theta, otad_mke_evaluate, "theta NULL", OTAD_EINVAL, "needs theta and n_model", ERR, otad_mke p = mke(); return mke_evaluate(&p, NULL, 0, err);) \
X(mke_evaluate_count, otad_mke_evaluate, "n_model NULL", OTAD_EINVAL, "needs theta and n_model", ERR, otad_mke p = mke(); return mke_evaluate(&p, THETA6, 1, err);) \
X(mke_evaluate_nan, otad_mke_evaluate, "a NaN in theta", OTAD_EDOMAIN, "nan", ERR, otad_mke p = mke(); return mke_evaluate(&p, NAN6, 0, err);) \
X(use_atoms_null, otad_mke_use_atoms, "problem NULL", OTAD_EINVAL, "no problem or model given", ERR, otad_mke_atoms a; return otad_mke_use_atoms(NULL, &a, 2, err);) \
X(use_atoms_atoms, otad_mke_use_atoms, "atoms NULL", OTAD_EINVAL, "no problem or model given", ERR, otad_mke p = mke(); return otad_mke_use_atoms(&p, NULL, 2, err);) \
X(use_atoms_zero, otad_mke_use_atoms, "k 0", OTAD_EINVAL, "k", ERR, otad_mke p = mke(); otad_mke_atoms a; return otad_mke_use_atoms(&p, &a, 0, err);) \
X(use_atoms_dim, otad_mke_use_atoms, "a problem of dim 0", OTAD_EINVAL, "set the data first", ERR, otad_mke p = mke(); p.dim = 0; otad_mke_atoms a; return otad_mke_use_atoms(&p, &a, 2, err);) \
X(atoms_model_null_tape, otad_mke_atoms_model, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, otad_var pts, w; return otad_mke_atoms_model(NULL, otad_const(t, 6, 1, THETA6), &ATOMS, &pts, &w) == OTAD_EINVAL;) \
X(atoms_model_null, otad_mke_atoms_model, "atoms NULL", OTAD_EINVAL, "atoms is NULL", RC, return model_on(t, otad_mke_atoms_model, NULL, 6, 0);) \
X(atoms_model_points, otad_mke_atoms_model, "points NULL", OTAD_EINVAL, "points is NULL", RC, return model_on(t, otad_mke_atoms_model, &ATOMS, 6, 1);) \
X(atoms_model_theta, otad_mke_atoms_model, "theta 3x1 for 6 parameters", OTAD_ESHAPE, "theta has 3 entries", RC, return model_on(t, otad_mke_atoms_model, &ATOMS, 3, 0);) \
X(atoms_start_null, otad_mke_atoms_start, "problem NULL", NEUTRAL, "theta unchanged", IS, double th[6] = {7, 7, 7, 7, 7, 7}; otad_mke_atoms_start(NULL, &ATOMS, 1, th); return th[0] == 7;) \
X(atoms_start_atoms, otad_mke_atoms_start, "atoms NULL", NEUTRAL, "theta unchanged", IS, otad_mke p = mke(); double th[6] = {7, 7, 7, 7, 7, 7}; otad_mke_atoms_start(&p, NULL, 1, th); return th[0] == 7;) \
X(atoms_start_theta, otad_mke_atoms_start, "theta NULL", NEUTRAL, "nothing done", IS, otad_mke p = mke(); otad_mke_atoms_start(&p, &ATOMS, 1, NULL); return 1;) \
X(use_ellipses_null, otad_mke_use_ellipses, "problem NULL", OTAD_EINVAL, "no problem or model given", ERR, return otad_mke_use_ellipses(NULL, &ELLIPSES, 1, 4, SAMPLES, err);) \
X(use_ellipses_struct, otad_mke_use_ellipses, "ellipses NULL", OTAD_EINVAL, "no problem or model given", ERR, otad_mke p = mke(); return otad_mke_use_ellipses(&p, NULL, 1, 4, SAMPLES, err);) \
X(use_ellipses_count, otad_mke_use_ellipses, "count 0", OTAD_EINVAL, "0 ellipses", ERR, return use_ellipses(2, 0, 4, SAMPLES, err);) \
X(use_ellipses_samples, otad_mke_use_ellipses, "n_samples 0", OTAD_EINVAL, "0 disk samples", ERR, return use_ellipses(2, 1, 0, SAMPLES, err);) \
X(use_ellipses_samples_null, otad_mke_use_ellipses, "samples NULL", OTAD_EINVAL, "samples is NULL", ERR, return use_ellipses(2, 1, 4, NULL, err);) \
X(use_ellipses_nan, otad_mke_use_ellipses, "a NaN sample", OTAD_EDOMAIN, "disk sample 2 is not finite", ERR, return use_ellipses(2, 1, 4, NAN_SAMPLES, err);) \
X(use_ellipses_dim, otad_mke_use_ellipses, "a problem of dim 3", OTAD_EINVAL, "3 coordinates", ERR, return use_ellipses(3, 1, 4, SAMPLES, err);) \
X(use_ellipses_overflow, otad_mke_use_ellipses, "count SIZE_MAX/2 of 4 samples", OTAD_EINVAL, "more entries than fit", ERR, return use_ellipses(2, SIZE_MAX / 2, 4, SAMPLES, err);) \
X(ellipses_model_null_tape, otad_mke_ellipses_model, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, otad_var pts, w; return otad_mke_ellipses_model(NULL, otad_const(t, 6, 1, THETA6), &ELLIPSES, &pts, &w) == OTAD_EINVAL;) \
X(ellipses_model_null, otad_mke_ellipses_model, "ellipses NULL", OTAD_EINVAL, "ellipses is NULL", RC, return model_on(t, otad_mke_ellipses_model, NULL, 6, 0);) \
X(ellipses_model_theta, otad_mke_ellipses_model, "theta 3x1 for 6 parameters", OTAD_ESHAPE, "theta has 3 entries", RC, otad_mke p = mke(); otad_mke_use_ellipses(&p, &ELLIPSES, 1, 4, SAMPLES, NULL); return model_on(t, otad_mke_ellipses_model, &ELLIPSES, 3, 0);) \
X(disk_samples_null, otad_disk_samples, "z NULL", NEUTRAL, "nothing done", IS, otad_disk_samples(4, NULL); return 1;) \
X(disk_samples_empty, otad_disk_samples, "n 0", NEUTRAL, "nothing written", IS, double z = 7; otad_disk_samples(0, &z); return z == 7;) \
X(semi_axes_null, otad_ellipse_semi_axes, "block NULL", NEUTRAL, "NaN axes", IS, double axes[2] = {7, 7}; otad_ellipse_semi_axes(NULL, axes); return isnan(axes[0]) && isnan(axes[1]);) \
X(semi_axes_out_null, otad_ellipse_semi_axes, "axes NULL", NEUTRAL, "nothing done", IS, otad_ellipse_semi_axes(THETA6, NULL); return 1;) \
X(semi_axes_nan, otad_ellipse_semi_axes, "a NaN in the block", NEUTRAL, "NaN axes", IS, double axes[2] = {7, 7}; otad_ellipse_semi_axes(NAN6, axes); return isnan(axes[0]) && isnan(axes[1]);) \
X(use_mlp_null, otad_mke_use_mlp, "problem NULL", OTAD_EINVAL, "no problem or model given", ERR, return use_mlp(1, &MLP, 2, 1, HIDDEN3, 4, SAMPLES, err);) \
X(use_mlp_struct, otad_mke_use_mlp, "mlp NULL", OTAD_EINVAL, "no problem or model given", ERR, return use_mlp(0, NULL, 2, 1, HIDDEN3, 4, SAMPLES, err);) \
X(use_mlp_latent, otad_mke_use_mlp, "latent_dim 0", OTAD_EINVAL, "latent dimension 0", ERR, return use_mlp(0, &MLP, 0, 1, HIDDEN3, 4, SAMPLES, err);) \
X(use_mlp_no_hidden, otad_mke_use_mlp, "n_hidden 0", OTAD_EINVAL, "0 hidden layers", ERR, return use_mlp(0, &MLP, 2, 0, HIDDEN3, 4, SAMPLES, err);) \
X(use_mlp_many_hidden, otad_mke_use_mlp, "n_hidden 8", OTAD_EINVAL, "8 hidden layers", ERR, size_t hidden[8] = {3, 3, 3, 3, 3, 3, 3, 3}; return use_mlp(0, &MLP, 2, 8, hidden, 4, SAMPLES, err);) \
X(use_mlp_hidden_null, otad_mke_use_mlp, "hidden NULL", OTAD_EINVAL, "hidden is NULL", ERR, return use_mlp(0, &MLP, 2, 1, NULL, 4, SAMPLES, err);) \
X(use_mlp_width, otad_mke_use_mlp, "a hidden width 0", OTAD_EINVAL, "width", ERR, return use_mlp(0, &MLP, 2, 1, HIDDEN0, 4, SAMPLES, err);) \
X(use_mlp_samples, otad_mke_use_mlp, "samples NULL", OTAD_EINVAL, "no latent samples given", ERR, return use_mlp(0, &MLP, 2, 1, HIDDEN3, 4, NULL, err);) \
X(use_mlp_no_samples, otad_mke_use_mlp, "n_samples 0", OTAD_EINVAL, "no latent samples given", ERR, return use_mlp(0, &MLP, 2, 1, HIDDEN3, 0, SAMPLES, err);) \
X(use_mlp_nan, otad_mke_use_mlp, "a NaN sample", OTAD_EDOMAIN, "latent sample 2 is not finite", ERR, return use_mlp(0, &MLP, 2, 1, HIDDEN3, 4, NAN_SAMPLES, err);) \
X(mlp_model_null_tape, otad_mke_mlp_model, "tape NULL", NEUTRAL, "OTAD_EINVAL", IS, otad_var pts, w; return otad_mke_mlp_model(NULL, otad_const(t, 6, 1, THETA6), &MLP, &pts, &w) == OTAD_EINVAL;) \
X(mlp_model_null, otad_mke_mlp_model, "mlp NULL", OTAD_EINVAL, "mlp is NULL", RC, return model_on(t, otad_mke_mlp_model, NULL, 6, 0);) \
X(mlp_model_theta, otad_mke_mlp_model, "theta 3x1", OTAD_ESHAPE, "theta has 3 entries", RC, use_mlp(0, &MLP, 2, 1, HIDDEN3, 4, SAMPLES, NULL); return model_on(t, otad_mke_mlp_model, &MLP, 3, 0);) \
X(mlp_start_null, otad_mke_mlp_start, "mlp NULL", NEUTRAL, "theta unchanged", IS, double th[6] = {7, 7, 7, 7, 7, 7}; otad_mke_mlp_start(NULL, 1, th); return th[0] == 7;) \
X(mlp_start_theta, otad_mke_mlp_start, "theta NULL", NEUTRAL, "nothing done", IS, use_mlp(0, &MLP, 2, 1, HIDDEN3, 4, SAMPLES, NULL); otad_mke_mlp_start(&MLP, 1, NULL); return 1;)

/* ---- io/io.h ----------------------------------------------------------------------- */

#include <dirent.h>

static const char GARBAGE[] = "garbage.bin";  /* not a .npy, not a PNG (setup) */

/* rc, or MODIFIED when a failing call left a file in the test's directory
 * (every file but the garbage one is removed). */
static int no_file_left(int rc)
{
    int left = 0;
    DIR *d = opendir(tmp_path(""));
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] != '.' && strcmp(e->d_name, GARBAGE) != 0) {
            remove(tmp_path(e->d_name));
            left++;
        }
    if (d)
        closedir(d);
    return left && rc != OTAD_OK ? MODIFIED : rc;
}

static const double IMAGE4[4] = {0, 0.25, 0.5, 1}, NAN_IMAGE4[4] = {0, NAN, 0.5, 1};
static const unsigned char RGB4[12] = {0};
static const double XS[3] = {1, 2, 3}, YS[3] = {1, 4, 9}, NAN_YS[3] = {1, NAN, 9};
static const double IMAGE6[6] = {0, 1, 2, 3, 4, 5};
static const double NEG_YS[3] = {1, -4, 9};

static int npy_read(const char *path, int no_out, otad_error *err)
{
    otad_array a = {(double *)IN3, 1, {3}};
    int rc = otad_npy_read(path, no_out ? NULL : &a, err);
    int changed = a.data != IN3 || a.ndim != 1 || a.shape[0] != 3;
    if (rc == OTAD_OK && changed)
        otad_array_free(&a);
    return unless_changed(rc, changed);
}

static int npy_write(const char *path, const otad_array *a, otad_error *err)
{
    return no_file_left(otad_npy_write(path, a, err));
}

static int npy_read_matrix(const char *path, int no_out, otad_error *err)
{
    otad_value v = in3;
    int rc = otad_npy_read_matrix(path, no_out ? NULL : &v, err);
    int changed = v.data != IN3 || v.rows != 3;
    if (rc == OTAD_OK && changed)
        free(v.data);
    return unless_changed(rc, changed);
}

/* IN3, out of the compiler's sight: what a read leaves alone on failure. */
static double *volatile untouched = IN3;

static int png_read(const char *path, int rgb, int no_out, otad_error *err)
{
    otad_value v = {untouched, 3, 1};
    double *pixels = untouched;
    size_t w = 7, h = 7;
    int rc = rgb ? otad_png_read_rgb(path, no_out ? NULL : &pixels, &w, &h, err)
                 : otad_png_read_gray(path, no_out ? NULL : &v, &w, &h, err);
    int changed = v.data != IN3 || pixels != IN3 || w != 7 || h != 7;
    if (rc == OTAD_OK && changed)
        free(rgb ? pixels : v.data);
    return unless_changed(rc, changed);
}

/* otad_histogram_from_gray of a 2×2 image (one column) copied from x: an
 * image changed by a failing call is MODIFIED. */
static int histogram(const double *x, size_t rows, int dark, int no_image, otad_error *err)
{
    double data[4];
    memcpy(data, x ? x : IMAGE4, sizeof data);
    otad_value v = {x ? data : NULL, rows, 1};
    int rc = otad_histogram_from_gray(no_image ? NULL : &v, dark, err);
    return unless_changed(rc, x && memcmp(data, x, sizeof data) != 0);
}

static otad_image_opts image_opts(void)
{
    otad_image_opts o;
    otad_image_opts_init(&o);
    return o;
}

static int heatmap(const double *values, size_t width, size_t height,
                   const otad_image_opts *opts, otad_error *err)
{
    return no_file_left(otad_png_write_heatmap(tmp_path("heat.png"), values, width, height,
                                               opts, err));
}

static int strip(const double *const *images, size_t n, size_t width,
                 const otad_image_opts *opts, otad_error *err)
{
    return no_file_left(otad_png_write_strip(tmp_path("strip.png"), images, n, width, 2, opts,
                                             err));
}

static otad_plot_opts plot_opts(void)
{
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    return o;
}

static int plot(const double *x, const double *y, size_t n, int style,
                const otad_plot_opts *opts, otad_error *err)
{
    otad_plot_series s = {x, y, n, style, 0, "y"};
    return no_file_left(otad_png_write_plot(tmp_path("plot.png"), &s, 1, opts, err));
}

/* A 3×2 image on the region [0, 3] × [0, 2]. */
static otad_plot_opts region_opts(void)
{
    otad_plot_opts o = plot_opts();
    o.x_min = 0, o.x_max = 3, o.y_min = 0, o.y_max = 2;
    return o;
}

static int image_plot(const double *values, const otad_image_opts *image,
                      const otad_plot_opts *opts, otad_error *err)
{
    return no_file_left(otad_png_write_image_plot(tmp_path("image_plot.png"), values, 3, 2,
                                                  image, opts, err));
}

static int bars(const double *values, size_t n_series, size_t n_categories,
                const otad_plot_opts *opts, otad_error *err)
{
    otad_bar_series s = {values, 0, "values"};
    return no_file_left(otad_png_write_bars(tmp_path("bars.png"), &s, n_series, n_categories,
                                            NULL, opts, err));
}

static const double *const TWO_IMAGES[2] = {IMAGE4, IMAGE4};
static const double *const HOLE_IMAGES[2] = {IMAGE4, NULL};
static const double *const NAN_IMAGES[2] = {IMAGE4, NAN_IMAGE4};

#define IO_ROWS(X) \
X(array_size_null, otad_array_size, "a NULL", NEUTRAL, "0", IS, return otad_array_size(NULL) == 0;) \
X(array_size_dims, otad_array_size, "ndim 9", NEUTRAL, "0", IS, otad_array a = {NULL, 9, {1, 1, 1, 1, 1, 1, 1, 1}}; return otad_array_size(&a) == 0;) \
X(array_size_overflow, otad_array_size, "shape (2^32+1, 2^32+1), which wraps", NEUTRAL, "0", IS, otad_array a = {NULL, 2, {((size_t)1 << 32) + 1, ((size_t)1 << 32) + 1}}; return otad_array_size(&a) == 0;) \
X(array_free_null, otad_array_free, "a NULL", NEUTRAL, "nothing done", IS, otad_array_free(NULL); otad_array a = {0}; otad_array_free(&a); return a.data == NULL;) \
X(npy_read_path, otad_npy_read, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return npy_read(NULL, 0, err);) \
X(npy_read_out, otad_npy_read, "out NULL", OTAD_EINVAL, "out is NULL", ERR, return npy_read(tmp_path(GARBAGE), 1, err);) \
X(npy_read_missing, otad_npy_read, "a missing file", OTAD_EIO, "missing.npy", ERR, return npy_read(tmp_path("missing.npy"), 0, err);) \
X(npy_read_garbage, otad_npy_read, "a file that is not .npy", OTAD_EFORMAT, GARBAGE, ERR, return npy_read(tmp_path(GARBAGE), 0, err);) \
X(npy_write_path, otad_npy_write, "path NULL", OTAD_EINVAL, "path is NULL", ERR, otad_array a = {IN3, 1, {3}}; return npy_write(NULL, &a, err);) \
X(npy_write_array, otad_npy_write, "a NULL", OTAD_EINVAL, "no array (NULL)", ERR, return npy_write(tmp_path("a.npy"), NULL, err);) \
X(npy_write_data, otad_npy_write, "data NULL", OTAD_EINVAL, "no data (NULL)", ERR, otad_array a = {NULL, 1, {3}}; return npy_write(tmp_path("a.npy"), &a, err);) \
X(npy_write_dims, otad_npy_write, "ndim 9", OTAD_EINVAL, "9", ERR, otad_array a = {IN3, 9, {1, 1, 1, 1, 1, 1, 1, 3}}; return npy_write(tmp_path("a.npy"), &a, err);) \
X(npy_write_overflow, otad_npy_write, "shape (SIZE_MAX/2, 4)", OTAD_EINVAL, "the shape is too large", ERR, otad_array a = {IN3, 2, {SIZE_MAX / 2, 4}}; return npy_write(tmp_path("a.npy"), &a, err);) \
X(npy_write_dir, otad_npy_write, "a path in a missing directory", OTAD_EIO, "no/such", ERR, otad_array a = {IN3, 1, {3}}; return npy_write(tmp_path("no/such/a.npy"), &a, err);) \
X(array_columns_null, otad_array_columns, "a NULL", NEUTRAL, "data NULL", IS, return otad_array_columns(NULL).data == NULL;) \
X(array_columns_dims, otad_array_columns, "ndim 9", NEUTRAL, "data NULL", IS, otad_array a = {IN3, 9, {1, 1, 1, 1, 1, 1, 1, 3}}; return otad_array_columns(&a).data == NULL;) \
X(npy_read_matrix_path, otad_npy_read_matrix, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return npy_read_matrix(NULL, 0, err);) \
X(npy_read_matrix_out, otad_npy_read_matrix, "out NULL", OTAD_EINVAL, "out is NULL", ERR, return npy_read_matrix(tmp_path(GARBAGE), 1, err);) \
X(npy_read_matrix_missing, otad_npy_read_matrix, "a missing file", OTAD_EIO, "missing.npy", ERR, return npy_read_matrix(tmp_path("missing.npy"), 0, err);) \
X(npy_read_matrix_garbage, otad_npy_read_matrix, "a file that is not .npy", OTAD_EFORMAT, GARBAGE, ERR, return npy_read_matrix(tmp_path(GARBAGE), 0, err);) \
X(npy_write_matrix_path, otad_npy_write_matrix, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return no_file_left(otad_npy_write_matrix(NULL, in3, err));) \
X(npy_write_matrix_data, otad_npy_write_matrix, "data NULL", OTAD_EINVAL, "data NULL", ERR, otad_value v = {NULL, 3, 1}; return no_file_left(otad_npy_write_matrix(tmp_path("m.npy"), v, err));) \
X(npy_write_matrix_empty, otad_npy_write_matrix, "0 rows", OTAD_EINVAL, "0x1", ERR, otad_value v = {IN3, 0, 1}; return no_file_left(otad_npy_write_matrix(tmp_path("m.npy"), v, err));) \
X(npy_write_matrix_overflow, otad_npy_write_matrix, "SIZE_MAX/2 x 4", OTAD_EINVAL, "the shape is too large", ERR, otad_value v = {IN3, SIZE_MAX / 2, 4}; return no_file_left(otad_npy_write_matrix(tmp_path("m.npy"), v, err));) \
X(png_read_gray_path, otad_png_read_gray, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return png_read(NULL, 0, 0, err);) \
X(png_read_gray_out, otad_png_read_gray, "out NULL", OTAD_EINVAL, "out is NULL", ERR, return png_read(tmp_path(GARBAGE), 0, 1, err);) \
X(png_read_gray_missing, otad_png_read_gray, "a missing file", OTAD_EIO, "missing.png", ERR, return png_read(tmp_path("missing.png"), 0, 0, err);) \
X(png_read_gray_garbage, otad_png_read_gray, "a file that is not a PNG", OTAD_EFORMAT, GARBAGE, ERR, return png_read(tmp_path(GARBAGE), 0, 0, err);) \
X(png_read_rgb_path, otad_png_read_rgb, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return png_read(NULL, 1, 0, err);) \
X(png_read_rgb_out, otad_png_read_rgb, "rgb NULL", OTAD_EINVAL, "rgb is NULL", ERR, return png_read(tmp_path(GARBAGE), 1, 1, err);) \
X(png_read_rgb_missing, otad_png_read_rgb, "a missing file", OTAD_EIO, "missing.png", ERR, return png_read(tmp_path("missing.png"), 1, 0, err);) \
X(png_read_rgb_garbage, otad_png_read_rgb, "a file that is not a PNG", OTAD_EFORMAT, GARBAGE, ERR, return png_read(tmp_path(GARBAGE), 1, 0, err);) \
X(histogram_null, otad_histogram_from_gray, "image NULL", OTAD_EINVAL, "no image (NULL or empty)", ERR, return histogram(IMAGE4, 4, 0, 1, err);) \
X(histogram_data, otad_histogram_from_gray, "data NULL", OTAD_EINVAL, "no image (NULL or empty)", ERR, return histogram(NULL, 4, 0, 0, err);) \
X(histogram_empty, otad_histogram_from_gray, "0 rows", OTAD_EINVAL, "no image (NULL or empty)", ERR, return histogram(IMAGE4, 0, 0, 0, err);) \
X(histogram_above, otad_histogram_from_gray, "an entry 1.5", OTAD_EDOMAIN, "1.5", ERR, static const double x[4] = {0, 0.5, 1.5, 1}; return histogram(x, 4, 0, 0, err);) \
X(histogram_nan, otad_histogram_from_gray, "a NaN entry", OTAD_EDOMAIN, "nan", ERR, return histogram(NAN_IMAGE4, 4, 0, 0, err);) \
X(histogram_no_mass, otad_histogram_from_gray, "white ink on white paper", OTAD_EDOMAIN, "mass", ERR, static const double x[4] = {1, 1, 1, 1}; return histogram(x, 4, 1, 0, err);) \
X(histogram_flag, otad_histogram_from_gray, "dark_is_mass 2", OTAD_EINVAL, "dark_is_mass", ERR, return histogram(IMAGE4, 4, 2, 0, err);) \
X(colormap_unknown, otad_colormap, "colormap 99", NEUTRAL, "gray", IS, return otad_colormap(99, 0.3) == otad_colormap(OTAD_COLORMAP_GRAY, 0.3);) \
X(colormap_nan, otad_colormap, "t NaN", NEUTRAL, "the middle colour", IS, return otad_colormap(OTAD_COLORMAP_HEAT, NAN) == otad_colormap(OTAD_COLORMAP_HEAT, 0.5);) \
X(image_opts_init_null, otad_image_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_image_opts_init(NULL); return 1;) \
X(heatmap_path, otad_png_write_heatmap, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return no_file_left(otad_png_write_heatmap(NULL, IMAGE4, 2, 2, NULL, err));) \
X(heatmap_values, otad_png_write_heatmap, "values NULL", OTAD_EINVAL, "image 0 is NULL", ERR, return heatmap(NULL, 2, 2, NULL, err);) \
X(heatmap_width, otad_png_write_heatmap, "width 0", OTAD_EINVAL, "0x2", ERR, return heatmap(IMAGE4, 0, 2, NULL, err);) \
X(heatmap_large, otad_png_write_heatmap, "width 32769", OTAD_EINVAL, "32769", ERR, return heatmap(IMAGE4, 32769, 1, NULL, err);) \
X(heatmap_overflow, otad_png_write_heatmap, "SIZE_MAX/2 x 4", OTAD_EINVAL, "too large", ERR, return heatmap(IMAGE4, SIZE_MAX / 2, 4, NULL, err);) \
X(heatmap_nan, otad_png_write_heatmap, "a NaN value", OTAD_EDOMAIN, "nan", ERR, return heatmap(NAN_IMAGE4, 2, 2, NULL, err);) \
X(heatmap_colormap, otad_png_write_heatmap, "colormap 99", OTAD_EINVAL, "colormap", ERR, otad_image_opts o = image_opts(); o.colormap = 99; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_scale, otad_png_write_heatmap, "scale 0", OTAD_EINVAL, "scale", ERR, otad_image_opts o = image_opts(); o.scale = 0; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_scale_large, otad_png_write_heatmap, "scale 20000 of 2 pixels", OTAD_EINVAL, "32767", ERR, otad_image_opts o = image_opts(); o.scale = 20000; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_gap, otad_png_write_heatmap, "gap -1", OTAD_EINVAL, "gap", ERR, otad_image_opts o = image_opts(); o.gap = -1; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_vmin, otad_png_write_heatmap, "vmin NaN", OTAD_EINVAL, "colour range nan..0 is not finite", ERR, otad_image_opts o = image_opts(); o.vmin = NAN; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_vmax, otad_png_write_heatmap, "vmax inf", OTAD_EINVAL, "colour range 0..inf is not finite", ERR, otad_image_opts o = image_opts(); o.vmax = INFINITY; return heatmap(IMAGE4, 2, 2, &o, err);) \
X(heatmap_dir, otad_png_write_heatmap, "a path in a missing directory", OTAD_EIO, "no/such", ERR, return otad_png_write_heatmap(tmp_path("no/such/h.png"), IMAGE4, 2, 2, NULL, err);) \
X(strip_images, otad_png_write_strip, "images NULL", OTAD_EINVAL, "images NULL", ERR, return strip(NULL, 2, 2, NULL, err);) \
X(strip_none, otad_png_write_strip, "n_images 0", OTAD_EINVAL, "no images: 0 of 2x2", ERR, return strip(TWO_IMAGES, 0, 2, NULL, err);) \
X(strip_hole, otad_png_write_strip, "images[1] NULL", OTAD_EINVAL, "image 1 is NULL", ERR, return strip(HOLE_IMAGES, 2, 2, NULL, err);) \
X(strip_nan, otad_png_write_strip, "a NaN in image 1", OTAD_EDOMAIN, "nan", ERR, return strip(NAN_IMAGES, 2, 2, NULL, err);) \
X(strip_wide, otad_png_write_strip, "2 images 20000 wide", OTAD_EINVAL, "32767", ERR, static double wide[40000]; const double *images[2] = {wide, wide}; return strip(images, 2, 20000, NULL, err);) \
X(strip_overflow, otad_png_write_strip, "SIZE_MAX/2 images", OTAD_EINVAL, "too large", ERR, return strip(TWO_IMAGES, SIZE_MAX / 2, 2, NULL, err);) \
X(strip_scale, otad_png_write_strip, "scale -1", OTAD_EINVAL, "scale", ERR, otad_image_opts o = image_opts(); o.scale = -1; return strip(TWO_IMAGES, 2, 2, &o, err);) \
X(png_write_rgb_path, otad_png_write_rgb, "path NULL", OTAD_EINVAL, "path is NULL", ERR, return no_file_left(otad_png_write_rgb(NULL, RGB4, 2, 2, err));) \
X(png_write_rgb_null, otad_png_write_rgb, "rgb NULL", OTAD_EINVAL, "pixels NULL", ERR, return no_file_left(otad_png_write_rgb(tmp_path("rgb.png"), NULL, 2, 2, err));) \
X(png_write_rgb_width, otad_png_write_rgb, "width 0", OTAD_EINVAL, "0x2", ERR, return no_file_left(otad_png_write_rgb(tmp_path("rgb.png"), RGB4, 0, 2, err));) \
X(png_write_rgb_height, otad_png_write_rgb, "height 32769", OTAD_EINVAL, "32769", ERR, return no_file_left(otad_png_write_rgb(tmp_path("rgb.png"), RGB4, 1, 32769, err));) \
X(plot_opts_init_null, otad_plot_opts_init, "opts NULL", NEUTRAL, "nothing done", IS, otad_plot_opts_init(NULL); return 1;) \
X(plot_path, otad_png_write_plot, "path NULL", OTAD_EINVAL, "path is NULL", ERR, otad_plot_series s = {XS, YS, 3, 0, 0, NULL}; return no_file_left(otad_png_write_plot(NULL, &s, 1, NULL, err));) \
X(plot_series, otad_png_write_plot, "series NULL, n_series 1", OTAD_EINVAL, "no series to plot", ERR, return no_file_left(otad_png_write_plot(tmp_path("plot.png"), NULL, 1, NULL, err));) \
X(plot_no_series, otad_png_write_plot, "n_series 0", OTAD_EINVAL, "no series to plot", ERR, otad_plot_series s = {XS, YS, 3, 0, 0, NULL}; return no_file_left(otad_png_write_plot(tmp_path("plot.png"), &s, 0, NULL, err));) \
X(plot_y, otad_png_write_plot, "y NULL", OTAD_EINVAL, "series 0 has no points", ERR, return plot(XS, NULL, 3, 0, NULL, err);) \
X(plot_nan, otad_png_write_plot, "a NaN y", OTAD_EDOMAIN, "nan", ERR, return plot(XS, NAN_YS, 3, 0, NULL, err);) \
X(plot_log, otad_png_write_plot, "log_y with y -4", OTAD_EDOMAIN, "-4", ERR, otad_plot_opts o = plot_opts(); o.log_y = 1; return plot(XS, NEG_YS, 3, 0, &o, err);) \
X(plot_log_flag, otad_png_write_plot, "log_x 2", OTAD_EINVAL, "log_x", ERR, otad_plot_opts o = plot_opts(); o.log_x = 2; return plot(XS, YS, 3, 0, &o, err);) \
X(plot_small, otad_png_write_plot, "width 100", OTAD_EINVAL, "100", ERR, otad_plot_opts o = plot_opts(); o.width = 100; return plot(XS, YS, 3, 0, &o, err);) \
X(plot_large, otad_png_write_plot, "height 40000", OTAD_EINVAL, "40000", ERR, otad_plot_opts o = plot_opts(); o.height = 40000; return plot(XS, YS, 3, 0, &o, err);) \
X(plot_style, otad_png_write_plot, "style 99", OTAD_EINVAL, "style", ERR, return plot(XS, YS, 3, 99, NULL, err);) \
X(plot_range, otad_png_write_plot, "x_min 5 above x_max 1", OTAD_EINVAL, "x range 5..1 is empty", ERR, otad_plot_opts o = plot_opts(); o.x_min = 5; o.x_max = 1; return plot(XS, YS, 3, 0, &o, err);) \
X(plot_range_inf, otad_png_write_plot, "y_max inf", OTAD_EINVAL, "y range 0..inf is not finite", ERR, otad_plot_opts o = plot_opts(); o.y_min = 0; o.y_max = INFINITY; return plot(XS, YS, 3, 0, &o, err);) \
X(bars_series, otad_png_write_bars, "series NULL", OTAD_EINVAL, "no bars: 1 series", ERR, return no_file_left(otad_png_write_bars(tmp_path("bars.png"), NULL, 1, 3, NULL, NULL, err));) \
X(bars_no_series, otad_png_write_bars, "n_series 0", OTAD_EINVAL, "no bars: 0 series", ERR, return bars(YS, 0, 3, NULL, err);) \
X(bars_no_categories, otad_png_write_bars, "n_categories 0", OTAD_EINVAL, "of 0 categories", ERR, return bars(YS, 1, 0, NULL, err);) \
X(bars_values, otad_png_write_bars, "values NULL", OTAD_EINVAL, "series 0 has no values (NULL)", ERR, return bars(NULL, 1, 3, NULL, err);) \
X(bars_nan, otad_png_write_bars, "a NaN value", OTAD_EDOMAIN, "nan", ERR, return bars(NAN_YS, 1, 3, NULL, err);) \
X(bars_log, otad_png_write_bars, "log_y", OTAD_EINVAL, "log", ERR, otad_plot_opts o = plot_opts(); o.log_y = 1; return bars(YS, 1, 3, &o, err);) \
X(bars_small, otad_png_write_bars, "height 100", OTAD_EINVAL, "100", ERR, otad_plot_opts o = plot_opts(); o.height = 100; return bars(YS, 1, 3, &o, err);) \
X(bars_path, otad_png_write_bars, "path NULL", OTAD_EINVAL, "path is NULL", ERR, otad_bar_series s = {YS, 0, NULL}; return otad_png_write_bars(NULL, &s, 1, 3, NULL, NULL, err);) \
X(image_plot_path, otad_png_write_image_plot, "path NULL", OTAD_EINVAL, "path is NULL", ERR, otad_plot_opts o = region_opts(); return otad_png_write_image_plot(NULL, IMAGE6, 3, 2, NULL, &o, err);) \
X(image_plot_values, otad_png_write_image_plot, "values NULL", OTAD_EINVAL, "values NULL", ERR, otad_plot_opts o = region_opts(); return image_plot(NULL, NULL, &o, err);) \
X(image_plot_empty, otad_png_write_image_plot, "width 0", OTAD_EINVAL, "no image: 0x2", ERR, otad_plot_opts o = region_opts(); return no_file_left(otad_png_write_image_plot(tmp_path("image_plot.png"), IMAGE6, 0, 2, NULL, &o, err));) \
X(image_plot_opts, otad_png_write_image_plot, "opts NULL", OTAD_EINVAL, "the region is needed", ERR, return image_plot(IMAGE6, NULL, NULL, err);) \
X(image_plot_region, otad_png_write_image_plot, "y_max not given", OTAD_EINVAL, "must be given", ERR, otad_plot_opts o = region_opts(); o.y_max = NAN; return image_plot(IMAGE6, NULL, &o, err);) \
X(image_plot_log, otad_png_write_image_plot, "log_x", OTAD_EINVAL, "no log axis", ERR, otad_plot_opts o = region_opts(); o.x_min = 1; o.log_x = 1; return image_plot(IMAGE6, NULL, &o, err);) \
X(image_plot_colorbar, otad_png_write_image_plot, "image colorbar 1", OTAD_EINVAL, "no colour bar", ERR, otad_plot_opts o = region_opts(); otad_image_opts im; otad_image_opts_init(&im); im.colorbar = 1; return image_plot(IMAGE6, &im, &o, err);) \
X(image_plot_inf, otad_png_write_image_plot, "a value inf", OTAD_EDOMAIN, "inf", ERR, otad_plot_opts o = region_opts(); const double v[6] = {0, 1, INFINITY, 3, 4, 5}; return image_plot(v, NULL, &o, err);)

/* ---- the runner ------------------------------------------------------------------ */

#define ALL_ROWS(X) AD_ROWS(X) OPS_ROWS(X) SOLVERS_ROWS(X) MODELS_ROWS(X) IO_ROWS(X)
#define DEFINE_ROW(id, fn, bad, code, words, kind, ...) DEFINE_##kind(row_##id, __VA_ARGS__)
#define TABLE_ROW(id, fn, bad, code, words, kind, ...) {#fn, bad, row_##id, code, words},

ALL_ROWS(DEFINE_ROW)

static const arg_row table[] = {ALL_ROWS(TABLE_ROW)};
#define N_ROWS (sizeof table / sizeof table[0])

static const char *code_name(int code)
{
    switch (code) {
    case NEUTRAL: return "the neutral value";
    case NOT_NEUTRAL: return "not the neutral value";
    case INCONSISTENT: return "an inconsistent result";
    case MODIFIED: return "a changed output";
    default: return otad_strerror(code);
    }
}

static void test_table(void **state)
{
    (void)state;
    size_t failed = 0;
    for (size_t k = 0; k < N_ROWS; k++) {
        const arg_row *r = &table[k];
        outcome o = r->call();
        if (o.code == r->code && (r->code == NEUTRAL || strstr(o.message, r->words)))
            continue;
        failed++;
        if (r->code == NEUTRAL)
            print_error("%s, %s: expected %s, got %s %s\n", r->function, r->bad, r->words,
                        code_name(o.code), o.message);
        else
            print_error("%s, %s: expected %s with \"%s\", got %s: \"%s\"\n", r->function,
                        r->bad, code_name(r->code), r->words, code_name(o.code), o.message);
    }
    if (failed)
        fail_msg("%zu of %zu rows of the argument table failed", failed, N_ROWS);
}

/* ---- every public function has a row ------------------------------------------- */

static int has_row(const char *name)
{
    for (size_t k = 0; k < N_ROWS; k++)
        if (!strcmp(table[k].function, name))
            return 1;
    return 0;
}

static void check_declared(const char *path, const char *name, const char *line, void *instance)
{
    (void)line;
    if (!has_row(name))
        fail_msg("%s declares %s, which has no row in the argument table", path, name);
    ++*(size_t *)instance;
}

static void test_every_public_function_has_a_row(void **state)
{
    (void)state;
    static const char *const headers[] = {"ad/ad.h", "ops/ops.h", "solvers/solvers.h",
                                          "models/models.h", "io/io.h", "plot/plot.h"};
    size_t functions = 0, covered = 0;
    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++)
        for_each_declared_function(headers[h], check_declared, &functions);
    for (size_t k = 0; k < N_ROWS; k++) {
        size_t first = 0;
        while (strcmp(table[first].function, table[k].function) != 0)
            first++;
        covered += first == k;
    }
    print_message("%zu public functions declared, %zu covered by %zu rows\n", functions,
                  covered, (size_t)N_ROWS);
    assert_true(functions >= 170);
}

static int setup(void **state)
{
    for (size_t i = 0; i < 27; i++)
        FRAMES[i] = 1.0 / 9;
    for (size_t e = 0; e < 12; e++)
        W12_ZERO[e] = 1;
    W12_ZERO[5] = 0;
    int rc = tmp_dir_create(state);
    FILE *garbage = rc ? NULL : fopen(tmp_path(GARBAGE), "wb");
    if (!garbage || fputs("neither an array nor a picture\n", garbage) < 0 || fclose(garbage))
        return -1;
    static const size_t start[5] = {0, 2, 4, 6, 7}, rows[7] = {0, 1, 1, 2, 2, 3, 3};
    return otad_graph_grid2d(&grid3x3, 3, 3, NULL) != OTAD_OK ||
           otad_spd_pattern_new(&tridiagonal, 4, start, rows, NULL) != OTAD_OK;
}

static int teardown(void **state)
{
    otad_graph_free(&grid3x3);
    otad_spd_pattern_free(&tridiagonal);
    return tmp_dir_remove(state);
}

/* Under AddressSanitizer, a request too large to be met (the rows' SIZE_MAX/2
 * bytes) fails as malloc fails it, with NULL, instead of stopping the run. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_public_function_has_a_row),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
