/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "link-records.h"
#include "log.h"
#include "manager-private.h"
#include "netns-ref.h"

/* Batches: AttachMany and DetachMany, all or nothing (the order of their
 * system calls is at the top of manager-ops.c). */

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
                bool per_link = manager_spec_is_per_link(&progs[i]);
                NlAttachType type;
                uint64_t ino = 0;
                int r;

                r = manager_parse_ref(m, &refs[i], &type, e);
                if (per_link) {
                        /* Its own maps, for the netns its reference names
                         * now (manager_attach_one makes sure). What is wrong with
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
                        r = manager_program_get(m, &progs[i], type, ino, refs[i].name, slots, i, true, &prog, e);
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

                r = manager_attach_one(m, &refs[i], &progs[i], slots, i, b, &made[i], path, sizeof(path), e);
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
                if (manager_link_add(m, made[i], paths[i]) < 0) {
                        log_error("Out of memory tracking link %s; it stays pinned and is found at next start",
                                  made[i]->key);
                        manager_link_free(made[i]);
                        made[i] = NULL;
                        continue;
                }
                manager_log_change("Attached", made[i]);
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
                        if (manager_link_recorded(made[k]))
                                (void) nl_link_record_clear(m->configs_fd, made[k]->info.link_id);
                        if (manager_spec_is_per_link(&progs[k]))
                                manager_remove_steer_dir(m, made[k]->ino, made[k]->name);
                        manager_mark_emptied(m, made[k]->ino);
                        manager_link_free(made[k]);
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
                manager_note_config_override(m, links[i], "DetachMany");
                manager_finish_detach(m, links[i], LINK_DETACHED, true);      /* by the commit */
        }
        return 0;

fail:
        return batch_error(e, i, &refs[i], r);
}
