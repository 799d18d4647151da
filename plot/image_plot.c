/* An image of values on axes: a heat map whose pixels stand for a region of
 * the plane, in the frame, ticks and labels of a plot. */
#include <math.h>

#include "plot_internal.h"

static int check(const double *values, size_t width, size_t height,
                 const otad_image_opts *image, const otad_plot_opts *o, const char *path,
                 otad_error *err)
{
    if (!values || !width || !height)
        return otadI_fail(err, OTAD_EINVAL, path, "no image: %zux%zu%s", width, height,
                          values ? "" : ", values NULL");
    if (width > OTAD_IMAGE_MAX_SIDE || height > OTAD_IMAGE_MAX_SIDE)
        return otadI_fail(err, OTAD_EINVAL, path, "an image of %zux%zu values: too large",
                          width, height);
    int rc = otadI_check_image_opts(image, path, err);
    if (rc == OTAD_OK)
        rc = otadI_check_plot_opts(o, path, err);
    if (rc != OTAD_OK)
        return rc;
    if (image->colorbar || image->captions)
        return otadI_fail(err, OTAD_EINVAL, path,
                          "an image on axes has no colour bar or captions (a title and axis "
                          "labels instead)");
    if (o->log_x || o->log_y)
        return otadI_fail(err, OTAD_EINVAL, path, "an image on axes takes no log axis");
    if (isnan(o->x_min) || isnan(o->x_max) || isnan(o->y_min) || isnan(o->y_max))
        return otadI_fail(err, OTAD_EINVAL, path,
                          "the region the image covers, x_min..x_max and y_min..y_max, must be "
                          "given");
    return OTAD_OK;
}

int otad_png_write_image_plot(const char *path, const double *values, size_t width,
                              size_t height, const otad_image_opts *image,
                              const otad_plot_opts *opts, otad_error *err)
{
    otad_image_opts image_defaults;
    if (!image)
        otad_image_opts_init(&image_defaults), image = &image_defaults;
    if (!path)
        return otadI_fail(err, OTAD_EINVAL, NULL, "no file name (path is NULL)");
    if (!opts)
        return otadI_fail(err, OTAD_EINVAL, path, "no plot options: the region is needed");
    double range[2];
    int rc = check(values, width, height, image, opts, path, err);
    if (rc == OTAD_OK)
        rc = otadI_value_range(&values, 1, width * height, image, 1, range, path, err);
    otadI_chart ch = {.opts = opts, .x_numeric = 1};
    ch.x.lo = opts->x_min, ch.x.hi = opts->x_max;
    ch.y.lo = opts->y_min, ch.y.hi = opts->y_max;
    if (rc == OTAD_OK)
        rc = otadI_chart_begin(&ch, path, err);
    if (rc != OTAD_OK)
        return rc;
    double span = range[1] - range[0], dx = (opts->x_max - opts->x_min) / (double)width;
    double dy = (opts->y_max - opts->y_min) / (double)height;
    for (size_t r = 0; r < height; r++) {
        /* row 0 at the top: y from y_max down */
        int y0 = (int)lround(otadI_axis_pixel(&ch.y, opts->y_max - (double)r * dy));
        int y1 = (int)lround(otadI_axis_pixel(&ch.y, opts->y_max - (double)(r + 1) * dy));
        for (size_t c = 0; c < width; c++) {
            double v = values[r * width + c];
            if (isnan(v))
                continue;
            int x0 = (int)lround(otadI_axis_pixel(&ch.x, opts->x_min + (double)c * dx));
            int x1 = (int)lround(otadI_axis_pixel(&ch.x, opts->x_min + (double)(c + 1) * dx));
            double t = span > 0 ? (v - range[0]) / span : 0.5;
            otadI_fill(&ch.canvas, x0, y0, x1, y1, otad_colormap(image->colormap, t));
        }
    }
    return otadI_chart_finish(&ch, NULL, 0, path, err);
}
