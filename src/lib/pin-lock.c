/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "pin-lock.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(FILE *, fclose);

/* How long a held lock is waited for before a start is refused: 1 s. */
#define LOCK_TRIES 50
#define LOCK_TRY_USEC (20 * 1000)

pid_t nl_pin_lock_holder(int fd) {
        _cleanup_(fclosep) FILE *f = NULL;
        char line[256];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        f = fopen("/proc/locks", "re");
        if (!f)
                return negative_errno();
        /* "1: FLOCK  ADVISORY  WRITE 4242 00:2c:489958 0 EOF"; a process
         * waiting for the lock is listed as "1: -> FLOCK ...". */
        while (fgets(line, sizeof(line), f)) {
                char kind[16], mode[16], rw[16];
                const char *p = strchr(line, ':');
                unsigned maj, min;
                unsigned long long ino;
                int pid;

                if (!p)
                        continue;
                p += strspn(p + 1, " ") + 1;
                if (strncmp(p, "->", 2) == 0)
                        continue;
                if (sscanf(p, "%15s %15s %15s %d %x:%x:%llu", kind, mode, rw, &pid, &maj, &min, &ino) != 7)
                        continue;
                if (strcmp(kind, "FLOCK") == 0 && maj == major(st.st_dev) && min == minor(st.st_dev) &&
                    ino == (unsigned long long) st.st_ino)
                        return pid > 0 ? pid : 0;
        }
        return 0;
}

int nl_pin_lock_take(const char *root, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        pid_t holder;

        fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot open pin root %s to lock it: %m", root);
        /* A daemon killed a moment ago may still hold it through a loader
         * child forked just then (it closes every inherited fd first thing)
         * or while its exit closes thousands of link fds: wait a little. */
        for (int i = 0; i < LOCK_TRIES; i++) {
                if (flock(fd, LOCK_EX | LOCK_NB) >= 0)
                        return TAKE_FD(fd);
                if (errno != EWOULDBLOCK)
                        return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot lock pin root %s: %m", root);
                (void) usleep(LOCK_TRY_USEC);
        }

        holder = nl_pin_lock_holder(fd);
        if (holder > 0)
                return nl_error_set(e, NL_ERR_FAILED, -EWOULDBLOCK,
                                    "Pin root %s is in use: process %d (another netnslinkd?) holds its lock; "
                                    "refusing to start, so as not to change links under it",
                                    root, (int) holder);
        return nl_error_set(e, NL_ERR_FAILED, -EWOULDBLOCK,
                            "Pin root %s is in use: another process holds its lock (its pid is not visible "
                            "from this pid namespace); refusing to start, so as not to change links under it",
                            root);
}
