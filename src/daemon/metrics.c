/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bus-manager.h"
#include "steer-set-job.h"
#include "context.h"
#include "log.h"
#include "metrics.h"
#include "steer.h"

#define N_METHODS_MAX 64

typedef struct Counted {
        const char *member;
        sd_bus_message_handler_t handler;
        uint64_t ok, error;
} Counted;

/* The wrapped vtables: the bus reads them until it is freed, so they go
 * with the Metrics, which the daemon frees after the bus. */
#define N_COUNTED_VTABLES 4

struct Metrics {
        Manager *manager;
        uint64_t defunct;
        Counted methods[N_METHODS_MAX];
        size_t n_methods;
        sd_bus_vtable *counted_vtables[N_COUNTED_VTABLES];
        size_t n_counted_vtables;
};

static Counted *counted_find(Metrics *mt, const char *member) {
        for (size_t i = 0; mt && i < mt->n_methods; i++)
                if (strcmp(mt->methods[i].member, member) == 0)
                        return &mt->methods[i];
        return NULL;
}

/* Method names are unique across the vtables this daemon wraps (Manager
 * and Steering): the member alone finds the handler. */
static int counting_handler(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Context *ctx = userdata;
        const char *member = sd_bus_message_get_member(msg);
        Counted *c = member ? counted_find(ctx->metrics, member) : NULL;
        int r;

        if (!c)
                return -EBADR;
        r = c->handler(msg, userdata, error);
        if (r < 0 || sd_bus_error_is_set(error))
                c->error++;
        else if (!bus_manager_is_waiting(ctx->manager, msg) && !steer_set_job_is_waiting(&ctx->steering, msg))
                c->ok++;        /* a call that waits counts when it runs again */
        return r;
}

const sd_bus_vtable *metrics_counted(Metrics *mt, const sd_bus_vtable *vtable) {
        size_t n = 0, add = 0;
        sd_bus_vtable *copy;

        while (vtable[n].type != _SD_BUS_VTABLE_END) {
                add += vtable[n].type == _SD_BUS_VTABLE_METHOD;
                n++;
        }
        if (mt->n_methods + add > N_METHODS_MAX || mt->n_counted_vtables == N_COUNTED_VTABLES ||
            !(copy = malloc((n + 1) * sizeof(*copy))))
                return vtable;
        mt->counted_vtables[mt->n_counted_vtables++] = copy;
        memcpy(copy, vtable, (n + 1) * sizeof(*copy));
        for (size_t i = 0; i < n; i++) {
                if (copy[i].type != _SD_BUS_VTABLE_METHOD || !copy[i].x.method.handler)
                        continue;
                mt->methods[mt->n_methods++] = (Counted) {
                        .member = copy[i].x.method.member,
                        .handler = copy[i].x.method.handler,
                };
                copy[i].x.method.handler = counting_handler;
        }
        return copy;
}

static void on_link_event(void *userdata, LinkEvent ev, const Link *l) {
        Metrics *mt = userdata;

        (void) l;
        if (ev == LINK_DEFUNCT)
                mt->defunct++;
}

Metrics *metrics_new(Context *c) {
        Metrics *mt = calloc(1, sizeof(*mt));

        if (!mt)
                return NULL;
        mt->manager = c->manager;
        if (manager_observe(c->manager, on_link_event, mt) < 0) {
                free(mt);
                return NULL;
        }
        c->metrics = mt;
        return mt;
}

Metrics *metrics_free(Metrics *mt) {
        if (!mt)
                return NULL;
        for (size_t i = 0; i < mt->n_counted_vtables; i++)
                free(mt->counted_vtables[i]);
        free(mt);
        return NULL;
}

/* ---- the text exposition ------------------------------------------------ */

/* A label value: backslash, double quote and newline escaped. */
static void put_value(FILE *f, const char *s) {
        for (; *s; s++)
                if (*s == '\\' || *s == '"')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
}

static void head(FILE *f, const char *name, const char *type, const char *help) {
        fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{netns="…",link="…",label="…",protocol="…",family="…"}: a label
 * has one destination per protocol and family. */
static void put_dest_sample(FILE *f, const char *name, const Link *l, const NlSteerDestination *x, uint64_t v) {
        fprintf(f, "%s{netns=\"", name);
        put_value(f, l->netns ? l->netns : "");
        fputs("\",link=\"", f);
        put_value(f, l->name);
        fputs("\",label=\"", f);
        put_value(f, x->label);
        fprintf(f, "\",protocol=\"%s\",family=\"%s\"} %" PRIu64 "\n", nl_steer_protocol_to_string(x->protocol),
                x->family == AF_INET6 ? "ipv6" : "ipv4", v);
}

typedef struct SteerData {
        const Link *link;
        NlSteerDestination *dests;
        size_t n_dests;
        NlSteerBinding *bindings;
        size_t n_bindings;
} SteerData;

static void steer_data_free(SteerData *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].dests);
                free(d[i].bindings);
        }
        free(d);
}

/* The counters of every steer link, read from its maps (a link whose maps
 * cannot be read is left out, with a debug line). */
static int read_steer(Manager *m, Link **links, size_t n, SteerData **ret, size_t *ret_n) {
        SteerData *d = calloc(n ? n : 1, sizeof(*d));
        size_t k = 0;

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(nl_steer_closep) NlSteer *s = NULL;
                char dir[4096];
                NlError e = {};

                if (!manager_link_runs_steer(links[i]) || links[i]->drift == LINK_DRIFT_DETACHED ||
                    manager_steer_dir(m, links[i]->ino, links[i]->name, dir, sizeof(dir)) < 0)
                        continue;
                if (nl_steer_open(dir, &s, &e) < 0 ||
                    nl_steer_list_destinations(s, &d[k].dests, &d[k].n_dests, &e) < 0 ||
                    nl_steer_list_bindings(s, &d[k].bindings, &d[k].n_bindings, &e) < 0) {
                        log_debug("Metrics: cannot read the steer maps of link '%s' in netns %s: %s",
                                  links[i]->name, links[i]->netns, e.message);
                        free(d[k].dests);
                        d[k].dests = NULL;
                        d[k].n_dests = 0;
                        continue;
                }
                d[k++].link = links[i];
        }
        *ret = d;
        *ret_n = k;
        return 0;
}

static void put_dest_metric(FILE *f, const SteerData *d, size_t n, const char *name, const char *help,
                            size_t offset) {
        head(f, name, "counter", help);
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < d[i].n_dests; j++) {
                        const NlSteerDestination *x = &d[i].dests[j];
                        uint64_t v;
                        memcpy(&v, (const char *) x + offset, sizeof(v));
                        put_dest_sample(f, name, d[i].link, x, v);
                }
}

static void put_bindings(FILE *f, const SteerData *d, size_t n) {
        head(f, "netnslink_steer_binding_hits_total", "counter",
             "Lookups a steer binding matched, per binding.");
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < d[i].n_bindings; j++) {
                        const NlSteerBinding *b = &d[i].bindings[j];
                        char prefix[64];
                        fputs("netnslink_steer_binding_hits_total{netns=\"", f);
                        put_value(f, d[i].link->netns ? d[i].link->netns : "");
                        fputs("\",link=\"", f);
                        put_value(f, d[i].link->name);
                        fprintf(f, "\",label=\"%s\",protocol=\"%s\",prefix=\"%s\",port=\"%u\"} %" PRIu64 "\n",
                                b->label, nl_steer_protocol_to_string(b->protocol),
                                nl_steer_prefix_to_string(b, prefix, sizeof(prefix)), b->port, b->hits);
                }
}

/* links is sorted by netns, type (manager_list): one sample per run. */
static void put_links(FILE *f, Link **links, size_t n, uint64_t defunct) {
        head(f, "netnslink_links", "gauge", "Links the daemon holds, per netns and attach type.");
        for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                while (j < n && links[j]->type == links[i]->type &&
                       strcmp(links[j]->netns ? links[j]->netns : "", links[i]->netns ? links[i]->netns : "") == 0)
                        j++;
                fputs("netnslink_links{netns=\"", f);
                put_value(f, links[i]->netns ? links[i]->netns : "");
                fprintf(f, "\",type=\"%s\"} %zu\n", nl_attach_type_to_string(links[i]->type), j - i);
                i = j;
        }
        head(f, "netnslink_links_drifted", "gauge",
             "Links changed behind the daemon's back and not mended, per drift (detached, unpinned).");
        for (int d = LINK_DRIFT_DETACHED; d <= LINK_DRIFT_UNPINNED; d++) {
                size_t c = 0;
                for (size_t i = 0; i < n; i++)
                        c += links[i]->drift == (LinkDrift) d;
                fprintf(f, "netnslink_links_drifted{drift=\"%s\"} %zu\n",
                        d == LINK_DRIFT_DETACHED ? "detached" : "unpinned", c);
        }
        head(f, "netnslink_links_defunct_total", "counter",
             "Links dropped because their netns died, since the daemon started.");
        fprintf(f, "netnslink_links_defunct_total %" PRIu64 "\n", defunct);
}

static void put_operations(FILE *f, const Metrics *mt) {
        head(f, "netnslink_operations_total", "counter",
             "D-Bus method calls the daemon handled since it started, per method and result.");
        for (size_t i = 0; i < mt->n_methods; i++) {
                const Counted *c = &mt->methods[i];
                fprintf(f, "netnslink_operations_total{method=\"%s\",result=\"ok\"} %" PRIu64 "\n", c->member, c->ok);
                fprintf(f, "netnslink_operations_total{method=\"%s\",result=\"error\"} %" PRIu64 "\n", c->member,
                        c->error);
        }
}

static int render(const Metrics *mt, char **ret) {
        Manager *m = mt->manager;
        _cleanup_free_ Link **links = NULL;
        SteerData *d = NULL;
        size_t n = 0, n_steer = 0, size = 0;
        char *text = NULL;
        NlError e = {};
        FILE *f;
        int r;

        r = manager_list(m, "", &links, &n, &e);
        if (r < 0)
                return r;
        r = read_steer(m, links, n, &d, &n_steer);
        if (r < 0)
                return r;
        f = open_memstream(&text, &size);
        if (!f) {
                steer_data_free(d, n_steer);
                return -ENOMEM;
        }
        put_links(f, links, n, mt->defunct);
        put_dest_metric(f, d, n_steer, "netnslink_steer_lookups_total",
                        "Lookups that reached a steer destination, per netns, link and label.",
                        offsetof(NlSteerDestination, lookups));
        put_dest_metric(f, d, n_steer, "netnslink_steer_misses_total",
                        "Lookups for a steer destination that found no socket to take them.",
                        offsetof(NlSteerDestination, misses));
        put_dest_metric(f, d, n_steer, "netnslink_steer_errors_total",
                        "Lookups for a steer destination whose socket could not be selected.",
                        offsetof(NlSteerDestination, errors));
        put_bindings(f, d, n_steer);
        put_operations(f, mt);
        steer_data_free(d, n_steer);
        if (fclose(f) != 0) {
                free(text);
                return -ENOMEM;
        }
        *ret = text;
        return 0;
}

static int method_metrics(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Metrics *mt = userdata;
        _cleanup_free_ char *text = NULL;
        int r;

        r = sd_bus_message_read(msg, "");
        if (r < 0)
                return r;
        r = render(mt, &text);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot gather the metrics: %m");
        return sd_bus_reply_method_return(msg, "s", text);
}

const sd_bus_vtable metrics_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD_WITH_NAMES("Metrics", "", , "s", SD_BUS_PARAM(metrics), method_metrics,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
