/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ns per packet of builtin:flow (BPF_PROG_TEST_RUN with repeat), side by
 * side with a dissector that returns BPF_OK at once, and their ratio.
 * Absolute times drift between runs and machines; the ratio is the figure.
 *
 *   bench-flow [repeat]      default 2,000,000; best of 3 rounds
 */
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "flow-run.h"
#include "flow.skel.h"
#include "flow_floor.skel.h"
#include "pkt.h"

#define ROUNDS 3

static const Ip6 A6 = { { BE32(0x20010DB8u), 0, 0, BE32(1) } }; /* 2001:db8::1 */
static const Ip6 B6 = { { BE32(0x20010DB8u), 0, 0, BE32(2) } }; /* 2001:db8::2 */

static void b_ipv4_tcp(Pkt *p) {
        pkt_eth(p, 0x0800);
        pkt_ipv4(p, IPPROTO_TCP, 0xC0000201, 0xC6336402);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static void b_ipv6_tcp(Pkt *p) {
        pkt_eth(p, 0x86DD);
        pkt_ipv6(p, IPPROTO_TCP, &A6, &B6, 0x12345);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static void b_vlan(Pkt *p) {
        pkt_eth(p, 0x8100);
        pkt_vlan(p, 100, 0x0800);
        pkt_ipv4(p, IPPROTO_TCP, 0xC0000201, 0xC6336402);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static void b_ipv6_ext2(Pkt *p) {
        pkt_eth(p, 0x86DD);
        pkt_ipv6(p, IPPROTO_HOPOPTS, &A6, &B6, 0x12345);
        pkt_ip6_ext(p, IPPROTO_DSTOPTS, 0);
        pkt_ip6_ext(p, IPPROTO_TCP, 0);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static void b_gre(Pkt *p) {
        pkt_eth(p, 0x0800);
        pkt_ipv4(p, IPPROTO_GRE, 0xC0000201, 0xC6336402);
        pkt_gre(p, 0x2000, 0x0800);
        pkt_ipv4(p, IPPROTO_TCP, 0x0A010001, 0x0A020002);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static void b_vxlan(Pkt *p) {
        pkt_eth(p, 0x0800);
        pkt_ipv4(p, IPPROTO_UDP, 0xC0000201, 0xC6336402);
        pkt_udp(p, 51000, 4789);
        pkt_vxlan(p, 0x08, 42);
        pkt_eth(p, 0x0800);
        pkt_ipv4(p, IPPROTO_TCP, 0x0A010001, 0x0A020002);
        pkt_tcp(p, 40000, 443, 5);
        pkt_payload(p, 64);
}

static const struct {
        const char *name;
        void (*build)(Pkt *p);
} cases[] = {
        { "IPv4/TCP", b_ipv4_tcp },
        { "IPv6/TCP", b_ipv6_tcp },
        { "VLAN IPv4/TCP", b_vlan },
        { "IPv6 2 ext hdrs/TCP", b_ipv6_ext2 },
        { "GRE IPv4/TCP", b_gre },
        { "VXLAN IPv4/TCP", b_vxlan },
};

/* Best of ROUNDS, in ns per packet; -1 on failure. */
static double measure(int fd, const Pkt *p, uint32_t repeat, uint32_t *ret) {
        double best = -1;

        for (int i = 0; i < ROUNDS; i++) {
                struct bpf_flow_keys keys;
                uint32_t ns;

                if (flow_run(fd, p->b, p->len, 0, repeat, ret, &keys, &ns) < 0)
                        return -1;
                if (best < 0 || ns < best)
                        best = ns;
        }
        return best;
}

int main(int argc, char **argv) {
        uint32_t repeat = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000000;
        struct flow_floor *floor_skel;
        struct flow *flow_skel;
        int r = 0;

        if (repeat == 0) {
                fprintf(stderr, "usage: %s [repeat]\n", argv[0]);
                return 2;
        }
        flow_skel = flow__open_and_load();
        floor_skel = flow_floor__open_and_load();
        if (!flow_skel || !floor_skel) {
                fprintf(stderr, "cannot load the programs (root needed): %m\n");
                return 1;
        }

        printf("repeat %u, best of %d rounds, ns per packet\n", repeat, ROUNDS);
        printf("%-22s %8s %8s %7s\n", "case", "floor", "flow", "ratio");
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                uint32_t ret_floor, ret_flow;
                double floor_ns, flow_ns;
                Pkt p;

                pkt_init(&p);
                cases[i].build(&p);
                pkt_finish(&p);
                floor_ns = measure(bpf_program__fd(floor_skel->progs.flow_floor), &p, repeat, &ret_floor);
                flow_ns = measure(bpf_program__fd(flow_skel->progs.flow_dissect), &p, repeat, &ret_flow);
                if (floor_ns < 0 || flow_ns < 0) {
                        fprintf(stderr, "%s: test run failed: %m\n", cases[i].name);
                        r = 1;
                        continue;
                }
                /* A benchmark of a packet the dissector refuses measures
                 * nothing useful. */
                if (ret_flow != BPF_OK) {
                        fprintf(stderr, "%s: builtin:flow returned %u\n", cases[i].name, ret_flow);
                        r = 1;
                }
                printf("%-22s %8.1f %8.1f %6.2fx\n", cases[i].name, floor_ns, flow_ns,
                       floor_ns > 0 ? flow_ns / floor_ns : 0.0);
        }

        flow__destroy(flow_skel);
        flow_floor__destroy(floor_skel);
        return r;
}
