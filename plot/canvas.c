/* An RGB canvas with clipping, antialiased lines and discs. */
#include <math.h>
#include <stdlib.h>

#include "io_internal.h"

int otadI_canvas_new(otadI_canvas *c, size_t width, size_t height, unsigned background)
{
    c->rgb = malloc(width * height * 3);
    if (!c->rgb)
        return OTAD_ENOMEM;
    c->width = (int)width;
    c->height = (int)height;
    otadI_canvas_unclip(c);
    otadI_fill(c, 0, 0, c->width, c->height, background);
    return OTAD_OK;
}

void otadI_canvas_free(otadI_canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

void otadI_canvas_clip(otadI_canvas *c, int x0, int y0, int x1, int y1)
{
    c->clip_x0 = x0 < 0 ? 0 : x0;
    c->clip_y0 = y0 < 0 ? 0 : y0;
    c->clip_x1 = x1 > c->width ? c->width : x1;
    c->clip_y1 = y1 > c->height ? c->height : y1;
}

void otadI_canvas_unclip(otadI_canvas *c)
{
    otadI_canvas_clip(c, 0, 0, c->width, c->height);
}

unsigned otadI_pixel(const otadI_canvas *c, int x, int y)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height)
        return 0;
    const unsigned char *p = c->rgb + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    return (unsigned)p[0] << 16 | (unsigned)p[1] << 8 | p[2];
}

void otadI_blend(otadI_canvas *c, int x, int y, unsigned rgb, double alpha)
{
    if (x < c->clip_x0 || y < c->clip_y0 || x >= c->clip_x1 || y >= c->clip_y1 || !(alpha > 0))
        return;
    if (alpha > 1)
        alpha = 1;
    unsigned char *p = c->rgb + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
    for (int k = 0; k < 3; k++) {
        double target = (rgb >> (16 - 8 * k)) & 0xff;
        p[k] = (unsigned char)lround(p[k] + alpha * (target - p[k]));
    }
}

void otadI_fill(otadI_canvas *c, int x0, int y0, int x1, int y1, unsigned rgb)
{
    x0 = x0 < c->clip_x0 ? c->clip_x0 : x0;
    y0 = y0 < c->clip_y0 ? c->clip_y0 : y0;
    x1 = x1 > c->clip_x1 ? c->clip_x1 : x1;
    y1 = y1 > c->clip_y1 ? c->clip_y1 : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            unsigned char *p = c->rgb + 3 * ((size_t)y * (size_t)c->width + (size_t)x);
            p[0] = (unsigned char)(rgb >> 16);
            p[1] = (unsigned char)(rgb >> 8);
            p[2] = (unsigned char)rgb;
        }
}

/* Liang–Barsky: the part of the segment inside the rectangle; 0 if none.
 * Done first so that a point far outside costs no more than one inside. */
static int clip_segment(double *x0, double *y0, double *x1, double *y1, double xmin,
                        double ymin, double xmax, double ymax)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    double p[4] = {-dx, dx, -dy, dy};
    double q[4] = {*x0 - xmin, xmax - *x0, *y0 - ymin, ymax - *y0};
    for (int k = 0; k < 4; k++) {
        if (p[k] == 0) {
            if (q[k] < 0)
                return 0;
            continue;
        }
        double t = q[k] / p[k];
        if (p[k] < 0 && t > t0)
            t0 = t;
        else if (p[k] > 0 && t < t1)
            t1 = t;
    }
    if (t0 > t1)
        return 0;
    double ax = *x0, ay = *y0;
    *x0 = ax + t0 * dx, *y0 = ay + t0 * dy;
    *x1 = ax + t1 * dx, *y1 = ay + t1 * dy;
    return 1;
}

static double segment_distance(double px, double py, double x0, double y0, double dx,
                               double dy, double len2)
{
    double t = len2 > 0 ? ((px - x0) * dx + (py - y0) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(px - x0 - t * dx, py - y0 - t * dy);
}

/* Coverage from the distance of each pixel centre to the segment, visiting
 * along the longer axis only the pixels near the line. */
void otadI_line(otadI_canvas *c, double x0, double y0, double x1, double y1, double width,
                unsigned rgb)
{
    double r = width / 2, pad = r + 1;
    if (!clip_segment(&x0, &y0, &x1, &y1, c->clip_x0 - pad, c->clip_y0 - pad,
                      c->clip_x1 + pad, c->clip_y1 + pad))
        return;
    double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    int steep = fabs(dy) > fabs(dx);
    double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1, b0 = steep ? x0 : y0;
    double da = steep ? dy : dx, db = steep ? dx : dy, slope = da != 0 ? db / da : 0;
    double reach = pad * sqrt(1 + slope * slope) + 1;
    double lo = fmin(a0, a1) - pad, hi = fmax(a0, a1) + pad;
    for (int a = (int)floor(lo); a <= (int)ceil(hi); a++) {
        double ac = fmin(fmax(a + 0.5, fmin(a0, a1)), fmax(a0, a1));
        double bc = b0 + slope * (ac - a0);
        for (int b = (int)floor(bc - reach); b <= (int)ceil(bc + reach); b++) {
            int x = steep ? b : a, y = steep ? a : b;
            double d = segment_distance(x + 0.5, y + 0.5, x0, y0, dx, dy, len2);
            otadI_blend(c, x, y, rgb, r + 0.5 - d);
        }
    }
}

void otadI_disc(otadI_canvas *c, double x, double y, double radius, unsigned rgb)
{
    if (x < c->clip_x0 - radius - 1 || x > c->clip_x1 + radius + 1 ||
        y < c->clip_y0 - radius - 1 || y > c->clip_y1 + radius + 1)
        return;
    for (int py = (int)floor(y - radius - 1); py <= (int)ceil(y + radius); py++)
        for (int px = (int)floor(x - radius - 1); px <= (int)ceil(x + radius); px++)
            otadI_blend(c, px, py, rgb, radius + 0.5 - hypot(px + 0.5 - x, py + 0.5 - y));
}
