/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable manager_vtable[];

/* Runs again the requests that waited for the load of key; set as the
 * manager's on_loaded. */
void bus_manager_program_loaded(Manager *m, const char *key);
/* Releases waiting requests at exit. */
void bus_manager_drop_parked(void);
