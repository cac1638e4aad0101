/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "socket-check.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

static int getsockopt_int(int fd, int level, int name, int *ret) {
        socklen_t len = sizeof(*ret);

        return getsockopt(fd, level, name, ret, &len) < 0 ? negative_errno() : 0;
}

static uint16_t port_of(const struct sockaddr_storage *ss) {
        return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *) ss)->sin_port
                                              : ((const struct sockaddr_in6 *) ss)->sin6_port);
}

static void format_address(const struct sockaddr_storage *ss, char *buf, size_t size) {
        char a[INET6_ADDRSTRLEN] = "?";

        if (ss->ss_family == AF_INET) {
                inet_ntop(AF_INET, &((const struct sockaddr_in *) ss)->sin_addr, a, sizeof(a));
                snprintf(buf, size, "%s:%u", a, port_of(ss));
        } else {
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) ss)->sin6_addr, a, sizeof(a));
                snprintf(buf, size, "[%s]:%u", a, port_of(ss));
        }
}

int nl_socket_inspect(int fd, NlSocketInfo *si, NlError *e) {
        struct sockaddr_storage ss = {};
        socklen_t len = sizeof(ss);
        int type, protocol, v;
        _cleanup_close_ int ns = -EBADF;
        struct stat st;

        *si = (NlSocketInfo) {};
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOTSOCK, "The file descriptor is not a socket");
        if (getsockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &si->family) < 0 ||
            getsockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) < 0 ||
            getsockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &protocol) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, negative_errno(), "Cannot inspect the socket: %m");
        if (si->family != AF_INET && si->family != AF_INET6)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EAFNOSUPPORT,
                                    "The socket is not an IPv4 or IPv6 socket");
        if (!((type == SOCK_STREAM && protocol == IPPROTO_TCP) || (type == SOCK_DGRAM && protocol == IPPROTO_UDP)))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EPROTONOSUPPORT, "The socket is neither TCP nor UDP");
        si->protocol = (uint8_t) protocol;
        if (protocol == IPPROTO_TCP) {
                if (getsockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v) < 0 || !v)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EINVAL, "The TCP socket is not listening");
        } else if (getpeername(fd, (struct sockaddr *) &ss, &len) == 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EISCONN, "The UDP socket is connected");
        len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *) &ss, &len) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, negative_errno(), "Cannot inspect the socket: %m");
        if (protocol == IPPROTO_UDP && port_of(&ss) == 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EDESTADDRREQ, "The UDP socket is not bound");
        ns = ioctl(fd, SIOCGSKNS);
        if (ns < 0 || fstat(ns, &st) < 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, negative_errno(),
                                    "Cannot tell the socket's network namespace: %m");
        si->netns_ino = st.st_ino;
        if (si->family == AF_INET6) {
                if (getsockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v) < 0)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, negative_errno(), "Cannot inspect the socket: %m");
                si->dual_stack = !v;
        }
        len = sizeof(si->cookie);
        (void) getsockopt(fd, SOL_SOCKET, SO_COOKIE, &si->cookie, &len);
        format_address(&ss, si->address, sizeof(si->address));
        return 0;
}
