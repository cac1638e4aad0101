/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "link-ops.h"
#include "test-util.h"

/* Counters live in shared memory: the body runs in a child, and a body may
 * fork children of its own that check things too. */
static struct {
        unsigned passed, failed;
} *counters;

static char case_label[256];
static char top_dir[256];          /* mkdtemp() folder, seen by parent and child */
static char bpffs_dir[300];        /* <top>/bpffs: the private bpffs */
static char tmp_dir[300];          /* <top>/tmp: a private tmpfs */
static char netns_prefix[32];
static unsigned netns_counter;
static volatile sig_atomic_t child_pid;

void test_case(const char *fmt, ...) {
        va_list ap;

        if (!fmt) {             /* test_case(NULL): no row any more */
                case_label[0] = 0;
                return;
        }
        va_start(ap, fmt);
        vsnprintf(case_label, sizeof(case_label), fmt, ap);
        va_end(ap);
}

bool test_check(bool ok, const char *file, int line, const char *fmt, ...) {
        va_list ap;

        if (ok) {
                __atomic_fetch_add(&counters->passed, 1, __ATOMIC_SEQ_CST);
                return true;
        }
        __atomic_fetch_add(&counters->failed, 1, __ATOMIC_SEQ_CST);
        fprintf(stderr, "FAIL %s:%d%s%s%s: ", file, line,
                case_label[0] ? " [" : "", case_label, case_label[0] ? "]" : "");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        fflush(stderr);
        return false;
}

unsigned test_failed_count(void) {
        return counters->failed;
}

const char *test_bpffs(void) {
        return bpffs_dir;
}

const char *test_tmpdir(void) {
        return tmp_dir;
}

int test_bpffs_dir(const char *name, char *buf, size_t size) {
        if ((size_t) snprintf(buf, size, "%s/%s", bpffs_dir, name) >= size)
                return -ENAMETOOLONG;
        if (mkdir(buf, 0700) < 0)
                return -errno;
        return 0;
}

/* ---- netns ---- */

int test_netns_add(char name[TEST_NETNS_NAME_MAX]) {
        char path[256];
        int self, fd, r = 0;

        snprintf(name, TEST_NETNS_NAME_MAX, "%s%u", netns_prefix, ++netns_counter);
        snprintf(path, sizeof(path), "/run/netns/%s", name);
        fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
        if (fd < 0)
                return -errno;
        close(fd);

        /* As ip-netns(8): a new netns, kept alive by a bind mount on the
         * file; then back to where we were. The test body is one thread. */
        self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0)
                return -errno;
        if (unshare(CLONE_NEWNET) < 0)
                r = -errno;
        else {
                if (mount("/proc/self/ns/net", path, "none", MS_BIND, NULL) < 0)
                        r = -errno;
                if (setns(self, CLONE_NEWNET) < 0) {
                        fprintf(stderr, "cannot return to the test's netns: %m\n");
                        abort();
                }
        }
        close(self);
        if (r < 0)
                unlink(path);
        return r;
}

int test_netns_del(const char *name) {
        char path[256];

        snprintf(path, sizeof(path), "/run/netns/%s", name);
        if (umount2(path, MNT_DETACH) < 0)
                return -errno;
        if (unlink(path) < 0)
                return -errno;
        return 0;
}

uint64_t test_netns_ino(const char *name) {
        char path[256];
        struct stat st;

        snprintf(path, sizeof(path), "/run/netns/%s", name);
        return stat(path, &st) < 0 ? 0 : st.st_ino;
}

int test_netns_fd(const char *name) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "/run/netns/%s", name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

pid_t test_netns_holder(void) {
        int p[2];
        pid_t pid;
        char c = 0;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                c = unshare(CLONE_NEWNET) < 0 ? 'E' : 'K';
                (void) !write(p[1], &c, 1);
                for (;;)
                        pause();
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1 || c != 'K') {
                close(p[0]);
                test_process_kill(pid);
                return -EIO;
        }
        close(p[0]);
        return pid;
}

void test_process_kill(pid_t pid) {
        if (pid <= 0)
                return;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}

bool test_wait_link_defunct(int link_fd, unsigned timeout_ms) {
        for (unsigned waited = 0;; waited += 10) {
                NlLinkInfo info;

                if (nl_link_get_info(link_fd, false, &info) < 0)
                        return false;
                if (info.netns_ino == 0)
                        return true;
                if (waited >= timeout_ms)
                        return false;
                usleep(10 * 1000);
        }
}

int test_netns_prog_count(int netns_fd, int bpf_attach_type) {
        __u32 ids[128], count = 128;
        int r;

        r = bpf_prog_query(netns_fd, bpf_attach_type, 0, NULL, ids, &count);
        return r < 0 ? r : (int) count;
}

int test_wait_prog_count(int netns_fd, int bpf_attach_type, int want, unsigned timeout_ms) {
        for (unsigned waited = 0;; waited += 5) {
                int n = test_netns_prog_count(netns_fd, bpf_attach_type);

                if (n == want || n < 0 || waited >= timeout_ms)
                        return n;
                usleep(5 * 1000);
        }
}

int test_count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;   /* the DIR's own fd */
}

bool test_exists(const char *fmt, ...) {
        char path[4096];
        struct stat st;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(path, sizeof(path), fmt, ap);
        va_end(ap);
        return lstat(path, &st) >= 0;
}

int test_read_file(const char *path, void **ret, size_t *ret_size) {
        struct stat st;
        char *buf;
        size_t done = 0;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !(buf = malloc(st.st_size + 1))) {
                close(fd);
                return -ENOMEM;
        }
        while (done < (size_t) st.st_size) {
                ssize_t n = read(fd, buf + done, st.st_size - done);
                if (n <= 0)
                        break;
                done += n;
        }
        close(fd);
        *ret = buf;
        *ret_size = done;
        return 0;
}

int test_write_tmp(const char *name, const void *data, size_t size, char *path, size_t path_size) {
        int fd;

        if ((size_t) snprintf(path, path_size, "%s/%s", tmp_dir, name) >= path_size)
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (size > 0 && write(fd, data, size) != (ssize_t) size) {
                close(fd);
                return -EIO;
        }
        close(fd);
        return 0;
}

/* ---- the sandbox ---- */

static int sandbox_enter(void) {
        /* Our mounts must not leak to the host, nor survive us. */
        if (unshare(CLONE_NEWNS) < 0)
                return -errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return -errno;
        if (mount("bpf", bpffs_dir, "bpf", 0, "mode=0700") < 0)
                return -errno;
        if (mount("tmpfs", tmp_dir, "tmpfs", 0, "mode=0700") < 0)
                return -errno;
        if (mkdir("/run/netns", 0755) < 0 && errno != EEXIST)
                return -errno;
        if (mount("tmpfs", "/run/netns", "tmpfs", 0, "mode=0755") < 0)
                return -errno;
        return 0;
}

static void forward_signal(int sig) {
        if (child_pid > 0)
                kill(-child_pid, SIGKILL);
}

/* Kills and reaps everything the child left: its process group first, then
 * anything re-parented to us (we are a subreaper) that left the group. */
static void reap_all(void) {
        for (;;) {
                DIR *d;
                struct dirent *de;

                if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
                        return;
                d = opendir("/proc");
                if (!d)
                        return;
                while ((de = readdir(d))) {
                        char path[300], buf[512], *p;
                        int fd, ppid;
                        ssize_t n;

                        if (de->d_name[0] < '1' || de->d_name[0] > '9')
                                continue;
                        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
                        fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0)
                                continue;
                        n = read(fd, buf, sizeof(buf) - 1);
                        close(fd);
                        if (n <= 0)
                                continue;
                        buf[n] = 0;
                        p = strrchr(buf, ')');
                        if (p && sscanf(p, ") %*c %d", &ppid) == 1 && ppid == getpid())
                                kill(atoi(de->d_name), SIGKILL);
                }
                closedir(d);
                usleep(1000);
        }
}

int test_main(const char *name, void (*body)(void)) {
        struct sigaction sa = { .sa_handler = forward_signal };
        unsigned passed, failed;
        int status = 0;
        pid_t pid;

        setvbuf(stdout, NULL, _IOLBF, 0);
        if (geteuid() != 0) {
                printf("%s: skipped, needs root\n", name);
                return 77;
        }

        counters = mmap(NULL, sizeof(*counters), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (counters == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        snprintf(top_dir, sizeof(top_dir), "/tmp/netnslink-test-XXXXXX");
        if (!mkdtemp(top_dir)) {
                perror("mkdtemp");
                return 1;
        }
        snprintf(bpffs_dir, sizeof(bpffs_dir), "%s/bpffs", top_dir);
        snprintf(tmp_dir, sizeof(tmp_dir), "%s/tmp", top_dir);
        if (mkdir(bpffs_dir, 0700) < 0 || mkdir(tmp_dir, 0700) < 0) {
                perror("mkdir");
                rmdir(bpffs_dir);
                rmdir(top_dir);
                return 1;
        }
        snprintf(netns_prefix, sizeof(netns_prefix), "nlt%d-", (int) getpid());

        prctl(PR_SET_CHILD_SUBREAPER, 1);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);

        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 1;
        }
        if (pid == 0) {
                int r;

                setpgid(0, 0);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                r = sandbox_enter();
                if (r < 0) {
                        fprintf(stderr, "%s: cannot set up the sandbox: %s\n", name, strerror(-r));
                        exit(2);
                }
                body();
                fflush(stdout);
                /* exit(), not _exit(): LeakSanitizer checks at exit. */
                exit(0);
        }
        setpgid(pid, pid);
        child_pid = pid;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        child_pid = 0;
        kill(-pid, SIGKILL);
        reap_all();

        /* The mount namespace is gone with its last process: the folders
         * are empty mount points no more. */
        rmdir(bpffs_dir);
        rmdir(tmp_dir);
        if (rmdir(top_dir) < 0)
                fprintf(stderr, "%s: cannot remove %s: %m\n", name, top_dir);

        passed = counters->passed;
        failed = counters->failed;
        if (WIFSIGNALED(status)) {
                fprintf(stderr, "FAIL %s: the test body died of signal %d\n", name, WTERMSIG(status));
                failed++;
        } else if (WEXITSTATUS(status) != 0) {
                fprintf(stderr, "FAIL %s: the test body exited with status %d\n", name, WEXITSTATUS(status));
                failed++;
        }
        if (passed == 0 && failed == 0) {
                fprintf(stderr, "FAIL %s: no check ran\n", name);
                failed++;
        }
        printf("%s: %u passed, %u failed\n", name, passed, failed);
        return failed ? 1 : 0;
}
