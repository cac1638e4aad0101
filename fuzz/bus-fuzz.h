/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "manager.h"

/* The link name whose steer maps exist (bus-stubs.c, fuzz-bus-message.c). */
#define FUZZ_STEER_LINK "s1"

/* Our own netns: the made-up links live there, so RegisterSocket's netns
 * check can pass. */
extern uint64_t fuzz_netns_ino;
/* The name the kernel gives builtin:steer's program. */
extern char fuzz_steer_prog_name[16];
