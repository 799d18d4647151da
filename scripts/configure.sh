#!/bin/sh
# Find otad's dependencies and print the compiler and linker flags as make
# variables; a missing one stops it with the command that installs it.
# With --install (`make deps`), install the missing ones first (Debian or
# Ubuntu, as root).
# Usage: sh scripts/configure.sh [--install] > build/config.mk
set -u
install=no
[ "${1:-}" = "--install" ] && install=yes

packages=""
need() { packages="$packages $1"; }

command -v pkg-config >/dev/null 2>&1 || need pkg-config
have_pc() { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$1"; }
have_pc openblas || need libopenblas-dev
have_pc liblbfgs || need liblbfgs-dev
have_pc libpng || need libpng-dev
have_pc cairo || need libcairo2-dev
have_pc cmocka || need libcmocka-dev
have_pc lemon || need liblemon-dev
have_pc igraph || need libigraph-dev
command -v "${CXX:-g++}" >/dev/null 2>&1 || need g++
cholmod_header() {
    for dir in /usr/include/suitesparse /usr/include /usr/local/include/suitesparse; do
        [ -f "$dir/cholmod.h" ] && { echo "$dir"; return 0; }
    done
    return 1
}
cholmod_header >/dev/null || need libsuitesparse-dev

if [ -n "$packages" ]; then
    if [ "$install" = no ]; then
        echo "otad: missing dependencies; install them with \`make deps\` (as root) or:" >&2
        echo "    sudo apt-get install -y$packages" >&2
        exit 1
    elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "otad: installing$packages" >&2
        export DEBIAN_FRONTEND=noninteractive
        # A fresh machine may have no package lists yet: fetch them and retry.
        apt-get install -y --no-install-recommends $packages >&2 ||
            { apt-get update >&2 && apt-get install -y --no-install-recommends $packages >&2; } ||
            { echo "otad: could not install$packages" >&2; exit 1; }
    else
        echo "otad: missing dependencies; install them with:" >&2
        echo "    sudo apt-get install -y$packages" >&2
        exit 1
    fi
fi

echo "# written by scripts/configure.sh"
echo "DEPS_CFLAGS = $(pkg-config --cflags openblas liblbfgs lemon igraph cairo libpng)" \
    "-I$(cholmod_header)"
# libstdc++: the network simplex is C++ (solvers/emd_lemon.cpp).
echo "DEPS_LIBS = $(pkg-config --libs openblas liblbfgs lemon igraph) -lcholmod -lstdc++ -lm"
# libotad_plot's own: drawing and PNG files.
echo "PLOT_LIBS = $(pkg-config --libs cairo libpng) -lm"
echo "CMOCKA_CFLAGS = $(pkg-config --cflags cmocka)"
echo "CMOCKA_LIBS = $(pkg-config --libs cmocka)"
