/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * What each socket of a sockmap can do now. User space reads back only a
 * socket's cookie from a sockmap, and the kernel keeps a socket there until
 * its last fd is closed: a TCP listener that was shut down (shutdown(2)
 * with SHUT_RD or SHUT_RDWR: it is no longer listening, and every socket
 * lookup that picks it is refused) stays, as does a UDP socket that was
 * connected since. A small sk_lookup program of ours
 * (bpf/sock_probe.bpf.c), loaded on the link's sockmap and run through
 * BPF_PROG_TEST_RUN, reads each socket's state: that works wherever steer
 * does (a BPF iterator would be the obvious tool, but tracing programs are
 * refused on some kernels, this one's among them).
 */
typedef enum NlSockState {
        NL_SOCK_NONE,           /* no socket under that key */
        NL_SOCK_UNKNOWN,        /* the probe could not run */
        NL_SOCK_LISTENING,      /* TCP, listening: takes new connections */
        NL_SOCK_BOUND,          /* UDP, bound and unconnected: takes datagrams */
        NL_SOCK_NOT_LISTENING,  /* TCP, shut down or closed: takes nothing */
        NL_SOCK_CONNECTED,      /* UDP, connected since: takes nothing new */
        _NL_SOCK_STATE_MAX,
} NlSockState;

/* "listening", "bound", "not-listening", "connected", "unknown", "". */
const char *nl_sock_state_to_string(NlSockState s);
/* Whether a socket in that state receives what the link sends it. */
static inline int nl_sock_state_usable(NlSockState s) {
        return s == NL_SOCK_LISTENING || s == NL_SOCK_BOUND || s == NL_SOCK_UNKNOWN;
}

/* The state of the socket under each of the n keys ids of the sockmap
 * sockmap_fd into states: NL_SOCK_NONE where there is none. If the probe
 * cannot run, every entry is NL_SOCK_UNKNOWN and the error is returned
 * (callers may go on). */
int nl_sock_states_read(int sockmap_fd, const uint32_t *ids, size_t n, NlSockState *states, NlError *e);
