#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Steering control plane through the real daemon and bus: starts a
# private dbus-daemon, bpffs and netnslinkd (tests/harness/harness.sh, in
# private namespaces, nothing left behind), attaches builtin:steer in a
# throwaway netns and runs bench-steer-dbus against it, through the bus and
# then through the daemon's private socket (PRIVATE=0: the bus only).
#
#   NL_BUILD=build NL_SOURCE=. bench/steer/bench-steer-dbus.sh [N_ADD [N_SET]]
export NL_BUILD=${NL_BUILD:-$(pwd)/build} NL_SOURCE=${NL_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
source "$NL_SOURCE/tests/harness/harness.sh"

start_bus && mount_pins || exit 1
# info, not debug: one log line per change is what a production daemon pays.
env "$NLD" --pin-root="$PIN_ROOT" --log-level=info --private-socket="$PRIVATE_SOCKET" >>"$T/daemon.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 200); do
        busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.netnslink1 \
                2>/dev/null | grep -q true && break
        sleep 0.05
done
A=$(make_netns bench)
"$CTL" attach "$A" sk_lookup bench builtin:steer >/dev/null || exit 1
"$NL_BUILD/bench/steer/bench-steer-dbus" "$A" bench "$@"
rc=$?
if [ "${PRIVATE:-1}" != 0 ]; then
        "$CTL" detach "$A" sk_lookup bench >/dev/null && "$CTL" attach "$A" sk_lookup bench builtin:steer >/dev/null || exit 1
        echo
        "$NL_BUILD/bench/steer/bench-steer-dbus" --private="$PRIVATE_SOCKET" "$A" bench "$@" || rc=1
fi
stop_daemon
exit $rc
