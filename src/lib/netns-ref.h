/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

#define NL_NETNS_RUN_DIR "/run/netns"

/*
 * A netns reference, as ../shared/CONTRACT.md defines it:
 *   /absolute/path   a netns file (nsfs), e.g. /run/netns/blue, /proc/1/ns/net
 *   name             /run/netns/name
 *   pid:N            /proc/N/ns/net
 */
typedef struct NlNetns {
        int fd;             /* open nsfs file; close it as soon as the operation ends */
        uint64_t ino;       /* the netns inode, as bpf_link_info reports netns_ino */
        char path[4096];    /* the file the reference resolved to */
} NlNetns;

/* Turns a reference into the path it names, without touching the file
 * system. Refuses empty, relative, "..", names with '/', bad pids, and
 * ino:N (a lookup of existing links resolves that itself). */
int nl_netns_ref_to_path(const char *ref, char *path, size_t size, NlError *e);

/* References are resolved for other processes (the daemon, for its
 * callers): refuse those that name the resolving process's own files,
 * /proc/self/..., /proc/thread-self/..., /dev/fd/..., /proc/<own pid>/...
 * and pid:<own pid> (self-ref.h), which would name the daemon's namespace
 * where the caller meant its own. Off by default: a process resolving its
 * own references may mean itself. */
void nl_netns_refs_of_others(bool on);

/* Resolves and opens: on success ns->fd is an open netns fd (O_CLOEXEC); on
 * failure ns->fd is negative, so that nl_netns_close() is always safe. */
int nl_netns_open(const char *ref, NlNetns *ns, NlError *e);
/* The same, but only checks that the file is a namespace, not which kind:
 * for a caller whose next step refuses anything but a netns anyway
 * (bpf_link_create says EINVAL), one ioctl less. On that refusal,
 * nl_netns_explain names the error nl_netns_open would have. */
int nl_netns_open_nsfs(const char *ref, NlNetns *ns, NlError *e);
/* 0 if ns->fd is a netns, else the error naming what it is. */
int nl_netns_explain(const NlNetns *ns, const char *ref, NlError *e);
void nl_netns_close(NlNetns *ns);

/* Only the inode: opens, checks and closes again. */
int nl_netns_ino(const char *ref, uint64_t *ret, NlError *e);

/* The inode of the namespace file a reference names, from one stat and
 * without opening it: cheap, but it does not say which kind of namespace
 * it is. Only for looking up a netns already known by its inode (nsfs
 * inodes are unique); anything else goes through nl_netns_open for its
 * checks and named errors. -ENOTTY if not nsfs. */
int nl_netns_stat_ino(const char *ref, uint64_t *ret);
/* The inode of an already open netns fd, checking it is one. */
int nl_netns_fd_check(int fd, uint64_t *ret_ino);
