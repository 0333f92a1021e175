# A thin layer over CMake: `make run` and `make test` work on a fresh machine.
BUILD ?= build
JOBS ?= $(shell nproc)
LISTEN ?= :9435
EXAMPLES ?= timers,softirqs,syscalls,biolatency
BUSTED = luajit /usr/bin/busted

ASAN_BUILD ?= build-asan

.PHONY: all deps build bpf run test test-c test-lua test-integration test-asan test-concurrent bench lint clean

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
	@$(MAKE) --no-print-directory lint test-c test-lua test-integration test-asan

C_SOURCES = core/*.c core/*.h core/bpf/*.bpf.c core/tests/*.c bench/*.c bpf/*.h examples/*.c \
	spec/integration/target/*.c spec/integration/bpf/*.bpf.c spec/integration/bpf/*.bpf.h

lint:
	@luacheck -q lua decoders spec tools bench
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
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DELX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) -- --no-print-directory >/dev/null
	@cd $(ASAN_BUILD) && ctest --output-on-failure
	@ELX_BUILD=$(ASAN_BUILD) $(BUSTED) --run=integration

# Your own programs: every <name>.bpf.c of SRC (a dir or files) into its
# <name>.bpf.o, against this kernel's vmlinux.h and our headers.
bpf:
	@test -n "$(SRC)" || (echo "usage: make bpf SRC=<dir or .bpf.c files>" && false)
	@sh tools/bpf-cc.sh $(SRC)

# The integration specs, RUNS times (3), while another exporter with every
# example and a second copy of the specs' objects run and are scraped: see
# tools/test-concurrent.sh. SUITE=test runs all of `make test` instead.
test-concurrent: build
	@sh tools/test-concurrent.sh $(BUILD)

bench: build
	@sh tools/kernel-fs.sh
	@ELX_BUILD=$(BUILD) luajit bench/run.lua $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
