/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Link signals. A signal goes out after the reply of the call that caused
 * it, and is only built then: a caller waits for its answer, not for the
 * 300 signals of its AttachMany (building one costs as much as a bpf call).
 * Each queued signal keeps a copy of what it will say, since its link may
 * be gone by then. They are sent a chunk at a time, so that a call arriving
 * meanwhile is answered first; among themselves they keep their order.
 */
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "bus-signals.h"
#include "bus-util.h"
#include "link-view.h"
#include "log.h"
#include "private-socket.h"

#define FLUSH_CHUNK 32

/* The queue itself is the Context's (SignalQueue). */
typedef struct QueuedSignal {
        LinkEvent ev;
        Link link;      /* a copy: netns and source are its own, no fd, no program */
} QueuedSignal;

static const char *const signal_names[] = {
        [LINK_ATTACHED] = "LinkAttached",
        [LINK_UPDATED] = "LinkUpdated",
        [LINK_DETACHED] = "LinkDetached",
        [LINK_DEFUNCT] = "LinkDefunct",
        [LINK_DRIFTED] = "LinkDrifted",
        [LINK_REPAIRED] = "LinkDrifted",
};

static int send_on(sd_bus *bus, const QueuedSignal *q, const LinkView *v) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        int r;

        r = sd_bus_message_new_signal(bus, &sig, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, signal_names[q->ev]);
        if (r >= 0 && (q->ev == LINK_DRIFTED || q->ev == LINK_REPAIRED))
                r = bus_append_drifted_link(sig, v, q->ev == LINK_REPAIRED);
        else if (r >= 0)
                r = bus_append_link(sig, v);
        if (r >= 0)
                r = sd_bus_send(bus, sig, NULL);
        return r;
}

/* On the system bus, and to every direct peer that subscribed. */
static void send_one(Context *c, QueuedSignal *q) {
        sd_bus *peer;
        LinkView v;
        size_t i = 0;
        int r;

        /* The queued copy is marked detached: the view asks the kernel
         * nothing, and says the order it had when it was queued. */
        link_view_init(&v, c->manager, &q->link);
        if (c->bus) {
                r = send_on(c->bus, q, &v);
                if (r < 0)
                        log_warning_errno(r, "Failed to send %s signal: %m", signal_names[q->ev]);
        }
        /* A peer that went away is dropped when its bus says so. */
        while ((peer = private_server_next_subscriber(c->private_server, &i)))
                (void) send_on(peer, q, &v);
        free(q->link.netns);
        free(q->link.source);
        free(q->link.config);
        free(q->link.origin);
}

static int flush_chunk(sd_event_source *s, void *userdata) {
        Context *c = userdata;
        SignalQueue *sq = &c->signals;
        size_t end = sq->n - sq->head > FLUSH_CHUNK ? sq->head + FLUSH_CHUNK : sq->n;

        /* The log lines of these changes first, in one write. */
        log_flush();
        for (; sq->head < end; sq->head++)
                send_one(c, &sq->items[sq->head]);
        if (sq->head < sq->n)
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        sq->head = sq->n = 0;
        return 0;
}

static int enqueue(Context *c, LinkEvent ev, const Link *l) {
        SignalQueue *sq = &c->signals;
        QueuedSignal *q;
        int r;

        if (!sq->flush_source) {
                if (!c->event)
                        return -ENOTCONN;
                r = sd_event_add_defer(c->event, &sq->flush_source, flush_chunk, c);
                if (r < 0)
                        return r;
                /* After the bus has written the reply. */
                (void) sd_event_source_set_priority(sq->flush_source, SD_EVENT_PRIORITY_IDLE);
        }
        if (sq->n == sq->allocated) {
                size_t a = sq->allocated ? sq->allocated * 2 : 64;
                QueuedSignal *v = reallocarray(sq->items, a, sizeof(QueuedSignal));
                if (!v)
                        return -ENOMEM;
                sq->items = v;
                sq->allocated = a;
        }
        q = &sq->items[sq->n];
        *q = (QueuedSignal) { .ev = ev, .link = *l };
        /* The run order as it is now; marked as no longer live, so that
         * the link's view says this one instead of asking again. */
        q->link.order = l->defunct || l->detached ? l->order : manager_link_order(c->manager, l);
        q->link.detached = true;
        q->link.fd = -EBADF;
        q->link.prog = NULL;
        q->link.netns = strdup(l->netns);
        q->link.source = strdup(l->source ? l->source : "");
        q->link.config = l->config ? strdup(l->config) : NULL;
        q->link.origin = l->origin ? strdup(l->origin) : NULL;
        if (!q->link.netns || !q->link.source || (l->config && !q->link.config) || (l->origin && !q->link.origin)) {
                free(q->link.netns);
                free(q->link.source);
                free(q->link.config);
                free(q->link.origin);
                return -ENOMEM;
        }
        sq->n++;
        return sd_event_source_set_enabled(sq->flush_source, SD_EVENT_ONESHOT);
}

void bus_manager_emit(Manager *m, LinkEvent ev, const Link *l) {
        Context *c = m->userdata;
        int r;

        /* Nobody could hear it: no bus, no subscribed peer. */
        if (!c || (!c->bus && !private_server_has_subscribers(c->private_server)))
                return;
        r = enqueue(c, ev, l);
        if (r < 0)
                log_warning_errno(r, "Failed to queue %s signal: %m", signal_names[ev]);
}

void bus_signals_flush(Context *c) {
        SignalQueue *sq = &c->signals;

        log_flush();
        for (; sq->head < sq->n; sq->head++)
                send_one(c, &sq->items[sq->head]);
        sq->head = sq->n = 0;
        sq->flush_source = sd_event_source_disable_unref(sq->flush_source);
        free(sq->items);
        sq->items = NULL;
        sq->allocated = 0;
}
