/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builtin-marks.h"
#include "builtins.h"
#include "link-records.h"
#include "log.h"
#include "manager-private.h"
#include "netns-ref.h"
#include "steer-maps.h"
#include "steer.h"

/* Start-up: the links found pinned again, then tidying and repair of what
 * a kill left. */

/* ino -> name for every netns in /run/netns, to name links found again. */
static Hashmap *scan_run_netns(void) {
        Hashmap *h = hashmap_new();
        struct dirent *de;
        DIR *d;

        if (!h)
                return NULL;
        d = opendir(NL_NETNS_RUN_DIR);
        if (!d)
                return h;
        while ((de = readdir(d))) {
                char path[4096], k[32];
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", de->d_name);
                if (stat(path, &st) < 0)
                        continue;
                manager_netns_key(k, st.st_ino);
                char *name = strdup(de->d_name);
                if (name && hashmap_put(h, k, name) < 0)
                        free(name);
        }
        closedir(d);
        return h;
}

struct load_ctx {
        Manager *m;
        Hashmap *names;
        int served, defunct, bad;
};

static int load_one(NlPinEntry *pe, void *userdata, NlError *e) {
        struct load_ctx *c = userdata;
        Manager *m = c->m;
        char k[32], netns[64], path[4096];
        const char *name;
        Link *l = NULL;
        int r;

        if (pe->state == NL_PIN_BAD) {
                log_warning("Ignoring %s: %s", pe->path, pe->reason);
                c->bad++;
                return 0;
        }

        manager_netns_key(k, pe->ino);
        name = hashmap_get(c->names, k);
        if (name) {
                snprintf(netns, sizeof(netns), "%.63s", name);
                snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", name);
        } else {
                snprintf(netns, sizeof(netns), "ino:%" PRIu64, pe->ino);
                path[0] = 0;
        }

        l = manager_link_new(pe->ino, pe->type, pe->name, netns, NULL);
        if (!l)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        l->fd = TAKE_FD(pe->link_fd);
        l->info = pe->info;
        /* A link whose program cannot be told is not known: what is
         * tidied after the scan depends on it. */
        r = nl_prog_describe(l->info.prog_id, l->info.prog_name, l->info.prog_tag);
        if (r < 0) {
                manager_link_free(l);
                return nl_pin_scan_incomplete(e, r, "the program of link", pe->path);
        }
        /* A builtin by the daemon's record, not by a name anyone can give
         * a program (builtin-marks.h). */
        manager_link_set_builtin(l, nl_builtin_marked(m->marks_fd, l->info.prog_id));
        manager_link_set_recorded(m, l);

        if (manager_link_add(m, l, path[0] ? path : NULL) < 0) {
                manager_link_free(l);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        /* A link whose netns died while we were away stays listed until
         * manager_check_defunct() drops it, after the bus name is ours. */
        if (pe->state == NL_PIN_DEFUNCT) {
                l->defunct = true;
                c->defunct++;
        } else
                c->served++;
        return 0;
}

/* Steer map folders whose link is gone or no longer runs steer, left by a
 * crash between the steps of Attach, Update or Detach. */
static void tidy_pin_folders(Manager *m) {
        const char *root = nl_pin_store_root(m->store);
        struct dirent *de;
        DIR *d;

        d = opendir(root);
        if (!d)
                return;
        while ((de = readdir(d))) {
                char dir[4096], key[128];
                struct dirent *se;
                uint64_t ino;
                DIR *sd;

                if (!nl_pin_netns_folder_parse(de->d_name, &ino))
                        continue;
                /* Empty folders a crash or a stop left behind go too. */
                manager_mark_emptied(m, ino);
                snprintf(dir, sizeof(dir), "%s/%s/" NL_STEER_DIR, root, de->d_name);
                sd = opendir(dir);
                if (!sd)
                        continue;
                while ((se = readdir(sd))) {
                        Link *l;

                        if (se->d_name[0] == '.')
                                continue;
                        manager_link_key(key, sizeof(key), ino, NL_ATTACH_SK_LOOKUP, se->d_name);
                        l = hashmap_get(m->links, key);
                        if (l && manager_link_runs_steer(l))
                                continue;
                        if (nl_pin_steer_is_staging(se->d_name))
                                log_notice("Removing steer maps %s/%s a load made for a request that "
                                           "never finished", dir, se->d_name);
                        else
                                log_notice("Removing steer maps of link '%s' in netns %" PRIu64
                                           ", which no longer runs builtin:steer", se->d_name, ino);
                        manager_remove_steer_dir(m, ino, se->d_name);
                }
                closedir(sd);
                (void) rmdir(dir);
        }
        closedir(d);
        (void) manager_prune(m, true);
}

/* A link of a release before per-CPU hit counters runs that release's
 * program, which counts hits in counters shared between CPUs: it is moved
 * to this build's program and maps (steer.h), its bindings, sockets and
 * counts kept. A kill in the middle is mended by the pin repair above at
 * the next start, which then moves it again if it was not moved. */
static void upgrade_steer_link(Manager *m, Link *l, NlSteer *s) {
        SteerGrowCtx ctx = { m, l };
        NlError e = {};
        int r;

        nl_steer_set_link(s, l->fd, steer_maps_grown, &ctx);
        r = nl_steer_upgrade(s, &e);
        nl_steer_set_link(s, -EBADF, NULL, NULL);
        if (r < 0)
                log_warning("Cannot move steer link '%s' in netns %s to this release's program and maps: %s",
                            l->name, l->netns, e.message);
        else if (r > 0)
                log_notice("Steer link '%s' in netns %s moved to this release's program and maps (per-CPU hit "
                           "counters)", l->name, l->netns);
}

/* A crash in the middle of a Steering change can leave a link's maps half
 * written: mend them before anyone looks. */
static void repair_steer_maps(Manager *m) {
        HashmapIter it = {};
        Link *l;

        while (hashmap_iterate(m->links, &it, (void **) &l, NULL)) {
                char dir[4096];
                NlSteer *s = NULL;
                NlError e = {};

                if (!manager_link_runs_steer(l) || manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir)) < 0)
                        continue;
                /* A growth killed half way: the pins follow the maps the
                 * link runs (steer.h). */
                if (nl_steer_repair_pins(dir, l->info.prog_id, &e) < 0)
                        log_warning("Steer map pins of link '%s' in netns %s: %s", l->name, l->netns, e.message);
                e = (NlError) {};
                /* Pins removed by hand are pinned again from the program. */
                if (nl_steer_open(dir, &s, NULL) < 0)
                        (void) manager_repair_steer_maps(m, l, NULL);
                if ((!s && nl_steer_open(dir, &s, &e) < 0) || nl_steer_repair(s, &e) < 0)
                        log_warning("Steer maps of link '%s' in netns %s: %s", l->name, l->netns, e.message);
                else
                        upgrade_steer_link(m, l, s);
                nl_steer_close(s);
        }
}

int manager_load_pins(Manager *m, NlError *e) {
        struct load_ctx c = { .m = m };
        int r;

        r = nl_pin_store_recover(m->store);
        if (r > 0)
                log_notice("Repaired %d pin(s) of batches interrupted by a crash", r);
        else if (r < 0)
                log_warning_errno(r, "Failed to look for interrupted batches: %m");

        c.names = scan_run_netns();
        if (!c.names)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = nl_pin_store_scan(m->store, load_one, &c, e);
        hashmap_free(c.names, free);
        /* Nothing is tidied after a scan that missed links: their steer
         * maps would look left over, and the kernel would go on running
         * them with state nobody could reach. */
        if (r < 0)
                return r;
        r = manager_layout_update(m, e);
        if (r < 0)
                return r;
        tidy_pin_folders(m);
        repair_steer_maps(m);
        log_info("Found %d pinned link(s) in %s, %d of them in vanished netns", c.served + c.defunct,
                 nl_pin_store_root(m->store), c.defunct);
        return c.served;
}
