#!/bin/bash
# How the distributor reaches its targets, on a 3-node plex with real
# corosync, real dvipad and real clients: n1 owns and distributes 10.0.0.10
# and fd00::10 port 80 ROUNDROBIN to n2 and n3 (nginx answering its name);
# its profile names n3 in VIPAROUTE DEFINE. Checked: dvipad forwards to n2
# directly, by its MAC (n1's `forward` counter, nothing decapsulated on n2)
# and logs it; n3 is encapsulated to (n1's `encap`, n3's `decap`) and n1
# says why; both get their half, over IPv4 and IPv6; two 20 MB uploads (one
# to each target) arrive byte-exact; after a restart of n1's dvipad with a profile without
# VIPAROUTE, n3 is direct too, and after one with VIPAROUTE DEFINE ALL both
# are encapsulated to. The sampler checks that no DVIPA is ever on two nodes'
# LAN interfaces. docs/distributor.md describes what is checked.
set -e
cd "$(dirname "$0")/../.."
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require socat curl nginx bpftool sha256sum

A=10.0.0.10
A6=fd00::10
N2=$(plex_ip 2)
N3=$(plex_ip 3)
N26=$(plex_ip6 2)
N36=$(plex_ip6 3)
MB=20

plex_create 3 --ipv6 --id "vr$$"

# profile VIAROUTE_LINES: n1's profile with these VIPAROUTE statements.
profile()
{
	dist_profiles 3 0 $A $A6 <<EOF
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT 80 9000 DESTIP $N2 $N3
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A6 PORT 80 DESTIP $N26 $N36
$1
EOF
}
profile "  VIPAROUTE DEFINE $N3
  VIPAROUTE DEFINE $N36"

ok "the plex starts" plex_start
for i in 2 3; do
	plex_start_http "$i"
done
ok "3 members with quorum" plex_wait_members 3
plex_sampler_start "$A" "$A6"

ready()
{
	local n
	for n in 2 3; do
		[ "$(dist_port_field 1 "$A" 80 "$n" slots)" = 1 ] &&
			[ "$(dist_port_field 1 "$A6" 80 "$n" slots)" = 1 ] || return 1
	done
}
ok "n2 and n3 are ready for $A:80 and [$A6]:80" plex_poll 20 ready

logged()
{
	grep -q "$1" "$PLEX_DIR/n1/log/dvipad.log"
}
mac2=$(plex_run 2 cat /sys/class/net/eth0/address)
ok "n1 logs that it forwards to n2 directly, by its MAC ($mac2)" \
	plex_poll 10 logged "target $N2 forwarded to directly (MAC $mac2)"
ok "and to n2's IPv6 plex address" plex_poll 10 logged "target $N26 forwarded to directly (MAC $mac2)"
ok "n1 logs that it encapsulates to n3 (VIPAROUTE)" \
	plex_poll 10 logged "target $N3 encapsulated to (VIPAROUTE)"
ok "n1 never forwards to n3 directly" eval '! logged "target $N3 forwarded to directly"'

# spread_checked URL LABEL: 40 connections, 20 each, nothing lost.
spread_checked()
{
	local got
	got=$(dist_spread "$1" 40)
	note "$2: 40 connections: $got"
	dist_counts_within "$got" 20 20 n2 n3
}

f0=$(dist_counter 1 forward)
e0=$(dist_counter 1 encap)
d2=$(dist_counter 2 decap)
d3=$(dist_counter 3 decap)
ok "IPv4: n2 and n3 get 20 of 40 each" spread_checked "http://$A/" IPv4
ok "IPv6: n2 and n3 get 20 of 40 each" spread_checked "http://[$A6]/" IPv6
f1=$(dist_counter 1 forward)
e1=$(dist_counter 1 encap)
d2b=$(dist_counter 2 decap)
d3b=$(dist_counter 3 decap)
note "n1: forward +$((f1 - f0)), encap +$((e1 - e0)); decap: n2 +$((d2b - d2)), n3 +$((d3b - d3))"
ok "n1 sent n2's packets directly (forward +$((f1 - f0)))" test $((f1 - f0)) -ge 80
ok "n1 encapsulated n3's (encap +$((e1 - e0)))" test $((e1 - e0)) -ge 80
ok "n2 decapsulated nothing, n3 its share" test "$d2b" = "$d2" -a $((d3b - d3)) -ge 80

# ---- bulk through the direct target ------------------------------------------

DATA=$PLEX_DIR/data
head -c $((MB * 1000000)) /dev/urandom >"$DATA"
SUM=$(sha256sum <"$DATA" | cut -d' ' -f1)
plex_run 2 sh -c "setsid socat TCP6-LISTEN:9000,reuseaddr,fork SYSTEM:sha256sum </dev/null >/dev/null 2>&1 &"
plex_run 3 sh -c "setsid socat TCP6-LISTEN:9000,reuseaddr,fork SYSTEM:sha256sum </dev/null >/dev/null 2>&1 &"
both_ready_9000()
{
	[ "$(dist_port_field 1 "$A" 9000 2 slots)" = 1 ] && [ "$(dist_port_field 1 "$A" 9000 3 slots)" = 1 ]
}
ok "n2 and n3 are ready for $A:9000" plex_poll 20 both_ready_9000
# Two uploads: round robin gives one to each target, the direct one and the
# encapsulated one.
for k in 1 2; do
	got=$(plex_client timeout 60 socat -t 30 STDIO "TCP:$A:9000" <"$DATA" | cut -d' ' -f1) || true
	is "$got" "$SUM" "upload $k: $MB MB through n1 arrive byte-exact"
done

# ---- the profile changes, live ------------------------------------------------

# restart VIAROUTE_LINES: n1's dvipad again, with this profile (dvipad reads
# its profile when it starts); n1 takes its DVIPAs back.
restart()
{
	profile "$1"
	: >"$PLEX_DIR/n1/log/dvipad.log"
	plex_restart_dvipad 1 >/dev/null && plex_poll 30 ready
}
ok "n1's dvipad restarts with a profile without VIPAROUTE" restart ""
ok "without VIPAROUTE, n1 forwards to n3 directly too" \
	plex_poll 10 logged "target $N3 forwarded to directly"
e0=$(dist_counter 1 encap)
ok "IPv4, all direct: 20 of 40 each" spread_checked "http://$A/" "IPv4, all direct"
ok "nothing encapsulated" test "$(dist_counter 1 encap)" = "$e0"

ok "n1's dvipad restarts with VIPAROUTE DEFINE ALL" restart "  VIPAROUTE DEFINE ALL"
ok "with VIPAROUTE DEFINE ALL, n1 encapsulates to n2" \
	plex_poll 10 logged "target $N2 encapsulated to (VIPAROUTE)"
f0=$(dist_counter 1 forward)
ok "IPv4, all encapsulated: 20 of 40 each" spread_checked "http://$A/" "IPv4, all encapsulated"
ok "nothing forwarded directly" test "$(dist_counter 1 forward)" = "$f0"
ok "n1 forwards to no target directly, nor says so" eval '! logged "forwarded to directly"'
ok "n1 dropped nothing for TTL" test "$(dist_counter 1 ttl_exceeded)" = 0

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"

done_testing
