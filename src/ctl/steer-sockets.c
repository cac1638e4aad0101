/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "socket-check.h"
#include "steer-sockets.h"

const char *steer_kind_to_string(unsigned bit_index) {
        static const char *const names[] = { "tcp ipv4", "tcp ipv6", "udp ipv4", "udp ipv6" };
        return bit_index < ELEMENTSOF(names) ? names[bit_index] : "?";
}

/* The daemon's own rule (socket-check.h), so that register-pid never offers
 * a socket RegisterSocket would refuse. */
int steer_socket_inspect(int fd, uint64_t netns_ino, SteerSocket *s) {
        NlSocketInfo si;

        if (nl_socket_inspect(fd, &si, NULL) < 0)
                return 0;
        if (netns_ino && si.netns_ino != netns_ino)
                return 0;
        *s = (SteerSocket) { .fd = fd, .source_fd = -1, .family = si.family, .udp = si.protocol == IPPROTO_UDP,
                             .dual_stack = si.dual_stack, .cookie = si.cookie };
        snprintf(s->address, sizeof(s->address), "%s", si.address);
        return 1;
}

unsigned steer_socket_kinds(const SteerSocket *s) {
        unsigned k = STEER_KIND_BIT(s->udp, s->family == AF_INET6);

        if (s->family == AF_INET6 && s->dual_stack)
                k |= STEER_KIND_BIT(s->udp, false);
        return k;
}

void steer_sockets_free(SteerSocket *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                safe_close(s[i].fd);
        free(s);
}

static int pidfd_open_(pid_t pid) {
        return (int) syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_getfd_(int pidfd, int fd) {
        return (int) syscall(SYS_pidfd_getfd, pidfd, fd, 0);
}

int steer_sockets_of_pid(pid_t pid, uint64_t netns_ino, SteerSocket **ret, size_t *ret_n, char *err,
                         size_t err_size) {
        _cleanup_close_ int pidfd = -EBADF;
        SteerSocket *list = NULL;
        size_t n = 0;
        char path[64];
        struct dirent *de;
        DIR *d;
        int r = 0;

        pidfd = pidfd_open_(pid);
        if (pidfd < 0) {
                r = -errno;
                snprintf(err, err_size, "Cannot open process %d: %s", (int) pid, strerror(-r));
                return r;
        }
        snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
        d = opendir(path);
        if (!d) {
                r = -errno;
                snprintf(err, err_size, "Cannot list the descriptors of process %d: %s", (int) pid, strerror(-r));
                return r;
        }
        while ((de = readdir(d))) {
                char *end;
                long num = strtol(de->d_name, &end, 10);
                SteerSocket s;
                bool dup = false;
                int fd;

                if (de->d_name[0] == '.' || *end || num < 0 || num > INT32_MAX)
                        continue;
                fd = pidfd_getfd_(pidfd, (int) num);
                if (fd < 0) {
                        if (errno == EBADF)
                                continue;       /* closed meanwhile */
                        r = -errno;
                        snprintf(err, err_size, "Cannot take descriptor %ld of process %d: %s", num, (int) pid,
                                 strerror(-r));
                        break;
                }
                if (steer_socket_inspect(fd, netns_ino, &s) <= 0) {
                        close(fd);
                        continue;
                }
                for (size_t i = 0; i < n; i++)
                        dup |= s.cookie && list[i].cookie == s.cookie;
                if (dup) {
                        close(fd);
                        continue;
                }
                SteerSocket *nl = reallocarray(list, n + 1, sizeof(*list));
                if (!nl) {
                        close(fd);
                        r = -ENOMEM;
                        snprintf(err, err_size, "Out of memory");
                        break;
                }
                list = nl;
                s.source_fd = (int) num;
                list[n++] = s;
        }
        closedir(d);
        if (r < 0) {
                steer_sockets_free(list, n);
                return r;
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

static void describe_socket(const SteerSocket *s, char *buf, size_t size) {
        snprintf(buf, size, "fd %d (%s %s%s)", s->source_fd, s->udp ? "udp" : "tcp", s->address,
                 s->dual_stack ? " dual-stack" : "");
}

static int ambiguous(const SteerSocket *s, size_t n, unsigned kind_bit, bool any, char *err, size_t err_size) {
        size_t off;
        int w;

        w = snprintf(err, err_size, "Ambiguous: several sockets could serve %s:",
                     any ? "the label (it has no bindings yet)" : steer_kind_to_string(kind_bit));
        off = w < 0 ? 0 : (size_t) w;
        for (size_t i = 0; i < n && off < err_size; i++) {
                char d[128];

                if (!any && !(steer_socket_kinds(&s[i]) & (1U << kind_bit)))
                        continue;
                describe_socket(&s[i], d, sizeof(d));
                w = snprintf(err + off, err_size - off, " %s", d);
                off += w < 0 ? 0 : (size_t) w;
        }
        if (off < err_size)
                snprintf(err + off, err_size - off, "; pass the one you mean with register --fd=N");
        return -ENOTUNIQ;
}

int steer_sockets_pick(const SteerSocket *s, size_t n, unsigned kinds, size_t pick[4], char *err,
                       size_t err_size) {
        size_t np = 0;

        if (kinds == 0) {
                if (n == 0)
                        goto none;
                if (n > 1)
                        return ambiguous(s, n, 0, true, err, err_size);
                pick[0] = 0;
                return 1;
        }
        for (unsigned k = 0; k < 4; k++) {
                bool v6 = k & 1, udp = k & 2;
                size_t found = SIZE_MAX, count = 0;

                if (!(kinds & (1U << k)))
                        continue;
                /* The exact family first; for IPv4, a dual-stack socket next. */
                for (int pass = 0; pass < 2 && count == 0; pass++)
                        for (size_t i = 0; i < n; i++) {
                                bool exact = s[i].family == (v6 ? AF_INET6 : AF_INET);

                                if (s[i].udp != udp || (pass == 0 && !exact) ||
                                    (pass == 1 && (v6 || s[i].family != AF_INET6 || !s[i].dual_stack)))
                                        continue;
                                found = i;
                                count++;
                        }
                if (count > 1)
                        return ambiguous(s, n, k, false, err, err_size);
                if (count == 0)
                        continue;
                bool seen = false;
                for (size_t j = 0; j < np; j++)
                        seen |= pick[j] == found;
                if (!seen)
                        pick[np++] = found;
        }
        if (np > 0)
                return (int) np;
none: {
        size_t off = 0;
        int w = snprintf(err, err_size, "No listening TCP or unconnected UDP socket in the link's netns");
        off = w < 0 ? 0 : (size_t) w;
        if (kinds) {
                w = snprintf(err + off, err_size - off, " can serve the label's bindings (");
                off += w < 0 ? 0 : (size_t) w;
                for (unsigned k = 0, first = 1; k < 4 && off < err_size; k++)
                        if (kinds & (1U << k)) {
                                w = snprintf(err + off, err_size - off, "%s%s", first ? "" : ", ",
                                             steer_kind_to_string(k));
                                off += w < 0 ? 0 : (size_t) w;
                                first = 0;
                        }
                if (off < err_size)
                        snprintf(err + off, err_size - off, ")");
        }
        return -ENOENT;
        }
}
