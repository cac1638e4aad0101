/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>

#include "vectors.h"

/* Ethertypes (IEEE registry) and the UDP port of RFC 7348. */
#define ET_IP 0x0800
#define ET_ARP 0x0806
#define ET_IPV6 0x86DD
#define ET_8021Q 0x8100
#define ET_8021AD 0x88A8
#define ET_MPLS_UC 0x8847
#define ET_MPLS_MC 0x8848
#define ET_TEB 0x6558
#define VXLAN_PORT 4789

#define OK BPF_OK
#define DROP BPF_DROP

/* Documentation addresses (RFC 5737, RFC 3849) and two private inner ones. */
#define A4 0xC0000201u /* 192.0.2.1 */
#define B4 0xC6336402u /* 198.51.100.2 */
#define C4 0x0A010001u /* 10.1.0.1 */
#define D4 0x0A020002u /* 10.2.0.2 */
#define E4 0x0A030003u /* 10.3.0.3 */
#define F4 0x0A040004u /* 10.4.0.4 */
#define A6W BE32(0x20010DB8u), 0, 0, BE32(1)               /* 2001:db8::1 */
#define B6W BE32(0x20010DB8u), 0, 0, BE32(2)               /* 2001:db8::2 */
#define C6W BE32(0x20010DB8u), BE32(0x00010000u), 0, BE32(1) /* 2001:db8:1::1 */
#define D6W BE32(0x20010DB8u), BE32(0x00020000u), 0, BE32(2) /* 2001:db8:2::2 */
static const Ip6 A6 = { { A6W } }, B6 = { { B6W } }, C6 = { { C6W } }, D6 = { { D6W } };

#define SP 40000
#define DP 443

/* Expected-key shorthands. */
#define V4(s, d) .addr_proto = ET_IP, .n_proto = BE16(ET_IP), .ipv4_src = BE32(s), .ipv4_dst = BE32(d)
#define V6(s, d) .addr_proto = ET_IPV6, .n_proto = BE16(ET_IPV6), .ipv6_src = { s }, .ipv6_dst = { d }
#define PORTS(s, d) .sport = BE16(s), .dport = BE16(d)
#define OFFS(n, t) .nhoff = (n), .thoff = (t)

/* ---- IPv4 ---- */

static void b_ipv4_tcp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 5);
        pkt_payload(p, 32);
}

static void b_ipv4_opts_tcp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 0, 7);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv4_tcp_opts(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 8);
        pkt_payload(p, 8);
}

static void b_ipv4_udp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, SP, 53);
        pkt_payload(p, 12);
}

static void b_ipv4_udplite(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDPLITE, A4, B4);
        pkt_ports(p, SP, 5004, 8);
}

static void b_ipv4_sctp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_SCTP, A4, B4);
        pkt_ports(p, SP, 38412, 12);
        pkt_payload(p, 16);
}

static void b_ipv4_dccp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_DCCP, A4, B4);
        pkt_dccp(p, SP, 5001, 0);
}

static void b_ipv4_dccp_x(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_DCCP, A4, B4);
        pkt_dccp(p, SP, 5001, 1);
}

static void b_ipv4_icmp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_ICMP, A4, B4);
        pkt_icmp(p, 8, 8);
        pkt_payload(p, 56);
}

static void b_ipv4_esp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_ESP, A4, B4);
        pkt_payload(p, 40);
}

/* Flags and offset field of RFC 791: DF 0x4000, MF 0x2000, offset in 8s. */
static void b_ipv4_first_frag(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 0x2000, 5);
        pkt_tcp(p, SP, DP, 5);
        pkt_payload(p, 64);
}

static void b_ipv4_later_frag(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 185, 5);
        pkt_payload(p, 64);
}

static void b_ipv4_df(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 0x4000, 5);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv4_ihl4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 0, 4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv4_ihl15_short(Pkt *p) {
        /* IHL 15 says 60 bytes; 40 follow the Ethernet header. */
        pkt_eth(p, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, A4, B4, 0, 5);
        p->b[14] = 0x4F;
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv4_bad_version(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        p->b[14] = 0x65;
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv4_tcp_doff4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 4);
        pkt_payload(p, 8);
}

static void b_ipv4_tcp_doff15_short(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 5);
        p->b[34 + 12] = 15 << 4;
        pkt_payload(p, 8);
}

/* ---- IPv6 ---- */

static void b_ipv6_tcp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_TCP, &A6, &B6, 0xABCDE);
        pkt_tcp(p, SP, DP, 5);
        pkt_payload(p, 32);
}

static void b_ipv6_udp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_UDP, &A6, &B6, 0);
        pkt_udp(p, SP, 53);
}

static void b_ipv6_icmpv6(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_ICMPV6, &A6, &B6, 0x12345);
        /* RFC 4443 2.1: the header is type, code, checksum; the echo's
         * identifier and sequence number are message body. */
        pkt_icmp(p, 128, 4);
        pkt_payload(p, 4);
}

static void b_ipv6_hop_dst_tcp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_HOPOPTS, &A6, &B6, 0x1);
        pkt_ip6_ext(p, IPPROTO_DSTOPTS, 0);
        pkt_ip6_ext(p, IPPROTO_TCP, 1);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_routing_udp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_ROUTING, &A6, &B6, 0x2);
        pkt_ip6_ext(p, IPPROTO_UDP, 2);
        pkt_udp(p, SP, 53);
}

static void b_ipv6_first_frag(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_FRAGMENT, &A6, &B6, 0x3);
        pkt_ip6_frag(p, IPPROTO_TCP, 0, 1);
        pkt_tcp(p, SP, DP, 5);
        pkt_payload(p, 64);
}

static void b_ipv6_later_frag(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_FRAGMENT, &A6, &B6, 0x3);
        pkt_ip6_frag(p, IPPROTO_TCP, 100, 0);
        pkt_payload(p, 64);
}

static void b_ipv6_hop_frag_udp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_HOPOPTS, &A6, &B6, 0x4);
        pkt_ip6_ext(p, IPPROTO_FRAGMENT, 0);
        pkt_ip6_frag(p, IPPROTO_UDP, 0, 1);
        pkt_udp(p, SP, 53);
        pkt_payload(p, 16);
}

static void b_ipv6_label0_tcp(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_TCP, &A6, &B6, 0);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_nine_dst(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_DSTOPTS, &A6, &B6, 0x5);
        for (int i = 0; i < 8; i++)
                pkt_ip6_ext(p, IPPROTO_DSTOPTS, 0);
        pkt_ip6_ext(p, IPPROTO_TCP, 0);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_bad_version(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6_full(p, IPPROTO_TCP, &A6, &B6, 0x6, 4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_ext_past_end(Pkt *p) {
        /* hdrlen 30 says 248 bytes of options; 40 follow. */
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_DSTOPTS, &A6, &B6, 0x7);
        pkt_ip6_ext(p, IPPROTO_TCP, 0);
        p->b[14 + 40 + 1] = 30;
        pkt_tcp(p, SP, DP, 5);
        pkt_payload(p, 12);
}

/* ---- L2 ---- */

static void b_vlan_ipv4_tcp(Pkt *p) {
        pkt_eth(p, ET_8021Q);
        pkt_vlan(p, 100, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_qinq_ipv6_udp(Pkt *p) {
        pkt_eth(p, ET_8021AD);
        pkt_vlan(p, 10, ET_8021Q);
        pkt_vlan(p, 20, ET_IPV6);
        pkt_ipv6(p, IPPROTO_UDP, &A6, &B6, 0);
        pkt_udp(p, SP, 53);
}

static void b_three_tags(Pkt *p) {
        pkt_eth(p, ET_8021AD);
        pkt_vlan(p, 10, ET_8021Q);
        pkt_vlan(p, 20, ET_8021Q);
        pkt_vlan(p, 30, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_mpls_uc(Pkt *p) {
        pkt_eth(p, ET_MPLS_UC);
        pkt_mpls(p, 16, 0);
        pkt_mpls(p, 17, 1);
        pkt_ipv4(p, IPPROTO_TCP, A4, B4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_mpls_mc(Pkt *p) {
        pkt_eth(p, ET_MPLS_MC);
        pkt_mpls(p, 1000, 1);
        pkt_ipv6(p, IPPROTO_UDP, &A6, &B6, 0);
        pkt_udp(p, SP, 53);
}

static void b_vlan_mpls(Pkt *p) {
        pkt_eth(p, ET_8021Q);
        pkt_vlan(p, 7, ET_MPLS_UC);
        pkt_mpls(p, 16, 1);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, SP, 53);
}

static void b_arp(Pkt *p) {
        pkt_eth(p, ET_ARP);
        pkt_payload(p, 28);
}

/* ---- Tunnels ---- */

static void b_gre_ipv4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, C4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_gre_csum_key_seq_ipv6(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0xB000, ET_IPV6);
        pkt_ipv6(p, IPPROTO_UDP, &C6, &D6, 0x11111);
        pkt_udp(p, SP, 53);
}

static void b_gre_key_teb(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0x2000, ET_TEB);
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, C4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_gre_v1(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0x0001, 0x880B);
        pkt_payload(p, 16);
}

static void b_ipv6_gre_ipv4(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_GRE, &A6, &B6, 0x22222);
        pkt_gre(p, 0x1000, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, C4, D4);
        pkt_udp(p, SP, 53);
}

static void b_ipip(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_IPIP, A4, B4);
        pkt_ipv4(p, IPPROTO_TCP, C4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_6in4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_IPV6, A4, B4);
        pkt_ipv6(p, IPPROTO_TCP, &C6, &D6, 0x33333);
        pkt_tcp(p, SP, DP, 5);
}

static void b_4in6(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_IPIP, &A6, &B6, 0x44444);
        pkt_ipv4(p, IPPROTO_UDP, C4, D4);
        pkt_udp(p, SP, 53);
}

static void b_6in6(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_IPV6, &A6, &B6, 0x55555);
        pkt_ipv6(p, IPPROTO_TCP, &C6, &D6, 0x66666);
        pkt_tcp(p, SP, DP, 5);
}

static void b_vxlan_ipv4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, 51000, VXLAN_PORT);
        pkt_vxlan(p, 0x08, 42);
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, C4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_vxlan_ipv6_icmpv6(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_UDP, &A6, &B6, 0x77777);
        pkt_udp(p, 51000, VXLAN_PORT);
        pkt_vxlan(p, 0x08, 42);
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_ICMPV6, &C6, &D6, 0);
        /* RFC 4443 2.1: the header is type, code, checksum; the echo's
         * identifier and sequence number are message body. */
        pkt_icmp(p, 128, 4);
        pkt_payload(p, 4);
}

static void b_vxlan_vlan_ipv4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, 51000, VXLAN_PORT);
        pkt_vxlan(p, 0x08, 42);
        pkt_eth(p, ET_8021Q);
        pkt_vlan(p, 5, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, C4, D4);
        pkt_udp(p, SP, 53);
}

static void b_vxlan_no_vni(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, 51000, VXLAN_PORT);
        pkt_vxlan(p, 0x00, 42);
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_TCP, C4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_vxlan_arp(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, 51000, VXLAN_PORT);
        pkt_vxlan(p, 0x08, 42);
        pkt_eth(p, ET_ARP);
        pkt_payload(p, 28);
}

static void b_gre_ipv6_ipip(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0, ET_IPV6);
        pkt_ipv6(p, IPPROTO_IPIP, &C6, &D6, 0x88888);
        pkt_ipv4(p, IPPROTO_UDP, E4, F4);
        pkt_udp(p, SP, 53);
}

static void b_ipip_x5(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_IPIP, A4, B4);
        pkt_ipv4(p, IPPROTO_IPIP, C4, D4);
        pkt_ipv4(p, IPPROTO_IPIP, E4, F4);
        pkt_ipv4(p, IPPROTO_IPIP, A4, C4);
        pkt_ipv4(p, IPPROTO_TCP, B4, D4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_gre_routing(Pkt *p) {
        /* RFC 1701's routing bit: a source route follows, not walked. */
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0x4000, ET_IP);
        pkt_payload(p, 24);
}

static void b_gre_inner_ihl4(Pkt *p) {
        pkt_eth(p, ET_IP);
        pkt_ipv4(p, IPPROTO_GRE, A4, B4);
        pkt_gre(p, 0, ET_IP);
        pkt_ipv4_full(p, IPPROTO_TCP, C4, D4, 0, 4);
        pkt_tcp(p, SP, DP, 5);
}

static void b_ipv6_no_next(Pkt *p) {
        pkt_eth(p, ET_IPV6);
        pkt_ipv6(p, IPPROTO_NONE, &A6, &B6, 0x9);
}

static void b_stag_ipv4_udp(Pkt *p) {
        pkt_eth(p, ET_8021AD);
        pkt_vlan(p, 300, ET_IP);
        pkt_ipv4(p, IPPROTO_UDP, A4, B4);
        pkt_udp(p, SP, 53);
}

#define PARSE_1ST BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG
#define STOP_LABEL BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL
#define STOP_ENCAP BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP

const FlowCase flow_cases[] = {
        /* IPv4, transports */
        { "ipv4/tcp", b_ipv4_tcp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },
        { "ipv4-options/tcp", b_ipv4_opts_tcp, 0, 0, OK,
          { OFFS(14, 42), V4(A4, B4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },
        { "ipv4/tcp-options", b_ipv4_tcp_opts, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },
        { "ipv4/udp", b_ipv4_udp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53) } },
        { "ipv4/udplite", b_ipv4_udplite, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_UDPLITE, PORTS(SP, 5004) } },
        { "ipv4/sctp", b_ipv4_sctp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_SCTP, PORTS(SP, 38412) } },
        { "ipv4/dccp", b_ipv4_dccp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_DCCP, PORTS(SP, 5001) } },
        { "ipv4/dccp-extended-seq", b_ipv4_dccp_x, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_DCCP, PORTS(SP, 5001) } },
        { "ipv4/icmp", b_ipv4_icmp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_ICMP } },
        { "ipv4/esp", b_ipv4_esp, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_ESP } },
        { "ipv4/df-is-no-fragment", b_ipv4_df, 0, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },

        /* IPv4 fragments */
        { "ipv4-first-fragment", b_ipv4_first_frag, 0, 2, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, .is_frag = 1, .is_first_frag = 1 } },
        { "ipv4-first-fragment/parse-1st-frag", b_ipv4_first_frag, PARSE_1ST, 0, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, .is_frag = 1, .is_first_frag = 1,
            PORTS(SP, DP) } },
        { "ipv4-later-fragment/parse-1st-frag", b_ipv4_later_frag, PARSE_1ST, 2, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_TCP, .is_frag = 1 } },

        /* IPv4 malformed */
        { "ipv4-ihl-4", b_ipv4_ihl4, 0, 0, DROP, {} },
        { "ipv4-ihl-15-past-end", b_ipv4_ihl15_short, 0, 0, DROP, {} },
        { "ipv4-version-6", b_ipv4_bad_version, 0, 0, DROP, {} },
        { "ipv4/tcp-doff-4", b_ipv4_tcp_doff4, 0, 0, DROP, {} },
        { "ipv4/tcp-doff-15-past-end", b_ipv4_tcp_doff15_short, 0, 0, DROP, {} },

        /* IPv6 */
        { "ipv6/tcp", b_ipv6_tcp, 0, 0, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, PORTS(SP, DP),
            .flow_label = BE32(0xABCDE) } },
        { "ipv6/udp", b_ipv6_udp, 0, 0, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_UDP, PORTS(SP, 53) } },
        { "ipv6/icmpv6", b_ipv6_icmpv6, 0, 0, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_ICMPV6, .flow_label = BE32(0x12345) } },
        { "ipv6/hop-by-hop/dest-opts/tcp", b_ipv6_hop_dst_tcp, 0, 0, OK,
          { OFFS(14, 54 + 8 + 16), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, PORTS(SP, DP),
            .flow_label = BE32(0x1) } },
        { "ipv6/routing/udp", b_ipv6_routing_udp, 0, 0, OK,
          { OFFS(14, 54 + 24), V6(A6W, B6W), .ip_proto = IPPROTO_UDP, PORTS(SP, 53),
            .flow_label = BE32(0x2) } },
        { "ipv6/first-fragment", b_ipv6_first_frag, 0, 3, OK,
          { OFFS(14, 62), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, .is_frag = 1, .is_first_frag = 1,
            .flow_label = BE32(0x3) } },
        { "ipv6/first-fragment/parse-1st-frag", b_ipv6_first_frag, PARSE_1ST, 0, OK,
          { OFFS(14, 62), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, .is_frag = 1, .is_first_frag = 1,
            PORTS(SP, DP), .flow_label = BE32(0x3) } },
        { "ipv6/later-fragment/parse-1st-frag", b_ipv6_later_frag, PARSE_1ST, 3, OK,
          { OFFS(14, 62), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, .is_frag = 1, .flow_label = BE32(0x3) } },
        { "ipv6/hop-by-hop/fragment/udp/parse-1st-frag", b_ipv6_hop_frag_udp, PARSE_1ST, 0, OK,
          { OFFS(14, 70), V6(A6W, B6W), .ip_proto = IPPROTO_UDP, .is_frag = 1, .is_first_frag = 1,
            PORTS(SP, 53), .flow_label = BE32(0x4) } },
        { "ipv6/stop-at-flow-label", b_ipv6_tcp, STOP_LABEL, 2, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, .flow_label = BE32(0xABCDE) } },
        { "ipv6-label-0/stop-at-flow-label-goes-on", b_ipv6_label0_tcp, STOP_LABEL, 0, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },
        { "ipv6/nine-dest-opts-stops-at-eight", b_ipv6_nine_dst, 0, 10, OK,
          { OFFS(14, 54 + 8 * 8), V6(A6W, B6W), .ip_proto = IPPROTO_DSTOPTS, .flow_label = BE32(0x5) } },
        { "ipv6/no-next-header", b_ipv6_no_next, 0, 0, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_NONE, .flow_label = BE32(0x9) } },
        { "ipv6-version-4", b_ipv6_bad_version, 0, 0, DROP, {} },
        { "ipv6/dest-opts-past-end", b_ipv6_ext_past_end, 0, 0, DROP, {} },

        /* L2 */
        { "vlan/ipv4/tcp", b_vlan_ipv4_tcp, 0, 0, OK,
          { OFFS(18, 38), V4(A4, B4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP) } },
        { "qinq/ipv6/udp", b_qinq_ipv6_udp, 0, 0, OK,
          { OFFS(22, 62), V6(A6W, B6W), .ip_proto = IPPROTO_UDP, PORTS(SP, 53) } },
        { "802.1ad-single-tag/ipv4/udp", b_stag_ipv4_udp, 0, 0, OK,
          { OFFS(18, 38), V4(A4, B4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53) } },
        { "three-vlan-tags", b_three_tags, 0, 0, DROP, {} },
        { "mpls-unicast", b_mpls_uc, 0, 2, OK,
          { OFFS(14, 14), .n_proto = BE16(ET_MPLS_UC) } },
        { "mpls-multicast", b_mpls_mc, 0, 2, OK,
          { OFFS(14, 14), .n_proto = BE16(ET_MPLS_MC) } },
        { "vlan/mpls", b_vlan_mpls, 0, 3, OK,
          { OFFS(18, 18), .n_proto = BE16(ET_MPLS_UC) } },
        { "arp-goes-to-the-kernel", b_arp, 0, 0, BPF_FLOW_DISSECTOR_CONTINUE, {} },

        /* Tunnels */
        { "ipv4/gre/ipv4/tcp", b_gre_ipv4, 0, 0, OK,
          { OFFS(38, 58), V4(C4, D4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1 } },
        { "ipv4/gre-csum-key-seq/ipv6/udp", b_gre_csum_key_seq_ipv6, 0, 0, OK,
          { OFFS(50, 90), V6(C6W, D6W), .ip_proto = IPPROTO_UDP, PORTS(SP, 53), .is_encap = 1,
            .flow_label = BE32(0x11111) } },
        { "ipv4/gre-key/teb/ipv4/tcp", b_gre_key_teb, 0, 0, OK,
          { OFFS(56, 76), V4(C4, D4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1 } },
        { "ipv4/gre/stop-at-encap", b_gre_ipv4, STOP_ENCAP, 3, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_GRE, .is_encap = 1 } },
        { "ipv4/gre-version-1-not-walked", b_gre_v1, 0, 3, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_GRE } },
        { "ipv4/gre-routing-not-walked", b_gre_routing, 0, 3, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_GRE } },
        { "ipv4/gre/ipv4-ihl-4", b_gre_inner_ihl4, 0, 0, DROP, {} },
        { "ipv6/gre-seq/ipv4/udp", b_ipv6_gre_ipv4, 0, 0, OK,
          { OFFS(62, 82), V4(C4, D4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53), .is_encap = 1 } },
        { "ipv4/ipip/tcp", b_ipip, 0, 0, OK,
          { OFFS(34, 54), V4(C4, D4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1 } },
        { "ipv4/ipip/stop-at-encap", b_ipip, STOP_ENCAP, 2, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_IPIP, .is_encap = 1 } },
        { "ipv4/ipv6/tcp (6in4)", b_6in4, 0, 0, OK,
          { OFFS(34, 74), V6(C6W, D6W), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1,
            .flow_label = BE32(0x33333) } },
        { "ipv6/ipv4/udp (4in6)", b_4in6, 0, 0, OK,
          { OFFS(54, 74), V4(C4, D4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53), .is_encap = 1 } },
        { "ipv6/ipv6/tcp (6in6)", b_6in6, 0, 0, OK,
          { OFFS(54, 94), V6(C6W, D6W), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1,
            .flow_label = BE32(0x66666) } },
        { "ipv6/ipv6/stop-at-encap", b_6in6, STOP_ENCAP, 2, OK,
          { OFFS(14, 54), V6(A6W, B6W), .ip_proto = IPPROTO_IPV6, .is_encap = 1,
            .flow_label = BE32(0x55555) } },
        { "ipv4/udp/vxlan/ipv4/tcp", b_vxlan_ipv4, 0, 0, OK,
          { OFFS(64, 84), V4(C4, D4), .ip_proto = IPPROTO_TCP, PORTS(SP, DP), .is_encap = 1 } },
        { "ipv6/udp/vxlan/ipv6/icmpv6", b_ipv6_vxlan_ipv6_icmpv6, 0, 0, OK,
          { OFFS(84, 124), V6(C6W, D6W), .ip_proto = IPPROTO_ICMPV6, .is_encap = 1 } },
        { "ipv4/udp/vxlan/vlan/ipv4/udp", b_vxlan_vlan_ipv4, 0, 0, OK,
          { OFFS(68, 88), V4(C4, D4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53), .is_encap = 1 } },
        { "ipv4/udp/vxlan/stop-at-encap", b_vxlan_ipv4, STOP_ENCAP, 4, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_UDP, PORTS(51000, VXLAN_PORT), .is_encap = 1 } },
        { "ipv4/udp/vxlan-without-vni-is-udp", b_vxlan_no_vni, 0, 4, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_UDP, PORTS(51000, VXLAN_PORT) } },
        { "ipv4/udp/vxlan/arp-keeps-outer-flow", b_vxlan_arp, 0, 5, OK,
          { OFFS(14, 34), V4(A4, B4), .ip_proto = IPPROTO_UDP, PORTS(51000, VXLAN_PORT), .is_encap = 1 } },
        { "ipv4/gre/ipv6/ipip/udp", b_gre_ipv6_ipip, 0, 0, OK,
          { OFFS(78, 98), V4(E4, F4), .ip_proto = IPPROTO_UDP, PORTS(SP, 53), .is_encap = 1 } },
        { "ipip-x5-stops-at-fourth-layer", b_ipip_x5, 0, 5, OK,
          { OFFS(74, 94), V4(A4, C4), .ip_proto = IPPROTO_IPIP, .is_encap = 1 } },
};

const unsigned flow_cases_n = sizeof(flow_cases) / sizeof(flow_cases[0]);
