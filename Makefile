# Thin wrapper around CMake.  `make demo` and `make check` work as the first
# commands on a fresh Debian machine: scripts/deps.sh installs what is missing.
JOBS      ?= $(shell nproc)
BUILD     ?= build
CMAKE_GEN  = cmake -S . -B $(1) -DCMAKE_BUILD_TYPE=$(2) $(3) >/dev/null
CTEST      = ctest --test-dir $(1) --output-on-failure -j $(JOBS) $(2)

.PHONY: all build deps demo check test check-asan check-tsan stress bench install clean

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

# Plain run, then the same tests under ASan+UBSan and TSan (fork tests are
# excluded from TSan: it cannot follow a child that starts threads).
check: test check-asan check-tsan
	@echo "make check: plain, ASan+UBSan and TSan runs all passed"

check-asan: deps
	@$(call CMAKE_GEN,build-asan,Debug,-DMT_SANITIZE=address -DMT_ALLOC_FAILPOINTS=ON -DMT_TEST_SCALE=0.02 -DMT_TEST_TIMEOUT_MULTIPLIER=3 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-asan -j $(JOBS)
	$(call CTEST,build-asan,-LE slow)

check-tsan: deps
	@$(call CMAKE_GEN,build-tsan,Debug,-DMT_SANITIZE=thread -DMT_TEST_SCALE=0.02 -DMT_TEST_TIMEOUT_MULTIPLIER=3 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-tsan -j $(JOBS)
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(call CTEST,build-tsan,-LE 'fork|slow')

stress: deps
	@$(call CMAKE_GEN,build-stress,Release,-DMT_TEST_SCALE=10 -DMT_TEST_TIMEOUT_MULTIPLIER=20 -DMT_BUILD_EXAMPLES=OFF)
	cmake --build build-stress -j $(JOBS)
	$(call CTEST,build-stress,)

bench:
	@scripts/deps.sh bench
	@$(call CMAKE_GEN,build-release,Release,-DMT_BUILD_BENCH=ON -DMT_BUILD_TESTS=OFF)
	cmake --build build-release -j $(JOBS)
	scripts/bench.sh build-release $(BUILD)/bench

install: build
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX),)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-stress build-release
