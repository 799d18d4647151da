#!/bin/sh
# Install into a temporary prefix, then compile and run a separate program
# against it with `pkg-config --cflags --libs otad`, as a user would.
# Usage: sh tests/install_test.sh [build-dir]
set -eu
build=${1:-build}
prefix=$(mktemp -d /tmp/otad-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT

${MAKE:-make} -s install PREFIX="$prefix" BUILD="$build" >/dev/null

cat > "$prefix/user.c" <<'PROGRAM'
#include <math.h>
#include <stdio.h>
#include <otad/otad.h>

int main(void)
{
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
${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror "$prefix/user.c" -o "$prefix/user" \
    $(pkg-config --cflags --libs otad)
LD_LIBRARY_PATH="$prefix/lib" "$prefix/user"
echo "install test: otad installed under a prefix builds and runs with pkg-config"
