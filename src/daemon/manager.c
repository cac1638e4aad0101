/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "builtin-marks.h"
#include "builtins.h"
#include "link-records.h"
#include "log.h"
#include "manager.h"
#include "netns-ref.h"
#include "steer-maps.h"
#include "steer.h"

/*
 * The order of system calls, so that a SIGKILL between any two is repaired
 * at the next start (crash points in brackets, set NETNSLINK_CRASH_AT):
 *
 * Attach:  open netns; load program (steer: create and pin its maps in
 *          <ino>/steer/<name>/) [attach-after-load]; bpf_link_create
 *          [attach-after-create]; close netns; for a link a configuration
 *          file asks for, record it (link-records.h) [attach-after-record];
 *          pin the link [attach-after-pin].
 *          A link exists only while an fd or a pin holds it, so a kill before
 *          the pin lets the kernel drop it; steer maps without a link pin are
 *          removed at start.
 * Update/Replace: load program (steer: reuse the link's pinned maps)
 *          [update-after-load]; bpf_link_update, one atomic kernel step
 *          [update-after-swap]; then remove steer maps the link no longer
 *          uses. The pin always names a link running either the old or the
 *          new program, and the new one only once the kernel said so.
 * Detach:  unlink the pin [detach-after-unpin]; bpf_link_detach; remove
 *          steer maps. After the unpin only our fd holds the link, and a kill
 *          closes it.
 * AttachMany: as Attach up to bpf_link_create for every element, nothing
 *          pinned [attach-many-before-commit]; pin the journal of the batch,
 *          <root>/attach-pending-<id>; pin every link in its place
 *          [batch-midway, batch-before-commit]; unlink the journal: the
 *          commit point [batch-after-commit]. Start-up unpins and detaches
 *          the links a journal lists (src/lib/pin-batch.c).
 * DetachMany: find every link [detach-many-before-commit, batch-before-
 *          commit]; pin the journal, <root>/detach-commit--<id>: the commit
 *          point [batch-after-commit]; unlink each pin and detach its link
 *          [batch-midway, batch-before-cleanup]; unlink the journal.
 *          Start-up finishes what a journal lists.
 */

static void link_key(char *buf, size_t size, uint64_t ino, NlAttachType type, const char *name) {
        snprintf(buf, size, "%" PRIu64 "/%s/%s", ino, nl_attach_type_to_string(type), name);
}

static void netns_key(char buf[32], uint64_t ino) {
        snprintf(buf, 32, "%" PRIu64, ino);
}

static void netns_free(void *p) {
        Netns *n = p;

        if (n) {
                free(n->links);
                free(n->path);
                free(n);
        }
}

static void link_free(Link *l) {
        if (!l)
                return;
        safe_close(l->fd);
        free(l->netns);
        free(l->source);
        free(l->config);
        nl_program_unref(l->prog);
        free(l);
}

static void link_free_void(void *p) {
        link_free(p);
}

/* Programs. */

static bool spec_is_per_link(const ProgramSpec *p);

static int loader_stage(void *userdata, uint64_t ino, char *buf, size_t size) {
        return steer_maps_stage(userdata, ino, buf, size);
}

/* A load making steer maps in netns ino ended: if its folder went with
 * the program, the netns's folders go later if it has no link. */
static void loader_ended(void *userdata, uint64_t ino) {
        manager_mark_emptied(userdata, ino);
}

/* The loader watches its children on the daemon's loop, if there is one. */
static int manager_loader_new(Manager *m) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        LoaderHooks hooks = { .stage = loader_stage, .ended = loader_ended, .userdata = m };

        (void) sd_event_default(&event);
        return loader_new(event, m->cache, m->marks_fd, m->sources_fd, &hooks, &m->loader);
}

/*
 * The program of element i of a request, for a link (ino, name) of type:
 * what its slot holds, or from the loader. A per-link builtin (steer)
 * keeps the maps of the link (ino, name) if that runs it already;
 * otherwise its new maps are in a folder the program owns until
 * steer_maps_publish() puts it in place (steer-maps.c). may_wait: the
 * slot may wait for the load (-EINPROGRESS); otherwise it is waited for.
 */
static int program_get(Manager *m, const ProgramSpec *p, NlAttachType type, uint64_t ino, const char *name,
                       ProgramSlots *slots, size_t i, bool may_wait, NlProgram **ret, NlError *e) {
        ProgramSlot *slot = slots && i < slots->n ? &slots->slot[i] : NULL;
        LoadRequest req = { .spec = p, .type = type, .ino = ino, .name = name };
        char dir[4096], key[LOADER_KEY_MAX];
        const Link *l;
        int r;

        l = manager_link_get(m, ino, type, name);
        if (l && manager_link_runs_steer(l) && manager_steer_dir(m, ino, name, dir, sizeof(dir)) >= 0) {
                req.reuse_dir = dir;
                req.reuse_link_id = l->info.link_id;
        }
        if (slot && spec_is_per_link(p)) {
                /* A steer program is one link's: what the slot holds was
                 * made for the link (ino, name) as it was then, and is not
                 * this one's if that went or another took its name. */
                if (slot->done && (slot->ino != ino || slot->link_id != req.reuse_link_id))
                        program_slot_clear(slots, i);
                slot->ino = ino;
                slot->link_id = req.reuse_link_id;
        }
        if (slot && slot->done)
                return program_slot_take(slots, i, ret, e);
        if (!slot || !may_wait)
                return loader_get(m->loader, &req, NULL, NULL, ret, key, e);
        r = loader_get(m->loader, &req, slots->on_ready, slots->userdata, ret, key, e);
        if (r == -EINPROGRESS && program_slot_wait(slots, i, key) < 0)
                /* The load runs on, for nobody; this request fails. */
                r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        else if (r >= 0)
                program_slot_set(slots, i, *ret);
        return r;
}

int manager_new(const char *pin_root, Manager **ret, NlError *e) {
        Manager *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        m->marks_fd = m->sources_fd = m->configs_fd = -EBADF;
        r = nl_pin_store_open(pin_root, &m->store, e);
        if (r < 0) {
                free(m);
                return r;
        }
        /* Before anything under the root is read or changed: a second
         * daemon must not repair or tidy what the first is making. */
        r = nl_pin_store_lock(m->store, e);
        if (r >= 0)
                r = manager_layout_open(m, e);
        if (r < 0) {
                safe_close(m->marks_fd);
                safe_close(m->sources_fd);
                safe_close(m->configs_fd);
                nl_pin_store_free(m->store);
                free(m);
                return r;
        }
        m->cache = nl_prog_cache_new();
        m->links = hashmap_new();
        m->netns = hashmap_new();
        m->emptied = hashmap_new();
        nl_pin_store_keep_dirs(m->store, true);
        if (!m->cache || !m->links || !m->netns || !m->emptied || manager_loader_new(m) < 0) {
                manager_free(m);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        {
                struct stat st;
                if (stat(pin_root, &st) >= 0)
                        m->pin_root_dev = st.st_dev;
        }
        r = nl_kernel_features_probe(&m->kernel);
        if (r < 0) {
                manager_free(m);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot load even a trivial BPF program: %m");
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        loader_free(m->loader);
        hashmap_free(m->emptied, NULL);
        /* Closing our fds leaves the pinned links running: that is the point. */
        hashmap_free(m->links, link_free_void);
        hashmap_free(m->netns, netns_free);
        nl_prog_cache_free(m->cache);
        safe_close(m->marks_fd);
        safe_close(m->sources_fd);
        safe_close(m->configs_fd);
        nl_pin_store_free(m->store);
        free(m);
        return NULL;
}

int manager_steer_dir(Manager *m, uint64_t ino, const char *name, char *buf, size_t size) {
        int n = snprintf(buf, size, "%s/%" PRIu64 "/" NL_STEER_DIR "/%s", nl_pin_store_root(m->store), ino, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

void manager_remove_steer_dir(Manager *m, uint64_t ino, const char *name) {
        char dir[4096];

        if (manager_steer_dir(m, ino, name, dir, sizeof(dir)) < 0)
                return;
        (void) nl_pin_rm_rf(dir);
        /* and the steer/ folder if now empty; the netns folder is pruned
         * with the others (manager_prune) */
        *strrchr(dir, '/') = 0;
        (void) rmdir(dir);
        manager_mark_emptied(m, ino);
}

static bool link_is_steer(const Link *l) {
        return l->builtin && l->builtin->per_link;
}

bool manager_link_runs_steer(const Link *l) {
        return link_is_steer(l);
}

/*
 * Pin folders of a netns with no links left are removed a few seconds
 * later, not at once: a Detach followed by an Attach in the same netns, as
 * orchestrators do, would otherwise pay two rmdir and two mkdir, more than
 * the attach itself.
 */
#define PRUNE_DELAY_USEC (5ULL * 1000 * 1000)

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void manager_mark_emptied(Manager *m, uint64_t ino) {
        char k[32];

        netns_key(k, ino);
        if (hashmap_get(m->netns, k))
                return;         /* it has links: its folders are in use */
        /* Kept as a pointer-sized value: when it was emptied. */
        (void) hashmap_remove(m->emptied, k);
        (void) hashmap_put(m->emptied, k, (void *) (uintptr_t) now_usec());
}

/* Removes the folders of a netns without links. A load making steer maps
 * in it (in a child process, so at any time) makes them in a folder of its
 * own, which keeps the netns folder from going; the load marks the netns
 * again when it ends (the loader's ended hook, attach_one). Returns 1 if
 * the netns folder went. */
int manager_prune_now(Manager *m, uint64_t ino) {
        char key[32];

        netns_key(key, ino);
        hashmap_remove(m->emptied, key);
        /* A netns with links again keeps its folders. */
        return !hashmap_get(m->netns, key) && nl_pin_store_prune(m->store, ino) > 0;
}

int manager_prune(Manager *m, bool all) {
        _cleanup_free_ uint64_t *due = NULL;
        uint64_t now = now_usec();
        HashmapIter it = {};
        size_t n = 0;
        const char *k;
        void *v;
        int pruned = 0;

        if (m->pin_root_lost)
                return 0;       /* what is at its path now is not ours */
        due = calloc(hashmap_size(m->emptied) + 1, sizeof(uint64_t));
        if (!due)
                return -ENOMEM;
        while (hashmap_iterate(m->emptied, &it, &v, &k))
                if (all || now - (uint64_t) (uintptr_t) v >= PRUNE_DELAY_USEC)
                        due[n++] = strtoull(k, NULL, 10);
        for (size_t i = 0; i < n; i++)
                pruned += manager_prune_now(m, due[i]);
        return pruned;
}

/* Bookkeeping of netns. */

static Netns *netns_get(Manager *m, uint64_t ino) {
        char k[32];

        netns_key(k, ino);
        return hashmap_get(m->netns, k);
}

Netns *manager_netns_get(Manager *m, uint64_t ino) {
        return netns_get(m, ino);
}

static int netns_ref_link(Manager *m, Link *l, const char *path) {
        Netns *n = netns_get(m, l->ino);
        char k[32];

        netns_key(k, l->ino);
        if (!n) {
                n = calloc(1, sizeof(*n));
                if (!n)
                        return -ENOMEM;
                n->ino = l->ino;
                if (hashmap_put(m->netns, k, n) < 0) {
                        free(n);
                        return -ENOMEM;
                }
        }
        if (n->n_links == n->allocated) {
                size_t a = n->allocated ? n->allocated * 2 : 4;
                Link **v = reallocarray(n->links, a, sizeof(Link *));
                if (!v) {
                        if (n->n_links == 0) {
                                hashmap_remove(m->netns, k);
                                netns_free(n);
                        }
                        return -ENOMEM;
                }
                n->links = v;
                n->allocated = a;
        }
        if (path && *path && (!n->path || strcmp(n->path, path) != 0)) {
                char *p = strdup(path);
                if (p) {
                        free(n->path);
                        n->path = p;
                }
        }
        n->links[n->n_links++] = l;
        n->gen++;
        return 0;
}

static void netns_unref_link(Manager *m, Link *l) {
        Netns *n = netns_get(m, l->ino);
        char k[32];

        if (!n)
                return;
        for (size_t i = 0; i < n->n_links; i++)
                if (n->links[i] == l) {
                        n->links[i] = n->links[--n->n_links];
                        break;
                }
        n->gen++;
        if (n->n_links > 0)
                return;
        netns_key(k, l->ino);
        hashmap_remove(m->netns, k);
        netns_free(n);
        manager_mark_emptied(m, l->ino);
}

static Link *link_new(uint64_t ino, NlAttachType type, const char *name, const char *netns,
                      const char *source) {
        Link *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        l->fd = -EBADF;
        l->ino = ino;
        l->type = type;
        snprintf(l->name, sizeof(l->name), "%s", name);
        link_key(l->key, sizeof(l->key), ino, type, name);
        l->netns = strdup(netns);
        l->source = strdup(source ? source : "");
        if (!l->netns || !l->source) {
                link_free(l);
                return NULL;
        }
        return l;
}

/* Takes l into the table. A run order learnt when l was made
 * (order_known) holds until the netns's links change again. */
static int link_add(Manager *m, Link *l, const char *netns_path) {
        int r = hashmap_put(m->links, l->key, l);

        if (r < 0)
                return r;
        r = netns_ref_link(m, l, netns_path);
        if (r < 0) {
                hashmap_remove(m->links, l->key);
                return r;
        }
        if (l->order_known)
                l->order_gen = netns_get(m, l->ino)->gen;
        return 0;
}

/* Removes l from the table and frees it. */
static void link_drop(Manager *m, Link *l) {
        hashmap_remove(m->links, l->key);
        netns_unref_link(m, l);
        link_free(l);
}

void manager_emit(Manager *m, LinkEvent ev, const Link *l) {
        if (m->on_event)
                m->on_event(m, ev, l);
}

/* Re-reads the link's ids; the program's name and tag come from the
 * program we loaded, which saves opening it by id. A changed program
 * changes what BPF_PROG_QUERY reports, so the netns's run order too. */
static int refresh_info(Manager *m, Link *l) {
        Netns *n = netns_get(m, l->ino);
        int r;

        if (n)
                n->gen++;
        if (!l->prog)
                return nl_link_get_info(l->fd, true, &l->info);
        r = nl_link_get_info(l->fd, false, &l->info);
        if (r < 0)
                return r;
        snprintf(l->info.prog_name, sizeof(l->info.prog_name), "%s", nl_program_name(l->prog));
        snprintf(l->info.prog_tag, sizeof(l->info.prog_tag), "%s", nl_program_tag(l->prog));
        return 0;
}

/* References. */


/* The inode of a netns reference, to look up links by. */
static int resolve_ino(Manager *m, const char *netns, uint64_t *ret, NlError *e) {
        uint64_t ino;
        int r;

        /* ino:N names a netns we hold links in, also one with no name left. */
        if (netns && strncmp(netns, "ino:", 4) == 0) {
                char *end;
                errno = 0;
                unsigned long long v = strtoull(netns + 4, &end, 10);
                if (errno || *end || end == netns + 4 || v == 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid netns reference '%.64s': ino:N takes a decimal inode", netns);
                *ret = v;
                return 0;
        }
        /* A netns we hold links in is known by its inode: one stat finds
         * it. Anything else is opened and checked, for the named error. */
        if (nl_netns_stat_ino(netns, &ino) >= 0 && netns_get(m, ino)) {
                manager_drop_if_reused(m, ino);
                if (netns_get(m, ino)) {
                        *ret = ino;
                        return 0;
                }
        }
        r = nl_netns_ino(netns, &ino, e);
        if (r < 0)
                return r;
        manager_drop_if_reused(m, ino);
        *ret = ino;
        return 0;
}

Link *manager_link_get(Manager *m, uint64_t ino, NlAttachType type, const char *name) {
        char key[128];

        link_key(key, sizeof(key), ino, type, name);
        return hashmap_get(m->links, key);
}

int manager_find(Manager *m, const char *netns, NlAttachType type, const char *name, Link **ret, NlError *e) {
        char key[128], buf[80];
        uint64_t ino;
        Link *l = NULL;
        int r;

        r = nl_link_name_check(name, e);
        if (r < 0)
                return r;
        r = resolve_ino(m, netns, &ino, e);
        if (r < 0)
                return r;
        link_key(key, sizeof(key), ino, type, name);
        l = hashmap_get(m->links, key);
        if (!l)
                return nl_error_set(e, NL_ERR_NO_SUCH_LINK, -ENOENT, "No %s link named '%s' in netns %s",
                                    nl_attach_type_to_string(type), name, nl_printable(netns, buf, sizeof(buf)));
        *ret = l;
        return 0;
}

/* For a new link: its type must be one this kernel attaches (5.8 and 5.9
 * brought them; see kernel-features.h), so that an old kernel's refusal
 * names the release needed instead of a bare EINVAL. */
static int parse_ref(Manager *m, const LinkRef *ref, NlAttachType *type, NlError *e) {
        int r = nl_attach_type_parse(ref->type, type, e);
        if (r < 0)
                return r;
        r = nl_kernel_require(&m->kernel, *type == NL_ATTACH_SK_LOOKUP ? NL_FEATURE_SK_LOOKUP_LINK
                                                                       : NL_FEATURE_FLOW_DISSECTOR_LINK, e);
        if (r < 0)
                return r;
        return nl_link_name_check(ref->name, e);
}

int manager_get(Manager *m, const LinkRef *ref, Link **ret, NlError *e) {
        NlAttachType type;
        int r = nl_attach_type_parse(ref->type, &type, e);   /* the name: manager_find */

        if (r < 0)
                return r;
        return manager_find(m, ref->netns, type, ref->name, ret, e);
}

/* Programs. */

static bool spec_is_per_link(const ProgramSpec *p) {
        const NlBuiltin *b;

        if (p->kind != PROGRAM_BUILTIN)
                return false;
        b = nl_builtin_find(p->builtin);
        return b && b->per_link;
}

/* Attach. */

/* Makes the link and pins it (in a batch's staging folder if b is given).
 * On success *ret is a new Link not yet in the table. */
/* slots, i: the request's programs, and which is this link's. In a batch
 * the loads happened before (AttachMany) and one that did not is waited for. */
static int attach_one(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, size_t i,
                      NlBatch *b, Link **ret, char *netns_path, size_t path_size, NlError *e) {
        _cleanup_(nl_program_unrefp) NlProgram *prog = NULL;
        _cleanup_close_ int link_fd = -EBADF;
        NlAttachType type;
        NlNetns ns = { .fd = -EBADF };
        uint32_t order = UINT32_MAX;
        bool published = false;
        char key[128];
        Link *l = NULL;
        int r;

        r = parse_ref(m, ref, &type, e);
        if (r < 0)
                return r;
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        r = nl_netns_open_nsfs(ref->netns, &ns, e);
        if (r < 0)
                return r;
        snprintf(netns_path, path_size, "%s", ns.path);

        manager_drop_if_reused(m, ns.ino);
        link_key(key, sizeof(key), ns.ino, type, ref->name);
        if (hashmap_get(m->links, key)) {
                nl_netns_close(&ns);
                return nl_error_set(e, NL_ERR_LINK_EXISTS, -EEXIST,
                                    "A %s link named '%s' already exists in netns %s",
                                    nl_attach_type_to_string(type), ref->name, ref->netns);
        }

        r = program_get(m, p, type, ns.ino, ref->name, slots, i, !b, &prog, e);
        if (r == -EINPROGRESS) {
                nl_netns_close(&ns);
                return r;
        }
        if (r < 0)
                goto fail;
        nl_crash_point("attach-after-load");
        /* New steer maps, made for this request alone, go in place: the
         * name is ours from the check above to the pin below. */
        r = steer_maps_publish(m, prog, ns.ino, ref->name, e);
        if (r < 0)
                goto fail;
        published = r > 0;

        link_fd = nl_link_create(nl_program_fd(prog), ns.fd, type, e);
        if (link_fd < 0) {
                r = link_fd;
                /* Refused: maybe not a netns at all (only nsfs was checked). */
                if (r == -EINVAL) {
                        int k = nl_netns_explain(&ns, ref->netns, e);
                        if (k < 0)
                                r = k;
                }
                goto fail;
        }
        /* A new link runs last: its place is the count of programs now,
         * asked while the netns fd is still open. */
        if (type == NL_ATTACH_SK_LOOKUP) {
                uint32_t ids[NL_SK_LOOKUP_MAX * 2], count = ELEMENTSOF(ids);
                if (nl_netns_query_progs(ns.fd, type, ids, &count) >= 0 && count > 0)
                        order = count - 1;
        }
        nl_netns_close(&ns);
        nl_crash_point("attach-after-create");

        l = link_new(ns.ino, type, ref->name, ref->netns, nl_program_source(prog));
        if (!l) {
                r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                goto fail;
        }
        l->fd = TAKE_FD(link_fd);
        l->prog = TAKE_PTR(prog);
        l->builtin = nl_builtin_from_source(nl_program_source(l->prog));
        if (order != UINT32_MAX) {
                l->order = order;
                l->order_known = true;
        }
        r = refresh_info(m, l);
        if (r < 0) {
                nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the new link's id: %m");
                goto fail_link;
        }
        /* A configured link's record is written before its pin: a kill
         * between the two leaves a record of a link the kernel dropped,
         * which the next start prunes. */
        if (m->config_of && m->config_of(m, ref)) {
                r = manager_link_set_config(m, l, m->config_of(m, ref), e);
                if (r < 0)
                        goto fail_link;
                nl_crash_point("attach-after-record");
        }
        if (b)
                r = nl_batch_stage_pin_fd(b, ns.ino, type, ref->name, l->fd, l->info.link_id, e);
        else
                r = nl_pin_store_pin(m->store, ns.ino, type, ref->name, l->fd, e);
        if (r < 0)
                goto fail_link;
        nl_crash_point("attach-after-pin");
        *ret = l;
        return 0;

fail_link:
        (void) nl_link_detach(l->fd, NULL);
        if (l->config)
                (void) nl_link_record_clear(m->configs_fd, l->info.link_id);
        link_free(l);
fail:
        nl_netns_close(&ns);
        if (link_fd >= 0)
                (void) nl_link_detach(link_fd, NULL);
        if (published)
                manager_remove_steer_dir(m, ns.ino, ref->name);
        /* Folders made for it go with the others of a netns without links. */
        manager_mark_emptied(m, ns.ino);
        return r;
}

/* Written once the reply is out (log_later): the caller does not wait for
 * the log. */
static void log_change(const char *what, const Link *l) {
        log_later(LOG_INFO, "%s %s link '%s' in netns %s (ino %" PRIu64 "): link id %u, program %s id %u (%s)",
                 what, nl_attach_type_to_string(l->type), l->name, l->netns, l->ino, l->info.link_id,
                 l->info.prog_name, l->info.prog_id, *l->source ? l->source : "unknown source");
}

int manager_attach(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, Link **ret,
                   NlError *e) {
        char path[4096];
        Link *l = NULL;
        int r;

        r = attach_one(m, ref, p, slots, 0, NULL, &l, path, sizeof(path), e);
        if (r < 0)
                return r;
        r = link_add(m, l, path);
        if (r < 0) {
                /* Out of memory: undo rather than run a link we do not track. */
                (void) nl_pin_store_unpin(m->store, l->ino, l->type, l->name);
                (void) nl_link_detach(l->fd, NULL);
                link_free(l);
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        }
        log_change("Attached", l);
        manager_emit(m, LINK_ATTACHED, l);
        *ret = l;
        return 0;
}

/* Update and Replace. */

/* An operator may change a configured link over D-Bus; it is said, since
 * the next apply of the configuration puts the file's state back. */
static void note_config_override(Manager *m, const Link *l, const char *call) {
        if (l->config && !m->applying)
                log_notice("%s changes %s link '%s' in netns %s, which %s describes; the next apply of the "
                           "configuration restores it", call, nl_attach_type_to_string(l->type), l->name, l->netns,
                           l->config);
}

static int swap_program(Manager *m, const LinkRef *ref, bool cas, uint32_t expected,
                        const ProgramSpec *p, ProgramSlots *slots, Link **ret, NlError *e) {
        _cleanup_(nl_program_unrefp) NlProgram *prog = NULL;
        bool was_steer, now_steer, published;
        Link *l = NULL;
        int r;

        r = manager_get(m, ref, &l, e);
        if (r < 0)
                return r;
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        if (l->drift == LINK_DRIFT_DETACHED)
                return nl_error_set(e, NL_ERR_FAILED, -ENOLINK,
                                    "Link '%s' was detached behind the daemon's back (drift: detached) and runs "
                                    "nowhere; detach it and attach it again", l->name);
        if (cas && l->info.prog_id != expected) {
                /* Cheap early answer; the kernel's check below is the real one. */
                NlLinkInfo now;
                if (nl_link_get_info(l->fd, false, &now) >= 0 && now.prog_id != expected)
                        return nl_error_set(e, NL_ERR_PROGRAM_MISMATCH, -ESTALE,
                                            "Link '%s' runs program id %u, not the expected %u; nothing changed",
                                            l->name, now.prog_id, expected);
        }

        was_steer = link_is_steer(l);
        now_steer = spec_is_per_link(p);
        note_config_override(m, l, cas ? "Replace" : "Update");

        /* Steer on a link that runs it keeps the link's maps; moving to
         * steer from something else gets new ones (program_get). */
        r = program_get(m, p, l->type, l->ino, l->name, slots, 0, true, &prog, e);
        if (r < 0)
                return r;
        nl_crash_point("update-after-load");
        r = steer_maps_publish(m, prog, l->ino, l->name, e);
        if (r < 0)
                return r;
        published = r > 0;

        if (cas)
                r = nl_link_replace(l->fd, nl_program_fd(prog), expected, e);
        else
                r = nl_link_update(l->fd, nl_program_fd(prog), e);
        if (r < 0) {
                if (published)
                        manager_remove_steer_dir(m, l->ino, l->name);
                return r;
        }
        nl_crash_point("update-after-swap");

        if (was_steer && !now_steer)
                manager_remove_steer_dir(m, l->ino, l->name);

        nl_program_unref(l->prog);
        l->prog = TAKE_PTR(prog);
        l->builtin = nl_builtin_from_source(nl_program_source(l->prog));
        free(l->source);
        l->source = strdup(nl_program_source(l->prog));
        if (!l->source)
                l->source = strdup("");
        (void) refresh_info(m, l);
        log_change(cas ? "Replaced program of" : "Updated", l);
        manager_emit(m, LINK_UPDATED, l);
        *ret = l;
        return 0;
}

int manager_update(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, Link **ret,
                   NlError *e) {
        return swap_program(m, ref, false, 0, p, slots, ret, e);
}

int manager_replace(Manager *m, const LinkRef *ref, uint32_t expected_prog_id, const ProgramSpec *p,
                    ProgramSlots *slots, Link **ret, NlError *e) {
        return swap_program(m, ref, true, expected_prog_id, p, slots, ret, e);
}

/* Detach. */

/* The link's pin is gone already; finish it and drop it. */
void manager_finish_detach(Manager *m, Link *l, LinkEvent ev, bool detached) {
        bool steer = link_is_steer(l);

        if (!detached)
                (void) nl_link_detach(l->fd, NULL);
        if (steer)
                manager_remove_steer_dir(m, l->ino, l->name);
        /* A kill before this leaves a record the next start prunes. */
        if (l->config)
                (void) nl_link_record_clear(m->configs_fd, l->info.link_id);
        log_change(ev == LINK_DEFUNCT ? "Dropped defunct" : "Detached", l);
        l->detached = true;
        manager_emit(m, ev, l);
        link_drop(m, l);
}

int manager_detach(Manager *m, const LinkRef *ref, NlError *e) {
        Link *l = NULL;
        int r;

        r = manager_get(m, ref, &l, e);
        if (r < 0)
                return r;
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        note_config_override(m, l, "Detach");
        r = nl_pin_store_unpin(m->store, l->ino, l->type, l->name);
        if (r < 0 && r != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot remove the pin of link '%s': %m", l->name);
        nl_crash_point("detach-after-unpin");
        manager_finish_detach(m, l, LINK_DETACHED, false);
        return 0;
}

/* Batches. */

static bool streq_null(const char *a, const char *b) {
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* Two program sources that name the same object and program. */
static bool same_spec(const ProgramSpec *a, const ProgramSpec *b) {
        return a->kind == b->kind && a->fd == b->fd && streq_null(a->builtin, b->builtin) &&
               streq_null(a->path, b->path) && streq_null(a->program, b->program);
}

static int batch_error(NlError *e, size_t i, const LinkRef *ref, int r) {
        char n1[80], n2[80];

        return nl_error_prefix(e, r, "Element %zu (netns %s, name %s)", i,
                               nl_printable(ref->netns, n1, sizeof(n1)), nl_printable(ref->name, n2, sizeof(n2)));
}

/* Two elements naming one link: LinkExists, naming the second. The same
 * netns may be named in two ways: compared by inode where both resolve. */
static int batch_check_names(const LinkRef *refs, size_t n, NlError *e) {
        _cleanup_(hashmap_freep) Hashmap *seen = hashmap_new();

        if (!seen)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        for (size_t i = 0; i < n; i++) {
                char key[256];
                uint64_t ino;

                if (nl_netns_stat_ino(refs[i].netns, &ino) < 0)
                        continue;       /* its own attach names what is wrong */
                snprintf(key, sizeof(key), "%" PRIu64 "/%.32s/%.64s", ino, refs[i].type, refs[i].name);
                if (hashmap_get(seen, key))
                        return batch_error(e, i, &refs[i],
                                           nl_error_set(e, NL_ERR_LINK_EXISTS, -EEXIST,
                                                        "The batch names link '%s' twice", refs[i].name));
                if (hashmap_put(seen, key, (void *) 1) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        return 0;
}

/*
 * Every element's program, before anything changes: each is what its slot
 * holds, or is asked for, and the loads that must be waited for all run
 * at once (the loader queues them). Returns -EINPROGRESS while any slot
 * waits. An element that fails while one before it waits is named once
 * those are loaded: the batch names its first failing element, as if the
 * loads had been waited for in turn.
 */
static int batch_programs(Manager *m, const LinkRef *refs, const ProgramSpec *progs, size_t n,
                          ProgramSlots *slots, NlError *e) {
        bool waiting = false;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(nl_program_unrefp) NlProgram *prog = NULL;
                bool per_link = spec_is_per_link(&progs[i]);
                NlAttachType type;
                uint64_t ino = 0;
                int r;

                r = parse_ref(m, &refs[i], &type, e);
                if (per_link) {
                        /* Its own maps, for the netns its reference names
                         * now (attach_one makes sure). What is wrong with
                         * the element, its own attach names. */
                        if (r < 0 || nl_netns_stat_ino(refs[i].netns, &ino) < 0 ||
                            manager_link_get(m, ino, type, refs[i].name))
                                continue;
                }
                /* A rollout names one program many times: asked once. */
                if (r >= 0 && !per_link && i > 0 && same_spec(&progs[i], &progs[i - 1]) &&
                    strcmp(refs[i].type, refs[i - 1].type) == 0 &&
                    (slots->slot[i - 1].done || slots->slot[i - 1].waiting)) {
                        if (!slots->slot[i].done)
                                program_slot_share(slots, i, i - 1);
                        r = slots->slot[i].done ? program_slot_take(slots, i, &prog, e) : -EINPROGRESS;
                } else if (r >= 0)
                        r = program_get(m, &progs[i], type, ino, refs[i].name, slots, i, true, &prog, e);
                if (r == -EINPROGRESS) {
                        waiting = true;
                        continue;
                }
                if (r < 0)
                        return waiting ? -EINPROGRESS : batch_error(e, i, &refs[i], r);
        }
        return waiting ? -EINPROGRESS : 0;
}

int manager_attach_many(Manager *m, const LinkRef *refs, const ProgramSpec *progs, size_t n,
                        ProgramSlots *slots, Link ***ret, NlError *e) {
        _cleanup_(program_slots_done) ProgramSlots own = {};
        _cleanup_free_ Link **made = NULL;
        /* Each element's netns path, as long as it is: 4096 bytes apiece
         * would cost a batch of 300 a page fault per element. */
        _cleanup_free_ char **paths = NULL;
        NlBatch *b = NULL;
        size_t i = 0;
        int r;

        if (!slots || slots->n != n) {
                /* No one to wait: every load is waited for. */
                if (program_slots_init(&own, n) < 0)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                slots = &own;
        }
        made = calloc(n ? n : 1, sizeof(Link *));
        paths = calloc(n ? n : 1, sizeof(char *));
        if (!made || !paths)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        /* Each element must hold its name alone until the commit: its new
         * steer maps go in place under it before anything is pinned. */
        r = batch_check_names(refs, n, e);
        if (r < 0)
                return r;

        r = batch_programs(m, refs, progs, n, slots, e);
        if (r < 0)
                goto out;

        r = nl_batch_begin(m->store, NL_BATCH_ATTACH, &b, e);
        if (r < 0)
                goto out;

        for (i = 0; i < n; i++) {
                char path[4096];

                r = attach_one(m, &refs[i], &progs[i], slots, i, b, &made[i], path, sizeof(path), e);
                /* Two elements naming one link: the batch refuses the
                 * second as LinkExists. */
                if (r < 0)
                        goto fail;
                paths[i] = strdup(path);
                if (!paths[i]) {
                        r = nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                        goto fail;
                }
        }

        nl_crash_point("attach-many-before-commit");
        r = nl_batch_commit(b, e);
        if (r < 0) {
                i = nl_batch_failed(b);
                goto fail;
        }
        nl_batch_free(TAKE_PTR(b));

        for (i = 0; i < n; i++) {
                if (link_add(m, made[i], paths[i]) < 0) {
                        log_error("Out of memory tracking link %s; it stays pinned and is found at next start",
                                  made[i]->key);
                        link_free(made[i]);
                        made[i] = NULL;
                        continue;
                }
                log_change("Attached", made[i]);
                manager_emit(m, LINK_ATTACHED, made[i]);
        }
        if (ret)
                *ret = TAKE_PTR(made);
        r = 0;
        goto out;

fail:
        if (n > 0) {
                size_t bad = i < n ? i : n - 1;
                batch_error(e, bad, &refs[bad], r);
        }
        /* Nothing is pinned (a failed commit undid itself): the links go. */
        nl_batch_abort(TAKE_PTR(b));
        for (size_t k = 0; k < n; k++)
                if (made[k]) {
                        (void) nl_link_detach(made[k]->fd, NULL);
                        if (made[k]->config)
                                (void) nl_link_record_clear(m->configs_fd, made[k]->info.link_id);
                        if (spec_is_per_link(&progs[k]))
                                manager_remove_steer_dir(m, made[k]->ino, made[k]->name);
                        manager_mark_emptied(m, made[k]->ino);
                        link_free(made[k]);
                        made[k] = NULL;
                }
out:
        for (size_t k = 0; paths && k < n; k++)
                free(paths[k]);
        return r;
}

int manager_detach_many(Manager *m, const LinkRef *refs, size_t n, NlError *e) {
        _cleanup_free_ Link **links = NULL;
        NlBatch *b = NULL;
        size_t i;
        int r;

        links = calloc(n ? n : 1, sizeof(Link *));
        if (!links)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;

        /* Find them all before changing anything. */
        for (i = 0; i < n; i++) {
                r = manager_get(m, &refs[i], &links[i], e);
                if (r < 0)
                        goto fail;
                for (size_t k = 0; k < i; k++)
                        if (links[k] == links[i]) {
                                r = nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                                 "The batch names link '%s' twice (also element %zu)",
                                                 links[i]->name, k);
                                goto fail;
                        }
        }

        r = nl_batch_begin(m->store, NL_BATCH_DETACH, &b, e);
        if (r < 0)
                return r;
        for (i = 0; i < n; i++) {
                r = nl_batch_stage_move_fd(b, links[i]->ino, links[i]->type, links[i]->name, links[i]->fd,
                                           links[i]->info.link_id, e);
                if (r < 0) {
                        nl_batch_abort(b);
                        goto fail;
                }
        }
        nl_crash_point("detach-many-before-commit");
        r = nl_batch_commit(b, e);
        if (r < 0) {
                i = nl_batch_failed(b);
                nl_batch_abort(b);
                goto fail;
        }
        nl_batch_free(b);

        for (i = 0; i < n; i++) {
                note_config_override(m, links[i], "DetachMany");
                manager_finish_detach(m, links[i], LINK_DETACHED, true);      /* by the commit */
        }
        return 0;

fail:
        return batch_error(e, i, &refs[i], r);
}

/* Listing. */

static int compare_links(const void *a, const void *b) {
        const Link *x = *(Link *const *) a, *y = *(Link *const *) b;

        if (x->ino != y->ino)
                return x->ino < y->ino ? -1 : 1;
        if (x->type != y->type)
                return x->type < y->type ? -1 : 1;
        if (x->info.link_id != y->info.link_id)
                return x->info.link_id < y->info.link_id ? -1 : 1;
        return strcmp(x->name, y->name);
}

int manager_list(Manager *m, const char *netns, Link ***ret, size_t *ret_n, NlError *e) {
        _cleanup_free_ Link **list = NULL;
        HashmapIter it = {};
        size_t n = 0;
        Link *l = NULL;
        int r;

        list = calloc(hashmap_size(m->links) + 1, sizeof(Link *));
        if (!list)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        if (netns && *netns) {
                uint64_t ino;
                Netns *ns;

                r = resolve_ino(m, netns, &ino, e);
                if (r < 0)
                        return r;
                ns = netns_get(m, ino);
                for (size_t i = 0; ns && i < ns->n_links; i++)
                        list[n++] = ns->links[i];
        } else
                while (hashmap_iterate(m->links, &it, (void **) &l, NULL))
                        list[n++] = l;
        qsort(list, n, sizeof(Link *), compare_links);
        *ret = TAKE_PTR(list);
        *ret_n = n;
        return 0;
}

uint32_t manager_link_order(Manager *m, const Link *l) {
        uint32_t ids[NL_SK_LOOKUP_MAX * 2], count = ELEMENTSOF(ids), same_prog_before = 0, rank = 0, order;
        Netns *ns;
        Link *w = (Link *) l;   /* the cache fields only */

        if (l->type != NL_ATTACH_SK_LOOKUP)
                return 0;
        /* Detached by someone else: it runs nowhere; its last place. */
        if (l->drift == LINK_DRIFT_DETACHED)
                return l->order;
        ns = netns_get(m, l->ino);
        if (!ns)
                return 0;
        if (l->order_gen == ns->gen)
                return l->order;

        /* Our links in this netns that share l's program and came first:
         * the kernel runs links in attach order, and link ids grow. */
        for (size_t i = 0; i < ns->n_links; i++) {
                const Link *o = ns->links[i];
                if (o == l || o->type != l->type || o->info.link_id >= l->info.link_id ||
                    o->drift == LINK_DRIFT_DETACHED)
                        continue;
                rank++;
                if (o->info.prog_id == l->info.prog_id)
                        same_prog_before++;
        }

        order = rank;
        if (ns->path) {
                NlNetns nns;
                if (nl_netns_open(ns->path, &nns, NULL) >= 0) {
                        int r = nns.ino == l->ino ? nl_netns_query_progs(nns.fd, l->type, ids, &count) : -ESTALE;
                        nl_netns_close(&nns);
                        if (r >= 0)
                                for (uint32_t i = 0; i < count; i++)
                                        if (ids[i] == l->info.prog_id && same_prog_before-- == 0) {
                                                order = i;
                                                break;
                                        }
                }
        }
        w->order = order;
        w->order_gen = ns->gen;
        return order;
}

/* Start-up. */

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
                netns_key(k, st.st_ino);
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

        netns_key(k, pe->ino);
        name = hashmap_get(c->names, k);
        if (name) {
                snprintf(netns, sizeof(netns), "%.63s", name);
                snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", name);
        } else {
                snprintf(netns, sizeof(netns), "ino:%" PRIu64, pe->ino);
                path[0] = 0;
        }

        l = link_new(pe->ino, pe->type, pe->name, netns, NULL);
        if (!l)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        l->fd = TAKE_FD(pe->link_fd);
        l->info = pe->info;
        /* A link whose program cannot be told is not known: what is
         * tidied after the scan depends on it. */
        r = nl_prog_describe(l->info.prog_id, l->info.prog_name, l->info.prog_tag);
        if (r < 0) {
                link_free(l);
                return nl_pin_scan_incomplete(e, r, "the program of link", pe->path);
        }
        /* A builtin by the daemon's record, not by a name anyone can give
         * a program (builtin-marks.h). */
        manager_link_set_builtin(l, nl_builtin_marked(m->marks_fd, l->info.prog_id));
        manager_link_set_recorded(m, l);

        if (link_add(m, l, path[0] ? path : NULL) < 0) {
                link_free(l);
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
                        link_key(key, sizeof(key), ino, NL_ATTACH_SK_LOOKUP, se->d_name);
                        l = hashmap_get(m->links, key);
                        if (l && link_is_steer(l))
                                continue;
                        if (steer_maps_is_staging(se->d_name))
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

/* A crash in the middle of a Steering change can leave a link's maps half
 * written: mend them before anyone looks. */
static void repair_steer_maps(Manager *m) {
        HashmapIter it = {};
        Link *l;

        while (hashmap_iterate(m->links, &it, (void **) &l, NULL)) {
                char dir[4096];
                NlSteer *s = NULL;
                NlError e = {};

                if (!link_is_steer(l) || manager_steer_dir(m, l->ino, l->name, dir, sizeof(dir)) < 0)
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
