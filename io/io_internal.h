/* Shared by the files of io/ and plot/: messages and files written whole. */
#ifndef OTAD_IO_INTERNAL_H
#define OTAD_IO_INTERNAL_H

#include <stdio.h>

#include "io.h"

/* ---- messages and files (file.c) ---- */

/* Writes "path: message" to err (if not NULL) and returns code. */
int otadI_fail(otad_error *err, int code, const char *path, const char *fmt, ...)
    OTAD_PRINTF(4, 5);

/* fopen for reading; OTAD_EIO (OTAD_EINVAL for a NULL path) with a message. */
int otadI_open_read(const char *path, FILE **f, otad_error *err);

/* A file being written: created beside the target under a temporary name and
 * renamed over it only when everything went well. */
typedef struct otadI_output {
    FILE *f;
    char *tmp;
    const char *path;
} otadI_output;

int otadI_output_open(otadI_output *o, const char *path, otad_error *err);

/* rc OK: close and rename (failures give OTAD_EIO); else close and remove.
 * Returns the final code. */
int otadI_output_close(otadI_output *o, int rc, otad_error *err);

#endif
