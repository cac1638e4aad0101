/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "manager-private.h"
#include "netns-ref.h"

/* Listing the links, and the run order of each. */

static int compare_links(const void *a, const void *b) {
        const Link *x = *(Link *const *) a, *y = *(Link *const *) b;

        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        if (x->type != y->type)
                return x->type < y->type ? -1 : 1;
        if (x->info.link_id != y->info.link_id)
                return x->info.link_id < y->info.link_id ? -1 : 1;
        return strcmp(x->name, y->name);
}

int manager_list(Manager *m, const char *netns, Link ***ret, size_t *ret_n, NlError *e) {
        _cleanup_free_ Link **list = NULL;
        HashmapIter it = {};
        size_t n = 0;
        Link *l = NULL;
        int r;

        list = calloc(hashmap_size(m->links) + 1, sizeof(Link *));
        if (!list)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        if (netns && *netns) {
                uint64_t ino;
                Netns *ns;

                r = manager_resolve_ino(m, netns, &ino, e);
                if (r < 0)
                        return r;
                ns = manager_netns_get(m, ino);
                for (size_t i = 0; ns && i < ns->n_links; i++)
                        list[n++] = ns->links[i];
        } else
                while (hashmap_iterate(m->links, &it, (void **) &l, NULL))
                        list[n++] = l;
        qsort(list, n, sizeof(Link *), compare_links);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

uint32_t manager_link_order(Manager *m, const Link *l) {
        uint32_t ids[NL_SK_LOOKUP_MAX * 2], count = ELEMENTSOF(ids), same_prog_before = 0, rank = 0, order;
        Netns *ns;
        Link *w = (Link *) l;   /* the cache fields only */

        if (l->type != NL_ATTACH_SK_LOOKUP)
                return 0;
        /* Detached by someone else: it runs nowhere; its last place. */
        if (l->drift == LINK_DRIFT_DETACHED)
                return l->order;
        ns = manager_netns_get(m, l->ino);
        if (!ns)
                return 0;
        if (l->order_gen == ns->gen)
                return l->order;

        /* Our links in this netns that share l's program and came first:
         * the kernel runs links in attach order, and link ids grow. */
        for (size_t i = 0; i < ns->n_links; i++) {
                const Link *o = ns->links[i];
                if (o == l || o->type != l->type || o->info.link_id >= l->info.link_id ||
                    o->drift == LINK_DRIFT_DETACHED)
                        continue;
                rank++;
                if (o->info.prog_id == l->info.prog_id)
                        same_prog_before++;
        }

        order = rank;
        if (ns->path) {
                NlNetns nns;
                if (nl_netns_open(ns->path, &nns, NULL) >= 0) {
                        int r = nns.ino == l->ino ? nl_netns_query_progs(nns.fd, l->type, ids, &count) : -ESTALE;
                        nl_netns_close(&nns);
                        if (r >= 0)
                                for (uint32_t i = 0; i < count; i++)
                                        if (ids[i] == l->info.prog_id && same_prog_before-- == 0) {
                                                order = i;
                                                break;
                                        }
                }
        }
        w->order = order;
        w->order_gen = ns->gen;
        return order;
}

/* Finding links: by a netns reference, after dropping the links of a dead
 * netns whose inode a new one has now (drift.c). */

/* The inode of a netns reference, to look up links by. */
int manager_resolve_ino(Manager *m, const char *netns, uint64_t *ret, NlError *e) {
        uint64_t ino;
        int r;

        /* ino:N names a netns we hold links in, also one with no name left. */
        if (netns && strncmp(netns, "ino:", 4) == 0) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(netns + 4, &end, 10);
                if (errno || *end || end == netns + 4 || v == 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid netns reference '%.64s': ino:N takes a decimal inode", netns);
                *ret = v;
                return 0;
        }
        /* A netns we hold links in is known by its inode: one stat finds
         * it. Anything else is opened and checked, for the named error. */
        if (nl_netns_stat_ino(netns, &ino) >= 0 && manager_netns_get(m, ino)) {
                manager_drop_if_reused(m, ino);
                if (manager_netns_get(m, ino)) {
                        *ret = ino;
                        return 0;
                }
        }
        r = nl_netns_ino(netns, &ino, e);
        if (r < 0)
                return r;
        manager_drop_if_reused(m, ino);
        *ret = ino;
        return 0;
}

int manager_find(Manager *m, const char *netns, NlAttachType type, const char *name, Link **ret, NlError *e) {
        char key[128], buf[80];
        uint64_t ino;
        Link *l = NULL;
        int r;

        r = nl_link_name_check(name, e);
        if (r < 0)
                return r;
        r = manager_resolve_ino(m, netns, &ino, e);
        if (r < 0)
                return r;
        manager_link_key(key, sizeof(key), ino, type, name);
        l = hashmap_get(m->links, key);
        if (!l)
                return nl_error_set(e, NL_ERR_NO_SUCH_LINK, -ENOENT, "No %s link named '%s' in netns %s",
                                    nl_attach_type_to_string(type), name, nl_printable(netns, buf, sizeof(buf)));
        *ret = l;
        return 0;
}

int manager_get(Manager *m, const LinkRef *ref, Link **ret, NlError *e) {
        NlAttachType type;
        int r = nl_attach_type_parse(ref->type, &type, e);   /* the name: manager_find */

        if (r < 0)
                return r;
        return manager_find(m, ref->netns, type, ref->name, ret, e);
}
