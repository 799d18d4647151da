/* Argument checks shared by the public entry points of every layer (ad, ops,
 * solvers, models, io), so that each refuses a bad argument in the same words
 * and names it.  Internal: otadV_* (see arena.h on names).
 *
 * Each returns OTAD_OK, or the error code with the message
 * "<who>: <what> <problem>" in err (err may be NULL).  An entry point with a
 * tape passes the message on with otadV_on_tape. */
#ifndef OTAD_ARGS_H
#define OTAD_ARGS_H

#include "ad.h"

/* How far a column of weights may sum from 1: well above the rounding of a
 * sum of weights (the columns of a softmax pass), well below a weight that
 * is off. */
#define OTADV_SUM_TOLERANCE 1e-8

/* p is not NULL: "who: what is NULL". */
int otadV_not_null(otad_error *err, const char *who, const char *what, const void *p);

/* rows×cols doubles: at least one, and few enough that their bytes fit in a
 * size_t (so that no size computed from them wraps). */
int otadV_size(otad_error *err, const char *who, const char *what, size_t rows, size_t cols);

/* Every entry of the rows×cols column-major x is finite. */
int otadV_finite(otad_error *err, const char *who, const char *what, const double *x,
                 size_t rows, size_t cols);

/* Every column of w sums to 1 (to OTADV_SUM_TOLERANCE); the message gives
 * the first column that does not and its sum. */
int otadV_sums_to_one(otad_error *err, const char *who, const char *what, const double *w,
                      size_t rows, size_t cols);

/* Every column of w is on the simplex: finite, non-negative entries summing
 * to 1.  The message says which of these fails first, and where. */
int otadV_simplex(otad_error *err, const char *who, const char *what, const double *w,
                  size_t rows, size_t cols);

/* An integer option in [lo, hi] (hi = INT_MAX: no upper bound):
 * "who: field is 0, must be at least 1". */
int otadV_int_range(otad_error *err, const char *who, const char *field, int value, int lo,
                    int hi);

/* An enumerated option in [lo, hi]: "who: field is 7, must be names". */
int otadV_enum(otad_error *err, const char *who, const char *field, int value, int lo, int hi,
               const char *names);

/* A real option that is finite and ≥ 0, or finite and > 0. */
int otadV_nonnegative(otad_error *err, const char *who, const char *field, double value);
int otadV_positive(otad_error *err, const char *who, const char *field, double value);
/* A strength that is > 0, +∞ allowed (NaN is not). */
int otadV_positive_or_infinite(otad_error *err, const char *who, const char *field,
                               double value);

/* Tape options otad_tape_new accepts: chunk_bytes ≥ 1, an allocator with
 * both functions, check_finite 0 or 1 (tape.c). */
int otadV_tape_opts(otad_error *err, const char *who, const otad_tape_opts *opts);

/* prefix followed by name in buf (cap bytes): a field as the caller sees it,
 * "sinkhorn.iterations" for the options a model holds. */
const char *otadV_field(char *buf, size_t cap, const char *prefix, const char *name);

/* err's message as the tape's failure when rc is not OTAD_OK; returns the
 * tape's status (an earlier failure stays). */
int otadV_on_tape(otad_tape *tape, int rc, const otad_error *err);

#endif
