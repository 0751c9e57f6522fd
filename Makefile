# Thin wrapper around CMake.  `make demo` and `make check` work as the first
# commands on a fresh Debian machine: scripts/deps.sh installs what is missing.
JOBS      ?= $(shell nproc)
BUILD     ?= build
# Warnings are errors only in the project's own check builds (MT_WERROR is
# OFF by default in CMake, so a user's newer compiler never breaks a build).
WERROR    ?= OFF
CMAKE_GEN  = cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) -DMT_WERROR=$(WERROR) $(3) >/dev/null
CTEST      = ctest --test-dir $(1) --output-on-failure -j $(JOBS) $(2)

.PHONY: all build deps demo check test check-boundary check-debug check-release check-clang \
        check-asan check-tsan check-bench stress bench install clean

all: build

deps:
	@scripts/deps.sh check

build: deps
	@$(call CMAKE_GEN,$(BUILD),RelWithDebInfo,)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	scripts/demo.sh $(BUILD)

test: build
	$(call CTEST,$(BUILD),)

# make check: the platform boundary, then four compilers/optimisation levels
# with warnings as errors, then the sanitizers.
#   gcc RelWithDebInfo  build + all tests (with the symbol and install tests)
#   gcc Release (-O3)   build + all tests (optimiser-dependent races/warnings)
#   gcc Debug           build only: the ASan and TSan runs below are Debug builds
#                       that run the tests already
#   clang RelWithDebInfo build only: it is there for clang's warnings
#   ASan+UBSan, TSan    Debug, small stress sizes (TSan: fork tests in a second
#                       run with die_after_fork=0, two left out)
#   bench QUICK=1       every benchmark once at 1/100 of its sizes: each run
#                       validated, every row with the harness fields (a broken
#                       benchmark never lands); its figures are not measurements
check check-boundary check-debug check-release check-clang check-asan check-tsan check-bench: WERROR = ON
check: check-boundary test check-release check-debug check-clang check-asan check-tsan check-bench
	@echo "make check: boundary, gcc RelWithDebInfo/Release/Debug, clang, ASan+UBSan, TSan and bench QUICK=1 all passed"

check-boundary:
	scripts/check-boundary.sh

check-release: deps
	@$(call CMAKE_GEN,build-gcc-release,Release,)
	cmake --build build-gcc-release -j $(JOBS)
	$(call CTEST,build-gcc-release,)

check-debug: deps
	@$(call CMAKE_GEN,build-gcc-debug,Debug,)
	cmake --build build-gcc-debug -j $(JOBS)

check-clang: deps
	@$(call CMAKE_GEN,build-clang,RelWithDebInfo,-DCMAKE_C_COMPILER=clang)
	cmake --build build-clang -j $(JOBS)

check-asan: deps
	@$(call CMAKE_GEN,build-asan,Debug,-DMT_SANITIZE=address -DMT_ALLOC_FAILPOINTS=ON -DMT_TEST_SCALE=0.02 -DMT_TEST_TIMEOUT_MULTIPLIER=3 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-asan -j $(JOBS)
	$(call CTEST,build-asan,-LE slow)

check-tsan: deps
	@$(call CMAKE_GEN,build-tsan,Debug,-DMT_SANITIZE=thread -DMT_TEST_SCALE=0.02 -DMT_TEST_TIMEOUT_MULTIPLIER=3 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(call CTEST,build-tsan,-LE 'fork|slow')
	# The fork-labelled tests, with die_after_fork=0 (TSan's default kills a
	# process that forks with threads running).  Reports go to files, one per
	# process, because a report in a child (a pool worker: the pool replaces
	# it) need not fail its test: any file fails the target.  Out of this
	# run, each because TSan cannot follow what it tests (docs/design.md,
	# "TSan and fork"):
	#   core_fork_alloc    threads started in a child of a multi-threaded fork
	#                      ("dup thread with used id", thread leaks in the child)
	#   thread_fork        likewise (registry_after_fork's child starts one)
	# (process_exit_pool and process_exit_fork run: they caught glibc aborting
	# on a fork during exit, docs/processes.md "At exit".)
	# Costs 36-100 s of ctest on 2 cores (41 tests, 2026-11-30, load 8-11;
	# slowest mtsched_cli and pipe_conn_sock); the whole check-tsan took
	# 1 min 40 s at load ~8 with the build up to date.
	rm -rf build-tsan/fork-reports && mkdir -p build-tsan/fork-reports
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 die_after_fork=0 log_path=$(CURDIR)/build-tsan/fork-reports/tsan" \
	  $(call CTEST,build-tsan,-L fork -LE slow -E '^(core_fork_alloc|thread_fork)$$'); \
	  rc=$$?; if ls build-tsan/fork-reports/tsan.* >/dev/null 2>&1; then \
	  cat build-tsan/fork-reports/tsan.*; echo "check-tsan: TSan reports in fork tests (above)"; rc=1; fi; exit $$rc

stress: deps
	@$(call CMAKE_GEN,build-stress,Release,-DMT_TEST_SCALE=10 -DMT_TEST_TIMEOUT_MULTIPLIER=20 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-stress -j $(JOBS)
	$(call CTEST,build-stress,)

check-bench:
	$(MAKE) bench QUICK=1 WERROR=$(WERROR)

# bench: scripts/bench.sh fails the run when a program takes over 90 s or all
# of them over 840 s (MT_BENCH_BUDGET / MT_BENCH_TOTAL_BUDGET; QUICK only
# warns), docs/benchmarks.md "Time budget".  No examples in this tree: they
# are not benchmarks, and they were 60 of its 135 compile steps.
bench:
	@scripts/deps.sh bench
	@$(call CMAKE_GEN,build-release,Release,-DMT_BUILD_BENCH=ON -DMT_BUILD_TESTS=OFF -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-release -j $(JOBS)
	$(if $(QUICK),MT_BENCH_QUICK=1 ,)scripts/bench.sh build-release $(BUILD)/bench

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-stress build-release \
	  build-gcc-release build-gcc-debug build-clang
