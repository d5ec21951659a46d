#!/bin/sh
# Install every Debian package that dvipa's build, demo, tests and benchmarks
# need, skipping those already present.  Only Debian's own packages are used.
set -eu

PACKAGES="
build-essential make pkg-config clang llvm lld libbpf-dev bpftool
libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcfg-dev libmnl-dev
linux-libc-dev libclang-rt-14-dev clang-format clang-tidy cppcheck
corosync iproute2 util-linux procps psmisc ethtool kmod nftables iputils-ping
perl python3 libelf-dev zlib1g-dev
socat curl nginx-light iperf3 vsftpd wrk
keepalived haproxy
bird2 frr
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: these Debian packages are missing:$missing" >&2
	echo "deps: run as root (or install them) and try again" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's postinst scripts would start these services on the host; the test
# plex starts its own instances inside namespaces instead.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 0755 "$policy"
	created_policy=1
fi
apt-get install -y -qq --no-install-recommends $missing || rc=$?
[ "$created_policy" = 1 ] && rm -f "$policy"
exit "${rc:-0}"
