#!/bin/bash
# scripts/demo.sh — a dvipa plex to play with on this machine: 3 nodes and a
# client on one bridge, each node with corosync, dvipad (once built) and a
# small web server that says which node answered.  `make demo` runs
# `scripts/demo.sh start` after building; `make demo-stop` removes it all.
#
#   scripts/demo.sh start | stop | restart | status
#   scripts/demo.sh exec I CMD...     run CMD in node I (dvipactl is on PATH)
#   scripts/demo.sh enter I           a shell in node I
#   scripts/demo.sh client CMD...     run CMD in the client
#   scripts/demo.sh kill I | boot I   node I dies at once / boots again
#   scripts/demo.sh cut I | heal I    unplug / replug node I's cable
#   scripts/demo.sh logs I            the tail of node I's logs
#
# The plex is tests/lib/plex.sh's, with the fixed id "dvdemo": its namespaces
# are dvdemo-n1..3, dvdemo-cl, dvdemo-br, and its registry entry
# /run/dvipa-plex/dvdemo records where its state and logs are.
set -e
cd "$(dirname "$0")/.."
. tests/lib/plex.sh

DEMO_ID=dvdemo
DEMO_DVIPA=$PLEX_NET4.10
DEMO_DVIPA6=${PLEX_NET6}10
DEMO_N=3
ME=scripts/demo.sh

demo_running()
{
	[ -e "$PLEX_REGISTRY/$DEMO_ID" ]
}

demo_profiles()
{
	plex_set_profile 1 <<EOF
# Node 1 owns the DVIPAs and distributes port 80 of $DEMO_DVIPA to every node.
INTERFACE eth0
VIPADYNAMIC
  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 $DEMO_DVIPA
  VIPADEFINE MOVEABLE IMMEDIATE $DEMO_DVIPA6/64
  VIPADISTRIBUTE DEFINE DISTMETHOD ROUNDROBIN $DEMO_DVIPA PORT 80 DESTIP ALL
ENDVIPADYNAMIC
EOF
	plex_set_profile 2 <<EOF
# Node 2 is the first backup (rank 100) and distributes when it takes over.
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 100 MOVEABLE IMMEDIATE 255.255.255.0 $DEMO_DVIPA
  VIPABACKUP 100 MOVEABLE IMMEDIATE $DEMO_DVIPA6/64
  VIPADISTRIBUTE DEFINE DISTMETHOD ROUNDROBIN $DEMO_DVIPA PORT 80 DESTIP ALL
ENDVIPADYNAMIC
EOF
	plex_set_profile 3 <<EOF
# Node 3 is the second backup (rank 50).
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 50 MOVEABLE IMMEDIATE 255.255.255.0 $DEMO_DVIPA
  VIPABACKUP 50 MOVEABLE IMMEDIATE $DEMO_DVIPA6/64
ENDVIPADYNAMIC
EOF
}

demo_show()
{
	local i
	if [ -x "$PLEX_BUILD/dvipad" ]; then
		for i in $(seq 1 "$PLEX_N"); do
			echo "=== node $i: dvipactl show config"
			plex_run "$i" dvipactl show config 2>&1 || echo "(no answer)"
		done
	else
		echo "=== $PLEX_BUILD/dvipad is not built: the nodes run corosync only"
	fi
	echo "=== corosync membership, as node 1 sees it (corosync-quorumtool -s)"
	plex_run 1 corosync-quorumtool -s 2>&1 || true
	if [ -x "$PLEX_BUILD/dvipad" ]; then
		# The owner activates its DVIPAs a moment after the membership forms.
		plex_poll 5 plex_has_addr 1 "$DEMO_DVIPA" || true
		echo "=== the plex, as node 2 sees it (dvipactl show plex)"
		plex_run 2 dvipactl show plex 2>&1 || echo "(no answer)"
		for i in $(seq 1 "$PLEX_N"); do
			echo "=== node $i: dvipactl show dynamic"
			plex_run "$i" dvipactl show dynamic 2>&1 || echo "(no answer)"
		done
		echo "=== the client asks http://$DEMO_DVIPA/ six times (port 80 is distributed round robin):"
		for i in 1 2 3 4 5 6; do
			plex_client curl -s -m 2 "http://$DEMO_DVIPA/" || echo "(no answer)"
		done
	fi
}

demo_help()
{
	local i
	cat <<EOF

The dvipa demo plex is running (id $DEMO_ID, state and logs in $PLEX_DIR):
  node 1  $(plex_ip 1)/24  $(plex_ip6 1)/64   VIPADEFINE $DEMO_DVIPA (port 80 distributed), $DEMO_DVIPA6
  node 2  $(plex_ip 2)/24  $(plex_ip6 2)/64   VIPABACKUP 100
  node 3  $(plex_ip 3)/24  $(plex_ip6 3)/64   VIPABACKUP 50
  client  $PLEX_CLIENT_IP/24  $PLEX_CLIENT_IP6/64
Each node runs a web server on port 80 that answers with its name.

Run a command in a node:
  $ME exec 1 dvipactl show dynamic
  $ME enter 2                     (a shell in node 2; 'exit' to leave)
EOF
	for i in $(seq 1 "$PLEX_N"); do
		plex_node_up "$i" && echo "  $(plex_enter_cmd "$i") $PLEX_BUILD/dvipactl show config    (node $i)"
	done
	cat <<EOF
From the client:
  $ME client curl -s http://$DEMO_DVIPA/
  ip netns exec $(plex_ns_client) curl -s http://[$DEMO_DVIPA6]/
Faults:
  $ME kill 1     (node 1 dies)      $ME boot 1    (it comes back)
  $ME cut 1      (cable unplugged)  $ME heal 1    (plugged again)
  $ME status     (membership and who holds the DVIPAs)
Logs: $PLEX_DIR/nI/log/  ($ME logs I)
Stop: make demo-stop
EOF
}

demo_status()
{
	local i
	for i in $(seq 1 "$PLEX_N"); do
		if plex_node_up "$i"; then
			# shellcheck disable=SC2046 # "MEMBERS QUORATE" into $1 $2
			set -- $(plex_view "$i")
			echo "node $i: up; corosync: members ${1:-?}, quorate ${2:-?}; addresses: $(plex_addrs "$i" | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }')"
		else
			echo "node $i: down"
		fi
	done
	echo "$DEMO_DVIPA held on eth0 by: $(plex_holders "$DEMO_DVIPA")"
	echo "$DEMO_DVIPA6 held on eth0 by: $(plex_holders "$DEMO_DVIPA6")"
}

demo_start()
{
	if demo_running; then
		plex_attach "$DEMO_ID"
		echo "demo: a demo plex is already running; 'make demo-stop' (or '$ME restart') first."
		demo_help
		return 0
	fi
	# The plex outlives this script: no owner, no trap.  A failure on the
	# way removes what was built.
	PLEX_OWNER=0 PLEX_NO_TRAP=1 plex_create "$DEMO_N" --ipv6 --id "$DEMO_ID"
	trap 'rc=$?; if [ $rc != 0 ]; then echo "demo: failed, removing the plex" >&2; plex_destroy; fi' EXIT
	demo_profiles
	plex_start
	plex_wait_members "$DEMO_N" 30
	echo "demo: $DEMO_N members with quorum"
	for i in $(seq 1 "$DEMO_N"); do
		plex_start_http "$i" 80
	done
	demo_show
	demo_help
	trap - EXIT
}

demo_stop()
{
	if ! demo_running; then
		echo "demo: no demo plex is running"
		return 0
	fi
	plex_attach "$DEMO_ID"
	plex_destroy
	echo "demo: stopped and removed"
}

demo_attach()
{
	demo_running || { echo "demo: no demo plex is running ('make demo' starts one)" >&2; return 1; }
	plex_attach "$DEMO_ID"
}

cmd=${1:-}
shift || true
case $cmd in
start) demo_start ;;
stop) demo_stop ;;
restart)
	demo_stop
	demo_start
	;;
status)
	demo_attach
	demo_status
	;;
exec)
	demo_attach
	i=$1
	shift
	plex_run "$i" "$@"
	;;
enter)
	demo_attach
	PS1="[demo node $1] \w# " plex_run "$1" bash --norc -i
	;;
client)
	demo_attach
	plex_client "$@"
	;;
kill)
	demo_attach
	plex_kill_node "$1"
	;;
boot)
	demo_attach
	plex_start_node "$1"
	plex_start_http "$1" 80
	;;
cut)
	demo_attach
	plex_cut_link "$1"
	;;
heal)
	demo_attach
	plex_heal_link "$1"
	;;
logs)
	demo_attach
	plex_logs "$1" 50 2>&1
	;;
*)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
	[ "$cmd" = help ] || [ "$cmd" = -h ] || exit 2
	;;
esac
