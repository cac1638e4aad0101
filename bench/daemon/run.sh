#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/daemon/run.sh BUILD_DIR [PARTS...]: netnslinkd's figures, side by side
# in one run, in the daemon tests' sandbox (private mount and pid
# namespaces, private bus, bpffs and /run/netns: everything made is gone when
# it ends). Builds nothing; run as root. PARTS (default: all but crash):
#
#   attach   300 netns, one program: direct libbpf attach+pin / detach+unpin
#            per netns against Peer.Ping, Attach, Detach, AttachMany,
#            DetachMany and SetBindings of 100,000 through the daemon, and the
#            same calls' messages to a server that does nothing (the
#            transport's share of a call), over three transports in turn:
#            the system bus (dbus-daemon), dbus-broker (a second daemon on it,
#            its own pin root) and the daemon's private socket. Targets, for
#            the private socket: single calls within 1.5x of direct + Ping,
#            the Many calls within 1.5x of the direct loop, SetBindings of
#            100,000 within 1 s
#   restart  10,000 pinned sk_lookup links (2,500 netns x 4), SIGKILL the
#            daemon, restart: time to a full ListLinks answer (< 1 s) and
#            RSS (< 32 MiB)
#   load     8 clients x 1,000 operations, GetLink p99 (< 50 ms), the
#            daemon's fd count and RSS around 10,000 more operations
#   crash    crash-anywhere: 4 clients, random SIGKILLs (bench/daemon/crash-anywhere)
#
# Environment: NETNS (300), ROUNDS (5), NETNS_RESTART (2500), PER_NETNS (4),
# OPS (1000), SET_BINDINGS (100000), BROKER (1; 0: no dbus-broker column),
# NLD_LOG_LEVEL (info: what a production daemon pays), TRANSPORTS (all of
# dbus-daemon,dbus-broker,private), PERF_DATA (a file: the daemon's profile
# during the attach part, perf record -g; PERF_CALL_GRAPH, default dwarf).
set -u
if [ $# -lt 1 ] || [ ! -x "$1/src/daemon/netnslinkd" ]; then
        echo "usage: $0 BUILD_DIR [attach|restart|load|crash...]" >&2
        exit 2
fi
export NL_BUILD=$(cd "$1" && pwd)
export NLD_LOG_LEVEL=${NLD_LOG_LEVEL:-info}
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

# start_broker: dbus-broker on $T/broker with the bench bus's policy
# ($T/bus.conf), started as systemd would start it (socket activation),
# without systemd: dbus-broker-launch logs only to the journal socket, so a
# sink stands in for journald where there is none (in this sandbox's mount
# namespace only). Sets BROKER_LAUNCHER_PID and BROKER_PID (the broker
# itself, the launcher's child).
start_broker() {
        local address="unix:path=$T/broker"
        command -v dbus-broker-launch >/dev/null || { echo "no dbus-broker-launch (apt-get install dbus-broker)" >&2; return 1; }
        if [ ! -S /run/systemd/journal/socket ]; then
                mkdir -p /run/systemd && mount -t tmpfs -o mode=755 netnslink-bench-journal /run/systemd &&
                        mkdir /run/systemd/journal || return 1
                /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as log:
    while True:
        log.write(s.recv(1 << 16) + b"\n")' /run/systemd/journal/socket "$T/broker.log" &
                BROKER_SINK_PID=$!
                for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.02; done
        fi
        systemd-socket-activate -E DBUS_SYSTEM_BUS_ADDRESS="$address" -l "$T/broker" \
                dbus-broker-launch --scope system --config-file="$T/bus.conf" >>"$T/broker.log" 2>&1 &
        BROKER_LAUNCHER_PID=$!
        for _ in $(seq 100); do
                DBUS_SYSTEM_BUS_ADDRESS=$address busctl status org.freedesktop.DBus >/dev/null 2>&1 && break
                sleep 0.05
        done
        BROKER_PID=$(cat "/proc/$BROKER_LAUNCHER_PID/task/$BROKER_LAUNCHER_PID/children" 2>/dev/null)
        BROKER_PID=${BROKER_PID%% *}
        [ -n "$BROKER_PID" ] || { echo "dbus-broker did not start: $(cat "$T/broker.log")" >&2; return 1; }
}

# wait_name ADDRESS NAME PID: until NAME has an owner on the bus at ADDRESS,
# as long as PID runs.
wait_name() {
        for _ in $(seq 200); do
                DBUS_SYSTEM_BUS_ADDRESS=$1 busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s "$2" 2>/dev/null | grep -q true && return 0
                kill -0 "$3" 2>/dev/null || break
                sleep 0.05
        done
        echo "$2 did not appear on $1" >&2
        return 1
}

part_attach() {
        local n=${NETNS:-300} rc pids=() broker_args=() perf_pid=""
        echo "== attach: $n netns, one program; load average $(cut -d' ' -f1-3 /proc/loadavg) =="
        "$CLIENT" mknetns bench "$n" > "$T/netns-attach" || return 1
        mkdir -p "$PINS/direct"
        "$CLIENT" floor-server &
        pids+=($!)
        wait_name "$DBUS_SYSTEM_BUS_ADDRESS" org.netnslink1.BenchFloor "${pids[0]}" || return 1
        "$CLIENT" floor-server --listen="$T/floor-private" &
        pids+=($!)
        for _ in $(seq 100); do [ -S "$T/floor-private" ] && break; sleep 0.02; done
        # dbus-broker is not installed by scripts/install-deps.sh: Debian's
        # package makes it the system bus at the next boot of a systemd host.
        if [ "${BROKER:-1}" != 0 ] && ! command -v dbus-broker-launch >/dev/null; then
                echo "(no dbus-broker column: apt-get install dbus-broker, which on a systemd host becomes the system bus at the next boot; BROKER=0 hides this)"
        elif [ "${BROKER:-1}" != 0 ]; then
                local address="unix:path=$T/broker"
                start_broker || return 1
                # A second netnslinkd, on dbus-broker only: the first one's
                # pin root is locked, so it has its own on the same bpffs.
                DBUS_SYSTEM_BUS_ADDRESS=$address "$NLD" --pin-root="$PINS/broker-pins" --log-level="$NLD_LOG_LEVEL" \
                        --config-root="$T/config-none" --private-socket="$T/private-broker" >>"$T/daemon-broker.log" 2>&1 &
                pids+=($!)
                local broker_daemon=$!
                DBUS_SYSTEM_BUS_ADDRESS=$address "$CLIENT" floor-server --address="$address" &
                pids+=($!)
                local broker_floor=$!
                wait_name "$address" org.netnslink1 "$broker_daemon" &&
                        wait_name "$address" org.netnslink1.BenchFloor "$broker_floor" || return 1
                broker_args=(--broker="$address" --broker-pid="$BROKER_PID" --broker-daemon-pid="$broker_daemon"
                             --broker-floor="$broker_floor")
        fi
        if [ -n "${PERF_DATA:-}" ]; then
                perf record -q -F 4000 --call-graph="${PERF_CALL_GRAPH:-dwarf}" -p "$DAEMON_PID" -o "$PERF_DATA" &
                perf_pid=$!
                sleep 1
        fi
        "$CLIENT" bench --rounds=${ROUNDS:-5} --transports="${TRANSPORTS:-dbus-daemon,dbus-broker,private}" --daemon-pid="$DAEMON_PID" --bus-pid="$BUS_PID" --floor="${pids[0]}" \
                --private="$PRIVATE_SOCKET" --private-floor="$T/floor-private" --private-floor-pid="${pids[1]}" \
                "${broker_args[@]}" --set-bindings="${SET_BINDINGS:-100000}" \
                --pin-dir="$PINS/direct" "$T/netns-attach" "$OBJ"
        rc=$?
        echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
        pids+=(${BROKER_LAUNCHER_PID:-} ${BROKER_SINK_PID:-})
        # SIGINT: perf writes its file and ends.
        [ -z "$perf_pid" ] || { kill -INT "$perf_pid"; wait "$perf_pid"; }
        kill "${pids[@]}" 2>/dev/null
        wait "${pids[@]}" 2>/dev/null
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
