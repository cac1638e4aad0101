/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-private.h"
#include "config.h"
#include "log.h"
#include "netns-ref.h"

/* Reading the files. */

static ProgramSpec spec_of(const NlConfigLink *l) {
        if (l->builtin)
                return (ProgramSpec) { .kind = PROGRAM_BUILTIN, .builtin = l->builtin, .fd = -EBADF };
        return (ProgramSpec) { .kind = PROGRAM_PATH, .path = l->object_path, .program = l->object_program,
                               .fd = -EBADF };
}

int config_read_files(Apply *a) {
        _cleanup_(nl_config_files_freep) char **paths = NULL;
        size_t n = 0;
        int r;

        r = nl_config_files(a->c->root, &paths, NULL);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                /* What the files made stays: they may be back next time. */
                config_add_error(a->res, "Cannot list the configuration files under %s: %s; nothing is detached",
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
                        config_add_error(a->res, "%s", e.message);
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
                        config_add_error(a->res,
                                         "%s: %s link '%s' in netns %s is described by %s already; ignored here",
                                         l->path, nl_attach_type_to_string(l->type), l->name, netns,
                                         other->file->link->path);
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
int config_find_wants(Apply *a, char **only, size_t n_only) {
        char **names = NULL;
        size_t n_names = 0, most = 0;
        int r;

        r = list_run_netns(&names, &n_names);
        if (r < 0) {
                config_add_error(a->res, "Cannot read " NL_NETNS_RUN_DIR ": %s; nothing is detached", strerror(-r));
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
int config_runs_program(Apply *a, ConfigFile *f, const Link *l) {
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
                        config_add_error(a->res, "%s: Program=%s: %s", c->path, c->program, e.message);
                else
                        f->source_r = 1;
        }
        if (f->source_r < 0)
                return f->source_r;
        return !l->builtin && strcmp(l->source, f->source) == 0;
}

void config_add_error(ConfigResult *r, const char *fmt, ...) {
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
