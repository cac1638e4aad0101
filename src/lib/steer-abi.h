/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The maps of builtin:steer, shared by bpf/steer.bpf.c and src/lib/steer-*.c.
 * Each steer link has its own copy, pinned by map name in
 * <pin-root>/<netns_ino>/steer/<link-name>/.
 *
 * Lookup of (protocol, family, address, port):
 *   1. regions4/regions6[top region_bits of the address] is a bit mask of
 *      the prefix lengths that may match an address of that region (a
 *      superset: a stale bit costs one probe, never a wrong answer).
 *   1b. That mask is narrowed by portlens[port % n] | portlens[0]: the
 *      lengths that have any binding of this port, or of port 0 (again a
 *      superset, for every protocol and for every port of the same index). With bindings spread over many ports, a lookup
 *      that matches nothing then probes nothing, where the region mask alone
 *      would have it probe every length of the /16.
 *   2. From the longest such length down, the prefix entry of (gen, proto,
 *      family, len, address masked to len) is probed in fast, an open
 *      addressed table of the prefixes map's entries (below): a hash the
 *      program computes, and a few array reads, where a lookup in the
 *      kernel's hash map costs about as much as the rest of the program.
 *      The first prefix found that has the port (inline slot, else the
 *      ports overflow hash) or a port 0 binding decides: longest prefix
 *      first, then a specific port over 0.
 *   3. The decision is a destination id; sockets[id] is the socket.
 *   4. The binding's hit counter, counters[its counter id], is per CPU, as
 *      is dest_stats[id]: no cache line is shared between cores.
 * So a lookup costs one array read and, with few prefix lengths per /16,
 * one or two hash probes whatever the number of bindings, where an LPM trie
 * walks log2(n) nodes.
 *
 * gen lets SetBindings write a whole new set beside the live one and switch
 * to it with one write of steer_cfg[0].gen.
 */

#ifdef __bpf__
/* vmlinux.h has the types. */
#else
#include <linux/types.h>
#endif

/*
 * The largest maps, the sizes of every link made by the first releases: a
 * link's maps are sized at load by a tier (below), and these are the top
 * tier's. The control plane reads a link's sizes from its maps, never from
 * these, so links of any tier and of any release are served alike.
 */
#define STEER_MAX_DESTS 4096          /* destination ids 1..4095; 0 means none */
#define STEER_MAX_PREFIXES 262144     /* both generations together */
#define STEER_MAX_OVERFLOW 262144
#define STEER_SLOTS 6                 /* ports kept inline in a prefix entry */
#define STEER_LABEL_MAX 64
#define STEER_REGION_BITS 16
#define STEER_REGIONS (1U << STEER_REGION_BITS)
#define STEER_SOCKETS STEER_MAX_DESTS /* never tiered: registered sockets cannot be copied */
#define STEER_MAX_COUNTERS (STEER_MAX_PREFIXES + STEER_MAX_OVERFLOW)
#define STEER_MAX_FAST (2 * STEER_MAX_PREFIXES) /* fast: twice the prefixes, at most half full */

/*
 * Tiers: an idle link takes the smallest maps, and one that needs more room
 * is loaded again at a larger tier (its bindings copied over). Region and
 * port masks of a lower tier are coarser (regions by the top region_bits of
 * an address, port masks by port % 2^port_bits): a superset still, so a
 * coarse bit costs a probe, never a wrong answer.
 */
struct steer_tier {
        __u32 region_bits;      /* regions4/regions6: 2^region_bits entries */
        __u32 port_bits;        /* portlens: 2^port_bits entries */
        __u32 prefixes;         /* prefixes hash (both generations) */
        __u32 overflow;         /* ports hash */
        __u32 dests;            /* dests, dest_ids, dest_stats: ids 1..dests-1 */
        __u32 counters;         /* counters (per CPU), counter_used: ids 1..counters-1 */
};

#define STEER_TIERS 4
#define STEER_TIERS_TABLE {                                                \
        { 10, 10, 1024, 1024, 128, 1024 },                                 \
        { 14, 14, 16384, 16384, 512, 32768 },                              \
        { 16, 16, 65536, 65536, STEER_MAX_DESTS, 131072 },                 \
        { STEER_REGION_BITS, 16, STEER_MAX_PREFIXES, STEER_MAX_OVERFLOW, STEER_MAX_DESTS, \
          STEER_MAX_COUNTERS },                                            \
}

/* steer_cfg[0] */
struct steer_config {
        __u32 gen;              /* 0 or 1: the generation lookups use */
        __u32 next_prefix_id;   /* control plane only: ids for ports overflow keys */
};

struct steer_region4 {
        __u64 lens;             /* bit L: some IPv4 prefix /L may cover this /16 */
};

struct steer_region6 {
        __u64 lens[3];          /* bit L of the 192: some IPv6 prefix /L, L <= 128 */
};

#define STEER_PORTS 65536

/* portlens[port]: the prefix lengths bound with that port (0: port 0). */
struct steer_portlens {
        __u64 v4;
        __u64 v6[3];
};

struct steer_prefix_key {
        __u8 gen;
        __u8 protocol;          /* IPPROTO_TCP, IPPROTO_UDP */
        __u8 family;            /* STEER_FAMILY_V4 / _V6 */
        __u8 len;
        __u32 addr[4];          /* network order, bits past len zero; IPv4 in addr[0] */
};

#define STEER_FAMILY_V4 4
#define STEER_FAMILY_V6 6

/*
 * Hit counters: counter is the binding's id in counters (per CPU; 0: none,
 * as in the entries of releases before counters were per CPU). hits is what
 * those releases' programs counted, shared between CPUs: today's program
 * never writes it, and a binding's hits are hits plus its counter summed
 * over CPUs. The value sizes are those of the first release, so that its
 * maps are read as they are.
 */
struct steer_slot {
        __u16 port;             /* host order, never 0 */
        __u16 dest;
        __u32 counter;
        __u64 hits;
};

struct steer_prefix {
        __u32 id;               /* key of this prefix's ports beyond the slots */
        __u16 nslots;
        __u16 noverflow;
        __u16 wild_dest;        /* the port 0 binding's destination, 0 if none */
        __u16 _pad;
        __u32 wild_counter;
        __u64 wild_hits;
        struct steer_slot slot[STEER_SLOTS];
};

struct steer_port_key {
        __u32 prefix_id;
        __u32 port;
};

struct steer_port {
        __u16 dest;
        __u16 _pad;
        __u32 counter;
        __u64 hits;
};

/*
 * fast[]: the prefixes map's entries again, where the program finds them
 * (the prefixes map stays the control plane's, and what an earlier
 * release's program reads). An entry of key k lives in one of the
 * STEER_FAST_PROBES slots from (steer_fast_hash(k) & mask) on, and a lookup
 * reads them in order until it finds k or an empty slot. The control plane
 * writes a slot a lookup may read in two steps, so that no lookup reads
 * half an entry: the whole entry hidden, then its tag alone changed; an
 * entry replaced in the live generation is written into a free slot of its
 * chain and the old one hidden after.
 */
#define STEER_FAST_PROBES 64
#define STEER_FAST_EMPTY 0      /* never used since the chains through it were made: a lookup stops */
#define STEER_FAST_HIDDEN 0xff  /* removed, or being written: a lookup reads on */

struct steer_fast_slot {
        __u16 port;
        __u16 dest;
        __u32 counter;
};

struct steer_fast {
        __u8 tag;               /* gen + 1 for an entry of generation gen; or the above */
        __u8 protocol;
        __u8 family;
        __u8 len;
        __u32 addr[4];
        __u32 id;
        __u16 nslots;
        __u16 noverflow;
        __u16 wild_dest;
        __u16 _pad;
        __u32 wild_counter;
        struct steer_fast_slot slot[STEER_SLOTS];
};

/* Of a key's head (gen | protocol << 8 | family << 16 | len << 24) and its
 * address words; the program and the control plane compute the same. */
static inline __u64 steer_fast_hash(__u32 head, __u32 a0, __u32 a1, __u32 a2, __u32 a3)
{
        __u64 h = (__u64) head * 0x9E3779B97F4A7C15ULL;

        h ^= (__u64) a0 * 0xC2B2AE3D27D4EB4FULL;
        h ^= (__u64) a1 * 0x165667B19E3779F9ULL;
        h ^= (__u64) a2 * 0xD6E8FEB86659FD93ULL;
        h ^= (__u64) a3 * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
        h *= 0xC4CEB9FE1A85EC53ULL;
        h ^= h >> 29;
        return h;
}

/* counter_used[i / 64] bit i % 64: counter id i is taken (control plane
 * only; ids are taken for a binding and released with it). */
#define STEER_COUNTER_WORD_BITS 64

/* Per CPU, by destination id. */
struct steer_dest_stats {
        __u64 lookups;
        __u64 misses;           /* matched, but no socket registered */
        __u64 errors;           /* bpf_sk_assign refused the socket */
};

/* Control plane only: what a destination id stands for. */
struct steer_dest {
        char label[STEER_LABEL_MAX + 1];
        __u8 protocol;
        __u8 family;
        __u8 in_use;
        __u8 _pad;
        __u32 refs;             /* bindings (both generations) pointing here */
};

struct steer_dest_key {
        char label[STEER_LABEL_MAX + 1];
        __u8 protocol;
        __u8 family;
        __u8 _pad;
};
