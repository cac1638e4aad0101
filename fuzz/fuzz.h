/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * What every harness shares. A harness is one LLVMFuzzerTestOneInput; with
 * NETNSLINK_FUZZ=ON libFuzzer drives it, otherwise replay-main.c runs it
 * over a corpus folder.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A finding that is not a memory error: the parser broke its own promise.
 * abort() so that libFuzzer saves the input and the replay counts a failure. */
#define FUZZ_CHECK(cond)                                                                \
        do {                                                                            \
                if (!(cond)) {                                                          \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* The input, consumed front to back. */
typedef struct FuzzInput {
        const uint8_t *p;
        size_t n;
} FuzzInput;

/* The next byte, 0 once the input is used up. */
uint8_t fuzz_take_u8(FuzzInput *in);
uint16_t fuzz_take_u16(FuzzInput *in);
/* The bytes up to the next NUL (or the end), as a malloc'd string; the NUL
 * is consumed. Never NULL (aborts on OOM). */
char *fuzz_take_string(FuzzInput *in);

/* A scratch folder that vanishes with the process: a file system of type
 * fstype ("tmpfs", "bpf") mounted in a private mount namespace. Fills dir.
 * Returns 0, or -errno when this needs privileges the process lacks (then
 * the harness has nothing to run against and skips its inputs). Call once
 * per process. */
int fuzz_private_mount(const char *fstype, char *dir, size_t size);

/* Says once on stderr why a harness skips (some of) its work. If it skips
 * everything, sets fuzz_skipped: the replay driver then reports the run as
 * skipped, not passed. */
void fuzz_skip_note(const char *harness, const char *why, int error, bool everything);
extern bool fuzz_skipped;
