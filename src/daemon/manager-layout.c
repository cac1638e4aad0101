/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "builtin-marks.h"
#include "link-records.h"
#include "log.h"
#include "manager.h"
#include "names.h"
#include "pin-layout.h"

/*
 * The pin root's layout version (src/lib/pin-layout.h) at start:
 *
 * open:   before anything under the root is read, and after its lock is
 *         taken: a newer version is refused; the record of built-in
 *         programs is opened, or made.
 * update: after the scan found every link and before anything is tidied
 *         (the tidy keeps a steer map folder only for a link known to run
 *         builtin:steer): an older root is brought up to date, and the
 *         marker written last [layout-migrate-midway,
 *         layout-before-marker], so that a migration killed half way is
 *         done again by the next start. Marks and sources of programs gone
 *         are pruned, and records of configured links (link-records.h)
 *         that are not the daemon's.
 */

void manager_link_set_builtin(Link *l, const NlBuiltin *b) {
        char *source = NULL;

        l->builtin = b;
        if (!b)
                return;
        if (asprintf(&source, "builtin:%s", b->name) < 0)
                return;
        free(l->source);
        l->source = source;
}

void manager_link_set_recorded(Manager *m, Link *l) {
        char buf[NL_LINK_RECORD_PATH_MAX];

        if (!l->builtin && nl_prog_source_recorded(m->sources_fd, l->info.prog_id, buf, sizeof(buf)) >= 0) {
                char *s = strdup(buf);
                if (s) {
                        free(l->source);
                        l->source = s;
                }
        }
        if (nl_link_record_get(m->configs_fd, l->info.link_id, buf, sizeof(buf)) >= 0) {
                /* A file's path is absolute; an origin starts with its prefix. */
                char **field = nl_link_origin_is_valid(buf) ? &l->origin : &l->config;
                free(*field);
                *field = strdup(buf);
        }
}

/* Records value for l in *field; the other kind of record goes (a link has
 * one record). */
static int link_record(Manager *m, Link *l, const char *value, char **field, char **other, NlError *e) {
        char *v = strdup(value);
        int r;

        if (!v)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = nl_link_record_set(m->configs_fd, l->info.link_id, value, e);
        if (r < 0) {
                free(v);
                return r;
        }
        free(*field);
        *field = v;
        free(*other);
        *other = NULL;
        return 0;
}

int manager_link_set_config(Manager *m, Link *l, const char *path, NlError *e) {
        int r;

        if (!path) {
                r = nl_link_record_clear(m->configs_fd, l->info.link_id);
                if (r < 0)
                        return nl_error_set(e, NL_ERR_FAILED, r, "Cannot clear the record of link %u: %m",
                                            l->info.link_id);
                free(l->config);
                l->config = NULL;
                return 0;
        }
        if (l->config && strcmp(l->config, path) == 0)
                return 0;
        return link_record(m, l, path, &l->config, &l->origin, e);
}

int manager_link_set_origin(Manager *m, Link *l, const char *origin, NlError *e) {
        return link_record(m, l, origin, &l->origin, &l->config, e);
}

typedef struct LinkIds {
        uint32_t *ids;
        size_t n;
} LinkIds;

static int compare_u32(const void *a, const void *b) {
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static bool link_not_ours(uint32_t link_id, void *userdata) {
        const LinkIds *ids = userdata;
        return !bsearch(&link_id, ids->ids, ids->n, sizeof(uint32_t), compare_u32);
}

/* Drops the records of configured links that are not the daemon's: made
 * by a request a kill ended before the pin, or detached while the daemon
 * was away. */
static int prune_link_records(Manager *m) {
        _cleanup_free_ uint32_t *v = calloc(hashmap_size(m->links) + 1, sizeof(uint32_t));
        HashmapIter it = {};
        LinkIds ids = {};
        Link *l;

        if (!v)
                return -ENOMEM;
        while (hashmap_iterate(m->links, &it, (void **) &l, NULL))
                v[ids.n++] = l->info.link_id;
        qsort(v, ids.n, sizeof(uint32_t), compare_u32);
        ids.ids = v;
        return nl_link_records_prune(m->configs_fd, link_not_ours, &ids);
}

int manager_layout_open(Manager *m, NlError *e) {
        const char *root = nl_pin_store_root(m->store);
        int had, r;

        r = nl_pin_layout_check(root, &m->layout_version, e);
        if (r < 0)
                return r;
        had = nl_builtin_marks_exist(root);
        r = nl_builtin_marks_open(root, e);
        if (r < 0)
                return r;
        m->marks_fd = r;
        r = nl_prog_sources_open(root, e);
        if (r < 0)
                return r;
        m->sources_fd = r;
        r = nl_link_records_open(root, e);
        if (r < 0)
                return r;
        m->configs_fd = r;
        m->marks_lost = m->layout_version >= 2 && had == 0;
        return 0;
}

/* Whether the program of l uses the maps pinned in l's steer map folder:
 * true of builtin:steer loaded for l, whatever a program is called. */
static bool runs_its_steer_maps(Manager *m, const Link *l) {
        _cleanup_close_ int map_fd = -EBADF, prog_fd = -EBADF;
        struct bpf_prog_info info = {};
        struct bpf_map_info minfo = {};
        uint32_t len = sizeof(info), mlen = sizeof(minfo), ids[64];
        char dir[4096], path[4096 + 32];

        if (l->type != NL_ATTACH_SK_LOOKUP || nl_pin_steer_dir(m->store, l->ino, l->name, dir, sizeof(dir)) < 0)
                return false;
        snprintf(path, sizeof(path), "%s/steer_cfg", dir);
        map_fd = bpf_obj_get(path);
        prog_fd = bpf_prog_get_fd_by_id(l->info.prog_id);
        if (map_fd < 0 || prog_fd < 0 || bpf_obj_get_info_by_fd(map_fd, &minfo, &mlen) < 0)
                return false;
        info.nr_map_ids = ELEMENTSOF(ids);
        info.map_ids = (uint64_t) (uintptr_t) ids;
        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
                return false;
        for (uint32_t i = 0; i < info.nr_map_ids && i < ELEMENTSOF(ids); i++)
                if (ids[i] == minfo.id)
                        return true;
        return false;
}

/*
 * Version 1 recorded nothing and knew a built-in by its program's name:
 * its links are marked once, by that rule, so that they stay what that
 * release said they were, except that a program called steer_lookup is
 * builtin:steer only if it uses the steer maps pinned for its link (a
 * user's program of that name does not, and steering it never worked).
 * builtin:flow has no maps to tell it by: a user's flow_dissect attached
 * under version 1 stays listed as builtin:flow, as version 1 listed it.
 */
/* *ret_marked: how many links run a built-in, marked now or before. */
static int mark_by_first_release_rule(Manager *m, unsigned *ret_marked, NlError *e) {
        HashmapIter it = {};
        unsigned marked = 0;
        Link *l;

        while (hashmap_iterate(m->links, &it, (void **) &l, NULL)) {
                const NlBuiltin *b = NULL;
                size_t n;

                if (l->builtin && !l->defunct)
                        marked++;       /* by a start this migration was killed in */
                if (l->builtin || l->defunct)
                        continue;
                for (const NlBuiltin *all = nl_builtin_all(&n), *c = all; c < all + n; c++)
                        if (c->type == l->type && strcmp(c->prog_name, l->info.prog_name) == 0)
                                b = c;
                if (!b || (b->per_link && !runs_its_steer_maps(m, l)))
                        continue;
                int r = nl_builtin_mark(m->marks_fd, l->info.prog_id, b, e);
                if (r < 0)
                        return r;
                manager_link_set_builtin(l, b);
                marked++;
                nl_crash_point("layout-migrate-midway");
        }
        *ret_marked = marked;
        return 0;
}

int manager_layout_update(Manager *m, NlError *e) {
        const char *root = nl_pin_store_root(m->store);
        unsigned marked = 0;
        int r;

        r = nl_builtin_marks_prune(m->marks_fd);
        if (r > 0)
                log_debug("Dropped the marks of %d built-in program(s) no longer running", r);
        r = nl_prog_sources_prune(m->sources_fd);
        if (r > 0)
                log_debug("Dropped the sources of %d program(s) no longer running", r);
        /* Only here, after a scan that found every link. */
        r = prune_link_records(m);
        if (r > 0)
                log_notice("Dropped the records of %d configured link(s) that are gone", r);
        if (m->layout_version == NL_PIN_LAYOUT_VERSION && !m->marks_lost)
                return 0;

        if (m->marks_lost)
                log_warning("Pin root %s has layout version %" PRIu32 " but no record of built-in programs "
                            "(%s/" NL_BUILTIN_MARKS_NAME " was removed?): rebuilding it as from the first release",
                            root, m->layout_version, root);
        /* Version 2 recorded its built-ins: only a root without a record is
         * marked by the first release's rule. Version 3 changed steer map
         * folders, which the start moves link by link (manager-start.c). */
        r = 0;
        if (m->layout_version < 2 || m->marks_lost)
                r = mark_by_first_release_rule(m, &marked, e);
        if (r < 0)
                return nl_error_prefix(e, r, "Cannot update pin root %s from layout version %" PRIu32, root,
                                       m->layout_version);
        nl_crash_point("layout-before-marker");
        r = nl_pin_layout_write(root, NL_PIN_LAYOUT_VERSION, e);
        if (r < 0)
                return r;
        if (hashmap_size(m->links) > 0 || m->layout_version > 1)
                log_notice("Updated pin root %s from layout version %" PRIu32 " to %u: %u link(s) recorded as "
                           "running a built-in program", root, m->layout_version, NL_PIN_LAYOUT_VERSION, marked);
        else
                log_info("Pin root %s: layout version %u", root, NL_PIN_LAYOUT_VERSION);
        m->layout_version = NL_PIN_LAYOUT_VERSION;
        m->marks_lost = false;
        return 0;
}
