#!/bin/sh
# The data plane in real network namespaces, without corosync or dvipad: the
# maps are programmed by hand with dp_ctl. A client, a distributor (n1, also
# a target) and two targets (n2, n3) on one bridge:
#
#   client 10.77.0.100 / fd77::100
#   n1     10.77.0.1   / fd77::1    DVIPA on eth0: distributes, delivers locally
#   n2     10.77.0.2   / fd77::2    DVIPA on lo (arp_ignore=1): decapsulates,
#                                   or receives directly forwarded packets
#   n3     10.77.0.3   / fd77::3    DVIPA on lo
#   DVIPA  10.77.0.10  / fd77::10   port 8080: n1, n2, n3 round robin;
#                                   ports 9000, 9001, 5201: n2 only
#
# Real servers (socat, iperf3) and clients. Prints TAP; needs root. Every
# namespace, process, mount and BPF attachment it makes carries this shell's
# PID and goes at exit.
set -eu

TOP=$(cd "$(dirname "$0")/../.." && pwd)
DPCTL=$TOP/build/tools/dp_ctl
INJECT=$TOP/build/tools/dp_inject

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root"
	exit 0
fi
for t in "$DPCTL" "$INJECT"; do
	[ -x "$t" ] || { echo "Bail out! $t is missing: make $t"; exit 1; }
done
for c in socat iperf3 ethtool sha256sum ss timeout; do
	command -v $c >/dev/null || { echo "1..0 # SKIP $c is missing (make deps)"; exit 0; }
done

ID=$$
BR=dpbr$ID
C=dpc$ID
N1=dpn1$ID
N2=dpn2$ID
N3=dpn3$ID
NODES="$N1 $N2 $N3"
TMP=$(mktemp -d /tmp/dvipa-dataplane.XXXXXX)
DATA=$TMP/data
MB=100

V4=10.77.0
V6=fd77:
DVIPA4=$V4.10
DVIPA6=$V6:10

# Ends the processes in the namespaces leaves first, so that every process
# dies while its parent still lives to reap it (this shell reaps the servers
# it started); what is orphaned here stays a zombie of init.
ns_pids() {
	for ns in $C $NODES $BR; do
		ip netns pids $ns 2>/dev/null
	done | tr '\n' ' '
}
stop_all() {
	round=0
	all=$(ns_pids)
	while [ -n "${all% }" ] && [ $round -lt 10 ]; do
		parents=" "
		for p in $all; do
			parents="$parents$(ps -o ppid= -p $p 2>/dev/null | tr -d ' ') "
		done
		for p in $all; do
			case "$parents" in *" $p "*) ;; *) kill $p 2>/dev/null ;; esac
		done
		sleep 0.2
		all=$(ns_pids)
		round=$((round + 1))
	done
	wait 2>/dev/null
}

cleanup() {
	set +e
	stop_all
	for ns in $NODES; do
		ip netns exec $ns "$DPCTL" detach eth0 2>/dev/null
	done
	for ns in $C $NODES $BR; do
		ip netns del $ns 2>/dev/null
	done
	umount "$TMP/bpffs" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

N=0
FAILED=0
ok() {
	N=$((N + 1))
	echo "ok $N - $*"
}
not_ok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $*"
}
# check DESCRIPTION COMMAND...: one TAP line from the command's status.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() {
	echo "# $*"
}

# Runs a command in a namespace in the background; cleanup() ends it.
start() {
	ns=$1
	shift
	ip netns exec $ns "$@" </dev/null >/dev/null 2>&1 &
}

# Polls until something listens on TCP port $2 in namespace $1.
wait_listen() {
	i=0
	while [ $i -lt 50 ]; do
		[ -n "$(ip netns exec $1 ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "# nothing listens on port $2 in $1" >&2
	return 1
}

dpctl() {
	ns=$1
	shift
	ip netns exec $ns "$DPCTL" -p "$TMP/bpffs/$ns" "$@"
}

counter() {
	dpctl $1 counters $2
}

rx_bytes() {
	ip netns exec $1 cat /sys/class/net/eth0/statistics/rx_bytes
}

# ---- the plex ---------------------------------------------------------------

mkdir "$TMP/bpffs"
mount -t bpf bpf "$TMP/bpffs"
head -c $((MB * 1000000)) /dev/urandom >"$DATA"
SUM=$(sha256sum <"$DATA" | cut -d' ' -f1)

ip netns add $BR
ip -n $BR link set lo up
ip -n $BR link add br0 type bridge
ip -n $BR link set br0 up
i=0
for ns in $C $NODES; do
	i=$((i + 1))
	ip netns add $ns
	ip -n $ns link set lo up
	ip -n $BR link add v$i type veth peer name eth0 netns $ns
	ip -n $BR link set v$i master br0 up
	ip -n $ns link set eth0 up
done
ip -n $C addr add $V4.100/24 dev eth0
ip -n $C addr add $V6:100/64 dev eth0 nodad
n=0
for ns in $NODES; do
	n=$((n + 1))
	ip -n $ns addr add $V4.$n/24 dev eth0
	ip -n $ns addr add $V6:$n/64 dev eth0 nodad
done

# n1 holds the DVIPA on its LAN interface: it answers ARP / ND for it.
ip -n $N1 addr add $DVIPA4/32 dev eth0
ip -n $N1 addr add $DVIPA6/128 dev eth0 nodad
# Targets hold it on lo and never answer for it; strict reverse-path filtering
# still accepts decapsulated packets (the route back to the client is eth0).
for ns in $N2 $N3; do
	ip netns exec $ns sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
	ip -n $ns addr add $DVIPA4/32 dev lo
	ip -n $ns addr add $DVIPA6/128 dev lo nodad
done

n=0
for ns in $NODES; do
	n=$((n + 1))
	dpctl $ns -r attach eth0
	dpctl $ns node $n $V4.$n $V6:$n
	dpctl $ns mss 1500
	for m in 1 2 3; do
		dpctl $ns member add $V4.$m $m
		dpctl $ns member add $V6:$m $m
	done
done
for ns in $N2 $N3; do
	dpctl $ns dvipa add $DVIPA4
	dpctl $ns dvipa add $DVIPA6
done
dpctl $N1 service set $DVIPA4 8080 1,$V4.1,local 2,$V4.2 3,$V4.3
dpctl $N1 service set $DVIPA6 8080 1,$V6:1,local 2,$V6:2 3,$V6:3
for port in 9000 9001 5201; do
	dpctl $N1 service set $DVIPA4 $port 2,$V4.2
	dpctl $N1 service set $DVIPA6 $port 2,$V6:2
done
check "programs attached on every node" \
	sh -c "for ns in $NODES; do ip netns exec \$ns tc filter show dev eth0 ingress | grep -q dp_ingress || exit 1; done"

n=0
for ns in $NODES; do
	n=$((n + 1))
	start $ns socat TCP4-LISTEN:8080,bind=$DVIPA4,reuseaddr,fork SYSTEM:"echo n$n"
	start $ns socat TCP6-LISTEN:8080,bind=[$DVIPA6],ipv6only=1,reuseaddr,fork SYSTEM:"echo n$n"
done
start $N2 socat TCP4-LISTEN:9000,bind=$DVIPA4,reuseaddr,fork SYSTEM:sha256sum
start $N2 socat TCP6-LISTEN:9000,bind=[$DVIPA6],ipv6only=1,reuseaddr,fork SYSTEM:sha256sum
start $N2 socat -U TCP4-LISTEN:9001,bind=$DVIPA4,reuseaddr,fork OPEN:"$DATA",rdonly
start $N2 socat -U TCP6-LISTEN:9001,bind=[$DVIPA6],ipv6only=1,reuseaddr,fork OPEN:"$DATA",rdonly
start $N2 iperf3 -s -p 5201
for ns in $NODES; do wait_listen $ns 8080; done
wait_listen $N2 9000
wait_listen $N2 9001
wait_listen $N2 5201

# ---- distribution -----------------------------------------------------------

# $1 = address as socat writes it; prints "n1 30 n2 30 n3 30"-style counts.
spread() {
	i=0
	while [ $i -lt 90 ]; do
		ip netns exec $C timeout 5 socat -u TCP:$1:8080 STDOUT || echo failed
		i=$((i + 1))
	done | sort | uniq -c | awk '{printf "%s %s ", $2, $1}'
}

got=$(spread $DVIPA4)
diag "IPv4, 90 connections: $got"
check "IPv4: 90 connections spread round robin, 30 per node (n1 local)" \
	[ "$got" = "n1 30 n2 30 n3 30 " ]
got=$(spread "[$DVIPA6]")
diag "IPv6, 90 connections: $got"
check "IPv6: 90 connections spread round robin, 30 per node (n1 local)" \
	[ "$got" = "n1 30 n2 30 n3 30 " ]
check "n1 delivered its share locally" [ "$(counter $N1 to_local)" -ge 60 ]
check "n2 and n3 decapsulated theirs" \
	[ "$(counter $N2 decap)" -ge 60 -a "$(counter $N3 decap)" -ge 60 ]
check "targets clamped the MSS of their SYN-ACKs" \
	[ "$(counter $N2 mss_clamped)" -ge 60 -a "$(counter $N3 mss_clamped)" -ge 60 ]
flows=$(dpctl $N1 flows | grep -c " $DVIPA4 8080 ") || true
check "n1 lists the IPv4 connections it distributed ($flows)" [ "$flows" -ge 90 ]

# ---- bulk transfers ---------------------------------------------------------

upload() { # address as socat writes it
	ip netns exec $C timeout 120 socat -t 60 STDIO TCP:$1:9000 <"$DATA" | cut -d' ' -f1
}
download() {
	ip netns exec $C timeout 120 socat -u TCP:$1:9001 STDOUT | sha256sum | cut -d' ' -f1
}

bulk() { # label
	for a in $DVIPA4 "[$DVIPA6]"; do
		fam=IPv4
		[ "$a" = "$DVIPA4" ] || fam=IPv6
		t0=$(date +%s.%N)
		got=$(upload "$a") || true
		t1=$(date +%s.%N)
		check "$fam, $1: $MB MB upload through the distributor arrives byte-exact" \
			[ "$got" = "$SUM" ]
		rx0=$(rx_bytes $N1)
		t2=$(date +%s.%N)
		got=$(download "$a") || true
		t3=$(date +%s.%N)
		rx1=$(rx_bytes $N1)
		check "$fam, $1: $MB MB download from the target arrives byte-exact" \
			[ "$got" = "$SUM" ]
		# The target answers the client directly: n1 sees only the
		# client's ACKs, never the 100 MB.
		check "$fam, $1: the download's data bypassed n1 (n1 received $(((rx1 - rx0) / 1000)) kB)" \
			[ $((rx1 - rx0)) -lt $((MB * 1000000 / 4)) ]
		diag "$fam, $1: upload $(echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}') s," \
			"download $(echo "$t2 $t3" | awk '{printf "%.2f", $2 - $1}') s"
	done
}

bulk "offloads on"
check "n1 encapsulated without error" \
	[ "$(counter $N1 encap_error)" = 0 -a "$(counter $N1 fib_error)" = 0 -a "$(counter $N1 too_big)" = 0 ]

iperf() { # args...; prints Mbit/s seen by the receiver
	ip netns exec $C timeout 30 iperf3 -f m -t 3 "$@" 2>/dev/null |
		awk '/receiver/ {print $(NF - 2)}'
}
perf() { # label
	d=$(iperf -c $V4.2)
	u=$(iperf -c $DVIPA4)
	r=$(iperf -c $DVIPA4 -R)
	diag "iperf3, $1, Mbit/s: direct to n2 $d; through n1 to n2: upload $u, download $r"
	check "iperf3 through the distributor, $1" [ -n "$u" -a -n "$r" ]
}
perf "offloads on"

# With forwarding on INTERFACE, bpf_fib_lookup() answers and the program
# writes the MACs itself instead of going through the kernel's neighbour path.
ip netns exec $N1 sysctl -qw net.ipv4.conf.eth0.forwarding=1 net.ipv6.conf.eth0.forwarding=1
neigh0=$(counter $N1 fib_fwd_disabled)
encap0=$(counter $N1 encap)
bulk "offloads on, forwarding on"
check "with forwarding on, n1 forwarded through its own fib lookup" \
	[ "$(counter $N1 fib_fwd_disabled)" = "$neigh0" -a "$(counter $N1 encap)" -gt "$encap0" ]
perf "offloads on, forwarding on"
ip netns exec $N1 sysctl -qw net.ipv4.conf.eth0.forwarding=0 net.ipv6.conf.eth0.forwarding=0

for ns in $C $NODES; do
	ip netns exec $ns ethtool -K eth0 tso off gso off gro off 2>/dev/null
done
for i in 1 2 3 4; do
	ip netns exec $BR ethtool -K v$i tso off gso off gro off 2>/dev/null
done
bulk "offloads off"
check "n1 encapsulated without error, offloads off" \
	[ "$(counter $N1 encap_error)" = 0 -a "$(counter $N1 fib_error)" = 0 -a "$(counter $N1 too_big)" = 0 ]
perf "offloads off"

# Without the clamp, full-size client segments cannot be encapsulated: n1
# counts them too big and the upload stalls.
dpctl $N2 mss 0
got=$(ip netns exec $C timeout 5 socat -t 4 -T 4 STDIO TCP:$DVIPA4:9000 <"$DATA" 2>/dev/null |
	cut -d' ' -f1) || true
check "without the MSS clamp, full-size segments are dropped as too_big" \
	[ "$got" != "$SUM" -a "$(counter $N1 too_big)" -gt 0 ]
dpctl $N2 mss 1500

# ---- direct forwarding ------------------------------------------------------

# Targets on the link whose MAC the distributor knows get the packets
# unchanged (TTL lowered), not encapsulated: what dvipad programs when no
# VIPAROUTE names the target.
mac_of() {
	ip netns exec $1 cat /sys/class/net/eth0/address
}
M2=$(mac_of $N2)
M3=$(mac_of $N3)
dpctl $N1 service set $DVIPA4 8080 1,$V4.1,local 2,$V4.2,m$M2 3,$V4.3,m$M3
dpctl $N1 service set $DVIPA6 8080 1,$V6:1,local 2,$V6:2,m$M2 3,$V6:3,m$M3
for port in 9000 9001 5201; do
	dpctl $N1 service set $DVIPA4 $port 2,$V4.2,m$M2
	dpctl $N1 service set $DVIPA6 $port 2,$V6:2,m$M2
done
enc0=$(counter $N1 encap)
fwd0=$(counter $N1 forward)
dec2=$(counter $N2 decap)
dec3=$(counter $N3 decap)
got=$(spread $DVIPA4)
diag "direct, IPv4, 90 connections: $got"
check "direct, IPv4: 90 connections spread round robin, 30 per node" [ "$got" = "n1 30 n2 30 n3 30 " ]
got=$(spread "[$DVIPA6]")
diag "direct, IPv6, 90 connections: $got"
check "direct, IPv6: 90 connections spread round robin, 30 per node" [ "$got" = "n1 30 n2 30 n3 30 " ]
check "n1 forwarded them to the targets' MACs, nothing encapsulated" \
	[ "$(counter $N1 forward)" -ge $((fwd0 + 240)) -a "$(counter $N1 encap)" = "$enc0" ]
check "n2 and n3 received them without decapsulating" \
	[ "$(counter $N2 decap)" = "$dec2" -a "$(counter $N3 decap)" = "$dec3" ]
flows=$(dpctl $N1 flows | grep " $DVIPA4 8080 " | grep -c " direct") || true
check "n1 lists its direct connections as such ($flows)" [ "$flows" -ge 60 ]
bulk "direct, offloads off"
for ns in $C $NODES; do
	ip netns exec $ns ethtool -K eth0 tso on gso on 2>/dev/null
done
for i in 1 2 3 4; do
	ip netns exec $BR ethtool -K v$i tso on gso on 2>/dev/null
done
bulk "direct, offloads on"
perf "direct, offloads on"
check "direct: nothing encapsulated, dropped or out of TTL on n1" \
	[ "$(counter $N1 encap)" = "$enc0" -a "$(counter $N1 encap_error)" = 0 -a \
		"$(counter $N1 ttl_exceeded)" = 0 ]

# ---- decapsulation only from members ----------------------------------------

before=$(counter $N2 drop_not_member)
ip netns exec $C "$INJECT" $V4.2 $V4.100 $DVIPA4 8080
ip netns exec $C "$INJECT" $V6:2 $V6:100 $DVIPA6 8080
sleep 0.3
after=$(counter $N2 drop_not_member)
check "encapsulated SYNs from a non-member are dropped and counted ($before -> $after)" \
	[ $((after - before)) = 2 ]
before=$(counter $N2 decap)
ip netns exec $N3 "$INJECT" $V4.2 $V4.100 $DVIPA4 8080
sleep 0.3
after=$(counter $N2 decap)
check "the same from a member is decapsulated" [ $((after - before)) = 1 ]
dpctl $N2 member del $V4.3
before=$(counter $N2 drop_not_member)
ip netns exec $N3 "$INJECT" $V4.2 $V4.100 $DVIPA4 8080
sleep 0.3
check "a member removed from the map is a non-member" \
	[ $(($(counter $N2 drop_not_member) - before)) = 1 ]

for ns in $NODES; do
	diag "$ns counters: $(dpctl $ns counters | awk '$2 != 0 {printf "%s=%s ", $1, $2}')"
done

echo "1..$N"
[ $FAILED = 0 ]
