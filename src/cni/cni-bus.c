/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The plugin's side of netnslinkd's private socket: a direct D-Bus
 * connection (no bus daemon, so no Hello and no name to ask for), and the
 * few Manager calls every command shares. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bus-connect.h"
#include "bus-names.h"
#include "cni.h"

int cni_bus_open(const char *socket, sd_bus **ret, CniError *e) {
        int r = nl_bus_open_direct(socket, ret);

        if (r == -ENAMETOOLONG)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, NULL, "socket: '%s' is too long", socket);
        if (r < 0)
                return cni_error(e, CNI_ERR_TRY_AGAIN_LATER, strerror(-r),
                                 "Cannot reach netnslinkd at %s: %s; try again later", socket, strerror(-r));
        return 0;
}

int cni_bus_new_call(sd_bus *bus, const char *iface, const char *method, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, NL_BUS_NAME, NL_BUS_PATH, iface, method);
}

int cni_bus_call(sd_bus *bus, const char *iface, const char *method, sd_bus_message *req, sd_bus_message **reply,
                 CniError *e) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = sd_bus_call(bus, req, 0, &error, reply);

        if (r < 0)
                return cni_error_bus(e, method, &error, r);
        return 0;
}

int cni_bus_call_dicts(sd_bus *bus, const char *iface, const char *method, sd_bus_message *req, int r,
                       sd_bus_message **reply, CniError *e) {
        if (r < 0)
                return cni_error(e, CNI_ERR_IO, strerror(-r), "Cannot build a %s call", method);
        r = cni_bus_call(bus, iface, method, req, reply, e);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(*reply, 'a', "a{sv}");
        if (r < 0)
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, strerror(-r), "Cannot read netnslinkd's %s reply", method);
        return 0;
}

int cni_read_link(sd_bus_message *m, CniLinkInfo *ret) {
        int r;

        *ret = (CniLinkInfo) {};
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
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
                const char *key;
                size_t i;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(strings) && strcmp(key, strings[i].key) != 0; i++)
                        ;
                if (i < ELEMENTSOF(strings))
                        r = sd_bus_message_read(m, "v", "s", (const char **) ((char *) ret + strings[i].offset));
                else if (strcmp(key, "netns_ino") == 0)
                        r = sd_bus_message_read(m, "v", "t", &ret->netns_ino);
                else if (strcmp(key, "defunct") == 0) {
                        int b = 0;
                        r = sd_bus_message_read(m, "v", "b", &b);
                        ret->defunct = b;
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (!ret->netns || !ret->attach_type || !ret->name)
                return -EBADMSG;
        if (!ret->source)
                ret->source = "";
        return sd_bus_message_exit_container(m);
}

int cni_list_links(sd_bus *bus, cni_link_filter_fn keep, void *userdata, sd_bus_message **ret_reply,
                   CniLinkInfo **ret, size_t *ret_n, CniError *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL, *reply = NULL;
        _cleanup_free_ CniLinkInfo *v = NULL;
        size_t n = 0, allocated = 0;
        int r;

        r = cni_bus_new_call(bus, NL_BUS_MANAGER_IFACE, "ListLinks", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "s", "");
        r = cni_bus_call_dicts(bus, NL_BUS_MANAGER_IFACE, "ListLinks", req, r, &reply, e);
        if (r < 0)
                return r;
        while (r >= 0) {
                CniLinkInfo l;

                r = sd_bus_message_at_end(reply, false);
                if (r != 0)
                        break;
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

int cni_detach_links(sd_bus *bus, const CniLinkInfo *links, size_t n, CniError *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        if (n == 0)
                return 0;
        r = cni_bus_new_call(bus, NL_BUS_MANAGER_IFACE, "DetachMany", &req);
        if (r >= 0)
                r = sd_bus_message_open_container(req, 'a', "(sss)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                /* By inode: the netns's path may be gone while it lives. */
                char ino[32];
                snprintf(ino, sizeof(ino), "ino:%" PRIu64, links[i].netns_ino);
                r = sd_bus_message_append(req, "(sss)", ino, links[i].attach_type, links[i].name);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(req);
        if (r < 0)
                return cni_error(e, CNI_ERR_IO, strerror(-r), "Cannot build a DetachMany call");
        return cni_bus_call(bus, NL_BUS_MANAGER_IFACE, "DetachMany", req, NULL, e);
}
