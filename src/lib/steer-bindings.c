/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "steer-private.h"

/* One binding at a time (AddBinding, RemoveBinding), and ListBindings
 * (a whole generation is read in steer-generation.c). */

/* ---- one prefix entry ------------------------------------------------- */

enum { AT_NONE, AT_WILD, AT_SLOT, AT_OVERFLOW };

typedef struct PortAt {
        int at;
        int slot;
        uint16_t dest;
        uint32_t counter;
} PortAt;

static PortAt prefix_find_port(NlSteer *s, const struct steer_prefix *p, uint16_t port) {
        if (port == 0)
                return p->wild_dest ? (PortAt) { AT_WILD, 0, p->wild_dest, p->wild_counter } : (PortAt) { .at = AT_NONE };
        for (int i = 0; i < p->nslots && i < STEER_SLOTS; i++)
                if (p->slot[i].port == port)
                        return (PortAt) { AT_SLOT, i, p->slot[i].dest, p->slot[i].counter };
        if (p->noverflow) {
                struct steer_port_key k = { p->id, port };
                struct steer_port v;

                if (bpf_map_lookup_elem(steer_fd(s, ports), &k, &v) == 0)
                        return (PortAt) { AT_OVERFLOW, 0, v.dest, v.counter };
        }
        return (PortAt) { .at = AT_NONE };
}

static bool prefix_is_empty(const struct steer_prefix *p) {
        return p->nslots == 0 && p->noverflow == 0 && p->wild_dest == 0;
}

/* Puts (port -> dest) into the entry p (written back by the caller); an
 * overflow entry is written here, before the prefix that leads to it. A
 * binding already there keeps its counter; a new one takes counter. */
static int prefix_put_port(NlSteer *s, struct steer_prefix *p, PortAt at, uint16_t port, uint16_t dest,
                           uint32_t counter) {
        struct steer_port_key k = { p->id, port };
        struct steer_port v = { .dest = dest, .counter = counter };
        int r;

        if (port == 0) {
                p->wild_dest = dest;
                if (at.at == AT_NONE)
                        p->wild_counter = counter;
                return 0;
        }
        switch (at.at) {
        case AT_SLOT:
                p->slot[at.slot].dest = dest;
                return 0;
        case AT_OVERFLOW:
                r = bpf_map_lookup_elem(steer_fd(s, ports), &k, &v);
                v.dest = dest;
                return r < 0 ? r : bpf_map_update_elem(steer_fd(s, ports), &k, &v, BPF_EXIST);
        }
        if (p->nslots < STEER_SLOTS) {
                p->slot[p->nslots] = (struct steer_slot) { .port = port, .dest = dest, .counter = counter };
                p->nslots++;
                return 0;
        }
        r = bpf_map_update_elem(steer_fd(s, ports), &k, &v, BPF_ANY);
        if (r < 0)
                return r;
        p->noverflow++;
        return 0;
}

/* ---- bindings ----------------------------------------------------------- */

/* The maps refused an entry: full (E2BIG), or the kernel is out of memory
 * for a map that allocates as it goes. In words, not as "Argument list
 * too long". what: printf-style, what could not be done. */
_printf_(4, 5) int maps_full(NlSteer *s, NlError *e, int r, const char *what, ...) {
        char buf[128];
        va_list ap;

        va_start(ap, what);
        vsnprintf(buf, sizeof(buf), what, ap);
        va_end(ap);
        if (r == -E2BIG)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, r,
                                    "Too many bindings: cannot %s, the link's maps are full (at most %u distinct "
                                    "prefixes and %u ports beyond the %u each prefix keeps)",
                                    buf, s->max_prefixes, s->max_overflow, STEER_SLOTS);
        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot %s: the kernel is out of memory for its maps", buf);
}

static int binding_describe_fail(NlError *e, int r, const NlSteerBinding *b, const char *what) {
        char pfx[64];

        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot %s %s %s port %u: %m", what,
                            nl_steer_protocol_to_string(b->protocol),
                            nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
}

/* Checks b, reads the configuration and gives b's prefix key in the
 * current generation: how adding and removing a binding start. */
static int binding_key(NlSteer *s, const NlSteerBinding *b, bool want_label, struct steer_config *c,
                       struct steer_prefix_key *k, NlError *e) {
        int r;

        r = binding_check(b, want_label, e);
        if (r < 0)
                return r;
        r = cfg_get(s, c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        prefix_key(b, (uint8_t) c->gen, k);
        return 0;
}

static int add_binding(NlSteer *s, const NlSteerBinding *b, NlError *e) {
        struct steer_prefix p = {};
        struct steer_prefix_key k;
        struct steer_config c;
        bool exists;
        PortAt at = { .at = AT_NONE };
        uint32_t counter = 0;
        int r, dest;

        r = binding_key(s, b, true, &c, &k, e);
        if (r < 0)
                return r;
        exists = bpf_map_lookup_elem(steer_fd(s, prefixes), &k, &p) == 0;
        if (exists)
                at = prefix_find_port(s, &p, b->port);

        dest = dest_get(s, b->label, b->protocol, abi_family(b->family), e);
        if (dest < 0)
                return dest;
        if (at.at != AT_NONE && at.dest == dest)
                return 0;

        if (at.at == AT_NONE) {
                r = counters_take(s, &counter, 1);
                if (r < 0) {
                        (void) dest_release(s, (uint32_t) dest);
                        if (r == -ENOSPC)
                                return nl_error_set(e, NL_ERR_INVALID_ARGS, r,
                                                    "Too many bindings: the link's %u hit counters are taken",
                                                    s->max_counters - 1);
                        return binding_describe_fail(e, r, b, "take a hit counter for");
                }
        }
        r = regions_mark(s, b);
        if (r < 0) {
                counters_release(s, &counter, 1);
                return binding_describe_fail(e, r, b, "mark regions for");
        }
        if (!exists) {
                memset(&p, 0, sizeof(p));
                p.id = c.next_prefix_id++;
                r = cfg_put(s, &c);
                if (r < 0)
                        return binding_describe_fail(e, r, b, "allocate a prefix id for");
        }
        r = prefix_put_port(s, &p, at, b->port, (uint16_t) dest, counter);
        if (r >= 0 && at.at != AT_OVERFLOW)
                r = prefix_put(s, &k, &p);
        if (r < 0) {
                counters_release(s, &counter, 1);
                (void) dest_release(s, (uint32_t) dest);
                if (r == -E2BIG || r == -ENOMEM) {
                        char pfx[64];
                        return maps_full(s, e, r, "add %s %s port %u", nl_steer_protocol_to_string(b->protocol),
                                         nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
                }
                return binding_describe_fail(e, r, b, "add");
        }
        (void) dest_ref(s, (uint32_t) dest, +1);
        if (at.at != AT_NONE)
                (void) dest_ref(s, at.dest, -1);
        return 1;
}

int nl_steer_add_binding(NlSteer *s, const NlSteerBinding *b, NlError *e) {
        int r = add_binding(s, b, e);

        return steer_retry_grown(s, r, e) > 0 ? add_binding(s, b, e) : r;
}

int nl_steer_remove_binding(NlSteer *s, const NlSteerBinding *b, NlError *e) {
        struct steer_prefix p;
        struct steer_prefix_key k;
        struct steer_config c;
        char pfx[64];
        PortAt at;
        int r;

        r = binding_key(s, b, false, &c, &k, e);
        if (r < 0)
                return r;
        if (bpf_map_lookup_elem(steer_fd(s, prefixes), &k, &p) < 0 ||
            (at = prefix_find_port(s, &p, b->port)).at == AT_NONE)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOENT, "No binding %s %s port %u",
                                    nl_steer_protocol_to_string(b->protocol),
                                    nl_steer_prefix_to_string(b, pfx, sizeof(pfx)), b->port);
        switch (at.at) {
        case AT_WILD:
                p.wild_dest = 0;
                p.wild_counter = 0;
                p.wild_hits = 0;
                break;
        case AT_SLOT:
                memmove(&p.slot[at.slot], &p.slot[at.slot + 1],
                        (size_t) (p.nslots - at.slot - 1) * sizeof(p.slot[0]));
                p.nslots--;
                memset(&p.slot[p.nslots], 0, sizeof(p.slot[0]));
                break;
        case AT_OVERFLOW: {
                struct steer_port_key pk = { p.id, b->port };

                r = bpf_map_delete_elem(steer_fd(s, ports), &pk);
                if (r < 0)
                        return binding_describe_fail(e, r, b, "remove");
                p.noverflow--;
                break;
        }
        }
        if (prefix_is_empty(&p))
                r = prefix_delete(s, &k);
        else
                r = prefix_put(s, &k, &p);
        if (r < 0)
                return binding_describe_fail(e, r, b, "remove");
        /* The prefix's regions keep their bit: a stale bit costs a probe,
         * never a wrong answer, and SetBindings recomputes them. */
        (void) dest_ref(s, at.dest, -1);
        counters_release(s, &at.counter, 1);
        return 0;
}

static int labels_fill(NlSteer *s, NlSteerBinding *b, const uint16_t *dest, size_t n) {
        _cleanup_free_ struct steer_dest *d = calloc(s->max_dests, sizeof(*d));
        int r;

        if (!d)
                return -ENOMEM;
        r = dests_load(s, d);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                snprintf(b[i].label, sizeof(b[i].label), "%s", dest[i] < s->max_dests ? d[dest[i]].label : "");
        return 0;
}

int nl_steer_list_bindings(NlSteer *s, NlSteerBinding **ret, size_t *ret_n, NlError *e) {
        BindingSet set;
        struct steer_config c;
        int r;

        r = cfg_get(s, &c);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read steer configuration: %m");
        r = binding_set_read(s, (uint8_t) c.gen, &set);
        if (r >= 0)
                r = labels_fill(s, set.b, set.dest, set.n);
        if (r >= 0)
                r = counters_add_hits(s, set.counter, set.b, set.n);
        if (r < 0) {
                binding_set_done(&set);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot list bindings: %m");
        }
        *ret = TAKE_PTR(set.b);
        *ret_n = set.n;
        if (!*ret)
                *ret = calloc(1, sizeof(NlSteerBinding));
        binding_set_done(&set);
        return 0;
}
