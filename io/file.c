/* Messages and files shared by the readers and writers. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_internal.h"

int otadI_fail(otad_error *err, int code, const char *path, const char *fmt, ...)
{
    if (!err)
        return code;
    int n = path ? snprintf(err->message, sizeof err->message, "%s: ", path) : 0;
    if (n < 0 || (size_t)n >= sizeof err->message)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

int otadI_open_read(const char *path, FILE **f, otad_error *err)
{
    if (!path)
        return otadI_fail(err, OTAD_EINVAL, NULL, "no file name (path is NULL)");
    *f = fopen(path, "rb");
    if (!*f)
        return otadI_fail(err, OTAD_EIO, path, "cannot open: %s", strerror(errno));
    return OTAD_OK;
}

/* open(2) rather than mkstemp: the file gets the mode the umask gives a new
 * file, as fopen would, not 0600.  O_EXCL makes the name ours. */
int otadI_output_open(otadI_output *o, const char *path, otad_error *err)
{
    *o = (otadI_output){NULL, NULL, path};
    if (!path)
        return otadI_fail(err, OTAD_EINVAL, NULL, "no file name (path is NULL)");
    size_t cap = strlen(path) + 40;
    o->tmp = malloc(cap);
    if (!o->tmp)
        return otadI_fail(err, OTAD_ENOMEM, path, "out of memory");
    int fd = -1;
    for (unsigned k = 0; fd < 0 && k < 100; k++) {
        snprintf(o->tmp, cap, "%s.%ld-%u.tmp", path, (long)getpid(), k);
        fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd >= 0 && !(o->f = fdopen(fd, "wb"))) {
        int e = errno;
        close(fd);
        remove(o->tmp);
        errno = e;
    }
    if (!o->f) {
        int e = errno;
        free(o->tmp);
        o->tmp = NULL;
        return otadI_fail(err, OTAD_EIO, path, "cannot create: %s", strerror(e));
    }
    return OTAD_OK;
}

int otadI_output_close(otadI_output *o, int rc, otad_error *err)
{
    if (!o->f)
        return rc;
    if (rc == OTAD_OK && ferror(o->f))
        rc = otadI_fail(err, OTAD_EIO, o->path, "write error");
    if (fclose(o->f) != 0 && rc == OTAD_OK)
        rc = otadI_fail(err, OTAD_EIO, o->path, "cannot write: %s", strerror(errno));
    if (rc == OTAD_OK && rename(o->tmp, o->path) != 0)
        rc = otadI_fail(err, OTAD_EIO, o->path, "cannot replace: %s", strerror(errno));
    if (rc != OTAD_OK)
        remove(o->tmp);
    free(o->tmp);
    *o = (otadI_output){NULL, NULL, o->path};
    return rc;
}
