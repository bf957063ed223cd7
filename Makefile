# The two commands of README.md: `make demo` and `make test`. Everything else
# is a building block of those or of .ci/run.
BUILD ?= build
PORT ?= 8080
DATA ?= .tessera-demo
JOBS ?= $(shell nproc)
# The test suite's build: every test runs under ASan+UBSan (see `test`).
TEST_BUILD ?= build-asan
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: setup build demo test unit asan fuzz bench format lint tidy tidy-deep clean

setup:
	@bash scripts/bootstrap.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Sets up, builds and runs every role of Tessera on the embedded SQLite store.
demo: build
	./$(BUILD)/tessera demo --port $(PORT) --data-dir $(DATA)

# Sets up, builds with AddressSanitizer and UndefinedBehaviorSanitizer, and runs every test:
# unit, conformance, integration, interop and browser, the servers they start included. One
# sanitized build serves instead of a plain one plus a sanitized one: the tests spend their time
# waiting on servers and browsers, not computing, and CI builds the tree once instead of twice.
# `make demo` and `make bench` use the optimised build in $(BUILD).
test: setup
	@cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON -DTESSERA_BENCH=OFF >/dev/null
	@cmake --build $(TEST_BUILD) -j $(JOBS)
	cd $(TEST_BUILD) && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# The unit tests only (same build as `make test`).
unit:
	@$(MAKE) --no-print-directory test CTEST_ARGS="-L unit"

# Kept for habit: the whole suite already runs under the sanitizers.
asan: test

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

# clang-tidy (.clang-tidy) over every source under src/ and examples/, with the test build's compile database; any
# finding fails (WarningsAsErrors).
# clang-tidy's static analyzer (clang-analyzer-*) in its shallow mode, as Xcode runs it on every
# build: fewer functions inlined into a path, which halves the time on files that include Asio
# (gateway.cpp 32 s -> 15 s, fga/check.cpp 28 s -> 15 s; json.cpp 5 s either way). CI's
# clang-tidy stage had grown to ~14 minutes, as long as the whole test run. `make tidy-deep` runs
# the default (deep) mode over the same files.
TIDY_ANALYZER_MODE ?= shallow
tidy: setup
	@test -f $(TEST_BUILD)/compile_commands.json || cmake -S . -B $(TEST_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTESSERA_SANITIZE=ON -DTESSERA_BENCH=OFF >/dev/null
	run-clang-tidy-14 -p $(TEST_BUILD) -quiet -j $(JOBS) -extra-arg=-Wno-unknown-warning-option \
	  -extra-arg=-Xclang -extra-arg=-analyzer-config -extra-arg=-Xclang -extra-arg=mode=$(TIDY_ANALYZER_MODE) \
	  '$(CURDIR)/(src|examples)/'

tidy-deep:
	@$(MAKE) --no-print-directory tidy TIDY_ANALYZER_MODE=deep

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-fuzz
