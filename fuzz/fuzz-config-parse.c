/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Configuration files (src/lib/config-parse.c), whole: the input is the
 * file. A file is accepted with a complete link, or refused with a message
 * that names the file and a line; and what is accepted holds only values
 * the D-Bus API's validators accept.
 */
#include <string.h>

#include "builtins.h"
#include "config.h"
#include "fuzz.h"

static void check_accepted(const NlConfigLink *l) {
        FUZZ_CHECK(l->n_netns >= 1 && l->netns[l->n_netns] == NULL);
        for (size_t i = 0; i < l->n_netns; i++)
                FUZZ_CHECK(l->netns[i][0] != 0 && strncmp(l->netns[i], "pid:", 4) != 0);
        FUZZ_CHECK(l->type >= 0 && l->type < _NL_ATTACH_MAX);
        FUZZ_CHECK(nl_link_name_is_valid(l->name));
        FUZZ_CHECK(!!l->builtin != !!l->object_path);
        if (l->builtin)
                FUZZ_CHECK(nl_builtin_check(l->builtin, l->type, NULL) == 0);
        else
                FUZZ_CHECK(l->object_path[0] == '/' && l->object_program && l->object_program[0]);
        FUZZ_CHECK(l->n_bindings == 0 || (l->builtin && strcmp(l->builtin, "steer") == 0));
        for (size_t i = 0; i < l->n_bindings; i++) {
                FUZZ_CHECK(nl_steer_label_is_valid(l->bindings[i].label));
                for (size_t j = 0; j < i; j++)
                        FUZZ_CHECK(l->bindings[i].port != l->bindings[j].port ||
                                   l->bindings[i].prefixlen != l->bindings[j].prefixlen ||
                                   l->bindings[i].protocol != l->bindings[j].protocol ||
                                   l->bindings[i].family != l->bindings[j].family ||
                                   memcmp(l->bindings[i].addr, l->bindings[j].addr, 16) != 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NlConfigLink *l = NULL;
        NlError e = {};
        FILE *f;
        int r;

        if (size == 0)
                return 0;       /* fmemopen refuses an empty buffer */
        f = fmemopen((void *) data, size, "r");
        if (!f)
                return 0;
        r = nl_config_parse_stream(f, "/f.conf", &l, &e);
        fclose(f);
        if (r < 0) {
                FUZZ_CHECK(l == NULL);
                FUZZ_CHECK(e.message[0]);
                if (e.kind == NL_ERR_INVALID_ARGS)
                        FUZZ_CHECK(strncmp(e.message, "/f.conf:", 8) == 0);
                return 0;
        }
        FUZZ_CHECK(l != NULL);
        check_accepted(l);
        nl_config_link_free(l);
        return 0;
}
