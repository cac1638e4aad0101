/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "steer-private.h"

/* SetBindings: a whole new set written beside the live one and switched to
 * with one write (steer.h). */

static int binding_cmp_labelled(const void *x, const void *y) {
        int c = binding_cmp(x, y);
        return c ? c : strcmp(((const NlSteerBinding *) x)->label, ((const NlSteerBinding *) y)->label);
}

/* Also: a binding that stays keeps its counter id (nc[j]; 0 for the new
 * ones), and kept[i] says which of old's do. */
static void diff_sets(const BindingSet *old, NlSteerBinding *nb, const uint16_t *nd, uint32_t *nc, bool *kept,
                      size_t n, unsigned *added, unsigned *removed) {
        size_t i = 0, j = 0;

        *added = *removed = 0;
        while (i < old->n || j < n) {
                int c = i >= old->n ? 1 : j >= n ? -1 : binding_cmp(&old->b[i], &nb[j]);

                if (c < 0) {
                        (*removed)++;
                        i++;
                } else if (c > 0) {
                        (*added)++;
                        j++;
                } else {
                        if (old->dest[i] == nd[j] && old->counter[i] != 0) {
                                nb[j].hits = old->b[i].hits;
                                nc[j] = old->counter[i];
                                kept[i] = true;
                        } else if (old->dest[i] == nd[j])
                                nb[j].hits = old->b[i].hits;
                        else {
                                (*added)++;
                                (*removed)++;
                        }
                        i++;
                        j++;
                }
        }
}

/* The new set is written beside the live one and switched to: until the
 * old one is deleted, both take room in the maps. Refused before anything
 * is written, in the words of bindings, not of an errno. */
static int check_room(const SteerNeed *reach, const BindingSet *old, const Built *t, size_t n, NlError *e) {
        if (old->prefixes.n + t->np > reach->prefixes)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -E2BIG,
                                    "Too many bindings: %zu, over %zu distinct prefixes; at most %zu distinct "
                                    "prefixes fit beside the %zu of the set they replace (%zu in all)",
                                    n, t->np, reach->prefixes - old->prefixes.n, old->prefixes.n,
                                    reach->prefixes);
        if (old->ports.n + t->no > reach->overflow)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -E2BIG,
                                    "Too many bindings: %zu, with %zu ports beyond the %u each prefix keeps; at most "
                                    "%zu such ports fit beside the %zu of the set they replace (%zu in all)",
                                    n, t->no, STEER_SLOTS, reach->overflow - old->ports.n, old->ports.n,
                                    reach->overflow);
        return 0;
}

/* Whether the link's own maps hold need (else it must grow first). */
static bool holds(NlSteer *s, const SteerNeed *need) {
        return need->prefixes <= s->max_prefixes && need->overflow <= s->max_overflow && need->dests <= s->max_dests &&
               need->counters <= s->max_counters;
}

static int set_sorted(NlSteer *s, NlSteerBinding *nb, size_t m, uint16_t *nd, NlSteerChanges *ret,
                      SteerNeed *need, NlError *e);

/* Whether the entries alone show that the set needs larger maps, which
 * hold it, of a tier with every destination id: then planning its
 * destinations and building its entries would be done again after the
 * growth, for nothing (a set of 100,000: a few hundred ms). need is the
 * entries' (the tier chosen for it has room for any destinations). A set
 * no tier holds goes on to be refused in words. */
static bool needs_growth_early(NlSteer *s, const SteerNeed *reach, const BindingSet *old, const NlSteerBinding *nb,
                               size_t m, SteerNeed *need) {
        size_t np, no;

        built_count(nb, m, &np, &no);
        *need = (SteerNeed) { old->prefixes.n + np, old->ports.n + no, 0, 0 };
        return !holds(s, need) && need->prefixes <= reach->prefixes && need->overflow <= reach->overflow &&
               steer_tier_has_all_dests(steer_tier_for(s, need));
}

int nl_steer_set_bindings_or_tier(NlSteer *s, const NlSteerBinding *in, size_t n, NlSteerChanges *ret,
                                  unsigned *ret_tier, NlError *e) {
        _cleanup_free_ NlSteerBinding *nb = NULL;
        _cleanup_free_ uint16_t *nd = NULL;
        SteerNeed need;
        size_t m = 0;
        int r;

        for (size_t i = 0; i < n; i++) {
                r = binding_check(&in[i], true, e);
                if (r < 0)
                        return nl_error_prefix(e, r, "Binding %zu", i);
        }
        nb = malloc((n + 1) * sizeof(*nb));
        nd = calloc(n + 1, sizeof(*nd));
        if (!nb || !nd)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        /* An empty set may come as in == NULL (SetBindings with []). */
        if (n > 0)
                memcpy(nb, in, n * sizeof(*nb));
        qsort(nb, n, sizeof(*nb), binding_cmp_labelled);
        for (size_t i = 0; i < n; i++) {
                nb[i].hits = 0;
                if (m > 0 && binding_cmp(&nb[m - 1], &nb[i]) == 0) {
                        char pfx[64];

                        if (strcmp(nb[m - 1].label, nb[i].label) == 0)
                                continue;
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "%s %s port %u is bound twice, to '%s' and '%s'",
                                            nl_steer_protocol_to_string(nb[i].protocol),
                                            nl_steer_prefix_to_string(&nb[i], pfx, sizeof(pfx)), nb[i].port,
                                            nb[m - 1].label, nb[i].label);
                }
                nb[m++] = nb[i];
        }

        r = set_sorted(s, nb, m, nd, ret, &need, e);
        if (r != 1)
                return r;
        *ret_tier = steer_tier_for(s, &need);
        if (*ret_tier >= STEER_TIERS)
                return nl_error_set(e, NL_ERR_FAILED, -ENOSPC, "No steer tier holds the set");
        return 1;
}

void nl_steer_set_no_wait(NlSteer *s, bool on) {
        s->no_wait = on;
}

int nl_steer_set_bindings(NlSteer *s, const NlSteerBinding *in, size_t n, NlSteerChanges *ret, NlError *e) {
        unsigned tier;
        int r;

        /* A set the link's maps cannot hold, but a larger tier's can,
         * moves the link to those first (steer-grow.c), then is written
         * there as any other. */
        r = nl_steer_set_bindings_or_tier(s, in, n, ret, &tier, e);
        if (r != 1)
                return r;
        r = nl_steer_grow(s, tier, e);
        if (r < 0)
                return r;
        r = nl_steer_set_bindings_or_tier(s, in, n, ret, &tier, e);
        return r == 1 ? nl_error_set(e, NL_ERR_FAILED, -ENOSPC, "No steer tier holds the set") : r;
}

/* nb: sorted, unique. Returns 1 with need filled, having written nothing,
 * if the link's maps are too small for the set but it may grow. */
static int set_sorted(NlSteer *s, NlSteerBinding *nb, size_t m, uint16_t *nd, NlSteerChanges *ret,
                      SteerNeed *need, NlError *e) {
        BindingSet old = {}, stale = {};
        _cleanup_free_ uint32_t *nc = NULL, *fresh = NULL, *gone = NULL;
        _cleanup_free_ bool *kept = NULL;
        size_t n_fresh = 0, n_gone = 0;
        uint32_t first_id;
        DestPlan plan = {};
        RegionsChange g = {};
        Built t = {};
        struct steer_config c;
        unsigned added, removed;
        bool widened = false;
        SteerNeed reach;
        uint8_t ng;
        int r;

        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        ng = (uint8_t) (c.gen ^ 1);

        /* A SetBindings that died half way left entries of ng: drop them. */
        r = binding_set_read(s, ng, &stale);
        if (r >= 0)
                r = map_delete_many(steer_fd(s, ports), stale.ports.keys, sizeof(struct steer_port_key), stale.ports.n);
        if (r >= 0)
                r = prefixes_delete(s, stale.prefixes.keys, stale.prefixes.n);
        binding_set_done(&stale);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear an unfinished SetBindings: %m");

        r = binding_set_read(s, (uint8_t) c.gen, &old);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the bindings: %m");
                goto finish;
        }
        /* The condition of the wait below, known before anything is written. */
        if (s->no_wait && (old.n > 0 || old.ports.n > 0 || old.prefixes.n > 0)) {
                r = -EWOULDBLOCK;
                goto finish;
        }
        /* Everything is planned and checked in memory first: a set that
         * does not fit is refused with nothing written. */
        steer_reach(s, &reach);
        if (needs_growth_early(s, &reach, &old, nb, m, need)) {
                r = 1;
                goto finish;
        }
        r = dests_plan(s, nb, m, (uint32_t) reach.dests, nd, &plan, e);
        if (r < 0)
                goto finish;
        nc = calloc(m + 1, sizeof(*nc));
        fresh = calloc(m + 1, sizeof(*fresh));
        kept = calloc(old.n + 1, sizeof(*kept));
        gone = calloc(old.n + 1, sizeof(*gone));
        if (!nc || !fresh || !kept || !gone) {
                r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                goto finish;
        }
        diff_sets(&old, nb, nd, nc, kept, m, &added, &removed);
        for (size_t i = 0; i < m; i++)
                n_fresh += nc[i] == 0;
        for (size_t i = 0; i < old.n; i++)
                if (!kept[i] && old.counter[i] != 0)
                        gone[n_gone++] = old.counter[i];
        /* Built once to be measured, and again below with the counters
         * taken once the set is known to fit. */
        first_id = c.next_prefix_id;
        r = build_gen(nb, nd, nc, m, ng, &c.next_prefix_id, &t);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                goto finish;
        }
        r = check_room(&reach, &old, &t, m, e);
        if (r < 0)
                goto finish;
        *need = (SteerNeed) { old.prefixes.n + t.np, old.ports.n + t.no,
                              plan.n_made ? plan.made[plan.n_made - 1] + 1 : 0,
                              s->max_counters ? counters_in_use(s) + n_fresh + 1 : 0 };
        if (!holds(s, need)) {
                r = 1;
                goto finish;
        }

        /* Bindings new to the link count from zero, on counters of their
         * own; those that stay keep theirs. */
        r = counters_take(s, fresh, n_fresh);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot take hit counters for the bindings: %m");
                goto finish;
        }
        for (size_t i = 0, k = 0; i < m; i++)
                if (nc[i] == 0)
                        nc[i] = fresh[k++];
        built_done(&t);
        c.next_prefix_id = first_id;
        r = build_gen(nb, nd, nc, m, ng, &c.next_prefix_id, &t);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
                goto undo;
        }
        r = dests_make(s, &plan, e);
        if (r < 0)
                goto undo;
        /* Lookups still on the old generation need its lengths, the new
         * one needs its own: the union, until the switch is done. */
        widened = true;
        r = regions_widen(s, &g, nb, m, old.b, old.n);
        if (r >= 0)
                r = map_update_many(steer_fd(s, ports), t.ok, t.ov, t.no);
        if (r >= 0)
                r = prefixes_write(s, t.pk, t.pv, t.np);
        if (r < 0) {
                r = maps_full(s, e, r, "write the %zu bindings", m);
                goto undo;
        }

        c.gen = ng;
        r = cfg_put(s, &c);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Cannot switch to the new bindings: %m");
                goto undo;
        }
        /* The wait (an RCU grace period, ~10 ms) is for lookups still
         * reading the old entries removed below. A link that had none (a
         * new link's first set: a pod's ADD) has nothing to remove and no
         * old lookup that could be misdirected. */
        r = old.n > 0 || old.ports.n > 0 || old.prefixes.n > 0 || n_gone > 0 ? wait_for_lookups() : 0;
        if (r < 0) {
                /* The old entries stay: better a leak than a lookup that
                 * sees half a set. The next SetBindings clears them. */
                r = nl_error_set(e, NL_ERR_FAILED, r, "Switched, but cannot wait for running lookups: %m");
                goto finish;
        }
        (void) map_delete_many(steer_fd(s, ports), old.ports.keys, sizeof(struct steer_port_key), old.ports.n);
        (void) prefixes_delete(s, old.prefixes.keys, old.prefixes.n);
        (void) regions_settle(s, &g, nb, m, old.b, old.n);
        counters_release(s, gone, n_gone);
        r = refs_recount(s, nd, m);
        if (r < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, r, "Switched, but cannot count destination references: %m");
                goto finish;
        }
        if (ret)
                *ret = (NlSteerChanges) { .added = added, .removed = removed, .total = (unsigned) m };
        r = 0;
        goto finish;

undo:
        /* Nothing switched yet: lookups never saw any of it. Take it all
         * back: the half-written set, its region bits, its new labels. */
        (void) map_delete_many(steer_fd(s, ports), t.ok, sizeof(*t.ok), t.no);
        (void) prefixes_delete(s, t.pk, t.np);
        if (widened)
                (void) regions_settle(s, &g, old.b, old.n, nb, m);
        dests_unmake(s, &plan);
        counters_release(s, fresh, n_fresh);
finish:
        binding_set_done(&old);
        built_done(&t);
        regions_change_done(&g);
        dest_plan_done(&plan);
        return r;
}
