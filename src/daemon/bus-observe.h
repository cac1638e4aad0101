/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/* QueryNetns and Explain, on org.netnslink1.Manager: a second vtable of
 * the same interface and path (sd-bus merges them, and refuses two with
 * the same userdata), so that these read-only methods live apart from the
 * Manager's changes. Its userdata is the Manager. */
extern const sd_bus_vtable observe_vtable[];

int bus_observe_add(sd_bus *bus, Context *c);
