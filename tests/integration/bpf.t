#!/bin/sh
# The data plane's BPF programs on packet fixtures through BPF_PROG_TEST_RUN
# (tests/bpf/, built as build/bpf-tests; it prints TAP itself). Needs root.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
[ -x "$TOP/build/bpf-tests" ] || { echo "Bail out! build/bpf-tests is missing: make build/bpf-tests"; exit 1; }
exec "$TOP/build/bpf-tests"
