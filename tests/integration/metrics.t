#!/bin/bash
# The metrics endpoint, `dvipactl show counters` and `dvipactl monitor` on a
# 3-node plex with real corosync and real dvipad: n1 owns a DVIPA and
# distributes its port 80 over every node, n2 backs it up (with the same
# statement), n3 is a target only; every node serves metrics (METRICS LISTEN
# 127.0.0.1:9447). Scrapes are checked by a strict parser of the exposition
# format (tests/tools/prom_check.c) and for their values: ownership, members,
# quorum, targets, the data plane's counters rising with traffic; bad HTTP
# requests get 400/404/405/431/505 and dvipad goes on. A monitor on n2 sees
# n1 die (n1 leaving, the takeover) and come back (n1 joining, the takeback).
# docs/metrics.md describes every metric and event.
set -e
cd "$(dirname "$0")/../.."
# corosync's default token, as in distribute.t: nothing here measures speed.
PLEX_TOKEN=${PLEX_TOKEN:-1000}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-1200}
. tests/lib/tap.sh
. tests/lib/plex.sh
. tests/lib/dist.sh

dist_require curl nginx socat

A=10.0.0.10
PORT=9447
CHECK=$PLEX_ROOT/build/tools/prom_check
[ -x "$CHECK" ] || bail_out "build/tools/prom_check is not built (make tools)"

MON_PID=
LONE_PID=
LONE_NS=mtlone$$
LONE_DIR=
# Also runs from the EXIT trap, under set -e: no command may fail.
cleanup_extra()
{
	local pid
	for pid in $MON_PID $LONE_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	ip netns del "$LONE_NS" 2>/dev/null || true
	if [ -n "$LONE_DIR" ]; then rm -rf "$LONE_DIR"; fi
	MON_PID=
	LONE_PID=
	LONE_DIR=
}

plex_create 3 --id "mt$$"
trap 'status=$?; cleanup_extra; plex_cleanup "$status"; exit "$status"' EXIT
dist_profiles 3 2 $A <<PROFILE
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $A PORT 80 DESTIP ALL
PROFILE
# The endpoint, from each profile (outside the VIPADYNAMIC block).
for i in 1 2 3; do
	f=$PLEX_DIR/n$i/etc/dvipa/dvipa.conf
	{ echo "METRICS LISTEN 127.0.0.1:$PORT"; cat "$f"; } | plex_set_profile "$i"
done

# scrape I: the body of GET /metrics on node I.
scrape()
{
	plex_run "$1" curl -sS --max-time 5 "http://127.0.0.1:$PORT/metrics"
}

# metric I 'NAME{LABELS}': its value in a scrape of node I (labels written
# as dvipad orders them); status 1 when absent.
metric()
{
	scrape "$1" | awk -v k="$2" '$1 == k { print $2; f = 1 } END { exit !f }'
}

metric_is()
{
	[ "$(metric "$1" "$2")" = "$3" ]
}

every_node_is()
{
	local i
	for i in 1 2 3; do
		metric_is "$i" "$1" "$2" || return 1
	done
}

target_listed()
{
	metric_is 1 "dvipa_target_ready_listeners{dvipa=\"$A\",port=\"80\",target=\"$1\"}" 1 &&
		metric_is 1 "dvipa_target_health_ratio{dvipa=\"$A\",port=\"80\",target=\"$1\"}" 1 &&
		metric 1 "dvipa_target_weight{dvipa=\"$A\",port=\"80\",target=\"$1\"}" >/dev/null
}

# takeover_counts I TAKEOVERS TAKEBACKS
takeover_counts()
{
	metric_is "$1" dvipa_takeovers_total "$2" && metric_is "$1" dvipa_takebacks_total "$3"
}

# status_of I RAW-REQUEST: the status code dvipad answers RAW-REQUEST with.
status_of()
{
	printf '%b' "$2" | plex_run "$1" socat -t 2 - "TCP:127.0.0.1:$PORT" 2>/dev/null |
		head -n 1 | awk '{ print $2 }'
}

# has_event KEY=VALUE...: n2's monitor printed an event with these fields.
has_event()
{
	/usr/bin/python3 - "$PLEX_DIR/monitor.json" "$@" <<'PY'
import json, sys
path, want = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
for line in open(path):
    e = json.loads(line)
    if all(str(e.get(k)) == v for k, v in want.items()):
        sys.exit(0)
sys.exit(1)
PY
}

# ---- start ----------------------------------------------------------------

ok "the plex starts" plex_start
for i in 1 2 3; do plex_start_http "$i"; done
ok "3 members with quorum" plex_wait_members 3
ok "every target is ready for $A:80" plex_poll 20 dist_all_ready $A 80

# ---- the format -------------------------------------------------------------

for i in 1 2 3; do
	scrape "$i" >"$PLEX_DIR/scrape-n$i.txt" || true
	out=$("$CHECK" <"$PLEX_DIR/scrape-n$i.txt" 2>&1) && rc=0 || rc=$?
	ok "n$i's scrape is well-formed exposition text" test "$rc" = 0 -a -s "$PLEX_DIR/scrape-n$i.txt"
	[ "$rc" = 0 ] || note "$out"
done
hdr=$(plex_run 1 curl -sS -o /dev/null -D - "http://127.0.0.1:$PORT/metrics" | tr -d '\r')
ok "Content-Type is text/plain; version=0.0.4" \
	grep -q '^Content-Type: text/plain; version=0.0.4' <<<"$hdr"
is "$(plex_run 1 curl -sS -I -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" 200 \
	"HEAD /metrics answers 200"

# ---- the values -------------------------------------------------------------

ok "members = 3 on every node" every_node_is dvipa_plex_members 3
ok "quorate = 1 on every node" every_node_is dvipa_plex_quorate 1
ok "build_info carries the version" grep -q '^dvipa_build_info{version="[^"]*"} 1$' "$PLEX_DIR/scrape-n1.txt"
ok "n1: $A ACTIVE (VIPADEFINE)" \
	metric_is 1 "dvipa_dvipa_info{dvipa=\"$A\",status=\"ACTIVE\",origin=\"VIPADEFINE\"}" 1
ok "n1: dvipa_active 1" metric_is 1 "dvipa_dvipa_active{dvipa=\"$A\"}" 1
ok "n2: $A BACKUP (VIPABACKUP)" \
	metric_is 2 "dvipa_dvipa_info{dvipa=\"$A\",status=\"BACKUP\",origin=\"VIPABACKUP\"}" 1
ok "n2: dvipa_active 0" metric_is 2 "dvipa_dvipa_active{dvipa=\"$A\"}" 0
ok "n3: $A ACTIVE as a target (DISTRIBUTE)" \
	metric_is 3 "dvipa_dvipa_info{dvipa=\"$A\",status=\"ACTIVE\",origin=\"DISTRIBUTE\"}" 1
for t in n1 n2 n3; do
	ok "n1 lists target $t of $A:80: one ready listener, health 1, a weight" target_listed "$t"
done
ok "n2 lists no targets (it does not distribute)" \
	sh -c "! grep -q '^dvipa_target_' '$PLEX_DIR/scrape-n2.txt'"
ok "n1's data plane is loaded" metric_is 1 dvipa_dataplane_loaded 1

# The data plane counts new connections: 30 requests through the DVIPA.
before=$(metric 1 'dvipa_dataplane_packets_total{verdict="flow_new"}') || true
spread=$(dist_spread "http://$A/" 30)
note "30 requests: $spread"
after=$(metric 1 'dvipa_dataplane_packets_total{verdict="flow_new"}') || true
ok "flow_new rose by at least 30 ($before -> $after)" \
	test -n "$before" -a -n "$after" -a "$((${after:-0} - ${before:-0}))" -ge 30
hit=$(metric 1 'dvipa_dataplane_packets_total{verdict="flow_hit"}') || true
ok "flow_hit counts their other packets ($hit)" test "${hit:-0}" -gt 0

# ---- dvipactl show counters -------------------------------------------------

out=$(plex_run 1 dvipactl show counters)
ok "show counters on n1 lists flow_new" grep -q '^flow_new ' <<<"$out"
json=$(plex_run 1 dvipactl show counters --json)
n=$(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(c["packets"] for c in d["counters"] if c["name"] == "flow_new") if d["loaded"] else -1)' <<<"$json")
ok "show counters --json: loaded, flow_new ($n) at least the metric's ($after)" \
	test "$n" -ge "${after:-0}"

# A node without a data plane: a dvipad alone in a namespace (no corosync).
LONE_DIR=$(mktemp -d)
ip netns add "$LONE_NS"
ip -n "$LONE_NS" link set lo up
printf 'INTERFACE lo\nVIPADYNAMIC\nENDVIPADYNAMIC\n' >"$LONE_DIR/dvipa.conf"
ip netns exec "$LONE_NS" build/dvipad -c "$LONE_DIR/dvipa.conf" -s "$LONE_DIR/s" \
	--metrics "[::1]:$PORT" -f 2>"$LONE_DIR/log" &
LONE_PID=$!
plex_poll 5 test -S "$LONE_DIR/s" || true
out=$(build/dvipactl -s "$LONE_DIR/s" show counters 2>&1) || true
ok "show counters says when no data plane is loaded" \
	grep -q 'no BPF data plane is loaded on this node' <<<"$out"
out=$(build/dvipactl -s "$LONE_DIR/s" show counters --json 2>&1) || true
ok "show counters --json says loaded: false" grep -q '"loaded": false' <<<"$out"
out=$(ip netns exec "$LONE_NS" curl -sS --max-time 5 "http://[::1]:$PORT/metrics" 2>&1) || true
ok "--metrics [::1]:$PORT serves (the command line)" grep -q '^dvipa_dataplane_loaded 0$' <<<"$out"
cleanup_extra
out=$(build/dvipad --metrics 127.0.0.1 2>&1) && rc=0 || rc=$?
ok "--metrics without a port is a usage error" \
	test "$rc" = 2 -a -n "$(grep -F 'not ADDR:PORT' <<<"$out")"

# ---- bad requests -----------------------------------------------------------

is "$(status_of 1 'GET /nothing HTTP/1.1\r\n\r\n')" 404 "another path: 404"
is "$(status_of 1 'POST /metrics HTTP/1.1\r\n\r\n')" 405 "POST: 405"
is "$(status_of 1 'GET /metrics HTTP/1.1\r\nbroken header\r\n\r\n')" 400 "a header without a colon: 400"
is "$(status_of 1 'garbage\r\n\r\n')" 400 "garbage: 400"
is "$(status_of 1 'GET /metrics HTTP/3.0\r\n\r\n')" 505 "HTTP/3.0: 505"
big=$(head -c 6000 /dev/zero | tr '\0' a)
is "$(status_of 1 "GET /metrics HTTP/1.1\\r\\nX: $big\\r\\n\\r\\n")" 431 "a 6000-byte header: 431"
head -c 20000 /dev/urandom | plex_run 1 socat -t 1 - "TCP:127.0.0.1:$PORT" >/dev/null 2>&1 || true
# 40 connections at once that send nothing: more than the 16 it serves.
plex_run 1 sh -c "for k in \$(seq 40); do timeout 8 socat -u TCP:127.0.0.1:$PORT /dev/null </dev/null >/dev/null 2>&1 & done; wait" || true
ok "dvipad survives them all" test -n "$(plex_dvipad_pid 1)"
ok "and still answers a scrape" plex_poll 10 metric_is 1 dvipa_plex_members 3
ok "it logged refusing connections past the limit" \
	grep -q 'metrics: 16 connections open already' "$PLEX_DIR/n1/log/dvipad.log"

# ---- dvipactl monitor ---------------------------------------------------------

plex_run 2 dvipactl monitor --json >"$PLEX_DIR/monitor.json" 2>"$PLEX_DIR/monitor.err" &
MON_PID=$!
ok "the monitor subscribes" \
	plex_poll 5 grep -q 'monitor client subscribed' "$PLEX_DIR/n2/log/dvipad.log"
plex_kill_node 1
ok "n2 takes $A over" plex_poll 20 metric_is 2 "dvipa_dvipa_active{dvipa=\"$A\"}" 1
ok "monitor: n1 left" plex_poll 10 has_event event=member node=n1 old=member new=down
ok "monitor: owner of $A n1 -> n2 (OWNER_LEFT)" \
	plex_poll 10 has_event event=owner dvipa=$A old=n1 new=n2 reason=OWNER_LEFT
ok "monitor: $A BACKUP -> MOVING on n2 (the connections come over first)" \
	plex_poll 10 has_event event=status dvipa=$A old=BACKUP new=MOVING
ok "monitor: $A MOVING -> ACTIVE on n2" \
	plex_poll 10 has_event event=status dvipa=$A old=MOVING new=ACTIVE
ok "n2 counts one takeover" metric_is 2 dvipa_takeovers_total 1
ok "n2 counts the owner change by its reason" \
	metric_is 2 'dvipa_owner_changes_total{reason="OWNER_LEFT"}' 1
ok "n2: members = 2" plex_poll 10 metric_is 2 dvipa_plex_members 2
plex_start_node 1
ok "n1 takes $A back" plex_poll 30 metric_is 1 "dvipa_dvipa_active{dvipa=\"$A\"}" 1
ok "monitor: n1 joined" plex_poll 10 has_event event=member node=n1 old=down new=member
ok "monitor: owner of $A n2 -> n1" plex_poll 10 has_event event=owner dvipa=$A old=n2 new=n1
ok "monitor: $A back to BACKUP on n2" \
	plex_poll 10 has_event event=status dvipa=$A new=BACKUP
ok "every line is one JSON object" \
	/usr/bin/python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$PLEX_DIR/monitor.json"
note "n2's monitor saw:
$(cat "$PLEX_DIR/monitor.json")"
ok "the monitor is still running" kill -0 "$MON_PID"
# Plex-wide counts: every member that saw a change counts it; n1, restarted,
# saw neither (its new state machine began with no owner).
ok "n2 counts 1 takeover, 1 takeback" takeover_counts 2 1 1
ok "n3 counts 1 takeover, 1 takeback" takeover_counts 3 1 1
ok "n1 (restarted) counts 0 and 0" takeover_counts 1 0 0
# The text form: n3 leaves the plex and comes back (LEAVEGROUP, JOINGROUP).
cleanup_extra
plex_run 3 dvipactl monitor >"$PLEX_DIR/monitor.txt" 2>&1 &
MON_PID=$!
plex_poll 5 sh -c "[ \$(grep -c 'monitor client subscribed' '$PLEX_DIR/n3/log/dvipad.log') -ge 1 ]" || true
plex_run 3 dvipactl leave >/dev/null
plex_run 3 dvipactl join >/dev/null
ok "text monitor: a status line for $A on n3" \
	plex_poll 10 grep -Eq '^[0-9T:.-]+Z status 10\.0\.0\.10 [A-Z]+ -> [A-Z]+$' "$PLEX_DIR/monitor.txt"
note "n3's monitor saw:
$(cat "$PLEX_DIR/monitor.txt")"
cleanup_extra

done_testing
