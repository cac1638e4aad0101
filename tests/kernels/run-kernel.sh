#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The kernel tier: netnslink on one of the kernels Debian users run.
#
#   tests/kernels/run-kernel.sh 5.10|6.1|6.12      (ctest: kernels/SERIES)
#
# Makes a disk image from the cached Debian 12 root with Debian's kernel of
# that series installed (tests/kernels/lib.sh) and netnslink installed from
# its package (`cmake --build NL_BUILD --target package`, installed with
# apt-get), boots it in qemu with systemd as PID 1, lets
# netnslink-kernel-check.service run guest/check.sh, and reads its results
# from the image. Fails on any "not ok", on a missing or unfinished results
# file (a guest that did not boot or timed out, with what its serial console
# showed), and where the package cannot be built or installed. Exit 77
# (skipped) only where qemu, root or the Debian mirror are not to be had.
#
# Environment: NL_BUILD (build folder), NL_SOURCE (source folder), and
# lib.sh's NETNSLINK_QEMU_SMP, NETNSLINK_QEMU_TIMEOUT.
source "$(dirname "$0")/lib.sh"
kt_sandbox "$@"

SERIES=${1:?usage: $0 5.10|6.1|6.12}
: "${NL_BUILD:?NL_BUILD must name the build folder}"
GUEST_SRC="$KT_SOURCE/tests/kernels/guest"
VERIFIER_LOG_LINES=${VERIFIER_LOG_LINES:-60}

# A sanitizer build's binaries need their runtime libraries, which the
# package does not declare; the release build's package is what users get.
[ "${NL_SANITIZE:-OFF}" != ON ] || kt_skip "sanitizer build: the kernel tier installs the release build's package"
kt_need_tools
kt_start_work

# package: builds the .deb (one build at a time: the kernels' tests may run
# in parallel) and sets DEB; with no package target yet, DEB stays empty.
package() {
	DEB=""
	local targets
	targets=$(cmake --build "$NL_BUILD" --target help)
	grep -qE '^(\.\.\. )?package(:|$)' <<<"$targets" || return 0
	(
		flock 9
		cmake --build "$NL_BUILD" --target package >"$KT_WORK/package.log" 2>&1
	) 9>"$NL_BUILD/.kernels-package.lock" || {
		tail -n 30 "$KT_WORK/package.log"
		kt_die "cmake --build $NL_BUILD --target package failed"
	}
	DEB=$(ls -t "$NL_BUILD"/netnslink_*_amd64.deb 2>/dev/null | head -n 1)
	[ -n "$DEB" ] || kt_die "the package target made no $NL_BUILD/netnslink_*_amd64.deb"
}

# install_netnslink ROOT: as a user would, `apt-get install ./netnslink_*.deb`;
# apt fetches from the mirror only what the root lacks (its lists are
# refreshed if that fails with the lists the root came with).
install_netnslink() {
	local root=$1
	if [ -z "$DEB" ]; then
		kt_log "no package target in $NL_BUILD yet: netnslink installed with cmake --install --prefix /usr"
		DESTDIR="$root" cmake --install "$NL_BUILD" --prefix /usr >"$KT_WORK/install.log" 2>&1 || {
			cat "$KT_WORK/install.log"
			kt_die "cmake --install into the guest root failed"
		}
		return 0
	fi
	local name
	name=$(basename "$DEB")
	cp "$DEB" "$root/tmp/$name"
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "/tmp/$name")
	if ! kt_chroot "$root" "${apt[@]}" >"$KT_WORK/install.log" 2>&1 &&
		! { kt_chroot "$root" apt-get update -q && kt_chroot "$root" "${apt[@]}"; } >>"$KT_WORK/install.log" 2>&1; then
		tail -n 30 "$KT_WORK/install.log"
		kt_die "apt-get install ./$name in the guest root failed"
	fi
	rm -f "$root/tmp/$name" "$root"/var/cache/apt/archives/*.deb
	kt_log "installed $name with apt-get install"
}

# guest_files ROOT: the checks, their helpers and objects, and the unit
# that runs them at boot.
guest_files() {
	local root=$1 lib="$1$KT_GUEST_LIB"
	mkdir -p "$lib/bpf"
	install -m 755 "$GUEST_SRC/check.sh" "$lib/"
	install -m 755 "$KT_SOURCE/tests/steer/steer-traffic.py" "$lib/"
	cp "$NL_BUILD/bpf-gen/kernel_tier.bpf.o" "$NL_BUILD/bpf-gen/steer.bpf.o" \
		"$NL_BUILD/bpf-gen/flow.bpf.o" "$lib/bpf/"
	cp "$GUEST_SRC/netnslink-kernel-check.service" "$root/etc/systemd/system/"
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf ../netnslink-kernel-check.service "$root/etc/systemd/system/multi-user.target.wants/"
}

START=$SECONDS
kt_kernel "$SERIES"
kt_log "kernel $KT_RELEASE ready in $((SECONDS - START)) s"
START=$SECONDS
package
kt_log "package ${DEB:+$(basename "$DEB") }ready in $((SECONDS - START)) s"
START=$SECONDS
ROOT="$KT_WORK/root"
kt_guest_root "$ROOT"
install_netnslink "$ROOT"
guest_files "$ROOT"
IMAGE="$KT_WORK/guest.img"
kt_make_image "$ROOT" "$IMAGE"
rm -rf "$ROOT"
kt_log "image made in $((SECONDS - START)) s; booting $KT_RELEASE (qemu, TCG, $KT_SMP vCPU)"

QEMU_RC=0
kt_boot "$IMAGE" "$KT_WORK/console.log" || QEMU_RC=$?
kt_log "the guest ran for $KT_BOOT_SECONDS s (qemu status $QEMU_RC$([ $QEMU_RC -eq 124 ] && echo ': timed out, killed'))"

RESULTS="$KT_WORK/results"
if ! kt_read "$IMAGE" "$KT_GUEST_OUT/results" "$RESULTS"; then
	echo "not ok - the guest wrote no results: it did not boot or did not reach the checks"
	kt_console_tail "$KT_WORK/console.log" 60
	exit 1
fi
cat "$RESULTS"
if kt_read "$IMAGE" "$KT_GUEST_OUT/logs" "$KT_WORK/logs"; then
	kt_log "the guest's logs:"
	kt_cut_verifier_logs "$VERIFIER_LOG_LINES" <"$KT_WORK/logs" | sed 's/^/#   /'
fi
PLAN=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$RESULTS")
RAN=$(grep -cE '^(not )?ok [0-9]+ ' "$RESULTS" || true)
FAILED=$(grep -c '^not ok ' "$RESULTS" || true)
if [ -z "$PLAN" ] || [ "$PLAN" != "$RAN" ]; then
	echo "not ok - the checks did not finish (${RAN} results, plan ${PLAN:-missing})"
	kt_console_tail "$KT_WORK/console.log" 60
	exit 1
fi
echo "kernels/$SERIES ($KT_RELEASE): $((RAN - FAILED)) passed, $FAILED failed; guest $KT_BOOT_SECONDS s"
[ "$FAILED" -eq 0 ]
