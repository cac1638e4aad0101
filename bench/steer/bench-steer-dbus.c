/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Steering control plane through the daemon: Peer.Ping (the floor of a
 * bus round trip), AddBinding x N one call each, SetBindings of M bindings
 * in one call (new set, the same set again, another set) and ListBindings
 * of them. Talks to whatever daemon owns org.netnslink1 on the system bus
 * (bench-steer-dbus.sh starts a private one), or with --private=PATH to the
 * daemon's private socket (a direct connection, no bus daemon between); the
 * link must exist and run builtin:steer.
 *
 *   bench-steer-dbus [--private=PATH] NETNS LINK [N_ADD [N_SET]]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "../common/bench-bindings.h"
#include "../common/bench-util.h"
#include "bus-connect.h"

#define IFACE "org.netnslink1.Steering"

/* The daemon's name on the bus; NULL on a direct connection to its private
 * socket (--private=PATH), where the daemon is the peer. */
static const char *arg_dest = "org.netnslink1";

static int fail(const char *what, sd_bus_error *e, int r) {
        fprintf(stderr, "%s failed: %s\n", what, e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
        sd_bus_error_free(e);
        return EXIT_FAILURE;
}

static int set_bindings(sd_bus *bus, const char *netns, const char *link, const BenchBinding *b, size_t n,
                        double *ret_s, unsigned *added, unsigned *removed) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        double t0;
        int r;

        r = bench_set_bindings_message(bus, arg_dest, netns, link, b, n, &m);
        if (r < 0)
                return r;
        /* Timed from the send: building the message is the client's cost. */
        t0 = bench_now_s();
        r = sd_bus_call(bus, m, 600ULL * 1000 * 1000, &e, &reply);
        *ret_s = bench_now_s() - t0;
        sd_bus_message_unref(m);
        if (r < 0) {
                fail("SetBindings", &e, r);
                return r;
        }
        *added = *removed = 0;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && sd_bus_message_enter_container(reply, 'e', "sv") > 0) {
                const char *key;
                uint32_t v = 0;

                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0 && (strcmp(key, "added") == 0 || strcmp(key, "removed") == 0)) {
                        r = sd_bus_message_read(reply, "v", "u", &v);
                        *(key[0] == 'a' ? added : removed) = v;
                } else if (r >= 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        sd_bus_message_unref(reply);
        return r < 0 ? r : 0;
}

int main(int argc, char *argv[]) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus *bus = NULL;
        size_t n_add = 10000, n_set = 100000;
        BenchBinding *b;
        unsigned added, removed;
        const char *private_path = NULL;
        double t0, ping, s;
        int r;

        if (argc > 1 && strncmp(argv[1], "--private=", 10) == 0) {
                private_path = argv[1] + 10;
                arg_dest = NULL;
                argv++, argc--;
        }
        if (argc < 3) {
                fprintf(stderr, "usage: bench-steer-dbus [--private=PATH] NETNS LINK [N_ADD [N_SET]]\n");
                return EXIT_FAILURE;
        }
        if (argc > 3)
                n_add = strtoul(argv[3], NULL, 10);
        if (argc > 4)
                n_set = strtoul(argv[4], NULL, 10);
        r = private_path ? nl_bus_open_direct(private_path, &bus) : sd_bus_open_system(&bus);
        if (r < 0)
                return fail(private_path ? "connect to the private socket" : "connect to the system bus", NULL, r);
        printf("through %s\n", private_path ? private_path : "the system bus");
        b = calloc(n_add > n_set ? n_add : n_set, sizeof(*b));
        if (!b)
                return EXIT_FAILURE;

        t0 = bench_now_s();
        for (int i = 0; i < 1000; i++) {
                r = sd_bus_call_method(bus, arg_dest, "/org/netnslink1", "org.freedesktop.DBus.Peer", "Ping",
                                       &e, NULL, "");
                if (r < 0)
                        return fail("Ping", &e, r);
        }
        ping = (bench_now_s() - t0) / 1000;
        printf("Peer.Ping (bus round trip floor)     %8.1f us per call\n", ping * 1e6);

        bench_make_bindings(b, n_add, 0);
        t0 = bench_now_s();
        for (size_t i = 0; i < n_add; i++) {
                r = sd_bus_call_method(bus, arg_dest, "/org/netnslink1", IFACE, "AddBinding", &e, NULL,
                                       "ssssqs", argv[1], argv[2], b[i].protocol, b[i].prefix, b[i].port,
                                       b[i].label);
                if (r < 0)
                        return fail("AddBinding", &e, r);
        }
        s = bench_now_s() - t0;
        printf("AddBinding x %zu                  %8.3f s  (%.1f us per call, %.1fx Ping)\n", n_add, s,
               s / (double) n_add * 1e6, s / (double) n_add / ping);

        bench_make_bindings(b, n_set, 0x5bd1e995);
        if (set_bindings(bus, argv[1], argv[2], b, n_set, &s, &added, &removed) < 0)
                return EXIT_FAILURE;
        printf("SetBindings of %zu (new set)      %8.3f s  (+%u -%u)\n", n_set, s, added, removed);
        if (set_bindings(bus, argv[1], argv[2], b, n_set, &s, &added, &removed) < 0)
                return EXIT_FAILURE;
        printf("SetBindings of %zu (same set)     %8.3f s  (+%u -%u)\n", n_set, s, added, removed);

        t0 = bench_now_s();
        {
                sd_bus_message *reply = NULL;
                r = sd_bus_call_method(bus, arg_dest, "/org/netnslink1", IFACE, "ListBindings", &e, &reply,
                                       "ss", argv[1], argv[2]);
                if (r < 0)
                        return fail("ListBindings", &e, r);
                sd_bus_message_unref(reply);
        }
        printf("ListBindings of %zu               %8.3f s\n", n_set, bench_now_s() - t0);

        bench_make_bindings(b, n_set, 0x1b873593);
        if (set_bindings(bus, argv[1], argv[2], b, n_set, &s, &added, &removed) < 0)
                return EXIT_FAILURE;
        printf("SetBindings of %zu (another set)  %8.3f s  (+%u -%u)\n", n_set, s, added, removed);
        free(b);
        sd_bus_flush_close_unref(bus);
        return EXIT_SUCCESS;
}
