/* The LCG the reference workloads draw their inputs from (its test vectors:
 * tests/data/lcg_test_vectors.txt), and the draws built on it: uniform,
 * Gaussian, in the ball, on the simplex. */
#include <math.h>

#include "ad.h"

double otad_rng_uniform(otad_rng *rng)
{
    if (!rng)
        return NAN;
    rng->state = 6364136223846793005u * rng->state + 1442695040888963407u;
    return (double)(rng->state >> 11) * 0x1.0p-53;
}

void otad_rng_fill(otad_rng *rng, double *x, size_t n, double lo, double hi)
{
    if (!rng || !x)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * otad_rng_uniform(rng);
}

double otad_rng_gaussian(otad_rng *rng)
{
    if (!rng)
        return NAN;
    double u1 = 1 - otad_rng_uniform(rng), u2 = otad_rng_uniform(rng); /* u1 > 0: a finite log */
    return sqrt(-2 * log(u1)) * cos(2 * acos(-1.0) * u2);
}

void otad_rng_fill_gaussian(otad_rng *rng, double *x, size_t n, double mean, double sd)
{
    if (!rng || !x)
        return;
    for (size_t i = 0; i < n; i++)
        x[i] = mean + sd * otad_rng_gaussian(rng);
}

void otad_rng_ball(otad_rng *rng, size_t n, size_t dim, double *x)
{
    if (!rng || !x)
        return;
    for (size_t i = 0; i < n; i++) {
        double norm = 0;
        for (size_t d = 0; d < dim; d++) {
            double g = otad_rng_gaussian(rng);
            x[i + d * n] = g;
            norm += g * g;
        }
        double radius = pow(otad_rng_uniform(rng), 1.0 / (double)dim);
        norm = sqrt(norm);
        for (size_t d = 0; d < dim; d++)
            x[i + d * n] = norm > 0 ? x[i + d * n] * radius / norm : 0;
    }
}

void otad_rng_simplex(otad_rng *rng, size_t dim, double *x)
{
    if (!rng || !x)
        return;
    double sum = 0;
    for (size_t d = 0; d < dim; d++)
        sum += x[d] = -log(1 - otad_rng_uniform(rng));
    for (size_t d = 0; d < dim; d++)
        x[d] = sum > 0 ? x[d] / sum : 1.0 / (double)dim;
}
