/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "builtins.h"
#include "log.h"
#include "steering.h"

void steering_done(Steering *s) {
        s->open = nl_steer_close(s->open);
        s->key[0] = 0;
        s->link_id = 0;
}

NlSteer *steer_target_take(SteerTarget *t) {
        Steering *s = t->owner;

        if (s && t->steer == s->open) {
                s->open = NULL;
                s->key[0] = 0;
                s->link_id = 0;
        }
        return TAKE_PTR(t->steer);
}

void steer_target_done(SteerTarget *t) {
        if (t->owner && t->steer == t->owner->open)
                return;
        t->steer = nl_steer_close(t->steer);
}

static NlSteer *open_get(Steering *s, const Link *l) {
        if (s->open && s->link_id == l->info.link_id && strcmp(s->key, l->key) == 0)
                return s->open;
        return NULL;
}

static void open_put(Steering *s, const Link *l, NlSteer *steer) {
        nl_steer_close(s->open);
        snprintf(s->key, sizeof(s->key), "%s", l->key);
        s->link_id = l->info.link_id;
        s->open = steer;
}

int steering_open(Steering *s, Manager *m, const char *netns, const char *name, bool mutate, SteerTarget *ret,
                  NlError *e) {
        const NlBuiltin *b;
        char dir[4096], buf[80];
        Link *l = NULL;
        int r;

        *ret = (SteerTarget) { .owner = s };
        if (mutate) {
                r = manager_require_pin_root(m, e);
                if (r < 0)
                        return r;
        }
        r = manager_find(m, netns, NL_ATTACH_SK_LOOKUP, name, &l, e);
        if (r < 0)
                return r;
        b = l->builtin;
        if (!b || !b->per_link || strcmp(b->name, "steer") != 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EMEDIUMTYPE,
                                    "Link '%s' in netns %s runs program '%s', not builtin:steer", l->name,
                                    nl_printable(netns, buf, sizeof(buf)), l->info.prog_name);
        ret->link = l;
        s->grow = (SteerGrowCtx) { m, l };
        ret->steer = open_get(s, l);
        if (ret->steer) {
                nl_steer_set_link(ret->steer, l->fd, steer_maps_grown, &s->grow);
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
        nl_steer_set_link(ret->steer, l->fd, steer_maps_grown, &s->grow);
        open_put(s, l, ret->steer);
        return 0;
}

static const char *binding_to_string(const NlSteerBinding *b, char *buf, size_t size) {
        char prefix[INET6_ADDRSTRLEN + 8];

        snprintf(buf, size, "%s %s port %u", nl_steer_protocol_to_string(b->protocol),
                 nl_steer_prefix_to_string(b, prefix, sizeof(prefix)), b->port);
        return buf;
}

/* An operator's lever on a configured link: allowed, and said. */
static void note_configured(const SteerTarget *t, const char *call) {
        if (t->link->config)
                log_notice("%s changes the bindings of link '%s' in netns %s, which %s describes; the next apply "
                           "of the configuration restores them", call, t->link->name, t->link->netns,
                           t->link->config);
}

static int binding_parse(const SteerBindingArgs *a, bool with_label, NlSteerBinding *ret, NlError *e) {
        return nl_steer_binding_parse(a->protocol, a->prefix, a->port, with_label ? a->label : NULL, ret, e);
}

int steering_add_binding(SteerTarget *t, const SteerBindingArgs *a, NlError *e) {
        NlSteerBinding b;
        char desc[128];
        int r;

        note_configured(t, "AddBinding");
        r = binding_parse(a, true, &b, e);
        if (r >= 0)
                r = nl_steer_add_binding(t->steer, &b, e);
        if (r > 0)
                log_info("Steering %s/%s: bound %s to label '%s'", t->link->netns, t->link->name,
                         binding_to_string(&b, desc, sizeof(desc)), b.label);
        return r;
}

int steering_remove_binding(SteerTarget *t, const SteerBindingArgs *a, NlError *e) {
        NlSteerBinding b;
        char desc[128];
        int r;

        note_configured(t, "RemoveBinding");
        r = binding_parse(a, false, &b, e);
        if (r >= 0)
                r = nl_steer_remove_binding(t->steer, &b, e);
        if (r >= 0)
                log_info("Steering %s/%s: unbound %s", t->link->netns, t->link->name,
                         binding_to_string(&b, desc, sizeof(desc)));
        return r;
}

void steering_note_set(const SteerTarget *t) {
        note_configured(t, "SetBindings");
}

int steering_parse_bindings(const SteerBindingArgs *a, size_t n, NlSteerBinding **ret, NlError *e) {
        _cleanup_free_ NlSteerBinding *b = NULL;
        int r;

        b = calloc(n ? n : 1, sizeof(*b));
        if (!b)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                r = binding_parse(&a[i], true, &b[i], e);
                if (r < 0)
                        return nl_error_prefix(e, r, "Binding %zu", i);
        }
        *ret = TAKE_PTR(b);
        return 0;
}

void steering_log_set(const SteerTarget *t, const NlSteerChanges *c) {
        /* What the link holds now: a binding the request named twice is one. */
        log_info("Steering %s/%s: replaced the bindings: %u now, %u added, %u removed", t->link->netns,
                 t->link->name, c->total, c->added, c->removed);
}

int steering_register_socket(SteerTarget *t, const char *label, int fd, NlError *e) {
        int r = nl_steer_register_socket(t->steer, t->link->ino, label, fd, e);

        if (r >= 0)
                log_info("Steering %s/%s: registered a socket for label '%s'", t->link->netns, t->link->name,
                         label);
        return r;
}

int steering_unregister_socket(SteerTarget *t, const char *label, NlError *e) {
        int r = nl_steer_unregister_socket(t->steer, label, e);

        if (r >= 0)
                log_info("Steering %s/%s: unregistered the sockets of label '%s'", t->link->netns,
                         t->link->name, label);
        return r;
}
