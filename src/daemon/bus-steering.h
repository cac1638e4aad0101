/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

/* org.netnslink1.Steering on /org/netnslink1, with the Context as userdata:
 * the bindings and sockets of links running builtin:steer. The state lives
 * in each link's pinned maps (src/lib/steer.h); this layer only parses and
 * checks the caller (bus-parse.c), calls the Steering core (steering.c)
 * and replies. */
extern const sd_bus_vtable steering_vtable[];
