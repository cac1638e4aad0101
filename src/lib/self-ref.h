/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/*
 * Paths that name a file of whichever process opens them: /proc/self/...,
 * /proc/thread-self/... and /dev/fd/N (a link to /proc/self/fd/N). A netns
 * reference is resolved by the daemon, so such a path names the daemon's
 * namespace, never the caller's: the daemon refuses them, and netnslinkctl
 * turns them into its own pid before sending (header-only: netnslinkctl
 * does not link the core library).
 */
typedef enum NlSelfRef {
        NL_SELF_NONE,
        NL_SELF_PROC,           /* /proc/self/REST */
        NL_SELF_THREAD,         /* /proc/thread-self/REST */
        NL_SELF_FD,             /* /dev/fd/REST */
        NL_SELF_PID,            /* /proc/<own_pid>/REST */
} NlSelfRef;

/* Which kind ref is, and in rest (size bytes) what follows the prefix.
 * Empty and "." components are dropped first ("//proc/./self" is
 * /proc/self); ".." is refused before this is asked. With own_pid > 0,
 * /proc/<own_pid> counts too. */
static inline NlSelfRef nl_self_ref(const char *ref, pid_t own_pid, char *rest, size_t size) {
        static const struct {
                const char *prefix;
                NlSelfRef kind;
        } prefixes[] = {
                { "/proc/self", NL_SELF_PROC },
                { "/proc/thread-self", NL_SELF_THREAD },
                { "/dev/fd", NL_SELF_FD },
        };
        char norm[4096];
        size_t n = 0;

        if (!ref || ref[0] != '/')
                return NL_SELF_NONE;
        for (const char *c = ref; *c;) {
                size_t len;

                c += strspn(c, "/");
                len = strcspn(c, "/");
                if (len == 0 || (len == 1 && c[0] == '.')) {
                        c += len;
                        continue;
                }
                if (n + 1 + len >= sizeof(norm))
                        return NL_SELF_NONE;
                norm[n++] = '/';
                memcpy(norm + n, c, len);
                n += len;
                c += len;
        }
        norm[n] = 0;
        for (size_t i = 0; i <= sizeof(prefixes) / sizeof(prefixes[0]); i++) {
                char pid_prefix[32];
                const char *prefix = pid_prefix;
                size_t p;

                if (i < sizeof(prefixes) / sizeof(prefixes[0]))
                        prefix = prefixes[i].prefix;
                else if (own_pid > 0)
                        snprintf(pid_prefix, sizeof(pid_prefix), "/proc/%d", (int) own_pid);
                else
                        break;
                p = strlen(prefix);
                if (strncmp(norm, prefix, p) == 0 && (norm[p] == '/' || norm[p] == 0)) {
                        snprintf(rest, size, "%s", norm[p] ? norm + p + 1 : "");
                        return prefix == pid_prefix ? NL_SELF_PID : prefixes[i].kind;
                }
        }
        return NL_SELF_NONE;
}
