/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "error.h"

/* Pins every map the program prog_id uses in dir, by the map's name, where
 * nothing of that name is pinned: how the maps of a steer link whose pins
 * were removed are found again (the kernel keeps them with the program).
 * libbpf's internal maps (.rodata, ...) are left out. Makes dir if needed.
 * Returns how many maps it pinned. */
int nl_prog_pin_maps(uint32_t prog_id, const char *dir, NlError *e);
