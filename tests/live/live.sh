# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by tests/live/test-*.sh after tests/harness/harness.sh (which puts
# the test in private mount and pid namespaces, so that a killed test takes
# its container with it). Boots a fresh Debian 12 (tests/live/debian-root.sh)
# with systemd-nspawn, systemd as PID 1, and runs commands inside.
#
# The container's root lives on a tmpfs of this test's mount namespace, and
# nspawn's own state (/run/systemd/nspawn) too: whatever ends the test, they
# go with it. The container shares the host's network namespace (apt reaches
# the mirror) but makes every netns it uses; its bpffs is its own.

LIVE="$T/live"
LIVE_ROOT="$LIVE/root"
# $$ is 1 in the test's pid namespace; $T's suffix is unique.
LIVE_MACHINE="nl-live-${T##*-}"
LIVE_NSPAWN_PID=""
LIVE_PID1=""
LIVE_BOOTS=0

live_skip() {
        printf '1..0 # SKIP %s\n' "$*"
        exit 77
}

# live_setup: skips (77) where the tier cannot run, else prepares the
# private folders.
live_setup() {
        local tool
        [ "$(id -u)" -eq 0 ] || live_skip "needs root (systemd-nspawn)"
        # The package is built from the release build; a sanitizer build's
        # binaries need their runtime libraries and are tested by the other tiers.
        [ "${NL_SANITIZE:-OFF}" != ON ] || live_skip "sanitizer build: the live tier installs the release build's package"
        for tool in systemd-nspawn nsenter cpack dpkg-deb pgrep; do
                command -v "$tool" >/dev/null || live_skip "$tool is not installed (scripts/install-deps.sh)"
        done
        mkdir -p "$LIVE" /run/systemd/nspawn
        mount -t tmpfs -o mode=0755 netnslink-live "$LIVE"
        mount -t tmpfs -o mode=0755 netnslink-live-nspawn /run/systemd/nspawn
}

# live_cleanup: powers the container off (killing it if it does not go
# within 30 s) and drops its root. Called from the EXIT trap.
live_cleanup() {
        [ -n "$LIVE_NSPAWN_PID" ] && live_poweroff 30 >/dev/null 2>&1
        if [ -n "$LIVE_NSPAWN_PID" ]; then
                kill -KILL "$LIVE_PID1" "$LIVE_NSPAWN_PID" 2>/dev/null
                wait "$LIVE_NSPAWN_PID" 2>/dev/null
                LIVE_NSPAWN_PID=""
        fi
        mountpoint -q "$LIVE" && umount -R "$LIVE"
        mountpoint -q /run/systemd/nspawn && umount -R /run/systemd/nspawn
        return 0
}

# live_package: builds the package from $NL_BUILD into $LIVE/pkg (cpack, as
# the package target does, but into a folder of this test's) and sets
# LIVE_DEB. NL_LIVE_DEB=FILE tests that package instead.
live_package() {
        if [ -n "${NL_LIVE_DEB:-}" ]; then
                LIVE_DEB=$NL_LIVE_DEB
        elif cpack -G DEB --config "$NL_BUILD/CPackConfig.cmake" -B "$LIVE/pkg" >"$LIVE/cpack.log" 2>&1; then
                LIVE_DEB=$(ls "$LIVE"/pkg/netnslink_*_amd64.deb)
        else
                fail "cpack makes the Debian package" "$(tail -n 20 "$LIVE/cpack.log")"
                return 1
        fi
        pass "the package to test: $(basename "$LIVE_DEB")"
}

# live_extract: a fresh Debian 12 root in $LIVE_ROOT (skips if there is
# none to be had: no debootstrap).
live_extract() {
        local rc=0
        "$NL_SOURCE/tests/live/debian-root.sh" extract "$LIVE_ROOT" 2>"$LIVE/extract.log" || rc=$?
        [ $rc -ne 77 ] || live_skip "$(cat "$LIVE/extract.log")"
        if [ $rc -ne 0 ]; then
                fail "a fresh Debian 12 root (tests/live/debian-root.sh)" "$(tail -n 20 "$LIVE/extract.log")"
                return 1
        fi
}

# live_boot [NSPAWN_OPTION...]: boots $LIVE_ROOT and waits until systemd
# says the system is running. Sets LIVE_PID1 (the container's PID 1, as
# this namespace sees it).
live_boot() {
        local state pid
        LIVE_BOOTS=$((LIVE_BOOTS + 1))
        systemd-nspawn -D "$LIVE_ROOT" -M "$LIVE_MACHINE" -b --register=no --keep-unit --capability=all \
                --system-call-filter='bpf perf_event_open' --console=passive "$@" \
                >"$LIVE/nspawn-$LIVE_BOOTS.log" 2>&1 &
        LIVE_NSPAWN_PID=$!
        LIVE_PID1=""
        for _ in $(seq 200); do
                for pid in $(pgrep -P "$LIVE_NSPAWN_PID"); do
                        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] && LIVE_PID1=$pid
                done
                [ -n "$LIVE_PID1" ] && break
                kill -0 "$LIVE_NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        if [ -z "$LIVE_PID1" ]; then
                fail "boot $LIVE_BOOTS: systemd-nspawn starts systemd" "$(tail -n 20 "$LIVE/nspawn-$LIVE_BOOTS.log")"
                return 1
        fi
        # systemctl talks to PID 1 through this socket, made early at boot.
        for _ in $(seq 300); do
                inside test -S /run/systemd/private 2>/dev/null && break
                sleep 0.1
        done
        state=$(inside timeout 120 systemctl is-system-running --wait 2>&1)
        if [ "$state" = running ]; then
                pass "boot $LIVE_BOOTS: systemd is PID 1 and the system is running"
        else
                fail "boot $LIVE_BOOTS: systemd is PID 1 and the system is running" "state: $state" \
                        "$(inside systemctl --failed --no-legend --no-pager 2>&1)"
                return 1
        fi
}

# live_poweroff [SECONDS]: systemctl poweroff inside; waits for nspawn to end.
live_poweroff() {
        inside systemctl poweroff >/dev/null 2>&1
        for _ in $(seq "$((${1:-60} * 10))"); do
                kill -0 "$LIVE_NSPAWN_PID" 2>/dev/null || break
                sleep 0.1
        done
        if kill -0 "$LIVE_NSPAWN_PID" 2>/dev/null; then
                return 1
        fi
        wait "$LIVE_NSPAWN_PID" 2>/dev/null
        LIVE_NSPAWN_PID=""
        LIVE_PID1=""
}

# inside CMD...: runs CMD in the container (all its namespaces, its root),
# with a clean environment, as root.
inside() {
        nsenter -t "$LIVE_PID1" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
                DEBIAN_FRONTEND=noninteractive "$@"
}

# inside_sh SCRIPT [ARG...]: a bash script inside.
inside_sh() { local s=$1; shift; inside bash -c "$s" bash "$@"; }

# wait_until SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_until() {
        local n=$(($1 * 10)); shift
        while [ $n -gt 0 ]; do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.1
                n=$((n - 1))
        done
        return 1
}

# wait_inside SECONDS CMD...: until CMD succeeds inside, at most SECONDS.
wait_inside() { local s=$1; shift; wait_until "$s" inside "$@"; }

# unit_prop UNIT PROPERTY: a property of a unit inside (systemctl show).
unit_prop() { inside systemctl show -P "$2" "$1"; }

# journal_errors: every message of this boot at priority err or worse.
journal_errors() { inside journalctl -b -p err -q --no-pager -o short-monotonic; }
