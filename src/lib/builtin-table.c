/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The table of built-in programs and its checks, apart from their loaders
 * (builtins.c): what links here needs neither libbpf nor the skeletons, so
 * that the CNI plugin, started once per pod, checks a configuration by the
 * daemon's own rules without loading them.
 */
#include <string.h>

#include "builtins.h"
#include "macro.h"

/* prog_name: the programs' names in the BPF objects (BPF_OBJ_NAME_LEN
 * limits them). */
static const NlBuiltin builtins[] = {
        { "steer", NL_ATTACH_SK_LOOKUP, true,
          "sk_lookup socket dispatcher: (protocol, prefix, port) bindings to registered sockets",
          "steer_lookup" },
        { "flow", NL_ATTACH_FLOW_DISSECTOR, false,
          "flow dissector: VLAN, MPLS, IPv4, IPv6 and extension headers, GRE, IPIP, VXLAN",
          "flow_dissect" },
};

const NlBuiltin *nl_builtin_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(builtins); i++)
                if (name && strcmp(builtins[i].name, name) == 0)
                        return &builtins[i];
        return NULL;
}

const NlBuiltin *nl_builtin_all(size_t *n) {
        *n = ELEMENTSOF(builtins);
        return builtins;
}

const NlBuiltin *nl_builtin_from_source(const char *source) {
        return source && strncmp(source, "builtin:", 8) == 0 ? nl_builtin_find(source + 8) : NULL;
}

int nl_builtin_get(const char *name, NlAttachType type, const NlBuiltin **ret, NlError *e) {
        const NlBuiltin *b = nl_builtin_find(name);
        char buf[80];

        if (!b)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ENOENT,
                                    "No built-in program '%s' (there are: steer, flow)",
                                    nl_printable(name, buf, sizeof(buf)));
        if (b->type != type)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE,
                                    "Built-in program '%s' is a %s program, not %s", b->name,
                                    nl_attach_type_to_string(b->type), nl_attach_type_to_string(type));
        *ret = b;
        return 0;
}

int nl_builtin_check(const char *name, NlAttachType type, NlError *e) {
        const NlBuiltin *b;

        return nl_builtin_get(name, type, &b, e);
}

