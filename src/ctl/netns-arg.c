/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netns-arg.h"
#include "self-ref.h"

const char *ctl_netns_arg(const char *ref, char *buf, size_t size) {
        NlSelfRef kind;
        char rest[4096];
        int n;

        kind = nl_self_ref(ref, 0, rest, sizeof(rest));
        if (kind == NL_SELF_NONE)
                return ref;
        /* This process has one thread: its netns is the thread's. */
        if (kind != NL_SELF_FD && strcmp(rest, "ns/net") == 0)
                n = snprintf(buf, size, "pid:%d", (int) getpid());
        else if (kind == NL_SELF_THREAD)
                n = snprintf(buf, size, "/proc/%d/task/%d/%s", (int) getpid(), (int) gettid(), rest);
        else
                n = snprintf(buf, size, "/proc/%d/%s%s", (int) getpid(), kind == NL_SELF_FD ? "fd/" : "", rest);
        return n < 0 || (size_t) n >= size ? ref : buf;
}
