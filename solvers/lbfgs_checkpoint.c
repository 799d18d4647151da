/* The L-BFGS driver's checkpoint file (its format: solvers.h, otad_lbfgs_params). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solvers_internal.h"

static const char magic[] = "otad-lbfgs-checkpoint 1";

void otadS_checkpoint_free(otadS_checkpoint *c)
{
    free(c->theta);
    free(c->losses);
    c->theta = c->losses = NULL;
}

static int write_numbers(FILE *f, const char *name, const double *x, size_t n)
{
    if (fprintf(f, "%s\n", name) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (fprintf(f, "%a\n", x[i]) < 0)
            return -1;
    return 0;
}

int otadS_checkpoint_write(const char *path, const otadS_checkpoint *c, otad_error *err)
{
    size_t len = strlen(path);
    char *temporary = malloc(len + sizeof ".tmp");
    if (!temporary)
        return otad_error_set(err, OTAD_ENOMEM, "lbfgs: out of memory for the checkpoint");
    memcpy(temporary, path, len);
    memcpy(temporary + len, ".tmp", sizeof ".tmp");
    FILE *f = fopen(temporary, "w");
    int failed = !f || fprintf(f, "%s\nn %zu\niterations %d\nevaluations %d\n", magic, c->n,
                               c->iterations, c->evaluations) < 0 ||
                 write_numbers(f, "theta", c->theta, c->n) != 0 ||
                 write_numbers(f, "losses", c->losses, (size_t)c->iterations + 1) != 0;
    int saved_errno = errno;
    if (f && fclose(f) != 0 && !failed)
        failed = 1, saved_errno = errno;
    if (!failed && rename(temporary, path) != 0)
        failed = 1, saved_errno = errno;
    int rc = OTAD_OK;
    if (failed) {
        rc = otad_error_set(err, OTAD_EIO, "lbfgs: cannot write the checkpoint %s: %s", path,
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

static int read_numbers(FILE *f, const char *name, double *x, size_t n)
{
    char word[32];
    if (fscanf(f, "%31s", word) != 1 || strcmp(word, name) != 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (fscanf(f, "%lf", &x[i]) != 1)
            return 0;
    return 1;
}

int otadS_checkpoint_read(const char *path, otadS_checkpoint *c, otad_error *err)
{
    *c = (otadS_checkpoint){0};
    FILE *f = fopen(path, "r");
    if (!f)
        return otad_error_set(err, OTAD_EIO, "lbfgs: cannot read the checkpoint %s: %s", path,
                              strerror(errno));
    char line[64];
    long n = 0, iterations = 0, evaluations = 0;
    int rc = OTAD_OK;
    if (!fgets(line, sizeof line, f) || strncmp(line, magic, sizeof magic - 1) != 0)
        rc = otad_error_set(err, OTAD_EFORMAT, "lbfgs: %s is not an otad checkpoint", path);
    else if (!read_count(f, "n", 1, 1L << 30, &n) ||
             !read_count(f, "iterations", 0, INT_MAX / 2, &iterations) ||
             !read_count(f, "evaluations", 0, INT_MAX / 2, &evaluations))
        rc = otad_error_set(err, OTAD_EFORMAT, "lbfgs: checkpoint %s: its counts are missing "
                            "or out of range", path);
    else if (!(c->theta = malloc((size_t)n * sizeof *c->theta)) ||
             !(c->losses = malloc(((size_t)iterations + 1) * sizeof *c->losses)))
        rc = otad_error_set(err, OTAD_ENOMEM, "lbfgs: out of memory for the checkpoint");
    else if (!read_numbers(f, "theta", c->theta, (size_t)n) ||
             !read_numbers(f, "losses", c->losses, (size_t)iterations + 1))
        rc = otad_error_set(err, OTAD_EFORMAT, "lbfgs: checkpoint %s is truncated or has a "
                            "malformed number", path);
    fclose(f);
    if (rc != OTAD_OK) {
        otadS_checkpoint_free(c);
        return rc;
    }
    c->n = (size_t)n, c->iterations = (int)iterations, c->evaluations = (int)evaluations;
    return OTAD_OK;
}
