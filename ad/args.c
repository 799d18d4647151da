/* Argument checks shared by the entry points of every layer (args.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>

#include "args.h"

int otadV_not_null(otad_error *err, const char *who, const char *what, const void *p)
{
    return p ? OTAD_OK : otad_error_set(err, OTAD_EINVAL, "%s: %s is NULL", who, what);
}

int otadV_size(otad_error *err, const char *who, const char *what, size_t rows, size_t cols)
{
    if (rows == 0 || cols == 0)
        return otad_error_set(err, OTAD_EINVAL, "%s: %s is %zux%zu, needs at least one entry",
                              who, what, rows, cols);
    if (rows > SIZE_MAX / sizeof(double) / cols)
        return otad_error_set(err, OTAD_EINVAL, "%s: %s is %zux%zu, more entries than fit in "
                              "memory", who, what, rows, cols);
    return OTAD_OK;
}

/* "what[k]" for a vector, "what entry (i,j)" for a matrix. */
static const char *entry_name(char *buf, size_t cap, const char *what, size_t k, size_t rows,
                              size_t cols)
{
    if (cols == 1)
        snprintf(buf, cap, "%s[%zu]", what, k);
    else
        snprintf(buf, cap, "%s entry (%zu,%zu)", what, k % rows, k / rows);
    return buf;
}

int otadV_finite(otad_error *err, const char *who, const char *what, const double *x,
                 size_t rows, size_t cols)
{
    if (!x)
        return otadV_not_null(err, who, what, x);
    for (size_t k = 0; k < rows * cols; k++) {
        char name[128];
        if (!isfinite(x[k]))
            return otad_error_set(err, OTAD_EDOMAIN, "%s: %s is %g, must be finite", who,
                                  entry_name(name, sizeof name, what, k, rows, cols), x[k]);
    }
    return OTAD_OK;
}

int otadV_sums_to_one(otad_error *err, const char *who, const char *what, const double *w,
                      size_t rows, size_t cols)
{
    if (!w)
        return otadV_not_null(err, who, what, w);
    for (size_t j = 0; j < cols; j++) {
        double sum = 0;
        for (size_t i = 0; i < rows; i++)
            sum += w[i + j * rows];
        if (!(fabs(sum - 1) <= OTADV_SUM_TOLERANCE))
            return otad_error_set(err, OTAD_EDOMAIN, "%s: %s column %zu sums to %.12g, must "
                                  "sum to 1", who, what, j, sum);
    }
    return OTAD_OK;
}

int otadV_simplex(otad_error *err, const char *who, const char *what, const double *w,
                  size_t rows, size_t cols)
{
    int rc = otadV_finite(err, who, what, w, rows, cols);
    if (rc != OTAD_OK)
        return rc;
    for (size_t k = 0; k < rows * cols; k++) {
        char name[128];
        if (w[k] < 0)
            return otad_error_set(err, OTAD_EDOMAIN, "%s: %s is %g, must be ≥ 0 (each column "
                                  "on the simplex)", who,
                                  entry_name(name, sizeof name, what, k, rows, cols), w[k]);
    }
    return otadV_sums_to_one(err, who, what, w, rows, cols);
}

int otadV_int_range(otad_error *err, const char *who, const char *field, int value, int lo,
                    int hi)
{
    if (value >= lo && value <= hi)
        return OTAD_OK;
    if (hi == INT_MAX)
        return otad_error_set(err, OTAD_EINVAL, "%s: %s is %d, must be at least %d", who, field,
                              value, lo);
    if (hi == lo + 1)
        return otad_error_set(err, OTAD_EINVAL, "%s: %s is %d, must be %d or %d", who, field,
                              value, lo, hi);
    return otad_error_set(err, OTAD_EINVAL, "%s: %s is %d, must be %d to %d", who, field, value,
                          lo, hi);
}

int otadV_enum(otad_error *err, const char *who, const char *field, int value, int lo, int hi,
               const char *names)
{
    if (value >= lo && value <= hi)
        return OTAD_OK;
    return otad_error_set(err, OTAD_EINVAL, "%s: %s is %d, must be %s", who, field, value, names);
}

int otadV_nonnegative(otad_error *err, const char *who, const char *field, double value)
{
    if (value >= 0 && isfinite(value))
        return OTAD_OK;
    return otad_error_set(err, OTAD_EINVAL, "%s: %s is %g, must be finite and ≥ 0", who, field,
                          value);
}

int otadV_positive(otad_error *err, const char *who, const char *field, double value)
{
    if (value > 0 && isfinite(value))
        return OTAD_OK;
    return otad_error_set(err, OTAD_EINVAL, "%s: %s is %g, must be finite and > 0", who, field,
                          value);
}

int otadV_positive_or_infinite(otad_error *err, const char *who, const char *field,
                               double value)
{
    if (value > 0)
        return OTAD_OK;
    return otad_error_set(err, OTAD_EINVAL, "%s: %s is %g, must be > 0 (INFINITY allowed)", who,
                          field, value);
}

const char *otadV_field(char *buf, size_t cap, const char *prefix, const char *name)
{
    snprintf(buf, cap, "%s%s", prefix ? prefix : "", name);
    return buf;
}

int otadV_on_tape(otad_tape *tape, int rc, const otad_error *err)
{
    if (rc != OTAD_OK)
        otad_tape_fail(tape, rc, "%s", err->message);
    return otad_tape_status(tape);
}
