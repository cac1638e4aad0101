/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/*
 * A record the daemon keeps about kernel objects by their id (a program's,
 * a link's): a BPF hash map pinned under the pin root, id (u32) -> a
 * fixed-size, NUL-padded string. Pinned, it outlives the daemon (a restart,
 * a SIGKILL) exactly as the links do, and goes with the bpffs at a reboot,
 * as they do. builtin-marks, the program sources and the link records
 * (link-records.h) are each one of these.
 */

typedef struct NlIdRecords {
        const char *pin_name;   /* under the pin root: no dots (bpffs) */
        const char *map_name;   /* the kernel's name of the map, at most 15 chars */
        const char *what;       /* for messages: "record of built-in programs" */
        uint32_t value_size;
        uint32_t max_entries;
} NlIdRecords;

/* Opens the pinned map of root, creating and pinning it if there is none;
 * a pin of another shape is refused. Returns the map fd. */
int nl_id_records_open(const NlIdRecords *spec, const char *root, NlError *e);
/* 1 if root holds it, 0 if not. */
int nl_id_records_exist(const NlIdRecords *spec, const char *root);

/* Sets id's record to s (at most value_size - 1 bytes, else -ENAMETOOLONG);
 * a full map is pruned by gone() first. */
int nl_id_record_set(const NlIdRecords *spec, int fd, uint32_t id, const char *s,
                     bool (*gone)(uint32_t id, void *userdata), void *userdata);
/* Copies id's record into buf (size >= 1); -ENOENT if it has none. */
int nl_id_record_get(const NlIdRecords *spec, int fd, uint32_t id, char *buf, size_t size);
/* Drops id's record; none is no error. */
int nl_id_record_clear(int fd, uint32_t id);
/* Drops the records whose id gone() says is gone; returns how many. */
int nl_id_records_prune(int fd, bool (*gone)(uint32_t id, void *userdata), void *userdata);
