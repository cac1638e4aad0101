#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The CNI plugin's own D-Bus messages (src/cni/cni-dbus.c, no sd-bus)
# against the real daemon's private socket, through tests/cni/cni-dbus-probe:
# every reply of every method the daemon has that takes strings is walked
# whole by its signature (dictionaries, variants, arrays, nested); ListLinks
# of 400 links (a reply far larger than one socket read) reads as
# netnslinkctl lists them; the daemon's errors come back with their names
# and messages; and a plugin built on it links no libsystemd.
source "$NL_SOURCE/tests/harness/harness.sh"
source "$NL_SOURCE/tests/harness/traffic.sh"

PROBE="$NL_BUILD/tests/cni/cni-dbus-probe"
OBJ="$TEST_BPF/libtest_progs.bpf.o"

check "the plugin links no libsystemd (its start costs a third of a millisecond more)" \
        bash -c '! ldd "$1" | grep -q libsystemd' _ "$NL_BUILD/src/cni/netnslink"

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
TRAFFIC_NS=$A
check "netns $A with local prefixes" local_prefixes
"$CTL" attach "$A" sk_lookup s1 builtin:steer >/dev/null
"$CTL" bind "$A" s1 tcp 10.50.1.0/24 0 web >/dev/null
check "a server registered on s1" serve main web4,web,tcp,127.0.0.1,9000 --register "$CTL" "$A" s1

# probe_ok DESC IFACE METHOD ARGS...: the reply parses, whole.
probe_ok() {
        local desc=$1; shift
        check_eq "$desc" ok "$("$PROBE" "$PRIVATE_SOCKET" call "$@" 2>&1)"
}
M=org.netnslink1.Manager
S=org.netnslink1.Steering
probe_ok "Peer.Ping (no body)" org.freedesktop.DBus.Peer Ping
probe_ok "Introspect (a string)" org.freedesktop.DBus.Introspectable Introspect
probe_ok "ListLinks" $M ListLinks ""
probe_ok "GetLink" $M GetLink "$A" sk_lookup s1
probe_ok "ListBindings" $S ListBindings "$A" s1
probe_ok "ListDestinations (with a socket)" $S ListDestinations "$A" s1
probe_ok "QueryNetns" $M QueryNetns "$A"
probe_ok "Explain (nested dictionaries and arrays)" $M Explain "$A" tcp 10.1.1.1:1234 10.50.1.7:80
probe_ok "Metrics" $M Metrics
probe_ok "Properties.GetAll (variants of several types)" org.freedesktop.DBus.Properties GetAll $M

check_eq "an error reply: its name and message" \
        "error org.netnslink1.Error.NoSuchLink: No sk_lookup link named 'nope' in netns $A" \
        "$("$PROBE" "$PRIVATE_SOCKET" call $M GetLink "$A" sk_lookup nope)"
check "... exit status 2" bash -c '"$@"; [ $? -eq 2 ]' _ "$PROBE" "$PRIVATE_SOCKET" call $M GetLink "$A" sk_lookup nope
check "an unknown method: the bus's error" \
        bash -c '"$@" | grep -q "^error org.freedesktop.DBus.Error.UnknownMethod: "' _ \
        "$PROBE" "$PRIVATE_SOCKET" call $M NoSuchMethod
check "arguments of the wrong signature: InvalidArgs" \
        bash -c '"$@" | grep -q "^error org.freedesktop.DBus.Error.InvalidArgs: "' _ \
        "$PROBE" "$PRIVATE_SOCKET" call $M GetLink "$A"

# 400 links: 200 netns, a flow_dissector and an sk_lookup link each, in one
# AttachMany; their dictionaries make a reply of about 200 KiB.
NAMES=()
ELEMS=""
for i in $(seq 200); do
        n=$(make_netns "m$i") || exit 1
        NAMES+=("$n")
        ELEMS+="('$n', 'flow_dissector', 'f', {'builtin': <'flow'>}), ('$n', 'sk_lookup', 'p', {'object_path': <'$OBJ'>, 'program': <'sk_pass'>}), "
done
check "AttachMany of 400 links" mgr AttachMany "[${ELEMS%, }]" >/dev/null
"$CTL" --json=short list | /usr/bin/python3 -c '
import json, sys
for l in json.load(sys.stdin):
    print(l["netns_ino"], l["attach_type"], l["name"], l.get("source") or "-", "defunct" if l["defunct"] else "live")' \
        | sort > "$T/ctl.txt"
"$PROBE" "$PRIVATE_SOCKET" links | sort > "$T/probe.txt"
check_eq "ListLinks read by the plugin's reader has every link" 401 "$(wc -l < "$T/probe.txt")"
check "... each as netnslinkctl lists it (inode, type, name, source, defunct)" diff "$T/ctl.txt" "$T/probe.txt"
probe_ok "... and the whole reply walks by its signature" $M ListLinks ""

stop_servers
kill_daemon
check_fails "a socket file nobody listens on (SIGKILL): connection refused" "Connection refused" \
        "$PROBE" "$PRIVATE_SOCKET" call org.freedesktop.DBus.Peer Ping
finish
