/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "hashmap.h"
#include "manager.h"
#include "steering.h"

/*
 * The daemon's bus-facing state, in one place (as hostnamed's Context):
 * netnslinkd.c makes one, and every vtable gets it as userdata. The links
 * themselves are the Manager's; what is here only serves the bus: the
 * signals not sent yet, the callers' credentials, the Steering core with
 * the maps it keeps open.
 */

/* Link signals waiting to be sent (bus-signals.c). */
typedef struct SignalQueue {
        struct QueuedSignal *items;
        size_t head, n, allocated;
        sd_event_source *flush_source;
} SignalQueue;

typedef struct Metrics Metrics;
typedef struct PrivateServer PrivateServer;

typedef struct Context {
        Manager *manager;
        sd_bus *bus;            /* the system bus; NULL when the daemon runs without one */
        sd_event *event;
        PrivateServer *private_server;  /* private-socket.c: the direct peers; may be NULL */
        SignalQueue signals;
        Hashmap *senders;       /* unique bus name -> SenderInfo (bus-creds.c) */
        Steering steering;
        Metrics *metrics;       /* metrics.c; NULL: nothing is counted */
        /* What every connection registers (bus-objects.c). */
        const sd_bus_vtable *manager_vtable, *steering_vtable;
} Context;

/* Ties c to m: m's events go out as signals on bus (which may be NULL)
 * and to the subscribed direct peers. */
void context_init(Context *c, Manager *m, sd_event *event, sd_bus *bus);
/* Sends what is queued, forgets the credentials, closes the steer maps. */
void context_done(Context *c);
