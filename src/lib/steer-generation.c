/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "steer-private.h"

/* A generation of bindings, whole: read from a link's maps (BindingSet) and
 * built into the entries to write (Built). ListBindings, SetBindings,
 * repair and growth all use these, so they sit below each of them. */

void binding_set_done(BindingSet *set) {
        free(set->b);
        free(set->dest);
        free(set->counter);
        map_dump_done(&set->prefixes);
        map_dump_done(&set->ports);
        *set = (BindingSet) {};
}

static int binding_set_push(BindingSet *set, const NlSteerBinding *b, uint16_t dest, uint32_t counter) {
        if (set->n == set->cap) {
                size_t cap = set->cap ? set->cap * 2 : 256;
                NlSteerBinding *nb = realloc(set->b, cap * sizeof(*nb));
                uint16_t *nd;
                uint32_t *nc;

                if (!nb)
                        return -ENOMEM;
                set->b = nb;
                nd = realloc(set->dest, cap * sizeof(*nd));
                if (!nd)
                        return -ENOMEM;
                set->dest = nd;
                nc = realloc(set->counter, cap * sizeof(*nc));
                if (!nc)
                        return -ENOMEM;
                set->counter = nc;
                set->cap = cap;
        }
        set->b[set->n] = *b;
        set->dest[set->n] = dest;
        set->counter[set->n] = counter;
        set->n++;
        return 0;
}

static int u32_cmp(const void *x, const void *y) {
        uint32_t a = *(const uint32_t *) x, b = *(const uint32_t *) y;
        return a < b ? -1 : a > b;
}

typedef struct IdIndex {
        uint32_t id;
        uint32_t idx;
} IdIndex;

/* Reads every binding of generation gen, sorted by binding_cmp. */
int binding_set_read(NlSteer *s, uint8_t gen, BindingSet *set) {
        MapDump all = {}, ports = {};
        _cleanup_free_ IdIndex *ids = NULL;
        size_t nids = 0, keep = 0;
        int r;

        *set = (BindingSet) {};
        r = map_dump(steer_fd(s, prefixes), sizeof(struct steer_prefix_key), sizeof(struct steer_prefix), &all);
        if (r < 0)
                return r;
        /* Keep only gen's entries, in place. */
        for (size_t i = 0; i < all.n; i++) {
                struct steer_prefix_key *k = (struct steer_prefix_key *) all.keys + i;
                if (k->gen != gen)
                        continue;
                ((struct steer_prefix_key *) all.keys)[keep] = *k;
                ((struct steer_prefix *) all.values)[keep] = ((struct steer_prefix *) all.values)[i];
                keep++;
        }
        all.n = keep;
        set->prefixes = all;

        ids = malloc((all.n + 1) * sizeof(*ids));
        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < all.n; i++) {
                struct steer_prefix_key *k = (struct steer_prefix_key *) all.keys + i;
                struct steer_prefix *p = (struct steer_prefix *) all.values + i;
                NlSteerBinding b;

                binding_from_key(k, &b);
                if (p->wild_dest) {
                        b.port = 0;
                        b.hits = p->wild_hits;
                        r = binding_set_push(set, &b, p->wild_dest, p->wild_counter);
                        if (r < 0)
                                return r;
                }
                for (int j = 0; j < p->nslots && j < STEER_SLOTS; j++) {
                        b.port = p->slot[j].port;
                        b.hits = p->slot[j].hits;
                        r = binding_set_push(set, &b, p->slot[j].dest, p->slot[j].counter);
                        if (r < 0)
                                return r;
                }
                if (p->noverflow)
                        ids[nids++] = (IdIndex) { p->id, (uint32_t) i };
        }
        if (nids > 0) {
                size_t pkeep = 0;

                qsort(ids, nids, sizeof(*ids), u32_cmp);
                r = map_dump(steer_fd(s, ports), sizeof(struct steer_port_key), sizeof(struct steer_port), &ports);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ports.n; i++) {
                        struct steer_port_key *pk = (struct steer_port_key *) ports.keys + i;
                        struct steer_port *pv = (struct steer_port *) ports.values + i;
                        IdIndex *hit = bsearch(&pk->prefix_id, ids, nids, sizeof(*ids), u32_cmp);
                        NlSteerBinding b;

                        if (!hit)
                                continue;
                        binding_from_key((struct steer_prefix_key *) all.keys + hit->idx, &b);
                        b.port = (uint16_t) pk->port;
                        b.hits = pv->hits;
                        r = binding_set_push(set, &b, pv->dest, pv->counter);
                        if (r < 0)
                                return r;
                        ((struct steer_port_key *) ports.keys)[pkeep] = *pk;
                        ((struct steer_port *) ports.values)[pkeep] = *pv;
                        pkeep++;
                }
                ports.n = pkeep;
        }
        set->ports = ports;

        /* Sort bindings and their destinations together. */
        {
                _cleanup_free_ size_t *order = malloc((set->n + 1) * sizeof(size_t));
                _cleanup_free_ NlSteerBinding *sb = malloc((set->n + 1) * sizeof(NlSteerBinding));
                _cleanup_free_ uint16_t *sd = malloc((set->n + 1) * sizeof(uint16_t));
                _cleanup_free_ uint32_t *sc = malloc((set->n + 1) * sizeof(uint32_t));

                if (!order || !sb || !sd || !sc)
                        return -ENOMEM;
                for (size_t i = 0; i < set->n; i++) {
                        sb[i] = set->b[i];
                        sb[i].hits = set->b[i].hits;
                        /* Carry the index in the label field while sorting. */
                        memcpy(sb[i].label, &i, sizeof(i));
                }
                qsort(sb, set->n, sizeof(*sb), binding_cmp);
                for (size_t i = 0; i < set->n; i++) {
                        size_t from;

                        memcpy(&from, sb[i].label, sizeof(from));
                        sd[i] = set->dest[from];
                        sc[i] = set->counter[from];
                        memset(sb[i].label, 0, sizeof(sb[i].label));
                }
                if (set->n > 0) {       /* memcpy of NULL is undefined even for 0 bytes */
                        memcpy(set->b, sb, set->n * sizeof(*sb));
                        memcpy(set->dest, sd, set->n * sizeof(*sd));
                        memcpy(set->counter, sc, set->n * sizeof(*sc));
                }
        }
        return 0;
}

void built_done(Built *t) {
        free(t->pk);
        free(t->pv);
        free(t->ok);
        free(t->ov);
}

void built_count(const NlSteerBinding *b, size_t n, size_t *ret_np, size_t *ret_no) {
        size_t np = 0, no = 0, slots = 0;

        for (size_t i = 0; i < n; i++) {
                if (i == 0 || binding_prefix_cmp(&b[i - 1], &b[i]) != 0) {
                        np++;
                        slots = 0;
                }
                if (b[i].port != 0 && slots++ >= STEER_SLOTS)
                        no++;
        }
        *ret_np = np;
        *ret_no = no;
}

int build_gen(const NlSteerBinding *b, const uint16_t *dest, const uint32_t *counter, size_t n, uint8_t gen,
              uint32_t *next_id, Built *t) {
        *t = (Built) {};
        t->pk = calloc(n + 1, sizeof(*t->pk));
        t->pv = calloc(n + 1, sizeof(*t->pv));
        t->ok = calloc(n + 1, sizeof(*t->ok));
        t->ov = calloc(n + 1, sizeof(*t->ov));
        if (!t->pk || !t->pv || !t->ok || !t->ov)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct steer_prefix_key k;
                struct steer_prefix *p;

                prefix_key(&b[i], gen, &k);
                if (t->np == 0 || memcmp(&t->pk[t->np - 1], &k, sizeof(k)) != 0) {
                        t->pk[t->np] = k;
                        t->pv[t->np].id = (*next_id)++;
                        t->np++;
                }
                p = &t->pv[t->np - 1];
                if (b[i].port == 0) {
                        p->wild_dest = dest[i];
                        p->wild_counter = counter[i];
                        p->wild_hits = b[i].hits;
                } else if (p->nslots < STEER_SLOTS) {
                        p->slot[p->nslots++] = (struct steer_slot) {
                                .port = b[i].port, .dest = dest[i], .counter = counter[i], .hits = b[i].hits };
                } else {
                        t->ok[t->no] = (struct steer_port_key) { p->id, b[i].port };
                        t->ov[t->no] = (struct steer_port) { .dest = dest[i], .counter = counter[i], .hits = b[i].hits };
                        t->no++;
                        p->noverflow++;
                }
        }
        return 0;
}

/* Walks old and new (both sorted by binding_cmp) side by side: counts what
 * changed and carries the hit counters of bindings that stay. */
