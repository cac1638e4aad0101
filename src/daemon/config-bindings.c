/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "config-private.h"
#include "log.h"
#include "steer.h"

/* Bindings. */

static void binding_normalize(NlSteerBinding *b) {
        if (b->family == AF_INET)
                memset(b->addr + 4, 0, sizeof(b->addr) - 4);
        b->hits = 0;
}

static int compare_bindings(const void *x, const void *y) {
        const NlSteerBinding *a = x, *b = y;

        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        int r = memcmp(a->addr, b->addr, sizeof(a->addr));
        if (r != 0)
                return r;
        if (a->port != b->port)
                return a->port < b->port ? -1 : 1;
        return strcmp(a->label, b->label);
}

/* Whether the link's bindings are exactly these. */
static bool same_bindings(NlSteerBinding *have, size_t n_have, const NlSteerBinding *want, size_t n_want) {
        _cleanup_free_ NlSteerBinding *w = NULL;
        size_t n = 0;

        w = calloc(n_want + 1, sizeof(*w));
        if (!w)
                return false;
        for (size_t i = 0; i < n_want; i++) {
                w[i] = want[i];
                binding_normalize(&w[i]);
        }
        qsort(w, n_want, sizeof(*w), compare_bindings);
        /* A binding named twice, with the same label, is one. */
        for (size_t i = 0; i < n_want; i++)
                if (n == 0 || compare_bindings(&w[n - 1], &w[i]) != 0)
                        w[n++] = w[i];
        for (size_t i = 0; i < n_have; i++)
                binding_normalize(&have[i]);
        if (n_have > 0)
                qsort(have, n_have, sizeof(*have), compare_bindings);
        if (n != n_have)
                return false;
        for (size_t i = 0; i < n; i++)
                if (compare_bindings(&w[i], &have[i]) != 0)
                        return false;
        return true;
}

/* Sets the link's bindings to the file's, through the one call SetBindings
 * uses (every lookup sees the old set or the new one). Returns 1 if they
 * changed (or would). */
int config_apply_bindings(Apply *a, const Want *w, Link *l) {
        const NlConfigLink *c = w->file->link;
        _cleanup_(nl_steer_closep) NlSteer *s = NULL;
        _cleanup_free_ NlSteerBinding *have = NULL;
        size_t n_have = 0;
        char dir[4096];
        NlError e = {};
        int r;

        if (!l) {
                /* Not made yet (a dry run): its bindings would be set. */
                return c->n_bindings > 0;
        }
        if (!manager_link_runs_steer(l))
                return 0;
        if (l->steer_busy && !a->dry_run) {
                /* Two writers of one set would mix their generations. */
                config_add_error(a->res, "%s: bindings of link '%s' in netns %s: a SetBindings over D-Bus is "
                                 "changing them now; not set", c->path, c->name, w->netns);
                return 0;
        }
        r = manager_steer_dir(a->c->m, l->ino, l->name, dir, sizeof(dir));
        if (r >= 0) {
                r = nl_steer_open(dir, &s, &e);
                if (r < 0 && !a->dry_run && manager_repair_steer_maps(a->c->m, l, NULL) > 0)
                        r = nl_steer_open(dir, &s, &e);
        } else
                nl_error_set(&e, NL_ERR_FAILED, r, "Steer map folder path too long");
        if (r >= 0)
                r = nl_steer_list_bindings(s, &have, &n_have, &e);
        if (r >= 0 && same_bindings(have, n_have, c->bindings, c->n_bindings))
                return 0;
        if (r >= 0 && !a->dry_run) {
                NlSteerChanges ch = {};
                r = nl_steer_set_bindings(s, c->bindings, c->n_bindings, &ch, &e);
                if (r >= 0)
                        log_info("Steering %s/%s: set the bindings of %s: %u now, %u added, %u removed",
                                 l->netns, l->name, c->path, ch.total, ch.added, ch.removed);
        }
        if (r < 0) {
                config_add_error(a->res, "%s: bindings of link '%s' in netns %s: %s", c->path, c->name, w->netns,
                                 e.message);
                return 0;
        }
        return 1;
}
