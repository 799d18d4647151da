#include "support.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const test_shape test_shapes[3] = {{1, 1}, {7, 1}, {7, 4}};

static void *counted_alloc(void *ctx, size_t bytes)
{
    counting_allocator *c = ctx;
    if (c->fail_at != SIZE_MAX && c->calls >= c->fail_at)
        return NULL;
    void *p = malloc(bytes);
    if (p) {
        c->calls++;
        c->live_blocks++;
        c->live_bytes += bytes;
    }
    return p;
}

static void counted_free(void *ctx, void *ptr, size_t bytes)
{
    counting_allocator *c = ctx;
    c->live_blocks--;
    c->live_bytes -= bytes;
    free(ptr);
}

void counting_allocator_init(counting_allocator *c)
{
    *c = (counting_allocator){{counted_alloc, counted_free, c}, 0, 0, 0, SIZE_MAX};
}

otad_tape *new_counted_tape(counting_allocator *c, size_t chunk_bytes)
{
    otad_tape_opts opts;
    otad_tape_opts_init(&opts);
    opts.allocator = &c->allocator;
    opts.chunk_bytes = chunk_bytes;
    otad_tape *t = NULL;
    assert_int_equal(otad_tape_new(&t, &opts), OTAD_OK);
    return t;
}

otad_tape *new_tape(void)
{
    otad_tape *t = NULL;
    assert_int_equal(otad_tape_new(&t, NULL), OTAD_OK);
    assert_non_null(t);
    return t;
}

otad_tape *new_unchecked_tape(void)
{
    otad_tape_opts opts;
    otad_tape_opts_init(&opts);
    opts.check_finite = 0;
    otad_tape *t = NULL;
    assert_int_equal(otad_tape_new(&t, &opts), OTAD_OK);
    return t;
}

void assert_tape_failed(otad_tape *tape, int code, const char *words)
{
    assert_int_equal(otad_tape_status(tape), code);
    if (!strstr(otad_tape_message(tape), words))
        fail_msg("message \"%s\" does not contain \"%s\"", otad_tape_message(tape), words);
    otad_tape_reset(tape);
}

double entropy(const double *h, size_t n)
{
    double e = 0;
    for (size_t i = 0; i < n; i++)
        e -= h[i] > 0 ? h[i] * log(h[i]) : 0;
    return e;
}

/* Heap's algorithm, one swap per permutation. */
double best_assignment(size_t n, const double *cost)
{
    size_t perm[8], counter[8] = {0};
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    double best = INFINITY;
    for (size_t i = 0;;) {
        double total = 0;
        for (size_t r = 0; r < n; r++)
            total += cost[r + perm[r] * n];
        best = fmin(best, total);
        while (i < n && counter[i] >= i) {
            counter[i] = 0;
            i++;
        }
        if (i == n)
            return best;
        size_t other = i % 2 ? counter[i] : 0, keep = perm[other];
        perm[other] = perm[i];
        perm[i] = keep;
        counter[i]++;
        i = 1;
    }
}

double *random_matrix(uint64_t seed, size_t rows, size_t cols, double lo, double hi)
{
    double *x = malloc(rows * cols * sizeof *x);
    assert_non_null(x);
    otad_rng rng = {seed};
    otad_rng_fill(&rng, x, rows * cols, lo, hi);
    return x;
}

double *histogram_of_mass(uint64_t seed, size_t n, double mass)
{
    double *h = random_matrix(seed, n, 1, 0.5, 1.5), s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    for (size_t i = 0; i < n; i++)
        h[i] *= mass / s;
    return h;
}

void assert_check_passed(int rc, const otad_check_result *res)
{
    if (rc != OTAD_OK || !res->passed)
        fail_msg("%s (%s)", res->report, otad_strerror(rc));
}

void assert_tape_ok(const otad_tape *tape)
{
    if (otad_tape_status(tape) != OTAD_OK)
        fail_msg("tape failed: %s", otad_tape_message(tape));
}

void check_graph_at(otad_record_fn record, void *instance, size_t n_in,
                    const test_shape *shapes, double lo, double hi, uint64_t seed)
{
    otad_value in[OTAD_CHECK_MAX_INPUTS];
    assert_true(n_in <= OTAD_CHECK_MAX_INPUTS);
    for (size_t i = 0; i < n_in; i++)
        in[i] = (otad_value){random_matrix(seed + i, shapes[i].rows, shapes[i].cols, lo, hi),
                             shapes[i].rows, shapes[i].cols};
    otad_check_result res;
    int rc = otad_check_graph(record, instance, n_in, in, NULL, &res);
    assert_check_passed(rc, &res);
    rc = otad_check_jacobian(record, instance, n_in, in, NULL, &res);
    assert_check_passed(rc, &res);
    for (size_t i = 0; i < n_in; i++)
        free(in[i].data);
}

void assert_close_at(double actual, double expected, double tolerance, const char *file, int line)
{
    if (!(fabs(actual - expected) <= tolerance))
        fail_msg("%s:%d: %.17g differs from %.17g by more than %g", file, line, actual, expected,
                 tolerance);
}

typedef struct kernel_operator {
    otad_tape *tape;
    otad_kernel k;
    unsigned product;
} kernel_operator;

static int apply_kernel(void *instance, int transpose, size_t ncols, const double *x, double *y)
{
    kernel_operator *op = instance;
    otad_kernel_info info = otad_kernel_info_of(op->tape, op->k);
    otad_mark m = otad_tape_mark(op->tape);
    unsigned product = op->product | (transpose ? OTAD_KERNEL_TRANSPOSE : 0);
    otad_var in = otad_const(op->tape, transpose ? info.rows : info.cols, ncols, x);
    otad_value out = otad_value_of(op->tape, otad_kernel_apply(op->tape, op->k, product, in));
    int rc = otad_tape_status(op->tape);
    if (rc == OTAD_OK)
        memcpy(y, out.data, out.rows * out.cols * sizeof *y);
    otad_tape_rewind(op->tape, m);
    return rc;
}

void check_kernel_adjoint(otad_tape *tape, otad_kernel k, unsigned product, size_t ncols)
{
    kernel_operator op = {tape, k, product};
    otad_kernel_info info = otad_kernel_info_of(tape, k);
    otad_check_opts opts;
    otad_check_opts_init(&opts);
    opts.tolerance = 1e-12;
    opts.abs_floor = 0;
    otad_check_result res;
    int rc = otad_check_adjoint(apply_kernel, &op, info.rows, info.cols, ncols, &opts, &res);
    if (rc != OTAD_OK || !res.passed)
        fail_msg("%s (%s)", res.report, otad_tape_message(tape));
}

double max_rel_diff(const double *a, const double *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs(a[i] - b[i]));
        m = fmax(m, fabs(b[i]));
    }
    return d / m;
}

static char tmp_dir[64];

int tmp_dir_create(void **state)
{
    (void)state;
    strcpy(tmp_dir, "/tmp/otad-test-XXXXXX");
    return mkdtemp(tmp_dir) ? 0 : -1;
}

int tmp_dir_remove(void **state)
{
    (void)state;
    DIR *d = opendir(tmp_dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            unlink(path);
    }
    if (d)
        closedir(d);
    return rmdir(tmp_dir);
}

const char *tmp_path(const char *name)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s", tmp_dir, name);
    return p;
}

otad_value load_reference(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/%s.npy", name);
    otad_value v = {NULL, 0, 0};
    if (otad_npy_read_matrix(path, &v, NULL) != OTAD_OK)
        fail_msg("cannot read %s (tests run from the repository root)", path);
    return v;
}

double *load_reference_flat(const char *name, size_t expected_size)
{
    char path[256];
    snprintf(path, sizeof path, "tests/data/%s.npy", name);
    otad_array a;
    if (otad_npy_read(path, &a, NULL) != OTAD_OK)
        fail_msg("cannot read %s (tests run from the repository root)", path);
    size_t size = 1;
    for (size_t d = 0; d < a.ndim; d++)
        size *= a.shape[d];
    assert_int_equal(size, expected_size);
    return a.data;
}

void assert_rel_close(const char *what, const double *got, const double *ref, size_t n,
                      double tolerance)
{
    double d = max_rel_diff(got, ref, n);
    if (!(d <= tolerance))
        fail_msg("%s: relative difference %.3g above %.1g", what, d, tolerance);
}

/* The name of the function whose declaration line starts, into name. */
static int declared_name(const char *line, char *name, size_t cap)
{
    if (!(isalpha((unsigned char)line[0]) || line[0] == '_') || !strncmp(line, "typedef", 7))
        return 0;
    size_t paren = strcspn(line, "(;={#");
    if (line[paren] != '(')
        return 0;
    size_t start = paren;
    while (start > 0 && (isalnum((unsigned char)line[start - 1]) || line[start - 1] == '_'))
        start--;
    if (start == 0 || (line[start - 1] != ' ' && line[start - 1] != '*') ||
        strncmp(line + start, "otad_", 5) != 0)
        return 0;
    for (size_t k = 0; k < start; k++)  /* a return type: words, spaces, stars */
        if (!isalnum((unsigned char)line[k]) && !strchr("_ *", line[k]))
            return 0;
    snprintf(name, cap, "%.*s", (int)(paren - start), line + start);
    return 1;
}

size_t for_each_declared_function(const char *path, declared_fn each, void *instance)
{
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot read %s (tests run from the repository root)", path);
    char line[512], name[128];
    size_t found = 0;
    while (fgets(line, sizeof line, f))
        if (declared_name(line, name, sizeof name)) {
            each(path, name, line, instance);
            found++;
        }
    fclose(f);
    return found;
}
