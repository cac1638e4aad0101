/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bus-config.h"
#include <systemd/sd-event.h>

#include "bus-manager.h"
#include "bus-parse.h"
#include "bus-util.h"
#include "link-view.h"
#include "log.h"
#include "steer-set-job.h"

/*
 * A request that waits for program loads (loader.h). The handler returns
 * without replying and the request keeps its slots, in m->waiting under
 * its message; when no slot waits any more, the message is queued to be
 * read again (sd_bus_enqueue_for_read), so it runs from the top through
 * the vtable, takes its waiter back and finds its programs in the slots.
 * Meanwhile every other client is served.
 */
typedef struct Waiter {
        Manager *m;
        sd_bus_message *msg;
        ProgramSlots slots;
} Waiter;

static void waiter_key(const sd_bus_message *msg, char buf[static 32]) {
        snprintf(buf, 32, "%p", (const void *) msg);
}

static Waiter *waiter_free(Waiter *w) {
        if (!w)
                return NULL;
        loader_forget(w->m->loader, w);
        program_slots_done(&w->slots);
        sd_bus_message_unref(w->msg);
        free(w);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Waiter *, waiter_free);

/* A load ended: once the request waits for nothing, it runs again. */
static bool waiter_ready(void *userdata, const char *key, NlProgram *prog, const NlError *error, bool exclusive) {
        Waiter *w = userdata;
        bool took = program_slots_deliver(&w->slots, key, prog, error, exclusive);
        char k[32];
        int r;

        if (program_slots_waiting(&w->slots))
                return took;
        r = sd_bus_message_rewind(w->msg, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(sd_bus_message_get_bus(w->msg), w->msg);
        if (r < 0) {
                log_error("Cannot run a request again after its program loaded: %s", strerror(-r));
                (void) sd_bus_reply_method_errno(w->msg, r, NULL);
                waiter_key(w->msg, k);
                hashmap_remove(w->m->waiting, k);
                waiter_free(w);
        }
        return took;
}

/* The request's waiter: the one it left when it waited, or a new one with
 * n empty slots. */
static int waiter_take(Manager *m, sd_bus_message *msg, size_t n, Waiter **ret) {
        Waiter *w = NULL;
        char k[32];

        waiter_key(msg, k);
        if (m->waiting)
                w = hashmap_remove(m->waiting, k);
        if (w && w->slots.n == n) {
                *ret = w;
                return 0;
        }
        waiter_free(w);
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->m = m;
        w->msg = sd_bus_message_ref(msg);
        if (program_slots_init(&w->slots, n) < 0) {
                waiter_free(w);
                return -ENOMEM;
        }
        w->slots.on_ready = waiter_ready;
        w->slots.userdata = w;
        *ret = w;
        return 0;
}

/* The request waits: its waiter stays until it runs again. */
static int waiter_park(Waiter *w) {
        char k[32];
        int r;

        if (!w->m->waiting && !(w->m->waiting = hashmap_new()))
                r = -ENOMEM;
        else {
                waiter_key(w->msg, k);
                r = hashmap_put(w->m->waiting, k, w);
        }
        if (r < 0) {
                waiter_free(w);
                return r;
        }
        return 1;
}

bool bus_manager_is_waiting(Manager *m, sd_bus_message *msg) {
        char k[32];

        waiter_key(msg, k);
        return m->waiting && hashmap_get(m->waiting, k);
}

void bus_manager_drop_waiting(Manager *m) {
        HashmapIter it = {};
        Waiter *w;

        while (hashmap_iterate(m->waiting, &it, (void **) &w, NULL))
                waiter_free(w);
        hashmap_free(m->waiting, NULL);
        m->waiting = NULL;
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

/* Attach's bindings (AttachBindings), once its links are made. A failure
 * (nothing in the bindings: they were checked; the maps, say) detaches
 * the links again: the call is all or nothing. */
static int attach_bindings(Context *c, const LinkRef *refs, const AttachBindings *x, size_t n, NlError *e) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_(steer_target_done) SteerTarget t = {};
                NlError ignored = {};
                int r;

                if (!x[i].given || x[i].n == 0)
                        continue;
                r = steering_open(&c->steering, c->manager, refs[i].netns, refs[i].name, true, &t, e);
                if (r >= 0)
                        r = steer_set_first(&t, x[i].b, x[i].n, e);
                if (r >= 0)
                        continue;
                log_warning("Detaching the link(s) just made: the bindings of link '%s' could not be written: %s",
                            refs[i].name, e->message);
                if (n > 1) {
                        nl_error_prefix(e, r, "Element %zu", i);
                        (void) manager_detach_many(c->manager, refs, n, &ignored);
                } else
                        (void) manager_detach(c->manager, refs, &ignored);
                return r;
        }
        return 0;
}

/* Attach, Update and Replace: a link and a program, and for Replace the
 * program id the link must run. */
static int method_program_call(sd_bus_message *msg, Context *c, sd_bus_error *error, ManagerMethod method) {
        _cleanup_(manager_call_done) ManagerCall call = {};
        _cleanup_(waiter_freep) Waiter *w = NULL;
        Manager *m = c->manager;
        NlError e = {};
        Link *l = NULL;
        int r;

        r = bus_parse_manager_call(c, msg, method, &call, error);
        if (r < 0)
                return r;
        r = waiter_take(m, msg, 1, &w);
        if (r < 0)
                return r;
        if (method == MANAGER_ATTACH)
                r = manager_attach(m, &call.ref, &call.prog, &w->slots, &l, &e);
        else if (method == MANAGER_UPDATE)
                r = manager_update(m, &call.ref, &call.prog, &w->slots, &l, &e);
        else
                r = manager_replace(m, &call.ref, call.expected, &call.prog, &w->slots, &l, &e);
        if (r == -EINPROGRESS)
                return waiter_park(TAKE_PTR(w));
        if (r >= 0 && method == MANAGER_ATTACH)
                r = attach_bindings(c, &call.ref, &call.bindings, 1, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_link(msg, m, l);
}

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_ATTACH);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_UPDATE);
}

static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, MANAGER_REPLACE);
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
        _cleanup_(waiter_freep) Waiter *w = NULL;
        _cleanup_free_ Link **links = NULL;
        Context *c = userdata;
        NlError e = {};
        int r;

        r = bus_parse_manager_call(c, msg, MANAGER_ATTACH_MANY, &call, error);
        if (r < 0)
                return r;
        r = waiter_take(c->manager, msg, call.n, &w);
        if (r < 0)
                return r;
        r = manager_attach_many(c->manager, call.refs, call.progs, call.n, &w->slots, &links, &e);
        if (r == -EINPROGRESS)
                return waiter_park(TAKE_PTR(w));
        if (r >= 0)
                r = attach_bindings(c, call.refs, call.batch_bindings, call.n, &e);
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
        SD_BUS_METHOD_WITH_NAMES("Reload", "b", SD_BUS_PARAM(dry_run),
                                 "a{sv}", SD_BUS_PARAM(result), bus_method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_NAMES("LinkAttached", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkUpdated", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDetached", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDefunct", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_SIGNAL_WITH_NAMES("LinkDrifted", "a{sv}", SD_BUS_PARAM(link), 0),
        SD_BUS_VTABLE_END
};
