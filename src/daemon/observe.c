/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "netns-ref.h"
#include "observe.h"

/* ino:N names a netns the daemon holds links in; anything else is opened
 * and checked as for every other call. */
static int open_netns(Manager *m, const char *ref, NlNetns *ns, NlError *e) {
        uint64_t ino;
        int r;

        if (ref && strncmp(ref, "ino:", 4) == 0) {
                char *end;
                Netns *n;

                errno = 0;
                ino = strtoull(ref + 4, &end, 10);
                if (errno || *end || end == ref + 4 || ino == 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid netns reference: ino:N takes a decimal inode");
                n = manager_netns_get(m, ino);
                if (!n || !n->path)
                        return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, -ENOENT,
                                            "No netns with inode %" PRIu64 " holds links of the daemon", ino);
                r = nl_netns_open(n->path, ns, e);
                if (r >= 0 && ns->ino != ino) {
                        nl_netns_close(ns);
                        return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, -ENOENT,
                                            "The netns with inode %" PRIu64 " is gone", ino);
                }
                return r;
        }
        r = nl_netns_open(ref, ns, e);
        if (r >= 0)
                manager_drop_if_reused(m, ns->ino);
        return r;
}

static int compare_link_ids(const void *a, const void *b) {
        const Link *x = *(const Link *const *) a, *y = *(const Link *const *) b;
        return x->info.link_id < y->info.link_id ? -1 : x->info.link_id > y->info.link_id;
}

/* Marks the entries our links run at. The kernel runs a netns's links in
 * attach order, and link ids grow: our links, by link id, are found in
 * that order among the programs, each at the first place after the one
 * before that runs its program. A link whose program is not found (gone
 * behind our back) is passed over. Asked afresh: programs of other tools
 * come and go without the daemon seeing it, so manager_link_order's cache
 * would not do. */
static int match_links(Manager *m, uint64_t ino, HookEntry *h, size_t n) {
        Netns *ns = manager_netns_get(m, ino);
        _cleanup_free_ const Link **ours = NULL;
        size_t k = 0, from[_NL_ATTACH_MAX] = {};

        if (!ns || ns->n_links == 0)
                return 0;
        ours = calloc(ns->n_links, sizeof(Link *));
        if (!ours)
                return -ENOMEM;
        for (size_t i = 0; i < ns->n_links; i++) {
                const Link *l = ns->links[i];
                if (!l->defunct && !l->detached && l->drift != LINK_DRIFT_DETACHED)
                        ours[k++] = l;
        }
        qsort(ours, k, sizeof(Link *), compare_link_ids);
        for (size_t i = 0; i < k; i++) {
                const Link *l = ours[i];

                for (size_t j = from[l->type]; j < n; j++)
                        if (h[j].prog.type == l->type && h[j].prog.prog_id == l->info.prog_id) {
                                h[j].link = l;
                                from[l->type] = j + 1;
                                break;
                        }
        }
        return 0;
}

int observe_query(Manager *m, const char *netns, HookEntry **ret, size_t *ret_n, NlError *e) {
        _cleanup_free_ NlHookProg *progs = NULL;
        _cleanup_free_ HookEntry *h = NULL;
        NlNetns ns;
        size_t n = 0;
        int r;

        r = open_netns(m, netns, &ns, e);
        if (r < 0)
                return r;
        r = nl_netns_query_hooks(ns.fd, &progs, &n);
        nl_netns_close(&ns);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot query the programs of the netns: %m");
        h = calloc(n + 1, sizeof(HookEntry));
        if (!h)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                h[i].prog = progs[i];
        r = match_links(m, ns.ino, h, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(h);
        *ret_n = n;
        return 0;
}

static int open_steer(Manager *m, const Link *l, NlSteer **ret, NlError *e) {
        char dir[4096];
        int r = manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir));

        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Steer map folder path too long");
        return nl_steer_open(dir, ret, e);
}

/* The binding builtin:steer would pick, read from the link's maps. */
static int steer_binding(Manager *m, ExplainStep *s, const NlLookupQuery *q, NlError *e) {
        _cleanup_(nl_steer_closep) NlSteer *steer = NULL;
        _cleanup_free_ NlSteerBinding *b = NULL;
        const NlSteerBinding *match;
        size_t n;
        int r;

        r = open_steer(m, s->link, &steer, e);
        if (r >= 0)
                r = nl_steer_list_bindings(steer, &b, &n, e);
        if (r < 0)
                return r;
        match = nl_steer_match(b, n, q);
        s->matched = match;
        if (match)
                s->binding = *match;
        return 0;
}

/* The label of a registered socket of any steer link of the netns. */
static void label_of_cookie(Manager *m, const Explanation *x, uint64_t cookie, char *buf, size_t size) {
        for (size_t i = 0; i < x->n && cookie; i++) {
                _cleanup_(nl_steer_closep) NlSteer *steer = NULL;
                _cleanup_free_ NlSteerDestination *d = NULL;
                size_t n = 0;

                if (!x->steps[i].steer || open_steer(m, x->steps[i].link, &steer, NULL) < 0 ||
                    nl_steer_list_destinations(steer, &d, &n, NULL) < 0)
                        continue;
                for (size_t j = 0; j < n; j++)
                        if (d[j].cookie == cookie) {
                                snprintf(buf, size, "%s", d[j].label);
                                return;
                        }
        }
}

int observe_explain(Manager *m, const char *netns, const char *protocol, const char *source,
                    const char *destination, Explanation *ret, NlError *e) {
        _cleanup_free_ HookEntry *h = NULL;
        _cleanup_free_ NlLookupStep *runs = NULL;
        Explanation x = {};
        NlLookupQuery q;
        bool chosen = false;
        size_t n, winner = 0;
        int r;

        *ret = (Explanation) {};
        r = nl_lookup_query_parse(protocol, source, destination, &q, e);
        if (r < 0)
                return r;
        r = observe_query(m, netns, &h, &n, e);
        if (r < 0)
                return r;
        x.steps = calloc(n + 1, sizeof(ExplainStep));
        if (!x.steps)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                ExplainStep *s;

                if (h[i].prog.type != NL_ATTACH_SK_LOOKUP)
                        continue;
                s = &x.steps[x.n++];
                s->link = h[i].link;
                s->steer = s->link && manager_link_runs_steer(s->link);
                s->run.prog_id = h[i].prog.prog_id;
                /* builtin:steer leaves a lookup alone that another program
                 * chose a socket for already (it reads ctx->sk): it passes,
                 * at once, and counts nothing. */
                if (s->steer && chosen) {
                        s->stepped_aside = true;
                        s->run.pass = true;
                        continue;
                }
                r = nl_sk_lookup_test_run(s->run.prog_id, &q, &s->run);
                if (r < 0) {
                        explanation_done(&x);
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot test-run program %u: %m",
                                            h[i].prog.prog_id);
                }
                /* Which binding it used is read from the maps; maps whose
                 * pins are gone (drift, mended at the next sweep) leave the
                 * step without one rather than the answer without steps. */
                if (s->steer)
                        (void) steer_binding(m, s, &q, NULL);
                chosen = chosen || (s->run.pass && s->run.selected);
        }
        runs = calloc(x.n + 1, sizeof(NlLookupStep));
        if (!runs) {
                explanation_done(&x);
                return -ENOMEM;
        }
        for (size_t i = 0; i < x.n; i++)
                runs[i] = x.steps[i].run;
        x.result = nl_sk_lookup_chain(runs, x.n, &winner);
        if (x.result == NL_LOOKUP_SOCKET) {
                const ExplainStep *w = &x.steps[winner];

                if (w->steer && w->matched)
                        snprintf(x.label, sizeof(x.label), "%s", w->binding.label);
                else
                        label_of_cookie(m, &x, w->run.cookie, x.label, sizeof(x.label));
        }
        *ret = x;
        return 0;
}

void explanation_done(Explanation *x) {
        free(x->steps);
        x->steps = NULL;
        x->n = 0;
}
