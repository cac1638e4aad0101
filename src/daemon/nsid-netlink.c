/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "macro.h"
#include "nsid-netlink.h"

struct NsidSocket {
        struct mnl_socket *events;
        struct mnl_socket *requests;
        uint32_t seq;
};

NsidSocket *nsid_socket_close(NsidSocket *s) {
        if (!s)
                return NULL;
        if (s->events)
                mnl_socket_close(s->events);
        if (s->requests)
                mnl_socket_close(s->requests);
        free(s);
        return NULL;
}

static int open_one(unsigned groups, struct mnl_socket **ret) {
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | (groups ? SOCK_NONBLOCK : 0));

        if (!nl)
                return negative_errno();
        if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = negative_errno();
                mnl_socket_close(nl);
                return r;
        }
        if (groups) {
                int g = (int) groups;
                if (mnl_socket_setsockopt(nl, NETLINK_ADD_MEMBERSHIP, &g, sizeof(g)) < 0) {
                        int r = negative_errno();
                        mnl_socket_close(nl);
                        return r;
                }
        }
        *ret = nl;
        return 0;
}

int nsid_socket_open(NsidSocket **ret) {
        NsidSocket *s = calloc(1, sizeof(*s));
        int r;

        if (!s)
                return -ENOMEM;
        s->seq = (uint32_t) time(NULL);
        r = open_one(RTNLGRP_NSID, &s->events);
        if (r >= 0)
                r = open_one(0, &s->requests);
        if (r < 0) {
                nsid_socket_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

int nsid_socket_fd(const NsidSocket *s) {
        return mnl_socket_get_fd(s->events);
}

static int nsid_attr(const struct nlmsghdr *nlh, int32_t *ret) {
        struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(struct rtgenmsg))
                if (mnl_attr_get_type(a) == NETNSA_NSID && mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
                        *ret = (int32_t) mnl_attr_get_u32(a);
                        return 0;
                }
        return -EBADMSG;
}

static int reply_cb(const struct nlmsghdr *nlh, void *data) {
        if (nlh->nlmsg_type != RTM_NEWNSID)
                return MNL_CB_OK;
        return nsid_attr(nlh, data) < 0 ? MNL_CB_ERROR : MNL_CB_STOP;
}

/* One request with NETNSA_FD (and NETNSA_NSID for a new id); for a get,
 * the id the reply names (NETNSA_NSID_NOT_ASSIGNED if none). */
static int request(NsidSocket *s, uint16_t type, int netns_fd, int32_t *ret_nsid) {
        _cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
        struct nlmsghdr *nlh;
        struct rtgenmsg *g;
        uint32_t seq = ++s->seq, portid = mnl_socket_get_portid(s->requests);
        ssize_t n;
        int r;

        if (!buf)
                return -ENOMEM;
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        /* A get answers with its reply (or an error) alone: no ack to read after it. */
        nlh->nlmsg_flags = NLM_F_REQUEST | (type == RTM_NEWNSID ? NLM_F_ACK : 0);
        nlh->nlmsg_seq = seq;
        g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->rtgen_family = AF_UNSPEC;
        mnl_attr_put_u32(nlh, NETNSA_FD, (uint32_t) netns_fd);
        if (type == RTM_NEWNSID)
                mnl_attr_put_u32(nlh, NETNSA_NSID, (uint32_t) -1);
        if (mnl_socket_sendto(s->requests, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        do {
                n = mnl_socket_recvfrom(s->requests, buf, MNL_SOCKET_BUFFER_SIZE);
                if (n < 0)
                        return negative_errno();
                r = mnl_cb_run(buf, (size_t) n, seq, portid, ret_nsid ? reply_cb : NULL, ret_nsid);
        } while (r == MNL_CB_OK);
        /* An ack (error 0) ends a new id's answer; a get's ends with its reply. */
        return r == MNL_CB_ERROR ? negative_errno() : 0;
}

int nsid_assign(NsidSocket *s, int netns_fd, int32_t *ret_nsid) {
        int32_t id = NETNSA_NSID_NOT_ASSIGNED;
        int r;

        r = request(s, RTM_GETNSID, netns_fd, &id);
        if (r < 0)
                return r;
        if (id < 0) {
                /* Another process may give it one meanwhile: EEXIST, then ask again. */
                r = request(s, RTM_NEWNSID, netns_fd, NULL);
                if (r < 0 && r != -EEXIST)
                        return r;
                r = request(s, RTM_GETNSID, netns_fd, &id);
                if (r < 0)
                        return r;
                if (id < 0)
                        return -ENOENT;
        }
        *ret_nsid = id;
        return 0;
}

struct events {
        nsid_deleted_fn deleted;
        void *userdata;
};

static int event_cb(const struct nlmsghdr *nlh, void *data) {
        struct events *ev = data;
        int32_t id;

        if (nlh->nlmsg_type == RTM_DELNSID && nsid_attr(nlh, &id) >= 0)
                ev->deleted(id, ev->userdata);
        return MNL_CB_OK;
}

int nsid_read_events(NsidSocket *s, nsid_deleted_fn deleted, void *userdata) {
        _cleanup_free_ char *buf = malloc(MNL_SOCKET_BUFFER_SIZE);
        struct events ev = { deleted, userdata };

        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(s->events, buf, MNL_SOCKET_BUFFER_SIZE);
                if (n < 0)
                        return errno == EAGAIN ? 0 : negative_errno();
                (void) mnl_cb_run(buf, (size_t) n, 0, 0, event_cb, &ev);
        }
}
