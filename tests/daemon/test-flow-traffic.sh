#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# builtin:flow attached through the daemon (netnslinkctl attach ... builtin:flow)
# to one of two netns joined by a veth pair and a VXLAN tunnel: real ICMP,
# TCP and UDP traffic over IPv4, IPv6 and the tunnel still flows, and the
# kernel shows the link in that netns only.
source "$NL_SOURCE/tests/harness/harness.sh"

PY=/usr/bin/python3
TRAFFIC="$NL_SOURCE/tests/flow/flow-traffic.py"
PORT=7777

start_bus && mount_pins && start_daemon || exit 1
A=$(make_netns a)
B=$(make_netns b)

source "$NL_SOURCE/tests/flow/veth-setup.sh"
setup() { flow_veth_setup "$A" "$B"; }
check "veth pair and VXLAN tunnel between $A and $B" setup

ip netns exec "$B" "$PY" "$TRAFFIC" serve "$PORT" "$T/ready" &
SERVER=$!
for _ in $(seq 50); do [ -s "$T/ready" ] && break; sleep 0.1; done
check "echo server listening in $B" test -s "$T/ready"

check "attach builtin:flow to $A through the daemon" "$CTL" attach "$A" flow_dissector dissect builtin:flow
PROG=$(ctl_get prog_id show "$A" flow_dissector dissect)
check "the link's prog_id is a positive number ('$PROG')" test "$PROG" -gt 0
check_eq "the program is the daemon's flow dissector" flow_dissect "$(ctl_get prog_name show "$A" flow_dissector dissect)"

# dissector NETNS|"" ID-REGEX: does bpftool net show (in NETNS, or in the
# test's own netns) list a flow dissector whose id is ID-REGEX as a whole
# word? 0: yes, 1: no, 2: bpftool failed or no id was given.
dissector() {
        local out
        [ -n "$2" ] || { echo "no program id given"; return 2; }
        if [ -n "$1" ]; then out=$(ip netns exec "$1" bpftool net show 2>&1); else out=$(bpftool net show 2>&1); fi ||
                { echo "bpftool net show failed: $out"; return 2; }
        grep -A3 '^flow_dissector' <<<"$out" | grep -Ewq "id $2" && return 0
        echo "$out"
        return 1
}
# no_dissector NETNS|"" ID-REGEX: bpftool answered, and lists no such id.
no_dissector() { local rc=0; dissector "$@" >/dev/null || rc=$?; [ $rc -eq 1 ]; }
check "bpftool net in $A shows the flow dissector $PROG" dissector "$A" "$PROG"
check "the test's own netns has no flow dissector of ours" no_dissector "" "$PROG"
check "ICMP, TCP and UDP over IPv4, IPv6 and VXLAN flow with builtin:flow" \
        ip netns exec "$A" "$PY" "$TRAFFIC" check "$PORT" 10.99.0.2 fd00:99::2 10.98.0.2 fd00:98::2
kill_daemon
check "traffic still flows while the daemon is down" \
        ip netns exec "$A" "$PY" "$TRAFFIC" check "$PORT" 10.99.0.2 fd00:99::2
start_daemon
check_eq "after a restart the link is found again with its program" "$PROG" "$(ctl_get prog_id show "$A" flow_dissector dissect)"
check "detach" "$CTL" detach "$A" flow_dissector dissect
check "no flow dissector left in $A" no_dissector "$A" '[0-9]+'
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null
finish
