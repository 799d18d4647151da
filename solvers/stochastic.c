/* Adam (Kingma and Ba 2015) and SGD with heavy-ball momentum over a build
 * function that records each step's mini-batch loss; progress, stopping and
 * checkpoints as otad_lbfgs's. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../ad/args.h"
#include "solvers_internal.h"

static const char who[] = "stochastic";

void otad_stochastic_params_init(otad_stochastic_params *p)
{
    if (!p)
        return;
    *p = (otad_stochastic_params){.method = OTAD_ADAM, .steps = 1000, .learning_rate = 1e-3,
                                  .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-8,
                                  .momentum = 0.9, .checkpoint_every = 100};
}

void otad_stochastic_result_free(otad_stochastic_result *r)
{
    if (r) {
        free(r->losses);
        r->losses = NULL;
    }
}

static int in_unit(otad_error *err, const char *field, double x)
{
    return x >= 0 && x < 1 ? OTAD_OK
                           : otad_error_set(err, OTAD_EINVAL, "%s: %s is %g, must be in [0, 1)",
                                            who, field, x);
}

static int check_arguments(otad_step_build_fn build, size_t n, const double *theta,
                           const otad_stochastic_params *p, otad_error *err)
{
    int rc = build ? OTAD_OK : otad_error_set(err, OTAD_EINVAL, "%s: build is NULL", who);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, who, "theta", theta);
    if (rc == OTAD_OK && (n == 0 || n > (size_t)1 << 30))
        rc = otad_error_set(err, OTAD_EINVAL, "%s: n is %zu, must be 1 to 2^30", who, n);
    if (rc == OTAD_OK && !p->resume)
        rc = otadV_finite(err, who, "theta", theta, n, 1);
    if (rc == OTAD_OK && p->method != OTAD_ADAM && p->method != OTAD_SGD)
        rc = otad_error_set(err, OTAD_EINVAL, "%s: method is %d, not OTAD_ADAM or OTAD_SGD",
                            who, (int)p->method);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "steps", p->steps, 1, INT_MAX / 2);
    if (rc == OTAD_OK)
        rc = otadV_positive(err, who, "learning_rate", p->learning_rate);
    if (rc == OTAD_OK)
        rc = in_unit(err, "beta1", p->beta1);
    if (rc == OTAD_OK)
        rc = in_unit(err, "beta2", p->beta2);
    if (rc == OTAD_OK)
        rc = otadV_positive(err, who, "epsilon", p->epsilon);
    if (rc == OTAD_OK)
        rc = in_unit(err, "momentum", p->momentum);
    if (rc == OTAD_OK)
        rc = otadV_nonnegative(err, who, "time_limit", p->time_limit);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, who, "checkpoint_every", p->checkpoint_every, 1, INT_MAX);
    if (rc == OTAD_OK && p->tape_opts)
        rc = otadV_tape_opts(err, "stochastic: tape_opts", p->tape_opts);
    return rc;
}

/* The run: θ, the gradient of the last step, the optimiser's state (Adam's
 * two moments, or SGD's velocity), the losses. */
typedef struct run {
    const otad_stochastic_params *params;
    size_t n, n_state;
    double *theta, *grad, *state;
    otad_stochastic_result *result;
    struct timespec start;
} run;

static int fail(run *r, int code, const char *message)
{
    r->result->status = code;
    snprintf(r->result->message, sizeof r->result->message, "%s", message);
    return code;
}

/* The loss and gradient on step k's mini-batch. */
static int evaluate(run *r, otad_tape *t, otad_step_build_fn build, void *instance, int k,
                    double *loss)
{
    otad_tape_reset(t);
    otad_var y = build(t, otad_param(t, r->n, 1, r->theta, r->grad), k, instance);
    otad_value v = otad_value_of(t, y);
    if (otad_tape_status(t) == OTAD_OK && (!v.data || v.rows != 1 || v.cols != 1))
        otad_tape_fail(t, OTAD_EINVAL, "%s: the objective is %s, not a 1x1 value", who,
                       v.data ? "not a scalar" : "missing");
    if (otad_tape_status(t) == OTAD_OK && !isfinite(v.data[0]))
        otad_tape_fail(t, OTAD_ERANGE, "%s: the loss at step %d is %g", who, k, v.data[0]);
    if (otad_tape_status(t) == OTAD_OK)
        otad_backward(t, y);
    if (otad_tape_status(t) != OTAD_OK)
        return fail(r, otad_tape_status(t), otad_tape_message(t));
    *loss = v.data[0];
    return OTAD_OK;
}

/* One step from the gradient; k counts from 0. */
static void update(run *r, int k)
{
    const otad_stochastic_params *p = r->params;
    double lr = p->learning_rate;
    if (p->method == OTAD_SGD) {
        double *velocity = r->state;
        for (size_t i = 0; i < r->n; i++) {
            velocity[i] = p->momentum * velocity[i] + r->grad[i];
            r->theta[i] -= lr * velocity[i];
        }
        return;
    }
    double *m = r->state, *v = r->state + r->n;
    double c1 = 1 - pow(p->beta1, k + 1), c2 = 1 - pow(p->beta2, k + 1);
    for (size_t i = 0; i < r->n; i++) {
        double g = r->grad[i];
        m[i] = p->beta1 * m[i] + (1 - p->beta1) * g;
        v[i] = p->beta2 * v[i] + (1 - p->beta2) * g * g;
        r->theta[i] -= lr * (m[i] / c1) / (sqrt(v[i] / c2) + p->epsilon);
    }
}

static int write_checkpoint(run *r)
{
    otad_stochastic_result *res = r->result;
    otadS_checkpoint c = {r->n,          res->steps, res->steps, r->theta, (size_t)res->steps,
                          res->losses,   r->n_state, r->state};
    otad_error err;
    int rc = otadS_checkpoint_write(who, r->params->checkpoint, &c, &err);
    return rc == OTAD_OK ? rc : fail(r, rc, err.message);
}

/* θ, the state and the losses from the checkpoint at path. */
static int resume(run *r, const char *path, otad_error *err)
{
    otadS_checkpoint c;
    int rc = otadS_checkpoint_read(who, path, &c, err);
    if (rc == OTAD_OK && (c.n_state != r->n_state || c.n_losses != (size_t)c.iterations))
        rc = otad_error_set(err, OTAD_EFORMAT, "%s: the checkpoint %s is not a fit by this "
                            "method's", who, path);
    if (rc == OTAD_OK && c.n != r->n)
        rc = otad_error_set(err, OTAD_ESHAPE, "%s: the checkpoint %s has %zu parameters, the "
                            "fit %zu", who, path, c.n, r->n);
    if (rc == OTAD_OK)
        rc = otadV_finite(err, who, "the checkpoint's theta", c.theta, r->n, 1);
    if (rc == OTAD_OK) {
        memcpy(r->theta, c.theta, r->n * sizeof *r->theta);
        memcpy(r->state, c.state, r->n_state * sizeof *r->state);
        int kept = c.iterations < r->params->steps ? c.iterations : r->params->steps;
        memcpy(r->result->losses, c.losses, (size_t)kept * sizeof *c.losses);
        r->result->steps = kept;
    }
    otadS_checkpoint_free(&c);
    return rc;
}

/* After step k (from 0): checkpoint, callback, limits; nonzero stops. */
static int after_step(run *r, int k, double loss)
{
    const otad_stochastic_params *p = r->params;
    otad_stochastic_result *res = r->result;
    if (p->checkpoint && (k + 1) % p->checkpoint_every == 0 && write_checkpoint(r) != OTAD_OK)
        return 1;
    double seconds = otadS_seconds_since(&r->start), norm = 0;
    for (size_t i = 0; i < r->n; i++)
        norm += r->grad[i] * r->grad[i];
    otad_lbfgs_progress progress = {k + 1, k + 1, loss, sqrt(norm), p->learning_rate, seconds,
                                    r->n, r->theta, r->grad};
    if (p->progress && p->progress(&progress, p->progress_instance))
        res->stopped = "stopped by the progress callback";
    else
        res->stopped = otadS_stop_reason(p->time_limit, p->stop, seconds);
    return res->stopped != NULL;
}

int otad_stochastic(otad_step_build_fn build, void *instance, size_t n, double *theta,
                    const otad_stochastic_params *params, otad_stochastic_result *result)
{
    otad_stochastic_params defaults;
    if (!params)
        otad_stochastic_params_init(&defaults), params = &defaults;
    if (!result)
        return OTAD_EINVAL;
    *result = (otad_stochastic_result){0};
    otad_error err;
    int rc = check_arguments(build, n, theta, params, &err);
    if (rc != OTAD_OK)
        return fail(&(run){.result = result}, rc, err.message);
    size_t n_state = params->method == OTAD_ADAM ? 2 * n : n;
    run r = {params, n, n_state, malloc(n * sizeof *theta), calloc(n, sizeof *theta),
             calloc(n_state, sizeof *theta), result, {0, 0}};
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    result->losses = malloc((size_t)params->steps * sizeof *result->losses);
    otad_tape *t = NULL;
    if (!r.theta || !r.grad || !r.state || !result->losses ||
        otad_tape_new(&t, params->tape_opts) != OTAD_OK)
        rc = fail(&r, OTAD_ENOMEM, "stochastic: cannot start: out of memory");
    else if (params->resume && (rc = resume(&r, params->resume, &err)) != OTAD_OK)
        fail(&r, rc, err.message);
    else if (!params->resume)
        memcpy(r.theta, theta, n * sizeof *theta);
    for (int k = result->steps; rc == OTAD_OK && k < params->steps; k++) {
        double loss = NAN;
        if ((rc = evaluate(&r, t, build, instance, k, &loss)) != OTAD_OK)
            break;
        update(&r, k);
        result->losses[k] = loss;
        result->steps = k + 1;
        if (after_step(&r, k, loss))
            rc = result->status;
        if (result->stopped)
            break;
    }
    if (result->status == OTAD_OK && !result->stopped)
        result->stopped = "stopped at the step limit";
    if (result->status == OTAD_OK && params->checkpoint)
        write_checkpoint(&r);
    if (result->status == OTAD_OK)
        memcpy(theta, r.theta, n * sizeof *theta);
    result->seconds = otadS_seconds_since(&r.start);
    otad_tape_free(&t);
    free(r.theta), free(r.grad), free(r.state);
    return result->status;
}
