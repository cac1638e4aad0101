/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>

#include "bus-names.h"
#include "bus-observe.h"
#include "bus-util.h"
#include "observe.h"

static int append_hook(sd_bus_message *reply, const HookEntry *h) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}{sv}",
                                  "attach_type", "s", nl_attach_type_to_string(h->prog.type),
                                  "order", "u", h->prog.order,
                                  "prog_id", "u", h->prog.prog_id,
                                  "prog_name", "s", h->prog.prog_name,
                                  "prog_tag", "s", h->prog.prog_tag,
                                  "owned", "b", (int) !!h->link);
        if (r >= 0 && h->link)
                r = sd_bus_message_append(reply, "{sv}{sv}",
                                          "name", "s", h->link->name,
                                          "link_id", "u", h->link->info.link_id);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_query_netns(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ HookEntry *h = NULL;
        const char *netns;
        NlError e = {};
        size_t n;
        int r;

        r = sd_bus_message_read(msg, "s", &netns);
        if (r < 0)
                return r;
        r = observe_query(userdata, netns, &h, &n, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_hook(reply, &h[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* "tcp 192.0.2.0/24:443" */
static const char *binding_to_string(const NlSteerBinding *b, char *buf, size_t size) {
        char prefix[INET6_ADDRSTRLEN + 8];

        snprintf(buf, size, "%s %s:%u", nl_steer_protocol_to_string(b->protocol),
                 nl_steer_prefix_to_string(b, prefix, sizeof(prefix)), b->port);
        return buf;
}

static int append_step(sd_bus_message *reply, const ExplainStep *s) {
        char buf[INET6_ADDRSTRLEN + 32];
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "{sv}{sv}{sv}{sv}{sv}",
                                  "prog_id", "u", s->run.prog_id,
                                  "name", "s", s->link ? s->link->name : "",
                                  "verdict", "s", s->run.pass ? "pass" : "drop",
                                  "socket_selected", "b", (int) s->run.selected,
                                  "socket_cookie", "t", s->run.cookie);
        if (r >= 0 && s->steer)
                r = sd_bus_message_append(reply, "{sv}{sv}", "source", "s", "builtin:steer",
                                          "stepped_aside", "b", (int) s->stepped_aside);
        if (r >= 0 && s->matched)
                r = sd_bus_message_append(reply, "{sv}{sv}",
                                          "binding", "s", binding_to_string(&s->binding, buf, sizeof(buf)),
                                          "label", "s", s->binding.label);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_explain(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(explanation_done) Explanation x = {};
        const char *netns, *protocol, *source, *destination;
        NlError e = {};
        int r;

        r = sd_bus_message_read(msg, "ssss", &netns, &protocol, &source, &destination);
        if (r < 0)
                return r;
        r = observe_explain(userdata, netns, protocol, source, destination, &x, &e);
        if (r < 0)
                return bus_reply_nl_error(error, &e, r);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", "steps");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "aa{sv}");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < x.n; i++)
                r = append_step(reply, &x.steps[i]);
        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "{sv}{sv}",
                                          "result", "s", nl_lookup_result_to_string(x.result),
                                          "label", "s", x.label);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable observe_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("QueryNetns", "s", SD_BUS_PARAM(netns),
                                 "aa{sv}", SD_BUS_PARAM(programs), method_query_netns, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("Explain", "ssss",
                                 SD_BUS_PARAM(netns) SD_BUS_PARAM(protocol) SD_BUS_PARAM(source)
                                 SD_BUS_PARAM(destination),
                                 "a{sv}", SD_BUS_PARAM(explanation), method_explain, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END
};

int bus_observe_add(sd_bus *bus, Context *c) {
        return sd_bus_add_object_vtable(bus, NULL, NL_BUS_PATH, NL_BUS_MANAGER_IFACE, observe_vtable, c->manager);
}
