/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "builtins.h"
#include "bus-steering.h"
#include "bus-util.h"
#include "log.h"
#include "manager.h"
#include "steer-maps.h"
#include "steer.h"

/* SetBindings: a bound on what is read into memory; the core refuses a set
 * its maps cannot hold long before this. */
#define SET_BINDINGS_MAX 1048576U

/* The link a Steering call names, with its maps open. */
typedef struct SteerTarget {
        Link *link;
        NlSteer *steer;
} SteerTarget;

/* The maps of the link used last stay open: opening them costs 20 system
 * calls, a third of an AddBinding, and a client usually sends many calls
 * for one link. A link is recognised by its kernel link id, which a detach
 * and attach under the same name changes; a detached link's maps stay open
 * only until the next call names another link. */
static struct {
        char key[128];
        uint32_t link_id;
        NlSteer *steer;
} open_cache;

/* The link the open maps may grow for (steer-maps.h): one call at a time. */
static SteerGrowCtx grow_ctx;

static void steer_target_done(SteerTarget *t) {
        if (t->steer == open_cache.steer)
                return;
        t->steer = nl_steer_close(t->steer);
}

static NlSteer *open_cache_get(const Link *l) {
        if (open_cache.steer && open_cache.link_id == l->info.link_id && strcmp(open_cache.key, l->key) == 0)
                return open_cache.steer;
        return NULL;
}

static void open_cache_put(const Link *l, NlSteer *s) {
        nl_steer_close(open_cache.steer);
        snprintf(open_cache.key, sizeof(open_cache.key), "%s", l->key);
        open_cache.link_id = l->info.link_id;
        open_cache.steer = s;
}

/* An sk_lookup link of ours that runs builtin:steer. */
static int steer_target_open(Manager *m, const char *netns, const char *name, SteerTarget *ret, NlError *e) {
        const NlBuiltin *b;
        char dir[4096], buf[80];
        Link *l = NULL;
        int r;

        r = manager_find(m, netns, NL_ATTACH_SK_LOOKUP, name, &l, e);
        if (r < 0)
                return r;
        b = l->builtin;
        if (!b || !b->per_link || strcmp(b->name, "steer") != 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EMEDIUMTYPE,
                                    "Link '%s' in netns %s runs program '%s', not builtin:steer", l->name,
                                    nl_printable(netns, buf, sizeof(buf)), l->info.prog_name);
        ret->link = l;
        grow_ctx = (SteerGrowCtx) { m, l };
        ret->steer = open_cache_get(l);
        if (ret->steer) {
                nl_steer_set_link(ret->steer, l->fd, steer_maps_grown, &grow_ctx);
                return 0;
        }
        r = manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir));
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Steer map folder path too long");
        r = nl_steer_open(dir, &ret->steer, e);
        /* Map pins removed behind our back are pinned again from the
         * link's program, and the call goes on. */
        if (r < 0 && manager_repair_steer_maps(m, l, NULL) > 0)
                r = nl_steer_open(dir, &ret->steer, e);
        if (r < 0)
                return r;
        nl_steer_set_link(ret->steer, l->fd, steer_maps_grown, &grow_ctx);
        open_cache_put(l, ret->steer);
        return 0;
}

/* Reads "s netns, s link" and opens the target; on failure error is set. */
static int read_target(sd_bus_message *msg, Manager *m, SteerTarget *t, sd_bus_error *error) {
        const char *netns, *name;
        NlError e = {};
        int r;

        r = sd_bus_message_read(msg, "ss", &netns, &name);
        if (r < 0)
                return r;
        r = steer_target_open(m, netns, name, t, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return 0;
}

/* The same for a call that changes the link's steering: the caller must be
 * allowed to. */
static int read_mutate_target(sd_bus_message *msg, Manager *m, SteerTarget *t, sd_bus_error *error) {
        NlError e = {};
        int r;

        r = bus_check_mutate_access(msg, error);
        if (r < 0)
                return r;
        r = manager_require_pin_root(m, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return read_target(msg, m, t, error);
}

static const char *binding_to_string(const NlSteerBinding *b, char *buf, size_t size) {
        char prefix[INET6_ADDRSTRLEN + 8];

        snprintf(buf, size, "%s %s port %u", nl_steer_protocol_to_string(b->protocol),
                 nl_steer_prefix_to_string(b, prefix, sizeof(prefix)), b->port);
        return buf;
}

static const char *family_to_string(uint8_t family) {
        return family == AF_INET6 ? "ipv6" : "ipv4";
}

static int method_add_binding(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        const char *protocol, *prefix, *label;
        NlSteerBinding b;
        NlError e = {};
        char desc[128];
        uint16_t port;
        int r;

        r = read_mutate_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ssqs", &protocol, &prefix, &port, &label);
        if (r < 0)
                return r;
        r = nl_steer_binding_parse(protocol, prefix, port, label, &b, &e);
        if (r >= 0)
                r = nl_steer_add_binding(t.steer, &b, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        if (r > 0)
                log_info("Steering %s/%s: bound %s to label '%s'", t.link->netns, t.link->name,
                         binding_to_string(&b, desc, sizeof(desc)), b.label);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_remove_binding(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        const char *protocol, *prefix;
        NlSteerBinding b;
        NlError e = {};
        char desc[128];
        uint16_t port;
        int r;

        r = read_mutate_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "ssq", &protocol, &prefix, &port);
        if (r < 0)
                return r;
        r = nl_steer_binding_parse(protocol, prefix, port, NULL, &b, &e);
        if (r >= 0)
                r = nl_steer_remove_binding(t.steer, &b, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        log_info("Steering %s/%s: unbound %s", t.link->netns, t.link->name, binding_to_string(&b, desc, sizeof(desc)));
        return sd_bus_reply_method_return(msg, NULL);
}

/* Replies to msg with the aa{sv} of the n records of size size at items,
 * each appended by append. */
static int reply_dict_array(sd_bus_message *msg, const void *items, size_t n, size_t size,
                            int (*append)(sd_bus_message *reply, const void *item)) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append(reply, (const char *) items + i * size);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int append_binding(sd_bus_message *reply, const void *item) {
        const NlSteerBinding *b = item;
        char prefix[INET6_ADDRSTRLEN + 8];

        return sd_bus_message_append(reply, "a{sv}", 6,
                                     "protocol", "s", nl_steer_protocol_to_string(b->protocol),
                                     "family", "s", family_to_string(b->family),
                                     "prefix", "s", nl_steer_prefix_to_string(b, prefix, sizeof(prefix)),
                                     "port", "q", b->port,
                                     "label", "s", b->label,
                                     "hits", "t", b->hits);
}

static int method_list_bindings(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        _cleanup_free_ NlSteerBinding *b = NULL;
        NlError e = {};
        size_t n;
        int r;

        r = read_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = nl_steer_list_bindings(t.steer, &b, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_dict_array(msg, b, n, sizeof(*b), append_binding);
}

static int method_set_bindings(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        _cleanup_free_ NlSteerBinding *b = NULL;
        size_t n = 0, allocated = 0;
        NlSteerChanges c = {};
        NlError e = {};
        int r;

        r = read_mutate_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "(ssqs)");
        if (r < 0)
                return r;
        for (;;) {
                const char *protocol, *prefix, *label;
                uint16_t port;

                r = sd_bus_message_read(msg, "(ssqs)", &protocol, &prefix, &port, &label);
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                if (n >= SET_BINDINGS_MAX)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "More than %u bindings in one SetBindings", SET_BINDINGS_MAX);
                if (n == allocated) {
                        size_t a = allocated ? allocated * 2 : 64;
                        NlSteerBinding *nb = reallocarray(b, a, sizeof(*b));
                        if (!nb)
                                return -ENOMEM;
                        b = nb;
                        allocated = a;
                }
                r = nl_steer_binding_parse(protocol, prefix, port, label, &b[n], &e);
                if (r < 0) {
                        nl_error_prefix(&e, r, "Binding %zu", n);
                        return bus_reply_nl_error(error, &e, r);
                }
                n++;
        }
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        r = nl_steer_set_bindings(t.steer, b, n, &c, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        /* What the link holds now: a binding the request named twice is one. */
        log_info("Steering %s/%s: replaced the bindings: %u now, %u added, %u removed", t.link->netns,
                 t.link->name, c.total, c.added, c.removed);
        return sd_bus_reply_method_return(msg, "a{sv}", 3, "added", "u", c.added, "removed", "u", c.removed,
                                          "total", "u", c.total);
}

static int method_register_socket(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        const char *label;
        NlError e = {};
        int fd, r;

        r = read_mutate_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "sh", &label, &fd);
        if (r < 0)
                return r;
        r = nl_steer_register_socket(t.steer, t.link->ino, label, fd, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        log_info("Steering %s/%s: registered a socket for label '%s'", t.link->netns, t.link->name, label);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_unregister_socket(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        const char *label;
        NlError e = {};
        int r;

        r = read_mutate_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(msg, "s", &label);
        if (r < 0)
                return r;
        r = nl_steer_unregister_socket(t.steer, label, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        log_info("Steering %s/%s: unregistered the sockets of label '%s'", t.link->netns, t.link->name, label);
        return sd_bus_reply_method_return(msg, NULL);
}

static int append_destination(sd_bus_message *reply, const void *item) {
        const NlSteerDestination *d = item;
        /* A socket the kernel still holds but that takes nothing (a
         * listener shut down) is no socket to the destination. */
        return sd_bus_message_append(reply, "a{sv}", 10,
                                     "label", "s", d->label,
                                     "protocol", "s", nl_steer_protocol_to_string(d->protocol),
                                     "family", "s", family_to_string(d->family),
                                     "socket_cookie", "t", d->cookie,
                                     "socket_state", "s", nl_sock_state_to_string(d->socket_state),
                                     "has_socket", "b",
                                     (int) (d->cookie != 0 && nl_sock_state_usable(d->socket_state)),
                                     "bindings", "u", d->bindings,
                                     "lookups", "t", d->lookups,
                                     "misses", "t", d->misses,
                                     "errors", "t", d->errors);
}

static int method_list_destinations(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steer_target_done) SteerTarget t = {};
        _cleanup_free_ NlSteerDestination *d = NULL;
        NlError e = {};
        size_t n;
        int r;

        r = read_target(msg, userdata, &t, error);
        if (r < 0)
                return r;
        r = nl_steer_list_destinations(t.steer, &d, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_dict_array(msg, d, n, sizeof(*d), append_destination);
}

const sd_bus_vtable steering_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("AddBinding", "ssssqs",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(link) SD_BUS_PARAM(protocol)
                                 SD_BUS_PARAM(prefix) SD_BUS_PARAM(port) SD_BUS_PARAM(label),
                                 "", , method_add_binding, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveBinding", "ssssq",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(link) SD_BUS_PARAM(protocol)
                                 SD_BUS_PARAM(prefix) SD_BUS_PARAM(port),
                                 "", , method_remove_binding, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListBindings", "ss", SD_BUS_PARAM(netns) SD_BUS_PARAM(link),
                                 "aa{sv}", SD_BUS_PARAM(bindings), method_list_bindings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RegisterSocket", "sssh",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(link) SD_BUS_PARAM(label) SD_BUS_PARAM(socket),
                                 "", , method_register_socket, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("UnregisterSocket", "sss",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(link) SD_BUS_PARAM(label),
                                 "", , method_unregister_socket, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListDestinations", "ss", SD_BUS_PARAM(netns) SD_BUS_PARAM(link),
                                 "aa{sv}", SD_BUS_PARAM(destinations), method_list_destinations,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetBindings", "ssa(ssqs)",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(link) SD_BUS_PARAM(bindings),
                                 "a{sv}", SD_BUS_PARAM(changes), method_set_bindings, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};
