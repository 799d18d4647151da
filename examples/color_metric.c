/*
 * Learning a colour metric from a time-lapse (Heitz et al. 2020,
 * §5.3, in miniature).
 *
 * A small scene is drawn at FRAMES times while its light goes from day
 * through a warm sunset to blue dusk.  Each frame's palette is a histogram on
 * the 16×16×16 grid graph of RGB space.  The palette does not move along a
 * straight line: halfway it swings out to orange before coming back to dark
 * blue.  Ground metric learning fits edge weights w of the graph's heat
 * kernel so that the displacement interpolation between the first and the
 * last palette passes through the palettes in between.  Interpolating day to
 * dusk again, the learned metric should go through sunset colours where the
 * Euclidean one (w = 1) fades straight from blue to dark blue.
 *
 * Both interpolations start and end on the end palettes blurred by their
 * kernel (a barycenter with weights (1, 0) is K_w h_1), so not quite on the
 * observed ones.
 *
 * The paper's setting (16³, ε = 0.004, S = 20, L = 50, λ_s = 1, 500 L-BFGS
 * iterations) takes hours; the default is a cut-down run of about 20 s,
 * --full the paper's.
 *
 * Writes into the current directory:
 *   color_metric_frames.png     the frames, day to dusk
 *   color_metric_observed.png   their palettes, one row per frame: coarse
 *                               colours from dark to light, each as wide as
 *                               its mass (those under 1% left out)
 *   color_metric_learned.png    day to dusk interpolated with the learned w,
 *                               at the frames' times, drawn alike
 *   color_metric_euclidean.png  the same with w = 1
 *   color_metric_path.png       each palette's mean colour, as warmth (red −
 *                               blue) against brightness: observed, learned
 *                               and Euclidean paths
 *   color_metric_loss.png       the energy per L-BFGS iteration
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "otad.h"
#include "rgb_bins.h"

enum {
    WIDTH = 64, HEIGHT = 48,
    FRAMES = 7,                         /* interpolations are compared at their times */
    ZOOM = 2, GAP = 6,
    LEVELS = 4, SWATCHES = LEVELS * LEVELS * LEVELS,
    STRIP_WIDTH = 384, STRIP_HEIGHT = 28
};

/* Every bin gets this much more (relative to a frame's mass): the barycenter
 * divides by K v, which must not vanish on empty bins. */
#define FLOOR 1e-6
#define MIN_SHARE 0.01

typedef struct settings {
    double eps, lambda_s;
    int steps, sinkhorn, iterations;
} settings;

/* The paper's ε = 0.004 reaches less than a bin (√(ε/2) ≈ 0.045; bins are
 * 1/15 apart): palettes that do not overlap barely see each other, and 25
 * iterations (S = 4, L = 10) lower the energy by 3%.  The demo widens the
 * kernel to ε = 0.1, so that an edge's weight changes the interpolation
 * farther away, and cuts the work per evaluation (proportional to S·L) by
 * 40; with a weak smoothness prior the weights move fast enough for 50
 * iterations to bend the path. */
static const settings demo = {0.1, 0.001, 3, 8, 50};
static const settings full = {0.004, 1.0, 20, 50, 500};

/* ---- the scene -------------------------------------------------------------- */

/* A colour at s ∈ [0, 1] on the parabola through key[0] (day, s = 0), key[1]
 * (sunset, s = ½) and key[2] (dusk, s = 1): the light's curved path. */
static rgb along(const rgb key[3], double s)
{
    double l0 = 2 * (s - 0.5) * (s - 1), l1 = -4 * s * (s - 1), l2 = 2 * s * (s - 0.5);
    rgb c = {l0 * key[0].r + l1 * key[1].r + l2 * key[2].r,
             l0 * key[0].g + l1 * key[1].g + l2 * key[2].g,
             l0 * key[0].b + l1 * key[1].b + l2 * key[2].b};
    c.r = fmin(fmax(c.r, 0), 1), c.g = fmin(fmax(c.g, 0), 1), c.b = fmin(fmax(c.b, 0), 1);
    return c;
}

static rgb mix(rgb a, rgb b, double t)
{
    t = fmin(fmax(t, 0), 1);
    return (rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static const rgb zenith[3] = {{0.30, 0.55, 0.95}, {0.45, 0.30, 0.55}, {0.04, 0.06, 0.22}};
static const rgb horizon[3] = {{0.75, 0.88, 1.00}, {1.00, 0.55, 0.18}, {0.18, 0.18, 0.42}};
static const rgb sun[3] = {{1.00, 1.00, 0.92}, {1.00, 0.82, 0.35}, {0.30, 0.22, 0.40}};
static const rgb hills[3] = {{0.30, 0.50, 0.32}, {0.55, 0.28, 0.20}, {0.07, 0.07, 0.16}};
static const rgb meadow[3] = {{0.45, 0.72, 0.25}, {0.75, 0.45, 0.12}, {0.06, 0.10, 0.14}};

static rgb sky(double x, double y, double s)
{
    const double sun_x = 0.9, sun_y = 0.15 + 0.55 * s; /* sets behind the hills */
    double d2 = (x - sun_x) * (x - sun_x) + (y - sun_y) * (y - sun_y);
    rgb c = mix(along(zenith, s), along(horizon, s), y / 0.6);
    if (d2 < 0.06 * 0.06)
        return along(sun, s);
    return mix(c, along(sun, s), 0.6 * exp(-d2 / 0.02)); /* the glow */
}

/* x in [0, 4/3] left to right, y in [0, 1] top to bottom. */
static rgb scene(double x, double y, double s)
{
    double ridge = 0.55 + 0.06 * sin(5 * x + 1) + 0.03 * sin(13 * x);
    if (y < ridge)
        return sky(x, y, s);
    if (y < 0.72)
        return mix(along(hills, s), along(meadow, s), 0.3 * (y - ridge) / (0.72 - ridge));
    if (x < 0.75 + 0.15 * sin(9 * y)) { /* a lake mirrors the sky, darker, with ripples */
        rgb c = sky(x, 1.44 - y, s);
        double k = sin(60 * y + 3 * x) > 0.6 ? 0.85 : 0.7;
        return (rgb){k * c.r, k * c.g, k * c.b};
    }
    return mix(along(meadow, s), along(hills, s), (y - 0.72) / 0.6);
}

static double frame_time(int i)
{
    return (double)i / (FRAMES - 1);
}

/* WIDTH×HEIGHT pixels, 3 doubles each, row-major. */
static void draw(double s, double *pixels)
{
    for (int r = 0; r < HEIGHT; r++)
        for (int c = 0; c < WIDTH; c++) {
            rgb v = scene((c + 0.5) / HEIGHT, (r + 0.5) / HEIGHT, s);
            double *p = pixels + 3 * (r * WIDTH + c);
            p[0] = v.r, p[1] = v.g, p[2] = v.b;
        }
}

/* ---- palettes ---------------------------------------------------------------- */

/* Mass 1 each, so that all frames have the same. */
static void palette_of(const double *pixels, double *h)
{
    const size_t count = WIDTH * HEIGHT;
    memset(h, 0, N * sizeof *h);
    for (size_t i = 0; i < count; i++) {
        const double *p = pixels + 3 * i;
        h[pixel_bin(p)] += 1;
    }
    double sum = 0;
    for (size_t i = 0; i < N; i++)
        sum += h[i] = h[i] / (double)count + FLOOR;
    for (size_t i = 0; i < N; i++)
        h[i] /= sum;
}

static rgb mean_colour(const double *h)
{
    rgb m = {0, 0, 0};
    double mass = 0;
    for (size_t i = 0; i < N; i++) {
        rgb c = bin_colour(i);
        m.r += h[i] * c.r, m.g += h[i] * c.g, m.b += h[i] * c.b;
        mass += h[i];
    }
    return (rgb){m.r / mass, m.g / mass, m.b / mass};
}

typedef struct swatch {
    double mass;
    rgb colour; /* the mean of its mass */
} swatch;

static double luminance(rgb c)
{
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

static int darker(const void *a, const void *b)
{
    double la = luminance(((const swatch *)a)->colour), lb = luminance(((const swatch *)b)->colour);
    return (la > lb) - (la < lb);
}

static unsigned char byte_of(double v)
{
    return (unsigned char)lround(255 * fmin(fmax(v, 0), 1));
}

/* Bins gathered LEVELS per channel: an interpolation spreads a colour over a
 * few neighbouring bins, which drawn one by one would show as stripes.
 * Swatches under MIN_SHARE of the mass are left out: the kernel's blur puts
 * a little of it in most of them. */
static void draw_strip(const double *h, unsigned char *rows, size_t stride)
{
    swatch sw[SWATCHES] = {{0}};
    double total = 0, shown = 0;
    for (size_t i = 0; i < N; i++) {
        size_t r = i % BINS, g = i / BINS % BINS, b = i / (BINS * BINS);
        swatch *s = sw + r * LEVELS / BINS + LEVELS * (g * LEVELS / BINS +
                                                       LEVELS * (b * LEVELS / BINS));
        rgb c = bin_colour(i);
        s->mass += h[i], total += h[i];
        s->colour.r += h[i] * c.r, s->colour.g += h[i] * c.g, s->colour.b += h[i] * c.b;
    }
    for (swatch *s = sw; s < sw + SWATCHES; s++) {
        if (s->mass > 0)
            s->colour = (rgb){s->colour.r / s->mass, s->colour.g / s->mass, s->colour.b / s->mass};
        if (s->mass < MIN_SHARE * total)
            s->mass = 0;
        shown += s->mass;
    }
    qsort(sw, SWATCHES, sizeof *sw, darker);
    double cumulated = 0;
    for (size_t x = 0, k = 0; x < STRIP_WIDTH; x++) {
        while (k + 1 < SWATCHES && cumulated + sw[k].mass < (x + 0.5) / STRIP_WIDTH * shown)
            cumulated += sw[k++].mass;
        for (size_t y = 0; y < STRIP_HEIGHT; y++) {
            unsigned char *p = rows + y * stride + 3 * x;
            p[0] = byte_of(sw[k].colour.r), p[1] = byte_of(sw[k].colour.g);
            p[2] = byte_of(sw[k].colour.b);
        }
    }
}

/* ---- output ------------------------------------------------------------------ */

static int fail(const char *what, const otad_error *err)
{
    fprintf(stderr, "%s: %s\n", what, err->message);
    return 1;
}

static int write_canvas(const char *path, const unsigned char *canvas, size_t w, size_t h)
{
    otad_error err;
    if (otad_png_write_rgb(path, canvas, w, h, &err) != OTAD_OK)
        return fail(path, &err);
    printf("wrote %s\n", path);
    return 0;
}

/* One strip per histogram (columns of h), top to bottom. */
static int write_palettes(const char *path, const double *h, size_t count)
{
    size_t height = count * STRIP_HEIGHT + (count - 1) * GAP, stride = 3 * STRIP_WIDTH;
    unsigned char *canvas = malloc(stride * height);
    if (!canvas) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    memset(canvas, 255, stride * height);
    for (size_t i = 0; i < count; i++)
        draw_strip(h + i * N, canvas + i * (STRIP_HEIGHT + GAP) * stride, stride);
    int rc = write_canvas(path, canvas, STRIP_WIDTH, height);
    free(canvas);
    return rc;
}

static int write_frames(const double *pixels)
{
    size_t w = FRAMES * ZOOM * WIDTH + (FRAMES - 1) * GAP, h = ZOOM * HEIGHT;
    unsigned char *canvas = malloc(3 * w * h);
    if (!canvas) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    memset(canvas, 255, 3 * w * h);
    for (size_t f = 0; f < FRAMES; f++)
        for (size_t y = 0; y < h; y++)
            for (size_t x = 0; x < ZOOM * WIDTH; x++) {
                const double *src = pixels + 3 * (f * WIDTH * HEIGHT + y / ZOOM * WIDTH + x / ZOOM);
                unsigned char *dst = canvas + 3 * (y * w + f * (ZOOM * WIDTH + GAP) + x);
                dst[0] = byte_of(src[0]), dst[1] = byte_of(src[1]), dst[2] = byte_of(src[2]);
            }
    int rc = write_canvas("color_metric_frames.png", canvas, w, h);
    free(canvas);
    return rc;
}

static int write_plot(const char *path, const otad_plot_series *series, size_t n,
                      const otad_plot_opts *opts)
{
    otad_error err;
    if (otad_png_write_plot(path, series, n, opts, &err) != OTAD_OK)
        return fail(path, &err);
    printf("wrote %s\n", path);
    return 0;
}

/* Warmth (red − blue) against brightness of each palette's mean colour: the
 * Euclidean interpolation takes the mean nearly straight from day to dusk,
 * the observed light bends out to warm colours. */
static int write_path(const double *observed, const double *learned, const double *euclidean)
{
    static const char *const labels[3] = {"observed", "learned metric", "Euclidean metric"};
    static const unsigned colours[3] = {0x222222, 0xe07010, 0x2060c0};
    const double *h[3] = {observed, learned, euclidean};
    double x[3][FRAMES], y[3][FRAMES];
    otad_plot_series series[3];
    for (int k = 0; k < 3; k++) {
        for (int f = 0; f < FRAMES; f++) {
            rgb m = mean_colour(h[k] + (size_t)f * N);
            x[k][f] = m.r - m.b, y[k][f] = (m.r + m.g + m.b) / 3;
        }
        series[k] = (otad_plot_series){x[k], y[k], FRAMES, OTAD_PLOT_LINE | OTAD_PLOT_MARKERS,
                                       colours[k], labels[k]};
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Mean colour of the palettes, day to dusk";
    opts.x_label = "warmth: mean red - mean blue";
    opts.y_label = "brightness: mean of r, g, b";
    return write_plot("color_metric_path.png", series, 3, &opts);
}

static int write_loss(const otad_lbfgs_result *r)
{
    otad_plot_series s = {NULL, r->losses, (size_t)r->iterations + 1, OTAD_PLOT_LINE, 0,
                          "E(w)"};
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Metric learning energy";
    opts.x_label = "L-BFGS iteration";
    opts.y_label = "energy";
    return write_plot("color_metric_loss.png", &s, 1, &opts);
}

/* ---- main --------------------------------------------------------------------- */

static double l2_distance(const double *a, const double *b)
{
    double s = 0;
    for (size_t i = 0; i < N; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return sqrt(s);
}

static double colour_distance(rgb a, rgb b)
{
    return sqrt((a.r - b.r) * (a.r - b.r) + (a.g - b.g) * (a.g - b.g) + (a.b - b.b) * (a.b - b.b));
}

static void summary(const otad_metric_learning_energy *at_one, const otad_metric_learning_result *r,
                    size_t n_edges, const double *observed, const double *learned,
                    const double *euclidean)
{
    printf("\nenergy (data + smoothness): w = 1 %.6g (%.6g + %.6g), learned %.6g "
           "(%.6g + %.6g)\n", at_one->total, at_one->data, at_one->smoothness,
           r->energy.total, r->energy.data, r->energy.smoothness);
    printf("%d iterations, %d evaluations, %.1f s (%s)\n", r->lbfgs.iterations,
           r->lbfgs.evaluations, r->lbfgs.seconds, r->lbfgs.lbfgs_message);
    printf("\nday to dusk interpolated, against the frame observed at the same time:\n"
           "          ||h - observed||_2     |mean colour - observed|   observed mean colour\n"
           "   t      learned  Euclidean       learned  Euclidean\n");
    double sum[4] = {0, 0, 0, 0};
    for (int f = 1; f + 1 < FRAMES; f++) {
        const double *o = observed + (size_t)f * N, *l = learned + (size_t)f * N;
        const double *e = euclidean + (size_t)f * N;
        rgb mo = mean_colour(o);
        double d[4] = {l2_distance(l, o), l2_distance(e, o),
                       colour_distance(mean_colour(l), mo), colour_distance(mean_colour(e), mo)};
        for (int k = 0; k < 4; k++)
            sum[k] += d[k];
        printf("%5.3f    %9.4f  %9.4f     %9.4f  %9.4f       (%.2f %.2f %.2f)\n", frame_time(f),
               d[0], d[1], d[2], d[3], mo.r, mo.g, mo.b);
    }
    printf("  sum    %9.4f  %9.4f     %9.4f  %9.4f\n", sum[0], sum[1], sum[2], sum[3]);
    double lo = INFINITY, hi = 0;
    for (size_t e = 0; e < n_edges; e++)
        lo = fmin(lo, r->weights[e]), hi = fmax(hi, r->weights[e]);
    printf("learned edge weights from %.3g to %.3g\n\n", lo, hi);
}

static int parse(int argc, char **argv, settings *s, long_fit *files)
{
    int iterations = 0;
    *s = demo;
    for (int i = 1; i < argc; i++) {
        int long_fit_rc = long_fit_option(argc, argv, &i, files);
        if (long_fit_rc < 0)
            return 1;
        if (long_fit_rc > 0)
            continue;
        if (strcmp(argv[i], "--full") == 0) {
            *s = full;
        } else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc) {
            if ((iterations = atoi(argv[++i])) <= 0) {
                fprintf(stderr, "--iterations %s: give a positive number\n", argv[i]);
                return 1;
            }
        } else {
            int help = strcmp(argv[i], "--help") == 0;
            fprintf(help ? stdout : stderr,
                    "usage: %s [--full] [--iterations N] [--checkpoint FILE] [--resume FILE]\n"
                    "Learns a colour metric from a drawn day-to-dusk time-lapse and interpolates\n"
                    "day to dusk with it.  Writes color_metric_*.png into the current directory.\n"
                    "  (default)       eps %g, S = %d, L = %d, lambda_s %g, %d iterations\n"
                    "  --full          eps %g, S = %d, L = %d, lambda_s %g, %d iterations:\n"
                    "                  the paper's setting (hours)\n"
                    "  --iterations N  at most N L-BFGS iterations instead\n"
                    LONG_FIT_USAGE,
                    argv[0], demo.eps, demo.steps, demo.sinkhorn, demo.lambda_s, demo.iterations,
                    full.eps, full.steps, full.sinkhorn, full.lambda_s, full.iterations);
            return help ? -1 : 1;
        }
    }
    if (iterations)
        s->iterations = iterations;
    return 0;
}

/* paths: the interpolations at the frames' times, with w = 1 (N×FRAMES), then
 * with the learned w (N×FRAMES). */
static int learn(const otad_metric_learning *p, int iterations, long_fit *files, double *paths,
                 otad_metric_learning_energy *at_one, otad_metric_learning_result *result)
{
    double times[FRAMES];
    for (int f = 0; f < FRAMES; f++)
        times[f] = frame_time(f);
    otad_error err;
    if (otad_metric_learning_interpolate(p, NULL, FRAMES, times, paths, at_one, &err) != OTAD_OK)
        return fail("interpolation with w = 1", &err);
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = iterations;
    params.progress = otad_lbfgs_print_progress;
    params.progress_instance = stdout;
    long_fit_params(files, NULL, &params);
    if (otad_metric_learning_fit(p, NULL, &params, result, &err) != OTAD_OK)
        return fail("fit", &err);
    if (otad_metric_learning_interpolate(p, result->weights, FRAMES, times, paths + N * FRAMES,
                                         NULL, &err) != OTAD_OK)
        return fail("interpolation with the learned w", &err);
    return 0;
}

static int run(const settings *s, long_fit *files, const double *frames, const double *pixels)
{
    otad_error err;
    otad_graph *graph = NULL;
    if (otad_graph_grid3d(&graph, BINS, BINS, BINS, &err) != OTAD_OK)
        return fail("grid", &err);
    otad_metric_learning p;
    otad_metric_learning_init(&p);
    p.graph = graph;
    p.eps = s->eps;
    p.steps = s->steps;
    p.size = N;
    p.n_frames = FRAMES;
    p.frames = frames;
    p.lambda_s = s->lambda_s;
    p.barycenter.iterations = s->sinkhorn;
    printf("%d frames of %dx%d pixels, palettes on the %dx%dx%d grid graph (%zu edges)\n"
           "eps %g, S = %d heat steps, L = %d Sinkhorn iterations, L2 loss (alpha = N), "
           "lambda_s %g, at most %d L-BFGS iterations\n",
           FRAMES, WIDTH, HEIGHT, BINS, BINS, BINS, otad_graph_edges(graph), p.eps, p.steps,
           p.barycenter.iterations, p.lambda_s, s->iterations);
    double *paths = malloc(2 * N * FRAMES * sizeof *paths);
    otad_metric_learning_energy at_one;
    otad_metric_learning_result result = {0};
    int rc = 1;
    if (!paths)
        fprintf(stderr, "out of memory\n");
    else
        rc = learn(&p, s->iterations, files, paths, &at_one, &result);
    if (rc == 0) {
        const double *euclidean = paths, *learned = paths + N * FRAMES;
        summary(&at_one, &result, otad_graph_edges(graph), frames, learned, euclidean);
        rc = write_frames(pixels) ||
             write_palettes("color_metric_observed.png", frames, FRAMES) ||
             write_palettes("color_metric_learned.png", learned, FRAMES) ||
             write_palettes("color_metric_euclidean.png", euclidean, FRAMES) ||
             write_path(frames, learned, euclidean) || write_loss(&result.lbfgs);
    }
    otad_metric_learning_result_free(&result);
    free(paths);
    otad_graph_free(&graph);
    return rc;
}

int main(int argc, char **argv)
{
    settings s;
    long_fit files = {0};
    int rc = parse(argc, argv, &s, &files);
    if (rc)
        return rc < 0 ? 0 : 1;
    double *pixels = malloc(3 * WIDTH * HEIGHT * FRAMES * sizeof *pixels);
    double *frames = malloc(N * FRAMES * sizeof *frames);
    if (!pixels || !frames) {
        fprintf(stderr, "out of memory\n");
        free(pixels), free(frames);
        return 1;
    }
    for (int f = 0; f < FRAMES; f++) {
        draw(frame_time(f), pixels + 3 * WIDTH * HEIGHT * f);
        palette_of(pixels + 3 * WIDTH * HEIGHT * f, frames + (size_t)f * N);
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = run(&s, &files, frames, pixels);
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("total %.1f s\n", (double)(end.tv_sec - start.tv_sec) +
                                 1e-9 * (double)(end.tv_nsec - start.tv_nsec));
    free(pixels), free(frames);
    return rc;
}
