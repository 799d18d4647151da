/* Shared by the tests: cmocka, a counting allocator that can fail on demand,
 * random values, and gradient-check assertions. */
#ifndef OTAD_TEST_SUPPORT_H
#define OTAD_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "otad.h"

/* Counts calls and live blocks; the call numbered fail_at (from 0) and every
 * later one fail while fail_at is not SIZE_MAX. */
typedef struct counting_allocator {
    otad_allocator allocator;
    size_t calls, live_blocks, live_bytes;
    size_t fail_at;
} counting_allocator;

void counting_allocator_init(counting_allocator *c);

/* A tape on a counting allocator with small chunks (many allocation points). */
otad_tape *new_counted_tape(counting_allocator *c, size_t chunk_bytes);

/* A tape with default options; fails the test if creation fails. */
otad_tape *new_tape(void);

/* rows×cols uniform in [lo, hi), from a fixed-seed generator; free() it. */
double *random_matrix(uint64_t seed, size_t rows, size_t cols, double lo, double hi);

/* n entries uniform in [0.5, 1.5), scaled to sum to mass; free() it. */
double *histogram_of_mass(uint64_t seed, size_t n, double mass);

/* Fails the test with the check's report unless it ran and passed. */
void assert_check_passed(int rc, const otad_check_result *res);

/* |actual − expected| ≤ tolerance in double precision (cmocka 1.1 compares
 * floats only in single precision). */
#define assert_close(actual, expected, tolerance) \
    assert_close_at((actual), (expected), (tolerance), __FILE__, __LINE__)
void assert_close_at(double actual, double expected, double tolerance, const char *file, int line);

/* Fails the test with the tape's message unless its status is OK. */
void assert_tape_ok(const otad_tape *tape);

/* Fails unless the tape failed with code and a message containing words;
 * then resets it for the next case. */
void assert_tape_failed(otad_tape *tape, int code, const char *words);

/* A tape that lets non-finite values through (check_finite = 0): how a NaN
 * from an earlier op reaches an op's own checks. */
otad_tape *new_unchecked_tape(void);

/* The least Σ_i C[i, σ(i)] over the permutations σ of n ≤ 8 (C n×n,
 * column-major): the exact OT cost times n between uniform weights. */
double best_assignment(size_t n, const double *cost);

/* −Σ h log h (0 log 0 = 0). */
double entropy(const double *h, size_t n);

/* The shapes every op is checked at: 1×1, N×1, N×B. */
typedef struct test_shape {
    size_t rows, cols;
} test_shape;
extern const test_shape test_shapes[3];

/* Draw inputs of the given shapes in [lo, hi) and run both the dot-product
 * test and the full-Jacobian test of record on them; fails on either. */
void check_graph_at(otad_record_fn record, void *instance, size_t n_in,
                    const test_shape *shapes, double lo, double hi, uint64_t seed);

/* Adjoint identity ⟨op(K)x, y⟩ = ⟨x, op(K)ᵀy⟩ of a kernel on its tape, for
 * ncols columns, to 1e-12 relative; product 0 or OTAD_KERNEL_COST. */
void check_kernel_adjoint(otad_tape *tape, otad_kernel k, unsigned product, size_t ncols);

/* Largest |a_i − b_i| over the largest |b_i|. */
double max_rel_diff(const double *a, const double *b, size_t n);

/* A fresh directory under /tmp for a test group's files (cmocka group
 * setup and teardown: the teardown removes it and what is in it), and a
 * path in it (valid for the next 7 calls). */
int tmp_dir_create(void **state);
int tmp_dir_remove(void **state);
const char *tmp_path(const char *name);

/* tests/data/<name>.npy as a matrix (otad_npy_read_matrix); free(v.data). */
otad_value load_reference(const char *name);

/* tests/data/<name>.npy's entries in C order (a 2-D image: row-major, as
 * histograms are), failing unless there are expected_size; free() it. */
double *load_reference_flat(const char *name, size_t expected_size);

/* Fails with `what` unless max |got − ref| / max |ref| ≤ tolerance. */
void assert_rel_close(const char *what, const double *got, const double *ref, size_t n,
                      double tolerance);

/* The functions a public header declares: every line that starts a
 * declaration `type otad_name(` at column 0 (static inline helpers count;
 * typedefs, macros and struct members do not).  Calls each(path, name, line,
 * instance) for each and returns their number; fails the test when the
 * header cannot be read (tests run from the repository root). */
typedef void (*declared_fn)(const char *path, const char *name, const char *line,
                            void *instance);
size_t for_each_declared_function(const char *path, declared_fn each, void *instance);

#endif
