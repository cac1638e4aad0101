/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha256.h"

/*
 * A BPF ELF object as bytes, without libbpf: reading it whole, and the
 * source a link running one of its programs lists. The CNI plugin's CHECK
 * names an object's program the way the daemon does, with none of the
 * loader's libraries (prog-loader.h builds on this).
 */

/* ELF objects larger than this are refused before libbpf sees them. */
#define NL_ELF_MAX_SIZE ((uint64_t) 64 * 1024 * 1024)

/* Reads a whole object from fd: a regular file of at most NL_ELF_MAX_SIZE
 * that does not change while it is read. */
int nl_prog_elf_read_fd(int fd, void **ret_data, size_t *ret_size, NlError *e);
/* The same for an absolute path. */
int nl_prog_elf_read_path(const char *path, void **ret_data, size_t *ret_size, NlError *e);

/* "sha256:<the first 12 hex digits of the object's SHA-256>:<program name>"
 * into buf, and the whole digest in hex into hex. */
void nl_prog_elf_source(const void *data, size_t size, const char *prog_name,
                        char hex[2 * SHA256_DIGEST_SIZE + 1], char *buf, size_t buf_size);
