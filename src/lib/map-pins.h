/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <bpf/bpf.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Opens the map pinned at dir/name and reads its info; the path goes to
 * path (for messages). Returns the fd, or a negative errno. */
int nl_map_open_pinned(const char *dir, const char *name, struct bpf_map_info *info, char *path,
                       size_t path_size);

struct bpf_map;

/* How alike a pinned map must be to an object's map of its name. */
typedef enum NlMapMatch {
        NL_MAP_MATCH_VALUES,    /* type and value size: its entries read and write alike */
        NL_MAP_MATCH_LAYOUT,    /* and key size and flags, any size: a program sized to it may use it */
} NlMapMatch;

/* Opens the map pinned at dir/<map's name> (path: as above) if it is like
 * map; one that is not: -EMEDIUMTYPE. Returns the fd, or a negative errno. */
int nl_map_open_pinned_as(const struct bpf_map *map, const char *dir, NlMapMatch match, char *path,
                          size_t path_size);

/* Removes a folder of map pins, and the folder it is in if that is left
 * empty (a steer/ folder whose last load or link went). */
void nl_map_pins_remove(const char *dir);

/* Pins every map the program prog_id uses in dir, by the map's name, where
 * nothing of that name is pinned: how the maps of a steer link whose pins
 * were removed are found again (the kernel keeps them with the program).
 * libbpf's internal maps (.rodata, ...) are left out. Makes dir if needed.
 * Returns how many maps it pinned. */
int nl_prog_pin_maps(uint32_t prog_id, const char *dir, NlError *e);
