/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "bus-parse.h"
#include "bus-steering.h"
#include "bus-util.h"
#include "steer-set-job.h"
#include "steering.h"

/* The first half of every handler: parse (bus-parse.c), then find the
 * link and open its maps (the Steering core); on failure error is set. A
 * change to a link that grows for another call's SetBindings is refused. */
static int open_call(sd_bus_message *msg, Context *c, SteeringMethod method, SteeringCall *call,
                     SteerTarget *t, sd_bus_error *error) {
        NlError e = {};
        int r;

        r = bus_parse_steering_call(c, msg, method, call, error);
        if (r < 0)
                return r;
        r = steering_open(&c->steering, c->manager, call->netns, call->link, call->mutate, t, &e);
        if (r >= 0 && call->mutate)
                r = steer_set_job_check(&c->steering, msg, t, &e);
        if (r < 0) {
                /* A SetBindings back from its growth whose link went. */
                steer_set_job_forget(&c->steering, msg);
                return bus_reply_nl_error(error, &e, r);
        }
        return 0;
}

/* The core's answer to a call that changes the link: empty, or its error. */
static int reply_change(sd_bus_message *msg, const NlError *e, int r, sd_bus_error *error) {
        if (r < 0)
                return bus_reply_nl_error(error, e, r);
        return sd_bus_reply_method_return(msg, NULL);
}

static const char *family_to_string(uint8_t family) {
        return family == AF_INET6 ? "ipv6" : "ipv4";
}

static int method_add_binding(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        NlError e = {};
        int r;

        r = open_call(msg, userdata, STEERING_ADD_BINDING, &call, &t, error);
        if (r < 0)
                return r;
        r = steering_add_binding(&t, &call.binding, &e);
        return reply_change(msg, &e, r, error);
}

static int method_remove_binding(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        NlError e = {};
        int r;

        r = open_call(msg, userdata, STEERING_REMOVE_BINDING, &call, &t, error);
        if (r < 0)
                return r;
        r = steering_remove_binding(&t, &call.binding, &e);
        return reply_change(msg, &e, r, error);
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
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        _cleanup_free_ NlSteerBinding *b = NULL;
        NlError e = {};
        size_t n;
        int r;

        r = open_call(msg, userdata, STEERING_LIST_BINDINGS, &call, &t, error);
        if (r < 0)
                return r;
        r = nl_steer_list_bindings(t.steer, &b, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        return reply_dict_array(msg, b, n, sizeof(*b), append_binding);
}

static int method_set_bindings(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        Context *ctx = userdata;
        NlSteerChanges c = {};
        NlError e = {};
        int r;

        r = open_call(msg, userdata, STEERING_SET_BINDINGS, &call, &t, error);
        if (r < 0)
                return r;
        /* Off the loop, in steps; the call runs again after each. */
        r = steer_set_job_run(&ctx->steering, msg, &t, call.bindings, call.n, &c, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        if (r == 1)
                return 1;       /* no reply yet */
        return sd_bus_reply_method_return(msg, "a{sv}", 3, "added", "u", c.added, "removed", "u", c.removed,
                                          "total", "u", c.total);
}

static int method_register_socket(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        NlError e = {};
        int r;

        r = open_call(msg, userdata, STEERING_REGISTER_SOCKET, &call, &t, error);
        if (r < 0)
                return r;
        r = steering_register_socket(&t, call.label, call.fd, &e);
        return reply_change(msg, &e, r, error);
}

static int method_unregister_socket(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        NlError e = {};
        int r;

        r = open_call(msg, userdata, STEERING_UNREGISTER_SOCKET, &call, &t, error);
        if (r < 0)
                return r;
        r = steering_unregister_socket(&t, call.label, &e);
        return reply_change(msg, &e, r, error);
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
        _cleanup_(steering_call_done) SteeringCall call = {};
        _cleanup_(steer_target_done) SteerTarget t = {};
        _cleanup_free_ NlSteerDestination *d = NULL;
        NlError e = {};
        size_t n;
        int r;

        r = open_call(msg, userdata, STEERING_LIST_DESTINATIONS, &call, &t, error);
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
