/* Minimum Kantorovich estimation (Bassetti et al. 2006; Genevay et al. 2018):
 * a model measure pushed forward from fixed samples is fitted to data by a
 * Sinkhorn loss with the squared Euclidean cost.  The model is any build
 * function of θ; the loss, its debiasing and the gradient mode are options. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

static const otad_var no_var;

void otad_mke_init(otad_mke *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->eps = 0.01;
    p->value = OTAD_SINKHORN_COST;
    otad_sinkhorn_opts_init(&p->sinkhorn);
}

int otad_mke_check(const otad_mke *p, otad_error *err)
{
    if (!p)
        return otad_error_set(err, OTAD_EINVAL, "mke: no problem given");
    if (!p->data || p->n_data == 0 || p->dim == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke: no data given (%zu points in %zu "
                              "dimensions)", p->n_data, p->dim);
    int rc = otadV_size(err, "mke", "data", p->n_data, p->dim);
    if (rc != OTAD_OK)
        return rc;
    for (size_t c = 0; c < p->dim; c++)
        for (size_t j = 0; j < p->n_data; j++)
            if (!isfinite(p->data[j + c * p->n_data]))
                return otad_error_set(err, OTAD_EDOMAIN, "mke: data point %zu has coordinate "
                                      "%zu = %g (must be finite)", j, c,
                                      p->data[j + c * p->n_data]);
    if (p->data_weights) {
        double mass = 0;
        for (size_t j = 0; j < p->n_data; j++) {
            double b = p->data_weights[j];
            if (!(b >= 0) || !isfinite(b))
                return otad_error_set(err, OTAD_EDOMAIN, "mke: data weight %zu is %g (must be "
                                      "finite and non-negative)", j, b);
            mass += b;
        }
        if (!(mass > 0))
            return otad_error_set(err, OTAD_EDOMAIN, "mke: the data weights are all zero");
    }
    if (!p->model || p->n_params == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke: no model given (a build function and "
                              "its number of parameters)");
    if (!(p->eps > 0) || !isfinite(p->eps))
        return otad_error_set(err, OTAD_EDOMAIN, "mke: eps is %g, must be positive", p->eps);
    if (p->online != 0 && p->online != 1)
        return otad_error_set(err, OTAD_EINVAL, "mke: online is %d, must be 0 or 1", p->online);
    if ((unsigned)p->value > OTAD_SINKHORN_KL_DUAL)
        return otad_error_set(err, OTAD_EINVAL, "mke: Sinkhorn value %d: the model takes "
                              "OTAD_SINKHORN_COST, _DUAL, _ENTROPIC, _KL_PRIMAL or _KL_DUAL",
                              (int)p->value);
    int kl = p->value == OTAD_SINKHORN_KL_PRIMAL || p->value == OTAD_SINKHORN_KL_DUAL;
    if (!kl && (isfinite(p->sinkhorn.rho_a) || isfinite(p->sinkhorn.rho_b)))
        return otad_error_set(err, OTAD_EINVAL, "mke: an unbalanced loss (sinkhorn.rho_a, "
                              "rho_b) needs a KL value: OTAD_SINKHORN_KL_PRIMAL or _KL_DUAL");
    rc = otadV_int_range(err, "mke", "debiased", p->debiased, 0, 1);
    if (rc == OTAD_OK)
        rc = otadV_int_range(err, "mke", "free_mass", p->free_mass, 0, 1);
    if (rc == OTAD_OK && p->free_mass &&
        (!kl || (isinf(p->sinkhorn.rho_a) && isinf(p->sinkhorn.rho_b))))
        return otad_error_set(err, OTAD_EINVAL, "mke: free_mass needs an unbalanced loss "
                              "(sinkhorn.rho_a or rho_b finite, a KL value): under the "
                              "constraints the model's mass is the data's");
    return rc == OTAD_OK ? otadS_check_sinkhorn_opts(&p->sinkhorn, "mke", "sinkhorn.", err) : rc;
}

/* The data measure on t: points and weights scaled to mass 1. */
static void record_data(otad_tape *t, const otad_mke *p, otad_var *y, otad_var *b)
{
    size_t m = p->n_data;
    *y = otad_const(t, m, p->dim, p->data);
    if (!p->data_weights) {
        *b = otad_const_fill(t, m, 1, 1.0 / (double)m);
        return;
    }
    double *w = otad_tape_alloc(t, m * sizeof *w), mass = 0;
    if (!w) {
        *b = no_var;
        return;
    }
    for (size_t j = 0; j < m; j++)
        mass += p->data_weights[j];
    for (size_t j = 0; j < m; j++)
        w[j] = p->data_weights[j] / mass;
    *b = otad_const(t, m, 1, w);
}

/* The kernel of the squared distances between x and y, stored or online. */
static otad_kernel kernel(otad_tape *t, const otad_mke *p, otad_var x, otad_var y)
{
    return p->online ? otad_kernel_points_online(t, x, y, p->eps, 2)
                     : otad_kernel_gibbs_points(t, x, y, p->eps);
}

static otad_var self_loss(otad_tape *t, const otad_mke *p, otad_var x, otad_var a)
{
    otad_kernel k = kernel(t, p, x, x);
    return otad_sinkhorn_loss(t, k, a, a, &p->sinkhorn, p->value);
}

/* ½ W(β, β), which no θ changes. */
static int data_self_loss(const otad_mke *p, double *out, otad_error *err)
{
    otad_tape *t;
    int rc = otad_tape_new(&t, NULL);
    if (rc != OTAD_OK)
        return otad_error_set(err, rc, "mke: out of memory");
    otad_var y, b;
    record_data(t, p, &y, &b);
    double w = otad_scalar(t, self_loss(t, p, y, b));
    rc = otad_tape_status(t);
    if (rc != OTAD_OK)
        otad_error_set(err, rc, "mke: the data's self-transport failed: %s",
                       otad_tape_message(t));
    *out = 0.5 * w;
    otad_tape_free(&t);
    return rc;
}

int otadM_check_model(otad_tape *t, const char *who, const char *what, const void *instance,
                      size_t n_params, otad_var theta, const otad_var *points,
                      const otad_var *weights)
{
    if (otad_tape_status(t) != OTAD_OK)
        return otad_tape_status(t);
    if (!instance || !points || !weights)
        return otad_tape_fail(t, OTAD_EINVAL, "%s: %s is NULL", who,
                              !instance ? what : !points ? "points" : "weights");
    otad_value th = otad_value_of(t, theta);
    if (!th.data)
        return otad_tape_fail(t, OTAD_EINVAL, "%s: theta is not a node of this tape (invalid, "
                              "or recorded before a reset)", who);
    if (th.rows * th.cols != n_params)
        return otad_tape_fail(t, OTAD_ESHAPE, "%s: theta has %zu entries, the model has %zu "
                              "parameters", who, th.rows * th.cols, n_params);
    return OTAD_OK;
}

/* Entries of θ: the model's parameters, then log m with free_mass. */
static size_t theta_size(const otad_mke *p)
{
    return p->n_params + (p->free_mass != 0);
}

/* With free_mass, the weights a scaled to mass m = e^(θ's last entry). */
static otad_var with_mass(otad_tape *t, const otad_mke *p, otad_var theta, otad_var a)
{
    if (!p->free_mass)
        return a;
    otad_var log_mass = otad_slice(t, otad_reshape(t, theta, theta_size(p), 1), p->n_params, 1,
                                   0, 1);
    return otad_mul(t, a, otad_exp(t, log_mass));
}

/* The model's points and weights at θ; weights uniform when the model gives
 * none. */
static int record_model(otad_tape *t, otad_var theta, const otad_mke *p, otad_var *x,
                        otad_var *a)
{
    otad_value th = otad_value_of(t, theta);
    if (!th.data)
        return otad_tape_fail(t, OTAD_EINVAL, "mke: theta is not a node of this tape (invalid, "
                              "or recorded before a reset)");
    if (th.rows * th.cols != theta_size(p))
        return otad_tape_fail(t, OTAD_ESHAPE, "mke: theta has %zu entries, the model has %zu "
                              "parameters%s", th.rows * th.cols, p->n_params,
                              p->free_mass ? " and the mass 1" : "");
    *x = *a = no_var;
    otad_var model_theta = p->free_mass ? otad_slice(t, otad_reshape(t, theta, theta_size(p), 1),
                                                     0, p->n_params, 0, 1)
                                        : theta;
    int rc = p->model(t, model_theta, p->model_instance, x, a);
    if (rc != OTAD_OK || otad_tape_status(t) != OTAD_OK)
        return otad_tape_fail(t, rc != OTAD_OK ? rc : OTAD_EINVAL, "mke: the model failed");
    otad_value xv = otad_value_of(t, *x);
    if (!xv.data)
        return otad_tape_fail(t, OTAD_EINVAL, "mke: the model recorded no points");
    if (xv.cols != p->dim || xv.rows == 0)
        return otad_tape_fail(t, OTAD_ESHAPE, "mke: the model's points are %zu×%zu, the data "
                              "has %zu coordinates", xv.rows, xv.cols, p->dim);
    if (!otad_var_valid(*a)) {
        *a = with_mass(t, p, theta, otad_const_fill(t, xv.rows, 1, 1.0 / (double)xv.rows));
        return otad_tape_status(t);
    }
    otad_value av = otad_value_of(t, *a);
    if (av.data && (av.rows != xv.rows || av.cols != 1))
        return otad_tape_fail(t, OTAD_ESHAPE, "mke: the model's weights are %zu×%zu, its "
                              "points need %zu×1", av.rows, av.cols, xv.rows);
    *a = with_mass(t, p, theta, *a);
    return otad_tape_status(t);
}

/* The loss between the model's points x and weights a and the data;
 * half_data_self: ½ W(β, β) when known, else NULL. */
static otad_var record_loss(otad_tape *t, const otad_mke *p, otad_var x, otad_var a,
                            const double *half_data_self)
{
    otad_var y, b;
    record_data(t, p, &y, &b);
    otad_kernel k = kernel(t, p, x, y);
    otad_var loss = otad_sinkhorn_loss(t, k, a, b, &p->sinkhorn, p->value);
    if (!p->debiased)
        return loss;
    loss = otad_sub(t, loss, otad_scale(t, self_loss(t, p, x, a), 0.5));
    otad_var data_self = half_data_self ? otad_const_fill(t, 1, 1, *half_data_self)
                                        : otad_scale(t, self_loss(t, p, y, b), 0.5);
    loss = otad_sub(t, loss, data_self);
    if (p->value != OTAD_SINKHORN_KL_PRIMAL && p->value != OTAD_SINKHORN_KL_DUAL)
        return loss;
    /* Séjourné et al. (2019), as otad_sinkhorn_divergence: + (ε/2)(m(α) − m(β))² */
    otad_var gap = otad_sub(t, otad_sum(t, a), otad_sum(t, b));
    return otad_add(t, loss, otad_scale(t, otad_mul(t, gap, gap), 0.5 * p->eps));
}

static otad_var build_with(otad_tape *t, otad_var theta, const otad_mke *p,
                           const double *half_data_self)
{
    otad_var x, a;
    if (record_model(t, theta, p, &x, &a) != OTAD_OK)
        return no_var;
    return record_loss(t, p, x, a, half_data_self);
}

otad_var otad_mke_build(otad_tape *t, otad_var theta, void *problem)
{
    if (!problem) {
        otad_tape_fail(t, OTAD_EINVAL, "mke: no problem given");
        return no_var;
    }
    return build_with(t, theta, problem, NULL);
}

/* What fit evaluates: the problem with ½ W(β, β) computed once. */
typedef struct prepared {
    const otad_mke *problem;
    double half_data_self;
} prepared;

static otad_var build_prepared(otad_tape *t, otad_var theta, void *instance)
{
    const prepared *pp = instance;
    return build_with(t, theta, pp->problem, &pp->half_data_self);
}

/* A malloc'd copy of n doubles into *out, when out is not NULL. */
static int copy_out(double **out, const double *from, size_t n)
{
    if (!out)
        return OTAD_OK;
    *out = malloc(n * sizeof **out);
    if (!*out)
        return OTAD_ENOMEM;
    memcpy(*out, from, n * sizeof **out);
    return OTAD_OK;
}

int otad_mke_evaluate(const otad_mke *p, const double *theta, double **points,
                      double **weights, size_t *n_model, double *loss, otad_error *err)
{
    if (!theta || !n_model)
        return otad_error_set(err, OTAD_EINVAL, "mke: evaluate needs theta and n_model");
    int rc = otad_mke_check(p, err);
    if (rc != OTAD_OK)
        return rc;
    otad_tape *t;
    if ((rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        return otad_error_set(err, rc, "mke: out of memory");
    otad_var th = otad_const(t, theta_size(p), 1, theta), x, a;
    double value = NAN; /* the outputs are written only on success */
    if (record_model(t, th, p, &x, &a) == OTAD_OK && loss)
        value = otad_scalar(t, record_loss(t, p, x, a, NULL));
    rc = otad_tape_status(t);
    if (rc != OTAD_OK) {
        otad_error_set(err, rc, "%s", otad_tape_message(t));
    } else {
        otad_value xv = otad_value_of(t, x), av = otad_value_of(t, a);
        double *xs = NULL, *ws = NULL;
        if (copy_out(points ? &xs : NULL, xv.data, xv.rows * xv.cols) != OTAD_OK ||
            copy_out(weights ? &ws : NULL, av.data, av.rows) != OTAD_OK) {
            free(xs);
            rc = otad_error_set(err, OTAD_ENOMEM, "mke: out of memory");
        } else {
            if (points)
                *points = xs;
            if (weights)
                *weights = ws;
            if (loss)
                *loss = value;
            *n_model = xv.rows;
        }
    }
    otad_tape_free(&t);
    return rc;
}

int otad_mke_fit(const otad_mke *p, const double *start, const otad_lbfgs_params *params,
                 otad_mke_result *result, otad_error *err)
{
    if (!result)
        return otad_error_set(err, OTAD_EINVAL, "mke: no result given");
    memset(result, 0, sizeof *result);
    int rc = otad_mke_check(p, err);
    if (rc != OTAD_OK)
        return rc;
    if (!start)
        return otad_error_set(err, OTAD_EINVAL, "mke: no start point given");
    prepared pp = {p, 0};
    if (p->debiased && (rc = data_self_loss(p, &pp.half_data_self, err)) != OTAD_OK)
        return rc;
    size_t n = theta_size(p);
    double *theta = malloc(n * sizeof *theta);
    if (!theta)
        return otad_error_set(err, OTAD_ENOMEM, "mke: out of memory");
    memcpy(theta, start, n * sizeof *theta);
    rc = otad_lbfgs(build_prepared, &pp, n, theta, params, &result->lbfgs);
    if (rc != OTAD_OK) {
        otad_error_set(err, rc, "%s", result->lbfgs.message);
        free(theta);
        return rc;
    }
    rc = otad_mke_evaluate(p, theta, &result->points, &result->weights, &result->n_model,
                           NULL, err);
    if (rc != OTAD_OK) {
        free(theta);
        return rc;
    }
    result->theta = theta;
    return OTAD_OK;
}

void otad_mke_result_free(otad_mke_result *r)
{
    if (!r)
        return;
    free(r->theta);
    free(r->points);
    free(r->weights);
    otad_lbfgs_result_free(&r->lbfgs);
    r->theta = r->points = r->weights = NULL;
}
