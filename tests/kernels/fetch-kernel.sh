#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The newest Debian kernel package of one series, from the Debian mirror,
# kept in a cache between runs:
#
#   tests/kernels/fetch-kernel.sh 5.10|6.1|6.12     prints the .deb's path
#
# apt does the work (a private sources list and lists folder per suite), so
# that the index is checked against Debian's archive keys and the package
# against the index. Where the mirror cannot be reached, the newest package
# already cached for the series is used; with none cached, exit 77.
#
# Environment: NETNSLINK_TEST_CACHE (default /var/cache/netnslink-tests),
# NETNSLINK_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

CACHE=${NETNSLINK_TEST_CACHE:-/var/cache/netnslink-tests}/kernels
MIRROR=${NETNSLINK_MIRROR:-http://deb.debian.org/debian}
SERIES=${1:-}

# Where Debian users have each series, and how its package is named. The
# -unsigned variant is the same kernel without the Secure Boot signature
# (qemu -kernel does not care), and is what each suite has for its newest
# build.
case "$SERIES" in
5.10) SUITE=bullseye PATTERN='^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$' ;;
6.1) SUITE=bookworm PATTERN='^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$' ;;
6.12) SUITE=bookworm-backports PATTERN='^linux-image-6\.12\.[0-9]+\+deb12(\.[0-9]+)?-amd64-unsigned$' ;;
*) echo "usage: $0 5.10|6.1|6.12" >&2; exit 2 ;;
esac

APT_DIR="$CACHE/apt/$SUITE"
DEBS="$CACHE/debs/$SERIES"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/archives/partial" "$DEBS"
echo "deb $MIRROR $SUITE main" >"$APT_DIR/sources.list"
# Only this suite, only amd64, no translations; the host's own apt
# configuration and lists stay untouched.
APT=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o Dir::Etc::SourceParts=-
	-o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR"
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
	-o APT::Architectures::=amd64 -o Acquire::Languages=none -o Debug::NoLocking=1
	-o APT::Sandbox::User=root -o APT::Get::List-Cleanup=0)

cached_newest() { find "$DEBS" -maxdepth 1 -name 'linux-image-*.deb' | sort -V | tail -n 1; }

# One fetcher per series at a time (two ctest runs may share the cache).
exec 9>"$DEBS/.lock"
flock 9

# --error-on=any: an index that could not be fetched is a failure, not a
# warning over old or missing lists.
if ! apt-get "${APT[@]}" -qq --error-on=any update >"$APT_DIR/update.log" 2>&1; then
	deb=$(cached_newest)
	if [ -n "$deb" ]; then
		echo "fetch-kernel: the mirror $MIRROR is unreachable; using the cached $(basename "$deb")" >&2
		echo "$deb"
		exit 0
	fi
	echo "fetch-kernel: cannot read $SUITE from $MIRROR and nothing is cached:" >&2
	cat "$APT_DIR/update.log" >&2
	exit 77
fi
PKG=$(apt-cache "${APT[@]}" pkgnames linux-image- | { grep -E "$PATTERN" || true; } | sort -V | tail -n 1)
[ -n "$PKG" ] || { echo "fetch-kernel: no package matching $PATTERN in $SUITE" >&2; exit 1; }
VERSION=$(apt-cache "${APT[@]}" show --no-all-versions "$PKG" | sed -n 's/^Version: //p')
# apt-get download names the file PKG_VERSION_ARCH.deb, with ':' as %3a.
FILE="$DEBS/${PKG}_${VERSION//:/%3a}_amd64.deb"
if [ ! -s "$FILE" ]; then
	echo "fetch-kernel: downloading $PKG $VERSION from $SUITE" >&2
	(cd "$DEBS" && apt-get "${APT[@]}" -qq download "$PKG") >&2
	[ -s "$FILE" ] || { echo "fetch-kernel: apt-get download did not make $FILE" >&2; exit 1; }
	# One package per series is kept: the cache does not grow with each
	# point release.
	find "$DEBS" -maxdepth 1 -name 'linux-image-*.deb' ! -path "$FILE" -delete
fi
echo "$FILE"
