#!/bin/sh
# Builds the Debian package from this source tree with dpkg-buildpackage, in
# OUT (dpkg-buildpackage writes its results next to the source directory, so
# the source is staged in OUT first, without build directories). Prints the
# path of the .deb.
#
#   tools/make-deb.sh OUT
set -eu

out=${1:?usage: make-deb.sh OUT}
top=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
arch=$(dpkg --print-architecture)

mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/ebpf-lua-exporter-$version"
deb="$out/ebpf-lua-exporter_${version}_$arch.deb"

# The files of the checkout as they are now, committed or not; without git,
# everything but build output. As a tar stream of names and contents only,
# so that an unchanged tree is recognised and its .deb reused.
source_tar() {
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z --cached --others --exclude-standard |
			xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
			tar -cf - --no-recursion --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --null -T -)
	else
		tar -C "$top" -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
			--exclude=./build --exclude=./build-asan .
	fi
}
sum=$(source_tar | sha256sum | cut -d' ' -f1)
if [ -f "$deb" ] && [ "$(cat "$out/source.sha256" 2>/dev/null)" = "$sum" ]; then
	echo "$deb"
	exit 0
fi
rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes "$out/source.sha256"
mkdir -p "$src"
source_tar | tar -C "$src" -xf -

log="$out/dpkg-buildpackage.log"
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
	dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	echo "make-deb: dpkg-buildpackage failed, see $log" >&2
	exit 1
fi
rm -rf "$src"
echo "$sum" >"$out/source.sha256"
echo "$deb"
