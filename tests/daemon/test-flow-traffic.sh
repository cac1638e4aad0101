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

setup() {
        ip -n "$A" link add va type veth peer name vb netns "$B" &&
        ip -n "$A" addr add 10.99.0.1/24 dev va && ip -n "$A" addr add fd00:99::1/64 dev va nodad &&
        ip -n "$B" addr add 10.99.0.2/24 dev vb && ip -n "$B" addr add fd00:99::2/64 dev vb nodad &&
        ip -n "$A" link set lo up && ip -n "$B" link set lo up &&
        ip -n "$A" link set va up && ip -n "$B" link set vb up &&
        ip -n "$A" link add vx0 type vxlan id 42 dstport 4789 local 10.99.0.1 remote 10.99.0.2 dev va &&
        ip -n "$B" link add vx0 type vxlan id 42 dstport 4789 local 10.99.0.2 remote 10.99.0.1 dev vb &&
        ip -n "$A" addr add 10.98.0.1/24 dev vx0 && ip -n "$A" addr add fd00:98::1/64 dev vx0 nodad &&
        ip -n "$B" addr add 10.98.0.2/24 dev vx0 && ip -n "$B" addr add fd00:98::2/64 dev vx0 nodad &&
        ip -n "$A" link set vx0 up && ip -n "$B" link set vx0 up &&
        # Make A dissect what it receives (RPS, a protocol-matching rule,
        # no early demux): see tests/flow/test-flow-veth.sh.
        ip netns exec "$A" sh -c 'echo 3 > /sys/class/net/va/queues/rx-0/rps_cpus &&
                                  echo 3 > /sys/class/net/vx0/queues/rx-0/rps_cpus' &&
        ip netns exec "$A" sysctl -qw net.ipv4.ip_early_demux=0 net.ipv4.tcp_early_demux=0 \
                                      net.ipv4.udp_early_demux=0 &&
        ip -n "$A" -4 rule add pref 100 ipproto tcp lookup main &&
        ip -n "$A" -6 rule add pref 100 ipproto tcp lookup main
}
check "veth pair and VXLAN tunnel between $A and $B" setup

ip netns exec "$B" "$PY" "$TRAFFIC" serve "$PORT" "$T/ready" &
SERVER=$!
for _ in $(seq 50); do [ -s "$T/ready" ] && break; sleep 0.1; done
check "echo server listening in $B" test -s "$T/ready"

check "attach builtin:flow to $A through the daemon" "$CTL" attach "$A" flow_dissector dissect builtin:flow
PROG=$(ctl_get prog_id show "$A" flow_dissector dissect)
check_eq "the program is the daemon's flow dissector" flow_dissect "$(ctl_get prog_name show "$A" flow_dissector dissect)"
check "bpftool net in $A shows the flow dissector" \
        bash -c "ip netns exec '$A' bpftool net show | grep -A3 '^flow_dissector' | grep -q 'id $PROG'"
check "the test's own netns has no flow dissector of ours" \
        bash -c "! bpftool net show | grep -A3 '^flow_dissector' | grep -q 'id $PROG'"
check "ICMP, TCP and UDP over IPv4, IPv6 and VXLAN flow with builtin:flow" \
        ip netns exec "$A" "$PY" "$TRAFFIC" check "$PORT" 10.99.0.2 fd00:99::2 10.98.0.2 fd00:98::2
kill_daemon
check "traffic still flows while the daemon is down" \
        ip netns exec "$A" "$PY" "$TRAFFIC" check "$PORT" 10.99.0.2 fd00:99::2
start_daemon
check_eq "after a restart the link is found again with its program" "$PROG" "$(ctl_get prog_id show "$A" flow_dissector dissect)"
check "detach" "$CTL" detach "$A" flow_dissector dissect
check "no flow dissector left in $A" bash -c "! ip netns exec '$A' bpftool net show | grep -A3 '^flow_dissector' | grep -q 'id '"
kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null
finish
