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

static int append_bindings(CniMsg *req, const CniLink *l) {
        int r = cni_msg_open(req, 'a', "(ssqs)");

        for (size_t i = 0; r >= 0 && i < l->n_bindings; i++) {
                const CniBinding *b = &l->bindings[i];
                r = cni_msg_open(req, 'r', "ssqs");
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', b->protocol);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', b->prefix);
                if (r >= 0)
                        r = cni_msg_append_u16(req, b->port);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', b->label);
                if (r >= 0)
                        r = cni_msg_close(req);
        }
        return r < 0 ? r : cni_msg_close(req);
}

/* A {sv} entry: its key, and its variant opened for a value of sig. */
static int open_entry(CniMsg *req, const char *key, const char *sig) {
        int r = cni_msg_open(req, 'e', "sv");

        if (r >= 0)
                r = cni_msg_append_str(req, 's', key);
        return r < 0 ? r : cni_msg_open(req, 'v', sig);
}

static int close_entry(CniMsg *req) {
        int r = cni_msg_close(req);

        return r < 0 ? r : cni_msg_close(req);
}

/* One {sv} entry of a string. */
static int append_entry(CniMsg *req, const char *key, const char *value) {
        int r = open_entry(req, key, "s");

        if (r >= 0)
                r = cni_msg_append_str(req, 's', value);
        return r < 0 ? r : close_entry(req);
}

/* Attach's program dictionary for l, with the attachment as source. */
static int append_program(CniMsg *req, const CniLink *l, size_t index, const char *origin, CniError *e) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = cni_msg_open(req, 'a', "{sv}");
        if (r < 0)
                return r;
        if (l->kind == CNI_PROGRAM_BUILTIN)
                r = append_entry(req, "builtin", l->builtin);
        else {
                /* Passed open: the daemon may not see the plugin's files
                 * (a DaemonSet's mount namespace). */
                fd = open(l->object, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return cni_error(e, CNI_ERR_INVALID_CONFIG, strerror(errno),
                                         "links[%zu].program: cannot open %s: %m", index, l->object);
                r = open_entry(req, "object_fd", "h");
                if (r >= 0)
                        r = cni_msg_append_fd(req, fd);
                if (r >= 0)
                        r = close_entry(req);
                if (r >= 0)
                        r = append_entry(req, "program", l->object_program);
        }
        if (r >= 0)
                r = append_entry(req, "source", origin);
        if (r >= 0 && bindings_in_attach(l)) {
                r = open_entry(req, "bindings", "a(ssqs)");
                if (r >= 0)
                        r = append_bindings(req, l);
                if (r >= 0)
                        r = close_entry(req);
        }
        if (r < 0)
                return r;
        return cni_msg_close(req);
}

static int attach_many(CniBus *bus, const CniEnv *env, const CniConfig *c, CniMsg **reply, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL;
        int r;

        r = cni_bus_new_call(NL_BUS_MANAGER_IFACE, "AttachMany", &req);
        if (r >= 0)
                r = cni_msg_open(req, 'a', "(sssa{sv})");
        for (size_t i = 0; r >= 0 && i < c->n_links; i++) {
                const CniLink *l = &c->links[i];
                r = cni_msg_open(req, 'r', "sssa{sv}");
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', env->netns);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', l->attach_type);
                if (r >= 0)
                        r = cni_msg_append_str(req, 's', l->name);
                if (r >= 0)
                        r = append_program(req, l, i, env->origin, e);
                if (r >= 0)
                        r = cni_msg_close(req);
        }
        if (r >= 0)
                r = cni_msg_close(req);
        /* A configuration error (an object that cannot be opened) is said. */
        if (r < 0 && e->code != CNI_OK)
                return r;
        return cni_bus_call(bus, "AttachMany", req, r, reply, e);
}

static int set_bindings(CniBus *bus, const char *netns, const CniLink *l, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL;
        int r;

        r = cni_bus_new_call(NL_BUS_STEERING_IFACE, "SetBindings", &req);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', netns);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', l->name);
        if (r >= 0)
                r = append_bindings(req, l);
        return cni_bus_call(bus, "SetBindings", req, r, NULL, e);
}

/* The links an AttachMany reply lists, to undo it. */
static int read_made(CniMsg *reply, CniLinkInfo *v, size_t n) {
        size_t end;
        int r = cni_msg_enter_array(reply, 'a', &end);

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

int cni_add(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *reply = NULL;
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
