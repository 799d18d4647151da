/* k-means as minimum Kantorovich estimation (Genevay et al. 2018): k atoms with free
 * positions and weights.  With the transport cost at small ε, moving an atom
 * to the mean of the mass it receives and giving it that mass is optimal:
 * Lloyd's fixed points. */
#include <math.h>

#include "models_internal.h"

int otad_mke_use_atoms(otad_mke *p, otad_mke_atoms *atoms, size_t k, otad_error *err)
{
    if (!p || !atoms)
        return otad_error_set(err, OTAD_EINVAL, "mke atoms: no problem or model given");
    if (k == 0 || k > p->n_data)
        return otad_error_set(err, OTAD_EINVAL, "mke atoms: k = %zu atoms for %zu data points "
                              "(need 1 ≤ k ≤ points)", k, p->n_data);
    if (p->dim == 0)
        return otad_error_set(err, OTAD_EINVAL, "mke atoms: set the data first");
    *atoms = (otad_mke_atoms){k, p->dim};
    p->model = otad_mke_atoms_model;
    p->model_instance = atoms;
    p->n_params = k * (p->dim + 1);
    return OTAD_OK;
}

int otad_mke_atoms_model(otad_tape *t, otad_var theta, void *instance, otad_var *points,
                         otad_var *weights)
{
    const otad_mke_atoms *m = instance;
    int rc = otadM_check_model(t, "mke atoms", "atoms", m, m ? m->k * (m->dim + 1) : 0, theta,
                               points, weights);
    if (rc != OTAD_OK)
        return rc;
    size_t positions = m->k * m->dim;
    *points = otad_reshape(t, otad_slice(t, theta, 0, positions, 0, 1), m->k, m->dim);
    *weights = otad_softmax(t, otad_slice(t, theta, positions, m->k, 0, 1));
    return otad_tape_status(t);
}

static double squared_distance(const otad_mke *p, size_t j, const double *centre, size_t k)
{
    double s = 0;
    for (size_t c = 0; c < p->dim; c++) {
        double d = p->data[j + c * p->n_data] - centre[c * k];
        s += d * d;
    }
    return s;
}

/* k-means++'s weight of data point j once `chosen` atoms are placed (atom b
 * at centres[b + c·k]): its mass times its squared distance to the nearest. */
static double seeding_weight(const otad_mke *p, size_t j, const double *centres, size_t k,
                             size_t chosen)
{
    double nearest = chosen ? INFINITY : 1.0;
    for (size_t b = 0; b < chosen; b++)
        nearest = fmin(nearest, squared_distance(p, j, centres + b, k));
    return (p->data_weights ? p->data_weights[j] : 1.0) * nearest;
}

/* k-means++ (Arthur and Vassilvitskii 2007): each new atom is a data point
 * drawn with probability ∝ weight × squared distance to the nearest atom. */
void otad_mke_atoms_start(const otad_mke *p, const otad_mke_atoms *atoms, uint64_t seed,
                          double *theta)
{
    if (!p || !p->data || !atoms || !theta)
        return;
    size_t k = atoms->k, m = p->n_data;
    otad_rng rng = {seed};
    for (size_t a = 0; a < k; a++) {
        double total = 0;
        for (size_t j = 0; j < m; j++)
            total += seeding_weight(p, j, theta, k, a);
        double target = otad_rng_uniform(&rng) * total, run = 0;
        size_t pick = m - 1;
        for (size_t j = 0; j < m; j++) {
            run += seeding_weight(p, j, theta, k, a);
            if (run > target) {
                pick = j;
                break;
            }
        }
        for (size_t c = 0; c < p->dim; c++)
            theta[a + c * k] = p->data[pick + c * m];
    }
    for (size_t a = 0; a < k; a++)
        theta[k * p->dim + a] = 0;
}
