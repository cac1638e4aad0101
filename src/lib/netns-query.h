/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "names.h"

/*
 * Every program at a netns's hooks, whoever attached it: what the kernel's
 * BPF_PROG_QUERY on the netns fd says, in run order, with each program's
 * name and tag. The daemon matches these with its own links (observe.c);
 * nothing here knows about links.
 */
typedef struct NlHookProg {
        NlAttachType type;
        uint32_t order;         /* 0-based, within its type */
        uint32_t prog_id;
        char prog_name[16];     /* "" if the program went meanwhile */
        char prog_tag[17];
} NlHookProg;

/* sk_lookup first, then flow_dissector; free(*ret). */
int nl_netns_query_hooks(int netns_fd, NlHookProg **ret, size_t *ret_n);
