/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/*
 * Metrics (metrics.c): Manager.Metrics() -> s, the Prometheus text
 * exposition of the links, the steer maps' counters and the daemon's own
 * operation counts. The method is a second vtable on the Manager interface
 * (its userdata is the Metrics state, not the Context); the operations are
 * counted by wrapping the handlers of the other vtables.
 */
extern const sd_bus_vtable metrics_vtable[];

/* Starts counting: chains itself to m->on_event (defunct links). Returns the
 * userdata for metrics_vtable. One per daemon. */
void *metrics_start(Manager *m);

/* A copy of vtable whose method handlers count each call by method and
 * result (a negative return, an error reply, is "error"). The copy lives
 * as long as the process, as the bus keeps pointing at it. On failure,
 * vtable itself (nothing is counted). */
const sd_bus_vtable *metrics_counted(const sd_bus_vtable *vtable);
