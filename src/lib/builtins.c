/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "map-pins.h"
#include "pin-store.h"
#include "flow.skel.h"
#include "steer.skel.h"

static void steer_destroy(void *p) { steer__destroy(p); }
static void flow_destroy(void *p) { flow__destroy(p); }

static int load_failed(NlLibbpfCapture *cap, int r, const char *name, NlError *e) {
        char tail[1024];

        nl_log_tail(nl_libbpf_capture_end(cap), 6, tail, sizeof(tail));
        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, r, "Built-in program '%s' failed to load (%m): %s",
                            name, tail);
}

/* Every map of the object that is not libbpf's internal global data is
 * pinned under map_dir by its name, or reused if already pinned there. */
static int set_map_pins(struct bpf_object *obj, const char *map_dir) {
        struct bpf_map *map;
        char path[4096];

        bpf_object__for_each_map(map, obj) {
                if (bpf_map__is_internal(map))
                        continue;
                if (snprintf(path, sizeof(path), "%s/%s", map_dir, bpf_map__name(map)) >= (int) sizeof(path))
                        return -ENAMETOOLONG;
                int r = bpf_map__set_pin_path(map, path);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The same maps, taken from their pins, with nothing made: the maps of a
 * link being updated are that link's, and a pin gone missing meanwhile
 * must fail the load, not give the link new, empty maps in its folder. */
static int reuse_map_pins(struct bpf_object *obj, const char *map_dir, NlError *e) {
        struct bpf_map *map;
        char path[4096];

        bpf_object__for_each_map(map, obj) {
                _cleanup_close_ int fd = -EBADF;
                int r;

                if (bpf_map__is_internal(map))
                        continue;
                /* Sizes may differ: they are the link's tier (checked by
                 * steer_set_rodata once every map is known). */
                fd = nl_map_open_pinned_as(map, map_dir, NL_MAP_MATCH_LAYOUT, path, sizeof(path));
                if (fd == -EMEDIUMTYPE)
                        return nl_error_set(e, NL_ERR_FAILED, fd, "Map %s has another layout than this build's", path);
                if (fd < 0)
                        return nl_error_set(e, NL_ERR_FAILED, fd, "Cannot open the link's map %s: %m", path);
                r = bpf_map__reuse_fd(map, fd);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot reuse map %s: %m", path);
        }
        return 0;
}

static const struct steer_tier steer_tiers[STEER_TIERS] = STEER_TIERS_TABLE;

/* The maps that a load makes are the tier's size. */
static int steer_size_maps(struct steer *skel, unsigned tier) {
        const struct steer_tier *t = &steer_tiers[tier];
        struct {
                struct bpf_map *map;
                uint32_t n;
        } sizes[] = {
                { skel->maps.regions4, 1U << t->region_bits },
                { skel->maps.regions6, 1U << t->region_bits },
                { skel->maps.portlens, 1U << t->port_bits },
                { skel->maps.prefixes, t->prefixes },
                { skel->maps.ports, t->overflow },
                { skel->maps.dests, t->dests },
                { skel->maps.dest_ids, t->dests },
                { skel->maps.dest_stats, t->dests },
                { skel->maps.fast, 2 * t->prefixes },
                { skel->maps.counters, t->counters },
                { skel->maps.counter_used, t->counters / STEER_COUNTER_WORD_BITS },
        };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                int r = bpf_map__set_max_entries(sizes[i].map, sizes[i].n);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool is_pow2_upto(uint32_t n, uint32_t max) {
        return n > 0 && n <= max && (n & (n - 1)) == 0;
}

/* The program's constants follow its maps' sizes, whoever made them (a
 * link of an older release has the top tier's); sizes the program could
 * not index safely are refused. */
static int steer_set_rodata(struct steer *skel, const char *map_dir, NlError *e) {
        uint32_t nregions = bpf_map__max_entries(skel->maps.regions4);
        uint32_t nports = bpf_map__max_entries(skel->maps.portlens);
        uint32_t ndests = bpf_map__max_entries(skel->maps.dests);
        uint32_t nfast = bpf_map__max_entries(skel->maps.fast);

        if (!is_pow2_upto(nregions, STEER_REGIONS) || bpf_map__max_entries(skel->maps.regions6) != nregions ||
            !is_pow2_upto(nports, STEER_PORTS) || bpf_map__max_entries(skel->maps.steer_cfg) != 1 ||
            bpf_map__max_entries(skel->maps.sockets) != STEER_SOCKETS || ndests < 2 || ndests > STEER_SOCKETS ||
            bpf_map__max_entries(skel->maps.dest_stats) != ndests ||
            bpf_map__max_entries(skel->maps.counter_used) * STEER_COUNTER_WORD_BITS !=
                    bpf_map__max_entries(skel->maps.counters) ||
            !is_pow2_upto(nfast, STEER_MAX_FAST) || nfast < STEER_FAST_PROBES)
                return nl_error_set(e, NL_ERR_FAILED, -EMEDIUMTYPE, "The maps in %s have sizes no steer tier has",
                                    map_dir);
        skel->rodata->region_shift = 32 - (uint32_t) __builtin_ctz(nregions);
        skel->rodata->port_mask = nports - 1;
        skel->rodata->fast_mask = nfast - 1;
        return 0;
}

static int load_steer(NlProgCache *c, const char *map_dir, NlMapsMode mode, unsigned tier, NlProgram **ret,
                      NlError *e) {
        _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {};
        struct steer *skel;
        int r;

        if (mode == NL_MAPS_NONE)
                map_dir = NULL;
        else if (!map_dir)
                return nl_error_set(e, NL_ERR_FAILED, -EINVAL, "builtin steer needs a map folder");
        /* The folder is the caller's to make: a loader child that outlived
         * a killed daemon must not make again a folder the next daemon has
         * tidied away, and pinning into a missing one fails below. */
        else if (access(map_dir, F_OK) < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Map folder %s: %m", map_dir);

        nl_libbpf_capture_begin(&cap);
        skel = steer__open();
        if (!skel)
                return load_failed(&cap, negative_errno(), "steer", e);
        r = steer_size_maps(skel, tier < STEER_TIERS ? tier : STEER_TIERS - 1);
        if (r >= 0 && mode == NL_MAPS_REUSE) {
                r = reuse_map_pins(skel->obj, map_dir, e);
                if (r >= 0)
                        r = steer_set_rodata(skel, map_dir, e);
                if (r < 0) {
                        nl_libbpf_capture_end(&cap);
                        steer__destroy(skel);
                        return r;
                }
        } else if (r >= 0) {
                if (map_dir)
                        r = set_map_pins(skel->obj, map_dir);
                if (r >= 0)
                        r = steer_set_rodata(skel, map_dir ? map_dir : "(new maps)", NULL);
        }
        /* Its maps are open (or named), its program not loaded yet. */
        if (r >= 0)
                nl_stop_point("steer-load");
        if (r >= 0)
                r = steer__load(skel);
        if (r < 0) {
                steer__destroy(skel);
                return load_failed(&cap, r, "steer", e);
        }
        nl_libbpf_capture_end(&cap);
        return nl_prog_cache_adopt(c, NULL, "builtin:steer", skel, steer_destroy,
                                   bpf_program__fd(skel->progs.steer_lookup), ret, e);
}

static int load_flow(NlProgCache *c, NlProgram **ret, NlError *e) {
        _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {};
        struct flow *skel;
        int r;

        nl_libbpf_capture_begin(&cap);
        skel = flow__open_and_load();
        if (!skel)
                return load_failed(&cap, negative_errno(), "flow", e);
        nl_libbpf_capture_end(&cap);
        r = nl_prog_cache_adopt(c, "builtin:flow", "builtin:flow", skel, flow_destroy,
                                bpf_program__fd(skel->progs.flow_dissect), ret, e);
        return r;
}

/* A throwaway cache: the caller keeps only the fd. With name, that
 * builtin; without, steer of tier. */
static int load_fd(const char *name, NlAttachType type, const char *map_dir, NlMapsMode mode, unsigned tier,
                   NlError *e) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = NULL;
        _cleanup_(nl_program_unrefp) NlProgram *p = NULL;
        int r;

        c = nl_prog_cache_new();
        if (!c)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = name ? nl_builtin_load_maps(c, name, type, map_dir, mode, &p, e)
                 : load_steer(c, map_dir, mode, tier, &p, e);
        if (r < 0)
                return r;
        r = fcntl(nl_program_fd(p), F_DUPFD_CLOEXEC, 3);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot duplicate program fd: %m");
        return r;
}

int nl_builtin_load_fd(const char *name, NlAttachType type, const char *map_dir, NlMapsMode mode, NlError *e) {
        return load_fd(name, type, map_dir, mode, 0, e);
}

int nl_builtin_load_steer_fd(const char *map_dir, unsigned tier, NlError *e) {
        return load_fd(NULL, NL_ATTACH_SK_LOOKUP, map_dir, NL_MAPS_PIN, tier, e);
}

int nl_builtin_load(NlProgCache *c, const char *name, NlAttachType type, const char *map_dir,
                    NlProgram **ret, NlError *e) {
        const NlBuiltin *b = NULL;
        int r;

        /* In process, the caller may leave the folder to us; only a
         * program that has maps makes one. */
        r = nl_builtin_get(name, type, &b, e);
        if (r < 0)
                return r;
        if (b->per_link && map_dir) {
                r = nl_mkdir_p(map_dir, 0700);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot create map folder %s: %m", map_dir);
        }
        return nl_builtin_load_maps(c, name, type, map_dir, NL_MAPS_PIN, ret, e);
}

int nl_builtin_load_maps(NlProgCache *c, const char *name, NlAttachType type, const char *map_dir,
                         NlMapsMode mode, NlProgram **ret, NlError *e) {
        const NlBuiltin *b;
        NlProgram *p;
        int r;

        r = nl_builtin_get(name, type, &b, e);
        if (r < 0)
                return r;
        if (b->per_link)
                return load_steer(c, map_dir, mode, NL_STEER_TIER_DEFAULT, ret, e);

        p = nl_prog_cache_lookup(c, "builtin:flow");
        if (p) {
                *ret = p;
                return 0;
        }
        return load_flow(c, ret, e);
}

int nl_builtin_load_steer(NlProgCache *c, const char *map_dir, NlMapsMode mode, unsigned tier, NlProgram **ret,
                          NlError *e) {
        return load_steer(c, map_dir, mode, tier, ret, e);
}
