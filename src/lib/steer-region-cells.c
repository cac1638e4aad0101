/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "steer-private.h"

/*
 * The region and port-length masks of a SetBindings (steer-abi.h, steps 1
 * and 1b): widened to the union of both generations before the switch,
 * settled to the live one's after (or, undone, to the old one's).
 *
 * At the top tiers each of the three arrays has 65,536 entries, and a
 * batch read or write costs the kernel some 0.3 us an entry: reading and
 * writing them whole took most of a SetBindings of a few thousand
 * bindings, which touch a few dozen entries. So a change that touches few
 * entries reads and writes only those (cells); one that touches many goes
 * through whole arrays (Regions), read once and written where they differ.
 * Entries neither set touches keep what they hold: a stale bit left by a
 * RemoveBinding costs a probe, never a wrong answer.
 */

enum { CELL_V4, CELL_V6, CELL_PORTS };

typedef struct RegionCell {
        uint32_t map;           /* CELL_* */
        uint32_t key;
        uint64_t want[4];       /* steer_region4, _region6 or _portlens, as the map's value */
        uint64_t live[4];       /* what the map holds, if known */
        bool known;
} RegionCell;

static size_t cell_size(uint32_t map) {
        return map == CELL_V4 ? sizeof(struct steer_region4) :
               map == CELL_V6 ? sizeof(struct steer_region6) : sizeof(struct steer_portlens);
}

static int cell_fd(NlSteer *s, uint32_t map) {
        return map == CELL_V4 ? steer_fd(s, regions4) : map == CELL_V6 ? steer_fd(s, regions6) : steer_fd(s, portlens);
}

static int cell_cmp(const void *x, const void *y) {
        const RegionCell *a = x, *b = y;

        if (a->map != b->map)
                return a->map < b->map ? -1 : 1;
        return a->key < b->key ? -1 : a->key > b->key;
}

/* At most how many entries the bindings b touch (each region of each, and
 * one port mask each). */
static size_t cells_bound(NlSteer *s, const NlSteerBinding *b, size_t n) {
        size_t bound = 0;

        for (size_t i = 0; i < n; i++) {
                uint32_t first, count;

                region_range(s->region_bits, b[i].addr, b[i].prefixlen, &first, &count);
                bound += (size_t) count + 1;
        }
        return bound;
}

/* The bit of b's length in the cell's value: an IPv4 length in the first
 * word (steer_region4.lens, steer_portlens.v4), an IPv6 one in the three
 * after (steer_region6.lens) or after v4 (steer_portlens.v6). */
static void cell_bits(RegionCell *c, const NlSteerBinding *b) {
        size_t w = b->family == AF_INET ? 0 : b->prefixlen / 64 + (c->map == CELL_PORTS);

        c->want[w] |= 1ULL << (b->prefixlen % 64);
}

/* Appends the cells of b to at; with bits, b's bits are set in them, else
 * they are only named (their value is settled by others, or zero). */
static size_t cells_of(NlSteer *s, const NlSteerBinding *b, bool bits, RegionCell *at) {
        uint32_t first, count;
        size_t k = 0;

        region_range(s->region_bits, b->addr, b->prefixlen, &first, &count);
        for (uint32_t r = first; r < first + count; r++) {
                at[k] = (RegionCell) { .map = b->family == AF_INET ? CELL_V4 : CELL_V6, .key = r };
                if (bits)
                        cell_bits(&at[k], b);
                k++;
        }
        at[k] = (RegionCell) { .map = CELL_PORTS, .key = b->port & (s->nports - 1) };
        if (bits)
                cell_bits(&at[k], b);
        return k + 1;
}

/* The cells of both lists, sorted, one per entry, with the bits of keep. */
static int cells_build(NlSteer *s, const NlSteerBinding *keep, size_t nk, const NlSteerBinding *drop, size_t nd,
                       RegionCells *ret) {
        size_t n = 0, m = 0, bound = cells_bound(s, keep, nk) + cells_bound(s, drop, nd);
        RegionCell *c = calloc(bound + 1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < nk; i++)
                n += cells_of(s, &keep[i], true, c + n);
        for (size_t i = 0; i < nd; i++)
                n += cells_of(s, &drop[i], false, c + n);
        qsort(c, n, sizeof(*c), cell_cmp);
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && cell_cmp(&c[m - 1], &c[i]) == 0) {
                        for (int w = 0; w < 4; w++)
                                c[m - 1].want[w] |= c[i].want[w];
                        continue;
                }
                c[m++] = c[i];
        }
        ret->c = c;
        ret->n = m;
        return 0;
}

/* Writes each cell whose map's value is not known to be its want, in one
 * batch per map, then knows it. */
static int cells_write(NlSteer *s, RegionCells *w) {
        _cleanup_free_ uint32_t *keys = calloc(w->n + 1, sizeof(uint32_t));
        _cleanup_free_ uint64_t *values = calloc(w->n + 1, sizeof(w->c[0].want));
        size_t i = 0;

        if (!keys || !values)
                return -ENOMEM;
        while (i < w->n) {
                uint32_t map = w->c[i].map;
                size_t vsz = cell_size(map), k = 0, from = i;
                int r;

                for (; i < w->n && w->c[i].map == map; i++) {
                        RegionCell *c = &w->c[i];

                        if (c->known && memcmp(c->live, c->want, vsz) == 0)
                                continue;
                        keys[k] = c->key;
                        memcpy((char *) values + k * vsz, c->want, vsz);
                        k++;
                }
                r = map_update_many(cell_fd(s, map), keys, values, k);
                if (r < 0) {
                        for (size_t j = from; j < i; j++)
                                w->c[j].known = false;
                        return r;
                }
                for (size_t j = from; j < i; j++) {
                        memcpy(w->c[j].live, w->c[j].want, sizeof(w->c[j].live));
                        w->c[j].known = true;
                }
        }
        return 0;
}

void regions_change_done(RegionsChange *rc) {
        free(rc->cells.c);
        regions_done(&rc->g);
        *rc = (RegionsChange) {};
}

int regions_widen(NlSteer *s, RegionsChange *rc, const NlSteerBinding *add, size_t n_add,
                  const NlSteerBinding *live, size_t n_live) {
        size_t entries = 2 * (size_t) s->nregions + s->nports;
        int r;

        /* A read of one entry costs a system call, some 5 times a batch's
         * share of one: few, when they are under a fifth. */
        rc->few = (cells_bound(s, add, n_add) + cells_bound(s, live, n_live)) * 5 <= entries;
        if (!rc->few) {
                r = regions_alloc(s, &rc->g, false);
                if (r >= 0)
                        r = regions_read(s, &rc->g);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_add; i++)
                        regions_add(&rc->g, &add[i]);
                return regions_write(s, &rc->g);
        }
        r = cells_build(s, add, n_add, NULL, 0, &rc->cells);
        if (r < 0)
                return r;
        for (size_t i = 0; i < rc->cells.n; i++) {
                RegionCell *c = &rc->cells.c[i];

                r = bpf_map_lookup_elem(cell_fd(s, c->map), &c->key, c->live);
                if (r < 0)
                        return r;
                c->known = true;
                for (int k = 0; k < 4; k++)
                        c->want[k] |= c->live[k];
        }
        return cells_write(s, &rc->cells);
}

int regions_settle(NlSteer *s, RegionsChange *rc, const NlSteerBinding *keep, size_t nk,
                   const NlSteerBinding *drop, size_t nd) {
        RegionCells w = {};
        size_t j = 0;
        int r;

        if (!rc->few)
                return regions_rewrite(s, &rc->g, keep, nk);
        r = cells_build(s, keep, nk, drop, nd, &w);
        /* What the widening wrote is known; the rest is written. */
        for (size_t i = 0; r >= 0 && i < w.n; i++) {
                while (j < rc->cells.n && cell_cmp(&rc->cells.c[j], &w.c[i]) < 0)
                        j++;
                if (j < rc->cells.n && cell_cmp(&rc->cells.c[j], &w.c[i]) == 0 && rc->cells.c[j].known) {
                        memcpy(w.c[i].live, rc->cells.c[j].live, sizeof(w.c[i].live));
                        w.c[i].known = true;
                }
        }
        if (r >= 0)
                r = cells_write(s, &w);
        free(w.c);
        return r;
}

int regions_fill(NlSteer *s, const NlSteerBinding *b, size_t n) {
        RegionsChange rc = {};
        int r;

        /* Writes are all there is: few when under half the entries. */
        if (cells_bound(s, b, n) * 2 > 2 * (size_t) s->nregions + s->nports) {
                r = regions_alloc(s, &rc.g, true);
                if (r >= 0)
                        r = regions_rewrite(s, &rc.g, b, n);
        } else {
                r = cells_build(s, b, n, NULL, 0, &rc.cells);
                for (size_t i = 0; r >= 0 && i < rc.cells.n; i++)
                        rc.cells.c[i].known = true;     /* zero, as live[] */
                if (r >= 0)
                        r = cells_write(s, &rc.cells);
        }
        regions_change_done(&rc);
        return r;
}
