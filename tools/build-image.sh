#!/bin/sh
# Builds the container image from Containerfile with the given .deb, in a
# build context of its own (the .deb alone), with podman (or $CONTAINER).
#
#   tools/build-image.sh DEB TAG [more build flags, e.g. --build-arg BASE=...]
set -eu

deb=${1:?usage: build-image.sh DEB TAG [flags]}
tag=${2:?usage: build-image.sh DEB TAG [flags]}
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
context=$(dirname "$deb")/image-context

rm -rf "$context"
mkdir -p "$context"
cp "$deb" "$context/"
# --format docker: an OCI image has no HEALTHCHECK.
exec ${CONTAINER:-podman} build --quiet --format docker -f "$top/Containerfile" -t "$tag" "$@" "$context"
