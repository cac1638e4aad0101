// SPDX-License-Identifier: GPL-2.0-only
/*
 * builtin:flow, a flow dissector that replaces the kernel's C dissector in
 * the netns it is attached to (issue 6).
 *
 * One program, no maps and no tail calls: the kernel's selftest dissector
 * pays a tail call per layer and a map update per packet, which is most of
 * its cost. Layers are walked by a bounded loop over one global function
 * instead, which the verifier checks once.
 *
 * Semantics follow net/core/flow_dissector.c where the issue does not say
 * otherwise; the keys always describe one flow:
 *  - nhoff and thoff are the innermost dissected network and transport
 *    header offsets, n_proto/addr_proto/addresses/ip_proto/ports belong to
 *    that same layer;
 *  - STOP_AT_ENCAP, or an inner protocol we do not know, returns the outer
 *    flow with is_encap set; nesting deeper than MAX_LAYERS returns the
 *    deepest layer reached;
 *  - STOP_AT_FLOW_LABEL stops only at a non-zero label, as the kernel does;
 *  - MPLS stops at the label stack (BPF_OK, n_proto MPLS, no addresses);
 *  - an outermost ethertype we do not know (ARP, PPPoE, ...) goes back to
 *    the kernel's C dissector with BPF_FLOW_DISSECTOR_CONTINUE, so that
 *    attaching this program never makes hashing of those worse;
 *  - a header that is truncated or malformed returns BPF_DROP.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* vmlinux.h carries enums only; the uapi headers' macros would clash with
 * it, so the few needed are spelled out here. */
#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#endif
#ifndef ETH_P_IPV6
#define ETH_P_IPV6 0x86DD
#endif
#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#ifndef ETH_P_MPLS_UC
#define ETH_P_MPLS_UC 0x8847
#endif
#ifndef ETH_P_MPLS_MC
#define ETH_P_MPLS_MC 0x8848
#endif
#ifndef ETH_P_TEB
#define ETH_P_TEB 0x6558
#endif
#ifndef ETH_HLEN
#define ETH_HLEN 14
#endif
#ifndef IPPROTO_ICMPV6
#define IPPROTO_ICMPV6 58
#endif
#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP 0
#endif
#ifndef NEXTHDR_ROUTING
#define NEXTHDR_ROUTING 43
#endif
#ifndef NEXTHDR_FRAGMENT
#define NEXTHDR_FRAGMENT 44
#endif
#ifndef NEXTHDR_DEST
#define NEXTHDR_DEST 60
#endif

#define IP_MF_OFFSET 0x3FFF     /* more-fragments flag and fragment offset */
#define IP_OFFSET 0x1FFF
#define IP6_FRAG_OFFSET 0xFFF8
#define IP6_FLOWLABEL 0x000FFFFF

/* RFC 2784/2890: C, R (RFC 1701 routing), K and S flags, version. */
#define GRE_F_CSUM 0x8000
#define GRE_F_ROUTING 0x4000
#define GRE_F_KEY 0x2000
#define GRE_F_SEQ 0x1000
#define GRE_VERSION 0x0007

#define VXLAN_PORT 4789
#define VXLAN_F_VNI 0x08        /* RFC 7348 "I" flag, first byte */
#define VXLAN_HLEN 8

/* The outer flow and three encapsulations in it (IPv4 GRE IPv6 IPIP IPv4
 * is two): deeper nesting returns the last layer reached, as the kernel
 * stops at its header limit. */
#define MAX_LAYERS 4
/* The kernel stops at 15 headers in all; 8 extension headers in a row is
 * already far past anything RFC 8200's recommended order produces. */
#define MAX_EXT_HDRS 8
#define MAX_VLAN_TAGS 2

/* Not a BPF return code: the layer handed an inner header to the caller. */
#define NEXT_LAYER (-1)

/*
 * A pointer to len bytes at off: straight into the linear data when they
 * are there (the fast path), else copied into buf, since the flow
 * dissector's data_end only covers the skb's linear part. NULL when the
 * packet is shorter.
 */
static __always_inline void *header(struct __sk_buff *skb, __u32 off, __u32 len, void *buf)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	/* The verifier only proves packet reads below 64 KiB, counting the
	 * constants the compiler folds into the offset; the helper takes the
	 * rest. The barrier keeps the compiler from bounding one copy of off
	 * and adding another, which the verifier cannot follow. */
	barrier_var(off);
	if (off <= 0xff00 && data + off + len <= data_end)
		return data + off;
	if (off > 0xffff || bpf_skb_load_bytes(skb, off, buf, len))
		return NULL;
	return buf;
}

/* Whether the packet holds at least end bytes: headers whose length is in
 * the header itself (IPv4 options, TCP options, extension headers) must be
 * whole, or the next offset is meaningless. */
static __always_inline bool have_bytes(struct __sk_buff *skb, __u32 end)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u8 last;

	if (end > 0xffff)
		return false;
	if (data + end <= data_end)
		return true;
	return end > 0 && bpf_skb_load_bytes(skb, end - 1, &last, 1) == 0;
}

/* 802.1Q and 802.1ad tags, at most two (QinQ); a third is malformed. */
static __always_inline int skip_vlan(struct __sk_buff *skb, __u32 *off, __be16 *proto)
{
	struct vlan_hdr *vh, vbuf;

	for (int i = 0; i < MAX_VLAN_TAGS + 1; i++) {
		if (*proto != bpf_htons(ETH_P_8021Q) && *proto != bpf_htons(ETH_P_8021AD))
			return 0;
		if (i == MAX_VLAN_TAGS)
			return BPF_DROP;
		vh = header(skb, *off, sizeof(*vh), &vbuf);
		if (!vh)
			return BPF_DROP;
		*proto = vh->h_vlan_encapsulated_proto;
		*off += sizeof(*vh);
	}
	return 0;
}

/* The inner layer replaces the outer one: what only the outer layer set
 * (ports of a VXLAN UDP header, the tail of an IPv6 address) must not leak
 * into it. */
static __always_inline void clear_outer(struct bpf_flow_keys *keys)
{
	keys->sport = 0;
	keys->dport = 0;
	keys->flow_label = 0;
	for (int i = 0; i < 4; i++) {
		keys->ipv6_src[i] = 0;
		keys->ipv6_dst[i] = 0;
	}
}

static __always_inline int dissect_ipv4(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 flags,
					__u32 *off, __u8 *ip_proto)
{
	struct iphdr *iph, ibuf;
	__u8 vihl, proto;
	__u32 hlen;

	iph = header(skb, *off, sizeof(*iph), &ibuf);
	if (!iph)
		return BPF_DROP;
	vihl = *(__u8 *)iph;
	if ((vihl >> 4) != 4 || (vihl & 0xF) < 5)
		return BPF_DROP;
	hlen = (vihl & 0xF) * 4;
	if (hlen > sizeof(*iph) && !have_bytes(skb, *off + hlen))
		return BPF_DROP;

	proto = iph->protocol;
	keys->nhoff = *off;
	keys->thoff = *off + hlen;
	keys->n_proto = bpf_htons(ETH_P_IP);
	keys->addr_proto = ETH_P_IP;
	keys->ip_proto = proto;
	keys->ipv4_src = iph->saddr;
	keys->ipv4_dst = iph->daddr;

	if (iph->frag_off & bpf_htons(IP_MF_OFFSET)) {
		keys->is_frag = 1;
		/* Later fragments have no transport header to read. */
		if (iph->frag_off & bpf_htons(IP_OFFSET))
			return BPF_OK;
		keys->is_first_frag = 1;
		if (!(flags & BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG))
			return BPF_OK;
	}
	*off += hlen;
	*ip_proto = proto;
	return NEXT_LAYER;
}

static __always_inline int dissect_ipv6(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 flags,
					__u32 *off, __u8 *ip_proto)
{
	struct ipv6hdr *ip6h, ip6buf;
	struct frag_hdr *fh, fbuf;
	__u8 *opt, obuf[2];
	__be32 label;
	__u32 o = *off;
	__u8 nexthdr;

	ip6h = header(skb, o, sizeof(*ip6h), &ip6buf);
	if (!ip6h)
		return BPF_DROP;
	if ((*(__u8 *)ip6h >> 4) != 6)
		return BPF_DROP;

	nexthdr = ip6h->nexthdr;
	label = *(__be32 *)ip6h & bpf_htonl(IP6_FLOWLABEL);
	keys->nhoff = o;
	keys->n_proto = bpf_htons(ETH_P_IPV6);
	keys->addr_proto = ETH_P_IPV6;
	keys->flow_label = label;
	__builtin_memcpy(keys->ipv6_src, &ip6h->saddr, 16);
	__builtin_memcpy(keys->ipv6_dst, &ip6h->daddr, 16);
	o += sizeof(*ip6h);

	/* As the kernel does: a zero label carries no entropy, so the ports
	 * are still needed. */
	if ((flags & BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL) && label)
		goto done;

	/* Unrolled: a loop counter the verifier must track exactly keeps it
	 * from pruning equal states of different iterations. */
#pragma clang loop unroll(full)
	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			opt = header(skb, o, sizeof(obuf), obuf);
			if (!opt)
				return BPF_DROP;
			nexthdr = opt[0];
			o += (opt[1] + 1) * 8;
			if (!have_bytes(skb, o))
				return BPF_DROP;
			break;
		case NEXTHDR_FRAGMENT:
			fh = header(skb, o, sizeof(*fh), &fbuf);
			if (!fh)
				return BPF_DROP;
			nexthdr = fh->nexthdr;
			o += sizeof(*fh);
			keys->is_frag = 1;
			if (fh->frag_off & bpf_htons(IP6_FRAG_OFFSET))
				goto done;
			keys->is_first_frag = 1;
			if (!(flags & BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG))
				goto done;
			break;
		default:
			keys->thoff = o;
			keys->ip_proto = nexthdr;
			*off = o;
			*ip_proto = nexthdr;
			return NEXT_LAYER;
		}
	}
	/* Too many extension headers: stop where the kernel would, with
	 * what is known. */
done:
	keys->thoff = o;
	keys->ip_proto = nexthdr;
	return BPF_OK;
}

static __always_inline int ports(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 off, __u32 len)
{
	__u8 buf[16];
	__be16 *p;

	p = header(skb, off, len, buf);
	if (!p)
		return BPF_DROP;
	keys->sport = p[0];
	keys->dport = p[1];
	return BPF_OK;
}

static __always_inline int dissect_tcp(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 off)
{
	struct tcphdr *th, tbuf;
	__u32 doff;

	th = header(skb, off, sizeof(*th), &tbuf);
	if (!th)
		return BPF_DROP;
	doff = ((__u8 *)th)[12] >> 4;
	if (doff < 5)
		return BPF_DROP;
	if (doff > 5 && !have_bytes(skb, off + doff * 4))
		return BPF_DROP;
	keys->sport = th->source;
	keys->dport = th->dest;
	return BPF_OK;
}

/* RFC 4340 5.1: 12 bytes, 16 with extended sequence numbers (X). */
static __always_inline int dissect_dccp(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 off)
{
	__u8 *dh, dbuf[12];

	dh = header(skb, off, sizeof(dbuf), dbuf);
	if (!dh)
		return BPF_DROP;
	if ((dh[8] & 1) && !have_bytes(skb, off + 16))
		return BPF_DROP;
	keys->sport = ((__be16 *)dh)[0];
	keys->dport = ((__be16 *)dh)[1];
	return BPF_OK;
}

/* UDP, and the VXLAN it may carry (RFC 7348). */
static __always_inline int dissect_udp(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 flags,
				       __u32 *off, __be16 *proto)
{
	struct udphdr *uh, ubuf;
	struct ethhdr *eth, ebuf;
	__u8 *vx, vbuf[VXLAN_HLEN];
	__u32 o = *off;

	uh = header(skb, o, sizeof(*uh), &ubuf);
	if (!uh)
		return BPF_DROP;
	keys->sport = uh->source;
	keys->dport = uh->dest;
	if (uh->dest != bpf_htons(VXLAN_PORT))
		return BPF_OK;

	o += sizeof(*uh);
	vx = header(skb, o, sizeof(vbuf), vbuf);
	if (!vx)
		return BPF_DROP;
	/* Without a valid VNI it is no VXLAN frame, just UDP to that port. */
	if (!(vx[0] & VXLAN_F_VNI))
		return BPF_OK;
	keys->is_encap = 1;
	if (flags & BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP)
		return BPF_OK;
	o += VXLAN_HLEN;
	eth = header(skb, o, sizeof(*eth), &ebuf);
	if (!eth)
		return BPF_DROP;
	*proto = eth->h_proto;
	*off = o + sizeof(*eth);
	return NEXT_LAYER;
}

/* GRE version 0 (RFC 2784, keys and sequence numbers of RFC 2890). */
static __always_inline int dissect_gre(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 flags,
				       __u32 *off, __be16 *proto)
{
	struct gre_base_hdr *gh, gbuf;
	struct ethhdr *eth, ebuf;
	__u32 o = *off, glen = sizeof(*gh);
	__u16 gflags;

	gh = header(skb, o, sizeof(*gh), &gbuf);
	if (!gh)
		return BPF_DROP;
	gflags = bpf_ntohs(gh->flags);
	/* PPTP's version 1 and RFC 1701 source routes are not walked, as
	 * for other protocols we do not know: the outer flow stands. */
	if (gflags & (GRE_VERSION | GRE_F_ROUTING))
		return BPF_OK;
	if (gflags & GRE_F_CSUM)
		glen += 4;
	if (gflags & GRE_F_KEY)
		glen += 4;
	if (gflags & GRE_F_SEQ)
		glen += 4;
	if (glen > sizeof(*gh) && !have_bytes(skb, o + glen))
		return BPF_DROP;

	keys->is_encap = 1;
	if (flags & BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP)
		return BPF_OK;
	*proto = gh->protocol;
	o += glen;
	if (*proto == bpf_htons(ETH_P_TEB)) {
		eth = header(skb, o, sizeof(*eth), &ebuf);
		if (!eth)
			return BPF_DROP;
		*proto = eth->h_proto;
		o += sizeof(*eth);
	}
	*off = o;
	return NEXT_LAYER;
}

/* The transport header, or the tunnel that leads to the next layer. */
static __always_inline int dissect_l4(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 flags,
				      __u8 ip_proto, __u32 *off, __be16 *proto)
{
	switch (ip_proto) {
	case IPPROTO_TCP:
		return dissect_tcp(skb, keys, *off);
	case IPPROTO_UDP:
		return dissect_udp(skb, keys, flags, off, proto);
	case IPPROTO_UDPLITE:
		return ports(skb, keys, *off, 8);
	case IPPROTO_SCTP:
		return ports(skb, keys, *off, 12);
	case IPPROTO_DCCP:
		return dissect_dccp(skb, keys, *off);
	case IPPROTO_ICMP:
		/* RFC 792: type, code, checksum and one word, always. */
		return header(skb, *off, 8, &(__u64){ 0 }) ? BPF_OK : BPF_DROP;
	case IPPROTO_ICMPV6:
		/* RFC 4443 2.1: type, code, checksum. */
		return header(skb, *off, 4, &(__u32){ 0 }) ? BPF_OK : BPF_DROP;
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		keys->is_encap = 1;
		if (flags & BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP)
			return BPF_OK;
		*proto = ip_proto == IPPROTO_IPIP ? bpf_htons(ETH_P_IP) : bpf_htons(ETH_P_IPV6);
		return NEXT_LAYER;
	case IPPROTO_GRE:
		return dissect_gre(skb, keys, flags, off, proto);
	default:
		/* ESP, AH, OSPF...: a flow by addresses alone. */
		return BPF_OK;
	}
}

static __always_inline int dissect_mpls(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u32 off,
					__be16 proto)
{
	__u32 lbuf;

	/* The kernel stops at the label stack too: what it carries is not
	 * said anywhere in it. */
	if (!header(skb, off, sizeof(lbuf), &lbuf))
		return BPF_DROP;
	keys->nhoff = off;
	keys->thoff = off;
	keys->n_proto = proto;
	return BPF_OK;
}

/* What a layer hands to the next one: the inner header's offset and one
 * of the ethertypes a layer starts with, packed into the int that a global
 * function may return, above every BPF return code. */
#define NEXT_BASE 0x40000000
#define NEXT_IP 0
#define NEXT_IPV6 1
#define NEXT_8021Q 2
#define NEXT_8021AD 3

/*
 * One network layer and the transport header or tunnel it carries. It is a
 * global function so that the verifier checks it once, not once per
 * nesting level in every combination (tens of thousands of instructions
 * each time, past the verifier's limit at two levels).
 */
__noinline int dissect_layer(struct __sk_buff *skb, __u32 off, __u32 proto32, __u32 layer)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	__u32 flags = keys->flags;
	__be16 proto = proto32;
	__u8 ip_proto = 0;
	int r;

	r = skip_vlan(skb, &off, &proto);
	if (r)
		return r;
	if (proto == bpf_htons(ETH_P_IP)) {
		if (layer)
			clear_outer(keys);
		r = dissect_ipv4(skb, keys, flags, &off, &ip_proto);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (layer)
			clear_outer(keys);
		r = dissect_ipv6(skb, keys, flags, &off, &ip_proto);
	} else if (layer) {
		/* Inside a tunnel: the outer flow is the best we have. */
		return BPF_OK;
	} else if (proto == bpf_htons(ETH_P_MPLS_UC) || proto == bpf_htons(ETH_P_MPLS_MC)) {
		return dissect_mpls(skb, keys, off, proto);
	} else {
		return BPF_FLOW_DISSECTOR_CONTINUE;
	}
	if (r != NEXT_LAYER)
		return r;
	r = dissect_l4(skb, keys, flags, ip_proto, &off, &proto);
	if (r != NEXT_LAYER)
		return r;

	/* A header read at 64 KiB less a few bytes can put the next one past
	 * what the packing (and every packet offset) holds. */
	if (off > 0xffff)
		return BPF_DROP;
	switch (proto) {
	case bpf_htons(ETH_P_IP):
		return NEXT_BASE | NEXT_IP << 16 | off;
	case bpf_htons(ETH_P_IPV6):
		return NEXT_BASE | NEXT_IPV6 << 16 | off;
	case bpf_htons(ETH_P_8021Q):
		return NEXT_BASE | NEXT_8021Q << 16 | off;
	case bpf_htons(ETH_P_8021AD):
		return NEXT_BASE | NEXT_8021AD << 16 | off;
	default:
		return BPF_OK;
	}
}

SEC("flow_dissector")
int flow_dissect(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	__u32 proto = keys->n_proto;
	__u32 off = keys->nhoff;
	int r;

	for (__u32 layer = 0; layer < MAX_LAYERS; layer++) {
		r = dissect_layer(skb, off, proto, layer);
		if (r < NEXT_BASE)
			return r;
		off = r & 0xffff;
		switch ((r >> 16) & 3) {
		case NEXT_IP:
			proto = bpf_htons(ETH_P_IP);
			break;
		case NEXT_IPV6:
			proto = bpf_htons(ETH_P_IPV6);
			break;
		case NEXT_8021Q:
			proto = bpf_htons(ETH_P_8021Q);
			break;
		default:
			proto = bpf_htons(ETH_P_8021AD);
			break;
		}
	}
	return BPF_OK;
}

char LICENSE[] SEC("license") = "GPL";
