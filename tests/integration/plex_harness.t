#!/bin/bash
# The test plex itself: corosync membership and quorum through node death,
# reboot, partition and a cut cable; the invariant sampler (it must catch a
# DVIPA on two nodes and keep its period); dvipad answering on every node when
# it is built; and nothing left behind, even by a killed test.
# shellcheck disable=SC2317 # helpers called through ok
set -e
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/plex.sh

DVIPA4=10.0.0.10
DVIPA4B=10.0.0.11
DVIPA6=fd00::10

# The plex's fault scenarios, timed.
elapsed()
{
	echo $(($(plex_now_ms) - $1))
}

reaches()
{
	"$@" >/dev/null 2>&1
}

cannot_reach()
{
	! "$@" >/dev/null 2>&1
}

nothing_left()
{
	local id=$1
	! ip netns list | grep -q "^$id-" &&
		[ ! -e "$PLEX_REGISTRY/$id" ] &&
		! ls -d "${TMPDIR:-/tmp}/dvipa-plex.$id."* >/dev/null 2>&1
}

processes_gone()
{
	local pid
	for pid in "$@"; do
		_plex_alive "$pid" && return 1
	done
	return 0
}

# ------------------------------------------------------------ the plex
plex_create 3 --ipv6
plex_set_profile 1 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4
  VIPADEFINE MOVEABLE IMMEDIATE $DVIPA6/64
  VIPABACKUP 100 MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4B
ENDVIPADYNAMIC
EOF
plex_set_profile 2 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 100 MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4
  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4B
ENDVIPADYNAMIC
EOF
plex_set_profile 3 <<EOF
INTERFACE eth0
VIPADYNAMIC
  VIPABACKUP 50 MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4
  VIPABACKUP 50 MOVEABLE IMMEDIATE $DVIPA6/64
ENDVIPADYNAMIC
EOF

t0=$(plex_now_ms)
ok "3 nodes start" plex_start
ok "3 members with quorum" plex_wait_members 3
note "corosync up and 3 members $(elapsed "$t0") ms after start"
for i in 1 2 3; do
	is "$(plex_view "$i")" "1,2,3 1" "node $i sees 1,2,3 and quorum"
done
ok "the client reaches node 1 over IPv4" reaches plex_client ping -c1 -W2 "$(plex_ip 1)"
ok "the client reaches node 3 over IPv6" reaches plex_client ping -c1 -W2 "$(plex_ip6 3)"
ok "node 2 reaches node 3" reaches plex_run 2 ping -c1 -W2 "$(plex_ip 3)"
ok "node 1 has its own /etc/corosync" plex_run 1 grep -q "logfile: $PLEX_DIR/n1/" /etc/corosync/corosync.conf
ok "node 1 has its own /etc/dvipa" plex_run 1 grep -q "VIPADEFINE" /etc/dvipa/dvipa.conf

if [ -x "$PLEX_BUILD/dvipad" ]; then
	for i in 1 2 3; do
		ok "dvipactl show config answers on node $i" reaches plex_run "$i" dvipactl show config
	done
else
	skip "dvipactl show config on every node" "build/dvipad is not built"
fi

# ------------------------------------------------------------ the sampler catches a conflict
# An address no profile names, put on two nodes by hand.
FAKE=10.0.0.99
PLEX_SAMPLER_PERIOD_MS=2
plex_sampler_start "$FAKE"
ip -n "$(plex_ns 1)" addr add "$FAKE/24" dev eth0
plex_poll 2 grep -q "$FAKE lan=1 " "$PLEX_DIR/sampler.log" || true
ip -n "$(plex_ns 2)" addr add "$FAKE/24" dev eth0
plex_poll 2 grep -q "^.* CONFLICT $FAKE lan=1,2" "$PLEX_DIR/sampler.log" || true
ip -n "$(plex_ns 1)" addr del "$FAKE/24" dev eth0
# Quick moves (release, then take) are not conflicts.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	ip -n "$(plex_ns 2)" addr del "$FAKE/24" dev eth0
	ip -n "$(plex_ns 3)" addr add "$FAKE/24" dev eth0
	ip -n "$(plex_ns 3)" addr del "$FAKE/24" dev eth0
	ip -n "$(plex_ns 2)" addr add "$FAKE/24" dev eth0
done
# A conflict on a node that is not live (no carrier) does not count.
plex_cut_link 3
ip -n "$(plex_ns 3)" addr add "$FAKE/24" dev eth0
plex_poll 2 grep -q "node 3 live=0" "$PLEX_DIR/sampler.log" || true
sleep 0.05
ip -n "$(plex_ns 3)" addr del "$FAKE/24" dev eth0
plex_heal_link 3
ip -n "$(plex_ns 2)" addr del "$FAKE/24" dev eth0
rc=0
plex_sampler_stop 2>/dev/null || rc=$?
is "$rc:$PLEX_SAMPLER_CONFLICTS" "1:1" "the sampler reports the one DVIPA held by two live nodes"
PLEX_SAMPLER_PERIOD_MS=5
ok "membership survived the cable test" plex_wait_members 3

# ------------------------------------------------------------ faults, sampled throughout
plex_sampler_start "$DVIPA4" "$DVIPA4B" "$DVIPA6"
pids_before="$(plex_pid 1) $(plex_pid 2) $(plex_pid 3) $(plex_corosync_pid 1) $(plex_corosync_pid 2) $(plex_corosync_pid 3)"

t0=$(plex_now_ms)
plex_kill_node 3
ok "node 3 killed: 1 and 2 see 2 members with quorum" plex_wait_members 2
note "node death -> new membership of 2 in $(elapsed "$t0") ms"
is "$(plex_view 1)" "1,2 1" "node 1 sees 1,2 and quorum"
is "$(plex_addrs 3)" "" "a killed node holds no address"

t0=$(plex_now_ms)
plex_start_node 3
ok "node 3 back: 3 members" plex_wait_members 3
note "node boot -> membership of 3 in $(elapsed "$t0") ms"
is "$(plex_addrs 3 | grep -c "$(plex_ip 3)/24")" 1 "node 3 has its plex address again"

t0=$(plex_now_ms)
plex_partition "1" "2 3"
ok "partition 1|2 3: node 1 alone without quorum" plex_wait_view 1 1 0
ok "partition 1|2 3: node 2 sees 2,3 with quorum" plex_wait_view 2 "2 3" 1
ok "partition 1|2 3: node 3 sees 2,3 with quorum" plex_wait_view 3 "2 3" 1
note "partition -> minority without quorum after $(elapsed "$t0") ms"
ok "node 1 cannot reach node 2 in the partition" cannot_reach plex_run 1 ping -c1 -W1 "$(plex_ip 2)"
ok "the client still reaches node 1" reaches plex_client ping -c1 -W2 "$(plex_ip 1)"
t0=$(plex_now_ms)
plex_heal
ok "healed: 3 members" plex_wait_members 3
note "heal -> merged membership of 3 in $(elapsed "$t0") ms"

t0=$(plex_now_ms)
plex_cut_link 1
ok "cable of node 1 cut: node 1 alone without quorum" plex_wait_view 1 1 0
ok "cable of node 1 cut: 2 and 3 keep quorum" plex_wait_view 2 "2 3" 1
note "cut cable -> minority without quorum after $(elapsed "$t0") ms"
ok "the client cannot reach node 1" cannot_reach plex_client ping -c1 -W1 "$(plex_ip 1)"
t0=$(plex_now_ms)
plex_heal_link 1
ok "cable back: 3 members" plex_wait_members 3
note "cable back -> membership of 3 in $(elapsed "$t0") ms"

t0=$(plex_now_ms)
plex_stop_node 2
ok "node 2 stopped in order: 1 and 3 see 2 members" plex_wait_members 2
note "orderly stop -> membership of 2 in $(elapsed "$t0") ms"
plex_start_node 2
ok "node 2 back: 3 members" plex_wait_members 3

if [ -x "$PLEX_BUILD/dvipad" ]; then
	plex_kill_dvipad 2
	ok "dvipad restarts on node 2 and answers" plex_start_dvipad 2
	for i in 1 2 3; do
		ok "dvipactl show config answers on node $i after the faults" \
			reaches plex_run "$i" dvipactl show config
	done
fi

rc=0
plex_sampler_stop || rc=$?
is "$rc" 0 "no DVIPA on two live nodes at any sampled instant"
cmp_ok "${PLEX_SAMPLER_SAMPLES:-0}" -gt 100 "the sampler took samples"
cmp_ok "${PLEX_SAMPLER_PERIOD_US:-999999}" -le 20000 "sampling period <= 20 ms on average"
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us average, $PLEX_SAMPLER_PERIOD_MAX_US us max"

# ------------------------------------------------------------ cleanup
id=$PLEX_ID
pids="$pids_before $(plex_pid 1) $(plex_pid 2) $(plex_pid 3) $(plex_corosync_pid 1) $(plex_corosync_pid 2) $(plex_corosync_pid 3)"
plex_cleanup
ok "plex_cleanup leaves no namespace, registry entry or directory" nothing_left "$id"
# shellcheck disable=SC2086 # a list of PIDs
ok "plex_cleanup leaves no process" processes_gone $pids
plex_cleanup
ok "plex_cleanup twice is harmless" nothing_left "$id"

# A test killed midway: SIGTERM runs the EXIT trap; SIGKILL leaves a stale
# plex that the next plex_create (plex_reap) removes.
child()
{
	exec bash -c '
		cd "$1" && . tests/lib/plex.sh
		plex_create 2 --id "$2" && plex_start && echo started >"$3"
		while :; do sleep 0.1; done' child "$PWD" "$1" "$2"
}
# Programs started in the background by a non-interactive shell (and all
# their children) ignore SIGINT, and a shell cannot trap an ignored signal.
sigint_ignored()
{
	local mask
	mask=$(awk '/^SigIgn:/ { print $2 }' /proc/$$/status)
	(((0x$mask >> 1) & 1))
}
for sig in TERM INT KILL; do
	if [ "$sig" = INT ] && sigint_ignored; then
		skip "nothing left after SIGINT" "SIGINT is ignored in this run"
		skip "no process left after SIGINT" "SIGINT is ignored in this run"
		continue
	fi
	cid=dvt$$${sig,,}
	flag=$(mktemp)
	rm -f "$flag"
	# Job control, so that the child does not start with SIGINT ignored.
	set -m
	child "$cid" "$flag" 2>/dev/null &
	cpid=$!
	set +m
	plex_poll 20 test -e "$flag" || true
	cpids="$(PLEX_ID=$cid PLEX_DIR=$(ls -d /tmp/dvipa-plex."$cid".* 2>/dev/null) plex_pid 1)"
	kill -"$sig" "$cpid"
	if ! plex_poll 20 _plex_dead "$cpid"; then
		diag "the child ignored SIG$sig"
		kill -TERM "$cpid"
	fi
	wait "$cpid" 2>/dev/null || true
	rm -f "$flag"
	if [ "$sig" = KILL ]; then
		ok "a SIGKILLed test leaves a stale plex" reaches ip netns pids "$cid-n1"
		plex_reap 2>/dev/null
	fi
	ok "nothing left after SIG$sig" nothing_left "$cid"
	# shellcheck disable=SC2086
	ok "no process left after SIG$sig" processes_gone $cpids
done

done_testing
