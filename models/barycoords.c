/* Wasserstein barycentric coordinates (Bonneel, Peyré, Cuturi 2016): the
 * weights λ_t = softmax(θ_t) whose L-iterate Sinkhorn barycenter of the
 * database is closest to target t.  All targets share one batched
 * barycenter: column t of the weights is target t's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

/* Equal masses are what a balanced barycenter of histograms assumes. */
#define MASS_TOLERANCE 1e-6

static const otad_var no_var;

void otad_barycoords_init(otad_barycoords *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->loss = OTAD_LOSS_L2;
    otad_barycenter_opts_init(&p->barycenter);
    otad_sinkhorn_opts_init(&p->sinkhorn);
    /* an L-iterate barycenter is off its mass by a little */
    p->sinkhorn.mass_tolerance = 0;
}

/* The mass of column j of an N-row matrix, or the first bad entry. */
static int column_mass(const double *x, size_t n, size_t j, const char *what, double *mass,
                       otad_error *err)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i + j * n];
        if (!(v >= 0) || !isfinite(v))
            return otad_error_set(err, OTAD_EDOMAIN, "barycoords: %s %zu has entry %g at %zu "
                                  "(histograms are finite and non-negative)", what, j, v, i);
        sum += v;
    }
    if (!(sum > 0))
        return otad_error_set(err, OTAD_EDOMAIN, "barycoords: %s %zu has no mass", what, j);
    *mass = sum;
    return OTAD_OK;
}

/* The support and the database: what a projection needs. */
static int check_database(const otad_barycoords *p, otad_error *err)
{
    if (!p)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: no problem given");
    if (p->support.kind != OTAD_SUPPORT_GRID && p->support.kind != OTAD_SUPPORT_GRAPH &&
        p->support.kind != OTAD_SUPPORT_COST)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: support.kind is %d, must be GRID, "
                              "GRAPH or COST", (int)p->support.kind);
    size_t n = otad_support_size(&p->support);
    if (!n)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: the support is not set (grid, "
                              "graph or cost)");
    if (!(p->support.eps > 0) || !isfinite(p->support.eps))
        return otad_error_set(err, OTAD_EDOMAIN, "barycoords: the support's eps is %g, must be "
                              "positive", p->support.eps);
    if (p->support.kind == OTAD_SUPPORT_GRAPH && p->support.steps < 1)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: the heat kernel has %d steps, "
                              "needs at least 1", p->support.steps);
    if (p->size != n)
        return otad_error_set(err, OTAD_ESHAPE, "barycoords: histograms have %zu entries, the "
                              "support has %zu points", p->size, n);
    if (!p->database || p->n_histograms == 0)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: the database is empty");
    if (p->n_histograms < 2)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: the database has %zu histogram; "
                              "barycentric coordinates need at least 2", p->n_histograms);
    int rc = otadV_size(err, "barycoords", "the database", n, p->n_histograms);
    if (rc == OTAD_OK)
        rc = otadS_check_barycenter_opts(&p->barycenter, "barycoords", "barycenter.", err);
    if (rc != OTAD_OK)
        return rc;
    double first = 0, mass = 0;
    for (size_t j = 0; j < p->n_histograms; j++) {
        rc = column_mass(p->database, n, j, "database histogram", &mass, err);
        if (rc != OTAD_OK)
            return rc;
        if (j == 0)
            first = mass;
        else if (isinf(p->barycenter.rho) &&
                 fabs(mass - first) > MASS_TOLERANCE * fmax(mass, first))
            return otad_error_set(err, OTAD_EDOMAIN, "barycoords: database histogram %zu has "
                                  "mass %.10g, histogram 0 has %.10g (they must be equal, "
                                  "unless the barycenters are unbalanced: barycenter.rho)", j,
                                  mass, first);
    }
    return OTAD_OK;
}

int otad_barycoords_check(const otad_barycoords *p, otad_error *err)
{
    int rc = check_database(p, err);
    if (rc != OTAD_OK)
        return rc;
    if (!p->targets || p->n_targets == 0)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: no target given");
    rc = otadV_size(err, "barycoords", "the targets", p->size, p->n_targets);
    if (rc == OTAD_OK)
        rc = otadV_enum(err, "barycoords", "loss", (int)p->loss, OTAD_LOSS_L2,
                        OTAD_LOSS_SINKHORN, "OTAD_LOSS_L2, OTAD_LOSS_KL, OTAD_LOSS_L1 or "
                        "OTAD_LOSS_SINKHORN");
    if (rc == OTAD_OK)
        rc = otadS_check_sinkhorn_opts(&p->sinkhorn, "barycoords", "sinkhorn.", err);
    if (rc != OTAD_OK)
        return rc;
    double mass;
    for (size_t j = 0; j < p->n_targets; j++) {
        rc = column_mass(p->targets, p->size, j, "target", &mass, err);
        if (rc != OTAD_OK)
            return rc;
        for (size_t i = 0; p->loss == OTAD_LOSS_KL && i < p->size; i++)
            if (p->targets[i + j * p->size] == 0)
                return otad_error_set(err, OTAD_EDOMAIN, "barycoords: target %zu is 0 at %zu, "
                                      "the KL loss needs positive targets", j, i);
    }
    return OTAD_OK;
}

/* The 1×T losses of the targets at θ (S·T × 1), and λ (S×T). */
static otad_var target_losses(otad_tape *t, otad_var theta, const otad_barycoords *p,
                              otad_var *lambda_out)
{
    size_t s = p->n_histograms, n_targets = p->n_targets;
    otad_value th = otad_value_of(t, theta);
    if (otad_tape_status(t) != OTAD_OK)
        return no_var;
    if (!th.data) {
        otad_tape_fail(t, OTAD_EINVAL, "barycoords: theta is not a node of this tape (invalid, "
                       "or recorded before a reset)");
        return no_var;
    }
    if (th.rows * th.cols != s * n_targets) {
        otad_tape_fail(t, OTAD_ESHAPE, "barycoords: theta has %zu entries, needs S·T = %zu·%zu",
                       th.rows * th.cols, s, n_targets);
        return no_var;
    }
    otad_kernel k = otad_support_kernel(t, &p->support);
    otad_var lambda = otad_softmax(t, otad_reshape(t, theta, s, n_targets));
    otad_var database = otad_const(t, p->size, s, p->database);
    otad_var bary = otad_barycenter(t, k, database, lambda, &p->barycenter);
    otad_var q = otad_const(t, p->size, n_targets, p->targets);
    if (lambda_out)
        *lambda_out = lambda;
    return otadM_histogram_loss(t, p->loss, k, bary, q, &p->sinkhorn);
}

otad_var otad_barycoords_build(otad_tape *t, otad_var theta, void *instance)
{
    if (!instance) {
        otad_tape_fail(t, OTAD_EINVAL, "barycoords: no problem given");
        return no_var;
    }
    return otad_sum(t, target_losses(t, theta, instance, NULL));
}

static int start_point(const otad_barycoords *p, const double *start, double *theta,
                       otad_error *err)
{
    size_t s = p->n_histograms;
    int rc = start ? otadV_simplex(err, "barycoords", "start", start, s, p->n_targets) : OTAD_OK;
    for (size_t k = 0; start && rc == OTAD_OK && k < s * p->n_targets; k++)
        if (!(start[k] > 0)) /* θ = log λ */
            rc = otad_error_set(err, OTAD_EDOMAIN, "barycoords: start weight %zu of target %zu "
                                "is %g, must be positive", k % s, k / s, start[k]);
    for (size_t k = 0; rc == OTAD_OK && k < s * p->n_targets; k++)
        theta[k] = start ? log(start[k]) : 0.0;
    return rc;
}

/* λ and the per-target losses at θ, on a tape of their own. */
static int fitted(const otad_barycoords *p, const double *theta, double *weights,
                  double *losses, otad_error *err)
{
    otad_tape *t;
    int rc = otad_tape_new(&t, NULL);
    if (rc != OTAD_OK)
        return otad_error_set(err, rc, "barycoords: no tape for the fitted losses");
    size_t n = p->n_histograms * p->n_targets;
    otad_var lambda, loss = target_losses(t, otad_const(t, n, 1, theta), p, &lambda);
    rc = otad_tape_status(t);
    if (rc == OTAD_OK) {
        memcpy(weights, otad_value_of(t, lambda).data, n * sizeof *weights);
        memcpy(losses, otad_value_of(t, loss).data, p->n_targets * sizeof *losses);
    } else {
        otad_error_set(err, rc, "barycoords: the fitted losses: %s", otad_tape_message(t));
    }
    otad_tape_free(&t);
    return rc;
}

int otad_barycoords_fit(const otad_barycoords *p, const double *start,
                        const otad_lbfgs_params *params, otad_barycoords_result *result,
                        otad_error *err)
{
    if (!result)
        return otad_error_set(err, OTAD_EINVAL, "barycoords: no result given");
    memset(result, 0, sizeof *result);
    int rc = otad_barycoords_check(p, err);
    if (rc != OTAD_OK)
        return rc;
    size_t n = p->n_histograms * p->n_targets;
    double *theta = malloc(n * sizeof *theta), *weights = malloc(n * sizeof *weights);
    double *losses = malloc(p->n_targets * sizeof *losses);
    if (!theta || !weights || !losses)
        rc = otad_error_set(err, OTAD_ENOMEM, "barycoords: out of memory");
    if (rc == OTAD_OK)
        rc = start_point(p, start, theta, err);
    if (rc == OTAD_OK) {
        rc = otad_lbfgs(otad_barycoords_build, (void *)p, n, theta, params, &result->lbfgs);
        if (rc != OTAD_OK)
            otad_error_set(err, rc, "%s", result->lbfgs.message);
    }
    if (rc == OTAD_OK)
        rc = fitted(p, theta, weights, losses, err);
    free(theta);
    if (rc != OTAD_OK) {
        free(weights), free(losses);
        return rc;
    }
    result->weights = weights;
    result->target_losses = losses;
    return OTAD_OK;
}

void otad_barycoords_result_free(otad_barycoords_result *r)
{
    if (!r)
        return;
    free(r->weights);
    free(r->target_losses);
    otad_lbfgs_result_free(&r->lbfgs);
    r->weights = r->target_losses = NULL;
}

int otad_barycoords_project(const otad_barycoords *p, const double *weights, size_t n_cols,
                            double *out, otad_error *err)
{
    static const char who[] = "barycoords_project";
    int rc = otadV_not_null(err, who, "problem", p);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, who, "weights", weights);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, who, "out", out);
    if (rc == OTAD_OK && n_cols == 0)
        rc = otad_error_set(err, OTAD_EINVAL, "%s: n_cols is 0, must be at least 1", who);
    if (rc == OTAD_OK)
        rc = check_database(p, err);
    if (rc == OTAD_OK)
        rc = otadV_size(err, who, "the output", p->size, n_cols);
    if (rc == OTAD_OK)
        rc = otadV_size(err, who, "weights", p->n_histograms, n_cols);
    /* checked here, where the message can name project's argument, not in
     * the ops that would meet the weights later */
    if (rc == OTAD_OK)
        rc = otadV_simplex(err, who, "weights", weights, p->n_histograms, n_cols);
    if (rc != OTAD_OK)
        return rc;
    otad_tape *t;
    rc = otad_tape_new(&t, NULL);
    if (rc != OTAD_OK)
        return otad_error_set(err, rc, "barycoords: out of memory");
    otad_kernel k = otad_support_kernel(t, &p->support);
    otad_var database = otad_const(t, p->size, p->n_histograms, p->database);
    otad_var bary = otad_barycenter(t, k, database,
                                    otad_const(t, p->n_histograms, n_cols, weights),
                                    &p->barycenter);
    rc = otad_tape_status(t);
    if (rc == OTAD_OK)
        memcpy(out, otad_value_of(t, bary).data, p->size * n_cols * sizeof *out);
    else
        otad_error_set(err, rc, "%s", otad_tape_message(t));
    otad_tape_free(&t);
    return rc;
}
