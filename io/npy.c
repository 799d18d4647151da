/* .npy files: NumPy's array format, versions 1.0 to 3.0.
 *
 * A file is the magic "\x93NUMPY", a version byte pair, the header length
 * (2 bytes little-endian in 1.0, 4 bytes in 2.0 and 3.0), then a Python dict
 * literal with the keys 'descr', 'fortran_order' and 'shape', padded with
 * spaces and ended by '\n', then the raw entries. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

/* A longer header is refused as malformed rather than read into memory. */
#define MAX_HEADER ((size_t)1 << 20)

/* Entries converted per block: the conversion buffer lives on the stack. */
#define BLOCK 1024

typedef struct npy_header {
    char descr[16];
    char kind;              /* 'f', 'i', 'u' or 'b' */
    size_t itemsize;
    int swap;               /* the file's byte order is not the machine's */
    int fortran;
    size_t ndim, shape[OTAD_ARRAY_MAX_DIMS];
    size_t count;           /* entries */
} npy_header;

static int little_endian(void)
{
    const uint16_t one = 1;
    unsigned char first;
    memcpy(&first, &one, 1);
    return first == 1;
}

size_t otad_array_size(const otad_array *a)
{
    if (!a || a->ndim > OTAD_ARRAY_MAX_DIMS)
        return 0;
    size_t n = 1;
    for (size_t k = 0; k < a->ndim; k++) {
        if (a->shape[k] && n > SIZE_MAX / a->shape[k])
            return 0;
        n *= a->shape[k];
    }
    return n;
}

void otad_array_free(otad_array *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

otad_value otad_array_columns(const otad_array *a)
{
    if (!a || !a->data || a->ndim > OTAD_ARRAY_MAX_DIMS)
        return (otad_value){NULL, 0, 0};
    if (a->ndim <= 1)
        return (otad_value){a->data, a->ndim ? a->shape[0] : 1, 1};
    size_t rows = 1;
    for (size_t k = 1; k < a->ndim; k++)
        rows *= a->shape[k];
    return (otad_value){a->data, rows, a->shape[0]};
}

/* ---- messages ------------------------------------------------------------- */

static void shape_text(const npy_header *h, char *buf, size_t cap)
{
    if (h->ndim == 0) {
        snprintf(buf, cap, "0-d");
        return;
    }
    size_t n = 0;
    for (size_t k = 0; k < h->ndim && n < cap; k++)
        n += (size_t)snprintf(buf + n, cap - n, k ? "x%zu" : "%zu", h->shape[k]);
}

static void dtype_text(const npy_header *h, char *buf, size_t cap)
{
    const char *base = h->kind == 'f' ? "float" : h->kind == 'i' ? "int" : "uint";
    if (h->kind == 'b')
        snprintf(buf, cap, "bool");
    else
        snprintf(buf, cap, "%s%zu", base, 8 * h->itemsize);
}

/* The start of a header for a message: printable, at most 40 characters. */
static void snippet(const char *text, size_t len, char out[48])
{
    size_t n = len < 40 ? len : 40;
    for (size_t i = 0; i < n; i++)
        out[i] = isprint((unsigned char)text[i]) ? text[i] : '?';
    out[n] = '\0';
}

/* ---- the header dict ------------------------------------------------------ */

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_space(cursor *c)
{
    while (c->p < c->end && isspace((unsigned char)*c->p))
        c->p++;
}

static int consume(cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int consume_word(cursor *c, const char *word)
{
    skip_space(c);
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* A quoted string without escapes (the only kind the keys and a simple
 * descr need); 0 when there is none or it does not fit in cap. */
static int parse_string(cursor *c, char *buf, size_t cap)
{
    skip_space(c);
    if (c->p == c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote && *c->p != '\\' && n + 1 < cap)
        buf[n++] = *c->p++;
    if (c->p == c->end || *c->p != quote)
        return 0;
    c->p++;
    buf[n] = '\0';
    return 1;
}

/* A non-negative integer, with the 'L' suffix old Python 2 files carry. */
static int parse_size(cursor *c, size_t *v)
{
    skip_space(c);
    if (c->p == c->end || !isdigit((unsigned char)*c->p))
        return 0;
    size_t x = 0;
    for (; c->p < c->end && isdigit((unsigned char)*c->p); c->p++) {
        size_t d = (size_t)(*c->p - '0');
        if (x > (SIZE_MAX - d) / 10)
            return 0;
        x = 10 * x + d;
    }
    if (c->p < c->end && *c->p == 'L')
        c->p++;
    *v = x;
    return 1;
}

static int parse_typestr(npy_header *h, const char *path, otad_error *err)
{
    const char *d = h->descr;
    size_t len = strlen(d), size = 0;
    int ok = len >= 3 && len <= 4 && strchr("<>|=", d[0]);
    for (size_t i = 2; ok && i < len; i++) {
        ok = isdigit((unsigned char)d[i]);
        size = 10 * size + (size_t)(d[i] - '0');
    }
    char kind = ok ? d[1] : 0;
    int int_size = size == 1 || size == 2 || size == 4 || size == 8;
    ok = ok && (d[0] != '|' || size == 1) &&
         ((kind == 'f' && (size == 4 || size == 8)) ||
          ((kind == 'i' || kind == 'u') && int_size) || (kind == 'b' && size == 1));
    if (!ok)
        return otadI_fail(err, OTAD_EFORMAT, path,
                          "unknown dtype '%s' (float64, float32, integers and bool are read)", d);
    h->kind = kind;
    h->itemsize = size;
    h->swap = size > 1 && ((d[0] == '>' && little_endian()) || (d[0] == '<' && !little_endian()));
    return OTAD_OK;
}

static int parse_descr(cursor *c, npy_header *h, const char *path, otad_error *err)
{
    skip_space(c);
    if (c->p < c->end && *c->p == '[')
        return otadI_fail(err, OTAD_EFORMAT, path, "structured dtypes are not supported");
    if (!parse_string(c, h->descr, sizeof h->descr))
        return otadI_fail(err, OTAD_EFORMAT, path, "unknown dtype: 'descr' is not a short string");
    return parse_typestr(h, path, err);
}

static int parse_shape(cursor *c, npy_header *h, const char *path, otad_error *err)
{
    h->ndim = 0;
    if (!consume(c, '('))
        return otadI_fail(err, OTAD_EFORMAT, path, "header: 'shape' is not a tuple");
    while (!consume(c, ')')) {
        if (h->ndim == OTAD_ARRAY_MAX_DIMS)
            return otadI_fail(err, OTAD_EFORMAT, path, "more than %d dimensions",
                              OTAD_ARRAY_MAX_DIMS);
        if (!parse_size(c, &h->shape[h->ndim++]))
            return otadI_fail(err, OTAD_EFORMAT, path,
                              "header: 'shape' is not a tuple of sizes");
        if (!consume(c, ',')) {
            if (!consume(c, ')'))
                return otadI_fail(err, OTAD_EFORMAT, path, "header: 'shape' is not a tuple");
            break;
        }
    }
    return OTAD_OK;
}

static int parse_bool(cursor *c, int *v, const char *path, otad_error *err)
{
    if (consume_word(c, "True"))
        *v = 1;
    else if (consume_word(c, "False"))
        *v = 0;
    else
        return otadI_fail(err, OTAD_EFORMAT, path, "header: 'fortran_order' is not a bool");
    return OTAD_OK;
}

static int not_a_dict(const char *text, size_t len, const char *path, otad_error *err)
{
    char s[48];
    snippet(text, len, s);
    return otadI_fail(err, OTAD_EFORMAT, path, "header is not a dict: \"%s\"", s);
}

/* One "key: value" entry, *bit saying which key it was: OTAD_OK, an error
 * with its message, or NOT_A_DICT when there is no key and colon. */
#define NOT_A_DICT 1
static int parse_entry(cursor *c, npy_header *h, unsigned *bit, const char *path,
                       otad_error *err)
{
    char key[32];
    if (!parse_string(c, key, sizeof key) || !consume(c, ':'))
        return NOT_A_DICT;
    *bit = !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2
         : !strcmp(key, "shape") ? 4 : 0;
    if (*bit == 1)
        return parse_descr(c, h, path, err);
    if (*bit == 2)
        return parse_bool(c, &h->fortran, path, err);
    if (*bit == 4)
        return parse_shape(c, h, path, err);
    return otadI_fail(err, OTAD_EFORMAT, path, "unexpected key '%s' in the header", key);
}

static int parse_header(const char *text, size_t len, npy_header *h, const char *path,
                        otad_error *err)
{
    cursor c = {text, text + len};
    unsigned seen = 0, bit = 0;
    if (!consume(&c, '{'))
        return not_a_dict(text, len, path, err);
    while (!consume(&c, '}')) {
        int rc = parse_entry(&c, h, &bit, path, err);
        if (rc == NOT_A_DICT)
            return not_a_dict(text, len, path, err);
        if (rc != OTAD_OK)
            return rc;
        if (seen & bit)
            return otadI_fail(err, OTAD_EFORMAT, path, "a key appears twice in the header");
        seen |= bit;
        if (!consume(&c, ',') && !(c.p < c.end && *c.p == '}'))
            return not_a_dict(text, len, path, err);
    }
    skip_space(&c);
    if (c.p != c.end)
        return not_a_dict(text, len, path, err);
    if (seen != 7)
        return otadI_fail(err, OTAD_EFORMAT, path, "the header has no '%s'",
                          !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
    /* The sizes other than 0 must multiply within size_t, counted in bytes
     * of the doubles returned, also when a 0 leaves no entries (NumPy refuses
     * such shapes too): callers multiply them, the columns view all but the
     * first. */
    size_t product = 1;
    int empty = 0;
    for (size_t k = 0; k < h->ndim; k++) {
        if (!h->shape[k]) {
            empty = 1;
            continue;
        }
        if (product > SIZE_MAX / sizeof(double) / h->shape[k])
            return otadI_fail(err, OTAD_EFORMAT, path, "the shape is too large");
        product *= h->shape[k];
    }
    h->count = empty ? 0 : product;
    return OTAD_OK;
}

/* ---- reading -------------------------------------------------------------- */

static int file_size(FILE *f, const char *path, size_t *size, otad_error *err)
{
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (end < 0 || fseek(f, 0, SEEK_SET) != 0)
        return otadI_fail(err, OTAD_EIO, path, "cannot find the file's size: %s",
                          strerror(errno));
    *size = (size_t)end;
    return OTAD_OK;
}

/* fread of exactly n bytes; a short read is OTAD_EIO for a read error, else
 * (the file shrank after its size was taken) a truncation. */
static int read_exactly(FILE *f, void *buf, size_t n, const char *path, otad_error *err)
{
    if (fread(buf, 1, n, f) == n)
        return OTAD_OK;
    if (ferror(f))
        return otadI_fail(err, OTAD_EIO, path, "read error: %s", strerror(errno));
    return otadI_fail(err, OTAD_EFORMAT, path, "truncated while reading");
}

/* The magic, the version and the header length; *data_at is where the
 * entries start. */
static int read_preamble(FILE *f, size_t size, size_t *header_len, size_t *data_at,
                         const char *path, otad_error *err)
{
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    unsigned char pre[12];
    size_t got = size < 12 ? size : 12;
    if (size == 0)
        return otadI_fail(err, OTAD_EFORMAT, path, "empty file");
    int rc = read_exactly(f, pre, got, path, err);
    if (rc != OTAD_OK)
        return rc;
    if (memcmp(pre, magic, got < 6 ? got : 6) != 0)
        return otadI_fail(err, OTAD_EFORMAT, path, "bad magic: not a .npy file");
    if (got < 8)
        return otadI_fail(err, OTAD_EFORMAT, path, "truncated header (%zu bytes)", size);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return otadI_fail(err, OTAD_EFORMAT, path, "unsupported .npy version %u.%u",
                          pre[6], pre[7]);
    size_t field = pre[6] == 1 ? 2 : 4;
    if (got < 8 + field)
        return otadI_fail(err, OTAD_EFORMAT, path, "truncated header (%zu bytes)", size);
    *header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
    if (field == 4)
        *header_len |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    *data_at = 8 + field + *header_len;
    if (*header_len > MAX_HEADER)
        return otadI_fail(err, OTAD_EFORMAT, path, "header of %zu bytes is implausibly long",
                          *header_len);
    if (*data_at > size)
        return otadI_fail(err, OTAD_EFORMAT, path,
                          "truncated header: it is %zu bytes, the file ends after %zu",
                          *header_len, size - 8 - field);
    return fseek(f, (long)(8 + field), SEEK_SET) == 0
               ? OTAD_OK
               : otadI_fail(err, OTAD_EIO, path, "cannot seek: %s", strerror(errno));
}

static int read_header(FILE *f, size_t size, npy_header *h, const char *path,
                       otad_error *err)
{
    size_t len = 0, data_at = 0;
    int rc = read_preamble(f, size, &len, &data_at, path, err);
    if (rc != OTAD_OK)
        return rc;
    char *text = malloc(len + 1);
    if (!text)
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory for the header");
    rc = read_exactly(f, text, len, path, err);
    text[len] = '\0';
    if (rc == OTAD_OK)
        rc = parse_header(text, len, h, path, err);
    free(text);
    if (rc != OTAD_OK || size - data_at == h->count * h->itemsize)
        return rc;
    char shape[200], dtype[16];
    shape_text(h, shape, sizeof shape);
    dtype_text(h, dtype, sizeof dtype);
    size_t want = h->count * h->itemsize, have = size - data_at;
    return otadI_fail(err, OTAD_EFORMAT, path, "%s: header says %s %s (%zu bytes), file has %zu",
                      have < want ? "truncated" : "too long", shape, dtype, want, have);
}

static void swap_bytes(unsigned char *raw, size_t n, size_t size)
{
    for (size_t i = 0; i < n; i++, raw += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = raw[a];
            raw[a] = raw[b];
            raw[b] = t;
        }
}

#define CONVERT(type)                                \
    for (size_t i = 0; i < n; i++) {                 \
        type v_;                                     \
        memcpy(&v_, raw + i * sizeof v_, sizeof v_); \
        dst[i] = (double)v_;                         \
    }

static void convert(const unsigned char *raw, size_t n, char kind, size_t size, double *dst)
{
    if (kind == 'f' && size == 4) { CONVERT(float) }
    else if (kind == 'f') { CONVERT(double) }
    else if (kind == 'b') { for (size_t i = 0; i < n; i++) dst[i] = raw[i] != 0; }
    else if (kind == 'i' && size == 1) { CONVERT(int8_t) }
    else if (kind == 'i' && size == 2) { CONVERT(int16_t) }
    else if (kind == 'i' && size == 4) { CONVERT(int32_t) }
    else if (kind == 'i') { CONVERT(int64_t) }
    else if (size == 1) { CONVERT(uint8_t) }
    else if (size == 2) { CONVERT(uint16_t) }
    else if (size == 4) { CONVERT(uint32_t) }
    else { CONVERT(uint64_t) }
}

/* The entries in file order; float64 in the machine's order is read in
 * place, anything else block by block through a small buffer. */
static int read_entries(FILE *f, const npy_header *h, double *dst, const char *path,
                        otad_error *err)
{
    if (h->kind == 'f' && h->itemsize == 8 && !h->swap)
        return read_exactly(f, dst, h->count * 8, path, err);
    unsigned char raw[BLOCK * 8];
    for (size_t done = 0; done < h->count; done += BLOCK) {
        size_t n = h->count - done < BLOCK ? h->count - done : BLOCK;
        int rc = read_exactly(f, raw, n * h->itemsize, path, err);
        if (rc != OTAD_OK)
            return rc;
        if (h->swap)
            swap_bytes(raw, n, h->itemsize);
        convert(raw, n, h->kind, h->itemsize, dst + done);
    }
    return OTAD_OK;
}

/* dst gets the entries of src (C order of shape) in the order of the
 * reversed shape, i.e. Fortran order of shape; applied with the reversed
 * shape it goes back. */
static void reverse_axes(const double *src, double *dst, const size_t *shape, size_t ndim,
                         size_t count)
{
    size_t stride[OTAD_ARRAY_MAX_DIMS], idx[OTAD_ARRAY_MAX_DIMS] = {0}, s = 1, at = 0;
    for (size_t k = 0; k < ndim; k++)
        stride[k] = s, s *= shape[k];
    for (size_t i = 0; i < count; i++) {
        dst[at] = src[i];
        for (size_t k = ndim; k-- > 0;) {
            at += stride[k];
            if (++idx[k] < shape[k])
                break;
            at -= stride[k] * shape[k];
            idx[k] = 0;
        }
    }
}

/* The file's entries in Fortran order when want_fortran, else C order. */
static int reorder(const npy_header *h, double **data, int want_fortran)
{
    if (h->ndim < 2 || h->fortran == want_fortran || h->count == 0)
        return OTAD_OK;
    double *other = malloc(h->count * sizeof *other);
    if (!other)
        return OTAD_ENOMEM;
    size_t shape[OTAD_ARRAY_MAX_DIMS];
    for (size_t k = 0; k < h->ndim; k++)
        shape[k] = h->fortran ? h->shape[h->ndim - 1 - k] : h->shape[k];
    reverse_axes(*data, other, shape, h->ndim, h->count);
    free(*data);
    *data = other;
    return OTAD_OK;
}

/* matrix: a 2-D array comes back in Fortran order (column-major). */
static int read_npy(const char *path, otad_array *out, int matrix, otad_error *err)
{
    FILE *f = NULL;
    npy_header h = {0};
    size_t size = 0;
    int rc = otadI_open_read(path, &f, err);
    if (rc != OTAD_OK)
        return rc;
    rc = file_size(f, path, &size, err);
    if (rc == OTAD_OK)
        rc = read_header(f, size, &h, path, err);
    double *data = rc == OTAD_OK ? malloc((h.count ? h.count : 1) * sizeof *data) : NULL;
    if (rc == OTAD_OK && !data)
        rc = otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zu entries", h.count);
    if (rc == OTAD_OK)
        rc = read_entries(f, &h, data, path, err);
    fclose(f);
    if (rc == OTAD_OK && reorder(&h, &data, matrix && h.ndim == 2) != OTAD_OK)
        rc = otadI_fail(err, OTAD_ENOMEM, path, "out of memory for %zu entries", h.count);
    if (rc != OTAD_OK) {
        free(data);
        return rc;
    }
    memset(out, 0, sizeof *out);
    out->data = data;
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, h.ndim * sizeof *h.shape);
    return OTAD_OK;
}

int otad_npy_read(const char *path, otad_array *out, otad_error *err)
{
    if (!out)
        return otadI_fail(err, OTAD_EINVAL, path, "nowhere to read into (out is NULL)");
    return read_npy(path, out, 0, err);
}

int otad_npy_read_matrix(const char *path, otad_value *out, otad_error *err)
{
    if (!out)
        return otadI_fail(err, OTAD_EINVAL, path, "nowhere to read into (out is NULL)");
    otad_array a;
    int rc = read_npy(path, &a, 1, err);
    if (rc != OTAD_OK)
        return rc;
    if (otad_array_size(&a) == 0) {
        otad_array_free(&a);
        return otadI_fail(err, OTAD_EFORMAT, path, "the array has no entries, a matrix needs one");
    }
    *out = a.ndim == 2 ? (otad_value){a.data, a.shape[0], a.shape[1]} : otad_array_columns(&a);
    return OTAD_OK;
}

/* ---- writing -------------------------------------------------------------- */

/* The preamble and dict, padded so the entries start at a multiple of 64
 * bytes, as NumPy writes them. */
static size_t make_header(char *buf, size_t cap, const size_t *shape, size_t ndim,
                          int fortran)
{
    char dims[OTAD_ARRAY_MAX_DIMS * 24] = "";
    size_t n = 0;
    for (size_t k = 0; k < ndim; k++)
        n += (size_t)snprintf(dims + n, sizeof dims - n, k ? ", %zu" : "%zu", shape[k]);
    if (ndim == 1)
        snprintf(dims + n, sizeof dims - n, ",");
    int len = snprintf(buf + 10, cap - 10, "{'descr': '<f8', 'fortran_order': %s, 'shape': (%s), }",
                       fortran ? "True" : "False", dims);
    size_t total = (10 + (size_t)len + 1 + 63) / 64 * 64;
    memset(buf + 10 + len, ' ', total - 10 - (size_t)len - 1);
    buf[total - 1] = '\n';
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (char)((total - 10) & 0xff);
    buf[9] = (char)((total - 10) >> 8);
    return total;
}

/* Little-endian doubles; a big-endian machine swaps block by block. */
static int write_entries(FILE *f, const double *data, size_t count)
{
    if (little_endian())
        return fwrite(data, sizeof *data, count, f) == count;
    unsigned char raw[BLOCK * 8];
    for (size_t done = 0; done < count; done += BLOCK) {
        size_t n = count - done < BLOCK ? count - done : BLOCK;
        memcpy(raw, data + done, n * 8);
        swap_bytes(raw, n, 8);
        if (fwrite(raw, 8, n, f) != n)
            return 0;
    }
    return 1;
}

static int write_npy(const char *path, const double *data, const size_t *shape, size_t ndim,
                     int fortran, otad_error *err)
{
    size_t count = 1;
    for (size_t k = 0; k < ndim; k++) {
        if (shape[k] && count > SIZE_MAX / 8 / shape[k])
            return otadI_fail(err, OTAD_EINVAL, path, "the shape is too large");
        count *= shape[k];
    }
    if (!data && count)
        return otadI_fail(err, OTAD_EINVAL, path, "no data (NULL)");
    char header[512 + OTAD_ARRAY_MAX_DIMS * 24];
    size_t len = make_header(header, sizeof header, shape, ndim, fortran);
    otadI_output o;
    int rc = otadI_output_open(&o, path, err);
    if (rc != OTAD_OK)
        return rc;
    if (fwrite(header, 1, len, o.f) != len || !write_entries(o.f, data, count))
        rc = otadI_fail(err, OTAD_EIO, path, "write error: %s", strerror(errno));
    return otadI_output_close(&o, rc, err);
}

int otad_npy_write(const char *path, const otad_array *a, otad_error *err)
{
    if (!a)
        return otadI_fail(err, OTAD_EINVAL, path, "no array (NULL)");
    if (a->ndim > OTAD_ARRAY_MAX_DIMS)
        return otadI_fail(err, OTAD_EINVAL, path, "%zu dimensions, at most %d", a->ndim,
                          OTAD_ARRAY_MAX_DIMS);
    return write_npy(path, a->data, a->shape, a->ndim, 0, err);
}

int otad_npy_write_matrix(const char *path, otad_value v, otad_error *err)
{
    if (!v.data || !v.rows || !v.cols)
        return otadI_fail(err, OTAD_EINVAL, path, "not a matrix: %zux%zu, data %s", v.rows,
                          v.cols, v.data ? "given" : "NULL");
    size_t shape[2] = {v.rows, v.cols};
    return write_npy(path, v.data, shape, 2, 1, err);
}
