/* Colormaps, each defined by a formula or a few control points of our own. */
#include <math.h>

#include "plot_internal.h"

static unsigned pack(const double rgb[3])
{
    unsigned out = 0;
    for (int k = 0; k < 3; k++) {
        double v = rgb[k] < 0 ? 0 : rgb[k] > 1 ? 1 : rgb[k];
        out = out << 8 | (unsigned)lround(255 * v);
    }
    return out;
}

/* Green's cubehelix (Bull. Astr. Soc. India 39, 2011): lightness t rises
 * linearly while the colour turns around the gray diagonal, so the map reads
 * as dark to bright in colour and in print.  Start, rotations and amplitude
 * are chosen to turn from purple through red and orange to pale yellow
 * without leaving the RGB cube (no channel clips). */
static void cubehelix(double t, double rgb[3])
{
    const double start = 0.3, rotations = 0.4, amplitude = 2.0;
    const double two_pi = 6.283185307179586;
    double phi = two_pi * (start / 3 + rotations * t);
    double a = amplitude * t * (1 - t) / 2, c = cos(phi), s = sin(phi);
    rgb[0] = t + a * (-0.14861 * c + 1.78277 * s);
    rgb[1] = t + a * (-0.29227 * c - 0.90649 * s);
    rgb[2] = t + a * (1.97294 * c);
}

/* Blue through white to red, linear between five points of our choosing. */
static void diverging(double t, double rgb[3])
{
    static const double points[5][3] = {
        {0.13, 0.27, 0.62}, {0.55, 0.71, 0.90}, {1, 1, 1}, {0.94, 0.62, 0.52}, {0.66, 0.10, 0.14}};
    double s = 4 * t;
    int k = s >= 4 ? 3 : (int)s;
    double f = s - k;
    for (int c = 0; c < 3; c++)
        rgb[c] = (1 - f) * points[k][c] + f * points[k + 1][c];
}

unsigned otad_colormap(int colormap, double t)
{
    double rgb[3];
    t = t != t ? 0.5 : t < 0 ? 0 : t > 1 ? 1 : t;
    if (colormap == OTAD_COLORMAP_HEAT)
        cubehelix(t, rgb);
    else if (colormap == OTAD_COLORMAP_DIVERGING)
        diverging(t, rgb);
    else
        rgb[0] = rgb[1] = rgb[2] = t;
    return pack(rgb);
}
