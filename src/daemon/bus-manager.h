/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/* org.netnslink1.Manager on /org/netnslink1, with the Context as userdata. */
extern const sd_bus_vtable manager_vtable[];

/* Runs again the requests that waited for the load of key; set as the
 * manager's on_loaded. */
void bus_manager_program_loaded(Manager *m, const char *key);
/* Releases waiting requests at exit. */
void bus_manager_drop_parked(void);
