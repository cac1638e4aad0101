/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config-apply.h"
#include "config-private.h"
#include "config.h"
#include "link-records.h"
#include "log.h"

void config_result_done(ConfigResult *r) {
        for (size_t i = 0; i < r->n_errors; i++)
                free(r->errors[i]);
        free(r->errors);
        for (size_t i = 0; i < r->n_changes; i++) {
                free(r->changes[i].netns);
                free(r->changes[i].file);
        }
        free(r->changes);
        *r = (ConfigResult) {};
}

static void add_change(ConfigResult *r, const char *action, const char *netns, NlAttachType type,
                       const char *name, const char *file) {
        ConfigChange *v = reallocarray(r->changes, r->n_changes + 1, sizeof(ConfigChange));
        ConfigChange *ch;

        if (!v)
                return;
        r->changes = v;
        ch = &v[r->n_changes];
        *ch = (ConfigChange) { .action = action, .type = type };
        snprintf(ch->name, sizeof(ch->name), "%s", name);
        ch->netns = strdup(netns);
        ch->file = strdup(file ? file : "");
        if (!ch->netns || !ch->file) {
                free(ch->netns);
                free(ch->file);
                return;
        }
        r->n_changes++;
}

int config_apply_new(Manager *m, const char *root, ConfigApply **ret) {
        ConfigApply *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->m = m;
        c->root = strdup(root && *root ? root : "/");
        if (!c->root) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

ConfigApply *config_apply_free(ConfigApply *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->sighup);
        sd_event_source_disable_unref(c->inotify);
        sd_event_source_disable_unref(c->inotify_parent);
        sd_event_source_disable_unref(c->retry);
        for (size_t i = 0; i < c->n_pending; i++)
                free(c->pending[i]);
        free(c->pending);
        free(c->root);
        free(c);
        return NULL;
}

/* Running the changes. */

static const char *config_of(Manager *m, const struct LinkRef *ref) {
        ConfigApply *c = m->config;

        if (!c || !c->refs || ref < c->refs || ref >= c->refs + c->n_refs)
                return NULL;
        return c->files[ref - c->refs];
}

static LinkRef ref_of(const Want *w) {
        return (LinkRef) { .netns = w->netns, .type = nl_attach_type_to_string(w->file->link->type),
                           .name = w->file->link->name };
}

static void note_done(Apply *a, const char *action, const Want *w) {
        add_change(a->res, action, w->netns, w->file->link->type, w->file->link->name, w->file->link->path);
}

/* All at once, as AttachMany; if the batch fails, one by one, so that one
 * netns or file that cannot be served does not hold up the others. */
static void attach_missing(Apply *a, Want **v, size_t n) {
        _cleanup_free_ LinkRef *refs = calloc(n + 1, sizeof(LinkRef));
        _cleanup_free_ ProgramSpec *progs = calloc(n + 1, sizeof(ProgramSpec));
        _cleanup_free_ const char **files = calloc(n + 1, sizeof(char *));
        ConfigApply *c = a->c;
        NlError e = {};
        int r;

        if (n == 0)
                return;
        if (!refs || !progs || !files) {
                config_add_error(a->res, "Out of memory attaching %zu link(s)", n);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                refs[i] = ref_of(v[i]);
                progs[i] = v[i]->file->spec;
                files[i] = v[i]->file->link->path;
        }
        c->refs = refs;
        c->files = files;
        c->n_refs = n;
        r = manager_attach_many(c->m, refs, progs, n, NULL, NULL, &e);
        if (r >= 0) {
                for (size_t i = 0; i < n; i++)
                        note_done(a, "attach", v[i]);
                a->res->attached += n;
        } else {
                if (n > 1)
                        log_info("Configuration: attaching %zu links at once failed (%s); one by one", n, e.message);
                for (size_t i = 0; i < n; i++) {
                        Link *l = NULL;

                        nl_error_clear(&e);
                        r = manager_attach(c->m, &refs[i], &progs[i], NULL, &l, &e);
                        if (r < 0) {
                                config_add_error(a->res, "%s: cannot attach %s link '%s' in netns %s: %s", files[i],
                                                 refs[i].type, refs[i].name, refs[i].netns, e.message);
                                continue;
                        }
                        note_done(a, "attach", v[i]);
                        a->res->attached++;
                }
        }
        c->refs = NULL;
        c->files = NULL;
        c->n_refs = 0;
}

/* Drops the changes from index base on that did not happen (action NULL). */
static void drop_undone(ConfigResult *r, size_t base) {
        size_t k = base;

        for (size_t i = base; i < r->n_changes; i++) {
                if (r->changes[i].action) {
                        r->changes[k++] = r->changes[i];
                        continue;
                }
                free(r->changes[i].netns);
                free(r->changes[i].file);
        }
        r->n_changes = k;
}

static void detach_unwanted(Apply *a, Link **v, size_t n) {
        _cleanup_free_ LinkRef *refs = calloc(n + 1, sizeof(LinkRef));
        _cleanup_free_ char **netns = calloc(n + 1, sizeof(char *));
        size_t base = a->res->n_changes;
        Manager *m = a->c->m;
        NlError e = {};
        int r;

        if (n == 0)
                return;
        if (!refs || !netns) {
                config_add_error(a->res, "Out of memory detaching %zu link(s)", n);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                /* ino:N finds the very link, whatever its netns is called now. */
                if (asprintf(&netns[i], "ino:%" PRIu64, v[i]->ino) < 0) {
                        netns[i] = NULL;
                        config_add_error(a->res, "Out of memory detaching %zu link(s)", n);
                        goto out;
                }
                refs[i] = (LinkRef) { .netns = netns[i], .type = nl_attach_type_to_string(v[i]->type),
                                      .name = v[i]->name };
                /* Said now: a detached link is freed. */
                add_change(a->res, "detach", v[i]->netns, v[i]->type, v[i]->name, v[i]->config);
        }
        if (a->res->n_changes != base + n) {
                /* Out of memory: say nothing rather than some. */
                for (size_t i = base; i < a->res->n_changes; i++)
                        a->res->changes[i].action = NULL;
                drop_undone(a->res, base);
                config_add_error(a->res, "Out of memory detaching %zu link(s)", n);
                goto out;
        }
        r = manager_detach_many(m, refs, n, &e);
        if (r >= 0)
                a->res->detached += n;
        else {
                for (size_t i = 0; i < n; i++) {
                        nl_error_clear(&e);
                        r = manager_detach(m, &refs[i], &e);
                        if (r >= 0) {
                                a->res->detached++;
                                continue;
                        }
                        config_add_error(a->res, "%s: cannot detach %s link '%s' in netns %s: %s",
                                         a->res->changes[base + i].file, refs[i].type, refs[i].name,
                                         a->res->changes[base + i].netns, e.message);
                        a->res->changes[base + i].action = NULL;
                }
                drop_undone(a->res, base);
        }
out:
        for (size_t i = 0; i < n; i++)
                free(netns[i]);
}

static int run(Apply *a) {
        ConfigApply *c = a->c;
        Manager *m = c->m;
        _cleanup_free_ Want **missing = calloc(a->n_wants + 1, sizeof(Want *));
        _cleanup_free_ Link **unwanted = calloc(hashmap_size(m->links) + 1, sizeof(Link *));
        size_t n_missing = 0, n_unwanted = 0;
        HashmapIter it = {};
        Link *l;

        if (!missing || !unwanted)
                return -ENOMEM;

        /* What no file describes any more, first: a file that renames its
         * flow_dissector link needs the hook free. */
        while (!a->only && !a->incomplete && hashmap_iterate(m->links, &it, (void **) &l, NULL)) {
                if (!l->config || l->defunct || hashmap_get(a->wants, l->key) || hashmap_get(a->refused, l->config))
                        continue;
                if (a->dry_run) {
                        add_change(a->res, "detach", l->netns, l->type, l->name, l->config);
                        a->res->detached++;
                } else
                        unwanted[n_unwanted++] = l;
        }
        detach_unwanted(a, unwanted, n_unwanted);

        for (size_t i = 0; i < a->n_wants; i++) {
                Want *w = a->order[i];

                manager_drop_if_reused(m, w->ino);
                l = manager_link_get(m, w->ino, w->file->link->type, w->file->link->name);
                w->is_new = !l;
                if (!l)
                        missing[n_missing++] = w;
        }
        if (a->dry_run) {
                for (size_t i = 0; i < n_missing; i++)
                        note_done(a, "attach", missing[i]);
                a->res->attached += n_missing;
        } else
                attach_missing(a, missing, n_missing);

        for (size_t i = 0; i < a->n_wants; i++) {
                Want *w = a->order[i];
                const NlConfigLink *cfg = w->file->link;
                bool is_new = w->is_new;
                NlError e = {};
                int r;

                l = manager_link_get(m, w->ino, cfg->type, cfg->name);
                if (!is_new && l) {
                        r = config_runs_program(a, w->file, l);
                        if (r == 0 && a->dry_run) {
                                note_done(a, "update", w);
                                a->res->updated++;
                        } else if (r == 0) {
                                LinkRef ref = ref_of(w);

                                r = manager_update(m, &ref, &w->file->spec, NULL, &l, &e);
                                if (r < 0) {
                                        config_add_error(a->res, "%s: cannot update %s link '%s' in netns %s: %s",
                                                         cfg->path, ref.type, cfg->name, w->netns, e.message);
                                        continue;
                                }
                                note_done(a, "update", w);
                                a->res->updated++;
                        } else if (r < 0)
                                continue;
                        /* A link of that name made over D-Bus, or by another
                         * file: this file's now. */
                        if (!a->dry_run && (!l->config || strcmp(l->config, cfg->path) != 0)) {
                                log_info("Configuration: %s describes %s link '%s' in netns %s (%s before)", cfg->path,
                                         ref_of(w).type, cfg->name, w->netns, l->config ? l->config : "made over D-Bus");
                                r = manager_link_set_config(m, l, cfg->path, &e);
                                if (r < 0)
                                        config_add_error(a->res, "%s: %s", cfg->path, e.message);
                        }
                }
                if (!cfg->builtin || strcmp(cfg->builtin, "steer") != 0 || (!l && !a->dry_run))
                        continue;
                if (config_apply_bindings(a, w, a->dry_run && is_new ? NULL : l) > 0) {
                        note_done(a, "bindings", w);
                        a->res->bindings_changed++;
                }
        }
        return 0;
}

static void apply_free(Apply *a) {
        for (size_t i = 0; i < a->n_wants; i++) {
                free(a->order[i]->netns);
                free(a->order[i]);
        }
        free(a->order);
        hashmap_free(a->wants, NULL);
        hashmap_free(a->refused, free);
        for (size_t i = 0; i < a->n_files; i++)
                nl_config_link_free(a->files[i].link);
        free(a->files);
}

static int apply_some(ConfigApply *c, bool dry_run, char **only, size_t n_only, ConfigResult *ret) {
        Manager *m = c->m;
        Apply a = { .c = c, .dry_run = dry_run, .res = ret, .only = !!only };
        struct timespec t0, t1;
        NlError e = {};
        int r;

        *ret = (ConfigResult) {};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        r = manager_require_pin_root(m, &e);
        if (r < 0) {
                config_add_error(ret, "%s", e.message);
                return 0;
        }
        a.wants = hashmap_new();
        a.refused = hashmap_new();
        if (!a.wants || !a.refused) {
                apply_free(&a);
                return -ENOMEM;
        }
        r = config_read_files(&a);
        if (r >= 0)
                r = config_find_wants(&a, only, n_only);
        if (r >= 0) {
                /* Loads wait here (no slots), as at start: see config-apply.h. */
                m->applying = true;
                m->config_of = config_of;
                r = run(&a);
                m->config_of = NULL;
                m->applying = false;
        }
        apply_free(&a);
        if (r < 0)
                return r;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        log_internal(ret->n_changes > 0 || ret->n_errors > 0 ? LOG_NOTICE : LOG_DEBUG, 0,
                     "Configuration%s: %u attached, %u updated, %u detached, %u with new bindings, %zu error(s), "
                     "in %.1f ms", dry_run ? " (dry run)" : "", ret->attached, ret->updated, ret->detached,
                     ret->bindings_changed, ret->n_errors,
                     (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6);
        return 0;
}

int config_apply(ConfigApply *c, bool dry_run, ConfigResult *ret) {
        return apply_some(c, dry_run, NULL, 0, ret);
}

int config_apply_netns(ConfigApply *c, char **names, size_t n) {
        ConfigResult res = {};
        int r = apply_some(c, false, names, n, &res);

        config_result_done(&res);
        return r;
}
