#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Netns references that would name the daemon, not the caller: the daemon
# resolves references itself, so /proc/self/..., /proc/thread-self/...,
# /dev/fd/... and the daemon's own pid name its namespace, never the
# caller's. Over the bus they are refused (InvalidArgs, saying to use
# pid:N); netnslinkctl turns its own into pid:<its pid> before sending,
# so they mean what the user meant. And ino:N, a lookup of links the
# daemon holds, is refused by Attach with a message that says so.
source "$NL_SOURCE/tests/harness/harness.sh"

OBJ="$TEST_BPF/libtest_progs.bpf.o"
PROG="{'object_path': <'$OBJ'>, 'program': <'sk_pass'>}"

# The daemon runs in a netns of its own (ip netns exec execs, so its pid is
# the one start_daemon knows): a reference that did resolve to the
# daemon's netns must never reach the sandbox's, which is the host's.
D=$(make_netns daemon)
INO_D=$(netns_ino "$D")
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$D" "$NLD" >"$T/nld-in-netns"
chmod +x "$T/nld-in-netns"
NLD="$T/nld-in-netns"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
INO_A=$(netns_ino "$A")
check_eq "the daemon runs in its own netns" "$INO_D" "$(stat -L -c %i "/proc/$DAEMON_PID/ns/net")"

for ref in /proc/self/ns/net /proc/thread-self/ns/net //proc/./self/ns/net /proc/self/task/1/ns/net /dev/fd/0 \
           "/proc/$DAEMON_PID/ns/net" "pid:$DAEMON_PID"; do
        check_fails "Attach in '$ref' over the bus is InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs \
                mgr Attach "'$ref'" sk_lookup x "$PROG"
        check_fails "... saying to name the caller's netns as pid:N" "as pid:N with the caller's pid" \
                mgr Attach "'$ref'" sk_lookup x "$PROG"
        check_fails "GetLink in '$ref' is InvalidArgs too, not NoSuchLink" org.freedesktop.DBus.Error.InvalidArgs \
                mgr GetLink "'$ref'" sk_lookup x
done
check_eq "none of them attached anything" "" \
        "$("$CTL" --json=short list | /usr/bin/python3 -c 'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)))')"
check_eq "... in the daemon's netns, as the kernel says" 0 "$(bpftool link show | grep -c "netns_ino $INO_D ")"

# netnslinkctl's own /proc/self is its netns: here, netns A.
check "netnslinkctl run in netns A: attach /proc/self/ns/net" \
        ip netns exec "$A" "$CTL" attach /proc/self/ns/net sk_lookup me "$OBJ:sk_pass"
check_eq "... attaches in netns A" "$INO_A" "$(ctl_get netns_ino show "$A" sk_lookup me)"
check_eq "... named by netnslinkctl's pid as it was sent" "pid:" "$(ctl_get netns show "$A" sk_lookup me | cut -c1-4)"
check "show /proc/thread-self/ns/net from netns A finds it" \
        ip netns exec "$A" "$CTL" show /proc/thread-self/ns/net sk_lookup me
check "netnslinkctl attach /dev/fd/3 with fd 3 open on netns A" \
        bash -c '"$1" attach /dev/fd/3 sk_lookup viafd "$2" 3<"$3"' _ "$CTL" "$OBJ:sk_pass" "/run/netns/$A"
check_eq "... attaches in netns A" "$INO_A" "$(ctl_get netns_ino show "$A" sk_lookup viafd)"
check "detach through /proc/self from netns A" ip netns exec "$A" "$CTL" detach /proc/self/ns/net sk_lookup me

# ino:N: lookups only.
check_fails "Attach with ino:1 is InvalidArgs" org.freedesktop.DBus.Error.InvalidArgs \
        mgr Attach "'ino:1'" sk_lookup x "$PROG"
check_fails "... saying ino:N is for calls on existing links" "ino:N names a netns by the inode of links the daemon holds" \
        mgr Attach "'ino:1'" sk_lookup x "$PROG"
check_fails "... not that /run/netns/ino:1 does not exist" "for calls on existing links" \
        "$CTL" attach ino:1 sk_lookup x "$OBJ:sk_pass"
check_fails "Attach with ino:<netns A's inode> is refused the same way" "for calls on existing links" \
        mgr Attach "'ino:$INO_A'" sk_lookup x "$PROG"
check "GetLink with ino:<netns A's inode> finds its link" "$CTL" show "ino:$INO_A" sk_lookup viafd

finish
