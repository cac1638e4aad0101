/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "names.h"
#include "prog-source.h"

/*
 * Loading BPF programs, with a cache: a program is keyed by the SHA-256 of
 * its object's content, the program's name and the attach type, so that
 * attaching one program in 300 netns opens and verifies it once.
 */
typedef struct NlProgram NlProgram;
typedef struct NlProgCache NlProgCache;

/* How many loaded programs no link uses are kept for reuse. */
#define NL_PROG_CACHE_IDLE_MAX 64

NlProgCache *nl_prog_cache_new(void);
NlProgCache *nl_prog_cache_free(NlProgCache *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(NlProgCache *, nl_prog_cache_free);
/* Loads performed (cache misses), for tests and benchmarks. */
unsigned nl_prog_cache_loads(const NlProgCache *c);

int nl_prog_load_elf_mem(NlProgCache *c, const void *data, size_t size, const char *prog_name,
                         NlAttachType type, NlProgram **ret, NlError *e);
/* The cache key and a short source description of an object's program. */
int nl_prog_elf_key(const void *data, size_t size, const char *prog_name, NlAttachType type,
                    char *key, size_t key_size, char *source, size_t source_size, NlError *e);
/* Opens, checks and loads one program of an object, bypassing the cache;
 * returns the program fd. This is what a loader child runs. */
int nl_prog_elf_load_fd(const void *data, size_t size, const char *prog_name, NlAttachType type, NlError *e);

/* Reads the object from fd (a regular file, at most NL_ELF_MAX_SIZE). */
int nl_prog_load_elf_fd(NlProgCache *c, int fd, const char *prog_name, NlAttachType type,
                        NlProgram **ret, NlError *e);
int nl_prog_load_elf_path(NlProgCache *c, const char *path, const char *prog_name,
                          NlAttachType type, NlProgram **ret, NlError *e);

/* Wraps a program loaded elsewhere (a built-in's skeleton): owner is
 * destroyed with destroy() when the last reference goes. With a key the
 * program is cached; without one it belongs to its references alone. */
int nl_prog_cache_adopt(NlProgCache *c, const char *key, const char *source, void *owner,
                        void (*destroy)(void *owner), int prog_fd, NlProgram **ret, NlError *e);
/* A cached program by key, with a new reference, or NULL. */
NlProgram *nl_prog_cache_lookup(NlProgCache *c, const char *key);

NlProgram *nl_program_ref(NlProgram *p);
NlProgram *nl_program_unref(NlProgram *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(NlProgram *, nl_program_unref);
int nl_program_fd(const NlProgram *p);
uint32_t nl_program_id(const NlProgram *p);
const char *nl_program_name(const NlProgram *p);
const char *nl_program_tag(const NlProgram *p);
/* A short description of where it came from: "builtin:flow", "sha256:…:prog". */
const char *nl_program_source(const NlProgram *p);

/* A per-link program's maps pinned in a folder made for this load alone
 * (the staging folder): the program owns it, and its last reference
 * removes it, unless someone took it (moved it into place) first. */
int nl_program_set_staging_dir(NlProgram *p, const char *dir);
const char *nl_program_staging_dir(const NlProgram *p);
void nl_program_take_staging_dir(NlProgram *p);

/* libbpf's messages, captured while a load runs, so that a verifier
 * rejection can be reported with the log's last lines. A capture belongs to
 * the call that loads, on its stack:
 *     _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {};
 * A capture begun inside another takes the messages until it ends. */
typedef struct NlLibbpfCapture {
        char *buf;
        size_t len, size;
        struct NlLibbpfCapture *outer;  /* the capture this one interrupted */
} NlLibbpfCapture;
void nl_libbpf_capture_begin(NlLibbpfCapture *c);
/* Stops capturing; returns the text, c's until nl_libbpf_capture_done. */
const char *nl_libbpf_capture_end(NlLibbpfCapture *c);
/* Ends c if it still runs and frees its text. */
void nl_libbpf_capture_done(NlLibbpfCapture *c);
/* The last n lines of text, trimmed of libbpf's framing. */
void nl_log_tail(const char *text, unsigned n, char *out, size_t size);

/* Where libbpf messages go when nothing captures them (the daemon logs
 * them at debug level). */
typedef void (*nl_libbpf_log_fn)(int level, const char *msg);
void nl_libbpf_set_log(nl_libbpf_log_fn fn);
