/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "names.h"
#include "steer-private.h"

/* Steering input: protocol, prefix, port and label, as callers type them,
 * and the same checks for a binding built by hand. */

int nl_steer_protocol_parse(const char *s, uint8_t *ret, NlError *e) {
        char buf[40];

        if (s && strcmp(s, "tcp") == 0)
                *ret = IPPROTO_TCP;
        else if (s && strcmp(s, "udp") == 0)
                *ret = IPPROTO_UDP;
        else
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid protocol '%s': expected tcp or udp",
                                    nl_printable(s, buf, sizeof(buf)));
        return 0;
}

const char *nl_steer_protocol_to_string(uint8_t protocol) {
        return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "?";
}

unsigned addr_bytes(uint8_t family) {
        return family == AF_INET ? 4 : 16;
}

static bool host_bits_zero(const uint8_t *addr, unsigned nbytes, unsigned len) {
        for (unsigned bit = len; bit < nbytes * 8; bit++)
                if (addr[bit / 8] & (0x80 >> (bit % 8)))
                        return false;
        return true;
}

int nl_steer_prefix_parse(const char *s, uint8_t *ret_family, uint8_t ret_addr[16],
                          uint8_t *ret_prefixlen, NlError *e) {
        char buf[80], buf2[80], host[INET6_ADDRSTRLEN + 1];
        uint8_t addr[16] = {};
        const char *slash, *p;
        unsigned len = 0, max;
        uint8_t family;

        if (!s || !(slash = strchr(s, '/')) || (size_t) (slash - s) >= sizeof(host) || !slash[1] ||
            strlen(slash + 1) > 3)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': expected ADDRESS/LENGTH, as 10.0.0.0/8 or 2001:db8::/32",
                                    nl_printable(s, buf, sizeof(buf)));
        memcpy(host, s, slash - s);
        host[slash - s] = 0;
        if (inet_pton(AF_INET, host, addr) == 1)
                family = AF_INET;
        else if (inet_pton(AF_INET6, host, addr) == 1)
                family = AF_INET6;
        else
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': '%s' is not an IPv4 or IPv6 address",
                                    nl_printable(s, buf, sizeof(buf)), nl_printable(host, buf2, sizeof(buf2)));
        for (p = slash + 1; *p; p++) {
                if (*p < '0' || *p > '9')
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid prefix '%s': the length is not a number",
                                            nl_printable(s, buf, sizeof(buf)));
                len = len * 10 + (unsigned) (*p - '0');
        }
        max = addr_bytes(family) * 8;
        if (len > max)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': an %s prefix is at most /%u",
                                    nl_printable(s, buf, sizeof(buf)), family == AF_INET ? "IPv4" : "IPv6", max);
        if (!host_bits_zero(addr, addr_bytes(family), len))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid prefix '%s': bits are set past the /%u",
                                    nl_printable(s, buf, sizeof(buf)), len);
        *ret_family = family;
        memcpy(ret_addr, addr, 16);
        *ret_prefixlen = (uint8_t) len;
        return 0;
}

int nl_steer_port_parse(const char *s, uint16_t *ret, NlError *e) {
        unsigned long v = 0;
        char buf[40];

        if (!s || !*s || strlen(s) > 5)
                goto bad;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        goto bad;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        if (v > 65535)
                goto bad;
        *ret = (uint16_t) v;
        return 0;
bad:
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid port '%s': expected 0 (every port) to 65535",
                            nl_printable(s, buf, sizeof(buf)));
}

bool nl_steer_label_is_valid(const char *label) {
        size_t n;

        if (!label)
                return false;
        n = strlen(label);
        if (n < 1 || n > NL_STEER_LABEL_MAX)
                return false;
        return strspn(label, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int nl_steer_label_check(const char *label, NlError *e) {
        char buf[80];

        if (nl_steer_label_is_valid(label))
                return 0;
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid label '%s': expected 1 to %d characters of [A-Za-z0-9_.-]",
                            nl_printable(label, buf, sizeof(buf)), NL_STEER_LABEL_MAX);
}

int nl_steer_binding_parse(const char *protocol, const char *prefix, uint16_t port,
                           const char *label, NlSteerBinding *ret, NlError *e) {
        NlSteerBinding b = { .port = port };
        int r;

        r = nl_steer_protocol_parse(protocol, &b.protocol, e);
        if (r < 0)
                return r;
        r = nl_steer_prefix_parse(prefix, &b.family, b.addr, &b.prefixlen, e);
        if (r < 0)
                return r;
        if (label) {
                r = nl_steer_label_check(label, e);
                if (r < 0)
                        return r;
                strcpy(b.label, label);
        }
        *ret = b;
        return 0;
}

const char *nl_steer_prefix_to_string(const NlSteerBinding *b, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN];

        if (!inet_ntop(b->family, b->addr, a, sizeof(a)))
                snprintf(a, sizeof(a), "?");
        snprintf(buf, size, "%s/%u", a, b->prefixlen);
        return buf;
}

/* Checks a binding built by hand rather than parsed. */
int binding_check(const NlSteerBinding *b, bool want_label, NlError *e) {
        char buf[80];

        if (b->protocol != IPPROTO_TCP && b->protocol != IPPROTO_UDP)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid protocol %u: expected tcp or udp",
                                    b->protocol);
        if (b->family != AF_INET && b->family != AF_INET6)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EAFNOSUPPORT, "Invalid address family %u", b->family);
        if (b->prefixlen > addr_bytes(b->family) * 8)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid prefix length /%u", b->prefixlen);
        if (!host_bits_zero(b->addr, addr_bytes(b->family), b->prefixlen))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid prefix %s: bits are set past the /%u",
                                    nl_steer_prefix_to_string(b, buf, sizeof(buf)), b->prefixlen);
        if (want_label)
                return nl_steer_label_check(b->label, e);
        return 0;
}
