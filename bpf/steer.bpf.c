// SPDX-License-Identifier: GPL-2.0-only
/* builtin:steer: (protocol, prefix, port) bindings to registered sockets.
 * The map layout and the lookup order are explained in steer-abi.h. */
/* Only uapi structs are read (the context, bpf_sock), whose layout never
 * changes: without CO-RE relocations libbpf need not read and parse the
 * kernel's BTF, a third of a load's time. */
#define BPF_NO_PRESERVE_ACCESS_INDEX
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

/* The prefixes map's entries, where lookups find them (steer-abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_FAST);
	__type(key, __u32);
	__type(value, struct steer_fast);
} fast SEC(".maps");

/* Per CPU, by counter id: a binding's hits (steer-abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_MAX_COUNTERS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Control plane only; declared here so that every link gets them pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_COUNTERS / STEER_COUNTER_WORD_BITS);
	__type(key, __u32);
	__type(value, __u64);
} counter_used SEC(".maps");

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

/*
 * Never set. The verifier knows read-only data and drops the branch it
 * guards, so lookups never pay for it, but the program still refers to the
 * control plane's maps: the kernel keeps every map of a link with its
 * program, so a link's state is whole for as long as the link lives, and a
 * lost pin can be pinned again from the program's maps (the daemon's drift
 * repair).
 */
const volatile __u32 steer_hold_maps = 0;

/* The link's tier (steer-abi.h), set at load to match its maps' sizes:
 * regions by the top 32 - region_shift bits of an address, port masks by
 * port & port_mask. The defaults are the top tier's. */
const volatile __u32 region_shift = 32 - STEER_REGION_BITS;
const volatile __u32 port_mask = STEER_PORTS - 1;
/* fast has fast_mask + 1 slots. */
const volatile __u32 fast_mask = STEER_MAX_FAST - 1;

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

/* The destination of one prefix entry's binding for port (0: none), and
 * that binding's counter id in *counter. */
static __always_inline __u16 match_port(struct steer_fast *p, __u16 port, __u32 *counter)
{
	int i;

#pragma unroll
	for (i = 0; i < STEER_SLOTS; i++) {
		if (i >= p->nslots)
			break;
		if (p->slot[i].port == port) {
			*counter = p->slot[i].counter;
			return p->slot[i].dest;
		}
	}
	if (p->noverflow) {
		struct steer_port_key k = { .prefix_id = p->id, .port = port };
		struct steer_port *o = bpf_map_lookup_elem(&ports, &k);

		if (o) {
			*counter = o->counter;
			return o->dest;
		}
	}
	*counter = p->wild_counter;
	return p->wild_dest;
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

/*
 * One probe: the longest prefix length left in mask word m (lengths base to
 * base + 63), looked up for the address a01:a23 (network-order words 0-1
 * and 2-3) and meta (gen, protocol, family, port: see probe_meta()).
 * Returns the binding's destination (> 0) if that prefix holds the port or a
 * port 0 binding; else -(bit + 1), the bit of m that was probed, so that the
 * caller clears it and goes on; 0 when m is empty.
 *
 * A global function, so that the verifier checks it once rather than once
 * per possible prefix length. Its arguments are scalars and the map key is
 * on its own stack: kernels before 5.12 take no pointer argument to a
 * global function, and 6.1 takes no pointer into one as a map key (the
 * verifier said "Arg#0 type PTR ... is not supported yet" on 5.10 and
 * "R2 type=mem expected=fp, ..." on 6.1).
 */
__noinline int steer_probe(__u64 a01, __u64 a23, __u64 meta, __u64 m, __u64 base)
{
	__u32 a0, a1, a2, a3, head, tag, idx, counter;
	struct steer_fast *p = NULL;
	__u64 *hits, h;
	__u16 dest;
	int bit, len, i;

	if (!m)
		return 0;
	bit = fls64(m);
	len = (int) (base & 0xff) + bit;
	if (len > 128)
		return -(bit + 1);
	/* gen, protocol, family (meta's low three bytes) and len. */
	head = (meta & 0xffffff) | (__u32) len << 24;
	a0 = mask_word(a01, 0, len);
	a1 = mask_word(a01 >> 32, 1, len);
	a2 = mask_word(a23, 2, len);
	a3 = mask_word(a23 >> 32, 3, len);
	h = steer_fast_hash(head, a0, a1, a2, a3);
	tag = head + 1;         /* gen + 1 in the low byte */
	for (i = 0; i < STEER_FAST_PROBES; i++) {
		struct steer_fast *f;

		idx = (h + i) & fast_mask;
		f = bpf_map_lookup_elem(&fast, &idx);
		if (!f || f->tag == STEER_FAST_EMPTY)
			break;
		if (*(__u32 *) f == tag && f->addr[0] == a0 && f->addr[1] == a1 && f->addr[2] == a2 &&
		    f->addr[3] == a3) {
			p = f;
			break;
		}
	}
	if (!p)
		return -(bit + 1);
	dest = match_port(p, meta >> 32, &counter);
	if (!dest)
		return -(bit + 1);
	/* This CPU's own: no atomic, no cache line shared between cores. */
	hits = bpf_map_lookup_elem(&counters, &counter);
	if (hits)
		*hits += 1;
	return dest;
}

static __always_inline __u64 probe_meta(__u8 gen, __u8 protocol, __u8 family, __u16 port)
{
	return gen | (__u64) protocol << 8 | (__u64) family << 16 | (__u64) port << 32;
}

/* Clears the bit that a failed probe (r < 0) of word m tried. */
static __always_inline __u64 probed(__u64 m, int r)
{
	return m & ~(1ULL << ((-r - 1) & 63));
}

SEC("sk_lookup")
int steer_lookup(struct bpf_sk_lookup *ctx)
{
	__u32 zero = 0, region, port;
	struct steer_portlens *pl, *wl;
	struct steer_config *cfg;
	__u64 a01, a23 = 0, meta, m0, m1 = 0, m2 = 0;
	__u8 family;
	int r = 0;

	if (steer_hold_maps) {
		struct steer_dest_key k = {};

		if (bpf_map_lookup_elem(&dests, &zero) || bpf_map_lookup_elem(&dest_ids, &k) ||
		    bpf_map_lookup_elem(&counter_used, &zero) || bpf_map_lookup_elem(&prefixes, &k))
			return SK_PASS;
	}
	/* Another sk_lookup program chose already: its choice stands. */
	if (ctx->sk)
		return SK_PASS;
	if (ctx->protocol != IPPROTO_TCP && ctx->protocol != IPPROTO_UDP)
		return SK_PASS;
	cfg = bpf_map_lookup_elem(&steer_cfg, &zero);
	if (!cfg)
		return SK_PASS;

	port = ctx->local_port;
	region = port & port_mask;
	pl = bpf_map_lookup_elem(&portlens, &region);
	wl = bpf_map_lookup_elem(&portlens, &zero);
	if (!pl || !wl)
		return SK_PASS;
	if (ctx->family == AF_INET) {
		struct steer_region4 *rg;
		__u32 a = ctx->local_ip4;

		a01 = a;
		region = bpf_ntohl(a) >> (region_shift & 31);
		rg = bpf_map_lookup_elem(&regions4, &region);
		if (!rg || !rg->lens)
			return SK_PASS;
		m0 = rg->lens & (pl->v4 | wl->v4);
		family = STEER_FAMILY_V4;
	} else if (ctx->family == AF_INET6) {
		struct steer_region6 *rg;
		__u32 w0 = ctx->local_ip6[0];

		a01 = w0 | (__u64) ctx->local_ip6[1] << 32;
		a23 = ctx->local_ip6[2] | (__u64) ctx->local_ip6[3] << 32;
		region = bpf_ntohl(w0) >> (region_shift & 31);
		rg = bpf_map_lookup_elem(&regions6, &region);
		if (!rg)
			return SK_PASS;
		m0 = rg->lens[0] & (pl->v6[0] | wl->v6[0]);
		m1 = rg->lens[1] & (pl->v6[1] | wl->v6[1]);
		m2 = rg->lens[2] & (pl->v6[2] | wl->v6[2]);
		family = STEER_FAMILY_V6;
	} else
		return SK_PASS;
	meta = probe_meta(cfg->gen, ctx->protocol, family, port);

	/* From the longest length down; the first binding found decides. */
	for (int i = 0; i < 129; i++) {
		if (m2) {
			r = steer_probe(a01, a23, meta, m2, 128);
			m2 = 0;         /* only /128 lives in word 2 */
		} else if (m1) {
			r = steer_probe(a01, a23, meta, m1, 64);
			m1 = probed(m1, r);
		} else if (m0) {
			r = steer_probe(a01, a23, meta, m0, 0);
			m0 = probed(m0, r);
		} else
			break;
		if (r > 0)
			break;
	}
	if (r <= 0)
		return SK_PASS;
	return deliver(ctx, r);
}

char LICENSE[] SEC("license") = "GPL";
