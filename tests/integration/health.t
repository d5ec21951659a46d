#!/bin/bash
# Health on a 3-node plex with real corosync, real dvipad and real clients:
# n1 owns a DVIPA and distributes port 18090 ROUNDROBIN to n1, n2, n3 and
# port 18091 HOTSTANDBY to n3 (PREFERRED) and n2 (BACKUP 10); nginx on every
# node answers its name. An nftables rule in n3's namespace first refuses
# (tcp reset), then drops, the SYNs to the DVIPA while a client opens 50
# connections a second (build/tools/http_probe): n3's health, as n1's `show
# ports --json` shows it, falls below 50, n3 gets at most a third of its fair
# share of new connections (counted from the client's failures), and the log
# says why. Once the rule is gone, n3's health is back to 100 and its share
# fair. HOTSTANDBY hands the connections to the backup while the preferred
# target refuses them, and back afterwards. curl checks exact round robin
# before and after. Throughout, the sampler checks that no DVIPA is ever on
# two nodes' LAN interfaces; at the end the nftables table is gone from n3
# and the namespaces from the host. docs/distributor.md describes it.
set -e
cd "$(dirname "$0")/../.."
# corosync's default token, as in distribute.t: a loaded machine must not
# make the distributor give its DVIPA up in the middle of a measurement.
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require curl nginx nft

A=10.0.0.10
P=18090
P2=18091
N2=$(plex_ip 2)
N3=$(plex_ip 3)
T0=$(plex_now_ms)

# An id of its own: other runs reap their stale "dv<PID>" plexes by name.
plex_create 3 --id "hl$$"
dist_profiles 3 0 $A <<EOF
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT $P DESTIP ALL
  VIPADISTRIBUTE DISTMETHOD HOTSTANDBY $A PORT $P2 DESTIP $N3 PREFERRED $N2 BACKUP 10
EOF

# ---- helpers ----------------------------------------------------------------

# slots_of PORT: "S1 S2 S3", the slots of n1, n2, n3 at one moment.
slots_of()
{
	plex_run 1 dvipactl show ports --json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["ports"]:
    if s["port"] == int(sys.argv[1]):
        print(" ".join(str(t["slots"]) for t in s["targets"]))' "$1"
}

health_below()
{
	[ "$(dist_port_field 1 $A "$1" "$2" health)" -lt "$3" ] 2>/dev/null
}

# A client that opens a new connection to A:PORT every 20 ms (50 a second),
# whether or not the earlier ones are done, each given 2 s to answer: the
# rate stays the same when some connections hang, as with many independent
# clients. PROBE_LOG gets "START_US END_US RESULT" per connection (RESULT:
# the node's name, -refused, -timeout...).
PROBE=$PLEX_ROOT/build/tools/http_probe
probe_start()
{
	PROBE_LOG=$PLEX_DIR/probe-$1-$(plex_now_ms).log
	ip netns exec "$(plex_ns_client)" "$PROBE" -i 20000 -t 2000 -o "$PROBE_LOG" $A "$1" \
		2>>"$PLEX_DIR/probe.err" &
	PROBE_PID=$!
	plex_poll 5 grep -qs '^ready' "$PROBE_LOG"
}

probe_stop()
{
	kill -TERM "$PROBE_PID" 2>/dev/null || true
	wait "$PROBE_PID" 2>/dev/null || true
}

# probe_count FROM_MS TO_MS: what answered the connections started in
# [FROM, TO): "n1=K n2=K -refused=K", sorted.
probe_count()
{
	grep -v '^ready' "$PROBE_LOG" | awk -v a="$1" -v b="$2" '
		$1 >= a * 1000 && $1 < b * 1000 { n[$3]++ }
		END { for (k in n) print k "=" n[k] }' | sort | paste -sd' '
}

# failures "K=V ...": the connections that no node answered.
failures()
{
	local w sum=0
	for w in $1; do
		case $w in -*) sum=$((sum + ${w#*=})) ;; esac
	done
	echo $sum
}

total()
{
	local w sum=0
	for w in $1; do sum=$((sum + ${w#*=})); done
	echo $sum
}

# sick VERDICT PORT: n3 answers SYNs to A:PORT with VERDICT (an nftables
# statement: "reject with tcp reset", "drop"); well: n3 answers again. The
# table lives in n3's network namespace and goes with it.
sick()
{
	plex_run 3 nft -f - <<EOF
table inet dvipa_health_$$ {
	chain input {
		type filter hook input priority 0; policy accept;
		ip daddr $A tcp dport $2 tcp flags & (syn | ack) == syn $1
	}
}
EOF
}

well()
{
	plex_run 3 nft delete table inet "dvipa_health_$$"
}

n3_has_no_table()
{
	! plex_run 3 nft list tables | grep -q "dvipa_health_$$"
}

logged()
{
	grep -q "$1" "$PLEX_DIR/n1/log/dvipad.log"
}

# ---- start ------------------------------------------------------------------

ok "the plex starts" plex_start
for i in 1 2 3; do
	plex_start_http "$i" $P
	plex_start_http "$i" $P2
done
ok "3 members with quorum" plex_wait_members 3
plex_sampler_start "$A"
ok "every target is ready for $A:$P on n1" plex_poll 15 dist_all_ready $A $P
ok "the preferred n3 takes $A:$P2" plex_poll 10 dist_field_is 1 $A $P2 3 slots 1

got=$(dist_spread -j 3 -m 0 "http://$A:$P/" 90)
note "90 connections, every target well: $got"
ok "ROUNDROBIN: 30 each ($got)" test "$got" = "n1=30 n2=30 n3=30"
ok "n1 shows every target at health 100" \
	test "$(dist_port_field 1 $A $P 1 health)$(dist_port_field 1 $A $P 2 health)$(dist_port_field 1 $A $P 3 health)" = 100100100

# ---- n3 refuses, then drops -------------------------------------------------

# sick_cycle VERDICT REASON FAILURE: n3 answers the SYNs to A:P with VERDICT
# while a client opens 50 connections a second. Its health falls below 50;
# from 1 s later (when the connections sent at its old share have been
# judged), 4 s of connections: n3's fair share is a third of them; health h
# gives it h/(200+h), and at most a third of its fair share (1/9) needs
# h <= 25. Its connections fail with FAILURE (-refused, -timeout), or, for
# dropped SYNs sent just before the rule goes, are answered by the
# retransmitted SYN. The rule goes: health back to 100 and a fair share
# within 20 s.
sick_cycle()
{
	local verdict=$1 reason=$2 failure=$3 t1 t2 t3 t4 got n fail h n3
	note "--- n3: $verdict"
	probe_start $P
	ok "nftables on n3: SYNs to $A:$P get '$verdict'" sick "$verdict" $P
	t1=$(plex_now_ms)
	ok "n3's health falls below 50 within 10 s" plex_poll 10 health_below $P 3 50
	note "below 50 after $(($(plex_now_ms) - t1)) ms"
	ok "the log says why" plex_poll 3 logged \
		"target n3 (3) of $A:$P: health [0-9]* -> [0-9]* ($reason)"
	sleep 1
	t1=$(plex_now_ms)
	sleep 4
	t2=$(plex_now_ms)
	h=$(dist_port_field 1 $A $P 3 health)
	ok "n3's health is still below 50 ($h)" test "$h" -lt 50
	note "slots of n1, n2, n3: $(slots_of $P)"
	ok "the rule is removed" well
	t3=$(plex_now_ms)
	ok "n3's health is 100 again within 20 s" plex_poll 20 dist_field_is 1 $A $P 3 health 100
	note "back to 100 after $(($(plex_now_ms) - t3)) ms"
	ok "and so is its share" plex_poll 2 dist_field_is 1 $A $P 3 slots 1
	t3=$(plex_now_ms)
	sleep 2
	t4=$(plex_now_ms)
	sleep 2.2
	probe_stop
	got=$(probe_count "$t1" "$t2")
	n=$(total "$got")
	fail=$(failures "$got")
	note "connections while n3 is sick: $got"
	is "$fail" "$(dist_count_of "$failure" "$got")" "every failure is $failure"
	n3=$(($(dist_count_of n3 "$got") + fail))
	cmp_ok "$n3" -le $((n / 9)) "n3 got at most a third of its fair share: $n3 of $n ($fail failed)"
	ok "n1 and n2 took the others about equally ($got)" \
		dist_within $(($(dist_count_of n1 "$got") - $(dist_count_of n2 "$got"))) -6 6
	got=$(probe_count "$t3" "$t4")
	n=$(total "$got")
	note "connections once n3 is well: $got"
	is "$(failures "$got")" 0 "none fails"
	# Round robin's promise, a third within 10 % (rounded up): the
	# others may still be a point or two below 100 after a slow
	# connection on a loaded host, which tilts the table a little.
	ok "n3 has its fair share again" dist_within "$(dist_count_of n3 "$got")" \
		$((n / 3 - n / 30 - 1)) $((n / 3 + n / 30 + 1))
}

sick_cycle "reject with tcp reset" "connections refused" -refused
ok "the log says when n3 is healthy again" \
	logged "target n3 (3) of $A:$P: health [0-9]* -> [0-9]* (healthy again)"
# Every target's health is back at 100 first: a connection that was merely
# slow on a loaded host leaves one at 99 for a while, and 99:99:100 is a
# table of nearly, not exactly, equal shares. Then round robin within the
# promised 10 % of a third.
all_healthy()
{
	dist_field_is 1 $A $P 1 health 100 && dist_field_is 1 $A $P 2 health 100 && dist_field_is 1 $A $P 3 health 100
}
ok "every target is at health 100" plex_poll 20 all_healthy
got=$(dist_spread -j 3 -m 0 "http://$A:$P/" 90)
note "90 connections after: $got"
ok "ROUNDROBIN: a third each again, within 10 % ($got)" eval \
	'dist_within "$(dist_count_of n1 "$got")" 27 33 && dist_within "$(dist_count_of n2 "$got")" 27 33 &&
	dist_within "$(dist_count_of n3 "$got")" 27 33'
sick_cycle drop "connections dropped" -timeout

# ---- HOTSTANDBY -------------------------------------------------------------

note "--- HOTSTANDBY: the preferred target refuses"
probe_start $P2
ok "nftables on n3 rejects SYNs to $A:$P2" sick "reject with tcp reset" $P2
ok "n3's health falls below 50 within 10 s" plex_poll 10 health_below $P2 3 50
backup_ahead()
{
	[ "$(dist_port_field 1 $A $P2 2 slots)" -gt "$(dist_port_field 1 $A $P2 3 slots)" ]
}
ok "the backup n2 has the bigger share" plex_poll 2 backup_ahead
sleep 1
t1=$(plex_now_ms)
sleep 3
t2=$(plex_now_ms)
ok "the rule is removed" well
ok "the preferred n3 takes every connection again within 20 s" \
	plex_poll 20 dist_field_is 1 $A $P2 2 slots 0
t3=$(plex_now_ms)
sleep 2
t4=$(plex_now_ms)
sleep 2.2
probe_stop
got=$(probe_count "$t1" "$t2")
n=$(total "$got")
note "connections while the preferred target refuses: $got"
cmp_ok "$(dist_count_of n2 "$got")" -ge $((n * 8 / 10)) "the backup takes 80 % or more ($got)"
got=$(probe_count "$t3" "$t4")
note "connections once it is well: $got"
is "$(dist_count_of n3 "$got")" "$(total "$got")" "every one to the preferred target again"

# ---- end --------------------------------------------------------------------

ok "no DVIPA was ever on two live nodes' LAN interfaces" plex_sampler_stop
note "sampler: $PLEX_SAMPLER_SAMPLES samples, period $PLEX_SAMPLER_PERIOD_US us on average"
ok "n3 has no nftables table of the test left" n3_has_no_table
if [ "$TAP_FAILED" = 0 ]; then
	plex_destroy
	ok "the plex's namespaces are gone, and the nftables rules inside them" \
		test -z "$(ip netns list | grep "^hl$$-")"
	ok "the host's own ruleset never had the test's table" \
		sh -c "! nft list tables | grep -q dvipa_health_$$"
fi
note "health.t took $(($(plex_now_ms) - T0)) ms"

done_testing
