/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Random Steering bindings for the SetBindings benches (bench-steer-dbus,
 * nl-bus-bench bench): the same sets in both, so that their figures
 * compare. */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-bus.h>

#include "bench-util.h"

typedef struct BenchBinding {
        const char *protocol;
        char prefix[48];
        uint16_t port;
        char label[16];
} BenchBinding;

/* Distinct bindings: binding i is 10.x.y.0/24 or fd00:x:y::/48 of i, with a
 * random port and one of 16 labels; salt makes another set. */
static inline void bench_make_bindings(BenchBinding *b, size_t n, unsigned salt) {
        for (size_t i = 0; i < n; i++) {
                uint32_t k = (uint32_t) i * 2654435761U + salt;   /* a bijection on 32 bits */
                b[i].protocol = bench_rnd() & 1 ? "tcp" : "udp";
                if (i & 1)
                        snprintf(b[i].prefix, sizeof(b[i].prefix), "fd00:%x:%x::/48", k >> 16, k & 0xffff);
                else
                        snprintf(b[i].prefix, sizeof(b[i].prefix), "%u.%u.%u.0/24", 1 + (k >> 24) % 223,
                                 (k >> 16) & 0xff, (k >> 8) & 0xff);
                b[i].port = (uint16_t) bench_rnd();
                snprintf(b[i].label, sizeof(b[i].label), "label%u", bench_rnd() % 16);
        }
}

/* A SetBindings call of n bindings to link of netns (dest NULL on a direct
 * connection), built and not sent: building it is the client's cost, not
 * the call's. */
static inline int bench_set_bindings_message(sd_bus *bus, const char *dest, const char *netns, const char *link,
                                             const BenchBinding *b, size_t n, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, dest, "/org/netnslink1", "org.netnslink1.Steering",
                                           "SetBindings");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", netns, link);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(ssqs)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = sd_bus_message_append(m, "(ssqs)", b[i].protocol, b[i].prefix, b[i].port, b[i].label);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}
