/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "sock-states.h"
#include "steer-abi.h"

/*
 * The control plane of builtin:steer, on one link's pinned map folder
 * (<pin-root>/<netns_ino>/steer/<link-name>/, as nl_builtin_load makes it).
 * Nothing is kept in memory between calls: the maps are the state, so the
 * daemon may die and come back, and the kernel steers meanwhile.
 *
 * Map layout and lookup order: steer-abi.h.
 */

#define NL_STEER_LABEL_MAX STEER_LABEL_MAX

typedef struct NlSteerBinding {
        uint8_t protocol;       /* IPPROTO_TCP, IPPROTO_UDP */
        uint8_t family;         /* AF_INET, AF_INET6 */
        uint8_t prefixlen;
        uint8_t addr[16];       /* network order; IPv4 in the first 4 bytes */
        uint16_t port;          /* 0: every port */
        char label[NL_STEER_LABEL_MAX + 1];
        uint64_t hits;          /* ListBindings only */
} NlSteerBinding;

typedef struct NlSteerDestination {
        uint32_t id;            /* the destination id (its key in the link's maps) */
        char label[NL_STEER_LABEL_MAX + 1];
        uint8_t protocol;
        uint8_t family;         /* of the bindings it serves: AF_INET, AF_INET6 */
        uint64_t cookie;        /* socket cookie, 0: no socket */
        NlSockState socket_state; /* what the socket can take now (sock-states.h) */
        uint32_t bindings;      /* how many bindings lead here */
        uint64_t lookups, misses, errors;
} NlSteerDestination;

/* Input checks: each fills e with NL_ERR_INVALID_ARGS and a message naming
 * the bad value. */
int nl_steer_protocol_parse(const char *s, uint8_t *ret, NlError *e);
const char *nl_steer_protocol_to_string(uint8_t protocol);
/* CIDR only ("10.0.0.0/8", "2001:db8::/32"); host bits must be zero. */
int nl_steer_prefix_parse(const char *s, uint8_t *ret_family, uint8_t ret_addr[16],
                          uint8_t *ret_prefixlen, NlError *e);
int nl_steer_port_parse(const char *s, uint16_t *ret, NlError *e);
bool nl_steer_label_is_valid(const char *label);   /* [A-Za-z0-9_.-]{1,64} */
int nl_steer_label_check(const char *label, NlError *e);
/* All of the above at once; label may be NULL (RemoveBinding). */
int nl_steer_binding_parse(const char *protocol, const char *prefix, uint16_t port,
                           const char *label, NlSteerBinding *ret, NlError *e);
/* "10.0.0.0/8" */
const char *nl_steer_prefix_to_string(const NlSteerBinding *b, char *buf, size_t size);

typedef struct NlSteer NlSteer;

/* Opens the maps of the folder. No folder: NL_ERR_NO_SUCH_LINK; maps that
 * are not steer's: NL_ERR_INVALID_ARGS. */
int nl_steer_open(const char *map_dir, NlSteer **ret, NlError *e);
NlSteer *nl_steer_close(NlSteer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(NlSteer *, nl_steer_close);

/*
 * Growth. A link's maps are sized by a tier (steer-abi.h); an idle link
 * has the smallest. An NlSteer that knows its link (link_fd, borrowed)
 * moves it to the maps of a larger tier when a change needs more room than
 * its maps have: a new program with new maps (the same sockets map) is
 * loaded and filled with the live bindings, destinations and counters, the
 * link swapped to it (bpf_link_update, only from the program it runs), and
 * the new maps' pins moved into the link's folder. Lookups see the old
 * program and maps or the new, each whole. hook (may be NULL) is called
 * with the new program before the link runs it (switched false: the
 * caller records it, a failure stops the growth) and after (true).
 * Without a link, changes that do not fit are refused as before.
 */
typedef int (*NlSteerGrowHook)(int prog_fd, bool switched, void *userdata, NlError *e);
void nl_steer_set_link(NlSteer *s, int link_fd, NlSteerGrowHook hook, void *userdata);
/* The tier of the link's maps: the smallest whose sizes hold them all. */
unsigned nl_steer_tier(NlSteer *s);
/* Moves the link to the maps of tier (above its own). */
int nl_steer_grow(NlSteer *s, unsigned tier, NlError *e);
/* The same in steps, for a caller that loads the program elsewhere (the
 * daemon, in a child process, while its loop serves on). begin makes the
 * growth's folder (dir) with the link's sockets map in it and says which
 * program the link runs (prog_id); a program of the tier is then loaded
 * with its new maps pinned in dir (nl_builtin_load_steer_fd); finish
 * copies the live state into them and moves the link to them, if it still
 * runs prog_id, and removes dir whatever happens. abort removes dir, when
 * finish will not be called. */
int nl_steer_grow_begin(NlSteer *s, unsigned tier, char *dir, size_t size, uint32_t *ret_prog_id, NlError *e);
int nl_steer_grow_finish(NlSteer *s, int prog_fd, uint32_t prog_id, NlError *e);
void nl_steer_grow_abort(NlSteer *s);
/* A link made by a release before per-CPU hit counters (its folder has no
 * counters map; the other maps are read as they are) is moved, as by a
 * growth but to the same tier, to this build's program and maps: returns 1
 * when moved, 0 if it had nothing to do. The daemon runs it on every steer
 * link at start. */
int nl_steer_upgrade(NlSteer *s, NlError *e);
/* What a crash in the middle of a growth leaves: the pins in map_dir made
 * those of the maps the link's program (prog_id) runs, and the unfinished
 * growth's folder removed. Returns how many pins changed. The daemon runs
 * it on every steer link at start, before anything opens the maps. */
int nl_steer_repair_pins(const char *map_dir, uint32_t prog_id, NlError *e);

/* Mends what a crash in the middle of a change left in a link's maps:
 * entries of an unfinished SetBindings, region bits, destination counts.
 * The daemon runs it on every steer link it finds at start. */
int nl_steer_repair(NlSteer *s, NlError *e);

/* Returns 1 if added or relabelled, 0 if the same binding was there. */
int nl_steer_add_binding(NlSteer *s, const NlSteerBinding *b, NlError *e);
/* b's label is ignored. No such binding: -ENOENT, NL_ERR_INVALID_ARGS. */
int nl_steer_remove_binding(NlSteer *s, const NlSteerBinding *b, NlError *e);
/* Sorted by protocol, family, prefix, port; free(*ret). */
int nl_steer_list_bindings(NlSteer *s, NlSteerBinding **ret, size_t *ret_n, NlError *e);
/* Replaces the whole set: the new set is written beside the live one and
 * switched to with one write, so every lookup sees either the old set or
 * the new, never a mix. Hit counters of bindings kept unchanged carry over. */
typedef struct NlSteerChanges {
        unsigned added, removed;
        unsigned total;         /* bindings in the new set, each counted once */
} NlSteerChanges;
/* A set that cannot fit beside the current one while it is replaced is
 * refused with NL_ERR_INVALID_ARGS saying how many fit. ret may be NULL. */
int nl_steer_set_bindings(NlSteer *s, const NlSteerBinding *b, size_t n, NlSteerChanges *ret, NlError *e);
/* The same, for a caller that grows the link itself (nl_steer_grow_begin):
 * a set that needs larger maps is not written, and 1 is returned with
 * *ret_tier, the tier to move the link to before calling again. */
/* For a caller on an event loop: from now on a SetBindings that would have
 * to wait for running lookups (an RCU grace period, ~10 ms: any set that
 * replaces bindings the link has) writes nothing and returns -EWOULDBLOCK,
 * so that the caller can run it elsewhere. A link's first set needs no wait. */
void nl_steer_set_no_wait(NlSteer *s, bool on);
int nl_steer_set_bindings_or_tier(NlSteer *s, const NlSteerBinding *b, size_t n, NlSteerChanges *ret,
                                  unsigned *ret_tier, NlError *e);

/* fd: a listening TCP or bound unconnected UDP socket in the netns netns_ino
 * whose protocol the label's bindings use (if it has any). A dual-stack IPv6
 * socket serves the label's IPv4 bindings too. Registering again swaps the
 * socket atomically. */
int nl_steer_register_socket(NlSteer *s, uint64_t netns_ino, const char *label, int fd, NlError *e);
/* Removes every socket of the label. None: -ENOENT, NL_ERR_INVALID_ARGS. */
int nl_steer_unregister_socket(NlSteer *s, const char *label, NlError *e);
/* Sorted by label, protocol, family; free(*ret). Each says what its socket
 * can take now: a listener shut down stays registered (the kernel keeps it
 * until it is closed) but takes nothing, and lookups that match it fall
 * through to the kernel's own, counted as misses. */
int nl_steer_list_destinations(NlSteer *s, NlSteerDestination **ret, size_t *ret_n, NlError *e);
