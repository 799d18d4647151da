/* The library's version, from the macros its headers were built with. */
#include "ad.h"

#define OTAD_STRING(x) #x
#define OTAD_VERSION_STRING(major, minor, patch) \
    OTAD_STRING(major) "." OTAD_STRING(minor) "." OTAD_STRING(patch)

const char *otad_version(void)
{
    return OTAD_VERSION_STRING(OTAD_VERSION_MAJOR, OTAD_VERSION_MINOR, OTAD_VERSION_PATCH);
}
