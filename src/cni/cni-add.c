/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ADD: every listed link in one AttachMany (all or none), with each steer
 * link's bindings when few (the program key "bindings": one round trip),
 * else set after it; prevResult goes on unchanged. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "cni.h"

/* The daemon takes at most this many bindings with an Attach (its
 * ATTACH_BINDINGS_MAX); a link with more gets them by SetBindings. */
#define CNI_ATTACH_BINDINGS_MAX 16

static bool bindings_in_attach(const CniLink *l) {
        return l->n_bindings > 0 && l->n_bindings <= CNI_ATTACH_BINDINGS_MAX;
}

static int append_bindings(sd_bus_message *req, const CniLink *l) {
        int r = sd_bus_message_open_container(req, 'a', "(ssqs)");

        for (size_t i = 0; r >= 0 && i < l->n_bindings; i++) {
                const CniBinding *b = &l->bindings[i];
                r = sd_bus_message_append(req, "(ssqs)", b->protocol, b->prefix, b->port, b->label);
        }
        return r < 0 ? r : sd_bus_message_close_container(req);
}

/* Attach's program dictionary for l, with the attachment as source. */
static int append_program(sd_bus_message *req, const CniLink *l, size_t index, const char *origin, CniError *e) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = sd_bus_message_open_container(req, 'a', "{sv}");
        if (r < 0)
                return r;
        if (l->kind == CNI_PROGRAM_BUILTIN)
                r = sd_bus_message_append(req, "{sv}", "builtin", "s", l->builtin);
        else {
                /* Passed open: the daemon may not see the plugin's files
                 * (a DaemonSet's mount namespace). */
                fd = open(l->object, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, strerror(errno),
                                         "links[%zu].program: cannot open %s: %m", index, l->object);
                r = sd_bus_message_append(req, "{sv}{sv}", "object_fd", "h", fd, "program", "s", l->object_program);
        }
        if (r >= 0)
                r = sd_bus_message_append(req, "{sv}", "source", "s", origin);
        if (r >= 0 && bindings_in_attach(l)) {
                r = sd_bus_message_open_container(req, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(req, "s", "bindings");
                if (r >= 0)
                        r = sd_bus_message_open_container(req, 'v', "a(ssqs)");
                if (r >= 0)
                        r = append_bindings(req, l);
                if (r >= 0)
                        r = sd_bus_message_close_container(req);
                if (r >= 0)
                        r = sd_bus_message_close_container(req);
        }
        if (r < 0)
                return r;
        return sd_bus_message_close_container(req);
}

static int attach_many(sd_bus *bus, const CniEnv *env, const CniConfig *c, sd_bus_message **reply, CniError *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        r = cni_bus_new_call(bus, NL_BUS_MANAGER_IFACE, "AttachMany", &req);
        if (r >= 0)
                r = sd_bus_message_open_container(req, 'a', "(sssa{sv})");
        for (size_t i = 0; r >= 0 && i < c->n_links; i++) {
                const CniLink *l = &c->links[i];
                r = sd_bus_message_open_container(req, 'r', "sssa{sv}");
                if (r >= 0)
                        r = sd_bus_message_append(req, "sss", env->netns, l->attach_type, l->name);
                if (r >= 0)
                        r = append_program(req, l, i, env->origin, e);
                if (r >= 0)
                        r = sd_bus_message_close_container(req);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(req);
        if (r < 0)
                return cni_error(e, CNI_ERR_IO, strerror(-r), "Cannot build an AttachMany call");
        return cni_bus_call(bus, NL_BUS_MANAGER_IFACE, "AttachMany", req, reply, e);
}

static int set_bindings(sd_bus *bus, const char *netns, const CniLink *l, CniError *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *req = NULL;
        int r;

        r = cni_bus_new_call(bus, NL_BUS_STEERING_IFACE, "SetBindings", &req);
        if (r >= 0)
                r = sd_bus_message_append(req, "ss", netns, l->name);
        if (r >= 0)
                r = append_bindings(req, l);
        if (r < 0)
                return cni_error(e, CNI_ERR_IO, strerror(-r), "Cannot build a SetBindings call");
        return cni_bus_call(bus, NL_BUS_STEERING_IFACE, "SetBindings", req, NULL, e);
}

/* The links an AttachMany reply lists, to undo it. */
static int read_made(sd_bus_message *reply, CniLinkInfo *v, size_t n) {
        int r = sd_bus_message_enter_container(reply, 'a', "a{sv}");

        for (size_t i = 0; r >= 0 && i < n; i++)
                r = cni_read_link(reply, &v[i]);
        return r;
}

static int print_result(const CniConfig *c, CniError *e) {
        json_t *result = c->prev_result ? json_incref(c->prev_result)
                                        : json_pack("{s:s}", "cniVersion", c->cni_version);
        int r = result ? json_dumpf(result, stdout, JSON_COMPACT) : -1;

        json_decref(result);
        if (r < 0 || putchar('\n') == EOF || fflush(stdout) != 0)
                return cni_error(e, CNI_ERR_IO, NULL, "Cannot write the result");
        return 0;
}

int cni_add(sd_bus *bus, const CniEnv *env, const CniConfig *c, CniError *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ CniLinkInfo *made = NULL;
        int r;

        if (c->n_links == 0)
                return print_result(c, e);
        r = attach_many(bus, env, c, &reply, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_links; i++) {
                if (c->links[i].n_bindings == 0 || bindings_in_attach(&c->links[i]))
                        continue;
                r = set_bindings(bus, env->netns, &c->links[i], e);
                if (r < 0)
                        break;
        }
        if (r >= 0)
                return print_result(c, e);

        /* A link without its bindings is not what was asked: none stays,
         * as with AttachMany, and the error is the bindings'. */
        made = calloc(c->n_links, sizeof(CniLinkInfo));
        if (made && read_made(reply, made, c->n_links) >= 0) {
                CniError ignored = {};
                if (cni_detach_links(bus, made, c->n_links, &ignored) < 0)
                        fprintf(stderr, "netnslink: cannot undo the ADD: %s\n", ignored.msg);
        }
        return r;
}
