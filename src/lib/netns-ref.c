/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "names.h"
#include "netns-ref.h"
#include "self-ref.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static bool has_dotdot_component(const char *p) {
        const char *c = p;

        while ((c = strstr(c, ".."))) {
                bool starts = c == p || c[-1] == '/';
                bool ends = c[2] == 0 || c[2] == '/';
                if (starts && ends)
                        return true;
                c += 2;
        }
        return false;
}

static bool refs_of_others;

void nl_netns_refs_of_others(bool on) {
        refs_of_others = on;
}

/* Refuses a path naming the resolving process's own files (self-ref.h). */
static int check_not_own(const char *path, const char *buf, NlError *e) {
        static const char *const what[] = {
                [NL_SELF_PROC] = "/proc/self",
                [NL_SELF_THREAD] = "/proc/thread-self",
                [NL_SELF_FD] = "file descriptors (/dev/fd)",
                [NL_SELF_PID] = "process",
        };
        char rest[4096];
        NlSelfRef k;

        if (!refs_of_others)
                return 0;
        k = nl_self_ref(path, getpid(), rest, sizeof(rest));
        if (k == NL_SELF_NONE)
                return 0;
        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                            "Netns reference '%s' names netnslinkd's own %s, not the caller's: references are "
                            "resolved in the daemon. Name the caller's netns as pid:N with the caller's pid "
                            "(netnslinkctl does so for /proc/self), or by path or name", buf, what[k]);
}

int nl_netns_ref_to_path(const char *ref, char *path, size_t size, NlError *e) {
        char buf[80];

        if (!ref || !*ref)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "Empty netns reference");
        nl_printable(ref, buf, sizeof(buf));
        if (strlen(ref) >= size)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENAMETOOLONG,
                                    "Netns reference '%s' is too long", buf);

        if (ref[0] == '/') {
                if (has_dotdot_component(ref))
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Netns reference '%s' contains '..'", buf);
                snprintf(path, size, "%s", ref);
                return check_not_own(path, buf, e);
        }

        /* ino:N names a netns the daemon holds links in, by its inode: only
         * a lookup of an existing link can use it (the daemon resolves it
         * before asking here). Never a name in /run/netns. */
        if (strncmp(ref, "ino:", 4) == 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Netns reference '%s': ino:N names a netns by the inode of links the daemon "
                                    "holds in it, for calls on existing links; to attach, name the netns by "
                                    "path, name or pid:N", buf);

        if (strncmp(ref, "pid:", 4) == 0) {
                const char *digits = ref + 4;
                unsigned long pid;
                char *end;

                if (!*digits || strspn(digits, "0123456789") != strlen(digits) || digits[0] == '0')
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid netns reference '%s': pid:N takes a positive decimal pid", buf);
                errno = 0;
                pid = strtoul(digits, &end, 10);
                if (errno != 0 || pid > 0x3fffffff)   /* PID_MAX_LIMIT */
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                            "Invalid netns reference '%s': pid out of range", buf);
                /* The reference may be shorter than the path it names. */
                if ((size_t) snprintf(path, size, "/proc/%lu/ns/net", pid) >= size)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENAMETOOLONG,
                                            "Netns reference '%s' is too long", buf);
                return check_not_own(path, buf, e);
        }

        /* A bare name, as ip-netns(8) makes them. */
        if (strchr(ref, '/') || strcmp(ref, ".") == 0 || strcmp(ref, "..") == 0 ||
            strpbrk(ref, "\n\t "))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL,
                                    "Invalid netns reference '%s': expected an absolute path, a name in "
                                    NL_NETNS_RUN_DIR ", or pid:N", buf);
        if (strlen(NL_NETNS_RUN_DIR) + 1 + strlen(ref) >= size)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENAMETOOLONG,
                                    "Netns reference '%s' is too long", buf);
        snprintf(path, size, NL_NETNS_RUN_DIR "/%s", ref);
        return 0;
}

/* The device of nsfs, the kernel's one mount of namespace files, or 0 if
 * unknown. Comparing st_dev with it replaces a statfs per netns open. */
static dev_t nsfs_dev(void) {
        static dev_t dev;
        static bool known;
        struct stat st;

        if (!known) {
                if (stat("/proc/self/ns/net", &st) >= 0)
                        dev = st.st_dev;
                known = true;
        }
        return dev;
}

/* fstat's inode, once the fd is known to be a namespace file; the kind
 * of namespace only if check_type. */
static int fd_check(int fd, bool check_type, uint64_t *ret_ino) {
        struct stat st;
        dev_t dev = nsfs_dev();
        int t;

        if (fstat(fd, &st) < 0)
                return negative_errno();
        /* Not nsfs: no ioctl, it could mean something to a device. */
        if (dev == 0) {
                struct statfs sfs;
                if (fstatfs(fd, &sfs) < 0)
                        return negative_errno();
                if (sfs.f_type != NSFS_MAGIC)
                        return -ENOTTY;
        } else if (st.st_dev != dev || !S_ISREG(st.st_mode))
                return -ENOTTY;
        if (check_type) {
                t = ioctl(fd, NS_GET_NSTYPE);
                if (t < 0)
                        return negative_errno();
                if (t != CLONE_NEWNET)
                        return -EPROTOTYPE;
        }
        if (ret_ino)
                *ret_ino = st.st_ino;
        return 0;
}

int nl_netns_fd_check(int fd, uint64_t *ret_ino) {
        return fd_check(fd, true, ret_ino);
}

int nl_netns_stat_ino(const char *ref, uint64_t *ret) {
        char path[4096];
        struct stat st;
        dev_t dev = nsfs_dev();

        if (dev == 0 || nl_netns_ref_to_path(ref, path, sizeof(path), NULL) < 0)
                return -EINVAL;
        if (stat(path, &st) < 0)
                return negative_errno();
        if (st.st_dev != dev || !S_ISREG(st.st_mode))
                return -ENOTTY;
        *ret = st.st_ino;
        return 0;
}

/* The error of a reference whose file is not a netns, by fd_check's r. */
static int check_error(int r, const char *ref, const char *path, NlError *e) {
        char buf[80];

        nl_printable(ref, buf, sizeof(buf));
        if (r == -ENOTTY)
                return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, r,
                                    "Netns reference '%s': %s is not a namespace file (nsfs)", buf, path);
        if (r == -EPROTOTYPE)
                return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, r,
                                    "Netns reference '%s': %s is a namespace, but not a network namespace",
                                    buf, path);
        return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, r, "Netns reference '%s': %m", buf);
}

static int netns_open(const char *ref, NlNetns *ns, bool check_type, NlError *e) {
        _cleanup_close_ int fd = -EBADF;
        char buf[80];
        int r;

        ns->fd = -EBADF;
        ns->ino = 0;
        r = nl_netns_ref_to_path(ref, ns->path, sizeof(ns->path), e);
        if (r < 0)
                return r;

        /* Only a namespace file is ever opened for real: a reference that
         * names a device (/dev/watchdog) or a FIFO must not act on it by
         * being opened, and anyone may send one (GetLink). So the path is
         * opened with O_PATH first, which touches nothing, checked, and
         * then reopened through /proc/self/fd, which names the same inode
         * whatever has changed at the path meanwhile. */
        fd = open(ns->path, O_PATH | O_CLOEXEC);
        if (fd >= 0) {
                char self[64];
                int real;

                r = fd_check(fd, false, NULL);
                if (r < 0)
                        return check_error(r, ref, ns->path, e);
                snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
                real = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
                if (real < 0 && errno == ENOENT)
                        errno = ENOSYS;         /* no /proc: nothing names it */
                safe_close(fd);
                fd = real;
        }
        if (fd < 0) {
                r = negative_errno();
                nl_printable(ref, buf, sizeof(buf));
                if (r == -ENOENT || r == -ENOTDIR || r == -ESRCH)
                        return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, r,
                                            "No such netns '%s' (%s does not exist)", buf, ns->path);
                if (r == -EACCES || r == -EPERM)
                        return nl_error_set(e, NL_ERR_ACCESS_DENIED, r,
                                            "Cannot open netns '%s' (%s): %m", buf, ns->path);
                return nl_error_set(e, NL_ERR_NO_SUCH_NETNS, r, "Cannot open netns '%s' (%s): %m", buf, ns->path);
        }

        r = fd_check(fd, check_type, &ns->ino);
        if (r < 0)
                return check_error(r, ref, ns->path, e);
        ns->fd = TAKE_FD(fd);
        return 0;
}

int nl_netns_open(const char *ref, NlNetns *ns, NlError *e) {
        return netns_open(ref, ns, true, e);
}

int nl_netns_open_nsfs(const char *ref, NlNetns *ns, NlError *e) {
        return netns_open(ref, ns, false, e);
}

int nl_netns_explain(const NlNetns *ns, const char *ref, NlError *e) {
        int r = fd_check(ns->fd, true, NULL);

        return r < 0 ? check_error(r, ref, ns->path, e) : 0;
}

void nl_netns_close(NlNetns *ns) {
        if (!ns)
                return;
        ns->fd = safe_close(ns->fd);
}

int nl_netns_ino(const char *ref, uint64_t *ret, NlError *e) {
        NlNetns ns;
        int r;

        r = nl_netns_open(ref, &ns, e);
        if (r < 0)
                return r;
        *ret = ns.ino;
        nl_netns_close(&ns);
        return 0;
}
