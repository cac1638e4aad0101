/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A steer link's tiers (steer-abi.h, steer.h growth), in the library: a
 * new link has the smallest maps; AddBinding, SetBindings and
 * RegisterSocket that need more move an attached link up, tier by tier,
 * keeping its bindings, destinations, sockets and counters, and lookups
 * choose the same sockets on every tier; a link that is not attached
 * cannot grow and says how much its maps hold. */
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link-ops.h"
#include "steer-test.h"

static uint64_t dest_lookups(NlSteer *s, const char *label, uint64_t *cookie) {
        _cleanup_free_ NlSteerDestination *d = NULL;
        uint64_t n = 0;
        size_t nd = 0;
        NlError e = {};

        *cookie = 0;
        if (!CHECK_OK(nl_steer_list_destinations(s, &d, &nd, &e), &e))
                return 0;
        for (size_t i = 0; i < nd; i++)
                if (strcmp(d[i].label, label) == 0 && d[i].protocol == IPPROTO_TCP && d[i].family == AF_INET) {
                        n = d[i].lookups;
                        *cookie = d[i].cookie;
                }
        return n;
}

static size_t count_bindings(NlSteer *s) {
        _cleanup_free_ NlSteerBinding *b = NULL;
        size_t n = 0;
        NlError e = {};

        CHECK_OK(nl_steer_list_bindings(s, &b, &n, &e), &e);
        return n;
}

/* The program the link runs now chooses the web socket for 10.1.2.3:80. */
static void check_steers(SteerLink *l, uint64_t want, const char *when) {
        _cleanup_close_ int prog = -1;
        NlLinkInfo li;
        uint64_t got = 0;

        if (!CHECK(nl_link_get_info(l->link_fd, false, &li) >= 0, "link info %s", when))
                return;
        prog = bpf_prog_get_fd_by_id(li.prog_id);
        CHECK(prog >= 0 && steer_test_run(prog, IPPROTO_TCP, "10.1.2.3", 80, &got) >= 0, "test run %s", when);
        CHECK(got == want && want != 0, "%s: the web socket is chosen (%llu, want %llu)", when,
              (unsigned long long) got, (unsigned long long) want);
}

static void bindings(NlSteerBinding *b, size_t n, unsigned seed) {
        NlError e = {};
        char prefix[32], label[16];

        /* The first is the one lookups check; the others elsewhere. */
        CHECK_OK(nl_steer_binding_parse("tcp", "10.1.2.0/24", 0, "web", &b[0], &e), &e);
        for (size_t i = 1; i < n; i++) {
                snprintf(prefix, sizeof(prefix), "11.%u.%zu.%zu/32", seed, i / 256, i % 256);
                snprintf(label, sizeof(label), "l%zu", i % 100);
                CHECK_OK(nl_steer_binding_parse("tcp", prefix, (uint16_t) (1 + i % 60000), label, &b[i], &e), &e);
        }
}

static void body(void) {
        enum { N1 = 2000, N2 = 30000 };
        _cleanup_free_ NlSteerBinding *b = calloc(N2, sizeof(*b));
        SteerLink l = { .link_fd = -1 }, u = { .link_fd = -1 };
        uint64_t cookie, c1, lookups;
        NlError e = {};
        SteerEnv env;
        int fd;

        if (!CHECK(b, "memory") || !CHECK(steer_env_setup(&env) >= 0, "private netns"))
                return;
        if (steer_link_open(&env, "g", true, &l) < 0)
                goto out;
        CHECK_INT_EQ(nl_steer_tier(l.steer), 0);
        fd = steer_socket(AF_INET, SOCK_STREAM, "127.0.0.1", 0, false);
        cookie = steer_cookie(fd);
        CHECK_OK(nl_steer_register_socket(l.steer, env.netns_ino, "web", fd, &e), &e);
        steer_bind(&l, "tcp", "10.1.2.0/24", 0, "web");
        check_steers(&l, cookie, "tier 0");

        /* AddBinding past the 1,024 prefixes of tier 0. */
        bindings(b, N1, 1);
        for (size_t i = 1; i < N1; i++)
                if (!CHECK_OK(nl_steer_add_binding(l.steer, &b[i], &e), &e))
                        break;
        CHECK_INT_EQ(nl_steer_tier(l.steer), 1);
        CHECK_INT_EQ(count_bindings(l.steer), N1);
        check_steers(&l, cookie, "tier 1, grown by AddBinding");
        lookups = dest_lookups(l.steer, "web", &c1);
        CHECK(lookups >= 2 && c1 == cookie, "lookups counted and the socket kept across growth (%llu)",
              (unsigned long long) lookups);

        /* SetBindings beside 2,000 that a tier-1 link cannot hold. */
        bindings(b, N2, 2);
        CHECK_OK(nl_steer_set_bindings(l.steer, b, N2, NULL, &e), &e);
        CHECK_INT_EQ(nl_steer_tier(l.steer), 2);
        CHECK_INT_EQ(count_bindings(l.steer), N2);
        check_steers(&l, cookie, "tier 2, grown by SetBindings");
        CHECK(dest_lookups(l.steer, "web", &c1) > lookups && c1 == cookie, "counters carried to tier 2");

        /* By hand, to the top; then nothing is above it. */
        CHECK_OK(nl_steer_grow(l.steer, 3, &e), &e);
        CHECK_INT_EQ(nl_steer_tier(l.steer), 3);
        CHECK_INT_EQ(count_bindings(l.steer), N2);
        check_steers(&l, cookie, "tier 3");
        CHECK_ERR(nl_steer_grow(l.steer, 3, &e), &e, NL_ERR_FAILED);
        {
                char grow[600];

                snprintf(grow, sizeof(grow), "%s/grow", l.map_dir);
                CHECK(access(grow, F_OK) < 0, "no growth folder is left");
        }
        /* The folder pins what the link runs: a repair changes nothing. */
        {
                NlLinkInfo li;

                CHECK(nl_link_get_info(l.link_fd, false, &li) >= 0, "link info");
                CHECK_INT_EQ(nl_steer_repair_pins(l.map_dir, li.prog_id, &e), 0);
        }

        /* Not attached: refused with what its own maps hold. */
        if (steer_link_open(&env, "u", false, &u) >= 0) {
                CHECK_ERR(nl_steer_set_bindings(u.steer, b, N1, NULL, &e), &e, NL_ERR_INVALID_ARGS);
                CHECK_CONTAINS(e.message, "(1024 in all)");
                CHECK_INT_EQ(nl_steer_tier(u.steer), 0);
        }
        steer_link_close(&u);
        steer_link_close(&l);
        close(fd);
out:
        steer_env_teardown(&env);
}

int main(void) {
        return test_main("steer-growth", body);
}
