#!/bin/sh
# Installs the Debian packages the build and the tests need, only those missing.
# Silent when everything is present, so `make run` stays quiet on a ready machine.
set -eu

PACKAGES="
build-essential cmake pkg-config
clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
luajit libluajit-5.1-dev lua-yaml lua-busted lua-check luarocks
libuv1-dev libhttp-parser-dev libpcre2-dev libcap-dev libsystemd-dev
linux-libc-dev prometheus curl iproute2 python3.11 hwdata netbase
libclang-rt-dev
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
# The prometheus package would start its own server where an init system runs;
# policy-rc.d keeps it from doing so: the tests start their own on loopback.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d "$log"' EXIT
apt-get install -y -qq --no-install-recommends $missing >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
