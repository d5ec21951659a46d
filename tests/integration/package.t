#!/bin/bash
# The Debian package: `make deb`, then install, check, upgrade and remove it
# in a root of its own. The root is an overlay on this host's / (its own
# packages and dpkg database, copy-on-write), mounted in a private mount
# namespace: the host's files and database never change, nothing needs a
# mirror, and every mount ends with the namespace even if the test is killed.
# Checks: the dependencies resolve against the root's dpkg database, the files
# land, the unit passes `systemd-analyze verify` and its security review
# scores OK, dvipad --version and --check-config of the shipped profile run in
# the root, a changed profile survives reinstallation, remove keeps it and
# purge removes it. Also `make install` into a DESTDIR.
#
# Run: prove -v tests/integration/package.t   (as root)
set -eu
cd "$(dirname "$0")/../.."

if [ -z "${DVIPA_PACKAGE_NS:-}" ]; then
	make -s all >&2
	exec unshare --mount --propagation private env DVIPA_PACKAGE_NS=1 "$0" "$@"
fi

. tests/lib/tap.sh

tmp=$(mktemp -d)
root=$tmp/root
cleanup()
{
	set +e
	umount -R "$root" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap "exit 1" INT TERM HUP

version=$(cat VERSION)
host_dvipa=$(dpkg-query -W -f '${Status} ${Version}' dvipa 2>/dev/null || true)

# --- make install ---------------------------------------------------------
dest=$tmp/dest
make -s install DESTDIR="$dest" PREFIX=/usr >/dev/null
for f in usr/sbin/dvipad usr/sbin/dvipactl lib/systemd/system/dvipad.service \
	usr/share/man/man8/dvipad.8 usr/share/man/man8/dvipactl.8 \
	usr/share/man/man5/dvipa.conf.5 etc/dvipa/dvipa.conf; do
	ok "make install puts /$f" test -s "$dest/$f"
done
ok "the unit runs the installed dvipad" \
	grep -qx 'ExecStart=/usr/sbin/dvipad -f -c /etc/dvipa/dvipa.conf' \
	"$dest/lib/systemd/system/dvipad.service"
echo '; this site' >"$dest/etc/dvipa/dvipa.conf"
make -s install DESTDIR="$dest" PREFIX=/usr >/dev/null
is "$(cat "$dest/etc/dvipa/dvipa.conf")" '; this site' \
	"make install leaves an existing profile alone"
make -s install DESTDIR="$dest" PREFIX=/opt/dvipa SYSTEMDUNITDIR=/etc/systemd/system >/dev/null
ok "PREFIX and SYSTEMDUNITDIR are honoured" \
	grep -qx 'ExecStart=/opt/dvipa/sbin/dvipad -f -c /etc/dvipa/dvipa.conf' \
	"$dest/etc/systemd/system/dvipad.service"

# --- the deployment guide's files (docs/deploy.md) ----------------------------
for f in docs/deploy/node*.conf; do
	ok "$f passes dvipad --check-config" sh -c "build/dvipad --check-config '$f' >/dev/null"
done
# corosync -t wants this host in the nodelist and the key it names.
corosync-keygen -k "$tmp/authkey" >/dev/null 2>&1
sed -e "s|crypto_hash: sha256|&\n\tkeyfile: $tmp/authkey|" -e 's/192.0.2.11/127.0.0.1/' \
	docs/deploy/corosync.conf >"$tmp/corosync.conf"
ok "docs/deploy/corosync.conf passes corosync -t" corosync -c "$tmp/corosync.conf" -t
ok "docs/deploy/dvipa.nft passes nft -c" nft -c -f docs/deploy/dvipa.nft
if command -v bird >/dev/null; then
	ok "docs/deploy/bird.conf passes bird -p" bird -p -c docs/deploy/bird.conf
else
	skip "docs/deploy/bird.conf" "bird2 is not installed (make deps)"
fi
if [ -x /usr/lib/frr/bgpd ]; then
	# bgpd -C exits 0 either way; each line it rejects is printed.
	out=$(/usr/lib/frr/bgpd -C -f docs/deploy/frr.conf 2>&1)
	is "$out" "" "docs/deploy/frr.conf passes bgpd -C"
else
	skip "docs/deploy/frr.conf" "frr is not installed (make deps)"
fi

# --- make deb ---------------------------------------------------------------
deb=$(make -s --no-print-directory deb | tail -n 1)
ok "make deb builds $deb" test -s "$deb"
is "$(dpkg-deb -f "$deb" Package)" dvipa "the package is called dvipa"
is "$(dpkg-deb -f "$deb" Version)" "$version" "its version is VERSION's"
is "$(dpkg-deb -f "$deb" Architecture)" "$(dpkg --print-architecture)" \
	"its architecture is dpkg's"
depends=$(dpkg-deb -f "$deb" Depends)
for p in libcpg4 libquorum5 libvotequorum8 libcmap4 libmnl0 libbpf1 corosync; do
	ok "it depends on $p" grep -qE "(^|, )$p( |,|$)" <<<"$depends"
done
is "$(dpkg-deb -I "$deb" conffiles)" /etc/dvipa/dvipa.conf "the profile is a conffile"
ok "the package's files belong to root" \
	test -z "$(dpkg-deb -c "$deb" | awk '$2 != "root/root"')"

# --- a root of its own ------------------------------------------------------
mkdir -p "$root" "$tmp/upper" "$tmp/work"
mount -t overlay overlay -o "lowerdir=/,upperdir=$tmp/upper,workdir=$tmp/work" "$root"
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/tmp"
# The root is a host without systemd running (so the maintainer scripts
# leave systemctl alone) and without dvipa (in case this host has it).
mount -t tmpfs tmpfs "$root/run"
in_root() { chroot "$root" "$@"; }
if in_root dpkg-query -W dvipa >/dev/null 2>&1; then
	in_root dpkg --purge dvipa >/dev/null 2>&1 || true
fi
rm -rf "$root/etc/dvipa" "$root/var/lib/dvipa"
cp "$deb" "$root/tmp/dvipa.deb"

out=$(in_root dpkg -i /tmp/dvipa.deb 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -i installs it, its dependencies satisfied by the root's packages"
[ "$rc" = 0 ] || diag "$out"
is "$(in_root dpkg-query -W -f '${Status} ${Version}' dvipa 2>/dev/null)" \
	"install ok installed $version" "dpkg knows dvipa $version as installed"
for f in /usr/sbin/dvipad /usr/sbin/dvipactl /lib/systemd/system/dvipad.service \
	/usr/share/man/man8/dvipad.8.gz /usr/share/man/man8/dvipactl.8.gz \
	/usr/share/man/man5/dvipa.conf.5.gz /etc/dvipa/dvipa.conf \
	/usr/share/doc/dvipa/copyright; do
	ok "$f is in the root and in dpkg -L" \
		sh -c "test -s '$root$f' && chroot '$root' dpkg -L dvipa | grep -qx '$f'"
done
ok "dvipad is not enabled by the first install" \
	test ! -e "$root/etc/systemd/system/multi-user.target.wants/dvipad.service"
is "$(in_root /usr/sbin/dvipad --version)" "dvipa $version" "dvipad --version runs in the root"
is "$(in_root /usr/sbin/dvipactl --version)" "dvipa $version" "dvipactl --version too"
ok "the shipped profile passes dvipad --check-config" \
	sh -c "chroot '$root' /usr/sbin/dvipad --check-config /etc/dvipa/dvipa.conf >/dev/null"
ok "man finds dvipad(8) in the root" sh -c "chroot '$root' man -w dvipad | grep -q dvipad.8"

out=$(in_root systemd-analyze verify /lib/systemd/system/dvipad.service 2>&1) && rc=0 || rc=$?
is "$rc:$out" "0:" "the unit passes systemd-analyze verify, silently"
out=$(in_root systemd-analyze security --offline=true /lib/systemd/system/dvipad.service 2>&1 || true)
score=$(sed -n 's/.*Overall exposure level for dvipad.service: \([0-9.]*\).*/\1/p' <<<"$out")
note "systemd-analyze security: exposure ${score:-?}"
ok "the unit's exposure is OK or better (3.9 at most): ${score:-none}" \
	awk -v s="${score:-99}" 'BEGIN { exit !(s <= 3.9) }'

# An upgrade (the same package again) keeps the operator's profile.
echo '; this site' >>"$root/etc/dvipa/dvipa.conf"
out=$(in_root dpkg -i --force-confold /tmp/dvipa.deb 2>&1) && rc=0 || rc=$?
is "$rc" 0 "reinstalling works"
ok "and keeps the changed profile" grep -qx '; this site' "$root/etc/dvipa/dvipa.conf"

out=$(in_root dpkg -r dvipa 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -r removes it"
ok "the programs and the unit are gone" \
	test ! -e "$root/usr/sbin/dvipad" -a ! -e "$root/usr/sbin/dvipactl" \
	-a ! -e "$root/lib/systemd/system/dvipad.service"
ok "the profile stays until purge" test -e "$root/etc/dvipa/dvipa.conf"
out=$(in_root dpkg -P dvipa 2>&1) && rc=0 || rc=$?
is "$rc" 0 "dpkg -P purges it"
ok "the profile is gone" test ! -e "$root/etc/dvipa/dvipa.conf"
ok "dpkg forgot dvipa" sh -c "! chroot '$root' dpkg-query -W dvipa >/dev/null 2>&1"
is "$(dpkg-query -W -f '${Status} ${Version}' dvipa 2>/dev/null || true)" "$host_dvipa" \
	"the host's own dpkg database did not change"

done_testing
