#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/daemon/run.sh BUILD_DIR [PARTS...]: netnslinkd's figures, side by side
# in one run, in the daemon tests' sandbox (private mount and pid
# namespaces, private bus, bpffs and /run/netns: everything made is gone when
# it ends). Builds nothing; run as root. PARTS (default: all but crash):
#
#   attach   300 netns, one program: direct libbpf attach+pin / detach+unpin
#            per netns against Peer.Ping, Attach, Detach, AttachMany and
#            DetachMany through the daemon (targets: single calls within 1.5x
#            of direct + Ping, the Many calls within 2x of the direct loop),
#            and the same four calls' messages and signals to a server that
#            does nothing (the bus's share of a call)
#   restart  10,000 pinned sk_lookup links (2,500 netns x 4), SIGKILL the
#            daemon, restart: time to a full ListLinks answer (< 1 s) and
#            RSS (< 32 MiB)
#   load     8 clients x 1,000 operations, GetLink p99 (< 50 ms), the
#            daemon's fd count and RSS around 10,000 more operations
#   crash    crash-anywhere: 4 clients, random SIGKILLs (bench/daemon/crash-anywhere)
#
# Environment: NETNS (300), ROUNDS (5), NETNS_RESTART (2500), PER_NETNS (4),
# OPS (1000).
set -u
if [ $# -lt 1 ] || [ ! -x "$1/src/daemon/netnslinkd" ]; then
        echo "usage: $0 BUILD_DIR [attach|restart|load|crash...]" >&2
        exit 2
fi
export NL_BUILD=$(cd "$1" && pwd)
export NL_SOURCE=$(cd "$(dirname "$0")/../.." && pwd)
shift
PARTS=${*:-attach restart load}
source "$NL_SOURCE/tests/harness/harness.sh" "$NL_BUILD" "$@"

CLIENT="$NL_BUILD/bench/daemon/nl-bus-bench"
OBJ="$TEST_BPF/bench_daemon_prog.bpf.o"
[ -x "$CLIENT" ] && [ -f "$OBJ" ] || { echo "build $NL_BUILD first (nl-bus-bench, bench_daemon_prog)" >&2; exit 1; }

# The shipped policy, and one rule more: root may run the no-op server that
# measures the bus's share of a call (nl-bus-bench floor-server).
FLOOR_POLICY='<policy user="root"><allow own="org.netnslink1.BenchFloor"/><allow send_destination="org.netnslink1.BenchFloor"/><allow receive_sender="org.netnslink1.BenchFloor"/></policy>'
start_bus "$BUS_POLICY" "$FLOOR_POLICY" && mount_pins && start_daemon || exit 1
FAILED_PARTS=""

part_attach() {
        local n=${NETNS:-300} floor_pid rc
        echo "== attach: $n netns, one program =="
        "$CLIENT" mknetns bench "$n" > "$T/netns-attach" || return 1
        mkdir -p "$PINS/direct"
        "$CLIENT" floor-server &
        floor_pid=$!
        for _ in $(seq 100); do
                busctl status org.netnslink1.BenchFloor >/dev/null 2>&1 && break
                sleep 0.05
        done
        "$CLIENT" bench --rounds=${ROUNDS:-5} --daemon-pid="$DAEMON_PID" --bus-pid="$BUS_PID" --floor="$floor_pid" \
                --pin-dir="$PINS/direct" "$T/netns-attach" "$OBJ"
        rc=$?
        kill "$floor_pid"; wait "$floor_pid" 2>/dev/null
        return $rc
}

part_restart() {
        local n=${NETNS_RESTART:-2500} per=${PER_NETNS:-4} t0
        echo "== restart: $((n * per)) pinned links ($n netns x $per) =="
        t0=$(date +%s%N)
        "$CLIENT" mknetns many "$n" > "$T/netns-restart" || return 1
        echo "made $n netns in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
        "$CLIENT" fill --per="$per" "$T/netns-restart" "$OBJ" || return 1
        echo "daemon with $((n * per)) links: RSS $(daemon_status VmRSS) KiB, $(daemon_fds) fds"
        kill_daemon
        "$CLIENT" restart -- "$NLD" --pin-root="$PIN_ROOT" --log-level=info > "$T/restart.out" 2>>"$T/daemon.log"
        local rc=$?
        grep -v '^pid ' "$T/restart.out"
        DAEMON_PID=$(awk '/^pid /{print $2}' "$T/restart.out")
        [ $rc -eq 0 ] || return 1
        # Leave the next part a clean daemon: kill, then clear the pin root.
        kill_daemon
        find "$PIN_ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
        start_daemon
}

part_load() {
        local ops=${OPS:-1000}
        echo "== load: 8 clients x $ops operations, then 10,000 more =="
        for i in $(seq 8); do echo "$NS_PREFIX-load$i"; ip netns add "$NS_PREFIX-load$i"; NETNS_MADE+=("$NS_PREFIX-load$i"); done > "$T/netns-load"
        "$CLIENT" load --clients=8 --ops="$ops" --daemon-pid="$DAEMON_PID" --max-p99-ms=50 "$T/netns-load" "$OBJ" || return 1
        "$CLIENT" load --clients=8 --ops=1250 --daemon-pid="$DAEMON_PID" --max-p99-ms=50 \
                --max-rss-growth-kib=4096 "$T/netns-load" "$OBJ"
}

part_crash() {
        local rc=0
        echo "== crash anywhere: 4 clients, 20 netns, ${KILLS:-25} kills =="
        # it runs its own daemon
        stop_daemon
        NL_PIN_ROOT="$PIN_ROOT" NL_LOG="$T/daemon.log" NL_NS_PREFIX="$NS_PREFIX" \
                /usr/bin/python3 "$NL_SOURCE/bench/daemon/crash-anywhere" --kills="${KILLS:-25}" --seed="${SEED:-1}" || rc=1
        start_daemon || rc=1
        return $rc
}

for p in $PARTS; do
        if ! "part_$p"; then
                echo "FAILED: $p"
                FAILED_PARTS+=" $p"
        fi
        echo
done
if daemon_alive; then stop_daemon; fi
[ -z "$FAILED_PARTS" ] || { echo "failed parts:$FAILED_PARTS"; exit 1; }
