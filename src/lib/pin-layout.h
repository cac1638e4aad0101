/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "error.h"

/*
 * The version of what a pin root holds, so that a daemon knows what it is
 * reading: a one-entry array map pinned at <root>/layout (bpffs holds only
 * BPF objects, and refuses names with a dot) whose value is the version.
 *
 *   1  the first release: links, steer map folders and batch journals; no
 *      marker (a root without one is version 1, or empty).
 *   2  adds the marker and the record of built-in programs
 *      (builtin-marks.h).
 *   3  steer map folders hold per-CPU hit counters (the maps counters and
 *      counter_used, steer-abi.h); a link of version 2 or 1 without them
 *      is moved to this build's program and maps at every start until it
 *      has them (nl_steer_upgrade), whatever the marker says.
 *
 * A daemon migrates an older root in place and writes the marker last,
 * so a migration killed half way is done again at the next start; it
 * refuses a newer one, whose meaning it cannot know.
 */

#define NL_PIN_LAYOUT_NAME "layout"
#define NL_PIN_LAYOUT_VERSION 3U

/* The version of root: the marker's, or 1 if there is none. A marker
 * that cannot be read, or that is not a marker, is an error. */
int nl_pin_layout_read(const char *root, uint32_t *ret, NlError *e);
/* The same, refusing a version newer than NL_PIN_LAYOUT_VERSION with a
 * message naming both. */
int nl_pin_layout_check(const char *root, uint32_t *ret, NlError *e);
/* Writes the marker, making it if needed: one map update, or one pin of a
 * map already holding the version, so it is there whole or not at all. */
int nl_pin_layout_write(const char *root, uint32_t version, NlError *e);
