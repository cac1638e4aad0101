/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Program loading from ELF objects (by fd, by path, from memory), the
 * content-keyed cache, every way an object can be refused, and the libbpf
 * log capture that puts verifier lines in the error. */
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "prog-loader.h"
#include "test-util.h"

/* Where a case's object comes from. */
typedef enum Src {
        SRC_PATH,               /* the test object, by path */
        SRC_FD,                 /* the test object, by fd */
        SRC_MEM,                /* the test object, from memory */
        SRC_REJECT,             /* the object the verifier refuses */
        SRC_GARBAGE,            /* random bytes */
        SRC_TRUNCATED,          /* the first half of the test object */
        SRC_TINY,               /* 10 bytes */
        SRC_EMPTY,              /* 0 bytes */
        SRC_BIG,                /* a (sparse) file over NL_ELF_MAX_SIZE */
        SRC_NOT_BPF,            /* an ELF of the host's machine: this binary */
        SRC_PIPE,               /* a pipe fd */
        SRC_DIRFD,              /* a folder fd */
        SRC_MISSING,            /* a path that does not exist */
        SRC_RELATIVE,           /* a relative path */
        _SRC_MAX,
} Src;

static const char *const src_names[_SRC_MAX] = {
        "path", "fd", "mem", "reject", "garbage", "truncated", "tiny", "empty", "big",
        "not-bpf", "pipe", "dirfd", "missing", "relative",
};

static char garbage_path[512], truncated_path[512], tiny_path[512], empty_path[512], big_path[512];
static void *obj_data;
static size_t obj_size;

static void setup_files(void) {
        char buf[8192];
        int fd;

        test_case("setup");
        CHECK_OK(test_read_file(TEST_OBJ_PROGS, &obj_data, &obj_size), NULL);
        CHECK(obj_size > 1024, "test object read: %zu bytes", obj_size);
        CHECK_INT_EQ(getrandom(buf, sizeof(buf), 0), sizeof(buf));
        buf[0] = 0x7f;  /* starts like an ELF, then nonsense */
        buf[1] = 'E';
        buf[2] = 'L';
        buf[3] = 'F';
        CHECK_OK(test_write_tmp("garbage.o", buf, sizeof(buf), garbage_path, sizeof(garbage_path)), NULL);
        CHECK_OK(test_write_tmp("truncated.o", obj_data, obj_size / 2, truncated_path, sizeof(truncated_path)), NULL);
        CHECK_OK(test_write_tmp("tiny.o", obj_data, 10, tiny_path, sizeof(tiny_path)), NULL);
        CHECK_OK(test_write_tmp("empty.o", "", 0, empty_path, sizeof(empty_path)), NULL);
        CHECK_OK(test_write_tmp("big.o", "", 0, big_path, sizeof(big_path)), NULL);
        fd = open(big_path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0 && ftruncate(fd, (off_t) NL_ELF_MAX_SIZE + 1) == 0, "sparse big file");
        safe_close(fd);
}

static int load(NlProgCache *c, Src src, const char *prog, NlAttachType type, NlProgram **ret, NlError *e) {
        int fd, p[2], r;

        switch (src) {
        case SRC_PATH:
                return nl_prog_load_elf_path(c, TEST_OBJ_PROGS, prog, type, ret, e);
        case SRC_FD:
                fd = open(TEST_OBJ_PROGS, O_RDONLY | O_CLOEXEC);
                r = nl_prog_load_elf_fd(c, fd, prog, type, ret, e);
                safe_close(fd);
                return r;
        case SRC_MEM:
                return nl_prog_load_elf_mem(c, obj_data, obj_size, prog, type, ret, e);
        case SRC_REJECT:
                return nl_prog_load_elf_path(c, TEST_OBJ_REJECT, prog, type, ret, e);
        case SRC_GARBAGE:
                return nl_prog_load_elf_path(c, garbage_path, prog, type, ret, e);
        case SRC_TRUNCATED:
                return nl_prog_load_elf_path(c, truncated_path, prog, type, ret, e);
        case SRC_TINY:
                return nl_prog_load_elf_path(c, tiny_path, prog, type, ret, e);
        case SRC_EMPTY:
                return nl_prog_load_elf_path(c, empty_path, prog, type, ret, e);
        case SRC_BIG:
                return nl_prog_load_elf_path(c, big_path, prog, type, ret, e);
        case SRC_NOT_BPF:
                return nl_prog_load_elf_path(c, "/proc/self/exe", prog, type, ret, e);
        case SRC_PIPE:
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno;
                (void) !write(p[1], obj_data, obj_size < 4096 ? obj_size : 4096);
                r = nl_prog_load_elf_fd(c, p[0], prog, type, ret, e);
                safe_close(p[0]);
                safe_close(p[1]);
                return r;
        case SRC_DIRFD:
                fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                r = nl_prog_load_elf_fd(c, fd, prog, type, ret, e);
                safe_close(fd);
                return r;
        case SRC_MISSING:
                return nl_prog_load_elf_path(c, "/nonexistent/netnslink-test.o", prog, type, ret, e);
        case SRC_RELATIVE:
                return nl_prog_load_elf_path(c, "libtest_progs.bpf.o", prog, type, ret, e);
        default:
                return -EINVAL;
        }
}

#define LONG_NAME "p123456789p123456789p123456789p123456789p123456789p123456789p123456789" \
                  "p123456789p123456789p123456789p123456789p123456789p123456789"

static const struct {
        Src src;
        const char *prog;
        NlAttachType type;
        NlErrorKind kind;       /* NL_ERR_NONE: loads */
        int error;              /* 0: any */
        const char *msg;
} cases[] = {
        { SRC_PATH, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_NONE, 0, NULL },
        { SRC_FD, "sk_pass2", NL_ATTACH_SK_LOOKUP, NL_ERR_NONE, 0, NULL },
        { SRC_MEM, "flow_ok", NL_ATTACH_FLOW_DISSECTOR, NL_ERR_NONE, 0, NULL },

        /* wrong program type */
        { SRC_PATH, "xdp_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE, "is of type xdp" },
        { SRC_FD, "xdp_pass", NL_ATTACH_FLOW_DISSECTOR, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE, "flow_dissector" },
        { SRC_PATH, "flow_ok", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE, "sk_lookup" },
        { SRC_MEM, "sk_pass", NL_ATTACH_FLOW_DISSECTOR, NL_ERR_INVALID_PROGRAM, -EMEDIUMTYPE, "sk_lookup" },

        /* no such program, bad names */
        { SRC_PATH, "nope", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOENT, "no program named 'nope'" },
        { SRC_PATH, "LICENSE", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOENT, "no program named" },
        { SRC_PATH, "sk_pass\n", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOENT, "'sk_pass?'" },
        { SRC_PATH, "", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid program name" },
        { SRC_PATH, NULL, NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid program name" },
        { SRC_PATH, LONG_NAME, NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_ARGS, -EINVAL, "Invalid program name" },

        /* objects that are not (whole) BPF objects */
        { SRC_GARBAGE, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, 0, "Not a valid BPF ELF object" },
        { SRC_TRUNCATED, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, 0, "Not a valid BPF ELF object" },
        { SRC_TINY, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOEXEC, "Not a BPF ELF object" },
        { SRC_EMPTY, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOEXEC, "Not a BPF ELF object" },
        { SRC_BIG, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -EFBIG, "more than the limit" },
        { SRC_NOT_BPF, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, 0, "Not a valid BPF ELF object" },

        /* descriptors and paths */
        { SRC_PIPE, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -EBADFD, "regular file" },
        { SRC_DIRFD, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -EBADFD, "regular file" },
        { SRC_MISSING, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, -ENOENT, "Cannot open object" },
        { SRC_RELATIVE, "sk_pass", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_ARGS, -EINVAL, "absolute" },

        /* the verifier says no, and says why */
        { SRC_REJECT, "sk_reject", NL_ATTACH_SK_LOOKUP, NL_ERR_INVALID_PROGRAM, 0, "invalid bpf_context access" },
};

static bool is_hex16(const char *s) {
        return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

static void test_cases(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        int before = test_count_fds();

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                NlProgram *p = NULL;
                NlError e = {};
                unsigned loads = nl_prog_cache_loads(c);
                int r, fds;

                test_case("#%zu %s:%.20s as %s", i, src_names[cases[i].src], cases[i].prog ?: "(null)",
                          nl_attach_type_to_string(cases[i].type));
                fds = test_count_fds();
                r = load(c, cases[i].src, cases[i].prog, cases[i].type, &p, &e);
                if (cases[i].kind == NL_ERR_NONE) {
                        char want_suffix[64];

                        CHECK_OK(r, &e);
                        if (!p)
                                continue;
                        CHECK_INT_EQ(nl_prog_cache_loads(c), loads + 1);
                        CHECK(nl_program_fd(p) >= 0, "fd");
                        CHECK(nl_program_id(p) > 0, "id");
                        CHECK_STR_EQ(nl_program_name(p), cases[i].prog);
                        CHECK(is_hex16(nl_program_tag(p)), "tag '%s'", nl_program_tag(p));
                        CHECK(strncmp(nl_program_source(p), "sha256:", 7) == 0, "source '%s'", nl_program_source(p));
                        snprintf(want_suffix, sizeof(want_suffix), ":%s", cases[i].prog);
                        CHECK_CONTAINS(nl_program_source(p), want_suffix);
                        nl_program_unref(p);
                } else {
                        CHECK_ERR(r, &e, cases[i].kind);
                        if (cases[i].error)
                                CHECK_INT_EQ(r, cases[i].error);
                        if (cases[i].msg)
                                CHECK_CONTAINS(e.message, cases[i].msg);
                        CHECK(p == NULL, "nothing returned");
                        CHECK_INT_EQ(nl_prog_cache_loads(c), loads);
                        CHECK(!strchr(e.message, '\n'), "one-line message");
                        CHECK_INT_EQ(test_count_fds(), fds);    /* no fd leaked */
                }
        }

        test_case("verifier rejection carries the log");
        {
                NlProgram *p = NULL;
                NlError e = {};

                load(c, SRC_REJECT, "sk_reject", NL_ATTACH_SK_LOOKUP, &p, &e);
                CHECK_CONTAINS(e.message, "rejected by the kernel");
                CHECK_CONTAINS(e.message, "verifier: ");
                CHECK(!strstr(e.message, "(no log)"), "a log was captured: %s", e.message);
                CHECK(strchr(e.message, '|') != NULL, "several verifier lines, folded: %s", e.message);
                CHECK(!strstr(e.message, "BEGIN PROG LOAD LOG"), "libbpf's framing is cut: %s", e.message);
        }
        test_case("no fd left once the cache is gone");
        c = nl_prog_cache_free(c);
        CHECK_INT_EQ(test_count_fds(), before);
}

/* ---- the cache ---- */

static void test_cache(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        NlProgram *a = NULL, *b = NULL, *d = NULL, *f = NULL, *g = NULL;
        char copy_path[512];
        NlError e = {};
        uint32_t id;

        test_case("cache: one object, three ways in, one load");
        CHECK_OK(load(c, SRC_PATH, "sk_pass", NL_ATTACH_SK_LOOKUP, &a, &e), &e);
        CHECK_OK(load(c, SRC_FD, "sk_pass", NL_ATTACH_SK_LOOKUP, &b, &e), &e);
        CHECK_OK(load(c, SRC_MEM, "sk_pass", NL_ATTACH_SK_LOOKUP, &d, &e), &e);
        CHECK_INT_EQ(nl_prog_cache_loads(c), 1);
        CHECK(a && a == b && b == d, "the same program");

        test_case("cache: same content in another file");
        CHECK_OK(test_write_tmp("copy.o", obj_data, obj_size, copy_path, sizeof(copy_path)), NULL);
        CHECK_OK(nl_prog_load_elf_path(c, copy_path, "sk_pass", NL_ATTACH_SK_LOOKUP, &f, &e), &e);
        CHECK(f == a, "keyed by content, not by path");
        CHECK_INT_EQ(nl_prog_cache_loads(c), 1);
        nl_program_unref(f);

        test_case("cache: the cache keeps a program its users dropped");
        id = nl_program_id(a);
        nl_program_unref(a);
        nl_program_unref(b);
        nl_program_unref(d);
        CHECK_OK(load(c, SRC_PATH, "sk_pass", NL_ATTACH_SK_LOOKUP, &a, &e), &e);
        CHECK_INT_EQ(nl_program_id(a), id);
        CHECK_INT_EQ(nl_prog_cache_loads(c), 1);

        test_case("cache: another program of the same object is another load");
        CHECK_OK(load(c, SRC_PATH, "sk_pass2", NL_ATTACH_SK_LOOKUP, &b, &e), &e);
        CHECK(b != a && nl_program_id(b) != id, "distinct");
        CHECK_INT_EQ(nl_prog_cache_loads(c), 2);

        test_case("cache: other content is another load");
        {
                _cleanup_free_ char *more = malloc(obj_size + 8);
                memcpy(more, obj_data, obj_size);
                memset(more + obj_size, 0, 8);  /* trailing bytes: same ELF, other hash */
                CHECK_OK(nl_prog_load_elf_mem(c, more, obj_size + 8, "sk_pass", NL_ATTACH_SK_LOOKUP, &g, &e), &e);
                CHECK(g && g != a && nl_program_id(g) != id, "a new program");
                CHECK_STR_EQ(nl_program_tag(g), nl_program_tag(a));     /* same code */
                CHECK_INT_EQ(nl_prog_cache_loads(c), 3);
        }

        test_case("cache: a refused load caches nothing");
        CHECK_ERR(load(c, SRC_PATH, "xdp_pass", NL_ATTACH_SK_LOOKUP, &d, &e), &e, NL_ERR_INVALID_PROGRAM);
        e = (NlError) {};       /* the second refusal must set its own error */
        CHECK_ERR(load(c, SRC_PATH, "xdp_pass", NL_ATTACH_SK_LOOKUP, &d, &e), &e, NL_ERR_INVALID_PROGRAM);
        CHECK_INT_EQ(nl_prog_cache_loads(c), 3);

        test_case("cache: a program outlives its cache");
        nl_program_unref(b);
        nl_program_unref(g);
        c = nl_prog_cache_free(c);
        CHECK(nl_program_fd(a) >= 0, "still usable");
        CHECK_INT_EQ(nl_program_id(a), id);
        nl_program_unref(a);

        CHECK(nl_program_ref(NULL) == NULL, "ref(NULL)");
        CHECK(nl_program_unref(NULL) == NULL, "unref(NULL)");
        nl_prog_cache_free(NULL);
}

static int destroyed;
static void count_destroy(void *owner) {
        destroyed++;
        free(owner);
}

static void test_adopt(void) {
        _cleanup_(nl_prog_cache_freep) NlProgCache *c = nl_prog_cache_new();
        NlProgram *base = NULL, *p = NULL, *held[3] = {};
        NlError e = {};
        char key[32];
        int found = 0, k_kept, n = 70;

        CHECK_OK(load(c, SRC_PATH, "sk_pass", NL_ATTACH_SK_LOOKUP, &base, &e), &e);
        nl_prog_cache_free(c);
        c = nl_prog_cache_new();        /* base now belongs to its reference alone */

        test_case("adopt without a key");
        destroyed = 0;
        CHECK_OK(nl_prog_cache_adopt(c, NULL, "builtin:test", malloc(1), count_destroy,
                                     nl_program_fd(base), &p, &e), &e);
        CHECK_STR_EQ(nl_program_source(p), "builtin:test");
        CHECK_INT_EQ(nl_program_id(p), nl_program_id(base));
        CHECK(nl_program_fd(p) != nl_program_fd(base), "its own fd");
        CHECK_STR_EQ(nl_program_name(p), "sk_pass");
        nl_program_ref(p);
        nl_program_unref(p);
        CHECK_INT_EQ(destroyed, 0);
        nl_program_unref(p);
        CHECK_INT_EQ(destroyed, 1);

        test_case("adopt with a key");
        CHECK_OK(nl_prog_cache_adopt(c, "k", "src", malloc(1), count_destroy, nl_program_fd(base), &p, &e), &e);
        CHECK(nl_prog_cache_lookup(c, "k") == p, "found by key");
        nl_program_unref(p);    /* the lookup's reference */
        nl_program_unref(p);    /* ours: the cache still holds it */
        CHECK_INT_EQ(destroyed, 1);
        CHECK(nl_prog_cache_lookup(c, "nope") == NULL, "unknown key");

        test_case("adopt: a bad fd destroys the owner");
        p = NULL;
        CHECK_ERR(nl_prog_cache_adopt(c, "bad", "src", malloc(1), count_destroy, -1, &p, &e), &e, NL_ERR_FAILED);
        CHECK_INT_EQ(destroyed, 2);
        CHECK(p == NULL, "nothing returned");
        CHECK(nl_prog_cache_lookup(c, "bad") == NULL, "nothing cached");

        test_case("cache trim: idle programs are bounded, used ones kept");
        destroyed = 0;
        for (int i = 0; i < 3; i++) {
                snprintf(key, sizeof(key), "held-%d", i);
                CHECK_OK(nl_prog_cache_adopt(c, key, "src", malloc(1), count_destroy, nl_program_fd(base),
                                             &held[i], &e), &e);
        }
        for (int i = 0; i < n; i++) {
                snprintf(key, sizeof(key), "idle-%d", i);
                CHECK_OK(nl_prog_cache_adopt(c, key, "src", malloc(1), count_destroy, nl_program_fd(base), &p, &e), &e);
                nl_program_unref(p);
        }
        for (int i = 0; i < n; i++) {
                snprintf(key, sizeof(key), "idle-%d", i);
                p = nl_prog_cache_lookup(c, key);
                found += !!p;
                nl_program_unref(p);
        }
        /* "k" is idle too: at most NL_PROG_CACHE_IDLE_MAX idle survive a
         * trim, plus the last one adopted (trimming happens on adopt). */
        CHECK(found + 1 <= NL_PROG_CACHE_IDLE_MAX + 1 && found >= NL_PROG_CACHE_IDLE_MAX - 1,
              "%d idle programs kept", found);
        p = nl_prog_cache_lookup(c, "k");
        k_kept = !!p;
        nl_program_unref(p);
        CHECK_INT_EQ(destroyed, n + 1 - found - k_kept);       /* evicted ones were destroyed */
        for (int i = 0; i < 3; i++) {
                snprintf(key, sizeof(key), "held-%d", i);
                p = nl_prog_cache_lookup(c, key);
                CHECK(p == held[i], "held-%d is never evicted", i);
                nl_program_unref(p);
                nl_program_unref(held[i]);
        }
        c = nl_prog_cache_free(c);
        CHECK_INT_EQ(destroyed, n + 1 + 3);     /* everything, once */
        nl_program_unref(base);
}

/* ---- libbpf log capture ---- */

static const struct {
        const char *text;
        unsigned n;
        size_t size;
        const char *want;
} tail_cases[] = {
        { "a\nb\nc\n", 2, 64, "b|c" },
        { "a\nb\nc", 5, 64, "a|b|c" },
        { "one", 3, 64, "one" },
        { "abc\n\n\n", 1, 64, "abc" },
        { "", 3, 64, "" },
        { "\n\n", 3, 64, "" },
        { "x\n-- BEGIN PROG LOAD LOG --\nl1\nl2\nl3\n-- END PROG LOAD LOG --\ny\n", 2, 64, "l2|l3" },
        { "x\n-- BEGIN PROG LOAD LOG --\nl1\nl2\nl3\n-- END PROG LOAD LOG --\ny\n", 9, 64, "l1|l2|l3" },
        { "x\n-- BEGIN PROG LOAD LOG --\nonly\n", 2, 64, "only" },
        { "abcdef", 1, 4, "def" },
        { "a\nbcdef", 2, 4, "def" },
};

static int logged;
static void count_log(int level, const char *msg) {
        logged++;
}

static void test_log(void) {
        _cleanup_(nl_libbpf_capture_done) NlLibbpfCapture cap = {}, inner = {};
        char out[64];
        const char *text;
        struct bpf_object *obj;
        unsigned char junk[256] = { 0x7f, 'E', 'L', 'F' };

        for (size_t i = 0; i < ELEMENTSOF(tail_cases); i++) {
                test_case("log tail #%zu", i);
                nl_log_tail(tail_cases[i].text, tail_cases[i].n, out, tail_cases[i].size);
                CHECK_STR_EQ(out, tail_cases[i].want);
        }

        test_case("capture");
        nl_libbpf_capture_begin(&cap);
        CHECK_STR_EQ(nl_libbpf_capture_end(&cap), "");
        nl_libbpf_capture_begin(&cap);
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        text = nl_libbpf_capture_end(&cap);
        CHECK(obj == NULL, "junk does not open");
        CHECK_CONTAINS(text, "libbpf");

        test_case("captures are their callers': one inside another");
        nl_libbpf_capture_begin(&cap);
        nl_libbpf_capture_begin(&inner);
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        CHECK_CONTAINS(nl_libbpf_capture_end(&inner), "libbpf");
        CHECK_STR_EQ(cap.buf ? cap.buf : "", "");       /* the inner one took it */
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        CHECK_CONTAINS(nl_libbpf_capture_end(&cap), "libbpf");
        nl_libbpf_capture_done(&inner);
        CHECK(inner.buf == NULL && inner.len == 0, "done frees the text");

        test_case("log callback outside a capture");
        logged = 0;
        nl_libbpf_set_log(count_log);
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        CHECK(obj == NULL && logged > 0, "libbpf's warning reached the callback (%d)", logged);
        logged = 0;
        nl_libbpf_capture_begin(&cap);
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        nl_libbpf_capture_end(&cap);
        CHECK_INT_EQ(logged, 0);        /* captured, not logged */
        nl_libbpf_set_log(NULL);
        obj = bpf_object__open_mem(junk, sizeof(junk), NULL);
        CHECK_INT_EQ(logged, 0);
}

static void run(void) {
        setup_files();
        test_cases();
        test_cache();
        test_adopt();
        test_log();
        free(obj_data);
}

int main(void) {
        return test_main("lib/test-prog-loader", run);
}
