/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "bus-names.h"
#include "error.h"
#include "link-view.h"

/* Replies with the contract's error name for e. */
int bus_reply_nl_error(sd_bus_error *error, const NlError *e, int r);

/* Appends the link dictionary a{sv} of a view made by link_view_init():
 * no system call here. */
int bus_append_link(sd_bus_message *reply, const LinkView *v);
/* The same with "repaired" (b), for LinkDrifted. */
int bus_append_drifted_link(sd_bus_message *reply, const LinkView *v, bool repaired);
