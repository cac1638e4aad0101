/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "loader.h"

/*
 * What a request got of its programs so far, one slot per element (one for
 * Attach, Update and Replace). A request that must wait for a load keeps
 * its slots while it waits: the loader fills the slots waiting for a load
 * when it ends (on_ready), and the request, run again, takes what they
 * hold instead of asking anew. So a batch makes progress at every run, and
 * what it loaded stays loaded until it is done.
 */
typedef struct ProgramSlot {
        NlProgram *prog;        /* done, loaded */
        NlError *error;         /* done, failed: r and why */
        int r;
        bool done;
        bool waiting;           /* for the load named key (ours) */
        uint64_t ino;           /* a per-link program's link: netns, and */
        uint32_t link_id;       /* the link whose maps it keeps (0: new maps) */
        char *key;              /* a batch may have 65,536 slots: no room for a key each */
} ProgramSlot;

typedef struct ProgramSlots {
        ProgramSlot *slot;
        size_t n;
        /* Told when a load a slot waits for ends; NULL: loads are waited
         * for (no event loop, or a caller that cannot wait). */
        loader_ready_fn on_ready;
        void *userdata;
} ProgramSlots;

int program_slots_init(ProgramSlots *s, size_t n);
void program_slots_done(ProgramSlots *s);

/* Slot i has a program or an error: *ret gets a new reference, or e the
 * error and its errno is returned. */
int program_slot_take(const ProgramSlots *s, size_t i, NlProgram **ret, NlError *e);
/* Slot i got prog now. */
void program_slot_set(ProgramSlots *s, size_t i, NlProgram *prog);
/* Slot i waits for the load named key. */
int program_slot_wait(ProgramSlots *s, size_t i, const char *key);
/* Slot i holds nothing, waits for nothing. */
void program_slot_clear(ProgramSlots *s, size_t i);
/* Slot i waits for what slot j does, or has what it has. */
void program_slot_share(ProgramSlots *s, size_t i, size_t j);

/* A load ended (loader_ready_fn): fills the slots that wait for key. An
 * exclusive program goes to one slot; returns whether one took it. */
bool program_slots_deliver(ProgramSlots *s, const char *key, NlProgram *prog, const NlError *error,
                           bool exclusive);
bool program_slots_waiting(const ProgramSlots *s);
