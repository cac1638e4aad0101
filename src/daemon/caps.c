/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stddef.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "caps.h"
#include "macro.h"

static const cap_value_t kept[] = { CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN, CAP_SYS_PTRACE };

static bool is_kept(cap_value_t c) {
        for (size_t i = 0; i < ELEMENTSOF(kept); i++)
                if (kept[i] == c)
                        return true;
        return false;
}

int caps_drop_to_needed(char *kept_desc, size_t size) {
        cap_t current, want;
        cap_value_t have[ELEMENTSOF(kept)];
        int n = 0, r = 0;

        current = cap_get_proc();
        if (!current)
                return negative_errno();
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                cap_flag_value_t v = CAP_CLEAR;
                if (cap_get_flag(current, kept[i], CAP_PERMITTED, &v) == 0 && v == CAP_SET)
                        have[n++] = kept[i];
        }

        /* The bounding set first, while CAP_SETPCAP is still ours. */
        for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
                if (!is_kept(c) && prctl(PR_CAPBSET_READ, c) > 0)
                        (void) prctl(PR_CAPBSET_DROP, c);
        (void) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);

        want = cap_init();
        if (!want) {
                cap_free(current);
                return negative_errno();
        }
        if (n > 0 &&
            (cap_set_flag(want, CAP_PERMITTED, n, have, CAP_SET) < 0 ||
             cap_set_flag(want, CAP_EFFECTIVE, n, have, CAP_SET) < 0))
                r = negative_errno();
        if (r >= 0 && cap_set_proc(want) < 0)
                r = negative_errno();

        if (kept_desc && size > 0) {
                kept_desc[0] = 0;
                for (int i = 0; i < n; i++) {
                        char *name = cap_to_name(have[i]);
                        size_t len = strlen(kept_desc);
                        snprintf(kept_desc + len, size - len, "%s%s", i ? "," : "", name ? name : "?");
                        cap_free(name);
                }
        }
        cap_free(want);
        cap_free(current);
        return r < 0 ? r : n;
}
