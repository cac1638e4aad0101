/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Link operations on the real kernel: create, update, replace, detach,
 * info, and the kernel's per-netns limits. */
#include <bpf/bpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "link-ops.h"
#include "prog-loader.h"
#include "test-util.h"

/* The programs the cases name. */
enum prog { P_SK1, P_SK2, P_FLOW, P_XDP, P_BADFD, _P_MAX };
static const char *const prog_names[_P_MAX] = { "sk_pass", "sk_pass2", "flow_ok", "xdp(raw)", "fd -1" };

static NlProgCache *cache;
static NlProgram *progs[_P_MAX];
static int xdp_fd = -EBADF;

#define ANY_ERROR ((NlErrorKind) -1)

static int prog_fd(enum prog p) {
        if (p == P_XDP)
                return xdp_fd;
        if (p == P_BADFD)
                return -1;
        return nl_program_fd(progs[p]);
}

static uint32_t prog_id(enum prog p) {
        return progs[p] ? nl_program_id(progs[p]) : 0;
}

/* An XDP program straight from instructions: the library's loader refuses
 * to load it for a netns hook, but the kernel must refuse it too. */
static int load_raw_xdp(void) {
        struct bpf_insn insns[] = {
                { .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS },
                { .code = BPF_JMP | BPF_EXIT },
        };
        return bpf_prog_load(BPF_PROG_TYPE_XDP, "xdp_raw", "GPL", insns, ELEMENTSOF(insns), NULL);
}

static void setup(void) {
        static const struct { enum prog p; const char *name; NlAttachType type; } load[] = {
                { P_SK1, "sk_pass", NL_ATTACH_SK_LOOKUP },
                { P_SK2, "sk_pass2", NL_ATTACH_SK_LOOKUP },
                { P_FLOW, "flow_ok", NL_ATTACH_FLOW_DISSECTOR },
        };
        NlError e = {};

        test_case("setup");
        cache = nl_prog_cache_new();
        CHECK(cache, "cache");
        for (size_t i = 0; i < ELEMENTSOF(load); i++)
                CHECK_OK(nl_prog_load_elf_path(cache, TEST_OBJ_PROGS, load[i].name, load[i].type,
                                               &progs[load[i].p], &e), &e);
        xdp_fd = load_raw_xdp();
        CHECK(xdp_fd >= 0, "raw XDP program loads: %d", xdp_fd);
        CHECK(prog_id(P_SK1) != prog_id(P_SK2), "the two sk_lookup programs differ");
}

static void teardown(void) {
        for (int i = 0; i < _P_MAX; i++)
                nl_program_unref(progs[i]);
        nl_prog_cache_free(cache);
        safe_close(xdp_fd);
}

/* Makes a fresh netns and returns an open fd to it. */
static int fresh_netns(char name[TEST_NETNS_NAME_MAX]) {
        int r = test_netns_add(name);

        if (!CHECK(r >= 0, "netns add: %d", r))
                return -1;
        return test_netns_fd(name);
}

static const struct {
        enum prog prog;
        NlAttachType type;
        NlErrorKind kind;       /* NL_ERR_NONE: the link is made */
        bool bad_netns;         /* target an fd that is not a netns */
} create_cases[] = {
        { P_SK1, NL_ATTACH_SK_LOOKUP, NL_ERR_NONE, false },
        { P_SK2, NL_ATTACH_SK_LOOKUP, NL_ERR_NONE, false },
        { P_FLOW, NL_ATTACH_FLOW_DISSECTOR, NL_ERR_NONE, false },
        { P_SK1, NL_ATTACH_FLOW_DISSECTOR, NL_ERR_INVALID_PROGRAM, false },
        { P_FLOW, NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, false },
        { P_XDP, NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, false },
        { P_XDP, NL_ATTACH_FLOW_DISSECTOR, NL_ERR_INVALID_PROGRAM, false },
        { P_BADFD, NL_ATTACH_SK_LOOKUP, NL_ERR_FAILED, false },
        { P_SK1, NL_ATTACH_SK_LOOKUP, ANY_ERROR, true },
};

static void test_create(void) {
        for (size_t i = 0; i < ELEMENTSOF(create_cases); i++) {
                char name[TEST_NETNS_NAME_MAX];
                int nsfd = fresh_netns(name), fd, target;
                NlError e = {};
                NlLinkInfo info;

                test_case("create #%zu %s as %s", i, prog_names[create_cases[i].prog],
                          nl_attach_type_to_string(create_cases[i].type));
                target = create_cases[i].bad_netns ? open("/dev/null", O_RDONLY | O_CLOEXEC) : nsfd;
                fd = nl_link_create(prog_fd(create_cases[i].prog), target, create_cases[i].type, &e);
                if (create_cases[i].kind == NL_ERR_NONE) {
                        CHECK_OK(fd, &e);
                        CHECK_OK(nl_link_get_info(fd, true, &info), NULL);
                        CHECK_INT_EQ(info.prog_id, prog_id(create_cases[i].prog));
                        CHECK_INT_EQ(info.netns_ino, test_netns_ino(name));
                        CHECK_INT_EQ(info.attach_type, create_cases[i].type);
                        CHECK_STR_EQ(info.prog_name, prog_names[create_cases[i].prog]);
                        CHECK_INT_EQ(test_netns_prog_count(nsfd, nl_attach_type_to_bpf(create_cases[i].type)), 1);
                        safe_close(fd);
                        /* Unpinned, the link goes with its last fd. */
                        CHECK_INT_EQ(test_netns_prog_count(nsfd, nl_attach_type_to_bpf(create_cases[i].type)), 0);
                } else if (create_cases[i].kind == ANY_ERROR) {
                        CHECK(fd < 0 && e.kind != NL_ERR_NONE && e.message[0], "refused: %d %s", fd, e.message);
                } else {
                        CHECK_ERR(fd, &e, create_cases[i].kind);
                        CHECK_CONTAINS(e.message, nl_attach_type_to_string(create_cases[i].type));
                        CHECK_INT_EQ(test_netns_prog_count(nsfd, nl_attach_type_to_bpf(create_cases[i].type)), 0);
                }
                if (target != nsfd)
                        safe_close(target);
                safe_close(nsfd);
                test_netns_del(name);
        }
}

static bool is_hex16(const char *s) {
        return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

static void test_info(void) {
        char name[TEST_NETNS_NAME_MAX], tag[17], pname[16];
        int nsfd = fresh_netns(name), fd, pipefd[2];
        NlLinkInfo info, info2 = {};
        uint32_t ids[4], count = 4, id = 0;
        NlError e = {};

        test_case("info");
        fd = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_OK(fd, &e);
        CHECK_OK(nl_link_get_info(fd, true, &info), NULL);
        CHECK(info.link_id > 0, "link id %u", info.link_id);
        CHECK_INT_EQ(info.prog_id, prog_id(P_SK1));
        CHECK_INT_EQ(info.netns_ino, test_netns_ino(name));
        CHECK_INT_EQ(info.attach_type, NL_ATTACH_SK_LOOKUP);
        CHECK_STR_EQ(info.prog_name, "sk_pass");
        CHECK(is_hex16(info.prog_tag), "tag is 16 hex digits: '%s'", info.prog_tag);
        CHECK_STR_EQ(info.prog_tag, nl_program_tag(progs[P_SK1]));

        /* Without the program: no name, no tag, same ids. */
        memset(&info2, 0, sizeof(info2));
        CHECK_OK(nl_link_get_info(fd, false, &info2), NULL);
        CHECK_INT_EQ(info2.link_id, info.link_id);
        CHECK_INT_EQ(info2.prog_id, info.prog_id);
        CHECK_STR_EQ(info2.prog_name, "");

        /* The kernel's own view agrees. */
        CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_SK_LOOKUP, ids, &count), NULL);
        CHECK_INT_EQ(count, 1);
        CHECK_INT_EQ(ids[0], info.prog_id);
        count = 4;
        CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_FLOW_DISSECTOR, ids, &count), NULL);
        CHECK_INT_EQ(count, 0);

        test_case("describe");
        CHECK_OK(nl_prog_describe(info.prog_id, pname, tag), NULL);
        CHECK_STR_EQ(pname, "sk_pass");
        CHECK_STR_EQ(tag, info.prog_tag);
        CHECK_OK(nl_prog_fd_describe(prog_fd(P_SK2), &id, pname, tag), NULL);
        CHECK_INT_EQ(id, prog_id(P_SK2));
        CHECK_STR_EQ(pname, "sk_pass2");
        CHECK(is_hex16(tag) && strcmp(tag, info.prog_tag) != 0, "sk_pass2 has its own tag: %s", tag);
        CHECK_INT_EQ(nl_prog_describe(0x7ffffff0, pname, tag), -ENOENT);
        CHECK_OK(nl_prog_fd_describe(prog_fd(P_SK1), NULL, NULL, NULL), NULL);

        test_case("info on things that are not netns links");
        CHECK_INT_EQ(nl_link_get_info(prog_fd(P_SK1), false, &info2), -EMEDIUMTYPE);
        CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe");
        CHECK(nl_link_get_info(pipefd[0], false, &info2) < 0, "a pipe is no link");
        CHECK(nl_link_get_info(-1, false, &info2) < 0, "fd -1 is no link");
        safe_close(pipefd[0]);
        safe_close(pipefd[1]);

        safe_close(fd);
        safe_close(nsfd);
}

/* Update and replace act on one link in turn; each row says what the link's
 * program must be afterwards, so a refused change is seen to change nothing. */
typedef enum { OP_UPDATE, OP_REPLACE } Op;

static const struct {
        Op op;
        enum prog new_prog;
        enum prog expected;     /* replace: the id claimed to be current */
        bool expected_bogus;    /* replace: claim an id no program has */
        NlErrorKind kind;
        enum prog after;
} swap_cases[] = {
        { OP_UPDATE, P_SK2, 0, false, NL_ERR_NONE, P_SK2 },
        { OP_UPDATE, P_SK2, 0, false, NL_ERR_NONE, P_SK2 },                  /* to itself */
        { OP_UPDATE, P_SK1, 0, false, NL_ERR_NONE, P_SK1 },
        { OP_UPDATE, P_XDP, 0, false, NL_ERR_INVALID_PROGRAM, P_SK1 },
        { OP_UPDATE, P_FLOW, 0, false, NL_ERR_INVALID_PROGRAM, P_SK1 },
        { OP_UPDATE, P_BADFD, 0, false, NL_ERR_FAILED, P_SK1 },
        { OP_REPLACE, P_SK2, P_SK1, false, NL_ERR_NONE, P_SK2 },
        { OP_REPLACE, P_SK1, P_SK1, false, NL_ERR_PROGRAM_MISMATCH, P_SK2 },  /* stale */
        { OP_REPLACE, P_SK1, P_FLOW, false, NL_ERR_PROGRAM_MISMATCH, P_SK2 }, /* never attached */
        { OP_REPLACE, P_SK1, 0, true, NL_ERR_PROGRAM_MISMATCH, P_SK2 },      /* no such program */
        { OP_REPLACE, P_XDP, P_SK2, false, NL_ERR_INVALID_PROGRAM, P_SK2 },
        { OP_REPLACE, P_SK2, P_SK2, false, NL_ERR_NONE, P_SK2 },             /* to itself */
        { OP_REPLACE, P_SK1, P_SK2, false, NL_ERR_NONE, P_SK1 },
};

static void test_update_replace(void) {
        char name[TEST_NETNS_NAME_MAX];
        int nsfd = fresh_netns(name), fd;
        NlError e = {};
        NlLinkInfo info;
        uint32_t link_id = 0;

        test_case("update/replace: create");
        fd = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_OK(fd, &e);
        CHECK_OK(nl_link_get_info(fd, false, &info), NULL);
        link_id = info.link_id;

        for (size_t i = 0; i < ELEMENTSOF(swap_cases); i++) {
                uint32_t ids[4], count = 4, expected;
                int r;

                test_case("swap #%zu %s to %s", i, swap_cases[i].op == OP_UPDATE ? "update" : "replace",
                          prog_names[swap_cases[i].new_prog]);
                nl_error_clear(&e);
                expected = swap_cases[i].expected_bogus ? 0x7ffffff0 : prog_id(swap_cases[i].expected);
                if (swap_cases[i].op == OP_UPDATE)
                        r = nl_link_update(fd, prog_fd(swap_cases[i].new_prog), &e);
                else
                        r = nl_link_replace(fd, prog_fd(swap_cases[i].new_prog), expected, &e);
                if (swap_cases[i].kind == NL_ERR_NONE)
                        CHECK_OK(r, &e);
                else
                        CHECK_ERR(r, &e, swap_cases[i].kind);
                if (swap_cases[i].kind == NL_ERR_PROGRAM_MISMATCH) {
                        CHECK_INT_EQ(r, -ESTALE);
                        CHECK_CONTAINS(e.message, "unchanged");
                }

                CHECK_OK(nl_link_get_info(fd, true, &info), NULL);
                CHECK_INT_EQ(info.prog_id, prog_id(swap_cases[i].after));
                CHECK_STR_EQ(info.prog_name, prog_names[swap_cases[i].after]);
                CHECK_INT_EQ(info.link_id, link_id);
                CHECK_INT_EQ(info.netns_ino, test_netns_ino(name));
                CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_SK_LOOKUP, ids, &count), NULL);
                CHECK(count == 1 && ids[0] == prog_id(swap_cases[i].after),
                      "the kernel runs exactly the expected program (count %u)", count);
        }

        test_case("detach");
        CHECK_OK(nl_link_detach(fd, &e), &e);
        CHECK_OK(nl_link_get_info(fd, false, &info), NULL);
        CHECK_INT_EQ(info.netns_ino, 0);
        CHECK_INT_EQ(info.link_id, link_id);
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_SK_LOOKUP), 0);
        CHECK_OK(nl_link_detach(fd, &e), &e);      /* already detached: fine */
        CHECK(nl_link_update(fd, prog_fd(P_SK2), &e) < 0, "a detached link takes no program");
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_SK_LOOKUP), 0);

        test_case("detach: not a link");
        CHECK_ERR(nl_link_detach(prog_fd(P_SK1), &e), &e, NL_ERR_FAILED);
        e = (NlError) {};       /* each refusal sets its own error */
        CHECK_ERR(nl_link_detach(-1, &e), &e, NL_ERR_FAILED);

        safe_close(fd);
        safe_close(nsfd);
        test_netns_del(name);
}

/* Detaching one link leaves the others of the netns running, in order. */
static void test_detach_one_of_many(void) {
        char name[TEST_NETNS_NAME_MAX];
        int nsfd = fresh_netns(name), fds[3];
        uint32_t ids[4], count = 4;
        NlError e = {};

        test_case("detach one of three");
        fds[0] = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        fds[1] = nl_link_create(prog_fd(P_SK2), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        fds[2] = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK(fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0, "three links: %s", e.message);
        CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_SK_LOOKUP, ids, &count), NULL);
        CHECK(count == 3 && ids[0] == prog_id(P_SK1) && ids[1] == prog_id(P_SK2) && ids[2] == prog_id(P_SK1),
              "run order is attach order (count %u)", count);
        CHECK_OK(nl_link_detach(fds[1], &e), &e);
        count = 4;
        CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_SK_LOOKUP, ids, &count), NULL);
        CHECK(count == 2 && ids[0] == prog_id(P_SK1) && ids[1] == prog_id(P_SK1), "two left (count %u)", count);
        for (int i = 0; i < 3; i++)
                safe_close(fds[i]);
        safe_close(nsfd);
        test_netns_del(name);
}

static void test_limits(void) {
        char name[TEST_NETNS_NAME_MAX];
        int nsfd, fds[NL_SK_LOOKUP_MAX + 1], fd, fd2, n_ok = 0;
        uint32_t ids[NL_SK_LOOKUP_MAX + 8], count = ELEMENTSOF(ids);
        NlError e = {};

        test_case("limit: flow_dissector");
        nsfd = fresh_netns(name);
        fd = nl_link_create(prog_fd(P_FLOW), nsfd, NL_ATTACH_FLOW_DISSECTOR, &e);
        CHECK_OK(fd, &e);
        fd2 = nl_link_create(prog_fd(P_FLOW), nsfd, NL_ATTACH_FLOW_DISSECTOR, &e);
        CHECK_ERR(fd2, &e, NL_ERR_TOO_MANY_LINKS);
        CHECK_CONTAINS(e.message, "limit of 1 flow_dissector program");
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_FLOW_DISSECTOR), 1);
        /* Room again once the first is gone. */
        safe_close(fd);
        fd = nl_link_create(prog_fd(P_FLOW), nsfd, NL_ATTACH_FLOW_DISSECTOR, &e);
        CHECK_OK(fd, &e);
        safe_close(fd);
        safe_close(fd2);
        safe_close(nsfd);
        test_netns_del(name);

        test_case("limit: sk_lookup");
        nsfd = fresh_netns(name);
        for (int i = 0; i < NL_SK_LOOKUP_MAX; i++) {
                fds[i] = nl_link_create(prog_fd(i % 2 ? P_SK2 : P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
                n_ok += fds[i] >= 0;
        }
        CHECK_INT_EQ(n_ok, NL_SK_LOOKUP_MAX);
        fds[NL_SK_LOOKUP_MAX] = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_ERR(fds[NL_SK_LOOKUP_MAX], &e, NL_ERR_TOO_MANY_LINKS);
        CHECK_CONTAINS(e.message, "limit of 64 sk_lookup programs");
        CHECK_OK(nl_netns_query_progs(nsfd, NL_ATTACH_SK_LOOKUP, ids, &count), NULL);
        CHECK_INT_EQ(count, NL_SK_LOOKUP_MAX);
        CHECK(ids[63] == prog_id(P_SK2) && ids[0] == prog_id(P_SK1), "in attach order");

        /* Detach one: the 65th attempt now fits. */
        CHECK_OK(nl_link_detach(fds[10], &e), &e);
        fd = nl_link_create(prog_fd(P_SK1), nsfd, NL_ATTACH_SK_LOOKUP, &e);
        CHECK_OK(fd, &e);
        safe_close(fd);
        for (int i = 0; i <= NL_SK_LOOKUP_MAX; i++)
                safe_close(fds[i]);
        CHECK_INT_EQ(test_netns_prog_count(nsfd, BPF_SK_LOOKUP), 0);
        safe_close(nsfd);
        test_netns_del(name);

        /* The limits are per netns: a second netns is not affected. */
        test_case("limits are per netns");
        {
                char a[TEST_NETNS_NAME_MAX], b[TEST_NETNS_NAME_MAX];
                int nsa = fresh_netns(a), nsb = fresh_netns(b);
                int la = nl_link_create(prog_fd(P_FLOW), nsa, NL_ATTACH_FLOW_DISSECTOR, &e);
                int lb = nl_link_create(prog_fd(P_FLOW), nsb, NL_ATTACH_FLOW_DISSECTOR, &e);
                CHECK(la >= 0 && lb >= 0, "one flow dissector in each of two netns: %s", e.message);
                safe_close(la);
                safe_close(lb);
                safe_close(nsa);
                safe_close(nsb);
                test_netns_del(a);
                test_netns_del(b);
        }
}

static void run(void) {
        int before;

        setup();
        before = test_count_fds();
        test_create();
        test_info();
        test_update_replace();
        test_detach_one_of_many();
        test_limits();
        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), before);
        teardown();
}

int main(void) {
        return test_main("lib/test-link-ops", run);
}
