/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Explain's library pieces (src/lib/explain.c), as data: addresses as an
 * operator types them, builtin:steer's choice of binding, and the kernel's
 * rule for an sk_lookup chain (BPF_PROG_SK_LOOKUP_RUN_ARRAY). The daemon's
 * use of them, against real traffic: tests/daemon/test-observe.sh. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "explain.h"
#include "macro.h"
#include "test-util.h"

static const struct {
        const char *s;
        const char *want;       /* as printed back, NULL: refused */
} endpoint_cases[] = {
        { "192.0.2.7:443", "192.0.2.7:443" },
        { "0.0.0.0:0", "0.0.0.0:0" },
        { "10.0.0.1:65535", "10.0.0.1:65535" },
        { "[2001:db8::1]:443", "[2001:db8::1]:443" },
        { "[::ffff:192.0.2.7]:443", "192.0.2.7:443" },     /* v4-mapped is IPv4 */
        { "[::ffff:0:192.0.2.7]:443", "[::ffff:0:c000:207]:443" },  /* not v4-mapped */
        { "[::1]:1", "[::1]:1" },
        { "192.0.2.7:65536", NULL },
        { "192.0.2.7:-1", NULL },
        { "192.0.2.7:", NULL },
        { "192.0.2.7", NULL },
        { "192.0.2.7:44x", NULL },
        { "192.0.2.7: 44", NULL },
        { "2001:db8::1:443", NULL },            /* IPv6 needs brackets */
        { "[192.0.2.7]:443", NULL },            /* IPv4 takes none */
        { "[2001:db8::1]443", NULL },
        { "[2001:db8::1:443", NULL },
        { "host:80", NULL },
        { "", NULL },
        { NULL, NULL },
};

static void test_endpoints(void) {
        for (size_t i = 0; i < ELEMENTSOF(endpoint_cases); i++) {
                NlEndpoint ep;
                NlError e = {};
                char buf[80];
                int r;

                test_case("endpoint '%s'", endpoint_cases[i].s ?: "(null)");
                r = nl_endpoint_parse(endpoint_cases[i].s, &ep, &e);
                if (!endpoint_cases[i].want) {
                        CHECK_ERR(r, &e, NL_ERR_INVALID_ARGS);
                        CHECK_CONTAINS(e.message, "expected ADDRESS:PORT");
                } else if (CHECK_OK(r, &e))
                        CHECK_STR_EQ(nl_endpoint_to_string(&ep, buf, sizeof(buf)), endpoint_cases[i].want);
        }
        test_case(NULL);
}

static void test_queries(void) {
        NlLookupQuery q;
        NlError e = {};

        CHECK_OK(nl_lookup_query_parse("tcp", "[::ffff:10.0.0.1]:1", "192.0.2.7:80", &q, &e), &e);
        CHECK_INT_EQ(q.dst.family, AF_INET);
        CHECK_INT_EQ(q.protocol, IPPROTO_TCP);
        CHECK_ERR(nl_lookup_query_parse("tcp", "[2001:db8::1]:1", "192.0.2.7:80", &q, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_ERR(nl_lookup_query_parse("sctp", "10.0.0.1:1", "192.0.2.7:80", &q, &e), &e, NL_ERR_INVALID_ARGS);
}

static NlSteerBinding binding(const char *proto, const char *prefix, uint16_t port, const char *label) {
        NlSteerBinding b = {};
        NlError e = {};

        CHECK_OK(nl_steer_binding_parse(proto, prefix, port, label, &b, &e), &e);
        return b;
}

static void test_steer_match(void) {
        const NlSteerBinding b[] = {
                binding("tcp", "10.0.0.0/8", 0, "wide"),
                binding("tcp", "10.1.0.0/16", 0, "mid"),
                binding("tcp", "10.1.2.0/24", 443, "tls"),      /* longer, but only port 443 */
                binding("tcp", "10.1.0.0/16", 80, "web"),
                binding("udp", "10.1.0.0/16", 0, "udp"),
                binding("tcp", "2001:db8::/32", 0, "v6"),
                binding("tcp", "2001:db8:1::/48", 22, "ssh6"),
                binding("tcp", "192.0.2.7/32", 0, "host"),
                binding("tcp", "10.1.2.128/25", 0, "odd"),      /* a prefix not on a byte */
        };
        static const struct {
                const char *proto, *dst, *want;     /* want NULL: none */
        } cases[] = {
                { "tcp", "10.9.9.9:80", "wide" },
                { "tcp", "10.1.9.9:80", "web" },            /* specific port over port 0, same prefix */
                { "tcp", "10.1.9.9:81", "mid" },
                { "tcp", "10.1.2.3:443", "tls" },           /* longest prefix */
                { "tcp", "10.1.2.3:80", "web" },            /* /24 has no port 80 nor 0: the /16 decides */
                { "tcp", "10.1.2.200:80", "odd" },          /* /25 port 0 beats /16 port 80 */
                { "tcp", "10.1.2.127:80", "web" },
                { "udp", "10.1.2.3:443", "udp" },
                { "udp", "10.9.9.9:53", NULL },
                { "tcp", "11.0.0.1:80", NULL },
                { "tcp", "192.0.2.7:1", "host" },
                { "tcp", "192.0.2.8:1", NULL },
                { "tcp", "[::ffff:192.0.2.7]:1", "host" },
                { "tcp", "[2001:db8:1::5]:22", "ssh6" },
                { "tcp", "[2001:db8:1::5]:23", "v6" },
                { "tcp", "[2001:db9::5]:22", NULL },
                { "udp", "[2001:db8::5]:22", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const NlSteerBinding *m;
                NlLookupQuery q;
                NlError e = {};
                bool v6;

                test_case("steer match %s %s", cases[i].proto, cases[i].dst);
                /* A source of the family the destination is taken as. */
                v6 = cases[i].dst[0] == '[' && strncmp(cases[i].dst, "[::ffff:", 8) != 0;
                if (!CHECK_OK(nl_lookup_query_parse(cases[i].proto, v6 ? "[::1]:1" : "127.0.0.1:1", cases[i].dst,
                                                    &q, &e), &e))
                        continue;
                m = nl_steer_match(b, ELEMENTSOF(b), &q);
                CHECK_STR_EQ(m ? m->label : "(none)", cases[i].want ?: "(none)");
        }
        test_case(NULL);
}

#define PASS_SK { .pass = true, .selected = true }
#define PASS { .pass = true }
#define DROP { .pass = false }

static void test_chain(void) {
        static const struct {
                const char *name;
                NlLookupStep steps[4];
                size_t n;
                NlLookupResult want;
                size_t winner;
        } cases[] = {
                { "no programs", {}, 0, NL_LOOKUP_KERNEL, 0 },
                { "one pass", { PASS }, 1, NL_LOOKUP_KERNEL, 0 },
                { "one drop", { DROP }, 1, NL_LOOKUP_DROP, 0 },
                { "a selection", { PASS_SK }, 1, NL_LOOKUP_SOCKET, 0 },
                { "a selection wins over a later drop", { PASS_SK, DROP }, 2, NL_LOOKUP_SOCKET, 0 },
                { "a selection wins over an earlier drop", { DROP, PASS_SK }, 2, NL_LOOKUP_SOCKET, 1 },
                { "the last selection wins", { PASS_SK, PASS, PASS_SK, PASS }, 4, NL_LOOKUP_SOCKET, 2 },
                { "a drop among passes drops", { PASS, DROP, PASS }, 3, NL_LOOKUP_DROP, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t winner = 99;

                test_case("chain: %s", cases[i].name);
                CHECK_INT_EQ(nl_sk_lookup_chain(cases[i].steps, cases[i].n, &winner), cases[i].want);
                if (cases[i].want == NL_LOOKUP_SOCKET)
                        CHECK_INT_EQ(winner, cases[i].winner);
        }
        test_case(NULL);
        CHECK_STR_EQ(nl_lookup_result_to_string(NL_LOOKUP_KERNEL), "kernel-lookup");
        CHECK_STR_EQ(nl_lookup_result_to_string(NL_LOOKUP_DROP), "drop");
        CHECK_STR_EQ(nl_lookup_result_to_string(NL_LOOKUP_SOCKET), "socket");
}

static void run(void) {
        test_endpoints();
        test_queries();
        test_steer_match();
        test_chain();
}

int main(void) {
        return test_main("lib/test-explain", run);
}
