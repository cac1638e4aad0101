/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* A NETNS argument as the daemon must see it. The daemon resolves
 * references itself, so netnslinkctl's own /proc/self/..., /proc/thread-
 * self/... and /dev/fd/... would name the daemon's files (it refuses them):
 * they become pid:<our pid> for our netns, /proc/<our pid>/... otherwise,
 * which the daemon opens while this process waits for the answer. Anything
 * else is returned as it is; buf (size bytes) holds a translation. */
const char *ctl_netns_arg(const char *ref, char *buf, size_t size);
