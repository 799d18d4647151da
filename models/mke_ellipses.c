/* Uniform ellipse measures in the plane (Genevay et al. 2018, their ellipses):
 * x_{k,j} = m_k + A_k z_j over fixed samples z_j of the unit disk. */
#include <math.h>

#include "models_internal.h"

/* Entries per ellipse in θ: m (2), A row-major (4). */
#define BLOCK 6

int otad_mke_use_ellipses(otad_mke *p, otad_mke_ellipses *e, size_t count, size_t n_samples,
                          const double *samples, otad_error *err)
{
    if (!p || !e)
        return otad_error_set(err, OTAD_EINVAL, "mke ellipses: no problem or model given");
    if (p->dim != 2)
        return otad_error_set(err, OTAD_EINVAL, "mke ellipses: the data has %zu coordinates, "
                              "ellipses live in the plane (2)", p->dim);
    if (count == 0 || n_samples == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke ellipses: %zu ellipses over %zu disk "
                              "samples (need at least one of each)", count, n_samples);
    int rc = otadV_size(err, "mke ellipses", "samples", n_samples, 2);
    if (rc == OTAD_OK)
        rc = otadV_size(err, "mke ellipses", "the model's points (count x n_samples)", count,
                        n_samples);
    if (rc == OTAD_OK)
        rc = otadV_not_null(err, "mke ellipses", "samples", samples);
    if (rc != OTAD_OK)
        return rc;
    for (size_t i = 0; i < 2 * n_samples; i++)
        if (!isfinite(samples[i]))
            return otad_error_set(err, OTAD_EDOMAIN, "mke ellipses: disk sample %zu is not "
                                  "finite", i % n_samples);
    *e = (otad_mke_ellipses){count, n_samples, samples};
    p->model = otad_mke_ellipses_model;
    p->model_instance = e;
    p->n_params = BLOCK * count;
    return OTAD_OK;
}

/* With A's row-major entries read as a column-major 2×2 matrix, the block
 * is Aᵀ, so the points z Aᵀ of the rows z come from one product. */
int otad_mke_ellipses_model(otad_tape *t, otad_var theta, void *instance, otad_var *points,
                            otad_var *weights)
{
    const otad_mke_ellipses *e = instance;
    int rc = otadM_check_model(t, "mke ellipses", "ellipses", e, e ? BLOCK * e->count : 0, theta,
                               points, weights);
    if (rc != OTAD_OK)
        return rc;
    otad_var *blocks = otad_tape_alloc(t, e->count * sizeof *blocks);
    otad_var z = otad_const(t, e->n_samples, 2, e->samples);
    for (size_t k = 0; blocks && k < e->count; k++) {
        otad_var centre = otad_reshape(t, otad_slice(t, theta, BLOCK * k, 2, 0, 1), 1, 2);
        otad_var a_t = otad_reshape(t, otad_slice(t, theta, BLOCK * k + 2, 4, 0, 1), 2, 2);
        blocks[k] = otad_add(t, otad_matmul(t, z, 0, a_t, 0), centre);
    }
    if (blocks)
        *points = e->count == 1 ? blocks[0] : otad_vcat(t, e->count, blocks);
    *weights = (otad_var){0, 0};
    return otad_tape_status(t);
}

void otad_disk_samples(size_t n, double *z)
{
    if (!z)
        return;
    const double golden_angle = acos(-1.0) * (3 - sqrt(5.0));
    for (size_t j = 0; j < n; j++) {
        double r = sqrt((j + 0.5) / (double)n), angle = (double)j * golden_angle;
        z[j] = r * cos(angle);
        z[j + n] = r * sin(angle);
    }
}

void otad_ellipse_semi_axes(const double *block, double axes[2])
{
    if (!axes)
        return;
    if (!block) {
        axes[0] = axes[1] = NAN;
        return;
    }
    const double *a = block + 2;
    double s11 = a[0] * a[0] + a[1] * a[1], s22 = a[2] * a[2] + a[3] * a[3];
    double s12 = a[0] * a[2] + a[1] * a[3];
    double mean = 0.5 * (s11 + s22), radius = hypot(0.5 * (s11 - s22), s12);
    axes[0] = sqrt(mean + radius);
    axes[1] = isnan(mean - radius) ? NAN : sqrt(fmax(mean - radius, 0));
}
