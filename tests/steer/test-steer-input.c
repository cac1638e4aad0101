/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Bad input is refused with NL_ERR_INVALID_ARGS and changes nothing:
 * parsing cases as a table, then the registration checks. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "steer-test.h"

static const struct {
        const char *proto, *prefix, *port, *label;
        bool ok;
} parse_cases[] = {
        { "tcp",  "10.0.0.0/8",        "80",    "web",         true },
        { "udp",  "2001:db8::/32",     "0",     "a.b-c_D9",    true },
        { "tcp",  "0.0.0.0/0",         "65535", "x",           true },
        { "tcp",  "::1/128",           "1",     "x",           true },
        { "tcp",  "10.0.0.1/8",        "80",    "web",         false },   /* host bits */
        { "tcp",  "10.0.0.0/33",       "80",    "web",         false },
        { "tcp",  "::/129",            "80",    "web",         false },
        { "tcp",  "2001:db8::1/32",    "80",    "web",         false },
        { "tcp",  "garbage",           "80",    "web",         false },
        { "tcp",  "10.0.0.0",          "80",    "web",         false },   /* no length */
        { "tcp",  "10.0.0.0/",         "80",    "web",         false },
        { "tcp",  "10.0.0.0/8x",       "80",    "web",         false },
        { "tcp",  "10.0.0.0/-8",       "80",    "web",         false },
        { "tcp",  "10.0.0/8",          "80",    "web",         false },
        { "tcp",  "",                  "80",    "web",         false },
        { "tcp",  "10.0.0.0/8",        "65536", "web",         false },
        { "tcp",  "10.0.0.0/8",        "-1",    "web",         false },
        { "tcp",  "10.0.0.0/8",        "http",  "web",         false },
        { "tcp",  "10.0.0.0/8",        "",      "web",         false },
        { "sctp", "10.0.0.0/8",        "80",    "web",         false },
        { "TCP",  "10.0.0.0/8",        "80",    "web",         false },
        { "",     "10.0.0.0/8",        "80",    "web",         false },
        { "tcp",  "10.0.0.0/8",        "80",    "",            false },
        { "tcp",  "10.0.0.0/8",        "80",    "a b",         false },
        { "tcp",  "10.0.0.0/8",        "80",    "web/1",       false },
        { "tcp",  "10.0.0.0/8",        "80",    "ünï",         false },
        { "tcp",  "10.0.0.0/8",        "80",
          "12345678901234567890123456789012345678901234567890123456789012345", false },   /* 65 */
        { "tcp",  "11.0.0.0/8",        "80",
          "1234567890123456789012345678901234567890123456789012345678901234", true },     /* 64 */
};

static size_t count_bindings(SteerLink *l) {
        NlSteerBinding *b = NULL;
        size_t n = 0;

        if (nl_steer_list_bindings(l->steer, &b, &n, NULL) < 0)
                return (size_t) -1;
        free(b);
        return n;
}

static void check_refused(int r, const NlError *e, const char *what, const char *why) {
        CHECK(r < 0 && e->kind == NL_ERR_INVALID_ARGS && e->message[0], "%s: refused as invalid-args (r=%d, %s: %s)",
              what, r, nl_error_kind_name(e->kind), e->message);
        if (why)
                CHECK(strstr(e->message, why) != NULL, "%s: refused because \"%s\": %s", what, why, e->message);
}

/* CALL runs with E cleared: each refusal must set its own error, not pass
 * on the one before it. */
#define REFUSED(e, call, what, why)                                     \
        do {                                                            \
                (e) = (NlError) {};                                     \
                check_refused((call), &(e), (what), (why));             \
        } while (0)


static size_t count_destinations(NlSteer *s) {
        NlSteerDestination *d = NULL;
        size_t n = 0;
        NlError e = {};

        if (!CHECK_OK(nl_steer_list_destinations(s, &d, &n, &e), &e))
                return 0;
        free(d);
        return n;
}

/* Every destination id taken (4,095 labels in one SetBindings), the next
 * label is refused by name; a freed id is found again wherever it is, also
 * below the ids handed out last. */
static void test_destination_limit(SteerEnv *env) {
        enum { FULL = 4095 };
        _cleanup_free_ NlSteerBinding *b = calloc(FULL, sizeof(*b));
        SteerLink l = { .link_fd = -1 };
        NlSteerBinding extra;
        NlError e = {};
        char prefix[32], label[16];

        if (!CHECK(b, "out of memory") || steer_link_open(env, "limit", true, &l) < 0)
                return;
        for (int i = 0; i < FULL; i++) {
                snprintf(prefix, sizeof(prefix), "10.%d.%d.0/24", i / 256, i % 256);
                snprintf(label, sizeof(label), "l%d", i);
                CHECK_OK(nl_steer_binding_parse("tcp", prefix, 0, label, &b[i], &e), &e);
        }
        CHECK_OK(nl_steer_set_bindings(l.steer, b, FULL, NULL, &e), &e);
        CHECK_INT_EQ(count_destinations(l.steer), FULL);
        CHECK_OK(nl_steer_binding_parse("tcp", "11.0.0.0/8", 0, "extra", &extra, &e), &e);
        CHECK_ERR(nl_steer_add_binding(l.steer, &extra, &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_CONTAINS(e.message, "Too many destinations");
        CHECK_INT_EQ(count_destinations(l.steer), FULL);
        /* l0 held id 1, far below where the last search ended. */
        CHECK_OK(nl_steer_remove_binding(l.steer, &b[0], &e), &e);
        CHECK_INT_EQ(count_destinations(l.steer), FULL - 1);
        CHECK_OK(nl_steer_add_binding(l.steer, &extra, &e), &e);
        CHECK_INT_EQ(count_destinations(l.steer), FULL);
        steer_link_close(&l);
}

/* nl_steer_open knows the maps by the skeleton: a copy of a link's pins
 * opens; the same with one map of another layout in its place, or with one
 * missing, does not, and the error names it. */
static void test_map_layouts(SteerEnv *env, SteerLink *l) {
        _cleanup_close_ int odd = -EBADF;
        char dir[600], from[1200], to[1200];
        struct dirent *de;
        NlSteer *s = NULL;
        NlError e = {};
        DIR *d;
        int n = 0;

        snprintf(dir, sizeof(dir), "%s/copy", env->tmp);
        CHECK(mkdir(dir, 0700) == 0, "mkdir %s", dir);
        d = opendir(l->map_dir);
        CHECK(d, "opendir %s", l->map_dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(from, sizeof(from), "%s/%s", l->map_dir, de->d_name);
                snprintf(to, sizeof(to), "%s/%s", dir, de->d_name);
                fd = bpf_obj_get(from);
                CHECK(fd >= 0 && bpf_obj_pin(fd, to) == 0, "copy pin %s", de->d_name);
                if (fd >= 0)
                        close(fd);
                n++;
        }
        closedir(d);
        CHECK(n == 13, "a steer link has 13 maps pinned, not %d", n);
        CHECK(nl_steer_open(dir, &s, &e) == 0, "a copy of the pins opens: %s", e.message);
        s = nl_steer_close(s);
        /* The maps of a release before per-CPU counters and fast: none. */
        snprintf(to, sizeof(to), "%s/fast", dir);
        CHECK(unlink(to) == 0, "unlink %s", to);
        snprintf(to, sizeof(to), "%s/counters", dir);
        CHECK(unlink(to) == 0, "unlink %s", to);
        snprintf(to, sizeof(to), "%s/counter_used", dir);
        CHECK(unlink(to) == 0, "unlink %s", to);
        e = (NlError) {};
        CHECK(nl_steer_open(dir, &s, &e) == 0, "the maps of an earlier release, without counters and fast, open: %s",
              e.message);
        s = nl_steer_close(s);

        snprintf(to, sizeof(to), "%s/dests", dir);
        CHECK(unlink(to) == 0, "unlink %s", to);
        odd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
        CHECK(odd >= 0 && bpf_obj_pin(odd, to) == 0, "pin a map of another layout");
        e = (NlError) {};
        CHECK(nl_steer_open(dir, &s, &e) < 0 && e.kind == NL_ERR_INVALID_ARGS && e.error == EMEDIUMTYPE &&
                      strstr(e.message, "/dests has another layout"),
              "a map of another layout: invalid-args naming it: %s", e.message);
        CHECK(unlink(to) == 0, "unlink %s", to);
        e = (NlError) {};
        CHECK(nl_steer_open(dir, &s, &e) < 0 && e.kind == NL_ERR_INVALID_ARGS && strstr(e.message, "/dests"),
              "a map missing: invalid-args naming it: %s", e.message);
}

static void body(void) {
        SteerEnv env;
        SteerLink l = { .link_fd = -1 };
        int other_ns_sock = -1;
        size_t before;

        /* A listening socket in a netns that is not the link's. */
        if (unshare(CLONE_NEWNET) == 0)
                other_ns_sock = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
        if (!CHECK(steer_env_setup(&env) >= 0, "private netns"))
                return;
        if (steer_link_open(&env, "in", true, &l) < 0)
                goto out;

        for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
                NlSteerBinding b;
                NlError e = {};
                uint16_t port = 0;
                int r;

                before = count_bindings(&l);
                r = nl_steer_port_parse(parse_cases[i].port, &port, &e);
                if (r >= 0)
                        r = nl_steer_binding_parse(parse_cases[i].proto, parse_cases[i].prefix, port,
                                                   parse_cases[i].label, &b, &e);
                if (r >= 0)
                        r = nl_steer_add_binding(l.steer, &b, &e);
                if (parse_cases[i].ok)
                        CHECK(r >= 0 && count_bindings(&l) == before + 1, "case %zu (%s %s %s %s) accepted: %s", i,
                              parse_cases[i].proto, parse_cases[i].prefix, parse_cases[i].port, parse_cases[i].label,
                              e.message);
                else {
                        check_refused(r, &e, parse_cases[i].prefix, NULL);
                        CHECK(count_bindings(&l) == before, "case %zu changed nothing", i);
                }
        }

        /* Hand-built bindings are checked too. */
        {
                NlSteerBinding b = { .protocol = IPPROTO_TCP, .family = AF_INET, .prefixlen = 8, .addr = { 10, 0, 0, 1 } };
                NlError e = {};

                strcpy(b.label, "web");
                REFUSED(e, nl_steer_add_binding(l.steer, &b, &e), "host bits in a built binding", NULL);
                b.addr[3] = 0;
                b.protocol = 99;
                REFUSED(e, nl_steer_add_binding(l.steer, &b, &e), "protocol 99", NULL);
                b.protocol = IPPROTO_TCP;
                b.port = 81;
                REFUSED(e, nl_steer_remove_binding(l.steer, &b, &e), "removing what is not bound", NULL);
                {
                        NlSteerChanges c = {};
                        CHECK_OK(nl_steer_set_bindings(l.steer, (NlSteerBinding[]) { b, b, b }, 3, &c, &e), &e);
                        CHECK(count_bindings(&l) == 1, "SetBindings folds a binding given twice with one label");
                        CHECK(c.total == 1, "... and counts it once in total: %u", c.total);
                }
                {
                        NlSteerBinding two[2] = { b, b };

                        strcpy(two[1].label, "other");
                        REFUSED(e, nl_steer_set_bindings(l.steer, two, 2, NULL, &e), "SetBindings with one binding to two labels", NULL);
                        two[1] = b;
                        two[1].prefixlen = 5;   /* 10 = 00001010: bit 6 is a host bit */
                        REFUSED(e, nl_steer_set_bindings(l.steer, two, 2, NULL, &e), "SetBindings with host bits in element 1", NULL);
                        CHECK(strstr(e.message, "Binding 1") != NULL, "the message names the element: %s", e.message);
                        CHECK(count_bindings(&l) == 1, "refused SetBindings changed nothing");
                }
        }

        /* More bindings than the maps hold: refused in words, not as
         * "Argument list too long", and nothing changes. The new set is
         * written beside the one it replaces, so the room is what that
         * one leaves. */
        {
                size_t max = STEER_MAX_PREFIXES, before_n = 0;
                NlSteerBinding *big = calloc(max + 1, sizeof(*big)), *prev = NULL, extra;
                NlSteerChanges c = {};
                NlError e = {};
                char want[200];

                CHECK(big != NULL, "memory for %zu bindings", max + 1);
                CHECK_OK(nl_steer_list_bindings(l.steer, &prev, &before_n, &e), &e);
                for (size_t i = 0; big && i <= max; i++) {
                        big[i] = (NlSteerBinding) { .protocol = IPPROTO_TCP, .family = AF_INET, .prefixlen = 32,
                                                    .addr = { 10, (uint8_t) (i >> 16), (uint8_t) (i >> 8), (uint8_t) i } };
                        strcpy(big[i].label, "many");
                }
                if (big) {
                        REFUSED(e, nl_steer_set_bindings(l.steer, big, max + 1, &c, &e), "one binding more than fits",
                                NULL);
                        snprintf(want, sizeof(want), "Too many bindings: %zu, over %zu distinct prefixes; at most %zu",
                                 max + 1, max + 1, max - before_n);
                        CHECK(strstr(e.message, want) != NULL, "the message says how many fit: %s", e.message);
                        CHECK(count_bindings(&l) == before_n, "refused SetBindings changed nothing");
                        e = (NlError) {};
                        CHECK_OK(nl_steer_set_bindings(l.steer, NULL, 0, &c, &e), &e);
                        CHECK_OK(nl_steer_set_bindings(l.steer, big, max, &c, &e), &e);
                        CHECK(c.total == max && count_bindings(&l) == max, "as many as fit: %u", c.total);
                        extra = big[max];
                        REFUSED(e, nl_steer_add_binding(l.steer, &extra, &e), "AddBinding to full maps", NULL);
                        CHECK(strstr(e.message, "Too many bindings: cannot add tcp 10.4.0.0/32 port 0, the link's maps "
                                                "are full") != NULL, "AddBinding says the maps are full: %s", e.message);
                        REFUSED(e, nl_steer_set_bindings(l.steer, &extra, 1, &c, &e), "SetBindings beside a full set",
                                NULL);
                        snprintf(want, sizeof(want), "at most 0 distinct prefixes fit beside the %zu of the set they "
                                 "replace", max);
                        CHECK(strstr(e.message, want) != NULL, "the message says none fits beside: %s", e.message);
                        CHECK(!strstr(e.message, "Argument list too long"), "no errno text");
                        e = (NlError) {};
                        CHECK_OK(nl_steer_set_bindings(l.steer, NULL, 0, &c, &e), &e);
                        CHECK_OK(nl_steer_set_bindings(l.steer, prev, before_n, &c, &e), &e);
                        CHECK(count_bindings(&l) == before_n, "the set before is back");
                }
                free(big);
                free(prev);
        }

        /* Registration checks. */
        {
                NlError e = {};
                int fds[2], tcp_idle, tcp_ok, udp_conn, udp_unbound, udp_ok, v6only;
                struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(9) };

                before = count_bindings(&l);
                CHECK_OK(pipe2(fds, O_CLOEXEC), NULL);
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", fds[0], &e), "a pipe", "not a socket");
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", -1, &e), "fd -1", NULL);
                tcp_idle = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", tcp_idle, &e), "TCP not listening", "not listening");
                udp_conn = steer_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, false);
                inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
                CHECK_OK(connect(udp_conn, (struct sockaddr *) &sin, sizeof(sin)), NULL);
                steer_bind(&l, "udp", "10.9.0.0/16", 53, "dns");
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "dns", udp_conn, &e), "UDP connected", "is connected");
                udp_unbound = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "dns", udp_unbound, &e), "UDP unbound", "not bound");
                if (other_ns_sock >= 0)
                        REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", other_ns_sock, &e), "socket of another netns", "network namespace");
                udp_ok = steer_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, false);
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", udp_ok, &e), "UDP socket for a label with only TCP bindings", "only tcp bindings");
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "bad label", udp_ok, &e), "bad label", NULL);
                v6only = steer_socket(AF_INET6, SOCK_STREAM, "::1", 0, false);
                REFUSED(e, nl_steer_register_socket(l.steer, env.netns_ino, "web", v6only, &e), "IPv6-only socket for a label with only IPv4 bindings", "IPv6-only");
                /* The positive control for the TCP refusals above: a
                 * listening IPv4 TCP socket is what "web" takes. */
                tcp_ok = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
                CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, "web", tcp_ok, &e), &e);
                CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, "dns", udp_ok, &e), &e);
                CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, "fresh", udp_ok, &e), &e);
                REFUSED(e, nl_steer_unregister_socket(l.steer, "nobody", &e), "unregister unknown label", NULL);
                {
                        NlSteerDestination *d = NULL;
                        size_t nd = 0;
                        NlSockState web = _NL_SOCK_STATE_MAX, dns = _NL_SOCK_STATE_MAX;

                        /* The kernel keeps a listener shut down in the sockmap; it
                         * is listed as what it is. */
                        CHECK_OK(shutdown(tcp_ok, SHUT_RDWR), NULL);
                        CHECK_OK(nl_steer_list_destinations(l.steer, &d, &nd, &e), &e);
                        for (size_t i = 0; d && i < nd; i++) {
                                if (strcmp(d[i].label, "web") == 0 && d[i].protocol == IPPROTO_TCP)
                                        web = d[i].socket_state;
                                if (strcmp(d[i].label, "dns") == 0 && d[i].family == AF_INET)
                                        dns = d[i].socket_state;
                        }
                        CHECK(web == NL_SOCK_NOT_LISTENING, "a shut-down listener is not-listening: %s",
                              nl_sock_state_to_string(web));
                        CHECK(dns == NL_SOCK_BOUND, "a bound UDP socket is bound: %s", nl_sock_state_to_string(dns));
                        free(d);
                }
                CHECK(count_bindings(&l) == before + 1, "registration changed no binding");
                close(fds[0]);
                close(fds[1]);
                close(tcp_idle);
                close(udp_conn);
                close(udp_unbound);
                close(udp_ok);
                close(tcp_ok);
                close(v6only);
        }

        /* A folder that is not a steer link. */
        {
                NlSteer *s = NULL;
                NlError e = {};
                char dir[600];

                snprintf(dir, sizeof(dir), "%s/nothing-here", env.tmp);
                CHECK(nl_steer_open(dir, &s, &e) < 0 && e.kind == NL_ERR_NO_SUCH_LINK, "missing folder: no-such-link");
                CHECK(nl_steer_open(env.tmp, &s, &e) < 0 && e.kind == NL_ERR_INVALID_ARGS,
                      "a folder without steer maps: invalid-args");
        }
        test_map_layouts(&env, &l);
        steer_link_close(&l);
        test_destination_limit(&env);
out:
        if (other_ns_sock >= 0)
                close(other_ns_sock);
        steer_env_teardown(&env);
}

int main(void) {
        return test_main("steer-input", body);
}
