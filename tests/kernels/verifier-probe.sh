#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Does the verifier of a Debian kernel take the built BPF objects? Boots the
# kernel in qemu (no systemd: the probe is PID 1) and loads each object with
# `bpftool prog loadall`, printing the verifier's log of every rejection.
# For working on bpf/*.bpf.c against old kernels: build, then
#
#   tests/kernels/verifier-probe.sh BUILD 5.10|6.1|6.12|all [OBJECT...]
#
# OBJECTs default to BUILD/bpf-gen/steer.bpf.o and flow.bpf.o (the
# built-ins). Prints the verifier's last VERIFIER_LOG_LINES lines (default
# 60; 0 prints all). Exit 0 if every object loaded on every kernel asked
# for, 1 if one was rejected, 77 if qemu or the kernel cannot be had.
# A kernel's first use downloads and prepares it (a few minutes, cached);
# after that a probe takes about a minute.
source "$(dirname "$0")/lib.sh"
kt_sandbox "$@"

[ $# -ge 2 ] || { echo "usage: $0 BUILD 5.10|6.1|6.12|all [OBJECT...]" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
SERIES=$2
shift 2
OBJECTS=("$@")
[ ${#OBJECTS[@]} -gt 0 ] || OBJECTS=("$BUILD/bpf-gen/steer.bpf.o" "$BUILD/bpf-gen/flow.bpf.o")
for obj in "${OBJECTS[@]}"; do [ -s "$obj" ] || kt_die "no object $obj (build first: scripts/build.sh $1)"; done
[ "$SERIES" = all ] && SERIES_LIST=(5.10 6.1 6.12) || SERIES_LIST=("$SERIES")
LOG_LINES=${VERIFIER_LOG_LINES:-60}
# BENCH=1: after the loads, the data-plane benchmarks (bench/steer,
# bench/flow) run in the guest too, BENCH_REPEAT runs a figure. Under qemu's
# emulation (TCG) absolute times mean nothing; the ratios to the floor
# programs, run side by side, are what compares across kernels.
BENCH=${BENCH:-0}
BENCH_REPEAT=${BENCH_REPEAT:-2000}

kt_need_tools
kt_start_work

status=0
for series in "${SERIES_LIST[@]}"; do
	kt_kernel "$series"
	root="$KT_WORK/root-$series"
	kt_guest_root "$root"
	mkdir -p "$root$KT_GUEST_LIB/probe"
	cp "${OBJECTS[@]}" "$root$KT_GUEST_LIB/probe/"
	if [ "$BENCH" = 1 ]; then
		install -m 755 "$BUILD/bench/steer/bench-steer" "$BUILD/bench/flow/bench-flow" "$root$KT_GUEST_LIB/"
		echo "$BENCH_REPEAT" >"$root$KT_GUEST_LIB/bench-repeat"
	fi
	install -m 755 "$KT_SOURCE/tests/kernels/guest/verifier-probe-init" "$root$KT_GUEST_LIB/"
	image="$KT_WORK/probe-$series.img"
	kt_make_image "$root" "$image"
	rm -rf "$root"
	rc=0
	kt_boot "$image" "$KT_WORK/console-$series.log" "init=$KT_GUEST_LIB/verifier-probe-init" || rc=$?
	echo "== $series: kernel $KT_RELEASE, booted and probed in $KT_BOOT_SECONDS s (qemu status $rc)"
	if kt_read "$image" "$KT_GUEST_OUT/probe-results" "$KT_WORK/results" &&
		grep -q '^=== done' "$KT_WORK/results"; then
		kt_cut_verifier_logs "$LOG_LINES" <"$KT_WORK/results"
		grep -q '^=== .*: REJECTED' "$KT_WORK/results" && status=1
	else
		echo "the guest did not finish the probe"
		kt_console_tail "$KT_WORK/console-$series.log"
		status=1
	fi
	rm -f "$image"
done
exit $status
