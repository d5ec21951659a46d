#!/bin/bash
# A live reload of the profile (dvipactl reload, SIGHUP) and operator state
# that outlives a restart of dvipad, on a 3-node plex with real corosync and
# real dvipad. n1 owns 10.0.0.10 (distributed: port 7 to every node) and
# 10.0.0.20; n2 backs both up; n3 is a target. Echo streams to both DVIPAs
# stay open through every reload and must end byte-exact with no reset.
#
#   * An unchanged reload applies nothing: the kernel's addresses, the data
#     plane's services and the displays stay as they were.
#   * Add a DVIPA, change a backup's rank, change the distribution method,
#     delete the DVIPA again, through dvipactl reload and through SIGHUP.
#   * A profile with an error is refused with file:line:col, and the node
#     keeps its profile; a new INTERFACE is refused too.
#   * quiesce, deactivate and leave survive a restart of dvipad: n2 stays
#     quiesced until resume, n1 does not take its DVIPAs back until
#     reactivate / join.
set -e
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh
. tests/lib/stream.sh

dist_require socat curl nginx bpftool

A=10.0.0.10 # distributed
M=10.0.0.20 # not distributed
X=10.0.0.30 # added and deleted by reloads
Y=10.0.0.31 # added by SIGHUP

plex_create 3 --id "rl$$"
# profile I METHOD RANK EXTRA: node I's profile (n1 owner, n2 backup with
# RANK, n3 a target only), EXTRA added to n1's and n2's statements.
profile()
{
	local i=$1 method=$2 rank=$3 extra=$4 kind
	{
		echo "INTERFACE eth0"
		echo "VIPADYNAMIC"
		if [ "$i" != 3 ]; then
			kind="VIPADEFINE MOVEABLE IMMEDIATE"
			[ "$i" = 1 ] || kind="VIPABACKUP $rank"
			echo "  $kind 255.255.255.0 $A $M"
			[ -z "$extra" ] || echo "  $kind 255.255.255.0 $extra"
			echo "  VIPADISTRIBUTE DISTMETHOD $method $A PORT 7 DESTIP ALL"
		fi
		echo "ENDVIPADYNAMIC"
	}
}
for i in 1 2 3; do
	profile "$i" ROUNDROBIN 100 "" | plex_set_profile "$i"
done
plex_start
plex_wait_members 3
for i in 1 2 3; do
	plex_start_http "$i"
done
stream_servers 7 1 2 3
ok "n1 holds both DVIPAs" plex_poll 20 eval "[ \"\$(plex_holders $A)\" = 1 ] && [ \"\$(plex_holders $M)\" = 1 ]"
ok "every node is ready for $A port 7" plex_poll 20 dist_all_ready $A 7
plex_sampler_start $A $M $X $Y
ok "streams to $A (distributed) connect" stream_start dist $A 7 -n 30 -w 15
ok "streams to $M connect" stream_start plain $M 7 -n 10 -w 15

holds()
{
	[ "$(plex_holders "$1")" = "$2" ]
}

# kernel_state I: what reloads must not touch on node I: its addresses
# (without their lifetimes, which count down) and the data plane's service
# table.
kernel_state()
{
	plex_run "$1" ip -o addr show | awk '{ print $2, $3, $4 }' | sort
	plex_run "$1" bpftool map dump name dist_services 2>/dev/null || true
}

# dist_all_ready_but I: n1 has n2's facts again (its target list names it).
dist_all_ready_but()
{
	[ "$(dist_port_field 1 $A 7 "$1" flags)" != none ]
}

reload()
{
	plex_run "$1" dvipactl reload
}

# ---- an unchanged reload ------------------------------------------------------
before=$(kernel_state 1)
ports_before=$(plex_run 1 dvipactl show ports)
out=$(reload 1)
ok "an unchanged profile: nothing applied" grep -q "unchanged; nothing applied" <<<"$out"
is "$(kernel_state 1)" "$before" "the kernel's addresses and services are untouched"
is "$(plex_run 1 dvipactl show ports)" "$ports_before" "show ports is unchanged"

# ---- add a DVIPA --------------------------------------------------------------
profile 2 ROUNDROBIN 100 $X | plex_set_profile 2
profile 1 ROUNDROBIN 100 $X | plex_set_profile 1
ok "n2 reloads its new backup" reload 2
out=$(reload 1)
ok "n1's reload names the added VIPADEFINE" grep -q "^+ VIPADEFINE MOVEABLE IMMEDIATE $X/24" <<<"$out"
ok "n1 holds the added $X" plex_poll 10 holds $X 1
ok "n1 still holds $A and $M" eval "holds $A 1 && holds $M 1"
ok "the new DVIPA answers" plex_poll 10 eval "plex_client curl -s -m 2 http://$X/ | grep -q n1"
ok "show config has it" eval "plex_run 1 dvipactl show config | grep -q '$X/24'"

# ---- change a backup's rank ------------------------------------------------------
profile 2 ROUNDROBIN 120 $X | plex_set_profile 2
out=$(reload 2)
ok "n2's reload names the old and new rank" \
	eval "grep -q '^- VIPABACKUP 100 $M/24' <<<\"\$out\" && grep -q '^+ VIPABACKUP 120 $M/24' <<<\"\$out\""
rank=$(plex_run 2 dvipactl show dynamic --json | /usr/bin/python3 -c '
import json, sys
for d in json.load(sys.stdin)["dvipas"]:
    if d["address"] == sys.argv[1]:
        print(d["rank"])' $M)
is "$rank" 120 "n2's rank for $M is 120"
ok "nothing moved" eval "holds $A 1 && holds $M 1 && holds $X 1"

# ---- change the distribution method --------------------------------------------
profile 2 BASEWLM 120 $X | plex_set_profile 2
profile 1 BASEWLM 100 $X | plex_set_profile 1
ok "n2 reloads the new method" reload 2
out=$(reload 1)
ok "n1's reload names the new VIPADISTRIBUTE" grep -q "^+ VIPADISTRIBUTE DEFINE DISTMETHOD BASEWLM $A PORT 7" <<<"$out"
ok "show ports says BASEWLM" plex_poll 10 eval "[ \"\$(dist_port_field 1 $A 7 - method)\" = BASEWLM ]"
ok "new connections are still distributed" stream_start fresh $A 7 -n 9 -d 1 -w 5
ok "and end byte-exact" stream_stop fresh

# ---- a bad profile is refused -------------------------------------------------------
good=$(plex_run 1 dvipactl show config)
{ profile 1 BASEWLM 100 ""; echo "VIPADEFINE 255.255.255.0 10.0.0.300"; } | plex_set_profile 1
out=$(reload 1 2>&1) && rc=0 || rc=$?
ok "a profile with an error is refused" test "$rc" != 0
ok "the error names file, line and column" grep -q "/etc/dvipa/dvipa.conf:[0-9]*:[0-9]*:" <<<"$out"
ok "and says the profile in effect stays" grep -q "the profile in effect stays" <<<"$out"
is "$(plex_run 1 dvipactl show config)" "$good" "show config is the profile in effect"
ok "n1 still holds $X" holds $X 1
profile 1 BASEWLM 100 $X | sed 's/eth0/eth9/' | plex_set_profile 1
out=$(reload 1 2>&1) && rc=0 || rc=$?
ok "a new INTERFACE is refused" eval "[ $rc != 0 ] && grep -q 'INTERFACE eth0 cannot become eth9' <<<\"\$out\""

# ---- delete the DVIPA again -------------------------------------------------------
profile 2 BASEWLM 120 "" | plex_set_profile 2
profile 1 BASEWLM 100 "" | plex_set_profile 1
ok "n2 reloads without $X" reload 2
out=$(reload 1)
ok "n1's reload names the deleted VIPADEFINE" grep -q "^- VIPADEFINE MOVEABLE IMMEDIATE $X/24" <<<"$out"
ok "$X is gone from every node" plex_poll 10 holds $X ""
ok "n1 still holds $A and $M" eval "holds $A 1 && holds $M 1"

# ---- SIGHUP ---------------------------------------------------------------------------
pid=$(plex_dvipad_pid 1)
profile 1 BASEWLM 100 $Y | plex_set_profile 1
kill -HUP "$pid"
ok "SIGHUP: n1 holds the added $Y" plex_poll 10 holds $Y 1
is "$(plex_dvipad_pid 1)" "$pid" "SIGHUP does not stop dvipad"
ok "the log says what SIGHUP applied" plex_poll 5 grep -q "reload:   + VIPADEFINE MOVEABLE IMMEDIATE $Y/24" "$PLEX_DIR/n1/log/dvipad.log"
profile 1 BASEWLM 100 "" | plex_set_profile 1
kill -HUP "$pid"
ok "SIGHUP: $Y is deleted again" plex_poll 10 holds $Y ""

# ---- the streams went on throughout ------------------------------------------------
ok "every stream to $A ended byte-exact, none reset" stream_stop dist
is "$STREAM_RESET/$STREAM_LOST_BYTES" "0/0" "resets/lost bytes to $A"
ok "every stream to $M ended byte-exact, none reset" stream_stop plain

# ---- operator state across a restart ------------------------------------------------
quiesced()
{
	dist_port_field 1 $A 7 2 flags | grep -q QUIESCED
}
ok "n2 quiesces port 7" plex_run 2 dvipactl quiesce --port 7
ok "n1 sees n2 quiesced" plex_poll 10 quiesced
plex_stop_dvipad 2
plex_start_dvipad 2
ok "n2's dvipad says port 7 stays quiesced" plex_poll 10 grep -q "operator state: port 7 stays quiesced" "$PLEX_DIR/n2/log/dvipad.log"
ok "n1 sees n2 quiesced after its restart" plex_poll 10 eval "dist_all_ready_but 2 && quiesced"
ok "n2 resumes" plex_run 2 dvipactl resume --port 7
ok "n1 sees n2 no longer quiesced" plex_poll 10 eval "! quiesced"

ok "n1 deactivates $M" plex_run 1 dvipactl deactivate $M
ok "$M moves to n2" plex_poll 15 holds $M 2
plex_stop_dvipad 1
plex_start_dvipad 1
ok "n1's dvipad says the deactivate stays" plex_poll 10 grep -q "operator state: $M stays deactivated" "$PLEX_DIR/n1/log/dvipad.log"
ok "n1 takes $A back" plex_poll 20 holds $A 1
ok "$M stays on n2 after the restart" holds $M 2
sleep 2
ok "and still after 2 s" holds $M 2
ok "n1 reactivates $M" plex_run 1 dvipactl reactivate $M
ok "$M comes back to n1" plex_poll 15 holds $M 1

ok "n1 leaves the plex" plex_run 1 dvipactl leave
ok "both DVIPAs move to n2" plex_poll 15 eval "holds $A 2 && holds $M 2"
plex_stop_dvipad 1
plex_start_dvipad 1
ok "n1's dvipad says it stays out" plex_poll 10 grep -q "operator state: this node stays out of the plex" "$PLEX_DIR/n1/log/dvipad.log"
sleep 3
ok "n1 still holds nothing after the restart" eval "holds $A 2 && holds $M 2"
ok "n1 joins" plex_run 1 dvipactl join
ok "n1 takes both back" plex_poll 20 eval "holds $A 1 && holds $M 1"
ok "the operator state file is gone" test ! -e "$PLEX_DIR/n1/varlib-upper/dvipa/operator"

ok "no DVIPA was ever on two nodes at once" plex_sampler_stop
done_testing
