/* Colours on the 16³ grid of RGB space [0,1]³ (grid point i/15 per channel),
 * shared by the colour examples.  Bins are numbered red fastest, as axis 0 of
 * the grid graph and of the grid kernel. */
#ifndef OTAD_EXAMPLES_RGB_BINS_H
#define OTAD_EXAMPLES_RGB_BINS_H

#include <math.h>
#include <stddef.h>

enum { BINS = 16, N = BINS * BINS * BINS };

typedef struct rgb {
    double r, g, b;
} rgb;

/* The nearest grid coordinate of a channel value. */
static inline size_t channel_bin(double v)
{
    long i = lround(v * (BINS - 1));
    return (size_t)(i < 0 ? 0 : i > BINS - 1 ? BINS - 1 : i);
}

/* The bin of a pixel's three channel values. */
static inline size_t pixel_bin(const double *px)
{
    return channel_bin(px[0]) + BINS * (channel_bin(px[1]) + BINS * channel_bin(px[2]));
}

static inline rgb bin_colour(size_t bin)
{
    return (rgb){(double)(bin % BINS) / (BINS - 1), (double)(bin / BINS % BINS) / (BINS - 1),
                 (double)(bin / (BINS * BINS)) / (BINS - 1)};
}

#endif
