/* A thin driver over libLBFGS: each evaluation resets one tape, records the
 * objective and runs backward (README.md, "Minimising"). */
#include <lbfgs.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ad/args.h"
#include "solvers.h"

void otad_lbfgs_params_init(otad_lbfgs_params *p)
{
    if (!p)
        return;
    *p = (otad_lbfgs_params){.max_iterations = 100, .memory = 10, .gradient_tolerance = 1e-8,
                             .past = 0, .relative_decrease = 1e-10, .max_linesearch = 40};
}

int otad_lbfgs_print_progress(const otad_lbfgs_progress *p, void *file)
{
    if (!p)
        return OTAD_EINVAL;
    fprintf(file ? file : stdout, "  iteration %4d  loss %.10e  |g| %.3e  step %.2e  "
            "evaluations %4d  %.2f s\n", p->iteration, p->loss, p->grad_norm, p->step,
            p->evaluations, p->seconds);
    return 0;
}

void otad_lbfgs_result_free(otad_lbfgs_result *r)
{
    if (r) {
        free(r->losses);
        r->losses = NULL;
    }
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + 1e-9 * (double)(now.tv_nsec - start->tv_nsec);
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
    d->result->evaluations++;
    if (rc == OTAD_OK && isfinite(v.data[0])) {
        if (d->result->evaluations == 1)
            d->result->losses[0] = v.data[0];
        if (!(v.data[0] >= d->result->loss)) {
            d->result->loss = v.data[0];
            memcpy(d->best, x, d->n * sizeof *x);
        }
        return v.data[0];
    }
    memset(g, 0, (size_t)n * sizeof *g);
    /* at the starting point there is no step to shorten */
    if (!soft(rc) || d->result->evaluations == 1)
        hard_failure(d, rc == OTAD_OK ? OTAD_ERANGE : rc, otad_tape_message(t));
    return INFINITY;
}

static int progress(void *instance, const lbfgsfloatval_t *x, const lbfgsfloatval_t *g,
                    const lbfgsfloatval_t fx, const lbfgsfloatval_t xnorm,
                    const lbfgsfloatval_t gnorm, const lbfgsfloatval_t step, int n, int k,
                    int ls)
{
    (void)x, (void)g, (void)xnorm, (void)n, (void)ls;
    driver *d = instance;
    otad_lbfgs_result *r = d->result;
    r->iterations = k;
    if ((size_t)k + 1 > d->history_cap) {
        size_t cap = 2 * ((size_t)k + 1);
        double *grown = realloc(r->losses, cap * sizeof *grown);
        if (!grown) {
            hard_failure(d, OTAD_ENOMEM, "lbfgs: out of memory for the loss history");
            return LBFGSERR_CANCELED;
        }
        r->losses = grown;
        d->history_cap = cap;
    }
    r->losses[k] = fx;
    /* libLBFGS returns what this returns as its own status */
    if (r->status != OTAD_OK)
        return LBFGSERR_CANCELED;
    otad_lbfgs_progress p = {k, r->evaluations, fx, gnorm, step, seconds_since(&d->start)};
    int stop = d->params->progress && d->params->progress(&p, d->params->progress_instance);
    return stop ? LBFGSERR_CANCELED : 0;
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
    if (rc == OTAD_OK) /* a start without a value has no step to shorten */
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
    return rc;
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
    int rc = check_arguments(build, n, theta, params, &err);
    if (rc != OTAD_OK) {
        result->status = rc;
        snprintf(result->message, sizeof result->message, "%s", err.message);
        return result->status;
    }
    driver d = {build, instance, params, NULL, result, malloc(n * sizeof *theta), n, 1, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &d.start);
    lbfgsfloatval_t *x = lbfgs_malloc((int)n);
    result->losses = malloc(sizeof *result->losses);
    rc = x && d.best && result->losses ? otad_tape_new(&d.tape, params->tape_opts)
                                       : OTAD_ENOMEM;
    if (rc != OTAD_OK) { /* the tape options are checked above */
        hard_failure(&d, rc, "lbfgs: cannot start: out of memory");
    } else {
        memcpy(x, theta, n * sizeof *x);
        lbfgs_parameter_t p;
        lbfgs_parameter_init(&p);
        p.m = params->memory;
        p.epsilon = params->gradient_tolerance;
        p.past = params->past;
        p.delta = params->relative_decrease;
        p.max_iterations = params->max_iterations;
        p.max_linesearch = params->max_linesearch;
        /* backtracking tolerates an infinite trial value (a soft failure) */
        p.linesearch = LBFGS_LINESEARCH_BACKTRACKING_STRONG_WOLFE;
        result->losses[0] = NAN;
        lbfgsfloatval_t fx;
        int status = result->lbfgs_status = lbfgs((int)n, x, &fx, evaluate, progress, &d, &p);
        result->lbfgs_message = lbfgs_words(status);
        if (status == LBFGSERR_OUTOFMEMORY)
            hard_failure(&d, OTAD_ENOMEM, "lbfgs: libLBFGS is out of memory");
        else if (status == LBFGSERR_UNKNOWNERROR || status == LBFGSERR_LOGICERROR ||
                 (status >= LBFGSERR_INVALID_N && status <= LBFGSERR_INVALID_ORTHANTWISE_END))
            hard_failure(&d, OTAD_EINVAL, "lbfgs: libLBFGS refused the parameters");
    }
    result->seconds = seconds_since(&d.start);
    if (result->status == OTAD_OK)
        memcpy(theta, d.best, n * sizeof *theta);
    lbfgs_free(x);
    free(d.best);
    otad_tape_free(&d.tape);
    return result->status;
}
