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

static const struct {
        const char *name;
        size_t offset;
        enum bpf_map_type type;
        uint32_t value_size;
} steer_maps[] = {
        /* regions4 before regions6: see steer_size(). */
        { "steer_cfg",  offsetof(NlSteer, cfg),        BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_config) },
        { "regions4",   offsetof(NlSteer, regions4),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_region4) },
        { "regions6",   offsetof(NlSteer, regions6),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_region6) },
        { "portlens",   offsetof(NlSteer, portlens),   BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_portlens) },
        { "prefixes",   offsetof(NlSteer, prefixes),   BPF_MAP_TYPE_HASH,         sizeof(struct steer_prefix) },
        { "ports",      offsetof(NlSteer, ports),      BPF_MAP_TYPE_HASH,         sizeof(struct steer_port) },
        { "sockets",    offsetof(NlSteer, sockets),    BPF_MAP_TYPE_SOCKMAP,      sizeof(uint64_t) },
        { "dest_stats", offsetof(NlSteer, dest_stats), BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct steer_dest_stats) },
        { "dests",      offsetof(NlSteer, dests),      BPF_MAP_TYPE_ARRAY,        sizeof(struct steer_dest) },
        { "dest_ids",   offsetof(NlSteer, dest_ids),   BPF_MAP_TYPE_HASH,         sizeof(uint32_t) },
};

static bool is_pow2_upto(uint32_t n, uint32_t max) {
        return n > 0 && n <= max && (n & (n - 1)) == 0;
}

/* Records the size of the map at offset: the link's tier, whatever made
 * it (links of older releases have the top tier's sizes). False if the
 * size is one the program could not have been loaded with. */
static bool steer_size(NlSteer *s, size_t offset, uint32_t n) {
        if (offset == offsetof(NlSteer, regions4)) {
                s->nregions = n;
                s->region_bits = is_pow2_upto(n, STEER_REGIONS) ? (uint32_t) __builtin_ctz(n) : 0;
                return is_pow2_upto(n, STEER_REGIONS);
        }
        if (offset == offsetof(NlSteer, regions6))
                return n == s->nregions;
        if (offset == offsetof(NlSteer, portlens)) {
                s->nports = n;
                return is_pow2_upto(n, STEER_PORTS);
        }
        if (offset == offsetof(NlSteer, prefixes))
                s->max_prefixes = n;
        else if (offset == offsetof(NlSteer, ports))
                s->max_overflow = n;
        else if (offset == offsetof(NlSteer, sockets))
                return n == STEER_SOCKETS;
        else if (offset == offsetof(NlSteer, dest_stats) || offset == offsetof(NlSteer, dests)) {
                /* dests is listed after dest_stats: both the same. */
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
        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++)
                safe_close(*(int *) ((char *) s + steer_maps[i].offset));
        free(s->map_dir);
        free(s);
        return NULL;
}

int nl_steer_open(const char *map_dir, NlSteer **ret, NlError *e) {
        _cleanup_(nl_steer_closep) NlSteer *s = NULL;
        struct stat st;

        if (stat(map_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return nl_error_set(e, NL_ERR_NO_SUCH_LINK, -ENOENT, "No steer map folder %s", map_dir);
        s = calloc(1, sizeof(*s));
        if (!s)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++)
                *(int *) ((char *) s + steer_maps[i].offset) = -EBADF;
        s->free_hint = 1;
        s->link_fd = -EBADF;
        s->map_dir = strdup(map_dir);
        if (!s->map_dir)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");

        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++) {
                struct bpf_map_info info;
                char path[4096];
                int fd;

                fd = nl_map_open_pinned(map_dir, steer_maps[i].name, &info, path, sizeof(path));
                if (fd < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, fd, "Not a steer link: cannot open map %s: %m", path);
                *(int *) ((char *) s + steer_maps[i].offset) = fd;
                if (info.type != steer_maps[i].type || info.value_size != steer_maps[i].value_size ||
                    !steer_size(s, steer_maps[i].offset, info.max_entries))
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EMEDIUMTYPE,
                                            "Not a steer link: map %s has another layout", path);
        }
        *ret = TAKE_PTR(s);
        return 0;
}

size_t steer_map_count(void) {
        return ELEMENTSOF(steer_maps);
}

const char *steer_map_name(size_t i) {
        return steer_maps[i].name;
}

void steer_swap_maps(NlSteer *s, NlSteer *t) {
        NlSteer x = *s;

        for (size_t i = 0; i < ELEMENTSOF(steer_maps); i++) {
                size_t o = steer_maps[i].offset;

                *(int *) ((char *) s + o) = *(int *) ((char *) t + o);
                *(int *) ((char *) t + o) = *(int *) ((char *) &x + o);
        }
        s->region_bits = t->region_bits;
        s->nregions = t->nregions;
        s->nports = t->nports;
        s->max_prefixes = t->max_prefixes;
        s->max_overflow = t->max_overflow;
        s->max_dests = t->max_dests;
        t->region_bits = x.region_bits;
        t->nregions = x.nregions;
        t->nports = x.nports;
        t->max_prefixes = x.max_prefixes;
        t->max_overflow = x.max_overflow;
        t->max_dests = x.max_dests;
}

int cfg_get(NlSteer *s, struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_lookup_elem(s->cfg, &zero, c);
}

int cfg_put(NlSteer *s, const struct steer_config *c) {
        uint32_t zero = 0;

        return bpf_map_update_elem(s->cfg, &zero, c, BPF_ANY);
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
