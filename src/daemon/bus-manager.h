/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable manager_vtable[];

/* Releases the requests that wait for a load, at exit. */
void bus_manager_drop_waiting(Manager *m);
