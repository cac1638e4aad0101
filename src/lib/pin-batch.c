/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Batches: AttachMany and DetachMany are all or nothing, across a crash too.
 *
 * A batch writes down what it is about to do in a journal: a BPF array map,
 * one entry per link (netns inode, type, name, link id), pinned in the root.
 * Pins cost several microseconds each on bpffs, map entries a fraction of
 * one, so the journal costs one pin per batch instead of one per link:
 *
 * attach: journal pinned as attach-pending-<id>; every link pinned in its
 *         place; the journal unlinked: the commit point. A crash before it
 *         leaves the pending journal, and the next start unpins and
 *         detaches every listed link it finds in place (same link id).
 * detach: journal pinned as detach-commit--<id>: the commit point, before
 *         which nothing changed; every pin unlinked and its link detached;
 *         the journal unlinked. A crash in between leaves the journal, and
 *         the next start finishes the listed links.
 *
 * Staging only records, in memory: a batch killed while staging changes
 * nothing on disk, and its new links go with the process's fds.
 */
#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "hashmap.h"
#include "pin-store-private.h"

typedef struct Item {
        uint64_t ino;
        NlAttachType type;
        char name[NL_LINK_NAME_MAX + 1];
        uint32_t link_id;
        int fd;                 /* the link */
        bool own_fd;
} Item;

struct NlBatch {
        NlPinStore *store;
        NlBatchOp op;
        uint64_t id;
        bool done;              /* committed or undone: nothing left to do */
        size_t failed;          /* the element a failed commit names */
        size_t n, allocated;
        Item *items;
        Hashmap *keys;          /* "ino/type/name" of every item */
};

/* What a kernel without batch map updates says; not in userspace errno.h. */
#define KERNEL_ENOTSUPP 524

static const char *const batch_op_names[] = {
        [NL_BATCH_ATTACH] = "attach",
        [NL_BATCH_DETACH] = "detach",
};

int nl_batch_begin(NlPinStore *s, NlBatchOp op, NlBatch **ret, NlError *e) {
        NlBatch *b;

        b = calloc(1, sizeof(*b));
        if (!b || !(b->keys = hashmap_new())) {
                free(b);
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        }
        if (getrandom(&b->id, sizeof(b->id), 0) != sizeof(b->id)) {
                nl_batch_free(b);
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "getrandom failed: %m");
        }
        b->store = s;
        b->op = op;
        *ret = b;
        return 0;
}

static void item_key(char key[128], uint64_t ino, NlAttachType type, const char *name) {
        snprintf(key, 128, "%" PRIu64 "/%d/%s", ino, (int) type, name);
}

/* Undoes batch_add for an item that could not be completed. */
static void batch_forget_key(NlBatch *b, const Item *it) {
        char key[128];

        item_key(key, it->ino, it->type, it->name);
        (void) hashmap_remove(b->keys, key);
}

/* Prepares b->items[b->n] (the caller completes it and counts it). */
static int batch_add(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, NlError *e) {
        char key[128];

        item_key(key, ino, type, name);
        if (hashmap_get(b->keys, key))
                return nl_error_set(e, NL_ERR_LINK_EXISTS, -EEXIST, "The batch names link '%s' twice", name);
        if (b->n == b->allocated) {
                size_t m = b->allocated ? b->allocated * 2 : 16;
                Item *v = reallocarray(b->items, m, sizeof(Item));
                if (!v)
                        return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
                b->items = v;
                b->allocated = m;
        }
        if (hashmap_put(b->keys, key, (void *) 1) < 0)
                return nl_error_set(e, NL_ERR_FAILED, -ENOMEM, "Out of memory");
        b->items[b->n] = (Item) { .ino = ino, .type = type, .fd = -EBADF };
        snprintf(b->items[b->n].name, sizeof(b->items[b->n].name), "%s", name);
        return 0;
}

int nl_batch_stage_pin(NlBatch *b, uint64_t ino, NlAttachType type, const char *name,
                       int link_fd, NlError *e) {
        NlLinkInfo info;
        Item *it;
        int r;

        r = nl_link_get_info(link_fd, false, &info);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read link '%s': %m", name);
        r = batch_add(b, ino, type, name, e);
        if (r < 0)
                return r;
        it = &b->items[b->n];
        /* The caller may close link_fd once staged: the batch keeps the
         * link alive with its own fd until it is pinned. */
        it->fd = fcntl(link_fd, F_DUPFD_CLOEXEC, 3);
        if (it->fd < 0) {
                r = negative_errno();
                batch_forget_key(b, it);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot keep link '%s': %m", name);
        }
        it->own_fd = true;
        it->link_id = info.link_id;
        b->n++;
        return 0;
}

int nl_batch_stage_pin_fd(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int link_fd,
                          uint32_t link_id, NlError *e) {
        int r = batch_add(b, ino, type, name, e);

        if (r < 0)
                return r;
        b->items[b->n].fd = link_fd;
        b->items[b->n].link_id = link_id;
        b->n++;
        return 0;
}

int nl_batch_stage_move_fd(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int link_fd,
                           uint32_t link_id, NlError *e) {
        /* The same record: the op says what the commit does with it. */
        return nl_batch_stage_pin_fd(b, ino, type, name, link_fd, link_id, e);
}

int nl_batch_stage_move(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, NlError *e) {
        _cleanup_close_ int fd = nl_pin_store_get(b->store, ino, type, name);
        NlLinkInfo info;
        int r;

        if (fd < 0)
                return nl_error_set(e, fd == -ENOENT ? NL_ERR_NO_SUCH_LINK : NL_ERR_FAILED, fd,
                                    "Cannot stage link '%s' for detaching: %m", name);
        r = nl_link_get_info(fd, false, &info);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read link '%s': %m", name);
        r = nl_batch_stage_move_fd(b, ino, type, name, fd, info.link_id, e);
        if (r < 0)
                return r;
        b->items[b->n - 1].own_fd = true;
        TAKE_FD(fd);
        return 0;
}

static void journal_path(const NlBatch *b, bool commit, char *buf, size_t size) {
        snprintf(buf, size, "%s/%s-%s-%016" PRIx64, nl_pin_store_root(b->store), batch_op_names[b->op],
                 commit ? "commit-" : "pending", b->id);
}

/* The journal: an array map of the batch's links, pinned at path. */
static int journal_write(const NlBatch *b, const char *path) {
        _cleanup_free_ JournalEntry *v = NULL;
        _cleanup_free_ uint32_t *keys = NULL;
        _cleanup_close_ int fd = -EBADF;
        uint32_t count = b->n;
        int r;

        v = calloc(b->n, sizeof(JournalEntry));
        keys = calloc(b->n, sizeof(uint32_t));
        if (!v || !keys)
                return -ENOMEM;
        for (size_t i = 0; i < b->n; i++) {
                keys[i] = i;
                v[i].ino = b->items[i].ino;
                v[i].type = b->items[i].type;
                v[i].link_id = b->items[i].link_id;
                snprintf(v[i].name, sizeof(v[i].name), "%s", b->items[i].name);
        }
        fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "nl_batch", sizeof(uint32_t), sizeof(JournalEntry), b->n, NULL);
        if (fd < 0)
                return fd;
        r = bpf_map_update_batch(fd, keys, v, &count, NULL);
        if (r == -EINVAL || r == -KERNEL_ENOTSUPP || r == -EOPNOTSUPP) {
                r = 0;
                for (size_t i = 0; i < b->n && r >= 0; i++)
                        r = bpf_map_update_elem(fd, &keys[i], &v[i], BPF_ANY);
        }
        if (r < 0)
                return r;
        return bpf_obj_pin(fd, path);
}

/* Unpins a link of the journal and detaches it, if the pin in its place
 * still holds that very link. Returns 1 if it did, 0 if there was nothing
 * to do, or a negative errno if it could not tell (try again later). */
static int undo_pin(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name, uint32_t link_id, int link_fd) {
        _cleanup_close_ int fd = -EBADF;
        char path[4096];
        NlLinkInfo info;
        struct stat st;
        int r;

        if (nl_pin_path(s, ino, type, name, path, sizeof(path)) < 0)
                return 0;
        if (lstat(path, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR ? 0 : negative_errno();
        if (!S_ISREG(st.st_mode))
                return 0;       /* not a pin: not the journal's link */
        fd = bpf_obj_get(path);
        if (fd < 0)
                return fd == -ENOENT ? 0 : fd;
        r = nl_link_get_info(fd, false, &info);
        if (r < 0)
                return r == -EINVAL || r == -ENOTSUP ? 0 : r;   /* not a link at all */
        if (info.link_id != link_id)
                return 0;
        if (unlink(path) < 0)
                return negative_errno();
        prune_dirs(s, ino, type);
        (void) bpf_link_detach(link_fd >= 0 ? link_fd : fd);
        return 1;
}

static int commit_attach(NlBatch *b, NlError *e) {
        char journal[4096];
        size_t i;
        int r;

        journal_path(b, false, journal, sizeof(journal));
        r = journal_write(b, journal);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot write the batch's journal %s: %m", journal);
        for (i = 0; i < b->n; i++) {
                Item *it = &b->items[i];

                r = nl_pin_store_pin(b->store, it->ino, it->type, it->name, it->fd, e);
                if (r < 0)
                        goto undo;
                if (i == 0)
                        nl_crash_point("batch-midway");
        }
        nl_crash_point("batch-before-commit");
        if (unlink(journal) < 0) {
                r = nl_error_set(e, NL_ERR_FAILED, negative_errno(), "Cannot commit batch (%s): %m", journal);
                goto undo;
        }
        nl_crash_point("batch-after-commit");
        return 0;

undo:
        b->failed = i < b->n ? i : b->n - 1;
        for (size_t k = 0; k < i; k++)
                (void) undo_pin(b->store, b->items[k].ino, b->items[k].type, b->items[k].name,
                                b->items[k].link_id, b->items[k].fd);
        for (size_t k = 0; k < b->n; k++)
                (void) bpf_link_detach(b->items[k].fd);
        (void) unlink(journal);
        return r;
}

static int commit_detach(NlBatch *b, NlError *e) {
        char journal[4096];
        int r;

        journal_path(b, true, journal, sizeof(journal));
        nl_crash_point("batch-before-commit");
        r = journal_write(b, journal);
        if (r < 0) {
                b->failed = b->n - 1;
                (void) unlink(journal);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot write the batch's journal %s: %m", journal);
        }
        nl_crash_point("batch-after-commit");
        /* Committed: what follows is finished by the next start if we die. */
        for (size_t i = 0; i < b->n; i++) {
                Item *it = &b->items[i];
                char path[4096];

                if (nl_pin_path(b->store, it->ino, it->type, it->name, path, sizeof(path)) >= 0 &&
                    unlink(path) >= 0)
                        prune_dirs(b->store, it->ino, it->type);
                (void) bpf_link_detach(it->fd);
                if (i == 0)
                        nl_crash_point("batch-midway");
        }
        nl_crash_point("batch-before-cleanup");
        (void) unlink(journal);
        return 0;
}

int nl_batch_commit(NlBatch *b, NlError *e) {
        int r = 0;

        if (b->done)
                return nl_error_set(e, NL_ERR_FAILED, -EALREADY, "The batch is done already");
        if (b->n > 0)
                r = b->op == NL_BATCH_ATTACH ? commit_attach(b, e) : commit_detach(b, e);
        b->done = true;
        return r;
}

size_t nl_batch_failed(const NlBatch *b) {
        return b->failed;
}

void nl_batch_abort(NlBatch *b) {
        if (!b)
                return;
        /* Nothing was written: new links go with their fds, old ones stay. */
        if (!b->done && b->op == NL_BATCH_ATTACH)
                for (size_t i = 0; i < b->n; i++)
                        (void) bpf_link_detach(b->items[i].fd);
        nl_batch_free(b);
}

void nl_batch_free(NlBatch *b) {
        if (!b)
                return;
        for (size_t i = 0; i < b->n; i++)
                if (b->items[i].own_fd)
                        safe_close(b->items[i].fd);
        free(b->items);
        hashmap_free(b->keys, NULL);
        free(b);
}

/* Recovery. */

/* A journal a crash left: the listed links are undone (attach-pending) or
 * finished (detach-commit); then it goes. Returns the links repaired. */
static int recover_journal(NlPinStore *s, const char *path, NlBatchOp op, bool commit) {
        _cleanup_close_ int fd = -EBADF;
        struct bpf_map_info info = {};
        uint32_t len = sizeof(info);
        bool keep = false;
        int count = 0;

        /* attach-commit and detach-pending journals are never written: a
         * crash cannot leave work behind them. */
        if ((op == NL_BATCH_ATTACH) != commit) {
                fd = bpf_obj_get(path);
                /* Unreadable now (out of fds or memory): kept for the next
                 * start rather than losing what it says. */
                if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
                        keep = fd != -ENOENT;
                else if (info.type == BPF_MAP_TYPE_ARRAY && info.key_size == sizeof(uint32_t) &&
                         info.value_size == sizeof(JournalEntry))
                        for (uint32_t k = 0; k < info.max_entries; k++) {
                                JournalEntry je;
                                int r;

                                if (bpf_map_lookup_elem(fd, &k, &je) < 0) {
                                        keep = true;
                                        continue;
                                }
                                je.name[sizeof(je.name) - 1] = 0;
                                if (je.link_id == 0 || je.type >= _NL_ATTACH_MAX || !nl_link_name_is_valid(je.name))
                                        continue;
                                r = undo_pin(s, je.ino, je.type, je.name, je.link_id, -EBADF);
                                if (r > 0)
                                        count++;
                                else if (r < 0)
                                        keep = true;
                        }
        }
        if (!keep)
                (void) nl_pin_rm_rf(path);
        return count;
}

/* Batches of earlier versions staged pins in a folder, flat
 * (<ino>-<type>-<name>) or nested (<ino>/<type>/<name>), and committed by
 * renaming it from -pending- to -commit--: pending ones are undone (their
 * links detached), committed ones moved into place. */
struct legacy_ctx {
        NlPinStore *store;
        bool place;
        int count;
};

static int legacy_one(const char *base, uint64_t ino, NlAttachType type, const char *name, bool is_dir,
                      const char *path, void *userdata, NlError *e) {
        struct legacy_ctx *c = userdata;
        const char *root = nl_pin_store_root(c->store);
        char to[4096];

        if (is_dir)
                return 0;       /* no pin of a batch of ours */

        if (c->place && pin_path_in(root, ino, type, name, to, sizeof(to)) >= 0 &&
            make_parent_dirs(c->store, ino, type) >= 0 &&
            renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) >= 0) {
                c->count++;
                return 0;
        }
        _cleanup_close_ int fd = bpf_obj_get(path);
        if (fd >= 0)
                (void) bpf_link_detach(fd);
        if (unlink(path) >= 0)
                c->count++;
        return 0;
}

static bool legacy_entry_parse(const char *entry, uint64_t *ino, NlAttachType *type, char *name, size_t size) {
        const char *dash2;
        char t[32], *end;

        if (!(entry[0] >= '1' && entry[0] <= '9'))
                return false;
        errno = 0;
        *ino = strtoull(entry, &end, 10);
        if (errno || *end != '-' || !(dash2 = strchr(end + 1, '-')) || (size_t) (dash2 - end - 1) >= sizeof(t))
                return false;
        memcpy(t, end + 1, dash2 - end - 1);
        t[dash2 - end - 1] = 0;
        *type = nl_attach_type_from_string(t);
        if (*type >= _NL_ATTACH_MAX || !nl_link_name_is_valid(dash2 + 1))
                return false;
        snprintf(name, size, "%s", dash2 + 1);
        return true;
}

static int recover_legacy_dir(NlPinStore *s, const char *dir, NlBatchOp op, bool commit) {
        struct legacy_ctx c = { .store = s, .place = (op == NL_BATCH_ATTACH) == commit };
        struct dirent *de;
        DIR *d = opendir(dir);

        if (d) {
                while ((de = readdir(d))) {
                        char name[NL_LINK_NAME_MAX + 1], path[4096 + 256];
                        NlAttachType type;
                        uint64_t ino;

                        if (de->d_type != DT_REG || !legacy_entry_parse(de->d_name, &ino, &type, name, sizeof(name)))
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                        (void) legacy_one(dir, ino, type, name, false, path, &c, NULL);
                }
                closedir(d);
        }
        /* A folder that could not be read whole is kept for the next
         * start: removing it would unpin the links it was not seen to hold. */
        if (walk_pins(dir, legacy_one, &c, NULL) >= 0)
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
                        struct stat st;
                        int r;

                        if (strncmp(de->d_name, batch_op_names[op], n) != 0)
                                continue;
                        pending = strncmp(de->d_name + n, "-pending-", 9) == 0;
                        commit = strncmp(de->d_name + n, "-commit--", 9) == 0;
                        if (!pending && !commit)
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", root, de->d_name);
                        if (lstat(path, &st) < 0)
                                continue;
                        if (S_ISDIR(st.st_mode))
                                r = recover_legacy_dir(s, path, op, commit);
                        else if (S_ISREG(st.st_mode))
                                r = recover_journal(s, path, op, commit);
                        else    /* a symlink: never followed */
                                r = unlink(path) < 0 ? negative_errno() : 0;
                        if (r > 0)
                                total += r;
                }
        }
        closedir(d);
        return total;
}
