#!/bin/bash
# dvipad --check-config, the control socket and dvipactl's error handling:
# every bad profile is rejected with its position, a daemon survives malformed
# requests, and dvipactl says clearly what is wrong. Runs in a namespace of its
# own so that the daemon touches nothing of the host.
set -eu
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh

ns=dvctl$$
dir=$(mktemp -d)
pid=
spid=
cleanup()
{
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && { wait "$pid" 2>/dev/null || true; }
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && { wait "$spid" 2>/dev/null || true; }
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

# --- --check-config --------------------------------------------------------
for f in tests/configs/bad/*.conf; do
	want=$(sed -n 's/^# expect: \([0-9]*:[0-9]*\):.*/\1/p' "$f" | head -n 1)
	out=$(build/dvipad --check-config "$f" 2>&1) && rc=0 || rc=$?
	ok "$(basename "$f") rejected at $want" \
		test "$rc" = 1 -a -n "$want" -a -n "$(printf '%s\n' "$out" | grep -F "$f:$want:")"
done
for f in docs/sample.conf tests/configs/good/*.conf docs/examples/*.conf; do
	ok "$f accepted" build/dvipad --check-config "$f"
done
out=$(build/dvipad --check-config "$dir/none.conf" 2>&1) && rc=0 || rc=$?
ok "a missing profile is an error naming the file" \
	test "$rc" = 1 -a -n "$(printf '%s' "$out" | grep -F "$dir/none.conf: No such file")"
out=$(build/dvipad --bogus 2>&1) && rc=0 || rc=$?
is "$rc" 2 "an unknown option is a usage error"

# --- dvipactl without a daemon ----------------------------------------------
sock=$dir/dvipad.sock
out=$(build/dvipactl -s "$sock" show config 2>&1) && rc=0 || rc=$?
ok "dvipactl says when no dvipad runs" \
	test "$rc" = 1 -a -n "$(printf '%s' "$out" | grep -F 'dvipad is not running')"
out=$(build/dvipactl -s "$sock" frobnicate 2>&1) && rc=0 || rc=$?
ok "an unknown command is a usage error" \
	test "$rc" = 2 -a -n "$(printf '%s' "$out" | grep -F "unknown command 'frobnicate'")"
out=$(build/dvipactl -s "$sock" deactivate 10.0.0.300 2>&1) && rc=0 || rc=$?
ok "a bad address is a usage error" \
	test "$rc" = 2 -a -n "$(printf '%s' "$out" | grep -F "'10.0.0.300' is not an IPv4 or IPv6 address")"
out=$(build/dvipactl -s "$sock" show config --color 2>&1) && rc=0 || rc=$?
is "$rc" 2 "an unknown argument is a usage error"

# --- a daemon -----------------------------------------------------------------
ip netns add "$ns"
ip -n "$ns" link set lo up
cat >"$dir/dvipa.conf" <<'PROFILE'
INTERFACE lo
VIPADYNAMIC
  VIPADEFINE 255.255.255.0 10.9.0.10
  VIPARANGE 255.255.255.0 10.9.1.0
  VIPADISTRIBUTE DEFINE SYSPLEXPORTS 10.9.0.10 PORT 21 DESTIP ALL
ENDVIPADYNAMIC
PROFILE
# As systemd starts it: a notification socket, and stderr that JOURNAL_STREAM
# names (then lines carry "<N>" priorities instead of times).
socat -u UNIX-RECV:"$dir/notify.sock" OPEN:"$dir/notify.out",creat,append &
spid=$!
: >"$dir/dvipad.log"
for _ in $(seq 100); do
	[ -S "$dir/notify.sock" ] && break
	sleep 0.05
done
NOTIFY_SOCKET=$dir/notify.sock JOURNAL_STREAM=$(stat -c %d:%i "$dir/dvipad.log") \
	ip netns exec "$ns" build/dvipad -c "$dir/dvipa.conf" -s "$sock" -S "$dir" -f 2>"$dir/dvipad.log" &
pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	sleep 0.05
done
ok "the control socket appears" test -S "$sock"
for _ in $(seq 50); do
	grep -q "SYSPLEXPORTS is not built yet" "$dir/dvipad.log" && break
	sleep 0.1
done
ok "VIPARANGE is logged as not built yet, with its position" \
	grep -q "dvipa.conf:4:[0-9]*: VIPARANGE is not built yet" "$dir/dvipad.log"
ok "SYSPLEXPORTS is logged as not built yet, with its position" \
	grep -q "dvipa.conf:5:[0-9]*: SYSPLEXPORTS is not built yet" "$dir/dvipad.log"
is "$(stat -c %a "$sock")" 600 "the control socket has mode 0600"
out=$(build/dvipactl -s "$sock" show config)
ok "show config names the interface" grep -q 'lo' <<<"$out"
ok "show config --json is JSON" \
	sh -c "build/dvipactl -s '$sock' show config --json | /usr/bin/python3 -m json.tool >/dev/null"

# Malformed requests: a whole request of garbage, a short one, an empty one.
head -c 40 /dev/urandom | socat -t 2 - "UNIX-CONNECT:$sock" >"$dir/answer" 2>/dev/null || true
ok "a garbage request gets an answer" test -s "$dir/answer"
printf 'abc' | socat -t 0.2 - "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
socat -t 0.2 /dev/null "UNIX-CONNECT:$sock" >/dev/null 2>&1 || true
ok "the daemon survives malformed requests" kill -0 "$pid"
ok "and still answers" build/dvipactl -s "$sock" show config
ok "the daemon logged the malformed request" grep -q 'malformed request' "$dir/dvipad.log"

# --- versions, journal priorities, notifications ------------------------------
is "$(build/dvipactl -s "$sock" show version)" \
	"$(printf 'dvipa %s\nwire protocol    1\ncontrol protocol 1' "$(cat VERSION)")" \
	"show version names the daemon's version and protocols"
is "$(build/dvipactl -s "$sock" show version --json |
	python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["wire_protocol"], d["control_protocol"])')" \
	"$(cat VERSION) 1 1" "show version --json"
is "$(build/dvipad --version)" "dvipa $(cat VERSION)" "dvipad --version"
is "$(build/dvipactl --version)" "dvipa $(cat VERSION)" "dvipactl --version"
ok "log lines to the journal start with their priority" \
	grep -qx '<6>started on interface lo, control socket .*' "$dir/dvipad.log"
ok "and none with a time" test -z "$(grep -v '^<[3467]>' "$dir/dvipad.log")"
ok "the service manager hears the status (no corosync here)" \
	grep -q 'STATUS=connecting to corosync' "$dir/notify.out"
ok "but not READY=1: no quorate view yet" sh -c "! grep -q READY=1 '$dir/notify.out'"

out=$(ip netns exec "$ns" build/dvipad -c "$dir/dvipa.conf" -s "$sock" -S "$dir" -f 2>&1) && rc=0 || rc=$?
ok "a second daemon on the same socket refuses to start" \
	test "$rc" = 1 -a -n "$(printf '%s' "$out" | grep -F 'another dvipad answers')"
ok "the first one still answers" build/dvipactl -s "$sock" show config

kill "$pid"
wait "$pid" && rc=0 || rc=$?
pid=
is "$rc" 0 "SIGTERM stops the daemon cleanly"
ok "after telling the service manager STOPPING=1" grep -q 'STOPPING=1' "$dir/notify.out"
ok "the control socket is removed" test ! -e "$sock"

done_testing
