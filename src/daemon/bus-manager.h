/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/* org.netnslink1.Manager on /org/netnslink1, with the Context as userdata. */
extern const sd_bus_vtable manager_vtable[];

/* Whether msg waits for a load: its handler returned without a reply and
 * runs again, from the top, when the load ends. */
bool bus_manager_is_waiting(Manager *m, sd_bus_message *msg);
/* Releases the requests that wait for a load, at exit. */
void bus_manager_drop_waiting(Manager *m);
