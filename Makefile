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

# make install: where to, and a staging root (DESTDIR) for packagers.
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB = $(BUILD)/deb/ebpf-lua-exporter_$(VERSION)_$(shell dpkg --print-architecture).deb
IMAGE ?= ebpf-lua-exporter:$(VERSION)

.PHONY: all deps deps-run build bpf run test test-c test-lua test-integration test-asan test-concurrent asan-build fuzz fuzz-build fuzz-short bench lint clean \
	install deb image test-install test-deb test-manifests test-container

all: build

# What running needs (make run), and that plus the test tools (make test).
deps-run:
	@sh tools/install-deps.sh run

deps:
	@sh tools/install-deps.sh test

$(BUILD)/CMakeCache.txt:
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory

# Only what serving the examples needs: the binary and the examples' objects,
# without the test packages, the C tests or the specs' programs.
run: deps-run $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target ebpf-lua-exporter examples -- --no-print-directory
	@sh tools/kernel-fs.sh
	exec $(BUILD)/ebpf-lua-exporter --config.dir=$(BUILD)/examples \
		--config.names=$(EXAMPLES) --web.listen-address=$(LISTEN)

test: build
	@sh tools/kernel-fs.sh
	@$(MAKE) --no-print-directory lint test-c test-lua test-integration test-asan \
		test-install test-manifests test-deb fuzz-short

# The binary, Lua modules, examples, BPF headers, units, man page and docs
# under PREFIX (the build is configured for it: the units name the binary).
install: build
	@cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) -- --no-print-directory >/dev/null
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD)

# The Debian package, built with dpkg-buildpackage in $(BUILD)/deb.
deb: deps
	@sh tools/make-deb.sh $(BUILD)/deb

# The container image, $(IMAGE), from Containerfile and the package.
image: deb
	@sh tools/build-image.sh $(DEB) $(IMAGE)

C_SOURCES = core/*.c core/*.h core/bpf/*.c core/tests/*.c bench/*.c bpf/*.h examples/*.c \
	spec/integration/target/*.c spec/integration/bpf/*.bpf.c spec/integration/bpf/*.bpf.h \
	spec/integration/upstream/*.bpf.c fuzz/*.c fuzz/*.h

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

# The integration specs, RUNS times (3), while another exporter with every
# example and a second copy of the specs' objects run and are scraped: see
# tools/test-concurrent.sh. SUITE=test runs all of `make test` instead.
test-concurrent: build
	@sh tools/test-concurrent.sh $(BUILD)

# Deploying: make install into a staging root and the installed binary run
# from there; the .deb installed into a clean Debian 12 root (debootstrap)
# and purged; the manifests, dashboards (a real Prometheus scraping the
# exporter) and alerting rules (promtool); the image run as the DaemonSet.
test-install: build
	@$(BUSTED) --run=deploy spec/deploy/install_spec.lua

test-manifests: build
	@sh tools/kernel-fs.sh
	@$(BUSTED) --run=deploy spec/deploy/manifests_spec.lua spec/deploy/dashboards_spec.lua \
		spec/deploy/alerts_spec.lua

test-deb: deb
	@ELX_DEB=$(DEB) $(BUSTED) --run=deploy spec/deploy/deb_spec.lua

test-container: deb
	@sh tools/install-deps.sh container
	@sh tools/kernel-fs.sh
	@ELX_DEB=$(DEB) $(BUSTED) --run=deploy spec/deploy/container_spec.lua

bench: build
	@sh tools/kernel-fs.sh
	@ELX_BUILD=$(BUILD) luajit bench/run.lua $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
