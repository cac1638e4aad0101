/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "link-ops.h"
#include "names.h"

/*
 * The pin store: every link lives at
 *     <root>/<netns_ino>/<attach_type>/<link-name>
 * and a steer link's maps beside it in <root>/<netns_ino>/steer/<link-name>/.
 * The pins are the truth: the kernel keeps a pinned link running while no
 * process holds it, and a restart finds everything again by scanning.
 *
 * Batches (AttachMany, DetachMany) write a journal of their links, a BPF
 * map pinned at <root>/attach-pending-<id> or <root>/detach-commit--<id>
 * while they run. A crash leaves it, and its name says which way to repair
 * (see pin-batch.c and nl_pin_store_recover).
 *
 * The root also holds its layout version (pin-layout.h) and the record of
 * built-in programs (builtin-marks.h), and its lock is held on the root
 * folder itself (pin-lock.h).
 */
typedef struct NlPinStore NlPinStore;

#define NL_PIN_ROOT_DEFAULT "/sys/fs/bpf/netnslinkd"
#define NL_STEER_DIR "steer"

/* Creates root if needed; refuses a root that is not on bpffs. */
int nl_pin_store_open(const char *root, NlPinStore **ret, NlError *e);
/* Takes the root's lock (pin-lock.h) for as long as s lives: the daemon
 * does so before it reads or changes anything under the root. Held by
 * another process: -EWOULDBLOCK, with e naming its pid. */
int nl_pin_store_lock(NlPinStore *s, NlError *e);
NlPinStore *nl_pin_store_free(NlPinStore *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(NlPinStore *, nl_pin_store_free);
const char *nl_pin_store_root(const NlPinStore *s);

int nl_pin_path(const NlPinStore *s, uint64_t ino, NlAttachType type, const char *name,
                char *buf, size_t size);
int nl_pin_netns_dir(const NlPinStore *s, uint64_t ino, char *buf, size_t size);
/* A steer link's map folder, <root>/<ino>/steer/<name>; with name NULL,
 * the folder of a netns's steer links, <root>/<ino>/steer. */
int nl_pin_steer_dir(const NlPinStore *s, uint64_t ino, const char *name, char *buf, size_t size);
/* <root>/<ino>/steer/new@<16 hex digits>: a load's own folder for the
 * steer maps it makes, a name no link can have ('@' is not allowed in link
 * names); made, empty, in buf. */
#define NL_STEER_STAGING_PREFIX "new@"
int nl_pin_steer_stage(const NlPinStore *s, uint64_t ino, char *buf, size_t size);
bool nl_pin_steer_is_staging(const char *name);
/* The netns inode a folder of the root is named for: digits only, no
 * leading zero, not 0. Anything else is not a netns folder. */
bool nl_pin_netns_folder_parse(const char *name, uint64_t *ret);

/* Pins link_fd at its place, making the folders. An existing pin of the
 * same name: NL_ERR_LINK_EXISTS. */
int nl_pin_store_pin(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name,
                     int link_fd, NlError *e);
/* Opens the pinned link; -ENOENT if there is no such pin. */
int nl_pin_store_get(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name);
/* Removes the pin and any folder it leaves empty. -ENOENT if none. */
int nl_pin_store_unpin(NlPinStore *s, uint64_t ino, NlAttachType type, const char *name);

/* With keep set, an unpin leaves the folders it empties: a daemon that
 * detaches and attaches again in the same netns does not pay for removing
 * and making them (a mkdir costs as much as a pin). It prunes them itself,
 * later, with nl_pin_store_prune. */
void nl_pin_store_keep_dirs(NlPinStore *s, bool keep);
/* Removes the netns's empty type folders, and its folder if then empty.
 * 1 if the netns folder is gone, 0 if something still lives in it. */
int nl_pin_store_prune(NlPinStore *s, uint64_t ino);
/* mkdir -p: every missing folder of path, each with mode. */
int nl_mkdir_p(const char *path, mode_t mode);

/* Removes a whole folder tree of bpffs pins (steer maps, a batch). */
int nl_pin_rm_rf(const char *path);

/* Scan. Each pin found under <root>/<ino>/<type>/ is reported once. */
typedef enum NlPinState {
        NL_PIN_OK,         /* a live netns link, info filled, fd open */
        NL_PIN_DEFUNCT,    /* a link whose netns is gone (netns_ino 0) or that was detached */
        NL_PIN_BAD,        /* not a netns link of that type, or unreadable */
} NlPinState;

typedef struct NlPinEntry {
        uint64_t ino;               /* from the folder name */
        NlAttachType type;
        const char *name;
        const char *path;
        NlPinState state;
        int link_fd;                /* open for OK and DEFUNCT; the callback may take it */
        NlLinkInfo info;
        char reason[160];           /* for BAD: what it is instead, in words */
} NlPinEntry;

/* e: the callback's own error, if it returns a negative value. */
typedef int (*nl_pin_scan_cb)(NlPinEntry *entry, void *userdata, NlError *e);
/* Calls cb for every pin; stops and returns cb's value if negative. A
 * folder or pin it cannot read (no permission, out of file descriptors or
 * memory) stops it too, with e naming the path and the error: a scan that
 * missed links must not be taken for the whole truth, since whatever is
 * tidied after it would take the missed links' state for left-overs. */
int nl_pin_store_scan(NlPinStore *s, nl_pin_scan_cb cb, void *userdata, NlError *e);
/* The error that stops a scan: "Cannot read <what> <path>: <r>; the scan
 * ... is incomplete", with what to do when out of file descriptors. */
int nl_pin_scan_incomplete(NlError *e, int r, const char *what, const char *path);

/* Batches. */
typedef enum NlBatchOp { NL_BATCH_ATTACH, NL_BATCH_DETACH } NlBatchOp;
typedef struct NlBatch NlBatch;

/* Batches stage in memory; nothing changes until nl_batch_commit. */
int nl_batch_begin(NlPinStore *s, NlBatchOp op, NlBatch **ret, NlError *e);
/* ATTACH: a new link, to be pinned at its place by the commit. The batch
 * keeps its own fd: the caller may close link_fd. A name staged twice:
 * NL_ERR_LINK_EXISTS. */
int nl_batch_stage_pin(NlBatch *b, uint64_t ino, NlAttachType type, const char *name,
                       int link_fd, NlError *e);
/* The same for a caller that keeps the link open (link_fd stays valid
 * until the batch is freed) and knows its id. */
int nl_batch_stage_pin_fd(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int link_fd,
                          uint32_t link_id, NlError *e);
/* DETACH: an existing pin, opened now (NL_ERR_NO_SUCH_LINK if none). */
int nl_batch_stage_move(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, NlError *e);
/* The same for a caller that holds the link open: the commit detaches it
 * through link_fd, which must stay open until the batch is freed. */
int nl_batch_stage_move_fd(NlBatch *b, uint64_t ino, NlAttachType type, const char *name, int link_fd,
                           uint32_t link_id, NlError *e);
/* Makes the batch happen, all or nothing (see pin-batch.c): ATTACH pins
 * every staged link at its place, DETACH unpins and detaches every one. On
 * failure nothing changed, and nl_batch_failed names the element. */
int nl_batch_commit(NlBatch *b, NlError *e);
size_t nl_batch_failed(const NlBatch *b);
/* Drops a batch not committed (its new links are detached), or one done.
 * Frees b. */
void nl_batch_abort(NlBatch *b);
void nl_batch_free(NlBatch *b);

/* Repairs what a crash left: pending batches are undone, committed ones
 * finished. Returns the number of links repaired. */
int nl_pin_store_recover(NlPinStore *s);

/* Crash testing: NETNSLINK_CRASH_AT=<point> makes the process SIGKILL itself
 * at that named point, so tests can prove every step is repairable. */
void nl_crash_point(const char *point);
/* Race testing: with NETNSLINK_STOP_AT=<point> and NETNSLINK_STOP_FILE=F,
 * the process stops itself (SIGSTOP) at that point while F exists, so a
 * test can hold a step (a loader child's load) in place and let it go. */
void nl_stop_point(const char *point);
