/* glibc's vector pow (libmvec) for the `omp simd` loops that take powers
 * (unary.c, kernel.c's power pair, the unbalanced translation): <math.h>
 * declares it so only under -ffast-math, which the library must not have.
 * Elsewhere than glibc on x86-64 there may be no such variant to link: the
 * loops then call the scalar pow. */
#ifndef OTAD_OPS_VECTOR_POW_H
#define OTAD_OPS_VECTOR_POW_H

#include <math.h>

#if defined __GLIBC__ && defined __x86_64__
#pragma omp declare simd notinbranch
double pow(double, double);
#endif

#endif
