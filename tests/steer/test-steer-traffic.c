/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Real connections and datagrams over loopback in a private netns with
 * builtin:steer attached: many addresses and ports of a prefix reach the
 * one registered socket, unbound traffic and socketless labels fall
 * through to the kernel's own lookup, a second sk_lookup program keeps
 * working, counters move, a closed socket shows as none. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "steer-test.h"

static socklen_t sockaddr_of(const char *addr, uint16_t port, struct sockaddr_storage *ss) {
        memset(ss, 0, sizeof(*ss));
        if (inet_pton(AF_INET, addr, &((struct sockaddr_in *) ss)->sin_addr) == 1) {
                ((struct sockaddr_in *) ss)->sin_family = AF_INET;
                ((struct sockaddr_in *) ss)->sin_port = htons(port);
                return sizeof(struct sockaddr_in);
        }
        inet_pton(AF_INET6, addr, &((struct sockaddr_in6 *) ss)->sin6_addr);
        ((struct sockaddr_in6 *) ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *) ss)->sin6_port = htons(port);
        return sizeof(struct sockaddr_in6);
}

static bool readable(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        return poll(&p, 1, 1000) == 1;
}

/* Connects to addr:port; true if the connection is accepted on server. */
static bool tcp_reaches(int server, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(addr, port, &ss);
        int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), a;
        bool ok = false;

        if (c < 0)
                return false;
        if (connect(c, (struct sockaddr *) &ss, len) == 0 && readable(server)) {
                a = accept4(server, NULL, NULL, SOCK_CLOEXEC);
                ok = a >= 0;
                if (a >= 0)
                        close(a);
        }
        close(c);
        return ok;
}

static bool tcp_refused(const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(addr, port, &ss);
        int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool refused = connect(c, (struct sockaddr *) &ss, len) < 0 && errno == ECONNREFUSED;

        close(c);
        return refused;
}

static bool udp_reaches(int server, const char *addr, uint16_t port) {
        struct sockaddr_storage ss;
        socklen_t len = sockaddr_of(addr, port, &ss);
        int c = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        char buf[16];
        bool ok;

        ok = sendto(c, "ping", 4, 0, (struct sockaddr *) &ss, len) == 4 && readable(server) &&
             recv(server, buf, sizeof(buf), 0) == 4;
        close(c);
        return ok;
}

static const NlSteerDestination *find_dest(NlSteerDestination *d, size_t n, const char *label, int family) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(d[i].label, label) == 0 && d[i].family == family)
                        return &d[i];
        return NULL;
}

static void body(void) {
        SteerEnv env;
        SteerLink a = { .link_fd = -1 }, b = { .link_fd = -1 };
        int web = -1, web6 = -1, dual = -1, dns = -1, plain = -1, other = -1, web2 = -1;
        NlError e = {};
        char addr[64];

        if (!CHECK(steer_env_setup(&env) >= 0, "private netns"))
                return;
        CHECK_OK(steer_sh("ip route add local 10.0.0.0/8 dev lo && ip -6 route add local 2001:db8::/32 dev lo"),
                 NULL);
        if (steer_link_open(&env, "a", true, &a) < 0)
                goto out;

        web = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
        web6 = steer_socket(AF_INET6, SOCK_STREAM, "::1", 0, false);
        dual = steer_socket(AF_INET6, SOCK_STREAM, "::", 0, true);
        dns = steer_socket(AF_INET, SOCK_DGRAM, "127.0.0.1", 0, false);
        plain = steer_socket(AF_INET, SOCK_STREAM, "0.0.0.0", 7777, false);
        CHECK(web >= 0 && web6 >= 0 && dual >= 0 && dns >= 0 && plain >= 0, "sockets");

        steer_bind(&a, "tcp", "10.1.0.0/16", 0, "web");
        steer_bind(&a, "tcp", "2001:db8:1::/64", 8000, "web6");
        steer_bind(&a, "tcp", "2001:db8:1::/64", 8001, "web6");
        steer_bind(&a, "tcp", "10.2.0.0/24", 0, "dual");
        steer_bind(&a, "tcp", "2001:db8:2::/64", 0, "dual");
        steer_bind(&a, "udp", "10.3.0.0/24", 0, "dns");
        steer_bind(&a, "tcp", "10.4.0.0/24", 0, "ghost");
        CHECK_OK(nl_steer_register_socket(a.steer, env.netns_ino, "web", web, &e), &e);
        CHECK_OK(nl_steer_register_socket(a.steer, env.netns_ino, "web6", web6, &e), &e);
        CHECK_OK(nl_steer_register_socket(a.steer, env.netns_ino, "dual", dual, &e), &e);
        CHECK_OK(nl_steer_register_socket(a.steer, env.netns_ino, "dns", dns, &e), &e);

        /* Many addresses and ports of a prefix, one socket. */
        for (int i = 0; i < 40; i++) {
                uint16_t port = (uint16_t) (1 + (i * 1637) % 65000);

                snprintf(addr, sizeof(addr), "10.1.%d.%d", (i * 37) % 256, 1 + (i * 91) % 254);
                CHECK(tcp_reaches(web, addr, port), "TCP IPv4 %s:%u reaches 'web'", addr, port);
        }
        for (int i = 0; i < 20; i++) {
                snprintf(addr, sizeof(addr), "2001:db8:1::%x:%x", i * 313, 1 + i);
                CHECK(tcp_reaches(web6, addr, (uint16_t) (8000 + i % 2)), "TCP IPv6 [%s]:%d reaches 'web6'", addr,
                      8000 + i % 2);
        }
        CHECK(tcp_refused("2001:db8:1::1", 8002), "IPv6 port 8002 is not bound: refused");
        for (int i = 0; i < 10; i++) {
                snprintf(addr, sizeof(addr), "10.2.0.%d", 1 + i * 20);
                CHECK(tcp_reaches(dual, addr, (uint16_t) (100 + i)), "TCP IPv4 %s to the dual-stack socket", addr);
                snprintf(addr, sizeof(addr), "2001:db8:2::%d", 1 + i);
                CHECK(tcp_reaches(dual, addr, (uint16_t) (100 + i)), "TCP IPv6 %s to the dual-stack socket", addr);
        }
        for (int i = 0; i < 20; i++) {
                snprintf(addr, sizeof(addr), "10.3.0.%d", 1 + i * 11);
                CHECK(udp_reaches(dns, addr, (uint16_t) (53 + i * 100)), "UDP %s:%d reaches 'dns'", addr, 53 + i * 100);
        }

        /* Fall-through: no binding, and a label with no socket. */
        CHECK(tcp_reaches(plain, "127.0.0.1", 7777), "unbound 127.0.0.1:7777 reaches the plain listener");
        CHECK(tcp_reaches(plain, "10.5.0.1", 7777), "unbound 10.5.0.1:7777 reaches the plain listener");
        CHECK(tcp_reaches(plain, "10.4.0.1", 7777), "socketless 'ghost' falls through to the plain listener");
        CHECK(tcp_refused("10.4.0.1", 7778), "socketless 'ghost', no listener: refused");

        /* A second sk_lookup program in the same netns. */
        if (steer_link_open(&env, "b", true, &b) >= 0) {
                other = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
                steer_bind(&b, "tcp", "10.6.0.0/24", 0, "other");
                steer_bind(&b, "tcp", "10.1.0.0/16", 0, "other");
                CHECK_OK(nl_steer_register_socket(b.steer, env.netns_ino, "other", other, &e), &e);
                CHECK(tcp_reaches(other, "10.6.0.9", 4242), "the second program steers its own prefix");
                CHECK(tcp_reaches(web, "10.1.9.9", 4242), "the first program's choice stands over the second's");
                CHECK(tcp_reaches(plain, "10.5.0.1", 7777), "unbound traffic still falls through");
        }

        /* Counters moved. */
        {
                NlSteerDestination *d = NULL;
                NlSteerBinding *bl = NULL;
                const NlSteerDestination *x;
                size_t n = 0, nb = 0;

                CHECK_OK(nl_steer_list_destinations(a.steer, &d, &n, &e), &e);
                x = find_dest(d, n, "web", AF_INET);
                CHECK(x && x->lookups >= 40 && x->cookie == steer_cookie(web) && x->errors == 0,
                      "web: lookups %llu, cookie set", x ? (unsigned long long) x->lookups : 0ULL);
                x = find_dest(d, n, "ghost", AF_INET);
                CHECK(x && x->misses >= 2 && x->cookie == 0, "ghost: misses %llu, no socket",
                      x ? (unsigned long long) x->misses : 0ULL);
                x = find_dest(d, n, "dual", AF_INET);
                CHECK(x && x->cookie == steer_cookie(dual), "the dual-stack socket serves the IPv4 destination");
                x = find_dest(d, n, "dual", AF_INET6);
                CHECK(x && x->cookie == steer_cookie(dual) && x->lookups >= 10, "and the IPv6 one");
                CHECK_OK(nl_steer_list_bindings(a.steer, &bl, &nb, &e), &e);
                CHECK(nb == 7, "7 bindings listed (%zu)", nb);
                for (size_t i = 0; i < nb; i++)
                        if (strcmp(bl[i].label, "web") == 0)
                                CHECK(bl[i].hits >= 40, "binding hits of web: %llu", (unsigned long long) bl[i].hits);
                free(d);
                free(bl);
        }

        /* SetBindings moves the traffic, and re-registering swaps. */
        {
                NlSteerBinding set[2];
                NlSteerChanges c = {};

                web2 = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
                CHECK_OK(nl_steer_binding_parse("tcp", "10.1.0.0/16", 0, "web", &set[0], &e), &e);
                CHECK_OK(nl_steer_binding_parse("tcp", "10.7.0.0/16", 80, "web", &set[1], &e), &e);
                CHECK_OK(nl_steer_set_bindings(a.steer, set, 2, &c, &e), &e);
                CHECK(c.added == 1 && c.removed == 6, "SetBindings: added %u removed %u", c.added, c.removed);
                CHECK(tcp_reaches(web, "10.7.1.1", 80), "the new binding steers");
                CHECK(tcp_refused("10.2.0.1", 100), "the dropped binding no longer steers");
                CHECK_OK(nl_steer_register_socket(a.steer, env.netns_ino, "web", web2, &e), &e);
                CHECK(tcp_reaches(web2, "10.1.0.1", 80), "registering again swaps the socket");
        }

        /* A socket that closes vanishes from the sockmap. */
        close(web2);
        web2 = -1;
        {
                NlSteerDestination *d = NULL;
                const NlSteerDestination *x;
                size_t n = 0;

                /* Link b binds 10.1.0.0/16 too: with a's socket gone, b's choice is taken. */
                CHECK(other >= 0 && tcp_reaches(other, "10.1.0.1", 80),
                      "closed socket: the lookup falls through to the second program");
                CHECK_OK(nl_steer_list_destinations(a.steer, &d, &n, &e), &e);
                x = find_dest(d, n, "web", AF_INET);
                CHECK(x && x->cookie == 0 && x->misses >= 1, "closed socket shows as none");
                free(d);
        }
        CHECK_OK(nl_steer_unregister_socket(a.steer, "dns", &e), &e);
        CHECK(!udp_reaches(dns, "10.3.0.1", 53), "unregistered: no more datagrams for 'dns'");

out:
        for (int *fd = (int[]) { web, web6, dual, dns, plain, other, web2 }, i = 0; i < 7; i++)
                if (fd[i] >= 0)
                        close(fd[i]);
        steer_link_close(&b);
        steer_link_close(&a);
        steer_env_teardown(&env);
}

int main(void) {
        return test_main("steer-traffic", body);
}
