# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared harness for the daemon tests, sourced by tests/*/test-*.sh.
#
# Starts the real things in a private sandbox: a dbus-daemon with the
# project's own bus policy (systemd/org.netnslink1.conf), a bpffs instance
# mounted in a temporary folder as the pin root, and netnslinkd itself.
# Everything it makes (netns, mounts, processes, folders) is removed on exit,
# also when a test fails or is interrupted. It never touches /sys/fs/bpf or
# the root netns's hooks.
#
# Environment: NL_BUILD (build folder), NL_SOURCE (source folder).

set -u
: "${NL_BUILD:?NL_BUILD must name the build folder}"

# Run in private mount and pid namespaces: if the test is killed (a ctest
# timeout sends SIGKILL), the kernel ends every process it started and drops
# every mount and netns it made, with no cleanup code needed.
if [ -z "${NL_SANDBOXED:-}" ]; then
        export NL_SANDBOXED=1
        exec unshare --mount --pid --fork --kill-child --propagation private --mount-proc \
                "$BASH" "$0" "$@"
fi
# Netns names are private to this test too.
mkdir -p /run/netns && mount -t tmpfs -o mode=755 netnslink-test-netns /run/netns
# And the daemon's default private socket: a daemon a test starts without
# --private-socket (an old release, a test that runs it by hand) binds
# /run/netnslinkd/private in a tmpfs of the test's own, never the host's.
mkdir -p /run/netnslinkd && mount -t tmpfs -o mode=755 netnslink-test-run /run/netnslinkd
: "${NL_SOURCE:?NL_SOURCE must name the source folder}"

NLD="$NL_BUILD/src/daemon/netnslinkd"
CTL="$NL_BUILD/src/ctl/netnslinkctl"
TEST_BPF="$NL_BUILD/bpf-gen"
T=$(mktemp -d /tmp/netnslink-test-XXXXXX)
chmod 755 "$T"      # so that an unprivileged caller can reach the bus socket
PINS="$T/bpffs"
PIN_ROOT="$PINS/netnslinkd"
BUS_SOCKET="$T/bus"
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$BUS_SOCKET"
NS_PREFIX="nlt$$"
NLD_EXTRA=${NLD_EXTRA-"--config-root=$T/config-none"}
# The daemon's private socket is the test's own, and root's netnslinkctl
# finds it there (NETNSLINK_PRIVATE_SOCKET): no test reaches a daemon of the
# host through /run/netnslinkd. NLD_PRIVATE empty: no option (a release
# that knows no --private-socket).
PRIVATE_SOCKET="$T/private"
export NETNSLINK_PRIVATE_SOCKET="$PRIVATE_SOCKET"
NLD_PRIVATE=${NLD_PRIVATE-"--private-socket=$PRIVATE_SOCKET"}
NETNS_MADE=()
BUS_PID=""
DAEMON_PID=""
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)
BUS_POLICY="$NL_SOURCE/systemd/org.netnslink1.conf"

log() { printf '# %s\n' "$*"; }

pass() { PASSED=$((PASSED + 1)); printf 'ok %d - %s\n' "$((PASSED + FAILED))" "$1"; }
fail() {
        FAILED=$((FAILED + 1))
        printf 'not ok %d - %s\n' "$((PASSED + FAILED))" "$1"
        shift
        [ $# -gt 0 ] && printf '#   %s\n' "$@"
        return 0
}

# check DESC CMD...: passes if CMD exits 0.
check() {
        local desc=$1; shift
        local out
        if out=$("$@" 2>&1); then pass "$desc"; else fail "$desc" "command: $*" "output: $out"; fi
}

# check_fails DESC ERROR_NAME CMD...: passes if CMD exits non-zero and its
# output names ERROR_NAME (a D-Bus error name, or any expected text).
check_fails() {
        local desc=$1 want=$2; shift 2
        local out
        if out=$("$@" 2>&1); then
                fail "$desc" "command: $*" "expected failure with $want, but it succeeded: $out"
        elif [[ "$out" != *"$want"* ]]; then
                fail "$desc" "command: $*" "expected $want in: $out"
        else
                pass "$desc"
        fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
        if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected: $2" "actual:   $3"; fi
}

cleanup() {
        local rc=$?
        trap - EXIT INT TERM
        [ -n "$DAEMON_PID" ] && kill -9 "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
        [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null && wait "$BUS_PID" 2>/dev/null
        for ns in "${NETNS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null; done
        if mountpoint -q "$PINS" 2>/dev/null; then umount "$PINS"; fi
        # NL_KEEP_LOG=DIR: a failed test leaves its daemon's log there.
        if [ -n "${NL_KEEP_LOG:-}" ] && [ "$FAILED" -gt 0 ] && [ -f "$T/daemon.log" ]; then
                cp "$T/daemon.log" "$NL_KEEP_LOG/$TEST_NAME.$$.daemon.log"
        fi
        rm -rf "$T"
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bus() {
        sed -e "s|@SOCKET@|$BUS_SOCKET|" -e "s|@POLICY@|${1:-$BUS_POLICY}|" -e "s|@EXTRA@|${2:-}|" \
                "$NL_SOURCE/tests/harness/bus.conf.in" > "$T/bus.conf"
        dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile 2>"$T/bus.log" &
        BUS_PID=$!
        for _ in $(seq 100); do [ -S "$BUS_SOCKET" ] && return 0; sleep 0.05; done
        echo "dbus-daemon did not start: $(cat "$T/bus.log")" >&2
        return 1
}

mount_pins() {
        mkdir -p "$PINS"
        mount -t bpf bpf "$PINS"
}

# start_daemon [ENV=VAL...]: starts netnslinkd and waits until it owns its
# name. Its log goes to $T/daemon.log. NLD_LOG_LEVEL: its log level (debug
# unless set; the benches use info, what a production daemon pays).
# NLD_EXTRA: one more daemon option; by default a configuration root of the
# test's own with no files, so that no test applies the host's
# /etc/netnslink/links.d (empty: no option, for a release that knows no
# --config-root).
start_daemon() {
        daemon_died_check
        env "$@" "$NLD" --pin-root="$PIN_ROOT" --log-level="${NLD_LOG_LEVEL:-debug}" ${NLD_EXTRA:+"$NLD_EXTRA"} \
                ${NLD_PRIVATE:+"$NLD_PRIVATE"} >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        for _ in $(seq 200); do
                if busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s org.netnslink1 2>/dev/null | grep -q true; then
                        return 0
                fi
                kill -0 "$DAEMON_PID" 2>/dev/null || break
                sleep 0.05
        done
        echo "netnslinkd did not start:" >&2
        cat "$T/daemon.log" >&2
        return 1
}

# stop_daemon: SIGTERM, and the exit status must be 0 (sanitizers report
# leaks and errors through it).
stop_daemon() {
        local rc=0
        kill -TERM "$DAEMON_PID"
        wait "$DAEMON_PID" || rc=$?
        DAEMON_PID=""
        if [ $rc -ne 0 ]; then
                fail "netnslinkd exits cleanly on SIGTERM" "exit status $rc" "$(tail -n 30 "$T/daemon.log")"
        fi
        return 0
}

kill_daemon() {
        kill -9 "$DAEMON_PID" 2>/dev/null
        wait "$DAEMON_PID" 2>/dev/null
        DAEMON_PID=""
}

daemon_alive() { [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; }

# make_netns SUFFIX: creates netns $NS_PREFIX-SUFFIX and prints its name.
make_netns() {
        local ns="$NS_PREFIX-$1"
        ip netns add "$ns" || return 1
        NETNS_MADE+=("$ns")
        echo "$ns"
}

del_netns() { ip netns del "$1"; }

daemon_fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }

# mgr METHOD ARGS...: a Manager call through gdbus, which prints the D-Bus
# error name on failure. Arguments are GVariant text: "{'builtin': <'steer'>}".
mgr() {
        local method=$1; shift
        gdbus call --system --dest org.netnslink1 --object-path /org/netnslink1 \
                --method "org.netnslink1.Manager.$method" -- "$@"
}

# busctl form, for calls with a deliberately wrong signature.
mgr_busctl() { busctl call org.netnslink1 /org/netnslink1 org.netnslink1.Manager "$@"; }

# json_get KEY: a key of the link dict (or of the first of a list) read on stdin.
json_get() {
        /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
v = d.get("data", d)
if isinstance(v, list) and v and isinstance(v[0], (list, dict)):
    v = v[0]
if isinstance(v, list):
    v = v[0]
x = v[sys.argv[1]]
print(x["data"] if isinstance(x, dict) and "data" in x else x)' "$1"
}

# ctl_json ARGS...: netnslinkctl --json=short ARGS, then json_get on KEY.
ctl_get() { local key=$1; shift; "$CTL" --json=short "$@" | json_get "$key"; }

# The kernel as witness: does link ID exist, and with which program?
kernel_link_exists() { bpftool link show id "$1" >/dev/null 2>&1; }
kernel_link_prog() { bpftool -j link show id "$1" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'; }

# daemon_died_check: a daemon the test did not stop, kill or wait for has
# ended by itself (a crash, a sanitizer's abort): that is a failure, with
# its exit status and the end of its log.
daemon_died_check() {
        local rc=0
        [ -n "$DAEMON_PID" ] && ! daemon_alive || return 0
        # bash keeps a finished child's status for wait.
        wait "$DAEMON_PID" 2>/dev/null || rc=$?
        DAEMON_PID=""
        fail "netnslinkd kept running until the test stopped it" "it ended by itself, exit status $rc" \
                "$(tail -n 30 "$T/daemon.log")"
}

finish() {
        if daemon_alive; then stop_daemon; else daemon_died_check; fi
        printf '%s: %d passed, %d failed\n' "$TEST_NAME" "$PASSED" "$FAILED"
        [ "$FAILED" -eq 0 ]
}

# --- Appended for tests/crash, tests/access, tests/load, bench/daemon -------

# wait_daemon_exit: waits for the daemon to end by itself (a crash point)
# and sets DAEMON_EXIT to its exit status (137: SIGKILL). Not in a $(...):
# only this shell can wait for its child.
wait_daemon_exit() {
        DAEMON_EXIT=0
        { wait "$DAEMON_PID" || DAEMON_EXIT=$?; } 2>/dev/null
        DAEMON_PID=""
}

# check_invariants DESC [--expect FILE]: pins, ListLinks and the kernel
# agree, and no batch is half-done (tests/crash/invariants.py).
check_invariants() {
        local desc=$1; shift
        check "$desc" /usr/bin/python3 "$NL_SOURCE/tests/crash/invariants.py" "$PIN_ROOT" "$@"
}

# daemon_status KEY: a field of /proc/<daemon>/status (VmRSS, CapEff, ...).
daemon_status() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$DAEMON_PID/status"; }

# netns_ino NAME: the inode of /run/netns/NAME.
netns_ino() { stat -L -c %i "/run/netns/$1"; }
