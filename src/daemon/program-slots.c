/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <string.h>

#include "program-slots.h"

int program_slots_init(ProgramSlots *s, size_t n) {
        *s = (ProgramSlots) {};
        s->slot = calloc(n ? n : 1, sizeof(ProgramSlot));
        if (!s->slot)
                return -ENOMEM;
        s->n = n;
        return 0;
}

static void slot_clear(ProgramSlot *s) {
        s->prog = nl_program_unref(s->prog);
        free(s->error);
        s->error = NULL;
        s->r = 0;
        s->done = false;
        s->waiting = false;
        free(s->key);
        s->key = NULL;
}

int program_slot_wait(ProgramSlots *s, size_t i, const char *key) {
        ProgramSlot *slot = &s->slot[i];
        char *k = strdup(key);

        if (!k)
                return -ENOMEM;
        slot_clear(slot);
        slot->key = k;
        slot->waiting = true;
        return 0;
}

void program_slot_clear(ProgramSlots *s, size_t i) {
        slot_clear(&s->slot[i]);
}

void program_slots_done(ProgramSlots *s) {
        for (size_t i = 0; s->slot && i < s->n; i++)
                slot_clear(&s->slot[i]);
        free(s->slot);
        *s = (ProgramSlots) {};
}

int program_slot_take(const ProgramSlots *s, size_t i, NlProgram **ret, NlError *e) {
        const ProgramSlot *slot = &s->slot[i];

        if (slot->prog) {
                *ret = nl_program_ref(slot->prog);
                return 0;
        }
        if (!slot->error)
                return nl_error_set(e, NL_ERR_FAILED, slot->r < 0 ? slot->r : -EIO, "Out of memory");
        if (e)
                *e = *slot->error;
        return slot->r < 0 ? slot->r : -EIO;
}

void program_slot_set(ProgramSlots *s, size_t i, NlProgram *prog) {
        slot_clear(&s->slot[i]);
        s->slot[i].prog = nl_program_ref(prog);
        s->slot[i].done = true;
}

void program_slot_share(ProgramSlots *s, size_t i, size_t j) {
        ProgramSlot *a = &s->slot[i];
        const ProgramSlot *b = &s->slot[j];

        slot_clear(a);
        if (b->done && b->prog) {
                program_slot_set(s, i, b->prog);
                return;
        }
        if (b->done) {
                a->r = b->r;
                a->error = b->error ? malloc(sizeof(NlError)) : NULL;
                if (a->error)
                        *a->error = *b->error;
                a->done = true;
                return;
        }
        if (b->waiting && program_slot_wait(s, i, b->key) < 0) {
                /* No room to wait: it fails as a load would. */
                a->r = -ENOMEM;
                a->done = true;
        }
}

bool program_slots_deliver(ProgramSlots *s, const char *key, NlProgram *prog, const NlError *error,
                           bool exclusive) {
        bool took = false;

        for (size_t i = 0; i < s->n; i++) {
                ProgramSlot *slot = &s->slot[i];

                if (!slot->waiting || strcmp(slot->key, key) != 0)
                        continue;
                slot->waiting = false;
                free(slot->key);
                slot->key = NULL;
                if (prog && !(exclusive && took)) {
                        slot->prog = nl_program_ref(prog);
                        slot->done = true;
                        took = true;
                } else if (error) {
                        slot->error = malloc(sizeof(NlError));
                        if (slot->error)
                                *slot->error = *error;
                        slot->r = error->error ? -abs(error->error) : -EIO;
                        slot->done = true;
                }
                /* Neither: not this request's; it asks again. */
        }
        return took;
}

bool program_slots_waiting(const ProgramSlots *s) {
        for (size_t i = 0; i < s->n; i++)
                if (s->slot[i].waiting)
                        return true;
        return false;
}
