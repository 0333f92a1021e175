#!/bin/sh
# Runs the integration specs RUNS times while other BPF users share the
# machine, as they do on a real host (issue 8):
#   - another exporter with every example this machine can load, scraped in
#     a loop with curl;
#   - a second copy of the specs' BPF objects, built for a copy of
#     elx-test-target, loaded by a third exporter that is scraped in a loop,
#     with that copy of the target calling its uprobes in a loop.
# The specs must pass every time: they count only what belongs to the
# exporter under test. Prints one line per run and exits 1 if any failed.
#
#   sh tools/test-concurrent.sh [build dir]     (RUNS=3, SUITE=test-integration)
#
# Left out of the examples: llcstat, which needs hardware counters. The xdp
# example holds the root namespace's lo (an interface takes one XDP
# program): the specs attach theirs in network namespaces of their own.
set -eu

BUILD=${1:-build}
RUNS=${RUNS:-3}
SUITE=${SUITE:-test-integration}
EXAMPLES_PORT=${EXAMPLES_PORT:-19999}
COPY_PORT=${COPY_PORT:-19998}
BINARY=$BUILD/ebpf-lua-exporter

if [ "$(id -u)" != 0 ]; then
	echo "test-concurrent: needs root (BPF)" >&2
	exit 1
fi
for f in "$BINARY" "$BUILD/spec/elx-test-target" "$BUILD/bpf/vmlinux.h"; do
	[ -e "$f" ] || { echo "test-concurrent: $f is missing: run make build" >&2; exit 1; }
done
sh tools/kernel-fs.sh

WORK=$(mktemp -d /tmp/elx-concurrent.XXXXXX)
PIDS=""
cleanup() {
	for pid in $PIDS; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Starts an exporter in the background; waits until it serves.
start_exporter() { # <name> <config dir> <names> <port>
	"$BINARY" --config.dir="$2" --config.names="$3" --web.listen-address=127.0.0.1:"$4" \
		>"$WORK/$1.log" 2>&1 &
	PIDS="$PIDS $!"
	i=0
	until curl -sf -o /dev/null "http://127.0.0.1:$4/metrics"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$!" 2>/dev/null; then
			echo "test-concurrent: the $1 exporter did not start:" >&2
			cat "$WORK/$1.log" >&2
			exit 1
		fi
		sleep 0.1
	done
}

# Scrapes a port for as long as this script runs.
scrape_loop() { # <port>
	(while true; do curl -s "http://127.0.0.1:$1/metrics" >/dev/null; done) &
	PIDS="$PIDS $!"
}

# 1. Every example that loads here.
examples=$(ls "$BUILD/examples" | sed -n 's/\.yaml$//p' | grep -v -x llcstat | paste -sd, -)
start_exporter examples "$BUILD/examples" "$examples" "$EXAMPLES_PORT"
scrape_loop "$EXAMPLES_PORT"

# 2. The specs' objects again, for a target of their own: their uprobes are
# on $WORK/copy/elx-test-target, which the loop below runs, never on the
# build's target that the specs run.
mkdir -p "$WORK/copy"
cp "$BUILD/spec/elx-test-target" "$WORK/copy/"
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
copied=""
for src in spec/integration/bpf/*.bpf.c; do
	name=$(basename "$src" .bpf.c)
	case $name in bad_verifier | bad_extern | perf_event_bad) continue ;; esac # refused by design
	clang -g -O2 -target bpf -D__TARGET_ARCH_"$arch" -I"$BUILD/bpf" -Ibpf \
		-idirafter /usr/include/"$(gcc -print-multiarch)" \
		-DELX_TEST_TARGET="$WORK/copy/elx-test-target" -c "$src" -o "$WORK/copy/$name.bpf.o"
	if [ -f "spec/integration/bpf/$name.yaml" ]; then
		cp "spec/integration/bpf/$name.yaml" "$WORK/copy/"
		copied="$copied,$name"
	fi
done
cat >"$WORK/copy/cgroup_map_test.yaml" <<'EOF'
metrics:
  counters:
    - name: cgroup_map_hash_hits_total
      help: Calls of elx_test_hit from allowed cgroups
      labels:
        - { name: cgroup, size: 8, decoders: [{ name: uint }, { name: cgroup }] }
cgroup_id_map:
  name: allowed_cgroup_ids
  type: hash
  regexps: ['/elx-allowed-']
EOF
start_exporter copy "$WORK/copy" "cgroup_map_test${copied}" "$COPY_PORT"
scrape_loop "$COPY_PORT"
copy_pid=$(pgrep -f -- "--web.listen-address=127.0.0.1:$COPY_PORT" | head -n 1)
owners=$(for f in /proc/"$copy_pid"/fdinfo/*; do sed -n 's/^map_id:\t//p' "$f" 2>/dev/null; done |
	while read -r id; do bpftool map show id "$id" | sed -n "s/^$id: [a-z_]*  name elx_owner .*/$id/p"; done |
	paste -sd, -)
[ -n "$owners" ] || { echo "test-concurrent: the copy's objects have no elx_owner map" >&2; exit 1; }
(while true; do "$WORK/copy/elx-test-target" --owner "$owners" hit 2000 7 >/dev/null; sleep 0.1; done) &
PIDS="$PIDS $!"

echo "test-concurrent: examples ($examples) on :$EXAMPLES_PORT, the specs' objects" \
	"(cgroup_map_test$copied) on :$COPY_PORT, both scraped in loops; $RUNS runs of make $SUITE"
failed=0
for run in $(seq "$RUNS"); do
	start=$(date +%s)
	if ELX_BUILD="$BUILD" make --no-print-directory "$SUITE" BUILD="$BUILD" >"$WORK/run-$run.log" 2>&1; then
		result=passed
	else
		result=FAILED
		failed=$((failed + 1))
		cp "$WORK/run-$run.log" "/tmp/elx-concurrent-run-$run.log"
	fi
	summary=$(grep -E '^[0-9]+ successes? / ' "$WORK/run-$run.log" | paste -sd';' - || true)
	echo "run $run: $result in $(($(date +%s) - start)) s: ${summary:-no busted summary}"
	[ $result = passed ] || echo "  its output: /tmp/elx-concurrent-run-$run.log"
done
for name in examples copy; do
	# Both must have served throughout: a crash would be a failure too.
	if ! curl -sf -o /dev/null "http://127.0.0.1:$([ $name = examples ] && echo "$EXAMPLES_PORT" || echo "$COPY_PORT")/metrics"; then
		echo "the $name exporter stopped serving:" && tail -5 "$WORK/$name.log"
		failed=$((failed + 1))
	fi
done
hits=$(curl -s "http://127.0.0.1:$COPY_PORT/metrics" | sed -n 's/^ebpf_exporter_test_hits_total //p')
echo "test-concurrent: meanwhile the copy of the objects counted ${hits:-no} calls of its target"
[ $failed -eq 0 ]
