#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# One daemon per pin root (src/lib/pin-lock.c): a second netnslinkd on the
# same root, on the same bus or on another, refuses to start before it
# reads or changes anything there, and says which pid holds the root; the
# first one's links and steer maps are untouched while 40 steer Attach
# calls run meanwhile. The lock dies with its holder, SIGKILL included.
source "$NL_SOURCE/tests/harness/harness.sh"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)

# A second bus, for a second daemon that does not compete for the name.
BUS2_SOCKET="$T/bus2"
sed -e "s|@SOCKET@|$BUS2_SOCKET|" -e "s|@POLICY@|$BUS_POLICY|" -e "s|@EXTRA@||" \
        "$NL_SOURCE/tests/harness/bus.conf.in" > "$T/bus2.conf"
dbus-daemon --config-file="$T/bus2.conf" --nofork --nopidfile 2>"$T/bus2.log" &
BUS2_PID=$!
for _ in $(seq 100); do [ -S "$BUS2_SOCKET" ] && break; sleep 0.05; done
check "a second bus is up" test -S "$BUS2_SOCKET"

# second NAME ADDRESS [ROOT]: runs another netnslinkd on the pin root (or
# ROOT) and bus ADDRESS for at most 10 s; its exit status goes to
# $T/NAME.rc and its output to $T/NAME.log. One that does start is
# stopped after 10 s (exit status 124).
second() {
        DBUS_SYSTEM_BUS_ADDRESS="$2" timeout 10 "$NLD" --pin-root="${3:-$PIN_ROOT}" --log-level=debug \
                >"$T/$1.log" 2>&1
        echo $? >"$T/$1.rc"
}

# 40 steer links made at once, while second daemons try to start.
for i in $(seq 40); do
        ( "$CTL" attach "$A" sk_lookup "r$i" builtin:steer >"$T/attach-$i.log" 2>&1; echo $? >"$T/attach-$i.rc" ) &
done
second same-bus "$DBUS_SYSTEM_BUS_ADDRESS" &
S1=$!
second other-bus "unix:path=$BUS2_SOCKET" &
S2=$!
wait $S1 $S2
# and once more each, later in the run of the attaches
second same-bus2 "$DBUS_SYSTEM_BUS_ADDRESS" &
S1=$!
second other-bus2 "unix:path=$BUS2_SOCKET" &
S2=$!
wait $S1 $S2
for i in $(seq 40); do while [ ! -e "$T/attach-$i.rc" ]; do sleep 0.05; done; done

for s in same-bus other-bus same-bus2 other-bus2; do
        check_eq "a second daemon on the same pin root ($s) exits with status 1" 1 "$(cat "$T/$s.rc")"
        check "... saying the root is locked by the first one, pid $DAEMON_PID" \
                grep -q "Pin root $PIN_ROOT is in use: process $DAEMON_PID " "$T/$s.log"
        check_eq "... before it repaired, tidied or removed anything" "" \
                "$(grep -E 'Repaired|Removing|Found|Dropped|Ready' "$T/$s.log")"
done

failed=""
for i in $(seq 40); do [ "$(cat "$T/attach-$i.rc")" = 0 ] || failed+=" r$i: $(cat "$T/attach-$i.log")"; done
check_eq "all 40 steer Attach calls made meanwhile succeeded" "" "$failed"
INO=$(netns_ino "$A")
nomaps=""
for i in $(seq 40); do
        n=$(ls "$PIN_ROOT/$INO/steer/r$i" 2>/dev/null | wc -l)
        [ "$n" -ge 10 ] || nomaps+=" r$i($n)"
done
check_eq "each of the 40 links keeps its pinned steer maps" "" "$nomaps"
bad=""
for i in $(seq 40); do
        "$CTL" bind "$A" "r$i" tcp 10.9.0.0/16 0 www >/dev/null 2>&1 || bad+=" r$i"
done
check_eq "... and each takes a binding" "" "$bad"
check_invariants "pins, ListLinks and the kernel agree"

# Another path to the same folder is the same lock.
ln -s "$PIN_ROOT" "$T/root-link"
second via-symlink "$DBUS_SYSTEM_BUS_ADDRESS" "$T/root-link"
check_eq "a second daemon naming the root through a symlink exits with status 1" 1 "$(cat "$T/via-symlink.rc")"
check "... saying the root is locked" grep -q "is in use: process $DAEMON_PID " "$T/via-symlink.log"

# The lock dies with its holder.
LID=$(ctl_get link_id show "$A" sk_lookup r1)
kill_daemon
start_daemon
check "after the first daemon is SIGKILLed, a new one starts on the root" daemon_alive
check_eq "... and serves its links" "$LID" "$(ctl_get link_id show "$A" sk_lookup r1)"
check_eq "... with their bindings" 1 "$("$CTL" --json=short bindings "$A" r40 |
        /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"

kill "$BUS2_PID" 2>/dev/null; wait "$BUS2_PID" 2>/dev/null
finish
