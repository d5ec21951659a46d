#!/bin/bash
# The sysplex distributor on a 3-node plex with real corosync, real dvipad
# and real clients: n1 owns the DVIPAs and distributes them, n2 backs them up
# (the same VIPADISTRIBUTE statements), n3 has an empty VIPADYNAMIC block and
# is a target only. Every node runs nginx answering its name, and socat
# servers. ROUNDROBIN over 300 connections, a target without listener,
# quiesce / resume, a target's dvipad crashing (its connection goes on),
# HOTSTANDBY with switch-over and back, WEIGHTEDACTIVE 1:2:3 over long-lived
# connections (and rebalancing after one target's end), 100 MB both ways
# byte-exact over IPv4 and IPv6 with offloads on and off, the distributor's
# node dying and coming back, a target's orderly stop. Throughout, the
# sampler checks that no DVIPA is ever on two nodes' LAN interfaces (targets
# hold it on lo). docs/distributor.md describes what is checked.
set -e
cd "$(dirname "$0")/../.."
# corosync's default token: on a loaded machine the harness's fast timers
# (300 ms) see a membership change every few seconds, and each one makes the
# distributor give its DVIPA up. Nothing here measures failover speed.
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require socat curl ethtool sha256sum nginx

A=10.0.0.10
A6=fd00::10
N1=$(plex_ip 1)
N2=$(plex_ip 2)
N3=$(plex_ip 3)
N16=$(plex_ip6 1)
N26=$(plex_ip6 2)
N36=$(plex_ip6 3)
MB=100

# An id of its own: other runs reap their stale "dv<PID>" plexes by name.
plex_create 3 --ipv6 --id "ds$$"
# n1 owns the DVIPAs, n2 backs them up with the same statements.
dist_profiles 3 2 $A $A6 <<EOF
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT 80 17000 DESTIP ALL
  VIPADISTRIBUTE DISTMETHOD WEIGHTEDACTIVE $A PORT 18081 DESTIP $N1 WEIGHT 1 $N2 WEIGHT 2 $N3 WEIGHT 3
  VIPADISTRIBUTE DISTMETHOD HOTSTANDBY $A PORT 18082 DESTIP $N2 PREFERRED $N3 BACKUP 10 $N1 BACKUP 5
  VIPADISTRIBUTE $A PORT 19000 19001 DESTIP $N2
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A6 PORT 80 DESTIP $N16 $N26 $N36
  VIPADISTRIBUTE $A6 PORT 19000 19001 DESTIP $N26
EOF

# ---- helpers ----------------------------------------------------------------

# The DISTSTAT and ORIGIN of a DVIPA in `show dynamic --json` on node I.
dyn_field()
{
	plex_run "$1" dvipactl show dynamic --json | /usr/bin/python3 -c '
import json, sys
for d in json.load(sys.stdin)["dvipas"]:
    if d["address"] == sys.argv[1]:
        print(d[sys.argv[2]])' "$2" "$3"
}

holders_lo_are()
{
	[ "$(plex_holders "$1" lo)" = "$2" ]
}

# socat servers on node I, on every address: PORT answers "nI" and then
# echoes what it gets.
echo_server()
{
	plex_run "$1" sh -c "setsid socat TCP-LISTEN:$2,reuseaddr,fork SYSTEM:'echo n$1; exec cat' </dev/null >/dev/null 2>&1 &"
	plex_poll 5 _plex_listening "$1" "$2"
}

# socat_spread ADDR PORT N: N connections to an echo_server, each sending
# one line and reading the answer; prints the servers' names as dist_spread does.
socat_spread()
{
	local i out
	for i in $(seq "$3"); do
		out=$(echo "line-$i" | plex_client timeout 5 socat -t 2 - "TCP:$1:$2" 2>/dev/null) || true
		case $out in
		n?$'\n'"line-$i") echo "${out%%$'\n'*}" ;;
		*) echo failed ;;
		esac
	done | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'
}

# Long-lived client connections: open_long NAME ADDR PORT opens one that
# only reads (the server's name, then nothing until it ends); its output
# goes to $PLEX_DIR/long/NAME.
LONG_PIDS=()
open_long()
{
	mkdir -p "$PLEX_DIR/long" "$PLEX_DIR/longpid"
	# The process itself (not a shell function), so that its PID ends it.
	ip netns exec "$(plex_ns_client)" socat -u "TCP:$2:$3" STDOUT >"$PLEX_DIR/long/$1" 2>/dev/null &
	LONG_PIDS+=("$!")
	echo "$!" >"$PLEX_DIR/longpid/$1"
}

close_long()
{
	local pid
	pid=$(cat "$PLEX_DIR/longpid/$1")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

long_count()
{
	cat "$PLEX_DIR"/long/"$1"* 2>/dev/null | sort | uniq -c |
		awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }'
}

# ---- start ------------------------------------------------------------------

ok "the plex starts" plex_start
for i in 1 2 3; do
	plex_start_http "$i"
	plex_start_http "$i" 18082
	echo_server "$i" 17000
	echo_server "$i" 18081
done
ok "3 members with quorum" plex_wait_members 3
plex_sampler_start "$A" "$A6"

head -c $((MB * 1000000)) /dev/urandom >"$PLEX_DIR/data"
SUM=$(sha256sum <"$PLEX_DIR/data" | cut -d' ' -f1)
plex_run 2 sh -c "setsid socat TCP4-LISTEN:19000,reuseaddr,fork SYSTEM:sha256sum </dev/null >/dev/null 2>&1 &
	setsid socat TCP6-LISTEN:19000,ipv6only=1,reuseaddr,fork SYSTEM:sha256sum </dev/null >/dev/null 2>&1 &
	setsid socat -U TCP4-LISTEN:19001,reuseaddr,fork OPEN:$PLEX_DIR/data,rdonly </dev/null >/dev/null 2>&1 &
	setsid socat -U TCP6-LISTEN:19001,ipv6only=1,reuseaddr,fork OPEN:$PLEX_DIR/data,rdonly </dev/null >/dev/null 2>&1 &"
plex_poll 5 _plex_listening 2 19001

ok "every target is ready for $A:80 on the distributor" plex_poll 15 dist_all_ready $A 80
ok "n1 holds $A on eth0, n2 and n3 on lo" \
	test "$(plex_holders $A)" = 1 -a "$(plex_holders $A lo)" = "2 3"
ok "show dynamic on n1: $A is DIST&DEST" test "$(dyn_field 1 $A diststat)" = "DIST&DEST"
ok "show dynamic on n2: $A is DEST (and BACKUP)" \
	test "$(dyn_field 2 $A diststat)" = DEST -a "$(dyn_field 2 $A status)" = BACKUP
ok "show dynamic on n3 (no definition): DEST, origin DISTRIBUTE" \
	test "$(dyn_field 3 $A diststat)" = DEST -a "$(dyn_field 3 $A origin)" = DISTRIBUTE
plex_client ping -c1 -W1 $A >/dev/null 2>&1 || true
ok "targets answer no ARP for $A: the client resolves it to n1's MAC" \
	sh -c "ip netns exec $(plex_ns_client) ip neigh show $A | grep -q 02:d7:00:00:00:01"
ok "arp_ignore=1 and arp_announce=2 on the targets' eth0" \
	test "$(plex_run 3 sysctl -n net.ipv4.conf.eth0.arp_ignore)$(plex_run 3 sysctl -n net.ipv4.conf.eth0.arp_announce)" = 12

# ---- ROUNDROBIN -------------------------------------------------------------

note "--- ROUNDROBIN"
got=$(dist_spread "http://$A/" 300)
note "300 connections to $A:80: $got"
ok "ROUNDROBIN: each of 3 targets gets 300/3 +-10% ($got)" dist_counts_within "$got" 90 110 n1 n2 n3
got=$(dist_spread "http://[$A6]/" 90)
note "90 connections to [$A6]:80: $got"
ok "ROUNDROBIN over IPv6: each gets 30 +-3 ($got)" dist_counts_within "$got" 27 33 n1 n2 n3
flows=$(plex_run 1 dvipactl show connections --json | grep -o "\"port\": 80," | wc -l)
cmp_ok "$flows" -ge 390 "show connections on n1 lists the distributed connections ($flows)"
total=$(dist_port_field 1 $A 80 3 total_connections)
cmp_ok "$total" -ge 90 "show ports on n1 counts n3's connections ($total)"

note "--- a target without listener"
dist_stop_http 3 80
ok "n3 reports Rdy 0 for $A:80" plex_poll 5 dist_field_is 1 $A 80 3 ready 0
got=$(dist_spread "http://$A/" 60)
note "60 connections with n3's nginx stopped: $got"
is "$(dist_count_of n3 "$got")" 0 "a target without listener gets nothing"
is "$(dist_count_of lost "$got")" 0 "and no connection is lost"
ok "the others get 30 +-3 each ($got)" dist_counts_within "$got" 27 33 n1 n2
plex_start_http 3
ok "n3 is ready again" plex_poll 5 dist_field_is 1 $A 80 3 ready 1
got=$(dist_spread "http://$A/" 30)
cmp_ok "$(dist_count_of n3 "$got")" -ge 9 "and gets its share again ($got)"

# ---- quiesce ----------------------------------------------------------------

note "--- quiesce / resume"
# One long-lived echo connection per node on port 17000 (round robin),
# written through a fifo whose fd is QFD[k].
QFD=()
for k in 1 2 3; do
	mkfifo "$PLEX_DIR/q$k.in"
	plex_client socat -t 5 - TCP:$A:17000 <"$PLEX_DIR/q$k.in" >"$PLEX_DIR/q$k.out" 2>&1 &
	exec {fd}>"$PLEX_DIR/q$k.in"
	QFD[k]=$fd
	plex_poll 5 test -s "$PLEX_DIR/q$k.out"
done
QN=
for k in 1 2 3; do
	[ "$(head -n1 "$PLEX_DIR/q$k.out")" = n3 ] && QN=$k
done
ok "one long-lived connection reached n3" test -n "$QN"
ok "dvipactl quiesce --port 17000 on n3" dist_quiet plex_run 3 dvipactl quiesce --port 17000
ok "n1 shows n3 QUIESCED for port 17000" plex_poll 5 dist_field_is 1 $A 17000 3 flags QUIESCED
got=$(socat_spread $A 17000 30)
note "30 connections to port 17000 with n3 quiesced: $got"
is "$(dist_count_of n3 "$got")" 0 "a quiesced target gets no new connection"
ok "the others take every connection ($got)" dist_counts_within "$got" 14 16 n1 n2
[ -z "$QN" ] || echo "still-there" >&"${QFD[QN]}"
ok "its existing connection goes on" plex_poll 5 grep -q still-there "$PLEX_DIR/q$QN.out"
got=$(dist_spread "http://$A/" 30)
cmp_ok "$(dist_count_of n3 "$got")" -ge 9 "port 80 is not quiesced on n3 ($got)"
ok "dvipactl quiesce (every port) on n3" dist_quiet plex_run 3 dvipactl quiesce
ok "n1 shows n3 QUIESCED for port 80" plex_poll 5 dist_field_is 1 $A 80 3 flags QUIESCED
got=$(dist_spread "http://$A/" 30)
# 15 each, give or take one (a target's health a point below 100 after a
# slow connection on a loaded host makes the table nearly, not exactly,
# even); none to n3.
ok "quiesced for every port: nothing new on port 80 ($got)" \
	dist_counts_within "$got" 14 16 n1 n2 0 0 n3
out=$(plex_run 3 dvipactl resume --port 80 2>&1) && rc=0 || rc=$?
ok "resuming one port while every port is quiesced is refused" test "$rc" = 1
ok "dvipactl resume on n3" dist_quiet plex_run 3 dvipactl resume
ok "n1 shows n3 without flags again" plex_poll 5 dist_field_is 1 $A 17000 3 flags ""
got=$(socat_spread $A 17000 30)
cmp_ok "$(dist_count_of n3 "$got")" -ge 9 "after resume n3 gets new connections again ($got)"
note "--- a target's dvipad crashes and restarts"
plex_kill_dvipad 3
ok "n3 keeps $A on lo while its dvipad is down" holders_lo_are $A "2 3"
ok "dvipad on n3 starts again" plex_start_dvipad 3
ok "n3 is ready again for port 17000" plex_poll 10 dist_field_is 1 $A 17000 3 ready 1
[ -z "$QN" ] || echo "after-restart" >&"${QFD[QN]}"
ok "n3 adopted $A on lo: its connection goes on" \
	plex_poll 10 grep -q after-restart "$PLEX_DIR/q$QN.out"
for k in 1 2 3; do
	echo "bye-$k" >&"${QFD[k]}"
	fd=${QFD[k]}
	exec {fd}>&-
done
wait_all_q()
{
	local k
	for k in 1 2 3; do
		[ "$(tail -n1 "$PLEX_DIR/q$k.out")" = "bye-$k" ] || return 1
	done
}
ok "the three long-lived connections echoed every line exactly" plex_poll 5 wait_all_q
is "$(sed -n 2p "$PLEX_DIR/q$QN.out")" still-there "n3's connection carried the line sent while quiesced"

# ---- HOTSTANDBY -------------------------------------------------------------

note "--- HOTSTANDBY"
ok "the preferred n2 is ready on 18082" plex_poll 5 dist_field_is 1 $A 18082 2 slots 1
got=$(dist_spread "http://$A:18082/" 20)
is "$got" "n2=20" "HOTSTANDBY: every connection to the preferred target"
dist_stop_http 2 18082
ok "n2 loses its listener: the backup with the highest rank (n3) takes over" \
	plex_poll 5 dist_field_is 1 $A 18082 3 slots 1
got=$(dist_spread "http://$A:18082/" 20)
is "$got" "n3=20" "HOTSTANDBY: every connection to the backup n3"
plex_start_http 2 18082
ok "n2 listens again: it is the target again" plex_poll 5 dist_field_is 1 $A 18082 2 slots 1
got=$(dist_spread "http://$A:18082/" 20)
is "$got" "n2=20" "HOTSTANDBY switches back to the preferred target"

# ---- WEIGHTEDACTIVE ---------------------------------------------------------

note "--- WEIGHTEDACTIVE"
for k in $(seq 1 60); do
	open_long "wa$k" $A 18081
	sleep 0.02
done
all_long_answered()
{
	local k
	for k in $(seq 1 "$1"); do
		[ -s "$PLEX_DIR/long/wa$k" ] || return 1
	done
}
ok "60 long-lived connections to port 18081 are open" plex_poll 10 all_long_answered 60
got=$(long_count wa)
note "60 long-lived connections, weights 1:2:3: $got"
ok "WEIGHTEDACTIVE: 10/20/30 +-3 ($got)" dist_counts_within "$got" 7 13 n1 17 23 n2 27 33 n3
act=$(dist_port_field 1 $A 18081 3 active_connections)
ok "show ports on n1 counts n3's active connections ($act)" \
	test "$act" = "$(dist_count_of n3 "$got")"
seen=$(plex_run 3 dvipactl show connections --json | grep -o '"port": 18081' | wc -l)
ok "show connections on n3 (the target) lists its connections ($seen)" \
	test "$seen" = "$(dist_count_of n3 "$got")"
# Every connection of n3 ends: the next ones go to n3 until the active
# connections are in proportion again.
for k in $(seq 1 60); do
	[ "$(cat "$PLEX_DIR/long/wa$k")" = n3 ] && close_long "wa$k"
done
ok "n1 counts no active connection to n3 any more" \
	plex_poll 5 dist_field_is 1 $A 18081 3 active_connections 0
sleep 0.6
for k in $(seq 61 90); do
	open_long "wb$k" $A 18081
	sleep 0.02
done
sleep 1
got=$(long_count wb)
note "30 more after n3's connections ended: $got"
cmp_ok "$(dist_count_of n3 "$got")" -ge 24 "WEIGHTEDACTIVE fills the emptied target first ($got)"
for pid in "${LONG_PIDS[@]}"; do
	kill "$pid" 2>/dev/null || true
done
wait "${LONG_PIDS[@]}" 2>/dev/null || true
LONG_PIDS=()

# ---- bulk transfers ---------------------------------------------------------

upload()
{
	plex_client timeout 120 socat -t 60 STDIO "TCP:$1:19000" <"$PLEX_DIR/data" | cut -d' ' -f1
}
download()
{
	plex_client timeout 120 socat -u "TCP:$1:19001" STDOUT | sha256sum | cut -d' ' -f1
}
bulk()
{
	local a fam t0 t1 got
	for a in $A "[$A6]"; do
		fam=IPv4
		[ "$a" = $A ] || fam=IPv6
		t0=$(plex_now_ms)
		got=$(upload "$a") || true
		t1=$(plex_now_ms)
		is "$got" "$SUM" "$fam, $1: $MB MB upload through the distributor, byte-exact ($((t1 - t0)) ms)"
		t0=$(plex_now_ms)
		got=$(download "$a") || true
		t1=$(plex_now_ms)
		is "$got" "$SUM" "$fam, $1: $MB MB download from the target, byte-exact ($((t1 - t0)) ms)"
	done
}
note "--- bulk"
bulk "offloads on"
for i in 1 2 3; do
	ip netns exec "$(plex_ns "$i")" ethtool -K eth0 tso off gso off gro off 2>/dev/null
	ip netns exec "$(plex_ns_bridge)" ethtool -K "n$i" tso off gso off gro off 2>/dev/null
done
plex_client ethtool -K eth0 tso off gso off gro off 2>/dev/null
ip netns exec "$(plex_ns_bridge)" ethtool -K cl tso off gso off gro off 2>/dev/null
bulk "offloads off"

# ---- the distributor moves --------------------------------------------------

note "--- the distributor's node dies"
plex_kill_node 1
ok "n2 takes over $A and distributes it" plex_poll 15 dist_field_is 2 $A 80 3 slots 1
# Its own listener counts once its next look at the listeners sees the
# DVIPA on eth0 (it was on lo): a tick later.
ok "n2 counts itself ready" plex_poll 15 dist_field_is 2 $A 80 2 slots 1
got=$(dist_spread "http://$A/" 60)
note "60 connections through n2: $got"
ok "n2 and n3 get 30 +-3 each ($got)" dist_counts_within "$got" 27 33 n2 n3
ok "n2 holds $A on eth0, no longer on lo" \
	test "$(plex_holders $A)" = 2 -a "$(plex_holders $A lo)" = 3
ok "n1 boots" plex_start_node 1
plex_start_http 1
ok "3 members again" plex_wait_members 3
ok "n1 takes $A back and distributes to all three" plex_poll 15 dist_field_is 1 $A 80 1 slots 1
ok "n1 counts n2 ready again" plex_poll 15 dist_field_is 1 $A 80 2 slots 1
got=$(dist_spread "http://$A/" 90)
note "90 connections after the takeback: $got"
ok "30 +-3 each again ($got)" dist_counts_within "$got" 27 33 n1 n2 n3
ok "n2 holds $A on lo again" plex_poll 5 holders_lo_are $A "2 3"

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"

note "--- a target stops"
ok "dvipad on n3 stops" plex_stop_dvipad 3
ok "n3 took $A off lo" test -z "$(plex_holders $A lo | grep -w 3)"
ok "n3 restored its ARP sysctls" \
	test "$(plex_run 3 sysctl -n net.ipv4.conf.eth0.arp_ignore)" = 0
ok "n3 detached its BPF programs" \
	sh -c "! ip netns exec $(plex_ns 3) tc filter show dev eth0 ingress | grep -q dp_ingress"

done_testing
