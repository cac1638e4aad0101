# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the flow traffic tests. flow_veth_setup A B joins netns A and B
# with a veth pair (10.99.0.0/24, fd00:99::/64) and a VXLAN tunnel over it
# (10.98.0.0/24, fd00:98::/64), and makes A dissect every packet it
# receives: RPS hashes packets that carry no hash yet, a policy rule that
# matches on the protocol makes every input route lookup dissect the packet
# (fib rules' early flow dissection), and without early demux TCP segments
# of established connections take that lookup too.
flow_veth_setup() {
        local A=$1 B=$2
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
        ip netns exec "$A" sh -c 'echo 3 > /sys/class/net/va/queues/rx-0/rps_cpus &&
                                  echo 3 > /sys/class/net/vx0/queues/rx-0/rps_cpus' &&
        ip netns exec "$A" sysctl -qw net.ipv4.ip_early_demux=0 net.ipv4.tcp_early_demux=0 \
                                      net.ipv4.udp_early_demux=0 &&
        ip -n "$A" -4 rule add pref 100 ipproto tcp lookup main &&
        ip -n "$A" -6 rule add pref 100 ipproto tcp lookup main
}
