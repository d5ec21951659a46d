# tests/lib/stream.sh — long-lived connections through the plex, checked byte
# for byte: socat echo servers on nodes, build/tools/echo_stream in the client
# namespace, its figures as shell variables, and which node serves which
# connection.  Source it after tests/lib/plex.sh (and tests/lib/tap.sh for
# tests):
#
#   . tests/lib/tap.sh
#   . tests/lib/plex.sh
#   . tests/lib/stream.sh
#
#   stream_servers PORT NODE...          socat echo servers on PORT, IPv4 and IPv6
#   stream_servers_reset PORT NODE...    they drop every connection, keep listening
#   stream_start NAME ADDR PORT [ARG...] echo_stream NAME in the client, connected
#   stream_mark NAME                     pauses are measured from now on (SIGUSR2)
#   stream_status NAME                   its total line, as of now
#   stream_stop NAME                     ends it; sets STREAM_*; the report as comments
#   stream_where NAME                    "LPORT NODE" per connection: who serves it
#
# A client's files are $PLEX_DIR/stream-NAME.{out,log,status,pid}.  Every
# process runs in a namespace of the plex, so plex_destroy ends them all, also
# when a test fails halfway.

STREAM_TOOL=${STREAM_TOOL:-$PLEX_ROOT/build/tools/echo_stream}

# stream_servers PORT NODE...: on each NODE, an echo server on PORT on every
# address: one socat for IPv4 and IPv6 (an IPv6 socket that takes IPv4 too),
# or, where that cannot listen, one per family.  Each connection gets a socat
# process of its own (fork); the backlog is large because a client opening
# hundreds of connections at once would overflow socat's default of 5 (the
# handshakes in excess stall for a second or end in resets).
stream_servers()
{
	local port=$1 i d
	shift
	_plex_need socat || return 1
	for i in "$@"; do
		plex_node_up "$i" || _plex_die "stream_servers: node $i is down" || return 1
		d=$(_plex_node_dir "$i")/echo-$port
		mkdir -p "$d"
		_plex_spawn "$d/socat.pid" "$d/socat.log" nsenter -t "$(plex_pid "$i")" -m -n -u \
			socat "TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=0,backlog=1024" PIPE
		if plex_poll 2 _plex_listening "$i" "$port"; then
			continue
		fi
		_plex_spawn "$d/socat4.pid" "$d/socat.log" nsenter -t "$(plex_pid "$i")" -m -n -u \
			socat "TCP4-LISTEN:$port,fork,reuseaddr,backlog=1024" PIPE
		_plex_spawn "$d/socat6.pid" "$d/socat.log" nsenter -t "$(plex_pid "$i")" -m -n -u \
			socat "TCP6-LISTEN:$port,fork,reuseaddr,ipv6only=1,backlog=1024" PIPE
		plex_poll 5 _plex_listening "$i" "$port" ||
			_plex_die "node $i: no echo server listens on port $port (see $d/socat.log)" ||
			return 1
	done
}

# stream_servers_reset PORT NODE...: the echo servers on PORT of each NODE
# end every connection they hold (their per-connection processes), and keep
# listening.  Between samples: a connection whose client was reset by some
# other node stays half-open on its server, and the client may reuse its
# port.
stream_servers_reset()
{
	local port=$1 i f pid
	shift
	for i in "$@"; do
		for f in "$(_plex_node_dir "$i")/echo-$port"/socat*.pid; do
			pid=$(cat "$f" 2>/dev/null || true)
			_plex_alive "$pid" || continue
			pkill -TERM -P "$pid" 2>/dev/null || true
			plex_poll 5 _stream_no_children "$pid" || pkill -KILL -P "$pid" 2>/dev/null || true
		done
	done
	return 0
}

_stream_no_children()
{
	! pgrep -P "$1" >/dev/null
}

_stream_file()
{
	echo "$PLEX_DIR/stream-$1.$2"
}

_stream_pid()
{
	local pid
	pid=$(cat "$(_stream_file "$1" pid)" 2>/dev/null || true)
	_plex_alive "$pid" && echo "$pid"
	return 0
}

_stream_connected()
{
	grep -qs '^connected' "$(_stream_file "$1" log)"
}

# stream_start NAME ADDR PORT [ECHO_STREAM_ARG...]: echo_stream (built if
# missing) from the client namespace to ADDR:PORT in the background, with
# its status file (-S, rewritten every second) and log under $PLEX_DIR;
# returns once every connection is made.  ARGs: -n CONNS, -i INTERVAL_US,
# -s CHUNK, -d SECONDS, -w DRAIN_S (docs/testing.md).
stream_start()
{
	local name=$1 addr=$2 port=$3 pid
	shift 3
	case $name in
	'' | *[!a-zA-Z0-9_-]*) _plex_die "stream_start: name '$name': letters, digits, - and _" || return 1 ;;
	esac
	if [ ! -x "$STREAM_TOOL" ] || [ "$PLEX_ROOT/tests/tools/echo_stream.c" -nt "$STREAM_TOOL" ]; then
		make -s -C "$PLEX_ROOT" build/tools/echo_stream >&2 || return 1
	fi
	[ -z "$(_stream_pid "$name")" ] || _plex_die "stream_start: $name runs already" || return 1
	rm -f "$(_stream_file "$name" log)" "$(_stream_file "$name" status)" "$(_stream_file "$name" out)"
	_plex_spawn "$(_stream_file "$name" pid)" "$(_stream_file "$name" out)" \
		ip netns exec "$(plex_ns_client)" "$STREAM_TOOL" -o "$(_stream_file "$name" log)" \
		-S "$(_stream_file "$name" status)" "$@" "$addr" "$port"
	pid=$(cat "$(_stream_file "$name" pid)")
	# Connecting gives up after 5 s without progress; the wait is longer.
	if plex_poll 60 _stream_connected "$name"; then
		return 0
	fi
	_plex_die "stream_start: $name did not connect to $addr port $port:"
	kill -TERM "$pid" 2>/dev/null || true
	sed 's/^/# /' "$(_stream_file "$name" out)" | grep -v '^# conn ' >&2
	return 1
}

# stream_mark NAME: the pause "since the mark" restarts now.
stream_mark()
{
	local pid
	pid=$(_stream_pid "$1")
	[ -n "$pid" ] || _plex_die "stream_mark: $1 does not run" || return 1
	kill -USR2 "$pid"
}

_stream_status_fresh()
{
	[ -s "$1" ]
}

# stream_status NAME: the total line of NAME's status as of now
# ("total conns 200 ok 200 reset 0 ... worst_lport P").
stream_status()
{
	local pid f
	pid=$(_stream_pid "$1")
	[ -n "$pid" ] || _plex_die "stream_status: $1 does not run" || return 1
	f=$(_stream_file "$1" status)
	# A file written after the removal is newer than the signal.
	rm -f "$f"
	kill -USR1 "$pid"
	plex_poll 5 _stream_status_fresh "$f" || _plex_die "stream_status: $1 does not answer" || return 1
	grep '^total ' "$f"
}

# _stream_field LINE KEY: the number after KEY in LINE.
_stream_field()
{
	echo "$1" | awk -v k="$2" '{ for (i = 1; i < NF; i++) if ($i == k) { print $(i + 1); exit } }'
}

# stream_stop NAME: SIGTERM; echo_stream stops sending, waits for its last
# echoes and the servers' end of file (its drain time, -w) and reports.
# Sets STREAM_CONNS, STREAM_OK, STREAM_RESET, STREAM_EOF, STREAM_MISMATCH,
# STREAM_TIMEOUT, STREAM_LOST_BYTES (sent and never echoed),
# STREAM_MAXPAUSE_MS and STREAM_PAUSE_SINCE_MARK_MS (the longest pause of a
# connection that ended ok, rounded to the ms) and STREAM_TOTAL (the total
# line); prints the total and the connections that did not end ok as TAP
# comments (on stderr).  Returns 0 when every connection ended ok.
stream_stop()
{
	local name=$1 pid out total bad
	pid=$(_stream_pid "$name")
	out=$(_stream_file "$name" out)
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		# The drain is 10 s unless -w said otherwise; a second SIGTERM
		# ends it.
		if ! plex_poll 30 _plex_dead "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			plex_poll 5 _plex_dead "$pid" || kill -9 "$pid" 2>/dev/null || true
		fi
	fi
	total=$(grep '^total ' "$out" 2>/dev/null | tail -n1)
	[ -n "$total" ] || { _plex_die "stream_stop: $name gave no report (see $out)"; return 1; }
	# shellcheck disable=SC2034 # for the caller
	STREAM_TOTAL=$total
	STREAM_CONNS=$(_stream_field "$total" conns)
	STREAM_OK=$(_stream_field "$total" ok)
	# shellcheck disable=SC2034 # for the caller
	STREAM_RESET=$(_stream_field "$total" reset)
	# shellcheck disable=SC2034 # for the caller
	STREAM_EOF=$(_stream_field "$total" eof)
	# shellcheck disable=SC2034 # for the caller
	STREAM_MISMATCH=$(_stream_field "$total" mismatch)
	# shellcheck disable=SC2034 # for the caller
	STREAM_TIMEOUT=$(_stream_field "$total" timeout)
	# shellcheck disable=SC2034 # for the caller
	STREAM_LOST_BYTES=$(_stream_field "$total" outstanding)
	# shellcheck disable=SC2034 # for the caller
	STREAM_MAXPAUSE_MS=$((($(_stream_field "$total" maxpause_us) + 500) / 1000))
	# shellcheck disable=SC2034 # for the caller
	STREAM_PAUSE_SINCE_MARK_MS=$((($(_stream_field "$total" pause_since_mark_us) + 500) / 1000))
	echo "# stream $name: $total" >&2
	bad=$(grep '^conn ' "$out" | grep -vc ' state ok ' || true)
	if [ "$bad" != 0 ]; then
		grep '^conn ' "$out" | grep -v ' state ok ' | head -n 10 | sed "s/^/# stream $name: /" >&2
		[ "$bad" -le 10 ] || echo "# stream $name: ... $((bad - 10)) more (see $out)" >&2
	fi
	[ "$STREAM_OK" = "$STREAM_CONNS" ]
}

# stream_where NAME: for each connection of NAME, the node holding the other
# end (the server's socket, or a proxy's): "LPORT I" a line, "LPORT -" when
# no running node has it.  Reads `ss` in every node's network namespace and
# matches the client's address and local port as the socket's peer.  A
# half-open socket left on a node by an earlier connection from the same
# port has the same addresses and ports: of several, the one that received
# last is taken (a connection of echo_stream receives every interval).
stream_where()
{
	local name=$1 i ns status
	status=$(_stream_file "$name" status)
	[ -n "$(_stream_pid "$name")" ] && stream_status "$name" >/dev/null
	[ -s "$status" ] || { _plex_die "stream_where: no status of $name"; return 1; }
	{
		for i in $(seq 1 "$PLEX_N"); do
			ns=$(plex_ns "$i")
			ip netns list | grep -q "^$ns\b" || continue
			ip netns exec "$ns" ss -tinOH state established 2>/dev/null |
				awk -v n="$i" '{
					last = 1e12
					for (f = 5; f <= NF; f++)
						if ($f ~ /^lastrcv:/) last = substr($f, 9) + 0
					print "sock", n, $4, last
				}'
		done
		awk '$1 == "conn" && $4 != 0 { print "conn", $4 }' "$status"
	} | awk -v c4="$PLEX_CLIENT_IP" -v c6="$PLEX_CLIENT_IP6" '
		$1 == "sock" {
			peer = $3
			port = peer; sub(/.*:/, "", port)
			addr = peer; sub(/:[0-9]+$/, "", addr); gsub(/[][]/, "", addr)
			sub(/^::ffff:/, "", addr)
			if (addr != c4 && addr != c6)
				next
			if (!(port in node) || $4 < last[port]) {
				node[port] = $2
				last[port] = $4
			}
			next
		}
		$1 == "conn" { print $2, (($2 in node) ? node[$2] : "-") }'
}
