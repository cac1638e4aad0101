/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Builds test packets header by header, from Ethernet on, as the RFCs lay
 * them out, and remembers where each header starts and ends so that a test
 * can cut the packet at every header boundary.
 */
#include <stddef.h>
#include <stdint.h>

#define PKT_MAX 1024
#define PKT_HDRS_MAX 24

/* Constant-expression byte swaps, for expected values in static tables. */
#define BE16(x) ((uint16_t) ((((x) & 0xFFu) << 8) | (((x) >> 8) & 0xFFu)))
#define BE32(x) ((uint32_t) ((((x) & 0xFFu) << 24) | (((x) & 0xFF00u) << 8) | \
                             (((x) >> 8) & 0xFF00u) | (((x) >> 24) & 0xFFu)))

typedef struct PktHdr {
        size_t start, len;
        int kind;               /* PKT_K_*, to fix length fields at the end */
} PktHdr;

typedef struct Pkt {
        uint8_t b[PKT_MAX];
        size_t len;
        PktHdr hdr[PKT_HDRS_MAX];
        unsigned nhdr;
} Pkt;

enum { PKT_K_OTHER, PKT_K_IPV4, PKT_K_IPV6, PKT_K_UDP };

/* IPv6 addresses as the four network-order words bpf_flow_keys holds. */
typedef struct Ip6 {
        uint32_t w[4];
} Ip6;

void pkt_init(Pkt *p);
void pkt_eth(Pkt *p, uint16_t ethertype);
void pkt_vlan(Pkt *p, uint16_t vid, uint16_t ethertype);
void pkt_mpls(Pkt *p, uint32_t label, int bottom);
/* ihl in 32-bit words (5 without options); frag is the flags+offset field. */
void pkt_ipv4_full(Pkt *p, uint8_t proto, uint32_t src, uint32_t dst, uint16_t frag, unsigned ihl);
void pkt_ipv4(Pkt *p, uint8_t proto, uint32_t src, uint32_t dst);
/* version other than 6 only to build malformed packets */
void pkt_ipv6_full(Pkt *p, uint8_t nexthdr, const Ip6 *src, const Ip6 *dst, uint32_t flow_label,
                   unsigned version);
void pkt_ipv6(Pkt *p, uint8_t nexthdr, const Ip6 *src, const Ip6 *dst, uint32_t flow_label);
/* Hop-by-hop, routing or destination options: (hdrlen + 1) * 8 bytes. */
void pkt_ip6_ext(Pkt *p, uint8_t nexthdr, uint8_t hdrlen);
/* offset in 8-octet units */
void pkt_ip6_frag(Pkt *p, uint8_t nexthdr, uint16_t offset, int more);
/* data offset in 32-bit words (5 without options) */
void pkt_tcp(Pkt *p, uint16_t sport, uint16_t dport, unsigned doff);
void pkt_udp(Pkt *p, uint16_t sport, uint16_t dport);
/* Headers that start with the two ports: UDP-Lite, SCTP, DCCP. */
void pkt_ports(Pkt *p, uint16_t sport, uint16_t dport, size_t hlen);
void pkt_dccp(Pkt *p, uint16_t sport, uint16_t dport, int extended_seq);
void pkt_icmp(Pkt *p, uint8_t type, size_t hlen);
/* flags: GRE C/R/K/S bits and version, as on the wire; options follow. */
void pkt_gre(Pkt *p, uint16_t flags, uint16_t proto);
void pkt_vxlan(Pkt *p, uint8_t flags, uint32_t vni);
void pkt_payload(Pkt *p, size_t n);
/* Fills IPv4 total length, IPv6 payload length and UDP length. */
void pkt_finish(Pkt *p);
