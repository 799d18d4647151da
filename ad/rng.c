/* The reference workloads' LCG (anchors README, "Deterministic inputs"). */
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
