/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "bus-manager.h"
#include "bus-parse.h"
#include "bus-util.h"
#include "link-view.h"
#include "log.h"

/* A request whose program changes at every load (a file rewritten while it
 * is read) is not run again forever: this many loads of one element that
 * found other content when the request ran again, and it is refused. */
#define PARK_STALLS_MAX 16

/*
 * Requests waiting for a program load (manager-load.c). The handler returns
 * without replying; when the load ends the request is run again from the
 * top and is answered then. Meanwhile every other client is served.
 *
 * A request runs again once per load it waits for: an AttachMany of 300
 * programs nobody loaded yet runs 300 times, each time one element further
 * (pending_index), holding the programs of the elements before it so that
 * the cache keeps them. Only a run that waits again at the same element,
 * or an earlier one, made no progress: its program's content changed
 * since the load began. Those are what is counted, per element.
 */
typedef struct Parked {
        struct Parked *next;
        char key[512];
        sd_bus_message *msg;
        sd_bus_message_handler_t handler;
        size_t index;           /* the element it waits at */
        unsigned stalls;        /* runs in a row that waited at index again */
        ProgramHold hold;       /* what its elements before index loaded */
} Parked;

static Parked *parked;
static const Parked *redispatching;     /* the request being run again */

static int method_attach_many(sd_bus_message *msg, void *userdata, sd_bus_error *error);

static void parked_free(Parked *p) {
        sd_bus_message_unref(p->msg);
        manager_hold_free(&p->hold);
        free(p);
}

static int park(sd_bus_message *msg, Manager *m, sd_bus_message_handler_t handler, sd_bus_error *error) {
        unsigned stalls = 0;
        Parked *p;

        if (redispatching) {
                stalls = m->pending_index > redispatching->index ? 0 : redispatching->stalls + 1;
                if (stalls >= PARK_STALLS_MAX) {
                        manager_hold_free(&m->pending_hold);
                        if (handler == method_attach_many)
                                return sd_bus_error_setf(error, "org.netnslink1.Error.InvalidProgram",
                                                         "Element %zu: its program's file changed each of the %u "
                                                         "times it was loaded; giving up",
                                                         m->pending_index, stalls);
                        return sd_bus_error_setf(error, "org.netnslink1.Error.InvalidProgram",
                                                 "The program's file changed each of the %u times it was loaded; "
                                                 "giving up", stalls);
                }
        }
        p = calloc(1, sizeof(*p));
        if (!p) {
                manager_hold_free(&m->pending_hold);
                return -ENOMEM;
        }
        snprintf(p->key, sizeof(p->key), "%s", m->pending_key);
        p->msg = sd_bus_message_ref(msg);
        p->handler = handler;
        p->index = m->pending_index;
        p->stalls = stalls;
        p->hold = m->pending_hold;
        m->pending_hold = (ProgramHold) {};
        p->next = parked;
        parked = p;
        return 1;
}

void bus_manager_program_loaded(Manager *m, const char *key) {
        Parked *ready = NULL, **pp = &parked;

        /* Take out every request waiting for key, then run them: a handler
         * may park its request again, on another load. */
        while (*pp) {
                Parked *p = *pp;
                if (strcmp(p->key, key) == 0) {
                        *pp = p->next;
                        p->next = ready;
                        ready = p;
                } else
                        pp = &p->next;
        }
        while (ready) {
                Parked *p = ready;
                sd_bus_error error = SD_BUS_ERROR_NULL;
                int r;

                ready = p->next;
                /* p, with the programs it holds, lives until the run is
                 * over: the run finds them in the cache. */
                redispatching = p;
                r = sd_bus_message_rewind(p->msg, true);
                if (r >= 0)
                        r = p->handler(p->msg, m->userdata, &error);
                redispatching = NULL;
                if (r < 0) {
                        if (sd_bus_error_is_set(&error))
                                (void) sd_bus_reply_method_error(p->msg, &error);
                        else
                                (void) sd_bus_reply_method_errno(p->msg, r, NULL);
                }
                sd_bus_error_free(&error);
                parked_free(p);
        }
}

void bus_manager_drop_parked(void) {
        while (parked) {
                Parked *p = parked;
                parked = p->next;
                parked_free(p);
        }
}

static int reply_link(sd_bus_message *msg, Manager *m, const Link *l) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        LinkView v;
        int r;

        link_view_init(&v, m, l);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = bus_append_link(reply, &v);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int reply_links(sd_bus_message *msg, Manager *m, Link **links, size_t n) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (links[i]) {
                        LinkView v;

                        link_view_init(&v, m, links[i]);
                        r = bus_append_link(reply, &v);
                        if (r < 0)
                                return r;
                }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error);
static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error);
static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* Attach, Update and Replace: a link and a program, and for Replace the
 * program id the link must run. */
static int method_program_call(sd_bus_message *msg, Context *c, sd_bus_error *error, ManagerMethod method,
                               sd_bus_message_handler_t again) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        Manager *m = c->manager;
        NlError e = {};
        Link *l = NULL;
        int r;

        r = bus_parse_manager_call(c, msg, method, &call, error);
        if (r < 0)
                return r;
        if (method == MANAGER_ATTACH)
                r = manager_attach(m, &call.ref, &call.prog, &l, &e);
        else if (method == MANAGER_UPDATE)
                r = manager_update(m, &call.ref, &call.prog, &l, &e);
        else
                r = manager_replace(m, &call.ref, call.expected, &call.prog, &l, &e);
        if (r == -EINPROGRESS)
                return park(msg, m, again, error);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_link(msg, m, l);
}

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_ATTACH, method_attach);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_UPDATE, method_update);
}

static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_REPLACE, method_replace);
}

static int method_detach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        Context *c = userdata;
        NlError e = {};
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_DETACH, &call, error);
        if (r < 0)
                return r;
        r = manager_detach(c->manager, &call.ref, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_link(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        Context *c = userdata;
        NlError e = {};
        Link *l = NULL;
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_GET_LINK, &call, error);
        if (r < 0)
                return r;
        r = manager_get(c->manager, &call.ref, &l, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_link(msg, c->manager, l);
}

static int method_list_links(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        _cleanup_free_ Link **links = NULL;
        Context *c = userdata;
        NlError e = {};
        size_t n;
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_LIST_LINKS, &call, error);
        if (r < 0)
                return r;
        r = manager_list(c->manager, call.netns, &links, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_links(msg, c->manager, links, n);
}

static int method_attach_many(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        _cleanup_free_ Link **links = NULL;
        Context *c = userdata;
        NlError e = {};
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_ATTACH_MANY, &call, error);
        if (r < 0)
                return r;
        r = manager_attach_many(c->manager, call.refs, call.progs, call.n, &links, &e);
        if (r == -EINPROGRESS)
                return park(msg, c->manager, method_attach_many, error);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_links(msg, c->manager, links, call.n);
}

static int method_detach_many(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        Context *c = userdata;
        NlError e = {};
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_DETACH_MANY, &call, error);
        if (r < 0)
                return r;
        r = manager_detach_many(c->manager, call.refs, call.n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int property_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", NETNSLINK_VERSION);
}

static int property_pin_root(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "s", nl_pin_store_root(c->manager->store));
}

static int property_n_links(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Context *c = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) hashmap_size(c->manager->links));
}

const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("PinRoot", "s", property_pin_root, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("NLinks", "u", property_n_links, 0, 0),
        SD_BUS_METHOD_WITH_NAMES("Attach", "sssa{sv}",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(attach_type) SD_BUS_PARAM(name) SD_BUS_PARAM(program),
                                 "a{sv}", SD_BUS_PARAM(link), method_attach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Update", "sssa{sv}",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(attach_type) SD_BUS_PARAM(name) SD_BUS_PARAM(program),
                                 "a{sv}", SD_BUS_PARAM(link), method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Replace", "sssua{sv}",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(attach_type) SD_BUS_PARAM(name)
                                 SD_BUS_PARAM(expected_prog_id) SD_BUS_PARAM(program),
                                 "a{sv}", SD_BUS_PARAM(link), method_replace, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Detach", "sss",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(attach_type) SD_BUS_PARAM(name),
                                 "", , method_detach, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("GetLink", "sss",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(attach_type) SD_BUS_PARAM(name),
                                 "a{sv}", SD_BUS_PARAM(link), method_get_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListLinks", "s", SD_BUS_PARAM(netns),
                                 "aa{sv}", SD_BUS_PARAM(links), method_list_links, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("AttachMany", "a(sssa{sv})", SD_BUS_PARAM(links),
                                 "aa{sv}", SD_BUS_PARAM(links), method_attach_many, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("DetachMany", "a(sss)", SD_BUS_PARAM(links),
                                 "", , method_detach_many, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("LinkAttached", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkUpdated", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDetached", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDefunct", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDrifted", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_VTABLE_END
};
