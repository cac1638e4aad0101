/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "steer.h"

/*
 * Where would a connection go: the pieces of Explain that know nothing of
 * the daemon's links. An sk_lookup program is run on a made-up lookup with
 * BPF_PROG_TEST_RUN (the real program, with its real maps: whatever it
 * counts moves, as for one real lookup), and the steps are combined with
 * the kernel's rule for a chain (BPF_PROG_SK_LOOKUP_RUN_ARRAY):
 *   - every program runs, in attach order;
 *   - the last one that returns SK_PASS with a socket selected wins, even
 *     over another's SK_DROP;
 *   - with no socket selected, any SK_DROP drops; else the kernel's own
 *     socket lookup runs.
 * What a test run cannot show: in the kernel a program sees the socket an
 * earlier one selected (ctx->sk) and may act on it; a test run always
 * starts with none (the kernel refuses a ctx with sk set).
 */

/* ADDR:PORT, [IPV6]:PORT; an IPv4-mapped IPv6 address is IPv4, as the
 * kernel's lookup sees such a connection (family AF_INET). */
typedef struct NlEndpoint {
        uint8_t family;         /* AF_INET, AF_INET6 */
        uint8_t addr[16];       /* network order; IPv4 in the first 4 bytes */
        uint16_t port;
} NlEndpoint;

typedef struct NlLookupQuery {
        uint8_t protocol;       /* IPPROTO_TCP, IPPROTO_UDP */
        NlEndpoint src, dst;    /* the same family */
} NlLookupQuery;

int nl_endpoint_parse(const char *s, NlEndpoint *ret, NlError *e);
/* "192.0.2.7:443", "[2001:db8::1]:443" */
const char *nl_endpoint_to_string(const NlEndpoint *ep, char *buf, size_t size);
int nl_lookup_query_parse(const char *protocol, const char *src, const char *dst, NlLookupQuery *ret, NlError *e);

typedef struct NlLookupStep {
        uint32_t prog_id;
        bool pass;              /* SK_PASS, else SK_DROP */
        bool selected;          /* with SK_PASS, a socket was selected */
        uint64_t cookie;        /* the selected socket's; 0 if unknown (a reuseport group) */
} NlLookupStep;

/* Runs one sk_lookup program once on q and fills pass, selected, cookie. */
int nl_sk_lookup_test_run(uint32_t prog_id, const NlLookupQuery *q, NlLookupStep *ret);

typedef enum NlLookupResult {
        NL_LOOKUP_KERNEL,       /* no socket chosen, nothing dropped */
        NL_LOOKUP_DROP,
        NL_LOOKUP_SOCKET,
} NlLookupResult;

/* The chain's outcome; with NL_LOOKUP_SOCKET, *ret_winner is the step whose
 * socket is used. */
NlLookupResult nl_sk_lookup_chain(const NlLookupStep *steps, size_t n, size_t *ret_winner);
const char *nl_lookup_result_to_string(NlLookupResult r);

/* The binding builtin:steer picks for q among b (one generation, as
 * nl_steer_list_bindings gives them): the longest prefix that has q's port
 * or a port 0 binding, then the specific port over port 0. NULL: none. */
const NlSteerBinding *nl_steer_match(const NlSteerBinding *b, size_t n, const NlLookupQuery *q);
