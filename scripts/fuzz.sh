#!/bin/sh
# Run libFuzzer binaries for a while each: scripts/fuzz.sh SECONDS BIN...
# A binary build/fuzz/fuzz_NAME starts from a copy of fuzz/corpus/NAME/ (so
# the tree is never modified) and uses fuzz/NAME.dict when there is one.
# Crash inputs are kept under build/fuzz/artifacts/. Exits non-zero as soon
# as a binary finds a crash, a leak or a timeout.
set -eu

if [ $# -lt 2 ]; then
	echo "usage: $0 SECONDS BIN..." >&2
	exit 2
fi
seconds=$1
shift
case $seconds in
'' | *[!0-9]*)
	echo "fuzz: SECONDS must be a number, not '$seconds'" >&2
	exit 2
	;;
esac

top=$(cd "$(dirname "$0")/.." && pwd)
artifacts=$top/build/fuzz/artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/dvipa-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

for bin in "$@"; do
	base=$(basename "$bin")
	name=${base#fuzz_}
	corpus=$work/$name
	mkdir -p "$corpus"
	if [ -d "$top/fuzz/corpus/$name" ]; then
		cp -R "$top/fuzz/corpus/$name/." "$corpus/"
	fi
	dict=""
	if [ -f "$top/fuzz/$name.dict" ]; then
		dict="-dict=$top/fuzz/$name.dict"
	fi
	echo "fuzz: $base for ${seconds}s (corpus: $(ls "$corpus" | wc -l) files)"
	# -print_final_stats gives the exec count for the log.
	if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$artifacts/$base-" $dict "$corpus" \
		>"$work/$base.log" 2>&1; then
		tail -n 60 "$work/$base.log" >&2
		echo "fuzz: $base FAILED; inputs in $artifacts/" >&2
		exit 1
	fi
		grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+[[:space:]]+DONE)' \
		"$work/$base.log" || true

done
echo "fuzz: all passed"
