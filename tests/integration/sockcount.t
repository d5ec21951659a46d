#!/bin/bash
# The BPF connection counter (dataplane/sockcount.c) against a real kernel:
# two network namespaces that both have the address 10.9.0.1 (and
# fd00:9::1) on lo, with different numbers of TCP connections on it. The
# counter of each namespace must count its own connections only (the
# tracepoint fires for every namespace of the kernel), follow connections
# as they open and close, count those open before it loaded (the seed), and
# agree with sock_diag's count. Driven through build/tools/sockcount_probe.
#
# Run: prove -v tests/integration/sockcount.t   (as root)
set -eu

cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
P=$PWD/build/tools/sockcount_probe
make -s tools >&2

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi

A=dvscA$$
B=dvscB$$
TMP=$(mktemp -d)
V4=10.9.0.1
V6=fd00:9::1

cleanup() {
	set +e
	exec 4>&- 5>&- 6>&- 2>/dev/null
	for ns in $A $B; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	sleep 0.1
	for ns in $A $B; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

# poll TIMEOUT_S COMMAND...: retry every 50 ms until it succeeds.
poll() {
	local limit=$(($1 * 20)) i=0
	shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.05
	done
}

for ns in $A $B; do
	ip netns add $ns
	ip -n $ns link set lo up
	ip -n $ns addr add $V4/32 dev lo
	ip -n $ns addr add $V6/128 dev lo nodad
done

# A server on V4 and V6 (IPv6 wildcard: IPv4 clients on a dual-stack socket
# appear as ::ffff:10.9.0.1 and count as IPv4) in each namespace.
for ns in $A $B; do
	ip netns exec $ns socat TCP6-LISTEN:7000,fork,reuseaddr,ipv6only=0 SYSTEM:"sleep 60" \
		</dev/null >/dev/null 2>&1 &
done
poll 5 sh -c "ip netns exec $A ss -Hltn 'sport = :7000' | grep -q 7000"
poll 5 sh -c "ip netns exec $B ss -Hltn 'sport = :7000' | grep -q 7000"

# connect NS ADDR: one client connection that stays open; its pid in LAST.
connect() {
	local dst=$2
	case $dst in *:*) dst="[$dst]" ;; esac
	ip netns exec "$1" socat -u TCP:$dst:7000 SYSTEM:"sleep 60" </dev/null >/dev/null 2>&1 4>&- 5>&- 6>&- &
	LAST=$!
}

# probe NAME NS: a counter in NS reading commands from fd given by NAME.
probe() {
	mkfifo "$TMP/$1.in"
	# Without the other probes' fds: a probe ends when its own closes.
	ip netns exec "$2" "$P" <"$TMP/$1.in" >"$TMP/$1.out" 2>&1 4>&- 5>&- 6>&- &
}
# ask NAME FD WORD ADDR: the count the probe answers.
ask() {
	local before
	before=$(wc -l <"$TMP/$1.out")
	echo "$3 $4" >&"$2"
	poll 5 sh -c "[ \$(wc -l <'$TMP/$1.out') -gt $before ]" || { echo timeout; return; }
	tail -n 1 "$TMP/$1.out" | awk '{print $NF}'
}
# settles NAME FD ADDR WANT: the count reaches WANT within 5 s.
settles() {
	local i=0 got
	while :; do
		got=$(ask "$1" "$2" conns "$3")
		[ "$got" = "$4" ] && { echo "$got"; return; }
		i=$((i + 1))
		[ $i -ge 100 ] && { echo "$got"; return; }
		sleep 0.05
	done
}

# Counters loaded before any connection.
probe a $A
exec 4>"$TMP/a.in"
probe b $B
exec 5>"$TMP/b.in"
poll 10 grep -q ready "$TMP/a.out"
poll 10 grep -q ready "$TMP/b.out"
is "$(ask a 4 conns $V4)" 0 "A: no connection on $V4 at first"

# Three connections in A (each counts twice: client and server side are
# both local to V4), one in B.
connect $A $V4; A1=$LAST
connect $A $V4
connect $A $V4
connect $B $V4
is "$(settles a 4 $V4 6)" 6 "A: three IPv4 connections, both ends: 6"
is "$(settles b 5 $V4 2)" 2 "B: its one connection only: 2"
is "$(ask a 4 diag $V4)" 6 "A: sock_diag counts the same"
is "$(ask a 4 cached $V4)" 6 "A: a refreshed snapshot says the same"
is "$(ask a 4 cached $V6)" 0 "A: the snapshot has no IPv6 connection"
is "$(ask b 5 diag $V4)" 2 "B: sock_diag counts the same"

connect $A $V6; A6=$LAST
is "$(settles a 4 $V6 2)" 2 "A: one IPv6 connection: 2"
is "$(ask a 4 conns $V4)" 6 "A: IPv4 count unchanged by it"
is "$(ask a 4 cached $V6)" 2 "A: the snapshot follows the change"
is "$(ask b 5 conns $V6)" 0 "B: no IPv6 connection there"

# Closing: TIME_WAIT is not counted.
kill $A1 $A6
is "$(settles a 4 $V4 4)" 4 "A: a closed IPv4 connection leaves the count"
is "$(settles a 4 $V6 0)" 0 "A: the closed IPv6 connection leaves the count"
is "$(ask b 5 conns $V4)" 2 "B: unchanged by A's closes"

# A counter loaded now counts what is already open (the seed).
probe a2 $A
exec 6>"$TMP/a2.in"
poll 10 grep -q ready "$TMP/a2.out"
is "$(ask a2 6 conns $V4)" 4 "A: a counter loaded later finds the open connections"
is "$(ask a2 6 diag $V4)" 4 "A: as sock_diag does"

# Everything in B ends.
for p in $(ip netns pids $B); do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = sockcount_probe ] || kill $p 2>/dev/null || true
done
is "$(settles b 5 $V4 0)" 0 "B: all connections closed: 0"
is "$(ask a 4 conns $V4)" 4 "A: still 4"

exec 4>&- 5>&- 6>&-
poll 5 grep -q untracked "$TMP/a.out"
is "$(grep untracked "$TMP/a.out" | awk '{print $2}')" 0 "A: no socket went untracked"
done_testing
