/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "steer-private.h"

/* Bindings as the maps key them (steer-abi.h), and the one order of
 * bindings that listings and SetBindings' merge use. */

uint8_t abi_family(uint8_t family) {
        return family == AF_INET ? STEER_FAMILY_V4 : STEER_FAMILY_V6;
}

uint8_t af_from_abi(uint8_t f) {
        return f == STEER_FAMILY_V4 ? AF_INET : AF_INET6;
}

void prefix_key(const NlSteerBinding *b, uint8_t gen, struct steer_prefix_key *k) {
        memset(k, 0, sizeof(*k));
        k->gen = gen;
        k->protocol = b->protocol;
        k->family = abi_family(b->family);
        k->len = b->prefixlen;
        memcpy(k->addr, b->addr, addr_bytes(b->family));
}

void binding_from_key(const struct steer_prefix_key *k, NlSteerBinding *b) {
        memset(b, 0, sizeof(*b));
        b->protocol = k->protocol;
        b->family = af_from_abi(k->family);
        b->prefixlen = k->len;
        memcpy(b->addr, k->addr, 16);
}

/* Order of listings and of SetBindings' merge: a prefix's ports adjacent. */
int binding_prefix_cmp(const NlSteerBinding *a, const NlSteerBinding *b) {
        int c;

        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        c = memcmp(a->addr, b->addr, 16);
        if (c)
                return c;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        return 0;
}

int binding_cmp(const void *x, const void *y) {
        const NlSteerBinding *a = x, *b = y;
        int c = binding_prefix_cmp(a, b);

        if (c)
                return c;
        if (a->port != b->port)
                return a->port < b->port ? -1 : 1;
        return 0;
}
