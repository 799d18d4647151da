/* Whole vector registers for the hand-written loops (the heat kernel's
 * sweeps, the Gibbs kernel's pairs): OTADO_LANES doubles, eight with
 * AVX-512, four elsewhere; rows laid out for them hold a multiple of that
 * many entries. */
#ifndef OTAD_OPS_LANES_H
#define OTAD_OPS_LANES_H

#include <string.h>

#ifdef __AVX512F__
#define OTADO_LANES 8
#else
#define OTADO_LANES 4
#endif

typedef double otadO_vec __attribute__((vector_size(OTADO_LANES * sizeof(double))));

static inline otadO_vec otadO_load(const double *p)
{
    otadO_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void otadO_store(double *p, otadO_vec v)
{
    memcpy(p, &v, sizeof v);
}

#endif
