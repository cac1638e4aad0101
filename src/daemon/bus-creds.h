/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/* Mutating methods: the caller must be root or hold CAP_NET_ADMIN, checked
 * from its credentials whatever the bus policy says. */
int bus_check_mutate_access(Context *c, sd_bus_message *m, sd_bus_error *error);
/* Whether the caller's effective uid is 0 (object_path is for root only). */
int bus_sender_is_root(Context *c, sd_bus_message *m);
/* Forgets the callers' credentials kept between calls (at exit). */
void bus_creds_forget(Context *c);
