/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Steering interface's arguments: protocol, prefix, port and label,
 * one by one and together through nl_steer_binding_parse, as AddBinding,
 * RemoveBinding, SetBindings and RegisterSocket take them.
 *
 * Input: a flags byte, two bytes of port (the D-Bus 'q'), then protocol,
 * prefix, port (as text, the CLI's form) and label, separated by NULs.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "steer.h"

static bool label_ok(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > NL_STEER_LABEL_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.'))
                        return false;
        }
        return true;
}

static void check_error(int r, const NlError *e) {
        FUZZ_CHECK(r < 0);
        FUZZ_CHECK(e->kind == NL_ERR_INVALID_ARGS && e->message[0]);
}

/* A parsed prefix prints back into something that parses to the same. */
static void check_prefix_roundtrip(uint8_t family, const uint8_t addr[16], uint8_t len) {
        NlSteerBinding b = { .family = family, .prefixlen = len };
        uint8_t family2, addr2[16], len2;
        char buf[128];
        NlError e = {};

        FUZZ_CHECK(family == AF_INET || family == AF_INET6);
        FUZZ_CHECK(len <= (family == AF_INET ? 32 : 128));
        if (family == AF_INET)
                for (int i = 4; i < 16; i++)
                        FUZZ_CHECK(addr[i] == 0);
        memcpy(b.addr, addr, 16);
        nl_steer_prefix_to_string(&b, buf, sizeof(buf));
        FUZZ_CHECK(nl_steer_prefix_parse(buf, &family2, addr2, &len2, &e) == 0);
        FUZZ_CHECK(family2 == family && len2 == len && memcmp(addr2, addr, 16) == 0);

        /* And a too small buffer is truncated, not overrun. */
        char *small = malloc(8);
        if (!small)
                abort();
        nl_steer_prefix_to_string(&b, small, 8);
        FUZZ_CHECK(strlen(small) < 8);
        free(small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        FuzzInput in = { data, size };
        uint8_t flags = fuzz_take_u8(&in);
        uint16_t qport = fuzz_take_u16(&in);
        char *proto = fuzz_take_string(&in), *prefix = fuzz_take_string(&in);
        char *port = fuzz_take_string(&in), *label = fuzz_take_string(&in);
        NlError *ep = (flags & 1) ? NULL : &(NlError) {};
        uint8_t protocol = 0, family = 0, addr[16], len = 0;
        uint16_t p16 = 0;
        bool proto_ok, prefix_ok;
        NlSteerBinding b;
        int r;

        r = nl_steer_protocol_parse(proto, &protocol, ep);
        proto_ok = r == 0;
        FUZZ_CHECK(proto_ok == (strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0));
        if (proto_ok)
                FUZZ_CHECK(strcmp(nl_steer_protocol_to_string(protocol), proto) == 0);
        else if (ep)
                check_error(r, ep);

        if (ep)
                nl_error_clear(ep);
        r = nl_steer_prefix_parse(prefix, &family, addr, &len, ep);
        prefix_ok = r == 0;
        if (prefix_ok)
                check_prefix_roundtrip(family, addr, len);
        else if (ep)
                check_error(r, ep);

        if (ep)
                nl_error_clear(ep);
        r = nl_steer_port_parse(port, &p16, ep);
        if (r == 0) {
                unsigned long v = strtoul(port, NULL, 10);
                FUZZ_CHECK(*port && strspn(port, "0123456789") == strlen(port));
                FUZZ_CHECK(v <= 65535 && v == p16);
        } else if (ep)
                check_error(r, ep);

        if (ep)
                nl_error_clear(ep);
        r = nl_steer_label_check(label, ep);
        FUZZ_CHECK((r == 0) == label_ok(label));
        FUZZ_CHECK(nl_steer_label_is_valid(label) == label_ok(label));
        if (r < 0 && ep)
                check_error(r, ep);

        /* All at once, with or without a label (RemoveBinding has none). */
        const char *l = (flags & 2) ? NULL : label;
        if (ep)
                nl_error_clear(ep);
        memset(&b, 0xaa, sizeof(b));
        r = nl_steer_binding_parse(proto, prefix, qport, l, &b, ep);
        FUZZ_CHECK((r == 0) == (proto_ok && prefix_ok && (!l || label_ok(l))));
        if (r == 0) {
                FUZZ_CHECK(b.protocol == protocol && b.family == family && b.prefixlen == len);
                FUZZ_CHECK(memcmp(b.addr, addr, 16) == 0 && b.port == qport);
                FUZZ_CHECK(l ? strcmp(b.label, l) == 0 : b.label[0] == 0);
        } else if (ep)
                check_error(r, ep);

        free(proto);
        free(prefix);
        free(port);
        free(label);
        return 0;
}
