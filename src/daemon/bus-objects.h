/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/* The daemon's objects (Manager, Steering, QueryNetns/Explain, Metrics,
 * Subscribe) on one connection: the system bus, or a direct peer of the
 * private socket. Call bus_objects_prepare once first. */
int bus_objects_add(sd_bus *bus, Context *c);

/* Wraps the Manager and Steering vtables for c->metrics (once: each
 * connection registers the same copies). */
void bus_objects_prepare(Context *c);
