/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "map-pins.h"
#include "steer-private.h"

/* A steer link's pinned maps: opened by name from its folder, and the
 * batch reads and writes every other steer file goes through. */

static bool is_pow2_upto(uint32_t n, uint32_t max) {
        return n > 0 && n <= max && (n & (n - 1)) == 0;
}

/* Records the size of the map at slot (its place, steer_fd): the link's
 * tier, whatever made it (links of older releases have the top tier's
 * sizes). False if the size is one the program could not have been loaded
 * with. Maps that must agree are checked against the first of them seen. */
static bool steer_size(NlSteer *s, size_t slot, uint32_t n) {
        if (slot == STEER_SLOT(regions4) || slot == STEER_SLOT(regions6)) {
                if (s->nregions && s->nregions != n)
                        return false;
                s->nregions = n;
                s->region_bits = is_pow2_upto(n, STEER_REGIONS) ? (uint32_t) __builtin_ctz(n) : 0;
                return is_pow2_upto(n, STEER_REGIONS);
        }
        if (slot == STEER_SLOT(portlens)) {
                s->nports = n;
                return is_pow2_upto(n, STEER_PORTS);
        }
        if (slot == STEER_SLOT(prefixes))
                s->max_prefixes = n;
        else if (slot == STEER_SLOT(ports))
                s->max_overflow = n;
        else if (slot == STEER_SLOT(sockets))
                return n == STEER_SOCKETS;
        else if (slot == STEER_SLOT(fast)) {
                s->nfast = n;
                return is_pow2_upto(n, STEER_MAX_FAST) && n >= STEER_FAST_PROBES;
        } else if (slot == STEER_SLOT(counters)) {
                s->max_counters = n;
                return n >= STEER_COUNTER_WORD_BITS && n <= STEER_MAX_COUNTERS && n % STEER_COUNTER_WORD_BITS == 0;
        } else if (slot == STEER_SLOT(counter_used))
                return n > 0 && n <= STEER_MAX_COUNTERS / STEER_COUNTER_WORD_BITS;
        else if (slot == STEER_SLOT(dest_stats) || slot == STEER_SLOT(dests)) {
                if (s->max_dests && s->max_dests != n)
                        return false;
                s->max_dests = n;
                return n >= 2 && n <= STEER_SOCKETS && n <= UINT16_MAX;
        }
        return n > 0;
}

NlSteer *nl_steer_close(NlSteer *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(s->fds); i++)
                safe_close(s->fds[i]);
        free(s->map_dir);
        free(s);
        return NULL;
}

/* 0 if unknown: no tier has it. */
static uint32_t map_max_entries(int fd) {
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);

        return bpf_obj_get_info_by_fd(fd, &info, &len) < 0 ? 0 : info.max_entries;
}

/* Each map the skeleton has, but libbpf's own (.rodata), from its pin in
 * map_dir, into the place steer_fd() finds it by. Only type and value size
 * must match: those are what the calls here read and write. The sizes are
 * the link's tier (steer-abi.h), any tier's, recorded in s; an older
 * build's maps have the top tier's. */
static int open_pins(NlSteer *s, const struct steer *skel, const char *map_dir, NlError *e) {
        for (int i = 0; i < skel->skeleton->map_cnt; i++) {
                const struct bpf_map_skeleton *m = &skel->skeleton->maps[i];
                size_t slot = (size_t) ((const char *) m->map - (const char *) &skel->maps) / sizeof(struct bpf_map *);
                char path[4096];
                int fd;

                if (bpf_map__is_internal(*m->map))
                        continue;
                if (slot >= ELEMENTSOF(s->fds))
                        return nl_error_set(e, NL_ERR_FAILED, -EINVAL, "Steer skeleton map %s out of place", m->name);
                fd = nl_map_open_pinned_as(*m->map, map_dir, NL_MAP_MATCH_VALUES, path, sizeof(path));
                /* A link of a release before per-CPU hit counters: read
                 * as it is, until steer_upgrade moves it to today's maps. */
                if (fd == -ENOENT && (slot == STEER_SLOT(counters) || slot == STEER_SLOT(counter_used) ||
                                      slot == STEER_SLOT(fast)))
                        continue;
                if (fd == -EMEDIUMTYPE)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, fd, "Not a steer link: map %s has another layout",
                                            path);
                if (fd < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, fd, "Not a steer link: cannot open map %s: %m", path);
                s->fds[slot] = fd;
                if (!steer_size(s, slot, map_max_entries(fd)))
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EMEDIUMTYPE,
                                            "Not a steer link: map %s has another layout", path);
        }
        return 0;
}

int nl_steer_open(const char *map_dir, NlSteer **ret, NlError *e) {
        _cleanup_(nl_steer_closep) NlSteer *s = NULL;
        struct steer *skel;
        struct stat st;
        int r;

        if (stat(map_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return nl_error_set(e, NL_ERR_NO_SUCH_LINK, -ENOENT, "No steer map folder %s", map_dir);
        s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < ELEMENTSOF(s->fds); i++)
                s->fds[i] = -EBADF;
        s->free_hint = 1;
        s->link_fd = -EBADF;
        s->map_dir = strdup(map_dir);
        if (!s->map_dir)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");

        /* Opened, never loaded (some 30 us): only for what it knows of the
         * maps, their names (the pins' names) and layouts. */
        skel = steer__open();
        if (!skel)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot open the steer skeleton: %m");
        r = open_pins(s, skel, map_dir, e);
        steer__destroy(skel);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int steer_map_names(int (*fn)(const char *name, void *userdata), void *userdata) {
        struct steer *skel = steer__open();
        int r = 0;

        if (!skel)
                return negative_errno();
        for (int i = 0; r >= 0 && i < skel->skeleton->map_cnt; i++)
                if (!bpf_map__is_internal(*skel->skeleton->maps[i].map))
                        r = fn(skel->skeleton->maps[i].name, userdata);
        steer__destroy(skel);
        return r;
}

static void swap_u32(uint32_t *a, uint32_t *b) {
        uint32_t x = *a;

        *a = *b;
        *b = x;
}

void steer_swap_maps(NlSteer *s, NlSteer *t) {
        for (size_t i = 0; i < ELEMENTSOF(s->fds); i++) {
                int fd = s->fds[i];

                s->fds[i] = t->fds[i];
                t->fds[i] = fd;
        }
        swap_u32(&s->region_bits, &t->region_bits);
        swap_u32(&s->nregions, &t->nregions);
        swap_u32(&s->nports, &t->nports);
        swap_u32(&s->max_prefixes, &t->max_prefixes);
        swap_u32(&s->max_overflow, &t->max_overflow);
        swap_u32(&s->max_dests, &t->max_dests);
        swap_u32(&s->max_counters, &t->max_counters);
        swap_u32(&s->nfast, &t->nfast);
}

int cfg_get(NlSteer *s, struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_lookup_elem(steer_fd(s, steer_cfg), &zero, c);
}

int cfg_put(NlSteer *s, const struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_update_elem(steer_fd(s, steer_cfg), &zero, c, BPF_ANY);
}

/* The kernel waits for every running BPF program to finish after an update
 * of a map-in-map (maybe_wait_bpf_programs), so after this no lookup is
 * still reading a generation that was switched away from. */
int wait_for_lookups(void) {
        _cleanup_close_ int inner = -EBADF, outer = -EBADF;
        uint32_t zero = 0, v;

        inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
        if (inner < 0)
                return inner;
        LIBBPF_OPTS(bpf_map_create_opts, o, .inner_map_fd = inner);
        outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL, 4, 4, 1, &o);
        if (outer < 0)
                return outer;
        v = (uint32_t) inner;
        return bpf_map_update_elem(outer, &zero, &v, BPF_ANY);
}

void map_dump_done(MapDump *d) {
        free(d->keys);
        free(d->values);
        *d = (MapDump) {};
}

static int map_dump_grow(MapDump *d, size_t cap, size_t ksz, size_t vsz) {
        void *k, *v;

        k = realloc(d->keys, cap * ksz);
        if (!k)
                return -ENOMEM;
        d->keys = k;
        v = realloc(d->values, cap * vsz);
        if (!v)
                return -ENOMEM;
        d->values = v;
        return 0;
}

int map_dump(int fd, size_t ksz, size_t vsz, MapDump *d) {
        uint64_t in_batch = 0, out_batch = 0;
        size_t cap = 4096;
        bool first = true;
        int r;

        *d = (MapDump) {};
        r = map_dump_grow(d, cap, ksz, vsz);
        while (r >= 0) {
                uint32_t count;

                if (cap - d->n < 1024) {
                        cap *= 2;
                        r = map_dump_grow(d, cap, ksz, vsz);
                        if (r < 0)
                                break;
                }
                count = (uint32_t) (cap - d->n);
                r = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch,
                                         (char *) d->keys + d->n * ksz, (char *) d->values + d->n * vsz,
                                         &count, NULL);
                if (r < 0 && r != -ENOENT && r != -ENOSPC)
                        break;
                d->n += count;
                if (r == -ENOENT)
                        return 0;
                if (r == -ENOSPC && count == 0) {
                        /* One hash bucket holds more than the room left. */
                        cap *= 2;
                        r = map_dump_grow(d, cap, ksz, vsz);
                        continue;
                }
                in_batch = out_batch;
                first = false;
                r = 0;
        }
        map_dump_done(d);
        return r;
}

int map_update_many(int fd, const void *keys, const void *values, size_t n) {
        uint32_t count = (uint32_t) n;

        if (n == 0)
                return 0;
        return bpf_map_update_batch(fd, keys, values, &count, NULL);
}

/* Batch operations on arrays are refused by some kernels (Debian 11's 5.10
 * says ENOTSUPP, 524, for per-CPU ones): then one call per entry. */
static bool batch_refused(int r) {
        return r == -524 || r == -EOPNOTSUPP || r == -EINVAL;
}

int array_update_many(int fd, const uint32_t *keys, const void *values, size_t vsz, size_t n) {
        int r = map_update_many(fd, keys, values, n);

        for (size_t i = 0; batch_refused(r) && i < n; i++) {
                int q = bpf_map_update_elem(fd, &keys[i], (const char *) values + i * vsz, BPF_ANY);
                if (q < 0)
                        return q;
                if (i == n - 1)
                        r = 0;
        }
        return r;
}

int array_read_all(int fd, void *values, size_t vsz, uint32_t n) {
        MapDump d = {};
        int r = map_dump(fd, sizeof(uint32_t), vsz, &d);

        if (r >= 0)
                for (size_t i = 0; i < d.n; i++) {
                        uint32_t k = ((uint32_t *) d.keys)[i];
                        if (k < n)
                                memcpy((char *) values + (size_t) k * vsz, (char *) d.values + i * vsz, vsz);
                }
        map_dump_done(&d);
        for (uint32_t k = 0; batch_refused(r) && k < n; k++) {
                int q = bpf_map_lookup_elem(fd, &k, (char *) values + (size_t) k * vsz);
                if (q < 0)
                        return q;
                if (k == n - 1)
                        r = 0;
        }
        return r < 0 ? r : 0;
}

/* Deletes every key that is there. The kernel's batch delete stops at the
 * first key that is not (count says where): the rest is deleted past it. */
int map_delete_many(int fd, const void *keys, size_t ksz, size_t n) {
        size_t done = 0;

        while (done < n) {
                uint32_t count = (uint32_t) (n - done);
                int r = bpf_map_delete_batch(fd, (const char *) keys + done * ksz, &count, NULL);

                if (r != -ENOENT)
                        return r < 0 ? r : 0;
                done += (size_t) count + 1;
        }
        return 0;
}
