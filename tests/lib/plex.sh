# tests/lib/plex.sh — a plex on one machine: network namespaces, a bridge, real
# corosync on every node and, when it is built, dvipad.  Sourced by the bash
# integration tests and by scripts/demo.sh; run directly it is a small tool to
# list, enter and remove plexes (`tests/lib/plex.sh help`).  docs/testing.md
# explains the layout and every function.
#
#   bridge namespace  ID-br : bridge br0, ports n1..nN and cl
#   node namespaces   ID-nI : eth0 = PLEX_NET4.I/24 (+ PLEX_NET6I/64 with --ipv6)
#   client namespace  ID-cl : eth0 = PLEX_NET4.100/24 (+ PLEX_NET6100/64)
#
# Each running node also has a private mount namespace and a UTS namespace
# (hostname nI), held by an anchor process: its own /run, /var/lib/corosync,
# /dev/shm (corosync's pid file and IPC buffers), /etc/corosync, /etc/dvipa and
# /sys/fs/bpf.  Every process of the node (corosync, dvipad, servers started
# with plex_run) lives in these namespaces and the node's network namespace;
# `nsenter -t ANCHOR_PID -m -n -u` reaches them.
#
# State lives in a temporary directory (PLEX_DIR) and in a registry entry
# PLEX_REGISTRY/ID, so that a plex left behind by a killed run is found and
# removed by the next plex_create, and a kept one can be entered later.

PLEX_ROOT=${PLEX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PLEX_BUILD=${PLEX_BUILD:-$PLEX_ROOT/build}
PLEX_REGISTRY=${PLEX_REGISTRY:-/run/dvipa-plex}
PLEX_NET4=${PLEX_NET4:-10.0.0}
PLEX_NET6=${PLEX_NET6:-fd00::}
PLEX_IF=eth0
PLEX_CLIENT_IP=$PLEX_NET4.100
PLEX_CLIENT_IP6=${PLEX_NET6}100
# corosync timers: a dead node is noticed after about token + consensus.
PLEX_TOKEN=${PLEX_TOKEN:-300}
PLEX_CONSENSUS=${PLEX_CONSENSUS:-400}
PLEX_JOIN=${PLEX_JOIN:-50}
PLEX_TRANSPORT=${PLEX_TRANSPORT:-knet}
# knet's heartbeat thread wakes every 200 ms, so the pong timeout corosync
# derives from token 300 (150 ms) declares every link dead about 9 s after it
# came up and the membership re-forms for nothing. "INTERVAL TIMEOUT" in ms
# keeps the links up (node death is still found by token + consensus); empty
# keeps corosync's values.
PLEX_KNET_PING=${PLEX_KNET_PING-100 500}
PLEX_SAMPLER_PERIOD_MS=${PLEX_SAMPLER_PERIOD_MS:-5}

PLEX_ID=
PLEX_DIR=
PLEX_N=0
PLEX_IPV6=0
PLEX_SAMPLER_PID=
PLEX_WAITED_MS=

case ":$PATH:" in
*":$PLEX_BUILD:"*) ;;
*) PATH=$PLEX_BUILD:$PATH ;;
esac

# ---------------------------------------------------------------- helpers

_plex_log()
{
	echo "# plex: $*" >&2
}

_plex_die()
{
	echo "# plex: error: $*" >&2
	return 1
}

# Milliseconds since the epoch (bash 5's EPOCHREALTIME, no fork).
plex_now_ms()
{
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# plex_poll TIMEOUT_S CMD...: run CMD every 20 ms until it succeeds; returns 1
# on timeout.  Sets PLEX_WAITED_MS to the time it took.
plex_poll()
{
	local timeout_ms=$(($1 * 1000)) start now
	shift
	start=$(plex_now_ms)
	while :; do
		if "$@"; then
			now=$(plex_now_ms)
			PLEX_WAITED_MS=$((now - start))
			return 0
		fi
		now=$(plex_now_ms)
		if [ $((now - start)) -ge "$timeout_ms" ]; then
			PLEX_WAITED_MS=$((now - start))
			return 1
		fi
		sleep 0.02
	done
}

# A process is alive when it exists and is not a zombie (orphans may wait a
# while for their reaper).
_plex_alive()
{
	local stat
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

_plex_starttime()
{
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	# Field 22 of stat, the 20th after "pid (comm)".
	# shellcheck disable=SC2086 # the fields, split on spaces
	set -- $stat
	echo "${20}"
}

# Start a detached process (its own session, reparented to init) so that it
# never holds the test's stdout nor shows up as a job; its PID goes to PIDFILE.
# Every program in the chain (setsid, ip netns exec, unshare, nsenter) execs
# the next without forking, so the PID is the final program's.
_plex_spawn()
{
	local pidfile=$1 log=$2
	shift 2
	(setsid "$@" </dev/null >>"$log" 2>&1 &
		echo $! >"$pidfile")
}

_plex_need()
{
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || _plex_die "$t is missing (run: make deps)" || return 1
	done
}

plex_ns()
{
	echo "$PLEX_ID-n$1"
}

plex_ns_bridge()
{
	echo "$PLEX_ID-br"
}

plex_ns_client()
{
	echo "$PLEX_ID-cl"
}

# The node's plex addresses.
plex_ip()
{
	echo "$PLEX_NET4.$1"
}

plex_ip6()
{
	echo "$PLEX_NET6$1"
}

_plex_node_dir()
{
	echo "$PLEX_DIR/n$1"
}

# The PID whose namespaces are the node's (empty when the node is down).
plex_pid()
{
	local f="$PLEX_DIR/n$1/anchor.pid" pid
	[ -r "$f" ] || return 0
	pid=$(cat "$f")
	_plex_alive "$pid" && echo "$pid"
	return 0
}

plex_node_up()
{
	[ -n "$(plex_pid "$1")" ]
}

plex_nodes_up()
{
	local i out=
	for i in $(seq 1 "$PLEX_N"); do
		plex_node_up "$i" && out="$out $i"
	done
	echo "${out# }"
}

# The command that enters node I (for messages and docs).
plex_enter_cmd()
{
	echo "nsenter -t $(plex_pid "$1") -m -n -u"
}

# ---------------------------------------------------------------- registry

_plex_save()
{
	local f
	mkdir -p "$PLEX_REGISTRY"
	f="$PLEX_REGISTRY/$PLEX_ID"
	cat >"$f.tmp" <<EOF
PLEX_ID=$PLEX_ID
PLEX_DIR=$PLEX_DIR
PLEX_N=$PLEX_N
PLEX_IPV6=$PLEX_IPV6
PLEX_NET4=$PLEX_NET4
PLEX_NET6=$PLEX_NET6
PLEX_OWNER=${PLEX_OWNER:-0}
PLEX_OWNER_START=${PLEX_OWNER_START:-}
PLEX_KEEP=${PLEX_KEEP:-0}
EOF
	mv "$f.tmp" "$f"
	[ -d "$PLEX_DIR" ] && cp "$f" "$PLEX_DIR/plex.env"
	return 0
}

# plex_attach ID: load a plex created by another process (demo, kept test).
plex_attach()
{
	local f="$PLEX_REGISTRY/$1"
	[ -r "$f" ] || _plex_die "no plex '$1' in $PLEX_REGISTRY" || return 1
	# shellcheck disable=SC1090
	. "$f"
	PLEX_CLIENT_IP=$PLEX_NET4.100
	PLEX_CLIENT_IP6=${PLEX_NET6}100
}

# plex_list: one line per registered plex: ID STATE DIR.
plex_list()
{
	local f state
	for f in "$PLEX_REGISTRY"/*; do
		[ -f "$f" ] || continue
		case $f in *.tmp) continue ;; esac
		state=$(
			# shellcheck disable=SC1090
			. "$f"
			if [ "$PLEX_KEEP" = 1 ]; then
				echo kept
			elif [ "$PLEX_OWNER" = 0 ]; then
				echo persistent
			elif _plex_alive "$PLEX_OWNER" &&
				[ "$(_plex_starttime "$PLEX_OWNER")" = "$PLEX_OWNER_START" ]; then
				echo "running(pid $PLEX_OWNER)"
			else
				echo stale
			fi
			echo "$PLEX_DIR"
		)
		echo "${f##*/} ${state//$'\n'/ }"
	done
}

# plex_reap: remove plexes whose owner died without cleaning up (a test killed
# with SIGKILL).  Kept and persistent plexes are left alone.
plex_reap()
{
	local id state
	while read -r id state _; do
		[ "$state" = stale ] || continue
		_plex_log "removing plex $id left by a dead run"
		(plex_attach "$id" && plex_destroy) || true
	done < <(plex_list)
}

# ---------------------------------------------------------------- creation

# plex_create N [--ipv6] [--id ID]: build the namespaces and write every node's
# corosync.conf; nothing runs yet (plex_start / plex_start_node).  Installs
# `trap plex_exit_trap EXIT` unless PLEX_NO_TRAP=1.
plex_create()
{
	local n=$1 id="" i
	shift
	PLEX_IPV6=0
	while [ $# -gt 0 ]; do
		case $1 in
		--ipv6) PLEX_IPV6=1 ;;
		--id)
			id=$2
			shift
			;;
		*) _plex_die "plex_create: unknown option $1" || return 1 ;;
		esac
		shift
	done
	[ "$(id -u)" = 0 ] || _plex_die "the test plex needs root" || return 1
	[ -z "$PLEX_ID" ] || _plex_die "plex $PLEX_ID exists: one plex per shell" || return 1
	case $n in
	'' | *[!0-9]*) _plex_die "plex_create: bad node count '$n'" || return 1 ;;
	esac
	[ "$n" -ge 1 ] && [ "$n" -le 32 ] || _plex_die "plex_create: 1..32 nodes" || return 1
	_plex_need ip corosync corosync-quorumtool nsenter unshare setsid || return 1
	# The ID becomes part of namespace and file names.
	case $id in
	*[!a-zA-Z0-9]*) _plex_die "plex id '$id': letters and digits only" || return 1 ;;
	esac
	if [ -z "$id" ]; then
		# dv<PID>, or dv<PID>b... when a kept plex already has that name.
		id="dv$$"
		for i in b c d e f g h; do
			[ -e "$PLEX_REGISTRY/$id" ] || break
			id="dv$$$i"
		done
	fi
	if [ -e "$PLEX_REGISTRY/$id" ]; then
		_plex_die "plex $id exists already ($PLEX_REGISTRY/$id)" || return 1
	fi
	plex_reap

	PLEX_ID=$id
	PLEX_N=$n
	PLEX_OWNER=${PLEX_OWNER-$$}
	PLEX_OWNER_START=
	[ "$PLEX_OWNER" != 0 ] && PLEX_OWNER_START=$(_plex_starttime "$PLEX_OWNER")
	PLEX_KEEP=0
	PLEX_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dvipa-plex.$id.XXXXXX")
	# The registry entry comes first, so that whatever follows can be found
	# and removed even if this process is killed halfway.
	_plex_save
	if [ "${PLEX_NO_TRAP:-0}" != 1 ]; then
		trap plex_exit_trap EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM HUP
	fi

	local br
	br=$(plex_ns_bridge)
	ip netns add "$br"
	ip -n "$br" link set lo up
	ip netns exec "$br" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	# No multicast snooping: IPv6 neighbour discovery must flood like ARP.
	ip -n "$br" link add br0 type bridge mcast_snooping 0 stp_state 0
	ip -n "$br" link set br0 up

	for i in $(seq 1 "$n"); do
		mkdir -p "$PLEX_DIR/n$i"/{run,lib,etc/corosync,etc/dvipa,etc-upper/corosync,etc-upper/dvipa,etc-work,varlib-upper/dvipa,varlib-work,log}
		_plex_write_corosync_conf "$i"
		_plex_net_up "$i"
	done
	_plex_endpoint_up cl "$(plex_ns_client)" "$PLEX_CLIENT_IP" "$PLEX_CLIENT_IP6" 64
	_plex_log "plex $PLEX_ID: $n nodes, state in $PLEX_DIR"
}

# One end of the LAN: namespace NS with eth0 plugged into bridge port PORT.
_plex_endpoint_up()
{
	local port=$1 ns=$2 ip4=$3 ip6=$4 macbyte=$5 br
	br=$(plex_ns_bridge)
	ip netns add "$ns"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
	ip -n "$ns" link set lo up
	ip -n "$br" link add "$port" type veth peer name eth0 netns "$ns"
	# Fixed MACs: a node that reboots comes back with the same one.
	ip -n "$ns" link set eth0 address "02:d7:00:00:00:$(printf %02x "$macbyte")"
	ip -n "$br" link set "$port" master br0 up
	ip -n "$ns" addr add "$ip4/24" dev eth0
	if [ "$PLEX_IPV6" = 1 ] && [ -n "$ip6" ]; then
		ip -n "$ns" addr add "$ip6/64" dev eth0 nodad
	fi
	ip -n "$ns" link set eth0 up
}

# plex_add_host NAME IPV4 [MACBYTE]: one more host on the plex's bridge, in
# namespace ID-NAME (removed with the plex), with IPV4/24 on its eth0 and no
# daemon: a router, a second client.  Prints the namespace's name.
plex_add_host()
{
	local name=$1 ip4=$2 macbyte=${3:-99} ns
	[ -n "$PLEX_ID" ] || _plex_die "plex_add_host: no plex" || return 1
	case $name in
	'' | *[!a-z0-9]*) _plex_die "plex_add_host: name '$name': lower-case letters and digits" || return 1 ;;
	esac
	ns=$PLEX_ID-$name
	_plex_endpoint_up "$name" "$ns" "$ip4" "" "$macbyte" >/dev/null || return 1
	echo "$ns"
}

_plex_net_up()
{
	_plex_endpoint_up "n$1" "$(plex_ns "$1")" "$(plex_ip "$1")" "$(plex_ip6 "$1")" "$1"
}

# Power off node I's network: deleting the bridge-side veth removes the
# node's eth0 at once, even if something still holds the namespace.
_plex_net_down()
{
	ip -n "$(plex_ns_bridge)" link del "n$1" 2>/dev/null || true
	ip netns del "$(plex_ns "$1")" 2>/dev/null || true
}

_plex_knet_interface()
{
	# shellcheck disable=SC2086 # two numbers
	set -- $PLEX_KNET_PING
	[ "$PLEX_TRANSPORT" = knet ] && [ $# = 2 ] || return 0
	printf '\tinterface {\n\t\tlinknumber: 0\n\t\tknet_ping_interval: %s\n\t\tknet_ping_timeout: %s\n\t}' "$1" "$2"
}

_plex_write_corosync_conf()
{
	local i=$1 j f="$PLEX_DIR/n$1/etc/corosync/corosync.conf"
	{
		cat <<EOF
# Written by tests/lib/plex.sh for node $i of plex $PLEX_ID.
totem {
	version: 2
	cluster_name: $PLEX_ID
	transport: $PLEX_TRANSPORT
	token: $PLEX_TOKEN
	token_coefficient: 0
	consensus: $PLEX_CONSENSUS
	join: $PLEX_JOIN
$(_plex_knet_interface)
	crypto_cipher: none
	crypto_hash: none
}

logging {
	to_stderr: no
	to_syslog: no
	to_logfile: yes
	logfile: $PLEX_DIR/n$i/log/corosync.log
	timestamp: hires
}

quorum {
	provider: corosync_votequorum
EOF
		[ "$PLEX_N" = 2 ] && echo "	two_node: 1"
		echo "}"
		echo
		echo "nodelist {"
		for j in $(seq 1 "$PLEX_N"); do
			printf '\tnode {\n\t\tnodeid: %s\n\t\tname: n%s\n\t\tring0_addr: %s\n\t}\n' \
				"$j" "$j" "$(plex_ip "$j")"
		done
		echo "}"
	} >"$f"
}

# plex_set_profile I [FILE]: node I's /etc/dvipa/dvipa.conf, from FILE or
# stdin (a here-doc).  A node with a profile runs dvipad when it starts; the
# file is bind-mounted, so a running node sees a change at once.
plex_set_profile()
{
	local f="$PLEX_DIR/n$1/etc/dvipa/dvipa.conf"
	if [ $# -ge 2 ] && [ "$2" != - ]; then
		cat "$2" >"$f.tmp"
	else
		cat >"$f.tmp"
	fi
	mv "$f.tmp" "$f"
}

plex_has_profile()
{
	[ -s "$PLEX_DIR/n$1/etc/dvipa/dvipa.conf" ]
}

# ---------------------------------------------------------------- nodes

# The mount namespace of a node.  ip netns exec gives a sysfs of the node's
# network namespace; unshare makes a private mount namespace in which /run,
# /var/lib/corosync, /var/lib/dvipa, /dev/shm and parts of /etc are the
# node's own.  /etc and /var/lib are overlays so that /etc/dvipa and
# /var/lib/dvipa exist without touching the host's; what a node writes there
# stays in its directory across restarts of the node.
_plex_anchor_script()
{
	local d=$1
	cat <<EOF
set -e
hostname n$2
mount -t overlay plex-etc -o lowerdir=/etc,upperdir=$d/etc-upper,workdir=$d/etc-work /etc
mount --bind $d/etc/corosync /etc/corosync
mount --bind $d/etc/dvipa /etc/dvipa
mount --bind $d/run /run
mount -t overlay plex-varlib -o lowerdir=/var/lib,upperdir=$d/varlib-upper,workdir=$d/varlib-work /var/lib
mount --bind $d/lib /var/lib/corosync
mount -t tmpfs -o size=256m,mode=1777 plex-shm /dev/shm
mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
EOF
	# ip netns exec mounts a fresh sysfs, which hides the host's cgroup2
	# mount: put it back at the same path for programs that attach to it.
	local cg
	cg=$(findmnt -n -t cgroup2 -o TARGET 2>/dev/null | head -n1)
	case $cg in
	/sys/fs/cgroup) echo "mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true" ;;
	/sys/fs/cgroup/*)
		echo "mount -t tmpfs -o mode=755 plex-cgroup /sys/fs/cgroup 2>/dev/null && mkdir -p $cg && mount -t cgroup2 cgroup2 $cg || true"
		;;
	esac
	# And the cgroup v1 hierarchies of the cpu and cpuacct controllers,
	# where dvipad reads its CPU quota and usage (BASEWLM).
	local t o c w
	findmnt -n -t cgroup -o TARGET,FS-OPTIONS 2>/dev/null | while read -r t o; do
		c=
		for w in ${o//,/ }; do
			case $w in cpu | cpuacct) c=${c:+$c,}$w ;; esac
		done
		[ -z "$c" ] || echo "mkdir -p $t && mount -t cgroup -o $c cgroup $t || true"
	done
	echo "exec sleep infinity"
}

# plex_start_node I: boot node I (recreating its network if it was killed),
# start corosync, wait until it answers, then start dvipad if the node has a
# profile and the binary is built.  Does not wait for membership.
plex_start_node()
{
	plex_start_corosync "$1" || return 1
	_plex_wait_corosync "$1" || return 1
	if plex_has_profile "$1" && [ -x "$PLEX_BUILD/dvipad" ] && [ "${PLEX_NO_DVIPAD:-0}" != 1 ]; then
		plex_start_dvipad "$1" || return 1
	fi
}

# plex_start: start every node (corosyncs together, then the dvipads).
plex_start()
{
	local i
	for i in $(seq 1 "$PLEX_N"); do
		plex_start_corosync "$i" || return 1
	done
	for i in $(seq 1 "$PLEX_N"); do
		_plex_wait_corosync "$i" || return 1
	done
	if [ -x "$PLEX_BUILD/dvipad" ] && [ "${PLEX_NO_DVIPAD:-0}" != 1 ]; then
		for i in $(seq 1 "$PLEX_N"); do
			plex_has_profile "$i" && { plex_start_dvipad "$i" || return 1; }
		done
	fi
	return 0
}

# Boot node I: network, mount namespace (anchor), corosync.
plex_start_corosync()
{
	local i=$1 d ns pid
	d=$(_plex_node_dir "$i")
	ns=$(plex_ns "$i")
	if ! plex_node_up "$i"; then
		ip netns list | grep -q "^$ns\b" || _plex_net_up "$i"
		# A boot starts with an empty /run, like a tmpfs.
		rm -rf "${d:?}/run" && mkdir -p "$d/run/dvipa"
		_plex_spawn "$d/anchor.pid" "$d/log/anchor.log" \
			ip netns exec "$ns" unshare -m -u --propagation private \
			sh -c "$(_plex_anchor_script "$d" "$i")"
		# The anchor is ready once its mounts are done and it sleeps.
		plex_poll 5 _plex_anchor_ready "$i" ||
			_plex_die "node $i: mount namespace not ready (see $d/log/anchor.log)" ||
			return 1
	fi
	pid=$(cat "$d/corosync.pid" 2>/dev/null || true)
	if _plex_alive "$pid"; then
		return 0
	fi
	echo "--- $(date '+%F %T.%N') start" >>"$d/log/corosync.out"
	_plex_spawn "$d/corosync.pid" "$d/log/corosync.out" \
		nsenter -t "$(plex_pid "$i")" -m -n -u corosync -f
}

_plex_anchor_ready()
{
	local pid
	pid=$(plex_pid "$1")
	[ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]
}

_plex_corosync_answers()
{
	local rc=0
	plex_run "$1" corosync-quorumtool -s >/dev/null 2>&1 || rc=$?
	# 0: quorate, 2: not quorate; anything else: not answering yet.
	[ "$rc" = 0 ] || [ "$rc" = 2 ]
}

_plex_wait_corosync()
{
	local d
	d=$(_plex_node_dir "$1")
	plex_poll 10 _plex_corosync_answers "$1" && return 0
	_plex_die "node $1: corosync does not answer (see $d/log/corosync.log, corosync.out)"
	tail -n 20 "$d/log/corosync.out" "$d/log/corosync.log" 2>/dev/null | sed 's/^/# /' >&2
	return 1
}

plex_corosync_pid()
{
	local pid
	pid=$(cat "$PLEX_DIR/n$1/corosync.pid" 2>/dev/null || true)
	_plex_alive "$pid" && echo "$pid"
	return 0
}

plex_kill_corosync()
{
	local pid
	pid=$(plex_corosync_pid "$1")
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	plex_poll 5 _plex_dead "$pid" || true
}

_plex_dead()
{
	! _plex_alive "$1"
}

# plex_start_dvipad I: start dvipad in node I and wait until dvipactl answers.
plex_start_dvipad()
{
	local i=$1 d pid
	d=$(_plex_node_dir "$i")
	[ -x "$PLEX_BUILD/dvipad" ] || _plex_die "$PLEX_BUILD/dvipad is not built" || return 1
	plex_node_up "$i" || _plex_die "node $i is down" || return 1
	pid=$(plex_dvipad_pid "$i")
	[ -z "$pid" ] || return 0
	# A wrong profile is the test's mistake: say so plainly.
	if ! plex_run "$i" "$PLEX_BUILD/dvipad" --check-config /etc/dvipa/dvipa.conf >"$d/log/check-config.out" 2>&1; then
		_plex_die "node $i: the profile does not pass dvipad --check-config:"
		sed 's/^/# /' "$d/log/check-config.out" >&2
		return 1
	fi
	echo "--- $(date '+%F %T.%N') start" >>"$d/log/dvipad.log"
	_plex_spawn "$d/dvipad.pid" "$d/log/dvipad.log" \
		nsenter -t "$(plex_pid "$i")" -m -n -u "$PLEX_BUILD/dvipad" -c /etc/dvipa/dvipa.conf -f
	if ! plex_poll 10 _plex_dvipactl_answers "$i"; then
		_plex_die "node $i: dvipactl show config does not answer (see $d/log/dvipad.log)"
		tail -n 20 "$d/log/dvipad.log" | sed 's/^/# /' >&2
		return 1
	fi
	# A starting dvipad removes its predecessor's leftovers before it joins.
	[ -z "$PLEX_SAMPLER_PID" ] || plex_sampler_exempt --node-done "$i"
}

_plex_dvipactl_answers()
{
	_plex_alive "$(cat "$PLEX_DIR/n$1/dvipad.pid" 2>/dev/null)" || return 2
	plex_run "$1" "$PLEX_BUILD/dvipactl" show config >/dev/null 2>&1
}

plex_dvipad_pid()
{
	local pid
	pid=$(cat "$PLEX_DIR/n$1/dvipad.pid" 2>/dev/null || true)
	_plex_alive "$pid" && echo "$pid"
	return 0
}

# plex_kill_dvipad I: SIGKILL (a crash); corosync stays up. Its DVIPAs stay
# until their lifetime runs out, and the others take over only after that
# (docs/distributor.md): the sampler makes no exception.
plex_kill_dvipad()
{
	local pid
	pid=$(plex_dvipad_pid "$1")
	[ -n "$pid" ] || return 0
	kill -9 "$pid" 2>/dev/null || true
	plex_poll 5 _plex_dead "$pid" || true
}

# plex_stop_dvipad I: SIGTERM (an orderly stop), SIGKILL after 5 s.
plex_stop_dvipad()
{
	local pid
	pid=$(plex_dvipad_pid "$1")
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	plex_poll 5 _plex_dead "$pid" || plex_kill_dvipad "$1"
}

plex_restart_dvipad()
{
	plex_kill_dvipad "$1"
	plex_start_dvipad "$1"
}

# plex_kill_node I: the node dies at once: SIGKILL to every process in its
# namespaces, and its network is gone (a powered-off machine answers no ARP;
# the addresses it held die with it).  plex_start_node I boots it again with a
# fresh network and an empty /run and /dev/shm; /var/lib/corosync and the
# profile survive, like a disk.
plex_kill_node()
{
	local i=$1 ns
	ns=$(plex_ns "$i")
	ip -n "$(plex_ns_bridge)" link del "n$i" 2>/dev/null || true
	_plex_kill_ns "$ns"
	_plex_net_down "$i"
}

# plex_stop_node I: an orderly shutdown: SIGTERM to dvipad, then corosync (so
# the others see a clean leave), then everything else, then power off.
plex_stop_node()
{
	local i=$1 pid
	plex_stop_dvipad "$i"
	pid=$(plex_corosync_pid "$i")
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		plex_poll 5 _plex_dead "$pid" || true
	fi
	plex_kill_node "$i"
}

_plex_ns_pids()
{
	ip netns pids "$1" 2>/dev/null || true
}

_plex_ns_empty()
{
	[ -z "$(_plex_ns_pids "$1")" ]
}

_plex_kill_ns()
{
	local ns=$1 pids
	ip netns list | grep -q "^$ns\b" || return 0
	pids=$(_plex_ns_pids "$ns")
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null || true
	plex_poll 5 _plex_ns_empty "$ns" || _plex_log "processes left in $ns: $(_plex_ns_pids "$ns")"
}

# ---------------------------------------------------------------- running things

# plex_run I CMD...: run CMD in node I (its network and mount namespaces), in
# the current directory, with build/ on PATH.
plex_run()
{
	local pid
	local wd=$PWD
	pid=$(plex_pid "$1")
	[ -n "$pid" ] || _plex_die "node $1 is down" || return 1
	shift
	# Directories that the node mounts over are not the caller's.
	case $wd in
	/run | /run/* | /etc/corosync* | /etc/dvipa* | /var/lib/corosync* | /dev/shm*) wd=/ ;;
	esac
	nsenter -t "$pid" -m -n -u --wd="$wd" -- "$@"
}

# plex_client CMD...: run CMD in the client namespace.
plex_client()
{
	ip netns exec "$(plex_ns_client)" "$@"
}

# plex_start_http I [PORT]: an nginx in node I answering every request on
# PORT (default 80), on every address, with "nI": which node served it.
# It dies with the node.
plex_start_http()
{
	local i=$1 port=${2:-80} d conf
	_plex_need nginx || return 1
	plex_node_up "$i" || _plex_die "node $i is down" || return 1
	d=$(_plex_node_dir "$i")/http-$port
	mkdir -p "$d/tmp"
	conf=$d/nginx.conf
	# PLEX_HTTP_ACCESS_LOG=0: no access log (a benchmark of the network
	# path, where writing a line per request is work of the server's own).
	local access_log=$d/access.log
	[ "${PLEX_HTTP_ACCESS_LOG:-1}" != 0 ] || access_log=off
	cat >"$conf" <<EOF
daemon off;
worker_processes 1;
pid /run/nginx-$port.pid;
error_log $d/error.log;
events { worker_connections 512; }
http {
	access_log $access_log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	server {
		listen $port default_server;
		listen [::]:$port default_server;
		location / { default_type text/plain; return 200 "n$i\n"; }
	}
}
EOF
	_plex_spawn "$d/nginx.pid" "$d/nginx.out" \
		nsenter -t "$(plex_pid "$i")" -m -n -u nginx -p "$d" -c "$conf" -e "$d/error.log"
	plex_poll 5 _plex_listening "$i" "$port" && return 0
	_plex_die "node $i: nginx does not listen on port $port (see $d/error.log)"
}

_plex_listening()
{
	plex_run "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q LISTEN
}

# plex_addrs I: node I's addresses on eth0 and lo, one "IF ADDR/LEN" a line,
# without link-local ones and lo's loopback addresses.
plex_addrs()
{
	local ns
	ns=$(plex_ns "$1")
	ip netns list | grep -q "^$ns\b" || return 0
	ip -n "$ns" -o addr show 2>/dev/null |
		awk '$2 == "lo" || $2 == "eth0" {
			if ($4 ~ /^fe80:/ || $4 == "127.0.0.1/8" || $4 == "::1/128") next
			print $2, $4 }'
}

# plex_has_addr I ADDR [IF]: is ADDR on node I (on IF, default eth0)?
plex_has_addr()
{
	plex_addrs "$1" | grep -q "^${3:-eth0} ${2}/"
}

# plex_holders ADDR [IF]: the nodes that hold ADDR on IF (default eth0).
plex_holders()
{
	local i out=
	for i in $(seq 1 "$PLEX_N"); do
		plex_has_addr "$i" "$1" "${2:-eth0}" && out="$out $i"
	done
	echo "${out# }"
}

# ---------------------------------------------------------------- membership

# plex_view I: what node I's corosync says: "MEMBERS QUORATE", e.g. "1,2,3 1";
# empty when it does not answer.
plex_view()
{
	local out
	out=$(plex_run "$1" corosync-quorumtool -s 2>/dev/null) || [ $? = 2 ] || return 0
	echo "$out" | awk '
		/^Quorate:/ { q = ($2 == "Yes") ? 1 : 0 }
		/^Membership information/ { m = 1; next }
		m && $1 ~ /^[0-9]+$/ { ids = ids (ids ? "," : "") $1 }
		END { if (q != "") print ids, q }'
}

_plex_view_is()
{
	[ "$(plex_view "$1")" = "$2 $3" ]
}

# plex_wait_view I MEMBERS QUORATE [TIMEOUT_S]: wait until node I sees exactly
# MEMBERS ("2,3" or "2 3") with quorum state QUORATE (1 or 0).
plex_wait_view()
{
	local i=$1 members=${2// /,} q=$3 t=${4:-10}
	if plex_poll "$t" _plex_view_is "$i" "$members" "$q"; then
		return 0
	fi
	_plex_log "node $i sees '$(plex_view "$i")', want '$members $q' (waited ${PLEX_WAITED_MS} ms)"
	return 1
}

_plex_all_see()
{
	local want=$1 i
	for i in $(plex_nodes_up); do
		[ "$(plex_view "$i")" = "$want" ] || return 1
	done
}

# plex_wait_members N [TIMEOUT_S [QUORATE]]: wait until every running node
# sees the same N running nodes as members, with quorum (QUORATE=1, the
# default) or without (0).  PLEX_WAITED_MS says how long it took.
plex_wait_members()
{
	local n=$1 t=${2:-15} q=${3:-1} up want
	up=$(plex_nodes_up)
	want=${up// /,}
	if [ "$(echo "$up" | wc -w)" != "$n" ]; then
		_plex_log "plex_wait_members $n: running nodes are '$up'"
		return 1
	fi
	if plex_poll "$t" _plex_all_see "$want $q"; then
		return 0
	fi
	local i
	for i in $up; do
		_plex_log "node $i sees '$(plex_view "$i")', want '$want $q'"
	done
	return 1
}

# ---------------------------------------------------------------- faults

# plex_cut_link I / plex_heal_link I: unplug / replug node I's cable (the
# bridge-side veth goes down, the node's eth0 loses carrier).
plex_cut_link()
{
	ip -n "$(plex_ns_bridge)" link set "n$1" down
}

plex_heal_link()
{
	ip -n "$(plex_ns_bridge)" link set "n$1" up
}

# plex_partition GROUP...: each GROUP is a space-separated list of node
# numbers ("1" "2 3"); nodes of different groups can no longer exchange frames.
# A node in no group is cut off from every other node.  The client reaches
# every node unless it is named ("c") in a group, then only that group.  It is
# an nftables bridge-family table in the bridge namespace, dropping frames
# forwarded between ports of different groups: links stay up and no
# namespace outside the plex is touched.  plex_heal removes it.
plex_partition()
{
	_plex_need nft || return 1
	local -A group
	local g=0 p q i rules="" port
	for p in "$@"; do
		g=$((g + 1))
		for i in $p; do
			case $i in
			c | cl) group[cl]=$g ;;
			*) group[n$i]=$g ;;
			esac
		done
	done
	for i in $(seq 1 "$PLEX_N"); do
		[ -n "${group[n$i]:-}" ] || { g=$((g + 1)); group[n$i]=$g; }
	done
	local ports="cl"
	for i in $(seq 1 "$PLEX_N"); do ports="$ports n$i"; done
	for p in $ports; do
		for q in $ports; do
			[ "$p" != "$q" ] || continue
			# An unnamed client talks to everyone.
			if [ -z "${group[$p]:-}" ] || [ -z "${group[$q]:-}" ]; then
				continue
			fi
			[ "${group[$p]}" != "${group[$q]}" ] || continue
			rules="$rules		iifname \"$p\" oifname \"$q\" drop
"
		done
	done
	ip netns exec "$(plex_ns_bridge)" nft -f - <<EOF
table bridge plex_partition
delete table bridge plex_partition
table bridge plex_partition {
	chain forward {
		type filter hook forward priority 0; policy accept;
$rules	}
}
EOF
}

plex_heal()
{
	ip netns exec "$(plex_ns_bridge)" nft delete table bridge plex_partition 2>/dev/null || true
}

# ---------------------------------------------------------------- invariant sampler

# plex_sampler_start ADDR...: watch, every PLEX_SAMPLER_PERIOD_MS, which live
# nodes hold each ADDR on eth0 (build/tools/sampler, made if missing).  Its
# transitions go to $PLEX_DIR/sampler.log.
plex_sampler_start()
{
	local tool="$PLEX_ROOT/build/tools/sampler" args=() i
	if [ ! -x "$tool" ] || [ "$PLEX_ROOT/tests/tools/sampler.c" -nt "$tool" ]; then
		make -s -C "$PLEX_ROOT" build/tools/sampler >&2 || return 1
	fi
	[ -z "$PLEX_SAMPLER_PID" ] || plex_sampler_stop >/dev/null 2>&1 || true
	for i in $(seq 1 "$PLEX_N"); do
		args+=(-n "$i=/run/netns/$(plex_ns "$i")")
	done
	rm -f "$PLEX_DIR/sampler.log" "$PLEX_DIR/sampler.out" "$PLEX_DIR/sampler.exempt"
	"$tool" -i "$PLEX_IF" -p $((PLEX_SAMPLER_PERIOD_MS * 1000)) -o "$PLEX_DIR/sampler.log" \
		-x "$PLEX_DIR/sampler.exempt" \
		"${args[@]}" "$@" >"$PLEX_DIR/sampler.out" 2>&1 </dev/null &
	PLEX_SAMPLER_PID=$!
	echo "$PLEX_SAMPLER_PID" >"$PLEX_DIR/sampler.pid"
	plex_poll 5 grep -qs '^ready' "$PLEX_DIR/sampler.log" ||
		_plex_die "sampler did not start: $(cat "$PLEX_DIR/sampler.out")"
}

# plex_sampler_stop: stop the sampler and report.  Sets PLEX_SAMPLER_SAMPLES,
# PLEX_SAMPLER_PERIOD_US (average), PLEX_SAMPLER_PERIOD_MAX_US,
# PLEX_SAMPLER_CONFLICTS; prints the report as TAP comments on stderr; returns
# 1 when a DVIPA was on two live nodes at once.
# plex_sampler_exempt I | --node-done I | --clear: node I's dvipad crashed
# while the node stays up; its leftover DVIPAs are not a conflict until they
# expire (the sampler reports the longest such window as
# PLEX_SAMPLER_EXEMPT_MAX_MS). plex_kill_dvipad and plex_start_dvipad call it.
plex_sampler_exempt()
{
	local f=$PLEX_DIR/sampler.exempt
	case $1 in
	--clear) rm -f "$f" ;;
	--node-done) [ ! -e "$f" ] || sed -i "/^$2\$/d" "$f" ;;
	*) echo "$1" >>"$f" ;;
	esac
}

plex_sampler_stop()
{
	local pid=$PLEX_SAMPLER_PID rc=0
	[ -n "$pid" ] || { _plex_die "no sampler running"; return 1; }
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || rc=$?
	PLEX_SAMPLER_PID=
	rm -f "$PLEX_DIR/sampler.pid"
	local out="$PLEX_DIR/sampler.out"
	sed 's/^/# sampler: /' "$out" >&2
	# shellcheck disable=SC2034 # for the caller
	PLEX_SAMPLER_SAMPLES=$(sed -n 's/.*samples=\([0-9]*\).*/\1/p' "$out" | head -n1)
	# shellcheck disable=SC2034
	PLEX_SAMPLER_PERIOD_US=$(sed -n 's/.*period_avg_us=\([0-9]*\).*/\1/p' "$out" | head -n1)
	# shellcheck disable=SC2034
	PLEX_SAMPLER_PERIOD_MAX_US=$(sed -n 's/.*period_max_us=\([0-9]*\).*/\1/p' "$out" | head -n1)
	PLEX_SAMPLER_CONFLICTS=$(sed -n 's/^conflicts=\([0-9]*\).*/\1/p' "$out" | head -n1)
	# shellcheck disable=SC2034
	PLEX_SAMPLER_EXEMPT_MAX_MS=$(sed -n 's/.*exempt_max_ms=\([0-9]*\).*/\1/p' "$out" | head -n1)
	[ -n "$PLEX_SAMPLER_SAMPLES" ] || { _plex_die "sampler gave no report (exit $rc)"; return 1; }
	[ "$rc" = 0 ] && [ "${PLEX_SAMPLER_CONFLICTS:-1}" = 0 ]
}

# ---------------------------------------------------------------- teardown

# plex_destroy: kill every process of the plex, delete its namespaces, its
# directory and its registry entry.  Idempotent.
plex_destroy()
{
	[ -n "$PLEX_ID" ] || return 0
	local ns pid
	pid=$PLEX_SAMPLER_PID
	[ -n "$pid" ] || pid=$(cat "$PLEX_DIR/sampler.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && _plex_alive "$pid"; then
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	PLEX_SAMPLER_PID=
	for ns in $(ip netns list | awk -v p="$PLEX_ID-" 'index($1, p) == 1 { print $1 }'); do
		_plex_kill_ns "$ns"
	done
	for ns in $(ip netns list | awk -v p="$PLEX_ID-" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$ns" 2>/dev/null || _plex_log "could not delete namespace $ns"
	done
	# Only ever remove a directory this harness made.
	if [ -n "$PLEX_DIR" ] && [ -f "$PLEX_DIR/plex.env" ]; then
		case $PLEX_DIR in
		*/dvipa-plex.*) rm -rf "$PLEX_DIR" ;;
		esac
	fi
	rm -f "$PLEX_REGISTRY/$PLEX_ID"
	rmdir "$PLEX_REGISTRY" 2>/dev/null || true
	PLEX_ID=
}

# plex_cleanup: plex_destroy, unless DVIPA_KEEP asks to keep the plex (=1: on
# failure, i.e. a non-zero exit status $1; =always: always); then print how to
# enter it.
plex_cleanup()
{
	local status=${1:-0}
	[ -n "$PLEX_ID" ] || return 0
	if [ "${DVIPA_KEEP:-0}" = always ] || { [ "${DVIPA_KEEP:-0}" = 1 ] && [ "$status" != 0 ]; }; then
		PLEX_KEEP=1
		[ -n "$PLEX_SAMPLER_PID" ] && kill -TERM "$PLEX_SAMPLER_PID" 2>/dev/null
		_plex_save
		plex_keep_message >&2
		PLEX_ID=
		return 0
	fi
	plex_destroy
}

plex_keep_message()
{
	local i me=$PLEX_ROOT/tests/lib/plex.sh
	echo "# plex $PLEX_ID kept; state and logs in $PLEX_DIR"
	for i in $(seq 1 "$PLEX_N"); do
		if plex_node_up "$i"; then
			echo "#   node $i: $me exec $PLEX_ID $i dvipactl show dynamic   (or: $(plex_enter_cmd "$i") bash)"
		else
			echo "#   node $i: down"
		fi
	done
	echo "#   client: ip netns exec $(plex_ns_client) bash"
	echo "#   remove: $me rm $PLEX_ID"
}

# The EXIT trap: clean up with the script's exit status.
plex_exit_trap()
{
	local status=$?
	plex_cleanup "$status"
	return "$status"
}

# ---------------------------------------------------------------- debugging

# plex_logs I [LINES]: the tail of node I's logs, as TAP comments on stderr.
plex_logs()
{
	local d f
	d=$(_plex_node_dir "$1")
	for f in "$d"/log/dvipad.log "$d"/log/corosync.log "$d"/log/corosync.out; do
		[ -s "$f" ] || continue
		echo "# ==> $f" >&2
		tail -n "${2:-30}" "$f" | sed 's/^/# /' >&2
	done
}

# ---------------------------------------------------------------- as a tool

_plex_usage()
{
	cat <<EOF
usage: tests/lib/plex.sh COMMAND
  ls                       list plexes (running, kept, stale, persistent)
  exec ID I CMD...         run CMD in node I of plex ID
  client ID CMD...         run CMD in the client namespace of plex ID
  enter ID I               a shell in node I
  logs ID I                the tail of node I's logs
  rm ID                    remove plex ID (kill, delete namespaces and files)
  reap                     remove every plex whose test died
EOF
}

_plex_main()
{
	local cmd=${1:-help}
	shift || true
	case $cmd in
	ls | list) plex_list ;;
	exec)
		plex_attach "$1" || return 1
		shift
		local i=$1
		shift
		plex_run "$i" "$@"
		;;
	client)
		plex_attach "$1" || return 1
		shift
		plex_client "$@"
		;;
	enter)
		plex_attach "$1" || return 1
		PS1="[plex $1 node $2] \w# " plex_run "$2" bash --norc -i
		;;
	logs)
		plex_attach "$1" || return 1
		plex_logs "$2" 50 2>&1
		;;
	rm)
		plex_attach "$1" || return 1
		plex_destroy
		;;
	reap) plex_reap ;;
	*)
		_plex_usage
		[ "$cmd" = help ] || [ "$cmd" = -h ]
		;;
	esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -e
	_plex_main "$@"
fi
