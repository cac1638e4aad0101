#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/cni/run.sh BUILD_DIR: what the netnslink CNI plugin adds to a pod's
# ADD, through the daemon's private socket, against the plugin before it in
# the chain, Debian's bridge (with host-local IPAM), in the daemon tests'
# sandbox (private mount and pid namespaces, bus, bpffs and /run/netns; the
# bridge goes in a netns of the bench's). Builds nothing; run as root.
#
#   PODS (200) netns, one after the other, as a runtime would: the bridge
#   plugin's ADD, then netnslink's ADD with its result as prevResult, each
#   timed as the runtime sees it (fork, exec, answer). Three configurations
#   of netnslink: builtin:flow alone; flow and a builtin:steer link with one
#   binding (a steer link gets maps of its own: a program load per pod);
#   and the same with an object's program instead of steer.
# Target (issue 17): netnslink's ADD at most 2 ms (median).
set -u
if [ $# -lt 1 ] || [ ! -x "$1/src/cni/netnslink" ]; then
        echo "usage: $0 BUILD_DIR" >&2
        exit 2
fi
export NL_BUILD=$(cd "$1" && pwd)
export NL_SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
source "$NL_SOURCE/tests/harness/harness.sh"

PODS=${PODS:-200}
BRIDGE=/usr/lib/cni/bridge
[ -x "$BRIDGE" ] || { echo "needs $BRIDGE (apt-get install containernetworking-plugins)" >&2; exit 2; }
OBJ="$TEST_BPF/libtest_progs.bpf.o"

start_bus && mount_pins && start_daemon || exit 1
HOST_NS=$(make_netns host) || exit 1
ip -n "$HOST_NS" link set lo up
log "making $PODS netns"
for i in $(seq "$PODS"); do ip netns add "bcni-$i" || exit 1; NETNS_MADE+=("bcni-$i"); done

/usr/bin/python3 "$NL_SOURCE/bench/cni/add-bench.py" "$PODS" "$BRIDGE" "$NL_BUILD/src/cni/netnslink" \
        "$PRIVATE_SOCKET" "$HOST_NS" "$T" "$OBJ" "$DAEMON_PID"
rc=$?
[ -n "${BENCH_LOG:-}" ] && cp "$T/daemon.log" "$BENCH_LOG"
finish
exit $rc
