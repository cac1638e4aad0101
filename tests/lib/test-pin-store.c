/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pin store: opening a root, the layout, pin/get/unpin, scanning, and a
 * netns deleted under a pinned link. */
#include <bpf/bpf.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "link-ops.h"
#include "pin-store.h"
#include "prog-loader.h"
#include "test-util.h"

static NlProgCache *cache;
static NlProgram *sk, *flow;

static void setup(void) {
        NlError e = {};

        test_case("setup");
        cache = nl_prog_cache_new();
        CHECK_OK(nl_prog_load_elf_path(cache, TEST_OBJ_PROGS, "sk_pass", NL_ATTACH_SK_LOOKUP, &sk, &e), &e);
        CHECK_OK(nl_prog_load_elf_path(cache, TEST_OBJ_PROGS, "flow_ok", NL_ATTACH_FLOW_DISSECTOR, &flow, &e), &e);
}

static void teardown(void) {
        nl_program_unref(sk);
        nl_program_unref(flow);
        nl_prog_cache_free(cache);
}

/* A new link of the right test program in netns name; returns its fd. */
static int make_link(const char *name, NlAttachType type) {
        int nsfd = test_netns_fd(name), fd;
        NlError e = {};

        fd = nl_link_create(nl_program_fd(type == NL_ATTACH_SK_LOOKUP ? sk : flow), nsfd, type, &e);
        CHECK_OK(fd, &e);
        safe_close(nsfd);
        return fd;
}

static uint32_t link_id_of(int fd) {
        NlLinkInfo info = {};
        return nl_link_get_info(fd, false, &info) < 0 ? 0 : info.link_id;
}

/* ---- opening a root ---- */

#define ANY_ERROR ((NlErrorKind) -1)

enum root_base { BASE_NONE, BASE_BPFFS, BASE_TMPFS };

static const struct {
        enum root_base base;
        const char *path;       /* appended to the base */
        NlErrorKind kind;
        int error;
        const char *msg;
        const char *must_not_exist;     /* appended to the base */
} open_cases[] = {
        { BASE_BPFFS, "/store", NL_ERR_NONE, 0, NULL, NULL },
        { BASE_BPFFS, "/deep/er/store", NL_ERR_NONE, 0, NULL, NULL },
        { BASE_BPFFS, "", NL_ERR_NONE, 0, NULL, NULL },
        { BASE_BPFFS, "/store", NL_ERR_NONE, 0, NULL, NULL },   /* again: exists already */
        { BASE_NONE, NULL, NL_ERR_INVALID_ARGS, -EINVAL, "absolute", NULL },
        { BASE_NONE, "", NL_ERR_INVALID_ARGS, -EINVAL, "absolute", NULL },
        { BASE_NONE, "relative/store", NL_ERR_INVALID_ARGS, -EINVAL, "absolute", NULL },
        /* bpffs refuses the name; which error says so is the library's choice */
        { BASE_BPFFS, "/with.dot", ANY_ERROR, 0, NULL, "/with.dot" },
        { BASE_TMPFS, "/store", NL_ERR_FAILED, -ENOTSUP, "mount -t bpf", "/store" },
        { BASE_TMPFS, "/not/yet/there", NL_ERR_FAILED, -ENOTSUP, "is not bpffs", "/not" },
        { BASE_TMPFS, "", NL_ERR_FAILED, -ENOTSUP, "not on a BPF file system", NULL },
        { BASE_NONE, "/proc/netnslink-test", NL_ERR_FAILED, -ENOTSUP, "mount -t bpf", NULL },
};

static void test_open(void) {
        for (size_t i = 0; i < ELEMENTSOF(open_cases); i++) {
                const char *base = open_cases[i].base == BASE_BPFFS ? test_bpffs() :
                                   open_cases[i].base == BASE_TMPFS ? test_tmpdir() : "";
                char root[512];
                const char *arg = NULL;
                NlPinStore *s = NULL;
                NlError e = {};
                struct stat st;
                int r;

                if (open_cases[i].path) {
                        snprintf(root, sizeof(root), "%s%s", base, open_cases[i].path);
                        arg = root;
                }
                test_case("open #%zu '%s'", i, arg ?: "(null)");
                r = nl_pin_store_open(arg, &s, &e);
                if (open_cases[i].kind == NL_ERR_NONE) {
                        CHECK_OK(r, &e);
                        CHECK(s && strcmp(nl_pin_store_root(s), root) == 0, "root kept");
                        CHECK(stat(root, &st) == 0 && S_ISDIR(st.st_mode), "root is a folder");
                } else {
                        if (open_cases[i].kind == ANY_ERROR)
                                CHECK(r < 0 && e.kind != NL_ERR_NONE && e.message[0], "refused: %d", r);
                        else
                                CHECK_ERR(r, &e, open_cases[i].kind);
                        if (open_cases[i].error)
                                CHECK_INT_EQ(r, open_cases[i].error);
                        CHECK(s == NULL, "no store");
                        if (open_cases[i].msg)
                                CHECK_CONTAINS(e.message, open_cases[i].msg);
                        if (open_cases[i].must_not_exist)
                                CHECK(!test_exists("%s%s", base, open_cases[i].must_not_exist),
                                      "nothing made on the wrong file system");
                }
                nl_pin_store_free(s);
        }
        nl_pin_store_free(NULL);
}

/* ---- layout ---- */

static void test_paths(void) {
        _cleanup_(nl_pin_store_freep) NlPinStore *s = NULL;
        char root[512], want[600], buf[600], small[8];
        NlError e = {};

        test_case("paths");
        snprintf(root, sizeof(root), "%s/paths", test_bpffs());
        CHECK_OK(nl_pin_store_open(root, &s, &e), &e);
        if (!s)
                return;
        CHECK_OK(nl_pin_path(s, 4026532000ULL, NL_ATTACH_SK_LOOKUP, "web", buf, sizeof(buf)), NULL);
        snprintf(want, sizeof(want), "%s/4026532000/sk_lookup/web", root);
        CHECK_STR_EQ(buf, want);
        CHECK_OK(nl_pin_path(s, 1, NL_ATTACH_FLOW_DISSECTOR, "f", buf, sizeof(buf)), NULL);
        snprintf(want, sizeof(want), "%s/1/flow_dissector/f", root);
        CHECK_STR_EQ(buf, want);
        CHECK_OK(nl_pin_netns_dir(s, 18446744073709551615ULL, buf, sizeof(buf)), NULL);
        snprintf(want, sizeof(want), "%s/18446744073709551615", root);
        CHECK_STR_EQ(buf, want);
        CHECK_OK(nl_pin_steer_dir(s, 4026532000ULL, "web", buf, sizeof(buf)), NULL);
        snprintf(want, sizeof(want), "%s/4026532000/steer/web", root);
        CHECK_STR_EQ(buf, want);
        CHECK_OK(nl_pin_steer_dir(s, 4026532000ULL, NULL, buf, sizeof(buf)), NULL);
        snprintf(want, sizeof(want), "%s/4026532000/steer", root);
        CHECK_STR_EQ(buf, want);
        CHECK_INT_EQ(nl_pin_path(s, 1, NL_ATTACH_SK_LOOKUP, "web", small, sizeof(small)), -ENAMETOOLONG);
        CHECK_INT_EQ(nl_pin_netns_dir(s, 1, small, sizeof(small)), -ENAMETOOLONG);
        CHECK_INT_EQ(nl_pin_steer_dir(s, 1, "web", small, sizeof(small)), -ENAMETOOLONG);
}

/* Each store remembers the folders it made, apart from any other: two on
 * one root (as a daemon and a tool) each stay right when the other prunes
 * a folder the first believed in. */
static void test_two_stores(void) {
        _cleanup_(nl_pin_store_freep) NlPinStore *a = NULL, *b = NULL;
        char root[512], ns[TEST_NETNS_NAME_MAX];
        uint64_t ino;
        NlError e = {};
        int l;

        test_case("two stores on one root");
        snprintf(root, sizeof(root), "%s/two", test_bpffs());
        CHECK_OK(nl_pin_store_open(root, &a, &e), &e);
        CHECK_OK(nl_pin_store_open(root, &b, &e), &e);
        CHECK_OK(test_netns_add(ns), NULL);
        ino = test_netns_ino(ns);
        if (!a || !b)
                return;
        l = make_link(ns, NL_ATTACH_SK_LOOKUP);
        CHECK_OK(nl_pin_store_pin(a, ino, NL_ATTACH_SK_LOOKUP, "x", l, &e), &e);
        CHECK_INT_EQ(nl_pin_store_unpin(b, ino, NL_ATTACH_SK_LOOKUP, "x"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ino), "the other store pruned the netns folder");
        CHECK_OK(nl_pin_store_pin(a, ino, NL_ATTACH_SK_LOOKUP, "y", l, &e), &e);
        CHECK(test_exists("%s/%" PRIu64 "/sk_lookup/y", root, ino), "the first store made it again");
        CHECK_OK(nl_pin_store_pin(b, ino, NL_ATTACH_SK_LOOKUP, "z", l, &e), &e);
        CHECK_INT_EQ(nl_pin_store_unpin(a, ino, NL_ATTACH_SK_LOOKUP, "y"), 0);
        CHECK_INT_EQ(nl_pin_store_unpin(a, ino, NL_ATTACH_SK_LOOKUP, "z"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ino), "pruned");
        safe_close(l);
        test_netns_del(ns);
}

/* ---- pin, get, unpin ---- */

static void test_pin_get_unpin(void) {
        _cleanup_(nl_pin_store_freep) NlPinStore *s = NULL;
        char root[512], ns[TEST_NETNS_NAME_MAX], path[600];
        uint64_t ino;
        uint32_t l1_id, lf_id;
        int l1, l2, lf, fd, nsfd;
        NlError e = {};
        struct stat st;

        test_case("pin: setup");
        snprintf(root, sizeof(root), "%s/pins", test_bpffs());
        CHECK_OK(nl_pin_store_open(root, &s, &e), &e);
        CHECK_OK(test_netns_add(ns), NULL);
        ino = test_netns_ino(ns);
        nsfd = test_netns_fd(ns);
        if (!s || nsfd < 0)
                return;
        l1 = make_link(ns, NL_ATTACH_SK_LOOKUP);
        l2 = make_link(ns, NL_ATTACH_SK_LOOKUP);
        lf = make_link(ns, NL_ATTACH_FLOW_DISSECTOR);
        l1_id = link_id_of(l1);
        lf_id = link_id_of(lf);

        test_case("pin");
        CHECK_OK(nl_pin_store_pin(s, ino, NL_ATTACH_SK_LOOKUP, "web", l1, &e), &e);
        nl_pin_path(s, ino, NL_ATTACH_SK_LOOKUP, "web", path, sizeof(path));
        CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode), "%s is a pin", path);
        CHECK(test_exists("%s/%" PRIu64 "/sk_lookup", root, ino), "<root>/<ino>/<type>/ made");

        test_case("pin: duplicate name");
        CHECK_ERR(nl_pin_store_pin(s, ino, NL_ATTACH_SK_LOOKUP, "web", l2, &e), &e, NL_ERR_LINK_EXISTS);
        CHECK_CONTAINS(e.message, "'web'");
        fd = nl_pin_store_get(s, ino, NL_ATTACH_SK_LOOKUP, "web");
        CHECK(fd >= 0, "get: %d", fd);
        CHECK_INT_EQ(link_id_of(fd), l1_id);   /* still the first link */
        safe_close(fd);

        test_case("pin: same name, other type or netns");
        CHECK_OK(nl_pin_store_pin(s, ino, NL_ATTACH_FLOW_DISSECTOR, "web", lf, &e), &e);
        CHECK_OK(nl_pin_store_pin(s, ino + 1, NL_ATTACH_SK_LOOKUP, "web", l2, &e), &e);
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino + 1, NL_ATTACH_SK_LOOKUP, "web"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ino + 1), "its netns folder pruned");

        test_case("pin: bad fd");
        CHECK_ERR(nl_pin_store_pin(s, ino, NL_ATTACH_SK_LOOKUP, "badfd", -1, &e), &e, NL_ERR_FAILED);
        CHECK(!test_exists("%s/%" PRIu64 "/sk_lookup/badfd", root, ino), "no pin left");

        test_case("get");
        CHECK_INT_EQ(nl_pin_store_get(s, ino, NL_ATTACH_SK_LOOKUP, "nope"), -ENOENT);
        CHECK_INT_EQ(nl_pin_store_get(s, ino + 7, NL_ATTACH_SK_LOOKUP, "web"), -ENOENT);
        fd = nl_pin_store_get(s, ino, NL_ATTACH_FLOW_DISSECTOR, "web");
        CHECK_INT_EQ(link_id_of(fd), lf_id);
        safe_close(fd);

        test_case("pins keep links running without fds");
        safe_close(l1);
        safe_close(l2);
        safe_close(lf);
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_SK_LOOKUP), 1);    /* l2 was never pinned here */
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_FLOW_DISSECTOR), 1);

        test_case("unpin");
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino, NL_ATTACH_SK_LOOKUP, "web"), 0);
        CHECK(!test_exists("%s", path), "pin gone");
        CHECK(!test_exists("%s/%" PRIu64 "/sk_lookup", root, ino), "empty type folder pruned");
        CHECK(test_exists("%s/%" PRIu64 "/flow_dissector", root, ino), "other type folder kept");
        CHECK_INT_EQ(test_wait_prog_count(nsfd, BPF_SK_LOOKUP, 0, 5000), 0);    /* the link went with its pin */
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino, NL_ATTACH_SK_LOOKUP, "web"), -ENOENT);
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino, NL_ATTACH_FLOW_DISSECTOR, "web"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ino), "empty netns folder pruned");
        CHECK(test_exists("%s", root), "the root stays");
        CHECK_INT_EQ(test_wait_prog_count(nsfd, BPF_FLOW_DISSECTOR, 0, 5000), 0);

        test_case("unpin keeps a folder that is not empty");
        l1 = make_link(ns, NL_ATTACH_SK_LOOKUP);
        CHECK_OK(nl_pin_store_pin(s, ino, NL_ATTACH_SK_LOOKUP, "a", l1, &e), &e);
        CHECK_OK(nl_pin_store_pin(s, ino, NL_ATTACH_SK_LOOKUP, "b", l1, &e), &e);
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino, NL_ATTACH_SK_LOOKUP, "a"), 0);
        CHECK(test_exists("%s/%" PRIu64 "/sk_lookup/b", root, ino), "sibling pin kept");
        CHECK_INT_EQ(nl_pin_store_unpin(s, ino, NL_ATTACH_SK_LOOKUP, "b"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ino), "then pruned");
        safe_close(l1);

        safe_close(nsfd);
        test_netns_del(ns);
}

/* ---- scan ---- */

#define MAX_SEEN 32
struct seen {
        size_t n;
        struct {
                uint64_t ino;
                NlAttachType type;
                char name[128];
                NlPinState state;
                char reason[160];
                bool fd_open;
                NlLinkInfo info;
        } e[MAX_SEEN];
        const char *take;       /* the callback keeps this entry's fd */
        int taken_fd;
        int stop_with;          /* return this from the first call */
};

static int scan_cb(NlPinEntry *entry, void *userdata, NlError *e) {
        struct seen *s = userdata;

        if (s->n < MAX_SEEN) {
                s->e[s->n].ino = entry->ino;
                s->e[s->n].type = entry->type;
                snprintf(s->e[s->n].name, sizeof(s->e[s->n].name), "%s", entry->name);
                s->e[s->n].state = entry->state;
                snprintf(s->e[s->n].reason, sizeof(s->e[s->n].reason), "%s", entry->reason);
                s->e[s->n].fd_open = entry->link_fd >= 0 && fcntl(entry->link_fd, F_GETFD) >= 0;
                s->e[s->n].info = entry->info;
                CHECK(strstr(entry->path, entry->name) != NULL, "path %s names %s", entry->path, entry->name);
        }
        s->n++;
        if (s->take && strcmp(entry->name, s->take) == 0) {
                s->taken_fd = entry->link_fd;
                entry->link_fd = -EBADF;
        }
        return s->stop_with;
}

/* Pins fd at <root>/<the rest>, making the folders on the way (those there
 * already stay as they are). */
__attribute__((format(printf, 3, 4)))
static void pin_at(int fd, const char *root, const char *fmt, ...) {
        char path[700];
        size_t n = (size_t) snprintf(path, sizeof(path), "%s/", root);
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(path + n, sizeof(path) - n, fmt, ap);
        va_end(ap);
        for (char *p = strchr(path + n, '/'); p; p = strchr(p + 1, '/')) {
                *p = 0;
                (void) mkdir(path, 0700);
                *p = '/';
        }
        CHECK_INT_EQ(bpf_obj_pin(fd, path), 0);
}

static const char *const state_names[] = { "OK", "DEFUNCT", "BAD" };

static void test_scan(void) {
        _cleanup_(nl_pin_store_freep) NlPinStore *s = NULL;
        char root[512], a[TEST_NETNS_NAME_MAX], b[TEST_NETNS_NAME_MAX], c[TEST_NETNS_NAME_MAX], path[700];
        uint64_t ia, ib, ic;
        int l, nsa, nsb, before;
        uint32_t ok_id, gone_id;
        NlError e = {};
        struct seen seen = {};

        test_case("scan: setup");
        snprintf(root, sizeof(root), "%s/scan", test_bpffs());
        CHECK_OK(nl_pin_store_open(root, &s, &e), &e);
        if (!s)
                return;

        /* An empty store scans to nothing. */
        CHECK_INT_EQ(nl_pin_store_scan(s, scan_cb, &seen, &e), 0);
        CHECK_INT_EQ(seen.n, 0);

        CHECK_OK(test_netns_add(a), NULL);
        CHECK_OK(test_netns_add(b), NULL);
        CHECK_OK(test_netns_add(c), NULL);
        ia = test_netns_ino(a);
        ib = test_netns_ino(b);
        ic = test_netns_ino(c);

        /* OK: live links of both types. */
        l = make_link(a, NL_ATTACH_SK_LOOKUP);
        ok_id = link_id_of(l);
        CHECK_OK(nl_pin_store_pin(s, ia, NL_ATTACH_SK_LOOKUP, "ok1", l, &e), &e);
        safe_close(l);
        l = make_link(a, NL_ATTACH_FLOW_DISSECTOR);
        CHECK_OK(nl_pin_store_pin(s, ia, NL_ATTACH_FLOW_DISSECTOR, "okf", l, &e), &e);
        safe_close(l);

        /* DEFUNCT: detached under its pin. */
        l = make_link(a, NL_ATTACH_SK_LOOKUP);
        CHECK_OK(nl_pin_store_pin(s, ia, NL_ATTACH_SK_LOOKUP, "detached", l, &e), &e);
        CHECK_OK(nl_link_detach(l, &e), &e);
        safe_close(l);

        /* DEFUNCT: its netns deleted. */
        l = make_link(b, NL_ATTACH_SK_LOOKUP);
        gone_id = link_id_of(l);
        CHECK_OK(nl_pin_store_pin(s, ib, NL_ATTACH_SK_LOOKUP, "gone", l, &e), &e);
        safe_close(l);

        /* BAD: a name the store would never make. */
        l = make_link(a, NL_ATTACH_SK_LOOKUP);
        pin_at(l, root, "%" PRIu64 "/sk_lookup/bad+name", ia);
        safe_close(l);
        /* BAD: a program, not a link. */
        pin_at(nl_program_fd(sk), root, "%" PRIu64 "/sk_lookup/a-prog", ia);
        /* BAD: a flow_dissector link in the sk_lookup folder. */
        l = make_link(c, NL_ATTACH_FLOW_DISSECTOR);
        pin_at(l, root, "%" PRIu64 "/sk_lookup/wrongtype", ic);
        safe_close(l);
        /* BAD: a link of netns a in netns c's folder. */
        l = make_link(a, NL_ATTACH_SK_LOOKUP);
        pin_at(l, root, "%" PRIu64 "/sk_lookup/elsewhere", ic);
        safe_close(l);
        /* BAD: a folder where a pin should be. */
        snprintf(path, sizeof(path), "%s/%" PRIu64 "/sk_lookup/a-folder", root, ia);
        CHECK_INT_EQ(mkdir(path, 0700), 0);

        /* Not looked at: folders that are not <ino>/<type>, steer map folders, batches. */
        l = make_link(a, NL_ATTACH_SK_LOOKUP);
        static const char *const ignored[] = {
                "notanumber", "0", "0123", "-1", "12x", "attach-pending-00000000000000aa",
        };
        for (size_t i = 0; i < ELEMENTSOF(ignored); i++)
                pin_at(l, root, "%s/sk_lookup/x", ignored[i]);
        pin_at(l, root, "%" PRIu64 "/" NL_STEER_DIR "/ok1/a_map_pin", ia);
        pin_at(l, root, "%" PRIu64 "/xdp/x", ia);
        safe_close(l);

        test_case("scan: netns deleted under a pinned link");
        nsb = test_netns_fd(b);
        CHECK_INT_EQ(test_netns_prog_count(nsb, BPF_SK_LOOKUP), 1);
        safe_close(nsb);
        CHECK_OK(test_netns_del(b), NULL);
        CHECK(test_wait_link_defunct(l = nl_pin_store_get(s, ib, NL_ATTACH_SK_LOOKUP, "gone"), 30000),
              "the link's netns_ino reads 0 once its netns is gone");
        {
                NlLinkInfo info = {};
                CHECK_OK(nl_link_get_info(l, true, &info), NULL);
                CHECK_INT_EQ(info.netns_ino, 0);
                CHECK_INT_EQ(info.link_id, gone_id);
                CHECK_STR_EQ(info.prog_name, "sk_pass");
        }
        safe_close(l);
        CHECK(test_exists("%s/%" PRIu64 "/sk_lookup/gone", root, ib), "its pin stays");

        test_case("scan");
        static const struct {
                int which;      /* 0 a, 1 b, 2 c */
                NlAttachType type;
                const char *name;
                NlPinState state;
                const char *reason;     /* for BAD: what the reason says */
        } want[] = {
                { 0, NL_ATTACH_SK_LOOKUP, "ok1", NL_PIN_OK, NULL },
                { 0, NL_ATTACH_FLOW_DISSECTOR, "okf", NL_PIN_OK, NULL },
                { 0, NL_ATTACH_SK_LOOKUP, "detached", NL_PIN_DEFUNCT, NULL },
                { 1, NL_ATTACH_SK_LOOKUP, "gone", NL_PIN_DEFUNCT, NULL },
                { 0, NL_ATTACH_SK_LOOKUP, "bad+name", NL_PIN_BAD, "not a link name" },
                { 0, NL_ATTACH_SK_LOOKUP, "a-prog", NL_PIN_BAD, "a pinned BPF object that is not a link" },
                { 2, NL_ATTACH_SK_LOOKUP, "wrongtype", NL_PIN_BAD, "a flow_dissector link, in the sk_lookup folder" },
                { 2, NL_ATTACH_SK_LOOKUP, "elsewhere", NL_PIN_BAD, "a link of netns " },
                { 0, NL_ATTACH_SK_LOOKUP, "a-folder", NL_PIN_BAD, "a folder, not a pin" },
        };
        uint64_t inos[3] = { ia, ib, ic };

        before = test_count_fds();
        seen = (struct seen) { .take = "ok1", .taken_fd = -EBADF };
        CHECK_INT_EQ(nl_pin_store_scan(s, scan_cb, &seen, &e), 0);
        CHECK_INT_EQ(seen.n, ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                int found = 0;

                test_case("scan: %s", want[i].name);
                for (size_t k = 0; k < seen.n && k < MAX_SEEN; k++) {
                        if (strcmp(seen.e[k].name, want[i].name) != 0 || seen.e[k].ino != inos[want[i].which] ||
                            seen.e[k].type != want[i].type)
                                continue;
                        found++;
                        CHECK(seen.e[k].state == want[i].state, "state %s, expected %s",
                              state_names[seen.e[k].state], state_names[want[i].state]);
                        if (want[i].state != NL_PIN_BAD)
                                CHECK(seen.e[k].fd_open, "the link fd is open for the callback");
                        if (want[i].state == NL_PIN_OK) {
                                CHECK_INT_EQ(seen.e[k].info.netns_ino, seen.e[k].ino);
                                CHECK_INT_EQ(seen.e[k].info.attach_type, want[i].type);
                                CHECK(seen.e[k].info.link_id > 0, "link id");
                        }
                        if (want[i].state == NL_PIN_DEFUNCT)
                                CHECK_INT_EQ(seen.e[k].info.netns_ino, 0);
                        if (want[i].state == NL_PIN_BAD)
                                CHECK_CONTAINS(seen.e[k].reason, want[i].reason);
                        else
                                CHECK_STR_EQ(seen.e[k].reason, "");
                }
                CHECK_INT_EQ(found, 1);
        }

        test_case("scan: the callback may keep an fd");
        CHECK(seen.taken_fd >= 0 && fcntl(seen.taken_fd, F_GETFD) >= 0, "the taken fd stays open");
        CHECK_INT_EQ(link_id_of(seen.taken_fd), ok_id);
        safe_close(seen.taken_fd);
        CHECK_INT_EQ(test_count_fds(), before);

        test_case("scan: a negative return stops it");
        seen = (struct seen) { .stop_with = -ECANCELED };
        CHECK_INT_EQ(nl_pin_store_scan(s, scan_cb, &seen, &e), -ECANCELED);
        CHECK_INT_EQ(seen.n, 1);
        CHECK_INT_EQ(test_count_fds(), before);

        /* Out of fds at each step the scan takes: it must stop, naming
         * what it could not read, rather than skip it. */
        static const struct {
                int spare;              /* fds the scan may open */
                const char *what;
        } starved[] = {
                { 0, "Cannot read folder" },
                { 1, "Cannot read folder" },
                { 2, "Cannot read pin" },
        };
        for (size_t i = 0; i < ELEMENTSOF(starved); i++) {
                struct rlimit old, rl;
                char msg[700];
                int free_fd = dup(0), r;

                test_case("scan: with %d fd(s) to spare it stops, naming what it could not read", starved[i].spare);
                safe_close(free_fd);
                CHECK_INT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
                rl = old;
                rl.rlim_cur = (rlim_t) free_fd + (rlim_t) starved[i].spare;
                CHECK_INT_EQ(setrlimit(RLIMIT_NOFILE, &rl), 0);
                seen = (struct seen) {};
                r = nl_pin_store_scan(s, scan_cb, &seen, &e);
                CHECK_INT_EQ(setrlimit(RLIMIT_NOFILE, &old), 0);
                CHECK_INT_EQ(r, -EMFILE);
                snprintf(msg, sizeof(msg), "%s %s", starved[i].what, root);
                CHECK_CONTAINS(e.message, msg);
                CHECK_CONTAINS(e.message, "Too many open files; the scan of the pin root is incomplete");
                CHECK_INT_EQ(test_count_fds(), before);
        }

        test_case("scan: a DEFUNCT link can still be detached and unpinned");
        l = nl_pin_store_get(s, ib, NL_ATTACH_SK_LOOKUP, "gone");
        CHECK_OK(nl_link_detach(l, &e), &e);
        safe_close(l);
        CHECK_INT_EQ(nl_pin_store_unpin(s, ib, NL_ATTACH_SK_LOOKUP, "gone"), 0);
        CHECK(!test_exists("%s/%" PRIu64, root, ib), "its netns folder pruned");

        test_case("rm_rf");
        nsa = test_netns_fd(a);
        CHECK(test_netns_prog_count(nsa, BPF_SK_LOOKUP) > 0, "pinned links attached before");
        CHECK_INT_EQ(nl_pin_rm_rf(root), 0);
        CHECK(!test_exists("%s", root), "the whole tree is gone");
        CHECK_INT_EQ(nl_pin_rm_rf(root), 0);      /* already gone: fine */
        CHECK_INT_EQ(test_wait_prog_count(nsa, BPF_SK_LOOKUP, 0, 5000), 0);
        safe_close(nsa);

        test_netns_del(a);
        test_netns_del(c);
}

static void test_folder_parse(void) {
        static const struct {
                const char *name;
                uint64_t ino;   /* 0: not a netns folder */
        } cases[] = {
                { "4026531840", 4026531840ULL }, { "1", 1 }, { "0", 0 }, { "007", 0 }, { "+5", 0 },
                { " 5", 0 }, { "5x", 0 }, { "", 0 }, { "steer", 0 }, { "99999999999999999999999", 0 },
                { "attach-pending-00000000000000aa", 0 },
        };

        test_case("netns folder names");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t ino = 0;
                bool ok = nl_pin_netns_folder_parse(cases[i].name, &ino);

                CHECK(ok == (cases[i].ino != 0), "'%s' %s a netns folder", cases[i].name,
                      cases[i].ino ? "is" : "is not");
                if (ok)
                        CHECK_INT_EQ(ino, cases[i].ino);
        }
}

/* mkdir -p while another process removes the empty parent now and then,
 * as the daemon prunes a netns folder while a loader child makes steer
 * maps in it: every call must still succeed. */
static void test_mkdir_race(void) {
        char parent[512], leaf[600];
        int failures = 0, made = 0;
        pid_t pid;

        test_case("mkdir -p racing with rmdir of its parent");
        snprintf(parent, sizeof(parent), "%s/race/p", test_bpffs());
        snprintf(leaf, sizeof(leaf), "%s/c", parent);
        pid = fork();
        if (pid == 0) {
                for (;;) {
                        (void) rmdir(parent);
                        usleep(20);
                }
        }
        CHECK(pid > 0, "fork");
        for (int i = 0; i < 3000; i++) {
                if (nl_mkdir_p(leaf, 0700) < 0)
                        failures++;
                else if (rmdir(leaf) == 0)
                        made++;
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        CHECK_INT_EQ(failures, 0);
        CHECK_INT_EQ(made, 3000);
}

static void run(void) {
        int before;

        setup();
        before = test_count_fds();
        test_open();
        test_case("fds after open");
        CHECK_INT_EQ(test_count_fds(), before);
        test_paths();
        test_pin_get_unpin();
        test_two_stores();
        test_case("fds after pin/get/unpin");
        CHECK_INT_EQ(test_count_fds(), before);
        test_scan();
        test_mkdir_race();
        test_folder_parse();
        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), before);
        teardown();
}

int main(void) {
        return test_main("lib/test-pin-store", run);
}
