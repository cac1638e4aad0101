/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* The pin store's helpers that its batches (pin-batch.c) share. */
#include "pin-store.h"

/* One link of a batch's journal (pin-batch.c): the value of an array map. */
typedef struct JournalEntry {
        uint64_t ino;
        uint32_t type;          /* NlAttachType */
        uint32_t link_id;       /* 0: an unused entry */
        char name[72];          /* NL_LINK_NAME_MAX + 1, padded */
} JournalEntry;

_Static_assert(sizeof(((JournalEntry *) 0)->name) > NL_LINK_NAME_MAX, "journal name too short");

/* base/<ino>/<type>[/<name>] into buf. */
int pin_path_in(const char *base, uint64_t ino, NlAttachType type, const char *name, char *buf, size_t size);
/* mkdir of <root>/<ino>/<type>, remembering what exists. */
int make_parent_dirs(NlPinStore *s, uint64_t ino, NlAttachType type);
/* The same after a pin found a remembered folder gone. */
int remake_parent_dirs(NlPinStore *s, uint64_t ino, NlAttachType type);
/* rmdir of <root>/<ino>/<type> and <root>/<ino> if empty, unless s keeps them. */
void prune_dirs(NlPinStore *s, uint64_t ino, NlAttachType type);
int rm_rf_at(int dfd, const char *name);

/* Calls fn for every entry under base/<ino>/<type>/ but symlinks (is_dir:
 * a folder). A folder it cannot read stops it with an error naming the
 * folder in e: the walk would be incomplete. */
typedef int (*walk_fn)(const char *base, uint64_t ino, NlAttachType type, const char *name, bool is_dir,
                       const char *path, void *userdata, NlError *e);
int walk_pins(const char *base, walk_fn fn, void *userdata, NlError *e);
