/*
 * The shapes of the barycentric-coordinates workload (tests/data/w2): five soft
 * shapes on an n×n grid of [0,1]² — Gaussian blob, disk, ring, square,
 * cross — each normalised, floored at 1e-10 and normalised again, the grid
 * kernel at ε = 2e-3, and the true weights of its target.  Shared by the
 * example, the benchmark and the tests so that all run the same problem.
 * Pixel (row r, column c) sits at (x, y) = (c, r)/(n − 1), entry r·n + c.
 */
#ifndef OTAD_EXAMPLES_W2_DATABASE_H
#define OTAD_EXAMPLES_W2_DATABASE_H

#include <math.h>
#include <stddef.h>

enum { W2_SHAPES = 5 };
#define W2_EPS 2e-3
static const double w2_lambda_true[W2_SHAPES] = {0.1, 0.4, 0.2, 0.25, 0.05};

/* The soft indicator of d < 0, with the reference's edge width and clip. */
static inline double w2_soft(double d)
{
    double z = d / 0.01;
    z = z > 700 ? 700 : z < -700 ? -700 : z;
    return 1.0 / (1.0 + exp(z));
}

static inline double w2_shape(int s, double x, double y)
{
    double dx = fabs(x - 0.5), dy = fabs(y - 0.5);
    switch (s) {
    case 0:
        return exp(-((x - 0.25) * (x - 0.25) + (y - 0.25) * (y - 0.25)) / (2 * 0.07 * 0.07));
    case 1:
        return w2_soft(hypot(x - 0.75, y - 0.25) - 0.15);
    case 2:
        return w2_soft(fabs(hypot(x - 0.25, y - 0.72) - 0.13) - 0.04);
    case 3:
        return w2_soft(fmax(fabs(x - 0.72), fabs(y - 0.72)) - 0.13);
    default:
        return w2_soft(fmin(fmax(dx - 0.2, dy - 0.05), fmax(dx - 0.05, dy - 0.2)));
    }
}

/* database: n²×5, column s = shape s. */
static inline void w2_database(size_t n, double *database)
{
    size_t n2 = n * n;
    for (int s = 0; s < W2_SHAPES; s++) {
        double *h = database + (size_t)s * n2, sum = 0, floored = 0;
        for (size_t r = 0; r < n; r++)
            for (size_t c = 0; c < n; c++)
                sum += h[r * n + c] = w2_shape(s, (double)c / (double)(n - 1),
                                               (double)r / (double)(n - 1));
        for (size_t i = 0; i < n2; i++)
            floored += h[i] = h[i] / sum + 1e-10;
        for (size_t i = 0; i < n2; i++)
            h[i] /= floored;
    }
}

#endif
