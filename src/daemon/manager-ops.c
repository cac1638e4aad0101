/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>

#include "builtins.h"
#include "link-records.h"
#include "log.h"
#include "manager-private.h"
#include "netns-ref.h"
#include "steer-maps.h"

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

/* Programs. */

bool manager_spec_is_per_link(const ProgramSpec *p) {
        const NlBuiltin *b;

        if (p->kind != PROGRAM_BUILTIN)
                return false;
        b = nl_builtin_find(p->builtin);
        return b && b->per_link;
}

/*
 * The program of element i of a request, for a link (ino, name) of type:
 * what its slot holds, or from the loader. A per-link builtin (steer)
 * keeps the maps of the link (ino, name) if that runs it already;
 * otherwise its new maps are in a folder the program owns until
 * steer_maps_publish() puts it in place (steer-maps.c). may_wait: the
 * slot may wait for the load (-EINPROGRESS); otherwise it is waited for.
 */
int manager_program_get(Manager *m, const ProgramSpec *p, NlAttachType type, uint64_t ino, const char *name,
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
        if (slot && manager_spec_is_per_link(p)) {
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

/* Attach. */

/* Makes the link and pins it (in a batch's staging folder if b is given).
 * On success *ret is a new Link not yet in the table. */
/* slots, i: the request's programs, and which is this link's. In a batch
 * the loads happened before (AttachMany) and one that did not is waited for. */
int manager_attach_one(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, size_t i,
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

        r = manager_parse_ref(m, ref, &type, e);
        if (r < 0)
                return r;
        /* A batch looked once, at its start: three file system calls per
         * element were a sixth of an AttachMany's work. */
        r = b ? 0 : manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        r = nl_netns_open_nsfs(ref->netns, &ns, e);
        if (r < 0)
                return r;
        snprintf(netns_path, path_size, "%s", ns.path);

        manager_drop_if_reused(m, ns.ino);
        manager_link_key(key, sizeof(key), ns.ino, type, ref->name);
        if (hashmap_get(m->links, key)) {
                nl_netns_close(&ns);
                return nl_error_set(e, NL_ERR_LINK_EXISTS, -EEXIST,
                                    "A %s link named '%s' already exists in netns %s",
                                    nl_attach_type_to_string(type), ref->name, ref->netns);
        }

        r = manager_program_get(m, p, type, ns.ino, ref->name, slots, i, !b, &prog, e);
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

        l = manager_link_new(ns.ino, type, ref->name, ref->netns, nl_program_source(prog));
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
        r = manager_refresh_info(m, l);
        if (r < 0) {
                nl_error_set(e, NL_ERR_FAILED, r, "Cannot read the new link's id: %m");
                goto fail_link;
        }
        /* A configured link's record, or the origin its caller gave it
         * (a CNI attachment's), is written before its pin: a kill
         * between the two leaves a record of a link the kernel dropped,
         * which the next start prunes. */
        if (m->config_of && m->config_of(m, ref))
                r = manager_link_set_config(m, l, m->config_of(m, ref), e);
        else if (ref->origin)
                r = manager_link_set_origin(m, l, ref->origin, e);
        if (r < 0)
                goto fail_link;
        if (manager_link_recorded(l))
                nl_crash_point("attach-after-record");
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
        if (manager_link_recorded(l))
                (void) nl_link_record_clear(m->configs_fd, l->info.link_id);
        manager_link_free(l);
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

int manager_attach(Manager *m, const LinkRef *ref, const ProgramSpec *p, ProgramSlots *slots, Link **ret,
                   NlError *e) {
        char path[4096];
        Link *l = NULL;
        int r;

        r = manager_attach_one(m, ref, p, slots, 0, NULL, &l, path, sizeof(path), e);
        if (r < 0)
                return r;
        r = manager_link_add(m, l, path);
        if (r < 0) {
                /* Out of memory: undo rather than run a link we do not track. */
                (void) nl_pin_store_unpin(m->store, l->ino, l->type, l->name);
                (void) nl_link_detach(l->fd, NULL);
                manager_link_free(l);
                return nl_error_set(e, NL_ERR_FAILED, r, "Out of memory");
        }
        manager_log_change("Attached", l);
        manager_emit(m, LINK_ATTACHED, l);
        *ret = l;
        return 0;
}

/* Update and Replace. */

/* An operator may change a configured link over D-Bus; it is said, since
 * the next apply of the configuration puts the file's state back. */
void manager_note_config_override(Manager *m, const Link *l, const char *call) {
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

        was_steer = manager_link_runs_steer(l);
        now_steer = manager_spec_is_per_link(p);
        manager_note_config_override(m, l, cas ? "Replace" : "Update");

        /* Steer on a link that runs it keeps the link's maps; moving to
         * steer from something else gets new ones (manager_program_get). */
        r = manager_program_get(m, p, l->type, l->ino, l->name, slots, 0, true, &prog, e);
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
        (void) manager_refresh_info(m, l);
        manager_log_change(cas ? "Replaced program of" : "Updated", l);
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

int manager_detach(Manager *m, const LinkRef *ref, NlError *e) {
        Link *l = NULL;
        int r;

        r = manager_get(m, ref, &l, e);
        if (r < 0)
                return r;
        r = manager_require_pin_root(m, e);
        if (r < 0)
                return r;
        manager_note_config_override(m, l, "Detach");
        r = nl_pin_store_unpin(m->store, l->ino, l->type, l->name);
        if (r < 0 && r != -ENOENT)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot remove the pin of link '%s': %m", l->name);
        nl_crash_point("detach-after-unpin");
        manager_finish_detach(m, l, LINK_DETACHED, false);
        return 0;
}
