/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "explain.h"
#include "macro.h"
#include "names.h"

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int nl_endpoint_parse(const char *s, NlEndpoint *ret, NlError *e) {
        char buf[80], host[INET6_ADDRSTRLEN + 1];
        const char *colon, *start, *end;
        NlEndpoint ep = {};
        unsigned long port;
        char *pend;

        if (!s)
                s = "";
        if (s[0] == '[') {
                start = s + 1;
                end = strchr(start, ']');
                colon = end && end[1] == ':' ? end + 1 : NULL;
        } else {
                start = s;
                colon = strrchr(s, ':');
                end = colon;
        }
        if (!end || !colon || end <= start || (size_t) (end - start) >= sizeof(host) || !colon[1])
                goto invalid;
        memcpy(host, start, end - start);
        host[end - start] = 0;
        if (s[0] != '[' && inet_pton(AF_INET, host, ep.addr) == 1)
                ep.family = AF_INET;
        else if (s[0] == '[' && inet_pton(AF_INET6, host, ep.addr) == 1) {
                ep.family = AF_INET6;
                /* ::ffff:a.b.c.d reaches the lookup as IPv4. */
                if (memcmp(ep.addr, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
                        memmove(ep.addr, ep.addr + 12, 4);
                        memset(ep.addr + 4, 0, 12);
                        ep.family = AF_INET;
                }
        } else
                goto invalid;
        errno = 0;
        port = strtoul(colon + 1, &pend, 10);
        if (errno || *pend || colon[1] < '0' || colon[1] > '9' || port > 65535)
                goto invalid;
        ep.port = (uint16_t) port;
        *ret = ep;
        return 0;
invalid:
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Invalid address '%s': expected ADDRESS:PORT, IPv6 as [ADDRESS]:PORT",
                            nl_printable(s, buf, sizeof(buf)));
}

const char *nl_endpoint_to_string(const NlEndpoint *ep, char *buf, size_t size) {
        char host[INET6_ADDRSTRLEN];

        if (!inet_ntop(ep->family, ep->addr, host, sizeof(host)))
                snprintf(host, sizeof(host), "?");
        snprintf(buf, size, ep->family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, ep->port);
        return buf;
}

int nl_lookup_query_parse(const char *protocol, const char *src, const char *dst, NlLookupQuery *ret, NlError *e) {
        NlLookupQuery q = {};
        int r;

        r = nl_steer_protocol_parse(protocol, &q.protocol, e);
        if (r >= 0)
                r = nl_endpoint_parse(src, &q.src, e);
        if (r >= 0)
                r = nl_endpoint_parse(dst, &q.dst, e);
        if (r < 0)
                return r;
        if (q.src.family != q.dst.family)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Source and destination must both be IPv4 (or IPv4-mapped) or both IPv6");
        *ret = q;
        return 0;
}

int nl_sk_lookup_test_run(uint32_t prog_id, const NlLookupQuery *q, NlLookupStep *ret) {
        _cleanup_close_ int fd = bpf_prog_get_fd_by_id(prog_id);
        struct bpf_sk_lookup ctx = {
                .family = q->dst.family,
                .protocol = q->protocol,
                .remote_port = htons(q->src.port),      /* network order, as the kernel gives it */
                .local_port = q->dst.port,              /* host order */
        };
        LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
                    .ctx_size_out = sizeof(ctx), .repeat = 1);
        int r;

        if (fd < 0)
                return fd;
        if (q->dst.family == AF_INET) {
                memcpy(&ctx.remote_ip4, q->src.addr, 4);
                memcpy(&ctx.local_ip4, q->dst.addr, 4);
        } else {
                memcpy(ctx.remote_ip6, q->src.addr, 16);
                memcpy(ctx.local_ip6, q->dst.addr, 16);
        }
        *ret = (NlLookupStep) { .prog_id = prog_id };
        r = bpf_prog_test_run_opts(fd, &opts);
        if (r == -EOPNOTSUPP) {
                /* The kernel refuses to give a cookie for a socket of a
                 * reuseport group selected without NO_REUSEPORT: one of
                 * the group takes it, the group's hash decides which. */
                ret->pass = ret->selected = true;
                return 0;
        }
        if (r < 0)
                return r;
        /* With one program, the test run's verdict is the chain's rule
         * applied to it: SK_PASS only with a socket kept, or no drop. */
        ret->pass = opts.retval == SK_PASS;
        ret->cookie = ctx.cookie;
        ret->selected = ret->pass && ctx.cookie != 0;
        return 0;
}

NlLookupResult nl_sk_lookup_chain(const NlLookupStep *steps, size_t n, size_t *ret_winner) {
        bool all_pass = true, selected = false;

        for (size_t i = 0; i < n; i++) {
                if (steps[i].pass && steps[i].selected) {
                        selected = true;
                        if (ret_winner)
                                *ret_winner = i;
                } else if (!steps[i].pass)
                        all_pass = false;
        }
        if (selected)
                return NL_LOOKUP_SOCKET;
        return all_pass ? NL_LOOKUP_KERNEL : NL_LOOKUP_DROP;
}

const char *nl_lookup_result_to_string(NlLookupResult r) {
        return r == NL_LOOKUP_SOCKET ? "socket" : r == NL_LOOKUP_DROP ? "drop" : "kernel-lookup";
}

static bool prefix_covers(const NlSteerBinding *b, const uint8_t *addr) {
        unsigned full = b->prefixlen / 8, rest = b->prefixlen % 8;

        if (memcmp(b->addr, addr, full) != 0)
                return false;
        return rest == 0 || ((b->addr[full] ^ addr[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

const NlSteerBinding *nl_steer_match(const NlSteerBinding *b, size_t n, const NlLookupQuery *q) {
        const NlSteerBinding *best = NULL;

        for (size_t i = 0; i < n; i++) {
                const NlSteerBinding *c = &b[i];

                if (c->protocol != q->protocol || c->family != q->dst.family ||
                    (c->port != 0 && c->port != q->dst.port) || !prefix_covers(c, q->dst.addr))
                        continue;
                if (!best || c->prefixlen > best->prefixlen ||
                    (c->prefixlen == best->prefixlen && best->port == 0 && c->port != 0))
                        best = c;
        }
        return best;
}
