/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "steer-private.h"

/*
 * The prefixes map and its copy in fast, where lookups read it (steer-abi.h),
 * written together: every write of a prefix entry goes through here. The
 * maps of a release before fast have none (nfast 0): only prefixes.
 *
 * A slot a lookup may read changes in steps that each leave it whole:
 * written hidden (tag STEER_FAST_HIDDEN: lookups read on past it), then its
 * tag alone set; removed by its tag alone set to hidden. A run of hidden
 * slots that ends at an empty one is no chain's middle (every entry's chain
 * from its home has no empty slot), so it is made empty again, which keeps
 * lookups of absent keys short.
 */

static uint32_t head_of(const struct steer_prefix_key *k) {
        return k->gen | (uint32_t) k->protocol << 8 | (uint32_t) k->family << 16 | (uint32_t) k->len << 24;
}

static uint32_t home_of(NlSteer *s, const struct steer_prefix_key *k) {
        return (uint32_t) steer_fast_hash(head_of(k), k->addr[0], k->addr[1], k->addr[2], k->addr[3]) &
               (s->nfast - 1);
}

static bool holds_key(const struct steer_fast *f, const struct steer_prefix_key *k) {
        return f->tag == k->gen + 1 && f->protocol == k->protocol && f->family == k->family && f->len == k->len &&
               memcmp(f->addr, k->addr, sizeof(f->addr)) == 0;
}

static bool is_free(const struct steer_fast *f) {
        return f->tag == STEER_FAST_EMPTY || f->tag == STEER_FAST_HIDDEN;
}

static void fast_from(const struct steer_prefix_key *k, const struct steer_prefix *p, uint8_t tag,
                      struct steer_fast *f) {
        memset(f, 0, sizeof(*f));
        f->tag = tag;
        f->protocol = k->protocol;
        f->family = k->family;
        f->len = k->len;
        memcpy(f->addr, k->addr, sizeof(f->addr));
        f->id = p->id;
        f->nslots = p->nslots;
        f->noverflow = p->noverflow;
        f->wild_dest = p->wild_dest;
        f->wild_counter = p->wild_counter;
        for (int i = 0; i < STEER_SLOTS; i++)
                f->slot[i] = (struct steer_fast_slot) { p->slot[i].port, p->slot[i].dest, p->slot[i].counter };
}

/* ---- the whole table, in memory: for changes of many entries ------------ */

typedef struct FastTable {
        struct steer_fast *slot;
        bool *changed;
        uint32_t n;
} FastTable;

static void table_done(FastTable *t) {
        free(t->slot);
        free(t->changed);
}

static int table_read(NlSteer *s, FastTable *t) {
        *t = (FastTable) { .n = s->nfast };
        t->slot = calloc(s->nfast, sizeof(*t->slot));
        t->changed = calloc(s->nfast, sizeof(*t->changed));
        if (!t->slot || !t->changed)
                return -ENOMEM;
        return array_read_all(steer_fd(s, fast), t->slot, sizeof(*t->slot), t->n);
}

static void table_set(FastTable *t, uint32_t idx, const struct steer_fast *f) {
        t->slot[idx] = *f;
        t->changed[idx] = true;
}

/* The slot of k, or -1. */
static int64_t table_find(NlSteer *s, const FastTable *t, const struct steer_prefix_key *k) {
        uint32_t home = home_of(s, k);

        for (uint32_t i = 0; i < STEER_FAST_PROBES; i++) {
                uint32_t idx = (home + i) & (t->n - 1);

                if (t->slot[idx].tag == STEER_FAST_EMPTY)
                        return -1;
                if (holds_key(&t->slot[idx], k))
                        return idx;
        }
        return -1;
}

/* Hidden runs that end at an empty slot made empty, from each changed slot. */
static void table_sweep(FastTable *t) {
        for (uint32_t i = 0; i < t->n; i++) {
                uint32_t j = i;

                if (!t->changed[i] || t->slot[i].tag != STEER_FAST_HIDDEN)
                        continue;
                while (t->slot[j].tag == STEER_FAST_HIDDEN && j - i < STEER_FAST_PROBES)
                        j = (j + 1) & (t->n - 1);
                if (t->slot[j].tag != STEER_FAST_EMPTY)
                        continue;
                /* i..j-1 hidden, j empty: back from j. */
                for (uint32_t k = (j - 1) & (t->n - 1); t->slot[k].tag == STEER_FAST_HIDDEN; k = (k - 1) & (t->n - 1)) {
                        t->slot[k] = (struct steer_fast) {};
                        t->changed[k] = true;
                }
        }
}

/* The changed slots written, in one batch. */
static int table_write(NlSteer *s, FastTable *t) {
        _cleanup_free_ uint32_t *keys = calloc(t->n, sizeof(uint32_t));
        _cleanup_free_ struct steer_fast *values = calloc(t->n, sizeof(struct steer_fast));
        size_t n = 0;

        if (!keys || !values)
                return -ENOMEM;
        for (uint32_t i = 0; i < t->n; i++)
                if (t->changed[i]) {
                        keys[n] = i;
                        values[n++] = t->slot[i];
                }
        return array_update_many(steer_fd(s, fast), keys, values, sizeof(*values), n);
}

/* Fewer entries than this are written slot by slot: reading their chains
 * costs a few lookups, reading the whole table (168 KiB at the smallest
 * tier) costs more than the rest of a pod's first SetBindings. */
#define PREFIXES_FEW 8

static int chain_read(NlSteer *s, const struct steer_prefix_key *k, int64_t *at, int64_t *free_at);

int prefixes_write(NlSteer *s, const struct steer_prefix_key *k, const struct steer_prefix *v, size_t n) {
        FastTable t = {};
        int r = 0;

        if (s->nfast > 0 && n > 0 && n < PREFIXES_FEW) {
                /* As below, one key at a time: each chain is read after
                 * the keys before it were written. */
                for (size_t i = 0; i < n; i++) {
                        int64_t at, free_at;
                        struct steer_fast f;

                        r = chain_read(s, &k[i], &at, &free_at);
                        if (r < 0)
                                return r;
                        if (at < 0 && free_at < 0)
                                return -E2BIG;
                        fast_from(&k[i], &v[i], (uint8_t) (k[i].gen + 1), &f);
                        r = bpf_map_update_elem(steer_fd(s, fast), &(uint32_t) { (uint32_t) (at >= 0 ? at : free_at) },
                                                &f, BPF_ANY);
                        if (r < 0)
                                return r;
                }
        } else if (s->nfast > 0 && n > 0) {
                /* No lookup reads these keys' generation: written as they
                 * come, each into the first free slot of its chain. */
                r = table_read(s, &t);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        int64_t at = table_find(s, &t, &k[i]);
                        struct steer_fast f;

                        for (uint32_t p = 0, home = home_of(s, &k[i]); at < 0 && p < STEER_FAST_PROBES; p++)
                                if (is_free(&t.slot[(home + p) & (t.n - 1)]))
                                        at = (home + p) & (t.n - 1);
                        if (at < 0)
                                r = -E2BIG;
                        else {
                                fast_from(&k[i], &v[i], (uint8_t) (k[i].gen + 1), &f);
                                table_set(&t, (uint32_t) at, &f);
                        }
                }
                if (r >= 0)
                        r = table_write(s, &t);
                table_done(&t);
                if (r < 0)
                        return r;
        }
        return map_update_many(steer_fd(s, prefixes), k, v, n);
}

int prefixes_delete(NlSteer *s, const struct steer_prefix_key *k, size_t n) {
        FastTable t = {};
        int r;

        r = map_delete_many(steer_fd(s, prefixes), k, sizeof(*k), n);
        if (r < 0 || s->nfast == 0 || n == 0)
                return r;
        r = table_read(s, &t);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                int64_t at = table_find(s, &t, &k[i]);

                if (at >= 0) {
                        struct steer_fast f = t.slot[at];

                        f.tag = STEER_FAST_HIDDEN;
                        table_set(&t, (uint32_t) at, &f);
                }
        }
        if (r >= 0) {
                table_sweep(&t);
                r = table_write(s, &t);
        }
        table_done(&t);
        return r;
}

/* ---- one entry of the live generation ------------------------------------ */

static int slot_get(NlSteer *s, uint32_t idx, struct steer_fast *f) {
        return bpf_map_lookup_elem(steer_fd(s, fast), &idx, f);
}

static int slot_put(NlSteer *s, uint32_t idx, const struct steer_fast *f) {
        return bpf_map_update_elem(steer_fd(s, fast), &idx, f, BPF_ANY);
}

/* The slot of k in its chain (*at, -1 if none) and the first free one
 * (*free_at, -1 if none). */
static int chain_read(NlSteer *s, const struct steer_prefix_key *k, int64_t *at, int64_t *free_at) {
        uint32_t home = home_of(s, k);

        *at = *free_at = -1;
        for (uint32_t i = 0; i < STEER_FAST_PROBES; i++) {
                uint32_t idx = (home + i) & (s->nfast - 1);
                struct steer_fast f;
                int r = slot_get(s, idx, &f);

                if (r < 0)
                        return r;
                if (is_free(&f) && *free_at < 0)
                        *free_at = idx;
                if (f.tag == STEER_FAST_EMPTY)
                        break;
                if (holds_key(&f, k))
                        *at = idx;
                /* Past k, only for a free slot. */
                if (*at >= 0 && *free_at >= 0)
                        break;
        }
        return 0;
}

/* Hides the slot at idx, as one change of its tag, and empties the hidden
 * run it is in if that run ends at an empty slot. */
static int slot_hide(NlSteer *s, uint32_t idx) {
        struct steer_fast f;
        uint32_t j = idx, mask = s->nfast - 1;
        int r = slot_get(s, idx, &f);

        if (r < 0)
                return r;
        f.tag = STEER_FAST_HIDDEN;
        r = slot_put(s, idx, &f);
        for (uint32_t n = 0; r >= 0 && n < STEER_FAST_PROBES; n++) {
                j = (j + 1) & mask;
                r = slot_get(s, j, &f);
                if (r < 0 || f.tag != STEER_FAST_HIDDEN)
                        break;
        }
        if (r < 0 || f.tag != STEER_FAST_EMPTY)
                return r < 0 ? r : 0;
        for (uint32_t k = (j - 1) & mask; r >= 0; k = (k - 1) & mask) {
                r = slot_get(s, k, &f);
                if (r < 0 || f.tag != STEER_FAST_HIDDEN)
                        break;
                r = slot_put(s, k, &(struct steer_fast) {});
        }
        return r < 0 ? r : 0;
}

int prefix_put(NlSteer *s, const struct steer_prefix_key *k, const struct steer_prefix *v) {
        struct steer_fast f;
        int64_t at = -1, free_at = -1;
        int r;

        if (s->nfast > 0) {
                r = chain_read(s, k, &at, &free_at);
                if (r < 0)
                        return r;
                if (free_at < 0)
                        return -E2BIG;
        }
        r = bpf_map_update_elem(steer_fd(s, prefixes), k, v, BPF_ANY);
        if (r < 0 || s->nfast == 0)
                return r;
        /* Hidden and whole, then shown; lookups find the old entry (earlier
         * in the chain, or still there) until it is hidden. */
        fast_from(k, v, STEER_FAST_HIDDEN, &f);
        r = slot_put(s, (uint32_t) free_at, &f);
        if (r >= 0) {
                f.tag = (uint8_t) (k->gen + 1);
                r = slot_put(s, (uint32_t) free_at, &f);
        }
        if (r >= 0 && at >= 0)
                r = slot_hide(s, (uint32_t) at);
        return r;
}

int prefix_delete(NlSteer *s, const struct steer_prefix_key *k) {
        int64_t at, free_at;
        int r;

        r = bpf_map_delete_elem(steer_fd(s, prefixes), k);
        if (r < 0 || s->nfast == 0)
                return r;
        r = chain_read(s, k, &at, &free_at);
        if (r >= 0 && at >= 0)
                r = slot_hide(s, (uint32_t) at);
        return r;
}

int prefixes_repair(NlSteer *s, uint8_t gen, const MapDump *live) {
        FastTable t = {};
        int r;

        if (s->nfast == 0)
                return 0;
        /* What a change killed between prefixes and fast left: fast's
         * entries of gen that prefixes lacks are hidden, and prefixes'
         * entries that fast lacks or holds otherwise are put again. */
        r = table_read(s, &t);
        for (uint32_t i = 0; r >= 0 && i < t.n; i++)
                if (t.slot[i].tag == gen + 1) {
                        struct steer_prefix_key k = { .gen = gen, .protocol = t.slot[i].protocol,
                                                      .family = t.slot[i].family, .len = t.slot[i].len };
                        struct steer_prefix p;

                        memcpy(k.addr, t.slot[i].addr, sizeof(k.addr));
                        if (bpf_map_lookup_elem(steer_fd(s, prefixes), &k, &p) < 0) {
                                struct steer_fast f = t.slot[i];

                                f.tag = STEER_FAST_HIDDEN;
                                table_set(&t, i, &f);
                        }
                }
        if (r >= 0) {
                table_sweep(&t);
                r = table_write(s, &t);
        }
        for (size_t j = 0; r >= 0 && j < live->n; j++) {
                const struct steer_prefix_key *k = (const struct steer_prefix_key *) live->keys + j;
                const struct steer_prefix *v = (const struct steer_prefix *) live->values + j;
                int64_t at = table_find(s, &t, k);
                struct steer_fast want;

                fast_from(k, v, (uint8_t) (gen + 1), &want);
                if (at < 0 || memcmp(&t.slot[at], &want, sizeof(want)) != 0)
                        r = prefix_put(s, k, v);
        }
        table_done(&t);
        return r;
}
