/** @file
 * otad io — arrays in and out.
 *
 * Arrays in NumPy's .npy format (versions 1.0 to 3.0) to and from otad
 * matrices; intensities (an image read by otad_plot, plot/plot.h) turned
 * into histograms.
 *
 * Every function returns OTAD_OK or a negative OTAD_* code.  When err is not
 * NULL a failure also leaves there a message that names the file and the
 * problem ("x.npy: truncated: header says 500x2 float64 (8000 bytes), file
 * has 4000").  On failure nothing the caller owns is modified: outputs keep
 * their values, and a file being written is never left half written (it is
 * written under a temporary name and renamed over the target at the end).
 * Nothing is printed.
 */
#ifndef OTAD_IO_H
#define OTAD_IO_H

#include <stddef.h>

#include "../ad/ad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- .npy arrays ---------------------------------------------------------- */

/** The most dimensions of an otad_array. */
#define OTAD_ARRAY_MAX_DIMS 8

/** An n-dimensional array of doubles in C (row-major) order. */
typedef struct otad_array {
    double *data;                      /**< malloc'd; never NULL in a read array */
    size_t ndim;                       /**< 0 for a scalar, which has one entry */
    size_t shape[OTAD_ARRAY_MAX_DIMS]; /**< entries along each of the ndim axes */
} otad_array;

/** Number of entries: the product of the shape (1 for ndim 0); 0 for a NULL
 * or malformed array (ndim above OTAD_ARRAY_MAX_DIMS, a product beyond
 * SIZE_MAX). */
size_t otad_array_size(const otad_array *a);

/** Frees the data and zeroes the struct; NULL-safe. */
void otad_array_free(otad_array *a);

/** Reads float64 and float32 in either byte order, and int8/16/32/64,
 * uint8/16/32/64 and bool converted to double (64-bit integers beyond 2^53
 * round).  Files in Fortran order are returned in C order.  Structured and
 * complex dtypes are refused (OTAD_EFORMAT), so are files whose size does
 * not match the header.  *out is overwritten only on success. */
int otad_npy_read(const char *path, otad_array *out, otad_error *err);

/** Writes '<f8' in C order, version 1.0. */
int otad_npy_write(const char *path, const otad_array *a, otad_error *err);

/** A borrowed view of an array's C-order data as a column-major matrix whose
 * columns are the leading index: shape (d0, d1, ..., dk) is (d1⋯dk)×d0, so a
 * (16, 500) array of 16 histograms is 500×16, one histogram per column;
 * (n) is n×1 and a scalar 1×1.  No copy: data is a->data. */
otad_value otad_array_columns(const otad_array *a);

/** Reads a .npy file as a column-major matrix; free(out->data) after.
 *   ()                   → 1×1
 *   (n)                  → n×1
 *   (r, c)               → r×c, entry (i, j) = a[i, j]
 *   (d0, d1, ..., dk)    → (d1⋯dk)×d0: each leading index one column holding
 *                          the C-order flattening of the rest (a stack of 5
 *                          images 64×64 becomes 4096×5, one image a column).
 * Arrays without entries are refused (OTAD_EFORMAT). */
int otad_npy_read_matrix(const char *path, otad_value *out, otad_error *err);

/** Writes v as shape (rows, cols) in Fortran order, so no copy is made, also
 * when cols is 1; otad_npy_read_matrix gives v back. */
int otad_npy_write_matrix(const char *path, otad_value v, otad_error *err);

/* ---- histograms from images ------------------------------------------- */

/** Turns intensities in [0, 1] into histograms in place, one per column: mass
 * is the intensity, or 1 − intensity when dark_is_mass is 1 (dark ink on
 * white paper; another value than 0 or 1 is OTAD_EINVAL), normalised so
 * that each column sums to 1.  OTAD_EDOMAIN when an
 * entry is outside [0, 1] or a column has no mass; image is then unchanged. */
int otad_histogram_from_gray(otad_value *image, int dark_is_mass, otad_error *err);

#ifdef __cplusplus
}
#endif

#endif
