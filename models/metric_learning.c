/* Ground metric learning on graphs (Heitz, Bonneel, Coeurjolly, Cuturi,
 * Peyré 2020): edge weights w = exp(z) of a heat kernel under which the
 * displacement interpolation between the first and last frame reproduces
 * the frames observed in between. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

/* A balanced barycenter of histograms assumes equal masses. */
#define MASS_TOLERANCE 1e-6

static const otad_var no_var;

void otad_metric_learning_init(otad_metric_learning *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->eps = 4e-2;
    p->steps = 20;
    p->loss = OTAD_LOSS_L2;
    p->lambda_s = 0.03;
    otad_barycenter_opts_init(&p->barycenter);
}

static double frame_time(const otad_metric_learning *p, size_t i)
{
    return p->times ? p->times[i] : (double)i / (double)(p->n_frames - 1);
}

/* What an interpolation needs: the graph, the kernel's ε and S, and the
 * first and last frame. */
static int check_kernel(const otad_metric_learning *p, otad_error *err)
{
    if (!p)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: no problem given");
    if (!p->graph)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: no graph given");
    size_t n = otad_graph_vertices(p->graph);
    if (p->size != n)
        return otad_error_set(err, OTAD_ESHAPE, "metric learning: frames have %zu entries, "
                              "the graph has %zu vertices", p->size, n);
    if (!(p->eps > 0) || !isfinite(p->eps))
        return otad_error_set(err, OTAD_EDOMAIN, "metric learning: eps is %g, must be "
                              "positive", p->eps);
    if (p->steps < 1)
        return otad_error_set(err, OTAD_EDOMAIN, "metric learning: the heat kernel has %d "
                              "steps, needs at least 1", p->steps);
    if (!p->frames || p->n_frames < 2)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: %zu frames given, needs "
                              "the first and the last at least", p->frames ? p->n_frames : 0);
    int rc = otadS_check_barycenter_opts(&p->barycenter, "metric learning", "barycenter.", err);
    return rc == OTAD_OK ? otadV_size(err, "metric learning", "frames", p->size, p->n_frames)
                         : rc;
}

static int check_frames(const otad_metric_learning *p, otad_error *err)
{
    double first = 0;
    for (size_t j = 0; j < p->n_frames; j++) {
        double mass = 0;
        for (size_t i = 0; i < p->size; i++) {
            double v = p->frames[i + j * p->size];
            if (!(v >= 0) || !isfinite(v))
                return otad_error_set(err, OTAD_EDOMAIN, "metric learning: frame %zu has "
                                      "entry %g at %zu (frames are finite and non-negative)",
                                      j, v, i);
            if (v == 0 && p->loss == OTAD_LOSS_KL && j > 0 && j + 1 < p->n_frames)
                return otad_error_set(err, OTAD_EDOMAIN, "metric learning: frame %zu is 0 at "
                                      "%zu, the KL loss needs positive frames", j, i);
            mass += v;
        }
        if (!(mass > 0))
            return otad_error_set(err, OTAD_EDOMAIN, "metric learning: frame %zu has no "
                                  "mass", j);
        if (j == 0)
            first = mass;
        else if (isinf(p->barycenter.rho) &&
                 fabs(mass - first) > MASS_TOLERANCE * fmax(mass, first))
            return otad_error_set(err, OTAD_EDOMAIN, "metric learning: frame %zu has mass "
                                  "%.10g, frame 0 has %.10g (they must be equal, unless the "
                                  "barycenters are unbalanced: barycenter.rho)", j, mass,
                                  first);
    }
    return OTAD_OK;
}

static int check_times(size_t n, const double *t, otad_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!(t[i] >= 0 && t[i] <= 1))
            return otad_error_set(err, OTAD_EDOMAIN, "metric learning: time %zu is %g, must "
                                  "be in [0, 1]", i, t[i]);
    return OTAD_OK;
}

int otad_metric_learning_check(const otad_metric_learning *p, otad_error *err)
{
    int rc = check_kernel(p, err);
    if (rc != OTAD_OK)
        return rc;
    if (p->n_frames < 3)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: %zu frames given, needs at "
                              "least 3 (two ends and one to fit)", p->n_frames);
    if (p->loss != OTAD_LOSS_L2 && p->loss != OTAD_LOSS_KL && p->loss != OTAD_LOSS_L1)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: loss %d (L2, KL or L1)",
                              (int)p->loss);
    if (!(p->data_weight >= 0) || !(p->lambda_c >= 0) || !(p->lambda_s >= 0) ||
        !isfinite(p->data_weight + p->lambda_c + p->lambda_s))
        return otad_error_set(err, OTAD_EDOMAIN, "metric learning: data weight %g, lambda_c "
                              "%g, lambda_s %g (all finite and ≥ 0)", p->data_weight,
                              p->lambda_c, p->lambda_s);
    if (p->times) {
        rc = check_times(p->n_frames, p->times, err);
        if (rc != OTAD_OK)
            return rc;
        if (p->times[0] != 0 || p->times[p->n_frames - 1] != 1)
            return otad_error_set(err, OTAD_EDOMAIN, "metric learning: times run from %g to "
                                  "%g, must run from 0 to 1", p->times[0],
                                  p->times[p->n_frames - 1]);
        for (size_t i = 1; i < p->n_frames; i++)
            if (!(p->times[i] > p->times[i - 1]))
                return otad_error_set(err, OTAD_EDOMAIN, "metric learning: time %zu (%g) "
                                      "does not follow time %zu (%g)", i, p->times[i], i - 1,
                                      p->times[i - 1]);
    }
    return check_frames(p, err);
}

/* Columns f = 0..count−1 of the barycenter weights: (1 − t, t). */
static otad_var interpolation_weights(otad_tape *t, size_t count, const double *times)
{
    double *w = otad_tape_alloc(t, 2 * count * sizeof *w);
    if (!w)
        return no_var;
    for (size_t f = 0; f < count; f++) {
        w[2 * f] = 1 - times[f];
        w[2 * f + 1] = times[f];
    }
    return otad_const(t, 2, count, w);
}

/* The displacement interpolation at count times under the kernel of w. */
static otad_var interpolate(otad_tape *t, const otad_metric_learning *p, otad_var w,
                            size_t count, const double *times)
{
    size_t n = p->size;
    otad_kernel k = otad_kernel_heat(t, p->graph, w, p->eps, p->steps);
    otad_var first = otad_const(t, n, 1, p->frames);
    otad_var last = otad_const(t, n, 1, p->frames + (p->n_frames - 1) * n);
    otad_var ends = otad_hcat(t, 2, (otad_var[]){first, last});
    return otad_barycenter(t, k, ends, interpolation_weights(t, count, times), &p->barycenter);
}

/* The energy's three terms at w, each 1×1 and already weighted. */
static void energy_terms(otad_tape *t, const otad_metric_learning *p, otad_var w,
                         otad_var terms[3])
{
    size_t n = p->size, inner = p->n_frames - 2;
    double *times = otad_tape_alloc(t, inner * sizeof *times);
    if (!times)
        return;
    for (size_t i = 0; i < inner; i++)
        times[i] = frame_time(p, i + 1);
    otad_var bary = interpolate(t, p, w, inner, times);
    otad_var observed = otad_const(t, n, inner, p->frames + n);
    otad_var losses = otadM_histogram_loss(t, p->loss, (otad_kernel){0}, bary, observed, NULL);
    double alpha = p->data_weight > 0 ? p->data_weight : (double)n;
    terms[0] = otad_scale(t, otad_sum(t, losses), alpha);
    otad_var d = otad_edge_differences(t, p->graph, w);
    terms[1] = otad_scale(t, otad_dot(t, d, d), p->lambda_s);
    size_t m = otad_graph_edges(p->graph);
    otad_var closeness = otad_loss_l2(t, w, otad_const_fill(t, m, 1, 1.0));
    terms[2] = otad_scale(t, closeness, p->lambda_c);
}

otad_var otad_metric_learning_build(otad_tape *t, otad_var z, void *instance)
{
    const otad_metric_learning *p = instance;
    if (!p || !p->graph) {
        otad_tape_fail(t, OTAD_EINVAL, "metric learning: no problem or graph given");
        return no_var;
    }
    otad_value zv = otad_value_of(t, z);
    if (otad_tape_status(t) != OTAD_OK)
        return no_var;
    if (!zv.data) {
        otad_tape_fail(t, OTAD_EINVAL, "metric learning: z is not a node of this tape (invalid, "
                       "or recorded before a reset)");
        return no_var;
    }
    size_t m = otad_graph_edges(p->graph);
    if (zv.rows * zv.cols != m) {
        otad_tape_fail(t, OTAD_ESHAPE, "metric learning: z has %zu entries, the graph has %zu "
                       "edges", zv.rows * zv.cols, m);
        return no_var;
    }
    otad_var terms[3] = {no_var, no_var, no_var};
    energy_terms(t, p, otad_exp(t, otad_reshape(t, z, m, 1)), terms);
    return otad_add(t, otad_add(t, terms[0], terms[1]), terms[2]);
}

static int positive_weights(const double *w, size_t m, otad_error *err)
{
    for (size_t e = 0; w && e < m; e++)
        if (!(w[e] > 0) || !isfinite(w[e]))
            return otad_error_set(err, OTAD_EDOMAIN, "metric learning: weight of edge %zu is "
                                  "%g, must be positive and finite", e, w[e]);
    return OTAD_OK;
}

int otad_metric_learning_interpolate(const otad_metric_learning *p, const double *w,
                                     size_t n_times, const double *times, double *out,
                                     otad_metric_learning_energy *energy, otad_error *err)
{
    int rc = energy ? otad_metric_learning_check(p, err) : check_kernel(p, err);
    if (rc != OTAD_OK)
        return rc;
    if ((n_times && (!times || !out)) || (!n_times && !energy))
        return otad_error_set(err, OTAD_EINVAL, "metric learning: interpolate needs times and "
                              "an output, or an energy to fill (%s)",
                              !n_times ? "n_times is 0, energy NULL"
                              : !times ? "times is NULL" : "out is NULL");
    if (n_times && (rc = otadV_size(err, "metric learning", "out", p->size, n_times)) != OTAD_OK)
        return rc;
    size_t m = otad_graph_edges(p->graph);
    if ((rc = positive_weights(w, m, err)) != OTAD_OK ||
        (rc = check_times(n_times, times, err)) != OTAD_OK)
        return rc;
    otad_tape *t;
    if ((rc = otad_tape_new(&t, NULL)) != OTAD_OK)
        return otad_error_set(err, rc, "metric learning: out of memory");
    otad_var wv = w ? otad_const(t, m, 1, w) : otad_const_fill(t, m, 1, 1.0);
    otad_var path = n_times ? interpolate(t, p, wv, n_times, times) : no_var;
    otad_var terms[3] = {no_var, no_var, no_var};
    if (energy)
        energy_terms(t, p, wv, terms);
    rc = otad_tape_status(t);
    if (rc != OTAD_OK) {
        otad_error_set(err, rc, "%s", otad_tape_message(t));
    } else {
        if (n_times)
            memcpy(out, otad_value_of(t, path).data, p->size * n_times * sizeof *out);
        if (energy) {
            energy->data = otad_scalar(t, terms[0]);
            energy->smoothness = otad_scalar(t, terms[1]);
            energy->closeness = otad_scalar(t, terms[2]);
            energy->total = energy->data + energy->smoothness + energy->closeness;
        }
    }
    otad_tape_free(&t);
    return rc;
}

int otad_metric_learning_fit(const otad_metric_learning *p, const double *start,
                             const otad_lbfgs_params *params,
                             otad_metric_learning_result *result, otad_error *err)
{
    if (!result)
        return otad_error_set(err, OTAD_EINVAL, "metric learning: no result given");
    memset(result, 0, sizeof *result);
    int rc = otad_metric_learning_check(p, err);
    if (rc == OTAD_OK)
        rc = positive_weights(start, otad_graph_edges(p->graph), err);
    if (rc != OTAD_OK)
        return rc;
    size_t m = otad_graph_edges(p->graph), n = p->size, frames = p->n_frames;
    double *z = malloc(m * sizeof *z), *times = malloc(frames * sizeof *times);
    double *recon = malloc(n * frames * sizeof *recon);
    if (!z || !times || !recon)
        rc = otad_error_set(err, OTAD_ENOMEM, "metric learning: out of memory");
    for (size_t e = 0; rc == OTAD_OK && e < m; e++)
        z[e] = start ? log(start[e]) : 0.0;
    if (rc == OTAD_OK) {
        rc = otad_lbfgs(otad_metric_learning_build, (void *)p, m, z, params, &result->lbfgs);
        if (rc != OTAD_OK)
            otad_error_set(err, rc, "%s", result->lbfgs.message);
    }
    if (rc == OTAD_OK) {
        for (size_t e = 0; e < m; e++)
            z[e] = exp(z[e]);
        for (size_t i = 0; i < frames; i++)
            times[i] = frame_time(p, i);
        rc = otad_metric_learning_interpolate(p, z, frames, times, recon, &result->energy, err);
    }
    free(times);
    if (rc != OTAD_OK) {
        free(z), free(recon);
        return rc;
    }
    /* the ends are the data, not their own interpolation at t = 0 and 1 */
    memcpy(recon, p->frames, n * sizeof *recon);
    memcpy(recon + (frames - 1) * n, p->frames + (frames - 1) * n, n * sizeof *recon);
    result->weights = z;
    result->reconstructions = recon;
    return OTAD_OK;
}

void otad_metric_learning_result_free(otad_metric_learning_result *r)
{
    if (!r)
        return;
    free(r->weights);
    free(r->reconstructions);
    otad_lbfgs_result_free(&r->lbfgs);
    r->weights = r->reconstructions = NULL;
}
