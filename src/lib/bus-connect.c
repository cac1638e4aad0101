/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How a client reaches netnslinkd: the CLI and the CNI plugin share this, so
 * that both pick the connection by the same rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-connect.h"
#include "macro.h"

int nl_bus_unix_address(const char *path, char *buf, size_t size) {
        static const char prefix[] = "unix:path=";
        size_t n = STRLEN(prefix);

        if (!path || !*path)
                return -EINVAL;
        if (size <= n)
                return -ENAMETOOLONG;
        memcpy(buf, prefix, n);
        for (const unsigned char *p = (const unsigned char *) path; *p; p++) {
                /* The address syntax's "optionally escaped" bytes pass. */
                bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                             strchr("-_/.\\*", *p);
                if (n + (plain ? 1 : 3) >= size)
                        return -ENAMETOOLONG;
                if (plain)
                        buf[n++] = (char) *p;
                else
                        n += (size_t) snprintf(buf + n, size - n, "%%%02x", *p);
        }
        buf[n] = '\0';
        return 0;
}

/* As sd-bus picks it: secure_getenv, so that a privileged caller's
 * environment cannot point it elsewhere. */
static const char *system_bus_address(void) {
        const char *address = secure_getenv("DBUS_SYSTEM_BUS_ADDRESS");

        return address && *address ? address : "unix:path=/run/dbus/system_bus_socket";
}

static int target_system(NlBusTarget *ret) {
        ret->kind = NL_BUS_SYSTEM;
        ret->from_env = false;
        if (strlen(system_bus_address()) >= sizeof(ret->address))
                return -ENAMETOOLONG;
        strcpy(ret->address, system_bus_address());
        return 0;
}

int nl_bus_pick_target(NlBusTarget *ret) {
        const char *address = secure_getenv("NETNSLINK_ADDRESS");
        const char *path = secure_getenv("NETNSLINK_PRIVATE_SOCKET");

        if (address && *address) {
                if (strlen(address) >= sizeof(ret->address))
                        return -ENAMETOOLONG;
                ret->kind = NL_BUS_DIRECT;
                ret->from_env = true;
                strcpy(ret->address, address);
                return 0;
        }
        if (!path || !*path)
                path = NL_PRIVATE_SOCKET_DEFAULT;
        /* Only root may connect (the socket is 0600): anyone else would
         * only collect an EACCES before trying the bus. */
        if (geteuid() == 0 && access(path, F_OK) == 0) {
                ret->kind = NL_BUS_DIRECT;
                ret->from_env = false;
                return nl_bus_unix_address(path, ret->address, sizeof(ret->address));
        }
        return target_system(ret);
}

int nl_bus_open_target(const NlBusTarget *target, sd_bus **ret) {
        sd_bus *bus = NULL;
        int r;

        r = sd_bus_new(&bus);
        if (r < 0)
                return r;
        r = sd_bus_set_address(bus, target->address);
        /* The daemon is the peer: no Hello, no bus daemon in between. */
        if (r >= 0)
                r = sd_bus_set_bus_client(bus, target->kind == NL_BUS_SYSTEM);
        if (r < 0) {
                sd_bus_unref(bus);
                return r;
        }
        *ret = bus;
        return sd_bus_start(bus);
}

int nl_bus_open_daemon(NlBusTarget *ret_target, sd_bus **ret) {
        int r;

        r = nl_bus_pick_target(ret_target);
        if (r < 0)
                return r;
        r = nl_bus_open_target(ret_target, ret);
        if (r >= 0 || ret_target->kind != NL_BUS_DIRECT || ret_target->from_env)
                return r;
        /* A socket file nobody serves: the daemon died, or is starting. */
        sd_bus_flush_close_unref(*ret);
        *ret = NULL;
        r = target_system(ret_target);
        if (r < 0)
                return r;
        return nl_bus_open_target(ret_target, ret);
}

int nl_bus_open_direct(const char *path, sd_bus **ret) {
        NlBusTarget target = { .kind = NL_BUS_DIRECT };
        int r;

        *ret = NULL;
        r = nl_bus_unix_address(path, target.address, sizeof(target.address));
        if (r < 0)
                return r;
        r = nl_bus_open_target(&target, ret);
        if (r < 0) {
                *ret = sd_bus_flush_close_unref(*ret);
                return r;
        }
        return 0;
}
