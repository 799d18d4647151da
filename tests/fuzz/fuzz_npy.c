/* The .npy readers on arbitrary files.
 *
 * On success: data is never NULL, there are at most OTAD_ARRAY_MAX_DIMS
 * sizes, and the sizes multiply without overflow (also leaving out zeros:
 * the columns view multiplies all but the first) to an entry count the
 * file can hold.  The matrix reader succeeds exactly when the array reader
 * gives an array with entries, with the documented shape and the same
 * entries (transposed for 2-D).  On failure: a negative code, a message,
 * and the output as it was. */
#include <stdint.h>
#include <string.h>

#include "io/io.h"
#include "fuzz.h"

/* Outputs a failure must leave alone start as this pattern. */
#define UNTOUCHED 0x5a

static int untouched(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != UNTOUCHED)
            return 0;
    return 1;
}

/* The product of the nonzero sizes, as many bytes as doubles: what a caller
 * may compute (an allocation, a view's row count); 0 if it overflows. */
static int sizes_fit(const otad_array *a)
{
    size_t bytes = sizeof(double);
    for (size_t k = 0; k < a->ndim; k++) {
        if (!a->shape[k])
            continue;
        if (bytes > SIZE_MAX / a->shape[k])
            return 0;
        bytes *= a->shape[k];
    }
    return 1;
}

static void check_failure(int rc, const otad_error *err, const void *out, size_t out_size)
{
    FUZZ_CHECK(rc < 0);
    FUZZ_CHECK(err->message[0] != '\0');
    FUZZ_CHECK(untouched(out, out_size));
}

/* The matrix reader's answer for the array a (read from the same file). */
static void check_matrix(const otad_array *a, const otad_value *m)
{
    size_t n = otad_array_size(a);
    FUZZ_CHECK(m->data && m->rows * m->cols == n);
    if (a->ndim == 2) {
        size_t r = a->shape[0], c = a->shape[1];
        FUZZ_CHECK(m->rows == r && m->cols == c);
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                FUZZ_CHECK(!memcmp(&m->data[i + j * r], &a->data[i * c + j], sizeof(double)));
        return;
    }
    /* () and (n) are one column; (d0, d1, ..., dk) has d0 columns */
    size_t cols = a->ndim > 2 ? a->shape[0] : 1;
    FUZZ_CHECK(m->cols == cols && m->rows == n / cols);
    FUZZ_CHECK(!memcmp(m->data, a->data, n * sizeof(double)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size, "in.npy");

    otad_array a;
    otad_error err = {""};
    memset(&a, UNTOUCHED, sizeof a);
    int rc = otad_npy_read(path, &a, &err);
    if (rc != OTAD_OK) {
        check_failure(rc, &err, &a, sizeof a);
        memset(&a, 0, sizeof a);
    } else {
        FUZZ_CHECK(a.data && a.ndim <= OTAD_ARRAY_MAX_DIMS);
        FUZZ_CHECK(sizes_fit(&a));
        /* each entry came from at least one byte of the file */
        FUZZ_CHECK(otad_array_size(&a) <= size);
    }

    otad_value m;
    otad_error merr = {""};
    memset(&m, UNTOUCHED, sizeof m);
    int mrc = otad_npy_read_matrix(path, &m, &merr);
    if (rc == OTAD_OK && otad_array_size(&a) > 0) {
        FUZZ_CHECK(mrc == OTAD_OK);
        check_matrix(&a, &m);
        free(m.data);
    } else {
        check_failure(mrc, &merr, &m, sizeof m);
        FUZZ_CHECK(mrc == (rc == OTAD_OK ? OTAD_EFORMAT : rc));
    }

    if (rc == OTAD_OK) {
        otad_array_free(&a);
        FUZZ_CHECK(!a.data && a.ndim == 0);
    }
    return 0;
}
