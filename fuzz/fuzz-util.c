/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fuzz.h"

uint8_t fuzz_take_u8(FuzzInput *in) {
        if (in->n == 0)
                return 0;
        in->n--;
        return *in->p++;
}

uint16_t fuzz_take_u16(FuzzInput *in) {
        uint16_t hi = fuzz_take_u8(in);
        return (uint16_t) (hi << 8 | fuzz_take_u8(in));
}

char *fuzz_take_string(FuzzInput *in) {
        const uint8_t *nul = memchr(in->p, 0, in->n);
        size_t len = nul ? (size_t) (nul - in->p) : in->n;
        char *s = malloc(len + 1);

        if (!s)
                abort();
        memcpy(s, in->p, len);
        s[len] = 0;
        in->p += len;
        in->n -= len;
        if (nul) {
                in->p++;
                in->n--;
        }
        return s;
}

int fuzz_private_mount(const char *fstype, char *dir, size_t size) {
        /* /sys/fs/bpf exists wherever BPF does, and in a mount namespace of
         * our own nothing else sees what we mount over it: no folder to
         * clean up after a crash, no pins left on the host's bpffs. */
        static const char mountpoint[] = "/sys/fs/bpf";

        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount(fstype, mountpoint, fstype, MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
                return -errno;
        snprintf(dir, size, "%s", mountpoint);
        return 0;
}

bool fuzz_skipped;

void fuzz_skip_note(const char *harness, const char *why, int error, bool everything) {
        static bool said;

        fuzz_skipped |= everything;
        if (said)
                return;
        said = true;
        fprintf(stderr, "%s: skipping %s: %s: %s\n", harness,
                everything ? "the work of every input" : "part of the work", why, strerror(error));
}
