/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-manager.h"
#include "bus-names.h"
#include "bus-objects.h"
#include "bus-observe.h"
#include "bus-steering.h"
#include "metrics.h"
#include "private-socket.h"

void bus_objects_prepare(Context *c) {
        c->manager_vtable = c->metrics ? metrics_counted(c->metrics, manager_vtable) : manager_vtable;
        c->steering_vtable = c->metrics ? metrics_counted(c->metrics, steering_vtable) : steering_vtable;
}

int bus_objects_add(sd_bus *bus, Context *c) {
        int r;

        r = sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE,
                                     c->manager_vtable ? c->manager_vtable : manager_vtable, c);
        if (r < 0)
                return r;
        r = bus_observe_add(bus, c);
        if (r < 0)
                return r;
        r = sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_STEERING_IFACE,
                                     c->steering_vtable ? c->steering_vtable : steering_vtable, c);
        if (r < 0)
                return r;
        /* Metrics: a second vtable of the Manager interface, with its own state. */
        if (c->metrics) {
                r = sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, metrics_vtable,
                                             c->metrics);
                if (r < 0)
                        return r;
        }
        return sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, subscribe_vtable, c);
}
