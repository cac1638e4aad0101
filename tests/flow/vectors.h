/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The test vectors of builtin:flow: one packet each, the flags passed in,
 * and the keys the protocol definitions call for. Expected offsets are
 * sums of the header sizes the RFCs give (Ethernet 14, 802.1Q tag 4, IPv4
 * 20 plus options, IPv6 40, extension headers (hdrlen + 1) * 8, fragment
 * header 8, TCP 20 plus options, UDP 8, GRE 4 plus 4 per C/K/S flag,
 * VXLAN 8), written by hand, never taken from a run of the program.
 */
#include <linux/bpf.h>
#include <stdint.h>

#include "pkt.h"

typedef struct FlowCase {
        const char *name;
        void (*build)(Pkt *p);
        uint32_t flags;
        /* How many leading headers the dissector needs whole for this
         * answer (0: all). Cutting the packet anywhere in them must give
         * BPF_DROP. */
        unsigned need;
        uint32_t ret;
        /* Compared whole when ret is BPF_OK; flags is filled in. */
        struct bpf_flow_keys want;
} FlowCase;

extern const FlowCase flow_cases[];
extern const unsigned flow_cases_n;
