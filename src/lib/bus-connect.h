/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

/* Where the daemon serves besides the system bus: a direct D-Bus
 * connection, root only (../shared/CONTRACT.md, "Private socket"). */
#define NL_PRIVATE_SOCKET_DEFAULT "/run/netnslinkd/private"

typedef enum NlBusKind {
        NL_BUS_SYSTEM,          /* through the system bus daemon */
        NL_BUS_DIRECT,          /* a direct connection to netnslinkd */
} NlBusKind;

typedef struct NlBusTarget {
        NlBusKind kind;
        bool from_env;          /* NETNSLINK_ADDRESS named it: no fallback */
        char address[256 + 32]; /* the D-Bus address, for messages */
} NlBusTarget;

/* The D-Bus address of a unix socket path: "unix:path=" and the path with
 * every byte outside the address syntax's plain set as %XX. -ENAMETOOLONG
 * when it does not fit. */
int nl_bus_unix_address(const char *path, char *buf, size_t size);

/* Which connection a client of the daemon uses, in this order:
 * NETNSLINK_ADDRESS (a direct address; it overrides both others), the
 * private socket when the caller is root and it exists
 * (NETNSLINK_PRIVATE_SOCKET moves it, for tests), the system bus. */
int nl_bus_pick_target(NlBusTarget *ret);

/* A started connection to target (sd_bus_start's result is returned; on
 * failure *ret is still a bus that can build messages). */
int nl_bus_open_target(const NlBusTarget *target, sd_bus **ret);

/* nl_bus_pick_target, then nl_bus_open_target; a private socket that does
 * not answer (a daemon that died and left its socket file) falls back to
 * the system bus. *ret_target says where the connection went. */
int nl_bus_open_daemon(NlBusTarget *ret_target, sd_bus **ret);

/* A direct connection to the daemon's private socket at path. */
int nl_bus_open_direct(const char *path, sd_bus **ret);
