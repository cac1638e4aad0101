/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "link-records.h"
#include "log.h"
#include "manager-private.h"
#include "netns-ref.h"
#include "steer-maps.h"

/*
 * The Manager's lifetime and bookkeeping: the Link and Netns tables,
 * finding links, pruning the folders of emptied netns. Its operations are
 * in manager-ops.c and manager-batch.c, listing in manager-list.c, start-up
 * in manager-start.c, the pin root's layout in manager-layout.c, what
 * changed behind its back in drift.c.
 */


void manager_link_key(char *buf, size_t size, uint64_t ino, NlAttachType type, const char *name) {
        snprintf(buf, size, "%" PRIu64 "/%s/%s", ino, nl_attach_type_to_string(type), name);
}

void manager_netns_key(char buf[32], uint64_t ino) {
        snprintf(buf, 32, "%" PRIu64, ino);
}

static void netns_free(void *p) {
        Netns *n = p;

        if (n) {
                free(n->links);
                free(n->path);
                free(n);
        }
}

void manager_link_free(Link *l) {
        if (!l)
                return;
        safe_close(l->fd);
        free(l->netns);
        free(l->source);
        free(l->config);
        free(l->origin);
        nl_program_unref(l->prog);
        free(l);
}

static void link_free_void(void *p) {
        manager_link_free(p);
}

/* Programs. */

static int loader_stage(void *userdata, uint64_t ino, char *buf, size_t size) {
        Manager *m = userdata;
        return nl_pin_steer_stage(m->store, ino, buf, size);
}

/* A load making steer maps in netns ino ended: if its folder went with
 * the program, the netns's folders go later if it has no link. */
static void loader_ended(void *userdata, uint64_t ino) {
        manager_mark_emptied(userdata, ino);
}

/* The loader watches its children on the daemon's loop, if there is one. */
static int manager_loader_new(Manager *m) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        LoaderHooks hooks = { .stage = loader_stage, .ended = loader_ended, .userdata = m };

        (void) sd_event_default(&event);
        return loader_new(event, m->cache, m->marks_fd, m->sources_fd, &hooks, &m->loader);
}

int manager_new(const char *pin_root, Manager **ret, NlError *e) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        m->marks_fd = m->sources_fd = m->configs_fd = -EBADF;
        r = nl_pin_store_open(pin_root, &m->store, e);
        if (r < 0) {
                free(m);
                return r;
        }
        /* Before anything under the root is read or changed: a second
         * daemon must not repair or tidy what the first is making. */
        r = nl_pin_store_lock(m->store, e);
        if (r >= 0)
                r = manager_layout_open(m, e);
        if (r < 0) {
                safe_close(m->marks_fd);
                safe_close(m->sources_fd);
                safe_close(m->configs_fd);
                nl_pin_store_free(m->store);
                free(m);
                return r;
        }
        m->cache = nl_prog_cache_new();
        m->links = hashmap_new();
        m->netns = hashmap_new();
        m->emptied = hashmap_new();
        nl_pin_store_keep_dirs(m->store, true);
        if (!m->cache || !m->links || !m->netns || !m->emptied || manager_loader_new(m) < 0) {
                manager_free(m);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        {
                struct stat st;
                if (stat(pin_root, &st) >= 0)
                        m->pin_root_dev = st.st_dev;
        }
        r = nl_kernel_features_probe(&m->kernel);
        if (r < 0) {
                manager_free(m);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot load even a trivial BPF program: %m");
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        loader_free(m->loader);
        hashmap_free(m->emptied, NULL);
        /* Closing our fds leaves the pinned links running: that is the point. */
        hashmap_free(m->links, link_free_void);
        hashmap_free(m->netns, netns_free);
        nl_prog_cache_free(m->cache);
        safe_close(m->marks_fd);
        safe_close(m->sources_fd);
        safe_close(m->configs_fd);
        nl_pin_store_free(m->store);
        free(m);
        return NULL;
}

int manager_steer_dir(Manager *m, uint64_t ino, const char *name, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%" PRIu64 "/" NL_STEER_DIR "/%s", nl_pin_store_root(m->store), ino, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

void manager_remove_steer_dir(Manager *m, uint64_t ino, const char *name) {
        char dir[4096];

        if (manager_steer_dir(m, ino, name, dir, sizeof(dir)) < 0)
                return;
        (void) nl_pin_rm_rf(dir);
        /* and the steer/ folder if now empty; the netns folder is pruned
         * with the others (manager_prune) */
        *strrchr(dir, '/') = 0;
        (void) rmdir(dir);
        manager_mark_emptied(m, ino);
}

static bool link_is_steer(const Link *l) {
        return l->builtin && l->builtin->per_link;
}

bool manager_link_runs_steer(const Link *l) {
        return link_is_steer(l);
}

/* Bookkeeping of netns. */

static Netns *netns_get(Manager *m, uint64_t ino) {
        char k[32];

        manager_netns_key(k, ino);
        return hashmap_get(m->netns, k);
}

Netns *manager_netns_get(Manager *m, uint64_t ino) {
        return netns_get(m, ino);
}

static int netns_ref_link(Manager *m, Link *l, const char *path) {
        Netns *n = netns_get(m, l->ino);
        char k[32];

        manager_netns_key(k, l->ino);
        if (!n) {
                n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                n->ino = l->ino;
                if (hashmap_put(m->netns, k, n) < 0) {
                        free(n);
                        return -ENOMEM;
                }
        }
        if (n->n_links == n->allocated) {
                size_t a = n->allocated ? n->allocated * 2 : 4;
                Link **v = reallocarray(n->links, a, sizeof(Link *));
                if (!v) {
                        if (n->n_links == 0) {
                                hashmap_remove(m->netns, k);
                                netns_free(n);
                        }
                        return -ENOMEM;
                }
                n->links = v;
                n->allocated = a;
        }
        if (path && *path && (!n->path || strcmp(n->path, path) != 0)) {
                char *p = strdup(path);
                if (p) {
                        free(n->path);
                        n->path = p;
                }
        }
        n->links[n->n_links++] = l;
        n->gen++;
        return 0;
}

static void netns_unref_link(Manager *m, Link *l) {
        Netns *n = netns_get(m, l->ino);
        char k[32];

        if (!n)
                return;
        for (size_t i = 0; i < n->n_links; i++)
                if (n->links[i] == l) {
                        n->links[i] = n->links[--n->n_links];
                        break;
                }
        n->gen++;
        if (n->n_links > 0)
                return;
        manager_netns_key(k, l->ino);
        hashmap_remove(m->netns, k);
        netns_free(n);
        manager_mark_emptied(m, l->ino);
}

Link *manager_link_new(uint64_t ino, NlAttachType type, const char *name, const char *netns,
                       const char *source) {
        Link *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        l->fd = -EBADF;
        l->ino = ino;
        l->type = type;
        snprintf(l->name, sizeof(l->name), "%s", name);
        manager_link_key(l->key, sizeof(l->key), ino, type, name);
        l->netns = strdup(netns);
        l->source = strdup(source ? source : "");
        if (!l->netns || !l->source) {
                manager_link_free(l);
                return NULL;
        }
        return l;
}

/* Takes l into the table. A run order learnt when l was made
 * (order_known) holds until the netns's links change again. */
int manager_link_add(Manager *m, Link *l, const char *netns_path) {
        int r = hashmap_put(m->links, l->key, l);

        if (r < 0)
                return r;
        r = netns_ref_link(m, l, netns_path);
        if (r < 0) {
                hashmap_remove(m->links, l->key);
                return r;
        }
        if (l->order_known)
                l->order_gen = netns_get(m, l->ino)->gen;
        return 0;
}

/* Removes l from the table and frees it. */
void manager_link_drop(Manager *m, Link *l) {
        hashmap_remove(m->links, l->key);
        netns_unref_link(m, l);
        manager_link_free(l);
}

void manager_emit(Manager *m, LinkEvent ev, const Link *l) {
        if (m->on_event)
                m->on_event(m, ev, l);
        for (size_t i = 0; i < m->n_observers; i++)
                m->observers[i].fn(m->observers[i].userdata, ev, l);
}

int manager_observe(Manager *m, link_observer_fn fn, void *userdata) {
        if (m->n_observers == MANAGER_OBSERVERS_MAX)
                return -E2BIG;
        m->observers[m->n_observers++] = (LinkObserver) { fn, userdata };
        return 0;
}

void manager_unobserve(Manager *m, void *userdata) {
        for (size_t i = 0; i < m->n_observers;)
                if (m->observers[i].userdata == userdata)
                        m->observers[i] = m->observers[--m->n_observers];
                else
                        i++;
}

/* Re-reads the link's ids; the program's name and tag come from the
 * program we loaded, which saves opening it by id. A changed program
 * changes what BPF_PROG_QUERY reports, so the netns's run order too. */
int manager_refresh_info(Manager *m, Link *l) {
        Netns *n = netns_get(m, l->ino);
        int r;

        if (n)
                n->gen++;
        if (!l->prog)
                return nl_link_get_info(l->fd, true, &l->info);
        r = nl_link_get_info(l->fd, false, &l->info);
        if (r < 0)
                return r;
        snprintf(l->info.prog_name, sizeof(l->info.prog_name), "%s", nl_program_name(l->prog));
        snprintf(l->info.prog_tag, sizeof(l->info.prog_tag), "%s", nl_program_tag(l->prog));
        return 0;
}

/* References. */


Link *manager_link_get(Manager *m, uint64_t ino, NlAttachType type, const char *name) {
        char key[128];

        manager_link_key(key, sizeof(key), ino, type, name);
        return hashmap_get(m->links, key);
}

/* For a new link: its type must be one this kernel attaches (5.8 and 5.9
 * brought them; see kernel-features.h), so that an old kernel's refusal
 * names the release needed instead of a bare EINVAL. */
int manager_parse_ref(Manager *m, const LinkRef *ref, NlAttachType *type, NlError *e) {
        int r = nl_attach_type_parse(ref->type, type, e);
        if (r < 0)
                return r;
        r = nl_kernel_require(&m->kernel, *type == NL_ATTACH_SK_LOOKUP ? NL_FEATURE_SK_LOOKUP_LINK
                                                                       : NL_FEATURE_FLOW_DISSECTOR_LINK, e);
        if (r < 0)
                return r;
        return nl_link_name_check(ref->name, e);
}

/*
 * Pruning: pin folders of a netns with no links left are removed a few
 * seconds later, not at once: a Detach followed by an Attach in the same
 * netns, as orchestrators do, would otherwise pay two rmdir and two mkdir,
 * more than the attach itself.
 */
#define PRUNE_DELAY_USEC (5ULL * 1000 * 1000)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void manager_mark_emptied(Manager *m, uint64_t ino) {
        char k[32];

        manager_netns_key(k, ino);
        if (hashmap_get(m->netns, k))
                return;         /* it has links: its folders are in use */
        /* Kept as a pointer-sized value: when it was emptied. */
        (void) hashmap_remove(m->emptied, k);
        (void) hashmap_put(m->emptied, k, (void *) (uintptr_t) now_usec());
}

/* Removes the folders of a netns without links. A load making steer maps
 * in it (in a child process, so at any time) makes them in a folder of its
 * own, which keeps the netns folder from going; the load marks the netns
 * again when it ends (the loader's ended hook, manager_attach_one). Returns 1 if
 * the netns folder went. */
int manager_prune_now(Manager *m, uint64_t ino) {
        char key[32];

        manager_netns_key(key, ino);
        hashmap_remove(m->emptied, key);
        /* A netns with links again keeps its folders. */
        return !hashmap_get(m->netns, key) && nl_pin_store_prune(m->store, ino) > 0;
}

int manager_prune(Manager *m, bool all) {
        _cleanup_free_ uint64_t *due = NULL;
        uint64_t now = now_usec();
        HashmapIter it = {};
        size_t n = 0;
        const char *k;
        void *v;
        int pruned = 0;

        if (m->pin_root_lost)
                return 0;       /* what is at its path now is not ours */
        due = calloc(hashmap_size(m->emptied) + 1, sizeof(uint64_t));
        if (!due)
                return -ENOMEM;
        while (hashmap_iterate(m->emptied, &it, &v, &k))
                if (all || now - (uint64_t) (uintptr_t) v >= PRUNE_DELAY_USEC)
                        due[n++] = strtoull(k, NULL, 10);
        for (size_t i = 0; i < n; i++)
                pruned += manager_prune_now(m, due[i]);
        return pruned;
}

/* Written once the reply is out (log_later): the caller does not wait for
 * the log. */
void manager_log_change(const char *what, const Link *l) {
        log_later(LOG_INFO, "%s %s link '%s' in netns %s (ino %" PRIu64 "): link id %u, program %s id %u (%s)",
                 what, nl_attach_type_to_string(l->type), l->name, l->netns, l->ino, l->info.link_id,
                 l->info.prog_name, l->info.prog_id, *l->source ? l->source : "unknown source");
}

/* The link's pin is gone already; finish it and drop it. */
void manager_finish_detach(Manager *m, Link *l, LinkEvent ev, bool detached) {
        bool steer = manager_link_runs_steer(l);

        if (!detached)
                (void) nl_link_detach(l->fd, NULL);
        if (steer)
                manager_remove_steer_dir(m, l->ino, l->name);
        /* A kill before this leaves a record the next start prunes. */
        if (manager_link_recorded(l))
                (void) nl_link_record_clear(m->configs_fd, l->info.link_id);
        manager_log_change(ev == LINK_DEFUNCT ? "Dropped defunct" : "Detached", l);
        l->detached = true;
        manager_emit(m, ev, l);
        manager_link_drop(m, l);
}
