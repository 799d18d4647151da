/*
 * Displacement interpolation as Sinkhorn barycenters (Heitz et al. 2020, Algorithm 1):
 * the frames between two histograms are barycenters with weights (1 − t, t),
 * all computed in one batched call.  Twice: with the Gaussian kernel of a
 * 64×64 grid (ε = 2e-3), and with the heat kernel (ε = 0.01, S = 20) of a
 * 50×50 grid graph whose edges are slow (weight 0.1) inside a disk, so that
 * the mass goes around it.
 * Writes displacement_grid.png and displacement_heat.png.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "otad.h"
#include "plot/plot.h"

enum { FRAMES = 7 };

/* A histogram on an n×n grid of [0,1]²: a Gaussian bump, or a ring. */
static void shape(size_t n, double cx, double cy, int ring, double *h)
{
    double s = 0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < n; c++) {
            double x = (double)c / (double)(n - 1) - cx, y = (double)r / (double)(n - 1) - cy;
            double d = sqrt(x * x + y * y), v = ring ? exp(-pow((d - 0.15) / 0.03, 2))
                                                     : exp(-d * d / (2 * 0.07 * 0.07));
            s += h[r * n + c] = v + 1e-9;
        }
    for (size_t i = 0; i < n * n; i++)
        h[i] /= s;
}

/* FRAMES barycenters of the two columns of ends, in one call. */
static int interpolate(otad_tape *t, otad_kernel k, size_t n2, const double *ends,
                       const char *png)
{
    double weights[2 * FRAMES];
    for (int f = 0; f < FRAMES; f++) {
        double tf = f / (FRAMES - 1.0);
        weights[2 * f] = 1 - tf, weights[2 * f + 1] = tf;
    }
    otad_barycenter_opts opts;
    otad_barycenter_opts_init(&opts);
    opts.iterations = 100;
    otad_var b = otad_barycenter(t, k, otad_const(t, n2, 2, ends),
                                 otad_const(t, 2, FRAMES, weights), &opts);
    if (otad_tape_status(t) != OTAD_OK) {
        fprintf(stderr, "%s\n", otad_tape_message(t));
        return 1;
    }
    const double *frames[FRAMES];
    for (int f = 0; f < FRAMES; f++)
        frames[f] = otad_value_of(t, b).data + (size_t)f * n2;
    char text[FRAMES][16];
    const char *captions[FRAMES];
    for (int f = 0; f < FRAMES; f++) {
        snprintf(text[f], sizeof text[f], "t = %.2f", f / (FRAMES - 1.0));
        captions[f] = text[f];
    }
    otad_image_opts image;
    otad_image_opts_init(&image);
    image.scale = 3;
    image.captions = captions;
    image.colorbar = 1;
    otad_error err;
    size_t side = (size_t)sqrt((double)n2);
    if (otad_png_write_strip(png, frames, FRAMES, side, side, &image, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s: %d frames of %zux%zu\n", png, FRAMES, side, side);
    return 0;
}

int main(void)
{
    otad_tape *t;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;

    /* A bump turning into a ring, with the grid's Gaussian kernel. */
    double *ends = malloc(2 * 64 * 64 * sizeof *ends);
    shape(64, 0.25, 0.3, 0, ends);
    shape(64, 0.7, 0.65, 1, ends + 64 * 64);
    otad_kernel grid = otad_kernel_grid(t, 2, (size_t[]){64, 64}, 2e-3);
    int rc = interpolate(t, grid, 64 * 64, ends, "displacement_grid.png");

    /* Left to right across a 50×50 graph, slow inside a central disk. */
    otad_graph *g = NULL;
    otad_error err;
    if (rc == 0 && otad_graph_grid2d(&g, 50, 50, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        rc = 1;
    }
    if (rc == 0) {
        size_t m = otad_graph_edges(g);
        double *w = malloc(m * sizeof *w);
        for (size_t e = 0; e < m; e++) {
            size_t i, j;
            otad_graph_edge(g, e, &i, &j);
            double x = ((double)(i % 50) + (double)(j % 50)) / 98 - 0.5;
            double y = ((double)(i / 50) + (double)(j / 50)) / 98 - 0.5;
            w[e] = x * x + y * y < 0.15 * 0.15 ? 0.1 : 1;
        }
        shape(50, 0.2, 0.5, 0, ends);
        shape(50, 0.8, 0.5, 0, ends + 50 * 50);
        otad_tape_reset(t);
        otad_kernel heat = otad_kernel_heat(t, g, otad_const(t, m, 1, w), 0.01, 20);
        rc = interpolate(t, heat, 50 * 50, ends, "displacement_heat.png");
        free(w);
    }
    otad_tape_free(&t);
    otad_graph_free(&g);
    free(ends);
    return rc;
}
