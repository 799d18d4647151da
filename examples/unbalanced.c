/*
 * Unbalanced optimal transport: mass created and destroyed where moving it
 * would cost more than a penalty ρ.
 *
 * 1. Interpolation between two shapes of different mass on a 64×64 grid
 *    (Gaussian kernel, ε = 2e-3): a bump of mass 1, and the same bump with
 *    a second one of mass 0.6 beside it.  Balanced barycenters (both shapes
 *    scaled to mass 1, weights (1 − t, t)) must move mass out of the first
 *    bump to build the second, so a part of it travels across; unbalanced
 *    ones (Chizat et al. 2018, ρ = 0.1) keep the first bump where it is
 *    and grow the second in place.  Each strip has its colour bar.  Their
 *    entropy, ε Σ P (log P − 1) as in POT, is relative to the grid's
 *    counting measure and favours mass: the ends come out about 1.2 times
 *    as heavy as the inputs.
 * 2. Minimum Kantorovich estimation of one ellipse from 400 points drawn
 *    in it and 40 outliers in a corner: the balanced debiased loss moves the
 *    ellipse toward the outliers, to carry mass to them; the unbalanced
 *    divergence (Séjourné et al. 2019, ρ = 0.05) lets their mass go
 *    instead, and the ellipse stays on the data; with the model's mass a
 *    parameter too (free_mass), the fit finds the inliers' share of it.
 *
 * Writes unbalanced_balanced.png, unbalanced_unbalanced.png (the two
 * strips) and unbalanced_outliers.png (the data and both fits), and prints
 * the frames' masses and the fits' centres.  A few seconds.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "otad.h"

enum { SIDE = 64, FRAMES = 5, SAMPLES = 150, INLIERS = 400, OUTLIERS = 40 };
enum { DATA = INLIERS + OUTLIERS, BLOCK = 6 };

/* A Gaussian bump of the given mass on the SIDE×SIDE grid of [0,1]², added. */
static void add_bump(double cx, double cy, double mass, double *h)
{
    double s = 0, *bump = malloc(SIDE * SIDE * sizeof *bump);
    if (!bump)
        return;
    for (size_t r = 0; r < SIDE; r++)
        for (size_t c = 0; c < SIDE; c++) {
            double x = (double)c / (SIDE - 1) - cx, y = (double)r / (SIDE - 1) - cy;
            s += bump[r * SIDE + c] = exp(-(x * x + y * y) / (2 * 0.06 * 0.06));
        }
    for (size_t i = 0; i < SIDE * SIDE; i++)
        h[i] += mass * bump[i] / s;
    free(bump);
}

/* FRAMES barycenters of the two columns of ends, as a strip with a colour
 * bar and the frames' masses as captions. */
static int interpolate(const double *ends, double rho, const char *png)
{
    otad_tape *t;
    if (otad_tape_new(&t, NULL) != OTAD_OK)
        return 1;
    double weights[2 * FRAMES];
    for (int f = 0; f < FRAMES; f++)
        weights[2 * f + 1] = f / (FRAMES - 1.0), weights[2 * f] = 1 - weights[2 * f + 1];
    otad_barycenter_opts o;
    otad_barycenter_opts_init(&o);
    o.iterations = 300;
    o.rho = rho;
    otad_kernel k = otad_kernel_grid(t, 2, (size_t[]){SIDE, SIDE}, 2e-3);
    otad_var b = otad_barycenter(t, k, otad_const(t, SIDE * SIDE, 2, ends),
                                 otad_const(t, 2, FRAMES, weights), &o);
    if (otad_tape_status(t) != OTAD_OK) {
        fprintf(stderr, "%s\n", otad_tape_message(t));
        otad_tape_free(&t);
        return 1;
    }
    const double *frames[FRAMES];
    char text[FRAMES][32];
    const char *captions[FRAMES];
    printf("%s, masses:", isinf(rho) ? "balanced  " : "unbalanced");
    for (int f = 0; f < FRAMES; f++) {
        frames[f] = otad_value_of(t, b).data + (size_t)f * SIDE * SIDE;
        double mass = 0;
        for (size_t i = 0; i < SIDE * SIDE; i++)
            mass += frames[f][i];
        snprintf(text[f], sizeof text[f], "t=%.2f m=%.2f", weights[2 * f + 1], mass);
        captions[f] = text[f];
        printf("  %s", text[f]);
    }
    printf("\n");
    otad_image_opts image;
    otad_image_opts_init(&image);
    image.scale = 3;
    image.captions = captions;
    image.colorbar = 1;
    otad_error err;
    int rc = written(png, otad_png_write_strip(png, frames, FRAMES, SIDE, SIDE, &image, &err),
                     &err);
    otad_tape_free(&t);
    return rc;
}

/* ---- an ellipse among outliers -------------------------------------------- */

/* 400 points spread over the ellipse centred at (0.35, 0.4) with A =
 * [0.15 0; 0.05 0.1], and 40 in a small disk at (0.85, 0.85); n×2. */
static void data_points(double *y)
{
    double z[2 * INLIERS], w[2 * OUTLIERS];
    otad_disk_samples(INLIERS, z);
    otad_disk_samples(OUTLIERS, w);
    for (size_t j = 0; j < INLIERS; j++) {
        y[j] = 0.35 + 0.15 * z[j];
        y[j + DATA] = 0.4 + 0.05 * z[j] + 0.1 * z[j + INLIERS];
    }
    for (size_t j = 0; j < OUTLIERS; j++) {
        y[INLIERS + j] = 0.85 + 0.04 * w[j];
        y[INLIERS + j + DATA] = 0.85 + 0.04 * w[j + OUTLIERS];
    }
}

/* One debiased fit from the unit ellipse scaled by 0.1 at (0.5, 0.5); its
 * points into x (SAMPLES×2), and the centre printed. */
static int fit(const double *y, const double *z, double rho, double *x)
{
    otad_mke p;
    otad_mke_init(&p);
    otad_mke_ellipses ellipses;
    otad_error err;
    p.dim = 2, p.n_data = DATA, p.data = y, p.eps = 0.01, p.debiased = 1;
    p.sinkhorn.rho_a = p.sinkhorn.rho_b = rho;
    p.value = isinf(rho) ? OTAD_SINKHORN_DUAL : OTAD_SINKHORN_KL_DUAL;
    p.free_mass = !isinf(rho);
    double theta[BLOCK + 1] = {0.5, 0.5, 0.1, 0, 0, 0.1, 0}; /* then log m */
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = 60;
    otad_mke_result r = {0};
    int rc = otad_mke_use_ellipses(&p, &ellipses, 1, SAMPLES, z, &err);
    if (rc == OTAD_OK)
        rc = otad_mke_fit(&p, theta, &params, &r, &err);
    if (rc != OTAD_OK) {
        fprintf(stderr, "mke: %s\n", err.message);
        otad_mke_result_free(&r);
        return 1;
    }
    for (size_t k = 0; k < 2 * SAMPLES; k++)
        x[k] = r.points[k];
    printf("%s fit: centre (%.3f, %.3f), the data's (0.350, 0.400); %d iterations",
           isinf(rho) ? "balanced  " : "unbalanced", r.theta[0], r.theta[1],
           r.lbfgs.iterations);
    if (p.free_mass)
        printf("; mass %.3f, the inliers' share %.3f", exp(r.theta[BLOCK]),
               (double)INLIERS / DATA);
    printf("\n");
    otad_mke_result_free(&r);
    return 0;
}

static int outliers(void)
{
    double y[2 * DATA], z[2 * SAMPLES], fits[2][2 * SAMPLES];
    data_points(y);
    otad_disk_samples(SAMPLES, z);
    if (fit(y, z, INFINITY, fits[0]) || fit(y, z, 0.05, fits[1]))
        return 1;
    otad_plot_series s[3] = {
        {y, y + DATA, DATA, OTAD_PLOT_MARKERS, 0xb4b4b4, "data (40 outliers top right)"},
        {fits[0], fits[0] + SAMPLES, SAMPLES, OTAD_PLOT_MARKERS, 0x1f77b4, "balanced fit"},
        {fits[1], fits[1] + SAMPLES, SAMPLES, OTAD_PLOT_MARKERS, 0xd62728, "unbalanced fit"}};
    otad_plot_opts o;
    otad_plot_opts_init(&o);
    o.width = o.height = 700;
    o.equal_aspect = 1;
    o.x_min = o.y_min = 0, o.x_max = o.y_max = 1;
    o.title = "one ellipse fitted to data with outliers";
    otad_error err;
    const char *png = "unbalanced_outliers.png";
    return written(png, otad_png_write_plot(png, s, 3, &o, &err), &err);
}

int main(void)
{
    double *ends = calloc(2 * SIDE * SIDE, sizeof *ends), *scaled = NULL;
    if (!ends || !(scaled = malloc(2 * SIDE * SIDE * sizeof *scaled))) {
        free(ends);
        return 1;
    }
    add_bump(0.3, 0.5, 1, ends);
    add_bump(0.3, 0.5, 1, ends + SIDE * SIDE);
    add_bump(0.72, 0.5, 0.6, ends + SIDE * SIDE);
    for (size_t i = 0; i < SIDE * SIDE; i++) /* balanced: both of mass 1 */
        scaled[i] = ends[i], scaled[i + SIDE * SIDE] = ends[i + SIDE * SIDE] / 1.6;
    int rc = interpolate(scaled, INFINITY, "unbalanced_balanced.png") ||
             interpolate(ends, 0.1, "unbalanced_unbalanced.png") || outliers();
    free(ends), free(scaled);
    return rc;
}
