/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "context.h"

/* Sends LinkAttached/LinkUpdated/LinkDetached/LinkDefunct/LinkDrifted; set
 * as the manager's on_event, with the Context as m->userdata. */
void bus_manager_emit(Manager *m, LinkEvent ev, const Link *l);
/* Sends the queued signals now and drops the queue (at exit). */
void bus_signals_flush(Context *c);
