# tests/lib/tap.sh — print TAP (https://testanything.org) from bash tests, for
# `prove`.  Source it:  . "$(dirname "$0")/../lib/tap.sh"
#
#   plan N                     announce N tests (or call done_testing at the end)
#   ok DESC CMD [ARG...]       one test: passes when CMD exits 0
#   is GOT EXPECTED DESC       one test: passes when the two strings are equal
#   cmp_ok GOT OP WANT DESC    one test: integer comparison, OP is one of
#                              -eq -ne -lt -le -gt -ge
#   skip DESC REASON           one skipped test
#   diag MSG...                a comment on stderr (shown by prove without -v)
#   note MSG...                a comment on stdout (shown by prove -v)
#   bail_out MSG               stop the whole run
#   done_testing               print the plan if none was given, and exit with
#                              the number of failures (255 if the count is wrong)
#
# ok/is/cmp_ok always return 0, so that a failed check does not end a script
# running under `set -e`; the outcome is in TAP_LAST_OK (1 or 0).

TAP_PLANNED=
TAP_COUNT=0
TAP_FAILED=0
# shellcheck disable=SC2034 # TAP_LAST_OK is for the caller
TAP_LAST_OK=0

plan()
{
	TAP_PLANNED=$1
	echo "1..$1"
}

# shellcheck disable=SC2034 # TAP_LAST_OK is for the caller
_tap_result()
{
	local pass=$1 desc=$2
	TAP_COUNT=$((TAP_COUNT + 1))
	# A '#' in a description would start a directive.
	desc=${desc//#/\\#}
	if [ "$pass" = 1 ]; then
		echo "ok $TAP_COUNT - $desc"
		TAP_LAST_OK=1
	else
		echo "not ok $TAP_COUNT - $desc"
		TAP_FAILED=$((TAP_FAILED + 1))
		TAP_LAST_OK=0
		local caller
		caller=$(caller 1 2>/dev/null || true)
		diag "  Failed test '$desc'${caller:+ at ${caller#* }}"
	fi
	return 0
}

ok()
{
	local desc=$1
	shift
	if "$@"; then
		_tap_result 1 "$desc"
	else
		_tap_result 0 "$desc"
	fi
}

is()
{
	if [ "$1" = "$2" ]; then
		_tap_result 1 "$3"
	else
		_tap_result 0 "$3"
		diag "         got: '$1'"
		diag "    expected: '$2'"
	fi
}

_tap_compare()
{
	case $2 in
	-eq) [ "$1" -eq "$3" ] ;;
	-ne) [ "$1" -ne "$3" ] ;;
	-lt) [ "$1" -lt "$3" ] ;;
	-le) [ "$1" -le "$3" ] ;;
	-gt) [ "$1" -gt "$3" ] ;;
	-ge) [ "$1" -ge "$3" ] ;;
	*) return 2 ;;
	esac
}

cmp_ok()
{
	local got=$1 op=$2 want=$3 desc=$4
	if _tap_compare "$got" "$op" "$want" 2>/dev/null; then
		_tap_result 1 "$desc"
	else
		_tap_result 0 "$desc"
		diag "    '$got' $op '$want' is false"
	fi
}

skip()
{
	TAP_COUNT=$((TAP_COUNT + 1))
	echo "ok $TAP_COUNT - ${1//#/\\#} # SKIP ${2:-}"
}

diag()
{
	local line
	while IFS= read -r line; do
		echo "# $line" >&2
	done <<<"$*"
}

note()
{
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

bail_out()
{
	echo "Bail out! $*"
	exit 255
}

done_testing()
{
	if [ -z "$TAP_PLANNED" ]; then
		echo "1..$TAP_COUNT"
	elif [ "$TAP_PLANNED" != "$TAP_COUNT" ]; then
		diag "planned $TAP_PLANNED tests but ran $TAP_COUNT"
		exit 255
	fi
	[ "$TAP_FAILED" -gt 254 ] && TAP_FAILED=254
	exit "$TAP_FAILED"
}
