#!/bin/bash
# TIMEDAFFINITY on a 3-node plex with real corosync, real dvipad and real
# clients: n1 owns the DVIPA and distributes port 80 ROUNDROBIN with
# TIMEDAFFINITY 3 (port 8080 without), n2 backs it up with the same
# statements, n3 is a target only. Every node runs nginx answering its name;
# the client has two addresses. Checked: one client address sticks to one
# target over 30 connections, a second address is dispatched to the next
# target and sticks too; after 3 s without connection the client is
# dispatched again (to the target the round robin has reached, which the
# order of the dispatches so far makes known); an open connection keeps the
# affinity past 3 s, and its end starts the 3 s; a quiesced target loses
# its sticky client; IPv6 alike; without TIMEDAFFINITY the round robin is
# exact. Throughout, the sampler checks that no DVIPA is ever on two nodes'
# LAN interfaces. docs/distributor.md describes what is checked.
set -e
cd "$(dirname "$0")/../.."
# corosync's default token, as distribute.t: a membership change makes the
# distributor give the DVIPA up, and its affinities with it.
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require socat curl nginx

A=10.0.0.10
A6=fd00::10
N16=$(plex_ip6 1)
N26=$(plex_ip6 2)
N36=$(plex_ip6 3)
# TIMEDAFFINITY in seconds, and a pause that outlasts it.
T=3
PAUSE=3.6
C1=$PLEX_CLIENT_IP
C2=${PLEX_NET4}.101

# An id of its own: other runs reap their stale "dv<PID>" plexes by name.
plex_create 3 --ipv6 --id "af$$"
# n1 owns the DVIPAs, n2 backs them up with the same statements.
dist_profiles 3 2 $A $A6 <<EOF
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN TIMEDAFFINITY $T $A PORT 80 DESTIP ALL
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT 8080 DESTIP ALL
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN TIMEDAFFINITY $T $A6 PORT 80 DESTIP $N16 $N26 $N36
EOF

# ---- helpers ----------------------------------------------------------------

all_ready()
{
	local n
	for n in 1 2 3; do
		[ "$(dist_port_field 1 "$1" "$2" "$n" slots)" = 1 ] || return 1
	done
}

ready_everywhere()
{
	all_ready $A 80 && all_ready $A 8080 && all_ready $A6 80
}

# hold: one connection from the first client address to $A:80 that sends
# nothing (nginx waits 60 s for its request), open until unhold. The
# process itself (not a shell function), so that its PID ends it.
HELD=
hold()
{
	ip netns exec "$(plex_ns_client)" socat -u "TCP:$A:80,bind=$C1" STDOUT >/dev/null 2>&1 &
	HELD=$!
	plex_poll 5 held_open
}

held_open()
{
	ip netns exec "$(plex_ns_client)" ss -Htn state established dst "$A:80" | grep -q .
}

unhold()
{
	kill "$HELD" 2>/dev/null || true
	wait "$HELD" 2>/dev/null || true
	HELD=
}

# sticky "nK=N" N: every one of N connections went to one target; prints it.
sticky()
{
	case $1 in
	n[1-3]=$2) echo "${1%%=*}" ;;
	*) return 1 ;;
	esac
}

is_sticky()
{
	sticky "$@" >/dev/null
}

# ---- start ------------------------------------------------------------------

ok "the plex starts" plex_start
for i in 1 2 3; do
	plex_start_http "$i"
	plex_start_http "$i" 8080
done
ok "3 members with quorum" plex_wait_members 3
plex_sampler_start "$A" "$A6"
ip -n "$(plex_ns_client)" addr add "$C2/24" dev eth0
ok "every target is ready for $A:80, $A:8080, [$A6]:80 on the distributor" \
	plex_poll 15 ready_everywhere
is "$(dist_port_field 1 $A 80 - timedaffinity)" "$T" "show ports on n1: $A:80 has TIMEDAFFINITY $T"
is "$(dist_port_field 1 $A 8080 - timedaffinity)" 0 "show ports on n1: $A:8080 has none"
is "$(dist_port_field 2 $A 80 - timedaffinity)" "$T" "show ports on n2 (not distributing) says the same"

# ---- holds ------------------------------------------------------------------

note "--- affinity holds"
got=$(dist_spread "http://$A/" 30 --interface "$C1")
note "30 connections from $C1: $got"
T1=$(sticky "$got" 30) || T1=
ok "every connection from $C1 goes to one target ($got)" test -n "$T1"
got=$(dist_spread "http://$A/" 30 --interface "$C2")
note "30 connections from $C2: $got"
T2=$(sticky "$got" 30) || T2=
ok "every connection from $C2 goes to one target ($got)" test -n "$T2"
# A client held by its affinity takes no slot of the round robin: the
# second address's first connection took the slot after the first's.
ok "the second address was dispatched to the next target ($T1, $T2)" \
	test -n "$T2" -a "$T2" != "$T1"

got=$(dist_spread "http://$A:8080/" 30 --interface "$C1")
note "30 connections to port 8080 (no TIMEDAFFINITY) from $C1: $got"
# each_within LO HI "n1=K n2=K n3=K": three targets, each LO..HI, nothing
# else (no failure).
each_within()
{
	local lo=$1 hi=$2 w n=0
	for w in $3; do
		case $w in n[0-9]*=*) ;; *) return 1 ;; esac
		[ "${w#*=}" -ge "$lo" ] && [ "${w#*=}" -le "$hi" ] || return 1
		n=$((n + 1))
	done
	[ "$n" -eq 3 ]
}
# 10 each, give or take one: a target's health a point below 100 after a
# slow connection on a loaded host makes the table nearly, not exactly, even.
ok "without TIMEDAFFINITY the round robin alone ($got)" each_within 9 11 "$got"

# ---- expires ----------------------------------------------------------------

note "--- affinity expires"
sleep "$PAUSE"
got=$(dist_spread "http://$A/" 30 --interface "$C1")
note "30 connections from $C1 after ${PAUSE} s without any: $got"
T3=$(sticky "$got" 30) || T3=
ok "its affinity ran out: dispatched to the third target, and sticks ($T1, $T2, $got)" \
	test -n "$T3" -a "$T3" != "$T1" -a "$T3" != "$T2"

# ---- an open connection keeps it --------------------------------------------

note "--- an open connection keeps the affinity"
ok "a connection from $C1 is open" hold
sleep "$PAUSE"
got=$(dist_spread "http://$A/" 10 --interface "$C1")
note "10 connections from $C1 ${PAUSE} s later, one connection open all along: $got"
is "$got" "$T3=10" "an open connection keeps the affinity past $T s"
unhold
got=$(dist_spread "http://$A/" 10 --interface "$C1")
is "$got" "$T3=10" "right after it ends the affinity still holds"
sleep "$PAUSE"
got=$(dist_spread "http://$A/" 10 --interface "$C1")
note "10 connections from $C1 ${PAUSE} s after the last ended: $got"
# Three dispatches so far: the round robin is back at the first target.
is "$got" "$T1=10" "$T s after the last connection ended: dispatched again (to $T1)"

# ---- quiesce ----------------------------------------------------------------

note "--- a quiesced target loses its sticky client"
Q=${T1#n}
ok "dvipactl quiesce --port 80 on $T1" dist_quiet plex_run "$Q" dvipactl quiesce --port 80
want=QUIESCED
[ "$Q" != 1 ] || want=LOCAL,QUIESCED
ok "n1 shows $T1 $want for port 80" plex_poll 5 dist_field_is 1 $A 80 "$Q" flags "$want"
got=$(dist_spread "http://$A/" 10 --interface "$C1")
note "10 connections from $C1, sticky to $T1, with $T1 quiesced: $got"
T4=$(sticky "$got" 10) || T4=
ok "none goes to the quiesced $T1; the client sticks to another ($got)" \
	test -n "$T4" -a "$T4" != "$T1"
# An open connection keeps the new affinity however long the resume takes.
ok "a connection from $C1 is open (to $T4)" hold
ok "dvipactl resume on $T1" dist_quiet plex_run "$Q" dvipactl resume
ok "n1 shows $T1 ready again" plex_poll 5 dist_field_is 1 $A 80 "$Q" slots 1
got=$(dist_spread "http://$A/" 10 --interface "$C1")
is "$got" "$T4=10" "resumed, $T1 does not take the client back while its affinity holds"
unhold

# ---- IPv6 -------------------------------------------------------------------

note "--- IPv6"
got=$(dist_spread "http://[$A6]/" 30)
note "30 connections to [$A6]:80: $got"
ok "every IPv6 connection goes to one target ($got)" is_sticky "$got" 30

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"

done_testing
