/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * What the files of the steer control plane share and nothing else sees
 * (the public API is steer.h). One file per noun:
 *   steer-parse.c         protocol, prefix, port and label input
 *   steer-maps.c          opening a link's maps, the configuration, batch reads
 *   steer-keys.c          bindings <-> prefix keys, their order
 *   steer-destinations.c  destination ids: made, counted, released, listed
 *   steer-regions.c       the region and port-length masks lookups narrow by
 *   steer-region-cells.c  those masks through a SetBindings, entry by entry
 *   steer-bindings.c      one binding added or removed, a generation read
 *   steer-set-bindings.c  SetBindings: a whole set written beside and switched to
 *   steer-sockets.c       registering and unregistering sockets
 *   steer-repair.c        mending what a crash left half done
 *   steer-grow.c          moving a link to the maps of a larger tier
 *   steer-fast.c          the table lookups read, written with prefixes
 *   steer-counters.c      per-CPU hit counters: ids taken, released, summed
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer.h"

/* The skeleton knows the maps as bpf/steer.bpf.c declares them, once: their
 * names (those of their pins) and layouts. Its functions are steer-maps.c's
 * alone to call; elsewhere only its types are wanted. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "steer.skel.h"
#pragma GCC diagnostic pop

/* Where steer_fd() finds the map steer.bpf.c calls name: its place among
 * the skeleton's maps. */
#define STEER_SLOT(name) \
        ((offsetof(struct steer, maps.name) - offsetof(struct steer, maps)) / sizeof(struct bpf_map *))
#define steer_fd(s, name) ((s)->fds[STEER_SLOT(name)])

struct NlSteer {
        /* Every map of the skeleton by its place there; libbpf's own
         * (.rodata) stays -EBADF. */
        int fds[sizeof(((struct steer *) NULL)->maps) / sizeof(struct bpf_map *)];
        /* No destination id below this is free (a hint: ids are taken in
         * order, so a search for a free one starts where the last ended
         * rather than at 1, which made adding n labels cost n^2 reads). */
        uint32_t free_hint;
        /* The link's sizes (its tier, steer-abi.h), as its maps say. */
        uint32_t region_bits, nregions, nports, max_prefixes, max_overflow, max_dests;
        /* 0: the link's maps have no per-CPU counters (an earlier
         * release's, not upgraded yet: steer_upgrade). */
        uint32_t max_counters;
        /* Slots of fast (0: none, as max_counters). */
        uint32_t nfast;
        /* No counter id below this is free (as free_hint for destinations). */
        uint32_t counter_hint;
        char *map_dir;
        /* Set by nl_steer_set_link: the link to move to larger maps. */
        int link_fd;
        NlSteerGrowHook hook;
        void *hook_data;
        /* nl_steer_set_no_wait */
        bool no_wait;
};

/* steer-parse.c */
unsigned addr_bytes(uint8_t family);
/* Checks a binding built by hand rather than parsed. */
int binding_check(const NlSteerBinding *b, bool want_label, NlError *e);

/* steer-maps.c */
/* Calls fn with the name of each map a link pins (the skeleton's maps but
 * libbpf's own), until fn fails: returns that failure, or 0. */
int steer_map_names(int (*fn)(const char *name, void *userdata), void *userdata);
/* s takes the maps (and sizes) of t, t those of s. */
void steer_swap_maps(NlSteer *s, NlSteer *t);
int cfg_get(NlSteer *s, struct steer_config *c);
int cfg_put(NlSteer *s, const struct steer_config *c);
int wait_for_lookups(void);

/* Every entry of a map, in one batch syscall per few thousand entries. */
typedef struct MapDump {
        void *keys, *values;
        size_t n;
} MapDump;

void map_dump_done(MapDump *d);
int map_dump(int fd, size_t ksz, size_t vsz, MapDump *d);
int map_update_many(int fd, const void *keys, const void *values, size_t n);
int map_delete_many(int fd, const void *keys, size_t ksz, size_t n);
/* The same for array maps (keys 0..n-1), one entry at a time where the
 * kernel refuses batches of them. */
int array_update_many(int fd, const uint32_t *keys, const void *values, size_t vsz, size_t n);
int array_read_all(int fd, void *values, size_t vsz, uint32_t n);

/* steer-keys.c */
uint8_t abi_family(uint8_t family);
uint8_t af_from_abi(uint8_t f);
void prefix_key(const NlSteerBinding *b, uint8_t gen, struct steer_prefix_key *k);
void binding_from_key(const struct steer_prefix_key *k, NlSteerBinding *b);
int binding_cmp(const void *x, const void *y);
/* The same but the port: 0 when a and b are of one prefix (entry). */
int binding_prefix_cmp(const NlSteerBinding *a, const NlSteerBinding *b);

/* steer-destinations.c */
int dest_find(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam);
int dests_load(NlSteer *s, struct steer_dest *d);
int dest_get(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam, NlError *e);
int dest_release_if_unused(NlSteer *s, uint32_t id, const struct steer_dest *d);
int dest_release(NlSteer *s, uint32_t id);
int dest_ref(NlSteer *s, uint32_t id, int delta);
int refs_recount(NlSteer *s, const uint16_t *dest, size_t n);

/*
 * The new set's destinations. Ids are planned in memory first, from one
 * read of the table: a set that needs more destinations than are free is
 * refused before anything is written, and the ones a call made are taken
 * back if it fails before the switch (nothing of a refused SetBindings
 * remains, not even its labels).
 */
typedef struct DestPlan {
        struct steer_dest *table;       /* every id, as read, plus the planned ones */
        uint32_t *made;                 /* ids this call makes */
        size_t n_made;
} DestPlan;

void dest_plan_done(DestPlan *p);
/* Ids below limit (the most the link may grow to): the caller checks that
 * the highest planned id fits its maps before dests_make. */
int dests_plan(NlSteer *s, const NlSteerBinding *b, size_t n, uint32_t limit, uint16_t *dest, DestPlan *p,
               NlError *e);
void dests_unmake(NlSteer *s, const DestPlan *p);
int dests_make(NlSteer *s, const DestPlan *p, NlError *e);

/* steer-fast.c: every write of prefix entries, into prefixes and fast.
 * Entries of a generation no lookup reads (a new one, or maps no program
 * runs yet); -E2BIG if fast has no room for one. */
int prefixes_write(NlSteer *s, const struct steer_prefix_key *k, const struct steer_prefix *v, size_t n);
/* Entries no lookup reads any more (a generation switched away from, an
 * unfinished one). */
int prefixes_delete(NlSteer *s, const struct steer_prefix_key *k, size_t n);
/* One entry of the live generation, put or removed so that every lookup
 * sees it before or after, whole. */
int prefix_put(NlSteer *s, const struct steer_prefix_key *k, const struct steer_prefix *v);
int prefix_delete(NlSteer *s, const struct steer_prefix_key *k);
/* fast made to hold exactly live (prefixes' entries of generation gen). */
int prefixes_repair(NlSteer *s, uint8_t gen, const MapDump *live);

/* steer-counters.c */
/* n fresh counter ids in ids, zeroed on every CPU (all 0 if the link's maps
 * have no per-CPU counters); -ENOSPC, with none taken, if too few are free. */
int counters_take(NlSteer *s, uint32_t *ids, size_t n);
void counters_release(NlSteer *s, const uint32_t *ids, size_t n);
size_t counters_in_use(NlSteer *s);
/* The ids taken made exactly ids[n] (a crash may have left others taken). */
int counters_rebuild(NlSteer *s, const uint32_t *ids, size_t n);
/* b[i].hits += counter ids[i] summed over CPUs. */
int counters_add_hits(NlSteer *s, const uint32_t *ids, NlSteerBinding *b, size_t n);

/* steer-regions.c */
int regions_mark(NlSteer *s, const NlSteerBinding *b);

/* The regions and the port masks: written together, read together. What
 * the maps hold is kept beside (live) once known, so that a write sends
 * only the entries that differ: at the top tiers the arrays have 65,536
 * entries each, and writing them whole took most of a SetBindings. */
typedef struct Regions {
        struct steer_region4 *v4, *live_v4;
        struct steer_region6 *v6, *live_v6;
        struct steer_portlens *pl, *live_pl;
        bool live_known;        /* false: the next write sends every entry */
        uint32_t *keys;
        uint32_t region_bits, nregions, nports;
} Regions;

void regions_done(Regions *g);
/* live_known: the maps are known to be all zero (new maps). */
int regions_alloc(NlSteer *s, Regions *g, bool live_known);
void regions_add(Regions *g, const NlSteerBinding *b);
int regions_read(NlSteer *s, Regions *g);
int regions_write(NlSteer *s, Regions *g);
/* The regions of exactly the bindings b (g: allocated, any content). */
int regions_rewrite(NlSteer *s, Regions *g, const NlSteerBinding *b, size_t n);
/* The regions, of region_bits bits, that a prefix of len bits covers. */
void region_range(uint32_t bits, const uint8_t *addr, uint8_t len, uint32_t *first, uint32_t *count);

/* steer-region-cells.c: the masks through a SetBindings. */
typedef struct RegionCells {
        struct RegionCell *c;
        size_t n;
} RegionCells;

typedef struct RegionsChange {
        bool few;               /* by cells (few entries touched), else whole arrays in g */
        RegionCells cells;
        Regions g;
} RegionsChange;

void regions_change_done(RegionsChange *rc);
/* Adds the bits of the bindings add to the maps, beside those of live (the
 * set lookups use now). */
int regions_widen(NlSteer *s, RegionsChange *rc, const NlSteerBinding *add, size_t n_add,
                  const NlSteerBinding *live, size_t n_live);
/* After regions_widen: the masks made those of exactly keep, in every
 * entry keep or drop (the other set) touches. */
int regions_settle(NlSteer *s, RegionsChange *rc, const NlSteerBinding *keep, size_t nk,
                   const NlSteerBinding *drop, size_t nd);
/* The masks of the bindings b written into new maps (all zero). */
int regions_fill(NlSteer *s, const NlSteerBinding *b, size_t n);

/* steer-bindings.c */
_printf_(4, 5) int maps_full(NlSteer *s, NlError *e, int r, const char *what, ...);

/* The bindings of one generation, with destination ids in .label unset;
 * dest[i] is binding i's destination, counter[i] its counter id, and
 * b[i].hits what an earlier release's program counted (steer-abi.h). */
typedef struct BindingSet {
        NlSteerBinding *b;
        uint16_t *dest;
        uint32_t *counter;
        size_t n, cap;
        /* What the generation is made of, for deleting it. */
        MapDump prefixes;   /* only this generation's entries */
        MapDump ports;      /* only the overflow entries of those */
} BindingSet;

void binding_set_done(BindingSet *set);
/* Reads every binding of generation gen, sorted by binding_cmp. */
int binding_set_read(NlSteer *s, uint8_t gen, BindingSet *set);

/* steer-set-bindings.c */
/* The entries of generation gen for the sorted, unique bindings b. */
typedef struct Built {
        struct steer_prefix_key *pk;
        struct steer_prefix *pv;
        size_t np;
        struct steer_port_key *ok;
        struct steer_port *ov;
        size_t no;
} Built;

void built_done(Built *t);
int build_gen(const NlSteerBinding *b, const uint16_t *dest, const uint32_t *counter, size_t n, uint8_t gen,
              uint32_t *next_id, Built *t);
/* How many prefix entries (np) and overflow ports (no) build_gen makes of
 * the sorted, unique bindings b, without building them. */
void built_count(const NlSteerBinding *b, size_t n, size_t *ret_np, size_t *ret_no);

/* steer-grow.c */
/* What a change needs room for, in entries of each map. */
typedef struct SteerNeed {
        size_t prefixes, overflow, dests, counters;
} SteerNeed;

/* The tier that holds need (NULL: the next), STEER_TIERS if none or the
 * link cannot grow. */
unsigned steer_tier_for(NlSteer *s, const SteerNeed *need);
/* Whether a link of tier has every destination id there is. */
bool steer_tier_has_all_dests(unsigned tier);
/* After a change was refused for want of room: 1 if the link was moved to
 * maps that hold need (NULL: to the next tier) and the change should be
 * tried again, 0 if it cannot grow (the refusal stands), or an error. */
int steer_grow_for(NlSteer *s, const SteerNeed *need, NlError *e);
/* After a change that failed with r: if the maps were full (-E2BIG) or out
 * of destination ids (-ENOSPC), the link is moved to the next tier and 1
 * returned (e cleared: the caller tries once more); otherwise 0, or the
 * growth's error (in e, replacing the change's). */
int steer_retry_grown(NlSteer *s, int r, NlError *e);
/* The largest sizes this link can reach: its own, or the top tier's if it
 * can grow. */
void steer_reach(NlSteer *s, SteerNeed *ret);
