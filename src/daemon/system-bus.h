/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "context.h"

/*
 * The daemon's connection to the system bus, which may come and go: at an
 * early boot without dbus, or when dbus restarts, root's tools still reach
 * the daemon on the private socket, and this connects (again) every
 * RETRY_USEC until the bus answers, then takes the name. c->bus is the
 * connection while there is one, NULL otherwise.
 */
typedef struct SystemBus SystemBus;

/* Connects and registers c's objects (not served yet: see
 * system_bus_serve). On failure *ret is still made, with no bus; the
 * error is returned for the caller to decide and log. */
int system_bus_new(Context *c, SystemBus **ret);
/* Attaches the bus to c->event and takes org.netnslink1; with no bus,
 * starts the retries. */
int system_bus_serve(SystemBus *sb);
SystemBus *system_bus_free(SystemBus *sb);
DEFINE_TRIVIAL_CLEANUP_FUNC(SystemBus *, system_bus_free);
