#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The private socket (issue 17, item 1): the daemon's objects over a direct
# D-Bus connection, root only, with no bus daemon in between.
#   - made 0600 and owned by root; the daemon says where it serves;
#   - root's netnslinkctl uses it: the calls still work with the bus
#     daemon gone, and the daemon keeps serving after losing the bus, and
#     takes its name again when a bus comes back;
#   - a daemon started with no system bus at all serves only it, says so;
#   - a non-root peer cannot connect, and is refused by the daemon too
#     when the file's mode lets it in; non-root netnslinkctl uses the bus;
#   - signals reach a direct peer that subscribed (netnslinkctl monitor);
#   - NETNSLINK_ADDRESS overrides, with no fallback;
#   - a stale socket file (SIGKILL) is replaced at the next start; a second
#     daemon on the same path is refused and the first keeps serving;
#   - connections that come and go leave no fd behind.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)
PY=/usr/bin/python3

# wait_socket: the daemon serves its private socket (or has died).
wait_socket() {
        for _ in $(seq 200); do
                [ -S "$PRIVATE_SOCKET" ] && "$CTL" list >/dev/null 2>&1 && return 0
                daemon_alive || return 1
                sleep 0.05
        done
        return 1
}

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)

check_eq "the socket is 0600, owned by root" "srw------- 0" "$(stat -c '%A %u' "$PRIVATE_SOCKET")"
check "the daemon says where it serves" \
        grep -q "Ready: org.netnslink1 on the system bus and on $PRIVATE_SOCKET" "$T/daemon.log"
check "root attaches through it" "$CTL" attach "$A" sk_lookup p1 "$OBJ:sk_pass"
check "root attaches builtin:steer (a load in the loader child) through it" \
        "$CTL" attach "$A" sk_lookup s1 builtin:steer

# --- Root's CLI does not need the bus -----------------------------------------
kill "$BUS_PID"; wait "$BUS_PID" 2>/dev/null; BUS_PID=""
rm -f "$BUS_SOCKET"
sleep 0.3
check "the daemon keeps running when the system bus goes" daemon_alive
check "with no bus daemon, root lists through the private socket" "$CTL" show "$A" sk_lookup p1
check "... attaches" "$CTL" attach "$A" sk_lookup p2 "$OBJ:sk_pass"
check "... and detaches" "$CTL" detach "$A" sk_lookup p2
check_fails "a non-root caller, who has only the bus, is told the bus is down" "is dbus running" \
        "${NOBODY[@]}" "$CTL" list
check "the daemon says it lost the bus" grep -q "Lost the system bus" "$T/daemon.log"
start_bus || exit 1
has_name() {
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.netnslink1 |
                grep -q true
}
for _ in $(seq 100); do has_name && break; sleep 0.1; done
check "when a bus comes back, the daemon takes its name there again" has_name
check "... says so" grep -q "Connected to the system bus" "$T/daemon.log"
check "... and a non-root caller is served through it" "${NOBODY[@]}" "$CTL" show "$A" sk_lookup p1
stop_daemon

# --- No system bus at all, from the start --------------------------------------
start_daemon_no_bus() {
        env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus" "$NLD" --pin-root="$PIN_ROOT" --log-level=debug \
                ${NLD_EXTRA:+"$NLD_EXTRA"} --private-socket="$PRIVATE_SOCKET" >>"$T/daemon.log" 2>&1 &
        DAEMON_PID=$!
        wait_socket
}
: > "$T/daemon.log"
if start_daemon_no_bus; then pass "a daemon with no system bus starts, serving the private socket"
else fail "a daemon with no system bus starts, serving the private socket" "$(tail -n 20 "$T/daemon.log")"; fi
check "... and says so in its log" grep -q "No system bus .*serving only the private socket $PRIVATE_SOCKET" "$T/daemon.log"
check "... and that it is ready on it only" grep -q "Ready: org.netnslink1 on $PRIVATE_SOCKET only" "$T/daemon.log"
check_eq "... with the links it had pinned" "p1 s1" \
        "$("$CTL" --json=short list "$A" | $PY -c 'import json,sys; print(" ".join(sorted(l["name"] for l in json.load(sys.stdin))))')"

# Signals reach a subscribed direct peer.
"$CTL" --json=short monitor > "$T/monitor.out" 2>"$T/monitor.err" &
MON=$!
sleep 0.5
check "attach while a direct peer monitors" "$CTL" attach "$A" sk_lookup p3 "$OBJ:sk_pass"
for _ in $(seq 40); do grep -q '"p3"' "$T/monitor.out" && break; sleep 0.05; done
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null
check "... which hears LinkAttached for it" grep -q 'LinkAttached.*"p3"\|"p3".*LinkAttached' "$T/monitor.out"
check "detach p3" "$CTL" detach "$A" sk_lookup p3

# --- Who may connect -----------------------------------------------------------
check_fails "a non-root peer cannot connect (mode 0600)" "Permission denied" \
        env NETNSLINK_ADDRESS="unix:path=$PRIVATE_SOCKET" "${NOBODY[@]}" "$CTL" list
chmod 666 "$PRIVATE_SOCKET"
check_fails "with the mode loosened, the daemon still refuses a non-root peer" "Failed" \
        env NETNSLINK_ADDRESS="unix:path=$PRIVATE_SOCKET" "${NOBODY[@]}" "$CTL" list
check "... and says whom it refused" grep -q "Refusing a connection on $PRIVATE_SOCKET from uid 65534" "$T/daemon.log"
chmod 600 "$PRIVATE_SOCKET"

# --- NETNSLINK_ADDRESS ---------------------------------------------------------
check_fails "NETNSLINK_ADDRESS overrides, with no fallback, and is named" "$T/nowhere" \
        env NETNSLINK_ADDRESS="unix:path=$T/nowhere" "$CTL" list
check "NETNSLINK_ADDRESS naming the private socket works" \
        env NETNSLINK_ADDRESS="unix:path=$PRIVATE_SOCKET" NETNSLINK_PRIVATE_SOCKET="$T/nowhere" "$CTL" list

# --- Peers come and go ---------------------------------------------------------
FDS0=$(daemon_fds)
for _ in $(seq 50); do "$CTL" list >/dev/null || break; done
sleep 0.3
check_eq "50 connections that ended leave no fd in the daemon" "$FDS0" "$(daemon_fds)"

# --- Clients that send their first calls with BEGIN ----------------------------
# libdbus and GDBus may write BEGIN and the first call at once; sd-bus used
# to leave such a call unread until the client wrote again (a hang).
for calls in 1 3; do
        check "$calls call(s) sent in one write with BEGIN are answered" \
                /usr/bin/python3 "$NL_SOURCE/tests/daemon/pipelined-call.py" "$PRIVATE_SOCKET" "$calls"
done

# --- A second daemon, and a stale socket file -----------------------------------
mkdir -p "$T/bpffs2" && mount -t bpf bpf "$T/bpffs2"
check_fails "a second daemon (another pin root) on the same socket is refused" \
        "another netnslinkd serves the private socket" \
        env DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/no-bus" "$NLD" --pin-root="$T/bpffs2/nl" \
        --config-root="$T/config-none" --private-socket="$PRIVATE_SOCKET"
umount "$T/bpffs2"
check "... and the first serves on" "$CTL" show "$A" sk_lookup p1
kill_daemon
check "SIGKILL leaves the socket file" test -S "$PRIVATE_SOCKET"
if start_daemon_no_bus; then pass "a new daemon replaces the stale socket file"
else fail "a new daemon replaces the stale socket file" "$(tail -n 20 "$T/daemon.log")"; fi
check "... and serves the links" "$CTL" show "$A" sk_lookup s1
check_fails "--private-socket must be absolute" "expected an absolute path" "$NLD" --private-socket=rel/sock
stop_daemon
check "SIGTERM removes the socket file" test ! -e "$PRIVATE_SOCKET"
finish
