#!/bin/sh
# Installs the Debian packages the build and the tests need, only those missing.
# Silent when everything is present, so `make run` stays quiet on a ready machine.
#
#   tools/install-deps.sh run         building and running (`make run`)
#   tools/install-deps.sh [test]      that, and the tests (`make test`)
#   tools/install-deps.sh container   podman, runc and getcap, for `make test-container`
#   tools/install-deps.sh --list GROUP   print a group's packages, install nothing
set -eu

# Building and running the exporter (the man page is made at build time).
BUILD_RUN="
build-essential cmake pkg-config help2man
clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
luajit libluajit-5.1-dev lua-yaml
libuv1-dev libhttp-parser-dev libpcre2-dev libcap-dev libsystemd-dev
protobuf-c-compiler libprotobuf-c-dev libcurl4-openssl-dev systemtap-sdt-dev
libssl-dev libcrypt-dev
linux-libc-dev hwdata netbase
"
# The tests: specs, lint, JSON (Prometheus's API, the dashboards), a real
# Prometheus, curl, bpftrace (the baseline of the bench's kernel-side cost);
# the rock, the Debian package (debhelper) and the clean root it is installed
# into (debootstrap); certificates (openssl) and bcrypt hashes (htpasswd) for
# the web config's specs.
TEST="
lua-busted lua-check lua-cjson luarocks prometheus curl iproute2 python3.11 bpftrace
debhelper debootstrap libclang-rt-dev openssl apache2-utils
"
CONTAINER="podman runc libcap2-bin"

list=0
if [ "${1:-}" = --list ]; then
	list=1
	shift
fi
case "${1:-test}" in
run) PACKAGES=$BUILD_RUN ;;
test) PACKAGES="$BUILD_RUN $TEST" ;;
container) PACKAGES=$CONTAINER ;;
*) echo "usage: install-deps.sh [--list] [run|test|container]" >&2; exit 2 ;;
esac
if [ $list = 1 ]; then
	echo $PACKAGES
	exit 0
fi

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
