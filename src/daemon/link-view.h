/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "manager.h"

/*
 * What a link's dictionary says beyond the Link itself: its pin path and
 * its place in the netns' run order. Finding the order may ask the kernel
 * (BPF_PROG_QUERY), so it is done here, in the core, before a reply or
 * signal is built: the bus layer's builders only write what they are given.
 */
typedef struct LinkView {
        const Link *link;
        uint32_t order;
        char pin[4096];         /* "" if the pin is gone */
} LinkView;

void link_view_init(LinkView *v, Manager *m, const Link *l);
