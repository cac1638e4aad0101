/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "builtins.h"
#include "error.h"
#include "hashmap.h"
#include "kernel-features.h"
#include "link-ops.h"
#include "loader.h"
#include "names.h"
#include "pin-store.h"
#include "prog-loader.h"
#include "program-slots.h"

/*
 * The daemon's state: every link it manages, keyed by (netns inode, attach
 * type, name), each with its pinned link's fd. No D-Bus here: the bus layer
 * parses, calls these functions and replies.
 *
 * Crash safety: the order of system calls in each operation is chosen so
 * that a SIGKILL between any two of them is repaired at the next start: see
 * the top of manager-ops.c, with the NETNSLINK_CRASH_AT points of each step.
 */

/* What changed behind the daemon's back (drift.c). */
typedef enum LinkDrift {
        LINK_DRIFT_NONE,
        LINK_DRIFT_DETACHED,        /* someone detached it; its netns lives */
        LINK_DRIFT_UNPINNED,        /* its pin is gone and could not be made again */
} LinkDrift;

typedef struct Link {
        char key[128];
        uint64_t ino;
        NlAttachType type;
        char name[NL_LINK_NAME_MAX + 1];
        int fd;
        NlLinkInfo info;            /* with prog_name and prog_tag */
        char *netns;                /* how the netns was named */
        char *source;               /* builtin:steer, sha256:…, or "" if unknown */
        char *config;               /* the configuration file that made it (link-records.h), or NULL */
        char *origin;               /* who else asked for it, as it said (cni:<container>/<ifname>; link-records.h), or NULL */
        const NlBuiltin *builtin;   /* the builtin it runs, as the daemon recorded it; NULL: none */
        NlProgram *prog;            /* NULL for links found at start */
        bool defunct;
        bool detached;              /* being dropped: its last signal is on the way */
        LinkDrift drift;
        int64_t maps_mtime;         /* its steer folder's, when last found whole (ns; drift.c) */
        uint32_t order;             /* run order, valid while order_gen == its Netns.gen */
        uint64_t order_gen;
        bool order_known;           /* order was read when the link was made */
        bool steer_busy;            /* a SetBindings writes its maps now (steer-set-job.h) */
} Link;

/* Per-netns bookkeeping: the file to reopen it by (for BPF_PROG_QUERY),
 * and our links in it (a few dozen at most: the kernel allows 64 sk_lookup
 * and 1 flow_dissector). gen moves whenever the run order may have. */
typedef struct Netns {
        uint64_t ino;
        char *path;
        Link **links;
        size_t n_links, allocated;
        uint64_t gen;
} Netns;

typedef enum LinkEvent {
        LINK_ATTACHED,
        LINK_UPDATED,
        LINK_DETACHED,
        LINK_DEFUNCT,
        LINK_DRIFTED,               /* found changed behind our back (its drift says how) */
        LINK_REPAIRED,              /* the same, and mended already */
} LinkEvent;

typedef struct Manager Manager;
struct LinkRef;
typedef void (*link_event_fn)(Manager *m, LinkEvent ev, const Link *l);
/* Whoever else follows the links (metrics, the nsid watch), with its own
 * state as userdata: after on_event, in the order they were added. */
typedef void (*link_observer_fn)(void *userdata, LinkEvent ev, const Link *l);
#define MANAGER_OBSERVERS_MAX 4
typedef struct LinkObserver {
        link_observer_fn fn;
        void *userdata;
} LinkObserver;

struct Manager {
        NlPinStore *store;
        NlProgCache *cache;
        Hashmap *links;     /* Link.key -> Link */
        Hashmap *netns;     /* "ino" -> Netns */
        link_event_fn on_event;
        LinkObserver observers[MANAGER_OBSERVERS_MAX];
        size_t n_observers;
        void *userdata;

        /* Programs come from the loader (loader.h); an operation whose
         * program is being loaded fails with -EINPROGRESS, its slots
         * waiting for the load (program-slots.h). */
        Loader *loader;
        /* The bus layer's requests that wait for a load (bus-manager.c):
         * message -> its waiter. Made, used and freed there. */
        Hashmap *waiting;

        Hashmap *emptied;   /* "ino" -> when its last link went (see manager_prune) */
        NlKernelFeatures kernel;    /* probed once, at start */

        /* The pin root's layout (manager-layout.c): its version at start,
         * and the record of built-in programs (builtin-marks.h). */
        uint32_t layout_version;
        int marks_fd;
        bool marks_lost;    /* a root of a version with marks had none */
        int sources_fd;     /* programs' sources by id (builtin-marks.h) */
        int configs_fd;     /* links made by configuration files (link-records.h) */
        bool applying;      /* the configuration is being applied (config-apply.c) */
        /* While it is: the file that asks for the link ref names, or NULL. */
        const char *(*config_of)(Manager *m, const struct LinkRef *ref);
        struct ConfigApply *config;     /* the daemon's configuration (config-apply.h), or NULL */

        /* drift.c */
        bool pin_root_lost;         /* the pin root is not a bpffs mount now */
        dev_t pin_root_dev;         /* the bpffs it was on when last seen */
        uint64_t pin_root_mount;    /* the unique id of that bpffs mount, 0 if not known */
        size_t drift_cursor;        /* where the next sweep of links starts */
};

typedef struct LinkRef {
        const char *netns;
        const char *type;
        const char *name;
        /* Attach and AttachMany: the origin the caller gives the new link
         * (nl_link_origin_is_valid), or NULL. */
        const char *origin;
} LinkRef;

int manager_new(const char *pin_root, Manager **ret, NlError *e);
/* Adds an observer of link events (-E2BIG past MANAGER_OBSERVERS_MAX);
 * removes those with userdata. */
int manager_observe(Manager *m, link_observer_fn fn, void *userdata);
void manager_unobserve(Manager *m, void *userdata);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Finds every pinned link again, repairs what a crash left, drops links
 * whose netns died. Returns the number of links served. A pin root it
 * cannot read whole is an error, with e naming the folder or pin and why:
 * then nothing was tidied or repaired, and the daemon must not serve. */
int manager_load_pins(Manager *m, NlError *e);

/* Operations that need a program take the request's slots (one per
 * element; NULL: every load is waited for). -EINPROGRESS: a load runs and
 * the slots wait for it; run the operation again, with the same slots,
 * once none waits. */
int manager_attach(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, Link **ret,
                   NlError *e);
int manager_update(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, Link **ret,
                   NlError *e);
int manager_replace(Manager *m, const LinkRef *ref, uint32_t expected_prog_id, const ProgramSpec *p,
                    ProgramSlots *slots, Link **ret, NlError *e);
int manager_detach(Manager *m, const LinkRef *ref, NlError *e);
int manager_get(Manager *m, const LinkRef *ref, Link **ret, NlError *e);

/* All or nothing. On failure e names the element (index, netns, name). */
int manager_attach_many(Manager *m, const LinkRef *refs, const ProgramSpec *progs, size_t n,
                        ProgramSlots *slots, Link ***ret, NlError *e);
int manager_detach_many(Manager *m, const LinkRef *refs, size_t n, NlError *e);

/* netns "" or NULL: all. Fills a malloc'd array of links sorted by netns,
 * type, order. */
int manager_list(Manager *m, const char *netns, Link ***ret, size_t *ret_n, NlError *e);

/* The link's position in its netns' run order (0-based), from
 * BPF_PROG_QUERY; falls back to the order of link ids among our links. */
uint32_t manager_link_order(Manager *m, const Link *l);

/* Pin folders of netns without links: noted when emptied (a netns that
 * has links is not noted), removed by
 * manager_prune a few seconds later (all of them if all is set). Returns
 * how many netns folders went. */
void manager_mark_emptied(Manager *m, uint64_t ino);
int manager_prune(Manager *m, bool all);

/* Drops links whose netns is gone, looking at one link per netns; at
 * start, those the pin scan found dead. Returns how many were dropped.
 * (drift.c, as all that changes behind the daemon's back.) */
int manager_check_defunct(Manager *m, bool at_start);
/* Before a lookup by netns inode: the links of a dead netns whose inode a
 * new netns has now are dropped first. */
void manager_drop_if_reused(Manager *m, uint64_t ino);
/* Looks for drift: the pin root, links detached by someone else, removed
 * pins; repairs what it can. A sweep of some links (all if all is set). */
void manager_check_drift(Manager *m, bool all);
/* Every change is refused while the pin root is not a bpffs mount. */
int manager_require_pin_root(Manager *m, NlError *e);
/* Pins again what is missing of a steer link's maps; 1 if it pinned any. */
int manager_repair_steer_maps(Manager *m, Link *l, NlError *e);

/* Removes the steer map folder of link (ino, name). */
void manager_remove_steer_dir(Manager *m, uint64_t ino, const char *name);

/* The layout of the pin root (manager-layout.c): checked before anything
 * under it is read (a newer one is refused), and brought up to date after
 * the scan found every link, before anything is tidied. */
int manager_layout_open(Manager *m, NlError *e);
int manager_layout_update(Manager *m, NlError *e);
/* Sets the builtin l runs, and its source to match. */
void manager_link_set_builtin(Link *l, const NlBuiltin *b);
/* A link found at start: its source and configuration file, from the
 * records (manager-layout.c). */
void manager_link_set_recorded(Manager *m, Link *l);
/* Records that the file at path made l (NULL: that none did). A file
 * taking over a link drops its origin: the record names the file now. */
int manager_link_set_config(Manager *m, Link *l, const char *path, NlError *e);
/* Records the origin its maker gave l (cni:...). */
int manager_link_set_origin(Manager *m, Link *l, const char *origin, NlError *e);
/* Whether l has a record in configs_fd, to clear when it goes. */
static inline bool manager_link_recorded(const Link *l) {
        return l->config || l->origin;
}

/* The steer map folder of a link, <pin-root>/<ino>/steer/<name>. */
int manager_steer_dir(Manager *m, uint64_t ino, const char *name, char *buf, size_t size);
/* For drift.c. */
Netns *manager_netns_get(Manager *m, uint64_t ino);
void manager_emit(Manager *m, LinkEvent ev, const Link *l);
/* The link's pin is gone already; finish it and drop it (frees l). */
void manager_finish_detach(Manager *m, Link *l, LinkEvent ev, bool detached);
int manager_prune_now(Manager *m, uint64_t ino);

/* A link by netns inode, type and name, or NULL. */
Link *manager_link_get(Manager *m, uint64_t ino, NlAttachType type, const char *name);
/* Whether the link runs builtin:steer (and so owns <root>/<ino>/steer/<name>/). */
bool manager_link_runs_steer(const Link *l);
/* A link by netns reference (or ino:N), type and name. */
int manager_find(Manager *m, const char *netns, NlAttachType type, const char *name, Link **ret, NlError *e);
