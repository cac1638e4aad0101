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
#include "log.h"

#define FLUSH_CHUNK 32

typedef struct Queued {
        LinkEvent ev;
        Link link;      /* a copy: netns and source are its own, no fd, no program */
} Queued;

static Queued *queue;
static size_t head, n_queued, allocated;
static sd_event_source *flush_source;
static Manager *flush_manager;

static const char *const signal_names[] = {
        [LINK_ATTACHED] = "LinkAttached",
        [LINK_UPDATED] = "LinkUpdated",
        [LINK_DETACHED] = "LinkDetached",
        [LINK_DEFUNCT] = "LinkDefunct",
        [LINK_DRIFTED] = "LinkDrifted",
        [LINK_REPAIRED] = "LinkDrifted",
};

static void send_one(Manager *m, Queued *q) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *sig = NULL;
        sd_bus *bus = m->userdata;
        int r;

        r = sd_bus_message_new_signal(bus, &sig, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, signal_names[q->ev]);
        if (r >= 0 && (q->ev == LINK_DRIFTED || q->ev == LINK_REPAIRED))
                r = bus_append_drifted_link(sig, m, &q->link, q->ev == LINK_REPAIRED);
        else if (r >= 0)
                r = bus_append_link(sig, m, &q->link);
        if (r >= 0)
                r = sd_bus_send(bus, sig, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to send %s signal: %m", signal_names[q->ev]);
        free(q->link.netns);
        free(q->link.source);
        free(q->link.config);
}

static int flush_chunk(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        size_t end = n_queued - head > FLUSH_CHUNK ? head + FLUSH_CHUNK : n_queued;

        /* The log lines of these changes first, in one write. */
        log_flush();
        for (; head < end; head++)
                send_one(m, &queue[head]);
        if (head < n_queued)
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        head = n_queued = 0;
        return 0;
}

static int enqueue(Manager *m, LinkEvent ev, const Link *l) {
        Queued *q;
        int r;

        if (!flush_source) {
                sd_event *event = sd_bus_get_event(m->userdata);
                if (!event)
                        return -ENOTCONN;
                r = sd_event_add_defer(event, &flush_source, flush_chunk, m);
                if (r < 0)
                        return r;
                /* After the bus has written the reply. */
                (void) sd_event_source_set_priority(flush_source, SD_EVENT_PRIORITY_IDLE);
                flush_manager = m;
        }
        if (n_queued == allocated) {
                size_t a = allocated ? allocated * 2 : 64;
                Queued *v = reallocarray(queue, a, sizeof(Queued));
                if (!v)
                        return -ENOMEM;
                queue = v;
                allocated = a;
        }
        q = &queue[n_queued];
        *q = (Queued) { .ev = ev, .link = *l };
        /* The run order as it is now; marked as no longer live, so that
         * bus_append_link says this one instead of asking again. */
        q->link.order = l->defunct || l->detached ? l->order : manager_link_order(m, l);
        q->link.detached = true;
        q->link.fd = -EBADF;
        q->link.prog = NULL;
        q->link.netns = strdup(l->netns);
        q->link.source = strdup(l->source ? l->source : "");
        q->link.config = l->config ? strdup(l->config) : NULL;
        if (!q->link.netns || !q->link.source || (l->config && !q->link.config)) {
                free(q->link.netns);
                free(q->link.source);
                free(q->link.config);
                return -ENOMEM;
        }
        n_queued++;
        return sd_event_source_set_enabled(flush_source, SD_EVENT_ONESHOT);
}

void bus_manager_emit(Manager *m, LinkEvent ev, const Link *l) {
        int r;

        if (!m->userdata)
                return;
        r = enqueue(m, ev, l);
        if (r < 0)
                log_warning_errno(r, "Failed to queue %s signal: %m", signal_names[ev]);
}

void bus_manager_flush_signals(void) {
        log_flush();
        for (; head < n_queued; head++)
                send_one(flush_manager, &queue[head]);
        head = n_queued = 0;
        flush_source = sd_event_source_disable_unref(flush_source);
        free(queue);
        queue = NULL;
        allocated = 0;
}
