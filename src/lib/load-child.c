/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "load-child.h"

/* The child's answer socket; everything above it (but the fd it is
 * given, NL_LOAD_CHILD_FD) is closed. */
#define CHILD_SOCK_FD 3
/* The exit status of a child that could not close the daemon's fds. */
#define EXIT_NO_CLEAN_SLATE 3

struct answer {
        int32_t r;
        int32_t kind;
        char message[NL_ERROR_MESSAGE_MAX];
        char note[NL_LOAD_NOTE_MAX];
};

/* close_range(from, ~0U) where the kernel (before 5.9) or a seccomp filter
 * refuses it: the fds /proc lists. The daemon has no threads, so nothing
 * opens an fd meanwhile. */
static int close_from(int from) {
        DIR *d;
        struct dirent *de;

        if (close_range((unsigned) from, ~0U, 0) == 0)
                return 0;
        if (errno != ENOSYS && errno != EPERM)
                return -errno;
        d = opendir("/proc/self/fd");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                char *end;
                long fd = strtol(de->d_name, &end, 10);

                if (*end == 0 && end != de->d_name && fd >= from && fd != dirfd(d))
                        close((int) fd);
        }
        closedir(d);
        return 0;
}

static void child_main(int sock, pid_t parent, nl_load_fn fn, void *arg) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct answer a = {};
        NlError e = {};
        struct iovec iov = { &a, sizeof(a) };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        int fd;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* A parent killed before the line above sends no signal: a loader
         * that went on would pin maps nobody owns after the next daemon
         * tidied them. */
        if (getppid() != parent)
                _exit(EXIT_FAILURE);
        /* Verifying a big program is CPU work nobody waits on but its own
         * caller: the daemon's loop comes first. */
        (void) setpriority(PRIO_PROCESS, 0, 10);
        fd = fn(arg, a.note, &e);
        if (fd >= 0) {
                struct cmsghdr *c;

                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof(control.buf);
                c = CMSG_FIRSTHDR(&mh);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        } else {
                a.r = fd;
                a.kind = e.kind;
                memcpy(a.message, e.message, sizeof(a.message));
        }
        (void) sendmsg(sock, &mh, MSG_NOSIGNAL);
        /* No atexit handlers, no sanitizer leak report for a child that
         * shares the parent's heap image. */
        _exit(0);
}

void nl_load_child_deadline(unsigned sec) {
        /* The default action ends the child even in a read that only a
         * fatal signal interrupts (a FUSE file whose server does not
         * answer). */
        (void) signal(SIGALRM, SIG_DFL);
        (void) alarm(sec);
}

int nl_load_child_start(nl_load_fn fn, void *arg, int pass_fd, pid_t *ret_pid, int *ret_sock, NlError *e) {
        pid_t parent = getpid(), pid;
        int pair[2];

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return nl_error_set(e, NL_ERR_FAILED, negative_errno(), "socketpair failed: %m");
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                close(pair[0]);
                close(pair[1]);
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot fork the loader: %m");
        }
        if (pid == 0) {
                /* The child holds nothing of the daemon's but its answer
                 * socket: a client's socket still in a message, a netns or a
                 * link the daemon has open now must go away when the daemon
                 * lets go of it, not when a slow load ends. */
                close(pair[0]);
                /* Out of the way of the answer socket's number. */
                if (pass_fd == CHILD_SOCK_FD && (pass_fd = fcntl(pass_fd, F_DUPFD, NL_LOAD_CHILD_FD + 1)) < 0)
                        _exit(EXIT_NO_CLEAN_SLATE);
                if (dup2(pair[1], CHILD_SOCK_FD) < 0)
                        _exit(EXIT_NO_CLEAN_SLATE);
                if (pass_fd >= 0) {
                        if (dup2(pass_fd, NL_LOAD_CHILD_FD) < 0)
                                _exit(EXIT_NO_CLEAN_SLATE);
                } else
                        (void) close(NL_LOAD_CHILD_FD);
                if (close_from(NL_LOAD_CHILD_FD + 1) < 0)
                        _exit(EXIT_NO_CLEAN_SLATE);
                child_main(CHILD_SOCK_FD, parent, fn, arg);
        }
        close(pair[1]);
        *ret_pid = pid;
        *ret_sock = pair[0];
        return 0;
}

int nl_load_child_finish(pid_t pid, int sock, int *ret_fd, char *note, NlError *e) {
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct answer a = {};
        struct iovec iov = { &a, sizeof(a) };
        struct msghdr mh = {
                .msg_iov = &iov, .msg_iovlen = 1,
                .msg_control = control.buf, .msg_controllen = sizeof(control.buf),
        };
        int fd = -EBADF, status = 0, r;
        ssize_t n;

        n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); n > 0 && c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(&fd, CMSG_DATA(c), sizeof(int));
        close(sock);

        /* Answered or not, the child goes now. */
        (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;

        if (n == (ssize_t) sizeof(a) && fd >= 0) {
                *ret_fd = fd;
                if (note) {
                        memcpy(note, a.note, sizeof(a.note));
                        note[NL_LOAD_NOTE_MAX - 1] = 0;
                }
                return 0;
        }
        safe_close(fd);
        if (n == (ssize_t) sizeof(a) && a.r < 0) {
                a.message[sizeof(a.message) - 1] = 0;
                return nl_error_set(e, a.kind > NL_ERR_NONE && a.kind < _NL_ERR_MAX ? a.kind : NL_ERR_FAILED,
                                    a.r, "%s", a.message);
        }
        r = -ECHILD;
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && n < 0)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ETIME,
                                    "Loading the program took too long and was stopped");
        if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, -ETIMEDOUT,
                                    "The loader did not get past its deadline");
        if (WIFSIGNALED(status))
                return nl_error_set(e, NL_ERR_INVALID_PROGRAM, r,
                                    "The loader crashed (signal %d) on this object", WTERMSIG(status));
        if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_NO_CLEAN_SLATE)
                return nl_error_set(e, NL_ERR_FAILED, r,
                                    "The loader could not close the daemon's file descriptors");
        return nl_error_set(e, NL_ERR_INVALID_PROGRAM, r, "The loader ended without an answer");
}

int nl_load_child_run(nl_load_fn fn, void *arg, int pass_fd, int *ret_fd, char *note, NlError *e) {
        pid_t pid;
        int sock, r;
        char c;

        r = nl_load_child_start(fn, arg, pass_fd, &pid, &sock, e);
        if (r < 0)
                return r;
        /* Wait for the answer or the hang-up without consuming it. */
        while (recv(sock, &c, 1, MSG_PEEK) < 0 && errno == EINTR)
                ;
        return nl_load_child_finish(pid, sock, ret_fd, note, e);
}
