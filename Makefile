# The two commands of README.md: `make demo` and `make test`. Everything else
# is a building block of those or of .ci/run.
BUILD ?= build
PORT ?= 8080
DATA ?= .tessera-demo
JOBS ?= $(shell nproc)
UNIT_TARGETS = unit_core unit_jose unit_http unit_store unit_oauth unit_app unit_identity

.PHONY: setup build demo test unit asan fuzz bench format lint tidy clean

setup:
	@bash scripts/bootstrap.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Sets up, builds and runs every role of Tessera on the embedded SQLite store.
demo: build
	./$(BUILD)/tessera demo --port $(PORT) --data-dir $(DATA)

# Sets up, builds and runs every test: unit, integration and interop.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

# Unit tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: setup
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON -DTESSERA_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS) --target $(UNIT_TARGETS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS) -L unit

# libFuzzer targets (clang), each run briefly over its seed corpus.
FUZZ_SECONDS ?= 30
fuzz: setup
	@CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DTESSERA_FUZZ=ON -DTESSERA_TESTS=OFF -DTESSERA_BENCH=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# Benchmarks against OpenSSL and nginx on this machine; prints the figures.
bench: build
	bash bench/run.sh $(BUILD)

format:
	@git ls-files '*.cpp' '*.h' | xargs clang-format -i

lint:
	@git ls-files '*.cpp' '*.h' | xargs clang-format --dry-run -Werror

# clang-tidy (.clang-tidy) over every source under src/, with $(BUILD)'s compile database; any
# finding fails (WarningsAsErrors).
tidy: setup
	@test -f $(BUILD)/compile_commands.json || cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	run-clang-tidy-14 -p $(BUILD) -quiet -j $(JOBS) -extra-arg=-Wno-unknown-warning-option '$(CURDIR)/src/'

clean:
	rm -rf build build-asan build-fuzz
