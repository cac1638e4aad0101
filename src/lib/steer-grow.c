/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtins.h"
#include "link-ops.h"
#include "pin-store.h"
#include "steer-private.h"

/*
 * Growth: a link moved to the maps of a larger tier (steer.h). The new maps
 * are made and filled in <map_dir>/grow/, a folder of the link's own (no
 * other growth of the link can run: the caller serialises a link's changes,
 * and a crash leaves it for nl_steer_repair_pins). Steps, and what a
 * SIGKILL after each leaves:
 *   1. new program and maps in grow/, sockets shared: the link runs the
 *      old ones, whose pins are in map_dir; grow/ is left over.
 *   2. the link swapped to the new program: it runs the new maps, pinned
 *      in grow/, while map_dir pins the old ones.
 *   3. each new map's pin renamed over the old one in map_dir (one atomic
 *      rename each): map_dir pins some of each until the last.
 * The repair makes map_dir pin exactly the maps the link's program runs
 * and removes grow/: after any step, the link and its pins agree again,
 * on the old maps or the new.
 */

#define GROW_DIR "grow"

static const struct steer_tier tiers[STEER_TIERS] = STEER_TIERS_TABLE;

void nl_steer_set_link(NlSteer *s, int link_fd, NlSteerGrowHook hook, void *userdata) {
        s->link_fd = link_fd;
        s->hook = hook;
        s->hook_data = userdata;
}

static bool tier_holds(const struct steer_tier *t, const SteerNeed *need) {
        return t->prefixes >= need->prefixes && t->overflow >= need->overflow && t->dests >= need->dests &&
               t->counters >= need->counters;
}

static void steer_sizes(NlSteer *s, SteerNeed *ret) {
        *ret = (SteerNeed) { s->max_prefixes, s->max_overflow, s->max_dests, s->max_counters };
}

unsigned nl_steer_tier(NlSteer *s) {
        SteerNeed have;

        steer_sizes(s, &have);
        for (unsigned i = 0; i < STEER_TIERS; i++)
                if (tier_holds(&tiers[i], &have) && tiers[i].region_bits >= s->region_bits &&
                    (1U << tiers[i].port_bits) >= s->nports)
                        return i;
        return STEER_TIERS - 1;
}

static size_t max_size(size_t a, size_t b) {
        return a > b ? a : b;
}

void steer_reach(NlSteer *s, SteerNeed *ret) {
        const struct steer_tier *top = &tiers[STEER_TIERS - 1];

        steer_sizes(s, ret);
        if (s->link_fd < 0)
                return;
        ret->prefixes = max_size(ret->prefixes, top->prefixes);
        ret->overflow = max_size(ret->overflow, top->overflow);
        ret->dests = max_size(ret->dests, top->dests);
        ret->counters = max_size(ret->counters, top->counters);
}

unsigned steer_tier_for(NlSteer *s, const SteerNeed *need) {
        unsigned want;

        if (s->link_fd < 0)
                return STEER_TIERS;
        for (want = nl_steer_tier(s) + 1; want < STEER_TIERS; want++)
                if (!need || tier_holds(&tiers[want], need))
                        break;
        return want;
}

bool steer_tier_has_all_dests(unsigned tier) {
        return tier < STEER_TIERS && tiers[tier].dests >= STEER_MAX_DESTS;
}

int steer_grow_for(NlSteer *s, const SteerNeed *need, NlError *e) {
        unsigned want = steer_tier_for(s, need);
        int r;

        if (want >= STEER_TIERS)
                return 0;
        r = nl_steer_grow(s, want, e);
        return r < 0 ? r : 1;
}

int steer_retry_grown(NlSteer *s, int r, NlError *e) {
        NlError ge = {};
        int g;

        if ((r != -E2BIG && r != -ENOSPC) || s->link_fd < 0 || nl_steer_tier(s) >= STEER_TIERS - 1)
                return 0;
        g = steer_grow_for(s, NULL, &ge);
        if (g < 0 && e)
                *e = ge;
        else if (g > 0)
                nl_error_clear(e);
        return g;
}

/* The destinations in use, with their counters, written into t (same
 * ids: the shared sockets map is keyed by them), in a batch per map. */
static int copy_dests(NlSteer *s, NlSteer *t) {
        _cleanup_free_ struct steer_dest *d = calloc(s->max_dests, sizeof(*d));
        _cleanup_free_ struct steer_dest *out = calloc(s->max_dests, sizeof(*out));
        _cleanup_free_ struct steer_dest_key *keys = calloc(s->max_dests, sizeof(*keys));
        _cleanup_free_ uint32_t *ids = calloc(s->max_dests, sizeof(*ids));
        _cleanup_free_ char *stats = NULL;
        int ncpu = libbpf_num_possible_cpus();
        size_t vsz, n = 0;
        MapDump all = {};
        int r;

        if (ncpu < 0)
                return ncpu;
        vsz = (size_t) ncpu * sizeof(struct steer_dest_stats);
        stats = malloc(s->max_dests * vsz);
        if (!d || !out || !keys || !ids || !stats)
                return -ENOMEM;
        r = dests_load(s, d);
        if (r >= 0)
                r = map_dump(steer_fd(s, dest_stats), sizeof(uint32_t), vsz, &all);
        if (r < 0)
                return r;
        for (size_t i = 0; i < all.n; i++) {
                uint32_t id = ((uint32_t *) all.keys)[i];

                if (id == 0 || id >= s->max_dests || !d[id].in_use)
                        continue;
                ids[n] = id;
                memcpy(stats + n * vsz, (char *) all.values + i * vsz, vsz);
                snprintf(keys[n].label, sizeof(keys[n].label), "%s", d[id].label);
                keys[n].protocol = d[id].protocol;
                keys[n].family = d[id].family;
                out[n] = d[id];
                n++;
        }
        map_dump_done(&all);
        r = map_update_many(steer_fd(t, dest_stats), ids, stats, n);
        if (r >= 0)
                r = map_update_many(steer_fd(t, dests), ids, out, n);
        if (r >= 0)
                r = map_update_many(steer_fd(t, dest_ids), keys, ids, n);
        return r;
}

/* The live generation, its destinations and counters, written into the
 * new maps t, which no program runs yet. A binding's hits so far (its
 * per-CPU counter summed, and what an earlier release counted) go to the
 * hits of its new entry, and it counts on in a fresh counter of t's. */
static int copy_state(NlSteer *s, NlSteer *t) {
        _cleanup_free_ uint32_t *counter = NULL;
        BindingSet set = {};
        Built b = {};
        struct steer_config c;
        int r;

        r = copy_dests(s, t);
        if (r >= 0)
                r = cfg_get(s, &c);
        if (r >= 0)
                r = binding_set_read(s, (uint8_t) c.gen, &set);
        if (r >= 0)
                r = counters_add_hits(s, set.counter, set.b, set.n);
        if (r >= 0 && !(counter = calloc(set.n + 1, sizeof(*counter))))
                r = -ENOMEM;
        if (r >= 0)
                r = counters_take(t, counter, set.n);
        if (r >= 0)
                r = build_gen(set.b, set.dest, counter, set.n, (uint8_t) c.gen, &c.next_prefix_id, &b);
        if (r >= 0)
                r = map_update_many(steer_fd(t, ports), b.ok, b.ov, b.no);
        if (r >= 0)
                r = prefixes_write(t, b.pk, b.pv, b.np);
        if (r >= 0)
                r = regions_fill(t, set.b, set.n);
        if (r >= 0)
                r = cfg_put(t, &c);
        binding_set_done(&set);
        built_done(&b);
        return r;
}

static int grow_path(const char *map_dir, const char *name, char *buf, size_t size) {
        int n = name ? snprintf(buf, size, "%s/" GROW_DIR "/%s", map_dir, name)
                     : snprintf(buf, size, "%s/" GROW_DIR, map_dir);

        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static int move_pin(const char *name, void *userdata) {
        const char *map_dir = userdata;
        char from[4096], to[4096];

        if (strcmp(name, "sockets") == 0)
                return 0;       /* shared: the same map */
        if (grow_path(map_dir, name, from, sizeof(from)) < 0 ||
            snprintf(to, sizeof(to), "%s/%s", map_dir, name) >= (int) sizeof(to))
                return -ENAMETOOLONG;
        if (rename(from, to) < 0)
                return negative_errno();
        nl_crash_point("steer-grow-midway-pins");
        return 0;
}

/* Step 3: the new maps' pins over the old ones, one rename each. */
static int move_pins(const char *map_dir) {
        return steer_map_names(move_pin, (void *) map_dir);
}

/* Step 1 of a move to new maps (a growth, or an upgrade to this build's
 * maps at the link's own tier). */
static int move_begin(NlSteer *s, char *dir, size_t size, uint32_t *ret_prog_id, NlError *e) {
        char path[4096];
        NlLinkInfo li;
        int r;

        if (s->link_fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, -EBADF, "The steer maps have no link to grow");
        r = nl_link_get_info(s->link_fd, false, &li);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the steer link: %m");
        if (grow_path(s->map_dir, NULL, dir, size) < 0 || grow_path(s->map_dir, "sockets", path, sizeof(path)) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Steer map folder path too long");

        /* Step 1. What an earlier growth left is no map of the link's (the
         * repair ran, or this process made it and failed before step 2). */
        r = nl_pin_rm_rf(dir);
        if (r < 0 && r != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot remove %s: %m", dir);
        if (mkdir(dir, 0700) < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot create %s: %m", dir);
        r = bpf_obj_pin(steer_fd(s, sockets), path);
        if (r < 0) {
                nl_steer_grow_abort(s);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot pin the sockets map in %s: %m", dir);
        }
        *ret_prog_id = li.prog_id;
        return 0;
}

int nl_steer_grow_begin(NlSteer *s, unsigned tier, char *dir, size_t size, uint32_t *ret_prog_id, NlError *e) {
        if (tier >= STEER_TIERS || tier <= nl_steer_tier(s))
                return nl_error_set(e, NL_ERR_FAILED, -EINVAL, "Steer tier %u is not above the link's", tier);
        return move_begin(s, dir, size, ret_prog_id, e);
}

void nl_steer_grow_abort(NlSteer *s) {
        char dir[4096];

        if (grow_path(s->map_dir, NULL, dir, sizeof(dir)) >= 0)
                (void) nl_pin_rm_rf(dir);
}

int nl_steer_grow_finish(NlSteer *s, int prog_fd, uint32_t prog_id, NlError *e) {
        _cleanup_(nl_steer_closep) NlSteer *t = NULL;
        char dir[4096];
        int r;

        if (s->link_fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, -EBADF, "The steer maps have no link to grow");
        if (grow_path(s->map_dir, NULL, dir, sizeof(dir)) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Steer map folder path too long");
        r = nl_steer_open(dir, &t, e);
        if (r < 0)
                goto fail;
        r = copy_state(s, t);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot copy the bindings to the larger maps: %m");
                goto fail;
        }
        if (s->hook) {
                r = s->hook(prog_fd, false, s->hook_data, e);
                if (r < 0)
                        goto fail;
        }
        nl_crash_point("steer-grow-before-swap");

        /* Step 2: only from the program this link ran when it was read. */
        r = nl_link_replace(s->link_fd, prog_fd, prog_id, e);
        if (r < 0)
                goto fail;
        nl_crash_point("steer-grow-after-swap");
        /* From here on the link runs the new maps, and so does s: nothing
         * is undone. No lookup reads the old maps after the wait: the
         * counts they took since the copy are lost, the bindings are the
         * same. */
        steer_swap_maps(s, t);
        (void) wait_for_lookups();
        if (s->hook) {
                r = s->hook(prog_fd, true, s->hook_data, e);
                if (r < 0)
                        return r;
        }

        /* Step 3; if a rename fails, the repair's way once more (the
         * daemon's next start would do the same). */
        r = move_pins(s->map_dir);
        if (r < 0) {
                uint32_t id;

                if (nl_prog_fd_describe(prog_fd, &id, NULL, NULL) < 0 || nl_steer_repair_pins(s->map_dir, id, NULL) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Grown, but cannot move the new map pins to %s: %m",
                                            s->map_dir);
        }
        (void) nl_pin_rm_rf(dir);
        return 0;

fail:
        t = nl_steer_close(t);
        (void) nl_pin_rm_rf(dir);
        return r;
}

/* The link moved to new maps of tier, made by this build's program, all
 * in this process. */
static int steer_move(NlSteer *s, unsigned tier, NlError *e) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *cache = NULL;
        _cleanup_(nl_program_unrefp) NlProgram *prog = NULL;
        char dir[4096];
        uint32_t prog_id;
        int r;

        r = move_begin(s, dir, sizeof(dir), &prog_id, e);
        if (r < 0)
                return r;
        cache = nl_prog_cache_new();
        if (!cache) {
                nl_steer_grow_abort(s);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        r = nl_builtin_load_steer(cache, dir, NL_MAPS_PIN, tier, &prog, e);
        if (r < 0) {
                nl_steer_grow_abort(s);
                return r;
        }
        return nl_steer_grow_finish(s, nl_program_fd(prog), prog_id, e);
}

int nl_steer_grow(NlSteer *s, unsigned tier, NlError *e) {
        if (tier >= STEER_TIERS || tier <= nl_steer_tier(s))
                return nl_error_set(e, NL_ERR_FAILED, -EINVAL, "Steer tier %u is not above the link's", tier);
        return steer_move(s, tier, e);
}

int nl_steer_upgrade(NlSteer *s, NlError *e) {
        int r;

        if (s->max_counters > 0 && s->nfast > 0)
                return 0;
        r = steer_move(s, nl_steer_tier(s), e);
        return r < 0 ? r : 1;
}

/* The pin dir/name made that of map_fd, replacing another atomically. */
static int repin(const char *dir, const char *name, int map_fd) {
        char tmp[4096], to[4096];
        int r;

        if (grow_path(dir, name, tmp, sizeof(tmp)) < 0 || snprintf(to, sizeof(to), "%s/%s", dir, name) >= (int) sizeof(to))
                return -ENAMETOOLONG;
        (void) unlink(tmp);
        r = bpf_obj_pin(map_fd, tmp);
        if (r < 0)
                return r;
        return rename(tmp, to) < 0 ? negative_errno() : 0;
}

static uint32_t pinned_map_id(const char *dir, const char *name) {
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        char path[4096];
        int fd;

        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int) sizeof(path))
                return 0;
        fd = bpf_obj_get(path);
        if (fd < 0)
                return 0;
        if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                info.id = 0;
        close(fd);
        return info.id;
}

int nl_steer_repair_pins(const char *map_dir, uint32_t prog_id, NlError *e) {
        _cleanup_close_ int prog_fd = -EBADF;
        struct bpf_prog_info info = {};
        uint32_t len = sizeof(info), ids[16];
        char dir[4096];
        int r, changed = 0;

        if (grow_path(map_dir, NULL, dir, sizeof(dir)) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENAMETOOLONG, "Steer map folder path too long");
        prog_fd = bpf_prog_get_fd_by_id(prog_id);
        if (prog_fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, prog_fd, "Cannot open program %u: %m", prog_id);
        info.nr_map_ids = ELEMENTSOF(ids);
        info.map_ids = (uint64_t) (uintptr_t) ids;
        r = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read program %u: %m", prog_id);
        if (access(map_dir, F_OK) < 0)
                return 0;       /* no folder: the daemon's drift repair makes it */
        (void) mkdir(dir, 0700);
        for (uint32_t i = 0; i < info.nr_map_ids && i < ELEMENTSOF(ids); i++) {
                _cleanup_close_ int map_fd = bpf_map_get_fd_by_id(ids[i]);
                struct bpf_map_info mi = {};
                uint32_t mlen = sizeof(mi);

                if (map_fd < 0 || bpf_obj_get_info_by_fd(map_fd, &mi, &mlen) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, map_fd < 0 ? map_fd : negative_errno(),
                                            "Cannot read map %u of program %u: %m", ids[i], prog_id);
                /* libbpf's own maps (.rodata) are never pinned. */
                if (!mi.name[0] || strchr(mi.name, '.') || pinned_map_id(map_dir, mi.name) == mi.id)
                        continue;
                r = repin(map_dir, mi.name, map_fd);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot pin map %s in %s: %m", mi.name, map_dir);
                changed++;
        }
        r = nl_pin_rm_rf(dir);
        if (r < 0 && r != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot remove %s: %m", dir);
        return changed;
}
