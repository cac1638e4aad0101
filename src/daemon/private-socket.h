/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "context.h"

/*
 * The private socket (../shared/CONTRACT.md): the daemon's objects over
 * direct D-Bus connections, root only, with no bus daemon in between, as
 * systemd serves /run/systemd/private. Each peer gets its own sd_bus in
 * server mode. Signals go to the peers that called Manager.Subscribe():
 * a CNI plugin or a batch client that only calls should not pay for 300
 * LinkAttached messages it never reads.
 */

/* Manager.Subscribe() and Manager.Unsubscribe(): on a direct connection,
 * start and stop the link signals; on the system bus they do nothing (the
 * bus daemon routes signals by match rules). */
extern const sd_bus_vtable subscribe_vtable[];

/* Listens on path (made 0600; a stale socket file nobody answers on is
 * replaced; one a live daemon answers on is refused with -EADDRINUSE) and
 * serves c's objects to every root peer, on c->event. */
int private_server_new(Context *c, const char *path, PrivateServer **ret);
/* Closes the listening socket, removes its file and drops every peer. */
PrivateServer *private_server_free(PrivateServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(PrivateServer *, private_server_free);

/* The subscribed peers, one by one: *i starts at 0; NULL at the end. */
sd_bus *private_server_next_subscriber(PrivateServer *s, size_t *i);
bool private_server_has_subscribers(PrivateServer *s);
