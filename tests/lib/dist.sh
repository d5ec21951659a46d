# tests/lib/dist.sh — helpers of the sysplex distributor's integration tests
# (distribute.t, affinity.t, health.t, wlm.t): profiles, HTTP clients counted
# per answering node, checks of those counts, and `dvipactl show ports`.
# Source it after tests/lib/tap.sh and tests/lib/plex.sh:
#
#   . tests/lib/tap.sh
#   . tests/lib/plex.sh
#   . tests/lib/dist.sh
#
# Counts are strings "n1=K n2=K lost=K": a name and how many requests (or
# connections) it answered, names that answered none left out.
#
#   dist_require TOOL...                      skip the whole test without TOOL
#   dist_profiles NODES BACKUP ADDR... <<EOF  n1 defines ADDR..., BACKUP backs
#                                             them up, both with the statements
#   dist_spread [-j JOBS] [-m SECONDS] URL N [CURL_OPTION...]
#                                             N requests; prints the counts
#   dist_count_of NAME COUNTS                 K of NAME, or 0
#   dist_within V LO HI                       LO <= V <= HI
#   dist_counts_within COUNTS LO HI NAME... [LO HI NAME...]...
#                                             every NAME in its band, none lost
#   dist_port_field I DVIPA PORT TARGET FIELD a field of `show ports --json`
#   dist_field_is I DVIPA PORT TARGET FIELD VALUE
#   dist_all_ready DVIPA PORT                 n1 counts n1..n3 ready
#   dist_stop_http I PORT                     stop plex_start_http's nginx
#   dist_quiet CMD...                         CMD's output as a note
#   dist_counter I NAME                       node I's data-plane counter NAME (dp_ingress), or fails

# dist_require TOOL...: the test is skipped (a TAP plan of 0) unless every
# TOOL is on PATH.
dist_require()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || {
			echo "1..0 # SKIP $c is missing (make deps)"
			exit 0
		}
	done
}

# dist_profiles NODES BACKUP ADDR... <<EOF: the profiles of nodes 1..NODES.
# n1 defines every ADDR (VIPADEFINE MOVEABLE IMMEDIATE; an IPv4 address as a
# /24, an IPv6 one as a /64) and carries the statements read from stdin
# (VIPADISTRIBUTE lines, indented as in a profile); node BACKUP (0: none)
# backs every ADDR up (VIPABACKUP 100) and carries the same statements, so
# that whoever holds the DVIPA applies them. Every other node has an empty
# VIPADYNAMIC block: a target only.
dist_profiles()
{
	local nodes=$1 backup=$2 st a i
	shift 2
	st=$(cat)
	for i in $(seq "$nodes"); do
		{
			echo "INTERFACE eth0"
			echo "VIPADYNAMIC"
			if [ "$i" = 1 ] || [ "$i" = "$backup" ]; then
				for a in "$@"; do
					case $a in *:*) a=$a/64 ;; *) a="255.255.255.0 $a" ;; esac
					if [ "$i" = 1 ]; then
						echo "  VIPADEFINE MOVEABLE IMMEDIATE $a"
					else
						echo "  VIPABACKUP 100 $a"
					fi
				done
				[ -z "$st" ] || printf '%s\n' "$st"
			fi
			echo "ENDVIPADYNAMIC"
		} | plex_set_profile "$i"
	done
}

# dist_spread [-j JOBS] [-m SECONDS] URL N [CURL_OPTION...]: N HTTP requests
# to URL from the client, each on its own connection, sent by JOBS curl
# processes at once (default 1: one after the other), each request given
# SECONDS (default 30; 0: no limit). Prints the counts of the nodes' answers
# (plex_start_http answers "nI"), and "lost=K" for requests without an
# answer (refused, not connected, timed out).
dist_spread()
{
	local jobs=1 secs=30 url n j i k urls pids=() opts
	while :; do
		case $1 in
		-j) jobs=$2 ;;
		-m) secs=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	url=$1 n=$2
	shift 2
	opts=(-s)
	[ "$secs" = 0 ] || opts+=(-m "$secs")
	for j in $(seq "$jobs"); do
		: >"$PLEX_DIR/spread.$j"
		k=$(((n + jobs - j) / jobs))
		[ "$k" -gt 0 ] || continue
		urls=()
		for i in $(seq "$k"); do urls+=("$url"); done
		plex_client curl "${opts[@]}" -H 'Connection: close' "$@" "${urls[@]}" \
			>"$PLEX_DIR/spread.$j" 2>/dev/null &
		pids+=("$!")
	done
	wait "${pids[@]}" || true
	for j in $(seq "$jobs"); do
		cat "$PLEX_DIR/spread.$j"
	done | sort | uniq -c | awk -v n="$n" '
		{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1; sum += $1 }
		END { if (sum < n) printf "%slost=%d", (NR ? " " : ""), n - sum }'
}

# dist_count_of NAME COUNTS: NAME's K in COUNTS, or 0.
dist_count_of()
{
	local w
	for w in $2; do
		[ "${w%%=*}" = "$1" ] && { echo "${w#*=}"; return; }
	done
	echo 0
}

# dist_within V LO HI: LO <= V <= HI (integers).
dist_within()
{
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# dist_counts_within COUNTS LO HI NAME... [LO HI NAME...]...: every NAME got
# LO..HI (the band given last before it), and nothing was lost or failed
# (no "lost=" nor "failed=" in COUNTS). "90 110 n1 n2 n3": each of three
# gets 90..110; "68 89 n2 29 48 n3": bands of their own.
dist_counts_within()
{
	local got=$1 lo='' hi=''
	shift
	case " $got" in *" lost="* | *" failed="*) return 1 ;; esac
	while [ $# -gt 0 ]; do
		case $1 in
		[0-9]*)
			[ $# -ge 3 ] || return 2
			lo=$1 hi=$2
			shift 2
			;;
		*)
			[ -n "$lo" ] || return 2
			dist_within "$(dist_count_of "$1" "$got")" "$lo" "$hi" || return 1
			shift
			;;
		esac
	done
}

# dist_port_field I DVIPA PORT TARGET FIELD: a field of DVIPA:PORT in node
# I's `dvipactl show ports --json`: with TARGET "-" the service's own
# (timedaffinity...), else that of the target with node id TARGET (ready,
# slots, health, active_connections, total_connections, flags joined by ,).
# "none" when there is no such service or target.
dist_port_field()
{
	plex_run "$1" dvipactl show ports --json | /usr/bin/python3 -c '
import json, sys
a, p, n, f = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
for s in json.load(sys.stdin)["ports"]:
    if s["dvipa"] == a and s["port"] == p:
        if n == "-":
            print(s[f])
            sys.exit(0)
        for t in s["targets"]:
            if t["node"]["id"] == int(n):
                v = t[f]
                print(",".join(v) if isinstance(v, list) else v)
                sys.exit(0)
print("none")' "$2" "$3" "$4" "$5"
}

# dist_field_is I DVIPA PORT TARGET FIELD VALUE: dist_port_field is VALUE
# (for plex_poll).
dist_field_is()
{
	[ "$(dist_port_field "$1" "$2" "$3" "$4" "$5")" = "$6" ]
}

# dist_all_ready DVIPA PORT: n1 (the distributor) counts each of n1, n2, n3
# ready (Rdy >= 1) for DVIPA:PORT.
dist_all_ready()
{
	local n
	for n in 1 2 3; do
		[ "$(dist_port_field 1 "$1" "$2" "$n" ready)" -ge 1 ] 2>/dev/null || return 1
	done
}

# dist_stop_http I PORT: the nginx of plex_start_http I PORT ends (waited
# for): node I has no listener on PORT any more.
dist_stop_http()
{
	local pid
	pid=$(cat "$PLEX_DIR/n$1/http-$2/nginx.pid")
	kill "$pid" 2>/dev/null || true
	plex_poll 5 sh -c "! kill -0 $pid 2>/dev/null"
}

# dist_quiet CMD...: CMD's status; its output (the operator's message) goes
# out as a note.
dist_quiet()
{
	local out rc=0
	out=$("$@" 2>&1) || rc=$?
	note "$out"
	return "$rc"
}

# dist_counter I NAME: the sum over CPUs of counter NAME ("forward",
# "encap", "decap"...) of the tc ingress program on node I's eth0, read with
# bpftool; its index is NAME's place in dataplane/dataplane_maps.h. Nothing
# and status 1 when the program or the counter cannot be read, so that a
# comparison with it fails rather than passes on two zeros.
dist_counter()
{
	local i=$1 name=$2 idx prog map
	idx=$(grep -o 'X([A-Z_0-9]*, "[a-z_0-9]*"' dataplane/dataplane_maps.h |
		awk -F'"' -v n="$name" '$2 == n { print NR - 1; exit }')
	[ -n "$idx" ] || return 1
	prog=$(plex_run "$i" bpftool -j net show dev eth0 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for dev in json.load(sys.stdin):
    for e in dev.get("tc", []):
        if e["kind"].endswith("ingress"):
            print(e["id"])' 2>/dev/null | head -n 1)
	[ -n "$prog" ] || return 1
	for map in $(bpftool prog show id "$prog" 2>/dev/null | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
		bpftool map show id "$map" 2>/dev/null | grep -q ' name counters ' || continue
		bpftool -j map lookup id "$map" key $((idx & 255)) $(((idx >> 8) & 255)) 0 0 2>/dev/null |
			/usr/bin/python3 -c '
import json, sys
def num(v):
    return v if isinstance(v, int) else int.from_bytes(bytes(int(x, 16) for x in v), "little")
e = json.load(sys.stdin)
e = e.get("formatted", e)
print(sum(num(c["value"]) for c in e["values"]))'
		return
	done
	return 1
}
