/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

/*
 * Which sockets steering can deliver to: a listening TCP socket, or a bound
 * and unconnected UDP socket, IPv4 or IPv6. One rule for the daemon
 * (RegisterSocket) and the CLI (register-pid, which picks a process's
 * sockets by it), so the two can never disagree.
 */
typedef struct NlSocketInfo {
        int family;             /* AF_INET, AF_INET6 */
        uint8_t protocol;       /* IPPROTO_TCP, IPPROTO_UDP */
        bool dual_stack;        /* IPv6 without IPV6_V6ONLY: serves IPv4 too */
        uint64_t netns_ino;     /* the netns it lives in */
        uint64_t cookie;        /* SO_COOKIE */
        char address[64];       /* "127.0.0.1:80", "[::1]:53", for messages */
} NlSocketInfo;

/* 0 and si filled if fd is such a socket; else -errno with an
 * NL_ERR_INVALID_ARGS message in e that says what it is instead. */
int nl_socket_inspect(int fd, NlSocketInfo *si, NlError *e);
