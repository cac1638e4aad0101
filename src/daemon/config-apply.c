/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/socket.h>
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
#include "netns-ref.h"
#include "steer.h"


/* One readable file of this apply. */
typedef struct ConfigFile {
        NlConfigLink *link;
        ProgramSpec spec;
        char source[128];       /* an object's program source, once computed */
        int source_r;           /* 0: not computed; 1: computed; < 0: failed */
} ConfigFile;

/* One link a file asks for in one netns. */
typedef struct Want {
        ConfigFile *file;
        char *netns;
        uint64_t ino;
        char key[128];
        bool is_new;            /* missing when the apply began */
} Want;

typedef struct Apply {
        ConfigApply *c;
        bool dry_run;
        ConfigResult *res;
        ConfigFile *files;
        size_t n_files;
        Hashmap *refused;       /* path -> 1: files refused this time */
        Hashmap *wants;         /* link key -> Want */
        Want **order;           /* the wants, in file then netns order */
        size_t n_wants;
        bool only;              /* some netns alone: nothing is detached */
        bool incomplete;        /* a folder could not be read: nothing is detached */
} Apply;

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

static void add_error(ConfigResult *r, const char *fmt, ...) _printf_(2, 3);
static void add_error(ConfigResult *r, const char *fmt, ...) {
        /* NULL-terminated, for sd_bus_message_append_strv. */
        char **v = reallocarray(r->errors, r->n_errors + 2, sizeof(char *));
        va_list ap;
        char *s = NULL;

        if (!v)
                return;
        r->errors = v;
        v[r->n_errors] = NULL;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return;
        log_warning("Configuration: %s", s);
        r->errors[r->n_errors++] = s;
        r->errors[r->n_errors] = NULL;
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

/* Reading the files. */

static ProgramSpec spec_of(const NlConfigLink *l) {
        if (l->builtin)
                return (ProgramSpec) { .kind = PROGRAM_BUILTIN, .builtin = l->builtin, .fd = -EBADF };
        return (ProgramSpec) { .kind = PROGRAM_PATH, .path = l->object_path, .program = l->object_program,
                               .fd = -EBADF };
}

static int read_files(Apply *a) {
        _cleanup_(nl_config_files_freep) char **paths = NULL;
        size_t n = 0;
        int r;

        r = nl_config_files(a->c->root, &paths, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* What the files made stays: they may be back next time. */
                add_error(a->res, "Cannot list the configuration files under %s: %s; nothing is detached",
                          a->c->root, strerror(-r));
                a->incomplete = true;
                return 0;
        }
        while (paths[n])
                n++;
        a->files = calloc(n + 1, sizeof(ConfigFile));
        if (!a->files)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                NlConfigLink *l = NULL;
                NlError e = {};

                r = nl_config_parse_file(paths[i], &l, &e);
                if (r < 0) {
                        add_error(a->res, "%s", e.message);
                        char *p = strdup(paths[i]);
                        if (!p || hashmap_put(a->refused, p, p) < 0)
                                free(p);
                        continue;
                }
                a->files[a->n_files++] = (ConfigFile) { .link = l, .spec = spec_of(l) };
        }
        return 0;
}

/* Which links where. */

static bool in_list(char **names, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(names[i], name) == 0)
                        return true;
        return false;
}

static int add_want(Apply *a, ConfigFile *f, const char *netns) {
        const NlConfigLink *l = f->link;
        Want *w, *other;
        uint64_t ino;
        char key[128];

        /* A file that is not a netns (yet: ip netns add makes the file,
         * then mounts the netns on it) is not one to attach in. */
        if (nl_netns_stat_ino(netns, &ino) < 0)
                return 0;
        snprintf(key, sizeof(key), "%" PRIu64 "/%s/%s", ino, nl_attach_type_to_string(l->type), l->name);
        other = hashmap_get(a->wants, key);
        if (other) {
                if (other->file != f)
                        add_error(a->res, "%s: %s link '%s' in netns %s is described by %s already; ignored here",
                                  l->path, nl_attach_type_to_string(l->type), l->name, netns, other->file->link->path);
                return 0;
        }
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->file = f;
        w->ino = ino;
        snprintf(w->key, sizeof(w->key), "%s", key);
        w->netns = strdup(netns);
        if (!w->netns || hashmap_put(a->wants, w->key, w) < 0) {
                free(w->netns);
                free(w);
                return -ENOMEM;
        }
        a->order[a->n_wants++] = w;
        return 0;
}

static int compare_strings(const void *x, const void *y) {
        return strcmp(*(char *const *) x, *(char *const *) y);
}

/* The names in /run/netns, sorted. */
static int list_run_netns(char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(NL_NETNS_RUN_DIR);
        if (!d) {
                *ret = NULL;
                *ret_n = 0;
                return errno == ENOENT ? 0 : -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == allocated) {
                        size_t na = allocated ? allocated * 2 : 64;
                        char **nv = reallocarray(v, na, sizeof(char *));
                        if (!nv)
                                break;
                        v = nv;
                        allocated = na;
                }
                v[n] = strdup(de->d_name);
                if (v[n])
                        n++;
        }
        closedir(d);
        if (n > 0)
                qsort(v, n, sizeof(char *), compare_strings);
        *ret = v;
        *ret_n = n;
        return 0;
}

static void free_names(char **v, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* only: netns names to look at alone (a netns that appeared), or NULL. */
static int find_wants(Apply *a, char **only, size_t n_only) {
        char **names = NULL;
        size_t n_names = 0, most = 0;
        int r;

        r = list_run_netns(&names, &n_names);
        if (r < 0) {
                add_error(a->res, "Cannot read " NL_NETNS_RUN_DIR ": %s; nothing is detached", strerror(-r));
                a->incomplete = true;
                r = 0;
        }
        for (size_t i = 0; i < a->n_files; i++)
                most += (n_names + a->files[i].link->n_netns);
        a->order = calloc(most + 1, sizeof(Want *));
        if (!a->order) {
                free_names(names, n_names);
                return -ENOMEM;
        }
        for (size_t i = 0; i < a->n_files && r >= 0; i++) {
                ConfigFile *f = &a->files[i];

                for (size_t k = 0; k < n_names && r >= 0; k++) {
                        char path[4096];

                        if (only && !in_list(only, n_only, names[k]))
                                continue;
                        snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", names[k]);
                        if (nl_config_matches(f->link, names[k], path))
                                r = add_want(a, f, names[k]);
                }
                /* Netns named by path, outside /run/netns. */
                for (size_t k = 0; k < f->link->n_netns && r >= 0 && !only; k++)
                        if (f->link->netns[k][0] == '/')
                                r = add_want(a, f, f->link->netns[k]);
        }
        free_names(names, n_names);
        return r;
}

/* Whether l runs the program f names. */
static int runs_program(Apply *a, ConfigFile *f, const Link *l) {
        const NlConfigLink *c = f->link;

        if (c->builtin)
                return l->builtin && strcmp(l->builtin->name, c->builtin) == 0;
        if (f->source_r == 0) {
                _cleanup_free_ void *data = NULL;
                char key[256];
                size_t size = 0;
                NlError e = {};

                f->source_r = nl_prog_elf_read_path(c->object_path, &data, &size, &e);
                if (f->source_r >= 0)
                        f->source_r = nl_prog_elf_key(data, size, c->object_program, c->type, key, sizeof(key),
                                                      f->source, sizeof(f->source), &e);
                if (f->source_r < 0)
                        add_error(a->res, "%s: Program=%s: %s", c->path, c->program, e.message);
                else
                        f->source_r = 1;
        }
        if (f->source_r < 0)
                return f->source_r;
        return !l->builtin && strcmp(l->source, f->source) == 0;
}

/* Bindings. */

static void binding_normalize(NlSteerBinding *b) {
        if (b->family == AF_INET)
                memset(b->addr + 4, 0, sizeof(b->addr) - 4);
        b->hits = 0;
}

static int compare_bindings(const void *x, const void *y) {
        const NlSteerBinding *a = x, *b = y;

        if (a->protocol != b->protocol)
                return a->protocol < b->protocol ? -1 : 1;
        if (a->family != b->family)
                return a->family < b->family ? -1 : 1;
        if (a->prefixlen != b->prefixlen)
                return a->prefixlen < b->prefixlen ? -1 : 1;
        int r = memcmp(a->addr, b->addr, sizeof(a->addr));
        if (r != 0)
                return r;
        if (a->port != b->port)
                return a->port < b->port ? -1 : 1;
        return strcmp(a->label, b->label);
}

/* Whether the link's bindings are exactly these. */
static bool same_bindings(NlSteerBinding *have, size_t n_have, const NlSteerBinding *want, size_t n_want) {
        _cleanup_free_ NlSteerBinding *w = NULL;
        size_t n = 0;

        w = calloc(n_want + 1, sizeof(*w));
        if (!w)
                return false;
        for (size_t i = 0; i < n_want; i++) {
                w[i] = want[i];
                binding_normalize(&w[i]);
        }
        qsort(w, n_want, sizeof(*w), compare_bindings);
        /* A binding named twice, with the same label, is one. */
        for (size_t i = 0; i < n_want; i++)
                if (n == 0 || compare_bindings(&w[n - 1], &w[i]) != 0)
                        w[n++] = w[i];
        for (size_t i = 0; i < n_have; i++)
                binding_normalize(&have[i]);
        if (n_have > 0)
                qsort(have, n_have, sizeof(*have), compare_bindings);
        if (n != n_have)
                return false;
        for (size_t i = 0; i < n; i++)
                if (compare_bindings(&w[i], &have[i]) != 0)
                        return false;
        return true;
}

/* Sets the link's bindings to the file's, through the one call SetBindings
 * uses (every lookup sees the old set or the new one). Returns 1 if they
 * changed (or would). */
static int apply_bindings(Apply *a, const Want *w, Link *l) {
        const NlConfigLink *c = w->file->link;
        _cleanup_(nl_steer_closep) NlSteer *s = NULL;
        _cleanup_free_ NlSteerBinding *have = NULL;
        size_t n_have = 0;
        char dir[4096];
        NlError e = {};
        int r;

        if (!l) {
                /* Not made yet (a dry run): its bindings would be set. */
                return c->n_bindings > 0;
        }
        if (!manager_link_runs_steer(l))
                return 0;
        r = manager_steer_dir(a->c->m, l->ino, l->name, dir, sizeof(dir));
        if (r >= 0) {
                r = nl_steer_open(dir, &s, &e);
                if (r < 0 && !a->dry_run && manager_repair_steer_maps(a->c->m, l, NULL) > 0)
                        r = nl_steer_open(dir, &s, &e);
        } else
                nl_error_set(&e, NL_ERR_FAILED, r, "Steer map folder path too long");
        if (r >= 0)
                r = nl_steer_list_bindings(s, &have, &n_have, &e);
        if (r >= 0 && same_bindings(have, n_have, c->bindings, c->n_bindings))
                return 0;
        if (r >= 0 && !a->dry_run) {
                NlSteerChanges ch = {};
                r = nl_steer_set_bindings(s, c->bindings, c->n_bindings, &ch, &e);
                if (r >= 0)
                        log_info("Steering %s/%s: set the bindings of %s: %u now, %u added, %u removed",
                                 l->netns, l->name, c->path, ch.total, ch.added, ch.removed);
        }
        if (r < 0) {
                add_error(a->res, "%s: bindings of link '%s' in netns %s: %s", c->path, c->name, w->netns,
                          e.message);
                return 0;
        }
        return 1;
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
                add_error(a->res, "Out of memory attaching %zu link(s)", n);
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
                                add_error(a->res, "%s: cannot attach %s link '%s' in netns %s: %s", files[i],
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
                add_error(a->res, "Out of memory detaching %zu link(s)", n);
                return;
        }
        for (size_t i = 0; i < n; i++) {
                /* ino:N finds the very link, whatever its netns is called now. */
                if (asprintf(&netns[i], "ino:%" PRIu64, v[i]->ino) < 0) {
                        netns[i] = NULL;
                        add_error(a->res, "Out of memory detaching %zu link(s)", n);
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
                add_error(a->res, "Out of memory detaching %zu link(s)", n);
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
                        add_error(a->res, "%s: cannot detach %s link '%s' in netns %s: %s",
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
                        r = runs_program(a, w->file, l);
                        if (r == 0 && a->dry_run) {
                                note_done(a, "update", w);
                                a->res->updated++;
                        } else if (r == 0) {
                                LinkRef ref = ref_of(w);

                                r = manager_update(m, &ref, &w->file->spec, NULL, &l, &e);
                                if (r < 0) {
                                        add_error(a->res, "%s: cannot update %s link '%s' in netns %s: %s", cfg->path,
                                                  ref.type, cfg->name, w->netns, e.message);
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
                                        add_error(a->res, "%s: %s", cfg->path, e.message);
                        }
                }
                if (!cfg->builtin || strcmp(cfg->builtin, "steer") != 0 || (!l && !a->dry_run))
                        continue;
                if (apply_bindings(a, w, a->dry_run && is_new ? NULL : l) > 0) {
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
                add_error(ret, "%s", e.message);
                return 0;
        }
        a.wants = hashmap_new();
        a.refused = hashmap_new();
        if (!a.wants || !a.refused) {
                apply_free(&a);
                return -ENOMEM;
        }
        r = read_files(&a);
        if (r >= 0)
                r = find_wants(&a, only, n_only);
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
