/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/*
 * Netns ids (nsids) through rtnetlink, with libmnl. An nsid names a peer
 * netns in the caller's own netns; the kernel sends RTM_DELNSID to the
 * RTNLGRP_NSID group of every netns that holds an id for a netns the
 * moment it tears that netns down. An id holds no reference: the peer
 * still dies when its last user goes.
 */
typedef struct NsidSocket NsidSocket;

/* A socket subscribed to RTNLGRP_NSID (non-blocking, for an event loop),
 * and one for requests, so that replies and notifications never mix. */
int nsid_socket_open(NsidSocket **ret);
NsidSocket *nsid_socket_close(NsidSocket *s);
int nsid_socket_fd(const NsidSocket *s);

/* The id of the netns netns_fd in our netns: the one it has, or a new one
 * the kernel chooses (RTM_NEWNSID with NETNSA_NSID -1). */
int nsid_assign(NsidSocket *s, int netns_fd, int32_t *ret_nsid);

/* Reads what the subscription socket has; calls deleted(nsid) for each
 * RTM_DELNSID. -ENOBUFS: notifications were lost (the caller looks at
 * every netns). */
typedef void (*nsid_deleted_fn)(int32_t nsid, void *userdata);
int nsid_read_events(NsidSocket *s, nsid_deleted_fn deleted, void *userdata);
