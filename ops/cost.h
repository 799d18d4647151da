/* The squared Euclidean cost's gradient, shared by otad_sqdist and the Gibbs
 * kernel of two point sets (internal to ops/). */
#ifndef OTAD_COST_H
#define OTAD_COST_H

#include <stddef.h>

/* For C_ij = ‖x_i − y_j‖² (x n×d, y m×d, column-major) and the block of C̄
 * holding columns j0..j0+w (n×w): x̄_i += 2 Σ_j C̄_ij (x_i − y_j) and
 * ȳ_j −= 2 Σ_i C̄_ij (x_i − y_j).  gx or gy may be NULL. */
void otadO_sqdist_vjp(const double *x, size_t n, const double *y, size_t m, size_t d, size_t j0,
                      size_t w, const double *cbar, double *gx, double *gy);

#endif
