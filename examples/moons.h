/* The two moons data set the generator examples fit. */
#ifndef OTAD_EXAMPLES_MOONS_H
#define OTAD_EXAMPLES_MOONS_H

#include <math.h>

#include "otad.h"

/* Two interleaved half-circles of radius 1, (cos t, sin t) and
 * (1 − cos t, ½ − sin t) for t uniform in [0, π], with Gaussian noise of
 * 0.08, mapped into [0,1]² (x from [−1.2, 2.2], y centred); n points,
 * column-major n×2. */
static inline void make_moons(otad_rng *rng, size_t n, double *data)
{
    const double pi = acos(-1.0), noise = 0.08, scale = 1 / 3.4;
    for (size_t j = 0; j < n; j++) {
        double t = pi * otad_rng_uniform(rng), x, y;
        if (j % 2 == 0)
            x = cos(t), y = sin(t);
        else
            x = 1 - cos(t), y = 0.5 - sin(t);
        x += noise * otad_rng_gaussian(rng), y += noise * otad_rng_gaussian(rng);
        data[j] = (x + 1.2) * scale;
        data[j + n] = 0.5 + (y - 0.25) * scale;
    }
}

#endif
