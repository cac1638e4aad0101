/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Netns references, as callers pass them in every Manager and Steering
 * method: nl_netns_ref_to_path, then nl_netns_open on what it resolves to.
 *
 * Input: one byte choosing the size of the path buffer, then the reference
 * (up to a NUL).
 *
 * Opening is real but confined: /proc/N/ns/net and /run/netns/NAME are
 * opened as they are (namespace files only), an absolute path is looked up
 * inside a sandbox folder of our own (a netns, a uts namespace, a file, a
 * folder, a fifo, a symlink loop, a dangling symlink), never on the host,
 * so no device file is ever opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "netns-ref.h"

static char sandbox[4096];
static bool have_sandbox;

static void make_sandbox(void) {
        char p[4200];
        int r = fuzz_private_mount("tmpfs", sandbox, sizeof(sandbox));

        if (r < 0) {
                fuzz_skip_note("fuzz-netns-ref", "no private tmpfs for the open sandbox (opens skipped)", -r, false);
                return;
        }
#define AT(name) (snprintf(p, sizeof(p), "%s/%s", sandbox, name), p)
        if (symlink("/proc/self/ns/net", AT("net")) < 0 ||
            symlink("/proc/self/ns/uts", AT("uts")) < 0 ||
            symlink("loop", AT("loop")) < 0 ||
            symlink("nowhere", AT("dangling")) < 0 ||
            mkdir(AT("dir"), 0700) < 0 ||
            symlink("../net", AT("dir/net")) < 0 ||
            mkfifo(AT("fifo"), 0600) < 0)
                abort();
        int fd = open(AT("file"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, "not a namespace\n", 16) != 16)
                abort();
        close(fd);
#undef AT
        have_sandbox = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        make_sandbox();
        return 0;
}

static bool has_dotdot(const char *p) {
        for (const char *c = p; (c = strstr(c, "..")); c += 2)
                if ((c == p || c[-1] == '/') && (c[2] == 0 || c[2] == '/'))
                        return true;
        return false;
}

static bool is_pid_path(const char *path) {
        const char *p = path + strlen("/proc/");
        size_t digits;

        if (strncmp(path, "/proc/", 6) != 0)
                return false;
        digits = strspn(p, "0123456789");
        return digits > 0 && strcmp(p + digits, "/ns/net") == 0;
}

static void check_resolved(const char *ref, const char *path, size_t size) {
        FUZZ_CHECK(strlen(path) < size);
        FUZZ_CHECK(path[0] == '/');
        FUZZ_CHECK(!has_dotdot(path));
        if (ref[0] == '/')
                FUZZ_CHECK(strcmp(ref, path) == 0);
        else if (strncmp(ref, "pid:", 4) == 0)
                FUZZ_CHECK(is_pid_path(path) && strncmp(path + 6, ref + 4, strlen(ref + 4)) == 0 &&
                           path[6 + strlen(ref + 4)] == '/');
        else {
                FUZZ_CHECK(strncmp(path, NL_NETNS_RUN_DIR "/", strlen(NL_NETNS_RUN_DIR) + 1) == 0);
                FUZZ_CHECK(strcmp(path + strlen(NL_NETNS_RUN_DIR) + 1, ref) == 0);
                FUZZ_CHECK(!strchr(ref, '/'));
        }
}

static void check_open(const char *ref) {
        NlError e = {};
        NlNetns ns;
        int r;

        r = nl_netns_open(ref, &ns, &e);
        if (r < 0) {
                FUZZ_CHECK(e.kind != NL_ERR_NONE && e.message[0]);
                FUZZ_CHECK(ns.fd < 0);
                return;
        }
        FUZZ_CHECK(ns.fd >= 0 && ns.ino != 0);
        uint64_t ino = 0;
        FUZZ_CHECK(nl_netns_fd_check(ns.fd, &ino) == 0 && ino == ns.ino);
        nl_netns_close(&ns);
        FUZZ_CHECK(ns.fd < 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t sel = fuzz_take_u8(&in);
        /* Mostly the daemon's own 4096, sometimes tight buffers. */
        size_t psize = sel < 64 ? sel : 4096;
        char *ref = fuzz_take_string(&in);
        char *path = malloc(psize ? psize : 1);
        NlError e = {};
        int r;

        if (!path)
                abort();
        r = nl_netns_ref_to_path(ref, path, psize, &e);
        if (r < 0) {
                FUZZ_CHECK(e.kind == NL_ERR_INVALID_ARGS);
                FUZZ_CHECK(e.message[0] && strlen(e.message) < sizeof(e.message));
                /* NULL for the error is allowed too. */
                FUZZ_CHECK(nl_netns_ref_to_path(ref, path, psize, NULL) == r);
        } else {
                check_resolved(ref, path, psize);
                if (psize == 4096) {
                        if (ref[0] != '/')
                                check_open(ref);
                        else if (have_sandbox && strlen(sandbox) + strlen(ref) < 4096) {
                                char inside[4096];
                                snprintf(inside, sizeof(inside), "%s%s", sandbox, ref);
                                check_open(inside);
                        }
                }
        }
        free(path);
        free(ref);
        return 0;
}
