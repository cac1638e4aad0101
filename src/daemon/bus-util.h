/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "error.h"
#include "manager.h"

/* Replies with the contract's error name for e. */
int bus_reply_nl_error(sd_bus_error *error, const NlError *e, int r);

/* Mutating methods: the caller must be root or hold CAP_NET_ADMIN, checked
 * from its credentials whatever the bus policy says. */
int bus_check_mutate_access(sd_bus_message *m, sd_bus_error *error);
/* Forgets the callers' credentials kept between calls (at exit). */
void bus_sender_cache_free(void);
/* Whether the caller's effective uid is 0 (object_path is for root only). */
int bus_sender_is_root(sd_bus_message *m);

/* Reads a program dictionary a{sv} into p (strings and fd stay owned by m). */
int bus_read_program(sd_bus_message *m, ProgramSpec *p, NlError *e);

/* Appends the link dictionary a{sv}. */
int bus_append_link(sd_bus_message *reply, Manager *mgr, const Link *l);
/* The same with "repaired" (b), for LinkDrifted. */
int bus_append_drifted_link(sd_bus_message *reply, Manager *mgr, const Link *l, bool repaired);
