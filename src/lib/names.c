/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "names.h"

#define LETTERS_DIGITS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static const char *const attach_type_names[_NL_ATTACH_MAX] = {
        [NL_ATTACH_SK_LOOKUP] = "sk_lookup",
        [NL_ATTACH_FLOW_DISSECTOR] = "flow_dissector",
};

const char *nl_attach_type_to_string(NlAttachType t) {
        if (t < 0 || t >= _NL_ATTACH_MAX)
                return NULL;
        return attach_type_names[t];
}

NlAttachType nl_attach_type_from_string(const char *s) {
        if (!s)
                return _NL_ATTACH_INVALID;
        for (int t = 0; t < _NL_ATTACH_MAX; t++)
                if (strcmp(attach_type_names[t], s) == 0)
                        return t;
        return _NL_ATTACH_INVALID;
}

int nl_attach_type_parse(const char *s, NlAttachType *ret, NlError *e) {
        char buf[80];
        NlAttachType t = nl_attach_type_from_string(s);

        if (t < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid attach type '%s': expected sk_lookup or flow_dissector",
                                    nl_printable(s, buf, sizeof(buf)));
        *ret = t;
        return 0;
}

enum bpf_attach_type nl_attach_type_to_bpf(NlAttachType t) {
        return t == NL_ATTACH_SK_LOOKUP ? BPF_SK_LOOKUP : BPF_FLOW_DISSECTOR;
}

enum bpf_prog_type nl_attach_type_prog_type(NlAttachType t) {
        return t == NL_ATTACH_SK_LOOKUP ? BPF_PROG_TYPE_SK_LOOKUP : BPF_PROG_TYPE_FLOW_DISSECTOR;
}

NlAttachType nl_attach_type_from_bpf(enum bpf_attach_type t) {
        switch (t) {
        case BPF_SK_LOOKUP:
                return NL_ATTACH_SK_LOOKUP;
        case BPF_FLOW_DISSECTOR:
                return NL_ATTACH_FLOW_DISSECTOR;
        default:
                return _NL_ATTACH_INVALID;
        }
}

unsigned nl_attach_type_max_links(NlAttachType t) {
        return t == NL_ATTACH_SK_LOOKUP ? NL_SK_LOOKUP_MAX : NL_FLOW_DISSECTOR_MAX;
}

bool nl_link_name_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n < 1 || n > NL_LINK_NAME_MAX)
                return false;
        return strspn(name, LETTERS_DIGITS "_-") == n;
}

int nl_link_name_check(const char *name, NlError *e) {
        char buf[80];

        if (nl_link_name_is_valid(name))
                return 0;
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid link name '%s': expected 1 to %d characters of [A-Za-z0-9_-]",
                            nl_printable(name, buf, sizeof(buf)), NL_LINK_NAME_MAX);
}

const char *nl_printable(const char *s, char *buf, size_t n) {
        size_t i;

        if (n == 0)
                return "";
        if (!s) {
                snprintf(buf, n, "(null)");
                return buf;
        }
        for (i = 0; s[i] && i + 1 < n; i++) {
                unsigned char c = (unsigned char) s[i];
                buf[i] = (char) ((c < 0x20 || c >= 0x7f) ? '?' : c);
        }
        buf[i] = 0;
        /* Mark truncation so that a long hostile string does not look whole. */
        if (s[i] && n > 4)
                memcpy(buf + n - 4, "...", 4);
        return buf;
}

bool nl_cni_container_id_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        /* libcni's rule: a letter or digit first. */
        if (n < 1 || !strchr(LETTERS_DIGITS, s[0]))
                return false;
        return strspn(s, LETTERS_DIGITS "_.-") == n;
}

bool nl_cni_ifname_is_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n < 1 || n > NL_CNI_IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == '/' || s[i] == ':')
                        return false;
        return true;
}

bool nl_link_origin_is_valid(const char *s) {
        char id[NL_LINK_ORIGIN_MAX];
        const char *slash;

        if (!s || strncmp(s, NL_LINK_ORIGIN_CNI_PREFIX, STRLEN(NL_LINK_ORIGIN_CNI_PREFIX)) != 0 ||
            strlen(s) >= NL_LINK_ORIGIN_MAX)
                return false;
        s += STRLEN(NL_LINK_ORIGIN_CNI_PREFIX);
        slash = strchr(s, '/');
        if (!slash)
                return false;
        snprintf(id, sizeof(id), "%.*s", (int) (slash - s), s);
        return nl_cni_container_id_is_valid(id) && nl_cni_ifname_is_valid(slash + 1);
}

int nl_link_origin_check(const char *s, NlError *e) {
        char buf[80];

        if (nl_link_origin_is_valid(s))
                return 0;
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid source '%s': expected " NL_LINK_ORIGIN_CNI_PREFIX
                            "<container id>/<interface name>, as CNI allows them",
                            nl_printable(s, buf, sizeof(buf)));
}
