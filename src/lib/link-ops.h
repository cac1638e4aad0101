/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "names.h"

typedef struct NlLinkInfo {
        uint32_t link_id;
        uint32_t prog_id;
        uint64_t netns_ino;        /* 0 once the netns is gone */
        NlAttachType attach_type;
        char prog_name[16];        /* BPF_OBJ_NAME_LEN */
        char prog_tag[17];         /* 16 hex digits */
} NlLinkInfo;

/* Creates a netns link of prog_fd on the netns netns_fd; returns the link fd.
 * The kernel's limits come back as NL_ERR_TOO_MANY_LINKS. */
int nl_link_create(int prog_fd, int netns_fd, NlAttachType type, NlError *e);

/* Swaps the program atomically (bpf_link_update). */
int nl_link_update(int link_fd, int prog_fd, NlError *e);

/* Swaps only if the link's current program id is expected_prog_id
 * (BPF_F_REPLACE); otherwise NL_ERR_PROGRAM_MISMATCH and nothing changes. */
int nl_link_replace(int link_fd, int prog_fd, uint32_t expected_prog_id, NlError *e);

/* Detaches the link from its netns even if other fds to it remain. */
int nl_link_detach(int link_fd, NlError *e);

/* Link id, program id, netns inode and type; with want_prog also the
 * program's name and tag (one more syscall pair). -EMEDIUMTYPE if the fd
 * is a link but not a netns link. */
int nl_link_get_info(int link_fd, bool want_prog, NlLinkInfo *ret);

/* 1 if fd is a BPF link, 0 if another kind of file (a program, a map), a
 * negative errno if it cannot tell (no /proc). */
int nl_bpf_fd_is_link(int fd);

/* Name and tag of a program by id. */
int nl_prog_describe(uint32_t prog_id, char name[16], char tag[17]);
int nl_prog_fd_describe(int prog_fd, uint32_t *ret_id, char name[16], char tag[17]);

/* The ids of the programs attached to the netns for type, in run order. */
int nl_netns_query_progs(int netns_fd, NlAttachType type, uint32_t *ids, uint32_t *count);
