/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Netns references: what each form resolves to, and what is refused. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netns-ref.h"
#include "test-util.h"

/* Placeholders in a case's reference, filled in at run time:
 *   {name}     a netns made for the test (/run/netns/{name})
 *   {pid}      a live process in a netns of its own
 *   {deadpid}  a pid that no longer exists
 *   {file}     a regular file
 *   {long}     4096 characters */
static struct {
        char name[TEST_NETNS_NAME_MAX];
        pid_t pid, deadpid;
        char file[256];
        char lng[4097];
} fx;

enum want_ino { INO_NONE, INO_NAME, INO_PID, INO_SELF };

static const struct {
        const char *ref;
        NlErrorKind kind;       /* NL_ERR_NONE: resolves */
        int error;              /* the negative errno, when it matters */
        enum want_ino ino;
        const char *msg;        /* part of the message */
} cases[] = {
        /* the three forms */
        { "/run/netns/{name}", NL_ERR_NONE, 0, INO_NAME, NULL },
        { "{name}", NL_ERR_NONE, 0, INO_NAME, NULL },
        { "pid:{pid}", NL_ERR_NONE, 0, INO_PID, NULL },
        { "/proc/{pid}/ns/net", NL_ERR_NONE, 0, INO_PID, NULL },
        { "/proc/self/ns/net", NL_ERR_NONE, 0, INO_SELF, NULL },
        { "/run/netns//{name}", NL_ERR_NONE, 0, INO_NAME, NULL },
        { "/run/netns/./{name}", NL_ERR_NONE, 0, INO_NAME, NULL },

        /* malformed: InvalidArgs */
        { "", NL_ERR_INVALID_ARGS, -EINVAL, 0, "Empty" },
        { NULL, NL_ERR_INVALID_ARGS, -EINVAL, 0, "Empty" },
        { "run/netns/{name}", NL_ERR_INVALID_ARGS, -EINVAL, 0, "expected an absolute path" },
        { "./{name}", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "../netns/{name}", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { ".", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "..", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "a/b", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "{name}/", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "/run/netns/../netns/{name}", NL_ERR_INVALID_ARGS, -EINVAL, 0, "'..'" },
        { "/run/netns/..", NL_ERR_INVALID_ARGS, -EINVAL, 0, "'..'" },
        { "/..", NL_ERR_INVALID_ARGS, -EINVAL, 0, "'..'" },
        { "name with space", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "tab\tname", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "new\nline", NL_ERR_INVALID_ARGS, -EINVAL, 0, NULL },
        { "pid:", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:abc", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:-1", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:+1", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:0", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:01", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:1x", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid: 1", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:0x10", NL_ERR_INVALID_ARGS, -EINVAL, 0, "pid:N" },
        { "pid:1073741824", NL_ERR_INVALID_ARGS, -EINVAL, 0, "out of range" },
        { "ino:1", NL_ERR_INVALID_ARGS, -EINVAL, 0, "for calls on existing links" },
        { "ino:", NL_ERR_INVALID_ARGS, -EINVAL, 0, "ino:N" },
        { "pid:99999999999999999999999", NL_ERR_INVALID_ARGS, -EINVAL, 0, "out of range" },
        { "/{long}", NL_ERR_INVALID_ARGS, -ENAMETOOLONG, 0, "too long" },
        { "{long}", NL_ERR_INVALID_ARGS, -ENAMETOOLONG, 0, "too long" },

        /* well-formed, but no netns there: NoSuchNetns */
        { "/run/netns/nlt-no-such-netns", NL_ERR_NO_SUCH_NETNS, -ENOENT, 0, "does not exist" },
        { "nlt-no-such-netns", NL_ERR_NO_SUCH_NETNS, -ENOENT, 0, "/run/netns/nlt-no-such-netns" },
        { "/run/netns/a..b", NL_ERR_NO_SUCH_NETNS, -ENOENT, 0, NULL },   /* ".." only as a component */
        { "pid:{deadpid}", NL_ERR_NO_SUCH_NETNS, -ENOENT, 0, "does not exist" },
        { "pid:4194304", NL_ERR_NO_SUCH_NETNS, -ENOENT, 0, NULL },       /* above pid_max */
        { "{file}", NL_ERR_NO_SUCH_NETNS, -ENOTTY, 0, "not a namespace file" },
        { "{file}/net", NL_ERR_NO_SUCH_NETNS, -ENOTDIR, 0, NULL },
        { "/dev/null", NL_ERR_NO_SUCH_NETNS, -ENOTTY, 0, "not a namespace file" },
        { "/proc", NL_ERR_NO_SUCH_NETNS, -ENOTTY, 0, "not a namespace file" },
        { "/run/netns", NL_ERR_NO_SUCH_NETNS, -ENOTTY, 0, "not a namespace file" },
        { "/proc/self/ns/uts", NL_ERR_NO_SUCH_NETNS, -EPROTOTYPE, 0, "not a network namespace" },
        { "/proc/self/ns/mnt", NL_ERR_NO_SUCH_NETNS, -EPROTOTYPE, 0, "not a network namespace" },
        { "/proc/{pid}/ns/ipc", NL_ERR_NO_SUCH_NETNS, -EPROTOTYPE, 0, "not a network namespace" },
};

/* Replaces the placeholders; NULL stays NULL. */
static const char *expand(const char *in, char *out, size_t size) {
        size_t o = 0;

        if (!in)
                return NULL;
        while (*in && o + 1 < size) {
                char val[4200] = "";
                const char *end;

                if (*in != '{' || !(end = strchr(in, '}'))) {
                        out[o++] = *in++;
                        continue;
                }
                if (strncmp(in, "{name}", 6) == 0)
                        snprintf(val, sizeof(val), "%s", fx.name);
                else if (strncmp(in, "{pid}", 5) == 0)
                        snprintf(val, sizeof(val), "%d", (int) fx.pid);
                else if (strncmp(in, "{deadpid}", 9) == 0)
                        snprintf(val, sizeof(val), "%d", (int) fx.deadpid);
                else if (strncmp(in, "{file}", 6) == 0)
                        snprintf(val, sizeof(val), "%s", fx.file);
                else if (strncmp(in, "{long}", 6) == 0)
                        snprintf(val, sizeof(val), "%s", fx.lng);
                o += snprintf(out + o, size - o, "%s", val);
                if (o >= size)
                        o = size - 1;
                in = end + 1;
        }
        out[o] = 0;
        return out;
}

static uint64_t ino_of(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? 0 : st.st_ino;
}

static void setup(void) {
        pid_t p;

        CHECK_OK(test_netns_add(fx.name), NULL);
        fx.pid = test_netns_holder();
        CHECK(fx.pid > 0, "netns holder started");

        /* A pid that existed and is gone: ours to reap, so not reused soon. */
        p = fork();
        if (p == 0)
                _exit(0);
        waitpid(p, NULL, 0);
        fx.deadpid = p;

        CHECK_OK(test_write_tmp("plain-file", "x", 1, fx.file, sizeof(fx.file)), NULL);
        memset(fx.lng, 'n', sizeof(fx.lng) - 1);
}

static void test_cases(void) {
        uint64_t name_ino = test_netns_ino(fx.name), self_ino = ino_of("/proc/self/ns/net"), pid_ino;
        char pidns[64];
        int fds_before = test_count_fds();

        snprintf(pidns, sizeof(pidns), "/proc/%d/ns/net", (int) fx.pid);
        pid_ino = ino_of(pidns);
        CHECK(name_ino && self_ino && pid_ino, "fixture inodes known");
        CHECK(name_ino != self_ino && pid_ino != self_ino && pid_ino != name_ino,
              "the fixture's netns are three different ones");

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char refbuf[8400];
                const char *ref = expand(cases[i].ref, refbuf, sizeof(refbuf));
                NlNetns ns = { .fd = 9999 };    /* a failure must set it negative */
                NlError e = {};
                uint64_t ino = 0;
                int r;

                test_case("#%zu '%.60s'", i, cases[i].ref ?: "(null)");
                r = nl_netns_open(ref, &ns, &e);
                if (cases[i].kind == NL_ERR_NONE) {
                        uint64_t want = cases[i].ino == INO_NAME ? name_ino :
                                        cases[i].ino == INO_PID ? pid_ino : self_ino;
                        uint64_t fd_ino = 0;

                        CHECK_OK(r, &e);
                        CHECK(ns.fd >= 0, "fd is open");
                        CHECK_INT_EQ(ns.ino, want);
                        CHECK_INT_EQ(nl_netns_fd_check(ns.fd, &fd_ino), 0);
                        CHECK_INT_EQ(fd_ino, want);
                        CHECK((fcntl(ns.fd, F_GETFD) & FD_CLOEXEC) != 0, "fd is O_CLOEXEC");
                        nl_netns_close(&ns);
                        CHECK(ns.fd < 0, "close resets the fd");
                        nl_netns_close(&ns);    /* twice is harmless */

                        CHECK_OK(nl_netns_ino(ref, &ino, &e), &e);
                        CHECK_INT_EQ(ino, want);
                } else {
                        CHECK_ERR(r, &e, cases[i].kind);
                        if (cases[i].error)
                                CHECK_INT_EQ(r, cases[i].error);
                        if (cases[i].msg)
                                CHECK_CONTAINS(e.message, cases[i].msg);
                        CHECK(ns.fd < 0, "no fd on failure");
                        CHECK(!strchr(e.message, '\n'), "one-line message");

                        nl_error_clear(&e);
                        ino = 4242;
                        CHECK_ERR(nl_netns_ino(ref, &ino, &e), &e, cases[i].kind);
                        CHECK_INT_EQ(ino, 4242);
                }
                /* Without an NlError too. */
                r = nl_netns_open(ref, &ns, NULL);
                CHECK_INT_EQ(r < 0, cases[i].kind != NL_ERR_NONE);
                nl_netns_close(&ns);
        }
        /* nsfs only: any namespace opens, explain names what is wrong. */
        {
                static const struct {
                        const char *ref;
                        int open_r, explain_r;
                } lazy[] = {
                        { "/proc/self/ns/net", 0, 0 },
                        { "/proc/self/ns/uts", 0, -EPROTOTYPE },
                        { "/proc/self/ns/mnt", 0, -EPROTOTYPE },
                        { "/dev/null", -ENOTTY, 0 },
                        { "/nonexistent", -ENOENT, 0 },
                };
                for (size_t i = 0; i < ELEMENTSOF(lazy); i++) {
                        NlNetns ns = { .fd = 9999 };    /* a failure must set it negative */
                        NlError e = {};

                        test_case("open_nsfs '%s'", lazy[i].ref);
                        CHECK_INT_EQ(nl_netns_open_nsfs(lazy[i].ref, &ns, &e), lazy[i].open_r);
                        if (lazy[i].open_r < 0) {
                                CHECK(ns.fd < 0, "no fd on failure");
                                CHECK_INT_EQ(e.kind, NL_ERR_NO_SUCH_NETNS);
                                continue;
                        }
                        CHECK_INT_EQ(ns.ino, ino_of(lazy[i].ref));
                        nl_error_clear(&e);
                        CHECK_INT_EQ(nl_netns_explain(&ns, lazy[i].ref, &e), lazy[i].explain_r);
                        if (lazy[i].explain_r < 0) {
                                CHECK_INT_EQ(e.kind, NL_ERR_NO_SUCH_NETNS);
                                CHECK_CONTAINS(e.message, "not a network namespace");
                        }
                        nl_netns_close(&ns);
                }
        }
        test_case("no fd leaked");
        CHECK_INT_EQ(test_count_fds(), fds_before);
}

static const struct {
        const char *ref;
        const char *path;
} path_cases[] = {
        { "blue", "/run/netns/blue" },
        { "a-b_c.d", "/run/netns/a-b_c.d" },
        { "...", "/run/netns/..." },
        { "pid:1", "/proc/1/ns/net" },
        { "pid:1234", "/proc/1234/ns/net" },
        { "pid:1073741823", "/proc/1073741823/ns/net" },
        { "/var/run/docker/netns/abc", "/var/run/docker/netns/abc" },
        { "/proc/1234/ns/net", "/proc/1234/ns/net" },
        { "/", "/" },
};

static void test_ref_to_path(void) {
        char path[64];
        NlError e = {};

        for (size_t i = 0; i < ELEMENTSOF(path_cases); i++) {
                test_case("to_path '%s'", path_cases[i].ref);
                CHECK_OK(nl_netns_ref_to_path(path_cases[i].ref, path, sizeof(path), &e), &e);
                CHECK_STR_EQ(path, path_cases[i].path);
        }
        /* The buffer's size is honoured. */
        test_case("to_path: small buffers");
        char small[16];
        CHECK_ERR(nl_netns_ref_to_path("/run/netns/abcdefghij", small, sizeof(small), &e), &e,
                  NL_ERR_INVALID_ARGS);
        e = (NlError) {};       /* each refusal sets its own error */
        CHECK_ERR(nl_netns_ref_to_path("abcdefgh", small, sizeof(small), &e), &e, NL_ERR_INVALID_ARGS);
        CHECK_OK(nl_netns_ref_to_path("abcd", small, sizeof(small), &e), &e);
        CHECK_STR_EQ(small, "/run/netns/abcd");
}

static void test_fd_check(void) {
        int fd;

        test_case("fd_check");
        fd = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
        CHECK_INT_EQ(nl_netns_fd_check(fd, NULL), -EPROTOTYPE);
        close(fd);
        fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        CHECK_INT_EQ(nl_netns_fd_check(fd, NULL), -ENOTTY);
        close(fd);
        CHECK_INT_EQ(nl_netns_fd_check(-1, NULL), -EBADF);
        fd = test_netns_fd(fx.name);
        CHECK_INT_EQ(nl_netns_fd_check(fd, NULL), 0);
        close(fd);
}

/* The netns named by a reference can be deleted once we are done: the
 * library keeps no fd open past the call (an open nsfs fd would keep a
 * deleted netns alive). */
static void test_no_fd_kept(void) {
        char name[TEST_NETNS_NAME_MAX], ref[128];
        uint64_t ino = 0;
        NlError e = {};
        int before = test_count_fds();

        test_case("nl_netns_ino keeps no fd");
        CHECK_OK(test_netns_add(name), NULL);
        snprintf(ref, sizeof(ref), "/run/netns/%s", name);
        CHECK_OK(nl_netns_ino(ref, &ino, &e), &e);
        CHECK_INT_EQ(ino, test_netns_ino(name));
        CHECK_INT_EQ(test_count_fds(), before);
        CHECK_OK(test_netns_del(name), NULL);
        CHECK_ERR(nl_netns_ino(name, &ino, &e), &e, NL_ERR_NO_SUCH_NETNS);
}

/* Resolving for others (the daemon): references naming the resolving
 * process's own files are refused, each form of them; others resolve as
 * before. */
static void test_refs_of_others(void) {
        char pid_self[64], path_self[64], pid_other[64], path[4096];
        static const char *const own[] = {
                "/proc/self/ns/net", "/proc/thread-self/ns/net", "//proc/./self/ns/net", "/proc/self",
                "/proc//thread-self//ns/net", "/dev/fd/3", "/dev//fd/0", "/proc/self/fd/3",
        };
        NlError e = {};
        uint64_t ino;

        snprintf(pid_self, sizeof(pid_self), "pid:%d", (int) getpid());
        snprintf(path_self, sizeof(path_self), "/proc/%d/ns/net", (int) getpid());
        snprintf(pid_other, sizeof(pid_other), "pid:%d", (int) fx.pid);
        nl_netns_refs_of_others(true);
        for (size_t i = 0; i < ELEMENTSOF(own) + 2; i++) {
                const char *ref = i < ELEMENTSOF(own) ? own[i] : i == ELEMENTSOF(own) ? pid_self : path_self;

                test_case("of others: '%s' is refused", ref);
                CHECK_ERR(nl_netns_ref_to_path(ref, path, sizeof(path), &e), &e, NL_ERR_INVALID_ARGS);
                CHECK_CONTAINS(e.message, "names netnslinkd's own");
                CHECK_CONTAINS(e.message, "pid:N with the caller's pid");
                nl_error_clear(&e);
                CHECK_ERR(nl_netns_ino(ref, &ino, &e), &e, NL_ERR_INVALID_ARGS);
                nl_error_clear(&e);
        }
        test_case("of others: other processes' and names still resolve");
        CHECK_OK(nl_netns_ino(pid_other, &ino, &e), &e);
        CHECK_OK(nl_netns_ino(fx.name, &ino, &e), &e);
        CHECK_OK(nl_netns_ref_to_path("/proc/selfish/ns/net", path, sizeof(path), &e), &e);
        CHECK_OK(nl_netns_ref_to_path("/dev/fdx", path, sizeof(path), &e), &e);
        nl_netns_refs_of_others(false);
        test_case("for ourselves, /proc/self is ours");
        CHECK_OK(nl_netns_ino("/proc/self/ns/net", &ino, &e), &e);
}

/* Anyone may send a reference (GetLink): a path that is not a namespace
 * must not even be opened, since opening a device can act on it. */
static void test_no_open_of_others(void) {
        char path[512], fifo[512], buf[4096];
        NlNetns ns;
        NlError e = {};
        int ifd, fd;

        test_case("a file that is not a netns is never opened");
        snprintf(path, sizeof(path), "%s/plain", test_tmpdir());
        snprintf(fifo, sizeof(fifo), "%s/fifo", test_tmpdir());
        fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        CHECK(fd >= 0, "create %s", path);
        safe_close(fd);
        CHECK(mkfifo(fifo, 0644) == 0, "mkfifo %s", fifo);
        ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        CHECK(ifd >= 0, "inotify");
        CHECK(inotify_add_watch(ifd, path, IN_OPEN) >= 0, "watch %s", path);
        CHECK(inotify_add_watch(ifd, fifo, IN_OPEN) >= 0, "watch %s", fifo);

        CHECK_ERR(nl_netns_open(path, &ns, &e), &e, NL_ERR_NO_SUCH_NETNS);
        CHECK_CONTAINS(e.message, "is not a namespace file");
        CHECK(ns.fd < 0, "no fd");
        CHECK_ERR(nl_netns_open(fifo, &ns, &e), &e, NL_ERR_NO_SUCH_NETNS);
        CHECK_ERR(nl_netns_open_nsfs(path, &ns, &e), &e, NL_ERR_NO_SUCH_NETNS);
        CHECK(read(ifd, buf, sizeof(buf)) < 0 && errno == EAGAIN, "no open event on the file or the FIFO");

        /* A real netns still opens, through the same two steps. */
        CHECK_OK(nl_netns_open("/proc/self/ns/net", &ns, &e), &e);
        CHECK(ns.fd >= 0 && ns.ino > 0, "netns opened");
        nl_netns_close(&ns);
        safe_close(ifd);
}

static void run(void) {
        test_no_open_of_others();
        setup();
        test_cases();
        test_refs_of_others();
        test_ref_to_path();
        test_fd_check();
        test_no_fd_kept();
        test_process_kill(fx.pid);
}

int main(void) {
        return test_main("lib/test-netns-ref", run);
}
