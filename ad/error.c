/* Error codes and the tape's sticky status. */
#include <stdio.h>
#include <string.h>

#include "tape_internal.h"

const char *otad_strerror(int code)
{
    switch (code) {
    case OTAD_OK: return "OTAD_OK: success";
    case OTAD_ENOMEM: return "OTAD_ENOMEM: out of memory";
    case OTAD_EINVAL: return "OTAD_EINVAL: invalid argument";
    case OTAD_ESHAPE: return "OTAD_ESHAPE: operand shapes disagree";
    case OTAD_EDOMAIN: return "OTAD_EDOMAIN: input outside the domain";
    case OTAD_ERANGE: return "OTAD_ERANGE: result not finite";
    case OTAD_ENOGRAD: return "OTAD_ENOGRAD: op has no gradient";
    case OTAD_ENOTPOSDEF: return "OTAD_ENOTPOSDEF: matrix not positive definite";
    case OTAD_ENOCONV: return "OTAD_ENOCONV: iteration did not converge";
    case OTAD_EIO: return "OTAD_EIO: input/output error";
    case OTAD_EFORMAT: return "OTAD_EFORMAT: malformed file";
    case OTAD_ECHECK: return "OTAD_ECHECK: gradient check failed";
    default: return "unknown otad error code";
    }
}

/* An out-of-memory error says so, whichever layer worded it. */
static void say_memory(int code, char *message, size_t size)
{
    if (code != OTAD_ENOMEM || strstr(message, "memory"))
        return;
    size_t used = strlen(message);
    snprintf(message + used, size - used, "%s", " (out of memory)");
}

int otadT_failv(otad_tape *t, int code, const char *prefix, const char *fmt, va_list ap)
{
    if (!t)
        return OTAD_EINVAL;
    if (t->status != OTAD_OK)
        return t->status;
    t->status = code < 0 ? code : OTAD_EINVAL;
    int n = prefix ? snprintf(t->message, sizeof t->message, "%s: ", prefix) : 0;
    if (n < 0 || (size_t)n >= sizeof t->message)
        n = 0;
    if (fmt)
        vsnprintf(t->message + n, sizeof t->message - (size_t)n, fmt, ap);
    else
        snprintf(t->message + n, sizeof t->message - (size_t)n, "%s", otad_strerror(t->status));
    say_memory(t->status, t->message, sizeof t->message);
    return t->status;
}

int otad_error_set(otad_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        if (fmt)
            vsnprintf(err->message, sizeof err->message, fmt, ap);
        else
            snprintf(err->message, sizeof err->message, "%s", otad_strerror(code));
        va_end(ap);
        say_memory(code, err->message, sizeof err->message);
    }
    return code;
}

int otad_tape_fail(otad_tape *tape, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = otadT_failv(tape, code, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int otad_fail(const otad_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c)
        otadT_failv(c->tape, code, c->op ? c->op->name : NULL, fmt, ap);
    va_end(ap);
    return code < 0 ? code : OTAD_EINVAL;
}

int otad_tape_status(const otad_tape *tape)
{
    return tape ? tape->status : OTAD_EINVAL;
}

const char *otad_tape_message(const otad_tape *tape)
{
    return tape ? tape->message : "no tape";
}
