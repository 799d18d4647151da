/*
 * Barycentric coordinates of colour palettes, in the spirit of the colour
 * grading of Bonneel, Peyré and Cuturi (2016): a picture's palette is its
 * histogram in RGB space — here on a 16×16×16 grid of [0,1]³ with the
 * Gaussian kernel of ε = 0.01 — and the weights λ whose Sinkhorn barycenter
 * of a database of palettes comes closest to a target palette say how much
 * of each the target mixes.
 *
 * Without files it draws five small scenes (sunset, forest, ocean, desert,
 * night) and takes the first four as the database.  Two targets:
 *   - "target", the barycenter of the four at known weights λ_true: the L2
 *     loss recovers λ_true;
 *   - "night", the fifth scene, whose dark palette no mixture of the four
 *     reaches.  Losses that compare bin by bin (L2, KL, L1) see almost no
 *     overlap and weigh the four nearly at random; the Sinkhorn loss, used
 *     for this one, measures how far colours must move, and picks the
 *     nearest mixture in that sense: mostly the sunset, the darkest of the
 *     four, and some of the ocean's deep blue.
 * Given PNG files — the database pictures, then the target — it fits the
 * palette of the last with those of the others.
 *
 * Writes into the current directory:
 *   barycoords_color_images.png          the pictures side by side
 *   barycoords_color_palette_NAME.png    each palette (database, targets, and
 *                                        the fits P_L(λ) as NAME_fit): its
 *                                        colours from dark to light, each as
 *                                        wide as its mass
 *   barycoords_color_marginals_NAME.png  red, green and blue marginals of a
 *                                        target and of its fit
 *   barycoords_color_weights.png         recovered (and true) weights as bars
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otad.h"
#include "plot/plot.h"
#include "rgb_bins.h"

enum {
    SCENE_WIDTH = 96, SCENE_HEIGHT = 64,
    SCENES = 5, DATABASE = 4,       /* the last scene is a target */
    THUMB_HEIGHT = 128, GAP = 8,
    PALETTE_WIDTH = 512, PALETTE_HEIGHT = 48,
    LEVELS = 4, SWATCHES = LEVELS * LEVELS * LEVELS, /* of a palette picture */
    MAX_ITERATIONS = 100
};

/* ε on [0,1]³: the kernel's reach √ε = 0.1 is 1.5 bins, so mixtures move
 * colours instead of blurring them away, and between opposite corners of the
 * cube it is exp(−3/ε) ≈ 1e-130, far from underflow: the scaling domain
 * suffices.  From ε ≈ 0.003 the Sinkhorn loss's gradient overflows, and
 * below, K v underflows: --log-domain then. */
#define EPS 0.01
#define FLOOR 1e-6

static const char *const scene_names[SCENES] = {"sunset", "forest", "ocean", "desert", "night"};
static const double lambda_true[DATABASE] = {0.4, 0.1, 0.3, 0.2};

typedef struct picture {
    double *rgb;          /* 3 per pixel, row-major, malloc'd */
    size_t width, height;
    char name[32];        /* in file names */
    char label[24];       /* in the table and the bar chart */
} picture;

static const char *const loss_names[] = {"l2", "kl", "l1", "sinkhorn"};

typedef struct options {
    double eps;
    otad_histogram_loss loss;
    int log_domain;
    int n_files;
    char **files;
} options;

/* The pictures, the S database palettes and the T target palettes. */
typedef struct data {
    int n_pictures;
    picture pictures[SCENES];     /* default mode; files use files_pictures */
    picture *files_pictures;      /* n_pictures, malloc'd in file mode */
    size_t n_database, n_targets;
    double *database, *targets;   /* N×S and N×T, malloc'd */
    const double *lambda_true;    /* of target 0, or NULL */
    const char *target_names[2];
    otad_histogram_loss target_losses[2];
} data;

/* ---- scenes --------------------------------------------------------------- */

static rgb mix(rgb a, rgb b, double t)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return (rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

static int in_disc(double x, double y, double cx, double cy, double radius)
{
    return (x - cx) * (x - cx) + (y - cy) * (y - cy) < radius * radius;
}

/* x in [0, 1.5] left to right, y in [0, 1] top to bottom. */
static rgb sunset(double x, double y)
{
    const double horizon = 0.62;
    if (y < horizon) {
        if (in_disc(x, y, 0.95, 0.55, 0.14))
            return (rgb){1.0, 0.90, 0.55};
        double t = y / horizon;
        return t < 0.5 ? mix((rgb){0.25, 0.10, 0.38}, (rgb){0.85, 0.32, 0.42}, 2 * t)
                       : mix((rgb){0.85, 0.32, 0.42}, (rgb){1.0, 0.66, 0.28}, 2 * t - 1);
    }
    double t = (y - horizon) / (1 - horizon);
    if (fabs(x - 0.95) < 0.14 * (1 - 0.5 * t) && sin(y * 90) > 0.2) /* the sun's glitter */
        return (rgb){1.0, 0.62, 0.30};
    return mix((rgb){0.50, 0.22, 0.32}, (rgb){0.16, 0.05, 0.16}, t);
}

static rgb forest(double x, double y)
{
    double spikes = 1 - fabs(2 * (x * 14 - floor(x * 14)) - 1); /* a row of pines */
    if (y > 0.90)
        return (rgb){0.32, 0.22, 0.10};
    if (y > 0.74 - 0.16 * spikes)
        return mix((rgb){0.05, 0.30, 0.10}, (rgb){0.03, 0.18, 0.06}, (y - 0.6) / 0.3);
    if (y > 0.55 + 0.07 * sin(6 * x + 2.5))
        return (rgb){0.24, 0.50, 0.22};
    if (y > 0.42 + 0.06 * sin(4 * x + 1))
        return (rgb){0.52, 0.66, 0.50};
    return mix((rgb){0.70, 0.85, 0.95}, (rgb){0.90, 0.95, 0.88}, y / 0.5);
}

static rgb ocean(double x, double y)
{
    const double horizon = 0.45;
    if (y < horizon) {
        if (in_disc(x, y, 0.35, 0.16, 0.07))
            return (rgb){1.0, 1.0, 0.92};
        return mix((rgb){0.25, 0.50, 0.88}, (rgb){0.72, 0.86, 0.98}, y / horizon);
    }
    double t = (y - horizon) / (1 - horizon);
    if (sin(x * 30 + 2 * sin(y * 25) + y * 70) > 0.93) /* crests */
        return (rgb){0.80, 0.93, 0.98};
    return mix((rgb){0.10, 0.50, 0.72}, (rgb){0.02, 0.14, 0.40}, t);
}

static rgb desert(double x, double y)
{
    /* the sun is on the right: a dune's slopes going down to the right are lit */
    double near = 0.08 * cos(4 * x + 3), middle = 0.08 * cos(5 * x + 1);
    if (y > 0.82 + 0.06 * sin(4 * x + 3))
        return (rgb){0.68 + near, 0.40 + near, 0.18};
    if (y > 0.66 + 0.08 * sin(5 * x + 1))
        return (rgb){0.84 + middle, 0.58 + middle, 0.30};
    if (y > 0.52 + 0.05 * sin(3 * x))
        return (rgb){0.93, 0.75, 0.48};
    if (in_disc(x, y, 1.15, 0.22, 0.09))
        return (rgb){1.0, 0.98, 0.90};
    return mix((rgb){0.86, 0.74, 0.56}, (rgb){0.98, 0.92, 0.78}, y / 0.55);
}

static rgb night(double x, double y)
{
    if (y > 0.72 + 0.06 * sin(5 * x + 2))
        return (rgb){0.03, 0.04, 0.07};
    if (in_disc(x, y, 1.15, 0.24, 0.08))
        return (rgb){0.93, 0.93, 0.86};
    /* stars: a hash of the position picks about one pixel in sixty */
    unsigned h = ((unsigned)(x * 1000) * 73856093u) ^ ((unsigned)(y * 1000) * 19349663u);
    if ((h * 2654435761u) >> 26 == 0 && y < 0.6)
        return (rgb){0.95, 0.95, 1.0};
    return mix((rgb){0.01, 0.02, 0.08}, (rgb){0.10, 0.13, 0.32}, y / 0.75);
}

static rgb (*const scene_colour[SCENES])(double, double) = {sunset, forest, ocean, desert,
                                                            night};

static int draw_scene(int s, picture *p)
{
    p->width = SCENE_WIDTH, p->height = SCENE_HEIGHT;
    snprintf(p->name, sizeof p->name, "%s", scene_names[s]);
    snprintf(p->label, sizeof p->label, "%s", scene_names[s]);
    p->rgb = malloc(3 * SCENE_WIDTH * SCENE_HEIGHT * sizeof *p->rgb);
    if (!p->rgb) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t r = 0; r < SCENE_HEIGHT; r++)
        for (size_t c = 0; c < SCENE_WIDTH; c++) {
            rgb v = scene_colour[s]((c + 0.5) / SCENE_HEIGHT, (r + 0.5) / SCENE_HEIGHT);
            double *px = p->rgb + 3 * (r * SCENE_WIDTH + c);
            px[0] = v.r, px[1] = v.g, px[2] = v.b;
        }
    return 0;
}

/* ---- palettes --------------------------------------------------------------- */

/* Pixels counted at their nearest grid point.  Every bin then gets FLOOR
 * more: a picture uses a few hundred of the 4096 colours, on empty bins
 * u = a/(Kv) is 0, and where Kᵀu then underflows (smaller ε) the
 * barycenter's geometric mean Π(Kᵀu_r)^λ_r meets 0/0; the KL loss and the
 * log domain need positive histograms too.  4096 · 1e-6 is 0.4% of the
 * mass. */
static void palette_of(const picture *p, double *h)
{
    size_t pixels = p->width * p->height;
    memset(h, 0, N * sizeof *h);
    for (size_t i = 0; i < pixels; i++) {
        const double *px = p->rgb + 3 * i;
        h[pixel_bin(px)] += 1;
    }
    double sum = 0;
    for (size_t i = 0; i < N; i++)
        sum += h[i] = h[i] / (double)pixels + FLOOR;
    for (size_t i = 0; i < N; i++)
        h[i] /= sum;
}

static double luminance(rgb c)
{
    return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
}

/* A coarse bin of the palette: its mass, and the mean colour of that mass. */
typedef struct swatch {
    double mass;
    rgb colour;
} swatch;

/* The 16³ bins gathered into LEVELS³ coloured by their mean: a barycenter
 * spreads each colour over √ε/(1/15) ≈ 1.5 bins around it, and drawn bin by
 * bin it would show as stripes of near colours in every hue. */
static void swatches_of(const double *h, swatch *out)
{
    memset(out, 0, SWATCHES * sizeof *out);
    for (size_t i = 0; i < N; i++) {
        size_t r = i % BINS, g = i / BINS % BINS, b = i / (BINS * BINS);
        swatch *s = out + r * LEVELS / BINS +
                    LEVELS * (g * LEVELS / BINS + LEVELS * (b * LEVELS / BINS));
        rgb c = bin_colour(i);
        s->mass += h[i];
        s->colour.r += h[i] * c.r, s->colour.g += h[i] * c.g, s->colour.b += h[i] * c.b;
    }
    for (swatch *s = out; s < out + SWATCHES; s++)
        if (s->mass > 0)
            s->colour = (rgb){s->colour.r / s->mass, s->colour.g / s->mass, s->colour.b / s->mass};
}

static int darker(const void *a, const void *b)
{
    double la = luminance(((const swatch *)a)->colour);
    double lb = luminance(((const swatch *)b)->colour);
    return (la > lb) - (la < lb);
}

static unsigned char byte_of(double v)
{
    return (unsigned char)lround(255 * (v < 0 ? 0 : v > 1 ? 1 : v));
}

/* The swatches from dark to light, each as wide as its mass: column x shows
 * the one where the cumulated mass passes (x + ½)/width of the total. */
static int write_palette(const char *path, const double *h)
{
    static unsigned char pixels[3 * PALETTE_WIDTH * PALETTE_HEIGHT];
    swatch sw[SWATCHES];
    swatches_of(h, sw);
    qsort(sw, SWATCHES, sizeof *sw, darker);
    double total = 0, cumulated = 0;
    for (size_t k = 0; k < SWATCHES; k++)
        total += sw[k].mass;
    size_t k = 0;
    for (size_t x = 0; x < PALETTE_WIDTH; x++) {
        double reach = (x + 0.5) / PALETTE_WIDTH * total;
        while (k + 1 < SWATCHES && cumulated + sw[k].mass < reach)
            cumulated += sw[k++].mass;
        for (size_t y = 0; y < PALETTE_HEIGHT; y++) {
            unsigned char *px = pixels + 3 * (y * PALETTE_WIDTH + x);
            px[0] = byte_of(sw[k].colour.r), px[1] = byte_of(sw[k].colour.g);
            px[2] = byte_of(sw[k].colour.b);
        }
    }
    otad_error err;
    if (otad_png_write_rgb(path, pixels, PALETTE_WIDTH, PALETTE_HEIGHT, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* ---- the pictures ---------------------------------------------------------- */

static size_t thumb_width(const picture *p)
{
    size_t w = (p->width * THUMB_HEIGHT + p->height / 2) / p->height;
    return w ? w : 1;
}

/* Nearest-neighbour thumbnail of p at column x0 of a canvas `width` wide. */
static void paste(const picture *p, unsigned char *canvas, size_t width, size_t x0)
{
    size_t tw = thumb_width(p);
    for (size_t y = 0; y < THUMB_HEIGHT; y++)
        for (size_t x = 0; x < tw; x++) {
            const double *src = p->rgb + 3 * (y * p->height / THUMB_HEIGHT * p->width +
                                              x * p->width / tw);
            unsigned char *dst = canvas + 3 * (y * width + x0 + x);
            dst[0] = byte_of(src[0]), dst[1] = byte_of(src[1]), dst[2] = byte_of(src[2]);
        }
}

static int write_images(const picture *pictures, int n)
{
    const char *path = "barycoords_color_images.png";
    size_t width = 0;
    for (int i = 0; i < n; i++)
        width += thumb_width(&pictures[i]) + (i ? GAP : 0);
    unsigned char *canvas = malloc(3 * width * THUMB_HEIGHT);
    if (!canvas) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    memset(canvas, 255, 3 * width * THUMB_HEIGHT);
    for (size_t i = 0, x = 0; i < (size_t)n; x += thumb_width(&pictures[i++]) + GAP)
        paste(&pictures[i], canvas, width, x);
    otad_error err;
    int rc = otad_png_write_rgb(path, canvas, width, THUMB_HEIGHT, &err);
    free(canvas);
    if (rc != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

/* ---- input ------------------------------------------------------------------- */

static void usage(FILE *f, const char *program)
{
    fprintf(f,
            "usage: %s [options] [DATABASE.png ... TARGET.png]\n"
            "Barycentric coordinates of colour palettes (RGB histograms on a 16^3 grid).\n"
            "Without files: four drawn scenes as the database; as targets their barycenter\n"
            "at known weights, and a fifth scene (with the Sinkhorn loss).  With files (at\n"
            "least 3): the palettes of the pictures, the last one the target.\n"
            "  --eps E        entropic regularisation on the grid of [0,1]^3 (default %g)\n"
            "  --log-domain   barycenter and Sinkhorn loss in the log domain (for small\n"
            "                 eps; exact but far slower on this grid)\n"
            "  --loss NAME    of the target: l2 (default), kl, l1 or sinkhorn\n"
            "  --help         this text\n",
            program, EPS);
}

/* 0: run; 1: bad arguments; -1: help was asked for. */
static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.eps = EPS};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv[0]);
            return -1;
        } else if (strcmp(argv[i], "--log-domain") == 0) {
            o->log_domain = 1;
        } else if (strcmp(argv[i], "--loss") == 0 && i + 1 < argc) {
            size_t k = 0;
            while (k < 4 && strcmp(argv[i + 1], loss_names[k]))
                k++;
            if (k == 4) {
                fprintf(stderr, "--loss %s: give l2, kl, l1 or sinkhorn\n", argv[i + 1]);
                return 1;
            }
            o->loss = (otad_histogram_loss)k, i++;
        } else if (strcmp(argv[i], "--eps") == 0 && i + 1 < argc) {
            o->eps = strtod(argv[++i], &end);
            if (*end || !(o->eps > 0) || !isfinite(o->eps)) {
                fprintf(stderr, "--eps %s: give a positive number\n", argv[i]);
                return 1;
            }
        } else {
            fprintf(stderr, "%s: unknown option or missing value (see --help)\n", argv[i]);
            return 1;
        }
    }
    o->files = argv + i;
    o->n_files = argc - i;
    if (o->n_files == 1 || o->n_files == 2) {
        fprintf(stderr, "give at least 3 pictures: 2 or more for the database, then the "
                "target\n");
        return 1;
    }
    return 0;
}

static int allocate(data *d, size_t n_database, size_t n_targets)
{
    d->n_database = n_database, d->n_targets = n_targets;
    d->database = malloc(N * n_database * sizeof *d->database);
    d->targets = malloc(N * n_targets * sizeof *d->targets);
    if (d->database && d->targets)
        return 0;
    fprintf(stderr, "out of memory\n");
    return 1;
}

static const picture *pictures_of(const data *d)
{
    return d->files_pictures ? d->files_pictures : d->pictures;
}

static void data_free(data *d)
{
    const picture *p = pictures_of(d);
    for (int i = 0; i < d->n_pictures; i++)
        free(p[i].rgb);
    free(d->files_pictures);
    free(d->database);
    free(d->targets);
}

/* Target t alone, with its own loss. */
static void problem_init(const options *o, const data *d, size_t t, otad_barycoords *p)
{
    otad_barycoords_init(p);
    p->support = otad_support_grid(3, (size_t[]){BINS, BINS, BINS}, o->eps);
    p->size = N;
    p->n_histograms = d->n_database;
    p->database = d->database;
    p->n_targets = 1;
    p->targets = d->targets + t * N;
    p->barycenter.log_domain = p->sinkhorn.log_domain = o->log_domain;
    p->loss = d->target_losses[t];
}

/* The drawn scenes; targets: P_L(λ_true) of the database, and the night. */
static int draw_scenes(const options *o, data *d)
{
    for (int s = 0; s < SCENES; s++, d->n_pictures++)
        if (draw_scene(s, &d->pictures[s]))
            return 1;
    if (allocate(d, DATABASE, 2))
        return 1;
    for (int s = 0; s < DATABASE; s++)
        palette_of(&d->pictures[s], d->database + (size_t)s * N);
    palette_of(&d->pictures[DATABASE], d->targets + N);
    d->lambda_true = lambda_true;
    d->target_names[0] = "target", d->target_names[1] = scene_names[DATABASE];
    d->target_losses[0] = o->loss, d->target_losses[1] = OTAD_LOSS_SINKHORN;
    otad_barycoords p;
    problem_init(o, d, 1, &p);
    otad_error err;
    if (otad_barycoords_project(&p, lambda_true, 1, d->targets, &err) != OTAD_OK) {
        fprintf(stderr, "making the target: %s\n", err.message);
        return 1;
    }
    return 0;
}

/* The file's name without directory and extension. */
static void label_of(const char *path, char *label, size_t size)
{
    const char *slash = strrchr(path, '/'), *start = slash ? slash + 1 : path;
    const char *dot = strrchr(start, '.');
    int length = dot && dot > start ? (int)(dot - start) : (int)strlen(start);
    snprintf(label, size, "%.*s", length, start);
}

static int read_files(const options *o, data *d)
{
    d->files_pictures = calloc((size_t)o->n_files, sizeof *d->files_pictures);
    if (!d->files_pictures) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    if (allocate(d, (size_t)o->n_files - 1, 1))
        return 1;
    d->target_names[0] = "target";
    d->target_losses[0] = o->loss;
    for (int i = 0; i < o->n_files; i++, d->n_pictures++) {
        picture *p = &d->files_pictures[i];
        otad_error err;
        if (otad_png_read_rgb(o->files[i], &p->rgb, &p->width, &p->height, &err) != OTAD_OK) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        int last = i + 1 == o->n_files;
        if (last)
            snprintf(p->name, sizeof p->name, "target");
        else
            snprintf(p->name, sizeof p->name, "database%d", i + 1);
        label_of(o->files[i], p->label, sizeof p->label);
        printf("%-10s %s (%zux%zu)\n", p->name, o->files[i], p->width, p->height);
        palette_of(p, last ? d->targets : d->database + (size_t)i * N);
    }
    return 0;
}

/* ---- fit and report ----------------------------------------------------------- */

static int fit(const otad_barycoords *p, otad_barycoords_result *result)
{
    otad_lbfgs_params params;
    otad_lbfgs_params_init(&params);
    params.max_iterations = MAX_ITERATIONS;
    params.progress = otad_lbfgs_print_progress;
    otad_error err;
    if (otad_barycoords_fit(p, NULL, &params, result, &err) != OTAD_OK) {
        fprintf(stderr, "fit: %s\n", err.message);
        return 1;
    }
    printf("%s\n%d iterations, %d evaluations, %.2f s\n\n", result->lbfgs.lbfgs_message,
           result->lbfgs.iterations, result->lbfgs.evaluations, result->lbfgs.seconds);
    return 0;
}

static void report(const data *d, const otad_barycoords_result *r)
{
    const picture *pictures = pictures_of(d);
    size_t s = d->n_database;
    printf("%-12s", "palette");
    for (size_t t = 0; t < d->n_targets; t++)
        printf(" %10s", d->target_names[t]);
    printf("%s\n", d->lambda_true ? "   true (target)" : "");
    for (size_t i = 0; i < s; i++) {
        printf("%-12s", pictures[i].label);
        for (size_t t = 0; t < d->n_targets; t++)
            printf(" %10.5f", r[t].weights[i]);
        if (d->lambda_true)
            printf(" %10.5f", d->lambda_true[i]);
        printf("\n");
    }
    printf("%-12s", "loss");
    for (size_t t = 0; t < d->n_targets; t++)
        printf(" %10s", loss_names[d->target_losses[t]]);
    printf("\n%-12s", "at the fit");
    for (size_t t = 0; t < d->n_targets; t++)
        printf(" %10.3e", r[t].target_losses[0]);
    printf("\n");
    if (d->lambda_true) {
        double l1 = 0;
        for (size_t i = 0; i < s; i++)
            l1 += fabs(r[0].weights[i] - d->lambda_true[i]);
        printf("|lambda - lambda_true|_1 = %.3e (target)\n", l1);
    }
    printf("\n");
}

/* ---- output ------------------------------------------------------------------- */

static int write_named_palette(const char *name, const char *suffix, const double *h)
{
    char path[96];
    snprintf(path, sizeof path, "barycoords_color_palette_%s%s.png", name, suffix);
    return write_palette(path, h);
}

static void marginals(const double *h, double out[3][BINS])
{
    memset(out, 0, 3 * BINS * sizeof out[0][0]);
    for (size_t i = 0; i < N; i++) {
        out[0][i % BINS] += h[i];
        out[1][i / BINS % BINS] += h[i];
        out[2][i / (BINS * BINS)] += h[i];
    }
}

/* Red, green and blue marginals of a target (lines) and its fit (dots). */
static int write_marginals(const char *name, const double *target, const double *fitted)
{
    static const unsigned colours[3] = {0xd62728, 0x2ca02c, 0x1f77b4};
    static const char *const labels[2][3] = {{"target R", "target G", "target B"},
                                             {"fit R", "fit G", "fit B"}};
    double x[BINS], m[2][3][BINS];
    for (int i = 0; i < BINS; i++)
        x[i] = (double)i / (BINS - 1);
    marginals(target, m[0]);
    marginals(fitted, m[1]);
    otad_plot_series series[6];
    for (int w = 0; w < 2; w++)
        for (int c = 0; c < 3; c++)
            series[3 * w + c] = (otad_plot_series){x, m[w][c], BINS,
                                                   w ? OTAD_PLOT_MARKERS : OTAD_PLOT_LINE,
                                                   colours[c], labels[w][c]};
    char path[96], title[96];
    snprintf(path, sizeof path, "barycoords_color_marginals_%s.png", name);
    snprintf(title, sizeof title, "RGB marginals: %s and its fit", name);
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = title;
    opts.x_label = "channel value";
    opts.y_label = "mass";
    otad_error err;
    if (otad_png_write_plot(path, series, 6, &opts, &err) != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int write_weights(const data *d, const otad_barycoords_result *r)
{
    const char *path = "barycoords_color_weights.png";
    const picture *pictures = pictures_of(d);
    size_t s = d->n_database, n_series = 0;
    const char **names = malloc(s * sizeof *names);
    if (!names) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < s; i++)
        names[i] = pictures[i].label;
    char labels[2][48];
    otad_bar_series series[3];
    for (size_t t = 0; t < d->n_targets; t++) {
        snprintf(labels[t], sizeof labels[t], "recovered (%s)", d->target_names[t]);
        series[n_series++] = (otad_bar_series){r[t].weights, 0, labels[t]};
        if (t == 0 && d->lambda_true)
            series[n_series++] = (otad_bar_series){d->lambda_true, 0, "true (target)"};
    }
    otad_plot_opts opts;
    otad_plot_opts_init(&opts);
    opts.title = "Barycentric coordinates of palettes";
    opts.x_label = "database palette";
    opts.y_label = "weight";
    otad_error err;
    int rc = otad_png_write_bars(path, series, n_series, s, names, &opts, &err);
    free(names);
    if (rc != OTAD_OK) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static int write_target(const otad_barycoords *p, const char *name, const double *weights)
{
    double *fitted = malloc(N * sizeof *fitted);
    otad_error err;
    int rc = fitted ? otad_barycoords_project(p, weights, 1, fitted, &err)
                    : otad_error_set(&err, OTAD_ENOMEM, "out of memory");
    if (rc != OTAD_OK)
        fprintf(stderr, "%s\n", err.message);
    else
        rc = write_named_palette(name, "", p->targets) ||
             write_named_palette(name, "_fit", fitted) ||
             write_marginals(name, p->targets, fitted);
    free(fitted);
    return rc != 0;
}

static int write_outputs(const otad_barycoords *problems, const data *d,
                         const otad_barycoords_result *r)
{
    const picture *pictures = pictures_of(d);
    if (write_images(pictures, d->n_pictures))
        return 1;
    for (size_t i = 0; i < d->n_database; i++)
        if (write_named_palette(pictures[i].name, "", d->database + i * N))
            return 1;
    for (size_t t = 0; t < d->n_targets; t++)
        if (write_target(&problems[t], d->target_names[t], r[t].weights))
            return 1;
    return write_weights(d, r);
}

int main(int argc, char **argv)
{
    options o;
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : 1;
    data d = {0};
    rc = o.n_files ? read_files(&o, &d) : draw_scenes(&o, &d);
    otad_barycoords problems[2];
    otad_barycoords_result results[2] = {{0}};
    for (size_t t = 0; rc == 0 && t < d.n_targets; t++) {
        problem_init(&o, &d, t, &problems[t]);
        printf("%s: %zu palettes on a %dx%dx%d grid of [0,1]^3, eps %g, L = %d, %s domain, "
               "%s loss\n", d.target_names[t], d.n_database, BINS, BINS, BINS, o.eps,
               problems[t].barycenter.iterations, o.log_domain ? "log" : "scaling",
               loss_names[d.target_losses[t]]);
        rc = fit(&problems[t], &results[t]);
    }
    if (rc == 0) {
        report(&d, results);
        rc = write_outputs(problems, &d, results);
    }
    for (size_t t = 0; t < 2; t++)
        otad_barycoords_result_free(&results[t]);
    data_free(&d);
    return rc;
}
