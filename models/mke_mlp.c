/* A small generator for minimum Kantorovich estimation (Genevay et al.
 * 2018, "learning f_θ"): a perceptron pushing fixed latent samples
 * forward, h ← tanh(h W + b) on the hidden layers, linear at the output. */
#include <math.h>

#include "models_internal.h"

int otad_mke_use_mlp(otad_mke *p, otad_mke_mlp *mlp, size_t latent_dim, size_t n_hidden,
                     const size_t *hidden, size_t n_samples, const double *samples,
                     otad_error *err)
{
    if (!p || !mlp)
        return otad_error_set(err, OTAD_EINVAL, "mke mlp: no problem or model given");
    if (p->dim == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke mlp: set the data first");
    if (latent_dim == 0 || n_hidden == 0 || n_hidden >= OTAD_MKE_MLP_MAX_LAYERS)
        return otad_error_set(err, OTAD_EINVAL, "mke mlp: latent dimension %zu with %zu hidden "
                              "layers (need ≥ 1, and 1 to %d layers)", latent_dim, n_hidden,
                              OTAD_MKE_MLP_MAX_LAYERS - 1);
    if (!hidden)
        return otad_error_set(err, OTAD_EINVAL, "mke mlp: hidden is NULL for %zu hidden layers",
                              n_hidden);
    if (!samples || n_samples == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke mlp: no latent samples given");
    int rc = otadV_size(err, "mke mlp", "samples", n_samples, latent_dim);
    if (rc != OTAD_OK)
        return rc;
    for (size_t i = 0; i < latent_dim * n_samples; i++)
        if (!isfinite(samples[i]))
            return otad_error_set(err, OTAD_EDOMAIN, "mke mlp: latent sample %zu is not "
                                  "finite", i % n_samples);
    otad_mke_mlp m = {.n_layers = n_hidden + 1, .n_samples = n_samples, .samples = samples};
    m.width[0] = latent_dim;
    size_t n_params = 0;
    for (size_t l = 0; l <= n_hidden; l++) {
        m.width[l + 1] = l < n_hidden ? hidden[l] : p->dim;
        if (m.width[l + 1] == 0)
            return otad_error_set(err, OTAD_EINVAL, "mke mlp: hidden layer %zu has width 0", l);
        n_params += (m.width[l] + 1) * m.width[l + 1];
    }
    *mlp = m;
    p->model = otad_mke_mlp_model;
    p->model_instance = mlp;
    p->n_params = n_params;
    return OTAD_OK;
}

int otad_mke_mlp_model(otad_tape *t, otad_var theta, void *instance, otad_var *points,
                       otad_var *weights)
{
    const otad_mke_mlp *mlp = instance;
    size_t n_params = 0;
    for (size_t l = 0; mlp && l < mlp->n_layers && l < OTAD_MKE_MLP_MAX_LAYERS; l++)
        n_params += (mlp->width[l] + 1) * mlp->width[l + 1];
    int rc = otadM_check_model(t, "mke mlp", "mlp", mlp, n_params, theta, points, weights);
    if (rc != OTAD_OK)
        return rc;
    otad_var h = otad_const(t, mlp->n_samples, mlp->width[0], mlp->samples);
    size_t at = 0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        size_t in = mlp->width[l], out = mlp->width[l + 1];
        otad_var w = otad_reshape(t, otad_slice(t, theta, at, in * out, 0, 1), in, out);
        otad_var b = otad_reshape(t, otad_slice(t, theta, at + in * out, out, 0, 1), 1, out);
        at += (in + 1) * out;
        h = otad_add(t, otad_matmul(t, h, 0, w, 0), b);
        if (l + 1 < mlp->n_layers)
            h = otad_tanh(t, h);
    }
    *points = h;
    *weights = (otad_var){0, 0};
    return otad_tape_status(t);
}

void otad_mke_mlp_start(const otad_mke_mlp *mlp, uint64_t seed, double *theta)
{
    if (!mlp || !theta)
        return;
    otad_rng rng = {seed};
    size_t at = 0;
    for (size_t l = 0; l < mlp->n_layers; l++) {
        size_t in = mlp->width[l], out = mlp->width[l + 1];
        double bound = sqrt(6.0 / (double)(in + out));
        otad_rng_fill(&rng, theta + at, in * out, -bound, bound);
        for (size_t i = 0; i < out; i++)
            theta[at + in * out + i] = 0;
        at += (in + 1) * out;
    }
}
