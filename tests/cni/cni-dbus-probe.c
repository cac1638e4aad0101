/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CNI plugin's D-Bus messages (src/cni/cni-dbus.c) against the real
 * daemon, for test-cni-dbus.sh:
 *
 *   cni-dbus-probe SOCKET call INTERFACE METHOD [STRING...]
 *       calls METHOD with the strings as its arguments and walks the whole
 *       reply by its signature: prints "ok" (exit 0), or the
 *       daemon's error as "error NAME: MESSAGE" (exit 2); a reply that does
 *       not parse exits 1.
 *   cni-dbus-probe SOCKET links
 *       ListLinks(""), read as the plugin reads it: one line per link,
 *       "NETNS_INO ATTACH_TYPE NAME SOURCE DEFUNCT".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni-dbus.h"

static int link_entry(CniMsg *m, const char *key, const char *sig, void *userdata) {
        struct {
                const char *type, *name, *source;
                uint64_t ino;
                bool defunct;
        } *l = userdata;
        const char **s = strcmp(key, "attach_type") == 0 ? &l->type
                         : strcmp(key, "name") == 0      ? &l->name
                         : strcmp(key, "source") == 0    ? &l->source
                                                         : NULL;

        if (s && strcmp(sig, "s") == 0)
                return cni_msg_read_str(m, s) < 0 ? -1 : 1;
        if (strcmp(key, "netns_ino") == 0 && strcmp(sig, "t") == 0)
                return cni_msg_read_basic(m, 't', &l->ino) < 0 ? -1 : 1;
        if (strcmp(key, "defunct") == 0 && strcmp(sig, "b") == 0)
                return cni_msg_read_basic(m, 'b', &l->defunct) < 0 ? -1 : 1;
        return 0;
}

int main(int argc, char *argv[]) {
        CniBus *bus = NULL;
        CniMsg *req = NULL, *reply = NULL;
        const char *name = NULL, *message = NULL;
        bool links = argc == 3 && strcmp(argv[2], "links") == 0;
        int r;

        if (!links && (argc < 5 || strcmp(argv[2], "call") != 0)) {
                fprintf(stderr, "usage: %s SOCKET call INTERFACE METHOD [STRING...] | SOCKET links\n", argv[0]);
                return 64;
        }
        r = cni_dbus_connect(argv[1], &bus);
        if (r < 0) {
                fprintf(stderr, "connect: %s\n", strerror(-r));
                return 1;
        }
        r = links ? cni_msg_new_call("/org/netnslink1", "org.netnslink1.Manager", "ListLinks", &req)
                  : cni_msg_new_call("/org/netnslink1", argv[3], argv[4], &req);
        if (links && r >= 0)
                r = cni_msg_append_str(req, 's', "");
        for (int i = 5; !links && r >= 0 && i < argc; i++)
                r = cni_msg_append_str(req, 's', argv[i]);
        if (r >= 0)
                r = cni_dbus_call(bus, req, &reply, &name, &message);
        if (r == -EREMOTEIO) {
                printf("error %s: %s\n", name, message);
                r = 2;
        } else if (r < 0) {
                fprintf(stderr, "call: %s\n", strerror(-r));
                r = 1;
        } else if (links) {
                size_t end;

                r = cni_msg_enter_array(reply, 'a', &end);
                while (r >= 0 && cni_msg_in(reply, end)) {
                        struct {
                                const char *type, *name, *source;
                                uint64_t ino;
                                bool defunct;
                        } l = { "", "", "", 0, false };
                        r = cni_msg_read_dict(reply, link_entry, &l);
                        if (r >= 0)
                                printf("%llu %s %s %s %s\n", (unsigned long long) l.ino, l.type, l.name,
                                       *l.source ? l.source : "-", l.defunct ? "defunct" : "live");
                }
                r = r < 0 ? 1 : 0;
        } else {
                r = cni_msg_skip_body(reply);
                if (r >= 0)
                        printf("ok\n");
                r = r < 0 ? 1 : 0;
        }
        cni_msg_free(reply);
        cni_msg_free(req);
        cni_dbus_close(bus);
        return r;
}
