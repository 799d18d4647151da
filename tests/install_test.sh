#!/bin/sh
# Install into a temporary prefix, then compile and run a separate program
# against it as the README says a user would: with `pkg-config --cflags
# --libs otad` and an rpath to the prefix's lib, and linked to libotad.a
# with `pkg-config --cflags --libs otad-static`; then one that draws, with
# `pkg-config --cflags --libs otad-plot`, and an example of examples/.
# Usage: sh tests/install_test.sh [build-dir]
set -eu
build=${1:-build}
prefix=$(mktemp -d /tmp/otad-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

${MAKE:-make} -s install PREFIX="$prefix" BUILD="$build" >/dev/null

cat > "$prefix/user.c" <<'PROGRAM'
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <otad/otad.h>

#define STRING(x) #x
#define VERSION(major, minor, patch) STRING(major) "." STRING(minor) "." STRING(patch)

int main(void)
{
    const char *headers = VERSION(OTAD_VERSION_MAJOR, OTAD_VERSION_MINOR, OTAD_VERSION_PATCH);
    if (strcmp(otad_version(), headers) != 0) {
        printf("library version %s, headers %s\n", otad_version(), headers);
        return 1;
    }
    double x[3] = {1, 2, 3}, g[3];
    otad_tape *tape;
    if (otad_tape_new(&tape, NULL) != OTAD_OK)
        return 1;
    otad_var p = otad_param(tape, 3, 1, x, g);
    otad_var y = otad_dot(tape, p, p);
    int rc = otad_backward(tape, y);
    double value = otad_scalar(tape, y);
    otad_tape_free(&tape);
    if (rc != OTAD_OK || value != 14 || g[0] != 2 || g[1] != 4 || g[2] != 6) {
        printf("installed otad gave %g, gradient %g %g %g\n", value, g[0], g[1], g[2]);
        return 1;
    }
    /* The exact solver is C++ inside: it must link from C all the same. */
    double a[2] = {0.5, 0.5}, cost[4] = {0, 1, 1, 0};
    otad_emd_result plan;
    if (otad_emd(2, 2, a, a, cost, NULL, &plan, NULL) != OTAD_OK || plan.cost != 0) {
        printf("installed otad's exact OT failed\n");
        return 1;
    }
    otad_emd_result_free(&plan);
    return 0;
}
PROGRAM

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
version=$(pkg-config --modversion otad)
echo "$version" | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+$' ||
    { echo "install test: version '$version'"; exit 1; }
soname=$(readelf -d "$prefix/lib/libotad.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libotad.so.${version%%.*}" ] || { echo "install test: soname '$soname'"; exit 1; }
${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror "$prefix/user.c" -o "$prefix/user" \
    $(pkg-config --cflags --libs otad) -Wl,-rpath,"$prefix/lib"
"$prefix/user"
# A program that only differentiates links no drawing or PNG code.
if readelf -d "$prefix/user" "$prefix/lib/libotad.so" | grep -Eq 'NEEDED.*(otad_plot|png|cairo)'
then
    echo "install test: libotad or a program linked to it needs the plotting libraries"; exit 1
fi

# Pictures come from libotad_plot (pkg-config otad-plot).
cat > "$prefix/picture.c" <<'PROGRAM'
#include <otad/plot/plot.h>

int main(int argc, char **argv)
{
    double values[6] = {0, 1, 2, 3, 4, 5};
    otad_image_opts opts;
    otad_image_opts_init(&opts);
    opts.colorbar = 1;
    return argc == 2 && otad_png_write_heatmap(argv[1], values, 3, 2, &opts, NULL) == OTAD_OK
               ? 0 : 1;
}
PROGRAM
${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror "$prefix/picture.c" -o "$prefix/picture" \
    $(pkg-config --cflags --libs otad-plot) -Wl,-rpath,"$prefix/lib"
"$prefix/picture" "$prefix/picture.png"
[ -s "$prefix/picture.png" ] || { echo "install test: no picture from libotad_plot"; exit 1; }

# An example of the repository, built against the prefix as the README says.
${CC:-cc} -std=c11 -Wall -Wextra -Werror examples/first_gradient.c -o "$prefix/first_gradient" \
    -I"$prefix/include/otad" $(pkg-config --cflags --libs otad-plot) -lm \
    -Wl,-rpath,"$prefix/lib"
"$prefix/first_gradient" > /dev/null
${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror "$prefix/user.c" -o "$prefix/user-static" \
    $(pkg-config --cflags --libs otad-static)
if readelf -d "$prefix/user-static" | grep -q 'libotad'; then
    echo "install test: the link to libotad.a needs libotad.so"; exit 1
fi
"$prefix/user-static"
echo "install test: otad $version installed under a prefix (soname $soname)" \
    "builds and runs with pkg-config, linked to libotad.so and to libotad.a;" \
    "libotad_plot draws"
