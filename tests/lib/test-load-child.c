/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The loader child: its answers (an fd, an error, a crash, no answer at all)
 * and that it holds none of the parent's file descriptors. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load-child.h"
#include "test-util.h"

static int answer_devnull(void *arg, char *note, NlError *e) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        (void) arg;
        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, -errno, "open /dev/null: %m");
        return fd;
}

static int answer_error(void *arg, char *note, NlError *e) {
        (void) arg;
        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -EPERM, "refused on purpose");
}

static int answer_crash(void *arg, char *note, NlError *e) {
        (void) arg;
        (void) e;
        raise(SIGABRT);
        return -EFAULT;
}

/* Answers whether the parent's fd *arg is open here: an fd if not. */
static int answer_if_closed(void *arg, char *note, NlError *e) {
        int fd = *(int *) arg;

        if (fcntl(fd, F_GETFD) >= 0)
                return nl_error_set(e, NL_ERR_FAILED, -EBUSY, "fd %d of the parent is open in the child", fd);
        return answer_devnull(NULL, note, e);
}

/* Says it runs (creates the file at path arg), then waits to be killed. */
static int answer_never(void *arg, char *note, NlError *e) {
        int fd = open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
                return nl_error_set(e, NL_ERR_FAILED, -errno, "create %s: %m", (const char *) arg);
        close(fd);
        /* Killed by the parent long before this ends. */
        sleep(600);
        return -ETIME;
}

/* Reads the passed fd (NL_LOAD_CHILD_FD) to its end, says what it read in
 * its note, answers an fd. */
static int answer_passed_fd(void *arg, char *note, NlError *e) {
        ssize_t n = read(NL_LOAD_CHILD_FD, note, NL_LOAD_NOTE_MAX - 1);

        if (n < 0)
                return nl_error_set(e, NL_ERR_FAILED, -errno, "read the passed fd: %m");
        return answer_devnull(NULL, note, e);
}

/* Reads a pipe nobody writes, within a deadline of one second. */
static int answer_read_stalls(void *arg, char *note, NlError *e) {
        char c;

        nl_load_child_deadline(1);
        (void) read(NL_LOAD_CHILD_FD, &c, 1);
        return nl_error_set(e, NL_ERR_FAILED, -EIO, "the read ended");
}

/* The fd passed to the child, and the deadline that ends a read that never
 * does. */
static void test_passed_fd(void) {
        char note[NL_LOAD_NOTE_MAX] = "";
        int pipefd[2], fd = -1, r;
        NlError e = {};

        test_case("the passed fd is the child's NL_LOAD_CHILD_FD, and the note comes back");
        if (!CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe2: %m"))
                return;
        CHECK(write(pipefd[1], "hello", 5) == 5, "write: %m");
        close(pipefd[1]);
        r = nl_load_child_run(answer_passed_fd, NULL, pipefd[0], &fd, note, &e);
        CHECK_OK(r, &e);
        CHECK(strcmp(note, "hello") == 0, "the note is what the child read: '%s'", note);
        if (fd >= 0)
                close(fd);
        close(pipefd[0]);

        test_case("a read past its deadline ends the child, as -ETIMEDOUT");
        if (!CHECK(pipe2(pipefd, O_CLOEXEC) == 0, "pipe2: %m"))
                return;
        e = (NlError) {};
        fd = -1;
        r = nl_load_child_run(answer_read_stalls, NULL, pipefd[0], &fd, NULL, &e);
        CHECK_INT_EQ(r, -ETIMEDOUT);
        CHECK_INT_EQ(fd, -1);
        close(pipefd[0]);
        close(pipefd[1]);
}

static void test_answers(void) {
        struct stat st;
        NlError e = {};
        int fd = -1, r;

        test_case("an fd comes back");
        r = nl_load_child_run(answer_devnull, NULL, -1, &fd, NULL, &e);
        CHECK_OK(r, &e);
        CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISCHR(st.st_mode), "the answer is /dev/null's fd (%d)", fd);
        CHECK(fd < 0 || fcntl(fd, F_GETFD) == FD_CLOEXEC, "the answer is close-on-exec");
        if (fd >= 0)
                close(fd);

        test_case("an error comes back with its kind and message");
        e = (NlError) {};
        fd = -1;
        r = nl_load_child_run(answer_error, NULL, -1, &fd, NULL, &e);
        CHECK_ERR(r, &e, NL_ERR_INVALID_PROGRAM);
        CHECK_INT_EQ(r, -EPERM);
        CHECK_CONTAINS(e.message, "refused on purpose");
        CHECK_INT_EQ(fd, -1);

        test_case("a crash is reported, not suffered");
        e = (NlError) {};
        r = nl_load_child_run(answer_crash, NULL, -1, &fd, NULL, &e);
        CHECK_ERR(r, &e, NL_ERR_INVALID_PROGRAM);
        CHECK_CONTAINS(e.message, "crashed (signal 6)");
}

static void test_no_inherited_fds(void) {
        int pipefd[2], probe, sock, r, fd = -1;
        char started[512];
        NlError e = {};
        pid_t pid;
        char c;

        /* An fd the parent holds while the child starts (as the daemon
         * holds a client's socket in a message it has read): the child must
         * not have it. */
        test_case("the child sees none of the parent's fds");
        {
                /* Above the number the child gives its own socket. */
                int low = open("/dev/null", O_RDONLY | O_CLOEXEC);

                probe = low < 0 ? -1 : fcntl(low, F_DUPFD_CLOEXEC, 100);
                CHECK(probe >= 100, "open /dev/null and move it to 100 or above: %m");
                if (low >= 0)
                        close(low);
        }
        r = nl_load_child_run(answer_if_closed, &probe, -1, &fd, NULL, &e);
        CHECK_OK(r, &e);
        if (fd >= 0)
                close(fd);
        close(probe);

        /* Seen from outside: the parent closes a pipe's write end while the
         * child runs; the reader must see end-of-file at once, which it
         * would not if the child held a copy. */
        test_case("a pipe the parent closes is closed while the child runs");
        if (!CHECK(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == 0, "pipe2: %m"))
                return;
        e = (NlError) {};
        snprintf(started, sizeof(started), "%s/started", test_tmpdir());
        r = nl_load_child_start(answer_never, started, -1, &pid, &sock, &e);
        CHECK_OK(r, &e);
        /* The child is past its start-up once it runs the function. */
        for (int i = 0; r >= 0 && access(started, F_OK) < 0 && i < 10000; i++)
                usleep(1000);
        CHECK(access(started, F_OK) == 0, "the child ran its function");
        close(pipefd[1]);
        CHECK_INT_EQ(read(pipefd[0], &c, 1), 0);
        close(pipefd[0]);
        if (r < 0)
                return;

        test_case("a child that never answers is stopped and reported");
        e = (NlError) {};
        fd = -1;
        r = nl_load_child_finish(pid, sock, &fd, NULL, &e);
        CHECK_ERR(r, &e, NL_ERR_INVALID_PROGRAM);
        CHECK_INT_EQ(fd, -1);
        CHECK(kill(pid, 0) < 0 && errno == ESRCH, "the child is reaped");
}

static void run(void) {
        test_answers();
        test_no_inherited_fds();
        test_passed_fd();
}

int main(void) {
        return test_main("test-load-child", run);
}
