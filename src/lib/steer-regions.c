/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "steer-private.h"

/* The region and port-length masks: which prefix lengths a lookup probes
 * (steer-abi.h, steps 1 and 1b). */

void region_range(uint32_t bits, const uint8_t *addr, uint8_t len, uint32_t *first, uint32_t *count) {
        uint32_t top = (((uint32_t) addr[0] << 8) | addr[1]) >> (STEER_REGION_BITS - bits);

        if (len >= bits) {
                *first = top;
                *count = 1;
        } else {
                *count = 1U << (bits - len);
                *first = top & ~(*count - 1);
        }
}
static void portlens_set(struct steer_portlens *v, const NlSteerBinding *b) {
        if (b->family == AF_INET)
                v->v4 |= 1ULL << b->prefixlen;
        else
                v->v6[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
}

static int portlens_mark(NlSteer *s, const NlSteerBinding *b) {
        struct steer_portlens v, old;
        uint32_t port = b->port & (s->nports - 1);
        int q;

        q = bpf_map_lookup_elem(steer_fd(s, portlens), &port, &v);
        if (q < 0)
                return q;
        old = v;
        portlens_set(&v, b);
        if (memcmp(&v, &old, sizeof(v)) == 0)
                return 0;
        return bpf_map_update_elem(steer_fd(s, portlens), &port, &v, BPF_ANY);
}

int regions_mark(NlSteer *s, const NlSteerBinding *b) {
        uint32_t first, count;

        region_range(s->region_bits, b->addr, b->prefixlen, &first, &count);
        for (uint32_t r = first; r < first + count; r++) {
                int q;

                if (b->family == AF_INET) {
                        struct steer_region4 v;

                        q = bpf_map_lookup_elem(steer_fd(s, regions4), &r, &v);
                        if (q < 0)
                                return q;
                        if (v.lens & (1ULL << b->prefixlen))
                                continue;
                        v.lens |= 1ULL << b->prefixlen;
                        q = bpf_map_update_elem(steer_fd(s, regions4), &r, &v, BPF_ANY);
                } else {
                        struct steer_region6 v;

                        q = bpf_map_lookup_elem(steer_fd(s, regions6), &r, &v);
                        if (q < 0)
                                return q;
                        if (v.lens[b->prefixlen / 64] & (1ULL << (b->prefixlen % 64)))
                                continue;
                        v.lens[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
                        q = bpf_map_update_elem(steer_fd(s, regions6), &r, &v, BPF_ANY);
                }
                if (q < 0)
                        return q;
        }
        return portlens_mark(s, b);
}

void regions_done(Regions *g) {
        free(g->v4);
        free(g->v6);
        free(g->pl);
        free(g->live_v4);
        free(g->live_v6);
        free(g->live_pl);
        free(g->keys);
}

/* Sized for the link's tier (both arrays share one key array). */
int regions_alloc(NlSteer *s, Regions *g, bool live_known) {
        uint32_t nkeys = s->nregions > s->nports ? s->nregions : s->nports;

        g->region_bits = s->region_bits;
        g->nregions = s->nregions;
        g->nports = s->nports;
        g->live_known = live_known;
        g->v4 = calloc(g->nregions, sizeof(*g->v4));
        g->v6 = calloc(g->nregions, sizeof(*g->v6));
        g->pl = calloc(g->nports, sizeof(*g->pl));
        g->live_v4 = calloc(g->nregions, sizeof(*g->live_v4));
        g->live_v6 = calloc(g->nregions, sizeof(*g->live_v6));
        g->live_pl = calloc(g->nports, sizeof(*g->live_pl));
        g->keys = malloc(nkeys * sizeof(uint32_t));
        if (!g->v4 || !g->v6 || !g->pl || !g->live_v4 || !g->live_v6 || !g->live_pl || !g->keys)
                return -ENOMEM;
        for (uint32_t i = 0; i < nkeys; i++)
                g->keys[i] = i;
        return 0;
}

void regions_add(Regions *g, const NlSteerBinding *b) {
        uint32_t first, count;

        region_range(g->region_bits, b->addr, b->prefixlen, &first, &count);
        for (uint32_t r = first; r < first + count; r++)
                if (b->family == AF_INET)
                        g->v4[r].lens |= 1ULL << b->prefixlen;
                else
                        g->v6[r].lens[b->prefixlen / 64] |= 1ULL << (b->prefixlen % 64);
        portlens_set(&g->pl[b->port & (g->nports - 1)], b);
}

int regions_read(NlSteer *s, Regions *g) {
        uint64_t in = 0, out = 0;
        uint32_t count = g->nregions;
        int r;

        r = bpf_map_lookup_batch(steer_fd(s, regions4), NULL, &out, g->keys, g->live_v4, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        count = g->nregions;
        r = bpf_map_lookup_batch(steer_fd(s, regions6), NULL, &in, g->keys, g->live_v6, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        in = 0;
        count = g->nports;
        r = bpf_map_lookup_batch(steer_fd(s, portlens), NULL, &in, g->keys, g->live_pl, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        memcpy(g->v4, g->live_v4, g->nregions * sizeof(*g->v4));
        memcpy(g->v6, g->live_v6, g->nregions * sizeof(*g->v6));
        memcpy(g->pl, g->live_pl, g->nports * sizeof(*g->pl));
        g->live_known = true;
        return 0;
}

/* Writes the entries of want that differ from live (every entry if all:
 * live is not known), then records want as live. */
static int write_changed(int fd, const uint32_t *all_keys, const void *want, void *live, size_t vsz, uint32_t n,
                         bool all) {
        _cleanup_free_ uint32_t *keys = NULL;
        _cleanup_free_ char *values = NULL;
        size_t k = 0;
        int r;

        if (all)
                r = map_update_many(fd, all_keys, want, n);
        else {
                keys = malloc(n * sizeof(*keys));
                values = malloc(n * vsz);
                if (!keys || !values)
                        return -ENOMEM;
                for (uint32_t i = 0; i < n; i++) {
                        const char *w = (const char *) want + i * vsz;

                        if (memcmp(w, (const char *) live + i * vsz, vsz) == 0)
                                continue;
                        keys[k] = i;
                        memcpy(values + k * vsz, w, vsz);
                        k++;
                }
                r = map_update_many(fd, keys, values, k);
        }
        if (r < 0)
                return r;
        memcpy(live, want, n * vsz);
        return 0;
}

int regions_write(NlSteer *s, Regions *g) {
        bool all = !g->live_known;
        int r;

        /* A failed write leaves the maps unknown: the next one sends all. */
        g->live_known = false;
        r = write_changed(steer_fd(s, regions4), g->keys, g->v4, g->live_v4, sizeof(*g->v4), g->nregions, all);
        if (r >= 0)
                r = write_changed(steer_fd(s, regions6), g->keys, g->v6, g->live_v6, sizeof(*g->v6), g->nregions, all);
        if (r >= 0)
                r = write_changed(steer_fd(s, portlens), g->keys, g->pl, g->live_pl, sizeof(*g->pl), g->nports, all);
        if (r < 0)
                return r;
        g->live_known = true;
        return 0;
}

/* The regions of exactly the bindings b (g: allocated, any content). */
int regions_rewrite(NlSteer *s, Regions *g, const NlSteerBinding *b, size_t n) {
        memset(g->v4, 0, g->nregions * sizeof(*g->v4));
        memset(g->v6, 0, g->nregions * sizeof(*g->v6));
        memset(g->pl, 0, g->nports * sizeof(*g->pl));
        for (size_t i = 0; i < n; i++)
                regions_add(g, &b[i]);
        return regions_write(s, g);
}
