#!/bin/sh
# Makes a clean, minimal Debian 12 root in DIR with debootstrap, once: later
# runs find DIR ready and return at once. The packages come from the mirror
# apt uses on this machine (tools/debian-mirror.sh). The deb and container
# tests start from this root; they never change it (they copy or import it).
#
#   tools/debian-root.sh DIR
set -eu

root=${1:?usage: debian-root.sh DIR}
suite=bookworm
here=$(cd "$(dirname "$0")" && pwd)

[ -f "$root/.elx-ready" ] && exit 0
mkdir -p "$(dirname "$root")"
# One debootstrap at a time per root: make test and make test-container may
# run side by side on a fresh build directory.
exec 9>"$root.lock"
flock 9
[ -f "$root/.elx-ready" ] && exit 0

mirror=$("$here/debian-mirror.sh" "$suite")
rm -rf "$root"
log="$root.log"
echo "debian-root: debootstrap $suite (minbase) from $mirror into $root"
if ! debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$log" 2>&1; then
	tail -n 20 "$log" >&2
	echo "debian-root: debootstrap failed, see $log" >&2
	exit 1
fi
# The security and updates suites too, where apt here has them: a package
# built on this machine may need the library versions it was linked against.
for extra in "$suite-security" "$suite-updates"; do
	uri=$("$here/debian-mirror.sh" "$extra" 2>/dev/null) || continue
	echo "deb $uri $extra main" >>"$root/etc/apt/sources.list"
done
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
touch "$root/.elx-ready"
