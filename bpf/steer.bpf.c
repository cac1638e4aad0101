// SPDX-License-Identifier: GPL-2.0-only
/* builtin:steer: (protocol, prefix, port) bindings to registered sockets.
 * The map layout and the lookup order are explained in steer-abi.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "steer-abi.h"

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_config);
} steer_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_REGIONS);
	__type(key, __u32);
	__type(value, struct steer_region4);
} regions4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_REGIONS);
	__type(key, __u32);
	__type(value, struct steer_region6);
} regions6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_PORTS);
	__type(key, __u32);
	__type(value, struct steer_portlens);
} portlens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_PREFIXES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_prefix_key);
	__type(value, struct steer_prefix);
} prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_OVERFLOW);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct steer_port_key);
	__type(value, struct steer_port);
} ports SEC(".maps");

/* Value size 8 so that user space reads back socket cookies. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, STEER_MAX_DESTS);
	__type(key, __u32);
	__type(value, __u64);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct steer_dest_stats);
} dest_stats SEC(".maps");

/* Control plane only; declared here so that every link gets them pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_DESTS);
	__type(key, __u32);
	__type(value, struct steer_dest);
} dests SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_DESTS);
	__type(key, struct steer_dest_key);
	__type(value, __u32);
} dest_ids SEC(".maps");

/* Index of the highest set bit of a non-zero x. */
static __always_inline int fls64(__u64 x)
{
	int n = 0;

	if (x >> 32) { n += 32; x >>= 32; }
	if (x >> 16) { n += 16; x >>= 16; }
	if (x >> 8) { n += 8; x >>= 8; }
	if (x >> 4) { n += 4; x >>= 4; }
	if (x >> 2) { n += 2; x >>= 2; }
	if (x >> 1) n += 1;
	return n;
}

/* addr[] (network order) masked to len bits, for word i of 4. */
static __always_inline __u32 mask_word(__u32 w, int i, int len)
{
	int lo = i * 32;

	if (len >= lo + 32)
		return w;
	if (len <= lo)
		return 0;
	return w & bpf_htonl(~0U << (lo + 32 - len));
}

/* The binding of one prefix entry for port, or NULL with *dest 0. */
static __always_inline __u64 *match_port(struct steer_prefix *p, __u16 port, __u16 *dest)
{
	int i;

#pragma unroll
	for (i = 0; i < STEER_SLOTS; i++) {
		if (i >= p->nslots)
			break;
		if (p->slot[i].port == port) {
			*dest = p->slot[i].dest;
			return &p->slot[i].hits;
		}
	}
	if (p->noverflow) {
		struct steer_port_key k = { .prefix_id = p->id, .port = port };
		struct steer_port *o = bpf_map_lookup_elem(&ports, &k);

		if (o) {
			*dest = o->dest;
			return &o->hits;
		}
	}
	if (p->wild_dest) {
		*dest = p->wild_dest;
		return &p->wild_hits;
	}
	return NULL;
}

static __always_inline int deliver(struct bpf_sk_lookup *ctx, __u32 dest)
{
	struct steer_dest_stats *st = bpf_map_lookup_elem(&dest_stats, &dest);
	struct bpf_sock *sk;
	long err;

	if (st)
		st->lookups++;
	sk = bpf_map_lookup_elem(&sockets, &dest);
	/* A socket that cannot take this is as good as none: the kernel keeps
	 * a listener shut down (TCP, not listening) or a UDP socket connected
	 * since in the map until it is closed, and bpf_sk_assign refuses it. */
	if (sk && ((sk->type == SOCK_STREAM && sk->state != BPF_TCP_LISTEN) ||
		   (sk->type == SOCK_DGRAM && sk->state != BPF_TCP_CLOSE))) {
		bpf_sk_release(sk);
		sk = NULL;
	}
	if (!sk) {
		if (st)
			st->misses++;
		return SK_PASS;
	}
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	if (err && st)
		st->errors++;
	return SK_PASS;
}

/* One probe of the longest length left; a global function, so that the
 * verifier checks it once rather than once per possible prefix length. */
struct steer_probe {
	struct steer_prefix_key key;
	__u32 a[4];
	__u64 m[3];
	__u16 port;
	__u16 dest;
};

__noinline int steer_probe_one(struct steer_probe *pr)
{
	struct steer_prefix *p;
	__u64 *hits;
	__u16 dest = 0;
	int len;

	if (!pr)
		return 1;
	if (pr->m[2]) {
		len = 128 + fls64(pr->m[2]);
		pr->m[2] = 0;
	} else if (pr->m[1]) {
		len = 64 + fls64(pr->m[1]);
		pr->m[1] &= ~(1ULL << (len - 64));
	} else if (pr->m[0]) {
		len = fls64(pr->m[0]);
		pr->m[0] &= ~(1ULL << len);
	} else
		return 1;
	if (len > 128)
		return 1;
	pr->key.len = len;
	pr->key.addr[0] = mask_word(pr->a[0], 0, len);
	pr->key.addr[1] = mask_word(pr->a[1], 1, len);
	pr->key.addr[2] = mask_word(pr->a[2], 2, len);
	pr->key.addr[3] = mask_word(pr->a[3], 3, len);
	p = bpf_map_lookup_elem(&prefixes, &pr->key);
	if (!p)
		return 0;
	hits = match_port(p, pr->port, &dest);
	if (!hits)
		return 0;
	/* Shared, not per CPU: per-CPU per-binding counters would cost
	 * STEER_MAX_PREFIXES * slots * CPUs of memory. */
	__sync_fetch_and_add(hits, 1);
	pr->dest = dest;
	return 1;
}

SEC("sk_lookup")
int steer_lookup(struct bpf_sk_lookup *ctx)
{
	struct steer_probe pr = {};
	__u32 zero = 0, region, port;
	struct steer_portlens *pl, *wl;
	struct steer_config *cfg;

	/* Another sk_lookup program chose already: its choice stands. */
	if (ctx->sk)
		return SK_PASS;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	cfg = bpf_map_lookup_elem(&steer_cfg, &zero);
	if (!cfg)
		return SK_PASS;

	pr.key.gen = cfg->gen;
	pr.key.protocol = ctx->protocol;
	pr.port = ctx->local_port;
	port = pr.port;
	pl = bpf_map_lookup_elem(&portlens, &port);
	wl = bpf_map_lookup_elem(&portlens, &zero);
	if (!pl || !wl)
		return SK_PASS;
	if (ctx->family == AF_INET) {
		struct steer_region4 *r;

		pr.a[0] = ctx->local_ip4;
		region = bpf_ntohl(pr.a[0]) >> (32 - STEER_REGION_BITS);
		r = bpf_map_lookup_elem(&regions4, &region);
		if (!r || !r->lens)
			return SK_PASS;
		pr.m[0] = r->lens & (pl->v4 | wl->v4);
		pr.key.family = STEER_FAMILY_V4;
	} else if (ctx->family == AF_INET6) {
		struct steer_region6 *r;

		pr.a[0] = ctx->local_ip6[0];
		pr.a[1] = ctx->local_ip6[1];
		pr.a[2] = ctx->local_ip6[2];
		pr.a[3] = ctx->local_ip6[3];
		region = bpf_ntohl(pr.a[0]) >> (32 - STEER_REGION_BITS);
		r = bpf_map_lookup_elem(&regions6, &region);
		if (!r)
			return SK_PASS;
		pr.m[0] = r->lens[0] & (pl->v6[0] | wl->v6[0]);
		pr.m[1] = r->lens[1] & (pl->v6[1] | wl->v6[1]);
		pr.m[2] = r->lens[2] & (pl->v6[2] | wl->v6[2]);
		pr.key.family = STEER_FAMILY_V6;
	} else
		return SK_PASS;

	for (int i = 0; i < 129; i++)
		if (steer_probe_one(&pr))
			break;
	if (!pr.dest)
		return SK_PASS;
	return deliver(ctx, pr.dest);
}

char LICENSE[] SEC("license") = "GPL";
