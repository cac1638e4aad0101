/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* CHECK: each listed link is in the netns, made by this attachment, runs
 * the configured program and, for steer, has exactly the configured
 * bindings. Nothing is changed. */
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "cni.h"
#include "prog-source.h"

/* The link dictionary's program_source the configured program has. */
static int expected_source(const CniLink *l, size_t index, char *buf, size_t size, CniError *e) {
        _cleanup_free_ void *data = NULL;
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        size_t n;
        NlError ne = {};
        int r;

        if (l->kind == CNI_PROGRAM_BUILTIN) {
                snprintf(buf, size, "builtin:%s", l->builtin);
                return 0;
        }
        r = nl_prog_elf_read_path(l->object, &data, &n, &ne);
        if (r < 0)
                return cni_error(e, CNI_ERR_INVALID_CONFIG, ne.message, "links[%zu].program: %s", index, ne.message);
        nl_prog_elf_source(data, n, l->object_program, hex, buf, size);
        return 0;
}

static int get_link(CniBus *bus, const char *netns, const CniLink *l, size_t index, CniMsg **reply,
                    CniLinkInfo *ret, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL;
        int r;

        r = cni_bus_new_call(NL_BUS_MANAGER_IFACE, "GetLink", &req);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', netns);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', l->attach_type);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', l->name);
        r = cni_bus_call(bus, "GetLink", req, r, reply, e);
        if (r < 0 && strstr(e->details, "Error.NoSuchLink")) {
                char details[sizeof(e->details)];
                snprintf(details, sizeof(details), "%s", e->details);
                *e = (CniError) {};
                return cni_error(e, CNI_ERR_LINK_MISSING, details, "links[%zu]: %s link '%s' is missing from %s",
                                 index, l->attach_type, l->name, netns);
        }
        if (r < 0)
                return r;
        r = cni_read_link(*reply, ret);
        if (r < 0)
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, strerror(-r), "Cannot read netnslinkd's GetLink reply");
        return 0;
}

static int compare_strings(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* One binding dictionary of ListBindings, as cni_binding_canonical
 * writes it. */
typedef struct BindingRead {
        const char *protocol, *prefix, *label;
        uint16_t port;
} BindingRead;

static int binding_entry(CniMsg *m, const char *key, const char *sig, void *userdata) {
        BindingRead *b = userdata;
        int r;

        if (strcmp(key, "protocol") == 0 && strcmp(sig, "s") == 0)
                r = cni_msg_read_str(m, &b->protocol);
        else if (strcmp(key, "prefix") == 0 && strcmp(sig, "s") == 0)
                r = cni_msg_read_str(m, &b->prefix);
        else if (strcmp(key, "label") == 0 && strcmp(sig, "s") == 0)
                r = cni_msg_read_str(m, &b->label);
        else if (strcmp(key, "port") == 0 && strcmp(sig, "q") == 0)
                r = cni_msg_read_basic(m, 'q', &b->port);
        else
                return 0;
        return r < 0 ? r : 1;
}

static int read_binding(CniMsg *reply, char *buf, size_t size) {
        BindingRead b = { "", "", "", 0 };
        int r = cni_msg_read_dict(reply, binding_entry, &b);

        if (r < 0)
                return r;
        /* What the configuration cannot say is compared as it came. */
        if (cni_binding_canonical(b.protocol, b.prefix, b.port, b.label, buf, size, NULL) < 0)
                snprintf(buf, size, "%s %s %u %s", b.protocol, b.prefix, b.port, b.label);
        return 0;
}

static void strv_free(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The link's bindings, as "tcp 10.0.0.0/8 0 www" strings, sorted. */
static int list_bindings(CniBus *bus, const char *netns, const CniLink *l, char ***ret, size_t *ret_n,
                         CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *req = NULL, *reply = NULL;
        char **v = NULL;
        size_t n = 0, end;
        int r;

        r = cni_bus_new_call(NL_BUS_STEERING_IFACE, "ListBindings", &req);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', netns);
        if (r >= 0)
                r = cni_msg_append_str(req, 's', l->name);
        r = cni_bus_call_dicts(bus, "ListBindings", req, r, &reply, &end, e);
        if (r < 0)
                return r;
        while (r >= 0 && cni_msg_in(reply, end)) {
                char canonical[160], **nv;

                r = read_binding(reply, canonical, sizeof(canonical));
                if (r < 0)
                        break;
                nv = reallocarray(v, n + 1, sizeof(char *));
                if (!nv) {
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n] = strdup(canonical);
                if (!v[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        if (r < 0) {
                strv_free(v, n);
                return cni_error(e, CNI_ERR_DAEMON_REFUSED, strerror(-r), "Cannot read netnslinkd's ListBindings reply");
        }
        if (n > 0)
                qsort(v, n, sizeof(char *), compare_strings);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The first binding that one set has and the other lacks, into buf. */
static bool bindings_differ(const CniLink *l, char **have, size_t n_have, char *buf, size_t size) {
        _cleanup_free_ const char **want = calloc(l->n_bindings + 1, sizeof(char *));
        size_t i = 0, k = 0;

        if (!want) {
                snprintf(buf, size, "out of memory");
                return true;
        }
        for (size_t j = 0; j < l->n_bindings; j++)
                want[j] = l->bindings[j].canonical;
        qsort(want, l->n_bindings, sizeof(char *), compare_strings);
        while (i < l->n_bindings || k < n_have) {
                int c = i == l->n_bindings ? 1 : k == n_have ? -1 : strcmp(want[i], have[k]);
                if (c < 0) {
                        snprintf(buf, size, "binding '%s' is missing", want[i]);
                        return true;
                }
                if (c > 0) {
                        snprintf(buf, size, "binding '%s' is not configured", have[k]);
                        return true;
                }
                /* The configuration may name a binding twice; the daemon keeps one. */
                while (i + 1 < l->n_bindings && strcmp(want[i], want[i + 1]) == 0)
                        i++;
                i++;
                k++;
        }
        return false;
}

static int check_bindings(CniBus *bus, const char *netns, const CniLink *l, size_t index, CniError *e) {
        char **have = NULL, diff[256];
        size_t n = 0;
        int r;

        r = list_bindings(bus, netns, l, &have, &n, e);
        if (r < 0)
                return r;
        if (bindings_differ(l, have, n, diff, sizeof(diff)))
                r = cni_error(e, CNI_ERR_LINK_BINDINGS, NULL, "links[%zu]: link '%s' in %s: %s", index, l->name,
                              netns, diff);
        strv_free(have, n);
        return r;
}

static int check_link(CniBus *bus, const CniEnv *env, const CniLink *l, size_t index, CniError *e) {
        _cleanup_(cni_msg_freep) CniMsg *reply = NULL;
        char want[256];
        const char *runs;
        CniLinkInfo info;
        int r;

        r = get_link(bus, env->netns, l, index, &reply, &info, e);
        if (r < 0)
                return r;
        if (strcmp(info.source, env->origin) != 0)
                return cni_error(e, CNI_ERR_LINK_NOT_OURS, NULL,
                                 "links[%zu]: %s link '%s' in %s has source '%s', not this attachment's %s", index,
                                 l->attach_type, l->name, env->netns, info.source, env->origin);
        r = expected_source(l, index, want, sizeof(want), e);
        if (r < 0)
                return r;
        runs = info.program_source ? info.program_source : "";
        if (strcmp(runs, want) != 0)
                return cni_error(e, CNI_ERR_LINK_PROGRAM, NULL, "links[%zu]: %s link '%s' in %s runs %s, not %s",
                                 index, l->attach_type, l->name, env->netns, *runs ? runs : "an unknown program",
                                 want);
        if (l->kind == CNI_PROGRAM_BUILTIN && strcmp(l->builtin, "steer") == 0)
                return check_bindings(bus, env->netns, l, index, e);
        return 0;
}

int cni_check(CniBus *bus, const CniEnv *env, const CniConfig *c, CniError *e) {
        for (size_t i = 0; i < c->n_links; i++) {
                int r = check_link(bus, env, &c->links[i], i, e);
                if (r < 0)
                        return r;
        }
        return 0;
}
