/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's side of netnslinkd's private socket: a direct D-Bus
 * connection (no bus daemon, so no Hello and no name to ask for; the
 * messages are cni-dbus.c's), and the few Manager calls every command
 * shares. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cni.h"

int cni_bus_open(const char *socket, CniBus **ret, CniError *e) {
        int r = cni_dbus_connect(socket, ret);

        if (r == -ENAMETOOLONG)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "socket: '%s' is too long", socket);
        if (r < 0)
                return cni_error(e, CNI_ERR_TRY_AGAIN_LATER, strerror(-r),
                                 "Cannot reach netnslinkd at %s: %s; try again later", socket, strerror(-r));
        return 0;
}

int cni_bus_new_call(const char *iface, const char *method, CniMsg **ret) {
        return cni_msg_new_call(NL_BUS_PATH, iface, method, ret);
}

int cni_bus_call(CniBus *bus, const char *method, CniMsg *req, int r, CniMsg **reply, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *answer = NULL;
        const char *name = NULL, *message = NULL;

        if (r < 0)
                return cni_error(e, CNI_ERR_IO, strerror(-r), "Cannot build a %s call", method);
        r = cni_dbus_call(bus, req, &answer, &name, &message);
        if (r < 0)
                return cni_error_bus(e, method, name, message, r);
        if (reply)
                *reply = TAKE_PTR(answer);
        return 0;
}

int cni_bus_call_dicts(CniBus *bus, const char *method, CniMsg *req, int r, CniMsg **reply, size_t *end,
                       CniError *e) {
        r = cni_bus_call(bus, method, req, r, reply, e);
        if (r < 0)
                return r;
        r = cni_msg_enter_array(*reply, 'a', end);
        if (r < 0)
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, strerror(-r), "Cannot read netnslinkd's %s reply", method);
        return 0;
}

static int link_entry(CniMsg *m, const char *key, const char *sig, void *userdata) {
        static const struct {
                const char *key;
                size_t offset;
        } strings[] = {
                { "netns", offsetof(CniLinkInfo, netns) },
                { "attach_type", offsetof(CniLinkInfo, attach_type) },
                { "name", offsetof(CniLinkInfo, name) },
                { "source", offsetof(CniLinkInfo, source) },
                { "program_source", offsetof(CniLinkInfo, program_source) },
        };
        CniLinkInfo *l = userdata;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strcmp(key, strings[i].key) == 0 && strcmp(sig, "s") == 0) {
                        r = cni_msg_read_str(m, (const char **) ((char *) l + strings[i].offset));
                        return r < 0 ? r : 1;
                }
        if (strcmp(key, "netns_ino") == 0 && strcmp(sig, "t") == 0)
                r = cni_msg_read_basic(m, 't', &l->netns_ino);
        else if (strcmp(key, "defunct") == 0 && strcmp(sig, "b") == 0)
                r = cni_msg_read_basic(m, 'b', &l->defunct);
        else
                return 0;
        return r < 0 ? r : 1;
}

int cni_read_link(CniMsg *m, CniLinkInfo *ret) {
        int r;

        *ret = (CniLinkInfo) {};
        r = cni_msg_read_dict(m, link_entry, ret);
        if (r < 0)
                return r;
        if (!ret->netns || !ret->attach_type || !ret->name)
                return -EBADMSG;
        if (!ret->source)
                ret->source = "";
        return 0;
}

int cni_list_links(CniBus *bus, cni_link_filter_fn keep, void *userdata, CniMsg **ret_reply, CniLinkInfo **ret,
                   size_t *ret_n, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL, *reply = NULL;
        _cleanup_free_ CniLinkInfo *v = NULL;
        size_t n = 0, allocated = 0, end;
        int r;

        r = cni_bus_new_call(NL_BUS_MANAGER_IFACE, "ListLinks", &req);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', "");
        r = cni_bus_call_dicts(bus, "ListLinks", req, r, &reply, &end, e);
        if (r < 0)
                return r;
        while (r >= 0 && cni_msg_in(reply, end)) {
                CniLinkInfo l;

                r = cni_read_link(reply, &l);
                if (r < 0 || !keep(&l, userdata))
                        continue;
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 16;
                        CniLinkInfo *nv = reallocarray(v, a, sizeof(*nv));
                        if (!nv)
                                return cni_error(e, CNI_ERR_IO, NULL, "Out of memory");
                        v = nv;
                        allocated = a;
                }
                v[n++] = l;
        }
        if (r < 0)
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, strerror(-r), "Cannot read netnslinkd's ListLinks reply");
        *ret_reply = TAKE_PTR(reply);
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int cni_detach_links(CniBus *bus, const CniLinkInfo *links, size_t n, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL;
        int r;

        if (n == 0)
                return 0;
        r = cni_bus_new_call(NL_BUS_MANAGER_IFACE, "DetachMany", &req);
        if (r >= 0)
                r = cni_msg_open(req, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                /* By inode: the netns's path may be gone while it lives. */
                char ino[32];
                snprintf(ino, sizeof(ino), "ino:%" PRIu64, links[i].netns_ino);
                r = cni_msg_open(req, 'r', "sss");
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', ino);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', links[i].attach_type);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', links[i].name);
                if (r >= 0)
                        r = cni_msg_close(req);
        }
        if (r >= 0)
                r = cni_msg_close(req);
        return cni_bus_call(bus, "DetachMany", req, r, NULL, e);
}
