/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/*
 * The daemon keeps exactly these capabilities and drops every other one
 * from all sets and the bounding set at start:
 *   CAP_BPF         load programs, create links and maps
 *   CAP_NET_ADMIN   netns hooks (sk_lookup, flow_dissector), sockmaps
 *   CAP_SYS_ADMIN   bpf_*_get_fd_by_id (ids of programs and links), bpffs pins
 *   CAP_SYS_PTRACE  open /proc/PID/ns/net of other users' processes (pid:N);
 *                   register-pid's pidfd_getfd runs in netnslinkctl, not here
 * The unit's CapabilityBoundingSet= lists the same four.
 */
#define NETNSLINKD_CAPS_STRING "cap_bpf,cap_net_admin,cap_sys_admin,cap_sys_ptrace"

/* Drops all but the kept capabilities; returns the number kept that are
 * actually effective (a non-root test run may have none). */
int caps_drop_to_needed(char *kept_desc, size_t size);
