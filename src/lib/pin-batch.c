/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batches: AttachMany and DetachMany are all or nothing, across a crash too.
 *
 * A batch stages one pin per link, flat, in its own folder
 *     <root>/<op>-pending-<id>/<ino>-<type>-<name>
 * and commits by renaming that folder to <op>-commit--<id>: one atomic
 * step. Then an attach batch moves each staged pin to its place and a
 * detach batch detaches and removes them. A crash before the rename leaves
 * a pending folder, which the next start undoes; one after it leaves a
 * committed folder, which the next start finishes. Flat, because a folder
 * per netns and type inside the batch would cost two mkdir and two rmdir
 * per link, more than the pin itself.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "pin-store-private.h"

struct NlBatch {
        NlPinStore *store;
        NlBatchOp op;
        char dir[4096];
        bool committed;
        size_t n, allocated;
        struct {
                uint64_t ino;
                NlAttachType type;
                char name[NL_LINK_NAME_MAX + 1];
                int fd;         /* borrowed, or -EBADF */
        } *items;
};

static const char *const batch_op_names[] = {
        [NL_BATCH_ATTACH] = "attach",
        [NL_BATCH_DETACH] = "detach",
};

/* A staged pin: <dir>/<ino>-<type>-<name>. Types have no '-', so the
 * second '-' ends the type whatever the name holds. */
static int entry_path(const char *dir, uint64_t ino, NlAttachType type, const char *name, char *buf,
                      size_t size) {
        int n = snprintf(buf, size, "%s/%" PRIu64 "-%s-%s", dir, ino, nl_attach_type_to_string(type), name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static bool entry_parse(const char *entry, uint64_t *ino, NlAttachType *type, char *name, size_t size) {
        char t[32];
        const char *dash, *dash2;
        char *end;

        if (!(entry[0] >= '1' && entry[0] <= '9'))
                return false;
        errno = 0;
        *ino = strtoull(entry, &end, 10);
        if (errno || *end != '-')
                return false;
        dash = end;
        dash2 = strchr(dash + 1, '-');
        if (!dash2 || (size_t) (dash2 - dash - 1) >= sizeof(t))
                return false;
        memcpy(t, dash + 1, dash2 - dash - 1);
        t[dash2 - dash - 1] = 0;
        *type = nl_attach_type_from_string(t);
        if (*type >= _NL_ATTACH_MAX || !nl_link_name_is_valid(dash2 + 1))
                return false;
        snprintf(name, size, "%s", dash2 + 1);
        return true;
}

/* Detaches and removes a staged pin (through link_fd if the caller holds
 * the link, so that no one else's fd keeps it running). */
static int entry_destroy(const char *path, int link_fd) {
        _cleanup_close_ int fd = -EBADF;

        if (link_fd < 0)
                link_fd = fd = bpf_obj_get(path);
        if (link_fd >= 0)
                (void) bpf_link_detach(link_fd);
        if (unlink(path) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

/* Moves a staged pin to its place, never over an existing one: a name
 * taken meanwhile wins, and the staged link is destroyed. */
static int entry_place(NlPinStore *s, const char *path, uint64_t ino, NlAttachType type, const char *name) {
        const char *root = nl_pin_store_root(s);
        char to[4096];
        int r;

        if (pin_path_in(root, ino, type, name, to, sizeof(to)) < 0)
                return -ENAMETOOLONG;
        r = make_parent_dirs(root, ino, type);
        if (r < 0)
                return r;
        r = renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) < 0 ? negative_errno() : 0;
        if (r == -ENOENT && access(path, F_OK) >= 0 && remake_parent_dirs(root, ino, type) >= 0)
                r = renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) < 0 ? negative_errno() : 0;
        if (r == -EEXIST)
                r = entry_destroy(path, -EBADF);
        return r;
}

/* What a batch folder's entries get: finished (commit) or undone. */
static int entry_finish(NlPinStore *s, NlBatchOp op, bool commit, const char *path, uint64_t ino,
                        NlAttachType type, const char *name, int link_fd) {
        if ((op == NL_BATCH_ATTACH) != commit)
                return entry_destroy(path, link_fd);
        return entry_place(s, path, ino, type, name);
}

int nl_batch_begin(NlPinStore *s, NlBatchOp op, NlBatch **ret, NlError *e) {
        NlBatch *b;
        uint64_t id;

        if (getrandom(&id, sizeof(id), 0) != sizeof(id))
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "getrandom failed: %m");
        b = calloc(1, sizeof(*b));
        if (!b)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        b->store = s;
        b->op = op;
        snprintf(b->dir, sizeof(b->dir), "%s/%s-pending-%016" PRIx64, nl_pin_store_root(s), batch_op_names[op], id);
        if (mkdir(b->dir, 0700) < 0) {
                int r = negative_errno();
                free(b);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot create batch folder: %m");
        }
        *ret = b;
        return 0;
}

static int batch_remember(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int fd) {
        if (b->n == b->allocated) {
                size_t m = b->allocated ? b->allocated * 2 : 16;
                void *p = reallocarray(b->items, m, sizeof(*b->items));
                if (!p)
                        return -ENOMEM;
                b->items = p;
                b->allocated = m;
        }
        b->items[b->n].ino = ino;
        b->items[b->n].type = type;
        b->items[b->n].fd = fd;
        snprintf(b->items[b->n].name, sizeof(b->items[b->n].name), "%s", name);
        b->n++;
        return 0;
}

int nl_batch_stage_pin(NlBatch *b, uint64_t ino, NlAttachType type, const char *name,
                       int link_fd, NlError *e) {
        char path[4096];
        int r;

        if (entry_path(b->dir, ino, type, name, path, sizeof(path)) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENAMETOOLONG, "Pin path too long");
        /* The caller may close link_fd once staged: the pin holds it. */
        if (batch_remember(b, ino, type, name, -EBADF) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = bpf_obj_pin(link_fd, path);
        if (r < 0) {
                b->n--;
                if (r == -EEXIST)
                        return nl_error_set(e, NL_ERR_LINK_EXISTS, r, "The batch names link '%s' twice", name);
                return nl_error_set(e, NL_ERR_FAILED, r, "Failed to pin link at %s: %m", path);
        }
        return 0;
}

int nl_batch_stage_move_fd(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int link_fd,
                           NlError *e) {
        char from[4096], to[4096];
        int r;

        if (pin_path_in(nl_pin_store_root(b->store), ino, type, name, from, sizeof(from)) < 0 ||
            entry_path(b->dir, ino, type, name, to, sizeof(to)) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENAMETOOLONG, "Pin path too long");
        if (batch_remember(b, ino, type, name, link_fd) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        r = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0 ? negative_errno() : 0;
        if (r < 0) {
                b->n--;
                return nl_error_set(e, r == -ENOENT ? NL_ERR_NO_SUCH_LINK : NL_ERR_FAILED, r,
                                    r == -EEXIST ? "The batch names link '%s' twice"
                                                 : "Cannot stage link '%s' for detaching: %m", name);
        }
        prune_dirs(b->store, nl_pin_store_root(b->store), ino, type);
        return 0;
}

int nl_batch_stage_move(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, NlError *e) {
        return nl_batch_stage_move_fd(b, ino, type, name, -EBADF, e);
}

/* Runs every staged entry of b the way commit says, then removes the
 * folder. */
static int batch_finish(NlBatch *b, bool commit) {
        int r = 0;

        for (size_t i = 0; i < b->n; i++) {
                char path[4096];

                if (entry_path(b->dir, b->items[i].ino, b->items[i].type, b->items[i].name, path, sizeof(path)) < 0)
                        continue;
                int k = entry_finish(b->store, b->op, commit, path, b->items[i].ino, b->items[i].type,
                                     b->items[i].name, b->items[i].fd);
                if (k < 0 && r == 0)
                        r = k;
        }
        nl_crash_point("batch-finish-before-rmdir");
        /* Empty unless someone put something there: then rm -rf. */
        if (rmdir(b->dir) < 0 && errno != ENOENT) {
                int k = nl_pin_rm_rf(b->dir);
                if (k < 0 && r == 0)
                        r = k;
        }
        return r;
}

int nl_batch_commit(NlBatch *b, NlError *e) {
        char committed[4096];
        char *p;
        int r;

        /* The rename is the commit point: before it a crash undoes the
         * batch, after it a crash finishes it. */
        snprintf(committed, sizeof(committed), "%s", b->dir);
        p = strstr(committed + strlen(nl_pin_store_root(b->store)), "-pending-");
        memcpy(p, "-commit--", 9);
        nl_crash_point("batch-before-commit");
        if (rename(b->dir, committed) < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot commit batch: %m");
        snprintf(b->dir, sizeof(b->dir), "%s", committed);
        b->committed = true;
        nl_crash_point("batch-after-commit");

        r = batch_finish(b, true);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot finish batch: %m");
        return 0;
}

void nl_batch_abort(NlBatch *b) {
        if (!b)
                return;
        if (!b->committed)
                (void) batch_finish(b, false);
        nl_batch_free(b);
}

void nl_batch_free(NlBatch *b) {
        if (!b)
                return;
        free(b->items);
        free(b);
}

/* Recovery: a batch folder left by a crash, known only by its entries. */

struct recover_ctx {
        NlPinStore *store;
        NlBatchOp op;
        bool commit;
        int count;
};

static int recover_one(const char *base, uint64_t ino, NlAttachType type, const char *name, const char *path,
                       void *userdata) {
        struct recover_ctx *c = userdata;

        if (entry_finish(c->store, c->op, c->commit, path, ino, type, name, -EBADF) >= 0)
                c->count++;
        return 0;
}

static int recover_dir(NlPinStore *s, const char *dir, NlBatchOp op, bool commit) {
        struct recover_ctx c = { .store = s, .op = op, .commit = commit };
        struct dirent *de;
        DIR *d;

        d = opendir(dir);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char name[NL_LINK_NAME_MAX + 1], path[4096 + 256];
                NlAttachType type;
                uint64_t ino;

                if (!entry_parse(de->d_name, &ino, &type, name, sizeof(name)))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                (void) recover_one(dir, ino, type, name, path, &c);
        }
        closedir(d);
        /* Folders of <ino>/<type>/<name>: how batches were staged before
         * they were flat. */
        (void) walk_pins(dir, recover_one, &c);
        (void) nl_pin_rm_rf(dir);
        return c.count;
}

int nl_pin_store_recover(NlPinStore *s) {
        const char *root = nl_pin_store_root(s);
        DIR *d;
        struct dirent *de;
        int total = 0;

        d = opendir(root);
        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                char path[4096];

                for (NlBatchOp op = NL_BATCH_ATTACH; op <= NL_BATCH_DETACH; op++) {
                        size_t n = strlen(batch_op_names[op]);
                        bool pending, commit;

                        if (strncmp(de->d_name, batch_op_names[op], n) != 0)
                                continue;
                        pending = strncmp(de->d_name + n, "-pending-", 9) == 0;
                        commit = strncmp(de->d_name + n, "-commit--", 9) == 0;
                        if (!pending && !commit)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
                        int r = recover_dir(s, path, op, commit);
                        if (r > 0)
                                total += r;
                }
        }
        closedir(d);
        return total;
}
