#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A pristine Debian 12 root file system for the live tiers (systemd-nspawn
# in tests/live, qemu in tests/kernels), made once with debootstrap from the
# Debian mirror this machine reaches and kept as a tarball between runs.
#
#   tests/live/debian-root.sh tarball        prints the cached tarball's path
#                                            (made first if missing)
#   tests/live/debian-root.sh extract DIR    a fresh copy of the root in DIR
#
# Environment:
#   NETNSLINK_TEST_CACHE   cache folder (default /var/cache/netnslink-tests)
#   NETNSLINK_MIRROR       Debian mirror (default http://deb.debian.org/debian)
#
# Exit 77 (ctest's "skipped") when debootstrap cannot run here at all; any
# other failure is a failure.
set -euo pipefail

CACHE=${NETNSLINK_TEST_CACHE:-/var/cache/netnslink-tests}
MIRROR=${NETNSLINK_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
# What every live test needs inside besides the base system: systemd as
# PID 1 and the bus, the tools the checks call, and the things the .deb
# depends on already fetched so that apt inside has less to do.
INCLUDE=systemd,systemd-sysv,dbus,iproute2,procps,python3,ca-certificates,bpftool,libbpf1,libsystemd0,libmnl0,libcap2,kmod,udev,initramfs-tools,e2fsprogs
# v2: v1's top folder kept mktemp's mode 0700, so that no user but root
# could reach anything in it (dbus-daemon, as messagebus, never started).
TARBALL="$CACHE/debian-$SUITE-root-v2.tar"

make_tarball() {
	mkdir -p "$CACHE"
	# One maker at a time; a second caller waits and then finds the tarball.
	exec 9>"$CACHE/.debian-root.lock"
	flock 9
	[ -s "$TARBALL" ] && return 0
	if ! command -v debootstrap >/dev/null; then
		echo "debian-root: debootstrap is not installed (apt-get install debootstrap)" >&2
		exit 77
	fi
	local dir
	dir=$(mktemp -d "$CACHE/root-XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$dir'" EXIT
	echo "debian-root: debootstrap $SUITE from $MIRROR (once; cached in $CACHE)" >&2
	debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$dir" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 || {
		echo "debian-root: debootstrap failed; the end of its log:" >&2
		tail -20 "$CACHE/debootstrap.log" >&2
		exit 1
	}
	# apt inside talks to the same mirror; a host name so that logs read well.
	echo "deb $MIRROR $SUITE main" >"$dir/etc/apt/sources.list"
	echo netnslink-test >"$dir/etc/hostname"
	# No password for root's console, nothing to answer at boot.
	chroot "$dir" passwd -d root >/dev/null
	rm -f "$dir"/var/cache/apt/archives/*.deb
	# mktemp made it 0700; the root of a system is 0755.
	chmod 0755 "$dir"
	tar -C "$dir" -cf "$TARBALL.tmp" .
	mv "$TARBALL.tmp" "$TARBALL"
	rm -rf "$dir"
	trap - EXIT
}

case "${1:-}" in
tarball)
	make_tarball
	echo "$TARBALL"
	;;
extract)
	[ -n "${2:-}" ] || { echo "usage: $0 extract DIR" >&2; exit 2; }
	make_tarball
	mkdir -p "$2"
	tar -C "$2" -xf "$TARBALL"
	;;
*)
	echo "usage: $0 tarball | extract DIR" >&2
	exit 2
	;;
esac
