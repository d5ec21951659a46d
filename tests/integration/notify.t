#!/bin/bash
# dvipad and its service manager (sd_notify(3)) in a real plex: READY=1 comes
# only once the node has acted on its first quorate view (its DVIPA is up by
# then), STATUS= follows quorum and ownership, STOPPING=1 on SIGTERM. The
# manager's socket is a small listener that writes each datagram on a line;
# dvipad is started with NOTIFY_SOCKET as systemd starts it. Two nodes, the
# second one started late, so that the first waits for quorum in between.
set -e
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/plex.sh

DVIPA4=10.0.0.10

plex_create 2
plex_set_profile 1 <<PROFILE
INTERFACE eth0
VIPADYNAMIC
  VIPADEFINE MOVEABLE IMMEDIATE 255.255.255.0 $DVIPA4
ENDVIPADYNAMIC
PROFILE

sock=$PLEX_DIR/notify.sock
out=$PLEX_DIR/notify.out
lpid=
stop_listener()
{
	[ -z "$lpid" ] || kill "$lpid" 2>/dev/null || true
	[ -z "$lpid" ] || wait "$lpid" 2>/dev/null || true
	lpid=
}
# plex.sh's EXIT trap removes the plex (and PLEX_DIR); the listener goes first.
trap 'stop_listener; plex_exit_trap' EXIT

python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
        f.flush()
' "$sock" "$out" &
lpid=$!
listening() { [ -S "$sock" ]; }
ok "the service manager's socket is up" plex_poll 5 listening

# Node 1 alone: corosync up, but no quorum (2 votes expected).
PLEX_NO_DVIPAD=1 plex_start_node 1
NOTIFY_SOCKET=$sock plex_start_dvipad 1
has_status() { grep -qx "STATUS=$1" "$out" 2>/dev/null; }
ok "STATUS says it waits for quorum" plex_poll 10 has_status 'waiting for quorum'
sleep 1
ok "no READY=1 without quorum" sh -c "! grep -q READY=1 '$out'"
is "$(plex_holders "$DVIPA4")" "" "and no DVIPA"

plex_start_node 2
ready() { grep -qx READY=1 "$out"; }
ok "READY=1 once quorate" plex_poll 20 ready
# dvipad sends READY=1 after adding the DVIPA: it must be there now.
is "$(plex_holders "$DVIPA4")" 1 "with the node's DVIPA already up"
ok "STATUS: quorate, owner of 1 DVIPA" plex_poll 5 has_status 'quorate, owner of 1 DVIPA'
is "$(grep -c '^READY=1$' "$out")" 1 "READY=1 is sent once"

plex_stop_dvipad 1
ok "STOPPING=1 on SIGTERM" grep -qx STOPPING=1 "$out"
note "what dvipad told the service manager:"
while read -r l; do note "  $l"; done <"$out"

done_testing
