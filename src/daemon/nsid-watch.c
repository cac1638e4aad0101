/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdlib.h>

#include "log.h"
#include "netns-ref.h"
#include "nsid-netlink.h"
#include "nsid-watch.h"

/* The kernel sends RTM_DELNSID just before it detaches the netns's BPF
 * links (unhash_nsid runs before the pre_exit methods in cleanup_net), so
 * the links may still read their netns's inode for a moment: the check is
 * tried again every RETRY_USEC, up to RETRY_MAX times, then the periodic
 * one takes over. */
#define RETRY_USEC (5 * 1000ULL)
#define RETRY_MAX 100

typedef struct Watched {
        int32_t nsid;
        uint64_t ino;
        unsigned retries;       /* > 0: died, its links are not all gone yet */
} Watched;

struct NsidWatch {
        Manager *manager;
        NsidSocket *socket;
        sd_event_source *io, *retry;
        Watched *items;
        size_t n, allocated;
};

static Watched *find(NsidWatch *w, bool by_ino, uint64_t v) {
        for (size_t i = 0; i < w->n; i++)
                if (by_ino ? w->items[i].ino == v : w->items[i].nsid == (int32_t) v)
                        return &w->items[i];
        return NULL;
}

static void forget(NsidWatch *w, Watched *x) {
        *x = w->items[--w->n];
}

static int remember(NsidWatch *w, int32_t nsid, uint64_t ino) {
        Watched *x = find(w, false, (uint64_t) (uint32_t) nsid);

        /* An id names one netns at a time: an old entry is stale. */
        if (x)
                forget(w, x);
        if (w->n == w->allocated) {
                size_t a = w->allocated ? w->allocated * 2 : 16;
                Watched *v = reallocarray(w->items, a, sizeof(Watched));
                if (!v)
                        return -ENOMEM;
                w->items = v;
                w->allocated = a;
        }
        w->items[w->n++] = (Watched) { .nsid = nsid, .ino = ino };
        return 0;
}

/* Gives the netns of ino an id, once. Failing, it is logged at debug: the
 * periodic check sees the netns die as before. */
static void watch_netns(NsidWatch *w, uint64_t ino) {
        Netns *ns = manager_netns_get(w->manager, ino);
        NlNetns nns;
        int32_t nsid;
        int r;

        if (find(w, true, ino) || !ns)
                return;
        if (!ns->path) {
                log_debug("Netns %" PRIu64 " has no file to open: its death is seen by the periodic check", ino);
                return;
        }
        r = nl_netns_open(ns->path, &nns, NULL);
        if (r < 0) {
                log_debug_errno(r, "Cannot open netns %s to give it an nsid: %m", ns->path);
                return;
        }
        /* The file may name another netns by now: an id for that one would
         * tell us nothing about ours. */
        r = nns.ino == ino ? nsid_assign(w->socket, nns.fd, &nsid) : -ESTALE;
        nl_netns_close(&nns);
        if (r >= 0)
                r = remember(w, nsid, ino);
        if (r < 0) {
                log_debug_errno(r, "No nsid for netns %s (ino %" PRIu64 "): %m; its death is seen by the periodic check",
                                ns->path, ino);
                return;
        }
        log_debug("Netns %s (ino %" PRIu64 ") has nsid %" PRId32, ns->path, ino, nsid);
}

static void on_link_event(void *userdata, LinkEvent ev, const Link *l) {
        NsidWatch *w = userdata;

        if (ev == LINK_ATTACHED)
                watch_netns(w, l->ino);
}

/* The defunct check of the netns that died; true when it has no links left. */
static bool check_dead(NsidWatch *w, uint64_t ino) {
        manager_drop_if_reused(w->manager, ino);
        return !manager_netns_get(w->manager, ino);
}

static void arm_retry(NsidWatch *w) {
        if (sd_event_source_set_time_relative(w->retry, RETRY_USEC) >= 0)
                (void) sd_event_source_set_enabled(w->retry, SD_EVENT_ONESHOT);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        NsidWatch *w = userdata;
        bool again = false;

        for (size_t i = 0; i < w->n;) {
                Watched *x = &w->items[i];
                if (x->retries == 0) {
                        i++;
                        continue;
                }
                if (check_dead(w, x->ino) || ++x->retries > RETRY_MAX) {
                        forget(w, x);   /* the last entry moves to i */
                        continue;
                }
                again = true;
                i++;
        }
        log_flush();
        if (again)
                arm_retry(w);
        return 0;
}

static void on_deleted(int32_t nsid, void *userdata) {
        NsidWatch *w = userdata;
        Watched *x = find(w, false, (uint64_t) (uint32_t) nsid);

        if (!x || x->retries > 0)
                return;
        log_debug("Netns %" PRIu64 " (nsid %" PRId32 ") is being torn down", x->ino, nsid);
        if (check_dead(w, x->ino)) {
                forget(w, x);
                return;
        }
        x->retries = 1;
        arm_retry(w);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        NsidWatch *w = userdata;
        int r = nsid_read_events(w->socket, on_deleted, w);

        if (r == -ENOBUFS) {
                /* Notifications were lost: look at every netns now. */
                log_debug("nsid notifications were lost; checking every netns");
                (void) manager_check_defunct(w->manager, false);
        } else if (r < 0)
                log_debug_errno(r, "Cannot read nsid notifications: %m");
        log_flush();
        return 0;
}

NsidWatch *nsid_watch_free(NsidWatch *w) {
        if (!w)
                return NULL;
        manager_unobserve(w->manager, w);
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->retry);
        nsid_socket_close(w->socket);
        free(w->items);
        free(w);
        return NULL;
}

int nsid_watch_start(Manager *m, sd_event *event, NsidWatch **ret) {
        _cleanup_(nsid_watch_freep) NsidWatch *w = NULL;
        HashmapIter it = {};
        Netns *ns;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->manager = m;
        r = nsid_socket_open(&w->socket);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &w->io, nsid_socket_fd(w->socket), EPOLLIN, on_io, w);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(event, &w->retry, CLOCK_MONOTONIC, RETRY_USEC, 1000, on_retry, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->retry, SD_EVENT_OFF);

        r = manager_observe(m, on_link_event, w);
        if (r < 0)
                return r;
        while (hashmap_iterate(m->netns, &it, (void **) &ns, NULL))
                watch_netns(w, ns->ino);
        *ret = TAKE_PTR(w);
        return 0;
}
