#!/bin/bash
# DVIPA ownership on a 3-node plex with real corosync, real dvipad and a real
# client: a web server on every node answers with its name, reached through
# the DVIPA.  Owner crash, node death, takeback (IMMEDIATE and WHENIDLE),
# deactivate / reactivate (the backup takes over at once; QUIESCING while
# nobody else may), leave / join, a 1|2 partition, IPv6.
# Throughout, the sampler reads every node's addresses every few ms: a DVIPA
# is never configured on two live nodes; the only exception, a crashed
# dvipad's leftover, must vanish by itself within 5 s.
set -e
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/plex.sh

A=10.0.0.10 # n1 VIPADEFINE IMMEDIATE, n2 backup 100, n3 backup 50
W=10.0.0.20 # n1 VIPADEFINE WHENIDLE, n2 backup 100
A6=fd00::10 # n1 VIPADEFINE, n2 backup 100, n3 backup 50

plex_create 3 --ipv6
plex_set_profile 1 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 $A
  VIPADEFINE MOVEABLE WHENIDLE 255.255.255.0 $W
  VIPADEFINE MOVEABLE IMMEDIATE $A6/64
ENDVIPADYNAMIC
EOF
plex_set_profile 2 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 100 MOVEABLE IMMEDIATE 255.255.255.0 $A $W
  VIPABACKUP 100 MOVEABLE IMMEDIATE $A6/64
ENDVIPADYNAMIC
EOF
plex_set_profile 3 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 50 255.255.255.0 $A
  VIPABACKUP 50 $A6/64
ENDVIPADYNAMIC
EOF

# serving ADDR: the name of the node that answers on ADDR, or nothing.
serving()
{
	local url=http://$1/
	case $1 in *:*) url="http://[$1]/" ;; esac
	plex_client curl -s -m 0.5 "$url" 2>/dev/null || true
}

is_serving()
{
	[ "$(serving "$1")" = "$2" ]
}

# served_by ADDR NODE DESC [TIMEOUT]: one test; the time it took goes to a note.
served_by()
{
	if plex_poll "${4:-10}" is_serving "$1" "$2"; then
		ok "$3" true
		note "$3: $PLEX_WAITED_MS ms"
	else
		ok "$3 (it is '$(serving "$1")', held by '$(plex_holders "$1")')" false
	fi
}

holders_are()
{
	[ "$(plex_holders "$1")" = "$2" ]
}

lacks()
{
	! plex_has_addr "$1" "$2"
}

# The STATUS column of `show dynamic` on node I for ADDR, through --json.
status_on()
{
	plex_run "$1" dvipactl show dynamic --json | /usr/bin/python3 -c "
import json, sys
print([d['status'] for d in json.load(sys.stdin)['dvipas'] if d['address'] == sys.argv[1]][0])" "$2"
}

status_is()
{
	[ "$(status_on "$1" "$2")" = "$3" ]
}

conns_on()
{
	plex_run "$1" dvipactl show dynamic --json | /usr/bin/python3 -c "
import json, sys
print([d['connections'] for d in json.load(sys.stdin)['dvipas'] if d['address'] == sys.argv[1]][0])" "$2"
}

conns_are()
{
	[ "$(conns_on "$1" "$2")" = "$3" ]
}

# echo_server I ADDR PORT: socat echoing on node I.
echo_server()
{
	plex_run "$1" sh -c "setsid socat TCP-LISTEN:$3,bind=$2,reuseaddr,fork EXEC:cat </dev/null >/dev/null 2>&1 &"
	plex_poll 5 sh -c "ip netns exec $(plex_ns "$1") ss -ltn | grep -q ':$3 '"
}

# open_client ADDR PORT NAME: a long-lived client connection; send_client
# NAME TEXT writes a line into it, close_client NAME ends it. The input is a
# file followed by tail, so that no process the test starts meanwhile (a
# node booting) inherits a pipe and keeps the connection from ending.
open_client()
{
	: >"$PLEX_DIR/$3.in"
	plex_client sh -c "tail -s 0.05 -f '$PLEX_DIR/$3.in' | socat -t 1 - TCP:$1:$2 >'$PLEX_DIR/$3.out' 2>&1" &
	CLIENT_PID=$!
}

send_client()
{
	echo "$2" >>"$PLEX_DIR/$1.in"
}

close_client()
{
	pkill -f "tail -s 0.05 -f $PLEX_DIR/$1.in" || true
	wait "$CLIENT_PID" || true
}

ok "the plex starts" plex_start
for i in 1 2 3; do
	plex_start_http "$i"
done
ok "3 members with quorum" plex_wait_members 3
plex_sampler_start "$A" "$W" "$A6"

served_by $A n1 "n1 serves $A (VIPADEFINE)"
served_by $W n1 "n1 serves $W (VIPADEFINE)"
served_by $A6 n1 "n1 serves $A6 (VIPADEFINE)"
ok "only n1 holds $A" holders_are $A 1
ok "show dynamic on n1: ACTIVE" status_is 1 $A ACTIVE
ok "show dynamic on n2: BACKUP" status_is 2 $A BACKUP
ok "show plex --json on n2 names n1 as the owner" \
	plex_run 2 sh -c "dvipactl show plex --json | grep -q '\"address\": \"$A\", \"prefix_len\": 24, \"owner\": {\"id\": 1'"

# (a) dvipad crashes on the owner and stays down; the node stays up. Its
# DVIPAs stay until their lifetime ends; the others wait that long (a
# dvipad restarted meanwhile would adopt them), then take over.
note "--- (a) kill -9 of the owner's dvipad"
t0=$(plex_now_ms)
plex_kill_dvipad 1
ok "n1's leftover $A vanishes by itself" plex_poll 5 lacks 1 $A
note "n1's leftover $A was gone $(($(plex_now_ms) - t0)) ms after the crash"
ok "n1's leftover $A6 vanishes too" plex_poll 5 lacks 1 $A6
served_by $A n2 "then n2 (rank 100) serves $A"
note "n2 serves $A $(($(plex_now_ms) - t0)) ms after the crash"
served_by $A6 n2 "and $A6"
ok "n2 logged why it waited" grep -q "n1 (1)'s dvipad died; its DVIPAs stay where they are" "$PLEX_DIR/n2/log/dvipad.log"
ok "n1's dvipad restarts" plex_start_dvipad 1
served_by $A n1 "n1 takes $A back at once (IMMEDIATE)"
served_by $A6 n1 "and $A6"
served_by $W n1 "n1 took $W back (no connections were open)"

# (b) the owner's node dies; (c) it comes back.
note "--- (b) node death"
plex_kill_node 1
served_by $A n2 "after n1 died, n2 (the best surviving backup) serves $A"
served_by $A6 n2 "and $A6"
served_by $W n2 "and $W"
ok "n3 (rank 50) holds nothing" lacks 3 $A

# WHENIDLE: a connection to $W on n2 keeps it there after n1 returns.
echo_server 2 $W 7000
open_client $W 7000 whenidle
send_client whenidle hello-before
ok "a connection to $W on n2 echoes" plex_poll 5 grep -q hello-before "$PLEX_DIR/whenidle.out"
ok "n2 counts it" plex_poll 5 conns_are 2 $W 1

note "--- (c) n1 returns"
ok "n1 boots" plex_start_node 1
plex_start_http 1
ok "3 members again" plex_wait_members 3
served_by $A n1 "n1 takes $A back at once (IMMEDIATE)"
served_by $A6 n1 "and $A6"
sleep 1
ok "n2 keeps $W while its connection lives (WHENIDLE)" holders_are $W 2
ok "n1 shows $W MOVING (waiting for the holder to go idle)" status_is 1 $W MOVING
send_client whenidle hello-after
ok "the connection still echoes" plex_poll 5 grep -q hello-after "$PLEX_DIR/whenidle.out"
close_client whenidle
is "$(cat "$PLEX_DIR/whenidle.out")" "hello-before
hello-after" "the connection carried exactly what was sent"
served_by $W n1 "once it ended, n1 takes $W back (WHENIDLE)"
plex_run 2 pkill -f "TCP-LISTEN:7000,bind=$W" || true

# (d) deactivate / reactivate: a connection on the holder does not hold the
# DVIPA back when a backup may take it (the new owner is the one to forward
# that connection); with nobody to take over, QUIESCING while it remains.
note "--- (d) deactivate / reactivate"
echo_server 1 $A 7001
open_client $A 7001 quiesce
send_client quiesce one
ok "a connection to $A on n1 echoes" plex_poll 5 grep -q one "$PLEX_DIR/quiesce.out"
ok "n1 counts it" plex_poll 5 conns_are 1 $A 1
ok "dvipactl deactivate $A on n1" plex_run 1 dvipactl deactivate $A
served_by $A n2 "n2 serves $A at once, the connection to n1 notwithstanding"
ok "n1 no longer holds it" plex_poll 5 holders_are $A 2
ok "n1 shows $A QUIESCING: it keeps its connection, which n2 forwards" plex_poll 5 status_is 1 $A QUIESCING
send_client quiesce two
ok "the connection still echoes through n2" plex_poll 5 grep -q two "$PLEX_DIR/quiesce.out"
close_client quiesce
is "$(cat "$PLEX_DIR/quiesce.out")" "one
two" "the connection carried exactly what was sent"
ok "once it ended, n1 shows $A DEACTIVATED" plex_poll 5 status_is 1 $A DEACTIVATED
if [ "$TAP_LAST_OK" != 1 ]; then
	note "n1 shows $A $(status_on 1 $A); its sockets on port 7001:
$(plex_run 1 ss -tanoi "( sport = :7001 or dport = :7001 )" 2>&1)
n2's data plane:
$(plex_run 2 dvipactl show counters 2>&1)"
fi
out=$(plex_run 1 dvipactl deactivate $A 2>&1) && rc=0 || rc=$?
ok "deactivating twice is refused" test "$rc" = 1 -a -n "$(printf '%s' "$out" | grep already)"
out=$(plex_run 1 dvipactl deactivate 10.9.9.9 2>&1) && rc=0 || rc=$?
ok "deactivating an unknown DVIPA is refused" test "$rc" = 1 -a -n "$(printf '%s' "$out" | grep 'not a DVIPA')"
ok "dvipactl reactivate $A on n1" plex_run 1 dvipactl reactivate $A
served_by $A n1 "n1 serves $A again"
# The server's end of the first connection may still be open on n1 (the
# client's FIN went to n2, unless n2 forwarded it): closing it now that $A is
# back gets a RST at once, so that it is not counted below.
plex_run 1 pkill -f "TCP-LISTEN:7001,bind=$A" || true
echo_server 1 $A 7001
note "--- (d) with every backup deactivated"
ok "dvipactl deactivate $A on n2" plex_run 2 dvipactl deactivate $A
ok "dvipactl deactivate $A on n3" plex_run 3 dvipactl deactivate $A
open_client $A 7001 quiesce2
send_client quiesce2 one
ok "a connection to $A on n1 echoes" plex_poll 5 grep -q one "$PLEX_DIR/quiesce2.out"
ok "n1 counts it" plex_poll 5 conns_are 1 $A 1
ok "dvipactl deactivate $A on n1" plex_run 1 dvipactl deactivate $A
ok "n1 shows $A QUIESCING while the connection lives" plex_poll 5 status_is 1 $A QUIESCING
ok "and still holds it: no other node may own it" holders_are $A 1
send_client quiesce2 two
ok "the connection still echoes" plex_poll 5 grep -q two "$PLEX_DIR/quiesce2.out"
close_client quiesce2
is "$(cat "$PLEX_DIR/quiesce2.out")" "one
two" "the connection carried exactly what was sent"
ok "once it ended, no node holds $A" plex_poll 5 holders_are $A ""
ok "n1 shows $A DEACTIVATED" plex_poll 5 status_is 1 $A DEACTIVATED
ok "dvipactl reactivate $A on n3" plex_run 3 dvipactl reactivate $A
served_by $A n3 "n3 (rank 50, the only backup left) serves $A"
ok "dvipactl reactivate $A on n2" plex_run 2 dvipactl reactivate $A
sleep 1
ok "n2 (rank 100) does not take it from n3" holders_are $A 3
ok "dvipactl reactivate $A on n1" plex_run 1 dvipactl reactivate $A
served_by $A n1 "n1 serves $A again"
plex_run 1 pkill -f "TCP-LISTEN:7001,bind=$A" || true

note "--- leave / join"
ok "dvipactl leave on n1" plex_run 1 dvipactl leave
served_by $A n2 "n2 serves $A while n1 is out of the plex"
served_by $W n2 "and $W"
ok "show plex on n2 says n1 left" plex_run 2 sh -c "dvipactl show plex | grep -E '^ +1 ' | grep -q left"
ok "dvipactl join on n1" plex_run 1 dvipactl join
served_by $A n1 "n1 serves $A again"
served_by $W n1 "and $W"

note "--- drift: addresses changed by hand"
t0=$(plex_now_ms)
plex_run 1 ip addr del $A/32 dev eth0
ok "a DVIPA removed by hand from its owner is restored" plex_poll 5 plex_has_addr 1 $A
note "restored $(($(plex_now_ms) - t0)) ms after it was removed"
ok "and the owner logged it" grep -q "DVIPA $A was removed from eth0 behind dvipa's back: restored" "$PLEX_DIR/n1/log/dvipad.log"
plex_sampler_exempt 3
plex_run 3 ip addr add $A/32 dev eth0
ok "a DVIPA added by hand on a node that does not hold it is removed" plex_poll 5 lacks 3 $A
ok "and that node logged it" grep -q "DVIPA $A/32 was added to eth0 by hand but this node does not hold it: removed" "$PLEX_DIR/n3/log/dvipad.log"
plex_sampler_exempt --clear
served_by $A n1 "n1 still serves $A"

note "--- a dvipad restarted at once holds its predecessor's DVIPAs again"
plex_kill_dvipad 1
ok "the leftover is still there" plex_has_addr 1 $A
ok "dvipad restarts at once" plex_start_dvipad 1
ok "it holds the leftover again" grep -q "DVIPA $A left on eth0 by an earlier run is held again" "$PLEX_DIR/n1/log/dvipad.log"
ok "once the plex agrees" plex_poll 10 grep -q "DVIPA $A: kept from the earlier run" "$PLEX_DIR/n1/log/dvipad.log"
ok "n1 never lost $A" plex_has_addr 1 $A
served_by $A n1 "n1 serves $A"
ok "nobody else holds it" holders_are $A 1

# (e) partition: n1 alone loses quorum, n2 and n3 go on.
note "--- (e) partition 1 | 2 3"
plex_partition "1" "2 3"
served_by $A n2 "the majority (n2) serves $A" 15
ok "n1, without quorum, holds nothing" plex_poll 5 sh -c "! ip netns exec $(plex_ns 1) ip -o addr show dev eth0 | grep -qwE '$A|$W|$A6'"
plex_heal
ok "3 members after healing" plex_wait_members 3
served_by $A n1 "after healing n1 takes $A back"
ok "exactly one node holds $A" plex_poll 5 holders_are $A 1
ok "exactly one node holds $A6" plex_poll 5 holders_are $A6 1
ok "exactly one node holds $W" plex_poll 5 holders_are $W 1

ok "no DVIPA was ever on two live nodes" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"
note "a crashed dvipad's leftover overlapped the new owner for $PLEX_SAMPLER_EXEMPT_MAX_MS ms"
cmp_ok "${PLEX_SAMPLER_PERIOD_US:-99999}" -le 20000 "the sampler read every node at least every 20 ms on average"
cmp_ok "${PLEX_SAMPLER_EXEMPT_MAX_MS:-99999}" -le 5000 "a crashed dvipad's leftover overlapped the new owner for at most 5 s"

done_testing
