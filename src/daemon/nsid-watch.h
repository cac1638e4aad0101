/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-event.h>

#include "manager.h"

/*
 * Netns death as it happens (nsid-watch.c): every netns the daemon holds
 * links in gets an nsid in the daemon's own netns when a link is attached
 * there (and at start), and an RTM_DELNSID for it runs the defunct check of
 * that netns at once. The periodic check stays as the safety net: a netns
 * without an id (its file could not be opened, the kernel refused) is seen
 * by it as before, and nothing here ever fails an operation.
 */
typedef struct NsidWatch NsidWatch;

/* Observes the Manager's links (manager_observe) and gives an id to the
 * netns of every link m has. */
int nsid_watch_start(Manager *m, sd_event *event, NsidWatch **ret);
NsidWatch *nsid_watch_free(NsidWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(NsidWatch *, nsid_watch_free);
