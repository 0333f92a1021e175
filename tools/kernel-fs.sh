#!/bin/sh
# Mounts the kernel filesystems BPF tracing needs when they are missing:
# tracefs for tracepoint attach, bpffs for pinning. Idempotent.
set -eu
mountpoint -q /sys/kernel/tracing 2>/dev/null || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null || true
mountpoint -q /sys/fs/bpf 2>/dev/null || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
