/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Batches (AttachMany/DetachMany's all-or-nothing) and their repair after
 * a crash at each of the library's crash points. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "link-ops.h"
#include "pin-store.h"
#include "prog-loader.h"
#include "test-util.h"

#define N_NS 3

static NlProgCache *cache;
static NlProgram *sk;

/* One scenario: a fresh store and N_NS fresh netns. */
typedef struct Scene {
        NlPinStore *store;
        char root[512];
        char ns[N_NS][TEST_NETNS_NAME_MAX];
        uint64_t ino[N_NS];
} Scene;

static unsigned scene_counter;

static void scene_new(Scene *sc) {
        NlError e = {};
        char name[32];

        *sc = (Scene) {};
        snprintf(name, sizeof(name), "batch%u", ++scene_counter);
        snprintf(sc->root, sizeof(sc->root), "%s/%s", test_bpffs(), name);
        CHECK_OK(nl_pin_store_open(sc->root, &sc->store, &e), &e);
        for (int i = 0; i < N_NS; i++) {
                CHECK_OK(test_netns_add(sc->ns[i]), NULL);
                sc->ino[i] = test_netns_ino(sc->ns[i]);
        }
}

static void scene_free(Scene *sc) {
        nl_pin_rm_rf(sc->root);
        nl_pin_store_free(sc->store);
        for (int i = 0; i < N_NS; i++)
                test_netns_del(sc->ns[i]);
}

static int make_link(Scene *sc, int i) {
        int nsfd = test_netns_fd(sc->ns[i]), fd;
        NlError e = {};

        fd = nl_link_create(nl_program_fd(sk), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_OK(fd, &e);
        safe_close(nsfd);
        return fd;
}

static int attached(Scene *sc, int i) {
        int nsfd = test_netns_fd(sc->ns[i]);
        int n = test_netns_prog_count(nsfd, BPF_SK_LOOKUP);

        safe_close(nsfd);
        return n;
}

static bool pinned(Scene *sc, int i) {
        return test_exists("%s/%" PRIu64 "/sk_lookup/l", sc->root, sc->ino[i]);
}

/* Batch folders in the root: how many, and whether one has that infix. */
static int batch_dirs(Scene *sc, const char *infix) {
        DIR *d = opendir(sc->root);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if ((strncmp(de->d_name, "attach-", 7) == 0 || strncmp(de->d_name, "detach-", 7) == 0) &&
                    (!infix || strstr(de->d_name, infix)))
                        n++;
        closedir(d);
        return n;
}

/* Every pin of the scene's netns, found in place: the state the scene
 * must be in, link by link. */
static void check_state(Scene *sc, bool want_attached, const char *what) {
        for (int i = 0; i < N_NS; i++) {
                CHECK(pinned(sc, i) == want_attached, "%s: netns %d %s", what, i,
                      want_attached ? "pinned" : "not pinned");
                CHECK(attached(sc, i) == (want_attached ? 1 : 0), "%s: netns %d has %d programs, expected %d",
                      what, i, attached(sc, i), want_attached ? 1 : 0);
        }
}

/* No kernel link without a pin: every netns link the kernel has in the
 * scene's netns is one the store holds in its place. */
static int collect_ids(NlPinEntry *entry, void *userdata, NlError *e) {
        uint32_t *ids = userdata;

        if (entry->state == NL_PIN_OK && ids[0] < 63)
                ids[++ids[0]] = entry->info.link_id;
        return 0;
}

static int count_orphans(Scene *sc) {
        uint32_t pinned_ids[64] = {}, id = 0;
        int orphans = 0;

        CHECK(nl_pin_store_scan(sc->store, collect_ids, pinned_ids, NULL) >= 0, "the pin root scans whole");
        while (bpf_link_get_next_id(id, &id) == 0) {
                _cleanup_close_ int fd = bpf_link_get_fd_by_id(id);
                NlLinkInfo info;
                bool mine = false, found = false;

                if (fd < 0 || nl_link_get_info(fd, false, &info) < 0)
                        continue;
                for (int i = 0; i < N_NS; i++)
                        mine |= info.netns_ino == sc->ino[i];
                if (!mine)
                        continue;
                for (uint32_t k = 1; k <= pinned_ids[0]; k++)
                        found |= pinned_ids[k] == info.link_id;
                orphans += !found;
        }
        return orphans;
}

static void check_no_orphans(Scene *sc, const char *what) {
        int orphans = count_orphans(sc);

        CHECK(orphans == 0, "%s: %d kernel links without a pin", what, orphans);
}

/* Pins one link per netns at its place, as earlier single Attach calls would. */
static void attach_all(Scene *sc) {
        NlError e = {};

        for (int i = 0; i < N_NS; i++) {
                int fd = make_link(sc, i);
                CHECK_OK(nl_pin_store_pin(sc->store, sc->ino[i], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e);
                safe_close(fd);
        }
}

/* Stages the scene's links: new ones (ATTACH) or the existing pins (DETACH).
 * With crash_after >= 0, the process kills itself after that many. */
static int stage_all(Scene *sc, NlBatch *b, NlBatchOp op, int crash_after) {
        NlError e = {};
        int r = 0;

        for (int i = 0; i < N_NS; i++) {
                if (i == crash_after)
                        raise(SIGKILL);
                if (op == NL_BATCH_ATTACH) {
                        int fd = make_link(sc, i);
                        r = nl_batch_stage_pin(b, sc->ino[i], NL_ATTACH_SK_LOOKUP, "l", fd, &e);
                        safe_close(fd);
                } else
                        r = nl_batch_stage_move(b, sc->ino[i], NL_ATTACH_SK_LOOKUP, "l", &e);
                if (!CHECK_OK(r, &e))
                        return r;
        }
        return 0;
}

/* ---- batches that run to the end ---- */

static const struct {
        NlBatchOp op;
        bool commit;
        bool applied;   /* the links exist afterwards */
} run_cases[] = {
        { NL_BATCH_ATTACH, true, true },
        { NL_BATCH_ATTACH, false, false },
        { NL_BATCH_DETACH, true, false },
        { NL_BATCH_DETACH, false, true },
};

static void test_batches(void) {
        for (size_t i = 0; i < ELEMENTSOF(run_cases); i++) {
                bool attach = run_cases[i].op == NL_BATCH_ATTACH;
                NlBatch *b = NULL;
                NlError e = {};
                Scene sc;

                test_case("%s batch, %s", attach ? "attach" : "detach", run_cases[i].commit ? "commit" : "abort");
                scene_new(&sc);
                if (!attach)
                        attach_all(&sc);
                CHECK_OK(nl_batch_begin(sc.store, run_cases[i].op, &b, &e), &e);
                if (!b) {
                        scene_free(&sc);
                        continue;
                }
                CHECK_OK(stage_all(&sc, b, run_cases[i].op, -1), NULL);

                /* Staged: nothing changed on disk (new links are not
                 * pinned, old ones still are), and every link runs (the
                 * batch holds the new ones). */
                for (int k = 0; k < N_NS; k++) {
                        CHECK(pinned(&sc, k) == !attach, "staged: netns %d %s", k, attach ? "not pinned" : "still pinned");
                        CHECK_INT_EQ(attached(&sc, k), 1);
                }
                CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);

                if (run_cases[i].commit) {
                        CHECK_OK(nl_batch_commit(b, &e), &e);
                        nl_batch_free(b);
                } else
                        nl_batch_abort(b);
                check_state(&sc, run_cases[i].applied, "after");
                CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
                check_no_orphans(&sc, "after");
                CHECK_INT_EQ(nl_pin_store_recover(sc.store), 0);   /* nothing to repair */
                scene_free(&sc);
        }
        nl_batch_abort(NULL);
        nl_batch_free(NULL);
}

static void test_batch_errors(void) {
        NlBatch *b = NULL;
        NlError e = {};
        Scene sc;
        int fd, r;

        scene_new(&sc);

        /* The orphan check sees a link that only an fd holds. */
        test_case("orphan check works");
        fd = make_link(&sc, 2);
        CHECK_INT_EQ(count_orphans(&sc), 1);
        safe_close(fd);
        CHECK_INT_EQ(count_orphans(&sc), 0);

        test_case("detach batch: a link that does not exist");
        CHECK_OK(nl_batch_begin(sc.store, NL_BATCH_DETACH, &b, &e), &e);
        r = nl_batch_stage_move(b, sc.ino[0], NL_ATTACH_SK_LOOKUP, "l", &e);
        CHECK_ERR(r, &e, NL_ERR_NO_SUCH_LINK);
        CHECK_INT_EQ(r, -ENOENT);
        nl_batch_abort(b);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);

        test_case("attach batch: one name twice");
        CHECK_OK(nl_batch_begin(sc.store, NL_BATCH_ATTACH, &b, &e), &e);
        fd = make_link(&sc, 0);
        CHECK_OK(nl_batch_stage_pin(b, sc.ino[0], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e);
        safe_close(fd);
        fd = make_link(&sc, 0);
        CHECK_ERR(nl_batch_stage_pin(b, sc.ino[0], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e, NL_ERR_LINK_EXISTS);
        safe_close(fd);
        CHECK_INT_EQ(attached(&sc, 0), 1);     /* the refused link went with its fd */
        nl_batch_abort(b);
        CHECK_INT_EQ(attached(&sc, 0), 0);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);

        /* A name taken after staging fails the whole batch at commit:
         * the pin in place is kept, every link of the batch goes (the
         * first one was pinned already and is unpinned again), never two
         * links under one name. (Callers check names before they stage.) */
        test_case("attach batch: name taken before commit");
        CHECK_OK(nl_batch_begin(sc.store, NL_BATCH_ATTACH, &b, &e), &e);
        fd = make_link(&sc, 0);
        CHECK_OK(nl_batch_stage_pin(b, sc.ino[0], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e);
        safe_close(fd);
        fd = make_link(&sc, 1);
        CHECK_OK(nl_batch_stage_pin(b, sc.ino[1], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e);
        safe_close(fd);
        fd = make_link(&sc, 1);
        {
                NlLinkInfo keep = {}, now = {};
                nl_link_get_info(fd, false, &keep);
                CHECK_OK(nl_pin_store_pin(sc.store, sc.ino[1], NL_ATTACH_SK_LOOKUP, "l", fd, &e), &e);
                safe_close(fd);
                CHECK_ERR(nl_batch_commit(b, &e), &e, NL_ERR_LINK_EXISTS);
                CHECK_INT_EQ((int) nl_batch_failed(b), 1);
                nl_batch_abort(b);
                fd = nl_pin_store_get(sc.store, sc.ino[1], NL_ATTACH_SK_LOOKUP, "l");
                nl_link_get_info(fd, false, &now);
                CHECK_INT_EQ(now.link_id, keep.link_id);
                safe_close(fd);
        }
        CHECK(!pinned(&sc, 0), "the element pinned before the failure was unpinned");
        CHECK_INT_EQ(attached(&sc, 0), 0);
        CHECK_INT_EQ(attached(&sc, 1), 1);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
        check_no_orphans(&sc, "after the failed commit");

        test_case("a batch commits once");
        CHECK_OK(nl_batch_begin(sc.store, NL_BATCH_DETACH, &b, &e), &e);
        CHECK_OK(nl_batch_commit(b, &e), &e);           /* empty: nothing to do */
        CHECK_ERR(nl_batch_commit(b, &e), &e, NL_ERR_FAILED);
        nl_batch_free(b);

        scene_free(&sc);
}

/* ---- crashes ---- */

static const struct {
        NlBatchOp op;
        const char *point;      /* NETNSLINK_CRASH_AT; NULL: killed while staging */
        const char *left;       /* the batch folder the crash leaves */
        bool applied;           /* after recovery */
        int repaired;           /* nl_pin_store_recover()'s count */
} crash_cases[] = {
        /* killed while staging: nothing was written */
        { NL_BATCH_ATTACH, NULL, NULL, false, 0 },
        { NL_BATCH_ATTACH, "batch-midway", "attach-pending-", false, 1 },
        { NL_BATCH_ATTACH, "batch-before-commit", "attach-pending-", false, N_NS },
        { NL_BATCH_ATTACH, "batch-after-commit", NULL, true, 0 },
        { NL_BATCH_DETACH, NULL, NULL, true, 0 },
        { NL_BATCH_DETACH, "batch-before-commit", NULL, true, 0 },
        { NL_BATCH_DETACH, "batch-after-commit", "detach-commit--", false, N_NS },
        { NL_BATCH_DETACH, "batch-midway", "detach-commit--", false, N_NS - 1 },
        { NL_BATCH_DETACH, "batch-before-cleanup", "detach-commit--", false, 0 },
};

static void crash_child(Scene *sc, NlBatchOp op, const char *point) {
        NlBatch *b = NULL;
        NlError e = {};

        if (point)
                setenv("NETNSLINK_CRASH_AT", point, 1);
        if (nl_batch_begin(sc->store, op, &b, &e) < 0)
                _exit(2);
        stage_all(sc, b, op, point ? -1 : 2);
        nl_batch_commit(b, &e);
        _exit(3);       /* should not get here */
}

static void test_crashes(void) {
        for (size_t i = 0; i < ELEMENTSOF(crash_cases); i++) {
                bool attach = crash_cases[i].op == NL_BATCH_ATTACH;
                int status = 0;
                pid_t pid;
                Scene sc;

                test_case("crash: %s batch at %s", attach ? "attach" : "detach",
                          crash_cases[i].point ?: "staging");
                scene_new(&sc);
                if (!attach)
                        attach_all(&sc);

                pid = fork();
                if (pid == 0)
                        crash_child(&sc, crash_cases[i].op, crash_cases[i].point);
                CHECK(pid > 0, "fork");
                waitpid(pid, &status, 0);
                CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
                      "the batch died of SIGKILL (status 0x%x)", status);
                /* What the crash left: a journal, or nothing at all. */
                CHECK_INT_EQ(batch_dirs(&sc, NULL), crash_cases[i].left ? 1 : 0);
                if (crash_cases[i].left)
                        CHECK_INT_EQ(batch_dirs(&sc, crash_cases[i].left), 1);

                CHECK_INT_EQ(nl_pin_store_recover(sc.store), crash_cases[i].repaired);
                check_state(&sc, crash_cases[i].applied, "recovered");
                CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
                check_no_orphans(&sc, "recovered");
                CHECK_INT_EQ(nl_pin_store_recover(sc.store), 0);   /* once is enough */
                check_state(&sc, crash_cases[i].applied, "recovered twice");
                scene_free(&sc);
        }
}

/* Two crashed batches, one pending and one committed, repaired together. */
static void test_crashes_together(void) {
        Scene sc;
        int status;
        pid_t pid;

        test_case("crash: two batches left behind");
        scene_new(&sc);
        attach_all(&sc);
        /* A detach batch dies after its commit: the links must go. */
        pid = fork();
        if (pid == 0)
                crash_child(&sc, NL_BATCH_DETACH, "batch-after-commit");
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status), "first batch died");
        /* A second (attach) batch of other names dies before its commit:
         * its links, pinned already, must go too. */
        pid = fork();
        if (pid == 0) {
                NlBatch *b = NULL;
                NlError e = {};

                setenv("NETNSLINK_CRASH_AT", "batch-before-commit", 1);
                nl_batch_begin(sc.store, NL_BATCH_ATTACH, &b, &e);
                for (int i = 0; i < N_NS; i++) {
                        int fd = make_link(&sc, i);
                        nl_batch_stage_pin(b, sc.ino[i], NL_ATTACH_SK_LOOKUP, "m", fd, &e);
                        safe_close(fd);
                }
                nl_batch_commit(b, &e);
                _exit(3);
        }
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status), "second batch died");
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 2);
        for (int i = 0; i < N_NS; i++)
                CHECK(test_exists("%s/%" PRIu64 "/sk_lookup/m", sc.root, sc.ino[i]), "netns %d: m pinned", i);
        CHECK_INT_EQ(nl_pin_store_recover(sc.store), 2 * N_NS);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
        for (int i = 0; i < N_NS; i++) {
                CHECK(!pinned(&sc, i), "netns %d: l detached", i);
                CHECK(!test_exists("%s/%" PRIu64 "/sk_lookup/m", sc.root, sc.ino[i]), "netns %d: m undone", i);
                CHECK_INT_EQ(attached(&sc, i), 0);
        }
        check_no_orphans(&sc, "recovered");
        scene_free(&sc);
}

/* Batch folders an earlier version left (pins staged in a folder, nested
 * or flat) and journals that are not ours are repaired or removed too. */
static void test_recover_other_forms(void) {
        char dir[1024], path[1200];
        Scene sc;
        int fd;

        test_case("recovery: folders of earlier versions");
        scene_new(&sc);
        /* committed, nested: netns 0 and 1 go in place */
        snprintf(dir, sizeof(dir), "%s/attach-commit--0000000000000001", sc.root);
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/%" PRIu64 "/sk_lookup", dir, sc.ino[i]);
                CHECK_OK(nl_mkdir_p(path, 0700), NULL);
                snprintf(path, sizeof(path), "%s/%" PRIu64 "/sk_lookup/l", dir, sc.ino[i]);
                fd = make_link(&sc, i);
                CHECK_INT_EQ(bpf_obj_pin(fd, path), 0);
                safe_close(fd);
        }
        /* pending, flat: netns 2's link is undone */
        snprintf(dir, sizeof(dir), "%s/attach-pending-0000000000000002", sc.root);
        CHECK_OK(nl_mkdir_p(dir, 0700), NULL);
        snprintf(path, sizeof(path), "%s/%" PRIu64 "-sk_lookup-l", dir, sc.ino[2]);
        fd = make_link(&sc, 2);
        CHECK_INT_EQ(bpf_obj_pin(fd, path), 0);
        safe_close(fd);
        CHECK_INT_EQ(nl_pin_store_recover(sc.store), 3);
        CHECK(pinned(&sc, 0) && pinned(&sc, 1), "the committed ones are in place");
        CHECK_INT_EQ(attached(&sc, 0), 1);
        CHECK(!pinned(&sc, 2), "the pending one is not");
        CHECK_INT_EQ(attached(&sc, 2), 0);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
        check_no_orphans(&sc, "recovered");
        scene_free(&sc);

        test_case("recovery: a journal that is not one");
        scene_new(&sc);
        attach_all(&sc);
        /* a link pinned under a journal's name, and a map of the wrong shape */
        fd = make_link(&sc, 0);
        snprintf(path, sizeof(path), "%s/attach-pending-00000000000000aa", sc.root);
        CHECK_INT_EQ(bpf_obj_pin(fd, path), 0);
        safe_close(fd);
        fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "junk", 4, 8, 4, NULL);
        CHECK(fd >= 0, "map created");
        snprintf(path, sizeof(path), "%s/detach-commit--00000000000000bb", sc.root);
        CHECK_INT_EQ(bpf_obj_pin(fd, path), 0);
        safe_close(fd);
        /* earlier versions' folders whose entries are symlinks to the live
         * pins: never followed */
        snprintf(path, sizeof(path), "%s/attach-pending-00000000000000cc", sc.root);
        CHECK_OK(nl_mkdir_p(path, 0700), NULL);
        snprintf(path, sizeof(path), "%s/attach-pending-00000000000000cc/%" PRIu64, sc.root, sc.ino[0]);
        {
                char target[64];
                snprintf(target, sizeof(target), "../%" PRIu64, sc.ino[0]);
                CHECK_INT_EQ(symlink(target, path), 0);
        }
        snprintf(path, sizeof(path), "%s/detach-commit--00000000000000dd", sc.root);
        CHECK_OK(nl_mkdir_p(path, 0700), NULL);
        snprintf(path, sizeof(path), "%s/detach-commit--00000000000000dd/%" PRIu64 "-sk_lookup-l", sc.root, sc.ino[1]);
        {
                char target[64];
                snprintf(target, sizeof(target), "../%" PRIu64 "/sk_lookup/l", sc.ino[1]);
                CHECK_INT_EQ(symlink(target, path), 0);
        }
        CHECK_INT_EQ(nl_pin_store_recover(sc.store), 0);
        CHECK_INT_EQ(batch_dirs(&sc, NULL), 0);
        check_state(&sc, true, "the links in place are untouched");
        check_no_orphans(&sc, "recovered");
        scene_free(&sc);
}

static void run(void) {
        NlError e = {};
        int before;

        test_case("setup");
        cache = nl_prog_cache_new();
        CHECK_OK(nl_prog_load_elf_path(cache, TEST_OBJ_PROGS, "sk_pass", NL_ATTACH_SK_LOOKUP, &sk, &e), &e);
        before = test_count_fds();

        test_batches();
        test_batch_errors();
        test_crashes();
        test_crashes_together();
        test_recover_other_forms();

        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), before);
        nl_program_unref(sk);
        nl_prog_cache_free(cache);
}

int main(void) {
        return test_main("lib/test-batch", run);
}
