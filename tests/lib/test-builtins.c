/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The built-in programs: lookup by name, loading from the embedded
 * skeletons, per-link pinned maps for steer, sharing for flow, attaching. */
#include <bpf/bpf.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

#include "builtin-marks.h"
#include "builtins.h"
#include "pin-store.h"
#include "link-ops.h"
#include "test-util.h"

static void test_lookup(void) {
        static const struct {
                const char *name;
                NlAttachType type;
                bool per_link;
                const char *prog_name;
        } want[] = {
                { "steer", NL_ATTACH_SK_LOOKUP, true, "steer_lookup" },
                { "flow", NL_ATTACH_FLOW_DISSECTOR, false, "flow_dissect" },
        };
        const NlBuiltin *all;
        size_t n = 0;

        all = nl_builtin_all(&n);
        test_case("builtin list");
        CHECK_INT_EQ(n, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                const NlBuiltin *b = nl_builtin_find(want[i].name);

                test_case("builtin %s", want[i].name);
                if (!CHECK(b, "found"))
                        continue;
                CHECK_STR_EQ(b->name, want[i].name);
                CHECK_INT_EQ(b->type, want[i].type);
                CHECK_INT_EQ(b->per_link, want[i].per_link);
                CHECK(b->description && *b->description, "described");
                CHECK_STR_EQ(b->prog_name, want[i].prog_name);
                {
                        char source[32];
                        snprintf(source, sizeof(source), "builtin:%s", want[i].name);
                        CHECK(nl_builtin_from_source(source) == b, "named by its source %s", source);
                }
                CHECK(b == &all[i], "in the list");
        }
        test_case("builtin lookups that fail");
        CHECK(nl_builtin_find("nope") == NULL, "nope");
        CHECK(nl_builtin_find("") == NULL, "empty");
        CHECK(nl_builtin_find(NULL) == NULL, "NULL");
        CHECK(nl_builtin_find("Steer") == NULL, "case matters");
        /* Only the daemon's own source tag names one, never a program's name. */
        static const char *const not_sources[] = { "steer", "steer_lookup", "flow_dissect", "builtin:", "builtin:nope",
                                                   "sha256:0123:steer_lookup", "" };
        for (size_t i = 0; i < ELEMENTSOF(not_sources); i++)
                CHECK(nl_builtin_from_source(not_sources[i]) == NULL, "'%s' names no builtin", not_sources[i]);
        CHECK(nl_builtin_from_source(NULL) == NULL, "NULL");
}

static const struct {
        const char *name;
        NlAttachType type;
        bool with_map_dir;
        NlErrorKind kind;
        int error;
} load_errors[] = {
        { "steer", NL_ATTACH_FLOW_DISSECTOR, true, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE },
        { "flow", NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE },
        { "nope", NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -ENOENT },
        { "", NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -ENOENT },
        { NULL, NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -ENOENT },
        { "STEER", NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -ENOENT },
        { "builtin:steer", NL_ATTACH_SK_LOOKUP, true, NL_ERR_INVALID_PROGRAM, -ENOENT },
        { "steer", NL_ATTACH_SK_LOOKUP, false, NL_ERR_FAILED, -EINVAL },
};

static void test_load_errors(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        char map_dir[512];

        snprintf(map_dir, sizeof(map_dir), "%s/errors/maps", test_bpffs());
        for (size_t i = 0; i < ELEMENTSOF(load_errors); i++) {
                NlProgram *p = NULL;
                NlError e = {};
                int r;

                test_case("builtin '%s' as %s%s", load_errors[i].name ?: "(null)",
                          nl_attach_type_to_string(load_errors[i].type),
                          load_errors[i].with_map_dir ? "" : " without map folder");
                r = nl_builtin_load(c, load_errors[i].name, load_errors[i].type,
                                    load_errors[i].with_map_dir ? map_dir : NULL, &p, &e);
                CHECK_ERR(r, &e, load_errors[i].kind);
                CHECK_INT_EQ(r, load_errors[i].error);
                CHECK(p == NULL, "nothing returned");
        }
        test_case("builtin: refused loads make no map folder");
        CHECK(!test_exists("%s", map_dir), "%s not made", map_dir);

        /* What a loader child runs: a folder the daemon tidied away while
         * the child lived is an error, never made again by the child. */
        test_case("builtin: a load into a folder that is gone");
        {
                NlError e = {};
                int fd = nl_builtin_load_fd("steer", NL_ATTACH_SK_LOOKUP, map_dir, NL_MAPS_PIN, &e);

                CHECK_ERR(fd, &e, NL_ERR_FAILED);
                CHECK(strstr(e.message, map_dir) != NULL, "message names the folder: %s", e.message);
                CHECK(!test_exists("%s", map_dir), "%s not made", map_dir);
                if (fd >= 0)
                        close(fd);
        }
}

/* The ids of the maps pinned in a folder, sorted by name (readdir order is
 * stable on one bpffs folder). */
static int pinned_map_ids(const char *dir, uint32_t *ids, int max) {
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d)) && n < max) {
                char path[1024];
                struct bpf_map_info info = {};
                __u32 len = sizeof(info);
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                fd = bpf_obj_get(path);
                if (fd < 0)
                        continue;
                if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
                        ids[n++] = info.id;
                safe_close(fd);
        }
        closedir(d);
        return n;
}

static bool prog_uses_map(int prog_fd, uint32_t map_id) {
        uint32_t map_ids[16];
        struct bpf_prog_info info = { .nr_map_ids = 16, .map_ids = (uintptr_t) map_ids };
        __u32 len = sizeof(info);

        if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) < 0)
                return false;
        for (uint32_t i = 0; i < info.nr_map_ids && i < 16; i++)
                if (map_ids[i] == map_id)
                        return true;
        return false;
}

static void test_steer(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        NlProgram *p1 = NULL, *p2 = NULL, *p3 = NULL;
        char dir1[512], dir2[512], ns[TEST_NETNS_NAME_MAX];
        uint32_t ids1[16], ids1b[16], ids2[16];
        int n1, n1b, n2, nsfd, link, used;
        NlError e = {};
        NlLinkInfo info;

        test_case("steer: load with a map folder");
        snprintf(dir1, sizeof(dir1), "%s/store/123/steer/web", test_bpffs());
        snprintf(dir2, sizeof(dir2), "%s/store/123/steer/other", test_bpffs());
        CHECK_OK(nl_builtin_load(c, "steer", NL_ATTACH_SK_LOOKUP, dir1, &p1, &e), &e);
        if (!p1)
                return;
        CHECK_STR_EQ(nl_program_name(p1), "steer_lookup");
        CHECK_STR_EQ(nl_program_source(p1), "builtin:steer");
        n1 = pinned_map_ids(dir1, ids1, 16);
        CHECK(n1 >= 1, "its maps are pinned in the folder (%d)", n1);
        /* (A map only user space touches is pinned but not in the program's list.) */
        used = 0;
        for (int i = 0; i < n1; i++)
                used += prog_uses_map(nl_program_fd(p1), ids1[i]);
        CHECK(used >= 1, "the program runs on the pinned maps (%d of %d)", used, n1);
        CHECK_INT_EQ(nl_prog_cache_loads(c), 0);   /* ELF loads only */

        test_case("steer: the same folder again reuses the maps");
        CHECK_OK(nl_builtin_load(c, "steer", NL_ATTACH_SK_LOOKUP, dir1, &p2, &e), &e);
        CHECK(p2 && p2 != p1, "a program of its own (per link)");
        n1b = pinned_map_ids(dir1, ids1b, 16);
        CHECK_INT_EQ(n1b, n1);
        for (int i = 0; i < n1 && i < n1b; i++) {
                CHECK_INT_EQ(ids1b[i], ids1[i]);
                CHECK(prog_uses_map(nl_program_fd(p2), ids1[i]) == prog_uses_map(nl_program_fd(p1), ids1[i]),
                      "both programs use pinned map %u alike", ids1[i]);
        }

        test_case("steer: another folder, other maps");
        CHECK_OK(nl_builtin_load(c, "steer", NL_ATTACH_SK_LOOKUP, dir2, &p3, &e), &e);
        n2 = pinned_map_ids(dir2, ids2, 16);
        CHECK_INT_EQ(n2, n1);
        for (int i = 0; i < n2 && i < n1; i++)
                CHECK(ids2[i] != ids1[i], "map %d differs", i);

        test_case("steer: attach");
        CHECK_OK(test_netns_add(ns), NULL);
        nsfd = test_netns_fd(ns);
        link = nl_link_create(nl_program_fd(p1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_OK(link, &e);
        CHECK_OK(nl_link_get_info(link, true, &info), NULL);
        CHECK_STR_EQ(info.prog_name, "steer_lookup");
        /* An update to the program loaded on the same maps keeps the state. */
        CHECK_OK(nl_link_update(link, nl_program_fd(p2), &e), &e);
        CHECK_OK(nl_link_get_info(link, false, &info), NULL);
        CHECK_INT_EQ(info.prog_id, nl_program_id(p2));
        safe_close(link);
        safe_close(nsfd);
        test_netns_del(ns);

        test_case("steer: a map folder off bpffs");
        {
                char bad[512];
                NlProgram *p = NULL;
                snprintf(bad, sizeof(bad), "%s/maps", test_tmpdir());
                CHECK(nl_builtin_load(c, "steer", NL_ATTACH_SK_LOOKUP, bad, &p, &e) < 0, "refused");
                CHECK_CONTAINS(e.message, "not on BPF FS");     /* refused for that reason */
                CHECK(p == NULL, "nothing returned");
        }

        nl_program_unref(p1);
        nl_program_unref(p2);
        nl_program_unref(p3);
        /* The pins outlive the programs. */
        CHECK_INT_EQ(pinned_map_ids(dir1, ids1b, 16), n1);
}

static void test_flow(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        NlProgram *p1 = NULL, *p2 = NULL;
        char ns[TEST_NETNS_NAME_MAX];
        NlError e = {};
        NlLinkInfo info;
        int nsfd, link;

        test_case("flow: load, shared");
        CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p1, &e), &e);
        CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, "/ignored", &p2, &e), &e);
        if (!p1 || !p2)
                return;
        CHECK(p1 == p2, "one program for every link");
        CHECK_STR_EQ(nl_program_name(p1), "flow_dissect");
        CHECK_STR_EQ(nl_program_source(p1), "builtin:flow");
        CHECK(!test_exists("/ignored"), "no map folder for a stateless builtin");

        test_case("flow: attach");
        CHECK_OK(test_netns_add(ns), NULL);
        nsfd = test_netns_fd(ns);
        link = nl_link_create(nl_program_fd(p1), nsfd, NL_ATTACH_FLOW_DISSECTOR, &e);
        CHECK_OK(link, &e);
        CHECK_OK(nl_link_get_info(link, true, &info), NULL);
        CHECK_STR_EQ(info.prog_name, "flow_dissect");
        CHECK_INT_EQ(info.attach_type, NL_ATTACH_FLOW_DISSECTOR);
        safe_close(link);
        safe_close(nsfd);
        test_netns_del(ns);

        test_case("flow: the cache keeps it between users");
        {
                uint32_t id = nl_program_id(p1);
                unsigned loads = nl_prog_cache_loads(c);
                NlProgram *p3 = NULL;

                nl_program_unref(p1);
                nl_program_unref(p2);
                CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &p3, &e), &e);
                CHECK(id > 0 && p3 && nl_program_id(p3) == id, "the same program (id %u) again", id);
                CHECK_INT_EQ(nl_prog_cache_loads(c), loads);
                nl_program_unref(p3);
        }
}

/* The record of built-in programs: marked by program id, found again by
 * another opener, pruned once the program is gone. */
static void test_marks(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        _cleanup_close_ int fd = -EBADF, fd2 = -EBADF, dup_fd = -EBADF;
        NlProgram *flow = NULL, *other = NULL;
        char root[512];
        uint32_t id;
        NlError e = {};

        test_case("marks: a root without them");
        CHECK_OK(test_bpffs_dir("marks", root, sizeof(root)), NULL);
        CHECK_INT_EQ(nl_builtin_marks_exist(root), 0);
        fd = nl_builtin_marks_open(root, &e);
        CHECK_OK(fd, &e);
        CHECK_INT_EQ(nl_builtin_marks_exist(root), 1);

        test_case("marks: mark and find");
        CHECK_OK(nl_builtin_load(c, "flow", NL_ATTACH_FLOW_DISSECTOR, NULL, &flow, &e), &e);
        CHECK_OK(nl_prog_load_elf_path(c, TEST_OBJ_PROGS, "flow_ok", NL_ATTACH_FLOW_DISSECTOR, &other, &e), &e);
        if (!flow || !other || fd < 0)
                return;
        id = nl_program_id(flow);
        CHECK(nl_builtin_marked(fd, id) == NULL, "not marked before");
        CHECK_OK(nl_builtin_mark(fd, id, nl_builtin_find("flow"), &e), &e);
        CHECK(nl_builtin_marked(fd, id) == nl_builtin_find("flow"), "marked flow");
        CHECK(nl_builtin_marked(fd, nl_program_id(other)) == NULL, "another program is not");
        fd2 = nl_builtin_marks_open(root, &e);
        CHECK_OK(fd2, &e);
        CHECK(nl_builtin_marked(fd2, id) == nl_builtin_find("flow"), "found through the pin");
        CHECK_OK(nl_builtin_mark(fd, nl_program_id(other), NULL, &e), &e);
        CHECK_OK(nl_builtin_mark(fd, id, NULL, &e), &e);
        CHECK(nl_builtin_marked(fd, id) == NULL, "cleared");
        CHECK_OK(nl_builtin_mark(fd, id, nl_builtin_find("flow"), &e), &e);

        test_case("marks: pruned once the program is gone, not before");
        CHECK_INT_EQ(nl_builtin_marks_prune(fd), 0);
        CHECK(nl_builtin_marked(fd, id) != NULL, "kept while it runs");
        nl_program_unref(other);
        nl_program_unref(flow);
        nl_prog_cache_free(TAKE_PTR(c));
        /* The kernel frees a program once its last fd is closed, after an RCU
         * grace period: wait for its id to go. */
        for (int i = 0; i < 200; i++) {
                _cleanup_close_ int pfd = bpf_prog_get_fd_by_id(id);
                if (pfd == -ENOENT)
                        break;
                usleep(10000);
        }
        CHECK_INT_EQ(nl_builtin_marks_prune(fd), 1);
        CHECK(nl_builtin_marked(fd, id) == NULL, "pruned");

        test_case("marks: a pin of another kind in their place is refused");
        CHECK_INT_EQ(nl_pin_rm_rf(root), 0);
        CHECK_OK(test_bpffs_dir("marks", root, sizeof(root)), NULL);
        {
                char path[600];
                dup_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "x", 4, 4, 1, NULL);
                snprintf(path, sizeof(path), "%s/" NL_BUILTIN_MARKS_NAME, root);
                CHECK_INT_EQ(bpf_obj_pin(dup_fd, path), 0);
                CHECK_ERR(nl_builtin_marks_open(root, &e), &e, NL_ERR_FAILED);
                CHECK_CONTAINS(e.message, "is not the daemon's record of built-in programs");
        }
}

static void run(void) {
        int before = test_count_fds();

        test_lookup();
        test_load_errors();
        test_steer();
        test_flow();
        test_marks();
        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), before);
}

int main(void) {
        return test_main("lib/test-builtins", run);
}
