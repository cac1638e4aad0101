/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "link-ops.h"
#include "steer-test.h"

int steer_sh(const char *fmt, ...) {
        char cmd[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return system(cmd) == 0 ? 0 : -EIO;
}

int steer_env_setup(SteerEnv *env) {
        struct stat st;

        memset(env, 0, sizeof(*env));
        env->netns_fd = -1;
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        snprintf(env->tmp, sizeof(env->tmp), "%s", test_bpffs());
        if (steer_sh("ip link set lo up") < 0)
                return -EIO;
        env->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (env->netns_fd < 0 || fstat(env->netns_fd, &st) < 0)
                return -errno;
        env->netns_ino = st.st_ino;
        env->cache = nl_prog_cache_new();
        return env->cache ? 0 : -ENOMEM;
}

void steer_env_teardown(SteerEnv *env) {
        nl_prog_cache_free(env->cache);
        env->cache = NULL;
        safe_close(env->netns_fd);
}

int steer_link_open(SteerEnv *env, const char *name, bool attach, SteerLink *l) {
        NlError e = {};
        int r;

        memset(l, 0, sizeof(*l));
        l->link_fd = -1;
        snprintf(l->map_dir, sizeof(l->map_dir), "%s/%llu/steer/%s", env->tmp,
                 (unsigned long long) env->netns_ino, name);
        r = nl_builtin_load(env->cache, "steer", NL_ATTACH_SK_LOOKUP, l->map_dir, &l->prog, &e);
        if (!CHECK_OK(r, &e))
                return r;
        if (attach) {
                l->link_fd = nl_link_create(nl_program_fd(l->prog), env->netns_fd, NL_ATTACH_SK_LOOKUP, &e);
                if (!CHECK_OK(l->link_fd, &e))
                        return l->link_fd;
        }
        r = nl_steer_open(l->map_dir, &l->steer, &e);
        if (CHECK_OK(r, &e) && attach)
                nl_steer_set_link(l->steer, l->link_fd, NULL, NULL);  /* it may grow, as the daemon's */
        return r;
}

void steer_link_close(SteerLink *l) {
        nl_steer_close(l->steer);
        if (l->link_fd >= 0)
                close(l->link_fd);
        nl_program_unref(l->prog);
        memset(l, 0, sizeof(*l));
        l->link_fd = -1;
}

bool steer_bind(SteerLink *l, const char *proto, const char *prefix, uint16_t port, const char *label) {
        NlSteerBinding b;
        NlError e = {};
        int r;

        r = nl_steer_binding_parse(proto, prefix, port, label, &b, &e);
        if (r >= 0)
                r = nl_steer_add_binding(l->steer, &b, &e);
        return CHECK(r >= 0, "bind %s %s %u %s: %s", proto, prefix, port, label, e.message);
}

int steer_socket(int family, int type, const char *addr, uint16_t port, bool dual_stack) {
        struct sockaddr_storage ss = {};
        socklen_t len;
        int fd, one = 1, v6only = !dual_stack;

        fd = socket(family, type | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *) &ss;
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                inet_pton(AF_INET, addr ? addr : "127.0.0.1", &in->sin_addr);
                len = sizeof(*in);
        } else {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                inet_pton(AF_INET6, addr ? addr : "::1", &in6->sin6_addr);
                len = sizeof(*in6);
        }
        if (bind(fd, (struct sockaddr *) &ss, len) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

uint64_t steer_cookie(int fd) {
        uint64_t c = 0;
        socklen_t len = sizeof(c);

        getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
        return c;
}

int steer_test_run(int prog_fd, uint8_t protocol, const char *addr, uint16_t port, uint64_t *ret_cookie) {
        struct bpf_sk_lookup ctx = { .protocol = protocol, .local_port = port };
        int r;

        if (inet_pton(AF_INET, addr, &ctx.local_ip4) == 1) {
                ctx.family = AF_INET;
                ctx.remote_ip4 = htonl(INADDR_LOOPBACK);
        } else if (inet_pton(AF_INET6, addr, ctx.local_ip6) == 1) {
                ctx.family = AF_INET6;
                ctx.remote_ip6[3] = htonl(1);
        } else
                return -EINVAL;
        ctx.remote_port = htons(40000);
        LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx),
                    .ctx_out = &ctx, .ctx_size_out = sizeof(ctx));
        r = bpf_prog_test_run_opts(prog_fd, &o);
        if (r < 0)
                return r;
        if (o.retval != SK_PASS)
                return -EPROTO;
        *ret_cookie = ctx.cookie;
        return 0;
}
