/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manager.h"

/*
 * Shared by the files of the Manager alone; manager.h is its API. Each is
 * described where it is defined.
 */

/* Bookkeeping: the Link and Netns tables, and finding links (manager.c). */
void manager_link_key(char *buf, size_t size, uint64_t ino, NlAttachType type, const char *name);
void manager_netns_key(char buf[32], uint64_t ino);
Link *manager_link_new(uint64_t ino, NlAttachType type, const char *name, const char *netns,
                       const char *source);
void manager_link_free(Link *l);
int manager_link_add(Manager *m, Link *l, const char *netns_path);
void manager_link_drop(Manager *m, Link *l);
int manager_refresh_info(Manager *m, Link *l);
int manager_resolve_ino(Manager *m, const char *netns, uint64_t *ret, NlError *e);
int manager_parse_ref(Manager *m, const LinkRef *ref, NlAttachType *type, NlError *e);

/* Operations, for their batch versions (manager-ops.c). */
bool manager_spec_is_per_link(const ProgramSpec *p);
int manager_program_get(Manager *m, const ProgramSpec *p, NlAttachType type, uint64_t ino, const char *name,
                        ProgramSlots *slots, size_t i, bool may_wait, NlProgram **ret, NlError *e);
int manager_attach_one(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, size_t i,
                       NlBatch *b, Link **ret, char *netns_path, size_t path_size, NlError *e);
void manager_log_change(const char *what, const Link *l);
void manager_note_config_override(Manager *m, const Link *l, const char *call);
