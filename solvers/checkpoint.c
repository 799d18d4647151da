/* The optimisers' checkpoint file (its format: solvers.h, otad_lbfgs_params). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers_internal.h"

static const char magic[] = "otad-checkpoint 1";

void otadS_checkpoint_free(otadS_checkpoint *c)
{
    free(c->theta);
    free(c->losses);
    free(c->state);
    c->theta = c->losses = c->state = NULL;
}

static int write_numbers(FILE *f, const char *name, const double *x, size_t n)
{
    if (fprintf(f, "%s %zu\n", name, n) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fprintf(f, "%a\n", x[i]) < 0)
            return -1;
    return 0;
}

int otadS_checkpoint_write(const char *who, const char *path, const otadS_checkpoint *c,
                           otad_error *err)
{
    size_t len = strlen(path);
    char *temporary = malloc(len + sizeof ".tmp");
    if (!temporary)
        return otad_error_set(err, OTAD_ENOMEM, "%s: out of memory for the checkpoint", who);
    memcpy(temporary, path, len);
    memcpy(temporary + len, ".tmp", sizeof ".tmp");
    FILE *f = fopen(temporary, "w");
    int failed = !f || fprintf(f, "%s\niterations %d\nevaluations %d\n", magic,
                               c->iterations, c->evaluations) < 0 ||
                 write_numbers(f, "theta", c->theta, c->n) != 0 ||
                 write_numbers(f, "losses", c->losses, c->n_losses) != 0 ||
                 write_numbers(f, "state", c->state, c->n_state) != 0;
    int saved_errno = errno;
    if (f && fclose(f) != 0 && !failed)
        failed = 1, saved_errno = errno;
    if (!failed && rename(temporary, path) != 0)
        failed = 1, saved_errno = errno;
    int rc = OTAD_OK;
    if (failed) {
        rc = otad_error_set(err, OTAD_EIO, "%s: cannot write the checkpoint %s: %s", who, path,
                            strerror(saved_errno));
        remove(temporary);
    }
    free(temporary);
    return rc;
}

/* "name value" on a line of its own, value in [lo, hi]. */
static int read_count(FILE *f, const char *name, long lo, long hi, long *value)
{
    char word[32];
    return fscanf(f, "%31s %ld", word, value) == 2 && strcmp(word, name) == 0 && *value >= lo &&
           *value <= hi;
}

/* "name N" and N numbers, into a malloc'd *x: 1, or 0 when malformed (or
 * out of memory: *oom set). */
static int read_numbers(FILE *f, const char *name, size_t most, double **x, size_t *n,
                        int *oom)
{
    long count;
    if (!read_count(f, name, 0, (long)most, &count))
        return 0;
    *n = (size_t)count;
    if (!(*x = malloc((*n ? *n : 1) * sizeof **x)))
        return !(*oom = 1);
    for (size_t i = 0; i < *n; i++)
        if (fscanf(f, "%lf", &(*x)[i]) != 1)
            return 0;
    return 1;
}

int otadS_checkpoint_read(const char *who, const char *path, otadS_checkpoint *c,
                          otad_error *err)
{
    *c = (otadS_checkpoint){0};
    FILE *f = fopen(path, "r");
    if (!f)
        return otad_error_set(err, OTAD_EIO, "%s: cannot read the checkpoint %s: %s", who, path,
                              strerror(errno));
    char line[64];
    long iterations = 0, evaluations = 0;
    int oom = 0, rc = OTAD_OK;
    if (!fgets(line, sizeof line, f) || strncmp(line, magic, sizeof magic - 1) != 0)
        rc = otad_error_set(err, OTAD_EFORMAT, "%s: %s is not an otad checkpoint", who, path);
    else if (!read_count(f, "iterations", 0, INT_MAX / 2, &iterations) ||
             !read_count(f, "evaluations", 0, INT_MAX / 2, &evaluations))
        rc = otad_error_set(err, OTAD_EFORMAT, "%s: the checkpoint %s: its counts are missing "
                            "or out of range", who, path);
    else if (!read_numbers(f, "theta", 1L << 30, &c->theta, &c->n, &oom) ||
             !read_numbers(f, "losses", (size_t)iterations + 1, &c->losses, &c->n_losses,
                           &oom) ||
             !read_numbers(f, "state", 4 * c->n, &c->state, &c->n_state, &oom))
        rc = oom ? otad_error_set(err, OTAD_ENOMEM, "%s: out of memory for the checkpoint", who)
                 : otad_error_set(err, OTAD_EFORMAT, "%s: the checkpoint %s is truncated or "
                                  "has a malformed number", who, path);
    fclose(f);
    if (rc != OTAD_OK) {
        otadS_checkpoint_free(c);
        return rc;
    }
    c->iterations = (int)iterations, c->evaluations = (int)evaluations;
    return OTAD_OK;
}
