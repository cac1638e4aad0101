/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Drift: what changes behind the daemon's back, how it is told, and what
 * is mended.
 *
 *  - A netns dies: its links read netns_ino 0. They are dropped, with
 *    LinkDefunct.
 *  - Someone detaches a link (bpftool link detach, BPF_LINK_DETACH): it
 *    reads netns_ino 0 too, but its netns lives: another link of ours there
 *    still reads the netns's inode, or the file the netns was named by
 *    still names that inode. The link stays listed with drift "detached",
 *    out of the run order; an Update is refused, a Detach removes its pin
 *    and maps. It cannot be mended: attaching it again would undo what an
 *    operator chose.
 *  - Someone removes a link's pin: it is pinned again from the fd the
 *    daemon holds, and a steer link's map pins from its program (the
 *    kernel keeps a link's maps with its program). If that fails, the link
 *    reads drift "unpinned" (and pin_path "") until it works.
 *  - The pin root stops being a bpffs mount (unmounted, mounted over):
 *    every change is refused, loudly, lest folders be written to the file
 *    system beneath, and every link reads drift "unpinned". Once a bpffs
 *    is there again, every link and its steer maps are pinned in it.
 *
 * Each finding is logged and sent as LinkDrifted, whose link dictionary
 * says in "drift" what was found and in "repaired" whether it was mended.
 *
 * Netns death is looked for every second with one read per netns; the rest
 * with a sweep of at most DRIFT_SWEEP_MAX links a second, so that a daemon
 * with 10,000 links spends about a millisecond a second on it; a stop
 * sweeps them all, so that no link vanishes unsaid.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include "log.h"
#include "manager.h"
#include "map-pins.h"
#include "netns-ref.h"

#define DRIFT_SWEEP_MAX 512

/* LinkDrifted with the link as found (drift = found), then the link as it
 * is: a signal keeps a copy of the link (bus-signals.c). */
static void report(Manager *m, Link *l, LinkDrift found, bool repaired) {
        LinkDrift now = l->drift;

        l->drift = found;
        manager_emit(m, repaired ? LINK_REPAIRED : LINK_DRIFTED, l);
        l->drift = now;
}

/* ---- netns death, and links detached by someone else ------------------- */

static bool link_reads_zero(const Link *l) {
        NlLinkInfo info;

        return nl_link_get_info(l->fd, false, &info) >= 0 && info.netns_ino == 0;
}

/* The file the netns was named by still names its inode. */
static bool netns_file_names_it(const Netns *ns) {
        uint64_t ino;

        return ns->path && nl_netns_stat_ino(ns->path, &ino) >= 0 && ino == ns->ino;
}

static void drop_defunct(Manager *m, Link *l) {
        uint64_t ino = l->ino;

        l->defunct = true;
        (void) nl_pin_store_unpin(m->store, l->ino, l->type, l->name);
        manager_finish_detach(m, l, LINK_DEFUNCT, false);
        /* A dead netns gets no new links: its folders go at once. */
        (void) manager_prune_now(m, ino);
}

/* Its place among the links of its netns that run, by link id (the kernel
 * runs sk_lookup links in attach order): kept as its last place. */
static uint32_t last_place(const Netns *ns, const Link *l) {
        uint32_t rank = 0;

        for (size_t i = 0; i < ns->n_links; i++) {
                const Link *o = ns->links[i];
                rank += o != l && o->type == l->type && o->drift != LINK_DRIFT_DETACHED &&
                        o->info.link_id < l->info.link_id;
        }
        return rank;
}

static void mark_detached(Manager *m, Netns *ns, Link *l) {
        l->order = last_place(ns, l);
        l->drift = LINK_DRIFT_DETACHED;
        l->defunct = false;
        ns->gen++;      /* the others' places changed */
        log_warning("%s link '%s' in netns %s (ino %" PRIu64 ", link id %u) was detached behind the daemon's back "
                    "(its netns lives); it stays listed with drift 'detached' until it is detached here",
                    nl_attach_type_to_string(l->type), l->name, l->netns, l->ino, l->info.link_id);
        report(m, l, LINK_DRIFT_DETACHED, false);
}

/*
 * The links of ns that read netns_ino 0 (or that the start-up scan found
 * so): detached by someone else if the netns lives, else defunct. Its
 * links die together with it, so one that still reads its inode proves it
 * lives; failing that, the file it was named by (not at start: a netns
 * made since may have the freed inode, and a link dropped as defunct here
 * was detached anyway). ns may be freed. Returns how many were dropped.
 */
static int sort_out(Manager *m, Netns *ns, bool at_start) {
        _cleanup_free_ Link **zero = NULL;
        size_t n = 0, total = ns->n_links;
        bool alive = false;

        zero = malloc((total ? total : 1) * sizeof(Link *));
        if (!zero)
                return -ENOMEM;
        for (size_t i = 0; i < total; i++) {
                Link *l = ns->links[i];
                if (l->drift == LINK_DRIFT_DETACHED || (at_start ? l->defunct : link_reads_zero(l)))
                        zero[n++] = l;
                else
                        alive = true;
        }
        if (!alive && !at_start)
                alive = netns_file_names_it(ns);
        if (alive) {
                for (size_t i = 0; i < n; i++)
                        if (zero[i]->drift != LINK_DRIFT_DETACHED)
                                mark_detached(m, ns, zero[i]);
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                drop_defunct(m, zero[i]);
        return (int) n;
}

/* One read per netns: its first link that runs; with none (all of them
 * detached by someone else), whether the netns is still there. */
static bool netns_suspect(const Netns *ns) {
        for (size_t i = 0; i < ns->n_links; i++)
                if (ns->links[i]->drift != LINK_DRIFT_DETACHED)
                        return link_reads_zero(ns->links[i]);
        return ns->n_links > 0 && !netns_file_names_it(ns);
}

/* The kernel gives a netns inode to a new namespace as soon as the old one
 * is gone, often the very next one: the links of the dead netns must go
 * before the inode names anything again (a lookup, or new links joining
 * its entry), not only at the next periodic look. */
void manager_drop_if_reused(Manager *m, uint64_t ino) {
        Netns *ns = manager_netns_get(m, ino);

        if (ns && netns_suspect(ns))
                (void) sort_out(m, ns, false);
}

int manager_check_defunct(Manager *m, bool at_start) {
        HashmapIter it = {};
        Netns *ns;
        int dropped = 0;

        /* At start the scan looked at every link: its verdict is used
         * link by link (pins of a dead netns and of a new one with its
         * inode may share a folder). */
        while (hashmap_iterate(m->netns, &it, (void **) &ns, NULL)) {
                int r;

                if (!at_start && !netns_suspect(ns))
                        continue;
                r = sort_out(m, ns, at_start);
                if (r < 0)
                        return r;
                dropped += r;
        }
        return dropped;
}

/* ---- pins ------------------------------------------------------------- */

int manager_repair_steer_maps(Manager *m, Link *l, NlError *e) {
        char dir[4096];
        int r;

        if (!manager_link_runs_steer(l) || l->drift == LINK_DRIFT_DETACHED || m->pin_root_lost)
                return 0;
        r = manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir));
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Steer map folder path too long");
        r = nl_prog_pin_maps(l->info.prog_id, dir, e);
        if (r <= 0)
                return r;
        log_warning("%d steer map pin(s) of link '%s' in netns %s were removed behind the daemon's back; "
                    "pinned them again in %s", r, l->name, l->netns, dir);
        report(m, l, LINK_DRIFT_UNPINNED, true);
        return 1;
}

static int64_t mtime_ns(const struct stat *st) {
        return (int64_t) st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* A steer link's map pins: one stat of their folder, whose modification
 * time moves only when a pin in it is made or removed; the pins are looked
 * at one by one only then. */
static void check_steer_maps(Manager *m, Link *l) {
        char dir[4096];
        struct stat st;
        NlError e = {};

        if (manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir)) < 0)
                return;
        if (stat(dir, &st) >= 0 && mtime_ns(&st) == l->maps_mtime)
                return;
        if (manager_repair_steer_maps(m, l, &e) < 0) {
                log_error("The steer maps of link '%s' in netns %s were removed behind the daemon's back and "
                          "cannot be pinned again: %s", l->name, l->netns, e.message);
                return;
        }
        if (stat(dir, &st) >= 0)
                l->maps_mtime = mtime_ns(&st);
}

/* The link's pin is where it belongs, or is made again. */
static void check_pin(Manager *m, Link *l) {
        char pin[4096];
        struct stat st;
        NlError e = {};

        if (nl_pin_path(m->store, l->ino, l->type, l->name, pin, sizeof(pin)) < 0)
                return;
        if (lstat(pin, &st) < 0 && errno == ENOENT) {
                if (l->drift == LINK_DRIFT_DETACHED) {
                        /* Detached and unpinned by someone else: nothing is left of it. */
                        log_warning("Link '%s' in netns %s, detached behind the daemon's back, lost its pin too; "
                                    "dropping it", l->name, l->netns);
                        manager_finish_detach(m, l, LINK_DETACHED, true);
                        return;
                }
                if (nl_pin_store_pin(m->store, l->ino, l->type, l->name, l->fd, &e) >= 0) {
                        log_warning("The pin of %s link '%s' in netns %s was removed behind the daemon's back; "
                                    "pinned it again at %s", nl_attach_type_to_string(l->type), l->name, l->netns,
                                    pin);
                        l->drift = LINK_DRIFT_NONE;
                        report(m, l, LINK_DRIFT_UNPINNED, true);
                } else if (l->drift != LINK_DRIFT_UNPINNED) {
                        log_error("The pin of %s link '%s' in netns %s was removed behind the daemon's back and "
                                  "cannot be made again (%s): the kernel drops the link when the daemon stops",
                                  nl_attach_type_to_string(l->type), l->name, l->netns, e.message);
                        l->drift = LINK_DRIFT_UNPINNED;
                        report(m, l, LINK_DRIFT_UNPINNED, false);
                }
                return;
        }
        if (l->drift == LINK_DRIFT_UNPINNED) {
                /* Someone put it back. */
                l->drift = LINK_DRIFT_NONE;
                report(m, l, LINK_DRIFT_UNPINNED, true);
        }
        if (manager_link_runs_steer(l) && l->drift == LINK_DRIFT_NONE)
                check_steer_maps(m, l);
}

/* Calls fn on up to max links (all if max is 0) from the from-th one, in
 * the table's order. By key, not by pointer: fn may drop links. Returns
 * how many it visited. */
static size_t visit_links(Manager *m, size_t from, size_t max, void (*fn)(Manager *m, Link *l)) {
        _cleanup_free_ char (*keys)[sizeof(((Link *) NULL)->key)] = NULL;
        size_t total = hashmap_size(m->links), n = 0, i = 0;
        HashmapIter it = {};
        const char *k;

        if (max == 0 || max > total)
                max = total;
        keys = calloc(max + 1, sizeof(*keys));
        if (!keys)
                return 0;
        while (n < max && hashmap_iterate(m->links, &it, NULL, &k))
                if (i++ >= from)
                        snprintf(keys[n++], sizeof(keys[0]), "%s", k);
        for (size_t j = 0; j < n; j++) {
                Link *l = hashmap_get(m->links, keys[j]);
                if (l)
                        fn(m, l);
        }
        return n;
}

/* ---- the pin root ----------------------------------------------------- */

/* 1 if root is a bpffs mount (made again if only it is missing), with its
 * device, 0 if not. */
static int pin_root_probe(const char *root, dev_t *ret_dev) {
        char parent[4096], *slash;
        struct statfs sfs;
        struct stat st;

        if (statfs(root, &sfs) < 0) {
                if (errno != ENOENT)
                        return 0;
                /* A new bpffs mounted where the old was: its folder first. */
                snprintf(parent, sizeof(parent), "%s", root);
                slash = strrchr(parent, '/');
                if (!slash || slash == parent)
                        return 0;
                *slash = 0;
                if (statfs(parent, &sfs) < 0 || sfs.f_type != BPF_FS_MAGIC || nl_mkdir_p(root, 0700) < 0 ||
                    statfs(root, &sfs) < 0)
                        return 0;
        }
        if (sfs.f_type != BPF_FS_MAGIC || stat(root, &st) < 0)
                return 0;
        *ret_dev = st.st_dev;
        return 1;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U
#endif

/* The unique id of the mount root is on (Linux 6.8), or 0 if the kernel
 * tells none. The kernel never gives one mount's to another, so root on
 * the mount a probe found to be bpffs is on bpffs still: one call where a
 * probe makes three, before every change. */
static uint64_t pin_root_mount(const char *root) {
        struct statx stx;

        if (statx(AT_FDCWD, root, 0, STATX_MNT_ID_UNIQUE, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID_UNIQUE))
                return 0;
        return stx.stx_mnt_id;
}

static void pin_root_lost(Manager *m) {
        HashmapIter it = {};
        Link *l;

        m->pin_root_lost = true;
        log_error("The pin root %s is not on a BPF file system any more (unmounted, or mounted over): every "
                  "change is refused until it is back; the links keep running, but without pins the kernel "
                  "drops them when the daemon stops", nl_pin_store_root(m->store));
        while (hashmap_iterate(m->links, &it, (void **) &l, NULL))
                if (l->drift == LINK_DRIFT_NONE) {
                        l->drift = LINK_DRIFT_UNPINNED;
                        report(m, l, LINK_DRIFT_UNPINNED, false);
                }
}

static void pin_root_back(Manager *m, dev_t dev) {
        log_notice("The pin root %s is on a BPF file system again%s: pinning every link again",
                   nl_pin_store_root(m->store), m->pin_root_lost ? "" : " (another one)");
        m->pin_root_lost = false;
        m->pin_root_dev = dev;
        (void) visit_links(m, 0, 0, check_pin);
}

/* Notices the pin root going and coming back. Returns whether it is a
 * bpffs mount now. */
static bool pin_root_check(Manager *m) {
        const char *root = nl_pin_store_root(m->store);
        uint64_t mount = pin_root_mount(root);
        dev_t dev = 0;

        if (mount != 0 && mount == m->pin_root_mount && !m->pin_root_lost)
                return true;
        m->pin_root_mount = 0;
        if (!pin_root_probe(root, &dev)) {
                if (!m->pin_root_lost)
                        pin_root_lost(m);
                return false;
        }
        /* Back, or another bpffs at once: the pins there are not ours. */
        if (m->pin_root_lost || dev != m->pin_root_dev)
                pin_root_back(m, dev);
        /* Trusted from now on only if the probe saw that very mount: the
         * same before and after it. */
        if (mount != 0 && pin_root_mount(root) == mount)
                m->pin_root_mount = mount;
        return true;
}

int manager_require_pin_root(Manager *m, NlError *e) {
        if (pin_root_check(m))
                return 0;
        return nl_error_set(e, NL_ERR_FAILED, -ENOTCONN,
                            "The pin root %s is not on a BPF file system any more (unmounted?): changes are "
                            "refused until it is back", nl_pin_store_root(m->store));
}

/* ---- the sweep -------------------------------------------------------- */

static void sweep_one(Manager *m, Link *l) {
        char key[sizeof(l->key)];
        Netns *ns;

        if (l->drift != LINK_DRIFT_DETACHED && link_reads_zero(l)) {
                snprintf(key, sizeof(key), "%s", l->key);
                ns = manager_netns_get(m, l->ino);
                if (ns)
                        (void) sort_out(m, ns, false);
                l = hashmap_get(m->links, key);         /* gone if its netns died */
                if (!l)
                        return;
        }
        check_pin(m, l);
}

void manager_check_drift(Manager *m, bool all) {
        size_t total = hashmap_size(m->links);

        if (!pin_root_check(m)) {
                if (all)
                        log_error("Stopping while the pin root is gone: %zu link(s) have no pin, and the kernel "
                                  "drops them now", total);
                return;
        }
        if (m->drift_cursor >= total)
                m->drift_cursor = 0;
        if (all)
                (void) visit_links(m, 0, 0, sweep_one);
        else
                m->drift_cursor += visit_links(m, m->drift_cursor, DRIFT_SWEEP_MAX, sweep_one);
}
