#!/bin/sh
# scripts/deb.sh VERSION BUILD: build BUILD/dvipa_VERSION_ARCH.deb from this
# tree's build (`make deb` calls it after `make all`). The package is
# staged with `make install DESTDIR=... PREFIX=/usr`, so it holds exactly
# what `make install` installs; Depends comes from the libraries the
# programs link (dpkg-shlibdeps) plus corosync, which dvipad talks to.
set -eu

version=$1
build=$2
top=$(pwd)
stage=$build/deb
arch=$(dpkg --print-architecture)

# A Debian version starts with a digit: a bare commit from git describe
# becomes 0~gCOMMIT (sorting before any release).
case $version in
[0-9]*) ;;
*) version="0~g$version" ;;
esac
version=$(printf '%s' "$version" | tr -c 'A-Za-z0-9.+~\n-' '.')
deb=$build/dvipa_${version}_${arch}.deb
# Who answers for the package: set DEB_MAINTAINER when building one to hand
# out; example.org is a placeholder that no mail reaches.
maintainer=${DEB_MAINTAINER:-dvipa maintainers <dvipa@example.org>}

rm -rf "$stage"
mkdir -p "$stage"
make --no-print-directory -s install DESTDIR="$top/$stage/root" PREFIX=/usr
root=$stage/root

# Debian policy: programs stripped (build/ keeps the symbols), man pages
# compressed, a copyright file and a changelog.
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$root/usr/sbin/dvipad" "$root/usr/sbin/dvipactl"
find "$root/usr/share/man" -type f -exec gzip -9n {} +
doc=$root/usr/share/doc/dvipa
install -d "$doc"
install -m 0644 packaging/copyright "$doc/copyright"
{
	printf 'dvipa (%s) unstable; urgency=medium\n\n' "$version"
	printf '  * Built from the dvipa source tree; see README.md.\n\n'
	printf ' -- %s  %s\n' "$maintainer" \
		"$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# dpkg-shlibdeps reads debian/control of the source: a minimal one.
mkdir -p "$stage/shlibs/debian"
printf 'Source: dvipa\n\nPackage: dvipa\nArchitecture: any\n' >"$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" &&
	dpkg-shlibdeps -O -e"$top/$root/usr/sbin/dvipad" -e"$top/$root/usr/sbin/dvipactl" 2>/dev/null |
	sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

install -d -m 0755 "$root/DEBIAN"
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@MAINTAINER@|$maintainer|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
	-e "s|@DEPENDS@|$shlibs, corosync|" packaging/debian/control.in >"$root/DEBIAN/control"
install -m 0644 packaging/debian/conffiles "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do
	install -m 0755 "packaging/debian/$s" "$root/DEBIAN/$s"
done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
