#!/bin/sh
# Compiles BPF programs for ebpf-lua-exporter: each <name>.bpf.c into
# <name>.bpf.o next to it (or into -o DIR), against this kernel's vmlinux.h
# and the exporter's headers (maps.bpf.h, bits.bpf.h, tracing.bpf.h).
#
#   bpf-cc.sh [-o DIR] [--btf FILE] DIR|FILE.bpf.c...
#   (installed: ebpf-lua-exporter-bpf-cc, with the same arguments)
#
# vmlinux.h is made once per kernel BTF with bpftool and kept in
# ${XDG_CACHE_HOME:-~/.cache}/ebpf-lua-exporter. `make bpf SRC=...` runs this.
set -eu

usage() {
	echo "usage: bpf-cc.sh [-o DIR] [--btf FILE] DIR|FILE.bpf.c..." >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
# The headers: the source tree's bpf/, or where `make install` put them
# (installed as bin/ebpf-lua-exporter-bpf-cc next to include/).
for headers in "$here/../bpf" "$here/../include/ebpf-lua-exporter"; do
	[ -f "$headers/maps.bpf.h" ] && break
done
[ -f "$headers/maps.bpf.h" ] || { echo "bpf-cc.sh: cannot find maps.bpf.h next to $here" >&2; exit 1; }

out="" btf=/sys/kernel/btf/vmlinux
while [ $# -gt 0 ]; do
	case "$1" in
	-o) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
	--btf) [ $# -ge 2 ] || usage; btf=$2; shift 2 ;;
	-h|--help) usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage

for tool in clang bpftool; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] ||
		{ echo "bpf-cc.sh: $tool is missing (Debian: apt install clang bpftool)" >&2; exit 1; }
done
[ -r "$btf" ] || { echo "bpf-cc.sh: no kernel BTF at $btf (use --btf FILE)" >&2; exit 1; }

case "$(uname -m)" in
x86_64) arch=x86 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac

# One vmlinux.h per BTF content: a kernel upgrade gets a new one.
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ebpf-lua-exporter/$(sha256sum "$btf" | cut -c1-16)
if [ ! -s "$cache/vmlinux.h" ]; then
	mkdir -p "$cache"
	PATH=$PATH:/usr/sbin bpftool btf dump file "$btf" format c > "$cache/vmlinux.h.tmp"
	mv "$cache/vmlinux.h.tmp" "$cache/vmlinux.h"
fi
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")

compile() {
	src=$1
	case "$src" in
	*.bpf.c) ;;
	*) echo "bpf-cc.sh: $src: not a .bpf.c file" >&2; exit 1 ;;
	esac
	dest=${out:-$(dirname "$src")}/$(basename "$src" .c).o
	# libbpf's usdt.bpf.h reaches <asm/errno.h>, which only the multiarch
	# include directory has; -target bpf does not search it.
	clang -g -O2 -target bpf -D__TARGET_ARCH_$arch -I"$cache" -I"$headers" \
		-idirafter "/usr/include/$multiarch" -c "$src" -o "$dest"
	echo "$dest"
}

[ -z "$out" ] || mkdir -p "$out"
for arg in "$@"; do
	if [ -d "$arg" ]; then
		found=0
		for src in "$arg"/*.bpf.c; do
			[ -e "$src" ] || continue
			compile "$src"
			found=1
		done
		[ $found = 1 ] || { echo "bpf-cc.sh: no .bpf.c file in $arg" >&2; exit 1; }
	else
		compile "$arg"
	fi
done
