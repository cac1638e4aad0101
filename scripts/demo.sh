#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# netnslink in five minutes: starts the daemon, makes two network
# namespaces, attaches builtin:steer and builtin:flow, steers connections for
# a whole prefix and every port to one socket, kills the daemon and shows
# that nothing was lost, then removes everything it made.
#
#   scripts/demo.sh [BUILD_DIR]      (default: $NETNSLINK_BUILD, else build/)
#
# Run as root, on a built tree (scripts/quickstart.sh builds and runs it).
# Where systemd is PID 1, the demo runs the daemon as netnslinkd.service of
# the netnslink package: the one installed, else the package of this build
# (cmake --build BUILD --target package, then apt-get install). Elsewhere (a
# container, a CI job) it runs the daemon in the foreground on a private
# D-Bus system bus with the project's own bus policy, and a private bpffs.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-${NETNSLINK_BUILD:-$SRC/build}}" 2>/dev/null && pwd) || {
        echo "demo: no build folder ${1:-${NETNSLINK_BUILD:-$SRC/build}}; run scripts/build.sh first" >&2
        exit 1
}
NS_A=nldemo-blue
NS_B=nldemo-red
LINK=web
LABEL=hello
PREFIX=127.0.0.0/24
SERVER_ADDR=127.0.0.1
SERVER_PORT=7777

if [ -t 1 ]; then B=$'\e[1m' D=$'\e[2m' G=$'\e[32m' N=$'\e[0m'; else B= D= G= N=; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*" | fold -s -w 78 | sed 's/^/   /'; }
# run CMD...: prints the command, then runs it.
run() { printf '%s$ %s%s\n' "$G" "$*" "$N"; "$@"; }

[ "$(id -u)" -eq 0 ] || { echo "demo: run me as root (BPF, namespaces, bpffs)" >&2; exit 1; }
for tool in ip python3 dbus-daemon busctl; do
        command -v "$tool" >/dev/null || { echo "demo: $tool is missing; run scripts/install-deps.sh" >&2; exit 1; }
done
for ns in "$NS_A" "$NS_B"; do
        if ip netns list | grep -qw "^$ns"; then
                echo "demo: netns $ns exists already (an earlier demo?); remove it with: ip netns del $ns" >&2
                exit 1
        fi
done

if [ -d /run/systemd/system ] && [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        MODE=systemd
else
        MODE=foreground
fi
PACKAGED=""
if [ "$MODE" = systemd ] && dpkg-query -W -f='${Status}' netnslink 2>/dev/null | grep -q "install ok installed"; then
        PACKAGED=$(dpkg-query -W -f='${Version}' netnslink)
fi
# The built programs: run in the foreground, or packaged.
if [ -z "$PACKAGED" ]; then
        for f in "$BUILD/src/daemon/netnslinkd" "$BUILD/src/ctl/netnslinkctl"; do
                [ -x "$f" ] || { echo "demo: $f is not built; run scripts/build.sh" >&2; exit 1; }
        done
fi
WORK=$(mktemp -d /run/netnslink-demo.XXXXXX)
chmod 755 "$WORK"
BUS_PID=""
DAEMON_PID=""
SERVER_PID=""
STARTED_SERVICE=""
NETNS_MADE=()
PRIVATE_BPFFS=""

cleanup() {
        local rc=$?
        trap - EXIT INT TERM
        set +e      # clean up as much as possible, whatever fails
        step "Cleaning up"
        if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
        # Links first, through the daemon, so that no pin is left behind.
        if [ ${#NETNS_MADE[@]} -gt 0 ] && "$CTL" list >/dev/null 2>&1; then
                "$CTL" detach "$NS_A" sk_lookup "$LINK" 2>/dev/null && say "detached $NS_A sk_lookup $LINK"
                "$CTL" detach "$NS_A" flow_dissector flow 2>/dev/null && say "detached $NS_A flow_dissector flow"
                "$CTL" detach "$NS_B" flow_dissector flow 2>/dev/null && say "detached $NS_B flow_dissector flow"
        fi
        for ns in "${NETNS_MADE[@]}"; do ip netns del "$ns" 2>/dev/null && say "deleted netns $ns"; done
        if [ "$MODE" = systemd ]; then
                if [ -n "$STARTED_SERVICE" ]; then
                        systemctl stop netnslinkd.service && say "stopped netnslinkd.service"
                fi
        else
                if [ -n "$DAEMON_PID" ]; then
                        kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null
                        say "stopped netnslinkd"
                fi
                if [ -n "$BUS_PID" ]; then kill "$BUS_PID" 2>/dev/null; wait "$BUS_PID" 2>/dev/null; say "stopped the private bus"; fi
                if [ -n "$PRIVATE_BPFFS" ] && mountpoint -q "$PRIVATE_BPFFS"; then
                        umount "$PRIVATE_BPFFS" && say "unmounted the private bpffs"
                fi
        fi
        if [ $rc -eq 0 ]; then
                printf '\n%sDone.%s Read more: man netnslinkctl, man netnslinkd, man org.netnslink1\n' "$B" "$N"
        else
                printf '\n%sThe demo failed (exit status %d); everything it made is removed.%s\n' "$B" "$rc" "$N" >&2
                if [ -s "$WORK/netnslinkd.log" ]; then
                        echo "The daemon's last words:" >&2
                        tail -n 20 "$WORK/netnslinkd.log" >&2
                fi
        fi
        rm -rf "$WORK"
        exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_name() {
        for _ in $(seq 100); do
                busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
                        NameHasOwner s org.netnslink1 2>/dev/null | grep -q true && return 0
                sleep 0.1
        done
        return 1
}

start_daemon_foreground() {
        "$NLD" --pin-root="$PIN_ROOT" --private-socket="$NETNSLINK_PRIVATE_SOCKET" >>"$WORK/netnslinkd.log" 2>&1 &
        DAEMON_PID=$!
        wait_for_name || { cat "$WORK/netnslinkd.log" >&2; return 1; }
}

# ---------------------------------------------------------------------------
printf '%snetnslink demo%s: BPF programs attached to network namespaces,\n' "$B" "$N"
printf 'owned by one daemon, pinned so that they outlive it.\n'

step "1. Starting the daemon ($MODE)"
if [ "$MODE" = systemd ]; then
        if [ -n "$PACKAGED" ]; then
                say "systemd is PID 1 and the netnslink package ($PACKAGED) is installed: the demo uses its netnslinkd.service."
        else
                say "systemd is PID 1, so netnslink is installed as the README says: the Debian package of this build, with apt. It brings the daemon, netnslinkd.service, the bus policy, the man pages and the bash completion; its postinst enables and starts the service and has dbus-daemon read the policy."
                run cmake --build "$BUILD" --target package >"$WORK/package.log" || { cat "$WORK/package.log"; exit 1; }
                deb=$(ls -t "$BUILD"/netnslink_*.deb | head -n 1)
                run apt-get install -y -q "$deb" >"$WORK/install.log" || { cat "$WORK/install.log"; exit 1; }
        fi
        NLD=netnslinkd
        CTL=netnslinkctl
        export PATH="/usr/sbin:/usr/bin:$PATH"
        systemctl is-active -q netnslinkd.service || STARTED_SERVICE=1
        run systemctl start netnslinkd.service
        run systemctl --no-pager --lines=3 status netnslinkd.service || true
        PIN_ROOT=$(busctl get-property org.netnslink1 /org/netnslink1 org.netnslink1.Manager PinRoot | cut -d'"' -f2)
else
        say "systemd is not PID 1 here, so the daemon runs in the foreground, on a private D-Bus system bus that uses the project's own bus policy (systemd/org.netnslink1.conf), with its links pinned in a private bpffs."
        # The built programs by their plain names, as after an install.
        export PATH="$BUILD/src/ctl:$BUILD/src/daemon:$PATH"
        NLD=netnslinkd
        CTL=netnslinkctl
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$WORK/bus"
        sed -e "s|@SOCKET@|$WORK/bus|" -e "s|@POLICY@|$SRC/systemd/org.netnslink1.conf|" -e "s|@EXTRA@||" \
                "$SRC/tests/harness/bus.conf.in" >"$WORK/bus.conf"
        printf '%s$ %s%s\n' "$G" "dbus-daemon --config-file=$WORK/bus.conf --nofork &" "$N"
        dbus-daemon --config-file="$WORK/bus.conf" --nofork --nopidfile 2>"$WORK/bus.log" &
        BUS_PID=$!
        for _ in $(seq 100); do [ -S "$WORK/bus" ] && break; sleep 0.05; done
        say "DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS (netnslinkd and netnslinkctl use it, as every sd-bus program does)"
        PRIVATE_BPFFS="$WORK/bpffs"
        mkdir -p "$PRIVATE_BPFFS"
        run mount -t bpf bpf "$PRIVATE_BPFFS"
        PIN_ROOT="$PRIVATE_BPFFS/netnslinkd"
        # Root's netnslinkctl talks to the daemon directly on its private
        # socket; this one is the demo's own, not /run/netnslinkd/private.
        export NETNSLINK_PRIVATE_SOCKET="$WORK/private"
        say "Root's netnslinkctl reaches the daemon directly on its private socket (a direct D-Bus connection, no bus daemon in between); here it is $NETNSLINK_PRIVATE_SOCKET instead of /run/netnslinkd/private. Other users go through the bus."
        printf '%s$ %s%s\n' "$G" "$NLD --pin-root=$PIN_ROOT --private-socket=$NETNSLINK_PRIVATE_SOCKET &   (log: $WORK/netnslinkd.log)" "$N"
        start_daemon_foreground
fi
say "netnslinkd owns org.netnslink1 on the bus; every change goes through it. Its links are pinned under $PIN_ROOT."
run "$CTL" --version

step "2. Two network namespaces"
say "$NS_A will steer connections; $NS_B gets a flow dissector too, to show links in more than one namespace."
for ns in "$NS_A" "$NS_B"; do
        run ip netns add "$ns"
        NETNS_MADE+=("$ns")
        ip -n "$ns" link set lo up
done

step "3. Attaching builtin:steer and builtin:flow"
say "An sk_lookup program runs when a connection or datagram arrives, before the kernel looks for a listening socket; builtin:steer picks the socket from its bindings. A flow_dissector program parses packet headers for the kernel (RPS, hashing); builtin:flow is one without maps."
run "$CTL" attach "$NS_A" sk_lookup "$LINK" builtin:steer
run "$CTL" attach "$NS_A" flow_dissector flow builtin:flow
run "$CTL" attach "$NS_B" flow_dissector flow builtin:flow >/dev/null
run "$CTL" list
if command -v bpftool >/dev/null; then
        say "The kernel's own view of $NS_B's hooks:"
        run ip netns exec "$NS_B" bpftool net show
fi

step "4. A binding: every TCP port of $PREFIX goes to label '$LABEL'"
say "A binding maps (protocol, prefix, port) to a label; port 0 means every port. The most specific prefix wins."
run "$CTL" bind "$NS_A" "$LINK" tcp "$PREFIX" 0 "$LABEL"
run "$CTL" bindings "$NS_A" "$LINK"

step "5. One listening socket, registered under '$LABEL'"
say "A small Python server in $NS_A listens on $SERVER_ADDR:$SERVER_PORT only. It hands its listening socket to netnslinkctl as a file descriptor (--fd=N); the daemon keeps a reference to it in a sockmap."
cat >"$WORK/server.py" <<'EOF'
import os, socket, subprocess, sys
ctl, ns, link, label, addr, port = sys.argv[1:7]
s = socket.create_server((addr, int(port)))
fd = s.fileno()
print(f"$ netnslinkctl register {ns} {link} {label} --fd={fd}   (run by the server, pid {os.getpid()})", flush=True)
subprocess.run([ctl, "register", ns, link, label, f"--fd={fd}"], pass_fds=[fd], check=True)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    dialled = c.getsockname()
    c.sendall(f"hello from pid {os.getpid()}, listening on {addr}:{port}; you dialled {dialled[0]}:{dialled[1]}\n".encode())
    c.close()
EOF
ip netns exec "$NS_A" python3 -u "$WORK/server.py" "$(command -v "$CTL")" "$NS_A" "$LINK" "$LABEL" "$SERVER_ADDR" "$SERVER_PORT" \
        >"$WORK/server.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do grep -q '^ready' "$WORK/server.out" && break; kill -0 "$SERVER_PID" || break; sleep 0.1; done
grep -v '^ready' "$WORK/server.out" | sed "s/^\\$ /$G\$ /; s/\$/$N/"
grep -q '^ready' "$WORK/server.out" || { echo "demo: the server did not start" >&2; exit 1; }
run "$CTL" destinations "$NS_A" "$LINK"

# connect ADDR PORT: one TCP connection from inside $NS_A; prints the reply.
connect() {
        ip netns exec "$NS_A" python3 -c '
import socket, sys
try:
    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3)
    print("   ", c.makefile().readline().rstrip())
except OSError as e:
    print("    no answer:", e.strerror or e)' "$1" "$2"
}

step "6. Real connections, steered"
say "Nothing listens on these addresses and ports; sk_lookup hands each connection to the one registered socket, which tells which address it was dialled at:"
for target in 127.0.0.1:80 127.0.0.7:443 127.0.0.200:5432 127.0.0.1:$SERVER_PORT; do
        printf '%s$ connect %s%s\n' "$G" "$target" "$N"
        connect "${target%:*}" "${target#*:}"
done
say "Outside $PREFIX, nothing is bound: the kernel's usual lookup runs, and finds no socket:"
printf '%s$ connect 127.0.1.1:80%s\n' "$G" "$N"
connect 127.0.1.1 80
run "$CTL" destinations "$NS_A" "$LINK"

step "7. Killing the daemon (SIGKILL), and what keeps working"
if [ "$MODE" = systemd ]; then
        say "netnslinkd.service has Restart=on-failure: systemd starts it again a second later."
        run systemctl kill --signal=SIGKILL netnslinkd.service
else
        run kill -9 "$DAEMON_PID"
        wait "$DAEMON_PID" 2>/dev/null || true
        DAEMON_PID=""
fi
say "While no daemon runs, the kernel keeps running the pinned links, so connections are still steered:"
printf '%s$ connect 127.0.0.42:8080%s\n' "$G" "$N"
connect 127.0.0.42 8080

step "8. The daemon comes back and finds everything again"
if [ "$MODE" = systemd ]; then
        sleep 1
        for _ in $(seq 50); do systemctl is-active -q netnslinkd.service && break; sleep 0.2; done
        run systemctl --no-pager --lines=0 status netnslinkd.service || true
        wait_for_name
else
        printf '%s$ %s%s\n' "$G" "$NLD --pin-root=$PIN_ROOT &" "$N"
        start_daemon_foreground
fi
say "The pins are the source of truth: the same links (same link and program ids), bindings and registered socket:"
run "$CTL" list
run "$CTL" bindings "$NS_A" "$LINK"
run "$CTL" destinations "$NS_A" "$LINK"
printf '%s$ connect 127.0.0.99:22%s\n' "$G" "$N"
connect 127.0.0.99 22
