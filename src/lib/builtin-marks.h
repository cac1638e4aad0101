/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "builtins.h"
#include "error.h"

/*
 * Which running programs are built-ins: the daemon's own record, not a
 * name anyone can give a program. Every built-in program the daemon loads
 * is marked, by its program id, in a hash map pinned at <root>/builtins
 * before any link runs it, so that links found again after a restart or a
 * SIGKILL are told apart from a user's program that happens to be called
 * steer_lookup or flow_dissect.
 *
 * A mark outlives its program only as long as nothing looks: a program id
 * names one program for as long as it exists, marks of programs gone are
 * pruned (at start, and when the map fills), and any other program the
 * daemon loads clears the mark its id may carry from an earlier one.
 */

#define NL_BUILTIN_MARKS_NAME "builtins"

/* Opens the pinned marks of root, creating and pinning them if there are
 * none; returns the map fd. */
int nl_builtin_marks_open(const char *root, NlError *e);
/* 1 if root holds marks, 0 if not. */
int nl_builtin_marks_exist(const char *root);

/* Marks prog_id as built-in b, or clears its mark (b NULL). */
int nl_builtin_mark(int marks_fd, uint32_t prog_id, const NlBuiltin *b, NlError *e);
/* The built-in prog_id was marked as, or NULL. */
const NlBuiltin *nl_builtin_marked(int marks_fd, uint32_t prog_id);
/* Drops the marks of programs that no longer exist; returns how many. */
int nl_builtin_marks_prune(int marks_fd);

/*
 * The source of every other program the daemon loads ("sha256:…:name", as
 * nl_prog_elf_key says), by program id, in a hash map pinned at
 * <root>/sources, written in the same step as the marks: so that a link
 * found again after a restart lists where its program came from. Pruned as
 * the marks are.
 */
#define NL_PROG_SOURCES_NAME "sources"
#define NL_PROG_SOURCE_MAX 128

int nl_prog_sources_open(const char *root, NlError *e);
/* Records prog_id's source; a builtin's, or none, clears what its id may
 * carry from a program long gone. */
int nl_prog_source_record(int sources_fd, uint32_t prog_id, const char *source, NlError *e);
/* Copies prog_id's source into buf; -ENOENT if none. */
int nl_prog_source_recorded(int sources_fd, uint32_t prog_id, char *buf, size_t size);
int nl_prog_sources_prune(int sources_fd);
