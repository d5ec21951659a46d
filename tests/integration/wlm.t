#!/bin/bash
# BASEWLM and SERVERWLM on a 4-node plex with real corosync, real dvipad,
# nginx on every node and real clients. n1 defines the DVIPA and
# distributes it to n2, n3 and n4 (n1 is no target: the distributor's own
# dvipad uses some CPU, which would blur the figures).
#
#   * Without any report yet (the first seconds), BASEWLM is round robin.
#   * The targets' dvipads go into cgroups of their own with a CPU quota of
#     20 %, 10 % and 5 % of a CPU: the spare capacity each node reports
#     follows its quota, the weights are about 64/32/16 and 140 connections
#     split about 4:2:1.
#   * A busy loop in n3's cgroup uses up its quota: n3's weight and share
#     drop; the loop ends and they come back.
#   * SERVERWLM: n3's server on the port never accepts (backlog 1): its
#     accept queue overflows, its efficiency and weight for that port drop
#     to 0 and it gets no new connection, while the others keep theirs.
#
# Throughout, the sampler checks that no DVIPA is ever on two nodes' LAN
# interfaces. The cgroups are removed at the end, also when the test fails
# or is interrupted, and those of a run that was killed are removed by the
# next one. docs/distributor.md describes what is checked.
set -e
cd "$(dirname "$0")/../.."
# corosync's default token, as distribute.t: nothing here measures failover.
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require curl nginx findmnt

# ---- cgroups ----------------------------------------------------------------

# cgroup v1 with the cpu and cpuacct controllers (this project's test
# machines), else cgroup v2 with the cpu controller.
CG_V1_CPU=$(findmnt -n -t cgroup -o TARGET,FS-OPTIONS | awk '$2 ~ /(^|,)cpu(,|$)/ { print $1; exit }')
CG_V1_ACCT=$(findmnt -n -t cgroup -o TARGET,FS-OPTIONS | awk '$2 ~ /(^|,)cpuacct(,|$)/ { print $1; exit }')
CG_V2=$(findmnt -n -t cgroup2 -o TARGET | head -n1)
CG_MODE=
if [ -n "$CG_V1_CPU" ] && [ -n "$CG_V1_ACCT" ] && [ -w "$CG_V1_CPU/cpu.cfs_quota_us" ]; then
	CG_MODE=v1
elif [ -n "$CG_V2" ] && grep -qw cpu "$CG_V2/cgroup.controllers" 2>/dev/null; then
	CG_MODE=v2
fi
[ -n "$CG_MODE" ] || { echo "1..0 # SKIP no cgroup with a CPU controller to write"; exit 0; }
CG_PREFIX=dvipa-wlm

# The directories of node I's cgroup (one per hierarchy).
cg_dirs()
{
	if [ "$CG_MODE" = v1 ]; then
		echo "$CG_V1_CPU/$CG_PREFIX$$-n$1"
		[ "$CG_V1_ACCT" = "$CG_V1_CPU" ] || echo "$CG_V1_ACCT/$CG_PREFIX$$-n$1"
	else
		echo "$CG_V2/$CG_PREFIX$$-n$1"
	fi
}

# cg_create I PERCENT: node I's cgroup, PERCENT of one CPU.
cg_create()
{
	local d quota=$(($2 * 1000))
	for d in $(cg_dirs "$1"); do
		mkdir -p "$d"
	done
	if [ "$CG_MODE" = v1 ]; then
		echo 100000 >"$CG_V1_CPU/$CG_PREFIX$$-n$1/cpu.cfs_period_us"
		echo "$quota" >"$CG_V1_CPU/$CG_PREFIX$$-n$1/cpu.cfs_quota_us"
	else
		grep -qw cpu "$CG_V2/cgroup.subtree_control" || echo +cpu >"$CG_V2/cgroup.subtree_control"
		echo "$quota 100000" >"$CG_V2/$CG_PREFIX$$-n$1/cpu.max"
	fi
}

# cg_put I PID: process PID (all its threads) into node I's cgroup.
cg_put()
{
	local d
	for d in $(cg_dirs "$1"); do
		echo "$2" >"$d/cgroup.procs"
	done
}

# Removes the cgroups of run PID (default: this one), once empty: their
# processes are gone (or, kept with DVIPA_KEEP, they stay).
cg_remove()
{
	local top d
	for top in "$CG_V1_CPU" "$CG_V1_ACCT" "$CG_V2"; do
		[ -n "$top" ] || continue
		for d in "$top/$CG_PREFIX${1:-$$}"-n*; do
			[ -d "$d" ] || continue
			rmdir "$d" 2>/dev/null || plex_poll 3 rmdir "$d" 2>/dev/null ||
				_plex_log "cgroup $d still has processes"
		done
	done
}

# Cgroups of runs whose process is gone (killed before its cleanup).
cg_reap()
{
	local top d pid
	for top in "$CG_V1_CPU" "$CG_V1_ACCT" "$CG_V2"; do
		[ -n "$top" ] || continue
		for d in "$top/$CG_PREFIX"*-n*; do
			[ -d "$d" ] || continue
			pid=${d##*/$CG_PREFIX}
			pid=${pid%-n*}
			_plex_alive "$pid" || rmdir "$d" 2>/dev/null || true
		done
	done
}

BUSY_PID=
wlm_exit()
{
	local status=$?
	if [ -n "$BUSY_PID" ]; then
		kill "$BUSY_PID" 2>/dev/null || true
		wait "$BUSY_PID" 2>/dev/null || true
	fi
	plex_cleanup "$status"
	cg_remove
	return "$status"
}

A=10.0.0.10
SPORT=18400
N=140

# ---- the plex ---------------------------------------------------------------

plex_reap
cg_reap
plex_create 4 --id "wl$$"
trap wlm_exit EXIT
T="$(plex_ip 2) $(plex_ip 3) $(plex_ip 4)"
dist_profiles 4 0 $A <<EOF
  VIPADISTRIBUTE DISTMETHOD BASEWLM $A PORT 80 DESTIP $T
  VIPADISTRIBUTE DISTMETHOD SERVERWLM $A PORT $SPORT DESTIP $T
EOF

# ---- helpers ----------------------------------------------------------------

# targets I PORT: "node:ready:wlm:slots:capacity:efficiency ..." of the
# targets of $A:PORT in node I's `show ports --json` (null as "-").
targets()
{
	plex_run "$1" dvipactl show ports --json | /usr/bin/python3 -c '
import json, sys
a, p = sys.argv[1], int(sys.argv[2])
out = []
for s in json.load(sys.stdin)["ports"]:
    if s["dvipa"] == a and s["port"] == p:
        for t in s["targets"]:
            f = [t["node"]["id"], t["ready"], t["wlm"], t["slots"], t["capacity"], t["efficiency"]]
            out.append(":".join("-" if v is None else str(v) for v in f))
print(" ".join(out))' "$A" "$2"
}

# field TARGETS NODE K: the K-th field (1 = node) of NODE in a targets line.
field()
{
	local w
	for w in $1; do
		[ "${w%%:*}" = "$2" ] && { echo "$w" | cut -d: -f"$3"; return; }
	done
	echo none
}

all_ready()
{
	local t n
	t=$(targets 1 "$1")
	for n in 2 3 4; do
		[ "$(field "$t" $n 2)" -ge 1 ] 2>/dev/null || return 1
	done
}

all_reported()
{
	local t n
	t=$(targets 1 80)
	for n in 2 3 4; do
		[ "$(field "$t" $n 5)" != - ] || return 1
	done
}

# wlm_is PORT NODE LO HI: node's WLM weight for PORT is in LO..HI.
wlm_is()
{
	local w
	w=$(field "$(targets 1 "$1")" "$2" 3)
	[ "$w" != - ] && [ "$w" -ge "$3" ] && [ "$w" -le "$4" ]
}

# The capacities follow the quotas: each node reports at most its quota
# (and more than half of it: a target's dvipad uses well under 1 % of a
# CPU), give or take the step a report must move by to be announced (20
# millicpus and an eighth).
QUOTA=(0 0 20 10 5)
capacities_follow()
{
	local t
	t=$(targets 1 80)
	/usr/bin/python3 -c '
import sys
c = [float(x) for x in sys.argv[1:4]]
q = [float(x) / 100 for x in sys.argv[4:7]]
sys.exit(0 if all(q[i] / 2 < c[i] < q[i] + max(0.02, c[i] / 8) for i in range(3)) else 1)' \
		"$(field "$t" 2 5)" "$(field "$t" 3 5)" "$(field "$t" 4 5)" "${QUOTA[@]:2}" 2>/dev/null
}

# Idle CPU of the host over a second, in hundredths of a CPU: the nodes'
# capacities are bounded by it too, and this machine may be shared.
host_idle()
{
	local a b
	a=($(head -n1 /proc/stat))
	sleep 1
	b=($(head -n1 /proc/stat))
	echo $(((b[4] + b[5] - a[4] - a[5]) * 100 / (b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + b[7] + b[8] - a[1] - a[2] - a[3] - a[4] - a[5] - a[6] - a[7] - a[8]) * $(nproc)))
}

# poll_slowly TIMEOUT_S CMD...: as plex_poll, every 0.4 s, so that the
# polls do not load the distributor whose capacity is measured.
poll_slowly()
{
	local t=$(($1 * 1000)) start
	shift
	start=$(plex_now_ms)
	until "$@"; do
		PLEX_WAITED_MS=$(($(plex_now_ms) - start))
		[ "$PLEX_WAITED_MS" -lt "$t" ] || return 1
		sleep 0.4
	done
	PLEX_WAITED_MS=$(($(plex_now_ms) - start))
}

# ---- start ------------------------------------------------------------------

# nginx listens before dvipad starts, and the three dvipads start together:
# every node is ready within a fraction of a second of becoming a target,
# while its first WLM report covers a whole interval (2 s) as a target.
start_corosync()
{
	PLEX_NO_DVIPAD=1 plex_start
}
ok "the plex starts (corosync)" start_corosync
for i in 2 3 4; do
	plex_start_http "$i"
	plex_start_http "$i" "$SPORT"
done
pids=()
for i in 1 2 3 4; do
	plex_start_dvipad "$i" &
	pids+=("$!")
done
wait "${pids[@]}"
ok "4 members with quorum" plex_wait_members 4
plex_sampler_start "$A"

note "--- no report yet: round robin"
ok "every target is ready for $A:80" plex_poll 15 all_ready 80
t=$(targets 1 80)
note "show ports on n1 for $A:80 (node:ready:wlm:slots:capacity:efficiency): $t"
if [ "$(field "$t" 2 5)$(field "$t" 3 5)$(field "$t" 4 5)" = --- ]; then
	is "$(field "$t" 2 3) $(field "$t" 3 3) $(field "$t" 4 3)" "- - -" \
		"BASEWLM without any report: no WLM weight applies"
	is "$(field "$t" 2 4) $(field "$t" 3 4) $(field "$t" 4 4)" "1 1 1" \
		"BASEWLM without any report: round robin (one slot each)"
	got=$(dist_spread "http://$A/" 30)
	t=$(targets 1 80)
	if [ "$(field "$t" 2 5)$(field "$t" 3 5)$(field "$t" 4 5)" = --- ]; then
		ok "30 connections without report: 10 each ($got)" dist_counts_within "$got" \
			10 10 n2 n3 n4
	else
		skip "30 connections without report" "a report came during them ($got)"
	fi
else
	skip "BASEWLM without any report: no WLM weight applies" "a node reported before all were ready ($t)"
	skip "BASEWLM without any report: round robin" "a node reported before all were ready"
	skip "30 connections without report" "a node reported before all were ready"
fi
ok "every node reports its spare CPU within seconds" plex_poll 10 all_reported
note "show ports on n1 for $A:80: $(targets 1 80)"
# Every node shows every target's report (show plex, SPARE CPU); n1, no
# target, reports none.
spare_shown()
{
	plex_run "$1" dvipactl show plex --json | /usr/bin/python3 -c '
import json, sys
m = {x["id"]: x["spare_cpu"] for x in json.load(sys.stdin)["members"]}
sys.exit(0 if len(m) == 4 and m[1] is None and all(m[i] is not None for i in (2, 3, 4)) else 1)'
}
ok "show plex on n4 shows every target's spare CPU" plex_poll 5 spare_shown 4

# ---- BASEWLM under CPU quotas -----------------------------------------------

# cpu_check DESC TIMEOUT CMD...: a check of figures that depend on the
# host's idle CPU too (this machine may be shared), polled: when it does not
# hold and the host itself has less than 30 % of a CPU idle, it is skipped.
# Returns 0 when it held.
cpu_check()
{
	local desc=$1 t=$2 idle
	shift 2
	if poll_slowly "$t" "$@"; then
		ok "$desc" true
		note "took ${PLEX_WAITED_MS} ms; show ports on n1 for $A:80: $(targets 1 80)"
		return 0
	fi
	idle=$(host_idle)
	note "after ${PLEX_WAITED_MS} ms, show ports on n1 for $A:80: $(targets 1 80); the host has $idle % of a CPU idle"
	if [ "$idle" -lt 30 ]; then
		skip "$desc" "the host is busy: $idle % of a CPU idle"
	else
		ok "$desc" false
	fi
	return 1
}

# The BASEWLM weights of port 80 are those of the capacities shown (64 for
# the largest, in proportion, at least 1 for any), and no server
# efficiency counts there.
weights_of_capacities()
{
	/usr/bin/python3 -c '
import sys
t = [w.split(":") for w in sys.argv[1].split()]
c = [float(x[4]) for x in t]
m = max(c)
for x, cap in zip(t, c):
    if x[5] != "100" or (m == 0) != (x[2] == "-"):
        sys.exit(1)
    # One either way for rounding.
    if m > 0 and abs(max(1 if cap > 0 else 0, round(64 * cap / m)) - int(x[2])) > 1:
        sys.exit(1)' "$(targets 1 80)" 2>/dev/null
}

note "--- BASEWLM: dvipads in cgroups of ${QUOTA[2]} %, ${QUOTA[3]} %, ${QUOTA[4]} % of a CPU ($CG_MODE)"
for i in 2 3 4; do
	cg_create "$i" "${QUOTA[i]}"
	cg_put "$i" "$(plex_dvipad_pid "$i")"
done
# Quantized capacities (10 millicpus) less dvipad's own use: n2 0.19-0.20,
# n3 0.09-0.10, n4 0.04-0.05, a step more or less: weights 64, 26-43 and
# 13-21.
weights_follow()
{
	capacities_follow && wlm_is 80 2 64 64 && wlm_is 80 3 26 43 && wlm_is 80 4 13 21
}
if cpu_check "the reported capacities follow the quotas, and the weights them" 35 weights_follow; then
	got=$(dist_spread "http://$A/" $N)
	note "$N connections to $A:80: $got"
	# The weights' bands give shares of 50-62 %, 22-33 % and 11-17 %: of
	# 140, 70-87, 31-46 and 15-24, and 2 more either way for where the
	# round robin pointer stands in the table.
	ok "BASEWLM: $N connections about 4:2:1 ($got)" dist_counts_within "$got" \
		68 89 n2 29 48 n3 13 26 n4
else
	skip "BASEWLM: $N connections about 4:2:1" "the capacities do not follow the quotas"
fi
ok "the weights shown are those of the capacities shown" poll_slowly 5 weights_of_capacities

note "--- a busy loop in n3's cgroup"
sh -c 'while :; do :; done' &
BUSY_PID=$!
cg_put 3 "$BUSY_PID"
n3_busy()
{
	wlm_is 80 3 0 10 && ! wlm_is 80 2 0 10
}
if cpu_check "n3's weight drops (its spare CPU is used up)" 35 n3_busy; then
	got=$(dist_spread "http://$A/" 70)
	note "70 connections while n3 is busy: $got"
	ok "n3's share drops to a few percent ($got)" dist_counts_within "$got" 0 9 n3
else
	skip "n3's share drops to a few percent" "its weight did not"
fi
kill "$BUSY_PID"
wait "$BUSY_PID" 2>/dev/null || true
BUSY_PID=
if cpu_check "the loop ends: n3's weight comes back" 35 wlm_is 80 3 20 64; then
	got=$(dist_spread "http://$A/" 70)
	note "70 connections after: $got"
	ok "and its share ($got)" dist_counts_within "$got" 12 35 n3
else
	skip "and its share" "its weight did not come back"
fi

# ---- SERVERWLM ----------------------------------------------------------------

note "--- SERVERWLM: n3's server on $SPORT never accepts"
dist_stop_http 3 "$SPORT"
# A listener with a backlog of 1 that never calls accept(): its queue holds
# two connections, the kernel drops what comes after.
plex_run 3 sh -c "setsid /usr/bin/python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((\"\", $SPORT))
s.listen(1)
time.sleep(3600)' </dev/null >/dev/null 2>&1 &"
plex_poll 5 _plex_listening 3 "$SPORT"
ok "every target is ready for $A:$SPORT" plex_poll 10 all_ready "$SPORT"
t=$(targets 1 "$SPORT")
note "show ports on n1 for $A:$SPORT: $t"
ok "before any connection n3's server counts as keeping up (efficiency 100)" \
	test "$(field "$t" 3 6)" = 100

n3_stuck()
{
	wlm_is "$SPORT" 3 0 0 && [ "$(field "$(targets 1 "$SPORT")" 3 6)" = 0 ]
}
# Batches of 10 connections at once until n3's server is seen stuck: those
# that reach n3 wait in vain (1 s).
feed_n3()
{
	local b i pids
	for b in 1 2 3 4; do
		pids=()
		for i in $(seq 10); do
			plex_client curl -s -m 1 -o /dev/null "http://$A:$SPORT/" &
			pids+=("$!")
		done
		wait "${pids[@]}" || true
		poll_slowly 5 n3_stuck && return 0
	done
	return 1
}
if cpu_check "n3 has a SERVERWLM weight for $SPORT" 10 wlm_is "$SPORT" 3 1 64; then
	ok "n3's efficiency and SERVERWLM weight for $SPORT drop to 0" feed_n3
	t=$(targets 1 "$SPORT")
	note "show ports on n1 for $A:$SPORT: $t"
	ok "the healthy servers keep up (efficiency 100 on n2 and n4)" \
		test "$(field "$t" 2 6)$(field "$t" 4 6)" = 100100
	got=$(dist_spread "http://$A:$SPORT/" 30)
	note "30 connections to $A:$SPORT: $got"
	ok "n3 gets no new connection, none is lost ($got)" dist_counts_within "$got" 0 0 n3
else
	skip "n3's efficiency and SERVERWLM weight for $SPORT drop to 0" "n3 gets nothing anyway"
fi
ok "BASEWLM on port 80 does not count server efficiency" poll_slowly 5 weights_of_capacities

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"

done_testing
