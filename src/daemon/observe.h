/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "explain.h"
#include "manager.h"
#include "netns-query.h"

/*
 * Seeing what runs in a netns (QueryNetns, Explain): what the kernel says
 * runs at its hooks, matched with the daemon's links. Reads only; the bus
 * layer (bus-observe.c) parses, calls these and replies.
 */

typedef struct HookEntry {
        NlHookProg prog;
        const Link *link;       /* the daemon's link running it there, NULL if another tool's */
} HookEntry;

/* Every program at netns's hooks in run order (sk_lookup, then
 * flow_dissector); free(*ret). */
int observe_query(Manager *m, const char *netns, HookEntry **ret, size_t *ret_n, NlError *e);

typedef struct ExplainStep {
        NlLookupStep run;
        const Link *link;       /* NULL: not the daemon's */
        bool steer;             /* the link runs builtin:steer */
        bool stepped_aside;     /* steer, after another program chose: it returns at once */
        bool matched;           /* steer: a binding matched */
        NlSteerBinding binding;
} ExplainStep;

typedef struct Explanation {
        ExplainStep *steps;
        size_t n;
        NlLookupResult result;
        char label[NL_STEER_LABEL_MAX + 1];     /* the socket's, when it is a registered one */
} Explanation;

/* Runs netns's sk_lookup chain on one made-up lookup. A builtin:steer step
 * that runs counts as one real lookup in its maps: the matched binding's
 * hits and its destination's lookups (and misses, or errors) move by one;
 * nothing else of the daemon's does. */
int observe_explain(Manager *m, const char *netns, const char *protocol, const char *source,
                    const char *destination, Explanation *ret, NlError *e);
void explanation_done(Explanation *x);
