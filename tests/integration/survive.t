#!/bin/bash
# Connections survive a move of their DVIPA, on a 3-node plex with real
# corosync, real dvipad and real clients. n1 owns 10.0.0.10 (distributed:
# port 7 to every node, ROUNDROBIN) and 10.0.0.20 (not distributed); n2 backs
# both up with the same statement; n3 is a target only. Every node runs a
# socat echo server on port 7 and nginx answering its name on port 80; the
# client runs build/tools/echo_stream: long-lived connections, each an echo
# stream checked byte for byte.
#
#   * The distributing node dies (every process killed, its link gone) with
#     200 streams open, and comes back (takeback, MOVEABLE IMMEDIATE): every
#     stream served by n2 or n3 goes on with no reset and no byte lost or
#     duplicated; those n1 served are lost, and said so. Five times.
#   * A planned move: `dvipactl deactivate` on n1, then `reactivate`: all 200
#     streams go on, n1's own included.
#   * n1's dvipad is killed (kill -9) and started again at once: nothing
#     moves (n1's kernel forwards with the pinned flow table meanwhile, the
#     new dvipad adopts it and the DVIPA), all 200 streams go on.
#   * n1's dvipad is killed and stays down: once its leftover DVIPA expired,
#     n2 takes over; n1's dvipad starts again and takes back; all 200 go on.
#   * MOVING: streams to the non-distributed DVIPA while n2 holds it; n1
#     takes it back; new connections go to n1 while the old ones finish on
#     n2 (forwarded by n1), and the DVIPA leaves n2's lo after the last one.
#
# Throughout, the sampler checks that no DVIPA is ever on two live nodes' LAN
# interfaces. docs/distributor.md ("Takeover and takeback") says what happens.
set -e
cd "$(dirname "$0")/../.."
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh
. tests/lib/stream.sh

dist_require socat curl nginx bpftool

A=10.0.0.10 # distributed
M=10.0.0.20 # not distributed
CONNS=${SURVIVE_CONNS:-200}
CYCLES=${SURVIVE_CYCLES:-5}

plex_create 3 --id "sv$$"
dist_profiles 3 2 $A $M <<EOF
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT 7 DESTIP ALL
EOF
plex_start
plex_wait_members 3
for i in 1 2 3; do
	plex_start_http "$i"
done
stream_servers 7 1 2 3
ok "n1 holds both DVIPAs" plex_poll 20 eval "[ \"\$(plex_holders $A)\" = 1 ] && [ \"\$(plex_holders $M)\" = 1 ]"
ok "every node is ready for $A port 7" plex_poll 20 dist_all_ready $A 7
plex_sampler_start $A $M

# ---- helpers ----------------------------------------------------------------

# holder ADDR: the one node that holds ADDR on eth0.
holds()
{
	[ "$(plex_holders "$1")" = "$2" ]
}

# judge NAME DEAD: of stream NAME's connections (its report, and the node
# that served each before the fault, in $PLEX_DIR/where-NAME), those served
# by any node but DEAD must have ended ok. Sets LOST (connections of DEAD
# that did not end ok), KEPT (others ok), BAD (others not ok) and
# PAUSE_MS (the longest pause of a kept one since the mark).
judge()
{
	local out=$PLEX_DIR/stream-$1.out line
	line=$(awk -v dead="$2" '
		NR == FNR { node[$1] = $2; next }
		$1 == "conn" {
			n = node[$4]
			if (n == dead) { if ($6 != "ok") lost++; next }
			if ($6 == "ok") {
				kept++
				for (i = 1; i < NF; i++)
					if ($i == "pause_since_mark_us" && $(i + 1) > p) p = $(i + 1)
			} else {
				bad++
				print "# " $0 " (node " n ")" > "/dev/stderr"
			}
		}
		END { printf "%d %d %d %d\n", lost, kept, bad, (p + 500) / 1000 }' \
		"$PLEX_DIR/where-$1" "$out")
	read -r LOST KEPT BAD PAUSE_MS <<<"$line"
}

# start_streams NAME ADDR N: N streams to ADDR port 7, and where each is served.
start_streams()
{
	stream_start "$1" "$2" 7 -n "$3" -w 15 &&
		stream_where "$1" >"$PLEX_DIR/where-$1" &&
		! grep -q ' -$' "$PLEX_DIR/where-$1"
}

# routes_known NAME I: `show connections` on node I lists, as distributor,
# every connection of stream NAME whose server is not n1, with that server
# as its target (z/OS VCRT after a takeover).
routes_known()
{
	plex_run "$2" dvipactl show connections --json | /usr/bin/python3 -c '
import json, sys
want = {}
for line in open(sys.argv[1]):
    port, node = line.split()
    if node != "1":
        want[int(port)] = int(node)
have = {}
for c in json.load(sys.stdin)["connections"]:
    if c["seen_by"] == "distributor" and c["port"] == 7:
        have[c["client_port"]] = c["target"]["id"]
missing = [p for p, n in want.items() if have.get(p) != n]
sys.exit(1 if missing or not want else 0)' "$PLEX_DIR/where-$1"
}

# dyn_is I ADDR STATUS CONNS: `show dynamic` on node I shows ADDR so.
dyn_is()
{
	plex_run "$1" dvipactl show dynamic --json | /usr/bin/python3 -c '
import json, sys
for d in json.load(sys.stdin)["dvipas"]:
    if d["address"] == sys.argv[1]:
        sys.exit(0 if (d["status"], d["connections"]) == (sys.argv[2], int(sys.argv[3])) else 1)
sys.exit(1)' "$2" "$3" "$4"
}

served_counts()
{
	awk '{ c[$2]++ } END { for (n in c) printf "n%s=%d ", n, c[n] }' "$PLEX_DIR/where-$1"
}

# ---- the distributing node dies and comes back --------------------------------

for c in $(seq 1 "$CYCLES"); do
	ok "cycle $c: $CONNS streams through $A" start_streams "d$c" $A "$CONNS"
	note "cycle $c: served $(served_counts "d$c")"
	stream_mark "d$c"
	t0=$(plex_now_ms)
	plex_kill_node 1
	ok "cycle $c: n2 takes $A over" plex_poll 20 holds $A 2
	note "cycle $c: n2 holds $A $(($(plex_now_ms) - t0)) ms after n1 died"
	if [ "$c" = 1 ]; then
		ok "show connections on n2 lists every stream n2 and n3 serve, routed to them" \
			plex_poll 5 routes_known "d$c" 2
	fi
	sleep 3
	plex_start_node 1
	plex_wait_members 3
	plex_start_http 1
	stream_servers 7 1
	ok "cycle $c: n1 takes $A back" plex_poll 30 holds $A 1
	ok "cycle $c: every node is ready again" plex_poll 20 dist_all_ready $A 7
	sleep 2
	stream_stop "d$c" || true
	judge "d$c" 1
	is "$BAD" 0 "cycle $c: every stream n2 or n3 served ended byte-exact, never reset"
	cmp_ok "$KEPT" -gt 0 "cycle $c: n2 and n3 served some"
	note "cycle $c: $KEPT streams kept (longest pause ${PAUSE_MS} ms), $LOST of n1's lost with it"
done

# ---- a planned move: deactivate, reactivate -------------------------------------

ok "planned: $CONNS streams through $A" start_streams p $A "$CONNS"
note "planned: served $(served_counts p)"
stream_mark p
plex_run 1 dvipactl deactivate $A >/dev/null
ok "planned: n2 holds $A after deactivate" plex_poll 20 holds $A 2
sleep 2
plex_run 1 dvipactl reactivate $A >/dev/null
ok "planned: n1 holds $A after reactivate" plex_poll 20 holds $A 1
sleep 2
ok "planned: every stream ended byte-exact, never reset" stream_stop p
note "planned: longest pause ${STREAM_PAUSE_SINCE_MARK_MS} ms"

# ---- dvipad crashes on the distributor and is restarted ---------------------------

# Nothing moves: n1's kernel keeps its DVIPA and forwards with the pinned
# flow table while dvipad is down; the others wait for it (its grace), and
# the new dvipad adopts both.
activations()
{
	grep -c "DVIPA $A/24 activated" "$PLEX_DIR/n$1/log/dvipad.log" || true
}
ok "restart: $CONNS streams through $A" start_streams k $A "$CONNS"
before=$(activations 2)
stream_mark k
t0=$(plex_now_ms)
plex_kill_dvipad 1
plex_start_dvipad 1
note "restart: n1's dvipad answered again $(($(plex_now_ms) - t0)) ms after the crash"
ok "restart: n1's dvipad adopted the flow table" \
	plex_poll 10 grep -q "adopted [0-9]* connections from the flow table" "$PLEX_DIR/n1/log/dvipad.log"
ok "restart: n1 holds $A again, confirmed by the plex" \
	plex_poll 10 grep -q "DVIPA $A: kept from the earlier run" "$PLEX_DIR/n1/log/dvipad.log"
sleep 2
ok "restart: n1 held $A throughout" holds $A 1
is "$(activations 2)" "$before" "restart: n2 never took $A"
ok "restart: every stream ended byte-exact, never reset, n1's own included" stream_stop k
note "restart: longest pause ${STREAM_PAUSE_SINCE_MARK_MS} ms"

# ---- dvipad crashes and stays down: the others take over after its grace ----

ok "crash: $CONNS streams through $A" start_streams c $A "$CONNS"
stream_mark c
t0=$(plex_now_ms)
plex_kill_dvipad 1
ok "crash: n2 takes $A over once n1's leftovers expired" plex_poll 20 holds $A 2
note "crash: n2 holds $A $(($(plex_now_ms) - t0)) ms after the crash"
plex_start_dvipad 1
ok "crash: n1 takes $A back" plex_poll 30 holds $A 1
sleep 2
ok "crash: every stream ended byte-exact, never reset, n1's own included" stream_stop c
note "crash: longest pause ${STREAM_PAUSE_SINCE_MARK_MS} ms"

# ---- MOVING: a non-distributed DVIPA taken back while its holder has connections ----

plex_stop_dvipad 1
ok "MOVING: n2 takes $M while n1's dvipad is stopped" plex_poll 20 holds $M 2
ok "MOVING: 20 streams to $M, served by n2" start_streams m $M 20
is "$(served_counts m)" "n2=20 " "MOVING: all on n2"
plex_start_dvipad 1
ok "MOVING: n1 takes $M back" plex_poll 30 holds $M 1
ok "MOVING: new connections go to n1" plex_poll 10 eval "[ \"\$(plex_client curl -s -m 1 http://$M/)\" = n1 ]"
ok "MOVING: n2 keeps $M on lo for its connections" plex_has_addr 2 $M lo
ok "MOVING: show dynamic on n2 says $M MOVING with 20 connections" \
	plex_poll 5 dyn_is 2 $M MOVING 20
sleep 2
ok "MOVING: the streams n2 serves ended byte-exact, never reset" stream_stop m
ok "MOVING: $M leaves n2's lo once the last one ended" plex_poll 10 eval "! plex_has_addr 2 $M lo"
ok "MOVING: n1 still serves $M" eval "[ \"\$(plex_client curl -s -m 1 http://$M/)\" = n1 ]"

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"

done_testing
