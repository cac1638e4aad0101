/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable manager_vtable[];

/* Sends LinkAttached/LinkUpdated/LinkDetached/LinkDefunct; set as the
 * manager's on_event, with the bus as m->userdata. */
void bus_manager_emit(Manager *m, LinkEvent ev, const Link *l);
