# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash disable=SC2034  # (its variables serve the scripts that source it)
# Sourced by tests/kernels/run-kernel.sh and verifier-probe.sh: a Debian
# kernel booted in qemu on a disk image made from the cached Debian 12 root
# (tests/live/debian-root.sh), without loop mounts (mke2fs -d makes the
# image, debugfs reads it back).
#
# Cached under $NETNSLINK_TEST_CACHE/kernels (default
# /var/cache/netnslink-tests/kernels), re-used between runs:
#   debs/SERIES/       the kernel package (tests/kernels/fetch-kernel.sh)
#   roots/SERIES-KEY/  vmlinuz, initrd.img, release and root.tar.zst: the
#                      Debian root with that kernel installed, remade when
#                      the package, the base root or the recipe changes
#   work/run.*/        one run's images and folders, removed at its end (and
#                      by the next run if a run was killed)
#
# Environment: NETNSLINK_QEMU_SMP (default 2, 1 on a 1-CPU host), NETNSLINK_QEMU_TIMEOUT
# (seconds, default 900).

set -euo pipefail

KT_SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KT_CACHE=${NETNSLINK_TEST_CACHE:-/var/cache/netnslink-tests}/kernels
# Where the guest finds its files and leaves its results.
KT_GUEST_LIB=/usr/local/lib/netnslink-kernel
KT_GUEST_OUT=/var/lib/netnslink-kernel
# Two vCPUs (MTTCG) cut a guest from 168 s to 140 s on a 2-core host.
KT_SMP=${NETNSLINK_QEMU_SMP:-$(($(nproc) >= 2 ? 2 : 1))}
KT_QEMU_TIMEOUT=${NETNSLINK_QEMU_TIMEOUT:-900}
KT_WORK=""

kt_log() { printf '# %s\n' "$*"; }
kt_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }
kt_die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# kt_sandbox ARGS...: runs the calling script again in private mount and pid
# namespaces, so that a killed run (a ctest timeout is a SIGKILL) takes its
# qemu and its chroot mounts with it.
kt_sandbox() {
	[ -n "${KT_SANDBOXED:-}" ] && return 0
	[ "$(id -u)" -eq 0 ] || kt_skip "needs root (chroot, dpkg in a chroot, mke2fs -d of a root tree)"
	export KT_SANDBOXED=1
	exec unshare --mount --pid --fork --kill-child --propagation private --mount-proc \
		"$BASH" "$0" "$@"
}

# kt_need_tools: what the tier cannot run without is a skip, not a failure.
kt_need_tools() {
	local tool
	for tool in qemu-system-x86_64 mke2fs debugfs zstd tar chroot flock; do
		command -v "$tool" >/dev/null || kt_skip "$tool is missing (scripts/install-deps.sh installs it)"
	done
	qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || kt_skip "this qemu has no TCG accelerator"
}

# kt_start_work: a run folder, locked while the run lives; folders of runs
# that died without cleaning up are unlocked and removed here.
kt_start_work() {
	local d
	mkdir -p "$KT_CACHE/work"
	for d in "$KT_CACHE"/work/run.*; do
		# A folder without its lock yet is one being made right now.
		[ -e "$d/.lock" ] || continue
		if flock -n "$d/.lock" true 2>/dev/null; then rm -rf "$d"; fi
	done
	KT_WORK=$(mktemp -d "$KT_CACHE/work/run.XXXXXX")
	exec 8>"$KT_WORK/.lock"
	flock 8
	trap kt_end_work EXIT
	trap 'exit 130' INT TERM
}

kt_end_work() {
	local rc=$?
	trap - EXIT INT TERM
	# Mounts die with this mount namespace; qemu is waited for by kt_boot.
	[ -n "$KT_WORK" ] && rm -rf "$KT_WORK"
	exit $rc
}

# kt_chroot ROOT CMD...: CMD inside ROOT with /proc, /sys and /dev mounted,
# in a mount namespace of its own so that the mounts end with it whatever
# happens; a policy-rc.d keeps package scripts from starting services.
kt_chroot() {
	local root=$1
	shift
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	local rc=0
	unshare --mount --propagation private /bin/sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc" && mount -t sysfs sysfs "$root/sys" &&
			mount --rbind /dev "$root/dev" || exit 1
		chroot "$root" "$@"; rc=$?
		umount -R "$root/dev"; umount "$root/sys" "$root/proc"
		exit $rc' kt-chroot "$root" "$@" || rc=$?
	rm -f "$root/usr/sbin/policy-rc.d"
	return $rc
}

# kt_make_kernel_root DEB DIR: the Debian root with the kernel package DEB
# installed by dpkg in a chroot, packed into DIR with its vmlinuz and initrd.
kt_make_kernel_root() {
	local deb=$1 dir=$2 tmp="$KT_WORK/kernel-root" release
	rm -rf "$tmp" && mkdir -p "$tmp"
	"$KT_SOURCE/tests/live/debian-root.sh" extract "$tmp/root"
	# The initrd must find the root disk by itself: qemu gives a virtio
	# disk, and Debian builds virtio_blk and ext4 as modules.
	printf '%s\n' virtio_pci virtio_blk ext4 >>"$tmp/root/etc/initramfs-tools/modules"
	cp "$deb" "$tmp/root/tmp/kernel.deb"
	if ! kt_chroot "$tmp/root" dpkg -i /tmp/kernel.deb >"$tmp/dpkg.log" 2>&1; then
		tail -n 30 "$tmp/dpkg.log" >&2
		kt_die "dpkg -i $(basename "$deb") in the chroot failed"
	fi
	rm -f "$tmp/root/tmp/kernel.deb"
	release=$(ls "$tmp/root/lib/modules")
	[ -s "$tmp/root/boot/initrd.img-$release" ] || kt_die "no initrd was made for $release"
	kt_chroot "$tmp/root" lsinitramfs "/boot/initrd.img-$release" >"$tmp/initrd.list"
	if ! grep -q '/virtio_blk\.ko' "$tmp/root/lib/modules/$release/modules.builtin" "$tmp/initrd.list"; then
		kt_die "the initrd of $release has no virtio_blk: the guest could not find its disk"
	fi
	mkdir -p "$dir.tmp"
	cp "$tmp/root/boot/vmlinuz-$release" "$dir.tmp/vmlinuz"
	cp "$tmp/root/boot/initrd.img-$release" "$dir.tmp/initrd.img"
	echo "$release" >"$dir.tmp/release"
	tar -C "$tmp/root" -cf - . | zstd -q -T0 -3 -o "$dir.tmp/root.tar.zst"
	mv "$dir.tmp" "$dir"
	rm -rf "$tmp"
}

# kt_kernel SERIES: sets KT_KDIR to the cached kernel root of SERIES (5.10,
# 6.1, 6.12), fetching the package and making the root first if needed.
kt_kernel() {
	local series=$1 deb base key rc=0
	deb=$("$KT_SOURCE/tests/kernels/fetch-kernel.sh" "$series") || rc=$?
	[ $rc -eq 0 ] || { [ $rc -eq 77 ] && kt_skip "no $series kernel: the mirror is unreachable"; exit $rc; }
	base=$("$KT_SOURCE/tests/live/debian-root.sh" tarball) || rc=$?
	[ $rc -eq 0 ] || { [ $rc -eq 77 ] && kt_skip "no Debian root (tests/live/debian-root.sh)"; exit $rc; }
	# The recipe is part of the key: changing it remakes the roots.
	key=$({ basename "$deb"; stat -c '%s %Y' "$base"; declare -f kt_make_kernel_root kt_chroot; } |
		sha256sum | cut -c1-12)
	KT_KDIR="$KT_CACHE/roots/$series-$key"
	mkdir -p "$KT_CACHE/roots"
	# The series lock while making; then a shared lock on this root for as
	# long as the run lives, so that another run's newer recipe removes
	# only roots nobody uses.
	exec 6>"$KT_CACHE/roots/.lock-$series"
	flock 6
	exec 7>"$KT_KDIR.lock"
	flock -s 7
	# Roots of older packages or recipes go once no run uses them.
	local old
	for old in "$KT_CACHE/roots/$series"-*.lock; do
		[ "$old" = "$KT_KDIR.lock" ] && continue
		flock -n -x "$old" rm -rf "${old%.lock}" "${old%.lock}.tmp" "$old" || true
	done
	if [ ! -s "$KT_KDIR/root.tar.zst" ]; then
		kt_log "making the $series kernel root from $(basename "$deb") (once; cached)"
		local start=$SECONDS
		kt_make_kernel_root "$deb" "$KT_KDIR"
		kt_log "kernel root made in $((SECONDS - start)) s"
	fi
	exec 6>&-
	KT_RELEASE=$(cat "$KT_KDIR/release")
}

# kt_guest_root DIR: a fresh copy of the current kernel root in DIR.
kt_guest_root() {
	mkdir -p "$1"
	zstd -q -dc "$KT_KDIR/root.tar.zst" | tar -C "$1" -xf -
}

# kt_make_image ROOT IMAGE: an ext4 image of ROOT with room to spare. No
# journal: what the guest has synced is on the disk even if it never powers
# off cleanly, and debugfs (which does not replay a journal) sees it.
kt_make_image() {
	local mb
	mb=$(du -sm "$1" | cut -f1)
	mke2fs -q -F -t ext4 -O ^has_journal -L netnslink-kt -d "$1" "$2" "$((mb + mb / 4 + 256))M" >/dev/null
}

# kt_boot IMAGE CONSOLE_LOG [KERNEL_ARGS...]: boots the current kernel on
# IMAGE until the guest powers off (or the timeout); the serial console goes
# to CONSOLE_LOG. Sets KT_BOOT_SECONDS; returns qemu's status (124: timeout).
# panic=-1 and -no-reboot: a guest that panics ends qemu instead of hanging.
kt_boot() {
	local image=$1 console=$2 start=$SECONDS rc=0
	shift 2
	# In the background: bash runs a signal's trap during `wait`, not while
	# a foreground child runs, and timeout puts qemu in a process group of
	# its own that a ^C does not reach. The trap's exit ends this pid
	# namespace (kt_sandbox), and qemu with it.
	timeout -k 10 "$KT_QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -m 2048 -smp "$KT_SMP" \
		-kernel "$KT_KDIR/vmlinuz" -initrd "$KT_KDIR/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 $*" \
		-drive "file=$image,format=raw,if=virtio" -nodefaults -display none -serial stdio \
		-no-reboot -nic none </dev/null >"$console" 2>&1 &
	wait $! || rc=$?
	KT_BOOT_SECONDS=$((SECONDS - start))
	return $rc
}

# kt_read IMAGE PATH OUT: copies PATH of the image to OUT; fails if the
# image has no such file.
kt_read() {
	rm -f "$3"
	debugfs -R "dump $2 $3" "$1" >/dev/null 2>&1
	[ -f "$3" ]
}

# kt_console_tail CONSOLE_LOG [LINES]: what the serial console showed last,
# for a guest that did not finish.
kt_console_tail() {
	kt_log "the serial console's last lines:"
	# Without systemd's colours and cursor moves.
	tail -n "${2:-40}" "$1" | tr -d '\r' | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' -e 's/^/#   /'
}

# kt_cut_verifier_logs MAX: stdin to stdout, each verifier log (as libbpf
# prints it) cut to its last MAX lines, where the rejection is (0: all).
kt_cut_verifier_logs() {
	awk -v max="$1" '
		function flush() { n = c - max; if (max == 0 || n < 0) n = 0
			if (n) print "   [... " n " lines of the verifier log left out ...]"
			for (i = n + 1; i <= c; i++) print buf[i]; c = 0 }
		/-- BEGIN PROG LOAD LOG --/ { inlog = 1; print; next }
		/-- END PROG LOAD LOG --/ { flush(); inlog = 0; print; next }
		inlog { buf[++c] = $0; next }
		{ print }'
}
