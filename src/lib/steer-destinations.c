/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"
#include "steer-private.h"

/* Destinations: the (label, protocol, family) a binding leads to and a
 * socket is registered under, each with an id the BPF side reads. Made on
 * first use, counted by bindings, released when nothing points at them. */

static void dest_key(const char *label, uint8_t protocol, uint8_t abi_fam, struct steer_dest_key *k) {
        memset(k, 0, sizeof(*k));
        snprintf(k->label, sizeof(k->label), "%s", label);
        k->protocol = protocol;
        k->family = abi_fam;
}

int dest_find(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam) {
        struct steer_dest_key k;
        uint32_t id;

        dest_key(label, protocol, abi_fam, &k);
        if (bpf_map_lookup_elem(steer_fd(s, dest_ids), &k, &id) < 0)
                return -ENOENT;
        return (int) id;
}

int dests_load(NlSteer *s, struct steer_dest *d) {
        _cleanup_free_ uint32_t *keys = malloc(s->max_dests * sizeof(uint32_t));
        uint32_t out = 0, count = s->max_dests;
        int r;

        if (!keys)
                return -ENOMEM;
        r = bpf_map_lookup_batch(steer_fd(s, dests), NULL, &out, keys, d, &count, NULL);
        if (r < 0 && r != -ENOENT)
                return r;
        return count == s->max_dests ? 0 : -EIO;
}

static int dest_zero_stats(NlSteer *s, uint32_t id) {
        int ncpu = libbpf_num_possible_cpus();
        _cleanup_free_ struct steer_dest_stats *z = NULL;

        if (ncpu < 0)
                return ncpu;
        z = calloc((size_t) ncpu, sizeof(*z));
        if (!z)
                return -ENOMEM;
        return bpf_map_update_elem(steer_fd(s, dest_stats), &id, z, BPF_ANY);
}

/* Finds or makes the destination (label, protocol, family). */
int dest_get(NlSteer *s, const char *label, uint8_t protocol, uint8_t abi_fam, NlError *e) {
        struct steer_dest d = {};
        struct steer_dest_key k;
        uint32_t id;
        int r;

        r = dest_find(s, label, protocol, abi_fam);
        if (r >= 0)
                return r;
        /* From the hint on, then (another NlSteer of the same maps may have
         * freed one below it) from 1: a full table is still found full. */
        for (uint32_t n = 0; n < s->max_dests - 1; n++) {
                id = 1 + (s->free_hint - 1 + n) % (s->max_dests - 1);
                r = bpf_map_lookup_elem(steer_fd(s, dests), &id, &d);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
                if (!d.in_use)
                        break;
                id = s->max_dests;
        }
        if (id < s->max_dests)
                s->free_hint = id;
        if (id >= s->max_dests)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOSPC,
                                    "Too many destinations (labels x protocols x families): at most %d",
                                    (int) s->max_dests - 1);
        memset(&d, 0, sizeof(d));
        snprintf(d.label, sizeof(d.label), "%s", label);
        d.protocol = protocol;
        d.family = abi_fam;
        d.in_use = 1;
        r = dest_zero_stats(s, id);
        if (r >= 0)
                r = bpf_map_update_elem(steer_fd(s, dests), &id, &d, BPF_ANY);
        dest_key(label, protocol, abi_fam, &k);
        if (r >= 0)
                r = bpf_map_update_elem(steer_fd(s, dest_ids), &k, &id, BPF_NOEXIST);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record destination '%s': %m", label);
        return (int) id;
}

static bool dest_has_socket(NlSteer *s, uint32_t id) {
        uint64_t cookie;

        return bpf_map_lookup_elem(steer_fd(s, sockets), &id, &cookie) == 0;
}

/* Forgets a destination nothing points at; its id may be handed out again
 * by a later call, long after any lookup that read it has finished. */
int dest_release_if_unused(NlSteer *s, uint32_t id, const struct steer_dest *d) {
        struct steer_dest z = {};
        struct steer_dest_key k;

        if (d->refs > 0 || dest_has_socket(s, id))
                return 0;
        dest_key(d->label, d->protocol, d->family, &k);
        (void) bpf_map_delete_elem(steer_fd(s, dest_ids), &k);
        if (id < s->free_hint)
                s->free_hint = id;
        return bpf_map_update_elem(steer_fd(s, dests), &id, &z, BPF_ANY);
}

int dest_release(NlSteer *s, uint32_t id) {
        struct steer_dest d;
        int r = bpf_map_lookup_elem(steer_fd(s, dests), &id, &d);

        return r < 0 ? r : dest_release_if_unused(s, id, &d);
}

int dest_ref(NlSteer *s, uint32_t id, int delta) {
        struct steer_dest d;
        int r;

        r = bpf_map_lookup_elem(steer_fd(s, dests), &id, &d);
        if (r < 0)
                return r;
        if (delta < 0 && d.refs < (uint32_t) -delta)
                d.refs = 0;
        else
                d.refs += (uint32_t) delta;
        r = bpf_map_update_elem(steer_fd(s, dests), &id, &d, BPF_ANY);
        if (r < 0)
                return r;
        return delta < 0 ? dest_release_if_unused(s, id, &d) : 0;
}

void dest_plan_done(DestPlan *p) {
        free(p->table);
        free(p->made);
        *p = (DestPlan) {};
}

static void dest_plan_key(const char *label, uint8_t protocol, uint8_t abi_fam, char *buf, size_t size) {
        snprintf(buf, size, "%s/%u/%u", label, protocol, abi_fam);     /* labels have no '/' */
}

/* Fills dest[] with each binding's destination id, known or planned. */
int dests_plan(NlSteer *s, const NlSteerBinding *b, size_t n, uint32_t limit, uint16_t *dest, DestPlan *p,
               NlError *e) {
        _cleanup_(hashmap_freep) Hashmap *ids = hashmap_new();
        char key[NL_STEER_LABEL_MAX + 16];
        uint32_t free_id = 1;
        int r;

        if (limit < s->max_dests)
                limit = s->max_dests;
        p->table = calloc(limit, sizeof(*p->table));
        p->made = calloc(limit, sizeof(*p->made));
        if (!ids || !p->table || !p->made)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = dests_load(s, p->table);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        for (uint32_t id = 1; id < s->max_dests; id++) {
                const struct steer_dest *d = &p->table[id];

                if (!d->in_use)
                        continue;
                dest_plan_key(d->label, d->protocol, d->family, key, sizeof(key));
                if (hashmap_put(ids, key, (void *) (uintptr_t) id) == -ENOMEM)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        for (size_t i = 0; i < n; i++) {
                uint8_t fam = abi_family(b[i].family);
                struct steer_dest *d;
                void *v;

                dest_plan_key(b[i].label, b[i].protocol, fam, key, sizeof(key));
                v = hashmap_get(ids, key);
                if (v) {
                        dest[i] = (uint16_t) (uintptr_t) v;
                        continue;
                }
                while (free_id < limit && p->table[free_id].in_use)
                        free_id++;
                if (free_id >= limit)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOSPC,
                                            "Too many destinations (labels x protocols x families): at most %d",
                                            (int) limit - 1);
                d = &p->table[free_id];
                *d = (struct steer_dest) { .protocol = b[i].protocol, .family = fam, .in_use = 1 };
                snprintf(d->label, sizeof(d->label), "%s", b[i].label);
                if (hashmap_put(ids, key, (void *) (uintptr_t) free_id) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                p->made[p->n_made++] = free_id;
                dest[i] = (uint16_t) free_id;
        }
        return 0;
}

/* Takes back the destinations the plan made (or began to): nothing points
 * at them, as no binding of the live generation does. */
void dests_unmake(NlSteer *s, const DestPlan *p) {
        for (size_t k = 0; k < p->n_made; k++) {
                const struct steer_dest *d = &p->table[p->made[k]];
                struct steer_dest z = {};
                struct steer_dest_key dk;
                uint32_t id = p->made[k];

                dest_key(d->label, d->protocol, d->family, &dk);
                (void) bpf_map_delete_elem(steer_fd(s, dest_ids), &dk);
                (void) bpf_map_update_elem(steer_fd(s, dests), &id, &z, BPF_ANY);
        }
}

/* In three batch writes, where one id at a time took three system calls
 * each (4,095 new labels: 12,000 calls, a third of a SetBindings). Ids are
 * recorded in the same order as one at a time: counters zeroed, the
 * destination, then the key that finds it. */
int dests_make(NlSteer *s, const DestPlan *p, NlError *e) {
        _cleanup_free_ struct steer_dest_stats *zero = NULL;
        _cleanup_free_ struct steer_dest_key *keys = NULL;
        _cleanup_free_ struct steer_dest *values = NULL;
        int ncpu = libbpf_num_possible_cpus();
        int r;

        if (p->n_made == 0)
                return 0;
        if (ncpu < 0)
                return nl_error_set(e, NL_ERR_FAILED, ncpu, "Cannot count CPUs: %m");
        zero = calloc(p->n_made * (size_t) ncpu, sizeof(*zero));
        keys = calloc(p->n_made, sizeof(*keys));
        values = calloc(p->n_made, sizeof(*values));
        if (!zero || !keys || !values)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t k = 0; k < p->n_made; k++) {
                values[k] = p->table[p->made[k]];
                dest_key(values[k].label, values[k].protocol, values[k].family, &keys[k]);
        }
        r = map_update_many(steer_fd(s, dest_stats), p->made, zero, p->n_made);
        if (r >= 0)
                r = map_update_many(steer_fd(s, dests), p->made, values, p->n_made);
        if (r >= 0)
                r = map_update_many(steer_fd(s, dest_ids), keys, p->made, p->n_made);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot record %zu destinations: %m", p->n_made);
        return 0;
}

int refs_recount(NlSteer *s, const uint16_t *dest, size_t n) {
        _cleanup_free_ struct steer_dest *d = calloc(s->max_dests, sizeof(*d));
        _cleanup_free_ struct steer_dest *changed = calloc(s->max_dests, sizeof(*changed));
        _cleanup_free_ uint32_t *refs = calloc(s->max_dests, sizeof(uint32_t));
        _cleanup_free_ uint32_t *ids = calloc(s->max_dests, sizeof(uint32_t));
        size_t n_changed = 0;
        int r;

        if (!d || !changed || !refs || !ids)
                return -ENOMEM;
        r = dests_load(s, d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                refs[dest[i]]++;
        /* The counts that changed, in one batch write. */
        for (uint32_t id = 1; id < s->max_dests; id++)
                if (d[id].in_use && d[id].refs != refs[id]) {
                        d[id].refs = refs[id];
                        ids[n_changed] = id;
                        changed[n_changed++] = d[id];
                }
        r = map_update_many(steer_fd(s, dests), ids, changed, n_changed);
        if (r < 0)
                return r;
        for (uint32_t id = 1; id < s->max_dests; id++) {
                if (!d[id].in_use || d[id].refs > 0)
                        continue;
                r = dest_release_if_unused(s, id, &d[id]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int dest_cmp(const void *x, const void *y) {
        const NlSteerDestination *a = x, *b = y;
        int c = strcmp(a->label, b->label);

        if (c)
                return c;
        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        return a->family < b->family ? -1 : a->family > b->family;
}

/* What each listed socket can take now (sock-states.h); without it the
 * list is still true, only its states are "unknown". */
static int list_socket_states(NlSteer *s, NlSteerDestination *out, size_t n) {
        _cleanup_free_ NlSockState *states = calloc(n + 1, sizeof(NlSockState));
        _cleanup_free_ uint32_t *ids = calloc(n + 1, sizeof(uint32_t));
        _cleanup_free_ size_t *at = calloc(n + 1, sizeof(size_t));
        size_t k = 0;

        if (!states || !ids || !at)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (out[i].cookie) {
                        ids[k] = out[i].id;
                        at[k++] = i;
                }
        (void) nl_sock_states_read(steer_fd(s, sockets), ids, k, states, NULL);
        for (size_t i = 0; i < k; i++)
                out[at[i]].socket_state = states[i];
        return 0;
}

int nl_steer_list_destinations(NlSteer *s, NlSteerDestination **ret, size_t *ret_n, NlError *e) {
        _cleanup_free_ struct steer_dest *d = calloc(s->max_dests, sizeof(*d));
        _cleanup_free_ struct steer_dest_stats *st = NULL;
        _cleanup_free_ NlSteerDestination *out = NULL;
        int ncpu = libbpf_num_possible_cpus();
        size_t n = 0;
        int r;

        if (ncpu < 0)
                return nl_error_set(e, NL_ERR_FAILED, ncpu, "Cannot count CPUs: %m");
        st = calloc((size_t) ncpu, sizeof(*st));
        out = calloc(s->max_dests, sizeof(*out));
        if (!d || !st || !out)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = dests_load(s, d);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        for (uint32_t id = 1; id < s->max_dests; id++) {
                NlSteerDestination *o = &out[n];

                if (!d[id].in_use)
                        continue;
                o->id = id;
                snprintf(o->label, sizeof(o->label), "%s", d[id].label);
                o->protocol = d[id].protocol;
                o->family = af_from_abi(d[id].family);
                o->bindings = d[id].refs;
                if (bpf_map_lookup_elem(steer_fd(s, sockets), &id, &o->cookie) < 0)
                        o->cookie = 0;
                o->socket_state = NL_SOCK_NONE;
                if (bpf_map_lookup_elem(steer_fd(s, dest_stats), &id, st) == 0)
                        for (int c = 0; c < ncpu; c++) {
                                o->lookups += st[c].lookups;
                                o->misses += st[c].misses;
                                o->errors += st[c].errors;
                        }
                n++;
        }
        r = list_socket_states(s, out, n);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        qsort(out, n, sizeof(*out), dest_cmp);
        *ret = TAKE_PTR(out);
        *ret_n = n;
        return 0;
}
