/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <string.h>

#include "bus-config.h"
#include "bus-manager.h"
#include "bus-util.h"
#include <systemd/sd-event.h>
#include "log.h"

/* AttachMany/DetachMany: more than this many elements is a mistake. */
#define BATCH_MAX 65536
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
                        r = p->handler(p->msg, m, &error);
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
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = bus_append_link(reply, m, l);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int read_ref(sd_bus_message *msg, LinkRef *ref) {
        return sd_bus_message_read(msg, "sss", &ref->netns, &ref->type, &ref->name);
}

/* object_path names a file the daemon opens with its own rights: root only. */
static int check_program_access(sd_bus_message *msg, const ProgramSpec *p, sd_bus_error *error) {
        if (p->kind != PROGRAM_PATH)
                return 0;
        if (bus_sender_is_root(msg) > 0)
                return 0;
        return sd_bus_error_set(error, SD_BUS_ERROR_ACCESS_DENIED,
                                "object_path is for root callers only; pass the object as object_fd");
}

/* Attach, Update and Replace: a link and a program, and for Replace the
 * program id the link must run. */
typedef enum ProgramCall {
        CALL_ATTACH,
        CALL_UPDATE,
        CALL_REPLACE,
} ProgramCall;

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error);
static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error);
static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error);

static int method_program_call(sd_bus_message *msg, void *userdata, sd_bus_error *error, ProgramCall call) {
        static const sd_bus_message_handler_t again[] = {
                [CALL_ATTACH] = method_attach,
                [CALL_UPDATE] = method_update,
                [CALL_REPLACE] = method_replace,
        };
        Manager *m = userdata;
        uint32_t expected = 0;
        NlError e = {};
        ProgramSpec p;
        LinkRef ref;
        Link *l = NULL;
        int r;

        r = bus_check_mutate_access(msg, error);
        if (r < 0)
                return r;
        r = read_ref(msg, &ref);
        if (r >= 0 && call == CALL_REPLACE)
                r = sd_bus_message_read(msg, "u", &expected);
        if (r < 0)
                return r;
        r = bus_read_program(msg, &p, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        r = check_program_access(msg, &p, error);
        if (r < 0)
                return r;
        switch (call) {
        case CALL_ATTACH:
                r = manager_attach(m, &ref, &p, &l, &e);
                break;
        case CALL_UPDATE:
                r = manager_update(m, &ref, &p, &l, &e);
                break;
        case CALL_REPLACE:
                r = manager_replace(m, &ref, expected, &p, &l, &e);
                break;
        }
        if (r == -EINPROGRESS)
                return park(msg, m, again[call], error);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_link(msg, m, l);
}

static int method_attach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, CALL_ATTACH);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, CALL_UPDATE);
}

static int method_replace(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_program_call(msg, userdata, error, CALL_REPLACE);
}

static int method_detach(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        NlError e = {};
        LinkRef ref;
        int r;

        r = bus_check_mutate_access(msg, error);
        if (r < 0)
                return r;
        r = read_ref(msg, &ref);
        if (r < 0)
                return r;
        r = manager_detach(m, &ref, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_link(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        NlError e = {};
        LinkRef ref;
        Link *l = NULL;
        int r;

        r = read_ref(msg, &ref);
        if (r < 0)
                return r;
        r = manager_get(m, &ref, &l, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_link(msg, m, l);
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
                        r = bus_append_link(reply, m, links[i]);
                        if (r < 0)
                                return r;
                }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_links(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ Link **links = NULL;
        Manager *m = userdata;
        const char *netns;
        NlError e = {};
        size_t n;
        int r;

        r = sd_bus_message_read(msg, "s", &netns);
        if (r < 0)
                return r;
        r = manager_list(m, netns, &links, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_links(msg, m, links, n);
}

/* Grows the two arrays of a batch by one element. */
static int batch_grow(LinkRef **refs, ProgramSpec **progs, size_t n, size_t *allocated) {
        if (n < *allocated)
                return 0;
        size_t a = *allocated ? *allocated * 2 : 32;
        LinkRef *nr = reallocarray(*refs, a, sizeof(LinkRef));
        if (!nr)
                return -ENOMEM;
        *refs = nr;
        if (progs) {
                ProgramSpec *np = reallocarray(*progs, a, sizeof(ProgramSpec));
                if (!np)
                        return -ENOMEM;
                *progs = np;
        }
        *allocated = a;
        return 0;
}

/* Reads AttachMany's a(sssa{sv}) (progs given) or DetachMany's a(sss). */
static int read_batch(sd_bus_message *msg, LinkRef **refs, ProgramSpec **progs, size_t *ret_n,
                      sd_bus_error *error) {
        const char *sig = progs ? "sssa{sv}" : "sss";
        size_t n = 0, allocated = 0;
        NlError e = {};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', progs ? "(sssa{sv})" : "(sss)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'r', sig)) > 0) {
                if (n >= BATCH_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "More than %d elements in one batch", BATCH_MAX);
                if (batch_grow(refs, progs, n, &allocated) < 0)
                        return -ENOMEM;
                r = read_ref(msg, &(*refs)[n]);
                if (r < 0)
                        return r;
                if (progs) {
                        r = bus_read_program(msg, &(*progs)[n], &e);
                        if (r < 0) {
                                nl_error_prefix(&e, r, "Element %zu", n);
                                return bus_reply_nl_error(error, &e, r);
                        }
                        r = check_program_access(msg, &(*progs)[n], error);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
                n++;
        }
        if (r < 0)
                return r;
        *ret_n = n;
        return sd_bus_message_exit_container(msg);
}

static int method_attach_many(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ LinkRef *refs = NULL;
        _cleanup_free_ ProgramSpec *progs = NULL;
        _cleanup_free_ Link **links = NULL;
        Manager *m = userdata;
        size_t n = 0;
        NlError e = {};
        int r;

        r = bus_check_mutate_access(msg, error);
        if (r < 0)
                return r;
        r = read_batch(msg, &refs, &progs, &n, error);
        if (r < 0)
                return r;
        r = manager_attach_many(m, refs, progs, n, &links, &e);
        if (r == -EINPROGRESS)
                return park(msg, m, method_attach_many, error);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_links(msg, m, links, n);
}

static int method_detach_many(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_free_ LinkRef *refs = NULL;
        Manager *m = userdata;
        size_t n = 0;
        NlError e = {};
        int r;

        r = bus_check_mutate_access(msg, error);
        if (r < 0)
                return r;
        r = read_batch(msg, &refs, NULL, &n, error);
        if (r < 0)
                return r;
        r = manager_detach_many(m, refs, n, &e);
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
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", nl_pin_store_root(m->store));
}

static int property_n_links(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) hashmap_size(m->links));
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
