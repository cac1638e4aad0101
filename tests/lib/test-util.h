/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A small harness for tests against the real kernel.
 *
 * test_main() runs the test body in a forked child that lives in its own
 * mount namespace, with
 *   - a private bpffs mounted on a mkdtemp() folder (test_bpffs()), the
 *     only place tests pin anything: the host's /sys/fs/bpf is never used;
 *   - a private tmpfs on /run/netns, so named netns made by test_netns_add()
 *     exist only for the test and bare names cannot reach the host's.
 * When the child ends, however it ends (assertion, crash, SIGKILL), the
 * parent kills every process it left behind (the child is a subreaper's
 * child and leads its own process group), the mount namespace dies with
 * it, and with it the bpffs, its pins and the links they held, and every
 * netns that only a bind mount kept alive. The parent removes the empty
 * temporary folder and prints "<name>: N passed, M failed".
 *
 * Checks count and never abort, so one run reports every failure:
 *     CHECK_OK(r, &e);               r >= 0, else prints e's message
 *     CHECK_ERR(r, &e, NL_ERR_...);  r < 0 with that kind
 *     CHECK(cond, "fmt", ...);
 * Failures print "FAIL file:line [case]: what".
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "error.h"

/* ---- counting checks ---- */

/* The label of the table row being run, printed with every failure;
 * NULL clears it. */
void test_case(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool test_check(bool ok, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
unsigned test_failed_count(void);

#define CHECK(cond, ...) test_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define CHECK_OK(r, e)                                                              \
        ({                                                                          \
                long _r = (long) (r);                                               \
                const NlError *_e = (e);                                            \
                test_check(_r >= 0, __FILE__, __LINE__, "%s = %ld (%s), expected success: %s", \
                           #r, _r, _r < 0 ? strerror((int) -_r) : "",                \
                           _e ? _e->message : "");                                  \
        })

#define CHECK_ERR(r, e, want_kind)                                                  \
        ({                                                                          \
                long _r = (long) (r);                                               \
                const NlError *_e = (e);                                            \
                NlErrorKind _w = (want_kind);                                       \
                test_check(_r < 0 && _e->kind == _w && _e->message[0], __FILE__, __LINE__,            \
                           "%s = %ld, kind %s, expected an error of kind %s (message: \"%s\")", \
                           #r, _r, nl_error_kind_name(_e->kind), nl_error_kind_name(_w), \
                           _e->message);                                            \
        })

#define CHECK_INT_EQ(a, b)                                                          \
        ({                                                                          \
                long long _a = (long long) (a), _b = (long long) (b);               \
                test_check(_a == _b, __FILE__, __LINE__, "%s == %s: %lld != %lld",  \
                           #a, #b, _a, _b);                                         \
        })

#define CHECK_STR_EQ(a, b)                                                          \
        ({                                                                          \
                const char *_a = (a), *_b = (b);                                    \
                test_check(_a && _b && strcmp(_a, _b) == 0, __FILE__, __LINE__,     \
                           "%s == %s: \"%s\" != \"%s\"", #a, #b, _a ?: "(null)", _b ?: "(null)"); \
        })

#define CHECK_CONTAINS(hay, needle)                                                 \
        ({                                                                          \
                const char *_h = (hay), *_n = (needle);                             \
                test_check(_h && strstr(_h, _n), __FILE__, __LINE__,                \
                           "%s contains \"%s\": \"%s\"", #hay, _n, _h ?: "(null)"); \
        })

/* ---- the sandbox ---- */

/* Runs body in the sandboxed child and returns the exit status for main():
 * 0 if every check passed, 1 otherwise, 77 (skip) when not root. */
int test_main(const char *name, void (*body)(void));

/* The private bpffs mount. */
const char *test_bpffs(void);
/* A private tmpfs folder for scratch files (not bpffs). */
const char *test_tmpdir(void);
/* Makes a fresh folder on the private bpffs: <bpffs>/<name>. */
int test_bpffs_dir(const char *name, char *buf, size_t size);

#define TEST_NETNS_NAME_MAX 64

/* A new named netns, /run/netns/<name> (the private tmpfs). */
int test_netns_add(char name[TEST_NETNS_NAME_MAX]);
/* Deletes it as ip-netns(8) does: unmount and unlink. The netns itself goes
 * once nothing else holds it. */
int test_netns_del(const char *name);
/* Its inode, as bpf_link_info reports netns_ino. */
uint64_t test_netns_ino(const char *name);
/* An open fd to it (O_CLOEXEC); the caller closes. */
int test_netns_fd(const char *name);

/* A process that sits in a netns of its own (unshare), for pid:N
 * references; it dies with the test. */
pid_t test_netns_holder(void);
void test_process_kill(pid_t pid);

/* Polls until the link fd's netns_ino reads 0 (the kernel frees a netns
 * asynchronously), at most timeout_ms. */
bool test_wait_link_defunct(int link_fd, unsigned timeout_ms);

/* Number of programs attached to the netns fd for that BPF attach type. */
int test_netns_prog_count(int netns_fd, int bpf_attach_type);
/* Polls until that number is want, at most timeout_ms, and returns the last
 * count: the kernel releases a link whose last pin was unlinked from a
 * workqueue, so it leaves its netns a moment after the unlink returns. */
int test_wait_prog_count(int netns_fd, int bpf_attach_type, int want, unsigned timeout_ms);

/* How many fds the process has open, to catch leaks on error paths. */
int test_count_fds(void);

/* Whether a path exists (lstat). */
bool test_exists(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file into a malloc()ed buffer. */
int test_read_file(const char *path, void **ret, size_t *ret_size);
/* Writes data to a new file in the private temporary folder; returns its path. */
int test_write_tmp(const char *name, const void *data, size_t size, char *path, size_t path_size);

/* The test BPF objects, compiled from tests/lib/bpf/ at build time. */
#define TEST_OBJ_PROGS TEST_BPF_DIR "/libtest_progs.bpf.o"
#define TEST_OBJ_REJECT TEST_BPF_DIR "/libtest_reject.bpf.o"
