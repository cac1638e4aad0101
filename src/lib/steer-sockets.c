/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <bpf/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "socket-check.h"
#include "steer-private.h"

/* Sockets registered under a label: checked, then put in the sockets map
 * under each of the label's destinations. */

/* The socket must be one steering can deliver to (socket-check.h), in the
 * link's netns. */
static int socket_check(int fd, uint64_t netns_ino, NlSocketInfo *si, NlError *e) {
        int r = nl_socket_inspect(fd, si, e);

        if (r < 0)
                return r;
        if (si->netns_ino != netns_ino)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EXDEV,
                                    "The socket is in network namespace %llu, the link in %llu",
                                    (unsigned long long) si->netns_ino, (unsigned long long) netns_ino);
        return 0;
}

/* Which of the label's binding kinds exist: bit (protocol is UDP) * 2 + (family is 6). */
static int label_binding_kinds(NlSteer *s, const char *label, unsigned *ret) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
        static const uint8_t fams[] = { STEER_FAMILY_V4, STEER_FAMILY_V6 };

        *ret = 0;
        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 2; j++) {
                        struct steer_dest d;
                        int id = dest_find(s, label, protos[i], fams[j]);
                        uint32_t uid = (uint32_t) id;

                        if (id < 0)
                                continue;
                        if (bpf_map_lookup_elem(steer_fd(s, dests), &uid, &d) < 0)
                                return negative_errno();
                        if (d.refs > 0)
                                *ret |= 1U << (i * 2 + j);
                }
        return 0;
}

static int register_socket(NlSteer *s, uint64_t netns_ino, const char *label, int fd, NlError *e) {
        uint8_t fams[2];
        unsigned kinds, nfams = 0, pbit;
        NlSocketInfo si;
        int r;

        r = nl_steer_label_check(label, e);
        if (r < 0)
                return r;
        r = socket_check(fd, netns_ino, &si, e);
        if (r < 0)
                return r;
        r = label_binding_kinds(s, label, &kinds);
        if (r < 0)
                return nl_error_set(e, NL_ERR_FAILED, r, "Cannot read destinations: %m");
        pbit = si.protocol == IPPROTO_UDP ? 2 : 0;
        if (kinds && !(kinds & (3U << pbit)))
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -EPROTOTYPE,
                                    "Label '%s' has only %s bindings, the socket is %s", label,
                                    nl_steer_protocol_to_string(si.protocol == IPPROTO_UDP ? IPPROTO_TCP : IPPROTO_UDP),
                                    nl_steer_protocol_to_string(si.protocol));
        if (si.family == AF_INET || si.dual_stack)
                fams[nfams++] = STEER_FAMILY_V4;
        if (si.family == AF_INET6)
                fams[nfams++] = STEER_FAMILY_V6;
        if (kinds & (3U << pbit)) {
                bool serves = false;

                for (unsigned i = 0; i < nfams; i++)
                        serves |= kinds & (1U << (pbit + (fams[i] == STEER_FAMILY_V6)));
                if (!serves)
                        return nl_error_set(e, NL_ERR_INVALID_ARGS, -EAFNOSUPPORT,
                                            "Label '%s' has only %s %s bindings, which this %s socket cannot serve",
                                            label, kinds & (1U << (pbit + 1)) ? "IPv6" : "IPv4",
                                            nl_steer_protocol_to_string(si.protocol),
                                            si.family == AF_INET ? "IPv4" : "IPv6-only");
        }

        for (unsigned i = 0; i < nfams; i++) {
                uint64_t v = (uint64_t) fd;
                uint32_t id;
                int d = dest_get(s, label, si.protocol, fams[i], e);

                if (d < 0)
                        return d;
                id = (uint32_t) d;
                /* One update: the old socket is replaced, never absent. */
                r = bpf_map_update_elem(steer_fd(s, sockets), &id, &v, BPF_ANY);
                if (r < 0)
                        return nl_error_set(e, r == -EOPNOTSUPP ? NL_ERR_INVALID_ARGS : NL_ERR_FAILED, r,
                                            "Cannot register the socket under '%s': %m", label);
        }
        return 0;
}

int nl_steer_register_socket(NlSteer *s, uint64_t netns_ino, const char *label, int fd, NlError *e) {
        int r = register_socket(s, netns_ino, label, fd, e);

        return steer_retry_grown(s, r, e) > 0 ? register_socket(s, netns_ino, label, fd, e) : r;
}

int nl_steer_unregister_socket(NlSteer *s, const char *label, NlError *e) {
        static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
        static const uint8_t fams[] = { STEER_FAMILY_V4, STEER_FAMILY_V6 };
        unsigned removed = 0;
        int r;

        r = nl_steer_label_check(label, e);
        if (r < 0)
                return r;
        for (size_t i = 0; i < 2; i++)
                for (size_t j = 0; j < 2; j++) {
                        int id = dest_find(s, label, protos[i], fams[j]);
                        uint32_t uid = (uint32_t) id;
                        struct steer_dest d;

                        if (id < 0)
                                continue;
                        if (bpf_map_delete_elem(steer_fd(s, sockets), &uid) == 0)
                                removed++;
                        if (bpf_map_lookup_elem(steer_fd(s, dests), &uid, &d) == 0)
                                (void) dest_release_if_unused(s, uid, &d);
                }
        if (removed == 0)
                return nl_error_set(e, NL_ERR_INVALID_ARGS, -ENOENT, "No socket is registered under label '%s'",
                                    label);
        return 0;
}
