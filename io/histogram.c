/* Images as histograms. */
#include "io_internal.h"

int otad_histogram_from_gray(otad_value *image, int dark_is_mass, otad_error *err)
{
    if (!image || !image->data || !image->rows || !image->cols)
        return otadI_fail(err, OTAD_EINVAL, "histogram", "no image (NULL or empty)");
    if (dark_is_mass != 0 && dark_is_mass != 1)
        return otadI_fail(err, OTAD_EINVAL, "histogram", "dark_is_mass is %d, must be 0 or 1",
                          dark_is_mass);
    size_t n = image->rows;
    /* Check every column before changing any, so a failure leaves the
     * image as it was. */
    for (size_t j = 0; j < image->cols; j++) {
        const double *x = image->data + j * n;
        double total = 0;
        for (size_t i = 0; i < n; i++) {
            if (!(x[i] >= 0 && x[i] <= 1))
                return otadI_fail(err, OTAD_EDOMAIN, "histogram",
                                  "entry (%zu,%zu) is %g, not an intensity in [0, 1]", i, j,
                                  x[i]);
            total += dark_is_mass ? 1 - x[i] : x[i];
        }
        if (total == 0)
            return otadI_fail(err, OTAD_EDOMAIN, "histogram", "column %zu has no mass (all %s)",
                              j, dark_is_mass ? "white" : "black");
    }
    for (size_t j = 0; j < image->cols; j++) {
        double *x = image->data + j * n, total = 0;
        for (size_t i = 0; i < n; i++)
            total += dark_is_mass ? 1 - x[i] : x[i];
        for (size_t i = 0; i < n; i++)
            x[i] = (dark_is_mass ? 1 - x[i] : x[i]) / total;
    }
    return OTAD_OK;
}
