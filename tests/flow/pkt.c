/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <string.h>

#include "pkt.h"

static uint8_t *put(Pkt *p, size_t n, int kind) {
        uint8_t *h;

        assert(p->len + n <= PKT_MAX && p->nhdr < PKT_HDRS_MAX);
        h = p->b + p->len;
        memset(h, 0, n);
        p->hdr[p->nhdr++] = (PktHdr) { .start = p->len, .len = n, .kind = kind };
        p->len += n;
        return h;
}

static void w16(uint8_t *b, uint16_t v) {
        b[0] = v >> 8;
        b[1] = v & 0xFF;
}

static void w32(uint8_t *b, uint32_t v) {
        w16(b, v >> 16);
        w16(b + 2, v & 0xFFFF);
}

void pkt_init(Pkt *p) {
        memset(p, 0, sizeof(*p));
}

void pkt_eth(Pkt *p, uint16_t ethertype) {
        static const uint8_t macs[12] = { 0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01 };
        uint8_t *h = put(p, 14, PKT_K_OTHER);

        memcpy(h, macs, sizeof(macs));
        w16(h + 12, ethertype);
}

void pkt_vlan(Pkt *p, uint16_t vid, uint16_t ethertype) {
        uint8_t *h = put(p, 4, PKT_K_OTHER);

        w16(h, vid & 0x0FFF);
        w16(h + 2, ethertype);
}

void pkt_mpls(Pkt *p, uint32_t label, int bottom) {
        uint8_t *h = put(p, 4, PKT_K_OTHER);

        /* RFC 3032: label(20) TC(3) S(1) TTL(8) */
        w32(h, label << 12 | (bottom ? 1u << 8 : 0) | 64);
}

void pkt_ipv4_full(Pkt *p, uint8_t proto, uint32_t src, uint32_t dst, uint16_t frag, unsigned ihl) {
        size_t hlen = ihl >= 5 ? ihl * 4 : 20;
        uint8_t *h = put(p, hlen, PKT_K_IPV4);

        h[0] = 4 << 4 | (ihl & 0xF);
        w16(h + 4, 0x1234);
        w16(h + 6, frag);
        h[8] = 64;
        h[9] = proto;
        w32(h + 12, src);
        w32(h + 16, dst);
        /* Options: no-operation bytes (RFC 791 type 1). */
        for (size_t i = 20; i < hlen; i++)
                h[i] = 1;
}

void pkt_ipv4(Pkt *p, uint8_t proto, uint32_t src, uint32_t dst) {
        pkt_ipv4_full(p, proto, src, dst, 0, 5);
}

void pkt_ipv6_full(Pkt *p, uint8_t nexthdr, const Ip6 *src, const Ip6 *dst, uint32_t flow_label,
                   unsigned version) {
        uint8_t *h = put(p, 40, PKT_K_IPV6);

        /* version(4) traffic class(8) flow label(20); the class is set too,
         * so that a label read must mask it off. */
        w32(h, version << 28 | 0xB8u << 20 | (flow_label & 0xFFFFF));
        h[6] = nexthdr;
        h[7] = 64;
        memcpy(h + 8, src->w, 16);
        memcpy(h + 24, dst->w, 16);
}

void pkt_ipv6(Pkt *p, uint8_t nexthdr, const Ip6 *src, const Ip6 *dst, uint32_t flow_label) {
        pkt_ipv6_full(p, nexthdr, src, dst, flow_label, 6);
}

void pkt_ip6_ext(Pkt *p, uint8_t nexthdr, uint8_t hdrlen) {
        size_t n = ((size_t) hdrlen + 1) * 8;
        uint8_t *h = put(p, n, PKT_K_OTHER);

        h[0] = nexthdr;
        h[1] = hdrlen;
        /* RFC 8200 4.2: one PadN option fills the rest. */
        h[2] = 1;
        h[3] = n - 4;
}

void pkt_ip6_frag(Pkt *p, uint8_t nexthdr, uint16_t offset, int more) {
        uint8_t *h = put(p, 8, PKT_K_OTHER);

        h[0] = nexthdr;
        w16(h + 2, offset << 3 | (more ? 1 : 0));
        w32(h + 4, 0xCAFE);
}

void pkt_tcp(Pkt *p, uint16_t sport, uint16_t dport, unsigned doff) {
        size_t hlen = doff >= 5 ? doff * 4 : 20;
        uint8_t *h = put(p, hlen, PKT_K_OTHER);

        w16(h, sport);
        w16(h + 2, dport);
        w32(h + 4, 1);
        h[12] = doff << 4;
        h[13] = 0x02;   /* SYN */
        w16(h + 14, 65535);
        for (size_t i = 20; i < hlen; i++)
                h[i] = 1;       /* NOP options */
}

void pkt_udp(Pkt *p, uint16_t sport, uint16_t dport) {
        uint8_t *h = put(p, 8, PKT_K_UDP);

        w16(h, sport);
        w16(h + 2, dport);
}

void pkt_ports(Pkt *p, uint16_t sport, uint16_t dport, size_t hlen) {
        uint8_t *h = put(p, hlen, PKT_K_OTHER);

        w16(h, sport);
        w16(h + 2, dport);
}

void pkt_dccp(Pkt *p, uint16_t sport, uint16_t dport, int extended_seq) {
        size_t hlen = extended_seq ? 16 : 12;
        uint8_t *h = put(p, hlen, PKT_K_OTHER);

        w16(h, sport);
        w16(h + 2, dport);
        h[4] = hlen / 4;                        /* data offset */
        h[8] = 0 << 1 | (extended_seq ? 1 : 0); /* type Request, X */
}

void pkt_icmp(Pkt *p, uint8_t type, size_t hlen) {
        uint8_t *h = put(p, hlen, PKT_K_OTHER);

        h[0] = type;
}

void pkt_gre(Pkt *p, uint16_t flags, uint16_t proto) {
        size_t hlen = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
        uint8_t *h = put(p, hlen, PKT_K_OTHER);
        size_t o = 4;

        w16(h, flags);
        w16(h + 2, proto);
        if (flags & 0x8000)
                o += 4;                 /* checksum and reserved1 */
        if (flags & 0x2000) {
                w32(h + o, 0xABCD);     /* key */
                o += 4;
        }
        if (flags & 0x1000)
                w32(h + o, 7);          /* sequence number */
}

void pkt_vxlan(Pkt *p, uint8_t flags, uint32_t vni) {
        uint8_t *h = put(p, 8, PKT_K_OTHER);

        h[0] = flags;
        w32(h + 4, vni << 8);
}

void pkt_payload(Pkt *p, size_t n) {
        uint8_t *h;

        assert(p->len + n <= PKT_MAX);
        h = p->b + p->len;
        for (size_t i = 0; i < n; i++)
                h[i] = 0xA0 + (i & 0xF);
        p->len += n;
}

void pkt_finish(Pkt *p) {
        for (unsigned i = 0; i < p->nhdr; i++) {
                const PktHdr *h = &p->hdr[i];
                size_t rest = p->len - h->start;

                if (h->kind == PKT_K_IPV4)
                        w16(p->b + h->start + 2, rest);
                else if (h->kind == PKT_K_IPV6)
                        w16(p->b + h->start + 4, rest - 40);
                else if (h->kind == PKT_K_UDP)
                        w16(p->b + h->start + 4, rest);
        }
}
