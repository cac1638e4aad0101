/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"
#include "manager.h"

/*
 * Metrics (metrics.c): Manager.Metrics() -> s, the Prometheus text
 * exposition of the links, the steer maps' counters and the daemon's own
 * operation counts. The method is a second vtable on the Manager interface
 * (its userdata is the Metrics state, not the Context); the operations are
 * counted by wrapping the handlers of the other vtables.
 */
extern const sd_bus_vtable metrics_vtable[];

/* Starts counting for c (c->metrics; the userdata of metrics_vtable):
 * observes the Manager's links (defunct ones). Free it after
 * the bus, which points at its wrapped vtables. */
Metrics *metrics_new(Context *c);
Metrics *metrics_free(Metrics *mt);
DEFINE_TRIVIAL_CLEANUP_FUNC(Metrics *, metrics_free);

/* A copy of vtable, owned by mt, whose method handlers count each call by
 * method and result (a negative return, an error reply, is "error"); the
 * handlers' userdata must be the Context. On failure, vtable itself
 * (nothing is counted). */
const sd_bus_vtable *metrics_counted(Metrics *mt, const sd_bus_vtable *vtable);
