/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Link names and attach types, the second and third argument of every
 * Manager method, and nl_printable, which quotes any hostile string in an
 * error message.
 *
 * Input: one byte choosing nl_printable's buffer size, then the string.
 */
#include <string.h>

#include "fuzz.h"
#include "names.h"

static bool name_ok(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > NL_LINK_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-'))
                        return false;
        }
        return true;
}

static void check_printable(const char *s, size_t n) {
        char *buf = malloc(n ? n : 1);
        const char *out;

        if (!buf)
                abort();
        out = nl_printable(s, buf, n);
        if (n > 0) {
                size_t len = strlen(out);
                FUZZ_CHECK(len < n);
                for (size_t i = 0; i < len; i++)
                        FUZZ_CHECK(out[i] >= 0x20 && out[i] < 0x7f);
                if (strlen(s) < n) {
                        /* Whole: every byte kept or replaced by '?'. */
                        FUZZ_CHECK(len == strlen(s));
                        for (size_t i = 0; i < len; i++)
                                FUZZ_CHECK(out[i] == s[i] || out[i] == '?');
                }
        }
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        size_t n = fuzz_take_u8(&in);
        char *s = fuzz_take_string(&in);
        NlAttachType t;
        NlError e = {};
        int r;

        /* Link names. */
        FUZZ_CHECK(nl_link_name_is_valid(s) == name_ok(s));
        r = nl_link_name_check(s, &e);
        FUZZ_CHECK((r == 0) == name_ok(s));
        if (r < 0)
                FUZZ_CHECK(e.kind == NL_ERR_INVALID_ARGS && e.message[0]);

        /* Attach types: only the two contract names, and they round-trip. */
        nl_error_clear(&e);
        t = nl_attach_type_from_string(s);
        r = nl_attach_type_parse(s, &t, &e);
        if (r == 0) {
                FUZZ_CHECK(t >= 0 && t < _NL_ATTACH_MAX);
                FUZZ_CHECK(strcmp(nl_attach_type_to_string(t), s) == 0);
                FUZZ_CHECK(nl_attach_type_from_bpf(nl_attach_type_to_bpf(t)) == t);
                FUZZ_CHECK(nl_attach_type_max_links(t) >= 1);
        } else {
                FUZZ_CHECK(nl_attach_type_from_string(s) == _NL_ATTACH_INVALID);
                FUZZ_CHECK(strcmp(s, "sk_lookup") != 0 && strcmp(s, "flow_dissector") != 0);
                FUZZ_CHECK(e.kind == NL_ERR_INVALID_ARGS && e.message[0]);
        }
        /* Numbers from the kernel (bpf_link_info) are outside input too. */
        if (strlen(s) >= 4) {
                int v;
                memcpy(&v, s, sizeof(v));
                FUZZ_CHECK(nl_attach_type_to_string((NlAttachType) v) == NULL || (v >= 0 && v < _NL_ATTACH_MAX));
                t = nl_attach_type_from_bpf((enum bpf_attach_type) v);
                FUZZ_CHECK(t == _NL_ATTACH_INVALID || nl_attach_type_to_bpf(t) == (enum bpf_attach_type) v);
        }

        check_printable(s, n);
        check_printable(s, 80);
        free(s);
        return 0;
}
