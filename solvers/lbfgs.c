/* A thin driver over libLBFGS: each evaluation resets one tape, records the
 * objective and runs backward (docs/guide.md, "Minimising"). */
#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ad/args.h"
#include "solvers_internal.h"

void otad_lbfgs_params_init(otad_lbfgs_params *p)
{
    if (!p)
        return;
    *p = (otad_lbfgs_params){.max_iterations = 100, .memory = 10, .gradient_tolerance = 1e-8,
                             .past = 0, .relative_decrease = 1e-10, .max_linesearch = 40,
                             .checkpoint_every = 10};
}

int otad_lbfgs_print_progress(const otad_lbfgs_progress *p, void *file)
{
    if (!p)
        return OTAD_EINVAL;
    FILE *out = file ? file : stdout;
    fprintf(out, "  iteration %4d  loss %.10e  |g| %.3e  step %.2e  evaluations %4d  %.2f s\n",
            p->iteration, p->loss, p->grad_norm, p->step, p->evaluations, p->seconds);
    fflush(out);
    return 0;
}

void otad_lbfgs_result_free(otad_lbfgs_result *r)
{
    if (r) {
        free(r->losses);
        r->losses = NULL;
    }
}

static const char *lbfgs_words(int status)
{
    switch (status) {
    case LBFGS_SUCCESS: return "converged: the gradient is below the tolerance";
    case LBFGS_STOP: return "converged: the loss stopped decreasing";
    case LBFGS_ALREADY_MINIMIZED: return "the starting point is already a minimum";
    case LBFGSERR_MAXIMUMITERATION: return "stopped at the iteration limit";
    case LBFGSERR_CANCELED: return "stopped by the progress callback or an error";
    case LBFGSERR_ROUNDING_ERROR: return "stopped: rounding errors prevent further progress";
    case LBFGSERR_MINIMUMSTEP: return "stopped: the line search step became too small";
    case LBFGSERR_MAXIMUMSTEP: return "stopped: the line search step became too large";
    case LBFGSERR_MAXIMUMLINESEARCH: return "stopped: the line search took too many "
                                            "evaluations";
    case LBFGSERR_INCREASEGRADIENT: return "stopped: the search direction does not descend";
    case LBFGSERR_OUTOFMEMORY: return "out of memory";
    default: return status < 0 ? "invalid parameters or internal error" : "unknown status";
    }
}

typedef struct driver {
    otad_build_fn build;
    void *instance;
    const otad_lbfgs_params *params;
    otad_tape *tape;
    otad_lbfgs_result *result;
    double *best;          /* the best point seen */
    size_t n;
    size_t history_cap;
    int done;              /* iterations and evaluations of the fit resumed */
    int done_evaluations;
    const char *stopped;   /* why the driver stopped libLBFGS, NULL if it did not */
    struct timespec start;
} driver;

/* Soft failures: the objective has no finite value there; the line search
 * can step back.  Everything else is a failure of the program. */
static int soft(int code)
{
    return code == OTAD_ERANGE || code == OTAD_EDOMAIN || code == OTAD_ENOTPOSDEF;
}

static int hard_failure(driver *d, int code, const char *message)
{
    if (d->result->status == OTAD_OK) {
        d->result->status = code;
        snprintf(d->result->message, sizeof d->result->message, "%s", message);
    }
    return code;
}

static lbfgsfloatval_t evaluate(void *instance, const lbfgsfloatval_t *x, lbfgsfloatval_t *g,
                                const int n, const lbfgsfloatval_t step)
{
    (void)step;
    driver *d = instance;
    otad_tape *t = d->tape;
    otad_tape_reset(t);
    otad_var loss = d->build(t, otad_param(t, (size_t)n, 1, x, g), d->instance);
    otad_value v = otad_value_of(t, loss);
    if (otad_tape_status(t) == OTAD_OK && (!v.data || v.rows != 1 || v.cols != 1))
        otad_tape_fail(t, OTAD_EINVAL, "lbfgs: the objective is %s, not a 1x1 value",
                       v.data ? "not a scalar" : "missing");
    if (otad_tape_status(t) == OTAD_OK)
        otad_backward(t, loss);
    int rc = otad_tape_status(t);
    int first = d->result->evaluations++ == d->done_evaluations;
    if (rc == OTAD_OK && isfinite(v.data[0])) {
        if (first && d->done == 0)
            d->result->losses[0] = v.data[0];
        if (!(v.data[0] >= d->result->loss)) {
            d->result->loss = v.data[0];
            memcpy(d->best, x, d->n * sizeof *x);
        }
        return v.data[0];
    }
    memset(g, 0, (size_t)n * sizeof *g);
    /* at the starting point there is no step to shorten */
    if (!soft(rc) || first)
        hard_failure(d, rc == OTAD_OK ? OTAD_ERANGE : rc, otad_tape_message(t));
    return INFINITY;
}

/* Keep the loss of iteration k in the history, growing it: 0 or OTAD_ENOMEM. */
static int keep_loss(driver *d, int k, double loss)
{
    otad_lbfgs_result *r = d->result;
    if ((size_t)k + 1 > d->history_cap) {
        size_t cap = 2 * ((size_t)k + 1);
        double *grown = realloc(r->losses, cap * sizeof *grown);
        if (!grown)
            return hard_failure(d, OTAD_ENOMEM, "lbfgs: out of memory for the loss history");
        r->losses = grown;
        d->history_cap = cap;
    }
    r->losses[k] = loss;
    return OTAD_OK;
}

static int write_checkpoint(driver *d, const double *theta)
{
    otadS_checkpoint c = {d->n, d->result->iterations, d->result->evaluations, (double *)theta,
                          (size_t)d->result->iterations + 1, d->result->losses, 0, NULL};
    otad_error err;
    int rc = otadS_checkpoint_write("lbfgs", d->params->checkpoint, &c, &err);
    return rc == OTAD_OK ? rc : hard_failure(d, rc, err.message);
}

/* After each iteration: the history, the checkpoint, the callback, then
 * the time limit and the stop flag. */
static int progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k,
                    int ls)
{
    (void)xnorm, (void)ls;
    driver *d = instance;
    const otad_lbfgs_params *params = d->params;
    otad_lbfgs_result *r = d->result;
    k += d->done;
    r->iterations = k;
    if (keep_loss(d, k, fx) != OTAD_OK ||
        (params->checkpoint && k % params->checkpoint_every == 0 && write_checkpoint(d, x)))
        return LBFGSERR_CANCELED;
    /* libLBFGS returns what this returns as its own status */
    if (r->status != OTAD_OK)
        return LBFGSERR_CANCELED;
    double seconds = otadS_seconds_since(&d->start);
    otad_lbfgs_progress p = {k, r->evaluations, fx, gnorm, step, seconds, (size_t)n, x, g};
    if (params->progress && params->progress(&p, params->progress_instance))
        return LBFGSERR_CANCELED;
    d->stopped = otadS_stop_reason(params->time_limit, params->stop, seconds);
    return d->stopped ? LBFGSERR_CANCELED : 0;
}

/* Corrections kept: libLBFGS sets no bound, and allocates 2·memory vectors of
 * n entries at the start; more than this is no longer "limited memory". */
#define MAX_MEMORY 1000

/* Every argument in the range libLBFGS documents (lbfgs.h), checked here so
 * that the message names it: its own codes map to "invalid parameters". */
static int check_arguments(otad_build_fn build, size_t n, const double *theta,
                           const otad_lbfgs_params *p, otad_error *err)
{
    static const char who[] = "lbfgs";
    int rc = build ? OTAD_OK : otad_error_set(err, OTAD_EINVAL, "lbfgs: build is NULL");
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, who, "theta", theta);
    if (rc == OTAD_OK && (n == 0 || n > (size_t)1 << 30))
        rc = otad_error_set(err, OTAD_EINVAL, "lbfgs: n is %zu, must be 1 to 2^30", n);
    if (rc == OTAD_OK && !p->resume) /* a start without a value has no step to shorten */
        rc = otadV_finite(err, who, "theta", theta, n, 1);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "max_iterations", p->max_iterations, 0, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "memory", p->memory, 1, MAX_MEMORY);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, "gradient_tolerance", p->gradient_tolerance);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "past", p->past, 0, INT_MAX);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, "relative_decrease", p->relative_decrease);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "max_linesearch", p->max_linesearch, 1, INT_MAX);
    if (rc == OTAD_OK && p->tape_opts)
        rc = otadV_tape_opts(err, "lbfgs: tape_opts", p->tape_opts);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, "time_limit", p->time_limit);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "checkpoint_every", p->checkpoint_every, 1, INT_MAX);
    return rc;
}

/* The fit a checkpoint saved, for a fit of n parameters. */
static int read_resumed(const char *path, size_t n, otadS_checkpoint *c, otad_error *err)
{
    int rc = otadS_checkpoint_read("lbfgs", path, c, err);
    if (rc == OTAD_OK && (c->n_state != 0 || c->n_losses != (size_t)c->iterations + 1))
        rc = otad_error_set(err, OTAD_EFORMAT, "lbfgs: the checkpoint %s is not an L-BFGS "
                            "fit's", path);
    if (rc == OTAD_OK && c->n != n)
        rc = otad_error_set(err, OTAD_ESHAPE, "lbfgs: the checkpoint %s has %zu parameters, "
                            "the fit %zu", path, c->n, n);
    if (rc == OTAD_OK)
        rc = otadV_finite(err, "lbfgs", "the checkpoint's theta", c->theta, n, 1);
    return rc;
}

static void run_lbfgs(driver *d, lbfgsfloatval_t *x, int iterations_left)
{
    const otad_lbfgs_params *params = d->params;
    otad_lbfgs_result *result = d->result;
    lbfgs_parameter_t p;
    lbfgs_parameter_init(&p);
    p.m = params->memory;
    p.epsilon = params->gradient_tolerance;
    p.past = params->past;
    p.delta = params->relative_decrease;
    p.max_iterations = iterations_left;
    p.max_linesearch = params->max_linesearch;
    /* backtracking tolerates an infinite trial value (a soft failure) */
    p.linesearch = LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
    lbfgsfloatval_t fx;
    int status = result->lbfgs_status = lbfgs((int)d->n, x, &fx, evaluate, progress, d, &p);
    result->lbfgs_message = d->stopped ? d->stopped : lbfgs_words(status);
    if (status == LBFGSERR_OUTOFMEMORY)
        hard_failure(d, OTAD_ENOMEM, "lbfgs: libLBFGS is out of memory");
    else if (status == LBFGSERR_UNKNOWNERROR || status == LBFGSERR_LOGICERROR ||
             (status >= LBFGSERR_INVALID_N && status <= LBFGSERR_INVALID_ORTHANTWISE_END))
        hard_failure(d, OTAD_EINVAL, "lbfgs: libLBFGS refused the parameters");
}

int otad_lbfgs(otad_build_fn build, void *instance, size_t n, double *theta,
               const otad_lbfgs_params *params, otad_lbfgs_result *result)
{
    otad_lbfgs_params defaults;
    if (!params)
        otad_lbfgs_params_init(&defaults), params = &defaults;
    if (!result)
        return OTAD_EINVAL;
    *result = (otad_lbfgs_result){.loss = INFINITY, .lbfgs_message = ""};
    otad_error err;
    otadS_checkpoint resumed = {0};
    int rc = check_arguments(build, n, theta, params, &err);
    if (rc == OTAD_OK && params->resume)
        rc = read_resumed(params->resume, n, &resumed, &err);
    if (rc != OTAD_OK) {
        otadS_checkpoint_free(&resumed);
        result->status = rc;
        snprintf(result->message, sizeof result->message, "%s", err.message);
        return result->status;
    }
    int done = resumed.iterations;
    driver d = {build, instance, params, NULL, result, malloc(n * sizeof *theta), n,
                (size_t)done + 1, done, resumed.evaluations, NULL, {0, 0}};
    result->iterations = done, result->evaluations = resumed.evaluations;
    clock_gettime(CLOCK_MONOTONIC, &d.start);
    lbfgsfloatval_t *x = lbfgs_malloc((int)n);
    result->losses = malloc(d.history_cap * sizeof *result->losses);
    rc = x && d.best && result->losses ? otad_tape_new(&d.tape, params->tape_opts)
                                       : OTAD_ENOMEM;
    int left = params->max_iterations == 0 ? 0 : params->max_iterations - done;
    if (rc != OTAD_OK) { /* the tape options are checked above */
        hard_failure(&d, rc, "lbfgs: cannot start: out of memory");
    } else if (params->max_iterations != 0 && left <= 0) { /* the checkpoint's fit is done */
        memcpy(result->losses, resumed.losses, d.history_cap * sizeof *result->losses);
        memcpy(d.best, resumed.theta, n * sizeof *theta);
        result->loss = resumed.losses[done];
        result->lbfgs_status = LBFGSERR_MAXIMUMITERATION;
        result->lbfgs_message = lbfgs_words(LBFGSERR_MAXIMUMITERATION);
    } else {
        if (params->resume)
            memcpy(result->losses, resumed.losses, d.history_cap * sizeof *result->losses);
        else
            result->losses[0] = NAN;
        memcpy(x, params->resume ? resumed.theta : theta, n * sizeof *x);
        run_lbfgs(&d, x, left);
    }
    if (result->status == OTAD_OK && params->checkpoint)
        write_checkpoint(&d, d.best);
    result->seconds = otadS_seconds_since(&d.start);
    if (result->status == OTAD_OK)
        memcpy(theta, d.best, n * sizeof *theta);
    otadS_checkpoint_free(&resumed);
    lbfgs_free(x);
    free(d.best);
    otad_tape_free(&d.tape);
    return result->status;
}
