#!/bin/bash
# dvipad under its real unit, packaging/dvipad.service, run by a real systemd.
# This machine's PID 1 need not be systemd, so the test boots one as PID 1 of
# a container of its own: new PID, mount, network, UTS, IPC and cgroup
# namespaces, a root that is an overlay on this host's / with `make install`
# in it, corosync (its Debian unit) with a one-node nodelist on a veth pair,
# and a private /dev, /run, /tmp and /sys/fs/bpf. Only the units the test
# needs start (journald, corosync, dvipad): a drop-in turns off their default
# dependencies on sysinit.target and basic.target, which would touch the
# host's kernel settings; every setting of dvipad.service is as shipped.
# Checks: Type=notify (active only with READY=1, STATUS= shown), the
# journal's priorities, the DVIPA and the BPF data plane with its pinned flow
# table under the sandbox, dvipactl show version, the reload command, and a clean stop.
# Everything goes when the container's PID 1 is killed; the cgroups the test
# made are removed after it.
#
# Run: prove -v tests/integration/systemd.t   (as root)
set -eu
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh

DVIPA=192.168.77.10
tmp=$(mktemp -d)
cg=dvipa-systemd-t.$$
cgdirs="/sys/fs/cgroup/systemd/$cg /sys/fs/cgroup/unified/$cg"
pid1=
# Every process the test started is in its cgroups: the container, and the
# launcher before it.
cg_procs()
{
	local d
	for d in $cgdirs; do
		[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done
}
cleanup()
{
	set +e
	for _ in $(seq 50); do
		procs=$(cg_procs)
		[ -z "$procs" ] && break
		kill -9 $procs 2>/dev/null
		sleep 0.1
	done
	for d in $cgdirs; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

need_hybrid()
{
	[ -d /sys/fs/cgroup/systemd ] && [ -d /sys/fs/cgroup/unified ]
}
if ! need_hybrid || ! [ -x /lib/systemd/systemd ]; then
	echo "1..0 # SKIP needs systemd and the cgroup v1 name=systemd + unified hierarchies"
	exit 0
fi
make -s all >&2

# The container's first stage: mounts, network and configuration, then
# systemd as PID 1 in the new root.
cat >"$tmp/boot.sh" <<'BOOT'
set -eu
T=$1 W=$2 DVIPA=$3
R=$T/root
mkdir -p "$R" "$T/upper" "$T/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/upper,workdir=$T/work" "$R"
make -s -C "$W" install DESTDIR="$R" PREFIX=/usr >/dev/null
mount -t proc proc "$R/proc"
mount -t sysfs -o ro sysfs "$R/sys"
mount -t tmpfs -o mode=755 tmpfs "$R/sys/fs/cgroup"
mkdir -p "$R/sys/fs/cgroup/systemd" "$R/sys/fs/cgroup/unified"
mount -t cgroup -o none,name=systemd cgroup "$R/sys/fs/cgroup/systemd"
mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup/unified"
mount -t bpf bpf "$R/sys/fs/bpf"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero full random urandom tty; do
	touch "$R/dev/$d"
	mount --bind "/dev/$d" "$R/dev/$d"
done
mkdir -p "$R/dev/shm" "$R/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$R/dev/shm"
mount -t tmpfs tmpfs "$R/run"
mount -t tmpfs tmpfs "$R/tmp"
ip link set lo up
ip link add eth0 type veth peer name eth1
ip link set eth1 up
ip addr add 192.168.77.1/24 dev eth0
ip link set eth0 up
hostname dvipa-systemd
cat >"$R/etc/corosync/corosync.conf" <<C
totem {
	version: 2
	cluster_name: dvipa-systemd
	transport: knet
	crypto_cipher: none
	crypto_hash: none
}
logging {
	to_stderr: yes
	to_syslog: no
}
quorum {
	provider: corosync_votequorum
}
nodelist {
	node {
		nodeid: 1
		name: dvipa-systemd
		ring0_addr: 192.168.77.1
	}
}
C
cat >"$R/etc/dvipa/dvipa.conf" <<C
INTERFACE eth0
VIPADYNAMIC
  VIPADEFINE 255.255.255.0 $DVIPA
  VIPADISTRIBUTE DISTMETHOD ROUNDROBIN $DVIPA PORT 80 DESTIP ALL
ENDVIPADYNAMIC
C
for u in dvipad corosync; do
	mkdir -p "$R/etc/systemd/system/$u.service.d"
	printf '[Unit]\nDefaultDependencies=no\n' >"$R/etc/systemd/system/$u.service.d/test.conf"
done
cat >"$R/etc/systemd/system/dvipa-test.target" <<C
[Unit]
DefaultDependencies=no
Wants=systemd-journald.socket systemd-journald.service dvipad.service
C
exec chroot "$R" env container=dvipa-test /lib/systemd/systemd \
	--unit=dvipa-test.target --log-target=null --show-status=no
BOOT

for d in $cgdirs; do mkdir "$d"; done
# Into the test's cgroups first: the container's cgroup namespace starts there.
setsid sh -c 'for d in $1; do echo $$ >"$d/cgroup.procs"; done
	exec unshare -m -p -f -n -u -i -C --propagation private bash "$2/boot.sh" "$2" "$3" "$4"' \
	sh "$cgdirs" "$tmp" "$PWD" "$DVIPA" </dev/null >"$tmp/boot.log" 2>&1 &
# cleanup() kills it: no word from bash about that.
disown $!
found_pid1()
{
	local p
	# systemd moves itself into init.scope below the test's cgroup.
	for p in $(find "/sys/fs/cgroup/systemd/$cg" -name cgroup.procs -exec cat {} + 2>/dev/null); do
		if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ]; then
			pid1=$p
			return 0
		fi
	done
	return 1
}
poll()
{
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
ok "systemd boots as PID 1 of the container" poll 30 found_pid1
if [ -z "$pid1" ]; then
	diag "$(cat "$tmp/boot.log")"
	done_testing
fi
in_ct() { nsenter -t "$pid1" -a -r -w "$@"; }
prop() { in_ct systemctl show -P "$1" "${2:-dvipad.service}" 2>/dev/null; }
active() { [ "$(prop ActiveState)" = active ]; }

ok "dvipad.service becomes active (READY=1)" poll 30 active
is "$(prop StatusText)" "quorate, owner of 1 DVIPA" "its STATUS= is shown"
is "$(prop Type)" notify "as Type=notify"
is "$(prop ActiveState corosync.service)" active "after corosync.service"
ok "the DVIPA is on eth0" sh -c "nsenter -t $pid1 -n ip -o addr show eth0 | grep -q ' $DVIPA/'"
ok "the BPF program is on eth0's ingress" \
	sh -c "nsenter -t $pid1 -n tc filter show dev eth0 ingress | grep -q dp_ingress"
ok "the flow table is pinned under /sys/fs/bpf/dvipa" in_ct test -e /sys/fs/bpf/dvipa/flows
is "$(in_ct dvipactl show version | head -n 1)" "dvipa $(cat VERSION)" \
	"dvipactl show version answers through /run/dvipa"
log=$(in_ct journalctl --no-pager -u dvipad.service -o json 2>/dev/null |
	python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    print(d.get("PRIORITY"), d.get("MESSAGE"))')
ok "the journal files dvipad's lines as info (6)" \
	grep -q "^6 DVIPA $DVIPA/24 activated on eth0" <<<"$log"
ok "no warnings or errors under the sandbox" test -z "$(grep -E '^[0-4] ' <<<"$log")"
[ "$TAP_LAST_OK" = 1 ] || diag "$(grep -E '^[0-4] ' <<<"$log")"
ok "and no timestamps of dvipad's own" test -z "$(grep -E '^6 [0-9]{2}:[0-9]{2}:' <<<"$log")"

# SIGHUP is dvipad's reload (the unit only wires it): not sent here.
ok "ExecReload sends SIGHUP to the main process" \
	sh -c "nsenter -t $pid1 -a -r -w systemctl show -P ExecReload dvipad.service | grep -q 'kill -HUP \\\$MAINPID'"

# A crash: systemd starts dvipad again at once (Restart=on-failure,
# RestartSec=200ms), soon enough to keep the DVIPA the dead run left.
main=$(prop MainPID)
in_ct kill -9 "$main"
restarted() { [ "$(prop NRestarts)" = 1 ] && [ "$(prop MainPID)" != "$main" ] && active; }
ok "systemd restarts a dvipad killed with SIGKILL" poll 10 restarted
kept() { in_ct journalctl --no-pager -u dvipad.service | grep -q "DVIPA $DVIPA: kept from the earlier run"; }
ok "and the new dvipad keeps the DVIPA the dead one left" poll 10 kept
ok "which stays on eth0" sh -c "nsenter -t $pid1 -n ip -o addr show eth0 | grep -q ' $DVIPA/'"

in_ct systemctl stop dvipad.service corosync.service
is "$(prop ActiveState)" inactive "systemctl stop stops dvipad"
ok "which gave its DVIPA up" sh -c "! nsenter -t $pid1 -n ip -o addr show eth0 | grep -q ' $DVIPA/'"
ok "and logged that it stopped" grep -q "^6 stopped" <<<"$(in_ct journalctl --no-pager -u dvipad.service -o json 2>/dev/null |
	python3 -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    print(d.get("PRIORITY"), d.get("MESSAGE"))')"

done_testing
