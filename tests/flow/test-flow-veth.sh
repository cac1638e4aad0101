#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# builtin:flow on real traffic: two throwaway netns joined by a veth pair,
# the program attached to one of them with the core library (flow-attach),
# that netns set up to dissect every packet it receives, then ICMP echo, a TCP stream and UDP over IPv4,
# IPv6 and a VXLAN tunnel across the pair. bpftool must show the link in
# that netns, never in the netns the test runs in, and none after it.
#
#   test-flow-veth.sh FLOW-ATTACH FLOW-TRAFFIC.PY
set -u

PY=/usr/bin/python3
source "$(dirname "$0")/veth-setup.sh"
PORT=7777

# The program ids bpftool net lists under flow_dissector.
flow_ids() {
        sed -n '/^flow_dissector:/,/^$/s/^id \([0-9]*\).*/\1/p'
}

if [ "${1-}" = "--inside" ]; then
        # Run by flow-attach while the link holds.
        A=$2 TRAFFIC=$3
        fail=0
        ok() { echo "ok   $*"; }
        bad() { echo "FAIL $*"; fail=1; }

        ip netns exec "$A" bpftool net show | flow_ids | grep -qx "$FLOW_PROG_ID" &&
                ok "bpftool net in $A shows program $FLOW_PROG_ID" ||
                bad "bpftool net in $A does not show program $FLOW_PROG_ID"
        bpftool net show | flow_ids | grep -qx "$FLOW_PROG_ID" &&
                bad "the test's own netns shows program $FLOW_PROG_ID" ||
                ok "the test's own netns does not have it"
        ino=$(stat -L -c %i "/run/netns/$A")
        bpftool link show id "$FLOW_LINK_ID" | grep -q "netns_ino $ino *attach_type flow_dissector" &&
                ok "bpftool link $FLOW_LINK_ID is a flow_dissector link on $A (inode $ino)" ||
                bad "bpftool link $FLOW_LINK_ID is not a flow_dissector link on $A (inode $ino)"
        ip netns exec "$A" "$PY" "$TRAFFIC" check "$PORT" 10.99.0.2 fd00:99::2 10.98.0.2 fd00:98::2 ||
                fail=1
        exit $fail
fi

ATTACH=${1:?usage: $0 FLOW-ATTACH FLOW-TRAFFIC.PY}
TRAFFIC=${2:?usage: $0 FLOW-ATTACH FLOW-TRAFFIC.PY}
[ -x "$PY" ] || { echo "SKIP: no $PY"; exit 77; }
# The shared harness: private mount and pid namespaces, a private
# /run/netns, and every netns, process and folder gone on exit.
source "$NL_SOURCE/tests/harness/harness.sh"

SERVER=
stop_server() {
        [ -n "$SERVER" ] || return 0
        kill "$SERVER" 2>/dev/null
        wait "$SERVER" 2>/dev/null
}

setup() { A=$(make_netns a) && B=$(make_netns b) && flow_veth_setup "$A" "$B"; }

start_server() {
        ip netns exec "$B" "$PY" "$TRAFFIC" serve "$PORT" "$T/ready" >"$T/server.log" 2>&1 &
        SERVER=$!
        for _ in $(seq 50); do
                [ -s "$T/ready" ] && return 0
                sleep 0.1
        done
        return 1
}

attached_run() {
        "$ATTACH" "/run/netns/$A" "$0" --inside "$A" "$TRAFFIC" >"$T/attach.out" 2>&1
}

program_ran() {
        local n
        n=$(sed -n 's/^flow-attach: the program ran \([0-9]*\) times$/\1/p' "$T/attach.out")
        [ -n "$n" ] && [ "$n" -gt 0 ]
}

detached() {
        local out
        # bpftool's own failure must not read as "nothing attached".
        out=$(ip netns exec "$A" bpftool net show) || return 1
        [ -z "$(flow_ids <<< "$out")" ]
}

# Not through check's $(...): A and B must be set in this shell.
if setup; then pass "netns $A and $B joined by veth and VXLAN"; else fail "setting up the netns"; finish; exit 1; fi
if start_server; then pass "echo server in $B"; else fail "echo server in $B"; fi
if attached_run; then pass "traffic with builtin:flow attached to $A"; else
        fail "traffic with builtin:flow attached to $A" "$(cat "$T/attach.out")"; fi
check "builtin:flow saw packets: $(grep -o 'ran [0-9]* times' "$T/attach.out")" program_ran
check "no flow_dissector left in $A after detach" detached
stop_server
finish
