/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * Which links a configuration file made (../shared/CONTRACT.md,
 * "Declarative configuration"): link id -> the file's path, in a hash map
 * pinned at <root>/configs. The same map keeps the origin a caller gave a
 * link it made (cni:<container>/<ifname>, names.h): a path is absolute, an
 * origin never is, so one record tells which it is. The daemon writes a link's record after the
 * link is made and before it is pinned, so that a SIGKILL at any point
 * leaves either no link (the kernel drops an unpinned link with the
 * process) or a pinned link with its record. A record whose link is not
 * one of the daemon's is pruned at start, only after a scan that found
 * every link. Applying the configuration detaches only recorded links that
 * no file describes any more: links made over D-Bus are never in it.
 */

#define NL_LINK_RECORDS_NAME "configs"
/* Longer paths are refused: the record is fixed-size. */
#define NL_LINK_RECORD_PATH_MAX 1024

int nl_link_records_open(const char *root, NlError *e);
/* Records that the file at path made link_id. */
int nl_link_record_set(int fd, uint32_t link_id, const char *path, NlError *e);
/* The path recorded for link_id into buf; -ENOENT if none. */
int nl_link_record_get(int fd, uint32_t link_id, char *buf, size_t size);
int nl_link_record_clear(int fd, uint32_t link_id);
/* Drops the records of links gone(link_id) says are not the daemon's. */
int nl_link_records_prune(int fd, bool (*gone)(uint32_t link_id, void *userdata), void *userdata);
