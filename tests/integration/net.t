#!/bin/sh
# The net layer against a real kernel: two network namespaces joined by a
# veth pair. "node" holds the DVIPAs (interface va), "peer" plays the LAN
# neighbour (interface vb). Every check drives build/tools/net_selftest,
# which calls net/*.c, and verifies the result with iproute2 or from the peer.
#
# Run: prove -v tests/integration/net.t   (as root)
set -eu

cd "$(dirname "$0")/../.."
T=$PWD/build/tools/net_selftest
make -s tools >&2

NODE=dvnode$$
PEER=dvpeer$$
TMP=$(mktemp -d)
PIDS=

cleanup() {
	set +e
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	# Whatever else still runs in our namespaces (socat's children).
	for ns in $NODE $PEER; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill $pids 2>/dev/null
	done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	ip netns del $NODE 2>/dev/null
	ip netns del $PEER 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
}
# check DESCRIPTION COMMAND...: one TAP line from a command's exit status.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# poll TIMEOUT_S COMMAND...: retry every 50 ms until it succeeds.
poll() {
	limit=$(($1 * 20))
	shift
	i=0
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -ge $limit ] && return 1
		sleep 0.05
	done
	return 0
}
in_node() { ip netns exec $NODE "$@"; }
in_peer() { ip netns exec $PEER "$@"; }
# bg FILE COMMAND...: start in the background, output to FILE, remember the pid.
bg() {
	out=$1
	shift
	# Empty it now: the child's own redirection happens later, and a poll
	# for "ready" must not find the previous user's.
	: >"$out"
	"$@" >>"$out" 2>&1 &
	PIDS="$PIDS $!"
	LAST=$!
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- topology ---------------------------------------------------------
ip netns add $NODE
ip netns add $PEER
for ns in $NODE $PEER; do
	# No DAD on the fixture's own addresses: nothing to wait for.
	ip netns exec $ns sysctl -qw net.ipv6.conf.default.accept_dad=0
	ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0
	ip -n $ns link set lo up
done
ip -n $NODE link add va type veth peer name vb netns $PEER
ip -n $NODE addr add 10.77.0.1/24 dev va
ip -n $NODE addr add fd77::1/64 dev va nodad
ip -n $PEER addr add 10.77.0.2/24 dev vb
ip -n $PEER addr add fd77::2/64 dev vb nodad
ip -n $NODE link set va up
ip -n $PEER link set vb up
MAC=$(ip -n $NODE -o link show va | sed 's/.*link\/ether \([0-9a-f:]*\).*/\1/')
IDX=$(ip -n $NODE -o link show va | cut -d: -f1)

# ---- offline: packet bytes, checksums, argument checks ----------------
if in_node "$T" offline >"$TMP/offline" 2>&1; then
	ok "offline checks ($(grep -c '^ok' "$TMP/offline") of them)"
else
	not_ok "offline checks"
	sed 's/^/# /' "$TMP/offline"
fi

# ---- links ------------------------------------------------------------
check "link state and MAC of va" \
	sh -c "ip netns exec $NODE '$T' link va | grep -q '^link $IDX va up mtu=1500 type=1 .*hwaddr=$MAC\$'"

# ---- add / list / remove ---------------------------------------------
has_addr() { in_node "$T" list "$1" | grep -q "^$2 "; }
no_addr() { ! in_node "$T" list "$1" | grep -q "^$2 "; }

in_node "$T" add va 10.77.0.10/32
in_node "$T" add va fd77::10/128
check "IPv4 /32 added, listed as permanent" \
	sh -c "ip netns exec $NODE '$T' list va | grep -q '^10.77.0.10/32 .*valid=forever'"
check "iproute2 sees the IPv4 address" \
	sh -c "ip -n $NODE -4 addr show dev va | grep -q 'inet 10.77.0.10/32'"
# 0x2 NODAD, 0x200 NOPREFIXROUTE, 0x80 PERMANENT; never 0x40 TENTATIVE.
check "IPv6 /128 added with NODAD and NOPREFIXROUTE, not tentative" \
	sh -c "ip netns exec $NODE '$T' list va | grep -q '^fd77::10/128 flags=0x282 '"
check "no prefix route for the IPv6 address" \
	sh -c "! ip -n $NODE -6 route show fd77::10 | grep -q ."

# Source address selection (RFC 6724 rule 8, capped at the address's prefix
# length) prefers a /128 over the node's own /64 for every on-link peer: a
# preferred IPv6 DVIPA would become the source of the node's own
# connections. Deprecating it (preferred lifetime 0) prevents that.
check "a preferred IPv6 DVIPA is chosen as source for the node's traffic" \
	sh -c "ip -n $NODE -6 route get fd77::2 | grep -q 'src fd77::10 '"
in_node "$T" add va fd77::10/128 forever 0
check "deprecated (preferred 0), it is not" \
	sh -c "ip -n $NODE -6 route get fd77::2 | grep -q 'src fd77::1 '"
check "an IPv4 /32 DVIPA is never the source: the subnet route's is" \
	sh -c "ip -n $NODE route get 10.77.0.2 | grep -q 'src 10.77.0.1 '"

in_node "$T" add va 10.88.0.10/24 30
check "IPv4 /24 without a prefix route (default)" \
	sh -c "ip -n $NODE route show 10.88.0.0/24 | grep -c . | grep -qx 0"
in_node "$T" del va 10.88.0.10/24
in_node "$T" add va 10.88.0.10/24 30 prefixroute
check "IPv4 /24 with ADDR_F_PREFIX_ROUTE gets its route" \
	sh -c "ip -n $NODE route show 10.88.0.0/24 | grep -q 'dev va proto kernel scope link src 10.88.0.10'"
in_node "$T" del va 10.88.0.10/24
in_node "$T" add va fd88::10/64 30 prefixroute
check "IPv6 /64 with ADDR_F_PREFIX_ROUTE gets its route, expiring" \
	sh -c "ip -n $NODE -6 route show fd88::/64 | grep -q 'dev va proto kernel .*expires'"
in_node "$T" del va fd88::10/64
# The kernel leaves the prefix route of a non-permanent IPv6 address to its
# own expiry (SLAAC semantics): one more reason for NOPREFIXROUTE.
check "IPv6 prefix route of a finite-lifetime address outlives it" \
	sh -c "ip -n $NODE -6 route show fd88::/64 | grep -q expires"
ip -n $NODE -6 route del fd88::/64 dev va

# Why DVIPAs go on the LAN interface as host addresses: a /24 DVIPA in the
# node's own subnet is an IPv4 "secondary" of the node's address and dies
# with it (promote_secondaries=0, the kernel default); a /32 is on its own.
ip -n $NODE link add vx type veth peer name vy
ip -n $NODE link set vx up
in_node sysctl -qw net.ipv4.conf.vx.promote_secondaries=0
ip -n $NODE addr add 10.66.0.1/24 dev vx
in_node "$T" add vx 10.66.0.10/24 30
in_node "$T" add vx 10.66.0.11/32 30
check "a /24 DVIPA in the node's subnet is a secondary address (flag 0x1)" \
	sh -c "ip netns exec $NODE '$T' list vx | grep -q '^10.66.0.10/24 flags=0x201 '"
ip -n $NODE addr del 10.66.0.1/24 dev vx
check "removing the node's own address takes the /24 DVIPA with it, not the /32" \
	sh -c "! ip netns exec $NODE '$T' list vx | grep -q '^10.66.0.10/' &&
	       ip netns exec $NODE '$T' list vx | grep -q '^10.66.0.11/32 '"
ip -n $NODE link del vx

# A refresh is a replace: the lifetime restarts from what is given.
in_node "$T" add va 10.77.0.11/32 100
in_node "$T" add va 10.77.0.11/32 20
check "re-adding replaces the lifetime (100 s -> 20 s)" \
	sh -c "ip netns exec $NODE '$T' list va | grep -Eq '^10.77.0.11/32 .*valid=(19|20) '"
in_node "$T" add va fd77::11/128 100 0
# 0x222: NOPREFIXROUTE, DEPRECATED, NODAD (no PERMANENT: it has a lifetime).
check "IPv6 with preferred 0 is deprecated and valid" \
	sh -c "ip netns exec $NODE '$T' list va | grep -Eq '^fd77::11/128 flags=0x222 valid=(99|100) preferred=0\$'"
in_node "$T" del va 10.77.0.11/32
in_node "$T" del va fd77::11/128
check "removed addresses are gone" sh -c "no_addr() { ! ip netns exec $NODE '$T' list va | grep -q \"^\$1 \"; }; no_addr 10.77.0.11/32 && no_addr fd77::11/128"
if in_node "$T" del va 10.77.0.11/32 2>"$TMP/err"; then
	not_ok "removing an absent address fails"
else
	check "removing an absent address fails with EADDRNOTAVAIL" \
		grep -q "Cannot assign requested address" "$TMP/err"
fi

in_node "$T" add lo 10.77.0.50/32
in_node "$T" add lo fd77::50/128
check "addresses on lo (/32, /128) are local" \
	sh -c "ip netns exec $NODE '$T' list lo | grep -q '^10.77.0.50/32 ' &&
	       ip netns exec $NODE '$T' list lo | grep -q '^fd77::50/128 ' &&
	       ip -n $NODE route get 10.77.0.50 | grep -q '^local'"
in_node "$T" del lo 10.77.0.50/32
in_node "$T" del lo fd77::50/128

# ---- lifetimes ----------------------------------------------------------
for a in 10.77.0.20/32 fd77::20/128; do
	if in_node "$T" expire va $a 2 >"$TMP/expire"; then
		ms=$(sed -n 's/^expired after \([0-9]*\) ms$/\1/p' "$TMP/expire")
		if [ "$ms" -ge 1500 ] && [ "$ms" -le 3500 ]; then
			ok "$a with a 2 s lifetime removed by the kernel after $ms ms"
		else
			not_ok "$a with a 2 s lifetime removed after $ms ms (want 1500..3500)"
		fi
	else
		not_ok "$a with a 2 s lifetime never removed"
	fi
done

# Refreshed every 0.5 s with a 2 s lifetime for 4 s: never removed; then,
# left alone, gone within ~2 s.
for a in 10.77.0.21/32 fd77::21/128; do
	bare=${a%/*}
	bg "$TMP/watch-refresh" in_node "$T" watch va 6000
	wpid=$LAST
	poll 5 grep -q ready "$TMP/watch-refresh"
	in_node "$T" refresh va $a 2 500 4000 >"$TMP/refresh"
	t0=$(now_ms)
	check "$a refreshed every 0.5 s for 4 s is still there" has_addr va $a
	check "$a was never removed while refreshed" \
		sh -c "! grep -q '^del $IDX $a\$' '$TMP/watch-refresh'"
	if poll 4 no_addr va $a; then
		ok "$a left alone disappears $(($(now_ms) - t0)) ms after the last refresh"
	else
		not_ok "$a left alone still there"
	fi
	wait $wpid || true
done

# ---- notifications ---------------------------------------------------
for pair in "10.77.0.30/24 10.77.0.30" "fd77::30/64 fd77::30"; do
	set -- $pair
	bg "$TMP/watch" in_node "$T" watch va 5000 del $2
	wpid=$LAST
	poll 5 grep -q ready "$TMP/watch"
	ip -n $NODE addr add $1 dev va
	ip -n $NODE addr del $1 dev va
	if wait $wpid; then
		check "hand-made 'ip addr add $1' seen as an event" grep -q "^new $IDX $1\$" "$TMP/watch"
		check "hand-made 'ip addr del $1' seen as an event" grep -q "^del $IDX $1\$" "$TMP/watch"
	else
		not_ok "events for $1 (watch timed out)"
		sed 's/^/# /' "$TMP/watch"
	fi
done

# A notification socket that overflows says so (-ENOBUFS), and a full
# listing then has everything: the daemon's way to resynchronise.
for j in $(seq 1 200); do echo "addr add 10.99.0.$j/32 dev va"; done >"$TMP/batch"
bg "$TMP/watch" in_node "$T" watch va 1500 hold 1000 rcvbuf 4096 quiet
wpid=$LAST
poll 5 grep -q ready "$TMP/watch"
ip -n $NODE -batch "$TMP/batch"
wait $wpid || true
check "an overflowing notification socket reports -ENOBUFS" grep -qx overflow "$TMP/watch"
check "addr_list then sees all 200 addresses" \
	sh -c "[ \$(ip netns exec $NODE '$T' list va | grep -c '^10\.99\.0\.') -eq 200 ]"
ip -n $NODE addr flush dev va to 10.99.0.0/24

bg "$TMP/watch" in_node "$T" watch va 5000 link down
wpid=$LAST
poll 5 grep -q ready "$TMP/watch"
ip -n $NODE link set va down
check "link down seen as an event" wait $wpid
bg "$TMP/watch" in_node "$T" watch va 5000 link up
wpid=$LAST
poll 5 grep -q ready "$TMP/watch"
ip -n $NODE link set va up
check "link up seen as an event" wait $wpid
# IPv6 drops its addresses on link down (keep_addr_on_down=0): the daemon
# learns it from the del events and re-adds. Re-add the fixture's own.
ip -n $NODE addr replace fd77::1/64 dev va nodad
in_node "$T" add va fd77::10/128 forever 0
poll 5 sh -c "ip -n $NODE link show va | grep -q 'state UP'"

# ---- gratuitous ARP --------------------------------------------------
# The peer believes 10.77.0.10 is at another MAC; one GARP must correct it.
peer_mac() {
	ip -n $PEER neigh show "$1" dev vb | grep -q "lladdr $2"
}
for form in request reply; do
	ip -n $PEER neigh replace 10.77.0.10 lladdr 02:00:00:00:00:01 dev vb nud stale
	bg "$TMP/cap" in_peer "$T" capture vb 10.77.0.10 3000
	cpid=$LAST
	poll 5 grep -q ready "$TMP/cap"
	if [ $form = reply ]; then
		in_node "$T" announce va 10.77.0.10 reply
	else
		in_node "$T" announce va 10.77.0.10
	fi
	check "GARP $form updates the peer's neighbour entry to $MAC" poll 2 peer_mac 10.77.0.10 $MAC
	if wait $cpid; then
		if [ $form = reply ]; then
			want="arp dst=ff:ff:ff:ff:ff:ff htype=1 ptype=0x0800 hlen=6 plen=4 op=2 sha=$MAC spa=10.77.0.10 tha=$MAC tpa=10.77.0.10"
		else
			want="arp dst=ff:ff:ff:ff:ff:ff htype=1 ptype=0x0800 hlen=6 plen=4 op=1 sha=$MAC spa=10.77.0.10 tha=00:00:00:00:00:00 tpa=10.77.0.10"
		fi
		check "GARP $form on the wire: broadcast, sender = target = DVIPA" grep -qxF "$want" "$TMP/cap"
	else
		not_ok "GARP $form captured on the peer"
	fi
done

# ---- unsolicited NA --------------------------------------------------
ip -n $PEER -6 neigh replace fd77::10 lladdr 02:00:00:00:00:02 dev vb nud stale
bg "$TMP/cap" in_peer "$T" capture vb fd77::10 3000
cpid=$LAST
poll 5 grep -q ready "$TMP/cap"
in_node "$T" announce va fd77::10
check "unsolicited NA updates the peer's neighbour entry to $MAC" poll 2 peer_mac fd77::10 $MAC
if wait $cpid; then
	check "NA on the wire: ff02::1, hop limit 255, O flag, TLLA, checksum" grep -qxF \
		"na dst=33:33:00:00:00:01 src=fd77::10 ip6dst=ff02::1 hlim=255 code=0 flags=0x20 tlla=$MAC csum=ok" \
		"$TMP/cap"
else
	not_ok "NA captured on the peer"
fi
check "announcing on lo is refused" sh -c "ip netns exec $NODE '$T' announce lo 10.77.0.10 | grep -q 'not supported'"

# ---- sock_diag -------------------------------------------------------
# Listeners: IPv4 on the DVIPA, dual-stack IPv6 wildcard, IPv6 on the DVIPA.
bg "$TMP/l1" in_node socat TCP4-LISTEN:8080,bind=10.77.0.10,reuseaddr,fork SYSTEM:"sleep 30"
bg "$TMP/l2" in_node socat TCP6-LISTEN:8081,ipv6only=0,reuseaddr,fork SYSTEM:"sleep 30"
bg "$TMP/l3" in_node socat TCP6-LISTEN:8082,bind=[fd77::10],reuseaddr,fork SYSTEM:"sleep 30"
listening() { in_node "$T" listeners | grep -q "^listen $1 $2"; }
poll 5 listening 10.77.0.10 8080
poll 5 listening :: 8081
poll 5 listening fd77::10 8082
check "listener 10.77.0.10:8080 seen, takes 10.77.0.10:8080" \
	sh -c "ip netns exec $NODE '$T' listeners 10.77.0.10 8080 | grep -qx 'accepts yes'"
check "dual-stack listener [::]:8081 takes 10.77.0.10:8081" \
	sh -c "ip netns exec $NODE '$T' listeners 10.77.0.10 8081 | grep -qx 'accepts yes'"
check "no listener takes 10.77.0.10:8082" \
	sh -c "ip netns exec $NODE '$T' listeners 10.77.0.10 8082 | grep -qx 'accepts no'"
check "listener [fd77::10]:8082 takes fd77::10:8082" \
	sh -c "ip netns exec $NODE '$T' listeners fd77::10 8082 | grep -qx 'accepts yes'"

count_is() { in_node "$T" conns "$@" | head -1 | grep -qx "count $want"; }
for i in 1 2 3; do
	bg /dev/null in_peer socat TCP4:10.77.0.10:8080 SYSTEM:"sleep 30"
done
bg /dev/null in_peer socat TCP4:10.77.0.10:8081 SYSTEM:"sleep 30"
for i in 1 2; do
	bg /dev/null in_peer socat TCP6:[fd77::10]:8082 SYSTEM:"sleep 30"
done
want=4
check "4 connections on 10.77.0.10 (3 on IPv4 sockets, 1 mapped on IPv6)" poll 5 count_is 10.77.0.10
want=3
check "3 of them on port 8080" count_is 10.77.0.10 8080
want=1
check "1 on port 8081, through the dual-stack socket, reported as IPv4" \
	sh -c "ip netns exec $NODE '$T' conns 10.77.0.10 8081 | grep -Eq '^conn 10.77.0.10 8081 10.77.0.2 [0-9]+ ESTABLISHED\$'"
want=0
check "none on port 9999" count_is 10.77.0.10 9999
want=2
check "2 connections on fd77::10 (deprecated, still accepting)" poll 5 count_is fd77::10
want=0
check "none on the node's own address 10.77.0.1" count_is 10.77.0.1
check "the peer's side is not counted on the node: none on 10.77.0.2" count_is 10.77.0.2

# ---- sysctl ----------------------------------------------------------
root_before=$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)
check "sysctl_if_set arp_ignore=1 on va returns the old value 0" \
	sh -c "ip netns exec $NODE '$T' sysctl ifset 4 va arp_ignore 1 | grep -qx 0"
check "the kernel has arp_ignore=1 on va" \
	sh -c "ip netns exec $NODE cat /proc/sys/net/ipv4/conf/va/arp_ignore | grep -qx 1"
check "sysctl_if_get reads it back" \
	sh -c "ip netns exec $NODE '$T' sysctl ifget 4 va arp_ignore | grep -qx 1"
in_node "$T" sysctl ifset 4 va arp_announce 2 >/dev/null
in_node "$T" sysctl ifset 4 all rp_filter 2 >/dev/null
in_node "$T" sysctl set ipv4/ip_forward 1 >/dev/null
check "arp_announce=2, rp_filter(all)=2, ip_forward=1 in the node's namespace" \
	sh -c "ip netns exec $NODE sh -c 'cat /proc/sys/net/ipv4/conf/va/arp_announce /proc/sys/net/ipv4/conf/all/rp_filter /proc/sys/net/ipv4/ip_forward' | tr '\n' ' ' | grep -qx '2 2 1 '"
check "IPv6 forwarding through sysctl_if_set" \
	sh -c "ip netns exec $NODE '$T' sysctl ifset 6 va forwarding 1 >/dev/null && ip netns exec $NODE cat /proc/sys/net/ipv6/conf/va/forwarding | grep -qx 1"
check "the root namespace is untouched" \
	sh -c "[ \"\$(cat /proc/sys/net/ipv4/conf/all/arp_ignore)\" = '$root_before' ]"
check "an unknown interface is -ENOENT" \
	sh -c "ip netns exec $NODE '$T' sysctl ifget 4 nosuchif arp_ignore | grep -q 'No such file'"

echo "1..$n"
[ $failed -eq 0 ]
