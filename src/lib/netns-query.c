/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "link-ops.h"
#include "macro.h"
#include "netns-query.h"

/* The kernel's limits: 64 sk_lookup programs, 1 flow_dissector; room to
 * spare so that a later kernel's larger limit is not cut short silently. */
#define HOOK_PROGS_MAX 256

int nl_netns_query_hooks(int netns_fd, NlHookProg **ret, size_t *ret_n) {
        static const NlAttachType types[] = { NL_ATTACH_SK_LOOKUP, NL_ATTACH_FLOW_DISSECTOR };
        _cleanup_free_ NlHookProg *progs = calloc(HOOK_PROGS_MAX * ELEMENTSOF(types), sizeof(NlHookProg));
        size_t n = 0;

        if (!progs)
                return -ENOMEM;
        for (size_t t = 0; t < ELEMENTSOF(types); t++) {
                uint32_t ids[HOOK_PROGS_MAX], count = ELEMENTSOF(ids);
                int r = nl_netns_query_progs(netns_fd, types[t], ids, &count);

                if (r < 0)
                        return r;
                for (uint32_t i = 0; i < count; i++) {
                        NlHookProg *p = &progs[n++];

                        *p = (NlHookProg) { .type = types[t], .order = i, .prog_id = ids[i] };
                        /* A program detached between the query and here has
                         * no name left: it is still shown where it ran. */
                        (void) nl_prog_describe(ids[i], p->prog_name, p->prog_tag);
                }
        }
        *ret = TAKE_PTR(progs);
        *ret_n = n;
        return 0;
}
