/* .npy files: round trips, the reference data, every dtype and byte order,
 * and a clear error for each kind of malformed file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/io.h"
#include "support.h"

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A .npy file of the given version, header text and raw data. */
static const char *npy_file(const char *name, int major, const char *header, const void *data,
                            size_t data_len)
{
    size_t h = strlen(header), pre = major == 1 ? 10 : 12;
    unsigned char *buf = malloc(pre + h + 1 + data_len);
    assert_non_null(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    memset(buf + 8, 0, pre - 8);
    buf[8] = (unsigned char)((h + 1) & 0xff);
    buf[9] = (unsigned char)((h + 1) >> 8);
    memcpy(buf + pre, header, h);
    buf[pre + h] = '\n';
    if (data_len)
        memcpy(buf + pre + h + 1, data, data_len);
    const char *path = tmp_path(name);
    write_bytes(path, buf, pre + h + 1 + data_len);
    free(buf);
    return path;
}

static void reverse(unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        unsigned char t = b[i];
        b[i] = b[n - 1 - i];
        b[n - 1 - i] = t;
    }
}

/* ---- round trips ---------------------------------------------------------- */

static void check_round_trip(size_t ndim, const size_t *shape)
{
    otad_array a = {.ndim = ndim};
    memcpy(a.shape, shape, ndim * sizeof *shape);
    size_t n = otad_array_size(&a);
    a.data = random_matrix(ndim + 1, n, 1, -10, 10);
    const char *path = tmp_path("round.npy");
    otad_error err;
    assert_int_equal(otad_npy_write(path, &a, &err), OTAD_OK);
    otad_array b;
    assert_int_equal(otad_npy_read(path, &b, &err), OTAD_OK);
    assert_int_equal(b.ndim, ndim);
    for (size_t k = 0; k < ndim; k++)
        assert_int_equal(b.shape[k], shape[k]);
    assert_memory_equal(a.data, b.data, n * sizeof *a.data);
    otad_array_free(&a);
    otad_array_free(&b);
    assert_null(b.data);
}

static void test_round_trip_any_rank(void **state)
{
    (void)state;
    size_t shapes[4][3] = {{0}, {7}, {3, 5}, {2, 3, 4}};
    for (size_t ndim = 0; ndim < 4; ndim++)
        check_round_trip(ndim, shapes[ndim]);
}

/* The header pads the data to a multiple of 64 bytes, as NumPy does (the
 * reference files have the same 128-byte header). */
static void test_written_header(void **state)
{
    (void)state;
    double x[6] = {1, 2, 3, 4, 5, 6};
    otad_array a = {x, 2, {2, 3}};
    const char *path = tmp_path("header.npy");
    assert_int_equal(otad_npy_write(path, &a, NULL), OTAD_OK);
    char buf[256];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof buf, f), 128 + 48);
    fclose(f);
    assert_memory_equal(buf, "\x93NUMPY\x01\x00\x76\x00", 10);
    assert_memory_equal(buf + 10, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                        59);
    assert_int_equal(buf[69], ' ');
    assert_int_equal(buf[127], '\n');
    assert_memory_equal(buf + 128, x, sizeof x);
}

static void test_matrix_round_trip(void **state)
{
    (void)state;
    size_t shapes[3][2] = {{4, 3}, {5, 1}, {1, 6}};
    for (size_t s = 0; s < 3; s++) {
        size_t r = shapes[s][0], c = shapes[s][1];
        double *x = random_matrix(s + 7, r, c, -1, 1);
        const char *path = tmp_path("matrix.npy");
        assert_int_equal(otad_npy_write_matrix(path, (otad_value){x, r, c}, NULL), OTAD_OK);
        otad_value v = {0};
        assert_int_equal(otad_npy_read_matrix(path, &v, NULL), OTAD_OK);
        assert_int_equal(v.rows, r);
        assert_int_equal(v.cols, c);
        assert_memory_equal(v.data, x, r * c * sizeof *x);
        /* In NumPy's view the same file is the r×c matrix. */
        otad_array a;
        assert_int_equal(otad_npy_read(path, &a, NULL), OTAD_OK);
        assert_int_equal(a.ndim, 2);
        assert_int_equal(a.shape[0], r);
        assert_int_equal(a.shape[1], c);
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                assert_close(a.data[i * c + j], x[i + j * r], 0);
        otad_array_free(&a);
        free(v.data);
        free(x);
    }
}

/* A C-order (r, c) array is the r×c matrix; a stack (d0, d1, d2) has one
 * slice per column, whichever order the file is in. */
static void test_matrix_shapes(void **state)
{
    (void)state;
    double a[24];
    for (int k = 0; k < 24; k++)
        a[k] = k;
    otad_value v = {0};
    otad_array two = {a, 2, {4, 6}}, three = {a, 3, {4, 3, 2}}, one = {a, 1, {24}};
    assert_int_equal(otad_npy_write(tmp_path("two.npy"), &two, NULL), OTAD_OK);
    assert_int_equal(otad_npy_read_matrix(tmp_path("two.npy"), &v, NULL), OTAD_OK);
    assert_true(v.rows == 4 && v.cols == 6);
    assert_close(v.data[1 + 2 * 4], a[1 * 6 + 2], 0);
    free(v.data);
    assert_int_equal(otad_npy_write(tmp_path("three.npy"), &three, NULL), OTAD_OK);
    assert_int_equal(otad_npy_read_matrix(tmp_path("three.npy"), &v, NULL), OTAD_OK);
    assert_true(v.rows == 6 && v.cols == 4);
    assert_memory_equal(v.data, a, sizeof a);
    free(v.data);
    assert_int_equal(otad_npy_write(tmp_path("one.npy"), &one, NULL), OTAD_OK);
    assert_int_equal(otad_npy_read_matrix(tmp_path("one.npy"), &v, NULL), OTAD_OK);
    assert_true(v.rows == 24 && v.cols == 1);
    free(v.data);
    /* The same stack stored in Fortran order: entry [i, j, k] at i + 4j + 12k. */
    double f[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                f[i + 4 * j + 12 * k] = a[i * 6 + j * 2 + k];
    const char *path = npy_file("three_f.npy", 1,
                                "{'descr': '<f8', 'fortran_order': True, 'shape': (4, 3, 2), }",
                                f, sizeof f);
    assert_int_equal(otad_npy_read_matrix(path, &v, NULL), OTAD_OK);
    assert_true(v.rows == 6 && v.cols == 4);
    assert_memory_equal(v.data, a, sizeof a);
    free(v.data);
    otad_value view = otad_array_columns(&two);
    assert_true(view.data == a && view.rows == 6 && view.cols == 4);
}

static void test_scalar(void **state)
{
    (void)state;
    double x = 2.5;
    const char *path = npy_file("scalar.npy", 1,
                                "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &x, 8);
    otad_array a;
    assert_int_equal(otad_npy_read(path, &a, NULL), OTAD_OK);
    assert_int_equal(a.ndim, 0);
    assert_int_equal(otad_array_size(&a), 1);
    assert_close(a.data[0], 2.5, 0);
    otad_array_free(&a);
    otad_value v;
    assert_int_equal(otad_npy_read_matrix(path, &v, NULL), OTAD_OK);
    assert_true(v.rows == 1 && v.cols == 1 && v.data[0] == 2.5);
    free(v.data);
}

/* ---- reference data ------------------------------------------------------- */

/* The Sinkhorn reference's points: the first two LCG draws are the first row. */
static void test_reference_w1_points(void **state)
{
    (void)state;
    otad_array a;
    otad_error err;
    int rc = otad_npy_read("tests/data/w1/n500_x.npy", &a, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
    assert_true(a.ndim == 2 && a.shape[0] == 500 && a.shape[1] == 2);
    assert_close(a.data[0], 0.42320917087271326, 0);
    assert_close(a.data[1], 0.50940744288372064, 0);
    otad_array_free(&a);
    otad_value v;
    assert_int_equal(otad_npy_read_matrix("tests/data/w1/n500_x.npy", &v, &err), OTAD_OK);
    assert_true(v.rows == 500 && v.cols == 2);
    assert_close(v.data[0], 0.42320917087271326, 0);
    assert_close(v.data[500], 0.50940744288372064, 0);
    free(v.data);
}

/* Written back, a reference file is the same bytes: same header, same padding. */
static void test_rewrite_reference_identically(void **state)
{
    (void)state;
    const char *ref = "tests/data/w1/n500_x.npy", *copy = tmp_path("copy.npy");
    otad_array a;
    assert_int_equal(otad_npy_read(ref, &a, NULL), OTAD_OK);
    assert_int_equal(otad_npy_write(copy, &a, NULL), OTAD_OK);
    otad_array_free(&a);
    char *bytes[2];
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(k ? copy : ref, "rb");
        assert_non_null(f);
        bytes[k] = malloc(8129);
        assert_int_equal(fread(bytes[k], 1, 8129, f), 8128);
        fclose(f);
    }
    assert_memory_equal(bytes[0], bytes[1], 8128);
    free(bytes[0]);
    free(bytes[1]);
}

/* The metric-learning reference's frames are stored in Fortran order: entry [i, j] is the double at
 * i + 10j after the header.  Read them raw and compare. */
static void test_reference_w3_fortran(void **state)
{
    (void)state;
    const char *path = "tests/data/w3/n50_frames.npy";
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    double *raw = malloc(25000 * sizeof *raw);
    assert_non_null(raw);
    assert_int_equal(fseek(f, -25000 * 8, SEEK_END), 0);
    assert_int_equal(fread(raw, 8, 25000, f), 25000);
    fclose(f);
    otad_array a;
    assert_int_equal(otad_npy_read(path, &a, NULL), OTAD_OK);
    assert_true(a.ndim == 2 && a.shape[0] == 10 && a.shape[1] == 2500);
    size_t at[3][2] = {{0, 0}, {3, 1234}, {9, 2499}};
    for (size_t k = 0; k < 3; k++) {
        size_t i = at[k][0], j = at[k][1];
        assert_close(a.data[i * 2500 + j], raw[i + 10 * j], 0);
    }
    otad_array_free(&a);
    otad_value v;
    assert_int_equal(otad_npy_read_matrix(path, &v, NULL), OTAD_OK);
    assert_true(v.rows == 10 && v.cols == 2500);
    assert_memory_equal(v.data, raw, 25000 * sizeof *raw);
    free(v.data);
    free(raw);
}

/* The five-shapes database is a stack of five 64×64 images: one per column. */
static void test_reference_w2_stack(void **state)
{
    (void)state;
    otad_value v;
    otad_array a;
    assert_int_equal(otad_npy_read_matrix("tests/data/w2/N64_database.npy", &v, NULL), OTAD_OK);
    assert_int_equal(otad_npy_read("tests/data/w2/N64_database.npy", &a, NULL), OTAD_OK);
    assert_true(v.rows == 4096 && v.cols == 5);
    assert_close(v.data[2 * 4096 + 17 * 64 + 40], a.data[(2 * 64 + 17) * 64 + 40], 0);
    otad_array_free(&a);
    free(v.data);
}

/* ---- dtypes, byte orders, versions ---------------------------------------- */

static void check_values(const char *path, const double *expect, size_t n)
{
    otad_array a;
    otad_error err;
    int rc = otad_npy_read(path, &a, &err);
    if (rc != OTAD_OK)
        fail_msg("%s", err.message);
    assert_int_equal(a.ndim, 1);
    assert_int_equal(a.shape[0], n);
    for (size_t k = 0; k < n; k++)
        assert_close(a.data[k], expect[k], 0);
    otad_array_free(&a);
}

static void test_big_endian_and_float32(void **state)
{
    (void)state;
    double d[3] = {1.5, -2.25, 1e-300};
    unsigned char be[24];
    memcpy(be, d, sizeof d);
    for (int k = 0; k < 3; k++)
        reverse(be + 8 * k, 8);
    check_values(npy_file("be.npy", 1, "{'descr': '>f8', 'fortran_order': False, 'shape': (3,), }",
                          be, sizeof be), d, 3);
    float s[3] = {0.5f, -3.0f, 0.1f};
    double ds[3] = {0.5, -3.0, (double)0.1f};
    check_values(npy_file("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
                          s, sizeof s), ds, 3);
    unsigned char sbe[12];
    memcpy(sbe, s, sizeof s);
    for (int k = 0; k < 3; k++)
        reverse(sbe + 4 * k, 4);
    check_values(npy_file("f4be.npy", 1,
                          "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", sbe,
                          sizeof sbe), ds, 3);
}

static void test_integer_and_bool_dtypes(void **state)
{
    (void)state;
    int32_t i4[3] = {-7, 0, 2147483647};
    double e4[3] = {-7, 0, 2147483647};
    check_values(npy_file("i4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
                          i4, sizeof i4), e4, 3);
    int64_t i8[2] = {-5, 1LL << 40};
    double e8[2] = {-5, 1099511627776.0};
    unsigned char be[16];
    memcpy(be, i8, sizeof i8);
    reverse(be, 8), reverse(be + 8, 8);
    check_values(npy_file("i8.npy", 1, "{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }",
                          be, sizeof be), e8, 2);
    uint8_t u1[4] = {0, 1, 128, 255};
    double eu[4] = {0, 1, 128, 255};
    check_values(npy_file("u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }",
                          u1, sizeof u1), eu, 4);
    uint8_t b1[3] = {1, 0, 1};
    double eb[3] = {1, 0, 1};
    check_values(npy_file("b1.npy", 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                          b1, sizeof b1), eb, 3);
}

/* Versions 2.0 and 3.0 (4-byte header length), keys in any order, double
 * quotes, Python 2's long suffix. */
static void test_versions_and_header_spellings(void **state)
{
    (void)state;
    double d[2] = {3, 4};
    check_values(npy_file("v2.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                          d, sizeof d), d, 2);
    check_values(npy_file("v3.npy", 3, "{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}",
                          d, sizeof d), d, 2);
    check_values(npy_file("py2.npy", 1,
                          "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2L,)}  ",
                          d, sizeof d), d, 2);
}

/* ---- errors --------------------------------------------------------------- */

/* path fails with code, a message containing want, and out untouched. */
static void expect_failure(const char *path, int code, const char *want)
{
    otad_array a = {(double *)0x1, 5, {9}};
    otad_error err = {""};
    assert_int_equal(otad_npy_read(path, &a, &err), code);
    assert_true(a.data == (double *)0x1 && a.ndim == 5 && a.shape[0] == 9);
    if (!strstr(err.message, want) || !strstr(err.message, path))
        fail_msg("message \"%s\" lacks \"%s\" or the file name", err.message, want);
    otad_value v = {(double *)0x1, 2, 3};
    assert_int_equal(otad_npy_read_matrix(path, &v, NULL), code);
    assert_true(v.data == (double *)0x1 && v.rows == 2 && v.cols == 3);
}

static void test_malformed_files(void **state)
{
    (void)state;
    double d[5] = {0};
    write_bytes(tmp_path("empty.npy"), "", 0);
    expect_failure(tmp_path("empty.npy"), OTAD_EFORMAT, "empty file");
    write_bytes(tmp_path("magic.npy"), "PK\x03\x04 not numpy at all", 22);
    expect_failure(tmp_path("magic.npy"), OTAD_EFORMAT, "bad magic");
    const char *h = "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }";
    const char *p = npy_file("v4.npy", 4, h, d, 32);
    expect_failure(p, OTAD_EFORMAT, "unsupported .npy version 4.0");
    p = npy_file("list.npy", 1, "['descr', '<f8']", d, sizeof d);
    expect_failure(p, OTAD_EFORMAT, "header is not a dict");
    p = npy_file("open.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)", d, 32);
    expect_failure(p, OTAD_EFORMAT, "header is not a dict");
    p = npy_file("c16.npy", 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (2,), }", d,
                 sizeof d);
    expect_failure(p, OTAD_EFORMAT, "unknown dtype '<c16'");
    p = npy_file("rec.npy", 1, "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4,)}",
                 d, sizeof d);
    expect_failure(p, OTAD_EFORMAT, "structured dtypes");
    p = npy_file("nokey.npy", 1, "{'descr': '<f8', 'shape': (4,), }", d, sizeof d);
    expect_failure(p, OTAD_EFORMAT, "no 'fortran_order'");
    p = npy_file("extra.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), 'x': 1}",
                 d, sizeof d);
    expect_failure(p, OTAD_EFORMAT, "unexpected key 'x'");
    p = npy_file("dims.npy", 1,
                 "{'descr': '<f8', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,4), }", d,
                 sizeof d);
    expect_failure(p, OTAD_EFORMAT, "more than 8 dimensions");
    /* Sizes that multiply past SIZE_MAX are refused also beside a 0 (NumPy
     * refuses them too): a caller multiplies them, as the columns view does. */
    p = npy_file("huge.npy", 1, "{'descr': '<f8', 'fortran_order': False, "
                 "'shape': (0, 4294967297, 4294967297), }", d, 0);
    expect_failure(p, OTAD_EFORMAT, "the shape is too large");
    p = npy_file("long.npy", 1, h, d, sizeof d);
    expect_failure(p, OTAD_EFORMAT, "too long: header says 4 float64 (32 bytes), file has 40");
}

/* A header that promises more than the file holds, cut in the data and in
 * the header itself. */
static void test_truncated_files(void **state)
{
    (void)state;
    double *x = random_matrix(3, 500, 2, 0, 1);
    const char *h = "{'descr': '<f8', 'fortran_order': False, 'shape': (500, 2), }";
    const char *p = npy_file("w1.npy", 1, h, x, 4000);
    expect_failure(p, OTAD_EFORMAT,
                   "w1.npy: truncated: header says 500x2 float64 (8000 bytes), file has 4000");
    p = npy_file("cut.npy", 1, h, x, 8000);
    FILE *f = fopen(p, "rb");
    unsigned char head[40];
    assert_int_equal(fread(head, 1, sizeof head, f), sizeof head);
    fclose(f);
    write_bytes(p, head, sizeof head);
    expect_failure(p, OTAD_EFORMAT, "truncated header");
    write_bytes(p, head, 7);
    expect_failure(p, OTAD_EFORMAT, "truncated header");
    free(x);
}

static void test_missing_file_and_bad_arguments(void **state)
{
    (void)state;
    expect_failure(tmp_path("does-not-exist.npy"), OTAD_EIO, "cannot open");
    otad_error err;
    otad_array a = {0};
    assert_int_equal(otad_npy_read(NULL, &a, &err), OTAD_EINVAL);
    assert_int_equal(otad_npy_read("tests/data/w1/n500_x.npy", NULL, &err), OTAD_EINVAL);
    assert_int_equal(otad_npy_write(tmp_path("x.npy"), NULL, &err), OTAD_EINVAL);
    otad_array nodata = {NULL, 1, {3}};
    assert_int_equal(otad_npy_write(tmp_path("x.npy"), &nodata, &err), OTAD_EINVAL);
    assert_int_equal(otad_npy_write_matrix(tmp_path("x.npy"), (otad_value){NULL, 2, 2}, &err),
                     OTAD_EINVAL);
    double x[4] = {0};
    assert_int_equal(otad_npy_write_matrix(tmp_path("x.npy"), (otad_value){x, 0, 2}, &err),
                     OTAD_EINVAL);
    assert_int_equal(access(tmp_path("x.npy"), F_OK), -1);
    /* An empty array reads, but is no matrix. */
    otad_array empty = {x, 2, {0, 3}};
    assert_int_equal(otad_npy_write(tmp_path("empty2.npy"), &empty, NULL), OTAD_OK);
    assert_int_equal(otad_npy_read(tmp_path("empty2.npy"), &a, NULL), OTAD_OK);
    assert_true(a.ndim == 2 && a.shape[0] == 0 && a.shape[1] == 3 && a.data);
    otad_array_free(&a);
    otad_value v;
    assert_int_equal(otad_npy_read_matrix(tmp_path("empty2.npy"), &v, &err), OTAD_EFORMAT);
    otad_array_free(NULL);
}

/* A write that cannot happen leaves what was there and no other file. */
static void test_failed_writes_leave_nothing(void **state)
{
    (void)state;
    otad_error err;
    double x[2] = {1, 2};
    otad_array a = {x, 1, {2}};
    assert_int_equal(otad_npy_write("/nonexistent-dir/x.npy", &a, &err), OTAD_EIO);
    assert_non_null(strstr(err.message, "/nonexistent-dir/x.npy: cannot create"));
    const char *p = tmp_path("keep.npy");
    assert_int_equal(otad_npy_write(p, &a, NULL), OTAD_OK);
    otad_array bad = {x, 9, {2}};
    assert_int_equal(otad_npy_write(p, &bad, &err), OTAD_EINVAL);
    otad_array b;
    assert_int_equal(otad_npy_read(p, &b, NULL), OTAD_OK);
    assert_true(b.ndim == 1 && b.data[1] == 2);
    otad_array_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_any_rank),
        cmocka_unit_test(test_written_header),
        cmocka_unit_test(test_matrix_round_trip),
        cmocka_unit_test(test_matrix_shapes),
        cmocka_unit_test(test_scalar),
        cmocka_unit_test(test_reference_w1_points),
        cmocka_unit_test(test_rewrite_reference_identically),
        cmocka_unit_test(test_reference_w3_fortran),
        cmocka_unit_test(test_reference_w2_stack),
        cmocka_unit_test(test_big_endian_and_float32),
        cmocka_unit_test(test_integer_and_bool_dtypes),
        cmocka_unit_test(test_versions_and_header_spellings),
        cmocka_unit_test(test_malformed_files),
        cmocka_unit_test(test_truncated_files),
        cmocka_unit_test(test_missing_file_and_bad_arguments),
        cmocka_unit_test(test_failed_writes_leave_nothing),
    };
    return cmocka_run_group_tests(tests, tmp_dir_create, tmp_dir_remove);
}
