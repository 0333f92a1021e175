# A thin layer over CMake: `make run` and `make test` work on a fresh machine.
BUILD ?= build
JOBS ?= $(shell nproc)
LISTEN ?= :9435
EXAMPLES ?= timers,softirqs,syscalls,biolatency
BUSTED = luajit /usr/bin/busted

ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
# make fuzz: seconds each fuzzer runs.
FUZZ_SECONDS ?= 60

.PHONY: all deps build bpf run test test-c test-lua test-integration test-asan asan-build fuzz fuzz-build fuzz-short bench lint clean

all: build

deps:
	@sh tools/install-deps.sh

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

run: build
	@sh tools/kernel-fs.sh
	exec $(BUILD)/ebpf-lua-exporter --config.dir=$(BUILD)/examples \
		--config.names=$(EXAMPLES) --web.listen-address=$(LISTEN)

test: build
	@sh tools/kernel-fs.sh
	@$(MAKE) --no-print-directory lint test-c test-lua test-integration test-asan fuzz-short

C_SOURCES = core/*.c core/*.h core/tests/*.c bench/*.c bpf/*.h examples/*.bpf.c \
	spec/integration/target/*.c spec/integration/bpf/*.bpf.c fuzz/*.c

lint:
	@luacheck -q lua decoders spec tools bench fuzz
	@clang-format --dry-run --Werror $(C_SOURCES)
	@! grep -rnE '#only|describe\.only|it\.only' spec || (echo "focus tags in spec/" && false)

test-c:
	@cd $(BUILD) && ctest --output-on-failure

test-lua:
	@$(BUSTED) --run=unit

test-integration:
	@$(BUSTED) --run=integration

# The C tests and the integration specs again, with the core built with
# AddressSanitizer and UBSan: a leak or a memory error fails the run.
asan-build: deps
	@cmake -S . -B $(ASAN_BUILD) -DELX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory >/dev/null

test-asan: asan-build
	@cd $(ASAN_BUILD) && ctest --output-on-failure
	@ELX_BUILD=$(ASAN_BUILD) $(BUSTED) --run=integration

# The fuzzers of fuzz/: libFuzzer targets (clang -fsanitize=fuzzer, ASan,
# UBSan) for the HTTP server and --web.listen-address, and runs of the real
# binary over byte-flipped objects and mutated configs. `make fuzz` runs each
# for FUZZ_SECONDS against the ASan build; `make test` runs each a fixed
# number of times (fuzz-short).
fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DELX_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) -- --no-print-directory >/dev/null

fuzz: fuzz-build asan-build
	@sh tools/kernel-fs.sh
	@sh tools/fuzz.sh $(FUZZ_BUILD) $(ASAN_BUILD) $(FUZZ_SECONDS)

fuzz-short: fuzz-build asan-build
	@sh tools/fuzz.sh $(FUZZ_BUILD) $(ASAN_BUILD) runs

# Your own programs: every <name>.bpf.c of SRC (a dir or files) into its
# <name>.bpf.o, against this kernel's vmlinux.h and our headers.
bpf:
	@test -n "$(SRC)" || (echo "usage: make bpf SRC=<dir or .bpf.c files>" && false)
	@sh tools/bpf-cc.sh $(SRC)

bench: build
	@sh tools/kernel-fs.sh
	@ELX_BUILD=$(BUILD) luajit bench/run.lua $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
