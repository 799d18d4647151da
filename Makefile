# otad — GNU make.  `make` builds the libraries (libotad, and libotad_plot for
# pictures), tests, examples and benchmarks;
# `make check` runs the tests; `make demo` runs the examples; `make deps`
# installs missing dependencies (as root on Debian/Ubuntu), and check and
# demo run it first; see README.md.

# The version is the headers' (ad/ad.h); the shared library's soname carries
# the major number.
version_part = $(shell sed -n 's/^\#define OTAD_VERSION_$(1) \([0-9]*\).*$$/\1/p' ad/ad.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME := libotad.so.$(VERSION_MAJOR)
PLOT_SONAME := libotad_plot.so.$(VERSION_MAJOR)
PREFIX ?= /usr/local
BUILD ?= build
CC ?= cc
OPT ?= -O3 -g
# The machine that builds is the machine that runs (make ARCH= for any x86-64).
ARCH ?= -march=native

# -Wno-psabi: GCC notes that 32-byte vectors change the calling convention
# without AVX; ours only pass between static inline functions.
WARN := -std=c11 -Wall -Wextra -Werror -Wno-psabi
CXXWARN := -std=c++14 -Wall -Wextra -Werror
OPENMP := -fopenmp
BASE_CPPFLAGS := -I. -D_POSIX_C_SOURCE=200809L
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

LIB_SRC := $(wildcard ad/*.c ops/*.c solvers/*.c models/*.c io/*.c)
# Pictures (PNG in and out, drawing with cairo) are a library of their own.
PLOT_SRC := $(wildcard plot/*.c)
# C++ only where a C++ library is used (LEMON's network simplex), behind C headers.
LIB_CXX_SRC := $(wildcard solvers/*.cpp)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_SUPPORT := tests/support.c
EXAMPLE_SRC := $(wildcard examples/*.c)
BENCH_SRC := $(filter-out bench/protocol.c,$(wildcard bench/*.c))
HEADERS := otad.h ad/ad.h ops/ops.h solvers/solvers.h models/models.h io/io.h plot/plot.h

# Examples in the order `make demo` runs them.
DEMO := first_gradient first_model custom_op custom_kernel custom_iteration displacement unbalanced gradient_modes barycoords barycoords_color metric_learning color_metric mke_ellipses mke_generator minibatch exact_vs_entropic

LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(LIB_CXX_SRC:%.cpp=$(BUILD)/obj/%.o)
PLOT_OBJ := $(PLOT_SRC:%.c=$(BUILD)/obj/%.o)
SAN_OBJ := $(LIB_SRC:%.c=$(BUILD)/san/obj/%.o) $(LIB_CXX_SRC:%.cpp=$(BUILD)/san/obj/%.o)
SAN_PLOT_OBJ := $(PLOT_SRC:%.c=$(BUILD)/san/obj/%.o)
TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
SAN_TESTS := $(TEST_SRC:tests/%.c=$(BUILD)/san/tests/%)
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all lib deps check run-check check-sanitize check-faults fuzz demo run-demo bench \
    doc install clean
.DELETE_ON_ERROR:

all: lib $(TESTS) $(EXAMPLES) $(BENCHES)
lib: $(BUILD)/libotad.a $(BUILD)/libotad.so $(BUILD)/libotad_plot.a $(BUILD)/libotad_plot.so

# Dependency flags come from scripts/configure.sh, which says what is
# missing and how to install it; `make deps` installs it.  check and demo
# install first, then build in a second make that reads the flags (so the
# flags are not read when they, deps and clean are the only goals).
NO_CONFIG_GOALS := clean deps check demo doc
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out $(NO_CONFIG_GOALS),$(MAKECMDGOALS)),)
SKIP_CONFIG := 1
endif
endif
ifndef SKIP_CONFIG
include $(BUILD)/config.mk
endif
$(BUILD)/config.mk: scripts/configure.sh
	@mkdir -p $(@D)
	sh scripts/configure.sh > $@.tmp && mv $@.tmp $@

deps:
	sh scripts/configure.sh --install > /dev/null

check: deps
	@$(MAKE) --no-print-directory run-check

demo: deps
	@$(MAKE) --no-print-directory run-demo

CFLAGS_ALL = $(WARN) $(OPENMP) $(OPT) $(ARCH) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) $(CFLAGS)

# The triangular sweeps, the heat kernel's gradient and the Gibbs kernel's
# scaling pairs are chains of multiply-adds: let the compiler fuse them, as
# ISO C mode does not.
CONTRACTED := ops/cholesky.c ops/kernel_heat.c ops/kernel_gibbs.c ops/kernel_online.c
$(CONTRACTED:%.c=$(BUILD)/obj/%.o) $(CONTRACTED:%.c=$(BUILD)/san/obj/%.o) \
    $(CONTRACTED:%.c=$(BUILD)/fuzz/obj/%.o): FILE_CFLAGS := -ffp-contract=fast

$(BUILD)/obj/%.o: %.c $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(FILE_CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/san/obj/%.o: %.c $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(CC) $(WARN) $(OPENMP) -O1 -g $(ARCH) $(SANITIZE) $(FILE_CFLAGS) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: %.cpp $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(CXX) $(CXXWARN) $(OPT) $(ARCH) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) $(CXXFLAGS) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/san/obj/%.o: %.cpp $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(CXX) $(CXXWARN) -O1 -g $(ARCH) $(SANITIZE) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libotad.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libotad.so.$(VERSION): $(LIB_OBJ)
	$(CC) -shared $(OPENMP) -Wl,-soname,$(SONAME) -o $@ $^ $(DEPS_LIBS) $(LDFLAGS)

$(BUILD)/$(SONAME): $(BUILD)/libotad.so.$(VERSION)
	ln -sf $(<F) $@

$(BUILD)/libotad.so: $(BUILD)/$(SONAME)
	ln -sf $(<F) $@

$(BUILD)/san/libotad.a: $(SAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libotad_plot.a: $(PLOT_OBJ)
	@rm -f $@
	ar rcs $@ $^

# It finds libotad beside itself ($$ORIGIN), wherever the two are installed.
$(BUILD)/libotad_plot.so.$(VERSION): $(PLOT_OBJ) $(BUILD)/libotad.so
	$(CC) -shared -Wl,-soname,$(PLOT_SONAME) -Wl,-rpath,'$$ORIGIN' -o $@ $(PLOT_OBJ) \
	    -L$(BUILD) -lotad $(PLOT_LIBS) $(LDFLAGS)

$(BUILD)/$(PLOT_SONAME): $(BUILD)/libotad_plot.so.$(VERSION)
	ln -sf $(<F) $@

$(BUILD)/libotad_plot.so: $(BUILD)/$(PLOT_SONAME)
	ln -sf $(<F) $@

$(BUILD)/san/libotad_plot.a: $(SAN_PLOT_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Tests, examples and benchmarks link both libraries statically (a program
# gets only the objects it calls).
LINK_LIBS = $(PLOT_LIBS) $(DEPS_LIBS) $(LDFLAGS)

# ---- tests ---------------------------------------------------------------

$(BUILD)/tests/%: tests/%.c $(TEST_SUPPORT) tests/support.h $(BUILD)/libotad.a \
                  $(BUILD)/libotad_plot.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(CMOCKA_CFLAGS) $< $(TEST_SUPPORT) -o $@ $(BUILD)/libotad_plot.a \
	    $(BUILD)/libotad.a $(CMOCKA_LIBS) $(LINK_LIBS)

$(BUILD)/san/tests/%: tests/%.c $(TEST_SUPPORT) tests/support.h $(BUILD)/san/libotad.a \
                      $(BUILD)/san/libotad_plot.a
	@mkdir -p $(@D)
	$(CC) $(WARN) $(OPENMP) -O1 -g $(ARCH) $(SANITIZE) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) $(CMOCKA_CFLAGS) $< \
	    $(TEST_SUPPORT) -o $@ $(BUILD)/san/libotad_plot.a $(BUILD)/san/libotad.a $(CMOCKA_LIBS) \
	    $(LINK_LIBS)

# The grid kernel splits its products between OpenMP's threads only with
# OpenBLAS's OpenMP build: its test runs again against that build where it
# is installed (.ci/run installs it).
OPENMP_BLAS := /usr/lib/x86_64-linux-gnu/openblas-openmp

run-check: $(TESTS) $(EXAMPLES) lib
	@set -e; for t in $(TESTS); do echo "== $$t"; $$t; done
	@set -e; if [ -e $(OPENMP_BLAS)/libopenblas.so.0 ]; then \
	    echo "== $(BUILD)/tests/test_kernel_grid, OpenBLAS's OpenMP build, 2 threads"; \
	    LD_LIBRARY_PATH=$(OPENMP_BLAS) OMP_NUM_THREADS=2 $(BUILD)/tests/test_kernel_grid; fi
	$(BUILD)/examples/custom_op
	MAKE="$(MAKE)" CC="$(CC)" sh tests/install_test.sh $(BUILD)
	@echo "make check: all tests passed"

# fontconfig's process-long cache is not a leak of ours (tests/lsan.supp).
LSAN_OPTIONS := suppressions=$(CURDIR)/tests/lsan.supp
check-sanitize: $(SAN_TESTS)
	@set -e; for t in $(SAN_TESTS); do echo "== $$t"; \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 LSAN_OPTIONS=$(LSAN_OPTIONS) \
	    UBSAN_OPTIONS=print_stacktrace=1 $$t; done
	@echo "make check-sanitize: all tests passed under ASan/UBSan"

# Allocation failure in every allocator (tests/faults/): the library's own
# malloc, calloc, realloc and C++ operator new reach the counters through
# --wrap, CHOLMOD's through SuiteSparse_config, a tape's through its options.
FAULT_WRAP := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=_Znwm,--wrap=_Znam
FAULT_SRC := tests/faults/check_faults.c tests/faults/inject.c
$(BUILD)/san/faults/inject_new.o: tests/faults/inject_new.cpp tests/faults/inject.h $(BUILD)/config.mk
	@mkdir -p $(@D)
	$(CXX) $(CXXWARN) -O1 -g $(SANITIZE) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) -c $< -o $@

$(BUILD)/san/faults/check_faults: $(FAULT_SRC) tests/faults/inject.h $(TEST_SUPPORT) tests/support.h \
                                  $(BUILD)/san/faults/inject_new.o $(BUILD)/san/libotad.a \
                                  $(BUILD)/san/libotad_plot.a
	$(CC) $(WARN) $(OPENMP) -O1 -g $(ARCH) $(SANITIZE) $(BASE_CPPFLAGS) $(DEPS_CFLAGS) $(CMOCKA_CFLAGS) \
	    $(FAULT_SRC) $(TEST_SUPPORT) $(BUILD)/san/faults/inject_new.o -o $@ $(FAULT_WRAP) \
	    $(BUILD)/san/libotad_plot.a $(BUILD)/san/libotad.a $(CMOCKA_LIBS) $(LINK_LIBS) \
	    -lsuitesparseconfig

check-faults: $(BUILD)/san/faults/check_faults
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=$(LSAN_OPTIONS) UBSAN_OPTIONS=print_stacktrace=1 $<
	@echo "make check-faults: every allocation failure gave a clean error"

# ---- fuzzing ---------------------------------------------------------------

# `make fuzz` runs the libFuzzer targets of tests/fuzz/ (the readers of
# untrusted input) for FUZZ_SECONDS each, on a copy of each seed corpus in
# $(BUILD)/fuzz/corpus/ (kept, so later runs start from what earlier ones
# found), and fails if one crashes; crash inputs go to $(BUILD)/fuzz/artifacts/.
# libFuzzer comes with clang, so the library is built again by clang with the
# sanitizers and coverage instrumentation.  OpenMP stays on: ops/cholesky.c
# calls the OpenMP runtime, and clang's is libomp (libomp-dev on Debian).
# -Wno-pass-failed: instrumented, the `omp simd` loops are not vectorised,
# which clang reports as a warning.
FUZZ_CC ?= clang
FUZZ_CXX ?= clang++
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS = $(WARN) -Wno-pass-failed $(OPENMP) -O1 -g $(ARCH) $(FUZZ_SAN) \
    -fsanitize=fuzzer-no-link $(BASE_CPPFLAGS) $(DEPS_CFLAGS)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
FUZZ_OBJ := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o) $(LIB_CXX_SRC:%.cpp=$(BUILD)/fuzz/obj/%.o) \
    $(PLOT_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
# The longest input per target: room for every seed and for a graph of
# 4096 edges with scales (tests/fuzz/fuzz_graph.c).
FUZZ_MAX_LEN_npy := 4096
FUZZ_MAX_LEN_png := 4096
FUZZ_MAX_LEN_graph := 20483
# One thread per fuzzer (OMP_NUM_THREADS=1 below): runs are repeatable and
# take one core.
FUZZ_OPTIONS = -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=2048 \
    -timeout=10

$(BUILD)/fuzz/obj/%.o: %.c $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FILE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.cpp $(BUILD)/config.mk Makefile
	@mkdir -p $(@D)
	$(FUZZ_CXX) $(CXXWARN) -O1 -g $(ARCH) $(FUZZ_SAN) -fsanitize=fuzzer-no-link $(BASE_CPPFLAGS) \
	    $(DEPS_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/libotad.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

# Linked by clang++: the C++ solver's UBSan checks need its C++ runtime.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(BUILD)/fuzz/libotad.a
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@.o
	$(FUZZ_CXX) $(OPENMP) $(FUZZ_SAN) -fsanitize=fuzzer $@.o -o $@ $(BUILD)/fuzz/libotad.a \
	    $(LINK_LIBS)

# Each run's output goes to $(BUILD)/fuzz/<name>.log, its end shown on a
# crash; the summary takes the executions from libFuzzer's final statistics.
fuzz: $(FUZZ_TARGETS)
	@failed=; \
	for spec in $(foreach t,$(FUZZ_NAMES),$(t):$(FUZZ_MAX_LEN_$(t))); do \
	    t=$${spec%%:*}; corpus=$(BUILD)/fuzz/corpus/$$t; log=$(BUILD)/fuzz/$$t.log; \
	    mkdir -p $$corpus $(BUILD)/fuzz/artifacts/$$t; cp tests/fuzz/corpus/$$t/* $$corpus/; \
	    echo "== fuzz_$$t: $(FUZZ_SECONDS) s"; \
	    OMP_NUM_THREADS=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/fuzz/fuzz_$$t $$corpus \
	        $(FUZZ_OPTIONS) -max_len=$${spec#*:} -artifact_prefix=$(BUILD)/fuzz/artifacts/$$t/ \
	        > $$log 2>&1 || { tail -n 60 $$log; failed="$$failed fuzz_$$t"; }; \
	done; \
	for t in $(FUZZ_NAMES); do \
	    log=$(BUILD)/fuzz/$$t.log; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	    secs=$$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' $$log); \
	    echo "fuzz_$$t: $${runs:-?} executions in $${secs:-?} s"; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "make fuzz: crashed:$$failed (inputs in $(BUILD)/fuzz/artifacts/)"; exit 1; fi; \
	echo "make fuzz: no crash in $(FUZZ_SECONDS) s per target"

# ---- examples and benchmarks ----------------------------------------------

$(BUILD)/examples/%: examples/%.c $(BUILD)/libotad.a $(BUILD)/libotad_plot.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(BUILD)/libotad_plot.a $(BUILD)/libotad.a $(LINK_LIBS)

# Every benchmark follows the measurement protocol of bench/protocol.c.
$(BUILD)/bench/protocol.o: bench/protocol.c bench/protocol.h $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/bench/%: bench/%.c bench/protocol.h $(BUILD)/bench/protocol.o $(BUILD)/libotad.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $< -o $@ $(BUILD)/bench/protocol.o $(BUILD)/libotad_plot.a $(BUILD)/libotad.a \
	    $(LINK_LIBS)

# Examples write their pictures to $(BUILD)/demo.
run-demo: $(DEMO:%=$(BUILD)/examples/%)
	@mkdir -p $(BUILD)/demo
	@set -e; for e in $(DEMO); do echo "== $$e"; (cd $(BUILD)/demo && ../examples/$$e); done
	@echo "make demo: done; pictures go to $(BUILD)/demo/"

# The benchmarks run the reference programs of bench/ (PyTorch, POT, SciPy)
# beside ours when /usr/bin/python3 has their modules (else they say so).
# Their Markdown tables go to the terminal and to $(BUILD)/bench/report.md,
# their progress to the terminal only.
bench: SHELL := /bin/bash
bench: $(BENCHES)
	@set -e -o pipefail; : > $(BUILD)/bench/report.md; for b in $(BENCHES); do \
	    echo "== $$b"; $$b | tee -a $(BUILD)/bench/report.md; \
	    echo >> $(BUILD)/bench/report.md; done
	@echo "make bench: tables in $(BUILD)/bench/report.md"

# ---- reference -------------------------------------------------------------

# The API reference from the public headers (docs/Doxyfile); an undocumented
# public symbol or a malformed comment fails it.
doc:
	@command -v doxygen > /dev/null || \
	    { echo "make doc needs Doxygen: apt-get install -y doxygen" >&2; exit 1; }
	@mkdir -p $(BUILD)/doc
	OTAD_DOC_DIR=$(BUILD)/doc doxygen docs/Doxyfile
	@echo "make doc: $(BUILD)/doc/html/index.html"

# ---- install -------------------------------------------------------------

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/otad
	install -m 644 $(BUILD)/libotad.a $(BUILD)/libotad_plot.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libotad.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libotad_plot.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libotad.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libotad.so
	ln -sf libotad_plot.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(PLOT_SONAME)
	ln -sf $(PLOT_SONAME) $(DESTDIR)$(PREFIX)/lib/libotad_plot.so
	for h in $(HEADERS); do install -D -m 644 $$h $(DESTDIR)$(PREFIX)/include/otad/$$h; done
	for pc in otad otad-static otad-plot; do \
	    sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' $$pc.pc.in \
	        > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; done

clean:
	rm -rf $(BUILD)

-include $(LIB_OBJ:.o=.d) $(PLOT_OBJ:.o=.d) $(SAN_OBJ:.o=.d) $(SAN_PLOT_OBJ:.o=.d) $(FUZZ_OBJ:.o=.d)
